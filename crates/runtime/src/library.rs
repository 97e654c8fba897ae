//! The custom-action library (custom-actions.md §2): versioned, reusable sub-flows with inputs
//! and named outputs.
//!
//! Definitions live in the store (drafts and published versions) and may also be loaded from
//! `config/custom-actions/*.json` (published, organization visibility) so a library can live in
//! git. A `custom_action` step resolves its version when it starts: an exact version (drafts
//! too, for testing), a semver range (`^1`, `~1.2`, `>=1.0, <2`) or `latest`, over published
//! versions; the invocation keeps the version it resolved.

use serde::Deserialize;
use serde_json::Value;
use std::collections::BTreeMap;
use std::sync::RwLock;

/// Deepest nesting of custom actions inside custom actions.
pub const MAX_DEPTH: usize = 8;

/// One input of a definition.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Input {
    pub name: String,
    #[serde(rename = "type", default = "string_type")]
    pub kind: String,
    #[serde(default)]
    pub required: bool,
    #[serde(default)]
    pub configurable: bool,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub default: Option<Value>,
}

fn string_type() -> String {
    "string".into()
}

/// A definition as authored.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Definition {
    pub name: String,
    pub version: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub integration: String,
    #[serde(default)]
    pub icon: String,
    #[serde(default)]
    pub inputs: Vec<Input>,
    pub outputs: Vec<String>,
    pub actions: Value,
}

/// A problem with a definition or with a flow's use of one: pointer and sentence.
pub type Problem = (String, String);

/// One version known to the library.
#[derive(Debug, Clone)]
pub struct Entry {
    pub version: semver::Version,
    pub published: bool,
    /// Loaded from `custom_actions.dir` rather than the store.
    pub from_file: bool,
    pub definition: Definition,
    pub document: Value,
}

/// The in-memory index of definitions, refreshed from the store on every change.
#[derive(Debug, Default)]
pub struct Library {
    entries: RwLock<BTreeMap<String, Vec<Entry>>>,
}

impl Definition {
    /// Parse and check a definition document (everything but nesting, which needs the library).
    pub fn parse(doc: &Value) -> Result<(Definition, Vec<Problem>), Vec<Problem>> {
        let d: Definition = serde_json::from_value(doc.clone()).map_err(|e| {
            vec![(
                String::new(),
                format!("not a custom action definition: {e}"),
            )]
        })?;
        let mut errors = Vec::new();
        let mut warnings = Vec::new();
        if d.name.is_empty()
            || d.name.len() > 64
            || !d
                .name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-')
        {
            errors.push((
                "/name".into(),
                "name must be 1-64 characters of a-z, 0-9, _ and -".into(),
            ));
        }
        if semver::Version::parse(&d.version).is_err() {
            errors.push((
                "/version".into(),
                format!("version {:?} is not semver (e.g. 1.2.0)", d.version),
            ));
        }
        if d.outputs.is_empty() {
            errors.push(("/outputs".into(), "at least one output is needed".into()));
        }
        for (i, o) in d.outputs.iter().enumerate() {
            if d.outputs[..i].contains(o) {
                errors.push((
                    format!("/outputs/{i}"),
                    format!("output {o:?} is declared twice"),
                ));
            }
        }
        for (i, input) in d.inputs.iter().enumerate() {
            if d.inputs[..i].iter().any(|x| x.name == input.name) {
                errors.push((
                    format!("/inputs/{i}/name"),
                    format!("input {:?} is declared twice", input.name),
                ));
            }
            if input.required && input.default.is_none() && !input.configurable {
                errors.push((
                    format!("/inputs/{i}"),
                    "a required input without a default must be configurable".into(),
                ));
            }
        }
        // The inner actions: the whole language, checked like a flow.
        let actions_doc = serde_json::json!({"actions": d.actions});
        match flow::load(&actions_doc, &crate::flows::capabilities()) {
            Ok((_, w)) => warnings.extend(w.into_iter().map(|p| (p.pointer, p.message))),
            Err(ps) => errors.extend(
                ps.into_iter()
                    .filter(|p| p.is_error())
                    .map(|p| (p.pointer, p.message)),
            ),
        }
        // Every `output.path` is declared; every declared output is reachable (warning).
        let mut used = Vec::new();
        for (i, a) in d.actions.as_array().into_iter().flatten().enumerate() {
            if a.get("type").and_then(Value::as_str) == Some("output") {
                let path = a
                    .pointer("/option/path")
                    .and_then(Value::as_str)
                    .unwrap_or("");
                if !d.outputs.iter().any(|o| o == path) {
                    errors.push((
                        format!("/actions/{i}/option/path"),
                        format!("output path {path:?} is not one of the declared outputs"),
                    ));
                }
                used.push(path.to_string());
            }
        }
        for (i, o) in d.outputs.iter().enumerate() {
            // Running off the end leaves through the first output.
            if i > 0 && !used.contains(o) {
                warnings.push((
                    format!("/outputs/{i}"),
                    format!("output {o:?} is never reached"),
                ));
            }
        }
        if errors.is_empty() {
            Ok((d, warnings))
        } else {
            Err(errors)
        }
    }

