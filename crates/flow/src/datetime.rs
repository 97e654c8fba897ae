//! Evaluation of `condition_datetime` (flows.md §4).
//!
//! The comparison is *now OP option*, lexicographic over the option's non-wildcard fields
//! taken in the order month, day, hour, minute:
//!
//! 1. Convert `now` to the option's `timezone` (UTC when absent).
//! 2. Keep the fields the option constrains: `month` when 1-12, `day` when 1-31, `hour` when
//!    0-23, `minute` when 0-59. Omitted fields, `-1` (and for month and day also `0`) are
//!    wildcards.
//! 3. Compare the tuple of the current values of those fields with the tuple of the option's
//!    values, lexicographically, and apply the operator. With no field kept the tuples are
//!    equal (`==`, `>=`, `<=` hold; `!=`, `>`, `<` do not).
//! 4. When `weekdays` is non-empty, today's weekday (0 = Sunday, in the same zone) must also
//!    be in it.
//!
//! So `hour >= 8, minute 0` holds from 08:00 to 23:59, `hour < 17, minute 30` until 17:29,
//! `hour == 12` (minute -1) for the whole noon hour, and `month >= 6, day >= 15` from June 15
//! to December 31. Windows across midnight need two conditions (e.g. `>= 22:00` or `< 06:00`).

use std::cmp::Ordering;

use chrono::{DateTime, Datelike, TimeZone, Timelike, Utc};

use crate::options::ConditionDatetimeOption;

/// Whether `o` holds at `now`; `timezone` is the option's zone after templating. `Err` when
/// the zone is not a valid IANA name.
pub(crate) fn holds(
    o: &ConditionDatetimeOption,
    timezone: Option<&str>,
    now: DateTime<Utc>,
) -> Result<bool, String> {
    let fields = match timezone.filter(|tz| !tz.is_empty()) {
        None => local_fields(&now.with_timezone(&Utc)),
        Some(name) => {
            let tz: chrono_tz::Tz = name
                .parse()
                .map_err(|_| format!("`{name}` is not an IANA time zone"))?;
            local_fields(&now.with_timezone(&tz))
        }
    };
    if !o.weekdays.is_empty() && !o.weekdays.contains(&fields.weekday) {
        return Ok(false);
    }
    let wanted = [
        o.month.filter(|m| (1..=12).contains(m)),
        o.day.filter(|d| (1..=31).contains(d)),
        o.hour.filter(|h| (0..=23).contains(h)),
        o.minute.filter(|m| (0..=59).contains(m)),
    ];
    let current = [fields.month, fields.day, fields.hour, fields.minute];
    let ordering = wanted
        .iter()
        .zip(current)
        .filter_map(|(want, now)| want.map(|w| now.cmp(&w)))
        .find(|o| *o != Ordering::Equal)
        .unwrap_or(Ordering::Equal);
    Ok(o.condition.holds(ordering))
}

struct Fields {
    month: i32,
    day: i32,
    hour: i32,
    minute: i32,
    weekday: u8,
}

fn local_fields<Tz: TimeZone>(t: &DateTime<Tz>) -> Fields {
    // Calendar values are at most 59, so the casts are lossless.
    Fields {
        month: t.month() as i32,
        day: t.day() as i32,
        hour: t.hour() as i32,
        minute: t.minute() as i32,
        weekday: t.weekday().num_days_from_sunday() as u8,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::options::Operator;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s)
            .map(|t| t.with_timezone(&Utc))
            .unwrap_or_default()
    }

    fn opt(op: Operator, hour: i32, minute: i32) -> ConditionDatetimeOption {
        ConditionDatetimeOption {
            condition: op,
            minute: Some(minute),
            hour: Some(hour),
            day: Some(-1),
            month: Some(0),
            weekdays: vec![],
            timezone: None,
            false_target_id: "f".into(),
        }
    }

    #[test]
    fn hour_ge_8_means_eight_oclock_or_later() {
        let o = opt(Operator::Ge, 8, 0);
        assert_eq!(holds(&o, None, at("2024-06-03T07:59:00Z")), Ok(false));
        assert_eq!(holds(&o, None, at("2024-06-03T08:00:00Z")), Ok(true));
        assert_eq!(holds(&o, None, at("2024-06-03T23:59:00Z")), Ok(true));
    }

    #[test]
    fn wildcard_minute_compares_the_hour_only() {
        let o = opt(Operator::Eq, 12, -1);
        assert_eq!(holds(&o, None, at("2024-06-03T12:59:00Z")), Ok(true));
        assert_eq!(holds(&o, None, at("2024-06-03T13:00:00Z")), Ok(false));
    }

    #[test]
    fn month_and_day_compare_lexicographically() {
        let mut o = opt(Operator::Ge, -1, -1);
        o.month = Some(6);
        o.day = Some(15);
        assert_eq!(holds(&o, None, at("2024-06-14T23:00:00Z")), Ok(false));
        assert_eq!(holds(&o, None, at("2024-07-01T00:00:00Z")), Ok(true));
    }

    #[test]
    fn all_wildcards_compare_equal() {
        let o = ConditionDatetimeOption {
            condition: Operator::Eq,
            minute: None,
            hour: None,
            day: None,
            month: None,
            weekdays: vec![],
            timezone: None,
            false_target_id: "f".into(),
        };
        assert_eq!(holds(&o, None, at("2024-06-03T12:00:00Z")), Ok(true));
    }

    #[test]
    fn invalid_time_zone_is_an_error() {
        let o = opt(Operator::Eq, -1, -1);
        assert!(holds(&o, Some("Mars/Olympus"), at("2024-06-03T12:00:00Z")).is_err());
    }
}
