//! Every quick fix, applied to plans in every layout the format allows
//! (nested and flat headings, LF and CRLF, English and Korean), must remove
//! the diagnostic it targets without bringing a new error, and keep the
//! document's line endings. On plans whose lines end in multi-byte
//! characters, every fix, refactor and editor feature keeps to character
//! boundaries.

use std::collections::BTreeSet;

use okstra_lsp::check::fixes::{self, FixContext};
use okstra_lsp::check::rules::{Finding, Severity};
use okstra_lsp::engine::generate::{self, Spec};
use okstra_lsp::plan::config::Config;
use okstra_lsp::{analyze, check::rules, plan::model};

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
    (f.code, f.message.to_string())
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

// ---------------------------------------------------------------------------
// Non-ASCII line ends: every fix and refactor on plans whose lines end in a
// multi-byte character, where `end - 1` lands inside that character.

/// What the lines end in: Hangul, an astral emoji, a ZWJ sequence, a
/// combining mark (`e` + U+0301).
const MARKERS: &[&str] = &["단계", "🚀", "👩\u{200d}💻", "e\u{301}"];

#[derive(Debug, Clone, Copy)]
struct Ending {
    marker: &'static str,
    crlf: bool,
    /// Whether the document ends with a line break.
    trailing: bool,
}

/// Each marker with LF and CRLF, with and without a final line break: four
/// pairs of the four combinations, so that every marker meets both line
/// endings and every combination meets two markers.
fn endings() -> Vec<Ending> {
    let mut out = Vec::new();
    for (i, &marker) in MARKERS.iter().enumerate() {
        for crlf in [false, true] {
            out.push(Ending {
                marker,
                crlf,
                trailing: (i % 2 == 0) != crlf,
            });
        }
    }
    out
}

/// `src` (LF) with `marker` at the end of every table row (as one more
/// column, the rows without a closing pipe), every list item and every
/// stage heading, then the line endings and the last line of `e`.
fn end_lines_in(src: &str, e: Ending) -> String {
    let lines: Vec<&str> = src.lines().collect();
    let mut out = String::new();
    for (i, line) in lines.iter().enumerate() {
        let next_is_delimiter = lines
            .get(i + 1)
            .is_some_and(|l| l.starts_with("|---") || l.starts_with("|:--"));
        let t = line.trim_end();
        let changed = if t.starts_with('|') && t.ends_with('|') {
            if t.starts_with("|---") || t.starts_with("|:--") {
                format!("{t}---")
            } else if next_is_delimiter {
                format!("{t} Note {}", e.marker)
            } else {
                format!("{t} {}", e.marker)
            }
        } else if t.trim_start().starts_with("- ")
            || (t.starts_with('#') && (t.contains(" — ") || t.starts_with("# ")))
        {
            format!("{t} {}", e.marker)
        } else {
            t.to_string()
        };
        out.push_str(&changed);
        out.push('\n');
    }
    if !e.trailing {
        while out.ends_with('\n') {
            out.pop();
        }
    }
    if e.crlf {
        out = out.replace('\n', "\r\n");
    }
    out
}

/// The plans: each base of `bases()` in every ending (Korean labels for the
/// Hangul marker, flat headings for every other marker), and the bundled
/// Korean and emoji fixtures with LF, CRLF and no final line break.
fn non_ascii_plans() -> Vec<(String, String)> {
    let mut out = Vec::new();
    for (name, base) in bases() {
        for (k, e) in endings().into_iter().enumerate() {
            let v = Variant {
                flat: (k / 2) % 2 == 1,
                crlf: false,
                korean: e.marker == "단계",
            };
            out.push((
                format!("{name} {e:?} {v:?}"),
                end_lines_in(&render(&base, v), e),
            ));
        }
    }
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/plans");
    for file in ["korean.md", "emoji.md"] {
        let text = std::fs::read_to_string(root.join(file)).expect("the fixture");
        out.push((format!("{file} crlf"), text.replace('\n', "\r\n")));
        out.push((
            format!("{file} no final newline"),
            text.trim_end().to_string(),
        ));
        out.push((file.to_string(), text));
    }
    out
}

