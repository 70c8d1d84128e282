//! `augur judge`: one canary-vs-baseline comparison from files, with either engine.
//!
//! The statistics live in `augur-stats` (pure); this module only reads the inputs,
//! picks the engine and shapes one JSON object a script can rely on:
//! `classification`, `reason`, `critical`, `estimate`, `ciLower`, `ciUpper`, `pValue`
//! (augur engine only), `effectSize`, `deviation` (the mean ratio), `nBaseline`,
//! `nCanary`, plus `engine`.
//!
//! Exit codes follow the run verdicts: Pass 0, High/Low 1, Nodata 2, Error 3.

use augur_stats::{engine, kayenta};
use serde_json::{Value, json};

/// Which engine judges.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Engine {
    /// augur's default: exact Mann–Whitney p-values and Hodges–Lehmann CIs.
    Augur,
    /// Kayenta's NetflixACAJudge, bit for bit.
    Kayenta,
}

/// Reads samples: a JSON array of numbers (`null` = NaN), or one number per line.
pub fn parse_samples(text: &str) -> Result<Vec<f64>, String> {
    let trimmed = text.trim_start();
    if trimmed.starts_with('[') {
        let values: Vec<Value> = serde_json::from_str(trimmed).map_err(|e| format!("not a JSON array: {e}"))?;
        return values
            .iter()
            .enumerate()
            .map(|(i, v)| match v {
                Value::Null => Ok(f64::NAN),
                Value::Number(n) => n.as_f64().ok_or_else(|| format!("[{i}]: {n} is not a number")),
                Value::String(s) if s == "NaN" => Ok(f64::NAN),
                other => Err(format!("[{i}]: expected a number or null, found {other}")),
            })
            .collect();
    }
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| {
            let l = l.trim();
            match l {
                "NaN" | "nan" | "null" => Ok(f64::NAN),
                _ => l.parse::<f64>().map_err(|_| format!("line {}: {l:?} is not a number", i + 1)),
            }
        })
        .collect()
}

fn mean_ratio(baseline: &[f64], canary: &[f64]) -> Option<f64> {
    let mean = |v: &[f64]| {
        let finite: Vec<f64> = v.iter().copied().filter(|x| x.is_finite()).collect();
        (!finite.is_empty()).then(|| finite.iter().sum::<f64>() / finite.len() as f64)
    };
    let (b, c) = (mean(baseline)?, mean(canary)?);
    (b != 0.0).then(|| c / b)
}

fn finite(x: f64) -> Value {
    if x.is_finite() { json!(x) } else { Value::Null }
}

/// The augur engine's options from a Kayenta `analysisConfigurations.canary` object:
/// `direction` and `nanStrategy` carry over; an `augur` sub-object sets the rest.
fn augur_config(config: &Value) -> Result<engine::MetricConfig, String> {
    let mut cfg: engine::MetricConfig = match config.get("augur") {
        Some(v) => serde_path_to_error::deserialize(v.clone()).map_err(|e| {
            let path = e.path().to_string();
            if path == "." {
                format!("config: augur: {}", e.inner())
            } else {
                format!("config: augur.{path}: {}", e.inner())
            }
        })?,
        None => engine::MetricConfig::default(),
    };
    if let Some(d) = config.get("direction").and_then(Value::as_str) {
        cfg.direction = match d {
            "increase" => engine::Direction::Increase,
            "decrease" => engine::Direction::Decrease,
            _ => engine::Direction::Either,
        };
    }
    if config.get("nanStrategy").and_then(Value::as_str) == Some("replace") {
        cfg.nan_policy = engine::NanPolicy::Replace;
    }
    cfg.validate().map_err(|e| format!("config: {e}"))?;
    Ok(cfg)
}

