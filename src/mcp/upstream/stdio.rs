//! Upstreams that run as a child process speaking newline-delimited JSON-RPC on stdin/stdout. The process
//! is the gateway's: restarted with backoff when it dies, killed when the gateway drops it, its stderr
//! logged. One process serves every caller, so the gateway rewrites ids and routes each reply to its caller.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, Command};
use tokio::sync::{Notify, mpsc, oneshot};
use tokio_util::sync::CancellationToken;

use super::one_request::OneRequest;
use super::{CallCtx, SessionCache, UpstreamError, UpstreamEvent};
use crate::core::jsonrpc;
use crate::mcp::protocol::version;

const MAX_LINE: usize = 16 * 1024 * 1024;

/// Calls in flight: reply channel, the caller's event sink, and the caller's own progress token (ours
/// replaces it on the wire, so one caller's progress can never reach another).
type Pending = Arc<Mutex<HashMap<u64, InFlight>>>;

struct InFlight {
    reply: oneshot::Sender<Value>,
    events: Option<super::EventSink>,
    progress_token: Option<Value>,
}

/// One child process and the calls in flight on it.
struct Process {
    outbox: mpsc::Sender<String>,
    pending: Pending,
    next_id: AtomicU64,
    /// Set while a process is up and initialized.
    ready: Arc<tokio::sync::watch::Sender<bool>>,
    stop: CancellationToken,
}

/// A stdio backend: one child process per caller (the gateway's discovery is a caller too), so no upstream
/// session is shared between callers. Processes beyond the cap are stopped, least recently used first.
/// A one-request caller's child is its own, stopped when the request ends.
pub struct StdioUpstream {
    pub name: String,
    settings: StdioSettings,
    processes: SessionCache<Arc<Process>>,
    one_request: OneRequest<Arc<Process>>,
    pub changed: Arc<Notify>,
}

/// Child processes one stdio backend runs at most.
const PROCESSES_PER_BACKEND: usize = 64;

impl StdioUpstream {
    pub fn new(settings: StdioSettings) -> StdioUpstream {
        StdioUpstream {
            name: settings.name.clone(),
            settings,
            processes: SessionCache::new(PROCESSES_PER_BACKEND),
            one_request: OneRequest::default(),
            changed: Arc::default(),
        }
    }

    async fn process(&self, ctx: &CallCtx) -> Arc<Process> {
        let spawn = || Arc::new(Process::spawn(&self.settings, self.changed.clone()));
        if ctx.one_request {
            let made = self.one_request.get_or_make(&ctx.caller_key, || async {
                Ok::<_, std::convert::Infallible>(spawn())
            });
            let Ok(process) = made.await;
            return process;
        }
        if let Some(process) = self.processes.get(&ctx.caller_key) {
            return process;
        }
        let process = spawn();
        self.processes.insert(&ctx.caller_key, process.clone());
        process
    }

    pub fn end_one_request(&self, ctx: &CallCtx) {
        self.one_request.end(&ctx.caller_key);
    }

    pub async fn request(
        &self,
        ctx: &CallCtx,
        method: &str,
        params: Value,
    ) -> Result<Value, UpstreamError> {
        self.process(ctx).await.request(ctx, method, params).await
    }

    pub async fn notify(
        &self,
        ctx: &CallCtx,
        method: &str,
        params: Value,
    ) -> Result<(), UpstreamError> {
        self.process(ctx).await.notify(method, params).await
    }
}

pub struct StdioSettings {
    pub name: String,
    pub command: String,
    pub args: Vec<String>,
    pub env: BTreeMap<String, String>,
}

impl Process {
    fn spawn(settings: &StdioSettings, changed: Arc<Notify>) -> Process {
        let (outbox, inbox) = mpsc::channel(256);
        let pending: Pending = Arc::default();
        let (ready, _) = tokio::sync::watch::channel(false);
        let ready = Arc::new(ready);
        let stop = CancellationToken::new();
        tokio::spawn(supervise(
            settings.clone_for_task(),
            inbox,
            pending.clone(),
            ready.clone(),
            changed.clone(),
            stop.clone(),
        ));
        Process {
            outbox,
            pending,
            next_id: AtomicU64::new(1),
            ready,
            stop,
        }
    }

