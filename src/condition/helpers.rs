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

/// Go's `strconv.ParseFloat(s, 64)`, with its error messages: decimal and hexadecimal
/// (`0x1p-2`) Go float syntax, `_` digit separators, `Inf`/`Infinity`/`NaN`.
pub(crate) fn as_float_str(s: &str) -> Result<f64, String> {
    let syntax = || format!("strconv.ParseFloat: parsing {}: invalid syntax", go_quote(s));
    let range = || format!("strconv.ParseFloat: parsing {}: value out of range", go_quote(s));
    // Go's `special`: the whole string must be the special value (ParseFloat rejects a
    // partial parse); only the infinities take a sign.
    let unsigned = s.strip_prefix(['+', '-']).unwrap_or(s);
    let negative = s.starts_with('-');
    match unsigned.to_ascii_lowercase().as_str() {
        "inf" | "infinity" => return Ok(if negative { f64::NEG_INFINITY } else { f64::INFINITY }),
        "nan" if unsigned.len() == s.len() => return Ok(f64::NAN),
        _ => {}
    }
    let Some(parsed) = read_float(s) else { return Err(syntax()) };
    if parsed.hex {
        return atof_hex(&parsed).ok_or_else(range);
    }
    // The syntax is Go's; the value of a decimal is the correctly rounded one, which
    // Rust's parser also gives.
    let digits: String = s.chars().filter(|&c| c != '_').collect();
    let v: f64 = digits.parse().map_err(|_| syntax())?;
    if v.is_infinite() { Err(range()) } else { Ok(v) }
}

/// What Go's `readFloat` reads from a float literal.
struct ReadFloat {
    mantissa: u64,
    exp: i64,
    neg: bool,
    trunc: bool,
    hex: bool,
}

/// Go's `strconv.readFloat`, requiring the whole string to be consumed (as `ParseFloat`
/// does). `None` is a syntax error.
fn read_float(s: &str) -> Option<ReadFloat> {
    let b = s.as_bytes();
    let lower = |c: u8| c | (b'x' - b'X');
    let mut i = 0;
    let mut neg = false;
    let mut underscores = false;
    match b.first() {
        Some(b'+') => i += 1,
        Some(b'-') => {
            neg = true;
            i += 1;
        }
        Some(_) => {}
        None => return None,
    }
    let (mut base, mut max_mant_digits, mut exp_char, mut hex) = (10u64, 19, b'e', false);
    if i + 2 < b.len() && b[i] == b'0' && lower(b[i + 1]) == b'x' {
        (base, max_mant_digits, exp_char, hex) = (16, 16, b'p', true);
        i += 2;
    }
    let (mut sawdot, mut sawdigits) = (false, false);
    let (mut nd, mut nd_mant, mut dp) = (0i64, 0i64, 0i64);
    let mut mantissa = 0u64;
    let mut trunc = false;
    while i < b.len() {
        let c = b[i];
        let digit = match c {
            b'_' => {
                underscores = true;
                i += 1;
                continue;
            }
            b'.' => {
                if sawdot {
                    break;
                }
                sawdot = true;
                dp = nd;
                i += 1;
                continue;
            }
            b'0'..=b'9' => u64::from(c - b'0'),
            _ if hex && (b'a'..=b'f').contains(&lower(c)) => u64::from(lower(c) - b'a' + 10),
            _ => break,
        };
        sawdigits = true;
        i += 1;
        if c == b'0' && nd == 0 {
            // Leading zeros.
            dp -= 1;
            continue;
        }
        nd += 1;
        if nd_mant < max_mant_digits {
            mantissa = mantissa * base + digit;
            nd_mant += 1;
        } else if c != b'0' {
            trunc = true;
        }
    }
    if !sawdigits {
        return None;
    }
    if !sawdot {
        dp = nd;
    }
    if hex {
        dp *= 4;
        nd_mant *= 4;
    }
    if i < b.len() && lower(b[i]) == exp_char {
        i += 1;
        let mut esign = 1;
        match b.get(i) {
            Some(b'+') => i += 1,
            Some(b'-') => {
                esign = -1;
                i += 1;
            }
            _ => {}
        }
        if !b.get(i).is_some_and(u8::is_ascii_digit) {
            return None;
        }
        let mut e = 0i64;
        while i < b.len() && (b[i].is_ascii_digit() || b[i] == b'_') {
            if b[i] == b'_' {
                underscores = true;
            } else if e < 10_000 {
                e = e * 10 + i64::from(b[i] - b'0');
            }
            i += 1;
        }
        dp += e * esign;
    } else if hex {
        // A hexadecimal mantissa must have a 'p' exponent.
        return None;
    }
    let exp = if mantissa != 0 { dp - nd_mant } else { 0 };
    if i != b.len() || (underscores && !underscore_ok(s)) {
        return None;
    }
    Some(ReadFloat { mantissa, exp, neg, trunc, hex })
}

