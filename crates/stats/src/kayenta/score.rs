//! Scoring a whole canary from its metric results (`WeightedSumScorer` + `ThresholdScoreClassifier`).
//!
//! Muted metrics are dropped first. Each group scores `100·#Pass / (#Pass + #High + #Low +
//! #NodataFailMetric)` (Nodata and Error are left out; a group with nothing left is "no data" and scores 0).
//! Then: any critical result that is not a Pass sets the summary score to 0; so does `#Nodata / #results ≥
//! 50 %`; otherwise the summary is `Σ score_g·w_g/100`, where a no-data group counts as 100, groups without a
//! configured weight share `(100 − Σ configured weights)` equally, and the sum is rounded half-up to two
//! decimals. The summary is Pass at or above `pass`, Marginal at or above `marginal`, else Fail.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::kayenta::classify::{Classification, MetricResult};
use crate::kayenta::config::CanaryConfig;

/// Kayenta's `NODATA_THRESHOLD`: the canary fails when this percentage of results (or more) is `Nodata`.
pub const NODATA_THRESHOLD: f64 = 50.0;

/// The classification of the summary score.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ScoreClassification {
    /// `score ≥ pass`.
    Pass,
    /// `marginal ≤ score < pass`.
    Marginal,
    /// `score < marginal`.
    Fail,
}

/// One group's score.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GroupScore {
    /// The group's name.
    pub name: String,
    /// `100·#Pass / (#Pass + #High + #Low + #NodataFailMetric)`, or 0 when that denominator is 0.
    pub score: f64,
    /// True when the denominator is 0; the group then counts as 100 in the summary.
    pub no_data: bool,
    /// How many results of each classification the group has (Nodata and Error included).
    pub label_counts: BTreeMap<String, usize>,
    /// How many (unmuted) results the group has.
    pub num_metrics: usize,
}

/// The score of a canary.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ScoreResult {
    /// The summary score, 0–100 (rounded half-up to 2 decimals; exactly 0 on a critical failure or too
    /// many Nodata results).
    pub score: f64,
    /// The summary score against the thresholds.
    pub classification: ScoreClassification,
    /// Why the score was forced to 0 (`"Canary Failed: …"`), if it was.
    pub reason: Option<String>,
    /// The groups in order of first appearance in the results.
    pub group_scores: Vec<GroupScore>,
    /// The number of unmuted results scored.
    pub num_metrics: usize,
}

/// Scores a canary as Kayenta's judge does.
///
/// `results` pairs each metric's name with its result; the name selects the metric's groups in `config`
/// (the first metric config with that name; a name that is not in the config belongs to no group, though it
/// still counts for the critical and Nodata rules). A result's `muted` flag drops it from scoring. `pass`
/// and `marginal` are the execution request's thresholds (Spinnaker's examples use 75 and 50).
pub fn score<S: AsRef<str>>(
    config: &CanaryConfig,
    results: &[(S, MetricResult)],
    pass: f64,
    marginal: f64,
) -> ScoreResult {
    let unmuted: Vec<(&str, &MetricResult)> =
        results.iter().filter(|(_, result)| !result.muted).map(|(name, result)| (name.as_ref(), result)).collect();

    let group_scores = group_scores(config, &unmuted);

    let critical_failure = unmuted
        .iter()
        .find(|(_, result)| result.critical && result.classification != Classification::Pass)
        .map(|(_, result)| result);
    let (summary, reason) = if let Some(failure) = critical_failure {
        // Scala interpolates a null reason as "null".
        (0.0, Some(format!("Canary Failed: {}", failure.reason.as_deref().unwrap_or("null"))))
    } else if too_many_nodata(&unmuted) {
        (0.0, Some(format!("Canary Failed: {NODATA_THRESHOLD}% or more metrics returned NODATA")))
    } else {
        (summary_score(config, &group_scores), None)
    };

    let classification = if summary >= pass {
        ScoreClassification::Pass
    } else if summary >= marginal {
        ScoreClassification::Marginal
    } else {
        ScoreClassification::Fail
    };
    ScoreResult { score: summary, classification, reason, group_scores, num_metrics: unmuted.len() }
}

