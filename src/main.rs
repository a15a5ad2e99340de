//! `agent-gateway`: run, validate a config, or start a ready-to-try gateway.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use agent_gateway::cli::{inspect, quickstart, registry, start};
use agent_gateway::config;
use agent_gateway::core::http::shutdown::{Drained, InFlight};
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
    /// Pin every tool, prompt and resource template of the config's upstreams (`registry.path`), and
    /// check for drift against the pins.
    Registry {
        #[command(subcommand)]
        action: RegistryAction,
    },
}

#[derive(Subcommand)]
enum RegistryAction {
    /// Discover every upstream and write the lock (and an entry for each backend without one).
    Lock {
        #[arg(long, short)]
        config: PathBuf,
    },
    /// Print what drifted since the lock, classified.
    Diff {
        #[arg(long, short)]
        config: PathBuf,
    },
    /// Take the current definitions of the named servers (or SERVER/TOOL) into the lock.
    Approve {
        #[arg(long, short)]
        config: PathBuf,
        names: Vec<String>,
        #[arg(long)]
        all: bool,
    },
    /// Exit 0 when every upstream and entry matches the lock (and its signature, with
    /// registry.publicKey), 1 otherwise (for CI).
    Verify {
        #[arg(long, short)]
        config: PathBuf,
    },
    /// Sign the lock with the private key in KEY (from `keygen`): writes lock.json.sig.
    Sign {
        #[arg(long, short)]
        config: PathBuf,
        #[arg(long)]
        key: PathBuf,
    },
    /// Make a signing key pair: the private key into OUT (readable by its owner only), the public key
    /// for registry.publicKey on stdout.
    Keygen {
        #[arg(long)]
        out: PathBuf,
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
                // The bound port, not `--port`: with `--port 0` the system picks it.
                Some(Box::new(move |bound| {
                    quickstart::instructions(bound, token.as_deref())
                })),
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
            offline(&config, |c| async move {
                let report = inspect::catalogue(&c, &principal).await?;
                Ok(registry::Outcome { report, exit: 0 })
            })
        }
        Command::Registry { action } => {
            init_logging(cli.log_format.as_deref().unwrap_or("text"));
            let (config, action) = match action {
                RegistryAction::Lock { config } => (config, registry::Action::Lock),
                RegistryAction::Diff { config } => (config, registry::Action::Diff),
                RegistryAction::Approve { config, names, all } => {
                    (config, registry::Action::Approve { names, all })
                }
                RegistryAction::Verify { config } => (config, registry::Action::Verify),
                RegistryAction::Sign { config, key } => (config, registry::Action::Sign { key }),
                RegistryAction::Keygen { out } => return keygen(&out),
            };
            offline(&config, |c| async move { registry::run(&c, action).await })
        }
    }
}

