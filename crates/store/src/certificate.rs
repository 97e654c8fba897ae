//! TLS certificates (with their private keys) by name, and the metadata the list shows instead
//! of the keys.
//!
//! Metadata (SHA-256 fingerprint, subject, validity) is read from the first `CERTIFICATE` PEM
//! block of `cert_pem` when the certificate is stored, with a small DER reader that only walks
//! the fields it needs. A certificate it cannot read is still stored, with the metadata
//! `None`: validating certificates is the API's job, not the store's.

use base64::Engine as _;
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::values::{ms, opt_ms, RowDecoder};
use crate::{Store, StoreError};

/// A certificate chain and its private key, as stored. `Debug` hides the key.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Certificate {
    /// The name it is referred to by (e.g. from `[sip.tls]`); unique.
    pub name: String,
    /// The certificate, then any intermediates, PEM.
    pub cert_pem: String,
    /// The private key, PEM. Stored as given (plain text in the database).
    pub key_pem: String,
    /// CA certificates to trust for peers, PEM.
    pub ca_pem: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl std::fmt::Debug for Certificate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Certificate")
            .field("name", &self.name)
            .field("cert_pem", &self.cert_pem)
            .field("key_pem", &"***")
            .field("ca_pem", &self.ca_pem)
            .field("created_at", &self.created_at)
            .field("updated_at", &self.updated_at)
            .finish()
    }
}

/// What [`Store::certificates`] lists: never the key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CertificateSummary {
    pub name: String,
    /// SHA-256 of the first certificate's DER, upper-case hex pairs joined by `:` (as
    /// `openssl x509 -fingerprint -sha256` prints it).
    pub fingerprint_sha256: Option<String>,
    /// The first certificate's subject, e.g. `C=GB, O=Example, CN=sip.example.com` (only the
    /// attributes C, ST, L, O, OU, CN; in certificate order).
    pub subject: Option<String>,
    pub not_before: Option<DateTime<Utc>>,
    pub not_after: Option<DateTime<Utc>>,
    /// Whether CA certificates are stored with it.
    pub has_ca: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl Store {
    /// Inserts the certificate, or replaces the stored one with the same name (its
    /// `created_at` is kept). Its metadata is derived from `cert_pem` here.
    pub async fn put_certificate(&self, cert: &Certificate) -> Result<(), StoreError> {
        let meta = Metadata::read(&cert.cert_pem);
        let sql = "INSERT INTO certificates (name, cert_pem, key_pem, ca_pem, fingerprint_sha256,
               subject, not_before, not_after, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
             ON CONFLICT (name) DO UPDATE SET cert_pem = excluded.cert_pem,
               key_pem = excluded.key_pem, ca_pem = excluded.ca_pem,
               fingerprint_sha256 = excluded.fingerprint_sha256, subject = excluded.subject,
               not_before = excluded.not_before, not_after = excluded.not_after,
               updated_at = excluded.updated_at";
        on_pool!(self, |pool| {
            sqlx::query(sql)
                .bind(&cert.name)
                .bind(&cert.cert_pem)
                .bind(&cert.key_pem)
                .bind(&cert.ca_pem)
                .bind(&meta.fingerprint_sha256)
                .bind(&meta.subject)
                .bind(opt_ms(meta.not_before))
                .bind(opt_ms(meta.not_after))
                .bind(ms(cert.created_at))
                .bind(ms(cert.updated_at))
                .execute(pool)
                .await?
                .rows_affected()
        });
        Ok(())
    }

    /// The certificate with its key, if stored. For the TLS listener, not for API responses.
    pub async fn certificate(&self, name: &str) -> Result<Option<Certificate>, StoreError> {
        let sql = "SELECT name, cert_pem, key_pem, ca_pem, created_at, updated_at
             FROM certificates WHERE name = $1";
        let row: Option<(String, String, String, Option<String>, i64, i64)> =
            on_pool!(self, |pool| {
                sqlx::query_as(sql).bind(name).fetch_optional(pool).await?
            });
        let Some((name, cert_pem, key_pem, ca_pem, created_at, updated_at)) = row else {
            return Ok(None);
        };
        let d = RowDecoder {
            table: "certificates",
            id: &name,
        };
        Ok(Some(Certificate {
            created_at: d.time("created_at", created_at)?,
            updated_at: d.time("updated_at", updated_at)?,
            name,
            cert_pem,
            key_pem,
            ca_pem,
        }))
    }

    /// Every certificate's name and metadata, ordered by name. Never reads a key.
    pub async fn certificates(&self) -> Result<Vec<CertificateSummary>, StoreError> {
        type Row = (
            String,
            Option<String>,
            Option<String>,
            Option<i64>,
            Option<i64>,
            bool,
            i64,
            i64,
        );
        let sql = "SELECT name, fingerprint_sha256, subject, not_before, not_after,
               ca_pem IS NOT NULL, created_at, updated_at
             FROM certificates ORDER BY name";
        let rows: Vec<Row> = on_pool!(self, |pool| sqlx::query_as(sql).fetch_all(pool).await?);
        rows.into_iter()
            .map(|row| {
                let (name, fingerprint_sha256, subject, nb, na, has_ca, created, updated) = row;
                let d = RowDecoder {
                    table: "certificates",
                    id: &name,
                };
                Ok(CertificateSummary {
                    not_before: d.opt_time("not_before", nb)?,
                    not_after: d.opt_time("not_after", na)?,
                    created_at: d.time("created_at", created)?,
                    updated_at: d.time("updated_at", updated)?,
                    name,
                    fingerprint_sha256,
                    subject,
                    has_ca,
                })
            })
            .collect()
    }

    /// Deletes the certificate; true when it existed.
    pub async fn delete_certificate(&self, name: &str) -> Result<bool, StoreError> {
        let done = on_pool!(self, |pool| {
            sqlx::query("DELETE FROM certificates WHERE name = $1")
                .bind(name)
                .execute(pool)
                .await?
                .rows_affected()
        });
        Ok(done > 0)
    }
}

