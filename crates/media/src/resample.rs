//! Offline, whole-buffer sample-rate conversion of mono PCM, and downmixing.
//!
//! Used once per prompt (TTS output at 22 050 Hz, WAV/MP3 files at 16–48 kHz
//! → 8 kHz for G.711), never per packet. Conversion runs on `rubato`:
//!
//! - rate pairs whose reduced ratio is small (every common audio rate) use the
//!   synchronous FFT resampler, whose spectrum truncation includes a
//!   Blackman-Harris anti-aliasing low-pass just below the lower Nyquist;
//! - any other pair (e.g. a file claiming 22 051 Hz) falls back to the
//!   asynchronous windowed-sinc resampler with the same window.
//!
//! Contract: the output has exactly `round(len × to / from)` samples and is
//! time-aligned with the input (the filter delay is removed). The input is
//! zero-padded at the end, so inputs shorter than the filter (even 1 sample)
//! work. Rates come from file headers, i.e. untrusted: outside
//! [`MIN_RATE`]..=[`MAX_RATE`] they are an error, never a panic or a huge allocation.

use rubato::{
    calculate_cutoff, FftFixedInOut, Resampler, SincFixedIn, SincInterpolationParameters,
    SincInterpolationType, WindowFunction,
};

/// Lowest accepted sample rate in Hz.
pub const MIN_RATE: u32 = 1_000;
/// Highest accepted sample rate in Hz.
pub const MAX_RATE: u32 = 384_000;

/// Input frames per FFT/sinc processing call.
const CHUNK: usize = 1024;
/// Largest reduced ratio term (rate / gcd) handled by the FFT resampler; above
/// it the FFT would be as long as a second of audio and the sinc path is used.
const FFT_MAX_REDUCED: u32 = 4096;
/// Sinc filter length for the fallback path.
const SINC_LEN: usize = 256;
/// Consecutive processing calls that produce nothing before giving up (a
/// guard against a resampler that never yields; not reached in practice).
const MAX_IDLE_CALLS: u32 = 64;

