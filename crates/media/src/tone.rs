//! Tone generators: single sine, dual tone (DTMF, call progress), and a beep.
//!
//! Every tone fades in and out over [`FADE_MS`] (raised-cosine ramp) so it
//! starts and stops without a click. Amplitudes are fractions of full scale
//! (peak); out-of-range or non-finite arguments are clamped, never a panic.

use std::f64::consts::PI;

/// Length of the fade-in and fade-out ramps in milliseconds.
pub const FADE_MS: u32 = 5;
/// Longest tone generated: 10 minutes. Longer durations are truncated.
pub const MAX_DURATION_MS: u32 = 600_000;

/// Frequency of [`beep`] in Hz.
pub const BEEP_HZ: f32 = 1000.0;
/// Duration of [`beep`] in milliseconds.
pub const BEEP_MS: u32 = 250;
/// Peak amplitude of [`beep`]: 0.5 of full scale ≈ -6 dBFS.
pub const BEEP_AMPLITUDE: f32 = 0.5;

/// A sine tone of `freq_hz` at `amplitude` (peak, 0..=1 of full scale) lasting
/// `duration_ms` at `sample_rate` Hz.
///
/// Returns `duration_ms × sample_rate / 1000` samples (empty for a zero rate or
/// duration). Frequencies at or above Nyquist alias; that is the caller's choice.
pub fn sine(freq_hz: f32, amplitude: f32, duration_ms: u32, sample_rate: u32) -> Vec<i16> {
    synthesize(&[(freq_hz, amplitude)], duration_ms, sample_rate)
}

/// The sum of two sines, `f1` and `f2`, each at `amplitude / 2` so the sum's
/// peak never exceeds `amplitude` (e.g. DTMF: 697 + 1209 Hz for "1").
pub fn dual(f1: f32, f2: f32, amplitude: f32, duration_ms: u32, sample_rate: u32) -> Vec<i16> {
    let each = clamp_amplitude(amplitude) / 2.0;
    synthesize(&[(f1, each), (f2, each)], duration_ms, sample_rate)
}

/// The standard prompt beep at 8 kHz: 1000 Hz, 250 ms, peak 0.5 (≈ -6 dBFS).
pub fn beep() -> Vec<i16> {
    sine(BEEP_HZ, BEEP_AMPLITUDE, BEEP_MS, 8000)
}

fn clamp_amplitude(amplitude: f32) -> f32 {
    if amplitude.is_finite() {
        amplitude.clamp(0.0, 1.0)
    } else {
        0.0
    }
}

fn synthesize(partials: &[(f32, f32)], duration_ms: u32, sample_rate: u32) -> Vec<i16> {
    let duration_ms = duration_ms.min(MAX_DURATION_MS);
    let total = u64::from(duration_ms) * u64::from(sample_rate) / 1000;
    // Bounded by MAX_DURATION_MS × u32::MAX / 1000 only in theory; realistic
    // rates give a few million samples. `try_from` guards 32-bit targets.
    let Ok(total) = usize::try_from(total) else {
        return Vec::new();
    };
    let rate = f64::from(sample_rate);
    let fade_len = (u64::from(FADE_MS) * u64::from(sample_rate) / 1000) as f64;
    let partials: Vec<(f64, f64)> = partials
        .iter()
        .map(|&(f, a)| {
            let f = if f.is_finite() { f64::from(f) } else { 0.0 };
            (2.0 * PI * f / rate, f64::from(clamp_amplitude(a)) * 32767.0)
        })
        .collect();
    (0..total)
        .map(|i| {
            let t = i as f64;
            let value: f64 = partials.iter().map(|&(w, a)| a * (w * t).sin()).sum();
            let from_edge = t.min((total - 1 - i) as f64);
            let gain = if from_edge < fade_len {
                0.5 - 0.5 * (PI * from_edge / fade_len).cos()
            } else {
                1.0
            };
            // Clamped to the i16 range; `as` then cannot wrap.
            (value * gain).round().clamp(-32768.0, 32767.0) as i16
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::level::rms_dbfs;

    fn zero_crossings(samples: &[i16]) -> usize {
        samples
            .windows(2)
            .filter(|w| (w[0] < 0) != (w[1] < 0))
            .count()
    }

    #[test]
    fn sine_has_requested_length_frequency_and_peak() {
        let tone = sine(1000.0, 0.5, 1000, 8000);
        assert_eq!(tone.len(), 8000);
        // 1000 Hz for 1 s: ~2000 crossings.
        let crossings = zero_crossings(&tone);
        assert!((1995..=2001).contains(&crossings), "{crossings}");
        let peak = tone.iter().map(|s| s.unsigned_abs()).max().unwrap();
        assert!((16300..=16384).contains(&peak), "{peak}");
    }

    #[test]
    fn tone_fades_in_and_out_without_a_click() {
        let tone = sine(1000.0, 1.0, 100, 8000);
        assert_eq!(tone[0], 0);
        assert!(tone.last().unwrap().unsigned_abs() < 100);
        // First and last millisecond (8 samples) stay well below full scale.
        let edge_peak = tone[..8]
            .iter()
            .chain(&tone[tone.len() - 8..])
            .map(|s| s.unsigned_abs())
            .max()
            .unwrap();
        assert!(edge_peak < 4000, "{edge_peak}");
        // Steady state in the middle reaches full scale.
        let middle_peak = tone[200..600]
            .iter()
            .map(|s| s.unsigned_abs())
            .max()
            .unwrap();
        assert!(middle_peak > 32000);
    }

    #[test]
    fn beep_is_250ms_at_1khz_near_minus_6_dbfs_peak() {
        let b = beep();
        assert_eq!(b.len(), 2000);
        let rms = rms_dbfs(&b[100..1900]);
        // Sine peak -6 dBFS → RMS ≈ -9 dBFS.
        assert!((rms + 9.03).abs() < 0.3, "{rms}");
    }

    #[test]
    fn dual_tone_peak_stays_within_amplitude() {
        let tone = dual(697.0, 1209.0, 0.8, 200, 8000);
        assert_eq!(tone.len(), 1600);
        let peak = tone.iter().map(|s| s.unsigned_abs()).max().unwrap();
        assert!(peak <= (0.8f32 * 32767.0) as u16 + 1, "{peak}");
        assert!(peak > 20000, "both partials present: {peak}");
    }

    #[test]
    fn degenerate_arguments_give_empty_or_silent_output() {
        assert!(sine(1000.0, 0.5, 0, 8000).is_empty());
        assert!(sine(1000.0, 0.5, 100, 0).is_empty());
        assert!(sine(1000.0, f32::NAN, 10, 8000).iter().all(|&s| s == 0));
        assert!(sine(f32::INFINITY, 0.5, 10, 8000).iter().all(|&s| s == 0));
        let loud = sine(1000.0, 7.0, 50, 8000);
        assert!(
            loud.iter().all(|&s| s > i16::MIN),
            "amplitude clamped to 1.0"
        );
        assert_eq!(sine(440.0, 0.5, 1, 8000).len(), 8);
    }

    #[test]
    fn duration_is_capped() {
        let long = sine(1000.0, 0.1, u32::MAX, 100);
        assert_eq!(long.len(), (MAX_DURATION_MS / 10) as usize);
    }
}
