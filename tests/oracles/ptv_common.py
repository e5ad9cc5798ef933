"""Shared by the PyTorchVideo oracles: the torchvision shim and PySlowFast's small test-transform helpers.

Importing this module installs the shim, so import it before anything from pytorchvideo.transforms.
"""

import sys
import types

# pytorchvideo.transforms imports torchvision.transforms.functional_tensor, which torchvision 0.28
# renamed to _functional_tensor. Alias it in sys.modules; never patch site-packages.
import torchvision.transforms._functional_tensor as _ft

_shim = types.ModuleType("torchvision.transforms.functional_tensor")
_shim.__dict__.update({k: v for k, v in _ft.__dict__.items() if not k.startswith("__")})
sys.modules["torchvision.transforms.functional_tensor"] = _shim

import torch  # noqa: E402


def div255(x):  # PySlowFast's utils
    return x / 255.0


def rgb2bgr(x):  # PySlowFast's ptv_datasets
    return x[[2, 1, 0], ...]


class PackPathway(torch.nn.Module):  # PySlowFast's ptv_datasets.PackPathway
    def __init__(self, alpha):
        super().__init__()
        self.alpha = alpha

    def forward(self, frames):
        if self.alpha is None:
            return [frames]
        slow = torch.index_select(
            frames, 1, torch.linspace(0, frames.shape[1] - 1, frames.shape[1] // self.alpha).long()
        )
        return [slow, frames]
