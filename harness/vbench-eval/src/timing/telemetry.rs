//! What the machine did while a latency measurement ran: the process's peak memory and threads (CPU)
//! and, on CUDA, NVML readings from a sampler thread — peak memory, power, energy, SM clock,
//! temperature, utilisation, throttle reasons. Nothing here panics: a reading the driver does not
//! support is left out and named in `unsupported`; no NVML at all is recorded as
//! `"no NVML: <reason>"`.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use vbench_results::telemetry::{CpuTelemetry, GpuSummary, GpuTelemetry, Range};

/// One tick's readings; `None` where the driver refused.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct GpuReading {
    pub memory_used_bytes: Option<u64>,
    pub process_memory_bytes: Option<u64>,
    pub power_mw: Option<u32>,
    pub sm_clock_mhz: Option<u32>,
    pub temperature_c: Option<u32>,
    pub gpu_utilization_pct: Option<u32>,
    pub memory_utilization_pct: Option<u32>,
    pub throttle_reasons: Vec<String>,
}

#[derive(Debug, Clone, Copy, Default)]
struct Acc {
    n: u32,
    sum: f64,
    min: f64,
    max: f64,
}

impl Acc {
    fn push(&mut self, v: Option<f64>) {
        let Some(v) = v else { return };
        if self.n == 0 {
            (self.min, self.max) = (v, v);
        }
        self.n += 1;
        self.sum += v;
        self.min = self.min.min(v);
        self.max = self.max.max(v);
    }
    fn range(&self) -> Option<Range> {
        (self.n > 0).then(|| Range {
            min: self.min,
            mean: self.sum / self.n as f64,
            max: self.max,
        })
    }
}

/// Folds ticks into a [`GpuSummary`]; pure, so it is tested without a GPU.
#[derive(Debug, Clone, Default)]
pub struct Accumulator {
    ticks: u32,
    memory: Acc,
    process_memory: Acc,
    power: Acc,
    clock: Acc,
    temperature: Acc,
    util_gpu: Acc,
    util_mem: Acc,
    throttle: std::collections::BTreeSet<String>,
    pub unsupported: std::collections::BTreeMap<String, String>,
}

impl Accumulator {
    pub fn push(&mut self, r: &GpuReading) {
        self.ticks += 1;
        let f = |v: Option<u32>| v.map(f64::from);
        self.memory.push(r.memory_used_bytes.map(|b| b as f64));
        self.process_memory
            .push(r.process_memory_bytes.map(|b| b as f64));
        self.power.push(f(r.power_mw));
        self.clock.push(f(r.sm_clock_mhz));
        self.temperature.push(f(r.temperature_c));
        self.util_gpu.push(f(r.gpu_utilization_pct));
        self.util_mem.push(f(r.memory_utilization_pct));
        for t in &r.throttle_reasons {
            if t != "GPU_IDLE" && t != "NONE" {
                self.throttle.insert(t.clone());
            }
        }
    }

    /// Remembers the first error of each reading.
    pub fn refused(&mut self, what: &str, err: impl std::fmt::Display) {
        self.unsupported
            .entry(what.to_string())
            .or_insert_with(|| err.to_string());
    }

    /// Fills the sampled fields of `s`. `energy_mj` is the counter delta if the driver has one.
    pub fn finish(
        &self,
        mut s: GpuSummary,
        duration: Duration,
        energy_mj: Option<u64>,
    ) -> GpuSummary {
        s.ticks = self.ticks;
        s.duration_s = duration.as_secs_f64();
        s.memory_used_peak_bytes = self.memory.range().map(|r| r.max as u64);
        s.process_memory_peak_bytes = self.process_memory.range().map(|r| r.max as u64);
        s.power_mw = self.power.range();
        s.sm_clock_mhz = self.clock.range();
        s.temperature_c = self.temperature.range();
        s.gpu_utilization_pct = self.util_gpu.range();
        s.memory_utilization_pct = self.util_mem.range();
        s.throttle_reasons = self.throttle.iter().cloned().collect();
        (s.energy_j, s.energy_source) = match (energy_mj, s.power_mw) {
            (Some(mj), _) => (
                Some(mj as f64 / 1e3),
                Some("total_energy_consumption".into()),
            ),
            (None, Some(p)) => (
                Some(p.mean / 1e3 * s.duration_s),
                Some("mean power × duration".into()),
            ),
            (None, None) => (None, None),
        };
        s.energy_j_per_clip = s
            .energy_j
            .filter(|_| s.clips > 0)
            .map(|e| e / s.clips as f64);
        s.unsupported = self
            .unsupported
            .iter()
            .map(|(k, v)| format!("{k}: {v}"))
            .collect();
        s
    }
}

