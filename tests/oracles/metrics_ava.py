"""Oracle for issue 7: AVA frame-mAP@0.5 IoU.

Usage: metrics_ava.py OUT_DIR AVA_SAMPLE_DIR

PySlowFast's `ava_evaluation` package is not on PyPI on its own (only the whole of PySlowFast, with
heavy dependencies), so this is an independent numpy restatement of the documented algorithm, as
`slowfast/utils/ava_eval_helper.py` drives it:
- read_labelmap / read_csv (class whitelist, boxes to [y1, x1, y2, x2], score 1.0 for ground truth) /
  read_exclusions; image key "video_id,%04d" % int(timestamp);
- PascalDetectionEvaluator: ObjectDetectionEvaluation with 1-based ids, IoU 0.5, no difficult or
  group-of boxes; per image and class, invalid detection boxes dropped, detections matched in input
  order to the highest-IoU box (first on equal IoU), each box matched once;
- compute_precision_recall (descending score) and compute_average_precision (VOC: monotone
  precision, area under the interpolated curve); mAP = nanmean over classes with ground truth.

The reference sorts with np.argsort (not stable, SIMD-dispatched): tie order is machine-dependent.
Each case is scored twice: with a stable sort (ties in evaluation order, what vbench defines) and with
the reference's default sort; the test compares the first and checks they agree where there are no ties.

Each case is a folder with labelmap.pbtxt, gt.csv, det.csv, excluded.csv and expected.json.
"""

import csv
import json
import shutil
import struct
import sys
import warnings
from collections import defaultdict
from pathlib import Path

import numpy as np

warnings.simplefilter("ignore")


def bits(x):
    return None if x is None or np.isnan(x) else struct.unpack("<Q", struct.pack("<d", float(x)))[0]


# ---------------------------------------------------------------- readers (ava_eval_helper)


def image_key(video_id, timestamp):
    return "%s,%04d" % (video_id, int(timestamp))


def read_labelmap(path):
    labelmap, ids, name = [], set(), ""
    for line in open(path):
        if line.startswith("  name:"):
            name = line.split('"')[1]
        elif line.startswith("  id:") or line.startswith("  label_id:"):
            cid = int(line.strip().split(" ")[-1])
            labelmap.append({"id": cid, "name": name})
            ids.add(cid)
    return labelmap, ids


def read_csv(path, whitelist, load_score):
    boxes, labels, scores = defaultdict(list), defaultdict(list), defaultdict(list)
    with open(path) as f:
        for row in csv.reader(f):
            assert len(row) in (7, 8)
            key = image_key(row[0], row[1])
            x1, y1, x2, y2 = [float(v) for v in row[2:6]]
            aid = int(row[6])
            if whitelist and aid not in whitelist:
                continue
            boxes[key].append([y1, x1, y2, x2])
            labels[key].append(aid)
            scores[key].append(float(row[7]) if load_score else 1.0)
    return boxes, labels, scores


def read_exclusions(path):
    with open(path) as f:
        return {image_key(r[0], r[1]) for r in csv.reader(f) if r}


# ---------------------------------------------------------------- evaluator


def iou_matrix(a, b):
    """a: (N, 4), b: (M, 4) as [y1, x1, y2, x2]."""
    ay1, ax1, ay2, ax2 = np.split(a, 4, axis=1)
    by1, bx1, by2, bx2 = np.split(b, 4, axis=1)
    h = np.maximum(np.zeros((a.shape[0], b.shape[0])), np.minimum(ay2, by2.T) - np.maximum(ay1, by1.T))
    w = np.maximum(np.zeros((a.shape[0], b.shape[0])), np.minimum(ax2, bx2.T) - np.maximum(ax1, bx1.T))
    inter = h * w
    area_a = (a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1])
    area_b = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    return inter / (area_a[:, None] + area_b[None, :] - inter)


def tp_fp_single_class(det_boxes, det_scores, gt_boxes, thr=0.5):
    if det_boxes.size == 0:
        return np.array([], dtype=float), np.array([], dtype=bool)
    if gt_boxes.size == 0:
        return det_scores, np.zeros(len(det_scores), dtype=bool)
    iou = iou_matrix(det_boxes, gt_boxes)
    best = np.argmax(iou, axis=1)
    taken = np.zeros(gt_boxes.shape[0], dtype=bool)
    tp = np.zeros(len(det_scores), dtype=bool)
    for i in range(len(det_scores)):
        g = best[i]
        if iou[i, g] >= thr and not taken[g]:
            tp[i] = True
            taken[g] = True
    return det_scores, tp


def precision_recall(scores, tp, num_gt, stable):
    order = np.argsort(-scores, kind="stable") if stable else np.argsort(scores)[::-1]
    t = tp.astype(int)[order]
    ctp, cfp = np.cumsum(t), np.cumsum(1 - t)
    return ctp.astype(float) / (ctp + cfp), ctp.astype(float) / num_gt


