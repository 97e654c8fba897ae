//! Converting between Rust values and their portable column forms: times as `BIGINT`
//! milliseconds, JSON as `TEXT`. Decoding never panics; bad data is [`StoreError::Corrupt`].

use chrono::{DateTime, Utc};
use serde_json::Value;

use crate::StoreError;

/// A time as stored: milliseconds since the Unix epoch.
pub(crate) fn ms(time: DateTime<Utc>) -> i64 {
    time.timestamp_millis()
}

pub(crate) fn opt_ms(time: Option<DateTime<Utc>>) -> Option<i64> {
    time.map(ms)
}

/// Decodes column values of one row; `table` and `id` name the row in errors.
pub(crate) struct RowDecoder<'a> {
    pub table: &'static str,
    pub id: &'a str,
}

impl RowDecoder<'_> {
    pub fn corrupt(&self, reason: impl Into<String>) -> StoreError {
        StoreError::Corrupt {
            table: self.table,
            id: self.id.to_string(),
            reason: reason.into(),
        }
    }

    pub fn time(&self, column: &str, millis: i64) -> Result<DateTime<Utc>, StoreError> {
        DateTime::from_timestamp_millis(millis)
            .ok_or_else(|| self.corrupt(format!("{column}: {millis} ms is out of range")))
    }

    pub fn opt_time(
        &self,
        column: &str,
        millis: Option<i64>,
    ) -> Result<Option<DateTime<Utc>>, StoreError> {
        millis.map(|m| self.time(column, m)).transpose()
    }

    pub fn json(&self, column: &str, text: &str) -> Result<Value, StoreError> {
        serde_json::from_str(text).map_err(|e| self.corrupt(format!("{column}: {e}")))
    }
}

/// A page size or offset as bound to SQL (`BIGINT`).
pub(crate) fn count(n: u32) -> i64 {
    i64::from(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn out_of_range_times_and_bad_json_are_corrupt_not_panics() {
        let d = RowDecoder {
            table: "calls",
            id: "c1",
        };
        assert!(matches!(
            d.time("created_at", i64::MAX),
            Err(StoreError::Corrupt { table: "calls", .. })
        ));
        assert!(matches!(
            d.json("variables", "{not json"),
            Err(StoreError::Corrupt { .. })
        ));
        assert_eq!(d.time("t", 0).map(ms).ok(), Some(0));
    }
}
