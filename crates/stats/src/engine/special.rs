//! Special functions: the standard normal (via statrs' `erfc` / `erfc_inv`), and binomial probabilities to full
//! relative precision for any n (Loader's saddle-point pmf plus tail summation; statrs' incomplete beta stops its
//! continued fraction after 140 terms, which is not enough for the large counts of production traffic).

use std::f64::consts::SQRT_2;

use statrs::function::erf::erfc_inv;

const LN_2PI: f64 = 1.837_877_066_409_345_5;
const LN_SQRT_2PI: f64 = 0.918_938_533_204_672_8;

/// e^(−x²) to full precision: x = m + f with m a multiple of 1/128 (so m² is exact), then
/// e^(−m²) · e^(−(2mf + f²)) (Cephes' `expx2` idea); a plain `(-x*x).exp()` loses x²·ε relative.
fn exp_neg_square(x: f64) -> f64 {
    let x = x.abs();
    let m = (x * 128.0).round() / 128.0;
    let f = x - m;
    (-(m * m)).exp() * (-(2.0 * m * f + f * f)).exp()
}

/// The complementary error function to ~1 ulp: the Taylor series of erf below 0.5, above it the even
/// continued fraction erfc(x) = 2x e^(−x²)/√π / (2x² + 1 − 1·2/(2x² + 5 − 3·4/(2x² + 9 − …))) evaluated
/// backwards with enough terms (statrs' `erfc` is off by up to ~1e-10 relative).
pub(crate) fn erfc(x: f64) -> f64 {
    if x.is_nan() {
        return f64::NAN;
    }
    if x < 0.0 {
        return 2.0 - erfc(-x);
    }
    if x < 0.5 {
        // erf(x) = 2/√π Σ (−1)ⁿ x^(2n+1) / (n! (2n+1))
        let x2 = x * x;
        let (mut term, mut sum) = (x, x);
        let mut n = 0.0;
        loop {
            n += 1.0;
            term *= -x2 / n;
            let add = term / (2.0 * n + 1.0);
            sum += add;
            if add.abs() <= 1e-17 * sum.abs() {
                break;
            }
        }
        return 1.0 - sum * std::f64::consts::FRAC_2_SQRT_PI;
    }
    if x > 27.3 {
        return 0.0;
    }
    let y = 2.0 * x * x;
    let terms = 40 + (320.0 / (x * x)) as usize;
    let mut t = 0.0;
    for k in (1..=terms).rev() {
        let k = k as f64;
        t = (2.0 * k - 1.0) * (2.0 * k) / (y + 4.0 * k + 1.0 - t);
    }
    x * std::f64::consts::FRAC_2_SQRT_PI * exp_neg_square(x) / (y + 1.0 - t)
}

/// P(Z > z) for a standard normal Z (scipy `ndtr(-z)`).
pub(crate) fn norm_sf(z: f64) -> f64 {
    0.5 * erfc(z / SQRT_2)
}

/// The upper-tail quantile: z with P(Z > z) = p, for 0 < p < 1 (statrs' `erfc_inv` polished by one Newton step
/// on [`norm_sf`]).
pub(crate) fn norm_upper_quantile(p: f64) -> f64 {
    let z = SQRT_2 * erfc_inv(2.0 * p);
    let density = exp_neg_square(z / SQRT_2) / (2.0 * std::f64::consts::PI).sqrt();
    if density > 0.0 && z.is_finite() { z + (norm_sf(z) - p) / density } else { z }
}

/// P(T > t) for Student's t with `df` degrees of freedom (statrs), `df` ≥ 1 (real-valued).
pub(crate) fn t_sf(t: f64, df: f64) -> f64 {
    use statrs::distribution::{ContinuousCDF, StudentsT};
    match StudentsT::new(0.0, 1.0, df.max(1.0)) {
        Ok(d) => d.sf(t),
        Err(_) => norm_sf(t),
    }
}

/// The upper-tail quantile of Student's t with `df` degrees of freedom: t with P(T > t) = p (statrs).
pub(crate) fn t_upper_quantile(p: f64, df: f64) -> f64 {
    use statrs::distribution::{ContinuousCDF, StudentsT};
    match StudentsT::new(0.0, 1.0, df.max(1.0)) {
        Ok(d) => d.inverse_cdf(1.0 - p),
        Err(_) => norm_upper_quantile(p),
    }
}

