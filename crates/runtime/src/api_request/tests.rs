use super::*;
use serde_json::json;

fn vars(pairs: &[(&str, &str)]) -> Variables {
    let mut v = Variables::new();
    for (k, val) in pairs {
        v.set(*k, *val);
    }
    v
}

#[test]
fn capture_paths_parse() {
    use Segment::*;
    let k = |s: &str| Key(s.to_string());
    let table: &[(&str, Result<Vec<Segment>, ()>)] = &[
        ("response", Ok(vec![])),
        (" response ", Ok(vec![])),
        ("response.name", Ok(vec![k("name")])),
        (
            "response.orders[0].status",
            Ok(vec![k("orders"), Index(0), k("status")]),
        ),
        ("response.items[*].id", Ok(vec![k("items"), Any, k("id")])),
        ("response[2][ 1 ]", Ok(vec![Index(2), Index(1)])),
        ("response.a-b.c_d", Ok(vec![k("a-b"), k("c_d")])),
        ("body.name", Err(())),
        ("responses.name", Err(())),
        ("response.", Err(())),
        ("response..a", Err(())),
        ("response.a[", Err(())),
        ("response.a[x]", Err(())),
        ("response.a[-1]", Err(())),
        ("", Err(())),
    ];
    for (path, want) in table {
        let got = parse_path(path).map_err(|_| ());
        assert_eq!(&got, want, "{path}");
    }
}

