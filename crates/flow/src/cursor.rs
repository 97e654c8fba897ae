//! The cursor: one activeflow's position, variables and log (flows.md §2 and §4).
//!
//! A state machine fed with time. [`Cursor::next`] runs control actions internally and stops
//! at the first action the shell must perform, returning it as a [`Command`] (or the end of
//! the flow). The shell performs it and reports with [`Cursor::complete`], then calls `next`
//! again. External events ([`Cursor::hangup`], [`Cursor::stop`]) end the flow at once.
//!
//! Successor rule, after an action completes: a pending jump (goto, branch, a condition's
//! false target, an `api_request` failure target, a `custom` path, a custom-action output),
//! else the action's `next_id`, else the following element. Jump targets are looked up in the
//! current stack, then the stacks below it, down to and including the nearest custom-action
//! stack (a custom action's targets are local: lookups never continue into its caller); a
//! jump into a lower stack drops the stacks above. A target that is not found ends the flow
//! with [`EndReason::Error`] (pushed lists are checked when pushed, so only inconsistent
//! shells get there). Running off a pushed stack returns to the action that pushed it and
//! continues after it (its `next_id`, else the following element); running off a custom
//! action leaves through its first declared output; running off the main array finishes
//! the flow.
//!
//! `custom` (custom-actions.md §1): the cursor hands it to the shell as
//! [`Command::Custom`]; while it is in flight the status is [`Status::Waiting`]. The shell
//! completes it with [`Completion::CustomEvent`] (jump to the matching path, or a dead end
//! that finishes the flow) or [`Completion::CustomDefault`] (the default path).
//!
//! Library custom actions (custom-actions.md §2): [`Command::CustomAction`] is completed with
//! [`Completion::EnterCustomAction`], which pushes the definition's actions as a stack with
//! its own variable scope. While inside, [`Cursor::variables`] and [`Cursor::variables_mut`]
//! address that scope (the caller's is kept aside and restored on leaving). `output` is run
//! by the cursor: its `variables`, templated in the inner scope, are exported to the caller
//! as `<as>.<name>` (`<name of the custom action>.<name>` without `as`), the caller's scope
//! is restored and the flow jumps to the caller's target mapped to the path in the using
//! action's `outputs` (no mapping: continue after the `custom_action`). An `output` path that
//! is not declared is taken as the first declared output (noted in the log); an `output`
//! outside any custom action is logged `skipped` and the flow moves on. At most
//! [`MAX_CUSTOM_ACTION_DEPTH`] custom actions nest; one more fails with
//! `failed: custom actions nested more than 8 deep` and the flow continues after it. Inner
//! actions are part of the execution log and count against the limits.
//!
//! `goto` counts are kept per goto action for the life of its stack: for the main array that
//! is the activeflow's life; a stack pushed again (a second `fetch`) starts with fresh counts.
//!
//! Limits: every action made current counts against `max_actions`; control actions, actions
//! skipped for want of a call and actions that fail before reaching the shell count as
//! control steps, and any command handed to the shell resets that count. Exceeding either
//! limit logs the refused action as `failed: ...` (note `budget_exceeded`) and ends the flow
//! with [`EndReason::BudgetExceeded`].

use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::action::{Action, ActionId, ActionType, Flow};
use crate::command::{command, Command, Completion};
use crate::condition::{self, Scratch};
use crate::custom::{
    custom_outcome, inner_scope, payload_variables, CustomOutcome, MAX_CUSTOM_ACTION_DEPTH,
};
use crate::datetime;
use crate::log::{ExecutedAction, Outcome};
use crate::options::{ActionOption, CustomActionOption, OutputOption};
use crate::resolve::resolve;
use crate::spec;
use crate::template::{flatten_json, substitute, Variables};

#[path = "cursor_custom.rs"]
mod custom_stack;

/// The two clocks the cursor is given (it never reads one itself).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Clock {
    /// Wall time: `tm_execute` and `condition_datetime`.
    pub wall: DateTime<Utc>,
    /// Monotonic milliseconds: action durations.
    pub mono_ms: u64,
}

