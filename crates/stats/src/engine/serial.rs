//! Serial dependence: how much autocorrelation inflates the variance of a mean (or of a rank sum).
//!
//! Per-step metrics are autocorrelated (a slow minute is followed by a slow minute), so n steps carry the
//! information of fewer independent points and every test that assumes independence is anti-conservative
//! (reference §7: Mann–Whitney flags 40 % of A/A runs at φ = 0.7). The fix is the long-run variance: for a
//! stationary series with autocorrelations ρₖ, Var(x̄) ≈ (γ₀/n) · f with f = 1 + 2 Σₖ ρₖ (the *variance
//! inflation*; n/f is the effective sample size).
//!
//! f is estimated with an **autoregressive sieve** (Berk 1974; the AR spectral estimator at frequency 0): fit
//! AR(p) by Yule–Walker through Levinson–Durbin for p = 0 … p_max, pick p by AIC, and take
//! f = v_p / (1 − Σⱼ φⱼ)², where v_p = σ²ₑ/γ₀ is the normalized innovation variance. For AR(1) this is
//! exactly (1 + φ)/(1 − φ); higher orders absorb ARMA-like structure (a latent AR process plus measurement
//! noise) that a lag-1 plug-in would badly underestimate. On independent data AIC usually picks p = 0 and f is
//! exactly 1, so independent samples keep the exact tests.
//!
//! Estimates are only as good as the series is long: below [`MIN_POINTS`] points independence is assumed.
//! f is clamped to [1, n], n the shorter series: negative autocorrelation would make the test *more* liberal
//! if trusted, so it is ignored (conservative), and n/f never drops below one point.

/// Series shorter than this are treated as independent (f = 1): too short to estimate autocorrelation.
pub const MIN_POINTS: usize = 10;

/// Largest AR order tried: min(10, ⌊n/4⌋).
fn max_order(n: usize) -> usize {
    (n / 4).min(10)
}

/// Variance inflation f ≥ 1 of the mean of `series` (time order), by the AIC-selected AR sieve (order ≥ 1),
/// with the small-sample correction of [`pooled_variance_inflation`]. 1 for series shorter than
/// [`MIN_POINTS`], constant series, or negative dependence.
pub fn variance_inflation(series: &[f64]) -> f64 {
    let n = series.len();
    if n < MIN_POINTS {
        return 1.0;
    }
    let p_max = max_order(n);
    let mut acov = vec![0.0; p_max + 1];
    autocovariances(series, &mut acov);
    let nf = n as f64;
    for (k, g) in acov.iter_mut().enumerate() {
        *g *= nf / (nf - k as f64);
    }
    debiased_inflation(&acov, n, 1.0 / nf, nf, 0)
}

/// Variance inflation shared by two series (canary and baseline in time order) that follow the same process
/// under the null: each is centred on its own mean (so a shift between them does not count as dependence) and
/// their autocovariances are pooled, which halves the variance of the estimate. 1 when the shorter series has
/// fewer than [`MIN_POINTS`] points.
///
/// Small-sample bias is corrected to first order. Centring on the sample mean lowers every sample
/// autocovariance by about Var(x̄) = γ₀·f/n, and the divisor n lowers lag k by the factor (n − k)/n; with
/// strong dependence the plain estimate is then far too small at n = 30–100 (mean 5.0 for a true 5.5 at
/// φ = 0.7, n = 100), and the test too liberal. So lag k is rescaled by n/(n − k) and the centring loss is
/// added back (see `debiased_inflation`).
pub fn pooled_variance_inflation(a: &[f64], b: &[f64]) -> f64 {
    let short = a.len().min(b.len());
    if short < MIN_POINTS {
        return 1.0;
    }
    let p_max = max_order(short);
    let (mut ga, mut gb) = (vec![0.0; p_max + 1], vec![0.0; p_max + 1]);
    autocovariances(a, &mut ga);
    autocovariances(b, &mut gb);
    let (na, nb) = (a.len() as f64, b.len() as f64);
    let pooled: Vec<f64> = ga
        .iter()
        .zip(&gb)
        .enumerate()
        .map(|(k, (x, y))| {
            let k = k as f64;
            (na * x * na / (na - k) + nb * y * nb / (nb - k)) / (na + nb)
        })
        .collect();
    debiased_inflation(&pooled, a.len() + b.len(), 2.0 / (na + nb), short as f64, 0)
}

