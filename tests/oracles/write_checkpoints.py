"""Oracle for tests/checkpoint_loading.rs: writes torch.save checkpoints in every shape the Rust
reader must handle, each next to a safetensors dump of the same state_dict (contiguous copies),
plus files that must fail. Usage: write_checkpoints.py OUT_DIR. Writes OUT_DIR/manifest.json:
{"pairs": [{"ckpt", "safetensors", "keys"}]} with the state_dict keys in file order.
"""

import json
import pathlib
import sys
import zipfile

import torch
from safetensors.torch import save_file
from pytorchvideo.models.accelerator.mobile_cpu.efficient_x3d import create_x3d
from pytorchvideo.models.hub import x3d_xs

OUT = pathlib.Path(sys.argv[1])
OUT.mkdir(parents=True, exist_ok=True)
torch.manual_seed(3)
pairs = []


def randomize_bn(model):
    # PyTorchVideo zero-inits the last BN of every residual branch: randomise every BN.
    for m in model.modules():
        if isinstance(m, torch.nn.modules.batchnorm._BatchNorm):
            with torch.no_grad():
                m.weight.uniform_(0.5, 1.5)
                m.bias.normal_()
                m.running_mean.normal_()
                m.running_var.uniform_(0.5, 2.0)
                m.num_batches_tracked.fill_(int(torch.randint(1, 10000, ())))
    return model


def pair(name, obj, sd, **save_kwargs):
    """Saves `obj` as `name` and the tensors of `sd` as `<stem>.safetensors`."""
    torch.save(obj, OUT / name, **save_kwargs)
    st = pathlib.Path(name).stem + ".safetensors"
    save_file({k: v.detach().contiguous().clone() for k, v in sd.items()}, str(OUT / st))
    pairs.append({"ckpt": name, "safetensors": st, "keys": list(sd)})


# The official zoo layout (PySlowFast's save_checkpoint) around a real PyTorchVideo model, with a
# real SGD optimizer state (momentum buffers are tensors too) and non-weight odds and ends.
model = randomize_bn(x3d_xs(pretrained=False))
opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=5e-5)
for p in model.parameters():
    p.grad = torch.randn_like(p)
opt.step()
sd = model.state_dict()
extra = {
    "set": {1, 2},
    "bytes": b"\x00\x01",
    "big": 2**70,
    "neg": -300,
    "dtype": torch.float16,
    "device": torch.device("cpu"),
    "path": pathlib.PurePosixPath("/ckpt/x3d_xs.pyth"),
    "f8": torch.ones(2, dtype=torch.float8_e4m3fn),
}
official = {
    "epoch": 3,
    "model_state": sd,
    "optimizer_state": opt.state_dict(),
    "cfg": "MODEL:\n  ARCH: x3d\n  NUM_CLASSES: 400\nTRAIN:\n  BATCH_SIZE: 64\n",
    "scaler_state": None,
    "extra": extra,
}
pair("official_x3d_xs.pyth", official, sd)

# Efficient X3D (accelerator zoo): a bare state_dict.
bare = randomize_bn(create_x3d(num_classes=400, expansion="XS")).state_dict()
pair("bare_efficient_x3d_xs.pth", bare, bare)

# Views: transposed, permuted, sliced, strided, broadcast (stride 0), empty and scalar tensors,
# several of them sharing one storage.
base = torch.randn(4, 6)
views = {
    "base": base,
    "t": base.t(),
    "rows": base[1:3],
    "row3": base[3],
    "cols": base[:, ::2],
    "expand": torch.randn(3, 1).expand(3, 4),
    "perm": torch.randn(2, 3, 4).permute(2, 0, 1),
    "empty": torch.empty(0, 3),
    "scalar": torch.tensor(2.5),
}
pair("views.pt", views, views)

# Dtypes, with NaN, infinities and -0.0 in the float ones (bit-identical means bit-identical).
special = torch.tensor([float("nan"), float("inf"), float("-inf"), -0.0])
dtypes = {
    "f32": torch.cat([torch.randn(8), special]).reshape(3, 4),
    "f64": torch.cat([torch.randn(8, dtype=torch.float64), special.double()]).reshape(3, 4),
    "f16": torch.cat([torch.randn(8), special]).half().reshape(3, 4),
    "bf16": torch.cat([torch.randn(8), special]).bfloat16().reshape(3, 4),
    "i64": torch.randint(-(2**62), 2**62, (3, 4)),
    "i32": torch.randint(-(2**31), 2**31 - 1, (3, 4), dtype=torch.int32),
    "i16": torch.randint(-(2**15), 2**15 - 1, (3, 4), dtype=torch.int16),
    "i8": torch.randint(-128, 127, (3, 4), dtype=torch.int8),
    "u8": torch.randint(0, 255, (3, 4), dtype=torch.uint8),
    "bool": torch.rand(3, 4) > 0.5,
}
pair("dtypes.pt", dtypes, dtypes)
# float8 needs _rebuild_tensor_v3 and an untyped storage; tch's safetensors cannot read it, so the
# test compares it with its exact float32 value instead.
f8 = torch.randn(16).to(torch.float8_e4m3fn)
torch.save({"f8": f8, "f8_as_f32": f8.float()}, OUT / "float8.pt")

# Parameters (keep_vars) and a parameter carrying a Python attribute (rebuilt with state), under
# the "state_dict" wrapper; a "model" wrapper; pickle protocols 4 and 5.
small = torch.nn.Sequential(torch.nn.Conv3d(3, 4, (1, 3, 3)), torch.nn.BatchNorm3d(4), torch.nn.Linear(5, 2))
small[0].weight.tag = "conv"
params = small.state_dict(keep_vars=True)
pair("params.pth", {"state_dict": params, "epoch": 1}, params)
pair("model_wrapper.pth", {"model": small.state_dict(), "meta": {"arch": "small"}}, small.state_dict())
pair("protocol4.pt", small.state_dict(), small.state_dict(), pickle_protocol=4)
pair("protocol5.pt", small.state_dict(), small.state_dict(), pickle_protocol=5)

# Files that must fail with a typed error.
torch.save(small.state_dict(), OUT / "legacy.pt", _use_new_zipfile_serialization=False)
torch.save({"w": torch.tensor([1, 2]).to(torch.uint16)}, OUT / "uint16.pt")
torch.save({"epoch": 3, "cfg": "x"}, OUT / "no_state_dict.pt")
torch.save({"model_state": {"a": torch.ones(2), "b": 3}}, OUT / "non_tensor.pt")
with zipfile.ZipFile(OUT / "unrelated.pyth", "w") as z:
    z.writestr("readme.txt", "not a checkpoint")
    z.writestr("weights/w.bin", b"\x00" * 16)

(OUT / "manifest.json").write_text(json.dumps({"pairs": pairs}, indent=1))
