//! Every `Store` operation, written once and run on SQLite and on PostgreSQL (the latter when
//! `SWITCHYARD_TEST_POSTGRES_URL` is set; see `tests/common/mod.rs` for the isolation).

mod common;

use chrono::{DateTime, Utc};
use serde_json::json;
use store::{
    ActiveflowRecord, Backend, CallRecord, Certificate, Contact, CustomActionStatus, Extension,
    FileImport, FlowSource, OutboxEvent, RecordingRecord, Store, StoreError, StoredApiAction,
    StoredCustomAction, StoredFlow, StoredRoute, StoredTrunk, Visibility, SCHEMA_VERSION,
};

use common::TestDb;

on_both_backends!(
    flows_round_trip_and_updates_keep_created_at,
    file_import_never_overwrites_a_pinned_flow,
    file_import_replaces_an_earlier_file_import,
    routes_list_in_priority_then_age_order,
    calls_round_trip_newest_first_with_paging,
    activeflows_round_trip_and_filter_by_status,
    recordings_round_trip_and_filter_by_call,
    secrets_are_listed_by_name_never_by_value,
    certificates_are_listed_with_metadata_never_keys,
    outbox_holds_back_a_later_event_of_the_same_key,
    outbox_retry_delays_only_its_own_key,
    outbox_survives_reopening_the_store,
    reopening_does_not_rerun_migrations_and_newer_schemas_are_refused,
    concurrent_first_connects_migrate_once,
    corrupt_rows_are_errors_not_panics,
    custom_actions_round_trip_and_drafts_may_be_overwritten,
    published_custom_actions_are_immutable,
    publishing_is_idempotent_and_visibility_only_widens,
    custom_action_versions_are_listed_by_semver,
    api_actions_round_trip_and_updates_keep_created_at,
    trunks_round_trip_and_are_deleted,
    extensions_and_their_contacts_expire_and_go_with_them,
    a_version_1_database_is_migrated_to_version_2,
);

/// A fixed time: `n` ms after 2023-11-14T22:13:20Z.
fn t(n: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(1_700_000_000_000 + n).expect("in range")
}

fn flow_doc(id: &str, name: &str, text: &str) -> serde_json::Value {
    json!({
        "id": id,
        "name": name,
        "detail": "a \"quoted\" detail with ünïcödé and emoji 📞",
        "actions": [
            {"id": "a1", "type": "talk", "option": {"text": text, "language": "en-US"}},
            {"id": "a2", "type": "hangup"}
        ]
    })
}

async fn flows_round_trip_and_updates_keep_created_at(db: &TestDb) {
    let store = db.open().await;
    assert!(store.flow("demo").await.expect("get").is_none());
    assert!(store.flows().await.expect("list").is_empty());

    let first = StoredFlow::new(
        "demo",
        flow_doc("demo", "Demo", "hello"),
        FlowSource::Api,
        t(0),
    );
    assert_eq!(first.name, "Demo");
    assert!(first.pinned);
    let stored = store.put_flow(&first).await.expect("put");
    assert_eq!(stored, first);
    assert_eq!(store.flow("demo").await.expect("get"), Some(first.clone()));

    let other = StoredFlow::new("b-other", json!({"actions": []}), FlowSource::File, t(5));
    assert_eq!((other.name.as_str(), other.detail.as_str()), ("", ""));
    assert!(!other.pinned);
    store.put_flow(&other).await.expect("put other");

    let mut second = StoredFlow::new(
        "demo",
        flow_doc("demo", "Demo 2", "bye"),
        FlowSource::Api,
        t(10),
    );
    second.created_at = t(9); // ignored: the first write's created_at is kept
    let stored = store.put_flow(&second).await.expect("update");
    assert_eq!(stored.created_at, t(0));
    assert_eq!(stored.updated_at, t(10));
    assert_eq!(stored.name, "Demo 2");
    assert_eq!(stored.document, second.document);

    let all = store.flows().await.expect("list");
    let ids: Vec<&str> = all.iter().map(|f| f.id.as_str()).collect();
    assert_eq!(ids, ["b-other", "demo"]);
    assert_eq!(all[1], stored);

    assert!(store.delete_flow("demo").await.expect("delete"));
    assert!(!store.delete_flow("demo").await.expect("delete again"));
    assert!(store.flow("demo").await.expect("get").is_none());
    assert_eq!(store.flows().await.expect("list").len(), 1);
}

async fn file_import_never_overwrites_a_pinned_flow(db: &TestDb) {
    let store = db.open().await;
    let api = StoredFlow::new(
        "ivr",
        flow_doc("ivr", "From the API", "api"),
        FlowSource::Api,
        t(0),
    );
    store.put_flow(&api).await.expect("put");

    let outcome = store
        .import_file_flow("ivr", &flow_doc("ivr", "From the file", "file"), t(100))
        .await
        .expect("import");
    assert_eq!(outcome, FileImport::KeptPinned);
    assert_eq!(store.flow("ivr").await.expect("get"), Some(api));

    // An unpinned flow, even one written through put_flow, is replaced.
    let mut unpinned = StoredFlow::new("loose", json!({"actions": []}), FlowSource::Api, t(0));
    unpinned.pinned = false;
    store.put_flow(&unpinned).await.expect("put");
    let outcome = store
        .import_file_flow("loose", &flow_doc("loose", "File", "x"), t(1))
        .await
        .expect("import");
    assert_eq!(outcome, FileImport::Stored);
    let stored = store.flow("loose").await.expect("get").expect("stored");
    assert_eq!((stored.source, stored.pinned), (FlowSource::File, false));
}

