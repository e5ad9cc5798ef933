//! Timing: forward latency ([`latency`]) with its sample statistics ([`stats`]), what the machine
//! did meanwhile ([`telemetry`]) and how busy other processes kept it ([`machine_load`]);
//! [`sweep`] runs `vbench latency`'s entries × thread counts.

pub mod latency;
pub mod machine_load;
pub mod stats;
pub mod sweep;
pub mod telemetry;

/// A thread count libtorch cannot use.
#[derive(Debug, thiserror::Error)]
#[error("--threads {0} must be at least 1")]
pub struct BadThreads(pub usize);

/// Sets libtorch's intra-op thread count on the calling thread; `None` leaves it as it is.
/// OpenMP's count is per OS thread: call it on the thread that measures (decoder threads set
/// their own).
pub fn set_threads(threads: Option<usize>) -> Result<(), BadThreads> {
    if let Some(n) = threads {
        let count = i32::try_from(n)
            .ok()
            .filter(|&c| c >= 1)
            .ok_or(BadThreads(n))?;
        tch::set_num_threads(count);
    }
    Ok(())
}
