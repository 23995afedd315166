//! The file server exercise: a TCP server over a library directory, graded with the grader
//! as its client; and an interactive client, graded in a terminal against the reference
//! server.

pub mod client_checks;
pub mod config;
pub mod dialect;
pub mod library;
pub mod pair;
pub mod policy;
pub mod refserver;
pub mod server;
pub mod server_checks;

use crate::tr;
use std::time::Instant;

pub use config::FileserverConfig;

use crate::config::ConfigError;
use crate::grading::{CheckDoc, Checklist, Exercise, Found, Graded, Job, Program};
use crate::report::Status;
use crate::submission::Prepared;
use crate::supervise::cleanup;
use crate::supervise::isolation::Sandbox;
use crate::supervise::limits::RunLimits;
use crate::text;
use std::sync::Arc;

/// The file server exercise, as the registry names it.
pub struct Fileserver;

impl Exercise for Fileserver {
    type Config = FileserverConfig;
    const NAME: &'static str = "fileserver";
    const SHIPPED: &'static str = config::DEFAULT_TOML;

    fn checks() -> Vec<CheckDoc> {
        let server = server_checks::table().into_iter().map(|c| c.doc);
        server
            .chain(client_checks::table().into_iter().map(|c| c.doc))
            .chain(pair::table().into_iter().map(|c| c.doc))
            .collect()
    }

    /// The pair checks only when `[pair] mode` runs them; the server and client checks
    /// unless it runs the pair instead.
    fn checks_for(cfg: &FileserverConfig) -> Vec<CheckDoc> {
        let pair: Vec<&str> = pair::table().iter().map(|c| c.doc.id).collect();
        let mode = cfg.pair.mode;
        Self::checks()
            .into_iter()
            .filter(|d| {
                if pair.contains(&d.id) {
                    mode.pair_graded()
                } else {
                    mode.parts_graded()
                }
            })
            .collect()
    }

    fn programs(cfg: &FileserverConfig) -> Vec<Program> {
        let n = &cfg.submission;
        vec![
            Program::new(&n.server_python, &n.server_binary),
            Program::new(&n.client_python, &n.client_binary),
        ]
    }

    fn validate(cfg: &FileserverConfig, source: &str) -> Result<(), ConfigError> {
        cfg.validate(source)
    }

    /// The checks the dialect's protocol cannot carry.
    fn waived(cfg: &FileserverConfig) -> Vec<String> {
        cfg.server
            .dialect()
            .not_in_protocol
            .keys()
            .cloned()
            .collect()
    }

    fn notes(cfg: &FileserverConfig, id: &str) -> Vec<String> {
        let mut notes = dialect::notes(cfg, id);
        notes.extend(policy::explain(&cfg.policy(), id));
        notes
    }

    fn grade(cfg: &FileserverConfig, job: &mut Job) -> Result<Graded, String> {
        job.checks
            .set_deadline(Instant::now() + GRADING_WALL, GRADING_WALL.as_secs());
        let mut found = job.found.iter_mut().map(Option::take);
        let (server, client) = (found.next().flatten(), found.next().flatten());
        let mut graded = Graded {
            entry: String::new(),
            command: String::new(),
            interpreter: None,
            runs: 1,
            isolation: Vec::new(),
            containment: Default::default(),
            workdirs: Vec::new(),
        };
        let (mut entries, mut commands) = (Vec::new(), Vec::new());
        // The command with the arguments the grader passes (server.rs, client_checks), so
        // that a program reading them in another order is explained by the report.
        // The argv templates of the config, placeholders as written (`{port}` differs from
        // run to run).
        let mut ran = |p: &Prepared, args: &[String], graded: &mut Graded| {
            entries.push(p.info.entry.clone());
            commands.push(
                std::iter::once(p.info.command.as_str())
                    .chain(args.iter().map(String::as_str))
                    .collect::<Vec<_>>()
                    .join(" "),
            );
            graded.interpreter = graded.interpreter.take().or(p.interpreter.clone());
            graded.workdirs.push(p.workdir.path().display().to_string());
        };
        let mode = cfg.pair.mode;
        let (server, client) = (part(server, tr!("server")), part(client, tr!("client")));
        if !mode.parts_graded() {
            for (p, args) in [(&server, &cfg.server.args), (&client, &cfg.client.args)] {
                if let Ok(p) = p {
                    ran(p, args, &mut graded);
                }
            }
        }
        if mode.parts_graded() {
            match &server {
                Ok(p) => {
                    ran(p, &cfg.server.args, &mut graded);
                    graded.isolation = grade_server(cfg, p, &mut job.checks);
                }
                Err(why) => job
                    .checks
                    .settle_all(&server_checks::table(), Status::Skipped, why),
            }
            match &client {
                Ok(p) => {
                    ran(p, &cfg.client.args, &mut graded);
                    let isolation = grade_client(cfg, p, &mut job.checks);
                    if graded.isolation.is_empty() {
                        graded.isolation = isolation;
                    }
                }
                Err(why) => job
                    .checks
                    .settle_all(&client_checks::table(), Status::Skipped, why),
            }
        }
        if mode.pair_graded() {
            match (&server, &client) {
                (Ok(s), Ok(c)) => {
                    let isolation = pair::grade(cfg, s, c, &mut job.checks);
                    if graded.isolation.is_empty() {
                        graded.isolation = isolation;
                    }
                }
                (Err(why), _) | (_, Err(why)) => {
                    job.checks.settle_all(&pair::table(), Status::Skipped, why)
                }
            }
        }
        graded.entry = entries.join(", ");
        graded.command = commands.join("; ");
        Ok(graded)
    }
}

