//! Keeps a route's catalogue current: lists every upstream at start, when an upstream says its lists
//! changed, and on the refresh interval; an upstream that is down is retried sooner, with backoff. A
//! failing upstream keeps none of its tools in the catalogue and its health says why; a call of one of
//! them is answered "upstream unavailable", not "unknown tool", until it answers again.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use futures_util::future::join_all;
use serde_json::{Value, json};

use crate::mcp::catalogue::{Catalogue, Known, Listing, Source, schema};
use crate::mcp::route::{ListingCaps, McpRoute};
use crate::mcp::upstream::{CallCtx, Upstream, UpstreamError, http::GATEWAY_KEY};

/// Most pages followed per list, so an upstream cannot keep the gateway paging forever.
const MAX_PAGES: usize = 100;

pub fn spawn(route: Arc<McpRoute>) -> tokio::task::JoinHandle<()> {
    let watchers: Vec<_> = route
        .backends
        .iter()
        .map(|b| tokio::spawn(watch(b.upstream.clone())))
        .collect();
    tokio::spawn(async move {
        let _watchers = AbortAll(watchers);
        let mut listings: Vec<Known> = vec![Known::default(); route.backends.len()];
        loop {
            refresh(&route, &mut listings).await;
            route
                .discovered
                .store(true, std::sync::atomic::Ordering::Release);
            let any_down = route
                .backends
                .iter()
                .any(|b| b.health.lock().unwrap().up != Some(true));
            let wait = if any_down {
                retry_delay(&route)
            } else {
                route.refresh_interval
            };
            let signals: Vec<_> = route
                .backends
                .iter()
                .filter_map(|b| b.upstream.changed())
                .collect();
            let changed = join_all_first(signals.iter().map(|n| Box::pin(n.notified())).collect());
            tokio::select! {
                _ = tokio::time::sleep(wait) => {}
                _ = changed => tracing::info!(route = %route.name, "an upstream announced a list change; re-listing"),
            }
        }
    })
}

/// Aborts the watcher tasks when discovery itself is stopped.
struct AbortAll(Vec<tokio::task::JoinHandle<()>>);

impl Drop for AbortAll {
    fn drop(&mut self) {
        self.0.iter().for_each(|t| t.abort());
    }
}

/// Listens for an HTTP upstream's list changes on the gateway's own stream and wakes discovery; an
/// upstream without such a stream is left to the refresh interval.
async fn watch(upstream: Arc<Upstream>) {
    let Upstream::Http(http) = upstream.as_ref() else {
        return;
    };
    let ctx = CallCtx {
        caller_key: GATEWAY_KEY.to_string(),
        ..Default::default()
    };
    let filter =
        json!({"toolsListChanged": true, "promptsListChanged": true, "resourcesListChanged": true});
    let mut delay = Duration::from_secs(1);
    loop {
        match http.notifications(&ctx, filter.clone()).await {
            Ok(mut messages) => {
                delay = Duration::from_secs(1);
                while let Some(message) = messages.recv().await {
                    if message["method"]
                        .as_str()
                        .is_some_and(|m| m.ends_with("/list_changed"))
                    {
                        http.changed.notify_one();
                    }
                }
            }
            Err(UpstreamError::Status(405, _)) => {
                tracing::debug!(upstream = %http.name, "upstream offers no notification stream; relying on the refresh interval");
                return;
            }
            Err(e) => {
                tracing::debug!(upstream = %http.name, error = %e, "notification stream unavailable")
            }
        }
        tokio::time::sleep(delay).await;
        delay = (delay * 2).min(Duration::from_secs(60));
    }
}

async fn join_all_first(futures: Vec<std::pin::Pin<Box<tokio::sync::futures::Notified<'_>>>>) {
    if futures.is_empty() {
        std::future::pending::<()>().await;
    }
    futures_util::future::select_all(futures).await;
}

fn retry_delay(route: &McpRoute) -> Duration {
    let failures = route
        .backends
        .iter()
        .map(|b| b.health.lock().unwrap().consecutive_failures)
        .max()
        .unwrap_or(0);
    let secs = 1u64 << failures.min(5);
    Duration::from_secs(secs).min(route.refresh_interval)
}

