//! ## What it checks
//!
//! okstra's check S9: two stages that are both `depends-on (none)` predict the same
//! path in their Stage Exit Contracts. Paths are compared as normalised strings (a
//! leading `./` removed, `\` → `/`, doubled `/` collapsed), and only identical strings
//! count, whatever the path's kind: `src/lib.rs` and `./src/lib.rs` are the same path,
//! and so are `src/` and `src/`, or `app/[id]/page.tsx` twice ([plan-format
//! §2.12](../plan-format.md#212-when-two-predicted-paths-overlap)).
//!
//! Paths that are not identical but overlap through a folder (`src/` and
//! `src/lib.rs`) or a glob (`src/*.rs` and `src/lib.rs`) are not S9's: they are
//! [`s9-possible-overlap`](s9-possible-overlap.md) warnings, because okstra's S9
//! compares exact strings and would not reject them.
//!
//! Each stage that shares a path with earlier roots is reported against the nearest
//! of them, per shared path, on its first shared path: three roots that all predict
//! `Cargo.toml` give two findings (1–2 and 2–3), n roots give n − 1, not n(n − 1)/2.
//! Ordering or merging the reported pair brings up whatever pair is left. The message
//! names both stages and every path they share, and the earlier stage's paths and
//! heading are related information.
//!
//! ## Why it matters in okstra
//!
//! okstra's parallel-safety invariant (BLOCKING, in its implementation-planning
//! profile; [plan-format §3](../plan-format.md#3-rules-and-their-diagnostic-codes)): two `depends-on (none)` stages are ready at the same
//! moment, so two parallel implementation runs would edit the same files concurrently.
//! okstra's validator rejects such a plan (check S9); work that touches a shared file
//! goes in one stage or is ordered with `depends-on`.
//!
//! ## How to fix
//!
//! Merge the two stages, or make one depend on the other.
//!
//! **Code actions:** Offered on the finding ([plan-format §4](../plan-format.md#4-code-actions)); all involve a choice, so
//! `okstra-lsp fix` applies none of them:
//!
//! - **Merge stage B into stage A**: one step table with B's steps renumbered after
//!   A's, the union of predicted files and validation items, the union of depends-on,
//!   B's section and Stage Map row removed, every depends-on that named B now naming
//!   A. Preferred when the merged stage fits the cap; offered disabled, with the
//!   reason, when it would exceed the cap or close a cycle.
//! - **Make stage B depend on stage A** and **Make stage A depend on stage B**, each
//!   only when it keeps the graph acyclic; edits the Stage Map cell (`(none)` becomes
//!   `A`, otherwise `, A` is appended).

use super::{Context, Finding, Reads, Rule, Severity};

pub(crate) const RULE: Rule = Rule {
    code: "s9-file-overlap",
    severity: Severity::Error,
    summary: "two stages that are both `depends-on (none)` predict the same normalised path (okstra check S9)",
    source: "okstra (S9)",
    reads: Reads::Plan,
    check,
    fix: Some(crate::check::fixes::overlap_repairs),
};

fn check(ctx: &Context, out: &mut Vec<Finding>) {
    for overlap in ctx.overlaps() {
        let (a, b) = (overlap.a, overlap.b);
        if super::parallel_file_overlap::overlap_code(ctx.plan, ctx.graph(), overlap)
            == Some(RULE.code)
        {
            // Only the identical strings: those are what S9 rejects.
            out.push(super::parallel_file_overlap::report(
                ctx,
                &RULE,
                overlap,
                true,
                |shared| {
                    format!(
                        "stages {a} and {b} are both `depends-on (none)`, so they can run in parallel, but both predict {shared}: merge them, or make one depend on the other (okstra check S9)"
                    )
                },
            ));
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use crate::check::rules::test_support::run;

    pub(crate) fn plan(dep2: &str, files1: &str, files2: &str) -> String {
        format!(
            "## Stage Map\n| Stage | Title | depends-on | Steps |\n|---|---|---|---|\n| 1 | a | (none) | 0 |\n| 2 | b | {dep2} | 0 |\n| 3 | c | (none) | 0 |\n\
             ### Stage 1: a\n#### Stage Exit Contract\n- Predicted files: {files1}\n\
             ### Stage 2: b\n#### Stage Exit Contract\n- Predicted files: {files2}\n\
             ### Stage 3: c\n#### Stage Exit Contract\n- Predicted files: `other/`\n"
        )
    }

    #[test]
    fn roots_sharing_a_file() {
        let hits = run(
            &super::RULE,
            &plan("(none)", "`src/a.rs`, `src/b.rs`", "`./src/a.rs`"),
        );
        assert_eq!(hits.len(), 1);
        assert_eq!(hits[0].0, "./src/a.rs");
        assert!(hits[0].1.contains("stages 1 and 2"), "{}", hits[0].1);
        assert!(hits[0].1.contains("`src/a.rs`"), "{}", hits[0].1);
    }

    #[test]
    fn identical_strings_of_any_kind() {
        for same in ["`src/`", "`app/[id]/page.tsx`", "`src/*.rs`", "`Makefile`"] {
            let hits = run(&super::RULE, &plan("(none)", same, same));
            assert_eq!(hits.len(), 1, "{same}");
        }
    }

    #[test]
    fn folders_and_globs_alone_are_the_warning() {
        for (one, two) in [
            ("`src/`", "`src/x/y.rs`"),
            ("`src/*.rs`", "`src/y.rs`"),
            ("`src/{a,b}.rs`", "`src/a.rs`"),
            ("`src`", "`src/`"),
        ] {
            assert!(
                run(&super::RULE, &plan("(none)", one, two)).is_empty(),
                "{one} {two}"
            );
        }
    }

    #[test]
    fn names_only_the_identical_paths() {
        let hits = run(
            &super::RULE,
            &plan("(none)", "`docs/`, `src/a.rs`", "`docs/x.md`, `src/a.rs`"),
        );
        assert_eq!(hits.len(), 1);
        assert_eq!(hits[0].0, "src/a.rs");
        assert!(
            hits[0].1.contains("both predict `src/a.rs`:"),
            "{}",
            hits[0].1
        );
        assert!(!hits[0].1.contains("docs"), "{}", hits[0].1);
    }

    /// A nearer root whose glob only overlaps does not hide an earlier root
    /// with the identical glob: S9 compares exact strings.
    #[test]
    fn an_identical_glob_behind_a_nearer_overlapping_one() {
        let src = "## Stage Map\n| Stage | Title | depends-on | Steps |\n|---|---|---|---|\n| 1 | a | (none) | 0 |\n| 2 | b | (none) | 0 |\n| 3 | c | (none) | 0 |\n\
             ### Stage 1: a\n#### Stage Exit Contract\n- Predicted files: `app/[id]/page.tsx`\n\
             ### Stage 2: b\n#### Stage Exit Contract\n- Predicted files: `app/[slug]/page.tsx`\n\
             ### Stage 3: c\n#### Stage Exit Contract\n- Predicted files: `app/[id]/page.tsx`\n";
        let hits = run(&super::RULE, src);
        assert_eq!(hits.len(), 1, "{hits:?}");
        assert!(hits[0].1.contains("stages 1 and 3"), "{}", hits[0].1);
    }

    #[test]
    fn ordered_stages_do_not_fire() {
        assert!(run(&super::RULE, &plan("1", "`src/a.rs`", "`src/a.rs`")).is_empty());
        assert!(run(&super::RULE, &plan("(none)", "`src/a.rs`", "`src/ab.rs`")).is_empty());
    }
}
