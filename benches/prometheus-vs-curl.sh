#!/usr/bin/env bash
# `augur run` on a one-shot Prometheus metric against `curl` of the same query on the
# same server (issue 4; goal: augur ≤ 1.2× curl). Both are whole processes, started
# cold each time, measured back to back, N times each.
#
#   ./benches/prometheus-vs-curl.sh [N]
set -euo pipefail
cd "$(dirname "$0")/.."
N="${1:-100}"
command -v prometheus >/dev/null || { echo "prometheus missing: run ./scripts/test.sh first (it installs Debian's package)"; exit 1; }
cargo build --release --locked --bin augur >/dev/null
dir="$(mktemp -d)"; trap 'kill "$prom" 2>/dev/null; rm -rf "$dir"' EXIT
port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
cat > "$dir/prometheus.yml" <<YML
global: {scrape_interval: 1s, evaluation_interval: 1s}
scrape_configs:
- job_name: self
  static_configs: [{targets: ["127.0.0.1:$port"]}]
YML
prometheus --config.file="$dir/prometheus.yml" --storage.tsdb.path="$dir/data" \
  --web.listen-address="127.0.0.1:$port" --log.level=warn >/dev/null 2>&1 &
prom=$!
until curl -sf "http://127.0.0.1:$port/-/ready" >/dev/null; do sleep 0.1; done
sleep 5 # a few scrapes, so the query has data
query='sum(rate(prometheus_http_requests_total[30s]))'
cat > "$dir/t.yaml" <<YML
metrics:
- name: request-rate
  successCondition: result[0] >= 0
  provider:
    prometheus:
      address: http://127.0.0.1:$port
      query: $query
YML
exec python3 - "$N" "$dir/t.yaml" "$port" "$query" <<'PY'
import statistics, subprocess, sys, time, urllib.parse
n, template, port, query = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
augur = ["target/release/augur", "run", "-f", template, "-o", "json"]
curl = ["curl", "-sf", "--data-urlencode", f"query={query}", f"http://127.0.0.1:{port}/api/v1/query"]
def once(cmd):
    t = time.perf_counter(); r = subprocess.run(cmd, capture_output=True); d = time.perf_counter() - t
    if r.returncode != 0: sys.exit(f"{cmd[0]} failed ({r.returncode}): {r.stdout.decode()} {r.stderr.decode()}")
    return d
for cmd in (augur, curl): once(cmd)  # warm the page cache
a, c = [], []
for _ in range(n):
    a.append(once(augur)); c.append(once(curl))
ma, mc = statistics.median(a), statistics.median(c)
print(f"n={n}  augur run: median {ma*1000:.2f} ms, mean {statistics.mean(a)*1000:.2f} ms, p90 {sorted(a)[int(n*0.9)]*1000:.2f} ms")
print(f"       curl: median {mc*1000:.2f} ms, mean {statistics.mean(c)*1000:.2f} ms, p90 {sorted(c)[int(n*0.9)]*1000:.2f} ms")
print(f"ratio (median): {ma/mc:.2f}x")
PY
