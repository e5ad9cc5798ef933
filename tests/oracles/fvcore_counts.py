"""Oracle for tests/flops_conventions.rs: fvcore's FlopCountAnalysis on PyTorchVideo's own models.

Reads a JSON list of requests on stdin, one per model input:
    {"key": str, "arch": str, "num_classes": int, "frames": int, "alpha": int|null,
     "crop": int, "head_pool": [[t, h, w], ...] | null}
"head_pool" replaces the head's AvgPool3d kernel(s) ([slow, fast] for SlowFast), stride 1, so a
reduced crop still fits the head; null keeps the zoo's.
and writes one JSON object keyed by "key":
    {"params": int, "train": {op: flops}, "eval": {op: flops}, "seconds": float,
     "train_traced": bool}
"train"/"eval" are `FlopCountAnalysis(model, inputs).by_operator()` with the model in that mode
(fvcore counts BatchNorm at 5 FLOPs per element in train mode, 2 in eval). Batch size 1. The
detectors get one whole-frame box, [0, 0, 0, W, H], as vbench's `forward()` scores a clip.
For a model without BatchNorm (MViT) the train count is the eval one, not traced again
("train_traced": false): batch_norm is fvcore's only mode-dependent handle, and what MViT runs
only in one mode (dropout, the head's softmax) has no handle. That halves MViT's cost.

Models are built with pretrained=False: FLOPs and params do not depend on weight values.
"""

import json
import sys
import time

import torch
import torch.nn as nn
from fvcore.nn import FlopCountAnalysis
from pytorchvideo.models import hub
from pytorchvideo.models.resnet import create_resnet
from pytorchvideo.models.slowfast import PoolConcatPathway, create_slowfast


def build(arch, num_classes):
    """The PyTorchVideo builder of a vbench arch (names as in harness/vbench-suite/src/arch.rs)."""
    n = num_classes
    if arch == "slow_r50_4x16":
        # Hub slow_r50 with the 4-frame head pool (no hub builder of its own).
        return create_resnet(
            stem_conv_kernel_size=(1, 7, 7),
            head_pool_kernel_size=(4, 7, 7),
            model_depth=50,
            model_num_class=n,
        )
    if arch == "slowfast_r50_4x16":
        # PySlowFast SLOWFAST_4x16_R50.yaml: alpha 8, fusion kernel 5.
        return create_slowfast(
            model_depth=50,
            slowfast_fusion_conv_kernel_size=(5, 1, 1),
            slowfast_fusion_conv_stride=(8, 1, 1),
            head_pool_kernel_sizes=((4, 7, 7), (32, 7, 7)),
            model_num_class=n,
        )
    if arch.startswith("mvit_"):
        return getattr(hub, arch)(pretrained=False, head_num_classes=n)
    if arch.startswith("efficient_x3d"):
        return getattr(hub, arch)(pretrained=False, num_classes=n)
    return getattr(hub, arch)(pretrained=False, model_num_class=n)


def set_head_pools(model, kernels):
    """Swaps the head's AvgPool3d modules, in pathway order, for ones with `kernels`."""
    pool = lambda k: nn.AvgPool3d(kernel_size=tuple(k), stride=(1, 1, 1))
    if isinstance(model.blocks[-2], PoolConcatPathway):
        pools = model.blocks[-2].pool
        assert len(pools) == len(kernels), (len(pools), kernels)
        for i, k in enumerate(kernels):
            pools[i] = pool(k)
        return
    assert len(kernels) == 1, kernels
    head = model.blocks[-1]
    if hasattr(head.pool, "pool"):  # X3D's ProjectedPool
        head.pool.pool = pool(kernels[0])
    else:
        head.pool = pool(kernels[0])


def inputs(req):
    t, s, a = req["frames"], req["crop"], req.get("alpha")
    g = torch.Generator().manual_seed(0)
    if a:
        x = [torch.rand(1, 3, t, s, s, generator=g), torch.rand(1, 3, t * a, s, s, generator=g)]
    else:
        x = torch.rand(1, 3, t, s, s, generator=g)
    if "detection" in req["arch"]:
        # Boxes in pixels of the input frame: [batch index, x1, y1, x2, y2].
        return (x, torch.tensor([[0.0, 0.0, 0.0, float(s), float(s)]]))
    return (x,)


def count(model, args):
    fca = FlopCountAnalysis(model, args)
    fca.unsupported_ops_warnings(False)
    fca.uncalled_modules_warnings(False)
    return {k: int(v) for k, v in fca.by_operator().items()}


def main():
    # The test runs one oracle process per core: one thread each avoids oversubscription.
    torch.set_num_threads(1)
    torch.manual_seed(0)
    reqs = json.load(sys.stdin)
    out = {}
    for req in reqs:
        t0 = time.perf_counter()
        model = build(req["arch"], req["num_classes"])
        if req.get("head_pool"):
            set_head_pools(model, req["head_pool"])
        params = sum(p.numel() for p in model.parameters())
        res = {"params": params}
        has_bn = any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in model.modules())
        for mode in ("eval", "train") if has_bn else ("eval",):
            model.train(mode == "train")
            # MultiPathWayWithFuse overwrites entries of its input list: a fresh list per call.
            with torch.no_grad():
                res[mode] = count(model, inputs(req))
        res["train_traced"] = has_bn
        res.setdefault("train", res["eval"])
        res["seconds"] = time.perf_counter() - t0
        out[req["key"]] = res
        print(req["key"], f"{res['seconds']:.1f}s", file=sys.stderr, flush=True)
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
