//! expr-lang builtins (`builtin/builtin.go`, `builtin/lib.go`): static signatures / validators and
//! runtime implementations; plus methods of `time.Time` / `time.Duration`.

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::Env;
use crate::eval::{self, BinOp, MEMORY_BUDGET, iface_err, to_int};
use crate::gotime;
use crate::json;
use crate::value::{Type, Value};

#[derive(Clone, Debug)]
pub(crate) enum Bf {
    Len,
    Type,
    Abs,
    Ceil,
    Floor,
    Round,
    Int,
    Float,
    String,
    Trim,
    TrimPrefix,
    TrimSuffix,
    Upper,
    Lower,
    Split,
    SplitAfter,
    Replace,
    Repeat,
    Join,
    IndexOf,
    LastIndexOf,
    HasPrefix,
    HasSuffix,
    Max,
    Min,
    Mean,
    Median,
    ToJson,
    FromJson,
    ToBase64,
    FromBase64,
    Now,
    Duration,
    Date,
    First,
    Last,
    /// `get(x, key)`; the value is returned for missing keys of typed maps.
    Get(Value),
    Take,
    Keys,
    Values,
    ToPairs,
    FromPairs,
    Reverse,
    Uniq,
    Concat,
    Flatten,
    Sort,
    BitAnd,
    BitOr,
    BitXor,
    BitNand,
    BitShl,
    BitShr,
    BitUshr,
    BitNot,
}

pub(crate) fn lookup(name: &str) -> Option<Bf> {
    Some(match name {
        "len" => Bf::Len,
        "type" => Bf::Type,
        "abs" => Bf::Abs,
        "ceil" => Bf::Ceil,
        "floor" => Bf::Floor,
        "round" => Bf::Round,
        "int" => Bf::Int,
        "float" => Bf::Float,
        "string" => Bf::String,
        "trim" => Bf::Trim,
        "trimPrefix" => Bf::TrimPrefix,
        "trimSuffix" => Bf::TrimSuffix,
        "upper" => Bf::Upper,
        "lower" => Bf::Lower,
        "split" => Bf::Split,
        "splitAfter" => Bf::SplitAfter,
        "replace" => Bf::Replace,
        "repeat" => Bf::Repeat,
        "join" => Bf::Join,
        "indexOf" => Bf::IndexOf,
        "lastIndexOf" => Bf::LastIndexOf,
        "hasPrefix" => Bf::HasPrefix,
        "hasSuffix" => Bf::HasSuffix,
        "max" => Bf::Max,
        "min" => Bf::Min,
        "mean" => Bf::Mean,
        "median" => Bf::Median,
        "toJSON" => Bf::ToJson,
        "fromJSON" => Bf::FromJson,
        "toBase64" => Bf::ToBase64,
        "fromBase64" => Bf::FromBase64,
        "now" => Bf::Now,
        "duration" => Bf::Duration,
        "date" => Bf::Date,
        "first" => Bf::First,
        "last" => Bf::Last,
        "get" => Bf::Get(Value::Nil),
        "take" => Bf::Take,
        "keys" => Bf::Keys,
        "values" => Bf::Values,
        "toPairs" => Bf::ToPairs,
        "fromPairs" => Bf::FromPairs,
        "reverse" => Bf::Reverse,
        "uniq" => Bf::Uniq,
        "concat" => Bf::Concat,
        "flatten" => Bf::Flatten,
        "sort" => Bf::Sort,
        "bitand" => Bf::BitAnd,
        "bitor" => Bf::BitOr,
        "bitxor" => Bf::BitXor,
        "bitnand" => Bf::BitNand,
        "bitshl" => Bf::BitShl,
        "bitshr" => Bf::BitShr,
        "bitushr" => Bf::BitUshr,
        "bitnot" => Bf::BitNot,
        _ => return None,
    })
}

/// A Go function signature: parameter types and the (first) result type.
pub(crate) struct Sig {
    pub(crate) params: Vec<Type>,
    pub(crate) ret: Type,
}

fn sig(params: &[Type], ret: Type) -> Sig {
    Sig { params: params.to_vec(), ret }
}

