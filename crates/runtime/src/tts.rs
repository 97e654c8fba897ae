//! Text to speech: espeak-ng as a subprocess (its GPL code stays out of our binary), with a disk
//! cache keyed by (provider, language, voice, text).
//!
//! Cloud providers named in a flow (`gcp`, `aws`) are not built in; they fall back to the local
//! engine, as flows.md asks of a failing provider. SSML is passed to espeak-ng's SSML mode after
//! stripping the tags it cannot honour (their text is kept).

use crate::audio::decode_to_call_rate;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use tokio::io::AsyncWriteExt;

/// Longest text synthesized in one `talk` (characters).
const MAX_TEXT_CHARS: usize = 20_000;

/// Why speech could not be produced. The `talk` action fails; the flow goes on.
#[derive(Debug, Clone, thiserror::Error)]
pub enum TtsError {
    #[error("espeak-ng is not installed or not runnable ({0}); install the espeak-ng package")]
    EngineMissing(String),
    #[error("espeak-ng failed: {0}")]
    EngineFailed(String),
    #[error("text too long ({0} characters, limit {MAX_TEXT_CHARS})")]
    TooLong(usize),
    #[error("cannot use the TTS cache: {0}")]
    Cache(String),
    #[error("synthesized audio unreadable: {0}")]
    Decode(String),
}

/// The local speech engine with its on-disk cache.
#[derive(Debug, Clone)]
pub struct Tts {
    command: String,
    cache_dir: PathBuf,
}

/// One thing to say.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Utterance {
    pub text: String,
    pub language: String,
    pub voice: Option<String>,
}

impl Tts {
    pub fn new(command: String, cache_dir: PathBuf) -> Tts {
        Tts { command, cache_dir }
    }

    /// Stable cache key of an utterance (FNV-1a over its fields), also the cache file stem.
    pub fn cache_key(u: &Utterance) -> String {
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        for part in [
            "espeak",
            u.language.as_str(),
            u.voice.as_deref().unwrap_or(""),
            u.text.as_str(),
        ] {
            for b in part.bytes().chain(std::iter::once(0)) {
                h ^= u64::from(b);
                h = h.wrapping_mul(0x0100_0000_01b3);
            }
        }
        format!("tts-{h:016x}")
    }

    /// 8 kHz mono PCM for `u`, from the disk cache or freshly synthesized.
    pub async fn synthesize(&self, u: &Utterance) -> Result<Arc<Vec<i16>>, TtsError> {
        if u.text.chars().count() > MAX_TEXT_CHARS {
            return Err(TtsError::TooLong(u.text.chars().count()));
        }
        let key = Self::cache_key(u);
        let path = self.cache_dir.join(format!("{key}.wav"));
        let wav = match tokio::fs::read(&path).await {
            Ok(bytes) if bytes.len() > 44 => bytes,
            _ => self.run_engine(u, &path).await?,
        };
        let pcm = tokio::task::spawn_blocking(move || decode_to_call_rate(wav, Some("wav")))
            .await
            .map_err(|e| TtsError::Decode(e.to_string()))?
            .map_err(|e| TtsError::Decode(e.to_string()))?;
        Ok(Arc::new(pcm))
    }

    async fn run_engine(&self, u: &Utterance, path: &Path) -> Result<Vec<u8>, TtsError> {
        tokio::fs::create_dir_all(&self.cache_dir)
            .await
            .map_err(|e| TtsError::Cache(format!("{}: {e}", self.cache_dir.display())))?;
        let (text, ssml) = prepare_text(&u.text);
        let mut last_err = None;
        for voice in voices(&u.language, u.voice.as_deref()) {
            let tmp = path.with_extension(format!("{}.tmp", std::process::id()));
            let mut cmd = tokio::process::Command::new(&self.command);
            cmd.arg("-v").arg(&voice).arg("-w").arg(&tmp).arg("--stdin");
            if ssml {
                cmd.arg("-m");
            }
            cmd.stdin(Stdio::piped())
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .kill_on_drop(true);
            let mut child = cmd
                .spawn()
                .map_err(|e| TtsError::EngineMissing(format!("{}: {e}", self.command)))?;
            if let Some(mut stdin) = child.stdin.take() {
                let _ = stdin.write_all(text.as_bytes()).await;
                let _ = stdin.shutdown().await;
            }
            let out = child
                .wait_with_output()
                .await
                .map_err(|e| TtsError::EngineFailed(e.to_string()))?;
            let produced = tokio::fs::read(&tmp).await.ok().filter(|b| b.len() > 44);
            match (out.status.success(), produced) {
                (true, Some(bytes)) => {
                    // Atomic publish: a crash never leaves a half-written cache entry.
                    tokio::fs::rename(&tmp, path)
                        .await
                        .map_err(|e| TtsError::Cache(e.to_string()))?;
                    return Ok(bytes);
                }
                _ => {
                    let _ = tokio::fs::remove_file(&tmp).await;
                    last_err = Some(TtsError::EngineFailed(format!(
                        "voice {voice}: {}",
                        String::from_utf8_lossy(&out.stderr).trim()
                    )));
                }
            }
        }
        Err(last_err.unwrap_or_else(|| TtsError::EngineFailed("no voice".into())))
    }
}

