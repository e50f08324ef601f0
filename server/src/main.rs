use std::process::ExitCode;

use clap::{CommandFactory, Parser};
use okstra_lsp::cli::{self, Cli, Command};

fn main() -> ExitCode {
    let cli = Cli::parse();
    match &cli.command {
        Some(Command::Check(args)) => cli::check(args),
        Some(Command::Fix(args)) => cli::fix(args),
        Some(Command::Batch(command)) => cli::batch(command),
        None if cli.stdio => {
            okstra_lsp::lsp::serve(cli.log_level.as_deref(), cli.log_file.as_deref())
        }
        None => {
            let _ = Cli::command().print_help();
            ExitCode::SUCCESS
        }
    }
}
