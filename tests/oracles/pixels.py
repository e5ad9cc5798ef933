"""Pixel-parity oracle for issue 6: PySlowFast's Ptvkinetics test loader, run for real.

usage: pixels.py JOBS.json OUTDIR

JOBS.json is a list of {"name", "video", "frames", "sample_rate", "alpha" (null or int),
"short_side", "crop", "clips", "crops", "target_fps", "bgr"}. For each job this builds exactly what
PySlowFast builds for the test split -- LabeledVideoDataset(EncodedVideo "pyav", decode_audio=False,
ConstantClipsPerVideoSampler(T*tau/fps as a float, clips, augs_per_clip=crops)) with the transform
UniformTemporalSubsample -> /255 -> NormalizeVideo -> ShortSideScale -> UniformCropVideo ->
(rgb2bgr) -> PackPathway -- and writes OUTDIR/<name>.safetensors with, per view,
`clipKK.cropJ.<pathway>` (float32 CTHW) and `...frame_indices` (int64 native frame numbers), per
clip `clipKK.raw` (the subsampled uint8 THWC frames) and `clipKK.pts`, and `duration` (num, den),
then prints the job's name.
"""

import json
import sys

import ptv_common  # noqa: F401  (installs the torchvision shim first)

import warnings  # noqa: E402

warnings.filterwarnings("ignore")

import av  # noqa: E402
import torch  # noqa: E402
from safetensors.torch import save_file  # noqa: E402
from pytorchvideo.data.clip_sampling import ConstantClipsPerVideoSampler  # noqa: E402
from pytorchvideo.data.encoded_video_pyav import EncodedVideoPyAV  # noqa: E402
from pytorchvideo.data.labeled_video_dataset import LabeledVideoDataset  # noqa: E402
from pytorchvideo.data.utils import secs_to_pts  # noqa: E402
from pytorchvideo.transforms import (  # noqa: E402
    ApplyTransformToKey,
    ShortSideScale,
    UniformCropVideo,
    UniformTemporalSubsample,
)
from torchvision.transforms import Compose, Lambda  # noqa: E402
from torchvision.transforms._transforms_video import NormalizeVideo  # noqa: E402

torch.set_num_threads(1)

# Record which pts each get_clip kept, without changing what it returns.
_LAST_PTS = {}
_orig_get_clip = EncodedVideoPyAV.get_clip


def _recording_get_clip(self, start_sec, end_sec):
    out = _orig_get_clip(self, start_sec, end_sec)
    s = secs_to_pts(start_sec, self._video_time_base, self._video_start_pts, round_mode="ceil")
    e = secs_to_pts(end_sec, self._video_time_base, self._video_start_pts, round_mode="ceil")
    _LAST_PTS["pts"] = [p for _, p in (self._video or []) if s <= p < e]
    _LAST_PTS["duration"] = self.duration
    return out


EncodedVideoPyAV.get_clip = _recording_get_clip


from ptv_common import PackPathway, div255, rgb2bgr  # noqa: E402


def native_pts(path):
    """Every frame pts PyTorchVideo's full decode would list (pts >= start), sorted."""
    with av.open(path) as c:
        s = c.streams.video[0]
        start = s.start_time or 0
        return sorted({f.pts for f in c.decode(video=0) if f.pts is not None and f.pts >= start})


def run(job, outdir):
    n_frames = job["frames"] * (job["alpha"] or 1)
    raw = {}

    def capture(x):
        # The clip as get_clip returned it (float CTHW), before any transform.
        idx = torch.clamp(torch.linspace(0, x.shape[1] - 1, n_frames), 0, x.shape[1] - 1).long()
        raw["sel"] = x.index_select(1, idx).permute(1, 2, 3, 0).to(torch.uint8).contiguous()
        raw["pts"] = [_LAST_PTS["pts"][i] for i in idx.tolist()]
        raw["len"] = x.shape[1]
        return x

    video_chain = [
        Lambda(capture),
        UniformTemporalSubsample(n_frames),
        Lambda(div255),
        NormalizeVideo([0.45] * 3, [0.225] * 3),
        ShortSideScale(size=job["short_side"]),
    ]
    view_chain = [UniformCropVideo(size=job["crop"])]
    if job["bgr"]:
        view_chain.append(ApplyTransformToKey(key="video", transform=Lambda(rgb2bgr)))
    view_chain.append(ApplyTransformToKey(key="video", transform=PackPathway(job["alpha"])))
    transform = Compose([ApplyTransformToKey(key="video", transform=Compose(video_chain))] + view_chain)
    # PySlowFast: cfg.DATA.NUM_FRAMES * cfg.DATA.SAMPLING_RATE / cfg.DATA.TARGET_FPS (a float).
    clip_duration = n_frames * (job["sample_rate"] // (job["alpha"] or 1)) / job["target_fps"]
    sampler = ConstantClipsPerVideoSampler(
        clip_duration=clip_duration, clips_per_video=job["clips"], augs_per_clip=job["crops"]
    )
    ds = LabeledVideoDataset(
        labeled_video_paths=[(job["video"], {"label": 0})],
        clip_sampler=sampler,
        video_sampler=torch.utils.data.SequentialSampler,
        transform=transform,
        decode_audio=False,
        decoder="pyav",
    )
    ranks = {p: i for i, p in enumerate(native_pts(job["video"]))}
    names = ["slow", "fast"] if job["alpha"] else ["video"]
    tensors = {}
    it = iter(ds)
    for _ in range(job["clips"] * job["crops"]):
        d = next(it)
        k, j = d["clip_index"], d["aug_index"]
        frames = [ranks[p] for p in raw["pts"]]
        if j == 0:
            tensors[f"clip{k:02}.raw"] = raw["sel"]
            tensors[f"clip{k:02}.pts"] = torch.tensor(raw["pts"], dtype=torch.int64)
        per_path = [frames]
        if job["alpha"]:
            slow = torch.linspace(0, len(frames) - 1, len(frames) // job["alpha"]).long().tolist()
            per_path = [[frames[i] for i in slow], frames]
        for p, (name, t) in enumerate(zip(names, d["video"])):
            key = f"clip{k:02}.crop{j}.{name}"
            tensors[key] = t.contiguous()
            tensors[key + ".frame_indices"] = torch.tensor(per_path[p], dtype=torch.int64)
    dur = _LAST_PTS["duration"]
    tensors["duration"] = torch.tensor([dur.numerator, dur.denominator], dtype=torch.int64)
    save_file(tensors, f"{outdir}/{job['name']}.safetensors")


def main():
    # One line per finished job on stdout, so the test compares while the next job runs.
    for job in json.load(open(sys.argv[1])):
        run(job, sys.argv[2])
        print(job["name"], flush=True)


if __name__ == "__main__":
    main()
