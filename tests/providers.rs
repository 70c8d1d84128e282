//! The provider templates in templates/ run through the real `augur` binary (`augur run
//! -o json`) against real local servers: Debian's `prometheus` (backfilled so its data end
//! at the current time, see `support::prometheus`), behind a botocore sigv4 verifier for
//! Amazon Managed Prometheus (`support::sigv4`), `moto_server` for CloudWatch, local axum
//! stand-ins answering Datadog's documented v1 query and v2 scalar shapes, and a local
//! process for the `job.command` form. Each asserts the exit code, the verdict and the
//! measured values, with at least one Successful and one Failed verdict per provider.
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
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, post};

use crate::support::sigv4::{Key, Verifier};
use crate::support::{Output, augur, augur_clean_env, augur_env, http_server, prometheus, scratch_dir, write_file};

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
    run_with(file, args, extra, |argv| if envs.is_empty() { augur(argv) } else { augur_env(argv, envs) })
}

/// [`run`] with only `envs` (and `PATH`) in augur's environment.
fn run_clean(file: &str, args: &[&str], extra: &[&str], envs: &[(&str, &str)]) -> (i32, serde_json::Value) {
    run_with(file, args, extra, |argv| augur_clean_env(argv, envs))
}

fn run_with(
    file: &str,
    args: &[&str],
    extra: &[&str],
    augur: impl FnOnce(&[&str]) -> Output,
) -> (i32, serde_json::Value) {
    let mut argv = vec!["run", "-f", file, "-o", "json"];
    for arg in args {
        argv.extend(["--arg", arg]);
    }
    argv.extend(extra);
    let out = augur(&argv);
    assert!((0..=3).contains(&out.code), "augur exited {}:\nstdout: {}\nstderr: {}", out.code, out.stdout, out.stderr);
    let json = out.json();
    (out.code, json)
}

/// The message of every measurement, which must all be Errors.
#[track_caller]
fn error_messages(json: &serde_json::Value) -> Vec<String> {
    measurements(json)
        .iter()
        .map(|m| {
            assert_eq!(m["phase"], "Error", "{json}");
            m["message"].as_str().unwrap_or_else(|| panic!("no message: {json}")).to_string()
        })
        .collect()
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
// Prometheus with sigv4 (Amazon Managed Prometheus), behind a botocore verifier
// ---------------------------------------------------------------------------------------

/// The credentials the verifier accepts (fake, for tests only).
const AWS_KEY: Key<'static> =
    Key { id: "AKIDAUGURTEST", secret: "augur/test+Secret/Key0123456789", token: Some("augur-test-session-token") };
/// What the verifier's STS `AssumeRole` hands out.
const ASSUMED_KEY: Key<'static> =
    Key { id: "ASIAAUGURASSUMED", secret: "assumed/test+Secret/Key9876543210", token: Some("assumed-session-token") };
const AMP_REGION: &str = "eu-west-1";

/// The environment of an `augur` with nothing of the test process: an empty `HOME` (no
/// `~/.aws`), no instance metadata, plus `extra`.
fn aws_env<'a>(home: &'a str, extra: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    let mut env = vec![("HOME", home), ("AWS_EC2_METADATA_DISABLED", "true")];
    env.extend_from_slice(extra);
    env
}

fn key_env(key: &Key<'static>) -> Vec<(&'static str, &'static str)> {
    let mut env = vec![("AWS_ACCESS_KEY_ID", key.id), ("AWS_SECRET_ACCESS_KEY", key.secret)];
    if let Some(token) = key.token {
        env.push(("AWS_SESSION_TOKEN", token));
    }
    env
}

/// The verifier's entries for Amazon Managed Prometheus requests.
fn aps_entries(verifier: &Verifier) -> Vec<serde_json::Value> {
    verifier.log().into_iter().filter(|e| e["service"] == "aps").collect()
}

/// One AMP test's setup: a verifier in front of the shared Prometheus (answering STS
/// AssumeRole with `assumed` when given), the quick template, its `workspace-url` and
/// `region` args, and an empty HOME.
struct Amp {
    verifier: Verifier,
    file: String,
    workspace: String,
    region: String,
    home: PathBuf,
}

fn amp(assumed: Option<Key>) -> Amp {
    let prom = prometheus::shared();
    let verifier = Verifier::start(&prom.url, AMP_REGION, &[AWS_KEY], assumed);
    let workspace = format!("workspace-url={}", verifier.workspace());
    Amp {
        verifier,
        file: quick("prometheus-amp-sigv4.yaml"),
        workspace,
        region: format!("region={AMP_REGION}"),
        home: scratch_dir(),
    }
}