/// f from lag-rescaled autocovariances, with the centring loss added back once: c = γ₀·f₀·`inv_n`, f₀ the
/// uncorrected estimate. (Iterating c to its fixed point γ₀f/(n − f) feeds back: on short independent series a
/// chance f₀ of 3 at n = 30 ran away to the cap, so one step it is.) `inv_n` is the pooled 1/n of the
/// centring: each of k series loses γ₀f/nᵢ and carries weight nᵢ/N in the pool, so Σ (nᵢ/N)(1/nᵢ) = k/N.
/// `total` is the number of points behind the estimate (for AIC), `cap` the largest f reported.
fn debiased_inflation(acov: &[f64], total: usize, inv_n: f64, cap: f64, min_order: usize) -> f64 {
    let f0 = inflation_from_autocovariances(acov, total, cap, min_order);
    let c = acov[0] * f0 * inv_n;
    let shifted: Vec<f64> = acov.iter().map(|g| g + c).collect();
    inflation_from_autocovariances(&shifted, total, cap, min_order)
}

/// γ₀ … γ_P with divisor n (the biased estimator: positive semi-definite, so Levinson–Durbin is stable), P =
/// `out.len() − 1`. Centred on the sample mean; computed on values shifted by the first one, so a large level
/// does not cancel the variation.
fn autocovariances(series: &[f64], out: &mut [f64]) {
    let n = series.len();
    let shift = series[0];
    let mean = series.iter().map(|v| v - shift).sum::<f64>() / n as f64;
    let centred: Vec<f64> = series.iter().map(|v| v - shift - mean).collect();
    for (k, g) in out.iter_mut().enumerate() {
        *g = centred.iter().zip(&centred[k.min(n)..]).map(|(a, b)| a * b).sum::<f64>() / n as f64;
    }
}

/// f from autocovariances γ₀ … γ_P estimated from `n` points (see the module documentation), in [1, `cap`].
/// `acov.len() − 1` is the largest order tried; orders up to `min_order` are taken without asking AIC (0: white
/// noise competes; 1: at least an AR(1) is always fitted).
pub(crate) fn inflation_from_autocovariances(acov: &[f64], n: usize, cap: f64, min_order: usize) -> f64 {
    let g0 = acov[0];
    if !(g0 > 0.0 && g0.is_finite()) {
        return 1.0;
    }
    let p_max = acov.len() - 1;
    let rho: Vec<f64> = acov.iter().map(|g| g / g0).collect();
    let nf = n as f64;
    // Levinson–Durbin on the autocorrelations; v is the normalized innovation variance of the AR(p) fit.
    let mut phi: Vec<f64> = Vec::with_capacity(p_max);
    let mut v = 1.0;
    let mut best = (0.0, 1.0); // (AIC, f) of p = 0: white noise
    for p in 1..=p_max {
        let num = rho[p] - phi.iter().enumerate().map(|(j, a)| a * rho[p - 1 - j]).sum::<f64>();
        let k = num / v;
        if k.is_nan() {
            break;
        }
        if k.abs() >= 1.0 {
            // A unit root at the first order: as persistent as a series can look.
            if p == 1 && k > 0.0 {
                return cap.max(1.0);
            }
            break;
        }
        let previous = phi.clone();
        for j in 0..phi.len() {
            phi[j] = previous[j] - k * previous[previous.len() - 1 - j];
        }
        phi.push(k);
        v *= 1.0 - k * k;
        let aic = nf * v.ln() + 2.0 * p as f64;
        if p <= min_order || aic < best.0 {
            let denominator = 1.0 - phi.iter().sum::<f64>();
            let f = if denominator > 0.0 { v / (denominator * denominator) } else { f64::INFINITY };
            best = (aic, f);
        }
    }
    let f = best.1;
    if f.is_nan() { 1.0 } else { f.clamp(1.0, cap.max(1.0)) }
}

/// Incremental autocovariances of a growing series, for the sequential mode: O(P) per value, O(P) memory beyond
/// the first and last P values. Its [`inflation`](Self::inflation) equals [`variance_inflation`] on the values
/// pushed so far.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub(crate) struct RunningSerial {
    n: usize,
    /// The first value; every sum is of values minus it.
    shift: f64,
    sum: f64,
    /// Σₜ yₜ yₜ₋ₖ for k = 0 … P (y = value − shift).
    lagged: Vec<f64>,
    /// The first P shifted values.
    head: Vec<f64>,
    /// The last P shifted values, most recent last.
    tail: Vec<f64>,
}

