//! A Datadog answer, turned into exactly what Argo's provider hands to the conditions
//! (`parseResponseV1` / `parseResponseV2` in `metricproviders/datadog/datadog.go`).
//!
//! [`parse_response`] is a pure function of the API version, the status and the body:
//!
//! * 401 and 403 ⇒ `received authentication error response code: <code> <body>`; any
//!   other status but 200 ⇒ `received non 2xx response code: <code> <body>` (classified
//!   by the shared layer: 429 and 5xx are transient); a body that is not the expected
//!   JSON ⇒ `Could not parse JSON body: …`;
//! * v1 ⇒ the last point of the **first** series, as `float64`, formatted with
//!   `strconv.FormatFloat(v, 'f', -1, 64)`; no series or an empty first series ⇒ `nil`,
//!   with the series marshalled as Go marshals them as the value (`[]`);
//! * v2 ⇒ the first `number` column (an untyped column counts, as in Argo); `null`
//!   values are skipped; ungrouped ⇒ the first value as `float64`; grouped (any `group`
//!   column, `by {tag}`) ⇒ every value as `[]float64`, even for one group, with
//!   `metadata.groups` = `[{"name","value"}]` (tags of a row joined with `,`) capped at
//!   [`MAX_GROUPS_IN_METADATA`]: the 50 lowest and 50 highest values, plus
//!   `groups_truncated: "true"`; no values ⇒ `nil` with the value `[]`;
//!   `data.errors` ⇒ `There were errors in your query: …`.
//!
//! Where augur refuses to guess (each would let a broken answer pass as data; see
//! `docs/providers.md`): a v1 last point whose value is `null` (Go decodes it as `0`), a
//! v1 answer with `status: "error"`, and a v2 answer with the top-level `errors` string
//! Datadog documents (Argo reads only `data.errors`) are Errors, not values.

use std::collections::BTreeMap;

use augur_provider_api::gofmt::{go_json, go_quote, json_float};
use augur_provider_api::http::{body_snippet, status_kind};
use augur_provider_api::{ErrorKind, Observation, ProviderError, ResultValue};
use serde::Deserialize;
use serde_json::Value;

/// How many `{name, value}` entries `metadata.groups` keeps (Argo's
/// `maxGroupsInMetadata`): the lowest half and the highest half by value.
pub const MAX_GROUPS_IN_METADATA: usize = 100;

/// Which Datadog API a metric queries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ApiVersion {
    /// `GET /api/v1/query`.
    V1,
    /// `POST /api/v2/query/scalar`.
    V2,
}

/// Turns one Datadog answer into an observation, or the error Argo would record.
///
/// ```
/// use augur_provider_api::ResultValue;
/// use augur_provider_datadog::{ApiVersion, parse_response};
///
/// let body = br#"{"data":{"attributes":{"columns":[
///     {"name":"version","type":"group","values":[["canary"],["stable"]]},
///     {"name":"a","type":"number","values":[0.05,0.01]}]}}}"#;
/// let obs = parse_response(ApiVersion::V2, 200, body).unwrap();
/// assert_eq!(obs.result, ResultValue::Floats(vec![0.05, 0.01]));
/// assert_eq!(obs.value, "[0.05,0.01]");
/// assert_eq!(obs.metadata["groups"], r#"[{"name":"canary","value":0.05},{"name":"stable","value":0.01}]"#);
///
/// let empty = parse_response(ApiVersion::V1, 200, br#"{"status":"ok","series":[]}"#).unwrap();
/// assert_eq!((empty.result, empty.value.as_str()), (ResultValue::Nil, "[]"));
/// ```
pub fn parse_response(version: ApiVersion, status: u16, body: &[u8]) -> Result<Observation, ProviderError> {
    if status == 401 || status == 403 {
        return Err(status_message(ErrorKind::Auth, "received authentication error response code", status, body));
    }
    if status != 200 {
        return Err(status_message(status_kind(status), "received non 2xx response code", status, body));
    }
    match version {
        ApiVersion::V1 => parse_v1(body),
        ApiVersion::V2 => parse_v2(body),
    }
}

