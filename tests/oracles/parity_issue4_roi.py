"""RoIAlign oracle for issue 4: torchvision.ops.roi_align vs vbench_models::roi_align.

Usage: parity_issue4_roi.py OUT_DIR

Writes OUT_DIR/roi.safetensors (per case: "<case>.input", "<case>.boxes", "<case>.output") and
OUT_DIR/roi.json (the cases with their output size, spatial scale, sampling ratio, aligned).
Box sets cover boxes inside the map, on its borders, partly and fully outside, tiny, degenerate
and inverted ones, many boxes over several batch indices; every set runs under several
(output size, scale, sampling ratio, aligned) settings, including the AVA heads' own
((7, 7), 1/16, 0, False).
"""

import json
import sys
from pathlib import Path

import torch
from safetensors.torch import save_file
from torchvision.ops import roi_align

SEED = 20240504


def box_sets(gen, frame_h, frame_w, n):
    """Boxes in frame pixels (the detectors' input coordinates), per named set."""
    def rand(k, lo, hi):
        return torch.rand(k, generator=gen) * (hi - lo) + lo

    def rows(idx, x1, y1, x2, y2):
        return torch.stack([idx.float(), x1, y1, x2, y2], 1)

    k = 12
    x1, y1 = rand(k, 0, frame_w * 0.6), rand(k, 0, frame_h * 0.6)
    inside = rows(torch.arange(k) % n, x1, y1, x1 + rand(k, 8, frame_w * 0.4), y1 + rand(k, 8, frame_h * 0.4))
    w, h = float(frame_w), float(frame_h)
    borders = torch.tensor([
        [0, 0, 0, w, h],            # the whole frame
        [0, 0, 0, 16, 16],          # top-left cell
        [1, w - 16, h - 16, w, h],  # bottom-right cell, ends on the border
        [1, 0, h - 1, w, h],        # the last row
        [0, w - 1, 0, w, h],        # the last column
        [0, -16, -16, 0, 0],        # ends exactly on the origin (samples at -1 .. 0)
        [1, w, h, w + 16, h + 16],  # starts exactly on the far corner
    ])
    outside = torch.tensor([
        [0, -40, -30, 60, 50],              # partly outside, top-left
        [1, w - 50, h - 40, w + 70, h + 90],  # partly outside, bottom-right
        [0, -100, 20, -30, 80],             # fully left of the frame
        [1, 20, h + 40, 90, h + 200],       # fully below
        [0, -1000, -1000, 3 * w, 3 * h],    # much larger than the frame
        [1, -17, -17, -15, -15],            # fully outside, near the corner
    ])
    tiny = torch.tensor([
        [0, 40.3, 50.7, 40.4, 50.8],  # a tenth of a pixel
        [1, 33, 44, 33, 44],          # a point
        [0, 10, 10, 10, 90],          # zero width
        [1, 70, 20, 30, 60],          # inverted in x
        [0, 30, 80, 90, 20],          # inverted in both
        [1, 5.5, 6.25, 7.75, 9.0],    # smaller than one feature cell
    ])
    m = 300
    mx1, my1 = rand(m, -0.2 * frame_w, frame_w), rand(m, -0.2 * frame_h, frame_h)
    many = rows(torch.randint(0, n, (m,), generator=gen), mx1, my1,
                mx1 + rand(m, -5, frame_w * 0.7), my1 + rand(m, -5, frame_h * 0.7))
    return {"inside": inside, "borders": borders, "outside": outside, "tiny": tiny, "many": many}


# (output size, spatial scale, sampling ratio, aligned)
SETTINGS = [
    ((7, 7), 1 / 16, 0, False),   # the AVA heads
    ((7, 7), 1 / 16, 0, True),
    ((3, 5), 1 / 16, 2, False),
    ((3, 5), 1 / 16, -1, True),
    ((1, 1), 1 / 16, 1, False),
    ((4, 4), 0.5, 0, False),
    ((2, 3), 1.0, 3, True),
]


def main(out):
    out.mkdir(parents=True, exist_ok=True)
    gen = torch.Generator().manual_seed(SEED)
    n, c, frame_h, frame_w = 2, 6, 160, 224
    tensors, cases = {}, []
    for dtype in (torch.float32, torch.float64):
        sets = box_sets(gen, frame_h, frame_w, n)
        if dtype == torch.float64:
            sets = {"many": sets["many"], "outside": sets["outside"]}
        for set_name, all_boxes in sets.items():
            all_boxes = all_boxes.to(dtype)
            for i, (size, scale, ratio, aligned) in enumerate(SETTINGS):
                boxes = all_boxes
                if aligned and ratio <= 0:
                    # torchvision sizes an adaptive grid from the signed box size, and aborts
                    # ("cannot create std::vector larger than max_size()") on an inverted box
                    # when aligned; vbench refuses those (tested on the Rust side).
                    boxes = boxes[(boxes[:, 3] >= boxes[:, 1]) & (boxes[:, 4] >= boxes[:, 2])]
                # The feature map the frame scales to (10 x 14 at the AVA heads' 1/16).
                fh, fw = max(1, int(frame_h * scale)), max(1, int(frame_w * scale))
                x = torch.randn(n, c, fh, fw, generator=gen, dtype=torch.float64).to(dtype)
                y = roi_align(x, boxes, output_size=size, spatial_scale=scale,
                              sampling_ratio=ratio, aligned=aligned)
                name = f"{set_name}_{str(dtype)[6:]}_{i}"
                tensors[f"{name}.input"] = x.contiguous()
                tensors[f"{name}.boxes"] = boxes.clone()
                tensors[f"{name}.output"] = y.contiguous()
                cases.append({"id": name, "output_size": list(size), "spatial_scale": scale,
                              "sampling_ratio": ratio, "aligned": aligned,
                              "boxes": boxes.shape[0]})
    save_file(tensors, str(out / "roi.safetensors"))
    (out / "roi.json").write_text(json.dumps(cases, indent=1))


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    main(Path(sys.argv[1]))