/// Judges one metric. `config` is an `analysisConfigurations.canary` object (Kayenta's
/// keys); for the augur engine its `direction`, `nanStrategy` and `critical` apply, and
/// an `augur` sub-object may set the engine's own options (`kind`, `alpha`, `margin`, …).
/// Returns the JSON result and the exit code.
pub fn judge(
    engine_choice: Engine,
    config: &Value,
    direction: Option<&str>,
    baseline: &[f64],
    canary: &[f64],
) -> Result<(Value, i32), String> {
    let mut config = config.clone();
    if let (Some(d), Some(obj)) = (direction, config.as_object_mut()) {
        obj.insert("direction".into(), json!(d));
    }
    match engine_choice {
        Engine::Kayenta => {
            let cfg = kayenta::Config::from_json(&config).map_err(|e| format!("config: {e}"))?;
            let metric = kayenta::MetricConfig::new("metric", Vec::new(), cfg);
            let r = kayenta::classify_metric(&metric, baseline, canary);
            let code = match r.classification {
                kayenta::Classification::Pass => 0,
                kayenta::Classification::High | kayenta::Classification::Low => 1,
                kayenta::Classification::Nodata | kayenta::Classification::NodataFailMetric => 2,
                kayenta::Classification::Error => 3,
            };
            let classification = serde_json::to_value(r.classification).unwrap_or(Value::Null);
            let out = json!({
                "engine": "kayenta",
                "classification": classification,
                "reason": r.reason.clone().or(r.error.clone()),
                "critical": r.critical,
                "estimate": r.estimate.map(finite),
                "ciLower": r.ci_lower.map(finite),
                "ciUpper": r.ci_upper.map(finite),
                "effectSize": finite(r.effect_size),
                "deviation": finite(r.deviation),
                "nBaseline": r.n_baseline,
                "nCanary": r.n_canary,
            });
            Ok((out, code))
        }
        Engine::Augur => {
            let cfg = augur_config(&config)?;
            let critical = config.get("critical").and_then(Value::as_bool).unwrap_or(false);
            let v = engine::judge_metric(&cfg, baseline, canary);
            let classification = serde_json::to_value(v.classification).unwrap_or(Value::Null);
            let code = match classification.as_str() {
                Some("Pass") => 0,
                Some("High" | "Low") => 1,
                _ => 2,
            };
            let out = json!({
                "engine": "augur",
                "classification": classification,
                "reason": v.reason,
                "critical": critical && code == 1,
                "estimate": v.estimate.map(finite),
                "ciLower": v.ci_lower.map(finite),
                "ciUpper": v.ci_upper.map(finite),
                "pValue": v.p_value.map(finite),
                "effectSize": v.effect.map(finite),
                "deviation": mean_ratio(baseline, canary).map(finite),
                "nBaseline": v.n_baseline,
                "nCanary": v.n_canary,
                "varianceInflation": v.variance_inflation.map(finite),
            });
            Ok((out, code))
        }
    }
}

impl std::str::FromStr for Engine {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "" | "augur" => Ok(Engine::Augur),
            "kayenta" => Ok(Engine::Kayenta),
            other => Err(format!("unknown engine {other:?} (expected augur or kayenta)")),
        }
    }
}

/// Checks `config` (an `analysisConfigurations.canary` object, with an optional `augur`
/// sub-object) for `engine_choice` without judging anything.
pub fn validate(engine_choice: Engine, config: &Value) -> Result<(), String> {
    if !config.is_object() {
        return Err("config: expected an object".into());
    }
    match engine_choice {
        Engine::Kayenta => kayenta::Config::from_json(config).map(|_| ()).map_err(|e| format!("config: {e}")),
        Engine::Augur => augur_config(config).map(|_| ()),
    }
}

/// The augur engine's sequential (anytime-valid) judgement of the steps so far, paired by
/// index: `classification` is `High`/`Low` once the evidence is conclusive, `Pass` once
/// no bad change beyond the margin is shown, and `Continue` before either.
pub fn judge_sequential(config: &Value, baseline: &[f64], canary: &[f64]) -> Result<Value, String> {
    let cfg = augur_config(config)?;
    let v = engine::judge_sequential(&cfg, engine::Sample::new(baseline), engine::Sample::new(canary));
    Ok(json!({
        "engine": "augur",
        "mode": "sequential",
        "classification": serde_json::to_value(v.decision).unwrap_or(Value::Null),
        "reason": v.reason,
        "decidedAt": v.decided_at,
        "steps": v.steps,
        "eValue": finite(v.e_value),
        "pValue": finite(v.p_value),
        "estimate": v.estimate.map(finite),
        "csLower": v.cs_lower.map(finite),
        "csUpper": v.cs_upper.map(finite),
        "effectSize": v.effect.map(finite),
        "nBaseline": baseline.len(),
        "nCanary": canary.len(),
    }))
}

