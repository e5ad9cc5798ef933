"""Oracle for tests/gate_mannwhitney_scipy.rs: scipy's one-sided Mann-Whitney U.

argv[1]: a JSON file [{"a": [...], "b": [...], "method": "auto"|"exact"|"asymptotic"}, ...].
Prints [{"u": U of b, "p": P(b stochastically greater)}, ...] as JSON on stdout.
"""
import json
import sys

from scipy.stats import mannwhitneyu


def main():
    with open(sys.argv[1]) as f:
        cases = json.load(f)
    out = []
    for c in cases:
        r = mannwhitneyu(c["b"], c["a"], alternative="greater", method=c["method"], use_continuity=True)
        out.append({"u": float(r.statistic), "p": float(r.pvalue)})
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