/// Go's `strconv.underscoreOK`: `_` only between digits, or after a base prefix.
fn underscore_ok(s: &str) -> bool {
    let b = s.strip_prefix(['+', '-']).unwrap_or(s).as_bytes();
    let lower = |c: u8| c | (b'x' - b'X');
    let mut saw = b'^';
    let mut i = 0;
    let mut hex = false;
    if b.len() >= 2 && b[0] == b'0' && matches!(lower(b[1]), b'b' | b'o' | b'x') {
        i = 2;
        saw = b'0';
        hex = lower(b[1]) == b'x';
    }
    for &c in &b[i..] {
        if c.is_ascii_digit() || (hex && (b'a'..=b'f').contains(&lower(c))) {
            saw = b'0';
        } else if c == b'_' {
            if saw != b'0' {
                return false;
            }
            saw = b'_';
        } else {
            if saw == b'_' {
                return false;
            }
            saw = b'!';
        }
    }
    saw != b'_'
}

/// Go's `strconv.atofHex` for float64: `mantissa * 2^exp`, rounded to nearest even
/// (`trunc` says non-zero bits were dropped). `None` on overflow (Go: ±Inf and a range
/// error); underflow gives a subnormal or zero without error, as in Go.
fn atof_hex(f: &ReadFloat) -> Option<f64> {
    const MANTBITS: u32 = 52;
    const EXPBITS: u32 = 11;
    const BIAS: i64 = -1023;
    let max_exp = (1i64 << EXPBITS) + BIAS - 2;
    let min_exp = BIAS + 1;
    let mut mantissa = f.mantissa;
    let mut exp = f.exp + i64::from(MANTBITS);
    while mantissa != 0 && mantissa >> (MANTBITS + 2) == 0 {
        mantissa <<= 1;
        exp -= 1;
    }
    if f.trunc {
        mantissa |= 1;
    }
    while mantissa >> (1 + MANTBITS + 2) != 0 {
        mantissa = (mantissa >> 1) | (mantissa & 1);
        exp += 1;
    }
    while mantissa > 1 && exp < min_exp - 2 {
        mantissa = (mantissa >> 1) | (mantissa & 1);
        exp += 1;
    }
    let mut round = mantissa & 3;
    mantissa >>= 2;
    round |= mantissa & 1;
    exp += 2;
    if round == 3 {
        mantissa += 1;
        if mantissa == 1 << (1 + MANTBITS) {
            mantissa >>= 1;
            exp += 1;
        }
    }
    if mantissa >> MANTBITS == 0 {
        exp = BIAS;
    }
    if exp > max_exp {
        return None;
    }
    let mut bits = mantissa & ((1 << MANTBITS) - 1);
    bits |= (((exp - BIAS) as u64) & ((1 << EXPBITS) - 1)) << MANTBITS;
    if f.neg {
        bits |= 1 << (MANTBITS + EXPBITS);
    }
    Some(f64::from_bits(bits))
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
        assert_eq!(as_float_str("1."), Ok(1.0));
        assert_eq!(as_float_str("1_000.5"), Ok(1000.5));
        for bad in
            ["", ".", "+", "1e", "1e+", "1..2", "1_", "_1", "1__0", "0x", "0x10", "0x1p", "+nan", "infx", " 1", "1 "]
        {
            assert!(as_float_str(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn parse_hex_float() {
        assert_eq!(as_float_str("0x1p-2"), Ok(0.25));
        assert_eq!(as_float_str("0X1.8P1"), Ok(3.0));
        assert_eq!(as_float_str("-0x10p0"), Ok(-16.0));
        assert_eq!(as_float_str("0x_1p0"), Ok(1.0));
        assert_eq!(as_float_str("0x.8p1"), Ok(1.0));
        assert_eq!(as_float_str("0x1.fffffffffffffp1023"), Ok(f64::MAX));
        assert_eq!(as_float_str("0x1p-1074"), Ok(f64::from_bits(1)));
        assert_eq!(as_float_str("0x1p-1075"), Ok(0.0)); // ties to even
        assert_eq!(as_float_str("0x1.00000000000008p0"), Ok(1.0)); // tie, rounds to even
        assert_eq!(as_float_str("0x1.000000000000081p0"), Ok(1.0 + f64::EPSILON)); // above the tie
        assert_eq!(
            as_float_str("0x1p1024"),
            Err("strconv.ParseFloat: parsing \"0x1p1024\": value out of range".into())
        );
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
