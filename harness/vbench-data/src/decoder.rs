//! Video decoding on FFmpeg (ffmpeg-next), with PyTorchVideo's `EncodedVideoPyAV` semantics:
//!
//! - the stream is `streams.video[0]`; audio is never decoded (`decode_audio=False`, as PySlowFast);
//! - duration = `(stream.duration - start_pts) * time_base` (an exact fraction); without a stream
//!   duration PyTorchVideo decodes everything and takes the last frame's pts instead;
//! - a clip [start, end) keeps the frames whose pts lie in `[ceil(start/tb), ceil(end/tb)) +
//!   start_pts`, decoding from the keyframe at or before `max(start_pts - 1024, 0)` and *stopping
//!   at the first output frame whose pts reaches the end* (with reordered pts, as in AVI packed
//!   B-frames, that can drop in-range frames; PyTorchVideo drops them too, so we do);
//! - frames are converted to RGB24 at native size by swscale (bilinear flags, the frame's own
//!   colourspace and range, as PyAV's `to_rgb()`), never resized; rotation is reported, not applied.
//!
//! Several clips of one video are decoded in a single forward pass ([`VideoReader::decode_ranges`]).

use crate::error::{DataError, Result};
use crate::ffutil::{rotation, PtsFiller, RgbConverter};
use crate::rational::{Ratio, Seconds};
use crate::rgb::frames_to_tensor;
pub use crate::rgb::RgbFrame;
use ff::ffi;
use ffmpeg_next as ff;
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Once};
use tch::Tensor;

/// PyTorchVideo's seek margin, in stream time-base units (`_pyav_decode_stream`).
const SEEK_MARGIN: i64 = 1024;

pub(crate) fn init_ffmpeg() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let _ = ff::init();
        // Errors come back as `DataError`s; FFmpeg's own log would only repeat them on stderr.
        ff::util::log::set_level(ff::util::log::Level::Fatal);
    });
}

thread_local! {
    static DECODE_THREADS: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

/// FFmpeg decoder threads for videos opened on the calling thread from now on (0: FFmpeg picks,
/// one per core). Worker pools that decode several videos at once set 1.
pub fn set_decode_threads(n: usize) {
    DECODE_THREADS.with(|c| c.set(n));
}

/// What the container says about the video stream.
#[derive(Clone, Debug, serde::Serialize)]
pub struct VideoInfo {
    pub path: PathBuf,
    pub stream_index: usize,
    pub codec: String,
    pub pixel_format: String,
    pub width: u32,
    pub height: u32,
    /// Exact stream time base (seconds per pts unit).
    pub time_base: (i128, i128),
    /// `stream.start_time`, or 0 when the container has none (as PyTorchVideo).
    pub start_pts: i64,
    /// `stream.duration` in time-base units, when the container has one.
    pub duration_pts: Option<i64>,
    /// Average frame rate (`avg_frame_rate`), when known.
    pub fps: Option<(i32, i32)>,
    /// `nb_frames` from the header, when known (0 in many containers).
    pub frame_count: Option<u64>,
    /// Counter-clockwise rotation in degrees from the display matrix (PyAV's `frame.rotation`
    /// convention). PyTorchVideo ignores it, so frames are returned unrotated.
    pub rotation: f64,
}

impl VideoInfo {
    pub fn time_base(&self) -> Ratio {
        // Validated at open time.
        Ratio::new(self.time_base.0, self.time_base.1).unwrap_or(Ratio::ZERO)
    }
    /// PyTorchVideo's `duration` from the header alone: `(duration - start_pts) * time_base`.
    pub fn header_duration(&self) -> Option<Ratio> {
        let d = self.duration_pts?;
        Ratio::from_int(d.checked_sub(self.start_pts)?)
            .checked_mul(self.time_base())
            .ok()
    }
    pub fn fps_f64(&self) -> Option<f64> {
        self.fps.map(|(n, d)| n as f64 / d as f64)
    }
}

/// A half-open pts range `[start, end)`; `end = None` is +inf.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PtsRange {
    pub start: i64,
    pub end: Option<i64>,
}