async fn file_import_replaces_an_earlier_file_import(db: &TestDb) {
    let store = db.open().await;
    let v1 = flow_doc("menu", "Menu v1", "one");
    let v2 = flow_doc("menu", "Menu v2", "two");
    assert_eq!(
        store
            .import_file_flow("menu", &v1, t(0))
            .await
            .expect("import v1"),
        FileImport::Stored
    );
    let stored = store.flow("menu").await.expect("get").expect("stored");
    assert_eq!(stored.document, v1);
    assert_eq!((stored.source, stored.pinned), (FlowSource::File, false));

    assert_eq!(
        store
            .import_file_flow("menu", &v2, t(50))
            .await
            .expect("import v2"),
        FileImport::Stored
    );
    let stored = store.flow("menu").await.expect("get").expect("stored");
    assert_eq!(stored.document, v2);
    assert_eq!(stored.name, "Menu v2");
    assert_eq!((stored.created_at, stored.updated_at), (t(0), t(50)));

    // Once the API writes it, the file no longer wins.
    let api = StoredFlow::new(
        "menu",
        flow_doc("menu", "Edited", "api"),
        FlowSource::Api,
        t(60),
    );
    store.put_flow(&api).await.expect("put");
    assert_eq!(
        store
            .import_file_flow("menu", &v1, t(70))
            .await
            .expect("import v1 again"),
        FileImport::KeptPinned
    );
    assert_eq!(
        store.flow("menu").await.expect("get").map(|f| f.name),
        Some("Edited".into())
    );
}

async fn routes_list_in_priority_then_age_order(db: &TestDb) {
    let store = db.open().await;
    let route = |id: &str, pattern: &str, priority, at| StoredRoute {
        id: id.into(),
        pattern: pattern.into(),
        flow_id: format!("flow-{id}"),
        priority,
        created_at: t(at),
        stop_types: vec![],
    };
    let catch_all = route("all", "*", 100, 0);
    let london = route("london", "+4420*", 10, 5);
    let exact = route("exact", "1000", 10, 1);
    for r in [&catch_all, &london, &exact] {
        assert_eq!(&store.put_route(r).await.expect("put"), r);
    }
    let parking = StoredRoute {
        stop_types: vec!["Pay Credit Card".into()],
        ..route("park", "2000", 50, 6)
    };
    assert_eq!(store.put_route(&parking).await.expect("put"), parking);
    assert_eq!(
        store.route("park").await.expect("get"),
        Some(parking.clone())
    );
    assert!(store.delete_route("park").await.expect("delete"));
    let order: Vec<String> = store
        .routes()
        .await
        .expect("list")
        .into_iter()
        .map(|r| r.id)
        .collect();
    assert_eq!(order, ["exact", "london", "all"]);

    let mut moved = london.clone();
    moved.priority = 1;
    moved.flow_id = "other".into();
    moved.created_at = t(999);
    let stored = store.put_route(&moved).await.expect("update");
    assert_eq!(stored.created_at, t(5));
    assert_eq!(stored.flow_id, "other");
    assert_eq!(store.route("london").await.expect("get"), Some(stored));
    let order: Vec<String> = store
        .routes()
        .await
        .expect("list")
        .into_iter()
        .map(|r| r.id)
        .collect();
    assert_eq!(order, ["london", "exact", "all"]);

    assert!(store.delete_route("exact").await.expect("delete"));
    assert!(!store.delete_route("exact").await.expect("delete again"));
    assert!(store.route("exact").await.expect("get").is_none());
    assert_eq!(store.routes().await.expect("list").len(), 2);
}

fn call(id: &str, at: i64) -> CallRecord {
    CallRecord {
        id: id.into(),
        sip_call_id: format!("{id}@192.0.2.1"),
        direction: "inbound".into(),
        from: "sip:alice@example.com".into(),
        to: "sip:1000@switchyard".into(),
        flow_id: Some("demo".into()),
        activeflow_id: None,
        status: "ringing".into(),
        created_at: t(at),
        answered_at: None,
        ended_at: None,
        duration_ms: None,
        hangup_cause: None,
        hangup_side: None,
        outcome: None,
    }
}

async fn calls_round_trip_newest_first_with_paging(db: &TestDb) {
    let store = db.open().await;
    assert!(store.call("c1").await.expect("get").is_none());
    for (id, at) in [("c1", 0), ("c2", 10), ("c3", 20)] {
        store.upsert_call(&call(id, at)).await.expect("insert");
    }
    assert_eq!(store.call("c2").await.expect("get"), Some(call("c2", 10)));

    let mut ended = call("c1", 777); // created_at ignored on update
    ended.activeflow_id = Some("af1".into());
    ended.status = "ended".into();
    ended.answered_at = Some(t(1_000));
    ended.ended_at = Some(t(61_000));
    ended.duration_ms = Some(60_000);
    ended.hangup_cause = Some("normal_clearing".into());
    ended.hangup_side = Some("caller".into());
    ended.outcome = Some("finished".into());
    store.upsert_call(&ended).await.expect("update");
    let stored = store.call("c1").await.expect("get").expect("stored");
    assert_eq!(
        stored,
        CallRecord {
            created_at: t(0),
            ..ended
        }
    );

    let ids = |calls: Vec<CallRecord>| calls.into_iter().map(|c| c.id).collect::<Vec<_>>();
    assert_eq!(
        ids(store.calls(10, 0).await.expect("page")),
        ["c3", "c2", "c1"]
    );
    assert_eq!(ids(store.calls(2, 0).await.expect("page")), ["c3", "c2"]);
    assert_eq!(ids(store.calls(2, 2).await.expect("page")), ["c1"]);
    assert!(store.calls(5, 3).await.expect("page").is_empty());
    assert!(store.calls(0, 0).await.expect("page").is_empty());
}

fn activeflow(id: &str, status: &str, at: i64) -> ActiveflowRecord {
    ActiveflowRecord {
        id: id.into(),
        flow_id: "demo".into(),
        call_id: Some(format!("call-{id}")),
        status: status.into(),
        end_reason: None,
        variables: json!({"call.source.target": "+15551230000", "menu": "1"}),
        executed_actions: json!([
            {"id": "a1", "type": "talk", "tm_execute": "2023-11-14T22:13:20Z", "outcome": "done", "duration_ms": 1200}
        ]),
        webhook_uri: None,
        created_at: t(at),
        ended_at: None,
    }
}

