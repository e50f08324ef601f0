//! Differential fuzzing of the incremental path: a random sequence of edits
//! applied to a `Document` must end with the same tree, plan model and
//! findings as a fresh parse of the final text, and nothing may panic.
//!
//! Input bytes: byte 0 picks the base plan, then each edit takes 4 bytes
//! (kind, position hi/lo, piece or length).

#![no_main]

use libfuzzer_sys::fuzz_target;
use okstra_lsp::config::Config;
use okstra_lsp::document::Document;
use okstra_lsp::generate::{self, Spec};
use okstra_lsp::{model, syntax};

const PIECES: &[&str] = &[
    "|", "||", "#", "## ", "`", "```\n", "\n", "\r\n", "-", " ", "가", "😀", "é", "\\|", "1",
    "7", "(none)", ", 3", "C-9", "| 9 | x | y | z | w |\n", "### Stage 42: new\n", "<!--",
    "-->", "> ", "**", "\r", "~~~\n", "    ", "\t", "| Stage | Title | depends-on | Steps |\n",
    "#### Stage Exit Contract\n", "|  |  |  |  |  |\n", "| |", "- Predicted added/modified files: `src/a.rs`\n",
];

fn boundary(s: &str, mut i: usize) -> usize {
    i = i.min(s.len());
    while !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

fuzz_target!(|data: &[u8]| {
    let Some((&first, ops)) = data.split_first() else {
        return;
    };
    let config = Config::default();
    let spec = Spec {
        overlap_every: usize::from(first & 3) + 2,
        cycle: first & 4 != 0,
        over_cap_every: usize::from(first >> 4 & 3) + 3,
        orphan_ref: first & 8 != 0,
        ..Spec::clean(usize::from(first >> 6) + 2)
    };
    let base = if first == 0xff { String::new() } else { generate::plan(&spec) };
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
    assert_eq!(doc.text(), shadow);
    let fresh = syntax::parse_blocks(&shadow, None);
    assert_eq!(doc.outline().to_vec(), syntax::outline(&fresh, &shadow));
    assert_eq!(
        format!("{:?}", doc.plan()),
        format!("{:?}", model::parse(&shadow, &config))
    );
    assert_eq!(doc.findings(), okstra_lsp::analyze(&shadow, &config).as_slice());
});
