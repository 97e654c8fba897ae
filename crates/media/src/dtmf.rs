//! In-band DTMF (ITU-T Q.23 frequencies, Q.24 reception): detect key presses
//! in 8 kHz audio, and generate them.
//!
//! [`DtmfDetector`] runs a Goertzel probe for each of the eight DTMF
//! frequencies over a 20 ms window (160 samples, 50 Hz resolution) every
//! 10 ms. A window holds a digit when all of these hold:
//!
//! - **level**: the strongest row and column tones are each at least
//!   [`MIN_TONE_DBFS`];
//! - **twist**: the row tone exceeds the column tone by at most
//!   [`NORMAL_TWIST_DB`], the column tone the row tone by at most
//!   [`REVERSE_TWIST_DB`];
//! - **dominance**: each tone is [`DOMINANCE_DB`] above the other three of
//!   its group;
//! - **purity**: the two tones carry at least [`MIN_SIGNAL_RATIO`] of the
//!   window's energy (speech, music and noise spread theirs);
//! - **frequency**: each tone is closer to its nominal frequency than to
//!   probes 5 % either side, so tones off by more than 2.5 % are rejected
//!   (Q.24: accept ±1.5 %, reject beyond ±3.5 %).
//!
//! Each window is tapered (Hann) so a tone 1.5 % off frequency loses little
//! power and neighbouring frequencies leak little.
//!
//! A digit is reported once, at its start, when three consecutive windows
//! (spanning 40 ms) hold it. It is released after four consecutive windows
//! without it: a pause of 33 ms or more always separates two presses of the
//! same key, an interruption of up to 20 ms never does, and a long press is
//! one digit. Tones of 40 ms or more are always detected; tones under 28 ms
//! never are (Q.24: operate at ≥ 40 ms, not below 23 ms).
//!
//! Latency: a digit is reported 40–50 ms after its tone starts.
//!
//! [`generate`] makes the tones for in-band `digits_send`.
//!
//! ```
//! use media::dtmf::{generate, DtmfDetector};
//!
//! let mut detector = DtmfDetector::new();
//! let mut audio = generate('7', 100, 0.5).unwrap_or_default();
//! audio.extend([0i16; 800]);
//! let digits: Vec<char> = audio.chunks(160).filter_map(|f| detector.process(f)).collect();
//! assert_eq!(digits, ['7']);
//! ```

use std::collections::VecDeque;

use crate::goertzel::{mean_square, powers, Goertzel};
use crate::tone;

/// Sample rate the detector and generator work at.
pub const SAMPLE_RATE: u32 = 8000;
/// Low-group (row) frequencies in Hz (Q.23).
pub const ROW_HZ: [f32; 4] = [697.0, 770.0, 852.0, 941.0];
/// High-group (column) frequencies in Hz (Q.23).
pub const COLUMN_HZ: [f32; 4] = [1209.0, 1336.0, 1477.0, 1633.0];
/// The keypad: `KEYS[row][column]`.
pub const KEYS: [[char; 4]; 4] = [
    ['1', '2', '3', 'A'],
    ['4', '5', '6', 'B'],
    ['7', '8', '9', 'C'],
    ['*', '0', '#', 'D'],
];

/// Quietest tone (each of the pair, RMS) the detector accepts, in dBFS
/// (≈ -35 dBm0 in G.711).
pub const MIN_TONE_DBFS: f32 = -38.0;
/// Largest "normal" twist: row tone louder than the column tone, in dB.
pub const NORMAL_TWIST_DB: f32 = 8.0;
/// Largest "reverse" twist: column tone louder than the row tone, in dB.
pub const REVERSE_TWIST_DB: f32 = 4.0;
/// How far each tone must stand above the other tones of its group, in dB.
pub const DOMINANCE_DB: f32 = 6.0;
/// Smallest share of the window's energy the two tones must carry.
pub const MIN_SIGNAL_RATIO: f32 = 0.65;

/// Analysis window: 20 ms.
const WINDOW: usize = 160;
/// Hop between windows: 10 ms.
const HOP: usize = 80;
/// Consecutive windows holding a digit before it is reported (40 ms).
const ACCEPT_WINDOWS: u32 = 3;
/// Consecutive windows without the held digit before it is released.
const RELEASE_WINDOWS: u32 = 4;
/// Power gain of the Hann taper on a sine: (mean of the window)².
const TONE_GAIN: f32 = 0.25;
/// Power gain of the Hann taper on broadband signal: mean of the window².
const ENERGY_GAIN: f32 = 0.375;
/// Offset of the off-frequency guard probes.
const GUARD_OFFSET: f32 = 0.05;

