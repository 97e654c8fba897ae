//! Good and bad flow fixtures under `tests/data/flows/`.
//!
//! `good/*.json` must validate without errors and load. Each `bad/NAME.json` has a sibling
//! `NAME.expect` with lines `/pointer: substring of message`; every line must match a problem
//! at exactly that pointer, and every error must be listed. Files named `caps_control_*` are
//! validated with `Capabilities::control()`, the rest with `Capabilities::all()`.

use std::fs;
use std::path::{Path, PathBuf};

use flow::{load, validate, Capabilities, Severity};

fn dir(kind: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/data/flows")
        .join(kind)
}

fn json_files(kind: &str) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = fs::read_dir(dir(kind))
        .expect("fixture directory exists")
        .map(|e| e.expect("readable directory entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    files
}

fn read_json(path: &Path) -> serde_json::Value {
    let text = fs::read_to_string(path).expect("readable fixture");
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: not JSON: {e}", path.display()))
}

#[test]
fn good_fixtures_validate_and_load() {
    let files = json_files("good");
    assert!(
        files.len() >= 5,
        "expected the good fixtures, found {}",
        files.len()
    );
    for path in files {
        let doc = read_json(&path);
        let report = validate(&doc, &Capabilities::all());
        assert!(report.is_valid(), "{}:\n{report}", path.display());
        let (flow, _) = load(&doc, &Capabilities::all())
            .unwrap_or_else(|p| panic!("{}: {p:?}", path.display()));
        // Storing and reloading keeps every id.
        let stored = serde_json::to_value(&flow).expect("a flow serializes");
        let (again, _) = load(&stored, &Capabilities::all()).expect("stored flow reloads");
        let ids = |f: &flow::Flow| {
            f.actions()
                .iter()
                .map(|a| a.id().clone())
                .collect::<Vec<_>>()
        };
        assert_eq!(ids(&flow), ids(&again), "{}", path.display());
    }
}

#[test]
fn bad_fixtures_report_their_expected_problems() {
    let files = json_files("bad");
    assert!(
        files.len() >= 15,
        "expected at least 15 bad fixtures, found {}",
        files.len()
    );
    for path in files {
        let doc = read_json(&path);
        let name = path
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or_default()
            .to_owned();
        let caps = if name.starts_with("caps_control_") {
            Capabilities::control()
        } else {
            Capabilities::all()
        };
        let report = validate(&doc, &caps);
        assert!(!report.is_valid(), "{name}: expected errors, got none");
        let expect = fs::read_to_string(path.with_extension("expect"))
            .unwrap_or_else(|_| panic!("{name}: missing .expect file"));
        let expected: Vec<(&str, &str)> = expect
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| {
                l.split_once(": ")
                    .unwrap_or_else(|| panic!("{name}: bad expect line {l:?}"))
            })
            .collect();
        for (pointer, text) in &expected {
            let found = report
                .problems
                .iter()
                .any(|p| p.pointer == *pointer && p.message.contains(text));
            assert!(found, "{name}: no problem `{pointer}: {text}` in\n{report}");
        }
        for p in report
            .problems
            .iter()
            .filter(|p| p.severity == Severity::Error)
        {
            let listed = expected
                .iter()
                .any(|(ptr, text)| p.pointer == *ptr && p.message.contains(text));
            assert!(listed, "{name}: unexpected error {p}");
        }
        assert!(load(&doc, &caps).is_err(), "{name}: load must refuse it");
    }
}