#[test]
fn prometheus_amp_sigv4_template() {
    let Amp { verifier, file, workspace, region, home } = amp(None);
    let home = home.to_str().expect("utf-8 path");
    let env = aws_env(home, &key_env(&AWS_KEY));

    // checkout's canary: 1 error in 200 requests; every query signed and verified.
    let (code, json) = run_clean(&file, &["service-name=checkout", &workspace, &region], &[], &env);
    assert_eq!(code, 0, "{json}");
    assert_eq!(json["phase"], "Successful", "{json}");
    assert_eq!(json["metricResults"][0]["count"], 2, "{json}");
    for m in measurements(&json) {
        assert_eq!(m["phase"], "Successful", "{json}");
        assert_all_near(&floats(&m["value"]), 0.005);
    }
    let log = aps_entries(&verifier);
    assert_eq!(log.len(), 2, "one signed POST per measurement: {log:?}");
    for entry in &log {
        assert_eq!(entry["verdict"], "ok", "{log:?}");
        assert_eq!(entry["method"], "POST", "{log:?}");
        assert_eq!(entry["path"], "/aps-workspaces/workspaces/ws-test/api/v1/query", "{log:?}");
        assert_eq!(entry["access_key"], AWS_KEY.id, "{log:?}");
        assert_eq!(entry["session_token"], true, "{log:?}");
    }

    // payments' canary: 10 % errors.
    let (code, json) = run_clean(&file, &["service-name=payments", &workspace, &region], &[], &env);
    assert_eq!(code, 1, "{json}");
    assert_eq!(json["phase"], "Failed", "{json}");
    assert_eq!(json["metricResults"][0]["failed"], 2, "{json}");
    assert_all_near(&floats(&measurements(&json)[0]["value"]), 0.1);

    // No region in the template: AWS_REGION decides.
    let mut env_region = env.clone();
    env_region.push(("AWS_REGION", AMP_REGION));
    let (code, json) = run_clean(&file, &["service-name=checkout", &workspace], &[], &env_region);
    assert_eq!(code, 0, "{json}");
    assert_all_near(&floats(&measurements(&json)[0]["value"]), 0.005);
}

#[test]
fn prometheus_amp_sigv4_wrong_secret_is_a_403_error_without_the_secret() {
    let Amp { verifier, file, workspace, region, home } = amp(None);
    let home = home.to_str().expect("utf-8 path");
    let wrong = "wrong/Secret+Key/not-the-one-it-knows";
    let token = AWS_KEY.token.expect("a session token");
    let env = aws_env(
        home,
        &[("AWS_ACCESS_KEY_ID", AWS_KEY.id), ("AWS_SECRET_ACCESS_KEY", wrong), ("AWS_SESSION_TOKEN", token)],
    );

    let (code, json) =
        run_clean(&file, &["service-name=checkout", &workspace, &region], &["--error-retry", "10ms"], &env);
    assert_eq!(code, 3, "{json}");
    assert_eq!(json["phase"], "Error", "{json}");
    let messages = error_messages(&json);
    assert_eq!(messages.len(), 5, "consecutiveErrorLimit 4 is exceeded by the 5th: {json}");
    for message in &messages {
        assert!(message.starts_with("client_error: client error: 403: "), "{message}");
        assert!(message.contains("signature we calculated does not match"), "{message}");
        assert!(message.contains("authentication.sigv4"), "{message}");
    }
    let text = json.to_string();
    assert!(!text.contains(wrong) && !text.contains(token), "a credential leaked: {text}");
    let log = aps_entries(&verifier);
    assert_eq!(log.len(), 5, "{log:?}");
    assert!(log.iter().all(|e| e["verdict"] == "InvalidSignatureException"), "{log:?}");
}

