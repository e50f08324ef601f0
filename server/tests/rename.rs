//! Property tests of rename and renumber on generated plans:
//! - renaming a stage to a free number and back gives the original text;
//! - after a rename the old number has no mention left, and the new one has
//!   exactly the mentions (same lines, same count) the old one had;
//! - `check` reports the same findings (code and line) before and after a
//!   rename or a renumber;
//! - renumbering is idempotent and restores a plan whose numbers were
//!   shuffled.

use std::collections::BTreeMap;

use okstra_lsp::check::fixes::{apply, renumber};
use okstra_lsp::engine::generate::{self, Spec};
use okstra_lsp::plan::config::Config;
use okstra_lsp::plan::model;
use proptest::prelude::*;

mod common;
use common::runner;

fn line_of(text: &str, at: usize) -> usize {
    text[..at].matches('\n').count()
}

/// The lines of the mentions of stage `n`, in order.
fn mention_lines(text: &str, n: u32) -> Vec<usize> {
    let plan = model::parse(text, &Config::default());
    renumber::stage_mentions(text, &plan)
        .into_iter()
        .filter(|m| m.stage == n)
        .map(|m| line_of(text, m.digits.start))
        .collect()
}

/// (code, line) of every finding.
fn findings(text: &str) -> Vec<(&'static str, usize)> {
    let mut out: Vec<_> = okstra_lsp::analyze(text, &Config::default())
        .into_iter()
        .map(|f| (f.code, line_of(text, f.range.start)))
        .collect();
    out.sort();
    out
}

fn base(seed: u64, stages: usize) -> String {
    generate::plan(&Spec {
        seed,
        overlap_every: 4,
        cycle: stages >= 3,
        over_cap_every: 5,
        orphan_ref: true,
        ..Spec::clean(stages)
    })
}

#[test]
fn rename_to_a_free_number_and_back_is_the_identity() {
    let config = Config::default();
    let cases = std::env::var("OKSTRA_PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(48);
    runner(cases)
        .run(
            &(
                any::<u64>(),
                1usize..14,
                any::<usize>(),
                1u32..200,
                any::<bool>(),
            ),
            |(seed, stages, pick, offset, crlf)| {
                // Only digits change: CRLF plans keep their line endings.
                let text = if crlf {
                    base(seed, stages).replace('\n', "\r\n")
                } else {
                    base(seed, stages)
                };
                let plan = model::parse(&text, &config);
                let from = plan.stages[pick % plan.stages.len()].number;
                let to = stages as u32 + offset;
                let before = mention_lines(&text, from);
                prop_assert!(!before.is_empty());
                prop_assert!(mention_lines(&text, to).is_empty());

                let edits = renumber::rename_stage(&text, &plan, from, to).unwrap();
                let renamed = apply(&text, &edits);
                prop_assert!(mention_lines(&renamed, from).is_empty(), "{from} left");
                prop_assert_eq!(renamed.matches('\n').count(), text.matches('\n').count());
                prop_assert_eq!(renamed.matches('\r').count(), text.matches('\r').count());
                prop_assert_eq!(mention_lines(&renamed, to), before);
                prop_assert_eq!(findings(&renamed), findings(&text));

                let back_plan = model::parse(&renamed, &config);
                let back = renumber::rename_stage(&renamed, &back_plan, to, from).unwrap();
                prop_assert_eq!(apply(&renamed, &back), text);
                Ok(())
            },
        )
        .unwrap();
}

#[test]
fn renumber_restores_shuffled_numbers_and_is_idempotent() {
    let config = Config::default();
    runner(32)
        .run(
            &(any::<u64>(), 2usize..14, any::<u64>()),
            |(seed, stages, shuffle)| {
                let text = base(seed, stages);
                let plan = model::parse(&text, &config);
                prop_assert!(renumber::renumber(&text, &plan).unwrap().is_empty());
                // A permutation of 1..=n onto free numbers n+1.. (rotated).
                let n = stages as u32;
                let k = (shuffle % u64::from(n)) as u32;
                let mapping: BTreeMap<u32, u32> =
                    (1..=n).map(|i| (i, n + 1 + (i + k) % n)).collect();
                let shuffled = apply(&text, &renumber::stage_edits(&text, &plan, &mapping));
                prop_assert_ne!(&shuffled, &text);
                prop_assert_eq!(findings(&shuffled), findings(&text));
                let shuffled_plan = model::parse(&shuffled, &config);
                let once = apply(
                    &shuffled,
                    &renumber::renumber(&shuffled, &shuffled_plan).unwrap(),
                );
                prop_assert_eq!(&once, &text);
                let again = renumber::renumber(&once, &model::parse(&once, &config)).unwrap();
                prop_assert!(again.is_empty());
                Ok(())
            },
        )
        .unwrap();
}
