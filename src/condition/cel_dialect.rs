//! The CEL dialect (the `cel` crate) with Argo's six helpers.
//!
//! CEL differs from expr where the CEL specification says so (no implicit int/double
//! arithmetic, `size()` instead of `len()`); the helpers behave as Argo's do, including
//! `isNil(_)`/`default(_, d)` looking at the whole result. CEL raises an error when a
//! NaN is compared; augur follows the CEL specification instead and makes every
//! ordered comparison with NaN false, the same truth table as expr.

use std::sync::Arc;

use augur_provider_api::ResultValue;
use cel::{Context, ExecutionError, FunctionContext, Program, Value};

use super::helpers::{as_float_str, as_int_float, as_int_str};

/// A result converted once per measurement.
#[derive(Debug)]
pub(super) struct PreparedResult {
    value: Value,
}

pub(super) fn prepare(result: &ResultValue) -> PreparedResult {
    let value = match result {
        ResultValue::Nil => Value::Null,
        ResultValue::Float(f) => Value::Float(*f),
        ResultValue::Floats(v) => Value::List(Arc::new(v.iter().map(|f| Value::Float(*f)).collect())),
        ResultValue::String(s) => Value::String(Arc::new(s.clone())),
        ResultValue::Json(v) | ResultValue::Typed { value: v, .. } => json_to_cel(v),
    };
    PreparedResult { value }
}

fn json_to_cel(v: &serde_json::Value) -> Value {
    match v {
        serde_json::Value::Null => Value::Null,
        serde_json::Value::Bool(b) => Value::Bool(*b),
        serde_json::Value::Number(n) => Value::Float(n.as_f64().unwrap_or(f64::NAN)),
        serde_json::Value::String(s) => Value::String(Arc::new(s.clone())),
        serde_json::Value::Array(items) => Value::List(Arc::new(items.iter().map(json_to_cel).collect())),
        serde_json::Value::Object(map) => {
            let m: std::collections::HashMap<String, Value> =
                map.iter().map(|(k, v)| (k.clone(), json_to_cel(v))).collect();
            Value::from(m)
        }
    }
}

/// One compiled CEL condition.
pub(super) struct CelCondition {
    source: String,
    program: Result<Program, String>,
}

impl std::fmt::Debug for CelCondition {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CelCondition").field("source", &self.source).finish_non_exhaustive()
    }
}

impl CelCondition {
    pub(super) fn new(source: &str) -> CelCondition {
        let program = Program::compile(source).map_err(|e| one_line(&e.to_string()));
        CelCondition { source: source.to_string(), program }
    }

    pub(super) fn syntax_error(&self) -> Option<String> {
        self.program.as_ref().err().cloned()
    }

    pub(super) fn eval_bool(&self, prepared: &PreparedResult) -> Result<bool, String> {
        let program = self.program.as_ref().map_err(Clone::clone)?;
        ROOT.with(|root| {
            let mut scope = root.new_inner_scope();
            scope.add_variable_from_value("result", prepared.value.clone());
            match program.execute(&scope) {
                Ok(Value::Bool(b)) => Ok(b),
                Ok(other) => Err(format!("expected bool, but got {:?}", other.type_of())),
                Err(e) => nan_comparison(&prepared.value, &e).map_or_else(|| Err(exec_error(&e)), Ok),
            }
        })
    }
}

/// CEL implementations raise an error for `NaN < x`; the CEL specification (and expr)
/// make such comparisons false. When the result holds a NaN and the failure is a
/// "no such overload" or "not comparable" error, the comparison is false.
fn nan_comparison(result: &Value, error: &ExecutionError) -> Option<bool> {
    let text = error.to_string();
    let is_cmp =
        text.contains("not comparable") || text.contains("no matching overload") || text.contains("no such overload");
    (is_cmp && contains_nan(result)).then_some(false)
}

fn contains_nan(v: &Value) -> bool {
    match v {
        Value::Float(f) => f.is_nan(),
        Value::List(items) => items.iter().any(contains_nan),
        Value::Map(m) => m.map.values().any(contains_nan),
        _ => false,
    }
}

fn exec_error(e: &ExecutionError) -> String {
    one_line(&e.to_string())
}

fn one_line(s: &str) -> String {
    s.lines().map(str::trim).filter(|l| !l.is_empty()).collect::<Vec<_>>().join(" ")
}

fn result_of(ftx: &FunctionContext) -> Value {
    ftx.ptx.get_variable("result").and_then(|v| Value::try_from(&*v).ok()).unwrap_or(Value::Null)
}

fn build_root() -> Context<'static, 'static> {
    let mut ctx = Context::default();
    let add = |ctx: &mut Context<'static, 'static>, r: Result<(), cel::DeclarationError>| {
        if let Err(error) = r {
            // Only reachable if a future `cel` release declares one of these names itself.
            tracing::warn!(message = "CEL helper not registered.", %error);
        }
        let _ = ctx;
    };
    let r = ctx.add_function("asInt", |ftx: &FunctionContext, v: Value| -> Result<i64, ExecutionError> {
        match v {
            Value::Int(i) => Ok(i),
            Value::UInt(u) => Ok(u as i64),
            Value::Float(f) => Ok(as_int_float(f)),
            Value::String(s) => as_int_str(&s).map_err(|e| ftx.error(e)),
            other => Err(ftx.error(format!("asInt() not supported on {:?}", other.type_of()))),
        }
    });
    add(&mut ctx, r);
    let r = ctx.add_function("asFloat", |ftx: &FunctionContext, v: Value| -> Result<f64, ExecutionError> {
        match v {
            Value::Int(i) => Ok(i as f64),
            Value::UInt(u) => Ok(u as f64),
            Value::Float(f) => Ok(f),
            Value::String(s) => as_float_str(&s).map_err(|e| ftx.error(e)),
            other => Err(ftx.error(format!("asFloat() not supported on {:?}", other.type_of()))),
        }
    });
    add(&mut ctx, r);
    let r = ctx.add_function("isNaN", |ftx: &FunctionContext, v: Value| -> Result<bool, ExecutionError> {
        match v {
            Value::Float(f) => Ok(f.is_nan()),
            Value::Int(_) | Value::UInt(_) => Ok(false),
            other => Err(ftx.error(format!("isNaN() expects a double, got {:?}", other.type_of()))),
        }
    });
    add(&mut ctx, r);
    let r = ctx.add_function("isInf", |ftx: &FunctionContext, v: Value| -> Result<bool, ExecutionError> {
        match v {
            Value::Float(f) => Ok(f.is_infinite()),
            Value::Int(_) | Value::UInt(_) => Ok(false),
            other => Err(ftx.error(format!("isInf() expects a double, got {:?}", other.type_of()))),
        }
    });
    add(&mut ctx, r);
    let r =
        ctx.add_function("isNil", |ftx: &FunctionContext, _v: Value| -> bool { matches!(result_of(ftx), Value::Null) });
    add(&mut ctx, r);
    let r = ctx.add_function("default", |ftx: &FunctionContext, _v: Value, d: Value| -> Value {
        match result_of(ftx) {
            Value::Null => d,
            other => other,
        }
    });
    add(&mut ctx, r);
    ctx
}

thread_local! {
    static ROOT: Context<'static, 'static> = build_root();
}
