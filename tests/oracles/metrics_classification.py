"""Oracle for issue 7: view aggregation, top-k accuracy, Wilson intervals and Charades mAP.

Usage: metrics_classification.py OUT_DIR

Writes OUT_DIR/cases.json plus little-endian score arrays (*.bin). Every expected value is computed
the way PySlowFast computes it, with torch / scikit-learn / scipy from the project venv:
- aggregation: TestMeter.update_stats (zeros + `+=` for "sum"; -1e10 + torch.max for "max");
- top-k: topks_correct (torch.topk, largest=True, sorted=True), plus a lower-index-first reference;
- mAP: get_map (drop classes without positives, sklearn average_precision_score(average=None), mean);
- Wilson: scipy.stats.binomtest(k, n).proportion_ci(method="wilson").
Floats that must match exactly travel as IEEE bit patterns (u64), since JSON float parsing may round.
"""

import json
import struct
import sys
import warnings
from pathlib import Path

import numpy as np
import torch
from scipy.stats import binomtest
from sklearn.metrics import average_precision_score

warnings.simplefilter("ignore")
torch.set_num_threads(1)


def bits(x):
    return None if x is None else struct.unpack("<Q", struct.pack("<d", float(x)))[0]


def write_bin(out, name, arr, dtype):
    arr = np.ascontiguousarray(arr, dtype=np.dtype(dtype).newbyteorder("<"))
    arr.tofile(out / name)
    return name


# ---------------------------------------------------------------- aggregation + top-k


def testmeter_aggregate(scores, method):
    """scores: (N, V, C) tensor. TestMeter's accumulation, view by view in order."""
    n, v, c = scores.shape
    if method == "sum":
        acc = torch.zeros((n, c), dtype=scores.dtype)
    else:  # multi-label meter: starts at -1e10, combines with torch.max
        acc = torch.zeros((n, c), dtype=scores.dtype) - 1e10
    for j in range(v):
        if method == "sum":
            acc += scores[:, j]
        else:
            acc = torch.max(acc, scores[:, j])
    return acc


def topks_correct(preds, labels, ks):
    """PySlowFast's topks_correct, restated."""
    if preds.shape[0] == 0:
        return [0 for _ in ks]
    _, idx = torch.topk(preds, max(ks), dim=1, largest=True, sorted=True)
    hit = idx.t().eq(labels.view(1, -1).expand_as(idx.t()))
    return [int(hit[:k, :].float().sum().item()) for k in ks]


def lower_index_correct(preds, labels, ks):
    p = preds.double().numpy()
    out = []
    for k in ks:
        n = 0
        for row, lab in zip(p, labels.numpy()):
            order = np.argsort(-row, kind="stable")
            n += int(lab in order[:k])
        out.append(n)
    return out


def topk_case(out, name, scores, labels, method, ks=(1, 5)):
    """scores: numpy (N, V, C) float32/float64; labels: (N,) int with -1 for unknown."""
    n, v, c = scores.shape
    ks = [k for k in ks if k <= c]
    t = torch.from_numpy(scores)
    agg = testmeter_aggregate(t, method)
    lab = torch.from_numpy(labels.astype(np.int64))
    known = lab != -1
    clip_preds = t.reshape(n * v, c)
    clip_labels = lab.repeat_interleave(v)
    clip_known = clip_labels != -1
    dtype = "f4" if scores.dtype == np.float32 else "f8"
    kind = "topk"
    return {
        "name": name,
        "kind": kind,
        "dtype": dtype,
        "num_videos": n,
        "num_views": v,
        "num_classes": c,
        "method": method,
        "labels": labels.tolist(),
        "ks": ks,
        "scores": write_bin(out, f"{kind}_{name}.scores.bin", scores, dtype),
        "aggregated": write_bin(out, f"{kind}_{name}.agg.bin", agg.numpy(), dtype),
        "video": {
            "total": int(known.sum()),
            "torch": topks_correct(agg[known], lab[known], ks),
            "lower_index": lower_index_correct(agg[known], lab[known], ks),
            # As PySlowFast reports it: unknown labels count as wrong.
            "pyslowfast_percent": [x / max(n, 1) * 100.0 for x in topks_correct(agg, lab, ks)],
        },
        "clip": {
            "total": int(clip_known.sum()),
            "torch": topks_correct(clip_preds[clip_known], clip_labels[clip_known], ks),
            "lower_index": lower_index_correct(clip_preds[clip_known], clip_labels[clip_known], ks),
        },
    }


