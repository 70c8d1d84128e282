//! Dynamic values and static (Go) types.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use crate::gotime;

/// A dynamic value. Cheap to clone (`Arc` inside for strings/arrays/maps).
///
/// `PartialEq` is *structural identity* (used by tests and callers): `Int(1) != Float(1.0)`
/// and `Float(NaN) == Float(NaN)`. The expression language's own `==` lives in the evaluator.
#[derive(Clone, Debug, Default)]
pub enum Value {
    /// Go `nil`.
    #[default]
    Nil,
    /// Go `bool`.
    Bool(bool),
    /// Go `int` (64-bit, wrapping arithmetic).
    Int(i64),
    /// Go `float64`.
    Float(f64),
    /// Go `string`.
    String(Arc<str>),
    /// Go slice (`[]interface {}` or a typed slice).
    Array(Arc<[Value]>),
    /// Go `map[string]...` (also used for struct values, keyed by field name).
    Map(Arc<BTreeMap<String, Value>>),
    /// Go `time.Time`, as unix nanoseconds, UTC.
    Time(i64),
    /// Go `time.Duration`, in nanoseconds.
    Duration(i64),
}

impl PartialEq for Value {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (Value::Nil, Value::Nil) => true,
            (Value::Bool(a), Value::Bool(b)) => a == b,
            (Value::Int(a), Value::Int(b)) => a == b,
            (Value::Float(a), Value::Float(b)) => a == b || (a.is_nan() && b.is_nan()),
            (Value::String(a), Value::String(b)) => a == b,
            (Value::Array(a), Value::Array(b)) => a == b,
            (Value::Map(a), Value::Map(b)) => a == b,
            (Value::Time(a), Value::Time(b)) => a == b,
            (Value::Duration(a), Value::Duration(b)) => a == b,
            _ => false,
        }
    }
}

impl Value {
    /// Builds a string value.
    pub fn string(s: impl AsRef<str>) -> Value {
        Value::String(Arc::from(s.as_ref()))
    }

    /// Builds an array value.
    pub fn array(items: impl IntoIterator<Item = Value>) -> Value {
        Value::Array(items.into_iter().collect::<Vec<_>>().into())
    }

    /// Builds a map value.
    pub fn map<K: Into<String>>(entries: impl IntoIterator<Item = (K, Value)>) -> Value {
        Value::Map(Arc::new(entries.into_iter().map(|(k, v)| (k.into(), v)).collect()))
    }

    /// True for `Value::Nil`.
    pub fn is_nil(&self) -> bool {
        matches!(self, Value::Nil)
    }

    /// The boolean, if this is a `Bool`.
    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Value::Bool(b) => Some(*b),
            _ => None,
        }
    }

    /// The number as f64, if this is an `Int` or `Float`.
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Value::Int(i) => Some(*i as f64),
            Value::Float(f) => Some(*f),
            _ => None,
        }
    }

    /// The string slice, if this is a `String`.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(s) => Some(s),
            _ => None,
        }
    }

    /// Go's `%T` of the dynamic value (untyped containers print as `[]interface {}` /
    /// `map[string]interface {}`).
    pub fn go_type_name(&self) -> &'static str {
        match self {
            Value::Nil => "<nil>",
            Value::Bool(_) => "bool",
            Value::Int(_) => "int",
            Value::Float(_) => "float64",
            Value::String(_) => "string",
            Value::Array(_) => "[]interface {}",
            Value::Map(_) => "map[string]interface {}",
            Value::Time(_) => "time.Time",
            Value::Duration(_) => "time.Duration",
        }
    }

    /// The type name Go prints in `interface conversion: interface {} is X, not Y`.
    pub(crate) fn iface_name(&self) -> &'static str {
        match self {
            Value::Nil => "nil",
            other => other.go_type_name(),
        }
    }

    /// `reflect.Kind` string of the dynamic value.
    pub(crate) fn reflect_kind(&self) -> &'static str {
        match self {
            Value::Nil => "invalid",
            Value::Bool(_) => "bool",
            Value::Int(_) => "int",
            Value::Float(_) => "float64",
            Value::String(_) => "string",
            Value::Array(_) => "slice",
            Value::Map(_) => "map",
            Value::Time(_) => "struct",
            Value::Duration(_) => "int64",
        }
    }

    pub(crate) fn fmt_go(&self, out: &mut String, depth: usize) {
        if depth > MAX_VALUE_DEPTH {
            out.push_str("...");
            return;
        }
        match self {
            Value::Nil => out.push_str("<nil>"),
            Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            Value::Int(i) => out.push_str(&i.to_string()),
            Value::Float(f) => out.push_str(&format_float_g(*f)),
            Value::String(s) => out.push_str(s),
            Value::Array(items) => {
                out.push('[');
                for (i, v) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(' ');
                    }
                    v.fmt_go(out, depth + 1);
                }
                out.push(']');
            }
            Value::Map(m) => {
                out.push_str("map[");
                for (i, (k, v)) in m.iter().enumerate() {
                    if i > 0 {
                        out.push(' ');
                    }
                    out.push_str(k);
                    out.push(':');
                    v.fmt_go(out, depth + 1);
                }
                out.push(']');
            }
            Value::Time(t) => out.push_str(&gotime::time_string(*t)),
            Value::Duration(d) => out.push_str(&gotime::format_duration(*d)),
        }
    }
}

