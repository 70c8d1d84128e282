//! Configuration of one metric's judgement and of a whole run.

use std::fmt;

use serde::{Deserialize, Serialize};

/// What kind of numbers a metric's samples are; it picks the test.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum MetricKind {
    /// Any real-valued per-step value (latency, CPU, a rate computed upstream): Mann–Whitney p-value and the
    /// Hodges–Lehmann shift with its distribution-free confidence interval.
    #[default]
    Continuous,
    /// Event counts per step (errors, restarts), optionally with a per-step exposure (steps, requests,
    /// instance-seconds; 1 per step when absent): the exact conditional binomial test of the two Poisson rates
    /// given the total count, with a Clopper–Pearson interval.
    Count,
    /// Numerator/denominator per step (errors/requests): the pooled two-proportion score test on the totals, with
    /// Newcombe's hybrid-score interval for the difference of proportions. Needs the denominators.
    Rate,
}

/// Which change of the canary counts as bad.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Direction {
    /// Either a rise (`High`) or a fall (`Low`); two-sided test.
    #[default]
    Either,
    /// Only a rise is flagged (`High`); one-sided test (canary greater).
    Increase,
    /// Only a fall is flagged (`Low`); one-sided test (canary smaller).
    Decrease,
}

impl Direction {
    pub(crate) fn allows_high(self) -> bool {
        matches!(self, Direction::Either | Direction::Increase)
    }

    pub(crate) fn allows_low(self) -> bool {
        matches!(self, Direction::Either | Direction::Decrease)
    }

    /// Probability in each tail of the confidence interval: α/2 two-sided, α for a one-sided direction (so the
    /// reported two-sided interval has level 1 − 2α and its relevant bound is a one-sided 1 − α bound, consistent
    /// with the one-sided p-value).
    pub(crate) fn ci_tail(self, alpha: f64) -> f64 {
        match self {
            Direction::Either => alpha / 2.0,
            Direction::Increase | Direction::Decrease => alpha,
        }
    }
}

/// The smallest change that matters (practical significance). A metric is `High`/`Low` only when its whole
/// confidence interval lies beyond the margin on that side.
///
/// Serialized as `{"absolute": 5.0}` or `{"relative": 0.1}`.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Margin {
    /// In the metric's own units: continuous → the shift canary − baseline; count → the difference of rates
    /// (events per exposure unit); rate → the difference of proportions.
    Absolute(f64),
    /// A fraction of the baseline's level (0.1 = 10 %): continuous → of |median(baseline)|; count → of the
    /// baseline rate (tested exactly on the rate ratio: ratio > 1 + r or < 1 − r); rate → of the baseline
    /// proportion. When the baseline level is 0 the relative margin cannot be applied and 0 is used (the reason
    /// says so). Must be below 1.
    Relative(f64),
}

impl Default for Margin {
    fn default() -> Self {
        Margin::Absolute(0.0)
    }
}

impl Margin {
    pub(crate) fn value(self) -> f64 {
        match self {
            Margin::Absolute(v) | Margin::Relative(v) => v,
        }
    }
}

/// What to do with missing values (NaN; ±∞ counts as missing too).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum NanPolicy {
    /// Drop missing points (Kayenta's default).
    #[default]
    Remove,
    /// Use 0.0 in their place (Kayenta's `replace`): for metrics whose absence means zero, such as error counts.
    Replace,
}

/// How to treat serial dependence (autocorrelation) between a side's consecutive steps.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum SerialDependence {
    /// Estimate each side's autocorrelation from its steps in time order (AR sieve, see
    /// [`variance_inflation`](super::variance_inflation)) and widen the test and the interval by it; exact
    /// tests stay exact when no dependence is found. Continuous metrics, fixed-horizon and sequential.
    #[default]
    Auto,
    /// Assume independent steps (the textbook tests; what scipy computes). Use when the values are not in time
    /// order, or are independent by construction (one value per instance, say).
    Independent,
}

