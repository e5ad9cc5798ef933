"""PyTorch eager side of vbench's speed variants: the same conversions on PyTorchVideo's own model.

Usage:
  variants_eager.py --arch A [--classes N] [--activation softmax|sigmoid]
                    (--weights W.pyth | --export-weights W.pyth [--seed S])
                    [--variants fp32,bf16,bf16-cast,channels-last,folded-bn]
                    [--head-pools "T,H,W[;T,H,W]"] [--views V.safetensors --outputs O.safetensors]
                    [--time --frames T --crop S [--alpha A] --threads N [--rounds R] [--per-round K]
                     [--json FILE]]

The model is `pytorchvideo.models.hub.<arch>(pretrained=False)` with the given head, in eval mode.
- `--export-weights`: random weights (seeded; every BatchNorm randomised, since PyTorchVideo
  zero-inits the last BN of each residual branch) saved as {"model_state": state_dict}, the
  official checkpoint format: `vbench ... --weights W.pyth` then runs the very same model.
- `--views V --outputs O`: each variant of the model on the views in V ("input", or "slow" and
  "fast", stacked [N, 3, T, H, W]); O gets "<variant>.scores" and "<variant>.logits" (the head's
  projection averaged over its positions, before the activation), float32, one row per view.
- `--time`: each variant timed against fp32 on one random view (batch 1), interleaved: R rounds
  of K fp32 forwards and K variant forwards, the order alternating (ABBA...). Prints one JSON line
  per variant: medians, their ratio (speed-up = fp32 / variant), the load average and threads.

The conversions, as vbench applies them (`vbench_models::variant`):
- fp32: the model as built.
- bf16: forward under torch.autocast("cpu", dtype=torch.bfloat16).
- bf16-cast: model.to(torch.bfloat16), inputs bfloat16; every nn.AvgPool3d pools in float32 and
  casts back (libtorch has no bfloat16 avg_pool3d on the CPU).
- channels-last: model.to(memory_format=torch.channels_last_3d), inputs .to() it too.
- folded-bn: each BatchNorm3d whose input is a Conv3d's output (found by forward hooks, tensor
  identity) folded into it with torch.nn.utils.fusion.fuse_conv_bn_eval, the BN replaced by
  nn.Identity.
"""

import argparse
import copy
import json
import os
import sys
import time

import torch
import torch.nn as nn
from safetensors.torch import load_file, save_file

from pytorchvideo.models import hub
from pytorchvideo.models.resnet import create_resnet
from pytorchvideo.models.slowfast import create_slowfast

ACT = {"softmax": nn.Softmax, "sigmoid": nn.Sigmoid}
VARIANTS = ["fp32", "bf16", "bf16-cast", "channels-last", "folded-bn"]


def build(arch, classes, act):
    kw = dict(model_num_class=classes, head_activation=ACT[act])
    if arch == "slow_r50_4x16":
        return create_resnet(
            stem_conv_kernel_size=(1, 7, 7), head_pool_kernel_size=(4, 7, 7), model_depth=50, **kw
        )
    if arch == "slowfast_r50_4x16":
        return create_slowfast(
            model_depth=50,
            slowfast_fusion_conv_kernel_size=(5, 1, 1),
            slowfast_fusion_conv_stride=(8, 1, 1),
            head_pool_kernel_sizes=((4, 7, 7), (32, 7, 7)),
            **kw,
        )
    if not hasattr(hub, arch):
        sys.exit(f"variants_eager.py: pytorchvideo.models.hub has no builder `{arch}`")
    return getattr(hub, arch)(pretrained=False, **kw)


def randomise(model, seed):
    """Seeded random weights: He-normal convs and linears (PyTorchVideo's own init), every BN
    randomised; a residual branch's last BN stays small, as PyTorchVideo's zero init intends."""
    gen = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)

    def u(t, lo, hi):
        t.copy_(torch.rand(t.shape, generator=gen) * (hi - lo) + lo)

    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.BatchNorm3d):
                final = getattr(m, "block_final_bn", False)
                u(m.weight, *((0.1, 0.4) if final else (0.5, 1.5)))
                u(m.bias, -0.2, 0.2)
                u(m.running_mean, -0.2, 0.2)
                u(m.running_var, 0.5, 1.5)
            elif isinstance(m, (nn.Conv3d, nn.Linear)) and m.bias is not None:
                u(m.bias, -0.1, 0.1)
        # Logits of a few units, so that softmax is neither flat nor one-hot.
        proj = head(model).proj
        proj.weight.mul_(5.0)


