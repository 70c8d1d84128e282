//! Go's text renderings of decoded JSON values.
//!
//! * [`go_json`]: `encoding/json.Marshal` of a value decoded into Go `any` (what Argo's web
//!   provider stores as a measurement's `value`).
//! * [`go_v`] / [`go_sharp_v`]: `fmt`'s `%v` and `%#v`, used only to reproduce the wording
//!   of a few Kubernetes JSONPath error messages.

use serde_json::Value;

/// Formats `value` exactly as Go's `json.Marshal` formats the same document decoded into
/// `any`.
///
/// * compact, object keys sorted by their bytes (Go sorts `map[string]any` keys);
/// * strings escaped as Go does with HTML escaping on: `<`, `>`, `&` become `\u003c`,
///   `\u003e`, `\u0026`, U+2028/U+2029 become `\u2028`/`\u2029`, other control characters
///   become `\b`, `\f`, `\n`, `\r`, `\t` or `\u00XX` (Go ≥ 1.22 wording);
/// * every number is a Go `float64` (`json.Unmarshal` into `any` never yields integers),
///   printed as `strconv.AppendFloat(f, 'f', -1, 64)` unless `abs < 1e-6` or
///   `abs >= 1e21`, where the shortest `'e'` form is used with Go's exponent clean-up
///   (`1e-07` ⇒ `1e-7`, `1e+21` stays). So `5` ⇒ `5`, `-0.0` ⇒ `-0`, and the integer
///   `12345678901234567890` ⇒ `12345678901234567000`.
///
/// ```
/// use augur_provider_api::gofmt::go_json;
/// let v = serde_json::json!({"b": [1.0, 1e21, 1e-7], "a": "<&>"});
/// assert_eq!(go_json(&v), r#"{"a":"\u003c\u0026\u003e","b":[1,1e+21,1e-7]}"#);
/// ```
pub fn go_json(value: &Value) -> String {
    let mut out = String::new();
    write_json(&mut out, value);
    out
}

fn write_json(out: &mut String, value: &Value) {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => out.push_str(&json_float(number_f64(n))),
        Value::String(s) => write_json_string(out, s),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_json(out, item);
            }
            out.push(']');
        }
        Value::Object(map) => {
            out.push('{');
            for (i, (key, item)) in sorted_entries(map).into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_json_string(out, key);
                out.push(':');
                write_json(out, item);
            }
            out.push('}');
        }
    }
}

/// The entries of a JSON object in Go's map-key order (bytewise).
pub fn sorted_entries(map: &serde_json::Map<String, Value>) -> Vec<(&String, &Value)> {
    let mut entries: Vec<_> = map.iter().collect();
    entries.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
    entries
}

/// A JSON number as the `float64` Go's decoder would have produced.
pub fn number_f64(n: &serde_json::Number) -> f64 {
    n.as_f64().or_else(|| n.to_string().parse::<f64>().ok()).unwrap_or(f64::NAN)
}

