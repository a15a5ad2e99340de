#!/usr/bin/env bash
# Installs the peers that the gateway bench (benches/gateway/peers.rs) measures beside the gateway, from
# pinned requirements:
#
#   .tools/venv-bench/         FastMCP (benches/peers/requirements-fastmcp.txt)
#   .tools/venv-contextforge/  ContextForge, mcp-contextforge-gateway 1.1.0 with gunicorn and uvicorn
#                              (benches/peers/requirements-contextforge.txt)
#
# Both need CPython >= 3.12 (ContextForge 1.1 requires it); pyenv's is used when present. Every package
# is pinned to an exact version and installed with --no-deps, so nothing unpinned comes in.
# Idempotent: a stamp holding the hash of the pins makes a rerun a no-op.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PEERS="$ROOT/benches/peers"

python312() {
  for p in /root/.pyenv/versions/3.1[2-9]*/bin/python python3.13 python3.12; do
    if command -v "$p" >/dev/null 2>&1; then echo "$p"; return; fi
  done
  echo "install-peers: no CPython >= 3.12 found (pyenv install 3.12, or apt-get install python3.12-venv)" >&2
  exit 1
}

install() { # venv-dir requirements-file
  local venv="$1" req="$2" stamp="$1/.stamp"
  local key; key="$(cat "$req" "${BASH_SOURCE[0]}" | sha256sum | cut -d' ' -f1)"
  if [[ -f "$stamp" && "$(cat "$stamp")" == "$key" ]]; then
    echo "install-peers: $venv is current"; return
  fi
  rm -rf "$venv"
  "$(python312)" -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check --no-deps -r "$req"
  echo "$key" > "$stamp"
  echo "install-peers: installed $venv"
}

install "$ROOT/.tools/venv-bench" "$PEERS/requirements-fastmcp.txt"
if [[ -f "$PEERS/requirements-contextforge.txt" ]]; then
  install "$ROOT/.tools/venv-contextforge" "$PEERS/requirements-contextforge.txt"
fi
