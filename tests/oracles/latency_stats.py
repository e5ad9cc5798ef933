"""numpy oracle for issue 8's latency statistics.

Usage: latency_stats.py IN.json OUT.json
IN holds {"sets": [[ms, ...], ...]}; OUT gets, per set, what numpy computes with its defaults:
percentile(x, [50, 90, 99]) (method "linear"), mean, std(ddof=1), cv = std/mean, median.
"""

import json
import sys

import numpy as np


def main():
    src, dst = sys.argv[1], sys.argv[2]
    with open(src) as f:
        sets = json.load(f)["sets"]
    out = []
    for s in sets:
        x = np.asarray(s, dtype=np.float64)
        p50, p90, p99 = np.percentile(x, [50, 90, 99])
        mean = float(np.mean(x))
        std = float(np.std(x, ddof=1)) if len(x) > 1 else 0.0
        out.append({
            "p50": float(p50), "p90": float(p90), "p99": float(p99),
            "mean": mean, "std": std, "cv": std / mean, "median": float(np.median(x)),
        })
    with open(dst, "w") as f:
        json.dump({"numpy": np.__version__, "results": out}, f)


if __name__ == "__main__":
    main()
