//! The table: every mapping the decoder reads, with its fields, types, defaults and examples.

use super::{DEF, Def, Dflt, Ty, Variant, f};

pub(super) const DURATION: &str = r"^[0-9]+(\.[0-9]+)?(ms|s|m|h)$";
/// As [`DURATION`], with at least one non-zero digit.
pub(super) const POSITIVE_DURATION: &str =
    r"^([0-9]*[1-9][0-9]*(\.[0-9]+)?|[0-9]+\.[0-9]*[1-9][0-9]*)(ms|s|m|h)$";
const URL: Ty = Ty::Pattern(
    r"^https?://([A-Za-z0-9._%-]+|\[[0-9A-Za-z:.%]+\])(:[0-9]{1,5})?([/?#].*)?$",
    "URL (`http://` or `https://`)",
);
const ORIGIN: Ty = Ty::Pattern(
    r"^https?://([A-Za-z0-9._%-]+|\[[0-9A-Za-z:.%]+\])(:[0-9]{1,5})?$",
    "origin (`scheme://host[:port]`)",
);
const HOST: Ty = Ty::Pattern(
    r"^(\*\.)?([A-Za-z0-9._-]+|\[[0-9A-Fa-f:.]+\])$",
    "host name without port (`*.` for subdomains)",
);
const HTTP_PATH: Ty = Ty::Pattern("^/", "path (starts with `/`)");
const IP: Ty = Ty::Pattern(
    r"^([0-9]{1,3}(\.[0-9]{1,3}){3}|[0-9A-Fa-f:.]*:[0-9A-Fa-f:.]*)$",
    "IP address",
);
const CIDR: Ty = Ty::Pattern(
    r"^([0-9]{1,3}(\.[0-9]{1,3}){3}|[0-9A-Fa-f:.]*:[0-9A-Fa-f:.]*)(/[0-9]{1,3})?$",
    "IP address or CIDR range",
);
const SESSION_KEY: Ty = Ty::Pattern(
    r"^[A-Za-z0-9+/_-]{42}[AEIMQUYcgkosw048]=?$",
    "32 bytes in base64",
);
const REDIS_URL: Ty = Ty::Pattern(
    r"^(redis://([^/]*@)?[^/:@][^/@]*(/.*)?|(unix|redis\+unix):///.*)$",
    "Redis URL (`redis://host:port[/db]` or `unix:///path`)",
);
const HEADER_NAME: &str = r"^[A-Za-z0-9!#$%&'*+.^_`|~-]+$";
const PORT: Ty = Ty::Int(0, 65535);
const COUNT: Ty = Ty::Int(1, u32::MAX as i64);
const TEXTS: Ty = Ty::List(&Ty::Text, 0);

const BACKEND_TYPES: &[&str] = &["mcp-http", "mcp-stdio", "sample", "a2a"];
const POLICY_TYPES: &[&str] = &[
    "jwt-authn",
    "mcp-authz",
    "a2a-authz",
    "rate-limit",
    "timeout",
    "retry",
];
/// Envoy's names, which the guide uses.
const RETRY_ON: &[&str] = &[
    "5xx",
    "gateway-error",
    "reset",
    "connect-failure",
    "retriable-4xx",
    "refused-stream",
];
const HTTP_ONLY: &[&str] = &["endpoint", "protocol", "headers", "forwardAuthorization"];
const STDIO_ONLY: &[&str] = &["command", "args", "env"];

