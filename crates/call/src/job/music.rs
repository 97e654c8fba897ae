//! Audio looped on the first leg while something else is awaited: hold audio, the filler,
//! ringback.

use std::sync::Arc;

use flow::Clock;
use media::prompt::EncodedPrompt;
use media::session::{MediaCommand, PlaybackEnd, PlaybackId};

use crate::io::{IoId, IoResult, PromptSource};
use crate::leg::LegId;
use crate::machine::CallCore;

/// Audio looped on the first leg while something else is awaited: hold audio (at once) or
/// the filler (once `start_at` has passed on an answered call).
#[derive(Debug)]
pub(crate) struct Music {
    sources: Vec<PromptSource>,
    start_at: Option<u64>,
    loading: Option<(IoId, usize)>,
    prompts: Vec<Arc<EncodedPrompt>>,
    playing: Option<PlaybackId>,
}

impl Music {
    pub(crate) fn deadline(&self) -> Option<u64> {
        self.start_at
    }

    /// Whether it is playing now.
    pub(crate) fn is_playing(&self) -> bool {
        self.playing.is_some()
    }
}

impl CallCore {
    /// Hold audio, playing at once.
    pub(crate) fn hold_music(&mut self, urls: Vec<String>) -> Music {
        self.looped(urls.into_iter().map(PromptSource::Sound).collect())
    }

    /// `sources` looped on the first leg from now on.
    pub(crate) fn looped(&mut self, sources: Vec<PromptSource>) -> Music {
        let mut m = Music {
            sources,
            start_at: None,
            loading: None,
            prompts: Vec::new(),
            playing: None,
        };
        self.music_load(&mut m, 0);
        m
    }

    /// The filler, if configured: it starts after `filler_after_ms` on an answered call.
    pub(crate) fn filler(&self, now: Clock) -> Option<Music> {
        let source = self.config.filler.clone()?;
        (!self.legs.is_empty()).then(|| Music {
            sources: vec![PromptSource::Sound(source)],
            start_at: Some(now.mono_ms + self.config.filler_after_ms),
            loading: None,
            prompts: Vec::new(),
            playing: None,
        })
    }

    pub(crate) fn music_load(&mut self, m: &mut Music, from: usize) {
        if !self.can_play() {
            m.sources.clear();
        }
        match m.sources.get(from).cloned() {
            Some(source) => {
                let io = self.prompt_io(source);
                m.loading = Some((io, from));
            }
            None => {
                m.loading = None;
                if !m.prompts.is_empty() {
                    m.playing = Some(self.play(m.prompts.clone()));
                }
            }
        }
    }

    pub(crate) fn music_on_timeout(&mut self, m: &mut Music, now: Clock) {
        if m.start_at.is_some_and(|t| now.mono_ms >= t) {
            m.start_at = None;
            if self.answered() {
                self.music_load(m, 0);
            } else {
                m.sources.clear();
            }
        }
    }

    pub(crate) fn music_on_io(&mut self, m: &mut Music, id: IoId, r: &IoResult) {
        let Some((io, i)) = m.loading else { return };
        if io != id {
            return;
        }
        if let IoResult::Prompt(Ok(p)) = r {
            m.prompts.push(p.clone());
        }
        self.music_load(m, i + 1);
    }

    pub(crate) fn music_on_playback(&mut self, m: &mut Music, id: PlaybackId, end: PlaybackEnd) {
        if m.playing == Some(id) {
            m.playing = (end == PlaybackEnd::Finished).then(|| self.play(m.prompts.clone()));
        }
    }

    pub(crate) fn music_stop(&mut self, m: Option<Music>) {
        if m.is_some_and(|m| m.playing.is_some()) {
            self.media(LegId::FIRST, MediaCommand::StopPlayback);
        }
    }
}
