//! Property tests with a fixed seed and a bounded number of cases:
//! - the incremental path (Document::edit / replace_all) ends with the same
//!   tree, model and findings as a fresh parse of the final text;
//! - applying either offered fix for every S9 diagnostic, one after the
//!   other, ends with a plan without S9 or cycle errors.

use okstra_lsp::check::fixes::{self, FixContext};
use okstra_lsp::engine::document::Document;
use okstra_lsp::engine::generate::{self, Spec};
use okstra_lsp::plan::config::Config;
use okstra_lsp::syntax::outline::Outline;
use okstra_lsp::{check::rules, plan::model, syntax};
use proptest::prelude::*;

mod common;
use common::{PIECES, boundary, runner};

#[derive(Debug, Clone)]
enum Edit {
    Insert { at: usize, piece: usize },
    Delete { at: usize, len: usize },
    Full,
}

fn edit_strategy() -> impl Strategy<Value = Edit> {
    prop_oneof![
        6 => (any::<usize>(), 0..PIECES.len()).prop_map(|(at, piece)| Edit::Insert { at, piece }),
        3 => (any::<usize>(), 1usize..40).prop_map(|(at, len)| Edit::Delete { at, len }),
        1 => Just(Edit::Full),
    ]
}

/// Where two debug renderings first differ, with some context (full plan
/// dumps are too long to read).
fn first_diff<T: std::fmt::Debug>(a: &T, b: &T) -> Option<String> {
    let (a, b) = (format!("{a:?}"), format!("{b:?}"));
    let i = a
        .bytes()
        .zip(b.bytes())
        .position(|(x, y)| x != y)
        .or_else(|| (a.len() != b.len()).then(|| a.len().min(b.len())))?;
    let from = i.saturating_sub(300);
    let cut = |s: &str| {
        s.get(from..(i + 200).min(s.len()))
            .unwrap_or("")
            .to_string()
    };
    Some(format!(
        "incremental:\n…{}…\nfresh:\n…{}…",
        cut(&a),
        cut(&b)
    ))
}

/// The heading ranges of a fresh parse of `text`.
fn headings_of(text: &str) -> Vec<std::ops::Range<usize>> {
    syntax::outline(&syntax::parse_blocks(text, None), text)
        .into_iter()
        .filter_map(|b| match b {
            syntax::Block::Heading(h) => Some(h.range),
            _ => None,
        })
        .collect()
}

#[test]
fn incremental_edits_equal_a_fresh_parse() {
    let config = Config::default();
    let base = generate::plan(&Spec {
        overlap_every: 4,
        cycle: true,
        over_cap_every: 5,
        orphan_ref: true,
        ..Spec::clean(8)
    });
    let mut runner = runner(
        std::env::var("OKSTRA_PROPTEST_CASES")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(96),
    );
    runner
        .run(
            &proptest::collection::vec(edit_strategy(), 1..25),
            |edits| {
                let mut doc = Document::new(base.clone(), &config);
                let mut shadow = base.clone();
                for e in &edits {
                    match e {
                        Edit::Insert { at, piece } => {
                            let at = boundary(&shadow, at % (shadow.len() + 1));
                            doc.edit(at..at, PIECES[*piece]);
                            shadow.insert_str(at, PIECES[*piece]);
                        }
                        Edit::Delete { at, len } => {
                            let start = boundary(&shadow, at % (shadow.len() + 1));
                            let end = boundary(&shadow, start + len);
                            doc.edit(start..end, "");
                            shadow.replace_range(start..end, "");
                        }
                        Edit::Full => {
                            // A full-text sync of an edited copy.
                            let mut next = shadow.clone();
                            let at = boundary(&next, next.len() / 3);
                            next.insert_str(at, "| 3 |");
                            doc.replace_all(&next);
                            shadow = next;
                        }
                    }
                    // Analyse after most edits (the one-edit fast path),
                    // sometimes only after several (the full rebuild path).
                    if !shadow.len().is_multiple_of(3) {
                        doc.reanalyze(&config);
                        prop_assert_eq!(
                            doc.headings().to_vec(),
                            headings_of(&shadow),
                            "after {:?}",
                            e
                        );
                        let diff = first_diff(doc.plan(), &model::parse(&shadow, &config));
                        prop_assert!(
                            diff.is_none(),
                            "after {:?}: {}\n{:?}",
                            e,
                            diff.unwrap_or_default(),
                            doc.stats()
                        );
                    }
                }
                doc.reanalyze(&config);
                prop_assert_eq!(doc.text(), shadow.as_str());
                prop_assert_eq!(doc.rope().to_string(), shadow.clone());
                // The outline kept chunk by chunk equals the outline of one
                // tree of the whole text.
                let fresh = syntax::parse_blocks(&shadow, None);
                let diff = first_diff(&doc.outline().to_vec(), &syntax::outline(&fresh, &shadow));
                prop_assert!(diff.is_none(), "outline: {}", diff.unwrap_or_default());
                let diff = first_diff(doc.plan(), &model::parse(&shadow, &config));
                prop_assert!(diff.is_none(), "plan: {}", diff.unwrap_or_default());
                let expected = okstra_lsp::analyze(&shadow, &config);
                prop_assert_eq!(doc.findings(), expected.as_slice());
                Ok(())
            },
        )
        .unwrap();
}

