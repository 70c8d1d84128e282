//! A real Prometheus (Debian's `prometheus` package) on 127.0.0.1 with deterministic,
//! backfilled data, shared by the tests of one test binary.
//!
//! The series are written as OpenMetrics, backfilled into a fresh TSDB with
//! `promtool tsdb create-blocks-from openmetrics`, and served by a `prometheus` with no
//! scrape targets and a 100-year retention (the samples are from November 2023). Queries
//! are evaluated at [`NOW`], inside the data, so every value is exact and stable.
//!
//! Two instances: [`plain`] (HTTP, no auth) and [`guarded`] (TLS with a self-signed
//! certificate, basic auth, and a `remote_read` to a closed port, so every answer carries
//! a Prometheus warning). Each runs under a `sh` watchdog that reads its stdin: when the
//! test binary exits, the pipe closes, and the watchdog stops Prometheus and deletes the
//! data directory. There is no skip: missing binaries fail the tests with instructions.

#![allow(dead_code, unreachable_pub)]

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use augur_provider_api::MeasureContext;

/// The first sample's time (2023-11-14T22:13:20Z).
pub const T0: i64 = 1_700_000_000;
/// One sample every 15 s for an hour: 241 samples per series.
pub const N_SAMPLES: i64 = 241;
/// The measurement time of every test: half an hour into the data.
pub const NOW: i64 = T0 + 1800;
/// The basic-auth user and password of [`guarded`].
pub const USER: &str = "augur";
/// The password (its bcrypt hash, cost 4, is in the web config below).
pub const PASSWORD: &str = "s3cret-pw";
const PASSWORD_BCRYPT: &str = "$2b$04$mie9IpFvilaQJvQ5xUhhDOa1KYXXGTeVeQOCyUS1mhQN191hIBRTS";
/// The warning every answer of [`guarded`] carries (its remote_read target is closed).
pub const REMOTE_READ_WARNING: &str = "remote_read: error sending request: Post \"http://127.0.0.1:1/read\": \
                                       dial tcp 127.0.0.1:1: connect: connection refused";

/// A running Prometheus.
pub struct Prometheus {
    /// `http://127.0.0.1:PORT` or `https://127.0.0.1:PORT`.
    pub url: String,
    /// Its log file (for failure messages).
    pub log: PathBuf,
    /// Held so the watchdog lives as long as the test binary; never used.
    _watchdog: Mutex<(Child, ChildStdin)>,
}

/// The measurement context of every test: `now` = [`NOW`].
pub fn ctx() -> MeasureContext {
    MeasureContext {
        now: UNIX_EPOCH + Duration::from_secs(NOW as u64),
        deadline: None,
        measurement_id: "test.metric.1".to_string(),
    }
}

/// The plain instance (started on first use).
pub fn plain() -> &'static Prometheus {
    static PLAIN: OnceLock<Prometheus> = OnceLock::new();
    PLAIN.get_or_init(|| start("plain", false))
}

/// The TLS + basic auth + warnings instance (started on first use).
pub fn guarded() -> &'static Prometheus {
    static GUARDED: OnceLock<Prometheus> = OnceLock::new();
    GUARDED.get_or_init(|| start("guarded", true))
}

