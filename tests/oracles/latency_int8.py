"""int8 oracle for issue 8: an efficient X3D-XS quantized for QNNPACK, as TorchScript.

Usage: latency_int8.py OUT_DIR

What the published `x3d_xs_efficient_converted_qnnpack.pt` is, rebuilt here without downloading it:
PyTorchVideo's efficient_x3d_xs (random init) → convert_to_deployable_form → eager post-training
quantization for qnnpack (QuantStub/DeQuantStub around the model, calibrated on a random
clip) → torch.jit.trace. Writes into OUT_DIR:
  xs_int8.pt            the TorchScript module;
  io.safetensors        "input" [1, 3, 4, 160, 160] and the module's "output" for it.
"""

import os
import sys
import warnings

import torch
import torch.nn as nn
from safetensors.torch import save_file

from pytorchvideo.accelerator.deployment.mobile_cpu.utils.model_conversion import (
    convert_to_deployable_form,
)
from pytorchvideo.models.hub import efficient_x3d_xs

warnings.filterwarnings("ignore")


class Quantized(nn.Module):
    def __init__(self, model):
        super().__init__()
        self.quant = torch.ao.quantization.QuantStub()
        self.model = model
        self.dequant = torch.ao.quantization.DeQuantStub()

    def forward(self, x):
        return self.dequant(self.model(self.quant(x)))


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    torch.manual_seed(8)
    torch.backends.quantized.engine = "qnnpack"
    x = torch.randn(1, 3, 4, 160, 160)
    deployable = convert_to_deployable_form(efficient_x3d_xs(pretrained=False).eval(), x)
    q = Quantized(deployable).eval()
    # qnnpack's default qconfig with min/max activation observers: the default histogram observer
    # gives other scales, not other kernels, and takes half a minute to calibrate.
    q.qconfig = torch.ao.quantization.QConfig(
        activation=torch.ao.quantization.MinMaxObserver.with_args(reduce_range=False),
        weight=torch.ao.quantization.default_weight_observer,
    )
    prepared = torch.ao.quantization.prepare(q)
    with torch.no_grad():
        prepared(torch.randn(1, 3, 4, 160, 160))
    int8 = torch.ao.quantization.convert(prepared)
    with torch.no_grad():
        traced = torch.jit.trace(int8, x, check_trace=False)
        y = traced(x)
    traced.save(os.path.join(out, "xs_int8.pt"))
    save_file({"input": x, "output": y.contiguous()}, os.path.join(out, "io.safetensors"))


if __name__ == "__main__":
    main()
