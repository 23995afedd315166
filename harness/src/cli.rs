//! Command-line arguments, parsed in one place and turned into a plan in another.

use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};

#[derive(Debug, Parser)]
#[command(
    name = "harness",
    version,
    about = "Grades systems-programming exercises (the bus program)"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Human,
    Json,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Grade one submission: a directory (with bus.py or an executable bus) or a file.
    Grade {
        /// The submission.
        path: PathBuf,
        /// Report format.
        #[arg(long, value_enum, default_value = "human")]
        format: Format,
        /// Write the report here instead of standard output.
        #[arg(long)]
        output: Option<PathBuf>,
        /// Exercise config to use instead of the shipped exercises/bus/exercise.toml.
        #[arg(long)]
        config: Option<PathBuf>,
        /// Python interpreter for .py submissions (name on PATH or path).
        #[arg(long, default_value = "python3")]
        python: String,
        /// Leave out what differs between runs (pids, times), for snapshots and diffs.
        #[arg(long)]
        stable: bool,
        /// The exercise, instead of detecting it from the files present.
        #[arg(long, value_enum)]
        exercise: Option<crate::grade::Exercise>,
    },
    /// Measure grading time: this grader against the fixed-sleep way, same machine, same run.
    Bench {
        /// Submissions to grade (directories or files).
        paths: Vec<PathBuf>,
        /// Gradings per submission with this grader.
        #[arg(long, default_value_t = 21)]
        runs: usize,
        /// Gradings per submission the fixed-sleep way (about 9 s each).
        #[arg(long, default_value_t = 3)]
        baseline_runs: usize,
        /// Python interpreter for .py submissions.
        #[arg(long, default_value = "python3")]
        python: String,
    },
}