    async fn request(
        &self,
        ctx: &CallCtx,
        method: &str,
        params: Value,
    ) -> Result<Value, UpstreamError> {
        self.wait_ready().await?;
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        if let Some(slot) = &ctx.upstream_id {
            let _ = slot.set(json!(id));
        }
        let (tx, rx) = oneshot::channel();
        let mut params = params;
        version::strip_stateless_meta(&mut params);
        let progress_token = params
            .get_mut("_meta")
            .and_then(|m| m.as_object_mut())
            .and_then(|m| {
                let original = m.remove("progressToken")?;
                m.insert("progressToken".into(), json!(format!("agw-{id}")));
                Some(original)
            });
        self.pending.lock().unwrap().insert(
            id,
            InFlight {
                reply: tx,
                events: ctx.events.clone(),
                progress_token,
            },
        );
        let line = jsonrpc::request(&json!(id), method, params).to_string();
        if self.outbox.send(line).await.is_err() {
            self.pending.lock().unwrap().remove(&id);
            return Err(UpstreamError::Connect("stdio upstream stopped".into()));
        }
        let reply = rx.await.map_err(|_| {
            UpstreamError::Connect("the upstream process exited before replying".into())
        });
        self.pending.lock().unwrap().remove(&id);
        reply
    }

    async fn notify(&self, method: &str, params: Value) -> Result<(), UpstreamError> {
        self.outbox
            .send(jsonrpc::notification(method, params).to_string())
            .await
            .map_err(|_| UpstreamError::Connect("stdio upstream stopped".into()))
    }