/// Largest order of the sequential mode's sieve.
const SEQUENTIAL_ORDER: usize = 10;

impl RunningSerial {
    pub(crate) fn push(&mut self, value: f64) {
        if self.n == 0 {
            self.shift = value;
            self.lagged = vec![0.0; SEQUENTIAL_ORDER + 1];
        }
        let y = value - self.shift;
        self.n += 1;
        self.sum += y;
        self.lagged[0] += y * y;
        for (k, prev) in self.tail.iter().rev().enumerate() {
            self.lagged[k + 1] += y * prev;
        }
        if self.head.len() < SEQUENTIAL_ORDER {
            self.head.push(y);
        }
        if self.tail.len() == SEQUENTIAL_ORDER {
            self.tail.remove(0);
        }
        self.tail.push(y);
    }

    /// f for the values so far: [`variance_inflation`] on them when `min_order` is 0 (1 below [`MIN_POINTS`],
    /// and 1 for a state that does not hold together, e.g. a hand-edited or truncated serialized sequence).
    /// The tests check the incremental sums with it; the sequential mode uses
    /// [`conservative_inflation`](Self::conservative_inflation).
    #[cfg(test)]
    pub(crate) fn inflation(&self, min_order: usize) -> f64 {
        let n = self.n;
        if n < MIN_POINTS || !self.consistent() {
            return 1.0;
        }
        let nf = n as f64;
        let acov = self.autocovariances(max_order(n).min(SEQUENTIAL_ORDER));
        debiased_inflation(&acov, n, 1.0 / nf, nf, min_order)
    }

    /// The sequential mode's conservative f: the larger of the AR sieve's (at least an AR(1)) and the AR(1)
    /// inflation (1 + ρ⁺)/(1 − ρ⁺) at ρ⁺ = ρ̂₁ + √((1 − ρ̂₁²)/n), one standard error above the (debiased)
    /// lag-1 autocorrelation. A run checked at every step acts on every underestimate of f, and at 30–60
    /// steps the point estimate is often far too low (with it, AR(1) φ = 0.7 A/A runs were flagged 16–20 %;
    /// with the true f, 2.7 %); the upper bound brings them to about 4 % (docs/statistics.md).
    pub(crate) fn conservative_inflation(&self) -> f64 {
        let n = self.n;
        if n < MIN_POINTS || !self.consistent() {
            return 1.0;
        }
        let nf = n as f64;
        let acov = self.autocovariances(max_order(n).min(SEQUENTIAL_ORDER));
        let f = debiased_inflation(&acov, n, 1.0 / nf, nf, 1);
        if !(acov[0] > 0.0 && acov[0].is_finite()) {
            return f;
        }
        let c = acov[0] * f / nf;
        let rho = ((acov[1] + c) / (acov[0] + c)).clamp(-0.99, 0.99);
        let upper = (rho + ((1.0 - rho * rho) / nf).sqrt()).min(0.99);
        let ar1 = (1.0 + upper) / (1.0 - upper);
        f.max(ar1.min(nf)).max(1.0)
    }

    /// Whether the buffers have the lengths `push` gives them for `n` values.
    fn consistent(&self) -> bool {
        let kept = self.n.min(SEQUENTIAL_ORDER);
        self.lagged.len() == SEQUENTIAL_ORDER + 1 && self.head.len() == kept && self.tail.len() == kept
    }

    /// Lag-rescaled autocovariances γ₀ … γ_P (divisor n − k), centred on the running mean.
    fn autocovariances(&self, p_max: usize) -> Vec<f64> {
        let nf = self.n as f64;
        let mean = self.sum / nf;
        // Σₜ₌ₖ₊₁ⁿ (yₜ − ȳ)(yₜ₋ₖ − ȳ) = Σ yₜyₜ₋ₖ − ȳ (Σ_{t>k} yₜ + Σ_{t≤n−k} yₜ) + (n − k) ȳ².
        (0..=p_max)
            .map(|k| {
                let first_k: f64 = self.head[..k].iter().sum();
                let last_k: f64 = self.tail[self.tail.len() - k..].iter().sum();
                let later = self.sum - first_k;
                let earlier = self.sum - last_k;
                (self.lagged[k] - mean * (later + earlier) + (nf - k as f64) * mean * mean) / (nf - k as f64)
            })
            .collect()
    }
}

