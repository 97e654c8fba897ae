//! `switchyard flow simulate`: run a flow through the call core a real call runs, with a
//! simulated caller and fake time.
//!
//! What would be spoken or played is printed, and takes the time it would take (speech about
//! 60 ms a character, a sound 1 s, the beep 260 ms), so barge-in and digit timers behave as on
//! a call. DTMF comes from `--digits` (`"12#"`: three keys at once; `"1,+6s,2"`: a key, six
//! seconds, another key) or from stdin whenever the flow collects digits. A `sleep` does not
//! wait. webhook_send, fetch, api_request and custom actions make their real requests.

use crate::output::{note, out};
use call::{
    Admission, CallCore, HangupCause, Incoming, IoRequest, IoResult, LegEvent, LegId, Output,
    PromptSource, SipCommand,
};
use flow::{Clock, Completion, EndReason};
use media::prompt::EncodedPrompt;
use media::session::{MediaCommand, MediaEvent, PlaybackEnd, PlaybackId};
use runtime::Standalone;
use std::collections::VecDeque;
use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

/// Inputs of one simulation.
pub struct Simulation {
    pub file: PathBuf,
    /// Digits and pauses (`"1,+6s,2"`); `None` = read lines from stdin.
    pub digits: Option<String>,
    pub vars: Vec<(String, String)>,
    pub config: runtime::Config,
}

/// A scripted key press or pause.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Script {
    Digit(char),
    Pause(u64),
}

/// Parse `--digits`: comma-separated tokens; `+6s`, `+500ms` and `+1.5s` are pauses, any
/// other token is keys pressed at once.
fn parse_script(text: &str) -> Result<Vec<Script>, String> {
    let mut out = Vec::new();
    for token in text.split(',').map(str::trim).filter(|t| !t.is_empty()) {
        if let Some(pause) = token.strip_prefix('+') {
            let ms = if let Some(n) = pause.strip_suffix("ms") {
                n.parse::<f64>().ok()
            } else if let Some(n) = pause.strip_suffix('s') {
                n.parse::<f64>().ok().map(|s| s * 1000.0)
            } else {
                None
            };
            match ms {
                Some(ms) if ms.is_finite() && ms >= 0.0 => out.push(Script::Pause(ms as u64)),
                _ => return Err(format!("{token:?} is not a pause like +6s or +500ms")),
            }
            continue;
        }
        for d in token.chars() {
            if !"0123456789*#ABCDabcd".contains(d) {
                return Err(format!("{d:?} is not a DTMF key (0-9, *, #, A-D)"));
            }
            out.push(Script::Digit(d.to_ascii_uppercase()));
        }
    }
    Ok(out)
}

/// How long a simulated prompt plays, in ms.
fn prompt_ms(source: &PromptSource) -> u64 {
    match source {
        PromptSource::Speech { text, .. } => (text.chars().count() as u64 * 60).max(500),
        PromptSource::Sound(_) => 1_000,
        PromptSource::Beep => 260,
        PromptSource::Ringback => 6_000,
        PromptSource::DtmfTones {
            digits,
            duration_ms,
            interval_ms,
        } => digits.chars().count() as u64 * u64::from(duration_ms + interval_ms),
    }
}

