//! The CEL dialect (the `cel` crate) with Argo's six helpers.
//!
//! CEL differs from expr where the CEL specification says so (no implicit int/double
//! arithmetic, `size()` instead of `len()`); the helpers behave as Argo's do, including
//! `isNil(_)`/`default(_, d)` looking at the whole result. CEL raises an error when a
//! NaN is compared; augur follows the CEL specification instead and makes every
//! ordered comparison with NaN false, the same truth table as expr.

use std::cmp::Ordering;
use std::sync::Arc;

use augur_provider_api::ResultValue;
use cel::common::ast::{EntryExpr, Expr, IdedExpr, MapExpr, StructExpr, operators};
use cel::common::types::{CelBool, CelDouble, CelInt, CelUInt};
use cel::common::value::{CowVal, Val};
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
    /// The parsed expression, its ordered comparisons rewritten by [`nan_safe`].
    expression: Result<IdedExpr, String>,
}

impl std::fmt::Debug for CelCondition {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CelCondition").field("source", &self.source).finish_non_exhaustive()
    }
}

impl CelCondition {
    pub(super) fn new(source: &str) -> CelCondition {
        let expression = Program::compile(source)
            .map(|program| nan_safe(program.expression().clone()))
            .map_err(|e| one_line(&e.to_string()));
        CelCondition { source: source.to_string(), expression }
    }

    pub(super) fn syntax_error(&self) -> Option<String> {
        self.expression.as_ref().err().cloned()
    }

    pub(super) fn eval_bool(&self, prepared: &PreparedResult) -> Result<bool, String> {
        let expression = self.expression.as_ref().map_err(Clone::clone)?;
        ROOT.with(|root| {
            let mut scope = root.new_inner_scope();
            scope.add_variable_from_value("result", prepared.value.clone());
            match Value::resolve(expression, &scope) {
                Ok(Value::Bool(b)) => Ok(b),
                Ok(other) => Err(format!("expected bool, but got {:?}", other.type_of())),
                Err(e) => Err(exec_error(&e)),
            }
        })
    }
}

/// The orderings for which a comparison holds.
type Holds = fn(Ordering) -> bool;

/// The ordered comparison operators, each with the function (registered in [`ROOT`])
/// that stands for it and the orderings for which it holds. The function names are
/// not identifiers, so no condition can call them or collide with them.
const ORDERED: [(&str, &str, Holds); 4] = [
    (operators::LESS, "augur@_<_", Ordering::is_lt),
    (operators::LESS_EQUALS, "augur@_<=_", Ordering::is_le),
    (operators::GREATER, "augur@_>_", Ordering::is_gt),
    (operators::GREATER_EQUALS, "augur@_>=_", Ordering::is_ge),
];

/// The `cel` interpreter raises an error for `NaN < x`; the CEL specification (and
/// expr) make such a comparison false, so that `!(result >= 0.9)` is true for a NaN.
/// The interpreter evaluates the four operators itself, so every call to one of them,
/// wherever it is in the expression, is rewritten into a call to its [`ORDERED`]
/// function, which compares as the interpreter does except for NaN.
fn nan_safe(mut expr: IdedExpr) -> IdedExpr {
    rewrite(&mut expr);
    expr
}

fn rewrite(expr: &mut IdedExpr) {
    match &mut expr.expr {
        Expr::Unspecified | Expr::Ident(_) | Expr::Literal(_) => {}
        Expr::Call(call) => {
            if call.target.is_none()
                && call.args.len() == 2
                && let Some((_, name, _)) = ORDERED.iter().find(|(op, _, _)| call.func_name == *op)
            {
                call.func_name = (*name).to_string();
            }
            if let Some(target) = &mut call.target {
                rewrite(target);
            }
            call.args.iter_mut().for_each(rewrite);
        }
        Expr::Comprehension(c) => {
            for e in [&mut c.iter_range, &mut c.accu_init, &mut c.loop_cond, &mut c.loop_step, &mut c.result] {
                rewrite(e);
            }
        }
        Expr::List(list) => list.elements.iter_mut().for_each(rewrite),
        Expr::Select(select) => rewrite(&mut select.operand),
        Expr::Map(MapExpr { entries }) | Expr::Struct(StructExpr { entries, .. }) => {
            for entry in entries {
                match &mut entry.expr {
                    EntryExpr::MapEntry(e) => {
                        rewrite(&mut e.key);
                        rewrite(&mut e.value);
                    }
                    EntryExpr::StructField(f) => rewrite(&mut f.value),
                }
            }
        }
    }
}

