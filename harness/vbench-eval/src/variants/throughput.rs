//! MLPerf's Offline scenario for one model: clips per second at batch 1, 2, 4, ... until the next
//! batch would not fit in memory, a forward takes longer than the time limit, or `max_batch`.
//! On CUDA an out-of-memory forward ends the sweep where it happened (recorded), and the batches
//! before it stand. p90 at batch 1 is the SingleStream figure.

use std::time::{Duration, Instant};

use tch::Device;
use vbench_models::{ModelInput, VideoModel};
use vbench_results::{Throughput, ThroughputPoint};
use vbench_suite::Protocol;

use crate::timing::latency::{check_device, device_name, LatencyError};
use crate::timing::machine_load::{loadavg_1m, CpuSnapshot};
use crate::timing::telemetry::{peak_rss_bytes, reset_peak_rss};
use crate::timing::{set_threads, stats};

#[derive(Debug, Clone)]
pub struct ThroughputOptions {
    pub device: Device,
    pub threads: Option<usize>,
    /// The largest batch tried.
    pub max_batch: i64,
    /// Timed forwards per batch (after one warm-up).
    pub iters: u32,
    /// A batch whose warm-up forward takes longer than this is the last one.
    pub max_forward: Duration,
    /// CPU: the next batch must fit, by the last batch's growth, in this fraction of the memory
    /// available when the sweep started.
    pub memory_fraction: f64,
}

impl Default for ThroughputOptions {
    fn default() -> Self {
        ThroughputOptions {
            device: Device::Cpu,
            threads: None,
            max_batch: 64,
            iters: 3,
            max_forward: Duration::from_secs(60),
            memory_fraction: 0.7,
        }
    }
}

/// MemAvailable, bytes.
fn mem_available() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = text.lines().find(|l| l.starts_with("MemAvailable:"))?;
    Some(line.split_whitespace().nth(1)?.parse::<u64>().ok()? * 1024)
}

fn is_oom(message: &str) -> bool {
    message.contains("out of memory") || message.contains("CUDA_ERROR_OUT_OF_MEMORY")
}

fn sync(device: Device) {
    if let Device::Cuda(i) = device {
        tch::Cuda::synchronize(i as i64);
    }
}

/// The sweep for `model` on `protocol`'s view.
pub fn sweep(
    model: &dyn VideoModel,
    protocol: &Protocol,
    opts: &ThroughputOptions,
) -> Result<Throughput, LatencyError> {
    check_device(opts.device)?;
    set_threads(opts.threads)?;
    let _guard = tch::no_grad_guard();
    let before = CpuSnapshot::now();
    let budget = mem_available().map(|m| (m as f64 * opts.memory_fraction) as u64);
    let base_rss = peak_rss_bytes();
    let mut points: Vec<ThroughputPoint> = Vec::new();
    let mut out_of_memory_at = None;
    let mut batch = 1i64;
    let stopped_by = loop {
        if batch > opts.max_batch.max(1) {
            break "max_batch";
        }
        if let (Some(last), Some(base), Some(budget)) = (points.last(), base_rss, budget) {
            // Activations grow with the batch: doubling it doubles what the last batch added.
            let grown = last.peak_rss_bytes.unwrap_or(base).saturating_sub(base);
            if grown * 2 > budget {
                break "memory_limit";
            }
        }
        let input = ModelInput::dummy(protocol, batch, opts.device);
        reset_peak_rss();
        let t0 = Instant::now();
        if let Err(e) = model.forward(&input) {
            let message = e.to_string();
            if is_oom(&message) && !points.is_empty() {
                out_of_memory_at = Some(batch);
                break "out_of_memory";
            }
            return Err(LatencyError::Forward {
                stage: "throughput warm-up",
                iteration: batch as u32,
                message,
            });
        }
        sync(opts.device);
        let warm = t0.elapsed();
        let mut ms = Vec::new();
        for i in 0..opts.iters.max(1) {
            let t0 = Instant::now();
            model.forward(&input).map_err(|e| LatencyError::Forward {
                stage: "throughput",
                iteration: i + 1,
                message: e.to_string(),
            })?;
            sync(opts.device);
            ms.push(t0.elapsed().as_secs_f64() * 1e3);
        }
        let mut sorted = ms.clone();
        sorted.sort_by(f64::total_cmp);
        points.push(ThroughputPoint {
            batch,
            clips_per_s: batch as f64 * 1e3 / stats::mean(&ms),
            p50_ms: stats::percentile(&sorted, 50.0),
            p90_ms: stats::percentile(&sorted, 90.0),
            samples: ms.len() as u32,
            peak_rss_bytes: matches!(opts.device, Device::Cpu)
                .then(peak_rss_bytes)
                .flatten(),
        });
        if warm > opts.max_forward {
            break "time_limit";
        }
        batch *= 2;
    };
    let best = points
        .iter()
        .max_by(|a, b| a.clips_per_s.total_cmp(&b.clips_per_s))
        .cloned();
    let foreign = before
        .zip(CpuSnapshot::now())
        .and_then(|(a, b)| b.foreign_since(&a));
    Ok(Throughput {
        device: device_name(opts.device),
        threads: opts
            .threads
            .map_or_else(|| tch::get_num_threads() as i64, |n| n as i64),
        best_batch: best.as_ref().map_or(0, |b| b.batch),
        best_clips_per_s: best.as_ref().map_or(0.0, |b| b.clips_per_s),
        single_stream_p90_ms: points.first().map_or(f64::NAN, |p| p.p90_ms),
        points,
        stopped_by: stopped_by.into(),
        out_of_memory_at,
        foreign_load: foreign,
        loadavg_1m: loadavg_1m(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn out_of_memory_messages_are_recognised() {
        assert!(is_oom("CUDA out of memory. Tried to allocate 2.00 GiB"));
        assert!(!is_oom("shape mismatch"));
        assert!(mem_available().is_some_and(|m| m > 0));
    }
}