/// Maximum nesting handled by recursive value operations (formatting, JSON, equality).
pub(crate) const MAX_VALUE_DEPTH: usize = 256;

/// Formats like Go's `fmt.Sprintf("%v", value)`.
impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut s = String::new();
        self.fmt_go(&mut s, 0);
        f.write_str(&s)
    }
}

impl From<bool> for Value {
    fn from(b: bool) -> Self {
        Value::Bool(b)
    }
}
impl From<i64> for Value {
    fn from(i: i64) -> Self {
        Value::Int(i)
    }
}
impl From<i32> for Value {
    fn from(i: i32) -> Self {
        Value::Int(i64::from(i))
    }
}
impl From<f64> for Value {
    fn from(f: f64) -> Self {
        Value::Float(f)
    }
}
impl From<&str> for Value {
    fn from(s: &str) -> Self {
        Value::string(s)
    }
}
impl From<String> for Value {
    fn from(s: String) -> Self {
        Value::String(Arc::from(s))
    }
}
impl From<Vec<Value>> for Value {
    fn from(v: Vec<Value>) -> Self {
        Value::Array(v.into())
    }
}
impl From<BTreeMap<String, Value>> for Value {
    fn from(m: BTreeMap<String, Value>) -> Self {
        Value::Map(Arc::new(m))
    }
}

/// Formats a float like Go's `%v` (`strconv.FormatFloat(f, 'g', -1, 64)`: shortest digits,
/// `%e` form when the decimal exponent is < -4 or >= 6).
pub(crate) fn format_float_g(f: f64) -> String {
    if f.is_nan() {
        return "NaN".into();
    }
    if f.is_infinite() {
        return if f > 0.0 { "+Inf".into() } else { "-Inf".into() };
    }
    if f == 0.0 {
        return if f.is_sign_negative() { "-0".into() } else { "0".into() };
    }
    let (neg, digits, exp) = shortest_digits(f);
    // Go: %v uses 'g' with shortest precision, which uses precision 6 for the %e decision.
    if !(-4..6).contains(&exp) { format_exp(neg, &digits, exp, true) } else { format!("{f}") }
}

/// Formats like Go's `encoding/json` float encoder.
pub(crate) fn format_float_json(f: f64) -> String {
    let abs = f.abs();
    if abs != 0.0 && !(1e-6..1e21).contains(&abs) {
        let (neg, digits, exp) = shortest_digits(f);
        let mut s = format_exp(neg, &digits, exp, true);
        // clean up e-09 to e-9
        let b = s.as_bytes();
        let n = b.len();
        if n >= 4 && b[n - 4] == b'e' && b[n - 3] == b'-' && b[n - 2] == b'0' {
            let last = b[n - 1] as char;
            s.truncate(n - 2);
            s.push(last);
        }
        s
    } else {
        format!("{f}")
    }
}

/// Shortest round-trip digits of `f` (non-zero, finite): (negative, digits, decimal exponent).
fn shortest_digits(f: f64) -> (bool, String, i32) {
    let s = format!("{:e}", f.abs());
    let (mant, exp) = s.split_once('e').unwrap_or((&s, "0"));
    let digits: String = mant.chars().filter(char::is_ascii_digit).collect();
    let exp: i32 = exp.parse().unwrap_or(0);
    (f.is_sign_negative(), digits, exp)
}

