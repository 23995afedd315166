//! Command-line arguments, parsed in one place ([`Cli`]) and turned into a plan in another
//! ([`GradeArgs::plan`]): one submission, or a class graded in parallel.

use crate::tr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::batch::{self, BatchPlan, Shard};
use crate::grade::GradeOptions;
pub use crate::report::output::{outputs, Destination, Format, Output, ReportTarget};

#[derive(Debug, Parser)]
#[command(
    name = "harness",
    version,
    about = "Grades systems-programming exercises (`harness list` names them)"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
    /// Exercises declared in files, read before anything else (repeatable): a declared
    /// exercise's file, a folder holding its `exercise.toml`, or a folder of such folders.
    /// Also read from `HARNESS_EXERCISE_FILES` (paths separated by `:`), which the
    /// gradings of a class inherit.
    #[arg(long = "exercise-file", global = true, value_name = "PATH")]
    pub exercise_files: Vec<PathBuf>,
    /// The language of reports, `list` and `explain` (default: the config's `[report] lang`,
    /// else English). Ids, statuses and the JSON's keys are the same in every language.
    #[arg(long, global = true, value_enum, value_name = "LANG")]
    pub lang: Option<crate::i18n::Lang>,
}

/// Where the exercise files read by this process are handed to the processes it starts.
pub const EXERCISE_FILES_VAR: &str = "HARNESS_EXERCISE_FILES";

impl Cli {
    /// Reads the declared exercises of `--exercise-file` and `HARNESS_EXERCISE_FILES`, and
    /// passes them on to child gradings through the variable. A mistake in a file stops
    /// the run, naming it at its line and column.
    pub fn read_exercise_files(&self) -> Result<(), String> {
        let inherited = std::env::var_os(EXERCISE_FILES_VAR).unwrap_or_default();
        let mut all: Vec<PathBuf> = std::env::split_paths(&inherited)
            .filter(|p| !p.as_os_str().is_empty())
            .collect();
        for p in &self.exercise_files {
            all.push(std::path::absolute(p).unwrap_or_else(|_| p.clone()));
        }
        for p in &all {
            crate::exercises::declared::register(p)?;
        }
        if !all.is_empty() {
            let joined = std::env::join_paths(&all).map_err(|e| e.to_string())?;
            // Set once, before any thread of ours is started.
            std::env::set_var(EXERCISE_FILES_VAR, joined);
        }
        Ok(())
    }

    /// The config file of the command, if it has one (for its `[report] lang`).
    pub fn config(&self) -> Option<&std::path::Path> {
        match &self.command {
            Command::Grade(g) => g.config.as_deref(),
            Command::List { config } | Command::Explain { config, .. } => config.as_deref(),
            _ => None,
        }
    }

    /// The language to write in: `--lang`, else the config's `[report] lang`, else English.
    /// A config that cannot be read says so later, where it is read for grading.
    pub fn lang(&self) -> crate::i18n::Lang {
        self.lang
            .or_else(|| {
                let names = crate::grade::names();
                let file = crate::config::ConfigFile::read(self.config()?, &names).ok()?;
                file.report.lang
            })
            .unwrap_or_default()
    }
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Grade a submission (a directory holding an exercise's programs, or one program), or a
    /// whole class: a roster directory whose subdirectories are the students, or several
    /// paths.
    Grade(GradeArgs),
    /// The exercises, their checks and the points of each.
    List {
        /// Show the points of this config file (one exercise's or a class's) instead of
        /// the shipped ones.
        #[arg(long, value_name = "FILE")]
        config: Option<PathBuf>,
    },
    /// What a check does, why a submission fails it, and how to fix it.
    Explain {
        /// A check id, or exercise and id (`EXERCISE:CHECK`), as `harness list` shows them.
        check: String,
        /// Show the points of this config file (one exercise's or a class's) instead of
        /// the shipped ones.
        #[arg(long, value_name = "FILE")]
        config: Option<PathBuf>,
    },
    /// Merge the JSON reports of several gradings or batches (e.g. shards) into one table.
    Merge(MergeArgs),
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
        /// Grade each submission also as this exercise (a declared one, read with
        /// `--exercise-file`), alternating with its own, and print both medians and their
        /// ratio instead of the fixed-sleep comparison.
        #[arg(long, value_name = "EXERCISE")]
        against: Option<String>,
    },
    /// Measure the grader's transfer rate against a plain socket copy of the same bytes.
    BenchTransfer {
        /// Size of the file transferred, in MiB.
        #[arg(long, default_value_t = 256)]
        mib: u64,
        /// Transfers of each kind.
        #[arg(long, default_value_t = 5)]
        runs: usize,
    },
    /// Measure batch throughput: a class of copies of the given samples, graded at each
    /// `--jobs` value; prints submissions per minute.
    BenchBatch(BenchBatchArgs),
}

