"""Oracle for the AVA pipeline: PySlowFast's AVA *test split* data path (cv2 backend, the default
AVA.IMG_PROC_BACKEND) feeding PyTorchVideo 0.1.5's hub detectors. PySlowFast is not installed: each
step restates the named PySlowFast function (slowfast/datasets/{ava_helper,ava_dataset,cv2_transform,
utils,loader}.py).

  ava_pyslowfast.py weights --arch A --out W.pyth
      Official-format random weights ({"model_state": ...}) with every BN randomised (parity_issue4).
  ava_pyslowfast.py score --data-root D --oracle OUT.safetensors
      PySlowFast's evaluate_ava over the oracle's boxes and scores (metrics_ava.py's evaluator):
      prints {"map": ..., "ap": {...}} as JSON.
  ava_pyslowfast.py make-dataset --out D
      A tiny AVA v2.2 tree in PySlowFast's layout (frames/, frame_lists/val.csv, annotations/) from
      two real videos with the ffmpeg CLI; prints a JSON summary.
  ava_pyslowfast.py run --data-root D --arch slow_r50_detection|slowfast_r50_detection
                        --weights W.pyth --out OUT.safetensors [--threshold 0.8] [--crop 256]
                        [--frames T --rate TAU --alpha A] [--save-inputs N]
      Per keyframe i: kf{i}.input (or kf{i}.slow / kf{i}.fast), kf{i}.boxes, kf{i}.ori_boxes,
      kf{i}.scores, kf{i}.frame_indices; OUT.json (same stem) lists the keys, K and T/tau/alpha.

T/tau/alpha defaults are the zoo checkpoints' settings: slow_r50_detection is "4x16" (NUM_FRAMES 4,
SAMPLING_RATE 16; its head pools (4,1,1)); slowfast_r50_detection is "8x8", which in PySlowFast config
terms is NUM_FRAMES 32, SAMPLING_RATE 2, ALPHA 4 (configs/AVA/SLOWFAST_32x2_R50_SHORT.yaml,
configs/Kinetics/SLOWFAST_8x8_R50.yaml; its head pools (8,1,1) slow and (32,1,1) fast).
"""

import os
import sys

sys.path.insert(0, os.path.dirname(__file__))
import ptv_common  # noqa: E402,F401  (torchvision shim before anything from pytorchvideo)

import argparse, json, math, shutil, subprocess  # noqa: E401,E402
from collections import defaultdict  # noqa: E402
from pathlib import Path  # noqa: E402

import cv2, numpy as np, torch  # noqa: E401,E402

FPS = 30
AVA_VALID_FRAMES = range(902, 1799)  # ava_helper: seconds 902..1798
# ../shared/data beside the checkout (this file is tests/oracles/ in the repository).
DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"
VIDEOS = str(DATA / "videos")
SAMPLE = str(DATA / "ava-sample")
ARCH_DEFAULTS = {"slow_r50_detection": (4, 16, None), "slowfast_r50_detection": (32, 2, 4)}

# ------------------------------------------------------------------------------------ make-dataset


def extract(src, out_dir, vid, vf=None):
    # PySlowFast's dataset/extract_frames.sh: ffmpeg -r 30 -q:v 1, %06d from 1 (we skip -ss 900).
    (out_dir / vid).mkdir(parents=True, exist_ok=True)
    cmd = ["ffmpeg", "-nostdin", "-loglevel", "error", "-y", "-i", src]
    cmd += ["-vf", vf] if vf else []
    cmd += ["-r", str(FPS), "-q:v", "1", str(out_dir / vid / f"{vid}_%06d.jpg")]
    subprocess.run(cmd, check=True)
    return len(list((out_dir / vid).glob("*.jpg")))


def fmt(box):  # AVA csv style: 3 decimals
    return ["%.3f" % v for v in box]


