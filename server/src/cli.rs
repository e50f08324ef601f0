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
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    /// Most effective steps per stage (okstra's cap).
    #[arg(long, default_value_t = crate::config::DEFAULT_CAP, value_parser = positive)]
    pub cap: usize,
    /// Plan files or folders.
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<PathBuf>,
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
    let mut out = Vec::new();
    for p in paths {
        let meta = std::fs::metadata(p).map_err(|e| CliError(format!("{}: {e}", p.display())))?;
        if meta.is_dir() {
            walk(p, &mut out)?;
        } else {
            out.push(p.clone());
        }
    }
    Ok(out)
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> Result<(), CliError> {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .map_err(|e| CliError(format!("{}: {e}", dir.display())))?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .collect();
    entries.sort();
    for path in entries {
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
        if path.is_dir() {
            if !name.starts_with('.') && name != "target" && name != "node_modules" {
                walk(&path, out)?;
            }
        } else if name.ends_with(".md") || name.ends_with(".markdown") {
            out.push(path);
        }
    }
    Ok(())
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
    let config = Config {
        cap: args.cap,
        ..Config::default()
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
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(files.len().max(1));
    let chunk = files.len().div_ceil(threads).max(1);
    std::thread::scope(|scope| {
        let handles: Vec<_> = files
            .chunks(chunk)
            .map(|part| {
                scope.spawn(move || {
                    part.iter()
                        .map(|path| {
                            let src = read_text(path)?;
                            let findings = crate::analyze(&src, config);
                            Ok(report::to_json(path, &src, &findings))
                        })
                        .collect::<Result<Vec<_>, CliError>>()
                })
            })
            .collect();
        let mut all = Vec::new();
        for h in handles {
            match h.join() {
                Ok(part) => all.extend(part?),
                Err(_) => {
                    return Err(CliError(
                        "internal error while checking (a bug: please report it)".into(),
                    ));
                }
            }
        }
        Ok(all)
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
    ExitCode::SUCCESS
}
