//! Validation rules beyond the fixtures: warnings, capabilities, ids, fetched lists, the
//! seed document's examples, and robustness against arbitrary input.

use flow::{
    load, load_with_ids, parse_actions, schema, validate, ActionType, Capabilities, Severity,
};
use serde_json::{json, Value};

const SEED_EXAMPLES: &str = include_str!("../../../tests/data/flows/good/seed_examples.json");

fn seed_actions() -> Vec<Value> {
    let doc: Value = serde_json::from_str(SEED_EXAMPLES).unwrap_or_default();
    doc["actions"].as_array().cloned().unwrap_or_default()
}

#[test]
fn every_seed_example_validates_on_its_own() {
    let all = seed_actions();
    let (examples, targets): (Vec<Value>, Vec<Value>) =
        all.into_iter().partition(|a| a["type"] != "empty");
    assert!(examples.len() >= 30, "{} examples", examples.len());
    for example in examples {
        let mut actions = vec![example.clone()];
        actions.extend(targets.iter().cloned());
        let doc = json!({"actions": actions});
        let report = validate(&doc, &Capabilities::all());
        assert!(report.is_valid(), "{example}\n{report}");
        let (flow, _) = load(&doc, &Capabilities::all()).unwrap_or_default();
        assert!(
            flow.actions()[0].typed_option().is_some(),
            "{example} parses into its typed option"
        );
    }
}

#[test]
fn deprecated_types_are_accepted_with_a_warning() {
    for t in [
        "agent_call",
        "condition_call_digits",
        "condition_call_status",
        "hangup_relay",
    ] {
        let example = seed_actions()
            .into_iter()
            .find(|a| a["type"] == t)
            .unwrap_or_default();
        let doc = json!({"actions": [example, {"id": "e3e50e6c-9c8b-11ec-8031-0384a8fcd1e2", "type": "empty"}]});
        let report = validate(&doc, &Capabilities::all());
        assert!(report.is_valid(), "{t}: {report}");
        let w: Vec<_> = report.warnings().collect();
        assert_eq!(w.len(), 1, "{t}: {report}");
        assert_eq!(w[0].pointer, "/actions/0/type");
        assert!(w[0].message.contains("deprecated"), "{}", w[0].message);
    }
}

#[test]
fn goto_without_loop_count_is_a_warning() {
    let doc = json!([{"id": "a", "type": "goto", "option": {"target_id": "a"}}]);
    let report = validate(&doc, &Capabilities::all());
    assert!(report.is_valid());
    let w: Vec<_> = report
        .warnings()
        .map(|p| (p.pointer.as_str(), p.severity))
        .collect();
    assert_eq!(w, [("/0/option/loop_count", Severity::Warning)]);
}

#[test]
fn types_outside_the_capabilities_are_errors_at_the_type_pointer() {
    let caps = Capabilities::control().with([ActionType::Answer, ActionType::Talk]);
    let doc = json!({"actions": [{"type": "answer"}, {"type": "talk", "option": {"text": "x"}}, {"type": "play", "option": {"stream_urls": []}}]});
    let report = validate(&doc, &caps);
    let errors: Vec<_> = report
        .errors()
        .map(|p| (p.pointer.as_str(), p.message.as_str()))
        .collect();
    assert_eq!(
        errors,
        [(
            "/actions/2/type",
            "action type `play` is not supported by this build yet"
        )]
    );
    for t in Capabilities::CONTROL {
        assert!(Capabilities::control().supports(*t));
    }
    assert!(ActionType::ALL
        .iter()
        .all(|t| Capabilities::all().supports(*t)));
}

#[test]
fn all_problems_are_reported_not_just_the_first() {
    let doc = json!({"actions": [
        {"type": "talk"},
        {"type": "sleep", "option": {"duration": -5}},
        {"type": "bogus"},
        {"type": "goto", "option": {"target_id": "x", "loop_count": 1}}
    ]});
    let report = validate(&doc, &Capabilities::all());
    let pointers: Vec<_> = report.errors().map(|p| p.pointer.as_str()).collect();
    assert_eq!(
        pointers,
        [
            "/actions/0/option/text",
            "/actions/1/option/duration",
            "/actions/2/type",
            "/actions/3/option/target_id"
        ]
    );
}

