//! A style × fault matrix of bus programs: a generator that writes a bus program (Python, or C
//! compiled with `cc`) from independent choices of style, with at most one fault of the
//! exercise's fault list injected, and a model of the verdict each check must give it.
//!
//! Real students do not write the textbook program the samples are written in: they poll
//! flags in a sleep loop, print from threads, log to a `multiprocessing.Queue`, leave with
//! `os._exit`. Every style choice here is one a correct program may make, so every correct
//! combination must get full marks; a fault must fail exactly the checks its model names,
//! whatever the style around it. `tests/tests/bus_matrix.rs` grades them.
//!
//! A combination is named by its choices in order, child-driver-conductor-print-end-extra
//! (`fork-pause-poll-print-exit-none`), and `+fault` when one is injected.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

/// How the conductor is made.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Child {
    /// Python `os.fork()`.
    OsFork,
    /// Python `multiprocessing.Process` (start method "fork").
    Process,
    /// C `fork()`, compiled with `cc` into an executable `bus`.
    CFork,
}

/// How a process waits for its signals (and, for the driver, for the conductor's end).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Wait {
    /// `signal.pause()` / `pause()` in a loop; handlers print at once.
    Pause,
    /// Handlers only note what happened; a loop sleeping 0.2 s polls the notes and prints
    /// (the `volatile sig_atomic_t` pattern of C courses).
    SleepPoll,
    /// Driver only: a blocking `os.waitpid` / `p.join()` / `waitpid` is the whole wait.
    Join,
    /// Driver only: a loop polling the child's life every 0.2 s (`p.is_alive()`, or
    /// `waitpid(WNOHANG)`).
    IsAlive,
    /// Python only: `threading.Event().wait()`, set by the handler that ends the wait.
    Event,
    /// Python only: handlers put what to print on a `queue.Queue`; the main thread blocks in
    /// `get()` and prints.
    QueueGet,
}

/// How a line reaches the terminal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Print {
    /// `print(..., flush=True)` / `printf` + `fflush`.
    Print,
    /// Python only: `sys.stdout.write` + `sys.stdout.flush()`.
    Write,
    /// `os.write(1, ...)` / `write(1, ...)`.
    OsWrite,
    /// Python only: a short-lived thread per line (joined before the process ends).
    Thread,
    /// Python only: a `queue.Queue` to a printer thread.
    PrinterQueue,
}

/// How each process ends once its part is done.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum End {
    /// `sys.exit(0)` / `exit(0)`.
    SysExit,
    /// `os._exit(0)` / `_exit(0)`.
    OsExit,
    /// Return from the role's function, then from main.
    Return,
}

/// What else runs in the processes (Python only).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Extra {
    Nothing,
    /// A `multiprocessing.Queue` both processes log to; a daemon thread of the driver
    /// collects the records (each process's queue has a feeder thread writing to a pipe).
    LogQueue,
    /// A daemon heartbeat thread in each process, sleeping 0.5 s at a time, forever.
    DaemonThread,
    /// A `threading.Timer` watchdog in each process (60 s, cancelled at the end).
    Timer,
}

/// A fault from the exercise's fault list (`exercises/bus/README.md`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Fault {
    /// The driver leaves SIGINT at its default action: Ctrl-C kills it.
    DiesOnCtrlC,
    /// The conductor leaves SIGTSTP at its default action: Ctrl-Z stops it.
    StoppedByCtrlZ,
    /// On SIGINT the conductor prints line 1 itself instead of signalling the driver.
    WrongSpeaker,
    /// On Ctrl-Z the driver signals the conductor and leaves at once; the conductor leaves
    /// only once it has been orphaned, and half a second later.
    DriverLeavesFirst,
    /// The driver learns of the conductor's end without reaping it
    /// (`waitid(..., WEXITED | WNOWAIT)`) and exits: the conductor stays a zombie.
    Zombie,
    /// Both processes spin instead of sleeping, each in its own style's terms.
    BusyLoop,
    /// Line 3 misspelt (`到站啦` for `到站了`).
    WrongText,
    /// The driver's SIGUSR2 handler prints nothing: line 2 never comes.
    MissingLine,
    /// The driver prints line 1 twice on SIGUSR1.
    DuplicateLine,
}

pub const CHILDREN: [Child; 3] = [Child::OsFork, Child::Process, Child::CFork];
pub const WAITS: [Wait; 6] = [
    Wait::Pause,
    Wait::SleepPoll,
    Wait::Join,
    Wait::IsAlive,
    Wait::Event,
    Wait::QueueGet,
];
pub const PRINTS: [Print; 5] = [
    Print::Print,
    Print::Write,
    Print::OsWrite,
    Print::Thread,
    Print::PrinterQueue,
];
pub const ENDS: [End; 3] = [End::SysExit, End::OsExit, End::Return];
pub const EXTRAS: [Extra; 4] = [
    Extra::Nothing,
    Extra::LogQueue,
    Extra::DaemonThread,
    Extra::Timer,
];
pub const FAULTS: [Fault; 9] = [
    Fault::DiesOnCtrlC,
    Fault::StoppedByCtrlZ,
    Fault::WrongSpeaker,
    Fault::DriverLeavesFirst,
    Fault::Zombie,
    Fault::BusyLoop,
    Fault::WrongText,
    Fault::MissingLine,
    Fault::DuplicateLine,
];

/// The bus checks, in report order.
pub const CHECKS: [&str; 10] = [
    "start",
    "ctrl-c",
    "ctrl-backslash",
    "repeat",
    "roles",
    "ctrl-z",
    "exit-order",
    "cleanup",
    "handlers",
    "idle",
];

impl Child {
    pub fn name(self) -> &'static str {
        match self {
            Child::OsFork => "fork",
            Child::Process => "process",
            Child::CFork => "c",
        }
    }
}

impl Wait {
    pub fn name(self) -> &'static str {
        match self {
            Wait::Pause => "pause",
            Wait::SleepPoll => "poll",
            Wait::Join => "join",
            Wait::IsAlive => "alive",
            Wait::Event => "event",
            Wait::QueueGet => "queue",
        }
    }
    /// Whether the wait reaps the conductor itself (the driver needs no separate reap).
    fn reaps(self) -> bool {
        matches!(self, Wait::Join | Wait::IsAlive)
    }
}

