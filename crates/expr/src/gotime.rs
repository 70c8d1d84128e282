//! Go `time` package semantics: `ParseDuration`, `Duration.String`, layout-based
//! `Parse`/`Format` (UTC only) and `Time.String`.

use crate::value::go_quote;

/// Stand-in for Go's zero `time.Time` (year 1 is not representable in i64 nanoseconds).
pub(crate) const ZERO_TIME: i64 = i64::MIN;

const NANOS_PER_SEC: i64 = 1_000_000_000;

// ---------------------------------------------------------------------------------------------
// Durations
// ---------------------------------------------------------------------------------------------

/// Go `time.ParseDuration`.
pub(crate) fn parse_duration(orig: &str) -> Result<i64, String> {
    let invalid = || format!("time: invalid duration {}", go_quote(orig));
    let mut s = orig.as_bytes();
    let mut neg = false;
    if let Some(&c) = s.first()
        && (c == b'-' || c == b'+')
    {
        neg = c == b'-';
        s = &s[1..];
    }
    if s == b"0" {
        return Ok(0);
    }
    if s.is_empty() {
        return Err(invalid());
    }
    const LIMIT: u64 = 1 << 63;
    let mut d: u64 = 0;
    while !s.is_empty() {
        if !(s[0] == b'.' || s[0].is_ascii_digit()) {
            return Err(invalid());
        }
        // leading int
        let pl = s.len();
        let mut v: u64 = 0;
        let mut i = 0;
        while i < s.len() && s[i].is_ascii_digit() {
            if v > LIMIT / 10 {
                return Err(invalid());
            }
            v = v * 10 + u64::from(s[i] - b'0');
            if v > LIMIT {
                return Err(invalid());
            }
            i += 1;
        }
        s = &s[i..];
        let pre = pl != s.len();
        let mut post = false;
        let mut f: u64 = 0;
        let mut scale: f64 = 1.0;
        if !s.is_empty() && s[0] == b'.' {
            s = &s[1..];
            let pl = s.len();
            let mut overflow = false;
            let mut i = 0;
            while i < s.len() && s[i].is_ascii_digit() {
                if !overflow {
                    if f > (LIMIT - 1) / 10 {
                        overflow = true;
                    } else {
                        let y = f * 10 + u64::from(s[i] - b'0');
                        if y > LIMIT {
                            overflow = true;
                        } else {
                            f = y;
                            scale *= 10.0;
                        }
                    }
                }
                i += 1;
            }
            s = &s[i..];
            post = pl != s.len();
        }
        if !pre && !post {
            return Err(invalid());
        }
        let mut i = 0;
        while i < s.len() && !(s[i] == b'.' || s[i].is_ascii_digit()) {
            i += 1;
        }
        if i == 0 {
            return Err(format!("time: missing unit in duration {}", go_quote(orig)));
        }
        let u = String::from_utf8_lossy(&s[..i]).into_owned();
        s = &s[i..];
        let unit: u64 = match u.as_str() {
            "ns" => 1,
            "us" | "\u{b5}s" | "\u{3bc}s" => 1_000,
            "ms" => 1_000_000,
            "s" => 1_000_000_000,
            "m" => 60_000_000_000,
            "h" => 3_600_000_000_000,
            _ => {
                return Err(format!("time: unknown unit {} in duration {}", go_quote(&u), go_quote(orig)));
            }
        };
        if v > LIMIT / unit {
            return Err(invalid());
        }
        v *= unit;
        if f > 0 {
            v += (f as f64 * (unit as f64 / scale)) as u64;
            if v > LIMIT {
                return Err(invalid());
            }
        }
        d += v;
        if d > LIMIT {
            return Err(invalid());
        }
    }
    if neg {
        return Ok((d as i64).wrapping_neg());
    }
    if d > LIMIT - 1 {
        return Err(invalid());
    }
    Ok(d as i64)
}