/// A function as the `cel` crate stores it, taking its arguments unconverted.
type RawFunction =
    Box<dyn for<'c, 'v> Fn(&mut FunctionContext<'c, 'v>) -> Result<CowVal<'c, 'v>, ExecutionError> + Send + Sync>;

/// The function standing for the ordered comparison `operator`: the interpreter's own
/// comparison (`compare_values` in the `cel` crate), with the same errors, naming
/// `operator`, except that a NaN compared with a number is `false`.
fn ordered_comparison(operator: &'static str, holds: Holds) -> RawFunction {
    Box::new(move |ftx: &mut FunctionContext| {
        let [lhs, rhs] = ftx.args.as_slice() else {
            return Err(ExecutionError::invalid_argument_count(2, ftx.args.len()));
        };
        let (lhs, rhs): (&dyn Val, &dyn Val) = (&**lhs, &**rhs);
        let no_overload = || {
            let types = vec![lhs.get_type().name().to_owned(), rhs.get_type().name().to_owned()];
            ExecutionError::no_such_overload(operator, types)
        };
        let compared = match lhs.as_comparer() {
            Some(comparer) => comparer.compare(rhs),
            None => return Err(no_overload()),
        };
        let b = match compared {
            Ok(ordering) => holds(ordering),
            Err(_) if nan_with_number(lhs, rhs) || nan_with_number(rhs, lhs) => false,
            // What the interpreter reports as no overload for the operator.
            Err(
                ExecutionError::NoSuchOverload(_)
                | ExecutionError::ValuesNotComparable(..)
                | ExecutionError::UnsupportedKeyType(_)
                | ExecutionError::UnexpectedType { .. },
            ) => return Err(no_overload()),
            Err(error) => return Err(error),
        };
        Ok(CowVal::Borrowed(if b { &CelBool::TRUE } else { &CelBool::FALSE }))
    })
}

