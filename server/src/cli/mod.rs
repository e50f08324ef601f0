//! The command line: `check`, `fix`, `batch preview|reserve` and `graph` (`--stdio`
//! is wired by `main.rs` to `lsp::serve`).
//!
//! Exit status everywhere: 0 success, 1 findings of severity error (or, for
//! `batch`, nothing selectable), 2 usage or I/O error with one line on stderr.
//! `check` and `fix` work file by file: a file that cannot be read (or, for
//! `fix`, is not UTF-8 or cannot be written), or whose work panics, gets one
//! line `okstra-lsp: PATH: message` on stderr, the other files are still
//! done, and the status is 2. No command exits 101 (a panic) on any input.

mod junit;
pub mod report;
mod sarif;

use std::cell::{Cell, RefCell};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::check::rules::Severity;
use crate::plan::config::Config;

#[derive(Debug, Parser)]
#[command(
    name = "okstra-lsp",
    version,
    about = "Language server and checker for okstra implementation plans"
)]
pub struct Cli {
    /// Run the language server over stdin/stdout.
    #[arg(long)]
    pub stdio: bool,
    /// Log level for the server (error, warn, info, debug, trace); also OKSTRA_LSP_LOG.
    #[arg(long, global = true, value_name = "LEVEL")]
    pub log_level: Option<String>,
    /// Also write the server's log to this file.
    #[arg(long, global = true, value_name = "PATH")]
    pub log_file: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check plans and print diagnostics (folders are walked for *.md).
    Check(CheckArgs),
    /// Apply the fixes that have exactly one right answer (step-count cells,
    /// §5 rows for orphan C-<N> references).
    Fix(FixArgs),
    /// Preview or reserve the next implementation run batch.
    #[command(subcommand)]
    Batch(BatchCommand),
    /// Draw the depends-on graph in waves: each stage's status, the next
    /// batch, cycles and overlaps (SVG, mermaid or Graphviz DOT).
    Graph(GraphArgs),
}

