//! The HTTP/JSON API of a real server on 127.0.0.1:0, measuring a real HTTP server
//! through the web provider.

use std::time::Duration;

use serde_json::{Value, json};

use crate::support::{Augur, http_server, scratch_dir};

fn client() -> reqwest::Client {
    reqwest::Client::builder().timeout(Duration::from_secs(30)).build().expect("client")
}

async fn send(req: reqwest::RequestBuilder) -> (u16, reqwest::header::HeaderMap, Value) {
    let res = req.send().await.expect("request reaches the server");
    let status = res.status().as_u16();
    let headers = res.headers().clone();
    let text = res.text().await.expect("body");
    let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
    (status, headers, body)
}

fn spec(url: &str, path: &str, extra: &str) -> String {
    format!(
        "metrics:\n- name: rate\n  successCondition: result >= 0.99\n{extra}  provider:\n    web:\n      url: {url}{path}\n      jsonPath: \"{{$.rate}}\"\n"
    )
}

const TEMPLATE: &str = r#"
apiVersion: argoproj.io/v1alpha1
kind: AnalysisTemplate
metadata:
  name: success-rate
spec:
  args:
  - name: base
  - name: path
    value: /ok
  metrics:
  - name: rate
    interval: 50ms
    count: 3
    successCondition: result >= 0.99
    provider:
      web:
        url: "{{args.base}}{{args.path}}"
        jsonPath: "{$.rate}"
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_watch_verdict_from_a_stored_template() {
    let target = http_server();
    let augur = Augur::start(None).await;
    let c = client();
    let (code, _, t) = send(c.put(augur.url("/v1/templates/default/success-rate")).body(TEMPLATE)).await;
    assert_eq!(code, 200, "{t}");
    assert_eq!(t["version"], 1);

    let body = json!({"templates": [{"name": "success-rate"}], "args": {"base": target}});
    let (code, headers, run) = send(c.post(augur.url("/v1/runs")).json(&body)).await;
    assert_eq!(code, 202, "{run}");
    let id = run["id"].as_str().expect("id").to_string();
    assert_eq!(headers["location"], format!("/v1/runs/{id}").as_str());
    assert!(headers.contains_key("retry-after"));

    // Follow the server-sent events to the verdict.
    let mut res = c.get(augur.url(&format!("/v1/runs/{id}/events"))).send().await.expect("events");
    assert_eq!(res.headers()["content-type"], "text/event-stream");
    let mut text = String::new();
    while let Some(chunk) = res.chunk().await.expect("chunk") {
        text.push_str(&String::from_utf8_lossy(&chunk));
    }
    let events: Vec<Value> = text
        .split("\n\n")
        .filter_map(|e| e.lines().find_map(|l| l.strip_prefix("data:")))
        .map(|d| serde_json::from_str(d.trim()).expect("event data is a run"))
        .collect();
    let last = events.last().expect("at least one event");
    assert_eq!(last["phase"], "Successful", "{last}");
    assert_eq!(last["metricResults"][0]["count"], 3);
    assert_eq!(last["metricResults"][0]["successful"], 3);
    assert_eq!(last["metricResults"][0]["measurements"][2]["value"], "0.995");
    assert!(events.iter().filter(|e| e["phase"] == "Running").count() >= 1, "progress events: {text}");

    let (code, _, got) = send(c.get(augur.url(&format!("/v1/runs/{id}")))).await;
    assert_eq!(code, 200);
    assert_eq!(got["phase"], "Successful");
    assert_eq!(got["template"], "success-rate");
    assert_eq!(got["args"], json!([{"name": "base", "value": target}, {"name": "path", "value": "/ok"}]));
    assert!(got["createdAt"].as_str().is_some_and(|t| t.ends_with('Z')));
    augur.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wait_returns_the_verdict_inline_with_200() {
    let target = http_server();
    let augur = Augur::start(None).await;
    let c = client();
    let body = json!({"spec": spec(&target, "/bad", "")});
    let (code, headers, run) = send(c.post(augur.url("/v1/runs?wait=20s")).json(&body)).await;
    assert_eq!(code, 200, "{run}");
    assert!(!headers.contains_key("location"));
    assert_eq!(run["phase"], "Failed");
    assert_eq!(run["message"], "Metric \"rate\" assessed Failed due to failed (1) > failureLimit (0)");
    assert_eq!(run["template"], "inline");

    let (code, _, err) = send(c.post(augur.url("/v1/runs?wait=soon")).json(&body)).await;
    assert_eq!(code, 400);
    assert_eq!(err["error"]["field"], "wait");
    assert_eq!(err["error"]["message"], "wait: time: invalid duration \"soon\"");
    augur.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_key_makes_create_idempotent_and_conflicts_on_another_spec() {
    let target = http_server();
    let augur = Augur::start(None).await;
    let c = client();
    let slow = spec(&target, "/ok", "  interval: 1h\n");
    let body = json!({"spec": slow, "runKey": "deploy-42"});
    let (code, _, first) = send(c.post(augur.url("/v1/runs")).json(&body)).await;
    assert_eq!(code, 202, "{first}");
    let (code, headers, again) = send(c.post(augur.url("/v1/runs")).json(&body)).await;
    assert_eq!(code, 202, "{again}");
    assert_eq!(again["id"], first["id"]);
    assert_eq!(headers["x-augur-existing-run"], "true");

    let other = json!({"spec": spec(&target, "/bad", "  interval: 1h\n"), "runKey": "deploy-42"});
    let (code, _, err) = send(c.post(augur.url("/v1/runs")).json(&other)).await;
    assert_eq!(code, 409, "{err}");
    assert_eq!(err["error"]["reason"], "Conflict");
    assert!(err["error"]["message"].as_str().unwrap().contains("deploy-42"), "{err}");
    let (_, _, list) = send(c.get(augur.url("/v1/runs"))).await;
    assert_eq!(list["runs"].as_array().unwrap().len(), 1, "a conflicting create stores nothing: {list}");
    augur.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn terminate_ends_an_indefinite_run_successfully() {
    let target = http_server();
    let augur = Augur::start(None).await;
    let c = client();
    // No count: the metric runs until terminated (§2.6: indefinite metrics become Successful).
    let body = json!({"spec": spec(&target, "/ok", "  interval: 100ms\n")});
    let (_, _, run) = send(c.post(augur.url("/v1/runs")).json(&body)).await;
    let id = run["id"].as_str().unwrap().to_string();
    tokio::time::sleep(Duration::from_millis(350)).await;
    let (code, _, done) = send(c.post(augur.url(&format!("/v1/runs/{id}/terminate")))).await;
    assert_eq!(code, 200, "{done}");
    assert_eq!(done["phase"], "Successful", "{done}");
    assert_eq!(done["message"], "Run Terminated");
    let count = done["metricResults"][0]["count"].as_i64().unwrap();
    assert!(count >= 2, "measured until terminated: {done}");
    // Nothing more is measured after termination.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let (_, _, later) = send(c.get(augur.url(&format!("/v1/runs/{id}")))).await;
    assert_eq!(later["metricResults"][0]["count"].as_i64().unwrap(), count);

    let (code, _, err) = send(c.post(augur.url("/v1/runs/nope/terminate"))).await;
    assert_eq!(code, 404, "{err}");
    augur.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn template_crud_and_validation() {
    let augur = Augur::start(None).await;
    let c = client();
    let url = augur.url("/v1/templates/team-a/success-rate");
    let (code, _, t) = send(c.put(&url).body(TEMPLATE)).await;
    assert_eq!(code, 200, "{t}");
    assert_eq!(t["template"]["metadata"]["namespace"], "team-a");
    let (code, _, t2) = send(c.put(&url).body(TEMPLATE)).await;
    assert_eq!((code, t2["version"].as_i64()), (200, Some(2)));
    let (code, _, got) = send(c.get(&url)).await;
    assert_eq!(code, 200);
    assert_eq!(got["template"]["spec"]["metrics"][0]["name"], "rate");
    let (_, _, list) = send(c.get(augur.url("/v1/templates?namespace=team-a"))).await;
    assert_eq!(list["templates"].as_array().unwrap().len(), 1);
    let (_, _, list) = send(c.get(augur.url("/v1/templates/other"))).await;
    assert_eq!(list["templates"].as_array().unwrap().len(), 0);

    // Argo's validation, with the field path; what was stored is kept.
    let bad = TEMPLATE.replace("count: 3", "count: 3\n    failureLimit: 5");
    let (code, _, err) = send(c.put(&url).body(bad)).await;
    assert_eq!(code, 422, "{err}");
    assert_eq!(err["error"]["field"], "spec.metrics[0].count", "{err}");
    assert!(err["error"]["message"].as_str().unwrap().contains("failureLimit"), "{err}");
    let (code, _, kept) = send(c.get(&url)).await;
    assert_eq!((code, kept["version"].as_i64()), (200, Some(2)), "{kept}");
    // Malformed YAML is a 400 naming the body.
    let (code, _, err) = send(c.put(augur.url("/v1/templates/team-a/x")).body("metrics: [")).await;
    assert_eq!(code, 400, "{err}");
    assert_eq!(err["error"]["field"], "body");
    // A name in the document must match the path.
    let (code, _, err) = send(c.put(augur.url("/v1/templates/team-a/other-name")).body(TEMPLATE)).await;
    assert_eq!(code, 422, "{err}");
    assert_eq!(err["error"]["field"], "metadata.name");
    // Cluster templates live in `_cluster`.
    let cluster = TEMPLATE.replace("kind: AnalysisTemplate", "kind: ClusterAnalysisTemplate");
    let (code, _, err) = send(c.put(augur.url("/v1/templates/team-a/success-rate")).body(cluster.clone())).await;
    assert_eq!(code, 422, "{err}");
    let (code, _, t) = send(c.put(augur.url("/v1/templates/_cluster/success-rate")).body(cluster)).await;
    assert_eq!(code, 200, "{t}");
    assert_eq!(t["kind"], "ClusterAnalysisTemplate");

    let (code, _, _) = send(c.delete(&url)).await;
    assert_eq!(code, 204);
    let (code, _, err) = send(c.delete(&url)).await;
    assert_eq!(code, 404, "{err}");
    let (code, _, err) = send(c.get(&url)).await;
    assert_eq!(code, 404);
    assert_eq!(err["error"]["reason"], "NotFound");
    augur.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_mistakes_are_4xx_with_the_field() {
    let augur = Augur::start(None).await;
    let c = client();
    let cases: Vec<(Value, u16, &str, &str)> = vec![
        (
            json!({"templates": [{"name": "missing"}]}),
            422,
            "templates[0].name",
            "AnalysisTemplate \"missing\" not found",
        ),
        (json!({"spec": "metrics: ["}), 400, "spec", "malformed YAML"),
        (json!({"spec": "metrics:\n- name: m\n  provider: {nope: {}}\n"}), 422, "spec", "no provider specified"),
        (
            json!({"spec": "metrics:\n- name: m\n  interval: 5x\n  provider: {web: {url: 'http://x'}}\n"}),
            422,
            "spec",
            "invalid interval string",
        ),
        (
            json!({"spec": "args: [{name: a}]\nmetrics:\n- name: m\n  provider: {web: {url: 'http://x/{{args.a}}'}}\n"}),
            422,
            "args",
            "args.a was not resolved",
        ),
        (json!({"templats": []}), 400, "templats", "unknown field"),
        (json!({"templates": [{"name": 5}]}), 400, "templates[0].name", "invalid type"),
        (json!({}), 400, "templates", "give at least one template reference"),
        (json!({"spec": "metrics: []", "namespace": "Bad_NS"}), 400, "namespace", "not a valid name"),
    ];
    for (body, code, field, needle) in cases {
        let (got, _, err) = send(c.post(augur.url("/v1/runs")).json(&body)).await;
        assert_eq!(got, code, "{body} → {err}");
        assert_eq!(err["error"]["field"], field, "{body} → {err}");
        let message = err["error"]["message"].as_str().unwrap();
        assert!(message.contains(needle), "{body} → {message}");
        assert!(!message.contains('\n'), "one line: {message}");
    }
    let (code, _, _) = send(c.post(augur.url("/v1/runs")).body("{not json")).await;
    assert_eq!(code, 400);
    let (code, _, err) = send(c.post(augur.url("/v1/runs")).body(vec![b' '; 100 * 1024])).await;
    assert_eq!(code, 413, "{err}");
    let (code, _, err) = send(c.get(augur.url("/v1/runs/0000"))).await;
    assert_eq!(code, 404, "{err}");
    let (code, _, err) = send(c.get(augur.url("/v1/runs?phase=Done"))).await;
    assert_eq!(code, 400, "{err}");
    let (code, _, err) = send(c.get(augur.url("/v1/nothing-here"))).await;
    assert_eq!(code, 404, "{err}");
    let (_, _, list) = send(c.get(augur.url("/v1/runs"))).await;
    assert_eq!(list["runs"], json!([]), "no rejected request stored a run");
    augur.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn list_filters_by_phase_template_and_labels_with_pages() {
    let target = http_server();
    let augur = Augur::start(None).await;
    let c = client();
    let mut ids = Vec::new();
    for (i, path) in ["/ok", "/bad", "/ok"].iter().enumerate() {
        let body = json!({"spec": spec(&target, path, ""), "labels": {"app": "web", "n": i.to_string()}});
        let (code, _, run) = send(c.post(augur.url("/v1/runs?wait=20s")).json(&body)).await;
        assert_eq!(code, 200, "{run}");
        ids.push(run["id"].as_str().unwrap().to_string());
    }
    let ids_of = |v: &Value| -> Vec<String> {
        v["runs"].as_array().unwrap().iter().map(|r| r["id"].as_str().unwrap().to_string()).collect()
    };
    let (_, _, all) = send(c.get(augur.url("/v1/runs"))).await;
    assert_eq!(ids_of(&all), [ids[2].clone(), ids[1].clone(), ids[0].clone()], "newest first");
    let (_, _, failed) = send(c.get(augur.url("/v1/runs?phase=Failed"))).await;
    assert_eq!(ids_of(&failed), [ids[1].clone()]);
    let (_, _, labelled) = send(c.get(augur.url("/v1/runs?labelSelector=app%3Dweb,n%3D0"))).await;
    assert_eq!(ids_of(&labelled), [ids[0].clone()]);
    let (_, _, page1) = send(c.get(augur.url("/v1/runs?pageSize=2"))).await;
    assert_eq!(ids_of(&page1).len(), 2);
    let token = page1["nextPageToken"].as_str().expect("a next page");
    let (_, _, page2) = send(c.get(augur.url(&format!("/v1/runs?pageSize=2&pageToken={token}")))).await;
    assert_eq!(ids_of(&page2), [ids[0].clone()]);
    assert!(page2.get("nextPageToken").is_none());
    let (_, _, none) = send(c.get(augur.url("/v1/runs?template=success-rate"))).await;
    assert_eq!(ids_of(&none), Vec::<String>::new());

    let (_, _, metrics) = send(c.get(augur.url("/metrics"))).await;
    let text = metrics.as_str().unwrap();
    assert!(text.contains("augur_runs{phase=\"Successful\"} 2\n"), "{text}");
    assert!(text.contains("augur_runs{phase=\"Failed\"} 1\n"), "{text}");
    assert!(text.contains("augur_measurements_total{provider=\"web\",phase=\"Successful\"} 2\n"), "{text}");
    assert!(text.contains("augur_provider_latency_seconds_count{provider=\"web\"} 3\n"), "{text}");
    assert!(text.contains("augur_scheduler_lateness_seconds_count 3\n"), "{text}");
    augur.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restarted_server_resumes_runs_where_they_were() {
    let target = http_server();
    let dir = scratch_dir();
    let db = dir.join("augur.db");
    let c = client();
    let augur = Augur::start(Some(&db)).await;
    let body = json!({"spec": spec(&target, "/ok", "  interval: 400ms\n  count: 4\n"), "runKey": "resume-me"});
    let (_, _, run) = send(c.post(augur.url("/v1/runs")).json(&body)).await;
    let id = run["id"].as_str().unwrap().to_string();
    tokio::time::sleep(Duration::from_millis(500)).await;
    augur.stop().await;

    let augur = Augur::start(Some(&db)).await;
    let (_, _, before) = send(c.get(augur.url(&format!("/v1/runs/{id}")))).await;
    let counted = before["metricResults"][0]["count"].as_i64().unwrap_or(0);
    assert!((1..4).contains(&counted), "some but not all measurements before the restart: {before}");
    let (code, _, done) = send(c.post(augur.url("/v1/runs?wait=20s")).json(&body)).await;
    assert_eq!(code, 200, "{done}");
    assert_eq!(done["id"], id.as_str(), "the run key still names the same run");
    assert_eq!(done["phase"], "Successful");
    assert_eq!(done["metricResults"][0]["count"], 4, "exactly count measurements: {done}");
    assert_eq!(done["metricResults"][0]["measurements"].as_array().unwrap().len(), 4);
    augur.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_readiness_and_the_checked_in_openapi_document() {
    let augur = Augur::start(None).await;
    let c = client();
    let (code, _, _) = send(c.get(augur.url("/healthz"))).await;
    assert_eq!(code, 200);
    let (code, _, _) = send(c.get(augur.url("/readyz"))).await;
    assert_eq!(code, 200);
    let res = c.get(augur.url("/openapi.json")).send().await.unwrap();
    let served = res.text().await.unwrap();
    let doc: Value = serde_json::from_str(&served).unwrap();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    for path in [
        "/v1/runs",
        "/v1/runs/{id}",
        "/v1/runs/{id}/events",
        "/v1/runs/{id}/terminate",
        "/v1/templates/{namespace}/{name}",
        "/metrics",
    ] {
        assert!(doc["paths"].get(path).is_some(), "{path} documented");
    }
    let checked_in =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/openapi.json")).unwrap_or_default();
    assert!(
        checked_in == served,
        "docs/openapi.json is stale: regenerate it with `cargo run -q -- openapi > docs/openapi.json`"
    );
    augur.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn provider_concurrency_limit_and_measurement_timeout() {
    let target = http_server();
    // One web measurement at a time: two runs against a 300 ms endpoint take turns.
    let augur = Augur::start_with(None, |raw| {
        raw.provider_concurrency.insert("web".into(), 1);
    })
    .await;
    let c = client();
    let body = json!({"spec": spec(&target, "/slow", "")});
    let (a, b) = tokio::join!(
        send(c.post(augur.url("/v1/runs?wait=20s")).json(&body)),
        send(c.post(augur.url("/v1/runs?wait=20s")).json(&body))
    );
    let span = |run: &Value| {
        let m = &run["metricResults"][0]["measurements"][0];
        (m["startedAt"].as_str().unwrap().to_string(), m["finishedAt"].as_str().unwrap().to_string())
    };
    assert_eq!((a.0, a.2["phase"].as_str()), (200, Some("Successful")), "{}", a.2);
    assert_eq!((b.0, b.2["phase"].as_str()), (200, Some("Successful")), "{}", b.2);
    let parse = |t: &str| chrono::DateTime::parse_from_rfc3339(t).unwrap();
    let ((_, a_end), (_, b_end)) = (span(&a.2), span(&b.2));
    let (first_end, second_end) = if a_end < b_end { (a_end, b_end) } else { (b_end, a_end) };
    // The measurement includes the wait for its permit, so the second one ends at least
    // one full 300 ms response after the first.
    let gap = parse(&second_end) - parse(&first_end);
    assert!(gap.num_milliseconds() >= 250, "measurements overlapped: ends {first_end} and {second_end}");
    augur.stop().await;

    // A measurement that outlives measurement_timeout is an Error measurement, never a verdict.
    let augur = Augur::start_with(None, |raw| raw.measurement_timeout = Some("100ms".into())).await;
    let (code, _, run) = send(c.post(augur.url("/v1/runs?wait=20s")).json(&json!({
        "spec": spec(&target, "/slow", "  consecutiveErrorLimit: 0\n")
    })))
    .await;
    assert_eq!(code, 200, "{run}");
    assert_eq!(run["phase"], "Error", "{run}");
    // The provider enforces the deadline it is given; the scheduler's own timeout is the backstop.
    let message = run["metricResults"][0]["measurements"][0]["message"].as_str().unwrap();
    assert!(message.contains("100ms"), "{message}");
    augur.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn judge_endpoint_compares_canary_with_baseline() {
    let augur = Augur::start(None).await;
    let c = client();
    // Steps in time order, not sorted (a sorted series is a trend, which the default engine widens for).
    let baseline: Vec<f64> = [3, 7, 1, 9, 5, 10, 2, 8, 4, 6].map(f64::from).to_vec();
    let canary: Vec<f64> = baseline.iter().map(|v| v + 10.0).collect();
    let (code, _, v) =
        send(c.post(augur.url("/v1/judge")).json(&json!({"baseline": baseline, "canary": canary}))).await;
    assert_eq!(code, 200, "{v}");
    assert_eq!((v["engine"].as_str(), v["classification"].as_str()), (Some("augur"), Some("High")), "{v}");
    assert_eq!(v["estimate"], 10.0);
    let body = json!({"baseline": baseline, "canary": canary, "engine": "kayenta", "direction": "decrease"});
    let (code, _, v) = send(c.post(augur.url("/v1/judge")).json(&body)).await;
    assert_eq!((code, v["classification"].as_str()), (200, Some("Pass")), "{v}");
    let (code, _, err) =
        send(c.post(augur.url("/v1/judge")).json(&json!({"baseline": [1], "canary": [2], "engine": "r"}))).await;
    assert_eq!((code, err["error"]["field"].as_str()), (400, Some("engine")), "{err}");
    let (code, _, err) = send(c.post(augur.url("/v1/judge")).json(&json!({"baseline": [1], "canary": ["x"]}))).await;
    assert_eq!((code, err["error"]["field"].as_str()), (400, Some("canary[0]")), "{err}");
    augur.stop().await;
}

/// A Kayenta canary config over the backfilled latency gauges (support::prometheus): two
/// metrics in one group, one per Kayenta query form.
pub(crate) fn latency_canary_config() -> Value {
    json!({
        "name": "checkout latency",
        "judge": {"name": "NetflixACAJudge-v1.0", "judgeConfigurations": {}},
        "metrics": [
            {"name": "latency", "groups": ["latency"], "scopeName": "default",
             "query": {"type": "prometheus",
                       "customInlineTemplate": "PromQL:latency_seconds{service=\"checkout\",track=\"${scope}\"}"},
             "analysisConfigurations": {"canary": {"direction": "increase"}}},
            {"name": "latency by filter", "groups": ["latency"],
             "query": {"type": "prometheus", "metricName": "latency_seconds", "customFilterTemplate": "tpl"},
             "analysisConfigurations": {"canary": {"direction": "increase"}}}
        ],
        "templates": {"tpl": "service=\"${service}\",track=\"${scope}\""},
        "classifier": {"groupWeights": {"latency": 100}}
    })
}

pub(crate) fn latency_execution(prom: &crate::support::prometheus::Prometheus, experiment: &str) -> Value {
    let at = |t: i64| chrono::DateTime::from_timestamp(t, 0).expect("time").to_rfc3339();
    let scope = |s: &str| {
        json!({"scope": s, "location": "local", "start": at(prom.end - 1800), "end": at(prom.end), "step": 15,
               "extendedScopeParams": {"service": "checkout"}})
    };
    json!({
        "scopes": {"default": {"controlScope": scope("stable"), "experimentScope": scope(experiment)}},
        "thresholds": {"pass": 75, "marginal": 50}
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn canary_endpoint_executes_a_kayenta_canary_config_against_prometheus() {
    let prom = crate::support::prometheus::shared();
    let augur = Augur::start(None).await;
    let c = client();
    let request = |experiment: &str, engine: &str| {
        json!({"canaryConfig": latency_canary_config(), "executionRequest": latency_execution(prom, experiment),
               "engine": engine, "prometheus": {"address": prom.url}})
    };
    for engine in ["kayenta", "augur"] {
        // 50 ms slower at every one of the 121 steps: both metrics High, the group scores 0.
        let (code, _, v) = send(c.post(augur.url("/v1/canary")).json(&request("slow", engine))).await;
        assert_eq!(code, 200, "{v}");
        assert_eq!((v["complete"].as_bool(), v["status"].as_str()), (Some(true), Some("succeeded")), "{v}");
        let judge = &v["result"]["judgeResult"];
        assert_eq!(judge["score"]["score"], 0.0, "{engine}: {v}");
        assert_eq!(judge["score"]["classification"], "Fail", "{engine}: {v}");
        for r in judge["results"].as_array().unwrap() {
            assert_eq!(r["classification"], "High", "{engine}: {r}");
            assert_eq!(r["groups"], json!(["latency"]));
        }
        let pairs = v["metricSetPairList"].as_array().unwrap();
        assert_eq!(pairs.len(), 2);
        for p in pairs {
            assert_eq!(p["values"]["control"].as_array().unwrap().len(), 121, "every sample once: {p}");
            assert_eq!(p["values"]["experiment"].as_array().unwrap().len(), 121);
        }
        // The same values in another order: both Pass, score 100.
        let (code, _, v) = send(c.post(augur.url("/v1/canary")).json(&request("canary", engine))).await;
        assert_eq!(code, 200, "{v}");
        let judge = &v["result"]["judgeResult"];
        assert_eq!(
            (judge["score"]["score"].as_f64(), judge["score"]["classification"].as_str()),
            (Some(100.0), Some("Pass")),
            "{engine}: {v}"
        );
        let expected_judge = if engine == "kayenta" { "NetflixACAJudge-v1.0" } else { "augur" };
        assert_eq!(judge["judgeName"], expected_judge);
    }

    // A metric fetch failure is Kayenta's terminal execution, not a score.
    let dead = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let mut req = request("slow", "kayenta");
    req["prometheus"] = json!({"address": format!("http://127.0.0.1:{dead}")});
    let (code, _, v) = send(c.post(augur.url("/v1/canary")).json(&req)).await;
    assert_eq!(code, 200, "{v}");
    assert_eq!((v["complete"].as_bool(), v["status"].as_str()), (Some(true), Some("terminal")), "{v}");
    assert!(v["exception"]["message"].as_str().unwrap().starts_with("metric \"latency\": "), "{v}");
    assert!(v.get("result").is_none(), "{v}");

    // Invalid requests: 422 naming the field, before anything is fetched.
    let cases = [
        ("/canaryConfig/metrics/0/scopeName", json!("blue"), "canaryConfig.metrics[0].scopeName"),
        ("/canaryConfig/metrics/0/query/type", json!("datadog"), "canaryConfig.metrics[0].query.type"),
        ("/executionRequest/thresholds/marginal", json!(90), "executionRequest.thresholds"),
        (
            "/executionRequest/scopes/default/controlScope/start",
            json!("yesterday"),
            "executionRequest.scopes.default.controlScope.start",
        ),
        ("/engine", json!("spearman"), "engine"),
    ];
    for (pointer, value, field) in cases {
        let mut req = request("slow", "kayenta");
        *req.pointer_mut(pointer).unwrap_or_else(|| panic!("{pointer}")) = value;
        let (code, _, v) = send(c.post(augur.url("/v1/canary")).json(&req)).await;
        assert_eq!(code, 422, "{pointer}: {v}");
        assert_eq!(v["error"]["field"], field, "{v}");
        assert!(!v["error"]["message"].as_str().unwrap().contains('\n'), "{v}");
    }
    // The augur engine's options are checked before anything is fetched, and a misspelt key is named.
    let mut req = request("slow", "augur");
    req["canaryConfig"]["metrics"][1]["analysisConfigurations"]["canary"]["augur"] = json!({"alhpa": 0.1});
    let (code, _, v) = send(c.post(augur.url("/v1/canary")).json(&req)).await;
    assert_eq!(code, 422, "{v}");
    assert_eq!(v["error"]["field"], "canaryConfig.metrics[1].analysisConfigurations.canary", "{v}");
    assert!(v["error"]["message"].as_str().unwrap().contains("unknown field `alhpa`"), "{v}");
    // Duplicate names, and a query that does not tell the scopes apart.
    let mut req = request("slow", "kayenta");
    req["canaryConfig"]["metrics"][1]["name"] = json!("latency");
    let (code, _, v) = send(c.post(augur.url("/v1/canary")).json(&req)).await;
    assert_eq!((code, v["error"]["field"].as_str()), (422, Some("canaryConfig.metrics[1].name")), "{v}");
    let mut req = request("slow", "kayenta");
    req["canaryConfig"]["templates"]["tpl"] = json!("service=\"${service}\"");
    let (code, _, v) = send(c.post(augur.url("/v1/canary")).json(&req)).await;
    assert_eq!((code, v["error"]["field"].as_str()), (422, Some("canaryConfig.metrics[1].query")), "{v}");
    assert!(v["error"]["message"].as_str().unwrap().contains("same query"), "{v}");
    let (code, _, v) = send(c.post(augur.url("/v1/canary")).json(&json!({"canaryConfig": {}}))).await;
    assert_eq!(code, 400, "{v}");
    assert!(v["error"]["message"].as_str().unwrap().contains("executionRequest"), "{v}");
    augur.stop().await;
}
