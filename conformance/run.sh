#!/usr/bin/env bash
# Runs the MCP conformance suite (@modelcontextprotocol/conformance, server scenarios, by requirement set)
# against three fixture upstreams, each built on an official SDK, directly and through agent-gateway, and
# compares the two: through the gateway, every required scenario that passes directly must pass, and
# where a fixture falls short directly the gateway must not make it worse (no check that is not a
# FAILURE directly may become one).
#
#   conformance/run.sh            the whole matrix, what scripts/test.sh runs (about 1 minute): fixtures
#                                 python, typescript, rmcp × revisions 2025-11-25, 2026-07-28 × directly,
#                                 through the gateway bound on 127.0.0.1, and bound on 0.0.0.0 (the
#                                 guide's deployment)
#   conformance/run.sh --fixture rmcp --revision 2026-07-28 --bind 127.0.0.1   a part of it (repeatable)
#   conformance/run.sh --record   also writes the summary over the committed conformance/RESULTS.md
#
# Installs nothing (scripts/install-test-tools.sh does) and builds only the rmcp fixture (cargo build
# --example conformance-rmcp; a no-op when it is current). The gateway binary is $AGENT_GATEWAY_BIN
# (default target/debug/agent-gateway). Everything a run writes goes to conformance/out/ (git-ignored):
# results/<fixture>/<target>/<revision>/ (the suite's checks.json files), logs, gateway configs and
# the summary RESULTS.md. Exits non-zero when the gateway makes a required scenario worse than the
# fixture alone, unless conformance/expected-failures.txt lists it.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CONF="$ROOT/conformance"
OUT="$CONF/out"
TOOLS="${AGW_TOOLS:-$ROOT/.tools}"             # the test peers (scripts/install-test-tools.sh)
AGENT_GATEWAY_BIN="${AGENT_GATEWAY_BIN:-$ROOT/target/debug/agent-gateway}"
AGENT_GATEWAY_COMMIT="${AGENT_GATEWAY_COMMIT:-}"   # the commit a binary given above was built from
SUITE_TIMEOUT="${CONFORMANCE_TIMEOUT:-600}"   # seconds per suite run; one takes 4-15 s when healthy
STARTUP_TIMEOUT=30                            # seconds for a fixture / the gateway to come up

ARGS="$*"
FIXTURES=()
REVISIONS=()
BINDS=()
RECORD=0
while (($#)); do
  case "$1" in
    --fixture) FIXTURES+=("$2"); shift ;;
    --revision) REVISIONS+=("$2"); shift ;;
    --bind) BINDS+=("$2"); shift ;;
    --record) RECORD=1 ;;
    -h|--help) sed -n '2,20p' "$0"; exit 0 ;;
    *) echo "usage: $0 [--fixture python|typescript|rmcp]... [--revision 2025-11-25|2026-07-28]... [--bind 127.0.0.1|0.0.0.0]... [--record]" >&2; exit 2 ;;
  esac
  shift