#[derive(Debug, Args)]
pub struct GraphArgs {
    /// The plan (runs/<plan-task-key>/<dir>/<plan>.md); the stages' status comes from
    /// consumers.jsonl two folders up, as for `batch`.
    #[arg(value_name = "PLAN")]
    pub plan: PathBuf,
    /// Output format: svg (a self-contained picture), mermaid (renders on GitHub), dot (Graphviz).
    #[arg(long, value_enum, default_value_t = GraphFormat::Svg)]
    pub format: GraphFormat,
    /// Waves left to right (lr) or top to bottom (tb).
    #[arg(long, value_enum, default_value_t = GraphDirection::Lr)]
    pub direction: GraphDirection,
    /// Steps one run may take, for the next batch [default: runBudget of --config, else 8].
    #[arg(long, value_parser = positive)]
    pub budget: Option<usize>,
    /// The next batch may take stages another run started but did not finish (okstra's own behaviour).
    #[arg(long)]
    pub include_started: bool,
    /// A JSON settings file, the same keys as the server's `okstra` settings (runBudget,
    /// includeStarted, labelAliases, severityOverrides: an overlap code turned off is not drawn).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Write the graph to FILE instead of stdout.
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    pub output: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum GraphFormat {
    Svg,
    Mermaid,
    Dot,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum GraphDirection {
    /// Left to right: each wave a column.
    Lr,
    /// Top to bottom: each wave a row.
    Tb,
}

#[derive(Debug, Args)]
pub struct FixArgs {
    /// Print a unified diff instead of writing the files.
    #[arg(long)]
    pub dry_run: bool,
    /// Also renumber the stages 1..n in the order of their sections, every
    /// reference with them (refused for a plan whose consumers.jsonl has
    /// started or done rows for a stage whose number would change).
    #[arg(long)]
    pub renumber: bool,
    /// With --renumber: renumber even when consumers.jsonl has rows for
    /// those stages (their rows then name the old numbers).
    #[arg(long, requires = "renumber")]
    pub force: bool,
    #[command(flatten)]
    pub config: ConfigArgs,
    /// Plan files or folders.
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum BatchCommand {
    /// Show which stages the next run takes; writes nothing.
    Preview(BatchArgs),
    /// Reserve the next batch: append `started` rows to consumers.jsonl under an exclusive lock.
    Reserve(ReserveArgs),
}

#[derive(Debug, Args)]
pub struct BatchArgs {
    /// The plan (runs/<plan-task-key>/<dir>/<plan>.md).
    #[arg(value_name = "PLAN")]
    pub plan: PathBuf,
    /// `auto` (ready stages within the budget) or one stage number.
    #[arg(long, default_value = "auto")]
    pub stage: String,
    /// Steps one run may take (okstra's RUN_STEP_BUDGET) [default: runBudget of --config, else 8].
    #[arg(long, value_parser = positive)]
    pub budget: Option<usize>,
    /// Also take stages another run started but did not finish (okstra's own behaviour).
    #[arg(long)]
    pub include_started: bool,
    /// A JSON settings file, the same keys as the server's `okstra` settings
    /// (cap, runBudget, includeStarted, labelAliases, severityOverrides, maxDocumentBytes).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Output format (json: the same camelCase object the LSP commands return).
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

#[derive(Debug, Args)]
pub struct ReserveArgs {
    #[command(flatten)]
    pub batch: BatchArgs,
    /// The implementation task key recorded in each `started` row.
    #[arg(long, value_name = "KEY", required = true)]
    pub impl_key: String,
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Output format: text (`file:line:col: severity[code] message`), json
    /// (the documented array, with each finding's fix), github (workflow
    /// commands: annotations on a pull request's files), sarif (SARIF 2.1.0),
    /// junit (JUnit XML, one test case per file). `--format` is the same option.
    #[arg(long = "output-format", visible_alias = "format", value_enum, default_value_t = CheckFormat::Text)]
    pub format: CheckFormat,
    /// With sarif: each rule's `helpUri` is BASE<code>.md (an absolute URL,
    /// e.g. https://example.com/okstra-lsp/docs/rules/).
    #[arg(long, value_name = "BASE", value_parser = sarif::docs_base)]
    pub docs_url: Option<String>,
    #[command(flatten)]
    pub config: ConfigArgs,
    /// Plan files or folders.
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<PathBuf>,
}

/// Where `check` and `fix` take their configuration from.
#[derive(Debug, Args)]
pub struct ConfigArgs {
    /// Most effective steps per stage (okstra's cap) [default: cap of --config, else 6].
    #[arg(long, value_parser = positive)]
    pub cap: Option<usize>,
    /// A JSON settings file, the same keys as the server's `okstra` settings
    /// (cap, runBudget, includeStarted, labelAliases, severityOverrides, maxDocumentBytes).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
}

impl ConfigArgs {
    /// The file's settings with the flags laid over them.
    pub fn load(&self) -> Result<Config, CliError> {
        let mut config = load_config(self.config.as_deref())?;
        if let Some(cap) = self.cap {
            config.cap = cap;
        }
        Ok(config)
    }
}

/// Reads a settings file; a malformed file or value is a usage error (a
/// checker that silently ignores its configuration gives wrong answers).
pub(crate) fn load_config(path: Option<&Path>) -> Result<Config, CliError> {
    let Some(path) = path else {
        return Ok(Config::default());
    };
    let text = crate::io::files::read_settings(path).map_err(CliError)?;
    let value: serde_json::Value = serde_json::from_str(&text)
        .map_err(|e| CliError(format!("{}: not JSON: {e}", path.display())))?;
    // Accept the settings object itself or one wrapped as {"okstra": {...}}.
    let value = match value.get("okstra") {
        Some(inner) if inner.is_object() => inner.clone(),
        _ => value,
    };
    // The server ignores keys it does not know (clients send their own);
    // a file written for the CLI with a misspelt key is an error.
    let known = serde_json::to_value(Config::default()).unwrap_or_default();
    if let (Some(obj), Some(known)) = (value.as_object(), known.as_object()) {
        // `diagnosticMode` is the server's, so one file can serve both.
        let unknown = |k: &&String| !known.contains_key(*k) && *k != "diagnosticMode";
        if let Some(key) = obj.keys().find(unknown) {
            let keys: Vec<&str> = known.keys().map(String::as_str).collect();
            return Err(CliError(format!(
                "{}: unknown setting {key:?} (known: {})",
                path.display(),
                keys.join(", ")
            )));
        }
    }
    let (config, problems) = Config::from_json(&value);
    match problems.first() {
        // The server goes on with the default; the CLI stops.
        Some(p) => Err(CliError(format!(
            "{}: {}",
            path.display(),
            p.split("; using").next().unwrap_or(p)
        ))),
        None => Ok(config),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Text,
    Json,
}

/// `check`'s output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CheckFormat {
    Text,
    Json,
    /// GitHub Actions workflow commands (`::error file=…::message`).
    Github,
    /// SARIF 2.1.0 (code scanning).
    Sarif,
    /// JUnit XML (one test case per file checked).
    Junit,
}

/// A count that must be at least 1.
pub(crate) fn positive(s: &str) -> Result<usize, String> {
    match s.parse::<usize>() {
        Ok(0) => Err("must be at least 1".into()),
        Ok(n) => Ok(n),
        Err(e) => Err(e.to_string()),
    }
}

/// A usage or I/O problem: one line on stderr, exit 2.
#[derive(Debug)]
pub struct CliError(pub String);

impl std::fmt::Display for CliError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

pub fn fail(e: CliError) -> ExitCode {
    eprintln!("okstra-lsp: {e}");
    ExitCode::from(2)
}

/// Every `*.md` under the given paths (`io::walk::markdown`).
pub fn collect_markdown(paths: &[PathBuf]) -> Result<Vec<PathBuf>, CliError> {
    crate::io::walk::markdown(paths).map_err(CliError)
}

thread_local! {
    /// Set while one file's work runs under `per_file` on this thread.
    static IN_FILE: Cell<bool> = const { Cell::new(false) };
    /// What the panic hook saw of a panic under `per_file`.
    static PANICKED: RefCell<Option<String>> = const { RefCell::new(None) };
}

/// The message of a panic's payload.
fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "(no message)".to_string())
}

/// Runs one file's work. A panic in it (a bug) becomes that file's error,
/// `PATH: internal error: <message> at <place> (a bug: please report it)`,
/// instead of ending the process with status 101; a panic outside
/// `per_file` is reported by Rust's own hook as before.
fn per_file<T>(path: &Path, work: impl FnOnce() -> Result<T, CliError>) -> Result<T, CliError> {
    static HOOK: std::sync::Once = std::sync::Once::new();
    HOOK.call_once(|| {
        let default = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if IN_FILE.with(Cell::get) {
                let place = info
                    .location()
                    .map_or(String::new(), |l| format!(" at {}:{}", l.file(), l.line()));
                let message = panic_message(info.payload());
                PANICKED.with(|p| *p.borrow_mut() = Some(format!("{message}{place}")));
            } else {
                default(info);
            }
        }));
    });
    PANICKED.with(|p| p.borrow_mut().take());
    let outer = IN_FILE.with(|f| f.replace(true));
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        panic_test_hook(path);
        work()
    }));
    IN_FILE.with(|f| f.set(outer));
    result.unwrap_or_else(|payload| {
        let what = PANICKED
            .with(|p| p.borrow_mut().take())
            .unwrap_or_else(|| panic_message(payload.as_ref()));
        Err(CliError(format!(
            "{}: internal error: {what} (a bug: please report it)",
            path.display()
        )))
    })
}