/// Argo's `"<prefix>: %v %s"` with the body as a one-line snippet.
fn status_message(kind: ErrorKind, prefix: &str, status: u16, body: &[u8]) -> ProviderError {
    let snippet = body_snippet(body);
    let message =
        if snippet.is_empty() { format!("{prefix}: {status}") } else { format!("{prefix}: {status} {snippet}") };
    ProviderError::new(kind, message)
}

fn malformed(message: impl Into<String>) -> ProviderError {
    ProviderError::new(ErrorKind::Malformed, message)
}

fn not_json(err: &serde_json::Error) -> ProviderError {
    malformed(format!("Could not parse JSON body: {err}"))
}

/// Go's decoder refuses a JSON array where a struct is expected; serde's derived
/// structs would accept one (`[]` as a struct of defaults), so each struct position is
/// checked first.
fn not_an_array(value: Option<&Value>, at: &str) -> Result<(), ProviderError> {
    match value {
        Some(Value::Array(_)) => {
            Err(malformed(format!("Could not parse JSON body: cannot unmarshal array into the object at {at}")))
        }
        _ => Ok(()),
    }
}

/// The body as JSON, with every struct position (`at` paths, `[]` for each element)
/// checked by [`not_an_array`].
fn decode<T: serde::de::DeserializeOwned>(body: &[u8], structs: &[&str]) -> Result<T, ProviderError> {
    let value: Value = serde_json::from_slice(body).map_err(|e| not_json(&e))?;
    for path in structs {
        let mut found = vec![&value];
        for step in path.split('.').filter(|s| !s.is_empty()) {
            found = match step.strip_suffix("[]") {
                Some(field) => found.iter().filter_map(|v| v.get(field).and_then(Value::as_array)).flatten().collect(),
                None => found.iter().filter_map(|v| v.get(step)).collect(),
            };
        }
        for v in found {
            not_an_array(Some(v), if path.is_empty() { "the top level" } else { path })?;
        }
    }
    serde_json::from_value(value).map_err(|e| not_json(&e))
}

fn observed(result: ResultValue, value: String) -> Observation {
    Observation { result, value, metadata: BTreeMap::new() }
}

// ---------------------------------------------------------------------------------------
// v1
// ---------------------------------------------------------------------------------------

/// `MetricsQueryResponse`, the fields Argo reads (`series[].pointlist`) plus `status`
/// and `error`. Everything is optional, as Go's decoder is lenient.
#[derive(Deserialize)]
struct V1Response {
    #[serde(default)]
    status: Option<Value>,
    #[serde(default)]
    error: Option<Value>,
    #[serde(default)]
    series: Option<Vec<Option<V1Series>>>,
}

#[derive(Deserialize, Default)]
struct V1Series {
    /// `[[ts_ms, value|null], …]`; Go's `[][]float64`.
    #[serde(default)]
    pointlist: Option<Vec<Option<Vec<Option<f64>>>>>,
}

fn parse_v1(body: &[u8]) -> Result<Observation, ProviderError> {
    let res: V1Response = decode(body, &["", "series[]"])?;
    let error = res.error.as_ref().and_then(Value::as_str).filter(|e| !e.is_empty());
    let failed = res.status.as_ref().and_then(Value::as_str).is_some_and(|s| s.eq_ignore_ascii_case("error"));
    if failed || error.is_some() {
        let why = error.unwrap_or("the query status is \"error\"");
        return Err(ProviderError::new(ErrorKind::Rejected, format!("There were errors in your query: {why}")));
    }
    let first = res.series.as_ref().and_then(|s| s.first()).and_then(Option::as_ref);
    let Some(points) = first.and_then(|s| s.pointlist.as_ref()).filter(|p| !p.is_empty()) else {
        // Argo: `json.Marshal(res.Series)` of its one-field struct, with a nil result.
        return Ok(observed(ResultValue::Nil, go_json_series(res.series.as_deref())));
    };
    let last = points.last().and_then(Option::as_ref);
    let Some([timestamp, value]) = last.map(Vec::as_slice) else {
        return Err(malformed("Datapoint does not have 2 values"));
    };
    let Some(value) = value else {
        let at = timestamp.map(json_float).unwrap_or_else(|| "null".to_string());
        return Err(ProviderError::new(
            ErrorKind::NoData,
            format!(
                "the last point of the first series has no value (null at {at}); Argo would judge it as 0. Add \
                 .fill(zero) or .fill(last) to the query, or widen the rollup, so the last point has a value"
            ),
        ));
    };
    Ok(observed(ResultValue::Float(*value), go_format_float(*value)))
}

