//! The `harness` binary: parse, run, exit with 0 (all passed), 1 (something failed) or 2
//! (could not grade).

use std::io::IsTerminal;
use std::process::ExitCode;

use clap::Parser;

use harness::batch::{self, table};
use harness::cli::{Cli, Command, Plan};
use harness::report::output::{write_to, Destination, Format, Output};
use harness::report::{gradescope, human};
use harness::supervise::interrupt;
use harness::{bench, catalog, grade};

fn main() -> ExitCode {
    let cli = Cli::parse();
    harness::i18n::set(cli.lang());
    if let Err(e) = interrupt::install() {
        eprintln!("harness: cannot watch for Ctrl-C and SIGTERM: {e}");
        return ExitCode::from(2);
    }
    kill_descendants_on_panic();
    let outcome = cli.read_exercise_files().and_then(|()| run(cli));
    if let Some(sig) = interrupt::interrupted() {
        eprintln!(
            "harness: interrupted by {sig}: grading stopped, every process it started killed, no report written"
        );
        return ExitCode::from(interrupt::exit_status(sig));
    }
    match outcome {
        Ok(code) => ExitCode::from(code),
        Err(message) => {
            eprintln!("harness: {message}");
            ExitCode::from(2)
        }
    }
}

fn run(cli: Cli) -> Result<u8, String> {
    match cli.command {
        Command::Grade(args) => match args.plan()? {
            Plan::Single {
                path,
                options,
                outputs,
                verbose,
            } => grade_one(&path, &options, &outputs, verbose),
            Plan::Batch(plan) => batch::run(&plan),
        },
        Command::List { config } => {
            print(&catalog::list(config.as_deref())?);
            Ok(0)
        }
        Command::Explain { check, config } => {
            print(&catalog::explain(&check, config.as_deref())?);
            Ok(0)
        }
        Command::Merge(args) => {
            let outputs = args.out.outputs()?;
            let results = table::merge(&args.files)?;
            table::write_outputs(&results, &outputs, args.csv.as_deref())?;
            Ok(if results.iter().all(|r| r.all_passed()) {
                0
            } else {
                1
            })
        }
        Command::Bench {
            paths,
            runs,
            baseline_runs,
            python,
            against: None,
        } => bench::run(&paths, runs, baseline_runs, &python).map(|()| 0),
        Command::Bench {
            paths,
            runs,
            python,
            against: Some(other),
            ..
        } => bench::against(&paths, &other, runs, &python).map(|()| 0),
        Command::BenchTransfer { mib, runs } => bench::transfer(mib, runs).map(|()| 0),
        Command::BenchBatch(args) => {
            batch::bench::run(&args.samples, args.copies, &args.jobs, &args.python).map(|()| 0)
        }
    }
}

/// A bug of the grader's own must not leave the submission running: when the main thread
/// panics (which ends the grader), every process below the grader is killed first. A
/// helper thread's panic is not fatal (its joiner reports it), and neither is a panic in a
/// check's judge (it becomes that check's `error` verdict), so they kill nothing.
fn kill_descendants_on_panic() {
    let report = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        if std::thread::current().name() == Some("main") && !harness::grading::checklist::judging()
        {
            let deadline = std::time::Instant::now() + std::time::Duration::from_secs(2);
            harness::supervise::cleanup::kill_live_descendants(&[], deadline);
        }
        report(info);
    }));
}

/// Grades one submission in this process and writes every rendering asked for.
fn grade_one(
    path: &std::path::Path,
    options: &grade::GradeOptions,
    outputs: &[Output],
    verbose: bool,
) -> Result<u8, String> {
    let reports = match grade::grade_path(path, options) {
        Ok(r) => r,
        Err(e) => {
            // Gradescope shows the student why, instead of an autograder failure.
            for o in outputs
                .iter()
                .filter(|o| matches!(o.format, Format::Gradescope | Format::GradescopeHtml))
            {
                write_to(&o.to, &gradescope::to_json(&gradescope::error_results(&e)))?;
            }
            return Err(e);
        }
    };
    if interrupt::interrupted().is_some() {
        // The checks were cut short: a report of them would be wrong. `main` says why.
        return Ok(1);
    }
    for o in outputs {
        let color = o.format == Format::Human
            && o.to == Destination::Stdout
            && std::io::stdout().is_terminal()
            && std::env::var_os("NO_COLOR").is_none();
        let style = human::Style { color, verbose };
        write_to(&o.to, &o.format.render(&reports, style))?;
    }
    Ok(if reports.iter().any(|r| r.incomplete()) {
        // A check the grader could not carry out: the grade is not final.
        2
    } else if reports.iter().all(|r| r.all_passed()) {
        0
    } else {
        1
    })
}

fn print(text: &str) {
    let _ = write_to(&Destination::Stdout, text);
}
