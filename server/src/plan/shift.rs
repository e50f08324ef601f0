//! Moving the plan model's byte ranges across an edit (the outline's move in
//! `syntax::shift`), so parts an edit did not touch are reused.

pub(crate) use crate::syntax::shift::{EditShift, Shift};

use crate::plan::model::*;

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

impl Shift for Spans {
    fn shift(&mut self, e: &EditShift) {
        self.shift_by(e);
    }
}

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
            missing_columns: _,
            effective_rows,
            last_row,
        } = self;
        range.shift(e);
        header.shift(e);
        effective_rows.shift(e);
        last_row.shift(e);
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