impl Print {
    pub fn name(self) -> &'static str {
        match self {
            Print::Print => "print",
            Print::Write => "write",
            Print::OsWrite => "oswrite",
            Print::Thread => "thread",
            Print::PrinterQueue => "printer",
        }
    }
}

impl End {
    pub fn name(self) -> &'static str {
        match self {
            End::SysExit => "exit",
            End::OsExit => "_exit",
            End::Return => "return",
        }
    }
}

impl Extra {
    pub fn name(self) -> &'static str {
        match self {
            Extra::Nothing => "none",
            Extra::LogQueue => "logq",
            Extra::DaemonThread => "daemon",
            Extra::Timer => "timer",
        }
    }
}

impl Fault {
    pub fn name(self) -> &'static str {
        match self {
            Fault::DiesOnCtrlC => "dies-on-ctrl-c",
            Fault::StoppedByCtrlZ => "stopped-by-ctrl-z",
            Fault::WrongSpeaker => "wrong-speaker",
            Fault::DriverLeavesFirst => "driver-leaves-first",
            Fault::Zombie => "zombie",
            Fault::BusyLoop => "busy-loop",
            Fault::WrongText => "wrong-text",
            Fault::MissingLine => "missing-line",
            Fault::DuplicateLine => "duplicate-line",
        }
    }

    /// The verdict of every check a program with this fault must get: the checks named
    /// here, every other check `passed`. Derived from `harness explain <check>` and the
    /// exercise's README, and matching the samples that have the same fault.
    pub fn model(self) -> BTreeMap<&'static str, &'static str> {
        // One fault, one check: the check where the fault shows first fails; a later check
        // that sees it again is `because of` that check (skipped, keeping its points).
        let not_passed: &[(&str, &str)] = match self {
            // Ctrl-C kills the driver (`ctrl-c`). `repeat` then sends SIGINT to the
            // conductor alone in place of Ctrl-C, and passes; `roles` sends SIGINT to the
            // conductor alone too. `handlers`, judged after the keys, reads the driver's
            // SIGINT at its default: ctrl-c's fault.
            Fault::DiesOnCtrlC => &[("ctrl-c", "failed"), ("handlers", "because of ctrl-c")],
            // Ctrl-Z stops the conductor (`ctrl-z`); the ride cannot end, so `exit-order`
            // and `cleanup` see nothing of their own and are skipped because of it;
            // `handlers` reads SIGTSTP at its default in the conductor: ctrl-z's fault.
            Fault::StoppedByCtrlZ => &[
                ("ctrl-z", "failed"),
                ("exit-order", "skipped"),
                ("cleanup", "skipped"),
                ("handlers", "because of ctrl-z"),
            ],
            // Line 1 comes from the conductor: `ctrl-c` (who printed); the same fault at
            // every Ctrl-C of `repeat` and at SIGINT to the conductor alone in `roles`.
            Fault::WrongSpeaker => &[
                ("ctrl-c", "failed"),
                ("repeat", "because of ctrl-c"),
                ("roles", "because of ctrl-c"),
            ],
            // The driver exits before the conductor (`exit-order`); the conductor still
            // running once the driver has gone is that fault, not `cleanup`'s.
            Fault::DriverLeavesFirst => &[
                ("exit-order", "failed"),
                ("cleanup", "because of exit-order"),
            ],
            // The conductor is not reaped by the driver (`exit-order`); its zombie, held
            // only because the grader is the subreaper, is that fault too.
            Fault::Zombie => &[
                ("exit-order", "failed"),
                ("cleanup", "because of exit-order"),
            ],
            // A warning worth no points.
            Fault::BusyLoop => &[("idle", "failed")],
            Fault::WrongText => &[("ctrl-z", "failed")],
            // Line 2 never comes: `ctrl-backslash`; the same at every Ctrl-\ of `repeat`
            // and at SIGQUIT to the conductor / SIGUSR2 to the driver in `roles`.
            Fault::MissingLine => &[
                ("ctrl-backslash", "failed"),
                ("repeat", "because of ctrl-backslash"),
                ("roles", "because of ctrl-backslash"),
            ],
            // Line 1 twice: `ctrl-c`; the same at every line 1 of `repeat` and `roles`.
            Fault::DuplicateLine => &[
                ("ctrl-c", "failed"),
                ("repeat", "because of ctrl-c"),
                ("roles", "because of ctrl-c"),
            ],
        };
        model_with(not_passed)
    }
}

/// Every check `passed` but those listed.
fn model_with(not_passed: &[(&'static str, &'static str)]) -> BTreeMap<&'static str, &'static str> {
    let mut m: BTreeMap<&str, &str> = CHECKS.iter().map(|c| (*c, "passed")).collect();
    for (check, status) in not_passed {
        assert!(m.contains_key(check), "unknown check {check}");
        m.insert(check, status);
    }
    m
}

/// One combination of style choices.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Combo {
    pub child: Child,
    pub driver: Wait,
    pub conductor: Wait,
    pub print: Print,
    pub end: End,
    pub extra: Extra,
}

impl Combo {
    /// Whether the choices make a program: the driver alone has a child to join or poll;
    /// C has no Event, Queue, threads or extras (and one kind of stdio print).
    pub fn is_valid(&self) -> bool {
        if matches!(self.conductor, Wait::Join | Wait::IsAlive) {
            return false;
        }
        if self.child == Child::CFork {
            let python_only = |w: Wait| matches!(w, Wait::Event | Wait::QueueGet);
            return !python_only(self.driver)
                && !python_only(self.conductor)
                && matches!(self.print, Print::Print | Print::OsWrite)
                && self.extra == Extra::Nothing;
        }
        true
    }

    pub fn name(&self) -> String {
        format!(
            "{}-{}-{}-{}-{}-{}",
            self.child.name(),
            self.driver.name(),
            self.conductor.name(),
            self.print.name(),
            self.end.name(),
            self.extra.name()
        )
    }