#[test]
fn capture_paths_evaluate() {
    let doc = json!({
        "name": "Ada",
        "age": 36,
        "vip": true,
        "note": null,
        "orders": [{"status": "shipped", "total": 12.5}, {"status": "open"}],
        "tags": ["a"],
        "nested": {"x": {"y": [1, [2, 3]]}},
        "empty": [],
    });
    let table: &[(&str, Result<&str, ()>)] = &[
        ("response.name", Ok("Ada")),
        ("response.age", Ok("36")),
        ("response.vip", Ok("true")),
        ("response.note", Ok("null")),
        ("response.orders[0].status", Ok("shipped")),
        ("response.orders[0].total", Ok("12.5")),
        ("response.orders[1]", Ok(r#"{"status":"open"}"#)),
        ("response.orders.1.status", Ok("open")),
        ("response.tags", Ok(r#"["a"]"#)),
        ("response.tags[*]", Ok("a")),
        ("response.nested.x.y[1][0]", Ok("2")),
        ("response.missing", Err(())),
        ("response.orders[2]", Err(())),
        ("response.name.first", Err(())),
        ("response.name[0]", Err(())),
        ("response.empty[*]", Err(())),
        ("response.orders[0].status.x", Err(())),
    ];
    for (path, want) in table {
        let got = parse_path(path)
            .and_then(|p| evaluate(&doc, &p).map(value_text))
            .map_err(|_| ());
        assert_eq!(got.as_deref(), want.as_ref().map(|s| *s), "{path}");
    }
    let whole = evaluate(&doc, &parse_path("response").unwrap()).unwrap();
    assert_eq!(whole, &doc);
}

#[test]
fn random_element_covers_the_array() {
    let doc = json!({"items": [{"id": 1}, {"id": 2}, {"id": 3}]});
    let path = parse_path("response.items[*].id").unwrap();
    let mut seen = std::collections::BTreeSet::new();
    for _ in 0..200 {
        seen.insert(value_text(evaluate(&doc, &path).unwrap()));
    }
    assert_eq!(seen.into_iter().collect::<Vec<_>>(), ["1", "2", "3"]);
}

#[test]
fn capture_reports_errors_and_non_json_bodies() {
    let r = Redactor::default();
    let doc = json!({"a": 1});
    let ok = capture("response.a", "x", Some(&doc), "", &r);
    assert_eq!(ok.value.as_deref(), Some("1"));
    assert_eq!(ok.error, None);
    let missing = capture("response.b", "x", Some(&doc), "", &r);
    assert_eq!(missing.value, None);
    assert!(missing.error.unwrap().contains("no key `b`"));
    let text = capture("response", "x", None, "plain text", &r);
    assert_eq!(text.value.as_deref(), Some("plain text"));
    let not_json = capture("response.a", "x", None, "plain text", &r);
    assert_eq!(not_json.error.as_deref(), Some("the response is not JSON"));
    let reserved = capture("response.a", "call.digits", Some(&doc), "", &r);
    assert_eq!(reserved.value, None);
    assert!(reserved.error.is_some());
    let aliased = capture("response.a", "voipbin.call.x", Some(&doc), "", &r);
    assert_eq!(aliased.value, None);
}

#[test]
fn brace_names_are_substituted_and_encoded() {
    let v = vars(&[
        ("caller", "+1 555/01"),
        ("id", "42"),
        ("call.source.target", "alice@example.com"),
    ]);
    let table = [
        (
            "https://x.test/customers/{caller}?id={id}",
            "https://x.test/customers/%2B1%20555%2F01?id=42",
        ),
        (
            "https://x.test/{call.source.target}",
            "https://x.test/alice%40example.com",
        ),
        // Unknown names, invalid names and stray braces stay.
        ("https://x.test/{nope}/{id}", "https://x.test/{nope}/42"),
        ("https://x.test/{a b}/{}", "https://x.test/{a b}/{}"),
        ("https://x.test/{{id}}", "https://x.test/{42}"),
        ("https://x.test/}{id", "https://x.test/}{id"),
        // The secret form is left for later.
        (
            "https://x.test/?k=${secret.key}&id={id}",
            "https://x.test/?k=${secret.key}&id=42",
        ),
        (
            "https://x.test/${unterminated",
            "https://x.test/${unterminated",
        ),
    ];
    for (input, want) in table {
        assert_eq!(substitute_braces(input, &v), want, "{input}");
    }
}

#[test]
fn secret_references_are_found_and_substituted() {
    assert_eq!(
        secret_refs("a ${secret.one} b ${x}${voipbin.secret.two} ${secret.open"),
        ["one", "two"]
    );
    let secrets = vec![
        ("one".to_string(), "a b&c".to_string()),
        (
            "hook".to_string(),
            "https://hooks.test/T1/B2/xyz".to_string(),
        ),
    ];
    assert_eq!(
        substitute_secrets("Bearer ${secret.one}", &secrets, str::to_string),
        "Bearer a b&c"
    );
    assert_eq!(
        substitute_secrets("https://x.test/?k=${secret.one}", &secrets, url_secret),
        "https://x.test/?k=a%20b%26c"
    );
    assert_eq!(
        substitute_secrets("${secret.hook}/more", &secrets, url_secret),
        "https://hooks.test/T1/B2/xyz/more"
    );
}

#[test]
fn redaction_covers_every_form_and_never_rescans() {
    let r = Redactor::new(["s3cr3t tok/en\"", "", "a"]);
    assert_eq!(r.redact("x s3cr3t tok/en\" y"), "x [redacted] y");
    assert_eq!(r.redact("q=s3cr3t%20tok%2Fen%22"), "q=[redacted]");
    assert_eq!(r.redact("q=s3cr3t+tok%2Fen%22"), "q=[redacted]");
    assert_eq!(
        r.redact(r#"{"echo":"s3cr3t tok/en\""}"#),
        r#"{"echo":"[redacted]"}"#
    );
    // A one-letter secret is redacted too, and the marker it leaves is not rescanned.
    assert_eq!(r.redact("banana"), "b[redacted]n[redacted]n[redacted]");
    assert_eq!(Redactor::default().redact("as is"), "as is");
    let empty = Redactor::new([""]);
    assert_eq!(empty.redact("as is"), "as is");
}

#[test]
fn truncation_keeps_characters_whole() {
    assert_eq!(truncate("héllo".into(), 2), "h");
    assert_eq!(truncate("héllo".into(), 3), "hé");
    assert_eq!(truncate("abc".into(), 10), "abc");
}

#[test]
fn encoders() {
    assert_eq!(
        percent_encode("a-b_c.d~e f+g/é"),
        "a-b_c.d~e%20f%2Bg%2F%C3%A9"
    );
    assert_eq!(form_encode("a b*c~"), "a+b*c%7E");
}

#[test]
fn request_is_prepared_with_params_headers_and_body() {
    let opt: ApiRequestOption = serde_json::from_value(json!({
        "method": "POST",
        "url": "https://api.test/c/{caller}?src=x",
        "headers": {"Authorization": "Bearer ${secret.tok}"},
        "params": {"expand": "orders items", "k": "${secret.tok}"},
        "body": {"phone": "+1", "key": "${secret.tok}"},
        "timeout": 1500,
    }))
    .unwrap();
    let secrets = vec![("tok".to_string(), "T0K".to_string())];
    let r = Redactor::new(["T0K"]);
    let p = prepare(&opt, &vars(&[("caller", "a b")]), &secrets, &r)
        .ok()
        .unwrap();
    assert_eq!(
        p.url,
        "https://api.test/c/a%20b?src=x&expand=orders+items&k=T0K"
    );
    assert!(p
        .headers
        .contains(&("Authorization".into(), "Bearer T0K".into())));
    assert!(p
        .headers
        .contains(&("Content-Type".into(), "application/json".into())));
    let body: Value = serde_json::from_slice(p.body.as_deref().unwrap()).unwrap();
    assert_eq!(body, json!({"phone": "+1", "key": "T0K"}));
    assert_eq!(p.timeout, Duration::from_millis(1500));
    assert_eq!(
        r.redact(&p.url),
        "https://api.test/c/a%20b?src=x&expand=orders+items&k=[redacted]"
    );

    // A raw string body keeps the author's content type and no JSON one is added.
    let opt: ApiRequestOption = serde_json::from_value(json!({
        "method": "PUT", "url": "https://api.test/",
        "headers": {"content-type": "text/plain"}, "body": "raw ${secret.tok}",
    }))
    .unwrap();
    let p = prepare(&opt, &Variables::new(), &secrets, &r).ok().unwrap();
    assert_eq!(p.body.as_deref(), Some(&b"raw T0K"[..]));
    assert_eq!(
        p.headers,
        vec![("content-type".into(), "text/plain".into())]
    );
    assert_eq!(p.timeout, DEFAULT_TIMEOUT);

    // Too large a body fails before sending; so does a bad URL.
    let big = "x".repeat(MAX_REQUEST_BODY + 1);
    let opt: ApiRequestOption =
        serde_json::from_value(json!({"url": "https://api.test/", "body": big})).unwrap();
    let e = prepare(&opt, &Variables::new(), &[], &r).err().unwrap();
    assert!(e.message.contains("request body larger"), "{}", e.message);
    let opt: ApiRequestOption =
        serde_json::from_value(json!({"url": "ftp://x/${secret.tok}"})).unwrap();
    let e = prepare(&opt, &Variables::new(), &secrets, &r)
        .err()
        .unwrap();
    assert!(!e.message.contains("T0K"), "{}", e.message);
}