async fn activeflows_round_trip_and_filter_by_status(db: &TestDb) {
    let store = db.open().await;
    let a = activeflow("a", "running", 0);
    let mut b = activeflow("b", "waiting", 10);
    b.call_id = None;
    b.webhook_uri = Some("https://hooks.example/af".into());
    let c = activeflow("c", "running", 20);
    for af in [&a, &b, &c] {
        store.upsert_activeflow(af).await.expect("insert");
    }
    assert_eq!(store.activeflow("b").await.expect("get"), Some(b.clone()));

    let mut a_ended = a.clone();
    a_ended.status = "ended".into();
    a_ended.end_reason = Some("hangup".into());
    a_ended.ended_at = Some(t(5_000));
    a_ended.executed_actions = json!([]);
    a_ended.created_at = t(12_345); // ignored on update
    store.upsert_activeflow(&a_ended).await.expect("update");
    assert_eq!(
        store.activeflow("a").await.expect("get"),
        Some(ActiveflowRecord {
            created_at: t(0),
            ..a_ended
        })
    );

    let ids = |afs: Vec<ActiveflowRecord>| afs.into_iter().map(|a| a.id).collect::<Vec<_>>();
    assert_eq!(
        ids(store.activeflows(None, 10).await.expect("list")),
        ["c", "b", "a"]
    );
    assert_eq!(ids(store.activeflows(None, 1).await.expect("list")), ["c"]);
    assert_eq!(
        ids(store.activeflows(Some("running"), 10).await.expect("list")),
        ["c"]
    );
    assert_eq!(
        ids(store.activeflows(Some("ended"), 10).await.expect("list")),
        ["a"]
    );
    assert!(store
        .activeflows(Some("nope"), 10)
        .await
        .expect("list")
        .is_empty());

    assert!(store.delete_activeflow("b").await.expect("delete"));
    assert!(!store.delete_activeflow("b").await.expect("delete again"));
    assert!(store.activeflow("b").await.expect("get").is_none());
}

async fn recordings_round_trip_and_filter_by_call(db: &TestDb) {
    let store = db.open().await;
    let rec = |id: &str, call: Option<&str>, at| RecordingRecord {
        id: id.into(),
        call_id: call.map(Into::into),
        activeflow_id: Some("af1".into()),
        filename: format!("{id}.wav"),
        format: "wav".into(),
        duration_ms: None,
        size_bytes: None,
        started_at: t(at),
        ended_at: None,
    };
    let r1 = rec("r1", Some("c1"), 0);
    let r2 = rec("r2", Some("c2"), 10);
    let r3 = rec("r3", Some("c1"), 20);
    for r in [&r1, &r2, &r3] {
        store.put_recording(r).await.expect("put");
    }
    let finished = RecordingRecord {
        duration_ms: Some(4_000),
        size_bytes: Some(64_044),
        ended_at: Some(t(4_000)),
        ..r1.clone()
    };
    store.put_recording(&finished).await.expect("update");
    assert_eq!(store.recording("r1").await.expect("get"), Some(finished));

    let ids = |rs: Vec<RecordingRecord>| rs.into_iter().map(|r| r.id).collect::<Vec<_>>();
    assert_eq!(
        ids(store.recordings(None).await.expect("list")),
        ["r3", "r2", "r1"]
    );
    assert_eq!(
        ids(store.recordings(Some("c1")).await.expect("list")),
        ["r3", "r1"]
    );
    assert!(store
        .recordings(Some("none"))
        .await
        .expect("list")
        .is_empty());

    assert!(store.delete_recording("r2").await.expect("delete"));
    assert!(!store.delete_recording("r2").await.expect("delete again"));
    assert!(store.recording("r2").await.expect("get").is_none());
}

async fn secrets_are_listed_by_name_never_by_value(db: &TestDb) {
    let store = db.open().await;
    store
        .put_secret("stripe", "sk_live_1", t(0))
        .await
        .expect("put");
    store.put_secret("crm", "token-2", t(5)).await.expect("put");
    store
        .put_secret("stripe", "sk_live_3", t(10))
        .await
        .expect("update");

    let secret = store.secret("stripe").await.expect("get").expect("stored");
    assert_eq!(secret.value, "sk_live_3");
    assert_eq!((secret.created_at, secret.updated_at), (t(0), t(10)));
    assert!(
        !format!("{secret:?}").contains("sk_live"),
        "Debug hides the value"
    );

    let list = store.secrets().await.expect("list");
    let names: Vec<&str> = list.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["crm", "stripe"]);
    let listed = serde_json::to_string(&list).expect("serialize");
    assert!(!listed.contains("sk_live") && !listed.contains("token-2"));

    assert!(store.delete_secret("crm").await.expect("delete"));
    assert!(!store.delete_secret("crm").await.expect("delete again"));
    assert!(store.secret("crm").await.expect("get").is_none());
}

const CERT_PEM: &str = include_str!("fixtures/sip-example.pem");
const KEY_PEM: &str = "-----BEGIN PRIVATE KEY-----\nnot-a-real-key\n-----END PRIVATE KEY-----\n";

async fn certificates_are_listed_with_metadata_never_keys(db: &TestDb) {
    let store = db.open().await;
    let tls = Certificate {
        name: "sip-tls".into(),
        cert_pem: CERT_PEM.into(),
        key_pem: KEY_PEM.into(),
        ca_pem: Some(CERT_PEM.into()),
        created_at: t(0),
        updated_at: t(0),
    };
    let junk = Certificate {
        name: "junk".into(),
        cert_pem: "not a certificate".into(),
        key_pem: KEY_PEM.into(),
        ca_pem: None,
        created_at: t(1),
        updated_at: t(1),
    };
    store.put_certificate(&tls).await.expect("put");
    store.put_certificate(&junk).await.expect("put junk");
    assert_eq!(
        store.certificate("sip-tls").await.expect("get"),
        Some(tls.clone())
    );
    assert!(
        !format!("{tls:?}").contains("not-a-real-key"),
        "Debug hides the key"
    );

    let list = store.certificates().await.expect("list");
    assert_eq!(list.len(), 2);
    assert_eq!(list[0].name, "junk");
    assert_eq!((list[0].subject.as_deref(), list[0].has_ca), (None, false));
    let sip = &list[1];
    assert_eq!(
        sip.subject.as_deref(),
        Some("C=GB, O=Switchyard Test, CN=sip.example.test")
    );
    assert!(sip
        .fingerprint_sha256
        .as_deref()
        .is_some_and(|f| f.starts_with("7E:14:3C")));
    assert_eq!(
        sip.not_after.map(|t| t.to_rfc3339()),
        Some("2036-11-18T16:57:04+00:00".into())
    );
    assert!(sip.has_ca);
    assert!(!serde_json::to_string(&list)
        .expect("serialize")
        .contains("PRIVATE KEY"));

    let renewed = Certificate {
        ca_pem: None,
        updated_at: t(100),
        created_at: t(100),
        ..tls
    };
    store.put_certificate(&renewed).await.expect("update");
    let stored = store
        .certificate("sip-tls")
        .await
        .expect("get")
        .expect("stored");
    assert_eq!(
        (stored.created_at, stored.updated_at, stored.ca_pem),
        (t(0), t(100), None)
    );

    assert!(store.delete_certificate("junk").await.expect("delete"));
    assert!(!store
        .delete_certificate("junk")
        .await
        .expect("delete again"));
    assert!(store.certificate("junk").await.expect("get").is_none());
}

