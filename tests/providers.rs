//! The provider templates in templates/ run through the real `augur` binary (`augur run
//! -o json`) against real local servers: Debian's `prometheus` (backfilled so its data end
//! at the current time, see `support::prometheus`), `moto_server` for CloudWatch, a local
//! axum stand-in answering Datadog's documented v1 query shape, and a local process for
//! the `job.command` form. Each asserts the exit code, the verdict and the measured values,
//! with at least one Successful and one Failed verdict per provider.
//!
//! Templates that repeat (`interval: 1m`, `count: 5`) are run with `interval: 1s` and
//! `count: 2` (see [`quick`]): the queries, conditions and `failureLimit: 1` are the
//! template's own, so two failing measurements still fail the metric. No provider is
//! skipped: a missing `prometheus`, `promtool`, `moto_server` or `python3` fails the test
//! with instructions.

use std::collections::HashMap;
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::extract::Query;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::get;

use crate::support::{augur, augur_env, http_server, prometheus, write_file};

/// A template file under templates/.
fn template(name: &str) -> String {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("templates").join(name).display().to_string()
}

/// A copy of a repeating template measured every second, twice (the rest unchanged).
fn quick(name: &str) -> String {
    let text = std::fs::read_to_string(template(name)).expect("read template");
    assert!(text.contains("interval: 1m") && text.contains("count: 5"), "{name} no longer repeats as expected");
    let text = text.replace("interval: 1m", "interval: 1s").replace("count: 5", "count: 2");
    write_file(name, &text).display().to_string()
}

/// `augur run -o json` of `file` with `--arg`s; returns (exit code, JSON).
fn run(file: &str, args: &[&str], extra: &[&str], envs: &[(&str, &str)]) -> (i32, serde_json::Value) {
    let mut argv = vec!["run", "-f", file, "-o", "json"];
    for arg in args {
        argv.extend(["--arg", arg]);
    }
    argv.extend(extra);
    let out = if envs.is_empty() { augur(&argv) } else { augur_env(&argv, envs) };
    assert!((0..=3).contains(&out.code), "augur exited {}:\nstdout: {}\nstderr: {}", out.code, out.stdout, out.stderr);
    let json = out.json();
    (out.code, json)
}

/// The floats of a measurement value: a vector as Go prints a `[]float64` (`[0.5 0.25]`),
/// a range query's flattened matrix as a JSON list (`[0.5,0.25]`).
fn floats(value: &serde_json::Value) -> Vec<f64> {
    let text = value.as_str().unwrap_or_else(|| panic!("value is not a string: {value}"));
    text.trim_matches(['[', ']'])
        .split([' ', ','])
        .filter(|v| !v.is_empty())
        .map(|v| v.parse().unwrap_or_else(|e| panic!("{v} in {text}: {e}")))
        .collect()
}

/// Every value is `expected` up to rounding (rates are computed in floating point).
#[track_caller]
fn assert_all_near(values: &[f64], expected: f64) {
    assert!(!values.is_empty(), "no values");
    for v in values {
        assert!((v - expected).abs() < 1e-9, "{v} is not {expected} (all: {values:?})");
    }
}

/// The measurements of the first metric.
fn measurements(json: &serde_json::Value) -> &Vec<serde_json::Value> {
    json["metricResults"][0]["measurements"].as_array().unwrap_or_else(|| panic!("no measurements: {json}"))
}

// ---------------------------------------------------------------------------------------
// Prometheus
// ---------------------------------------------------------------------------------------