/// Scores a whole canary config (`augur judge --canary-config C --data D`).
///
/// `data` is Kayenta's list of metric set pairs:
/// `[{"name": "…", "values": {"control": [...], "experiment": [...]}}]` (`control` is
/// the baseline, `experiment` the canary; `null` is NaN). Each metric is classified by
/// `engine_choice` with its own `analysisConfigurations.canary`, then Kayenta's scoring
/// applies (groups and weights, a failing critical metric or ≥ 50 % Nodata scores 0,
/// `pass`/`marginal` thresholds). With the augur engine, p-values are Holm-adjusted
/// across the metrics first. Exit code: Pass 0, Fail 1, Marginal 2.
pub fn score_config(
    engine_choice: Engine,
    canary_config: &Value,
    data: &Value,
    pass: f64,
    marginal: f64,
) -> Result<(Value, i32), String> {
    let config = kayenta::CanaryConfig::from_json(canary_config).map_err(|e| format!("canary config: {e}"))?;
    let pairs = data.as_array().ok_or("data: expected a list of {name, values: {control, experiment}}")?;
    let mut inputs = Vec::new();
    for (i, pair) in pairs.iter().enumerate() {
        let name = pair.get("name").and_then(Value::as_str).ok_or(format!("data[{i}].name: missing"))?;
        let side = |key: &str| -> Result<Vec<f64>, String> {
            let v = pair.pointer(&format!("/values/{key}")).ok_or(format!("data[{i}].values.{key}: missing"))?;
            parse_samples(&v.to_string()).map_err(|e| format!("data[{i}].values.{key}{e}"))
        };
        inputs.push((name.to_string(), side("control")?, side("experiment")?));
    }
    let metric_config = |name: &str| {
        config.metric(name).cloned().unwrap_or_else(|| kayenta::MetricConfig::new(name, Vec::new(), Default::default()))
    };
    let mut results: Vec<(String, kayenta::MetricResult)> = inputs
        .iter()
        .map(|(name, baseline, canary)| {
            (name.clone(), kayenta::classify_metric(&metric_config(name), baseline, canary))
        })
        .collect();
    if engine_choice == Engine::Augur {
        // augur's verdicts under Kayenta's scoring rules.
        let raw = |name: &str| {
            canary_config
                .get("metrics")
                .and_then(Value::as_array)
                .and_then(|ms| ms.iter().find(|m| m.get("name").and_then(Value::as_str) == Some(name)))
                .and_then(|m| m.pointer("/analysisConfigurations/canary"))
                .cloned()
                .unwrap_or_else(|| json!({}))
        };
        let configs: Vec<engine::MetricConfig> =
            inputs.iter().map(|(name, ..)| augur_config(&raw(name))).collect::<Result<_, _>>()?;
        let metric_inputs: Vec<engine::MetricInput> = inputs
            .iter()
            .zip(&configs)
            .map(|((name, baseline, canary), cfg)| engine::MetricInput::new(name, cfg, baseline, canary))
            .collect();
        let verdicts = engine::judge_all(&metric_inputs, &engine::JudgeOptions::default());
        for ((_, result), verdict) in results.iter_mut().zip(verdicts) {
            let label = serde_json::to_value(verdict.classification).unwrap_or(Value::Null);
            let critical_flag = metric_config(&result.name).config.critical;
            result.classification = match label.as_str() {
                Some("High") => kayenta::Classification::High,
                Some("Low") => kayenta::Classification::Low,
                Some("Pass") => kayenta::Classification::Pass,
                _ => kayenta::Classification::Nodata,
            };
            result.critical = critical_flag
                && matches!(result.classification, kayenta::Classification::High | kayenta::Classification::Low);
            result.reason = Some(verdict.reason);
        }
    }
    let scored = kayenta::score(&config, &results, pass, marginal);
    let code = match scored.classification {
        kayenta::ScoreClassification::Pass => 0,
        kayenta::ScoreClassification::Fail => 1,
        kayenta::ScoreClassification::Marginal => 2,
    };
    let metrics: Vec<Value> = results
        .iter()
        .map(|(name, r)| {
            json!({"name": name, "classification": serde_json::to_value(r.classification).unwrap_or(Value::Null),
                   "reason": r.reason, "critical": r.critical})
        })
        .collect();
    let mut out = serde_json::to_value(&scored).map_err(|e| e.to_string())?;
    if let Some(obj) = out.as_object_mut() {
        obj.insert("engine".into(), json!(if engine_choice == Engine::Augur { "augur" } else { "kayenta" }));
        obj.insert("metrics".into(), Value::Array(metrics));
    }
    Ok((out, code))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn samples_from_json_or_lines() {
        assert_eq!(parse_samples("[1, 2.5]").unwrap(), vec![1.0, 2.5]);
        assert!(parse_samples("[1, null]").unwrap()[1].is_nan());
        assert_eq!(parse_samples("1\n\n 2\n").unwrap(), vec![1.0, 2.0]);
        assert!(parse_samples("1\nNaN\n").unwrap()[1].is_nan());
        assert_eq!(parse_samples("1\nx\n").unwrap_err(), "line 2: \"x\" is not a number");
        assert_eq!(parse_samples("[1, \"a\"]").unwrap_err(), "[1]: expected a number or null, found \"a\"");
    }

    #[test]
    fn a_clear_shift_is_high_in_both_engines_and_identical_data_passes() {
        let baseline: Vec<f64> = (0..50).map(|i| 100.0 + f64::from(i % 7)).collect();
        let canary: Vec<f64> = baseline.iter().map(|x| x * 2.0).collect();
        for engine_choice in [Engine::Augur, Engine::Kayenta] {
            let (out, code) = judge(engine_choice, &json!({}), None, &baseline, &canary).unwrap();
            assert_eq!((out["classification"].as_str(), code), (Some("High"), 1), "{out}");
            let (out, code) = judge(engine_choice, &json!({}), None, &baseline, &baseline).unwrap();
            assert_eq!((out["classification"].as_str(), code), (Some("Pass"), 0), "{out}");
            // A rise is not flagged when only decreases matter.
            let (out, _) = judge(engine_choice, &json!({}), Some("decrease"), &baseline, &canary).unwrap();
            assert_eq!(out["classification"], "Pass", "{out}");
        }
    }

    #[test]
    fn empty_canary_is_nodata() {
        let baseline = [1.0, 2.0, 3.0];
        for engine_choice in [Engine::Augur, Engine::Kayenta] {
            let (out, code) = judge(engine_choice, &json!({}), None, &baseline, &[]).unwrap();
            assert_eq!((out["classification"].as_str(), code), (Some("Nodata"), 2), "{out}");
        }
    }

    #[test]
    fn a_config_is_scored_with_kayentas_rules_in_both_engines() {
        let config = json!({
            "metrics": [
                {"name": "errors", "groups": ["errors"], "analysisConfigurations": {"canary": {"direction": "increase", "critical": true}}},
                {"name": "latency", "groups": ["latency"], "analysisConfigurations": {"canary": {"direction": "increase"}}}
            ],
            "classifier": {"groupWeights": {"errors": 60, "latency": 40}}
        });
        let steady: Vec<f64> = (0..40).map(|i| 10.0 + f64::from(i % 5)).collect();
        let doubled: Vec<f64> = steady.iter().map(|x| x * 2.0).collect();
        let data = |errors: &[f64], latency: &[f64]| {
            json!([
                {"name": "errors", "values": {"control": steady, "experiment": errors}},
                {"name": "latency", "values": {"control": steady, "experiment": latency}}
            ])
        };
        for engine_choice in [Engine::Kayenta, Engine::Augur] {
            let (out, code) = score_config(engine_choice, &config, &data(&steady, &steady), 75.0, 50.0).unwrap();
            assert_eq!((out["score"].as_f64(), code), (Some(100.0), 0), "{out}");
            // Latency alone regresses: 60 of 100 points is Marginal.
            let (out, code) = score_config(engine_choice, &config, &data(&steady, &doubled), 75.0, 50.0).unwrap();
            assert_eq!(
                (out["score"].as_f64(), out["classification"].as_str(), code),
                (Some(60.0), Some("Marginal"), 2),
                "{out}"
            );
            // A critical metric failing scores 0 whatever the rest.
            let (out, code) = score_config(engine_choice, &config, &data(&doubled, &steady), 75.0, 50.0).unwrap();
            assert_eq!((out["score"].as_f64(), code), (Some(0.0), 1), "{out}");
        }
        let err = score_config(Engine::Kayenta, &config, &json!([{"name": "x"}]), 75.0, 50.0).unwrap_err();
        assert_eq!(err, "data[0].values.control: missing");
    }
}
