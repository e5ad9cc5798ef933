//! How busy the machine is with other processes' work, from /proc/stat minus this process's own CPU
//! time (/proc/self/stat). On a 2-core box one busy neighbour slows OpenMP threads 5–40×, so every
//! latency sample carries this number.

use std::time::Instant;

#[derive(Debug, Clone, Copy)]
pub struct CpuSnapshot {
    /// Busy jiffies of all CPUs (user+nice+system+irq+softirq+steal).
    busy: u64,
    /// All jiffies of all CPUs.
    total: u64,
    /// This process's utime+stime in jiffies.
    own: u64,
    at: Instant,
}

fn read_proc_stat() -> Option<(u64, u64)> {
    let text = std::fs::read_to_string("/proc/stat").ok()?;
    let line = text.lines().find(|l| l.starts_with("cpu "))?;
    let v: Vec<u64> = line.split_whitespace().skip(1).filter_map(|x| x.parse().ok()).collect();
    if v.len() < 8 {
        return None;
    }
    // user nice system idle iowait irq softirq steal [guest guest_nice — already in user/nice]
    let busy = v[0] + v[1] + v[2] + v[5] + v[6] + v[7];
    let total = busy + v[3] + v[4];
    Some((busy, total))
}

fn read_own_jiffies() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/self/stat").ok()?;
    // The command name may contain spaces; fields resume after the last ')'.
    let rest = &text[text.rfind(')')? + 2..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    // After ')' field index 0 is state (field 3); utime is field 14, stime 15 → indices 11, 12.
    Some(f.get(11)?.parse::<u64>().ok()? + f.get(12)?.parse::<u64>().ok()?)
}

impl CpuSnapshot {
    pub fn now() -> Option<CpuSnapshot> {
        let (busy, total) = read_proc_stat()?;
        Some(CpuSnapshot {
            busy,
            total,
            own: read_own_jiffies()?,
            at: Instant::now(),
        })
    }

    /// Fraction (0..1) of the machine's capacity used by other processes since `earlier`; `None` when
    /// the interval is under 2 jiffies and the counters cannot say.
    pub fn foreign_since(&self, earlier: &CpuSnapshot) -> Option<f64> {
        let dt = self.total.saturating_sub(earlier.total);
        if dt < 2 || self.at <= earlier.at {
            return None;
        }
        let busy = self.busy.saturating_sub(earlier.busy);
        let own = self.own.saturating_sub(earlier.own);
        Some((busy.saturating_sub(own) as f64 / dt as f64).clamp(0.0, 1.0))
    }
}

/// The 1-minute load average.
pub fn loadavg_1m() -> Option<f64> {
    std::fs::read_to_string("/proc/loadavg")
        .ok()?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn own_busy_loop_is_not_foreign_load() {
        let a = CpuSnapshot::now().expect("/proc is readable on Linux");
        let start = Instant::now();
        let mut x = 0u64;
        while start.elapsed().as_millis() < 300 {
            x = x.wrapping_mul(6364136223846793005).wrapping_add(1);
        }
        std::hint::black_box(x);
        let b = CpuSnapshot::now().unwrap();
        let f = b.foreign_since(&a).expect("300 ms is many jiffies");
        // 300 ms of our own spinning shows up as our own jiffies (100 Hz clock: ~30)...
        assert!(b.own - a.own >= 15, "own jiffies {} → {}", a.own, b.own);
        // ...and is subtracted: at most the other core can be foreign-busy on a 2-core box.
        let ncpu = std::thread::available_parallelism().map_or(1, |n| n.get()) as f64;
        assert!(f <= (ncpu - 1.0) / ncpu + 0.1, "foreign {f}");
    }
}
