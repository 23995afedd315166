//! `harness bench`: the median time to grade a submission with this grader, and with the
//! fixed-sleep way graders in use today work (1 s after start, 0.5 s between keys), in the
//! same run on the same machine; plus whether every grading gave the same report.

use crate::i18n::verbatim;
use crate::tr;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::exercises::bus::config::{BusConfig, RepeatKey};
use crate::report::json;
use crate::submission::{self, Prepared};
use crate::supervise::ending::Ending;
use crate::supervise::session::{Key, Session};

/// The exercises measured: the bus against the fixed-sleep way, the file server alone.
const BUS: &str = "bus";
const FILESERVER: &str = "fileserver";

/// Figures for one submission.
#[derive(Debug, Clone)]
pub struct Figures {
    pub path: PathBuf,
    pub grader_median: Duration,
    pub identical: usize,
    pub runs: usize,
    pub baseline_median: Duration,
    pub baseline_runs: usize,
    /// Fixed-sleep gradings that saw every expected line.
    pub baseline_complete: usize,
    /// Checks of the first grading that waited out a deadline.
    pub deadlines: usize,
    /// Median time to write a grading's HTML report (part of a `--format html` grading).
    pub html_median: Duration,
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v.get(v.len() / 2).copied().unwrap_or_default()
}

fn prepare(path: &Path, cfg: &BusConfig, python: &str) -> Result<Prepared, String> {
    let entry = submission::locate(
        path,
        &cfg.submission.python_entry,
        &cfg.submission.binary_entry,
        true,
    )
    .map_err(|e| e.to_string())?;
    submission::prepare(path, &entry, Some(python)).map_err(|e| e.to_string())
}

/// The keys a full grading sends, the way a fixed-sleep grader sends them: Ctrl-C, Ctrl-\,
/// the repeat sequence, four single-process signals (sent here as keys, which is what such
/// graders do), Ctrl-Z.
fn baseline_keys(cfg: &BusConfig) -> Vec<Key> {
    let mut keys = vec![Key::CtrlC, Key::CtrlBackslash];
    for k in &cfg.repeat.keys {
        keys.push(match k {
            RepeatKey::CtrlC => Key::CtrlC,
            RepeatKey::CtrlBackslash => Key::CtrlBackslash,
        });
    }
    keys.extend([
        Key::CtrlC,
        Key::CtrlBackslash,
        Key::CtrlC,
        Key::CtrlBackslash,
        Key::CtrlZ,
    ]);
    keys
}

/// One grading done the fixed-sleep way. The sleeps *are* the behaviour being measured.
fn baseline_once(cfg: &BusConfig, prepared: &Prepared) -> Result<(Duration, bool), String> {
    let t0 = Instant::now();
    let far = t0 + Duration::from_secs(60);
    let mut s = Session::start(&prepared.launch, cfg.limits.transcript_bytes, far)
        .map_err(|e| e.to_string())?;
    std::thread::sleep(Duration::from_secs(1));
    let keys = baseline_keys(cfg);
    for k in &keys {
        s.type_key(*k);
        std::thread::sleep(Duration::from_millis(500));
    }
    s.pump();
    let out = s.transcript.since(0).to_vec();
    let count = |line: &crate::exercises::bus::config::Line| {
        crate::supervise::transcript::lines(&out)
            .iter()
            .map(|l| crate::text::matching::count_in_line(&line.phrase(), l, cfg.lines.policy()))
            .sum::<usize>()
    };
    let go = keys.iter().filter(|k| **k == Key::CtrlC).count();
    let belt = keys.iter().filter(|k| **k == Key::CtrlBackslash).count();
    let complete = count(&cfg.lines.go) == go
        && count(&cfg.lines.seatbelt) == belt
        && count(&cfg.lines.arrive) == 1;
    s.finish(Instant::now() + Duration::from_secs(3));
    Ok((t0.elapsed(), complete))
}

/// Measures one submission.
pub fn measure(
    path: &Path,
    runs: usize,
    baseline_runs: usize,
    python: &str,
) -> Result<Figures, String> {
    let cfg = BusConfig::shipped().map_err(|e| e.to_string())?;
    let g = grader_runs(path, BUS, runs, python)?;
    let mut base_times = Vec::new();
    let mut complete = 0;
    for _ in 0..baseline_runs {
        let prepared = prepare(path, &cfg, python)?;
        let (t, ok) = baseline_once(&cfg, &prepared)?;
        base_times.push(t);
        complete += ok as usize;
    }
    Ok(Figures {
        path: path.to_path_buf(),
        grader_median: g.median,
        identical: g.identical,
        deadlines: g.deadlines,
        html_median: g.html_median,
        runs,
        baseline_median: median(base_times),
        baseline_runs,
        baseline_complete: complete,
    })
}

