//! vbench's forward latency against PyTorch eager (Python) on the same model, weights, input and
//! thread count, interleaved in one run so both see the same machine state.
//!
//! `cargo bench -p vbench-eval --bench vs_pytorch -- --entry k400/x3d_xs [--entry ...]
//!   [--threads N] [--rounds R] [--per-round K] [--warmup W] [--batch B] [--quiet-wait S]
//!   [--json FILE]`
//!
//! A Python worker (`pytorch_eager.py`, the project venv) builds the hub model and exports its
//! state_dict, input and scores; vbench loads them strictly and must reproduce the scores before
//! anything is timed. Then R rounds alternate blocks of K forwards (vbench first on even rounds,
//! PyTorch first on odd ones, so neither always runs right after the other). Each side times only
//! its own forward; before each round it waits up to `--quiet-wait` seconds (default 5) for the
//! machine's foreign load to drop under 25 %. Reported: both medians and their ratio; the geometric mean of per-round ratios
//! with a bootstrap 95 % CI; the same over rounds whose foreign load stayed under 25 %.

use std::error::Error;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::time::{Duration, Instant};
use tch::Tensor;
use vbench_eval::timing::machine_load::CpuSnapshot;
use vbench_eval::timing::stats;
use vbench_models::ModelInput;
use vbench_suite::{Activation, Entry};

type Res<T> = Result<T, Box<dyn Error>>;

const QUIET: f64 = 0.25;

struct Args {
    entries: Vec<String>,
    threads: i32,
    rounds: usize,
    per_round: usize,
    warmup: usize,
    batch: i64,
    quiet_wait: Duration,
    json: Option<PathBuf>,
}

fn parse_args() -> Res<Args> {
    let mut a = Args {
        entries: Vec::new(),
        threads: tch::get_num_threads(),
        rounds: 8,
        per_round: 3,
        warmup: 2,
        batch: 1,
        quiet_wait: Duration::from_secs(5),
        json: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut val = || it.next().ok_or_else(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--entry" => a.entries.push(val()?),
            "--threads" => a.threads = val()?.parse()?,
            "--rounds" => a.rounds = val()?.parse()?,
            "--per-round" => a.per_round = val()?.parse()?,
            "--warmup" => a.warmup = val()?.parse()?,
            "--batch" => a.batch = val()?.parse()?,
            "--quiet-wait" => a.quiet_wait = Duration::from_secs_f64(val()?.parse()?),
            "--json" => a.json = Some(val()?.into()),
            // cargo bench appends --bench; criterion-style filters are not used here.
            "--bench" => {}
            other => return Err(format!("unknown argument `{other}`").into()),
        }
    }
    if a.entries.is_empty() {
        a.entries = vec!["k400/x3d_xs".into(), "k400/slow_r50".into()];
    }
    if a.threads < 1 || a.rounds < 1 || a.per_round < 1 {
        return Err("--threads, --rounds and --per-round must be at least 1".into());
    }
    Ok(a)
}

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

struct Worker {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
}

impl Worker {
    fn start(e: &Entry, a: &Args, dir: &Path) -> Res<Worker> {
        let python = std::env::var_os("VBENCH_PYTHON")
            .map(PathBuf::from)
            .unwrap_or_else(|| repo_root().join(".venv/bin/python"));
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/pytorch_eager.py");
        let p = &e.protocol;
        let act = match p.head_activation {
            Activation::Softmax => "softmax",
            Activation::Sigmoid => "sigmoid",
            Activation::None => "none",
        };
        let mut cmd = Command::new(&python);
        cmd.arg(&script)
            .args(["--arch", &e.model.label(), "--activation", act])
            .args(["--classes", &p.num_classes.to_string()])
            .args([
                "--frames",
                &p.frames.to_string(),
                "--crop",
                &p.crop.to_string(),
            ])
            .args([
                "--batch",
                &a.batch.to_string(),
                "--threads",
                &a.threads.to_string(),
            ])
            .arg("--out")
            .arg(dir);
        if let Some(alpha) = p.alpha {
            cmd.args(["--alpha", &alpha.to_string()]);
        }
        let mut child = cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(|err| format!("{}: {err}", python.display()))?;
        let stdin = child.stdin.take().ok_or("no worker stdin")?;
        let stdout = BufReader::new(child.stdout.take().ok_or("no worker stdout")?);
        let mut w = Worker {
            child,
            stdin,
            stdout,
        };
        let ready = w.reply()?;
        if ready["ready"] != true {
            return Err(format!("worker: {ready}").into());
        }
        Ok(w)
    }

    fn reply(&mut self) -> Res<serde_json::Value> {
        let mut line = String::new();
        if self.stdout.read_line(&mut line)? == 0 {
            return Err("the Python worker exited (see its error above)".into());
        }
        Ok(serde_json::from_str(&line)?)
    }