/// What is shown of a certificate instead of its key.
#[derive(Debug, Default, PartialEq, Eq)]
struct Metadata {
    fingerprint_sha256: Option<String>,
    subject: Option<String>,
    not_before: Option<DateTime<Utc>>,
    not_after: Option<DateTime<Utc>>,
}

impl Metadata {
    /// Reads the first certificate of `pem`; every field is `None` that could not be read.
    fn read(pem: &str) -> Metadata {
        let Some(der) = first_certificate_der(pem) else {
            return Metadata::default();
        };
        let fingerprint = Sha256::digest(&der)
            .iter()
            .map(|b| format!("{b:02X}"))
            .collect::<Vec<_>>()
            .join(":");
        let fields = tbs_fields(&der);
        Metadata {
            fingerprint_sha256: Some(fingerprint),
            subject: fields.as_ref().and_then(|f| f.subject.clone()),
            not_before: fields.as_ref().and_then(|f| f.not_before),
            not_after: fields.as_ref().and_then(|f| f.not_after),
        }
    }
}

/// The DER bytes of the first `-----BEGIN CERTIFICATE-----` block.
fn first_certificate_der(pem: &str) -> Option<Vec<u8>> {
    const BEGIN: &str = "-----BEGIN CERTIFICATE-----";
    const END: &str = "-----END CERTIFICATE-----";
    let start = pem.find(BEGIN)? + BEGIN.len();
    let len = pem[start..].find(END)?;
    let body: String = pem[start..start + len]
        .chars()
        .filter(|c| !c.is_ascii_whitespace())
        .collect();
    base64::engine::general_purpose::STANDARD.decode(body).ok()
}

struct TbsFields {
    subject: Option<String>,
    not_before: Option<DateTime<Utc>>,
    not_after: Option<DateTime<Utc>>,
}

const SEQUENCE: u8 = 0x30;
const SET: u8 = 0x31;
const OID: u8 = 0x06;
const UTC_TIME: u8 = 0x17;
const GENERALIZED_TIME: u8 = 0x18;
const VERSION: u8 = 0xA0;

/// Walks `Certificate ::= SEQUENCE { tbsCertificate SEQUENCE { [0] version OPTIONAL,
/// serialNumber, signature, issuer, validity SEQUENCE { notBefore, notAfter }, subject, ... } }`
/// (RFC 5280 §4.1).
fn tbs_fields(der: &[u8]) -> Option<TbsFields> {
    let (tag, cert, _) = tlv(der)?;
    if tag != SEQUENCE {
        return None;
    }
    let (tag, tbs, _) = tlv(cert)?;
    if tag != SEQUENCE {
        return None;
    }
    // [0] version (absent in v1 certificates), then serialNumber, signature, issuer.
    let (tag, _, mut rest) = tlv(tbs)?;
    if tag == VERSION {
        rest = tlv(rest)?.2;
    }
    let rest = tlv(rest)?.2;
    let rest = tlv(rest)?.2;
    let (tag, validity, rest) = tlv(rest)?;
    if tag != SEQUENCE {
        return None;
    }
    let (nb_tag, nb, after) = tlv(validity)?;
    let (na_tag, na, _) = tlv(after)?;
    let subject = match tlv(rest) {
        Some((SEQUENCE, name, _)) => render_name(name),
        _ => None,
    };
    Some(TbsFields {
        subject,
        not_before: time(nb_tag, nb),
        not_after: time(na_tag, na),
    })
}

/// One DER tag-length-value: (tag, content, what follows). `None` when truncated or when the
/// length is indefinite or absurd.
fn tlv(input: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, rest) = input.split_first()?;
    let (&first, rest) = rest.split_first()?;
    let (len, rest) = if first < 0x80 {
        (usize::from(first), rest)
    } else {
        let n = usize::from(first & 0x7F);
        if n == 0 || n > 4 || rest.len() < n {
            return None;
        }
        let len = rest[..n]
            .iter()
            .fold(0usize, |acc, &b| (acc << 8) | usize::from(b));
        (len, &rest[n..])
    };
    if rest.len() < len {
        return None;
    }
    Some((tag, &rest[..len], &rest[len..]))
}