    /// Names of custom actions this one uses (with their version requirements).
    pub fn uses(&self) -> Vec<(String, Option<String>)> {
        let mut out = Vec::new();
        collect_uses(&self.actions, &mut out);
        out
    }
}

fn collect_uses(v: &Value, out: &mut Vec<(String, Option<String>)>) {
    match v {
        Value::Array(a) => a.iter().for_each(|x| collect_uses(x, out)),
        Value::Object(o) => {
            if o.get("type").and_then(Value::as_str) == Some("custom_action") {
                if let Some(name) = o
                    .get("option")
                    .and_then(|p| p.get("name"))
                    .and_then(Value::as_str)
                {
                    let version = o
                        .get("option")
                        .and_then(|p| p.get("version"))
                        .and_then(Value::as_str)
                        .map(str::to_string);
                    out.push((name.to_string(), version));
                }
            }
            o.values().for_each(|x| collect_uses(x, out));
        }
        _ => {}
    }
}

/// Does `version` satisfy `req` (exact, a semver range, or `latest`/none)?
fn matches(req: Option<&str>, e: &Entry) -> bool {
    match req.map(str::trim) {
        None | Some("") | Some("latest") => e.published,
        Some(r) => {
            if let Ok(exact) = semver::Version::parse(r) {
                return exact == e.version; // an exact pin may use a draft
            }
            e.published && semver::VersionReq::parse(r).is_ok_and(|q| q.matches(&e.version))
        }
    }
}

impl Library {
    /// Every known version as `(name, version, published, from_file)`, by name then version.
    pub fn versions(&self) -> Vec<(String, String, bool, bool)> {
        let Ok(m) = self.entries.read() else {
            return Vec::new();
        };
        m.iter()
            .flat_map(|(name, v)| {
                v.iter().map(move |e| {
                    (
                        name.clone(),
                        e.version.to_string(),
                        e.published,
                        e.from_file,
                    )
                })
            })
            .collect()
    }

    /// Replace the whole index (from the store and files).
    pub fn replace(&self, entries: Vec<Entry>) {
        let mut map: BTreeMap<String, Vec<Entry>> = BTreeMap::new();
        for e in entries {
            map.entry(e.definition.name.clone()).or_default().push(e);
        }
        for v in map.values_mut() {
            v.sort_by(|a, b| a.version.cmp(&b.version));
        }
        if let Ok(mut m) = self.entries.write() {
            *m = map;
        }
    }

    /// The newest version of `name` matching `req`.
    pub fn resolve(&self, name: &str, req: Option<&str>) -> Option<Entry> {
        let m = self.entries.read().ok()?;
        m.get(name)?.iter().rev().find(|e| matches(req, e)).cloned()
    }