/// What `runs` gradings of one submission gave.
struct GraderRuns {
    median: Duration,
    /// Gradings whose report is the first one's.
    identical: usize,
    /// Checks of the first grading that waited out a deadline (`ended = "deadline"`): a
    /// program that can no longer move must cost none.
    deadlines: usize,
    /// Median time to write the HTML report of a grading, measured apart from it.
    html_median: Duration,
}

/// Median time of `runs` full gradings of a submission as `exercise` with this grader (with
/// the submission's own `config.toml` laid over the shipped config, when it has one: a
/// course's sample), how many gave the same report as the first, and how many of the first
/// one's checks waited out a deadline.
fn grader_runs(
    path: &Path,
    exercise: &str,
    runs: usize,
    python: &str,
) -> Result<GraderRuns, String> {
    let own_config = path.join("config.toml");
    let opts = crate::grade::GradeOptions {
        exercise: Some(exercise.into()),
        config: own_config.is_file().then_some(own_config),
        python: python.to_string(),
        stable: true,
    };
    let mut times = Vec::new();
    let mut first: Option<String> = None;
    let mut identical = 0;
    let mut deadlines = None;
    let mut html_times = Vec::new();
    for _ in 0..runs {
        let t0 = Instant::now();
        let reports = crate::grade::grade_path(path, &opts)?;
        times.push(t0.elapsed());
        deadlines.get_or_insert_with(|| {
            reports
                .iter()
                .flat_map(|r| &r.checks)
                .filter(|c| c.ended == Some(Ending::Deadline))
                .count()
        });
        let t0 = Instant::now();
        let page = crate::report::html::render(&reports);
        html_times.push(t0.elapsed());
        std::hint::black_box(page);
        let text = json::render_many(&reports);
        if first.get_or_insert_with(|| text.clone()) == &text {
            identical += 1;
        }
    }
    Ok(GraderRuns {
        median: median(times),
        identical,
        deadlines: deadlines.unwrap_or(0),
        html_median: median(html_times),
    })
}

/// `harness bench --against EXERCISE`: each submission graded `runs` times as the exercise
/// it is recognised as and `runs` times as `other` (a declared exercise of the same
/// programs, such as the declared bus), alternately so that a change of the machine's load
/// weighs on both alike; prints both medians and their ratio.
pub fn against(paths: &[PathBuf], other: &str, runs: usize, python: &str) -> Result<(), String> {
    if paths.is_empty() {
        return Err(tr!("bench: name at least one submission").into());
    }
    println!(
        "{:<45} {:>8} {:>14} {:>14} {:>8}",
        "submission", "exercise", "own (med)", "other (med)", "ratio"
    );
    for p in paths {
        // The exercise it is recognised as, other than `other` (which may stand in for it).
        let own = crate::grade::claiming(p, true)
            .into_iter()
            .map(|e| e.name())
            .find(|name| *name != other)
            .ok_or_else(|| tr!("{path}: no exercise recognised", path = p.display()))?;
        let opts = |exercise: &str| crate::grade::GradeOptions {
            exercise: Some(exercise.into()),
            config: None,
            python: python.to_string(),
            stable: true,
        };
        let (mine, theirs) = (opts(own), opts(other));
        let (mut a, mut b) = (Vec::new(), Vec::new());
        for _ in 0..runs {
            for (o, times) in [(&mine, &mut a), (&theirs, &mut b)] {
                let t0 = Instant::now();
                std::hint::black_box(crate::grade::grade_path(p, o)?);
                times.push(t0.elapsed());
            }
        }
        let (a, b) = (median(a), median(b));
        println!(
            "{:<45} {:>8} {:>12.0}ms {:>12.0}ms {:>7.2}x",
            p.display(),
            own,
            a.as_secs_f64() * 1000.0,
            b.as_secs_f64() * 1000.0,
            b.as_secs_f64() / a.as_secs_f64().max(1e-9)
        );
    }
    println!(
        "{}",
        tr!(
            "{other}: {runs} gradings of each, medians; ratio = {other} / own",
            other = other,
            runs = runs
        )
    );
    Ok(())
}