/// The peak-RSS probe: resets the kernel's high-water mark (`/proc/self/clear_refs` ← 5, Linux ≥ 4.0)
/// so the next reading covers only what follows. Returns whether the reset took.
pub fn reset_peak_rss() -> bool {
    std::fs::write("/proc/self/clear_refs", "5").is_ok()
}

/// VmHWM of this process, bytes.
pub fn peak_rss_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

/// Threads and peak RSS for a measurement that began with `reset_peak_rss()` returning `reset`.
pub fn cpu_telemetry(reset: bool) -> CpuTelemetry {
    CpuTelemetry {
        peak_rss_bytes: peak_rss_bytes(),
        peak_rss_scope: if reset { "measurement" } else { "process" }.into(),
        intra_op_threads: tch::get_num_threads() as i64,
        interop_threads: tch::get_num_interop_threads() as i64,
    }
}

/// NVML's device for CUDA ordinal `cuda`, honouring CUDA_VISIBLE_DEVICES (indices or UUIDs). NVML
/// counts in PCI order while CUDA's default order is fastest-first: on a multi-GPU host without
/// `CUDA_DEVICE_ORDER=PCI_BUS_ID` the two can differ, which `index_note` says.
fn resolve_index(nvml: &nvml_wrapper::Nvml, cuda: usize) -> Result<(u32, String), String> {
    let visible = std::env::var("CUDA_VISIBLE_DEVICES").ok();
    let listed: Option<String> = visible.as_deref().and_then(|v| {
        v.split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .nth(cuda)
            .map(str::to_string)
    });
    let pci_order = std::env::var("CUDA_DEVICE_ORDER").is_ok_and(|v| v == "PCI_BUS_ID");
    let count = nvml
        .device_count()
        .map_err(|e| format!("device count: {e}"))?;
    let caveat = if count > 1 && !pci_order {
        " (several GPUs and CUDA_DEVICE_ORDER is not PCI_BUS_ID: CUDA's order may differ)"
    } else {
        ""
    };
    match listed {
        Some(id) if id.starts_with("GPU-") || id.starts_with("MIG-") => {
            let d = nvml
                .device_by_uuid(id.as_str())
                .map_err(|e| format!("CUDA_VISIBLE_DEVICES {id}: {e}"))?;
            let i = d.index().map_err(|e| format!("index of {id}: {e}"))?;
            Ok((i, format!("cuda:{cuda} = {id} (CUDA_VISIBLE_DEVICES)")))
        }
        Some(id) => {
            let i: u32 = id
                .parse()
                .map_err(|_| format!("CUDA_VISIBLE_DEVICES entry `{id}` is not an index"))?;
            Ok((
                i,
                format!("cuda:{cuda} = NVML {i} via CUDA_VISIBLE_DEVICES{caveat}"),
            ))
        }
        None => Ok((cuda as u32, format!("cuda:{cuda} = NVML {cuda}{caveat}"))),
    }
}

fn read_tick(d: &nvml_wrapper::Device<'_>, pid: u32, acc: &mut Accumulator) -> GpuReading {
    use nvml_wrapper::enum_wrappers::device::{Clock, TemperatureSensor};
    use nvml_wrapper::enums::device::UsedGpuMemory;
    let mut ok = |what: &str, r: Result<u32, nvml_wrapper::error::NvmlError>| match r {
        Ok(v) => Some(v),
        Err(e) => {
            acc.refused(what, e);
            None
        }
    };
    let power_mw = ok("power", d.power_usage());
    let sm_clock_mhz = ok("sm clock", d.clock_info(Clock::SM));
    let temperature_c = ok("temperature", d.temperature(TemperatureSensor::Gpu));
    let mut r = GpuReading {
        power_mw,
        sm_clock_mhz,
        temperature_c,
        ..GpuReading::default()
    };
    match d.memory_info() {
        Ok(m) => r.memory_used_bytes = Some(m.used),
        Err(e) => acc.refused("memory", e),
    }
    match d.running_compute_processes() {
        Ok(ps) => {
            r.process_memory_bytes =
                ps.iter()
                    .find(|p| p.pid == pid)
                    .and_then(|p| match p.used_gpu_memory {
                        UsedGpuMemory::Used(b) => Some(b),
                        UsedGpuMemory::Unavailable => None,
                    })
        }
        Err(e) => acc.refused("process memory", e),
    }
    match d.utilization_rates() {
        Ok(u) => (r.gpu_utilization_pct, r.memory_utilization_pct) = (Some(u.gpu), Some(u.memory)),
        Err(e) => acc.refused("utilization", e),
    }
    match d.current_throttle_reasons() {
        Ok(t) => r.throttle_reasons = t.iter_names().map(|(n, _)| n.to_string()).collect(),
        Err(e) => acc.refused("throttle reasons", e),
    }
    r
}

