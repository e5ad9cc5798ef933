"""A variant's fidelity to fp32, recomputed from the two stored predictions files (JSON lines:
a header, then one record per video with its views' scores and logits), independently of vbench.

Usage: variants_fidelity.py FP32.jsonl VARIANT.jsonl  -> one JSON object on stdout.

Rules (as the issue states them): only `ok` records (the latest per list index) of videos in
both files, and views (clip, crop) in both; top-1 ties go to the lower class index (numpy's
argmax); a view's margin is fp32's top-1 minus top-2 score; the video top-1 is the argmax of the
aggregated scores. Scores are read as float32, the precision vbench stores them in.
"""

import json
import sys

import numpy as np


def scored(path):
    by_index = {}
    with open(path) as f:
        header = json.loads(f.readline())
        for line in f:
            if not line.strip():
                continue
            r = json.loads(line)
            if "index" not in r:
                continue
            if r["status"] == "ok":
                by_index[r["index"]] = r
            else:
                by_index.pop(r["index"], None)
    return header, by_index


def f32(v):
    return np.asarray(v, dtype=np.float32).astype(np.float64)


def margin(s):
    if len(s) < 2:
        return 0.0
    top = np.sort(s)[::-1]
    return float(top[0] - top[1])


def main(fp32_path, variant_path):
    _, base = scored(fp32_path)
    _, cand = scored(variant_path)
    out = dict(videos=0, videos_agreeing=0, views=0, views_agreeing=0, max_abs_prob_diff=0.0,
               max_abs_logit_diff=None, changed=[])
    margins = []
    for index in sorted(base):
        b = base[index]
        c = cand.get(index)
        if c is None or c["id"] != b["id"]:
            continue
        out["videos"] += 1
        if b.get("scores") and c.get("scores") and \
                int(np.argmax(f32(b["scores"]))) == int(np.argmax(f32(c["scores"]))):
            out["videos_agreeing"] += 1
        cviews = {(v["clip"], v["crop"]): v for v in c.get("views", [])}
        for vb in b.get("views", []):
            vc = cviews.get((vb["clip"], vb["crop"]))
            if vc is None:
                continue
            out["views"] += 1
            sb, sc = f32(vb["scores"]), f32(vc["scores"])
            m = margin(sb)
            margins.append(m)
            out["max_abs_prob_diff"] = max(out["max_abs_prob_diff"], float(np.abs(sb - sc).max()))
            if vb.get("logits") is not None and vc.get("logits") is not None:
                d = float(np.abs(f32(vb["logits"]) - f32(vc["logits"])).max())
                prev = out["max_abs_logit_diff"]
                out["max_abs_logit_diff"] = d if prev is None else max(prev, d)
            tb, tc = int(np.argmax(sb)), int(np.argmax(sc))
            if tb == tc:
                out["views_agreeing"] += 1
            else:
                out["changed"].append(dict(video=b["id"], clip=vb["clip"], crop=vb["crop"],
                                           fp32_top1=tb, variant_top1=tc, fp32_margin=m))
    pct = lambda k, n: 100.0 * k / n if n else 0.0
    out["view_agreement"] = pct(out["views_agreeing"], out["views"])
    out["video_agreement"] = pct(out["videos_agreeing"], out["videos"])
    out["fp32_margin_median"] = float(np.median(margins)) if margins else 0.0
    out["fp32_margin_min"] = float(np.min(margins)) if margins else 0.0
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
