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

// Every impl below destructures its struct completely (no `..`), so a new
// field is a compile error here until it is moved with the edits or marked
// as holding no position (`_`).

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

impl<T: Shift> Shift for Field<T> {
    fn shift(&mut self, e: &EditShift) {
        match self {
            Field::Ok(value, s) => {
                value.shift(e);
                s.shift(e);
            }
            Field::Invalid(s) => s.shift(e),
            Field::Missing => {}
        }
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

impl Shift for DepRef {
    fn shift(&mut self, e: &EditShift) {
        let DepRef { stage: _, range } = self;
        range.shift(e);
    }
}

impl Shift for StageMap {
    fn shift(&mut self, e: &EditShift) {
        let StageMap {
            heading,
            heading_level: _,
            table,
            scope,
        } = self;
        scope.shift(e);
        heading.shift(e);
        table.shift(e);
    }
}

impl Shift for MapTable {
    fn shift(&mut self, e: &EditShift) {
        let MapTable {
            range,
            header,
            delimiter,
            columns: _,
            rows,
        } = self;
        range.shift(e);
        header.shift(e);
        delimiter.shift(e);
        rows.shift(e);
    }
}

impl Shift for StageMapRow {
    fn shift(&mut self, e: &EditShift) {
        let StageMapRow {
            range,
            cells,
            stage,
            title,
            depends_on,
            steps,
        } = self;
        range.shift(e);
        cells.shift(e);
        stage.shift(e);
        title.shift(e);
        depends_on.shift(e);
        steps.shift(e);
    }
}

impl Shift for Stage {
    fn shift(&mut self, e: &EditShift) {
        let Stage {
            number: _,
            number_range,
            title,
            heading,
            heading_level: _,
            section,
            steps,
            exit_contract,
            validation,
            to_document_end: _,
        } = self;
        number_range.shift(e);
        title.shift(e);
        heading.shift(e);
        section.shift(e);
        steps.shift(e);
        exit_contract.shift(e);
        validation.shift(e);
    }
}

impl Shift for StepTable {
    fn shift(&mut self, e: &EditShift) {
        let StepTable {
            heading,
            heading_level: _,
            table,
        } = self;
        heading.shift(e);
        table.shift(e);
    }
}

impl Shift for StepRows {
    fn shift(&mut self, e: &EditShift) {
        let StepRows {
            range,
            header,
            header_cells,
            missing_columns: _,
            effective_rows,
            all_rows,
        } = self;
        range.shift(e);
        header.shift(e);
        header_cells.shift(e);
        effective_rows.shift(e);
        all_rows.shift(e);
    }
}

impl Shift for ExitContract {
    fn shift(&mut self, e: &EditShift) {
        let ExitContract {
            heading,
            heading_level: _,
            predicted,
            content_end,
        } = self;
        heading.shift(e);
        e.end(content_end);
        predicted.shift(e);
    }
}

impl Shift for PredictedFiles {
    fn shift(&mut self, e: &EditShift) {
        let PredictedFiles { item, text, files } = self;
        item.shift(e);
        text.shift(e);
        files.shift(e);
    }
}

impl Shift for PredictedPath {
    fn shift(&mut self, e: &EditShift) {
        let PredictedPath {
            path: _,
            range,
            kind: _,
        } = self;
        range.shift(e);
    }
}

impl Shift for Validation {
    fn shift(&mut self, e: &EditShift) {
        let Validation {
            heading,
            heading_level: _,
            items,
            content_end,
        } = self;
        heading.shift(e);
        items.shift(e);
        e.end(content_end);
    }
}

impl Shift for Verification {
    fn shift(&mut self, e: &EditShift) {
        let Verification {
            heading,
            heading_level: _,
            table,
            rows,
            scope,
        } = self;
        scope.shift(e);
        table.shift(e);
        heading.shift(e);
        rows.shift(e);
    }
}

impl Shift for VerificationRow {
    fn shift(&mut self, e: &EditShift) {
        let VerificationRow {
            range,
            classification,
            majority_disagree: _,
            refs,
        } = self;
        range.shift(e);
        classification.shift(e);
        refs.shift(e);
    }
}

impl Shift for ClarificationRef {
    fn shift(&mut self, e: &EditShift) {
        let ClarificationRef { id: _, range } = self;
        range.shift(e);
    }
}

impl Shift for Clarifications {
    fn shift(&mut self, e: &EditShift) {
        let Clarifications {
            heading,
            heading_level: _,
            table,
            content_end,
            scope,
        } = self;
        scope.shift(e);
        heading.shift(e);
        e.end(content_end);
        table.shift(e);
    }
}

impl Shift for ClarificationTable {
    fn shift(&mut self, e: &EditShift) {
        let ClarificationTable {
            range,
            header_cells,
            rows,
        } = self;
        range.shift(e);
        header_cells.shift(e);
        rows.shift(e);
    }
}

impl Shift for Clarification {
    fn shift(&mut self, e: &EditShift) {
        let Clarification {
            range,
            id,
            statement,
            expected,
            blocks,
        } = self;
        range.shift(e);
        id.shift(e);
        statement.shift(e);
        expected.shift(e);
        blocks.shift(e);
    }
}
