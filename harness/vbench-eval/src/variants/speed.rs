//! A variant's speed as a ratio to fp32, measured in one run: pairs of forwards on the same
//! input, fp32 then the variant, then the variant then fp32 (ABBA...), so both see the same
//! machine and neither always runs right after the other. Pairs are judged for foreign load in
//! windows long enough for /proc's tick counters ([`LoadWindow`]); a window where other processes
//! used more than `max_foreign_load` of the machine is set aside, as `vbench latency` does.
//! Each side gets the usual statistics ([`summarize`]); the ratio gets a bootstrap CI over pairs.

use std::time::{Duration, Instant};

use tch::Device;
use vbench_models::{ModelInput, VideoModel};
use vbench_results::VariantSpeed;
use vbench_suite::Variant;

use crate::timing::latency::{check_device, device_name, summarize, LatencyError, LatencyOptions};
use crate::timing::machine_load::{loadavg_1m, LoadWindow, WindowReading};
use crate::timing::{set_threads, stats};

/// How one pairing runs.
#[derive(Debug, Clone)]
pub struct PairOptions {
    pub device: Device,
    /// libtorch intra-op threads, set on the measuring thread; `None`: as it is.
    pub threads: Option<usize>,
    pub batch: i64,
    /// Forwards of each model before the pairs.
    pub warmup: u32,
    /// Pairs to keep.
    pub pairs: u32,
    /// Stop adding pairs after this long.
    pub max_time: Duration,
    /// A window with more foreign load than this (0..1) is set aside.
    pub max_foreign_load: f64,
}

impl Default for PairOptions {
    fn default() -> Self {
        PairOptions {
            device: Device::Cpu,
            threads: None,
            batch: 1,
            warmup: 1,
            pairs: 10,
            max_time: Duration::from_secs(600),
            max_foreign_load: 0.25,
        }
    }
}

/// Pairs in time order and the verdicts of the windows they ran in.
#[derive(Default)]
struct Pairs {
    /// (fp32 ms, variant ms).
    ms: Vec<(f64, f64)>,
    noisy: Vec<bool>,
    /// (foreign load, pairs it covers) per closed window.
    readings: Vec<(f64, usize)>,
}

impl Pairs {
    fn close(&mut self, reading: WindowReading, max_foreign: f64) {
        let WindowReading::Closed(foreign) = reading else {
            return;
        };
        let n = self.ms.len() - self.noisy.len();
        if let Some(f) = foreign {
            self.readings.push((f, n));
        }
        let noisy = foreign.is_some_and(|f| f > max_foreign);
        self.noisy.extend(std::iter::repeat_n(noisy, n));
    }

    fn clean(&self) -> usize {
        self.noisy.iter().filter(|n| !**n).count()
    }

    /// The clean pairs (or, with fewer than half the requested, all: flagged), and how many were
    /// set aside.
    fn kept(&self, wanted: usize) -> (Vec<(f64, f64)>, u32, bool) {
        let clean: Vec<(f64, f64)> = self
            .ms
            .iter()
            .zip(&self.noisy)
            .filter(|(_, n)| !**n)
            .map(|(p, _)| *p)
            .collect();
        if 2 * clean.len() >= wanted {
            (clean.clone(), (self.ms.len() - clean.len()) as u32, false)
        } else {
            (self.ms.clone(), 0, true)
        }
    }

    fn foreign(&self) -> Option<f64> {
        let n: usize = self.readings.iter().map(|r| r.1).sum();
        (n > 0).then(|| {
            self.readings
                .iter()
                .map(|(f, k)| f * *k as f64)
                .sum::<f64>()
                / n as f64
        })
    }
}

fn sync(device: Device) {
    if let Device::Cuda(i) = device {
        tch::Cuda::synchronize(i as i64);
    }
}

