//! The stage graph as a mermaid flowchart: a subgraph per wave, a node per
//! stage (class by status, `next` for the next batch), depends-on links
//! (`linkStyle` red on a cycle), overlaps as dotted red links labelled with
//! the shared paths, and a legend. Past mermaid's default limits
//! (`maxTextSize` 50,000, `maxEdges` 500) it collapses to one node per wave
//! listing its stages, and says so in a comment.

use std::collections::BTreeMap;
use std::fmt::Write;

use super::{EdgeKind, NodeStatus, StageGraph, class_of, clip, colour, paths_label, printable};

/// mermaid's default `maxTextSize` (UTF-16 code units, as JavaScript counts).
pub(crate) const MAX_TEXT: usize = 50_000;
/// mermaid's default `maxEdges`.
pub(crate) const MAX_EDGES: usize = 500;
/// Stage numbers listed in a collapsed wave's node.
const LISTED: usize = 60;

/// Text inside a quoted label: every character that could end the quote,
/// open markup or a comment as an entity code (`#35;`), which mermaid turns
/// back into the character.
fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in printable(text) {
        match c {
            '"' | '#' | '&' | '<' | '>' | '`' | '|' | '%' | '\\' | '[' | ']' | '{' | '}' => {
                let _ = write!(out, "#{};", c as u32);
            }
            c => out.push(c),
        }
    }
    out
}

fn direction(g: &StageGraph) -> &'static str {
    match g.direction {
        super::Direction::LeftToRight => "LR",
        super::Direction::TopToBottom => "TB",
    }
}

/// YAML double-quoted scalar content.
fn yaml(text: &str) -> String {
    printable(text)
        .flat_map(|c| match c {
            '"' => vec!['\\', '"'],
            '\\' => vec!['\\', '\\'],
            c => vec![c],
        })
        .collect()
}

pub(super) fn render(g: &StageGraph) -> String {
    let full = detailed(g);
    let links = g.edges.len();
    let size: usize = full.encode_utf16().count();
    if size <= MAX_TEXT && links <= MAX_EDGES {
        return full;
    }
    collapsed(g, size, links)
}

/// The front matter (mermaid reads it only at the very start), the
/// comments, the chart's direction and the classes.
fn preamble(s: &mut String, g: &StageGraph, comments: &[String]) {
    let _ = writeln!(s, "---\ntitle: \"{}\"\n---", yaml(&g.caption()));
    for c in comments {
        let _ = writeln!(s, "%% {c}");
    }
    let _ = writeln!(s, "flowchart {}", direction(g));
    for (class, (fill, stroke)) in [
        ("done", colour::DONE),
        ("started", colour::STARTED),
        ("ready", colour::READY),
        ("next", colour::NEXT),
        ("blocked", colour::BLOCKED),
    ] {
        let extra = if class == "next" {
            ",stroke-width:3px,stroke-dasharray:6 3"
        } else {
            ""
        };
        let _ = writeln!(
            s,
            "  classDef {class} fill:{fill},stroke:{stroke},color:{}{extra}",
            colour::TEXT
        );
    }
}

fn detailed(g: &StageGraph) -> String {
    let mut s = String::with_capacity(512 + g.nodes.len() * 90 + g.edges.len() * 24);
    preamble(
        &mut s,
        g,
        &[format!("okstra-lsp stage graph: {}", g.caption())],
    );
    for (w, layer) in g.waves.iter().enumerate() {
        let _ = writeln!(s, "  subgraph w{} [\"Wave {}\"]", w + 1, w + 1);
        for &v in layer {
            let Some(node) = g.nodes.get(v) else { continue };
            let title = if node.title.is_empty() {
                String::new()
            } else {
                format!(" · {}", esc(&clip(&node.title, 40)))
            };
            let _ = writeln!(
                s,
                "    s{k}[\"{k}{title}<br/>{}\"]:::{}",
                node.detail(),
                class_of(node),
                k = node.stage,
            );
        }
        s.push_str("  end\n");
    }
    let mut red = Vec::new();
    for (i, edge) in g.edges.iter().enumerate() {
        let (Some(a), Some(b)) = (g.nodes.get(edge.from), g.nodes.get(edge.to)) else {
            continue;
        };
        match &edge.kind {
            EdgeKind::DependsOn => {
                let _ = writeln!(s, "  s{} --> s{}", a.stage, b.stage);
            }
            EdgeKind::Cycle => {
                red.push(i);
                let _ = writeln!(s, "  s{} --> s{}", a.stage, b.stage);
            }
            EdgeKind::Overlap { paths, .. } => {
                red.push(i);
                let _ = writeln!(
                    s,
                    "  s{} -.-|\"{}\"| s{}",
                    a.stage,
                    esc(&clip(&paths_label(paths, 2), 48)),
                    b.stage
                );
            }
        }
    }
    red_links(&mut s, &red);
    legend(&mut s);
    s
}

/// The status colours as a subgraph of sample nodes.
fn legend(s: &mut String) {
    s.push_str("  subgraph legend [\"Legend\"]\n");
    for (label, class) in [
        ("done", "done"),
        ("started", "started"),
        ("ready", "ready"),
        ("next batch", "next"),
        ("blocked", "blocked"),
    ] {
        let _ = writeln!(s, "    legend_{class}[\"{label}\"]:::{class}");
    }
    s.push_str("  end\n");
}

