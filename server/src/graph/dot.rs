//! The stage graph as Graphviz DOT: a cluster per wave, a box per stage
//! filled by status (the next batch outlined), depends-on arrows (red on a
//! cycle), overlaps as dashed red lines that do not constrain the ranks,
//! labelled with the shared paths.

use std::fmt::Write;

use super::{Direction, EdgeKind, StageGraph, class_of, clip, colour, paths_label, printable};

/// A DOT double-quoted string's content.
fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in printable(text) {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c => out.push(c),
        }
    }
    out
}

pub(super) fn render(g: &StageGraph) -> String {
    let mut s = String::with_capacity(512 + g.nodes.len() * 160 + g.edges.len() * 40);
    let _ = writeln!(s, "// okstra-lsp stage graph: {}", esc(&g.caption()));
    s.push_str("digraph stages {\n");
    let _ = writeln!(
        s,
        "  graph [rankdir={}, fontname=\"sans-serif\", labelloc=t, label=\"{}\", newrank=true];",
        match g.direction {
            Direction::LeftToRight => "LR",
            Direction::TopToBottom => "TB",
        },
        esc(&g.caption())
    );
    let _ = writeln!(
        s,
        "  node [shape=box, style=\"rounded,filled\", fontname=\"sans-serif\", fontsize=11, fontcolor=\"{}\"];",
        colour::TEXT
    );
    let _ = writeln!(
        s,
        "  edge [color=\"{}\", fontname=\"sans-serif\", fontsize=9];",
        colour::EDGE
    );
    for (w, layer) in g.waves.iter().enumerate() {
        let _ = writeln!(
            s,
            "  subgraph cluster_wave{} {{\n    label=\"Wave {}\"; style=filled; color=\"#f3f4f7\";",
            w + 1,
            w + 1
        );
        for &v in layer {
            let Some(node) = g.nodes.get(v) else { continue };
            let (fill, stroke) = colour::of(node);
            let title = if node.title.is_empty() {
                String::new()
            } else {
                format!(" · {}", clip(&node.title, 40))
            };
            let outline = if node.in_batch {
                ", penwidth=3, style=\"rounded,filled,dashed\""
            } else {
                ""
            };
            let _ = writeln!(
                s,
                "    s{k} [label=\"{k}{}\\n{}\", fillcolor=\"{fill}\", color=\"{stroke}\", class=\"{}\", tooltip=\"Stage {k}: {}\"{outline}];",
                esc(&title),
                node.detail(),
                class_of(node),
                esc(&node.title),
                k = node.stage,
            );
        }
        s.push_str("  }\n");
    }
    for edge in &g.edges {
        let (Some(a), Some(b)) = (g.nodes.get(edge.from), g.nodes.get(edge.to)) else {
            continue;
        };
        match &edge.kind {
            EdgeKind::DependsOn => {
                let _ = writeln!(s, "  s{} -> s{};", a.stage, b.stage);
            }
            EdgeKind::Cycle => {
                let _ = writeln!(
                    s,
                    "  s{} -> s{} [color=\"{}\", penwidth=2, class=\"cycle\"];",
                    a.stage,
                    b.stage,
                    colour::RED
                );
            }
            EdgeKind::Overlap { code, paths } => {
                let _ = writeln!(
                    s,
                    "  s{} -> s{} [color=\"{red}\", fontcolor=\"{red}\", style=dashed, dir=none, constraint=false, class=\"overlap {code}\", label=\"{}\", tooltip=\"{code}: {}\"];",
                    a.stage,
                    b.stage,
                    esc(&clip(&paths_label(paths, 2), 48)),
                    esc(&paths.join(", ")),
                    red = colour::RED
                );
            }
        }
    }
    s.push_str("}\n");
    s
}