def softmax(x):
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def topk_cases(out, rng):
    cases = []
    n, v, c = 100, 30, 400
    s = softmax(rng.standard_normal((n, v, c)) * 3).astype(np.float32)
    lab = rng.integers(0, c, n)
    lab[rng.random(n) < 0.1] = -1
    cases.append(topk_case(out, "random_sum", s, lab, "sum"))
    # Informative: the label's logit is raised in some views, so accuracies land mid-range.
    lab = rng.integers(0, c, n)
    logits = rng.standard_normal((n, v, c)) * 2
    logits[np.arange(n), :, lab] += rng.random((n, v)) * 6
    lab[rng.random(n) < 0.05] = -1
    cases.append(topk_case(out, "informative_sum", softmax(logits).astype(np.float32), lab, "sum"))

    # Many equal scores: quarters sum exactly, so ties survive aggregation.
    s = (rng.integers(0, 4, (200, 3, 50)) / 4).astype(np.float32)
    cases.append(topk_case(out, "ties_sum", s, rng.integers(0, 50, 200), "sum"))
    s = (rng.integers(0, 3, (150, 2, 8)) / 2).astype(np.float32)
    cases.append(topk_case(out, "ties_max_few_classes", s, rng.integers(0, 8, 150), "max"))

    s = (1 / (1 + np.exp(-rng.standard_normal((60, 30, 157)) * 2))).astype(np.float32)
    cases.append(topk_case(out, "charades_max", s, rng.integers(0, 157, 60), "max"))

    # All correct / perfectly wrong: distinct scores, label = argmax / argmin of the video score.
    base = rng.permutation(np.arange(1, 11, dtype=np.float32))[None, None, :] / 10
    s = np.repeat(np.repeat(base, 2, axis=1), 20, axis=0) + rng.random((20, 2, 10)).astype(np.float32) * 1e-3
    s = s.astype(np.float32)
    agg = s.sum(axis=1)
    cases.append(topk_case(out, "all_correct", s, agg.argmax(axis=1), "sum"))
    cases.append(topk_case(out, "perfectly_wrong", s, agg.argmin(axis=1), "sum"))

    cases.append(topk_case(out, "single_video", softmax(rng.standard_normal((1, 1, 10))).astype(np.float32), np.array([3]), "sum"))
    cases.append(topk_case(out, "empty", np.zeros((0, 3, 10), np.float32), np.zeros(0, np.int64), "sum"))
    cases.append(topk_case(out, "unknown_only", softmax(rng.standard_normal((5, 2, 10))).astype(np.float32), np.full(5, -1), "sum"))
    cases.append(topk_case(out, "random_sum_f64", softmax(rng.standard_normal((50, 10, 100))), rng.integers(0, 100, 50), "sum"))
    return cases


# ---------------------------------------------------------------- Charades mAP


def get_map(preds, labels):
    """PySlowFast's get_map, restated; also returns the per-class APs of the kept columns."""
    keep = ~(np.all(labels == 0, axis=0))
    preds, labels = preds[:, keep], labels[:, keep]
    aps = [0]
    try:
        aps = average_precision_score(labels, preds, average=None)
    except ValueError:
        return keep, None, float(np.mean(aps))
    return keep, np.atleast_1d(np.asarray(aps, dtype=np.float64)), float(np.mean(aps))


