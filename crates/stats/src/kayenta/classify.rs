//! The per-metric decision: `NetflixACAJudge.classifyMetric` → `MannWhitneyClassifier.classify`.
//!
//! After preprocessing each side ([`crate::kayenta::preprocess`]), the short-circuits run in Kayenta's
//! order: no data (`Nodata` / `NodataFailMetric` / `Pass` depending on `nanStrategy`, `mustHaveData` and
//! `critical`), identical samples (`Pass`), a single distinct value (`Pass`). Otherwise the Mann–Whitney
//! interval is compared with ±tolerance·|estimate|, gated by the effect size, and the critical flag is
//! decided. A failure of the Mann–Whitney computation is an `Error` result.

use serde::{Deserialize, Serialize};

use crate::kayenta::config::{Direction, EffectSizeMeasure, MetricConfig, NanStrategy};
use crate::kayenta::effect::{cles, mean_ratio};
use crate::kayenta::mannwhitney::mann_whitney;
use crate::kayenta::normal::inverse_cdf;
use crate::kayenta::preprocess::{MetricStats, describe, preprocess};
use crate::kayenta::{CONF_LEVEL, TOLERANCE};

/// A metric's classification, serialized with Kayenta's labels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Classification {
    /// No significant difference (or no evidence of one).
    Pass,
    /// The canary is significantly higher than the baseline.
    High,
    /// The canary is significantly lower than the baseline.
    Low,
    /// No data on a side; left out of group scores but counted by the 50 % Nodata rule.
    Nodata,
    /// No data on a side of a `mustHaveData` (non-critical) metric; counts as a failure in its groups.
    NodataFailMetric,
    /// The comparison failed (e.g. all observations tied); left out of group scores.
    Error,
}

impl Classification {
    /// Kayenta's label (`"Pass"`, `"High"`, `"Low"`, `"Nodata"`, `"NodataFailMetric"`, `"Error"`).
    pub fn as_str(self) -> &'static str {
        match self {
            Classification::Pass => "Pass",
            Classification::High => "High",
            Classification::Low => "Low",
            Classification::Nodata => "Nodata",
            Classification::NodataFailMetric => "NodataFailMetric",
            Classification::Error => "Error",
        }
    }
}

impl std::fmt::Display for Classification {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The constants Kayenta's judge hard-codes. [`JudgeParams::default`] is Kayenta's judge (0.25, 0.98);
/// Kayenta's own classifier tests use other values (e.g. 0.10 and 0.95), which is why they are parameters.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct JudgeParams {
    /// High needs `ciLower > tolerance·|estimate|`, Low needs `ciUpper < −tolerance·|estimate|`.
    pub tolerance: f64,
    /// Confidence level of the Mann–Whitney interval.
    pub conf_level: f64,
}

impl Default for JudgeParams {
    fn default() -> Self {
        JudgeParams { tolerance: TOLERANCE, conf_level: CONF_LEVEL }
    }
}

/// Serde helpers that write NaN and infinities as JSON `null` and read `null` back as NaN.
pub mod nan_as_null {
    use serde::{Deserialize, Deserializer, Serializer};

    /// Writes a finite value as a number and anything else as `null`.
    pub fn serialize<S: Serializer>(value: &f64, serializer: S) -> Result<S::Ok, S::Error> {
        if value.is_finite() { serializer.serialize_f64(*value) } else { serializer.serialize_none() }
    }

    /// Reads a number, or `null` as NaN.
    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<f64, D::Error> {
        Ok(Option::<f64>::deserialize(deserializer)?.unwrap_or(f64::NAN))
    }
}

/// One metric's result: Kayenta's `CanaryAnalysisResult` fields plus the numbers behind the decision.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MetricResult {
    /// The metric's name.
    pub name: String,
    /// The classification.
    pub classification: Classification,
    /// Kayenta's `classificationReason` (`null` when Kayenta gives none, e.g. for a plain Pass).
    pub reason: Option<String>,
    /// Whether this result fails the whole canary (a critical metric classified High/Low beyond the
    /// critical thresholds, or a critical metric without data).
    pub critical: bool,
    /// Whether the metric is muted (reported, but not scored).
    pub muted: bool,
    /// `resultMetadata.ratio`: the mean ratio canary/baseline on the compared samples; 1.0 for the
    /// short-circuits; NaN (`null`) when a mean is 0 or the comparison failed.
    #[serde(with = "nan_as_null")]
    pub deviation: f64,
    /// The effect size the gates used (mean ratio or CLES, per the config); NaN (`null`) when not computed.
    #[serde(with = "nan_as_null")]
    pub effect_size: f64,
    /// The effect-size measure of the config.
    pub effect_size_measure: EffectSizeMeasure,
    /// The Mann–Whitney estimate of the shift canary − baseline, when the comparison ran.
    pub estimate: Option<f64>,
    /// Lower end of the confidence interval, when the comparison ran.
    pub ci_lower: Option<f64>,
    /// Upper end of the confidence interval, when the comparison ran.
    pub ci_upper: Option<f64>,
    /// Number of baseline values after preprocessing.
    pub n_baseline: usize,
    /// Number of canary values after preprocessing.
    pub n_canary: usize,
    /// `controlMetadata.stats` (after preprocessing).
    pub baseline_stats: MetricStats,
    /// `experimentMetadata.stats` (after preprocessing).
    pub canary_stats: MetricStats,
    /// Whether both samples were constant and tie-breaking noise was added before the comparison.
    pub noise_added: bool,
    /// For `Error`: what failed (Kayenta logs it and reports only "Metric Classification Failed").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// Classifies one metric exactly as Kayenta's judge does (tolerance 0.25, confidence 0.98).
