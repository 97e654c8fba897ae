//! Prompts encoded once per codec and shared by every call that plays them.
//!
//! The runtime decodes and resamples a sound (or TTS output) to 8 kHz once,
//! encodes it here once per codec, and keeps the result in an `Arc` in its
//! cache: 1 000 calls playing the same prompt read one buffer.

use std::time::Duration;

use crate::codec::AudioCodec;

/// Samples (and G.711 bytes) per frame: 20 ms at 8 kHz.
pub const FRAME_SAMPLES: usize = 160;
/// Duration of one frame.
pub const FRAME_DURATION: Duration = Duration::from_millis(20);

/// A prompt as a sequence of 20 ms G.711 frames of exactly [`FRAME_SAMPLES`] bytes.
///
/// Invariant: the byte length is a multiple of [`FRAME_SAMPLES`]; the last
/// frame is padded with the codec's silence byte.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EncodedPrompt {
    codec: AudioCodec,
    bytes: Vec<u8>,
}

impl EncodedPrompt {
    /// Encodes 8 kHz mono PCM. Empty input gives a prompt of zero frames.
    pub fn encode(pcm_8k: &[i16], codec: AudioCodec) -> Self {
        let frames = pcm_8k.len().div_ceil(FRAME_SAMPLES);
        let padded_len = frames * FRAME_SAMPLES;
        let mut bytes = Vec::with_capacity(padded_len);
        codec.encode_into(pcm_8k, &mut bytes);
        bytes.resize(padded_len, codec.silence_byte());
        EncodedPrompt { codec, bytes }
    }

    /// Frame `i` (exactly [`FRAME_SAMPLES`] bytes), or `None` past the end.
    pub fn frame(&self, i: usize) -> Option<&[u8]> {
        let start = i.checked_mul(FRAME_SAMPLES)?;
        self.bytes.get(start..start.checked_add(FRAME_SAMPLES)?)
    }

    /// Number of frames.
    pub fn len_frames(&self) -> usize {
        self.bytes.len() / FRAME_SAMPLES
    }

    /// True when the prompt has no frames.
    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }

    /// Playing time: frames × 20 ms.
    pub fn duration(&self) -> Duration {
        FRAME_DURATION.saturating_mul(u32::try_from(self.len_frames()).unwrap_or(u32::MAX))
    }

    /// The codec the frames are encoded with.
    pub fn codec(&self) -> AudioCodec {
        self.codec
    }

    /// All frames back to back.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// Iterates over the frames in order.
    pub fn frames(&self) -> impl ExactSizeIterator<Item = &[u8]> + '_ {
        self.bytes.chunks_exact(FRAME_SAMPLES)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tone::sine;

    #[test]
    fn three_seconds_become_150_frames_of_160_bytes() {
        let pcm = sine(440.0, 0.3, 3000, 8000);
        let prompt = EncodedPrompt::encode(&pcm, AudioCodec::Pcmu);
        assert_eq!(prompt.len_frames(), 150);
        assert_eq!(prompt.duration(), Duration::from_secs(3));
        assert!((0..150).all(|i| prompt.frame(i).map(<[u8]>::len) == Some(160)));
        assert_eq!(prompt.frame(150), None);
        assert_eq!(prompt.frames().len(), 150);
        assert_eq!(prompt.as_bytes(), AudioCodec::Pcmu.encode(&pcm).as_slice());
    }

    #[test]
    fn last_frame_is_padded_with_the_codec_silence_byte() {
        let pcm = vec![8000i16; 170];
        for codec in [AudioCodec::Pcmu, AudioCodec::Pcma] {
            let prompt = EncodedPrompt::encode(&pcm, codec);
            assert_eq!(prompt.len_frames(), 2);
            assert_eq!(prompt.codec(), codec);
            let last = prompt.frame(1).unwrap();
            let loud = codec.encode_sample(8000);
            assert!(last[..10].iter().all(|&b| b == loud));
            assert!(last[10..].iter().all(|&b| b == codec.silence_byte()));
        }
    }

    #[test]
    fn exact_multiple_needs_no_padding_frame() {
        let prompt = EncodedPrompt::encode(&[100; 320], AudioCodec::Pcma);
        assert_eq!(prompt.len_frames(), 2);
        assert_eq!(prompt.duration(), Duration::from_millis(40));
    }

    #[test]
    fn empty_pcm_gives_an_empty_prompt() {
        let prompt = EncodedPrompt::encode(&[], AudioCodec::Pcmu);
        assert!(prompt.is_empty());
        assert_eq!(prompt.len_frames(), 0);
        assert_eq!(prompt.duration(), Duration::ZERO);
        assert_eq!(prompt.frame(0), None);
    }

    #[test]
    fn out_of_range_frame_index_is_none_not_a_panic() {
        let prompt = EncodedPrompt::encode(&[1; 160], AudioCodec::Pcmu);
        assert_eq!(prompt.frame(usize::MAX), None);
        assert_eq!(prompt.frame(usize::MAX / FRAME_SAMPLES), None);
    }
}
