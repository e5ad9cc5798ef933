"""Throughput side of `cargo bench -p vbench-data --bench throughput`: PyTorchVideo's own loader.

usage: throughput.py SPEC.json

SPEC is {"videos": [...], "frames", "sample_rate", "short_side", "crop", "clips", "crops",
"workers"}. Builds what PySlowFast's Ptvkinetics builds for the test split --
LabeledVideoDataset(EncodedVideo "pyav", decode_audio=False, ConstantClipsPerVideoSampler(T*tau/30,
clips, crops)) with UniformTemporalSubsample -> /255 -> NormalizeVideo -> ShortSideScale ->
UniformCropVideo -- and iterates it once over every video: directly for workers == 0, else through
a DataLoader with that many worker processes (batch_size=None, as one view per item). Prints one
JSON line: {"views", "seconds"} (imports and worker start-up excluded from nothing: the clock starts
at the first next()).
"""

import json
import sys
import time

import ptv_common  # noqa: F401  (installs the torchvision shim first)

import warnings  # noqa: E402

warnings.filterwarnings("ignore")

import torch  # noqa: E402
from pytorchvideo.data.clip_sampling import ConstantClipsPerVideoSampler  # noqa: E402
from pytorchvideo.data.labeled_video_dataset import LabeledVideoDataset  # noqa: E402
from pytorchvideo.transforms import (  # noqa: E402
    ApplyTransformToKey,
    ShortSideScale,
    UniformCropVideo,
    UniformTemporalSubsample,
)
from torchvision.transforms import Compose, Lambda  # noqa: E402
from torchvision.transforms._transforms_video import NormalizeVideo  # noqa: E402


from ptv_common import div255  # noqa: E402


def main():
    spec = json.load(open(sys.argv[1]))
    torch.set_num_threads(1)
    transform = Compose(
        [
            ApplyTransformToKey(
                key="video",
                transform=Compose(
                    [
                        UniformTemporalSubsample(spec["frames"]),
                        Lambda(div255),
                        NormalizeVideo([0.45] * 3, [0.225] * 3),
                        ShortSideScale(size=spec["short_side"]),
                    ]
                ),
            ),
            UniformCropVideo(size=spec["crop"]),
        ]
    )
    ds = LabeledVideoDataset(
        labeled_video_paths=[(v, {"label": 0}) for v in spec["videos"]],
        clip_sampler=ConstantClipsPerVideoSampler(
            clip_duration=spec["frames"] * spec["sample_rate"] / 30,
            clips_per_video=spec["clips"],
            augs_per_clip=spec["crops"],
        ),
        video_sampler=torch.utils.data.SequentialSampler,
        transform=transform,
        decode_audio=False,
        decoder="pyav",
    )
    if spec["workers"] > 0:
        it = iter(torch.utils.data.DataLoader(ds, batch_size=None, num_workers=spec["workers"]))
    else:
        it = iter(ds)
    views = 0
    start = time.perf_counter()
    for d in it:
        assert d["video"].shape[-1] == spec["crop"]
        views += 1
    seconds = time.perf_counter() - start
    print(json.dumps({"views": views, "seconds": seconds}), flush=True)


if __name__ == "__main__":
    main()