async fn outbox_holds_back_a_later_event_of_the_same_key(db: &TestDb) {
    let store = db.open().await;
    let hook = "https://hooks.example/events";
    let first = store
        .enqueue(hook, "call-1", &json!({"type": "call_created"}))
        .await
        .expect("enqueue");
    let second = store
        .enqueue(hook, "call-1", &json!({"type": "call_hangup"}))
        .await
        .expect("enqueue");
    let other_key = store
        .enqueue(hook, "call-2", &json!({"type": "call_created"}))
        .await
        .expect("enqueue");
    let other_dest = store
        .enqueue("https://other.example/", "call-1", &json!({"n": 1}))
        .await
        .expect("enqueue");
    assert!(first < second && second < other_key && other_key < other_dest);
    assert_eq!(store.pending_count().await.expect("count"), 4);

    let due = store.due(0, 100).await.expect("due");
    let ids: Vec<i64> = due.iter().map(|e| e.id).collect();
    assert_eq!(
        ids,
        [first, other_key, other_dest],
        "only the oldest per (destination, key)"
    );
    assert_eq!(due[0].payload, json!({"type": "call_created"}));
    assert_eq!(
        (due[0].destination.as_str(), due[0].ordering_key.as_str()),
        (hook, "call-1")
    );
    assert_eq!((due[0].attempts, due[0].next_attempt_ms), (0, 0));
    assert_eq!(store.due(0, 1).await.expect("due").len(), 1, "limit");

    assert!(store.delivered(first).await.expect("delivered"));
    assert!(!store.delivered(first).await.expect("delivered twice"));
    let ids: Vec<i64> = store
        .due(0, 100)
        .await
        .expect("due")
        .iter()
        .map(|e| e.id)
        .collect();
    assert_eq!(ids, [second, other_key, other_dest]);

    for id in [second, other_key, other_dest] {
        store.delivered(id).await.expect("delivered");
    }
    assert!(store.due(i64::MAX, 100).await.expect("due").is_empty());
    assert_eq!(store.pending_count().await.expect("count"), 0);
}

async fn outbox_retry_delays_only_its_own_key(db: &TestDb) {
    let store = db.open().await;
    let hook = "https://hooks.example/events";
    let a1 = store.enqueue(hook, "a", &json!(1)).await.expect("enqueue");
    let a2 = store.enqueue(hook, "a", &json!(2)).await.expect("enqueue");
    let b1 = store.enqueue(hook, "b", &json!(3)).await.expect("enqueue");

    assert!(store.retry_later(a1, 5_000).await.expect("retry"));
    let ids = |due: Vec<OutboxEvent>| due.into_iter().map(|e| e.id).collect::<Vec<_>>();
    assert_eq!(
        ids(store.due(4_999, 10).await.expect("due")),
        [b1],
        "a1 waits, a2 behind it"
    );
    let due = store.due(5_000, 10).await.expect("due");
    assert_eq!(ids(due.clone()), [a1, b1]);
    assert_eq!((due[0].attempts, due[0].next_attempt_ms), (1, 5_000));

    assert!(store.retry_later(a1, 9_000).await.expect("retry again"));
    let due = store.due(9_000, 10).await.expect("due");
    assert_eq!(due[0].attempts, 2);
    store.delivered(a1).await.expect("delivered");
    assert_eq!(ids(store.due(0, 10).await.expect("due")), [a2, b1]);
    assert!(!store
        .retry_later(a1, 1)
        .await
        .expect("retry a delivered event"));
}

async fn outbox_survives_reopening_the_store(db: &TestDb) {
    let store = db.open().await;
    let hook = "https://hooks.example/events";
    let e1 = store
        .enqueue(hook, "k", &json!({"seq": 1}))
        .await
        .expect("enqueue");
    let e2 = store
        .enqueue(hook, "k", &json!({"seq": 2}))
        .await
        .expect("enqueue");
    store.retry_later(e1, 42).await.expect("retry");
    store.close().await;
    drop(store);

    let store = db.open().await;
    assert_eq!(store.pending_count().await.expect("count"), 2);
    let due = store.due(42, 10).await.expect("due");
    assert_eq!(due.len(), 1);
    assert_eq!((due[0].id, due[0].attempts), (e1, 1));
    assert_eq!(due[0].payload, json!({"seq": 1}));
    store.delivered(e1).await.expect("delivered");
    let e3 = store
        .enqueue(hook, "k", &json!({"seq": 3}))
        .await
        .expect("enqueue");
    assert!(e3 > e2, "ids are not reused after a restart");
    let due = store.due(0, 10).await.expect("due");
    assert_eq!(due.iter().map(|e| e.id).collect::<Vec<_>>(), [e2]);
}

