//! Argo Rollouts' `datadog` metric provider for augur.
//!
//! One measurement is one Datadog query (`metricproviders/datadog/datadog.go`):
//!
//! * [`DatadogFactory`] validates the `provider.datadog` block once, applying the CRD's
//!   defaults itself (`apiVersion: v1`, `interval: 5m`, `requestTimeout: 10s`; no API
//!   server fills them in for a standalone judge) and reporting Argo's validation
//!   messages word for word;
//! * `apiVersion: v1` is `GET /api/v1/query?from&query&to` (seconds); `v2` is
//!   `POST /api/v2/query/scalar` with `queries` (a single `query` becomes
//!   `{"query": …}`), `formulas` and the `aggregator` (default `last`) on every query,
//!   from and to in milliseconds. The window is `[now - interval, now]` with `now` the
//!   measurement's time ([`MeasureContext::now`]), never a clock read;
//! * the answer is typed exactly as Argo types it ([`parse_response`]): v1 ⇒ the last
//!   point of the first series as `float64`; v2 ⇒ the first value of the first `number`
//!   column as `float64`, or every value as `[]float64` when the query is grouped
//!   (`by {tag}`), with `metadata.groups` capped at 100 entries as Argo caps it; no data
//!   ⇒ `nil`, so `default(result, 0)` applies;
//! * credentials are found at each measurement, as Argo builds its provider for each
//!   measurement: `secretRef.name` ⇒ that secret only; otherwise `DD_API_KEY`,
//!   `DD_APP_KEY` and `DD_ADDRESS` (or augur's `DD_SITE`), then the secret `datadog`.
//!   Secrets come from the engine's secret source ([`BuildContext::secrets`]); the keys
//!   never appear in a message or in `Debug` output.
//!
//! What it is not: a Datadog client. It speaks the two documented endpoints with
//! reqwest and serde on the shared HTTP layer; `datadog-api-client` costs 200 s and
//! 9.6 GB of memory per clean build for the same two calls (`docs/providers.md`).
#![deny(missing_docs)]

mod client;
mod credentials;
mod parse;

use std::collections::BTreeMap;
use std::fmt;
use std::sync::{Arc, LazyLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use augur_expr::{Env, Type, TypeEnv, Value as ExprValue};
use augur_provider_api::http::{self, ClientOptions};
use augur_provider_api::{
    BuildContext, BuildError, ErrorKind, MeasureContext, MetricProvider, Outcome, ProviderError, ProviderFactory,
    SecretLookup,
};
use serde::Deserialize;
use serde_json::Value;

pub use credentials::DdEnv;
pub use parse::{ApiVersion, MAX_GROUPS_IN_METADATA, parse_response};

/// The provider kind, as written in templates.
pub const KIND: &str = "datadog";
/// Where queries go when the credentials carry no address (Argo's default).
pub const DEFAULT_ADDRESS: &str = "https://api.datadoghq.com";
/// The secret Argo reads when the metric has no `secretRef` and the environment is
/// incomplete.
pub const DEFAULT_SECRET_NAME: &str = "datadog";
/// The CRD default of `interval` (the query window).
pub const DEFAULT_INTERVAL: &str = "5m";
/// The default request timeout (the CRD's and Argo's `defaultRequestTimeout`).
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// The CRD's `aggregator` enum.
pub const AGGREGATORS: [&str; 9] = ["avg", "min", "max", "sum", "last", "percentile", "mean", "l2norm", "area"];

/// Builds `datadog` providers from a metric's `provider.datadog` block.
///
/// ```
/// use augur_provider_api::ProviderFactory;
/// use augur_provider_datadog::{DatadogFactory, DdEnv};
///
/// let factory = DatadogFactory::new(DdEnv::default());
/// let provider = factory
///     .build(&serde_json::json!({"query": "avg:system.cpu.user{*}"}))
///     .expect("valid block");
/// assert_eq!(provider.kind(), "datadog");
/// let err = factory.build(&serde_json::json!({"apiVersion": "v2"})).unwrap_err();
/// assert_eq!(err.0, "Must have either a query or queries. Please review the Analysis Template.");
/// ```
#[derive(Debug, Clone, Default)]
pub struct DatadogFactory {
    env: DdEnv,
}

impl DatadogFactory {
    /// A factory with an explicit `DD_*` environment (tests, embedding).
    pub fn new(env: DdEnv) -> DatadogFactory {
        DatadogFactory { env }
    }

    /// The process-wide factory: `DD_API_KEY`, `DD_APP_KEY`, `DD_ADDRESS` and
    /// `DD_SITE` are read once, on first use.
    pub fn from_env() -> &'static DatadogFactory {
        static FACTORY: LazyLock<DatadogFactory> = LazyLock::new(|| DatadogFactory::new(DdEnv::from_env()));
        &FACTORY
    }
}

