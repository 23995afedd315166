//! The `harness` binary: parse, run, exit with 0 (all passed), 1 (something failed) or 2
//! (could not grade).

use std::io::{IsTerminal, Write};
use std::process::ExitCode;

use clap::Parser;

use harness::cli::{Cli, Command, Format};
use harness::config::bus::BusConfig;
use harness::report::{human, json};
use harness::{bench, submission};

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
        } => {
            let cfg = match &config {
                Some(p) => BusConfig::from_toml(
                    &harness::config::read_file(p).map_err(|e| e.to_string())?,
                    &p.display().to_string(),
                ),
                None => BusConfig::shipped(),
            }
            .map_err(|e| e.to_string())?;
            let entry = submission::locate(
                &path,
                &cfg.submission.python_entry,
                &cfg.submission.binary_entry,
            )
            .map_err(|e| e.to_string())?;
            let prepared =
                submission::prepare(&path, &entry, Some(&python)).map_err(|e| e.to_string())?;
            let report = harness::exercises::bus::grade(&cfg, &prepared, stable);
            let to_terminal = output.is_none() && std::io::stdout().is_terminal();
            let text = match format {
                Format::Human => human::render(
                    &report,
                    human::Style {
                        color: to_terminal && std::env::var_os("NO_COLOR").is_none(),
                    },
                ),
                Format::Json => json::render(&report),
            };
            match output {
                Some(p) => std::fs::write(&p, text).map_err(|e| format!("{}: {e}", p.display()))?,
                None => {
                    let mut out = std::io::stdout().lock();
                    // A closed pipe (`| head`) is not an error.
                    let _ = out.write_all(text.as_bytes()).and_then(|_| out.flush());
                }
            }
            Ok(if report.all_passed() {
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
