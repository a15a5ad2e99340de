"""An MCP client set up the way KAgent v0.9.12 sets one up for a `RemoteMCPServer` (Python `mcp` 1.28).

What KAgent does, read from its source (kagent-dev/kagent at tag v0.9.12) and from google-adk 1.31.1 (the
version KAgent's python/uv.lock pins, with mcp 1.28.0):

1. The controller (go/core/internal/controller/translator/agent/adk_api_translator.go,
   translateStreamableHttpTool) turns a `protocol: STREAMABLE_HTTP` RemoteMCPServer into
   `StreamableHTTPConnectionParams{url, headers, timeout, sse_read_timeout, terminate_on_close}`:
   `headers` is `RemoteMCPServer.ResolveHeaders` (go/api/v1alpha2/remotemcpserver_types.go): each
   `headersFrom` entry becomes `{name: value}`, a `valueFrom: {type: Secret}` entry the Secret key's whole
   value. Durations become seconds (`Duration.Seconds()`). `timeout` defaults to 30s and `terminateOnClose`
   to true in the CRD (kubebuilder defaults); `sseReadTimeout` has no default, so it is left out.
2. The agent runtime (python/packages/kagent-adk/src/kagent/adk/types.py, AgentConfig.to_agent) hands those
   params to `KAgentMcpToolset` (a google-adk `McpToolset`). Without TLS settings the httpx client factory
   stays mcp's `create_mcp_http_client`.
3. google-adk's MCPSessionManager (google/adk/tools/mcp_tool/mcp_session_manager.py, _create_client and
   create_session; session_context.py, SessionContext._run) then does:
       streamablehttp_client(url=..., headers=headers,
                             timeout=timedelta(seconds=timeout),
                             sse_read_timeout=timedelta(seconds=sse_read_timeout),   # adk default 300
                             terminate_on_close=terminate_on_close,
                             httpx_client_factory=create_mcp_http_client)
       ClientSession(read, write, read_timeout_seconds=timedelta(seconds=sse_read_timeout))
       await asyncio.wait_for(session.initialize(), timeout=timeout)
   the whole session start also under asyncio.wait_for(..., timeout); a failure becomes
   ConnectionError("Failed to create MCP session: ...").
4. McpToolset.get_tools: asyncio.wait_for(session.list_tools(), timeout) (one page, no cursor);
   McpTool.run_async: session.call_tool(name, arguments=args, progress_callback=None, meta=None).
   Closing the toolset closes the session's exit stacks: with terminate_on_close the transport sends
   DELETE with the Mcp-Session-Id.

Usage:
  kagent_client.py --url URL [--header-from-secret NAME=FILE ...] [--header NAME=VALUE ...]
                   [--timeout 300s] [--sse-read-timeout 300s] [--terminate-on-close true|false]
                   [--call TOOL --args JSON]

`--header-from-secret NAME=FILE` stands in for `headersFrom: [{name: NAME, valueFrom: {type: Secret, ...}}]`:
FILE holds the Secret key's value (e.g. `Bearer <token>`), used whole, as KAgent uses it. Durations take the
Kubernetes forms `300s`, `5m`, `1m30s`.

Prints one JSON line on stdout and exits 0:
  {"protocolVersion", "serverInfo", "sessionId", "tools": [names], "call": <CallToolResult>|null}
On failure prints one JSON line {"error": {"stage", "type", "message", "httpStatus"}} and exits 1
(`httpStatus` is the HTTP status of the first httpx.HTTPStatusError in the exception tree, else null).
"""

import argparse
import asyncio
import json
import re
import sys
from contextlib import AsyncExitStack
from datetime import timedelta

import httpx
from mcp import ClientSession
from mcp.client.streamable_http import create_mcp_http_client, streamablehttp_client

# CRD defaults (go/api/v1alpha2/remotemcpserver_types.go, kubebuilder:default) and google-adk's own default
# for a field the controller leaves out (StreamableHTTPConnectionParams.sse_read_timeout = 60 * 5.0).
CRD_DEFAULT_TIMEOUT = "30s"
CRD_DEFAULT_TERMINATE_ON_CLOSE = True
ADK_DEFAULT_SSE_READ_TIMEOUT = 60 * 5.0


def duration_seconds(text: str) -> float:
    """A metav1.Duration as the controller turns it into seconds (`Duration.Seconds()`)."""
    parts = re.findall(r"(\d+(?:\.\d+)?)(h|ms|m|s)", text)
    if not parts or "".join(n + u for n, u in parts) != text:
        raise SystemExit(f"kagent_client: not a duration: {text!r}")
    scale = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 0.001}
    return sum(float(n) * scale[u] for n, u in parts)


def resolve_headers(args) -> dict[str, str]:
    """RemoteMCPServer.ResolveHeaders: each headersFrom entry, in order, later names winning."""
    headers: dict[str, str] = {}
    for entry in args.header_from_secret:
        name, _, path = entry.partition("=")
        with open(path, encoding="utf-8") as f:
            headers[name] = f.read()
    for entry in args.header:
        name, _, value = entry.partition("=")
        headers[name] = value
    return headers


def http_status(error: BaseException) -> int | None:
    """The status of the first HTTPStatusError in an exception tree (groups, causes, contexts)."""
    seen: set[int] = set()
    todo = [error]
    while todo:
        e = todo.pop(0)
        if e is None or id(e) in seen:
            continue
        seen.add(id(e))
        if isinstance(e, httpx.HTTPStatusError):
            return e.response.status_code
        todo.extend(getattr(e, "exceptions", ()))
        todo.extend([e.__cause__, e.__context__])
    return None


