//! The expr-lang dialect: Argo's environment (`result` plus six helpers) on top of
//! `augur-expr`.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use augur_expr::{Env, Function, Program, Type, TypeEnv, Value};
use augur_provider_api::{ResultValue, Schema};

/// A result converted once per measurement: the value and its static Go type.
#[derive(Debug)]
pub(super) struct PreparedResult {
    ty: Type,
    env: Env,
}

/// Converts a provider result into expr's value and static type, as Argo's
/// `valueFromPointer` + `expr.Env(map)` would see it.
pub(super) fn prepare(result: &ResultValue, now_nanos: i64) -> PreparedResult {
    let (value, ty) = convert(result);
    let mut env = Env::new(now_nanos);
    env.set("result", value);
    PreparedResult { ty, env }
}

fn convert(result: &ResultValue) -> (Value, Type) {
    match result {
        ResultValue::Nil => (Value::Nil, Type::Any),
        ResultValue::Float(f) => (Value::Float(*f), Type::Float),
        ResultValue::Floats(v) => (
            Value::Array(v.iter().map(|f| Value::Float(*f)).collect::<Vec<_>>().into()),
            Type::Array(Box::new(Type::Float)),
        ),
        ResultValue::String(s) => (Value::String(s.as_str().into()), Type::String),
        ResultValue::Json(v) => {
            let ty = match v {
                serde_json::Value::Null => Type::Any,
                serde_json::Value::Bool(_) => Type::Bool,
                serde_json::Value::Number(_) => Type::Float,
                serde_json::Value::String(_) => Type::String,
                serde_json::Value::Array(_) => Type::Array(Box::new(Type::Any)),
                serde_json::Value::Object(_) => Type::Map(Box::new(Type::Any)),
            };
            (json_to_value(v, &Schema::Any), ty)
        }
        ResultValue::Typed { value, schema } => (json_to_value(value, schema), schema_type(schema)),
    }
}

fn schema_type(schema: &Schema) -> Type {
    match schema {
        Schema::Any => Type::Any,
        Schema::Bool => Type::Bool,
        Schema::Int => Type::Int,
        Schema::Float => Type::Float,
        Schema::String => Type::String,
        Schema::Time => Type::Time,
        Schema::List(t) => Type::Array(Box::new(schema_type(t))),
        Schema::Map(t) => Type::Map(Box::new(schema_type(t))),
        Schema::Struct(fields) => {
            Type::Struct(Arc::new(fields.iter().map(|(n, t)| (n.clone(), schema_type(t))).collect()))
        }
    }
}

/// JSON to an expr value; numbers are Go `float64` unless the schema says integer, and
/// strings in a `time.Time` slot are parsed as RFC 3339.
pub(crate) fn json_to_value(v: &serde_json::Value, schema: &Schema) -> Value {
    match v {
        serde_json::Value::Null => Value::Nil,
        serde_json::Value::Bool(b) => Value::Bool(*b),
        serde_json::Value::Number(n) => match schema {
            Schema::Int => Value::Int(n.as_i64().unwrap_or_else(|| n.as_f64().unwrap_or(0.0) as i64)),
            _ => Value::Float(n.as_f64().unwrap_or(f64::NAN)),
        },
        serde_json::Value::String(s) => match schema {
            Schema::Time => chrono::DateTime::parse_from_rfc3339(s)
                .ok()
                .and_then(|t| t.timestamp_nanos_opt())
                .map_or_else(|| Value::String(s.as_str().into()), Value::Time),
            _ => Value::String(s.as_str().into()),
        },
        serde_json::Value::Array(items) => {
            let inner = match schema {
                Schema::List(t) => t.as_ref(),
                _ => &Schema::Any,
            };
            Value::Array(items.iter().map(|i| json_to_value(i, inner)).collect::<Vec<_>>().into())
        }
        serde_json::Value::Object(map) => {
            let field_schema = |k: &str| -> Schema {
                match schema {
                    Schema::Map(t) => (**t).clone(),
                    Schema::Struct(fields) => {
                        fields.iter().find(|(n, _)| n == k).map_or(Schema::Any, |(_, t)| t.clone())
                    }
                    _ => Schema::Any,
                }
            };
            let out: BTreeMap<String, Value> =
                map.iter().map(|(k, v)| (k.clone(), json_to_value(v, &field_schema(k)))).collect();
            Value::Map(Arc::new(out))
        }
    }
}

/// A program compiled for one static result type (or why it did not compile).
type CachedProgram = (Type, Result<Arc<Program>, String>);

/// One condition: the source, and programs compiled per static result type.
#[derive(Debug)]
pub(super) struct ExprCondition {
    source: String,
    cache: Mutex<Vec<CachedProgram>>,
}

impl ExprCondition {
    pub(super) fn new(source: &str) -> ExprCondition {
        ExprCondition { source: source.to_string(), cache: Mutex::new(Vec::new()) }
    }

    /// A parse or name error that no result type can fix.
    pub(super) fn syntax_error(&self) -> Option<String> {
        self.program(&Type::Any).err()
    }