/// Go's `json.Marshal` of `[]struct{ Pointlist [][]float64 "json:\"pointlist\"" }`:
/// only the point lists survive, and a `null` value decoded as `0`.
fn go_json_series(series: Option<&[Option<V1Series>]>) -> String {
    let Some(series) = series else {
        return "null".to_string();
    };
    let items: Vec<String> = series
        .iter()
        .map(|s| {
            // A `null` element decodes as the zero struct.
            let points = match s.as_ref().and_then(|s| s.pointlist.as_ref()) {
                None => "null".to_string(),
                Some(points) => {
                    let points: Vec<String> = points
                        .iter()
                        .map(|p| match p {
                            None => "null".to_string(),
                            Some(p) => {
                                let values: Vec<String> = p.iter().map(|v| json_float(v.unwrap_or(0.0))).collect();
                                format!("[{}]", values.join(","))
                            }
                        })
                        .collect();
                    format!("[{}]", points.join(","))
                }
            };
            format!("{{\"pointlist\":{points}}}")
        })
        .collect();
    format!("[{}]", items.join(","))
}

// ---------------------------------------------------------------------------------------
// v2
// ---------------------------------------------------------------------------------------

/// `ScalarFormulaQueryResponse`: `data.attributes.columns[]`, Argo's `data.errors`, and
/// the documented top-level `errors`.
#[derive(Deserialize)]
struct V2Response {
    #[serde(default)]
    data: Option<V2Data>,
    #[serde(default)]
    errors: Option<Value>,
}

#[derive(Deserialize)]
struct V2Data {
    #[serde(default)]
    attributes: Option<V2Attributes>,
    #[serde(default)]
    errors: Option<String>,
}

#[derive(Deserialize)]
struct V2Attributes {
    #[serde(default)]
    columns: Option<Vec<Option<V2Column>>>,
}

/// A `GroupScalarColumn` (`type: group`, values `[[tag, …], …]`) or a
/// `DataScalarColumn` (`type: number`, values `[number|null, …]`).
#[derive(Deserialize, Default)]
struct V2Column {
    #[serde(default)]
    name: Option<String>,
    #[serde(default, rename = "type")]
    kind: Option<String>,
    #[serde(default)]
    values: Option<Vec<Value>>,
}

fn parse_v2(body: &[u8]) -> Result<Observation, ProviderError> {
    let res: V2Response = decode(body, &["", "data", "data.attributes", "data.attributes.columns[]"])?;
    let data_errors = res.data.as_ref().and_then(|d| d.errors.as_deref()).filter(|e| !e.is_empty());
    let top_errors = res.errors.as_ref().and_then(Value::as_str).filter(|e| !e.is_empty());
    if let Some(errors) = data_errors.or(top_errors) {
        return Err(ProviderError::new(ErrorKind::Rejected, format!("There were errors in your query: {errors}")));
    }
    // A `null` column decodes as the zero column (no type, so numeric, with no values).
    let columns: Vec<V2Column> = res
        .data
        .and_then(|d| d.attributes)
        .and_then(|a| a.columns)
        .unwrap_or_default()
        .into_iter()
        .map(Option::unwrap_or_default)
        .collect();
    let (values, groups, grouped) = extract_values(&columns)?;
    if values.is_empty() {
        return Ok(observed(ResultValue::Nil, "[]".to_string()));
    }
    if !grouped {
        return Ok(observed(ResultValue::Float(values[0]), go_format_float(values[0])));
    }
    let parts: Vec<String> = values.iter().map(|v| go_format_float(*v)).collect();
    let mut obs = observed(ResultValue::Floats(values), format!("[{}]", parts.join(",")));
    let (groups_json, truncated) = groups_metadata(groups);
    obs.metadata.insert("groups".to_string(), groups_json);
    if truncated {
        obs.metadata.insert("groups_truncated".to_string(), "true".to_string());
    }
    Ok(obs)
}

