"""Parity oracle for issue 4: MViT-B, the AVA detectors and efficient X3D vs vbench-models.

Usage: parity_issue4.py OUT_DIR

Builds each entry with PyTorchVideo's hub builder (pretrained=False), randomises what its init
leaves trivial (every BatchNorm, layer-norm affines, position embeddings, biases), and writes into
OUT_DIR:
  <model>.pyth          the zoo format: {"model_state": state_dict}, a bare state_dict for
                        efficient X3D (the accelerator zoo's "original form" files);
  <case>.safetensors    inputs ("input", or "slow"/"fast"; "boxes" for detectors) and expected
                        "scores" / "pre_activation" (and "deploy_*" for efficient X3D: the output of
                        `convert_to_deployable_form(model, input)` on the same input);
  manifest.json         models (param counts), cases.
MViT runs at its only valid input (16 or 32 frames of 224², batch 1: its position embeddings are
sized for it), ~25 s of the ~40 s this takes on 2 cores. The detectors run at a reduced
160x192 frame (nothing in them is sized for the frame), with real clip lengths.
"""

import json
import sys
from pathlib import Path

import torch
import torch.nn as nn
from safetensors.torch import save_file

from pytorchvideo.accelerator.deployment.mobile_cpu.utils.model_conversion import (
    convert_to_deployable_form,
)
from pytorchvideo.models import hub

SEED = 20240505


def u(t, gen, lo, hi):
    t.copy_(torch.rand(t.shape, generator=gen) * (hi - lo) + lo)


def randomise(model, gen, proj):
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.BatchNorm3d):
                final = getattr(m, "block_final_bn", False)
                u(m.weight, gen, *((0.1, 0.4) if final else (0.5, 1.5)))
                u(m.bias, gen, -0.2, 0.2)
                u(m.running_mean, gen, -0.2, 0.2)
                u(m.running_var, gen, 0.5, 1.5)
                m.num_batches_tracked.fill_(7)
            elif isinstance(m, nn.LayerNorm):
                u(m.weight, gen, 0.5, 1.5)
                u(m.bias, gen, -0.2, 0.2)
            elif isinstance(m, (nn.Conv3d, nn.Linear)) and m.bias is not None:
                u(m.bias, gen, -0.1, 0.1)
        for name, p in model.named_parameters():
            if "pos_embed" in name or "cls_token" in name:
                p.copy_(torch.randn(p.shape, generator=gen) * 0.5)
        # Logits of a few units, so that softmax / sigmoid are neither flat nor saturated.
        proj.weight.mul_(proj.gain)


def hook(module):
    seen = {}
    handle = module.register_forward_hook(lambda m, i, o: seen.update(out=o))
    return seen, handle


def mvit(model_id, arch, frames, gen, out, manifest):
    model = getattr(hub, arch)(pretrained=False, head_num_classes=400,
                               head_activation=nn.Softmax).eval()
    proj = model.head.proj
    proj.gain = 8.0
    finish_model(model, model_id, arch, gen, out, manifest, proj, bare=False)
    x = torch.randn(1, 3, frames, 224, 224, generator=gen)
    seen, handle = hook(proj)
    with torch.no_grad():
        scores = model(x)
    handle.remove()
    write_case(out, manifest, f"{model_id}_224", model_id,
               {"input": x, "scores": scores, "pre_activation": seen["out"]})


