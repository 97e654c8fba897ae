//! The configuration file (`config/switchyard.toml`), as typed sections.
//!
//! Every key of `interface.md` is here with its default; unknown keys are rejected so a typo
//! is an error at start, not a silently ignored setting. Environment overrides
//! (`SWITCHYARD__SECTION__KEY`) are applied by the server before deserializing.

use serde::Deserialize;
use std::path::PathBuf;

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    pub sip: SipSection,
    pub rtp: RtpSection,
    pub api: ApiSection,
    pub store: StoreSection,
    pub flows: FlowsSection,
    pub routes: Vec<Route>,
    pub tts: TtsSection,
    pub sounds: SoundsSection,
    pub recordings: RecordingsSection,
    pub events: EventsSection,
    pub http: HttpSection,
    pub limits: LimitsSection,
    pub flow: FlowSection,
    pub shutdown: ShutdownSection,
    pub custom_actions: CustomActionsSection,
    pub trunks: Vec<TrunkConfig>,
    pub outbound: OutboundSection,
}

/// `[[trunks]]` (legs.md §2): a SIP trunk that `tel` calls leave through and whose calls
/// arrive from `inbound_sources`. The same shape is what `/v1/trunks` takes.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrunkConfig {
    /// Unique; an API trunk of the same name replaces this one.
    pub name: String,
    /// Where INVITEs (and REGISTERs) go: `sip:host[:port][;transport=udp]`.
    pub address: String,
    /// Send through this proxy with a Route header; empty = directly.
    #[serde(default)]
    pub outbound_proxy: String,
    /// Digest username for 401/407 challenges.
    #[serde(default)]
    pub username: String,
    /// Digest password, or a `${secret.NAME}` reference resolved from `/v1/secrets`.
    #[serde(default)]
    pub password: String,
    /// REGISTER the account and keep it fresh.
    #[serde(default)]
    pub register: bool,
    /// Registration interval asked for, in seconds.
    #[serde(default = "default_expires")]
    pub expires: u32,
    /// Which `tel` numbers leave through this trunk: `+1*` (a prefix), `*` (all), or an exact
    /// number; the longest match over all trunks wins.
    #[serde(default)]
    pub prefixes: Vec<String>,
    /// Caller id when the flow gives no source.
    #[serde(default)]
    pub from_user: String,
    /// INVITEs from these addresses or CIDR blocks are this trunk's calls.
    #[serde(default)]
    pub inbound_sources: Vec<String>,
    /// Concurrent outbound legs; 0 = no limit.
    #[serde(default)]
    pub max_calls: u32,
    /// New outbound legs per second; 0 = no limit.
    #[serde(default)]
    pub max_cps: u32,
}

fn default_expires() -> u32 {
    600
}

/// `[outbound]`: the toll-fraud fence around every outbound leg.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct OutboundSection {
    /// `tel` numbers flows and the API may dial (`+1*`, `*`, exact numbers).
    pub allow: Vec<String>,
    /// Every outbound leg is hung up after this long (from its answer), in seconds.
    pub max_call_duration_s: u64,
}

impl Default for OutboundSection {
    fn default() -> Self {
        OutboundSection {
            allow: vec!["*".into()],
            max_call_duration_s: 14_400,
        }
    }
}

/// `[custom_actions]`: the library of reusable sub-flows.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CustomActionsSection {
    /// Definitions loaded from files (published, organization visibility).
    pub dir: PathBuf,
    /// Key of the HMAC that signs exported packages; servers sharing it verify each other's
    /// packages. Empty: a plain SHA-256 integrity digest.
    pub package_key: String,
    /// After this long, a waiting caller hears the filler (HTTP actions, parked actions
    /// without hold audio).
    pub filler_after_ms: u64,
    /// What they hear: a sound name or URL as in `play`; empty = silence.
    pub filler: String,
}

