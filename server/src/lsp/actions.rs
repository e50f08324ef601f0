//! Code actions (plan-format §4): quick fixes attached to diagnostics and
//! refactors offered on stage headings; the edits come from `fixes`.

use tower_lsp_server::ls_types::{self as lsp, Uri};

use super::{OpenDoc, Settings};

pub(super) fn code_actions(
    _uri: &Uri,
    _open: &OpenDoc,
    _s: &Settings,
    _params: &lsp::CodeActionParams,
) -> Vec<lsp::CodeActionOrCommand> {
    Vec::new()
}