async fn reopening_does_not_rerun_migrations_and_newer_schemas_are_refused(db: &TestDb) {
    let store = db.open().await;
    store
        .put_flow(&StoredFlow::new(
            "keep",
            json!({"actions": []}),
            FlowSource::Api,
            t(0),
        ))
        .await
        .expect("put");
    store.close().await;
    let store = db.open().await;
    assert!(
        store.flow("keep").await.expect("get").is_some(),
        "data kept across reopen"
    );
    store.close().await;

    db.execute("INSERT INTO schema_migrations (version, name) VALUES (999, 'from the future')")
        .await;
    match Store::connect(&db.url).await {
        Err(StoreError::SchemaTooNew { found: 999, known }) => {
            assert_eq!(known, SCHEMA_VERSION)
        }
        other => panic!("expected SchemaTooNew, got {other:?}"),
    }
}

async fn concurrent_first_connects_migrate_once(db: &TestDb) {
    let (a, b, c) = tokio::join!(
        Store::connect(&db.url),
        Store::connect(&db.url),
        Store::connect(&db.url)
    );
    let (a, b, c) = (a.expect("a"), b.expect("b"), c.expect("c"));
    a.enqueue("d", "k", &json!(1)).await.expect("enqueue");
    assert_eq!(b.pending_count().await.expect("count"), 1);
    assert_eq!(c.pending_count().await.expect("count"), 1);
}

async fn corrupt_rows_are_errors_not_panics(db: &TestDb) {
    let store = db.open().await;
    db.execute(
        "INSERT INTO activeflows (id, flow_id, status, variables, executed_actions, created_at)
         VALUES ('bad', 'f', 'running', '{not json', '[]', 0)",
    )
    .await;
    db.execute(
        "INSERT INTO flows (id, name, detail, document, source, pinned, created_at, updated_at)
         VALUES ('weird', '', '', '{}', 'carrier-pigeon', false, 0, 0)",
    )
    .await;
    db.execute(
        "INSERT INTO calls (id, sip_call_id, direction, from_uri, to_uri, status, created_at)
         VALUES ('far', 'x', 'inbound', 'a', 'b', 'ended', 9223372036854775807)",
    )
    .await;
    assert!(matches!(
        store.activeflow("bad").await,
        Err(StoreError::Corrupt {
            table: "activeflows",
            ..
        })
    ));
    assert!(matches!(
        store.activeflows(None, 10).await,
        Err(StoreError::Corrupt { .. })
    ));
    assert!(matches!(
        store.flow("weird").await,
        Err(StoreError::Corrupt { table: "flows", .. })
    ));
    assert!(matches!(
        store.call("far").await,
        Err(StoreError::Corrupt { table: "calls", .. })
    ));
    db.execute(
        "INSERT INTO custom_actions
           (name, version, status, visibility, definition, created_at, updated_at, published_at)
         VALUES ('odd', '1.0.0', 'retired', NULL, '{}', 0, 0, NULL),
                ('half', '1.0.0', 'published', NULL, '{}', 0, 0, 0)",
    )
    .await;
    match store.custom_action("odd", "1.0.0").await {
        Err(StoreError::Corrupt {
            table: "custom_actions",
            id,
            ..
        }) => assert_eq!(id, "odd@1.0.0"),
        other => panic!("expected Corrupt, got {other:?}"),
    }
    assert!(matches!(
        store.custom_action("half", "1.0.0").await,
        Err(StoreError::Corrupt { .. })
    ));
    db.execute(
        "INSERT INTO api_actions (name, definition, created_at, updated_at)
         VALUES ('broken', '{nope', 0, 0)",
    )
    .await;
    assert!(matches!(
        store.api_actions().await,
        Err(StoreError::Corrupt {
            table: "api_actions",
            ..
        })
    ));
}

fn custom_action_doc(name: &str, version: &str, greeting: &str) -> serde_json::Value {
    json!({
        "name": name,
        "version": version,
        "description": "Collect a time, check availability, book it",
        "integration": "Calendar",
        "icon": "calendar",
        "inputs": [
            {"name": "calendar_url", "type": "string", "required": true, "configurable": true},
            {"name": "greeting", "type": "string", "default": greeting}
        ],
        "outputs": ["success", "fail", "not_interested"],
        "actions": [
            {"type": "talk", "option": {"text": "${input.greeting}"}},
            {"type": "output", "option": {"path": "success", "variables": {"id": "${b.id}"}}}
        ]
    })
}

fn draft(name: &str, version: &str, greeting: &str, at: i64) -> StoredCustomAction {
    StoredCustomAction::draft(
        name,
        version,
        custom_action_doc(name, version, greeting),
        t(at),
    )
}

fn is_immutable(result: Result<impl std::fmt::Debug, StoreError>, name: &str, version: &str) {
    match result {
        Err(StoreError::Immutable {
            name: n,
            version: v,
        }) => {
            assert_eq!((n.as_str(), v.as_str()), (name, version))
        }
        other => panic!("expected Immutable, got {other:?}"),
    }
}

async fn custom_actions_round_trip_and_drafts_may_be_overwritten(db: &TestDb) {
    let store = db.open().await;
    assert!(store
        .custom_action("make_appointment", "1.0.0")
        .await
        .expect("get")
        .is_none());
    assert!(store.custom_actions().await.expect("list").is_empty());
    assert!(store.custom_action_names().await.expect("names").is_empty());

    let first = draft("make_appointment", "1.0.0", "Hello 📅 ünïcödé", 0);
    assert_eq!(first.status, CustomActionStatus::Draft);
    assert_eq!((first.visibility, first.published_at), (None, None));
    let stored = store.put_custom_action_draft(&first).await.expect("put");
    assert_eq!(stored, first);
    assert_eq!(
        store
            .custom_action("make_appointment", "1.0.0")
            .await
            .expect("get"),
        Some(first.clone())
    );

    // Overwriting a draft keeps created_at; status fields given by the caller are ignored.
    let mut second = draft("make_appointment", "1.0.0", "Second take", 10);
    second.created_at = t(9);
    second.status = CustomActionStatus::Published;
    second.visibility = Some(Visibility::Marketplace);
    second.published_at = Some(t(10));
    let stored = store
        .put_custom_action_draft(&second)
        .await
        .expect("update");
    assert_eq!(stored.created_at, t(0));
    assert_eq!(stored.updated_at, t(10));
    assert_eq!(stored.status, CustomActionStatus::Draft);
    assert_eq!((stored.visibility, stored.published_at), (None, None));
    assert_eq!(stored.definition, second.definition);
    assert_eq!(
        store
            .custom_action("make_appointment", "1.0.0")
            .await
            .expect("get"),
        Some(stored)
    );
    assert!(store
        .custom_action("make_appointment", "1.0.1")
        .await
        .expect("other version")
        .is_none());

    assert!(store
        .delete_custom_action_draft("make_appointment", "1.0.0")
        .await
        .expect("delete"));
    assert!(!store
        .delete_custom_action_draft("make_appointment", "1.0.0")
        .await
        .expect("delete again"));
    assert!(store
        .custom_action("make_appointment", "1.0.0")
        .await
        .expect("get")
        .is_none());
}

