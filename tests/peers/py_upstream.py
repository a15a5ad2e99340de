#!/usr/bin/env python3
"""An upstream MCP server built on the Python `mcp` 2.x SDK, for gateway tests.

It serves both protocol eras on one endpoint (the SDK does that by itself):
2026-07-28 (stateless, `server/discover`) and the session era (`initialize`,
`Mcp-Session-Id`). Elicitation and sampling are declared with the SDK's
`Resolve(...)` markers, so the SDK sends them as server->client requests on
session-era connections and as `InputRequiredResult` rounds on 2026-07-28.

    py_upstream.py [--transport streamable-http|sse|stdio] [--host 127.0.0.1]
                   [--port N] [--name NAME] [--era both|legacy|modern] [--notify] [--roots]

With --transport streamable-http the endpoint is http://HOST:PORT/mcp; with
--transport sse (the legacy HTTP+SSE transport) it is http://HOST:PORT/sse. Once the
socket accepts connections it prints exactly one line `LISTENING <port>` to
stdout (so `--port 0`, a free port chosen by the kernel, can be read by tests).
Logs go to stderr. --name only sets serverInfo.name; tool names never change.

Tools:     echo{text}, add{a,b} (structured {sum}), slow{seconds,steps}
           (progress, cancellable), fail{}, ask_user{question} (elicitation),
           sample_llm{prompt} (sampling)
Resources: memo://readme, template memo://notes/{id}
Prompts:   greet{name} (with completion for `name`)

--notify adds change announcements (off by default, so the tool list and the
capabilities above stay as they were):
  add_tool{name}  registers a tool `name` (it echoes `text`) at runtime and announces
                  notifications/tools/list_changed: on 2026-07-28 through the SDK's
                  subscription bus (`ctx.notify_tools_changed()`, delivered on
                  `subscriptions/listen` streams), in the session era on the standalone
                  GET stream of every session this server has seen
                  (`session.send_tool_list_changed()`).
  redescribe{name, description}
                  changes tool `name`'s description (a rug pull on cue) and announces
                  notifications/tools/list_changed as add_tool does.
  touch{uri}      announces notifications/resources/updated for `uri`: on the bus
                  (`ctx.notify_resource_updated`, listen streams whose filter names the
                  uri) and to each session-era session that sent `resources/subscribe`
                  for it (`session.send_resource_updated`, on its GET stream).
  It also serves `resources/subscribe` / `resources/unsubscribe` (session era) and
  declares tools/prompts/resources `listChanged` in the `initialize` result (the
  2026-07-28 capabilities already say so, because `subscriptions/listen` is served).

--roots adds client_roots{}: asks the client `roots/list` on the session's standalone
  (GET) stream (the SDK's `session.list_roots()`, no related request) and returns them.

--era limits which protocol era the streamable HTTP endpoint accepts. The SDK has
no switch for this (it routes on the MCP-Protocol-Version header alone), so a thin
ASGI wrapper in front of the SDK's app does it:
  both    (default) the SDK unchanged.
  legacy  a session-era-only server: a modern MCP-Protocol-Version header is
          dropped before the SDK sees the request, so the SDK's session-era path
          answers it (a `server/discover` without a session gets HTTP 400
          -32600 "Bad Request: Missing session ID", like a 2025 server).
  modern  a 2026-07-28-only server: a request without a modern
          MCP-Protocol-Version header is refused: POST with HTTP 400 and the SDK's
          -32022 "Unsupported protocol version" error (data.supported lists the
          modern versions), GET/DELETE (session streams) with HTTP 405.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Awaitable, Callable
from typing import Annotated, Any

import anyio
import mcp_types
from mcp.server.mcpserver import (
    Context,
    Elicit,
    ElicitationResult,
    MCPServer,
    Resolve,
    Sample,
)
from mcp.server.context import CallNext, HandlerResult, ServerRequestContext
from mcp.server.lowlevel.server import NotificationOptions
from mcp.server.mcpserver.exceptions import ToolError
from mcp.server.session import ServerSession
from mcp.shared.inbound import ERROR_CODE_HTTP_STATUS, unsupported_protocol_version_rejection
from mcp_types import (
    Completion,
    CompletionArgument,
    CompletionContext,
    CreateMessageResult,
    PromptReference,
    ResourceTemplateReference,
    SamplingMessage,
    TextContent,
)
from pydantic import BaseModel, Field

from mcp_types.version import HANDSHAKE_PROTOCOL_VERSIONS, MODERN_PROTOCOL_VERSIONS

from serve import serve_app, serve_sse, serve_streamable_http

README_TEXT = "py_upstream: a test upstream for agent-gateway.\n"
GREET_NAMES = ["Alice", "Albert", "Bob", "Carol"]


class AddResult(BaseModel):
    """Structured result of `add`; its JSON schema becomes the tool's outputSchema."""

    sum: float