    /// The value index of each choice, for covering pairs of values.
    fn values(&self) -> [usize; 6] {
        let idx = |name: &str, all: &[&str]| all.iter().position(|n| *n == name).unwrap();
        [
            idx(self.child.name(), &CHILDREN.map(Child::name)),
            idx(self.driver.name(), &WAITS.map(Wait::name)),
            idx(self.conductor.name(), &WAITS.map(Wait::name)),
            idx(self.print.name(), &PRINTS.map(Print::name)),
            idx(self.end.name(), &ENDS.map(End::name)),
            idx(self.extra.name(), &EXTRAS.map(Extra::name)),
        ]
    }
}

/// Every valid combination, in a fixed order.
pub fn all_combos() -> Vec<Combo> {
    let mut out = Vec::new();
    for child in CHILDREN {
        for driver in WAITS {
            for conductor in WAITS {
                for print in PRINTS {
                    for end in ENDS {
                        for extra in EXTRAS {
                            let c = Combo {
                                child,
                                driver,
                                conductor,
                                print,
                                end,
                                extra,
                            };
                            if c.is_valid() {
                                out.push(c);
                            }
                        }
                    }
                }
            }
        }
    }
    out
}

/// A small deterministic generator (splitmix64): the same seed, the same sample.
pub struct SplitMix(u64);

impl SplitMix {
    pub fn new(seed: u64) -> Self {
        SplitMix(seed)
    }
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    pub fn shuffle<T>(&mut self, v: &mut [T]) {
        for i in (1..v.len()).rev() {
            let j = (self.next_u64() % (i as u64 + 1)) as usize;
            v.swap(i, j);
        }
    }
}

/// The seed of the sampled parts of the matrix unless `BUS_MATRIX_SEED` says otherwise.
pub const DEFAULT_SEED: u64 = 2024;

/// A covering set of strength `t` (2 or 3): combinations in which every combination of
/// values of any `t` different choices that some valid combination has appears at least
/// once. Greedy: each round takes the first candidate, in a seeded order, that covers the
/// most of what is still uncovered.
pub fn covering(seed: u64, t: usize) -> Vec<Combo> {
    assert!(matches!(t, 2 | 3), "strength 2 or 3");
    let mut pool = all_combos();
    SplitMix::new(seed).shuffle(&mut pool);
    // A t-tuple of (choice, value), packed: choice i's value in byte i, choices absent 0xff.
    let tuples = |c: &Combo| {
        let v = c.values();
        let mut out = Vec::with_capacity(20);
        for i in 0..6 {
            for j in i + 1..6 {
                if t == 2 {
                    out.push(pack(&[(i, v[i]), (j, v[j])]));
                    continue;
                }
                for k in j + 1..6 {
                    out.push(pack(&[(i, v[i]), (j, v[j]), (k, v[k])]));
                }
            }
        }
        out
    };
    let with_tuples: Vec<(Combo, Vec<u64>)> = pool.iter().map(|c| (*c, tuples(c))).collect();
    let mut uncovered: BTreeSet<u64> = with_tuples.iter().flat_map(|(_, t)| t.clone()).collect();
    let mut chosen = Vec::new();
    while !uncovered.is_empty() {
        let gain = |ts: &[u64]| ts.iter().filter(|x| uncovered.contains(x)).count();
        let most = with_tuples
            .iter()
            .map(|(_, ts)| gain(ts))
            .max()
            .unwrap_or(0);
        let (best, ts) = with_tuples
            .iter()
            .find(|(_, ts)| gain(ts) == most)
            .expect("a candidate covers what is uncovered");
        for x in ts {
            uncovered.remove(x);
        }
        chosen.push(*best);
    }
    chosen
}

fn pack(values: &[(usize, usize)]) -> u64 {
    let mut x = u64::MAX;
    for (choice, value) in values {
        x &= !(0xff << (8 * choice));
        x |= (*value as u64) << (8 * choice);
    }
    x
}

/// The pairwise set: every value of each choice, and every pair of values of two choices,
/// graded at least once.
pub fn pairwise(seed: u64) -> Vec<Combo> {
    covering(seed, 2)
}

/// One program to grade: a combination, with or without a fault.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Case {
    pub combo: Combo,
    pub fault: Option<Fault>,
}

impl Case {
    pub fn name(&self) -> String {
        match self.fault {
            Some(f) => format!("{}+{}", self.combo.name(), f.name()),
            None => self.combo.name(),
        }
    }

    /// The verdict each check must give.
    pub fn model(&self) -> BTreeMap<&'static str, &'static str> {
        let mut model = match self.fault {
            Some(f) => f.model(),
            None => model_with(&[]),
        };
        // A C program is handed in as its source, as a C student would: the grader builds it.
        if self.combo.child == Child::CFork {
            model.insert("build", "passed");
        }
        model
    }

    /// The program's source: `bus.py` or `bus.c`.
    pub fn source(&self) -> (&'static str, String) {
        match self.combo.child {
            Child::CFork => ("bus.c", c_source(self)),
            _ => ("bus.py", python_source(self)),
        }
    }

    /// Writes the submission into `dir/<name>/` (C compiled with `cc` into an executable
    /// `bus`, its source kept beside it to read) and returns that directory.
    pub fn write(&self, dir: &Path) -> Result<PathBuf, String> {
        let sub = dir.join(self.name());
        std::fs::create_dir_all(&sub).map_err(|e| format!("{}: {e}", sub.display()))?;
        let (file, text) = self.source();
        let path = sub.join(file);
        std::fs::write(&path, text).map_err(|e| format!("{}: {e}", path.display()))?;
        // A C program is handed in as `bus.c` alone (the grader builds it); it is compiled
        // here too, strictly and outside the submission, so that a generator bug shows as such.
        if self.combo.child == Child::CFork {
            let out = Command::new("cc")
                .args([
                    "-O1",
                    "-Wall",
                    "-Werror",
                    "-Wno-unused-function",
                    "-Wno-unused-variable",
                    "-o",
                ])
                .arg(dir.join(format!("{}.check", self.name())))
                .arg(&path)
                .output()
                .map_err(|e| format!("cc: {e}"))?;
            if !out.status.success() {
                return Err(format!(
                    "cc {}: {}",
                    path.display(),
                    String::from_utf8_lossy(&out.stderr)
                ));
            }
        }
        Ok(sub)
    }
}