    fn run(&mut self, k: usize) -> Res<Vec<f64>> {
        writeln!(self.stdin, "run {k}")?;
        self.stdin.flush()?;
        let r = self.reply()?;
        let ms = r["ms"].as_array().ok_or_else(|| format!("worker: {r}"))?;
        Ok(ms.iter().filter_map(|v| v.as_f64()).collect())
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        let _ = writeln!(self.stdin, "quit");
        let _ = self.stdin.flush();
        let _ = self.child.wait();
    }
}

/// Median of all samples, per-side; geometric mean of per-round ratios with a bootstrap CI.
#[derive(serde::Serialize)]
struct Comparison {
    entry: String,
    threads: i32,
    batch: i64,
    rounds: usize,
    per_round: usize,
    max_abs_score_diff: f64,
    vbench_median_ms: f64,
    pytorch_median_ms: f64,
    ratio_of_medians: f64,
    round_ratio_geomean: f64,
    round_ratio_ci95: (f64, f64),
    quiet_rounds: usize,
    quiet_ratio_geomean: Option<f64>,
    foreign_load_mean: f64,
    /// Minor page faults per forward, median over rounds.
    vbench_page_faults: f64,
    pytorch_page_faults: f64,
    loadavg_1m: Option<f64>,
    vbench_ms: Vec<Vec<f64>>,
    pytorch_ms: Vec<Vec<f64>>,
    round_foreign: Vec<f64>,
}

/// Waits (at most `limit`) for a 250 ms stretch with foreign load under [`QUIET`]: a shared
/// machine's builds come and go, and a round timed in a lull says more than one timed in a storm.
fn wait_for_quiet(helper: u32, limit: Duration) {
    let start = Instant::now();
    while start.elapsed() < limit {
        let Some(a) = CpuSnapshot::now_with(&[helper]) else {
            return;
        };
        std::thread::sleep(Duration::from_millis(250));
        match CpuSnapshot::now_with(&[helper]).and_then(|b| b.foreign_since(&a)) {
            Some(f) if f > QUIET => continue,
            _ => return,
        }
    }
}

/// Minor page faults of a process so far (/proc/<pid>/stat field 10): large tensors that glibc
/// serves by mmap fault in fresh pages on every forward, a cost outside the kernels.
fn minor_faults(pid: &str) -> Option<u64> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = text.get(text.rfind(')')? + 1..)?;
    rest.split_whitespace().nth(7)?.parse().ok()
}

fn geomean_ci(ratios: &[f64]) -> (f64, (f64, f64)) {
    let logs: Vec<f64> = ratios.iter().map(|r| r.ln()).collect();
    let (lo, hi) = stats::bootstrap_mean_ci95(&logs);
    (stats::mean(&logs).exp(), (lo.exp(), hi.exp()))
}

