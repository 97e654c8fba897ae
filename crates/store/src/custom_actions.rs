//! The custom-action library: reusable sub-flows, one row per (name, version).
//!
//! # Lifecycle
//!
//! - A version is created, and may be overwritten any number of times, as a **draft**
//!   ([`Store::put_custom_action_draft`]). Drafts may be deleted
//!   ([`Store::delete_custom_action_draft`]).
//! - [`Store::publish_custom_action`] makes it **published** with a [`Visibility`]. From then on
//!   the version is immutable: its definition cannot be overwritten and it cannot be deleted
//!   ([`StoreError::Immutable`]); a change is a new version. The one change allowed is widening
//!   its visibility from [`Visibility::Organization`] to [`Visibility::Marketplace`] (by
//!   publishing it again with the wider visibility); narrowing is refused, since a marketplace
//!   package may already have been exported.
//!
//! Each check and its write are one SQL statement, so they cannot race with another writer.
//!
//! # What the store does not do
//!
//! It does not validate definitions or versions: `version` is stored as given (the API checks
//! it is semver), and `definition` is any JSON (the API and the runtime validate it, and check
//! that its `name`/`version` fields match the row's). It does not resolve version ranges or
//! `latest`; the runtime does, from [`Store::custom_action_versions`].
//!
//! # Ordering
//!
//! Lists order versions by SemVer 2.0 precedence, lowest first (`1.2.0` < `1.10.0`,
//! `2.0.0-rc.1` < `2.0.0`); strings that are not valid `MAJOR.MINOR.PATCH[-PRE][+BUILD]`
//! versions come before every valid one; ties (build metadata, invalid strings) are broken by
//! the text, so the order is total and stable.

use std::cmp::Ordering;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::values::{ms, RowDecoder};
use crate::{Store, StoreError};

/// One version of a library custom action, as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredCustomAction {
    /// The action's name (`"make_appointment"`); with `version`, the key.
    pub name: String,
    /// Semver text (`"1.2.0"`), stored as given.
    pub version: String,
    pub status: CustomActionStatus,
    /// `None` exactly while [`CustomActionStatus::Draft`].
    pub visibility: Option<Visibility>,
    /// The whole definition:
    /// `{name, version, description, integration, icon, inputs, outputs, actions}`.
    pub definition: Value,
    /// When this version was first stored; kept by every later write.
    pub created_at: DateTime<Utc>,
    /// When this version was last written (draft overwrite, publish, visibility widened).
    pub updated_at: DateTime<Utc>,
    /// When it was first published; `None` exactly while a draft. Kept when the visibility is
    /// widened later.
    pub published_at: Option<DateTime<Utc>>,
}

/// Where a custom-action version is in its lifecycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CustomActionStatus {
    /// Editable and deletable; usable only by flows that pin this exact version.
    Draft,
    /// Immutable; usable through ranges and `latest`.
    Published,
}

impl CustomActionStatus {
    /// `"draft"` or `"published"`, as stored.
    pub fn as_str(self) -> &'static str {
        match self {
            CustomActionStatus::Draft => "draft",
            CustomActionStatus::Published => "published",
        }
    }

    fn parse(s: &str) -> Option<CustomActionStatus> {
        match s {
            "draft" => Some(CustomActionStatus::Draft),
            "published" => Some(CustomActionStatus::Published),
            _ => None,
        }
    }
}

/// Who may use a published custom-action version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Visibility {
    /// Every flow on this server.
    Organization,
    /// Every flow on this server, and exportable as a signed package for other servers.
    Marketplace,
}

impl Visibility {
    /// `"organization"` or `"marketplace"`, as stored.
    pub fn as_str(self) -> &'static str {
        match self {
            Visibility::Organization => "organization",
            Visibility::Marketplace => "marketplace",
        }
    }

    fn parse(s: &str) -> Option<Visibility> {
        match s {
            "organization" => Some(Visibility::Organization),
            "marketplace" => Some(Visibility::Marketplace),
            _ => None,
        }
    }
}

/// One custom action (all its versions) as [`Store::custom_action_names`] lists it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CustomActionSummary {
    pub name: String,
    /// Every stored version, drafts included, lowest first (see the module docs' ordering).
    pub versions: Vec<String>,
    /// The highest version, whatever its status.
    pub newest: StoredCustomAction,
    /// The highest published version (prereleases included), if any: what `latest` names.
    pub latest_published: Option<StoredCustomAction>,
}

