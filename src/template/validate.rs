//! Argo's `ValidateMetrics`, with its exact messages.
//!
//! [`metric_problems`] lists every problem of one metric in Argo's check order, each
//! with the field it concerns; Argo itself stops at the first one, which is what
//! [`validate_metrics`] returns (as `metrics[i]: <message>`), while `lint` shows them all.

use super::{IntOrString, Metric, Problem};
use crate::duration::parse_go_duration;

/// Every problem of one metric, in Argo's order. Paths are relative to the metric.
pub fn metric_problems(metric: &Metric) -> Vec<Problem> {
    let mut out = Vec::new();
    let iv = |v: &Option<IntOrString>| v.as_ref().map_or(0, IntOrString::int_value);
    let count = iv(&metric.count);
    let failure_limit = iv(&metric.failure_limit);
    let inconclusive_limit = iv(&metric.inconclusive_limit);
    let success_limit = iv(&metric.consecutive_success_limit);

    if count > 0 {
        if failure_limit >= 0 && success_limit >= 0 {
            if count < failure_limit + success_limit {
                out.push(Problem::new(
                    "count",
                    format!(
                        "count ({count}) must be >= failureLimit + consecutiveSuccessLimit ({failure_limit} + {success_limit}) if both >= 0"
                    ),
                ));
            }
        } else if failure_limit < 0 && count < success_limit {
            out.push(Problem::new("count", "count must be >= consecutiveSuccessLimit"));
        }
        if count < inconclusive_limit {
            out.push(Problem::new("count", "count must be >= inconclusiveLimit"));
        }
    }
    if count > 1 && metric.interval.is_empty() {
        out.push(Problem::new("interval", "interval must be specified when count > 1"));
    }
    if !metric.interval.is_empty()
        && let Err(e) = parse_go_duration(&metric.interval)
    {
        out.push(Problem::new("interval", format!("invalid interval string: {e}")));
    }
    if !metric.initial_delay.is_empty()
        && let Err(e) = parse_go_duration(&metric.initial_delay)
    {
        out.push(Problem::new("initialDelay", format!("invalid startDelay string: {e}")));
    }
    if failure_limit < -1 {
        out.push(Problem::new("failureLimit", "failureLimit must be >= -1"));
    }
    if failure_limit == -1 && success_limit == 0 {
        out.push(Problem::new("failureLimit", "failureLimit and consecutiveSuccessLimit cannot both be disabled"));
    }
    if inconclusive_limit < 0 {
        out.push(Problem::new("inconclusiveLimit", "inconclusiveLimit must be >= 0"));
    }
    if metric.consecutive_error_limit.is_some() && metric.consecutive_error_limit() < 0 {
        out.push(Problem::new("consecutiveErrorLimit", "consecutiveErrorLimit must be >= 0"));
    }
    if success_limit < 0 {
        out.push(Problem::new("consecutiveSuccessLimit", "consecutiveSuccessLimit must be >= 0"));
    }
    // Argo counts each known provider block once, and each key of `plugin` as one provider
    // (§1.9: `plugin` takes exactly one `<vendor>/<name>` key).
    let providers: usize = metric
        .provider
        .iter()
        .filter(|(k, _)| super::ARGO_PROVIDERS.contains(&k.as_str()))
        .map(|(k, v)| match (k.as_str(), v) {
            ("plugin", serde_json::Value::Object(plugins)) => plugins.len(),
            ("plugin", serde_json::Value::Null) => 0,
            _ => 1,
        })
        .sum();
    match providers {
        0 => {
            let unknown: Vec<&String> =
                metric.provider.keys().filter(|k| !super::ARGO_PROVIDERS.contains(&k.as_str())).collect();
            let message = match unknown.first() {
                Some(k) => format!(
                    "no provider specified (unknown provider {k:?}; known: {})",
                    super::ARGO_PROVIDERS.join(", ")
                ),
                None => "no provider specified".to_string(),
            };
            out.push(Problem::new("provider", message));
        }
        1 => {}
        _ => out.push(Problem::new("provider", "multiple providers specified")),
    }
    out
}

/// Argo's `ValidateMetrics`: the first problem, formatted as Argo formats it.
pub fn validate_metrics(metrics: &[Metric]) -> Result<(), String> {
    if metrics.is_empty() {
        return Err("no metrics specified".to_string());
    }
    let mut seen = std::collections::HashSet::new();
    for (i, m) in metrics.iter().enumerate() {
        if !seen.insert(m.name.as_str()) {
            return Err(format!("metrics[{i}]: duplicate name '{}'", m.name));
        }
        if let Some(p) = metric_problems(m).into_iter().next() {
            return Err(format!("metrics[{i}]: {}", p.message));
        }
    }
    Ok(())
}

/// Every validation problem of a metric list, with full field paths.
pub fn all_problems(metrics: &[Metric], prefix: &str) -> Vec<Problem> {
    let mut out = Vec::new();
    if metrics.is_empty() {
        out.push(Problem::new(format!("{prefix}metrics"), "no metrics specified"));
    }
    let mut seen = std::collections::HashSet::new();
    for (i, m) in metrics.iter().enumerate() {
        if !seen.insert(m.name.as_str()) {
            out.push(Problem::new(format!("{prefix}metrics[{i}].name"), format!("duplicate name '{}'", m.name)));
        }
        if m.name.is_empty() {
            out.push(Problem::new(format!("{prefix}metrics[{i}].name"), "name is required"));
        }
        for p in metric_problems(m) {
            out.push(Problem::new(format!("{prefix}metrics[{i}].{}", p.path), p.message));
        }
    }
    out
}