/// Overloads (`Types:` in expr's builtin table) for builtins checked like Go functions.
pub(crate) fn overloads(name: &str) -> Option<Vec<Sig>> {
    use Type::{Any, Bool, Int, String as S};
    let arr = Type::array;
    Some(match name {
        "type" | "string" | "toJSON" => vec![sig(&[Any], S)],
        "trim" => vec![sig(&[S], S), sig(&[S, S], S)],
        "trimPrefix" | "trimSuffix" => vec![sig(&[S, S], S), sig(&[S], S)],
        "upper" | "lower" | "toBase64" | "fromBase64" => vec![sig(&[S], S)],
        "split" | "splitAfter" => vec![sig(&[S, S], arr(S)), sig(&[S, S, Int], arr(S))],
        "replace" => vec![sig(&[S, S, S, Int], S), sig(&[S, S, S], S)],
        "repeat" => vec![sig(&[S, Int], S)],
        "join" => vec![
            sig(&[arr(S), S], S),
            sig(&[arr(Any), S], S),
            sig(&[arr(Any)], S),
            sig(&[arr(S), S], S),
            sig(&[arr(S)], S),
        ],
        "indexOf" | "lastIndexOf" => vec![sig(&[S, S], Int)],
        "hasPrefix" | "hasSuffix" => vec![sig(&[S, S], Bool)],
        "fromJSON" => vec![sig(&[S], Any)],
        "duration" => vec![sig(&[S], Type::Duration)],
        "sort" => vec![
            sig(&[arr(Any), S], arr(Any)),
            sig(&[arr(Int), S], arr(Any)),
            sig(&[arr(Type::Float), S], arr(Any)),
            sig(&[arr(S), S], arr(Any)),
            sig(&[arr(Any)], arr(Any)),
            sig(&[arr(Type::Float)], arr(Any)),
            sig(&[arr(S)], arr(Any)),
            sig(&[arr(Int)], arr(Any)),
        ],
        "bitand" | "bitor" | "bitxor" | "bitnand" | "bitshl" | "bitshr" | "bitushr" => {
            vec![sig(&[Int, Int], Int)]
        }
        "bitnot" => vec![sig(&[Int], Int)],
        _ => return None,
    })
}

/// How Go's `%s` prints a `reflect.Type` argument of a validator (nil prints oddly).
fn vt(t: &Type) -> String {
    match t {
        Type::Nil => "%!s(<nil>)".into(),
        other => other.to_string(),
    }
}

fn arg_count(args: &[Type], n: usize) -> Result<(), String> {
    if args.len() != n {
        return Err(format!("invalid number of arguments (expected {n}, got {})", args.len()));
    }
    Ok(())
}

fn validate_aggregate(name: &str, args: &[Type]) -> Result<Type, String> {
    if args.is_empty() {
        return Err(format!("not enough arguments to call {name}"));
    }
    for a in args {
        match a {
            Type::Any | Type::Array(_) => return Ok(Type::Any),
            t if t.is_number() => {}
            other => return Err(format!("invalid argument for {name} (type {})", vt(other))),
        }
    }
    Ok(args[0].clone())
}

/// `Validate:` functions of expr's builtin table. `None` if the builtin is not validator-based.
pub(crate) fn validate(name: &str, args: &[Type]) -> Option<Result<Type, String>> {
    let numeric_or_any = |t: &Type| t.is_number() || t.is_unknown();
    Some((|| -> Result<Type, String> {
        match name {
            "len" => {
                arg_count(args, 1)?;
                match &args[0] {
                    Type::Any | Type::Array(_) | Type::Map(_) | Type::String => Ok(Type::Int),
                    other => Err(format!("invalid argument for len (type {})", vt(other))),
                }
            }
            "abs" => {
                arg_count(args, 1)?;
                if numeric_or_any(&args[0]) {
                    Ok(args[0].clone())
                } else {
                    Err(format!("invalid argument for abs (type {})", vt(&args[0])))
                }
            }
            "ceil" | "floor" | "round" => {
                arg_count(args, 1)?;
                if numeric_or_any(&args[0]) {
                    Ok(Type::Float)
                } else {
                    Err(format!("invalid argument for {name} (type {})", vt(&args[0])))
                }
            }
            "int" | "float" => {
                arg_count(args, 1)?;
                if numeric_or_any(&args[0]) || args[0].is_string() {
                    Ok(if name == "int" { Type::Int } else { Type::Float })
                } else {
                    Err(format!("invalid argument for {name} (type {})", vt(&args[0])))
                }
            }
            "max" | "min" | "mean" | "median" => validate_aggregate(name, args),
            "now" => {
                if args.is_empty() {
                    Ok(Type::Time)
                } else {
                    Err(format!("invalid number of arguments (expected 0, got {})", args.len()))
                }
            }
            "date" => {
                if args.is_empty() {
                    return Err("invalid number of arguments (expected at least 1, got 0)".into());
                }
                if args.len() > 3 {
                    return Err(format!("invalid number of arguments (expected at most 3, got {})", args.len()));
                }
                Ok(Type::Time)
            }
            "first" | "last" => {
                arg_count(args, 1)?;
                match &args[0] {
                    Type::Any => Ok(Type::Any),
                    Type::Array(e) => Ok((**e).clone()),
                    other => Err(format!("cannot get {name} element from {}", vt(other))),
                }
            }
            "take" => {
                arg_count(args, 2)?;
                if !matches!(args[0], Type::Any | Type::Array(_)) {
                    return Err(format!("cannot take from {}", vt(&args[0])));
                }
                if !matches!(args[1], Type::Any | Type::Int | Type::Duration) {
                    return Err(format!("cannot take {} elements", vt(&args[1])));
                }
                Ok(args[0].clone())
            }
            "keys" | "values" => {
                arg_count(args, 1)?;
                match &args[0] {
                    Type::Any | Type::Map(_) => Ok(Type::array(Type::Any)),
                    other => Err(format!("cannot get {name} from {}", vt(other))),
                }
            }
            "toPairs" => {
                arg_count(args, 1)?;
                match &args[0] {
                    Type::Any | Type::Map(_) => Ok(Type::array(Type::Any)),
                    other => Err(format!("cannot transform {} to pairs", vt(other))),
                }
            }
            "fromPairs" => {
                arg_count(args, 1)?;
                match &args[0] {
                    Type::Any | Type::Array(_) => Ok(Type::map(Type::Any)),
                    other => Err(format!("cannot transform {} from pairs", vt(other))),
                }
            }
            "reverse" | "uniq" | "flatten" => {
                arg_count(args, 1)?;
                match &args[0] {
                    Type::Any | Type::Array(_) => Ok(Type::array(Type::Any)),
                    other => Err(format!("cannot {name} {}", vt(other))),
                }
            }
            "concat" => {
                if args.is_empty() {
                    return Err("invalid number of arguments (expected at least 1, got 0)".into());
                }
                for a in args {
                    if !matches!(a, Type::Any | Type::Array(_)) {
                        return Err(format!("cannot concat {}", vt(a)));
                    }
                }
                Ok(Type::array(Type::Any))
            }
            _ => Err(String::new()),
        }
    })())
    .filter(|r| !matches!(r, Err(e) if e.is_empty()))
}

