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

echo "== prometheus (Debian's package: the Prometheus provider tests start their own instances)"
if ! command -v promtool >/dev/null 2>&1 || ! command -v prometheus >/dev/null 2>&1; then
  sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
  # The package's postinst runs `invoke-rc.d prometheus start`, which would leave a daemon
  # on :9090. A policy-rc.d that answers 101 forbids it; add one only for this install.
  added_policy=""
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' | $sudo tee /usr/sbin/policy-rc.d >/dev/null
    $sudo chmod +x /usr/sbin/policy-rc.d
    added_policy=1
  fi
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends prometheus >/dev/null
  if [ -n "$added_policy" ]; then $sudo rm -f /usr/sbin/policy-rc.d; fi
  # Belt and braces: stop a packaged daemon if one started anyway.
  if [ -x /etc/init.d/prometheus ] && $sudo /etc/init.d/prometheus status >/dev/null 2>&1; then
    $sudo /etc/init.d/prometheus stop >/dev/null || true
  fi
fi
prometheus --version 2>&1 | sed -n 1p
promtool --version 2>&1 | sed -n 1p

echo "== moto (PyPI: the CloudWatch provider tests start their own moto_server on 127.0.0.1)"
if ! command -v moto_server >/dev/null 2>&1; then
  python3 -m pip install --quiet --disable-pip-version-check 'moto[server]==5.2.1'
  if command -v pyenv >/dev/null 2>&1; then pyenv rehash; fi
fi
command -v moto_server >/dev/null 2>&1 || { echo "moto_server is not on PATH after installing moto[server]" >&2; exit 1; }
python3 -m pip show moto 2>/dev/null | sed -n 's/^Version: /moto /p'

echo "== scipy (PyPI: the statistics crate's oracle test compares p-values and CIs with scipy)"
if ! python3 -c "import scipy, numpy" >/dev/null 2>&1; then
  python3 -m pip install --quiet --disable-pip-version-check 'scipy==1.17.1' 'numpy==2.4.6'
fi
python3 -c "import scipy, numpy; print('scipy', scipy.__version__, 'numpy', numpy.__version__)"

echo "== format"
cargo fmt --all -- --check

echo "== clippy"
cargo clippy --workspace --all-targets --locked -- -D warnings

echo "== tests"
cargo test --workspace --locked 2>&1 | tee target/test-output.txt
grep -E "^test result:" target/test-output.txt | awk '
  { for (i = 1; i <= NF; i++) { if ($i == "passed;") p += $(i-1); if ($i == "failed;") f += $(i-1) } }
  END { printf "%d passed, %d failed\n", p, f; if (f > 0) exit 1 }'
