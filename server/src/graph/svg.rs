//! The stage graph as a self-contained SVG document: wave columns (or
//! rows), stage boxes coloured by status with the next batch outlined,
//! depends-on links as grey arrows (red on a cycle), overlaps as dashed red
//! curves labelled with the shared paths, and a legend. No script, no CSS,
//! no font or link outside the file (text is set in the viewer's generic
//! `sans-serif`). Each stage is a `<g data-stage="N" id="stage-N">`.

use std::fmt::Write;

use super::{
    Direction, EdgeKind, Node, StageGraph, class_of, clip, colour, paths_label, printable,
};

const MARGIN: f64 = 16.0;
const NODE_W: f64 = 200.0;
const NODE_H: f64 = 44.0;
/// Between waves.
const WAVE_GAP: f64 = 72.0;
/// Between the stages of one wave.
const STAGE_GAP: f64 = 14.0;
/// How far a wave's band reaches past its stages.
const BAND_PAD: f64 = 12.0;
/// The title line and the legend.
const HEADER: f64 = 68.0;
/// A wave's label: above its column, or left of its row.
const LABEL_H: f64 = 30.0;
const LABEL_W: f64 = 104.0;
/// The legend's width, the narrowest the picture gets.
const LEGEND_W: f64 = 900.0;
/// Room past the last wave and below the stages for the curves that
/// bulge out there (overlaps in one wave, a cycle's links back).
const FAR: f64 = 56.0;
/// Columns of a title line and of an overlap label.
const TITLE_COLS: usize = 25;
const LABEL_COLS: usize = 44;

/// XML text or attribute value: escaped, without the characters XML 1.0
/// forbids.
fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in printable(text) {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
    out
}

/// A coordinate to a tenth of a pixel (no float noise in the file).
fn n(v: f64) -> f64 {
    (v * 10.0).round() / 10.0
}

struct Geometry {
    direction: Direction,
    /// Each node's top-left corner.
    at: Vec<(f64, f64)>,
    width: f64,
    height: f64,
}

impl Geometry {
    fn new(g: &StageGraph) -> Geometry {
        let widest = g.waves.iter().map(Vec::len).max().unwrap_or(0);
        let mut at = vec![(0.0, 0.0); g.nodes.len()];
        let waves = g.waves.len() as f64;
        let top = HEADER;
        for (w, layer) in g.waves.iter().enumerate() {
            let offset = (widest - layer.len()) as f64 / 2.0;
            for (k, &v) in layer.iter().enumerate() {
                let slot = offset + k as f64;
                let along = w as f64;
                let Some(p) = at.get_mut(v) else { continue };
                *p = match g.direction {
                    Direction::LeftToRight => (
                        MARGIN + along * (NODE_W + WAVE_GAP),
                        top + LABEL_H + slot * (NODE_H + STAGE_GAP),
                    ),
                    Direction::TopToBottom => (
                        MARGIN + LABEL_W + slot * (NODE_W + STAGE_GAP),
                        top + BAND_PAD + along * (NODE_H + WAVE_GAP),
                    ),
                };
            }
        }
        let span = |count: f64, size: f64, gap: f64| {
            if count == 0.0 {
                0.0
            } else {
                count * (size + gap) - gap
            }
        };
        let (width, height) = match g.direction {
            Direction::LeftToRight => (
                2.0 * MARGIN + span(waves, NODE_W, WAVE_GAP) + FAR,
                top + LABEL_H + span(widest as f64, NODE_H, STAGE_GAP) + MARGIN + FAR,
            ),
            Direction::TopToBottom => (
                2.0 * MARGIN + LABEL_W + span(widest as f64, NODE_W, STAGE_GAP) + FAR,
                top + BAND_PAD + span(waves, NODE_H, WAVE_GAP) + MARGIN + FAR,
            ),
        };
        Geometry {
            direction: g.direction,
            at,
            width: n(width.max(LEGEND_W + 2.0 * MARGIN)),
            height: n(height.max(top + 40.0)),
        }
    }

    fn xy(&self, v: usize) -> (f64, f64) {
        self.at.get(v).copied().unwrap_or((0.0, 0.0))
    }

