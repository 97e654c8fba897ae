//! Addresses as flows see them (`call.source.*`, `call.destination.*`) and the built-in
//! variables a call's activeflow starts with (flows.md §3).

use flow::Variables;

/// An address as the flow sees it: `{type, target, target_name, name}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Address {
    /// `tel` when the user part is a phone number, else `sip`.
    pub kind: &'static str,
    /// The number (`+15551234567`) for `tel`, `user@host` for `sip`.
    pub target: String,
    /// The display name, if any.
    pub name: String,
}

/// Parse a From/To header value: `"Alice" <sip:+1555@host>;tag=x` or `sip:bob@host`.
pub fn parse_address(value: &str) -> Address {
    let value = value.trim();
    let (name, uri) = match (value.find('<'), value.rfind('>')) {
        (Some(a), Some(b)) if a < b => {
            (value[..a].trim().trim_matches('"').trim(), &value[a + 1..b])
        }
        _ => ("", value.split(';').next().unwrap_or(value)),
    };
    let uri = uri
        .trim()
        .trim_start_matches("sips:")
        .trim_start_matches("sip:")
        .trim_start_matches("tel:");
    let uri = uri.split(';').next().unwrap_or(uri);
    let (user, host) = match uri.split_once('@') {
        Some((u, h)) => (u, Some(h.split(':').next().unwrap_or(h))),
        None => (uri, None),
    };
    let is_number = {
        let digits = user.strip_prefix('+').unwrap_or(user);
        !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit())
    };
    let (kind, target) = match (is_number, host) {
        (true, _) | (false, None) => (if is_number { "tel" } else { "sip" }, user.to_string()),
        (false, Some(h)) => ("sip", format!("{user}@{h}")),
    };
    Address {
        kind,
        target,
        name: name.to_string(),
    }
}

/// What the variables of an incoming call are made of.
#[derive(Debug, Clone, Copy)]
pub struct IncomingParty<'a> {
    /// The SIP Call-ID.
    pub sip_call_id: &'a str,
    /// The From header value.
    pub from: &'a str,
    /// The To header value.
    pub to: &'a str,
    /// Every header of the INVITE, lower-case names.
    pub headers: &'a [(String, String)],
    /// The call came from a trusted trunk: its P-Asserted-Identity is the caller.
    pub trusted: bool,
}

impl IncomingParty<'_> {
    /// Who the caller is as a header value: the asserted identity (RFC 3325) when the call
    /// comes from a trusted trunk and carries one (the `tel` URI of two, else the first),
    /// else From.
    pub fn caller(&self) -> String {
        if self.trusted {
            let asserted: Vec<String> = self
                .headers
                .iter()
                .filter(|(n, _)| n == "p-asserted-identity")
                .flat_map(|(_, v)| split_values(v))
                .collect();
            let tel = asserted
                .iter()
                .find(|v| v.contains("<tel:") || v.trim_start().starts_with("tel:"));
            if let Some(v) = tel.or(asserted.first()) {
                return v.clone();
            }
        }
        self.from.to_string()
    }
}