/// Go `time.Duration.String`.
pub(crate) fn format_duration(d: i64) -> String {
    let neg = d < 0;
    let mut u = d.unsigned_abs();
    let mut out = String::new();
    if u < 1_000_000_000 {
        if u == 0 {
            return "0s".into();
        }
        let (prec, unit) = if u < 1_000 {
            (0, "ns")
        } else if u < 1_000_000 {
            (3, "\u{b5}s")
        } else {
            (6, "ms")
        };
        let (frac, rest) = fmt_frac(u, prec);
        out.push_str(&rest.to_string());
        out.push_str(&frac);
        out.push_str(unit);
    } else {
        let (frac, rest) = fmt_frac(u, 9);
        u = rest;
        let secs = u % 60;
        u /= 60;
        let mut s = format!("{secs}{frac}s");
        if u > 0 {
            let mins = u % 60;
            u /= 60;
            s = format!("{mins}m{s}");
            if u > 0 {
                s = format!("{u}h{s}");
            }
        }
        out = s;
    }
    if neg {
        out.insert(0, '-');
    }
    out
}

/// Fraction of v/10**prec as ".123" (trailing zeros trimmed, empty when zero) and v/10**prec.
fn fmt_frac(v: u64, prec: u32) -> (String, u64) {
    if prec == 0 {
        return (String::new(), v);
    }
    let p = 10u64.pow(prec);
    let frac = v % p;
    let rest = v / p;
    if frac == 0 {
        return (String::new(), rest);
    }
    let mut digits = format!("{frac:0width$}", width = prec as usize);
    while digits.ends_with('0') {
        digits.pop();
    }
    (format!(".{digits}"), rest)
}

// ---------------------------------------------------------------------------------------------
// Civil calendar helpers
// ---------------------------------------------------------------------------------------------

pub(crate) fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

pub(crate) fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = if z >= 0 { z } else { z - 146_096 } / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (if m <= 2 { y + 1 } else { y }, m, d)
}

fn is_leap(y: i64) -> bool {
    y % 4 == 0 && (y % 100 != 0 || y % 400 == 0)
}

fn days_in(month: i64, year: i64) -> i64 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Broken-down UTC time.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Civil {
    pub year: i64,
    pub month: i64,
    pub day: i64,
    pub hour: i64,
    pub minute: i64,
    pub second: i64,
    pub nanos: i64,
    pub weekday: i64,
    pub yday: i64,
}

pub(crate) fn civil(t: i64) -> Civil {
    let secs = t.div_euclid(NANOS_PER_SEC);
    let nanos = t.rem_euclid(NANOS_PER_SEC);
    let days = secs.div_euclid(86_400);
    let sod = secs.rem_euclid(86_400);
    let (year, month, day) = civil_from_days(days);
    Civil {
        year,
        month,
        day,
        hour: sod / 3600,
        minute: sod % 3600 / 60,
        second: sod % 60,
        nanos,
        weekday: (days + 4).rem_euclid(7),
        yday: days - days_from_civil(year, 1, 1) + 1,
    }
}

const LONG_DAYS: [&str; 7] = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"];
const LONG_MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

// ---------------------------------------------------------------------------------------------
// Layouts
// ---------------------------------------------------------------------------------------------

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Std {
    LongMonth,
    Month,
    NumMonth,
    ZeroMonth,
    LongWeekDay,
    WeekDay,
    Day,
    UnderDay,
    ZeroDay,
    UnderYearDay,
    ZeroYearDay,
    Hour,
    Hour12,
    ZeroHour12,
    Minute,
    ZeroMinute,
    Second,
    ZeroSecond,
    LongYear,
    Year,
    PM,
    Pm,
    Tz,
    Iso8601Tz,
    Iso8601SecondsTz,
    Iso8601ShortTz,
    Iso8601ColonTz,
    Iso8601ColonSecondsTz,
    NumTz,
    NumSecondsTz,
    NumShortTz,
    NumColonTz,
    NumColonSecondsTz,
    FracSecond0(usize),
    FracSecond9(usize),
}

fn starts_with_lower(s: &[u8]) -> bool {
    s.first().is_some_and(u8::is_ascii_lowercase)
}

fn is_digit_at(s: &[u8], i: usize) -> bool {
    s.get(i).is_some_and(u8::is_ascii_digit)
}