def head(model):
    return model.blocks[-1]


class Fp32AvgPool(nn.Module):
    """avg_pool3d in float32 for a bfloat16 input, cast back (bf16-cast's one fallback)."""

    def __init__(self, pool):
        super().__init__()
        self.pool = pool

    def forward(self, x):
        return self.pool(x.float()).to(x.dtype)


def replace(model, name, new):
    parent, _, leaf = name.rpartition(".")
    setattr(model.get_submodule(parent) if parent else model, leaf, new)


def fold_bn(model, example):
    """Folds every BN fed directly by a conv; returns (folded, left) module names."""
    names = {m: n for n, m in model.named_modules()}
    last = {}
    pairs = []
    hooks = []
    for m in model.modules():
        if isinstance(m, nn.Conv3d):
            hooks.append(m.register_forward_hook(lambda mod, i, o: last.update(conv=(mod, o))))
        elif isinstance(m, nn.BatchNorm3d):
            def pre(mod, inputs):
                conv = last.pop("conv", None)
                pairs.append((conv[0] if conv and inputs[0] is conv[1] else None, mod))
            hooks.append(m.register_forward_pre_hook(pre))
    with torch.no_grad():
        model(example())
    for h in hooks:
        h.remove()
    folded, left = [], []
    for conv, bn in pairs:
        if conv is None:
            left.append(names[bn])
            continue
        replace(model, names[conv], nn.utils.fusion.fuse_conv_bn_eval(conv, bn))
        replace(model, names[bn], nn.Identity())
        folded.append((names[conv], names[bn]))
    return folded, left


class Runner:
    """A model converted to one variant, and how to call it."""

    def __init__(self, model, variant, example):
        self.variant = variant
        self.model = copy.deepcopy(model)
        self.note = ""
        if variant == "bf16-cast":
            pools = [n for n, m in self.model.named_modules() if isinstance(m, nn.AvgPool3d)]
            for n in pools:
                replace(self.model, n, Fp32AvgPool(self.model.get_submodule(n)))
            self.model.to(torch.bfloat16)
            self.note = "float32 in " + ", ".join(f"avg_pool3d at {n}" for n in pools)
        elif variant == "channels-last":
            self.model.to(memory_format=torch.channels_last_3d)
        elif variant == "folded-bn":
            folded, left = fold_bn(self.model, example)
            self.note = f"{len(folded)} of {len(folded) + len(left)} BatchNorms folded"
        elif variant not in ("fp32", "bf16"):
            sys.exit(f"variants_eager.py: unknown variant `{variant}`; known: {', '.join(VARIANTS)}")

    def prepare(self, x):
        if self.variant == "bf16-cast":
            return x.to(torch.bfloat16)
        if self.variant == "channels-last":
            return x.to(memory_format=torch.channels_last_3d)
        return x

    def __call__(self, inputs):
        """Scores and logits (the projection averaged over its positions), float32."""
        seen = {}
        hook = head(self.model).proj.register_forward_hook(lambda m, i, o: seen.update(out=o))
        ctx = (torch.autocast("cpu", dtype=torch.bfloat16) if self.variant == "bf16"
               else torch.autocast("cpu", enabled=False))
        with torch.no_grad(), ctx:
            # MultiPathWayWithFuse overwrites its input list in place: always a fresh list.
            x = [self.prepare(t) for t in inputs] if len(inputs) == 2 else self.prepare(inputs[0])
            scores = self.model(x)
            logits = seen["out"]
            if logits.dim() == 5:  # [B, T, H, W, C]: several head positions
                logits = nn.AdaptiveAvgPool3d(1)(logits.permute((0, 4, 1, 2, 3)))
                logits = logits.view(logits.shape[0], -1)
        hook.remove()
        return scores.float(), logits.float()


def set_head_pools(model, arch, spec):
    """`--head-pools "T,H,W[;T,H,W]"`: parameterless head pools replaced (smaller test crops)."""
    kernels = [tuple(int(k) for k in part.split(",")) for part in spec.split(";")]
    if arch.startswith("slowfast"):
        for i, k in enumerate(kernels):
            model.blocks[-2].pool[i] = nn.AvgPool3d(k, stride=1)
    elif arch.startswith("x3d"):
        head(model).pool.pool = nn.AvgPool3d(kernels[0], stride=1)
    else:
        head(model).pool = nn.AvgPool3d(kernels[0], stride=1)


