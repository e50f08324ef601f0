//! `s9-file-overlap` (error): okstra check S9. Two stages that are both
//! `depends-on (none)` predict the same normalised path string in their Stage
//! Exit Contracts.
//!
//! Why: both are ready at once, so two parallel implementation runs would edit
//! the same files concurrently (okstra's parallel-safety invariant). S9
//! compares exact strings; overlaps only through a folder or a glob are
//! `s9-possible-overlap` warnings.
//! Fix: merge the two stages, or order them with a depends-on link (both are
//! offered as quick fixes).

use super::{Context, Finding, Rule, Severity};

pub(crate) const RULE: Rule = Rule {
    code: "s9-file-overlap",
    severity: Severity::Error,
    summary: "two stages that are both `depends-on (none)` predict the same path (okstra check S9)",
    check,
};

fn check(ctx: &Context, out: &mut Vec<Finding>) {
    for overlap in ctx.overlaps() {
        let (a, b) = (overlap.a, overlap.b);
        if ctx.is_root(a) && ctx.is_root(b) && overlap.is_exact() {
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

    #[test]
    fn ordered_stages_do_not_fire() {
        assert!(run(&super::RULE, &plan("1", "`src/a.rs`", "`src/a.rs`")).is_empty());
        assert!(run(&super::RULE, &plan("(none)", "`src/a.rs`", "`src/ab.rs`")).is_empty());
    }
}
