//! `agent-gateway`: run, validate a config, or start a ready-to-try gateway.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use agent_gateway::cli::{inspect, quickstart, start};
use agent_gateway::config;
use agent_gateway::gateway::runtime;

/// Many small short-lived allocations per request (JSON values, headers) from several worker threads:
/// mimalloc's thread-local free lists serve them with less CPU and no arena locks.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(
    name = "agent-gateway",
    version,
    about = "Secures, connects and observes agent-to-tool (MCP) and agent-to-agent (A2A) traffic"
)]
struct Cli {
    /// Log format: json (default for `run`: one access-log line per request) or text (default otherwise).
    #[arg(long, global = true, value_parser = ["json", "text"])]
    log_format: Option<String>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the binds, listeners and routes of a config file.
    Run {
        #[arg(long, short)]
        config: PathBuf,
    },
    /// Check a config file and print every problem as file:line:column: field: message.
    Validate { file: PathBuf },
    /// Start a gateway on 127.0.0.1 with the built-in sample upstream (the guide's six tools).
    Quickstart {
        #[arg(long, default_value_t = 8080)]
        port: u16,
        /// Require a bearer token: prints a ready token for a sample principal allowed three tools.
        #[arg(long)]
        auth: bool,
    },
    /// Print the JSON Schema of the config file (for editors; see docs/config.md).
    Schema,
    /// Show the tools a principal would see through each MCP route, and why the others are hidden.
    Catalogue {
        #[arg(long, short)]
        config: PathBuf,
        /// The principal, e.g. system:serviceaccount:agent-core-infra:ekspoc-v6-kagent-agent-sa
        #[arg(long = "as")]
        principal: String,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Validate { file } => {
            ExitCode::from(config::validate_command(&file, &mut std::io::stdout()) as u8)
        }
        Command::Run { config } => {
            init_logging(cli.log_format.as_deref().unwrap_or("json"));
            let loaded = match config::load_file(&config) {
                Ok(loaded) => loaded,
                Err(diagnostics) => {
                    for d in diagnostics {
                        eprintln!("{d}");
                    }
                    eprintln!("{}: invalid config; nothing started", config.display());
                    return ExitCode::from(1);
                }
            };
            for d in &loaded.diagnostics {
                tracing::info!("{d}");
            }
            serve(loaded.config, config)
        }
        Command::Quickstart { port, auth } => {
            init_logging(cli.log_format.as_deref().unwrap_or("text"));
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()
                .expect("tokio runtime");
            let (config, token) = runtime.block_on(async {
                if !auth {
                    return (quickstart::config(port, None), None);
                }
                let issuer = quickstart::Issuer::generate();
                let jwks = issuer
                    .serve_jwks()
                    .await
                    .expect("a loopback port for the quickstart JWKS");
                (
                    quickstart::config(port, Some(jwks)),
                    Some(issuer.token(quickstart::PRINCIPAL)),
                )
            });
            serve_on(
                runtime,
                config,
                Some(quickstart::instructions(port, token.as_deref())),
                None,
                |_, e| start::quickstart(port, e),
            )
        }
        Command::Schema => {
            println!(
                "{}",
                serde_json::to_string_pretty(&config::schema::json_schema())
                    .expect("the schema serializes")
            );
            ExitCode::SUCCESS
        }
        Command::Catalogue { config, principal } => {
            init_logging(cli.log_format.as_deref().unwrap_or("text"));
            let loaded = match config::load_file(&config) {
                Ok(loaded) => loaded,
                Err(diagnostics) => {
                    diagnostics.iter().for_each(|d| eprintln!("{d}"));
                    return ExitCode::from(1);
                }
            };
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()
                .expect("tokio runtime");
            match runtime.block_on(inspect::catalogue(&loaded.config, &principal)) {
                Ok(report) => {
                    print!("{report}");
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("{}: {e}", config.display());
                    ExitCode::from(1)
                }
            }
        }
    }
}

/// `run`: serves the config file and reloads it when it changes.
fn serve(config: config::GatewayConfig, path: PathBuf) -> ExitCode {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    serve_on(runtime, config, None, Some(path), start::run)
}

/// Serves until SIGINT/SIGTERM; `banner` is printed once every listener is up; with `watch`, the config
/// file is reloaded when it changes. `explain` turns a start-up error into one that names the setting to
/// change (a port that cannot be bound: `--port`, or the file's `binds[i].port`).
fn serve_on(
    runtime: tokio::runtime::Runtime,
    config: config::GatewayConfig,
    banner: Option<String>,
    watch: Option<PathBuf>,
    explain: impl FnOnce(&config::GatewayConfig, &str) -> String,
) -> ExitCode {
    runtime.block_on(async move {
        let running = match runtime::start(&config).await {
            Ok(r) => r,
            Err(e) => {
                tracing::error!("cannot start: {}", explain(&config, &e));
                return ExitCode::from(1);
            }
        };
        for address in &running.addresses {
            tracing::info!(%address, "listening");
        }
        let running = std::sync::Arc::new(running);
        if let Some(path) = watch {
            running.watch(path);
        }
        if let Some(banner) = banner {
            println!("{banner}");
        }
        wait_for_signal().await;
        tracing::info!("shutting down: no new connections, in-flight requests get 10s");
        running.shutdown.cancel();
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        ExitCode::SUCCESS
    })
}

async fn wait_for_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .expect("SIGTERM handler");
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
}

/// Logs to stderr, filtered like `RUST_LOG` (default `info`). `json`: one JSON object per line, the access
/// log's lines (target `access`) included; `text`: the human format.
fn init_logging(format: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if format == "json" {
        builder
            .event_format(agent_gateway::core::telemetry::json_lines::JsonLines)
            .init();
    } else {
        builder.init();
    }
}
