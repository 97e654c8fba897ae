//! A fake shell for the call core: fake time, scripted peers, every output recorded.

#![allow(dead_code)]

use std::sync::Arc;

use call::{
    Admission, CallCore, CoreConfig, Headless, Incoming, IoId, IoRequest, IoResult, LegEvent,
    LegId, Outgoing, Output, SipCommand,
};
use chrono::{DateTime, Utc};
use flow::{Clock, Completion};
use media::prompt::EncodedPrompt;
use media::session::{MediaCommand, MediaEvent, PlaybackEnd, PlaybackId};
use media::AudioCodec;

pub const OFFER: &str = "v=0\r\no=peer 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\n\
t=0 0\r\nm=audio 40000 RTP/AVP 0 101\r\na=rtpmap:0 PCMU/8000\r\n\
a=rtpmap:101 telephone-event/8000\r\na=sendrecv\r\n";

pub fn offer(direction: &str) -> Vec<u8> {
    OFFER
        .replace("a=sendrecv", &format!("a={direction}"))
        .into_bytes()
}

pub fn local() -> sdp::LocalMedia {
    sdp::LocalMedia {
        address: "127.0.0.1".parse().unwrap(),
        port: 20000,
        codecs: vec![sdp::Codec::Pcmu, sdp::Codec::Pcma],
        telephone_event: true,
        session_id: 99,
        session_version: 1,
        username: "switchyard".into(),
    }
}

pub fn flow(actions: serde_json::Value) -> Arc<flow::Flow> {
    let (f, _) = flow::load(&actions, &flow::Capabilities::all()).expect("valid flow");
    Arc::new(f)
}

pub fn epoch() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-12-07T10:00:00Z")
        .unwrap()
        .with_timezone(&Utc)
}

/// A prompt of `frames` 20 ms frames.
pub fn prompt(frames: usize) -> Arc<EncodedPrompt> {
    Arc::new(EncodedPrompt::encode(
        &vec![0i16; frames * 160],
        AudioCodec::Pcmu,
    ))
}

/// The call core with a recording shell around it.
pub struct Rig {
    pub core: CallCore,
    pub now: Clock,
    /// Every output so far.
    pub log: Vec<Output>,
    /// Outputs not yet looked at by the test.
    pub fresh: Vec<Output>,
}

impl Rig {
    fn with(core: CallCore) -> Rig {
        Rig {
            core,
            now: Clock {
                wall: epoch(),
                mono_ms: 0,
            },
            log: Vec::new(),
            fresh: Vec::new(),
        }
    }

    pub fn config() -> CoreConfig {
        CoreConfig {
            max_actions: 10_000,
            max_control_steps: 1_000,
            ..Default::default()
        }
    }

    /// An incoming call with a PCMU offer running `actions`.
    pub fn call(actions: serde_json::Value) -> Rig {
        Rig::call_with(actions, Rig::config(), Some(offer("sendrecv")))
    }

    pub fn call_with(actions: serde_json::Value, config: CoreConfig, sdp: Option<Vec<u8>>) -> Rig {
        let now = Clock {
            wall: epoch(),
            mono_ms: 0,
        };
        let incoming = Incoming {
            call_id: "call-1".into(),
            activeflow_id: "af-1".into(),
            sip_call_id: "abc@127.0.0.1".into(),
            from: "\"Alice\" <sip:+15550001@127.0.0.1>;tag=1".into(),
            to: "<sip:1000@127.0.0.1>".into(),
            headers: vec![("x-customer".into(), "42".into())],
            trusted: false,
            variables: Vec::new(),
            offer: sdp,
            admission: Ok(Admission {
                flow_id: "main".into(),
                flow: flow(actions),
                stop_types: Vec::new(),
                local: local(),
            }),
        };
        let mut rig = Rig::with(CallCore::incoming(incoming, config, 7, now));
        rig.core.start(now);
        rig.drain();
        rig
    }

    /// A call we place to `sip:bob@127.0.0.1:5070` that runs `actions` once answered.
    pub fn originate(actions: serde_json::Value, ring_timeout_ms: u64) -> Rig {
        Rig::originate_with(actions, ring_timeout_ms, Rig::config())
    }

    pub fn originate_with(
        actions: serde_json::Value,
        ring_timeout_ms: u64,
        config: CoreConfig,
    ) -> Rig {
        let now = Clock {
            wall: epoch(),
            mono_ms: 0,
        };
        let address = |kind: &str, target: &str| flow::options::Address {
            address_type: Some(kind.into()),
            target: target.into(),
            target_name: None,
            name: None,
            detail: None,
        };
        let o = Outgoing {
            call_id: "call-o".into(),
            activeflow_id: "af-o".into(),
            source: address("tel", "+15550001"),
            destination: address("sip", "sip:bob@127.0.0.1:5070"),
            flow_id: "main".into(),
            flow: flow(actions),
            variables: vec![("campaign".into(), "winter".into())],
            ring_timeout_ms,
        };
        let mut rig = Rig::with(CallCore::outgoing(o, config, 7, now));
        rig.core.start(now);
        rig.drain();
        rig
    }

