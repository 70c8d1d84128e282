//! Tests for counts and rates on their totals.
//!
//! * Counts: events of each side are Poisson with rate λ per unit of exposure. Given the total N = x_c + x_b,
//!   the canary's share is Binomial(N, π) with π = λ_c E_c / (λ_c E_c + λ_b E_b); equal rates means
//!   π₀ = E_c / (E_c + E_b). The p-value is the exact binomial test (two-sided by the "minlike" rule, as
//!   `scipy.stats.binomtest`), the interval is Clopper–Pearson for π. Conditionally on N the rate difference
//!   N(π/E_c − (1 − π)/E_b) is linear in π, so the interval maps exactly to a difference of rates, and
//!   π E_b / ((1 − π) E_c) maps it to the rate ratio.
//! * Rates (numerator/denominator): the pooled two-proportion score test (z-test without continuity correction,
//!   equal to the χ² test of the 2×2 table), and Newcombe's hybrid-score interval (from the two Wilson intervals)
//!   for the difference of proportions.

use serde::{Deserialize, Serialize};

use super::config::Direction;
use super::special::{Binomial, clopper_pearson, norm_sf, norm_upper_quantile};

/// A comparison of two rates or proportions.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RateComparison {
    /// p-value for the direction.
    pub p_value: f64,
    /// Canary level (events per unit exposure, or proportion).
    pub canary_level: f64,
    /// Baseline level.
    pub baseline_level: f64,
    /// canary level − baseline level.
    pub estimate: f64,
    /// Lower bound for the difference (`None`: unbounded or undefined).
    pub lower: Option<f64>,
    /// Upper bound for the difference.
    pub upper: Option<f64>,
    /// Relative change canary/baseline − 1 (`None` when the baseline level is 0).
    pub effect: Option<f64>,
    /// Lower bound of the relative change.
    pub effect_lower: Option<f64>,
    /// Upper bound of the relative change (`None`: unbounded).
    pub effect_upper: Option<f64>,
}

fn finite(v: f64) -> Option<f64> {
    v.is_finite().then_some(v + 0.0)
}

/// Exact conditional test of two Poisson rates: `canary_events` over `canary_exposure` against
/// `baseline_events` over `baseline_exposure`. `None` unless both exposures are finite and > 0.
pub fn poisson_rate_test(
    canary_events: u64,
    canary_exposure: f64,
    baseline_events: u64,
    baseline_exposure: f64,
    direction: Direction,
    alpha: f64,
) -> Option<RateComparison> {
    let (ec, eb) = (canary_exposure, baseline_exposure);
    if !(ec.is_finite() && eb.is_finite() && ec > 0.0 && eb > 0.0) {
        return None;
    }
    let (xc, xb) = (canary_events, baseline_events);
    let total = xc + xb;
    let (rc, rb) = (xc as f64 / ec, xb as f64 / eb);
    let estimate = rc - rb;
    let effect = if xb > 0 { finite(rc / rb - 1.0) } else { None };
    if total == 0 {
        return Some(RateComparison {
            p_value: 1.0,
            canary_level: rc,
            baseline_level: rb,
            estimate,
            lower: None,
            upper: None,
            effect,
            effect_lower: None,
            effect_upper: None,
        });
    }
    let pi0 = ec / (ec + eb);
    let b = Binomial::new(total, pi0);
    let p_value = match direction {
        Direction::Increase => b.sf_ge(xc),
        Direction::Decrease => b.cdf(xc),
        Direction::Either => b.two_sided_p(xc),
    }
    .clamp(0.0, 1.0);
    let (pl, pu) = clopper_pearson(xc, total, direction.ci_tail(alpha));
    let n = total as f64;
    let diff = |pi: f64| n * (pi / ec - (1.0 - pi) / eb);
    let ratio = |pi: f64| if pi >= 1.0 { f64::INFINITY } else { pi * eb / ((1.0 - pi) * ec) };
    Some(RateComparison {
        p_value,
        canary_level: rc,
        baseline_level: rb,
        estimate,
        lower: finite(diff(pl)),
        upper: finite(diff(pu)),
        effect,
        effect_lower: finite(ratio(pl) - 1.0),
        effect_upper: finite(ratio(pu) - 1.0),
    })
}

/// Wilson score interval for a proportion, each tail at normal quantile `z`.
fn wilson(p: f64, n: f64, z: f64) -> (f64, f64) {
    let z2 = z * z;
    let denom = 1.0 + z2 / n;
    let center = (p + z2 / (2.0 * n)) / denom;
    let half = z * (p * (1.0 - p) / n + z2 / (4.0 * n * n)).sqrt() / denom;
    ((center - half).max(0.0), (center + half).min(1.0))
}