// ---------------------------------------------------------------------------------------------
// Runtime
// ---------------------------------------------------------------------------------------------

fn arg(args: &[Value], i: usize) -> Result<&Value, String> {
    args.get(i).ok_or_else(|| format!("invalid number of arguments (expected {}, got {})", i + 1, args.len()))
}

fn sarg(args: &[Value], i: usize) -> Result<&str, String> {
    match arg(args, i)? {
        Value::String(s) => Ok(s),
        other => Err(iface_err(other, "string")),
    }
}

pub(crate) fn len(v: &Value) -> Result<i64, String> {
    match v {
        Value::Array(a) => Ok(a.len() as i64),
        Value::Map(m) => Ok(m.len() as i64),
        Value::String(s) => Ok(s.len() as i64),
        other => Err(format!("invalid argument for len (type {})", other.go_type_name())),
    }
}

fn strs(v: Vec<&str>) -> Value {
    Value::Array(v.into_iter().map(Value::string).collect::<Vec<_>>().into())
}

/// Go `strings.SplitN` / `SplitAfterN` (n < 0: all).
fn go_split(s: &str, sep: &str, n: i64, after: bool) -> Vec<String> {
    if n == 0 {
        return Vec::new();
    }
    if sep.is_empty() {
        let chars: Vec<char> = s.chars().collect();
        let l = chars.len();
        let n = if n < 0 || n as usize > l { l } else { n as usize };
        let mut out: Vec<String> = chars[..n.saturating_sub(1)].iter().map(char::to_string).collect();
        if n > 0 {
            out.push(chars[n - 1..].iter().collect());
        }
        return out;
    }
    let mut out = Vec::new();
    let mut rest = s;
    while n < 0 || (out.len() as i64) < n - 1 {
        let Some(i) = rest.find(sep) else { break };
        let cut = if after { i + sep.len() } else { i };
        out.push(rest[..cut].to_string());
        rest = &rest[i + sep.len()..];
    }
    out.push(rest.to_string());
    out
}

fn go_atoi(s: &str) -> Option<i64> {
    let digits = s.strip_prefix(['+', '-']).unwrap_or(s);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse::<i64>().ok()
}

fn is_number(v: &Value) -> bool {
    matches!(v, Value::Int(_) | Value::Float(_) | Value::Duration(_))
}

/// expr's `minMax`.
fn min_max(name: &str, max: bool, args: &[Value], depth: usize) -> Result<Value, String> {
    if depth > crate::value::MAX_VALUE_DEPTH {
        return Err(format!("invalid argument for {name}"));
    }
    let better = |cur: &Value, cand: &Value| -> Result<bool, String> {
        // max: replace when cur < cand; min: replace when cur > cand.
        let op = if max { BinOp::Lt } else { BinOp::Gt };
        eval::compare_op(op, cur, cand)
    };
    let mut val: Option<Value> = None;
    for a in args {
        match a {
            Value::Array(items) => {
                for item in items.iter() {
                    let elem = min_max(name, max, std::slice::from_ref(item), depth + 1)?;
                    if is_number(&elem) {
                        if val.as_ref().map_or(Ok(true), |v| better(v, &elem))? {
                            val = Some(elem);
                        }
                    } else {
                        return Err(format!("invalid argument for {name} (type {})", elem.go_type_name()));
                    }
                }
            }
            v if is_number(v) => {
                if val.as_ref().map_or(Ok(true), |cur| better(cur, v))? {
                    val = Some(v.clone());
                }
            }
            other => {
                if args.len() == 1 {
                    return Ok(other.clone());
                }
                return Err(format!("invalid argument for {name} (type {})", other.go_type_name()));
            }
        }
    }
    Ok(val.unwrap_or(Value::Nil))
}

