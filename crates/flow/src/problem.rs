//! Problems found in a flow document, located by RFC 6901 JSON pointers.
//!
//! Validation never stops at the first problem: it collects every [`Problem`] into a
//! [`Report`]. A problem's `pointer` names the offending JSON value (or, for a missing field,
//! the place where it should be), its `message` is one plain sentence.

use std::fmt;

use serde::Serialize;

/// How bad a [`Problem`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// The flow is rejected (HTTP 400, CLI exit 1).
    Error,
    /// The flow is accepted; the author should look (deprecated types, unbounded loops).
    Warning,
}

/// One thing wrong with a flow document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
#[error("{pointer}: {message}")]
pub struct Problem {
    /// RFC 6901 pointer into the document, e.g. `/actions/3/option/target_id`; `""` is the root.
    pub pointer: String,
    /// One plain sentence saying what is wrong.
    pub message: String,
    /// Whether the problem rejects the flow.
    pub severity: Severity,
}

impl Problem {
    /// An error at `pointer`.
    pub fn error(pointer: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            pointer: pointer.into(),
            message: message.into(),
            severity: Severity::Error,
        }
    }

    /// A warning at `pointer`.
    pub fn warning(pointer: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            pointer: pointer.into(),
            message: message.into(),
            severity: Severity::Warning,
        }
    }

    /// True for [`Severity::Error`].
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

/// Every problem found in one document, in document order.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Report {
    /// Errors and warnings, in the order they were found.
    pub problems: Vec<Problem>,
}

impl Report {
    /// True when no problem is an error (warnings allowed).
    pub fn is_valid(&self) -> bool {
        !self.problems.iter().any(Problem::is_error)
    }

    /// The errors only.
    pub fn errors(&self) -> impl Iterator<Item = &Problem> {
        self.problems.iter().filter(|p| p.is_error())
    }

    /// The warnings only.
    pub fn warnings(&self) -> impl Iterator<Item = &Problem> {
        self.problems.iter().filter(|p| !p.is_error())
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for p in &self.problems {
            let tag = match p.severity {
                Severity::Error => "error",
                Severity::Warning => "warning",
            };
            writeln!(f, "{tag}: {p}")?;
        }
        Ok(())
    }
}

/// A JSON pointer being built while walking a document (RFC 6901).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Pointer(String);

impl Pointer {
    /// The pointer extended by one object key, escaped per RFC 6901 §3 (`~` → `~0`, `/` → `~1`).
    pub(crate) fn key(&self, key: &str) -> Pointer {
        let mut s = String::with_capacity(self.0.len() + key.len() + 1);
        s.push_str(&self.0);
        s.push('/');
        for c in key.chars() {
            match c {
                '~' => s.push_str("~0"),
                '/' => s.push_str("~1"),
                c => s.push(c),
            }
        }
        Pointer(s)
    }

    /// The pointer extended by one array index.
    pub(crate) fn index(&self, i: usize) -> Pointer {
        Pointer(format!("{}/{i}", self.0))
    }

    pub(crate) fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Pointer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pointer_escapes_tilde_and_slash_per_rfc6901() {
        let p = Pointer::default().key("actions").index(3).key("a/b~c");
        assert_eq!(p.as_str(), "/actions/3/a~1b~0c");
    }

    #[test]
    fn report_with_only_warnings_is_valid() {
        let r = Report {
            problems: vec![Problem::warning("/actions/0/type", "deprecated")],
        };
        assert!(r.is_valid());
        assert_eq!(r.warnings().count(), 1);
        assert_eq!(r.errors().count(), 0);
    }
}
