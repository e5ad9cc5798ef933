"""Oracle for the paired gate statistics (tests/paired_scipy.rs).

Reads a JSON file {"binom": [[k, n], ...], "newcombe": [[both, fixed, broken, neither], ...]} and
prints {"binom": [p, ...], "newcombe": [[lo, hi], ...]}:
- binom: scipy.stats.binomtest(k, n, 0.5, alternative="two-sided").pvalue;
- newcombe: Newcombe's (1998) method 10 for candidate - baseline, built here from scipy's own
  Wilson intervals (BinomTestResult.proportion_ci(method="wilson")) and the phi correction as
  Newcombe specifies it, an implementation independent of the Rust one.
"""
import json
import math
import sys

from scipy.stats import binomtest


def wilson(x, n):
    ci = binomtest(x, n, 0.5).proportion_ci(confidence_level=0.95, method="wilson")
    return ci.low, ci.high


def newcombe(both, fixed, broken, neither):
    # Rows: candidate right/wrong; columns: baseline right/wrong.
    a, b, c, d = both, fixed, broken, neither
    n = a + b + c + d
    p1, p2 = (a + b) / n, (a + c) / n
    l1, u1 = wilson(a + b, n)
    l2, u2 = wilson(a + c, n)
    margins = (a + b) * (c + d) * (a + c) * (b + d)
    if margins == 0:
        phi = 0.0
    else:
        adbc = a * d - b * c
        num = max(adbc - n / 2, 0) if adbc > 0 else adbc
        phi = num / math.sqrt(margins)
    theta = p1 - p2
    lo = theta - math.sqrt(max((p1 - l1) ** 2 - 2 * phi * (p1 - l1) * (u2 - p2) + (u2 - p2) ** 2, 0))
    hi = theta + math.sqrt(max((u1 - p1) ** 2 - 2 * phi * (u1 - p1) * (p2 - l2) + (p2 - l2) ** 2, 0))
    return [lo, hi]


def main():
    cases = json.load(open(sys.argv[1]))
    out = {
        "binom": [float(binomtest(k, n, 0.5, alternative="two-sided").pvalue) if n > 0 else 1.0
                  for k, n in cases["binom"]],
        "newcombe": [newcombe(*t) for t in cases["newcombe"]],
    }
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
