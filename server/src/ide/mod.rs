//! Editor features over the plan model, in byte offsets: what is at a
//! position, definitions, references, hover text, outline, folding,
//! completion. The LSP layer only converts positions and types.
//!
//! Invariant: no LSP types, no I/O.

use std::ops::Range;

use crate::plan::config::Config;
use crate::plan::model::{Plan, Span};
use crate::syntax;

/// A plan entity under the cursor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    Stage(u32),
    Clarification(u32),
}

/// Where the entity was found (decides "definition" vs "back").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hit {
    pub target: Target,
    pub range: Span,
    pub place: Place,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Place {
    StageHeading,
    MapStageCell,
    DependsOn,
    ClassificationRef,
    ClarificationId,
}

fn contains(r: &Span, offset: usize) -> bool {
    r.start <= offset && offset <= r.end
}

/// The entity at `offset`, if any.
pub fn at(plan: &Plan, offset: usize) -> Option<Hit> {
    for row in plan.map_rows() {
        if !contains(&row.range, offset) {
            continue;
        }
        if let (Some(&n), Some(span)) = (row.stage.value(), row.stage.span())
            && contains(&span, offset)
        {
            return Some(Hit {
                target: Target::Stage(n),
                range: span,
                place: Place::MapStageCell,
            });
        }
        for d in row.deps() {
            if contains(&d.range, offset) {
                return Some(Hit {
                    target: Target::Stage(d.stage),
                    range: d.range.clone(),
                    place: Place::DependsOn,
                });
            }
        }
    }
    for s in &plan.stages {
        if contains(&s.heading, offset) {
            return Some(Hit {
                target: Target::Stage(s.number),
                range: s.number_range.clone(),
                place: Place::StageHeading,
            });
        }
    }
    if let Some(v) = &plan.verification {
        for row in v.rows.iter().filter(|r| contains(&r.range, offset)) {
            for r in &row.refs {
                if contains(&r.range, offset) {
                    return Some(Hit {
                        target: Target::Clarification(r.id),
                        range: r.range.clone(),
                        place: Place::ClassificationRef,
                    });
                }
            }
        }
    }
    if let Some(t) = plan.clarifications.as_ref().and_then(|c| c.table.as_ref()) {
        for row in &t.rows {
            if let (Some(&id), Some(span)) = (row.id.value(), row.id.span())
                && contains(&span, offset)
            {
                return Some(Hit {
                    target: Target::Clarification(id),
                    range: span,
                    place: Place::ClarificationId,
                });
            }
        }
    }
    None
}

/// What a rename at `offset` renames, and the digits it replaces: a stage
/// number where `at` finds one, or a `Stage N` / `SN` mention in the places
/// a rename rewrites; a `C-<N>` in 4.5.9 or §5.
pub fn rename_at(src: &str, plan: &Plan, offset: usize) -> Option<(Target, Span)> {
    use crate::check::fixes::renumber;
    if let Some(hit) = at(plan, offset) {
        return Some((hit.target, renumber::last_digits(src, &hit.range)?));
    }
    renumber::stage_mentions(src, plan)
        .into_iter()
        .find(|m| contains(&m.digits, offset))
        .map(|m| (Target::Stage(m.stage), m.digits))
}

/// The file paths a plan predicts, as (range, normalised path): the Exit
/// Contracts' predicted files and the paths in the step tables' `files`
/// cells. Folders and globs are left out: a link opens one file.
pub fn predicted_files(src: &str, plan: &Plan) -> Vec<(Span, String)> {
    use crate::plan::model::{PathKind, PredictedPath};
    let mut found: Vec<PredictedPath> = Vec::new();
    for s in &plan.stages {
        found.extend(s.predicted().iter().cloned());
        let Some(rows) = s.steps.as_ref().and_then(|t| t.table.as_ref()) else {
            continue;
        };
        let Some(col) = rows.column(src, "files") else {
            continue;
        };
        for cell in rows.column_cells(src, col) {
            crate::plan::paths::collect_paths(src, cell, &mut found);
        }
    }
    found.sort_by_key(|p| p.range.start);
    found
        .into_iter()
        .filter(|p| p.kind == PathKind::File)
        .map(|p| (p.range, p.path))
        .collect()
}

/// Go to definition: a stage reference goes to the stage heading (or its map
/// row when it has no section); a `C-<N>` in 4.5.9 goes to its §5 row, and a
/// §5 ID goes back to the 4.5.9 cells that name it.
pub fn definition(plan: &Plan, offset: usize) -> Vec<Span> {
    let Some(hit) = at(plan, offset) else {
        return Vec::new();
    };
    match (hit.target, hit.place) {
        (Target::Stage(n), _) => plan
            .stage(n)
            .map(|s| s.heading.clone())
            .or_else(|| plan.map_row(n).map(|r| r.range.clone()))
            .into_iter()
            .collect(),
        (Target::Clarification(id), Place::ClarificationId) => clarification_refs(plan, id),
        (Target::Clarification(id), _) => clarification_rows(plan, id),
    }
}