fn compare(e: &Entry, a: &Args) -> Res<Comparison> {
    tch::set_num_threads(a.threads);
    let dir = tempfile::tempdir()?;
    let mut worker = Worker::start(e, a, dir.path())?;
    let pid = worker.child.id();

    let weights = dir.path().join("model.pth");
    let model = vbench_eval::model::load_model(e, Some(&weights), tch::Device::Cpu)?;
    let io: std::collections::HashMap<String, Tensor> =
        Tensor::read_safetensors(dir.path().join("io.safetensors"))?
            .into_iter()
            .collect();
    let get = |k: &str| {
        io.get(k)
            .map(Tensor::shallow_clone)
            .ok_or(format!("io: no {k}"))
    };
    let input = match e.protocol.alpha {
        Some(_) => ModelInput::SlowFast {
            slow: get("slow")?,
            fast: get("fast")?,
        },
        None => ModelInput::Single(get("input")?),
    };
    let scores = model.forward(&input)?.scores;
    let diff = (&scores - get("scores")?).abs().max().double_value(&[]);
    if diff.is_nan() || diff >= 1e-3 {
        return Err(format!("{}: vbench and PyTorch scores differ by {diff}", e.id).into());
    }

    let ours = |k: usize| -> Res<Vec<f64>> {
        let _g = tch::no_grad_guard();
        (0..k)
            .map(|_| {
                let t0 = Instant::now();
                model.forward(&input)?;
                Ok(t0.elapsed().as_secs_f64() * 1e3)
            })
            .collect()
    };
    ours(a.warmup)?;
    worker.run(a.warmup)?;
    let (mut v_ms, mut p_ms, mut foreign) = (Vec::new(), Vec::new(), Vec::new());
    let (mut v_faults, mut p_faults) = (Vec::new(), Vec::new());
    for round in 0..a.rounds {
        wait_for_quiet(pid, a.quiet_wait);
        let before = CpuSnapshot::now_with(&[pid]);
        let (pid_s, k) = (pid.to_string(), a.per_round as f64);
        let mut faults = |side: &str, f: &mut dyn FnMut() -> Res<Vec<f64>>| -> Res<Vec<f64>> {
            let who = if side == "v" { "self" } else { pid_s.as_str() };
            let f0 = minor_faults(who);
            let ms = f()?;
            if let Some(d) = f0.zip(minor_faults(who)).map(|(a, b)| (b - a) as f64 / k) {
                if side == "v" {
                    v_faults.push(d)
                } else {
                    p_faults.push(d)
                }
            }
            Ok(ms)
        };
        let (v, p) = if round % 2 == 0 {
            let v = faults("v", &mut || ours(a.per_round))?;
            (v, faults("p", &mut || worker.run(a.per_round))?)
        } else {
            let p = faults("p", &mut || worker.run(a.per_round))?;
            (faults("v", &mut || ours(a.per_round))?, p)
        };
        let f = before
            .zip(CpuSnapshot::now_with(&[pid]))
            .and_then(|(b, n)| n.foreign_since(&b))
            .unwrap_or(f64::NAN);
        eprintln!(
            "  round {round}: vbench {:.1} ms, pytorch {:.1} ms, foreign load {:.0}%",
            stats::median(&v),
            stats::median(&p),
            f * 100.0
        );
        v_ms.push(v);
        p_ms.push(p);
        foreign.push(f);
    }
    let ratios: Vec<f64> = v_ms
        .iter()
        .zip(&p_ms)
        .map(|(v, p)| stats::median(v) / stats::median(p))
        .collect();
    let quiet: Vec<f64> = ratios
        .iter()
        .zip(&foreign)
        .filter(|(_, f)| **f <= QUIET)
        .map(|(r, _)| *r)
        .collect();
    let (g, ci) = geomean_ci(&ratios);
    let (vm, pm) = (stats::median(&v_ms.concat()), stats::median(&p_ms.concat()));
    let known: Vec<f64> = foreign.iter().copied().filter(|f| f.is_finite()).collect();
    Ok(Comparison {
        entry: e.id.clone(),
        threads: tch::get_num_threads(),
        batch: a.batch,
        rounds: a.rounds,
        per_round: a.per_round,
        max_abs_score_diff: diff,
        vbench_median_ms: vm,
        pytorch_median_ms: pm,
        ratio_of_medians: vm / pm,
        round_ratio_geomean: g,
        round_ratio_ci95: ci,
        quiet_rounds: quiet.len(),
        quiet_ratio_geomean: (!quiet.is_empty()).then(|| geomean_ci(&quiet).0),
        foreign_load_mean: stats::mean(&known),
        vbench_page_faults: stats::median(&v_faults),
        pytorch_page_faults: stats::median(&p_faults),
        loadavg_1m: vbench_eval::timing::machine_load::loadavg_1m(),
        vbench_ms: v_ms,
        pytorch_ms: p_ms,
        round_foreign: foreign,
    })
}

fn main() {
    let run = || -> Res<()> {
        let a = parse_args()?;
        let mut all = Vec::new();
        for id in &a.entries {
            let (plan, i) = vbench_suite::find_entry(id)?;
            let e = &plan.entries[i];
            eprintln!("{id}: {} threads, batch {}", a.threads, a.batch);
            let c = compare(e, &a)?;
            println!(
                "{id:<22} threads {}  vbench {:>8.2} ms  pytorch {:>8.2} ms  ratio {:.3} \
                 (per-round geomean {:.3}, 95% CI {:.3}–{:.3}; quiet rounds {}/{}: {})  \
                 foreign load {:.0}%  loadavg {}  page faults/forward {:.0} vs {:.0}  \
                 max |Δscore| {:.1e}",
                c.threads,
                c.vbench_median_ms,
                c.pytorch_median_ms,
                c.ratio_of_medians,
                c.round_ratio_geomean,
                c.round_ratio_ci95.0,
                c.round_ratio_ci95.1,
                c.quiet_rounds,
                c.rounds,
                c.quiet_ratio_geomean
                    .map_or("—".into(), |r| format!("{r:.3}")),
                c.foreign_load_mean * 100.0,
                c.loadavg_1m.map_or("?".into(), |l| format!("{l:.2}")),
                c.vbench_page_faults,
                c.pytorch_page_faults,
                c.max_abs_score_diff
            );
            all.push(c);
        }
        if let Some(p) = &a.json {
            std::fs::write(p, serde_json::to_string_pretty(&all)?)?;
        }
        Ok(())
    };
    if let Err(e) = run() {
        eprintln!("vs_pytorch: {e}");
        std::process::exit(2);
    }
}
