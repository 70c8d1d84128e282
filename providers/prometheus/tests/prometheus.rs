//! The `prometheus` provider against a real Prometheus with backfilled data (exact values,
//! typing, formatting, warnings, basic auth, TLS), plus a recording fake for what a real
//! Prometheus cannot show (the request itself, OAuth2, the GET fallback).

mod support;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use augur_provider_api::{ErrorKind, MeasureContext, MetricProvider, Observation, Outcome, ProviderError, ResultValue};
use augur_provider_prometheus::PrometheusFactory;
use axum::Router;
use axum::body::Body;
use axum::extract::Request;
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Value, json};
use support::{NOW, PASSWORD, REMOTE_READ_WARNING, USER, ctx, guarded, plain};

fn build(config: &Value) -> Box<dyn MetricProvider> {
    PrometheusFactory.build_with_default_address(config, None).unwrap_or_else(|e| panic!("{config}: {e}"))
}

async fn measure_with(config: Value, ctx: &MeasureContext) -> Result<Outcome, ProviderError> {
    build(&config).measure(ctx).await
}

async fn observe(config: Value) -> Observation {
    match measure_with(config.clone(), &ctx()).await {
        Ok(Outcome::Observed(obs)) => obs,
        other => panic!("{config}: {other:?}"),
    }
}

async fn measure_err(config: Value) -> ProviderError {
    match measure_with(config.clone(), &ctx()).await {
        Err(e) => e,
        other => panic!("{config}: expected an error, got {other:?}"),
    }
}

/// An instant query against the plain instance.
fn instant(query: &str) -> Value {
    json!({"address": plain().url, "query": query})
}

/// A range query against the plain instance.
fn range(query: &str, start: &str, end: &str, step: &str) -> Value {
    json!({"address": plain().url, "query": query, "rangeQuery": {"start": start, "end": end, "step": step}})
}

/// Asserts the value string and the result (NaN equals NaN).
#[track_caller]
fn assert_result(obs: &Observation, value: &str, result: ResultValue) {
    assert_eq!(obs.value, value);
    let same = |a: f64, b: f64| a == b || (a.is_nan() && b.is_nan());
    let equal = match (&obs.result, &result) {
        (ResultValue::Float(a), ResultValue::Float(b)) => same(*a, *b),
        (ResultValue::Floats(a), ResultValue::Floats(b)) => {
            a.len() == b.len() && a.iter().zip(b).all(|(x, y)| same(*x, *y))
        }
        _ => false,
    };
    assert!(equal, "{:?} != {result:?}", obs.result);
}

