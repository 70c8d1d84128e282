#!/usr/bin/env python3
"""Reference values for augur-stats' engine, computed with scipy and numpy.

Reads a JSON document from stdin (written by crates/stats/tests/oracle.rs) and writes one to stdout, with every
float as its IEEE-754 bit pattern (an unsigned integer).

* "mwu": Mann-Whitney p-values from scipy.stats.mannwhitneyu (method 'exact' or 'asymptotic' as told), and the
  Hodges-Lehmann estimate and order-statistic interval from the fully materialised, numpy-sorted matrix of
  differences canary - baseline. The index k comes from an independent exact count of the U distribution
  (Python integers, the recurrence f(m, n, u) = f(m-1, n, u-n) + f(m, n-1, u)) or from the normal quantile.
  The exact counts are cross-checked against scipy's exact p-value.
* "poisson": scipy.stats.binomtest on the canary's share of the total, and Clopper-Pearson bounds from
  scipy.stats.beta.ppf.
* "proportions": scipy.stats.chi2_contingency(correction=False) (two-sided) / the pooled z (one-sided), and
  Newcombe's hybrid-score interval.
* "adjust": scipy.stats.false_discovery_control (Benjamini-Hochberg) and Holm.
"""

import json
import math
import struct
import sys
from functools import lru_cache

try:
    import numpy as np
    import scipy
    from scipy import special, stats
except ImportError as e:  # pragma: no cover - reported by the Rust test
    print(f"IMPORT-ERROR: {e}", file=sys.stderr)
    sys.exit(3)

ALTERNATIVE = {"either": "two-sided", "increase": "greater", "decrease": "less"}


@lru_cache(maxsize=None)
def exact_counts(m, n):
    """counts[u] = number of arrangements of m canary and n baseline values with U = u (Python ints)."""
    # f_j[u] for sizes (i, j), built row by row: f(i, j) = f(i-1, j) shifted by j + f(i, j-1).
    prev = [[1] for _ in range(n + 1)]  # i = 0: U = 0 only
    for i in range(1, m + 1):
        cur = [[1]]  # j = 0: U = 0 only
        for j in range(1, n + 1):
            a = [0] * j + prev[j]  # f(i-1, j, u - j)
            b = cur[j - 1]  # f(i, j-1, u)
            size = i * j + 1
            row = [0] * size
            for u, c in enumerate(a):
                if u < size:
                    row[u] += c
            for u, c in enumerate(b):
                row[u] += c
            cur.append(row)
        prev = cur
    return prev[n]


def ci_tail(direction, alpha):
    return alpha / 2 if direction == "either" else alpha


def mwu_case(case):
    x = np.asarray(case["canary"], dtype=float)
    y = np.asarray(case["baseline"], dtype=float)
    m, n = len(x), len(y)
    method = "exact" if case["exact"] else "asymptotic"
    alt = ALTERNATIVE[case["direction"]]
    res = stats.mannwhitneyu(x, y, alternative=alt, method=method)
    out = {"p": float(res.pvalue), "u": float(res.statistic)}

    d = np.subtract.outer(x, y).ravel()
    d.sort()
    total = d.size
    out["estimate"] = float(np.median(d))

    tail = ci_tail(case["direction"], case["alpha"])
    if case["exact"] or case["hl_exact"]:
        counts = exact_counts(m, n)
        all_total = sum(counts)
        assert all_total == math.comb(m + n, m)
    if case["hl_exact"]:
        cum, k = 0, None
        for c_u, cnt in enumerate(counts):
            cum += cnt
            if float(cum) / float(all_total) <= tail:
                k = c_u + 1
            else:
                break
    if case["exact"]:
        # Cross-check the independent exact counts with scipy's exact p-value.
        u1 = int(res.statistic)
        u = {"greater": u1, "less": m * n - u1, "two-sided": max(u1, m * n - u1)}[alt]
        sf = sum(counts[u:])
        p_ints = min(1.0, (2 if alt == "two-sided" else 1) * (sf / all_total))
        out["p_exact_ints"] = p_ints
    if not case["hl_exact"]:
        _, t = np.unique(np.concatenate([x, y]), return_counts=True)
        tie = float(np.sum(t.astype(float) ** 3 - t))
        big = m + n
        sigma = math.sqrt(max(0.0, m * n / 12.0 * ((big + 1) - tie / (big * (big - 1)))))
        z = -float(special.ndtri(tail))
        kf = math.floor(m * n / 2.0 + 0.5 - z * sigma)
        k = kf if kf >= 1 else None
    out["k"] = k
    if k is not None:
        out["lower"] = float(d[k - 1])
        out["upper"] = float(d[total - k])
    return out


