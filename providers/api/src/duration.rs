//! Go's `time.ParseDuration`, exactly: the duration syntax of every Argo field
//! (`interval`, `initialDelay`, Datadog's `interval`, …) and its error messages.

use std::fmt;

/// A parse failure, with Go's message (`time: unknown unit "x" in duration "5x"`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DurationError(pub String);

impl fmt::Display for DurationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for DurationError {}

const NS: u64 = 1;
const US: u64 = 1_000;
const MS: u64 = 1_000_000;
const S: u64 = 1_000_000_000;
const M: u64 = 60 * S;
const H: u64 = 60 * M;

/// Go's `strconv.Quote` for the strings these messages show.
pub fn go_quote(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if c.is_control() => out.push_str(&format!("\\x{:02x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn invalid(orig: &str) -> DurationError {
    DurationError(format!("time: invalid duration {}", go_quote(orig)))
}

/// Parses a Go duration string into nanoseconds.
pub fn parse_go_duration(orig: &str) -> Result<i64, DurationError> {
    let mut s = orig;
    let mut d: u64 = 0;
    let mut neg = false;
    if let Some(c) = s.chars().next()
        && (c == '-' || c == '+')
    {
        neg = c == '-';
        s = &s[1..];
    }
    if s == "0" {
        return Ok(0);
    }
    if s.is_empty() {
        return Err(invalid(orig));
    }
    while !s.is_empty() {
        let bytes = s.as_bytes();
        if !(bytes[0] == b'.' || bytes[0].is_ascii_digit()) {
            return Err(invalid(orig));
        }
        // Integer part.
        let int_len = bytes.iter().take_while(|b| b.is_ascii_digit()).count();
        let pre = int_len > 0;
        let mut v: u64 = 0;
        for &b in &bytes[..int_len] {
            v = v
                .checked_mul(10)
                .and_then(|v| v.checked_add(u64::from(b - b'0')))
                .filter(|v| *v <= 1 << 63)
                .ok_or_else(|| invalid(orig))?;
        }
        s = &s[int_len..];
        // Fraction.
        let mut f: u64 = 0;
        let mut scale: f64 = 1.0;
        let mut post = false;
        if s.as_bytes().first() == Some(&b'.') {
            s = &s[1..];
            let frac_len = s.as_bytes().iter().take_while(|b| b.is_ascii_digit()).count();
            post = frac_len > 0;
            let mut overflow = false;
            for &b in &s.as_bytes()[..frac_len] {
                if overflow {
                    continue;
                }
                if f > (u64::MAX >> 1) / 10 {
                    overflow = true;
                    continue;
                }
                f = f * 10 + u64::from(b - b'0');
                scale *= 10.0;
            }
            s = &s[frac_len..];
        }
        if !pre && !post {
            return Err(invalid(orig));
        }
        // Unit.
        let unit_len = s.char_indices().find(|(_, c)| *c == '.' || c.is_ascii_digit()).map_or(s.len(), |(i, _)| i);
        if unit_len == 0 {
            return Err(DurationError(format!("time: missing unit in duration {}", go_quote(orig))));
        }
        let unit_str = &s[..unit_len];
        s = &s[unit_len..];
        let unit = match unit_str {
            "ns" => NS,
            "us" | "\u{b5}s" | "\u{3bc}s" => US,
            "ms" => MS,
            "s" => S,
            "m" => M,
            "h" => H,
            _ => {
                return Err(DurationError(format!(
                    "time: unknown unit {} in duration {}",
                    go_quote(unit_str),
                    go_quote(orig)
                )));
            }
        };
        if v > (1 << 63) / unit {
            return Err(invalid(orig));
        }
        v *= unit;
        if f > 0 {
            v += (f as f64 * (unit as f64 / scale)) as u64;
            if v > 1 << 63 {
                return Err(invalid(orig));
            }
        }
        d = d.checked_add(v).filter(|d| *d <= 1 << 63).ok_or_else(|| invalid(orig))?;
    }
    if neg {
        return Ok((d as i128).wrapping_neg() as i64);
    }
    if d > (1 << 63) - 1 {
        return Err(invalid(orig));
    }
    Ok(d as i64)
}

/// Formats nanoseconds as Go's `Duration.String()` does (`1h2m3s`, `1.5s`, `0s`).
pub fn format_go_duration(ns: i64) -> String {
    if ns == 0 {
        return "0s".to_string();
    }
    let neg = ns < 0;
    let u = ns.unsigned_abs();
    let mut out = String::new();
    if u < S {
        let (unit, div) = if u < US {
            ("ns", 1)
        } else if u < MS {
            ("\u{b5}s", US)
        } else {
            ("ms", MS)
        };
        out.push_str(&frac(u, div));
        out.push_str(unit);
    } else {
        let h = u / H;
        let m = (u % H) / M;
        let rest = u % M;
        if h > 0 {
            out.push_str(&format!("{h}h"));
        }
        if h > 0 || m > 0 {
            out.push_str(&format!("{m}m"));
        }
        out.push_str(&frac(rest, S));
        out.push('s');
    }
    if neg { format!("-{out}") } else { out }
}

fn frac(v: u64, div: u64) -> String {
    let int = v / div;
    let mut f = v % div;
    if f == 0 {
        return int.to_string();
    }
    let mut digits = div.to_string().len() - 1;
    while f.is_multiple_of(10) {
        f /= 10;
        digits -= 1;
    }
    format!("{int}.{f:0digits$}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[track_caller]
    fn check(input: &str, expect: Result<i64, &str>) {
        assert_eq!(parse_go_duration(input).map_err(|e| e.0), expect.map_err(str::to_string), "{input}");
    }

    #[test]
    fn valid() {
        check("0", Ok(0));
        check("5s", Ok(5 * S as i64));
        check("30s", Ok(30 * S as i64));
        check("1.5h", Ok((H + 30 * M) as i64));
        check("1h30m", Ok((H + 30 * M) as i64));
        check("300ms", Ok(300 * MS as i64));
        check("-1.5h", Ok(-((H + 30 * M) as i64)));
        check("+5m", Ok((5 * M) as i64));
        check("2h45m", Ok((2 * H + 45 * M) as i64));
        check("1ns", Ok(1));
        check("1us", Ok(1000));
        check("1µs", Ok(1000));
        check("1μs", Ok(1000));
        check(".5s", Ok((S / 2) as i64));
        check("1.s", Ok(S as i64));
        check("0s", Ok(0));
        check("1m0s", Ok(M as i64));
        check("9223372036854775807ns", Ok(i64::MAX));
        check("-9223372036854775808ns", Ok(i64::MIN));
        check("0.000000001s", Ok(1));
    }

    #[test]
    fn invalid_inputs() {
        check("", Err("time: invalid duration \"\""));
        check("5", Err("time: missing unit in duration \"5\""));
        check("60s-typo", Err("time: unknown unit \"s-typo\" in duration \"60s-typo\""));
        check("1x", Err("time: unknown unit \"x\" in duration \"1x\""));
        check("-", Err("time: invalid duration \"-\""));
        check("s", Err("time: invalid duration \"s\""));
        check(".s", Err("time: invalid duration \".s\""));
        check("1d", Err("time: unknown unit \"d\" in duration \"1d\""));
        check("5 m", Err("time: unknown unit \" m\" in duration \"5 m\""));
        check("9223372036854775808ns", Err("time: invalid duration \"9223372036854775808ns\""));
        check("3000000h", Err("time: invalid duration \"3000000h\""));
    }

    #[test]
    fn format() {
        assert_eq!(format_go_duration(0), "0s");
        assert_eq!(format_go_duration(90 * S as i64), "1m30s");
        assert_eq!(format_go_duration((H + 2 * M + 3 * S) as i64), "1h2m3s");
        assert_eq!(format_go_duration(1_500_000_000), "1.5s");
        assert_eq!(format_go_duration(10 * MS as i64), "10ms");
        assert_eq!(format_go_duration(H as i64), "1h0m0s");
        assert_eq!(format_go_duration(-(5 * S as i64)), "-5s");
    }
}