def make_dataset(out):
    out = Path(out)
    if out.exists():
        shutil.rmtree(out)
    frames, ann, lists = out / "frames", out / "annotations", out / "frame_lists"
    ann.mkdir(parents=True)
    lists.mkdir()
    n_a = extract(f"{VIDEOS}/spatiotemporal_det_demo.mp4", frames, "movieA")
    n_b = extract(f"{VIDEOS}/k400_demo.mp4", frames, "movieB", vf="scale=400:300")
    n_frames = {"movieA": n_a, "movieB": n_b}
    with open(lists / "val.csv", "w") as f:
        f.write("original_vido_id video_id frame_id path labels\n")
        for vidx, vid in enumerate(n_frames):
            for i in range(n_frames[vid]):
                f.write(f'{vid} {vidx} {i} {vid}/{vid}_{i + 1:06d}.jpg ""\n')
    shutil.copy(f"{SAMPLE}/action_list.txt", ann / "ava_action_list_v2.2_for_activitynet_2019.pbtxt")

    # Keyframes whose centre frame (s - 900) * 30 exists.
    secs = {v: [s for s in range(902, 920) if (s - 900) * FPS < n] for v, n in n_frames.items()}
    rng = np.random.RandomState(20240611)
    base = sorted({tuple(map(float, r.split(",")[2:6])) for r in open(f"{SAMPLE}/ava_sample.csv")})
    in_map, not_in_map = [12, 17, 79, 80], [3, 64, 74]
    no_pred = ("movieA", 904)        # ground truth, no predicted box at all
    low_only = ("movieB", 908)       # ground truth, only sub-threshold predictions: no keyframe
    no_gt = ("movieB", 905)          # predicted boxes, no ground truth
    excluded = ("movieA", 906)       # both, listed in the excluded timestamps
    border = ("movieB", 904)         # one person touching the right border (x2 = 1.0)
    exact = ("movieA", 903)          # one prediction scored exactly 0.8 (kept: drop is score < 0.8)
    dup = ("movieA", 907)            # one predicted box listed twice: one box_key, one box
    gt_rows, pred_rows, cases = [], [], defaultdict(list)
    for vid in n_frames:
        for k, sec in enumerate(secs[vid]):
            key, ts = (vid, sec), "%04d" % sec
            people = []
            for p in range(1 + (k + (vid == "movieB")) % 3):
                x1, y1, x2, y2 = base[(k + p) % len(base)]
                s = rng.uniform(0.45, 0.8)
                w, h = (x2 - x1) * s, (y2 - y1) * s
                ox, oy = rng.uniform(0, 1 - w), rng.uniform(0, 1 - h)
                people.append([ox, oy, ox + w, oy + h])
            if key == border:
                people[0][2] = 1.0
                cases["border_box"].append(f"{vid},{ts}")
            if key != no_gt:
                for pid, box in enumerate(people):  # 1-3 actions, sometimes one off the label map
                    acts = list(rng.choice(in_map, rng.randint(1, 4), replace=False))
                    if rng.rand() < 0.3:
                        acts.append(int(rng.choice(not_in_map)))
                    gt_rows += [[vid, ts, *fmt(box), str(a), str(pid)] for a in sorted(acts)]
            else:
                cases["pred_no_gt"].append(f"{vid},{ts}")
            if key == no_pred:
                cases["gt_no_pred"].append(f"{vid},{ts}")
                continue
            for p, box in enumerate(people):
                j = np.clip(np.array(box) + rng.uniform(-0.02, 0.02, 4), 0.0, 0.999)
                if key == border and p == 0:
                    j[2] = 1.0
                score = "%.4f" % rng.uniform(0.82, 0.999)
                if key == low_only:
                    score = "0.5000"
                if key == exact and p == 0:
                    score = "0.8"
                    cases["score_exactly_0.8"].append(f"{vid},{ts}")
                if p == 2 and key != low_only:
                    continue  # a missed person: the third person is never detected
                pred_rows.append([vid, ts, *fmt(j), "", score])
                if key == dup and p == 0:
                    pred_rows.append([vid, ts, *fmt(j), "", "0.9100"])
                    cases["duplicate_row_one_box"].append(f"{vid},{ts}")
            if k % 3 == 1 or key == excluded:  # sub-threshold extras (dropped)
                (x1, x2), (y1, y2) = np.sort(rng.uniform(0, 1, 2)), np.sort(rng.uniform(0, 1, 2))
                pred_rows.append([vid, ts, *fmt([x1, y1, x2, y2]), "", "0.7999" if k % 2 else "0.3000"])
                cases["below_threshold"].append(f"{vid},{ts}")
    cases["gt_low_score_only"].append("%s,%04d" % low_only)
    cases["excluded"].append("%s,%04d" % excluded)
    # Row order must not matter for keyframe order (AVA_VALID_FRAMES order per video) but does for
    # box order (first occurrence of each box_key): shuffle the detections.
    pred_rows = [pred_rows[i] for i in rng.permutation(len(pred_rows))]
    for name, rows in (("ava_val_v2.2.csv", gt_rows), ("ava_val_predicted_boxes.csv", pred_rows)):
        (ann / name).write_text("".join(",".join(r) + "\n" for r in rows))
    (ann / "ava_val_excluded_timestamps_v2.2.csv").write_text("%s,%04d\n" % excluded)

    expected = load_boxes_and_labels(ann / "ava_val_predicted_boxes.csv", 0.8)
    summary = {
        "frames": n_frames,
        "gt_keyframes": {v: sorted({int(r[1]) for r in gt_rows if r[0] == v}) for v in n_frames},
        "gt_boxes": len({tuple(r[:6]) for r in gt_rows}),
        "gt_rows": len(gt_rows),
        "pred_rows": len(pred_rows),
        "dataset_keyframes": {v: [s for s in AVA_VALID_FRAMES if expected[v][s]] for v in expected},
        "dataset_boxes": sum(len(b) for v in expected.values() for b in v.values()),
        "cases": cases,
    }
    print(json.dumps(summary, indent=1))