/// One discovery round; swaps the catalogue only when something changed.
pub async fn refresh(route: &McpRoute, listings: &mut [Known]) {
    let results = join_all(
        route
            .backends
            .iter()
            .map(|b| list_all(&b.upstream, b.timeout, route.listing_caps)),
    )
    .await;
    let mut changed = false;
    for ((backend, result), slot) in route.backends.iter().zip(results).zip(listings.iter_mut()) {
        crate::core::telemetry::metrics::upstream(&route.name, backend.upstream.name())
            .discovery(result.is_ok());

        let mut health = backend.health.lock().unwrap();
        match result {
            Ok(listing) => {
                if health.up != Some(true) {
                    tracing::info!(route = %route.name, upstream = backend.upstream.name(), tools = listing.tools.len(), "upstream discovered");
                }
                health.up = Some(true);
                health.last_error = None;
                health.last_ok = Some(SystemTime::now());
                health.tools = listing.tools.len();
                health.consecutive_failures = 0;
                slot.withheld = None;
                if slot.live.as_ref() != Some(&listing) {
                    slot.live = Some(listing);
                    changed = true;
                }
            }
            Err(e) => {
                if health.up != Some(false) || health.last_error.as_deref() != Some(&e.to_string())
                {
                    tracing::warn!(route = %route.name, upstream = backend.upstream.name(), error = %e, "upstream discovery failed; its tools are withheld until it answers");
                }
                health.up = Some(false);
                health.last_error = Some(e.to_string());
                health.consecutive_failures = health.consecutive_failures.saturating_add(1);
                health.tools = 0;
                if let Some(last) = slot.live.take() {
                    slot.withheld = Some(last);
                    changed = true;
                }
            }
        }
    }
    if !changed && route.discovered.load(std::sync::atomic::Ordering::Acquire) {
        return;
    }
    let sources: Vec<Source> = route
        .backends
        .iter()
        .zip(listings.iter())
        .map(|(b, l)| Source {
            backend_name: b.upstream.name(),
            prefix: b.prefix.as_deref(),
            listing: l.live.as_ref(),
            withheld: l.withheld.as_ref(),
        })
        .collect();
    let catalogue = Catalogue::build(
        &sources,
        &route.delimiter,
        &route.schemas,
        route.pins.as_deref(),
    );
    report_drift(route, &catalogue);
    // Each problem on its own line while they are few; past that one line, and /health/upstreams has them.
    match catalogue.problems.len() {
        0 => {}
        few @ 1..=10 => {
            for problem in &catalogue.problems[..few] {
                tracing::error!(route = %route.name, "{problem}");
            }
        }
        many => {
            tracing::error!(route = %route.name, problems = many, first = %catalogue.problems[0], "the catalogue has problems; /health/upstreams lists them")
        }
    }
    let live: Vec<Value> = catalogue
        .tools
        .iter()
        .flat_map(|t| {
            [
                t.definition.get("inputSchema").cloned(),
                t.definition.get("outputSchema").cloned(),
            ]
        })
        .flatten()
        .collect();
    route.schemas.retain(&live);
    crate::core::telemetry::metrics::catalogue_tools(&route.name, catalogue.tools.len());
    route.catalogue.store(Arc::new(catalogue));
    for kind in ["tools", "prompts", "resources"] {
        let _ = route.state.changes.send(kind);
    }
}

/// Once per catalogue (built only when discovery finds a change): each drifted tool with what changed,
/// while they are few, then one line; the gauge says how many per backend.
fn report_drift(route: &McpRoute, catalogue: &Catalogue) {
    let Some(pins) = route.pins.as_deref() else {
        return;
    };
    let verdict = if pins.enforce {
        "withheld"
    } else {
        "served (registry.mode: warn)"
    };
    for (i, drift) in catalogue.drift.iter().enumerate() {
        if i == 10 {
            tracing::warn!(route = %route.name, drifted = catalogue.drift.len(), "more definitions differ from the registry lock; /health/upstreams lists them");
            break;
        }
        tracing::warn!(route = %route.name, upstream = %drift.server, kind = %drift.kind, name = %drift.name, changes = %drift.classes().join(", "), "definition differs from the registry lock: {verdict}; review with `agent-gateway registry diff`");
    }
    for backend in &route.backends {
        let name = backend.upstream.name();
        let drifted = catalogue.drift.iter().filter(|d| d.server == name).count();
        crate::core::telemetry::metrics::registry_drift(&route.name, name, drifted);
    }
}