def voc_ap(precision, recall):
    if precision.size == 0:
        return 0.0
    recall = np.concatenate([[0], recall, [1]])
    precision = np.concatenate([[0], precision, [0]])
    for i in range(len(precision) - 2, -1, -1):
        precision[i] = np.maximum(precision[i], precision[i + 1])
    idx = np.where(recall[1:] != recall[:-1])[0] + 1
    return np.sum((recall[idx] - recall[idx - 1]) * precision[idx])


def evaluate(labelmap, gt, det, excluded, stable):
    num_class = max(c["id"] for c in labelmap)
    gt_boxes, gt_labels, _ = gt
    num_gt = np.zeros(num_class, dtype=int)
    gt_db = {}
    for key in gt_boxes:
        if key in excluded:
            continue
        b = np.array(gt_boxes[key], dtype=float).reshape(-1, 4)
        lab = np.array(gt_labels[key], dtype=int) - 1
        gt_db[key] = (b, lab)
        for c in range(num_class):
            num_gt[c] += np.sum(lab == c)
    scores_pc = [[] for _ in range(num_class)]
    tp_pc = [[] for _ in range(num_class)]
    d_boxes, d_labels, d_scores = det
    for key in d_boxes:
        if key in excluded:
            continue
        b = np.array(d_boxes[key], dtype=float).reshape(-1, 4)
        s = np.array(d_scores[key], dtype=float)
        lab = np.array(d_labels[key], dtype=int) - 1
        valid = np.logical_and(b[:, 0] < b[:, 2], b[:, 1] < b[:, 3])
        b, s, lab = b[valid], s[valid], lab[valid]
        gb, gl = gt_db.get(key, (np.empty((0, 4)), np.array([], dtype=int)))
        for c in range(num_class):
            sc, tp = tp_fp_single_class(b[lab == c], s[lab == c], gb[gl == c])
            if sc.shape[0] > 0:
                scores_pc[c].append(sc)
                tp_pc[c].append(tp)
    ap = np.full(num_class, np.nan)
    for c in range(num_class):
        if num_gt[c] == 0:
            continue
        if scores_pc[c]:
            sc, tp = np.concatenate(scores_pc[c]), np.concatenate(tp_pc[c])
        else:
            sc, tp = np.array([], dtype=float), np.array([], dtype=bool)
        p, r = precision_recall(sc, tp, num_gt[c], stable)
        ap[c] = voc_ap(p, r)
    return ap, np.nanmean(ap), num_gt


def run_case(folder):
    labelmap, whitelist = read_labelmap(folder / "labelmap.pbtxt")
    excluded = read_exclusions(folder / "excluded.csv")
    gt = read_csv(folder / "gt.csv", whitelist, False)
    det = read_csv(folder / "det.csv", whitelist, True)
    ap, m, num_gt = evaluate(labelmap, gt, det, excluded, stable=True)
    ap_default, m_default, _ = evaluate(labelmap, gt, det, excluded, stable=False)
    ids = sorted({c["id"] for c in labelmap})
    expected = {
        "map": bits(m),
        "map_value": None if np.isnan(m) else float(m),
        "map_default_sort": bits(m_default),
        "per_class": {str(i): {"ap": bits(ap[i - 1]), "num_gt": int(num_gt[i - 1])} for i in ids},
    }
    (folder / "expected.json").write_text(json.dumps(expected))


# ---------------------------------------------------------------- generated cases


def fmt(x):
    return repr(float(x))


def write_rows(path, rows):
    with open(path, "w") as f:
        for r in rows:
            f.write(",".join(r) + "\n")


def write_labelmap(path, ids):
    with open(path, "w") as f:
        for i in ids:
            f.write('item {\n  name: "action%d"\n  id: %d\n}\n' % (i, i))


def box_row(vid, ts, xyxy, cls, last):
    return [vid, ts] + [fmt(v) for v in xyxy] + [str(cls), last]


def jitter(rng, xyxy, amount):
    x1, y1, x2, y2 = np.asarray(xyxy) + rng.normal(0, amount, 4)
    return [min(x1, x2), min(y1, y2), max(x1, x2), max(y1, y2)]


def random_person(rng):
    x1, y1 = rng.uniform(0, 0.7, 2)
    w, h = rng.uniform(0.1, 0.3, 2)
    return [x1, y1, x1 + w, y1 + h]