/// Test hook, inert unless `OKSTRA_LSP_TEST_HOOKS=1`: with
/// `OKSTRA_LSP_TEST_PANIC_FILE=NAME`, the work on a file named `NAME` panics,
/// so the CLI tests can check that a bug in one file's work is that file's
/// error through the real binary.
fn panic_test_hook(path: &Path) {
    if std::env::var_os("OKSTRA_LSP_TEST_HOOKS").is_none_or(|v| v != "1") {
        return;
    }
    let name = std::env::var_os("OKSTRA_LSP_TEST_PANIC_FILE");
    if name.is_some() && path.file_name() == name.as_deref() {
        panic!("test hook: panicking on {}", path.display());
    }
}

/// Reads a regular file whole as text, whatever its size; invalid UTF-8 is
/// replaced, not refused (a plan with one bad byte still deserves its
/// diagnostics). Plans are read with [`read_plan`], which has a size limit.
pub fn read_text(path: &Path) -> Result<String, CliError> {
    match crate::io::files::read_document(path, usize::MAX).map_err(CliError)? {
        crate::io::files::Document::Text(text) => Ok(text),
        crate::io::files::Document::TooLarge { len, .. } => Err(CliError(format!(
            "{}: {len} bytes is too large to read",
            path.display()
        ))),
    }
}

