//! Input samples and their preprocessing (missing values, count/rate validation).

use super::config::{MetricConfig, MetricKind, NanPolicy};

/// One side's per-step observations.
///
/// `exposures` is ignored for continuous metrics; for counts it is the per-step exposure (1 per step when
/// absent); for rates it is the per-step denominator (required). A step whose exposure is missing, infinite or
/// negative is dropped whatever the [`NanPolicy`].
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Sample<'a> {
    /// Per-step values (numerators for rates).
    pub values: &'a [f64],
    /// Per-step exposures / denominators, same length as `values`.
    pub exposures: Option<&'a [f64]>,
}

impl<'a> Sample<'a> {
    /// Values only.
    pub fn new(values: &'a [f64]) -> Self {
        Sample { values, exposures: None }
    }

    /// Values with per-step exposures (counts) or denominators (rates).
    pub fn with_exposures(values: &'a [f64], exposures: &'a [f64]) -> Self {
        Sample { values, exposures: Some(exposures) }
    }
}

impl<'a> From<&'a [f64]> for Sample<'a> {
    fn from(values: &'a [f64]) -> Self {
        Sample::new(values)
    }
}

impl<'a> From<&'a Vec<f64>> for Sample<'a> {
    fn from(values: &'a Vec<f64>) -> Self {
        Sample::new(values)
    }
}

/// One metric of a judgement: its name, configuration and both samples.
#[derive(Clone, Copy, Debug)]
pub struct MetricInput<'a> {
    /// Reported back in the verdict.
    pub name: &'a str,
    /// How to judge it.
    pub config: &'a MetricConfig,
    /// Baseline (control) observations.
    pub baseline: Sample<'a>,
    /// Canary (experiment) observations.
    pub canary: Sample<'a>,
}

impl<'a> MetricInput<'a> {
    /// A metric with plain per-step values on both sides.
    pub fn new(name: &'a str, config: &'a MetricConfig, baseline: &'a [f64], canary: &'a [f64]) -> Self {
        MetricInput { name, config, baseline: Sample::new(baseline), canary: Sample::new(canary) }
    }
}

/// Continuous values after the missing-value policy.
pub(crate) fn clean_values(values: &[f64], policy: NanPolicy) -> Vec<f64> {
    match policy {
        NanPolicy::Remove => values.iter().copied().filter(|v| v.is_finite()).collect(),
        NanPolicy::Replace => values.iter().map(|&v| if v.is_finite() { v } else { 0.0 }).collect(),
    }
}

/// Per-step (value, exposure) pairs of a count or rate metric after the policy; errors name the bad step.
pub(crate) fn clean_steps(sample: Sample<'_>, config: &MetricConfig, side: &str) -> Result<Vec<(f64, f64)>, String> {
    let rate = config.kind == MetricKind::Rate;
    let exposures = match sample.exposures {
        Some(e) if e.len() != sample.values.len() => {
            return Err(format!("{side}: {} exposures for {} values", e.len(), sample.values.len()));
        }
        Some(e) => Some(e),
        None if rate => return Err(format!("{side}: a rate metric needs denominators (exposures)")),
        None => None,
    };
    let mut out = Vec::with_capacity(sample.values.len());
    for (i, &v) in sample.values.iter().enumerate() {
        let e = exposures.map_or(1.0, |e| e[i]);
        if !(e.is_finite() && e >= 0.0) {
            continue;
        }
        let v = if v.is_finite() {
            v
        } else {
            match config.nan_policy {
                NanPolicy::Remove => continue,
                NanPolicy::Replace => 0.0,
            }
        };
        if v < 0.0 {
            return Err(format!("{side}: negative count {v} at step {i}"));
        }
        if rate && v > e {
            return Err(format!("{side}: numerator {v} exceeds denominator {e} at step {i}"));
        }
        out.push((v, e));
    }
    Ok(out)
}