/// Faults placed on `per_fault` combinations each, taken from `combos` so that each fault
/// meets every kind of child, rotated so that different faults meet different styles.
pub fn faulty(combos: &[Combo], per_fault: usize) -> Vec<Case> {
    let mut out = Vec::new();
    for (f, fault) in FAULTS.iter().enumerate() {
        let mut picked: Vec<Combo> = Vec::new();
        for k in 0..combos.len() {
            if picked.len() == per_fault {
                break;
            }
            let c = combos[(f * 7 + k) % combos.len()];
            let kinds: BTreeSet<Child> = picked.iter().map(|p| p.child).collect();
            let new_kind = !kinds.contains(&c.child);
            let all_kinds = kinds.len() == CHILDREN.len().min(per_fault);
            if (new_kind || all_kinds) && !picked.contains(&c) {
                picked.push(c);
            }
        }
        out.extend(picked.into_iter().map(|combo| Case {
            combo,
            fault: Some(*fault),
        }));
    }
    out
}

/// The subset graded by default: the pairwise set of correct combinations, and every fault
/// on three of them (one per kind of child).
pub fn ci_cases(seed: u64) -> Vec<Case> {
    let combos = pairwise(seed);
    let mut out: Vec<Case> = combos
        .iter()
        .map(|&combo| Case { combo, fault: None })
        .collect();
    out.extend(faulty(&combos, 3));
    out
}

/// The whole matrix (`BUS_MATRIX=full`): the strength-3 covering set of correct combinations
/// (every triple of values of three choices at least once: the whole product is too big
/// for 2 cores), and every fault on each combination of the pairwise set.
pub fn full_cases(seed: u64) -> Vec<Case> {
    with_faults(covering(seed, 3), &pairwise(seed))
}

/// Every valid correct combination, the whole product (`BUS_MATRIX=all`, about an hour on 2
/// cores), and every fault on each combination of the pairwise set.
pub fn all_cases(seed: u64) -> Vec<Case> {
    with_faults(all_combos(), &pairwise(seed))
}

fn with_faults(correct: Vec<Combo>, faulty: &[Combo]) -> Vec<Case> {
    let mut out: Vec<Case> = correct
        .into_iter()
        .map(|combo| Case { combo, fault: None })
        .collect();
    for fault in FAULTS {
        out.extend(faulty.iter().map(|&combo| Case {
            combo,
            fault: Some(fault),
        }));
    }
    out
}

const LINE_GO: &str = "老司机开车了";
const LINE_BELT: &str = "系好安全带，车速有点快";
const LINE_STOP: &str = "到站了，请下车";
/// The `WrongText` fault's line 3.
const LINE_STOP_TYPO: &str = "到站啦，请下车";

/// A one-line description of the case, for the program's header.
fn header(case: &Case) -> String {
    let c = &case.combo;
    format!(
        "child: {}; driver waits: {}; conductor waits: {}; print: {}; end: {}; extra: {}; fault: {}",
        c.child.name(),
        c.driver.name(),
        c.conductor.name(),
        c.print.name(),
        c.end.name(),
        c.extra.name(),
        case.fault.map_or("none", Fault::name)
    )
}

/// Indents every non-empty line of `text` by `n` spaces.
fn indent(text: &str, n: usize) -> String {
    let pad = " ".repeat(n);
    text.lines()
        .map(|l| {
            if l.is_empty() {
                String::new()
            } else {
                format!("{pad}{l}\n")
            }
        })
        .map(|l| if l.is_empty() { "\n".to_string() } else { l })
        .collect()
}

// ---------------------------------------------------------------------------------------
// Python

fn python_source(case: &Case) -> String {
    let c = &case.combo;
    let fault = case.fault;
    let busy = fault == Some(Fault::BusyLoop);
    let mut s = String::new();
    let _ = writeln!(
        s,
        "\"\"\"A bus program generated by tests/src/matrix.rs: {}.\n\n{}.\n\"\"\"\n",
        case.name(),
        header(case)
    );
    s.push_str(
        "import multiprocessing\nimport os\nimport queue\nimport signal\nimport sys\nimport threading\nimport time\n\n",
    );
    let stop = if fault == Some(Fault::WrongText) {
        LINE_STOP_TYPO
    } else {
        LINE_STOP
    };
    let _ = writeln!(
        s,
        "LINE_GO = \"{LINE_GO}\"\nLINE_BELT = \"{LINE_BELT}\"\nLINE_STOP = \"{stop}\"\n\n"
    );
    s.push_str(py_print(c.print));
    s.push_str("\n\n");
    if c.extra != Extra::Nothing {
        s.push_str(py_extra(c.extra));
        s.push_str("\n\n");
    }
    // The wait styles used, each once.
    let mut styles = vec![c.driver];
    if c.conductor != c.driver {
        styles.push(c.conductor);
    }
    for w in styles {
        s.push_str(&py_wait_class(
            w,
            busy,
            c.child,
            fault == Some(Fault::Zombie),
        ));
        s.push_str("\n\n");
    }
    s.push_str(&py_child_helpers(c.child, fault == Some(Fault::Zombie)));
    s.push_str("\n\n");
    s.push_str(&py_conductor(case));
    s.push_str("\n\n");
    s.push_str(&py_driver(case));
    s.push_str("\n\n");
    s.push_str(&py_main(case));
    s
}

