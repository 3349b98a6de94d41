//! Injected time, so validity, OCSP freshness and CRL schedules are testable.

use chrono::{NaiveDateTime, SubsecRound, Utc};

/// A source of the current UTC time.
pub trait Clock: Send + Sync {
    /// Now, in UTC, truncated to whole seconds (X.509 times have no fractions).
    fn now(&self) -> NaiveDateTime;
}

/// The system clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> NaiveDateTime {
        Utc::now().naive_utc().trunc_subsecs(0)
    }
}

/// A clock that always answers the same instant.
#[derive(Debug, Clone, Copy)]
pub struct FixedClock(pub NaiveDateTime);

impl Clock for FixedClock {
    fn now(&self) -> NaiveDateTime {
        self.0
    }
}