/// Argo's `extractValues`: the numeric values, their group labels, and whether the
/// answer was grouped.
#[allow(clippy::type_complexity)]
fn extract_values(columns: &[V2Column]) -> Result<(Vec<f64>, Vec<(String, f64)>, bool), ProviderError> {
    let number = columns.iter().find(|c| matches!(c.kind.as_deref(), None | Some("") | Some("number")));
    let group_columns: Vec<&V2Column> = columns.iter().filter(|c| c.kind.as_deref() == Some("group")).collect();
    let grouped = !group_columns.is_empty();
    let Some(number) = number else {
        return Ok((Vec::new(), Vec::new(), grouped));
    };
    let mut values = Vec::new();
    let mut groups = Vec::new();
    for (i, raw) in number.values.as_deref().unwrap_or_default().iter().enumerate() {
        if raw.is_null() {
            continue;
        }
        let Some(value) = raw.as_f64() else {
            return Err(malformed(format!(
                "could not parse numeric value {} in column {}: json: cannot unmarshal {} into Go value of type \
                 float64",
                go_quote(&raw.to_string()),
                go_quote(number.name.as_deref().unwrap_or_default()),
                go_json_kind(raw)
            )));
        };
        values.push(value);
        if grouped {
            let name = group_name_at(&group_columns, i)
                .ok_or_else(|| malformed(format!("could not parse group label at index {i}")))?;
            groups.push((name, value));
        }
    }
    Ok((values, groups, grouped))
}

/// Argo's `groupNameAt`: the row's tags across every group column, joined with `,`;
/// `None` when a column lacks the row or its entry is not a non-empty list of strings.
fn group_name_at(columns: &[&V2Column], index: usize) -> Option<String> {
    let mut parts = Vec::new();
    for column in columns {
        let tags = column.values.as_deref()?.get(index)?.as_array()?;
        if tags.is_empty() {
            return None;
        }
        for tag in tags {
            match tag {
                Value::String(s) => parts.push(s.clone()),
                // Go decodes a JSON null into a string as "".
                Value::Null => parts.push(String::new()),
                _ => return None,
            }
        }
    }
    Some(parts.join(","))
}

/// Argo's `groupsMetadata`: the pairs as Go's JSON, the 50 lowest and 50 highest by
/// value (stable) when there are more than [`MAX_GROUPS_IN_METADATA`].
fn groups_metadata(mut groups: Vec<(String, f64)>) -> (String, bool) {
    let truncated = groups.len() > MAX_GROUPS_IN_METADATA;
    if truncated {
        groups.sort_by(|a, b| a.1.total_cmp(&b.1));
        let low = MAX_GROUPS_IN_METADATA / 2;
        let high = MAX_GROUPS_IN_METADATA - low;
        let top = groups.split_off(groups.len() - high);
        groups.truncate(low);
        groups.extend(top);
    }
    let items: Vec<String> = groups
        .iter()
        .map(|(name, value)| {
            format!("{{\"name\":{},\"value\":{}}}", go_json(&Value::String(name.clone())), json_float(*value))
        })
        .collect();
    (format!("[{}]", items.join(",")), truncated)
}

// ---------------------------------------------------------------------------------------
// Go formatting
// ---------------------------------------------------------------------------------------

/// `strconv.FormatFloat(v, 'f', -1, 64)`: the shortest decimal that reads back as the
/// same float64, never an exponent.
pub(crate) fn go_format_float(v: f64) -> String {
    if v.is_nan() {
        "NaN".to_string()
    } else if v == f64::INFINITY {
        "+Inf".to_string()
    } else if v == f64::NEG_INFINITY {
        "-Inf".to_string()
    } else {
        format!("{v}")
    }
}

