//! Compiled representation (a type-checked tree) and its evaluator.
//!
//! Evaluation returns `Cow` values: variables, constants and elements of borrowed containers are
//! returned by reference, so e.g. `result[0] >= 0.99` allocates nothing and clones no `Arc`.

use std::borrow::Cow;
use std::cmp::Ordering;
use std::sync::Arc;

use crate::builtins::{self, Bf};
use crate::value::Value;
use crate::{Env, Function};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum BinOp {
    Eq,
    Ne,
    Lt,
    Gt,
    Le,
    Ge,
    Add,
    Sub,
    Mul,
    Div,
    Mod,
    Pow,
    In,
    Matches,
    Contains,
    StartsWith,
    EndsWith,
    Range,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum PointerKind {
    Item,
    Index,
    Acc,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Pk {
    All,
    Any,
    None,
    One,
    Filter,
    Map,
    Count,
    Sum,
    Find,
    FindIndex,
    FindLast,
    FindLastIndex,
    GroupBy,
    SortBy,
    Reduce,
}

#[derive(Clone, Debug)]
pub(crate) enum Ir {
    Const(Value),
    Var(Box<str>),
    Local(usize),
    Pointer(PointerKind),
    Not(Box<Ir>),
    Neg(Box<Ir>),
    Bin(BinOp, Box<Ir>, Box<Ir>),
    And(Box<Ir>, Box<Ir>),
    Or(Box<Ir>, Box<Ir>),
    Coalesce(Box<Ir>, Box<Ir>),
    Cond(Box<Ir>, Box<Ir>, Box<Ir>),
    Member { base: Box<Ir>, prop: Box<Ir>, optional: bool, zero: Value },
    Chain(Box<Ir>),
    Slice { base: Box<Ir>, from: Option<Box<Ir>>, to: Option<Box<Ir>> },
    Call { func: Arc<Function>, args: Vec<Ir> },
    Method { base: Box<Ir>, name: Box<str>, args: Vec<Ir>, optional: bool },
    CallValue { callee: Box<Ir>, args: Vec<Ir> },
    Builtin { f: Bf, args: Vec<Ir> },
    Pred { kind: Pk, coll: Box<Ir>, body: Option<Box<Ir>>, extra: Option<Box<Ir>> },
    Array(Vec<Ir>),
    Map(Vec<(Ir, Ir)>),
    MatchesConst(Box<Ir>, regex::Regex),
    Let { slot: usize, value: Box<Ir>, body: Box<Ir> },
}

impl Ir {
    /// expr's `traverseAndReplaceIntegerNodesWithFloatNodes`: integer literals reachable through
    /// unary operators and `+ - *` become float literals (used for float parameters).
    pub(crate) fn ints_to_floats(&mut self) {
        match self {
            Ir::Const(Value::Int(i)) => *self = Ir::Const(Value::Float(*i as f64)),
            Ir::Neg(x) => x.ints_to_floats(),
            Ir::Bin(BinOp::Add | BinOp::Sub | BinOp::Mul, l, r) => {
                l.ints_to_floats();
                r.ints_to_floats();
            }
            _ => {}
        }
    }
}

/// Internal evaluation failure: a runtime error, or the short-circuit of an optional chain.
#[derive(Debug)]
pub(crate) enum Flow {
    Err(String),
    ChainNil,
}

impl From<String> for Flow {
    fn from(s: String) -> Self {
        Flow::Err(s)
    }
}

pub(crate) type R<'a> = Result<Cow<'a, Value>, Flow>;

pub(crate) struct Scope {
    items: Arc<[Value]>,
    index: usize,
    acc: Value,
}

pub(crate) struct Ctx<'a> {
    pub(crate) env: &'a Env,
    pub(crate) scopes: Vec<Scope>,
    pub(crate) locals: Vec<Value>,
}

/// Memory budget of expr (`conf.DefaultMemoryBudget`), applied per allocation here.
pub(crate) const MEMORY_BUDGET: usize = 1_000_000;

pub(crate) fn iface_err(v: &Value, want: &str) -> String {
    format!("interface conversion: interface {{}} is {}, not {want}", v.iface_name())
}

fn owned<'a>(v: Value) -> R<'a> {
    Ok(Cow::Owned(v))
}

/// Evaluates a node. Hot node kinds are handled here; everything else is delegated to small
/// out-of-line functions so the recursive frame stays small (deep nesting, debug builds).
#[inline]
pub(crate) fn eval<'a>(ir: &'a Ir, cx: &mut Ctx<'a>) -> R<'a> {
    match ir {
        Ir::Const(v) => Ok(Cow::Borrowed(v)),
        Ir::Var(name) => {
            let env: &'a Env = cx.env;
            Ok(match env.get(name) {
                Some(v) => Cow::Borrowed(v),
                None => Cow::Owned(Value::Nil),
            })
        }
        Ir::Bin(op, l, r) => eval_bin(*op, l, r, cx),
        Ir::Member { base, prop, optional, zero } => eval_member(base, prop, *optional, zero, cx),
        Ir::And(l, r) => eval_logic(l, r, false, cx),
        Ir::Or(l, r) => eval_logic(l, r, true, cx),
        _ => eval_cold(ir, cx),
    }
}

fn eval_bin<'a>(op: BinOp, l: &'a Ir, r: &'a Ir, cx: &mut Ctx<'a>) -> R<'a> {
    let a = eval(l, cx)?;
    let b = eval(r, cx)?;
    binary(op, &a, &b).map(Cow::Owned).map_err(Flow::Err)
}

