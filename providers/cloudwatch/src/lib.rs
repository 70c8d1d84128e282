//! Argo Rollouts' `cloudWatch` metric provider for augur.
//!
//! One measurement is one `GetMetricData` call (`metricproviders/cloudwatch`):
//!
//! * the `provider.cloudWatch` block (`interval`, `metricDataQueries[]` with `id`,
//!   `expression`, `label`, `metricStat {metric {namespace, metricName, dimensions},
//!   period, stat, unit}`, `period`, `returnData`) is validated once by
//!   [`CloudWatchFactory`] and converted exactly as Argo's `convertType` does;
//! * the window is `[now - interval, now]` with `interval` defaulting to `5m` and `now`
//!   the engine's [`MeasureContext::now`](augur_provider_api::MeasureContext), never a
//!   clock read here;
//! * `result` is Go's `[]types.MetricDataResult` as a
//!   [`ResultValue::Typed`](augur_provider_api::ResultValue::Typed) with
//!   [`result_schema`], so `result[0].Values[0]`, `result[0].Label`,
//!   `result[0].Timestamps` and `result[0].StatusCode` type-check as in Argo;
//! * `value` is `fmt.Sprintf("%+v", [][]float64{…})` (`[[0.1 0.2 0.3]]`), and the
//!   answer's top-level `Messages` go to `metadata.messages`.
//!
//! Region, credentials and endpoint come from the standard AWS chain (`aws-config`);
//! [`ENDPOINT_ENV`] (`AUGUR_CLOUDWATCH_ENDPOINT`) overrides the endpoint for augur
//! alone. The SDK is pinned to `aws-sdk-cloudwatch` 1.99.0, the last release that speaks
//! the awsQuery protocol (1.100+ speak Smithy RPCv2 CBOR, which moto, the test server,
//! cannot answer); `docs/providers.md` records the decision and its build cost.
//!
//! Deliberate differences from Argo: an empty `metricDataQueries` is refused when the
//! metric is built (CloudWatch refuses it too, with a less helpful message); calls time
//! out (10 s per attempt, 30 s in all) where Argo's never do; `metadata.messages` shows
//! the message strings where Go's `%+v` prints pointer addresses.
#![deny(missing_docs)]

mod client;

mod parse;

use std::fmt;
use std::sync::Arc;

use augur_provider_api::{
    BuildError, ErrorKind, MeasureContext, MetricProvider, Outcome, ProviderError, ProviderFactory,
};
use aws_sdk_cloudwatch::types::{Dimension, Metric, MetricDataQuery, MetricStat, StandardUnit};
use serde::Deserialize;
use serde_json::Value;

pub use client::{ClientOptions, ENDPOINT_ENV, StaticCredentials};
pub use parse::result_schema;

/// The provider kind, as written in templates.
pub const KIND: &str = "cloudWatch";

/// Argo's default query window.
const DEFAULT_INTERVAL_NANOS: i64 = 5 * 60 * 1_000_000_000;

/// Builds `cloudWatch` providers from a metric's `provider.cloudWatch` block.
///
/// Every provider built by one factory shares its AWS client (and so its credential
/// cache and connection pool). [`CloudWatchFactory::standard`] is the process-wide
/// factory on the standard AWS chain; [`CloudWatchFactory::new`] takes explicit options.
///
/// ```
/// use augur_provider_api::ProviderFactory;
/// use augur_provider_cloudwatch::CloudWatchFactory;
///
/// let provider = CloudWatchFactory::standard()
///     .build(&serde_json::json!({
///         "interval": "10m",
///         "metricDataQueries": [{
///             "id": "errors",
///             "metricStat": {
///                 "metric": {"namespace": "AWS/ApplicationELB", "metricName": "HTTPCode_Target_5XX_Count"},
///                 "period": 60,
///                 "stat": "Sum"
///             }
///         }]
///     }))
///     .expect("valid block");
/// assert_eq!(provider.kind(), "cloudWatch");
/// ```
#[derive(Debug, Clone)]
pub struct CloudWatchFactory {
    shared: Arc<client::Shared>,
}

impl CloudWatchFactory {
    /// A factory with its own AWS client, configured by `options` on first use.
    pub fn new(options: ClientOptions) -> CloudWatchFactory {
        CloudWatchFactory { shared: Arc::new(client::Shared::new(options)) }
    }

    /// The process-wide factory on the standard AWS chain (what `augur` uses). Its
    /// client is configured on the first measurement and then shared by every metric.
    pub fn standard() -> &'static CloudWatchFactory {
        static STANDARD: std::sync::LazyLock<CloudWatchFactory> =
            std::sync::LazyLock::new(|| CloudWatchFactory { shared: Arc::new(client::Shared::standard()) });
        &STANDARD
    }
}

