//! B6: control actions per second per core, flow engine alone.
//!
//! A loop of goto / branch / variable_set (templated) / condition_variable (string and
//! number) runs to its action budget in a fresh cursor, many times over, on one thread.
//! Every action is made current, evaluated and logged as in production.
//!
//! Run with: `cargo bench -p flow`

use std::hint::black_box;
use std::sync::Arc;
use std::time::Instant;

use flow::{load, Capabilities, Clock, Cursor, CursorOptions, EndReason, Step, Variables};
use serde_json::json;

const ACTIONS_PER_CURSOR: u32 = 10_000;

fn main() {
    let doc = json!({"actions": [
        {"id": "top", "type": "variable_set", "option": {"key": "call.digits", "value": "${choice}"}},
        {"type": "branch", "option": {"target_ids": {"1": "one", "2": "two"}, "default_target_id": "top"}},
        {"id": "one", "type": "condition_variable", "option": {"condition": "==", "variable": "choice",
            "value_type": "string", "value_string": "1", "false_target_id": "two"}},
        {"type": "variable_set", "option": {"key": "choice", "value": "2"}},
        {"type": "goto", "option": {"target_id": "top"}},
        {"id": "two", "type": "condition_variable", "option": {"condition": ">=", "variable": "choice",
            "value_type": "number", "value_number": 2, "false_target_id": "top"}},
        {"type": "variable_set", "option": {"key": "choice", "value": "1"}},
        {"type": "goto", "option": {"target_id": "top", "loop_count": 1_000_000}}
    ]});
    let flow = match load(&doc, &Capabilities::all()) {
        Ok((flow, _)) => Arc::new(flow),
        Err(problems) => panic!("bench flow is invalid: {problems:?}"),
    };
    let vars: Variables = [("choice", "1"), ("call.id", "bench")]
        .into_iter()
        .collect();
    let opts = CursorOptions {
        has_call: true,
        max_actions: ACTIONS_PER_CURSOR,
        max_control_steps: ACTIONS_PER_CURSOR,
    };
    let now = Clock {
        wall: chrono::DateTime::UNIX_EPOCH,
        mono_ms: 0,
    };
    let run = |cursors: u32| -> u64 {
        let mut actions = 0u64;
        for _ in 0..cursors {
            let mut c = Cursor::new(Arc::clone(&flow), vars.clone(), opts);
            let step = c.next(black_box(now));
            assert_eq!(step, Step::Ended(EndReason::BudgetExceeded));
            // The refused action is logged but was never made current.
            actions += c.executed().len() as u64 - 1;
            black_box(&c);
        }
        actions
    };
    run(20); // warm up
    let start = Instant::now();
    let actions = run(300);
    let secs = start.elapsed().as_secs_f64();
    println!("B6 control actions/s: {:.0}", actions as f64 / secs);
    println!(
        "    ({actions} actions in {secs:.3} s, {} per cursor, one thread)",
        ACTIONS_PER_CURSOR
    );
}