/// Every mapping, in the order of the docs.
pub(super) const DEFS: &[Def] = &[
    Def {
        id: "GatewayConfig",
        path: "(top level)",
        desc: "The whole `gateway.yaml` document: the guide's format (step 3.1) plus the gateway's extensions. \
               The file may also be a Kubernetes ConfigMap holding it under `data.gateway.yaml` (see ConfigMap).",
        fields: &[
            f("binds", Ty::List(&Ty::Ref("Bind"), 1), "", "The ports the gateway listens on, each with its listeners.").req(),
            f("observability", Ty::Ref("Observability"), "", "Traces and metrics (the guide's `observability:` section)."),
            f("security", Ty::Ref("Security"), "", "Gateway-wide security settings: session key, allowed origins, mTLS."),
            f("limits", Ty::Ref("Limits"), "", "Request limits (extension)."),
            f("rateLimitStore", Ty::Ref("RateLimitStore"), "", "Where rate limits are kept when they must hold across replicas (extension). Without it, limits are counted in each process."),
            f("shutdown", Ty::Ref("Shutdown"), "", "How the gateway stops on SIGTERM or SIGINT (extension)."),
            f("registry", Ty::Ref("Registry"), "", "The operator's approved servers and pinned tool definitions (extension; README: Pinning your tools)."),
        ],
        example: "binds:\n  - port: 8080\n    listeners:\n      - name: local\n        routes:\n          - name: sample-tools\n            match: {path: {prefix: /mcp}}\n            backends:\n              - {name: weather-tools, type: sample}\nlimits: {maxBodyBytes: 1048576}\n",
        ..DEF
    },
    Def {
        id: "Bind",
        path: "binds[]",
        desc: "A port to listen on and the listeners served on it. Two binds may not share a port.",
        fields: &[
            f("port", PORT, "8080", "The TCP port. `0` picks a free port (tests, throwaway gateways).").req(),
            f("address", IP, "127.0.0.1", "The address to listen on (extension). `0.0.0.0` is what an in-cluster deployment needs; `127.0.0.1` serves this host only.").default(Dflt::Str("0.0.0.0")),
            f("listeners", Ty::List(&Ty::Ref("Listener"), 0), "", "The listeners on this port. Their routes share the port, so two routes may not have the same path prefix.").req(),
        ],
        example: "port: 8080\naddress: 0.0.0.0\nlisteners:\n  - name: mcp-listener\n    routes: []\n",
        ..DEF
    },
    Def {
        id: "Listener",
        path: "binds[].listeners[]",
        desc: "A named group of routes on a bind. Names are unique within a bind.",
        fields: &[
            f("name", Ty::Text, "mcp-listener", "The listener's name.").req(),
            f("routes", Ty::List(&Ty::Ref("Route"), 0), "", "The routes of this listener.").req(),
        ],
        example: "name: mcp-listener\nroutes:\n  - name: tools\n    match: {path: {prefix: /mcp}}\n    backends: [{name: s, type: sample}]\n",
        ..DEF
    },
    Def {
        id: "Route",
        path: "binds[].listeners[].routes[]",
        desc: "Requests whose path starts with the route's prefix, the policies applied to them and the backends \
               that serve them. A route is either an MCP route (backends of type `mcp-http`, `mcp-stdio` or \
               `sample`) or an A2A route (backends of type `a2a`), never both.",
        fields: &[
            f("name", Ty::Text, "agent-to-mcp-tools", "The route's name, unique within its listener.").req(),
            f("match", Ty::Ref("Match"), "", "Which requests the route takes.").req(),
            f("policies", Ty::List(&Ty::Ref("Policy"), 0), "", "Policies applied to the route's requests, at most one of each type."),
            f("backends", Ty::List(&Ty::Ref("Backend"), 1), "", "The upstreams behind the route. Names are unique within the route.").req(),
            f("mcp", Ty::Ref("RouteMcp"), "", "Route-level MCP settings (extension); no effect on an A2A route."),
        ],
        example: "name: agent-to-mcp-tools\nmatch:\n  path:\n    prefix: /mcp\npolicies:\n  - type: timeout\n    timeout: {request: 300s}\nbackends:\n  - name: tools\n    type: mcp-http\n    address: http://tools.default.svc:8000\nmcp:\n  outputSchema: enforce\n",
        ..DEF
    },
    Def {
        id: "Match",
        path: "routes[].match",
        desc: "Which requests a route takes.",
        fields: &[f("path", Ty::Ref("PathMatch"), "", "Match on the request path.").req()],
        example: "path:\n  prefix: /mcp\n",
        ..DEF
    },
    Def {
        id: "PathMatch",
        path: "routes[].match.path",
        desc: "Match on the request path.",
        fields: &[f("prefix", HTTP_PATH, "/mcp", "The path prefix. On one port, no two routes may have the same prefix.").req()],
        example: "prefix: /agents\n",
        ..DEF
    },
    Def {
        id: "RouteMcp",
        path: "routes[].mcp",
        desc: "Route-level MCP settings (extension, all optional).",
        fields: &[
            f("prefixDelimiter", Ty::Text, "'__'", "Separator between a backend's prefix and a tool name when the route has several backends.").default(Dflt::Str("__")),
            f("outputSchema", Ty::Enum(&["report", "enforce"]), "enforce", "What a tool result that breaks the tool's `outputSchema` leads to: `report` logs it; `enforce` turns it into an error for the caller.").default(Dflt::Str("report")),
            f("refreshInterval", Ty::PositiveDuration, "60s", "How often upstream catalogues are listed again.").default(Dflt::Str("300s")),
            f("discovery", Ty::Enum(&["full", "progressive"]), "progressive", "What `tools/list` gives a caller: `full`, every tool it may call; `progressive`, two tools of the gateway's instead — `search_tools` (ranked keyword search over names, titles and descriptions of the tools the caller may call) and `describe_tools` (their full definitions) — while `tools/call` still reaches every tool the caller may call. Keeps large catalogues out of an agent's context.").default(Dflt::Str("full")),
            f("progressiveAbove", Ty::Int(0, 1_000_000), "50", "With `discovery: progressive`: only for a caller who may see more than this many tools; one who sees fewer gets them all.").default(Dflt::Doc("progressive for every caller")),
        ],
        example: "prefixDelimiter: __\noutputSchema: report\nrefreshInterval: 300s\n",
        ..DEF
    },
    Def {
        id: "Policy",
        path: "routes[].policies[]",
        desc: "A policy: `type` plus one field, named after the type, holding its settings. A route has at most one \
               policy of each type.",
        fields: &[
            f("type", Ty::Enum(POLICY_TYPES), "jwt-authn", "The policy type; it decides which settings field is required.").req(),
            f("jwt", Ty::Ref("JwtAuthn"), "", "Settings of a `jwt-authn` policy."),
            f("mcp", Ty::Ref("McpAuthz"), "", "Settings of an `mcp-authz` policy."),
            f("a2a", Ty::Ref("A2aAuthz"), "", "Settings of an `a2a-authz` policy."),
            f("rateLimit", Ty::Ref("RateLimit"), "", "Settings of a `rate-limit` policy."),
            f("timeout", Ty::Ref("Timeout"), "", "Settings of a `timeout` policy."),
            f("retry", Ty::Ref("Retry"), "", "Settings of a `retry` policy."),
        ],
        discriminator: Some((
            "type",
            &[
                Variant { value: "jwt-authn", when_absent: false, requires: &["jwt"], forbids: &["mcp", "a2a", "rateLimit", "timeout", "retry"], nested: &[], example: "type: jwt-authn\njwt:\n  issuer: https://kubernetes.default.svc\n  audiences: [agent-gateway]\n  jwksUri: https://kubernetes.default.svc/openid/v1/jwks\n" },
                Variant { value: "mcp-authz", when_absent: false, requires: &["mcp"], forbids: &["jwt", "a2a", "rateLimit", "timeout", "retry"], nested: &[], example: "type: mcp-authz\nmcp:\n  rules:\n    - principal: system:serviceaccount:agents:weather\n      allowedTools: [get_weather_data]\n" },
                Variant { value: "a2a-authz", when_absent: false, requires: &["a2a"], forbids: &["jwt", "mcp", "rateLimit", "timeout", "retry"], nested: &[], example: "type: a2a-authz\na2a:\n  rules:\n    - {source: system:serviceaccount:agents:planner, target: weather-agent, allowed: true}\n" },
                Variant { value: "rate-limit", when_absent: false, requires: &["rateLimit"], forbids: &["jwt", "mcp", "a2a", "timeout", "retry"], nested: &[], example: "type: rate-limit\nrateLimit:\n  descriptors:\n    - {key: tool-name, value: execute_code, rateLimit: {requestsPerMinute: 10}}\n" },
                Variant { value: "timeout", when_absent: false, requires: &["timeout"], forbids: &["jwt", "mcp", "a2a", "rateLimit", "retry"], nested: &[], example: "type: timeout\ntimeout: {request: 300s, idle: 60s}\n" },
                Variant { value: "retry", when_absent: false, requires: &["retry"], forbids: &["jwt", "mcp", "a2a", "rateLimit", "timeout"], nested: &[], example: "type: retry\nretry: {attempts: 3, perTryTimeout: 30s, retryOn: [5xx, connect-failure]}\n" },
            ],
        )),
        example: "type: timeout\ntimeout:\n  request: 300s\n",
        ..DEF
    },
    Def {
        id: "JwtAuthn",
        path: "policies[].jwt",
        desc: "`jwt-authn`: the caller must present a bearer token; it is verified against the issuer's JWKS (or, \
               with `mode: tokenReview`, by the Kubernetes API server). A failure gets 401 with an RFC 6750 challenge.",
        fields: &[
            f("issuer", Ty::Text, "https://kubernetes.default.svc", "The `iss` tokens must carry. On EKS this is the cluster's OIDC URL (`kubectl get --raw /.well-known/openid-configuration | jq -r .issuer`).").req(),
            f("audiences", TEXTS, "[agent-gateway]", "Accepted `aud` values; a token must carry one of them."),
            f("jwksUri", URL, "https://kubernetes.default.svc/openid/v1/jwks", "Where the issuer's signing keys (JWKS) are fetched. The JWKS is cached and refreshed; an unknown `kid` triggers a rate-limited refresh.").req(),
            f("claimToHeaders", Ty::List(&Ty::Ref("ClaimToHeader"), 0), "", "Claims copied into headers toward the upstream. Client-sent headers of these names never reach an upstream."),
            f("leeway", Ty::Duration, "30s", "Clock skew allowed on `exp`, `nbf` and `iat`.").default(Dflt::Str("30s")),
            f("mode", Ty::Enum(&["jwks", "tokenReview"]), "tokenReview", "How a token is checked: `jwks` verifies the signature locally against the JWKS; `tokenReview` asks the Kubernetes API server (TokenReview).").default(Dflt::Str("jwks")),
            f("kubernetes", Ty::Bool, "true", "Treat the JWKS URI as the Kubernetes API server (authenticate with the pod's service-account token and CA). Default: decided by the host of `jwksUri` (`kubernetes.default.svc` and its variants).").default(Dflt::Doc("by the host of `jwksUri`")),
            f("serviceAccountTokenPath", Ty::Text, "/var/run/secrets/kubernetes.io/serviceaccount/token", "The service-account token used toward the API server.").default(Dflt::Str("/var/run/secrets/kubernetes.io/serviceaccount/token")),
            f("caPath", Ty::Text, "/var/run/secrets/kubernetes.io/serviceaccount/ca.crt", "The CA bundle that verifies the API server.").default(Dflt::Str("/var/run/secrets/kubernetes.io/serviceaccount/ca.crt")),
            f("apiServer", URL, "https://10.0.0.1:443", "The API server for `mode: tokenReview`.").default(Dflt::Doc("the origin of `jwksUri`")),
            f("jwksRefreshInterval", Ty::PositiveDuration, "10m", "How often the JWKS is fetched again.").default(Dflt::Str("300s")),
            f("jwksMinRefreshInterval", Ty::PositiveDuration, "30s", "The least time between two JWKS fetches caused by unknown `kid`s.").default(Dflt::Str("10s")),
        ],
        example: "issuer: https://kubernetes.default.svc\naudiences: [agent-gateway]\njwksUri: https://kubernetes.default.svc/openid/v1/jwks\nclaimToHeaders:\n  - {claim: sub, header: x-agent-identity}\nleeway: 30s\n",
        ..DEF
    },
    Def {
        id: "ClaimToHeader",
        path: "policies[].jwt.claimToHeaders[]",
        desc: "A token claim copied into a header toward the upstream.",
        fields: &[
            f("claim", Ty::Text, "sub", "The claim's name.").req(),
            f("header", Ty::Text, "x-agent-identity", "The header that carries its value.").req(),
        ],
        example: "claim: sub\nheader: x-agent-identity\n",
        ..DEF
    },
    Def {
        id: "McpAuthz",
        path: "policies[].mcp",
        desc: "`mcp-authz`: which principal may see and call which tools, prompts and resources. Denies by default: a \
               principal without a rule sees nothing, and a denied call gets the same answer as an unknown tool.",
        fields: &[f("rules", Ty::List(&Ty::Ref("McpAuthzRule"), 0), "", "One rule per principal.").req()],
        example: "rules:\n  - principal: system:serviceaccount:agent-core-infra:ekspoc-v6-kagent-agent-sa\n    allowedTools: [get_weather_data, execute_code]\n    rateLimit: {requestsPerMinute: 100}\n",
        ..DEF
    },
    Def {
        id: "McpAuthzRule",
        path: "policies[].mcp.rules[]",
        desc: "What one principal (or a glob of principals) may use.",
        fields: &[
            f("principal", Ty::Text, "'system:serviceaccount:agents:*'", "The principal (the token's `sub`, or the client certificate's SPIFFE ID or CN), exact or a glob (`*`, `?`). At most one rule per principal.").req(),
            f("allowedTools", TEXTS, "[get_weather_data, 'store_*']", "Tool names as the route exposes them, or globs.").default(Dflt::Doc("none")),
            f("allowedPrompts", TEXTS, "['*']", "Prompt names or globs (extension).").default(Dflt::Doc("none")),
            f("allowedResources", TEXTS, "['file:///reports/*']", "Resource URIs or globs (extension).").default(Dflt::Doc("none")),
            f("rateLimit", Ty::Ref("RateLimitValue"), "", "A limit on this principal's calls."),
        ],
        example: "principal: system:serviceaccount:agents:weather\nallowedTools: [get_weather_data]\nrateLimit:\n  requestsPerMinute: 100\n",
        ..DEF
    },
    Def {
        id: "RateLimitValue",
        path: "…rateLimit",
        desc: "A request rate.",
        fields: &[f("requestsPerMinute", COUNT, "100", "Calls allowed per minute (at least 1). A refused call gets 429 with `Retry-After`.").req()],
        example: "requestsPerMinute: 60\n",
        ..DEF
    },
    Def {
        id: "A2aAuthz",
        path: "policies[].a2a",
        desc: "`a2a-authz`: which caller may reach which agent. Denies by default.",
        fields: &[f("rules", Ty::List(&Ty::Ref("A2aAuthzRule"), 0), "", "The rules.").req()],
        example: "rules:\n  - source: system:serviceaccount:agent-core-infra:planning-agent-sa\n    target: weather-agent-v6\n    allowed: true\n",
        ..DEF
    },
    Def {
        id: "A2aAuthzRule",
        path: "policies[].a2a.rules[]",
        desc: "One rule: a source principal, a target agent and whether the call is allowed.",
        fields: &[
            f("source", Ty::Text, "system:serviceaccount:agents:planner", "The calling principal, exact or a glob.").req(),
            f("target", Ty::Text, "'*'", "The agent's name (its backend's `agentName` or card name), exact or a glob.").req(),
            f("allowed", Ty::Bool, "true", "Whether the call is allowed. Required: allow-or-deny is written down, not guessed.").req(),
        ],
        example: "source: system:serviceaccount:agents:planner\ntarget: weather-agent\nallowed: true\n",
        ..DEF
    },
    Def {
        id: "RateLimit",
        path: "policies[].rateLimit",
        desc: "`rate-limit`: limits checked before dispatch, in the process or in the shared `rateLimitStore`.",
        fields: &[f("descriptors", Ty::List(&Ty::Ref("RateLimitDescriptor"), 0), "", "The limits.").req()],
        example: "descriptors:\n  - key: tool-name\n    value: execute_code\n    rateLimit: {requestsPerMinute: 10}\n",
        ..DEF
    },
    Def {
        id: "RateLimitDescriptor",
        path: "policies[].rateLimit.descriptors[]",
        desc: "One limit: what it is keyed on, which value it applies to, and the rate.",
        fields: &[
            f("key", Ty::Enum(&["tool-name", "agent", "principal"]), "tool-name", "What the limit is keyed on: `tool-name` (the tool of a `tools/call`, MCP routes), `agent` (the agent of an A2A call, A2A routes) or `principal` (the caller, on either).").req(),
            f("value", Ty::Text, "execute_code", "The tool name or principal the limit applies to, exact or a glob.").req(),
            f("rateLimit", Ty::Ref("RateLimitValue"), "", "The rate.").req(),
            f("perPrincipal", Ty::Bool, "true", "Count each principal separately (extension); otherwise all callers share one budget.").default(Dflt::Bool(false)),
        ],
        example: "key: principal\nvalue: 'system:serviceaccount:batch:*'\nrateLimit: {requestsPerMinute: 30}\nperPrincipal: true\n",
        ..DEF
    },
    Def {
        id: "Timeout",
        path: "policies[].timeout",
        desc: "`timeout`: how long a request may take. Set `request`, `idle` or both.",
        fields: &[
            f("request", Ty::PositiveDuration, "300s", "The longest a whole request may take, retries included."),
            f("idle", Ty::PositiveDuration, "60s", "The longest a stream may stay silent."),
        ],
        example: "request: 300s\nidle: 60s\n",
        ..DEF
    },
    Def {
        id: "Retry",
        path: "policies[].retry",
        desc: "`retry`: failed upstream calls are tried again, with jittered backoff and a retry budget, within the \
               `timeout` policy.",
        fields: &[
            f("attempts", COUNT, "3", "Tries in all, the first included: `3` is one try and up to two retries.").req(),
            f("perTryTimeout", Ty::PositiveDuration, "30s", "The longest one try may take."),
            f("retryOn", Ty::List(&Ty::Enum(RETRY_ON), 0), "[5xx, reset, connect-failure]", "The failures that are retried (Envoy's names): `connect-failure` (the request never reached the upstream), `reset` (the connection broke; includes connect-failure), `5xx` (any 5xx answer), `gateway-error` (502, 503 or 504; includes connect-failure), `retriable-4xx` (409). `refused-stream` is an HTTP/2 condition and never occurs on the HTTP/1.1 upstream connections (reported by `validate`). A JSON-RPC error reply is an answer and never retried."),
            f("backoff", Ty::Ref("Backoff"), "", "The wait between tries."),
        ],
        example: "attempts: 3\nperTryTimeout: 30s\nretryOn: [5xx, reset, connect-failure]\nbackoff: {baseInterval: 1s, maxInterval: 10s}\n",
        ..DEF
    },
    Def {
        id: "Backoff",
        path: "policies[].retry.backoff",
        desc: "Exponential backoff between tries, with jitter.",
        fields: &[
            f("baseInterval", Ty::PositiveDuration, "1s", "The first wait.").req(),
            f("maxInterval", Ty::PositiveDuration, "10s", "The longest wait; not shorter than `baseInterval`.").req(),
        ],
        example: "baseInterval: 1s\nmaxInterval: 10s\n",
        ..DEF
    },
    Def {
        id: "Backend",
        path: "routes[].backends[]",
        desc: "An upstream behind a route. Its `type` decides which other fields apply; a field of another type is an \
               error that says where it belongs.",
        fields: &[
            f("name", Ty::Text, "weather-tools", "The backend's name, unique within the route. With several MCP backends it is also the default tool-name prefix.").req(),
            f("type", Ty::Enum(BACKEND_TYPES), "mcp-http", "`mcp-http`: an MCP server over Streamable HTTP (either era) or, with `mcp.protocol: sse`, the legacy HTTP+SSE transport. `mcp-stdio`: a child process speaking MCP on stdin/stdout. `sample`: the built-in sample server with the guide's six tools. `a2a` (or no type): an A2A agent.").default(Dflt::Str("a2a")),
            f("address", URL, "http://agent-core-mcp-service.agent-core-infra.svc.cluster.local:8000", "The upstream's base URL (types `mcp-http` and `a2a`)."),
            f("mcp", Ty::Ref("BackendMcp"), "", "MCP settings (types `mcp-http`, `mcp-stdio` and `sample`)."),
            f("agentName", Ty::Text, "weather", "The name the agent is served under at `/agents/<name>` (type `a2a`).").default(Dflt::Doc("the name on the agent's card")),
            f("tls", Ty::Ref("BackendTls"), "", "How https connections to the backend are verified, and the client certificate shown to it (types `mcp-http` and `a2a` at an `https://` address; elsewhere a warning, and ignored)."),
        ],
        discriminator: Some((
            "type",
            &[
                Variant { value: "mcp-http", when_absent: false, requires: &["address"], forbids: &["agentName"], nested: &[("mcp", &[], STDIO_ONLY)], example: "name: tools\ntype: mcp-http\naddress: http://agent-core-mcp-service.agent-core-infra.svc.cluster.local:8000\nmcp:\n  endpoint: /mcp\n  timeout: 300s\n  headers: {x-api-key: secret}\n" },
                Variant { value: "mcp-stdio", when_absent: false, requires: &["mcp"], forbids: &["address", "agentName"], nested: &[("mcp", &["command"], HTTP_ONLY)], example: "name: everything\ntype: mcp-stdio\nmcp:\n  command: npx\n  args: [-y, '@modelcontextprotocol/server-everything']\n  env: {LOG_LEVEL: info}\n" },
                Variant { value: "sample", when_absent: false, requires: &[], forbids: &["address", "agentName"], nested: &[("mcp", &[], &["endpoint", "protocol", "headers", "forwardAuthorization", "command", "args", "env"])], example: "name: weather-tools\ntype: sample\n" },
                Variant { value: "a2a", when_absent: true, requires: &["address"], forbids: &["mcp"], nested: &[], example: "name: weather-agent\naddress: http://weather-agent-v6.agent-core-infra.svc.cluster.local:8080\nagentName: weather\n" },
            ],
        )),
        example: "name: tools\ntype: mcp-http\naddress: http://tools.default.svc:8000\n",
        ..DEF
    },
    Def {
        id: "BackendMcp",
        path: "routes[].backends[].mcp",
        desc: "MCP settings of a backend. Which fields apply depends on the backend's `type`.",
        fields: &[
            f("endpoint", HTTP_PATH, "/mcp", "The path of the MCP endpoint on the upstream (`mcp-http`).").default(Dflt::Doc("`/mcp` (`/sse` with `protocol: sse`)")),
            f("protocol", Ty::Enum(&["http", "sse"]), "sse", "`http`: Streamable HTTP; `sse`: the legacy HTTP+SSE transport of 2024-11-05 (`mcp-http`).").default(Dflt::Str("http")),
            f("timeout", Ty::PositiveDuration, "300s", "Per-call upstream timeout."),
            f("prefix", Ty::Text, "weather", "The tool-name prefix used when the route has several backends.").default(Dflt::Doc("the backend name")),
            f("forwardAuthorization", Ty::Bool, "true", "Forward the caller's `Authorization` header to this upstream (`mcp-http`). Otherwise it is never forwarded.").default(Dflt::Bool(false)),
            f("headers", Ty::StrMap(Some(HEADER_NAME)), "{x-api-key: secret}", "Extra headers sent to the upstream, e.g. its own credentials (`mcp-http`)."),
            f("command", Ty::Text, "npx", "The program to start (`mcp-stdio`, required there)."),
            f("args", TEXTS, "[-y, '@modelcontextprotocol/server-everything']", "Its arguments (`mcp-stdio`)."),
            f("env", Ty::StrMap(None), "{LOG_LEVEL: debug}", "Environment variables for it (`mcp-stdio`)."),
        ],
        example: "endpoint: /mcp\nprotocol: http\ntimeout: 300s\nprefix: weather\nforwardAuthorization: false\nheaders: {x-api-key: secret}\n",
        ..DEF
    },
    Def {
        id: "BackendTls",
        path: "routes[].backends[].tls",
        desc: "TLS toward a backend at an `https://` address (extension). Without it the backend's certificate is \
               verified against the system's trusted roots, or, when the environment variable `SSL_CERT_FILE` (or \
               `SSL_CERT_DIR`) is set, against the certificates there instead, as OpenSSL, curl, Python and Go tools \
               do. Files are PEM and read when the route is built (at start and on every config reload); an \
               unreadable or invalid file stops that config from being served, with a message naming the backend and \
               the file. Relative paths are relative to the gateway's working directory.",
        fields: &[
            f("caFile", Ty::Text, "/etc/agent-gateway/upstream-ca.crt", "CA certificates trusted for this backend, in addition to the system's roots (or `SSL_CERT_FILE`'s)."),
            f("certFile", Ty::Text, "/etc/agent-gateway/upstream-client.crt", "A client certificate chain (leaf first), presented when the backend asks for one (mTLS). Set together with `keyFile`."),
            f("keyFile", Ty::Text, "/etc/agent-gateway/upstream-client.key", "The private key of `certFile` (PKCS#8, PKCS#1 or SEC1)."),
        ],
        together: &[("certFile", "keyFile")],
        example: "caFile: /etc/agent-gateway/upstream-ca.crt\ncertFile: /etc/agent-gateway/upstream-client.crt\nkeyFile: /etc/agent-gateway/upstream-client.key\n",
        ..DEF
    },
    Def {
        id: "Observability",
        path: "observability",
        desc: "Traces and metrics (the guide's section).",
        fields: &[
            f("opentelemetry", Ty::Ref("OpenTelemetry"), "", "Trace export over OTLP."),
            f("prometheus", Ty::Ref("Prometheus"), "", "The Prometheus metrics endpoint."),
            f("mcp", Ty::Ref("McpObservability"), "", "MCP metrics."),
        ],
        example: "prometheus:\n  port: 9090\n  path: /metrics\n",
        ..DEF
    },
    Def {
        id: "OpenTelemetry",
        path: "observability.opentelemetry",
        desc: "OpenTelemetry trace export (OTLP).",
        fields: &[
            f("enabled", Ty::Bool, "true", "A section that is written down is meant to be on.").default(Dflt::Bool(true)),
            f("endpoint", URL, "http://jaeger-collector.observability.svc.cluster.local:4317", "The OTLP collector. Required unless `enabled: false`.").when_enabled(),
            f("protocol", Ty::Enum(&["grpc", "http/protobuf"]), "grpc", "The OTLP protocol. This build exports over `grpc`; `http/protobuf` is accepted but not active.").default(Dflt::Str("grpc")),
            f("tracing", Ty::Ref("Tracing"), "", "Trace settings."),
        ],
        example: "enabled: true\nendpoint: http://jaeger-collector.observability.svc.cluster.local:4317\nprotocol: grpc\n",
        ..DEF
    },
    Def {
        id: "Tracing",
        path: "observability.opentelemetry.tracing",
        desc: "Trace settings.",
        fields: &[
            f("enabled", Ty::Bool, "true", "Whether traces are recorded.").default(Dflt::Bool(true)),
            f("samplingRate", Ty::Num(0.0, 1.0), "0.1", "The fraction of requests traced, 0 to 1.").default(Dflt::Num(1.0)),
            f("attributes", Ty::List(&Ty::Ref("TraceAttribute"), 0), "", "Attributes added to every span."),
        ],
        example: "enabled: true\nsamplingRate: 1.0\nattributes:\n  - {key: gateway.version, value: '0.11'}\n",
        ..DEF
    },
    Def {
        id: "TraceAttribute",
        path: "observability.opentelemetry.tracing.attributes[]",
        desc: "A span attribute.",
        fields: &[
            f("key", Ty::Text, "agent.identity", "The attribute's name.").req(),
            f("value", Ty::Str, "'${jwt.sub}'", "Its value.").req(),
        ],
        example: "key: tool.name\nvalue: ${mcp.tool}\n",
        ..DEF
    },
    Def {
        id: "Prometheus",
        path: "observability.prometheus",
        desc: "The Prometheus metrics endpoint, on a port of its own.",
        fields: &[
            f("enabled", Ty::Bool, "true", "Whether metrics are served.").default(Dflt::Bool(true)),
            f("port", PORT, "9090", "The metrics port; not the port of a bind.").default(Dflt::Int(9090)),
            f("path", HTTP_PATH, "/metrics", "The metrics path.").default(Dflt::Str("/metrics")),
            f("metrics", TEXTS, "[agent_requests_total]", "The guide's list of metric names (informational)."),
        ],
        example: "enabled: true\nport: 9090\npath: /metrics\n",
        ..DEF
    },
    Def {
        id: "McpObservability",
        path: "observability.mcp",
        desc: "MCP metrics (the guide's section).",
        fields: &[
            f("enabled", Ty::Bool, "true", "Whether MCP metrics are recorded.").default(Dflt::Bool(true)),
            f("metrics", TEXTS, "[mcp_tool_calls_total]", "The guide's list of metric names (informational)."),
        ],
        example: "enabled: true\nmetrics: [mcp_tool_calls_total, mcp_tool_errors]\n",
        ..DEF
    },
    Def {
        id: "Security",
        path: "security",
        desc: "Gateway-wide security settings.",
        fields: &[
            f("sessionKey", SESSION_KEY, "'AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA='", "The key that seals session ids: 32 bytes in base64 (`openssl rand -base64 32`). Set the same key on every replica. Without it the env var `AGENT_GATEWAY_SESSION_KEY` is used, else a key is generated (with a warning: sessions then end with the process).").default(Dflt::Doc("`AGENT_GATEWAY_SESSION_KEY`, else generated")),
            f("sessionKeyFile", Ty::Text, "/var/run/secrets/agent-gateway/session-key", "Read the key from this file instead (a mounted Secret). Not together with `sessionKey`."),
            f("sessionTtl", Ty::PositiveDuration, "1h", "The lifetime of a session id.").default(Dflt::Str("24h")),
            f("allowedOrigins", Ty::List(&ORIGIN, 0), "['https://app.example.com']", "Origins allowed on browser requests (those with an `Origin` header). A same-host Origin is not enough, since a DNS-rebinding browser sends one; a loopback origin reaching a loopback Host needs no entry.").default(Dflt::Doc("none; loopback origins reach loopback Hosts")),
            f("allowedHosts", Ty::List(&HOST, 0), "['gw.example.com', '*.svc.cluster.local']", "Host names requests may carry (without port; `*.name` for any subdomain of it); any other gets 403. Against DNS rebinding on binds that are not loopback: a rebinding browser sends the attacker's name as Host. Loopback binds accept loopback names (`localhost`, 127.0.0.0/8, `[::1]`) in any case.").default(Dflt::Doc("any Host on other binds; loopback names on loopback binds")),
            f("trustedProxies", Ty::List(&CIDR, 0), "['10.0.0.0/8']", "Peers (addresses or CIDR ranges) whose `X-Forwarded-Host`, `X-Forwarded-Proto`, `X-Forwarded-For` and `Forwarded` headers are believed, e.g. the ingress controller's pods; from any other peer those headers are removed on arrival. They name the gateway's public URL in agent cards, protected-resource metadata and `WWW-Authenticate`.").default(Dflt::Doc("none")),
            f("mtls", Ty::Ref("Mtls"), "", "Mutual TLS on the listeners (guide step 10.1)."),
        ],
        exclusive: &[("sessionKey", "sessionKeyFile")],
        example: "sessionKeyFile: /var/run/secrets/agent-gateway/session-key\nsessionTtl: 24h\nallowedOrigins: ['http://localhost:3000']\nallowedHosts: [gw.example.com]\n",
        ..DEF
    },
    Def {
        id: "Mtls",
        path: "security.mtls",
        desc: "Mutual TLS. The client certificate's SPIFFE ID or CN is the principal where no token is required; the \
               files are reloaded when they change.",
        fields: &[
            f("enabled", Ty::Bool, "true", "Whether mTLS is on.").default(Dflt::Bool(true)),
            f("mode", Ty::Enum(&["STRICT", "PERMISSIVE"]), "PERMISSIVE", "`STRICT`: a client certificate is required; `PERMISSIVE`: it is optional.").default(Dflt::Str("STRICT")),
            f("certificateAuthority", Ty::Text, "/etc/agent-gateway/tls/ca.crt", "The CA bundle that verifies client certificates. Required unless `enabled: false`.").when_enabled(),
            f("serverCert", Ty::Text, "/etc/agent-gateway/tls/tls.crt", "The gateway's certificate. Required unless `enabled: false`.").when_enabled(),
            f("serverKey", Ty::Text, "/etc/agent-gateway/tls/tls.key", "The gateway's private key. Required unless `enabled: false`.").when_enabled(),
        ],
        example: "mode: STRICT\ncertificateAuthority: /etc/agent-gateway/tls/ca.crt\nserverCert: /etc/agent-gateway/tls/tls.crt\nserverKey: /etc/agent-gateway/tls/tls.key\n",
        ..DEF
    },
    Def {
        id: "Limits",
        path: "limits",
        desc: "Request limits (extension).",
        fields: &[
            f("maxBodyBytes", Ty::Int(1, i64::MAX), "1048576", "The largest request body accepted, in bytes; a larger one gets 413.").default(Dflt::Int(4 * 1024 * 1024)),
            f("maxJsonDepth", Ty::Int(1, 10_000), "32", "The deepest JSON nesting accepted.").default(Dflt::Int(64)),
            f("headerReadTimeout", Ty::Duration, "10s", "How long a request's head may take to arrive, TLS handshake included (a slow sender is cut off), and how long an idle keep-alive connection waits for its next request.").default(Dflt::Str("30s")),
            f("bodyReadTimeout", Ty::Duration, "30s", "How long a request's body may take to arrive once its head has; a slower one gets 408.").default(Dflt::Str("60s")),
            f("maxConnections", Ty::Int(1, 1_000_000), "5000", "Connections served at once on each bind; further ones wait in the kernel's accept queue until one closes.").default(Dflt::Int(10_000)),
            f("maxUpstreamTools", Ty::Int(1, 10_000_000), "2000", "The most tools one MCP upstream may list. An upstream that lists more fails discovery: its tools are withheld and `/health/upstreams` says why.").default(Dflt::Int(10_000)),
            f("maxUpstreamCatalogueBytes", Ty::Int(1024, i64::MAX), "4194304", "The most bytes of definitions (tools, prompts, resources and templates, as JSON) one MCP upstream may list; past it, as for `maxUpstreamTools`.").default(Dflt::Int(16 * 1024 * 1024)),
            f("maxUpstreamSchemaBytes", Ty::Int(1024 * 1024, i64::MAX), "33554432", "The most memory the compiled input and output schemas of one MCP upstream may take, in bytes, as estimated before compiling: 64 bytes per byte of distinct schema JSON plus 288 KiB per regular expression (`pattern`, `patternProperties`), above what compiling was measured to keep. Past it, as for `maxUpstreamTools`. Each `pattern` is compiled under a 128 KiB size cap; a larger one makes its tool's schema fail to compile (the tool is withheld and reported).").default(Dflt::Int(64 * 1024 * 1024)),
        ],
        example: "maxBodyBytes: 4194304\nmaxJsonDepth: 64\nheaderReadTimeout: 30s\nbodyReadTimeout: 60s\nmaxConnections: 10000\nmaxUpstreamTools: 10000\nmaxUpstreamCatalogueBytes: 16777216\nmaxUpstreamSchemaBytes: 67108864\n",
        ..DEF
    },
    Def {
        id: "RateLimitStore",
        path: "rateLimitStore",
        desc: "A Redis shared by all replicas, so that a rate limit holds for the whole gateway, and a session DELETEd on one replica is refused by all of them (extension). Without it, limits and revocations are per replica.",
        fields: &[
            f("redis", REDIS_URL, "redis://redis.agent-gateway.svc:6379", "`redis://[:password@]host[:port][/db]` or `unix:///path/to/socket`. TLS (`rediss://`) is not supported.").req(),
            f("failMode", Ty::Enum(&["failOpen", "failClosed"]), "failClosed", "What happens to calls while Redis cannot answer: `failOpen` admits them (availability over limits); `failClosed` refuses calls that are under a limit.").default(Dflt::Str("failOpen")),
        ],
        example: "redis: redis://redis.agent-gateway.svc:6379\nfailMode: failOpen\n",
        ..DEF
    },
    Def {
        id: "Registry",
        path: "registry",
        desc: "The registry folder: an entry per approved MCP server and A2A agent, and `lock.json`, which pins every tool, \
               prompt and resource template each server exposes by a SHA-256 digest over its canonical JSON (RFC 8785). \
               `agent-gateway registry lock|diff|approve|verify --config FILE` maintain and check it. The lock is read \
               again on every config reload.",
        fields: &[
            f("path", Ty::Text, "registry", "The folder, relative to the config file's folder.").req(),
            f("publicKey", Ty::Text, "zErQGGoeJ59KN825yad/4RCeb8QePnAUEZneZH+6FyY=", "The Ed25519 public key (32 bytes, base64, as `agent-gateway registry keygen` prints it) that `lock.json.sig` must verify with: a lock whose signature is missing or does not verify is refused at start and at every reload (the old config stays), so a lock changed where it is deployed, without the signing key, is never used. `agent-gateway registry sign --config FILE --key KEYFILE` signs the lock after `lock` or `approve`; `registry verify` checks the signature too. Unset: the lock is not signed. No effect with `mode: off`."),
            f("mode", Ty::Enum(&["enforce", "warn", "off"]), "enforce", "What a tool, prompt or resource template that is not locked, or whose digest differs from the lock, leads to: `enforce` withholds it from every caller's lists and refuses it (`tools/call`, `prompts/get`) like an unknown one, until the lock holds it; `warn` serves it; both report it on `/health/upstreams`, in the log (once per change) and in `agent_gateway_registry_drift`. `off`: the lock is not read at run time.").req(),
        ],
        example: "path: registry\nmode: enforce\npublicKey: zErQGGoeJ59KN825yad/4RCeb8QePnAUEZneZH+6FyY=\n",
        ..DEF
    },
    Def {
        id: "Shutdown",
        path: "shutdown",
        desc: "How the gateway stops on SIGTERM or SIGINT (extension). It stops accepting at once (new connections \
               are refused, so clients and load balancers go to another replica), lets requests in flight finish, ends \
               notification streams cleanly, and exits 0. A second signal exits at once.",
        fields: &[
            f("gracePeriod", Ty::Duration, "25s", "How long requests in flight (streamed answers included) get to finish; what is still running then is cut, and the log says how many. Keep it below the pod's `terminationGracePeriodSeconds` (the Helm chart sets that to this plus 5s), or Kubernetes kills the gateway first.").default(Dflt::Str("25s")),
        ],
        example: "gracePeriod: 25s\n",
        ..DEF
    },
    Def {
        id: "ConfigMap",
        path: "(ConfigMap wrapper)",
        desc: "The Kubernetes ConfigMap of the user's guide, holding the config as text under `data.gateway.yaml` \
               (best as a literal block, `gateway.yaml: |`, so that diagnostics name lines of the outer file). A file \
               with `kind` or `apiVersion` at the top is read as this wrapper.",
        fields: &[
            f("apiVersion", Ty::Enum(&["v1"]), "v1", "Always `v1`.").req(),
            f("kind", Ty::Enum(&["ConfigMap"]), "ConfigMap", "Always `ConfigMap`.").req(),
            f("metadata", Ty::AnyMap, "{name: agent-gateway-config, namespace: agent-gateway}", "The object's metadata (not read by the gateway)."),
            f("data", Ty::Ref("ConfigMapData"), "", "The files of the ConfigMap.").req(),
            f("binaryData", Ty::StrMap(None), "{}", "Binary files (not read by the gateway)."),
            f("immutable", Ty::Bool, "false", "Kubernetes' flag (not read by the gateway)."),
        ],
        example: "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: agent-gateway-config\ndata:\n  gateway.yaml: |\n    binds:\n      - port: 8080\n        listeners: []\n",
        ..DEF
    },
    Def {
        id: "ConfigMapData",
        path: "(ConfigMap wrapper).data",
        desc: "The files of the ConfigMap. Other keys are allowed and ignored.",
        fields: &[f("gateway.yaml", Ty::Str, "'binds: [...]'", "The gateway config (the top-level document above) as text.").req()],
        additional: Some(Ty::Str),
        example: "gateway.yaml: |\n  binds: []\n",
        ..DEF
    },
];
