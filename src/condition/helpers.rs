//! Go conversions the Argo helpers rely on (`strconv.ParseInt`, `strconv.ParseFloat`,
//! `int64(float64)`), shared by both dialects.

use crate::duration::go_quote;

/// Go's `int64(f)` on amd64: truncation toward zero; NaN, ±Inf and out-of-range values
/// give the "integer indefinite" value `math.MinInt64`.
pub(crate) fn as_int_float(f: f64) -> i64 {
    // 2^63: the first float64 outside int64's range on either side.
    const LIMIT: f64 = 9_223_372_036_854_775_808.0;
    if f.is_nan() || !(-LIMIT..LIMIT).contains(&f) { i64::MIN } else { f.trunc() as i64 }
}

/// Go's `strconv.ParseInt(s, 10, 64)`, with its error messages.
pub(crate) fn as_int_str(s: &str) -> Result<i64, String> {
    let digits = s.strip_prefix(['+', '-']).unwrap_or(s);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("strconv.ParseInt: parsing {}: invalid syntax", go_quote(s)));
    }
    s.parse::<i64>().map_err(|_| format!("strconv.ParseInt: parsing {}: value out of range", go_quote(s)))
}

/// Go's `strconv.ParseFloat(s, 64)`, with its error messages.
pub(crate) fn as_float_str(s: &str) -> Result<f64, String> {
    let unsigned = s.strip_prefix(['+', '-']).unwrap_or(s);
    let negative = s.starts_with('-');
    let lower = unsigned.to_ascii_lowercase();
    match lower.as_str() {
        "inf" | "infinity" => return Ok(if negative { f64::NEG_INFINITY } else { f64::INFINITY }),
        "nan" if unsigned.len() == s.len() => return Ok(f64::NAN),
        _ => {}
    }
    let syntax = || format!("strconv.ParseFloat: parsing {}: invalid syntax", go_quote(s));
    // Rust accepts a few spellings Go does not ("inf" handled above; "infinity" too).
    if unsigned.is_empty()
        || !unsigned.bytes().all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'e' | b'E' | b'+' | b'-'))
    {
        return Err(syntax());
    }
    let v: f64 = s.parse().map_err(|_| syntax())?;
    if v.is_infinite() {
        return Err(format!("strconv.ParseFloat: parsing {}: value out of range", go_quote(s)));
    }
    Ok(v)
}

/// Prometheus' and Go's `strconv.FormatFloat(f, 'f', -1, 64)`: `10`, `0.5`, `NaN`, `+Inf`.
pub fn go_float_f(f: f64) -> String {
    if f.is_nan() {
        "NaN".to_string()
    } else if f.is_infinite() {
        if f > 0.0 { "+Inf".to_string() } else { "-Inf".to_string() }
    } else {
        format!("{f}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_int() {
        assert_eq!(as_int_str("42"), Ok(42));
        assert_eq!(as_int_str("-7"), Ok(-7));
        assert_eq!(as_int_str("+7"), Ok(7));
        assert_eq!(as_int_str("1.1"), Err("strconv.ParseInt: parsing \"1.1\": invalid syntax".into()));
        assert_eq!(as_int_str("abc"), Err("strconv.ParseInt: parsing \"abc\": invalid syntax".into()));
        assert_eq!(as_int_str(""), Err("strconv.ParseInt: parsing \"\": invalid syntax".into()));
        assert_eq!(
            as_int_str("99999999999999999999"),
            Err("strconv.ParseInt: parsing \"99999999999999999999\": value out of range".into())
        );
    }

    #[test]
    fn parse_float() {
        assert_eq!(as_float_str("1.5"), Ok(1.5));
        assert_eq!(as_float_str("1e3"), Ok(1000.0));
        assert_eq!(as_float_str(".5"), Ok(0.5));
        assert_eq!(as_float_str("-Inf"), Ok(f64::NEG_INFINITY));
        assert_eq!(as_float_str("+inf"), Ok(f64::INFINITY));
        assert!(as_float_str("NaN").is_ok_and(f64::is_nan));
        assert_eq!(as_float_str("NotANum"), Err("strconv.ParseFloat: parsing \"NotANum\": invalid syntax".into()));
        assert_eq!(as_float_str("1e400"), Err("strconv.ParseFloat: parsing \"1e400\": value out of range".into()));
    }

    #[test]
    fn float_to_int() {
        assert_eq!(as_int_float(1.9), 1);
        assert_eq!(as_int_float(-1.9), -1);
        assert_eq!(as_int_float(f64::NAN), i64::MIN);
        assert_eq!(as_int_float(f64::INFINITY), i64::MIN);
    }

    #[test]
    fn float_formats() {
        assert_eq!(go_float_f(10.0), "10");
        assert_eq!(go_float_f(f64::INFINITY), "+Inf");
        assert_eq!(go_float_f(f64::NAN), "NaN");
    }
}
