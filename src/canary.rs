//! Kayenta canary configs executed by augur: `POST /v1/canary`.
//!
//! The request is Kayenta's ad-hoc execution (`CanaryAdhocExecutionRequest`): a canary
//! config (reference kayenta-judge.md §3.1) and an execution request with control
//! (baseline) and experiment (canary) scopes and pass/marginal thresholds. augur fetches
//! each metric's two series from Prometheus through its own `prometheus` provider (so the
//! same auth, timeouts and error messages apply), classifies each metric with Kayenta's
//! judge (default) or augur's engine, and scores the whole canary with Kayenta's rules.
//! The answer has Kayenta's `CanaryExecutionStatusResponse` shape.
//!
//! Query forms (Kayenta's `PrometheusCanaryMetricSetQueryConfig`):
//! * `customInlineTemplate: "PromQL:<query>"`: the query, with `${scope}`, `${location}`
//!   and each `extendedScopeParams` key substituted from the scope;
//! * `metricName` with `customFilter` or `customFilterTemplate` (a key of the config's
//!   `templates`, expanded the same way): `metricName{<filter>}`.
//!
//! A query that expands to the same text for both scopes is refused: control and
//! experiment would be the same series. Other query types, and Kayenta's `resourceType`-specific filters
//! (`gce_instance`, `aws_ec2_instance`), are not supported and say so.

use std::collections::BTreeMap;

use std::sync::Arc;

use augur_provider_api::{MeasureContext, MetricProvider};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::judge::Engine;

/// What went wrong before any metric was fetched: a field and a message (422), or one
/// metric's fetch failed (Kayenta's `terminal` status, with the message).
#[derive(Debug)]
pub enum CanaryError {
    /// The request is not a valid canary execution.
    Invalid {
        /// The field path (`canaryConfig.metrics[0].query.customInlineTemplate`).
        field: String,
        /// What is wrong.
        message: String,
    },
}

fn invalid(field: impl Into<String>, message: impl Into<String>) -> CanaryError {
    CanaryError::Invalid { field: field.into(), message: message.into() }
}

/// `executionRequest.scopes.<name>.{controlScope, experimentScope}`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Scope {
    /// The scope value (`${scope}`): a version label, a server group.
    #[serde(default)]
    pub scope: String,
    /// `${location}`: a region or namespace.
    #[serde(default)]
    pub location: String,
    /// RFC 3339 start of the window.
    pub start: String,
    /// RFC 3339 end of the window.
    pub end: String,
    /// Seconds between points (Kayenta's default 60).
    #[serde(default)]
    pub step: Option<u64>,
    /// More `${key}` values for the templates.
    #[serde(default)]
    pub extended_scope_params: BTreeMap<String, String>,
}

/// One named scope pair.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ScopePair {
    /// The baseline.
    pub control_scope: Scope,
    /// The canary.
    pub experiment_scope: Scope,
}

/// Kayenta's `CanaryExecutionRequest`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExecutionRequest {
    /// Scope pairs by name (`default` is the usual one).
    pub scopes: BTreeMap<String, ScopePair>,
    /// `{pass, marginal}` score thresholds.
    pub thresholds: Thresholds,
}

/// Score thresholds.
#[derive(Debug, Clone, Copy, Deserialize)]
pub struct Thresholds {
    /// Scores at or above pass are Pass.
    pub pass: f64,
    /// Scores at or above marginal (and below pass) are Marginal.
    pub marginal: f64,
}

/// The body of `POST /v1/canary`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CanaryRequest {
    /// A Kayenta canary config.
    pub canary_config: Value,
    /// The scopes and thresholds.
    pub execution_request: ExecutionRequest,
    /// `kayenta` (default: a Kayenta config gets Kayenta's verdicts) or `augur`.
    #[serde(default)]
    pub engine: Option<String>,
    /// The Prometheus to query (its `address`, and any other field of augur's
    /// `prometheus` provider block but `query` and `rangeQuery`); default
    /// `AUGUR_PROMETHEUS_ADDRESS`.
    #[serde(default)]
    pub prometheus: Option<serde_json::Map<String, Value>>,
}