# ---------------------------------------------------------------------------------- the test path


def load_image_lists(frame_list, frame_dir):
    """ava_helper.load_image_lists: frame paths per video in file order, videos in first-seen order."""
    paths, names = defaultdict(list), {}
    with open(frame_list) as f:
        f.readline()  # header
        for line in f:
            row = line.split()
            assert len(row) == 5, line
            idx = names.setdefault(row[0], len(names))
            paths[idx].append(os.path.join(frame_dir, row[3]))
    return [paths[i] for i in range(len(paths))], list(names)


def load_boxes_and_labels(pred_csv, thresh):
    """ava_helper.parse_bboxes_file in test mode: only the predicted-box list, `score < thresh`
    dropped, boxes keyed by the joined coordinate *strings* (first occurrence fixes the order)."""
    all_boxes = {}
    for line in open(pred_csv):
        row = line.strip().split(",")
        if float(row[7]) < thresh:
            continue
        vid, sec = row[0], int(row[1])
        key = ",".join(row[2:6])
        label = -1 if row[6] == "" else int(row[6])
        if vid not in all_boxes:
            all_boxes[vid] = {s: {} for s in AVA_VALID_FRAMES}
        # A second outside AVA_VALID_FRAMES raises KeyError, as in PySlowFast.
        all_boxes[vid][sec].setdefault(key, [list(map(float, row[2:6])), []])[1].append(label)
    return {v: {s: list(b.values()) for s, b in secs.items()} for v, secs in all_boxes.items()}


def get_keyframe_data(boxes_and_labels):
    """ava_helper.get_keyframe_data: (video_idx, sec_idx, sec, (sec - 900) * FPS) per non-empty sec."""
    indices, per_video = [], []
    for vidx, secs in enumerate(boxes_and_labels):
        per_video.append([])
        for sec in secs:
            if sec in AVA_VALID_FRAMES and len(secs[sec]) > 0:
                indices.append((vidx, len(per_video[-1]), sec, (sec - 900) * FPS))
                per_video[-1].append(secs[sec])
    return indices, per_video