    /// Where a depends-on link leaves its stage and where it enters the
    /// dependant, and the curve's control points.
    fn link(&self, from: usize, to: usize) -> [(f64, f64); 4] {
        let (ax, ay) = self.xy(from);
        let (bx, by) = self.xy(to);
        // A link back against the waves (a cycle's): from the dependency's
        // far side round to the dependant's near one, bulging past both.
        match self.direction {
            Direction::LeftToRight if bx < ax + NODE_W => {
                let (sx, sy, ex, ey) = (ax, ay + NODE_H * 0.75, bx + NODE_W, by + NODE_H * 0.75);
                [
                    (sx, sy),
                    (sx - 48.0, sy + 44.0),
                    (ex + 48.0, ey + 44.0),
                    (ex, ey),
                ]
            }
            Direction::TopToBottom if by < ay + NODE_H => {
                let (sx, sy, ex, ey) = (ax + NODE_W * 0.75, ay, bx + NODE_W * 0.75, by + NODE_H);
                [
                    (sx, sy),
                    (sx + 48.0, sy - 44.0),
                    (ex + 48.0, ey + 44.0),
                    (ex, ey),
                ]
            }
            Direction::LeftToRight => {
                let (sx, sy, ex, ey) = (ax + NODE_W, ay + NODE_H / 2.0, bx, by + NODE_H / 2.0);
                let d = ((ex - sx).abs() / 2.0).max(36.0);
                [(sx, sy), (sx + d, sy), (ex - d, ey), (ex, ey)]
            }
            Direction::TopToBottom => {
                let (sx, sy, ex, ey) = (ax + NODE_W / 2.0, ay + NODE_H, bx + NODE_W / 2.0, by);
                let d = ((ey - sy).abs() / 2.0).max(36.0);
                [(sx, sy), (sx, sy + d), (ex, ey - d), (ex, ey)]
            }
        }
    }

    /// A stage depending on itself: a loop over its corner.
    fn self_loop(&self, v: usize) -> [(f64, f64); 4] {
        let (x, y) = self.xy(v);
        match self.direction {
            Direction::LeftToRight => [
                (x + NODE_W - 40.0, y),
                (x + NODE_W - 40.0, y - 34.0),
                (x + NODE_W + 34.0, y + NODE_H / 2.0),
                (x + NODE_W, y + NODE_H / 2.0),
            ],
            Direction::TopToBottom => [
                (x + NODE_W, y + 10.0),
                (x + NODE_W + 34.0, y + 10.0),
                (x + NODE_W / 2.0 + 34.0, y + NODE_H + 34.0),
                (x + NODE_W / 2.0, y + NODE_H),
            ],
        }
    }

    /// An overlap between two stages: a curve bulging out beside them when
    /// they share a wave (it would cross the stages between), else from
    /// the facing sides.
    fn overlap(&self, a: usize, b: usize, same_wave: bool) -> [(f64, f64); 4] {
        let (ax, ay) = self.xy(a);
        let (bx, by) = self.xy(b);
        match (self.direction, same_wave) {
            (Direction::LeftToRight, true) => {
                let (sx, sy, ex, ey) = (
                    ax + NODE_W,
                    ay + NODE_H / 2.0,
                    bx + NODE_W,
                    by + NODE_H / 2.0,
                );
                let k = 26.0 + ((ey - sy).abs() * 0.15).min(120.0);
                [(sx, sy), (sx + k, sy), (ex + k, ey), (ex, ey)]
            }
            (Direction::TopToBottom, true) => {
                let (sx, sy, ex, ey) = (
                    ax + NODE_W / 2.0,
                    ay + NODE_H,
                    bx + NODE_W / 2.0,
                    by + NODE_H,
                );
                let k = 26.0 + ((ex - sx).abs() * 0.15).min(120.0);
                [(sx, sy), (sx, sy + k), (ex, ey + k), (ex, ey)]
            }
            _ => {
                let (first, second) = match self.direction {
                    Direction::LeftToRight if ax <= bx => (a, b),
                    Direction::TopToBottom if ay <= by => (a, b),
                    _ => (b, a),
                };
                self.link(first, second)
            }
        }
    }
}