/// Pieces that change the block structure across sections: fences, HTML
/// blocks, front matter, headings after blank lines, containers.
const STRUCTURE: &[&str] = &[
    "```\n",
    "~~~\n",
    "```",
    "<!--",
    "-->",
    "<div>\n",
    "</div>\n",
    "<pre>\n",
    "</pre>\n",
    "---\n",
    "+++\n",
    "\n\n# H\n",
    "\n\n## 4.5.7 Stage 7 — seven\n\n",
    "\n\n",
    "#",
    "# ",
    "> ",
    "- ",
    "1. ",
    "    ",
    "\t",
    "|  |  |\n",
    "| a | b |\n|---|---|\n",
    "\r",
    "\r\n",
    "x",
];

/// The outline kept chunk by chunk (edit after edit, and parsed afresh on
/// one or two threads) is the outline of one tree of the whole text.
#[test]
fn chunked_outline_equals_one_tree() {
    let base = generate::plan(&Spec {
        overlap_every: 3,
        ..Spec::clean(6)
    });
    let mut runner = runner(
        std::env::var("OKSTRA_PROPTEST_CASES")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(96),
    );
    let piece = prop_oneof![
        2 => (0..STRUCTURE.len()).prop_map(|i| STRUCTURE[i]),
        1 => (0..PIECES.len()).prop_map(|i| PIECES[i]),
    ];
    let edit = prop_oneof![
        3 => (any::<usize>(), piece).prop_map(|(at, p)| (at, 0usize, p)),
        1 => (any::<usize>(), 1usize..30).prop_map(|(at, len)| (at, len, "")),
    ];
    runner
        .run(&proptest::collection::vec(edit, 1..20), |edits| {
            let config = Config::default();
            let mut doc = Document::new(base.clone(), &config);
            let mut shadow = base.clone();
            for (at, len, piece) in &edits {
                let start = boundary(&shadow, at % (shadow.len() + 1));
                let end = boundary(&shadow, start + len);
                doc.edit(start..end, piece);
                shadow.replace_range(start..end, piece);
                let whole = syntax::outline(&syntax::parse_blocks(&shadow, None), &shadow);
                let diff = first_diff(&doc.outline().to_vec(), &whole);
                prop_assert!(
                    diff.is_none(),
                    "after {:?} at {start}: {}\nchunks {:?}",
                    (len, piece),
                    diff.unwrap_or_default(),
                    doc.outline().chunk_ranges()
                );
                for threads in [1, 2] {
                    let fresh = Outline::parse_with_threads(&shadow, threads);
                    let diff = first_diff(&fresh.to_vec(), &whole);
                    prop_assert!(
                        diff.is_none(),
                        "fresh, {threads} thread(s): {}",
                        diff.unwrap_or_default()
                    );
                }
            }
            doc.reanalyze(&config);
            let diff = first_diff(doc.plan(), &model::parse(&shadow, &config));
            prop_assert!(diff.is_none(), "plan: {}", diff.unwrap_or_default());
            Ok(())
        })
        .unwrap();
}