/// Go's `nextStdChunk`: (prefix length, chunk, suffix start).
fn next_std_chunk(layout: &[u8]) -> (usize, Option<Std>, usize) {
    let n = layout.len();
    let has = |i: usize, s: &str| layout.get(i..i + s.len()) == Some(s.as_bytes());
    for i in 0..n {
        match layout[i] {
            b'J' if has(i, "Jan") => {
                if has(i, "January") {
                    return (i, Some(Std::LongMonth), i + 7);
                }
                if !starts_with_lower(&layout[i + 3..]) {
                    return (i, Some(Std::Month), i + 3);
                }
            }
            b'M' => {
                if has(i, "Mon") {
                    if has(i, "Monday") {
                        return (i, Some(Std::LongWeekDay), i + 6);
                    }
                    if !starts_with_lower(&layout[i + 3..]) {
                        return (i, Some(Std::WeekDay), i + 3);
                    }
                }
                if has(i, "MST") {
                    return (i, Some(Std::Tz), i + 3);
                }
            }
            b'0' => {
                if i + 1 < n && (b'1'..=b'6').contains(&layout[i + 1]) {
                    let std =
                        [Std::ZeroMonth, Std::ZeroDay, Std::ZeroHour12, Std::ZeroMinute, Std::ZeroSecond, Std::Year]
                            [usize::from(layout[i + 1] - b'1')];
                    return (i, Some(std), i + 2);
                }
                if has(i, "002") {
                    return (i, Some(Std::ZeroYearDay), i + 3);
                }
            }
            b'1' => {
                if i + 1 < n && layout[i + 1] == b'5' {
                    return (i, Some(Std::Hour), i + 2);
                }
                return (i, Some(Std::NumMonth), i + 1);
            }
            b'2' => {
                if has(i, "2006") {
                    return (i, Some(Std::LongYear), i + 4);
                }
                return (i, Some(Std::Day), i + 1);
            }
            b'_' => {
                if i + 1 < n && layout[i + 1] == b'2' {
                    if has(i + 1, "2006") {
                        return (i + 1, Some(Std::LongYear), i + 5);
                    }
                    return (i, Some(Std::UnderDay), i + 2);
                }
                if has(i, "__2") {
                    return (i, Some(Std::UnderYearDay), i + 3);
                }
            }
            b'3' => return (i, Some(Std::Hour12), i + 1),
            b'4' => return (i, Some(Std::Minute), i + 1),
            b'5' => return (i, Some(Std::Second), i + 1),
            b'P' if i + 1 < n && layout[i + 1] == b'M' => {
                return (i, Some(Std::PM), i + 2);
            }
            b'p' if i + 1 < n && layout[i + 1] == b'm' => {
                return (i, Some(Std::Pm), i + 2);
            }
            b'-' => {
                for (pat, std) in [
                    ("-070000", Std::NumSecondsTz),
                    ("-07:00:00", Std::NumColonSecondsTz),
                    ("-0700", Std::NumTz),
                    ("-07:00", Std::NumColonTz),
                    ("-07", Std::NumShortTz),
                ] {
                    if has(i, pat) {
                        return (i, Some(std), i + pat.len());
                    }
                }
            }
            b'Z' => {
                for (pat, std) in [
                    ("Z070000", Std::Iso8601SecondsTz),
                    ("Z07:00:00", Std::Iso8601ColonSecondsTz),
                    ("Z0700", Std::Iso8601Tz),
                    ("Z07:00", Std::Iso8601ColonTz),
                    ("Z07", Std::Iso8601ShortTz),
                ] {
                    if has(i, pat) {
                        return (i, Some(std), i + pat.len());
                    }
                }
            }
            b'.' | b',' if i + 1 < n && (layout[i + 1] == b'0' || layout[i + 1] == b'9') => {
                let ch = layout[i + 1];
                let mut j = i + 1;
                while j < n && layout[j] == ch {
                    j += 1;
                }
                if !is_digit_at(layout, j) {
                    let digits = j - (i + 1);
                    let std = if ch == b'9' { Std::FracSecond9(digits) } else { Std::FracSecond0(digits) };
                    return (i, Some(std), j);
                }
            }
            _ => {}
        }
    }
    (n, None, n)
}