fn eval_logic<'a>(l: &'a Ir, r: &'a Ir, or: bool, cx: &mut Ctx<'a>) -> R<'a> {
    let a = eval(l, cx)?;
    match &*a {
        Value::Bool(b) if *b == or => Ok(a),
        Value::Bool(_) => eval(r, cx),
        other => Err(iface_err(other, "bool").into()),
    }
}

fn eval_member<'a>(base: &'a Ir, prop: &'a Ir, optional: bool, zero: &'a Value, cx: &mut Ctx<'a>) -> R<'a> {
    let b = eval(base, cx)?;
    if optional && b.is_nil() {
        return Err(Flow::ChainNil);
    }
    let p = eval(prop, cx)?;
    match b {
        Cow::Borrowed(v) => match fetch(v, &p, zero)? {
            Fetched::Ref(r) => Ok(Cow::Borrowed(r)),
            Fetched::Own(o) => owned(o),
        },
        Cow::Owned(v) => match fetch(&v, &p, zero)? {
            Fetched::Ref(r) => owned(r.clone()),
            Fetched::Own(o) => owned(o),
        },
    }
}

#[inline(never)]
fn eval_cold<'a>(ir: &'a Ir, cx: &mut Ctx<'a>) -> R<'a> {
    match ir {
        Ir::Const(_) | Ir::Var(_) | Ir::Bin(..) | Ir::Member { .. } | Ir::And(..) | Ir::Or(..) => eval(ir, cx),
        Ir::Local(i) => owned(cx.locals.get(*i).cloned().unwrap_or_default()),
        Ir::Pointer(kind) => eval_pointer(*kind, cx),
        Ir::Not(x) => eval_not(x, cx),
        Ir::Neg(x) => eval_neg(x, cx),
        Ir::Coalesce(l, r) => {
            let a = eval(l, cx)?;
            if a.is_nil() { eval(r, cx) } else { Ok(a) }
        }
        Ir::Cond(c, a, b) => {
            if eval_cond(c, cx)? {
                eval(a, cx)
            } else {
                eval(b, cx)
            }
        }
        Ir::Chain(x) => match eval(x, cx) {
            Err(Flow::ChainNil) => owned(Value::Nil),
            other => other,
        },
        Ir::Slice { base, from, to } => eval_slice(base, from.as_deref(), to.as_deref(), cx),
        Ir::Call { func, args } => eval_call(func, args, cx),
        Ir::Method { base, name, args, optional } => eval_method(base, name, args, *optional, cx),
        Ir::CallValue { callee, args } => eval_call_value(callee, args, cx),
        Ir::Builtin { f, args } => eval_builtin(f, args, cx),
        Ir::Pred { kind, coll, body, extra } => {
            predicate(*kind, coll, body.as_deref(), extra.as_deref(), cx).map(Cow::Owned)
        }
        Ir::Array(items) => eval_array(items, cx),
        Ir::Map(pairs) => eval_map(pairs, cx),
        Ir::MatchesConst(x, re) => eval_matches_const(x, re, cx),
        Ir::Let { slot, value, body } => {
            let v = eval(value, cx)?.into_owned();
            if cx.locals.len() <= *slot {
                cx.locals.resize(*slot + 1, Value::Nil);
            }
            cx.locals[*slot] = v;
            eval(body, cx)
        }
    }
}

