//! `switchyard flow simulate`: run a flow without a call. Media actions are printed (what would
//! be spoken or played), DTMF comes from `--digits` or stdin, time is simulated (a `sleep` does
//! not wait), and webhook_send/fetch make real HTTP requests through the server's HTTP engine.

use flow::{Clock, Command, Completion, Cursor, CursorOptions, EndReason, Step};
use runtime::http::HttpEngine;
use runtime::http_actions::{self, FetchContext};
use std::collections::VecDeque;
use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

/// Inputs of one simulation.
pub struct Simulation {
    pub file: PathBuf,
    /// Digits to feed `digits_receive`; `None` = read lines from stdin.
    pub digits: Option<String>,
    pub vars: Vec<(String, String)>,
    pub config: runtime::Config,
}

/// Exit statuses: 0 the flow finished, stopped or hung up; 1 the flow is invalid;
/// 3 it ended with an error or exceeded its budget.
pub fn run(sim: Simulation) -> ExitCode {
    // The simulator shows the whole language; what it cannot act out fails at run time.
    let caps = flow::Capabilities::all();
    let (flow_id, flow, warnings) = match runtime::flows::load_file_with(&sim.file, &caps) {
        Ok(x) => x,
        Err(problems) => {
            for p in problems {
                println!("{p}");
            }
            return ExitCode::from(1);
        }
    };
    for w in warnings {
        eprintln!("{w} (warning)");
    }
    let engine = match HttpEngine::new(
        &sim.config.http.allow_private,
        Duration::from_millis(sim.config.http.timeout_ms),
        Some(sim.config.events.signing_secret.clone()),
    ) {
        Ok(e) => Arc::new(e),
        Err(e) => {
            eprintln!("switchyard: http.allow_private: {e}");
            return ExitCode::from(2);
        }
    };
    let mut vars = flow::Variables::new();
    for (k, v) in [
        ("call.id", "simulated-call"),
        ("call.direction", "incoming"),
        ("call.status", "progressing"),
        ("call.digits", ""),
        ("call.source.type", "tel"),
        ("call.source.target", "+15550000001"),
        ("call.destination.type", "tel"),
        ("call.destination.target", "1000"),
        ("activeflow.id", "simulated-activeflow"),
        ("activeflow.flow_id", flow_id.as_str()),
    ] {
        vars.set(k, v);
    }
    if let Err(p) = vars.merge_external(sim.vars.clone()) {
        eprintln!("switchyard: --var: {}", p.message);
        return ExitCode::from(2);
    }
    let mut cursor = Cursor::new(
        Arc::new(flow),
        vars,
        CursorOptions {
            has_call: true,
            max_actions: sim.config.limits.max_actions_per_flow,
            max_control_steps: sim.config.flow.max_control_steps,
        },
    );
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("switchyard: {e}");
            return ExitCode::from(2);
        }
    };
    let flows_dir = sim.file.parent().map(Path::to_path_buf).unwrap_or_default();
    let mut digits = Digits::new(sim.digits);
    let started = chrono::Utc::now();
    let mut elapsed_ms: u64 = 0;
    let mut shown = 0;
    let end = loop {
        let now = Clock {
            wall: started + chrono::Duration::milliseconds(elapsed_ms as i64),
            mono_ms: elapsed_ms,
        };
        let step = cursor.next(now);
        shown = print_log(&cursor, shown);
        let command = match step {
            Step::Ended(reason) => break reason,
            Step::Execute(c) => c,
        };
        let completion = match command {
            Command::Answer => say(elapsed_ms, "answer"),
            Command::Talk(t) => say(
                elapsed_ms,
                &format!(
                    "talk ({}): {}",
                    t.language.as_deref().unwrap_or("en-US"),
                    t.text
                ),
            ),
            Command::Play(p) => say(elapsed_ms, &format!("play: {}", p.stream_urls.join(", "))),
            Command::Beep => say(elapsed_ms, "beep"),
            Command::Sleep { duration_ms } => {
                elapsed_ms += duration_ms;
                say(elapsed_ms, &format!("slept {duration_ms} ms"))
            }
            Command::Hangup { reason, .. } => say(elapsed_ms, &format!("hangup ({reason:?})")),
            Command::DigitsReceive(o) => {
                let got = digits.collect(o.length as usize, o.key.as_deref());
                cursor.variables_mut().set("call.digits", got.clone());
                println!("[{elapsed_ms:>7} ms] digits_receive: {got:?}");
                if got.is_empty() {
                    Completion::Timeout
                } else {
                    Completion::Done
                }
            }
            Command::WebhookSend(o) => {
                println!(
                    "[{elapsed_ms:>7} ms] webhook_send {} {}",
                    o.uri,
                    if o.sync { "(sync)" } else { "(async)" }
                );
                let sync = o.sync;
                let c = rt.block_on(async {
                    let c = http_actions::webhook_send(&engine, o).await;
                    if !sync {
                        // Let the fire-and-forget request leave before the process ends.
                        tokio::time::sleep(Duration::from_millis(200)).await;
                    }
                    c
                });
                if let Completion::WebhookResponse { status, .. } = &c {
                    println!("            -> HTTP {status}");
                }
                c
            }
            Command::Fetch { url, method } => {
                println!("[{elapsed_ms:>7} ms] fetch {url}");
                let ctx = FetchContext {
                    activeflow_id: "simulated-activeflow".into(),
                    call_id: "simulated-call".into(),
                    variables: cursor
                        .variables()
                        .iter()
                        .map(|(k, v)| (k.to_string(), serde_json::Value::String(v.to_string())))
                        .collect(),
                };
                rt.block_on(http_actions::fetch(&engine, &url, method, ctx, &caps))
            }
            Command::FetchFlow { flow_id } => {
                match runtime::flows::load_file_with(
                    &flows_dir.join(format!("{flow_id}.json")),
                    &caps,
                ) {
                    Ok((_, f, _)) => Completion::Pushed(f.actions().to_vec()),
                    Err(_) => Completion::Failed(format!(
                        "no flow {flow_id:?} in {}",
                        flows_dir.display()
                    )),
                }
            }
            other => {
                let name = format!("{other:?}");
                let name = name.split(['(', ' ', '{']).next().unwrap_or("").to_string();
                Completion::Failed(format!("{name} is not simulated"))
            }
        };
        if let Completion::Failed(reason) = &completion {
            println!("            -> failed: {reason}");
        }
        let now = Clock {
            wall: started + chrono::Duration::milliseconds(elapsed_ms as i64),
            mono_ms: elapsed_ms,
        };
        cursor.complete(now, completion);
    };
    print_log(&cursor, shown);
    println!("ended: {end:?}");
    println!("variables:");
    let mut all: Vec<(&str, &str)> = cursor.variables().iter().collect();
    all.sort();
    for (k, v) in all {
        println!("  {k} = {v:?}");
    }
    match end {
        EndReason::Finished | EndReason::Stopped | EndReason::Hangup | EndReason::Api => {
            ExitCode::SUCCESS
        }
        EndReason::Error | EndReason::BudgetExceeded => ExitCode::from(3),
    }
}