fn lossy(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn getnum(s: &[u8], fixed: bool) -> Option<(i64, &[u8])> {
    if !is_digit_at(s, 0) {
        return None;
    }
    if !is_digit_at(s, 1) {
        if fixed {
            return None;
        }
        return Some((i64::from(s[0] - b'0'), &s[1..]));
    }
    Some((i64::from(s[0] - b'0') * 10 + i64::from(s[1] - b'0'), &s[2..]))
}

fn getnum3(s: &[u8], fixed: bool) -> Option<(i64, &[u8])> {
    let mut n = 0i64;
    let mut i = 0;
    while i < 3 && is_digit_at(s, i) {
        n = n * 10 + i64::from(s[i] - b'0');
        i += 1;
    }
    if i == 0 || (fixed && i != 3) {
        return None;
    }
    Some((n, &s[i..]))
}

fn lookup<'a>(tab: &[&str], val: &'a [u8]) -> Option<(i64, &'a [u8])> {
    for (i, v) in tab.iter().enumerate() {
        let v = v.as_bytes();
        if val.len() >= v.len() && val[..v.len()].eq_ignore_ascii_case(v) {
            return Some((i as i64, &val[v.len()..]));
        }
    }
    None
}

fn cutspace(mut s: &[u8]) -> &[u8] {
    while let Some(b' ') = s.first() {
        s = &s[1..];
    }
    s
}

fn skip<'a>(mut value: &'a [u8], mut prefix: &[u8]) -> Option<&'a [u8]> {
    while !prefix.is_empty() {
        if prefix[0] == b' ' {
            if !value.is_empty() && value[0] != b' ' {
                return None;
            }
            prefix = cutspace(prefix);
            value = cutspace(value);
            continue;
        }
        if value.is_empty() || value[0] != prefix[0] {
            return None;
        }
        prefix = &prefix[1..];
        value = &value[1..];
    }
    Some(value)
}

fn parse_nanos(value: &[u8], nbytes: usize) -> Option<i64> {
    if !matches!(value.first(), Some(b'.' | b',')) {
        return None;
    }
    let nbytes = nbytes.min(10);
    let digits = value.get(1..nbytes)?;
    let mut ns: i64 = 0;
    for &d in digits {
        if !d.is_ascii_digit() {
            return None;
        }
        ns = ns * 10 + i64::from(d - b'0');
    }
    for _ in 0..(10 - nbytes) {
        ns *= 10;
    }
    Some(ns)
}

fn tz_name_len(value: &[u8]) -> Option<usize> {
    if value.len() < 3 {
        return None;
    }
    if value.len() >= 4 && (&value[..4] == b"ChST" || &value[..4] == b"MeST") {
        return Some(4);
    }
    if &value[..3] == b"GMT" {
        return Some(3);
    }
    let mut upper = 0;
    while upper < 6 && upper < value.len() && value[upper].is_ascii_uppercase() {
        upper += 1;
    }
    match upper {
        5 if value[4] == b'T' => Some(5),
        4 if value[3] == b'T' || &value[..4] == b"WITA" => Some(4),
        3 => Some(3),
        _ => None,
    }
}

