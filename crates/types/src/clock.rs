use time::OffsetDateTime;

/// The source of "now". Pure crates never read the system clock themselves, so tests can
/// pin time (TOTP windows, SigV4 skew, credential expiry) exactly.
pub trait Clock: Send + Sync {
    fn now(&self) -> OffsetDateTime;
}

/// The real wall clock, truncated to whole seconds as AWS reports timestamps.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> OffsetDateTime {
        let now = OffsetDateTime::now_utc();
        now.replace_nanosecond(0).unwrap_or(now)
    }
}

/// A clock that always answers the same instant (tests).
#[derive(Debug, Clone, Copy)]
pub struct FixedClock(pub OffsetDateTime);

impl Clock for FixedClock {
    fn now(&self) -> OffsetDateTime {
        self.0
    }
}

/// The wall clock moved by an adjustable offset: the server's `--test-clock` mode, so tests
/// can expire sessions, passwords and reports without waiting.
#[derive(Debug, Default)]
pub struct OffsetClock {
    pub offset: std::sync::atomic::AtomicI64,
}

impl Clock for OffsetClock {
    fn now(&self) -> OffsetDateTime {
        let real = SystemClock.now();
        let offset = self.offset.load(std::sync::atomic::Ordering::SeqCst);
        real.checked_add(time::Duration::seconds(offset)).unwrap_or(real)
    }
}

/// `YYYY-MM-DDTHH:MM:SS` and a zone suffix (`Z` in API responses, `+00:00` in the
/// credential report), in UTC, whole seconds: the two ways AWS writes times.
pub fn format_utc(t: OffsetDateTime, zone: &str) -> String {
    let mut out = String::with_capacity(20 + zone.len());
    write_utc(&mut out, t, zone);
    out
}

/// [`format_utc`] appended to `out` (responses write many timestamps; this skips the
/// formatting machinery and the intermediate string).
pub fn write_utc(out: &mut String, t: OffsetDateTime, zone: &str) {
    let t = t.to_offset(time::UtcOffset::UTC);
    let year = t.year();
    if (0..=9999).contains(&year) {
        push_digits(out, year as u32, 4);
    } else {
        out.push_str(&format!("{year:04}"));
    }
    for (sep, v) in [('-', u8::from(t.month())), ('-', t.day()), ('T', t.hour()), (':', t.minute()), (':', t.second())] {
        out.push(sep);
        push_digits(out, u32::from(v), 2);
    }
    out.push_str(zone);
}

fn push_digits(out: &mut String, v: u32, width: u32) {
    for i in (0..width).rev() {
        let d = (v / 10u32.pow(i)) % 10;
        out.push(char::from(b'0' + d as u8));
    }
}

#[cfg(test)]
mod format_tests {
    use super::*;

    #[test]
    fn utc_timestamps_are_zero_padded_and_converted_to_utc() {
        let t = time::macros::datetime!(2026-03-04 05:06:07 +02:00);
        assert_eq!(format_utc(t, "Z"), "2026-03-04T03:06:07Z");
        assert_eq!(format_utc(time::macros::datetime!(0999-12-31 23:59:59 UTC), "+00:00"), "0999-12-31T23:59:59+00:00");
        let mut s = String::from("<T>");
        write_utc(&mut s, time::macros::datetime!(2026-11-23 20:45:00 UTC), "Z");
        assert_eq!(s, "<T>2026-11-23T20:45:00Z");
    }
}
