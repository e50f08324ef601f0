use super::*;

fn graph(src: &str, status: &Status, options: &GraphOptions) -> StageGraph {
    let plan = crate::plan::model::parse(src, &Config::default());
    StageGraph::build(src, &plan, &Facts::new(&plan), status, options)
}

fn map(rows: &str) -> String {
    format!("## Stage Map\n| Stage | Title | depends-on | Steps |\n|---|---|---|---|\n{rows}")
}

#[test]
fn a_stage_depending_on_itself_is_a_red_loop_and_ranks_alone() {
    let g = graph(
        &map("| 1 | a | 1 | 1 |\n| 2 | b | 1 | 1 |\n"),
        &Status::default(),
        &GraphOptions::default(),
    );
    assert_eq!(
        g.edges
            .iter()
            .map(|e| (e.from, e.to, e.kind.clone()))
            .collect::<Vec<_>>(),
        [(0, 0, EdgeKind::Cycle), (0, 1, EdgeKind::DependsOn)]
    );
    assert_eq!(g.waves, [vec![0], vec![1]]);
    assert!(
        g.svg()
            .contains("class=\"cycle\" data-from=\"1\" data-to=\"1\"")
    );
    assert!(g.mermaid().contains("  s1 --> s1\n"));
}

#[test]
fn unknown_and_repeated_depends_on_draw_nothing_extra() {
    let g = graph(
        &map("| 1 | a | (none) | 1 |\n| 2 | b | 1, 1, 9 | 1 |\n| 2 | again | (none) | 1 |\n"),
        &Status::default(),
        &GraphOptions::default(),
    );
    assert_eq!(g.nodes.len(), 2);
    assert_eq!(g.edges.len(), 1);
}

#[test]
fn the_next_batch_and_the_statuses_follow_the_batch() {
    let src = map("| 1 | a | (none) | 5 |\n| 2 | b | (none) | 5 |\n| 3 | c | 1 | 1 |\n");
    let mut status = Status::default();
    status.started.insert(2, vec!["impl-x".into()]);
    let g = graph(&src, &status, &GraphOptions::default());
    assert_eq!(
        g.batch,
        NextBatch::Selected {
            stages: vec![1],
            total_steps: 5,
            budget: 8
        }
    );
    assert_eq!(g.nodes[1].status, NodeStatus::Started);
    assert!(!g.nodes[1].in_batch);
    // okstra's own behaviour takes the started stage again, within budget.
    let options = GraphOptions {
        include_started: true,
        budget: 10,
        ..GraphOptions::default()
    };
    let g = graph(&src, &status, &options);
    assert!(g.nodes[1].in_batch);
    assert_eq!(g.batch.caption(), "next batch: 1, 2 (10/10 steps)");
    // Everything done: no batch, and why.
    status.done.extend([1, 2, 3]);
    let g = graph(&src, &status, &GraphOptions::default());
    assert!(matches!(g.batch, NextBatch::None { .. }), "{:?}", g.batch);
    assert!(g.svg().contains("no next batch: "));
}

#[test]
fn an_overlap_turned_off_is_not_drawn() {
    let src = format!(
        "{}### Stage 1: a\n#### Stage Exit Contract\n- Predicted files: `x.rs`\n### Stage 2: b\n#### Stage Exit Contract\n- Predicted files: `x.rs`\n",
        map("| 1 | a | (none) | 1 |\n| 2 | b | (none) | 1 |\n")
    );
    let drawn = graph(&src, &Status::default(), &GraphOptions::default());
    assert!(matches!(
        drawn.edges.as_slice(),
        [Edge {
            kind: EdgeKind::Overlap {
                code: "s9-file-overlap",
                ..
            },
            ..
        }]
    ));
    let mut options = GraphOptions::default();
    options.hidden_overlaps.insert("s9-file-overlap".into());
    assert!(graph(&src, &Status::default(), &options).edges.is_empty());
}

#[test]
fn hostile_titles_are_escaped_in_every_format() {
    let title = "<script>alert(1)</script> & \"q\" ]]> \u{1} \u{7f}%%{init}%% `x` #9829; | -->";
    let g = graph(
        &map(&format!("| 1 | {title} | (none) | 1 |\n")),
        &Status::default(),
        &GraphOptions::default(),
    );
    let svg = g.svg();
    assert!(!svg.contains("<script"), "{svg}");
    assert!(!svg.contains('\u{1}') && !svg.contains('\u{7f}'));
    assert!(svg.contains("&lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;q&quot; ]]&gt;"));
    let mermaid = g.mermaid();
    let node = mermaid
        .lines()
        .find(|l| l.trim_start().starts_with("s1["))
        .expect("the node");
    // Inside the quoted label: no quote, markup, comment or link syntax.
    let label = &node[node.find("[\"").unwrap() + 2..node.rfind("\"]").unwrap()];
    for bad in ['"', '<', '>', '`', '%', '|', '&', '\u{1}'] {
        assert!(
            !label.replace("<br/>", "").contains(bad),
            "{bad:?} in {label}"
        );
    }
    let dot = g.dot();
    let line = dot.lines().find(|l| l.contains("s1 [")).unwrap();
    assert!(line.contains("\\\"q\\\""), "{line}");
    assert!(!line.contains('\u{1}'));
}

#[test]
fn titles_are_clipped_by_width() {
    assert_eq!(clip("abc", 3), "abc");
    assert_eq!(clip("abcdef", 4), "abc…");
    assert_eq!(clip("한국어계획", 5), "한국…");
    assert_eq!(clip("", 0), "");
}

#[test]
fn no_stages_and_not_a_plan_give_an_empty_graph() {
    for src in [
        map(""),
        "# Notes\n\nno map here\n".to_string(),
        String::new(),
    ] {
        let g = graph(&src, &Status::default(), &GraphOptions::default());
        assert!(g.nodes.is_empty() && g.edges.is_empty() && g.waves.is_empty());
        for f in [Format::Svg, Format::Mermaid, Format::Dot] {
            assert!(!g.render(f).is_empty());
        }
    }
}