def get_sequence(center, half_len, rate, num_frames):
    """utils.get_sequence: range(center - half, center + half, rate), clamped into the frame list."""
    return [min(max(i, 0), num_frames - 1) for i in range(center - half_len, center + half_len, rate)]


def retry_load_images(paths):
    # utils.retry_load_images (cv2 backend): imdecode of the file bytes, IMREAD_COLOR -> HWC BGR uint8.
    imgs = [cv2.imdecode(np.frombuffer(open(p, "rb").read(), np.uint8), cv2.IMREAD_COLOR) for p in paths]
    assert all(i is not None for i in imgs), paths
    return imgs


def clip_boxes_to_image(boxes, height, width):  # cv2_transform.clip_boxes_to_image
    boxes[:, [0, 2]] = np.minimum(width - 1.0, np.maximum(0.0, boxes[:, [0, 2]]))
    boxes[:, [1, 3]] = np.minimum(height - 1.0, np.maximum(0.0, boxes[:, [1, 3]]))
    return boxes


def short_side(size, height, width):
    # cv2_transform.scale / scale_boxes: None when the short side already equals `size`.
    if (width <= height and width == size) or (height <= width and height == size):
        return None
    if width < height:
        return size, int(math.floor(float(height) / width * size))
    return int(math.floor(float(width) / height * size)), size


def scale(size, img):
    """cv2_transform.scale: an unchanged image stays uint8 (so /255 below runs in float64), a resized
    one is cv2.resize(INTER_LINEAR) on uint8, then float32."""
    new = short_side(size, img.shape[0], img.shape[1])
    if new is None:
        return img
    return cv2.resize(img, new, interpolation=cv2.INTER_LINEAR).astype(np.float32)


def scale_boxes(size, boxes, height, width):
    """cv2_transform.scale_boxes: ONE factor for x and y, new_long / long (not 256 / short)."""
    new = short_side(size, height, width)
    if new is None:
        return boxes
    if width < height:
        boxes *= float(new[1]) / height
    else:
        boxes *= float(new[0]) / width
    return boxes


def preprocess_cv2(imgs, boxes, crop, mean, std, bgr=False):
    """Ava._images_and_boxes_preprocessing_cv2, split "test" (no flip: TEST_FORCE_FLIP False)."""
    height, width, _ = imgs[0].shape
    boxes[:, [0, 2]] *= width
    boxes[:, [1, 3]] *= height
    boxes = clip_boxes_to_image(boxes, height, width)
    imgs = [scale(crop, img) for img in imgs]
    boxes = scale_boxes(crop, boxes, height, width)
    imgs = [img.transpose([2, 0, 1]) / 255.0 for img in imgs]  # HWC2CHW, [0, 1]
    imgs = [np.ascontiguousarray(i.reshape((3, imgs[0].shape[1], imgs[0].shape[2]))).astype(np.float32)
            for i in imgs]
    mean, std = np.array(mean, dtype=np.float32), np.array(std, dtype=np.float32)
    for img in imgs:  # cv2_transform.color_normalization, channel by channel, in float32
        for c in range(img.shape[0]):
            img[c] = img[c] - mean[c]
            img[c] = img[c] / std[c]
    imgs = np.concatenate([np.expand_dims(i, axis=1) for i in imgs], axis=1)  # C T H W
    if not bgr:
        imgs = imgs[::-1, ...]  # BGR -> RGB (AVA.BGR False)
    imgs = torch.from_numpy(np.ascontiguousarray(imgs))
    return imgs, clip_boxes_to_image(boxes, imgs[0].shape[1], imgs[0].shape[2])


