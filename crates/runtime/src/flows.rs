//! Flows loaded from `flows.dir`, validated against what this build can execute.

use flow::{Capabilities, Flow};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

/// What this build's shell can do beyond the call core's own work.
pub const FEATURES: call::ShellFeatures = call::ShellFeatures { dial: true };

/// The capabilities flows are validated against: what the call core executes with this shell.
pub fn capabilities() -> Capabilities {
    call::capabilities(FEATURES)
}

/// A problem found in a flow file: `FILE: /pointer: message`.
#[derive(Debug, Clone, PartialEq)]
pub struct FileProblem {
    pub file: PathBuf,
    pub pointer: String,
    pub message: String,
    pub warning: bool,
}

impl std::fmt::Display for FileProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}: {}: {}",
            self.file.display(),
            self.pointer,
            self.message
        )
    }
}

/// The live set of flows by id.
#[derive(Debug, Default)]
pub struct FlowRegistry {
    flows: RwLock<HashMap<String, Arc<Flow>>>,
    /// The JSON documents loaded from files (with assigned ids), for import into the store.
    documents: RwLock<Vec<(String, serde_json::Value)>>,
}

impl FlowRegistry {
    pub fn get(&self, id: &str) -> Option<Arc<Flow>> {
        self.flows.read().ok()?.get(id).cloned()
    }

    pub fn insert(&self, id: String, flow: Arc<Flow>) {
        if let Ok(mut f) = self.flows.write() {
            f.insert(id, flow);
        }
    }

    pub fn remove(&self, id: &str) -> bool {
        self.flows
            .write()
            .map(|mut f| f.remove(id).is_some())
            .unwrap_or(false)
    }

    /// Ids of the flows loaded.
    pub fn ids(&self) -> Vec<String> {
        self.flows
            .read()
            .map(|f| f.keys().cloned().collect())
            .unwrap_or_default()
    }

    /// The documents read by [`FlowRegistry::load_dir`], ids assigned.
    pub fn documents(&self) -> Vec<(String, serde_json::Value)> {
        self.documents.read().map(|d| d.clone()).unwrap_or_default()
    }

    pub fn len(&self) -> usize {
        self.flows.read().map(|f| f.len()).unwrap_or(0)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Load every `*.json` in `dir`. The id is the file's `"id"` or its stem. Returns the
    /// warnings; any error makes the whole load fail with every problem listed.
    pub fn load_dir(&self, dir: &Path) -> Result<Vec<FileProblem>, Vec<FileProblem>> {
        let mut problems = Vec::new();
        let mut loaded = Vec::new();
        let entries = match std::fs::read_dir(dir) {
            Ok(e) => e,
            Err(e) => {
                return Err(vec![FileProblem {
                    file: dir.to_path_buf(),
                    pointer: String::new(),
                    message: format!("cannot read the flows directory: {e}"),
                    warning: false,
                }])
            }
        };
        let mut paths: Vec<PathBuf> = entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "json"))
            .collect();
        paths.sort();
        for path in paths {
            match load_file(&path) {
                Ok((id, flow, warnings)) => {
                    problems.extend(warnings);
                    loaded.push((id, flow));
                }
                Err(errs) => problems.extend(errs),
            }
        }
        if problems.iter().any(|p| !p.warning) {
            return Err(problems);
        }
        for (id, flow) in loaded {
            let doc = serde_json::to_value(&flow).unwrap_or_default();
            if let Ok(mut d) = self.documents.write() {
                d.push((id.clone(), doc));
            }
            self.insert(id, Arc::new(flow));
        }
        Ok(problems)
    }
}

/// Read and validate one flow file against what this build executes.
pub fn load_file(path: &Path) -> Result<(String, Flow, Vec<FileProblem>), Vec<FileProblem>> {
    load_file_with(path, &capabilities())
}

/// Read and validate one flow file against `caps`.
pub fn load_file_with(
    path: &Path,
    caps: &Capabilities,
) -> Result<(String, Flow, Vec<FileProblem>), Vec<FileProblem>> {
    let problem = |pointer: &str, message: String, warning: bool| FileProblem {
        file: path.to_path_buf(),
        pointer: pointer.to_string(),
        message,
        warning,
    };
    let text = std::fs::read_to_string(path)
        .map_err(|e| vec![problem("", format!("cannot read the file: {e}"), false)])?;
    let value: serde_json::Value = serde_json::from_str(&text)
        .map_err(|e| vec![problem("", format!("not valid JSON: {e}"), false)])?;
    let stem = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let format_problems = unsupported_recording_formats(&value);
    if !format_problems.is_empty() {
        return Err(format_problems
            .into_iter()
            .map(|(pointer, message)| problem(&pointer, message, false))
            .collect());
    }
    match flow::load(&value, caps) {
        Ok((flow, warnings)) => {
            let id = flow
                .id()
                .filter(|i| !i.is_empty())
                .map_or(stem, str::to_string);
            let warnings = warnings
                .into_iter()
                .map(|p| problem(&p.pointer, p.message, true))
                .collect();
            Ok((id, flow, warnings))
        }
        Err(errors) => Err(errors
            .into_iter()
            .map(|p| {
                let warning = p.severity == flow::Severity::Warning;
                problem(&p.pointer, p.message, warning)
            })
            .collect()),
    }
}

/// `recording_start` with a format this build cannot encode (only WAV is built in): the
/// pointer and message for each, so such a flow is refused when it is loaded.
pub fn unsupported_recording_formats(doc: &serde_json::Value) -> Vec<(String, String)> {
    let actions = doc
        .get("actions")
        .and_then(|a| a.as_array())
        .or_else(|| doc.as_array());
    let prefix = if doc.get("actions").is_some() {
        "/actions"
    } else {
        ""
    };
    let mut out = Vec::new();
    for (i, a) in actions.into_iter().flatten().enumerate() {
        if a.get("type").and_then(|t| t.as_str()) != Some("recording_start") {
            continue;
        }
        if let Some(f) = a.pointer("/option/format").and_then(|f| f.as_str()) {
            if f == "mp3" || f == "ogg" {
                out.push((
                    format!("{prefix}/{i}/option/format"),
                    format!("recording format `{f}` is not supported by this build (no encoder); use `wav`"),
                ));
            }
        }
    }
    out
}
