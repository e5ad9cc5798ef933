//! Latency of one forward pass: warm-up, then per-iteration samples (synchronised on CUDA, under
//! no-grad), each judged by the machine's foreign load; samples taken while other processes used
//! more than `max_foreign_load` of the machine are discarded and counted. Telemetry (peak memory,
//! threads; NVML on CUDA) covers the sampling. Measurement only: no formatting.

use crate::provenance;
use crate::timing::machine_load::{loadavg_1m, LoadWindow, WindowReading};
use crate::timing::stats;
use crate::timing::telemetry::{self, GpuSampler};
use crate::timing::{set_threads, BadThreads};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use tch::Device;
use vbench_models::{ModelInput, VideoModel};
use vbench_results::telemetry::{GpuTelemetry, Telemetry};
use vbench_results::{LatencyResult, Measure};
use vbench_suite::{Entry, Precision};

#[derive(Debug, thiserror::Error)]
pub enum LatencyError {
    #[error("--device {device}: CUDA not available: {reason}")]
    CudaUnavailable { device: String, reason: String },
    #[error("{stage} {iteration}: forward failed: {message}")]
    Forward {
        stage: &'static str,
        iteration: u32,
        message: String,
    },
    /// The model could not be made (an int8 entry's published file that does not load).
    #[error(transparent)]
    Load(#[from] crate::model::LoadError),
    #[error(transparent)]
    Threads(#[from] BadThreads),
}

#[derive(Debug, Clone)]
pub struct LatencyOptions {
    pub device: Device,
    /// libtorch intra-op threads for the measurement, set on the measuring thread (OpenMP's count
    /// is per OS thread); `None`: whatever that thread has.
    pub threads: Option<usize>,
    pub batch: i64,
    pub precision: String,
    pub warmup: u32,
    /// Stop after this many kept samples...
    pub iters: u32,
    /// ...and once this much time was spent measuring (both must hold).
    pub min_time: Duration,
    /// Give up adding samples after this long, even if fewer than `iters` were kept.
    pub max_time: Duration,
    /// Discard a sample if other processes used more than this fraction of the machine meanwhile.
    pub max_foreign_load: f64,
    /// NVML sampling period on CUDA.
    pub telemetry_period: Duration,
    /// Processes whose CPU time is part of the measurement, not foreign load (a worker we drive).
    pub helper_pids: Vec<u32>,
}

impl Default for LatencyOptions {
    fn default() -> Self {
        LatencyOptions {
            device: Device::Cpu,
            threads: None,
            batch: 1,
            precision: "fp32".into(),
            warmup: 1,
            iters: 5,
            min_time: Duration::ZERO,
            max_time: Duration::from_secs(120),
            max_foreign_load: 0.25,
            telemetry_period: Duration::from_millis(50),
            helper_pids: Vec::new(),
        }
    }
}

/// `cpu`, `cuda:0`, ... as results.json spells devices.
pub fn device_name(d: Device) -> String {
    match d {
        Device::Cuda(i) => format!("cuda:{i}"),
        other => format!("{other:?}").to_lowercase(),
    }
}

/// Fails with a reason instead of letting libtorch panic later on a device it cannot reach.
pub fn check_device(device: Device) -> Result<(), LatencyError> {
    let Device::Cuda(i) = device else {
        return Ok(());
    };
    let rt = provenance::cuda_runtime();
    let fail = |reason: String| LatencyError::CudaUnavailable {
        device: device_name(device),
        reason,
    };
    if !rt.available {
        let build = match (&rt.libtorch_has_cuda, &rt.cuda_runtime_version) {
            (false, _) => "libtorch is a CPU-only build".to_string(),
            (true, Some(v)) => format!("libtorch is built with CUDA {v} but finds no usable GPU"),
            (true, None) => "libtorch has CUDA but finds no usable GPU".to_string(),
        };
        return Err(fail(format!(
            "{build} (tch::Cuda::is_available() = false, {} devices); \
             use a GPU machine (ci/gpu-check.sh) or --device cpu",
            rt.device_count
        )));
    }
    if i as i64 >= rt.device_count {
        return Err(fail(format!(
            "cuda:{i} does not exist: {} device(s)",
            rt.device_count
        )));
    }
    Ok(())
}

fn sync(device: Device) {
    if let Device::Cuda(i) = device {
        tch::Cuda::synchronize(i as i64);
    }
}

/// Samples in time order and the foreign-load verdicts of the windows they ran in.
#[derive(Default, Clone)]
struct Sampling {
    ms: Vec<f64>,
    /// One verdict per judged sample (a prefix of `ms`); the rest wait for their window to close.
    noisy: Vec<bool>,
    /// (foreign load, samples it covers) per closed window.
    readings: Vec<(f64, usize)>,
}

impl Sampling {
    fn clean(&self) -> usize {
        self.noisy.iter().filter(|n| !**n).count()
    }
    fn pending(&self) -> usize {
        self.ms.len() - self.noisy.len()
    }
    fn close(&mut self, reading: WindowReading, max_foreign: f64) {
        let WindowReading::Closed(foreign) = reading else {
            return;
        };
        let n = self.pending();
        // /proc unreadable or too short to tell (`None`): nothing says the machine was busy.
        let noisy = foreign.is_some_and(|f| f > max_foreign);
        if let Some(f) = foreign {
            self.readings.push((f, n));
        }
        self.noisy.extend(std::iter::repeat_n(noisy, n));
    }
    /// The clean samples, or with too few of them every sample (both in time order), and the
    /// number discarded.
    fn kept(self, iters: usize) -> (Vec<f64>, u32, bool) {
        let clean: Vec<f64> = self
            .ms
            .iter()
            .zip(&self.noisy)
            .filter(|(_, n)| !**n)
            .map(|(m, _)| *m)
            .collect();
        if 2 * clean.len() >= iters {
            let discarded = (self.ms.len() - clean.len()) as u32;
            (clean, discarded, false)
        } else {
            (self.ms, 0, true)
        }
    }
}

/// Times `forward` (one batch) per `opts`. A `forward` error aborts the measurement.
///
/// Samples are judged in windows long enough for /proc's tick counters (see
/// [`LoadWindow`]); a window where other processes used more than `max_foreign_load` of the machine
/// is set aside. Measuring stops at `iters` clean samples once `min_time` has passed (forwards
/// shorter than a window give more), or after 3 × the needed samples were judged, or at
/// `max_time`. With fewer than half the requested clean samples,
/// every sample is kept and the result is marked `under_foreign_load`, rather than looping on a
/// machine that stays busy.
pub fn measure<E: std::fmt::Display>(
    mut forward: impl FnMut() -> Result<(), E>,
    opts: &LatencyOptions,
) -> Result<LatencyResult, LatencyError> {
    check_device(opts.device)?;
    set_threads(opts.threads)?;
    let _guard = tch::no_grad_guard();
    let failed = |stage, iteration, e: E| LatencyError::Forward {
        stage,
        iteration,
        message: e.to_string(),
    };
    for i in 0..opts.warmup {
        forward().map_err(|e| failed("warm-up", i + 1, e))?;
        sync(opts.device);
    }
    let rss_reset = telemetry::reset_peak_rss();
    let mut gpu = match opts.device {
        Device::Cuda(i) => Some(GpuSampler::start(i, opts.telemetry_period)),
        _ => None,
    };
    let iters = opts.iters.max(1) as usize;
    let mut s = Sampling::default();
    let mut window = LoadWindow::start(&opts.helper_pids);
    let started = Instant::now();
    let stopped_by = loop {
        let elapsed = started.elapsed();
        let (attempts, clean) = (s.ms.len(), s.clean());
        // With --min-time the attempt budget grows to what min_time needs at the median speed.
        let needed = if opts.min_time > Duration::ZERO && attempts > 0 {
            let per = stats::median(&s.ms).max(1e-3);
            iters.max((opts.min_time.as_secs_f64() * 1e3 / per).ceil() as usize)
        } else {
            iters
        };
        if clean >= iters && elapsed >= opts.min_time {
            break if opts.min_time > Duration::ZERO && clean > iters {
                "min_time"
            } else {
                "iters"
            };
        }
        // Samples in a still-open window are not judged yet; the window closes within
        // `min_window_ticks` of CPU time, so they cannot hold the loop for long.
        if s.noisy.len() >= 3 * needed {
            break "attempt_limit";
        }
        if attempts > 0 && elapsed >= opts.max_time {
            break "max_time";
        }
        let t0 = Instant::now();
        forward().map_err(|e| failed("sample", attempts as u32 + 1, e))?;
        sync(opts.device);
        s.ms.push(t0.elapsed().as_secs_f64() * 1e3);
        s.close(window.poll(false), opts.max_foreign_load);
    };
    if s.pending() > 0 {
        s.close(window.poll(true), opts.max_foreign_load);
    }
    let clips = s.ms.len() as u64 * opts.batch.max(0) as u64;
    let gpu = match gpu.take() {
        Some(Ok(sampler)) => sampler.finish(clips),
        Some(Err(reason)) => GpuTelemetry::Unavailable { reason },
        None => GpuTelemetry::NotApplicable {
            reason: format!("measured on {}", device_name(opts.device)),
        },
    };
    let weight: usize = s.readings.iter().map(|r| r.1).sum();
    let foreign = (weight > 0)
        .then(|| s.readings.iter().map(|(f, n)| f * *n as f64).sum::<f64>() / weight as f64);
    let (kept, discarded, under_load) = s.kept(iters);
    let mut result = summarize(kept, discarded, opts);
    result.under_foreign_load = under_load;
    result.foreign_load = foreign;
    result.stopped_by = Some(stopped_by.into());
    let t = Telemetry {
        cpu: telemetry::cpu_telemetry(rss_reset),
        gpu,
    };
    result.telemetry = serde_json::to_value(&t).ok();
    Ok(result)
}

/// Statistics of kept samples (ms per batch), recorded with `opts`' setup. The thread count is
/// `opts.threads`; without one, the count in effect on this thread (what [`measure`] ran with).
pub fn summarize(samples_ms: Vec<f64>, discarded: u32, opts: &LatencyOptions) -> LatencyResult {
    let mut sorted = samples_ms.clone();
    sorted.sort_by(f64::total_cmp);
    let mean = stats::mean(&sorted);
    LatencyResult {
        device: device_name(opts.device),
        threads: opts
            .threads
            .map_or_else(|| tch::get_num_threads() as i64, |n| n as i64),
        batch: opts.batch,
        precision: opts.precision.clone(),
        warmup: opts.warmup,
        p50_ms: stats::percentile(&sorted, 50.0),
        p90_ms: stats::percentile(&sorted, 90.0),
        p99_ms: stats::percentile(&sorted, 99.0),
        mean_ms: mean,
        mean_ci95_ms: stats::bootstrap_mean_ci95(&samples_ms),
        cv: stats::cv(&sorted),
        clips_per_s: if mean > 0.0 {
            opts.batch as f64 * 1e3 / mean
        } else {
            0.0
        },
        samples_ms,
        discarded_samples: discarded,
        foreign_load: None,
        under_foreign_load: false,
        loadavg_1m: loadavg_1m(),
        telemetry: None,
        omp_env: provenance::omp_env(),
        note: None,
        stopped_by: None,
        variant: None,
    }
}

/// Where the published latency was measured on other hardware (a phone), what this number is.
pub fn host_note(e: &Entry, device: Device) -> Option<String> {
    let r = &e.published;
    let (ms, dev) = (r.latency_ms?, r.latency_device.as_ref()?);
    let host = match device {
        Device::Cpu => provenance::host().cpu_model,
        d => device_name(d),
    };
    Some(format!(
        "host measurement on {host}; the published {ms} ms was measured on a {dev} — \
         different hardware, shown for reference, not comparable"
    ))
}

/// One view of `e`'s test protocol × `opts.batch` through `model`: what `vbench run` and
/// `vbench latency` report. Any backend, through the model seam; at least the warm-up passes the
/// model asks for (TorchScript's profiling executor specialises the graph in its first calls).
pub fn measure_model(
    e: &Entry,
    model: &dyn VideoModel,
    opts: &LatencyOptions,
) -> Result<LatencyResult, LatencyError> {
    check_device(opts.device)?;
    let input = ModelInput::dummy(&e.protocol, opts.batch, opts.device);
    let opts = LatencyOptions {
        warmup: opts.warmup.max(model.min_warmup()),
        ..opts.clone()
    };
    let mut r = measure(|| model.forward(&input).map(drop), &opts)?;
    r.note = host_note(e, opts.device);
    Ok(r)
}

/// Where an int8 entry's published TorchScript file is cached (`vbench fetch`); `None` for fp32
/// entries, which run vbench's own model.
pub fn int8_torchscript(e: &Entry, weights_dir: Option<&Path>) -> Option<PathBuf> {
    let file = e.checkpoint.as_ref()?.file_name();
    (e.precision == Precision::Int8).then(|| {
        weights_dir
            .map(Path::to_path_buf)
            .unwrap_or_else(crate::weights::default_dir)
            .join(file)
    })
}

/// Why an int8 entry was not measured: its TorchScript file is not there.
pub fn missing_torchscript(e: &Entry, path: &Path) -> String {
    let suite = e.id.split('/').next().unwrap_or("mobile");
    format!(
        "{}: not found; int8 entries time the published TorchScript file through libtorch's \
         QNNPACK engine (`vbench fetch --suite {suite}`, or `vbench latency --torchscript FILE`)",
        path.display()
    )
}

/// What `vbench run` records for `e`: `model` for fp32 entries; int8 entries time their published
/// TorchScript file (the model seam's int8 backend) if cached, else `Skipped` (never the fp32
/// model under the int8 label).
pub fn measure_entry(
    e: &Entry,
    model: &dyn VideoModel,
    opts: &LatencyOptions,
    weights_dir: Option<&Path>,
) -> Measure<LatencyResult> {
    let opts = LatencyOptions {
        precision: format!("{:?}", e.precision).to_lowercase(),
        ..opts.clone()
    };
    let r = match int8_torchscript(e, weights_dir) {
        None => measure_model(e, model, &opts),
        Some(path) if !path.is_file() => {
            return Measure::Skipped {
                reason: missing_torchscript(e, &path),
            }
        }
        Some(path) => crate::model::load_model(e, Some(&path), opts.device)
            .map_err(LatencyError::from)
            .and_then(|m| measure_model(e, m.as_ref(), &opts)),
    };
    match r {
        Ok(value) => Measure::Measured { value },
        Err(err) => Measure::Failed {
            error: err.to_string(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn measures_requested_iterations_of_real_work() {
        let a = tch::Tensor::randn([256, 256], (tch::Kind::Float, Device::Cpu));
        let opts = LatencyOptions {
            iters: 7,
            max_foreign_load: 1.1, // keep everything: this test checks counting, not the filter
            ..LatencyOptions::default()
        };
        let r = measure(
            || {
                let _ = a.matmul(&a);
                Ok::<_, String>(())
            },
            &opts,
        )
        .unwrap();
        // A 1 ms forward fills a whole load window before it is judged: at least 7 samples.
        assert!(r.samples_ms.len() >= 7, "{}", r.samples_ms.len());
        assert_eq!(r.discarded_samples, 0);
        assert_eq!(r.stopped_by.as_deref(), Some("iters"));
        assert!(r.p50_ms > 0.0 && r.p50_ms <= r.p90_ms && r.p90_ms <= r.p99_ms);
        assert!(r.mean_ci95_ms.0 <= r.mean_ms && r.mean_ms <= r.mean_ci95_ms.1);
        assert!((r.clips_per_s - 1e3 / r.mean_ms).abs() < 1e-9);
        let t: Telemetry = serde_json::from_value(r.telemetry.unwrap()).unwrap();
        assert!(matches!(t.gpu, GpuTelemetry::NotApplicable { .. }));
    }

    #[test]
    fn verdicts_follow_windows_and_keep_time_order() {
        let mut s = Sampling::default();
        s.ms.extend([1.0, 2.0]);
        s.close(WindowReading::Open, 0.25);
        assert_eq!(s.pending(), 2);
        s.close(WindowReading::Closed(Some(0.5)), 0.25); // both noisy
        s.ms.push(3.0);
        s.close(WindowReading::Closed(Some(0.1)), 0.25);
        s.ms.push(4.0);
        s.close(WindowReading::Closed(None), 0.25); // unknown load counts as clean
        assert_eq!((s.clean(), s.pending()), (2, 0));
        assert_eq!(s.readings, vec![(0.5, 2), (0.1, 1)]);
        assert_eq!(s.clone().kept(4), (vec![3.0, 4.0], 2, false));
        // Fewer than half of 5 requested are clean: everything, in time order, flagged.
        assert_eq!(s.kept(5), (vec![1.0, 2.0, 3.0, 4.0], 0, true));
    }

    #[test]
    fn forward_error_stops_the_measurement() {
        let opts = LatencyOptions::default();
        let r = measure(|| Err::<(), _>("boom"), &opts);
        let msg = r.unwrap_err().to_string();
        assert_eq!(msg, "warm-up 1: forward failed: boom");
    }

    #[test]
    fn attempts_are_bounded_when_every_window_is_noisy() {
        // max_foreign_load below zero marks every reading noisy: the loop must still end.
        let opts = LatencyOptions {
            iters: 4,
            warmup: 0,
            max_foreign_load: -1.0,
            ..LatencyOptions::default()
        };
        let r = measure(
            || {
                std::thread::sleep(Duration::from_millis(30));
                Ok::<_, String>(())
            },
            &opts,
        )
        .unwrap();
        // 3 × 4 judged samples, plus at most one window's worth (~7 sleeps of 30 ms).
        assert!(r.samples_ms.len() <= 30, "{}", r.samples_ms.len());
        assert!(r.under_foreign_load || r.discarded_samples > 0 || r.foreign_load.is_none());
    }

    #[test]
    fn cuda_without_a_device_is_a_clear_error() {
        if tch::Cuda::is_available() {
            return;
        }
        let err = check_device(Device::Cuda(0)).unwrap_err().to_string();
        assert!(err.contains("CUDA not available"), "{err}");
        assert!(check_device(Device::Cpu).is_ok());
    }
}