async fn published_custom_actions_are_immutable(db: &TestDb) {
    let store = db.open().await;
    store
        .put_custom_action_draft(&draft("greet", "1.0.0", "hi", 0))
        .await
        .expect("put");
    let published = store
        .publish_custom_action("greet", "1.0.0", Visibility::Organization, t(5))
        .await
        .expect("publish")
        .expect("found");
    assert_eq!(published.status, CustomActionStatus::Published);
    assert_eq!(published.visibility, Some(Visibility::Organization));
    assert_eq!(published.published_at, Some(t(5)));
    assert_eq!((published.created_at, published.updated_at), (t(0), t(5)));

    is_immutable(
        store
            .put_custom_action_draft(&draft("greet", "1.0.0", "changed", 10))
            .await,
        "greet",
        "1.0.0",
    );
    is_immutable(
        store.delete_custom_action_draft("greet", "1.0.0").await,
        "greet",
        "1.0.0",
    );
    assert_eq!(
        store.custom_action("greet", "1.0.0").await.expect("get"),
        Some(published.clone()),
        "refused writes changed nothing"
    );

    // A change is a new version, which starts as a draft.
    let next = store
        .put_custom_action_draft(&draft("greet", "1.1.0", "changed", 10))
        .await
        .expect("new version");
    assert_eq!(next.status, CustomActionStatus::Draft);
    assert_eq!(
        store.custom_action("greet", "1.0.0").await.expect("get"),
        Some(published)
    );
    let err = store
        .put_custom_action_draft(&draft("greet", "1.0.0", "again", 11))
        .await
        .expect_err("immutable");
    assert!(err.to_string().contains("greet"), "{err}");
}

async fn publishing_is_idempotent_and_visibility_only_widens(db: &TestDb) {
    let store = db.open().await;
    assert_eq!(
        store
            .publish_custom_action("nothing", "1.0.0", Visibility::Organization, t(0))
            .await
            .expect("publish missing"),
        None
    );

    store
        .put_custom_action_draft(&draft("book", "1.0.0", "hi", 0))
        .await
        .expect("put");
    let first = store
        .publish_custom_action("book", "1.0.0", Visibility::Organization, t(5))
        .await
        .expect("publish")
        .expect("found");

    // Same visibility again: nothing changes, not even the times.
    let again = store
        .publish_custom_action("book", "1.0.0", Visibility::Organization, t(50))
        .await
        .expect("publish again")
        .expect("found");
    assert_eq!(again, first);

    // organization -> marketplace: widened; published_at kept, updated_at moves.
    let wider = store
        .publish_custom_action("book", "1.0.0", Visibility::Marketplace, t(60))
        .await
        .expect("widen")
        .expect("found");
    assert_eq!(wider.visibility, Some(Visibility::Marketplace));
    assert_eq!(wider.published_at, Some(t(5)));
    assert_eq!((wider.created_at, wider.updated_at), (t(0), t(60)));
    assert_eq!(wider.definition, first.definition);

    let same = store
        .publish_custom_action("book", "1.0.0", Visibility::Marketplace, t(70))
        .await
        .expect("idempotent")
        .expect("found");
    assert_eq!(same, wider);

    // marketplace -> organization: refused, nothing written.
    is_immutable(
        store
            .publish_custom_action("book", "1.0.0", Visibility::Organization, t(80))
            .await,
        "book",
        "1.0.0",
    );
    assert_eq!(
        store.custom_action("book", "1.0.0").await.expect("get"),
        Some(wider)
    );

    // A draft may be published straight to the marketplace.
    store
        .put_custom_action_draft(&draft("book", "2.0.0", "hi", 100))
        .await
        .expect("put");
    let market = store
        .publish_custom_action("book", "2.0.0", Visibility::Marketplace, t(101))
        .await
        .expect("publish")
        .expect("found");
    assert_eq!(
        (market.visibility, market.published_at, market.updated_at),
        (Some(Visibility::Marketplace), Some(t(101)), t(101))
    );
}