async def wait_for(awaitable, timeout: float):
    """asyncio.wait_for as KAgent's runtime gets it: its image runs Python 3.13, where wait_for awaits in the
    caller's task (on 3.11, the machine's Python here, it wraps the awaitable in a new task, and entering the
    transport's anyio task group there fails with "cancel scope in a different task")."""
    async with asyncio.timeout(timeout):
        return await awaitable


def leaf(error: BaseException) -> BaseException:
    while isinstance(error, BaseExceptionGroup) and error.exceptions:
        error = error.exceptions[0]
    return error


class SessionContext:
    """google-adk's SessionContext (session_context.py), cut to what a Streamable HTTP session uses: one task
    owns the transport and the ClientSession from start to close (anyio cancel scopes must be entered and
    left in the same task), initialises under `timeout`, signals readiness, and waits for the close signal."""

    def __init__(self, params: dict, out: dict):
        self.params = params
        self.out = out
        self.session: ClientSession | None = None
        self.ready = asyncio.Event()
        self.closing = asyncio.Event()
        self.task: asyncio.Task | None = None

    async def _run(self) -> None:
        p = self.params
        try:
            async with AsyncExitStack() as stack:
                # MCPSessionManager._create_client for StreamableHTTPConnectionParams.
                client = streamablehttp_client(
                    url=p["url"],
                    headers=p["headers"],
                    timeout=timedelta(seconds=p["timeout"]),
                    sse_read_timeout=timedelta(seconds=p["sse_read_timeout"]),
                    terminate_on_close=p["terminate_on_close"],
                    httpx_client_factory=create_mcp_http_client,
                )
                transports = await wait_for(stack.enter_async_context(client), timeout=p["timeout"])
                # For HTTP transports the session's read timeout is sse_read_timeout, not timeout.
                session = await stack.enter_async_context(
                    ClientSession(
                        *transports[:2],
                        read_timeout_seconds=timedelta(seconds=p["sse_read_timeout"]),
                    )
                )
                init = await wait_for(session.initialize(), timeout=p["timeout"])
                self.out["protocolVersion"] = init.protocolVersion
                self.out["serverInfo"] = init.serverInfo.model_dump(mode="json", exclude_none=True)
                self.out["sessionId"] = transports[2]()
                self.session = session
                self.ready.set()
                await self.closing.wait()
        finally:
            self.ready.set()
            self.closing.set()

    async def start(self) -> ClientSession:
        self.task = asyncio.create_task(self._run())
        await self.ready.wait()
        if self.task.done() and self.task.exception():
            raise self.task.exception()
        return self.session

    async def close(self) -> None:
        """Leaving the transport's context sends DELETE with the session id when terminate_on_close."""
        self.closing.set()
        await wait_for(self.task, timeout=self.params["timeout"])


async def run(args) -> dict:
    # The controller's translation (step 1).
    params = {
        "url": args.url,
        "headers": resolve_headers(args) or None,
        "timeout": duration_seconds(args.timeout),
        "sse_read_timeout": (
            duration_seconds(args.sse_read_timeout)
            if args.sse_read_timeout is not None
            else ADK_DEFAULT_SSE_READ_TIMEOUT
        ),
        "terminate_on_close": args.terminate_on_close,
    }
    out = {"protocolVersion": None, "serverInfo": None, "sessionId": None, "tools": None, "call": None}
    stage = "create_session"
    context = SessionContext(params, out)
    try:
        # MCPSessionManager.create_session (step 3).
        session = await wait_for(context.start(), timeout=params["timeout"])

        # McpToolset.get_tools (step 4).
        stage = "list_tools"
        listed = await wait_for(session.list_tools(), timeout=params["timeout"])
        out["tools"] = [t.name for t in listed.tools]

        # McpTool.run_async (step 4).
        if args.call:
            stage = "call_tool"
            result = await session.call_tool(
                args.call,
                arguments=json.loads(args.args),
                progress_callback=None,
                meta=None,
            )
            out["call"] = result.model_dump(exclude_none=True, mode="json")

        # McpToolset.close -> MCPSessionManager.close -> SessionContext.close.
        stage = "close"
        await context.close()
        return out
    except Exception as e:  # reported, as google-adk reports it (ConnectionError around the cause)
        inner = leaf(e)
        raise Failure(
            {
                "stage": stage,
                "type": type(inner).__name__,
                "message": str(inner) or repr(inner),
                "httpStatus": http_status(e),
            }
        ) from e


class Failure(Exception):
    def __init__(self, report: dict):
        super().__init__(report["message"])
        self.report = report


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--url", required=True)
    p.add_argument("--header-from-secret", action="append", default=[], metavar="NAME=FILE")
    p.add_argument("--header", action="append", default=[], metavar="NAME=VALUE")
    p.add_argument("--timeout", default=CRD_DEFAULT_TIMEOUT)
    p.add_argument("--sse-read-timeout", default=None)
    p.add_argument(
        "--terminate-on-close",
        type=lambda v: {"true": True, "false": False}[v.lower()],
        default=CRD_DEFAULT_TERMINATE_ON_CLOSE,
    )
    p.add_argument("--call")
    p.add_argument("--args", default="{}")
    args = p.parse_args()
    try:
        out = asyncio.run(run(args))
    except Failure as f:
        print(json.dumps({"error": f.report}), flush=True)
        return 1
    print(json.dumps(out), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