def synthetic_case(folder, rng, ids, quantize=None, n_videos=12, all_classes=False):
    """Frames with 1-4 people of 1-3 actions; detections as a model emits them (jittered person
    boxes with a score for every class), plus false-positive boxes, duplicates and inverted boxes."""
    pool = list(ids) + [max(ids) + 3]  # one class the label map does not have
    gt_rows, det_rows, excluded = [], [], []
    for v in range(n_videos):
        vid = "vid%02d_%s" % (v, "xy"[v % 2])
        for t in range(902, 902 + int(rng.integers(2, 6))):
            ts = "%04d" % t if rng.random() < 0.7 else str(t)  # both spellings name one key
            people = [(random_person(rng), set()) for _ in range(int(rng.integers(1, 5)))]
            for p, acts in people:
                for c in rng.choice(pool, size=int(rng.integers(1, 4)), replace=False):
                    acts.add(int(c))
                    gt_rows.append(box_row(vid, ts, p, c, str(int(rng.integers(0, 9)))))
            # Scores are informative: a true action of a found person tends to score higher.
            dets = [(jitter(rng, p, 0.03), acts) for p, acts in people if rng.random() < 0.9]
            dets += [(random_person(rng), set()) for _ in range(int(rng.integers(0, 3)))]
            if rng.random() < 0.3 and dets:
                dets.append(dets[0])  # duplicate: the second is an FP
            if rng.random() < 0.1:
                dets.append(([0.6, 0.6, 0.4, 0.7], set()))  # x1 > x2: discarded
            for d, acts in dets:
                classes = pool if all_classes else rng.choice(pool, size=int(rng.integers(1, len(pool))), replace=False)
                for c in classes:
                    s = rng.random() * (0.6 if int(c) not in acts else 1.0) + (0.3 if int(c) in acts else 0.0)
                    if quantize:
                        s = np.round(s * quantize) / quantize
                    det_rows.append(box_row(vid, str(t), d, c, fmt(s)))
            if rng.random() < 0.1:
                excluded.append([vid, "%04d" % t])
        # Detections on a frame without ground truth.
        det_rows.append(box_row(vid, "1700", random_person(rng), ids[0], fmt(rng.random())))
    folder.mkdir(parents=True, exist_ok=True)
    write_labelmap(folder / "labelmap.pbtxt", ids)
    write_rows(folder / "gt.csv", gt_rows)
    write_rows(folder / "det.csv", det_rows)
    write_rows(folder / "excluded.csv", excluded)


def sample_case(folder, rng, sample):
    """The real AVA sample (ground truth, exclusions, label map) with generated detections."""
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copy(sample / "action_list.txt", folder / "labelmap.pbtxt")
    shutil.copy(sample / "ava_sample.csv", folder / "gt.csv")
    shutil.copy(sample / "ava_excluded_timestamps_sample.csv", folder / "excluded.csv")
    rows = []
    with open(sample / "ava_sample.csv") as f:
        for r in csv.reader(f):
            xyxy = [float(v) for v in r[2:6]]
            for c in ["12", "17", "79", "80", "74"]:
                rows.append(box_row(r[0], r[1], jitter(rng, xyxy, 0.05), c, fmt(rng.random())))
            rows.append(box_row(r[0], r[1], random_person(rng), r[6], fmt(rng.random())))
    write_rows(folder / "det.csv", rows)


def handmade_cases(out):
    lm = [1, 2, 3]
    # IoU exactly 0.5 (matches) and just below (does not); class 3 has no ground truth.
    f = out / "iou_boundary"
    f.mkdir(parents=True, exist_ok=True)
    write_labelmap(f / "labelmap.pbtxt", lm)
    write_rows(f / "gt.csv", [["v", "0902", "0", "0", "1", "1", "1"], ["v", "0902", "0", "0", "1", "1", "2"]])
    write_rows(f / "det.csv", [
        ["v", "902", "0", "0", "0.5", "1", "1", "0.9"],
        ["v", "902", "0", "0", "0.49999999", "1", "2", "0.9"],
        ["v", "902", "0", "0", "1", "1", "3", "0.5"],
    ])
    write_rows(f / "excluded.csv", [])
    # Perfect detections, and no detections at all.
    for name, det in [("perfect", True), ("empty_detections", False)]:
        f = out / name
        f.mkdir(parents=True, exist_ok=True)
        write_labelmap(f / "labelmap.pbtxt", lm)
        gt = [["v", "0902", "0.1", "0.1", "0.5", "0.5", "1"], ["v", "0903", "0.2", "0.1", "0.6", "0.9", "2"],
              ["w", "0902", "0.1", "0.1", "0.5", "0.5", "2"]]
        write_rows(f / "gt.csv", gt)
        write_rows(f / "det.csv", [g + ["1.0"] for g in gt] if det else [])
        write_rows(f / "excluded.csv", [])
    # No ground truth of any label-map class: mAP is undefined (nanmean of nothing).
    f = out / "no_groundtruth"
    f.mkdir(parents=True, exist_ok=True)
    write_labelmap(f / "labelmap.pbtxt", lm)
    write_rows(f / "gt.csv", [["v", "0902", "0", "0", "1", "1", "9"]])
    write_rows(f / "det.csv", [["v", "0902", "0", "0", "1", "1", "1", "0.3"]])
    write_rows(f / "excluded.csv", [])


def main():
    out, sample = Path(sys.argv[1]), Path(sys.argv[2])
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(7)
    names = []
    sample_case(out / "sample", rng, sample)
    synthetic_case(out / "random", rng, [1, 3, 4, 8, 11, 15, 20, 21])
    synthetic_case(out / "random_dense", rng, list(range(1, 81, 4)), n_videos=30, all_classes=True)
    synthetic_case(out / "ties", rng, [2, 5, 6, 9], quantize=4)
    handmade_cases(out)
    for folder in sorted(p for p in out.iterdir() if p.is_dir()):
        run_case(folder)
        names.append(folder.name)
    (out / "cases.json").write_text(json.dumps(names))


if __name__ == "__main__":
    main()
