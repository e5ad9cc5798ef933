//! Latency of one forward pass: warm-up, then per-iteration samples (synchronised on CUDA), each
//! tagged with the machine's foreign load; samples taken while other processes used more than
//! `max_foreign_load` of the machine are discarded and counted. Measurement only: no formatting.

use crate::load::{loadavg_1m, CpuSnapshot};
use crate::stats;
use std::time::{Duration, Instant};
use vbench_report::LatencyResult;

#[derive(Debug, Clone)]
pub struct LatencyOptions {
    pub device: tch::Device,
    pub threads: i64,
    pub batch: i64,
    pub precision: String,
    pub warmup: u32,
    /// Stop after this many kept samples...
    pub iters: u32,
    /// ...or once this much time was spent measuring, whichever comes last (at least `iters`).
    pub min_time: Duration,
    /// Give up adding samples after this long, even if fewer than `iters` were kept.
    pub max_time: Duration,
    /// Discard a sample if other processes used more than this fraction of the machine meanwhile.
    pub max_foreign_load: f64,
}

impl Default for LatencyOptions {
    fn default() -> Self {
        LatencyOptions {
            device: tch::Device::Cpu,
            threads: tch::get_num_threads() as i64,
            batch: 1,
            precision: "fp32".into(),
            warmup: 1,
            iters: 5,
            min_time: Duration::ZERO,
            max_time: Duration::from_secs(120),
            max_foreign_load: 0.25,
        }
    }
}

fn sync(device: tch::Device) {
    if let tch::Device::Cuda(i) = device {
        tch::Cuda::synchronize(i as i64);
    }
}

/// Times `forward` (one batch) per `opts`. `forward` errors abort the measurement.
///
/// Samples taken while other processes used more than `max_foreign_load` of the machine are set
/// aside. Measuring stops at `iters` clean samples (and `min_time`), or after 3·`iters` attempts, or
/// at `max_time`. With fewer than half the requested clean samples, every sample is kept and the
/// result is marked `under_foreign_load`, rather than looping on a machine that stays busy.
pub fn measure<E>(
    mut forward: impl FnMut() -> Result<(), E>,
    opts: &LatencyOptions,
) -> Result<LatencyResult, E> {
    let _guard = tch::no_grad_guard();
    for _ in 0..opts.warmup {
        forward()?;
        sync(opts.device);
    }
    let iters = opts.iters.max(1) as usize;
    let (mut clean, mut noisy) = (Vec::new(), Vec::new());
    let mut foreign_seen = Vec::new();
    let started = Instant::now();
    loop {
        let enough = clean.len() >= iters && started.elapsed() >= opts.min_time;
        let attempts = clean.len() + noisy.len();
        if enough || attempts >= 3 * iters || (attempts > 0 && started.elapsed() >= opts.max_time) {
            break;
        }
        let before = CpuSnapshot::now();
        let t0 = Instant::now();
        forward()?;
        sync(opts.device);
        let ms = t0.elapsed().as_secs_f64() * 1e3;
        let foreign = before
            .zip(CpuSnapshot::now())
            .and_then(|(a, b)| b.foreign_since(&a));
        foreign_seen.extend(foreign);
        if foreign.is_some_and(|f| f > opts.max_foreign_load) {
            noisy.push(ms);
        } else {
            clean.push(ms);
        }
    }
    let foreign = (!foreign_seen.is_empty()).then(|| stats::mean(&foreign_seen));
    let mut result = if 2 * clean.len() >= iters {
        let discarded = noisy.len() as u32;
        summarize(clean, discarded, opts, foreign)
    } else {
        clean.extend(noisy);
        let mut r = summarize(clean, 0, opts, foreign);
        r.under_foreign_load = true;
        r
    };
    result.foreign_load = foreign;
    Ok(result)
}

/// Statistics of kept samples (ms per batch).
pub fn summarize(
    samples_ms: Vec<f64>,
    discarded: u32,
    opts: &LatencyOptions,
    foreign: Option<f64>,
) -> LatencyResult {
    let mut sorted = samples_ms.clone();
    sorted.sort_by(f64::total_cmp);
    let mean = stats::mean(&sorted);
    LatencyResult {
        device: format!("{:?}", opts.device).to_lowercase(),
        threads: opts.threads,
        batch: opts.batch,
        precision: opts.precision.clone(),
        warmup: opts.warmup,
        p50_ms: stats::percentile(&sorted, 50.0),
        p90_ms: stats::percentile(&sorted, 90.0),
        p99_ms: stats::percentile(&sorted, 99.0),
        mean_ms: mean,
        mean_ci95_ms: stats::bootstrap_mean_ci95(&samples_ms),
        cv: if mean > 0.0 {
            stats::std_dev(&sorted) / mean
        } else {
            0.0
        },
        clips_per_s: if mean > 0.0 {
            opts.batch as f64 * 1e3 / mean
        } else {
            0.0
        },
        samples_ms,
        discarded_samples: discarded,
        foreign_load: foreign,
        under_foreign_load: false,
        loadavg_1m: loadavg_1m(),
        telemetry: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn measures_requested_iterations_of_real_work() {
        let a = tch::Tensor::randn([256, 256], (tch::Kind::Float, tch::Device::Cpu));
        let opts = LatencyOptions {
            iters: 7,
            max_foreign_load: 1.1, // keep everything: this test checks counting, not the filter
            ..LatencyOptions::default()
        };
        let r = measure(|| Ok::<_, ()>(drop(a.matmul(&a))), &opts).unwrap();
        assert_eq!(r.samples_ms.len(), 7);
        assert_eq!(r.discarded_samples, 0);
        assert!(r.p50_ms > 0.0 && r.p50_ms <= r.p90_ms && r.p90_ms <= r.p99_ms);
        assert!(r.mean_ci95_ms.0 <= r.mean_ms && r.mean_ms <= r.mean_ci95_ms.1);
        assert!((r.clips_per_s - 1e3 / r.mean_ms).abs() < 1e-9);
    }

    #[test]
    fn forward_error_stops_the_measurement() {
        let opts = LatencyOptions::default();
        let r = measure(|| Err::<(), _>("boom"), &opts);
        assert_eq!(r.unwrap_err(), "boom");
    }
}
