"""Oracle for harness/vbench-torch-ext's module tests: small TorchScript files and their truths.

Usage: torchext_small.py OUT_DIR

Writes into OUT_DIR (random weights, BatchNorm randomised) and prints one JSON object:
  gated.pt         torch.jit.script of Gated: a data-dependent branch, a shape-dependent while
                   loop, a ModuleList loop. io_gated.safetensors: inputs "pos" and "neg" (each
                   takes one branch) and the eager module's outputs "out_pos", "out_neg".
                   The branch is decided by bool(x.sum() > 0): only Python consumes that sum,
                   so fvcore's trace of the eager module drops it; the scripted graph runs it.
                   JSON "gated": params, and per input fvcore's eval/train by_operator and
                   eval unsupported_ops of the *eager* module.
  all_ops.pt       torch.jit.trace of AllOps: one of every op fvcore has a handle for (conv
                   transposed, group/instance/layer/batch norm without affine, both 2-D
                   upsamplings, grid_sampler, adaptive_avg_pool2d, bmm, mm, addmm, matmul,
                   three einsums). JSON "all_ops": fvcore's eval/train by_operator and eval
                   unsupported_ops of the eager module; io_all_ops.safetensors: "input".
  plain.pt         torch.jit.trace of Plain (conv3d with bias, LayerNorm, Linear: no buffers).
  plain_frozen.pt  torch.jit.freeze of it. JSON "plain": params.
  pair.pt          scripted, forward(xs: List[Tensor]); clip_boxes.pt traced, forward(clip, boxes).
                   io_inputs.safetensors: "slow", "fast", "clip", "boxes", "out_pair",
                   "out_clip_boxes".
  cuda_constant.pt scripted, moves its input to torch.device("cuda") (a device constant).
  cuda_runtime.pt  scripted, picks "cuda" at run time (no device constant to find at load).
  tuple.pt         scripted, returns a tuple.
  roi_align.pt     scripted, calls torchvision::roi_align (a custom C++ operator).
  state_dict.pth   torch.save of a state_dict: a zip, not TorchScript.
"""

import copy
import json
import sys
from pathlib import Path
from typing import List, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F
import torchvision
from fvcore.nn import FlopCountAnalysis
from safetensors.torch import save_file

SEED = 20240917