impl PtsRange {
    fn contains(&self, p: i64) -> bool {
        p >= self.start && self.end.is_none_or(|e| p < e)
    }
}

/// The frames of one range, sorted by pts (one frame per pts: a later duplicate replaces an
/// earlier one, as PyTorchVideo's `frames[frame.pts] = frame`).
#[derive(Debug, Default, Clone)]
pub struct ClipFrames {
    pub frames: Vec<Arc<RgbFrame>>,
}

impl ClipFrames {
    pub fn len(&self) -> usize {
        self.frames.len()
    }
    pub fn is_empty(&self) -> bool {
        self.frames.is_empty()
    }
    pub fn pts(&self) -> Vec<i64> {
        self.frames.iter().map(|f| f.pts).collect()
    }
    /// The frames at `indices` as a `[T, H, W, 3]` uint8 tensor.
    pub fn to_tensor(&self, indices: &[i64], path: &Path) -> Result<Tensor> {
        let picked = indices
            .iter()
            .map(|&i| usize::try_from(i).ok().and_then(|i| self.frames.get(i)))
            .collect::<Option<Vec<_>>>()
            .ok_or_else(|| DataError::Invalid {
                what: path.display().to_string(),
                message: format!("frame index out of range 0..{}", self.frames.len()),
            })?;
        frames_to_tensor(&picked, path)
    }
    pub fn all_to_tensor(&self, path: &Path) -> Result<Tensor> {
        let all: Vec<&Arc<RgbFrame>> = self.frames.iter().collect();
        frames_to_tensor(&all, path)
    }
}

/// The result of one forward decoding pass over several ranges.
#[derive(Debug)]
pub struct DecodePass {
    /// One entry per requested range, in request order.
    pub clips: Vec<ClipFrames>,
    /// Every distinct pts decoded in this pass (pts >= the stream's start), sorted.
    pub decoded_pts: Vec<i64>,
    /// Whether the pass began at the first frame of the stream, so that a frame's rank in
    /// `decoded_pts` is its native frame number.
    pub from_start: bool,
}

impl DecodePass {
    /// Native frame number of `pts`: its rank among the stream's frames. Exact when the pass
    /// began at the stream's start; otherwise estimated from the average frame rate.
    pub fn frame_number(&self, pts: i64, info: &VideoInfo) -> i64 {
        let rank = self.decoded_pts.partition_point(|&p| p < pts) as i64;
        if self.from_start {
            return rank;
        }
        let first = self.decoded_pts.first().copied().unwrap_or(pts);
        let offset = match (info.fps, info.time_base()) {
            (Some((n, d)), tb) if d != 0 => {
                let secs = (first - info.start_pts) as f64 * tb.to_f64();
                (secs * n as f64 / d as f64).round() as i64
            }
            _ => 0,
        };
        offset + rank
    }
}

/// An opened video file.
pub struct VideoReader {
    path: PathBuf,
    input: ff::format::context::Input,
    info: VideoInfo,
    decoder: ff::decoder::Video,
    rgb: RgbConverter,
    /// Whether anything has been read since opening (a failed seek to 0 is harmless before that).
    touched: bool,
}