#[test]
fn prometheus_amp_sigv4_without_credentials_or_region_is_a_prompt_error() {
    let Amp { verifier, file, workspace, region, home } = amp(None);
    let home = home.to_str().expect("utf-8 path");

    // No credentials anywhere (no AWS_*, an empty HOME, no instance metadata).
    let started = Instant::now();
    let (code, json) = run_clean(
        &file,
        &["service-name=checkout", &workspace, &region],
        &["--error-retry", "10ms"],
        &aws_env(home, &[]),
    );
    let elapsed = started.elapsed();
    assert_eq!(code, 3, "{json}");
    assert_eq!(json["phase"], "Error", "{json}");
    for message in error_messages(&json) {
        assert!(message.starts_with("prometheus authentication.sigv4: could not get SigV4 credentials: "), "{message}");
        assert!(message.contains("AWS_ACCESS_KEY_ID"), "says what to set: {message}");
    }
    assert!(elapsed < Duration::from_secs(20), "5 attempts took {elapsed:?}: the chain must not wait on IMDS");

    // Credentials but no region (neither in the template nor in the environment).
    let (code, json) = run_clean(
        &file,
        &["service-name=checkout", &workspace],
        &["--error-retry", "10ms"],
        &aws_env(home, &key_env(&AWS_KEY)),
    );
    assert_eq!(code, 3, "{json}");
    for message in error_messages(&json) {
        assert!(
            message.contains("region not configured in sigv4 or in the AWS default credentials chain"),
            "{message}"
        );
    }
    assert!(aps_entries(&verifier).is_empty(), "nothing unsigned was sent: {:?}", verifier.log());
}

#[test]
fn prometheus_amp_sigv4_profile_and_assumed_role() {
    let Amp { verifier, file, workspace, region, home } = amp(Some(ASSUMED_KEY));

    // The base credentials only in a named profile of ~/.aws/credentials.
    std::fs::create_dir_all(home.join(".aws")).expect("mkdir .aws");
    std::fs::write(
        home.join(".aws/credentials"),
        format!(
            "[default]\naws_access_key_id = AKIDNOTTHISONE\naws_secret_access_key = not-this-one\n\n[amp-reader]\n\
             aws_access_key_id = {}\naws_secret_access_key = {}\naws_session_token = {}\n",
            AWS_KEY.id,
            AWS_KEY.secret,
            AWS_KEY.token.unwrap_or_default()
        ),
    )
    .expect("write credentials");
    let home = home.to_str().expect("utf-8 path");

    let (code, json) = run_clean(
        &file,
        &["service-name=checkout", &workspace, &region, "profile=amp-reader"],
        &[],
        &aws_env(home, &[]),
    );
    assert_eq!(code, 0, "{json}");
    assert_all_near(&floats(&measurements(&json)[0]["value"]), 0.005);
    let log = aps_entries(&verifier);
    assert!(!log.is_empty() && log.iter().all(|e| e["verdict"] == "ok" && e["access_key"] == AWS_KEY.id), "{log:?}");

    // roleArn: STS AssumeRole (at the verifier, through AWS_ENDPOINT_URL_STS) signed with
    // the profile's credentials, then every query signed with the assumed ones.
    let role = "arn:aws:iam::123456789012:role/amp-reader";
    let sts = verifier.url.clone();
    let (code, json) = run_clean(
        &file,
        &["service-name=payments", &workspace, &region, "profile=amp-reader", &format!("role-arn={role}")],
        &[],
        &aws_env(home, &[("AWS_ENDPOINT_URL_STS", &sts)]),
    );
    assert_eq!(code, 1, "{json}");
    assert_eq!(json["phase"], "Failed", "{json}");
    assert_all_near(&floats(&measurements(&json)[0]["value"]), 0.1);
    let log = verifier.log();
    let assumed: Vec<_> = log.iter().filter(|e| e["service"] == "sts").collect();
    assert_eq!(assumed.len(), 1, "one AssumeRole for the run, cached for both measurements: {log:?}");
    assert_eq!(assumed[0]["verdict"], "ok", "{log:?}");
    assert_eq!(assumed[0]["action"], "AssumeRole", "{log:?}");
    assert_eq!(assumed[0]["role_arn"], role, "{log:?}");
    assert_eq!(assumed[0]["access_key"], AWS_KEY.id, "{log:?}");
    let signed: Vec<_> = log.iter().filter(|e| e["service"] == "aps" && e["access_key"] == ASSUMED_KEY.id).collect();
    assert_eq!(signed.len(), 2, "{log:?}");
    assert!(signed.iter().all(|e| e["verdict"] == "ok" && e["session_token"] == true), "{log:?}");
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
// A local stand-in for Datadog's v2 scalar API
// ---------------------------------------------------------------------------------------

/// The `datadog-canary` secret of datadog-error-rate-by-version.yaml (`secretRef`).
const DD_CANARY_API_KEY: &str = "canary-api-key";
const DD_CANARY_APP_KEY: &str = "canary-app-key";

/// A Datadog response fixture from providers/datadog/tests/fixtures (transcribed from
/// Datadog's API reference).
fn dd_fixture(name: &str) -> serde_json::Value {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("providers/datadog/tests/fixtures").join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// `v2_scalar_grouped.json` (a `group` column beside the `number` column) with one row per
/// `(version, value)`.
fn dd_grouped(rows: &[(&str, Option<f64>)]) -> serde_json::Value {
    let mut body = dd_fixture("v2_scalar_grouped.json");
    let columns = body["data"]["attributes"]["columns"].as_array_mut().expect("columns");
    assert_eq!((&columns[0]["type"], &columns[1]["type"]), (&"group".into(), &"number".into()), "fixture changed");
    columns[0]["values"] = rows.iter().map(|(version, _)| serde_json::json!([version])).collect();
    columns[1]["values"] = rows.iter().map(|(_, value)| serde_json::json!(value)).collect();
    body
}

/// One request the stand-in received: its headers (lower-case names) and JSON body.
#[derive(Debug, Clone)]
struct DdRequest {
    headers: HashMap<String, String>,
    body: serde_json::Value,
}

/// Serves `POST /api/v2/query/scalar`, answering every request with `status` and `body`
/// and recording it. Returns its base URL and the recorded requests.
fn fake_datadog_v2(status: u16, body: serde_json::Value) -> (String, Arc<Mutex<Vec<DdRequest>>>) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let state = (Arc::clone(&seen), StatusCode::from_u16(status).expect("status"), body.to_string());
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
        rt.block_on(async move {
            type Shared = (Arc<Mutex<Vec<DdRequest>>>, StatusCode, String);
            let scalar = |State((seen, status, answer)): State<Shared>, headers: HeaderMap, body: String| async move {
                let headers = headers
                    .iter()
                    .map(|(k, v)| (k.as_str().to_string(), v.to_str().unwrap_or_default().to_string()))
                    .collect();
                let body = serde_json::from_str(&body).unwrap_or(serde_json::Value::String(body));
                seen.lock().expect("lock").push(DdRequest { headers, body });
                (status, [("content-type", "application/json")], answer)
            };
            let app = Router::new().route("/api/v2/query/scalar", post(scalar)).with_state(state);
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
            tx.send(listener.local_addr().expect("addr")).expect("send addr");
            axum::serve(listener, app).await.expect("serve");
        });
    });
    (format!("http://{}", rx.recv().expect("server address")), seen)
}

