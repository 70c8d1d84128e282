//! The Hodges–Lehmann shift (median of all m·n differences canary − baseline) and its distribution-free
//! order-statistic confidence interval, by selection on the implicit sorted difference matrix.
//!
//! With x (canary) and y (baseline) sorted ascending, dᵢⱼ = fl(xᵢ − yⱼ) is non-decreasing in i and
//! non-increasing in j (rounding is monotone), so #{dᵢⱼ ≤ t} is one O(m + n) two-pointer scan, which also
//! yields the largest element ≤ t and the smallest element > t. The k-th smallest element is found by
//! shrinking a bracket (lo, hi] with count(lo) < k ≤ count(hi): the probe is a linear interpolation in count
//! space, replaced by a bisection of the representable floats whenever a probe fails to halve the count
//! range (so at most ~128 scans in the worst case, ~10–20 in practice); hi always snaps to a matrix element.
//! Once the bracket holds at most 4(m + n) elements they are listed and the answer picked by `select_nth`.
//! The m·n differences are never materialised, the result is an actual matrix element (bit-identical to
//! `numpy.subtract.outer` + sort), and no tolerance is involved.

use serde::{Deserialize, Serialize};

use super::config::Direction;
use super::exact::ExactU;
use super::mann_whitney::ci_rank;
use super::rank::{rank_stats, sorted};
use super::special::key_midpoint;

struct Scan {
    count: u64,
    /// The largest element ≤ t (−∞ if none).
    max_le: f64,
    /// The smallest element > t (+∞ if none).
    min_gt: f64,
}

fn scan(x: &[f64], y: &[f64], t: f64) -> Scan {
    let n = y.len();
    let mut p = 0usize;
    let mut count = 0u64;
    let mut max_le = f64::NEG_INFINITY;
    let mut min_gt = f64::INFINITY;
    for &xi in x {
        // p = first j with xi − y[j] ≤ t; non-decreasing in i.
        while p < n && xi - y[p] > t {
            p += 1;
        }
        if p > 0 {
            min_gt = min_gt.min(xi - y[p - 1]);
        }
        if p == n {
            // This and every later row lie entirely above t; later rows' minima are larger.
            break;
        }
        max_le = max_le.max(xi - y[p]);
        count += (n - p) as u64;
    }
    Scan { count, max_le, min_gt }
}

/// The r-th smallest (1-based) of the elements in (lo, hi].
fn enumerate(x: &[f64], y: &[f64], lo: f64, hi: f64, r: u64) -> f64 {
    let n = y.len();
    let (mut p_hi, mut p_lo) = (0usize, 0usize);
    let mut v = Vec::new();
    for &xi in x {
        while p_hi < n && xi - y[p_hi] > hi {
            p_hi += 1;
        }
        while p_lo < n && xi - y[p_lo] > lo {
            p_lo += 1;
        }
        if p_hi == n {
            break;
        }
        v.extend(y[p_hi..p_lo].iter().map(|&yj| xi - yj));
    }
    let idx = (r - 1) as usize;
    *v.select_nth_unstable_by(idx, f64::total_cmp).1
}

/// The k-th smallest (1-based) of the m·n differences xᵢ − yⱼ of two sorted, finite, non-empty samples.
pub(crate) fn kth_smallest(x: &[f64], y: &[f64], k: u64) -> f64 {
    let (m, n) = (x.len(), y.len());
    let total = m as u64 * n as u64;
    assert!(k >= 1 && k <= total, "k = {k} outside 1..={total}");
    let limit = (4 * (m + n)).max(4096) as u64;
    let (mut lo, mut c_lo, mut lo_next) = (f64::NEG_INFINITY, 0u64, x[0] - y[n - 1]);
    let (mut hi, mut c_hi) = (x[m - 1] - y[0], total);
    let mut bisect = false;
    loop {
        if lo_next >= hi {
            return hi;
        }
        if c_hi - c_lo <= limit {
            return enumerate(x, y, lo, hi, k - c_lo);
        }
        let before = c_hi - c_lo;
        let mut t = if bisect {
            key_midpoint(lo_next, hi)
        } else {
            let f = (k - c_lo) as f64 / (c_hi - c_lo) as f64;
            lo_next + (hi - lo_next) * f
        };
        if !(t >= lo_next && t < hi) {
            t = key_midpoint(lo_next, hi);
        }
        let s = scan(x, y, t);
        if s.count >= k {
            hi = s.max_le;
            c_hi = s.count;
        } else {
            lo = t;
            c_lo = s.count;
            lo_next = s.min_gt;
        }
        bisect = (c_hi - c_lo) * 2 > before;
    }
}

