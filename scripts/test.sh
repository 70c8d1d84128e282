#!/usr/bin/env bash
# The whole test suite: installs what the tests need, then runs formatting, lints and
# every test (unit, integration against real local servers, doc tests).
#
#   ./scripts/test.sh
#
# Safe to run repeatedly; installs are skipped when already present.
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== toolchain"
cargo --version
rustup component add rustfmt clippy >/dev/null 2>&1 || true

echo "== format"
cargo fmt --all -- --check

echo "== clippy"
cargo clippy --workspace --all-targets --locked -- -D warnings

echo "== tests"
cargo test --workspace --locked 2>&1 | tee target/test-output.txt
grep -E "^test result:" target/test-output.txt | awk '
  { for (i = 1; i <= NF; i++) { if ($i == "passed;") p += $(i-1); if ($i == "failed;") f += $(i-1) } }
  END { printf "%d passed, %d failed\n", p, f; if (f > 0) exit 1 }'
