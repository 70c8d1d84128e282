//! GetMetricData's answer → what the conditions see, the measurement value and metadata.
//!
//! Pure functions over [`DataResult`], a plain copy of the SDK's `MetricDataResult`, so
//! that the shape Argo hands to expr (Go's `[]types.MetricDataResult`) is tested without
//! a server.

use std::collections::BTreeMap;

use augur_provider_api::{Observation, ResultValue, Schema};
use serde_json::{Map, Value};

/// One `MetricDataResult`, with Go's zero values where the service sent nothing.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct DataResult {
    /// `Id` (a Go `*string`: `None` is nil).
    pub(crate) id: Option<String>,
    /// `Label` (a Go `*string`).
    pub(crate) label: Option<String>,
    /// `Messages`.
    pub(crate) messages: Vec<Message>,
    /// `StatusCode` (a Go string enum: `Complete`, `PartialData`, …; "" when absent).
    pub(crate) status_code: String,
    /// `Timestamps`, as RFC 3339 strings (UTC).
    pub(crate) timestamps: Vec<String>,
    /// `Values`.
    pub(crate) values: Vec<f64>,
}

/// One `MessageData` (`Code`, `Value`, both Go `*string`).
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Message {
    pub(crate) code: Option<String>,
    pub(crate) value: Option<String>,
}

/// The static Go type of a CloudWatch `result`: `[]types.MetricDataResult`.
///
/// Go's `*string` fields are described as `string` (expr dereferences pointer fields);
/// the unexported `noSmithyDocumentSerde` field is invisible to expr and left out.
pub fn result_schema() -> Schema {
    let message = Schema::Struct(vec![("Code".to_string(), Schema::String), ("Value".to_string(), Schema::String)]);
    Schema::List(Box::new(Schema::Struct(vec![
        ("Id".to_string(), Schema::String),
        ("Label".to_string(), Schema::String),
        ("Messages".to_string(), Schema::List(Box::new(message))),
        ("StatusCode".to_string(), Schema::String),
        ("Timestamps".to_string(), Schema::List(Box::new(Schema::Time))),
        ("Values".to_string(), Schema::List(Box::new(Schema::Float))),
    ])))
}

/// Argo's measurement for one GetMetricData answer: `result` = the results as Go's
/// structs, `value` = `fmt.Sprintf("%+v", [][]float64{…Values})`, and
/// `metadata.messages` = the top-level `Messages` when there are any.
pub(crate) fn observe(results: &[DataResult], messages: &[Message]) -> Observation {
    let value = format!(
        "[{}]",
        results
            .iter()
            .map(|r| format!("[{}]", r.values.iter().map(|v| go_float(*v)).collect::<Vec<_>>().join(" ")))
            .collect::<Vec<_>>()
            .join(" ")
    );
    let mut metadata = BTreeMap::new();
    if !messages.is_empty() {
        metadata.insert("messages".to_string(), go_messages(messages));
    }
    let json = Value::Array(results.iter().map(result_json).collect());
    Observation { result: ResultValue::Typed { value: json, schema: result_schema() }, value, metadata }
}

fn opt_string(s: &Option<String>) -> Value {
    s.as_ref().map_or(Value::Null, |s| Value::String(s.clone()))
}

fn result_json(r: &DataResult) -> Value {
    let mut obj = Map::new();
    obj.insert("Id".to_string(), opt_string(&r.id));
    obj.insert("Label".to_string(), opt_string(&r.label));
    obj.insert(
        "Messages".to_string(),
        Value::Array(
            r.messages
                .iter()
                .map(|m| {
                    let mut msg = Map::new();
                    msg.insert("Code".to_string(), opt_string(&m.code));
                    msg.insert("Value".to_string(), opt_string(&m.value));
                    Value::Object(msg)
                })
                .collect(),
        ),
    );
    obj.insert("StatusCode".to_string(), Value::String(r.status_code.clone()));
    obj.insert("Timestamps".to_string(), Value::Array(r.timestamps.iter().cloned().map(Value::String).collect()));
    // JSON has no NaN or infinity; CloudWatch never sends them (a missing point is left
    // out), so a non-finite value here would be an SDK oddity and reads as nil.
    obj.insert(
        "Values".to_string(),
        Value::Array(
            r.values.iter().map(|v| serde_json::Number::from_f64(*v).map_or(Value::Null, Value::Number)).collect(),
        ),
    );
    Value::Object(obj)
}

/// `fmt.Sprintf("%+v", []types.MessageData{…})`, except that Go prints the addresses of
/// the `*string` fields (`{Code:0xc000123 …}`); augur prints the strings they point to.
fn go_messages(messages: &[Message]) -> String {
    let show = |s: &Option<String>| s.clone().unwrap_or_else(|| "<nil>".to_string());
    format!(
        "[{}]",
        messages
            .iter()
            .map(|m| format!("{{Code:{} Value:{}}}", show(&m.code), show(&m.value)))
            .collect::<Vec<_>>()
            .join(" ")
    )
}

