//! The `switchyard` command: CLI, configuration, logging, wiring and graceful shutdown.
//!
//! `main` only parses arguments; [`run`] is the whole server, reachable from tests.

mod control;
mod output;
mod settings;
mod simulate;

use output::{note, out};

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

#[derive(Parser, Debug)]
#[command(
    name = "switchyard",
    version,
    about = "A programmable SIP voice server"
)]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand, Debug)]
enum Cmd {
    /// Run the server.
    Serve {
        /// Configuration file (TOML).
        #[arg(long, default_value = "config/switchyard.toml")]
        config: PathBuf,
    },
    /// Work with flow files.
    Flow {
        #[command(subcommand)]
        command: FlowCmd,
    },
    /// Print the version.
    Version,
}

#[derive(Subcommand, Debug)]
enum FlowCmd {
    /// Validate flow files: exit 0 when all are valid, else print `FILE: /pointer: message`.
    Validate {
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Print the JSON Schema of the flow format.
    Schema,
    /// Run a flow without a call: print each action, what would be spoken or played, and the
    /// variables at the end. webhook_send and fetch make real HTTP requests.
    Simulate {
        file: PathBuf,
        /// DTMF digits fed to digits_receive in order (default: read lines from stdin).
        #[arg(long)]
        digits: Option<String>,
        /// A variable `key=value` (repeatable).
        #[arg(long = "var", value_parser = parse_var)]
        vars: Vec<(String, String)>,
        /// Configuration file for the [http], [events] and [flow] settings.
        #[arg(long)]
        config: Option<PathBuf>,
    },
}

fn parse_var(s: &str) -> Result<(String, String), String> {
    s.split_once('=')
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .ok_or_else(|| format!("{s:?} is not key=value"))
}

/// Parse `args` and run the command.
pub fn main_with_args(args: impl IntoIterator<Item = std::ffi::OsString>) -> ExitCode {
    let cli = match Cli::try_parse_from(args) {
        Ok(c) => c,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() {
                ExitCode::from(2)
            } else {
                ExitCode::SUCCESS
            };
        }
    };
    match cli.command {
        Cmd::Version => {
            out!("switchyard {}", env!("CARGO_PKG_VERSION"));
            ExitCode::SUCCESS
        }
        Cmd::Flow {
            command: FlowCmd::Schema,
        } => {
            out!(
                "{}",
                serde_json::to_string_pretty(&flow::schema()).unwrap_or_default()
            );
            ExitCode::SUCCESS
        }
        Cmd::Flow {
            command: FlowCmd::Validate { files },
        } => validate(&files),
        Cmd::Flow {
            command:
                FlowCmd::Simulate {
                    file,
                    digits,
                    vars,
                    config,
                },
        } => {
            let config = match settings::load(config.as_deref(), std::env::vars()) {
                Ok(c) => c,
                Err(e) => {
                    note!("switchyard: {e:#}");
                    return ExitCode::from(2);
                }
            };
            simulate::run(simulate::Simulation {
                file,
                digits,
                vars,
                config,
            })
        }
        Cmd::Serve { config } => {
            init_tracing();
            let runtime = match tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()
            {
                Ok(r) => r,
                Err(e) => {
                    note!("switchyard: cannot start the async runtime: {e}");
                    return ExitCode::FAILURE;
                }
            };
            match runtime.block_on(serve(config)) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    note!("switchyard: {e:#}");
                    ExitCode::FAILURE
                }
            }
        }
    }
}

fn validate(files: &[PathBuf]) -> ExitCode {
    let mut failed = false;
    for file in files {
        match runtime::flows::load_file(file) {
            Ok((_, _, warnings)) => {
                for w in warnings {
                    note!("{w} (warning)");
                }
            }
            Err(problems) => {
                for p in problems {
                    if p.warning {
                        note!("{p} (warning)");
                    } else {
                        failed = true;
                        out!("{p}");
                    }
                }
            }
        }
    }
    if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("SWITCHYARD_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .try_init();
}

/// Run the server with the configuration at `config_path` until SIGTERM/SIGINT.
pub async fn serve(config_path: PathBuf) -> Result<()> {
    let config = settings::load(Some(&config_path), std::env::vars())?;
    run(config, shutdown_signal()).await
}

/// Run the server with `config` until `shutdown` resolves, then drain calls and exit.
pub async fn run(
    config: runtime::Config,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> Result<()> {
    let drain = Duration::from_millis(config.shutdown.drain_timeout_ms);
    let api_listen = config.api.listen.clone();
    let token = config.api.token.clone();
    let token_required = !token.is_empty();
    let rt = Arc::new(runtime::Runtime::start(config).await?);
    for a in rt.sip_addrs() {
        tracing::info!(transport = ?a.transport, addr = %a.addr, "SIP ready");
    }
    let listener = tokio::net::TcpListener::bind(&api_listen)
        .await
        .with_context(|| format!("cannot listen for the API on {api_listen}"))?;
    if !token_required && !listener.local_addr()?.ip().is_loopback() {
        anyhow::bail!(
            "api.token is empty but api.listen ({api_listen}) is not a loopback address; set a token"
        );
    }
    tracing::info!(addr = %listener.local_addr()?, "API ready");
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let store = rt.store().cloned().context("the runtime has no store")?;
    let control = Arc::new(control::Control {
        runtime: rt.clone(),
    });
    let router = api::router(api::AppState {
        control: control.clone(),
        catalog: control,
        capabilities: runtime::flows::capabilities(),
        recordings_dir: rt.config().recordings.dir.clone(),
        store,
        token: Arc::from(token.as_str()),
    });
    let http = tokio::spawn(api::serve(listener, router, async move {
        let _ = stop_rx.await;
    }));
    shutdown.await;
    tracing::info!("shutdown requested: refusing new calls, draining");
    drain_calls(&rt, drain).await;
    rt.stop_listening();
    let _ = stop_tx.send(());
    let _ = http.await;
    tracing::info!("stopped");
    Ok(())
}

async fn drain_calls(rt: &runtime::Runtime, drain: Duration) {
    rt.begin_shutdown();
    let deadline = tokio::time::Instant::now() + drain;
    while rt.active_calls() > 0 && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    if rt.active_calls() > 0 {
        tracing::warn!(
            active = rt.active_calls(),
            "drain timeout: calls still up at exit"
        );
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
}