impl ProviderFactory for CloudWatchFactory {
    fn kind(&self) -> &'static str {
        KIND
    }

    fn build(&self, config: &Value) -> Result<Box<dyn MetricProvider>, BuildError> {
        let (interval_nanos, queries) = parse_config(config)?;
        Ok(Box::new(CloudWatchProvider { shared: Arc::clone(&self.shared), interval_nanos, queries }))
    }
}

// ---------------------------------------------------------------------------------------
// Configuration: Argo's `CloudWatchMetric` and `convertType`
// ---------------------------------------------------------------------------------------

/// `provider.cloudWatch`. Unknown fields are ignored, as the CRD prunes them.
#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct RawConfig {
    #[serde(default, deserialize_with = "augur_provider_api::nullable")]
    interval: String,
    #[serde(default, deserialize_with = "augur_provider_api::nullable")]
    metric_data_queries: Vec<RawQuery>,
}

/// `metricDataQueries[]` (Argo's `CloudWatchMetricDataQuery`).
#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct RawQuery {
    #[serde(default, deserialize_with = "augur_provider_api::nullable")]
    id: String,
    #[serde(default)]
    expression: Option<String>,
    #[serde(default)]
    label: Option<String>,
    #[serde(default)]
    metric_stat: Option<RawMetricStat>,
    #[serde(default)]
    period: Option<IntOrString>,
    #[serde(default)]
    return_data: Option<bool>,
}

/// `metricStat` (Argo's `CloudWatchMetricStat`).
#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct RawMetricStat {
    #[serde(default, deserialize_with = "augur_provider_api::nullable")]
    metric: RawMetric,
    #[serde(default, deserialize_with = "augur_provider_api::nullable")]
    period: IntOrString,
    #[serde(default, deserialize_with = "augur_provider_api::nullable")]
    stat: String,
    #[serde(default, deserialize_with = "augur_provider_api::nullable")]
    unit: String,
}

/// `metricStat.metric`.
#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct RawMetric {
    #[serde(default)]
    dimensions: Option<Vec<RawDimension>>,
    #[serde(default, deserialize_with = "augur_provider_api::nullable")]
    metric_name: String,
    #[serde(default)]
    namespace: Option<String>,
}

/// `metricStat.metric.dimensions[]`.
#[derive(Deserialize, Default)]
struct RawDimension {
    #[serde(default, deserialize_with = "augur_provider_api::nullable")]
    name: String,
    #[serde(default, deserialize_with = "augur_provider_api::nullable")]
    value: String,
}

/// Kubernetes' `IntOrString`: a JSON integer (an `int32`) or a string.
enum IntOrString {
    Int(i32),
    Str(String),
}

impl<'de> Deserialize<'de> for IntOrString {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        match Value::deserialize(d)? {
            Value::String(s) => Ok(IntOrString::Str(s)),
            Value::Number(n) => match n.as_i64().and_then(|i| i32::try_from(i).ok()) {
                Some(i) => Ok(IntOrString::Int(i)),
                None => {
                    Err(D::Error::custom(format!("cannot use {n} as an int32 (an integer or a string is expected)")))
                }
            },
            other => Err(D::Error::custom(format!("expected an integer or a string, got {}", json_type(&other)))),
        }
    }
}

impl Default for IntOrString {
    fn default() -> Self {
        IntOrString::Int(0)
    }
}

impl IntOrString {
    /// `IntOrString.IntValue()` then Go's `int32(…)`: a string goes through
    /// `strconv.Atoi` with its error ignored (non-numeric ⇒ 0, out of range ⇒ clamped
    /// to 64 bits), and the conversion keeps the low 32 bits.
    fn int32_value(&self) -> i32 {
        match self {
            IntOrString::Int(i) => *i,
            IntOrString::Str(s) => {
                let digits = s.strip_prefix(['+', '-']).unwrap_or(s);
                if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
                    return 0;
                }
                let wide = s.parse::<i64>().unwrap_or(if s.starts_with('-') { i64::MIN } else { i64::MAX });
                wide as i32
            }
        }
    }
}

