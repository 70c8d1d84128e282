//! A Prometheus HTTP API answer, turned into exactly what Argo's provider hands to the
//! conditions (`metricproviders/prometheus` + `client_golang/api`).
//!
//! [`parse_response`] is a pure function of the status and the body bytes:
//!
//! * the status and envelope are judged as `client_golang`'s `apiClientImpl.Do` judges
//!   them: 2xx, 400 and 422 carry a JSON envelope (`status`, `data`, `errorType`,
//!   `error`, `warnings`); any other status is `client_error: client error: <code>`,
//!   `server_error: server error: <code>` or `bad_response: bad response code <code>`,
//!   to which augur appends a snippet of the body;
//! * `scalar` ⇒ Go `float64`, `vector` ⇒ `[]float64` (one per sample, `null` samples
//!   skipped), `matrix` ⇒ `[]float64` with every point of every series flattened in
//!   order; an empty vector or matrix is an empty list (never nil); `string` and other
//!   types ⇒ `Prometheus metric type not supported`;
//! * the measurement value is Go's `SampleValue.String()` (`strconv.FormatFloat(v, 'f',
//!   -1, 64)`: `10`, `0.25`, `NaN`, `+Inf`, `-Inf`, never an exponent), joined as
//!   `[a,b,c]` for lists;
//! * warnings become `metadata.warnings` as Argo writes them: each one in double quotes
//!   (not escaped), joined with `, `.
//!
//! What it is not: a general Prometheus client. Native-histogram samples in an instant
//! vector are refused (Argo would silently read them as `0`); histogram points in a
//! matrix are skipped, as in Argo.

use std::collections::BTreeMap;

use augur_provider_api::http::status_error;
use augur_provider_api::{ErrorKind, Observation, ProviderError, ResultValue};
use reqwest::StatusCode;
use serde::Deserialize;
use serde_json::Value;

/// Argo's message for result types it does not handle.
const UNSUPPORTED: &str = "Prometheus metric type not supported";

/// The API envelope. Every field is optional, as Go's decoder is lenient.
#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct Envelope {
    #[serde(default)]
    status: Option<String>,
    #[serde(default)]
    data: Option<Value>,
    #[serde(default)]
    error_type: Option<String>,
    #[serde(default)]
    error: Option<String>,
    #[serde(default)]
    warnings: Option<Vec<String>>,
}

/// Turns one Prometheus answer into an observation, or the error Argo would record.
///
/// ```
/// use augur_provider_api::ResultValue;
/// use augur_provider_prometheus::parse_response;
///
/// let body = br#"{"status":"success","data":{"resultType":"vector","result":[
///     {"metric":{"pod":"a"},"value":[1700000000,"0.25"]},
///     {"metric":{"pod":"b"},"value":[1700000000,"NaN"]}]}}"#;
/// let obs = parse_response(200, body).unwrap();
/// assert_eq!(obs.value, "[0.25,NaN]");
/// assert!(matches!(obs.result, ResultValue::Floats(ref v) if v[0] == 0.25 && v[1].is_nan()));
/// ```
pub fn parse_response(status: u16, body: &[u8]) -> Result<Observation, ProviderError> {
    let code = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let carries_envelope = code.is_success() || status == 400 || status == 422;
    if !carries_envelope {
        return Err(status_error(code, &status_prefix(status), body));
    }
    let envelope: Envelope = match serde_json::from_slice(body) {
        Ok(envelope) => envelope,
        // A 400/422 that is not Prometheus's JSON (a proxy's page): report the status.
        Err(_) if !code.is_success() => return Err(status_error(code, &status_prefix(status), body)),
        Err(e) => return Err(malformed(format!("bad_response: {e}"))),
    };
    match envelope.status.as_deref() {
        Some("error") => {
            let kind = if code.is_success() { ErrorKind::Malformed } else { ErrorKind::Rejected };
            let error_type = envelope.error_type.unwrap_or_default();
            let error = envelope.error.unwrap_or_default();
            return Err(ProviderError::new(kind, one_line(&format!("{error_type}: {error}"))));
        }
        Some("success") if !code.is_success() => {
            return Err(ProviderError::new(
                ErrorKind::Rejected,
                format!("bad_response: inconsistent body for response code {status}"),
            ));
        }
        _ => {}
    }
    let data = envelope.data.ok_or_else(|| malformed("bad_response: the response has no data".to_string()))?;
    let (result, value) = typed_result(&data)?;
    let mut metadata = BTreeMap::new();
    if let Some(warnings) = envelope.warnings.filter(|w| !w.is_empty()) {
        metadata.insert("warnings".to_string(), argo_warnings(&warnings));
    }
    Ok(Observation { result, value, metadata })
}

