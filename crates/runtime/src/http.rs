//! The one HTTP engine behind `webhook_send`, `fetch`, `play` URLs and (later) `api_request`,
//! API actions and event webhooks: a pooled reqwest client, the private-address guard on
//! every resolved address and redirect, per-request timeouts, retries with backoff for 5xx and
//! network errors, HMAC signing, and a 1 MiB cap on response bodies.

use crate::guard::Guard;
pub use crate::guard::GuardError;
use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use sha2::Sha256;
use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Largest response body read (bytes); larger ones fail the request.
pub const MAX_BODY: usize = 1024 * 1024;
/// The signature header: `sha256=<hex HMAC-SHA256 of the body>`.
pub const SIGNATURE_HEADER: &str = "X-Switchyard-Signature";

/// Why an outbound request failed. Each fails one action of one call, never more.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum HttpError {
    #[error("invalid URL {0:?}")]
    BadUrl(String),
    #[error("refused: {0}")]
    Refused(String),
    #[error("timed out after {0} ms")]
    Timeout(u64),
    #[error("network error: {0}")]
    Network(String),
    #[error("response body larger than {0} bytes")]
    TooLarge(usize),
}

/// One request to send.
#[derive(Debug, Clone)]
pub struct Outbound {
    pub method: reqwest::Method,
    pub url: String,
    pub headers: Vec<(String, String)>,
    pub body: Option<Vec<u8>>,
    /// Tries in all (1 = no retry). Retries happen on 5xx and network errors.
    pub tries: u32,
    /// Sign the body with the configured secret.
    pub sign: bool,
    pub timeout: Duration,
    /// Largest response body accepted (use [`MAX_BODY`] for HTTP actions).
    pub max_body: usize,
}

/// A response that arrived (any status).
#[derive(Debug, Clone)]
pub struct Response {
    pub status: u16,
    pub content_type: Option<String>,
    pub body: Vec<u8>,
}

/// Shared by every call.
#[derive(Debug, Clone)]
pub struct HttpEngine {
    client: reqwest::Client,
    guard: Arc<Guard>,
    signing_secret: Option<String>,
    /// Default per-request timeout (`http.timeout_ms`).
    pub timeout: Duration,
    /// Clients presenting a stored client certificate, by certificate name: (the certificate's
    /// `updated_at` when the client was built, the client). Shared by every clone.
    identity_clients: Arc<Mutex<IdentityClients>>,
}

/// Certificate name → (its `updated_at` when the client was built, the client).
type IdentityClients = HashMap<String, (DateTime<Utc>, reqwest::Client)>;

struct GuardedResolver {
    guard: Arc<Guard>,
}

impl reqwest::dns::Resolve for GuardedResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let guard = self.guard.clone();
        let host = name.as_str().to_string();
        Box::pin(async move {
            let addrs: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            if addrs.is_empty() {
                return Err(format!("{host} has no address").into());
            }
            // Every address must pass: a name resolving to one public and one private address
            // must not be a way around the guard.
            for a in &addrs {
                guard
                    .check(a.ip())
                    .map_err(|e| -> Box<dyn std::error::Error + Send + Sync> { e.into() })?;
            }
            let addrs: reqwest::dns::Addrs = Box::new(addrs.into_iter());
            Ok(addrs)
        })
    }
}

/// The IP of an IP-literal URL host (reqwest does not resolve those through the resolver).
fn literal_ip(url: &reqwest::Url) -> Option<IpAddr> {
    let host = url.host_str()?;
    host.trim_start_matches('[')
        .trim_end_matches(']')
        .parse()
        .ok()
}

/// A client builder with the guard on every resolved address and on every redirect. Every
/// client of the engine starts here, so none can bypass the guard.
fn guarded_builder(guard: &Arc<Guard>) -> reqwest::ClientBuilder {
    let redirect_guard = guard.clone();
    reqwest::Client::builder()
        .user_agent(concat!("switchyard/", env!("CARGO_PKG_VERSION")))
        .dns_resolver(Arc::new(GuardedResolver {
            guard: guard.clone(),
        }))
        .redirect(reqwest::redirect::Policy::custom(move |attempt| {
            if attempt.previous().len() >= 5 {
                return attempt.error("more than 5 redirects");
            }
            match literal_ip(attempt.url()).map(|ip| redirect_guard.check(ip)) {
                Some(Err(e)) => attempt.error(e),
                _ => attempt.follow(),
            }
        }))
        .pool_idle_timeout(Duration::from_secs(60))
}

