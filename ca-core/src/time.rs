//! Conversions between chrono UTC times and X.509 `Time` (RFC 5280 §4.1.2.5: UTCTime
//! through 2049, GeneralizedTime from 2050).

use chrono::{Datelike, NaiveDateTime, Timelike};
use x509_cert::time::Time;

use crate::error::{Error, Result};

/// The X.509 `Time` for a UTC instant.
pub fn to_x509(t: NaiveDateTime) -> Result<Time> {
    let year = u16::try_from(t.year())
        .map_err(|_| Error::invalid("time", format!("year {} is out of range", t.year())))?;
    let dt = der::DateTime::new(
        year,
        t.month() as u8,
        t.day() as u8,
        t.hour() as u8,
        t.minute() as u8,
        t.second() as u8,
    )?;
    Ok(Time::from(dt))
}

/// The UTC instant of an X.509 `Time`.
pub fn from_x509(t: &Time) -> NaiveDateTime {
    let secs = t.to_unix_duration().as_secs();
    chrono::DateTime::from_timestamp(secs as i64, 0)
        .map(|d| d.naive_utc())
        .unwrap_or_default()
}