impl StoredCustomAction {
    /// A draft about to be written at `now` (both times `now`; `put_custom_action_draft` keeps
    /// an existing `created_at`).
    pub fn draft(
        name: impl Into<String>,
        version: impl Into<String>,
        definition: Value,
        now: DateTime<Utc>,
    ) -> Self {
        StoredCustomAction {
            name: name.into(),
            version: version.into(),
            status: CustomActionStatus::Draft,
            visibility: None,
            definition,
            created_at: now,
            updated_at: now,
            published_at: None,
        }
    }
}

type CustomActionRow = (
    String,
    String,
    String,
    Option<String>,
    String,
    i64,
    i64,
    Option<i64>,
);

const COLUMNS: &str =
    "name, version, status, visibility, definition, created_at, updated_at, published_at";

fn decode(row: CustomActionRow) -> Result<StoredCustomAction, StoreError> {
    let (name, version, status, visibility, definition, created_at, updated_at, published_at) = row;
    let id = format!("{name}@{version}");
    let d = RowDecoder {
        table: "custom_actions",
        id: &id,
    };
    let status = CustomActionStatus::parse(&status)
        .ok_or_else(|| d.corrupt(format!("status: unknown value {status:?}")))?;
    let visibility = visibility
        .map(|v| {
            Visibility::parse(&v)
                .ok_or_else(|| d.corrupt(format!("visibility: unknown value {v:?}")))
        })
        .transpose()?;
    let published_at = d.opt_time("published_at", published_at)?;
    let published = status == CustomActionStatus::Published;
    if visibility.is_some() != published || published_at.is_some() != published {
        return Err(d.corrupt(format!(
            "a {} version must have {} visibility and published_at",
            status.as_str(),
            if published { "both" } else { "neither" }
        )));
    }
    Ok(StoredCustomAction {
        definition: d.json("definition", &definition)?,
        created_at: d.time("created_at", created_at)?,
        updated_at: d.time("updated_at", updated_at)?,
        name,
        version,
        status,
        visibility,
        published_at,
    })
}

impl Store {
    /// Stores `action` as a draft: inserts it, or overwrites the stored **draft** with the same
    /// name and version (its `created_at` is kept; `definition` and `updated_at` are replaced).
    /// The row is always written as a draft: `action`'s `status`, `visibility` and
    /// `published_at` are ignored (publish with [`Store::publish_custom_action`]). Returns the
    /// version as now stored.
    ///
    /// Fails with [`StoreError::Immutable`] when that version is published (nothing is
    /// written).
    pub async fn put_custom_action_draft(
        &self,
        action: &StoredCustomAction,
    ) -> Result<StoredCustomAction, StoreError> {
        let sql = format!(
            "INSERT INTO custom_actions ({COLUMNS})
             VALUES ($1, $2, 'draft', NULL, $3, $4, $5, NULL)
             ON CONFLICT (name, version) DO UPDATE SET definition = excluded.definition,
               updated_at = excluded.updated_at
             WHERE custom_actions.status = 'draft'
             RETURNING {COLUMNS}"
        );
        let row: Option<CustomActionRow> = on_pool!(self, |pool| {
            sqlx::query_as(&sql)
                .bind(&action.name)
                .bind(&action.version)
                .bind(action.definition.to_string())
                .bind(ms(action.created_at))
                .bind(ms(action.updated_at))
                .fetch_optional(pool)
                .await?
        });
        match row {
            Some(row) => decode(row),
            None => Err(immutable(&action.name, &action.version)),
        }
    }

    /// Publishes version `version` of `name` with `visibility` at `now`. Returns the version as
    /// now stored, or `None` when it is not stored.
    ///
    /// - A draft becomes published: `visibility` set, `published_at = updated_at = now`.
    /// - Already published with the same visibility: nothing changes (idempotent; the stored
    ///   version is returned with its original times).
    /// - Published as `organization`, asked for `marketplace`: the visibility is widened,
    ///   `updated_at = now`, `published_at` kept.
    /// - Published as `marketplace`, asked for `organization`: refused with
    ///   [`StoreError::Immutable`] (nothing is written).
    pub async fn publish_custom_action(
        &self,
        name: &str,
        version: &str,
        visibility: Visibility,
        now: DateTime<Utc>,
    ) -> Result<Option<StoredCustomAction>, StoreError> {
        let sql = format!(
            "UPDATE custom_actions SET status = 'published', visibility = $3,
               published_at = COALESCE(published_at, $4),
               updated_at = CASE WHEN status = 'draft' OR visibility <> $3 THEN $4
                                 ELSE updated_at END
             WHERE name = $1 AND version = $2
               AND (status = 'draft' OR visibility = $3
                    OR (visibility = 'organization' AND $3 = 'marketplace'))
             RETURNING {COLUMNS}"
        );
        let row: Option<CustomActionRow> = on_pool!(self, |pool| {
            sqlx::query_as(&sql)
                .bind(name)
                .bind(version)
                .bind(visibility.as_str())
                .bind(ms(now))
                .fetch_optional(pool)
                .await?
        });
        if let Some(row) = row {
            return decode(row).map(Some);
        }
        // Nothing updated: the version is absent, or published as marketplace and asked to
        // narrow. Published versions are never deleted, so this check cannot be stale.
        if self.custom_action_exists(name, version).await? {
            Err(immutable(name, version))
        } else {
            Ok(None)
        }
    }