/// The row and column frequencies of `digit` ('0'-'9', '*', '#', 'A'-'D',
/// lowercase accepted); `None` for anything else.
pub fn frequencies(digit: char) -> Option<(f32, f32)> {
    let digit = digit.to_ascii_uppercase();
    KEYS.iter().zip(ROW_HZ).find_map(|(keys, row)| {
        keys.iter()
            .zip(COLUMN_HZ)
            .find(|(&key, _)| key == digit)
            .map(|(_, column)| (row, column))
    })
}

/// The dual tone of `digit` at 8 kHz lasting `duration_ms`, peak `amplitude`
/// (fraction of full scale, both tones at half of it, so zero twist), with
/// the click-free ramps of [`tone::dual`]. `None` for a character that is
/// not a DTMF digit.
pub fn generate(digit: char, duration_ms: u32, amplitude: f32) -> Option<Vec<i16>> {
    let (row, column) = frequencies(digit)?;
    Some(tone::dual(row, column, amplitude, duration_ms, SAMPLE_RATE))
}

/// In-band DTMF detector for one audio stream at 8 kHz. See the module docs
/// for the rules.
#[derive(Debug, Clone)]
pub struct DtmfDetector {
    /// The analysis window: `[..HOP]` the previous hop, `[HOP..]` the hop
    /// being filled (the first `fresh` samples of it are valid).
    window: [f32; WINDOW],
    fresh: usize,
    /// Hann taper applied to each window before analysis.
    taper: [f32; WINDOW],
    /// The eight nominal probes, rows then columns, run as one bank.
    nominal: [Goertzel; 8],
    rows: [Guards; 4],
    columns: [Guards; 4],
    /// Classification of the latest window and how many windows in a row had it.
    last: Option<char>,
    run: u32,
    /// The digit reported and not yet released, and the windows since it was last seen.
    held: Option<char>,
    absent: u32,
    /// Digits detected but not yet returned.
    pending: VecDeque<char>,
}

/// The two off-frequency probes around one nominal frequency.
#[derive(Debug, Clone, Copy)]
struct Guards {
    below: Goertzel,
    above: Goertzel,
}

impl Guards {
    fn new(freq_hz: f32) -> Self {
        Guards {
            below: Goertzel::new(freq_hz * (1.0 - GUARD_OFFSET), SAMPLE_RATE),
            above: Goertzel::new(freq_hz * (1.0 + GUARD_OFFSET), SAMPLE_RATE),
        }
    }

    /// True when the tone near this frequency is closer to nominal than to
    /// the guards (`nominal_power` as measured on the same tapered window).
    fn on_frequency(&self, window: &[f32], nominal_power: f32) -> bool {
        self.below.power(window) < nominal_power && self.above.power(window) < nominal_power
    }
}

/// Probes for the eight DTMF frequencies, rows then columns.
fn nominal_bank() -> [Goertzel; 8] {
    let mut bank = [Goertzel::new(0.0, SAMPLE_RATE); 8];
    for (probe, &hz) in bank.iter_mut().zip(ROW_HZ.iter().chain(&COLUMN_HZ)) {
        *probe = Goertzel::new(hz, SAMPLE_RATE);
    }
    bank
}

impl Default for DtmfDetector {
    fn default() -> Self {
        Self::new()
    }
}

impl DtmfDetector {
    /// A detector that has heard nothing yet.
    pub fn new() -> Self {
        DtmfDetector {
            window: [0.0; WINDOW],
            fresh: 0,
            taper: hann(),
            nominal: nominal_bank(),
            rows: ROW_HZ.map(Guards::new),
            columns: COLUMN_HZ.map(Guards::new),
            last: None,
            run: 0,
            held: None,
            absent: 0,
            pending: VecDeque::new(),
        }
    }

    /// Feeds the next `samples` (8 kHz, any length; 20 ms frames are usual)
    /// and returns a digit that started in them, once per key press.
    ///
    /// Nothing is lost with long slices: when more than one digit started,
    /// the others are returned by the next calls (`process(&[])` drains them).
    pub fn process(&mut self, samples: &[i16]) -> Option<char> {
        let mut rest = samples;
        while !rest.is_empty() {
            let take = (HOP - self.fresh).min(rest.len());
            let (now, later) = rest.split_at_checked(take).unwrap_or((rest, &[]));
            let start = HOP + self.fresh;
            if let Some(slots) = self.window.get_mut(start..start + now.len()) {
                for (slot, &s) in slots.iter_mut().zip(now) {
                    *slot = f32::from(s) / 32768.0;
                }
            }
            self.fresh += now.len();
            rest = later;
            if self.fresh == HOP {
                let digit = self.classify();
                self.advance(digit);
                self.window.copy_within(HOP.., 0);
                self.fresh = 0;
            }
        }
        self.pending.pop_front()
    }