///
/// `baseline` is Kayenta's "control" and `canary` its "experiment"; both are the raw per-step values,
/// NaN marking an empty step. Never panics, whatever the input.
pub fn classify_metric(metric: &MetricConfig, baseline: &[f64], canary: &[f64]) -> MetricResult {
    classify_metric_with(metric, baseline, canary, &JudgeParams::default())
}

/// [`classify_metric`] with other tolerance and confidence constants (Kayenta's classifier tests use them).
pub fn classify_metric_with(
    metric: &MetricConfig,
    baseline: &[f64],
    canary: &[f64],
    params: &JudgeParams,
) -> MetricResult {
    let config = &metric.config;
    let name = metric.name.as_str();
    let experiment = preprocess(canary, config);
    let control = preprocess(baseline, config);

    let mut result = MetricResult {
        name: name.to_string(),
        classification: Classification::Pass,
        reason: None,
        critical: false,
        muted: config.muted,
        deviation: 1.0,
        effect_size: f64::NAN,
        effect_size_measure: config.effect_size.measure,
        estimate: None,
        ci_lower: None,
        ci_upper: None,
        n_baseline: control.len(),
        n_canary: experiment.len(),
        baseline_stats: describe(&control),
        canary_stats: describe(&experiment),
        noise_added: false,
        error: None,
    };

    // 1. No data on a side.
    if experiment.is_empty() || control.is_empty() {
        if config.nan_strategy == NanStrategy::Remove {
            result.reason = Some(format!("Missing data for {name}"));
            if config.must_have_data && !config.critical {
                result.classification = Classification::NodataFailMetric;
            } else {
                result.classification = Classification::Nodata;
                result.critical = config.critical;
            }
        }
        // With `replace`, missing data is a Pass (and never critical).
        return result;
    }

    // 2. The same multiset of values.
    if same_elements(&experiment, &control) {
        result.reason = Some("The Canary and Baseline data are identical".to_string());
        return result;
    }

    // 3. A single distinct value overall (cannot happen after 2 unless the sizes differ).
    if all_equal(&experiment, &control) {
        return result;
    }

    // 4. The Mann–Whitney comparison.
    let noise = is_constant(&experiment) && is_constant(&control);
    let (experiment, control) =
        if noise { (deterministic_noise(&experiment), deterministic_noise(&control)) } else { (experiment, control) };
    result.noise_added = noise;

    let interval = match mann_whitney(&experiment, &control, params.conf_level) {
        Ok(interval) => interval,
        Err(err) => {
            result.classification = Classification::Error;
            result.reason = Some("Metric Classification Failed".to_string());
            result.deviation = f64::NAN;
            result.error = Some(err.to_string());
            return result;
        }
    };
    let deviation = mean_ratio(&control, &experiment);
    let effect = match config.effect_size.measure {
        EffectSizeMeasure::MeanRatio => deviation,
        EffectSizeMeasure::Cles => cles(&control, &experiment),
    };
    result.deviation = deviation;
    result.effect_size = effect;
    result.estimate = Some(interval.estimate);
    result.ci_lower = Some(interval.ci_lower);
    result.ci_upper = Some(interval.ci_upper);

    // Bounds: ±tolerance·|estimate|.
    let critical_value = params.tolerance * interval.estimate.abs();
    // Kayenta writes `-1 * criticalValue`, which is exactly the negation.
    let lower_bound = -critical_value;
    let upper_bound = critical_value;
    let thresholds = &config.effect_size;
    let direction = config.direction;

    let is_high = matches!(direction, Direction::Increase | Direction::Either)
        && interval.ci_lower > upper_bound
        && (effect.is_nan() || effect >= thresholds.allowed_increase);
    let is_low = matches!(direction, Direction::Decrease | Direction::Either)
        && interval.ci_upper < lower_bound
        && (effect.is_nan() || effect <= thresholds.allowed_decrease);

    if is_high {
        result.classification = Classification::High;
        if config.critical && (effect.is_nan() || effect >= thresholds.critical_increase) {
            result.reason = Some(format!("The metric {name} was classified as High (Critical)"));
            result.critical = true;
        } else {
            result.reason = Some(format!("{name} was classified as High"));
        }
    } else if is_low {
        result.classification = Classification::Low;
        if config.critical && (effect.is_nan() || effect <= thresholds.critical_decrease) {
            result.reason = Some(format!("The metric {name} was classified as Low (Critical)"));
            result.critical = true;
        } else {
            result.reason = Some(format!("{name} was classified as Low"));
        }
    }
    result
}