/// Exit statuses: 0 the flow finished, stopped or hung up; 1 the flow is invalid; 2 bad
/// arguments or configuration; 3 it ended with an error or exceeded its budget.
pub fn run(sim: Simulation) -> ExitCode {
    // The simulator shows the whole language; what it cannot act out fails at run time.
    let caps = flow::Capabilities::all();
    let (flow_id, flow, warnings) = match runtime::flows::load_file_with(&sim.file, &caps) {
        Ok(x) => x,
        Err(problems) => {
            for p in problems {
                out!("{p}");
            }
            return ExitCode::from(1);
        }
    };
    for w in warnings {
        note!("{w} (warning)");
    }
    let script = match sim.digits.as_deref().map(parse_script).transpose() {
        Ok(s) => s,
        Err(e) => {
            note!("switchyard: --digits: {e}");
            return ExitCode::from(2);
        }
    };
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            note!("switchyard: {e}");
            return ExitCode::from(2);
        }
    };
    let flows_dir = sim.file.parent().map(Path::to_path_buf).unwrap_or_default();
    let io = match rt.block_on(Standalone::new(sim.config.clone(), &flows_dir, caps)) {
        Ok(io) => io,
        Err(e) => {
            note!("switchyard: {e}");
            return ExitCode::from(2);
        }
    };
    let c = &sim.config;
    let config = call::CoreConfig {
        max_actions: c.limits.max_actions_per_flow,
        max_control_steps: c.flow.max_control_steps,
        ..Default::default()
    };
    let start = Clock {
        wall: chrono::Utc::now(),
        mono_ms: 0,
    };
    let incoming = Incoming {
        call_id: "simulated-call".into(),
        activeflow_id: "simulated-activeflow".into(),
        sip_call_id: "simulated@switchyard".into(),
        from: "<sip:+15550000001@simulated>".into(),
        to: "<sip:1000@simulated>".into(),
        headers: Vec::new(),
        trusted: false,
        variables: Vec::new(),
        offer: Some(CALLER_OFFER.as_bytes().to_vec()),
        admission: Ok(Admission {
            flow_id,
            flow: Arc::new(flow),
            stop_types: Vec::new(),
            local: sdp::LocalMedia {
                address: std::net::IpAddr::from([127, 0, 0, 1]),
                port: 20000,
                codecs: vec![sdp::Codec::Pcmu, sdp::Codec::Pcma],
                telephone_event: true,
                session_id: 1,
                session_version: 1,
                username: "switchyard".into(),
            },
        }),
    };
    // `--var` values go in as the API's variables do: under the external-variable rules.
    if let Err(p) = flow::Variables::new().merge_external(sim.vars.clone()) {
        note!("switchyard: --var: {}", p.message);
        return ExitCode::from(2);
    }
    let incoming = Incoming {
        variables: sim.vars,
        ..incoming
    };
    let mut core = CallCore::incoming(incoming, config, rand_seed(), start);
    let mut keys = VecDeque::new();
    let mut at = 0;
    for s in script.iter().flatten() {
        match s {
            Script::Pause(ms) => at += ms,
            Script::Digit(d) => keys.push_back((at, *d)),
        }
    }
    let mut simulator = Simulator {
        io,
        rt,
        now: start,
        start,
        keys,
        from_stdin: script.is_none(),
        playing: None,
        sending_digits: None,
        shown: 0,
    };
    simulator.run(&mut core)
}

/// The caller's offer: PCMU with telephone-event.
const CALLER_OFFER: &str = "v=0\r\no=caller 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\n\
t=0 0\r\nm=audio 40000 RTP/AVP 0 101\r\na=rtpmap:0 PCMU/8000\r\n\
a=rtpmap:101 telephone-event/8000\r\na=sendrecv\r\n";

fn rand_seed() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(7)
}

struct Simulator {
    io: Standalone,
    rt: tokio::runtime::Runtime,
    now: Clock,
    start: Clock,
    /// Keys still to press, at their times (ms from the start).
    keys: VecDeque<(u64, char)>,
    from_stdin: bool,
    /// The playback in progress and when it ends.
    playing: Option<(PlaybackId, u64)>,
    /// Digits being sent as events and when the last is out.
    sending_digits: Option<(PlaybackId, u64)>,
    /// Execution-log entries printed so far.
    shown: usize,
}

/// What happens next in simulated time.
enum Next {
    Digit(char),
    PlaybackEnd(PlaybackId),
    DigitsSent(PlaybackId),
    Timer,
}

impl Simulator {
    fn run(&mut self, core: &mut CallCore) -> ExitCode {
        core.start(self.now);
        loop {
            self.drain(core);
            if core.is_finished() {
                break;
            }
            if self.from_stdin && self.keys.is_empty() && core.collecting_digits() {
                self.read_stdin();
            }
            let Some((at, next)) = self.next_event(core) else {
                out!(
                    "[{:>7} ms] the flow waits forever here: stopping",
                    self.now.mono_ms
                );
                core.stop(self.now);
                continue;
            };
            self.advance_to(at);
            match next {
                Next::Digit(d) => {
                    out!("[{:>7} ms] dtmf {d}", self.now.mono_ms);
                    core.handle_media(LegId::FIRST, MediaEvent::Digit(d), self.now);
                }
                Next::PlaybackEnd(id) => {
                    self.playing = None;
                    let end = PlaybackEnd::Finished;
                    core.handle_media(
                        LegId::FIRST,
                        MediaEvent::PlaybackEnded { id, end },
                        self.now,
                    );
                }
                Next::DigitsSent(id) => {
                    self.sending_digits = None;
                    core.handle_media(LegId::FIRST, MediaEvent::DigitsSent { id }, self.now);
                }
                Next::Timer => core.handle_timeout(self.now),
            }
        }
        self.print_log(core);
        let snap = core.snapshot();
        let end = snap.as_ref().and_then(|s| s.end_reason);
        out!(
            "ended: {}",
            end.map_or("unknown".to_string(), |e| format!("{e:?}"))
        );
        out!("variables:");
        if let Some(s) = &snap {
            for (k, v) in &s.variables {
                out!("  {k} = {:?}", v.as_str().unwrap_or_default());
            }
        }
        match end {
            Some(EndReason::Error | EndReason::BudgetExceeded) => ExitCode::from(3),
            _ => ExitCode::SUCCESS,
        }
    }