/// Limits and context of one activeflow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CursorOptions {
    /// False for activeflows started through the API: call actions are skipped.
    pub has_call: bool,
    /// Most actions made current over the activeflow's life (`flow.max_actions`).
    pub max_actions: u32,
    /// Most consecutive actions that take no media time.
    pub max_control_steps: u32,
}

impl Default for CursorOptions {
    /// With a call, 10 000 actions, 1 000 control steps.
    fn default() -> Self {
        Self {
            has_call: true,
            max_actions: 10_000,
            max_control_steps: 1_000,
        }
    }
}

/// What the shell must do next.
#[derive(Debug, Clone, PartialEq)]
pub enum Step {
    /// Perform this and report with [`Cursor::complete`].
    Execute(Command),
    /// The activeflow has ended. Unless the reason is [`EndReason::Hangup`] (the call is
    /// already gone) the shell hangs the call up with normal clearing.
    Ended(EndReason),
}

/// Activeflow status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Executing, or a command other than `custom` is in flight.
    Running,
    /// Parked on a `custom` action: waiting iff the in-flight command is
    /// [`Command::Custom`] (the shell only leaves parked ones in flight).
    Waiting,
    /// Over; see [`Cursor::end_reason`].
    Ended,
}

/// Why an activeflow ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EndReason {
    /// It ran off the end of its main array.
    Finished,
    /// A `stop` action ran (or a `hangup` action in an activeflow without a call).
    Stopped,
    /// The call hung up: a `hangup` action completed, or [`Cursor::hangup`].
    Hangup,
    /// A jump target could not be found (only possible for inconsistent pushed stacks).
    Error,
    /// The action budget or the control-step limit was exceeded.
    BudgetExceeded,
    /// Stopped through the API ([`Cursor::stop`]).
    Api,
}

/// Deepest nesting of pushed stacks; a push beyond it fails the pushing action.
pub const MAX_STACK_DEPTH: usize = 1000;

/// One stack of actions.
#[derive(Debug)]
struct Frame {
    flow: Arc<Flow>,
    /// Next action to make current; in a lower frame, the action that pushed the one above.
    pos: usize,
    /// Jumps taken by each `goto` of this stack (allocated on first use).
    gotos: Vec<u32>,
    /// Set on the stack of a library custom action: a scope boundary.
    scope: Option<Box<Scope>>,
}

impl Frame {
    fn new(flow: Arc<Flow>, scope: Option<Box<Scope>>) -> Frame {
        Frame {
            flow,
            pos: 0,
            gotos: Vec::new(),
            scope,
        }
    }
}

/// What a custom-action stack needs to leave: the caller's variables (kept aside while the
/// inner scope is current), the using action's option and the declared outputs.
#[derive(Debug)]
struct Scope {
    caller_vars: Variables,
    using: CustomActionOption,
    outputs: Vec<String>,
}

/// The command handed to the shell and not yet completed.
#[derive(Debug)]
struct InFlight {
    index: usize,
    command: Command,
    started: Clock,
}

/// One activeflow.
#[derive(Debug)]
pub struct Cursor {
    frames: Vec<Frame>,
    vars: Variables,
    opts: CursorOptions,
    log: Vec<ExecutedAction>,
    in_flight: Option<InFlight>,
    end: Option<EndReason>,
    made_current: u32,
    control_steps: u32,
    scratch: Scratch,
}

impl Cursor {
    /// An activeflow positioned before the first action of `flow`.
    pub fn new(flow: Arc<Flow>, vars: Variables, opts: CursorOptions) -> Self {
        Self {
            frames: vec![Frame::new(flow, None)],
            vars,
            opts,
            log: Vec::new(),
            in_flight: None,
            end: None,
            made_current: 0,
            control_steps: 0,
            scratch: Scratch::default(),
        }
    }

