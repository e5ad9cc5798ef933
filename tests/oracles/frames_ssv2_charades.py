"""Frame-folder parity oracle for issue 6: PySlowFast's Ptvssv2 / Ptvcharades test loaders, run
for real on PyTorchVideo 0.1.5's SSv2 / Charades datasets (FrameVideo, OpenCV JPEG decoding).

usage: frames_ssv2_charades.py JOBS.json OUTDIR

JOBS.json is a list of {"name", "dataset" ("ssv2" | "charades"), "root", "num_frames" (the input
clip's frames: the fast pathway's for SlowFast), "sampling_rate" (the input clip's stride),
"alpha" (null or int), "crop", "clips", "crops"}. The files under "root" follow PySlowFast's
layout (something-something-v2-labels.json, something-something-v2-validation.json, val.csv; or
val.csv for Charades). For each job this writes OUTDIR/<name>.safetensors with, per video v and
view, `vV.clipKK.cropJ.<pathway>` (float32 CTHW), `vV.clipKK.frames` (int64 frame indices the
dataset loaded) and `vV.clipKK.raw` (uint8 THWC frames as loaded), then prints the job's name.
"""

import json
import sys

import ptv_common  # noqa: F401  (installs the torchvision shim first)

import warnings  # noqa: E402

warnings.filterwarnings("ignore")

import os  # noqa: E402

import torch  # noqa: E402
from safetensors.torch import save_file  # noqa: E402
from pytorchvideo.data import Charades, SSv2  # noqa: E402
from pytorchvideo.data.clip_sampling import make_clip_sampler  # noqa: E402
from pytorchvideo.data.frame_video import FrameVideo  # noqa: E402
from pytorchvideo.transforms import ApplyTransformToKey, ShortSideScale, UniformCropVideo  # noqa: E402
from torchvision.transforms import Compose, Lambda  # noqa: E402
from torchvision.transforms._transforms_video import NormalizeVideo  # noqa: E402

torch.set_num_threads(1)

# Record what each get_clip loaded, without changing what it returns.
_LAST = {}
_orig_get_clip = FrameVideo.get_clip


def _recording_get_clip(self, start_sec, end_sec, frame_filter=None):
    out = _orig_get_clip(self, start_sec, end_sec, frame_filter)
    _LAST["frames"] = list(out["frame_indices"])
    _LAST["raw"] = out["video"].permute(1, 2, 3, 0).to(torch.uint8).contiguous()
    return out


FrameVideo.get_clip = _recording_get_clip


from ptv_common import PackPathway, div255, rgb2bgr  # noqa: E402


def test_transform(job):
    # The test-mode transform both Ptvssv2 and Ptvcharades build (labels aside).
    return Compose(
        [
            ApplyTransformToKey(
                key="video",
                transform=Compose(
                    [
                        Lambda(div255),
                        NormalizeVideo([0.45] * 3, [0.225] * 3),
                        ShortSideScale(size=job["crop"]),
                    ]
                ),
            ),
            UniformCropVideo(size=job["crop"]),
            ApplyTransformToKey(
                key="video", transform=Compose([Lambda(rgb2bgr), PackPathway(job["alpha"])])
            ),
        ]
    )


def dataset(job):
    root = job["root"]
    if job["dataset"] == "ssv2":
        sampler = make_clip_sampler("constant_clips_per_video", 1, job["clips"], job["crops"])
        return SSv2(
            label_name_file=os.path.join(root, "something-something-v2-labels.json"),
            video_label_file=os.path.join(root, "something-something-v2-validation.json"),
            video_path_label_file=os.path.join(root, "val.csv"),
            clip_sampler=sampler,
            video_sampler=torch.utils.data.SequentialSampler,
            transform=test_transform(job),
            video_path_prefix=root,
            frames_per_clip=job["num_frames"],
            rand_sample_frames=False,
        )
    clip_duration = ((job["num_frames"] - 1) * job["sampling_rate"] + 1) / 30
    sampler = make_clip_sampler(
        "constant_clips_per_video", clip_duration, job["clips"], job["crops"]
    )
    return Charades(
        data_path=os.path.join(root, "val.csv"),
        clip_sampler=sampler,
        video_sampler=torch.utils.data.SequentialSampler,
        transform=test_transform(job),
        video_path_prefix=root,
        frames_per_clip=job["num_frames"],
    )


def run(job, outdir):
    ds = dataset(job)
    n_videos = len(ds._path_to_videos)
    names = ["slow", "fast"] if job["alpha"] else ["video"]
    tensors = {}
    it = iter(ds)
    for _ in range(n_videos * job["clips"] * job["crops"]):
        d = next(it)
        v, k, j = d["video_index"], d["clip_index"], d["aug_index"]
        if j == 0:
            tensors[f"v{v}.clip{k:02}.frames"] = torch.tensor(_LAST["frames"], dtype=torch.int64)
            tensors[f"v{v}.clip{k:02}.raw"] = _LAST["raw"]
        for name, t in zip(names, d["video"]):
            tensors[f"v{v}.clip{k:02}.crop{j}.{name}"] = t.contiguous()
    save_file(tensors, f"{outdir}/{job['name']}.safetensors")


def main():
    for job in json.load(open(sys.argv[1])):
        run(job, sys.argv[2])
        print(job["name"], flush=True)


if __name__ == "__main__":
    main()