/// `client_golang`'s `errorTypeAndMsgFor`, which names the status.
fn status_prefix(status: u16) -> String {
    match status / 100 {
        4 => format!("client_error: client error: {status}"),
        5 => format!("server_error: server error: {status}"),
        _ => format!("bad_response: bad response code {status}"),
    }
}

fn malformed(message: String) -> ProviderError {
    ProviderError::new(ErrorKind::Malformed, one_line(&message))
}

fn one_line(message: &str) -> String {
    message.replace(['\r', '\n'], " ")
}

/// Argo's `warnings` metadata: `"w1", "w2"` (Go `fmt.Sprintf("%s\"%s\", ", …)`).
fn argo_warnings(warnings: &[String]) -> String {
    warnings.iter().map(|w| format!("\"{w}\"")).collect::<Vec<_>>().join(", ")
}

/// `data` ⇒ the Go value for the conditions and the measurement value string.
fn typed_result(data: &Value) -> Result<(ResultValue, String), ProviderError> {
    let result_type = data.get("resultType").and_then(Value::as_str).unwrap_or_default();
    let result = data.get("result").unwrap_or(&Value::Null);
    match result_type {
        "scalar" => {
            let v = sample_value(result)?;
            Ok((ResultValue::Float(v), go_float(v)))
        }
        "vector" => {
            let mut values = Vec::new();
            for sample in samples(result, "vector")? {
                if sample.is_null() {
                    continue;
                }
                if sample.get("histogram").is_some() && sample.get("value").is_none() {
                    return Err(ProviderError::new(
                        ErrorKind::Malformed,
                        "native histogram samples are not supported; query a float series (e.g. histogram_quantile)",
                    ));
                }
                values.push(sample_value(sample.get("value").unwrap_or(&Value::Null))?);
            }
            Ok(floats(values))
        }
        "matrix" => {
            let mut values = Vec::new();
            for series in samples(result, "matrix")? {
                if series.is_null() {
                    continue;
                }
                let points = match series.get("values") {
                    None | Some(Value::Null) => &[][..],
                    Some(Value::Array(points)) => points.as_slice(),
                    Some(other) => {
                        return Err(malformed(format!("bad_response: matrix values must be a list, got {other}")));
                    }
                };
                for point in points {
                    values.push(sample_value(point)?);
                }
            }
            Ok(floats(values))
        }
        "string" => Err(ProviderError::new(ErrorKind::Malformed, UNSUPPORTED)),
        other => Err(malformed(format!("bad_response: unexpected value type {other:?}"))),
    }
}

/// The elements of a vector or matrix `result` (`null` is an empty result, as in Go).
fn samples<'a>(result: &'a Value, what: &str) -> Result<&'a [Value], ProviderError> {
    match result {
        Value::Null => Ok(&[]),
        Value::Array(items) => Ok(items),
        other => Err(malformed(format!("bad_response: a {what} result must be a list, got {other}"))),
    }
}

/// A `[timestamp, "value"]` pair's value, parsed as Go's `strconv.ParseFloat`.
fn sample_value(pair: &Value) -> Result<f64, ProviderError> {
    let text = match pair.as_array().map(Vec::as_slice) {
        Some([ts, Value::String(text)]) if ts.is_number() || ts.is_string() => text,
        _ => return Err(malformed(format!("bad_response: expected a [timestamp, \"value\"] pair, got {pair}"))),
    };
    parse_go_float(text).ok_or_else(|| malformed(format!("bad_response: invalid sample value {text:?}")))
}

/// Go's `strconv.ParseFloat(s, 64)` for what Prometheus writes: decimals, exponents,
/// `NaN` and signed/unsigned `Inf`/`Infinity` in any case.
fn parse_go_float(text: &str) -> Option<f64> {
    let (sign, rest) = match text.as_bytes().first() {
        Some(b'+') => (1.0, &text[1..]),
        Some(b'-') => (-1.0, &text[1..]),
        _ => (1.0, text),
    };
    if rest.eq_ignore_ascii_case("inf") || rest.eq_ignore_ascii_case("infinity") {
        return Some(sign * f64::INFINITY);
    }
    if rest.eq_ignore_ascii_case("nan") {
        // Go accepts "NaN" only unsigned.
        return (rest.len() == text.len()).then_some(f64::NAN);
    }
    if !rest.bytes().next().is_some_and(|b| b.is_ascii_digit() || b == b'.') {
        return None;
    }
    text.parse::<f64>().ok()
}

fn floats(values: Vec<f64>) -> (ResultValue, String) {
    let value = format!("[{}]", values.iter().map(|v| go_float(*v)).collect::<Vec<_>>().join(","));
    (ResultValue::Floats(values), value)
}