    /// Advances to the next thing the shell must do, executing control actions on the way.
    /// While a command is in flight, returns that command again; once ended, the end.
    pub fn next(&mut self, now: Clock) -> Step {
        loop {
            if let Some(reason) = self.end {
                return Step::Ended(reason);
            }
            if let Some(f) = &self.in_flight {
                return Step::Execute(f.command.clone());
            }
            let Some(frame) = self.frames.last() else {
                self.end = Some(EndReason::Finished);
                continue;
            };
            let (flow, index) = (Arc::clone(&frame.flow), frame.pos);
            let Some(action) = flow.actions.get(index) else {
                if let Some(scope) = &frame.scope {
                    let first = scope.outputs.first().cloned();
                    self.leave(self.frames.len() - 1, first.as_deref(), Vec::new());
                    continue;
                }
                self.frames.pop();
                match self.frames.last() {
                    Some(parent) => self.advance(parent.pos, None),
                    None => self.end = Some(EndReason::Finished),
                }
                continue;
            };
            if let Some(step) = self.make_current(action, index, now) {
                return step;
            }
        }
    }

    /// Runs `action` (at `index` of the top stack): control actions to completion, others up
    /// to the command. `Some` when the shell has something to do.
    fn make_current(&mut self, action: &Action, index: usize, now: Clock) -> Option<Step> {
        let t = action.action_type;
        let gated = !self.opts.has_call && t.needs_call();
        if self.made_current >= self.opts.max_actions {
            let reason = format!("action budget of {} exceeded", self.opts.max_actions);
            return self.exceeded(action, now, reason);
        }
        if (t.is_control() || gated) && self.control_steps >= self.opts.max_control_steps {
            let n = self.opts.max_control_steps;
            let reason = format!("more than {n} consecutive actions without media time");
            return self.exceeded(action, now, reason);
        }
        self.made_current += 1;
        if gated {
            self.control_steps += 1;
            let stops = matches!(t, ActionType::Hangup | ActionType::HangupRelay);
            let note = if stops {
                "no call leg: the flow stops here"
            } else {
                "no call leg"
            };
            self.record(action, now, now, Outcome::Skipped, Some(note.into()));
            if stops {
                self.end = Some(EndReason::Stopped);
            } else {
                self.advance(index, None);
            }
            return None;
        }
        if t == ActionType::Stop {
            self.record(action, now, now, Outcome::Done, None);
            self.end = Some(EndReason::Stopped);
            return None;
        }
        if t == ActionType::CustomAction && self.custom_action_depth() >= MAX_CUSTOM_ACTION_DEPTH {
            self.control_steps += 1;
            let reason = format!("custom actions nested more than {MAX_CUSTOM_ACTION_DEPTH} deep");
            self.record(action, now, now, Outcome::Failed(reason), None);
            self.advance(index, None);
            return None;
        }
        let resolved = match resolve(action, &self.vars) {
            Ok(r) => r,
            Err(reason) => {
                self.control_steps += 1;
                self.record(action, now, now, Outcome::Failed(reason), None);
                self.advance(index, None);
                return None;
            }
        };
        if let ActionOption::Output(o) = resolved.option.as_ref() {
            self.control_steps += 1;
            self.output(action, o, index, resolved.needs_substitution, now);
            return None;
        }
        if t.is_control() {
            self.control_steps += 1;
            let result = self.control(&resolved.option, index, resolved.needs_substitution, now);
            match result {
                Ok(jump) => {
                    self.record(action, now, now, Outcome::Done, None);
                    self.advance(index, jump);
                }
                Err(reason) => {
                    self.record(action, now, now, Outcome::Failed(reason), None);
                    self.advance(index, None);
                }
            }
            return None;
        }
        self.control_steps = 0;
        let cmd = command(t, resolved.option, resolved.json);
        self.in_flight = Some(InFlight {
            index,
            command: cmd.clone(),
            started: now,
        });
        Some(Step::Execute(cmd))
    }

