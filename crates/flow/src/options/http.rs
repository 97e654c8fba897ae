//! Options of the custom-action family (custom-actions.md §1–4): `custom`, `custom_action`,
//! `output`, `api_request`, `api_action`. The cursor interprets `custom` paths, custom-action
//! scopes and `output` (see [`crate::Cursor`]); the shell performs the rest.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{default_true, optional_target, HttpMethod};
use crate::action::ActionId;

/// `custom`: park the flow until the client picks a path.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CustomOption {
    /// Name (the trace's `type`; matched against `stop_types`).
    pub name: String,
    /// JSON value or string handed to the client (strings inside are templated).
    #[serde(default)]
    pub payload: Option<serde_json::Value>,
    /// Named paths.
    #[serde(default)]
    pub paths: Vec<CustomPath>,
    /// Index into `paths` taken on timeout (and when not stopping).
    #[serde(default)]
    pub default_path: Option<u32>,
    /// Park (default true).
    #[serde(default = "default_true")]
    pub stop: bool,
    /// Parking timeout in ms (default 60000).
    #[serde(default)]
    pub timeout: Option<u64>,
    /// Audio looped while parked.
    #[serde(default)]
    pub hold: Option<HoldOption>,
}

impl CustomOption {
    /// The target of the first path whose `event` equals `event` exactly.
    pub fn path_target(&self, event: &str) -> Option<&ActionId> {
        self.paths
            .iter()
            .find(|p| p.event == event)
            .map(|p| &p.target_id)
    }

    /// The target of `paths[default_path]`; `None` when `default_path` is unset or out of
    /// range (the flow then continues with the next action).
    pub fn default_target(&self) -> Option<&ActionId> {
        let i = usize::try_from(self.default_path?).ok()?;
        self.paths.get(i).map(|p| &p.target_id)
    }
}

/// One path of a `custom` action.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CustomPath {
    /// Event type selecting the path.
    pub event: String,
    /// Where the path leads.
    pub target_id: ActionId,
}

/// Hold audio of a parked `custom` action.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HoldOption {
    /// URLs looped in order.
    pub stream_urls: Vec<String>,
}

/// `custom_action`: run a library sub-flow.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CustomActionOption {
    /// Library name.
    pub name: String,
    /// Exact version, semver range or `latest`.
    #[serde(default)]
    pub version: Option<String>,
    /// Configurable inputs.
    #[serde(default)]
    pub inputs: serde_json::Map<String, serde_json::Value>,
    /// Output path → action id in this flow.
    #[serde(default)]
    pub outputs: BTreeMap<String, ActionId>,
    /// Prefix of exported variables (`<as>.<name>`); when absent or empty the custom
    /// action's `name` is the prefix.
    #[serde(default, rename = "as")]
    pub alias: Option<String>,
}

/// `output`: leave a custom action through a named path.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OutputOption {
    /// Path name.
    pub path: String,
    /// Variables exported to the caller as `<as>.<name>` (values templated in the custom
    /// action's own scope).
    #[serde(default)]
    pub variables: BTreeMap<String, String>,
}

/// `api_request`: call an HTTP API and capture the response.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApiRequestOption {
    /// Method (default GET).
    #[serde(default = "get")]
    pub method: HttpMethod,
    /// URL (`${name}` and `{name}` placeholders).
    pub url: String,
    /// Headers.
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// Query parameters.
    #[serde(default)]
    pub params: BTreeMap<String, String>,
    /// JSON body, or a raw string.
    #[serde(default)]
    pub body: Option<serde_json::Value>,
    /// Response values to store.
    #[serde(default)]
    pub capture: Vec<Capture>,
    /// Timeout in ms (default 20000).
    #[serde(default)]
    pub timeout: Option<u64>,
    /// Stored client certificate name.
    #[serde(default)]
    pub certificate: Option<String>,
    /// Jump here on failure.
    #[serde(default, deserialize_with = "optional_target")]
    pub failure_target_id: Option<ActionId>,
}

fn get() -> HttpMethod {
    HttpMethod::Get
}

/// One capture rule of `api_request`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Capture {
    /// `response.a.b[0]`.
    pub path: String,
    /// Variable receiving the value.
    pub variable: String,
}

/// `api_action`: run a named API action definition.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApiActionOption {
    /// Definition name.
    pub name: String,
    /// Jump here on failure.
    #[serde(default, deserialize_with = "optional_target")]
    pub failure_target_id: Option<ActionId>,
}
