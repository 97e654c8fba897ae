//! Digit collection (flows.md §5 `digits_receive`): the type-ahead buffer and the rules of one
//! collection, with time as an argument.
//!
//! A collection ends when `length` digits are in (default 1), when a terminator `key` arrives
//! (kept in the value), or when a timer runs out: `duration` before the first digit, then
//! `inter_digit_timeout` after each digit. Digits pressed earlier (type-ahead) are taken
//! first, each restarting the inter-digit timer as it is taken.

use std::collections::VecDeque;

use flow::options::DigitsReceiveOption;

/// `digits_receive` waits this long for the first digit when the flow gives no `duration`.
pub const DEFAULT_FIRST_DIGIT_MS: u64 = 5_000;

/// Digits received and not consumed yet.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TypeAhead {
    queue: VecDeque<char>,
}

impl TypeAhead {
    /// A digit arrived.
    pub fn push(&mut self, d: char) {
        self.queue.push_back(d);
    }

    /// The oldest digit.
    pub fn pop(&mut self) -> Option<char> {
        self.queue.pop_front()
    }

    /// Remove the first `key`; whether there was one.
    pub fn take(&mut self, key: char) -> bool {
        match self.queue.iter().position(|&d| d == key) {
            Some(i) => self.queue.remove(i).is_some(),
            None => false,
        }
    }

    /// Whether no digit waits.
    pub fn is_empty(&self) -> bool {
        self.queue.is_empty()
    }
}

/// How a collection ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Collected {
    /// `length` digits, or the terminator (included), or a timer after at least one digit.
    Digits(String),
    /// No digit before the first timer ran out.
    Nothing,
}

/// One `digits_receive` in progress.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Collection {
    length: usize,
    terminators: String,
    between_ms: u64,
    got: String,
    /// Monotonic ms at which the current timer runs out.
    deadline_ms: u64,
    done: bool,
}

impl Collection {
    /// Start collecting at `now_ms` with the rules of `option`.
    pub fn new(option: &DigitsReceiveOption, now_ms: u64) -> Collection {
        let first = option.duration.unwrap_or(DEFAULT_FIRST_DIGIT_MS);
        Collection {
            length: option.length.max(1) as usize,
            terminators: option.key.clone().unwrap_or_default(),
            between_ms: option.inter_digit_timeout,
            got: String::new(),
            deadline_ms: now_ms.saturating_add(first),
            done: false,
        }
    }

    /// When the current timer runs out.
    pub fn deadline_ms(&self) -> u64 {
        self.deadline_ms
    }

    /// Take digits from `buffer` (type-ahead, or one that just arrived) until the collection
    /// is complete; `Some` when it is.
    pub fn take_from(&mut self, buffer: &mut TypeAhead, now_ms: u64) -> Option<Collected> {
        while !self.done {
            let d = buffer.pop()?;
            self.got.push(d);
            self.deadline_ms = now_ms.saturating_add(self.between_ms);
            if self.terminators.contains(d) || self.got.chars().count() >= self.length {
                self.done = true;
            }
        }
        Some(Collected::Digits(self.got.clone()))
    }

    /// The time is `now_ms`: `Some` when the timer ran out.
    pub fn on_timeout(&mut self, now_ms: u64) -> Option<Collected> {
        if now_ms < self.deadline_ms {
            return None;
        }
        self.done = true;
        Some(if self.got.is_empty() {
            Collected::Nothing
        } else {
            Collected::Digits(self.got.clone())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn option(length: u32, key: Option<&str>, duration: Option<u64>) -> DigitsReceiveOption {
        serde_json::from_value(serde_json::json!({
            "length": length, "key": key, "duration": duration, "inter_digit_timeout": 2000
        }))
        .unwrap()
    }

    fn buffer(digits: &str) -> TypeAhead {
        let mut b = TypeAhead::default();
        digits.chars().for_each(|d| b.push(d));
        b
    }

    #[test]
    fn type_ahead_is_counted_first_and_the_rest_stays() {
        let mut b = buffer("1234");
        let mut c = Collection::new(&option(2, None, None), 0);
        assert_eq!(c.take_from(&mut b, 0), Some(Collected::Digits("12".into())));
        assert_eq!(
            b.pop(),
            Some('3'),
            "later digits stay for the next collection"
        );
    }

    #[test]
    fn the_overall_timer_stops_at_the_first_digit_and_inter_digit_governs_after() {
        let mut b = TypeAhead::default();
        let mut c = Collection::new(&option(4, None, Some(3000)), 0);
        assert_eq!(c.deadline_ms(), 3000);
        b.push('1');
        assert_eq!(c.take_from(&mut b, 2900), None);
        assert_eq!(
            c.deadline_ms(),
            4900,
            "2 s after the digit, not 3 s after start"
        );
        assert_eq!(
            c.on_timeout(3000),
            None,
            "the overall timer no longer applies"
        );
        assert_eq!(c.on_timeout(4900), Some(Collected::Digits("1".into())));
    }

    #[test]
    fn nothing_before_the_first_timer_is_nothing() {
        let mut c = Collection::new(&option(1, None, None), 100);
        assert_eq!(c.deadline_ms(), 100 + DEFAULT_FIRST_DIGIT_MS);
        assert_eq!(c.on_timeout(5099), None);
        assert_eq!(c.on_timeout(5100), Some(Collected::Nothing));
    }

    #[test]
    fn the_terminator_ends_it_and_is_kept() {
        let mut b = buffer("12#9");
        let mut c = Collection::new(&option(10, Some("#*"), None), 0);
        assert_eq!(
            c.take_from(&mut b, 0),
            Some(Collected::Digits("12#".into()))
        );
        assert_eq!(b.pop(), Some('9'));
    }

    #[test]
    fn length_reached_ends_it() {
        let mut b = TypeAhead::default();
        let mut c = Collection::new(&option(3, Some("#"), None), 0);
        for (t, d) in [(10, '4'), (20, '5')] {
            b.push(d);
            assert_eq!(c.take_from(&mut b, t), None);
        }
        b.push('6');
        assert_eq!(
            c.take_from(&mut b, 30),
            Some(Collected::Digits("456".into()))
        );
    }

    #[test]
    fn take_removes_the_first_occurrence_only() {
        let mut b = buffer("9192");
        assert!(b.take('9'));
        assert_eq!(b.pop(), Some('1'));
        assert!(!b.take('7'));
    }
}