fn path(p: &[(f64, f64); 4]) -> String {
    format!(
        "M{},{} C{},{} {},{} {},{}",
        n(p[0].0),
        n(p[0].1),
        n(p[1].0),
        n(p[1].1),
        n(p[2].0),
        n(p[2].1),
        n(p[3].0),
        n(p[3].1)
    )
}

/// The point halfway along a cubic curve.
fn middle(p: &[(f64, f64); 4]) -> (f64, f64) {
    (
        (p[0].0 + 3.0 * p[1].0 + 3.0 * p[2].0 + p[3].0) / 8.0,
        (p[0].1 + 3.0 * p[1].1 + 3.0 * p[2].1 + p[3].1) / 8.0,
    )
}

pub(super) fn render(g: &StageGraph) -> String {
    let geo = Geometry::new(g);
    let mut s = String::with_capacity(1024 + g.nodes.len() * 700 + g.edges.len() * 160);
    // `write!` to a String cannot fail.
    let _ = writeln!(
        s,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}\" height=\"{h}\" viewBox=\"0 0 {w} {h}\" font-family=\"sans-serif\" role=\"img\">",
        w = geo.width,
        h = geo.height
    );
    let _ = writeln!(s, "<title>Stage graph: {}</title>", esc(&g.caption()));
    let _ = writeln!(
        s,
        "<defs>\n<marker id=\"arrow\" viewBox=\"0 0 10 10\" refX=\"10\" refY=\"5\" markerWidth=\"7\" markerHeight=\"7\" orient=\"auto\"><path d=\"M0,0 L10,5 L0,10 z\" fill=\"{}\"/></marker>\n<marker id=\"arrow-red\" viewBox=\"0 0 10 10\" refX=\"10\" refY=\"5\" markerWidth=\"7\" markerHeight=\"7\" orient=\"auto\"><path d=\"M0,0 L10,5 L0,10 z\" fill=\"{}\"/></marker>\n</defs>",
        colour::EDGE,
        colour::RED
    );
    let _ = writeln!(
        s,
        "<rect width=\"{}\" height=\"{}\" fill=\"#ffffff\"/>",
        geo.width, geo.height
    );
    waves(&mut s, g, &geo);
    edges(&mut s, g, &geo);
    for (i, node) in g.nodes.iter().enumerate() {
        stage(&mut s, node, geo.xy(i));
    }
    header(&mut s, g);
    if g.nodes.is_empty() {
        let _ = writeln!(
            s,
            "<text x=\"{MARGIN}\" y=\"{}\" font-size=\"13\" fill=\"{}\">No stages in the Stage Map.</text>",
            HEADER + 20.0,
            colour::TEXT
        );
    }
    s.push_str("</svg>\n");
    s
}

/// The wave bands (alternate shading) and their labels.
fn waves(s: &mut String, g: &StageGraph, geo: &Geometry) {
    s.push_str("<g class=\"waves\">\n");
    for (w, layer) in g.waves.iter().enumerate() {
        let along = w as f64;
        let (x, y, width, height, tx, ty, anchor) = match g.direction {
            Direction::LeftToRight => {
                let x = MARGIN + along * (NODE_W + WAVE_GAP) - BAND_PAD;
                let width = NODE_W + 2.0 * BAND_PAD;
                (
                    x,
                    HEADER,
                    width,
                    geo.height - HEADER - MARGIN / 2.0,
                    x + width / 2.0,
                    HEADER + 15.0,
                    "middle",
                )
            }
            Direction::TopToBottom => {
                let y = HEADER + along * (NODE_H + WAVE_GAP);
                let height = NODE_H + 2.0 * BAND_PAD;
                (
                    MARGIN / 2.0,
                    y,
                    geo.width - MARGIN,
                    height,
                    MARGIN,
                    y + height / 2.0 + 4.0,
                    "start",
                )
            }
        };
        let fill = if w % 2 == 0 { "#f6f7f9" } else { "#eef0f4" };
        let _ = writeln!(
            s,
            "<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"{fill}\"/>",
            n(x),
            n(y),
            n(width),
            n(height)
        );
        let steps: usize = layer
            .iter()
            .filter_map(|&v| g.nodes.get(v))
            .map(|node| node.steps)
            .sum();
        let detail = format!(
            "{} stage{}, {steps} step{}",
            layer.len(),
            super::plural(layer.len()),
            super::plural(steps)
        );
        match g.direction {
            Direction::LeftToRight => {
                let _ = writeln!(
                    s,
                    "<text x=\"{}\" y=\"{}\" font-size=\"11\" fill=\"#555555\" text-anchor=\"{anchor}\">Wave {} ({detail})</text>",
                    n(tx),
                    n(ty),
                    w + 1
                );
            }
            Direction::TopToBottom => {
                let _ = writeln!(
                    s,
                    "<text x=\"{}\" y=\"{}\" font-size=\"11\" fill=\"#555555\">Wave {}</text><text x=\"{}\" y=\"{}\" font-size=\"10\" fill=\"#555555\">{detail}</text>",
                    n(tx),
                    n(ty - 7.0),
                    w + 1,
                    n(tx),
                    n(ty + 7.0)
                );
            }
        }
    }
    s.push_str("</g>\n");
}

