#!/usr/bin/env python3
"""Instructions the gateway executes per tools/call, counted by valgrind's callgrind.

Timed numbers on a shared 2-core VM move by tens of percent between runs; instruction counts do not. This
runs the release binary under callgrind with instrumentation off, sends a warm-up, switches it on for a
fixed number of calls, and prints user-space instructions per call. Kernel time (the socket syscalls) is
not counted: that is what the timed bench (`cargo bench --bench gateway`) shows.

    benches/instructions.py [--calls N] [--binary PATH] [--keep]

Needs valgrind (Debian `valgrind`) and the test venv (`scripts/install-test-tools.sh`), whose Python SDK
server (tests/peers/py_upstream.py) is the upstream: it is slow, but only the gateway is counted. The
callgrind profile is left in target/bench/callgrind.out.* for `callgrind_annotate`.
"""

import argparse
import http.client
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "target" / "bench"
STATELESS = "2026-07-28"
SESSION = "2025-11-25"
CALL = {"name": "echo", "arguments": {"text": "Tampa, FL"}}


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_upstream() -> tuple[subprocess.Popen, int]:
    python = ROOT / ".tools" / "venv" / "bin" / "python"
    proc = subprocess.Popen(
        [str(python), str(ROOT / "tests" / "peers" / "py_upstream.py"), "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    line = proc.stdout.readline()
    if not line.startswith("LISTENING"):
        sys.exit(f"upstream did not start: {line!r}")
    return proc, int(line.split()[1])


def config(port: int, upstream: int) -> str:
    routes = ""
    for name in ("session", "stateless"):
        routes += f"""
          - name: {name}
            match: {{path: {{prefix: /{name}}}}}
            backends:
              - name: up
                type: mcp-http
                address: http://127.0.0.1:{upstream}
                mcp: {{endpoint: /mcp, protocol: http}}"""
    return f"""security: {{sessionKey: YmVuY2gtc2Vzc2lvbi1rZXktMzItYnl0ZXMtbG9uZyE=}}
binds:
  - port: {port}
    address: 127.0.0.1
    listeners:
      - name: bench
        routes:{routes}
"""


class Client:
    """One keep-alive connection speaking one era, as the timed bench's load client does."""

    def __init__(self, port: int, path: str, era: str):
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        self.path, self.era, self.session, self.next_id = path, era, None, 1

    def post(self, method: str, params: dict, notification: bool = False) -> dict | None:
        message = {"jsonrpc": "2.0", "method": method, "params": params}
        headers = {"content-type": "application/json", "accept": "application/json, text/event-stream"}
        if not notification:
            message["id"] = self.next_id
            self.next_id += 1
        if self.era == STATELESS:
            message["params"] = {**params, "_meta": {"io.modelcontextprotocol/protocolVersion": STATELESS,
                                                     "io.modelcontextprotocol/clientCapabilities": {}}}
            headers |= {"mcp-protocol-version": STATELESS, "mcp-method": method}
            if "name" in params:
                headers["mcp-name"] = params["name"]
        elif self.session:
            headers |= {"mcp-session-id": self.session, "mcp-protocol-version": SESSION}
        self.conn.request("POST", self.path, json.dumps(message), headers)
        response = self.conn.getresponse()
        body = response.read()
        if response.getheader("mcp-session-id"):
            self.session = response.getheader("mcp-session-id")
        if notification:
            return None
        reply = json.loads(body)
        if response.status != 200 or "result" not in reply:
            sys.exit(f"{method} failed: HTTP {response.status} {body[:300]!r}")
        return reply

    def open(self) -> "Client":
        if self.era == SESSION:
            self.post("initialize", {"protocolVersion": SESSION, "capabilities": {},
                                     "clientInfo": {"name": "instructions", "version": "1"}})
            self.post("notifications/initialized", {}, notification=True)
        return self


def wait_ready(port: int, gateway: subprocess.Popen) -> None:
    deadline = time.time() + 120
    while time.time() < deadline:
        if gateway.poll() is not None:
            sys.exit(f"the gateway exited ({gateway.returncode}); see {OUT / 'instructions-gateway.log'}")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            conn.request("GET", "/readyz")
            if conn.getresponse().status == 200:
                return
        except OSError:
            pass
        time.sleep(0.5)
    sys.exit("the gateway never became ready")


def callgrind_control(pid: int, *args: str) -> None:
    subprocess.run(["callgrind_control", *args, str(pid)], check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", type=int, default=300, help="counted calls per era (default 300)")
    parser.add_argument("--binary", default=str(ROOT / "target" / "release" / "agent-gateway"))
    args = parser.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    upstream, upstream_port = start_upstream()
    port = free_port()
    cfg = OUT / "instructions-gateway.yaml"
    cfg.write_text(config(port, upstream_port))
    log = open(OUT / "instructions-gateway.log", "w")
    gateway = subprocess.Popen(
        ["valgrind", "--tool=callgrind", "--instr-atstart=no",
         f"--callgrind-out-file={OUT / 'callgrind.out.%p'}",
         args.binary, "run", "--config", str(cfg)],
        stdout=log, stderr=log, env={**os.environ, "RUST_LOG": os.environ.get("RUST_LOG", "info")},
    )
    try:
        wait_ready(port, gateway)
        results = {}
        for era, path in ((SESSION, "/session"), (STATELESS, "/stateless")):
            client = Client(port, path, era).open()
            for _ in range(50):
                client.post("tools/call", CALL)
            callgrind_control(gateway.pid, "--zero")
            callgrind_control(gateway.pid, "--instr=on")
            for _ in range(args.calls):
                client.post("tools/call", CALL)
            callgrind_control(gateway.pid, "--instr=off")
            callgrind_control(gateway.pid, f"--dump=tools/call {era}")
            results[era] = None
        time.sleep(1)
    finally:
        gateway.terminate()
        gateway.wait(timeout=60)
        upstream.terminate()
    # Each dump is one file: callgrind.out.<pid>.<n>; its summary line is the total Ir of the dump.
    dumps = sorted(OUT.glob(f"callgrind.out.{gateway.pid}.*"), key=lambda p: int(p.suffix[1:]))
    for era, dump in zip(results, dumps):
        total = next(int(line.split()[1]) for line in dump.read_text().splitlines()
                     if line.startswith("totals:"))
        print(f"tools/call {era:<11} {total / args.calls:>10,.0f} instructions per call  ({dump.name})")


if __name__ == "__main__":
    main()