fn eval_pointer<'a>(kind: PointerKind, cx: &mut Ctx<'a>) -> R<'a> {
    let Some(s) = cx.scopes.last() else {
        return Err(Flow::Err("cannot use pointer accessor outside predicate".into()));
    };
    owned(match kind {
        PointerKind::Item => {
            s.items.get(s.index).cloned().ok_or_else(|| {
                format!("runtime error: index out of range [{}] with length {}", s.index, s.items.len())
            })?
        }
        PointerKind::Index => Value::Int(s.index as i64),
        PointerKind::Acc => s.acc.clone(),
    })
}

fn eval_not<'a>(x: &'a Ir, cx: &mut Ctx<'a>) -> R<'a> {
    let v = eval(x, cx)?;
    match &*v {
        Value::Bool(b) => owned(Value::Bool(!b)),
        other => Err(iface_err(other, "bool").into()),
    }
}

fn eval_neg<'a>(x: &'a Ir, cx: &mut Ctx<'a>) -> R<'a> {
    let v = eval(x, cx)?;
    owned(match &*v {
        Value::Int(i) => Value::Int(i.wrapping_neg()),
        Value::Float(f) => Value::Float(-f),
        other => {
            return Err(format!("invalid operation: - {}", other.go_type_name()).into());
        }
    })
}

fn eval_cond<'a>(c: &'a Ir, cx: &mut Ctx<'a>) -> Result<bool, Flow> {
    let v = eval(c, cx)?;
    match &*v {
        Value::Bool(b) => Ok(*b),
        other => Err(iface_err(other, "bool").into()),
    }
}

fn eval_slice<'a>(base: &'a Ir, from: Option<&'a Ir>, to: Option<&'a Ir>, cx: &mut Ctx<'a>) -> R<'a> {
    let b = eval(base, cx)?;
    let to = match to {
        Some(t) => eval(t, cx)?.into_owned(),
        None => Value::Int(builtins::len(&b)?),
    };
    let from = match from {
        Some(f) => eval(f, cx)?.into_owned(),
        None => Value::Int(0),
    };
    slice(&b, &from, &to).map(Cow::Owned).map_err(Flow::Err)
}

fn check_params(func: &Function, vals: &[Value]) -> Result<(), Flow> {
    let n_params = func.params.len();
    for (i, v) in vals.iter().enumerate() {
        let p = if func.variadic && i + 1 >= n_params { func.params.last() } else { func.params.get(i) };
        if let Some(p) = p
            && !p.accepts(v)
        {
            return Err(iface_err(v, &p.to_string()).into());
        }
    }
    Ok(())
}

fn eval_call<'a>(func: &'a Arc<Function>, args: &'a [Ir], cx: &mut Ctx<'a>) -> R<'a> {
    let env: &'a Env = cx.env;
    if let [arg] = args {
        let v = eval(arg, cx)?;
        let vals = std::slice::from_ref(&*v);
        check_params(func, vals)?;
        return (func.call)(vals, env).map(Cow::Owned).map_err(Flow::Err);
    }
    let vals = eval_args(args, cx)?;
    check_params(func, &vals)?;
    (func.call)(&vals, env).map(Cow::Owned).map_err(Flow::Err)
}

fn eval_method<'a>(base: &'a Ir, name: &'a str, args: &'a [Ir], optional: bool, cx: &mut Ctx<'a>) -> R<'a> {
    let vals = eval_args(args, cx)?;
    let b = eval(base, cx)?;
    if optional && b.is_nil() {
        return Err(Flow::ChainNil);
    }
    builtins::call_method(&b, name, &vals).map(Cow::Owned).map_err(Flow::Err)
}

fn eval_call_value<'a>(callee: &'a Ir, args: &'a [Ir], cx: &mut Ctx<'a>) -> R<'a> {
    eval_args(args, cx)?;
    let c = eval(callee, cx)?;
    Err(Flow::Err(if c.is_nil() {
        "invalid operation: cannot call nil".into()
    } else {
        format!("invalid operation: cannot call non-function of type {}", c.go_type_name())
    }))
}

fn eval_builtin<'a>(f: &'a Bf, args: &'a [Ir], cx: &mut Ctx<'a>) -> R<'a> {
    let env: &'a Env = cx.env;
    if let [arg] = args {
        // Fast path: no argument vector, no clone of the (possibly borrowed) argument.
        let v = eval(arg, cx)?;
        return builtins::call(f, std::slice::from_ref(&*v), env).map(Cow::Owned).map_err(Flow::Err);
    }
    let vals = eval_args(args, cx)?;
    builtins::call(f, &vals, env).map(Cow::Owned).map_err(Flow::Err)
}

fn eval_array<'a>(items: &'a [Ir], cx: &mut Ctx<'a>) -> R<'a> {
    let out = eval_args(items, cx)?;
    owned(Value::Array(out.into()))
}