/// Kayenta's `calculateGroupScores`: one entry per (metric, group) membership.
fn group_scores(config: &CanaryConfig, results: &[(&str, &MetricResult)]) -> Vec<GroupScore> {
    let mut labels: Vec<(String, Vec<Classification>)> = Vec::new();
    for (name, result) in results {
        let Some(metric) = config.metric(name) else {
            continue;
        };
        for group in &metric.groups {
            match labels.iter_mut().find(|(existing, _)| existing == group) {
                Some((_, list)) => list.push(result.classification),
                None => labels.push((group.clone(), vec![result.classification])),
            }
        }
    }
    labels
        .into_iter()
        .map(|(name, list)| {
            let count = |label: Classification| list.iter().filter(|&&l| l == label).count();
            let num_pass = count(Classification::Pass);
            let num_total = count(Classification::High)
                + count(Classification::Low)
                + num_pass
                + count(Classification::NodataFailMetric);
            let no_data = num_total == 0;
            let score = if no_data { 0.0 } else { (num_pass as f64 / num_total as f64) * 100.0 };
            let mut label_counts = BTreeMap::new();
            for label in &list {
                *label_counts.entry(label.as_str().to_string()).or_insert(0) += 1;
            }
            GroupScore { name, score, no_data, label_counts, num_metrics: list.len() }
        })
        .collect()
}

/// Kayenta's `tooManyNodata`: `#Nodata / #results · 100 ≥ 50` (false for no results: NaN compares false).
fn too_many_nodata(results: &[(&str, &MetricResult)]) -> bool {
    let nodata = results.iter().filter(|(_, result)| result.classification == Classification::Nodata).count();
    let nodata_percent = nodata as f64 / results.len() as f64 * 100.0;
    nodata_percent >= NODATA_THRESHOLD
}

/// Kayenta's `calculateSummaryScore`.
fn summary_score(config: &CanaryConfig, groups: &[GroupScore]) -> f64 {
    let mut group_weight_sum = 0.0;
    for (_, weight) in &config.group_weights {
        group_weight_sum += weight;
    }
    let unweighted = groups.iter().filter(|group| config.group_weight(&group.name).is_none()).count();
    let calculated_weight = if unweighted > 0 { (100.0 - group_weight_sum) / unweighted as f64 } else { 0.0 };

    let mut summary = 0.0;
    for group in groups {
        let effective_score = if group.no_data { 100.0 } else { group.score };
        let weight = config.group_weight(&group.name).unwrap_or(calculated_weight);
        summary += effective_score * (weight / 100.0);
    }
    round_half_up(summary, 2)
}

/// commons-math `MathUtils.round(x, scale)`: `new BigDecimal(Double.toString(x)).setScale(scale,
/// ROUND_HALF_UP).doubleValue()` — the shortest decimal form of `x`, rounded half away from zero. NaN stays
/// NaN and infinities stay infinite.
pub fn round_half_up(x: f64, scale: usize) -> f64 {
    if !x.is_finite() {
        return x;
    }
    // Rust's `Display` for f64 is the shortest round-trip decimal, without an exponent.
    let text = format!("{x}");
    let (negative, unsigned) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text.as_str()),
    };
    let (int_part, frac_part) = unsigned.split_once('.').unwrap_or((unsigned, ""));
    if frac_part.len() <= scale {
        return x;
    }
    let mut digits: Vec<u8> = int_part.bytes().chain(frac_part.bytes().take(scale)).map(|b| b - b'0').collect();
    let round_up = frac_part.as_bytes()[scale] >= b'5';
    if round_up {
        let mut carry = true;
        for digit in digits.iter_mut().rev() {
            if *digit == 9 {
                *digit = 0;
            } else {
                *digit += 1;
                carry = false;
                break;
            }
        }
        if carry {
            digits.insert(0, 1);
        }
    }
    let split = digits.len() - scale;
    let mut rounded = String::with_capacity(digits.len() + 2);
    if negative {
        rounded.push('-');
    }
    rounded.extend(digits[..split].iter().map(|&d| char::from(b'0' + d)));
    rounded.push('.');
    rounded.extend(digits[split..].iter().map(|&d| char::from(b'0' + d)));
    rounded.parse().unwrap_or(x)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rounding_half_up_on_the_shortest_decimal() {
        assert_eq!(round_half_up(33.333333333333336, 2), 33.33);
        assert_eq!(round_half_up(66.66666666666667, 2), 66.67);
        assert_eq!(round_half_up(5.000000000000001, 2), 5.0);
        // 1.005 is stored as 1.00499999999999989…, but its shortest decimal is "1.005", so it rounds up.
        assert_eq!(round_half_up(1.005, 2), 1.01);
        assert_eq!(round_half_up(0.125, 2), 0.13);
        assert_eq!(round_half_up(-0.125, 2), -0.13);
        assert_eq!(round_half_up(99.995, 2), 100.0);
        assert_eq!(round_half_up(100.0, 2), 100.0);
        assert_eq!(round_half_up(0.0, 2), 0.0);
        assert_eq!(round_half_up(1e-7, 2), 0.0);
        assert!(round_half_up(f64::NAN, 2).is_nan());
        assert_eq!(round_half_up(f64::INFINITY, 2), f64::INFINITY);
    }
}