fn clarification_rows(plan: &Plan, id: u32) -> Vec<Span> {
    plan.clarifications
        .iter()
        .flat_map(|c| c.table.iter().flat_map(|t| t.rows.iter()))
        .filter(|r| r.id.value() == Some(&id))
        .map(|r| r.range.clone())
        .collect()
}

fn clarification_refs(plan: &Plan, id: u32) -> Vec<Span> {
    plan.verification
        .iter()
        .flat_map(|v| v.rows.iter().flat_map(|r| r.refs.iter()))
        .filter(|r| r.id == id)
        .map(|r| r.range.clone())
        .collect()
}

/// Every mention of the entity at `offset` (declaration included when asked).
pub fn references(plan: &Plan, offset: usize, include_declaration: bool) -> Vec<Span> {
    let Some(hit) = at(plan, offset) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    match hit.target {
        Target::Stage(n) => {
            if include_declaration {
                out.extend(
                    plan.stages
                        .iter()
                        .filter(|s| s.number == n)
                        .map(|s| s.number_range.clone()),
                );
            }
            for row in plan.map_rows() {
                if row.stage.value() == Some(&n) {
                    out.extend(row.stage.span());
                }
                out.extend(
                    row.deps()
                        .iter()
                        .filter(|d| d.stage == n)
                        .map(|d| d.range.clone()),
                );
            }
        }
        Target::Clarification(id) => {
            out.extend(clarification_refs(plan, id));
            if include_declaration
                && let Some(t) = plan.clarifications.as_ref().and_then(|c| c.table.as_ref())
            {
                out.extend(
                    t.rows
                        .iter()
                        .filter(|r| r.id.value() == Some(&id))
                        .filter_map(|r| r.id.span()),
                );
            }
        }
    }
    out.sort_by_key(|r| r.start);
    out.dedup();
    out
}

/// Markdown describing a stage: title, steps against the cap, depends-on,
/// predicted files, and `extra` lines (readiness, from the batch layer).
pub fn stage_hover(
    src: &str,
    plan: &Plan,
    n: u32,
    config: &Config,
    extra: &[String],
) -> Option<String> {
    let stage = plan.stage(n);
    let row = plan.map_row(n);
    if stage.is_none() && row.is_none() {
        return None;
    }
    let title = stage
        .map(|s| src.get(s.title.clone()).unwrap_or(""))
        .or_else(|| {
            row.and_then(|r| r.title.as_ref())
                .map(|t| src.get(t.clone()).unwrap_or(""))
        })
        .unwrap_or("");
    let mut lines = vec![format!("**Stage {n}** — {title}")];
    if let Some(s) = stage {
        let steps = s.effective_steps();
        let over = if steps > config.cap {
            " (over the cap)"
        } else {
            ""
        };
        let claimed = row
            .and_then(|r| r.steps.value())
            .map_or(String::new(), |c| format!(" · Stage Map says {c}"));
        lines.push(format!(
            "Effective steps: {steps} / {}{over}{claimed}",
            config.cap
        ));
    }
    if let Some(r) = row {
        let deps: Vec<String> = r
            .deps()
            .iter()
            .map(|d| format!("Stage {}", d.stage))
            .collect();
        lines.push(format!(
            "depends-on: {}",
            if deps.is_empty() {
                "(none)".to_string()
            } else {
                deps.join(", ")
            }
        ));
    } else {
        lines.push("Not in the Stage Map".to_string());
    }
    if let Some(s) = stage {
        let files: Vec<String> = s
            .predicted()
            .iter()
            .map(|p| format!("`{}`", p.path))
            .collect();
        lines.push(format!(
            "Predicted files: {}",
            if files.is_empty() {
                "none".to_string()
            } else {
                files.join(", ")
            }
        ));
    }
    lines.extend(extra.iter().cloned());
    Some(lines.join("  \n"))
}

/// An outline entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Symbol {
    pub name: String,
    pub detail: Option<String>,
    pub kind: SymbolKind,
    pub range: Span,
    pub selection: Span,
    pub children: Vec<Symbol>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SymbolKind {
    Section,
    Stage,
    Subsection,
    Table,
}

