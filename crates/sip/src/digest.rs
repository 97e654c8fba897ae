//! HTTP Digest authentication as SIP uses it (RFC 3261 §22, RFC 2617, RFC 7616 for SHA-256,
//! RFC 8760): answering a 401/407 challenge as a client, and checking an `Authorization` as
//! a registrar.
//!
//! Only `qop=auth` (or no qop, RFC 2069 style) is supported; `auth-int` challenges are refused
//! (the client then reports the 401/407 as the final answer).

use md5::{Digest, Md5};
use sha2::Sha256;
use std::fmt::Write as _;

/// The hash of a challenge.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Algorithm {
    /// `MD5` (the default when the challenge names none).
    Md5,
    /// `SHA-256`.
    Sha256,
}

impl Algorithm {
    fn name(self) -> &'static str {
        match self {
            Algorithm::Md5 => "MD5",
            Algorithm::Sha256 => "SHA-256",
        }
    }

    fn hash(self, text: &str) -> String {
        match self {
            Algorithm::Md5 => hex(&Md5::digest(text.as_bytes())),
            Algorithm::Sha256 => hex(&Sha256::digest(text.as_bytes())),
        }
    }
}

fn hex(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}

/// A `WWW-Authenticate` or `Proxy-Authenticate` challenge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Challenge {
    /// The protection space.
    pub realm: String,
    /// The server's nonce.
    pub nonce: String,
    /// Returned verbatim when present.
    pub opaque: Option<String>,
    /// The hash.
    pub algorithm: Algorithm,
    /// Whether the server asks for `qop=auth`.
    pub qop_auth: bool,
    /// The server says the previous nonce was stale (the password was right).
    pub stale: bool,
}

/// Why a challenge cannot be answered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChallengeError {
    /// Not a `Digest` challenge.
    #[error("not a Digest challenge")]
    NotDigest,
    /// `realm` or `nonce` is missing.
    #[error("the challenge has no {0}")]
    Missing(&'static str),
    /// An algorithm or qop we do not implement (`auth-int`, `SHA-512-256`, ...).
    #[error("unsupported {0}")]
    Unsupported(String),
}

/// `name=value` and `name="quoted, value"` pairs after the scheme.
fn params(text: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut rest = text.trim();
    while !rest.is_empty() {
        let Some(eq) = rest.find('=') else { break };
        let name = rest[..eq]
            .trim()
            .trim_start_matches(',')
            .trim()
            .to_ascii_lowercase();
        rest = rest[eq + 1..].trim_start();
        let value;
        if let Some(quoted) = rest.strip_prefix('"') {
            let mut v = String::new();
            let mut chars = quoted.char_indices();
            let mut end = quoted.len();
            while let Some((i, c)) = chars.next() {
                match c {
                    '\\' => {
                        if let Some((_, n)) = chars.next() {
                            v.push(n);
                        }
                    }
                    '"' => {
                        end = i + 1;
                        break;
                    }
                    c => v.push(c),
                }
            }
            value = v;
            rest = quoted.get(end..).unwrap_or("");
        } else {
            let end = rest.find(',').unwrap_or(rest.len());
            value = rest[..end].trim().to_string();
            rest = &rest[end..];
        }
        out.push((name, value));
        rest = rest.trim_start().trim_start_matches(',').trim_start();
    }
    out
}

impl Challenge {
    /// A registrar's challenge for `realm` with `nonce`: `qop="auth"`, the given algorithm.
    pub fn new(realm: &str, nonce: &str, algorithm: Algorithm, stale: bool) -> Challenge {
        Challenge {
            realm: realm.to_string(),
            nonce: nonce.to_string(),
            opaque: None,
            algorithm,
            qop_auth: true,
            stale,
        }
    }

    /// The `WWW-Authenticate` (or `Proxy-Authenticate`) value of this challenge.
    pub fn header_value(&self) -> String {
        let mut s = format!(
            "Digest realm=\"{}\", nonce=\"{}\", algorithm={}",
            quote(&self.realm),
            quote(&self.nonce),
            self.algorithm.name()
        );
        if self.qop_auth {
            s.push_str(", qop=\"auth\"");
        }
        if let Some(o) = &self.opaque {
            let _ = write!(s, ", opaque=\"{}\"", quote(o));
        }
        if self.stale {
            s.push_str(", stale=true");
        }
        s
    }