/// Mid-ranks of `values` within the series, in the series' order (1-based; ties share their mean rank).
pub(crate) fn ranks_in_order(values: &[f64]) -> Vec<f64> {
    let mut order: Vec<usize> = (0..values.len()).collect();
    order.sort_unstable_by(|&a, &b| values[a].total_cmp(&values[b]));
    let mut ranks = vec![0.0; values.len()];
    let mut i = 0;
    while i < order.len() {
        let mut j = i + 1;
        while j < order.len() && values[order[j]] == values[order[i]] {
            j += 1;
        }
        let rank = (i + j + 1) as f64 / 2.0;
        for &idx in &order[i..j] {
            ranks[idx] = rank;
        }
        i = j;
    }
    ranks
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ar1(phi: f64, n: usize, seed: u64) -> Vec<f64> {
        // A small deterministic generator (SplitMix64 + Box–Muller) keeps this test self-contained.
        let mut s = seed;
        let mut next = move || {
            s = s.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = s;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            ((z ^ (z >> 31)) >> 11) as f64 / (1u64 << 53) as f64
        };
        let mut x = 0.0;
        (0..n)
            .map(|_| {
                let (u1, u2) = (next().max(1e-300), next());
                let e = (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos();
                x = phi * x + e;
                x
            })
            .collect()
    }

    #[test]
    fn ar1_inflation_is_close_to_theory() {
        // (1 + φ)/(1 − φ): 1.857 at φ = 0.3, 5.667 at φ = 0.7; a long series pins it down.
        for (phi, theory) in [(0.3, 1.3 / 0.7), (0.7, 1.7 / 0.3)] {
            let f = variance_inflation(&ar1(phi, 20_000, 7));
            assert!((f / theory - 1.0).abs() < 0.15, "φ={phi}: f={f}, theory {theory}");
        }
    }

    #[test]
    fn independent_and_short_series_are_not_inflated() {
        assert_eq!(variance_inflation(&[1.0, 2.0, 3.0]), 1.0);
        assert_eq!(variance_inflation(&[5.0; 50]), 1.0);
        let f = variance_inflation(&ar1(0.0, 5_000, 3));
        assert!((1.0..1.1).contains(&f), "{f}");
        // Alternating (negatively correlated) data would shrink the variance; augur never trusts that.
        let alternating: Vec<f64> = (0..100).map(|i| if i % 2 == 0 { 1.0 } else { -1.0 }).collect();
        assert_eq!(variance_inflation(&alternating), 1.0);
    }

    #[test]
    fn a_trend_is_heavily_inflated_and_capped_at_n() {
        let trend: Vec<f64> = (0..40).map(f64::from).collect();
        let f = variance_inflation(&trend);
        assert!(f > 10.0 && f <= 40.0, "{f}");
    }

    #[test]
    fn scale_and_level_do_not_matter() {
        let x = ar1(0.5, 200, 11);
        let y: Vec<f64> = x.iter().map(|v| 1e6 + 1e-2 * v).collect();
        let (fx, fy) = (variance_inflation(&x), variance_inflation(&y));
        assert!((fx / fy - 1.0).abs() < 1e-6, "{fx} {fy}");
    }

    #[test]
    fn running_matches_batch() {
        let x = ar1(0.6, 300, 5);
        let mut r = RunningSerial::default();
        for (i, &v) in x.iter().enumerate() {
            r.push(v);
            if (i + 1) % 37 == 0 || i + 1 == MIN_POINTS {
                let (a, b) = (r.inflation(0), variance_inflation(&x[..=i]));
                assert!((a / b - 1.0).abs() < 1e-9, "n={}: running {a}, batch {b}", i + 1);
            }
        }
        assert!(r.inflation(0) > 2.0 && r.inflation(1) > 2.0);
        assert!(r.conservative_inflation() >= r.inflation(1));
        // A state whose buffers do not match its count is treated as independent, not indexed out of range.
        let mut broken = r.clone();
        broken.tail.clear();
        assert_eq!(broken.inflation(1), 1.0);
        assert_eq!(broken.conservative_inflation(), 1.0);
    }

    #[test]
    fn mid_ranks_in_series_order() {
        assert_eq!(ranks_in_order(&[3.0, 1.0, 2.0, 1.0]), vec![4.0, 1.5, 3.0, 1.5]);
    }
}