fn py_print(p: Print) -> &'static str {
    match p {
        Print::Print => "def out(text):\n    print(text, flush=True)\n",
        Print::Write => {
            "def out(text):\n    sys.stdout.write(text + \"\\n\")\n    sys.stdout.flush()\n"
        }
        Print::OsWrite => "def out(text):\n    os.write(1, (text + \"\\n\").encode())\n",
        Print::Thread => concat!(
            "PRINTERS = []\n\n\n",
            "def out(text):\n",
            "    # A short-lived thread per line.\n",
            "    t = threading.Thread(target=print, args=(text,), kwargs={\"flush\": True})\n",
            "    t.start()\n",
            "    PRINTERS.append(t)\n\n\n",
            "def out_done():\n",
            "    for t in PRINTERS:\n",
            "        t.join()\n",
        ),
        Print::PrinterQueue => concat!(
            "PRINT_QUEUE = queue.Queue()\n",
            "PRINTER = None\n\n\n",
            "def out_start():\n",
            "    global PRINTER\n\n",
            "    def printer():\n",
            "        while True:\n",
            "            text = PRINT_QUEUE.get()\n",
            "            if text is None:\n",
            "                return\n",
            "            print(text, flush=True)\n\n",
            "    PRINTER = threading.Thread(target=printer)\n",
            "    PRINTER.start()\n\n\n",
            "def out(text):\n",
            "    PRINT_QUEUE.put(text)\n\n\n",
            "def out_done():\n",
            "    PRINT_QUEUE.put(None)\n",
            "    PRINTER.join()\n",
        ),
    }
}

/// Whether the print style needs `out_start()` / `out_done()`.
fn py_print_calls(p: Print) -> (bool, bool) {
    match p {
        Print::Thread => (false, true),
        Print::PrinterQueue => (true, true),
        _ => (false, false),
    }
}

fn py_extra(e: Extra) -> &'static str {
    match e {
        Extra::Nothing => "",
        Extra::LogQueue => concat!(
            "LOG = None  # a multiprocessing.Queue, made in main() before the fork\n",
            "RECORDS = []\n",
            "COLLECTOR = None\n\n\n",
            "def extra_start(role):\n",
            "    global COLLECTOR\n",
            "    if role == \"driver\":\n\n",
            "        def collect():\n",
            "            while True:\n",
            "                record = LOG.get()\n",
            "                if record is None:\n",
            "                    return\n",
            "                RECORDS.append(record)\n\n",
            "        COLLECTOR = threading.Thread(target=collect)\n",
            "        COLLECTOR.start()\n",
            "    LOG.put((role, os.getpid(), \"up\"))\n\n\n",
            "def extra_done(role):\n",
            "    LOG.put((role, os.getpid(), \"leaving\"))\n",
            "    if role == \"driver\":\n",
            "        LOG.put(None)\n",
            "        COLLECTOR.join()\n",
            "    else:\n",
            "        # Flush our feeder thread: one cut off by os._exit while it holds the\n",
            "        # queue's shared write lock would block the driver's for ever.\n",
            "        LOG.close()\n",
            "        LOG.join_thread()\n",
        ),
        Extra::DaemonThread => concat!(
            "def extra_start(role):\n",
            "    def heartbeat():\n",
            "        beats = 0\n",
            "        while True:\n",
            "            time.sleep(0.5)\n",
            "            beats += 1\n\n",
            "    threading.Thread(target=heartbeat, daemon=True).start()\n\n\n",
            "def extra_done(role):\n",
            "    pass\n",
        ),
        Extra::Timer => concat!(
            "WATCHDOG = None\n\n\n",
            "def extra_start(role):\n",
            "    global WATCHDOG\n",
            "    # A safety net: leave by ourselves should the ride never end.\n",
            "    WATCHDOG = threading.Timer(60.0, os._exit, args=(3,))\n",
            "    WATCHDOG.daemon = True\n",
            "    WATCHDOG.start()\n\n\n",
            "def extra_done(role):\n",
            "    WATCHDOG.cancel()\n",
        ),
    }
}

/// The class of a wait style: `say(text)` and `leave()` are called by handlers, `wait()` by
/// the main thread.
fn py_wait_class(w: Wait, busy: bool, child: Child, zombie: bool) -> String {
    let name = py_class(w);
    let body = match w {
        Wait::Pause => {
            let wait = if busy {
                "        while not self.leaving:\n            pass\n"
            } else {
                "        while not self.leaving:\n            signal.pause()\n"
            };
            format!(
                "    \"\"\"signal.pause() in a loop; handlers print at once.\"\"\"\n\n    def __init__(self, child=None):\n        self.leaving = False\n\n    def say(self, text):\n        out(text)\n\n    def leave(self):\n        self.leaving = True\n\n    def wait(self):\n{wait}"
            )
        }
        Wait::SleepPoll => {
            let nap = if busy {
                ""
            } else {
                "            time.sleep(0.2)\n"
            };
            format!(
                "    \"\"\"Handlers only take notes; a loop polls them every 0.2 s and prints.\"\"\"\n\n    def __init__(self, child=None):\n        self.leaving = False\n        self.pending = []\n\n    def say(self, text):\n        self.pending.append(text)\n\n    def leave(self):\n        self.leaving = True\n\n    def wait(self):\n        while True:\n            leaving = self.leaving\n            while self.pending:\n                out(self.pending.pop(0))\n            if leaving:\n                return\n{nap}"
            )
        }
        Wait::Join => {
            let wait = if busy {
                "        while alive(self.child):\n            pass\n"
            } else {
                "        reap(self.child)\n"
            };
            format!(
                "    \"\"\"The driver blocks reaping the conductor; handlers print at once.\"\"\"\n\n    def __init__(self, child=None):\n        self.child = child\n\n    def say(self, text):\n        out(text)\n\n    def leave(self):\n        pass\n\n    def wait(self):\n{wait}"
            )
        }
        Wait::IsAlive => {
            let nap = if busy { "pass" } else { "time.sleep(0.2)" };
            let check = match (child, zombie) {
                (Child::Process, false) => "self.child.is_alive()",
                _ => "alive(self.child)",
            };
            format!(
                "    \"\"\"The driver polls the conductor's life every 0.2 s; handlers print at once.\"\"\"\n\n    def __init__(self, child=None):\n        self.child = child\n\n    def say(self, text):\n        out(text)\n\n    def leave(self):\n        pass\n\n    def wait(self):\n        while {check}:\n            {nap}\n"
            )
        }
        Wait::Event => {
            let wait = if busy {
                "        while not self.event.is_set():\n            pass\n"
            } else {
                "        self.event.wait()\n"
            };
            format!(
                "    \"\"\"threading.Event().wait(); handlers print at once, and set it to leave.\"\"\"\n\n    def __init__(self, child=None):\n        self.event = threading.Event()\n\n    def say(self, text):\n        out(text)\n\n    def leave(self):\n        self.event.set()\n\n    def wait(self):\n{wait}"
            )
        }
        Wait::QueueGet => {
            let get = if busy {
                // Spin on the deque's length, read without the queue's lock: a get_nowait()
                // spin holds that lock most of the time, and a handler's put() would then
                // deadlock (another fault than a busy loop).
                "            while not self.queue.queue:\n                pass\n            text = self.queue.get()\n"
            } else {
                "            text = self.queue.get()\n"
            };
            format!(
                "    \"\"\"Handlers put what to print on a queue; the main thread blocks in get().\"\"\"\n\n    def __init__(self, child=None):\n        self.queue = queue.Queue()\n\n    def say(self, text):\n        self.queue.put(text)\n\n    def leave(self):\n        self.queue.put(None)\n\n    def wait(self):\n        while True:\n{get}            if text is None:\n                return\n            out(text)\n"
            )
        }
    };
    format!("class {name}:\n{body}")
}