impl VideoReader {
    pub fn open(path: &Path) -> Result<Self> {
        init_ffmpeg();
        let meta = std::fs::metadata(path).map_err(|e| DataError::io(path, e))?;
        if !meta.is_file() {
            return Err(DataError::Open {
                path: path.to_path_buf(),
                message: "not a regular file".into(),
            });
        }
        if meta.len() == 0 {
            return Err(DataError::EmptyFile {
                path: path.to_path_buf(),
            });
        }
        let open_err = |e: ff::Error| DataError::Open {
            path: path.to_path_buf(),
            message: e.to_string(),
        };
        let input = ff::format::input(&path).map_err(open_err)?;
        let stream = input
            .streams()
            .find(|s| s.parameters().medium() == ff::media::Type::Video)
            .ok_or_else(|| DataError::NoVideoStream {
                path: path.to_path_buf(),
            })?;
        let tb = stream.time_base();
        if tb.numerator() <= 0 || tb.denominator() <= 0 {
            return Err(DataError::Open {
                path: path.to_path_buf(),
                message: format!("invalid time base {tb}"),
            });
        }
        let nopts = |v: i64| (v != ffi::AV_NOPTS_VALUE).then_some(v);
        let fps = stream.avg_frame_rate();
        let mut ctx =
            ff::codec::context::Context::from_parameters(stream.parameters()).map_err(open_err)?;
        // PyAV decodes with slice threads, all cores; output is bit-exact either way. A decoder
        // pool sets one thread per decoder instead ([`set_decode_threads`]).
        ctx.set_threading(ff::codec::threading::Config {
            kind: ff::codec::threading::Type::Slice,
            count: DECODE_THREADS.with(|c| c.get()),
            ..Default::default()
        });
        // SAFETY: the context is fresh and unopened; pkt_timebase is a plain field.
        unsafe { (*ctx.as_mut_ptr()).pkt_timebase = tb.into() };
        let decoder = ctx.decoder().video().map_err(|e| DataError::Open {
            path: path.to_path_buf(),
            message: format!("no usable decoder for the video stream: {e}"),
        })?;
        let info = VideoInfo {
            path: path.to_path_buf(),
            stream_index: stream.index(),
            codec: decoder
                .codec()
                .map(|c| c.name().to_string())
                .unwrap_or_default(),
            pixel_format: format!("{:?}", decoder.format()).to_lowercase(),
            width: decoder.width(),
            height: decoder.height(),
            time_base: (tb.numerator() as i128, tb.denominator() as i128),
            start_pts: nopts(stream.start_time()).unwrap_or(0),
            duration_pts: nopts(stream.duration()),
            fps: (fps.numerator() > 0 && fps.denominator() > 0)
                .then(|| (fps.numerator(), fps.denominator())),
            frame_count: (stream.frames() > 0).then_some(stream.frames() as u64),
            rotation: rotation(&stream),
        };
        Ok(Self {
            path: path.to_path_buf(),
            input,
            info,
            decoder,
            rgb: RgbConverter::default(),
            touched: false,
        })
    }

    pub fn info(&self) -> &VideoInfo {
        &self.info
    }
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Whether PyTorchVideo decodes clips selectively (the stream has a duration). Without one it
    /// decodes the whole video up front, so clips see every frame in range (no early stop).
    pub fn selective(&self) -> bool {
        self.info.duration_pts.is_some()
    }

    /// PyTorchVideo's `EncodedVideoPyAV.duration`. Without a header duration this takes the
    /// largest packet pts of the stream (a demux-only pass; equal to the last decoded frame's pts
    /// whenever every packet yields a frame) and falls back to decoding when packets carry none.
    pub fn duration(&mut self) -> Result<Ratio> {
        if let Some(d) = self.info.header_duration() {
            return Ok(d);
        }
        let last = match self.max_packet_pts()? {
            Some(p) => p,
            None => {
                let pass = self.decode_ranges(&[], false)?;
                *pass
                    .decoded_pts
                    .last()
                    .ok_or_else(|| DataError::UnknownDuration {
                        path: self.path.clone(),
                    })?
            }
        };
        Ratio::from_int(last - self.info.start_pts).checked_mul(self.info.time_base())
    }

