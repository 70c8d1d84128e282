//! The exact null distribution of the Mann–Whitney U statistic for untied samples.
//!
//! The number of arrangements of m canary and n baseline values with U = u is the coefficient of qᵘ in the
//! Gaussian binomial [m+n choose m]_q = ∏_{i=1..s} (1 − q^{l+i}) / (1 − q^i), s = min(m, n), l = max(m, n).
//! Multiplying by (1 − q^{l+i}) and then dividing by (1 − q^i) (a running sum with stride i) keeps every
//! intermediate polynomial a Gaussian binomial [l+i choose i]_q, so all coefficients stay within
//! C(m+n, m); they are computed in exact `i128` arithmetic, only up to degree ⌊mn/2⌋ (the distribution is
//! symmetric). Work: s · ⌊mn/2⌋ additions. p-values are exact integer ratios, rounded once.

/// Largest C(m+n, m) for which the exact path is used: every intermediate fits an `i128` with room to spare.
const MAX_TOTAL: u128 = 1 << 126;
/// Largest number of coefficient updates, s·(⌊mn/2⌋+1), for the exact path (about 2 ms).
const MAX_WORK: u128 = 1 << 21;

/// The exact null distribution of U for sample sizes (m, n) without ties.
#[derive(Clone, Debug)]
pub struct ExactU {
    m: u64,
    n: u64,
    /// cum[u] = #{arrangements with U ≤ u}, for u ≤ ⌊mn/2⌋.
    cum: Vec<u128>,
    total: u128,
}

/// C(m+n, min(m,n)) if it is at most [`MAX_TOTAL`].
fn bounded_binomial(m: u64, n: u64) -> Option<u128> {
    let (s, l) = (u128::from(m.min(n)), u128::from(m.max(n)));
    let mut c: u128 = 1;
    for i in 1..=s {
        // c · (l+i) / i is an integer; divide by gcd(c, i) first to keep the product small.
        let g = gcd(c, i);
        c = (c / g).checked_mul((l + i) / (i / g))?;
        if c > MAX_TOTAL {
            return None;
        }
    }
    Some(c)
}

fn gcd(mut a: u128, mut b: u128) -> u128 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

/// Whether the exact distribution is available for (m, n): both non-empty, C(m+n, m) ≤ 2¹²⁶ and
/// min(m,n)·(⌊mn/2⌋+1) ≤ 2²¹. This covers every m = n ≤ 64 and, for example, 50 × 87, 20 × 643, 10 × 28 110
/// or 5 × 167 771.
pub fn exact_available(m: usize, n: usize) -> bool {
    let (m, n) = (m as u64, n as u64);
    if m == 0 || n == 0 {
        return false;
    }
    let work = u128::from(m.min(n)) * (u128::from(m) * u128::from(n) / 2 + 1);
    work <= MAX_WORK && bounded_binomial(m, n).is_some()
}

impl ExactU {
    /// The distribution for sizes (m, n), or `None` when [`exact_available`] is false.
    pub fn new(m: usize, n: usize) -> Option<ExactU> {
        if !exact_available(m, n) {
            return None;
        }
        let (m, n) = (m as u64, n as u64);
        let (s, l) = (m.min(n) as usize, m.max(n) as usize);
        let half = (m * n / 2) as usize;
        let mut c = vec![0i128; half + 1];
        c[0] = 1;
        for i in 1..=s {
            let up = l + i;
            for u in (up..=half).rev() {
                c[u] -= c[u - up];
            }
            for u in i..=half {
                c[u] += c[u - i];
            }
        }
        let mut cum = Vec::with_capacity(half + 1);
        let mut acc: u128 = 0;
        for &v in &c {
            debug_assert!(v >= 0);
            acc += v as u128;
            cum.push(acc);
        }
        // Symmetry: coefficient u equals coefficient mn − u.
        let total = if (m * n) % 2 == 0 { 2 * cum[half] - (c[half] as u128) } else { 2 * cum[half] };
        debug_assert_eq!(Some(total), bounded_binomial(m, n));
        Some(ExactU { m, n, cum, total })
    }

    /// Sample sizes (m, n).
    pub fn sizes(&self) -> (usize, usize) {
        (self.m as usize, self.n as usize)
    }

    /// C(m+n, m), the number of arrangements.
    pub fn total(&self) -> u128 {
        self.total
    }

    /// #{arrangements with U ≤ u}.
    pub fn count_le(&self, u: u64) -> u128 {
        let mn = self.m * self.n;
        let half = (self.cum.len() - 1) as u64;
        if u >= mn {
            self.total
        } else if u <= half {
            self.cum[u as usize]
        } else {
            // P(U ≤ u) = 1 − P(U ≥ u+1) = 1 − P(U ≤ mn − u − 1); mn − u − 1 < ⌈mn/2⌉ − 1 ≤ half.
            self.total - self.cum[(mn - u - 1) as usize]
        }
    }