/// datadog-error-rate-by-version.yaml measured every second (its `interval: 2m`), the
/// rest unchanged: `count: 3`, no `failureLimit`, the 10m query window.
fn quick_by_version() -> String {
    let name = "datadog-error-rate-by-version.yaml";
    let text = std::fs::read_to_string(template(name)).expect("read template");
    assert!(text.contains("    interval: 2m\n") && text.contains("count: 3"), "{name} no longer repeats as expected");
    write_file(name, &text.replace("    interval: 2m\n", "    interval: 1s\n")).display().to_string()
}

/// Runs the v2 template against a stand-in answering `status`/`body`, with the
/// `datadog-canary` secret from augur's environment. Returns the exit code, the JSON, the
/// requests received and the wall-clock window of the run in unix ms.
fn run_by_version(
    status: u16,
    body: serde_json::Value,
    extra: &[&str],
) -> (i32, serde_json::Value, Vec<DdRequest>, (i64, i64)) {
    let (address, seen) = fake_datadog_v2(status, body);
    let envs = [
        ("AUGUR_SECRET_DATADOG_CANARY_API_KEY", DD_CANARY_API_KEY),
        ("AUGUR_SECRET_DATADOG_CANARY_APP_KEY", DD_CANARY_APP_KEY),
        ("AUGUR_SECRET_DATADOG_CANARY_ADDRESS", address.as_str()),
    ];
    let now_ms =
        || i64::try_from(SystemTime::now().duration_since(UNIX_EPOCH).expect("clock").as_millis()).expect("ms");
    let before = now_ms();
    let (code, json) = run_clean(&quick_by_version(), &["service=checkout"], extra, &envs);
    let after = now_ms();
    let requests = seen.lock().expect("lock").clone();
    (code, json, requests, (before, after))
}