#[test]
fn prometheus_range_query_template() {
    let prom = prometheus::shared();
    let secrets = write_file("secrets.yaml", "prometheus:\n  password: not-checked-by-a-plain-prometheus\n");
    let secrets = secrets.to_str().expect("utf-8 path");
    let file = template("prometheus-range-query.yaml");
    let address = format!("prometheus-address={}", prom.url);

    // checkout's canary: 1 error in 200 requests, at every step of the last 10 minutes.
    let (code, json) = run(&file, &["service-name=checkout", &address], &["--secrets-file", secrets], &[]);
    assert_eq!(code, 0, "{json}");
    assert_eq!(json["phase"], "Successful", "{json}");
    let m = measurements(&json);
    assert_eq!(m.len(), 1, "a one-shot metric: {json}");
    assert_eq!(m[0]["phase"], "Successful");
    let values = floats(&m[0]["value"]);
    assert_eq!(values.len(), 11, "10m at a 1m step is 11 points: {values:?}");
    assert_all_near(&values, 0.005);

    // payments' canary: 10 % errors.
    let (code, json) = run(&file, &["service-name=payments", &address], &["--secrets-file", secrets], &[]);
    assert_eq!(code, 1, "{json}");
    assert_eq!(json["phase"], "Failed", "{json}");
    let values = floats(&measurements(&json)[0]["value"]);
    assert_eq!(values.len(), 11, "{values:?}");
    assert_all_near(&values, 0.1);

    // A shorter lookback (an arg of the template) gives fewer points.
    let (code, json) =
        run(&file, &["service-name=checkout", &address, "lookback=2m"], &["--secrets-file", secrets], &[]);
    assert_eq!(code, 0, "{json}");
    assert_eq!(floats(&measurements(&json)[0]["value"]).len(), 3);
}

#[test]
fn prometheus_range_query_template_needs_its_secret() {
    let prom = prometheus::shared();
    let address = format!("prometheus-address={}", prom.url);
    let out = augur(&[
        "run",
        "-f",
        &template("prometheus-range-query.yaml"),
        "-o",
        "json",
        "--arg",
        "service-name=checkout",
        "--arg",
        &address,
    ]);
    assert_ne!(out.code, 0, "ran without the secret: {}", out.stdout);
    assert!(
        format!("{}{}", out.stdout, out.stderr).contains("prometheus"),
        "the error names the secret: {}{}",
        out.stdout,
        out.stderr
    );
}

#[test]
fn prometheus_success_rate_template() {
    let prom = prometheus::shared();
    let file = quick("success-rate.yaml");
    let address = format!("prometheus-address={}", prom.url);

    let (code, json) = run(&file, &["service-name=checkout", &address], &[], &[]);
    assert_eq!(code, 0, "{json}");
    assert_eq!(json["phase"], "Successful", "{json}");
    assert_eq!(json["metricResults"][0]["count"], 2, "{json}");
    for m in measurements(&json) {
        assert_eq!(m["phase"], "Successful", "{json}");
        assert_all_near(&floats(&m["value"]), 0.995);
    }

    let (code, json) = run(&file, &["service-name=payments", &address], &[], &[]);
    assert_eq!(code, 1, "{json}");
    assert_eq!(json["phase"], "Failed", "{json}");
    assert_eq!(json["metricResults"][0]["failed"], 2, "{json}");
    assert_all_near(&floats(&measurements(&json)[0]["value"]), 0.9);
}

#[test]
fn prometheus_p99_latency_template() {
    let prom = prometheus::shared();
    let file = quick("p99-latency.yaml");
    let address = format!("prometheus-address={}", prom.url);

    // Every checkout request within 0.1 s: p99 interpolates to 0.099.
    let (code, json) = run(&file, &["service-name=checkout", &address], &[], &[]);
    assert_eq!(code, 0, "{json}");
    assert_eq!(json["phase"], "Successful", "{json}");
    assert_all_near(&floats(&measurements(&json)[0]["value"]), 0.099);

    // Every payments request in (0.5, 1]: p99 = 0.995 > 0.5.
    let (code, json) = run(&file, &["service-name=payments", &address], &[], &[]);
    assert_eq!(code, 1, "{json}");
    assert_eq!(json["phase"], "Failed", "{json}");
    assert_all_near(&floats(&measurements(&json)[0]["value"]), 0.995);

    // No such series: the empty vector passes through the template's guard.
    let (code, json) = run(&file, &["service-name=nobody", &address], &[], &[]);
    assert_eq!(code, 0, "{json}");
    assert_eq!(measurements(&json)[0]["value"], "[]", "{json}");
}

// ---------------------------------------------------------------------------------------
// A local stand-in for Datadog's v1 query API, and a /healthz for the job template
// ---------------------------------------------------------------------------------------

const DD_API_KEY: &str = "test-api-key";
const DD_APP_KEY: &str = "test-app-key";
const DD_QUERY: &str = "p99:trace.http.request.duration{service:checkout,env:production}";

