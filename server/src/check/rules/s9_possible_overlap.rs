//! `s9-possible-overlap` (warning): two stages that are both `depends-on
//! (none)` predict overlapping paths only through a folder or a glob
//! (`docs/` and `docs/guide.md`, `src/*.rs` and `src/lib.rs`), never the
//! same string.
//!
//! Why: okstra's check S9 compares exact path strings, so it passes such a
//! plan, but both stages are ready at once and two parallel runs may still
//! edit the same files.
//! Fix: merge the two stages, or order them with a depends-on link (both are
//! offered as quick fixes); or name the files instead of the folder or glob
//! when the stages really touch different ones.

use super::{Context, Finding, Rule, Severity};

pub(crate) const RULE: Rule = Rule {
    code: "s9-possible-overlap",
    severity: Severity::Warning,
    summary: "two `depends-on (none)` stages overlap only through a folder or a glob, which S9's exact comparison misses",
    check,
};

fn check(ctx: &Context, out: &mut Vec<Finding>) {
    for overlap in ctx.overlaps() {
        let (a, b) = (overlap.a, overlap.b);
        if ctx.is_root(a) && ctx.is_root(b) && !overlap.is_exact() {
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
