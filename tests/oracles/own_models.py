"""Oracle for "your own model" tests: stranger models under a zoo entry's exact protocol.

usage: own_models.py OUT_DIR JOBS.json

JOBS.json is a list of jobs. Every job has "name", "num_classes", the protocol keys of
infer_pytorchvideo.py ("frames", "sample_rate", "alpha" (null), "short_side", "crop", "clips",
"crops", "target_fps", "bgr", "aggregation" (sum|max)), "videos" (paths; may be empty) and one model:
  - "torchvision": a builder of torchvision.models.video (r3d_18, r2plus1d_18, s3d, mvit_v2_s,
    swin3d_t, ...), random weights, every BatchNorm randomised, the classifier scaled so that
    logits are a few units. Written as OUT_DIR/<name>.pt with torch.jit.trace on one view
    [1, 3, T, crop, crop]; "freeze": true also writes OUT_DIR/<name>.frozen.pt
    (torch.jit.freeze of that trace). "activation" (softmax|sigmoid|none) is what the reference
    applies to the module's output: the module returns raw logits.
  - "pytorchvideo": a zoo arch (x3d_s, ...) built as parity_cnn.py does (hub builder,
    pretrained=False, every BN randomised, head activation inside, softmax|sigmoid from
    "activation"), written as OUT_DIR/<name>.pyth in the official format.
  - "cuda_only": a scripted module whose forward allocates on "cuda" (what a model traced on a
    GPU carries in its graph); written as OUT_DIR/<name>.pt, nothing else computed.
"flops": true adds fvcore's FlopCountAnalysis(model, one view).by_operator() of the Python
module, in eval mode and (for a model with BatchNorm) in train mode, where fvcore counts BatchNorm
at 5 FLOPs per element; a model without BatchNorm gets the eval count under both.

For each video, the reference is PySlowFast's Ptvkinetics test loader run for real (the same
LabeledVideoDataset, ConstantClipsPerVideoSampler and test transform as infer_pytorchvideo.py), the
Python module's forward on each view (batch 1, eval, no_grad), the activation, and the TestMeter
aggregation. OUT_DIR/<name>.json: {"params", "input": [1, 3, T, S, S], "flops": {"eval": {op: n},
"train": {op: n}} | null, "videos": [{"video", "views": [{"clip", "crop", "scores"}], "scores"}]}.
Prints each job's name when it is done.
"""

import copy
import json
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import infer_pytorchvideo  # noqa: E402  (installs the torchvision shim via pixels.py)
import parity_cnn  # noqa: E402
import torch  # noqa: E402
import torch.nn as nn  # noqa: E402
import torchvision.models.video as tvv  # noqa: E402
from fvcore.nn import FlopCountAnalysis  # noqa: E402

SEED = 20240901
LOGIT_STD = 2.0  # logits of a few units: softmax neither flat nor one-hot


def randomise_torchvision(model, gen):
    """Every BatchNorm gets random affine parameters and running statistics; biases are nonzero."""

    def u(t, lo, hi):
        t.copy_(torch.rand(t.shape, generator=gen) * (hi - lo) + lo)

    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.modules.batchnorm._BatchNorm):
                u(m.weight, 0.5, 1.5)
                u(m.bias, -0.2, 0.2)
                u(m.running_mean, -0.2, 0.2)
                u(m.running_var, 0.5, 1.5)
                m.num_batches_tracked.fill_(7)
            elif isinstance(m, (nn.Conv3d, nn.Linear)) and m.bias is not None:
                u(m.bias, -0.1, 0.1)


def classifier(model):
    """The last module with a weight: the layer producing the logits."""
    last = None
    for m in model.modules():
        if isinstance(m, (nn.Linear, nn.Conv3d)):
            last = m
    return last


def view_input(job, gen):
    t, s = job["frames"], job["crop"]
    return torch.randn(1, 3, t, s, s, generator=gen)


def build_torchvision(job, gen):
    model = getattr(tvv, job["torchvision"])(weights=None, num_classes=job["num_classes"])
    randomise_torchvision(model, gen)
    model.eval()
    x = view_input(job, gen)
    with torch.no_grad():
        std = model(x).std().item()
        head = classifier(model)
        head.weight.mul_(LOGIT_STD / std)
        if head.bias is not None:
            head.bias.mul_(LOGIT_STD / std)
    return model, x


class CudaOnly(nn.Module):
    def __init__(self, classes: int):
        super().__init__()
        self.fc = nn.Linear(3, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = x.mean(dim=[2, 3, 4]) + torch.zeros(1, device=torch.device("cuda"))
        return self.fc(y)


def activate(scores, activation):
    if activation == "softmax":
        return torch.softmax(scores, dim=1)
    if activation == "sigmoid":
        return torch.sigmoid(scores)
    return scores


def flops(model, x):
    def count(m):
        fca = FlopCountAnalysis(m, (x,))
        fca.unsupported_ops_warnings(False)
        fca.uncalled_modules_warnings(False)
        return {k: int(v) for k, v in fca.by_operator().items()}

    m = copy.deepcopy(model)  # train mode updates BN statistics: count on a copy
    out = {"eval": count(m.eval())}
    has_bn = any(isinstance(b, nn.modules.batchnorm._BatchNorm) for b in m.modules())
    out["train"] = count(m.train()) if has_bn else out["eval"]
    return out


def score_video(job, model, video, apply_activation):
    views = []
    it = iter(infer_pytorchvideo.dataset({**job, "video": video}))
    with torch.no_grad():
        for _ in range(job["clips"] * job["crops"]):
            d = next(it)
            x = [t.unsqueeze(0) for t in d["video"]]
            s = model(x if job["alpha"] else x[0])
            s = (activate(s, job["activation"]) if apply_activation else s)[0]
            views.append({"clip": d["clip_index"], "crop": d["aug_index"], "scores": s})
    if job["aggregation"] == "sum":
        agg = torch.zeros_like(views[0]["scores"])
        for v in views:
            agg = agg + v["scores"]
    else:
        agg = torch.full_like(views[0]["scores"], -1e10)
        for v in views:
            agg = torch.max(agg, v["scores"])
    return {
        "video": video,
        "views": [{**v, "scores": v["scores"].tolist()} for v in views],
        "scores": agg.tolist(),
    }


def run(job, out):
    torch.manual_seed(SEED)
    gen = torch.Generator().manual_seed(SEED + sum(map(ord, job["name"])))
    if "cuda_only" in job:
        torch.jit.script(CudaOnly(job["num_classes"])).save(str(out / f"{job['name']}.pt"))
        return
    if "torchvision" in job:
        model, x = build_torchvision(job, gen)
        with torch.no_grad():
            traced = torch.jit.trace(model, x)
        traced.save(str(out / f"{job['name']}.pt"))
        if job.get("freeze"):
            torch.jit.freeze(traced).save(str(out / f"{job['name']}.frozen.pt"))
        from_module = True
    else:
        model = parity_cnn.build(job["pytorchvideo"], job["num_classes"], job["activation"])
        parity_cnn.randomise(model, gen)
        model.eval()
        torch.save({"model_state": model.state_dict()}, out / f"{job['name']}.pyth")
        x = view_input(job, gen)
        from_module = False  # the zoo head applies its activation itself
    result = {
        "params": sum(p.numel() for p in model.parameters()),
        "input": list(x.shape),
        "flops": flops(model, x) if job.get("flops") else None,
        "videos": [score_video(job, model, v, from_module) for v in job["videos"]],
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