/// Multiple-testing correction across the metrics of one judgement.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Correction {
    /// Holm's step-down: controls the family-wise error rate under any dependence.
    #[default]
    Holm,
    /// Benjamini–Hochberg step-up: controls the false discovery rate (independent or positively dependent
    /// metrics).
    BenjaminiHochberg,
    /// No correction: adjusted p-values equal the raw ones.
    None,
}

/// Options of the sequential (anytime-valid) mode.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
pub struct SequentialOptions {
    /// Continuous metrics: no decision before this many paired steps. The normal-mixture confidence sequence
    /// plugs in the running variance, so its anytime guarantee is asymptotic; the first few looks are the weak
    /// spot. Default 10.
    pub min_steps: usize,
    /// Continuous metrics: the number of steps at which the confidence sequence is tightest (the mixture
    /// variance is tuned for it, Howard et al. 2021). Default 60 (one hour of one-minute steps).
    pub tuning_steps: usize,
}

impl Default for SequentialOptions {
    fn default() -> Self {
        SequentialOptions { min_steps: 10, tuning_steps: 60 }
    }
}

/// Default significance level α.
pub const DEFAULT_ALPHA: f64 = 0.05;
/// Default minimum number of usable points per side.
pub const DEFAULT_MIN_SAMPLES: usize = 5;

/// How to judge one metric. Every field has a default, so `{}` is a valid configuration.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
pub struct MetricConfig {
    /// Which test to use. Default `continuous`.
    pub kind: MetricKind,
    /// Which change is bad. Default `either`.
    pub direction: Direction,
    /// Significance level, in (0, 0.5). Default 0.05. In [`judge_all`](super::judge_all) it is compared with the
    /// *adjusted* p-value, so equal α everywhere means Holm (or BH) at that α for the whole family.
    pub alpha: f64,
    /// The smallest change that matters. Default `{"absolute": 0}`: any significant change.
    pub margin: Margin,
    /// Missing values. Default `remove`.
    pub nan_policy: NanPolicy,
    /// Fewer usable points than this on either side gives `Nodata`. Default 5: with 4 vs 4 only complete
    /// separation can reach p < 0.05 (2/70), and with 3 vs 3 nothing can (2/20 = 0.1); 5 leaves one point of slack.
    /// Kayenta's documentation recommends at least 50 for useful power.
    pub min_samples: usize,
    /// Serial dependence between consecutive steps. Default `auto`.
    pub serial_dependence: SerialDependence,
    /// Sequential mode options.
    pub sequential: SequentialOptions,
}

impl Default for MetricConfig {
    fn default() -> Self {
        MetricConfig {
            kind: MetricKind::default(),
            direction: Direction::default(),
            alpha: DEFAULT_ALPHA,
            margin: Margin::default(),
            nan_policy: NanPolicy::default(),
            min_samples: DEFAULT_MIN_SAMPLES,
            serial_dependence: SerialDependence::default(),
            sequential: SequentialOptions::default(),
        }
    }
}

/// An invalid [`MetricConfig`].
#[derive(Clone, Debug, PartialEq)]
pub struct ConfigError(pub String);

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ConfigError {}

impl MetricConfig {
    /// Checks the ranges documented on each field. The judging functions never panic on a bad configuration:
    /// they return `Nodata` with the error as the reason; call this when loading configuration to fail early.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if !(self.alpha > 0.0 && self.alpha < 0.5) {
            return Err(ConfigError(format!("alpha must be in (0, 0.5), got {}", self.alpha)));
        }
        let m = self.margin.value();
        if !(m.is_finite() && m >= 0.0) {
            return Err(ConfigError(format!("margin must be finite and >= 0, got {m}")));
        }
        if matches!(self.margin, Margin::Relative(r) if r >= 1.0) {
            return Err(ConfigError(format!("a relative margin must be below 1, got {m}")));
        }
        if self.min_samples < 1 {
            return Err(ConfigError("minSamples must be at least 1".into()));
        }
        if self.sequential.tuning_steps < 1 {
            return Err(ConfigError("sequential.tuningSteps must be at least 1".into()));
        }
        Ok(())
    }
}

/// Options of a whole judgement ([`judge_all`](super::judge_all)).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct JudgeOptions {
    /// Correction across the metrics that were tested. Default `holm`.
    pub correction: Correction,
}