/// The plan's outline: Stage Map, each stage with its subsections, 4.5.9, §5.
///
/// Long on purpose: the outline is built in document order, part by part, as
/// a reader sees it.
pub fn symbols(src: &str, plan: &Plan) -> Vec<Symbol> {
    let mut out = Vec::new();
    let text = |r: &Span| {
        src.get(r.clone())
            .unwrap_or("")
            .trim_start_matches('#')
            .trim()
            .to_string()
    };
    if let Some(m) = &plan.stage_map {
        let end = m.table.as_ref().map_or(m.heading.end, |t| t.range.end);
        out.push(Symbol {
            name: text(&m.heading),
            detail: Some(format!("{} stages", plan.map_rows().len())),
            kind: SymbolKind::Section,
            range: m.heading.start..end,
            selection: m.heading.clone(),
            children: Vec::new(),
        });
    }
    for s in &plan.stages {
        let mut children = Vec::new();
        let mut sub = |name: &str, heading: &Span, end: usize| {
            children.push(Symbol {
                name: name.to_string(),
                detail: None,
                kind: SymbolKind::Subsection,
                range: heading.start..end.max(heading.end).min(s.section.end.max(heading.end)),
                selection: heading.clone(),
                children: Vec::new(),
            })
        };
        if let Some(t) = &s.steps {
            sub(
                "Stepwise Execution Order",
                &t.heading,
                t.table.as_ref().map_or(t.heading.end, |x| x.range.end),
            );
        }
        if let Some(c) = &s.exit_contract {
            sub("Stage Exit Contract", &c.heading, c.content_end);
        }
        if let Some(v) = &s.validation {
            sub("Stage Validation", &v.heading, v.content_end);
        }
        children.sort_by_key(|c| c.range.start);
        out.push(Symbol {
            name: format!(
                "Stage {}: {}",
                s.number,
                src.get(s.title.clone()).unwrap_or("")
            ),
            detail: Some(format!("{} steps", s.effective_steps())),
            kind: SymbolKind::Stage,
            range: s.section.start..s.section.end.max(s.heading.end),
            selection: s.heading.clone(),
            children,
        });
    }
    if let Some(v) = &plan.verification {
        let end = v.rows.last().map_or(v.heading.end, |r| r.range.end);
        out.push(Symbol {
            name: text(&v.heading),
            detail: Some(format!("{} rows", v.rows.len())),
            kind: SymbolKind::Table,
            range: v.heading.start..end,
            selection: v.heading.clone(),
            children: Vec::new(),
        });
    }
    if let Some(c) = &plan.clarifications {
        out.push(Symbol {
            name: text(&c.heading),
            detail: Some(format!(
                "{} items",
                c.table.as_ref().map_or(0, |t| t.rows.len())
            )),
            kind: SymbolKind::Section,
            range: c.heading.start..c.content_end.max(c.heading.end),
            selection: c.heading.clone(),
            children: Vec::new(),
        });
    }
    out.sort_by_key(|s| s.range.start);
    out
}

/// Foldable ranges: each stage section, the Stage Map, 4.5.9 and §5.
pub fn folding(src: &str, plan: &Plan) -> Vec<Span> {
    let mut out: Vec<Span> = symbols(src, plan).into_iter().map(|s| s.range).collect();
    out.sort_by_key(|r| r.start);
    out
}

/// A completion proposal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Completion {
    pub label: String,
    pub detail: String,
}

/// The raw cell (between pipes) of a row that holds `offset`, as its index.
fn column_at(src: &str, row: &Range<usize>, offset: usize) -> Option<usize> {
    syntax::split_row(src, row.clone())
        .iter()
        .position(|c| c.start <= offset && offset <= c.end)
}

/// Completion in a Stage Map depends-on cell (stage numbers) and in a 4.5.9
/// Classification cell (`C-<N>` ids, plus the next free one).
pub fn completions(src: &str, plan: &Plan, offset: usize) -> Vec<Completion> {
    if let Some(t) = plan.stage_map.as_ref().and_then(|m| m.table.as_ref())
        && let Some(row) = t.rows.iter().find(|r| contains(&r.range, offset))
        && column_at(src, &row.range, offset) == t.columns.depends_on
        && t.columns.depends_on.is_some()
    {
        let own = row.stage.value().copied();
        let taken: Vec<u32> = row.deps().iter().map(|d| d.stage).collect();
        return plan
            .map_rows()
            .iter()
            .filter_map(|r| r.stage.value().map(|n| (*n, r)))
            .filter(|(n, _)| Some(*n) != own && !taken.contains(n))
            .map(|(n, r)| Completion {
                label: n.to_string(),
                detail: r.title.as_ref().map_or(String::new(), |t| {
                    src.get(t.clone()).unwrap_or("").to_string()
                }),
            })
            .collect();
    }
    if let Some(v) = &plan.verification
        && let Some(row) = v.rows.iter().find(|r| contains(&r.range, offset))
    {
        let in_class = row.classification.as_ref().is_some_and(|c| {
            let cols = syntax::split_row(src, row.range.clone());
            let idx = column_at(src, &row.range, offset);
            idx.is_some()
                && idx
                    .and_then(|i| cols.get(i))
                    .is_some_and(|cell| cell.start <= c.start && c.end <= cell.end)
        });
        if in_class {
            let rows = plan.clarifications.as_ref().and_then(|c| c.table.as_ref());
            let mut out: Vec<Completion> = rows
                .iter()
                .flat_map(|t| t.rows.iter())
                .filter_map(|r| {
                    let id = *r.id.value()?;
                    let statement = r
                        .statement
                        .as_ref()
                        .and_then(|s| src.get(s.clone()))
                        .unwrap_or("");
                    Some(Completion {
                        label: format!("C-{id}"),
                        detail: statement.chars().take(80).collect(),
                    })
                })
                .collect();
            let next = next_clarification_id(plan);
            out.push(Completion {
                label: format!("C-{next}"),
                detail: "new clarification (add its §5 row)".into(),
            });
            return out;
        }
    }
    Vec::new()
}