impl ProviderFactory for DatadogFactory {
    fn kind(&self) -> &'static str {
        KIND
    }

    /// Builds without named secrets: credentials can only come from the `DD_*`
    /// environment.
    fn build(&self, config: &Value) -> Result<Box<dyn MetricProvider>, BuildError> {
        self.build_with_context(config, &BuildContext::default())
    }

    /// Builds with the engine's named secrets (the `datadog` secret, `secretRef`).
    fn build_with_context(&self, config: &Value, ctx: &BuildContext) -> Result<Box<dyn MetricProvider>, BuildError> {
        let provider = Config::from_json(config)?.build_provider(self.env.clone(), ctx.secrets.clone())?;
        Ok(Box::new(provider))
    }
}

// ---------------------------------------------------------------------------------------
// Configuration
// ---------------------------------------------------------------------------------------

/// `provider.datadog`, as Argo's `DatadogMetric` (field names are Argo's JSON names).
/// Unknown fields are ignored, as the CRD prunes them; `null` is the default.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Config {
    /// `v1` or `v2`. Unset ⇒ `v1` (the CRD default; Argo's Go code would treat an unset
    /// value as v2, which is why the judge applies the default itself).
    #[serde(default)]
    pub api_version: Option<String>,
    /// The query window (`from = now - interval`), a Go duration. Unset ⇒ `5m`.
    #[serde(default)]
    pub interval: Option<String>,
    /// A single query. In v2 it is sent as `queries: {query: <query>}`.
    #[serde(default, deserialize_with = "augur_provider_api::nullable")]
    pub query: String,
    /// v2 only: named queries, referenced by `formula`.
    #[serde(default, deserialize_with = "augur_provider_api::nullable")]
    pub queries: BTreeMap<String, String>,
    /// v2 only: a formula over `queries` (`a / b`).
    #[serde(default, deserialize_with = "augur_provider_api::nullable")]
    pub formula: String,
    /// v2 only: how each query is reduced to one value. Unset ⇒ `last`.
    #[serde(default)]
    pub aggregator: Option<String>,
    /// The HTTP request timeout, a positive Go duration. Unset or empty ⇒ `10s`.
    #[serde(default)]
    pub request_timeout: Option<String>,
    /// Where the credentials are.
    #[serde(default, deserialize_with = "augur_provider_api::nullable")]
    pub secret_ref: SecretRef,
}

/// `secretRef`: the secret holding `api-key`, `app-key` and optionally `address`.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct SecretRef {
    /// The secret's name. Set ⇒ only this secret is read (no environment fallback).
    #[serde(default, deserialize_with = "augur_provider_api::nullable")]
    pub name: String,
    /// Argo: read the secret from the run's namespace. augur's secret source has no
    /// namespaces, so this only makes `name` required, as in Argo.
    #[serde(default, deserialize_with = "augur_provider_api::nullable")]
    pub namespaced: bool,
}

/// The Kubernetes API server's message for a value outside a CRD enum.
fn unsupported(field: &str, value: &str, supported: &[&str]) -> BuildError {
    let supported: Vec<String> = supported.iter().map(|s| format!("\"{s}\"")).collect();
    BuildError(format!("{field}: Unsupported value: \"{value}\": supported values: {}", supported.join(", ")))
}

/// Go's `time.ParseDuration`, through expr's `duration()` so the errors are Go's
/// (`time: invalid duration "5x"`). Returns nanoseconds.
fn go_duration(text: &str) -> Result<i64, String> {
    let mut types = TypeEnv::new();
    types.var("text", Type::String);
    let program = augur_expr::compile("duration(text)", &types).map_err(|e| e.to_string())?;
    match program.run(&Env::new(0).with("text", ExprValue::string(text))) {
        Ok(ExprValue::Duration(nanos)) => Ok(nanos),
        Ok(other) => Err(format!("expected time.Duration, got {}", other.go_type_name())),
        Err(e) => Err(e.to_string()),
    }
}

/// Go's `Duration.String` (`10s`, `1m30s`, `500ms`).
fn go_duration_string(d: Duration) -> String {
    ExprValue::Duration(i64::try_from(d.as_nanos()).unwrap_or(i64::MAX)).to_string()
}

impl Config {
    /// Reads a `provider.datadog` block (`null` is an empty block). Type errors name the
    /// field (`queries: invalid type: …`).
    pub fn from_json(config: &Value) -> Result<Config, BuildError> {
        augur_provider_api::parse_block("datadog", config)
    }