def map_case(out, name, scores, labels):
    n, c = labels.shape
    keep, aps, pyslowfast_map = get_map(scores, labels)
    per_class = [None] * c
    if aps is not None:
        for j, col in enumerate(np.flatnonzero(keep)):
            per_class[col] = bits(aps[j])
    dtype = "f4" if scores.dtype == np.float32 else "f8"
    kind = "map"
    return {
        "name": name,
        "kind": kind,
        "dtype": dtype,
        "num_videos": n,
        "num_classes": c,
        "positives": [np.flatnonzero(row).tolist() for row in labels],
        "scores": write_bin(out, f"{kind}_{name}.scores.bin", scores, dtype),
        "per_class": per_class,
        "map": bits(pyslowfast_map) if aps is not None else None,
        "pyslowfast_map": pyslowfast_map,
    }


def map_cases(out, rng):
    cases = []
    # Random, skewed class frequencies: several classes end up without positives.
    n, c = 400, 157
    freq = rng.random(c) ** 6 * 0.2
    lab = (rng.random((n, c)) < freq).astype(np.int64)
    s = (1 / (1 + np.exp(-rng.standard_normal((n, c))))).astype(np.float32)
    cases.append(map_case(out, "random", s, lab))
    # Informative scores, as a trained model gives.
    s = (lab * 1.5 + rng.standard_normal((n, c))).astype(np.float32)
    cases.append(map_case(out, "informative", s, lab))
    lab = (rng.random((300, 20)) < 0.2).astype(np.int64)
    cases.append(map_case(out, "ties", (rng.integers(0, 5, (300, 20)) / 4).astype(np.float32), lab))
    cases.append(map_case(out, "all_tied", np.full((50, 6), 0.5, np.float32), (rng.random((50, 6)) < 0.3).astype(np.int64)))
    lab = np.zeros((80, 10), np.int64)
    lab[rng.random(80) < 0.3, 3] = 1
    cases.append(map_case(out, "one_class_with_positives", rng.random((80, 10)).astype(np.float32), lab))
    lab = (rng.random((60, 8)) < 0.3).astype(np.int64)
    lab[:, 2] = 1
    cases.append(map_case(out, "class_all_positive", rng.random((60, 8)).astype(np.float32), lab))
    lab = np.zeros((1, 12), np.int64)
    lab[0, [1, 7]] = 1
    cases.append(map_case(out, "single_video", rng.random((1, 12)).astype(np.float32), lab))
    lab = (rng.random((40, 5)) < 0.4).astype(np.int64)
    lab[0] = 1
    cases.append(map_case(out, "perfect", (lab + rng.random((40, 5)) * 0.5).astype(np.float32), lab))
    cases.append(map_case(out, "perfectly_wrong", (1 - lab + rng.random((40, 5)) * 0.5).astype(np.float32), lab))
    cases.append(map_case(out, "no_positives", rng.random((30, 7)).astype(np.float32), np.zeros((30, 7), np.int64)))
    cases.append(map_case(out, "empty", np.zeros((0, 7), np.float32), np.zeros((0, 7), np.int64)))
    # float64 scores one ulp apart: distinct thresholds, never grouped.
    s = np.full((200, 4), 0.5) + rng.integers(0, 3, (200, 4)) * np.finfo(np.float64).eps / 4
    cases.append(map_case(out, "near_ties_f64", s, (rng.random((200, 4)) < 0.5).astype(np.int64)))
    # Charades validation size.
    n, c = 1863, 157
    lab = (rng.random((n, c)) < rng.random(c) * 0.05).astype(np.int64)
    s = (1 / (1 + np.exp(-(lab * 2 + rng.standard_normal((n, c)))))).astype(np.float32)
    cases.append(map_case(out, "charades_val_size", s, lab))
    return cases


def wilson_cases():
    pairs = [(0, 1), (1, 1), (0, 10), (10, 10), (7, 10), (1, 3), (500, 1000), (7339, 19761), (19760, 19761), (1, 19761)]
    res = []
    for k, n in pairs:
        ci = binomtest(k, n).proportion_ci(confidence_level=0.95, method="wilson")
        res.append({"k": k, "n": n, "lo": float(ci.low), "hi": float(ci.high)})
    return res


def main():
    out = Path(sys.argv[1])
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(20240607)
    cases = {"topk": topk_cases(out, rng), "map": map_cases(out, rng), "wilson": wilson_cases()}
    (out / "cases.json").write_text(json.dumps(cases))


if __name__ == "__main__":
    main()
