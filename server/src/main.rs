use std::process::ExitCode;

use clap::{CommandFactory, Parser};
use okstra_lsp::cli::{self, Cli, Command};

fn main() -> ExitCode {
    let cli = Cli::parse();
    if cli.command.is_some() {
        quiet_on_closed_pipe();
    }
    match &cli.command {
        Some(Command::Check(args)) => cli::check(args),
        Some(Command::Fix(args)) => cli::fix(args),
        Some(Command::Batch(command)) => cli::batch(command),
        Some(Command::Graph(args)) => cli::graph(args),
        None if cli.stdio => {
            okstra_lsp::lsp::serve(cli.log_level.as_deref(), cli.log_file.as_deref())
        }
        None => {
            let _ = Cli::command().print_help();
            ExitCode::SUCCESS
        }
    }
}

/// `okstra-lsp check . | head` ends quietly when `head` closes the pipe, as
/// other command-line tools do (Rust ignores SIGPIPE, so a print to a
/// closed pipe would be an error, reported as an internal one). Not for
/// `--stdio`: there a closed output is the client leaving.
fn quiet_on_closed_pipe() {
    #[cfg(unix)]
    // SAFETY: restores the default disposition of one signal, before any
    // thread is started.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}