/// Applies `edits` byte by byte (no clamping, unlike `fixes::apply`) and
/// checks the result is UTF-8 and what `fixes::apply` gives.
fn apply_bytes(src: &str, edits: &[fixes::TextEdit], what: &str) -> Result<String, String> {
    let mut sorted: Vec<&fixes::TextEdit> = edits.iter().collect();
    sorted.sort_by_key(|e| (e.range.start, e.range.end));
    let mut bytes = Vec::with_capacity(src.len());
    let mut at = 0;
    for e in sorted {
        let r = &e.range;
        if !(at <= r.start && r.start <= r.end && r.end <= src.len()) {
            return Err(format!("{what}: edit {r:?} out of order or past the end"));
        }
        if !(src.is_char_boundary(r.start) && src.is_char_boundary(r.end)) {
            return Err(format!("{what}: edit {r:?} is not on character boundaries"));
        }
        bytes.extend_from_slice(&src.as_bytes()[at..r.start]);
        bytes.extend_from_slice(e.new_text.as_bytes());
        at = r.end;
    }
    bytes.extend_from_slice(&src.as_bytes()[at..]);
    let out = String::from_utf8(bytes).map_err(|err| format!("{what}: not UTF-8: {err}"))?;
    if out != fixes::apply(src, edits) {
        return Err(format!("{what}: fixes::apply gives another text"));
    }
    Ok(out)
}

/// Runs `f`, turning a panic into an error naming `what`.
fn no_panic<T>(what: &str, f: impl FnOnce() -> T) -> Result<T, String> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).map_err(|p| {
        let msg = p
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_default();
        format!("{what}: panicked: {msg}")
    })
}