fn eval_map<'a>(pairs: &'a [(Ir, Ir)], cx: &mut Ctx<'a>) -> R<'a> {
    let mut m = std::collections::BTreeMap::new();
    for (k, v) in pairs {
        let key = eval(k, cx)?;
        let val = eval(v, cx)?.into_owned();
        match &*key {
            Value::String(s) => {
                m.insert(s.to_string(), val);
            }
            other => return Err(iface_err(other, "string").into()),
        }
    }
    owned(Value::Map(Arc::new(m)))
}

fn eval_matches_const<'a>(x: &'a Ir, re: &'a regex::Regex, cx: &mut Ctx<'a>) -> R<'a> {
    let v = eval(x, cx)?;
    match &*v {
        Value::Nil => owned(Value::Bool(false)),
        Value::String(s) => owned(Value::Bool(re.is_match(s))),
        other => Err(iface_err(other, "[]uint8").into()),
    }
}

fn eval_args<'a>(args: &'a [Ir], cx: &mut Ctx<'a>) -> Result<Vec<Value>, Flow> {
    let mut out = Vec::with_capacity(args.len());
    for a in args {
        out.push(eval(a, cx)?.into_owned());
    }
    Ok(out)
}

pub(crate) enum Fetched<'v> {
    Ref(&'v Value),
    Own(Value),
}

/// Go `runtime.ToInt`.
pub(crate) fn to_int(v: &Value) -> Result<i64, String> {
    match v {
        Value::Int(i) => Ok(*i),
        Value::Float(f) => Ok(*f as i64),
        other => Err(format!("invalid operation: int({})", other.go_type_name())),
    }
}

/// Go `runtime.ToFloat64`.
pub(crate) fn to_float(v: &Value) -> Result<f64, String> {
    match v {
        Value::Int(i) => Ok(*i as f64),
        Value::Float(f) => Ok(*f),
        other => Err(format!("invalid operation: float({})", other.go_type_name())),
    }
}

/// Go `runtime.Fetch`: `from[key]` / `from.key`. `zero` is returned for missing map keys.
pub(crate) fn fetch<'v>(from: &'v Value, key: &Value, zero: &'v Value) -> Result<Fetched<'v>, String> {
    match from {
        Value::Array(items) => {
            let i = index(to_int(key)?, items.len())?;
            Ok(Fetched::Ref(&items[i]))
        }
        Value::String(s) => {
            let i = index(to_int(key)?, s.len())?;
            Ok(Fetched::Own(Value::Int(i64::from(s.as_bytes()[i]))))
        }
        Value::Map(m) => match key {
            Value::String(k) => Ok(Fetched::Ref(m.get(&**k).unwrap_or(zero))),
            Value::Nil => Ok(Fetched::Ref(m.get("").unwrap_or(zero))),
            other => Err(format!(
                "reflect.Value.MapIndex: value of type {} is not assignable to type string",
                other.go_type_name()
            )),
        },
        other => Err(format!("cannot fetch {key} from {}", other.go_type_name())),
    }
}

fn index(i: i64, len: usize) -> Result<usize, String> {
    let l = len as i64;
    let idx = if i < 0 { l.wrapping_add(i) } else { i };
    if idx < 0 || idx >= l {
        return Err(format!("index out of range: {idx} (array length is {l})"));
    }
    Ok(idx as usize)
}

/// Go `runtime.Slice`.
fn slice(v: &Value, from: &Value, to: &Value) -> Result<Value, String> {
    let bounds = |length: usize| -> Result<(usize, usize), String> {
        let l = length as i64;
        let mut a = to_int(from)?;
        let mut b = to_int(to)?;
        if a < 0 {
            a = l.wrapping_add(a);
        }
        a = a.max(0);
        if b < 0 {
            b = l.wrapping_add(b);
        }
        b = b.clamp(0, l);
        if a > b {
            a = b;
        }
        Ok((a as usize, b as usize))
    };
    match v {
        Value::Array(items) => {
            let (a, b) = bounds(items.len())?;
            Ok(Value::Array(items[a..b].into()))
        }
        Value::String(s) => {
            let (a, b) = bounds(s.len())?;
            Ok(Value::string(String::from_utf8_lossy(&s.as_bytes()[a..b])))
        }
        _ => Err(format!("cannot slice {from}")),
    }
}

/// Go `runtime.Equal`.
pub(crate) fn equal(a: &Value, b: &Value) -> bool {
    equal_depth(a, b, 0)
}

