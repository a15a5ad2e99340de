#!/usr/bin/env bash
# Runs each coverage-guided fuzz target (tests/fuzz) for a bounded time: scripts/fuzz.sh [SECONDS per
# target, default 60] [TARGET...]. Needs a nightly toolchain and cargo-fuzz
# (`rustup toolchain install nightly`, `cargo install cargo-fuzz --locked`). Not part of scripts/test.sh.
#
# Each target starts from the seeds in tests/fuzz/corpus/<target> (copied, so the run's own corpus stays
# under target/). A crash is copied to tests/fuzz/regressions/<target>/, where tests/fuzz_regressions.rs
# replays it in the normal test run; commit it with the fix.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
seconds="${1:-60}"
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(sse config path sealed)

command -v cargo-fuzz >/dev/null || { echo "fuzz: cargo-fuzz is missing: cargo install cargo-fuzz --locked" >&2; exit 2; }
rustup run nightly rustc --version >/dev/null 2>&1 || { echo "fuzz: no nightly toolchain: rustup toolchain install nightly" >&2; exit 2; }

status=0
for target in "${targets[@]}"; do
  work="target/fuzz-corpus/$target"
  artifacts="target/fuzz-artifacts/$target"
  mkdir -p "$work" "$artifacts"
  cp -n "tests/fuzz/corpus/$target"/* "$work"/ 2>/dev/null || true
  echo "==> fuzz $target for ${seconds}s"
  if ! cargo +nightly fuzz run --fuzz-dir tests/fuzz "$target" "$work" -- \
      -max_total_time="$seconds" -artifact_prefix="$artifacts/" -print_final_stats=1; then
    status=1
    mkdir -p "tests/fuzz/regressions/$target"
    cp "$artifacts"/crash-* "$artifacts"/leak-* "$artifacts"/timeout-* "tests/fuzz/regressions/$target/" 2>/dev/null || true
    echo "fuzz: $target failed; its input is in tests/fuzz/regressions/$target/" >&2
  fi
done
exit "$status"