fn py_class(w: Wait) -> &'static str {
    match w {
        Wait::Pause => "PauseWait",
        Wait::SleepPoll => "SleepPollWait",
        Wait::Join => "JoinWait",
        Wait::IsAlive => "IsAliveWait",
        Wait::Event => "EventWait",
        Wait::QueueGet => "QueueWait",
    }
}

/// `reap(child)` and `alive(child)` for the kind of child; with the `Zombie` fault, both
/// only look (`WNOWAIT`) and never reap.
fn py_child_helpers(child: Child, zombie: bool) -> String {
    let pid = match child {
        Child::Process => "child.pid",
        _ => "child",
    };
    if zombie {
        return format!(
            "def reap(child):\n    # The fault: wait for the conductor's end but leave it unreaped.\n    os.waitid(os.P_PID, {pid}, os.WEXITED | os.WNOWAIT)\n\n\ndef alive(child):\n    return os.waitid(os.P_PID, {pid}, os.WEXITED | os.WNOHANG | os.WNOWAIT) is None\n"
        );
    }
    match child {
        Child::Process => "def reap(child):\n    child.join()\n\n\ndef alive(child):\n    return child.is_alive()\n".into(),
        _ => "def reap(child):\n    os.waitpid(child, 0)\n\n\ndef alive(child):\n    return os.waitpid(child, os.WNOHANG) == (0, 0)\n".into(),
    }
}

/// The statement that ends a role's function.
fn py_end(end: End) -> &'static str {
    match end {
        End::SysExit => "sys.exit(0)",
        End::OsExit => "os._exit(0)",
        End::Return => "return",
    }
}

/// What a role does once it starts and before it ends (printing threads, extras).
fn py_start_done(case: &Case, role: &str) -> (String, String) {
    let (start, done) = py_print_calls(case.combo.print);
    let mut s = String::new();
    let mut d = String::new();
    if start {
        s.push_str("out_start()\n");
    }
    if case.combo.extra != Extra::Nothing {
        let _ = writeln!(s, "extra_start(\"{role}\")");
        let _ = writeln!(d, "extra_done(\"{role}\")");
    }
    if done {
        d.push_str("out_done()\n");
    }
    (s, d)
}

fn py_conductor(case: &Case) -> String {
    let c = &case.combo;
    let fault = case.fault;
    let (start, done) = py_start_done(case, "conductor");
    let on_int = if fault == Some(Fault::WrongSpeaker) {
        "        # The fault: the conductor speaks for the driver.\n        w.say(LINE_GO)\n"
    } else {
        "        os.kill(os.getppid(), signal.SIGUSR1)\n"
    };
    let tstp = if fault == Some(Fault::StoppedByCtrlZ) {
        "    # The fault: SIGTSTP keeps its default action, so Ctrl-Z stops the conductor.\n    signal.signal(signal.SIGTSTP, signal.SIG_DFL)\n"
    } else {
        "    signal.signal(signal.SIGTSTP, signal.SIG_IGN)\n"
    };
    let orphaned = if fault == Some(Fault::DriverLeavesFirst) {
        "    # Leave only once the driver has gone (we are reparented), and a while after.\n    while os.getppid() == driver:\n        time.sleep(0.01)\n    time.sleep(0.5)\n"
    } else {
        ""
    };
    format!(
        "def conductor():\n    driver = os.getppid()\n    w = {class}()\n{start}\n    def on_int(signum, frame):\n{on_int}\n    def on_quit(signum, frame):\n        os.kill(os.getppid(), signal.SIGUSR2)\n\n    def on_usr1(signum, frame):\n        w.say(LINE_STOP)\n        w.leave()\n\n{tstp}    signal.signal(signal.SIGINT, on_int)\n    signal.signal(signal.SIGQUIT, on_quit)\n    signal.signal(signal.SIGUSR1, on_usr1)\n    w.wait()\n{orphaned}{done}    {end}\n",
        class = py_class(c.conductor),
        start = indent(&start, 4),
        done = indent(&done, 4),
        end = py_end(c.end),
    )
}