    fn program(&self, ty: &Type) -> Result<Arc<Program>, String> {
        let mut cache = self.cache.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some((_, p)) = cache.iter().find(|(t, _)| t == ty) {
            return p.clone();
        }
        let compiled = augur_expr::compile(&self.source, &type_env(ty)).map(Arc::new).map_err(|e| e.to_string());
        if cache.len() >= 8 {
            let _ = cache.remove(0);
        }
        cache.push((ty.clone(), compiled.clone()));
        compiled
    }

    /// Compiles (cached) and runs; the output must be a bool.
    pub(super) fn eval_bool(&self, prepared: &PreparedResult) -> Result<bool, String> {
        let program = self.program(&prepared.ty)?;
        match program.run(&prepared.env).map_err(|e| e.to_string())? {
            Value::Bool(b) => Ok(b),
            other => Err(format!("expected bool, but got {}", go_type_of(&other, prepared))),
        }
    }
}

/// Go's `%T` of a condition's output. Values carry no element type at run time, so a
/// slice or map that *is* the result (`successCondition: result`, or what `default`
/// returns) takes the result's Go type, e.g. `[]float64` for a Prometheus vector; any
/// other slice or map was built by expr, as `[]interface {}` / `map[string]interface {}`.
fn go_type_of(output: &Value, prepared: &PreparedResult) -> String {
    let is_result = match (output, prepared.env.get("result")) {
        (Value::Array(a), Some(Value::Array(r))) => Arc::ptr_eq(a, r),
        (Value::Map(a), Some(Value::Map(r))) => Arc::ptr_eq(a, r),
        _ => false,
    };
    if is_result && !has_struct(&prepared.ty) { prepared.ty.to_string() } else { output.go_type_name().to_string() }
}

/// Struct types are named types in Go (`types.MetricDataResult`), which augur's types
/// do not record.
fn has_struct(ty: &Type) -> bool {
    match ty {
        Type::Struct(_) => true,
        Type::Array(t) | Type::Map(t) => has_struct(t),
        _ => false,
    }
}

fn func(
    name: &str,
    params: Vec<Type>,
    ret: Type,
    call: impl Fn(&[Value], &Env) -> Result<Value, String> + Send + Sync + 'static,
) -> Function {
    Function { name: name.to_string(), params, variadic: false, ret, call: Arc::new(call) }
}

fn result_is_nil(env: &Env) -> bool {
    matches!(env.get("result"), None | Some(Value::Nil))
}

/// Argo's environment for a result of static type `ty`.
fn type_env(ty: &Type) -> TypeEnv {
    use super::helpers::{as_float_str, as_int_float, as_int_str};
    let mut env = TypeEnv::new();
    env.var("result", ty.clone());
    env.func(func("asInt", vec![Type::Any], Type::Int, |args, _| match args.first() {
        Some(Value::Int(i)) => Ok(Value::Int(*i)),
        Some(Value::Float(f)) => Ok(Value::Int(as_int_float(*f))),
        Some(Value::String(s)) => as_int_str(s).map(Value::Int),
        Some(other) => Err(format!("asInt() not supported on {} {}", other.go_type_name(), other)),
        None => Err("asInt() not supported on <nil> <nil>".to_string()),
    }));
    env.func(func("asFloat", vec![Type::Any], Type::Float, |args, _| match args.first() {
        Some(Value::Int(i)) => Ok(Value::Float(*i as f64)),
        Some(Value::Float(f)) => Ok(Value::Float(*f)),
        Some(Value::String(s)) => as_float_str(s).map(Value::Float),
        Some(other) => Err(format!("asFloat() not supported on {} {}", other.go_type_name(), other)),
        None => Err("asFloat() not supported on <nil> <nil>".to_string()),
    }));
    env.func(func("isNaN", vec![Type::Float], Type::Bool, |args, _| match args.first() {
        Some(Value::Float(f)) => Ok(Value::Bool(f.is_nan())),
        Some(Value::Int(_)) => Ok(Value::Bool(false)),
        Some(other) => Err(format!("reflect: Call using {} as type float64", other.go_type_name())),
        None => Err("not enough arguments to call isNaN".to_string()),
    }));
    env.func(func("isInf", vec![Type::Float], Type::Bool, |args, _| match args.first() {
        Some(Value::Float(f)) => Ok(Value::Bool(f.is_infinite())),
        Some(Value::Int(_)) => Ok(Value::Bool(false)),
        Some(other) => Err(format!("reflect: Call using {} as type float64", other.go_type_name())),
        None => Err("not enough arguments to call isInf".to_string()),
    }));
    // isNil and default ignore their first argument and look at the whole result
    // (Argo quirk, reference §0.8).
    env.func(func("isNil", vec![Type::Any], Type::Bool, |_, env| Ok(Value::Bool(result_is_nil(env)))));
    env.func(func("default", vec![Type::Any, Type::Any], Type::Any, |args, env| {
        if result_is_nil(env) {
            Ok(args.get(1).cloned().unwrap_or(Value::Nil))
        } else {
            Ok(env.get("result").cloned().unwrap_or(Value::Nil))
        }
    }));
    env
}