/// Measures each submission and prints a table: bus submissions against the fixed-sleep
/// way, file server submissions on their own.
pub fn run(
    paths: &[PathBuf],
    runs: usize,
    baseline_runs: usize,
    python: &str,
) -> Result<(), String> {
    if paths.is_empty() {
        return Err(tr!("bench: name at least one submission").into());
    }
    // The benchmark's table is aligned column by column: its headings stay as they are.
    println!(
        "{:<45} {:>12} {:>10} {:>10} {:>16} {:>9} {:>10} {:>18}",
        "submission",
        "grader (med)",
        "identical",
        "deadlines",
        verbatim("fixed-sleep (med)"),
        "speedup",
        verbatim("fs saw all"),
        "html (med, +%)"
    );
    // Writing the HTML report, against the grading's own median.
    let html = |h: Duration, g: Duration| {
        let share = 100.0 * h.as_secs_f64() / g.as_secs_f64().max(1e-9);
        format!("{:.2}ms +{share:.2}%", h.as_secs_f64() * 1000.0)
    };
    for p in paths {
        if crate::grade::detect(p, true).first().map(|e| e.name()) == Some(FILESERVER) {
            let g = grader_runs(p, FILESERVER, runs, python)?;
            println!(
                "{:<45} {:>10.0}ms {:>7}/{:<3} {:>10} {:>16} {:>9} {:>10} {:>18}",
                p.display(),
                g.median.as_secs_f64() * 1000.0,
                g.identical,
                runs,
                g.deadlines,
                "-",
                "-",
                "-",
                html(g.html_median, g.median)
            );
            continue;
        }
        let f = measure(p, runs, baseline_runs, python)?;
        let speedup = if f.grader_median.is_zero() {
            0.0
        } else {
            f.baseline_median.as_secs_f64() / f.grader_median.as_secs_f64()
        };
        println!(
            "{:<45} {:>10.0}ms {:>7}/{:<3} {:>10} {:>14.2} s {:>8.1}x {:>7}/{:<3} {:>18}",
            p.display(),
            f.grader_median.as_secs_f64() * 1000.0,
            f.identical,
            f.runs,
            f.deadlines,
            f.baseline_median.as_secs_f64(),
            speedup,
            f.baseline_complete,
            f.baseline_runs,
            html(f.html_median, f.grader_median)
        );
    }
    Ok(())
}

/// `harness bench-transfer`: the grader's download path (protocol client, streamed compare
/// and XXH3 fingerprint) against a plain socket copy of the same bytes, both from the reference
/// server in this process. Prints the median rate of each over `runs` transfers.
pub fn transfer(mib: u64, runs: usize) -> Result<(), String> {
    use crate::exercises::fileserver::library::Content;
    use crate::net::client::{Conn, FileProtocol};
    use crate::net::transfer::Comparator;
    use std::io::{BufRead, BufReader, Read, Write};

    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let len = mib << 20;
    let content = Content::Pseudo {
        seed: 5,
        len,
        markers: Default::default(),
    };
    let mut f = std::fs::File::create(dir.path().join("big.bin")).map_err(|e| e.to_string())?;
    std::io::copy(&mut content.reader(), &mut f).map_err(|e| e.to_string())?;
    drop(f);
    let exact = crate::exercises::fileserver::dialect::resolve(&"exact".into(), "bench")
        .map_err(|e| e.to_string())?;
    let server =
        crate::exercises::fileserver::refserver::RefServer::start(dir.path(), 0, None, exact)
            .map_err(|e| e.to_string())?;
    let addr = std::net::SocketAddr::from(([127, 0, 0, 1], server.port()));
    let mut grader = Vec::new();
    let mut plain = Vec::new();
    for _ in 0..runs {
        let t0 = Instant::now();
        let mut conn = Conn::connect(addr, Instant::now() + Duration::from_secs(120))
            .map_err(|e| e.to_string())?;
        let mut cmp = Comparator::new(content.reader(), len);
        conn.get("big.bin", &mut |b| cmp.feed(b))
            .map_err(|e| e.to_string())?
            .map_err(|e| e.to_string())?;
        let c = cmp.finish().map_err(|e| e.to_string())?;
        grader.push(t0.elapsed());
        if !c.identical() {
            return Err(tr!(
                "bench-transfer: the transfer differed: {summary}",
                summary = c.summary()
            ));
        }

        let t0 = Instant::now();
        let mut s = std::net::TcpStream::connect(addr).map_err(|e| e.to_string())?;
        s.write_all(b"G big.bin\n").map_err(|e| e.to_string())?;
        let mut r = BufReader::with_capacity(64 * 1024, s);
        let mut header = String::new();
        r.read_line(&mut header).map_err(|e| e.to_string())?;
        let mut buf = vec![0u8; 64 * 1024];
        let mut got = 0u64;
        while got < len {
            let n = r.read(&mut buf).map_err(|e| e.to_string())?;
            if n == 0 {
                break;
            }
            got += n as u64;
        }
        plain.push(t0.elapsed());
    }
    server.stop();
    let rate = |d: Duration| mib as f64 / d.as_secs_f64();
    let (g, p) = (median(grader), median(plain));
    println!(
        "{}",
        tr!(
            "transfer of {mib} MiB from the reference server, median of {runs}:",
            mib = mib,
            runs = runs
        )
    );
    println!(
        "{}",
        tr!(
            "  grader (protocol client + streamed compare + XXH3): {rate} MiB/s",
            rate = format!("{:>8.0}", rate(g))
        )
    );
    println!(
        "{}",
        tr!(
            "  plain socket copy (read and discard):                  {rate} MiB/s",
            rate = format!("{:>8.0}", rate(p))
        )
    );
    println!("  grader / plain: {:.2}", rate(g) / rate(p));
    Ok(())
}