def pack_pathway_output(frames, alpha):
    """utils.pack_pathway_output: slow = index_select(linspace(0, T-1, T // alpha).long()), which for
    T=32, alpha=4 is [0, 4, 8, 13, 17, 22, 26, 31], not a stride of 4."""
    if alpha is None:
        return [frames]
    idx = torch.linspace(0, frames.shape[1] - 1, frames.shape[1] // alpha).long()
    return [torch.index_select(frames, 1, idx), frames]


def build_model(arch, weights):
    from pytorchvideo.models import hub

    model = getattr(hub, arch)(pretrained=False)  # as the hub builds it: 80 classes, sigmoid
    model.load_state_dict(torch.load(weights, map_location="cpu")["model_state"], strict=True)
    return model.eval()


def run(args):
    from safetensors.torch import save_file

    frames, rate, alpha = ARCH_DEFAULTS[args.arch]
    frames, rate, alpha = args.frames or frames, args.rate or rate, args.alpha or alpha
    if args.arch.startswith("slow_") and args.alpha:
        sys.exit("slow_r50_detection is single-pathway: no --alpha")
    root = Path(args.data_root)
    image_paths, names = load_image_lists(root / "frame_lists/val.csv", root / "frames")
    boxes_by_video = load_boxes_and_labels(root / "annotations/ava_val_predicted_boxes.csv",
                                           args.threshold)
    assert len(boxes_by_video) == len(image_paths)  # Ava._load_data: every video has boxes
    keyframes, kf_boxes = get_keyframe_data([boxes_by_video[n] for n in names])
    model = build_model(args.arch, args.weights)
    seq_len = frames * rate
    tensors, meta = {}, {"keys": [], "num_boxes": [], "frames": frames, "rate": rate, "alpha": alpha,
                         "crop": args.crop, "threshold": args.threshold}
    for i, (vidx, sidx, sec, center) in enumerate(keyframes):  # Ava.__getitem__
        seq = get_sequence(center, seq_len // 2, rate, len(image_paths[vidx]))
        boxes = np.array([b[0] for b in kf_boxes[vidx][sidx]])[:, :4].copy()  # float64
        ori_boxes = boxes.copy()
        imgs = retry_load_images([image_paths[vidx][f] for f in seq])
        imgs, boxes = preprocess_cv2(imgs, boxes, args.crop, [0.45] * 3, [0.225] * 3)
        pathways = pack_pathway_output(imgs, alpha)
        # loader.detection_collate: a leading batch-index column, then float32. PyTorchVideo's
        # DetectionBBoxNetwork takes the same [idx, x1, y1, x2, y2] in input pixels.
        bboxes = torch.tensor(np.concatenate([np.zeros((len(boxes), 1)), boxes], axis=1)).float()
        batch = [p.unsqueeze(0) for p in pathways]
        with torch.no_grad():
            # A fresh list: PyTorchVideo's multipathway blocks replace the entries of the list given.
            scores = model(list(batch) if alpha else batch[0], bboxes)
        if args.save_inputs is not None and i >= args.save_inputs:
            pass  # inputs are large (33 MB per SlowFast keyframe): only the first N are kept
        elif alpha:
            tensors[f"kf{i}.slow"], tensors[f"kf{i}.fast"] = batch
        else:
            tensors[f"kf{i}.input"] = batch[0]
        tensors[f"kf{i}.boxes"] = bboxes[:, 1:].contiguous()
        tensors[f"kf{i}.ori_boxes"] = torch.from_numpy(ori_boxes)
        tensors[f"kf{i}.scores"] = scores.float().contiguous()
        tensors[f"kf{i}.frame_indices"] = torch.tensor(seq, dtype=torch.int64)
        meta["keys"].append("%s,%04d" % (names[vidx], sec))
        meta["num_boxes"].append(len(boxes))
        print(f"{meta['keys'][-1]}: K={len(boxes)} frames {seq[0]}..{seq[-1]} input "
              f"{tuple(imgs.shape)}", file=sys.stderr, flush=True)
    save_file({k: v.contiguous() for k, v in tensors.items()}, args.out)
    Path(args.out).with_suffix(".json").write_text(json.dumps(meta, indent=1))


def weights(args):
    from parity_issue4 import randomise
    from pytorchvideo.models import hub

    torch.manual_seed(7)
    gen = torch.Generator().manual_seed(7)
    m = getattr(hub, args.arch)(pretrained=False).eval()
    proj = m.detection_head.proj
    proj.gain = 4.0  # logits of a few units: sigmoid neither flat nor saturated
    randomise(m, gen, proj)
    torch.save({"model_state": m.state_dict()}, args.out)


def score(args):
    """ava_eval_helper.evaluate_ava: ground truth read with the label map's whitelist, detections as
    (ori_box, class id = index + 1, score) for every whitelisted class, excluded keys dropped."""
    from safetensors.torch import load_file
    import metrics_ava

    root = Path(args.data_root) / "annotations"
    labelmap, whitelist = metrics_ava.read_labelmap(root / "ava_action_list_v2.2_for_activitynet_2019.pbtxt")
    gt = metrics_ava.read_csv(root / "ava_val_v2.2.csv", whitelist, False)
    excl = root / "ava_val_excluded_timestamps_v2.2.csv"
    excluded = metrics_ava.read_exclusions(excl) if excl.exists() else set()
    t = load_file(args.oracle)
    meta = json.loads(Path(args.oracle).with_suffix(".json").read_text())
    boxes, labels, scores = defaultdict(list), defaultdict(list), defaultdict(list)
    for i, key in enumerate(meta["keys"]):
        for b, s in zip(t[f"kf{i}.ori_boxes"].tolist(), t[f"kf{i}.scores"].double().tolist()):
            for c, v in enumerate(s):
                if c + 1 in whitelist:
                    boxes[key].append([b[1], b[0], b[3], b[2]])
                    labels[key].append(c + 1)
                    scores[key].append(v)
    ap, mean, num_gt = metrics_ava.evaluate(labelmap, gt, (boxes, labels, scores), excluded, True)
    print(json.dumps({"map": float(mean),
                      "ap": {str(c + 1): float(a) for c, a in enumerate(ap) if not np.isnan(a)}}))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    mk = sub.add_parser("make-dataset")
    mk.add_argument("--out", required=True)
    rn = sub.add_parser("run")
    rn.add_argument("--data-root", required=True)
    rn.add_argument("--arch", required=True, choices=sorted(ARCH_DEFAULTS))
    rn.add_argument("--weights", required=True)
    rn.add_argument("--out", required=True)
    rn.add_argument("--threshold", type=float, default=0.8)  # AVA.DETECTION_SCORE_THRESH
    rn.add_argument("--crop", type=int, default=256)  # DATA.TEST_CROP_SIZE: the short side
    rn.add_argument("--frames", type=int, help="DATA.NUM_FRAMES (fast pathway for SlowFast)")
    rn.add_argument("--rate", type=int, help="DATA.SAMPLING_RATE")
    rn.add_argument("--alpha", type=int, help="SLOWFAST.ALPHA")
    rn.add_argument("--save-inputs", type=int, help="keep the inputs of the first N keyframes only")
    wt = sub.add_parser("weights")
    wt.add_argument("--arch", required=True, choices=sorted(ARCH_DEFAULTS))
    wt.add_argument("--out", required=True)
    sc = sub.add_parser("score")
    sc.add_argument("--data-root", required=True)
    sc.add_argument("--oracle", required=True)
    args = ap.parse_args()
    if args.cmd == "weights":
        return weights(args)
    torch.set_grad_enabled(False)
    {"make-dataset": lambda: make_dataset(args.out), "run": lambda: run(args),
     "score": lambda: score(args)}[args.cmd]()


if __name__ == "__main__":
    main()
