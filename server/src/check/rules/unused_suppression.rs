//! ## What it checks
//!
//! A suppression comment ([plan-format
//! §3.2](../plan-format.md#32-suppression-comments)) that silences no finding:
//!
//! - `<!-- okstra-lsp-disable-next-line CODE -->` when no `CODE` finding starts on the
//!   next line;
//! - `<!-- okstra-lsp-disable CODE -->` … `<!-- okstra-lsp-enable CODE -->` when no
//!   `CODE` finding starts inside the region;
//! - the same comments without a code, when no finding at all starts on the lines
//!   they cover.
//!
//! Reported on the comment.
//!
//! ## Why it matters in okstra
//!
//! Not an okstra rule: it keeps suppressions honest. A comment written for a finding
//! that has since been fixed would silently hide the next, unrelated finding of that
//! code on the same line or in the same region. A code that is misspelt in the
//! comment silences nothing and is reported here too.
//!
//! ## How to fix
//!
//! Delete the comment, or the codes in it that no longer apply. If the finding moved
//! (the comment must be on the line right above the line the finding starts on),
//! move the comment.
//!
//! **Code actions:** None.
//!
//! ## Configuration
//!
//! Change its severity, or turn it off, with the `severityOverrides` setting (section
//! `okstra`, through `workspace/configuration` or `initializationOptions`):
//!
//! ```json
//! { "okstra": { "severityOverrides": { "unused-suppression": "off" } } }
//! ```
//!
//! Values: `"error"`, `"warning"`, `"info"` (`"hint"` is shown as info) or `"off"`.
//! `okstra-lsp check` always reports the default severities, and exits 1 only for
//! errors.

use super::{Reads, Rule, Severity};

pub(crate) const RULE: Rule = Rule {
    code: "unused-suppression",
    severity: Severity::Warning,
    summary: "an `okstra-lsp-disable` comment silences nothing",
    source: "checker",
    reads: Reads::Plan,
    // Not run with the rules: `suppress::apply` reports it, after them.
    check: |_, _| {},
    fix: None,
};