done
((${#FIXTURES[@]})) || FIXTURES=(python typescript rmcp)
((${#REVISIONS[@]})) || REVISIONS=(2025-11-25 2026-07-28)
((${#BINDS[@]})) || BINDS=(127.0.0.1 0.0.0.0)

log() { printf '[conformance] %s\n' "$*"; }
die() { printf '[conformance] ERROR: %s\n' "$*" >&2; exit 1; }

# Only processes this script started are stopped, by pid.
STARTED_PIDS=()
stop_pid() {
  local pid="$1"
  kill "$pid" 2>/dev/null || true
  for _ in 1 2 3 4 5 6 7 8 9 10; do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.2
  done
  kill -9 "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}
cleanup() {
  local pid
  for pid in "${STARTED_PIDS[@]}"; do stop_pid "$pid"; done
}
trap cleanup EXIT
trap 'exit 130' INT TERM

require_tools() {
  [[ -f "$TOOLS/env.sh" ]] || die "missing $TOOLS/env.sh: run scripts/install-test-tools.sh first"
  # shellcheck disable=SC1091
  source "$TOOLS/env.sh"
  command -v conformance >/dev/null || die "conformance CLI not installed: run scripts/install-test-tools.sh"
  [[ "$(conformance --version)" == 0.2.* ]] || die "conformance $(conformance --version) is not the pinned 0.2.x: run scripts/install-test-tools.sh"
  [[ -x "$TOOLS/venv/bin/python" ]] || die "python venv missing: run scripts/install-test-tools.sh"
  [[ -d "$TOOLS/node/node_modules/@modelcontextprotocol/sdk" ]] || die "TypeScript SDK missing: run scripts/install-test-tools.sh"
  command -v curl >/dev/null || die "curl is needed to probe /readyz"
  [[ -x "$AGENT_GATEWAY_BIN" ]] || die "gateway binary not found at $AGENT_GATEWAY_BIN (cargo build, or set AGENT_GATEWAY_BIN)"
}

# Sets RMCP_BIN, the rmcp fixture's binary: $CONFORMANCE_RMCP_BIN, or built here (a no-op when current).
build_rmcp_fixture() {
  RMCP_BIN="${CONFORMANCE_RMCP_BIN:-}"
  if [[ -z "$RMCP_BIN" ]]; then
    log "building the rmcp fixture (cargo build --example conformance-rmcp)"
    (cd "$ROOT" && cargo build --quiet --example conformance-rmcp) || die "the rmcp fixture does not build"
    RMCP_BIN="$ROOT/target/debug/examples/conformance-rmcp"
  fi
}

# A port that was free a moment ago: the gateway needs its port in its config before it starts.
free_port() {
  "$TOOLS/venv/bin/python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# Starts fixture $1 with --port 0 and waits for its `LISTENING <port>` line. Sets FIXTURE_PORT, FIXTURE_PID.
start_fixture() {
  local name="$1" stdout="$OUT/$1.stdout" command=()
  case "$name" in
    python) command=("$TOOLS/venv/bin/python" "$CONF/fixture_server.py" --host 127.0.0.1) ;;
    typescript) command=(env "NODE_PATH=$TOOLS/node/node_modules" node "$CONF/fixtures/typescript.cjs" --host 127.0.0.1) ;;
    rmcp) command=("$RMCP_BIN" --host 127.0.0.1) ;;
    *) die "unknown fixture $name (python, typescript or rmcp)" ;;
  esac
  : >"$stdout"
  "${command[@]}" --port 0 >"$stdout" 2>"$OUT/$name.log" &
  FIXTURE_PID=$!
  STARTED_PIDS+=("$FIXTURE_PID")
  local deadline=$((SECONDS + STARTUP_TIMEOUT))
  FIXTURE_PORT=""
  while [[ -z "$FIXTURE_PORT" ]]; do
    kill -0 "$FIXTURE_PID" 2>/dev/null || { tail -n 30 "$OUT/$name.log" >&2; die "fixture $name exited during startup"; }
    ((SECONDS < deadline)) || die "fixture $name did not print LISTENING within ${STARTUP_TIMEOUT}s"
    sleep 0.1
    FIXTURE_PORT="$(sed -n 's/^LISTENING \([0-9][0-9]*\)$/\1/p' "$stdout" | head -n1)"
  done
  log "fixture $name listening on 127.0.0.1:$FIXTURE_PORT (pid $FIXTURE_PID)"
}

# $1 config file, $2 port, $3 bind address: one route at /mcp, the fixture its only MCP backend.
write_gateway_config() {
  cat >"$1" <<EOF
# Generated by conformance/run.sh: one listener, one route, the fixture as the only MCP backend.
binds:
  - port: $2
    address: $3
    listeners:
      - name: conformance
        routes:
          - name: fixture
            match: {path: {prefix: /mcp}}
            backends:
              - name: fixture
                type: mcp-http
                address: "http://127.0.0.1:$FIXTURE_PORT"
                mcp: {endpoint: /mcp}
EOF
}

# GET $1 on the gateway until it answers 200, the gateway dies, or the deadline ($2, in $SECONDS) passes.
wait_for_200() {
  local path="$1" deadline="$2" code=""
  while [[ "$code" != 200 ]]; do
    kill -0 "$GATEWAY_PID" 2>/dev/null || { tail -n 30 "$GATEWAY_LOG" >&2; die "gateway exited during startup (waiting for $path)"; }
    ((SECONDS < deadline)) || { tail -n 30 "$GATEWAY_LOG" >&2; die "gateway $path not 200 within ${STARTUP_TIMEOUT}s (last: ${code:-no answer})"; }
    sleep 0.2
    code="$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "http://127.0.0.1:$GATEWAY_PORT$path" || true)"
  done
}

# Starts the gateway for fixture $1 bound on $2 and waits for /healthz, then /readyz (first discovery
# done). Retries with a new port if the chosen one was taken meanwhile. Sets GATEWAY_PORT, GATEWAY_PID.
start_gateway() {
  local name="$1" bind="$2" config="$OUT/gateway-$1-$2.yaml" attempt
  GATEWAY_LOG="$OUT/gateway-$name-$bind.log"
  for attempt in 1 2 3; do
    GATEWAY_PORT="$(free_port)"
    write_gateway_config "$config" "$GATEWAY_PORT" "$bind"
    "$AGENT_GATEWAY_BIN" run --config "$config" >"$GATEWAY_LOG" 2>&1 &
    GATEWAY_PID=$!
    STARTED_PIDS+=("$GATEWAY_PID")
    sleep 0.3
    if kill -0 "$GATEWAY_PID" 2>/dev/null || ! grep -qi 'address already in use\|addrinuse' "$GATEWAY_LOG"; then
      break
    fi
    log "port $GATEWAY_PORT was taken, retrying ($attempt)"
  done
  local deadline=$((SECONDS + STARTUP_TIMEOUT))
  wait_for_200 /healthz "$deadline"
  wait_for_200 /readyz "$deadline"
  log "gateway bound on $bind:$GATEWAY_PORT in front of $name, ready (pid $GATEWAY_PID)"
}

# One suite run: $1 URL, $2 results folder, $3 revision.
run_suite() {
  local url="$1" dir="$2" revision="$3" start=$SECONDS
  rm -rf "$dir"
  mkdir -p "$dir"
  # The CLI exits non-zero when a scenario fails; the verdict is summarize.py's.
  timeout "$SUITE_TIMEOUT" conformance server --url "$url" --requirements "$revision" -o "$dir" \
    >"$dir.log" 2>&1 || true
  log "  $revision: $(sed -n 's/^Total: //p' "$dir.log" | head -n1) checks ($((SECONDS - start)) s)"
}

versions() {
  echo "conformance: @modelcontextprotocol/conformance $(conformance --version) (--requirements)"
  echo "node: $(node --version)"
  echo "python fixture: conformance/fixture_server.py on python mcp $("$TOOLS/venv/bin/python" -c 'import importlib.metadata as m; print(m.version("mcp"))')"
  echo "typescript fixture: conformance/fixtures/typescript.cjs on @modelcontextprotocol/sdk $(node -p "require('$TOOLS/node/node_modules/@modelcontextprotocol/sdk/package.json').version")"
  echo "rmcp fixture: conformance/fixtures/rmcp/ on rmcp $(sed -n '/^name = "rmcp"$/{n;s/^version = "\(.*\)"$/\1/p}' "$ROOT/Cargo.lock")"
  # The default binary is built from this working tree, which may differ from its commit.
  local dirty=""
  if [[ "$AGENT_GATEWAY_BIN" == "$ROOT/target/debug/agent-gateway" && -n "$(git -C "$ROOT" status --porcelain -- src 2>/dev/null)" ]]; then
    dirty=" with uncommitted changes in src/"
  fi
  local commit="${AGENT_GATEWAY_COMMIT:-$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo '(no commit)')}"
  echo "gateway: $("$AGENT_GATEWAY_BIN" --version 2>/dev/null | head -n1 || echo agent-gateway) at git $commit$dirty"
}

main() {
  local start=$SECONDS run_date fixture revision bind target
  run_date="$(date -u +%Y-%m-%dT%H:%M:%SZ)"
  require_tools
  mkdir -p "$OUT"
  rm -rf "$OUT/results"
  if [[ " ${FIXTURES[*]} " == *" rmcp "* ]]; then build_rmcp_fixture; fi
  for fixture in "${FIXTURES[@]}"; do
    start_fixture "$fixture"
    log "$fixture directly"
    for revision in "${REVISIONS[@]}"; do
      run_suite "http://127.0.0.1:$FIXTURE_PORT/mcp" "$OUT/results/$fixture/direct/$revision" "$revision"
    done
    for bind in "${BINDS[@]}"; do
      target="gateway-$bind"
      start_gateway "$fixture" "$bind"
      log "$fixture through the gateway bound on $bind"
      for revision in "${REVISIONS[@]}"; do
        run_suite "http://127.0.0.1:$GATEWAY_PORT/mcp" "$OUT/results/$fixture/$target/$revision" "$revision"
      done
      kill -0 "$GATEWAY_PID" 2>/dev/null || { tail -n 20 "$GATEWAY_LOG" >&2; die "the gateway exited during the suite"; }
      stop_pid "$GATEWAY_PID"
    done
    stop_pid "$FIXTURE_PID"
  done

  local version_args=() line rc=0 command="conformance/run.sh${ARGS:+ $ARGS}"
  while IFS= read -r line; do version_args+=(--version "$line"); done < <(versions)
  "$TOOLS/venv/bin/python" "$CONF/summarize.py" \
    --results "$OUT/results" --requirements "$TOOLS/node/node_modules/@modelcontextprotocol/conformance/requirements" \
    --expected "$CONF/expected-failures.txt" --markdown "$OUT/RESULTS.md" \
    --date "$run_date" --duration "$((SECONDS - start)) s" --command "$command" \
    "${version_args[@]}" || rc=$?
  if ((RECORD)); then
    cp "$OUT/RESULTS.md" "$CONF/RESULTS.md"
    log "recorded: conformance/RESULTS.md (commit it to keep this run)"
  fi
  log "run time $((SECONDS - start)) s"
  return "$rc"
}

main