def load_model(a):
    torch.manual_seed(a.seed)  # the builders' own init, before `randomise`
    model = build(a.arch, a.classes, a.activation).eval()
    if a.head_pools:
        set_head_pools(model, a.arch, a.head_pools)
    if a.export_weights:
        randomise(model, a.seed)
        torch.save({"model_state": model.state_dict()}, a.export_weights)
    elif a.weights:
        sd = torch.load(a.weights, map_location="cpu", weights_only=True)
        model.load_state_dict(sd.get("model_state", sd), strict=True)
    else:
        sys.exit("variants_eager.py: give --weights W or --export-weights W")
    return model


def outputs(model, variants, views_file, out_file):
    v = load_file(views_file)
    inputs = [v["slow"], v["fast"]] if "slow" in v else [v["input"]]
    n = inputs[0].shape[0]
    example = lambda: [t[:1] for t in inputs] if len(inputs) == 2 else inputs[0][:1]
    tensors, notes = {}, {}
    for name in variants:
        run = Runner(model, name, example)
        rows = [run([t[i:i + 1] for t in inputs]) for i in range(n)]
        tensors[f"{name}.scores"] = torch.cat([r[0] for r in rows]).contiguous()
        tensors[f"{name}.logits"] = torch.cat([r[1] for r in rows]).contiguous()
        notes[name] = run.note
    save_file(tensors, out_file, metadata={"notes": json.dumps(notes)})


def timing(model, variants, a):
    torch.set_num_threads(a.threads)
    shape = lambda t: (1, 3, t, a.crop, a.crop)
    inputs = ([torch.randn(shape(a.frames)), torch.randn(shape(a.frames * a.alpha))] if a.alpha
              else [torch.randn(shape(a.frames))])
    example = lambda: list(inputs) if len(inputs) == 2 else inputs[0]
    base = Runner(model, "fp32", example)
    rows = []
    for name in [v for v in variants if v != "fp32"]:
        run = Runner(model, name, example)

        def times(r, k):
            ms = []
            for _ in range(k):
                t0 = time.perf_counter()
                r(list(inputs))
                ms.append((time.perf_counter() - t0) * 1e3)
            return ms

        times(base, 1), times(run, 1)  # warm-up
        f, v = [], []
        for i in range(a.rounds):
            if i % 2 == 0:
                f += times(base, a.per_round)
                v += times(run, a.per_round)
            else:
                v += times(run, a.per_round)
                f += times(base, a.per_round)
        med = lambda x: float(torch.tensor(x).median())
        row = {"arch": a.arch, "variant": name, "threads": torch.get_num_threads(),
               "fp32_median_ms": med(f), "variant_median_ms": med(v),
               "speedup": med(f) / med(v), "loadavg_1m": os.getloadavg()[0],
               "rounds": a.rounds, "per_round": a.per_round, "note": run.note,
               "fp32_ms": f, "variant_ms": v}
        print(json.dumps({k: x for k, x in row.items() if not k.endswith("_ms")}), flush=True)
        rows.append(row)
    if a.json:
        with open(a.json, "w") as fh:
            json.dump(rows, fh, indent=1)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--arch", required=True)
    p.add_argument("--classes", type=int, default=400)
    p.add_argument("--activation", choices=sorted(ACT), default="softmax")
    p.add_argument("--weights")
    p.add_argument("--export-weights")
    p.add_argument("--seed", type=int, default=20240517)
    p.add_argument("--head-pools")
    p.add_argument("--variants", default=",".join(VARIANTS))
    p.add_argument("--views")
    p.add_argument("--outputs")
    p.add_argument("--time", action="store_true")
    p.add_argument("--frames", type=int)
    p.add_argument("--crop", type=int)
    p.add_argument("--alpha", type=int)
    p.add_argument("--threads", type=int, default=torch.get_num_threads())
    p.add_argument("--rounds", type=int, default=6)
    p.add_argument("--per-round", type=int, default=2)
    p.add_argument("--json")
    a = p.parse_args()
    variants = [v for v in a.variants.split(",") if v]
    model = load_model(a)
    if a.views:
        outputs(model, variants, a.views, a.outputs)
    if a.time:
        timing(model, variants, a)


if __name__ == "__main__":
    main()
