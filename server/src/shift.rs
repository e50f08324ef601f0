//! Moving byte ranges across an edit, so the parts of the outline and the
//! model that an edit did not touch are reused instead of re-derived.

use crate::model::*;
use crate::syntax::{Block, Cell, Heading, List, ListItem, Row, Table};

/// `old[start..old_end]` was replaced by `new_len` bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EditShift {
    pub start: usize,
    pub old_end: usize,
    pub new_end: usize,
}

impl EditShift {
    pub fn delta(&self) -> isize {
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
pub trait Shift {
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
        self.range.shift(e);
        self.text.shift(e);
    }
}

impl Shift for Table {
    fn shift(&mut self, e: &EditShift) {
        self.range.shift(e);
        self.header.shift(e);
        self.delimiter.shift(e);
        self.rows.shift(e);
    }
}

impl Shift for Row {
    fn shift(&mut self, e: &EditShift) {
        self.range.shift(e);
        self.cells.shift(e);
    }
}

impl Shift for Cell {
    fn shift(&mut self, e: &EditShift) {
        self.range.shift(e);
    }
}

impl Shift for List {
    fn shift(&mut self, e: &EditShift) {
        self.range.shift(e);
        self.items.shift(e);
    }
}

impl Shift for ListItem {
    fn shift(&mut self, e: &EditShift) {
        self.range.shift(e);
        self.text.shift(e);
        self.children.shift(e);
    }
}

impl<T> Shift for Field<T> {
    fn shift(&mut self, e: &EditShift) {
        match self {
            Field::Ok(_, s) | Field::Invalid(s) => s.shift(e),
            Field::Missing => {}
        }
    }
}

impl Shift for StageMap {
    fn shift(&mut self, e: &EditShift) {
        self.scope.shift(e);
        self.heading.shift(e);
        if let Some(t) = &mut self.table {
            t.range.shift(e);
            t.header.shift(e);
            t.delimiter.shift(e);
            for r in &mut t.rows {
                r.range.shift(e);
                r.cells.shift(e);
                r.stage.shift(e);
                r.title.shift(e);
                r.steps.shift(e);
                r.depends_on.shift(e);
                if let Field::Ok(deps, _) = &mut r.depends_on {
                    for d in deps {
                        d.range.shift(e);
                    }
                }
            }
        }
    }
}

impl Shift for Stage {
    fn shift(&mut self, e: &EditShift) {
        self.number_range.shift(e);
        self.title.shift(e);
        self.heading.shift(e);
        self.section.shift(e);
        if let Some(s) = &mut self.steps {
            s.heading.shift(e);
            if let Some(t) = &mut s.table {
                t.range.shift(e);
                t.header.shift(e);
                t.header_cells.shift(e);
                t.effective_rows.shift(e);
                t.all_rows.shift(e);
            }
        }
        if let Some(c) = &mut self.exit_contract {
            c.heading.shift(e);
            e.end(&mut c.content_end);
            if let Some(p) = &mut c.predicted {
                p.item.shift(e);
                p.text.shift(e);
                for f in &mut p.files {
                    f.range.shift(e);
                }
            }
        }
        if let Some(v) = &mut self.validation {
            v.heading.shift(e);
            v.items.shift(e);
            e.end(&mut v.content_end);
        }
    }
}

impl Shift for Verification {
    fn shift(&mut self, e: &EditShift) {
        self.scope.shift(e);
        self.table.shift(e);
        self.heading.shift(e);
        for r in &mut self.rows {
            r.range.shift(e);
            r.classification.shift(e);
            for x in &mut r.refs {
                x.range.shift(e);
            }
        }
    }
}

impl Shift for Clarifications {
    fn shift(&mut self, e: &EditShift) {
        self.scope.shift(e);
        self.heading.shift(e);
        e.end(&mut self.content_end);
        if let Some(t) = &mut self.table {
            t.range.shift(e);
            t.header_cells.shift(e);
            for r in &mut t.rows {
                r.range.shift(e);
                r.id.shift(e);
                r.statement.shift(e);
                r.expected.shift(e);
                r.blocks.shift(e);
            }
        }
    }
}
