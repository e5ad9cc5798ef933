//! Latency statistics, telemetry and foreign-load accounting.
//!
//! - statistics against numpy (`tests/oracles/latency_stats.py`) and a hand computation on stored
//!   samples; the seeded bootstrap CI's determinism and coverage on synthetic data;
//! - the no-NVML and no-CUDA paths: reasons, never panics;
//! - latency of a real model (X3D-XS) on the CPU, a few iterations, and of an int8 efficient X3D-XS
//!   TorchScript module (`tests/oracles/latency_int8.py`) through libtorch's QNNPACK engine;
//! - foreign load: busy child processes get the samples flagged; a helper's CPU time is ours.
//!
//! No assertion depends on how long anything took.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;
use tch::{Device, Kind, Tensor};
use vbench_eval::timing::latency::{self, LatencyOptions};
use vbench_eval::timing::machine_load::CpuSnapshot;
use vbench_eval::timing::stats::{self, SplitMix64};
use vbench_eval::timing::telemetry::GpuSampler;
use vbench_results::telemetry::{GpuTelemetry, Telemetry};
use vbench_testkit::{repo_root, venv_python};

/// Latency samples as a noisy shared machine produces them (ms): a cluster, a slow tail, ties.
const STORED: &[&[f64]] = &[
    &[
        48.31, 47.92, 49.05, 51.77, 48.31, 47.60, 212.4, 48.88, 50.12, 47.99, 48.02, 49.61, 95.3,
        48.44, 48.10, 47.75, 52.06, 48.31, 48.67, 49.90, 47.83, 48.05, 61.2, 48.29, 47.96, 48.73,
        48.12, 49.33, 48.58, 47.88, 48.21, 50.44, 48.36, 47.94, 48.15, 48.49, 130.0,
    ],
    &[1.0, 2.0, 3.0, 4.0, 10.0],
    &[812.5, 799.25],
    &[3.25],
];

fn run_oracle(script: &str, args: &[&Path]) {
    let status = Command::new(venv_python())
        .arg(repo_root().join("tests/oracles").join(script))
        .args(args)
        .status()
        .unwrap_or_else(|e| panic!("{}: {e}", venv_python().display()));
    assert!(status.success(), "{script} failed");
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-9 * b.abs().max(1.0)
}

fn summary(samples: &[f64]) -> vbench_results::LatencyResult {
    latency::summarize(samples.to_vec(), 0, &LatencyOptions::default())
}

#[test]
fn statistics_match_numpy_on_stored_samples() {
    let dir = tempfile::tempdir().unwrap();
    let (src, dst) = (dir.path().join("in.json"), dir.path().join("out.json"));
    std::fs::write(&src, serde_json::json!({ "sets": STORED }).to_string()).unwrap();
    run_oracle("latency_stats.py", &[&src, &dst]);
    let oracle: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&dst).unwrap()).unwrap();
    for (set, np) in STORED.iter().zip(oracle["results"].as_array().unwrap()) {
        let want = |k: &str| np[k].as_f64().unwrap();
        let r = summary(set);
        for (name, got, key) in [
            ("p50", r.p50_ms, "p50"),
            ("p90", r.p90_ms, "p90"),
            ("p99", r.p99_ms, "p99"),
            ("mean", r.mean_ms, "mean"),
            ("cv", r.cv, "cv"),
            ("std", stats::std_dev(set), "std"),
            ("median", stats::median(set), "median"),
        ] {
            assert!(
                close(got, want(key)),
                "{name} of {set:?}: {got} vs numpy {}",
                want(key)
            );
        }
        assert_eq!(r.samples_ms, set.to_vec(), "samples are stored as measured");
        assert!((r.clips_per_s - 1e3 / r.mean_ms).abs() < 1e-9);
    }
}

#[test]
fn statistics_match_a_hand_computation() {
    // sorted 10 11 12 15: p50 at position 1.5 → 11.5; p90 at 2.7 → 12 + 0.7·3; p99 at 2.97.
    let r = summary(&[12.0, 10.0, 11.0, 15.0]);
    assert!(close(r.p50_ms, 11.5));
    assert!(close(r.p90_ms, 14.1));
    assert!(close(r.p99_ms, 14.91));
    assert!(close(r.mean_ms, 12.0));
    // Σ(x − 12)² = 4 + 1 + 0 + 9 = 14; s = √(14/3).
    assert!(close(r.cv, (14.0f64 / 3.0).sqrt() / 12.0));
    assert!(close(r.clips_per_s, 1e3 / 12.0));
}