/// One fix's edits on `src`: on character boundaries, UTF-8 when applied,
/// the line endings kept, and a plan again. `target`, for a quick fix, is
/// the finding that must be gone, with no error that `src` (whose errors
/// are `before`) did not have.
fn check_fix(
    src: &str,
    fix: &fixes::Fix,
    target: Option<(&Finding, &BTreeSet<(&'static str, String)>)>,
    what: &str,
) -> Result<(), String> {
    let what = format!("{what}: {}", fix.title);
    if let Some(reason) = &fix.disabled {
        // Offered with a reason (over the cap, a cycle) is fine; edits that
        // overlap are a bug.
        return if reason.starts_with("internal") {
            Err(format!("{what}: {reason}"))
        } else {
            Ok(())
        };
    }
    let out = apply_bytes(src, &fix.edits, &what)?;
    let config = Config::default();
    if let Some((t, before)) = target {
        let after = no_panic(&format!("{what}: re-check"), || analyze(&out, &config))?;
        if after.iter().any(|f| key(f) == key(t)) {
            return Err(format!("{what}: {:?} is still there\n{out}", key(t)));
        }
        let new: Vec<_> = errors(&after).difference(before).cloned().collect();
        if !new.is_empty() {
            return Err(format!("{what}: new errors {new:?}\n{out}"));
        }
    }
    let plan = no_panic(&format!("{what}: re-parse"), || model::parse(&out, &config))?;
    if !plan.is_plan() {
        return Err(format!("{what}: no longer a plan\n{out}"));
    }
    if src.contains("\r\n") {
        if out.replace("\r\n", "").contains('\n') {
            return Err(format!("{what}: a bare LF slipped in\n{out:?}"));
        }
    } else if out.contains('\r') {
        return Err(format!("{what}: a CR slipped in"));
    }
    Ok(())
}

/// Every fix and refactor `fixes` offers on `src`, checked; what was
/// applied goes into `families`.
fn run_every_fix(
    name: &str,
    src: &str,
    families: &mut BTreeSet<&'static str>,
) -> Result<(), String> {
    let config = Config::default();
    let plan = no_panic(&format!("{name}: parse"), || model::parse(src, &config))?;
    let findings = no_panic(&format!("{name}: check"), || {
        rules::check(src, &plan, &config)
    })?;
    let before = errors(&findings);
    let ctx = FixContext::new(src, &plan, &config);
    let mut fixes_seen: Vec<(String, fixes::Fix, Option<&Finding>)> = Vec::new();

    // The quick fixes of every finding (repairs, then suppression).
    for f in &findings {
        let what = format!("{name} {:?}", key(f));
        let offered = no_panic(&what, || fixes::fixes_for(&ctx, f))?;
        fixes_seen.extend(offered.into_iter().map(|x| (what.clone(), x, Some(f))));
    }
    // The refactors on every stage heading (merges with the neighbours in
    // the Stage Map, split when over the cap), at its start and its end.
    for s in &plan.stages {
        for at in [s.heading.start, s.heading.end] {
            let what = format!("{name} refactors at {at}");
            let offered = no_panic(&what, || fixes::refactors_at(&ctx, at))?;
            fixes_seen.extend(offered.into_iter().map(|x| (what.clone(), x, None)));
        }
    }
    // Each fix directly, offered or not: for every stage, every pair of
    // neighbouring stages (both ways) and every C-<N>.
    let numbers: Vec<u32> = plan.stages.iter().map(|s| s.number).collect();
    for &a in &numbers {
        let neighbours = numbers.windows(2).filter_map(|w| {
            (w[0] == a)
                .then_some(w[1])
                .or_else(|| (w[1] == a).then_some(w[0]))
        });
        for b in neighbours {
            let what = format!("{name} stages {a}, {b}");
            let direct = no_panic(&what, || {
                [
                    fixes::merge(&ctx, a, b, fixes::FixKind::Refactor),
                    fixes::add_dependency(&ctx, a, b),
                    fixes::remove_dependency(&ctx, a, b),
                ]
            })?;
            fixes_seen.extend(
                direct
                    .into_iter()
                    .flatten()
                    .map(|x| (what.clone(), x, None)),
            );
        }
        let what = format!("{name} stage {a}");
        let counted = plan.stage(a).map_or(0, |s| s.effective_steps());
        let direct = no_panic(&what, || {
            [
                fixes::split(&ctx, a, fixes::FixKind::QuickFix),
                fixes::set_step_count(&ctx, a, counted + 1),
            ]
        })?;
        fixes_seen.extend(
            direct
                .into_iter()
                .flatten()
                .map(|x| (what.clone(), x, None)),
        );
    }
    for id in 1..=okstra_lsp::ide::next_clarification_id(&plan) {
        let what = format!("{name} C-{id}");
        let direct = no_panic(&what, || fixes::add_clarification_row(&ctx, id))?;
        fixes_seen.extend(direct.into_iter().map(|x| (what.clone(), x, None)));
    }
    // The same edits offered twice (a merge as quick fix and as refactor)
    // are checked once, with their target when one had a target.
    fixes_seen.sort_by_key(|(_, _, target)| target.is_none());
    let mut checked = BTreeSet::new();
    for (what, fix, target) in &fixes_seen {
        let edits: Vec<_> = fix
            .edits
            .iter()
            .map(|e| (e.range.start, e.range.end, e.new_text.clone()))
            .collect();
        if !fix.edits.is_empty() && !checked.insert(edits) {
            continue;
        }
        let target = target.map(|t| (t, &before));
        no_panic(what, || check_fix(src, fix, target, what))??;
        if fix.disabled.is_none() {
            families.insert(fix_family(&fix.title));
        }
    }

    // `okstra-lsp fix`: every safe fix until none is left.
    let what = format!("{name} fix_all");
    let out = no_panic(&what, || fixes::fix_all(src, &config, 10))?.text;
    let plan = no_panic(&what, || model::parse(&out, &config))?;
    if !plan.is_plan() {
        return Err(format!("{what}: no longer a plan\n{out}"));
    }
    let left = no_panic(&what, || {
        let findings = rules::check(&out, &plan, &config);
        let ctx = FixContext::new(&out, &plan, &config);
        findings
            .iter()
            .filter(|f| {
                fixes::repairs_for(&ctx, f)
                    .iter()
                    .any(|x| x.applicability == fixes::Applicability::Safe && x.disabled.is_none())
            })
            .map(key)
            .collect::<Vec<_>>()
    })?;
    if !left.is_empty() {
        return Err(format!("{what}: safe fixes left: {left:?}\n{out}"));
    }
    Ok(())
}

#[test]
fn every_fix_keeps_to_character_boundaries_on_non_ascii_line_ends() {
    let mut families = BTreeSet::new();
    let mut failures = Vec::new();
    let plans = non_ascii_plans();
    for (name, src) in &plans {
        if let Err(e) = run_every_fix(name, src, &mut families) {
            failures.push(e);
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} plans failed; the first:\n{}",
        failures.len(),
        plans.len(),
        failures
            .iter()
            .take(5)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n---\n")
    );
    assert_eq!(
        families,
        BTreeSet::from([
            "depend", "merge", "remove", "section5", "split", "steps", "suppress"
        ]),
    );
}

/// The marked plans keep what the markers are appended to: the lines end
/// in the marker and the planted problems are still found.
#[test]
fn non_ascii_plans_end_their_lines_in_the_marker() {
    let config = Config::default();
    for (name, base) in bases() {
        let before: BTreeSet<&str> = analyze(&base, &config).iter().map(|f| f.code).collect();
        for e in endings() {
            let src = end_lines_in(&base, e);
            let eol = if e.crlf { "\r\n" } else { "\n" };
            for row in ["| 1 | ", "- Predicted", "### 4.5.1 Stage 1"] {
                let line = src
                    .split(eol)
                    .find(|l| l.starts_with(row))
                    .unwrap_or_else(|| panic!("{name} {e:?}: no {row}"));
                assert!(line.ends_with(e.marker), "{name} {e:?}: {line:?}");
            }
            assert_eq!(src.ends_with(e.marker), !e.trailing, "{name} {e:?}");
            let after: BTreeSet<&str> = analyze(&src, &config).iter().map(|f| f.code).collect();
            assert_eq!(before, after, "{name} {e:?}\n{src}");
        }
    }
}

/// The editor features read the same plans at every byte offset (one inside
/// a character too: a client's position may be converted to one) without
/// panicking, and every range they answer lies on character boundaries.
#[test]
fn editor_features_stay_on_character_boundaries_on_non_ascii_line_ends() {
    use okstra_lsp::ide;
    let config = Config::default();
    let on_boundaries = |src: &str, r: &std::ops::Range<usize>| {
        r.start <= r.end && src.is_char_boundary(r.start) && src.is_char_boundary(r.end)
    };
    let plans = non_ascii_plans();
    // One base (the one with the most kinds of tables and references) in
    // every ending, and the fixtures.
    for (name, src) in plans
        .iter()
        .filter(|(n, _)| n.starts_with("orphan ") || n.contains(".md"))
    {
        let plan = model::parse(src, &config);
        assert!(plan.is_plan(), "{name}");
        for s in ide::symbols(src, &plan) {
            for sym in std::iter::once(&s).chain(&s.children) {
                assert!(on_boundaries(src, &sym.range), "{name}: {sym:?}");
                assert!(on_boundaries(src, &sym.selection), "{name}: {sym:?}");
            }
        }
        for r in ide::folding(src, &plan) {
            assert!(on_boundaries(src, &r), "{name}: fold {r:?}");
        }
        for s in &plan.stages {
            let hover = ide::stage_hover(src, &plan, s.number, &config, &[]);
            assert!(hover.is_some_and(|h| h.contains(&format!("**Stage {}**", s.number))));
        }
        let (mut hits, mut completed) = (0, 0);
        for offset in 0..=src.len() + 1 {
            if let Some(hit) = ide::at(&plan, offset) {
                hits += 1;
                assert!(
                    on_boundaries(src, &hit.range),
                    "{name} at {offset}: {hit:?}"
                );
            }
            for r in ide::definition(&plan, offset)
                .iter()
                .chain(&ide::references(&plan, offset, true))
            {
                assert!(on_boundaries(src, r), "{name} at {offset}: {r:?}");
            }
            if !ide::completions(src, &plan, offset).is_empty() {
                completed += 1;
            }
        }
        assert!(hits > 0, "{name}: nothing found at any offset");
        assert!(completed > 0, "{name}: no completion at any offset");
    }
}

/// `fix_all` reaches a fixed point on generated plans with every planted
/// problem: it settles, and a second run finds nothing left to fix.
#[test]
fn fix_all_settles_on_generated_plans() {
    use okstra_lsp::engine::generate::{self, Spec};
    let config = Config::default();
    let mut applied = 0;
    for seed in 0..24u64 {
        let spec = Spec {
            seed,
            overlap_every: 2 + (seed as usize % 4),
            cycle: seed % 2 == 0,
            over_cap_every: 3 + (seed as usize % 5),
            orphan_ref: seed % 3 == 0,
            ..Spec::clean(4 + (seed as usize * 7) % 30)
        };
        let text = generate::plan(&spec);
        let first = fixes::fix_all(&text, &config, 10);
        assert!(first.settled, "{spec:?}: did not settle");
        applied += first.applied;
        let again = fixes::fix_all(&first.text, &config, 10);
        assert_eq!(
            (again.applied, again.settled, again.text == first.text),
            (0, true, true),
            "{spec:?}: not a fixed point"
        );
    }
    assert!(applied > 0, "some planted problem has a safe fix");
    // With no rounds to spare, a plan that needs fixes is reported unsettled.
    let text = generate::plan(&Spec {
        orphan_ref: true,
        ..Spec::clean(6)
    });
    assert!(fixes::fix_all(&text, &config, 10).applied > 0);
    let none = fixes::fix_all(&text, &config, 0);
    assert_eq!((none.applied, none.settled), (0, false));
    assert_eq!(none.text, text);
}