/// Stirling's error ln(n!) − [(n + ½) ln n − n + ln √(2π)], for integer n ≥ 1.
fn stirlerr(n: f64) -> f64 {
    const S0: f64 = 1.0 / 12.0;
    const S1: f64 = 1.0 / 360.0;
    const S2: f64 = 1.0 / 1260.0;
    const S3: f64 = 1.0 / 1680.0;
    const S4: f64 = 1.0 / 1188.0;
    if n <= 15.0 {
        // n! is exact in f64 here; the exponent error is ~1e-14 absolute, i.e. ~1e-14 relative in the pmf.
        let mut f = 1.0;
        let mut i = 2.0;
        while i <= n {
            f *= i;
            i += 1.0;
        }
        return f.ln() - (n + 0.5) * n.ln() + n - LN_SQRT_2PI;
    }
    let nn = n * n;
    if n > 500.0 {
        (S0 - S1 / nn) / n
    } else if n > 80.0 {
        (S0 - (S1 - S2 / nn) / nn) / n
    } else if n > 35.0 {
        (S0 - (S1 - (S2 - S3 / nn) / nn) / nn) / n
    } else {
        (S0 - (S1 - (S2 - (S3 - S4 / nn) / nn) / nn) / nn) / n
    }
}

/// The deviance term x ln(x/np) + np − x, without cancellation when x ≈ np (Loader 2000).
fn bd0(x: f64, np: f64) -> f64 {
    if (x - np).abs() < 0.1 * (x + np) {
        let mut v = (x - np) / (x + np);
        let mut s = (x - np) * v;
        if s.abs() < f64::MIN_POSITIVE {
            return s;
        }
        let mut ej = 2.0 * x * v;
        v *= v;
        for j in 1..1000 {
            ej *= v;
            let s1 = s + ej / f64::from(2 * j + 1);
            if s1 == s {
                return s1;
            }
            s = s1;
        }
    }
    x * (x / np).ln() + np - x
}

/// Binomial(n, p) with `q = 1 − p` carried separately.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Binomial {
    n: u64,
    p: f64,
    q: f64,
}

impl Binomial {
    /// Requires 0 < p < 1.
    pub(crate) fn new(n: u64, p: f64) -> Self {
        Binomial { n, p, q: 1.0 - p }
    }

    /// ln P(X = x), Loader's saddle-point form (as R's `dbinom_raw`).
    pub(crate) fn ln_pmf(&self, x: u64) -> f64 {
        let (n, p, q) = (self.n as f64, self.p, self.q);
        if x > self.n {
            return f64::NEG_INFINITY;
        }
        if x == 0 {
            if self.n == 0 {
                return 0.0;
            }
            return if p < 0.1 { -bd0(n, n * q) - n * p } else { n * q.ln() };
        }
        if x == self.n {
            return if q < 0.1 { -bd0(n, n * p) - n * q } else { n * p.ln() };
        }
        let xf = x as f64;
        let lc = stirlerr(n) - stirlerr(xf) - stirlerr(n - xf) - bd0(xf, n * p) - bd0(n - xf, n * q);
        let lf = LN_2PI + xf.ln() + (-xf / n).ln_1p();
        lc - 0.5 * lf
    }

    pub(crate) fn pmf(&self, x: u64) -> f64 {
        self.ln_pmf(x).exp()
    }

    /// The mode ⌊(n + 1)p⌋ (clamped to n).
    fn mode(&self) -> u64 {
        (((self.n as f64) + 1.0) * self.p).floor().min(self.n as f64) as u64
    }

    /// Σ_{k ≤ x} P(X = k) for x below the mode: the terms fall as k falls.
    fn lower_sum(&self, x: u64) -> f64 {
        let mut t = self.pmf(x);
        let mut s = t;
        let r = self.q / self.p;
        let mut k = x;
        while k > 0 && t > 0.0 {
            t *= (k as f64) / ((self.n - k + 1) as f64) * r;
            k -= 1;
            s += t;
            if t <= s * 1e-17 {
                break;
            }
        }
        s
    }

    /// Σ_{k ≥ x} P(X = k) for x above the mode: the terms fall as k rises.
    fn upper_sum(&self, x: u64) -> f64 {
        let mut t = self.pmf(x);
        let mut s = t;
        let r = self.p / self.q;
        let mut k = x;
        while k < self.n && t > 0.0 {
            t *= ((self.n - k) as f64) / ((k + 1) as f64) * r;
            k += 1;
            s += t;
            if t <= s * 1e-17 {
                break;
            }
        }
        s
    }

