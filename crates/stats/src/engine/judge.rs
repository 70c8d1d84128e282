//! One metric's verdict, and a whole judgement with multiple-testing correction.

use serde::{Deserialize, Serialize};

use super::config::{Correction, Direction, JudgeOptions, Margin, MetricConfig, MetricKind, SerialDependence};
use super::correction::adjust_p_values;
use super::counts::{RateComparison, poisson_rate_test, two_proportion_test};
use super::exact::ExactU;
use super::hodges_lehmann;
use super::input::{MetricInput, Sample, clean_steps, clean_values};
use super::mann_whitney;
use super::rank::{rank_stats, sorted};
use super::serial::{pooled_variance_inflation, ranks_in_order};

/// A metric's classification (Kayenta's names).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Classification {
    /// No change beyond the margin was shown (or the direction is not a bad one).
    Pass,
    /// The canary is higher, significantly and beyond the margin.
    High,
    /// The canary is lower, significantly and beyond the margin.
    Low,
    /// Too few usable points on a side (or invalid input / configuration).
    Nodata,
}

/// Which test produced the p-value.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum TestKind {
    /// Mann–Whitney with the exact null distribution; Hodges–Lehmann interval from its exact quantile.
    MannWhitneyExact,
    /// Mann–Whitney, tie-corrected normal approximation with continuity correction; interval from the normal
    /// quantile of U.
    MannWhitneyAsymptotic,
    /// Exact conditional binomial test of two Poisson rates; Clopper–Pearson interval.
    PoissonExact,
    /// Pooled two-proportion z-test; Newcombe hybrid-score interval.
    TwoProportionZ,
}

/// The verdict on one metric. Every statistic is `null` when it does not apply (e.g. `Nodata`) or is
/// unbounded (an interval the sample is too small to bound).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MetricVerdict {
    /// The metric's name (empty from [`judge_metric`]).
    pub name: String,
    /// Pass | High | Low | Nodata.
    pub classification: Classification,
    /// One line saying why.
    pub reason: String,
    /// The configured kind.
    pub kind: MetricKind,
    /// The configured direction.
    pub direction: Direction,
    /// The test used, if any.
    pub test: Option<TestKind>,
    /// The significance level.
    pub alpha: f64,
    /// Raw p-value for the direction.
    pub p_value: Option<f64>,
    /// p-value adjusted across the judgement's tested metrics (equal to `pValue` for a single metric).
    pub adjusted_p_value: Option<f64>,
    /// canary − baseline in the metric's units: the Hodges–Lehmann shift, the difference of rates (events per
    /// unit exposure), or of proportions.
    pub estimate: Option<f64>,
    /// Lower confidence bound for `estimate`.
    pub ci_lower: Option<f64>,
    /// Upper confidence bound for `estimate`.
    pub ci_upper: Option<f64>,
    /// Level of the two-sided interval: 1 − α for `either`, 1 − 2α for a one-sided direction (whose relevant
    /// bound is then a one-sided 1 − α bound).
    pub ci_level: f64,
    /// Relative change: `estimate` / |baseline level| (counts: rate ratio − 1).
    pub effect: Option<f64>,
    /// Lower bound of the relative change (counts: exact, from the rate-ratio interval).
    pub effect_lower: Option<f64>,
    /// Upper bound of the relative change.
    pub effect_upper: Option<f64>,
    /// Baseline level: median (continuous), rate (count) or proportion (rate).
    pub baseline_level: Option<f64>,
    /// Canary level, likewise.
    pub canary_level: Option<f64>,
    /// Usable baseline points (steps for counts and rates).
    pub n_baseline: usize,
    /// Usable canary points.
    pub n_canary: usize,
    /// Continuous metrics: the factor by which serial dependence (autocorrelation of consecutive steps)
    /// inflates the variance of U, estimated from both sides' rank autocovariances pooled (under the null
    /// both sides are one process, so one factor f serves both and the Hájek projection's
    /// mn/12·(m·f + n·f) is mn(m + n)/12 · f); 1 for independent steps. The test and interval use it; n / f is
    /// roughly the effective sample size. `null` for other kinds or with `serialDependence: independent`.
    pub variance_inflation: Option<f64>,
}

