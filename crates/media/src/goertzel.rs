//! The Goertzel algorithm: the power of one frequency in a block of samples.
//!
//! One DFT bin for the cost of one multiply-add per sample, without an FFT.
//! [`dtmf`](crate::dtmf) runs eight of them per block; [`amd`](crate::amd)
//! runs one to confirm a beep.
//!
//! The power is normalised to the mean square of the sinusoid it measures,
//! relative to full scale: a sine of peak `a` (as a fraction of full scale)
//! exactly at the probe frequency measures `a² / 2`, so `10·log10(power)` is
//! its level in dBFS as [`level::rms_dbfs`](crate::level::rms_dbfs) counts it.
//! A tone off the probe frequency by `Δf` is attenuated by the block's
//! rectangular window, `|sin(πΔfN/fs) / (N·sin(πΔf/fs))|²`: about
//! `fs / N` Hz between nulls.

use std::f32::consts::PI;

/// A Goertzel probe for one frequency at one sample rate.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Goertzel {
    coefficient: f32,
}

impl Goertzel {
    /// A probe for `freq_hz` at `sample_rate`. A zero rate or a non-finite
    /// frequency gives a probe at 0 Hz (it measures the DC component).
    pub fn new(freq_hz: f32, sample_rate: u32) -> Self {
        let omega = if sample_rate == 0 || !freq_hz.is_finite() {
            0.0
        } else {
            2.0 * PI * freq_hz / sample_rate as f32
        };
        Goertzel {
            coefficient: 2.0 * omega.cos(),
        }
    }

    /// Normalised power of the probe frequency in `samples` (fractions of full
    /// scale, as [`to_unit`] makes them); 0 for an empty block.
    pub fn power(&self, samples: &[f32]) -> f32 {
        if samples.is_empty() {
            return 0.0;
        }
        let (mut s1, mut s2) = (0.0f32, 0.0f32);
        for &x in samples {
            let s0 = x + self.coefficient * s1 - s2;
            s2 = s1;
            s1 = s0;
        }
        let magnitude_sq = s1 * s1 + s2 * s2 - self.coefficient * s1 * s2;
        let n = samples.len() as f32;
        (2.0 * magnitude_sq / (n * n)).max(0.0)
    }
}

/// The powers of several probes over the same block, as [`Goertzel::power`]
/// would give them one by one. The probes run side by side in one pass, which
/// the compiler turns into SIMD: several times faster than separate passes.
pub fn powers<const N: usize>(probes: &[Goertzel; N], samples: &[f32]) -> [f32; N] {
    if samples.is_empty() {
        return [0.0; N];
    }
    let coefficients = probes.map(|p| p.coefficient);
    let (mut s1, mut s2) = ([0.0f32; N], [0.0f32; N]);
    for &x in samples {
        for ((a, b), &c) in s1.iter_mut().zip(s2.iter_mut()).zip(&coefficients) {
            let s0 = x + c * *a - *b;
            *b = *a;
            *a = s0;
        }
    }
    let n = samples.len() as f32;
    let mut out = [0.0f32; N];
    for (((o, &a), &b), &c) in out.iter_mut().zip(&s1).zip(&s2).zip(&coefficients) {
        *o = (2.0 * (a * a + b * b - c * a * b) / (n * n)).max(0.0);
    }
    out
}

/// Converts 16-bit samples to fractions of full scale (-1.0..1.0) into `out`
/// (cleared first).
pub fn to_unit(samples: &[i16], out: &mut Vec<f32>) {
    out.clear();
    out.extend(samples.iter().map(|&s| f32::from(s) / 32768.0));
}

/// Mean square of `samples` (fractions of full scale); 0 for an empty block.
/// On the same scale as [`Goertzel::power`].
pub fn mean_square(samples: &[f32]) -> f32 {
    if samples.is_empty() {
        return 0.0;
    }
    samples.iter().map(|x| x * x).sum::<f32>() / samples.len() as f32
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tone;

    fn unit(samples: &[i16]) -> Vec<f32> {
        let mut out = Vec::new();
        to_unit(samples, &mut out);
        out
    }

    #[test]
    fn on_frequency_sine_measures_its_mean_square() {
        // No fade inside this window: take the middle of a longer tone.
        let tone = tone::sine(1000.0, 0.5, 100, 8000);
        let block = unit(&tone[200..360]);
        let p = Goertzel::new(1000.0, 8000).power(&block);
        assert!((p - 0.125).abs() < 0.002, "{p}");
        assert!((mean_square(&block) - 0.125).abs() < 0.002);
    }

    #[test]
    fn off_frequency_sine_is_attenuated_by_the_window() {
        let tone = tone::sine(1100.0, 0.5, 100, 8000);
        let block = unit(&tone[200..360]);
        // 100 Hz away = two bins of a 160-sample block: near a null.
        let p = Goertzel::new(1000.0, 8000).power(&block);
        assert!(p < 0.125 * 0.01, "{p}");
    }

    #[test]
    fn a_bank_of_probes_matches_probes_run_one_by_one() {
        let block = unit(&tone::dual(697.0, 1477.0, 0.6, 20, 8000));
        let probes = [697.0, 770.0, 1477.0, 1633.0].map(|f| Goertzel::new(f, 8000));
        let together = powers(&probes, &block);
        for (p, t) in probes.iter().zip(together) {
            assert!((p.power(&block) - t).abs() <= 1e-6, "{t}");
        }
        assert_eq!(powers(&probes, &[]), [0.0; 4]);
    }

    #[test]
    fn degenerate_input_measures_zero_or_dc() {
        assert_eq!(Goertzel::new(1000.0, 8000).power(&[]), 0.0);
        assert_eq!(mean_square(&[]), 0.0);
        let dc = vec![0.5f32; 160];
        let p = Goertzel::new(f32::NAN, 0).power(&dc);
        assert!(p > 0.4, "a 0 Hz probe sees DC: {p}");
    }
}
