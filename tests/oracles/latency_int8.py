"""int8 oracle: an efficient X3D-XS quantized for QNNPACK, as TorchScript, and its fp32 weights.

Usage: latency_int8.py OUT_DIR

What the published `x3d_xs_efficient_converted_qnnpack.pt` is, rebuilt here without downloading it:
PyTorchVideo's efficient_x3d_xs (random init, every BatchNorm randomised, since PyTorchVideo
zero-inits the last BN of each residual branch) → convert_to_deployable_form → eager post-training
quantization for qnnpack (QuantStub/DeQuantStub around the model, calibrated on a random
clip) → torch.jit.trace. Writes into OUT_DIR:
  xs_int8.pt            the TorchScript module;
  io.safetensors        "input" [1, 3, 4, 160, 160] and the module's "output" for it;
  fp32.pyth             the original-form state_dict it was quantized from, as the published
                        efficient_x3d_xs_original_form.pyth holds it: `mobile/efficient_x3d_xs`
                        with these weights is the fp32 model of the int8 variant.
"""

import copy
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


def randomise(model):
    gen = torch.Generator().manual_seed(8)

    def u(t, lo, hi):
        t.copy_(torch.rand(t.shape, generator=gen) * (hi - lo) + lo)

    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.BatchNorm3d):
                u(m.weight, 0.5, 1.5)
                u(m.bias, -0.2, 0.2)
                u(m.running_mean, -0.2, 0.2)
                u(m.running_var, 0.5, 1.5)
        # Logits of a few units, so that softmax is neither flat nor one-hot.
        model.projection.model.weight.mul_(5.0)


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    torch.manual_seed(8)
    torch.backends.quantized.engine = "qnnpack"
    x = torch.randn(1, 3, 4, 160, 160)
    fp32 = efficient_x3d_xs(pretrained=False).eval()
    randomise(fp32)
    torch.save(fp32.state_dict(), os.path.join(out, "fp32.pyth"))
    deployable = convert_to_deployable_form(copy.deepcopy(fp32), x)
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
