//! A real Prometheus (Debian's `prometheus` package) on 127.0.0.1 holding deterministic
//! data that ends at the wall clock's "now", for running templates through `augur run`.
//!
//! `augur run` evaluates queries at the real current time, so the series cannot sit at a
//! fixed date as in `providers/prometheus/tests/support`. Instead, at start-up, one sample
//! every 15 s for the last 30 minutes (ending at the current time, rounded down to 15 s)
//! is written as OpenMetrics, backfilled into a fresh TSDB with `promtool tsdb
//! create-blocks-from openmetrics`, and served by a `prometheus` with no scrape targets.
//! Backfilling (rather than scraping a local exporter) is deterministic and needs no
//! waiting for scrapes: the counters grow by exact constant steps, so every `rate()` is
//! the slope, whatever the query time. The instance runs under a `sh` watchdog that stops
//! it and deletes its directory when the test binary exits (its stdin pipe closes).
//! Missing binaries fail the tests with instructions, never skip them.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// A running Prometheus.
pub struct Prometheus {
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    /// Unix seconds of the last backfilled sample (121 samples, 15 s apart, end here).
    pub end: i64,
    /// Held so the watchdog lives as long as the test binary; never used.
    _watchdog: Mutex<(Child, ChildStdin)>,
}

/// The shared instance (started on first use).
pub fn shared() -> &'static Prometheus {
    static SHARED: OnceLock<Prometheus> = OnceLock::new();
    SHARED.get_or_init(start)
}