/// Reads a plan: a regular file, whole when it is within
/// `maxDocumentBytes` (else only its start: `files::read_document`).
pub(crate) fn read_plan(
    path: &Path,
    config: &Config,
) -> Result<crate::io::files::Document, CliError> {
    crate::io::files::read_document(path, config.max_document_bytes).map_err(CliError)
}

pub fn check(args: &CheckArgs) -> ExitCode {
    let config = match args.config.load() {
        Ok(c) => c,
        Err(e) => return fail(e),
    };
    let files = match collect_markdown(&args.paths) {
        Ok(f) => f,
        Err(e) => return fail(e),
    };
    // Files are independent: check them on every core, print in path order.
    // Only the JSON carries fixes (working them out is not free).
    let results = match check_files(&files, &config, args.format == CheckFormat::Json) {
        Ok(r) => r,
        Err(e) => return fail(e),
    };
    // A file that could not be checked is reported; the others still are.
    let mut failures: Vec<String> = Vec::new();
    let mut all: Vec<&report::Reported> = Vec::new();
    for r in &results {
        match r {
            Ok(d) => all.extend(d),
            Err(e) => {
                eprintln!("okstra-lsp: {e}");
                failures.push(e.to_string());
            }
        }
    }
    let failed = failures.len();
    let errors = all
        .iter()
        .filter(|d| d.diagnostic.severity == Severity::Error.as_str())
        .count();
    let warnings = all
        .iter()
        .filter(|d| d.diagnostic.severity == Severity::Warning.as_str())
        .count();
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let written = match args.format {
        CheckFormat::Json => write_pretty(&mut out, &all),
        CheckFormat::Sarif => write_pretty(
            &mut out,
            &sarif::to_sarif(&all, &failures, args.docs_url.as_deref()),
        ),
        CheckFormat::Junit => {
            let cases: Vec<junit::Case> = files
                .iter()
                .zip(&results)
                .map(|(path, r)| junit::Case {
                    name: path.display().to_string(),
                    outcome: r.as_deref().map_err(ToString::to_string),
                })
                .collect();
            out.write_all(junit::to_junit(&cases).as_bytes())
        }
        CheckFormat::Text => all
            .iter()
            .try_for_each(|d| writeln!(out, "{}", report::to_text(&d.diagnostic))),
        CheckFormat::Github => all
            .iter()
            .try_for_each(|d| writeln!(out, "{}", report::to_github(&d.diagnostic))),
    };
    if let Err(e) = written.and_then(|_| out.flush())
        && e.kind() != std::io::ErrorKind::BrokenPipe
    {
        return fail(CliError(format!("writing the report: {e}")));
    }
    if args.format != CheckFormat::Json && (!all.is_empty() || failed > 0) {
        let failed_note = if failed > 0 {
            format!("; {failed} file(s) could not be checked")
        } else {
            String::new()
        };
        eprintln!(
            "Found {errors} error(s) and {warnings} warning(s) in {} file(s) checked{failed_note}.",
            files.len()
        );
    }
    if failed > 0 {
        ExitCode::from(2)
    } else if errors > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

/// Pretty JSON and a line break.
fn write_pretty(out: &mut impl Write, value: &impl serde::Serialize) -> std::io::Result<()> {
    serde_json::to_writer_pretty(&mut *out, value).map_err(std::io::Error::other)?;
    writeln!(out)
}

/// Each file's diagnostics, or why it could not be checked.
type Checked = Result<Vec<report::Reported>, CliError>;

/// Checks every file; `with_fixes`: each diagnostic carries its
/// `check::fixes::best_fix`.
fn check_files(
    files: &[PathBuf],
    config: &Config,
    with_fixes: bool,
) -> Result<Vec<Checked>, CliError> {
    on_all_cores(files, |path| {
        per_file(path, || match read_plan(path, config)? {
            crate::io::files::Document::Text(src) => {
                let findings = crate::analyze(&src, config);
                if !with_fixes || findings.is_empty() {
                    return Ok(report::to_reported(path, &src, &findings, &[]));
                }
                // The plan `fix` works on (`fix_all` parses it so too).
                let plan = crate::plan::model::parse(&src, config);
                let ctx = crate::check::fixes::FixContext::new(&src, &plan, config);
                let fixes: Vec<_> = findings
                    .iter()
                    .map(|f| crate::check::fixes::best_fix(&ctx, f))
                    .collect();
                Ok(report::to_reported(path, &src, &findings, &fixes))
            }
            // Not read whole: one finding at its start (plan-format §1).
            crate::io::files::Document::TooLarge { len, head } => {
                let findings = crate::io::files::too_large_findings(&head, len, config);
                Ok(report::to_reported(path, &head, &findings, &[]))
            }
        })
    })
    .ok_or_else(|| CliError("internal error while checking (a bug: please report it)".into()))
}

/// `f` of every file, in the files' order, computed on every available core;
/// `None` when `f` panicked. Each thread takes the next file from a shared
/// counter, so a few large plans among many small files (a repository's
/// `runs/`, all next to each other in path order) do not all land on one
/// core. `check` and the benchmark of its parse floor
/// (`examples/parse_floor.rs`) share it, so the floor is measured on the
/// same threads.
pub fn on_all_cores<T: Send>(files: &[PathBuf], f: impl Fn(&Path) -> T + Sync) -> Option<Vec<T>> {
    use std::sync::atomic::{AtomicUsize, Ordering};
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(files.len().max(1));
    let next = AtomicUsize::new(0);
    let (f, next) = (&f, &next);
    std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|_| {
                scope.spawn(move || {
                    let mut done = Vec::new();
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let Some(path) = files.get(i) else {
                            return done;
                        };
                        done.push((i, f(path)));
                    }
                })
            })
            .collect();
        let mut all: Vec<(usize, T)> = Vec::with_capacity(files.len());
        for h in handles {
            all.extend(h.join().ok()?);
        }
        all.sort_by_key(|(i, _)| *i);
        Some(all.into_iter().map(|(_, t)| t).collect())
    })
}

