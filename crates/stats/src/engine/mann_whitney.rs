//! The Mann–Whitney U test: exact p-values for untied samples of feasible size, otherwise the tie-corrected
//! normal approximation with continuity correction, exactly as `scipy.stats.mannwhitneyu` computes them.

use serde::{Deserialize, Serialize};

use super::config::Direction;
use super::exact::ExactU;
use super::rank::{RankStats, rank_stats, sorted};
use super::special::{norm_sf, norm_upper_quantile, t_sf, t_upper_quantile};

/// How to compute the Mann–Whitney p-value.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum UMethod {
    /// Exact when there are no ties and [`exact_available`](super::exact_available), asymptotic otherwise.
    #[default]
    Auto,
    /// The exact null distribution (error when tied or too large).
    Exact,
    /// Tie-corrected normal approximation with continuity correction.
    Asymptotic,
}

/// Result of [`mann_whitney`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MannWhitney {
    /// U of the canary: #{canary > baseline} + ½ #{ties} (scipy's `statistic` with the canary first).
    pub u: f64,
    /// p-value for the direction: two-sided for `either`, canary greater for `increase`, smaller for `decrease`.
    pub p_value: f64,
    /// Whether the exact distribution was used.
    pub exact: bool,
    /// The standardized statistic of the asymptotic path (with continuity correction), if used and defined.
    pub z: Option<f64>,
    /// Canary size.
    pub m: usize,
    /// Baseline size.
    pub n: usize,
}

/// Why [`mann_whitney`] could not run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MannWhitneyError {
    /// A sample is empty.
    EmptySample,
    /// A value is NaN or infinite (apply a [`NanPolicy`](super::NanPolicy) first).
    NonFinite,
    /// `UMethod::Exact` was requested for tied data or sizes beyond [`exact_available`](super::exact_available).
    ExactUnavailable,
}

impl std::fmt::Display for MannWhitneyError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            MannWhitneyError::EmptySample => "a sample is empty",
            MannWhitneyError::NonFinite => "a value is not finite",
            MannWhitneyError::ExactUnavailable => "the exact distribution is unavailable (ties or size)",
        })
    }
}

impl std::error::Error for MannWhitneyError {}

/// The Mann–Whitney U test of `canary` against `baseline`.
pub fn mann_whitney(
    canary: &[f64],
    baseline: &[f64],
    direction: Direction,
    method: UMethod,
) -> Result<MannWhitney, MannWhitneyError> {
    if canary.is_empty() || baseline.is_empty() {
        return Err(MannWhitneyError::EmptySample);
    }
    if canary.iter().chain(baseline).any(|v| !v.is_finite()) {
        return Err(MannWhitneyError::NonFinite);
    }
    let (x, y) = (sorted(canary), sorted(baseline));
    let rs = rank_stats(&x, &y);
    let exact = match method {
        UMethod::Asymptotic => None,
        UMethod::Auto if rs.ties => None,
        UMethod::Auto => ExactU::new(x.len(), y.len()),
        UMethod::Exact if rs.ties => return Err(MannWhitneyError::ExactUnavailable),
        UMethod::Exact => Some(ExactU::new(x.len(), y.len()).ok_or(MannWhitneyError::ExactUnavailable)?),
    };
    Ok(test(x.len(), y.len(), &rs, direction, exact.as_ref(), 1.0))
}

/// The tie-corrected standard deviation of U under the null (0 when every value is equal).
pub(crate) fn sigma_u(m: usize, n: usize, tie_term: f64) -> f64 {
    let big_n = (m + n) as f64;
    let mn = (m as f64) * (n as f64);
    let v = mn / 12.0 * ((big_n + 1.0) - tie_term / (big_n * (big_n - 1.0)));
    v.max(0.0).sqrt()
}

/// Degrees of freedom of the reference distribution under serial dependence: half the smaller side's
/// effective size less one, (min(m, n)/inflation − 1)/2, at least 1; `None` (the normal) for independent
/// steps. The inflation is estimated from the same short series, so the standardized U is studentized and
/// heavier-tailed than normal; how much heavier was calibrated by simulation (docs/statistics.md): the pooled
/// (m + n)/f − 2 of a plain variance left AR(1) φ = 0.7 at 11.6 % of A/A runs flagged at n = 30 and
/// min(m, n)/f − 1 at 8.6 % (5.7 % at n = 100); this choice gives 6.6 % and 4.8 %.
fn dependent_df(m: usize, n: usize, inflation: f64) -> Option<f64> {
    (inflation > 1.0).then(|| ((m.min(n) as f64 / inflation - 1.0) / 2.0).max(1.0))
}

/// P(Z > z) for the reference distribution (normal, or Student's t under serial dependence).
fn reference_sf(z: f64, df: Option<f64>) -> f64 {
    match df {
        Some(df) => t_sf(z, df),
        None => norm_sf(z),
    }
}

/// The upper quantile of the reference distribution.
fn reference_upper_quantile(p: f64, df: Option<f64>) -> f64 {
    match df {
        Some(df) => t_upper_quantile(p, df),
        None => norm_upper_quantile(p),
    }
}

