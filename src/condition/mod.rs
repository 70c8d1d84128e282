//! Success and failure conditions: Argo's `EvaluateResult`, in two dialects.
//!
//! * [`Dialect::Expr`] (the default) is expr-lang as Argo runs it, through the
//!   `augur-expr` crate, statically typed against the Go type of `result`.
//! * [`Dialect::Cel`] is CEL (the `cel` crate), for users who prefer it. The same six
//!   helpers exist with the same quirks.
//!
//! A condition is parsed once per metric; the typed program is cached per result type
//! (a metric's provider nearly always returns the same type), so a measurement costs one
//! conversion of the result and one evaluation per condition.
//!
//! This module is pure: no IO, no clock (the time `now()` returns is an argument).

mod cel_dialect;
mod helpers;
pub use helpers::go_float_f;
mod expr_dialect;

use std::fmt;
use std::sync::Arc;

use augur_provider_api::ResultValue;

use crate::model::Phase;

/// The condition language of a template.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Dialect {
    /// expr-lang, exactly as Argo Rollouts evaluates it.
    #[default]
    Expr,
    /// The Common Expression Language.
    Cel,
}

impl Dialect {
    /// The dialect's name as written in templates and flags.
    pub fn as_str(self) -> &'static str {
        match self {
            Dialect::Expr => "expr",
            Dialect::Cel => "cel",
        }
    }
}

impl std::str::FromStr for Dialect {
    type Err = String;
    fn from_str(s: &str) -> Result<Dialect, String> {
        match s {
            "expr" => Ok(Dialect::Expr),
            "cel" => Ok(Dialect::Cel),
            other => Err(format!("unknown condition dialect {other:?} (expected expr or cel)")),
        }
    }
}

impl fmt::Display for Dialect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Which of the two conditions an error came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Which {
    /// `successCondition`.
    Success,
    /// `failureCondition`.
    Failure,
}

impl Which {
    fn field(self) -> &'static str {
        match self {
            Which::Success => "successCondition",
            Which::Failure => "failureCondition",
        }
    }
}

/// One compiled condition in either dialect.
#[derive(Debug)]
enum Compiled {
    Expr(expr_dialect::ExprCondition),
    Cel(cel_dialect::CelCondition),
}

impl Compiled {
    fn new(dialect: Dialect, source: &str) -> Compiled {
        match dialect {
            Dialect::Expr => Compiled::Expr(expr_dialect::ExprCondition::new(source)),
            Dialect::Cel => Compiled::Cel(cel_dialect::CelCondition::new(source)),
        }
    }

    fn syntax_error(&self) -> Option<String> {
        match self {
            Compiled::Expr(c) => c.syntax_error(),
            Compiled::Cel(c) => c.syntax_error(),
        }
    }
}

/// A metric's two conditions, compiled once and evaluated per measurement.
#[derive(Debug, Clone)]
pub struct Conditions {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    dialect: Dialect,
    success: Option<(String, Compiled)>,
    failure: Option<(String, Compiled)>,
}

/// The outcome of evaluating a result: Argo's measurement phase and, for Error, the
/// message.
#[derive(Debug, Clone, PartialEq)]
pub struct Evaluation {
    /// Successful, Failed, Inconclusive or Error.
    pub phase: Phase,
    /// The error message when `phase` is Error, else empty.
    pub message: String,
}

impl Conditions {
    /// Compiles both conditions. An empty string means "not set", as in Argo.
    pub fn new(dialect: Dialect, success: &str, failure: &str) -> Conditions {
        let compile = |s: &str| (!s.is_empty()).then(|| (s.to_string(), Compiled::new(dialect, s)));
        Conditions { inner: Arc::new(Inner { dialect, success: compile(success), failure: compile(failure) }) }
    }

    /// The dialect.
    pub fn dialect(&self) -> Dialect {
        self.inner.dialect
    }

    /// Syntax errors found without a result (for `lint`): `(field, message)`.
    pub fn syntax_errors(&self) -> Vec<(&'static str, String)> {
        let mut out = Vec::new();
        for (which, c) in [(Which::Success, &self.inner.success), (Which::Failure, &self.inner.failure)] {
            if let Some((_, c)) = c
                && let Some(e) = c.syntax_error()
            {
                out.push((which.field(), e));
            }
        }
        out
    }

