//! Moving byte ranges across an edit, so the parts of the outline (here)
//! and of the plan model (`plan::shift`) that an edit did not touch are
//! reused instead of re-derived.

use std::ops::Range;

use super::{Block, Cell, Heading, List, ListItem, Row, Table};

type Span = Range<usize>;

/// `old[start..old_end]` was replaced by `new_len` bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EditShift {
    pub start: usize,
    pub old_end: usize,
    pub new_end: usize,
}

impl EditShift {
    pub(crate) fn delta(&self) -> isize {
        self.new_end as isize - self.old_end as isize
    }

    fn moved(&self, p: usize) -> usize {
        (p as isize + self.delta()).max(0) as usize
    }

    /// A range's start: it moves when it lies at or after the replaced text.
    pub fn start(&self, p: &mut usize) {
        if *p >= self.old_end {
            *p = self.moved(*p);
        }
    }

    /// A range's end: it moves when it lies after the replaced text (an end
    /// exactly at an insertion point stays: the text went after it).
    pub fn end(&self, p: &mut usize) {
        if *p >= self.old_end && *p > self.start {
            *p = self.moved(*p);
        }
    }

    pub fn span(&self, s: &mut Span) {
        self.start(&mut s.start);
        self.end(&mut s.end);
        if s.end < s.start {
            s.end = s.start;
        }
    }
}

/// Something holding byte ranges.
pub(crate) trait Shift {
    fn shift(&mut self, e: &EditShift);
}

impl Shift for Span {
    fn shift(&mut self, e: &EditShift) {
        e.span(self)
    }
}

impl<T: Shift> Shift for Vec<T> {
    fn shift(&mut self, e: &EditShift) {
        for x in self {
            x.shift(e);
        }
    }
}

impl<T: Shift> Shift for Option<T> {
    fn shift(&mut self, e: &EditShift) {
        if let Some(x) = self {
            x.shift(e);
        }
    }
}

// Every impl below (and in `plan::shift`) destructures its struct completely
// (no `..`), so a new field is a compile error until it is moved with the
// edits or marked as holding no position (`_`).

impl Shift for Block {
    fn shift(&mut self, e: &EditShift) {
        match self {
            Block::Heading(h) => h.shift(e),
            Block::Table(t) => t.shift(e),
            Block::List(l) => l.shift(e),
            Block::Paragraph(r) => r.shift(e),
        }
    }
}

impl Shift for Heading {
    fn shift(&mut self, e: &EditShift) {
        let Heading {
            level: _,
            range,
            text,
        } = self;
        range.shift(e);
        text.shift(e);
    }
}

impl Shift for Table {
    fn shift(&mut self, e: &EditShift) {
        let Table {
            range,
            header,
            delimiter,
            rows,
        } = self;
        range.shift(e);
        header.shift(e);
        delimiter.shift(e);
        rows.shift(e);
    }
}

impl Shift for Row {
    fn shift(&mut self, e: &EditShift) {
        let Row { range, cells } = self;
        range.shift(e);
        cells.shift(e);
    }
}

impl Shift for Cell {
    fn shift(&mut self, e: &EditShift) {
        let Cell { range } = self;
        range.shift(e);
    }
}

impl Shift for List {
    fn shift(&mut self, e: &EditShift) {
        let List { range, items } = self;
        range.shift(e);
        items.shift(e);
    }
}

impl Shift for ListItem {
    fn shift(&mut self, e: &EditShift) {
        let ListItem {
            range,
            text,
            children,
        } = self;
        range.shift(e);
        text.shift(e);
        children.shift(e);
    }
}

/// Numbers hold no position.
macro_rules! no_position {
    ($($t:ty),*) => {$(
        impl Shift for $t {
            fn shift(&mut self, _: &EditShift) {}
        }
    )*};
}
no_position!(u32, usize);