fn equal_depth(a: &Value, b: &Value, depth: usize) -> bool {
    if depth > crate::value::MAX_VALUE_DEPTH {
        return false;
    }
    match (a, b) {
        (Value::Int(x), Value::Int(y)) => x == y,
        (Value::Int(x), Value::Float(y)) => (*x as f64) == *y,
        (Value::Float(x), Value::Int(y)) => *x == (*y as f64),
        (Value::Float(x), Value::Float(y)) => x == y,
        (Value::String(x), Value::String(y)) => x == y,
        (Value::Bool(x), Value::Bool(y)) => x == y,
        (Value::Time(x), Value::Time(y)) => x == y,
        (Value::Duration(x), Value::Duration(y)) => x == y,
        (Value::Nil, Value::Nil) => true,
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y.iter()).all(|(p, q)| equal_depth(p, q, depth + 1))
        }
        (Value::Map(_), Value::Map(_)) => deep_equal(a, b, depth),
        _ => false,
    }
}

/// Go `reflect.DeepEqual` on `interface{}` values (dynamic types must match exactly).
fn deep_equal(a: &Value, b: &Value, depth: usize) -> bool {
    if depth > crate::value::MAX_VALUE_DEPTH {
        return false;
    }
    match (a, b) {
        (Value::Float(x), Value::Float(y)) => x == y,
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y.iter()).all(|(p, q)| deep_equal(p, q, depth + 1))
        }
        (Value::Map(x), Value::Map(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| deep_equal(v, w, depth + 1)))
        }
        _ => a == b,
    }
}

/// Ordering used by `< > <= >=` (`None`: operation not defined; `Some(None)`: NaN involved).
pub(crate) fn compare(a: &Value, b: &Value) -> Option<Option<Ordering>> {
    Some(match (a, b) {
        (Value::Int(x), Value::Int(y)) => Some(x.cmp(y)),
        (Value::Int(x), Value::Float(y)) => (*x as f64).partial_cmp(y),
        (Value::Float(x), Value::Int(y)) => x.partial_cmp(&(*y as f64)),
        (Value::Float(x), Value::Float(y)) => x.partial_cmp(y),
        (Value::String(x), Value::String(y)) => Some(x.as_bytes().cmp(y.as_bytes())),
        (Value::Time(x), Value::Time(y)) | (Value::Duration(x), Value::Duration(y)) => Some(x.cmp(y)),
        _ => return None,
    })
}

fn op_symbol(op: BinOp) -> &'static str {
    match op {
        BinOp::Lt => "<",
        BinOp::Gt => ">",
        BinOp::Le => "<=",
        BinOp::Ge => ">=",
        BinOp::Add => "+",
        BinOp::Sub => "-",
        BinOp::Mul => "*",
        BinOp::Div => "/",
        BinOp::Mod => "%",
        _ => "?",
    }
}

fn mismatch(op: BinOp, a: &Value, b: &Value) -> String {
    format!("invalid operation: {} {} {}", a.go_type_name(), op_symbol(op), b.go_type_name())
}

/// Go `runtime.Less` (and friends) as a boolean for the given comparison operator.
pub(crate) fn compare_op(op: BinOp, a: &Value, b: &Value) -> Result<bool, String> {
    let Some(ord) = compare(a, b) else {
        return Err(mismatch(op, a, b));
    };
    let Some(ord) = ord else {
        return Ok(false);
    };
    Ok(match op {
        BinOp::Lt => ord == Ordering::Less,
        BinOp::Gt => ord == Ordering::Greater,
        BinOp::Le => ord != Ordering::Greater,
        BinOp::Ge => ord != Ordering::Less,
        _ => false,
    })
}

pub(crate) fn add(a: &Value, b: &Value) -> Result<Value, String> {
    Ok(match (a, b) {
        (Value::Int(x), Value::Int(y)) => Value::Int(x.wrapping_add(*y)),
        (Value::Int(x), Value::Float(y)) => Value::Float(*x as f64 + y),
        (Value::Float(x), Value::Int(y)) => Value::Float(x + *y as f64),
        (Value::Float(x), Value::Float(y)) => Value::Float(x + y),
        (Value::String(x), Value::String(y)) => {
            let mut s = String::with_capacity(x.len() + y.len());
            s.push_str(x);
            s.push_str(y);
            Value::string(s)
        }
        (Value::Time(t), Value::Duration(d)) | (Value::Duration(d), Value::Time(t)) => {
            Value::Time(t.saturating_add(*d))
        }
        (Value::Duration(x), Value::Duration(y)) => Value::Duration(x.wrapping_add(*y)),
        _ => return Err(mismatch(BinOp::Add, a, b)),
    })
}