impl Default for CustomActionsSection {
    fn default() -> Self {
        CustomActionsSection {
            dir: "config/custom-actions".into(),
            package_key: String::new(),
            filler_after_ms: 1_500,
            filler: String::new(),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SipSection {
    pub listen: Vec<String>,
    /// Address for Contact and SDP when behind NAT/Docker; "" = the listen address.
    pub public_address: String,
    pub user_agent: String,
    /// The digest algorithms the registrar challenges extensions with, most preferred
    /// first (`"SHA-256"`, `"MD5"`). Answers in either are always accepted; only MD5 is
    /// offered by default because some phones (libre-based ones such as Debian's baresip
    /// 1.0) refuse a challenge that lists an algorithm they do not know.
    pub digest_algorithms: Vec<String>,
}

impl Default for SipSection {
    fn default() -> Self {
        SipSection {
            listen: vec!["udp:0.0.0.0:5060".into(), "tcp:0.0.0.0:5060".into()],
            public_address: String::new(),
            user_agent: "switchyard".into(),
            digest_algorithms: vec!["MD5".into()],
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RtpSection {
    pub port_min: u16,
    pub port_max: u16,
}

impl Default for RtpSection {
    fn default() -> Self {
        RtpSection {
            port_min: 20000,
            port_max: 30000,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ApiSection {
    pub listen: String,
    pub token: String,
}

impl Default for ApiSection {
    fn default() -> Self {
        ApiSection {
            listen: "127.0.0.1:8080".into(),
            token: String::new(),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StoreSection {
    pub url: String,
}

impl Default for StoreSection {
    fn default() -> Self {
        StoreSection {
            url: "sqlite://data/switchyard.db".into(),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FlowsSection {
    pub dir: PathBuf,
}

impl Default for FlowsSection {
    fn default() -> Self {
        FlowsSection {
            dir: "config/flows".into(),
        }
    }
}

/// `[[routes]]`: first match wins on the dialed user (Request-URI user part).
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Route {
    /// Exact `"1000"`, prefix `"+4420*"`, or `"*"`.
    #[serde(rename = "match")]
    pub pattern: String,
    pub flow: String,
    /// `custom` action names that park on this number even with `stop: false`.
    #[serde(default)]
    pub stop_types: Vec<String>,
}

impl Route {
    pub fn matches(&self, user: &str) -> bool {
        pattern_matches(&self.pattern, user)
    }
}

/// A route pattern against a dialed user: exact `"1000"`, prefix `"+4420*"`, or `"*"`.
pub fn pattern_matches(pattern: &str, user: &str) -> bool {
    match pattern.strip_suffix('*') {
        Some(prefix) => user.starts_with(prefix),
        None => pattern == user,
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TtsSection {
    pub default_provider: String,
    pub cache_dir: PathBuf,
    /// The espeak-ng executable.
    pub espeak_command: String,
}

impl Default for TtsSection {
    fn default() -> Self {
        TtsSection {
            default_provider: "espeak".into(),
            cache_dir: "data/tts-cache".into(),
            espeak_command: "espeak-ng".into(),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SoundsSection {
    /// Where `play` finds bare names and relative `file://` paths.
    pub dir: PathBuf,
}

impl Default for SoundsSection {
    fn default() -> Self {
        SoundsSection {
            dir: "sounds".into(),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RecordingsSection {
    pub dir: PathBuf,
}

impl Default for RecordingsSection {
    fn default() -> Self {
        RecordingsSection {
            dir: "data/recordings".into(),
        }
    }
}

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct EventsSection {
    pub webhook_uri: String,
    pub signing_secret: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HttpSection {
    pub timeout_ms: u64,
    pub allow_private: Vec<String>,
}

impl Default for HttpSection {
    fn default() -> Self {
        HttpSection {
            timeout_ms: 10_000,
            allow_private: Vec::new(),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LimitsSection {
    pub max_calls: usize,
    pub max_actions_per_flow: u32,
}

impl Default for LimitsSection {
    fn default() -> Self {
        LimitsSection {
            max_calls: 10_000,
            max_actions_per_flow: 10_000,
        }
    }
}

/// `[flow]`: execution limits (flows.md §2).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FlowSection {
    pub max_actions: Option<u32>,
    pub max_control_steps: u32,
}

impl Default for FlowSection {
    fn default() -> Self {
        FlowSection {
            max_actions: None,
            max_control_steps: 1_000,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ShutdownSection {
    /// How long calls in progress may continue after SIGTERM.
    pub drain_timeout_ms: u64,
}

impl Default for ShutdownSection {
    fn default() -> Self {
        ShutdownSection {
            drain_timeout_ms: 30_000,
        }
    }
}

impl Config {
    /// The `stop_types` of the first `[[routes]]` entry matching `user`.
    pub fn stop_types(&self, user: &str) -> &[String] {
        self.routes
            .iter()
            .find(|r| r.matches(user))
            .map(|r| r.stop_types.as_slice())
            .unwrap_or(&[])
    }

    /// The flow for a dialed user, by `[[routes]]`; `None` when no route matches.
    pub fn route(&self, user: &str) -> Option<&str> {
        self.routes
            .iter()
            .find(|r| r.matches(user))
            .map(|r| r.flow.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_match_exact_prefix_and_star_in_order() {
        let c = Config {
            routes: vec![
                Route {
                    pattern: "1000".into(),
                    flow: "a".into(),
                    stop_types: vec![],
                },
                Route {
                    pattern: "+4420*".into(),
                    flow: "b".into(),
                    stop_types: vec![],
                },
                Route {
                    pattern: "*".into(),
                    flow: "c".into(),
                    stop_types: vec![],
                },
            ],
            ..Default::default()
        };
        assert_eq!(c.route("1000"), Some("a"));
        assert_eq!(c.route("10001"), Some("c"));
        assert_eq!(c.route("+442071234567"), Some("b"));
        assert_eq!(c.route(""), Some("c"));
    }
}