class Answer(BaseModel):
    """What `ask_user` elicits from the user."""

    answer: str = Field(description="The user's answer")


def _ask_question(question: str) -> Elicit[Answer]:
    # Resolvers receive tool arguments by name.
    return Elicit(question, Answer)


def _sample_prompt(prompt: str) -> Sample:
    return Sample(
        [SamplingMessage(role="user", content=TextContent(type="text", text=prompt))],
        max_tokens=100,
    )


class SessionRegistry:
    """The session-era connections this server has seen, and their resource subscriptions.

    The SDK's session-era notifications go to one connection's standalone (GET) stream
    (`ServerSession.send_*` without `related_request_id`); a change that concerns every
    client has to be sent on each connection. A `ServerSession` is per request, but any
    of them reaches its connection's standalone stream, so the latest one per
    `Mcp-Session-Id` is kept (stdio: one connection, key "stdio").
    """

    def __init__(self) -> None:
        self.sessions: dict[str, ServerSession] = {}
        self.subscribers: dict[str, set[str]] = {}

    @staticmethod
    def key(ctx: ServerRequestContext[Any, Any]) -> str | None:
        if ctx.protocol_version in MODERN_PROTOCOL_VERSIONS:
            return None  # 2026-07-28: no connection to notify; the subscription bus serves it
        request = ctx.request
        headers = getattr(request, "headers", None)
        if headers is None:
            return "stdio"
        return headers.get("mcp-session-id")

    async def middleware(self, ctx: ServerRequestContext[Any, Any], call_next: CallNext) -> HandlerResult:
        if (key := self.key(ctx)) is not None:
            self.sessions[key] = ctx.session
        return await call_next(ctx)

    async def _send(self, key: str, send: Callable[[ServerSession], Awaitable[None]]) -> None:
        session = self.sessions.get(key)
        if session is None:
            return
        try:
            with anyio.fail_after(2):
                await send(session)
        except Exception as e:  # a connection that has gone away: forget it
            log(f"py_upstream: dropping session {key}: {type(e).__name__}: {e}")
            self.sessions.pop(key, None)
            for keys in self.subscribers.values():
                keys.discard(key)

    async def broadcast(self, send: Callable[[ServerSession], Awaitable[None]]) -> int:
        keys = list(self.sessions)
        for key in keys:
            await self._send(key, send)
        return len(keys)

    async def to_subscribers(self, uri: str, send: Callable[[ServerSession], Awaitable[None]]) -> int:
        keys = list(self.subscribers.get(uri, ()))
        for key in keys:
            await self._send(key, send)
        return len(keys)


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def add_notify_features(mcp: MCPServer) -> None:
    """`--notify`: add_tool, touch, resources/subscribe|unsubscribe, listChanged in `initialize`."""
    registry = SessionRegistry()
    low = mcp._lowlevel_server
    low.middleware.append(registry.middleware)

    # Session era: `initialize` capabilities come from create_initialization_options()
    # with default NotificationOptions (every listChanged false); MCPServer has no
    # parameter for them, so default them to true on this server instance.
    create_options = low.create_initialization_options

    def create_initialization_options(notification_options: NotificationOptions | None = None, *a: Any, **kw: Any):
        options = notification_options or NotificationOptions(
            prompts_changed=True, resources_changed=True, tools_changed=True
        )
        return create_options(options, *a, **kw)

    low.create_initialization_options = create_initialization_options  # type: ignore[method-assign]

    async def subscribe(ctx: ServerRequestContext[Any, Any], params: mcp_types.SubscribeRequestParams):
        if (key := registry.key(ctx)) is not None:
            registry.subscribers.setdefault(str(params.uri), set()).add(key)
            log(f"py_upstream: {key} subscribed to {params.uri}")
        return mcp_types.EmptyResult()

    async def unsubscribe(ctx: ServerRequestContext[Any, Any], params: mcp_types.UnsubscribeRequestParams):
        if (key := registry.key(ctx)) is not None:
            registry.subscribers.get(str(params.uri), set()).discard(key)
            log(f"py_upstream: {key} unsubscribed from {params.uri}")
        return mcp_types.EmptyResult()

    low.add_request_handler("resources/subscribe", mcp_types.SubscribeRequestParams, subscribe)
    low.add_request_handler("resources/unsubscribe", mcp_types.UnsubscribeRequestParams, unsubscribe)

    @mcp.tool(
        description="Register a tool `name` (it echoes `text`) and announce notifications/tools/list_changed.",
        structured_output=False,
    )
    async def add_tool(ctx: Context, name: str) -> str:
        def added(text: str = "") -> str:
            return f"{name}: {text}"

        mcp.add_tool(added, name=name, description=f"Added at runtime by add_tool({name!r}).", structured_output=False)
        await ctx.notify_tools_changed()  # 2026-07-28: subscriptions/listen streams
        sessions = await registry.broadcast(lambda s: s.send_tool_list_changed())  # session era: GET streams
        log(f"py_upstream: added tool {name}; list_changed sent to {sessions} session(s) and the bus")
        return f"added {name}"

    @mcp.tool(
        description="Change the description of tool `name` (a rug pull, on cue) and announce notifications/tools/list_changed.",
        structured_output=False,
    )
    async def redescribe(ctx: Context, name: str, description: str) -> str:
        tool = mcp._tool_manager.get_tool(name)
        if tool is None:
            return f"no tool {name}"
        tool.description = description
        await ctx.notify_tools_changed()
        sessions = await registry.broadcast(lambda s: s.send_tool_list_changed())
        log(f"py_upstream: redescribed {name}; list_changed sent to {sessions} session(s) and the bus")
        return f"redescribed {name}"

    @mcp.tool(description="Announce notifications/resources/updated for `uri` to its subscribers.", structured_output=False)
    async def touch(ctx: Context, uri: str) -> str:
        await ctx.notify_resource_updated(uri)  # 2026-07-28: listen streams whose filter names `uri`
        sessions = await registry.to_subscribers(uri, lambda s: s.send_resource_updated(uri))
        log(f"py_upstream: touched {uri}; resources/updated sent to {sessions} session(s) and the bus")
        return f"touched {uri} ({sessions} session subscriber(s))"


