#!/usr/bin/env bash
# Soak test: scripts/soak.sh [MINUTES, default 30] [extra arguments for the bench, e.g. --concurrency 8].
# Not part of CI (scripts/test.sh does not run it): it takes the whole run's time and both cores.
#
# Installs the real peers (scripts/install-test-tools.sh: py_upstream's Python `mcp` SDK, server-everything,
# the a2a-sdk agent), then runs `cargo bench --bench soak`: the release gateway under mixed load (MCP in
# both eras, A2A) while its upstreams are killed, stopped and restarted and its config is rewritten every
# minute. Prints a progress line a minute and the final tables; writes target/soak/results.json, the
# gateway's config and every process's log to target/soak/. Exits non-zero when the run failed (see
# docs/reliability.md for the rules).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
minutes="${1:-30}"
shift || true
scripts/install-test-tools.sh
exec cargo bench --bench soak -- --minutes "$minutes" "$@"