    /// Version `version` of the custom action `name`, any status, if stored.
    pub async fn custom_action(
        &self,
        name: &str,
        version: &str,
    ) -> Result<Option<StoredCustomAction>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM custom_actions WHERE name = $1 AND version = $2");
        let row: Option<CustomActionRow> = on_pool!(self, |pool| {
            sqlx::query_as(&sql)
                .bind(name)
                .bind(version)
                .fetch_optional(pool)
                .await?
        });
        row.map(decode).transpose()
    }

    /// Every stored version of `name` (drafts and published), lowest version first (SemVer
    /// precedence, see the module docs); empty when there is none.
    pub async fn custom_action_versions(
        &self,
        name: &str,
    ) -> Result<Vec<StoredCustomAction>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM custom_actions WHERE name = $1");
        let rows: Vec<CustomActionRow> = on_pool!(self, |pool| {
            sqlx::query_as(&sql).bind(name).fetch_all(pool).await?
        });
        sorted(rows)
    }

    /// Every stored version of every custom action, ordered by name, then lowest version first.
    pub async fn custom_actions(&self) -> Result<Vec<StoredCustomAction>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM custom_actions");
        let rows: Vec<CustomActionRow> =
            on_pool!(self, |pool| sqlx::query_as(&sql).fetch_all(pool).await?);
        sorted(rows)
    }

    /// One summary per custom action name, ordered by name: its versions, its highest version
    /// and its highest published version.
    pub async fn custom_action_names(&self) -> Result<Vec<CustomActionSummary>, StoreError> {
        let mut summaries: Vec<CustomActionSummary> = Vec::new();
        for action in self.custom_actions().await? {
            match summaries.last_mut() {
                Some(s) if s.name == action.name => {
                    s.versions.push(action.version.clone());
                    if action.status == CustomActionStatus::Published {
                        s.latest_published = Some(action.clone());
                    }
                    s.newest = action;
                }
                _ => summaries.push(CustomActionSummary {
                    name: action.name.clone(),
                    versions: vec![action.version.clone()],
                    latest_published: (action.status == CustomActionStatus::Published)
                        .then(|| action.clone()),
                    newest: action,
                }),
            }
        }
        Ok(summaries)
    }

    /// Deletes a draft version; true when it existed. Fails with [`StoreError::Immutable`]
    /// when that version is published (nothing is deleted).
    pub async fn delete_custom_action_draft(
        &self,
        name: &str,
        version: &str,
    ) -> Result<bool, StoreError> {
        let done = on_pool!(self, |pool| {
            sqlx::query(
                "DELETE FROM custom_actions WHERE name = $1 AND version = $2 AND status = 'draft'",
            )
            .bind(name)
            .bind(version)
            .execute(pool)
            .await?
            .rows_affected()
        });
        if done > 0 {
            Ok(true)
        } else if self.custom_action_exists(name, version).await? {
            Err(immutable(name, version))
        } else {
            Ok(false)
        }
    }

    async fn custom_action_exists(&self, name: &str, version: &str) -> Result<bool, StoreError> {
        let sql = "SELECT COUNT(*) FROM custom_actions WHERE name = $1 AND version = $2";
        let n: i64 = on_pool!(self, |pool| {
            sqlx::query_scalar(sql)
                .bind(name)
                .bind(version)
                .fetch_one(pool)
                .await?
        });
        Ok(n > 0)
    }
}

fn immutable(name: &str, version: &str) -> StoreError {
    StoreError::Immutable {
        name: name.to_string(),
        version: version.to_string(),
    }
}