    /// Check a flow's `custom_action` steps: known action, resolvable version, only configurable
    /// inputs set, required inputs present, output mappings name declared outputs.
    pub fn check_uses(&self, doc: &Value) -> Vec<Problem> {
        let mut problems = Vec::new();
        let actions = doc.get("actions").and_then(Value::as_array);
        for (i, a) in actions.into_iter().flatten().enumerate() {
            if a.get("type").and_then(Value::as_str) != Some("custom_action") {
                continue;
            }
            let at = |field: &str| format!("/actions/{i}/option{field}");
            let name = a
                .pointer("/option/name")
                .and_then(Value::as_str)
                .unwrap_or("");
            let req = a.pointer("/option/version").and_then(Value::as_str);
            let Some(e) = self.resolve(name, req) else {
                problems.push((
                    at("/name"),
                    format!(
                        "no published custom action {name:?} matches version {:?}",
                        req.unwrap_or("latest")
                    ),
                ));
                continue;
            };
            let given = a.pointer("/option/inputs").and_then(Value::as_object);
            for (k, _) in given.into_iter().flatten() {
                match e.definition.inputs.iter().find(|x| &x.name == k) {
                    None => problems.push((
                        at(&format!("/inputs/{k}")),
                        format!("{name} has no input {k:?}"),
                    )),
                    Some(x) if !x.configurable => problems.push((
                        at(&format!("/inputs/{k}")),
                        format!(
                            "input {k:?} of {name} is fixed by its publisher (not configurable)"
                        ),
                    )),
                    _ => {}
                }
            }
            for x in &e.definition.inputs {
                if x.required
                    && x.default.is_none()
                    && !given.is_some_and(|g| g.contains_key(&x.name))
                {
                    problems.push((
                        at("/inputs"),
                        format!("required input {:?} of {name} is missing", x.name),
                    ));
                }
            }
            let mapped = a.pointer("/option/outputs").and_then(Value::as_object);
            for (k, _) in mapped.into_iter().flatten() {
                if !e.definition.outputs.contains(k) {
                    problems.push((
                        at(&format!("/outputs/{k}")),
                        format!("{name} has no output {k:?}"),
                    ));
                }
            }
        }
        problems
    }

    /// Whether publishing `def` would create a cycle or exceed the nesting depth.
    pub fn nesting_problem(&self, def: &Definition) -> Option<String> {
        fn walk(lib: &Library, def: &Definition, path: &mut Vec<String>) -> Option<String> {
            if path.len() > MAX_DEPTH {
                return Some(format!(
                    "custom actions nest more than {MAX_DEPTH} deep: {}",
                    path.join(" -> ")
                ));
            }
            for (name, req) in def.uses() {
                if path.contains(&name) {
                    return Some(format!("cycle: {} -> {name}", path.join(" -> ")));
                }
                if let Some(e) = lib.resolve(&name, req.as_deref()) {
                    path.push(name);
                    if let Some(p) = walk(lib, &e.definition, path) {
                        return Some(p);
                    }
                    path.pop();
                }
            }
            None
        }
        walk(self, def, &mut vec![def.name.clone()])
    }