/// `experiment.sorted.sameElements(control.sorted)`: sorted with `Double.compare`, compared with `==`.
fn same_elements(experiment: &[f64], control: &[f64]) -> bool {
    if experiment.len() != control.len() {
        return false;
    }
    let mut a = experiment.to_vec();
    let mut b = control.to_vec();
    a.sort_unstable_by(f64::total_cmp);
    b.sort_unstable_by(f64::total_cmp);
    a.iter().zip(&b).all(|(x, y)| x == y)
}

/// `experiment.union(control).distinct.length == 1` (Scala's `distinct` compares numerically, so −0.0 and
/// 0.0 are one value and two NaNs are two values).
fn all_equal(experiment: &[f64], control: &[f64]) -> bool {
    let mut values = experiment.iter().chain(control);
    match values.next() {
        Some(first) => values.all(|v| v == first),
        None => false,
    }
}

/// `values.distinct.length == 1`.
fn is_constant(values: &[f64]) -> bool {
    all_equal(values, &[])
}

/// The tie-breaking noise for two constant samples, made deterministic.
///
/// Kayenta adds `N(0, (value·1e-5)²)` noise drawn from an unseeded `scala.util.Random` to each side when both
/// are constant (PR #197, "Address tied ranks"), so its verdict in that case is random. Here the i-th of n
/// values gets the normal quantile `Φ⁻¹((i + ½)/n)` scaled the same way: the same distribution shape and
/// scale, no randomness, and a zero constant stays exactly zero.
pub fn deterministic_noise(values: &[f64]) -> Vec<f64> {
    let Some(&first) = values.first() else {
        return Vec::new();
    };
    let scale = first * 1e-5;
    let n = values.len() as f64;
    values
        .iter()
        .enumerate()
        .map(|(i, &v)| {
            let quantile = inverse_cdf((i as f64 + 0.5) / n).unwrap_or(0.0);
            v + quantile * scale
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kayenta::config::Config;

    fn metric(config: Config) -> MetricConfig {
        MetricConfig::new("m", vec!["g".to_string()], config)
    }

    #[test]
    fn noise_is_deterministic_centred_and_scaled() {
        let noisy = deterministic_noise(&[10.0; 5]);
        assert_eq!(noisy, deterministic_noise(&[10.0; 5]));
        assert_eq!(noisy[2], 10.0);
        assert!(noisy.windows(2).all(|w| w[0] < w[1]));
        assert!(noisy.iter().all(|v| (v - 10.0).abs() < 10.0 * 1e-5 * 3.0));
        assert_eq!(deterministic_noise(&[0.0; 4]), vec![0.0; 4]);
        assert_eq!(deterministic_noise(&[7.0]), vec![7.0]);
        assert!(deterministic_noise(&[]).is_empty());
    }

    #[test]
    fn distinct_and_identical_helpers() {
        assert!(same_elements(&[1.0, 2.0, 3.0], &[3.0, 1.0, 2.0]));
        assert!(same_elements(&[0.0, -0.0], &[-0.0, 0.0]));
        assert!(same_elements(&[0.0], &[-0.0]));
        assert!(!same_elements(&[1.0], &[1.0, 1.0]));
        assert!(all_equal(&[1.0, 1.0, 1.0], &[1.0, 1.0]));
        assert!(all_equal(&[0.0], &[-0.0]));
        assert!(!all_equal(&[1.0], &[2.0]));
        assert!(!all_equal(&[f64::NAN], &[f64::NAN]));
    }

    #[test]
    fn empty_inputs_never_panic() {
        let result = classify_metric(&metric(Config::default()), &[], &[]);
        assert_eq!(result.classification, Classification::Nodata);
        assert_eq!(result.reason.as_deref(), Some("Missing data for m"));
        assert_eq!(result.n_baseline, 0);
    }

    #[test]
    fn error_when_every_observation_ties() {
        // Both sides constant, so both get noise; ∞·q is ±∞, so the baseline becomes {NaN, +∞}, which ranks
        // as +∞ twice. μmin = μmax = 1 − ∞ = −∞ shifts the canary to +∞ as well: every observation ties,
        // σ = 0, and Kayenta's MannWhitneyException becomes an Error result.
        let result =
            classify_metric(&metric(Config { critical: true, ..Config::default() }), &[f64::INFINITY; 2], &[1.0; 2]);
        assert_eq!(result.classification, Classification::Error);
        assert_eq!(result.reason.as_deref(), Some("Metric Classification Failed"));
        assert_eq!(result.error.as_deref(), Some("cannot compute confidence interval when all observations are tied"));
        assert!(!result.critical);
        assert!(result.deviation.is_nan());
        assert!(result.noise_added);
        assert_eq!(result.estimate, None);
    }
}