def era_filter(app: Any, era: str) -> Any:
    """An ASGI wrapper that makes the SDK's dual-era endpoint serve one era only (see --era)."""
    if era == "both":
        return app
    header = b"mcp-protocol-version"

    async def wrapped(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await app(scope, receive, send)
            return
        version = next((v.decode("latin-1") for k, v in scope["headers"] if k.lower() == header), None)
        modern = version is not None and version not in HANDSHAKE_PROTOCOL_VERSIONS
        if era == "legacy":
            if modern:
                scope = dict(scope, headers=[(k, v) for k, v in scope["headers"] if k.lower() != header])
            await app(scope, receive, send)
            return
        # era == "modern"
        if modern:
            await app(scope, receive, send)
            return
        if scope["method"] != "POST":
            await _respond(send, 405, b"Method Not Allowed: this server serves 2026-07-28 only", "text/plain")
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        try:
            request = json.loads(body)
        except ValueError:
            request = None
        request = request if isinstance(request, dict) else {}
        params = request.get("params") if isinstance(request.get("params"), dict) else {}
        requested = params.get("protocolVersion") or version or "(none)"
        rejection = unsupported_protocol_version_rejection(str(requested))
        assert rejection is not None
        error = {"code": rejection.code, "message": rejection.message, "data": rejection.data}
        reply = json.dumps({"jsonrpc": "2.0", "id": request.get("id"), "error": error}).encode()
        await _respond(send, ERROR_CODE_HTTP_STATUS.get(rejection.code, 400), reply, "application/json")

    return wrapped


async def _respond(send: Any, status: int, body: bytes, content_type: str) -> None:
    headers = [(b"content-type", content_type.encode()), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def add_roots_tool(mcp: MCPServer) -> None:
    """`--roots`: client_roots, which asks the client for its roots on the standalone (GET) stream."""

    @mcp.tool(description="List the client's roots (asked on the session's GET stream).", structured_output=False)
    async def client_roots(ctx: Context) -> str:
        # No related request id: the SDK sends it on the connection's standalone stream.
        roots = await ctx.session.list_roots()
        return "roots: " + ", ".join(str(root.uri) for root in roots.roots)


def build_server(name: str, notify: bool = False, roots: bool = False) -> MCPServer:
    # Only `add` returns structured content; the text tools are kept
    # unstructured (the SDK would otherwise wrap a `str` return as {"result": ...}).
    mcp = MCPServer(name, version="1.0.0", instructions="Test upstream for agent-gateway.")

    @mcp.tool(description="Echo the given text back.", structured_output=False)
    def echo(text: str) -> str:
        return text

    @mcp.tool(description="Add two numbers; returns structured content {sum}.")
    def add(a: float, b: float) -> AddResult:
        return AddResult(sum=a + b)

    @mcp.tool(description="Sleep `seconds` in `steps` steps, reporting progress after each; cancellable.", structured_output=False)
    async def slow(ctx: Context, seconds: float = 1.0, steps: int = 5) -> str:
        steps = max(1, steps)
        try:
            for i in range(1, steps + 1):
                await anyio.sleep(seconds / steps)
                await ctx.report_progress(i, steps, f"step {i}/{steps}")
        except anyio.get_cancelled_exc_class():
            # Tests look for this line to prove cancellation reached the upstream.
            print(f"slow: cancelled (request {ctx.request_id})", file=sys.stderr, flush=True)
            raise
        return f"slept {seconds}s in {steps} steps"

    @mcp.tool(description="Always fails with a tool error (isError: true).", structured_output=False)
    def fail() -> str:
        raise ToolError("fail: this tool always fails")

    @mcp.tool(description="Ask the user a question through elicitation.", structured_output=False)
    async def ask_user(
        question: str,
        reply: Annotated[ElicitationResult[Answer], Resolve(_ask_question)],
    ) -> str:
        if reply.action == "accept":
            return f"user answered: {reply.data.answer}"
        return f"user {reply.action}"

    @mcp.tool(description="Ask the client's LLM to complete a prompt (sampling).", structured_output=False)
    async def sample_llm(
        prompt: str,
        sampled: Annotated[CreateMessageResult, Resolve(_sample_prompt)],
    ) -> str:
        content = sampled.content
        text = content.text if isinstance(content, TextContent) else str(content)
        return f"llm said: {text}"

    @mcp.resource("memo://readme", name="readme", description="A short text memo.", mime_type="text/plain")
    def readme() -> str:
        return README_TEXT

    @mcp.resource("memo://notes/{id}", name="note", description="Note number {id}.", mime_type="text/plain")
    def note(id: str) -> str:
        return f"note {id}"

    @mcp.prompt(description="Greet someone by name.")
    def greet(name: str) -> str:
        return f"Please greet {name} warmly."

    @mcp.completion()
    async def complete(
        ref: PromptReference | ResourceTemplateReference,
        argument: CompletionArgument,
        context: CompletionContext | None,
    ) -> Completion | None:
        if isinstance(ref, PromptReference) and ref.name == "greet" and argument.name == "name":
            values = [n for n in GREET_NAMES if n.lower().startswith(argument.value.lower())]
            return Completion(values=values, total=len(values), has_more=False)
        return None

    if notify:
        add_notify_features(mcp)
    if roots:
        add_roots_tool(mcp)
    return mcp


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--transport", choices=["streamable-http", "sse", "stdio"], default="streamable-http")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port (see LISTENING line)")
    parser.add_argument("--name", default="py-upstream", help="serverInfo.name")
    parser.add_argument(
        "--era", choices=["both", "legacy", "modern"], default="both", help="protocol eras served (streamable HTTP)"
    )
    parser.add_argument("--notify", action="store_true", help="add add_tool, touch and resources/subscribe")
    parser.add_argument("--roots", action="store_true", help="add client_roots (roots/list on the GET stream)")
    args = parser.parse_args()

    mcp = build_server(args.name, notify=args.notify, roots=args.roots)
    if args.transport == "stdio":
        mcp.run()  # stdio: stdout carries JSON-RPC, so no LISTENING line
    elif args.transport == "sse":
        serve_sse(mcp, host=args.host, port=args.port)  # legacy HTTP+SSE: GET /sse
    elif args.era == "both":
        serve_streamable_http(mcp, host=args.host, port=args.port)
    else:
        app = mcp.streamable_http_app(host=args.host)
        serve_app(era_filter(app, args.era), host=args.host, port=args.port)


if __name__ == "__main__":
    main()