pub fn fix(args: &FixArgs) -> ExitCode {
    let config = match args.config.load() {
        Ok(c) => c,
        Err(e) => return fail(e),
    };
    let files = match collect_markdown(&args.paths) {
        Ok(f) => f,
        Err(e) => return fail(e),
    };
    let (mut total, mut failed) = (0, 0);
    for path in &files {
        // One file's failure is reported and the others are still fixed.
        match per_file(path, || fix_file(path, &config, args)) {
            Ok(applied) => total += applied,
            Err(e) => {
                eprintln!("okstra-lsp: {e}");
                failed += 1;
            }
        }
    }
    let verb = if args.dry_run { "Would fix" } else { "Fixed" };
    let failed_note = if failed > 0 {
        format!("; {failed} file(s) failed")
    } else {
        String::new()
    };
    eprintln!(
        "{verb} {total} issue(s) in {} file(s) checked{failed_note}.",
        files.len()
    );
    if failed > 0 {
        ExitCode::from(2)
    } else {
        ExitCode::SUCCESS
    }
}

/// How many rounds of safe fixes `fix` applies (one usually settles a plan;
/// a fix that needs another, such as a split making a step count wrong,
/// takes a second).
const FIX_ROUNDS: usize = 10;

/// Fixes one file (or prints its diff): how many fixes were applied.
fn fix_file(path: &Path, config: &Config, args: &FixArgs) -> Result<usize, CliError> {
    let dry_run = args.dry_run;
    // Over maxDocumentBytes a file is not analysed: nothing to fix.
    let Some(src) = read_utf8(path, config)? else {
        return Ok(0);
    };
    let (renumbered, moved) = if args.renumber {
        renumber_file(path, &src, config, args.force)?
    } else {
        (src.clone(), 0)
    };
    let crate::check::fixes::FixAll {
        text: fixed,
        applied,
        settled,
    } = crate::check::fixes::fix_all(&renumbered, config, FIX_ROUNDS);
    let applied = applied + moved;
    if !settled {
        // Each round applies whole fixes, so the text so far is still a
        // valid plan; but fixes that keep making work are a bug to report.
        eprintln!(
            "okstra-lsp: {}: the safe fixes did not settle after {FIX_ROUNDS} rounds (a bug: please report it); what they fixed so far is kept",
            path.display()
        );
    }
    if applied == 0 || fixed == src {
        return Ok(0);
    }
    if dry_run {
        // `a/` + an absolute path would read `a//tmp/…`.
        let name = path.display().to_string();
        let name = name.trim_start_matches('/');
        let diff = similar::TextDiff::from_lines(&src, &fixed);
        let diff = diff
            .unified_diff()
            .context_radius(3)
            .header(&format!("a/{name}"), &format!("b/{name}"))
            .to_string();
        let mut out = std::io::stdout().lock();
        if let Err(e) = out.write_all(diff.as_bytes()).and_then(|_| out.flush())
            && e.kind() != std::io::ErrorKind::BrokenPipe
        {
            let path = path.display();
            return Err(CliError(format!("{path}: writing the diff: {e}")));
        }
    } else {
        write_atomically(path, &fixed)?;
    }
    Ok(applied)
}

