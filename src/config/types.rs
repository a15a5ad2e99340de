//! What the YAML says: the config contract of the user's guide (step 3.1), plus the few fields this gateway adds.
//! These types carry no behaviour; `crate::runtime` builds what requests use from them.

use std::collections::BTreeMap;
use std::time::Duration;

/// Where a value stood in its file, for messages that name file, line and column.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Location {
    pub file: String,
    /// 1-based.
    pub line: usize,
    /// 1-based.
    pub column: usize,
    /// Dotted path of the field, e.g. `binds[0].listeners[1].routes[0].policies[2].type`.
    pub path: String,
}

/// The whole `gateway.yaml` document.
#[derive(Debug, Clone, Default)]
pub struct GatewayConfig {
    pub binds: Vec<Bind>,
    pub observability: Option<Observability>,
    pub security: Security,
    pub limits: Limits,
    /// Where rate limits are kept when they must hold across replicas (extension). `None`: in each process.
    pub rate_limit_store: Option<RateLimitStore>,
    pub shutdown: Shutdown,
    /// `registry`: the operator's approved servers and pinned definitions (extension). `None`: not used.
    pub registry: Option<Registry>,
}

#[derive(Debug, Clone)]
pub struct Registry {
    /// The folder holding the entries and `lock.json`; relative to the config file's folder.
    pub path: std::path::PathBuf,
    pub mode: RegistryMode,
    /// `publicKey`: the Ed25519 key (32 bytes) `lock.json.sig` must verify with; `None`: unsigned locks.
    pub public_key: Option<Vec<u8>>,
    pub location: Location,
}

/// What the gateway does with a definition the lock does not hold as it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RegistryMode {
    /// Withheld from every caller and refused, until approved.
    Enforce,
    /// Served, and reported.
    Warn,
    /// The lock is not read at run time (the CLI still uses it).
    Off,
}

#[derive(Debug, Clone)]
pub struct Bind {
    pub port: u16,
    /// Address to listen on; default `0.0.0.0` (as the guide's in-cluster deployment needs). Extension.
    pub address: String,
    pub listeners: Vec<Listener>,
    pub location: Location,
}

#[derive(Debug, Clone)]
pub struct Listener {
    pub name: String,
    pub routes: Vec<Route>,
    pub location: Location,
}

#[derive(Debug, Clone)]
pub struct Route {
    pub name: String,
    pub path_prefix: String,
    pub policies: Vec<Policy>,
    pub backends: Vec<Backend>,
    /// Route-level MCP settings (extension, all optional).
    pub mcp: RouteMcp,
    pub location: Location,
}

#[derive(Debug, Clone, Default)]
pub struct RouteMcp {
    /// Separator between a backend's prefix and a tool name when a route has several backends. Default `__`.
    pub prefix_delimiter: Option<String>,
    /// `report` (default) logs an outputSchema violation; `enforce` turns it into an error for the caller.
    pub output_schema: OutputSchemaMode,
    /// How often upstream catalogues are re-listed. Default 300s.
    pub refresh_interval: Option<Duration>,
    /// What `tools/list` gives a caller: every tool, or `search_tools` and `describe_tools`.
    pub discovery: Discovery,
}

/// `mcp.discovery`: the whole catalogue on `tools/list`, or progressive discovery (search, then fetch the
/// few definitions needed) always or above a number of tools the caller may see.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Discovery {
    #[default]
    Full,
    Progressive,
    /// Progressive for a caller who may see more than this many tools.
    Above(usize),
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum OutputSchemaMode {
    #[default]
    Report,
    Enforce,
}

#[derive(Debug, Clone)]
pub struct Backend {
    pub name: String,
    pub kind: BackendKind,
    /// `tls:` (extension): how https connections to the backend are verified and what it is shown. Kept only
    /// where it applies (an `mcp-http` or `a2a` backend at an `https://` address); elsewhere it is a warning.
    pub tls: Option<BackendTls>,
    pub location: Location,
}

