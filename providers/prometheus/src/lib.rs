//! Argo Rollouts' `prometheus` metric provider for augur.
//!
//! One measurement is one PromQL query (`metricproviders/prometheus/prometheus.go`):
//!
//! * [`PrometheusFactory`] validates the `provider.prometheus` block once: `address`
//!   (default: the `AUGUR_PROMETHEUS_ADDRESS` environment variable, read when the
//!   provider is built), `timeout` (seconds, default 30), `insecure`, `headers`,
//!   `authentication.basicAuth` / `authentication.oauth2` / `authentication.sigv4`, and
//!   `rangeQuery`;
//! * an instant query is evaluated at the measurement's time ([`MeasureContext::now`],
//!   sent as `time=`, as Argo sends `time.Now()`); a range query evaluates Argo's
//!   `rangeQuery.start`/`end` expressions (`now() - duration("5m")`) with the same `now`;
//! * the answer is typed exactly as Argo types it ([`parse_response`]): scalar ⇒
//!   `float64`, vector ⇒ `[]float64`, matrix ⇒ one flattened `[]float64`, with the value
//!   string formatted as Go formats it (`NaN`, `+Inf`, `[1,2]`) and Prometheus's warnings
//!   in the measurement's `metadata.warnings`; the query is the metric's
//!   `ResolvedPrometheusQuery` metadata.
//!
//! An address containing `aps-workspaces` (Amazon Managed Prometheus) has every request
//! signed with AWS sigv4 as Argo signs it, with credentials from `aws-config`'s standard
//! chain (`sigv4` module, cargo feature `sigv4`; without the feature such an address is
//! refused with a message naming the feature).
//!
//! Deliberate differences from Argo, all documented in `docs/providers.md`: `timeout: 0`
//! is refused at build time instead of failing every query; a native-histogram sample in
//! a vector is an error instead of a silent `0`; error messages carry a snippet of the
//! body and never the URL.
#![deny(missing_docs)]

mod client;
mod parse;
#[cfg(feature = "sigv4")]
mod sigv4;

use std::collections::BTreeMap;
use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use augur_expr::{Env, Program, Type, TypeEnv, Value as ExprValue};
use augur_provider_api::http::{self, Auth, ClientOptions, OAuth2, Secret};
use augur_provider_api::{
    BuildError, ErrorKind, MeasureContext, MetricProvider, Outcome, ProviderError, ProviderFactory,
};
use serde::{Deserialize, Deserializer};
use serde_json::Value;

pub use parse::parse_response;

/// The substring of `address` that makes Argo sign with sigv4 (Amazon Managed
/// Prometheus: `https://aps-workspaces.<region>.amazonaws.com/workspaces/<id>`).
pub const SIGV4_ADDRESS_MARKER: &str = "aps-workspaces";
/// The environment variable that gives `address` a default (Argo's is
/// `ARGO_ROLLOUTS_PROMETHEUS_ADDRESS`).
pub const ADDRESS_ENV: &str = "AUGUR_PROMETHEUS_ADDRESS";
/// The metric-result metadata key of the query, as Argo names it.
pub const RESOLVED_QUERY_KEY: &str = "ResolvedPrometheusQuery";
/// Argo's default `timeout`, in seconds.
const DEFAULT_TIMEOUT_SECS: u64 = 30;
/// A sanity cap on `timeout` (one year); Go would overflow long before.
const MAX_TIMEOUT_SECS: u64 = 365 * 24 * 3600;

/// Builds `prometheus` providers from a metric's `provider.prometheus` block.
///
/// ```
/// use augur_provider_api::ProviderFactory;
/// use augur_provider_prometheus::PrometheusFactory;
///
/// let provider = PrometheusFactory
///     .build(&serde_json::json!({"address": "http://127.0.0.1:9090", "query": "up"}))
///     .expect("valid block");
/// assert_eq!(provider.kind(), "prometheus");
/// assert_eq!(provider.metadata()["ResolvedPrometheusQuery"], "up");
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct PrometheusFactory;

impl ProviderFactory for PrometheusFactory {
    fn kind(&self) -> &'static str {
        "prometheus"
    }

    /// Reads [`ADDRESS_ENV`] now, for a block without `address`.
    fn build(&self, config: &Value) -> Result<Box<dyn MetricProvider>, BuildError> {
        let default_address = std::env::var(ADDRESS_ENV).ok();
        self.build_with_default_address(config, default_address.as_deref())
    }
}

