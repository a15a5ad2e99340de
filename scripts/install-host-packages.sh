#!/usr/bin/env bash
# What the tests need from the machine itself, checked in seconds before anything long starts
# (scripts/test.sh runs this first):
#
#   cargo, with rustfmt and clippy         the build, `cargo fmt --check`, `cargo clippy`
#   python3 >= 3.10, with venv             makes the .tools/ venvs (scripts/install-test-tools.sh)
#   npm                                    unpacks the pinned Node 22 and MCP peers into .tools/
#   Debian packages, pinned (bookworm):
#     redis-server=5:7.0.*                 redis-server   tests/ratelimit_redis.rs, tests/policy_e2e/shared_redis.rs
#     prometheus=2.42.*                    prometheus, promtool   tests/telemetry_prometheus.rs
#     curl=7.88.*                          curl           conformance/run.sh
#     procps=2:4.0.*                       pgrep, kill    tests/mcp_peers.rs
#
# The tests start Redis and Prometheus themselves, on free ports; nothing here starts a server.
# A Debian package is installed only when its programs are missing (the exact build may move with
# security updates within the pinned series). As root, or with passwordless sudo, this installs
# them with apt-get; otherwise it exits 1 at once with the apt-get command to run.
#
#   scripts/install-host-packages.sh           check, and install missing Debian packages
#   scripts/install-host-packages.sh --check   check only; exit 1 naming what is missing
set -euo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
LOGS="$REPO_ROOT/.tools/logs"

INSTALL=1
case "${1:-}" in
  "") ;;
  --check) INSTALL=0 ;;
  -h|--help) sed -n '2,20p' "$0"; exit 0 ;;
  *) echo "usage: $0 [--check]" >&2; exit 2 ;;
esac

log() { printf '[host] %s\n' "$*"; }
die() { printf '[host] ERROR: %s\n' "$*" >&2; exit 1; }

# program -> the pinned Debian package that provides it.
DEBIAN=(
  "redis-server redis-server=5:7.0.*"
  "prometheus prometheus=2.42.*"
  "promtool prometheus=2.42.*"
  "curl curl=7.88.*"
  "pgrep procps=2:4.0.*"
  "kill procps=2:4.0.*"
)

# Sets MISSING_PROGRAMS and MISSING_PACKAGES (each package once).
find_missing_packages() {
  MISSING_PROGRAMS=()
  MISSING_PACKAGES=()
  local entry program package
  for entry in "${DEBIAN[@]}"; do
    program="${entry%% *}"
    package="${entry#* }"
    # `type -P`: the program on PATH, not a shell builtin (`kill` is both).
    type -P "$program" >/dev/null && continue
    MISSING_PROGRAMS+=("$program")
    [[ " ${MISSING_PACKAGES[*]} " == *" $package "* ]] || MISSING_PACKAGES+=("$package")
  done
}

# Everything apt-get cannot fix: printed together, so one look says all that is missing.
check_toolchains() {
  local problems=()
  if ! type -P cargo >/dev/null; then
    problems+=("cargo not found: install Rust from https://rustup.rs (then: rustup component add rustfmt clippy)")
  else
    cargo fmt --version >/dev/null 2>&1 || problems+=("cargo fmt not available: rustup component add rustfmt")
    cargo clippy --version >/dev/null 2>&1 || problems+=("cargo clippy not available: rustup component add clippy")
  fi
  if ! type -P python3 >/dev/null; then
    problems+=("python3 not found: python3 >= 3.10 with venv is needed (Debian: apt-get install -y python3 python3-venv)")
  elif ! python3 -c 'import sys; sys.exit(0 if sys.version_info >= (3, 10) else 1)' 2>/dev/null; then
    problems+=("python3 >= 3.10 is needed for the Python mcp 2.x peers (found $(python3 --version 2>&1))")
  elif ! python3 -c 'import venv, ensurepip' 2>/dev/null; then
    problems+=("python3 cannot make a venv (no ensurepip): Debian: apt-get install -y python3-venv")
  fi
  type -P npm >/dev/null \
    || problems+=("npm not found: the machine's Node (20 or later) and npm unpack the pinned Node 22 (Debian: apt-get install -y npm)")
  if (( ${#problems[@]} > 0 )); then
    printf '[host] ERROR: %s\n' "${problems[@]}" >&2
    return 1
  fi
}

# The command that installs MISSING_PACKAGES, as a person would type it.
apt_command() {
  local command="apt-get update && apt-get install -y --no-install-recommends" package
  for package in "${MISSING_PACKAGES[@]}"; do command+=" '$package'"; done
  printf '%s' "$command"
}

# Installs MISSING_PACKAGES with apt-get, as root or through passwordless sudo; otherwise stops.
install_packages() {
  local why="missing ${MISSING_PROGRAMS[*]} (the tests run these; they start the servers themselves)"
  local as=()
  if (( INSTALL == 0 )); then
    die "$why; install them as root: $(apt_command)"
  elif ! type -P apt-get >/dev/null; then
    die "$why, and there is no apt-get here: put Redis 7.0, Prometheus 2.42 (with promtool), curl and procps on PATH; on Debian 12, as root: $(apt_command)"
  elif (( EUID != 0 )); then
    if type -P sudo >/dev/null && sudo -n true 2>/dev/null; then
      as=(sudo -n)
    else
      die "$why; they are installed only as root or with passwordless sudo, so as root run: $(apt_command); then scripts/test.sh again"
    fi
  fi
  mkdir -p "$LOGS"
  log "installing Debian packages: ${MISSING_PACKAGES[*]} (log: .tools/logs/apt-get.log)"
  if ! { "${as[@]}" apt-get update -q \
         && "${as[@]}" env DEBIAN_FRONTEND=noninteractive \
              apt-get install -y -q --no-install-recommends "${MISSING_PACKAGES[@]}"; } \
       >"$LOGS/apt-get.log" 2>&1; then
    tail -n 30 "$LOGS/apt-get.log" >&2
    die "apt-get failed (full log: .tools/logs/apt-get.log); the command was: $(apt_command)"
  fi
  find_missing_packages
  (( ${#MISSING_PROGRAMS[@]} == 0 )) || die "apt-get succeeded, but ${MISSING_PROGRAMS[*]} is still not on PATH ($PATH)"
}

main() {
  local rc=0
  check_toolchains || rc=1
  find_missing_packages
  if (( rc != 0 )); then
    # Say everything at once: the Debian packages too, though apt-get could install them.
    (( ${#MISSING_PROGRAMS[@]} == 0 )) \
      || printf '[host] ERROR: missing %s; as root: %s\n' "${MISSING_PROGRAMS[*]}" "$(apt_command)" >&2
    exit 1
  fi
  (( ${#MISSING_PROGRAMS[@]} == 0 )) || install_packages
  local redis prometheus
  redis="$(redis-server --version | sed -n 's/.* v=\([0-9.]*\).*/\1/p')"
  prometheus="$(prometheus --version 2>&1 | sed -n '1s/^prometheus, version \([^ ]*\).*/\1/p')"
  log "ok: $(cargo --version | cut -d' ' -f1-2), $(python3 --version), npm $(npm --version), redis-server $redis, prometheus $prometheus"
}

main "$@"
