//! RFC 3339 instants as they appear in TOML (`2027-12-31T00:00:00Z`).
//!
//! A time without an offset names no instant (it depends on the reader's
//! time zone), so it is refused wherever an expiry or freeze date is read.

use std::fmt;
use time::{Date, Month, OffsetDateTime, Time, UtcOffset};
use toml::value::{Datetime, Offset};

/// An instant with an explicit offset, always one that TOML can write:
/// years 0000 to 9999 in UTC. Only the constructors below make one, so
/// rendering it can never fail or fall back.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Timestamp(OffsetDateTime);

impl Timestamp {
    /// The current time, in UTC, to the second.
    pub fn now() -> Self {
        let now = OffsetDateTime::now_utc();
        Timestamp(now.replace_nanosecond(0).unwrap_or(now))
    }

    /// `instant`, when it falls in the years 0000 to 9999 in UTC.
    pub fn new(instant: OffsetDateTime) -> Option<Self> {
        let utc = instant.checked_to_offset(UtcOffset::UTC)?;
        (0..=9999)
            .contains(&utc.year())
            .then_some(Timestamp(instant))
    }

    /// The instant.
    pub fn instant(&self) -> OffsetDateTime {
        self.0
    }

    /// Converts a TOML datetime, which must have a date, a time and an offset.
    pub fn from_toml(dt: &Datetime) -> Result<Self, String> {
        let (Some(date), Some(clock), Some(offset)) = (dt.date, dt.time, dt.offset) else {
            return Err(format!(
                "'{dt}' is not a complete RFC 3339 time with an offset; write it like 2027-12-31T00:00:00Z"
            ));
        };
        let bad = |what: &str| format!("'{dt}' is not a valid time: {what}");
        let month = Month::try_from(date.month).map_err(|_| bad("month"))?;
        let date = Date::from_calendar_date(i32::from(date.year), month, date.day)
            .map_err(|_| bad("day"))?;
        let clock = Time::from_hms_nano(
            clock.hour,
            clock.minute,
            clock.second.unwrap_or(0),
            clock.nanosecond.unwrap_or(0),
        )
        .map_err(|_| bad("time of day"))?;
        let offset = match offset {
            Offset::Z => UtcOffset::UTC,
            Offset::Custom { minutes } => {
                UtcOffset::from_whole_seconds(i32::from(minutes) * 60).map_err(|_| bad("offset"))?
            }
        };
        // Rendered in UTC, the instant must still be a TOML datetime (years
        // 0000 to 9999): `9999-12-31T23:00:00-02:00` is not (found by fuzzing).
        Timestamp::new(date.with_time(clock).assume_offset(offset))
            .ok_or_else(|| bad("it falls outside the years 0000 to 9999 in UTC"))
    }

    /// The TOML datetime for this instant, in UTC.
    pub fn to_toml(&self) -> Datetime {
        // Every Timestamp is in range in UTC: `new` and `now` see to it, so
        // the conversion and the year below cannot fail.
        let utc = self.0.to_offset(UtcOffset::UTC);
        let nanosecond = utc.nanosecond();
        Datetime {
            date: Some(toml::value::Date {
                year: utc.year().unsigned_abs() as u16,
                month: u8::from(utc.month()),
                day: utc.day(),
            }),
            time: Some(toml::value::Time {
                hour: utc.hour(),
                minute: utc.minute(),
                second: Some(utc.second()),
                nanosecond: (nanosecond != 0).then_some(nanosecond),
            }),
            offset: Some(Offset::Z),
        }
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.to_toml())
    }
}

impl<'de> serde::Deserialize<'de> for Timestamp {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let dt = Datetime::deserialize(d)?;
        Timestamp::from_toml(&dt).map_err(serde::de::Error::custom)
    }
}

impl serde::Serialize for Timestamp {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.to_toml().serialize(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_are_honoured_and_local_times_refused() {
        let z: Datetime = "2027-01-01T00:00:00Z".parse().unwrap();
        let plus2: Datetime = "2027-01-01T02:00:00+02:00".parse().unwrap();
        assert_eq!(
            Timestamp::from_toml(&z).unwrap(),
            Timestamp::from_toml(&plus2).unwrap()
        );
        let local: Datetime = "2027-01-01T00:00:00".parse().unwrap();
        assert!(Timestamp::from_toml(&local).is_err());
        let date_only: Datetime = "2027-01-01".parse().unwrap();
        assert!(Timestamp::from_toml(&date_only).is_err());
    }

    #[test]
    fn round_trips_through_toml() {
        let t = Timestamp::now();
        assert_eq!(Timestamp::from_toml(&t.to_toml()).unwrap(), t);
    }
}
