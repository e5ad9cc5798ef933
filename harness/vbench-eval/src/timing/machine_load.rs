//! How busy the machine is with other processes' work: /proc/stat's busy time minus this process's
//! own CPU time (/proc/self/stat, plus any helper processes whose work is ours). On a 2-core box one
//! busy neighbour slows OpenMP threads 5–40×, so every latency sample carries this number.
//!
//! Both counters tick at USER_HZ (100 Hz) per CPU, so one reading is only good to a few ticks. A
//! sample shorter than that cannot be judged on its own: [`LoadWindow`] groups consecutive samples
//! until the window spans enough ticks and gives the whole group one reading.

/// Ticks a window must span before its reading counts: ±(ncpu + 1) ticks of quantisation stay
/// under ~10 % of it (40 ticks = 200 ms on 2 CPUs).
pub fn min_window_ticks() -> u64 {
    let ncpu = std::thread::available_parallelism().map_or(1, |n| n.get()) as u64;
    (8 * ncpu).max(40)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CpuSnapshot {
    /// Busy ticks of all CPUs (user+nice+system+irq+softirq+steal). Steal is counted: on a VM it is
    /// other guests' work, and it slows us the same way.
    pub busy: u64,
    /// All ticks of all CPUs.
    pub total: u64,
    /// utime+stime ticks of this process (all threads) and of the helper pids.
    pub own: u64,
}

fn read_proc_stat() -> Option<(u64, u64)> {
    let text = std::fs::read_to_string("/proc/stat").ok()?;
    let line = text.lines().find(|l| l.starts_with("cpu "))?;
    let v: Vec<u64> = line
        .split_whitespace()
        .skip(1)
        .filter_map(|x| x.parse().ok())
        .collect();
    if v.len() < 8 {
        return None;
    }
    // user nice system idle iowait irq softirq steal [guest guest_nice — already in user/nice]
    let busy = v[0] + v[1] + v[2] + v[5] + v[6] + v[7];
    let total = busy + v[3] + v[4];
    Some((busy, total))
}

/// utime+stime of a `/proc/<pid>/stat` text, in ticks.
pub fn parse_stat_jiffies(text: &str) -> Option<u64> {
    // The command name may contain spaces and ')': fields resume after the last ')'.
    let rest = text.get(text.rfind(')')? + 1..)?;
    let f: Vec<&str> = rest.split_whitespace().collect();
    // After ')' index 0 is field 3 (state); utime and stime are fields 14 and 15 → indices 11, 12.
    Some(f.get(11)?.parse::<u64>().ok()? + f.get(12)?.parse::<u64>().ok()?)
}

fn read_jiffies(path: &str) -> Option<u64> {
    parse_stat_jiffies(&std::fs::read_to_string(path).ok()?)
}

impl CpuSnapshot {
    /// The machine's and this process's counters now; `None` where /proc cannot be read.
    pub fn now() -> Option<CpuSnapshot> {
        Self::now_with(&[])
    }

    /// Like [`now`](Self::now), counting `helpers` (e.g. a worker process we drive) as our own
    /// work. A helper that has exited counts as zero from then on.
    pub fn now_with(helpers: &[u32]) -> Option<CpuSnapshot> {
        let (busy, total) = read_proc_stat()?;
        let helper: u64 = helpers
            .iter()
            .filter_map(|p| read_jiffies(&format!("/proc/{p}/stat")))
            .sum();
        Some(CpuSnapshot {
            busy,
            total,
            own: read_jiffies("/proc/self/stat")? + helper,
        })
    }

    /// All CPUs' ticks since `earlier`.
    pub fn ticks_since(&self, earlier: &CpuSnapshot) -> u64 {
        self.total.saturating_sub(earlier.total)
    }

    /// Fraction (0..1) of the machine's capacity used by other processes since `earlier`; `None` when
    /// the interval is under 2 ticks and the counters cannot say.
    pub fn foreign_since(&self, earlier: &CpuSnapshot) -> Option<f64> {
        let dt = self.ticks_since(earlier);
        if dt < 2 {
            return None;
        }
        let busy = self.busy.saturating_sub(earlier.busy);
        let own = self.own.saturating_sub(earlier.own);
        Some((busy.saturating_sub(own) as f64 / dt as f64).clamp(0.0, 1.0))
    }
}

/// What one [`LoadWindow::poll`] found.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum WindowReading {
    /// Too few ticks yet: keep adding samples to the window.
    Open,
    /// The window is closed; its foreign load (`None`: /proc unreadable). A new window starts.
    Closed(Option<f64>),
}

