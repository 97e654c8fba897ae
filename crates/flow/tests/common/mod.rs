//! Helpers shared by the cursor tests: loading, fake time, driving a cursor.
#![allow(dead_code)]

use std::sync::Arc;

use chrono::{DateTime, Utc};
use flow::{
    load, Capabilities, Clock, Command, Completion, Cursor, CursorOptions, EndReason, Flow, Step,
    Variables,
};
use serde_json::Value;

/// Loads a valid flow (panics with the problems otherwise: it is a test).
pub fn flow(doc: Value) -> Arc<Flow> {
    match load(&doc, &Capabilities::all()) {
        Ok((flow, _)) => Arc::new(flow),
        Err(problems) => panic!("invalid test flow: {problems:?}"),
    }
}

/// A fixed wall time with monotonic `ms`.
pub fn at(ms: u64) -> Clock {
    Clock {
        wall: wall("2024-06-03T12:00:00Z"),
        mono_ms: ms,
    }
}

/// RFC 3339 → UTC.
pub fn wall(s: &str) -> DateTime<Utc> {
    match DateTime::parse_from_rfc3339(s) {
        Ok(t) => t.with_timezone(&Utc),
        Err(e) => panic!("bad time {s}: {e}"),
    }
}

/// Variables from pairs.
pub fn vars(pairs: &[(&str, &str)]) -> Variables {
    pairs.iter().copied().collect()
}

/// A cursor with default options.
pub fn cursor(doc: Value, pairs: &[(&str, &str)]) -> Cursor {
    Cursor::new(flow(doc), vars(pairs), CursorOptions::default())
}

/// Drives `c` to the end, answering each command with `answer`; returns the commands seen
/// and the end reason. Gives up after 100 000 steps.
pub fn run(
    c: &mut Cursor,
    mut answer: impl FnMut(&Command, &mut Cursor) -> Completion,
) -> (Vec<Command>, EndReason) {
    let mut seen = Vec::new();
    for i in 0..100_000u64 {
        match c.next(at(i)) {
            Step::Ended(reason) => return (seen, reason),
            Step::Execute(cmd) => {
                let completion = answer(&cmd, c);
                seen.push(cmd);
                c.complete(at(i + 1), completion);
            }
        }
    }
    panic!("the flow did not end");
}

/// Drives `c` to the end completing every command with `Done`.
pub fn run_done(c: &mut Cursor) -> (Vec<Command>, EndReason) {
    run(c, |_, _| Completion::Done)
}

/// Ids of the executed actions, in order.
pub fn trail(c: &Cursor) -> Vec<String> {
    c.executed().iter().map(|e| e.id.to_string()).collect()
}

/// Outcomes of the executed actions, as printed in the API.
pub fn outcomes(c: &Cursor) -> Vec<String> {
    c.executed().iter().map(|e| e.outcome.to_string()).collect()
}

/// The text of a talk command, if it is one.
pub fn talk_text(cmd: &Command) -> Option<&str> {
    match cmd {
        Command::Talk(t) => Some(&t.text),
        _ => None,
    }
}