async fn custom_action_versions_are_listed_by_semver(db: &TestDb) {
    let store = db.open().await;
    for (i, version) in ["1.10.0", "1.2.0", "2.0.0-rc.1", "1.9.3"]
        .iter()
        .enumerate()
    {
        store
            .put_custom_action_draft(&draft("appt", version, "hi", i as i64))
            .await
            .expect("put");
    }
    store
        .put_custom_action_draft(&draft("zeta", "0.1.0", "hi", 0))
        .await
        .expect("put");
    store
        .put_custom_action_draft(&draft("alpha", "3.0.0", "hi", 0))
        .await
        .expect("put");
    for version in ["1.2.0", "1.10.0"] {
        store
            .publish_custom_action("appt", version, Visibility::Organization, t(20))
            .await
            .expect("publish")
            .expect("found");
    }

    let versions = store
        .custom_action_versions("appt")
        .await
        .expect("versions");
    let listed: Vec<(&str, CustomActionStatus)> = versions
        .iter()
        .map(|a| (a.version.as_str(), a.status))
        .collect();
    assert_eq!(
        listed,
        [
            ("1.2.0", CustomActionStatus::Published),
            ("1.9.3", CustomActionStatus::Draft),
            ("1.10.0", CustomActionStatus::Published),
            ("2.0.0-rc.1", CustomActionStatus::Draft),
        ]
    );
    assert!(versions.iter().all(|a| a.name == "appt"));
    assert!(store
        .custom_action_versions("missing")
        .await
        .expect("none")
        .is_empty());

    let all = store.custom_actions().await.expect("all");
    let keys: Vec<(&str, &str)> = all
        .iter()
        .map(|a| (a.name.as_str(), a.version.as_str()))
        .collect();
    assert_eq!(
        keys,
        [
            ("alpha", "3.0.0"),
            ("appt", "1.2.0"),
            ("appt", "1.9.3"),
            ("appt", "1.10.0"),
            ("appt", "2.0.0-rc.1"),
            ("zeta", "0.1.0"),
        ]
    );

    let names = store.custom_action_names().await.expect("names");
    assert_eq!(
        names.iter().map(|s| s.name.as_str()).collect::<Vec<_>>(),
        ["alpha", "appt", "zeta"]
    );
    let appt = &names[1];
    assert_eq!(appt.versions, ["1.2.0", "1.9.3", "1.10.0", "2.0.0-rc.1"]);
    assert_eq!(appt.newest.version, "2.0.0-rc.1");
    assert_eq!(
        appt.latest_published.as_ref().map(|a| a.version.as_str()),
        Some("1.10.0")
    );
    assert_eq!(appt.newest, versions[3]);
    assert_eq!(names[0].latest_published, None);
    assert_eq!(names[0].newest.version, "3.0.0");
}

async fn api_actions_round_trip_and_updates_keep_created_at(db: &TestDb) {
    let store = db.open().await;
    assert!(store
        .api_action("order_status")
        .await
        .expect("get")
        .is_none());
    assert!(store.api_actions().await.expect("list").is_empty());

    let doc = json!({
        "name": "order_status",
        "description": "Use when the caller asks where their order is",
        "url": "https://crm.example/hook",
        "method": "POST",
        "headers": {"Authorization": "Bearer ${secret.crm}"},
        "body": {"q": "{{user_message}}"},
        "trigger": "ai_intent",
        "say": "Your order is ${order_status.state}",
        "error_message": "Sorry, I cannot check that right now 📦"
    });
    let first = StoredApiAction::new("order_status", doc, t(0));
    let stored = store.put_api_action(&first).await.expect("put");
    assert_eq!(stored, first);
    assert_eq!(
        store.api_action("order_status").await.expect("get"),
        Some(first.clone())
    );

    store
        .put_api_action(&StoredApiAction::new(
            "callback",
            json!({"name": "callback", "url": "https://x.example", "trigger": "dtmf"}),
            t(5),
        ))
        .await
        .expect("put other");

    let mut second = StoredApiAction::new(
        "order_status",
        json!({"name": "order_status", "url": "https://crm.example/v2", "trigger": "flow"}),
        t(10),
    );
    second.created_at = t(9); // ignored: the first write's created_at is kept
    let stored = store.put_api_action(&second).await.expect("update");
    assert_eq!((stored.created_at, stored.updated_at), (t(0), t(10)));
    assert_eq!(stored.definition, second.definition);

    let all = store.api_actions().await.expect("list");
    assert_eq!(
        all.iter().map(|a| a.name.as_str()).collect::<Vec<_>>(),
        ["callback", "order_status"]
    );
    assert_eq!(all[1], stored);

    assert!(store
        .delete_api_action("order_status")
        .await
        .expect("delete"));
    assert!(!store
        .delete_api_action("order_status")
        .await
        .expect("delete again"));
    assert!(store
        .api_action("order_status")
        .await
        .expect("get")
        .is_none());
    assert_eq!(store.api_actions().await.expect("list").len(), 1);
}

async fn trunks_round_trip_and_are_deleted(db: &TestDb) {
    let store = db.open().await;
    assert!(store.trunks().await.expect("list").is_empty());
    let doc = json!({"name": "carrier", "address": "sip:198.51.100.7", "password": "${secret.c}"});
    store
        .put_trunk(&StoredTrunk::new("carrier", doc.clone(), t(0)))
        .await
        .expect("put");
    let changed = json!({"name": "carrier", "address": "sip:198.51.100.8"});
    let stored = store
        .put_trunk(&StoredTrunk::new("carrier", changed.clone(), t(5)))
        .await
        .expect("put again");
    assert_eq!(stored.created_at, t(0));
    assert_eq!(stored.updated_at, t(5));
    assert_eq!(stored.definition, changed);
    assert_eq!(store.trunks().await.expect("list").len(), 1);
    assert!(
        store.api_actions().await.expect("list").is_empty(),
        "kinds stay apart"
    );
    assert!(store.delete_trunk("carrier").await.expect("delete"));
    assert!(!store.delete_trunk("carrier").await.expect("delete again"));
    assert!(store.trunk("carrier").await.expect("get").is_none());
}

async fn extensions_and_their_contacts_expire_and_go_with_them(db: &TestDb) {
    let store = db.open().await;
    let ext = Extension {
        user: "alice".into(),
        name: "Alice".into(),
        password: "pa55word".into(),
        created_at: t(0),
        updated_at: t(0),
    };
    store.put_extension(&ext).await.expect("put");
    let changed = store
        .put_extension(&Extension {
            password: "n3w".into(),
            updated_at: t(9),
            created_at: t(9),
            ..ext.clone()
        })
        .await
        .expect("put again");
    assert_eq!((changed.created_at, changed.updated_at), (t(0), t(9)));
    assert_eq!(
        store
            .extension("alice")
            .await
            .expect("get")
            .unwrap()
            .password,
        "n3w"
    );
    assert!(
        !format!("{changed:?}").contains("n3w"),
        "Debug hides the password"
    );
    let contact = |uri: &str, expires: i64, at: i64| Contact {
        user: "alice".into(),
        uri: uri.into(),
        expires_at: t(expires),
        source: "udp:127.0.0.1:5062".into(),
        user_agent: "baresip".into(),
        call_id: "reg-1".into(),
        cseq: 1,
        updated_at: t(at),
    };
    store
        .put_contact(&contact("sip:alice@127.0.0.1:5062", 60_000, 1))
        .await
        .expect("put");
    store
        .put_contact(&contact("sip:alice@127.0.0.1:5064", 30_000, 2))
        .await
        .expect("put");
    let live = store.contacts("alice", t(10_000)).await.expect("contacts");
    let uris: Vec<&str> = live.iter().map(|c| c.uri.as_str()).collect();
    assert_eq!(
        uris,
        ["sip:alice@127.0.0.1:5064", "sip:alice@127.0.0.1:5062"],
        "newest first"
    );
    assert_eq!(
        store
            .contacts("alice", t(40_000))
            .await
            .expect("contacts")
            .len(),
        1,
        "expired"
    );
    // A refresh moves the expiry.
    store
        .put_contact(&contact("sip:alice@127.0.0.1:5064", 90_000, 3))
        .await
        .expect("refresh");
    assert_eq!(
        store
            .contacts("alice", t(40_000))
            .await
            .expect("contacts")
            .len(),
        2
    );
    assert!(store
        .delete_contact("alice", "sip:alice@127.0.0.1:5064")
        .await
        .expect("del"));
    assert!(store.delete_extension("alice").await.expect("delete"));
    assert!(store
        .contacts("alice", t(0))
        .await
        .expect("contacts")
        .is_empty());
    assert!(store.extension("alice").await.expect("get").is_none());
}

