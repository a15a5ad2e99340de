"""FastMCP's proxy in front of one upstream, served as its docs recommend for production: the ASGI app
from `http_app()` under uvicorn. One worker: FastMCP keeps sessions in process memory, so a second worker
would need sticky sessions or `stateless_http=True` (which drops the session era the bench drives).

    python fastmcp_proxy.py UPSTREAM_URL PORT
"""

import sys

import uvicorn
from fastmcp.server import create_proxy

upstream, port = sys.argv[1], int(sys.argv[2])
app = create_proxy(upstream, name="bench-proxy").http_app(path="/mcp")
uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)