/// One node per wave, or per run of `group` consecutive waves when even
/// that is over the limits (a long chain has as many waves as stages): the
/// fewest waves per node that fit, doubling from one.
fn collapsed(g: &StageGraph, size: usize, links: usize) -> String {
    let mut group = 1;
    loop {
        let text = collapsed_by(g, size, links, group);
        let fits = text.encode_utf16().count() <= MAX_TEXT;
        if fits || group >= g.waves.len() {
            return text;
        }
        group *= 2;
    }
}

/// The collapsed chart with `group` waves per node: their stages (the
/// first [`LISTED`]), steps and statuses; links between the nodes (red when
/// a cycle link is among them, dotted red for overlaps), at most
/// [`MAX_EDGES`].
fn collapsed_by(g: &StageGraph, size: usize, links: usize, group: usize) -> String {
    let mut s = String::new();
    let per = if group == 1 {
        "one node per wave".to_string()
    } else {
        format!("one node per {group} waves")
    };
    preamble(
        &mut s,
        g,
        &[
            format!("okstra-lsp stage graph: {}", g.caption()),
            format!(
                "collapsed to {per}: the full chart ({size} characters, {links} links) is over mermaid's default limits (maxTextSize {MAX_TEXT}, maxEdges {MAX_EDGES})"
            ),
        ],
    );
    for (b, waves) in g.waves.chunks(group).enumerate() {
        let first = b * group + 1;
        let name = if waves.len() == 1 {
            format!("Wave {first}")
        } else {
            format!("Waves {first}–{}", first + waves.len() - 1)
        };
        let nodes: Vec<_> = waves
            .iter()
            .flatten()
            .filter_map(|&v| g.nodes.get(v))
            .collect();
        let steps: usize = nodes.iter().map(|n| n.steps).sum();
        let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
        for n in &nodes {
            *counts.entry(n.status.name()).or_default() += 1;
        }
        let counts: Vec<String> = ["done", "started", "ready", "blocked"]
            .iter()
            .filter_map(|k| counts.get(k).map(|c| format!("{k} {c}")))
            .collect();
        let batch: Vec<String> = nodes
            .iter()
            .filter(|n| n.in_batch)
            .map(|n| n.stage.to_string())
            .collect();
        let mut listed: Vec<String> = nodes
            .iter()
            .take(LISTED)
            .map(|n| n.stage.to_string())
            .collect();
        if nodes.len() > LISTED {
            listed.push(format!("… +{} more", nodes.len() - LISTED));
        }
        let class = if !batch.is_empty() {
            "next"
        } else if nodes.iter().all(|n| n.status == NodeStatus::Done) {
            "done"
        } else if nodes
            .iter()
            .any(|n| matches!(n.status, NodeStatus::Ready | NodeStatus::Started))
        {
            "ready"
        } else {
            "blocked"
        };
        let batch = if batch.is_empty() {
            String::new()
        } else {
            format!("<br/>next batch: {}", batch.join(", "))
        };
        let _ = writeln!(
            s,
            "  w{}[\"{name}: {} stage{}, {steps} steps<br/>{}{batch}<br/>stages {}\"]:::{class}",
            b + 1,
            nodes.len(),
            super::plural(nodes.len()),
            counts.join(" · "),
            listed.join(", ")
        );
    }
    // (from node, to node) → (links, any on a cycle); overlaps apart.
    let mut between: BTreeMap<(usize, usize), (usize, bool)> = BTreeMap::new();
    let mut overlaps: BTreeMap<(usize, usize), usize> = BTreeMap::new();
    for edge in &g.edges {
        let (Some(a), Some(b)) = (g.nodes.get(edge.from), g.nodes.get(edge.to)) else {
            continue;
        };
        let (a, b) = (a.wave / group, b.wave / group);
        match edge.kind {
            EdgeKind::Overlap { .. } => {
                *overlaps.entry((a.min(b), a.max(b))).or_default() += 1;
            }
            EdgeKind::Cycle => {
                let e = between.entry((a, b)).or_default();
                e.0 += 1;
                e.1 = true;
            }
            // Inside one node a depends-on link has nothing to show.
            EdgeKind::DependsOn if a == b => {}
            EdgeKind::DependsOn => {
                between.entry((a, b)).or_default().0 += 1;
            }
        }
    }
    let mut red = Vec::new();
    let mut count = 0;
    let total = between.len() + overlaps.len();
    for (&(a, b), &(n, cycle)) in &between {
        if count == MAX_EDGES {
            break;
        }
        if cycle {
            red.push(count);
        }
        let _ = writeln!(s, "  w{} -->|\"{n}\"| w{}", a + 1, b + 1);
        count += 1;
    }
    for (&(a, b), &n) in &overlaps {
        if count == MAX_EDGES {
            break;
        }
        red.push(count);
        let _ = writeln!(
            s,
            "  w{} -.-|\"{n} overlap{}\"| w{}",
            a + 1,
            super::plural(n),
            b + 1
        );
        count += 1;
    }
    if total > count {
        let _ = writeln!(
            s,
            "%% {} links between waves left out (maxEdges {MAX_EDGES})",
            total - count
        );
    }
    red_links(&mut s, &red);
    s
}

/// Draws the links numbered in `red` red (`linkStyle` counts links in the
/// order they were written).
fn red_links(s: &mut String, red: &[usize]) {
    if red.is_empty() {
        return;
    }
    let list: Vec<String> = red.iter().map(usize::to_string).collect();
    let _ = writeln!(
        s,
        "  linkStyle {} stroke:{},stroke-width:2px",
        list.join(","),
        colour::RED
    );
}