/// A backend's `tls:` mapping. Relative paths are relative to the gateway's working directory.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BackendTls {
    /// PEM CA certificates trusted for this backend, in addition to the system's roots (or `SSL_CERT_FILE`).
    pub ca_file: Option<String>,
    /// A client certificate the gateway presents when the backend asks for one (upstream mTLS).
    pub client_cert: Option<ClientCertFiles>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientCertFiles {
    /// The certificate chain, PEM, leaf first.
    pub cert_file: String,
    /// Its private key, PEM (PKCS#8, PKCS#1 or SEC1).
    pub key_file: String,
}

#[derive(Debug, Clone)]
pub enum BackendKind {
    /// `type: mcp-http`: Streamable HTTP (either era) or, with `mcp.protocol: sse`, the legacy HTTP+SSE transport.
    McpHttp { address: String, mcp: BackendMcp },
    /// `type: mcp-stdio`: a child process speaking MCP on stdin/stdout.
    McpStdio {
        command: String,
        args: Vec<String>,
        env: BTreeMap<String, String>,
        mcp: BackendMcp,
    },
    /// `type: sample`: the built-in sample upstream with the guide's six tools (no other process).
    Sample { mcp: BackendMcp },
    /// No `type` (or `type: a2a`): an A2A agent at `address`.
    A2a {
        address: String,
        agent_name: Option<String>,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum McpTransport {
    /// Streamable HTTP (`protocol: http`, the default).
    #[default]
    StreamableHttp,
    /// Legacy HTTP+SSE of 2024-11-05 (`protocol: sse`).
    Sse,
}

#[derive(Debug, Clone, Default)]
pub struct BackendMcp {
    /// Path of the MCP endpoint on the upstream, default `/mcp` (`/sse` for `protocol: sse`).
    pub endpoint: Option<String>,
    pub protocol: McpTransport,
    /// Per-call upstream timeout.
    pub timeout: Option<Duration>,
    /// Tool-name prefix used when the route has several backends; default the backend name.
    pub prefix: Option<String>,
    /// Forward the caller's `Authorization` header to this upstream. Default false: never forwarded.
    pub forward_authorization: bool,
    /// Extra headers sent to the upstream (e.g. its own credentials).
    pub headers: BTreeMap<String, String>,
}

#[derive(Debug, Clone)]
pub struct Policy {
    pub kind: PolicyKind,
    pub location: Location,
}

#[derive(Debug, Clone)]
pub enum PolicyKind {
    JwtAuthn(JwtAuthn),
    McpAuthz(McpAuthz),
    A2aAuthz(A2aAuthz),
    RateLimit(RateLimitPolicy),
    Timeout(TimeoutPolicy),
    Retry(RetryPolicy),
}

impl PolicyKind {
    /// The `type:` string of the YAML.
    pub fn type_name(&self) -> &'static str {
        match self {
            PolicyKind::JwtAuthn(_) => "jwt-authn",
            PolicyKind::McpAuthz(_) => "mcp-authz",
            PolicyKind::A2aAuthz(_) => "a2a-authz",
            PolicyKind::RateLimit(_) => "rate-limit",
            PolicyKind::Timeout(_) => "timeout",
            PolicyKind::Retry(_) => "retry",
        }
    }
}

#[derive(Debug, Clone, Default)]
pub struct JwtAuthn {
    pub issuer: String,
    pub audiences: Vec<String>,
    pub jwks_uri: String,
    pub claim_to_headers: Vec<ClaimToHeader>,
    /// Clock skew allowed on `exp`/`nbf`/`iat`; the identity module defaults it to 30s.
    pub leeway: Option<Duration>,
    pub mode: JwtMode,
    /// Treat the JWKS URI as the Kubernetes API server; `None` decides by its host.
    pub kubernetes: Option<bool>,
    pub service_account_token_path: Option<String>,
    pub ca_path: Option<String>,
    /// The API server for `mode: tokenReview`; by default the origin of `jwksUri`.
    pub api_server: Option<String>,
    pub jwks_refresh_interval: Option<Duration>,
    /// The least time between two JWKS fetches caused by unknown `kid`s.
    pub jwks_min_refresh_interval: Option<Duration>,
}

/// How a `jwt-authn` policy checks a token.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum JwtMode {
    /// Verify the signature locally against the issuer's JWKS.
    #[default]
    Jwks,
    /// Ask the Kubernetes API server (TokenReview).
    TokenReview,
}