fn arith(op: BinOp, a: &Value, b: &Value) -> Result<Value, String> {
    Ok(match op {
        BinOp::Add => return add(a, b),
        BinOp::Sub => match (a, b) {
            (Value::Int(x), Value::Int(y)) => Value::Int(x.wrapping_sub(*y)),
            (Value::Int(x), Value::Float(y)) => Value::Float(*x as f64 - y),
            (Value::Float(x), Value::Int(y)) => Value::Float(x - *y as f64),
            (Value::Float(x), Value::Float(y)) => Value::Float(x - y),
            (Value::Time(x), Value::Time(y)) => Value::Duration(x.saturating_sub(*y)),
            (Value::Time(x), Value::Duration(y)) => Value::Time(x.saturating_sub(*y)),
            (Value::Duration(x), Value::Duration(y)) => Value::Duration(x.wrapping_sub(*y)),
            _ => return Err(mismatch(op, a, b)),
        },
        BinOp::Mul => match (a, b) {
            (Value::Int(x), Value::Int(y)) => Value::Int(x.wrapping_mul(*y)),
            (Value::Int(x), Value::Float(y)) => Value::Float(*x as f64 * y),
            (Value::Float(x), Value::Int(y)) => Value::Float(x * *y as f64),
            (Value::Float(x), Value::Float(y)) => Value::Float(x * y),
            (Value::Duration(x), Value::Int(y))
            | (Value::Int(y), Value::Duration(x))
            | (Value::Duration(x), Value::Duration(y)) => Value::Duration(x.wrapping_mul(*y)),
            (Value::Duration(x), Value::Float(y)) | (Value::Float(y), Value::Duration(x)) => {
                Value::Float(*x as f64 * y)
            }
            _ => return Err(mismatch(op, a, b)),
        },
        BinOp::Div => match (a, b) {
            (Value::Int(_) | Value::Float(_), Value::Int(_) | Value::Float(_)) => {
                Value::Float(to_float(a)? / to_float(b)?)
            }
            _ => return Err(mismatch(op, a, b)),
        },
        BinOp::Mod => match (a, b) {
            (Value::Int(_), Value::Int(0)) => {
                return Err("runtime error: integer divide by zero".into());
            }
            (Value::Int(x), Value::Int(y)) => Value::Int(x.wrapping_rem(*y)),
            _ => return Err(mismatch(op, a, b)),
        },
        BinOp::Pow => Value::Float(to_float(a)?.powf(to_float(b)?)),
        _ => return Err(mismatch(op, a, b)),
    })
}

fn as_str_arg(v: &Value) -> Result<&str, String> {
    match v {
        Value::String(s) => Ok(s),
        other => Err(iface_err(other, "string")),
    }
}

/// Go `runtime.In`.
pub(crate) fn contains_in(needle: &Value, haystack: &Value) -> Result<bool, String> {
    match haystack {
        Value::Nil => Ok(false),
        Value::Array(items) => Ok(items.iter().any(|v| equal(v, needle))),
        Value::Map(m) => match needle {
            Value::String(k) => Ok(m.contains_key(&**k)),
            Value::Nil => Ok(m.contains_key("")),
            other => Err(format!(
                "reflect.Value.MapIndex: value of type {} is not assignable to type string",
                other.go_type_name()
            )),
        },
        other => Err(format!("operator \"in\" not defined on {}", other.go_type_name())),
    }
}

pub(crate) fn binary(op: BinOp, a: &Value, b: &Value) -> Result<Value, String> {
    match op {
        BinOp::Eq => Ok(Value::Bool(equal(a, b))),
        BinOp::Ne => Ok(Value::Bool(!equal(a, b))),
        BinOp::Lt | BinOp::Gt | BinOp::Le | BinOp::Ge => compare_op(op, a, b).map(Value::Bool),
        BinOp::Add | BinOp::Sub | BinOp::Mul | BinOp::Div | BinOp::Mod | BinOp::Pow => arith(op, a, b),
        BinOp::In => contains_in(a, b).map(Value::Bool),
        BinOp::Matches => {
            if a.is_nil() || b.is_nil() {
                return Ok(Value::Bool(false));
            }
            let pattern = as_str_arg(b)?;
            let s = match a {
                Value::String(s) => s,
                other => return Err(iface_err(other, "[]uint8")),
            };
            let re = compile_regex(pattern)?;
            Ok(Value::Bool(re.is_match(s)))
        }
        BinOp::Contains | BinOp::StartsWith | BinOp::EndsWith => {
            if a.is_nil() || b.is_nil() {
                return Ok(Value::Bool(false));
            }
            let x = as_str_arg(a)?;
            let y = as_str_arg(b)?;
            Ok(Value::Bool(match op {
                BinOp::Contains => x.contains(y),
                BinOp::StartsWith => x.starts_with(y),
                _ => x.ends_with(y),
            }))
        }
        BinOp::Range => {
            let lo = to_int(a)?;
            let hi = to_int(b)?;
            let size = i128::from(hi) - i128::from(lo) + 1;
            if size <= 0 {
                return Ok(Value::Array(Arc::from(Vec::new())));
            }
            if size > MEMORY_BUDGET as i128 {
                return Err("memory budget exceeded".into());
            }
            Ok(Value::Array((lo..=hi).map(Value::Int).collect::<Vec<_>>().into()))
        }
    }
}