/// Every request is the v2 scalar query of the template, as the reference describes it
/// (`POST /api/v2/query/scalar`, `{"data":{"type":"scalar_request","attributes":{from,
/// to, queries[{aggregator,data_source,name,query}], formulas[{formula}]}}}`, from/to in
/// ms, whole seconds as Argo's `Unix() * 1000`, over the 10m `interval`), with the
/// `secretRef` keys.
#[track_caller]
fn assert_by_version_requests(requests: &[DdRequest], (before, after): (i64, i64)) {
    assert!(!requests.is_empty(), "no request reached the stand-in");
    for request in requests {
        assert_eq!(request.headers.get("dd-api-key").map(String::as_str), Some(DD_CANARY_API_KEY), "{request:?}");
        assert_eq!(request.headers.get("dd-application-key").map(String::as_str), Some(DD_CANARY_APP_KEY));
        assert_eq!(request.headers.get("content-type").map(String::as_str), Some("application/json"));
        let data = &request.body["data"];
        assert_eq!(data["type"], "scalar_request", "{request:?}");
        let attributes = &data["attributes"];
        let (from, to) = (attributes["from"].as_i64().expect("from"), attributes["to"].as_i64().expect("to"));
        assert_eq!(to - from, 10 * 60 * 1000, "the 10m window in ms: {request:?}");
        // Argo sends whole seconds in ms (`time.Now().Unix() * 1000`).
        assert_eq!(to % 1000, 0, "{request:?}");
        let (first, last) = (before - before % 1000, after - after % 1000);
        assert!(first <= to && to <= last, "to is the measurement time ({first}..{last}): {to}");
        let mut queries = attributes["queries"].as_array().expect("queries").clone();
        queries.sort_by_key(|q| q["name"].as_str().unwrap_or_default().to_string());
        assert_eq!(
            serde_json::Value::Array(queries),
            serde_json::json!([
                {"aggregator": "sum", "data_source": "metrics", "name": "errors",
                 "query": "sum:trace.http.request.errors{service:checkout} by {version}.as_count()"},
                {"aggregator": "sum", "data_source": "metrics", "name": "hits",
                 "query": "sum:trace.http.request.hits{service:checkout} by {version}.as_count()"},
            ]),
            "{request:?}"
        );
        assert_eq!(attributes["formulas"], serde_json::json!([{"formula": "errors / hits"}]), "{request:?}");
    }
}