    /// Parse a header value: `Digest realm="...", nonce="...", qop="auth", algorithm=MD5`.
    pub fn parse(value: &str) -> Result<Challenge, ChallengeError> {
        let value = value.trim();
        let (scheme, rest) = value.split_once(char::is_whitespace).unwrap_or((value, ""));
        if !scheme.eq_ignore_ascii_case("digest") {
            return Err(ChallengeError::NotDigest);
        }
        let p = params(rest);
        let get = |n: &str| p.iter().find(|(k, _)| k == n).map(|(_, v)| v.clone());
        let algorithm = match get("algorithm").as_deref() {
            None => Algorithm::Md5,
            Some(a) if a.eq_ignore_ascii_case("md5") => Algorithm::Md5,
            Some(a) if a.eq_ignore_ascii_case("sha-256") => Algorithm::Sha256,
            Some(other) => return Err(ChallengeError::Unsupported(format!("algorithm {other}"))),
        };
        let qop_auth = match get("qop") {
            None => false,
            Some(q) => {
                let options: Vec<&str> = q.split(',').map(str::trim).collect();
                if options.iter().any(|o| o.eq_ignore_ascii_case("auth")) {
                    true
                } else {
                    return Err(ChallengeError::Unsupported(format!("qop {q}")));
                }
            }
        };
        Ok(Challenge {
            realm: get("realm").ok_or(ChallengeError::Missing("realm"))?,
            nonce: get("nonce").ok_or(ChallengeError::Missing("nonce"))?,
            opaque: get("opaque"),
            algorithm,
            qop_auth,
            stale: get("stale").is_some_and(|s| s.eq_ignore_ascii_case("true")),
        })
    }

    /// The `Authorization` (or `Proxy-Authorization`) value answering this challenge for a
    /// request `method` to `uri`, as `username` with `password`. `cnonce` is fresh randomness
    /// from the caller; `nc` counts the requests made with this nonce (from 1).
    pub fn answer(
        &self,
        method: &str,
        uri: &str,
        username: &str,
        password: &str,
        cnonce: &str,
        nc: u32,
    ) -> String {
        let a = self.algorithm;
        let ha1 = a.hash(&format!("{username}:{}:{password}", self.realm));
        let ha2 = a.hash(&format!("{method}:{uri}"));
        let nc = format!("{nc:08x}");
        let response = if self.qop_auth {
            a.hash(&format!("{ha1}:{}:{nc}:{cnonce}:auth:{ha2}", self.nonce))
        } else {
            a.hash(&format!("{ha1}:{}:{ha2}", self.nonce))
        };
        let mut s = format!(
            "Digest username=\"{}\", realm=\"{}\", nonce=\"{}\", uri=\"{uri}\", response=\"{response}\", algorithm={}",
            quote(username),
            quote(&self.realm),
            quote(&self.nonce),
            a.name()
        );
        if self.qop_auth {
            let _ = write!(s, ", qop=auth, nc={nc}, cnonce=\"{}\"", quote(cnonce));
        }
        if let Some(o) = &self.opaque {
            let _ = write!(s, ", opaque=\"{}\"", quote(o));
        }
        s
    }
}

fn quote(s: &str) -> String {
    s.replace('\\', "\\\\").replace('"', "\\\"")
}

/// A client's `Authorization` header as a registrar reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credentials {
    /// `username`.
    pub username: String,
    /// `realm`.
    pub realm: String,
    /// `nonce`: must be one we issued.
    pub nonce: String,
    /// `uri`.
    pub uri: String,
    /// `response`.
    pub response: String,
    /// The hash.
    pub algorithm: Algorithm,
    /// `qop`, `nc` and `cnonce` when `qop=auth`.
    pub qop: Option<(String, String)>,
}

impl Credentials {
    /// Parse an `Authorization` value; `None` when it is not a usable Digest answer.
    pub fn parse(value: &str) -> Option<Credentials> {
        let value = value.trim();
        let (scheme, rest) = value.split_once(char::is_whitespace)?;
        if !scheme.eq_ignore_ascii_case("digest") {
            return None;
        }
        let p = params(rest);
        let get = |n: &str| p.iter().find(|(k, _)| k == n).map(|(_, v)| v.clone());
        let algorithm = match get("algorithm").as_deref() {
            None => Algorithm::Md5,
            Some(a) if a.eq_ignore_ascii_case("md5") => Algorithm::Md5,
            Some(a) if a.eq_ignore_ascii_case("sha-256") => Algorithm::Sha256,
            Some(_) => return None,
        };
        let qop = match get("qop") {
            Some(q) if q.eq_ignore_ascii_case("auth") => Some((get("nc")?, get("cnonce")?)),
            Some(_) => return None,
            None => None,
        };
        Some(Credentials {
            username: get("username")?,
            realm: get("realm")?,
            nonce: get("nonce")?,
            uri: get("uri")?,
            response: get("response")?,
            algorithm,
            qop,
        })
    }