// ---------------------------------------------------------------------------------------
// Instant queries: typing and formatting
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn scalar_is_a_float64() {
    let obs = observe(instant(r#"scalar(latency_seconds{version="canary"})"#)).await;
    assert_result(&obs, "0.25", ResultValue::Float(0.25));
    assert!(obs.metadata.is_empty(), "{:?}", obs.metadata);
}

#[tokio::test]
async fn vector_of_several_series_is_a_list() {
    let obs = observe(instant("sort(latency_seconds)")).await;
    assert_result(&obs, "[0.2,0.25]", ResultValue::Floats(vec![0.2, 0.25]));
    let obs = observe(instant(r#"queue_depth{pod=~"a|b"}"#)).await;
    assert_result(&obs, "[120,1120]", ResultValue::Floats(vec![120.0, 1120.0]));
}

#[tokio::test]
async fn empty_vector_is_an_empty_list_not_nil() {
    let obs = observe(instant(r#"latency_seconds{version="none"}"#)).await;
    assert_result(&obs, "[]", ResultValue::Floats(vec![]));
}

#[tokio::test]
async fn nan_and_infinities_are_formatted_as_argo_formats_them() {
    let cases = [
        (r#"special{kind="nan"}"#, "[NaN]", ResultValue::Floats(vec![f64::NAN])),
        (r#"special{kind="inf"}"#, "[+Inf]", ResultValue::Floats(vec![f64::INFINITY])),
        (r#"special{kind="neginf"}"#, "[-Inf]", ResultValue::Floats(vec![f64::NEG_INFINITY])),
        (r#"scalar(special{kind="nan"})"#, "NaN", ResultValue::Float(f64::NAN)),
        ("1/0", "+Inf", ResultValue::Float(f64::INFINITY)),
        ("-1/0", "-Inf", ResultValue::Float(f64::NEG_INFINITY)),
    ];
    for (query, value, result) in cases {
        let obs = observe(instant(query)).await;
        assert_result(&obs, value, result);
    }
}

#[tokio::test]
async fn magnitudes_never_use_exponents() {
    let obs = observe(instant(r#"magnitude{size="big"}"#)).await;
    assert_result(&obs, "[1000000000000000000000]", ResultValue::Floats(vec![1e21]));
    let obs = observe(instant(r#"magnitude{size="small"}"#)).await;
    assert_result(&obs, "[0.0000001]", ResultValue::Floats(vec![1e-7]));
}

#[tokio::test]
async fn instant_queries_are_evaluated_at_the_measurement_time() {
    let obs = observe(instant(r#"timestamp(queue_depth{pod="a"})"#)).await;
    assert_result(&obs, "[1700001800]", ResultValue::Floats(vec![NOW as f64]));
    let later = MeasureContext { now: ctx().now + Duration::from_secs(15), ..ctx() };
    match measure_with(instant(r#"queue_depth{pod="a"}"#), &later).await {
        Ok(Outcome::Observed(obs)) => assert_result(&obs, "[121]", ResultValue::Floats(vec![121.0])),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn canary_error_and_success_rates() {
    let rate = |version: &str| {
        format!(
            r#"sum(rate(http_requests_total{{version="{version}",code="500"}}[5m])) / sum(rate(http_requests_total{{version="{version}"}}[5m]))"#
        )
    };
    let obs = observe(instant(&rate("canary"))).await;
    assert_result(&obs, "[0.05]", ResultValue::Floats(vec![0.05]));
    let obs = observe(instant(&rate("baseline"))).await;
    assert_result(&obs, "[0.01]", ResultValue::Floats(vec![0.01]));
}

#[tokio::test]
async fn the_query_is_the_metric_metadata() {
    let provider = build(&instant("up"));
    assert_eq!(provider.metadata().get("ResolvedPrometheusQuery").map(String::as_str), Some("up"));
    assert!(build(&instant("")).metadata().is_empty());
}

#[tokio::test]
async fn address_default_is_used_when_the_block_has_none() {
    let config = json!({"query": r#"scalar(latency_seconds{version="baseline"})"#});
    let provider = PrometheusFactory.build_with_default_address(&config, Some(&plain().url)).expect("builds");
    match provider.measure(&ctx()).await {
        Ok(Outcome::Observed(obs)) => assert_result(&obs, "0.2", ResultValue::Float(0.2)),
        other => panic!("{other:?}"),
    }
}

// ---------------------------------------------------------------------------------------
// Range queries
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn range_query_flattens_every_series_in_order() {
    let obs = observe(range("queue_depth", r#"now() - duration("1m")"#, "now()", "30s")).await;
    let want = vec![116.0, 118.0, 120.0, 1116.0, 1118.0, 1120.0];
    assert_result(&obs, "[116,118,120,1116,1118,1120]", ResultValue::Floats(want));
}

#[tokio::test]
async fn range_query_with_absolute_dates() {
    let date = |hms: &str| format!(r#"date("2023-11-14 {hms}", "2006-01-02 15:04:05", "UTC")"#);
    let obs = observe(range(r#"queue_depth{pod="a"}"#, &date("22:42:50"), &date("22:43:20"), "15s")).await;
    assert_result(&obs, "[118,119,120]", ResultValue::Floats(vec![118.0, 119.0, 120.0]));
}

#[tokio::test]
async fn range_query_keeps_special_values() {
    let obs =
        observe(range(r#"special{kind="nan"} or special{kind="inf"}"#, r#"now() - duration("15s")"#, "now()", "15s"))
            .await;
    assert_eq!(obs.value, "[+Inf,+Inf,NaN,NaN]");
}

#[tokio::test]
async fn empty_range_is_an_empty_list() {
    let obs = observe(range(r#"queue_depth{pod="zzz"}"#, r#"now() - duration("5m")"#, "now()", "1m")).await;
    assert_result(&obs, "[]", ResultValue::Floats(vec![]));
}

#[tokio::test]
async fn range_expression_failures_are_argos_errors() {
    let err = measure_err(range("queue_depth", r#"now() - duration("??")"#, "now()", "1m")).await;
    assert_eq!(err.message(), r#"failed to parse rangeQuery.start as time: time: invalid duration "??""#);
    assert_eq!(err.kind(), ErrorKind::Config);
    let built = PrometheusFactory.build_with_default_address(&range("up", "now()", "now()", "??"), None);
    assert_eq!(
        built.expect_err("bad step").0,
        r#"failed to parse rangeQuery.step as duration: time: invalid duration "??""#
    );
}

// ---------------------------------------------------------------------------------------
// What Prometheus refuses
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn string_results_are_not_supported() {
    let err = measure_err(instant(r#""foo""#)).await;
    assert_eq!(err.message(), "Prometheus metric type not supported");
    assert!(!err.is_transient());
}

#[tokio::test]
async fn bad_promql_is_rejected_in_prometheus_words() {
    let err = measure_err(instant("sum(")).await;
    assert_eq!(err.message(), r#"bad_data: invalid parameter "query": 1:5: parse error: unclosed left parenthesis"#);
    assert_eq!(err.kind(), ErrorKind::Rejected);
    let err = measure_err(range("up", "now()", r#"now() - duration("1h")"#, "1m")).await;
    assert_eq!(err.message(), r#"bad_data: invalid parameter "end": end timestamp must not be before start time"#);
}

// ---------------------------------------------------------------------------------------
// The guarded instance: TLS, basic auth, warnings
// ---------------------------------------------------------------------------------------

fn guarded_config(query: &str, auth: Value, insecure: bool) -> Value {
    json!({"address": guarded().url, "query": query, "insecure": insecure, "authentication": auth})
}

#[tokio::test]
async fn basic_auth_over_tls_with_warnings_in_the_metadata() {
    let auth = json!({"basicAuth": {"username": USER, "password": PASSWORD}});
    let obs = observe(guarded_config(r#"scalar(latency_seconds{version="canary"})"#, auth, true)).await;
    assert_result(&obs, "0.25", ResultValue::Float(0.25));
    assert_eq!(obs.metadata.get("warnings").map(String::as_str), Some(format!("\"{REMOTE_READ_WARNING}\"").as_str()));
}

#[tokio::test]
async fn wrong_or_missing_credentials_are_auth_errors() {
    for auth in [json!({"basicAuth": {"username": USER, "password": "wrong"}}), json!(null)] {
        let err = measure_err(guarded_config("up", auth, true)).await;
        assert_eq!(err.kind(), ErrorKind::Auth, "{}", err.message());
        assert!(err.message().starts_with("client_error: client error: 401"), "{}", err.message());
        assert!(!err.message().contains("wrong"), "{}", err.message());
    }
}

#[tokio::test]
async fn tls_is_verified_unless_insecure() {
    let auth = json!({"basicAuth": {"username": USER, "password": PASSWORD}});
    let err = measure_err(guarded_config("up", auth, false)).await;
    assert_eq!(err.kind(), ErrorKind::Transport, "{}", err.message());
    assert!(err.message().starts_with("Post: "), "{}", err.message());
}

// ---------------------------------------------------------------------------------------
// The request itself, on a recording fake
// ---------------------------------------------------------------------------------------

#[derive(Debug, Clone)]
struct Recorded {
    method: String,
    path: String,
    query: String,
    headers: Vec<(String, String)>,
    body: String,
}

impl Recorded {
    fn header(&self, name: &str) -> Vec<&str> {
        self.headers.iter().filter(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str()).collect()
    }
}

struct Fake {
    url: String,
    requests: Arc<Mutex<Vec<Recorded>>>,
}

impl Fake {
    fn requests(&self) -> Vec<Recorded> {
        self.requests.lock().expect("lock").clone()
    }
}

const SCALAR_10: &str = r#"{"status":"success","data":{"resultType":"scalar","result":[1700001800,"10"]}}"#;

async fn fake(answer: impl Fn(&Recorded) -> (u16, &'static str) + Send + Sync + 'static) -> Fake {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let requests = Arc::new(Mutex::new(Vec::new()));
    let recorded = requests.clone();
    let answer = Arc::new(answer);
    let app = Router::new().fallback(move |request: Request| {
        let recorded = recorded.clone();
        let answer = answer.clone();
        async move {
            let (parts, body) = request.into_parts();
            let body = axum::body::to_bytes(body, 1 << 20).await.unwrap_or_default();
            let request = Recorded {
                method: parts.method.to_string(),
                path: parts.uri.path().to_string(),
                query: parts.uri.query().unwrap_or_default().to_string(),
                headers: parts
                    .headers
                    .iter()
                    .map(|(k, v)| (k.to_string(), String::from_utf8_lossy(v.as_bytes()).into_owned()))
                    .collect(),
                body: String::from_utf8_lossy(&body).into_owned(),
            };
            let (status, body) = answer(&request);
            recorded.lock().expect("lock").push(request);
            Response::builder()
                .status(StatusCode::from_u16(status).expect("status"))
                .header("content-type", "application/json")
                .body(Body::from(body))
                .expect("response")
        }
    });
    tokio::spawn(async move { axum::serve(listener, app).await.expect("serve") });
    Fake { url: format!("http://{addr}"), requests }
}

#[tokio::test]
async fn instant_queries_post_a_form_with_the_time_and_the_headers() {
    let server = fake(|_| (200, SCALAR_10)).await;
    let config = json!({
        "address": format!("{}/prom/", server.url),
        "query": "sum(up{job=\"a b\"})",
        "headers": [
            {"key": "X-Scope-OrgID", "value": "tenant-a"},
            {"key": "x-scope-orgid", "value": "tenant-b"},
            {"key": "X-Other", "value": "o"}
        ]
    });
    let obs = observe(config).await;
    assert_result(&obs, "10", ResultValue::Float(10.0));
    let requests = server.requests();
    assert_eq!(requests.len(), 1);
    let req = &requests[0];
    assert_eq!((req.method.as_str(), req.path.as_str()), ("POST", "/prom/api/v1/query"));
    assert_eq!(req.body, "query=sum%28up%7Bjob%3D%22a+b%22%7D%29&time=1700001800");
    assert_eq!(req.header("content-type"), ["application/x-www-form-urlencoded"]);
    assert_eq!(req.header("x-scope-orgid"), ["tenant-b"]);
    assert_eq!(req.header("x-other"), ["o"]);
}

#[tokio::test]
async fn range_queries_send_start_end_and_step() {
    let server = fake(|_| (200, r#"{"status":"success","data":{"resultType":"matrix","result":[]}}"#)).await;
    let config = json!({
        "address": server.url,
        "query": "up",
        "rangeQuery": {"start": "now() - duration(\"1m\")", "end": "now()", "step": "1m30s"}
    });
    let obs = observe(config).await;
    assert_result(&obs, "[]", ResultValue::Floats(vec![]));
    let req = &server.requests()[0];
    assert_eq!(req.path, "/api/v1/query_range");
    assert_eq!(req.body, "end=1700001800&query=up&start=1700001740&step=90");
}

#[tokio::test]
async fn method_not_allowed_falls_back_to_get() {
    let server = fake(|req| if req.method == "POST" { (405, "") } else { (200, SCALAR_10) }).await;
    let obs = observe(json!({"address": server.url, "query": "up", "headers": [{"key": "X-T", "value": "v"}]})).await;
    assert_eq!(obs.value, "10");
    let requests = server.requests();
    assert_eq!(requests.iter().map(|r| r.method.as_str()).collect::<Vec<_>>(), ["POST", "GET"]);
    assert_eq!(requests[1].query, "query=up&time=1700001800");
    assert_eq!(requests[1].header("x-t"), ["v"]);
}

#[tokio::test]
async fn oauth2_client_credentials_fetch_a_bearer_token_each_time() {
    let server = fake(|req| match req.path.as_str() {
        "/token"
            if req.body
                == "client_id=my-client&client_secret=s%26cret&grant_type=client_credentials&scope=read+write" =>
        {
            (200, r#"{"access_token":"tok-123","token_type":"bearer","expires_in":60}"#)
        }
        "/token" => (400, r#"{"error":"invalid_request"}"#),
        _ if req.header("authorization") == ["Bearer tok-123"] => (200, SCALAR_10),
        _ => (401, "no token"),
    })
    .await;
    let config = json!({
        "address": server.url,
        "query": "up",
        "headers": [{"key": "Authorization", "value": "Bearer hand-written"}],
        "authentication": {
            "oauth2": {"tokenUrl": format!("{}/token", server.url), "clientId": "my-client",
                       "clientSecret": "s&cret", "scopes": ["read", "write"]},
            "basicAuth": {"username": "ignored", "password": "ignored"}
        }
    });
    let provider = build(&config);
    for _ in 0..2 {
        match provider.measure(&ctx()).await {
            Ok(Outcome::Observed(obs)) => assert_eq!(obs.value, "10"),
            other => panic!("{other:?}"),
        }
    }
    let paths: Vec<String> = server.requests().iter().map(|r| r.path.clone()).collect();
    assert_eq!(paths, ["/token", "/api/v1/query", "/token", "/api/v1/query"]);
}

#[tokio::test]
async fn oauth2_rejection_is_an_auth_error_and_skips_the_query() {
    let server =
        fake(|req| if req.path == "/token" { (401, r#"{"error":"invalid_client"}"#) } else { (200, SCALAR_10) }).await;
    let err = measure_err(json!({
        "address": server.url,
        "query": "up",
        "authentication": {"oauth2": {"tokenUrl": format!("{}/token", server.url), "clientId": "id", "clientSecret": "topsecret"}}
    }))
    .await;
    assert_eq!(err.kind(), ErrorKind::Auth);
    assert_eq!(err.message(), r#"oauth2: cannot fetch token: 401 Unauthorized: Response: {"error":"invalid_client"}"#);
    assert_eq!(server.requests().len(), 1);
}

#[tokio::test]
async fn caller_deadline_is_a_timeout() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    // Accepts connections and never answers.
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((stream, _)) = listener.accept().await {
            held.push(stream);
        }
    });
    let ctx = MeasureContext { deadline: Some(Duration::from_millis(200)), ..ctx() };
    let started = std::time::Instant::now();
    let err = measure_with(json!({"address": format!("http://{addr}"), "query": "up"}), &ctx).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Timeout);
    assert!(started.elapsed() < Duration::from_secs(2), "{:?}", started.elapsed());
}