fn edges(s: &mut String, g: &StageGraph, geo: &Geometry) {
    s.push_str("<g class=\"links\" fill=\"none\">\n");
    // Grey links first, so the red ones lie on top.
    for edge in g.edges.iter().filter(|e| e.kind == EdgeKind::DependsOn) {
        let (a, b) = (stage_of(g, edge.from), stage_of(g, edge.to));
        let _ = writeln!(
            s,
            "<path class=\"depends-on\" data-from=\"{a}\" data-to=\"{b}\" d=\"{}\" stroke=\"{}\" stroke-width=\"1.3\" marker-end=\"url(#arrow)\"/>",
            path(&geo.link(edge.from, edge.to)),
            colour::EDGE
        );
    }
    for edge in g.edges.iter().filter(|e| e.kind == EdgeKind::Cycle) {
        let (a, b) = (stage_of(g, edge.from), stage_of(g, edge.to));
        let curve = if edge.from == edge.to {
            geo.self_loop(edge.from)
        } else {
            geo.link(edge.from, edge.to)
        };
        let _ = writeln!(
            s,
            "<path class=\"cycle\" data-from=\"{a}\" data-to=\"{b}\" d=\"{}\" stroke=\"{}\" stroke-width=\"2.2\" marker-end=\"url(#arrow-red)\"><title>cycle: stage {b} depends on stage {a}</title></path>",
            path(&curve),
            colour::RED
        );
    }
    for edge in &g.edges {
        let EdgeKind::Overlap { code, paths } = &edge.kind else {
            continue;
        };
        let (a, b) = (stage_of(g, edge.from), stage_of(g, edge.to));
        let same_wave =
            g.nodes.get(edge.from).map(|x| x.wave) == g.nodes.get(edge.to).map(|x| x.wave);
        let curve = geo.overlap(edge.from, edge.to, same_wave);
        let (mx, my) = middle(&curve);
        let all = paths.join(", ");
        let _ = writeln!(
            s,
            "<g class=\"overlap\" data-from=\"{a}\" data-to=\"{b}\" data-code=\"{code}\"><title>{code}: stages {a} and {b} both predict {}</title><path d=\"{}\" stroke=\"{}\" stroke-width=\"2\" stroke-dasharray=\"6 4\"/><text x=\"{}\" y=\"{}\" font-size=\"10\" fill=\"{}\" text-anchor=\"middle\" stroke=\"#ffffff\" stroke-width=\"3\" paint-order=\"stroke\">{}</text></g>",
            esc(&all),
            path(&curve),
            colour::RED,
            n(mx),
            n(my - 3.0),
            colour::RED,
            esc(&clip(&paths_label(paths, 2), LABEL_COLS))
        );
    }
    s.push_str("</g>\n");
}

fn stage_of(g: &StageGraph, v: usize) -> u32 {
    g.nodes.get(v).map_or(0, |x| x.stage)
}