fn py_driver(case: &Case) -> String {
    let c = &case.combo;
    let fault = case.fault;
    let (start, done) = py_start_done(case, "driver");
    let pid = match c.child {
        Child::Process => "child.pid",
        _ => "child",
    };
    let on_usr1 = if fault == Some(Fault::DuplicateLine) {
        "        w.say(LINE_GO)\n        # The fault: the line twice.\n        w.say(LINE_GO)\n"
    } else {
        "        w.say(LINE_GO)\n"
    };
    let on_usr2 = if fault == Some(Fault::MissingLine) {
        "        # The fault: a stub that prints nothing.\n        pass\n"
    } else {
        "        w.say(LINE_BELT)\n"
    };
    let on_tstp = if fault == Some(Fault::DriverLeavesFirst) {
        let done_now = indent(&done, 8);
        format!(
            "        os.kill({pid}, signal.SIGUSR1)\n        # The fault: leave at once instead of waiting for the conductor.\n{done_now}        os._exit(0)\n"
        )
    } else {
        format!("        os.kill({pid}, signal.SIGUSR1)\n        w.leave()\n")
    };
    let int = if fault == Some(Fault::DiesOnCtrlC) {
        "    # The fault: SIGINT keeps its default action, so Ctrl-C kills the driver.\n    signal.signal(signal.SIGINT, signal.SIG_DFL)\n"
    } else {
        "    signal.signal(signal.SIGINT, signal.SIG_IGN)\n"
    };
    let reap = if c.driver.reaps() {
        String::new()
    } else {
        "    reap(child)\n".to_string()
    };
    // multiprocessing's exit handler joins (reaps) every child it started: a driver that
    // must leave the conductor unreaped leaves with os._exit.
    let end = if fault == Some(Fault::Zombie) && c.child == Child::Process {
        "os._exit(0)  # multiprocessing would reap the conductor at exit"
    } else {
        py_end(c.end)
    };
    format!(
        "def driver(child):\n    w = {class}(child)\n{start}\n    def on_usr1(signum, frame):\n{on_usr1}\n    def on_usr2(signum, frame):\n{on_usr2}\n    def on_tstp(signum, frame):\n{on_tstp}\n{int}    signal.signal(signal.SIGQUIT, signal.SIG_IGN)\n    signal.signal(signal.SIGUSR1, on_usr1)\n    signal.signal(signal.SIGUSR2, on_usr2)\n    signal.signal(signal.SIGTSTP, on_tstp)\n    w.wait()\n{reap}{done}    {end}\n",
        class = py_class(c.driver),
        start = indent(&start, 4),
        done = indent(&done, 4),
    )
}

fn py_main(case: &Case) -> String {
    let c = &case.combo;
    let mut s = String::from("def main():\n");
    if c.extra == Extra::LogQueue {
        s.push_str("    global LOG\n    LOG = multiprocessing.get_context(\"fork\").Queue()\n");
    }
    match c.child {
        Child::Process => s.push_str(
            "    multiprocessing.set_start_method(\"fork\")\n    p = multiprocessing.Process(target=conductor)\n    p.start()\n    driver(p)\n",
        ),
        _ => s.push_str(
            "    pid = os.fork()\n    if pid == 0:\n        conductor()\n        return\n    driver(pid)\n",
        ),
    }
    s.push_str("\n\nif __name__ == \"__main__\":\n    main()\n");
    s
}

// ---------------------------------------------------------------------------------------
// C

