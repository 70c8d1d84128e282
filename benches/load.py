#!/usr/bin/env python3
"""Load harness for `augur serve` (issue 3). Run it through benches/load.sh.

Scenario: N concurrent runs, one metric each, `interval: 10s`, no count, the web
provider reading a static JSON file from a local nginx. After a warm-up the harness
measures for a steady window, then reports:

* schedule lateness: for every measurement after a run's first, how long after its due
  time (previous measurement's finishedAt + 10 s) it started; p50, p99, max;
* CPU of the augur process over the window (user+system, as % of one core);
* RSS at the end and peak RSS (VmHWM);
* `GET /v1/runs/{id}` throughput under wrk, against nginx serving a static file of the
  same size with the same wrk settings.

Only the standard library is used, so the harness needs nothing installed.
"""

import argparse
import concurrent.futures
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from datetime import datetime


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_http(url, timeout=30):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                if r.status == 200:
                    return
        except Exception:
            time.sleep(0.1)
    raise SystemExit(f"{url} did not come up")


def start_nginx(root, port):
    conf = os.path.join(root, "nginx.conf")
    with open(conf, "w") as f:
        f.write(f"""
worker_processes 2;
pid {root}/nginx.pid;
error_log {root}/nginx-error.log;
daemon off;
events {{ worker_connections 4096; }}
http {{
    access_log off;
    keepalive_requests 1000000;
    server {{
        listen 127.0.0.1:{port} backlog=4096;
        root {root}/www;
        default_type application/json;
    }}
}}
""")
    os.makedirs(os.path.join(root, "www"), exist_ok=True)
    with open(os.path.join(root, "www", "rate.json"), "w") as f:
        f.write('{"rate": 0.995}')
    proc = subprocess.Popen(["nginx", "-c", conf, "-p", root], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_http(f"http://127.0.0.1:{port}/rate.json")
    return proc


def start_augur(binary, root, port):
    env = dict(os.environ)
    env.update({
        "AUGUR_LOG": "warn",
        # Spread first measurements over a whole interval so 10,000 runs created in
        # a burst do not stay in lockstep.
        "AUGUR_SPREAD": "10s",
        "AUGUR_DEFAULT_CONCURRENCY": "512",
    })
    proc = subprocess.Popen(
        [binary, "serve", "--listen", f"127.0.0.1:{port}", "--db", os.path.join(root, "augur.db")],
        env=env, stdout=subprocess.DEVNULL, stderr=open(os.path.join(root, "augur.log"), "w"),
    )
    wait_http(f"http://127.0.0.1:{port}/readyz")
    return proc


def post_json(url, body):
    req = urllib.request.Request(url, data=json.dumps(body).encode(), headers={"content-type": "application/json"})
    with urllib.request.urlopen(req, timeout=60) as r:
        return json.loads(r.read())


def get_json(url):
    with urllib.request.urlopen(url, timeout=60) as r:
        return json.loads(r.read())


def proc_stats(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    ticks = int(fields[11]) + int(fields[12])  # utime + stime
    rss = hwm = 0
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                rss = int(line.split()[1]) * 1024
            elif line.startswith("VmHWM:"):
                hwm = int(line.split()[1]) * 1024
    return ticks / os.sysconf("SC_CLK_TCK"), rss, hwm


def parse_ts(s):
    return datetime.fromisoformat(s.replace("Z", "+00:00")).timestamp()


def percentile(values, p):
    if not values:
        return float("nan")
    values = sorted(values)
    k = max(0, min(len(values) - 1, int(round(p / 100 * len(values) + 0.5)) - 1))
    return values[k]


def wrk(url, seconds, connections):
    out = subprocess.run(
        ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency", url],
        capture_output=True, text=True, check=True,
    ).stdout
    rps = next(float(l.split()[1]) for l in out.splitlines() if l.startswith("Requests/sec:"))
    return rps, out


def scenario(binary, n, window, warmup):
    root = tempfile.mkdtemp(prefix=f"augur-load-{n}-")
    os.chmod(root, 0o755)  # nginx workers run as an unprivileged user
    nginx_port, augur_port = free_port(), free_port()
    nginx = start_nginx(root, nginx_port)
    augur = start_augur(binary, root, augur_port)
    base = f"http://127.0.0.1:{augur_port}"
    spec = {
        "metrics": [{
            "name": "rate",
            "interval": "10s",
            "successCondition": "result >= 0.99",
            "provider": {"web": {"url": f"http://127.0.0.1:{nginx_port}/rate.json", "jsonPath": "{$.rate}"}},
        }]
    }
    try:
        t0 = time.time()
        with concurrent.futures.ThreadPoolExecutor(32) as pool:
            ids = list(pool.map(lambda i: post_json(f"{base}/v1/runs", {"spec": spec, "runKey": f"load-{i}"})["id"], range(n)))
        created = time.time() - t0
        print(f"  N={n}: created in {created:.1f}s; warming up {warmup}s", file=sys.stderr)
        time.sleep(warmup)
        cpu0, _, _ = proc_stats(augur.pid)
        w0 = time.time()
        time.sleep(window)
        cpu1, rss, hwm = proc_stats(augur.pid)
        wall = time.time() - w0
        cpu_pct = 100 * (cpu1 - cpu0) / wall

        # Lateness from the runs themselves: start − (previous finish + interval).
        with concurrent.futures.ThreadPoolExecutor(16) as pool:
            runs = list(pool.map(lambda i: get_json(f"{base}/v1/runs/{i}"), ids))
        lateness, measured, errors = [], 0, 0
        for run in runs:
            for m in run.get("metricResults", []):
                ms = m.get("measurements", [])
                measured += m.get("count", 0)
                errors += m.get("error", 0)
                for prev, cur in zip(ms, ms[1:]):
                    if prev.get("finishedAt") and cur.get("startedAt") and parse_ts(cur["startedAt"]) >= w0 - 10:
                        lateness.append(parse_ts(cur["startedAt"]) - (parse_ts(prev["finishedAt"]) + 10.0))
        result = {
            "n": n,
            "window_s": round(wall, 1),
            "measurements": measured,
            "errors": errors,
            "lateness_samples": len(lateness),
            "lateness_p50_ms": round(1000 * percentile(lateness, 50), 2),
            "lateness_p99_ms": round(1000 * percentile(lateness, 99), 2),
            "lateness_max_ms": round(1000 * max(lateness), 2) if lateness else None,
            "cpu_pct_of_one_core": round(cpu_pct, 1),
            "rss_mb": round(rss / 2**20, 1),
            "peak_rss_mb": round(hwm / 2**20, 1),
        }

        # GET throughput, against nginx serving a file of the same size.
        sample_id = ids[len(ids) // 2]
        with urllib.request.urlopen(f"{base}/v1/runs/{sample_id}") as r:
            body = r.read()
        with open(os.path.join(root, "www", "run.json"), "wb") as f:
            f.write(body)
        augur_rps, _ = wrk(f"{base}/v1/runs/{sample_id}", 10, 64)
        nginx_rps, _ = wrk(f"http://127.0.0.1:{nginx_port}/run.json", 10, 64)
        result.update({
            "get_body_bytes": len(body),
            "get_rps_augur": round(augur_rps),
            "get_rps_nginx": round(nginx_rps),
            "get_ratio": round(augur_rps / nginx_rps, 2),
        })
        return result
    finally:
        augur.send_signal(signal.SIGTERM)
        try:
            augur.wait(timeout=30)
        except subprocess.TimeoutExpired:
            augur.kill()
        nginx.terminate()
        nginx.wait()
        shutil.rmtree(root, ignore_errors=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--binary", required=True)
    ap.add_argument("--runs", default="1000,10000")
    ap.add_argument("--window", type=int, default=60)
    ap.add_argument("--warmup", type=int, default=25)
    args = ap.parse_args()
    results = [scenario(args.binary, int(n), args.window, args.warmup) for n in args.runs.split(",")]
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