#[test]
fn bootstrap_ci_is_seeded_and_covers_the_true_mean() {
    let x: Vec<f64> = STORED[0].to_vec();
    let ci = stats::bootstrap_mean_ci95(&x);
    assert_eq!(ci, stats::bootstrap_mean_ci95(&x), "same samples, same CI");
    assert_eq!(
        summary(&x).mean_ci95_ms,
        ci,
        "results.json stores the same CI"
    );
    let other_seed = stats::bootstrap_mean_ci(&x, 0.95, stats::BOOTSTRAP_RESAMPLES, 1);
    assert_ne!(ci, other_seed, "the seed is what makes it reproducible");
    assert!(ci.0 < stats::mean(&x) && stats::mean(&x) < ci.1);

    // Coverage on synthetic data with a known mean: 400 data sets of 30 draws from N(50, 4²).
    // The percentile bootstrap slightly undercovers at n = 30; everything here is seeded, so the
    // count is a fixed number, not a flaky one.
    let mut rng = SplitMix64(2024);
    let (mu, trials, n) = (50.0, 400, 30);
    let mut covered = 0;
    let mut widths = Vec::new();
    for _ in 0..trials {
        let d: Vec<f64> = (0..n).map(|_| mu + 4.0 * rng.normal()).collect();
        let (lo, hi) = stats::bootstrap_mean_ci95(&d);
        covered += (lo <= mu && mu <= hi) as usize;
        widths.push(hi - lo);
    }
    let coverage = covered as f64 / trials as f64;
    assert!((0.88..=0.99).contains(&coverage), "coverage {coverage}");
    // Width ≈ 2 · 1.96 · σ/√n = 2.86.
    let w = stats::mean(&widths);
    assert!((2.4..3.3).contains(&w), "mean width {w}");
}

#[test]
fn no_nvml_and_no_cuda_are_reasons_not_panics() {
    match GpuSampler::start(0, Duration::from_millis(20)) {
        Err(reason) => assert!(reason.starts_with("no NVML: "), "{reason}"),
        // A GPU machine: the sampler runs and records.
        Ok(s) => assert!(matches!(s.finish(0), GpuTelemetry::Recorded(_))),
    }
    if let vbench_results::GpuProvenance::Unavailable { reason } = vbench_eval::provenance::gpu() {
        assert!(!reason.is_empty());
    }
    if tch::Cuda::is_available() {
        return;
    }
    let (plan, i) = vbench_suite::find_entry("k400/x3d_xs").unwrap();
    let model = vbench_eval::model::build_model(&plan.entries[i], Device::Cpu).unwrap();
    let opts = LatencyOptions {
        device: Device::Cuda(0),
        ..LatencyOptions::default()
    };
    let err = latency::measure_model(&plan.entries[i], model.as_ref(), &opts).unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.contains("cuda:0") && msg.contains("CUDA not available"),
        "{msg}"
    );
}

#[test]
fn latency_of_x3d_xs_on_cpu_is_complete() {
    let (plan, i) = vbench_suite::find_entry("k400/x3d_xs").unwrap();
    let e = &plan.entries[i];
    let model = vbench_eval::model::build_model(e, Device::Cpu).unwrap();
    tch::set_num_threads(1);
    let opts = LatencyOptions {
        warmup: 1,
        iters: 3,
        max_foreign_load: 1.0, // plumbing, not the machine's quietness
        max_time: Duration::from_secs(60),
        ..LatencyOptions::default()
    };
    let r = latency::measure_model(e, model.as_ref(), &opts).unwrap();
    assert!(r.samples_ms.len() >= 3, "{:?}", r.samples_ms);
    assert_eq!((r.device.as_str(), r.threads, r.batch), ("cpu", 1, 1));
    assert!(r.p50_ms > 0.0 && r.p50_ms <= r.p90_ms && r.p90_ms <= r.p99_ms);
    assert!(r.mean_ci95_ms.0 <= r.mean_ms && r.mean_ms <= r.mean_ci95_ms.1);
    assert!(r.stopped_by.is_some() && r.note.is_none() && !r.under_foreign_load);
    let t: Telemetry = serde_json::from_value(r.telemetry.clone().unwrap()).unwrap();
    assert_eq!(t.cpu.intra_op_threads, 1);
    assert!(t.cpu.peak_rss_bytes.unwrap() > 0);
    assert!(matches!(t.gpu, GpuTelemetry::NotApplicable { .. }));
    // The schema round-trips the new fields.
    let back: vbench_results::LatencyResult =
        serde_json::from_value(serde_json::to_value(&r).unwrap()).unwrap();
    assert_eq!(back.omp_env, r.omp_env);
    assert_eq!(back.stopped_by, r.stopped_by);
}