    /// Whether `response` is right for `method` and `password`.
    pub fn verify(&self, method: &str, password: &str) -> bool {
        let a = self.algorithm;
        let ha1 = a.hash(&format!("{}:{}:{password}", self.username, self.realm));
        let ha2 = a.hash(&format!("{method}:{}", self.uri));
        let expected = match &self.qop {
            Some((nc, cnonce)) => a.hash(&format!("{ha1}:{}:{nc}:{cnonce}:auth:{ha2}", self.nonce)),
            None => a.hash(&format!("{ha1}:{}:{ha2}", self.nonce)),
        };
        constant_time_eq(
            expected.as_bytes(),
            self.response.to_ascii_lowercase().as_bytes(),
        )
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A challenge we print is one we parse back, and a client's answer to it verifies.
    #[test]
    fn a_registrar_challenge_round_trips_and_its_answer_verifies() {
        for algorithm in [Algorithm::Sha256, Algorithm::Md5] {
            let c = Challenge::new("switchyard", "n0nce", algorithm, true);
            let parsed = Challenge::parse(&c.header_value()).unwrap();
            assert_eq!(parsed, c);
            let answer = parsed.answer("REGISTER", "sip:127.0.0.1", "alice", "pw", "cn", 1);
            let creds = Credentials::parse(&answer).unwrap();
            assert!(creds.verify("REGISTER", "pw"));
            assert!(!creds.verify("REGISTER", "wrong"));
        }
    }

    /// RFC 2617 §3.5: "Mufasa" / "Circle Of Life".
    #[test]
    fn rfc2617_example() {
        let c = Challenge::parse(
            r#"Digest realm="testrealm@host.com", qop="auth,auth-int", nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093", opaque="5ccc069c403ebaf9f0171e9517f40e41""#,
        )
        .unwrap();
        assert!(c.qop_auth);
        let a = c.answer(
            "GET",
            "/dir/index.html",
            "Mufasa",
            "Circle Of Life",
            "0a4f113b",
            1,
        );
        assert!(
            a.contains(r#"response="6629fae49393a05397450978507c4ef1""#),
            "{a}"
        );
        assert!(a.contains("nc=00000001"));
        assert!(a.contains(r#"opaque="5ccc069c403ebaf9f0171e9517f40e41""#));
    }

    /// RFC 7616 §3.9.1, SHA-256.
    #[test]
    fn rfc7616_sha256_example() {
        let c = Challenge::parse(
            r#"Digest realm="http-auth@example.org", qop="auth, auth-int", algorithm=SHA-256, nonce="7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v", opaque="FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS""#,
        )
        .unwrap();
        assert_eq!(c.algorithm, Algorithm::Sha256);
        let a = c.answer(
            "GET",
            "/dir/index.html",
            "Mufasa",
            "Circle of Life",
            "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ",
            1,
        );
        assert!(
            a.contains(
                r#"response="753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1""#
            ),
            "{a}"
        );
    }

    #[test]
    fn a_registrar_verifies_what_a_client_answers() {
        let c = Challenge::parse(r#"Digest realm="switchyard", nonce="abc", qop="auth""#).unwrap();
        let a = c.answer("REGISTER", "sip:127.0.0.1", "1001", "s3cret", "xyz", 1);
        let creds = Credentials::parse(&a).unwrap();
        assert!(creds.verify("REGISTER", "s3cret"));
        assert!(!creds.verify("REGISTER", "wrong"));
        assert!(!creds.verify("INVITE", "s3cret"));
        let old = Challenge::parse(r#"Digest realm="r", nonce="n""#).unwrap();
        let a = old.answer("INVITE", "sip:x", "u", "p", "c", 1);
        assert!(!a.contains("qop"));
        assert!(Credentials::parse(&a).unwrap().verify("INVITE", "p"));
    }

    #[test]
    fn challenges_we_cannot_answer_are_refused() {
        assert_eq!(
            Challenge::parse("Basic realm=\"x\""),
            Err(ChallengeError::NotDigest)
        );
        assert!(matches!(
            Challenge::parse(r#"Digest realm="r", nonce="n", qop="auth-int""#),
            Err(ChallengeError::Unsupported(_))
        ));
        assert_eq!(
            Challenge::parse(r#"Digest realm="r""#),
            Err(ChallengeError::Missing("nonce"))
        );
        for junk in [
            "",
            "Digest",
            "Digest ,,,",
            "Digest realm=\"unterminated",
            "Digest =x",
        ] {
            let _ = Challenge::parse(junk);
            let _ = Credentials::parse(junk);
        }
    }
}
