"""cv2.resize(INTER_LINEAR) oracle for tests/ava_cv_resize.rs (PySlowFast's AVA short-side scale).

usage: cv_resize.py VIDEOS_DIR OUTDIR

Builds uint8 HxWxC test images -- real BGR frames decoded with cv2.VideoCapture (brought to the
sizes AVA-style loaders meet with INTER_CUBIC, so the content stays natural), seeded noise, and
gradients/edges -- and resizes each with the venv's OpenCV exactly as
slowfast/datasets/cv2_transform.py `scale(size, image)` does (or to an explicit size). Writes
OUTDIR/<name>.in and OUTDIR/<name>.out (raw C-order bytes) and OUTDIR/manifest.json: a list of
{"name", "h", "w", "c", "new_h", "new_w", "scale"} where "scale" is the short side asked of
`scale` (null for an explicit size).
"""

import json
import math
import os
import sys

import cv2
import numpy as np


def pyslowfast_scale(size, image):
    """slowfast/datasets/cv2_transform.py `scale`, minus the final float32 cast."""
    height, width = image.shape[0], image.shape[1]
    if (width <= height and width == size) or (height <= width and height == size):
        return image
    new_width, new_height = size, size
    if width < height:
        new_height = int(math.floor((float(height) / width) * size))
    else:
        new_width = int(math.floor((float(width) / height) * size))
    return cv2.resize(image, (new_width, new_height), interpolation=cv2.INTER_LINEAR)


def frames(path, count):
    """`count` BGR frames spread over the video."""
    cap = cv2.VideoCapture(path)
    n = int(cap.get(cv2.CAP_PROP_FRAME_COUNT))
    want = {int(i * max(n - 1, 0) / max(count - 1, 1)) for i in range(count)}
    out, i = [], 0
    while len(out) < len(want):
        ok, frame = cap.read()
        if not ok:
            break
        if i in want:
            out.append(frame)
        i += 1
    cap.release()
    if not out:
        sys.exit(f"{path}: no frame decoded")
    return out


def gradient(h, w, c):
    y, x = np.mgrid[0:h, 0:w]
    chans = [
        (x * 255 // max(w - 1, 1)),
        (y * 255 // max(h - 1, 1)),
        ((x + y) * 7) % 256,
        np.where(((x // 3) + (y // 5)) % 2 == 0, 255, 0),  # sharp edges
    ]
    return np.stack(chans[:c], axis=-1).astype(np.uint8)


def main():
    videos, outdir = sys.argv[1], sys.argv[2]
    rng = np.random.default_rng(20240601)
    cases = []  # (name, image, scale or None, (new_h, new_w) or None)

    vid = lambda name: os.path.join(videos, name)  # noqa: E731
    real = {
        "short_avi": frames(vid("short.avi"), 3),  # 320x240
        "k400": frames(vid("k400_demo.mp4"), 3),  # 340x256
        "mobile1": frames(vid("mobile_demo_1.mp4"), 2),  # 452x256
        "mobile2": frames(vid("mobile_demo_2.mp4"), 2),  # 144x256 portrait
        "det": frames(vid("spatiotemporal_det_demo.mp4"), 2),  # 340x256
    }
    for key, imgs in real.items():
        for i, img in enumerate(imgs):
            cases.append((f"frame_{key}_{i}", img, 256, None))
    # Frame sizes AVA-style loaders meet (W x H), made from real frames.
    sizes = [(320, 240), (340, 256), (640, 360), (1280, 720), (480, 640), (1920, 1080),
             (100, 80), (257, 193), (512, 512)]
    base = real["k400"] + real["short_avi"]
    for j, (w, h) in enumerate(sizes):
        src = base[j % len(base)]
        img = cv2.resize(src, (w, h), interpolation=cv2.INTER_CUBIC)
        cases.append((f"frame_{w}x{h}", img, 256, None))
        cases.append((f"frame_{w}x{h}_gray", cv2.cvtColor(img, cv2.COLOR_BGR2GRAY)[..., None],
                      256, None))
        cases.append((f"noise_{w}x{h}", rng.integers(0, 256, (h, w, 3), dtype=np.uint8), 256,
                      None))
        cases.append((f"noise_{w}x{h}_c1", rng.integers(0, 256, (h, w, 1), dtype=np.uint8), 256,
                      None))
        cases.append((f"gradient_{w}x{h}", gradient(h, w, 3), 256, None))
    # Explicit sizes: every channel count, both axes up/down, exact halves and doubles, tiny.
    explicit = [
        ((240, 320), (256, 341)), ((512, 512), (256, 256)), ((64, 48), (32, 24)),
        ((80, 100), (160, 200)), ((193, 257), (97, 129)), ((7, 5), (3, 2)),
        ((1, 1), (4, 3)), ((3, 300), (1, 1)), ((17, 33), (40, 11)), ((720, 1280), (240, 427)),
    ]
    for (h, w), (nh, nw) in explicit:
        for c in (1, 2, 3, 4):
            img = rng.integers(0, 256, (h, w, c), dtype=np.uint8)
            cases.append((f"noise_{w}x{h}_to_{nw}x{nh}_c{c}", img, None, (nh, nw)))
            cases.append((f"gradient_{w}x{h}_to_{nw}x{nh}_c{c}", gradient(h, w, c), None,
                          (nh, nw)))

    manifest = []
    for name, img, size, target in cases:
        img = np.ascontiguousarray(img)
        h, w, c = img.shape
        if size is not None:
            out = pyslowfast_scale(size, img)
        else:
            out = cv2.resize(img, (target[1], target[0]), interpolation=cv2.INTER_LINEAR)
        out = np.ascontiguousarray(out.reshape(out.shape[0], out.shape[1], c))
        assert out.dtype == np.uint8
        img.tofile(os.path.join(outdir, name + ".in"))
        out.tofile(os.path.join(outdir, name + ".out"))
        manifest.append({"name": name, "h": h, "w": w, "c": c, "new_h": out.shape[0],
                         "new_w": out.shape[1], "scale": size})
    with open(os.path.join(outdir, "manifest.json"), "w") as f:
        json.dump({"opencv": cv2.__version__, "cpu": cv2.getCPUFeaturesLine(),
                   "cases": manifest}, f)
    print(len(manifest), "cases, OpenCV", cv2.__version__)


if __name__ == "__main__":
    main()
