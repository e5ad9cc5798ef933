//! A run's progress on the terminal (`vbench run`): one line per entry and shard, the accuracy
//! summary, and a bar with ETA over an entry's videos.

use indicatif::{ProgressBar, ProgressStyle};
use vbench_eval::accuracy::evaluate::Progress;
use vbench_eval::run::event::{At, Event};

use super::common::print_accuracy;

/// A session's events on stderr: one line per entry and shard, the accuracy summary, and a bar
/// with ETA over an entry's videos (hidden when stderr is not a terminal).
#[derive(Default)]
pub struct RunDisplay {
    bar: Option<ProgressBar>,
}

fn prefix(at: At) -> String {
    format!("[{}/{}] {}", at.index + 1, at.total, at.entry.id)
}

impl RunDisplay {
    pub fn show(&mut self, event: Event) {
        match event {
            Event::Kept { at, out } => eprintln!(
                "{}: kept from the previous run in {}",
                prefix(at),
                out.display()
            ),
            Event::Measuring { at } => {
                self.bar = None;
                eprintln!("{}: measuring", prefix(at));
            }
            Event::Accuracy { at, progress } => self.progress(&prefix(at), progress),
            Event::Measured {
                at,
                result: r,
                accuracy,
            } => {
                let prefix = prefix(at);
                if accuracy {
                    print_accuracy(&prefix, &r.accuracy);
                }
                eprintln!(
                    "{prefix}: params {}, FLOPs {}, latency {}, accuracy {}",
                    r.params.status(),
                    r.flops.status(),
                    r.latency.first().map_or("off", |l| l.status()),
                    r.accuracy.status()
                );
            }
            Event::ShardStarted { shard, dir, log } => {
                eprintln!("shard {shard}: {} (log: {})", dir.display(), log.display())
            }
            Event::ShardDone { shard, incomplete } => eprintln!(
                "shard {shard}: done{}",
                if incomplete {
                    ", with failed measurements (merged all the same)"
                } else {
                    ""
                }
            ),
            Event::StaleLock { dir, owner } => eprintln!(
                "{}: took over the lock of vbench pid {} on {}, which is gone",
                dir.display(),
                owner.pid,
                owner.host
            ),
            Event::Latency { entry } => eprintln!("{}: latency", entry.id),
        }
    }

    /// Notes printed above the bar.
    fn note(&self, line: String) {
        match &self.bar {
            Some(b) => b.suspend(|| eprintln!("{line}")),
            None => eprintln!("{line}"),
        }
    }

    fn progress(&mut self, prefix: &str, p: Progress) {
        match p {
            Progress::Start { total, done } => {
                let b = ProgressBar::new(total as u64);
                if let Ok(style) = ProgressStyle::with_template(
                    "{prefix} {bar:30} {pos}/{len} videos {per_sec} elapsed {elapsed} ETA {eta}",
                ) {
                    b.set_style(style);
                }
                b.set_prefix(prefix.to_string());
                b.set_position(done as u64);
                // The rate must count this session's videos only.
                b.reset_eta();
                self.bar = Some(b);
            }
            Progress::Video { failure } => {
                if let Some(f) = failure {
                    self.note(format!(
                        "{prefix}: {} {}: {}",
                        f.kind.as_str(),
                        f.id,
                        f.message
                    ));
                }
                if let Some(b) = &self.bar {
                    b.inc(1);
                    if b.position() >= b.length().unwrap_or(0) {
                        b.finish_and_clear();
                    }
                }
            }
            Progress::Note(line) => self.note(format!("{prefix}: {line}")),
        }
    }
}
