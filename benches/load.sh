#!/usr/bin/env bash
# Load benchmark of `augur serve` (see benches/load.py for the scenario and what is
# reported). Installs nginx and wrk from Debian if missing, builds a release binary,
# then runs N = 1,000 and 10,000 by default.
#
#   ./benches/load.sh                     # both sizes, 60 s measuring window each
#   ./benches/load.sh --runs 1000 --window 30
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v nginx >/dev/null || ! command -v wrk >/dev/null; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q >/dev/null && apt-get install -y -q nginx-light wrk >/dev/null
fi
cargo build --release --locked --bin augur
exec python3 benches/load.py --binary target/release/augur "$@"