/// Compiles a Go RE2 pattern with the `regex` crate (same syntax family).
pub(crate) fn compile_regex(pattern: &str) -> Result<regex::Regex, String> {
    regex::Regex::new(pattern).map_err(|e| {
        let msg = e.to_string();
        let detail =
            msg.lines().rev().find_map(|l| l.trim().strip_prefix("error: ")).unwrap_or(msg.as_str()).to_string();
        format!("error parsing regexp: {detail}: `{pattern}`")
    })
}

fn expect_bool(v: &Value) -> Result<bool, String> {
    match v {
        Value::Bool(b) => Ok(*b),
        other => Err(iface_err(other, "bool")),
    }
}

/// The items a predicate iterates over (expr's `OpBegin` over `reflect.Value`).
fn collection_items(v: Value) -> Result<Arc<[Value]>, String> {
    match v {
        Value::Array(a) => Ok(a),
        Value::String(s) => Ok(s.bytes().map(|b| Value::Int(i64::from(b))).collect()),
        Value::Map(m) if m.is_empty() => Ok(Arc::from(Vec::new())),
        Value::Map(_) => Err("reflect: call of reflect.Value.Index on map Value".into()),
        Value::Nil => Err("reflect: call of reflect.Value.Len on zero Value".into()),
        other => Err(format!("reflect: call of reflect.Value.Len on {} Value", other.reflect_kind())),
    }
}

fn predicate<'a>(
    kind: Pk,
    coll: &'a Ir,
    body: Option<&'a Ir>,
    extra: Option<&'a Ir>,
    cx: &mut Ctx<'a>,
) -> Result<Value, Flow> {
    let items = collection_items(eval(coll, cx)?.into_owned())?;
    cx.scopes.push(Scope { items: items.clone(), index: 0, acc: Value::Nil });
    let result = run_predicate(kind, &items, body, extra, cx);
    cx.scopes.pop();
    result
}

fn set_index(cx: &mut Ctx<'_>, i: usize) {
    if let Some(s) = cx.scopes.last_mut() {
        s.index = i;
    }
}

fn body_value<'a>(body: Option<&'a Ir>, items: &[Value], i: usize, cx: &mut Ctx<'a>) -> Result<Value, Flow> {
    match body {
        Some(b) => Ok(eval(b, cx)?.into_owned()),
        None => Ok(items[i].clone()),
    }
}

fn body_bool<'a>(body: Option<&'a Ir>, items: &[Value], i: usize, cx: &mut Ctx<'a>) -> Result<bool, Flow> {
    match body {
        Some(b) => Ok(expect_bool(&*eval(b, cx)?)?),
        None => Ok(expect_bool(&items[i])?),
    }
}