/// Why a conversion could not run.
#[derive(Debug, thiserror::Error)]
pub enum ResampleError {
    /// A sample rate is outside [`MIN_RATE`]..=[`MAX_RATE`]: the audio's header is
    /// malformed or exotic; reject the file.
    #[error("sample rate {rate} Hz is outside the supported {MIN_RATE}..={MAX_RATE} Hz")]
    UnsupportedRate {
        /// The offending rate.
        rate: u32,
    },
    /// rubato refused to build a resampler for rates it was given (a bug here).
    #[error("could not build a resampler")]
    Construction(#[source] rubato::ResamplerConstructionError),
    /// rubato refused buffers sized by its own queries (a bug here).
    #[error("resampler rejected a chunk")]
    Process(#[source] rubato::ResampleError),
}

/// Resamples mono `samples` from `from_rate` to `to_rate` Hz.
///
/// Returns the input unchanged when the rates match, and an empty vector when
/// a rate is unsupported (see [`try_to_rate`] for the reason).
pub fn to_rate(samples: &[i16], from_rate: u32, to_rate: u32) -> Vec<i16> {
    try_to_rate(samples, from_rate, to_rate).unwrap_or_default()
}

/// Resamples mono `samples` from `from_rate` to `to_rate` Hz, reporting why not.
///
/// The output has [`output_len`]`(samples.len(), from_rate, to_rate)` samples.
pub fn try_to_rate(
    samples: &[i16],
    from_rate: u32,
    to_rate: u32,
) -> Result<Vec<i16>, ResampleError> {
    for rate in [from_rate, to_rate] {
        if !(MIN_RATE..=MAX_RATE).contains(&rate) {
            return Err(ResampleError::UnsupportedRate { rate });
        }
    }
    if from_rate == to_rate || samples.is_empty() {
        return Ok(samples.to_vec());
    }
    let out_len = output_len(samples.len(), from_rate, to_rate);
    let input: Vec<f32> = samples.iter().map(|&s| f32::from(s) / 32768.0).collect();

    let divisor = gcd(from_rate, to_rate);
    let output = if from_rate / divisor <= FFT_MAX_REDUCED && to_rate / divisor <= FFT_MAX_REDUCED {
        let mut resampler =
            FftFixedInOut::<f32>::new(from_rate as usize, to_rate as usize, CHUNK, 1)
                .map_err(ResampleError::Construction)?;
        run(&mut resampler, &input, out_len)?
    } else {
        let parameters = SincInterpolationParameters {
            sinc_len: SINC_LEN,
            f_cutoff: calculate_cutoff(SINC_LEN, WindowFunction::BlackmanHarris2),
            oversampling_factor: 256,
            interpolation: SincInterpolationType::Cubic,
            window: WindowFunction::BlackmanHarris2,
        };
        let ratio = f64::from(to_rate) / f64::from(from_rate);
        let mut resampler = SincFixedIn::<f32>::new(ratio, 1.0, parameters, CHUNK, 1)
            .map_err(ResampleError::Construction)?;
        run(&mut resampler, &input, out_len)?
    };
    Ok(output.into_iter().map(to_i16).collect())
}

/// Number of samples [`try_to_rate`] produces: `round(input_len × to / from)`
/// (0 when `from_rate` is 0).
pub fn output_len(input_len: usize, from_rate: u32, to_rate: u32) -> usize {
    if from_rate == 0 {
        return 0;
    }
    let from = u128::from(from_rate);
    let scaled = (input_len as u128 * u128::from(to_rate) + from / 2) / from;
    usize::try_from(scaled).unwrap_or(usize::MAX)
}

/// Averages interleaved frames of `channels` samples into mono.
///
/// One channel returns a copy; zero channels returns an empty vector; a
/// trailing partial frame is dropped.
pub fn downmix(interleaved: &[i16], channels: u16) -> Vec<i16> {
    let channels = usize::from(channels);
    match channels {
        0 => Vec::new(),
        1 => interleaved.to_vec(),
        _ => interleaved
            .chunks_exact(channels)
            .map(|frame| {
                let sum: i64 = frame.iter().map(|&s| i64::from(s)).sum();
                // The mean of i16 values is within the i16 range.
                (sum / channels as i64) as i16
            })
            .collect(),
    }
}

/// Drives a rubato resampler over the whole input, zero-padding the end, and
/// returns exactly `out_len` samples with the filter delay removed.
fn run<R: Resampler<f32>>(
    resampler: &mut R,
    input: &[f32],
    out_len: usize,
) -> Result<Vec<f32>, ResampleError> {
    let delay = resampler.output_delay();
    let wanted = out_len.saturating_add(delay);
    let mut output = Vec::with_capacity(wanted.saturating_add(resampler.output_frames_max()));
    let mut chunk_in = vec![Vec::with_capacity(resampler.input_frames_max())];
    let mut chunk_out = vec![vec![0.0f32; resampler.output_frames_max()]];
    let mut position = 0usize;
    let mut idle_calls = 0;
    while output.len() < wanted {
        let needed = resampler.input_frames_next();
        let remaining = input.get(position..).unwrap_or_default();
        let take = needed.min(remaining.len());
        let Some(buffer) = chunk_in.first_mut() else {
            break; // one channel was allocated just above
        };
        buffer.clear();
        buffer.extend_from_slice(remaining.get(..take).unwrap_or_default());
        buffer.resize(needed, 0.0);
        let (consumed, written) = resampler
            .process_into_buffer(&chunk_in, &mut chunk_out, None)
            .map_err(ResampleError::Process)?;
        position = position.saturating_add(consumed);
        let produced = chunk_out
            .first()
            .and_then(|ch| ch.get(..written))
            .unwrap_or_default();
        output.extend_from_slice(produced);
        if written == 0 {
            idle_calls += 1;
            if idle_calls > MAX_IDLE_CALLS {
                break;
            }
        } else {
            idle_calls = 0;
        }
    }
    let mut aligned = output.split_off(delay.min(output.len()));
    aligned.resize(out_len, 0.0);
    Ok(aligned)
}

fn to_i16(x: f32) -> i16 {
    // Clamped to the i16 range first; NaN casts to 0.
    (x * 32768.0).round().clamp(-32768.0, 32767.0) as i16
}

fn gcd(mut a: u32, mut b: u32) -> u32 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a.max(1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::level::rms_dbfs;
    use crate::tone::sine;

    /// Zero crossings of the central part, skipping filter edges.
    fn crossings(samples: &[i16]) -> usize {
        samples
            .windows(2)
            .filter(|w| (w[0] < 0) != (w[1] < 0))
            .count()
    }

    fn centre(samples: &[i16]) -> &[i16] {
        let margin = samples.len() / 10;
        &samples[margin..samples.len() - margin]
    }

    #[test]
    fn one_khz_tone_keeps_frequency_and_level_from_22050_to_8000() {
        let input = sine(1000.0, 0.5, 2000, 22050);
        let output = to_rate(&input, 22050, 8000);
        assert_eq!(output.len(), 16000);
        // 1000 Hz over the central 1.6 s: ~3200 crossings.
        let c = crossings(centre(&output));
        assert!((3195..=3205).contains(&c), "{c}");
        let level_in = rms_dbfs(centre(&input));
        let level_out = rms_dbfs(centre(&output));
        assert!(
            (level_in - level_out).abs() < 1.0,
            "{level_in} vs {level_out}"
        );
    }

    #[test]
    fn six_khz_tone_is_removed_not_aliased_when_going_to_8000() {
        let input = sine(6000.0, 0.5, 1000, 22050);
        let output = to_rate(&input, 22050, 8000);
        let attenuation = rms_dbfs(centre(&input)) - rms_dbfs(centre(&output));
        assert!(attenuation > 30.0, "only {attenuation} dB");
    }

    #[test]
    fn output_is_time_aligned_with_input() {
        // A tone starting after 100 ms of silence still starts near 100 ms.
        let mut input = vec![0i16; 2205];
        input.extend(sine(500.0, 0.5, 500, 22050));
        let output = to_rate(&input, 22050, 8000);
        let onset = output.iter().position(|s| s.unsigned_abs() > 300).unwrap();
        assert!((790..=830).contains(&onset), "onset at sample {onset}");
    }

    #[test]
    fn lengths_scale_by_the_ratio_for_common_rates() {
        for from in [8000, 11025, 16000, 22050, 32000, 44100, 48000, 96000] {
            for len in [1usize, 7, 100, 1000, 22050, 44101] {
                let input = vec![1000i16; len];
                let output = to_rate(&input, from, 8000);
                let exact = len as f64 * 8000.0 / f64::from(from);
                assert!(
                    (output.len() as f64 - exact).abs() <= 1.0,
                    "{from} Hz, {len} samples → {}",
                    output.len()
                );
            }
        }
    }

    #[test]
    fn matching_rates_return_input_unchanged() {
        let input: Vec<i16> = (0..500).map(|i| (i * 37 % 1000) as i16).collect();
        assert_eq!(to_rate(&input, 8000, 8000), input);
    }

    #[test]
    fn empty_and_tiny_inputs_do_not_panic() {
        assert!(to_rate(&[], 22050, 8000).is_empty());
        assert_eq!(to_rate(&[12345], 22050, 8000).len(), 0);
        assert_eq!(to_rate(&[1, 2, 3], 22050, 8000).len(), 1);
        assert_eq!(to_rate(&[1, 2, 3], 8000, 48000).len(), 18);
        assert_eq!(to_rate(&[1, 2, 3], 22051, 8000).len(), 1);
    }

    #[test]
    fn unusual_ratio_uses_sinc_path_and_keeps_the_tone() {
        let input = sine(1000.0, 0.5, 1000, 22051);
        let output = to_rate(&input, 22051, 8000);
        assert_eq!(output.len(), 8000);
        let c = crossings(centre(&output));
        assert!((1595..=1605).contains(&c), "{c}");
        assert!((rms_dbfs(centre(&input)) - rms_dbfs(centre(&output))).abs() < 1.0);
        let alias = to_rate(&sine(6000.0, 0.5, 1000, 22051), 22051, 8000);
        assert!(rms_dbfs(centre(&alias)) < rms_dbfs(centre(&input)) - 30.0);
    }

    #[test]
    fn upsampling_keeps_frequency() {
        let input = sine(1000.0, 0.5, 1000, 8000);
        let output = to_rate(&input, 8000, 16000);
        assert_eq!(output.len(), 16000);
        let c = crossings(centre(&output));
        assert!((1595..=1605).contains(&c), "{c}");
    }

    #[test]
    fn unsupported_rates_are_errors_not_panics() {
        let input = [1i16; 100];
        for (from, to) in [
            (0, 8000),
            (8000, 0),
            (u32::MAX, 8000),
            (999, 8000),
            (8000, 400_000),
        ] {
            assert!(matches!(
                try_to_rate(&input, from, to),
                Err(ResampleError::UnsupportedRate { .. })
            ));
            assert!(to_rate(&input, from, to).is_empty());
        }
    }

    #[test]
    fn extreme_supported_ratios_complete() {
        let input = vec![1000i16; 4000];
        assert_eq!(to_rate(&input, MAX_RATE, MIN_RATE).len(), 10);
        assert_eq!(to_rate(&input[..10], MIN_RATE, MAX_RATE).len(), 3840);
        assert_eq!(to_rate(&input, 383_999, 1_001).len(), 10);
    }

    #[test]
    fn downmix_averages_frames() {
        assert_eq!(downmix(&[100, 300, -200, -400], 2), [200, -300]);
        assert_eq!(
            downmix(&[i16::MAX, i16::MAX, i16::MIN, i16::MIN], 2),
            [i16::MAX, i16::MIN]
        );
        assert_eq!(downmix(&[1, 2, 3, 4, 5, 6, 7], 3), [2, 5]);
        assert_eq!(downmix(&[1, 2, 3], 1), [1, 2, 3]);
        assert!(downmix(&[1, 2, 3], 0).is_empty());
    }

    #[test]
    fn output_len_rounds_to_nearest() {
        assert_eq!(output_len(22050, 22050, 8000), 8000);
        assert_eq!(output_len(3, 22050, 8000), 1);
        assert_eq!(output_len(1, 22050, 8000), 0);
        assert_eq!(output_len(10, 0, 8000), 0);
    }
}