    /// #{arrangements with U ≥ u}.
    pub fn count_ge(&self, u: u64) -> u128 {
        if u == 0 { self.total } else { self.total - self.count_le(u - 1) }
    }

    /// #{arrangements with U = u}.
    pub fn count_eq(&self, u: u64) -> u128 {
        self.count_le(u) - if u == 0 { 0 } else { self.count_le(u - 1) }
    }

    /// P(U ≤ u).
    pub fn cdf(&self, u: u64) -> f64 {
        self.count_le(u) as f64 / self.total as f64
    }

    /// P(U ≥ u) (scipy's `_MWU.sf`, which includes the mass at u).
    pub fn sf(&self, u: u64) -> f64 {
        self.count_ge(u) as f64 / self.total as f64
    }

    /// P(U = u).
    pub fn pmf(&self, u: u64) -> f64 {
        self.count_eq(u) as f64 / self.total as f64
    }

    /// The largest c with P(U ≤ c) ≤ `tail`, or `None` if even P(U ≤ 0) exceeds it.
    pub fn lower_quantile(&self, tail: f64) -> Option<u64> {
        if self.cdf(0) > tail {
            return None;
        }
        // cdf is monotone: binary search for the last c in [0, mn] with cdf(c) ≤ tail.
        let (mut lo, mut hi) = (0u64, self.m * self.n);
        while lo < hi {
            let mid = lo + (hi - lo).div_ceil(2);
            if self.cdf(mid) <= tail {
                lo = mid;
            } else {
                hi = mid - 1;
            }
        }
        Some(lo)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Brute force: enumerate all C(m+n, m) placements.
    fn brute(m: usize, n: usize) -> Vec<u128> {
        let mut counts = vec![0u128; m * n + 1];
        let total = m + n;
        for mask in 0u32..(1 << total) {
            if mask.count_ones() as usize != m {
                continue;
            }
            // Positions with bit set are canary values, ranked by position; U = Σ #baseline below each canary.
            let mut u = 0;
            let mut below = 0;
            for pos in 0..total {
                if mask & (1 << pos) != 0 {
                    u += below;
                } else {
                    below += 1;
                }
            }
            counts[u] += 1;
        }
        counts
    }

    #[test]
    fn matches_brute_force_enumeration() {
        for m in 1..=7 {
            for n in 1..=7 {
                let d = ExactU::new(m, n).unwrap();
                let b = brute(m, n);
                assert_eq!(d.total(), b.iter().sum::<u128>());
                for (u, &c) in b.iter().enumerate() {
                    assert_eq!(d.count_eq(u as u64), c, "m={m} n={n} u={u}");
                }
            }
        }
    }

    #[test]
    fn sums_to_one_and_is_symmetric() {
        for (m, n) in [(1, 1), (3, 3), (5, 4), (12, 30), (50, 50), (64, 64), (10, 6000)] {
            let d = ExactU::new(m, n).unwrap_or_else(|| panic!("{m}x{n}"));
            let mn = (m * n) as u64;
            let s: u128 = (0..=mn).map(|u| d.count_eq(u)).sum();
            assert_eq!(s, d.total());
            for u in [0, 1, mn / 3, mn / 2] {
                assert_eq!(d.count_eq(u), d.count_eq(mn - u));
            }
            assert_eq!(d.cdf(mn), 1.0);
        }
    }

    #[test]
    fn hand_computed_small_cases() {
        // 3 vs 3: 20 arrangements, U=0 once, U=1 once, U=2 twice, U=3 three times, U=4 three times, U=5 ...
        let d = ExactU::new(3, 3).unwrap();
        assert_eq!(d.total(), 20);
        let c: Vec<u128> = (0..=9).map(|u| d.count_eq(u)).collect();
        assert_eq!(c, [1, 1, 2, 3, 3, 3, 3, 2, 1, 1]);
        assert_eq!(d.cdf(0), 0.05);
        // scipy's example: males vs females, U1 = 17, two-sided p = 2·P(U ≥ 17) = 0.1111…
        let d = ExactU::new(5, 4).unwrap();
        assert_eq!(d.count_ge(17), 7);
        assert_eq!(d.total(), 126);
        // cdf: 1/126, 2/126, 4/126, 7/126 → the largest c with P(U ≤ c) ≤ 0.05 is 2.
        assert_eq!(d.lower_quantile(0.05), Some(2));
        assert_eq!(ExactU::new(3, 3).unwrap().lower_quantile(0.01), None);
    }

    #[test]
    fn availability_bounds() {
        assert!(exact_available(64, 64));
        assert!(!exact_available(66, 66));
        assert!(exact_available(10, 6000));
        assert!(!exact_available(0, 5));
        assert!(!exact_available(5000, 5000));
    }
}