async fn list_all(
    upstream: &Upstream,
    timeout: Duration,
    caps: ListingCaps,
) -> Result<Listing, UpstreamError> {
    let ctx = CallCtx {
        caller_key: GATEWAY_KEY.to_string(),
        ..Default::default()
    };
    let run = async {
        let mut room = Room {
            items: caps.tools,
            bytes: caps.bytes,
            schema_bytes: caps.schema_bytes,
            schemas_seen: HashSet::new(),
            caps,
        };
        let tools = list(upstream, &ctx, "tools/list", "tools", true, &mut room).await?;
        room.items = usize::MAX;
        Ok(Listing {
            tools,
            prompts: list(upstream, &ctx, "prompts/list", "prompts", false, &mut room).await?,
            resources: list(
                upstream,
                &ctx,
                "resources/list",
                "resources",
                false,
                &mut room,
            )
            .await?,
            templates: list(
                upstream,
                &ctx,
                "resources/templates/list",
                "resourceTemplates",
                false,
                &mut room,
            )
            .await?,
        })
    };
    tokio::time::timeout(timeout, run)
        .await
        .map_err(|_| UpstreamError::Timeout)?
}

/// Follows `nextCursor` to the end. A server without the capability answers -32601: an empty list, unless
/// the list is required (tools).
/// What is left of an upstream's [`ListingCaps`] while it is listed.
struct Room {
    items: usize,
    bytes: usize,
    schema_bytes: usize,
    /// Schemas already charged: identical ones compile once.
    /// Digests of the schemas charged already (`schema::digest`).
    schemas_seen: HashSet<[u8; 32]>,
    caps: ListingCaps,
}

impl Room {
    /// Takes `page` out of the room left; an error naming the cap when it does not fit.
    fn take(&mut self, key: &str, page: &[Value]) -> Result<(), UpstreamError> {
        if page.len() > self.items {
            return Err(UpstreamError::Protocol(format!(
                "lists more than {} {key} (limits.maxUpstreamTools)",
                self.caps.tools
            )));
        }
        self.items -= page.len();
        let bytes = page.iter().map(json_len).sum::<usize>();
        if bytes > self.bytes {
            return Err(UpstreamError::Protocol(format!(
                "lists more than {} bytes of definitions (limits.maxUpstreamCatalogueBytes)",
                self.caps.bytes
            )));
        }
        self.bytes -= bytes;
        if key == "tools" {
            self.take_schemas(page)?;
        }
        Ok(())
    }

    /// Charges the compiled size of each distinct input and output schema of `tools`.
    fn take_schemas(&mut self, tools: &[Value]) -> Result<(), UpstreamError> {
        let schemas = tools
            .iter()
            .flat_map(|t| ["inputSchema", "outputSchema"].map(|k| t.get(k)));
        for schema in schemas.flatten() {
            let (key, len) = schema::digest(schema);
            if !self.schemas_seen.insert(key) {
                continue;
            }
            let cost = schema::cost(schema, len);
            if cost > self.schema_bytes {
                return Err(UpstreamError::Protocol(format!(
                    "lists tool schemas that would take more than {} bytes compiled (limits.maxUpstreamSchemaBytes)",
                    self.caps.schema_bytes
                )));
            }
            self.schema_bytes -= cost;
        }
        Ok(())
    }
}

/// The length of `value` written as JSON, without writing it anywhere.
fn json_len(value: &Value) -> usize {
    struct Count(usize);
    impl std::io::Write for Count {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0 += buf.len();
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut count = Count(0);
    let _ = serde_json::to_writer(&mut count, value);
    count.0
}

async fn list(
    upstream: &Upstream,
    ctx: &CallCtx,
    method: &str,
    key: &str,
    required: bool,
    room: &mut Room,
) -> Result<Vec<Value>, UpstreamError> {
    let mut items = Vec::new();
    let mut cursor: Option<String> = None;
    for _ in 0..MAX_PAGES {
        let params = match &cursor {
            Some(c) => json!({"cursor": c}),
            None => json!({}),
        };
        let reply = upstream.request(ctx, method, params).await?;
        if let Some(error) = reply.get("error") {
            if !required {
                return Ok(Vec::new());
            }
            return Err(UpstreamError::Protocol(format!("{method} failed: {error}")));
        }
        let result = &reply["result"];
        match result.get(key).and_then(Value::as_array) {
            Some(page) => {
                room.take(key, page)?;
                items.extend(page.iter().cloned());
            }
            None => {
                return Err(UpstreamError::Protocol(format!(
                    "{method} result has no {key} array"
                )));
            }
        }
        match result.get("nextCursor").and_then(Value::as_str) {
            Some(next) if !next.is_empty() => cursor = Some(next.to_string()),
            _ => return Ok(items),
        }
    }
    tracing::warn!(
        upstream = upstream.name(),
        method,
        "stopped paging after {MAX_PAGES} pages"
    );
    Ok(items)
}
