//! A deterministic plan generator (benchmarks, property tests, the latency
//! harness): stages with step tables, exit contracts and validation, the
//! 4.5.9 table and §5, with optional planted problems.

use std::fmt::Write;

/// What to generate. The same spec always gives the same text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Spec {
    pub stages: usize,
    pub seed: u64,
    /// Every `overlap_every`-th stage shares a file with the previous one
    /// while both are roots (an S9 error); 0 = never.
    pub overlap_every: usize,
    /// Plant one depends-on cycle between stages 2 and 3.
    pub cycle: bool,
    /// Every `over_cap_every`-th stage gets 8 steps; 0 = never.
    pub over_cap_every: usize,
    /// Add one 4.5.9 reference without a §5 row.
    pub orphan_ref: bool,
}

impl Spec {
    /// A clean plan of `stages` stages.
    pub fn clean(stages: usize) -> Spec {
        Spec {
            stages,
            seed: 1,
            overlap_every: 0,
            cycle: false,
            over_cap_every: 0,
            orphan_ref: false,
        }
    }
}

/// A small xorshift generator: deterministic, no dependency.
#[derive(Debug, Clone)]
pub(crate) struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }
    pub fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }
    pub fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next() % n as u64) as usize
        }
    }
}

/// Generates a plan.
///
/// Long on purpose: one template, written out in document order, so what a
/// generated plan looks like can be read top to bottom.
// Stage i's number, depends-on and steps are read together by index.
#[allow(clippy::needless_range_loop)]
pub fn plan(spec: &Spec) -> String {
    let mut rng = Rng::new(spec.seed);
    let n = spec.stages.max(1);
    let mut deps: Vec<Vec<usize>> = vec![Vec::new(); n + 1];
    let mut steps = vec![0usize; n + 1];
    for (i, d) in deps.iter_mut().enumerate().skip(1) {
        // Chains of about five stages; each chain starts at a root.
        if i % 5 != 1 {
            d.push(i - 1);
        }
    }
    for i in 1..=n {
        let overlap_root = spec.overlap_every > 0 && i > 1 && i % spec.overlap_every == 0;
        if overlap_root {
            deps[i].clear();
            deps[i - 1].clear();
        }
        steps[i] = if spec.over_cap_every > 0 && i % spec.over_cap_every == 0 {
            8
        } else {
            1 + rng.below(5)
        };
    }
    if spec.cycle && n >= 3 {
        deps[2] = vec![3];
        deps[3] = vec![2];
    }
    let mut s = String::with_capacity(n * 1200);
    s.push_str("# Implementation plan (generated)\n\n## 4.5 Stage Map\n\n| Stage | Title | depends-on | Steps |\n|---|---|---|---|\n");
    for i in 1..=n {
        let d = if deps[i].is_empty() {
            "(none)".to_string()
        } else {
            deps[i]
                .iter()
                .map(|x| x.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        };
        let _ = writeln!(s, "| {i} | Stage title {i} | {d} | {} |", steps[i]);
    }
    s.push('\n');
    for i in 1..=n {
        let _ = write!(
            s,
            "### 4.5.{i} Stage {i} — Stage title {i}\n\n#### Stepwise Execution Order\n| step | action | files | command | expected |\n|---|---|---|---|---|\n"
        );
        for k in 1..=steps[i] {
            let _ = writeln!(
                s,
                "| {k} | change part {k} of module {i} | `src/m{i}/f{k}.rs` | `cargo test m{i}` | passes |"
            );
        }
        let shared = if spec.overlap_every > 0
            && i > 1
            && (i % spec.overlap_every == 0 || (i + 1) % spec.overlap_every == 0)
        {
            format!(
                ", `src/shared{}.rs`",
                i / spec.overlap_every.max(1) + usize::from(i % spec.overlap_every != 0)
            )
        } else {
            String::new()
        };
        let _ = write!(
            s,
            "\n#### Stage Exit Contract\n- Predicted added/modified files: `src/m{i}/`, `tests/m{i}.rs`{shared}\n- Newly exposed identifiers: `m{i}::run`\n\n#### Stage Validation\n- pre: `cargo test` green\n- post: `cargo test m{i}` passes\n\n"
        );
    }
    s.push_str("### 4.5.9 Plan Body Verification\n| Plan item | claude | codex | Classification |\n|---|---|---|---|\n");
    let clarifications = (n / 50).max(1);
    for c in 1..=clarifications {
        let _ = writeln!(
            s,
            "| Stage {c} ordering | AGREE | DISAGREE | majority-disagree → C-{c} |"
        );
    }
    if spec.orphan_ref {
        let _ = writeln!(
            s,
            "| Orphan item | AGREE | DISAGREE | majority-disagree → C-{} |",
            clarifications + 1
        );
    }
    s.push_str("| Scope | AGREE | AGREE | full-consensus |\n\n## 5. Clarification Items\n| ID | Kind | Statement | Expected form | Blocks |\n|---|---|---|---|---|\n");
    for c in 1..=clarifications {
        let _ = writeln!(
            s,
            "| C-{c} | decision | Keep stage {c} first? Evidence checked: `src/m{c}/f1.rs:10` | yes/no. Recommended: yes — it defines the API | approval |"
        );
    }
    s
}

// ---------------------------------------------------------------------------
// Differential replay of edits (the fuzz target's body).

use crate::engine::document::Document;
use crate::plan::config::Config;
use crate::{plan::model, syntax};

/// What the fuzz input and the property tests insert: table and heading
/// syntax, code spans, line breaks of both kinds, multi-byte text, whole
/// rows.
pub const PIECES: &[&str] = &[
    "|",
    "||",
    "#",
    "## ",
    "`",
    "```\n",
    "\n",
    "\r\n",
    "-",
    " ",
    "가",
    "😀",
    "é",
    "\\|",
    "1",
    "7",
    "(none)",
    ", 3",
    "C-9",
    "| 9 | x | y | z | w |\n",
    "### Stage 42: new\n",
    "<!--",
    "-->",
    "> ",
    "**",
    "\r",
    "~~~\n",
    "    ",
    "\t",
    "| Stage | Title | depends-on | Steps |\n",
    "#### Stage Exit Contract\n",
    "|  |  |  |  |  |\n",
    "| |",
    "- Predicted added/modified files: `src/a.rs`\n",
    "<!-- okstra-lsp-disable-next-line -->\n",
    "<!-- okstra-lsp-disable step-count-mismatch -->\n",
    "okstra-lsp-",
];

/// `i` clamped to `s` and moved back to a character boundary.
fn boundary(s: &str, i: usize) -> usize {
    syntax::floor_char_boundary(s, i)
}

/// Replays fuzz input `data` (byte 0 picks the base plan, then each edit
/// takes 4 bytes: kind, position hi/lo, piece or length) on a `Document`, and
/// says where the incremental path and a fresh parse of the final text
/// differ. The fuzz target (`fuzz/`) and `server/tests/fuzz_seeds.rs` (its
/// committed seeds, in the normal suite) share it.
pub fn replay_edits(data: &[u8]) -> Result<(), String> {
    let Some((&first, ops)) = data.split_first() else {
        return Ok(());
    };
    let config = Config::default();
    let spec = Spec {
        overlap_every: usize::from(first & 3) + 2,
        cycle: first & 4 != 0,
        over_cap_every: usize::from(first >> 4 & 3) + 3,
        orphan_ref: first & 8 != 0,
        ..Spec::clean(usize::from(first >> 6) + 2)
    };
    let base = if first == 0xff {
        String::new()
    } else {
        plan(&spec)
    };
    let mut doc = Document::new(base.clone(), &config);
    let mut shadow = base;
    for (i, op) in ops.chunks_exact(4).enumerate().take(64) {
        let at = usize::from(op[1]) << 8 | usize::from(op[2]);
        match op[0] % 8 {
            0..=4 => {
                let piece = PIECES[usize::from(op[3]) % PIECES.len()];
                let at = boundary(&shadow, at % (shadow.len() + 1));
                doc.edit(at..at, piece);
                shadow.insert_str(at, piece);
            }
            5 | 6 => {
                let start = boundary(&shadow, at % (shadow.len() + 1));
                let end = boundary(&shadow, start + usize::from(op[3]) + 1);
                doc.edit(start..end, "");
                shadow.replace_range(start..end, "");
            }
            _ => {
                let mut next = shadow.clone();
                let at = boundary(&next, at % (next.len() + 1));
                next.insert_str(at, PIECES[usize::from(op[3]) % PIECES.len()]);
                doc.replace_all(&next);
                shadow = next;
            }
        }
        // Analyse after most edits (the one-edit fast path), sometimes only
        // after several (the rebuild path).
        if i % 3 != 2 {
            doc.reanalyze(&config);
        }
    }
    doc.reanalyze(&config);
    if doc.text() != shadow {
        return Err("the document's text differs from the edited text".into());
    }
    let fresh = syntax::parse_blocks(&shadow, None);
    if doc.outline().to_vec() != syntax::outline(&fresh, &shadow) {
        return Err(format!(
            "the outline differs from a fresh parse of {shadow:?}"
        ));
    }
    let (kept, parsed) = (
        format!("{:?}", doc.plan()),
        format!("{:?}", model::parse(&shadow, &config)),
    );
    if kept != parsed {
        return Err(format!(
            "the plan differs from a fresh parse of {shadow:?}:\n{kept}\n{parsed}"
        ));
    }
    if doc.findings() != crate::analyze(&shadow, &config).as_slice() {
        return Err(format!(
            "the findings differ from a fresh analysis of {shadow:?}"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::config::Config;

    #[test]
    fn clean_plans_are_clean_and_planted_problems_show() {
        for n in [1, 10, 57] {
            let text = plan(&Spec::clean(n));
            let findings = crate::analyze(&text, &Config::default());
            assert!(
                findings.is_empty(),
                "{n}: {:?}",
                findings
                    .iter()
                    .map(|f| (f.code, &f.message))
                    .collect::<Vec<_>>()
            );
        }
        let text = plan(&Spec {
            overlap_every: 7,
            cycle: true,
            over_cap_every: 9,
            orphan_ref: true,
            ..Spec::clean(30)
        });
        let codes: Vec<&str> = crate::analyze(&text, &Config::default())
            .iter()
            .map(|f| f.code)
            .collect();
        for code in [
            "s9-file-overlap",
            "depends-on-cycle",
            "steps-over-cap",
            "clarification-orphan-ref",
        ] {
            assert!(codes.contains(&code), "{code} missing from {codes:?}");
        }
        assert_eq!(plan(&Spec::clean(5)), plan(&Spec::clean(5)));
    }
}