/// Every fixture (plans, rule triggers and near-misses, garbage): the
/// chunked outline, on one thread and on two, is the outline of one tree.
#[test]
fn chunked_outline_equals_one_tree_on_every_fixture() {
    let mut texts = fixture_texts();
    assert!(!texts.is_empty(), "fixtures found");
    texts.push(("generated".into(), generate::plan(&Spec::clean(300))));
    for (name, text) in &texts {
        let whole = syntax::outline(&syntax::parse_blocks(text, None), text);
        for threads in [1, 2] {
            let diff = first_diff(&Outline::parse_with_threads(text, threads).to_vec(), &whole);
            assert!(
                diff.is_none(),
                "{name}, {threads} thread(s): {}",
                diff.unwrap_or_default()
            );
        }
    }
}

/// Every `.md` under `fixtures/`, as (path, text).
fn fixture_texts() -> Vec<(String, String)> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures");
    okstra_lsp::io::walk::markdown(&[dir])
        .unwrap_or_default()
        .iter()
        .map(|p| {
            let bytes = std::fs::read(p).unwrap_or_default();
            (
                p.display().to_string(),
                String::from_utf8_lossy(&bytes).into_owned(),
            )
        })
        .collect()
}

/// An edit placed by line, so it lands where plans are fragile: before a
/// line's first byte (a list item's or quote's marker before a heading),
/// inside the line, or from there to the end of the text.
#[derive(Debug, Clone)]
enum LineEdit {
    Insert {
        line: usize,
        col: usize,
        piece: usize,
    },
    Delete {
        line: usize,
        col: usize,
        len: usize,
    },
    DeleteLine {
        line: usize,
    },
    DeleteToEnd {
        line: usize,
        col: usize,
    },
}

fn line_edit_strategy() -> impl Strategy<Value = LineEdit> {
    prop_oneof![
        5 => (any::<usize>(), any::<usize>(), 0..PIECES.len())
            .prop_map(|(line, col, piece)| LineEdit::Insert { line, col, piece }),
        3 => (any::<usize>(), any::<usize>(), 1usize..60)
            .prop_map(|(line, col, len)| LineEdit::Delete { line, col, len }),
        1 => any::<usize>().prop_map(|line| LineEdit::DeleteLine { line }),
        1 => (any::<usize>(), any::<usize>())
            .prop_map(|(line, col)| LineEdit::DeleteToEnd { line, col }),
    ]
}

/// The byte range and text of `e` on `text`.
fn place(e: &LineEdit, text: &str) -> (std::ops::Range<usize>, &'static str) {
    let starts: Vec<usize> = std::iter::once(0)
        .chain(text.match_indices('\n').map(|(i, _)| i + 1))
        .collect();
    let line = |l: usize| {
        let s = starts[l % starts.len()];
        let end = text[s..].find('\n').map_or(text.len(), |i| s + i);
        (s, end)
    };
    // Column 0 half the time: the line's first byte is where a container
    // marker sits.
    let at = |l: usize, col: usize| {
        let (s, end) = line(l);
        let col = if col.is_multiple_of(2) {
            0
        } else {
            col / 2 % (end - s + 1)
        };
        boundary(text, s + col)
    };
    match *e {
        LineEdit::Insert { line, col, piece } => {
            let p = at(line, col);
            (p..p, PIECES[piece])
        }
        LineEdit::Delete { line, col, len } => {
            let p = at(line, col);
            (p..boundary(text, p + len), "")
        }
        LineEdit::DeleteLine { line: l } => {
            let (s, end) = line(l);
            (s..(end + 1).min(text.len()), "")
        }
        LineEdit::DeleteToEnd { line, col } => (at(line, col)..text.len(), ""),
    }
}

