//! Performing the call core's I/O requests: prompts (speech, sounds, tones), the HTTP actions,
//! lookups in the catalog. Recordings are the call shell's (they need the leg's media).

use crate::http_actions::{self, FetchContext};
use crate::services::Services;
use crate::tts::{Tts, Utterance};
use call::{ApiAnswer, IoRequest, IoResult, PromptSource};
use flow::Completion;
use media::prompt::EncodedPrompt;
use media::AudioCodec;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use tracing::warn;

/// Perform `request` (any but [`IoRequest::StartRecording`]). Never panics: failures come back
/// as a failed result for the action that asked.
pub(crate) async fn perform(services: &Services, request: IoRequest) -> IoResult {
    match request {
        IoRequest::Prompt { source, codec } => {
            IoResult::Prompt(prompt(services, source, codec).await)
        }
        IoRequest::WebhookSend(o) => {
            IoResult::completion(http_actions::webhook_send(&services.http, o).await)
        }
        IoRequest::Fetch {
            url,
            method,
            activeflow_id,
            call_id,
            variables,
        } => {
            let ctx = FetchContext {
                activeflow_id,
                call_id,
                variables: variables
                    .into_iter()
                    .map(|(k, v)| (k, serde_json::Value::String(v)))
                    .collect(),
            };
            let caps = &services.capabilities;
            IoResult::completion(http_actions::fetch(&services.http, &url, method, ctx, caps).await)
        }
        IoRequest::Destinations { destinations } => {
            IoResult::Destinations(crate::registrar::reachable(services, destinations).await)
        }
        IoRequest::FetchFlow { flow_id } => {
            IoResult::completion(match services.catalog.flows.get(&flow_id) {
                Some(f) => Completion::Pushed(f.actions().to_vec()),
                None => Completion::Failed(format!("no flow with id {flow_id:?}")),
            })
        }
        IoRequest::CustomAction(o) => IoResult::completion(crate::library::enter(
            &services.catalog.library,
            &o,
            &services.capabilities,
        )),
        IoRequest::ApiRequest { option, variables } => {
            let r = crate::api_request::run(services, &option, variables).await;
            IoResult::Completion {
                completion: r.completion,
                vars: r.vars,
            }
        }
        IoRequest::ApiAction {
            name,
            trigger,
            user_message,
            variables,
            call_id,
            flow_id,
            caller,
        } => {
            let Some(def) = services.catalog.api_actions.get(&name) else {
                return IoResult::ApiAction(ApiAnswer {
                    error: Some(format!("no API action named {name:?}")),
                    ..Default::default()
                });
            };
            let ctx = crate::api_actions::Context {
                call_id: &call_id,
                flow_id: &flow_id,
                caller: &caller,
                user_message: &user_message,
                trigger,
                vars: &variables,
            };
            let fired = crate::api_actions::fire(&services.http, &def, &ctx).await;
            if let Some(e) = &fired.error {
                warn!(action = %def.name, error = %e, "API action failed");
            }
            IoResult::ApiAction(ApiAnswer {
                say: fired.say,
                vars: fired.vars,
                error: fired.error,
            })
        }
        IoRequest::StartRecording { .. } => {
            IoResult::Recording(Err("recordings are started by the call's own task".into()))
        }
    }
}

/// A prompt from `source`, encoded for `codec` (shared and cached where it can be).
async fn prompt(
    services: &Services,
    source: PromptSource,
    codec: AudioCodec,
) -> Result<Arc<EncodedPrompt>, String> {
    let sounds = &services.media.sounds;
    match source {
        PromptSource::Speech {
            text,
            language,
            voice,
        } => {
            let u = Utterance {
                text,
                language,
                voice,
            };
            match services.media.tts.synthesize(&u).await {
                Ok(pcm) => Ok(sounds.encoded(&Tts::cache_key(&u), codec, &pcm)),
                Err(e) => {
                    services
                        .metrics
                        .tts_failures
                        .fetch_add(1, Ordering::Relaxed);
                    warn!(error = %e, "speech synthesis failed");
                    Err(e.to_string())
                }
            }
        }
        PromptSource::Sound(url) => sounds.prompt(&url, codec).await.map_err(|e| {
            warn!(error = %e, "sound unavailable");
            e.to_string()
        }),
        PromptSource::Beep => Ok(sounds.encoded("beep", codec, &media::tone::beep())),
        PromptSource::Ringback => Ok(sounds.encoded("ringback", codec, &ringback())),
        PromptSource::DtmfTones {
            digits,
            duration_ms,
            interval_ms,
        } => {
            let mut pcm = Vec::new();
            for d in digits.chars() {
                if let Some(tone) = media::dtmf::generate(d, duration_ms, 0.5) {
                    pcm.extend(tone);
                    pcm.extend(std::iter::repeat_n(0i16, (interval_ms * 8) as usize));
                }
            }
            Ok(Arc::new(EncodedPrompt::encode(&pcm, codec)))
        }
    }
}

/// One cadence of North American ringback: 440 + 480 Hz for 2 s, then 4 s of silence.
fn ringback() -> Vec<i16> {
    let mut pcm = media::tone::dual(440.0, 480.0, 0.3, 2_000, 8_000);
    pcm.extend(std::iter::repeat_n(0i16, 4 * 8_000));
    pcm
}

/// Performs a call core's I/O outside a server (`switchyard flow simulate`): real HTTP with
/// the configured guard, the flows of one directory for `fetch_flow`, the custom actions of
/// `custom_actions.dir`; no store (so no secrets) and no API actions.
pub struct Standalone {
    services: Services,
}

impl Standalone {
    /// Everything validated against `capabilities`.
    pub async fn new(
        config: crate::Config,
        flows_dir: &std::path::Path,
        capabilities: flow::Capabilities,
    ) -> Result<Standalone, crate::StartError> {
        let http = Arc::new(
            crate::http::HttpEngine::new(
                &config.http.allow_private,
                std::time::Duration::from_millis(config.http.timeout_ms),
                Some(config.events.signing_secret.clone()),
            )
            .map_err(|e| crate::StartError::Config(format!("http.allow_private: {e}")))?,
        );
        let flows = crate::flows::FlowRegistry::default();
        let files = std::fs::read_dir(flows_dir).into_iter().flatten().flatten();
        for path in files.map(|e| e.path()) {
            if path.extension().is_some_and(|x| x == "json") {
                if let Ok((id, f, _)) = crate::flows::load_file_with(&path, &capabilities) {
                    flows.insert(id, Arc::new(f));
                }
            }
        }
        let media = crate::services::MediaServices {
            sounds: crate::sounds::SoundLibrary::new(config.sounds.dir.clone(), http.clone()),
            tts: Tts::new(
                config.tts.espeak_command.clone(),
                config.tts.cache_dir.clone(),
            ),
            ports: crate::ports::PortPool::new(0, 0),
            public_address: None,
        };
        let (records, _) = tokio::sync::mpsc::unbounded_channel();
        let mut services = Services::new(
            config,
            crate::services::Catalog::new(flows, Vec::new()),
            media,
            http,
            crate::events::EventBus::new(None, None),
            None,
            records,
        );
        services.capabilities = capabilities;
        crate::library::reload(&services).await?;
        Ok(Standalone { services })
    }

    /// Perform `request` (prompts and recordings are the simulator's own).
    pub async fn perform(&self, request: IoRequest) -> IoResult {
        perform(&self.services, request).await
    }
}