/// Go `time.Parse(layout, value)` (all zones are treated as fixed offsets; named zones other than
/// UTC get offset 0 like Go's fabricated locations). Returns unix nanoseconds.
pub(crate) fn parse(layout_str: &str, value_str: &str) -> Result<i64, String> {
    let bad = |elem: &[u8], val: &[u8]| {
        format!(
            "parsing time {} as {}: cannot parse {} as {}",
            go_quote(value_str),
            go_quote(layout_str),
            go_quote(&lossy(val)),
            go_quote(&lossy(elem))
        )
    };
    let range_err = |what: &str| format!("parsing time {}: {what} out of range", go_quote(value_str));
    let mut layout = layout_str.as_bytes();
    let mut value = value_str.as_bytes();
    let (mut year, mut month, mut day, mut yday) = (0i64, -1i64, -1i64, -1i64);
    let (mut hour, mut min, mut sec, mut nsec) = (0i64, 0i64, 0i64, 0i64);
    let (mut am, mut pm) = (false, false);
    let mut offset: i64 = 0;
    loop {
        let (plen, std, sstart) = next_std_chunk(layout);
        let prefix = &layout[..plen];
        let stdstr = &layout[plen..sstart];
        value = match skip(value, prefix) {
            Some(v) => v,
            None => return Err(bad(prefix, value)),
        };
        let Some(std) = std else {
            if !value.is_empty() {
                return Err(format!("parsing time {}: extra text: {}", go_quote(value_str), go_quote(&lossy(value))));
            }
            break;
        };
        layout = &layout[sstart..];
        let hold = value;
        let mut range: Option<&str> = None;
        let ok: Option<()> = (|| {
            match std {
                Std::Year => {
                    let p = value.get(..2)?;
                    let y = getnum(p, true)?.0;
                    value = &value[2..];
                    year = if y >= 69 { y + 1900 } else { y + 2000 };
                }
                Std::LongYear => {
                    if value.len() < 4 || !is_digit_at(value, 0) {
                        return None;
                    }
                    let mut y = 0;
                    for &d in &value[..4] {
                        if !d.is_ascii_digit() {
                            return None;
                        }
                        y = y * 10 + i64::from(d - b'0');
                    }
                    year = y;
                    value = &value[4..];
                }
                Std::Month => {
                    let short: Vec<&str> = LONG_MONTHS.iter().map(|m| &m[..3]).collect();
                    let (m, rest) = lookup(&short, value)?;
                    month = m + 1;
                    value = rest;
                }
                Std::LongMonth => {
                    let (m, rest) = lookup(&LONG_MONTHS, value)?;
                    month = m + 1;
                    value = rest;
                }
                Std::NumMonth | Std::ZeroMonth => {
                    let (m, rest) = getnum(value, std == Std::ZeroMonth)?;
                    month = m;
                    value = rest;
                    if !(1..=12).contains(&month) {
                        range = Some("month");
                    }
                }
                Std::WeekDay => {
                    let short: Vec<&str> = LONG_DAYS.iter().map(|d| &d[..3]).collect();
                    value = lookup(&short, value)?.1;
                }
                Std::LongWeekDay => value = lookup(&LONG_DAYS, value)?.1,
                Std::Day | Std::UnderDay | Std::ZeroDay => {
                    if std == Std::UnderDay && value.first() == Some(&b' ') {
                        value = &value[1..];
                    }
                    let (d, rest) = getnum(value, std == Std::ZeroDay)?;
                    day = d;
                    value = rest;
                }
                Std::UnderYearDay | Std::ZeroYearDay => {
                    for _ in 0..2 {
                        if std == Std::UnderYearDay && value.first() == Some(&b' ') {
                            value = &value[1..];
                        }
                    }
                    let (d, rest) = getnum3(value, std == Std::ZeroYearDay)?;
                    yday = d;
                    value = rest;
                }
                Std::Hour => {
                    let (h, rest) = getnum(value, false)?;
                    hour = h;
                    value = rest;
                    if !(0..24).contains(&hour) {
                        range = Some("hour");
                    }
                }
                Std::Hour12 | Std::ZeroHour12 => {
                    let (h, rest) = getnum(value, std == Std::ZeroHour12)?;
                    hour = h;
                    value = rest;
                    if !(0..=12).contains(&hour) {
                        range = Some("hour");
                    }
                }
                Std::Minute | Std::ZeroMinute => {
                    let (m, rest) = getnum(value, std == Std::ZeroMinute)?;
                    min = m;
                    value = rest;
                    if !(0..60).contains(&min) {
                        range = Some("minute");
                    }
                }
                Std::Second | Std::ZeroSecond => {
                    let (s, rest) = getnum(value, std == Std::ZeroSecond)?;
                    sec = s;
                    value = rest;
                    if !(0..60).contains(&sec) {
                        range = Some("second");
                        return Some(());
                    }
                    if value.len() >= 2 && matches!(value[0], b'.' | b',') && is_digit_at(value, 1) {
                        let (_, next, _) = next_std_chunk(layout);
                        if matches!(next, Some(Std::FracSecond0(_) | Std::FracSecond9(_))) {
                            return Some(());
                        }
                        let mut n = 2;
                        while n < value.len() && is_digit_at(value, n) {
                            n += 1;
                        }
                        nsec = parse_nanos(value, n)?;
                        value = &value[n..];
                    }
                }
                Std::PM | Std::Pm => {
                    let p = value.get(..2)?;
                    value = &value[2..];
                    let (pm_s, am_s): (&[u8], &[u8]) = if std == Std::PM { (b"PM", b"AM") } else { (b"pm", b"am") };
                    if p == pm_s {
                        pm = true;
                    } else if p == am_s {
                        am = true;
                    } else {
                        return None;
                    }
                }
                Std::Iso8601Tz
                | Std::Iso8601SecondsTz
                | Std::Iso8601ShortTz
                | Std::Iso8601ColonTz
                | Std::Iso8601ColonSecondsTz
                | Std::NumTz
                | Std::NumSecondsTz
                | Std::NumShortTz
                | Std::NumColonTz
                | Std::NumColonSecondsTz => {
                    let iso = matches!(
                        std,
                        Std::Iso8601Tz
                            | Std::Iso8601SecondsTz
                            | Std::Iso8601ShortTz
                            | Std::Iso8601ColonTz
                            | Std::Iso8601ColonSecondsTz
                    );
                    if iso && value.first() == Some(&b'Z') {
                        value = &value[1..];
                        offset = 0;
                        return Some(());
                    }
                    let (sign, hh, mm, ss): (u8, &[u8], &[u8], &[u8]);
                    match std {
                        Std::Iso8601ColonTz | Std::NumColonTz => {
                            if value.len() < 6 || value[3] != b':' {
                                return None;
                            }
                            (sign, hh, mm, ss) = (value[0], &value[1..3], &value[4..6], b"00");
                            value = &value[6..];
                        }
                        Std::NumShortTz | Std::Iso8601ShortTz => {
                            if value.len() < 3 {
                                return None;
                            }
                            (sign, hh, mm, ss) = (value[0], &value[1..3], b"00", b"00");
                            value = &value[3..];
                        }
                        Std::Iso8601ColonSecondsTz | Std::NumColonSecondsTz => {
                            if value.len() < 9 || value[3] != b':' || value[6] != b':' {
                                return None;
                            }
                            (sign, hh, mm, ss) = (value[0], &value[1..3], &value[4..6], &value[7..9]);
                            value = &value[9..];
                        }
                        Std::Iso8601SecondsTz | Std::NumSecondsTz => {
                            if value.len() < 7 {
                                return None;
                            }
                            (sign, hh, mm, ss) = (value[0], &value[1..3], &value[3..5], &value[5..7]);
                            value = &value[7..];
                        }
                        _ => {
                            if value.len() < 5 {
                                return None;
                            }
                            (sign, hh, mm, ss) = (value[0], &value[1..3], &value[3..5], b"00");
                            value = &value[5..];
                        }
                    }
                    let hr = getnum(hh, true)?.0;
                    let mi = getnum(mm, true)?.0;
                    let se = getnum(ss, true)?.0;
                    if hr > 24 {
                        range = Some("time zone offset hour");
                    }
                    if mi > 60 {
                        range = Some("time zone offset minute");
                    }
                    if se > 60 {
                        range = Some("time zone offset second");
                    }
                    offset = (hr * 60 + mi) * 60 + se;
                    match sign {
                        b'+' => {}
                        b'-' => offset = -offset,
                        _ => return None,
                    }
                }
                Std::Tz => {
                    if value.len() >= 3 && &value[..3] == b"UTC" {
                        value = &value[3..];
                        return Some(());
                    }
                    let n = tz_name_len(value)?;
                    value = &value[n..];
                }
                Std::FracSecond0(digits) => {
                    let ndigit = 1 + digits;
                    if value.len() < ndigit {
                        return None;
                    }
                    nsec = parse_nanos(value, ndigit)?;
                    value = &value[ndigit..];
                }
                Std::FracSecond9(_) => {
                    if value.len() < 2 || !matches!(value[0], b'.' | b',') || !value[1].is_ascii_digit() {
                        return Some(());
                    }
                    let mut i = 0;
                    while i + 1 < value.len() && value[i + 1].is_ascii_digit() {
                        i += 1;
                    }
                    nsec = parse_nanos(value, 1 + i)?;
                    value = &value[1 + i..];
                }
            }
            Some(())
        })();
        if let Some(what) = range {
            return Err(range_err(what));
        }
        if ok.is_none() {
            return Err(bad(stdstr, hold));
        }
    }
    if pm && hour < 12 {
        hour += 12;
    } else if am && hour == 12 {
        hour = 0;
    }
    if yday >= 0 {
        let leap = is_leap(year);
        if yday < 1 || yday > if leap { 366 } else { 365 } {
            return Err(range_err("day-of-year"));
        }
        let days = days_from_civil(year, 1, 1) + yday - 1;
        let (_, m, d) = civil_from_days(days);
        if month >= 0 && month != m || day >= 0 && day != d {
            return Err(format!("parsing time {}: day-of-year does not match month", go_quote(value_str)));
        }
        month = m;
        day = d;
    } else {
        if month < 0 {
            month = 1;
        }
        if day < 0 {
            day = 1;
        }
    }
    if day < 1 || day > days_in(month, year) {
        return Err(format!("parsing time {}: day out of range", go_quote(value_str)));
    }
    let days = i128::from(days_from_civil(year, month, day));
    let secs = days * 86_400 + i128::from(hour * 3600 + min * 60 + sec) - i128::from(offset);
    let nanos = secs * i128::from(NANOS_PER_SEC) + i128::from(nsec);
    i64::try_from(nanos).map_err(|_| {
        format!("parsing time {}: year {year} is outside the supported range 1678-2261", go_quote(value_str))
    })
}