/// Go's `model.SampleValue.String()`: `strconv.FormatFloat(v, 'f', -1, 64)`, which is
/// the shortest decimal that round-trips and never an exponent (as Rust's `Display`),
/// with `NaN`, `+Inf` and `-Inf`.
pub(crate) fn go_float(v: f64) -> String {
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Parses `body` (status 200) and compares the value string and the result.
    #[track_caller]
    fn check(body: &str, value: &str, result: ResultValue) {
        let obs = parse_response(200, body.as_bytes()).unwrap_or_else(|e| panic!("{body}: {e:?}"));
        assert_eq!(obs.value, value, "{body}");
        let same = |a: f64, b: f64| a == b || (a.is_nan() && b.is_nan());
        let equal = match (&obs.result, &result) {
            (ResultValue::Float(a), ResultValue::Float(b)) => same(*a, *b),
            (ResultValue::Floats(a), ResultValue::Floats(b)) => {
                a.len() == b.len() && a.iter().zip(b).all(|(x, y)| same(*x, *y))
            }
            _ => false,
        };
        assert!(equal, "{body}: {:?} != {result:?}", obs.result);
    }

    #[track_caller]
    fn check_err(status: u16, body: &str, kind: ErrorKind, message: &str) {
        let err = parse_response(status, body.as_bytes()).expect_err(body);
        assert_eq!((err.kind(), err.message()), (kind, message), "{status} {body}");
    }

    fn vector(values: &[&str]) -> String {
        let samples: Vec<String> =
            values.iter().map(|v| format!(r#"{{"metric":{{}},"value":[1700000000.5,"{v}"]}}"#)).collect();
        format!(r#"{{"status":"success","data":{{"resultType":"vector","result":[{}]}}}}"#, samples.join(","))
    }

    fn scalar(v: &str) -> String {
        format!(r#"{{"status":"success","data":{{"resultType":"scalar","result":[1700000000,"{v}"]}}}}"#)
    }

    #[test]
    fn scalars_are_float64_with_go_formatting() {
        check(&scalar("10"), "10", ResultValue::Float(10.0));
        check(&scalar("0.25"), "0.25", ResultValue::Float(0.25));
        check(&scalar("NaN"), "NaN", ResultValue::Float(f64::NAN));
        check(&scalar("+Inf"), "+Inf", ResultValue::Float(f64::INFINITY));
        check(&scalar("Inf"), "+Inf", ResultValue::Float(f64::INFINITY));
        check(&scalar("-Inf"), "-Inf", ResultValue::Float(f64::NEG_INFINITY));
        check(&scalar("1e21"), "1000000000000000000000", ResultValue::Float(1e21));
        check(&scalar("1e-07"), "0.0000001", ResultValue::Float(1e-7));
        check(&scalar("-0"), "-0", ResultValue::Float(-0.0));
        check(&scalar("0.30000000000000004"), "0.30000000000000004", ResultValue::Float(0.1 + 0.2));
    }

    #[test]
    fn vectors_are_lists_and_empty_is_not_nil() {
        check(&vector(&["10", "11"]), "[10,11]", ResultValue::Floats(vec![10.0, 11.0]));
        check(
            &vector(&["NaN", "+Inf", "-Inf"]),
            "[NaN,+Inf,-Inf]",
            ResultValue::Floats(vec![f64::NAN, f64::INFINITY, f64::NEG_INFINITY]),
        );
        check(&vector(&[]), "[]", ResultValue::Floats(vec![]));
        check(
            r#"{"status":"success","data":{"resultType":"vector","result":null}}"#,
            "[]",
            ResultValue::Floats(vec![]),
        );
        // Go skips nil samples.
        check(
            r#"{"status":"success","data":{"resultType":"vector","result":[null,{"metric":{},"value":[1,"2"]}]}}"#,
            "[2]",
            ResultValue::Floats(vec![2.0]),
        );
    }

    #[test]
    fn matrices_are_flattened_in_order() {
        let body = r#"{"status":"success","data":{"resultType":"matrix","result":[
            {"metric":{"p":"a"},"values":[[1,"11"],[2,"12"]]},
            {"metric":{"p":"b"},"values":[[1,"13"],[2,"14"]]},
            {"metric":{"p":"c"},"histograms":[[1,{"count":"1","sum":"1"}]]}]}}"#;
        check(body, "[11,12,13,14]", ResultValue::Floats(vec![11.0, 12.0, 13.0, 14.0]));
        check(r#"{"status":"success","data":{"resultType":"matrix","result":[]}}"#, "[]", ResultValue::Floats(vec![]));
    }

    #[test]
    fn warnings_are_quoted_and_joined_as_argo_does() {
        let body = r#"{"status":"success","warnings":["warning","say \"hi\""],
            "data":{"resultType":"scalar","result":[1,"10"]}}"#;
        let obs = parse_response(200, body.as_bytes()).expect("ok");
        assert_eq!(obs.metadata.get("warnings").map(String::as_str), Some(r#""warning", "say "hi"""#));
        let obs = parse_response(200, scalar("1").as_bytes()).expect("ok");
        assert!(obs.metadata.is_empty());
    }

    #[test]
    fn unsupported_and_malformed_answers() {
        check_err(
            200,
            r#"{"status":"success","data":{"resultType":"string","result":[1,"foo"]}}"#,
            ErrorKind::Malformed,
            UNSUPPORTED,
        );
        check_err(
            200,
            r#"{"status":"success","data":{"resultType":"streams","result":[]}}"#,
            ErrorKind::Malformed,
            "bad_response: unexpected value type \"streams\"",
        );
        check_err(200, r#"{"status":"success"}"#, ErrorKind::Malformed, "bad_response: the response has no data");
        check_err(
            200,
            r#"{"status":"success","data":{"resultType":"scalar","result":[1,2]}}"#,
            ErrorKind::Malformed,
            "bad_response: expected a [timestamp, \"value\"] pair, got [1,2]",
        );
        check_err(
            200,
            r#"{"status":"success","data":{"resultType":"scalar","result":[1,"ten"]}}"#,
            ErrorKind::Malformed,
            "bad_response: invalid sample value \"ten\"",
        );
        let histogram = r#"{"status":"success","data":{"resultType":"vector","result":[
            {"metric":{},"histogram":[1,{"count":"1","sum":"1"}]}]}}"#;
        assert_eq!(parse_response(200, histogram.as_bytes()).unwrap_err().kind(), ErrorKind::Malformed);
        for body in ["", "<html>", "[1,2,3]", "\"s\"", "{\"status\":\"success\",\"data\":{"] {
            let err = parse_response(200, body.as_bytes()).expect_err(body);
            assert_eq!(err.kind(), ErrorKind::Malformed, "{body}");
            assert!(err.message().starts_with("bad_response: "), "{body}: {}", err.message());
        }
    }

    #[test]
    fn prometheus_errors_keep_client_golang_wording() {
        check_err(
            400,
            r#"{"status":"error","errorType":"bad_data","error":"invalid parameter \"query\": 1:5: parse error: unclosed left parenthesis"}"#,
            ErrorKind::Rejected,
            "bad_data: invalid parameter \"query\": 1:5: parse error: unclosed left parenthesis",
        );
        check_err(
            422,
            r#"{"status":"error","errorType":"execution","error":"many-to-many matching not allowed"}"#,
            ErrorKind::Rejected,
            "execution: many-to-many matching not allowed",
        );
        check_err(
            400,
            r#"{"status":"success","data":{}}"#,
            ErrorKind::Rejected,
            "bad_response: inconsistent body for response code 400",
        );
        check_err(400, "proxy says no", ErrorKind::Rejected, "client_error: client error: 400: proxy says no");
        check_err(
            404,
            "404 page not found\n",
            ErrorKind::Rejected,
            "client_error: client error: 404: 404 page not found",
        );
        check_err(401, "", ErrorKind::Auth, "client_error: client error: 401");
        check_err(403, "denied", ErrorKind::Auth, "client_error: client error: 403: denied");
        check_err(
            503,
            r#"{"status":"error","errorType":"timeout","error":"query timed out in expression evaluation"}"#,
            ErrorKind::Unavailable,
            r#"server_error: server error: 503: {"status":"error","errorType":"timeout","error":"query timed out in expression evaluation"}"#,
        );
        check_err(429, "slow down", ErrorKind::Unavailable, "client_error: client error: 429: slow down");
        check_err(302, "", ErrorKind::Rejected, "bad_response: bad response code 302");
    }

    #[test]
    fn go_float_parsing() {
        for (text, want) in [("1", 1.0), ("+1.5", 1.5), ("-2e3", -2000.0), (".5", 0.5), ("INF", f64::INFINITY)] {
            assert_eq!(parse_go_float(text), Some(want), "{text}");
        }
        assert!(parse_go_float("NaN").is_some_and(f64::is_nan));
        assert!(parse_go_float("nan").is_some_and(f64::is_nan));
        for bad in ["", "+", "-NaN", "ten", "1,5", "e5"] {
            assert_eq!(parse_go_float(bad), None, "{bad}");
        }
    }
}