/// The comma-separated values of a header (`<sip:a@h>, <tel:+1555>`), commas inside `<...>`
/// or quotes kept.
fn split_values(v: &str) -> Vec<String> {
    let mut out = Vec::new();
    let (mut depth, mut quoted, mut start) = (0i32, false, 0usize);
    for (i, c) in v.char_indices() {
        match c {
            '"' => quoted = !quoted,
            '<' if !quoted => depth += 1,
            '>' if !quoted => depth -= 1,
            ',' if !quoted && depth == 0 => {
                out.push(v[start..i].trim().to_string());
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(v[start..].trim().to_string());
    out.retain(|s| !s.is_empty());
    out
}

/// The variables an incoming call's activeflow starts with.
pub fn call_variables(
    party: IncomingParty<'_>,
    call_id: &str,
    activeflow_id: &str,
    flow_id: &str,
) -> Variables {
    let mut v = Variables::new();
    common(&mut v, "incoming", call_id, activeflow_id, flow_id);
    v.set("call.sip.call_id", party.sip_call_id);
    let caller = party.caller();
    for (prefix, header) in [
        ("call.source", caller.as_str()),
        ("call.destination", party.to),
    ] {
        let a = parse_address(header);
        set_party(&mut v, prefix, a.kind, &a.target, &a.name);
    }
    // A header that appears more than once is one value, comma-joined (RFC 3261 §7.3.1).
    let mut seen: Vec<(&str, String)> = Vec::new();
    for (name, value) in party.headers {
        match seen.iter_mut().find(|(n, _)| *n == name.as_str()) {
            Some((_, joined)) => {
                joined.push_str(", ");
                joined.push_str(value);
            }
            None => seen.push((name.as_str(), value.clone())),
        }
    }
    for (name, value) in seen {
        v.set(format!("call.sip.header.{name}"), value);
    }
    v
}

/// The variables a placed call's activeflow starts with: `source` and `destination` as the
/// request gave them (`tel` when it named no type).
pub fn placed_call_variables(
    source: &flow::options::Address,
    destination: &flow::options::Address,
    call_id: &str,
    activeflow_id: &str,
    flow_id: &str,
) -> Variables {
    let mut v = Variables::new();
    common(&mut v, "outgoing", call_id, activeflow_id, flow_id);
    for (prefix, a) in [("call.source", source), ("call.destination", destination)] {
        let kind = a.address_type.as_deref().unwrap_or("tel");
        let name = a.target_name.as_deref().or(a.name.as_deref()).unwrap_or("");
        set_party(&mut v, prefix, kind, &a.target, name);
    }
    v
}

fn common(v: &mut Variables, direction: &str, call_id: &str, activeflow_id: &str, flow_id: &str) {
    for (k, val) in [
        ("call.id", call_id),
        ("call.direction", direction),
        ("call.master_call_id", ""),
        ("call.status", "progressing"),
        ("call.digits", ""),
        ("activeflow.id", activeflow_id),
        ("activeflow.flow_id", flow_id),
        ("activeflow.reference_type", "call"),
        ("activeflow.reference_id", call_id),
    ] {
        v.set(k, val);
    }
}

fn set_party(v: &mut Variables, prefix: &str, kind: &str, target: &str, name: &str) {
    v.set(format!("{prefix}.type"), kind);
    v.set(format!("{prefix}.target"), target);
    v.set(format!("{prefix}.target_name"), name);
    v.set(format!("{prefix}.name"), name);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_tel_and_names_are_kept() {
        let a = parse_address("\"Alice\" <sip:+15551234567@trunk.example:5060>;tag=1");
        assert_eq!(
            a,
            Address {
                kind: "tel",
                target: "+15551234567".into(),
                name: "Alice".into()
            }
        );
    }

    #[test]
    fn users_are_sip_with_host() {
        let a = parse_address("<sip:bob@example.com>;tag=9");
        assert_eq!(a.kind, "sip");
        assert_eq!(a.target, "bob@example.com");
        assert_eq!(a.name, "");
        let b = parse_address("sip:1000@127.0.0.1");
        assert_eq!((b.kind, b.target.as_str()), ("tel", "1000"));
    }

    #[test]
    fn a_trusted_trunks_asserted_identity_is_the_caller_and_both_headers_are_kept() {
        let headers = vec![
            (
                "p-asserted-identity".to_string(),
                "\"Front desk\" <sip:+14155550100@carrier.example>".to_string(),
            ),
            (
                "p-asserted-identity".to_string(),
                "<tel:+14155550100>".to_string(),
            ),
        ];
        let mut party = IncomingParty {
            sip_call_id: "c",
            from: "<sip:anonymous@anonymous.invalid>;tag=1",
            to: "<sip:1000@us>",
            headers: &headers,
            trusted: true,
        };
        let v = call_variables(party, "call", "af", "main");
        assert_eq!(v.get("call.source.target"), Some("+14155550100"));
        assert_eq!(v.get("call.source.type"), Some("tel"));
        assert_eq!(
            v.get("call.sip.header.p-asserted-identity"),
            Some("\"Front desk\" <sip:+14155550100@carrier.example>, <tel:+14155550100>")
        );
        party.trusted = false;
        let v = call_variables(party, "call", "af", "main");
        assert_eq!(
            v.get("call.source.target"),
            Some("anonymous@anonymous.invalid"),
            "an untrusted source cannot assert who it is"
        );
    }

    #[test]
    fn garbage_does_not_panic() {
        for s in ["", "<", ">", "<>", "\"", "sip:", "@", "<sip:@>"] {
            let _ = parse_address(s);
        }
    }
}
