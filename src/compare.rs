//! The `augur/compare` metric plugin: a canary query against a baseline query, judged by
//! the statistics engines.
//!
//! augur's own template field rides on Argo's extension point, so a template that uses it
//! is still a valid Argo AnalysisTemplate (reference §1.9: `provider.plugin` holds exactly
//! one `<vendor>/<name>` key with any JSON):
//!
//! ```yaml
//! provider:
//!   plugin:
//!     augur/compare:
//!       baseline: {prometheus: {query: 'latency{track="stable"}', rangeQuery: {…}}}
//!       canary:   {prometheus: {query: 'latency{track="canary"}',  rangeQuery: {…}}}
//!       engine: augur          # or kayenta
//!       mode: fixed            # or sequential (augur engine)
//!       direction: increase    # optional: either | increase | decrease
//!       config: {}             # an analysisConfigurations.canary object (+ `augur: {…}`)
//! ```
//!
//! `baseline` and `canary` are ordinary provider blocks of any kind this build supports;
//! each measurement takes both (concurrently) and judges the two series. The result is
//! the same JSON object `augur judge` prints (`classification`, `pValue`, `estimate`, …),
//! so the metric's own conditions decide, e.g.
//! `failureCondition: result.classification in ["High", "Low"]`.

use std::collections::BTreeMap;
use std::sync::Arc;

use augur_provider_api::{ErrorKind, MeasureContext, MetricProvider, Observation, Outcome, ProviderError, ResultValue};
use serde::Deserialize;
use serde_json::Value;

use crate::judge::Engine;
use crate::template::{Metric, SecretSource};

/// The plugin name, the key under `provider.plugin`.
pub const PLUGIN: &str = "augur/compare";

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
enum Mode {
    /// One fixed-horizon judgement of each measurement's two series.
    #[default]
    Fixed,
    /// The anytime-valid sequential test over the series (which should then cover the
    /// whole canary period, e.g. a range query from the rollout's start).
    Sequential,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct CompareConfig {
    baseline: Option<serde_json::Map<String, Value>>,
    canary: Option<serde_json::Map<String, Value>>,
    #[serde(default)]
    engine: Option<String>,
    #[serde(default)]
    mode: Mode,
    #[serde(default)]
    direction: Option<String>,
    #[serde(default)]
    config: Option<Value>,
}

/// A built `augur/compare` provider.
#[derive(Debug)]
pub struct Compare {
    baseline: Arc<dyn MetricProvider>,
    canary: Arc<dyn MetricProvider>,
    engine: Engine,
    mode: Mode,
    /// The `config` block with `direction` merged in.
    config: Value,
}

/// Builds the plugin from its JSON block; `metric` is the metric it belongs to (its
/// sub-providers are built as that metric with another provider block).
pub fn build(
    metric: &Metric,
    block: &Value,
    secrets: Arc<dyn SecretSource + Send + Sync>,
) -> Result<Arc<dyn MetricProvider>, String> {
    let cfg: CompareConfig = serde_path_to_error::deserialize(block).map_err(|e| {
        let path = e.path().to_string();
        if path == "." { format!("{PLUGIN}: {}", e.inner()) } else { format!("{PLUGIN}.{path}: {}", e.inner()) }
    })?;
    let side = |name: &str, block: Option<serde_json::Map<String, Value>>| {
        let block =
            block.ok_or_else(|| format!("{PLUGIN}.{name}: missing (a provider block such as {{prometheus: …}})"))?;
        if block.contains_key("plugin") && block["plugin"].get(PLUGIN).is_some() {
            return Err(format!("{PLUGIN}.{name}: cannot itself be {PLUGIN}"));
        }
        if block.contains_key("job") {
            return Err(format!("{PLUGIN}.{name}: job decides a phase and has no values to compare"));
        }
        let mut sub = metric.clone();
        sub.provider = block;
        crate::registry::build_with_secrets(&sub, Arc::clone(&secrets)).map_err(|e| format!("{PLUGIN}.{name}: {e}"))
    };
    let engine: Engine = cfg.engine.as_deref().unwrap_or("").parse().map_err(|e| format!("{PLUGIN}.engine: {e}"))?;
    if cfg.mode == Mode::Sequential && engine == Engine::Kayenta {
        return Err(format!("{PLUGIN}.mode: sequential needs engine augur (Kayenta's judge has no sequential test)"));
    }
    if let Some(d) = cfg.direction.as_deref()
        && !matches!(d, "either" | "increase" | "decrease")
    {
        return Err(format!("{PLUGIN}.direction: {d:?} is not either, increase or decrease"));
    }
    // `direction` overrides the config's, once, here.
    let mut config = cfg.config.unwrap_or_else(|| serde_json::json!({}));
    if let (Some(d), Some(obj)) = (cfg.direction.as_deref(), config.as_object_mut()) {
        obj.insert("direction".into(), d.into());
    }
    crate::judge::validate(engine, &config).map_err(|e| format!("{PLUGIN}.{e}"))?;
    Ok(Arc::new(Compare {
        baseline: side("baseline", cfg.baseline)?,
        canary: side("canary", cfg.canary)?,
        engine,
        mode: cfg.mode,
        config,
    }))
}

/// The numbers in a provider's result, in the provider's order (time order for a range
/// query or a CloudWatch series).
pub(crate) fn series(
    side: &str,
    kind: &str,
    outcome: Outcome,
) -> Result<(Vec<f64>, BTreeMap<String, String>), ProviderError> {
    let malformed = |what: &str| {
        ProviderError::new(ErrorKind::Malformed, format!("{side}: the {kind} result is {what}, not numbers"))
    };
    let Outcome::Observed(Observation { result, metadata, .. }) = outcome else {
        return Err(ProviderError::new(
            ErrorKind::Config,
            format!("{side}: the {kind} provider decides a phase itself and has no values to compare"),
        ));
    };
    let from_json = |v: &Value| -> Result<Vec<f64>, ProviderError> {
        match v {
            Value::Null => Ok(Vec::new()),
            Value::Number(n) => Ok(vec![n.as_f64().unwrap_or(f64::NAN)]),
            Value::Array(items) => items
                .iter()
                .map(|item| match item {
                    Value::Number(n) => Ok(n.as_f64().unwrap_or(f64::NAN)),
                    Value::Null => Ok(f64::NAN),
                    _ => Err(malformed("a list holding something other than numbers")),
                })
                .collect(),
            Value::String(_) => Err(malformed("a string")),
            Value::Bool(_) => Err(malformed("a bool")),
            Value::Object(_) => Err(malformed("an object")),
        }
    };
    let values = match result {
        ResultValue::Nil => Vec::new(),
        ResultValue::Float(v) => vec![v],
        ResultValue::Floats(v) => v,
        ResultValue::String(_) => return Err(malformed("a string")),
        ResultValue::Json(v) => from_json(&v)?,
        // CloudWatch's []MetricDataResult: every returned query's Values, in order.
        ResultValue::Typed { value, .. } => match &value {
            Value::Array(results) if results.iter().all(|r| r.get("Values").is_some()) => {
                let mut all = Vec::new();
                for r in results {
                    all.extend(from_json(&r["Values"])?);
                }
                all
            }
            other => from_json(other)?,
        },
    };
    Ok((values, metadata))
}

#[async_trait::async_trait]
impl MetricProvider for Compare {
    fn kind(&self) -> &'static str {
        "plugin"
    }

