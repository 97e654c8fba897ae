//! Trunks (legs.md §2): where `tel` calls leave, whose calls arrive, and the registrations
//! that keep an account reachable. `[[trunks]]` from the config and `/v1/trunks` from the
//! store are merged by name, the API's entry winning.
//!
//! Each [`Trunk`] counts its outbound legs: a leg holds a [`TrunkSeat`] from the moment it
//! is placed until its task lets it go, so `max_calls` and `max_cps` hold across every call
//! and the originate API.

use crate::config::{pattern_matches, TrunkConfig};
use crate::guard::Cidr;
use serde_json::{json, Value};
use std::collections::VecDeque;
use std::net::IpAddr;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};
use tracing::{info, warn};

/// Where a trunk's definition comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Origin {
    Config,
    Api,
}

impl Origin {
    fn as_str(self) -> &'static str {
        match self {
            Origin::Config => "config",
            Origin::Api => "api",
        }
    }
}

/// One trunk in service.
pub(crate) struct Trunk {
    pub(crate) config: TrunkConfig,
    origin: Origin,
    /// The password with `${secret.NAME}` resolved; never shown.
    password: String,
    sources: Vec<Cidr>,
    /// The request URI's host part for numbers: `host[:port][;transport=..]`.
    host: String,
    registration: Option<sip::RegistrationHandle>,
    /// Why the registration could not even start (a missing secret).
    registration_problem: Option<String>,
    active: AtomicU32,
    /// When recent legs were placed (the last second), for `max_cps`.
    recent: Mutex<VecDeque<Instant>>,
}

/// Why a trunk takes no more legs now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TrunkLimit {
    /// `max_calls` legs are up.
    Calls(u32),
    /// `max_cps` legs were placed in the last second.
    Cps(u32),
}

impl std::fmt::Display for TrunkLimit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TrunkLimit::Calls(n) => write!(f, "max_calls ({n}) legs are up"),
            TrunkLimit::Cps(n) => write!(f, "max_cps ({n}) legs were placed in the last second"),
        }
    }
}

/// A trunk's place for one outbound leg; given back when dropped.
pub(crate) struct TrunkSeat {
    trunk: Arc<Trunk>,
}

impl Drop for TrunkSeat {
    fn drop(&mut self) {
        self.trunk.active.fetch_sub(1, Ordering::Relaxed);
    }
}

impl Trunk {
    /// Take a seat for a leg placed `now`, or say which limit stands in the way.
    pub(crate) fn seat(self: &Arc<Self>, now: Instant) -> Result<TrunkSeat, TrunkLimit> {
        let c = &self.config;
        let mut recent = self.recent.lock().unwrap_or_else(|e| e.into_inner());
        while recent
            .front()
            .is_some_and(|t| now.duration_since(*t) >= Duration::from_secs(1))
        {
            recent.pop_front();
        }
        if c.max_cps > 0 && recent.len() >= c.max_cps as usize {
            return Err(TrunkLimit::Cps(c.max_cps));
        }
        let taken = self
            .active
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| {
                (c.max_calls == 0 || n < c.max_calls).then_some(n + 1)
            });
        if taken.is_err() {
            return Err(TrunkLimit::Calls(c.max_calls));
        }
        recent.push_back(now);
        Ok(TrunkSeat {
            trunk: self.clone(),
        })
    }

    /// How to call `number` through this trunk, as `caller` (else the trunk's `from_user`).
    pub(crate) fn dial_spec(&self, number: &str, caller: Option<&str>) -> sip::DialSpec {
        let c = &self.config;
        let from_user = caller
            .filter(|s| !s.trim().is_empty())
            .map(str::to_string)
            .or_else(|| (!c.from_user.is_empty()).then(|| c.from_user.clone()));
        sip::DialSpec {
            target: format!("sip:{number}@{}", self.host),
            from_user,
            from_name: None,
            outbound_proxy: (!c.outbound_proxy.is_empty()).then(|| c.outbound_proxy.clone()),
            credentials: (!c.username.is_empty())
                .then(|| (c.username.clone(), self.password.clone())),
            headers: Vec::new(),
        }
    }

    /// Whether an INVITE from `ip` is this trunk's.
    pub(crate) fn is_source(&self, ip: IpAddr) -> bool {
        self.sources.iter().any(|c| c.contains(ip))
    }

    /// Whether it is registered now.
    pub(crate) fn registered(&self) -> bool {
        self.registration
            .as_ref()
            .is_some_and(|r| matches!(r.state(), sip::RegistrationState::Registered { .. }))
    }

    /// Outbound legs up now.
    pub(crate) fn active_legs(&self) -> u32 {
        self.active.load(Ordering::Relaxed)
    }

    /// The trunk as `GET /v1/trunks` shows it: the definition (password hidden), where it
    /// comes from, its registration and its legs.
    pub(crate) fn view(&self) -> Value {
        let mut v = serde_json::to_value(&self.config).unwrap_or_default();
        if let Some(o) = v.as_object_mut() {
            let set = !o
                .remove("password")
                .and_then(|p| p.as_str().map(str::is_empty))
                .unwrap_or(true);
            o.insert("password_set".into(), json!(set));
            o.insert("origin".into(), json!(self.origin.as_str()));
            o.insert("registration".into(), self.registration_view());
            o.insert("active_calls".into(), json!(self.active_legs()));
        }
        v
    }

    fn registration_view(&self) -> Value {
        if let Some(p) = &self.registration_problem {
            return json!({"state": format!("failed: {p}")});
        }
        let Some(r) = &self.registration else {
            return json!({"state": "off"});
        };
        let wall = |at: Instant| {
            let now = Instant::now();
            let wall = chrono::Utc::now();
            let delta =
                chrono::Duration::from_std(at.saturating_duration_since(now)).unwrap_or_default();
            wall + delta
        };
        match r.state() {
            sip::RegistrationState::Registering => json!({"state": "registering"}),
            sip::RegistrationState::Registered { expires, since } => json!({
                "state": "registered",
                "expires": expires,
                "expires_at": wall(since + Duration::from_secs(u64::from(expires))),
            }),
            sip::RegistrationState::Failed { reason, retry_at } => json!({
                "state": format!("failed: {reason}"),
                "retry_at": wall(retry_at),
            }),
            sip::RegistrationState::Unregistered => json!({"state": "unregistered"}),
        }
    }
}