fn format_exp(neg: bool, digits: &str, exp: i32, two_digit_exp: bool) -> String {
    let mut s = String::new();
    if neg {
        s.push('-');
    }
    let mut chars = digits.chars();
    if let Some(c) = chars.next() {
        s.push(c);
    }
    let rest: String = chars.collect();
    if !rest.is_empty() {
        s.push('.');
        s.push_str(&rest);
    }
    s.push('e');
    s.push(if exp < 0 { '-' } else { '+' });
    let e = exp.unsigned_abs();
    if two_digit_exp && e < 10 {
        s.push('0');
    }
    s.push_str(&e.to_string());
    s
}

/// A static (Go) type known at compile time. `Any` = Go `interface{}` (checked only at runtime).
#[derive(Clone, Debug, PartialEq)]
pub enum Type {
    /// `interface {}`: unknown statically, everything is checked at runtime.
    Any,
    /// The type of the `nil` literal.
    Nil,
    /// `bool`
    Bool,
    /// `int`
    Int,
    /// `float64`
    Float,
    /// `string`
    String,
    /// `time.Time`
    Time,
    /// `time.Duration`
    Duration,
    /// `[]T`
    Array(Box<Type>),
    /// `map[string]T`
    Map(Box<Type>),
    /// An anonymous struct; values are `Value::Map` keyed by field name.
    Struct(Arc<Vec<(String, Type)>>),
}

impl Type {
    /// `[]elem`
    pub fn array(elem: Type) -> Type {
        Type::Array(Box::new(elem))
    }

    /// `map[string]elem`
    pub fn map(elem: Type) -> Type {
        Type::Map(Box::new(elem))
    }

    /// `struct { ... }`
    pub fn structure<K: Into<String>>(fields: impl IntoIterator<Item = (K, Type)>) -> Type {
        Type::Struct(Arc::new(fields.into_iter().map(|(k, t)| (k.into(), t)).collect()))
    }

    /// The Go zero value of the type.
    pub fn zero_value(&self) -> Value {
        match self {
            Type::Bool => Value::Bool(false),
            Type::Int => Value::Int(0),
            Type::Float => Value::Float(0.0),
            Type::String => Value::string(""),
            Type::Duration => Value::Duration(0),
            Type::Time => Value::Time(gotime::ZERO_TIME),
            Type::Struct(fields) => {
                Value::Map(Arc::new(fields.iter().map(|(k, t)| (k.clone(), t.zero_value())).collect()))
            }
            Type::Any | Type::Nil | Type::Array(_) | Type::Map(_) => Value::Nil,
        }
    }

    pub(crate) fn is_unknown(&self) -> bool {
        matches!(self, Type::Any)
    }
    pub(crate) fn is_integer(&self) -> bool {
        matches!(self, Type::Int | Type::Duration)
    }
    pub(crate) fn is_float(&self) -> bool {
        matches!(self, Type::Float)
    }
    pub(crate) fn is_number(&self) -> bool {
        self.is_integer() || self.is_float()
    }
    pub(crate) fn is_string(&self) -> bool {
        matches!(self, Type::String)
    }
    pub(crate) fn is_bool(&self) -> bool {
        matches!(self, Type::Bool)
    }
    pub(crate) fn is_time(&self) -> bool {
        matches!(self, Type::Time)
    }
    pub(crate) fn is_duration(&self) -> bool {
        matches!(self, Type::Duration)
    }
    pub(crate) fn is_array(&self) -> bool {
        matches!(self, Type::Array(_))
    }
    pub(crate) fn is_map(&self) -> bool {
        matches!(self, Type::Map(_))
    }
    pub(crate) fn is_struct(&self) -> bool {
        matches!(self, Type::Struct(_) | Type::Time)
    }

    /// Element type of an array (Any for unknown).
    pub(crate) fn elem(&self) -> Type {
        match self {
            Type::Array(e) | Type::Map(e) => (**e).clone(),
            _ => Type::Any,
        }
    }

    /// `reflect.Kind`-like discriminant used where Go compares kinds.
    pub(crate) fn kind(&self) -> u8 {
        match self {
            Type::Any => 0,
            Type::Nil => 1,
            Type::Bool => 2,
            Type::Int => 3,
            Type::Float => 4,
            Type::String => 5,
            Type::Time | Type::Struct(_) => 6,
            Type::Duration => 7,
            Type::Array(_) => 8,
            Type::Map(_) => 9,
        }
    }

