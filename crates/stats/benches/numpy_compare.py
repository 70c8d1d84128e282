#!/usr/bin/env python3
"""augur's continuous judgement vs the same computation in numpy/scipy, on the same machine and data.

    python3 crates/stats/benches/numpy_compare.py [--n 5000] [--runs 7] [--iterations 200]

Writes 5,000 baseline and 5,000 canary samples (N(100, 10) and N(101, 10), numpy seed 5) to a temporary
directory, one number per line (repr, so both sides read identical doubles), then

* times the numpy/scipy implementation: scipy.stats.mannwhitneyu (two-sided, asymptotic, tie-corrected,
  continuity-corrected: what augur computes at this size) for the p-value, and the Hodges-Lehmann estimate and
  its order-statistic confidence interval from all m*n pairwise differences (np.subtract.outer +
  np.partition), with k from the normal quantile of U exactly as augur's `ci_rank` does it;
  median of --runs runs;
* runs the release example `bench_vs_numpy` on the same files, which prints the median of --iterations
  judgements of both Rust engines;
* checks that the two implementations agree and prints the timings and the ratio.

Needs numpy and scipy. Builds the example with cargo if needed.
"""

import argparse
import json
import math
import os
import subprocess
import sys
import tempfile
import time

import numpy as np
from scipy import stats

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))


def judge_numpy(baseline, canary, alpha=0.05):
    """The augur engine's continuous `either` judgement (margin 0), in numpy/scipy."""
    m, n = len(canary), len(baseline)
    p = stats.mannwhitneyu(canary, baseline, alternative="two-sided", method="asymptotic").pvalue
    # Tie term sum(t^3 - t) for the interval's sigma_U, as scipy uses it for the p-value.
    _, t = np.unique(np.concatenate([canary, baseline]), return_counts=True)
    tie_term = float(np.sum(t.astype(np.float64) ** 3 - t))
    big_n = m + n
    sigma = math.sqrt(m * n / 12.0 * ((big_n + 1) - tie_term / (big_n * (big_n - 1))))
    total = m * n
    k = math.floor(total / 2 + 0.5 - stats.norm.isf(alpha / 2) * sigma)
    d = np.subtract.outer(canary, baseline).ravel()
    kth = sorted({k - 1, total - k, (total - 1) // 2, total // 2})
    part = np.partition(d, kth)
    estimate = (part[(total - 1) // 2] + part[total // 2]) / 2.0
    lower, upper = part[k - 1], part[total - k]
    if p <= alpha and lower > 0:
        classification = "High"
    elif p <= alpha and upper < 0:
        classification = "Low"
    else:
        classification = "Pass"
    return {
        "classification": classification,
        "pValue": float(p),
        "estimate": float(estimate),
        "ciLower": float(lower),
        "ciUpper": float(upper),
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=5000, help="samples per side (default 5000)")
    ap.add_argument("--runs", type=int, default=7, help="numpy/scipy runs, median reported (default 7)")
    ap.add_argument("--iterations", type=int, default=200, help="Rust judgements, median reported (default 200)")
    args = ap.parse_args()

    rng = np.random.default_rng(5)
    baseline = rng.normal(100.0, 10.0, args.n)
    canary = rng.normal(101.0, 10.0, args.n)

    with tempfile.TemporaryDirectory() as tmp:
        bpath, cpath = os.path.join(tmp, "baseline.txt"), os.path.join(tmp, "canary.txt")
        for path, values in ((bpath, baseline), (cpath, canary)):
            with open(path, "w") as f:
                f.write("\n".join(repr(float(v)) for v in values) + "\n")
        # Python reads back the same text, so both sides judge identical doubles.
        baseline = np.loadtxt(bpath)
        canary = np.loadtxt(cpath)

        times = []
        for _ in range(args.runs):
            start = time.perf_counter()
            py = judge_numpy(baseline, canary)
            times.append(time.perf_counter() - start)
        py_seconds = float(np.median(times))

        subprocess.run(
            ["cargo", "build", "-q", "-p", "augur-stats", "--release", "--example", "bench_vs_numpy"],
            cwd=ROOT,
            check=True,
        )
        exe = os.path.join(ROOT, "target", "release", "examples", "bench_vs_numpy")
        out = subprocess.run([exe, bpath, cpath, str(args.iterations)], check=True, capture_output=True, text=True)
        rs = json.loads(out.stdout)

    agree = (
        rs["classification"] == py["classification"]
        and math.isclose(rs["pValue"], py["pValue"], rel_tol=1e-9, abs_tol=1e-300)
        and rs["estimate"] == py["estimate"]
        and rs["ciLower"] == py["ciLower"]
        and rs["ciUpper"] == py["ciUpper"]
    )
    print(f"data: {args.n} vs {args.n}, N(100, 10) baseline, N(101, 10) canary (numpy seed 5)")
    print(f"numpy {np.__version__}, scipy {__import__('scipy').__version__}, Python {sys.version.split()[0]}")
    print(f"numpy/scipy : {py_seconds * 1e3:10.2f} ms  (median of {args.runs} runs)  {py}")
    print(
        f"augur engine: {rs['augurSeconds'] * 1e3:10.3f} ms  (median of {rs['iterations']} judgements)  "
        f"{ {k: rs[k] for k in ('classification', 'pValue', 'estimate', 'ciLower', 'ciUpper')} }"
    )
    print(f"kayenta     : {rs['kayentaSeconds'] * 1e3:10.3f} ms  ({rs['kayentaClassification']})")
    print(f"ratio numpy/scipy ÷ augur: {py_seconds / rs['augurSeconds']:.0f}x")
    print(f"results agree: {agree}")
    if not agree:
        sys.exit(1)


if __name__ == "__main__":
    main()