impl PrometheusFactory {
    /// Builds with an explicit default for `address` instead of [`ADDRESS_ENV`] (for
    /// embedders and tests; the environment is not read).
    pub fn build_with_default_address(
        &self,
        config: &Value,
        default_address: Option<&str>,
    ) -> Result<Box<dyn MetricProvider>, BuildError> {
        Config::from_json(config)?.build(default_address)
    }
}

// ---------------------------------------------------------------------------------------
// Configuration
// ---------------------------------------------------------------------------------------

/// `provider.prometheus`, as Argo's `PrometheusMetric` (field names are Argo's JSON
/// names). Unknown fields are ignored, as the CRD prunes them; `null` is the default.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Config {
    /// The Prometheus base URL (`http://prometheus:9090`, or with a path prefix). Empty ⇒
    /// [`ADDRESS_ENV`]. Must have a scheme and a host.
    #[serde(default, deserialize_with = "augur_provider_api::nullable")]
    pub address: String,
    /// The PromQL query, after `{{args.*}}` substitution.
    #[serde(default, deserialize_with = "augur_provider_api::nullable")]
    pub query: String,
    /// Per-query timeout in seconds. Unset ⇒ 30; negative or zero is an error.
    #[serde(default)]
    pub timeout: Option<i64>,
    /// Skip TLS certificate verification.
    #[serde(default, deserialize_with = "augur_provider_api::nullable")]
    pub insecure: bool,
    /// Extra request headers; the last entry for a (case-insensitive) name wins.
    #[serde(default, deserialize_with = "augur_provider_api::nullable")]
    pub headers: Vec<Header>,
    /// `basicAuth`, `oauth2` or `sigv4` (the last only for an `aps-workspaces` address).
    #[serde(default, deserialize_with = "augur_provider_api::nullable")]
    pub authentication: Authentication,
    /// Makes the metric a range query.
    #[serde(default)]
    pub range_query: Option<RangeQuery>,
}

/// One `headers[]` entry.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Header {
    /// The header name.
    #[serde(default, deserialize_with = "augur_provider_api::nullable")]
    pub key: String,
    /// The header value (often a token, so it is never printed).
    #[serde(default, deserialize_with = "nullable_secret")]
    pub value: Secret,
}

/// `authentication`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Authentication {
    /// HTTP basic authentication.
    #[serde(default, deserialize_with = "augur_provider_api::nullable")]
    pub basic_auth: BasicAuth,
    /// OAuth2 client credentials.
    #[serde(default, deserialize_with = "augur_provider_api::nullable")]
    pub oauth2: OAuth2Config,
    /// AWS sigv4 (Amazon Managed Prometheus), used when `address` contains
    /// `aps-workspaces` (cargo feature `sigv4`).
    #[serde(default, deserialize_with = "augur_provider_api::nullable")]
    pub sigv4: Sigv4Config,
}

/// `authentication.basicAuth`: both fields are required when either is set.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct BasicAuth {
    /// The user name.
    #[serde(default, deserialize_with = "augur_provider_api::nullable")]
    pub username: String,
    /// The password.
    #[serde(default, deserialize_with = "nullable_secret")]
    pub password: Secret,
}

/// `authentication.oauth2`: used when `tokenUrl` is set, which then requires
/// `clientId` and `clientSecret`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OAuth2Config {
    /// The token endpoint.
    #[serde(default, deserialize_with = "augur_provider_api::nullable")]
    pub token_url: String,
    /// The client id.
    #[serde(default, deserialize_with = "augur_provider_api::nullable")]
    pub client_id: String,
    /// The client secret.
    #[serde(default, deserialize_with = "nullable_secret")]
    pub client_secret: Secret,
    /// Requested scopes.
    #[serde(default, deserialize_with = "augur_provider_api::nullable")]
    pub scopes: Vec<String>,
}