    async fn measure(&self, ctx: &MeasureContext) -> Result<Outcome, ProviderError> {
        let (b, c) = tokio::join!(self.baseline.measure(ctx), self.canary.measure(ctx));
        let prefix = |side: &str, e: ProviderError| ProviderError::new(e.kind(), format!("{side}: {e}"));
        let (baseline, b_meta) = series("baseline", self.baseline.kind(), b.map_err(|e| prefix("baseline", e))?)?;
        let (canary, c_meta) = series("canary", self.canary.kind(), c.map_err(|e| prefix("canary", e))?)?;
        let verdict = match self.mode {
            Mode::Fixed => crate::judge::judge(self.engine, &self.config, None, &baseline, &canary).map(|(v, _)| v),
            Mode::Sequential => {
                if baseline.len() != canary.len() {
                    return Err(ProviderError::new(
                        ErrorKind::Malformed,
                        format!(
                            "baseline has {} points and canary {}; sequential mode pairs steps by index, so both \
                             queries must return one series each over the same steps",
                            baseline.len(),
                            canary.len()
                        ),
                    ));
                }
                crate::judge::judge_sequential(&self.config, &baseline, &canary)
            }
        }
        .map_err(|e| ProviderError::new(ErrorKind::Config, e))?;
        let mut metadata = BTreeMap::new();
        for (side, meta) in [("baseline", b_meta), ("canary", c_meta)] {
            for (k, v) in meta {
                metadata.insert(format!("{side}.{k}"), v);
            }
        }
        let value = verdict.to_string();
        Ok(Outcome::Observed(Observation { result: ResultValue::Json(verdict), value, metadata }))
    }

    async fn terminate(&self, ctx: &MeasureContext) -> Result<(), ProviderError> {
        let (b, c) = tokio::join!(self.baseline.terminate(ctx), self.canary.terminate(ctx));
        b.and(c)
    }

    fn metadata(&self) -> BTreeMap<String, String> {
        let mut out = BTreeMap::new();
        for (side, p) in [("baseline", &self.baseline), ("canary", &self.canary)] {
            for (k, v) in p.metadata() {
                out.insert(format!("{side}.{k}"), v);
            }
        }
        out
    }
}
