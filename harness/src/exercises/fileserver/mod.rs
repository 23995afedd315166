//! The file server exercise: a TCP server over a library directory, graded with the grader
//! as its client; and an interactive client, graded in a terminal against the reference
//! server.

pub mod client_checks;
pub mod library;
pub mod refserver;
pub mod server;
pub mod server_checks;

use std::path::Path;
use std::time::Instant;

use crate::config::fileserver::{FileserverConfig, CHECKS};
use crate::report::{CheckOutcome, Report, Status, SubmissionInfo, SCHEMA_VERSION};
use crate::submission::{self, Prepared};
use crate::supervise::cleanup;
use crate::supervise::isolation::Sandbox;
use crate::supervise::limits::RunLimits;
use std::sync::Arc;

/// How long the final cleanup of a run may take.
const CLEANUP_MS: u64 = 3000;

/// A random token, so secrets and escape targets of parallel gradings never clash.
fn token() -> String {
    let mut b = [0u8; 8];
    if let Ok(mut f) = std::fs::File::open("/dev/urandom") {
        use std::io::Read;
        let _ = f.read_exact(&mut b);
    }
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn prepare_part(
    path: &Path,
    py: &str,
    bin: &str,
    python: &str,
) -> Option<Result<Prepared, String>> {
    let present = if path.is_dir() {
        path.join(py).is_file() || path.join(bin).is_file()
    } else {
        let stem = path.file_stem().and_then(|s| s.to_str()).unwrap_or("");
        stem == py.trim_end_matches(".py") || stem == bin
    };
    if !present {
        return None;
    }
    Some(
        submission::locate(path, py, bin)
            .map_err(|e| e.to_string())
            .and_then(|entry| {
                submission::prepare(path, &entry, Some(python)).map_err(|e| e.to_string())
            }),
    )
}

/// Grades the server and the client found at `path`.
pub fn grade(
    cfg: &FileserverConfig,
    path: &Path,
    python: &str,
    stable: bool,
) -> Result<Report, String> {
    let t0 = Instant::now();
    cleanup::become_subreaper().ok();
    cleanup::ignore_student_signals();
    let names = &cfg.submission;
    let server = prepare_part(path, &names.server_python, &names.server_binary, python);
    let client = prepare_part(path, &names.client_python, &names.client_binary, python);
    if server.is_none() && client.is_none() {
        return Err(format!(
            "{}: no program found (looked for {}, {}, {} or {})",
            path.display(),
            names.server_python,
            names.server_binary,
            names.client_python,
            names.client_binary
        ));
    }
    let mut checks: Vec<CheckOutcome> = Vec::new();
    let mut entries = Vec::new();
    let mut commands = Vec::new();
    let mut interpreter = None;
    let mut workdirs = Vec::new();
    let mut isolation = Vec::new();
    let server_ids: Vec<&str> = CHECKS
        .iter()
        .map(|(id, _)| *id)
        .filter(|id| !id.starts_with("client-"))
        .collect();
    let client_ids: Vec<&str> = CHECKS
        .iter()
        .map(|(id, _)| *id)
        .filter(|id| id.starts_with("client-"))
        .collect();
    match server {
        None => skip(
            cfg,
            &mut checks,
            &server_ids,
            "skipped: the submission has no server",
        ),
        Some(Err(e)) => skip(cfg, &mut checks, &server_ids, &format!("skipped: {e}")),
        Some(Ok(p)) => {
            entries.push(p.info.entry.clone());
            commands.push(p.info.command.clone());
            interpreter = interpreter.or(p.interpreter.clone());
            workdirs.push(p.workdir.path().display().to_string());
            let (c, iso) = grade_server(cfg, &p);
            checks.extend(c);
            isolation = iso;
        }
    }
    match client {
        None => skip(
            cfg,
            &mut checks,
            &client_ids,
            "skipped: the submission has no client",
        ),
        Some(Err(e)) => skip(cfg, &mut checks, &client_ids, &format!("skipped: {e}")),
        Some(Ok(p)) => {
            entries.push(p.info.entry.clone());
            commands.push(p.info.command.clone());
            interpreter = interpreter.or(p.interpreter.clone());
            workdirs.push(p.workdir.path().display().to_string());
            let (c, iso) = client_checks::grade_client(cfg, &p);
            checks.extend(c);
            if isolation.is_empty() {
                isolation = iso;
            }
        }
    }
    for o in &mut checks {
        o.visibility = cfg.visibility.get(&o.id).copied();
    }
    let mut report = Report {
        schema_version: SCHEMA_VERSION,
        exercise: cfg.exercise.name.clone(),
        submission: SubmissionInfo {
            path: path.display().to_string(),
            entry: entries.join(", "),
            command: commands.join("; "),
        },
        interpreter,
        checks,
        score: 0,
        max_score: 0,
        runs: 1,
        duration_ms: Some(t0.elapsed().as_millis() as u64),
        isolation,
        notes: Vec::new(),
    };
    report.total();
    if stable {
        for w in &workdirs {
            report.make_stable(w);
        }
        report.make_stable("");
    }
    Ok(report)
}

fn skip(cfg: &FileserverConfig, checks: &mut Vec<CheckOutcome>, ids: &[&str], why: &str) {
    for id in ids {
        checks.push(server_checks::outcome(
            cfg,
            id,
            Status::Skipped,
            why.to_string(),
        ));
    }
}

/// The limits of a file server grading: room for the library, the uploads and their
/// temporary copies, and for a forking server's children.
pub fn run_limits(cfg: &FileserverConfig) -> RunLimits {
    let library = cfg.library.large_bytes * 3 + 64 * cfg.library.concurrent_bytes;
    RunLimits {
        disk_bytes: (library + (64 << 20)).max(256 << 20),
        processes: 256,
        file_bytes: cfg.library.large_bytes + (16 << 20),
        output_bytes: (cfg.limits.output_bytes as u64).max(1 << 20),
        wall: std::time::Duration::from_secs(600),
        ..RunLimits::default()
    }
}

/// The isolation in force, for the report.
pub fn isolation_of(sandbox: &Sandbox) -> Vec<String> {
    let mut v = sandbox.describe();
    v.extend(
        sandbox
            .missing()
            .iter()
            .map(|m| format!("not available: {m}")),
    );
    v
}

/// The server checks, in order, on one library.
fn grade_server(cfg: &FileserverConfig, p: &Prepared) -> (Vec<CheckOutcome>, Vec<String>) {
    let root = p.workdir.path().to_path_buf();
    let lib = match library::Library::seed(
        &root,
        cfg.library.large_bytes,
        cfg.library.concurrent_bytes,
        &token(),
    ) {
        Ok(l) => l,
        Err(e) => {
            let errors = CHECKS
                .iter()
                .filter(|(id, _)| !id.starts_with("client-"))
                .map(|(id, _)| {
                    server_checks::outcome(
                        cfg,
                        id,
                        Status::Error,
                        format!("could not seed the library: {e}"),
                    )
                })
                .collect();
            return (errors, Vec::new());
        }
    };
    let sandbox = Arc::new(Sandbox::new(&run_limits(cfg), &p.layout()));
    // The server runs as the sandbox's user: the library is its to write.
    let _ = sandbox.give(&lib.dir);
    let launch = p.launch.clone().confined(sandbox.clone());
    let mut ctx = server_checks::Ctx {
        cfg,
        launch: &launch,
        lib,
        root,
        server: None,
        starts: 0,
        last_check: None,
        sandbox: Some(sandbox.clone()),
    };
    let mut out = vec![server_checks::server_start(&mut ctx)];
    if out[0].status != Status::Passed {
        for (id, _) in CHECKS
            .iter()
            .filter(|(id, _)| !id.starts_with("client-") && *id != "server-start")
        {
            out.push(server_checks::outcome(
                cfg,
                id,
                Status::Skipped,
                "skipped: the server did not start (see server-start)",
            ));
        }
    } else {
        type Check = fn(&mut server_checks::Ctx) -> CheckOutcome;
        let order: [Check; 17] = [
            server_checks::list,
            server_checks::get_text,
            server_checks::get_binary,
            server_checks::get_empty,
            server_checks::get_large,
            server_checks::get_names,
            server_checks::get_missing,
            server_checks::put_text,
            server_checks::put_binary,
            server_checks::put_empty,
            server_checks::put_large,
            server_checks::put_replace,
            server_checks::traversal,
            server_checks::concurrent,
            server_checks::disconnect,
            server_checks::quit,
            server_checks::cleanup,
        ];
        for check in order {
            out.push(check(&mut ctx));
        }
    }
    if let Some(s) = ctx.server.take() {
        s.finish(Instant::now() + std::time::Duration::from_millis(CLEANUP_MS));
    }
    cleanup::kill_all_descendants(Instant::now() + std::time::Duration::from_millis(CLEANUP_MS));
    (out, isolation_of(&sandbox))
}
