//! Positions: byte offsets (what the core speaks) to and from line/column
//! pairs in UTF-8, UTF-16 or Unicode scalar values (what clients speak).
//! Every position the CLI prints or the server sends or reads goes through
//! here.
//!
//! Lines break at `\n`, `\r\n` and `\r` only, as LSP says (ropey is built
//! without `unicode_lines` for that). Out-of-range input is clamped, never a
//! panic: a column past the end of its line means the end of the line, a
//! column inside a UTF-16 surrogate pair or a UTF-8 sequence means the start of
//! that character, a line past the end means the end of the document.

use ropey::Rope;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) enum Encoding {
    Utf8,
    #[default]
    Utf16,
    /// Unicode scalar values (the CLI's columns; LSP's `utf-32`).
    Utf32,
}

/// A zero-based line and column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct LineCol {
    pub line: u32,
    pub col: u32,
}

/// The byte length of line `line`'s content, without its line break.
fn line_content_bytes(rope: &Rope, line: usize) -> usize {
    let slice = rope.line(line);
    let mut len = slice.len_bytes();
    let chars = slice.len_chars();
    if chars > 0 && slice.char(chars - 1) == '\n' {
        len -= 1;
        if chars > 1 && slice.char(chars - 2) == '\r' {
            len -= 1;
        }
    } else if chars > 0 && slice.char(chars - 1) == '\r' {
        len -= 1;
    }
    len
}

/// The position of byte `offset` (clamped to the document).
pub(crate) fn to_line_col(rope: &Rope, offset: usize, enc: Encoding) -> LineCol {
    let offset = offset.min(rope.len_bytes());
    // Most positions share a rope chunk with their line's start: the line
    // is then the chunk's first line plus the breaks before `offset` in it,
    // and the column is counted there, in one tree descent (a publish
    // converts hundreds of positions on every keystroke). Ropey never
    // splits a CRLF between chunks.
    let (chunk, chunk_start, _, chunk_line) = rope.chunk_at_byte(offset);
    let rel = super::floor_char_boundary(chunk, offset - chunk_start);
    let head = &chunk.as_bytes()[..rel];
    let mut breaks = 0;
    let mut line_from = None;
    for i in memchr::memchr2_iter(b'\n', b'\r', head) {
        // A `\r` right before `\n` is half of one break (counted at the
        // `\n`); before `offset` itself, when `offset` is on that `\n`.
        if head[i] == b'\r' && chunk.as_bytes().get(i + 1) == Some(&b'\n') {
            continue;
        }
        breaks += 1;
        line_from = Some(i + 1);
    }
    let line = chunk_line + breaks;
    let from = match line_from {
        Some(from) => Some(from),
        None => rope.line_to_byte(line).checked_sub(chunk_start),
    };
    let col = match from {
        Some(from) => {
            let before = &chunk[from..rel];
            let before = before.strip_suffix('\r').unwrap_or(before);
            match enc {
                Encoding::Utf8 => before.len(),
                Encoding::Utf16 => before.chars().map(char::len_utf16).sum(),
                Encoding::Utf32 => before.chars().count(),
            }
        }
        None => col_across_chunks(rope, line, rope.line_to_byte(line), offset, enc),
    };
    LineCol {
        line: line as u32,
        col: col as u32,
    }
}

/// `to_line_col`'s column when the line starts in an earlier rope chunk.
fn col_across_chunks(
    rope: &Rope,
    line: usize,
    line_start: usize,
    offset: usize,
    enc: Encoding,
) -> usize {
    // Never count into a line break (`\r|\n` boundaries).
    let offset = offset.min(line_start + line_content_bytes(rope, line));
    let ch = rope.byte_to_char(offset);
    let char_start = rope.char_to_byte(ch);
    match enc {
        Encoding::Utf8 => char_start - line_start,
        Encoding::Utf16 => {
            rope.char_to_utf16_cu(ch) - rope.char_to_utf16_cu(rope.line_to_char(line))
        }
        Encoding::Utf32 => ch - rope.line_to_char(line),
    }
}

/// The byte offset of a position (clamped as the module doc says).
pub(crate) fn to_offset(rope: &Rope, pos: LineCol, enc: Encoding) -> usize {
    let line = pos.line as usize;
    if line >= rope.len_lines() {
        return rope.len_bytes();
    }
    let line_start = rope.line_to_byte(line);
    let content = line_content_bytes(rope, line);
    let col = pos.col as usize;
    match enc {
        Encoding::Utf8 => {
            let target = line_start + col.min(content);
            rope.char_to_byte(rope.byte_to_char(target))
        }
        Encoding::Utf16 => {
            let start_cu = rope.char_to_utf16_cu(rope.line_to_char(line));
            let end_cu = rope.char_to_utf16_cu(rope.byte_to_char(line_start + content));
            let cu = (start_cu + col).min(end_cu);
            // utf16_cu_to_char rounds a surrogate half down to its character.
            rope.char_to_byte(rope.utf16_cu_to_char(cu))
        }
        Encoding::Utf32 => {
            let start = rope.line_to_char(line);
            let end = rope.byte_to_char(line_start + content);
            rope.char_to_byte((start + col).min(end))
        }
    }
}

