"""Oracle for harness/vbench-torch-ext's TorchScript tests: torchvision video models as strangers.

Usage: torchext_zoo.py OUT_DIR MODEL FRAMES CROP [--freeze]

Builds torchvision's MODEL (random weights, every BatchNorm's weight, bias, running mean and var
randomised), in eval mode, on one 1x3xFRAMESxCROPxCROP input, and writes into OUT_DIR:
  model.pt            torch.jit.trace of the module on that input;
  frozen.pt           with --freeze: torch.jit.freeze of that trace (BatchNorm folded);
  io.safetensors      "input" and the Python module's "output";
and prints one JSON object:
  params              sum(p.numel() for p in model.parameters());
  eval, train         fvcore FlopCountAnalysis(model, (input,)).by_operator() with the model in
                      eval() / train() mode (train is eval's where the model has no BatchNorm:
                      batch_norm is fvcore's only mode-dependent handle, and what such a model
                      runs only in train mode, stochastic depth, has no handle);
  unsupported         fvcore's unsupported_ops() in eval mode, name -> count;
  frozen_constants    with --freeze: numel of the floating-point tensor constants of the frozen
                      graph, read through Python's graph API.
One thread: the test runs oracles beside each other.
"""

import json
import sys
import time
from pathlib import Path

import torch
import torch.nn as nn
import torchvision.models.video as tv_video
from fvcore.nn import FlopCountAnalysis
from safetensors.torch import save_file

SEED = 20240916


def randomise_bn(model, gen):
    for m in model.modules():
        if isinstance(m, nn.modules.batchnorm._BatchNorm):
            with torch.no_grad():
                c = m.num_features
                m.weight.copy_(torch.rand(c, generator=gen) + 0.5)
                m.bias.copy_(torch.randn(c, generator=gen) * 0.1)
                m.running_mean.copy_(torch.randn(c, generator=gen) * 0.1)
                m.running_var.copy_(torch.rand(c, generator=gen) + 0.5)


def fvcore(model, x):
    fca = FlopCountAnalysis(model, (x,))
    fca.unsupported_ops_warnings(False)
    fca.uncalled_modules_warnings(False)
    fca.tracer_warnings("none")
    by_op = {k: int(v) for k, v in fca.by_operator().items()}
    return by_op, dict(fca.unsupported_ops())


def frozen_constants(frozen):
    total = 0
    for node in frozen.graph.nodes():
        if node.kind() != "prim::Constant" or node.output().type().kind() != "TensorType":
            continue
        t = node.output().toIValue()
        if t is not None and (t.is_floating_point() or t.is_quantized):
            total += t.numel()
    return total


def main():
    out_dir, name, frames, crop = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    freeze = "--freeze" in sys.argv[5:]
    torch.set_num_threads(1)
    torch.manual_seed(SEED)
    gen = torch.Generator().manual_seed(SEED)
    t0 = time.perf_counter()
    model = getattr(tv_video, name)(weights=None)
    randomise_bn(model, gen)
    model.eval()
    x = torch.rand(1, 3, frames, crop, crop, generator=gen)
    res = {"params": sum(p.numel() for p in model.parameters())}
    with torch.no_grad():
        y = model(x)
        traced = torch.jit.trace(model, x, check_trace=False)
    traced.save(str(out_dir / "model.pt"))
    if freeze:
        frozen = torch.jit.freeze(traced)
        frozen.save(str(out_dir / "frozen.pt"))
        res["frozen_constants"] = frozen_constants(frozen)
    save_file({"input": x.contiguous(), "output": y.contiguous()}, str(out_dir / "io.safetensors"))
    with torch.no_grad():
        res["eval"], res["unsupported"] = fvcore(model, x)
        has_bn = any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in model.modules())
        if has_bn:
            model.train()
            res["train"], _ = fvcore(model, x)
        else:
            res["train"] = res["eval"]
    res["seconds"] = time.perf_counter() - t0
    json.dump(res, sys.stdout)


if __name__ == "__main__":
    main()
