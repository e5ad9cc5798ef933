"""PyTorch-eager side of the `vs_pytorch` bench: PyTorchVideo's model, timed one forward at a time.

Usage: pytorch_eager.py --arch A --classes N --activation softmax|sigmoid --frames T --crop S
                        [--alpha A] --batch B --threads N --out DIR

Builds `pytorchvideo.models.hub.<arch>(pretrained=False)` with the entry's head, in eval mode, and
writes into DIR what the Rust side needs to run the very same model on the very same input:
  model.pth            the state_dict (torch.save);
  io.safetensors       the input ("input", or "slow"/"fast") and this model's "scores" for it.
Then prints one JSON line {"ready": true, "pid": ...} and serves stdin, one command per line:
  run K                K timed forwards under torch.no_grad(); replies {"ms": [...]} (one line)
  quit                 exits
Only the forward is timed (time.perf_counter), as on the Rust side; pipes are outside the clock.
"""

import argparse
import json
import os
import sys
import time

import torch
import torch.nn as nn
from safetensors.torch import save_file

from pytorchvideo.models import hub

ACT = {"softmax": nn.Softmax, "sigmoid": nn.Sigmoid}


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--arch", required=True)
    p.add_argument("--classes", type=int, required=True)
    p.add_argument("--activation", choices=sorted(ACT), required=True)
    p.add_argument("--frames", type=int, required=True)
    p.add_argument("--crop", type=int, required=True)
    p.add_argument("--alpha", type=int)
    p.add_argument("--batch", type=int, default=1)
    p.add_argument("--threads", type=int, required=True)
    p.add_argument("--out", required=True)
    a = p.parse_args()

    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    if not hasattr(hub, a.arch):
        sys.exit(f"pytorch_eager.py: pytorchvideo.models.hub has no builder `{a.arch}`")
    model = getattr(hub, a.arch)(
        pretrained=False, model_num_class=a.classes, head_activation=ACT[a.activation]
    ).eval()

    shape = lambda t: (a.batch, 3, t, a.crop, a.crop)
    if a.alpha:
        x = [torch.randn(shape(a.frames)), torch.randn(shape(a.frames * a.alpha))]
        tensors = {"slow": x[0], "fast": x[1]}
    else:
        x = torch.randn(shape(a.frames))
        tensors = {"input": x}
    with torch.no_grad():
        scores = model(x)
    os.makedirs(a.out, exist_ok=True)
    torch.save(model.state_dict(), os.path.join(a.out, "model.pth"))
    tensors["scores"] = scores.contiguous()
    save_file(tensors, os.path.join(a.out, "io.safetensors"))
    reply({"ready": True, "pid": os.getpid(), "threads": torch.get_num_threads(),
           "torch": torch.__version__})

    for line in sys.stdin:
        cmd = line.split()
        if not cmd or cmd[0] == "quit":
            break
        if cmd[0] != "run" or len(cmd) != 2:
            sys.exit(f"pytorch_eager.py: unknown command {line!r}")
        ms = []
        for _ in range(int(cmd[1])):
            t0 = time.perf_counter()
            with torch.no_grad():
                model(x)
            ms.append((time.perf_counter() - t0) * 1e3)
        reply({"ms": ms})


def reply(obj):
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