/// Go `time.Time.Format(layout)` for a UTC time.
pub(crate) fn format(t: i64, layout_str: &str) -> String {
    let c = civil(t);
    let mut out = String::new();
    let mut layout = layout_str.as_bytes();
    loop {
        let (plen, std, sstart) = next_std_chunk(layout);
        out.push_str(&lossy(&layout[..plen]));
        let Some(std) = std else { break };
        layout = &layout[sstart..];
        match std {
            Std::Year => out.push_str(&format!("{:02}", c.year.rem_euclid(100))),
            Std::LongYear => out.push_str(&format!("{:04}", c.year)),
            Std::Month => out.push_str(&LONG_MONTHS[(c.month - 1) as usize][..3]),
            Std::LongMonth => out.push_str(LONG_MONTHS[(c.month - 1) as usize]),
            Std::NumMonth => out.push_str(&c.month.to_string()),
            Std::ZeroMonth => out.push_str(&format!("{:02}", c.month)),
            Std::WeekDay => out.push_str(&LONG_DAYS[c.weekday as usize][..3]),
            Std::LongWeekDay => out.push_str(LONG_DAYS[c.weekday as usize]),
            Std::Day => out.push_str(&c.day.to_string()),
            Std::UnderDay => out.push_str(&format!("{:>2}", c.day)),
            Std::ZeroDay => out.push_str(&format!("{:02}", c.day)),
            Std::UnderYearDay => out.push_str(&format!("{:>3}", c.yday)),
            Std::ZeroYearDay => out.push_str(&format!("{:03}", c.yday)),
            Std::Hour => out.push_str(&format!("{:02}", c.hour)),
            Std::Hour12 | Std::ZeroHour12 => {
                let hr = match c.hour % 12 {
                    0 => 12,
                    h => h,
                };
                if std == Std::Hour12 {
                    out.push_str(&hr.to_string());
                } else {
                    out.push_str(&format!("{hr:02}"));
                }
            }
            Std::Minute => out.push_str(&c.minute.to_string()),
            Std::ZeroMinute => out.push_str(&format!("{:02}", c.minute)),
            Std::Second => out.push_str(&c.second.to_string()),
            Std::ZeroSecond => out.push_str(&format!("{:02}", c.second)),
            Std::PM => out.push_str(if c.hour >= 12 { "PM" } else { "AM" }),
            Std::Pm => out.push_str(if c.hour >= 12 { "pm" } else { "am" }),
            Std::Iso8601Tz
            | Std::Iso8601SecondsTz
            | Std::Iso8601ShortTz
            | Std::Iso8601ColonTz
            | Std::Iso8601ColonSecondsTz => out.push('Z'),
            Std::NumTz => out.push_str("+0000"),
            Std::NumSecondsTz => out.push_str("+000000"),
            Std::NumShortTz => out.push_str("+00"),
            Std::NumColonTz => out.push_str("+00:00"),
            Std::NumColonSecondsTz => out.push_str("+00:00:00"),
            Std::Tz => out.push_str("UTC"),
            Std::FracSecond0(n) => {
                let digits = format!("{:09}", c.nanos);
                out.push('.');
                out.push_str(&digits[..n.min(9)]);
            }
            Std::FracSecond9(n) => {
                let digits = format!("{:09}", c.nanos);
                let mut d = &digits[..n.min(9)];
                while d.ends_with('0') {
                    d = &d[..d.len() - 1];
                }
                if !d.is_empty() {
                    out.push('.');
                    out.push_str(d);
                }
            }
        }
    }
    out
}