/// Times `variant_model` against `fp32` on `input` per `opts`. A forward error ends it.
pub fn interleaved(
    fp32: &dyn VideoModel,
    variant_model: &dyn VideoModel,
    variant: Variant,
    input: &ModelInput,
    opts: &PairOptions,
) -> Result<VariantSpeed, LatencyError> {
    check_device(opts.device)?;
    set_threads(opts.threads)?;
    let _guard = tch::no_grad_guard();
    let models = [fp32, variant_model];
    let time = |m: &dyn VideoModel, stage: &'static str, i: u32| -> Result<f64, LatencyError> {
        let t0 = Instant::now();
        m.forward(input).map_err(|e| LatencyError::Forward {
            stage,
            iteration: i,
            message: e.to_string(),
        })?;
        sync(opts.device);
        Ok(t0.elapsed().as_secs_f64() * 1e3)
    };
    for i in 0..opts.warmup {
        for m in models {
            time(m, "warm-up", i + 1)?;
        }
    }
    let wanted = opts.pairs.max(1) as usize;
    let mut p = Pairs::default();
    let mut window = LoadWindow::start(&[]);
    let started = Instant::now();
    while p.clean() < wanted && p.noisy.len() < 3 * wanted {
        if !p.ms.is_empty() && started.elapsed() >= opts.max_time {
            break;
        }
        let i = p.ms.len() as u32 + 1;
        let pair = if i % 2 == 1 {
            let a = time(fp32, "pair", i)?;
            (a, time(variant_model, "pair", i)?)
        } else {
            let b = time(variant_model, "pair", i)?;
            (time(fp32, "pair", i)?, b)
        };
        p.ms.push(pair);
        p.close(window.poll(false), opts.max_foreign_load);
    }
    if p.ms.len() > p.noisy.len() {
        p.close(window.poll(true), opts.max_foreign_load);
    }
    Ok(result(&p, wanted, variant, opts))
}

fn result(p: &Pairs, wanted: usize, variant: Variant, opts: &PairOptions) -> VariantSpeed {
    let (kept, discarded, under_load) = p.kept(wanted);
    let lat = LatencyOptions {
        device: opts.device,
        threads: opts.threads,
        batch: opts.batch,
        warmup: opts.warmup,
        ..LatencyOptions::default()
    };
    let side = |v: Variant, ms: Vec<f64>| {
        let mut r = summarize(ms, discarded, &lat);
        r.variant = Some(v);
        r.precision = v.name().into();
        r.foreign_load = p.foreign();
        r.under_foreign_load = under_load;
        r
    };
    let fp32 = side(Variant::Fp32, kept.iter().map(|x| x.0).collect());
    let var = side(variant, kept.iter().map(|x| x.1).collect());
    let logs: Vec<f64> = kept.iter().map(|(a, b)| (a / b).ln()).collect();
    let (lo, hi) = stats::bootstrap_mean_ci95(&logs);
    VariantSpeed {
        device: device_name(opts.device),
        threads: fp32.threads,
        batch: opts.batch,
        speedup: fp32.p50_ms / var.p50_ms,
        pair_speedup: stats::mean(&logs).exp(),
        pair_speedup_ci95: (lo.exp(), hi.exp()),
        pairs: kept.len() as u32,
        discarded_pairs: discarded,
        under_foreign_load: under_load,
        foreign_load: p.foreign(),
        loadavg_1m: loadavg_1m(),
        fp32,
        variant: var,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pairs_keep_clean_windows_and_flag_a_busy_machine() {
        let mut p = Pairs::default();
        p.ms.extend([(2.0, 1.0), (4.0, 2.0)]);
        p.close(WindowReading::Closed(Some(0.9)), 0.25); // both set aside
        p.ms.push((3.0, 1.0));
        p.close(WindowReading::Open, 0.25);
        p.ms.push((6.0, 2.0));
        p.close(WindowReading::Closed(Some(0.1)), 0.25);
        assert_eq!(p.clean(), 2);
        assert_eq!(p.kept(4), (vec![(3.0, 1.0), (6.0, 2.0)], 2, false));
        assert!(p.kept(5).2);
        assert!((p.foreign().unwrap() - (0.9 * 2.0 + 0.1 * 2.0) / 4.0).abs() < 1e-12);
        let s = result(&p, 2, Variant::Bf16, &PairOptions::default());
        // Every kept pair is 3× faster: ratio, geometric mean and CI all say 3.
        assert!((s.speedup - 3.0).abs() < 1e-12, "{}", s.speedup);
        assert!((s.pair_speedup - 3.0).abs() < 1e-12);
        assert!((s.pair_speedup_ci95.0 - 3.0).abs() < 1e-9);
        assert_eq!((s.pairs, s.discarded_pairs), (2, 2));
        assert_eq!(s.variant.variant, Some(Variant::Bf16));
        assert_eq!(s.fp32.variant, Some(Variant::Fp32));
        assert_eq!(s.fp32.samples_ms, [3.0, 6.0]);
    }
}