/// Serves `GET /api/v1/query` (Datadog's documented v1 shape, as in
/// providers/datadog/tests/fixtures/v1_query.json) whose only series ends at `last`, 401
/// without the keys and 400 for any other query; and `GET /healthz`. Returns its base URL.
fn fake_datadog(last: f64) -> String {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
        rt.block_on(async move {
            let query = move |headers: HeaderMap, Query(params): Query<HashMap<String, String>>| async move {
                let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or_default().to_string();
                if header("dd-api-key") != DD_API_KEY || header("dd-application-key") != DD_APP_KEY {
                    return (StatusCode::UNAUTHORIZED, r#"{"errors":["Unauthorized"]}"#.to_string());
                }
                if params.get("query").map(String::as_str) != Some(DD_QUERY) {
                    return (StatusCode::BAD_REQUEST, format!(r#"{{"errors":["unexpected query {params:?}"]}}"#));
                }
                let from: i64 = params.get("from").and_then(|v| v.parse().ok()).unwrap_or_default();
                let to: i64 = params.get("to").and_then(|v| v.parse().ok()).unwrap_or_default();
                let body = serde_json::json!({
                    "from_date": from * 1000,
                    "to_date": to * 1000,
                    "group_by": [],
                    "message": "",
                    "query": DD_QUERY,
                    "res_type": "time_series",
                    "status": "ok",
                    "series": [{
                        "aggr": "p99",
                        "display_name": "trace.http.request.duration",
                        "end": to * 1000 - 1,
                        "expression": DD_QUERY,
                        "interval": 60,
                        "length": 3,
                        "metric": "trace.http.request.duration",
                        "pointlist": [[(to - 180) as f64 * 1000.0, 0.3], [(to - 120) as f64 * 1000.0, null], [(to - 60) as f64 * 1000.0, last]],
                        "query_index": 0,
                        "scope": "env:production,service:checkout",
                        "start": (to - 180) * 1000,
                        "tag_set": [],
                        "unit": null
                    }]
                });
                (StatusCode::OK, body.to_string())
            };
            let app = Router::new()
                .route("/api/v1/query", get(query))
                .route("/healthz", get(|| async { r#"{"status":"ok"}"# }));
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
            tx.send(listener.local_addr().expect("addr")).expect("send addr");
            axum::serve(listener, app).await.expect("serve");
        });
    });
    format!("http://{}", rx.recv().expect("server address"))
}

#[test]
fn datadog_p99_latency_template() {
    let file = quick("datadog-p99-latency.yaml");
    let env = |address: &str| -> Vec<(String, String)> {
        vec![
            ("DD_API_KEY".into(), DD_API_KEY.into()),
            ("DD_APP_KEY".into(), DD_APP_KEY.into()),
            ("DD_ADDRESS".into(), address.into()),
        ]
    };
    let run_dd = |address: &str| {
        let owned = env(address);
        let envs: Vec<(&str, &str)> = owned.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        run(&file, &[], &[], &envs)
    };

    // The last point, 0.42 s, is within 500 ms.
    let (code, json) = run_dd(&fake_datadog(0.42));
    assert_eq!(code, 0, "{json}");
    assert_eq!(json["phase"], "Successful", "{json}");
    for m in measurements(&json) {
        assert_eq!(m["value"], "0.42", "{json}");
    }

    // 0.75 s is not.
    let (code, json) = run_dd(&fake_datadog(0.75));
    assert_eq!(code, 1, "{json}");
    assert_eq!(json["phase"], "Failed", "{json}");
    assert_eq!(json["metricResults"][0]["failed"], 2, "{json}");
    assert_eq!(measurements(&json)[0]["value"], "0.75", "{json}");
}

// ---------------------------------------------------------------------------------------
// Job (`command` form)
// ---------------------------------------------------------------------------------------

#[test]
fn job_command_template() {
    let file = template("job-command.yaml");

    // curl --fail of a /healthz that answers 200: exit 0.
    let base = format!("base-url={}", fake_datadog(0.0));
    let (code, json) = run(&file, &[&base], &[], &[]);
    assert_eq!(code, 0, "{json}");
    assert_eq!(json["phase"], "Successful", "{json}");
    assert_eq!(measurements(&json).len(), 1, "{json}");
    assert_eq!(measurements(&json)[0]["phase"], "Successful", "{json}");

    // support::http_server has no /healthz: a 404, curl exits 22.
    let base = format!("base-url={}", http_server());
    let (code, json) = run(&file, &[&base], &[], &[]);
    assert_eq!(code, 1, "{json}");
    assert_eq!(json["phase"], "Failed", "{json}");
    let message = measurements(&json)[0]["message"].as_str().unwrap_or_default().to_string();
    assert!(message.contains("22"), "the message carries curl's exit code: {json}");
}

// ---------------------------------------------------------------------------------------
// CloudWatch against moto_server
// ---------------------------------------------------------------------------------------

/// A moto_server child on 127.0.0.1; killed (by its own handle) when dropped.
struct Moto {
    child: Child,
    endpoint: String,
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_moto() -> Moto {
    let port = TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("free port").port();
    let child = Command::new("moto_server")
        .args(["-H", "127.0.0.1", "-p", &port.to_string()])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| {
            panic!(
                "cannot start moto_server ({e}). The CloudWatch template test needs moto's server: run \
                 ./scripts/test.sh (it installs it), or `pip install 'moto[server]'`"
            )
        });
    let mut moto = Moto { child, endpoint: format!("http://127.0.0.1:{port}") };
    let started = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        if let Some(status) = moto.child.try_wait().expect("poll moto_server") {
            panic!("moto_server exited before listening: {status}");
        }
        assert!(started.elapsed() < Duration::from_secs(60), "moto_server did not listen within 60 s");
        std::thread::sleep(Duration::from_millis(50));
    }
    moto
}

/// Puts `ErrorRate{Service=service}` = `value` at 30 s, 90 s, …, 270 s ago (five points,
/// one per minute of the template's 5-minute window) with boto3.
fn put_error_rate(endpoint: &str, service: &str, value: f64) {
    let now = SystemTime::now().duration_since(UNIX_EPOCH).expect("clock").as_secs();
    let script = r#"
import sys, datetime, boto3
endpoint, service, value, now = sys.argv[1], sys.argv[2], float(sys.argv[3]), int(sys.argv[4])
cw = boto3.client("cloudwatch", endpoint_url=endpoint, region_name="us-east-1",
                  aws_access_key_id="testing", aws_secret_access_key="testing")
cw.put_metric_data(Namespace="Demo/Checkout", MetricData=[{
    "MetricName": "ErrorRate",
    "Dimensions": [{"Name": "Service", "Value": service}],
    "Timestamp": datetime.datetime.fromtimestamp(now - ago, datetime.timezone.utc),
    "Value": value,
} for ago in (30, 90, 150, 210, 270)])
"#;
    let out = Command::new("python3")
        .args(["-c", script, endpoint, service, &value.to_string(), &now.to_string()])
        .output()
        .unwrap_or_else(|e| panic!("cannot run python3 ({e}); ./scripts/test.sh installs it with boto3"));
    assert!(
        out.status.success(),
        "put_metric_data with boto3 failed (moto[server] installs boto3): {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn cloudwatch_error_rate_template() {
    let moto = start_moto();
    put_error_rate(&moto.endpoint, "checkout", 0.005);
    put_error_rate(&moto.endpoint, "payments", 0.02);
    let file = template("cloudwatch-error-rate.yaml");
    let envs = [
        ("AUGUR_CLOUDWATCH_ENDPOINT", moto.endpoint.as_str()),
        ("AWS_REGION", "us-east-1"),
        ("AWS_ACCESS_KEY_ID", "testing"),
        ("AWS_SECRET_ACCESS_KEY", "testing"),
        ("AWS_EC2_METADATA_DISABLED", "true"),
        ("AWS_CONFIG_FILE", "/nonexistent/augur-test/config"),
        ("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/augur-test/credentials"),
    ];

    let (code, json) = run(&file, &["service-name=checkout"], &[], &envs);
    assert_eq!(code, 0, "{json}");
    assert_eq!(json["phase"], "Successful", "{json}");
    assert_eq!(measurements(&json)[0]["value"], "[[0.005 0.005 0.005 0.005 0.005]]", "{json}");

    let (code, json) = run(&file, &["service-name=payments"], &[], &envs);
    assert_eq!(code, 1, "{json}");
    assert_eq!(json["phase"], "Failed", "{json}");
    assert_eq!(measurements(&json)[0]["value"], "[[0.02 0.02 0.02 0.02 0.02]]", "{json}");

    // No data for the service: the empty window fails rather than passes.
    let (code, json) = run(&file, &["service-name=nobody"], &[], &envs);
    assert_eq!(code, 1, "{json}");
    assert_eq!(measurements(&json)[0]["value"], "[[]]", "{json}");
}