/// The median of the m·n differences (mean of the two middle ones when m·n is even, as numpy's median).
pub(crate) fn median_difference(x: &[f64], y: &[f64]) -> f64 {
    let total = x.len() as u64 * y.len() as u64;
    if total % 2 == 1 {
        return kth_smallest(x, y, total.div_ceil(2)) + 0.0;
    }
    let a = kth_smallest(x, y, total / 2);
    let s = scan(x, y, a);
    let b = if s.count > total / 2 { a } else { s.min_gt };
    let mid = (a + b) / 2.0;
    (if mid.is_finite() { mid } else { a / 2.0 + b / 2.0 }) + 0.0
}

/// The Hodges–Lehmann estimate and interval.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HodgesLehmann {
    /// Median of all differences canary − baseline.
    pub estimate: f64,
    /// d₍ₖ₎, or `None` when the samples are too small for the level (unbounded).
    pub lower: Option<f64>,
    /// d₍ₘₙ₋ₖ₊₁₎, or `None` likewise.
    pub upper: Option<f64>,
    /// The order-statistic index k (1-based), if any.
    pub k: Option<u64>,
    /// Whether k came from the exact distribution of U (untied data) rather than the normal approximation.
    pub exact: bool,
}

/// Estimate and interval from sorted samples; `tail` is the probability in each tail, `inflation` the
/// serial-dependence variance factor of U (1 for independent steps).
pub(crate) fn from_sorted(
    x: &[f64],
    y: &[f64],
    tail: f64,
    exact: Option<&ExactU>,
    tie_term: f64,
    inflation: f64,
) -> HodgesLehmann {
    let (m, n) = (x.len(), y.len());
    let total = m as u64 * n as u64;
    let estimate = median_difference(x, y);
    let k = ci_rank(m, n, tail, exact, tie_term, inflation);
    let (lower, upper) = match k {
        Some(k) => (Some(kth_smallest(x, y, k) + 0.0), Some(kth_smallest(x, y, total - k + 1) + 0.0)),
        None => (None, None),
    };
    HodgesLehmann { estimate, lower, upper, k, exact: exact.is_some() }
}

/// The Hodges–Lehmann shift of `canary` over `baseline` and its confidence interval at level 1 − α (two-sided,
/// `either`) or with α in the relevant tail (`increase` / `decrease`, reported as the 1 − 2α two-sided interval).
/// `None` if a sample is empty or holds a non-finite value.
pub fn hodges_lehmann(canary: &[f64], baseline: &[f64], direction: Direction, alpha: f64) -> Option<HodgesLehmann> {
    if canary.is_empty() || baseline.is_empty() || canary.iter().chain(baseline).any(|v| !v.is_finite()) {
        return None;
    }
    let (x, y) = (sorted(canary), sorted(baseline));
    let rs = rank_stats(&x, &y);
    let exact = if rs.ties { None } else { ExactU::new(x.len(), y.len()) };
    Some(from_sorted(&x, &y, direction.ci_tail(alpha), exact.as_ref(), rs.tie_term, 1.0))
}