/// The part of the submission named `part`, when it is there and could be prepared;
/// otherwise why its checks are skipped.
fn part(found: Option<Found>, part: &str) -> Result<Prepared, String> {
    match found {
        None => Err(tr!("skipped: the submission has no {part}", part = part)),
        Some(Err(e)) => Err(tr!("skipped: {why}", why = e)),
        Some(Ok(p)) => Ok(p),
    }
}

/// The client checks against the reference server; the isolation in force.
fn grade_client(cfg: &FileserverConfig, p: &Prepared, list: &mut Checklist) -> Vec<String> {
    let (state, isolation) = client_checks::prepare(cfg, p);
    match state {
        Ok(mut g) => {
            list.set_deadline(g.deadline, wall_seconds(cfg));
            list.run(&client_checks::table(), &mut g);
            g.finish();
        }
        Err(why) => list.settle_all(&client_checks::table(), Status::Error, &why),
    }
    isolation
}

/// A random token, so secrets and escape targets of parallel gradings never clash.
fn token() -> String {
    let mut b = [0u8; 8];
    if let Ok(mut f) = std::fs::File::open("/dev/urandom") {
        use std::io::Read;
        let _ = f.read_exact(&mut b);
    }
    b.iter().map(|x| format!("{x:02x}")).collect()
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

/// How long a whole grading (server, client and pair checks) may take before the checks
/// not begun yet are cut off (and the report says so): well inside a class's default
/// `--timeout` of 180 s, even when the check under way then runs to its own deadline
/// (60 s at most), so that a class never gets an error row without a report.
pub const GRADING_WALL: std::time::Duration = std::time::Duration::from_secs(90);

/// The length of a part's wall deadline, in seconds.
fn wall_seconds(cfg: &FileserverConfig) -> u64 {
    run_limits(cfg).wall.as_secs()
}

/// The isolation in force, for the report.
pub fn isolation_of(sandbox: &Sandbox) -> Vec<String> {
    let mut v = sandbox.describe();
    v.extend(
        sandbox
            .missing()
            .iter()
            .map(|m| tr!("not available: {m}", m = m)),
    );
    v
}

/// Where the server finds its library: what `{library}` says, the path of the course
/// (absolute, as the server's working directory resolves it) that must show the seeded
/// library, and why it cannot.
struct LibraryPlace {
    arg: String,
    target: Option<std::path::PathBuf>,
    problem: Option<String>,
    /// The server's working directory.
    cwd: std::path::PathBuf,
}

impl LibraryPlace {
    fn of(cfg: &FileserverConfig, p: &Prepared, seeded: &std::path::Path) -> LibraryPlace {
        use std::os::unix::ffi::OsStrExt;
        let cwd = std::path::PathBuf::from(std::ffi::OsStr::from_bytes(p.launch.cwd.as_bytes()));
        // `..` from the working directory is resolved by the kernel from where it really is.
        let cwd = std::fs::canonicalize(&cwd).unwrap_or(cwd);
        let path = &cfg.server.library;
        let mut place = LibraryPlace {
            arg: path.clone(),
            target: None,
            problem: None,
            cwd,
        };
        if path.is_empty() {
            place.arg = seeded.display().to_string();
        } else if cfg.server.windows_library() {
            place.problem = Some(tr!(
                "the configured path {path} is a Windows path: it cannot exist on Linux",
                path = text::escape::one_line(path.as_bytes())
            ));
        } else {
            place.target = Some(place.cwd.join(path));
        }
        place
    }
}

/// A student's server set up to be started as the course starts it: its library seeded
/// (and shown where the course's path says), its sandbox, and where uploads land.
pub struct ServerSide {
    pub lib: library::Library,
    pub root: std::path::PathBuf,
    pub sandbox: Arc<Sandbox>,
    /// The server's launch, confined in the sandbox (without the configured arguments).
    pub launch: crate::supervise::spawn::Launch,
    library_arg: String,
    uploads: std::path::PathBuf,
    library_problem: Option<String>,
}

impl ServerSide {
    /// Seeds `root/library` (a large file of `large` bytes) and the sandbox for the server
    /// `p`; why it cannot.
    pub fn new(
        cfg: &FileserverConfig,
        p: &Prepared,
        root: std::path::PathBuf,
        large: u64,
    ) -> Result<ServerSide, String> {
        let markers = cfg.server.dialect().data_markers();
        let lib = library::Library::seed(
            &root,
            large,
            cfg.library.concurrent_bytes,
            &token(),
            &markers,
        )
        .map_err(|e| tr!("could not seed the library: {e}", e = e))?;
        let place = LibraryPlace::of(cfg, p, &lib.dir);
        let mut layout = p.layout();
        if let Some(target) = &place.target {
            layout.binds.push((lib.dir.clone(), target.clone()));
        }
        let sandbox = Arc::new(Sandbox::new(&run_limits(cfg), &layout));
        // The server runs as the sandbox's user: the library is its to write, and so is its
        // directory when uploads land there.
        let _ = sandbox.give(&lib.dir);
        let uploads = match cfg.server.uploads {
            config::Uploads::Library => lib.dir.clone(),
            config::Uploads::Workdir => {
                let _ = sandbox.give(&place.cwd);
                place.cwd.clone()
            }
        };
        let library_problem = place
            .problem
            .clone()
            .or_else(|| place.target.as_ref().and_then(|_| sandbox.binds_problem()));
        let launch = p.launch.clone().confined(sandbox.clone());
        Ok(ServerSide {
            lib,
            root,
            sandbox,
            launch,
            library_arg: place.arg,
            uploads,
            library_problem,
        })
    }

    /// The server checks' state on this set-up (no server started yet).
    pub fn ctx<'a>(
        cfg: &'a FileserverConfig,
        lang: crate::submission::Language,
        launch: &'a crate::supervise::spawn::Launch,
        side: ServerSide,
    ) -> server_checks::Ctx<'a> {
        server_checks::Ctx {
            cfg,
            lang,
            launch,
            lib: side.lib,
            root: side.root,
            server: None,
            starts: 0,
            last_check: None,
            sandbox: Some(side.sandbox),
            library_arg: side.library_arg,
            uploads: side.uploads,
            library_problem: side.library_problem,
            unstartable: false,
            given_port: None,
            dialect: cfg.server.dialect(),
            policy: cfg.policy(),
            unanswered: Default::default(),
        }
    }
}

/// The server checks, in order, on one library; the isolation in force.
fn grade_server(cfg: &FileserverConfig, p: &Prepared, list: &mut Checklist) -> Vec<String> {
    let root = p.workdir.path().to_path_buf();
    let side = match ServerSide::new(cfg, p, root, cfg.library.large_bytes) {
        Ok(side) => side,
        Err(why) => {
            list.settle_all(&server_checks::table(), Status::Error, &why);
            return Vec::new();
        }
    };
    let sandbox = side.sandbox.clone();
    list.set_deadline(sandbox.deadline(), wall_seconds(cfg));
    let launch = side.launch.clone();
    let mut ctx = ServerSide::ctx(cfg, p.language, &launch, side);
    list.run(&server_checks::table(), &mut ctx);
    if let Some(s) = ctx.server.take() {
        s.finish(Instant::now() + cleanup::CLEANUP_TIME);
    }
    cleanup::kill_all_descendants(Instant::now() + cleanup::CLEANUP_TIME);
    isolation_of(&sandbox)
}