    async fn wait_ready(&self) -> Result<(), UpstreamError> {
        let mut ready = self.ready.subscribe();
        tokio::time::timeout(Duration::from_secs(30), ready.wait_for(|up| *up))
            .await
            .map_err(|_| {
                UpstreamError::Connect("the upstream process is not running (restarting)".into())
            })?
            .map(|_| ())
            .map_err(|_| UpstreamError::Connect("stdio upstream stopped".into()))
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

impl StdioSettings {
    fn clone_for_task(&self) -> StdioSettings {
        StdioSettings {
            name: self.name.clone(),
            command: self.command.clone(),
            args: self.args.clone(),
            env: self.env.clone(),
        }
    }
}

/// Keeps one child running: start, initialize, pump messages; on exit fail what is pending and restart
/// after a growing delay (1s doubling to 30s, back to 1s after a minute of good health).
async fn supervise(
    settings: StdioSettings,
    mut inbox: mpsc::Receiver<String>,
    pending: Pending,
    ready: Arc<tokio::sync::watch::Sender<bool>>,
    changed: Arc<Notify>,
    stop: CancellationToken,
) {
    let mut delay = Duration::from_secs(1);
    loop {
        let started = tokio::time::Instant::now();
        match start(&settings) {
            Ok(child) => {
                let outcome = run(
                    &settings.name,
                    child,
                    &mut inbox,
                    &pending,
                    &ready,
                    &changed,
                    &stop,
                )
                .await;
                ready.send_replace(false);
                pending.lock().unwrap().clear();
                if stop.is_cancelled() {
                    return;
                }
                tracing::warn!(upstream = %settings.name, reason = %outcome, "stdio upstream exited; restarting in {delay:?}");
            }
            Err(e) => {
                tracing::error!(upstream = %settings.name, command = %settings.command, error = %e, "cannot start stdio upstream; retrying in {delay:?}")
            }
        }
        if started.elapsed() > Duration::from_secs(60) {
            delay = Duration::from_secs(1);
        }
        tokio::select! {
            _ = tokio::time::sleep(delay) => {}
            _ = stop.cancelled() => return,
        }
        delay = (delay * 2).min(Duration::from_secs(30));
    }
}

fn start(settings: &StdioSettings) -> std::io::Result<Child> {
    Command::new(&settings.command)
        .args(&settings.args)
        .envs(&settings.env)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
}

async fn run(
    name: &str,
    mut child: Child,
    inbox: &mut mpsc::Receiver<String>,
    pending: &Pending,
    ready: &tokio::sync::watch::Sender<bool>,
    changed: &Notify,
    stop: &CancellationToken,
) -> String {
    let mut stdin = child.stdin.take().expect("piped stdin");
    let mut stdout = BufReader::new(child.stdout.take().expect("piped stdout"));
    if let Some(stderr) = child.stderr.take() {
        let name = name.to_string();
        tokio::spawn(async move {
            let mut lines = BufReader::new(stderr).lines();
            while let Ok(Some(line)) = lines.next_line().await {
                tracing::info!(upstream = %name, "stderr: {line}");
            }
        });
    }
    let init = jsonrpc::request(
        &json!("agw-init"),
        "initialize",
        json!({"protocolVersion": version::LATEST_SESSION, "capabilities": {}, "clientInfo": {"name": "agent-gateway", "version": env!("CARGO_PKG_VERSION")}}),
    );
    if let Err(e) = write_line(&mut stdin, &init.to_string()).await {
        return format!("cannot write to stdin: {e}");
    }
    let mut line = String::new();
    loop {
        tokio::select! {
            _ = stop.cancelled() => { let _ = child.kill().await; return "stopped".into(); }
            status = child.wait() => return format!("process exited: {status:?}"),
            outgoing = inbox.recv() => {
                let Some(outgoing) = outgoing else { let _ = child.kill().await; return "gateway dropped the upstream".into() };
                if let Err(e) = write_line(&mut stdin, &outgoing).await { return format!("cannot write to stdin: {e}"); }
            }
            read = read_line(&mut stdout, &mut line) => {
                match read {
                    Ok(0) => return "stdout closed".into(),
                    Ok(_) => {}
                    Err(e) => return format!("cannot read stdout: {e}"),
                }
                let Ok(message) = serde_json::from_str::<Value>(line.trim()) else {
                    tracing::warn!(upstream = %name, "ignoring non-JSON line on stdout");
                    continue;
                };
                if message["id"] == "agw-init" && message.get("method").is_none() {
                    let _ = write_line(&mut stdin, &jsonrpc::notification("notifications/initialized", Value::Null).to_string()).await;
                    ready.send_replace(true);
                    continue;
                }
                route_incoming(message, pending, changed, &mut stdin).await;
            }
        }
    }
}

async fn route_incoming(
    message: Value,
    pending: &Pending,
    changed: &Notify,
    stdin: &mut tokio::process::ChildStdin,
) {
    match (
        message.get("method").and_then(Value::as_str),
        message.get("id"),
    ) {
        (None, Some(id)) => {
            if let Some(call) = id
                .as_u64()
                .and_then(|id| pending.lock().unwrap().remove(&id))
            {
                let _ = call.reply.send(message);
            }
        }
        (Some(method), None) => {
            if method.ends_with("/list_changed") {
                changed.notify_one();
            }
            // Progress reaches the one caller whose token it carries; other notifications of a shared
            // process cannot be attributed to a caller and are only logged.
            let token = message["params"]["progressToken"]
                .as_str()
                .and_then(|t| t.strip_prefix("agw-"))
                .and_then(|t| t.parse::<u64>().ok());
            let pending = pending.lock().unwrap();
            match token.and_then(|id| pending.get(&id)) {
                Some(InFlight {
                    events: Some(events),
                    progress_token: Some(original),
                    ..
                }) => {
                    let mut message = message;
                    message["params"]["progressToken"] = original.clone();
                    let _ = events.try_send(UpstreamEvent::Notification(message));
                }
                _ => tracing::debug!(
                    method,
                    "notification from a shared stdio upstream not relayed"
                ),
            }
        }
        (Some(method), Some(id)) => {
            // A shared process cannot say which caller a request is for; answering keeps it from waiting.
            let reply = if method == "ping" {
                jsonrpc::result(id, json!({}))
            } else {
                jsonrpc::error(
                    id,
                    jsonrpc::METHOD_NOT_FOUND,
                    "server-to-client requests are not relayed for stdio upstreams",
                )
            };
            let _ = write_line(stdin, &reply.to_string()).await;
        }
        (None, None) => {}
    }
}

async fn write_line(stdin: &mut tokio::process::ChildStdin, line: &str) -> std::io::Result<()> {
    stdin.write_all(line.as_bytes()).await?;
    stdin.write_all(b"\n").await?;
    stdin.flush().await
}

async fn read_line(
    stdout: &mut BufReader<tokio::process::ChildStdout>,
    line: &mut String,
) -> std::io::Result<usize> {
    line.clear();
    let n = stdout.read_line(line).await?;
    if line.len() > MAX_LINE {
        return Err(std::io::Error::other("line too long"));
    }
    Ok(n)
}