/// The trunks in service.
#[derive(Default)]
pub(crate) struct Trunks {
    entries: RwLock<Arc<Vec<Arc<Trunk>>>>,
}

impl Trunks {
    fn all(&self) -> Arc<Vec<Arc<Trunk>>> {
        self.entries
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// The trunk `number` leaves through: the longest matching prefix of any trunk.
    pub(crate) fn route(&self, number: &str) -> Option<Arc<Trunk>> {
        let all = self.all();
        let mut best: Option<(usize, &Arc<Trunk>)> = None;
        for t in all.iter() {
            for p in &t.config.prefixes {
                if let Some(n) = specificity(p, number) {
                    if best.is_none_or(|(b, _)| n > b) {
                        best = Some((n, t));
                    }
                }
            }
        }
        best.map(|(_, t)| t.clone())
    }

    /// The trunk whose `inbound_sources` hold `ip`.
    pub(crate) fn of_source(&self, ip: IpAddr) -> Option<Arc<Trunk>> {
        self.all().iter().find(|t| t.is_source(ip)).cloned()
    }

    /// Every trunk as the API shows it, by name.
    pub(crate) fn views(&self) -> Vec<Value> {
        self.all().iter().map(|t| t.view()).collect()
    }

    /// The Prometheus series of the trunks: registration (1 registered, 0 not, for trunks
    /// that register) and outbound legs up.
    pub(crate) fn render_metrics(&self) -> String {
        use std::fmt::Write as _;
        let all = self.all();
        let mut s = String::from(
            "# HELP switchyard_trunk_registered Whether a registering trunk is registered now.\n\
             # TYPE switchyard_trunk_registered gauge\n",
        );
        for t in all.iter().filter(|t| t.config.register) {
            let _ = writeln!(
                s,
                "switchyard_trunk_registered{{trunk=\"{}\"}} {}",
                t.config.name,
                u8::from(t.registered())
            );
        }
        s.push_str(
            "# HELP switchyard_trunk_active_calls Outbound legs up on a trunk.\n\
             # TYPE switchyard_trunk_active_calls gauge\n",
        );
        for t in all.iter() {
            let _ = writeln!(
                s,
                "switchyard_trunk_active_calls{{trunk=\"{}\"}} {}",
                t.config.name,
                t.active_legs()
            );
        }
        s
    }

    /// Put `defs` in service. A trunk whose definition (and source) did not change keeps its
    /// registration and its counters; a changed or new one starts afresh; a removed one is
    /// unregistered when its last leg lets it go.
    pub(crate) async fn replace(
        &self,
        defs: Vec<(TrunkConfig, Origin)>,
        dialer: Option<&sip::Dialer>,
        store: Option<&store::Store>,
    ) {
        let old = self.all();
        let mut next = Vec::with_capacity(defs.len());
        for (config, origin) in defs {
            if let Some(same) = old
                .iter()
                .find(|t| t.config == config && t.origin == origin)
            {
                next.push(same.clone());
                continue;
            }
            next.push(Arc::new(build(config, origin, dialer, store).await));
        }
        next.sort_by(|a, b| a.config.name.cmp(&b.config.name));
        *self.entries.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(next);
    }
}

/// Put the config's trunks and the store's in service (the store's win by name). A stored
/// definition this build finds invalid is skipped with a warning.
pub(crate) async fn reload(services: &crate::services::Services) -> Result<(), store::StoreError> {
    let mut defs: Vec<(TrunkConfig, Origin)> = services
        .config
        .trunks
        .iter()
        .map(|t| (t.clone(), Origin::Config))
        .collect();
    if let Some(store) = &services.store {
        for row in store.trunks().await? {
            match check(&row.definition) {
                Ok(t) => {
                    defs.retain(|(d, _)| d.name != t.name);
                    defs.push((t, Origin::Api));
                }
                Err(p) => {
                    warn!(trunk = %row.name, problems = ?p, "stored trunk is not valid; not in service")
                }
            }
        }
    }
    services
        .trunks
        .replace(defs, services.dialer.as_ref(), services.store.as_ref())
        .await;
    Ok(())
}

/// Problems in the config's `[[trunks]]` and `[outbound]`, as `trunks[i]/field: message`.
pub(crate) fn config_problems(config: &crate::config::Config) -> Vec<String> {
    let mut out = Vec::new();
    let mut names = std::collections::HashSet::new();
    for (i, t) in config.trunks.iter().enumerate() {
        let doc = serde_json::to_value(t).unwrap_or_default();
        if let Err(problems) = check(&doc) {
            out.extend(
                problems
                    .into_iter()
                    .map(|(p, m)| format!("trunks[{i}]{p}: {m}")),
            );
        }
        if !names.insert(t.name.as_str()) {
            out.push(format!("trunks[{i}]/name: {:?} is used twice", t.name));
        }
    }
    for (i, p) in config.outbound.allow.iter().enumerate() {
        if !number_pattern_ok(p.trim()) {
            out.push(format!(
                "outbound.allow[{i}]: {p:?} is not a number, a prefix ending in *, or *"
            ));
        }
    }
    out
}

/// Put one trunk in service: resolve its password and start its registration.
async fn build(
    config: TrunkConfig,
    origin: Origin,
    dialer: Option<&sip::Dialer>,
    store: Option<&store::Store>,
) -> Trunk {
    let (password, problem) = match resolve_password(&config.password, store).await {
        Ok(p) => (p, None),
        Err(e) => {
            warn!(trunk = %config.name, error = %e, "trunk password not available");
            (String::new(), Some(e))
        }
    };
    let sources = config
        .inbound_sources
        .iter()
        .filter_map(|s| Cidr::parse(s).ok())
        .collect();
    let host = sip::uri::SipUri::parse(&config.address)
        .map(|u| {
            let host = if u.host.contains(':') {
                format!("[{}]", u.host)
            } else {
                u.host.clone()
            };
            let port = u.port.map(|p| format!(":{p}")).unwrap_or_default();
            let transport = u
                .transport
                .map(|t| format!(";transport={t}"))
                .unwrap_or_default();
            format!("{host}{port}{transport}")
        })
        .unwrap_or_default();
    let registration = match (config.register, dialer, &problem) {
        (true, Some(d), None) => {
            info!(trunk = %config.name, address = %config.address, "registering");
            Some(
                d.register(sip::RegisterSpec {
                    registrar: config.address.clone(),
                    user: if config.username.is_empty() {
                        "switchyard".into()
                    } else {
                        config.username.clone()
                    },
                    outbound_proxy: (!config.outbound_proxy.is_empty())
                        .then(|| config.outbound_proxy.clone()),
                    credentials: (!config.username.is_empty())
                        .then(|| (config.username.clone(), password.clone())),
                    expires: config.expires,
                }),
            )
        }
        _ => None,
    };
    Trunk {
        registration_problem: problem.filter(|_| config.register),
        config,
        origin,
        password,
        sources,
        host,
        registration,
        active: AtomicU32::new(0),
        recent: Mutex::new(VecDeque::new()),
    }
}

/// A literal password, or the value of the secret `${secret.NAME}` names.
async fn resolve_password(password: &str, store: Option<&store::Store>) -> Result<String, String> {
    let Some(name) = password
        .trim()
        .strip_prefix("${secret.")
        .and_then(|r| r.strip_suffix('}'))
    else {
        return Ok(password.to_string());
    };
    let Some(store) = store else {
        return Err(format!("secret {name:?}: no store"));
    };
    match store.secret(name).await {
        Ok(Some(s)) => Ok(s.value),
        Ok(None) => Err(format!("secret {name:?} is not defined")),
        Err(e) => Err(format!("secret {name:?}: {e}")),
    }
}

/// How specifically `pattern` matches `number`: the length of the prefix (an exact number
/// beats any prefix of the same length); `None` when it does not match.
pub(crate) fn specificity(pattern: &str, number: &str) -> Option<usize> {
    let p = pattern.trim();
    pattern_matches(p, number).then(|| match p.strip_suffix('*') {
        Some(prefix) => prefix.len() * 2,
        None => p.len() * 2 + 1,
    })
}

/// Whether `[outbound] allow` lets flows and the API dial the `tel` number `number`.
pub(crate) fn allowed(allow: &[String], number: &str) -> bool {
    allow.iter().any(|p| pattern_matches(p.trim(), number))
}

/// Check a trunk definition (`/v1/trunks`): the parsed trunk, or `(pointer, message)` for
/// each problem.
pub(crate) fn check(doc: &Value) -> Result<TrunkConfig, Vec<(String, String)>> {
    let config: TrunkConfig = serde_json::from_value(doc.clone()).map_err(|e| {
        let msg = e.to_string();
        let field = msg
            .split('`')
            .nth(1)
            .filter(|_| msg.contains("field"))
            .map(|f| format!("/{f}"))
            .unwrap_or_default();
        vec![(field, msg)]
    })?;
    let mut problems = Vec::new();
    let mut bad = |pointer: &str, message: String| problems.push((pointer.to_string(), message));
    let name_ok = !config.name.is_empty()
        && config.name.len() <= 64
        && config
            .name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if !name_ok {
        bad("/name", "1 to 64 letters, digits, - or _".into());
    }
    match sip::uri::SipUri::parse(&config.address) {
        Ok(u) if u.user.is_none() => {}
        Ok(_) => bad(
            "/address",
            "the trunk's address has no user part: sip:host[:port]".into(),
        ),
        Err(e) => bad("/address", e.to_string()),
    }
    if !config.outbound_proxy.is_empty() {
        if let Err(e) = sip::uri::SipUri::parse(&config.outbound_proxy) {
            bad("/outbound_proxy", e.to_string());
        }
    }
    for (i, p) in config.prefixes.iter().enumerate() {
        if !number_pattern_ok(p) {
            bad(
                &format!("/prefixes/{i}"),
                "a number, a prefix ending in * (+1*), or *".into(),
            );
        }
    }
    for (i, s) in config.inbound_sources.iter().enumerate() {
        if let Err(e) = Cidr::parse(s) {
            bad(&format!("/inbound_sources/{i}"), e.to_string());
        }
    }
    if !(60..=86_400).contains(&config.expires) {
        bad("/expires", "60 to 86400 seconds".into());
    }
    if config.register && config.username.is_empty() {
        bad("/username", "a registering trunk needs a username".into());
    }
    if problems.is_empty() {
        Ok(config)
    } else {
        Err(problems)
    }
}

/// `+1415*`, `*`, `+14155550100`, `1000`: digits with an optional leading `+`, optionally
/// ending in `*`.
pub(crate) fn number_pattern_ok(p: &str) -> bool {
    let body = p.strip_suffix('*').unwrap_or(p);
    let digits = body.strip_prefix('+').unwrap_or(body);
    (p == "*" || !digits.is_empty()) && digits.chars().all(|c| c.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn trunk(name: &str, prefixes: &[&str], max_calls: u32, max_cps: u32) -> Arc<Trunk> {
        let config = TrunkConfig {
            name: name.into(),
            address: "sip:198.51.100.7:5070".into(),
            outbound_proxy: String::new(),
            username: "acct".into(),
            password: "pw".into(),
            register: false,
            expires: 600,
            prefixes: prefixes.iter().map(|p| p.to_string()).collect(),
            from_user: "+14155550100".into(),
            inbound_sources: vec!["198.51.100.0/24".into()],
            max_calls,
            max_cps,
        };
        Arc::new(
            tokio::runtime::Builder::new_current_thread()
                .build()
                .unwrap()
                .block_on(build(config, Origin::Config, None, None)),
        )
    }

    fn trunks(list: Vec<Arc<Trunk>>) -> Trunks {
        let t = Trunks::default();
        *t.entries.write().unwrap() = Arc::new(list);
        t
    }

    #[test]
    fn the_longest_prefix_wins_and_an_exact_number_beats_its_prefix() {
        let t = trunks(vec![
            trunk("all", &["*"], 0, 0),
            trunk("us", &["+1*"], 0, 0),
            trunk("sf", &["+1415*"], 0, 0),
            trunk("one", &["+1415555"], 0, 0),
        ]);
        let name = |n: &str| t.route(n).map(|t| t.config.name.clone());
        assert_eq!(name("+14155550100").as_deref(), Some("sf"));
        assert_eq!(name("+12125550100").as_deref(), Some("us"));
        assert_eq!(name("+442071234567").as_deref(), Some("all"));
        assert_eq!(name("+1415555").as_deref(), Some("one"));
        assert!(trunks(vec![trunk("us", &["+1*"], 0, 0)])
            .route("+44")
            .is_none());
    }

    #[test]
    fn a_number_leaves_as_the_trunks_request_uri_with_its_credentials() {
        let t = trunk("carrier", &["*"], 0, 0);
        let spec = t.dial_spec("+12125550100", None);
        assert_eq!(spec.target, "sip:+12125550100@198.51.100.7:5070");
        assert_eq!(spec.from_user.as_deref(), Some("+14155550100"));
        assert_eq!(spec.credentials, Some(("acct".into(), "pw".into())));
        let spec = t.dial_spec("+12125550100", Some("+15550001"));
        assert_eq!(spec.from_user.as_deref(), Some("+15550001"));
        assert!(t.is_source("198.51.100.9".parse().unwrap()));
        assert!(!t.is_source("203.0.113.9".parse().unwrap()));
    }

    #[test]
    fn max_calls_and_max_cps_hold_and_seats_are_given_back() {
        let t = trunk("carrier", &["*"], 2, 0);
        let now = Instant::now();
        let a = t.seat(now).unwrap();
        let _b = t.seat(now).unwrap();
        assert_eq!(t.seat(now).err(), Some(TrunkLimit::Calls(2)));
        drop(a);
        assert!(t.seat(now).is_ok());
        let t = trunk("carrier", &["*"], 0, 2);
        let _x = t.seat(now).unwrap();
        let _y = t.seat(now).unwrap();
        assert_eq!(t.seat(now).err(), Some(TrunkLimit::Cps(2)));
        assert!(t.seat(now + Duration::from_millis(1000)).is_ok());
    }

    #[test]
    fn the_allow_list_fences_numbers() {
        let allow = vec!["+1*".to_string(), "+442071234567".to_string()];
        assert!(allowed(&allow, "+14155550100"));
        assert!(allowed(&allow, "+442071234567"));
        assert!(!allowed(&allow, "+882345"));
        assert!(allowed(&["*".to_string()], "+882345"));
    }

    #[test]
    fn bad_definitions_name_the_field() {
        let problems = check(
            &json!({"name": "c", "address": "http://x", "prefixes": ["+1?"],
            "inbound_sources": ["nope"], "register": true}),
        )
        .unwrap_err();
        let pointers: Vec<&str> = problems.iter().map(|(p, _)| p.as_str()).collect();
        assert_eq!(
            pointers,
            ["/address", "/prefixes/0", "/inbound_sources/0", "/username"]
        );
        let unknown = check(&json!({"name": "c", "address": "sip:h", "colour": 1})).unwrap_err();
        assert_eq!(unknown[0].0, "/colour", "{unknown:?}");
        assert!(check(&json!({"name": "c", "address": "sip:198.51.100.7"})).is_ok());
    }

    #[test]
    fn the_view_hides_the_password() {
        let v = trunk("carrier", &["*"], 0, 0).view();
        assert!(v.get("password").is_none());
        assert_eq!(v["password_set"], true);
        assert_eq!(v["registration"]["state"], "off");
        assert_eq!(v["origin"], "config");
    }
}