    /// P(X ≤ x).
    pub(crate) fn cdf(&self, x: u64) -> f64 {
        if x >= self.n {
            1.0
        } else if x < self.mode() {
            self.lower_sum(x)
        } else {
            1.0 - self.upper_sum(x + 1)
        }
    }

    /// P(X ≥ x).
    pub(crate) fn sf_ge(&self, x: u64) -> f64 {
        if x == 0 {
            1.0
        } else if x > self.n {
            0.0
        } else if x > self.mode() {
            self.upper_sum(x)
        } else {
            1.0 - self.lower_sum(x - 1)
        }
    }

    /// Two-sided p-value of `x` by the "minlike" rule (sum of the probabilities of all outcomes no more likely
    /// than `x`, with a relative slack of 1e-7), mirroring `scipy.stats.binomtest` and R's `binom.test`.
    pub(crate) fn two_sided_p(&self, x: u64) -> f64 {
        let n = self.n;
        let pn = self.p * n as f64;
        let d = self.pmf(x);
        let rerr = 1.0 + 1e-7;
        let xf = x as f64;
        let p = if xf == pn {
            1.0
        } else if xf < pn {
            let ix = binary_search(|i| -self.pmf(i), -d * rerr, pn.ceil() as i64, n as i64);
            let y = n as i64 - ix + i64::from(d * rerr == self.pmf(ix.max(0) as u64));
            // scipy: cdf(k) + sf(n − y) with sf(j) = P(X > j).
            self.cdf(x) + self.sf_ge((n as i64 - y + 1).max(0) as u64)
        } else {
            let ix = binary_search(|i| self.pmf(i), d * rerr, 0, pn.floor() as i64);
            let y = ix + 1;
            let lower = if y >= 1 { self.cdf((y - 1) as u64) } else { 0.0 };
            lower + self.sf_ge(x)
        };
        p.min(1.0)
    }
}

/// scipy's `_binary_search_for_binom_tst`: the index i in [lo, hi] with a(i) ≤ d < a(i + 1), for `a` ascending
/// on the range (may return lo − 1).
fn binary_search(a: impl Fn(u64) -> f64, d: f64, mut lo: i64, mut hi: i64) -> i64 {
    let at = |i: i64| a(i.max(0) as u64);
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        let v = at(mid);
        if v < d {
            lo = mid + 1;
        } else if v > d {
            hi = mid - 1;
        } else {
            return mid;
        }
    }
    if at(lo) <= d { lo } else { lo - 1 }
}

/// Maps an f64 to an i64 whose order is the numeric order (−0 just below +0).
pub(crate) fn ordered_key(x: f64) -> i64 {
    let b = x.to_bits() as i64;
    b ^ ((((b >> 63) as u64) >> 1) as i64)
}

/// Inverse of [`ordered_key`].
pub(crate) fn from_ordered_key(k: i64) -> f64 {
    let b = k ^ ((((k >> 63) as u64) >> 1) as i64);
    f64::from_bits(b as u64)
}

/// The midpoint of two floats in [`ordered_key`] space: bisection that halves the number of representable
/// values, so it ends after at most 64 steps whatever the scale.
pub(crate) fn key_midpoint(a: f64, b: f64) -> f64 {
    let (ka, kb) = (i128::from(ordered_key(a)), i128::from(ordered_key(b)));
    from_ordered_key(((ka + kb).div_euclid(2)) as i64)
}

/// The smallest π in [0, 1] with `f(π)` true, for `f` monotone (false … true) with f(1) true; found by bisection
/// on the representable values, to the last bit.
pub(crate) fn bisect_probability(f: impl Fn(f64) -> bool) -> f64 {
    let (mut lo, mut hi) = (0.0_f64, 1.0_f64);
    if f(lo) {
        return lo;
    }
    // Invariant: f(lo) false, f(hi) true.
    loop {
        let mid = key_midpoint(lo, hi);
        if mid <= lo || mid >= hi {
            return hi;
        }
        if f(mid) {
            hi = mid;
        } else {
            lo = mid;
        }
    }
}

/// Clopper–Pearson bounds for a binomial proportion with `x` successes of `n`, each tail `tail`:
/// the lower bound solves P(X ≥ x | π) = tail, the upper P(X ≤ x | π) = tail.
pub(crate) fn clopper_pearson(x: u64, n: u64, tail: f64) -> (f64, f64) {
    let lower = if x == 0 { 0.0 } else { bisect_probability(|p| p >= 1.0 || Binomial::new(n, p).sf_ge(x) >= tail) };
    let upper = if x >= n { 1.0 } else { bisect_probability(|p| p >= 1.0 || Binomial::new(n, p).cdf(x) <= tail) };
    (lower, upper)
}