/// Consecutive samples judged together once they span [`min_window_ticks`].
#[derive(Debug, Clone)]
pub struct LoadWindow {
    helpers: Vec<u32>,
    start: Option<CpuSnapshot>,
    min_ticks: u64,
}

impl LoadWindow {
    pub fn start(helpers: &[u32]) -> LoadWindow {
        LoadWindow {
            helpers: helpers.to_vec(),
            start: CpuSnapshot::now_with(helpers),
            min_ticks: min_window_ticks(),
        }
    }

    /// Closes the window if it spans enough ticks (or `force`, for the last samples of a run).
    pub fn poll(&mut self, force: bool) -> WindowReading {
        let now = CpuSnapshot::now_with(&self.helpers);
        let (Some(a), Some(b)) = (self.start, now) else {
            self.start = now;
            return WindowReading::Closed(None);
        };
        if !force && b.ticks_since(&a) < self.min_ticks {
            return WindowReading::Open;
        }
        self.start = Some(b);
        WindowReading::Closed(b.foreign_since(&a))
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
    use std::time::Instant;

    fn snap(busy: u64, total: u64, own: u64) -> CpuSnapshot {
        CpuSnapshot { busy, total, own }
    }

    #[test]
    fn foreign_is_busy_minus_own_over_total() {
        let a = snap(100, 1000, 10);
        // 200 ticks: 150 busy, 50 of them ours → 100 foreign = 0.5.
        assert_eq!(snap(250, 1200, 60).foreign_since(&a), Some(0.5));
        // Own time counted late (after the busy ticks) cannot make foreign load negative.
        assert_eq!(snap(110, 1100, 90).foreign_since(&a), Some(0.0));
        // One tick says nothing.
        assert_eq!(snap(101, 1001, 10).foreign_since(&a), None);
    }

    #[test]
    fn parses_stat_with_odd_command_names() {
        let line = "1234 (a b) c)) R 1 2 3 4 5 6 7 8 9 10 150 25 0 0 20 0 1 0";
        assert_eq!(parse_stat_jiffies(line), Some(175));
        assert_eq!(parse_stat_jiffies("garbage"), None);
        assert_eq!(parse_stat_jiffies("1 (x) R 1"), None);
    }

    #[test]
    fn own_busy_loop_is_not_foreign_load() {
        let a = CpuSnapshot::now().expect("/proc is readable on Linux");
        // Spin until we own 20 ticks of CPU (not for a wall time: a loaded machine may give us
        // only a fraction of a core); the wall cap only guards against a broken /proc.
        let start = Instant::now();
        let mut x = 0u64;
        while CpuSnapshot::now().unwrap().own - a.own < 20 && start.elapsed().as_secs() < 30 {
            for _ in 0..100_000 {
                x = x.wrapping_mul(6364136223846793005).wrapping_add(1);
            }
        }
        std::hint::black_box(x);
        let b = CpuSnapshot::now().unwrap();
        let (own, dt) = (b.own - a.own, b.ticks_since(&a));
        assert!(own >= 20, "own ticks {} → {}", a.own, b.own);
        // Our ticks are subtracted: foreign load is at most what we left of the machine.
        let f = b.foreign_since(&a).expect("20 own ticks is enough");
        assert!(
            f <= 1.0 - own as f64 / dt as f64 + 1e-9,
            "foreign {f}, own {own}/{dt}"
        );
    }

    #[test]
    fn window_stays_open_until_enough_ticks_then_closes() {
        let mut w = LoadWindow::start(&[]);
        // Immediately after the start hardly any tick has passed.
        assert!(matches!(
            w.poll(false),
            WindowReading::Open | WindowReading::Closed(_)
        ));
        // Forcing always closes.
        assert!(matches!(w.poll(true), WindowReading::Closed(_)));
    }
}