/// `authentication.sigv4`. Argo uses it whenever `address` contains `aps-workspaces`
/// (and ignores it otherwise); every field may be empty.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Sigv4Config {
    /// The AWS region of the workspace. Empty ⇒ the AWS chain (`AWS_REGION`,
    /// `AWS_DEFAULT_REGION`, the profile's `region`, instance metadata).
    #[serde(default, deserialize_with = "augur_provider_api::nullable")]
    pub region: String,
    /// The named profile of the shared AWS config and credentials files. Empty ⇒
    /// `AWS_PROFILE`, else `default`.
    #[serde(default, deserialize_with = "augur_provider_api::nullable")]
    pub profile: String,
    /// A role to assume with STS `AssumeRole`, using the chain's credentials. Empty ⇒
    /// the chain's credentials sign.
    #[serde(default, deserialize_with = "augur_provider_api::nullable")]
    pub role_arn: String,
}

/// `rangeQuery`: `start` and `end` are expr expressions returning a `time.Time`
/// (`now() - duration("5m")`, `date("2023-08-14 00:00:00", "2006-01-02 15:04:05",
/// "UTC")`); `step` is a Go duration (`1m`).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct RangeQuery {
    /// The start of the range.
    #[serde(default, deserialize_with = "augur_provider_api::nullable")]
    pub start: String,
    /// The end of the range.
    #[serde(default, deserialize_with = "augur_provider_api::nullable")]
    pub end: String,
    /// The resolution.
    #[serde(default, deserialize_with = "augur_provider_api::nullable")]
    pub step: String,
}

fn nullable_secret<'de, D: Deserializer<'de>>(d: D) -> Result<Secret, D::Error> {
    Ok(Secret::new(Option::<String>::deserialize(d)?.unwrap_or_default()))
}

/// Go's `url.Parse` + Argo's `IsUrl`: a scheme and a host.
fn is_url(raw: &str) -> bool {
    reqwest::Url::parse(raw).is_ok_and(|u| !u.scheme().is_empty() && u.host_str().is_some_and(|h| !h.is_empty()))
}

impl Config {
    /// Reads a `provider.prometheus` block (`null` is an empty block). Type errors name
    /// the field (`timeout: invalid type: …`).
    pub fn from_json(config: &Value) -> Result<Config, BuildError> {
        augur_provider_api::parse_block("prometheus", config)
    }

    /// Validates the block in Argo's order (address, authentication, timeout, then the
    /// range) and builds the provider. `default_address` replaces an empty `address`.
    pub fn build(&self, default_address: Option<&str>) -> Result<Box<dyn MetricProvider>, BuildError> {
        Ok(Box::new(self.build_provider(default_address)?))
    }

    fn build_provider(&self, default_address: Option<&str>) -> Result<PrometheusProvider, BuildError> {
        let address = if !self.address.is_empty() {
            self.address.clone()
        } else {
            match default_address.filter(|a| !a.is_empty()) {
                Some(address) => address.to_string(),
                None => return Err(BuildError("prometheus address is not configured".to_string())),
            }
        };
        if !is_url(&address) {
            return Err(BuildError("prometheus address is not is url format".to_string()));
        }
        // Argo: `strings.Contains(address, "aps-workspaces")`, on the address as written.
        let signed = address.contains(SIGV4_ADDRESS_MARKER);
        let address = http::http_url(&address, "address")?;
        let sigv4 = if signed { Some(self.sigv4()?) } else { None };

        let mut auth = self.auth()?;
        if sigv4.is_some() {
            // Argo's sigv4 transport replaces the others: the signature is the
            // `Authorization`, so basic auth and OAuth2 are not sent.
            auth = Auth::None;
        }
        let timeout_secs = match self.timeout {
            None => DEFAULT_TIMEOUT_SECS,
            Some(t) if t < 0 => return Err(BuildError("prometheus timeout should not be negative".to_string())),
            Some(0) => {
                return Err(BuildError(
                    "prometheus timeout must be positive: 0 would cancel every query (omit it for the default of \
                     30 seconds)"
                        .to_string(),
                ));
            }
            Some(t) => u64::try_from(t).unwrap_or(MAX_TIMEOUT_SECS).min(MAX_TIMEOUT_SECS),
        };
        let headers = http::header_map(self.headers.iter().map(|h| (h.key.as_str(), h.value.expose())))?;
        let range = self.range_query.as_ref().map(Range::compile).transpose()?;

        // Argo's Prometheus transport honours the proxy environment even when insecure.
        let plain_http = address.scheme() == "http" && auth.calls_only_http();
        let client = http::shared_client(ClientOptions { insecure: self.insecure, env_proxy: true, plain_http })?;
        Ok(PrometheusProvider {
            client: client::Client {
                http: client,
                address,
                headers,
                auth,
                timeout: Duration::from_secs(timeout_secs),
                sigv4,
            },
            query: self.query.clone(),
            range,
            insecure: self.insecure,
        })
    }