#[derive(Debug, Clone)]
pub struct ClaimToHeader {
    pub claim: String,
    pub header: String,
}

#[derive(Debug, Clone, Default)]
pub struct McpAuthz {
    pub rules: Vec<McpAuthzRule>,
}

#[derive(Debug, Clone)]
pub struct McpAuthzRule {
    /// Exact principal or a glob (`*`, `?`).
    pub principal: String,
    /// Tool names (as the route exposes them) or globs. Absent: none.
    pub allowed_tools: Vec<String>,
    /// Prompt names or globs (extension). Absent: none.
    pub allowed_prompts: Vec<String>,
    /// Resource URIs or globs (extension). Absent: none.
    pub allowed_resources: Vec<String>,
    pub rate_limit: Option<RateLimitValue>,
}

#[derive(Debug, Clone, Copy)]
pub struct RateLimitValue {
    pub requests_per_minute: u32,
}

#[derive(Debug, Clone, Default)]
pub struct A2aAuthz {
    pub rules: Vec<A2aAuthzRule>,
}

#[derive(Debug, Clone)]
pub struct A2aAuthzRule {
    pub source: String,
    pub target: String,
    pub allowed: bool,
}

#[derive(Debug, Clone, Default)]
pub struct RateLimitPolicy {
    pub descriptors: Vec<RateLimitDescriptor>,
}

#[derive(Debug, Clone)]
pub struct RateLimitDescriptor {
    /// `tool-name` or `principal`.
    pub key: String,
    /// The tool name or principal (exact or glob) the limit applies to.
    pub value: String,
    pub rate_limit: RateLimitValue,
    /// Count each principal separately (extension); by default one budget is shared by all callers.
    pub per_principal: bool,
}

#[derive(Debug, Clone, Default)]
pub struct TimeoutPolicy {
    pub request: Option<Duration>,
    pub idle: Option<Duration>,
}

#[derive(Debug, Clone, Default)]
pub struct RetryPolicy {
    pub attempts: u32,
    pub per_try_timeout: Option<Duration>,
    pub retry_on: Vec<String>,
    pub backoff: Option<Backoff>,
}

#[derive(Debug, Clone)]
pub struct Backoff {
    pub base_interval: Duration,
    pub max_interval: Duration,
}

/// The guide's `observability:` section. Parsed in full; wired by the observability work.
#[derive(Debug, Clone, Default)]
pub struct Observability {
    pub opentelemetry: Option<OpenTelemetry>,
    pub prometheus: Option<Prometheus>,
    pub mcp: Option<McpObservability>,
    pub location: Location,
}

#[derive(Debug, Clone, Default)]
pub struct OpenTelemetry {
    pub enabled: bool,
    pub endpoint: String,
    pub protocol: String,
    pub tracing: Option<Tracing>,
}

#[derive(Debug, Clone, Default)]
pub struct Tracing {
    pub enabled: bool,
    pub sampling_rate: f64,
    pub attributes: Vec<(String, String)>,
}

#[derive(Debug, Clone, Default)]
pub struct Prometheus {
    pub enabled: bool,
    pub port: u16,
    pub path: String,
    pub metrics: Vec<String>,
}

#[derive(Debug, Clone, Default)]
pub struct McpObservability {
    pub enabled: bool,
    pub metrics: Vec<String>,
}