fn c_source(case: &Case) -> String {
    let c = &case.combo;
    let fault = case.fault;
    let busy = fault == Some(Fault::BusyLoop);
    let stop = if fault == Some(Fault::WrongText) {
        LINE_STOP_TYPO
    } else {
        LINE_STOP
    };
    let mut s = String::new();
    let _ = writeln!(
        s,
        "/* A bus program generated by tests/src/matrix.rs: {}.\n * {}. */\n",
        case.name(),
        header(case)
    );
    s.push_str(concat!(
        "#define _GNU_SOURCE\n",
        "#include <errno.h>\n#include <signal.h>\n#include <stdio.h>\n#include <stdlib.h>\n",
        "#include <string.h>\n#include <sys/types.h>\n#include <sys/wait.h>\n#include <time.h>\n",
        "#include <unistd.h>\n\n",
    ));
    let _ = writeln!(
        s,
        "static const char *LINE_GO = \"{LINE_GO}\";\nstatic const char *LINE_BELT = \"{LINE_BELT}\";\nstatic const char *LINE_STOP = \"{stop}\";\n"
    );
    s.push_str(concat!(
        "static volatile sig_atomic_t leaving = 0;\n",
        "static pid_t child = 0;\n\n",
        "static void sleep_ms(long ms) {\n",
        "    struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };\n",
        "    nanosleep(&ts, NULL);\n",
        "}\n\n",
        "/* No SA_RESTART: a handler interrupts the wait, as with signal.signal in Python. */\n",
        "static void on(int sig, void (*fn)(int)) {\n",
        "    struct sigaction sa;\n",
        "    memset(&sa, 0, sizeof sa);\n",
        "    sa.sa_handler = fn;\n",
        "    sigemptyset(&sa.sa_mask);\n",
        "    sigaction(sig, &sa, NULL);\n",
        "}\n\n",
    ));
    s.push_str(match c.print {
        Print::OsWrite => concat!(
            "static void out(const char *text) {\n",
            "    char buf[256];\n",
            "    size_t n = strlen(text);\n",
            "    memcpy(buf, text, n);\n",
            "    buf[n] = '\\n';\n",
            "    if (write(1, buf, n + 1) < 0) _exit(1);\n",
            "}\n\n",
        ),
        _ => "static void out(const char *text) {\n    printf(\"%s\\n\", text);\n    fflush(stdout);\n}\n\n",
    });
    // Pending lines of a polling role: a ring the handlers fill and the loop empties.
    s.push_str(concat!(
        "static const char *volatile pending[16];\n",
        "static volatile sig_atomic_t head = 0;\n",
        "static int tail = 0;\n\n",
        "static void note(const char *text) {\n",
        "    pending[head % 16] = text;\n",
        "    head = head + 1;\n",
        "}\n\n",
        "static void flush_pending(void) {\n",
        "    while (tail != head) {\n",
        "        out(pending[tail % 16]);\n",
        "        tail++;\n",
        "    }\n",
        "}\n\n",
    ));
    let say = |w: Wait| if w == Wait::SleepPoll { "note" } else { "out" };
    let zombie = fault == Some(Fault::Zombie);
    if zombie {
        s.push_str(concat!(
            "/* The fault: wait for the conductor's end but leave it unreaped. */\n",
            "static void reap(void) {\n",
            "    siginfo_t si;\n",
            "    while (waitid(P_PID, child, &si, WEXITED | WNOWAIT) < 0 && errno == EINTR) {\n",
            "    }\n",
            "}\n\n",
            "static int alive(void) {\n",
            "    siginfo_t si;\n",
            "    si.si_pid = 0;\n",
            "    waitid(P_PID, child, &si, WEXITED | WNOHANG | WNOWAIT);\n",
            "    return si.si_pid == 0;\n",
            "}\n\n",
        ));
    } else {
        s.push_str(concat!(
            "static void reap(void) {\n",
            "    while (waitpid(child, NULL, 0) < 0 && errno == EINTR) {\n",
            "    }\n",
            "}\n\n",
            "static int alive(void) {\n",
            "    return waitpid(child, NULL, WNOHANG) == 0;\n",
            "}\n\n",
        ));
    }
    let end = match c.end {
        End::SysExit => "exit(0);",
        End::OsExit => "_exit(0);",
        End::Return => "return 0;",
    };

    // Conductor.
    let cs = say(c.conductor);
    let c_int = if fault == Some(Fault::WrongSpeaker) {
        format!("    /* The fault: the conductor speaks for the driver. */\n    {cs}(LINE_GO);\n")
    } else {
        "    kill(getppid(), SIGUSR1);\n".into()
    };
    let _ = write!(
        s,
        "static void c_int(int sig) {{\n    (void)sig;\n{c_int}}}\n\nstatic void c_quit(int sig) {{\n    (void)sig;\n    kill(getppid(), SIGUSR2);\n}}\n\nstatic void c_usr1(int sig) {{\n    (void)sig;\n    {cs}(LINE_STOP);\n    leaving = 1;\n}}\n\n"
    );
    let tstp = if fault == Some(Fault::StoppedByCtrlZ) {
        "    /* The fault: SIGTSTP keeps its default action, so Ctrl-Z stops the conductor. */\n    on(SIGTSTP, SIG_DFL);\n"
    } else {
        "    on(SIGTSTP, SIG_IGN);\n"
    };
    let orphaned = if fault == Some(Fault::DriverLeavesFirst) {
        "    /* Leave only once the driver has gone (we are reparented), and a while after. */\n    while (getppid() == driver) sleep_ms(10);\n    sleep_ms(500);\n"
    } else {
        ""
    };
    let _ = write!(
        s,
        "static int conductor(pid_t driver) {{\n    (void)driver;\n{tstp}    on(SIGINT, c_int);\n    on(SIGQUIT, c_quit);\n    on(SIGUSR1, c_usr1);\n{wait}{orphaned}    {end}\n}}\n\n",
        wait = c_wait(c.conductor, busy, false),
    );

    // Driver.
    let ds = say(c.driver);
    let usr1 = if fault == Some(Fault::DuplicateLine) {
        format!("    {ds}(LINE_GO);\n    /* The fault: the line twice. */\n    {ds}(LINE_GO);\n")
    } else {
        format!("    {ds}(LINE_GO);\n")
    };
    let usr2 = if fault == Some(Fault::MissingLine) {
        "    /* The fault: a stub that prints nothing. */\n".to_string()
    } else {
        format!("    {ds}(LINE_BELT);\n")
    };
    let tstp = if fault == Some(Fault::DriverLeavesFirst) {
        "    kill(child, SIGUSR1);\n    /* The fault: leave at once instead of waiting for the conductor. */\n    _exit(0);\n"
    } else {
        "    kill(child, SIGUSR1);\n    leaving = 1;\n"
    };
    let int = if fault == Some(Fault::DiesOnCtrlC) {
        "    /* The fault: SIGINT keeps its default action, so Ctrl-C kills the driver. */\n    on(SIGINT, SIG_DFL);\n"
    } else {
        "    on(SIGINT, SIG_IGN);\n"
    };
    let _ = write!(
        s,
        "static void d_usr1(int sig) {{\n    (void)sig;\n{usr1}}}\n\nstatic void d_usr2(int sig) {{\n    (void)sig;\n{usr2}}}\n\nstatic void d_tstp(int sig) {{\n    (void)sig;\n{tstp}}}\n\n"
    );
    let _ = write!(
        s,
        "static int driver(void) {{\n{int}    on(SIGQUIT, SIG_IGN);\n    on(SIGUSR1, d_usr1);\n    on(SIGUSR2, d_usr2);\n    on(SIGTSTP, d_tstp);\n{wait}    {end}\n}}\n\n",
        wait = c_wait(c.driver, busy, true),
    );
    s.push_str(concat!(
        "int main(void) {\n",
        "    pid_t driver_pid = getpid();\n",
        "    child = fork();\n",
        "    if (child < 0) {\n",
        "        perror(\"fork\");\n",
        "        return 1;\n",
        "    }\n",
        "    if (child == 0) return conductor(driver_pid);\n",
        "    return driver();\n",
        "}\n",
    ));
    s
}

/// The wait of a C role (and, for the driver, its reap).
fn c_wait(w: Wait, busy: bool, driver: bool) -> String {
    let reap = if driver { "    reap();\n" } else { "" };
    match w {
        Wait::Pause if busy => format!("    while (!leaving) {{\n    }}\n{reap}"),
        Wait::Pause => format!("    while (!leaving) pause();\n{reap}"),
        Wait::SleepPoll => {
            let nap = if busy { "" } else { "        sleep_ms(200);\n" };
            format!(
                "    for (;;) {{\n        int done = leaving;\n        flush_pending();\n        if (done) break;\n{nap}    }}\n{reap}"
            )
        }
        Wait::Join if busy => "    while (alive()) {\n    }\n".into(),
        Wait::Join => "    reap();\n".into(),
        Wait::IsAlive if busy => "    while (alive()) {\n    }\n".into(),
        Wait::IsAlive => "    while (alive()) sleep_ms(200);\n".into(),
        Wait::Event | Wait::QueueGet => unreachable!("not a C wait"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_value_is_in_some_valid_combination() {
        let all = all_combos();
        assert_eq!(all.len(), 2 * 6 * 4 * 5 * 3 * 4 + 4 * 2 * 2 * 3);
        let pw = pairwise(DEFAULT_SEED);
        for w in WAITS {
            assert!(pw.iter().any(|c| c.driver == w), "{w:?}");
        }
        assert_eq!(pw, pairwise(DEFAULT_SEED), "deterministic");
        let three = covering(DEFAULT_SEED, 3);
        eprintln!(
            "{} valid combinations; covering sets: pairwise {}, 3-wise {}",
            all.len(),
            pw.len(),
            three.len()
        );
    }
}
