//! Extensions (legs.md §3): the softphones switchyard is the registrar for, and the contacts
//! they registered, with expiry. Passwords are stored as given (digest needs them) and never
//! listed; contacts past their expiry are never returned.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::values::{ms, RowDecoder};
use crate::{Store, StoreError};

/// An extension with its password. `Debug` hides the password.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Extension {
    /// The SIP user part it registers as; unique.
    pub user: String,
    /// A display name.
    pub name: String,
    pub password: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl std::fmt::Debug for Extension {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Extension")
            .field("user", &self.user)
            .field("name", &self.name)
            .field("password", &"***")
            .finish()
    }
}

/// Where an extension can be reached until `expires_at`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Contact {
    pub user: String,
    /// The Contact URI calls to the extension go to.
    pub uri: String,
    pub expires_at: DateTime<Utc>,
    /// Where the REGISTER came from (`udp:192.0.2.7:5060`).
    pub source: String,
    pub user_agent: String,
    /// The registration's Call-ID and CSeq (RFC 3261 §10.3: older CSeqs are ignored).
    pub call_id: String,
    pub cseq: i64,
    pub updated_at: DateTime<Utc>,
}

type ContactRow = (String, String, i64, String, String, String, i64, i64);

const CONTACT_COLUMNS: &str =
    "user_name, uri, expires_at, source, user_agent, call_id, cseq, updated_at";

fn decode_contact(row: ContactRow) -> Result<Contact, StoreError> {
    let (user, uri, expires_at, source, user_agent, call_id, cseq, updated_at) = row;
    let d = RowDecoder {
        table: "extension_contacts",
        id: &uri,
    };
    Ok(Contact {
        expires_at: d.time("expires_at", expires_at)?,
        updated_at: d.time("updated_at", updated_at)?,
        user,
        uri,
        source,
        user_agent,
        call_id,
        cseq,
    })
}

type ExtensionRow = (String, String, String, i64, i64);

fn decode_extension(row: ExtensionRow) -> Result<Extension, StoreError> {
    let (user, name, password, created_at, updated_at) = row;
    let d = RowDecoder {
        table: "extensions",
        id: &user,
    };
    Ok(Extension {
        created_at: d.time("created_at", created_at)?,
        updated_at: d.time("updated_at", updated_at)?,
        user,
        name,
        password,
    })
}

const EXTENSION_COLUMNS: &str = "user_name, name, password, created_at, updated_at";

impl Store {
    /// Inserts `ext`, or replaces the name and password of the stored one (keeping its
    /// `created_at`). Returns it as now stored.
    pub async fn put_extension(&self, ext: &Extension) -> Result<Extension, StoreError> {
        let sql = format!(
            "INSERT INTO extensions ({EXTENSION_COLUMNS}) VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT (user_name) DO UPDATE SET name = excluded.name,
               password = excluded.password, updated_at = excluded.updated_at
             RETURNING {EXTENSION_COLUMNS}"
        );
        let row: ExtensionRow = on_pool!(self, |pool| {
            sqlx::query_as(&sql)
                .bind(&ext.user)
                .bind(&ext.name)
                .bind(&ext.password)
                .bind(ms(ext.created_at))
                .bind(ms(ext.updated_at))
                .fetch_one(pool)
                .await?
        });
        decode_extension(row)
    }

    /// The extension `user` with its password, if stored.
    pub async fn extension(&self, user: &str) -> Result<Option<Extension>, StoreError> {
        let sql = format!("SELECT {EXTENSION_COLUMNS} FROM extensions WHERE user_name = $1");
        let row: Option<ExtensionRow> = on_pool!(self, |pool| {
            sqlx::query_as(&sql).bind(user).fetch_optional(pool).await?
        });
        row.map(decode_extension).transpose()
    }

    /// Every extension, ordered by user (with passwords: callers strip them).
    pub async fn extensions(&self) -> Result<Vec<Extension>, StoreError> {
        let sql = format!("SELECT {EXTENSION_COLUMNS} FROM extensions ORDER BY user_name");
        let rows: Vec<ExtensionRow> =
            on_pool!(self, |pool| sqlx::query_as(&sql).fetch_all(pool).await?);
        rows.into_iter().map(decode_extension).collect()
    }

    /// Deletes the extension and its contacts; true when it existed.
    pub async fn delete_extension(&self, user: &str) -> Result<bool, StoreError> {
        self.delete_contacts(user).await?;
        let done = on_pool!(self, |pool| {
            sqlx::query("DELETE FROM extensions WHERE user_name = $1")
                .bind(user)
                .execute(pool)
                .await?
                .rows_affected()
        });
        Ok(done > 0)
    }

    /// Inserts or refreshes a contact (same user and URI).
    pub async fn put_contact(&self, c: &Contact) -> Result<(), StoreError> {
        let sql = format!(
            "INSERT INTO extension_contacts ({CONTACT_COLUMNS})
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
             ON CONFLICT (user_name, uri) DO UPDATE SET expires_at = excluded.expires_at,
               source = excluded.source, user_agent = excluded.user_agent,
               call_id = excluded.call_id, cseq = excluded.cseq,
               updated_at = excluded.updated_at"
        );
        on_pool!(self, |pool| {
            sqlx::query(&sql)
                .bind(&c.user)
                .bind(&c.uri)
                .bind(ms(c.expires_at))
                .bind(&c.source)
                .bind(&c.user_agent)
                .bind(&c.call_id)
                .bind(c.cseq)
                .bind(ms(c.updated_at))
                .execute(pool)
                .await?
                .rows_affected()
        });
        Ok(())
    }

    /// Removes one contact; true when it was there.
    pub async fn delete_contact(&self, user: &str, uri: &str) -> Result<bool, StoreError> {
        let done = on_pool!(self, |pool| {
            sqlx::query("DELETE FROM extension_contacts WHERE user_name = $1 AND uri = $2")
                .bind(user)
                .bind(uri)
                .execute(pool)
                .await?
                .rows_affected()
        });
        Ok(done > 0)
    }

    /// Removes every contact of `user`; how many there were.
    pub async fn delete_contacts(&self, user: &str) -> Result<u64, StoreError> {
        Ok(on_pool!(self, |pool| {
            sqlx::query("DELETE FROM extension_contacts WHERE user_name = $1")
                .bind(user)
                .execute(pool)
                .await?
                .rows_affected()
        }))
    }

    /// The contacts of `user` that have not expired at `now`, newest first.
    pub async fn contacts(
        &self,
        user: &str,
        now: DateTime<Utc>,
    ) -> Result<Vec<Contact>, StoreError> {
        let sql = format!(
            "SELECT {CONTACT_COLUMNS} FROM extension_contacts
             WHERE user_name = $1 AND expires_at > $2 ORDER BY updated_at DESC, uri"
        );
        let rows: Vec<ContactRow> = on_pool!(self, |pool| {
            sqlx::query_as(&sql)
                .bind(user)
                .bind(ms(now))
                .fetch_all(pool)
                .await?
        });
        rows.into_iter().map(decode_contact).collect()
    }
}
