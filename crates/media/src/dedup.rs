//! De-duplication of DTMF digits heard from several sources on one call.
//!
//! A phone or gateway may signal one key press twice: as an RTP
//! telephone-event ([`rfc4733`](crate::rfc4733)) and as tones left in the
//! audio ([`dtmf`](crate::dtmf)), or as SIP INFO as well. [`Dedup`] keeps the
//! first report and drops the other sources' copies of the same digit that
//! arrive within a short window (default 100 ms: in-band detection lags the
//! first RFC 4733 packet by about 40–60 ms).
//!
//! Time is an argument: the caller's clock as a [`Duration`] since any fixed
//! epoch (e.g. call start).
//!
//! ```
//! use std::time::Duration;
//! use media::dedup::{Dedup, DigitSource};
//!
//! let mut dedup = Dedup::default();
//! let ms = Duration::from_millis;
//! assert!(dedup.accept('5', DigitSource::Rfc4733, ms(1_000)));
//! assert!(!dedup.accept('5', DigitSource::InBand, ms(1_050)));
//! ```

use std::time::Duration;

/// Default window within which another source's same digit is a duplicate.
pub const DEFAULT_WINDOW: Duration = Duration::from_millis(100);

/// Where a digit came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DigitSource {
    /// RTP telephone-event ([`EventReceiver`](crate::rfc4733::EventReceiver)).
    Rfc4733,
    /// Tones in the audio ([`DtmfDetector`](crate::dtmf::DtmfDetector)).
    InBand,
    /// SIP INFO (`application/dtmf-relay` or `application/dtmf`).
    SipInfo,
}

/// De-duplicates digits reported by several sources for one call.
///
/// A digit is a duplicate when a *different* source reported the same digit
/// at most `window` earlier and that report has not already absorbed a
/// duplicate from this source. Reports from the same source are never
/// duplicates of each other (each source already reports a press once).
#[derive(Debug, Clone)]
pub struct Dedup {
    window: Duration,
    recent: Vec<Report>,
}

#[derive(Debug, Clone, Copy)]
struct Report {
    digit: char,
    source: DigitSource,
    at: Duration,
    /// Sources whose duplicate this report already absorbed.
    absorbed: [bool; 3],
}

/// Reports kept for matching; older ones are dropped first.
const DEDUP_HISTORY: usize = 16;

impl Default for Dedup {
    fn default() -> Self {
        Self::new(DEFAULT_WINDOW)
    }
}

impl Dedup {
    /// A de-duplicator that treats reports up to `window` apart as one press.
    pub fn new(window: Duration) -> Self {
        Dedup {
            window,
            recent: Vec::with_capacity(DEDUP_HISTORY),
        }
    }

    /// Offers `digit` from `source` at time `at` (the caller's clock, any
    /// fixed epoch). Returns true when the digit is new and should be used,
    /// false when it duplicates another source's report.
    pub fn accept(&mut self, digit: char, source: DigitSource, at: Duration) -> bool {
        let digit = digit.to_ascii_uppercase();
        let window = self.window;
        let slot = source_index(source);
        let duplicate_of = self.recent.iter_mut().rev().find(|r| {
            r.digit == digit
                && r.source != source
                && !r.absorbed.get(slot).copied().unwrap_or(true)
                && at.abs_diff(r.at) <= window
        });
        if let Some(original) = duplicate_of {
            if let Some(flag) = original.absorbed.get_mut(slot) {
                *flag = true;
            }
            return false;
        }
        if self.recent.len() >= DEDUP_HISTORY {
            self.recent.remove(0);
        }
        self.recent.push(Report {
            digit,
            source,
            at,
            absorbed: [false; 3],
        });
        true
    }
}

fn source_index(source: DigitSource) -> usize {
    match source {
        DigitSource::Rfc4733 => 0,
        DigitSource::InBand => 1,
        DigitSource::SipInfo => 2,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dedup_drops_the_other_sources_copy_within_the_window() {
        let ms = Duration::from_millis;
        let mut dedup = Dedup::default();
        assert!(dedup.accept('5', DigitSource::Rfc4733, ms(1_000)));
        assert!(
            !dedup.accept('5', DigitSource::InBand, ms(1_045)),
            "same press, heard in-band"
        );
        // The next press of the same key, from either source, counts.
        assert!(dedup.accept('5', DigitSource::Rfc4733, ms(1_090)));
        assert!(!dedup.accept('5', DigitSource::InBand, ms(1_150)));
        // Outside the window: a new press.
        assert!(dedup.accept('5', DigitSource::InBand, ms(1_400)));
        // A different digit is never a duplicate.
        assert!(dedup.accept('6', DigitSource::SipInfo, ms(1_410)));
        // The in-band copy may arrive first.
        assert!(dedup.accept('7', DigitSource::InBand, ms(2_000)));
        assert!(!dedup.accept('7', DigitSource::Rfc4733, ms(2_030)));
        // Same source twice is two presses.
        assert!(dedup.accept('8', DigitSource::SipInfo, ms(3_000)));
        assert!(dedup.accept('8', DigitSource::SipInfo, ms(3_050)));
    }

    #[test]
    fn dedup_absorbs_one_copy_per_other_source() {
        let ms = Duration::from_millis;
        let mut dedup = Dedup::default();
        assert!(dedup.accept('1', DigitSource::Rfc4733, ms(0)));
        assert!(!dedup.accept('1', DigitSource::InBand, ms(40)));
        assert!(!dedup.accept('1', DigitSource::SipInfo, ms(60)));
        assert!(
            dedup.accept('1', DigitSource::InBand, ms(80)),
            "a second in-band press"
        );
    }
}