#[test]
fn datadog_error_rate_by_version_template() {
    // Every version at or under 1 %: three Successful measurements of a list.
    let answer = dd_grouped(&[("canary", Some(0.004)), ("stable", Some(0.001))]);
    let (code, json, requests, window) = run_by_version(200, answer, &[]);
    assert_eq!(code, 0, "{json}");
    assert_eq!(json["phase"], "Successful", "{json}");
    assert_eq!(json["metricResults"][0]["count"], 3, "{json}");
    for m in measurements(&json) {
        assert_eq!(m["phase"], "Successful", "{json}");
        assert_eq!(m["value"], "[0.004,0.001]", "{json}");
        assert_eq!(
            m["metadata"]["groups"], r#"[{"name":"canary","value":0.004},{"name":"stable","value":0.001}]"#,
            "{json}"
        );
    }
    assert_eq!(requests.len(), 3, "{requests:?}");
    assert_by_version_requests(&requests, window);

    // The fixture as transcribed: canary at 5 % (stable has no data, a null that is
    // skipped) fails at once (no failureLimit: the first failure ends the metric).
    let (code, json, requests, window) = run_by_version(200, dd_fixture("v2_scalar_grouped.json"), &[]);
    assert_eq!(code, 1, "{json}");
    assert_eq!(json["phase"], "Failed", "{json}");
    let m = measurements(&json);
    assert_eq!(m.len(), 1, "{json}");
    assert_eq!(m[0]["phase"], "Failed", "{json}");
    assert_eq!(m[0]["value"], "[0.05,0.01]", "{json}");
    assert_eq!(m[0]["metadata"]["groups"], r#"[{"name":"canary","value":0.05},{"name":"baseline","value":0.01}]"#);
    assert_by_version_requests(&requests, window);

    // One version is still a list.
    let (code, json, _, _) = run_by_version(200, dd_grouped(&[("canary", Some(0.01))]), &[]);
    assert_eq!(code, 0, "{json}");
    assert_eq!(measurements(&json)[0]["value"], "[0.01]", "{json}");
    assert_eq!(measurements(&json)[0]["metadata"]["groups"], r#"[{"name":"canary","value":0.01}]"#, "{json}");
}

#[test]
fn datadog_error_rate_by_version_errors() {
    // 403 (Datadog's documented APIErrorResponse): an Error measurement, retried until
    // consecutiveErrorLimit (4) is exceeded.
    let (code, json, requests, window) = run_by_version(403, dd_fixture("error_403.json"), &["--error-retry", "10ms"]);
    assert_eq!(code, 3, "{json}");
    assert_eq!(json["phase"], "Error", "{json}");
    let messages = error_messages(&json);
    assert_eq!(messages.len(), 5, "{json}");
    for message in &messages {
        assert!(message.starts_with("received authentication error response code: 403 "), "{message}");
        assert!(message.contains("Forbidden"), "{message}");
    }
    assert!(!json.to_string().contains(DD_CANARY_API_KEY) && !json.to_string().contains(DD_CANARY_APP_KEY));
    assert_eq!(requests.len(), 5, "{requests:?}");
    assert_by_version_requests(&requests, window);

    // No data: a nil result, which `all(...)` cannot iterate, is an Error, not a pass.
    let (code, json, _, _) = run_by_version(200, dd_fixture("v2_scalar_empty.json"), &["--error-retry", "10ms"]);
    assert_eq!(code, 3, "{json}");
    for message in error_messages(&json) {
        assert!(
            message.contains("metric result is nil or empty: no data returned from the metric provider"),
            "{message}"
        );
    }
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

// ---------------------------------------------------------------------------------------
// Canary vs baseline: the `augur/compare` plugin over two real Prometheus range queries
// ---------------------------------------------------------------------------------------

/// The window args that cover exactly the 121 backfilled latency samples: the range ends
/// within 15 s after the last sample (so each 15 s step picks one sample, and none is
/// repeated: Prometheus would repeat the last sample for 5 minutes past the data) and starts
/// 30 minutes earlier, at the first. Valid if the run starts within 15 s.
fn latency_window(prom: &prometheus::Prometheus) -> [String; 3] {
    let now = SystemTime::now().duration_since(UNIX_EPOCH).expect("clock").as_secs() as i64;
    let until = (now - prom.end).max(0);
    [format!("prometheus-address={}", prom.url), format!("until={until}s"), format!("lookback={}s", until + 30 * 60)]
}

/// `file` with a first error ending the metric (instead of five attempts 10 s apart).
fn fail_fast(file: &str, text: &str) -> String {
    assert!(text.contains("    interval: "), "{text}");
    write_file(file, &text.replacen("    interval: ", "    consecutiveErrorLimit: 0\n    interval: ", 1))
        .display()
        .to_string()
}

/// The verdict object of the first measurement.
fn verdict(json: &serde_json::Value) -> serde_json::Value {
    let value = measurements(json)[0]["value"].as_str().unwrap_or_else(|| panic!("no value: {json}"));
    serde_json::from_str(value).unwrap_or_else(|e| panic!("{value}: {e}"))
}

#[test]
fn compare_template_passes_an_identical_canary_and_fails_a_slow_one() {
    let prom = prometheus::shared();
    let file = template("canary-vs-baseline.yaml");
    let window = latency_window(prom);
    let args = |track: &str, engine: &str| {
        let mut a: Vec<String> = window.to_vec();
        a.extend(["service-name=checkout".into(), format!("canary-track={track}"), format!("engine={engine}")]);
        a
    };

    // The canary holds exactly the baseline's values in another order: U = mn/2, p = 1.
    let a = args("canary", "augur");
    let a: Vec<&str> = a.iter().map(String::as_str).collect();
    let (code, json) = run(&file, &a, &[], &[]);
    assert_eq!((code, json["phase"].as_str()), (0, Some("Successful")), "{json}");
    let v = verdict(&json);
    assert_eq!(v["classification"], "Pass", "{v}");
    // One-sided (direction increase) at the null centre, with continuity correction:
    // P(Z > −0.5/σ_U), just above one half.
    let p = v["pValue"].as_f64().unwrap();
    assert!(p > 0.5 && p < 0.51, "{v}");
    assert_eq!(v["estimate"], 0.0, "{v}");
    assert_eq!(v["ciLower"].as_f64().map(|l| -l), v["ciUpper"].as_f64(), "the interval is symmetric: {v}");
    let (nb, nc) = (v["nBaseline"].as_u64().unwrap(), v["nCanary"].as_u64().unwrap());
    assert_eq!(nb, nc, "{v}");
    assert_eq!(nb, 121, "30 minutes at a 15 s step: every backfilled sample once: {v}");

    // 50 ms slower at every step: completely separated, High, the metric fails.
    let a = args("slow", "augur");
    let a: Vec<&str> = a.iter().map(String::as_str).collect();
    let (code, json) = run(&file, &a, &[], &[]);
    assert_eq!((code, json["phase"].as_str()), (1, Some("Failed")), "{json}");
    let v = verdict(&json);
    assert_eq!(v["classification"], "High", "{v}");
    let (lo, est, hi) =
        (v["ciLower"].as_f64().unwrap(), v["estimate"].as_f64().unwrap(), v["ciUpper"].as_f64().unwrap());
    assert!((est - 0.05).abs() < 1e-9, "the shift is exactly +0.05 s: {v}");
    assert!(lo <= est && est <= hi && lo > 0.002, "the interval clears the 2 % margin: {v}");
    assert!(v["pValue"].as_f64().unwrap() < 1e-6, "{v}");

    // Kayenta's judge on the same queries.
    let a = args("slow", "kayenta");
    let a: Vec<&str> = a.iter().map(String::as_str).collect();
    let (code, json) = run(&file, &a, &[], &[]);
    assert_eq!(code, 1, "{json}");
    assert_eq!(verdict(&json)["classification"], "High", "{json}");
    assert!(verdict(&json).get("pValue").is_none(), "Kayenta computes no p-value: {json}");
    let a = args("canary", "kayenta");
    let a: Vec<&str> = a.iter().map(String::as_str).collect();
    let (code, json) = run(&file, &a, &[], &[]);
    assert_eq!((code, verdict(&json)["classification"].as_str()), (0, Some("Pass")), "{json}");
}

#[test]
fn compare_sequential_template_stops_a_slow_canary_and_passes_an_identical_one() {
    let prom = prometheus::shared();
    let file = template("canary-vs-baseline-sequential.yaml");
    let run_track = |track: &str, count: &str| {
        // From the first backfilled sample (the "canary start") to the last.
        let mut a: Vec<String> = latency_window(prom).into_iter().filter(|a| !a.starts_with("lookback=")).collect();
        let start = chrono::DateTime::from_timestamp(prom.end - 1800, 0).expect("time").to_rfc3339();
        a.push(format!("canary-start={start}"));
        a.extend([
            "service-name=checkout".into(),
            format!("canary-track={track}"),
            "interval=1s".into(),
            format!("count={count}"),
        ]);
        let a: Vec<&str> = a.iter().map(String::as_str).collect();
        run(&file, &a, &[], &[])
    };
    let (code, json) = run_track("slow", "3");
    assert_eq!((code, json["phase"].as_str()), (1, Some("Failed")), "failureLimit 0: the first High fails: {json}");
    assert_eq!(measurements(&json).len(), 1, "the run stops at the first conclusive measurement: {json}");
    let v = verdict(&json);
    assert_eq!((v["mode"].as_str(), v["classification"].as_str()), (Some("sequential"), Some("High")), "{v}");
    // With `serialDependence: auto` no decision comes before 30 pairs (the dependence gate);
    // a constant 50 ms shift is conclusive at the first allowed step.
    assert_eq!(v["decidedAt"], 30, "{v}");
    assert_eq!(v["steps"], 121, "{v}");

    // The identical canary: never High. Each look is either a conclusive Pass (which ends
    // the metric Successful at once, consecutiveSuccessLimit 1) or Continue (Inconclusive,
    // within inconclusiveLimit = count), so the run is Successful either way.
    let (code, json) = run_track("canary", "2");
    assert_eq!((code, json["phase"].as_str()), (0, Some("Successful")), "{json}");
    for m in measurements(&json) {
        let v: serde_json::Value = serde_json::from_str(m["value"].as_str().unwrap()).unwrap();
        match v["classification"].as_str() {
            Some("Pass") => assert_eq!(m["phase"], "Successful", "{json}"),
            Some("Continue") => assert_eq!(m["phase"], "Inconclusive", "{json}"),
            other => panic!("{other:?}: {v}"),
        }
    }
}

#[test]
fn compare_errors_are_error_measurements_and_bad_blocks_are_named() {
    let prom = prometheus::shared();
    let file = template("canary-vs-baseline.yaml");
    // The canary's Prometheus is unreachable: an Error measurement naming the side.
    let dead = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let text = std::fs::read_to_string(&file).unwrap();
    let text = text.replacen(
        "address: \"{{args.prometheus-address}}\"\n              query: latency_seconds{service=\"{{args.service-name}}\",track=\"{{args.canary-track}}\"}",
        &format!("address: http://127.0.0.1:{dead}\n              query: latency_seconds{{service=\"{{{{args.service-name}}}}\",track=\"{{{{args.canary-track}}}}\"}}"),
        1,
    );
    assert!(text.contains(&format!("127.0.0.1:{dead}")), "{text}");
    let broken = fail_fast("compare-dead-canary.yaml", &text);
    let mut a: Vec<String> = latency_window(prom).to_vec();
    a.push("service-name=checkout".into());
    let a: Vec<&str> = a.iter().map(String::as_str).collect();
    let (code, json) = run(&broken, &a, &[], &[]);
    assert_eq!(code, 3, "{json}");
    let m = &measurements(&json)[0];
    assert_eq!(m["phase"], "Error", "{json}");
    assert!(m["message"].as_str().unwrap().starts_with("canary: "), "{json}");

    // Bad blocks: one line that names the field, from `lint` and from `run`.
    let cases = [
        ("engine: \"{{args.engine}}\"", "engine: spearman", "augur/compare.engine: unknown engine \"spearman\""),
        ("direction: increase", "direction: upward", "augur/compare.direction: \"upward\" is not either"),
        (
            "direction: increase",
            "direction: increase\n          mode: eventually",
            "augur/compare.mode: unknown variant",
        ),
        ("engine: \"{{args.engine}}\"", "engine: kayenta\n          mode: sequential", "sequential needs engine augur"),
        (
            "              margin:\n                relative: 0.02",
            "              margin:\n                relative: 2",
            "relative margin must be below 1",
        ),
    ];
    for (from, to, expected) in cases {
        let text = std::fs::read_to_string(&file).unwrap().replacen(from, to, 1);
        let bad = fail_fast("compare-bad.yaml", &text);
        let (code, json) = run(&bad, &a, &[], &[]);
        assert_eq!(code, 3, "{to}: {json}");
        let message = measurements(&json)[0]["message"].as_str().unwrap().to_string();
        assert!(message.contains(expected), "{to}: {message}");
        assert!(!message.contains('\n'), "{message}");
    }
    // A job side, caught when the provider is built (before any Job would start).
    let text = std::fs::read_to_string(&file).unwrap().replacen(
        "          baseline:\n            prometheus:",
        "          baseline:\n            job:\n              command: [\"true\"]\n            prometheus:",
        1,
    );
    assert!(text.contains("command: [\"true\"]"), "{text}");
    let job = fail_fast("compare-job-side.yaml", &text);
    let (code, json) = run(&job, &a, &[], &[]);
    assert_eq!(code, 3, "{json}");
    let message = measurements(&json)[0]["message"].as_str().unwrap();
    assert!(message.contains("augur/compare.baseline: job decides a phase"), "{message}");
    // Sequential mode with sides of different lengths: an Error, not a judgement of misaligned pairs.
    let seq = std::fs::read_to_string(template("canary-vs-baseline-sequential.yaml")).unwrap();
    let seq = seq.replacen("step: 15s", "step: 30s", 1);
    let uneven = fail_fast("compare-uneven.yaml", &seq);
    let start = chrono::DateTime::from_timestamp(prom.end - 1800, 0).expect("time").to_rfc3339();
    let mut b: Vec<String> = latency_window(prom).to_vec();
    b.extend(["service-name=checkout".into(), format!("canary-start={start}"), "count=1".into()]);
    let b: Vec<&str> = b.iter().map(String::as_str).collect();
    let (code, json) = run(&uneven, &b, &[], &[]);
    assert_eq!(code, 3, "{json}");
    let message = measurements(&json)[0]["message"].as_str().unwrap();
    assert!(message.contains("sequential mode pairs steps by index"), "{message}");

    // A plugin augur does not implement.
    let text = std::fs::read_to_string(&file).unwrap().replace("augur/compare:", "acme/judge:");
    let other = fail_fast("compare-other-plugin.yaml", &text);
    let (code, json) = run(&other, &a, &[], &[]);
    assert_eq!(code, 3, "{json}");
    let message = measurements(&json)[0]["message"].as_str().unwrap();
    assert!(message.contains("metric plugin \"acme/judge\" is not supported by augur"), "{message}");
}