    /// The API version after the CRD default.
    pub fn api_version(&self) -> Result<ApiVersion, BuildError> {
        match self.api_version.as_deref() {
            None | Some("v1") => Ok(ApiVersion::V1),
            Some("v2") => Ok(ApiVersion::V2),
            Some(other) => Err(unsupported("apiVersion", other, &["v1", "v2"])),
        }
    }

    /// Validates the block and returns the provider: the CRD's enums first (the API
    /// server checks them before Argo sees the template), then Argo's
    /// `NewDatadogProvider` checks in Argo's order, then the window (Argo parses
    /// `interval` when it measures; the message is the same Go error).
    fn build_provider(
        &self,
        env: DdEnv,
        secrets: Option<Arc<dyn SecretLookup>>,
    ) -> Result<DatadogProvider, BuildError> {
        let version = self.api_version()?;
        let aggregator = self.aggregator.clone().unwrap_or_default();
        if self.aggregator.is_some() && !AGGREGATORS.contains(&aggregator.as_str()) {
            return Err(unsupported("aggregator", &aggregator, &AGGREGATORS));
        }
        if self.secret_ref.namespaced && self.secret_ref.name.is_empty() {
            return Err(BuildError("secret name is required for namespaced credentials".to_string()));
        }
        let timeout = self.validate_props(version, &aggregator)?;
        let interval = self.interval.as_deref().unwrap_or(DEFAULT_INTERVAL);
        let interval_secs = go_duration(interval).map_err(BuildError)? / 1_000_000_000;

        let queries = match version {
            ApiVersion::V1 => BTreeMap::new(),
            // Argo: "we know dd.Query and dd.Queries are mutually exclusive".
            ApiVersion::V2 if !self.query.is_empty() => BTreeMap::from([("query".to_string(), self.query.clone())]),
            ApiVersion::V2 => self.queries.clone(),
        };
        // Argo's Datadog client is a plain `http.Client`: proxies from the environment.
        let http = http::shared_client(ClientOptions { insecure: false, env_proxy: true, plain_http: false })?;
        Ok(DatadogProvider {
            version,
            query: self.query.clone(),
            queries,
            formula: self.formula.clone(),
            // "we cannot leave aggregator empty as it will be passed as such to datadog API and fail"
            aggregator: if aggregator.is_empty() { "last".to_string() } else { aggregator },
            interval_secs,
            timeout,
            secret_ref: self.secret_ref.clone(),
            env,
            secrets,
            http,
        })
    }

    /// Argo's `validateIncomingProps`, message for message; returns the request timeout.
    fn validate_props(&self, version: ApiVersion, aggregator: &str) -> Result<Duration, BuildError> {
        let fail = |message: &str| Err(BuildError(message.to_string()));
        if self.query.is_empty() && self.queries.is_empty() {
            return fail("Must have either a query or queries. Please review the Analysis Template.");
        }
        if !self.query.is_empty() && !self.queries.is_empty() {
            return fail("Cannot have both a query and queries. Please review the Analysis Template.");
        }
        if version == ApiVersion::V1 && self.query.is_empty() {
            return fail(
                "Query is empty. API Version v1 only supports using the query parameter in your Analysis Template.",
            );
        }
        if !self.formula.is_empty() && self.queries.is_empty() {
            return fail("Formula are only valid when queries are set. Please review the Analysis Template.");
        }
        if self.formula.is_empty() && self.queries.len() > 1 {
            return fail("When multiple queries are provided you must include a formula.");
        }
        if version == ApiVersion::V1 && !aggregator.is_empty() {
            return fail("Aggregator is not supported in v1. Please review the Analysis Template.");
        }
        match self.request_timeout.as_deref() {
            None | Some("") => Ok(DEFAULT_REQUEST_TIMEOUT),
            Some(text) => {
                let nanos = go_duration(text).map_err(|e| {
                    BuildError(format!(
                        "Could not parse the request timeout: {e}. Please review the Analysis Template."
                    ))
                })?;
                if nanos <= 0 {
                    return fail(
                        "Request timeout must be a positive duration (e.g. 30s). Please review the Analysis Template.",
                    );
                }
                Ok(Duration::from_nanos(nanos.unsigned_abs()))
            }
        }
    }
}

// ---------------------------------------------------------------------------------------
// The provider
// ---------------------------------------------------------------------------------------

/// A validated `datadog` metric, ready to measure.
struct DatadogProvider {
    version: ApiVersion,
    /// The v1 query.
    query: String,
    /// The v2 queries, by name (sent in name order; Go sends them in map order).
    queries: BTreeMap<String, String>,
    formula: String,
    /// v2 only: never empty (`last` by default).
    aggregator: String,
    /// The window, in whole seconds (Go's `int64(d.Seconds())`).
    interval_secs: i64,
    timeout: Duration,
    secret_ref: SecretRef,
    env: DdEnv,
    secrets: Option<Arc<dyn SecretLookup>>,
    http: reqwest::Client,
}

