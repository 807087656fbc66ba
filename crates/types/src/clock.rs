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
    let t = t.to_offset(time::UtcOffset::UTC);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}{zone}",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}