/// The backfilled series, in OpenMetrics (timestamps in seconds). Value formulas, with
/// `i` = 0..240 the sample index at `T0 + 15 i`:
///
/// * `latency_seconds{app="demo",version="baseline"}` = 0.2, `…canary` = 0.25;
/// * `queue_depth{pod="a"}` = i, `queue_depth{pod="b"}` = 1000 + i;
/// * `http_requests_total{version,code}` = 10 req/s split 99/1 (baseline) and 95/5
///   (canary) between codes 200 and 500: `10 * 15 * i * share`;
/// * `special{kind="nan"|"inf"|"neginf"}` = NaN, +Inf, -Inf;
/// * `magnitude{size="big"}` = 1e21, `magnitude{size="small"}` = 1e-7.
pub fn openmetrics() -> String {
    let mut out = String::new();
    let mut family = |name: &str, kind: &str, series: &[(&str, &dyn Fn(i64) -> String)]| {
        out.push_str(&format!("# TYPE {name} {kind}\n"));
        for (labels, value) in series {
            for i in 0..N_SAMPLES {
                out.push_str(&format!("{labels} {} {}\n", value(i), T0 + 15 * i));
            }
        }
    };
    family(
        "latency_seconds",
        "gauge",
        &[
            (r#"latency_seconds{app="demo",version="baseline"}"#, &|_| "0.2".to_string()),
            (r#"latency_seconds{app="demo",version="canary"}"#, &|_| "0.25".to_string()),
        ],
    );
    family(
        "queue_depth",
        "gauge",
        &[(r#"queue_depth{pod="a"}"#, &|i| i.to_string()), (r#"queue_depth{pod="b"}"#, &|i| (1000 + i).to_string())],
    );
    let counter = |share: f64| move |i: i64| format!("{:.6}", 10.0 * 15.0 * i as f64 * share);
    let (b200, b500, c200, c500) = (counter(0.99), counter(0.01), counter(0.95), counter(0.05));
    family(
        "http_requests",
        "counter",
        &[
            (r#"http_requests_total{app="demo",version="baseline",code="200"}"#, &b200),
            (r#"http_requests_total{app="demo",version="baseline",code="500"}"#, &b500),
            (r#"http_requests_total{app="demo",version="canary",code="200"}"#, &c200),
            (r#"http_requests_total{app="demo",version="canary",code="500"}"#, &c500),
        ],
    );
    family(
        "special",
        "gauge",
        &[
            (r#"special{kind="nan"}"#, &|_| "NaN".to_string()),
            (r#"special{kind="inf"}"#, &|_| "+Inf".to_string()),
            (r#"special{kind="neginf"}"#, &|_| "-Inf".to_string()),
        ],
    );
    family(
        "magnitude",
        "gauge",
        &[
            (r#"magnitude{size="big"}"#, &|_| "1e21".to_string()),
            (r#"magnitude{size="small"}"#, &|_| "1e-7".to_string()),
        ],
    );
    out.push_str("# EOF\n");
    out
}

/// Fails the test with instructions when a binary of the `prometheus` package is missing.
fn require(binary: &str) {
    match Command::new(binary).arg("--version").stdout(Stdio::null()).stderr(Stdio::null()).status() {
        Ok(_) => {}
        Err(e) => panic!(
            "`{binary}` is not runnable ({e}). These tests need a real Prometheus: run ./scripts/test.sh, which \
             installs Debian's `prometheus` package (it provides `prometheus` and `promtool`), or \
             `apt-get install -y prometheus` yourself."
        ),
    }
}

fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    listener.local_addr().expect("local addr").port()
}

fn write(path: &Path, text: &str) {
    std::fs::write(path, text).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
}

fn start(name: &str, guarded: bool) -> Prometheus {
    require("promtool");
    require("prometheus");
    let stamp = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or_default();
    let dir = std::env::temp_dir().join(format!("augur-prometheus-{name}-{}-{stamp}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("create {}: {e}", dir.display()));

    // 1. Backfill.
    let om = dir.join("fixture.om");
    write(&om, &openmetrics());
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

    // 2. Configuration: no scrape targets, so the backfill is the only data.
    let config = dir.join("prometheus.yml");
    let mut config_text = "global:\n  scrape_interval: 15s\nscrape_configs: []\n".to_string();
    let mut args = vec![
        format!("--config.file={}", config.display()),
        format!("--storage.tsdb.path={}", data.display()),
        "--storage.tsdb.retention.time=100y".to_string(),
    ];
    let port = free_port();
    args.push(format!("--web.listen-address=127.0.0.1:{port}"));
    let scheme = if guarded {
        config_text.push_str("remote_read:\n  - url: http://127.0.0.1:1/read\n    read_recent: true\n");
        let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
        let web = dir.join("web.yml");
        write(
            &web,
            &format!(
                "tls_server_config:\n  cert_file: {}\n  key_file: {}\nbasic_auth_users:\n  {USER}: {PASSWORD_BCRYPT}\n",
                fixtures.join("test-cert.pem").display(),
                fixtures.join("test-key.pem").display()
            ),
        );
        args.push(format!("--web.config.file={}", web.display()));
        "https"
    } else {
        "http"
    };
    write(&config, &config_text);

    // 3. Start under a watchdog that stops Prometheus when our stdin pipe closes.
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
        .args(&args)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn sh");
    let stdin = child.stdin.take().expect("piped stdin");

    // 4. Wait until it is ready: `/-/ready` for the plain one; the guarded one needs TLS
    //    and credentials even there, so its log line says it instead.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let ready = if guarded {
            std::fs::read_to_string(&log).is_ok_and(|l| l.contains("Server is ready to receive web requests"))
        } else {
            ready_endpoint(port)
        };
        if ready {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "prometheus ({name}) was not ready after 30 s; its log:\n{}",
            std::fs::read_to_string(&log).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    Prometheus { url: format!("{scheme}://127.0.0.1:{port}"), log, _watchdog: Mutex::new((child, stdin)) }
}

/// `GET /-/ready` answers 200.
fn ready_endpoint(port: u16) -> bool {
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