    /// `authentication.sigv4`, for an `aps-workspaces` address.
    #[cfg(feature = "sigv4")]
    fn sigv4(&self) -> Result<client::Sigv4, BuildError> {
        let config = &self.authentication.sigv4;
        Ok(sigv4::Signer::new(&config.region, &config.profile, &config.role_arn))
    }

    /// Without the `sigv4` feature an `aps-workspaces` address cannot be signed.
    #[cfg(not(feature = "sigv4"))]
    fn sigv4(&self) -> Result<client::Sigv4, BuildError> {
        Err(BuildError(
            "prometheus sigv4 authentication (Amazon Managed Prometheus, an address containing \"aps-workspaces\") \
             is not compiled into this augur build: build with the `prometheus-sigv4` feature (on by default; \
             augur-provider-prometheus's `sigv4`)"
                .to_string(),
        ))
    }

    /// `authentication`: OAuth2 when `tokenUrl` is set (it wins over basic auth, as
    /// Argo's OAuth2 transport sets `Authorization` first), else basic auth when set.
    fn auth(&self) -> Result<Auth, BuildError> {
        let oauth2 = &self.authentication.oauth2;
        if !oauth2.token_url.is_empty() {
            if oauth2.client_id.is_empty() || oauth2.client_secret.is_empty() {
                return Err(BuildError(
                    "prometheus oauth2 authentication requires clientId and clientSecret when tokenUrl is set"
                        .to_string(),
                ));
            }
            return Ok(Auth::OAuth2(OAuth2 {
                token_url: http::http_url(&oauth2.token_url, "authentication.oauth2.tokenUrl")?,
                client_id: oauth2.client_id.clone(),
                client_secret: oauth2.client_secret.clone(),
                scopes: oauth2.scopes.clone(),
            }));
        }
        let basic = &self.authentication.basic_auth;
        if basic.username.is_empty() && basic.password.is_empty() {
            return Ok(Auth::None);
        }
        if basic.username.is_empty() || basic.password.is_empty() {
            return Err(BuildError("prometheus basicAuth requires both username and password".to_string()));
        }
        Ok(Auth::Basic { username: basic.username.clone(), password: basic.password.clone() })
    }
}

// ---------------------------------------------------------------------------------------
// Range queries
// ---------------------------------------------------------------------------------------

/// `rangeQuery`, compiled: the two time expressions and the step in nanoseconds.
#[derive(Debug)]
struct Range {
    start: TimeExpr,
    end: TimeExpr,
    step_nanos: i64,
}

/// A compiled `rangeQuery.start`/`end` expression.
struct TimeExpr {
    field: &'static str,
    source: String,
    program: Program,
}

impl fmt::Debug for TimeExpr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.source)
    }
}

impl TimeExpr {
    /// Compiles with an empty environment: expr's built-ins (`now`, `duration`, `date`)
    /// are all Argo offers here.
    fn compile(field: &'static str, source: &str) -> Result<TimeExpr, BuildError> {
        let program = augur_expr::compile(source, &TypeEnv::new())
            .map_err(|e| BuildError(format!("failed to parse rangeQuery.{field} as time: {e}")))?;
        Ok(TimeExpr { field, source: source.to_string(), program })
    }

    /// Evaluates with `now()` = the measurement's time; returns unix nanoseconds.
    fn eval(&self, now_nanos: i64) -> Result<i64, ProviderError> {
        let fail = |why: String| {
            ProviderError::new(ErrorKind::Config, format!("failed to parse rangeQuery.{} as time: {why}", self.field))
        };
        match self.program.run(&Env::new(now_nanos)) {
            Ok(ExprValue::Time(t)) => Ok(t),
            Ok(other) => Err(fail(format!("expected time.Time, got {}", other.go_type_name()))),
            Err(e) => Err(fail(e.to_string())),
        }
    }
}

