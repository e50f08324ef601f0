//! The command line: `check` (and, with the server, `--stdio`).
//!
//! Exit status everywhere: 0 success, 1 findings of severity error (or, for
//! `batch`, nothing selectable), 2 usage or I/O error with one line on stderr.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::config::Config;
use crate::report;
use crate::rules::Severity;

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
}

#[derive(Debug, Args)]
pub struct FixArgs {
    /// Print a unified diff instead of writing the files.
    #[arg(long)]
    pub dry_run: bool,
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
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
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
pub fn load_config(path: Option<&Path>) -> Result<Config, CliError> {
    let Some(path) = path else {
        return Ok(Config::default());
    };
    let text =
        std::fs::read_to_string(path).map_err(|e| CliError(format!("{}: {e}", path.display())))?;
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

/// A count that must be at least 1.
pub fn positive(s: &str) -> Result<usize, String> {
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

/// Every `*.md` under the given paths, sorted, folders walked recursively
/// (hidden folders, `target` and `node_modules` skipped).
pub fn collect_markdown(paths: &[PathBuf]) -> Result<Vec<PathBuf>, CliError> {
    collect(paths, false)
}

/// `collect_markdown` that never leaves `roots`: symbolic links leading out
/// of them are not followed (the server's workspace walk, SECURITY.md).
pub fn collect_markdown_within(roots: &[PathBuf]) -> Result<Vec<PathBuf>, CliError> {
    collect(roots, true)
}

fn collect(paths: &[PathBuf], confine: bool) -> Result<Vec<PathBuf>, CliError> {
    let mut walk_state = Walk {
        seen: std::collections::HashSet::new(),
        roots: Vec::new(),
        confine,
        out: Vec::new(),
    };
    if confine {
        walk_state.roots = paths.iter().filter_map(|p| p.canonicalize().ok()).collect();
    }
    for p in paths {
        let meta = std::fs::metadata(p).map_err(|e| CliError(format!("{}: {e}", p.display())))?;
        let real = p.canonicalize().ok();
        if meta.is_dir() {
            let entries =
                std::fs::read_dir(p).map_err(|e| CliError(format!("{}: {e}", p.display())))?;
            if let Some(real) = real {
                walk_state.seen.insert(real);
            }
            walk_state.walk(entries);
        } else if real.is_none_or(|r| walk_state.seen.insert(r)) {
            // A file named twice (or also inside a named folder) counts once.
            walk_state.out.push(p.clone());
        }
    }
    Ok(walk_state.out)
}

struct Walk {
    /// Real paths already taken: folders walked and files listed.
    seen: std::collections::HashSet<PathBuf>,
    roots: Vec<PathBuf>,
    confine: bool,
    out: Vec<PathBuf>,
}

impl Walk {
    /// Walks a folder for markdown. Each real folder and file is visited
    /// once, so symbolic links that loop or lead to a place already walked
    /// add nothing; a subfolder that cannot be read is reported and skipped.
    fn walk(&mut self, entries: std::fs::ReadDir) {
        let mut entries: Vec<_> = entries.filter_map(Result::ok).map(|e| e.path()).collect();
        entries.sort();
        for path in entries {
            let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
            let is_dir = path.is_dir();
            let wanted = if is_dir {
                !name.starts_with('.') && name != "target" && name != "node_modules"
            } else {
                name.ends_with(".md") || name.ends_with(".markdown")
            };
            if !wanted {
                continue;
            }
            let real = match path.canonicalize() {
                Ok(real) => real,
                Err(e) => {
                    // A dangling link, or a file gone since the listing.
                    eprintln!("okstra-lsp: {}: skipped: {e}", path.display());
                    continue;
                }
            };
            if self.confine && !self.roots.iter().any(|r| real.starts_with(r)) {
                continue;
            }
            if !self.seen.insert(real) {
                continue;
            }
            if is_dir {
                match std::fs::read_dir(&path) {
                    Ok(sub) => self.walk(sub),
                    Err(e) => eprintln!("okstra-lsp: {}: skipped: {e}", path.display()),
                }
            } else {
                self.out.push(path);
            }
        }
    }
}

/// Reads a file as text; invalid UTF-8 is replaced, not refused (a plan with
/// one bad byte still deserves its diagnostics).
pub fn read_text(path: &Path) -> Result<String, CliError> {
    let bytes = std::fs::read(path).map_err(|e| CliError(format!("{}: {e}", path.display())))?;
    Ok(match String::from_utf8(bytes) {
        Ok(s) => s,
        Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
    })
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
    let results = match check_files(&files, &config) {
        Ok(r) => r,
        Err(e) => return fail(e),
    };
    let all: Vec<report::JsonDiagnostic> = results.into_iter().flatten().collect();
    let errors = all
        .iter()
        .filter(|d| d.severity == Severity::Error.as_str())
        .count();
    let warnings = all
        .iter()
        .filter(|d| d.severity == Severity::Warning.as_str())
        .count();
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let written = match args.format {
        Format::Json => serde_json::to_writer_pretty(&mut out, &all)
            .map_err(std::io::Error::other)
            .and_then(|_| writeln!(out)),
        Format::Text => all
            .iter()
            .try_for_each(|d| writeln!(out, "{}", report::to_text(d))),
    };
    if let Err(e) = written.and_then(|_| out.flush()) {
        if e.kind() != std::io::ErrorKind::BrokenPipe {
            return fail(CliError(format!("writing the report: {e}")));
        }
    }
    if args.format == Format::Text && !all.is_empty() {
        eprintln!(
            "Found {errors} error(s) and {warnings} warning(s) in {} file(s) checked.",
            files.len()
        );
    }
    if errors > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

fn check_files(
    files: &[PathBuf],
    config: &Config,
) -> Result<Vec<Vec<report::JsonDiagnostic>>, CliError> {
    let results = on_all_cores(files, |path| {
        let src = read_text(path)?;
        let findings = crate::analyze(&src, config);
        Ok(report::to_json(path, &src, &findings))
    })
    .ok_or_else(|| CliError("internal error while checking (a bug: please report it)".into()))?;
    results.into_iter().collect()
}

/// `f` of every file, in the files' order, computed on every available core
/// (one run of files per core); `None` when `f` panicked. `check` and the
/// benchmark of its parse floor (`examples/parse_floor.rs`) share it, so the
/// floor is measured on the same threads.
pub fn on_all_cores<T: Send>(files: &[PathBuf], f: impl Fn(&Path) -> T + Sync) -> Option<Vec<T>> {
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(files.len().max(1));
    let chunk = files.len().div_ceil(threads).max(1);
    let f = &f;
    std::thread::scope(|scope| {
        let handles: Vec<_> = files
            .chunks(chunk)
            .map(|part| scope.spawn(move || part.iter().map(|p| f(p)).collect::<Vec<T>>()))
            .collect();
        let mut all = Vec::with_capacity(files.len());
        for h in handles {
            all.extend(h.join().ok()?);
        }
        Some(all)
    })
}

/// `--stdio`: logs go to stderr (stdout belongs to the protocol) and, with
/// `--log-file`, to that file too.
pub fn serve(cli: &Cli) -> ExitCode {
    use tracing_subscriber::EnvFilter;
    use tracing_subscriber::fmt::writer::MakeWriterExt;

    let level = cli
        .log_level
        .clone()
        .or_else(|| std::env::var("OKSTRA_LSP_LOG").ok())
        .unwrap_or_else(|| "info".to_string());
    let filter = match EnvFilter::try_new(&level) {
        Ok(f) => f,
        Err(e) => return fail(CliError(format!("invalid log level {level:?}: {e}"))),
    };
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(false);
    let installed = match &cli.log_file {
        Some(path) => {
            let file = match std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
            {
                Ok(f) => f,
                Err(e) => return fail(CliError(format!("{}: {e}", path.display()))),
            };
            builder
                .with_writer(std::io::stderr.and(std::sync::Mutex::new(file)))
                .try_init()
        }
        None => builder.with_writer(std::io::stderr).try_init(),
    };
    let _ = installed;
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => return fail(CliError(format!("cannot start the runtime: {e}"))),
    };
    runtime.block_on(crate::lsp::run_stdio());
    if crate::lsp::exited_without_shutdown() {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
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
    let mut total = 0;
    for path in &files {
        let src = match read_text(path) {
            Ok(s) => s,
            Err(e) => return fail(e),
        };
        let (fixed, applied) = crate::fixes::fix_all(&src, &config, 10);
        if applied == 0 || fixed == src {
            continue;
        }
        total += applied;
        if args.dry_run {
            // `a/` + an absolute path would read `a//tmp/…`.
            let name = path.display().to_string();
            let name = name.trim_start_matches('/');
            let diff = similar::TextDiff::from_lines(&src, &fixed);
            print!(
                "{}",
                diff.unified_diff()
                    .context_radius(3)
                    .header(&format!("a/{name}"), &format!("b/{name}"))
            );
        } else if let Err(e) = write_atomically(path, &fixed) {
            return fail(e);
        }
    }
    let verb = if args.dry_run { "Would fix" } else { "Fixed" };
    eprintln!(
        "{verb} {total} issue(s) in {} file(s) checked.",
        files.len()
    );
    ExitCode::SUCCESS
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
    use crate::batch::{Options, Requested};
    use crate::consumers;

    let (args, key) = match command {
        BatchCommand::Preview(a) => (a, None),
        BatchCommand::Reserve(r) => (&r.batch, Some(r.impl_key.as_str())),
    };
    let requested = match Requested::parse(&args.stage) {
        Ok(r) => r,
        Err(e) => return fail(CliError(e)),
    };
    let config = match load_config(args.config.as_deref()) {
        Ok(c) => c,
        Err(e) => return fail(e),
    };
    let options = Options {
        requested,
        budget: args.budget.unwrap_or(config.run_budget),
        include_started: args.include_started || config.include_started,
    };
    let src = match read_text(&args.plan) {
        Ok(s) => s,
        Err(e) => return fail(e),
    };
    let plan = crate::model::parse(&src, &config);
    if !plan.is_plan() {
        return fail(CliError(format!(
            "{}: not a plan (no Stage Map heading)",
            args.plan.display()
        )));
    }
    let stages = crate::batch::stages(&plan);
    let path = match consumers::path_for(&args.plan) {
        Ok(p) => p,
        Err(e) => return fail(CliError(e)),
    };
    let (value, batch) = match key {
        None => {
            let read = match consumers::read(&path) {
                Ok(c) => c,
                Err(e) => return fail(CliError(e)),
            };
            report_invalid(&path, &read.invalid);
            match crate::batch::select(&stages, &read.status, &options) {
                Ok(b) => {
                    let mut v = serde_json::to_value(&b).unwrap_or_default();
                    if let Some(o) = v.as_object_mut() {
                        o.insert("consumersPath".into(), path.display().to_string().into());
                        o.insert(
                            "invalidLines".into(),
                            serde_json::to_value(&read.invalid).unwrap_or_default(),
                        );
                    }
                    (v, b)
                }
                Err(e) => {
                    eprintln!("okstra-lsp: {e}");
                    return ExitCode::from(1);
                }
            }
        }
        Some(key) => {
            let dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
            let head = consumers::head_commit(&dir);
            match consumers::reserve(&path, &stages, &options, key, &head, &consumers::now_utc()) {
                Ok(r) => {
                    report_invalid(&path, &r.invalid_lines);
                    (serde_json::to_value(&r).unwrap_or_default(), r.batch)
                }
                Err(consumers::ReserveError::Nothing(m)) => {
                    eprintln!("okstra-lsp: {m}");
                    return ExitCode::from(1);
                }
                Err(e) => return fail(CliError(e.to_string())),
            }
        }
    };
    match args.format {
        Format::Json => println!(
            "{}",
            serde_json::to_string_pretty(&value).unwrap_or_default()
        ),
        Format::Text => {
            let list = |v: &[u32]| {
                if v.is_empty() {
                    "(none)".to_string()
                } else {
                    v.iter()
                        .map(|n| n.to_string())
                        .collect::<Vec<_>>()
                        .join(", ")
                }
            };
            println!("{}", crate::batch::summary(&batch));
            println!("ready:   {}", list(&batch.ready));
            println!("done:    {}", list(&batch.done));
            let started: Vec<String> = batch
                .started
                .iter()
                .map(|s| format!("{} (by {})", s.stage, s.impl_task_key))
                .collect();
            println!(
                "started: {}",
                if started.is_empty() {
                    "(none)".into()
                } else {
                    started.join(", ")
                }
            );
            let blocked: Vec<String> = batch
                .blocked
                .iter()
                .map(|b| format!("{} (waiting on {})", b.stage, list(&b.waiting_on)))
                .collect();
            println!(
                "blocked: {}",
                if blocked.is_empty() {
                    "(none)".into()
                } else {
                    blocked.join(", ")
                }
            );
            if key.is_some() {
                println!("reserved in {}", path.display());
            }
        }
    }
    ExitCode::SUCCESS
}

fn report_invalid(path: &Path, invalid: &[crate::consumers::InvalidLine]) {
    for i in invalid {
        eprintln!(
            "okstra-lsp: {}:{}: skipped: {}",
            path.display(),
            i.line,
            i.reason
        );
    }
}
