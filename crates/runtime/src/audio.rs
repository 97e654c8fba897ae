//! Decoding audio files to 8 kHz mono PCM: WAV (PCM, µ-law, A-law) and MP3 through symphonia,
//! any sample rate and channel count.

use std::io::Cursor;
use symphonia::core::audio::SampleBuffer;
use symphonia::core::codecs::DecoderOptions;
use symphonia::core::errors::Error as SymphoniaError;
use symphonia::core::formats::FormatOptions;
use symphonia::core::io::MediaSourceStream;
use symphonia::core::meta::MetadataOptions;
use symphonia::core::probe::Hint;

/// The rate every prompt is converted to (G.711).
pub const CALL_RATE: u32 = 8_000;
/// Refuse to decode more than this much audio (10 minutes at 8 kHz after conversion).
const MAX_SECONDS: u64 = 600;

/// Why a file could not be turned into audio. The action that asked fails; the call goes on.
#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    #[error("unsupported or unrecognised audio format: {0}")]
    Format(String),
    #[error("the file has no audio track")]
    NoTrack,
    #[error("corrupt audio data: {0}")]
    Corrupt(String),
    #[error("audio longer than {MAX_SECONDS} s")]
    TooLong,
}

/// Decode `bytes` (the extension in `hint`, e.g. "wav", helps the probe) to 8 kHz mono i16.
pub fn decode_to_call_rate(bytes: Vec<u8>, hint: Option<&str>) -> Result<Vec<i16>, DecodeError> {
    let mss = MediaSourceStream::new(Box::new(Cursor::new(bytes)), Default::default());
    let mut probe_hint = Hint::new();
    if let Some(ext) = hint {
        probe_hint.with_extension(ext);
    }
    let probed = symphonia::default::get_probe()
        .format(
            &probe_hint,
            mss,
            &FormatOptions::default(),
            &MetadataOptions::default(),
        )
        .map_err(|e| DecodeError::Format(e.to_string()))?;
    let mut format = probed.format;
    let track = format.default_track().ok_or(DecodeError::NoTrack)?.clone();
    let rate = track.codec_params.sample_rate.unwrap_or(CALL_RATE);
    let mut decoder = symphonia::default::get_codecs()
        .make(&track.codec_params, &DecoderOptions::default())
        .map_err(|e| DecodeError::Format(e.to_string()))?;
    let mut mono: Vec<i16> = Vec::new();
    let limit = (MAX_SECONDS * u64::from(rate)) as usize;
    loop {
        let packet = match format.next_packet() {
            Ok(p) => p,
            Err(SymphoniaError::IoError(e)) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
                break
            }
            Err(SymphoniaError::ResetRequired) => break,
            Err(e) => return Err(DecodeError::Corrupt(e.to_string())),
        };
        if packet.track_id() != track.id {
            continue;
        }
        let decoded = match decoder.decode(&packet) {
            Ok(d) => d,
            // A damaged packet is skipped, as players do.
            Err(SymphoniaError::DecodeError(_)) => continue,
            Err(e) => return Err(DecodeError::Corrupt(e.to_string())),
        };
        let spec = *decoded.spec();
        let channels = spec.channels.count().max(1) as u16;
        let mut samples = SampleBuffer::<i16>::new(decoded.capacity() as u64, spec);
        samples.copy_interleaved_ref(decoded);
        mono.extend(media::resample::downmix(samples.samples(), channels));
        if mono.len() > limit {
            return Err(DecodeError::TooLong);
        }
    }
    Ok(media::resample::to_rate(&mono, rate, CALL_RATE))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wav(rate: u32, samples: &[i16]) -> Vec<u8> {
        let mut out = Vec::new();
        let data_len = (samples.len() * 2) as u32;
        out.extend_from_slice(b"RIFF");
        out.extend_from_slice(&(36 + data_len).to_le_bytes());
        out.extend_from_slice(b"WAVEfmt ");
        out.extend_from_slice(&16u32.to_le_bytes());
        out.extend_from_slice(&1u16.to_le_bytes());
        out.extend_from_slice(&1u16.to_le_bytes());
        out.extend_from_slice(&rate.to_le_bytes());
        out.extend_from_slice(&(rate * 2).to_le_bytes());
        out.extend_from_slice(&2u16.to_le_bytes());
        out.extend_from_slice(&16u16.to_le_bytes());
        out.extend_from_slice(b"data");
        out.extend_from_slice(&data_len.to_le_bytes());
        for s in samples {
            out.extend_from_slice(&s.to_le_bytes());
        }
        out
    }

    #[test]
    fn pcm_wav_at_16k_becomes_8k() {
        let tone = media::tone::sine(440.0, 0.5, 1000, 16_000);
        let pcm = decode_to_call_rate(wav(16_000, &tone), Some("wav")).unwrap();
        assert!((7_900..=8_100).contains(&pcm.len()), "{}", pcm.len());
    }

    #[test]
    fn garbage_is_a_format_error_not_a_panic() {
        assert!(decode_to_call_rate(b"not audio at all".to_vec(), Some("wav")).is_err());
        assert!(decode_to_call_rate(Vec::new(), None).is_err());
        let mut truncated = wav(8_000, &[1000; 800]);
        truncated.truncate(60);
        let _ = decode_to_call_rate(truncated, Some("wav"));
    }
}
