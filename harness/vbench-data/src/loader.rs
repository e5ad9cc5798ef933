//! Decoding that overlaps inference: a pool of worker threads turns samples into their views
//! (decode + sample + transform) and hands them over **in list order** through a bounded window,
//! so the consumer (the evaluation loop, running the model) never waits for a video that a
//! worker could have prepared, and memory stays at `capacity` videos of views.
//!
//! ```no_run
//! # use vbench_data::loader::{ViewLoader, LoaderOptions};
//! # fn demo(samples: Vec<vbench_data::datasets::Sample>, protocol: vbench_suite::Protocol) {
//! let jobs = samples.into_iter().enumerate().collect();
//! let loader = ViewLoader::spawn(jobs, vbench_suite::Dataset::Kinetics400, protocol,
//!     LoaderOptions::default());
//! for video in loader {
//!     match video.views {
//!         Ok(views) => { /* batch views[..].pathways into the model */ }
//!         Err(e) => eprintln!("{}: {e}", video.id),
//!     }
//! }
//! # }
//! ```

use crate::datasets::{format_of, Sample};
use crate::error::Result;
use crate::views::ViewTensor;
use std::collections::BTreeMap;
use std::sync::mpsc::{channel, Receiver};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::Instant;
use vbench_suite::{Dataset, Protocol};

/// Every view of one sample of `dataset`, whatever its source (a video file, a frame list, an
/// AVA keyframe): [`crate::datasets::DatasetFormat::views`] of the dataset's format.
pub fn extract_sample_views(
    sample: &Sample,
    dataset: Dataset,
    protocol: &Protocol,
) -> Result<Vec<ViewTensor>> {
    format_of(dataset).views(sample, protocol)
}

#[derive(Clone, Debug)]
pub struct LoaderOptions {
    /// Decoder threads (videos decoded at once).
    pub workers: usize,
    /// Videos decoded ahead of the consumer, at most (delivered or not).
    pub capacity: usize,
    /// libtorch intra-op threads inside each worker (resizing); `None` leaves the default.
    /// One per worker avoids oversubscribing cores that inference also uses.
    pub intra_op_threads: Option<i32>,
    /// FFmpeg threads per decoder in each worker (`None`: FFmpeg's default, one per core).
    pub decode_threads: Option<usize>,
}

impl Default for LoaderOptions {
    fn default() -> Self {
        Self {
            workers: 2,
            capacity: 4,
            intra_op_threads: Some(1),
            decode_threads: Some(1),
        }
    }
}

/// One sample's views, or why it has none.
#[derive(Debug)]
pub struct LoadedSample {
    /// The position given with the job (the sample's place in the dataset list).
    pub position: usize,
    pub id: String,
    pub views: Result<Vec<ViewTensor>>,
    /// Seconds a worker spent on it.
    pub decode_s: f64,
}

#[derive(Default)]
struct Window {
    /// Next job index a worker may take.
    next_job: usize,
    /// Jobs delivered to the consumer so far.
    delivered: usize,
    stop: bool,
}

struct Shared {
    window: Mutex<Window>,
    moved: Condvar,
}

/// The bounded, ordered decode pool. Iterate it to get [`LoadedSample`]s in job order; dropping
/// it stops the workers after their current video.
pub struct ViewLoader {
    rx: Option<Receiver<(usize, LoadedSample)>>,
    early: BTreeMap<usize, LoadedSample>,
    next: usize,
    total: usize,
    shared: Arc<Shared>,
    handles: Vec<JoinHandle<()>>,
}

impl ViewLoader {
    /// Starts the workers on `jobs` (`(position, sample)`, delivered in this order).
    pub fn spawn(
        jobs: Vec<(usize, Sample)>,
        dataset: Dataset,
        protocol: Protocol,
        opts: LoaderOptions,
    ) -> Self {
        let total = jobs.len();
        let jobs = Arc::new(jobs);
        let protocol = Arc::new(protocol);
        let shared = Arc::new(Shared {
            window: Mutex::new(Window::default()),
            moved: Condvar::new(),
        });
        let capacity = opts.capacity.max(1);
        let (tx, rx) = channel();
        let handles = (0..opts.workers.max(1).min(total.max(1)))
            .map(|_| {
                let (jobs, protocol, shared, tx) =
                    (jobs.clone(), protocol.clone(), shared.clone(), tx.clone());
                let (threads, decode_threads) = (opts.intra_op_threads, opts.decode_threads);
                std::thread::spawn(move || {
                    if let Some(n) = threads {
                        // Per thread: OpenMP's thread count is a per-thread setting.
                        tch::set_num_threads(n.max(1));
                    }
                    if let Some(n) = decode_threads {
                        crate::decoder::set_decode_threads(n);
                    }
                    while let Some(i) = take_job(&shared, total, capacity) {
                        let (position, sample) = &jobs[i];
                        let clock = Instant::now();
                        let views = extract_sample_views(sample, dataset, &protocol);
                        let item = LoadedSample {
                            position: *position,
                            id: sample.id.clone(),
                            views,
                            decode_s: clock.elapsed().as_secs_f64(),
                        };
                        if tx.send((i, item)).is_err() {
                            break;
                        }
                    }
                })
            })
            .collect();
        ViewLoader {
            rx: Some(rx),
            early: BTreeMap::new(),
            next: 0,
            total,
            shared,
            handles,
        }
    }