/// espeak-ng voices to try, best first: the flow's voice id, the BCP 47 tag lower-cased
/// (`en-us`), its primary language (`en`), then English.
fn voices(language: &str, voice: Option<&str>) -> Vec<String> {
    let mut v = Vec::new();
    let clean = |s: &str| -> Option<String> {
        let s = s.trim().to_ascii_lowercase().replace('_', "-");
        (!s.is_empty()
            && s.len() < 40
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'+'))
        .then_some(s)
    };
    if let Some(id) = voice.and_then(clean) {
        v.push(id);
    }
    if let Some(lang) = clean(language) {
        if let Some((primary, _)) = lang.split_once('-') {
            let primary = primary.to_string();
            v.push(lang);
            v.push(primary);
        } else {
            v.push(lang);
        }
    }
    v.push("en".to_string());
    v.dedup();
    v
}

/// SSML tags espeak-ng honours; any other tag is removed and its text kept.
const SSML_KEPT: [&str; 8] = [
    "speak", "break", "emphasis", "prosody", "say-as", "p", "s", "voice",
];

/// Returns the text to feed espeak-ng and whether it is SSML.
fn prepare_text(text: &str) -> (String, bool) {
    let trimmed = text.trim();
    if !trimmed.starts_with("<speak") {
        return (trimmed.to_string(), false);
    }
    let mut out = String::with_capacity(trimmed.len());
    let mut rest = trimmed;
    while let Some(start) = rest.find('<') {
        out.push_str(&rest[..start]);
        let Some(end) = rest[start..].find('>') else {
            // An unterminated tag: keep it as text, escaped.
            out.push_str(&rest[start..].replace('<', "&lt;"));
            rest = "";
            break;
        };
        let tag = &rest[start..start + end + 1];
        let name = tag
            .trim_start_matches('<')
            .trim_start_matches('/')
            .split(|c: char| c.is_whitespace() || c == '>' || c == '/')
            .next()
            .unwrap_or("")
            .to_ascii_lowercase();
        if SSML_KEPT.contains(&name.as_str()) {
            out.push_str(tag);
        }
        rest = &rest[start + end + 1..];
    }
    out.push_str(rest);
    (out, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ssml_keeps_supported_tags_and_text_of_others() {
        let (t, ssml) = prepare_text(
            "<speak>Hello <break time=\"300ms\"/><sub alias=\"World Wide Web\">WWW</sub> <audio src=\"x\">bye</audio></speak>",
        );
        assert!(ssml);
        assert_eq!(t, "<speak>Hello <break time=\"300ms\"/>WWW bye</speak>");
    }

    #[test]
    fn plain_text_is_not_ssml() {
        assert_eq!(prepare_text("  hi <there> "), ("hi <there>".into(), false));
    }

    #[test]
    fn voices_fall_back_from_region_to_language_to_english() {
        assert_eq!(voices("en-US", None), vec!["en-us", "en"]);
        assert_eq!(
            voices("ko-KR", Some("Joanna")),
            vec!["joanna", "ko-kr", "ko", "en"]
        );
        assert_eq!(voices("", None), vec!["en"]);
        assert_eq!(voices("x; rm -rf", None), vec!["en"]);
    }

    #[test]
    fn cache_key_separates_fields() {
        let a = Utterance {
            text: "ab".into(),
            language: "c".into(),
            voice: None,
        };
        let b = Utterance {
            text: "b".into(),
            language: "ca".into(),
            voice: None,
        };
        assert_ne!(Tts::cache_key(&a), Tts::cache_key(&b));
    }
}