/// ln(1 + eˣ) without overflow.
pub(crate) fn softplus(x: f64) -> f64 {
    if x > 0.0 { x + (-x).exp().ln_1p() } else { x.exp().ln_1p() }
}

/// ln Σ exp(vᵢ).
pub(crate) fn log_sum_exp(v: &[f64]) -> f64 {
    let m = v.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    if m.is_infinite() {
        return m;
    }
    m + v.iter().map(|x| (x - m).exp()).sum::<f64>().ln()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rel(a: f64, b: f64) -> f64 {
        if a == b { 0.0 } else { ((a - b) / b).abs() }
    }

    #[test]
    fn binomial_pmf_matches_direct_products() {
        // C(10,3) 0.3^3 0.7^7
        let b = Binomial::new(10, 0.3);
        let direct = 120.0 * 0.3f64.powi(3) * 0.7f64.powi(7);
        assert!(rel(b.pmf(3), direct) < 1e-13, "{} vs {direct}", b.pmf(3));
        let total: f64 = (0..=10).map(|k| b.pmf(k)).sum();
        assert!((total - 1.0).abs() < 1e-14);
        assert!(rel(b.cdf(3), (0..=3).map(|k| b.pmf(k)).sum()) < 1e-14);
        assert!(rel(b.sf_ge(4), (4..=10).map(|k| b.pmf(k)).sum()) < 1e-13);
        assert!((b.cdf(3) + b.sf_ge(4) - 1.0).abs() < 1e-15);
    }

    #[test]
    fn large_binomial_tails_are_consistent() {
        let b = Binomial::new(1_000_000, 0.01);
        let (lo, hi) = (b.cdf(9_700), b.sf_ge(9_701));
        assert!((lo + hi - 1.0).abs() < 1e-13, "{lo} + {hi}");
        assert!(b.sf_ge(11_000) < 1e-20 && b.sf_ge(11_000) > 0.0);
    }

    #[test]
    fn clopper_pearson_solves_its_equations() {
        let (l, u) = clopper_pearson(7, 20, 0.025);
        assert!(rel(Binomial::new(20, l).sf_ge(7), 0.025) < 1e-12);
        assert!(rel(Binomial::new(20, u).cdf(7), 0.025) < 1e-12);
        assert_eq!(clopper_pearson(0, 5, 0.025).0, 0.0);
        assert_eq!(clopper_pearson(5, 5, 0.025).1, 1.0);
        // x = n: lower bound is tail^(1/n).
        assert!(rel(clopper_pearson(5, 5, 0.025).0, 0.025f64.powf(0.2)) < 1e-13);
    }

    #[test]
    fn ordered_keys_round_trip_and_order() {
        let xs = [-f64::INFINITY, -1e300, -1.0, -1e-300, -0.0, 0.0, 1e-300, 1.0, 1e300, f64::INFINITY];
        for w in xs.windows(2) {
            assert!(ordered_key(w[0]) < ordered_key(w[1]));
        }
        for &x in &xs {
            assert_eq!(from_ordered_key(ordered_key(x)).to_bits(), x.to_bits());
        }
        let m = key_midpoint(-1.0, 1.0);
        assert!((-1.0..=1.0).contains(&m));
    }

    #[test]
    fn erfc_reference_values() {
        // scipy.special.erfc
        for (x, want) in [
            (0.1, 0.887_537_083_981_715_2),
            (0.5, 0.479_500_122_186_953_5),
            (1.125_837_716_730_521_8, 0.111_345_396_057_111_97),
            (2.0, 0.004_677_734_981_047_266),
            (5.0, 1.537_459_794_428_034_7e-12),
            (20.0, 5.395_865_611_607_901e-176),
            (-1.0, 1.842_700_792_949_714_8),
            (0.0, 1.0),
            (1e-300, 1.0),
        ] {
            assert!(rel(erfc(x), want) < 2e-15, "erfc({x}) = {} vs {want}", erfc(x));
        }
    }

    #[test]
    fn normal_quantile_and_tail() {
        assert!(rel(norm_upper_quantile(0.025), 1.959_963_984_540_054) < 1e-14);
        assert!(rel(norm_sf(1.959_963_984_540_054), 0.025) < 1e-14);
        assert!(rel(norm_upper_quantile(0.01), 2.326_347_874_040_841) < 1e-14);
    }
}