/// Builds the database exactly as the version-1 store left it (its `schema_migrations` table,
/// migration 0001, one row recorded, some data), then connects with this build.
async fn a_version_1_database_is_migrated_to_version_2(db: &TestDb) {
    assert_eq!(SCHEMA_VERSION, 5);
    let sqlite = db.url.starts_with("sqlite:");
    let (migrations_table, v1) = if sqlite {
        (
            "CREATE TABLE schema_migrations (
                version    INTEGER NOT NULL PRIMARY KEY,
                name       TEXT    NOT NULL,
                applied_at TEXT    NOT NULL DEFAULT CURRENT_TIMESTAMP);",
            include_str!("../migrations/sqlite/0001_initial.sql"),
        )
    } else {
        (
            "CREATE TABLE schema_migrations (
                version    BIGINT      NOT NULL PRIMARY KEY,
                name       TEXT        NOT NULL,
                applied_at TIMESTAMPTZ NOT NULL DEFAULT now());",
            include_str!("../migrations/postgres/0001_initial.sql"),
        )
    };
    db.execute_script(&format!(
        "{migrations_table}
         {v1}
         INSERT INTO schema_migrations (version, name) VALUES (1, 'initial');
         INSERT INTO flows (id, name, detail, document, source, pinned, created_at, updated_at)
         VALUES ('old', 'Old', '', '{{\"actions\": []}}', 'api', true, 0, 0);
         INSERT INTO secrets (name, value, created_at, updated_at) VALUES ('k', 'v', 0, 0);"
    ))
    .await;
    assert_eq!(db.applied_migrations().await, [(1, "initial".to_string())]);

    let store = db.open().await;
    assert_eq!(
        db.applied_migrations().await,
        [
            (1, "initial".to_string()),
            (2, "custom_and_api_actions".to_string()),
            (3, "route_stop_types".to_string()),
            (4, "trunks".to_string()),
            (5, "extensions".to_string())
        ]
    );
    let old = store.flow("old").await.expect("get").expect("kept");
    assert_eq!(old.document, json!({"actions": []}));
    assert_eq!(store.secrets().await.expect("secrets").len(), 1);

    // The new tables work on the migrated database, and survive a reopen (no re-migration).
    store
        .put_custom_action_draft(&draft("upgraded", "1.0.0", "hi", 0))
        .await
        .expect("put custom action");
    store
        .put_api_action(&StoredApiAction::new("hook", json!({"name": "hook"}), t(0)))
        .await
        .expect("put api action");
    store
        .put_trunk(&StoredTrunk::new(
            "carrier",
            json!({"name": "carrier"}),
            t(0),
        ))
        .await
        .expect("put trunk");
    store.close().await;
    let store = db.open().await;
    assert_eq!(db.applied_migrations().await.len(), 5);
    assert!(store.trunk("carrier").await.expect("get").is_some());
    assert!(store
        .custom_action("upgraded", "1.0.0")
        .await
        .expect("get")
        .is_some());
    assert!(store.api_action("hook").await.expect("get").is_some());
}

// SQLite only: the file, its directory and WAL mode.

#[tokio::test]
async fn sqlite_creates_the_file_and_its_directories_in_wal_mode() {
    use sqlx::Connection;
    let db = TestDb::sqlite();
    let path = db.url.trim_start_matches("sqlite://").to_string();
    assert!(!std::path::Path::new(&path).exists());
    let store = db.open().await;
    assert_eq!(store.backend(), Backend::Sqlite);
    assert!(std::path::Path::new(&path).is_file());
    let mut conn = sqlx::SqliteConnection::connect(&db.url)
        .await
        .expect("open");
    let mode: String = sqlx::query_scalar("PRAGMA journal_mode")
        .fetch_one(&mut conn)
        .await
        .expect("pragma");
    assert_eq!(mode, "wal");
    conn.close().await.expect("close");
}

#[tokio::test]
async fn sqlite_in_memory_store_works() {
    let store = Store::connect("sqlite::memory:").await.expect("connect");
    let id = store.enqueue("d", "k", &json!({})).await.expect("enqueue");
    assert_eq!(store.due(0, 10).await.expect("due")[0].id, id);
}

#[tokio::test]
async fn unsupported_urls_are_refused_with_the_password_hidden() {
    match Store::connect("mysql://root:hunter2@db/sw").await {
        Err(e @ StoreError::UnsupportedUrl { .. }) => {
            assert!(!e.to_string().contains("hunter2"), "{e}")
        }
        other => panic!("expected UnsupportedUrl, got {other:?}"),
    }
}

#[tokio::test]
async fn postgres_backend_is_reported() {
    let Some(db) = TestDb::postgres().await else {
        println!("skipped: {} not set", common::POSTGRES_URL_VAR);
        return;
    };
    assert_eq!(db.open().await.backend(), Backend::Postgres);
}
