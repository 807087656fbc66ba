//! Dates for the `Date...` condition operators: ISO 8601 (`2020-01-01`,
//! `2020-01-01T12:00:00Z`, fractions and offsets) or epoch seconds, as AWS
//! accepts them. Kept here rather than pulling a date crate because only
//! parsing to an instant and formatting UTC are needed.

/// Milliseconds since the Unix epoch.
pub(crate) type Millis = i128;

pub(crate) fn parse(s: &str) -> Option<Millis> {
    let s = s.trim();
    // Every accepted form is ASCII; refusing anything else up front also keeps the byte
    // offsets below on character boundaries.
    if s.is_empty() || !s.is_ascii() {
        return None;
    }
    if let Some(epoch) = parse_epoch(s) {
        return Some(epoch);
    }
    parse_iso(s)
}

fn parse_epoch(s: &str) -> Option<Millis> {
    let (neg, digits) = match s.strip_prefix('-') {
        Some(d) => (true, d),
        None => (false, s),
    };
    let (int, frac) = match digits.split_once('.') {
        Some((i, f)) => (i, f),
        None => (digits, ""),
    };
    if int.is_empty() || !int.bytes().all(|b| b.is_ascii_digit()) || !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let secs: i64 = int.parse().ok()?;
    let ms = frac_millis(frac);
    let v = i128::from(secs) * 1000 + ms;
    Some(if neg { -v } else { v })
}

fn frac_millis(frac: &str) -> i128 {
    let mut ms = 0i128;
    for (i, b) in frac.bytes().take(3).enumerate() {
        ms += i128::from(b - b'0') * [100, 10, 1][i];
    }
    ms
}

fn num(s: &str, len: usize) -> Option<i64> {
    digits(s, len, len)
}

/// A number of `min` to `max` digits.
fn digits(s: &str, min: usize, max: usize) -> Option<i64> {
    if !(min..=max).contains(&s.len()) || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

fn parse_iso(s: &str) -> Option<Millis> {
    let (date, time) = match s.find(['T', 't']) {
        Some(i) => (&s[..i], Some(&s[i + 1..])),
        None => (s, None),
    };
    // AWS reads dates leniently (recorded: it accepts `01T` and `2016-12-13t2:00:00.593194+23`):
    // a year of up to four digits, month and day of one or two digits, each optional.
    let mut d = date.split('-');
    let year = digits(d.next()?, 1, 4)?;
    let month = d.next().map_or(Some(1), |m| digits(m, 1, 2))?;
    let day = d.next().map_or(Some(1), |m| digits(m, 1, 2))?;
    if d.next().is_some() || !(1..=12).contains(&month) || day < 1 || day > days_in_month(year, month) {
        return None;
    }
    let mut ms = i128::from(days_from_civil(year, month, day)) * 86_400_000;
    if let Some(time) = time {
        ms += parse_time(time)?;
    }
    Some(ms)
}

/// `hh[:mm[:ss[.fff]]]` (hours and minutes of one or two digits) followed by `Z`, `±hh`,
/// `±hh:mm` or `±hhmm` (or nothing: UTC); an empty time is midnight.
fn parse_time(t: &str) -> Option<Millis> {
    if t.is_empty() {
        return Some(0);
    }
    let (clock, offset_ms) = if let Some(c) = t.strip_suffix(['Z', 'z']) {
        (c, 0i128)
    } else if let Some(i) = t.rfind(['+', '-']) {
        let sign = if t.get(i..=i) == Some("-") { -1 } else { 1 };
        let off = t.get(i + 1..)?;
        let (h, m) = match (off.len(), off.get(2..3)) {
            (2, _) => (num(off, 2)?, 0),
            (4, _) => (num(off.get(..2)?, 2)?, num(off.get(2..)?, 2)?),
            (5, Some(":")) => (num(off.get(..2)?, 2)?, num(off.get(3..)?, 2)?),
            _ => return None,
        };
        if h > 23 || m > 59 {
            return None;
        }
        (t.get(..i)?, sign * i128::from(h * 3_600_000 + m * 60_000))
    } else {
        (t, 0)
    };
    let mut parts = clock.split(':');
    let h = digits(parts.next()?, 1, 2)?;
    let m = parts.next().map_or(Some(0), |m| digits(m, 1, 2))?;
    let (sec, frac) = match parts.next() {
        Some(sf) => match sf.split_once('.') {
            Some((sec, frac)) if !frac.is_empty() && frac.len() <= 9 && frac.bytes().all(|b| b.is_ascii_digit()) => {
                (num(sec, 2)?, frac_millis(frac))
            }
            Some(_) => return None,
            None => (num(sf, 2)?, 0),
        },
        None => (0, 0),
    };
    if parts.next().is_some() || h > 23 || m > 59 || sec > 60 {
        return None;
    }
    Some(i128::from(h * 3_600_000 + m * 60_000 + sec * 1000) + frac - offset_ms)
}

fn is_leap(y: i64) -> bool {
    (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
}

fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        2 if is_leap(y) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (era-based arithmetic).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

/// `YYYY-MM-DDThh:mm:ssZ`, the form AWS uses for `aws:CurrentTime`.
pub fn format_iso8601(unix_seconds: i64) -> String {
    // Every request of the same second formats the same instant (aws:CurrentTime): keep
    // the last one per thread.
    thread_local! {
        static LAST: std::cell::RefCell<(i64, String)> = const { std::cell::RefCell::new((i64::MIN, String::new())) };
    }
    LAST.with(|last| {
        let mut last = last.borrow_mut();
        if last.0 != unix_seconds {
            *last = (unix_seconds, format_uncached(unix_seconds));
        }
        last.1.clone()
    })
}

fn format_uncached(unix_seconds: i64) -> String {
    let days = unix_seconds.div_euclid(86_400);
    let secs = unix_seconds.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        secs / 3600,
        secs % 3600 / 60,
        secs % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_forms() {
        assert_eq!(parse("1970-01-01"), Some(0));
        assert_eq!(parse("1970-01-01T00:00:01Z"), Some(1000));
        assert_eq!(parse("1970-01-01T01:00:00+01:00"), Some(0));
        assert_eq!(parse("1970-01-01T00:00:00.250Z"), Some(250));
        // As leniently as AWS: a bare year with an empty time, one-digit hours, `t`.
        assert!(parse("01T").is_some());
        assert_eq!(parse("1970-01-01t1:00:00+01"), Some(0));
        assert_eq!(parse("1970T"), Some(0));
        assert_eq!(parse("86400"), Some(86_400_000));
        assert_eq!(parse("2020-02-30"), None);
        assert_eq!(parse("yesterday"), None);
        assert_eq!(parse("2019-06-30T00:00:00Z"), parse("1561852800"));
    }

    #[test]
    fn multi_byte_characters_are_refused_not_sliced() {
        for s in ["2020-01-01T00:00+a\u{e9}1", "2020-01-01T00:00+\u{e9}\u{e9}", "2020-01-01T00:00-1\u{e9}", "2020-01-01T0\u{e9}:00Z", "2020-\u{e9}1-01", "\u{e9}", "2020-01-01T00:00+0\u{2028}"] {
            assert_eq!(parse(s), None, "{s:?}");
        }
    }

    #[test]
    fn formats_round_trip() {
        for t in [0i64, 951_782_400, 1_561_852_800, 4_102_444_799, -86_400] {
            assert_eq!(parse(&format_iso8601(t)), Some(i128::from(t) * 1000));
        }
        assert_eq!(format_iso8601(1_561_852_800), "2019-06-30T00:00:00Z");
    }
}