impl Range {
    fn compile(range: &RangeQuery) -> Result<Range, BuildError> {
        let start = TimeExpr::compile("start", &range.start)?;
        let end = TimeExpr::compile("end", &range.end)?;
        Ok(Range { start, end, step_nanos: go_duration(&range.step)? })
    }
}

/// Go's `time.ParseDuration`, through expr's `duration()` so the errors are Go's
/// (`time: invalid duration "??"`).
fn go_duration(text: &str) -> Result<i64, BuildError> {
    let fail = |why: String| BuildError(format!("failed to parse rangeQuery.step as duration: {why}"));
    let mut types = TypeEnv::new();
    types.var("step", Type::String);
    let program = augur_expr::compile("duration(step)", &types).map_err(|e| fail(e.to_string()))?;
    match program.run(&Env::new(0).with("step", ExprValue::string(text))) {
        Ok(ExprValue::Duration(nanos)) => Ok(nanos),
        Ok(other) => Err(fail(format!("expected time.Duration, got {}", other.go_type_name()))),
        Err(e) => Err(fail(e.to_string())),
    }
}

/// Unix nanoseconds as `client_golang` sends a time: seconds with the fraction,
/// `strconv.FormatFloat(sec + nsec/1e9, 'f', -1, 64)`.
fn go_time_param(nanos: i64) -> String {
    let secs = nanos.div_euclid(1_000_000_000);
    let frac = nanos.rem_euclid(1_000_000_000);
    parse::go_float(secs as f64 + frac as f64 / 1e9)
}

fn unix_nanos(t: SystemTime) -> i64 {
    match t.duration_since(UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_nanos()).unwrap_or(i64::MAX),
        Err(e) => i64::try_from(e.duration().as_nanos()).map(|n| -n).unwrap_or(i64::MIN),
    }
}

// ---------------------------------------------------------------------------------------
// The provider
// ---------------------------------------------------------------------------------------

/// A validated `prometheus` metric, ready to measure.
struct PrometheusProvider {
    client: client::Client,
    query: String,
    range: Option<Range>,
    insecure: bool,
}

impl fmt::Debug for PrometheusProvider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PrometheusProvider")
            .field("address", &http::redacted_url(&self.client.address))
            .field("query", &self.query)
            .field("range", &self.range)
            .field("timeout", &self.client.timeout)
            .field("insecure", &self.insecure)
            .field("headers", &http::redacted_headers(&self.client.headers))
            .field("auth", &self.client.auth)
            .field("sigv4", &self.client.sigv4)
            .finish_non_exhaustive()
    }
}

impl PrometheusProvider {
    async fn measure_once(&self, ctx: &MeasureContext) -> Result<Outcome, ProviderError> {
        let now = unix_nanos(ctx.now);
        let (status, body) = match &self.range {
            None => {
                let time = go_time_param(now);
                // url.Values.Encode order: keys sorted.
                self.client.send("api/v1/query", &[("query", &self.query), ("time", &time)]).await?
            }
            Some(range) => {
                let start = go_time_param(range.start.eval(now)?);
                let end = go_time_param(range.end.eval(now)?);
                let step = parse::go_float(range.step_nanos as f64 / 1e9);
                let params = [("end", end.as_str()), ("query", &self.query), ("start", &start), ("step", &step)];
                self.client.send("api/v1/query_range", &params).await?
            }
        };
        parse::parse_response(status, &body).map(Outcome::Observed).map_err(|e| self.client.explain(e))
    }
}