impl fmt::Debug for DatadogProvider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let secrets = if self.secrets.is_some() { "Some(*****)" } else { "None" };
        f.debug_struct("DatadogProvider")
            .field("version", &self.version)
            .field("query", &self.query)
            .field("queries", &self.queries)
            .field("formula", &self.formula)
            .field("aggregator", &self.aggregator)
            .field("interval_secs", &self.interval_secs)
            .field("timeout", &format_args!("{}", go_duration_string(self.timeout)))
            .field("secret_ref", &self.secret_ref)
            .field("env", &self.env)
            .field("secrets", &format_args!("{secrets}"))
            .finish_non_exhaustive()
    }
}

/// Go's `time.Now().Unix()` for the measurement's time: whole seconds, rounded down.
fn unix_seconds(t: SystemTime) -> i64 {
    match t.duration_since(UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
        Err(e) => {
            let d = e.duration();
            let secs = i64::try_from(d.as_secs()).unwrap_or(i64::MAX);
            -(secs + i64::from(d.subsec_nanos() > 0))
        }
    }
}

impl DatadogProvider {
    async fn measure_once(&self, ctx: &MeasureContext) -> Result<Outcome, ProviderError> {
        let creds = credentials::find(&self.secret_ref, &self.env, self.secrets.as_deref())
            .map_err(|message| ProviderError::new(ErrorKind::Config, message))?;
        let now = unix_seconds(ctx.now);
        let from = now.saturating_sub(self.interval_secs);
        let request = match self.version {
            ApiVersion::V1 => client::Request::v1(&self.query, from, now),
            ApiVersion::V2 => client::Request::v2(
                &self.queries,
                &self.formula,
                &self.aggregator,
                from.saturating_mul(1000),
                now.saturating_mul(1000),
            ),
        };
        let res = async {
            let answer = client::send(&self.http, &creds, &request, self.timeout).await?;
            parse::parse_response(self.version, answer.status, &answer.body).map_err(|err| answer.explain(err))
        }
        .await;
        res.map(Outcome::Observed).map_err(|err| creds.explain(err))
    }
}

#[async_trait::async_trait]
impl MetricProvider for DatadogProvider {
    fn kind(&self) -> &'static str {
        KIND
    }

    async fn measure(&self, ctx: &MeasureContext) -> Result<Outcome, ProviderError> {
        http::within_deadline(ctx.deadline, self.measure_once(ctx)).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn provider(config: Value) -> DatadogProvider {
        Config::from_json(&config)
            .and_then(|c| c.build_provider(DdEnv::default(), None))
            .unwrap_or_else(|e| panic!("{config}: {e}"))
    }

    #[test]
    fn crd_defaults_are_applied() {
        let p = provider(json!({"query": "q"}));
        assert_eq!(p.version, ApiVersion::V1);
        assert_eq!(p.interval_secs, 300);
        assert_eq!(p.timeout, Duration::from_secs(10));
        let p = provider(json!({"query": "q", "apiVersion": "v2", "interval": "1m30s", "requestTimeout": "2500ms"}));
        assert_eq!((p.version, p.interval_secs, p.timeout), (ApiVersion::V2, 90, Duration::from_millis(2500)));
        assert_eq!(p.aggregator, "last");
        assert_eq!(p.queries, BTreeMap::from([("query".to_string(), "q".to_string())]));
        // Nulls are defaults; an empty requestTimeout is the default, as in Argo.
        let p = provider(json!({"query": "q", "apiVersion": null, "interval": null, "requestTimeout": "", "x": 1}));
        assert_eq!((p.version, p.interval_secs, p.timeout), (ApiVersion::V1, 300, Duration::from_secs(10)));
    }

    #[test]
    fn window_truncates_like_go() {
        assert_eq!(provider(json!({"query": "q", "interval": "1500ms"})).interval_secs, 1);
        assert_eq!(provider(json!({"query": "q", "interval": "-1500ms"})).interval_secs, -1);
        assert_eq!(unix_seconds(UNIX_EPOCH + Duration::from_millis(1999)), 1);
        assert_eq!(unix_seconds(UNIX_EPOCH - Duration::from_millis(1500)), -2);
    }

    #[test]
    fn go_durations() {
        assert_eq!(go_duration("5m"), Ok(300_000_000_000));
        assert_eq!(go_duration(""), Err("time: invalid duration \"\"".to_string()));
        assert_eq!(go_duration("5x"), Err("time: unknown unit \"x\" in duration \"5x\"".to_string()));
        assert_eq!(go_duration_string(Duration::from_secs(90)), "1m30s");
        assert_eq!(go_duration_string(Duration::from_millis(500)), "500ms");
    }
}