/// Everything the classification needs, before the multiplicity adjustment.
#[derive(Clone, Debug)]
struct Analysis {
    test: TestKind,
    p: f64,
    estimate: f64,
    /// Interval on the difference scale, ±∞ when unbounded.
    lower: f64,
    upper: f64,
    /// Whether any finite interval exists (false: too small for the level, or no events at all).
    bounded: bool,
    effect: Option<f64>,
    /// Relative-scale interval, ±∞ when unbounded; `None` when the baseline level is 0 (and no exact ratio
    /// interval exists).
    relative: Option<(f64, f64)>,
    baseline_level: f64,
    canary_level: f64,
    /// Why the interval is missing, when it is.
    unbounded_reason: Option<String>,
    /// Serial-dependence variance factor applied (continuous, `auto`).
    inflation: Option<f64>,
}

struct Prepared {
    n_baseline: usize,
    n_canary: usize,
    outcome: Result<Analysis, String>,
}

fn finite(v: f64) -> Option<f64> {
    v.is_finite().then_some(v + 0.0)
}

fn median_sorted(v: &[f64]) -> f64 {
    let n = v.len();
    if n % 2 == 1 { v[n / 2] } else { (v[n / 2 - 1] + v[n / 2]) / 2.0 }
}

/// The serial-dependence factor of Var(U) for canary (m points) and baseline (n points) in time order. The
/// Hájek projection gives Var(U) ≈ mn/12 · (m·f_baseline + n·f_canary) with each side's variance inflation
/// f (of its ranks); under the null both sides are the same process, so one f is estimated from both sides'
/// within-sample rank autocovariances, pooled, and the factor over the independent case is f itself.
fn serial_inflation(canary: &[f64], baseline: &[f64]) -> f64 {
    pooled_variance_inflation(&ranks_in_order(canary), &ranks_in_order(baseline))
}

fn analyse_continuous(config: &MetricConfig, baseline: &[f64], canary: &[f64]) -> Analysis {
    let inflation = match config.serial_dependence {
        SerialDependence::Auto => Some(serial_inflation(canary, baseline)),
        SerialDependence::Independent => None,
    };
    let g = inflation.unwrap_or(1.0);
    let (x, y) = (sorted(canary), sorted(baseline));
    let rs = rank_stats(&x, &y);
    // The exact null distribution assumes exchangeable (independent) steps: with dependence found, the
    // inflated normal approximation is the honest one.
    let exact = if rs.ties || g > 1.0 { None } else { ExactU::new(x.len(), y.len()) };
    let mw = mann_whitney::test(x.len(), y.len(), &rs, config.direction, exact.as_ref(), g);
    let tail = config.direction.ci_tail(config.alpha);
    let hl = hodges_lehmann::from_sorted(&x, &y, tail, exact.as_ref(), rs.tie_term, g);
    let (baseline_level, canary_level) = (median_sorted(&y), median_sorted(&x));
    let (lower, upper) = (hl.lower.unwrap_or(f64::NEG_INFINITY), hl.upper.unwrap_or(f64::INFINITY));
    let reference = baseline_level.abs();
    let relative = (reference > 0.0).then(|| (lower / reference, upper / reference));
    Analysis {
        test: if mw.exact { TestKind::MannWhitneyExact } else { TestKind::MannWhitneyAsymptotic },
        p: mw.p_value,
        estimate: hl.estimate,
        lower,
        upper,
        bounded: hl.k.is_some(),
        effect: (reference > 0.0).then(|| hl.estimate / reference),
        relative,
        baseline_level,
        canary_level,
        unbounded_reason: hl.k.is_none().then(|| {
            let level = percent(1.0 - 2.0 * tail);
            if g > 1.0 {
                format!(
                    "{} vs {} autocorrelated points (about {} vs {} effective) cannot bound a {level} interval",
                    x.len(),
                    y.len(),
                    num(x.len() as f64 / g),
                    num(y.len() as f64 / g)
                )
            } else {
                format!("{} vs {} points cannot bound a {level} interval", x.len(), y.len())
            }
        }),
        inflation,
    }
}