fn collect_numbers(name: &str, args: &[Value], out: &mut Vec<f64>, depth: usize) -> Result<(), String> {
    if depth > crate::value::MAX_VALUE_DEPTH {
        return Err(format!("invalid argument for {name}"));
    }
    for a in args {
        match a {
            Value::Array(items) => collect_numbers(name, items, out, depth + 1)?,
            Value::Int(i) | Value::Duration(i) => out.push(*i as f64),
            Value::Float(f) => out.push(*f),
            other => {
                return Err(format!("invalid argument for {name} (type {})", other.go_type_name()));
            }
        }
    }
    Ok(())
}

fn flatten_into(v: &[Value], out: &mut Vec<Value>, depth: usize) -> Result<(), String> {
    if depth > crate::value::MAX_VALUE_DEPTH {
        return Err("cannot flatten: nesting too deep".into());
    }
    for item in v {
        match item {
            Value::Array(inner) => flatten_into(inner, out, depth + 1)?,
            other => out.push(other.clone()),
        }
    }
    Ok(())
}

fn bit_arg(args: &[Value], i: usize, name: &str) -> Result<i64, String> {
    match arg(args, i)? {
        Value::Int(x) => Ok(*x),
        other => Err(format!("cannot use {} as argument (type int) to call {name}", other.go_type_name())),
    }
}

const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