fn stage(s: &mut String, node: &Node, (x, y): (f64, f64)) {
    let (fill, stroke) = colour::of(node);
    let k = node.stage;
    let state = if node.in_batch {
        format!("{}, in the next batch", node.status.name())
    } else {
        node.status.name().to_string()
    };
    let _ = write!(
        s,
        "<g class=\"stage {}\" data-stage=\"{k}\" id=\"stage-{k}\"><title>Stage {k}: {} ({} step{}; {state})</title>",
        class_of(node),
        esc(&node.title),
        node.steps,
        super::plural(node.steps)
    );
    if node.in_batch {
        let _ = write!(
            s,
            "<rect class=\"batch-outline\" x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" rx=\"9\" fill=\"none\" stroke=\"{}\" stroke-width=\"2.5\" stroke-dasharray=\"7 3\"/>",
            n(x - 5.0),
            n(y - 5.0),
            NODE_W + 10.0,
            NODE_H + 10.0,
            colour::NEXT.1
        );
    }
    let width = if node.in_batch { 2.0 } else { 1.2 };
    let _ = write!(
        s,
        "<rect x=\"{}\" y=\"{}\" width=\"{NODE_W}\" height=\"{NODE_H}\" rx=\"6\" fill=\"{fill}\" stroke=\"{stroke}\" stroke-width=\"{width}\"/>",
        n(x),
        n(y)
    );
    let title = if node.title.is_empty() {
        format!("{k}")
    } else {
        clip(&format!("{k} · {}", node.title), TITLE_COLS)
    };
    let _ = write!(
        s,
        "<text x=\"{}\" y=\"{}\" font-size=\"12\" font-weight=\"bold\" fill=\"{}\">{}</text>",
        n(x + 8.0),
        n(y + 18.0),
        colour::TEXT,
        esc(&title)
    );
    let _ = writeln!(
        s,
        "<text x=\"{}\" y=\"{}\" font-size=\"11\" fill=\"{}\">{}</text></g>",
        n(x + 8.0),
        n(y + 35.0),
        colour::TEXT,
        node.detail()
    );
}

/// The title line (stages, waves, next batch against the budget) and the
/// legend.
fn header(s: &mut String, g: &StageGraph) {
    s.push_str("<g class=\"legend\">\n");
    let _ = writeln!(
        s,
        "<text x=\"{MARGIN}\" y=\"22\" font-size=\"14\" font-weight=\"bold\" fill=\"{}\">Stage graph: {}</text>",
        colour::TEXT,
        esc(&g.caption())
    );
    let y = 36.0;
    let mut x = MARGIN;
    for (label, (fill, stroke)) in colour::LEGEND {
        let _ = writeln!(
            s,
            "<rect x=\"{x}\" y=\"{y}\" width=\"16\" height=\"14\" rx=\"3\" fill=\"{fill}\" stroke=\"{stroke}\"/><text x=\"{}\" y=\"{}\" font-size=\"11\" fill=\"{}\">{label}</text>",
            x + 21.0,
            y + 11.0,
            colour::TEXT
        );
        x += 92.0;
    }
    let samples = [
        (
            "depends on",
            format!(
                "stroke=\"{}\" stroke-width=\"1.3\" marker-end=\"url(#arrow)\"",
                colour::EDGE
            ),
        ),
        (
            "cycle",
            format!(
                "stroke=\"{}\" stroke-width=\"2.2\" marker-end=\"url(#arrow-red)\"",
                colour::RED
            ),
        ),
        (
            "S9 / parallel overlap",
            format!(
                "stroke=\"{}\" stroke-width=\"2\" stroke-dasharray=\"6 4\"",
                colour::RED
            ),
        ),
    ];
    for (label, stroke) in samples {
        let _ = writeln!(
            s,
            "<path d=\"M{x},{} h30\" fill=\"none\" {stroke}/><text x=\"{}\" y=\"{}\" font-size=\"11\" fill=\"{}\">{label}</text>",
            y + 7.0,
            x + 36.0,
            y + 11.0,
            colour::TEXT
        );
        x += if label.len() > 12 { 160.0 } else { 104.0 };
    }
    let _ = writeln!(
        s,
        "<rect x=\"{x}\" y=\"{}\" width=\"22\" height=\"18\" rx=\"4\" fill=\"none\" stroke=\"{}\" stroke-width=\"2.5\" stroke-dasharray=\"7 3\"/><text x=\"{}\" y=\"{}\" font-size=\"11\" fill=\"{}\">next batch</text>",
        y - 2.0,
        colour::NEXT.1,
        x + 28.0,
        y + 11.0,
        colour::TEXT
    );
    s.push_str("</g>\n");
}