fn analysis_from_rates(test: TestKind, r: RateComparison, relative_exact: bool) -> Analysis {
    let bounded = r.lower.is_some() || r.upper.is_some();
    let lower = r.lower.unwrap_or(f64::NEG_INFINITY);
    let upper = r.upper.unwrap_or(f64::INFINITY);
    let relative = if relative_exact && bounded {
        Some((r.effect_lower.unwrap_or(f64::NEG_INFINITY), r.effect_upper.unwrap_or(f64::INFINITY)))
    } else if r.baseline_level > 0.0 {
        Some((lower / r.baseline_level, upper / r.baseline_level))
    } else {
        None
    };
    Analysis {
        test,
        p: r.p_value,
        estimate: r.estimate,
        lower,
        upper,
        bounded,
        effect: r.effect,
        relative,
        baseline_level: r.baseline_level,
        canary_level: r.canary_level,
        unbounded_reason: (!bounded).then(|| "no events on either side".to_string()),
        inflation: None,
    }
}

fn prepare(config: &MetricConfig, baseline: Sample<'_>, canary: Sample<'_>) -> Prepared {
    let nodata = |nb, nc, why: String| Prepared { n_baseline: nb, n_canary: nc, outcome: Err(why) };
    if let Err(e) = config.validate() {
        return nodata(0, 0, format!("invalid configuration: {e}"));
    }
    let too_few = |nb: usize, nc: usize| -> Option<String> {
        let min = config.min_samples;
        match (nb < min, nc < min) {
            (true, true) => Some(format!("baseline has {nb} and canary {nc} usable points (minimum {min})")),
            (true, false) => Some(format!("baseline has {nb} usable points (minimum {min})")),
            (false, true) => Some(format!("canary has {nc} usable points (minimum {min})")),
            (false, false) => None,
        }
    };
    match config.kind {
        MetricKind::Continuous => {
            let b = clean_values(baseline.values, config.nan_policy);
            let c = clean_values(canary.values, config.nan_policy);
            if let Some(why) = too_few(b.len(), c.len()) {
                return nodata(b.len(), c.len(), why);
            }
            Prepared { n_baseline: b.len(), n_canary: c.len(), outcome: Ok(analyse_continuous(config, &b, &c)) }
        }
        MetricKind::Count | MetricKind::Rate => {
            let b = match clean_steps(baseline, config, "baseline") {
                Ok(b) => b,
                Err(e) => return nodata(0, 0, format!("invalid data: {e}")),
            };
            let c = match clean_steps(canary, config, "canary") {
                Ok(c) => c,
                Err(e) => return nodata(b.len(), 0, format!("invalid data: {e}")),
            };
            let (nb, nc) = (b.len(), c.len());
            if let Some(why) = too_few(nb, nc) {
                return nodata(nb, nc, why);
            }
            let sum = |s: &[(f64, f64)]| s.iter().fold((0.0, 0.0), |(v, e), &(sv, se)| (v + sv, e + se));
            let ((vb, eb), (vc, ec)) = (sum(&b), sum(&c));
            let (dir, alpha) = (config.direction, config.alpha);
            let result = if config.kind == MetricKind::Count {
                poisson_rate_test(vc.round() as u64, ec, vb.round() as u64, eb, dir, alpha)
                    .map(|r| analysis_from_rates(TestKind::PoissonExact, r, true))
            } else {
                two_proportion_test(vc, ec, vb, eb, dir, alpha)
                    .map(|r| analysis_from_rates(TestKind::TwoProportionZ, r, false))
            };
            match result {
                Some(a) => Prepared { n_baseline: nb, n_canary: nc, outcome: Ok(a) },
                None => nodata(nb, nc, "total exposure is zero on a side".into()),
            }
        }
    }
}

