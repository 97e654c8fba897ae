//! Audio level measurement for tests and, later, voice activity detection.
//!
//! dBFS here is RMS relative to a full-scale square wave (32768): a
//! full-scale sine measures ≈ -3.01 dBFS. Digital silence is `-∞`.

/// A finite level below anything 16-bit audio can carry (one LSB ≈ -96 dBFS),
/// for callers that need a number instead of `-∞`.
pub const FLOOR_DBFS: f32 = -100.0;

/// RMS level of `samples` in dBFS; `f32::NEG_INFINITY` for empty or all-zero input.
pub fn rms_dbfs(samples: &[i16]) -> f32 {
    if samples.is_empty() {
        return f32::NEG_INFINITY;
    }
    let sum_squares: f64 = samples
        .iter()
        .map(|&s| {
            let x = f64::from(s);
            x * x
        })
        .sum();
    let mean = sum_squares / samples.len() as f64;
    if mean == 0.0 {
        return f32::NEG_INFINITY;
    }
    (10.0 * (mean / (32768.0 * 32768.0)).log10()) as f32
}

/// Peak level of `samples` in dBFS; `f32::NEG_INFINITY` for empty or all-zero input.
pub fn peak_dbfs(samples: &[i16]) -> f32 {
    match samples.iter().map(|s| s.unsigned_abs()).max() {
        None | Some(0) => f32::NEG_INFINITY,
        Some(peak) => (20.0 * (f64::from(peak) / 32768.0).log10()) as f32,
    }
}

/// True when the RMS level of `samples` is below `threshold_dbfs`
/// (empty input is silence).
pub fn is_silence(samples: &[i16], threshold_dbfs: f32) -> bool {
    rms_dbfs(samples) < threshold_dbfs
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_and_zero_input_measure_minus_infinity() {
        assert_eq!(rms_dbfs(&[]), f32::NEG_INFINITY);
        assert_eq!(rms_dbfs(&[0; 160]), f32::NEG_INFINITY);
        assert_eq!(peak_dbfs(&[]), f32::NEG_INFINITY);
        assert!(is_silence(&[], -60.0));
        assert!(is_silence(&[0; 160], FLOOR_DBFS));
    }

    #[test]
    fn full_scale_is_zero_dbfs() {
        let square = vec![i16::MIN; 160];
        assert!(rms_dbfs(&square).abs() < 1e-4);
        assert!(peak_dbfs(&square).abs() < 1e-4);
    }

    #[test]
    fn half_amplitude_is_six_db_down() {
        let half: Vec<i16> = (0..160)
            .map(|i| if i % 2 == 0 { 16384 } else { -16384 })
            .collect();
        assert!((rms_dbfs(&half) + 6.02).abs() < 0.01);
    }

    #[test]
    fn quiet_noise_is_silence_and_speech_level_is_not() {
        let quiet: Vec<i16> = (0..160).map(|i| (i % 5) as i16 - 2).collect();
        assert!(is_silence(&quiet, -60.0));
        let loud: Vec<i16> = (0..160).map(|i| ((i % 20) as i16 - 10) * 800).collect();
        assert!(!is_silence(&loud, -60.0));
    }
}