    fn read_stdin(&mut self) {
        let mut line = String::new();
        match std::io::stdin().lock().read_line(&mut line) {
            Ok(0) | Err(_) => self.from_stdin = false,
            Ok(_) => match parse_script(line.trim()) {
                Ok(script) => {
                    let mut at = self.now.mono_ms;
                    for s in script {
                        match s {
                            Script::Pause(ms) => at += ms,
                            Script::Digit(d) => self.keys.push_back((at, d)),
                        }
                    }
                }
                Err(e) => note!("switchyard: {e}"),
            },
        }
    }

    /// The earliest of: the next scripted key, the end of the playback or of the digits being
    /// sent, the core's timer.
    fn next_event(&mut self, core: &CallCore) -> Option<(u64, Next)> {
        let mut best: Option<(u64, Next)> = None;
        let mut consider = |at: u64, n: Next| {
            if best.as_ref().is_none_or(|(t, _)| at < *t) {
                best = Some((at, n));
            }
        };
        if let Some(&(at, d)) = self.keys.front() {
            consider(at, Next::Digit(d));
        }
        if let Some((id, at)) = self.playing {
            consider(at, Next::PlaybackEnd(id));
        }
        if let Some((id, at)) = self.sending_digits {
            consider(at, Next::DigitsSent(id));
        }
        if let Some(at) = core.poll_timeout() {
            consider(at, Next::Timer);
        }
        if let Some((_, Next::Digit(_))) = &best {
            self.keys.pop_front();
        }
        best
    }

    fn advance_to(&mut self, at: u64) {
        let at = at.max(self.now.mono_ms);
        let offset = chrono::Duration::milliseconds(at as i64);
        self.now = Clock {
            wall: self.start.wall + offset,
            mono_ms: at,
        };
    }

    fn print_log(&mut self, core: &CallCore) {
        let Some(snap) = core.snapshot() else { return };
        for e in snap.executed_actions.iter().skip(self.shown) {
            out!("  #{:<3} {:<22} {}", e.id, e.action_type, e.outcome);
        }
        self.shown = snap.executed_actions.len();
    }

    fn drain(&mut self, core: &mut CallCore) {
        loop {
            self.print_log(core);
            let Some(output) = core.poll_output() else {
                return;
            };
            let t = self.now.mono_ms;
            match output {
                Output::Sip { command, .. } => match command {
                    SipCommand::Answer { .. } => out!("[{t:>7} ms] answer"),
                    SipCommand::Hangup { cause } => {
                        if let HangupCause::Flow(reason) = cause {
                            out!("[{t:>7} ms] hangup ({reason:?})");
                        }
                        core.handle_leg(
                            LegId::FIRST,
                            LegEvent::ByeCompleted { status: Some(200) },
                            self.now,
                        );
                        core.handle_leg(LegId::FIRST, LegEvent::Terminated, self.now);
                    }
                    SipCommand::Reject { cause } => {
                        out!("[{t:>7} ms] refused: {}", cause.as_str());
                    }
                    SipCommand::Ring
                    | SipCommand::AnswerReoffer { .. }
                    | SipCommand::Invite { .. } => {}
                },
                Output::Media { command, .. } => self.media(core, command),
                Output::Io { id, request } => {
                    let result = self.perform(request);
                    if let IoResult::Completion {
                        completion: Completion::Failed(reason),
                        ..
                    } = &result
                    {
                        out!("            -> failed: {reason}");
                    }
                    if let IoResult::Completion {
                        completion: Completion::WebhookResponse { status, .. },
                        ..
                    } = &result
                    {
                        out!("            -> HTTP {status}");
                    }
                    core.handle_io(id, result, self.now);
                }
                Output::Dial { leg, request } => {
                    out!(
                        "[{t:>7} ms] dial {}: outbound calls are not simulated",
                        request.destination
                    );
                    core.handle_leg(leg, LegEvent::Refused { status: 503 }, self.now);
                }
                Output::Bridge { .. }
                | Output::Unbridge { .. }
                | Output::Event(_)
                | Output::CallUpdated
                | Output::ActionFailed
                | Output::ActiveflowEnded(_)
                | Output::CallEnded { .. } => {}
            }
        }
    }

