"""Gunicorn settings for ContextForge in benches/gateway (peers.rs), following its production launcher
(run-gunicorn.sh and gunicorn.config.py in the ContextForge repository, not shipped in the wheel):

- uvicorn workers, 2 × CPU + 1 of them (capped at 16), i.e. 5 on this 2-core machine;
- the app preloaded in the master, then forked; after the fork each worker drops the inherited SQLAlchemy
  pool and Redis client, as the upstream hook does;
- timeout 600 s, max-requests 100000 ± 100, access log off (the launcher's default), errors to stderr.

    gunicorn -c contextforge_gunicorn.py mcpgateway.main:app

Bind address and port come from ContextForge's own settings (HOST, PORT).
"""

import os

from mcpgateway.config import settings

bind = f"{settings.host}:{settings.port}"
workers = min(2 * (os.cpu_count() or 1) + 1, 16)
worker_class = "uvicorn.workers.UvicornWorker"
timeout = 600
max_requests = 100000
max_requests_jitter = 100
preload_app = True
reuse_port = True
accesslog = None
errorlog = "-"
loglevel = "warning"


def post_fork(server, worker):
    from mcpgateway.db import engine

    engine.dispose(close=False)
    try:
        from mcpgateway.utils.redis_client import _reset_client

        _reset_client()
    except ImportError:
        pass