/// Expands `${name}` from `vars`; an unknown name is an error naming it.
fn expand(template: &str, vars: &BTreeMap<&str, &str>) -> Result<String, String> {
    let mut out = String::new();
    let mut rest = template;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let end = after.find('}').ok_or_else(|| format!("unclosed \"${{\" in {template:?}"))?;
        let name = &after[..end];
        let value = vars.get(name).ok_or_else(|| {
            format!("unknown variable ${{{name}}} (known: {})", vars.keys().copied().collect::<Vec<_>>().join(", "))
        })?;
        out.push_str(value);
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

/// Where a query problem is: a field of the metric (`query.metricName`) or of the whole
/// config (`canaryConfig.templates.tpl`).
#[derive(Debug)]
enum At {
    Metric(String),
    Config(String),
}

impl From<&str> for At {
    fn from(f: &str) -> At {
        At::Metric(f.to_string())
    }
}

/// The PromQL for one metric and scope, or (field, message).
fn query_for(metric: &Value, templates: &Value, scope: &Scope) -> Result<String, (At, String)> {
    let q = metric.get("query").cloned().unwrap_or(Value::Null);
    let s = |key: &str| q.get(key).and_then(Value::as_str).filter(|v| !v.is_empty());
    let mut vars: BTreeMap<&str, &str> = BTreeMap::new();
    vars.insert("scope", &scope.scope);
    vars.insert("location", &scope.location);
    for (k, v) in &scope.extended_scope_params {
        vars.insert(k, v);
    }
    match q.get("type").and_then(Value::as_str) {
        Some("prometheus") => {}
        Some(other) => {
            return Err(("query.type".into(), format!("{other:?} is not supported by augur (only \"prometheus\")")));
        }
        None => return Err(("query.type".into(), "missing (\"prometheus\")".into())),
    }
    if let Some(rt) = s("resourceType") {
        return Err((
            "query.resourceType".into(),
            format!("{rt:?} is not supported; write the filter as customInlineTemplate or customFilter"),
        ));
    }
    if let Some(inline) = s("customInlineTemplate") {
        let Some(promql) = inline.strip_prefix("PromQL:") else {
            return Err(("query.customInlineTemplate".into(), "must start with \"PromQL:\"".into()));
        };
        return expand(promql.trim(), &vars).map_err(|e| ("query.customInlineTemplate".into(), e));
    }
    let name = s("metricName").ok_or(("query.metricName".into(), "missing".to_string()))?;
    let (field, filter) = if let Some(f) = s("customFilter") {
        (At::from("query.customFilter"), f.to_string())
    } else if let Some(key) = s("customFilterTemplate") {
        let t = templates.get(key).and_then(Value::as_str).ok_or((
            At::from("query.customFilterTemplate"),
            format!("{key:?} is not a key of the config's templates"),
        ))?;
        (At::Config(format!("canaryConfig.templates.{key}")), t.to_string())
    } else {
        return Err((
            "query".into(),
            "needs customInlineTemplate, customFilter or customFilterTemplate to select the scope".into(),
        ));
    };
    let filter = expand(&filter, &vars).map_err(|e| (field, e))?;
    Ok(format!("{name}{{{filter}}}"))
}

fn rfc3339(field: &str, v: &str) -> Result<(), CanaryError> {
    chrono::DateTime::parse_from_rfc3339(v)
        .map(|_| ())
        .map_err(|e| invalid(field, format!("{v:?} is not an RFC 3339 time: {e}")))
}

/// The `prometheus` provider block for one query over one scope's window.
fn block(base: &serde_json::Map<String, Value>, query: String, scope: &Scope) -> Value {
    let mut b = base.clone();
    b.insert("query".into(), json!(query));
    b.insert(
        "rangeQuery".into(),
        json!({
            "start": format!("date({:?})", scope.start),
            "end": format!("date({:?})", scope.end),
            "step": format!("{}s", scope.step.unwrap_or(60).max(1)),
        }),
    );
    json!({"prometheus": Value::Object(b)})
}

struct Planned {
    name: String,
    control: Arc<dyn MetricProvider>,
    experiment: Arc<dyn MetricProvider>,
}

/// Checks the request and builds each metric's two provider blocks.
fn plan(req: &CanaryRequest) -> Result<(Engine, Vec<Planned>), CanaryError> {
    let engine = match req.engine.as_deref() {
        None | Some("kayenta") => Engine::Kayenta,
        Some("augur") => Engine::Augur,
        Some(other) => return Err(invalid("engine", format!("{other:?}: expected \"kayenta\" or \"augur\""))),
    };
    augur_stats::kayenta::CanaryConfig::from_json(&req.canary_config).map_err(|e| invalid("canaryConfig", e))?;
    let t = req.execution_request.thresholds;
    if !(0.0..=100.0).contains(&t.pass) || !(0.0..=100.0).contains(&t.marginal) || t.marginal > t.pass {
        return Err(invalid(
            "executionRequest.thresholds",
            format!("need 0 <= marginal <= pass <= 100, got pass {} and marginal {}", t.pass, t.marginal),
        ));
    }
    for (name, pair) in &req.execution_request.scopes {
        for (side, s) in [("controlScope", &pair.control_scope), ("experimentScope", &pair.experiment_scope)] {
            let prefix = format!("executionRequest.scopes.{name}.{side}");
            rfc3339(&format!("{prefix}.start"), &s.start)?;
            rfc3339(&format!("{prefix}.end"), &s.end)?;
        }
    }
    let base = req.prometheus.clone().unwrap_or_default();
    if let Some(k) = base.keys().find(|k| matches!(k.as_str(), "query" | "rangeQuery")) {
        return Err(invalid(format!("prometheus.{k}"), "is set per metric from the canary config"));
    }
    let templates = req.canary_config.get("templates").cloned().unwrap_or(Value::Null);
    let metrics = req.canary_config.get("metrics").and_then(Value::as_array).cloned().unwrap_or_default();
    if metrics.is_empty() {
        return Err(invalid("canaryConfig.metrics", "no metrics to judge"));
    }
    let mut planned = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for (i, m) in metrics.iter().enumerate() {
        let field = |f: &str| format!("canaryConfig.metrics[{i}].{f}");
        let name = m.get("name").and_then(Value::as_str).unwrap_or_default().to_string();
        let scope_name = m.get("scopeName").and_then(Value::as_str).unwrap_or("default");
        let pair = req.execution_request.scopes.get(scope_name).ok_or_else(|| {
            invalid(field("scopeName"), format!("{scope_name:?} is not a scope of executionRequest.scopes"))
        })?;
        let at = |f: At| match f {
            At::Metric(f) => field(&f),
            At::Config(f) => f,
        };
        let control = query_for(m, &templates, &pair.control_scope).map_err(|(f, e)| invalid(at(f), e))?;
        let experiment = query_for(m, &templates, &pair.experiment_scope).map_err(|(f, e)| invalid(at(f), e))?;
        if control == experiment {
            return Err(invalid(
                field("query"),
                format!(
                    "control and experiment scopes give the same query ({control}); use ${{scope}} to tell them apart"
                ),
            ));
        }
        if !seen.insert(name.clone()) {
            return Err(invalid(field("name"), format!("{name:?} is used by an earlier metric; names must be unique")));
        }
        let canary_config = m.pointer("/analysisConfigurations/canary").cloned().unwrap_or_else(|| json!({}));
        crate::judge::validate(engine, &canary_config).map_err(|e| {
            let message = e.strip_prefix("config: ").unwrap_or(&e).to_string();
            invalid(field("analysisConfigurations.canary"), message)
        })?;
        let metric = |provider: Value| crate::template::Metric {
            name: name.clone(),
            provider: provider.as_object().cloned().unwrap_or_default(),
            ..Default::default()
        };
        // Built now, so a bad prometheus block is a 422 rather than a terminal execution.
        let build = |side: &str, provider: Value| {
            crate::registry::build(&metric(provider)).map_err(|e| invalid("prometheus", format!("{side} query: {e}")))
        };
        let control = build("control", block(&base, control, &pair.control_scope))?;
        let experiment = build("experiment", block(&base, experiment, &pair.experiment_scope))?;
        planned.push(Planned { name, control, experiment });
    }
    Ok((engine, planned))
}

/// Attempts per series: a transient failure (connection reset, 5xx, 429, timeout) is retried
/// after 250 ms and 500 ms before the execution becomes terminal.
const FETCH_ATTEMPTS: u32 = 3;

/// Fetches one side's series of metric `name`.
async fn fetch(
    provider: &dyn MetricProvider,
    name: &str,
    side: &str,
    now: std::time::SystemTime,
) -> Result<Vec<f64>, String> {
    let ctx = MeasureContext { now, deadline: None, measurement_id: format!("canary.{name}.{side}") };
    let mut attempt = 1;
    let outcome = loop {
        match provider.measure(&ctx).await {
            Ok(outcome) => break outcome,
            Err(e) if e.is_transient() && attempt < FETCH_ATTEMPTS => {
                tokio::time::sleep(std::time::Duration::from_millis(250 << (attempt - 1))).await;
                attempt += 1;
            }
            Err(e) if attempt > 1 => return Err(format!("{side}: {e} (after {attempt} attempts)")),
            Err(e) => return Err(format!("{side}: {e}")),
        }
    };
    crate::compare::series(side, "prometheus", outcome).map(|(v, _)| v).map_err(|e| e.to_string())
}

/// Runs the canary: fetches every series, judges each metric and scores the canary.
/// Returns Kayenta's execution status: `complete: true` with `status: "succeeded"` and
/// the `result.judgeResult`, or `status: "terminal"` and an `exception` when a fetch
/// failed (as Kayenta does; Argo's kayenta provider then records an Error).
pub async fn execute(req: &CanaryRequest, now: std::time::SystemTime) -> Result<Value, CanaryError> {
    let (engine, planned) = plan(req)?;
    let mut pairs = Vec::new();
    for p in &planned {
        let (control, experiment) = tokio::join!(
            fetch(&*p.control, &p.name, "control", now),
            fetch(&*p.experiment, &p.name, "experiment", now)
        );
        let (control, experiment) = match (control, experiment) {
            (Ok(c), Ok(e)) => (c, e),
            (Err(e), _) | (_, Err(e)) => {
                return Ok(json!({
                    "complete": true,
                    "status": "terminal",
                    "exception": {"message": format!("metric {:?}: {e}", p.name)},
                }));
            }
        };
        pairs.push(json!({"name": p.name, "values": {"control": nan_as_null(&control), "experiment": nan_as_null(&experiment)}}));
    }
    let t = req.execution_request.thresholds;
    let data = Value::Array(pairs.clone());
    let (scored, _) = crate::judge::score_config(engine, &req.canary_config, &data, t.pass, t.marginal)
        .map_err(|e| invalid("canaryConfig", e))?;
    let groups_of = |name: &str| {
        req.canary_config
            .get("metrics")
            .and_then(Value::as_array)
            .and_then(|ms| ms.iter().find(|m| m.get("name").and_then(Value::as_str) == Some(name)))
            .and_then(|m| m.get("groups").cloned())
            .unwrap_or_else(|| json!([]))
    };
    let results: Vec<Value> = scored["metrics"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .map(|m| {
            let name = m["name"].as_str().unwrap_or_default().to_string();
            json!({
                "name": name,
                "classification": m["classification"],
                "classificationReason": m["reason"].as_str().unwrap_or_default(),
                "critical": m["critical"],
                "groups": groups_of(&name),
            })
        })
        .collect();
    let judge_name = match engine {
        Engine::Kayenta => "NetflixACAJudge-v1.0",
        Engine::Augur => "augur",
    };
    Ok(json!({
        "complete": true,
        "status": "succeeded",
        "result": {
            "judgeResult": {
                "judgeName": judge_name,
                "score": {
                    "score": scored["score"],
                    "classification": scored["classification"],
                    "classificationReason": scored["reason"].as_str().unwrap_or_default(),
                },
                "results": results,
                "groupScores": scored["groupScores"],
            },
        },
        "metricSetPairList": pairs,
    }))
}

fn nan_as_null(v: &[f64]) -> Vec<Value> {
    v.iter().map(|x| if x.is_finite() { json!(x) } else { Value::Null }).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scope(s: &str) -> Scope {
        Scope {
            scope: s.into(),
            location: "eu-west-1".into(),
            start: "2026-01-01T00:00:00Z".into(),
            end: "2026-01-01T01:00:00Z".into(),
            step: Some(60),
            extended_scope_params: [("namespace".to_string(), "shop".to_string())].into(),
        }
    }

    #[test]
    fn inline_templates_and_filters_expand_the_scope() {
        let m = json!({"query": {"type": "prometheus", "customInlineTemplate": "PromQL:avg(latency{version=\"${scope}\",ns=\"${namespace}\"})"}});
        assert_eq!(query_for(&m, &Value::Null, &scope("v2")).unwrap(), "avg(latency{version=\"v2\",ns=\"shop\"})");
        let m = json!({"query": {"type": "prometheus", "metricName": "http_5xx", "customFilterTemplate": "tpl"}});
        let templates = json!({"tpl": "namespace='${namespace}', scope='${scope}', region='${location}'"});
        assert_eq!(
            query_for(&m, &templates, &scope("v1")).unwrap(),
            "http_5xx{namespace='shop', scope='v1', region='eu-west-1'}"
        );
    }

    #[test]
    fn queries_that_cannot_tell_the_scopes_apart_are_refused() {
        let cases = [
            (json!({"query": {"type": "prometheus", "customInlineTemplate": "avg(${scope})"}}), "PromQL:"),
            (json!({"query": {"type": "prometheus", "metricName": "x"}}), "needs customInlineTemplate"),
            (json!({"query": {"type": "datadog", "metricName": "x"}}), "not supported"),
            (
                json!({"query": {"type": "prometheus", "customInlineTemplate": "PromQL:${nope}"}}),
                "unknown variable ${nope}",
            ),
            (
                json!({"query": {"type": "prometheus", "metricName": "x", "resourceType": "gce_instance"}}),
                "not supported",
            ),
        ];
        for (m, expected) in cases {
            let (field, message) = query_for(&m, &Value::Null, &scope("v1")).unwrap_err();
            assert!(message.contains(expected), "{m}: {field:?}: {message}");
            assert!(matches!(&field, At::Metric(f) if f.starts_with("query")), "{field:?}");
        }
    }
}