/// The JSON type name of a value, for messages.
fn json_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Validates the block and converts it as Argo's `Run` + `convertType` do.
fn parse_config(config: &Value) -> Result<(i64, Vec<MetricDataQuery>), BuildError> {
    if !matches!(config, Value::Object(_) | Value::Null) {
        return Err(BuildError(format!("cloudWatch: the provider block must be an object, got {}", json_type(config))));
    }
    let raw: RawConfig = if config.is_null() {
        RawConfig::default()
    } else {
        serde_path_to_error::deserialize(config)
            .map_err(|e| BuildError(format!("cloudWatch.{}: {}", e.path(), e.inner())))?
    };

    let interval_nanos = if raw.interval.is_empty() {
        DEFAULT_INTERVAL_NANOS
    } else {
        augur_provider_api::duration::parse_go_duration(&raw.interval).map_err(|e| BuildError(e.to_string()))?
    };
    if raw.metric_data_queries.is_empty() {
        return Err(BuildError(
            "cloudWatch.metricDataQueries: at least one query is required (CloudWatch rejects an empty list)"
                .to_string(),
        ));
    }
    Ok((interval_nanos, raw.metric_data_queries.into_iter().map(convert_query).collect()))
}

/// Argo's `convertType` for one query: the fields it always sends (`Id`, and inside a
/// `metricStat` the `MetricName`, `Period` and `Stat`) are sent even when empty, so that
/// CloudWatch's own validation message reaches the user; the optional ones only when set.
fn convert_query(q: RawQuery) -> MetricDataQuery {
    let metric_stat = q.metric_stat.map(|s| {
        let dimensions = s.metric.dimensions.map(|dims| {
            dims.into_iter().map(|d| Dimension::builder().name(d.name).value(d.value).build()).collect::<Vec<_>>()
        });
        let metric = Metric::builder()
            .metric_name(s.metric.metric_name)
            .set_namespace(s.metric.namespace)
            .set_dimensions(dimensions)
            .build();
        let unit = (!s.unit.is_empty()).then(|| StandardUnit::from(s.unit.as_str()));
        MetricStat::builder().metric(metric).period(s.period.int32_value()).stat(s.stat).set_unit(unit).build()
    });
    MetricDataQuery::builder()
        .id(q.id)
        .set_expression(q.expression)
        .set_label(q.label)
        .set_metric_stat(metric_stat)
        .set_period(q.period.as_ref().map(IntOrString::int32_value))
        .set_return_data(q.return_data)
        .build()
}

// ---------------------------------------------------------------------------------------
// The provider
// ---------------------------------------------------------------------------------------

/// A validated `cloudWatch` metric, ready to measure.
struct CloudWatchProvider {
    shared: Arc<client::Shared>,
    interval_nanos: i64,
    queries: Vec<MetricDataQuery>,
}

impl fmt::Debug for CloudWatchProvider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CloudWatchProvider")
            .field("interval_nanos", &self.interval_nanos)
            .field("queries", &self.queries)
            .finish_non_exhaustive()
    }
}

impl CloudWatchProvider {
    async fn measure_once(&self, ctx: &MeasureContext) -> Result<Outcome, ProviderError> {
        let answer = client::get_metric_data(&self.shared, &self.queries, self.interval_nanos, ctx.now).await?;
        Ok(Outcome::Observed(parse::observe(&answer.results, &answer.messages)))
    }
}

