//! The `harness` binary: parse, run, exit with 0 (all passed), 1 (something failed) or 2
//! (could not grade).

use std::io::{IsTerminal, Write};
use std::process::ExitCode;

use clap::Parser;

use harness::bench;
use harness::cli::{Cli, Command, Format};
use harness::grade::{self, GradeOptions};
use harness::report::{human, json};

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => code,
        Err(message) => {
            eprintln!("harness: {message}");
            ExitCode::from(2)
        }
    }
}

fn run(cli: Cli) -> Result<ExitCode, String> {
    match cli.command {
        Command::Grade {
            path,
            format,
            output,
            config,
            python,
            stable,
            exercise,
        } => {
            let opts = GradeOptions {
                exercise,
                config,
                python,
                stable,
            };
            let reports = grade::grade_path(&path, &opts)?;
            let to_terminal = output.is_none() && std::io::stdout().is_terminal();
            let style = human::Style {
                color: to_terminal && std::env::var_os("NO_COLOR").is_none(),
            };
            let text = match format {
                Format::Human => reports
                    .iter()
                    .map(|r| human::render(r, style))
                    .collect::<Vec<_>>()
                    .join("\n"),
                Format::Json if reports.len() == 1 => json::render(&reports[0]),
                Format::Json => json::render_many(&reports),
            };
            match output {
                Some(p) => std::fs::write(&p, text).map_err(|e| format!("{}: {e}", p.display()))?,
                None => {
                    let mut out = std::io::stdout().lock();
                    // A closed pipe (`| head`) is not an error.
                    let _ = out.write_all(text.as_bytes()).and_then(|_| out.flush());
                }
            }
            Ok(if reports.iter().all(|r| r.all_passed()) {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            })
        }
        Command::Bench {
            paths,
            runs,
            baseline_runs,
            python,
        } => bench::run(&paths, runs, baseline_runs, &python).map(|()| ExitCode::SUCCESS),
    }
}