def poisson_case(case):
    xc, ec, xb, eb = case["canary_events"], case["canary_exposure"], case["baseline_events"], case["baseline_exposure"]
    total = xc + xb
    pi0 = ec / (ec + eb)
    alt = ALTERNATIVE[case["direction"]]
    p = float(stats.binomtest(xc, total, pi0, alternative=alt).pvalue)
    tail = ci_tail(case["direction"], case["alpha"])
    lo = 0.0 if xc == 0 else float(stats.beta.ppf(tail, xc, total - xc + 1))
    hi = 1.0 if xc == total else float(stats.beta.ppf(1 - tail, xc + 1, total - xc))

    def diff(pi):
        return total * (pi / ec - (1 - pi) / eb)

    def ratio(pi):
        return math.inf if pi >= 1 else pi * eb / ((1 - pi) * ec)

    return {
        "p": p,
        "lower": diff(lo),
        "upper": diff(hi),
        "effect_lower": ratio(lo) - 1,
        "effect_upper": None if hi >= 1 else ratio(hi) - 1,
    }


def wilson(p, n, z):
    z2 = z * z
    denom = 1 + z2 / n
    center = (p + z2 / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / denom
    return max(0.0, center - half), min(1.0, center + half)


def proportions_case(case):
    xc, nc, xb, nb = case["canary_successes"], case["canary_trials"], case["baseline_successes"], case["baseline_trials"]
    pc, pb = xc / nc, xb / nb
    if case["direction"] == "either":
        table = np.array([[xc, nc - xc], [xb, nb - xb]], dtype=float)
        p = float(stats.chi2_contingency(table, correction=False).pvalue)
    else:
        pooled = (xc + xb) / (nc + nb)
        zstat = (pc - pb) / math.sqrt(pooled * (1 - pooled) * (1 / nc + 1 / nb))
        p = float(stats.norm.sf(zstat if case["direction"] == "increase" else -zstat))
    z = -float(special.ndtri(ci_tail(case["direction"], case["alpha"])))
    lc, uc = wilson(pc, nc, z)
    lb, ub = wilson(pb, nb, z)
    d = pc - pb
    return {
        "p": p,
        "lower": d - math.sqrt((pc - lc) ** 2 + (ub - pb) ** 2),
        "upper": d + math.sqrt((uc - pc) ** 2 + (pb - lb) ** 2),
    }


def holm(ps):
    k = len(ps)
    order = sorted(range(k), key=lambda i: (ps[i], i))
    out, running = [0.0] * k, 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (k - rank) * ps[i]))
        out[i] = running
    return out


def exact_floats(v):
    """Floats as their IEEE-754 bit patterns (u64), so the Rust side reads them bit for bit (JSON float parsers
    need not round correctly)."""
    if isinstance(v, float):
        return struct.unpack("<Q", struct.pack("<d", v))[0]
    if isinstance(v, list):
        return [exact_floats(e) for e in v]
    if isinstance(v, dict):
        return {key: exact_floats(e) for key, e in v.items()}
    return v


def main():
    doc = json.load(sys.stdin)
    result = {
        "versions": {"python": sys.version.split()[0], "numpy": np.__version__, "scipy": scipy.__version__},
        "mwu": [mwu_case(c) for c in doc["mwu"]],
        "poisson": [poisson_case(c) for c in doc["poisson"]],
        "proportions": [proportions_case(c) for c in doc["proportions"]],
        "adjust": [
            {"bh": [float(v) for v in stats.false_discovery_control(ps, method="bh")], "holm": holm(ps)}
            for ps in doc["adjust"]
        ],
    }
    json.dump(exact_floats(result), sys.stdout)


if __name__ == "__main__":
    main()