#[test]
fn int8_efficient_x3d_runs_as_torchscript_on_qnnpack() {
    let dir = tempfile::tempdir().unwrap();
    run_oracle("latency_int8.py", &[dir.path()]);
    let file = dir.path().join("xs_int8.pt");
    let (plan, i) = vbench_suite::find_entry("mobile/efficient_x3d_xs_int8").unwrap();
    let e = &plan.entries[i];
    // Through the model seam: the int8 entry runs its published file on QNNPACK.
    let module = vbench_eval::model::load_model(e, Some(&file), Device::Cpu).unwrap();
    // Same file, same input, same quantized kernels: the output must be the oracle's.
    let io: std::collections::HashMap<String, Tensor> =
        Tensor::read_safetensors(dir.path().join("io.safetensors"))
            .unwrap()
            .into_iter()
            .collect();
    let input = vbench_models::ModelInput::Single(io["input"].shallow_clone());
    let y = module.forward(&input).unwrap();
    let diff = (&y.pre_activation - &io["output"])
        .abs()
        .max()
        .double_value(&[]);
    assert!(
        diff < 1e-5,
        "TorchScript output differs from PyTorch's by {diff}"
    );
    // The file's output is the network's logits (efficient X3D's head activation is identity):
    // the protocol's softmax makes the scores, as for the fp32 entry.
    let softmax = io["output"].softmax(1, tch::Kind::Float);
    let diff = (&y.scores - &softmax).abs().max().double_value(&[]);
    assert!(
        diff < 1e-6,
        "scores are not the softmax of the logits: {diff}"
    );
    tch::set_num_threads(1);
    let opts = LatencyOptions {
        precision: "int8".into(),
        iters: 3,
        max_foreign_load: 1.0,
        max_time: Duration::from_secs(60),
        ..LatencyOptions::default()
    };
    let r = latency::measure_model(e, module.as_ref(), &opts).unwrap();
    assert!(
        r.samples_ms.len() >= 3 && r.warmup >= 3,
        "TorchScript gets ≥ 3 warm-ups"
    );
    let note = r.note.unwrap();
    assert!(
        note.contains("host measurement") && note.contains("Samsung S8"),
        "{note}"
    );

    // `vbench run`'s path: the int8 entry times its cached TorchScript file, or says it is missing
    // (never the fp32 model under the int8 label). The fp32 model passed in is not used.
    let (k400, x) = vbench_suite::find_entry("k400/x3d_xs").unwrap();
    let fp32 = vbench_eval::model::build_model(&k400.entries[x], Device::Cpu).unwrap();
    let empty = tempfile::tempdir().unwrap();
    match latency::measure_entry(e, fp32.as_ref(), &opts, Some(empty.path())) {
        vbench_results::Measure::Skipped { reason } => assert!(reason.contains("not found")),
        other => panic!("expected skipped, got {}", other.status()),
    }
    let cached = dir.path().join(e.checkpoint.as_ref().unwrap().file_name());
    std::fs::copy(&file, cached).unwrap();
    let fp32_opts = LatencyOptions {
        precision: "fp32".into(),
        ..opts
    };
    match latency::measure_entry(e, fp32.as_ref(), &fp32_opts, Some(dir.path())) {
        vbench_results::Measure::Measured { value } => assert_eq!(value.precision, "int8"),
        other => panic!("expected measured, got {}", other.status()),
    }
}

/// Busy child processes, killed (by their own ids) when dropped.
struct Busy(Vec<Child>);

impl Busy {
    fn spawn(n: usize) -> Busy {
        Busy(
            (0..n)
                .map(|_| {
                    Command::new("sh")
                        .args(["-c", "while :; do :; done"])
                        .stdout(Stdio::null())
                        .spawn()
                        .expect("sh")
                })
                .collect(),
        )
    }
}

impl Drop for Busy {
    fn drop(&mut self) {
        for c in &mut self.0 {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

fn ncpu() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

#[test]
fn samples_under_busy_children_are_flagged() {
    // One spinning child per CPU: whatever else the shared machine runs only adds to it.
    let _busy = Busy::spawn(ncpu());
    std::thread::sleep(Duration::from_millis(100));
    let work = Tensor::randn([192, 192], (Kind::Float, Device::Cpu));
    tch::set_num_threads(1);
    let opts = LatencyOptions {
        warmup: 0,
        iters: 4,
        max_foreign_load: 0.25,
        max_time: Duration::from_secs(20), // the loop is bounded whatever happens
        ..LatencyOptions::default()
    };
    let r = latency::measure(
        || {
            for _ in 0..20 {
                let _ = work.matmul(&work);
            }
            Ok::<_, String>(())
        },
        &opts,
    )
    .unwrap();
    let foreign = r.foreign_load.expect("windows were judged");
    assert!(
        foreign > 0.25,
        "foreign load {foreign} with {} busy children",
        ncpu()
    );
    assert!(
        r.under_foreign_load || r.discarded_samples > 0,
        "samples under load were neither discarded nor flagged: {r:?}"
    );
}

#[test]
fn a_helpers_cpu_time_is_not_foreign() {
    let busy = Busy::spawn(1);
    let pid = busy.0[0].id();
    let (a, a_with) = (
        CpuSnapshot::now().unwrap(),
        CpuSnapshot::now_with(&[pid]).unwrap(),
    );
    std::thread::sleep(Duration::from_millis(1000));
    let (b, b_with) = (
        CpuSnapshot::now().unwrap(),
        CpuSnapshot::now_with(&[pid]).unwrap(),
    );
    let without = b.foreign_since(&a).unwrap();
    let with = b_with.foreign_since(&a_with).unwrap();
    // The child spun for most of a second: counted as foreign without it, as ours with it.
    assert!(
        b_with.own - a_with.own > b.own - a.own,
        "helper ticks counted"
    );
    assert!(
        without - with > 0.05,
        "without {without}, with helper {with}"
    );
}