    pub fn headless(actions: serde_json::Value) -> Rig {
        let now = Clock {
            wall: epoch(),
            mono_ms: 0,
        };
        let h = Headless {
            activeflow_id: "af-h".into(),
            flow_id: "main".into(),
            flow: flow(actions),
            variables: flow::Variables::new(),
            webhook_uri: None,
            stop_types: Vec::new(),
        };
        let mut rig = Rig::with(CallCore::headless(h, Rig::config(), 7, now));
        rig.core.start(now);
        rig.drain();
        rig
    }

    pub fn drain(&mut self) {
        while let Some(o) = self.core.poll_output() {
            self.log.push(o.clone());
            self.fresh.push(o);
        }
    }

    /// Take the outputs not yet looked at.
    pub fn take(&mut self) -> Vec<Output> {
        std::mem::take(&mut self.fresh)
    }

    /// Move time forward by `ms`, firing every timer due on the way, in order.
    pub fn advance(&mut self, ms: u64) {
        let end = self.now.mono_ms + ms;
        let mut fired = 0;
        while let Some(t) = self.core.poll_timeout().filter(|t| *t <= end) {
            fired += 1;
            assert!(fired < 10_000, "the timer at {t} ms keeps firing");
            self.set_time(t.max(self.now.mono_ms));
            self.core.handle_timeout(self.now);
            self.drain();
        }
        self.set_time(end);
    }

    fn set_time(&mut self, mono_ms: u64) {
        self.now = Clock {
            wall: epoch() + chrono::Duration::milliseconds(mono_ms as i64),
            mono_ms,
        };
    }

    pub fn leg(&mut self, leg: LegId, ev: LegEvent) {
        self.core.handle_leg(leg, ev, self.now);
        self.drain();
    }

    pub fn media(&mut self, ev: MediaEvent) {
        self.core.handle_media(LegId::FIRST, ev, self.now);
        self.drain();
    }

    pub fn digit(&mut self, d: char) {
        self.media(MediaEvent::Digit(d));
    }

    pub fn io(&mut self, id: IoId, r: IoResult) {
        self.core.handle_io(id, r, self.now);
        self.drain();
    }

    /// The I/O requests asked for and not answered by the rig yet (oldest first).
    pub fn pending_io(&self) -> Vec<(IoId, IoRequest)> {
        let answered: Vec<IoId> = Vec::new();
        self.log
            .iter()
            .filter_map(|o| match o {
                Output::Io { id, request } if !answered.contains(id) => {
                    Some((*id, request.clone()))
                }
                _ => None,
            })
            .collect()
    }

    /// The last I/O request.
    pub fn last_io(&self) -> (IoId, IoRequest) {
        self.pending_io().pop().expect("an I/O request")
    }

    /// Answer the last I/O request, which must make a prompt, with `frames` frames.
    pub fn give_prompt(&mut self, frames: usize) {
        let (id, req) = self.last_io();
        assert!(matches!(req, IoRequest::Prompt { .. }), "{req:?}");
        self.io(id, IoResult::Prompt(Ok(prompt(frames))));
    }

    /// Complete the last I/O request with `completion`.
    pub fn give_completion(&mut self, completion: Completion, vars: Vec<(String, String)>) {
        let (id, _) = self.last_io();
        self.io(id, IoResult::Completion { completion, vars });
    }

    /// The playback started last.
    pub fn last_playback(&self) -> PlaybackId {
        self.log
            .iter()
            .rev()
            .find_map(|o| match o {
                Output::Media {
                    command: MediaCommand::Play { id, .. },
                    ..
                } => Some(*id),
                _ => None,
            })
            .expect("a playback")
    }

    /// The last playback ends.
    pub fn playback_ends(&mut self, end: PlaybackEnd) {
        let id = self.last_playback();
        self.media(MediaEvent::PlaybackEnded { id, end });
    }

    /// SIP commands sent on `leg`.
    pub fn sip(&self, leg: LegId) -> Vec<SipCommand> {
        self.log
            .iter()
            .filter_map(|o| match o {
                Output::Sip { leg: l, command } if *l == leg => Some(command.clone()),
                _ => None,
            })
            .collect()
    }

    /// Media commands sent to the first leg, of the kind `f` picks.
    pub fn media_commands(&self) -> Vec<MediaCommand> {
        self.log
            .iter()
            .filter_map(|o| match o {
                Output::Media { command, .. } => Some(command.clone()),
                _ => None,
            })
            .collect()
    }

    /// Event types published so far.
    pub fn events(&self) -> Vec<&'static str> {
        self.log
            .iter()
            .filter_map(|o| match o {
                Output::Event(p) => Some(p.event.kind()),
                _ => None,
            })
            .collect()
    }

    /// `(type, outcome)` of each executed action.
    pub fn path(&self) -> Vec<(String, String)> {
        let snap = self.core.snapshot().expect("an activeflow");
        snap.executed_actions
            .iter()
            .map(|e| (e.action_type.to_string(), e.outcome.clone()))
            .collect()
    }

    pub fn var(&self, name: &str) -> String {
        let snap = self.core.snapshot().expect("an activeflow");
        snap.variables
            .get(name)
            .and_then(|v| v.as_str())
            .unwrap_or_default()
            .to_string()
    }

    /// The first leg's dialog ends after our hangup (BYE answered, dialog over).
    pub fn dialog_ends(&mut self) {
        self.leg(LegId::FIRST, LegEvent::ByeCompleted { status: Some(200) });
        self.leg(LegId::FIRST, LegEvent::Terminated);
    }
}