fn base64_encode(data: &[u8]) -> String {
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let b = [chunk[0], chunk.get(1).copied().unwrap_or(0), chunk.get(2).copied().unwrap_or(0)];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(B64[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

fn base64_decode(s: &str) -> Result<Vec<u8>, String> {
    let b = s.as_bytes();
    let bad = |i: usize| format!("illegal base64 data at input byte {i}");
    if !b.len().is_multiple_of(4) {
        // Go reports the position where decoding failed; approximate with the tail position.
        return Err(bad(b.len() - b.len() % 4));
    }
    let mut out = Vec::with_capacity(b.len() / 4 * 3);
    for (ci, chunk) in b.chunks(4).enumerate() {
        let mut n: u32 = 0;
        let mut pad = 0;
        for (j, &c) in chunk.iter().enumerate() {
            let v = if c == b'=' {
                if j < 2 || ci * 4 + 4 != b.len() {
                    return Err(bad(ci * 4 + j));
                }
                pad += 1;
                0
            } else {
                if pad > 0 {
                    return Err(bad(ci * 4 + j));
                }
                match B64.iter().position(|&x| x == c) {
                    Some(p) => p as u32,
                    None => return Err(bad(ci * 4 + j)),
                }
            };
            n = (n << 6) | v;
        }
        let bytes = [(n >> 16) as u8, (n >> 8) as u8, n as u8];
        out.extend_from_slice(&bytes[..3 - pad]);
    }
    Ok(out)
}

fn kind_of(v: &Value) -> &'static str {
    v.reflect_kind()
}

/// Runs a builtin on evaluated arguments.
pub(crate) fn call(f: &Bf, args: &[Value], env: &Env) -> Result<Value, String> {
    Ok(match f {
        Bf::Len => Value::Int(len(arg(args, 0)?)?),
        Bf::Type => Value::string(match arg(args, 0)? {
            Value::Nil => "nil",
            Value::Bool(_) => "bool",
            Value::Int(_) => "int",
            Value::Float(_) => "float",
            Value::String(_) => "string",
            Value::Array(_) => "array",
            Value::Map(_) => "map",
            Value::Time(_) => "time.Time",
            Value::Duration(_) => "time.Duration",
        }),
        Bf::Abs => match arg(args, 0)? {
            Value::Int(i) => Value::Int(if *i < 0 { i.wrapping_neg() } else { *i }),
            Value::Float(x) => Value::Float(if *x < 0.0 { -x } else { *x }),
            other => {
                return Err(format!("invalid argument for abs (type {})", other.go_type_name()));
            }
        },
        Bf::Ceil | Bf::Floor | Bf::Round => {
            let name = match f {
                Bf::Ceil => "ceil",
                Bf::Floor => "floor",
                _ => "round",
            };
            match arg(args, 0)? {
                Value::Float(x) => Value::Float(match f {
                    Bf::Ceil => x.ceil(),
                    Bf::Floor => x.floor(),
                    _ => x.round(),
                }),
                Value::Int(i) => Value::Float(*i as f64),
                other => {
                    return Err(format!("invalid argument for {name} (type {})", other.go_type_name()));
                }
            }
        }
        Bf::Int => match arg(args, 0)? {
            Value::Int(i) | Value::Duration(i) => Value::Int(*i),
            Value::Float(x) => Value::Int(*x as i64),
            Value::String(s) => match go_atoi(s) {
                Some(i) => Value::Int(i),
                None => return Err(format!("invalid operation: int({s})")),
            },
            other => return Err(format!("invalid operation: int({})", other.go_type_name())),
        },
        Bf::Float => match arg(args, 0)? {
            Value::Int(i) => Value::Float(*i as f64),
            Value::Float(x) => Value::Float(*x),
            Value::String(s) => match s.parse::<f64>() {
                Ok(x) if !s.contains('_') => Value::Float(x),
                _ => return Err(format!("invalid operation: float({s})")),
            },
            other => {
                return Err(format!("invalid operation: float({})", other.go_type_name()));
            }
        },
        Bf::String => Value::string(arg(args, 0)?.to_string()),
        Bf::Trim => {
            let s = sarg(args, 0)?;
            if args.len() == 2 {
                let cut = sarg(args, 1)?;
                Value::string(s.trim_matches(|c| cut.contains(c)))
            } else {
                Value::string(s.trim())
            }
        }
        Bf::TrimPrefix | Bf::TrimSuffix => {
            let s = sarg(args, 0)?;
            let p = if args.len() == 2 { sarg(args, 1)? } else { " " };
            Value::string(if matches!(f, Bf::TrimPrefix) {
                s.strip_prefix(p).unwrap_or(s)
            } else {
                s.strip_suffix(p).unwrap_or(s)
            })
        }
        Bf::Upper => Value::string(sarg(args, 0)?.to_uppercase()),
        Bf::Lower => Value::string(sarg(args, 0)?.to_lowercase()),
        Bf::Split | Bf::SplitAfter => {
            let s = sarg(args, 0)?;
            let sep = sarg(args, 1)?;
            let n = if args.len() == 3 { to_int(&args[2])? } else { -1 };
            let parts = go_split(s, sep, n, matches!(f, Bf::SplitAfter));
            strs(parts.iter().map(String::as_str).collect())
        }
        Bf::Replace => {
            let s = sarg(args, 0)?;
            let old = sarg(args, 1)?;
            let new = sarg(args, 2)?;
            if args.len() == 4 {
                let n = to_int(&args[3])?;
                if n < 0 { Value::string(s.replace(old, new)) } else { Value::string(s.replacen(old, new, n as usize)) }
            } else {
                Value::string(s.replace(old, new))
            }
        }
        Bf::Repeat => {
            let s = sarg(args, 0)?;
            let n = to_int(arg(args, 1)?)?;
            if n < 0 {
                return Err(format!("invalid argument for repeat (expected positive integer, got {n})"));
            }
            if n > 1_000_000 || (s.len() as u128) * (n as u128) > MEMORY_BUDGET as u128 {
                return Err("memory budget exceeded".into());
            }
            Value::string(s.repeat(n as usize))
        }
        Bf::Join => {
            let glue = if args.len() == 2 { sarg(args, 1)? } else { "" };
            match arg(args, 0)? {
                Value::Array(items) => {
                    let mut parts = Vec::with_capacity(items.len());
                    for it in items.iter() {
                        match it {
                            Value::String(s) => parts.push(&**s),
                            other => return Err(iface_err(other, "string")),
                        }
                    }
                    Value::string(parts.join(glue))
                }
                other => {
                    return Err(format!("invalid argument for join (type {})", other.go_type_name()));
                }
            }
        }
        Bf::IndexOf => {
            let s = sarg(args, 0)?;
            Value::Int(s.find(sarg(args, 1)?).map_or(-1, |i| i as i64))
        }
        Bf::LastIndexOf => {
            let s = sarg(args, 0)?;
            Value::Int(s.rfind(sarg(args, 1)?).map_or(-1, |i| i as i64))
        }
        Bf::HasPrefix => Value::Bool(sarg(args, 0)?.starts_with(sarg(args, 1)?)),
        Bf::HasSuffix => Value::Bool(sarg(args, 0)?.ends_with(sarg(args, 1)?)),
        Bf::Max => min_max("max", true, args, 0)?,
        Bf::Min => min_max("min", false, args, 0)?,
        Bf::Mean => {
            let mut nums = Vec::new();
            collect_numbers("mean", args, &mut nums, 0)?;
            if nums.is_empty() { Value::Float(0.0) } else { Value::Float(nums.iter().sum::<f64>() / nums.len() as f64) }
        }
        Bf::Median => {
            let mut nums = Vec::new();
            collect_numbers("median", args, &mut nums, 0)?;
            let n = nums.len();
            if n == 0 {
                Value::Float(0.0)
            } else {
                nums.sort_by(f64::total_cmp);
                if n % 2 == 1 { Value::Float(nums[n / 2]) } else { Value::Float((nums[n / 2 - 1] + nums[n / 2]) / 2.0) }
            }
        }
        Bf::ToJson => Value::string(json::to_json(arg(args, 0)?)?),
        Bf::FromJson => json::from_json(sarg(args, 0)?)?,
        Bf::ToBase64 => Value::string(base64_encode(sarg(args, 0)?.as_bytes())),
        Bf::FromBase64 => {
            let bytes = base64_decode(sarg(args, 0)?)?;
            Value::string(String::from_utf8_lossy(&bytes))
        }
        Bf::Now => Value::Time(env.now()),
        Bf::Duration => Value::Duration(gotime::parse_duration(sarg(args, 0)?)?),
        Bf::Date => {
            let s = sarg(args, 0)?;
            match args.len() {
                1 => {
                    let mut found = None;
                    for layout in gotime::DEFAULT_LAYOUTS {
                        if let Ok(t) = gotime::parse(layout, s) {
                            found = Some(t);
                            break;
                        }
                    }
                    match found {
                        Some(t) => Value::Time(t),
                        None => return Err(format!("invalid date {s}")),
                    }
                }
                2 => Value::Time(gotime::parse(sarg(args, 1)?, s)?),
                _ => {
                    let layout = sarg(args, 1)?;
                    let tz = sarg(args, 2)?;
                    if !matches!(tz, "" | "UTC") {
                        return Err(format!("unknown time zone {tz}"));
                    }
                    Value::Time(gotime::parse(layout, s)?)
                }
            }
        }
        Bf::First | Bf::Last => {
            let idx = Value::Int(if matches!(f, Bf::First) { 0 } else { -1 });
            let nil = Value::Nil;
            match eval::fetch(arg(args, 0)?, &idx, &nil) {
                Ok(eval::Fetched::Ref(v)) => v.clone(),
                Ok(eval::Fetched::Own(v)) => v,
                Err(_) => Value::Nil,
            }
        }
        Bf::Get(zero) => match eval::fetch(arg(args, 0)?, arg(args, 1)?, zero) {
            Ok(eval::Fetched::Ref(v)) => v.clone(),
            Ok(eval::Fetched::Own(v)) => v,
            Err(_) => Value::Nil,
        },
        Bf::Take => {
            let a = arg(args, 0)?;
            let Value::Array(items) = a else {
                return Err(format!("cannot take from {}", kind_of(a)));
            };
            let n = match arg(args, 1)? {
                Value::Int(n) | Value::Duration(n) => *n,
                other => return Err(format!("cannot take {} elements", kind_of(other))),
            };
            if n > items.len() as i64 {
                a.clone()
            } else if n < 0 {
                return Err("reflect.Value.Slice: slice index out of bounds".into());
            } else {
                Value::Array(items[..n as usize].into())
            }
        }
        Bf::Keys | Bf::Values => {
            let a = arg(args, 0)?;
            let Value::Map(m) = a else {
                let what = if matches!(f, Bf::Keys) { "keys" } else { "values" };
                return Err(format!("cannot get {what} from {}", kind_of(a)));
            };
            if matches!(f, Bf::Keys) {
                Value::Array(m.keys().map(Value::string).collect::<Vec<_>>().into())
            } else {
                Value::Array(m.values().cloned().collect::<Vec<_>>().into())
            }
        }
        Bf::ToPairs => {
            let a = arg(args, 0)?;
            let Value::Map(m) = a else {
                return Err(format!("cannot transform {} to pairs", kind_of(a)));
            };
            Value::Array(m.iter().map(|(k, v)| Value::array([Value::string(k), v.clone()])).collect::<Vec<_>>().into())
        }
        Bf::FromPairs => {
            let a = arg(args, 0)?;
            let Value::Array(items) = a else {
                return Err(format!("cannot transform {a} from pairs"));
            };
            let mut m = BTreeMap::new();
            for pair in items.iter() {
                let Value::Array(p) = pair else {
                    return Err(format!("invalid pair {pair}"));
                };
                if p.len() != 2 {
                    return Err(format!("invalid pair length {pair}"));
                }
                match &p[0] {
                    Value::String(k) => {
                        m.insert(k.to_string(), p[1].clone());
                    }
                    other => {
                        return Err(format!(
                            "reflect.Value.SetMapIndex: value of type {} is not assignable to type string",
                            other.go_type_name()
                        ));
                    }
                }
            }
            Value::Map(Arc::new(m))
        }
        Bf::Reverse => {
            let a = arg(args, 0)?;
            let Value::Array(items) = a else {
                return Err(format!("cannot reverse {}", kind_of(a)));
            };
            Value::Array(items.iter().rev().cloned().collect::<Vec<_>>().into())
        }
        Bf::Uniq => {
            let a = arg(args, 0)?;
            let Value::Array(items) = a else {
                return Err(format!("cannot uniq {}", kind_of(a)));
            };
            let mut out: Vec<Value> = Vec::new();
            for it in items.iter() {
                if !out.iter().any(|o| eval::equal(it, o)) {
                    out.push(it.clone());
                }
            }
            Value::Array(out.into())
        }
        Bf::Concat => {
            if args.is_empty() {
                return Err("invalid number of arguments (expected at least 1, got 0)".into());
            }
            let mut out = Vec::new();
            for a in args {
                let Value::Array(items) = a else {
                    return Err(format!("cannot concat {}", kind_of(a)));
                };
                if out.len() + items.len() > MEMORY_BUDGET {
                    return Err("memory budget exceeded".into());
                }
                out.extend(items.iter().cloned());
            }
            Value::Array(out.into())
        }
        Bf::Flatten => {
            let a = arg(args, 0)?;
            let Value::Array(items) = a else {
                return Err(format!("cannot flatten {}", kind_of(a)));
            };
            let mut out = Vec::new();
            flatten_into(items, &mut out, 0)?;
            Value::Array(out.into())
        }
        Bf::Sort => {
            let desc = if args.len() == 2 {
                match sarg(args, 1)? {
                    "asc" => false,
                    "desc" => true,
                    other => return Err(format!("invalid order {other}, expected asc or desc")),
                }
            } else {
                false
            };
            let Value::Array(items) = arg(args, 0)? else {
                return Ok(Value::Nil);
            };
            let mut v: Vec<Value> = items.to_vec();
            let mut err = None;
            v.sort_by(|a, b| eval::sort_cmp(a, b, desc, &mut err));
            if let Some(e) = err {
                return Err(e);
            }
            Value::Array(v.into())
        }
        Bf::BitAnd | Bf::BitOr | Bf::BitXor | Bf::BitNand | Bf::BitShl | Bf::BitShr | Bf::BitUshr => {
            let name = match f {
                Bf::BitAnd => "bitand",
                Bf::BitOr => "bitor",
                Bf::BitXor => "bitxor",
                Bf::BitNand => "bitnand",
                Bf::BitShl => "bitshl",
                Bf::BitShr => "bitshr",
                _ => "bitushr",
            };
            let x = bit_arg(args, 0, name)?;
            let y = bit_arg(args, 1, name)?;
            if matches!(f, Bf::BitShl | Bf::BitShr | Bf::BitUshr) && y < 0 {
                return Err(format!("invalid operation: negative shift count {y} (type int)"));
            }
            let sh = u32::try_from(y).unwrap_or(u32::MAX);
            Value::Int(match f {
                Bf::BitAnd => x & y,
                Bf::BitOr => x | y,
                Bf::BitXor => x ^ y,
                Bf::BitNand => x & !y,
                Bf::BitShl => x.checked_shl(sh).unwrap_or(0),
                Bf::BitShr => x.checked_shr(sh).unwrap_or(if x < 0 { -1 } else { 0 }),
                _ => (x as u64).checked_shr(sh).unwrap_or(0) as i64,
            })
        }
        Bf::BitNot => Value::Int(!bit_arg(args, 0, "bitnot")?),
    })
}

// ---------------------------------------------------------------------------------------------
// Methods of time.Time and time.Duration
// ---------------------------------------------------------------------------------------------

/// Static signature of a method on `base` (only `time.Time` and `time.Duration` have methods).
pub(crate) fn method_sig(base: &Type, name: &str) -> Option<Sig> {
    use Type::{Bool, Duration as D, Float, Int, String as S, Time as T};
    Some(match base {
        Type::Duration => match name {
            "Hours" | "Minutes" | "Seconds" => sig(&[], Float),
            "Milliseconds" | "Microseconds" | "Nanoseconds" => sig(&[], Int),
            "String" => sig(&[], S),
            "Abs" => sig(&[], D),
            "Round" | "Truncate" => sig(&[D], D),
            _ => return None,
        },
        Type::Time => match name {
            "Year" | "Month" | "Day" | "Hour" | "Minute" | "Second" | "Nanosecond" | "YearDay" | "Weekday" | "Unix"
            | "UnixMilli" | "UnixMicro" | "UnixNano" => sig(&[], Int),
            "Sub" => sig(&[T], D),
            "Add" | "Truncate" => sig(&[D], T),
            "After" | "Before" | "Equal" => sig(&[T], Bool),
            "IsZero" => sig(&[], Bool),
            "UTC" | "Local" => sig(&[], T),
            "Format" => sig(&[S], S),
            "String" => sig(&[], S),
            _ => return None,
        },
        _ => return None,
    })
}

fn duration_round(d: i64, m: i64) -> i64 {
    if m <= 0 {
        return d;
    }
    let less_than_half = |x: i64, y: i64| (x as u64).wrapping_add(x as u64) < y as u64;
    let mut r = d % m;
    if d < 0 {
        r = -r;
        if less_than_half(r, m) {
            return d + r;
        }
        let d1 = d.wrapping_sub(m).wrapping_add(r);
        if d1 < d {
            return d1;
        }
        return i64::MIN;
    }
    if less_than_half(r, m) {
        return d - r;
    }
    let d1 = d.wrapping_add(m).wrapping_sub(r);
    if d1 > d {
        return d1;
    }
    i64::MAX
}

/// Calls a method on a runtime value (methods of `time.Time`/`time.Duration`; anything else is
/// fetched like a field and then found not to be callable).
pub(crate) fn call_method(base: &Value, name: &str, args: &[Value]) -> Result<Value, String> {
    let ty = match base {
        Value::Time(_) => Type::Time,
        Value::Duration(_) => Type::Duration,
        _ => {
            let key = Value::string(name);
            let nil = Value::Nil;
            let v = match eval::fetch(base, &key, &nil)? {
                eval::Fetched::Ref(v) => v.clone(),
                eval::Fetched::Own(v) => v,
            };
            return Err(if v.is_nil() {
                "invalid operation: cannot call nil".into()
            } else {
                format!("invalid operation: cannot call non-function of type {}", v.go_type_name())
            });
        }
    };
    let Some(s) = method_sig(&ty, name) else {
        return Err(format!("cannot fetch {name} from {}", base.go_type_name()));
    };
    if args.len() != s.params.len() {
        return Err(format!("invalid number of arguments: expected {}, got {}", s.params.len(), args.len()));
    }
    for (a, p) in args.iter().zip(&s.params) {
        if !p.accepts(a) {
            return Err(format!("reflect: Call using {} as type {p}", a.go_type_name()));
        }
    }
    let dur_arg = || match args.first() {
        Some(Value::Duration(d)) => *d,
        _ => 0,
    };
    let time_arg = || match args.first() {
        Some(Value::Time(t)) => *t,
        _ => 0,
    };
    Ok(match *base {
        Value::Duration(d) => match name {
            "Hours" => Value::Float((d / 3_600_000_000_000) as f64 + (d % 3_600_000_000_000) as f64 / 3.6e12),
            "Minutes" => Value::Float((d / 60_000_000_000) as f64 + (d % 60_000_000_000) as f64 / 6e10),
            "Seconds" => Value::Float((d / 1_000_000_000) as f64 + (d % 1_000_000_000) as f64 / 1e9),
            "Milliseconds" => Value::Int(d / 1_000_000),
            "Microseconds" => Value::Int(d / 1_000),
            "Nanoseconds" => Value::Int(d),
            "String" => Value::string(gotime::format_duration(d)),
            "Abs" => Value::Duration(if d >= 0 {
                d
            } else if d == i64::MIN {
                i64::MAX
            } else {
                -d
            }),
            "Round" => Value::Duration(duration_round(d, dur_arg())),
            "Truncate" => {
                let m = dur_arg();
                Value::Duration(if m <= 0 { d } else { d - d % m })
            }
            _ => return Err(format!("cannot fetch {name} from time.Duration")),
        },
        Value::Time(t) => {
            let c = gotime::civil(t);
            match name {
                "Year" => Value::Int(c.year),
                "Month" => Value::Int(c.month),
                "Day" => Value::Int(c.day),
                "Hour" => Value::Int(c.hour),
                "Minute" => Value::Int(c.minute),
                "Second" => Value::Int(c.second),
                "Nanosecond" => Value::Int(c.nanos),
                "YearDay" => Value::Int(c.yday),
                "Weekday" => Value::Int(c.weekday),
                "Unix" => Value::Int(t.div_euclid(1_000_000_000)),
                "UnixMilli" => Value::Int(t.div_euclid(1_000_000)),
                "UnixMicro" => Value::Int(t.div_euclid(1_000)),
                "UnixNano" => Value::Int(t),
                "Sub" => Value::Duration(t.saturating_sub(time_arg())),
                "Add" => Value::Time(t.saturating_add(dur_arg())),
                "Truncate" => {
                    let m = dur_arg();
                    Value::Time(if m <= 0 { t } else { t.saturating_sub(t.rem_euclid(m)) })
                }
                "After" => Value::Bool(t > time_arg()),
                "Before" => Value::Bool(t < time_arg()),
                "Equal" => Value::Bool(t == time_arg()),
                "IsZero" => Value::Bool(t == gotime::ZERO_TIME),
                "UTC" | "Local" => Value::Time(t),
                "Format" => Value::string(gotime::format(t, sarg(args, 0)?)),
                "String" => Value::string(gotime::time_string(t)),
                _ => return Err(format!("cannot fetch {name} from time.Time")),
            }
        }
        _ => Value::Nil,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_like_go() {
        assert_eq!(go_split("a,b,c", ",", -1, false), ["a", "b", "c"]);
        assert_eq!(go_split("a,b,c", ",", 2, false), ["a", "b,c"]);
        assert_eq!(go_split("a,b,", ",", -1, true), ["a,", "b,", ""]);
        assert_eq!(go_split("abc", "", -1, false), ["a", "b", "c"]);
        assert_eq!(go_split("", ",", -1, false), [""]);
        assert!(go_split("a", ",", 0, false).is_empty());
    }

    #[test]
    fn base64() {
        assert_eq!(base64_encode(b"hello"), "aGVsbG8=");
        assert_eq!(base64_decode("aGVsbG8=").unwrap(), b"hello");
        assert_eq!(base64_decode("aGVsbG8").unwrap_err(), "illegal base64 data at input byte 4");
        assert_eq!(base64_decode("a$==").unwrap_err(), "illegal base64 data at input byte 1");
    }
}
