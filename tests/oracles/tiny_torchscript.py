"""Oracle for harness/vbench-models/tests/torchscript_backend.rs: small TorchScript files.

usage: tiny_torchscript.py OUT_DIR

  tiny.pt         conv3d + BatchNorm + ReLU + pool + linear, traced at [1, 3, 4, 182, 182], 5 classes
  tiny.frozen.pt  torch.jit.freeze of it (weights become graph constants)
  tiny_sigmoid.pt the same net ending in sigmoid (for head_activation = "none")
  pathways.pt     scripted, forward(List[Tensor]) over [slow, fast] (SlowFast layout), 5 classes
  strict16.pt     scripted, rejects any clip that is not 16 frames (as mvit_v2_s does)
  cuda.pt         scripted, allocates on "cuda" in forward (a model traced on a GPU)
  six.pt          traced like tiny.pt but 6 classes
and OUT_DIR/tiny.json: {"params", "frozen_constants", "input" (flattened [1, 3, 4, 182, 182]),
"logits": tiny.pt's Python module on that input}.
"""

import json
import sys
from pathlib import Path
from typing import List

import torch
import torch.nn as nn


class Tiny(nn.Module):
    def __init__(self, classes, final=None):
        super().__init__()
        self.conv = nn.Conv3d(3, 8, (1, 3, 3), stride=(1, 2, 2), padding=(0, 1, 1))
        self.bn = nn.BatchNorm3d(8)
        self.pool = nn.AdaptiveAvgPool3d(1)
        self.fc = nn.Linear(8, classes)
        self.final = final

    def forward(self, x):
        y = self.pool(torch.relu(self.bn(self.conv(x)))).flatten(1)
        y = self.fc(y)
        return y if self.final is None else self.final(y)


class Pathways(nn.Module):
    def __init__(self):
        super().__init__()
        self.slow = nn.Conv3d(3, 4, 1)
        self.fast = nn.Conv3d(3, 4, 1)
        self.fc = nn.Linear(8, 5)

    def forward(self, xs: List[torch.Tensor]):
        s = self.slow(xs[0]).mean(dim=[2, 3, 4])
        f = self.fast(xs[1]).mean(dim=[2, 3, 4])
        return self.fc(torch.cat([s, f], dim=1))


class Strict16(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(3, 5)

    def forward(self, x):
        torch._assert(x.shape[2] == 16, "expected 16 frames")
        return self.fc(x.mean(dim=[2, 3, 4]))


class Cuda(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(3, 5)

    def forward(self, x):
        return self.fc(x.mean(dim=[2, 3, 4]) + torch.zeros(1, device=torch.device("cuda")))


def randomise(m, gen):
    with torch.no_grad():
        for b in m.modules():
            if isinstance(b, nn.BatchNorm3d):
                b.weight.copy_(torch.rand(b.weight.shape, generator=gen) + 0.5)
                b.bias.copy_(torch.rand(b.bias.shape, generator=gen) - 0.5)
                b.running_mean.copy_(torch.rand(b.running_mean.shape, generator=gen) - 0.5)
                b.running_var.copy_(torch.rand(b.running_var.shape, generator=gen) + 0.5)


def main():
    out = Path(sys.argv[1])
    out.mkdir(parents=True, exist_ok=True)
    gen = torch.Generator().manual_seed(7)
    torch.manual_seed(7)
    x = torch.randn(1, 3, 4, 182, 182, generator=gen)
    tiny = Tiny(5)
    randomise(tiny, gen)
    tiny.eval()
    with torch.no_grad():
        traced = torch.jit.trace(tiny, x)
        traced.save(str(out / "tiny.pt"))
        frozen = torch.jit.freeze(traced)
        frozen.save(str(out / "tiny.frozen.pt"))
        sig = Tiny(5, nn.Sigmoid())
        sig.load_state_dict(tiny.state_dict())
        torch.jit.trace(sig.eval(), x).save(str(out / "tiny_sigmoid.pt"))
        torch.jit.trace(Tiny(6).eval(), x).save(str(out / "six.pt"))
        logits = tiny(x)
    torch.jit.script(Pathways()).save(str(out / "pathways.pt"))
    torch.jit.script(Strict16()).save(str(out / "strict16.pt"))
    torch.jit.script(Cuda()).save(str(out / "cuda.pt"))
    # What freeze kept: the floating-point tensor constants of the frozen forward graph.
    constants = 0
    for node in frozen.graph.nodes():
        if node.kind() == "prim::Constant" and node.output().type().kind() == "TensorType":
            t = node.output().toIValue()
            constants += t.numel() if t.is_floating_point() else 0
    (out / "tiny.json").write_text(
        json.dumps(
            {
                "params": sum(p.numel() for p in tiny.parameters()),
                "frozen_constants": constants,
                "input": x.flatten().tolist(),
                "logits": logits.flatten().tolist(),
            }
        )
    )


if __name__ == "__main__":
    main()
