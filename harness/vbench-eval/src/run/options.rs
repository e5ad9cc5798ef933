//! What a run is told. The CLI fills [`RunOptions`] from its flags; from there on everything is
//! explicit: the device and the thread count travel with the options (the session applies them
//! on the thread that measures), and `--jobs` builds each shard's command line from them
//! ([`RunOptions::shard_args`]) instead of editing the parent's.

use crate::run::shard::Shard;
use crate::timing::latency::device_name;
use std::path::PathBuf;
use tch::Device;

/// Latency sampling of a run: one view of the entry's protocol, batch 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LatencyPlan {
    /// Warm-up iterations before the kept samples.
    pub warmup: u32,
    /// Kept samples per entry.
    pub iters: u32,
}

/// One's own TorchScript file under a zoo entry's whole protocol, without a suite file
/// (`vbench run --model F --protocol E`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OwnModel {
    pub file: PathBuf,
    /// The zoo entry, `<suite>/<name>`.
    pub protocol: String,
}

#[derive(Debug, Clone)]
pub struct RunOptions {
    /// A built-in suite name or a path to a suite `.toml`, as given (shard commands repeat it).
    /// Unused when `model` is given.
    pub suite: String,
    /// Instead of a suite: one entry built on the fly from a TorchScript file and a zoo protocol.
    pub model: Option<OwnModel>,
    /// Only these entries (names or ids); empty: every entry of the suite.
    pub entries: Vec<String>,
    /// The run folder [default: `out/<suite name>`].
    pub out: Option<PathBuf>,
    pub device: Device,
    /// libtorch intra-op threads on the measuring thread; `None`: libtorch's choice.
    pub threads: Option<usize>,
    /// `None`: no latency measurement.
    pub latency: Option<LatencyPlan>,
    /// Dataset root; without it accuracy is skipped (and says how to get it).
    pub data_root: Option<PathBuf>,
    /// The official checkpoints' cache [default: the user cache dir].
    pub weights_dir: Option<PathBuf>,
    /// A checkpoint for the accuracy run of a single entry, instead of the cache's.
    pub weights: Option<PathBuf>,
    /// Views per forward in the accuracy run.
    pub batch: usize,
    /// Decoder threads feeding inference in the accuracy run (0: decode inline).
    pub decode_threads: usize,
    /// Ignore what a previous run left in the folder instead of resuming from it.
    pub fresh: bool,
    /// Evaluate only this shard's videos.
    pub shard: Option<Shard>,
    /// Run as this many local shard processes, then merge them.
    pub jobs: Option<usize>,
    /// The videos the published numbers were measured on: each entry's accuracy then records
    /// what this dataset copy explains of the gap (`vbench_results::gap`). Not for shards: a
    /// shard holds part of the list.
    pub reference_list: Option<PathBuf>,
    /// Speed variants measured beside fp32 (`--variant`; empty: the suite's `variants`).
    pub variants: Vec<vbench_suite::Variant>,
    /// Fidelity of the variants on every view of the videos in this folder.
    pub fidelity_videos: Option<PathBuf>,
    /// The `int8` variant's quantized TorchScript file (one entry); else the published one.
    pub int8_model: Option<PathBuf>,
    /// Clips/s against batch size for fp32 and each variant, up to this batch.
    pub throughput_max_batch: Option<i64>,
    /// The command line, for provenance.
    pub command: Vec<String>,
}

impl RunOptions {
    /// The plan this run measures: the suite's, or the one entry of `model`.
    pub fn plan(&self) -> Result<vbench_suite::Plan, crate::model::OwnPlanError> {
        match &self.model {
            Some(m) => crate::model::own_model_plan(&m.file, &m.protocol, self.device),
            None => Ok(vbench_suite::load_suite(&self.suite)?),
        }
    }

    /// `suite` with `vbench run`'s defaults: every entry, CPU, latency (1 warm-up, 5 samples), no
    /// dataset.
    pub fn new(suite: impl Into<String>) -> RunOptions {
        RunOptions {
            suite: suite.into(),
            model: None,
            entries: Vec::new(),
            out: None,
            device: Device::Cpu,
            threads: None,
            latency: Some(LatencyPlan {
                warmup: 1,
                iters: 5,
            }),
            data_root: None,
            weights_dir: None,
            weights: None,
            batch: 10,
            decode_threads: 1,
            fresh: false,
            shard: None,
            jobs: None,
            reference_list: None,
            variants: Vec::new(),
            fidelity_videos: None,
            int8_model: None,
            throughput_max_batch: None,
            command: Vec::new(),
        }
    }

    /// The `vbench run` arguments of one `--jobs` shard: these options with `--shard`, its own
    /// `--out` and `threads` threads, never latency (shards running side by side would time each
    /// other; the parent measures latency once they are done) and never `--jobs`.
    pub fn shard_args(&self, shard: Shard, out: &std::path::Path, threads: usize) -> Vec<String> {
        let mut a: Vec<String> = match &self.model {
            Some(m) => vec![
                "run".into(),
                "--model".into(),
                m.file.display().to_string(),
                "--protocol".into(),
                m.protocol.clone(),
            ],
            None => vec!["run".into(), "--suite".into(), self.suite.clone()],
        };
        for e in &self.entries {
            a.extend(["--entry".into(), e.clone()]);
        }
        let path = |p: &PathBuf| p.display().to_string();
        for (flag, value) in [
            ("--data-root", &self.data_root),
            ("--weights-dir", &self.weights_dir),
            ("--weights", &self.weights),
        ] {
            if let Some(p) = value {
                a.extend([flag.into(), path(p)]);
            }
        }
        a.extend([
            "--batch".into(),
            self.batch.to_string(),
            "--decode-threads".into(),
            self.decode_threads.to_string(),
            "--device".into(),
            device_name(self.device),
            "--threads".into(),
            threads.to_string(),
            "--no-latency".into(),
        ]);
        if self.fresh {
            a.push("--fresh".into());
        }
        a.extend([
            "--shard".into(),
            shard.to_string(),
            "--out".into(),
            path(&out.to_path_buf()),
        ]);
        a
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shard_args_carry_the_options_but_not_jobs_latency_or_out() {
        let mut o = RunOptions::new("k400");
        o.entries = vec!["x".into()];
        o.jobs = Some(3);
        o.out = Some("o".into());
        o.fresh = true;
        o.threads = Some(2);
        let args = o.shard_args(
            Shard::new(1, 3).unwrap(),
            std::path::Path::new("o/shard-1"),
            2,
        );
        assert_eq!(
            args,
            [
                "run",
                "--suite",
                "k400",
                "--entry",
                "x",
                "--batch",
                "10",
                "--decode-threads",
                "1",
                "--device",
                "cpu",
                "--threads",
                "2",
                "--no-latency",
                "--fresh",
                "--shard",
                "1/3",
                "--out",
                "o/shard-1"
            ]
        );
    }
}
