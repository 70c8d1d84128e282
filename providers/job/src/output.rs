//! Captured output: the tail of a stream, and how it is shown in a measurement message.
//!
//! A check can print megabytes; a measurement message is stored with every run and shown
//! in tables, so only the end of each stream is kept: the last [`MAX_LINES`] lines, at most
//! [`MAX_BYTES`] bytes. The end is what explains a failure (the assertion, the stack
//! trace's last frame, curl's error).

/// Lines of one stream shown in a message.
pub(crate) const MAX_LINES: usize = 20;
/// Bytes of one stream shown in a message (after the line limit).
pub(crate) const MAX_BYTES: usize = 2048;
/// Bytes of one stream kept while it is read; enough for [`MAX_LINES`] long lines.
const KEEP_BYTES: usize = 64 * 1024;

/// The last [`KEEP_BYTES`] bytes written to a stream.
#[derive(Debug, Default, Clone)]
pub(crate) struct Tail {
    buf: Vec<u8>,
    /// Bytes dropped from the front so far.
    dropped: u64,
}

impl Tail {
    /// Appends `bytes`, forgetting the oldest ones beyond the cap.
    pub(crate) fn push(&mut self, bytes: &[u8]) {
        self.buf.extend_from_slice(bytes);
        // Drain in large steps so a chatty stream is not copied on every read.
        if self.buf.len() > 2 * KEEP_BYTES {
            let excess = self.buf.len() - KEEP_BYTES;
            self.buf.drain(..excess);
            self.dropped += excess as u64;
        }
    }

    /// The shown part: the last lines of the stream, lossily decoded, and whether
    /// anything before them was left out.
    pub(crate) fn render(&self) -> Option<(String, bool)> {
        render_tail(&String::from_utf8_lossy(&self.buf), self.dropped > 0)
    }
}

/// The last [`MAX_LINES`] lines (at most [`MAX_BYTES`] bytes) of `text`, without the
/// trailing newline; `None` when there is nothing but whitespace. The flag says whether
/// anything was cut (`already_cut` means the text itself is already a tail).
pub(crate) fn render_tail(text: &str, already_cut: bool) -> Option<(String, bool)> {
    let text = text.trim_end_matches(['\n', '\r']);
    if text.trim().is_empty() {
        return None;
    }
    let mut cut = already_cut;
    let lines: Vec<&str> = text.split('\n').collect();
    let mut start = 0;
    if lines.len() > MAX_LINES {
        start = lines.len() - MAX_LINES;
        cut = true;
    }
    let mut shown = lines[start..].iter().map(|l| l.trim_end_matches('\r')).collect::<Vec<_>>().join("\n");
    if shown.len() > MAX_BYTES {
        let mut from = shown.len() - MAX_BYTES;
        while !shown.is_char_boundary(from) {
            from += 1;
        }
        shown = format!("…{}", &shown[from..]);
        cut = true;
    }
    Some((shown, cut))
}

/// One titled section of a message (`stdout (last lines):\n…`), or nothing for an
/// empty stream.
pub(crate) fn section(title: &str, rendered: Option<(String, bool)>) -> Option<String> {
    let (text, cut) = rendered?;
    let qualifier = if cut { " (last lines)" } else { "" };
    Some(format!("{title}{qualifier}:\n{text}"))
}

/// Go's `time.Duration.String()` for a non-negative duration: `1.5s`, `250ms`, `1m30s`,
/// `2h0m0s`. Used in messages so they read like the durations users write.
pub(crate) fn go_duration(d: std::time::Duration) -> String {
    let nanos = d.as_nanos();
    if nanos == 0 {
        return "0s".to_string();
    }
    if nanos < 1_000 {
        return format!("{nanos}ns");
    }
    if nanos < 1_000_000 {
        return format!("{}µs", trim_fraction(nanos, 1_000));
    }
    if nanos < 1_000_000_000 {
        return format!("{}ms", trim_fraction(nanos, 1_000_000));
    }
    let hours = nanos / 3_600_000_000_000;
    let minutes = (nanos / 60_000_000_000) % 60;
    let seconds = trim_fraction(nanos % 60_000_000_000, 1_000_000_000);
    match (hours, minutes) {
        (0, 0) => format!("{seconds}s"),
        (0, m) => format!("{m}m{seconds}s"),
        (h, m) => format!("{h}h{m}m{seconds}s"),
    }
}

/// `value / unit` with the fraction's trailing zeros removed (`1500, 1000` → `1.5`).
fn trim_fraction(value: u128, unit: u128) -> String {
    let whole = value / unit;
    let frac = value % unit;
    if frac == 0 {
        return whole.to_string();
    }
    let width = unit.ilog10() as usize;
    let digits = format!("{frac:0width$}");
    format!("{whole}.{}", digits.trim_end_matches('0'))
}