    /// Jobs not yet delivered.
    pub fn remaining(&self) -> usize {
        self.total - self.next
    }
}

/// The next job index, waiting while the window of `capacity` undelivered jobs is full.
fn take_job(shared: &Shared, total: usize, capacity: usize) -> Option<usize> {
    let mut w = shared.window.lock().ok()?;
    loop {
        if w.stop || w.next_job >= total {
            return None;
        }
        if w.next_job < w.delivered + capacity {
            w.next_job += 1;
            return Some(w.next_job - 1);
        }
        w = shared.moved.wait(w).ok()?;
    }
}

impl Iterator for ViewLoader {
    type Item = LoadedSample;

    fn next(&mut self) -> Option<LoadedSample> {
        if self.next >= self.total {
            return None;
        }
        let item = loop {
            if let Some(item) = self.early.remove(&self.next) {
                break item;
            }
            match self.rx.as_ref()?.recv() {
                Ok((i, item)) if i == self.next => break item,
                Ok((i, item)) => {
                    self.early.insert(i, item);
                }
                // Every worker is gone (one panicked): nothing more will come.
                Err(_) => return None,
            }
        };
        self.next += 1;
        if let Ok(mut w) = self.shared.window.lock() {
            w.delivered = self.next;
        }
        self.shared.moved.notify_all();
        Some(item)
    }
}

impl Drop for ViewLoader {
    fn drop(&mut self) {
        if let Ok(mut w) = self.shared.window.lock() {
            w.stop = true;
        }
        self.shared.moved.notify_all();
        self.rx = None;
        for h in self.handles.drain(..) {
            let _ = h.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::datasets::{Labels, Source};
    use crate::views::extract_views;
    use std::path::PathBuf;
    use vbench_suite::{Activation, Aggregation, ChannelOrder, Normalization, Sampler};

    fn video(name: &str) -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("../../../shared/data/videos")
            .join(name)
    }

    #[test]
    fn delivers_in_order_with_errors_in_place_and_matches_extract_views() {
        let p = Protocol {
            frames: 4,
            sample_rate: 12,
            alpha: None,
            short_side: 64,
            crop: 64,
            spatial_crops: 2,
            temporal_clips: 2,
            target_fps: 30,
            num_classes: 400,
            channels: ChannelOrder::Rgb,
            normalization: Normalization::Kinetics,
            head_activation: Activation::Softmax,
            aggregation: Aggregation::Sum,
            sampler: Sampler::ConstantClipsPerVideo,
            person_score_threshold: None,
        };
        let files = [
            "short.avi",
            "missing.mp4",
            "k400_demo.mp4",
            "mobile_demo_2.mp4",
        ];
        if !video(files[0]).exists() {
            eprintln!("shared videos not found; skipped");
            return;
        }
        let jobs: Vec<(usize, Sample)> = files
            .iter()
            .enumerate()
            .map(|(i, f)| {
                let s = Sample {
                    id: f.to_string(),
                    labels: Labels::Single(0),
                    source: Source::Video(video(f)),
                };
                (10 + i, s)
            })
            .collect();
        let opts = LoaderOptions {
            workers: 2,
            capacity: 1,
            ..LoaderOptions::default()
        };
        let got: Vec<LoadedSample> =
            ViewLoader::spawn(jobs, Dataset::Kinetics400, p.clone(), opts).collect();
        let positions: Vec<usize> = got.iter().map(|g| g.position).collect();
        assert_eq!(positions, vec![10, 11, 12, 13]);
        let err = got[1].views.as_ref().unwrap_err().to_string();
        assert!(err.contains("missing.mp4"), "{err}");
        for (g, f) in got.iter().zip(files) {
            let Ok(views) = &g.views else { continue };
            let direct = extract_views(&video(f), &p).unwrap();
            assert_eq!(views.len(), 4);
            for (a, b) in views.iter().zip(&direct) {
                assert_eq!(a.view, b.view);
                assert!(a.pathways[0].equal(&b.pathways[0]));
            }
        }
        // Dropping a loader mid-way stops its workers.
        let jobs = vec![(0, got[0].id.clone())]
            .into_iter()
            .map(|(i, id)| {
                let s = Sample {
                    id: id.clone(),
                    labels: Labels::Single(0),
                    source: Source::Video(video(&id)),
                };
                (i, s)
            })
            .collect();
        let mut l = ViewLoader::spawn(jobs, Dataset::Kinetics400, p, LoaderOptions::default());
        assert_eq!(l.remaining(), 1);
        drop(l.next());
    }
}