/// A `float64` as Go's `%v` prints it: `strconv.FormatFloat(v, 'g', -1, 64)`, i.e. the
/// shortest round-trip digits, in `%e` form when the exponent is < -4 or >= 6
/// (`1e+06`, `1.234567e+06`, `1e-05`), otherwise plain (`100000`, `0.0001`).
pub(crate) fn go_float(v: f64) -> String {
    if v.is_nan() {
        return "NaN".to_string();
    }
    if v.is_infinite() {
        return if v > 0.0 { "+Inf" } else { "-Inf" }.to_string();
    }
    if v == 0.0 {
        return if v.is_sign_negative() { "-0" } else { "0" }.to_string();
    }
    // Rust's `{:e}` without a precision prints the shortest round-trip digits.
    let sci = format!("{v:e}");
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let negative = mantissa.starts_with('-');
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    let mut out = String::new();
    if negative {
        out.push('-');
    }
    if !(-4..6).contains(&exp) {
        out.push_str(&digits[..1]);
        if digits.len() > 1 {
            out.push('.');
            out.push_str(&digits[1..]);
        }
        out.push('e');
        out.push(if exp < 0 { '-' } else { '+' });
        out.push_str(&format!("{:02}", exp.unsigned_abs()));
    } else if exp < 0 {
        out.push_str("0.");
        for _ in 0..(-exp - 1) {
            out.push('0');
        }
        out.push_str(&digits);
    } else {
        let point = usize::try_from(exp).unwrap_or(0) + 1;
        if digits.len() <= point {
            out.push_str(&digits);
            for _ in digits.len()..point {
                out.push('0');
            }
        } else {
            out.push_str(&digits[..point]);
            out.push('.');
            out.push_str(&digits[point..]);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[track_caller]
    fn check_float(v: f64, expect: &str) {
        assert_eq!(go_float(v), expect, "{v:?}");
    }

    #[test]
    fn floats_print_as_go_percent_v() {
        check_float(0.1, "0.1");
        check_float(100.0, "100");
        check_float(123456.0, "123456");
        check_float(1e6, "1e+06");
        check_float(1234567.0, "1.234567e+06");
        check_float(0.0001, "0.0001");
        check_float(0.00001, "1e-05");
        check_float(-2.5, "-2.5");
        check_float(1e21, "1e+21");
        check_float(1.5e-300, "1.5e-300");
        check_float(0.0, "0");
        check_float(-0.0, "-0");
        check_float(f64::NAN, "NaN");
        check_float(f64::INFINITY, "+Inf");
        check_float(f64::NEG_INFINITY, "-Inf");
        check_float(1.0 / 3.0, "0.3333333333333333");
    }

    fn result(id: &str, values: &[f64]) -> DataResult {
        DataResult {
            id: Some(id.to_string()),
            label: Some(format!("{id} label")),
            messages: vec![],
            status_code: "Complete".to_string(),
            timestamps: values.iter().map(|_| "2023-11-14T22:13:20Z".to_string()).collect(),
            values: values.to_vec(),
        }
    }

    #[test]
    fn value_is_go_percent_v_of_the_value_lists() {
        // Argo's own test: `[[0.1 0.2 0.3]]`.
        assert_eq!(observe(&[result("a", &[0.1, 0.2, 0.3])], &[]).value, "[[0.1 0.2 0.3]]");
        assert_eq!(observe(&[result("a", &[1.0]), result("b", &[])], &[]).value, "[[1] []]");
        assert_eq!(observe(&[], &[]).value, "[]");
    }

    #[test]
    fn result_has_go_field_names_and_schema() {
        let mut r = result("m1", &[1.5]);
        r.messages = vec![Message { code: Some("ArbitraryCode".to_string()), value: None }];
        r.label = None;
        let obs = observe(&[r], &[]);
        let ResultValue::Typed { value, schema } = obs.result else { panic!("typed result expected") };
        assert_eq!(schema, result_schema());
        assert_eq!(
            value,
            serde_json::json!([{
                "Id": "m1",
                "Label": null,
                "Messages": [{"Code": "ArbitraryCode", "Value": null}],
                "StatusCode": "Complete",
                "Timestamps": ["2023-11-14T22:13:20Z"],
                "Values": [1.5],
            }])
        );
        assert!(obs.metadata.is_empty());
    }

    #[test]
    fn top_level_messages_go_to_metadata() {
        let messages = [
            Message { code: Some("MaxQueryTimeRangeExceed".to_string()), value: Some("too long".to_string()) },
            Message { code: None, value: Some("x".to_string()) },
        ];
        let obs = observe(&[], &messages);
        assert_eq!(obs.metadata["messages"], "[{Code:MaxQueryTimeRangeExceed Value:too long} {Code:<nil> Value:x}]");
    }
}