    /// Forgets all state, as after [`new`](Self::new).
    pub fn reset(&mut self) {
        *self = Self::new();
    }

    /// The digit the current window holds, if any.
    fn classify(&self) -> Option<char> {
        let min_power = db_to_ratio(MIN_TONE_DBFS);
        // Quiet windows (most of a call) cannot hold two tones this loud: the
        // taper raises a partial tone's power by at most 1.4×, and two tones
        // at the minimum add 2× to the mean square.
        if mean_square(&self.window) < min_power {
            return None;
        }
        let mut shaped = [0.0f32; WINDOW];
        for ((out, &x), &w) in shaped.iter_mut().zip(&self.window).zip(&self.taper) {
            *out = x * w;
        }
        let window = shaped.as_slice();
        // Undo the taper's gain so powers are levels of the unwindowed signal.
        let all = powers(&self.nominal, window).map(|p| p / TONE_GAIN);
        let (row_half, column_half) = all.split_at(4);
        let rows: [f32; 4] = row_half.try_into().ok()?;
        let columns: [f32; 4] = column_half.try_into().ok()?;
        let (row, row_power) = strongest(&rows)?;
        let (column, column_power) = strongest(&columns)?;

        if row_power < min_power || column_power < min_power {
            return None;
        }
        if row_power > column_power * db_to_ratio(NORMAL_TWIST_DB)
            || column_power > row_power * db_to_ratio(REVERSE_TWIST_DB)
        {
            return None;
        }
        let dominance = db_to_ratio(DOMINANCE_DB);
        let dominates = |powers: &[f32; 4], best: usize, best_power: f32| {
            powers
                .iter()
                .enumerate()
                .all(|(i, &p)| i == best || p * dominance < best_power)
        };
        if !dominates(&rows, row, row_power) || !dominates(&columns, column, column_power) {
            return None;
        }
        if row_power + column_power < MIN_SIGNAL_RATIO * mean_square(window) / ENERGY_GAIN {
            return None;
        }
        let on_frequency = self
            .rows
            .get(row)
            .is_some_and(|p| p.on_frequency(window, row_power * TONE_GAIN))
            && self
                .columns
                .get(column)
                .is_some_and(|p| p.on_frequency(window, column_power * TONE_GAIN));
        if !on_frequency {
            return None;
        }
        KEYS.get(row)?.get(column).copied()
    }

    /// Steps the press state machine with one window's classification.
    fn advance(&mut self, digit: Option<char>) {
        if digit == self.last {
            self.run = self.run.saturating_add(1);
        } else {
            self.last = digit;
            self.run = 1;
        }
        if let Some(held) = self.held {
            if digit == Some(held) {
                self.absent = 0;
            } else {
                self.absent += 1;
                if self.absent >= RELEASE_WINDOWS {
                    self.held = None;
                    self.absent = 0;
                }
            }
        }
        if self.held.is_none() && self.run >= ACCEPT_WINDOWS {
            if let Some(d) = digit {
                self.held = Some(d);
                self.pending.push_back(d);
            }
        }
    }
}

/// A Hann window: less spectral leakage and a flatter main lobe than the bare
/// block, so ±1.5 % tones lose little power. Its gains are exactly
/// [`TONE_GAIN`] and [`ENERGY_GAIN`].
fn hann() -> [f32; WINDOW] {
    let mut w = [0.0f32; WINDOW];
    for (i, v) in w.iter_mut().enumerate() {
        let x = std::f32::consts::PI * (i as f32 + 0.5) / WINDOW as f32;
        *v = x.sin() * x.sin();
    }
    w
}

/// Index and value of the largest power.
fn strongest(powers: &[f32; 4]) -> Option<(usize, f32)> {
    powers
        .iter()
        .copied()
        .enumerate()
        .max_by(|a, b| a.1.total_cmp(&b.1))
}