/// Why an HTTP engine or client could not be built.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SetupError {
    /// `http.allow_private` has an entry that is not an address: fix the configuration.
    #[error(transparent)]
    Guard(#[from] GuardError),
    /// A stored client certificate cannot be used: upload a valid one.
    #[error("{0}")]
    Certificate(String),
    /// The TLS stack refused to build a client (no usable roots, for instance).
    #[error("cannot build the HTTP client: {0}")]
    Client(String),
}

/// A guarded client presenting `cert` as its TLS client certificate.
fn identity_client(
    guard: &Arc<Guard>,
    cert: &store::Certificate,
) -> Result<reqwest::Client, SetupError> {
    let mut pem = cert.cert_pem.trim_end().to_string();
    pem.push('\n');
    pem.push_str(&cert.key_pem);
    let identity = reqwest::Identity::from_pem(pem.as_bytes()).map_err(|e| {
        SetupError::Certificate(format!("client certificate or key: {}", error_chain(&e)))
    })?;
    let mut builder = guarded_builder(guard).identity(identity);
    if let Some(ca) = cert.ca_pem.as_deref().filter(|ca| !ca.trim().is_empty()) {
        let roots = reqwest::Certificate::from_pem_bundle(ca.as_bytes()).map_err(|e| {
            SetupError::Certificate(format!("CA certificates: {}", error_chain(&e)))
        })?;
        if roots.is_empty() {
            return Err(SetupError::Certificate(
                "CA certificates: no certificate in the PEM".into(),
            ));
        }
        builder = builder.tls_built_in_root_certs(false);
        for root in roots {
            builder = builder.add_root_certificate(root);
        }
    }
    builder
        .build()
        .map_err(|e| SetupError::Client(error_chain(&e)))
}

impl Outbound {
    /// A GET with the engine's defaults: one try, no signature, 1 MiB cap.
    pub fn get(url: &str, timeout: Duration) -> Outbound {
        Outbound {
            method: reqwest::Method::GET,
            url: url.to_string(),
            headers: Vec::new(),
            body: None,
            tries: 1,
            sign: false,
            timeout,
            max_body: MAX_BODY,
        }
    }
}

impl HttpEngine {
    pub fn new(
        allow_private: &[String],
        timeout: Duration,
        signing_secret: Option<String>,
    ) -> Result<HttpEngine, SetupError> {
        let guard = Arc::new(Guard::new(allow_private)?);
        let client = guarded_builder(&guard)
            .build()
            .map_err(|e| SetupError::Client(error_chain(&e)))?;
        Ok(HttpEngine {
            client,
            guard,
            signing_secret: signing_secret.filter(|s| !s.is_empty()),
            timeout,
            identity_clients: Arc::default(),
        })
    }

    /// This engine, but presenting `cert` (its `cert_pem` chain and `key_pem`) as the TLS
    /// client certificate, and trusting only `cert.ca_pem` for servers when a CA is stored
    /// (the built-in roots otherwise). Same guard (resolver, redirect policy, literal-IP
    /// check), signing secret and default timeout. The client is built once per certificate
    /// name and rebuilt when the certificate's `updated_at` changes.
    pub fn with_certificate(&self, cert: &store::Certificate) -> Result<HttpEngine, SetupError> {
        let mut cache = self
            .identity_clients
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let client = match cache.get(&cert.name) {
            Some((version, client)) if *version == cert.updated_at => client.clone(),
            _ => {
                let client = identity_client(&self.guard, cert)?;
                cache.insert(cert.name.clone(), (cert.updated_at, client.clone()));
                client
            }
        };
        Ok(HttpEngine {
            client,
            ..self.clone()
        })
    }