/// `src` with its stages renumbered 1..n, and how many stages moved.
fn renumber_file(
    path: &Path,
    src: &str,
    config: &Config,
    force: bool,
) -> Result<(String, usize), CliError> {
    use crate::check::fixes::{apply, renumber};
    let plan = crate::plan::model::parse(src, config);
    if !plan.is_plan() {
        return Ok((src.to_string(), 0));
    }
    let mapping = renumber::renumber_mapping(&plan)
        .map_err(|e| CliError(format!("{}: {e}", path.display())))?;
    if mapping.is_empty() {
        return Ok((src.to_string(), 0));
    }
    // A plan outside a run folder has no consumers.jsonl to keep in step.
    if !force && let Ok(consumers) = crate::run::consumers::path_for(path) {
        let status = crate::run::consumers::read(&consumers)
            .map_err(|e| CliError(format!("{}: {e}", path.display())))?
            .status;
        let hit = crate::run::batch::recorded(&status, mapping.keys().copied());
        if !hit.is_empty() {
            return Err(CliError(format!(
                "{}: not renumbered: {}",
                path.display(),
                crate::run::batch::recorded_refusal(&hit, "pass --force to renumber anyway")
            )));
        }
    }
    let edits = renumber::stage_edits(src, &plan, &mapping);
    Ok((apply(src, &edits), mapping.len()))
}

/// Reads a file that `fix` may rewrite (a regular file; `None` when it is
/// over `maxDocumentBytes`): invalid UTF-8 is refused (writing back a
/// replaced text would destroy the bytes it could not read).
fn read_utf8(path: &Path, config: &Config) -> Result<Option<String>, CliError> {
    let io = |e: std::io::Error| CliError(format!("{}: {e}", path.display()));
    let (mut file, meta) =
        crate::io::files::open_regular(path, std::fs::OpenOptions::new().read(true), false)
            .map_err(io)?;
    let limit = config.max_document_bytes as u64;
    let bytes = match crate::io::files::read_limited(&mut file, &meta, limit) {
        Ok(bytes) => bytes,
        Err(crate::io::files::TooLarge::Size(_)) => return Ok(None),
        Err(crate::io::files::TooLarge::Io(e)) => return Err(io(e)),
    };
    String::from_utf8(bytes).map(Some).map_err(|e| {
        CliError(format!(
            "{}: not UTF-8 (invalid byte at offset {}): left as it is",
            path.display(),
            e.utf8_error().valid_up_to()
        ))
    })
}

/// Writes beside the file and renames over it, so a failure loses nothing.
fn write_atomically(path: &Path, text: &str) -> Result<(), CliError> {
    let io = |e: std::io::Error| CliError(format!("{}: {e}", path.display()));
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("plan.md");
    let tmp = dir.join(format!(".{name}.okstra-fix.tmp"));
    std::fs::write(&tmp, text).map_err(io)?;
    if let Ok(meta) = std::fs::metadata(path) {
        let _ = std::fs::set_permissions(&tmp, meta.permissions());
    }
    std::fs::rename(&tmp, path).map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        io(e)
    })
}

pub fn batch(command: &BatchCommand) -> ExitCode {
    let plan = match command {
        BatchCommand::Preview(a) => &a.plan,
        BatchCommand::Reserve(r) => &r.batch.plan,
    };
    // A bug is reported against the plan (status 2), not as a panic.
    match per_file(plan, || Ok(batch_run(command))) {
        Ok(code) => code,
        Err(e) => fail(e),
    }
}