    fn max_packet_pts(&mut self) -> Result<Option<i64>> {
        self.seek(0)?;
        let mut best: Option<i64> = None;
        let mut packet = ff::Packet::empty();
        loop {
            match packet.read(&mut self.input) {
                Ok(()) => {}
                Err(ff::Error::Eof) => break,
                Err(e) => return Err(self.decode_err("reading packets", e)),
            }
            if packet.stream() != self.info.stream_index {
                continue;
            }
            match packet.pts() {
                Some(p) => best = Some(best.map_or(p, |b| b.max(p))),
                None => return Ok(None),
            }
        }
        Ok(best)
    }

    /// PyTorchVideo's `secs_to_pts(t, time_base, start_pts, "ceil")` for this stream.
    pub fn secs_to_pts(&self, t: Seconds) -> Result<i64> {
        t.to_pts_ceil(self.info.time_base(), self.info.start_pts)
    }

    /// `EncodedVideoPyAV.get_clip(start, end)`: the frames of `[start, end)` seconds.
    pub fn get_clip(&mut self, start: Seconds, end: Seconds) -> Result<ClipFrames> {
        let range = PtsRange {
            start: self.secs_to_pts(start)?,
            end: Some(self.secs_to_pts(end)?),
        };
        let selective = self.selective();
        let mut pass = self.decode_ranges(&[range], selective)?;
        let clip = pass.clips.pop().unwrap_or_default();
        if clip.is_empty() {
            let duration = self.duration().map(|d| d.to_f64()).unwrap_or(f64::NAN);
            return Err(DataError::EmptyClip {
                path: self.path.clone(),
                start: start.to_f64(),
                end: end.to_f64(),
                duration,
            });
        }
        Ok(clip)
    }

    /// Decodes every range in one forward pass from the keyframe before the earliest start.
    /// `stop_at_end` reproduces the selective decoder's early stop: a range takes no more frames
    /// once an output frame's pts reaches its end. With no ranges, decodes to the end and only
    /// records pts.
    pub fn decode_ranges(&mut self, ranges: &[PtsRange], stop_at_end: bool) -> Result<DecodePass> {
        let mut clips = vec![ClipFrames::default(); ranges.len()];
        let mut pass = self.decode_ranges_with(ranges, stop_at_end, |i, c| {
            clips[i] = c;
            Ok(())
        })?;
        pass.clips = clips;
        Ok(pass)
    }

    /// [`decode_ranges`](Self::decode_ranges), handing each range to `on_complete` as soon as it
    /// is final, so frames no range needs any more are freed during the pass. The returned
    /// pass has no `clips`.
    pub fn decode_ranges_with(
        &mut self,
        ranges: &[PtsRange],
        stop_at_end: bool,
        mut on_complete: impl FnMut(usize, ClipFrames) -> Result<()>,
    ) -> Result<DecodePass> {
        self.decode_ranges_select(
            ranges,
            stop_at_end,
            |_, n| Ok((0..n).collect()),
            |i, clip, _| on_complete(i, clip),
        )
    }