#[test]
fn missing_ids_are_assigned_and_given_ids_kept_verbatim() {
    let doc = json!({"id": "f1", "name": "n", "actions": [{"type": "answer"}, {"id": "menu", "type": "beep"}, {"id": "", "type": "beep"}]});
    let mut n = 0;
    let (flow, _) = load_with_ids(&doc, &Capabilities::all(), &mut || {
        n += 1;
        format!("gen-{n}")
    })
    .unwrap_or_default();
    let ids: Vec<_> = flow.actions().iter().map(|a| a.id().as_str()).collect();
    assert_eq!(ids, ["gen-1", "menu", "gen-2"]);
    assert_eq!((flow.id(), flow.name()), (Some("f1"), Some("n")));
    let (random, _) = load(&doc, &Capabilities::all()).unwrap_or_default();
    let id = random.actions()[0].id().as_str();
    assert!(
        uuid::Uuid::parse_str(id).is_ok_and(|u| u.get_version_num() == 4),
        "{id}"
    );
}

#[test]
fn tm_execute_is_accepted_and_ignored() {
    let doc = json!([{"type": "answer", "tm_execute": "2024-01-01T00:00:00Z"}]);
    let (flow, _) = load(&doc, &Capabilities::all()).unwrap_or_default();
    assert_eq!(
        serde_json::to_value(&flow.actions()[0])
            .unwrap_or_default()
            .get("tm_execute"),
        None
    );
}

#[test]
fn fetched_lists_may_jump_to_ids_outside_themselves() {
    let doc = json!({"actions": [{"type": "goto", "option": {"target_id": "main-menu", "loop_count": 1}}]});
    assert!(parse_actions(&doc, &Capabilities::all()).is_ok());
    assert!(load(&doc, &Capabilities::all()).is_err());
    let bad = json!([{"type": "connect", "option": {"destinations": []}}]);
    assert!(parse_actions(&bad, &Capabilities::control()).is_err());
}

#[test]
fn schema_is_a_draft_2020_12_document_covering_every_type() {
    let s = schema();
    assert_eq!(s["$schema"], "https://json-schema.org/draft/2020-12/schema");
    assert_eq!(
        s["$defs"]["action"]["oneOf"].as_array().map(Vec::len),
        Some(ActionType::ALL.len())
    );
    let datetime = &s["$defs"]["action.condition_datetime"]["properties"]["option"]["properties"];
    assert_eq!(datetime["hour"]["anyOf"][0]["maximum"], 23);
}

/// Values substituted into every position of the good fixtures.
fn junk() -> Vec<Value> {
    vec![
        Value::Null,
        json!(true),
        json!(-1),
        json!(1.5),
        json!(u64::MAX),
        json!(""),
        json!("${x}"),
        json!("00000000-0000-0000-0000-000000000000"),
        json!([]),
        json!([1, "a"]),
        json!({}),
        json!({"type": "goto"}),
    ]
}

fn mutations(v: &Value) -> Vec<Value> {
    let mut out = Vec::new();
    for j in junk() {
        out.push(j);
    }
    match v {
        Value::Object(m) => {
            for k in m.keys() {
                for child in mutations(&m[k]) {
                    let mut copy = m.clone();
                    copy.insert(k.clone(), child);
                    out.push(Value::Object(copy));
                }
                let mut without = m.clone();
                without.remove(k);
                out.push(Value::Object(without));
            }
        }
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                for child in mutations(item) {
                    let mut copy = items.clone();
                    copy[i] = child;
                    out.push(Value::Array(copy));
                }
            }
        }
        _ => {}
    }
    out
}

#[test]
fn validation_and_execution_never_panic_on_mutated_flows() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/data/flows/good");
    let mut docs = 0;
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let text = std::fs::read_to_string(entry.path()).unwrap_or_default();
        let doc: Value = serde_json::from_str(&text).unwrap_or_default();
        for m in mutations(&doc) {
            docs += 1;
            let _ = validate(&m, &Capabilities::all());
            if let Ok((flow, _)) = load(&m, &Capabilities::all()) {
                exercise(flow);
            }
        }
    }
    assert!(docs > 1000, "{docs} mutated documents");
}

fn exercise(flow: flow::Flow) {
    use flow::{Clock, Completion, Cursor, CursorOptions, Step};
    let vars = [("x", "abc"), ("call.digits", "1")].into_iter().collect();
    let mut c = Cursor::new(
        std::sync::Arc::new(flow),
        vars,
        CursorOptions {
            max_actions: 200,
            ..Default::default()
        },
    );
    let completions = [
        Completion::Done,
        Completion::Failed("x".into()),
        Completion::Timeout,
        Completion::WebhookResponse {
            status: 200,
            body: Some(json!({"a": {"b": 1}})),
        },
        Completion::Pushed(vec![]),
    ];
    for i in 0..300u64 {
        let now = Clock {
            wall: chrono::DateTime::UNIX_EPOCH,
            mono_ms: i,
        };
        match c.next(now) {
            Step::Ended(_) => return,
            Step::Execute(_) => c.complete(now, completions[(i % 5) as usize].clone()),
        }
    }
}