fn batch_run(command: &BatchCommand) -> ExitCode {
    let (args, key) = match command {
        BatchCommand::Preview(a) => (a, None),
        BatchCommand::Reserve(r) => (&r.batch, Some(r.impl_key.as_str())),
    };
    let done = batch_outcome(args, key);
    let (value, summary, notes) = match done {
        Ok(done) => done,
        Err(Failed::Cli(e)) => return fail(e),
        Err(Failed::Run(e)) => {
            for note in &e.notes {
                eprintln!("okstra-lsp: {note}");
            }
            eprintln!("okstra-lsp: {e}");
            // Nothing selectable is okstra's answer, not an error of use.
            return ExitCode::from(if e.kind.is_unselectable() { 1 } else { 2 });
        }
    };
    for note in &notes {
        eprintln!("okstra-lsp: {note}");
    }
    match args.format {
        Format::Json => println!(
            "{}",
            serde_json::to_string_pretty(&value).unwrap_or_default()
        ),
        Format::Text => println!("{summary}"),
    }
    ExitCode::SUCCESS
}

/// `okstra-lsp graph`: 0 written, 2 usage or I/O error, or not a plan.
pub fn graph(args: &GraphArgs) -> ExitCode {
    match per_file(&args.plan, || graph_text(args)) {
        Ok((text, notes)) => {
            for note in &notes {
                eprintln!("okstra-lsp: {note}");
            }
            match &args.output {
                Some(path) => match write_atomically(path, &text) {
                    Ok(()) => ExitCode::SUCCESS,
                    Err(e) => fail(e),
                },
                None => {
                    print!("{text}");
                    ExitCode::SUCCESS
                }
            }
        }
        Err(e) => fail(e),
    }
}

/// The graph's text and the notes on skipped lines of `consumers.jsonl`.
fn graph_text(args: &GraphArgs) -> Result<(String, Vec<String>), CliError> {
    use crate::graph::{Direction, Format, GraphOptions, StageGraph};
    use crate::run::{consumers, service};

    let config = load_config(args.config.as_deref())?;
    let src = match read_plan(&args.plan, &config)? {
        crate::io::files::Document::Text(s) => s,
        crate::io::files::Document::TooLarge { len, .. } => {
            return Err(CliError(format!(
                "{}: {len} bytes, over the {}-byte limit (maxDocumentBytes): not read",
                args.plan.display(),
                config.max_document_bytes
            )));
        }
    };
    let plan = crate::plan::model::parse(&src, &config);
    if !plan.is_plan() {
        return Err(CliError(format!(
            "{}: not a plan (no Stage Map heading)",
            args.plan.display()
        )));
    }
    let path = consumers::path_for(&args.plan).map_err(|e| CliError(e.message))?;
    let read = consumers::read(&path).map_err(|e| CliError(e.message))?;
    let notes = service::notes(&path, &read.invalid, read.invalid_omitted);
    let facts = crate::check::facts::Facts::new(&plan);
    let mut options = GraphOptions::from_config(&config);
    if let Some(budget) = args.budget {
        options.budget = budget;
    }
    options.include_started |= args.include_started;
    options.direction = match args.direction {
        GraphDirection::Lr => Direction::LeftToRight,
        GraphDirection::Tb => Direction::TopToBottom,
    };
    let graph = StageGraph::build(&src, &plan, &facts, &read.status, &options);
    let format = match args.format {
        GraphFormat::Svg => Format::Svg,
        GraphFormat::Mermaid => Format::Mermaid,
        GraphFormat::Dot => Format::Dot,
    };
    Ok((graph.render(format), notes))
}

fn to_json(v: &impl serde::Serialize) -> serde_json::Value {
    serde_json::to_value(v).unwrap_or_default()
}

enum Failed {
    Cli(CliError),
    Run(crate::run::error::RunError),
}