/// Parses a Go duration string (`time.ParseDuration`): `300ms`, `1.5h`, `2h45m`, `1m30s`.
/// Units: `ns`, `us` (`µs`, `μs`), `ms`, `s`, `m`, `h`. A sign is accepted as Go accepts
/// it; the caller decides what a non-positive duration means. Returns nanoseconds.
pub(crate) fn parse_go_duration(text: &str) -> Result<i128, String> {
    let err = || format!("time: invalid duration {text:?}");
    let (negative, mut rest) = match text.as_bytes().first() {
        Some(b'-') => (true, &text[1..]),
        Some(b'+') => (false, &text[1..]),
        _ => (false, text),
    };
    if rest == "0" {
        return Ok(0);
    }
    if rest.is_empty() {
        return Err(err());
    }
    let mut total: i128 = 0;
    while !rest.is_empty() {
        let number_len = rest.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(rest.len());
        let number = &rest[..number_len];
        if number.is_empty() || number == "." || number.matches('.').count() > 1 {
            return Err(err());
        }
        rest = &rest[number_len..];
        let unit_len = rest.find(|c: char| c.is_ascii_digit() || c == '.').unwrap_or(rest.len());
        let unit = &rest[..unit_len];
        rest = &rest[unit_len..];
        let scale: i128 = match unit {
            "ns" => 1,
            "us" | "µs" | "μs" => 1_000,
            "ms" => 1_000_000,
            "s" => 1_000_000_000,
            "m" => 60_000_000_000,
            "h" => 3_600_000_000_000,
            "" => return Err(format!("time: missing unit in duration {text:?}")),
            other => return Err(format!("time: unknown unit {other:?} in duration {text:?}")),
        };
        let (whole, frac) = number.split_once('.').unwrap_or((number, ""));
        let whole: i128 = if whole.is_empty() { 0 } else { whole.parse().map_err(|_| err())? };
        let mut value = whole.checked_mul(scale).ok_or_else(err)?;
        let mut place = scale;
        for digit in frac.bytes() {
            place /= 10;
            value += i128::from(digit - b'0') * place;
        }
        total = total.checked_add(value).ok_or_else(err)?;
        // Go's limit: durations are int64 nanoseconds.
        if total > i128::from(i64::MAX) {
            return Err(err());
        }
    }
    Ok(if negative { -total } else { total })
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[track_caller]
    fn check_duration(text: &str, nanos: Result<i128, &str>) {
        assert_eq!(parse_go_duration(text), nanos.map_err(str::to_string), "{text}");
    }

    #[test]
    fn go_durations_parse_as_go_parses_them() {
        check_duration("60s", Ok(60_000_000_000));
        check_duration("1m30s", Ok(90_000_000_000));
        check_duration("1.5h", Ok(5_400_000_000_000));
        check_duration("300ms", Ok(300_000_000));
        check_duration("2us", Ok(2_000));
        check_duration("2µs", Ok(2_000));
        check_duration(".5s", Ok(500_000_000));
        check_duration("0", Ok(0));
        check_duration("-1s", Ok(-1_000_000_000));
        check_duration("", Err("time: invalid duration \"\""));
        check_duration("60", Err("time: missing unit in duration \"60\""));
        check_duration("5d", Err("time: unknown unit \"d\" in duration \"5d\""));
        check_duration("1..5s", Err("time: invalid duration \"1..5s\""));
        check_duration("s", Err("time: invalid duration \"s\""));
        check_duration("9999999999h", Err("time: invalid duration \"9999999999h\""));
    }

    #[test]
    fn go_duration_strings_read_like_go() {
        let cases = [
            (Duration::ZERO, "0s"),
            (Duration::from_millis(250), "250ms"),
            (Duration::from_millis(1500), "1.5s"),
            (Duration::from_secs(90), "1m30s"),
            (Duration::from_secs(7200), "2h0m0s"),
            (Duration::from_micros(1500), "1.5ms"),
        ];
        for (d, want) in cases {
            assert_eq!(go_duration(d), want);
        }
    }

    #[test]
    fn tails_keep_the_last_lines_and_bytes() {
        let text: String = (1..=100).map(|i| format!("line {i}\n")).collect();
        let (shown, cut) = render_tail(&text, false).unwrap();
        assert!(cut);
        assert!(shown.starts_with("line 81\n") && shown.ends_with("line 100"), "{shown}");
        assert_eq!(render_tail("ok\n", false), Some(("ok".to_string(), false)));
        assert_eq!(render_tail(" \n\n", false), None);
        let long = "é".repeat(5000);
        let (shown, cut) = render_tail(&long, false).unwrap();
        assert!(cut && shown.starts_with('…') && shown.len() <= MAX_BYTES + '…'.len_utf8());
    }

    #[test]
    fn a_tail_forgets_the_front_of_a_long_stream() {
        let mut tail = Tail::default();
        for i in 0..50_000 {
            tail.push(format!("line {i}\n").as_bytes());
        }
        assert!(tail.buf.len() <= 2 * KEEP_BYTES);
        let (shown, cut) = tail.render().unwrap();
        assert!(cut && shown.ends_with("line 49999"), "{shown}");
    }
}
