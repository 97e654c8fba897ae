//! The command line: output to a reader that goes away, and `flow simulate` with scripted
//! key presses and pauses on the call core's fake clock.

mod support;

use serde_json::json;
use std::io::Read;
use std::process::{Command, Stdio};
use support::{flow, simulate};

#[test]
fn printing_to_a_reader_that_goes_away_exits_quietly() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_switchyard"))
        .args(["flow", "schema"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run switchyard");
    let mut first = [0u8; 1];
    child
        .stdout
        .take()
        .expect("stdout")
        .read_exact(&mut first)
        .expect("the schema starts");
    // The pipe is closed now, with most of the 70 KB schema unwritten (as `| head -1` does).
    let out = child.wait_with_output().expect("exit");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(!stderr.contains("Broken pipe"), "{stderr}");
    assert_eq!(out.status.code(), Some(0));
}

fn menu() -> String {
    flow(
        "menu",
        json!([
            {"type": "talk", "option": {"text": "Press 1 for sales"}},
            {"type": "digits_receive", "option": {"length": 2, "duration": 5000, "inter_digit_timeout": 3000}},
            {"type": "branch", "option": {"target_ids": {"12": "twelve"}, "default_target_id": "other"}},
            {"id": "twelve", "type": "talk", "option": {"text": "twelve"}},
            {"type": "hangup"},
            {"id": "other", "type": "talk", "option": {"text": "other ${call.digits}"}}
        ]),
    )
}

#[test]
fn simulated_digits_honour_the_inter_digit_timer() {
    // 1 then 2 within 3 s: both collected.
    let (code, out) = simulate(&menu(), &["--digits", "1,+2s,2"], &[]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("talk (en-US): twelve"), "{out}");
    // 1, then 2 after 6 s: the inter-digit timeout ends the collection after the 1.
    let (code, out) = simulate(&menu(), &["--digits", "1,+6s,2"], &[]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("talk (en-US): other"), "{out}");
    assert!(!out.contains("twelve"), "{out}");
}

#[test]
fn simulated_time_passes_at_the_speed_of_the_prompts() {
    let f = flow(
        "f",
        json!([
            {"type": "talk", "option": {"text": "a long welcome that takes a few seconds", "digits_handle": "next"}},
            {"type": "digits_receive", "option": {"duration": 1000}},
            {"type": "talk", "option": {"text": "got ${call.digits}"}}
        ]),
    );
    // The key arrives while the first prompt plays: barge-in, and it is collected.
    let (code, out) = simulate(&f, &["--digits", "+1s,7"], &[]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("playback stopped"), "{out}");
    assert!(out.contains("got 7"), "{out}");
    assert!(!out.contains("failed"), "{out}");
}

#[test]
fn bad_digit_scripts_are_refused() {
    let (code, out) = simulate(&menu(), &["--digits", "1,+6x"], &[]);
    assert_eq!(code, 2, "{out}");
    assert!(out.contains("+6x"), "{out}");
}