fn run_predicate<'a>(
    kind: Pk,
    items: &Arc<[Value]>,
    body: Option<&'a Ir>,
    extra: Option<&'a Ir>,
    cx: &mut Ctx<'a>,
) -> Result<Value, Flow> {
    let n = items.len();
    match kind {
        Pk::All | Pk::Any | Pk::None => {
            for i in 0..n {
                set_index(cx, i);
                let b = body_bool(body, items, i, cx)?;
                match kind {
                    Pk::All if !b => return Ok(Value::Bool(false)),
                    Pk::Any if b => return Ok(Value::Bool(true)),
                    Pk::None if b => return Ok(Value::Bool(false)),
                    _ => {}
                }
            }
            Ok(Value::Bool(kind != Pk::Any))
        }
        Pk::One | Pk::Count => {
            let mut count = 0i64;
            for i in 0..n {
                set_index(cx, i);
                if body_bool(body, items, i, cx)? {
                    count += 1;
                }
            }
            Ok(if kind == Pk::One { Value::Bool(count == 1) } else { Value::Int(count) })
        }
        Pk::Filter => {
            let mut out = Vec::new();
            for i in 0..n {
                set_index(cx, i);
                if body_bool(body, items, i, cx)? {
                    out.push(items[i].clone());
                }
            }
            Ok(Value::Array(out.into()))
        }
        Pk::Map => {
            let mut out = Vec::with_capacity(n);
            for i in 0..n {
                set_index(cx, i);
                out.push(body_value(body, items, i, cx)?);
            }
            Ok(Value::Array(out.into()))
        }
        Pk::Sum => {
            let mut acc = Value::Int(0);
            for i in 0..n {
                set_index(cx, i);
                let v = body_value(body, items, i, cx)?;
                acc = add(&v, &acc)?;
            }
            Ok(acc)
        }
        Pk::Find | Pk::FindIndex => {
            for i in 0..n {
                set_index(cx, i);
                if body_bool(body, items, i, cx)? {
                    return Ok(if kind == Pk::Find { items[i].clone() } else { Value::Int(i as i64) });
                }
            }
            Ok(if kind == Pk::Find { Value::Nil } else { Value::Int(-1) })
        }
        Pk::FindLast | Pk::FindLastIndex => {
            for i in (0..n).rev() {
                set_index(cx, i);
                if body_bool(body, items, i, cx)? {
                    return Ok(if kind == Pk::FindLast { items[i].clone() } else { Value::Int(i as i64) });
                }
            }
            Ok(if kind == Pk::FindLast { Value::Nil } else { Value::Int(-1) })
        }
        Pk::GroupBy => {
            let mut groups: std::collections::BTreeMap<String, Vec<Value>> = std::collections::BTreeMap::new();
            for i in 0..n {
                set_index(cx, i);
                let key = body_value(body, items, i, cx)?;
                if matches!(key, Value::Array(_) | Value::Map(_)) {
                    return Err(format!(
                        "cannot use {} as a key for groupBy: type is not comparable",
                        key.go_type_name()
                    )
                    .into());
                }
                groups.entry(key.to_string()).or_default().push(items[i].clone());
            }
            Ok(Value::Map(Arc::new(groups.into_iter().map(|(k, v)| (k, Value::Array(v.into()))).collect())))
        }
        Pk::SortBy => {
            let mut keyed = Vec::with_capacity(n);
            for i in 0..n {
                set_index(cx, i);
                keyed.push((body_value(body, items, i, cx)?, items[i].clone()));
            }
            let desc = match extra {
                Some(e) => match &*eval(e, cx)? {
                    Value::String(s) if &**s == "asc" => false,
                    Value::String(s) if &**s == "desc" => true,
                    Value::String(_) => return Err("unknown order, use asc or desc".to_string().into()),
                    _ => return Err("sortBy order argument must be a string".to_string().into()),
                },
                None => false,
            };
            let mut err = None;
            keyed.sort_by(|(a, _), (b, _)| sort_cmp(a, b, desc, &mut err));
            if let Some(e) = err {
                return Err(Flow::Err(e));
            }
            Ok(Value::Array(keyed.into_iter().map(|(_, v)| v).collect::<Vec<_>>().into()))
        }
        Pk::Reduce => {
            let start = match extra {
                Some(e) => {
                    let init = eval(e, cx)?.into_owned();
                    if let Some(s) = cx.scopes.last_mut() {
                        s.acc = init;
                    }
                    0
                }
                None => {
                    let first = items
                        .first()
                        .cloned()
                        .ok_or_else(|| "runtime error: index out of range [0] with length 0".to_string())?;
                    if let Some(s) = cx.scopes.last_mut() {
                        s.acc = first;
                    }
                    1
                }
            };
            for i in start..n {
                set_index(cx, i);
                let v = body_value(body, items, i, cx)?;
                if let Some(s) = cx.scopes.last_mut() {
                    s.acc = v;
                }
            }
            Ok(cx.scopes.last().map(|s| s.acc.clone()).unwrap_or_default())
        }
    }
}

/// Comparator for `sort`/`sortBy` (Go `runtime.Less`/`More`); records the first error.
pub(crate) fn sort_cmp(a: &Value, b: &Value, desc: bool, err: &mut Option<String>) -> Ordering {
    let op = if desc { BinOp::Gt } else { BinOp::Lt };
    match compare_op(op, a, b) {
        Ok(true) => Ordering::Less,
        Ok(false) => match compare_op(op, b, a) {
            Ok(true) => Ordering::Greater,
            _ => Ordering::Equal,
        },
        Err(e) => {
            if err.is_none() {
                *err = Some(e);
            }
            Ordering::Equal
        }
    }
}