/// The p-value from a rank summary, with `exact` the distribution when the exact path applies. `inflation`
/// (≥ 1) multiplies the null variance of U on the asymptotic path: the serial-dependence correction (1 for
/// independent steps, see [`serial`](super::serial)).
pub(crate) fn test(
    m: usize,
    n: usize,
    rs: &RankStats,
    direction: Direction,
    exact: Option<&ExactU>,
    inflation: f64,
) -> MannWhitney {
    let mn = (m as f64) * (n as f64);
    let u1 = rs.u;
    let u2 = mn - u1;
    let (u, factor) = match direction {
        Direction::Increase => (u1, 1.0),
        Direction::Decrease => (u2, 1.0),
        Direction::Either => (u1.max(u2), 2.0),
    };
    let (p, z) = match exact {
        Some(d) => (d.sf(u as u64), None),
        None => {
            let s = sigma_u(m, n, rs.tie_term) * inflation.sqrt();
            if s > 0.0 {
                let z = (u - mn / 2.0 - 0.5) / s;
                (reference_sf(z, dependent_df(m, n, inflation)), Some(z))
            } else {
                // Every value is equal: the permutation distribution is a point mass at mn/2.
                (1.0, None)
            }
        }
    };
    MannWhitney { u: u1, p_value: (p * factor).clamp(0.0, 1.0), exact: exact.is_some(), z, m, n }
}

/// The 1-based order-statistic index k of the Hodges–Lehmann interval [d₍ₖ₎, d₍ₘₙ₋ₖ₊₁₎] with at most `tail` in
/// each tail: exact, k = 1 + max{c : P(U ≤ c) ≤ tail}; asymptotic, k = ⌊mn/2 + ½ − z·σ⌋ (continuity-corrected
/// normal quantile of U, tie-corrected σ, times √`inflation` for serial dependence). `None` when no k ≥ 1
/// qualifies: the samples are too small for the confidence level and the honest interval is unbounded.
pub(crate) fn ci_rank(
    m: usize,
    n: usize,
    tail: f64,
    exact: Option<&ExactU>,
    tie_term: f64,
    inflation: f64,
) -> Option<u64> {
    match exact {
        Some(d) => d.lower_quantile(tail).map(|c| c + 1),
        None => {
            let mn = (m as f64) * (n as f64);
            let k = (mn / 2.0 + 0.5
                - reference_upper_quantile(tail, dependent_df(m, n, inflation))
                    * sigma_u(m, n, tie_term)
                    * inflation.sqrt())
            .floor();
            if k >= 1.0 { Some(k as u64) } else { None }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scipy_documentation_examples() {
        let males = [19.0, 22.0, 16.0, 29.0, 24.0];
        let females = [20.0, 11.0, 17.0, 12.0];
        let r = mann_whitney(&males, &females, Direction::Either, UMethod::Exact).unwrap();
        assert_eq!(r.u, 17.0);
        assert!((r.p_value - 0.111_111_111_111_111_1).abs() < 1e-15);
        let r = mann_whitney(&males, &females, Direction::Either, UMethod::Asymptotic).unwrap();
        assert!((r.p_value / 0.111_346_886_533_140_41 - 1.0).abs() < 1e-12, "{}", r.p_value);
        let r = mann_whitney(&females, &males, Direction::Decrease, UMethod::Exact).unwrap();
        assert_eq!(r.u, 3.0);
        assert!((r.p_value - 0.055_555_555_555_555_55).abs() < 1e-15);
    }

    #[test]
    fn ties_force_the_asymptotic_path() {
        let r = mann_whitney(
            &[1.0, 2.0, 3.0, 3.0, 4.0, 5.0],
            &[3.0, 4.0, 5.0, 5.0, 6.0, 7.0, 8.0],
            Direction::Either,
            UMethod::Auto,
        )
        .unwrap();
        assert!(!r.exact);
        assert_eq!(r.u, 5.5);
        // dependencies.md §3b: scipy gives 0.0300182
        assert!((r.p_value - 0.030_018_2).abs() < 1e-7, "{}", r.p_value);
        assert_eq!(
            mann_whitney(&[1.0, 1.0], &[1.0, 2.0], Direction::Either, UMethod::Exact),
            Err(MannWhitneyError::ExactUnavailable)
        );
        let all_equal = mann_whitney(&[2.0; 4], &[2.0; 6], Direction::Either, UMethod::Auto).unwrap();
        assert_eq!(all_equal.p_value, 1.0);
    }

    #[test]
    fn rejects_bad_input() {
        assert_eq!(mann_whitney(&[], &[1.0], Direction::Either, UMethod::Auto), Err(MannWhitneyError::EmptySample));
        assert_eq!(
            mann_whitney(&[f64::NAN], &[1.0], Direction::Either, UMethod::Auto),
            Err(MannWhitneyError::NonFinite)
        );
    }

    #[test]
    fn ci_rank_small_samples() {
        // 3 vs 3 at 98 %: P(U ≤ 0) = 0.05 > 0.01, no finite interval.
        let d = ExactU::new(3, 3).unwrap();
        assert_eq!(ci_rank(3, 3, 0.01, Some(&d), 0.0, 1.0), None);
        // 3 vs 3 at 90 %: k = 1, the range of differences, coverage exactly 0.9.
        assert_eq!(ci_rank(3, 3, 0.05, Some(&d), 0.0, 1.0), Some(1));
        // 10 vs 10 at 95 %: qwilcox(0.025, 10, 10) = 24 → k = 24 (R's wilcox.test exact conf.int).
        let d = ExactU::new(10, 10).unwrap();
        assert_eq!(ci_rank(10, 10, 0.025, Some(&d), 0.0, 1.0), Some(24));
    }
}