/// `a` is a NaN double and `b` a number (CEL orders a double with an int or a uint).
fn nan_with_number(a: &dyn Val, b: &dyn Val) -> bool {
    a.downcast_ref::<CelDouble>().is_some_and(|d| d.is_nan())
        && (b.downcast_ref::<CelDouble>().is_some()
            || b.downcast_ref::<CelInt>().is_some()
            || b.downcast_ref::<CelUInt>().is_some())
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
    for (operator, name, holds) in ORDERED {
        let r = ctx.add_function(name, ordered_comparison(operator, holds));
        add(&mut ctx, r);
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    fn eval(source: &str, result: &ResultValue) -> Result<bool, String> {
        CelCondition::new(source).eval_bool(&prepare(result))
    }

    /// What the `cel` interpreter itself gives, without the rewrite.
    fn unrewritten(source: &str, result: &ResultValue) -> Result<bool, String> {
        let program = Program::compile(source).map_err(|e| one_line(&e.to_string()))?;
        ROOT.with(|root| {
            let mut scope = root.new_inner_scope();
            scope.add_variable_from_value("result", prepare(result).value);
            match program.execute(&scope) {
                Ok(Value::Bool(b)) => Ok(b),
                Ok(other) => Err(format!("expected bool, but got {:?}", other.type_of())),
                Err(e) => Err(exec_error(&e)),
            }
        })
    }

    #[test]
    fn nan_ordered_comparisons_are_false_wherever_they_are() {
        let nan = ResultValue::Float(f64::NAN);
        let nans = ResultValue::Floats(vec![f64::NAN, 0.5]);
        for (source, result, want) in [
            ("result < 1.0", &nan, false),
            ("result <= 1.0", &nan, false),
            ("result > 1.0", &nan, false),
            ("result >= 1.0", &nan, false),
            ("1.0 < result", &nan, false),
            ("result < 1", &nan, false),
            ("result >= 1u", &nan, false),
            ("1 > result", &nan, false),
            ("result < result", &nan, false),
            ("!(result >= 0.9)", &nan, true),
            ("(result >= 0.9) == false", &nan, true),
            ("result >= 0.9 ? false : true", &nan, true),
            ("!(result[0] < 1.0)", &nans, true),
            ("result[0] < 1.0 || result[1] < 1.0", &nans, true),
            ("result.all(x, !(x > 1.0))", &nans, true),
            ("result.exists(x, x < 1.0)", &nans, true),
            ("result.filter(x, x < 1.0).size() == 1", &nans, true),
            ("[result < 1.0][0] == false", &nan, true),
            ("{'a': result < 1.0}['a'] == false", &nan, true),
            ("{result < 1.0: 1}[false] == 1", &nan, true),
            ("[1.0, 2.0].map(x, x > result) == [false, false]", &nan, true),
            ("size([result > 0.0]) == 1", &nan, true),
            ("!(double('NaN') < 1.0)", &ResultValue::Nil, true),
        ] {
            assert_eq!(eval(source, result), Ok(want), "{source}");
        }
    }

    #[test]
    fn nan_against_a_non_number_is_still_no_overload() {
        let nan = ResultValue::Float(f64::NAN);
        assert_eq!(
            eval("result < 'a'", &nan),
            Err("found no matching overload for '_<_' applied to '(double, string)'".into())
        );
        assert_eq!(eval("null >= result", &nan), unrewritten("null >= result", &nan));
    }

    /// Without a NaN the rewritten comparison gives what the interpreter gives, value
    /// and error message alike.
    #[test]
    fn other_comparisons_are_the_interpreters() {
        let operands = [
            "1",
            "2",
            "-1",
            "1u",
            "2u",
            "1.0",
            "1.5",
            "-0.0",
            "0.0",
            "'a'",
            "'b'",
            "b'a'",
            "true",
            "false",
            "null",
            "[1]",
            "{'a': 1}",
            "timestamp('2023-01-01T00:00:00Z')",
            "timestamp('2024-01-01T00:00:00Z')",
            "duration('1s')",
            "duration('2m')",
            "int",
            "result",
            "1e308 * 10.0",
        ];
        let results = [
            ResultValue::Float(1.0),
            ResultValue::Floats(vec![1.0]),
            ResultValue::String("a".into()),
            ResultValue::Nil,
        ];
        for result in &results {
            for lhs in operands {
                for rhs in operands {
                    for op in ["<", "<=", ">", ">="] {
                        let source = format!("{lhs} {op} {rhs}");
                        assert_eq!(eval(&source, result), unrewritten(&source, result), "{source} on {result:?}");
                    }
                }
            }
        }
        for source in ["undefinedVar < 1", "1 < undefinedVar", "result[5] < 1.0", "1 / 0 < 1", "result < "] {
            for result in &results {
                assert_eq!(eval(source, result), unrewritten(source, result), "{source} on {result:?}");
            }
        }
    }

    #[test]
    fn the_rewrite_reaches_every_comparison() {
        let program = Program::compile("[a < b, {c > d: e <= f}, g.h(i >= j)].all(x, x < y)").unwrap();
        let rewritten = nan_safe(program.expression().clone());
        let text = format!("{rewritten:?}");
        for (op, name, _) in ORDERED {
            assert!(!text.contains(&format!("{op:?}")), "{op} left in {text}");
            assert!(text.contains(&format!("{name:?}")), "{name} missing in {text}");
        }
    }
}