    /// One forward pass over `ranges` that converts to RGB only the frames `select` keeps.
    /// `select(range, n)` gets a finished range's frame count and returns positions in its
    /// pts-sorted frames (repeats allowed); `on_complete(range, frames, n)` gets those frames in
    /// that order. Frames stay decoded (YUV, reference-counted) until their ranges finish, so a
    /// clip that keeps 16 of 80 frames pays for 16 colour conversions, not 80; the pixels are
    /// those of [`decode_ranges`](Self::decode_ranges).
    pub fn decode_ranges_select(
        &mut self,
        ranges: &[PtsRange],
        stop_at_end: bool,
        mut select: impl FnMut(usize, usize) -> Result<Vec<usize>>,
        mut on_complete: impl FnMut(usize, ClipFrames, usize) -> Result<()>,
    ) -> Result<DecodePass> {
        let first = ranges
            .iter()
            .map(|r| r.start)
            .min()
            .unwrap_or(self.info.start_pts);
        let target = (first - SEEK_MARGIN).max(0);
        self.seek(target)?;
        let mut members: Vec<BTreeMap<i64, Arc<ff::frame::Video>>> =
            vec![BTreeMap::new(); ranges.len()];
        let mut done = vec![false; ranges.len()];
        let mut seen = BTreeSet::new();
        // RGB frames already converted for a finished range that a pending one may share.
        let mut converted: BTreeMap<i64, Arc<RgbFrame>> = BTreeMap::new();
        let (path, start_pts) = (self.path.clone(), self.info.start_pts);
        let rgb = &mut self.rgb;
        let mut finish =
            |i: usize, m: BTreeMap<i64, Arc<ff::frame::Video>>, done: &[bool]| -> Result<()> {
                let frames: Vec<(i64, Arc<ff::frame::Video>)> = m.into_iter().collect();
                let n = frames.len();
                let keep = if n == 0 { Vec::new() } else { select(i, n)? };
                let mut out = Vec::with_capacity(keep.len());
                for k in keep {
                    let (pts, f) = frames.get(k).ok_or_else(|| DataError::Invalid {
                        what: path.display().to_string(),
                        message: format!("frame index {k} out of range 0..{n}"),
                    })?;
                    let f = match converted.get(pts) {
                        Some(c) => c.clone(),
                        None => {
                            let c = Arc::new(rgb.convert(f, *pts, &path)?);
                            converted.insert(*pts, c.clone());
                            c
                        }
                    };
                    out.push(f);
                }
                let pending = |p: &i64| ranges.iter().zip(done).any(|(r, &d)| !d && r.contains(*p));
                converted.retain(|p, _| pending(p));
                on_complete(i, ClipFrames { frames: out }, n)
            };
        pump(
            &mut self.input,
            &mut self.decoder,
            self.info.stream_index,
            &path,
            |frame, pts| {
                if pts >= start_pts {
                    seen.insert(pts);
                }
                let mut wanted = Vec::new();
                for (i, r) in ranges.iter().enumerate() {
                    if done[i] {
                        continue;
                    }
                    if stop_at_end && r.end.is_some_and(|e| pts >= e) {
                        done[i] = true;
                        finish(i, std::mem::take(&mut members[i]), &done)?;
                    } else if r.contains(pts) {
                        wanted.push(i);
                    }
                }
                if !wanted.is_empty() {
                    // The decoder wrote a new reference into `frame`; keep it, no copy.
                    let f = Arc::new(std::mem::replace(frame, ff::frame::Video::empty()));
                    for i in wanted {
                        members[i].insert(pts, f.clone());
                    }
                }
                Ok(stop_at_end && !ranges.is_empty() && done.iter().all(|&d| d))
            },
        )?;
        for i in 0..ranges.len() {
            if !done[i] {
                done[i] = true;
                finish(i, std::mem::take(&mut members[i]), &done)?;
            }
        }
        // Leave the decoder clean for the next pass (the next seek flushes it as well).
        self.decoder.flush();
        // A pass that seeks to 0 starts at the stream's first frame.
        let from_start = target == 0;
        Ok(DecodePass {
            clips: Vec::new(),
            decoded_pts: seen.into_iter().collect(),
            from_start,
        })
    }

    /// Decodes from the stream's start: the first `max_frames` frames, or all with `None`,
    /// converting the first one to RGB. For `vbench check-data`: any damage FFmpeg reports is an
    /// error naming the file.
    pub fn probe(&mut self, max_frames: Option<usize>) -> Result<ProbeStats> {
        self.seek(0)?;
        let mut stats = ProbeStats::default();
        let path = self.path.clone();
        let rgb = &mut self.rgb;
        pump(
            &mut self.input,
            &mut self.decoder,
            self.info.stream_index,
            &path,
            |frame, pts| {
                if stats.frames == 0 {
                    let f = rgb.convert(frame, pts, &path)?;
                    stats.size = (f.width, f.height);
                }
                stats.frames += 1;
                stats.last_pts = Some(stats.last_pts.map_or(pts, |p: i64| p.max(pts)));
                Ok(max_frames.is_some_and(|m| stats.frames >= m))
            },
        )?;
        self.decoder.flush();
        Ok(stats)
    }