    /// Go assignability (identical types, anything to `interface {}`, nil to interfaces).
    pub(crate) fn assignable_to(&self, to: &Type) -> bool {
        if matches!(to, Type::Any) {
            return true;
        }
        if matches!(self, Type::Nil) {
            return false;
        }
        self == to
    }

    /// Whether a runtime value may be passed where this static type is expected
    /// (the VM's typed-call type assertion).
    pub(crate) fn accepts(&self, v: &Value) -> bool {
        match self {
            Type::Any => true,
            Type::Nil => v.is_nil(),
            Type::Bool => matches!(v, Value::Bool(_)),
            Type::Int => matches!(v, Value::Int(_)),
            Type::Float => matches!(v, Value::Float(_)),
            Type::String => matches!(v, Value::String(_)),
            Type::Time => matches!(v, Value::Time(_)),
            Type::Duration => matches!(v, Value::Duration(_)),
            Type::Array(_) => matches!(v, Value::Array(_)),
            Type::Map(_) | Type::Struct(_) => matches!(v, Value::Map(_)),
        }
    }
}

/// Go type names: `float64`, `[]float64`, `map[string]interface {}`, `time.Time`, ...
impl fmt::Display for Type {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Type::Any => f.write_str("interface {}"),
            Type::Nil => f.write_str("nil"),
            Type::Bool => f.write_str("bool"),
            Type::Int => f.write_str("int"),
            Type::Float => f.write_str("float64"),
            Type::String => f.write_str("string"),
            Type::Time => f.write_str("time.Time"),
            Type::Duration => f.write_str("time.Duration"),
            Type::Array(e) => write!(f, "[]{e}"),
            Type::Map(e) => write!(f, "map[string]{e}"),
            Type::Struct(fields) => {
                if fields.is_empty() {
                    return f.write_str("struct {}");
                }
                f.write_str("struct { ")?;
                for (i, (name, t)) in fields.iter().enumerate() {
                    if i > 0 {
                        f.write_str("; ")?;
                    }
                    write!(f, "{name} {t}")?;
                }
                f.write_str(" }")
            }
        }
    }
}

/// Go's `strconv.Quote` (close enough for error messages).
pub(crate) fn go_quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{7}' => out.push_str("\\a"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\u{b}' => out.push_str("\\v"),
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                out.push_str(&format!("\\x{:02x}", c as u32));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[track_caller]
    fn g(f: f64, expected: &str) {
        assert_eq!(format_float_g(f), expected);
    }

    #[test]
    fn go_float_formatting() {
        g(1.0, "1");
        g(1.5, "1.5");
        g(0.1, "0.1");
        g(-2.25, "-2.25");
        g(1e6, "1e+06");
        g(123456.0, "123456");
        g(1234567.0, "1.234567e+06");
        g(1e-5, "1e-05");
        g(0.0001, "0.0001");
        g(1e21, "1e+21");
        g(f64::NAN, "NaN");
        g(f64::INFINITY, "+Inf");
        g(f64::NEG_INFINITY, "-Inf");
    }

    #[test]
    fn json_float_formatting() {
        assert_eq!(format_float_json(1.0), "1");
        assert_eq!(format_float_json(0.5), "0.5");
        assert_eq!(format_float_json(1e20), "100000000000000000000");
        assert_eq!(format_float_json(1e21), "1e+21");
        assert_eq!(format_float_json(1e-7), "1e-7");
    }

    #[test]
    fn type_names() {
        assert_eq!(Type::array(Type::Float).to_string(), "[]float64");
        assert_eq!(Type::array(Type::Any).to_string(), "[]interface {}");
        assert_eq!(Type::map(Type::Any).to_string(), "map[string]interface {}");
        assert_eq!(Type::Any.to_string(), "interface {}");
        assert_eq!(Type::Duration.to_string(), "time.Duration");
        assert_eq!(
            Type::structure([("A", Type::Float), ("B", Type::String)]).to_string(),
            "struct { A float64; B string }"
        );
    }

    #[test]
    fn value_display() {
        let v = Value::array([Value::Int(1), Value::Float(2.5), Value::string("x")]);
        assert_eq!(v.to_string(), "[1 2.5 x]");
        let m = Value::map([("b", Value::Int(2)), ("a", Value::Nil)]);
        assert_eq!(m.to_string(), "map[a:<nil> b:2]");
        assert_eq!(Value::Duration(90_000_000_000).to_string(), "1m30s");
    }
}