/// Whether a position is inside the document as sent (used to detect a
/// client that is out of sync): the line exists and the column is within it.
pub(crate) fn is_valid(rope: &Rope, pos: LineCol, enc: Encoding) -> bool {
    let line = pos.line as usize;
    if line > rope.len_lines() {
        return false;
    }
    if line == rope.len_lines() {
        return pos.col == 0;
    }
    let line_start = rope.line_to_byte(line);
    let content = line_content_bytes(rope, line);
    let max = match enc {
        Encoding::Utf8 => content,
        Encoding::Utf16 => {
            rope.char_to_utf16_cu(rope.byte_to_char(line_start + content))
                - rope.char_to_utf16_cu(rope.line_to_char(line))
        }
        Encoding::Utf32 => rope.byte_to_char(line_start + content) - rope.line_to_char(line),
    };
    (pos.col as usize) <= max
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lc(line: u32, col: u32) -> LineCol {
        LineCol { line, col }
    }

    #[test]
    fn korean_emoji_and_crlf() {
        // "가" is 3 bytes / 1 UTF-16 unit; "😀" is 4 bytes / 2 units (a surrogate pair).
        let text = "a\r\n가😀b\r\nend";
        let rope = Rope::from_str(text);
        let b = text.find('b').unwrap();
        assert_eq!(to_line_col(&rope, b, Encoding::Utf8), lc(1, 7));
        assert_eq!(to_line_col(&rope, b, Encoding::Utf16), lc(1, 3));
        assert_eq!(to_line_col(&rope, b, Encoding::Utf32), lc(1, 2));
        for enc in [Encoding::Utf8, Encoding::Utf16, Encoding::Utf32] {
            let pos = to_line_col(&rope, b, enc);
            assert_eq!(to_offset(&rope, pos, enc), b, "{enc:?}");
        }
        // Inside the surrogate pair: rounds down to the emoji's start.
        let emoji = text.find('😀').unwrap();
        assert_eq!(to_offset(&rope, lc(1, 2), Encoding::Utf16), emoji);
        // Inside a UTF-8 sequence: the start of the character.
        assert_eq!(
            to_offset(&rope, lc(1, 1), Encoding::Utf8),
            text.find('가').unwrap()
        );
        // The \r of CRLF is not part of the line.
        assert_eq!(to_line_col(&rope, 1, Encoding::Utf16), lc(0, 1));
        assert_eq!(to_line_col(&rope, 2, Encoding::Utf16), lc(0, 1));
        assert_eq!(to_offset(&rope, lc(0, 99), Encoding::Utf16), 1);
    }

    #[test]
    fn clamps_past_the_end() {
        let rope = Rope::from_str("ab\ncd");
        assert_eq!(to_offset(&rope, lc(9, 0), Encoding::Utf16), 5);
        assert_eq!(to_line_col(&rope, 99, Encoding::Utf16), lc(1, 2));
        assert!(is_valid(&rope, lc(1, 2), Encoding::Utf16));
        assert!(!is_valid(&rope, lc(1, 3), Encoding::Utf16));
        assert!(!is_valid(&rope, lc(3, 0), Encoding::Utf16));
    }

    #[test]
    fn only_lsp_line_breaks_count() {
        let rope = Rope::from_str("a\u{2028}b\u{85}c\rd");
        assert_eq!(rope.len_lines(), 2);
        assert_eq!(
            to_line_col(&rope, rope.len_bytes(), Encoding::Utf32),
            lc(1, 1)
        );
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(48))]
        /// The in-chunk column agrees with the rope's own metrics at every
        /// offset, across chunk boundaries, CRLF, lone CR and wide characters.
        #[test]
        fn columns_agree_with_the_rope_metrics(
            parts in proptest::collection::vec(
                proptest::sample::select(vec!["a", "가", "😀", "e\u{301}", "\n", "\r\n", "\r", " ", "||"]),
                0..3000,
            ),
        ) {
            let text: String = parts.concat();
            let rope = Rope::from_str(&text);
            for offset in (0..=text.len() + 2).step_by(3) {
                let line = rope.byte_to_line(offset.min(text.len()));
                let start = rope.line_to_byte(line);
                for enc in [Encoding::Utf8, Encoding::Utf16, Encoding::Utf32] {
                    let want = col_across_chunks(&rope, line, start, offset.min(text.len()), enc);
                    let got = to_line_col(&rope, offset, enc);
                    proptest::prop_assert_eq!((got.line as usize, got.col as usize), (line, want), "offset {} {:?}", offset, enc);
                }
            }
        }
    }
}
