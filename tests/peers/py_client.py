#!/usr/bin/env python3
"""A real MCP client (Python `mcp` 2.x SDK) for gateway tests.

    py_client.py --url URL [--mode auto|legacy|2026-07-28]
                 [--transport streamable-http|sse] [--header 'K: V' ...]
                 [--list] [--call TOOL [--args JSON]] [--cancel-after SECONDS]
                 [--timeout SECONDS] [--verbose]

Connects with `mcp.Client`:
  --mode auto    (the SDK default) sends `server/discover` at 2026-07-28 first and
                 falls back to the `initialize` handshake when the server does not
                 answer it as a modern server;
  --mode legacy  does the `initialize` handshake only;
  --mode 2026-07-28  adopts that version without any probe.
--transport sse uses the legacy HTTP+SSE client (`mcp.client.sse.sse_client`;
URL is the GET /sse endpoint).

Prints ONE JSON object on stdout and exits 0:
  {"protocolVersion": "...", "serverInfo": {...}|null, "tools": [names]|null,
   "call": <CallToolResult as JSON>|null, "progress": [...], "cancelled": bool}
On failure prints the error to stderr and exits 1.

Server->client requests are answered automatically so tools that use them can
be tested: sampling returns the text "sampled: <last user text>"; elicitation
accepts, filling each requested field with its default or a typed placeholder.
"""

from __future__ import annotations

import argparse
import json
import sys
import traceback
from contextlib import AsyncExitStack
from typing import Any

import anyio
import mcp_types as types
from mcp import Client
from mcp.client.sse import sse_client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client


def parse_headers(raw: list[str]) -> dict[str, str]:
    headers: dict[str, str] = {}
    for item in raw:
        name, sep, value = item.partition(":")
        if not sep or not name.strip():
            raise SystemExit(f"--header must look like 'Name: value', got {item!r}")
        headers[name.strip()] = value.strip()
    return headers


def _placeholder(schema: dict[str, Any]) -> Any:
    """A value that satisfies one primitive elicitation field."""
    if "default" in schema:
        return schema["default"]
    if "enum" in schema and schema["enum"]:
        return schema["enum"][0]
    if "oneOf" in schema and schema["oneOf"]:
        return schema["oneOf"][0].get("const")
    kind = schema.get("type")
    if kind == "boolean":
        return True
    if kind == "integer":
        return 1
    if kind == "number":
        return 1.5
    if kind == "array":
        items = schema.get("items", {})
        choices = items.get("enum") or [c.get("const") for c in items.get("anyOf", [])]
        return choices[:1]
    formats = {"email": "test@example.com", "uri": "https://example.com/", "date": "2000-01-01",
               "date-time": "2000-01-01T00:00:00Z"}
    return formats.get(schema.get("format", ""), "test answer")


async def on_sampling(
    context: Any, params: types.CreateMessageRequestParams
) -> types.CreateMessageResult:
    last = params.messages[-1].content if params.messages else None
    text = getattr(last, "text", "") if last is not None else ""
    return types.CreateMessageResult(
        role="assistant",
        content=types.TextContent(type="text", text=f"sampled: {text}"),
        model="py-client-test-model",
        stop_reason="endTurn",
    )


async def on_elicitation(context: Any, params: types.ElicitRequestParams) -> types.ElicitResult:
    if isinstance(params, types.ElicitRequestURLParams):
        return types.ElicitResult(action="decline")
    properties = params.requested_schema.get("properties", {})
    content = {name: _placeholder(field) for name, field in properties.items()}
    return types.ElicitResult(action="accept", content=content)


def make_transport(args: argparse.Namespace, headers: dict[str, str], stack: AsyncExitStack) -> Any:
    if args.transport == "sse":
        return sse_client(args.url, headers=headers or None, timeout=args.timeout)
    # streamable_http_client takes headers only through its httpx2 client; a
    # client we pass in is not closed by the transport, so the stack owns it.
    http = create_mcp_http_client(headers=headers or None)
    stack.push_async_callback(http.aclose)
    return streamable_http_client(args.url, http_client=http)


def dump(model: Any) -> Any:
    return None if model is None else model.model_dump(mode="json", by_alias=True, exclude_none=True)


async def run(args: argparse.Namespace) -> dict[str, Any]:
    headers = parse_headers(args.header)
    progress: list[dict[str, Any]] = []

    async def on_progress(value: float, total: float | None, message: str | None) -> None:
        progress.append({"progress": value, "total": total, "message": message})

    async with AsyncExitStack() as stack:
        transport = make_transport(args, headers, stack)
        client = Client(
            transport,
            mode=args.mode,
            read_timeout_seconds=args.timeout,
            sampling_callback=on_sampling,
            elicitation_callback=on_elicitation,
            client_info=types.Implementation(name="agw-py-client", version="1.0.0"),
        )
        async with client:
            out: dict[str, Any] = {
                "protocolVersion": client.protocol_version,
                "serverInfo": dump(client.server_info),
                "tools": None,
                "call": None,
                "progress": progress,
                "cancelled": False,
            }
            if args.list:
                tools: list[str] = []
                cursor: str | None = None
                while True:
                    page = await client.list_tools(cursor=cursor)
                    tools.extend(t.name for t in page.tools)
                    cursor = page.next_cursor
                    if cursor is None:
                        break
                out["tools"] = tools
            if args.call:
                arguments = json.loads(args.args) if args.args else {}
                if args.cancel_after is not None:
                    # Leaving the scope cancels the in-flight request; the SDK
                    # then tells the server (notifications/cancelled or by
                    # closing the request's stream, by era).
                    with anyio.move_on_after(args.cancel_after) as scope:
                        result = await client.call_tool(args.call, arguments, progress_callback=on_progress)
                    out["cancelled"] = scope.cancelled_caught
                    out["call"] = None if scope.cancelled_caught else dump(result)
                else:
                    result = await client.call_tool(args.call, arguments, progress_callback=on_progress)
                    out["call"] = dump(result)
            return out


def leaf_exceptions(exc: BaseException) -> list[BaseException]:
    if isinstance(exc, BaseExceptionGroup):
        return [leaf for sub in exc.exceptions for leaf in leaf_exceptions(sub)]
    return [exc]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", required=True)
    parser.add_argument("--mode", default="auto", help="auto | legacy | a modern version such as 2026-07-28")
    parser.add_argument("--transport", choices=["streamable-http", "sse"], default="streamable-http")
    parser.add_argument("--header", action="append", default=[], help="'Name: value', repeatable")
    parser.add_argument("--list", action="store_true", help="list tools (all pages)")
    parser.add_argument("--call", metavar="TOOL")
    parser.add_argument("--args", metavar="JSON", help="tool arguments as a JSON object")
    parser.add_argument("--cancel-after", type=float, metavar="SECONDS")
    parser.add_argument("--timeout", type=float, default=30.0, help="read timeout, seconds")
    parser.add_argument("--verbose", action="store_true", help="print the full traceback on failure")
    args = parser.parse_args()
    try:
        out = anyio.run(run, args)
    except BaseException as exc:  # noqa: BLE001 - report anything, including ExceptionGroups
        if isinstance(exc, (KeyboardInterrupt, SystemExit)):
            raise
        # anyio wraps failures in ExceptionGroups; the leaves say what went wrong.
        for leaf in leaf_exceptions(exc):
            print(f"py_client: {type(leaf).__name__}: {leaf}", file=sys.stderr)
        if args.verbose:
            traceback.print_exc(file=sys.stderr)
        return 1
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