/// Per-second request rates by service, version and code, and the latency histogram.
///
/// * `http_requests_total{service="checkout",version="canary"}`: code 200 at 199/s, 500 at
///   1/s (error rate 0.005, success rate 0.995);
/// * `http_requests_total{service="payments",version="canary"}`: code 200 at 90/s, 500 at
///   10/s (error rate 0.1, success rate 0.9);
/// * `http_request_duration_seconds_bucket{service}` at 100 requests/s: `checkout` all
///   within le 0.1 s, so p99 = 0.099 (linear interpolation in [0, 0.1]); `payments` all in
///   (0.5, 1], so p99 = 0.5 + 0.99 × 0.5 = 0.995.
const RATES: &[(&str, f64)] = &[
    (r#"http_requests_total{service="checkout",version="canary",code="200"}"#, 199.0),
    (r#"http_requests_total{service="checkout",version="canary",code="500"}"#, 1.0),
    (r#"http_requests_total{service="payments",version="canary",code="200"}"#, 90.0),
    (r#"http_requests_total{service="payments",version="canary",code="500"}"#, 10.0),
];
const BUCKETS: &[(&str, &[(&str, f64)])] = &[
    ("checkout", &[("0.1", 100.0), ("0.5", 100.0), ("1", 100.0), ("+Inf", 100.0)]),
    ("payments", &[("0.1", 0.0), ("0.5", 0.0), ("1", 100.0), ("+Inf", 100.0)]),
];

/// Per-sample latency gauges of one service on three tracks, 121 samples each, for the
/// canary-vs-baseline tests:
///
/// * `stable`: 0.1 s plus deterministic noise, uniform in ±0.01 s (an LCG);
/// * `canary`: exactly the stable values in another order (sample i is stable's
///   37·i mod 121), so every rank statistic is at its null centre: U = mn/2, p = 1;
/// * `slow`: stable + 0.05 s, completely separated from stable (a 50 % regression).
pub fn latency_tracks() -> [(&'static str, Vec<f64>); 3] {
    let mut state: u64 = 0x00C0_FFEE;
    let stable: Vec<f64> = (0..121)
        .map(|_| {
            state = state.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
            let u = (state >> 11) as f64 / (1u64 << 53) as f64;
            // Rounded to 1e-6 so the text form is exact.
            ((0.1 + 0.02 * (u - 0.5)) * 1e6).round() / 1e6
        })
        .collect();
    let canary = (0..121).map(|i| stable[(37 * i) % 121]).collect();
    let slow = stable.iter().map(|v| ((v + 0.05) * 1e6).round() / 1e6).collect();
    [("stable", stable), ("canary", canary), ("slow", slow)]
}

/// The OpenMetrics text: 121 samples, 15 s apart, the last at `end`.
fn openmetrics(end: i64) -> String {
    let mut out = String::from("# TYPE http_requests counter\n");
    let samples = |out: &mut String, series: &str, per_second: f64| {
        for i in 0..=120i64 {
            let t = end - 15 * (120 - i);
            out.push_str(&format!("{series} {} {t}\n", per_second * 15.0 * i as f64));
        }
    };
    for (series, rate) in RATES {
        samples(&mut out, series, *rate);
    }
    out.push_str("# TYPE latency_seconds gauge\n");
    for (track, values) in latency_tracks() {
        let series = format!(r#"latency_seconds{{service="checkout",track="{track}"}}"#);
        for (i, v) in values.iter().enumerate() {
            out.push_str(&format!("{series} {v} {}\n", end - 15 * (120 - i as i64)));
        }
    }
    out.push_str("# TYPE http_request_duration_seconds histogram\n");
    for (service, buckets) in BUCKETS {
        for (le, rate) in *buckets {
            let series = format!(r#"http_request_duration_seconds_bucket{{service="{service}",le="{le}"}}"#);
            samples(&mut out, &series, *rate);
        }
    }
    out.push_str("# EOF\n");
    out
}

fn require(binary: &str) {
    if let Err(e) = Command::new(binary).arg("--version").stdout(Stdio::null()).stderr(Stdio::null()).status() {
        panic!(
            "`{binary}` is not runnable ({e}). The provider template tests need a real Prometheus: run \
             ./scripts/test.sh, which installs Debian's `prometheus` package (`prometheus` and `promtool`), or \
             `apt-get install -y prometheus` yourself."
        );
    }
}

fn write(path: &Path, text: &str) {
    std::fs::write(path, text).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
}

fn start() -> Prometheus {
    require("promtool");
    require("prometheus");
    let now = SystemTime::now().duration_since(UNIX_EPOCH).expect("clock after 1970");
    let dir = std::env::temp_dir().join(format!("augur-providers-prom-{}-{}", std::process::id(), now.as_nanos()));
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("create {}: {e}", dir.display()));

    let secs = i64::try_from(now.as_secs()).expect("seconds fit i64");
    let end = secs - secs % 15;
    let om = dir.join("fixture.om");
    write(&om, &openmetrics(end));
    let data = dir.join("data");
    let out = Command::new("promtool")
        .args(["tsdb", "create-blocks-from", "openmetrics"])
        .arg(&om)
        .arg(&data)
        .output()
        .expect("run promtool");
    assert!(
        out.status.success(),
        "promtool tsdb create-blocks-from openmetrics failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );

    let config = dir.join("prometheus.yml");
    write(&config, "global:\n  scrape_interval: 15s\nscrape_configs: []\n");
    let port = TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("free port").port();
    let log = dir.join("prometheus.log");
    let script = r#"dir="$1"; log="$2"; shift 2
prometheus "$@" >"$log" 2>&1 &
pid=$!
read -r _ || true
kill "$pid" 2>/dev/null
wait "$pid" 2>/dev/null
rm -rf "$dir""#;
    let mut child = Command::new("sh")
        .arg("-c")
        .arg(script)
        .arg("sh")
        .arg(&dir)
        .arg(&log)
        .arg(format!("--config.file={}", config.display()))
        .arg(format!("--storage.tsdb.path={}", data.display()))
        .arg("--storage.tsdb.retention.time=100y")
        .arg(format!("--web.listen-address=127.0.0.1:{port}"))
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn sh");
    let stdin = child.stdin.take().expect("piped stdin");

    let deadline = Instant::now() + Duration::from_secs(30);
    while !ready(port) {
        assert!(
            Instant::now() < deadline,
            "prometheus was not ready after 30 s; its log:\n{}",
            std::fs::read_to_string(&log).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    Prometheus { url: format!("http://127.0.0.1:{port}"), end, _watchdog: Mutex::new((child, stdin)) }
}

/// `GET /-/ready` answers 200.
fn ready(port: u16) -> bool {
    let Ok(mut stream) = TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
    if stream.write_all(b"GET /-/ready HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n").is_err() {
        return false;
    }
    let mut answer = String::new();
    let _ = stream.read_to_string(&mut answer);
    answer.starts_with("HTTP/1.0 200") || answer.starts_with("HTTP/1.1 200")
}