    /// `sha256=<hex>` of `body` under the configured secret, if one is configured.
    pub fn signature(&self, body: &[u8]) -> Option<String> {
        let secret = self.signing_secret.as_ref()?;
        let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).ok()?;
        mac.update(body);
        let digest = mac.finalize().into_bytes();
        Some(format!("sha256={}", hex(&digest)))
    }

    /// Send `req`, retrying 5xx and network errors with backoff (200 ms, 400 ms, ...).
    pub async fn send(&self, req: &Outbound) -> Result<Response, HttpError> {
        let url = reqwest::Url::parse(&req.url).map_err(|_| HttpError::BadUrl(req.url.clone()))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(HttpError::BadUrl(req.url.clone()));
        }
        if let Some(ip) = literal_ip(&url) {
            self.guard
                .check(ip)
                .map_err(|e| HttpError::Refused(e.to_string()))?;
        }
        let tries = req.tries.max(1);
        let mut last = HttpError::Network("not sent".into());
        for attempt in 0..tries {
            if attempt > 0 {
                tokio::time::sleep(Duration::from_millis(200 << (attempt - 1).min(4))).await;
            }
            match self.send_once(&url, req).await {
                Ok(r) if r.status >= 500 && attempt + 1 < tries => {
                    last = HttpError::Network(format!("HTTP {}", r.status));
                }
                Ok(r) => return Ok(r),
                Err(e @ HttpError::Network(_)) => last = e,
                Err(e) => return Err(e),
            }
        }
        Err(last)
    }

    async fn send_once(&self, url: &reqwest::Url, req: &Outbound) -> Result<Response, HttpError> {
        let mut b = self
            .client
            .request(req.method.clone(), url.clone())
            .timeout(req.timeout);
        for (k, v) in &req.headers {
            b = b.header(k, v);
        }
        if let Some(body) = &req.body {
            if req.sign {
                if let Some(sig) = self.signature(body) {
                    b = b.header(SIGNATURE_HEADER, sig);
                }
            }
            b = b.body(body.clone());
        }
        let timeout_ms = req.timeout.as_millis() as u64;
        let classify = |e: reqwest::Error| {
            if e.is_timeout() {
                return HttpError::Timeout(timeout_ms);
            }
            // Guard refusals surface as connect errors carrying our message.
            let text = error_chain(&e);
            if text.contains("allow_private") || text.contains("redirects") {
                HttpError::Refused(text)
            } else {
                HttpError::Network(text)
            }
        };
        let mut resp = b.send().await.map_err(classify)?;
        let status = resp.status().as_u16();
        let content_type = resp
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        if resp
            .content_length()
            .is_some_and(|l| l as usize > req.max_body)
        {
            return Err(HttpError::TooLarge(req.max_body));
        }
        let mut body = Vec::new();
        while let Some(chunk) = resp.chunk().await.map_err(classify)? {
            if body.len() + chunk.len() > req.max_body {
                return Err(HttpError::TooLarge(req.max_body));
            }
            body.extend_from_slice(&chunk);
        }
        Ok(Response {
            status,
            content_type,
            body,
        })
    }
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        s.push_str(": ");
        s.push_str(&c.to_string());
        cur = c.source();
    }
    s
}

fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(char::from(DIGITS[usize::from(b >> 4)]));
        s.push(char::from(DIGITS[usize::from(b & 0x0f)]));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signature_is_hmac_sha256_hex() {
        let e = HttpEngine::new(&[], Duration::from_secs(1), Some("key".into())).unwrap();
        // HMAC-SHA256("key", "The quick brown fox jumps over the lazy dog"), a well-known vector.
        assert_eq!(
            e.signature(b"The quick brown fox jumps over the lazy dog")
                .unwrap(),
            "sha256=f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8"
        );
        let unsigned = HttpEngine::new(&[], Duration::from_secs(1), Some(String::new())).unwrap();
        assert_eq!(unsigned.signature(b"x"), None);
    }

    #[tokio::test]
    async fn loopback_literal_is_refused_without_allow_list() {
        let e = HttpEngine::new(&[], Duration::from_secs(1), None).unwrap();
        let r = e
            .send(&Outbound {
                method: reqwest::Method::GET,
                url: "http://127.0.0.1:1/x".into(),
                headers: vec![],
                body: None,
                tries: 1,
                sign: false,
                timeout: Duration::from_secs(1),
                max_body: MAX_BODY,
            })
            .await;
        assert!(matches!(r, Err(HttpError::Refused(_))), "{r:?}");
    }

    #[tokio::test]
    async fn localhost_name_is_refused_after_resolution() {
        let e = HttpEngine::new(&[], Duration::from_secs(1), None).unwrap();
        let r = e
            .send(&Outbound {
                method: reqwest::Method::GET,
                url: "http://localhost:1/x".into(),
                headers: vec![],
                body: None,
                tries: 1,
                sign: false,
                timeout: Duration::from_secs(1),
                max_body: MAX_BODY,
            })
            .await;
        assert!(matches!(r, Err(HttpError::Refused(_))), "{r:?}");
    }
}