fn say(at: u64, what: &str) -> Completion {
    println!("[{at:>7} ms] {what}");
    Completion::Done
}

/// Print execution-log entries from `from` on; returns the new count.
fn print_log(cursor: &Cursor, from: usize) -> usize {
    let log = cursor.executed();
    for e in log.iter().skip(from) {
        println!(
            "  #{:<3} {:<22} {:<20} {}",
            e.id.as_str(),
            e.action_type.as_str(),
            e.outcome.to_string(),
            e.note.as_deref().unwrap_or("")
        );
    }
    log.len()
}

/// DTMF input: from `--digits`, else lines of stdin.
struct Digits {
    queue: VecDeque<char>,
    from_stdin: bool,
}

impl Digits {
    fn new(digits: Option<String>) -> Digits {
        Digits {
            from_stdin: digits.is_none(),
            queue: digits.unwrap_or_default().chars().collect(),
        }
    }

    /// Up to `length` digits, or through `key` (kept); "" when input is exhausted.
    fn collect(&mut self, length: usize, key: Option<&str>) -> String {
        if self.queue.is_empty() && self.from_stdin {
            let mut line = String::new();
            if std::io::stdin().lock().read_line(&mut line).is_ok() {
                self.queue.extend(line.trim().chars());
            }
        }
        let mut got = String::new();
        while let Some(c) = self.queue.pop_front() {
            got.push(c);
            if key.is_some_and(|k| k.contains(c)) || got.chars().count() >= length.max(1) {
                break;
            }
        }
        got
    }
}
