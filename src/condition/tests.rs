//! Conditions, written from reference §2.1–§2.2 (Argo's `EvaluateResult` and helpers).

use augur_provider_api::ResultValue;

use super::*;

#[track_caller]
fn check(dialect: Dialect, result: ResultValue, success: &str, failure: &str, phase: Phase, message: &str) {
    let e = Conditions::new(dialect, success, failure).evaluate(&result, 0);
    assert_eq!((e.phase, e.message.as_str()), (phase, message), "{success:?} / {failure:?} on {result:?}");
}

fn expr(result: ResultValue, success: &str, failure: &str, phase: Phase) {
    check(Dialect::Expr, result, success, failure, phase, "");
}

fn f(v: f64) -> ResultValue {
    ResultValue::Float(v)
}

fn fs(v: &[f64]) -> ResultValue {
    ResultValue::Floats(v.to_vec())
}

fn json(s: &str) -> ResultValue {
    ResultValue::Json(serde_json::from_str(s).expect("test JSON"))
}

// §2.1 truth table.
#[test]
fn truth_table() {
    use Phase::*;
    expr(f(1.0), "", "", Successful);
    expr(f(1.0), "result > 0", "", Successful);
    expr(f(0.0), "result > 0", "", Failed);
    expr(f(0.0), "", "result > 0", Successful);
    expr(f(1.0), "", "result > 0", Failed);
    expr(f(1.0), "result > 0", "result > 0", Failed); // failure wins
    expr(f(1.0), "result > 0", "result < 0", Successful);
    expr(f(0.0), "result > 0", "result < 0", Inconclusive);
    expr(f(0.0), "result > 0", "result > 5", Inconclusive);
}

// §2.2 NaN compares false to everything.
#[test]
fn nan_semantics() {
    use Phase::*;
    let nan = f(f64::NAN);
    expr(nan.clone(), "result >= 0.9", "", Failed);
    expr(nan.clone(), "result >= 0.9", "result < 0.9", Inconclusive);
    expr(nan.clone(), "isNaN(result)", "", Successful);
    expr(nan.clone(), "result != result", "", Successful);
    expr(f(f64::INFINITY), "isInf(result)", "", Successful);
    expr(f(f64::NEG_INFINITY), "isInf(result)", "", Successful);
    expr(f(1.0), "isInf(result) || isNaN(result)", "", Failed);
}

#[test]
fn vectors_and_indexing() {
    use Phase::*;
    expr(fs(&[0.995]), "result[0] >= 0.99", "", Successful);
    expr(fs(&[0.5, 0.999]), "result[-1] >= 0.99", "", Successful);
    expr(fs(&[0.5, 0.6]), "all(result, {# < 1})", "", Successful);
    expr(fs(&[]), "len(result) == 0 || result[0] < 1", "", Successful);
}

#[test]
fn empty_or_nil_result_errors_name_no_data() {
    check(
        Dialect::Expr,
        fs(&[]),
        "result[0] >= 0.95",
        "",
        Phase::Error,
        "could not evaluate successCondition \"result[0] >= 0.95\": metric result is nil or empty: no data returned from the metric provider",
    );
    check(
        Dialect::Expr,
        ResultValue::Nil,
        "",
        "result > 1",
        Phase::Error,
        "could not evaluate failureCondition \"result > 1\": metric result is nil or empty: no data returned from the metric provider",
    );
}

// §0.8 isNil and default ignore their argument; an empty list is not nil.
#[test]
fn is_nil_and_default_quirks() {
    use Phase::*;
    expr(ResultValue::Nil, "default(result, 0) < 0.05", "", Successful);
    expr(ResultValue::Nil, "default(result, 1) < 0.05", "", Failed);
    expr(f(0.01), "default(result, 1) < 0.05", "", Successful);
    expr(ResultValue::Nil, "isNil(result)", "", Successful);
    expr(ResultValue::Nil, "isNil(123)", "", Successful); // argument ignored
    expr(f(1.0), "isNil(nil)", "", Failed); // argument ignored
    expr(fs(&[]), "isNil(result)", "", Failed); // empty slice is not nil
}

