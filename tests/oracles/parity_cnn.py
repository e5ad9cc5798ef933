"""Parity oracle for issue 3: PyTorchVideo 0.1.5's CNN zoo vs vbench-models.

Usage: parity_cnn.py OUT_DIR

Builds every CNN entry with PyTorchVideo (hub builders, or `create_*` where the zoo has none),
with the requested head (classes, softmax/sigmoid) the way PySlowFast's PTV wrappers set it,
randomises every BatchNorm (PyTorchVideo zero-inits the last BN of each residual branch, which
would hide most of the network), and writes into OUT_DIR:
  <model>.pyth          torch.save({"model_state": state_dict}), the official zoo format;
  <case>.safetensors    inputs ("input", or "slow"/"fast") and expected "scores"/"pre_activation";
  tampered.pyth         x3d_xs's state dict with a missing, an extra and a wrong-shape key;
  manifest.json         models (param counts), cases, and the tampered keys.
Small cases replace the parameterless head pools so that a reduced crop still leaves several
positions to average; two cases keep the real pools at test-crop size.
"""

import json
import sys
from pathlib import Path

import torch
import torch.nn as nn
from safetensors.torch import save_file

from pytorchvideo.models import hub
from pytorchvideo.models.resnet import create_resnet
from pytorchvideo.models.slowfast import create_slowfast

SEED = 20240503
PROJ_GAIN = 5.0
ACT = {"softmax": nn.Softmax, "sigmoid": nn.Sigmoid}


def build(arch, classes, act):
    kw = dict(model_num_class=classes, head_activation=ACT[act])
    if arch == "slow_r50_4x16":
        # slow_r50's hub arguments with the 4-frame head pool (no hub builder).
        return create_resnet(
            stem_conv_kernel_size=(1, 7, 7), head_pool_kernel_size=(4, 7, 7), model_depth=50, **kw
        )
    if arch == "slowfast_r50_4x16":
        # PySlowFast PTVSlowFast with SLOWFAST_4x16_R50.yaml: alpha 8, fusion kernel 5.
        return create_slowfast(
            model_depth=50,
            slowfast_fusion_conv_kernel_size=(5, 1, 1),
            slowfast_fusion_conv_stride=(8, 1, 1),
            head_pool_kernel_sizes=((4, 7, 7), (32, 7, 7)),
            **kw,
        )
    return getattr(hub, arch)(pretrained=False, **kw)


def randomise(model, gen):
    def u(t, lo, hi):
        t.copy_(torch.rand(t.shape, generator=gen) * (hi - lo) + lo)

    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.BatchNorm3d):
                # A residual branch's last BN stays small (PyTorchVideo zero-inits it), or the
                # sums double at every block and a R101 ends with logits of 1e8.
                final = getattr(m, "block_final_bn", False)
                u(m.weight, *((0.1, 0.4) if final else (0.5, 1.5)))
                u(m.bias, -0.2, 0.2)
                u(m.running_mean, -0.2, 0.2)
                u(m.running_var, 0.5, 1.5)
                m.num_batches_tracked.fill_(7)
            elif isinstance(m, (nn.Conv3d, nn.Linear)) and m.bias is not None:
                u(m.bias, -0.1, 0.1)
        # Logits of a few units, so that softmax is neither flat nor one-hot.
        proj = head_of(model).proj
        proj.weight.mul_(PROJ_GAIN)


def head_of(model):
    return model.blocks[-1]


def set_head_pools(model, arch, kernels):
    if kernels is None:
        return
    if arch.startswith("slowfast"):
        pools = model.blocks[-2].pool
        for i, k in enumerate(kernels):
            pools[i] = nn.AvgPool3d(k, stride=1)
    elif arch.startswith("x3d"):
        head_of(model).pool.pool = nn.AvgPool3d(kernels[0], stride=1)
    else:
        head_of(model).pool = nn.AvgPool3d(kernels[0], stride=(1, 1, 1))


def run(model, arch, inputs):
    """Scores, and the pre-activation logits averaged over head positions (hooked at `proj`)."""
    seen = {}
    hook = head_of(model).proj.register_forward_hook(lambda m, i, o: seen.update(out=o))
    with torch.no_grad():
        if arch.startswith("slowfast"):
            # MultiPathWayWithFuse overwrites its input list in place: always a fresh list.
            scores = model([inputs["slow"], inputs["fast"]])
        else:
            scores = model(inputs["input"])
        logits = seen["out"].permute((0, 4, 1, 2, 3))
        pre = nn.AdaptiveAvgPool3d(1)(logits).view(logits.shape[0], -1)
    hook.remove()
    return scores, pre