/// Formats a number with about four significant digits.
pub(super) fn num(v: f64) -> String {
    if v == 0.0 || !v.is_finite() {
        return format!("{}", v + 0.0);
    }
    let mag = v.abs().log10().floor();
    if (-4.0..6.0).contains(&mag) {
        let decimals = (3.0 - mag).max(0.0) as usize;
        let s = format!("{v:.decimals$}");
        if s.contains('.') { s.trim_end_matches('0').trim_end_matches('.').to_string() } else { s }
    } else {
        format!("{v:.3e}")
    }
}

pub(super) fn signed(v: f64) -> String {
    if v > 0.0 { format!("+{}", num(v)) } else { num(v) }
}

fn pval(p: f64) -> String {
    if p < 1e-4 {
        format!("{p:.2e}")
    } else if (0.99995..1.0).contains(&p) {
        ">0.9999".to_string()
    } else {
        num(p)
    }
}

fn percent(level: f64) -> String {
    format!("{}%", num(level * 100.0))
}

fn classify(config: &MetricConfig, a: &Analysis, adjusted: f64, family: usize) -> (Classification, String) {
    let dir = config.direction;
    let level = percent(1.0 - 2.0 * dir.ci_tail(config.alpha));
    let p_text = if family > 1 {
        format!("p={}, adjusted {} over {family} metrics", pval(a.p), pval(adjusted))
    } else {
        format!("p={}", pval(a.p))
    };
    let what = match a.test {
        TestKind::MannWhitneyExact | TestKind::MannWhitneyAsymptotic => "shift",
        TestKind::PoissonExact => "rate difference",
        TestKind::TwoProportionZ => "proportion difference",
    };
    if !a.bounded {
        let why = a.unbounded_reason.clone().unwrap_or_default();
        return (Classification::Pass, format!("{why}; {p_text}"));
    }
    let ci = format!("{what} {} ({level} CI {} to {})", signed(a.estimate), signed(a.lower), signed(a.upper));
    // Resolve the margin to a scale and the two bounds to compare.
    let (lo, hi, m, margin_text) = match (config.margin, a.relative) {
        (Margin::Absolute(m), _) => (a.lower, a.upper, m, format!("margin ±{}", num(m))),
        (Margin::Relative(r), Some((rl, rh))) => (rl, rh, r, format!("margin ±{}", percent(r))),
        (Margin::Relative(_), None) => {
            (a.lower, a.upper, 0.0, "margin 0 (baseline level is 0, so a relative margin cannot apply)".into())
        }
    };
    let significant = adjusted <= config.alpha;
    let beyond = if m > 0.0 { format!(" beyond {margin_text}") } else { String::new() };
    if dir.allows_high() && significant && lo > m {
        return (Classification::High, format!("canary higher: {ci}{beyond}; {p_text}"));
    }
    if dir.allows_low() && significant && hi < -m {
        return (Classification::Low, format!("canary lower: {ci}{beyond}; {p_text}"));
    }
    let reason = if m > 0.0 && lo >= -m && hi <= m {
        format!("equivalent: {ci} within {margin_text}; {p_text}")
    } else if significant && ((dir.allows_high() && lo > 0.0) || (dir.allows_low() && hi < 0.0)) {
        format!("significant but not beyond {margin_text}: {ci}; {p_text}")
    } else {
        let change = match dir {
            Direction::Either => "difference",
            Direction::Increase => "increase",
            Direction::Decrease => "decrease",
        };
        let alpha = num(config.alpha);
        if significant {
            format!("no {change} shown: {ci} includes 0 though {p_text} ≤ α={alpha}")
        } else {
            format!("no significant {change}: {ci}; {p_text} > α={alpha}")
        }
    };
    (Classification::Pass, reason)
}