/// `C=GB, O=Example, CN=host` from a DER `Name`, keeping the well-known attributes.
fn render_name(mut name: &[u8]) -> Option<String> {
    let mut parts = Vec::new();
    while !name.is_empty() {
        let (tag, mut rdn, rest) = tlv(name)?;
        name = rest;
        if tag != SET {
            return None;
        }
        while !rdn.is_empty() {
            let (_, attribute, rest) = tlv(rdn)?;
            rdn = rest;
            let (tag, oid, value) = tlv(attribute)?;
            if tag != OID {
                return None;
            }
            let (_, value, _) = tlv(value)?;
            let short = match oid {
                [0x55, 0x04, 0x03] => "CN",
                [0x55, 0x04, 0x06] => "C",
                [0x55, 0x04, 0x07] => "L",
                [0x55, 0x04, 0x08] => "ST",
                [0x55, 0x04, 0x0A] => "O",
                [0x55, 0x04, 0x0B] => "OU",
                _ => continue,
            };
            parts.push(format!("{short}={}", String::from_utf8_lossy(value)));
        }
    }
    Some(parts.join(", "))
}

/// A UTCTime (`YYMMDDHHMMSSZ`, years 50–99 are 19xx) or GeneralizedTime (`YYYYMMDDHHMMSSZ`).
fn time(tag: u8, value: &[u8]) -> Option<DateTime<Utc>> {
    let text = std::str::from_utf8(value).ok()?.strip_suffix('Z')?;
    if !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let (year, rest) = match (tag, text.len()) {
        (UTC_TIME, 12) => {
            let yy: i32 = text[..2].parse().ok()?;
            (if yy >= 50 { 1900 + yy } else { 2000 + yy }, &text[2..])
        }
        (GENERALIZED_TIME, 14) => (text[..4].parse().ok()?, &text[4..]),
        _ => return None,
    };
    let field = |i: usize| rest[i..i + 2].parse::<u32>().ok();
    NaiveDate::from_ymd_opt(year, field(0)?, field(2)?)?
        .and_hms_opt(field(4)?, field(6)?, field(8)?)
        .map(|t| t.and_utc())
}

#[cfg(test)]
mod tests {
    use super::*;

    const PEM: &str = include_str!("../tests/fixtures/sip-example.pem");

    #[test]
    fn metadata_matches_what_openssl_prints() {
        let meta = Metadata::read(PEM);
        assert_eq!(
            meta.fingerprint_sha256.as_deref(),
            Some(
                "7E:14:3C:D8:6D:A8:62:4C:F1:D4:ED:7B:98:D7:22:56:\
                 91:A0:85:8F:A4:17:43:51:4D:7F:4E:10:CF:AD:CB:40"
            )
        );
        assert_eq!(
            meta.subject.as_deref(),
            Some("C=GB, O=Switchyard Test, CN=sip.example.test")
        );
        assert_eq!(
            meta.not_before.map(|t| t.to_rfc3339()),
            Some("2026-11-21T16:57:04+00:00".to_string())
        );
        assert_eq!(
            meta.not_after.map(|t| t.to_rfc3339()),
            Some("2036-11-18T16:57:04+00:00".to_string())
        );
    }

    #[test]
    fn unreadable_certificates_have_no_metadata_and_do_not_panic() {
        assert_eq!(Metadata::read(""), Metadata::default());
        assert_eq!(
            Metadata::read("-----BEGIN CERTIFICATE-----\n!!!\n-----END CERTIFICATE-----"),
            Metadata::default()
        );
        // Valid base64 of a truncated certificate: a fingerprint, but no fields.
        let der = first_certificate_der(PEM).unwrap_or_default();
        assert!(tbs_fields(&der).is_some());
        for cut in [0, 1, 2, 5, 40, der.len() / 2, der.len() - 1] {
            assert!(tbs_fields(&der[..cut]).is_none(), "cut at {cut}");
        }
    }

    #[test]
    fn both_der_time_forms_parse() {
        let t = |tag, s: &str| time(tag, s.as_bytes()).map(|t| t.to_rfc3339());
        assert_eq!(
            t(UTC_TIME, "491231235959Z").as_deref(),
            Some("2049-12-31T23:59:59+00:00")
        );
        assert_eq!(
            t(UTC_TIME, "500101000000Z").as_deref(),
            Some("1950-01-01T00:00:00+00:00")
        );
        assert_eq!(
            t(GENERALIZED_TIME, "20510101000000Z").as_deref(),
            Some("2051-01-01T00:00:00+00:00")
        );
        assert_eq!(t(UTC_TIME, "4912312359Z"), None);
        assert_eq!(t(UTC_TIME, "491331235959Z"), None);
        assert_eq!(t(GENERALIZED_TIME, "2051-1-01000000Z"), None);
    }
}