#[async_trait::async_trait]
impl MetricProvider for PrometheusProvider {
    fn kind(&self) -> &'static str {
        "prometheus"
    }

    async fn measure(&self, ctx: &MeasureContext) -> Result<Outcome, ProviderError> {
        http::within_deadline(ctx.deadline, self.measure_once(ctx)).await
    }

    /// Argo's `GetMetadata`: the query, when there is one.
    fn metadata(&self) -> BTreeMap<String, String> {
        let mut metadata = BTreeMap::new();
        if !self.query.is_empty() {
            metadata.insert(RESOLVED_QUERY_KEY.to_string(), self.query.clone());
        }
        metadata
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[track_caller]
    fn build_err(config: Value) -> String {
        match PrometheusFactory.build_with_default_address(&config, None) {
            Ok(p) => panic!("{config} built: {p:?}"),
            Err(e) => e.0,
        }
    }

    #[test]
    fn address_messages_are_argos() {
        assert_eq!(build_err(json!({"query": "up"})), "prometheus address is not configured");
        assert_eq!(build_err(json!(null)), "prometheus address is not configured");
        assert_eq!(build_err(json!({"address": ":invalid::url"})), "prometheus address is not is url format");
        assert_eq!(build_err(json!({"address": "localhost:9090"})), "prometheus address is not is url format");
        assert_eq!(build_err(json!({"address": "ftp://h/x"})), "address: unsupported protocol scheme \"ftp\"");
        // The default applies only to an empty address, and must be a URL too.
        let built = PrometheusFactory.build_with_default_address(&json!({"query": "up"}), Some("http://p:9090/x"));
        assert!(format!("{:?}", built.expect("builds")).contains("http://p:9090/x"));
        let bad = PrometheusFactory.build_with_default_address(&json!({}), Some("nope"));
        assert_eq!(bad.expect_err("bad default").0, "prometheus address is not is url format");
    }

    const AMP: &str = "https://aps-workspaces.us-east-1.amazonaws.com/workspaces/ws-1";

    #[cfg(not(feature = "sigv4"))]
    #[test]
    fn without_the_feature_an_amp_address_names_it() {
        let msg = build_err(json!({"address": AMP, "query": "up"}));
        assert!(msg.contains("sigv4") && msg.contains("`prometheus-sigv4` feature"), "{msg}");
    }

    #[cfg(feature = "sigv4")]
    #[test]
    fn an_amp_address_is_signed_instead_of_other_auth() {
        let config = json!({
            "address": AMP,
            "query": "up",
            "authentication": {
                "sigv4": {"region": "us-east-1", "profile": "amp", "roleArn": "arn:aws:iam::123456789012:role/r"},
                "basicAuth": {"username": "u", "password": "pa55"}
            }
        });
        let provider = Config::from_json(&config).expect("parses").build_provider(None).expect("builds");
        assert!(provider.client.sigv4.is_some());
        assert!(matches!(provider.client.auth, Auth::None), "sigv4 replaces basic auth");
        let debug = format!("{provider:?}");
        assert!(debug.contains("us-east-1") && debug.contains("role/r") && !debug.contains("pa55"), "{debug}");
        // Every sigv4 field may be empty (the AWS chain then decides), and the block is
        // ignored for any other address, as in Argo.
        let bare = json!({"address": AMP, "query": "up"});
        assert!(Config::from_json(&bare).expect("parses").build_provider(None).expect("builds").client.sigv4.is_some());
        let other = json!({"address": "http://p:9090", "query": "up", "authentication": {"sigv4": {"region": "x"}}});
        assert!(
            Config::from_json(&other).expect("parses").build_provider(None).expect("builds").client.sigv4.is_none()
        );
    }

    #[test]
    fn timeout_and_auth_validation() {
        let base = |extra: Value| {
            let mut config = json!({"address": "http://p:9090", "query": "up"});
            config.as_object_mut().expect("object").extend(extra.as_object().expect("object").clone());
            config
        };
        assert_eq!(build_err(base(json!({"timeout": -20}))), "prometheus timeout should not be negative");
        assert!(build_err(base(json!({"timeout": 0}))).contains("must be positive"));
        assert!(build_err(base(json!({"timeout": "5"}))).starts_with("timeout: invalid type"));
        assert_eq!(
            build_err(base(json!({"authentication": {"basicAuth": {"username": "u"}}}))),
            "prometheus basicAuth requires both username and password"
        );
        let incomplete =
            [json!({"tokenUrl": "http://t", "clientSecret": "s"}), json!({"tokenUrl": "http://t", "clientId": "i"})];
        for oauth2 in incomplete {
            let msg = build_err(base(json!({"authentication": {"oauth2": oauth2}})));
            assert!(msg.contains("requires clientId and clientSecret"), "{msg}");
        }
        // Scopes are optional, nulls are defaults, unknown fields are ignored.
        let ok = base(json!({
            "authentication": {"oauth2": {"tokenUrl": "http://t", "clientId": "i", "clientSecret": "s", "scopes": null}},
            "headers": null, "insecure": null, "surprise": 1
        }));
        PrometheusFactory.build_with_default_address(&ok, None).expect("builds");
        assert_eq!(
            build_err(base(json!({"headers": [{"key": "bad name", "value": "v"}]}))),
            "net/http: invalid header field name \"bad name\""
        );
    }

    #[test]
    fn range_query_errors_are_argos() {
        let range = |start: &str, end: &str, step: &str| json!({"address": "http://p:9090", "query": "up", "rangeQuery": {"start": start, "end": end, "step": step}});
        let date = r#"date("2023-08-14 00:00:00", "2006-01-02 15:04:05", "UTC")"#;
        assert_eq!(
            build_err(range(date, date, "??")),
            "failed to parse rangeQuery.step as duration: time: invalid duration \"??\""
        );
        assert!(build_err(range("now() -", date, "1m")).starts_with("failed to parse rangeQuery.start as time: "));
        assert!(build_err(range(date, "(", "1m")).starts_with("failed to parse rangeQuery.end as time: "));
    }

    #[test]
    fn time_expressions_use_the_measurement_time() {
        let date = r#"date("2023-08-14 00:00:00", "2006-01-02 15:04:05", "UTC")"#;
        let start = TimeExpr::compile("start", &format!("{date} - duration(\"1h\")")).expect("compiles");
        assert_eq!(go_time_param(start.eval(0).expect("evaluates")), "1691967600");
        let now = TimeExpr::compile("end", "now() - duration(\"5m\")").expect("compiles");
        assert_eq!(go_time_param(now.eval(1_700_001_800_000_000_000).expect("evaluates")), "1700001500");
        let bad = TimeExpr::compile("start", r#"now() - duration("??")"#).expect("compiles");
        assert_eq!(
            bad.eval(0).unwrap_err().message(),
            r#"failed to parse rangeQuery.start as time: time: invalid duration "??""#
        );
        let not_time = TimeExpr::compile("end", "1 + 1").expect("compiles");
        assert_eq!(
            not_time.eval(0).unwrap_err().message(),
            "failed to parse rangeQuery.end as time: expected time.Time, got int"
        );
        assert_eq!(go_duration("1m30s").expect("parses"), 90_000_000_000);
    }

    #[test]
    fn time_params_are_go_floats() {
        assert_eq!(go_time_param(1_700_001_800_000_000_000), "1700001800");
        assert_eq!(go_time_param(1_700_001_800_250_000_000), "1700001800.25");
        assert_eq!(go_time_param(-1_500_000_000), "-1.5");
        assert_eq!(unix_nanos(UNIX_EPOCH + Duration::from_millis(1500)), 1_500_000_000);
        assert_eq!(unix_nanos(UNIX_EPOCH - Duration::from_millis(1500)), -1_500_000_000);
    }

    #[test]
    fn endpoints_join_like_go_path_join() {
        let provider = |address: &str| {
            Config { address: address.to_string(), query: "up".to_string(), ..Config::default() }
                .build_provider(None)
                .expect("builds")
        };
        for (address, want) in [
            ("http://p:9090", "http://p:9090/api/v1/query"),
            ("http://p:9090/", "http://p:9090/api/v1/query"),
            ("http://p:9090/prom/", "http://p:9090/prom/api/v1/query"),
            ("https://p/a/b", "https://p/a/b/api/v1/query"),
        ] {
            assert_eq!(provider(address).client.endpoint("api/v1/query").as_str(), want, "{address}");
        }
    }

    #[test]
    fn debug_output_redacts_secrets() {
        let config = json!({
            "address": "https://user:hunter2@prom.example/?token=k3y",
            "query": "up",
            "headers": [{"key": "X-Scope-OrgID", "value": "tenant-secret"}],
            "authentication": {"basicAuth": {"username": "alice", "password": "pa55"}}
        });
        let p = PrometheusFactory.build_with_default_address(&config, None).expect("builds");
        let debug = format!("{p:?}");
        for secret in ["hunter2", "k3y", "tenant-secret", "pa55"] {
            assert!(!debug.contains(secret), "{secret} leaked: {debug}");
        }
        assert!(
            debug.contains("alice") && debug.contains("x-scope-orgid") && debug.contains("timeout: 30s"),
            "{debug}"
        );
        let config_debug = format!("{:?}", Config::from_json(&config).expect("parses"));
        assert!(!config_debug.contains("pa55") && !config_debug.contains("tenant-secret"), "{config_debug}");
    }
}