    /// Argo's `EvaluateResult`: the phase a measurement with this `result` gets.
    ///
    /// `now_nanos` is what `now()` returns inside the conditions.
    pub fn evaluate(&self, result: &ResultValue, now_nanos: i64) -> Evaluation {
        let inner = &*self.inner;
        let mut succ = false;
        let mut fail = false;
        let prepared = match inner.dialect {
            Dialect::Expr => Prepared::Expr(expr_dialect::prepare(result, now_nanos)),
            Dialect::Cel => Prepared::Cel(cel_dialect::prepare(result)),
        };
        for (which, slot) in [(Which::Success, &inner.success), (Which::Failure, &inner.failure)] {
            let Some((source, compiled)) = slot else { continue };
            let outcome = match (compiled, &prepared) {
                (Compiled::Expr(c), Prepared::Expr(p)) => c.eval_bool(p),
                (Compiled::Cel(c), Prepared::Cel(p)) => c.eval_bool(p),
                _ => Err("internal error: dialect mismatch".to_string()),
            };
            match outcome {
                Ok(b) => match which {
                    Which::Success => succ = b,
                    Which::Failure => fail = b,
                },
                Err(message) => {
                    return Evaluation {
                        phase: Phase::Error,
                        message: format_eval_error(which, source, &message, result),
                    };
                }
            }
        }
        match (&inner.success, &inner.failure) {
            (None, None) => return Evaluation { phase: Phase::Successful, message: String::new() },
            (Some(_), None) => fail = !succ,
            (None, Some(_)) => succ = !fail,
            (Some(_), Some(_)) => {}
        }
        let phase = if fail {
            Phase::Failed
        } else if !succ {
            Phase::Inconclusive
        } else {
            Phase::Successful
        };
        Evaluation { phase, message: String::new() }
    }
}

enum Prepared {
    Expr(expr_dialect::PreparedResult),
    Cel(cel_dialect::PreparedResult),
}

/// Argo's `formatEvalError`: a nil or empty result replaces the cause with a hint.
fn format_eval_error(which: Which, source: &str, cause: &str, result: &ResultValue) -> String {
    if is_nil_or_empty(result) {
        format!(
            "could not evaluate {} \"{source}\": metric result is nil or empty: no data returned from the metric provider",
            which.field()
        )
    } else {
        format!("could not evaluate {} \"{source}\": {cause}", which.field())
    }
}

/// Argo's `isNil` on the whole result: Go nil, or a nil pointer/map/slice.
pub fn is_nil(result: &ResultValue) -> bool {
    match result {
        ResultValue::Nil => true,
        ResultValue::Json(v) | ResultValue::Typed { value: v, .. } => v.is_null(),
        _ => false,
    }
}

/// Argo's `isNilOrEmpty`: nil, or an empty slice or array (an empty string is not).
fn is_nil_or_empty(result: &ResultValue) -> bool {
    match result {
        ResultValue::Floats(v) => v.is_empty(),
        ResultValue::Json(serde_json::Value::Array(a)) => a.is_empty(),
        ResultValue::Typed { value: serde_json::Value::Array(a), .. } => a.is_empty(),
        other => is_nil(other),
    }
}

/// Parses a result given on the command line or in a simulation script: JSON, typed as
/// the web provider would type it, except that a bare number is a Go `float64` and an
/// array of numbers a `[]float64` (the Prometheus shapes, which most conditions are
/// written for).
pub fn result_from_json(value: &serde_json::Value) -> ResultValue {
    match value {
        serde_json::Value::Null => ResultValue::Nil,
        serde_json::Value::Number(n) => ResultValue::Float(n.as_f64().unwrap_or(f64::NAN)),
        serde_json::Value::Array(items) if items.iter().all(serde_json::Value::is_number) => {
            ResultValue::Floats(items.iter().map(|v| v.as_f64().unwrap_or(f64::NAN)).collect())
        }
        serde_json::Value::String(s) => match s.as_str() {
            "NaN" => ResultValue::Float(f64::NAN),
            "+Inf" | "Inf" => ResultValue::Float(f64::INFINITY),
            "-Inf" => ResultValue::Float(f64::NEG_INFINITY),
            _ => ResultValue::Json(value.clone()),
        },
        other => ResultValue::Json(other.clone()),
    }
}

#[cfg(test)]
mod tests;