# (model id, arch, classes, activation, slow frames, alpha or None)
MODELS = [
    ("k400_c2d_r50", "c2d_r50", 400, "softmax", 8, None),
    ("k400_i3d_r50", "i3d_r50", 400, "softmax", 8, None),
    ("k400_slow_r50", "slow_r50", 400, "softmax", 8, None),
    ("k400_slow_r50_4x16", "slow_r50_4x16", 400, "softmax", 4, None),
    ("k400_slowfast_r50", "slowfast_r50", 400, "softmax", 8, 4),
    ("k400_slowfast_r50_4x16", "slowfast_r50_4x16", 400, "softmax", 4, 8),
    ("k400_slowfast_r101", "slowfast_r101", 400, "softmax", 8, 4),
    ("k400_slowfast_16x8_r101_50_50", "slowfast_16x8_r101_50_50", 400, "softmax", 16, 4),
    ("k400_csn_r101", "csn_r101", 400, "softmax", 32, None),
    ("k400_r2plus1d_r50", "r2plus1d_r50", 400, "softmax", 16, None),
    ("k400_x3d_xs", "x3d_xs", 400, "softmax", 4, None),
    ("k400_x3d_s", "x3d_s", 400, "softmax", 13, None),
    ("k400_x3d_m", "x3d_m", 400, "softmax", 16, None),
    ("k400_x3d_l", "x3d_l", 400, "softmax", 16, None),
    ("ssv2_slow_r50", "slow_r50", 174, "softmax", 8, None),
    ("ssv2_slowfast_r50", "slowfast_r50", 174, "softmax", 8, 4),
    ("charades_slow_r50", "slow_r50", 157, "sigmoid", 8, None),
    ("charades_slowfast_r50", "slowfast_r50", 157, "sigmoid", 8, 4),
]

# Head-output frames after the backbone's temporal strides (c2d/i3d halve T, CSN /8, R(2+1)D /4).
T_DIV = {"c2d_r50": 2, "i3d_r50": 2, "csn_r101": 8, "r2plus1d_r50": 4}

SMALL = 64  # 2x2 after stride 32; a (T,1,1) pool leaves 2x2 positions to average.
# Batch 2 where it is cheap; batch 1 elsewhere keeps the whole run within a few minutes on 2 cores.
BATCH2 = {"k400_c2d_r50", "k400_slow_r50_4x16", "k400_x3d_xs", "k400_slowfast_r50", "ssv2_slow_r50"}
# Extra cases at the test crop with the builders' own head pools: several positions survive them
# (2x2 for both), as in PySlowFast's fully convolutional test.
FULL = {"k400_slow_r50_4x16": 256, "k400_x3d_xs": 182}


def main(out):
    out.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(SEED)
    gen = torch.Generator().manual_seed(SEED)
    manifest = {"models": [], "cases": []}
    for model_id, arch, classes, act, frames, alpha in MODELS:
        model = build(arch, classes, act)
        params = sum(p.numel() for p in model.parameters())
        randomise(model, gen)
        model.eval()
        torch.save({"model_state": model.state_dict()}, out / f"{model_id}.pyth")
        if model_id == "k400_x3d_xs":
            write_tampered(model.state_dict(), out, manifest)
        manifest["models"].append(
            {"id": model_id, "arch": arch, "num_classes": classes, "activation": act,
             "params": params, "keys": len(model.state_dict())}
        )

        # The full-size case first: the small one replaces the head pools for good.
        sizes = [(FULL[model_id], 1, False)] if model_id in FULL else []
        sizes.append((SMALL, 2 if model_id in BATCH2 else 1, True))
        for crop, batch, small in sizes:
            t_head = frames // T_DIV.get(arch, 1)
            kernels = None
            if small:
                kernels = [[t_head, 1, 1]] + ([[frames * alpha, 1, 1]] if alpha else [])
            set_head_pools(model, arch, kernels)
            if alpha:
                fast = torch.randn(batch, 3, frames * alpha, crop, crop, generator=gen)
                inputs = {"slow": fast[:, :, ::alpha].contiguous(), "fast": fast}
            else:
                inputs = {"input": torch.randn(batch, 3, frames, crop, crop, generator=gen)}
            scores, pre = run(model, arch, inputs)
            case = f"{model_id}_{crop}"
            save_file({**inputs, "scores": scores.contiguous(), "pre_activation": pre.contiguous()},
                      str(out / f"{case}.safetensors"))
            manifest["cases"].append(
                {"id": case, "model": model_id, "crop": crop, "batch": batch,
                 "head_pool_kernel_sizes": kernels,
                 "max_abs_pre": pre.abs().max().item(), "max_score": scores.max().item()}
            )
            print(f"{case}: scores {tuple(scores.shape)} max {scores.max().item():.4f}, "
                  f"|pre| max {pre.abs().max().item():.3f}", file=sys.stderr, flush=True)
        del model
    (out / "manifest.json").write_text(json.dumps(manifest, indent=1))


def write_tampered(sd, out, manifest):
    sd = dict(sd)
    missing = "blocks.1.res_blocks.0.branch2.norm_b.1.block.0.bias"
    unexpected = "blocks.5.extra.weight"
    wrong = "blocks.5.proj.weight"
    del sd[missing]
    sd[unexpected] = torch.zeros(3)
    sd[wrong] = torch.zeros(10, sd[wrong].shape[1])
    torch.save({"model_state": sd}, out / "tampered.pyth")
    manifest["tampered"] = {"file": "tampered.pyth", "model": "k400_x3d_xs",
                            "missing": missing, "unexpected": unexpected, "wrong_shape": wrong}


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    main(Path(sys.argv[1]))