fn verdict(
    name: &str,
    config: &MetricConfig,
    prepared: Prepared,
    adjusted: Option<f64>,
    family: usize,
) -> MetricVerdict {
    let mut v = MetricVerdict {
        name: name.to_string(),
        classification: Classification::Nodata,
        reason: String::new(),
        kind: config.kind,
        direction: config.direction,
        test: None,
        alpha: config.alpha,
        p_value: None,
        adjusted_p_value: None,
        estimate: None,
        ci_lower: None,
        ci_upper: None,
        ci_level: 1.0 - 2.0 * config.direction.ci_tail(config.alpha),
        effect: None,
        effect_lower: None,
        effect_upper: None,
        baseline_level: None,
        canary_level: None,
        n_baseline: prepared.n_baseline,
        n_canary: prepared.n_canary,
        variance_inflation: None,
    };
    match prepared.outcome {
        Err(why) => v.reason = why,
        Ok(a) => {
            let adjusted = adjusted.unwrap_or(a.p);
            let (classification, mut reason) = classify(config, &a, adjusted, family);
            if let Some(g) = a.inflation.filter(|&g| g > 1.0) {
                reason.push_str(&format!("; autocorrelated steps: variance ×{} taken into account", num(g)));
            }
            v.classification = classification;
            v.reason = reason;
            v.test = Some(a.test);
            v.p_value = Some(a.p);
            v.adjusted_p_value = Some(adjusted);
            v.estimate = finite(a.estimate);
            v.ci_lower = finite(a.lower);
            v.ci_upper = finite(a.upper);
            v.effect = a.effect.and_then(finite);
            if let Some((l, h)) = a.relative {
                v.effect_lower = finite(l);
                v.effect_upper = finite(h);
            }
            v.baseline_level = finite(a.baseline_level);
            v.canary_level = finite(a.canary_level);
            v.variance_inflation = a.inflation;
        }
    }
    v
}

/// Judges one metric from plain per-step values (continuous metrics, or counts with one unit of exposure per
/// step). A single metric is its own family: the adjusted p-value equals the raw one.
pub fn judge_metric(config: &MetricConfig, baseline: &[f64], canary: &[f64]) -> MetricVerdict {
    judge_sample(config, Sample::new(baseline), Sample::new(canary))
}

/// Judges one metric from samples that may carry exposures (counts) or denominators (rates).
pub fn judge_sample(config: &MetricConfig, baseline: Sample<'_>, canary: Sample<'_>) -> MetricVerdict {
    verdict("", config, prepare(config, baseline, canary), None, 1)
}

/// Judges every metric and adjusts the p-values of those that were tested (not `Nodata`) with
/// `options.correction`; each metric is then significant when its adjusted p-value is ≤ its own α.
/// Deterministic; verdicts are returned in input order.
pub fn judge_all(metrics: &[MetricInput<'_>], options: &JudgeOptions) -> Vec<MetricVerdict> {
    let prepared: Vec<Prepared> = metrics.iter().map(|m| prepare(m.config, m.baseline, m.canary)).collect();
    let ps: Vec<f64> = prepared.iter().filter_map(|p| p.outcome.as_ref().ok().map(|a| a.p)).collect();
    let family = ps.len();
    let correction = if family > 1 { options.correction } else { Correction::None };
    let mut adjusted = adjust_p_values(&ps, correction).into_iter();
    metrics
        .iter()
        .zip(prepared)
        .map(|(m, p)| {
            let adj = if p.outcome.is_ok() { adjusted.next() } else { None };
            verdict(m.name, m.config, p, adj, family)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn number_formatting() {
        assert_eq!(num(12.345_67), "12.35");
        assert_eq!(num(0.000_123_4), "0.0001234");
        assert_eq!(num(1234.6), "1235");
        assert_eq!(num(2.0), "2");
        assert_eq!(num(1.5e-7), "1.500e-7");
        assert_eq!(signed(0.5), "+0.5");
        assert_eq!(percent(0.95), "95%");
        assert_eq!(pval(2.6e-34), "2.60e-34");
    }
}