    fn media(&mut self, core: &mut CallCore, command: MediaCommand) {
        let t = self.now.mono_ms;
        match command {
            MediaCommand::Play { id, prompts } => {
                let ms: u64 = prompts
                    .iter()
                    .map(|p| p.duration().as_millis() as u64)
                    .sum();
                if let Some((old, _)) = self.playing.replace((id, t + ms)) {
                    let end = PlaybackEnd::Stopped;
                    core.handle_media(
                        LegId::FIRST,
                        MediaEvent::PlaybackEnded { id: old, end },
                        self.now,
                    );
                }
            }
            MediaCommand::StopPlayback => {
                if let Some((id, _)) = self.playing.take() {
                    out!("[{t:>7} ms] playback stopped");
                    let end = PlaybackEnd::Stopped;
                    core.handle_media(
                        LegId::FIRST,
                        MediaEvent::PlaybackEnded { id, end },
                        self.now,
                    );
                }
            }
            MediaCommand::SendDigits {
                id,
                digits,
                duration_ms,
                interval_ms,
            } => {
                out!("[{t:>7} ms] digits_send (RFC 4733): {digits}");
                let ms = digits.chars().count() as u64 * u64::from(duration_ms + interval_ms);
                self.sending_digits = Some((id, t + ms));
            }
            MediaCommand::StopRecording(why) => {
                core.handle_media(LegId::FIRST, MediaEvent::RecordingEnded(why), self.now);
            }
            MediaCommand::StartAmd(_) => {
                out!("[{t:>7} ms] amd: listening (no verdict in a simulation)")
            }
            MediaCommand::Echo(Some(_)) => out!("[{t:>7} ms] echo on"),
            MediaCommand::Update(_)
            | MediaCommand::InfoDigit(_)
            | MediaCommand::StopAmd
            | MediaCommand::Echo(None) => {}
        }
    }

    fn perform(&mut self, request: IoRequest) -> IoResult {
        let t = self.now.mono_ms;
        match request {
            IoRequest::Prompt { source, codec } => {
                match &source {
                    PromptSource::Speech { text, language, .. } => {
                        out!("[{t:>7} ms] talk ({language}): {text}")
                    }
                    PromptSource::Sound(url) => out!("[{t:>7} ms] play: {url}"),
                    PromptSource::Beep => out!("[{t:>7} ms] beep"),
                    PromptSource::Ringback => out!("[{t:>7} ms] ringback"),
                    PromptSource::DtmfTones { digits, .. } => {
                        out!("[{t:>7} ms] digits_send (tones): {digits}")
                    }
                }
                let samples = prompt_ms(&source) as usize * 8;
                IoResult::Prompt(Ok(Arc::new(EncodedPrompt::encode(
                    &vec![0i16; samples],
                    codec,
                ))))
            }
            IoRequest::StartRecording { recording_id, .. } => {
                out!("[{t:>7} ms] recording {recording_id} (not written in a simulation)");
                IoResult::Recording(Ok(()))
            }
            other => {
                let mut sync_webhook = true;
                match &other {
                    IoRequest::WebhookSend(o) => {
                        sync_webhook = o.sync;
                        let mode = if o.sync { "(sync)" } else { "(async)" };
                        out!("[{t:>7} ms] webhook_send {} {mode}", o.uri);
                    }
                    IoRequest::Fetch { url, .. } => out!("[{t:>7} ms] fetch {url}"),
                    IoRequest::ApiRequest { option, .. } => {
                        out!("[{t:>7} ms] api_request {}", option.url)
                    }
                    _ => {}
                }
                let io = &self.io;
                self.rt.block_on(async {
                    let r = io.perform(other).await;
                    if !sync_webhook {
                        // Let the fire-and-forget request leave before the process ends.
                        tokio::time::sleep(Duration::from_millis(200)).await;
                    }
                    r
                })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scripts_have_keys_and_pauses() {
        use Script::*;
        assert_eq!(
            parse_script("1,+6s,2#").unwrap(),
            [Digit('1'), Pause(6000), Digit('2'), Digit('#')]
        );
        assert_eq!(
            parse_script("12#").unwrap(),
            [Digit('1'), Digit('2'), Digit('#')]
        );
        assert_eq!(parse_script("+250ms,a").unwrap(), [Pause(250), Digit('A')]);
        assert_eq!(parse_script("+1.5s").unwrap(), [Pause(1500)]);
        assert!(parse_script("+6x").is_err());
        assert!(parse_script("1x").is_err());
    }
}