    /// `container.seek(ts, backward=True, any_frame=False, stream=video)` + decoder flush.
    fn seek(&mut self, ts: i64) -> Result<()> {
        // SAFETY: the format context is open for the reader's lifetime.
        let ret = unsafe {
            ffi::av_seek_frame(
                self.input.as_mut_ptr(),
                self.info.stream_index as i32,
                ts,
                ffi::AVSEEK_FLAG_BACKWARD,
            )
        };
        if ret < 0 {
            // Rewinding must work even where no index entry precedes 0 (av_seek_frame refuses
            // then); before the first read there is nothing to rewind.
            let rewound = ts == 0 && (!self.touched || self.input.seek(0, ..).is_ok());
            if !rewound {
                return Err(self.decode_err(&format!("seeking to pts {ts}"), ff::Error::from(ret)));
            }
        }
        self.touched = true;
        self.decoder.flush();
        Ok(())
    }

    fn decode_err(&self, what: &str, e: ff::Error) -> DataError {
        DataError::Decode {
            path: self.path.clone(),
            message: format!("{what}: {e}"),
        }
    }
}

/// What [`VideoReader::probe`] decoded.
#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct ProbeStats {
    pub frames: usize,
    pub last_pts: Option<i64>,
    /// The first frame's size.
    pub size: (u32, u32),
}

/// The demux → decode loop of one pass (after a seek): every output frame with its pts goes to
/// `on_frame`, which returns whether to stop. Frames without pts are errors, as in PyTorchVideo.
fn pump(
    input: &mut ff::format::context::Input,
    decoder: &mut ff::decoder::Video,
    stream_index: usize,
    path: &Path,
    mut on_frame: impl FnMut(&mut ff::frame::Video, i64) -> Result<bool>,
) -> Result<()> {
    let err = |what: &str, e: ff::Error| DataError::Decode {
        path: path.to_path_buf(),
        message: format!("{what}: {e}"),
    };
    let mut frame = ff::frame::Video::empty();
    let mut packet = ff::Packet::empty();
    let (mut eof, mut eof_sent) = (false, false);
    let mut filler = PtsFiller::default();
    let mut ready = VecDeque::new();
    loop {
        if ready.is_empty() && !eof {
            match packet.read(input) {
                Ok(()) => {
                    if packet.stream() == stream_index {
                        filler.push(
                            std::mem::replace(&mut packet, ff::Packet::empty()),
                            &mut ready,
                        );
                    }
                }
                Err(ff::Error::Eof) => {
                    filler.finish(&mut ready);
                    eof = true;
                }
                Err(e) => return Err(err("reading packets", e)),
            }
            continue;
        }
        if let Some(p) = ready.pop_front() {
            decoder
                .send_packet(&p)
                .map_err(|e| err("sending a packet", e))?;
        } else if !eof_sent {
            eof_sent = true;
            decoder.send_eof().map_err(|e| err("flushing", e))?;
        }
        loop {
            match decoder.receive_frame(&mut frame) {
                Ok(()) => {}
                // After the flush a decoder owes frames or EOF; don't spin if it says "again".
                Err(ff::Error::Other { errno }) if errno == ff::util::error::EAGAIN => {
                    if eof_sent {
                        return Ok(());
                    }
                    break;
                }
                Err(ff::Error::Eof) => return Ok(()),
                Err(e) => return Err(err("decoding", e)),
            }
            let pts = frame.pts().ok_or_else(|| DataError::MissingTimestamp {
                path: path.to_path_buf(),
            })?;
            if on_frame(&mut frame, pts)? {
                return Ok(());
            }
        }
    }
}