/// Every fixture, LF and CRLF, under edits placed by line: after each
/// analysis the document's headings, plan and findings are a fresh parse's.
#[test]
fn incremental_edits_on_every_fixture_equal_a_fresh_parse() {
    let config = Config::default();
    let cases = std::env::var("OKSTRA_PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse::<u32>().ok())
        .map_or(2, |n| (n / 32).max(1));
    let texts = fixture_texts();
    assert!(texts.len() > 100, "fixtures found: {}", texts.len());
    for (name, lf) in texts {
        let crlf = lf.replace("\r\n", "\n").replace('\n', "\r\n");
        for base in [lf, crlf] {
            runner(cases)
                .run(
                    &proptest::collection::vec(line_edit_strategy(), 1..6),
                    |edits| {
                        let mut doc = Document::new(base.clone(), &config);
                        let mut shadow = base.clone();
                        for e in &edits {
                            let (range, new) = place(e, &shadow);
                            doc.edit(range.clone(), new);
                            shadow.replace_range(range, new);
                            doc.reanalyze(&config);
                            prop_assert_eq!(
                                doc.headings().to_vec(),
                                headings_of(&shadow),
                                "after {:?}",
                                e
                            );
                            let diff = first_diff(doc.plan(), &model::parse(&shadow, &config));
                            prop_assert!(
                                diff.is_none(),
                                "after {:?}: {}",
                                e,
                                diff.unwrap_or_default()
                            );
                            let expected = okstra_lsp::analyze(&shadow, &config);
                            prop_assert_eq!(doc.findings(), expected.as_slice(), "after {:?}", e);
                        }
                        prop_assert_eq!(doc.text(), shadow.as_str());
                        Ok(())
                    },
                )
                .unwrap_or_else(|e| panic!("{name}: {e}"));
        }
    }
}

fn s9_and_cycles(text: &str, config: &Config) -> Vec<rules::Finding> {
    okstra_lsp::analyze(text, config)
        .into_iter()
        .filter(|f| f.code == "s9-file-overlap" || f.code == "depends-on-cycle")
        .collect()
}

#[test]
fn fixing_every_s9_overlap_converges() {
    let config = Config::default();
    let mut runner = runner(48);
    runner
        .run(
            &(
                2usize..14,
                2usize..5,
                any::<u64>(),
                proptest::collection::vec(any::<bool>(), 40),
            ),
            |(n, every, seed, choices)| {
                let mut text = generate::plan(&Spec {
                    seed,
                    overlap_every: every,
                    ..Spec::clean(n)
                });
                let mut choices = choices.into_iter().cycle();
                for _round in 0..60 {
                    let plan = model::parse(&text, &config);
                    let findings = rules::check(&text, &plan, &config);
                    let Some(s9) = findings.iter().find(|f| f.code == "s9-file-overlap") else {
                        break;
                    };
                    let ctx = FixContext::new(&text, &plan, &config);
                    let offered: Vec<fixes::Fix> = fixes::repairs_for(&ctx, s9)
                        .into_iter()
                        .filter(|f| f.disabled.is_none())
                        .collect();
                    prop_assert!(!offered.is_empty(), "no enabled fix for {:?}", s9.message);
                    let pick = if choices.next().unwrap_or(false) {
                        offered.len() - 1
                    } else {
                        0
                    };
                    let next = fixes::apply(&text, &offered[pick].edits);
                    let errors_before = findings
                        .iter()
                        .filter(|f| f.severity == rules::Severity::Error)
                        .count();
                    let after = okstra_lsp::analyze(&next, &config);
                    let errors_after = after
                        .iter()
                        .filter(|f| f.severity == rules::Severity::Error)
                        .count();
                    prop_assert!(
                        errors_after < errors_before,
                        "{} did not reduce the errors ({errors_before} -> {errors_after}): {:?}",
                        offered[pick].title,
                        after
                            .iter()
                            .map(|f| (f.code, f.message.clone()))
                            .collect::<Vec<_>>()
                    );
                    text = next;
                }
                prop_assert!(
                    s9_and_cycles(&text, &config).is_empty(),
                    "left: {:?}",
                    s9_and_cycles(&text, &config)
                );
                Ok(())
            },
        )
        .unwrap();
}

/// The incremental path touches only the changed stage: a one-character
/// edit inside stage K of a 1,000-stage plan parses one outline chunk (a few
/// hundred bytes of its 631 KB) and re-derives one stage.
#[test]
fn one_keystroke_rederives_one_stage() {
    let config = Config::default();
    let text = generate::plan(&Spec::clean(1000));
    let mut doc = Document::new(text.clone(), &config);
    assert!(doc.stats().full_rebuild);
    for (k, needle) in [
        (500, "| 2 | change part 2 of module 500 |"),
        (999, "- post: `cargo test m999` passes"),
    ] {
        let at = text.find(needle).expect("generated text") + 4;
        let offset = doc.text().find(needle).map_or(at, |i| i + 4);
        doc.edit(offset..offset, "x");
        doc.reanalyze(&config);
        let stats = doc.stats();
        assert!(!stats.full_rebuild, "stage {k}: {stats:?}");
        assert_eq!(stats.stages_rederived, 1, "stage {k}: {stats:?}");
        assert!(stats.review_kept, "stage {k}: {stats:?}");
        assert!(stats.map_kept, "stage {k}: {stats:?}");
        // A step-table cell: that row alone is read again, no chunk.
        assert!(stats.chunks_reparsed <= 1, "stage {k}: {stats:?}");
        assert!(stats.bytes_reparsed < 1024, "stage {k}: {stats:?}");
        assert_eq!(doc.plan(), &model::parse(doc.text(), &config));
    }
    // A cell of the Stage Map: no stage section is re-derived.
    let offset = doc
        .text()
        .find("| 700 | Stage title 700 |")
        .map_or(0, |i| i + 8);
    doc.edit(offset..offset, "y");
    doc.reanalyze(&config);
    assert_eq!(doc.stats().stages_rederived, 0, "{:?}", doc.stats());
    // The Stage Map rules read that row: they run again.
    assert!(!doc.stats().map_kept, "{:?}", doc.stats());
    assert!(doc.stats().review_kept, "{:?}", doc.stats());
    assert_eq!(doc.plan(), &model::parse(doc.text(), &config));
}

/// A keystroke that changes no finding leaves the last analysis's findings
/// as they were, moved (no copy, sort or bound of them again); one that
/// changes a finding, or whose text holds a suppression comment, finds them
/// all again. Either way they are what a fresh check finds.
#[test]
fn a_keystroke_that_changes_no_finding_moves_the_findings() {
    let config = Config::default();
    let text = generate::plan(&Spec {
        cycle: true,
        overlap_every: 3,
        over_cap_every: 4,
        orphan_ref: true,
        ..Spec::clean(200)
    });
    let mut doc = Document::new(text, &config);
    assert!(doc.findings().len() > 50, "{}", doc.findings().len());
    let fresh = |doc: &Document| okstra_lsp::analyze(doc.text(), &config);
    // Typing and deleting in a Validation item of stage 150.
    let at = doc
        .text()
        .find("- post: `cargo test m150`")
        .expect("generated")
        + 6;
    for (range, new) in [(at..at, "x"), (at..at + 1, "")] {
        doc.edit(range, new);
        doc.reanalyze(&config);
        assert!(doc.stats().findings_moved, "{:?}", doc.stats());
        assert_eq!(doc.findings(), fresh(&doc).as_slice());
    }
    // A step row more in stage 8 (over the cap already) changes what
    // steps-over-cap and step-count-mismatch say.
    let row = doc
        .text()
        .find("| 1 | change part 1 of module 8 |")
        .expect("generated");
    doc.edit(row..row, "| 9 | one more | `src/m8/x.rs` | `true` | ok |\n");
    doc.reanalyze(&config);
    assert!(!doc.stats().findings_moved, "{:?}", doc.stats());
    assert_eq!(doc.findings(), fresh(&doc).as_slice());
    // A suppression comment in the text: its findings go through it again.
    let end = doc.text().len();
    doc.edit(
        end..end,
        "\n<!-- okstra-lsp-disable-next-line steps-over-cap -->\n",
    );
    doc.reanalyze(&config);
    let at = doc
        .text()
        .find("- post: `cargo test m150`")
        .expect("generated")
        + 6;
    doc.edit(at..at, "y");
    doc.reanalyze(&config);
    assert!(!doc.stats().findings_moved, "{:?}", doc.stats());
    assert_eq!(doc.findings(), fresh(&doc).as_slice());
}

/// A keystroke on a heading re-derives the stages around it (its own and
/// the one before it, up to the next stage's heading), not the whole plan: typing in a stage's title,
/// in a subsection heading, breaking a stage heading into a plain one (its
/// section joins the stage before) and making it a stage heading again.
#[test]
fn a_heading_keystroke_rederives_the_stages_around_it() {
    let config = Config::default();
    let text = generate::plan(&Spec::clean(1000));
    let mut doc = Document::new(text, &config);
    let edits = [
        // (needle, offset in it, inserted text, sections the run then holds)
        ("### 4.5.500 Stage 500 — Stage title 500", 30, "x", 2),
        (
            "### 4.5.501 Stage 501 — Stage title 501\n\n#### Stepwise",
            50,
            "y",
            2,
        ),
        (
            "#### Stage Validation\n- pre: `cargo test` green\n- post: `cargo test m700`",
            8,
            "z",
            2,
        ),
        // "Stage 300" becomes "Stagex 300": a plain heading inside stage 299.
        ("### 4.5.300 Stage 300 —", 17, "x", 1),
    ];
    for (needle, at, insert, sections) in edits {
        let offset = doc.text().find(needle).expect("generated text") + at;
        doc.edit(offset..offset, insert);
        doc.reanalyze(&config);
        let stats = doc.stats();
        assert!(!stats.full_rebuild, "{needle}: {stats:?}");
        assert_eq!(stats.stages_rederived, sections, "{needle}: {stats:?}");
        assert!(!stats.map_kept, "{needle}: {stats:?}");
        assert_eq!(doc.plan(), &model::parse(doc.text(), &config), "{needle}");
        assert_eq!(
            doc.findings(),
            okstra_lsp::analyze(doc.text(), &config).as_slice()
        );
    }
    // A subsection heading broken (`#x###`) and mended: the second edit
    // makes a heading where the document had none.
    let at = doc
        .text()
        .find("#### Stage Validation\n- pre: `cargo test` green\n- post: `cargo test m600`")
        .expect("generated text")
        + 1;
    for (range, text) in [(at..at, "x"), (at..at + 1, "")] {
        doc.edit(range, text);
        doc.reanalyze(&config);
        let stats = doc.stats();
        assert!(!stats.full_rebuild, "{stats:?}");
        assert_eq!(stats.stages_rederived, 2, "{stats:?}");
        assert_eq!(doc.plan(), &model::parse(doc.text(), &config));
    }
    // And back: the broken heading is a stage heading again (the run was
    // stages 298 and 299, which held 300; it now holds the three).
    let offset = doc.text().find("Stagex 300").expect("edited text") + "Stage".len();
    doc.edit(offset..offset + 1, "");
    doc.reanalyze(&config);
    let stats = doc.stats();
    assert!(!stats.full_rebuild, "{stats:?}");
    assert_eq!(stats.stages_rederived, 3, "{stats:?}");
    assert_eq!(doc.plan(), &model::parse(doc.text(), &config));
    assert_eq!(doc.plan().stages.len(), 1000);
}

/// Found by the second review: an Open Questions heading between two stage
/// sections, broken by a keystroke, must leave the plan (the stage run
/// around it was re-derived, but the heading lived outside the stages).
#[test]
fn a_part_heading_between_stages_broken_by_a_keystroke_leaves_the_plan() {
    let config = Config::default();
    let base = generate::plan(&Spec::clean(6));
    let at = base.find("### 4.5.3 ").expect("stage 3 heading");
    let text = format!(
        "{}### Open Questions\n\n- none yet\n\n{}",
        &base[..at],
        &base[at..]
    );
    let mut doc = Document::new(text.clone(), &config);
    assert_eq!(doc.plan().open_questions.len(), 1);
    let heading = doc.text().find("### Open Questions").expect("the heading") + 1;
    for (range, piece) in [(heading..heading, "x"), (heading..heading + 1, "")] {
        doc.edit(range, piece);
        doc.reanalyze(&config);
        let diff = first_diff(doc.plan(), &model::parse(doc.text(), &config));
        assert!(diff.is_none(), "{}", diff.unwrap_or_default());
        assert_eq!(
            doc.findings(),
            okstra_lsp::analyze(doc.text(), &config).as_slice()
        );
    }
}

/// Found by the fuzz target: a stage heading damaged into a plain heading
/// (`### 4.5\t.1 …`) stays inside the Stage Map's scope, so when the map's
/// own table is then broken the model takes the next table in that scope;
/// the one-part fast path must re-derive the same scope.
#[test]
fn damaged_stage_heading_stays_in_the_stage_map_scope() {
    let config = Config::default();
    let base = generate::plan(&Spec {
        overlap_every: 3,
        over_cap_every: 5,
        ..Spec::clean(2)
    });
    let mut doc = Document::new(base.clone(), &config);
    let mut shadow = base;
    let heading = shadow.find("### 4.5.1 ").expect("stage 1 heading") + "### 4.5".len();
    doc.edit(heading..heading, "\t");
    shadow.insert(heading, '\t');
    doc.reanalyze(&config);
    // Cut from the header's last cells into the first data row: no
    // delimiter row is left, so the map's table is gone.
    let from = shadow.find("-on | Steps |").expect("map header");
    let to = shadow.find("| 1 | Stage tit").expect("first map row") + "| 1 | Stage tit".len();
    doc.edit(from..to, "");
    shadow.replace_range(from..to, "");
    doc.reanalyze(&config);
    let diff = first_diff(doc.plan(), &model::parse(&shadow, &config));
    assert!(diff.is_none(), "{}", diff.unwrap_or_default());
    assert_eq!(
        doc.findings(),
        okstra_lsp::analyze(&shadow, &config).as_slice()
    );
}

/// Found by the fuzz target: deleting the end of the document so that it
/// ends in blanks must end the last stage's section where a fresh parse
/// does, at the last non-blank byte.
#[test]
fn deleting_the_end_leaves_the_last_section_at_the_last_non_blank() {
    let config = Config::default();
    let base = "## 4.5 Stage Map\n\n| Stage | Title | depends-on | Steps |\n|---|---|---|---|\n| 1 | a | (none) | 1 |\n\n### 4.5.1 Stage 1 — a\n\nsome words here and more";
    let mut doc = Document::new(base.to_string(), &config);
    let cut = base.find("here").expect("the words");
    doc.edit(cut..base.len(), "");
    doc.reanalyze(&config);
    let shadow = &base[..cut];
    let diff = first_diff(doc.plan(), &model::parse(shadow, &config));
    assert!(diff.is_none(), "{}", diff.unwrap_or_default());
    assert!(!doc.stats().full_rebuild, "the fast path was taken");
}

/// Found by the fuzz target: a heading on the last line, without its line
/// break, is a heading after the text before it but nothing when parsed
/// alone, so it must not start a chunk (on open, and after an edit that
/// cuts the document there).
#[test]
fn a_heading_at_the_end_without_a_line_break_stays_in_its_chunk() {
    let config = Config::default();
    let src = "# A\n\ntext\n\n## 5";
    let whole = syntax::outline(&syntax::parse_blocks(src, None), src);
    // The heading, the paragraph and the heading.
    assert_eq!(whole.len(), 3);
    assert_eq!(Outline::parse(src).to_vec(), whole);
    let base = "# A\n\ntext\n\n## 5. Clarification Items\n| ID | x |\n|---|---|\n";
    let mut doc = Document::new(base.to_string(), &config);
    doc.edit(src.len()..base.len(), "");
    assert_eq!(doc.outline().to_vec(), whole);
}

/// Found by the fuzz target: an edit in text that holds no block (here an
/// unclosed HTML comment at the end of the last stage) that cuts the end of
/// the document away leaves the last stage's section ending at the last
/// non-blank byte.
#[test]
fn cutting_the_end_inside_an_html_block_ends_the_last_section_right() {
    let config = Config::default();
    let base = "## 4.5 Stage Map\n\n| Stage | Title | depends-on | Steps |\n|---|---|---|---|\n| 1 | a | (none) | 1 |\n\n### 4.5.1 Stage 1 — a\n\n<!--\nnotes\nmore notes here\n";
    let mut doc = Document::new(base.to_string(), &config);
    let cut = base.find("more notes").expect("the last line");
    doc.edit(cut..base.len(), "");
    doc.reanalyze(&config);
    let shadow = &base[..cut];
    let diff = first_diff(doc.plan(), &model::parse(shadow, &config));
    assert!(diff.is_none(), "{}", diff.unwrap_or_default());
}

/// Found by the review of the fourth session: a keystroke that made a
/// table row a delimiter row (the line above it a header, so a table of its
/// own) was read as a row of the old table.
#[test]
fn a_row_edited_into_a_delimiter_row_starts_a_table() {
    let config = Config::default();
    let text = "# Stage Map\ne||||Stage||\n-|||||-\np|||| |\n-|-|-|-|가-\n";
    let mut doc = Document::new(text.to_string(), &config);
    let at = text.find('가').expect("in the text");
    doc.edit(at..at + '가'.len_utf8(), "");
    doc.reanalyze(&config);
    assert_eq!(doc.plan(), &model::parse(doc.text(), &config));
    assert_eq!(
        doc.findings(),
        okstra_lsp::analyze(doc.text(), &config).as_slice()
    );
}
