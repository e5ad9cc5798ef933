"""Oracle for harness/vbench-torch-ext's CPU autocast test: PyTorch eager under
torch.autocast("cpu", torch.bfloat16), one thread.

Usage: torchext_autocast.py OUT_DIR

Net: conv3d -> batch_norm -> relu -> avg_pool3d -> conv3d -> relu -> avg_pool3d -> flatten ->
linear (random weights, BatchNorm randomised, eval mode). Writes into OUT_DIR:
  net.safetensors   the weights by state_dict key, "input", and the outputs "fp32" (no autocast),
                    "bf16" (eager under autocast) and "traced_bf16" (net.pt under autocast);
  net.pt            torch.jit.trace of Net, traced in fp32 outside autocast.
"""

import sys
from pathlib import Path

import torch
import torch.nn as nn
from safetensors.torch import save_file

SEED = 20240918


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv3d(3, 16, 3, padding=1)
        self.bn = nn.BatchNorm3d(16)
        self.conv2 = nn.Conv3d(16, 32, (1, 3, 3), padding=(0, 1, 1), bias=False)
        self.fc = nn.Linear(32 * 2 * 4 * 4, 10)

    def forward(self, x):
        x = nn.functional.avg_pool3d(torch.relu(self.bn(self.conv1(x))), 2)
        x = nn.functional.avg_pool3d(torch.relu(self.conv2(x)), 2)
        return self.fc(x.flatten(1))


def main():
    out = Path(sys.argv[1])
    torch.set_num_threads(1)
    torch.manual_seed(SEED)
    gen = torch.Generator().manual_seed(SEED)
    net = Net()
    with torch.no_grad():
        net.bn.weight.copy_(torch.rand(16, generator=gen) + 0.5)
        net.bn.bias.copy_(torch.randn(16, generator=gen) * 0.1)
        net.bn.running_mean.copy_(torch.randn(16, generator=gen) * 0.1)
        net.bn.running_var.copy_(torch.rand(16, generator=gen) + 0.5)
    net.eval()
    x = torch.randn(2, 3, 8, 16, 16, generator=gen)
    tensors = {k: v.contiguous() for k, v in net.state_dict().items()}
    tensors["input"] = x
    with torch.no_grad():
        tensors["fp32"] = net(x)
        traced = torch.jit.trace(net, x)
        with torch.autocast("cpu", dtype=torch.bfloat16):
            tensors["bf16"] = net(x)
            tensors["traced_bf16"] = traced(x)
    traced.save(str(out / "net.pt"))
    save_file(tensors, str(out / "net.safetensors"))


if __name__ == "__main__":
    main()
