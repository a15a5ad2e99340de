//! `agent-gateway`: run, validate a config, or start a ready-to-try gateway.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use agent_gateway::{config, runtime};

#[derive(Parser)]
#[command(
    name = "agent-gateway",
    version,
    about = "Secures, connects and observes agent-to-tool (MCP) and agent-to-agent (A2A) traffic"
)]
struct Cli {
    /// Log format: text (default) or json.
    #[arg(long, global = true, default_value = "text")]
    log_format: String,
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
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Validate { file } => {
            ExitCode::from(config::validate_command(&file, &mut std::io::stdout()) as u8)
        }
        Command::Run { config } => {
            init_logging(&cli.log_format);
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
            serve(loaded.config, None)
        }
        Command::Quickstart { port } => {
            init_logging(&cli.log_format);
            serve(quickstart_config(port), Some(port))
        }
    }
}

fn quickstart_config(port: u16) -> config::GatewayConfig {
    let text =
        include_str!("../examples/quickstart.yaml").replace("port: 8080", &format!("port: {port}"));
    config::load_str(&text, "examples/quickstart.yaml")
        .expect("the bundled quickstart config is valid")
        .config
}

fn serve(config: config::GatewayConfig, quickstart_port: Option<u16>) -> ExitCode {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    runtime.block_on(async move {
        let running = match runtime::start(&config).await {
            Ok(r) => r,
            Err(e) => {
                tracing::error!("cannot start: {e}");
                return ExitCode::from(1);
            }
        };
        for address in &running.addresses {
            tracing::info!(%address, "listening");
        }
        if let Some(port) = quickstart_port {
            print_quickstart(port);
        }
        wait_for_signal().await;
        tracing::info!("shutting down: no new connections, in-flight requests get 10s");
        running.shutdown.cancel();
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        ExitCode::SUCCESS
    })
}

fn print_quickstart(port: u16) {
    println!(
        r#"
Agent Gateway is running on http://127.0.0.1:{port}/mcp with the built-in sample upstream.

List the tools:
  curl -s http://127.0.0.1:{port}/mcp -H 'Content-Type: application/json' \
    -d '{{"jsonrpc":"2.0","id":1,"method":"tools/list"}}'

Call one (the user's guide, step 6.2):
  curl -s http://127.0.0.1:{port}/mcp -H 'Content-Type: application/json' \
    -d '{{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{{"name":"get_weather_data","arguments":{{"city":"Tampa, FL"}}}}}}'

Upstream health: http://127.0.0.1:{port}/health/upstreams   Stop: Ctrl-C
"#
    );
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

fn init_logging(format: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if format == "json" {
        builder.json().init();
    } else {
        builder.init();
    }
}