/// The JSON kind Go names in `cannot unmarshal <kind> into …`.
fn go_json_kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Parses a 200 `body` and compares the result and the value string.
    #[track_caller]
    fn check(version: ApiVersion, body: &str, result: ResultValue, value: &str) {
        let obs = parse_response(version, 200, body.as_bytes()).unwrap_or_else(|e| panic!("{body}: {e:?}"));
        assert_eq!((&obs.result, obs.value.as_str()), (&result, value), "{body}");
    }

    /// Parses `body` with `status` and compares the error's kind and message.
    #[track_caller]
    fn check_err(version: ApiVersion, status: u16, body: &str, kind: ErrorKind, message: &str) {
        match parse_response(version, status, body.as_bytes()) {
            Err(e) => assert_eq!((e.kind(), e.message()), (kind, message), "{body}"),
            Ok(obs) => panic!("{body}: expected an error, got {obs:?}"),
        }
    }

    use ApiVersion::{V1, V2};
    use ResultValue::{Float, Floats, Nil};

    #[test]
    fn v1_reads_the_last_point_of_the_first_series() {
        check(V1, r#"{"series":[{"pointlist":[[1,0.5],[2,0.25]]},{"pointlist":[[1,9]]}]}"#, Float(0.25), "0.25");
        check(V1, r#"{"series":[{"pointlist":[[1,null],[2,1e21]]}]}"#, Float(1e21), "1000000000000000000000");
        check(V1, r#"{"series":[{"pointlist":[[1,-0.0000001]]}]}"#, Float(-1e-7), "-0.0000001");
    }

    #[test]
    fn v1_no_data_is_nil_with_go_json_of_the_series() {
        check(V1, r#"{"status":"ok","series":[]}"#, Nil, "[]");
        check(V1, r#"{}"#, Nil, "null");
        check(V1, r#"{"series":null}"#, Nil, "null");
        check(V1, r#"{"series":[{"pointlist":[]}]}"#, Nil, r#"[{"pointlist":[]}]"#);
        check(V1, r#"{"series":[{"metric":"m"}]}"#, Nil, r#"[{"pointlist":null}]"#);
        check(
            V1,
            r#"{"series":[{"pointlist":[]},{"pointlist":[[1700000000000,null],[1e21,1e-7],null]}]}"#,
            Nil,
            r#"[{"pointlist":[]},{"pointlist":[[1700000000000,0],[1e+21,1e-7],null]}]"#,
        );
    }

    #[test]
    fn v1_refuses_what_it_cannot_read() {
        check_err(
            V1,
            200,
            r#"{"series":[{"pointlist":[[1]]}]}"#,
            ErrorKind::Malformed,
            "Datapoint does not have 2 values",
        );
        check_err(
            V1,
            200,
            r#"{"series":[{"pointlist":[null]}]}"#,
            ErrorKind::Malformed,
            "Datapoint does not have 2 values",
        );
        let null_last = parse_response(V1, 200, br#"{"series":[{"pointlist":[[1,1],[1700000000000,null]]}]}"#);
        let err = null_last.expect_err("null last point");
        assert_eq!(err.kind(), ErrorKind::NoData);
        assert!(err.message().starts_with("the last point of the first series has no value (null at 1700000000000)"));
        assert!(err.message().contains(".fill(zero)"), "{}", err.message());
        check_err(
            V1,
            200,
            r#"{"status":"error","error":"Rule parse error","series":[]}"#,
            ErrorKind::Rejected,
            "There were errors in your query: Rule parse error",
        );
        let err = parse_response(V1, 200, br#"{"series":[{"pointlist":[[1,"x"]]}]}"#).expect_err("string point");
        assert!(err.message().starts_with("Could not parse JSON body: invalid type: string"), "{}", err.message());
        assert_eq!(err.kind(), ErrorKind::Malformed);
    }

    #[test]
    fn statuses_use_argos_words() {
        let forbidden = r#"{"errors": ["Forbidden"]}"#;
        check_err(
            V1,
            403,
            forbidden,
            ErrorKind::Auth,
            r#"received authentication error response code: 403 {"errors": ["Forbidden"]}"#,
        );
        check_err(V2, 401, "", ErrorKind::Auth, "received authentication error response code: 401");
        check_err(
            V2,
            400,
            "{\n \"errors\": [\"Bad Request\"]\n}",
            ErrorKind::Rejected,
            r#"received non 2xx response code: 400 { "errors": ["Bad Request"] }"#,
        );
        check_err(V2, 429, "", ErrorKind::Unavailable, "received non 2xx response code: 429");
        check_err(V1, 502, "bad gateway", ErrorKind::Unavailable, "received non 2xx response code: 502 bad gateway");
        // Only 200 is success, as in Argo.
        check_err(V1, 204, "", ErrorKind::Rejected, "received non 2xx response code: 204");
    }

    #[test]
    fn v2_ungrouped_is_the_first_number() {
        let body = |values: &str| {
            format!(
                r#"{{"data":{{"attributes":{{"columns":[{{"name":"a","type":"number","values":{values}}}]}},"type":"scalar_response"}}}}"#
            )
        };
        check(V2, &body("[0.5]"), Float(0.5), "0.5");
        check(V2, &body("[null, 2, 3]"), Float(2.0), "2");
        check(V2, &body("[]"), Nil, "[]");
        check(V2, &body("[null]"), Nil, "[]");
        // Legacy untyped columns count as numbers.
        check(
            V2,
            r#"{"data":{"attributes":{"columns":[{"values":[0.0006332881882246533]}]}}}"#,
            Float(0.0006332881882246533),
            "0.0006332881882246533",
        );
        check(V2, r#"{"data":{"attributes":{"columns":[]}}}"#, Nil, "[]");
        check(V2, r#"{}"#, Nil, "[]");
    }

    #[test]
    fn v2_grouped_is_a_list_with_groups() {
        let body = r#"{"data":{"attributes":{"columns":[
            {"name":"region","type":"group","values":[["us-east"],["eu"],["ap"]]},
            {"name":"host","type":"group","values":[["a"],["b"],["c"]]},
            {"name":"a","type":"number","values":[1.5,null,2]}]}}}"#;
        let obs = parse_response(V2, 200, body.as_bytes()).expect("grouped");
        assert_eq!((obs.result, obs.value.as_str()), (Floats(vec![1.5, 2.0]), "[1.5,2]"));
        assert_eq!(obs.metadata["groups"], r#"[{"name":"us-east,a","value":1.5},{"name":"ap,c","value":2}]"#);
        assert!(!obs.metadata.contains_key("groups_truncated"));
        // One group is still a list.
        let one = r#"{"data":{"attributes":{"columns":[{"name":"v","type":"group","values":[["<canary>&"]]},{"name":"a","type":"number","values":[0.01]}]}}}"#;
        let obs = parse_response(V2, 200, one.as_bytes()).expect("one group");
        assert_eq!((obs.result, obs.value.as_str()), (Floats(vec![0.01]), "[0.01]"));
        assert_eq!(obs.metadata["groups"], r#"[{"name":"\u003ccanary\u003e\u0026","value":0.01}]"#);
        // Grouped with no values is nil, without metadata.
        let none = r#"{"data":{"attributes":{"columns":[{"name":"v","type":"group","values":[]},{"name":"a","type":"number","values":[]}]}}}"#;
        let obs = parse_response(V2, 200, none.as_bytes()).expect("no groups");
        assert_eq!((obs.result, obs.value.as_str(), obs.metadata.len()), (Nil, "[]", 0));
    }

    #[test]
    fn v2_groups_are_capped_at_both_ends() {
        let n = 150;
        let tags: Vec<String> = (0..n).map(|i| format!("[\"h{i}\"]")).collect();
        // Values descend, so the lowest 50 are the last hosts.
        let values: Vec<String> = (0..n).map(|i| (n - i).to_string()).collect();
        let body = format!(
            r#"{{"data":{{"attributes":{{"columns":[{{"name":"host","type":"group","values":[{}]}},{{"name":"a","type":"number","values":[{}]}}]}}}}}}"#,
            tags.join(","),
            values.join(",")
        );
        let obs = parse_response(V2, 200, body.as_bytes()).expect("many groups");
        assert!(matches!(&obs.result, Floats(v) if v.len() == n), "every value is judged");
        assert_eq!(obs.metadata["groups_truncated"], "true");
        let groups: Vec<Value> = serde_json::from_str(&obs.metadata["groups"]).expect("json");
        assert_eq!(groups.len(), MAX_GROUPS_IN_METADATA);
        assert_eq!(groups[0], serde_json::json!({"name": "h149", "value": 1}));
        assert_eq!(groups[49], serde_json::json!({"name": "h100", "value": 50}));
        assert_eq!(groups[50], serde_json::json!({"name": "h49", "value": 101}));
        assert_eq!(groups[99], serde_json::json!({"name": "h0", "value": 150}));
    }

    #[test]
    fn v2_errors() {
        check_err(
            V2,
            200,
            r#"{"data":{"errors":"unknown metric foo"}}"#,
            ErrorKind::Rejected,
            "There were errors in your query: unknown metric foo",
        );
        check_err(
            V2,
            200,
            r#"{"data":{"attributes":{"columns":[]}},"errors":"Query timed out"}"#,
            ErrorKind::Rejected,
            "There were errors in your query: Query timed out",
        );
        check_err(
            V2,
            200,
            r#"{"data":{"attributes":{"columns":[{"name":"a","type":"number","values":["0.5"]}]}}}"#,
            ErrorKind::Malformed,
            r#"could not parse numeric value "\"0.5\"" in column "a": json: cannot unmarshal string into Go value of type float64"#,
        );
        check_err(
            V2,
            200,
            r#"{"data":{"attributes":{"columns":[{"name":"g","type":"group","values":[["x"]]},{"name":"a","type":"number","values":[1,2]}]}}}"#,
            ErrorKind::Malformed,
            "could not parse group label at index 1",
        );
        check_err(
            V2,
            200,
            r#"{"data":{"attributes":{"columns":[{"name":"g","type":"group","values":[[]]},{"name":"a","type":"number","values":[1]}]}}}"#,
            ErrorKind::Malformed,
            "could not parse group label at index 0",
        );
        let err = parse_response(V2, 200, br#"{"data":{"errors":5}}"#).expect_err("non-string errors");
        assert!(err.message().starts_with("Could not parse JSON body: "), "{}", err.message());
        for body in ["", "[1,2,3]", "\"just a string\"", "<html>oops</html>", r#"{"data":{"attr"#] {
            let err = parse_response(V2, 200, body.as_bytes()).expect_err(body);
            assert_eq!(err.kind(), ErrorKind::Malformed, "{body}");
            assert!(err.message().starts_with("Could not parse JSON body: "), "{}", err.message());
        }
    }

    #[test]
    fn arrays_are_not_structs() {
        // Go refuses an array where a struct is expected; a null is the zero struct.
        for (version, body) in [
            (V1, "[]"),
            (V1, r#"{"series":[[]]}"#),
            (V2, "[]"),
            (V2, r#"{"data":[]}"#),
            (V2, r#"{"data":{"attributes":[]}}"#),
            (V2, r#"{"data":{"attributes":{"columns":[[]]}}}"#),
        ] {
            let err = parse_response(version, 200, body.as_bytes()).expect_err(body);
            assert_eq!(err.kind(), ErrorKind::Malformed, "{body}");
            assert!(
                err.message().starts_with("Could not parse JSON body: cannot unmarshal array"),
                "{}",
                err.message()
            );
        }
        check(V1, r#"{"series":[null]}"#, Nil, r#"[{"pointlist":null}]"#);
        check(V2, r#"{"data":{"attributes":{"columns":[null,{"type":"number","values":[1]}]}}}"#, Nil, "[]");
    }

    #[test]
    fn go_formatting() {
        assert_eq!(json_float(1e21), "1e+21");
        assert_eq!(json_float(1.5e-7), "1.5e-7");
        assert_eq!(json_float(1e-10), "1e-10");
        assert_eq!(json_float(0.000001), "0.000001");
        assert_eq!(json_float(-0.0), "-0");
        assert_eq!(json_float(123456789.0), "123456789");
        assert_eq!(go_format_float(1e21), "1000000000000000000000");
        assert_eq!(go_format_float(f64::NAN), "NaN");
        assert_eq!(go_format_float(f64::NEG_INFINITY), "-Inf");
    }
}
