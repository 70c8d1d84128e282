//! `toJSON` (Go `json.MarshalIndent(v, "", "  ")`) and `fromJSON` (Go `json.Unmarshal` into
//! `interface{}`).

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::gotime;
use crate::value::{MAX_VALUE_DEPTH, Value, format_float_json};

pub(crate) fn to_json(v: &Value) -> Result<String, String> {
    let mut out = String::new();
    write_value(v, &mut out, 0)?;
    Ok(out)
}

fn indent(out: &mut String, depth: usize) {
    out.push('\n');
    for _ in 0..depth {
        out.push_str("  ");
    }
}

fn write_value(v: &Value, out: &mut String, depth: usize) -> Result<(), String> {
    if depth > MAX_VALUE_DEPTH {
        return Err("json: unsupported value: nesting too deep".into());
    }
    match v {
        Value::Nil => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Int(i) => out.push_str(&i.to_string()),
        Value::Duration(d) => out.push_str(&d.to_string()),
        Value::Float(f) => {
            if !f.is_finite() {
                return Err(format!("json: unsupported value: {}", crate::value::format_float_g(*f)));
            }
            out.push_str(&format_float_json(*f));
        }
        Value::String(s) => write_string(s, out),
        Value::Time(t) => write_string(&gotime::rfc3339_nano(*t), out),
        Value::Array(items) => {
            if items.is_empty() {
                out.push_str("[]");
                return Ok(());
            }
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                indent(out, depth + 1);
                write_value(item, out, depth + 1)?;
            }
            indent(out, depth);
            out.push(']');
        }
        Value::Map(m) => {
            if m.is_empty() {
                out.push_str("{}");
                return Ok(());
            }
            out.push('{');
            for (i, (k, item)) in m.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                indent(out, depth + 1);
                write_string(k, out);
                out.push_str(": ");
                write_value(item, out, depth + 1)?;
            }
            indent(out, depth);
            out.push('}');
        }
    }
    Ok(())
}

fn write_string(s: &str, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '<' => out.push_str("\\u003c"),
            '>' => out.push_str("\\u003e"),
            '&' => out.push_str("\\u0026"),
            '\u{2028}' => out.push_str("\\u2028"),
            '\u{2029}' => out.push_str("\\u2029"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
}

pub(crate) fn from_json(s: &str) -> Result<Value, String> {
    let mut p = JsonParser { b: s.as_bytes(), pos: 0 };
    p.ws();
    if p.pos >= p.b.len() {
        return Err("unexpected end of JSON input".into());
    }
    let v = p.value(0)?;
    p.ws();
    if p.pos < p.b.len() {
        return Err(format!("invalid character {} after top-level value", p.quote_char()));
    }
    Ok(v)
}

struct JsonParser<'a> {
    b: &'a [u8],
    pos: usize,
}