    /// The inputs a step gets: defaults, overridden by configurable values from the step.
    pub fn inputs_for(
        def: &Definition,
        given: &serde_json::Map<String, Value>,
    ) -> BTreeMap<String, String> {
        let text = |v: &Value| match v {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        let mut out = BTreeMap::new();
        for x in &def.inputs {
            let v = given
                .get(&x.name)
                .filter(|_| x.configurable)
                .or(x.default.as_ref());
            if let Some(v) = v {
                out.insert(x.name.clone(), text(v));
            }
        }
        out
    }
}

/// `sha256=<hex>` HMAC of a package's canonical JSON under `key` (plain SHA-256 when the key is
/// empty: an integrity check only). Two servers sharing `custom_actions.package_key` can verify
/// each other's packages.
pub fn package_signature(key: &str, package: &Value) -> String {
    use hmac::{Hmac, Mac};
    use sha2::{Digest, Sha256};
    let canonical = serde_json::to_string(package).unwrap_or_default();
    let bytes: Vec<u8> = if key.is_empty() {
        Sha256::digest(canonical.as_bytes()).to_vec()
    } else {
        match Hmac::<Sha256>::new_from_slice(key.as_bytes()) {
            Ok(mut mac) => {
                mac.update(canonical.as_bytes());
                mac.finalize().into_bytes().to_vec()
            }
            Err(_) => Vec::new(),
        }
    };
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!("sha256={hex}")
}

/// Definitions from `dir/*.json` (published, organization); problems per file.
pub fn load_dir(dir: &std::path::Path) -> (Vec<Entry>, Vec<String>) {
    let mut entries = Vec::new();
    let mut problems = Vec::new();
    let Ok(rd) = std::fs::read_dir(dir) else {
        return (entries, problems);
    };
    for path in rd.filter_map(|e| e.ok().map(|e| e.path())) {
        if path.extension().is_none_or(|x| x != "json") {
            continue;
        }
        let doc = match std::fs::read_to_string(&path)
            .map_err(|e| e.to_string())
            .and_then(|t| serde_json::from_str::<Value>(&t).map_err(|e| e.to_string()))
        {
            Ok(d) => d,
            Err(e) => {
                problems.push(format!("{}: {e}", path.display()));
                continue;
            }
        };
        match Definition::parse(&doc) {
            Ok((d, _)) => {
                if let Ok(version) = semver::Version::parse(&d.version) {
                    entries.push(Entry {
                        version,
                        published: true,
                        from_file: true,
                        definition: d,
                        document: doc,
                    });
                }
            }
            Err(ps) => {
                for (p, m) in ps {
                    problems.push(format!("{}: {p}: {m}", path.display()));
                }
            }
        }
    }
    (entries, problems)
}

/// Rebuild the index from the store's rows and the files of `custom_actions.dir`.
pub(crate) async fn reload(shared: &crate::services::Services) -> Result<(), store::StoreError> {
    let mut entries = Vec::new();
    if let Some(store) = &shared.store {
        for row in store.custom_actions().await? {
            let Ok((definition, _)) = Definition::parse(&row.definition) else {
                continue;
            };
            let Ok(version) = semver::Version::parse(&row.version) else {
                continue;
            };
            entries.push(Entry {
                version,
                published: row.status == store::CustomActionStatus::Published,
                from_file: false,
                definition,
                document: row.definition,
            });
        }
    }
    let (files, problems) = load_dir(&shared.config.custom_actions.dir);
    for p in problems {
        tracing::warn!("custom action file: {p}");
    }
    entries.extend(files);
    shared.catalog.library.replace(entries);
    Ok(())
}

/// What a `custom_action` step enters: the resolved version's actions, inputs and outputs.
pub(crate) fn enter(
    library: &Library,
    opt: &flow::options::CustomActionOption,
    caps: &flow::Capabilities,
) -> flow::Completion {
    let Some(e) = library.resolve(&opt.name, opt.version.as_deref()) else {
        return flow::Completion::Failed(format!(
            "no custom action {:?} matching version {:?}",
            opt.name,
            opt.version.as_deref().unwrap_or("latest")
        ));
    };
    let actions = match flow::parse_actions(&e.definition.actions, caps) {
        Ok((a, _)) => a,
        Err(p) => {
            return flow::Completion::Failed(format!(
                "custom action {} {} is not valid for this build: {}",
                e.definition.name,
                e.version,
                p.first()
                    .map(|p| format!("{}: {}", p.pointer, p.message))
                    .unwrap_or_default()
            ))
        }
    };
    tracing::debug!(name = %e.definition.name, version = %e.version, "entering custom action");
    flow::Completion::EnterCustomAction {
        actions,
        inputs: Library::inputs_for(&e.definition, &opt.inputs),
        outputs: e.definition.outputs.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn def(version: &str) -> Value {
        json!({"name": "make_appointment", "version": version, "outputs": ["success", "fail"],
            "inputs": [{"name": "calendar_url", "required": true, "configurable": true},
                       {"name": "greeting", "default": "Hi"}],
            "actions": [{"type": "talk", "option": {"text": "${input.greeting}"}},
                        {"type": "output", "option": {"path": "fail"}}]})
    }

    fn entry(v: &str, published: bool) -> Entry {
        let doc = def(v);
        let (d, _) = Definition::parse(&doc).unwrap();
        Entry {
            version: semver::Version::parse(v).unwrap(),
            published,
            from_file: false,
            definition: d,
            document: doc,
        }
    }

    #[test]
    fn ranges_latest_and_exact_pins_resolve() {
        let lib = Library::default();
        lib.replace(vec![
            entry("1.0.0", true),
            entry("1.1.0", true),
            entry("2.0.0", true),
            entry("2.1.0", false),
        ]);
        let v = |r: Option<&str>| {
            lib.resolve("make_appointment", r)
                .map(|e| e.version.to_string())
        };
        assert_eq!(v(Some("^1")).as_deref(), Some("1.1.0"));
        assert_eq!(v(Some("~1.0")).as_deref(), Some("1.0.0"));
        assert_eq!(
            v(Some("latest")).as_deref(),
            Some("2.0.0"),
            "drafts are not latest"
        );
        assert_eq!(v(None).as_deref(), Some("2.0.0"));
        assert_eq!(
            v(Some("2.1.0")).as_deref(),
            Some("2.1.0"),
            "an exact pin may use a draft"
        );
        assert_eq!(v(Some("^3")), None);
    }

    #[test]
    fn uses_are_checked_for_configurable_and_required_inputs() {
        let lib = Library::default();
        lib.replace(vec![entry("1.0.0", true)]);
        let flow = json!({"actions": [{"type": "custom_action", "option": {"name": "make_appointment", "version": "^1",
            "inputs": {"greeting": "x"}, "outputs": {"nope": "a"}}}]});
        let p = lib.check_uses(&flow);
        assert!(
            p.iter()
                .any(|(ptr, m)| ptr == "/actions/0/option/inputs/greeting"
                    && m.contains("not configurable")),
            "{p:?}"
        );
        assert!(
            p.iter()
                .any(|(_, m)| m.contains("required input \"calendar_url\"")),
            "{p:?}"
        );
        assert!(
            p.iter()
                .any(|(ptr, _)| ptr == "/actions/0/option/outputs/nope"),
            "{p:?}"
        );
    }

    #[test]
    fn output_paths_must_be_declared() {
        let mut d = def("1.0.0");
        d["actions"][1]["option"]["path"] = json!("elsewhere");
        let errs = Definition::parse(&d).unwrap_err();
        assert!(
            errs.iter().any(|(p, _)| p == "/actions/1/option/path"),
            "{errs:?}"
        );
    }

    #[test]
    fn inputs_take_defaults_and_only_configurable_overrides() {
        let (d, _) = Definition::parse(&def("1.0.0")).unwrap();
        let given = json!({"calendar_url": "https://cal", "greeting": "ignored"});
        let i = Library::inputs_for(&d, given.as_object().unwrap());
        assert_eq!(
            i.get("calendar_url").map(String::as_str),
            Some("https://cal")
        );
        assert_eq!(i.get("greeting").map(String::as_str), Some("Hi"));
    }

    #[test]
    fn package_signatures_depend_on_key_and_content() {
        let p = json!({"a": 1});
        assert_ne!(package_signature("", &p), package_signature("k", &p));
        assert_ne!(
            package_signature("k", &p),
            package_signature("k", &json!({"a": 2}))
        );
        assert_eq!(package_signature("k", &p), package_signature("k", &p));
    }
}