#[derive(Debug, Args)]
pub struct GradeArgs {
    /// The submission; or a roster directory (its subdirectories are the students); or
    /// several submissions.
    #[arg(required = true)]
    pub paths: Vec<PathBuf>,
    #[command(flatten)]
    pub out: OutputArgs,
    /// Config file laid over the shipped exercise configs: one exercise's tables, or
    /// several exercises' under their names (`[EXERCISE.checks]`): one file for a class.
    /// Only the keys you change; a mistake is refused with its line and column.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Grade the path as one submission, even when it is laid out like a roster.
    #[arg(long)]
    pub submission: bool,
    /// Python interpreter for .py submissions (a name on PATH or a path); the real
    /// executable behind a wrapper such as pyenv's is resolved and reported.
    #[arg(long, value_name = "PY", default_value = "python3")]
    pub python: String,
    /// Leave out what differs between runs (times, process ids, the run's temporary
    /// directory, the isolation of this machine), for snapshots and diffs.
    #[arg(long)]
    pub stable: bool,
    /// Human report: list the isolation the program ran under item by item (one line
    /// otherwise; the JSON report always holds every item).
    #[arg(long)]
    pub verbose: bool,
    /// The exercise (`harness list` names them), instead of recognising it by the programs
    /// present.
    #[arg(long, value_name = "NAME")]
    pub exercise: Option<String>,
    /// Class: how many submissions to grade at once (default: the number of cores).
    #[arg(long, value_name = "N")]
    pub jobs: Option<usize>,
    /// Class: also write the table as CSV.
    #[arg(long, value_name = "FILE")]
    pub csv: Option<PathBuf>,
    /// Class: grade only shard K of N (students sorted by name, every N-th from the K-th).
    #[arg(long, value_name = "K/N")]
    pub shard: Option<Shard>,
    /// Class: write each student's JSON report to DIR/<student>.json.
    #[arg(long, value_name = "DIR")]
    pub reports_dir: Option<PathBuf>,
    /// Class: seconds after which one student's grading is killed and reported as an error
    /// (a safety net: the grader has its own, shorter, deadlines).
    #[arg(long, value_name = "SECS", default_value_t = batch::DEFAULT_TIMEOUT_SECS)]
    pub timeout: u64,
}

/// Where the report goes and in which formats (`grade` and `merge`).
#[derive(Debug, Args)]
pub struct OutputArgs {
    /// Report format (of the table, for a class or a merge).
    #[arg(long, value_enum, default_value = "human")]
    pub format: Format,
    /// Write the report here instead of standard output.
    #[arg(long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Also write the report in another format to a file (repeatable):
    /// `--report junit=report.xml --report markdown=summary.md`.
    #[arg(long = "report", value_name = "FORMAT=FILE")]
    pub reports: Vec<ReportTarget>,
}

impl OutputArgs {
    /// Every rendering asked for: the main one (`--format`, `--output`), then `--report`s.
    pub fn outputs(&self) -> Result<Vec<Output>, String> {
        outputs(self.format, &self.output, &self.reports)
    }
}

/// What `harness grade` is to do.
#[derive(Debug)]
pub enum Plan {
    /// Grade one submission in this process.
    Single {
        path: PathBuf,
        options: GradeOptions,
        outputs: Vec<Output>,
        /// The human report lists the isolation item by item.
        verbose: bool,
    },
    /// Grade a class, a child process per submission.
    Batch(BatchPlan),
}

impl GradeArgs {
    /// The grading options passed to every grading.
    pub fn options(&self) -> GradeOptions {
        GradeOptions {
            exercise: self.exercise.clone(),
            config: self.config.clone(),
            python: self.python.clone(),
            stable: self.stable,
        }
    }

    /// One submission or a class: a class when several paths are given, when the one path
    /// is laid out as a roster (`batch::roster`) and `--submission` is not given, or when a
    /// class-only option is given.
    pub fn plan(&self) -> Result<Plan, String> {
        if let Some(name) = &self.exercise {
            // Checked here, not by clap: declared exercises are read after parsing.
            crate::grade::exercise(name)?;
        }
        let outputs = self.out.outputs()?;
        let class_option = self.csv.is_some() || self.shard.is_some() || self.reports_dir.is_some();
        let students = match self.paths.as_slice() {
            [_] if self.submission => None,
            [one] => match batch::roster(one)? {
                Some(students) => Some(students),
                None if class_option => Some(batch::students_of(&self.paths)),
                None => None,
            },
            many => Some(batch::students_of(many)),
        };
        match students {
            None => Ok(Plan::Single {
                path: self.paths[0].clone(),
                options: self.options(),
                outputs,
                verbose: self.verbose,
            }),
            Some(students) => {
                if let Some(o) = outputs.iter().find(|o| o.format == Format::Gradescope) {
                    return Err(tr!("the {format} format is for one submission; grade a class with --reports-dir, \
                         or grade each submission on its own", format = o.format.name()));
                }
                if self.jobs == Some(0) {
                    return Err(tr!("--jobs must be at least 1").into());
                }
                if self.timeout == 0 {
                    return Err(tr!("--timeout must be at least 1 second").into());
                }
                Ok(Plan::Batch(BatchPlan {
                    students,
                    options: self.options(),
                    outputs,
                    csv: self.csv.clone(),
                    shard: self.shard,
                    reports_dir: self.reports_dir.clone(),
                    jobs: self.jobs.unwrap_or_else(batch::default_jobs),
                    timeout: std::time::Duration::from_secs(self.timeout),
                }))
            }
        }
    }
}

#[derive(Debug, Args)]
pub struct MergeArgs {
    /// JSON files written by `harness grade --format json` (one report, several, or a class).
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
    #[command(flatten)]
    pub out: OutputArgs,
    /// Also write the table as CSV.
    #[arg(long, value_name = "FILE")]
    pub csv: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct BenchBatchArgs {
    /// Sample submissions to copy into the class (directories).
    #[arg(required = true)]
    pub samples: Vec<PathBuf>,
    /// Copies of each sample.
    #[arg(long, default_value_t = 50)]
    pub copies: usize,
    /// Parallelism to measure (repeatable).
    #[arg(long = "jobs", default_values_t = [1, 2])]
    pub jobs: Vec<usize>,
    /// Python interpreter for .py submissions.
    #[arg(long, default_value = "python3")]
    pub python: String,
}