fn db_to_ratio(db: f32) -> f32 {
    10f32.powf(db / 10.0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_signal::{add_noise, amplitude_for_dbfs, noise, silence, voice, Rng};

    const ALL_DIGITS: &str = "0123456789*#ABCD";

    /// Runs `audio` through a fresh detector in 20 ms frames.
    fn detect(audio: &[i16]) -> String {
        let mut detector = DtmfDetector::new();
        let mut out: String = audio
            .chunks(160)
            .filter_map(|f| detector.process(f))
            .collect();
        out.extend(std::iter::from_fn(|| detector.process(&[])));
        out
    }

    fn press(digit: char, ms: u32, peak_dbfs: f64) -> Vec<i16> {
        generate(digit, ms, amplitude_for_dbfs(peak_dbfs)).unwrap()
    }

    fn dual(row: f32, column: f32, ms: u32, amplitude: f32) -> Vec<i16> {
        tone::dual(row, column, amplitude, ms, SAMPLE_RATE)
    }

    /// Row at `row_amp` plus column at `col_amp`, peak fractions each.
    fn twisted(digit: char, ms: u32, row_amp: f32, col_amp: f32) -> Vec<i16> {
        let (row, column) = frequencies(digit).unwrap();
        let r = tone::sine(row, row_amp, ms, SAMPLE_RATE);
        let c = tone::sine(column, col_amp, ms, SAMPLE_RATE);
        r.iter()
            .zip(&c)
            .map(|(&a, &b)| a.saturating_add(b))
            .collect()
    }

    fn padded(lead_samples: usize, signal: &[i16], tail_ms: usize) -> Vec<i16> {
        let mut audio = vec![0i16; lead_samples];
        audio.extend_from_slice(signal);
        audio.extend(silence(tail_ms));
        audio
    }

    #[test]
    fn frequencies_follow_the_keypad_and_reject_other_characters() {
        assert_eq!(frequencies('1'), Some((697.0, 1209.0)));
        assert_eq!(frequencies('0'), Some((941.0, 1336.0)));
        assert_eq!(frequencies('#'), Some((941.0, 1477.0)));
        assert_eq!(frequencies('d'), Some((941.0, 1633.0)));
        assert_eq!(frequencies('E'), None);
        assert!(generate('x', 100, 0.5).is_none());
        assert_eq!(generate('5', 100, 0.5).map(|v| v.len()), Some(800));
    }

    #[test]
    fn every_digit_is_detected_once_at_every_level_with_noise() {
        let mut rng = Rng::new(0xD7F);
        for peak in [-3.0, -10.0, -15.0, -20.0, -25.0] {
            for (i, digit) in ALL_DIGITS.chars().enumerate() {
                let tone = press(digit, 80, peak);
                // Varying alignment to the 10 ms hop.
                let clean = padded(i * 13, &tone, 100);
                let noisy = add_noise(&mut rng, &clean, &tone, 15.0);
                assert_eq!(
                    detect(&noisy),
                    digit.to_string(),
                    "{digit} at {peak} dBFS peak"
                );
            }
        }
    }

    #[test]
    fn a_keyed_sequence_is_read_in_order() {
        let mut audio = Vec::new();
        for digit in ALL_DIGITS.chars() {
            audio.extend(press(digit, 70, -10.0));
            audio.extend(silence(60));
        }
        assert_eq!(detect(&audio), ALL_DIGITS);
    }

    #[test]
    fn forty_ms_tones_are_detected_at_any_alignment() {
        let mut rng = Rng::new(40);
        for lead in 0..80 {
            for peak in [-10.0, -25.0] {
                let tone = press('8', 40, peak);
                let audio = add_noise(&mut rng, &padded(lead, &tone, 60), &tone, 15.0);
                assert_eq!(detect(&audio), "8", "lead {lead}, {peak} dBFS peak");
            }
        }
    }

    #[test]
    fn tones_shorter_than_forty_ms_are_rejected() {
        for ms in [10, 20, 25] {
            for lead in (0..160).step_by(5) {
                let audio = padded(lead, &press('8', ms, -10.0), 60);
                assert_eq!(detect(&audio), "", "{ms} ms, lead {lead}");
            }
        }
    }

    #[test]
    fn a_single_tone_is_not_a_digit() {
        for freq in ROW_HZ.iter().chain(&COLUMN_HZ) {
            let audio = padded(0, &tone::sine(*freq, 0.5, 300, SAMPLE_RATE), 60);
            assert_eq!(detect(&audio), "", "{freq} Hz");
        }
    }

    #[test]
    fn twist_within_limits_is_accepted_and_beyond_is_rejected() {
        // Amplitude ratios in dB of power: 20·log10(a/b).
        let amp = |db: f32| 0.4 * 10f32.powf(-db / 20.0);
        // Normal twist: column weaker than row.
        assert_eq!(
            detect(&padded(0, &twisted('5', 100, 0.4, amp(6.0)), 60)),
            "5"
        );
        assert_eq!(
            detect(&padded(0, &twisted('5', 100, 0.4, amp(10.0)), 60)),
            ""
        );
        // Reverse twist: row weaker than column.
        assert_eq!(
            detect(&padded(0, &twisted('5', 100, amp(3.0), 0.4), 60)),
            "5"
        );
        assert_eq!(
            detect(&padded(0, &twisted('5', 100, amp(6.0), 0.4), 60)),
            ""
        );
    }

    #[test]
    fn frequencies_off_by_more_than_three_and_a_half_percent_are_rejected() {
        for digit in ALL_DIGITS.chars() {
            let (row, column) = frequencies(digit).unwrap();
            for (dr, dc) in [
                (1.04, 1.0),
                (0.96, 1.0),
                (1.0, 1.04),
                (1.0, 0.96),
                (1.04, 0.96),
            ] {
                let audio = padded(0, &dual(row * dr, column * dc, 100, 0.5), 60);
                assert_eq!(detect(&audio), "", "{digit} row×{dr} column×{dc}");
            }
        }
    }

    #[test]
    fn frequencies_off_by_one_and_a_half_percent_are_accepted() {
        let mut rng = Rng::new(15);
        for digit in ALL_DIGITS.chars() {
            let (row, column) = frequencies(digit).unwrap();
            for (dr, dc) in [
                (1.015, 1.015),
                (0.985, 0.985),
                (1.015, 0.985),
                (0.985, 1.015),
            ] {
                let tone = dual(row * dr, column * dc, 100, amplitude_for_dbfs(-25.0));
                let audio = add_noise(&mut rng, &padded(0, &tone, 60), &tone, 15.0);
                assert_eq!(detect(&audio), digit.to_string(), "row×{dr} column×{dc}");
            }
        }
    }

    #[test]
    fn a_long_press_is_one_digit() {
        let mut rng = Rng::new(7);
        let tone = press('#', 3000, -12.0);
        let audio = add_noise(&mut rng, &padded(0, &tone, 100), &tone, 15.0);
        assert_eq!(detect(&audio), "#");
    }

    #[test]
    fn two_presses_fifty_ms_apart_are_two_digits() {
        for lead in (0..160).step_by(20) {
            let mut audio = vec![0i16; lead];
            audio.extend(press('4', 60, -10.0));
            audio.extend(silence(50));
            audio.extend(press('4', 60, -10.0));
            audio.extend(silence(60));
            assert_eq!(detect(&audio), "44", "lead {lead}");
        }
    }

    #[test]
    fn a_ten_ms_dropout_does_not_split_a_press() {
        let mut audio = press('9', 100, -10.0);
        audio.extend(silence(10));
        audio.extend(press('9', 100, -10.0));
        audio.extend(silence(60));
        assert_eq!(detect(&audio), "9");
    }

    #[test]
    fn speech_like_audio_and_noise_produce_no_digits() {
        // 60 s of voices at -12 to -32 dBFS, with and without pauses.
        for seed in 1..=12u64 {
            let mut rng = Rng::new(seed);
            let level = -12.0 - (seed % 5) as f64 * 5.0;
            let audio = voice(&mut rng, 5000, level, seed % 2 == 0);
            assert_eq!(detect(&audio), "", "voice seed {seed}");
        }
        let mut rng = Rng::new(99);
        assert_eq!(detect(&noise(&mut rng, 8000 * 3, 0.1)), "");
    }

    #[test]
    fn a_digit_spoken_over_is_still_detected_when_dominant() {
        // Speech 20 dB below the tones does not mask them.
        let mut rng = Rng::new(3);
        let tone = padded(800, &press('6', 100, -6.0), 300);
        let talk = voice(&mut rng, tone.len() / 8, -29.0, false);
        let mixed: Vec<i16> = tone
            .iter()
            .zip(&talk)
            .map(|(&a, &b)| a.saturating_add(b))
            .collect();
        assert_eq!(detect(&mixed), "6");
    }

    #[test]
    fn long_slices_lose_no_digits_and_reset_forgets() {
        let mut audio = Vec::new();
        for digit in "123".chars() {
            audio.extend(press(digit, 80, -10.0));
            audio.extend(silence(80));
        }
        let mut detector = DtmfDetector::new();
        let mut got = String::new();
        got.extend(detector.process(&audio));
        got.extend(std::iter::from_fn(|| detector.process(&[])));
        assert_eq!(got, "123");

        let held = press('5', 400, -10.0);
        let (first, second) = held.split_at(1600);
        assert_eq!(detector.process(first), Some('5'));
        assert_eq!(
            detector.process(&second[..800]),
            None,
            "still the same press"
        );
        detector.reset();
        assert_eq!(
            detector.process(&second[800..]),
            Some('5'),
            "reset forgot the press"
        );
    }
}