/// One more than the largest `C-<N>` used anywhere in the plan.
pub fn next_clarification_id(plan: &Plan) -> u32 {
    let rows = plan.clarifications.iter().flat_map(|c| {
        c.table
            .iter()
            .flat_map(|t| t.rows.iter().filter_map(|r| r.id.value().copied()))
    });
    let refs = plan
        .verification
        .iter()
        .flat_map(|v| v.rows.iter().flat_map(|r| r.refs.iter().map(|x| x.id)));
    rows.chain(refs).max().unwrap_or(0) + 1
}

#[cfg(test)]
mod tests {
    use super::*;

    const SRC: &str = "## Stage Map\n| Stage | Title | depends-on | Steps |\n|---|---|---|---|\n| 1 | a | (none) | 0 |\n| 2 | b | 1 | 0 |\n| 3 | c |  | 0 |\n### Stage 1: a\n### Stage 2: b\n### 4.5.9 Plan Body Verification\n| Plan item | claude | codex | Classification |\n|---|---|---|---|\n| x | A | D | majority-disagree → C-1 |\n## 5. Clarification Items\n| ID | Kind | Statement | Expected form | Blocks |\n|---|---|---|---|---|\n| C-1 | d | Why? | e | approval |\n";

    fn plan() -> Plan {
        crate::plan::model::parse(SRC, &Config::default())
    }

    #[test]
    fn definition_and_back() {
        let p = plan();
        let dep = SRC.find("| 1 | 0 |").unwrap() + 2;
        let def = definition(&p, dep);
        assert_eq!(&SRC[def[0].clone()], "### Stage 1: a");
        let c_ref = SRC.find("C-1 |").unwrap();
        let def = definition(&p, c_ref);
        assert!(SRC[def[0].clone()].starts_with("| C-1 | d | Why?"));
        let row_id = SRC.rfind("C-1").unwrap();
        let back = definition(&p, row_id + 1);
        assert_eq!(back, vec![c_ref..c_ref + 3]);
    }

    #[test]
    fn references_of_a_stage() {
        let p = plan();
        let heading = SRC.find("Stage 1: a").unwrap() + 6;
        let refs: Vec<&str> = references(&p, heading, true)
            .into_iter()
            .map(|r| &SRC[r])
            .collect();
        assert_eq!(refs, ["1", "1", "1"]);
    }

    #[test]
    fn completion_in_depends_on_and_classification() {
        let p = plan();
        let empty_dep = SRC.find("| c |  |").unwrap() + 6;
        let labels: Vec<String> = completions(SRC, &p, empty_dep)
            .into_iter()
            .map(|c| c.label)
            .collect();
        assert_eq!(labels, ["1", "2"]);
        let class = SRC.find("majority-disagree").unwrap() + 3;
        let labels: Vec<String> = completions(SRC, &p, class)
            .into_iter()
            .map(|c| c.label)
            .collect();
        assert_eq!(labels, ["C-1", "C-2"]);
        assert!(completions(SRC, &p, 3).is_empty());
    }

    #[test]
    fn outline_nests_subsections() {
        let src = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../fixtures/plans/valid-nested.md"
        ))
        .unwrap_or_default();
        let p = crate::plan::model::parse(&src, &Config::default());
        let syms = symbols(&src, &p);
        let names: Vec<&str> = syms.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names[0], "4.5 Stage Map");
        assert_eq!(names[1], "Stage 1: Fix parser");
        assert_eq!(syms[1].children.len(), 3);
        assert_eq!(names.last(), Some(&"5. Clarification Items"));
        let hover = stage_hover(&src, &p, 2, &Config::default(), &[]).unwrap_or_default();
        assert!(hover.contains("Effective steps: 2 / 6"), "{hover}");
        assert!(hover.contains("depends-on: Stage 1"), "{hover}");
    }
}
