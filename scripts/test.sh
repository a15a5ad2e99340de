#!/usr/bin/env bash
# The whole test suite, as README.md gives it: checks the machine's toolchains and installs the pinned
# Debian packages the tests run (Redis, Prometheus), installs the pinned test peers, checks formatting
# and lints, runs every Rust test (unit and integration, against real upstreams and clients), then the
# MCP conformance suite through the gateway. Exits non-zero if anything fails; a missing prerequisite
# stops it within seconds, before any build. Writes only to git-ignored places (target/, .tools/,
# conformance/out/).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

step() { printf '\n==> %s\n' "$*"; }

step "host prerequisites: cargo, python3, npm; Debian packages (pinned; installed when missing)"
scripts/install-host-packages.sh

step "installing test peers (pinned; a no-op when already installed)"
scripts/install-test-tools.sh

step "cargo fmt --check"
cargo fmt --all -- --check

step "cargo clippy -D warnings"
cargo clippy --all-targets --quiet -- -D warnings

step "cargo test (unit and integration tests)"
cargo test --no-fail-fast

step "registry verify: the sample tools of examples/quickstart.yaml match registry/lock.json"
cargo build --quiet --bin agent-gateway
target/debug/agent-gateway registry verify --config examples/quickstart.yaml

step "MCP conformance suite through the gateway (summary: conformance/out/RESULTS.md)"
cargo build --quiet --bin agent-gateway
conformance/run.sh