/// Decodes `rows` and orders them by name, then version precedence.
fn sorted(rows: Vec<CustomActionRow>) -> Result<Vec<StoredCustomAction>, StoreError> {
    let mut actions = rows
        .into_iter()
        .map(decode)
        .collect::<Result<Vec<_>, _>>()?;
    actions.sort_by(|a, b| {
        a.name
            .cmp(&b.name)
            .then_with(|| compare_versions(&a.version, &b.version))
    });
    Ok(actions)
}

/// SemVer 2.0 precedence; invalid versions first; ties broken by the text (module docs).
pub(crate) fn compare_versions(a: &str, b: &str) -> Ordering {
    let precedence = match (SemVer::parse(a), SemVer::parse(b)) {
        (Some(x), Some(y)) => x.cmp_precedence(&y),
        (None, Some(_)) => Ordering::Less,
        (Some(_), None) => Ordering::Greater,
        (None, None) => Ordering::Equal,
    };
    precedence.then_with(|| a.cmp(b))
}

/// A parsed `MAJOR.MINOR.PATCH[-PRE][+BUILD]`; build metadata is dropped (it has no
/// precedence).
struct SemVer<'a> {
    core: [u64; 3],
    /// Empty for a release.
    pre: Vec<&'a str>,
}

impl<'a> SemVer<'a> {
    fn parse(text: &'a str) -> Option<SemVer<'a>> {
        let (text, build) = match text.split_once('+') {
            Some((t, b)) => (t, Some(b)),
            None => (text, None),
        };
        let (core_text, pre_text) = match text.split_once('-') {
            Some((c, p)) => (c, Some(p)),
            None => (text, None),
        };
        let mut core = [0u64; 3];
        let mut parts = core_text.split('.');
        for slot in &mut core {
            *slot = numeric(parts.next()?)?;
        }
        if parts.next().is_some() {
            return None;
        }
        let identifiers_ok = |s: &str| {
            s.split('.').all(|id| {
                !id.is_empty() && id.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'-')
            })
        };
        if !build.is_none_or(identifiers_ok) || !pre_text.is_none_or(identifiers_ok) {
            return None;
        }
        let pre = pre_text.map(|p| p.split('.').collect()).unwrap_or_default();
        Some(SemVer { core, pre })
    }

    fn cmp_precedence(&self, other: &SemVer<'_>) -> Ordering {
        self.core
            .cmp(&other.core)
            .then_with(|| match (self.pre.is_empty(), other.pre.is_empty()) {
                (true, true) => Ordering::Equal,
                (true, false) => Ordering::Greater,
                (false, true) => Ordering::Less,
                (false, false) => {
                    for (x, y) in self.pre.iter().zip(&other.pre) {
                        let order = match (numeric(x), numeric(y)) {
                            (Some(m), Some(n)) => m.cmp(&n),
                            (Some(_), None) => Ordering::Less,
                            (None, Some(_)) => Ordering::Greater,
                            (None, None) => x.cmp(y),
                        };
                        if order != Ordering::Equal {
                            return order;
                        }
                    }
                    self.pre.len().cmp(&other.pre.len())
                }
            })
    }
}

/// A numeric identifier: ASCII digits, no leading zero (except `0` itself), fits in `u64`.
fn numeric(s: &str) -> Option<u64> {
    let valid =
        !s.is_empty() && s.bytes().all(|c| c.is_ascii_digit()) && (s == "0" || !s.starts_with('0'));
    if valid {
        s.parse().ok()
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::compare_versions;

    #[test]
    fn versions_sort_by_semver_precedence_invalid_first() {
        let mut v = vec![
            "1.10.0",
            "2.0.0",
            "1.2.0",
            "2.0.0-rc.1",
            "2.0.0-alpha",
            "2.0.0-alpha.1",
            "2.0.0-alpha.beta",
            "2.0.0-beta.11",
            "2.0.0-beta.2",
            "1.2.0+build.5",
            "not-a-version",
            "1.02.0",
            "0.0.1",
            "1.2",
        ];
        v.sort_by(|a, b| compare_versions(a, b));
        assert_eq!(
            v,
            [
                "1.02.0",
                "1.2",
                "not-a-version",
                "0.0.1",
                "1.2.0",
                "1.2.0+build.5",
                "1.10.0",
                "2.0.0-alpha",
                "2.0.0-alpha.1",
                "2.0.0-alpha.beta",
                "2.0.0-beta.2",
                "2.0.0-beta.11",
                "2.0.0-rc.1",
                "2.0.0",
            ]
        );
    }
}