/// A running NVML sampler; [`finish`](GpuSampler::finish) stops it and summarises.
pub struct GpuSampler {
    nvml: Arc<nvml_wrapper::Nvml>,
    index: u32,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<Accumulator>>,
    started: Instant,
    energy_start_mj: Option<u64>,
    info: GpuSummary,
}

impl GpuSampler {
    /// Starts sampling the device behind CUDA ordinal `cuda` every `period`. `Err` carries the
    /// reason to record (`no NVML: ...`); measuring goes on without telemetry.
    pub fn start(cuda: usize, period: Duration) -> Result<GpuSampler, String> {
        let nvml = nvml_wrapper::Nvml::init().map_err(|e| format!("no NVML: {e}"))?;
        let (index, index_note) =
            resolve_index(&nvml, cuda).map_err(|e| format!("no NVML: {e}"))?;
        let d = nvml
            .device_by_index(index)
            .map_err(|e| format!("no NVML: device {index}: {e}"))?;
        let cuda_rt = crate::provenance::cuda_runtime();
        let info = GpuSummary {
            nvml_index: index,
            index_note,
            name: d.name().ok(),
            uuid: d.uuid().ok(),
            pci_bus_id: d.pci_info().ok().map(|p| p.bus_id),
            compute_capability: d
                .cuda_compute_capability()
                .ok()
                .map(|c| format!("{}.{}", c.major, c.minor)),
            driver_version: nvml.sys_driver_version().ok(),
            cuda_driver_version: nvml
                .sys_cuda_driver_version()
                .ok()
                .map(|v| format!("{}.{}", v / 1000, (v % 1000) / 10)),
            cuda_runtime_version: cuda_rt.cuda_runtime_version,
            cudnn_version: cuda_rt.cudnn_version,
            power_limit_mw: d.power_management_limit().ok(),
            period_ms: period.as_millis() as u64,
            memory_used_start_bytes: d.memory_info().ok().map(|m| m.used),
            memory_total_bytes: d.memory_info().ok().map(|m| m.total),
            ..GpuSummary::default()
        };
        let energy_start_mj = d.total_energy_consumption().ok();
        let nvml = Arc::new(nvml);
        let stop = Arc::new(AtomicBool::new(false));
        let (n, s) = (nvml.clone(), stop.clone());
        let pid = std::process::id();
        let thread = std::thread::Builder::new()
            .name("vbench-nvml".into())
            .spawn(move || {
                let mut acc = Accumulator::default();
                let d = match n.device_by_index(index) {
                    Ok(d) => d,
                    Err(e) => {
                        acc.refused("device", e);
                        return acc;
                    }
                };
                // One tick at the start and one after the stop, so a short run still has two.
                loop {
                    let r = read_tick(&d, pid, &mut acc);
                    acc.push(&r);
                    if s.load(Ordering::Relaxed) {
                        return acc;
                    }
                    std::thread::park_timeout(period);
                }
            })
            .map_err(|e| format!("no NVML sampler thread: {e}"))?;
        Ok(GpuSampler {
            nvml,
            index,
            stop,
            thread: Some(thread),
            started: Instant::now(),
            energy_start_mj,
            info,
        })
    }

