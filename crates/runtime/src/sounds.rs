//! Prompts from files and URLs, decoded once and kept encoded per codec for every call to share.

use crate::audio::{decode_to_call_rate, DecodeError};
use crate::http::{HttpEngine, Outbound};
use dashmap::DashMap;
use media::prompt::EncodedPrompt;
use media::AudioCodec;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::OnceCell;

/// Largest audio file fetched or read (bytes).
const MAX_FILE_BYTES: u64 = 32 * 1024 * 1024;

/// Why a `play` URL could not be played. The action fails; the flow goes on.
#[derive(Debug, Clone, thiserror::Error)]
pub enum SoundError {
    #[error("no such sound: {0}")]
    NotFound(String),
    #[error("cannot fetch {url}: {reason}")]
    Fetch { url: String, reason: String },
    #[error("cannot decode {url}: {reason}")]
    Decode { url: String, reason: String },
    #[error("unsupported URL scheme in {0:?} (use http, https, file or a name under sounds/)")]
    Scheme(String),
}

type Pcm = Arc<Vec<i16>>;

/// The shared prompt cache.
pub struct SoundLibrary {
    dir: PathBuf,
    http: Arc<HttpEngine>,
    decoded: DashMap<String, Arc<OnceCell<Result<Pcm, SoundError>>>>,
    encoded: DashMap<(String, AudioCodec), Arc<EncodedPrompt>>,
}

impl SoundLibrary {
    pub fn new(dir: PathBuf, http: Arc<HttpEngine>) -> SoundLibrary {
        SoundLibrary {
            dir,
            http,
            decoded: DashMap::new(),
            encoded: DashMap::new(),
        }
    }

    /// The prompt for `url`, encoded for `codec`. Decoded at most once per URL (failures too are
    /// remembered for the process lifetime only when permanent: not-found and fetch failures are
    /// retried on the next call).
    pub async fn prompt(
        &self,
        url: &str,
        codec: AudioCodec,
    ) -> Result<Arc<EncodedPrompt>, SoundError> {
        let key = (url.to_string(), codec);
        if let Some(p) = self.encoded.get(&key) {
            return Ok(p.clone());
        }
        let pcm = self.pcm(url).await?;
        let prompt = Arc::new(EncodedPrompt::encode(&pcm, codec));
        self.encoded.insert(key, prompt.clone());
        Ok(prompt)
    }

    /// Encode PCM produced elsewhere (TTS, tones) under a cache key.
    pub fn encoded(&self, key: &str, codec: AudioCodec, pcm: &[i16]) -> Arc<EncodedPrompt> {
        let k = (key.to_string(), codec);
        if let Some(p) = self.encoded.get(&k) {
            return p.clone();
        }
        let prompt = Arc::new(EncodedPrompt::encode(pcm, codec));
        self.encoded.insert(k, prompt.clone());
        prompt
    }

    async fn pcm(&self, url: &str) -> Result<Pcm, SoundError> {
        let cell = self
            .decoded
            .entry(url.to_string())
            .or_insert_with(|| Arc::new(OnceCell::new()))
            .clone();
        let result = cell
            .get_or_init(|| async { self.load(url).await })
            .await
            .clone();
        if matches!(
            result,
            Err(SoundError::NotFound(_)) | Err(SoundError::Fetch { .. })
        ) {
            // Transient or fixable: let the next call try again.
            self.decoded.remove(url);
        }
        result
    }

    async fn load(&self, url: &str) -> Result<Pcm, SoundError> {
        let (bytes, hint) = if url.starts_with("http://") || url.starts_with("https://") {
            (self.fetch(url).await?, extension(url))
        } else if let Some(path) = url.strip_prefix("file://") {
            let path = self.resolve(path);
            let hint = extension(&path.to_string_lossy());
            (read_file(&path, url).await?, hint)
        } else if url.contains("://") {
            return Err(SoundError::Scheme(url.to_string()));
        } else {
            let path = self.find_by_name(url).await?;
            let hint = extension(&path.to_string_lossy());
            (read_file(&path, url).await?, hint)
        };
        let url_owned = url.to_string();
        let pcm = tokio::task::spawn_blocking(move || decode_to_call_rate(bytes, hint.as_deref()))
            .await
            .map_err(|e| SoundError::Decode {
                url: url_owned.clone(),
                reason: e.to_string(),
            })?
            .map_err(|e: DecodeError| SoundError::Decode {
                url: url_owned,
                reason: e.to_string(),
            })?;
        Ok(Arc::new(pcm))
    }

    /// Absolute paths stay; relative ones are under the sounds directory.
    fn resolve(&self, path: &str) -> PathBuf {
        let p = Path::new(path);
        if p.is_absolute() {
            p.to_path_buf()
        } else {
            self.dir.join(p)
        }
    }

    /// A bare name: `hello`, `hello.wav`; never escapes the sounds directory.
    async fn find_by_name(&self, name: &str) -> Result<PathBuf, SoundError> {
        if name.is_empty() || name.contains("..") || name.starts_with('/') || name.contains('\\') {
            return Err(SoundError::NotFound(name.to_string()));
        }
        let direct = self.dir.join(name);
        if tokio::fs::metadata(&direct)
            .await
            .is_ok_and(|m| m.is_file())
        {
            return Ok(direct);
        }
        for ext in ["wav", "mp3"] {
            let p = self.dir.join(format!("{name}.{ext}"));
            if tokio::fs::metadata(&p).await.is_ok_and(|m| m.is_file()) {
                return Ok(p);
            }
        }
        Err(SoundError::NotFound(name.to_string()))
    }

    async fn fetch(&self, url: &str) -> Result<Vec<u8>, SoundError> {
        let mut req = Outbound::get(url, Duration::from_secs(10));
        req.tries = 2;
        req.max_body = MAX_FILE_BYTES as usize;
        let resp = self.http.send(&req).await.map_err(|e| SoundError::Fetch {
            url: url.to_string(),
            reason: e.to_string(),
        })?;
        if !(200..300).contains(&resp.status) {
            return Err(SoundError::Fetch {
                url: url.to_string(),
                reason: format!("HTTP {}", resp.status),
            });
        }
        Ok(resp.body)
    }
}

async fn read_file(path: &Path, url: &str) -> Result<Vec<u8>, SoundError> {
    match tokio::fs::metadata(path).await {
        Ok(m) if m.is_file() && m.len() <= MAX_FILE_BYTES => {}
        Ok(m) if m.is_file() => {
            return Err(SoundError::Decode {
                url: url.to_string(),
                reason: "file too large".into(),
            })
        }
        _ => return Err(SoundError::NotFound(url.to_string())),
    }
    tokio::fs::read(path)
        .await
        .map_err(|_| SoundError::NotFound(url.to_string()))
}

fn extension(path: &str) -> Option<String> {
    let path = path.split(['?', '#']).next().unwrap_or(path);
    let name = path.rsplit('/').next()?;
    let (_, ext) = name.rsplit_once('.')?;
    Some(ext.to_ascii_lowercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extension_ignores_query_and_fragment() {
        assert_eq!(extension("http://x/a/b.MP3?x=1").as_deref(), Some("mp3"));
        assert_eq!(extension("file:///tmp/a.wav").as_deref(), Some("wav"));
        assert_eq!(extension("http://x/noext"), None);
    }
}