/// Pooled two-proportion test of `canary_successes / canary_trials` against
/// `baseline_successes / baseline_trials` (totals; need not be integers). `None` unless both trial counts are
/// finite and > 0 and 0 ≤ successes ≤ trials.
pub fn two_proportion_test(
    canary_successes: f64,
    canary_trials: f64,
    baseline_successes: f64,
    baseline_trials: f64,
    direction: Direction,
    alpha: f64,
) -> Option<RateComparison> {
    let (xc, nc, xb, nb) = (canary_successes, canary_trials, baseline_successes, baseline_trials);
    let ok = |x: f64, n: f64| x.is_finite() && n.is_finite() && n > 0.0 && x >= 0.0 && x <= n;
    if !(ok(xc, nc) && ok(xb, nb)) {
        return None;
    }
    let (pc, pb) = (xc / nc, xb / nb);
    let d = pc - pb;
    let pooled = (xc + xb) / (nc + nb);
    let se = (pooled * (1.0 - pooled) * (1.0 / nc + 1.0 / nb)).sqrt();
    let p_value = if se > 0.0 {
        let z = d / se;
        match direction {
            Direction::Increase => norm_sf(z),
            Direction::Decrease => norm_sf(-z),
            Direction::Either => 2.0 * norm_sf(z.abs()),
        }
        .min(1.0)
    } else {
        1.0
    };
    let z = norm_upper_quantile(direction.ci_tail(alpha));
    let (lc, uc) = wilson(pc, nc, z);
    let (lb, ub) = wilson(pb, nb, z);
    let lower = d - ((pc - lc).powi(2) + (ub - pb).powi(2)).sqrt();
    let upper = d + ((uc - pc).powi(2) + (pb - lb).powi(2)).sqrt();
    let rel = |v: f64| if pb > 0.0 { finite(v / pb) } else { None };
    Some(RateComparison {
        p_value,
        canary_level: pc,
        baseline_level: pb,
        estimate: d,
        lower: finite(lower),
        upper: finite(upper),
        effect: rel(d),
        effect_lower: rel(lower),
        effect_upper: rel(upper),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn poisson_equal_exposure_is_a_sign_test() {
        // 10 vs 0 events with equal exposure: P(X ≥ 10 | 10, ½) = 2⁻¹⁰.
        let r = poisson_rate_test(10, 5.0, 0, 5.0, Direction::Increase, 0.05).unwrap();
        assert_eq!(r.p_value, 0.5f64.powi(10));
        assert_eq!(r.effect, None);
        assert!(r.effect_lower.unwrap() > 0.0);
        assert_eq!(r.effect_upper, None);
        let r = poisson_rate_test(10, 5.0, 0, 5.0, Direction::Either, 0.05).unwrap();
        assert!((r.p_value - 2.0 * 0.5f64.powi(10)).abs() < 1e-16);
        let none = poisson_rate_test(0, 5.0, 0, 5.0, Direction::Either, 0.05).unwrap();
        assert_eq!(none.p_value, 1.0);
        assert!(poisson_rate_test(1, 0.0, 1, 1.0, Direction::Either, 0.05).is_none());
    }

    #[test]
    fn poisson_interval_contains_estimate() {
        let r = poisson_rate_test(27, 60.0, 10, 60.0, Direction::Either, 0.05).unwrap();
        let (lo, hi) = (r.lower.unwrap(), r.upper.unwrap());
        assert!(lo < r.estimate && r.estimate < hi);
        assert!((r.estimate - 17.0 / 60.0).abs() < 1e-15);
        assert!(r.effect_lower.unwrap() < r.effect.unwrap() && r.effect.unwrap() < r.effect_upper.unwrap());
    }

    #[test]
    fn two_proportions_match_the_chi_square_test() {
        // 2×2 table [[30, 970], [15, 985]]: χ² (no correction) = 5.1459…, p = 0.02330…
        let r = two_proportion_test(30.0, 1000.0, 15.0, 1000.0, Direction::Either, 0.05).unwrap();
        let z = 0.015 / (0.0225f64 * 0.9775 * 0.002).sqrt();
        assert!((r.p_value - 2.0 * norm_sf(z)).abs() < 1e-16);
        assert!(r.lower.unwrap() > 0.0);
        assert!(two_proportion_test(3.0, 2.0, 1.0, 2.0, Direction::Either, 0.05).is_none());
        let zero = two_proportion_test(0.0, 100.0, 0.0, 100.0, Direction::Either, 0.05).unwrap();
        assert_eq!(zero.p_value, 1.0);
        assert_eq!(zero.effect, None);
    }
}