/// Go `time.Time.String()` for a UTC time.
pub(crate) fn time_string(t: i64) -> String {
    format(t, "2006-01-02 15:04:05.999999999 -0700 MST")
}

/// `time.RFC3339Nano`, used by `toJSON`.
pub(crate) fn rfc3339_nano(t: i64) -> String {
    format(t, "2006-01-02T15:04:05.999999999Z07:00")
}

/// The layouts `date(s)` tries without an explicit layout.
pub(crate) const DEFAULT_LAYOUTS: [&str; 7] = [
    "2006-01-02",
    "15:04:05",
    "2006-01-02 15:04:05",
    "2006-01-02T15:04:05Z07:00",
    "02 Jan 06 15:04 MST",
    "Monday, 02-Jan-06 15:04:05 MST",
    "Mon, 02 Jan 2006 15:04:05 MST",
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("5m"), Ok(300 * NANOS_PER_SEC));
        assert_eq!(parse_duration("1h30m"), Ok(5400 * NANOS_PER_SEC));
        assert_eq!(parse_duration("1.5s"), Ok(1_500_000_000));
        assert_eq!(parse_duration("-2ms"), Ok(-2_000_000));
        assert_eq!(parse_duration("0"), Ok(0));
        assert_eq!(parse_duration("300us"), Ok(300_000));
        assert_eq!(parse_duration("abc"), Err("time: invalid duration \"abc\"".into()));
        assert_eq!(parse_duration("5"), Err("time: missing unit in duration \"5\"".into()));
        assert_eq!(parse_duration("5x"), Err("time: unknown unit \"x\" in duration \"5x\"".into()));
        assert_eq!(format_duration(0), "0s");
        assert_eq!(format_duration(3_600 * NANOS_PER_SEC), "1h0m0s");
        assert_eq!(format_duration(90 * NANOS_PER_SEC), "1m30s");
        assert_eq!(format_duration(1_500_000_000), "1.5s");
        assert_eq!(format_duration(1_500_000), "1.5ms");
        assert_eq!(format_duration(1_500), "1.5\u{b5}s");
        assert_eq!(format_duration(15), "15ns");
        assert_eq!(format_duration(-90 * NANOS_PER_SEC), "-1m30s");
    }

    #[test]
    fn parse_and_format() {
        let t = parse("2006-01-02T15:04:05Z07:00", "2024-03-01T12:30:00Z").unwrap();
        assert_eq!(t, 1_709_296_200 * NANOS_PER_SEC);
        assert_eq!(time_string(t), "2024-03-01 12:30:00 +0000 UTC");
        let t2 = parse("2006-01-02T15:04:05Z07:00", "2024-03-01T14:30:00+02:00").unwrap();
        assert_eq!(t, t2);
        let t3 = parse("2006-01-02T15:04:05Z07:00", "2024-03-01T12:30:00.25Z").unwrap();
        assert_eq!(t3 - t, 250_000_000);
        assert_eq!(rfc3339_nano(t3), "2024-03-01T12:30:00.25Z");
        assert_eq!(parse("2006-01-02", "1970-01-02"), Ok(86_400 * NANOS_PER_SEC));
        assert_eq!(parse("2006-01-02", "2024-13-01"), Err("parsing time \"2024-13-01\": month out of range".into()));
        assert_eq!(parse("2006-01-02", "2024-02-30"), Err("parsing time \"2024-02-30\": day out of range".into()));
        assert_eq!(
            parse("2006-01-02", "x"),
            Err("parsing time \"x\" as \"2006-01-02\": cannot parse \"x\" as \"2006\"".into())
        );
        assert_eq!(parse("2006-01-02", "2024-01-01x"), Err("parsing time \"2024-01-01x\": extra text: \"x\"".into()));
        let rfc1123 = parse("Mon, 02 Jan 2006 15:04:05 MST", "Fri, 01 Mar 2024 12:30:00 GMT");
        assert_eq!(rfc1123, Ok(t));
        assert_eq!(format(t, "Jan 2, 2006 at 3:04pm (MST)"), "Mar 1, 2024 at 12:30pm (UTC)");
    }
}
