//! `augur simulate`: the real state machine on a virtual clock, with scripted provider
//! outcomes instead of queries.
//!
//! Each scripted outcome is a measurement that takes no virtual time. A metric whose
//! script runs out takes no more measurements; when no metric can progress, the run is
//! terminated as if by `terminate`. The whole simulation is pure and finishes at once,
//! whatever the intervals.

use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;

use serde::Deserialize;

use crate::condition::result_from_json;
use crate::engine::{Action, Analysis, EngineConfig, Run};
use crate::model::{Measurement, Phase, RunStatus, Timestamp};

/// One scripted provider outcome.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Step {
    /// A provider result, judged by the metric's conditions.
    #[serde(default)]
    pub value: Option<serde_json::Value>,
    /// A provider error: an Error measurement with this message.
    #[serde(default)]
    pub error: Option<String>,
    /// A finished measurement with this phase; conditions are skipped.
    #[serde(default)]
    pub phase: Option<Phase>,
    /// Whether `value` was present at all (a `value: null` is a nil result).
    #[serde(skip)]
    pub has_value: bool,
}

/// A simulation script.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Script {
    /// Per metric, its outcomes in order.
    pub metrics: BTreeMap<String, Vec<Step>>,
    /// Virtual time (from the start) at which the run is terminated.
    pub terminate_at_ms: Option<i64>,
}

/// Parses a script (YAML or JSON). Errors name the field.
pub fn parse_script(text: &str) -> Result<Script, String> {
    let doc: serde_json::Value = serde_norway::from_str(text).map_err(|e| format!("malformed YAML: {e}"))?;
    let serde_json::Value::Object(obj) = doc else {
        return Err("expected a mapping with `metrics`".to_string());
    };
    let mut script = Script::default();
    for (k, v) in obj {
        match k.as_str() {
            "metrics" => {
                let serde_json::Value::Object(metrics) = v else {
                    return Err("metrics: expected a mapping of metric names to lists".to_string());
                };
                for (name, steps) in metrics {
                    let serde_json::Value::Array(items) = steps else {
                        return Err(format!("metrics.{name}: expected a list of steps"));
                    };
                    let mut parsed = Vec::new();
                    for (i, item) in items.into_iter().enumerate() {
                        let path = format!("metrics.{name}[{i}]");
                        let has_value = item.get("value").is_some();
                        let mut step: Step = serde_json::from_value(item).map_err(|e| format!("{path}: {e}"))?;
                        step.has_value = has_value;
                        let set = usize::from(has_value)
                            + usize::from(step.error.is_some())
                            + usize::from(step.phase.is_some());
                        if set != 1 {
                            return Err(format!("{path}: exactly one of value, error or phase is required"));
                        }
                        if let Some(p) = step.phase
                            && !p.is_completed()
                        {
                            return Err(format!("{path}.phase: must be Successful, Failed, Inconclusive or Error"));
                        }
                        parsed.push(step);
                    }
                    script.metrics.insert(name, parsed);
                }
            }
            "terminateAt" => {
                let s = v.as_str().ok_or("terminateAt: expected a duration string like 5m")?;
                let ns = crate::duration::parse_go_duration(s).map_err(|e| format!("terminateAt: {e}"))?;
                script.terminate_at_ms = Some(ns / 1_000_000);
            }
            other => return Err(format!("{other}: unknown field (expected metrics or terminateAt)")),
        }
    }
    Ok(script)
}

/// Runs `analysis` against `script`, starting at virtual time `start`.
pub fn simulate(analysis: Arc<Analysis>, script: &Script, config: EngineConfig, start: Timestamp) -> RunStatus {
    let mut queues: Vec<VecDeque<Step>> = analysis
        .metrics
        .iter()
        .map(|p| script.metrics.get(&p.metric.name).cloned().unwrap_or_default().into())
        .collect();
    let terminate_at = script.terminate_at_ms.map(|ms| start.plus_millis(ms));
    let mut run = Run::new(Arc::clone(&analysis), config);
    let mut now = start;
    // A bound on iterations keeps a pathological script from looping forever.
    for _ in 0..1_000_000 {
        if terminate_at.is_some_and(|t| now >= t) && !run.terminate_requested() {
            run.terminate();
        }
        let actions = run.plan(now);
        let mut progressed = false;
        for action in actions {
            let Action::Measure(i) = action else { continue };
            let Some(step) = queues[i].pop_front() else { continue };
            run.begin(i, now);
            let plan = &analysis.metrics[i];
            let m = match step {
                Step { error: Some(e), .. } => Measurement {
                    phase: Phase::Error,
                    message: e,
                    started_at: Some(now),
                    finished_at: Some(now),
                    ..Measurement::default()
                },
                Step { phase: Some(p), .. } => {
                    Measurement { phase: p, started_at: Some(now), finished_at: Some(now), ..Measurement::default() }
                }
                Step { value, .. } => {
                    let v = value.unwrap_or(serde_json::Value::Null);
                    let result = result_from_json(&v);
                    let eval = plan.conditions.evaluate(&result, now.millis().saturating_mul(1_000_000));
                    Measurement {
                        phase: eval.phase,
                        message: eval.message,
                        started_at: Some(now),
                        finished_at: Some(now),
                        value: script_value(&v),
                        ..Measurement::default()
                    }
                }
            };
            run.complete(i, m, now);
            progressed = true;
        }
        run.assess(now);
        if run.is_completed() {
            break;
        }
        if progressed {
            continue;
        }
        // Next virtual instant: the earliest due metric that still has script left.
        let next = next_progress(&run, &queues, now);
        match (next, terminate_at) {
            (Some(t), Some(term)) if term < t => now = term.max(now),
            (Some(t), _) => now = t.max(now),
            (None, Some(term)) if term > now => now = term,
            (None, _) => {
                run.terminate();
                run.plan(now);
                run.assess(now);
                break;
            }
        }
    }
    run.status().clone()
}

fn script_value(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::String(s) => s.clone(),
        other => augur_provider_api::gofmt::go_json(other),
    }
}

/// The earliest time at which some metric with script left is due.
fn next_progress(run: &Run, queues: &[VecDeque<Step>], now: Timestamp) -> Option<Timestamp> {
    (0..queues.len()).filter(|i| !queues[*i].is_empty()).filter_map(|i| run.metric_due(i)).min().map(|t| t.max(now))
}