/// The k-th smallest (1-based) of all differences canary − baseline, without materialising them.
/// `None` if k is out of range or a sample is empty or non-finite.
pub fn kth_pairwise_difference(canary: &[f64], baseline: &[f64], k: u64) -> Option<f64> {
    let total = canary.len() as u64 * baseline.len() as u64;
    if k == 0 || k > total || canary.iter().chain(baseline).any(|v| !v.is_finite()) {
        return None;
    }
    Some(kth_smallest(&sorted(canary), &sorted(baseline), k))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all_sorted(x: &[f64], y: &[f64]) -> Vec<f64> {
        let mut d: Vec<f64> = x.iter().flat_map(|&a| y.iter().map(move |&b| a - b)).collect();
        d.sort_by(f64::total_cmp);
        d
    }

    fn lcg(seed: &mut u64) -> f64 {
        *seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
        (*seed >> 11) as f64 / (1u64 << 53) as f64
    }

    #[test]
    fn selection_matches_full_sort() {
        let mut seed = 7u64;
        for (m, n, levels) in [(1, 1, 0), (1, 7, 0), (9, 1, 0), (13, 17, 0), (40, 35, 5), (120, 90, 0), (150, 160, 3)] {
            let draw = |seed: &mut u64, len: usize| -> Vec<f64> {
                (0..len)
                    .map(|_| {
                        let v = lcg(seed) * 100.0 - 30.0;
                        if levels > 0 { (v / 100.0 * levels as f64).floor() } else { v }
                    })
                    .collect()
            };
            let x = sorted(&draw(&mut seed, m));
            let y = sorted(&draw(&mut seed, n));
            let all = all_sorted(&x, &y);
            for k in 1..=all.len() as u64 {
                if all.len() > 2000 && k % 97 != 1 && k != all.len() as u64 {
                    continue;
                }
                assert_eq!(kth_smallest(&x, &y, k), all[k as usize - 1], "m={m} n={n} k={k}");
            }
            let med = if all.len() % 2 == 1 {
                all[all.len() / 2]
            } else {
                (all[all.len() / 2 - 1] + all[all.len() / 2]) / 2.0
            };
            assert_eq!(median_difference(&x, &y), med);
        }
    }

    #[test]
    fn extreme_scales_are_exact() {
        let x = sorted(&[1e-300, 3e-300, 2e-300, 5e-301]);
        let y = sorted(&[1e-300, -2e-300, 7e-301]);
        let all = all_sorted(&x, &y);
        for k in 1..=12 {
            assert_eq!(kth_smallest(&x, &y, k), all[k as usize - 1]);
        }
        let x = sorted(&[1e300, -1e300, 5e299]);
        let y = sorted(&[1e300, -1e300]);
        let all = all_sorted(&x, &y);
        for k in 1..=6 {
            assert_eq!(kth_smallest(&x, &y, k), all[k as usize - 1]);
        }
    }

    #[test]
    fn heavy_ties_terminate_quickly() {
        let x: Vec<f64> = (0..3000).map(|i| f64::from(i % 3)).collect();
        let y: Vec<f64> = (0..3000).map(|i| f64::from(i % 2)).collect();
        let (x, y) = (sorted(&x), sorted(&y));
        assert_eq!(kth_smallest(&x, &y, 1), -1.0);
        assert_eq!(kth_smallest(&x, &y, 4_500_000), 0.0);
        assert_eq!(kth_smallest(&x, &y, 9_000_000), 2.0);
    }

    #[test]
    fn interval_textbook_case() {
        // 10 vs 10 untied, 95 %: k = 24 → [d(24), d(77)].
        let x: Vec<f64> = (0..10).map(|i| f64::from(i) * 1.5 + 3.0).collect();
        let y: Vec<f64> = (0..10).map(|i| f64::from(i) * 1.25 + 0.1).collect();
        let hl = hodges_lehmann(&x, &y, Direction::Either, 0.05).unwrap();
        let all = all_sorted(&sorted(&x), &sorted(&y));
        assert_eq!(hl.k, Some(24));
        assert_eq!(hl.lower, Some(all[23]));
        assert_eq!(hl.upper, Some(all[100 - 24]));
        assert!(hl.exact);
        assert_eq!(hl.estimate, (all[49] + all[50]) / 2.0);
    }
}
