//! What the commands print. A reader that goes away (`switchyard flow schema | head`) ends the
//! command quietly with status 0, instead of the panic `println!` gives on a broken pipe.

use std::io::Write;

/// Write one line to stdout, or exit quietly when nobody reads it any more.
pub fn line(text: std::fmt::Arguments<'_>) {
    let mut out = std::io::stdout().lock();
    if out
        .write_fmt(text)
        .and_then(|()| out.write_all(b"\n"))
        .is_err()
    {
        std::process::exit(0);
    }
}

/// Write one line to stderr; a closed stderr is ignored.
pub fn line_to_stderr(text: std::fmt::Arguments<'_>) {
    let mut err = std::io::stderr().lock();
    let _ = err.write_fmt(text).and_then(|()| err.write_all(b"\n"));
}

/// `println!` for the commands' output (see the module docs).
macro_rules! out {
    ($($arg:tt)*) => { $crate::output::line(format_args!($($arg)*)) };
}

/// `eprintln!` that never panics.
macro_rules! note {
    ($($arg:tt)*) => { $crate::output::line_to_stderr(format_args!($($arg)*)) };
}

pub(crate) use {note, out};