    /// Executes one control action; `Ok(Some(id))` is a jump.
    fn control<'o>(
        &mut self,
        option: &'o ActionOption,
        index: usize,
        substitute: bool,
        now: Clock,
    ) -> Result<Option<&'o ActionId>, String> {
        let s = &mut self.scratch;
        Ok(match option {
            ActionOption::Goto(o) => match o.loop_count {
                None => Some(&o.target_id),
                Some(limit) => {
                    let frame = self.frames.last_mut().ok_or("no stack")?;
                    if frame.gotos.is_empty() {
                        frame.gotos = vec![0; frame.flow.actions.len()];
                    }
                    let taken = frame.gotos.get_mut(index).ok_or("no goto counter")?;
                    (*taken < limit).then(|| {
                        *taken += 1;
                        &o.target_id
                    })
                }
            },
            ActionOption::Branch(o) => {
                let name = o
                    .variable
                    .as_deref()
                    .filter(|v| !v.is_empty())
                    .unwrap_or("call.digits");
                let value = self.vars.value(name);
                let jump = o.target_ids.get(value).or(o.default_target_id.as_ref());
                self.vars.clear_value(name);
                jump
            }
            ActionOption::ConditionVariable(o) => {
                let holds = condition::variable(o, &self.vars, substitute, s)?;
                (!holds).then_some(&o.false_target_id)
            }
            ActionOption::ConditionDatetime(o) => {
                let tz = o
                    .timezone
                    .as_deref()
                    .map(|tz| condition::text(&mut s.left, tz, &self.vars, substitute));
                let holds = datetime::holds(o, tz, now.wall)?;
                (!holds).then_some(&o.false_target_id)
            }
            ActionOption::ConditionCallDigits(o) => {
                let holds = condition::call_digits(o, &self.vars, substitute, s);
                (!holds).then_some(&o.false_target_id)
            }
            ActionOption::ConditionCallStatus(o) => {
                let holds = condition::call_status(o, &self.vars, substitute, s);
                (!holds).then_some(&o.false_target_id)
            }
            ActionOption::VariableSet(o) => {
                let value = condition::text(&mut s.left, &o.value, &self.vars, substitute);
                self.vars.set_str(&o.key, value);
                None
            }
            _ => None,
        })
    }

    /// Reports how the in-flight command ended. Ignored when nothing is in flight (e.g.
    /// after [`Cursor::hangup`]). See [`Completion`] for what each kind does.
    pub fn complete(&mut self, now: Clock, completion: Completion) {
        let Some(f) = self.in_flight.take() else {
            return;
        };
        let Some(flow) = self.frames.last().map(|fr| Arc::clone(&fr.flow)) else {
            return;
        };
        let Some(action) = flow.actions.get(f.index) else {
            return;
        };
        let t = action.action_type;
        let mut pushed = None;
        let mut jump = None;
        let mut note = None;
        let mut dead_end = false;
        let outcome = match completion {
            Completion::Done => Outcome::Done,
            Completion::Failed(reason) => Outcome::Failed(reason),
            Completion::Timeout => {
                if let Command::Custom(o) = &f.command {
                    jump = o.default_target().cloned();
                }
                Outcome::Timeout
            }
            Completion::WebhookResponse { status, body } => self.webhook_response(t, status, body),
            Completion::Pushed(actions) if actions.is_empty() => Outcome::Done,
            Completion::Pushed(actions) if t.pushes_stack() => {
                let stack = Flow::from_actions(actions);
                match self.check_push(&stack, false) {
                    Ok(()) => {
                        pushed = Some(Frame::new(Arc::new(stack), None));
                        Outcome::Done
                    }
                    Err(reason) => Outcome::Failed(reason),
                }
            }
            Completion::Pushed(_) => Outcome::Failed(format!("`{t}` cannot push actions")),
            Completion::CustomEvent { event, payload } => match &f.command {
                Command::Custom(o) => {
                    note = self.custom_event(&event, &payload);
                    match custom_outcome(o, &event) {
                        CustomOutcome::Jump(id) => jump = Some(id),
                        CustomOutcome::DeadEnd => {
                            dead_end = true;
                            note = Some(match note {
                                Some(n) => format!("dead_end; {n}"),
                                None => "dead_end".into(),
                            });
                        }
                    }
                    Outcome::Done
                }
                _ => Outcome::Failed(format!("`{t}` got a custom event")),
            },
            Completion::CustomDefault => match &f.command {
                Command::Custom(o) => {
                    jump = o.default_target().cloned();
                    Outcome::Done
                }
                _ => Outcome::Failed(format!("`{t}` got a custom default")),
            },
            Completion::EnterCustomAction {
                actions,
                inputs,
                outputs,
            } => match &f.command {
                Command::CustomAction(o) => {
                    match self.enter_custom_action(o, actions, inputs, outputs) {
                        Ok(frame) => {
                            pushed = Some(frame);
                            Outcome::Done
                        }
                        Err(reason) => Outcome::Failed(reason),
                    }
                }
                _ => Outcome::Failed(format!("`{t}` cannot enter a custom action")),
            },
        };
        if jump.is_none() {
            jump = match (&f.command, &outcome) {
                (Command::ApiRequest(o), Outcome::Failed(_) | Outcome::Timeout) => {
                    o.failure_target_id.clone()
                }
                (Command::ApiAction(o), Outcome::Failed(_) | Outcome::Timeout) => {
                    o.failure_target_id.clone()
                }
                _ => None,
            };
        }
        self.record(action, f.started, now, outcome, note);
        if matches!(f.command, Command::Hangup { .. }) {
            self.end = Some(EndReason::Hangup);
        } else if dead_end {
            self.end = Some(EndReason::Finished);
        } else if let Some(mut frame) = pushed {
            if let Some(scope) = frame.scope.as_mut() {
                // The inner scope was built into `caller_vars`; swap it in.
                std::mem::swap(&mut scope.caller_vars, &mut self.vars);
            }
            self.frames.push(frame);
        } else {
            self.advance(f.index, jump.as_ref());
        }
    }

    fn webhook_response(
        &mut self,
        t: ActionType,
        status: u16,
        body: Option<serde_json::Value>,
    ) -> Outcome {
        if t != ActionType::WebhookSend {
            return Outcome::Failed(format!("`{t}` got a webhook response"));
        }
        self.vars.set("webhook.status", status.to_string());
        if !(200..300).contains(&status) {
            return Outcome::Failed(format!("HTTP status {status}"));
        }
        match body.map(|b| flatten_json(&b)) {
            Some(fields) if !fields.is_empty() => match self.vars.merge_external(fields) {
                Ok(()) => Outcome::Done,
                Err(p) => Outcome::Failed(format!("response variables refused: {}", p.message)),
            },
            _ => Outcome::Done,
        }
    }

    /// A pushed list is acceptable when the depth allows it and every jump target it names
    /// is in the list or, unless it is a custom action (`local`), in a stack its jumps can
    /// reach (see [`Cursor::lookup_floor`]).
    fn check_push(&self, stack: &Flow, local: bool) -> Result<(), String> {
        if self.frames.len() >= MAX_STACK_DEPTH {
            return Err(format!("more than {MAX_STACK_DEPTH} nested stacks"));
        }
        let visible = if local {
            &[][..]
        } else {
            &self.frames[self.lookup_floor()..]
        };
        let mut targets = Vec::new();
        for a in &stack.actions {
            targets.clear();
            spec::jump_targets(spec::fields(a.action_type), &a.option, &mut targets);
            targets.extend(a.next_id.as_ref().map(ActionId::as_str));
            for id in &targets {
                let known = stack.position(id).is_some()
                    || visible.iter().any(|fr| fr.flow.position(id).is_some());
                if !known {
                    return Err(format!(
                        "action `{}` jumps to `{id}`, which does not exist",
                        a.id
                    ));
                }
            }
        }
        Ok(())
    }

    /// The call hung up: the activeflow ends with [`EndReason::Hangup`]. An in-flight command
    /// is logged `done` if it was the `hangup` itself, else `failed: the call hung up`.
    pub fn hangup(&mut self, now: Clock) {
        self.interrupt(now, EndReason::Hangup, "the call hung up");
    }

    /// Stopped through the API: the activeflow ends with [`EndReason::Api`] (the shell hangs
    /// the call up). An in-flight command is logged `failed: stopped through the API`.
    pub fn stop(&mut self, now: Clock) {
        self.interrupt(now, EndReason::Api, "stopped through the API");
    }

    fn interrupt(&mut self, now: Clock, reason: EndReason, why: &str) {
        if self.end.is_some() {
            return;
        }
        if let Some(f) = self.in_flight.take() {
            let flow = self.frames.last().map(|fr| Arc::clone(&fr.flow));
            if let Some(action) = flow.as_ref().and_then(|fl| fl.actions.get(f.index)) {
                let outcome = match (&f.command, reason) {
                    (Command::Hangup { .. }, EndReason::Hangup) => Outcome::Done,
                    _ => Outcome::Failed(why.into()),
                };
                self.record(action, f.started, now, outcome, None);
            }
        }
        self.end = Some(reason);
    }

    /// Current status.
    pub fn status(&self) -> Status {
        match (&self.end, &self.in_flight) {
            (Some(_), _) => Status::Ended,
            (
                None,
                Some(InFlight {
                    command: Command::Custom(_),
                    ..
                }),
            ) => Status::Waiting,
            _ => Status::Running,
        }
    }

    /// Why the activeflow ended, once it has.
    pub fn end_reason(&self) -> Option<EndReason> {
        self.end
    }

    /// The activeflow's variables: the current scope (inside a library custom action, its
    /// own scope; the caller's is restored when it is left).
    pub fn variables(&self) -> &Variables {
        &self.vars
    }

    /// Mutable variables of the current scope: the shell sets `call.digits`, `recording.*`,
    /// `amd.*` ... here before completing the command that produced them. Inside a custom
    /// action these writes stay inside it, like the custom action's own.
    pub fn variables_mut(&mut self) -> &mut Variables {
        &mut self.vars
    }

    /// The execution log, oldest first (the in-flight action is added when it completes).
    pub fn executed(&self) -> &[ExecutedAction] {
        &self.log
    }

    /// The action whose command is in flight, if any.
    pub fn current(&self) -> Option<&Action> {
        let f = self.in_flight.as_ref()?;
        self.frames.last()?.flow.actions.get(f.index)
    }

    /// Number of stacks (1 = only the main array).
    pub fn depth(&self) -> usize {
        self.frames.len()
    }

    /// Number of library custom actions the cursor is inside (0 = the caller's own flow).
    /// While it is above 0, [`Cursor::variables`] is the innermost custom action's scope.
    pub fn custom_action_depth(&self) -> usize {
        self.frames.iter().filter(|fr| fr.scope.is_some()).count()
    }

    /// Lowest stack jump targets are looked up in: the nearest custom-action stack, else the
    /// main array.
    fn lookup_floor(&self) -> usize {
        self.frames
            .iter()
            .rposition(|fr| fr.scope.is_some())
            .unwrap_or(0)
    }

    /// Moves past the action at `index` of the top stack: to `jump` if any, else its
    /// `next_id`, else the following element.
    fn advance(&mut self, index: usize, jump: Option<&ActionId>) {
        let Some(top) = self.frames.last_mut() else {
            return;
        };
        let target = match jump {
            Some(id) => Some(id.clone()),
            None => top.flow.actions.get(index).and_then(|a| a.next_id.clone()),
        };
        match target {
            None => top.pos = index + 1,
            Some(id) => self.jump(&id),
        }
    }

    /// Goes to action `id` in the top stack or the nearest lower stack holding it, never
    /// below the nearest custom-action stack.
    fn jump(&mut self, id: &ActionId) {
        for depth in (self.lookup_floor()..self.frames.len()).rev() {
            if let Some(i) = self.frames[depth].flow.position(id.as_str()) {
                self.frames.truncate(depth + 1);
                self.frames[depth].pos = i;
                return;
            }
        }
        if let Some(last) = self.log.last_mut() {
            last.note = Some(format!("jump target `{id}` not found: the flow ends"));
        }
        self.end = Some(EndReason::Error);
    }

    fn exceeded(&mut self, action: &Action, now: Clock, reason: String) -> Option<Step> {
        self.record(
            action,
            now,
            now,
            Outcome::Failed(reason),
            Some("budget_exceeded".into()),
        );
        self.end = Some(EndReason::BudgetExceeded);
        None
    }

    fn record(
        &mut self,
        action: &Action,
        started: Clock,
        now: Clock,
        outcome: Outcome,
        note: Option<String>,
    ) {
        self.log.push(ExecutedAction {
            id: action.id.clone(),
            action_type: action.action_type,
            tm_execute: started.wall,
            outcome,
            duration_ms: now.mono_ms.saturating_sub(started.mono_ms),
            note,
        });
    }
}