#[test]
fn helpers_as_int_as_float() {
    use Phase::*;
    expr(ResultValue::String("42".into()), "asInt(result) == 42", "", Successful);
    expr(ResultValue::String("1.5".into()), "asFloat(result) == 1.5", "", Successful);
    expr(f(2.9), "asInt(result) == 2", "", Successful);
    check(
        Dialect::Expr,
        ResultValue::String("1.1".into()),
        "asInt(result) == 1",
        "",
        Error,
        "could not evaluate successCondition \"asInt(result) == 1\": strconv.ParseInt: parsing \"1.1\": invalid syntax",
    );
    check(
        Dialect::Expr,
        ResultValue::String("NotANum".into()),
        "asFloat(result) > 1",
        "",
        Error,
        "could not evaluate successCondition \"asFloat(result) > 1\": strconv.ParseFloat: parsing \"NotANum\": invalid syntax",
    );
}

// §0.9 static typing: a typed result makes mismatches compile errors (Error), an `any`
// result defers them to run time.
#[test]
fn static_type_errors_are_error_phase() {
    let e = Conditions::new(Dialect::Expr, "asFloat(result) == \"1.1\"", "").evaluate(&f(1.1), 0);
    assert_eq!(e.phase, Phase::Error);
    assert!(e.message.contains("mismatched types float64 and string"), "{}", e.message);
    let e = Conditions::new(Dialect::Expr, "result == \"1\"", "").evaluate(&f(1.0), 0);
    assert_eq!(e.phase, Phase::Error);
    // A web JSON field is `any`: the comparison is only false at run time.
    expr(json(r#"{"a": 1}"#), "result.a == \"1\"", "", Phase::Failed);
}

#[test]
fn output_must_be_bool() {
    check(
        Dialect::Expr,
        f(1.0),
        "result + 1",
        "",
        Phase::Error,
        "could not evaluate successCondition \"result + 1\": expected bool, but got float64",
    );
}

#[test]
fn web_json_results() {
    use Phase::*;
    expr(
        json(r#"{"status": "ok", "latency": 120}"#),
        "result.status == \"ok\" && result.latency < 200",
        "",
        Successful,
    );
    expr(json(r#""ok""#), "result == \"ok\"", "", Successful);
    expr(json("true"), "result", "", Successful);
    expr(ResultValue::String("plain".into()), "result == \"plain\"", "", Successful);
}

#[test]
fn cel_dialect_has_the_helpers() {
    use Phase::*;
    let cel = |r: ResultValue, s: &str, p: Phase| check(Dialect::Cel, r, s, "", p, "");
    cel(fs(&[0.995]), "result[0] >= 0.99", Successful);
    cel(f(f64::NAN), "isNaN(result)", Successful);
    cel(f(f64::NAN), "result >= 0.9", Failed);
    cel(ResultValue::Nil, "default(result, 0.0) < 0.05", Successful);
    cel(ResultValue::Nil, "isNil(1)", Successful);
    cel(json(r#"{"ok": true, "latency": 120.0}"#), "result.ok == true && result.latency < 200.0", Successful);
    cel(ResultValue::String("7".into()), "asInt(result) == 7", Successful);
}

#[test]
fn result_from_cli_json() {
    assert_eq!(result_from_json(&serde_json::json!(0.5)), f(0.5));
    assert_eq!(result_from_json(&serde_json::json!([1, 2])), fs(&[1.0, 2.0]));
    assert_eq!(result_from_json(&serde_json::json!(null)), ResultValue::Nil);
    assert!(matches!(result_from_json(&serde_json::json!("NaN")), ResultValue::Float(x) if x.is_nan()));
}