class Gated(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = nn.Conv3d(3, 8, (1, 3, 3), padding=(0, 1, 1))
        self.bn = nn.BatchNorm3d(8)
        self.blocks = nn.ModuleList(nn.Conv3d(8, 8, (3, 1, 1), padding=(1, 0, 0)) for _ in range(2))
        self.up = nn.Linear(8, 16)
        self.norm = nn.LayerNorm(16)
        self.head = nn.Linear(16, 5)

    def forward(self, x):
        positive = bool(x.sum() > 0)
        x = torch.relu(self.bn(self.stem(x)))
        for block in self.blocks:
            x = x + block(x)
        t = x.size(2)
        while t > 2:
            x = F.avg_pool3d(x, (2, 1, 1))
            t = t // 2
        if positive:
            x = self.norm(self.up(x.mean(dim=(2, 3, 4))))
        else:
            x = self.up(x.amax(dim=(2, 3, 4)))
        return self.head(x)


class AllOps(nn.Module):
    def __init__(self):
        super().__init__()
        self.up = nn.ConvTranspose3d(4, 4, 2, stride=2)
        self.gn = nn.GroupNorm(2, 4)
        self.inorm = nn.InstanceNorm3d(4, affine=True)
        self.bn = nn.BatchNorm3d(4, affine=False)
        self.w = nn.Parameter(torch.randn(8, 6))
        self.b = nn.Parameter(torch.randn(6))
        self.proj = nn.Parameter(torch.randn(16, 3))

    def forward(self, x):  # [1, 4, 4, 8, 8]
        x = self.bn(self.inorm(self.gn(self.up(x))))  # [1, 4, 8, 16, 16]
        f = x.flatten(0, 1)  # [4, 8, 16, 16]
        f = F.interpolate(f, scale_factor=2.0, mode="bilinear", align_corners=False)
        f = F.interpolate(f, size=(8, 8), mode="nearest")
        grid = torch.tanh(f[:, :2].permute(0, 2, 3, 1))
        g = F.adaptive_avg_pool2d(F.grid_sample(f, grid, align_corners=False), 4)
        t = F.layer_norm(g, (4,)).flatten(2)  # [4, 8, 16]
        a = torch.bmm(t, t.transpose(1, 2))  # [4, 8, 8]
        e = torch.einsum("nct,ncp->ntp", t, t).mean() + torch.einsum("ntg,ncg->nct", t, t).mean()
        e = e + torch.einsum("bij,jk->bik", t, self.proj).mean()
        v = torch.matmul(a, t).flatten(1)[:, :8]  # [4, 8]
        return torch.mm(v, self.w) + torch.addmm(self.b, v, self.w) + e


class Plain(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv3d(3, 6, (3, 3, 3), padding=1)
        self.norm = nn.LayerNorm(6)
        self.fc = nn.Linear(6, 4)

    def forward(self, x):
        return self.fc(self.norm(self.conv(x).mean(dim=(2, 3, 4))))


class Pair(nn.Module):
    def __init__(self):
        super().__init__()
        self.slow = nn.Conv3d(3, 4, 1)
        self.fast = nn.Conv3d(3, 4, 1)

    def forward(self, xs: List[torch.Tensor]):
        return self.slow(xs[0]).mean(dim=(2, 3, 4)) + self.fast(xs[1]).mean(dim=(2, 3, 4))


class ClipBoxes(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv3d(3, 4, 1)

    def forward(self, clip, boxes):
        return self.conv(clip).mean(dim=(2, 3, 4)) * boxes[:, 1:].sum(dim=1, keepdim=True)


class CudaConstant(nn.Module):
    def forward(self, x):
        return x.to(torch.device("cuda"))


class CudaRuntime(nn.Module):
    def forward(self, x):
        dev = "cuda" if x.dim() == 5 else "cpu"
        return x.to(torch.device(dev)) * 2


class RoiAlign(nn.Module):
    def forward(self, x, boxes):
        return torchvision.ops.roi_align(x, boxes, 2)


class Tuple2(nn.Module):
    def forward(self, x) -> Tuple[torch.Tensor, torch.Tensor]:
        return x, x


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
    return {k: int(v) for k, v in fca.by_operator().items()}, dict(fca.unsupported_ops())


def params(m):
    return sum(p.numel() for p in m.parameters())


def gated(out, gen):
    model = Gated()
    randomise_bn(model, gen)
    model.eval()
    torch.jit.script(model).save(str(out / "gated.pt"))
    xs = {"pos": torch.rand(1, 3, 8, 12, 12, generator=gen)}
    xs["neg"] = -torch.rand(1, 3, 8, 12, 12, generator=gen)
    res, io = {"params": params(model)}, dict(xs)
    with torch.no_grad():
        for name, x in xs.items():
            io["out_" + name] = model(x)
        # train() forwards update BatchNorm's running stats: a copy counts in train mode.
        trained = copy.deepcopy(model).train()
        for name, x in xs.items():
            ev, unsupported = fvcore(model, x)
            tr, _ = fvcore(trained, x)
            res[name] = {"eval": ev, "train": tr, "unsupported": unsupported}
    save_file(io, str(out / "io_gated.safetensors"))
    return res


def main():
    out = Path(sys.argv[1])
    torch.set_num_threads(1)
    torch.manual_seed(SEED)
    gen = torch.Generator().manual_seed(SEED)
    res = {"gated": gated(out, gen)}

    all_ops = AllOps().eval()
    x = torch.rand(1, 4, 4, 8, 8, generator=gen)
    with torch.no_grad():
        torch.jit.trace(all_ops, x).save(str(out / "all_ops.pt"))
        ev, unsupported = fvcore(all_ops, x)
        tr, _ = fvcore(copy.deepcopy(all_ops).train(), x)
    res["all_ops"] = {"eval": ev, "train": tr, "unsupported": unsupported}
    save_file({"input": x}, str(out / "io_all_ops.safetensors"))

    plain = Plain().eval()
    x = torch.rand(1, 3, 4, 8, 8, generator=gen)
    with torch.no_grad():
        traced = torch.jit.trace(plain, x)
    traced.save(str(out / "plain.pt"))
    torch.jit.freeze(traced).save(str(out / "plain_frozen.pt"))
    res["plain"] = {"params": params(plain)}

    pair, clip_boxes = Pair().eval(), ClipBoxes().eval()
    io = {
        "slow": torch.rand(1, 3, 2, 8, 8, generator=gen),
        "fast": torch.rand(1, 3, 8, 8, 8, generator=gen),
        "clip": torch.rand(1, 3, 4, 8, 8, generator=gen),
        "boxes": torch.tensor([[0.0, 1.0, 2.0, 5.0, 6.0], [0.0, 0.0, 0.0, 8.0, 8.0]]),
    }
    torch.jit.script(pair).save(str(out / "pair.pt"))
    with torch.no_grad():
        io["out_pair"] = pair([io["slow"], io["fast"]])
        io["out_clip_boxes"] = clip_boxes(io["clip"], io["boxes"])
        torch.jit.trace(clip_boxes, (io["clip"], io["boxes"])).save(str(out / "clip_boxes.pt"))
    save_file(io, str(out / "io_inputs.safetensors"))

    torch.jit.script(CudaConstant()).save(str(out / "cuda_constant.pt"))
    torch.jit.script(CudaRuntime()).save(str(out / "cuda_runtime.pt"))
    torch.jit.script(Tuple2()).save(str(out / "tuple.pt"))
    torch.jit.script(RoiAlign()).save(str(out / "roi_align.pt"))
    torch.save(plain.state_dict(), str(out / "state_dict.pth"))
    json.dump(res, sys.stdout)


if __name__ == "__main__":
    main()
