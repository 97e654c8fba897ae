//! The custom-action part of the cursor: `custom` events, entering a library sub-flow with its
//! own variable scope, `output`, and leaving back to the caller.

use super::*;

impl Cursor {
    /// Sets the variables of a `custom` event; `Some` is a note for the log.
    pub(super) fn custom_event(
        &mut self,
        event: &str,
        payload: &serde_json::Map<String, serde_json::Value>,
    ) -> Option<String> {
        let note = match self.vars.merge_external(payload_variables(payload)) {
            Ok(()) => None,
            Err(p) => Some(format!("payload variables refused: {}", p.message)),
        };
        self.vars.set_str("custom.event", event);
        note
    }

    /// Builds the stack of a library custom action. Its `scope.caller_vars` holds the
    /// *inner* scope until the push swaps it with the current variables.
    pub(super) fn enter_custom_action(
        &self,
        using: &CustomActionOption,
        actions: Vec<Action>,
        inputs: std::collections::BTreeMap<String, String>,
        outputs: Vec<String>,
    ) -> Result<Frame, String> {
        if self.custom_action_depth() >= MAX_CUSTOM_ACTION_DEPTH {
            return Err(format!(
                "custom actions nested more than {MAX_CUSTOM_ACTION_DEPTH} deep"
            ));
        }
        let stack = Flow::from_actions(actions);
        self.check_push(&stack, true)?;
        let scope = Scope {
            caller_vars: inner_scope(&self.vars, inputs),
            using: using.clone(),
            outputs,
        };
        Ok(Frame::new(Arc::new(stack), Some(Box::new(scope))))
    }

    /// Runs an `output` action (at `index` of the top stack).
    pub(super) fn output(
        &mut self,
        action: &Action,
        o: &OutputOption,
        index: usize,
        templated: bool,
        now: Clock,
    ) {
        let Some(depth) = self.frames.iter().rposition(|fr| fr.scope.is_some()) else {
            let note = "`output` outside a custom action: nothing to leave";
            self.record(action, now, now, Outcome::Skipped, Some(note.into()));
            self.advance(index, None);
            return;
        };
        let text = |s: &str, vars: &Variables| {
            if templated {
                substitute(s, vars)
            } else {
                s.to_owned()
            }
        };
        let path = text(&o.path, &self.vars);
        let exports: Vec<(String, String)> = o
            .variables
            .iter()
            .map(|(k, v)| (k.clone(), text(v, &self.vars)))
            .collect();
        let declared = &self.frames[depth]
            .scope
            .as_ref()
            .map_or(&[][..], |s| &s.outputs[..]);
        let (path, note) = if declared.contains(&path) {
            (Some(path), None)
        } else {
            let first = declared.first().cloned();
            let note = match &first {
                Some(first) => {
                    format!("output path `{path}` is not declared; leaving through `{first}`")
                }
                None => format!(
                    "output path `{path}` is not declared; the custom action declares no outputs"
                ),
            };
            (first, Some(note))
        };
        self.record(action, now, now, Outcome::Done, note);
        self.leave(depth, path.as_deref(), exports);
    }

    /// Leaves the custom action whose stack is at `depth` through `path`: drops it and every
    /// stack above, restores the caller's scope, exports `exports` as `<prefix>.<name>` and
    /// goes to the caller's target of `path` (else after the `custom_action`).
    pub(super) fn leave(
        &mut self,
        depth: usize,
        path: Option<&str>,
        exports: Vec<(String, String)>,
    ) {
        self.frames.truncate(depth + 1);
        let Some(frame) = self.frames.pop() else {
            return;
        };
        let Some(scope) = frame.scope else {
            return;
        };
        let Scope {
            caller_vars, using, ..
        } = *scope;
        self.vars = caller_vars;
        let prefix = using
            .alias
            .as_deref()
            .filter(|a| !a.is_empty())
            .unwrap_or(&using.name);
        for (k, v) in exports {
            self.vars.set(format!("{prefix}.{k}"), v);
        }
        let target = path.and_then(|p| using.outputs.get(p));
        match self.frames.last() {
            Some(caller) => {
                let at = caller.pos;
                self.advance(at, target);
            }
            None => self.end = Some(EndReason::Finished),
        }
    }
}