/// The service's result for the plan: its JSON, its summary and its notes.
fn batch_outcome(
    args: &BatchArgs,
    key: Option<&str>,
) -> Result<(serde_json::Value, String, Vec<String>), Failed> {
    use crate::run::batch::{Options, Requested};
    use crate::run::error::{ErrorKind, RunError};
    use crate::run::{consumers, service};

    let requested = Requested::parse(&args.stage)
        .map_err(|e| Failed::Run(RunError::new(ErrorKind::InvalidStage, e)))?;
    let config = load_config(args.config.as_deref()).map_err(Failed::Cli)?;
    let options = Options {
        requested,
        budget: args.budget.unwrap_or(config.run_budget),
        include_started: args.include_started || config.include_started,
    };
    let src = match read_plan(&args.plan, &config) {
        Ok(crate::io::files::Document::Text(s)) => s,
        Ok(crate::io::files::Document::TooLarge { len, .. }) => {
            return Err(Failed::Run(RunError::new(
                ErrorKind::TooLarge,
                format!(
                    "{}: {len} bytes, over the {}-byte limit (maxDocumentBytes): not read",
                    args.plan.display(),
                    config.max_document_bytes
                ),
            )));
        }
        Err(e) => return Err(Failed::Run(RunError::new(ErrorKind::PlanUnreadable, e.0))),
    };
    let plan = crate::plan::model::parse(&src, &config);
    if !plan.is_plan() {
        return Err(Failed::Run(RunError::new(
            ErrorKind::NotAPlan,
            format!("{}: not a plan (no Stage Map heading)", args.plan.display()),
        )));
    }
    let stages = crate::run::batch::stages(&plan);
    let path = consumers::path_for(&args.plan).map_err(Failed::Run)?;
    let request = service::Request {
        stages: &stages,
        options,
        consumers_path: &path,
        list_limit: None,
    };
    let disk = consumers::Disk::default();
    match key {
        None => {
            let p = service::preview(&disk, &request).map_err(Failed::Run)?;
            Ok((to_json(&p), p.summary, p.notes))
        }
        Some(key) => {
            let r = service::reserve(&disk, &request, key).map_err(Failed::Run)?;
            Ok((to_json(&r), r.summary, r.notes))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn per_file_turns_a_panic_into_that_files_error() {
        let path = Path::new("plans/bad.md");
        let e = per_file::<()>(path, || panic!("boom {}", 7)).unwrap_err();
        assert!(
            e.0.starts_with("plans/bad.md: internal error: boom 7 at ")
                && e.0.contains("cli/mod.rs:")
                && e.0.ends_with(" (a bug: please report it)"),
            "{e}"
        );
        // The work's own results and errors pass through unchanged.
        assert_eq!(per_file(path, || Ok(3)).unwrap(), 3);
        let e = per_file::<()>(path, || Err(CliError("x.md: gone".into()))).unwrap_err();
        assert_eq!(e.0, "x.md: gone");
    }

    #[test]
    fn a_panic_in_one_file_on_all_cores_leaves_the_others_their_results() {
        let files: Vec<PathBuf> = ["a.md", "b.md", "c.md", "d.md"]
            .iter()
            .map(PathBuf::from)
            .collect();
        let results = on_all_cores(&files, |p| {
            per_file(p, || {
                if p == Path::new("b.md") {
                    panic!("no plan in {}", p.display());
                }
                Ok(p.display().to_string())
            })
        })
        .expect("no thread panicked");
        let shown: Vec<String> = results
            .into_iter()
            .map(|r| r.unwrap_or_else(|e| e.0))
            .collect();
        assert_eq!(shown[0], "a.md");
        assert!(
            shown[1].starts_with("b.md: internal error: no plan in b.md at "),
            "{shown:?}"
        );
        assert_eq!(shown[2..], ["c.md", "d.md"]);
    }

    #[test]
    fn check_files_reports_an_unreadable_file_and_checks_the_others() {
        let dir = std::env::temp_dir().join(format!("okstra-cli-unit-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let good = dir.join("good.md");
        std::fs::write(&good, "## Stage Map\n| Stage | Title | depends-on | Steps |\n|---|---|---|---|\n| 1 | a | 9 | 0 |\n").unwrap();
        let files = vec![dir.join("missing.md"), good.clone()];
        let results = check_files(&files, &Config::default(), false).expect("no thread panicked");
        let _ = std::fs::remove_dir_all(&dir);
        assert!(
            matches!(&results[0], Err(e) if e.0.starts_with(&format!("{}: ", files[0].display()))),
            "{results:?}"
        );
        let codes: Vec<&str> = results[1]
            .as_ref()
            .unwrap()
            .iter()
            .map(|d| d.diagnostic.code.as_str())
            .collect();
        assert!(codes.contains(&"depends-on-unknown"), "{codes:?}");
    }
}
