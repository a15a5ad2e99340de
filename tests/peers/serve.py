"""Serve an MCPServer's Starlette app on a socket we bind ourselves.

`MCPServer.run("streamable-http", port=...)` cannot report the port it got for
`--port 0`, and prints nothing machine-readable once it is ready. Tests need
both, so this binds the socket first (port 0 -> a free port from the kernel),
hands it to uvicorn, waits until uvicorn has started serving, and only then
prints exactly one line `LISTENING <port>` to stdout.
"""

from __future__ import annotations

import socket
import sys
from typing import Any

import anyio
import uvicorn
from starlette.applications import Starlette


def bind_socket(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(128)
    sock.set_inheritable(True)
    return sock


async def _serve(app: Starlette, sock: socket.socket) -> None:
    config = uvicorn.Config(app, log_level="warning", lifespan="on", timeout_graceful_shutdown=2)
    server = uvicorn.Server(config)
    async with anyio.create_task_group() as tg:
        tg.start_soon(server.serve, [sock])
        # `started` flips after the lifespan (the MCP session manager) is up
        # and the socket is being served: only then can a test connect.
        while not server.started:
            if server.should_exit:
                return
            await anyio.sleep(0.01)
        print(f"LISTENING {sock.getsockname()[1]}", flush=True)


def serve_app(app: Starlette, *, host: str, port: int) -> None:
    sock = bind_socket(host, port)
    anyio.run(_serve, app, sock)


def serve_streamable_http(mcp: Any, *, host: str, port: int, **app_kwargs: Any) -> None:
    """Serve `mcp` (an MCPServer) at http://host:port/mcp; extra kwargs go to streamable_http_app()."""
    serve_app(mcp.streamable_http_app(host=host, **app_kwargs), host=host, port=port)


def serve_sse(mcp: Any, *, host: str, port: int) -> None:
    """Serve `mcp` over the legacy HTTP+SSE transport: GET /sse, POST /messages/."""
    serve_app(mcp.sse_app(host=host), host=host, port=port)


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)
