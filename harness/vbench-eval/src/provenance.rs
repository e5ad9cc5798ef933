//! Host, GPU and library facts for `results.json`. Never fails: what cannot be read is recorded as
//! unknown, with the reason where there is one.

use vbench_results::{CudaRuntime, GpuDevice, GpuProvenance, Host, Provenance};

pub fn host() -> Host {
    let mut sys = sysinfo::System::new();
    sys.refresh_cpu_all();
    sys.refresh_memory();
    Host {
        hostname: sysinfo::System::host_name(),
        cpu_model: sys
            .cpus()
            .first()
            .map(|c| c.brand().trim().to_string())
            .unwrap_or_else(|| "unknown".into()),
        logical_cores: sys.cpus().len(),
        physical_cores: sysinfo::System::physical_core_count(),
        memory_bytes: sys.total_memory(),
        os: sysinfo::System::long_os_version().unwrap_or_else(|| std::env::consts::OS.into()),
        kernel: sysinfo::System::kernel_version(),
    }
}

/// NVML's device list, or why there is none (no driver, no GPU, library missing). No panic.
pub fn gpu() -> GpuProvenance {
    use nvml_wrapper::Nvml;
    let nvml = match Nvml::init() {
        Ok(n) => n,
        Err(e) => {
            return GpuProvenance::Unavailable {
                reason: e.to_string(),
            }
        }
    };
    let count = match nvml.device_count() {
        Ok(c) => c,
        Err(e) => {
            return GpuProvenance::Unavailable {
                reason: format!("device count: {e}"),
            }
        }
    };
    let devices = (0..count)
        .filter_map(|i| {
            let d = nvml.device_by_index(i).ok()?;
            Some(GpuDevice {
                index: i,
                name: d.name().unwrap_or_else(|e| format!("unknown ({e})")),
                memory_total_bytes: d.memory_info().map(|m| m.total).unwrap_or(0),
                uuid: d.uuid().ok(),
            })
        })
        .collect();
    GpuProvenance::Available {
        driver_version: nvml
            .sys_driver_version()
            .unwrap_or_else(|e| format!("unknown ({e})")),
        cuda_driver_version: nvml
            .sys_cuda_driver_version()
            .ok()
            .map(|v| format!("{}.{}", v / 1000, (v % 1000) / 10)),
        devices,
    }
}

/// Never panics: the version hooks are only asked when libtorch has CUDA, and a throwing hook
/// (tch turns C++ errors into panics there) is caught and left as unknown.
pub fn cuda_runtime() -> CudaRuntime {
    // hasCUDART: libtorch_cuda is loaded (the build has CUDA), whether or not a GPU is present.
    let has = std::panic::catch_unwind(tch::utils::has_cudart).unwrap_or(false);
    if !has {
        return CudaRuntime::default();
    }
    let quiet = |f: fn() -> i64| std::panic::catch_unwind(f).ok().filter(|v| *v > 0);
    CudaRuntime {
        libtorch_has_cuda: true,
        available: std::panic::catch_unwind(tch::Cuda::is_available).unwrap_or(false),
        device_count: std::panic::catch_unwind(tch::Cuda::device_count).unwrap_or(0),
        // 13000 → 13.0
        cuda_runtime_version: quiet(tch::utils::version_cudart)
            .map(|v| format!("{}.{}", v / 1000, (v % 1000) / 10)),
        // cuDNN ≥ 9: major·10000 + minor·100 + patch; before: major·1000 + minor·100 + patch.
        cudnn_version: quiet(tch::utils::version_cudnn).map(|v| {
            let major_unit = if v >= 90_000 { 10_000 } else { 1_000 };
            format!("{}.{}.{}", v / major_unit, (v % major_unit) / 100, v % 100)
        }),
    }
}

/// FFmpeg's own version string (e.g. "5.1.6-0+deb12u1").
pub fn ffmpeg_version() -> Option<String> {
    // SAFETY: av_version_info returns a pointer to a static NUL-terminated string (or NULL).
    unsafe {
        let p = ffmpeg_next::ffi::av_version_info();
        (!p.is_null()).then(|| std::ffi::CStr::from_ptr(p).to_string_lossy().into_owned())
    }
}

/// Environment that changes CPU latency without changing the kernels: thread counts and binding,
/// OpenMP's idle spinning, and the allocator (glibc's mmap threshold decides how many pages every
/// forward faults in: ~10⁵ per slow_r50 pass by default).
pub fn omp_env() -> Vec<(String, String)> {
    [
        "OMP_NUM_THREADS",
        "MKL_NUM_THREADS",
        "OMP_PROC_BIND",
        "OMP_PLACES",
        "OMP_WAIT_POLICY",
        "GOMP_SPINCOUNT",
        "KMP_AFFINITY",
        "KMP_BLOCKTIME",
        "GLIBC_TUNABLES",
        "MALLOC_ARENA_MAX",
        "LD_PRELOAD",
    ]
    .iter()
    .filter_map(|k| std::env::var(k).ok().map(|v| (k.to_string(), v)))
    .collect()
}

/// RFC 3339 UTC timestamp without pulling a date crate: seconds since the epoch, converted by hand.
pub fn now_utc() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    // Civil-from-days (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        (rem % 3600) / 60,
        rem % 60
    )
}

/// Everything but the command line and timestamps' end, which the caller fills in.
pub fn collect(command: Vec<String>) -> Provenance {
    Provenance {
        vbench_version: env!("CARGO_PKG_VERSION").to_string(),
        git_sha: option_env!("VBENCH_GIT_SHA").map(str::to_string),
        command,
        started_at: now_utc(),
        finished_at: None,
        host: host(),
        gpu: gpu(),
        libtorch_version: option_env!("VBENCH_LIBTORCH_VERSION").map(str::to_string),
        ffmpeg_version: ffmpeg_version(),
        threads: tch::get_num_threads() as i64,
        omp_env: omp_env(),
        threads_requested: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gpu_probe_never_panics_and_explains_absence() {
        match gpu() {
            GpuProvenance::Available { devices, .. } => {
                assert!(devices.iter().all(|d| !d.name.is_empty()))
            }
            GpuProvenance::Unavailable { reason } => assert!(!reason.is_empty()),
        }
    }

    #[test]
    fn cuda_runtime_probe_never_panics() {
        let c = cuda_runtime();
        if !c.libtorch_has_cuda {
            assert_eq!(c, CudaRuntime::default());
        }
    }

    #[test]
    fn timestamp_is_rfc3339() {
        let t = now_utc();
        assert_eq!(t.len(), 20, "{t}");
        assert!(t.starts_with("20") && t.ends_with('Z'));
    }

    #[test]
    fn host_has_cores_and_memory() {
        let h = host();
        assert!(h.logical_cores >= 1 && h.memory_bytes > 0);
    }
}