fn write_json_string(out: &mut String, s: &str) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '<' => out.push_str("\\u003c"),
            '>' => out.push_str("\\u003e"),
            '&' => out.push_str("\\u0026"),
            '\u{2028}' => out.push_str("\\u2028"),
            '\u{2029}' => out.push_str("\\u2029"),
            c if (c as u32) < 0x20 => {
                let b = c as u32 as usize;
                out.push_str("\\u00");
                out.push(char::from(HEX[b >> 4]));
                out.push(char::from(HEX[b & 0xF]));
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// Splits Rust's shortest `{:e}` rendering of a finite, non-zero `|f|` into the mantissa
/// digits (`"1.5"`) and the decimal exponent.
fn shortest_exp(f: f64) -> (String, i32) {
    let s = format!("{:e}", f.abs());
    match s.split_once('e') {
        Some((mantissa, exp)) => (mantissa.to_string(), exp.parse().unwrap_or(0)),
        None => (s, 0),
    }
}

/// Go's `encoding/json` float64 encoding (see [`go_json`]).
pub fn json_float(f: f64) -> String {
    if !f.is_finite() {
        // json.Marshal refuses these; they cannot come out of a decoded document.
        return "null".to_string();
    }
    let abs = f.abs();
    if abs != 0.0 && !(1e-6..1e21).contains(&abs) {
        let (mantissa, exp) = shortest_exp(f);
        let sign = if f < 0.0 { "-" } else { "" };
        let exp_sign = if exp < 0 { '-' } else { '+' };
        format!("{sign}{mantissa}e{exp_sign}{}", exp.unsigned_abs())
    } else {
        // Rust's Display prints the shortest round-trip digits without an exponent,
        // which is Go's `'f', -1`; `-0.0` prints as `-0` in both.
        format!("{f}")
    }
}

/// Go's `fmt` `%v` of a `float64`: `strconv.FormatFloat(f, 'g', -1, 64)`, i.e. the
/// shortest digits, in exponent form (`1e+06`, two-digit exponent at least) when the
/// decimal exponent is `< -4` or `>= 6`.
pub fn go_float_v(f: f64) -> String {
    if f.is_nan() {
        return "NaN".to_string();
    }
    if f.is_infinite() {
        return if f > 0.0 { "+Inf" } else { "-Inf" }.to_string();
    }
    if f == 0.0 {
        return format!("{f}");
    }
    let (mantissa, exp) = shortest_exp(f);
    if !(-4..6).contains(&exp) {
        let sign = if f < 0.0 { "-" } else { "" };
        let exp_sign = if exp < 0 { '-' } else { '+' };
        format!("{sign}{mantissa}e{exp_sign}{:02}", exp.unsigned_abs())
    } else {
        format!("{f}")
    }
}

/// Go's `fmt` `%v` of a decoded JSON value (`map[a:1 b:[x y]]`, `<nil>`, raw strings).
pub fn go_v(value: &Value) -> String {
    match value {
        Value::Null => "<nil>".to_string(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => go_float_v(number_f64(n)),
        Value::String(s) => s.clone(),
        Value::Array(items) => {
            let parts: Vec<String> = items.iter().map(go_v).collect();
            format!("[{}]", parts.join(" "))
        }
        Value::Object(map) => {
            let parts: Vec<String> = sorted_entries(map).into_iter().map(|(k, v)| format!("{k}:{}", go_v(v))).collect();
            format!("map[{}]", parts.join(" "))
        }
    }
}

/// Go's `fmt` `%#v` of a decoded JSON value held in an `interface{}`.
pub fn go_sharp_v(value: &Value) -> String {
    fn inner(value: &Value, nested: bool) -> String {
        match value {
            Value::Null if nested => "interface {}(nil)".to_string(),
            Value::Null => "<nil>".to_string(),
            Value::Bool(b) => b.to_string(),
            Value::Number(n) => go_float_v(number_f64(n)),
            Value::String(s) => go_quote(s),
            Value::Array(items) => {
                let parts: Vec<String> = items.iter().map(|v| inner(v, true)).collect();
                format!("[]interface {{}}{{{}}}", parts.join(", "))
            }
            Value::Object(map) => {
                let parts: Vec<String> = sorted_entries(map)
                    .into_iter()
                    .map(|(k, v)| format!("{}:{}", go_quote(k), inner(v, true)))
                    .collect();
                format!("map[string]interface {{}}{{{}}}", parts.join(", "))
            }
        }
    }
    inner(value, false)
}

/// Go's `strconv.Quote` (printability approximated by "not a control character").
pub fn go_quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{7}' => out.push_str("\\a"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{b}' => out.push_str("\\v"),
            c if (c as u32) < 0x20 || c == '\u{7f}' => {
                out.push_str(&format!("\\x{:02x}", c as u32));
            }
            c if c.is_control() => {
                if (c as u32) < 0x10000 {
                    out.push_str(&format!("\\u{:04x}", c as u32));
                } else {
                    out.push_str(&format!("\\U{:08x}", c as u32));
                }
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
    use serde_json::json;

    #[test]
    fn float_v_matches_go_fmt() {
        let cases: &[(f64, &str)] = &[
            (0.0, "0"),
            (1.0, "1"),
            (123456.0, "123456"),
            (1e6, "1e+06"),
            (1234567.0, "1.234567e+06"),
            (0.0001, "0.0001"),
            (0.00001, "1e-05"),
            (-2.5e-10, "-2.5e-10"),
            (1e100, "1e+100"),
        ];
        for (f, want) in cases {
            assert_eq!(go_float_v(*f), *want, "{f}");
        }
    }

    #[test]
    fn v_and_sharp_v() {
        let v = json!({"b": [1.0, "x", null], "a": {"c": true}});
        assert_eq!(go_v(&v), "map[a:map[c:true] b:[1 x <nil>]]");
        assert_eq!(
            go_sharp_v(&v),
            r#"map[string]interface {}{"a":map[string]interface {}{"c":true}, "b":[]interface {}{1, "x", interface {}(nil)}}"#
        );
        assert_eq!(go_sharp_v(&json!("a\"b\n")), r#""a\"b\n""#);
        assert_eq!(go_sharp_v(&Value::Null), "<nil>");
    }
}