/// Gateway-wide security settings (guide step 10.1 puts `mtls` here).
#[derive(Debug, Clone, Default)]
pub struct Security {
    /// Key that seals session ids: 32 bytes, base64. Falls back to the env var `AGENT_GATEWAY_SESSION_KEY`,
    /// then to a generated key (with a warning: sessions then do not survive a restart or move between replicas).
    pub session_key: Option<String>,
    /// Read the key from this file instead (a mounted Secret).
    pub session_key_file: Option<String>,
    /// Lifetime of a session id. Default 24h.
    pub session_ttl: Option<Duration>,
    /// Origins allowed on browser requests, besides same-host ones. Default: loopback origins for loopback binds.
    pub allowed_origins: Vec<String>,
    /// Host names (`*.example.com` for any subdomain) requests may carry; lower-cased. Default: any Host on
    /// other binds, loopback names on loopback binds (which accept those in any case).
    pub allowed_hosts: Vec<String>,
    /// Peers whose `X-Forwarded-*` headers are believed. Default: none.
    pub trusted_proxies: Vec<ipnet::IpNet>,
    pub mtls: Option<Mtls>,
}

#[derive(Debug, Clone, Default)]
pub struct Mtls {
    pub enabled: bool,
    pub mode: String,
    pub certificate_authority: String,
    pub server_cert: String,
    pub server_key: String,
}

/// Request limits (extension).
#[derive(Debug, Clone)]
pub struct Limits {
    /// Largest request body accepted, in bytes. Default 4 MiB.
    pub max_body_bytes: usize,
    /// Deepest JSON nesting accepted. Default 64.
    pub max_json_depth: usize,
    /// Time for a request's head to arrive (the TLS handshake included), and for an idle keep-alive
    /// connection to send its next request. Default 30s.
    pub header_read_timeout: Duration,
    /// Time for a request's body to arrive once its head has. Default 60s.
    pub body_read_timeout: Duration,
    /// Connections served at once per bind; more wait in the kernel's backlog. Default 10,000.
    pub max_connections: usize,
    /// Most tools one upstream may list. Default 10,000.
    pub max_upstream_tools: usize,
    /// Most bytes of definitions (tools, prompts, resources, templates) one upstream may list. Default 16 MiB.
    pub max_upstream_catalogue_bytes: usize,
    /// Most memory the compiled schemas of one upstream's distinct tool schemas may take, as estimated
    /// conservatively. Default 64 MiB.
    pub max_upstream_schema_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_body_bytes: 4 * 1024 * 1024,
            max_json_depth: 64,
            header_read_timeout: Duration::from_secs(30),
            body_read_timeout: Duration::from_secs(60),
            max_connections: 10_000,
            max_upstream_tools: 10_000,
            max_upstream_catalogue_bytes: 16 * 1024 * 1024,
            max_upstream_schema_bytes: 64 * 1024 * 1024,
        }
    }
}

/// `shutdown` (extension): how the gateway stops on SIGTERM.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shutdown {
    /// How long requests in flight get to finish once the gateway stops accepting. Default 25s, which
    /// leaves Kubernetes' default `terminationGracePeriodSeconds` (30) time to spare before SIGKILL.
    pub grace_period: Duration,
}

impl Default for Shutdown {
    fn default() -> Self {
        Shutdown {
            grace_period: Duration::from_secs(25),
        }
    }
}

/// `rateLimitStore` (extension): a Redis shared by all replicas, so a limit holds for the whole gateway.
#[derive(Debug, Clone)]
pub struct RateLimitStore {
    /// `redis://[:password@]host[:port][/db]`.
    pub redis_url: String,
    /// What happens to calls while Redis cannot answer. Default `failOpen`.
    pub fail_mode: RateLimitFailMode,
    pub location: Location,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum RateLimitFailMode {
    /// `failOpen`: admit calls (availability over limits).
    #[default]
    Open,
    /// `failClosed`: refuse calls that are under a limit (limits over availability).
    Closed,
}