def detector(model_id, arch, gen, out, manifest):
    model = getattr(hub, arch)(pretrained=False).eval()  # 80 classes, sigmoid
    proj = model.detection_head.proj
    proj.gain = 4.0
    finish_model(model, model_id, arch, gen, out, manifest, proj, bare=False)
    h, w = 160, 192
    slowfast = arch.startswith("slowfast")
    batch = 1 if slowfast else 2
    if slowfast:
        fast = torch.randn(batch, 3, 32, h, w, generator=gen)
        inputs = {"slow": fast[:, :, ::4].contiguous(), "fast": fast}
    else:
        inputs = {"input": torch.randn(batch, 3, 4, h, w, generator=gen)}
    # Person boxes in input pixels: typical ones, one on the frame border, one partly outside,
    # one smaller than a feature cell.
    boxes = torch.tensor([
        [0, 20.5, 10.0, 90.0, 150.0],
        [0, 100.0, 30.0, 180.0, 158.0],
        [0, 0.0, 0.0, float(w), float(h)],
        [0, -30.0, 120.0, 40.0, 200.0],
        [0, 60.0, 60.0, 66.0, 63.0],
    ] + ([] if slowfast else [[1, 10.0, 10.0, 170.0, 140.0], [1, 150.0, 5.0, 191.0, 90.0]]))
    seen, handle = hook(proj)
    with torch.no_grad():
        clips = [inputs["slow"], inputs["fast"]] if slowfast else inputs["input"]
        scores = model(clips, boxes)
    handle.remove()
    pre = seen["out"].reshape(boxes.shape[0], -1)
    write_case(out, manifest, f"{model_id}_{h}x{w}", model_id,
               {**inputs, "boxes": boxes, "scores": scores, "pre_activation": pre})


def efficient(model_id, arch, sizes, gen, out, manifest):
    model = getattr(hub, arch)(pretrained=False).eval()  # head_act "identity": logits
    proj = model.projection.model
    proj.gain = 8.0
    finish_model(model, model_id, arch, gen, out, manifest, proj, bare=True)
    for frames, h, w in sizes:
        x = torch.randn(1, 3, frames, h, w, generator=gen)
        with torch.no_grad():
            logits = model(x)
            deploy = convert_to_deployable_form(model, x)
            deploy_logits = deploy(x)
        dparams = sum(p.numel() for p in deploy.parameters())
        # The harness's softmax goes where head_act is, before the mean over positions; the
        # global pool leaves one position, so it is the softmax of the logits.
        write_case(out, manifest, f"{model_id}_{frames}x{h}x{w}", model_id,
                   {"input": x, "pre_activation": logits, "scores": logits.softmax(1),
                    "deploy_pre_activation": deploy_logits,
                    "deploy_scores": deploy_logits.softmax(1)},
                   deploy_params=dparams)


def finish_model(model, model_id, arch, gen, out, manifest, proj, bare):
    params = sum(p.numel() for p in model.parameters())
    randomise(model, gen, proj)
    sd = model.state_dict()
    torch.save(sd if bare else {"model_state": sd}, out / f"{model_id}.pyth")
    # The head vbench builds: the detectors' 80 sigmoid classes, a softmax elsewhere.
    classes, act = (80, "sigmoid") if "detection" in arch else (400, "softmax")
    manifest["models"].append({"id": model_id, "arch": arch, "params": params, "keys": len(sd),
                               "num_classes": classes, "activation": act})


def write_case(out, manifest, case, model_id, tensors, **extra):
    save_file({k: v.contiguous() for k, v in tensors.items()}, str(out / f"{case}.safetensors"))
    manifest["cases"].append({"id": case, "model": model_id, **extra})
    print(f"{case}: {tuple(tensors['scores'].shape)}", file=sys.stderr, flush=True)


def main(out):
    out.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(SEED)
    gen = torch.Generator().manual_seed(SEED)
    manifest = {"models": [], "cases": []}
    efficient("efficient_x3d_xs", "efficient_x3d_xs", [(4, 160, 160), (4, 128, 96)], gen, out,
              manifest)
    efficient("efficient_x3d_s", "efficient_x3d_s", [(13, 160, 160)], gen, out, manifest)
    detector("ava_slow_r50_detection", "slow_r50_detection", gen, out, manifest)
    detector("ava_slowfast_r50_detection", "slowfast_r50_detection", gen, out, manifest)
    mvit("k400_mvit_base_16x4", "mvit_base_16x4", 16, gen, out, manifest)
    mvit("k400_mvit_base_32x3", "mvit_base_32x3", 32, gen, out, manifest)
    (out / "manifest.json").write_text(json.dumps(manifest, indent=1))


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    main(Path(sys.argv[1]))
