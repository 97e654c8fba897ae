//! The `switchyard` binary: parse the command line, then hand over to [`server`].

fn main() -> std::process::ExitCode {
    server::main_with_args(std::env::args_os())
}
