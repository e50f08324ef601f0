//! ## What it checks
//!
//! Two stages that are both `depends-on (none)` predict overlapping paths, but no
//! identical path string (that would be [`s9-file-overlap`](s9-file-overlap.md)).
//! The overlap comes from a folder or a glob (plan-format §2 "Overlap"):
//!
//! - a folder (a path ending in `/`) overlaps every path under it: `docs/` and
//!   `docs/guide.md`; `src` written as a file and `src/` as a folder are the same
//!   place;
//! - a glob (a path with `*`, `?`, `[` or brace alternatives) overlaps the files it
//!   matches (`src/*.rs` and `src/lib.rs`; `src/{a,b}.rs` and `src/a.rs`) and the
//!   folders it could match something under (`src/*.rs` and `src/`);
//! - two globs overlap when some path could match both, decided segment by segment:
//!   `**` matches any run of segments, and two segments can match a common name
//!   when their literal prefixes and suffixes are compatible (`*.ts` and `*.sql`
//!   cannot, `a*` and `*b` can). What this cannot settle counts as no overlap.
//!
//! Each root stage is reported against the nearest earlier root it overlaps, per
//! overlapping path (as [`s9-file-overlap`](s9-file-overlap.md) is), on its first
//! overlapping path; the message names both stages and every overlapping pair of paths (`` `docs/` /
//! `docs/guide.md` ``), and the earlier stage's paths and heading are related
//! information.
//!
//! ## Why it matters in okstra
//!
//! okstra's check S9 compares the predicted paths of `depends-on (none)` stages as
//! exact strings, so it passes such a plan. Yet both stages are ready at the same
//! moment, and a stage that predicts a whole folder may well edit the file the other
//! stage predicts inside it: the hazard S9 guards against may still be real. It is a
//! warning because okstra accepts the plan and the paths may never collide (a glob that
//! in practice matches none of the other stage's files).
//!
//! ## How to fix
//!
//! Merge the two stages, or make one depend on the other; or name the files instead of
//! the folder when the stages really touch different ones (`src/limits/redis.rs`
//! here), which leaves nothing to warn about.
//!
//! **Code actions:** Offered on the finding (plan-format §4), the same as for
//! `s9-file-overlap`; all involve a choice, so `okstra-lsp fix` applies none of them:
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
    code: "s9-possible-overlap",
    severity: Severity::Warning,
    summary: "two `depends-on (none)` stages overlap only through a folder or a glob, which S9's exact comparison misses",
    source: "checker",
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
            out.push(super::parallel_file_overlap::report(
                ctx,
                &RULE,
                overlap,
                false,
                |shared| {
                    format!(
                        "stages {a} and {b} are both `depends-on (none)`, so they can run in parallel, and their predicted paths overlap through a folder or glob: {shared}. okstra's check S9 compares exact path strings and does not flag this, but the hazard may still be real: merge them, or make one depend on the other"
                    )
                },
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::check::rules::s9_file_overlap::tests::plan;
    use crate::check::rules::test_support::run;

    #[test]
    fn folders_and_globs_between_roots() {
        for (one, two) in [
            ("`src/`", "`src/x/y.rs`"),
            ("`src/x/y.rs`", "`src/`"),
            ("`src/*.rs`", "`src/y.rs`"),
            ("`src/{a,b}.rs`", "`src/a.rs`"),
            ("`src/**`", "`src/x/`"),
            ("`a*`", "`*b`"),
            ("`src`", "`src/`"),
        ] {
            let hits = run(&super::RULE, &plan("(none)", one, two));
            assert_eq!(hits.len(), 1, "{one} {two}");
            assert!(hits[0].1.contains("stages 1 and 2"), "{}", hits[0].1);
            assert!(
                hits[0].1.contains(&format!("{one} / {two}")),
                "{}",
                hits[0].1
            );
            assert!(hits[0].1.contains("exact path strings"), "{}", hits[0].1);
        }
    }

    #[test]
    fn silent_when_s9_fires_or_nothing_overlaps() {
        // An identical path: s9-file-overlap's, even with a folder overlap too.
        assert!(
            run(
                &super::RULE,
                &plan("(none)", "`docs/`, `src/a.rs`", "`docs/x.md`, `src/a.rs`")
            )
            .is_empty()
        );
        for (one, two) in [
            ("`src/*.ts`", "`src/*.sql`"),
            ("`src/*.rs`", "`src/x/y.rs`"),
            ("`docs/*.md`", "`docs/admin/`"),
            ("`docs/admin/`", "`docs/administration.md`"),
        ] {
            assert!(
                run(&super::RULE, &plan("(none)", one, two)).is_empty(),
                "{one} {two}"
            );
        }
    }

    #[test]
    fn merge_and_depends_on_fixes_are_offered_and_repair_it() {
        use crate::check::fixes::test_support::{apply_and_check, ctx_fixes};
        let src = plan("(none)", "`src/`", "`src/a.rs`");
        let fixes = ctx_fixes(&src, "s9-possible-overlap");
        let titles: Vec<&str> = fixes.iter().map(|f| f.title.as_str()).collect();
        assert!(
            titles
                .iter()
                .any(|t| t.starts_with("Merge stage 2 into stage 1")),
            "{titles:?}"
        );
        assert!(
            titles.contains(&"Make stage 2 depend on stage 1"),
            "{titles:?}"
        );
        assert!(
            titles.contains(&"Make stage 1 depend on stage 2"),
            "{titles:?}"
        );
        for f in fixes.iter().filter(|f| f.disabled.is_none()) {
            let (out, codes) = apply_and_check(&src, f);
            assert!(
                !codes.iter().any(|c| c.contains("overlap")),
                "{}: {codes:?}\n{out}",
                f.title
            );
        }
    }

    #[test]
    fn ordered_stages_do_not_fire() {
        assert!(run(&super::RULE, &plan("1", "`src/`", "`src/a.rs`")).is_empty());
    }
}