#[async_trait::async_trait]
impl MetricProvider for CloudWatchProvider {
    fn kind(&self) -> &'static str {
        KIND
    }

    async fn measure(&self, ctx: &MeasureContext) -> Result<Outcome, ProviderError> {
        match ctx.deadline {
            None => self.measure_once(ctx).await,
            Some(deadline) => tokio::time::timeout(deadline, self.measure_once(ctx)).await.unwrap_or_else(|_| {
                Err(ProviderError::new(
                    ErrorKind::Timeout,
                    format!("CloudWatch GetMetricData: measurement deadline of {deadline:?} exceeded"),
                ))
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[track_caller]
    fn build(config: Value) -> (i64, Vec<MetricDataQuery>) {
        parse_config(&config).expect("valid block")
    }

    #[track_caller]
    fn build_err(config: Value) -> String {
        parse_config(&config).expect_err("invalid block").0
    }

    fn stat_query(period: Value) -> Value {
        serde_json::json!({"metricDataQueries": [{
            "id": "errors",
            "metricStat": {"metric": {"namespace": "app", "metricName": "errors"}, "period": period, "stat": "Sum", "unit": "Count"},
            "returnData": false
        }]})
    }

    #[test]
    fn converts_like_argo_convert_type() {
        // Argo's TestConvertType, second case.
        let (interval, queries) = build(serde_json::json!({"metricDataQueries": [
            {"id": "rate", "expression": "errors / requests"},
            {"id": "errors", "metricStat": {
                "metric": {"dimensions": [{"name": "hoge", "value": "fuga"}], "namespace": "app1", "metricName": "errors"},
                "period": 300, "stat": "Max", "unit": "Count"}, "returnData": false},
            {"id": "requests", "metricStat": {
                "metric": {"namespace": "app2", "metricName": "requests"},
                "period": "300", "stat": "Sum", "unit": "Bytes/Second"}, "returnData": true, "period": 60, "label": "r"}
        ]}));
        assert_eq!(interval, DEFAULT_INTERVAL_NANOS);
        let expected = vec![
            MetricDataQuery::builder().id("rate").expression("errors / requests").build(),
            MetricDataQuery::builder()
                .id("errors")
                .metric_stat(
                    MetricStat::builder()
                        .metric(
                            Metric::builder()
                                .namespace("app1")
                                .metric_name("errors")
                                .dimensions(Dimension::builder().name("hoge").value("fuga").build())
                                .build(),
                        )
                        .period(300)
                        .stat("Max")
                        .unit(StandardUnit::Count)
                        .build(),
                )
                .return_data(false)
                .build(),
            MetricDataQuery::builder()
                .id("requests")
                .label("r")
                .period(60)
                .metric_stat(
                    MetricStat::builder()
                        .metric(Metric::builder().namespace("app2").metric_name("requests").build())
                        .period(300)
                        .stat("Sum")
                        .unit(StandardUnit::BytesSecond)
                        .build(),
                )
                .return_data(true)
                .build(),
        ];
        assert_eq!(queries, expected);
    }

    #[test]
    fn always_sent_fields_default_to_go_zero_values() {
        let (_, queries) = build(serde_json::json!({"metricDataQueries": [{"metricStat": {}}]}));
        let expected = MetricDataQuery::builder()
            .id("")
            .metric_stat(
                MetricStat::builder().metric(Metric::builder().metric_name("").build()).period(0).stat("").build(),
            )
            .build();
        assert_eq!(queries, vec![expected]);
    }

    #[test]
    fn period_is_int_or_string_with_int_value_semantics() {
        let period = |p: Value| {
            let (_, q) = build(stat_query(p));
            q[0].metric_stat().and_then(MetricStat::period)
        };
        assert_eq!(period(serde_json::json!(60)), Some(60));
        assert_eq!(period(serde_json::json!("60")), Some(60));
        assert_eq!(period(serde_json::json!("+60")), Some(60));
        assert_eq!(period(serde_json::json!("1m")), Some(0));
        assert_eq!(period(serde_json::json!("")), Some(0));
        assert_eq!(period(Value::Null), Some(0));
        assert_eq!(period(serde_json::json!("4294967356")), Some(60));
        assert!(
            build_err(stat_query(serde_json::json!(3_000_000_000_i64)))
                .starts_with("cloudWatch.metricDataQueries[0].metricStat.period:")
        );
        assert!(
            build_err(stat_query(serde_json::json!(1.5)))
                .starts_with("cloudWatch.metricDataQueries[0].metricStat.period:")
        );
    }

    #[test]
    fn interval_is_a_go_duration() {
        let mut config = stat_query(serde_json::json!(60));
        config["interval"] = serde_json::json!("1h30m");
        assert_eq!(build(config.clone()).0, 90 * 60 * 1_000_000_000);
        config["interval"] = serde_json::json!("5 minutes");
        assert_eq!(build_err(config.clone()), "time: unknown unit \" minutes\" in duration \"5 minutes\"");
        config["interval"] = serde_json::json!(300);
        assert!(build_err(config).starts_with("cloudWatch.interval: invalid type: integer `300`"));
    }

    #[test]
    fn invalid_blocks() {
        assert_eq!(
            build_err(serde_json::json!({"interval": "5m"})),
            "cloudWatch.metricDataQueries: at least one query is required (CloudWatch rejects an empty list)"
        );
        assert_eq!(build_err(Value::Null), build_err(serde_json::json!({"metricDataQueries": []})));
        assert_eq!(build_err(serde_json::json!("x")), "cloudWatch: the provider block must be an object, got a string");
        assert!(
            build_err(serde_json::json!({"metricDataQueries": [{"id": 1}]}))
                .starts_with("cloudWatch.metricDataQueries[0].id: invalid type: integer `1`, expected a string"),
        );
        // Unknown fields are pruned, as by the CRD.
        let mut config = stat_query(serde_json::json!(60));
        config["metricDataQueries"][0]["accountId"] = serde_json::json!("123");
        build(config);
    }

    #[test]
    fn standard_factory_is_shared() {
        assert!(std::ptr::eq(CloudWatchFactory::standard(), CloudWatchFactory::standard()));
        assert_eq!(CloudWatchFactory::standard().kind(), KIND);
    }
}