    /// Stops the sampler; `clips` were run while it sampled.
    pub fn finish(mut self, clips: u64) -> GpuTelemetry {
        let duration = self.started.elapsed();
        let energy_end = self
            .nvml
            .device_by_index(self.index)
            .and_then(|d| d.total_energy_consumption())
            .ok();
        self.stop.store(true, Ordering::Relaxed);
        let acc = match self.thread.take() {
            Some(t) => {
                t.thread().unpark();
                t.join().unwrap_or_else(|_| {
                    let mut a = Accumulator::default();
                    a.refused("sampler", "the sampler thread panicked");
                    a
                })
            }
            None => Accumulator::default(),
        };
        let energy = self
            .energy_start_mj
            .zip(energy_end)
            .map(|(a, b)| b.saturating_sub(a));
        let info = GpuSummary {
            clips,
            ..std::mem::take(&mut self.info)
        };
        GpuTelemetry::Recorded(Box::new(acc.finish(info, duration, energy)))
    }
}

impl Drop for GpuSampler {
    fn drop(&mut self) {
        // A measurement aborted by a forward error still stops its sampler.
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            t.thread().unpark();
            let _ = t.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use vbench_results::telemetry::Telemetry;

    fn reading(mem: u64, power: u32, clock: u32, throttle: &[&str]) -> GpuReading {
        GpuReading {
            memory_used_bytes: Some(mem),
            process_memory_bytes: Some(mem / 2),
            power_mw: Some(power),
            sm_clock_mhz: Some(clock),
            temperature_c: Some(60),
            gpu_utilization_pct: Some(90),
            memory_utilization_pct: None,
            throttle_reasons: throttle.iter().map(|s| s.to_string()).collect(),
        }
    }

    #[test]
    fn accumulator_takes_peaks_means_and_the_energy_counter() {
        let mut acc = Accumulator::default();
        acc.push(&reading(1000, 100_000, 1980, &["GPU_IDLE"]));
        acc.push(&reading(3000, 300_000, 1500, &["SW_POWER_CAP"]));
        acc.refused("utilization", "Not supported");
        acc.refused("utilization", "a later error is not kept");
        let info = GpuSummary {
            clips: 10,
            ..GpuSummary::default()
        };
        let s = acc.finish(info, Duration::from_secs(2), Some(5_000));
        assert_eq!(s.ticks, 2);
        assert_eq!(s.memory_used_peak_bytes, Some(3000));
        assert_eq!(s.process_memory_peak_bytes, Some(1500));
        let p = s.power_mw.unwrap();
        assert_eq!((p.min, p.mean, p.max), (100_000.0, 200_000.0, 300_000.0));
        assert_eq!(s.sm_clock_mhz.unwrap().min, 1500.0);
        assert_eq!(s.memory_utilization_pct, None);
        assert_eq!(s.throttle_reasons, vec!["SW_POWER_CAP".to_string()]);
        assert_eq!(s.energy_j, Some(5.0));
        assert_eq!(s.energy_j_per_clip, Some(0.5));
        assert_eq!(
            s.unsupported,
            vec!["utilization: Not supported".to_string()]
        );
    }

    #[test]
    fn energy_falls_back_to_mean_power_times_time() {
        let mut acc = Accumulator::default();
        acc.push(&reading(1, 50_000, 1, &[]));
        let s = acc.finish(GpuSummary::default(), Duration::from_secs(4), None);
        assert_eq!(s.energy_j, Some(200.0));
        assert_eq!(s.energy_source.as_deref(), Some("mean power × duration"));
        assert_eq!(s.energy_j_per_clip, None, "no clips, no per-clip energy");
    }

    #[test]
    fn no_nvml_is_a_reason_not_a_panic() {
        // This machine has no NVIDIA driver; on one with a GPU the sampler simply starts.
        match GpuSampler::start(0, Duration::from_millis(10)) {
            Ok(s) => assert!(matches!(s.finish(1), GpuTelemetry::Recorded(_))),
            Err(reason) => assert!(reason.starts_with("no NVML: "), "{reason}"),
        }
    }

    #[test]
    fn telemetry_round_trips_through_json() {
        let t = Telemetry {
            cpu: cpu_telemetry(reset_peak_rss()),
            gpu: GpuTelemetry::Unavailable {
                reason: "no NVML: a library was not found".into(),
            },
        };
        let v = serde_json::to_value(&t).unwrap();
        assert_eq!(v["gpu"]["status"], "unavailable");
        assert!(v["cpu"]["peak_rss_bytes"].as_u64().unwrap() > 0);
        assert_eq!(serde_json::from_value::<Telemetry>(v).unwrap(), t);
    }
}
