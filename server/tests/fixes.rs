//! Every quick fix, applied to plans in every layout the format allows
//! (nested and flat headings, LF and CRLF, English and Korean), must remove
//! the diagnostic it targets without bringing a new error, and keep the
//! document's line endings.

use std::collections::BTreeSet;

use okstra_lsp::config::Config;
use okstra_lsp::fixes::{self, FixContext};
use okstra_lsp::generate::{self, Spec};
use okstra_lsp::rules::{Finding, Severity};
use okstra_lsp::{analyze, model, rules};

#[derive(Debug, Clone, Copy)]
struct Variant {
    flat: bool,
    crlf: bool,
    korean: bool,
}

fn variants() -> Vec<Variant> {
    let mut out = Vec::new();
    for flat in [false, true] {
        for crlf in [false, true] {
            for korean in [false, true] {
                out.push(Variant { flat, crlf, korean });
            }
        }
    }
    out
}

fn render(base: &str, v: Variant) -> String {
    let mut s = base.to_string();
    if v.flat {
        // Subsections at the stage heading's own level (plan-format §2).
        s = s.replace("#### ", "### ");
    }
    if v.korean {
        s = s
            .replace("Predicted added/modified files", "추가/변경된 파일 (예측)")
            .replace("Stage title", "단계 제목")
            .replace("change part", "모듈 변경 부분")
            .replace("Keep stage", "단계 유지");
    }
    if v.crlf {
        s = s.replace('\n', "\r\n");
    }
    s
}

/// Plans that each plant problems with a fix: over-cap stages (split),
/// S9 overlaps (merge / depends-on), a cycle (remove an edge), an orphan
/// C-<N> (a §5 row) and a wrong step count (set the count).
fn bases() -> Vec<(&'static str, String)> {
    let step_count = generate::plan(&Spec::clean(4)).replacen(
        "| 2 | Stage title 2 | 1 |",
        "| 2 | Stage title 2 | 1 | 9 |<cut>",
        1,
    );
    // Drop the old count cell that followed the planted one.
    let step_count = match step_count.split_once("<cut>") {
        Some((head, tail)) => {
            let rest = tail.split_once('\n').map(|(_, r)| r).unwrap_or("");
            format!("{head}\n{rest}")
        }
        None => step_count,
    };
    let no_section5 = {
        let p = generate::plan(&Spec {
            orphan_ref: true,
            ..Spec::clean(3)
        });
        let cut = p.find("## 5. Clarification Items").unwrap_or(p.len());
        // Keep only the 4.5.9 table: C-1 and C-2 are both orphans now.
        p[..cut].to_string()
    };
    vec![
        (
            "over-cap",
            generate::plan(&Spec {
                over_cap_every: 3,
                ..Spec::clean(6)
            }),
        ),
        (
            "overlap",
            generate::plan(&Spec {
                overlap_every: 3,
                ..Spec::clean(7)
            }),
        ),
        (
            "cycle",
            generate::plan(&Spec {
                cycle: true,
                ..Spec::clean(5)
            }),
        ),
        (
            "orphan",
            generate::plan(&Spec {
                orphan_ref: true,
                ..Spec::clean(3)
            }),
        ),
        ("no-section-5", no_section5),
        ("step-count", step_count),
    ]
}

fn key(f: &Finding) -> (&'static str, String) {
    (f.code, f.message.clone())
}

fn errors(findings: &[Finding]) -> BTreeSet<(&'static str, String)> {
    findings
        .iter()
        .filter(|f| f.severity == Severity::Error)
        .map(key)
        .collect()
}

#[test]
fn every_fix_removes_its_diagnostic_and_adds_no_error() {
    let config = Config::default();
    let mut applied = BTreeSet::new();
    for (name, base) in bases() {
        for v in variants() {
            let src = render(&base, v);
            let plan = model::parse(&src, &config);
            let findings = rules::check(&src, &plan, &config);
            let with_fix: Vec<&Finding> = findings.iter().filter(|f| f.fix.is_some()).collect();
            assert!(!with_fix.is_empty(), "{name} {v:?}: nothing to fix");
            let before = errors(&findings);
            let ctx = FixContext::new(&src, &plan, &config);
            for finding in with_fix {
                let offered = fixes::fixes_for(&ctx, finding);
                assert!(!offered.is_empty(), "{name} {v:?}: no fix for {finding:?}");
                for fix in offered.iter().filter(|f| f.disabled.is_none()) {
                    let out = fixes::apply(&src, &fix.edits);
                    let what = format!("{name} {v:?} {:?}: {}", key(finding), fix.title);
                    let after = analyze(&out, &config);
                    assert!(
                        !after.iter().any(|f| key(f) == key(finding)),
                        "{what}: the diagnostic is still there\n{out}"
                    );
                    let new: Vec<_> = errors(&after).difference(&before).cloned().collect();
                    assert!(new.is_empty(), "{what}: new errors {new:?}\n{out}");
                    if v.crlf {
                        assert!(
                            !out.replace("\r\n", "").contains('\n'),
                            "{what}: a bare LF slipped in\n{out:?}"
                        );
                    } else {
                        assert!(!out.contains('\r'), "{what}: a CR slipped in");
                    }
                    assert!(model::parse(&out, &config).is_plan(), "{what}");
                    applied.insert((finding.code, fix_family(&fix.title)));
                }
            }
        }
    }
    // Every kind of repair of plan-format §4 was exercised, and suppression.
    let families: BTreeSet<&str> = applied.iter().map(|(_, f)| *f).collect();
    assert_eq!(
        families,
        BTreeSet::from([
            "depend", "merge", "remove", "section5", "split", "steps", "suppress"
        ]),
        "{applied:?}"
    );
}

/// The family of a fix, from its title.
fn fix_family(title: &str) -> &'static str {
    let t = title.to_lowercase();
    if t.starts_with("suppress") {
        "suppress"
    } else if t.starts_with("merge") {
        "merge"
    } else if t.starts_with("split") {
        "split"
    } else if t.contains("no longer depend") || t.starts_with("remove") {
        "remove"
    } else if t.contains("depend on") {
        "depend"
    } else if t.contains("§5") || t.contains("clarification") || t.contains("c-") {
        "section5"
    } else if t.contains("step") {
        "steps"
    } else {
        "other"
    }
}