impl JsonParser<'_> {
    fn ws(&mut self) {
        while self.pos < self.b.len() && matches!(self.b[self.pos], b' ' | b'\t' | b'\n' | b'\r') {
            self.pos += 1;
        }
    }

    fn quote_char(&self) -> String {
        let rest = std::str::from_utf8(&self.b[self.pos..]).unwrap_or("");
        match rest.chars().next() {
            Some('\'') => "'\\''".into(),
            Some('"') => "'\"'".into(),
            Some(c) if c.is_control() => format!("'\\x{:02x}'", c as u32),
            Some(c) => format!("'{c}'"),
            None => "EOF".into(),
        }
    }

    fn eof_or(&self, context: &str) -> String {
        if self.pos >= self.b.len() {
            "unexpected end of JSON input".into()
        } else {
            format!("invalid character {} {context}", self.quote_char())
        }
    }

    fn value(&mut self, depth: usize) -> Result<Value, String> {
        if depth > MAX_VALUE_DEPTH {
            return Err("exceeded max depth".into());
        }
        self.ws();
        let Some(&c) = self.b.get(self.pos) else {
            return Err("unexpected end of JSON input".into());
        };
        match c {
            b'{' => {
                self.pos += 1;
                let mut m = BTreeMap::new();
                self.ws();
                if self.b.get(self.pos) == Some(&b'}') {
                    self.pos += 1;
                    return Ok(Value::Map(Arc::new(m)));
                }
                loop {
                    self.ws();
                    if self.b.get(self.pos) != Some(&b'"') {
                        return Err(self.eof_or("looking for beginning of object key string"));
                    }
                    let k = self.string()?;
                    self.ws();
                    if self.b.get(self.pos) != Some(&b':') {
                        return Err(self.eof_or("after object key"));
                    }
                    self.pos += 1;
                    let v = self.value(depth + 1)?;
                    m.insert(k, v);
                    self.ws();
                    match self.b.get(self.pos) {
                        Some(b',') => self.pos += 1,
                        Some(b'}') => {
                            self.pos += 1;
                            return Ok(Value::Map(Arc::new(m)));
                        }
                        _ => return Err(self.eof_or("after object key:value pair")),
                    }
                }
            }
            b'[' => {
                self.pos += 1;
                let mut items = Vec::new();
                self.ws();
                if self.b.get(self.pos) == Some(&b']') {
                    self.pos += 1;
                    return Ok(Value::Array(items.into()));
                }
                loop {
                    items.push(self.value(depth + 1)?);
                    self.ws();
                    match self.b.get(self.pos) {
                        Some(b',') => self.pos += 1,
                        Some(b']') => {
                            self.pos += 1;
                            return Ok(Value::Array(items.into()));
                        }
                        _ => return Err(self.eof_or("after array element")),
                    }
                }
            }
            b'"' => Ok(Value::string(self.string()?)),
            b't' => self.literal("true", Value::Bool(true)),
            b'f' => self.literal("false", Value::Bool(false)),
            b'n' => self.literal("null", Value::Nil),
            b'-' | b'0'..=b'9' => self.number(),
            _ => Err(format!("invalid character {} looking for beginning of value", self.quote_char())),
        }
    }

    fn literal(&mut self, word: &str, v: Value) -> Result<Value, String> {
        for (i, expected) in word.bytes().enumerate() {
            match self.b.get(self.pos) {
                None => return Err("unexpected end of JSON input".into()),
                Some(&c) if c == expected => self.pos += 1,
                Some(_) => {
                    return Err(format!(
                        "invalid character {} in literal {word} (expecting '{}')",
                        self.quote_char(),
                        word.as_bytes()[i] as char
                    ));
                }
            }
        }
        Ok(v)
    }

    fn number(&mut self) -> Result<Value, String> {
        let start = self.pos;
        let digits = |p: &mut Self| {
            let s = p.pos;
            while p.pos < p.b.len() && p.b[p.pos].is_ascii_digit() {
                p.pos += 1;
            }
            p.pos - s
        };
        if self.b.get(self.pos) == Some(&b'-') {
            self.pos += 1;
        }
        match self.b.get(self.pos) {
            Some(b'0') => self.pos += 1,
            Some(b'1'..=b'9') => {
                digits(self);
            }
            _ => return Err(self.eof_or("in numeric literal")),
        }
        if self.b.get(self.pos) == Some(&b'.') {
            self.pos += 1;
            if digits(self) == 0 {
                return Err(self.eof_or("after decimal point in numeric literal"));
            }
        }
        if matches!(self.b.get(self.pos), Some(b'e' | b'E')) {
            self.pos += 1;
            if matches!(self.b.get(self.pos), Some(b'+' | b'-')) {
                self.pos += 1;
            }
            if digits(self) == 0 {
                return Err(self.eof_or("in exponent of numeric literal"));
            }
        }
        let text = std::str::from_utf8(&self.b[start..self.pos]).unwrap_or("0");
        match text.parse::<f64>() {
            Ok(f) if f.is_finite() => Ok(Value::Float(f)),
            _ => Err(format!("json: cannot unmarshal number {text} into Go value of type float64")),
        }
    }

    fn string(&mut self) -> Result<String, String> {
        self.pos += 1; // opening quote
        let mut out: Vec<u8> = Vec::new();
        loop {
            let Some(&c) = self.b.get(self.pos) else {
                return Err("unexpected end of JSON input".into());
            };
            match c {
                b'"' => {
                    self.pos += 1;
                    return Ok(String::from_utf8_lossy(&out).into_owned());
                }
                b'\\' => {
                    self.pos += 1;
                    let Some(&e) = self.b.get(self.pos) else {
                        return Err("unexpected end of JSON input".into());
                    };
                    self.pos += 1;
                    let simple = match e {
                        b'"' => Some(b'"'),
                        b'\\' => Some(b'\\'),
                        b'/' => Some(b'/'),
                        b'b' => Some(8),
                        b'f' => Some(12),
                        b'n' => Some(b'\n'),
                        b'r' => Some(b'\r'),
                        b't' => Some(b'\t'),
                        _ => None,
                    };
                    if let Some(s) = simple {
                        out.push(s);
                        continue;
                    }
                    if e != b'u' {
                        self.pos -= 1;
                        return Err(format!("invalid character {} in string escape code", self.quote_char()));
                    }
                    let mut cp = self.hex4()?;
                    if (0xD800..0xDC00).contains(&cp)
                        && self.b.get(self.pos) == Some(&b'\\')
                        && self.b.get(self.pos + 1) == Some(&b'u')
                    {
                        let save = self.pos;
                        self.pos += 2;
                        let lo = self.hex4()?;
                        if (0xDC00..0xE000).contains(&lo) {
                            cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                        } else {
                            self.pos = save;
                        }
                    }
                    let ch = char::from_u32(cp).unwrap_or('\u{fffd}');
                    let mut buf = [0u8; 4];
                    out.extend_from_slice(ch.encode_utf8(&mut buf).as_bytes());
                }
                c if c < 0x20 => {
                    return Err(format!("invalid character {} in string literal", self.quote_char()));
                }
                c => {
                    out.push(c);
                    self.pos += 1;
                }
            }
        }
    }

    fn hex4(&mut self) -> Result<u32, String> {
        let mut v = 0u32;
        for _ in 0..4 {
            let Some(&h) = self.b.get(self.pos) else {
                return Err("unexpected end of JSON input".into());
            };
            let Some(d) = (h as char).to_digit(16) else {
                return Err(format!("invalid character {} in \\u hexadecimal character escape", self.quote_char()));
            };
            v = v * 16 + d;
            self.pos += 1;
        }
        Ok(v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roundtrip() {
        let v = from_json(r#"{"a": [1, 2.5, "x\u00e9"], "b": null, "c": true}"#).unwrap();
        assert_eq!(
            to_json(&v).unwrap(),
            "{\n  \"a\": [\n    1,\n    2.5,\n    \"x\u{e9}\"\n  ],\n  \"b\": null,\n  \"c\": true\n}"
        );
        assert_eq!(to_json(&Value::string("<a&b>")).unwrap(), "\"\\u003ca\\u0026b\\u003e\"");
        assert_eq!(to_json(&Value::array([])).unwrap(), "[]");
    }

    #[test]
    fn errors() {
        assert_eq!(from_json("x").unwrap_err(), "invalid character 'x' looking for beginning of value");
        assert_eq!(from_json("[1,").unwrap_err(), "unexpected end of JSON input");
        assert_eq!(from_json("").unwrap_err(), "unexpected end of JSON input");
        assert_eq!(from_json("1 2").unwrap_err(), "invalid character '2' after top-level value");
        let deep = "[".repeat(100_000);
        assert!(from_json(&deep).is_err());
        assert_eq!(to_json(&Value::Float(f64::NAN)).unwrap_err(), "json: unsupported value: NaN");
    }
}
