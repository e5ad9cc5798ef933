"""Oracle for issue 7: PyTorchVideo's own test pipeline for one video, end to end.

usage: infer_pytorchvideo.py OUT_DIR JOBS.json

JOBS.json is a list of {"name", "arch", "num_classes", "activation" (softmax|sigmoid), "video",
"frames", "sample_rate", "alpha" (null or int), "short_side", "crop", "clips", "crops",
"target_fps", "bgr", "aggregation" (sum|max), "weights_only" (optional)}. For each job:
  - builds the model as parity_cnn.py does (hub builder, pretrained=False, every BN randomised,
    seeded per job) and saves OUT_DIR/<name>.pyth as torch.save({"model_state": state_dict}), the
    official zoo format;
  - unless weights_only: runs PySlowFast's Ptvkinetics test loader for real (LabeledVideoDataset,
    EncodedVideo "pyav", ConstantClipsPerVideoSampler, the test transform; pixels.py builds it),
    the model on each view (batch 1, eval, no_grad), and aggregates as PySlowFast's TestMeter
    (a zero-initialised sum of softmax scores, or the max of sigmoid scores from -1e10);
    writes OUT_DIR/<name>.json: {"views": [{"clip", "crop", "scores"}], "scores": [...]}.
Prints each job's name when it is done.
"""

import json
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import pixels  # noqa: E402  (installs the torchvision shim before pytorchvideo.transforms loads)
import parity_cnn  # noqa: E402
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

SEED = 20240707


def dataset(job):
    n_frames = job["frames"] * (job["alpha"] or 1)
    video_chain = Compose(
        [
            UniformTemporalSubsample(n_frames),
            Lambda(pixels.div255),
            NormalizeVideo([0.45] * 3, [0.225] * 3),
            ShortSideScale(size=job["short_side"]),
        ]
    )
    chain = [ApplyTransformToKey(key="video", transform=video_chain), UniformCropVideo(size=job["crop"])]
    if job["bgr"]:
        chain.append(ApplyTransformToKey(key="video", transform=Lambda(pixels.rgb2bgr)))
    chain.append(ApplyTransformToKey(key="video", transform=pixels.PackPathway(job["alpha"])))
    # PySlowFast: NUM_FRAMES * SAMPLING_RATE / TARGET_FPS, a float.
    clip_duration = n_frames * (job["sample_rate"] // (job["alpha"] or 1)) / job["target_fps"]
    return LabeledVideoDataset(
        labeled_video_paths=[(job["video"], {"label": 0})],
        clip_sampler=ConstantClipsPerVideoSampler(
            clip_duration=clip_duration, clips_per_video=job["clips"], augs_per_clip=job["crops"]
        ),
        video_sampler=torch.utils.data.SequentialSampler,
        transform=Compose(chain),
        decode_audio=False,
        decoder="pyav",
    )


def run(job, out):
    torch.manual_seed(SEED)
    gen = torch.Generator().manual_seed(SEED)
    model = parity_cnn.build(job["arch"], job["num_classes"], job["activation"])
    parity_cnn.randomise(model, gen)
    model.eval()
    torch.save({"model_state": model.state_dict()}, out / f"{job['name']}.pyth")
    if job.get("weights_only"):
        return
    views = []
    it = iter(dataset(job))
    with torch.no_grad():
        for _ in range(job["clips"] * job["crops"]):
            d = next(it)
            # MultiPathWayWithFuse overwrites its input list: always a fresh one.
            x = [t.unsqueeze(0) for t in d["video"]]
            scores = model(x if job["alpha"] else x[0])[0]
            views.append({"clip": d["clip_index"], "crop": d["aug_index"], "scores": scores})
    if job["aggregation"] == "sum":
        agg = torch.zeros_like(views[0]["scores"])
        for v in views:
            agg = agg + v["scores"]
    else:
        agg = torch.full_like(views[0]["scores"], -1e10)
        for v in views:
            agg = torch.max(agg, v["scores"])
    result = {
        "views": [{**v, "scores": v["scores"].tolist()} for v in views],
        "scores": agg.tolist(),
    }
    (out / f"{job['name']}.json").write_text(json.dumps(result))


def main():
    out = Path(sys.argv[1])
    out.mkdir(parents=True, exist_ok=True)
    torch.set_num_threads(os.cpu_count() or 1)  # pixels.py pins 1 thread; the models want all
    for job in json.load(open(sys.argv[2])):
        run(job, out)
        print(job["name"], flush=True)


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    main()