/// `registry keygen`: the private key into `out`, created readable by its owner only and never
/// overwritten; the public key on stdout.
fn keygen(out: &std::path::Path) -> ExitCode {
    use std::io::Write as _;
    use std::os::unix::fs::OpenOptionsExt as _;
    let (private, public) = agent_gateway::registry::signature::keygen();
    let written = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(out)
        .and_then(|mut file| writeln!(file, "{private}"));
    match written {
        Ok(()) => {
            println!(
                "private key: {} (keep it out of the cluster)",
                out.display()
            );
            println!("registry:\n  publicKey: {public}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("{}: {e}", out.display());
            ExitCode::from(1)
        }
    }
}

/// A subcommand that reads the config file and works against its upstreams without serving: prints
/// the report and exits with the status it asks for, or names the file and the problem.
fn offline<F: std::future::Future<Output = Result<registry::Outcome, String>>>(
    path: &std::path::Path,
    work: impl FnOnce(config::GatewayConfig) -> F,
) -> ExitCode {
    let loaded = match config::load_file(path) {
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
    match runtime.block_on(work(loaded.config)) {
        Ok(outcome) => {
            print!("{}", outcome.report);
            ExitCode::from(outcome.exit)
        }
        Err(e) => {
            eprintln!("{}: {e}", path.display());
            ExitCode::from(2)
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

/// Serves until SIGINT/SIGTERM, then drains (`core::http::shutdown`): exit 0 once drained or once the grace
/// period is up (the process did what was asked; the log says what was cut), or at once on a second signal.
/// `banner`, given the first listener's port, is printed once every listener is up; with `watch`, the config file is reloaded when it changes.
/// `explain` turns a start-up error into one that names the setting to change (a port that cannot be
/// bound: `--port`, or the file's `binds[i].port`).
fn serve_on(
    runtime: tokio::runtime::Runtime,
    config: config::GatewayConfig,
    banner: Option<Box<dyn FnOnce(u16) -> String>>,
    watch: Option<PathBuf>,
    explain: impl FnOnce(&config::GatewayConfig, &str) -> String,
) -> ExitCode {
    let (code, forced) = runtime.block_on(async move {
        // Before serving, so that no signal falls between two waits.
        let mut signals = Signals::new();
        let running = match runtime::start(&config).await {
            Ok(r) => r,
            Err(e) => {
                tracing::error!("cannot start: {}", explain(&config, &e));
                return (ExitCode::from(1), false);
            }
        };
        for address in &running.addresses {
            tracing::info!(%address, "listening");
        }
        if let Some(address) = running.metrics {
            tracing::info!(%address, "serving metrics");
        }
        let running = std::sync::Arc::new(running);
        if let Some(path) = watch {
            running.watch(path);
        }
        if let (Some(banner), Some(first)) = (banner, running.addresses.first()) {
            println!("{}", banner(first.port()));
        }
        let signal = signals.next().await;
        let grace = running.grace_period();
        let open = running.stop_accepting().await;
        tracing::info!(
            signal = signal.name,
            grace_period_secs = grace.as_secs_f64(),
            connections = open.connections,
            requests = open.requests,
            streams = open.streams,
            "shutting down: no new connections; requests in flight get {grace:?} to finish"
        );
        tokio::select! {
            drained = running.drain(grace) => {
                report(&drained, open, grace);
                (ExitCode::SUCCESS, false)
            }
            second = signals.next() => {
                let requests = running.in_flight().requests;
                tracing::warn!(signal = second.name, requests, "second signal: exiting now, {} in flight cut", count(requests, "request"));
                (ExitCode::from(128 + second.number), true)
            }
        }
    });
    if forced {
        // Without waiting for anything, blocking tasks included.
        runtime.shutdown_background();
    }
    code
}

/// The last line of a shutdown: drained, or how much the grace period cut.
fn report(drained: &Drained, open: InFlight, grace: std::time::Duration) {
    let took_ms = drained.took.as_millis() as u64;
    if drained.cut == 0 && drained.dropped == 0 {
        tracing::info!(
            took_ms,
            requests = open.requests,
            streams = open.streams,
            connections = open.connections,
            "drained: {} finished, {} ended, {} closed; exiting",
            count(open.requests, "request"),
            count(open.streams, "stream"),
            count(open.connections, "connection")
        );
    } else {
        tracing::warn!(
            took_ms,
            cut = drained.cut,
            dropped = drained.dropped,
            "grace period of {grace:?} expired: {} in flight cut, {} closed; exiting",
            count(drained.cut, "request"),
            count(drained.dropped, "connection")
        );
    }
}

fn count(n: usize, what: &str) -> String {
    format!("{n} {what}{}", if n == 1 { "" } else { "s" })
}

/// SIGINT and SIGTERM, listened to from start-up to exit.
struct Signals {
    #[cfg(unix)]
    interrupt: tokio::signal::unix::Signal,
    #[cfg(unix)]
    terminate: tokio::signal::unix::Signal,
}

struct Received {
    name: &'static str,
    /// For the exit code of a forced exit: 128 + the signal's number, as a shell reports a kill.
    number: u8,
}

impl Signals {
    fn new() -> Signals {
        #[cfg(unix)]
        let signals = {
            use tokio::signal::unix::{SignalKind, signal};
            Signals {
                interrupt: signal(SignalKind::interrupt()).expect("SIGINT handler"),
                terminate: signal(SignalKind::terminate()).expect("SIGTERM handler"),
            }
        };
        #[cfg(not(unix))]
        let signals = Signals {};
        signals
    }

    async fn next(&mut self) -> Received {
        const INT: Received = Received {
            name: "SIGINT",
            number: 2,
        };
        #[cfg(unix)]
        let received = tokio::select! {
            _ = self.interrupt.recv() => INT,
            _ = self.terminate.recv() => Received { name: "SIGTERM", number: 15 },
        };
        #[cfg(not(unix))]
        let received = {
            let _ = tokio::signal::ctrl_c().await;
            INT
        };
        received
    }
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
