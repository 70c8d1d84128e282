//! The `datadog` provider against a local Datadog stand-in that answers with the
//! documented v1 and v2 response shapes (`tests/fixtures/`) and checks each request as
//! Datadog would: the values Argo would read, the requests Argo would send, and every
//! way an answer can fail.

mod support;

use std::sync::Arc;
use std::time::Duration;

use augur_provider_api::{
    BuildContext, ErrorKind, MeasureContext, MetricProvider, Observation, Outcome, ProviderError, ProviderFactory,
    ResultValue,
};
use augur_provider_datadog::{DatadogFactory, DdEnv};
use serde_json::{Value, json};
use support::{API_KEY, APP_KEY, FakeDatadog, NOW, Reply, Table, ctx, ctx_at, factory_for};

fn build(factory: &DatadogFactory, config: &Value) -> Box<dyn MetricProvider> {
    factory.build(config).unwrap_or_else(|e| panic!("{config}: {e}"))
}

async fn measure(fake: &FakeDatadog, config: Value) -> Result<Outcome, ProviderError> {
    build(&factory_for(&fake.url), &config).measure(&ctx()).await
}

#[track_caller]
fn observation(res: Result<Outcome, ProviderError>) -> Observation {
    match res {
        Ok(Outcome::Observed(obs)) => obs,
        other => panic!("expected an observation, got {other:?}"),
    }
}

#[track_caller]
fn error(res: Result<Outcome, ProviderError>) -> ProviderError {
    match res {
        Err(err) => err,
        other => panic!("expected an Error measurement, got {other:?}"),
    }
}

// ---------------------------------------------------------------------------------------
// v1
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn v1_reads_the_last_point_of_the_first_series_and_sends_argos_request() {
    let fake = FakeDatadog::always(Reply::fixture(200, "v1_query.json")).await;
    let query = "avg:system.cpu.idle{env:test} by {host}";
    let obs = observation(measure(&fake, json!({"query": query})).await);
    // The first series' last point (88.75), not the second series' (42), nor a null.
    assert_eq!(obs.result, ResultValue::Float(88.75));
    assert_eq!(obs.value, "88.75");
    assert!(obs.metadata.is_empty());

    let request = fake.only_request();
    assert_eq!((request.method.as_str(), request.path.as_str()), ("GET", "/api/v1/query"));
    // apiVersion and interval take the CRD defaults: v1, a 5m window ending now.
    let want = [("from", (NOW - 300).to_string()), ("query", query.to_string()), ("to", NOW.to_string())];
    assert_eq!(request.params, want.into_iter().map(|(k, v)| (k.to_string(), v)).collect());
    // Go's url.Values.Encode: sorted keys, QueryEscape.
    assert_eq!(
        request.raw_query.as_deref(),
        Some("from=1700001500&query=avg%3Asystem.cpu.idle%7Benv%3Atest%7D+by+%7Bhost%7D&to=1700001800")
    );
    assert_eq!(request.header("dd-api-key"), API_KEY);
    assert_eq!(request.header("dd-application-key"), APP_KEY);
    assert_eq!(request.header("content-type"), "application/json");
    assert!(request.body.is_empty());
}

#[tokio::test]
async fn the_window_comes_from_the_measurement_time_and_interval() {
    let fake = FakeDatadog::always(Reply::fixture(200, "v1_query.json")).await;
    let provider = build(&factory_for(&fake.url), &json!({"query": "q", "interval": "1h30m"}));
    observation(provider.measure(&ctx_at(1_000_000)).await);
    observation(provider.measure(&ctx_at(2_000_000)).await);
    let windows: Vec<(String, String)> =
        fake.requests().iter().map(|r| (r.params["from"].clone(), r.params["to"].clone())).collect();
    assert_eq!(
        windows,
        [("994600".to_string(), "1000000".to_string()), ("1994600".to_string(), "2000000".to_string())]
    );
}

#[tokio::test]
async fn v1_no_data_is_nil_so_default_applies() {
    let fake = FakeDatadog::always(Reply::fixture(200, "v1_query_empty.json")).await;
    let obs = observation(measure(&fake, json!({"query": "sum:trace.http.request.errors{service:checkout}"})).await);
    // `nil`, not 0 and not an empty list: `default(result, 0)` substitutes for exactly this.
    assert_eq!(obs.result, ResultValue::Nil);
    assert_ne!(obs.result, ResultValue::Floats(vec![]));
    assert_eq!(obs.value, "[]");
}

#[tokio::test]
async fn v1_a_null_last_point_is_an_error_not_zero() {
    let fake = FakeDatadog::always(Reply::fixture(200, "v1_query_null_last_point.json")).await;
    let err = error(measure(&fake, json!({"query": "avg:trace.http.request.duration{service:checkout}"})).await);
    assert_eq!(err.kind(), ErrorKind::NoData);
    assert!(err.message().contains("null at 1700001740000"), "{}", err.message());
    assert!(err.message().contains(".fill(zero)"), "{}", err.message());
}

#[tokio::test]
async fn v1_an_error_status_is_an_error() {
    let fake = FakeDatadog::always(Reply::fixture(200, "v1_query_status_error.json")).await;
    let err = error(measure(&fake, json!({"query": "avg:system.cpu.idle{"})).await);
    assert_eq!(err.kind(), ErrorKind::Rejected);
    assert!(err.message().starts_with("There were errors in your query: Error parsing query:"), "{}", err.message());
}

// ---------------------------------------------------------------------------------------
// v2
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn v2_single_query_is_a_scalar_request() {
    let fake = FakeDatadog::always(Reply::fixture(200, "v2_scalar.json")).await;
    let query = "sum:trace.http.request.errors{service:checkout}.as_count()";
    let obs = observation(measure(&fake, json!({"apiVersion": "v2", "query": query, "interval": "10m"})).await);
    assert_eq!((obs.result, obs.value.as_str()), (ResultValue::Float(0.0123), "0.0123"));

    let request = fake.only_request();
    assert_eq!((request.method.as_str(), request.path.as_str()), ("POST", "/api/v2/query/scalar"));
    assert_eq!(request.raw_query, None);
    assert_eq!(request.header("content-type"), "application/json");
    assert_eq!((request.header("dd-api-key"), request.header("dd-application-key")), (API_KEY.into(), APP_KEY.into()));
    assert_eq!(
        request.json(),
        json!({"data": {"attributes": {
            "from": (NOW - 600) * 1000,
            "to": NOW * 1000,
            "queries": [{"aggregator": "last", "data_source": "metrics", "name": "query", "query": query}],
            "formulas": []
        }, "type": "scalar_request"}})
    );
}

#[tokio::test]
async fn v2_queries_formula_and_aggregator() {
    let fake = FakeDatadog::always(Reply::fixture(200, "v2_scalar_formula.json")).await;
    let config = json!({
        "apiVersion": "v2",
        "queries": {
            "hits": "sum:trace.http.request.hits{service:checkout}.as_count()",
            "errors": "sum:trace.http.request.errors{service:checkout}.as_count()"
        },
        "formula": "errors / hits",
        "aggregator": "sum"
    });
    let obs = observation(measure(&fake, config).await);
    assert_eq!((obs.result, obs.value.as_str()), (ResultValue::Float(0.004), "0.004"));
    let body = fake.only_request().json();
    assert_eq!(
        body["data"]["attributes"]["queries"],
        json!([
            {"aggregator": "sum", "data_source": "metrics", "name": "errors",
             "query": "sum:trace.http.request.errors{service:checkout}.as_count()"},
            {"aggregator": "sum", "data_source": "metrics", "name": "hits",
             "query": "sum:trace.http.request.hits{service:checkout}.as_count()"}
        ])
    );
    assert_eq!(body["data"]["attributes"]["formulas"], json!([{"formula": "errors / hits"}]));
    assert_eq!(body["data"]["attributes"]["from"], json!((NOW - 300) * 1000));
}

#[tokio::test]
async fn v2_grouped_results_are_a_list_with_groups() {
    let fake = FakeDatadog::always(Reply::fixture(200, "v2_scalar_grouped.json")).await;
    let config = json!({
        "apiVersion": "v2",
        "queries": {"a": "sum:errors{*} by {version}", "b": "sum:hits{*} by {version}"},
        "formula": "a / b"
    });
    let obs = observation(measure(&fake, config).await);
    // The null (stable) is skipped together with its label.
    assert_eq!(obs.result, ResultValue::Floats(vec![0.05, 0.01]));
    assert_eq!(obs.value, "[0.05,0.01]");
    assert_eq!(obs.metadata["groups"], r#"[{"name":"canary","value":0.05},{"name":"baseline","value":0.01}]"#);
    assert!(!obs.metadata.contains_key("groups_truncated"));
}

#[tokio::test]
async fn v2_many_groups_are_capped_in_metadata_but_all_judged() {
    let n = 250;
    let tags: Vec<Value> = (0..n).map(|i| json!([format!("host:h{i:03}")])).collect();
    let values: Vec<Value> = (0..n).map(|i| json!(f64::from(i) / 1000.0)).collect();
    let body = json!({"data": {"attributes": {"columns": [
        {"name": "host", "type": "group", "values": tags},
        {"name": "query", "type": "number", "values": values}
    ]}, "type": "scalar_response"}});
    let fake = FakeDatadog::always(Reply::json(200, body.to_string())).await;
    let obs = observation(measure(&fake, json!({"apiVersion": "v2", "query": "avg:latency{*} by {host}"})).await);
    let ResultValue::Floats(all) = &obs.result else { panic!("{:?}", obs.result) };
    assert_eq!(all.len(), 250);
    assert_eq!(obs.metadata["groups_truncated"], "true");
    let groups: Vec<Value> = serde_json::from_str(&obs.metadata["groups"]).expect("groups JSON");
    assert_eq!(groups.len(), 100);
    assert_eq!(groups[0], json!({"name": "host:h000", "value": 0}));
    assert_eq!(groups[49], json!({"name": "host:h049", "value": 0.049}));
    assert_eq!(groups[50], json!({"name": "host:h200", "value": 0.2}));
    assert_eq!(groups[99], json!({"name": "host:h249", "value": 0.249}));
}

#[tokio::test]
async fn v2_no_data_is_nil() {
    let fake = FakeDatadog::always(Reply::fixture(200, "v2_scalar_empty.json")).await;
    let obs = observation(measure(&fake, json!({"apiVersion": "v2", "query": "sum:nothing{*}"})).await);
    assert_eq!((obs.result, obs.value.as_str()), (ResultValue::Nil, "[]"));
    // All-null values are no data too.
    let nulls = r#"{"data":{"attributes":{"columns":[{"name":"query","type":"number","values":[null,null]}]}}}"#;
    let fake = FakeDatadog::always(Reply::json(200, nulls)).await;
    let obs = observation(measure(&fake, json!({"apiVersion": "v2", "query": "sum:nothing{*}"})).await);
    assert_eq!((obs.result, obs.value.as_str()), (ResultValue::Nil, "[]"));
}

#[tokio::test]
async fn v2_errors_in_the_answer_are_errors() {
    let fake = FakeDatadog::always(Reply::fixture(200, "v2_scalar_errors.json")).await;
    let err = error(measure(&fake, json!({"apiVersion": "v2", "query": "avgg:x{*}"})).await);
    assert_eq!(err.kind(), ErrorKind::Rejected);
    assert_eq!(
        err.message(),
        "There were errors in your query: Error parsing query: unknown aggregation function 'avgg'"
    );
    let argo_shape = r#"{"data":{"attributes":{"columns":[]},"errors":"unknown metric"}}"#;
    let fake = FakeDatadog::always(Reply::json(200, argo_shape)).await;
    let err = error(measure(&fake, json!({"apiVersion": "v2", "query": "x"})).await);
    assert_eq!(err.message(), "There were errors in your query: unknown metric");
    let not_a_number = r#"{"data":{"attributes":{"columns":[{"name":"query","type":"number","values":[true]}]}}}"#;
    let fake = FakeDatadog::always(Reply::json(200, not_a_number)).await;
    let err = error(measure(&fake, json!({"apiVersion": "v2", "query": "x"})).await);
    assert_eq!(err.kind(), ErrorKind::Malformed);
    assert_eq!(
        err.message(),
        r#"could not parse numeric value "true" in column "query": json: cannot unmarshal bool into Go value of type float64"#
    );
}

// ---------------------------------------------------------------------------------------
// HTTP failures, with Datadog's documented error bodies
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn documented_error_answers_are_actionable_errors() {
    let auth_hint = "(check the API and application keys from DD_API_KEY and DD_APP_KEY: the application key \
                     needs the timeseries_query permission)";
    let cases = [
        (Reply::fixture(400, "error_400.json"), ErrorKind::Rejected, r#"received non 2xx response code: 400 { "errors": [ "Bad Request" ] }"#.to_string()),
        (
            Reply::fixture(401, "error_401.json"),
            ErrorKind::Auth,
            format!(r#"received authentication error response code: 401 {{ "errors": [ "Unauthorized" ] }} {auth_hint}"#),
        ),
        (
            Reply::fixture(403, "error_403.json"),
            ErrorKind::Auth,
            format!(r#"received authentication error response code: 403 {{ "errors": [ "Forbidden" ] }} {auth_hint}"#),
        ),
        (
            Reply::rate_limited(),
            ErrorKind::Unavailable,
            r#"received non 2xx response code: 429 { "errors": [ "Too many requests" ] } (Datadog rate limit: 100 requests per 10 s, resets in 7 s)"#.to_string(),
        ),
        (Reply::json(503, "upstream unavailable"), ErrorKind::Unavailable, "received non 2xx response code: 503 upstream unavailable".to_string()),
    ];
    for (reply, kind, message) in cases {
        for config in [json!({"query": "q"}), json!({"apiVersion": "v2", "query": "q"})] {
            let fake = FakeDatadog::always(reply.clone()).await;
            let err = error(measure(&fake, config.clone()).await);
            assert_eq!((err.kind(), err.message()), (kind, message.as_str()), "{config}");
            assert_eq!(err.is_transient(), matches!(kind, ErrorKind::Unavailable), "{config}: {}", err.message());
        }
    }
}

#[tokio::test]
async fn wrong_keys_are_refused_as_datadog_refuses_them() {
    let fake = FakeDatadog::start(|_| Reply::fixture(200, "v1_query.json")).await;
    let env = DdEnv::from_vars([
        ("DD_API_KEY".to_string(), "wrong-api-key".to_string()),
        ("DD_APP_KEY".to_string(), APP_KEY.to_string()),
        ("DD_ADDRESS".to_string(), fake.url.clone()),
    ]);
    let err = error(build(&DatadogFactory::new(env), &json!({"query": "q"})).measure(&ctx()).await);
    assert_eq!(err.kind(), ErrorKind::Auth);
    assert!(err.message().starts_with("received authentication error response code: 403"), "{}", err.message());
}

#[tokio::test]
async fn malformed_json_is_an_error_naming_the_problem() {
    for body in ["{\"series\": [", "<html><body>502 Bad Gateway</body></html>", "", "[]", r#"{"series": {}}"#] {
        let fake = FakeDatadog::always(Reply::json(200, body)).await;
        let err = error(measure(&fake, json!({"query": "q"})).await);
        assert_eq!(err.kind(), ErrorKind::Malformed, "{body}");
        assert!(err.message().starts_with("Could not parse JSON body: "), "{body}: {}", err.message());
    }
}

#[tokio::test]
async fn request_timeout_is_honoured_and_reported_like_argo() {
    let fake = FakeDatadog::always(Reply::fixture(200, "v2_scalar.json").after(Duration::from_millis(1500))).await;
    let slow = json!({"apiVersion": "v2", "query": "q", "requestTimeout": "200ms"});
    let started = std::time::Instant::now();
    let err = error(measure(&fake, slow).await);
    assert!(started.elapsed() < Duration::from_millis(1400), "took {:?}", started.elapsed());
    assert_eq!(err.kind(), ErrorKind::Timeout);
    assert!(
        err.message().starts_with("Datadog API request timed out after 200ms before receiving an HTTP response: "),
        "{}",
        err.message()
    );
    assert!(err.message().contains("Client.Timeout"), "{}", err.message());
    // A generous timeout against the same slow server succeeds (Argo's TestRequestTimeout).
    let generous = json!({"apiVersion": "v2", "query": "q", "requestTimeout": "5s"});
    assert_eq!(observation(measure(&fake, generous).await).result, ResultValue::Float(0.0123));
}

#[tokio::test]
async fn unreachable_datadog_is_a_transient_transport_error() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    drop(listener);
    let err = error(build(&factory_for(&url), &json!({"query": "q"})).measure(&ctx()).await);
    assert_eq!(err.kind(), ErrorKind::Transport);
    assert!(err.is_transient());
    assert!(
        err.message().starts_with("Datadog API request failed before receiving an HTTP response: Get: "),
        "{}",
        err.message()
    );
    assert!(!err.message().contains(&url), "no URL in messages: {}", err.message());
}

#[tokio::test]
async fn the_callers_deadline_bounds_the_measurement() {
    let fake = FakeDatadog::always(Reply::fixture(200, "v1_query.json").after(Duration::from_secs(3))).await;
    let provider = build(&factory_for(&fake.url), &json!({"query": "q"}));
    let ctx = MeasureContext { deadline: Some(Duration::from_millis(100)), ..ctx() };
    let err = error(provider.measure(&ctx).await);
    assert_eq!(err.kind(), ErrorKind::Timeout);
}

// ---------------------------------------------------------------------------------------
// Credentials
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn the_datadog_secret_from_the_engine_is_the_fallback() {
    let fake = FakeDatadog::always(Reply::fixture(200, "v1_query.json")).await;
    let secrets = Table::new(&[
        ("datadog", "api-key", API_KEY),
        ("datadog", "app-key", APP_KEY),
        ("datadog", "address", &fake.url),
    ]);
    let ctx_with = BuildContext { secrets: Some(Arc::new(secrets)) };
    // No DD_* environment at all.
    let provider =
        DatadogFactory::new(DdEnv::default()).build_with_context(&json!({"query": "q"}), &ctx_with).expect("builds");
    assert_eq!(observation(provider.measure(&ctx()).await).result, ResultValue::Float(88.75));
    assert_eq!(fake.only_request().header("dd-api-key"), API_KEY);
}

#[tokio::test]
async fn a_secret_ref_is_read_instead_of_the_environment() {
    let fake = FakeDatadog::always(Reply::fixture(200, "v2_scalar.json")).await;
    let secrets = Table::new(&[
        ("dd-prod", "api-key", API_KEY),
        ("dd-prod", "app-key", APP_KEY),
        ("dd-prod", "address", &fake.url),
    ]);
    let ctx_with = BuildContext { secrets: Some(Arc::new(secrets)) };
    // The environment points elsewhere with wrong keys; secretRef wins, as in Argo.
    let env = DdEnv::from_vars([
        ("DD_API_KEY".to_string(), "env-api".to_string()),
        ("DD_APP_KEY".to_string(), "env-app".to_string()),
        ("DD_ADDRESS".to_string(), "http://127.0.0.1:1".to_string()),
    ]);
    let config = json!({"apiVersion": "v2", "query": "q", "secretRef": {"name": "dd-prod", "namespaced": true}});
    let provider = DatadogFactory::new(env.clone()).build_with_context(&config, &ctx_with).expect("builds");
    assert_eq!(observation(provider.measure(&ctx()).await).result, ResultValue::Float(0.0123));
    // A secretRef whose secret is missing does not fall back to the environment.
    let config = json!({"query": "q", "secretRef": {"name": "dd-staging"}});
    let provider = DatadogFactory::new(env).build_with_context(&config, &ctx_with).expect("builds");
    let err = error(provider.measure(&ctx()).await);
    assert_eq!(err.kind(), ErrorKind::Config);
    assert_eq!(
        err.message(),
        "failed to find the credentials for datadog metrics provider: secret \"dd-staging\" needs the keys api-key \
         and app-key (secrets \"dd-staging\" not found)"
    );
}

#[tokio::test]
async fn missing_credentials_say_what_to_set_at_measurement_time() {
    // Building needs no credentials (so `augur lint` works anywhere); measuring does.
    let provider = DatadogFactory::new(DdEnv::default()).build(&json!({"query": "q"})).expect("builds");
    let err = error(provider.measure(&ctx()).await);
    assert_eq!(err.kind(), ErrorKind::Config);
    assert!(!err.is_transient());
    assert_eq!(
        err.message(),
        "failed to find the credentials for datadog metrics provider: set DD_API_KEY, DD_APP_KEY and DD_ADDRESS \
         (or DD_SITE), or give the secret \"datadog\" the keys api-key and app-key (secrets \"datadog\" not found)"
    );
}

#[tokio::test]
async fn keys_never_reach_messages_or_debug_output() {
    // A proxy that echoes the request's headers in its error body.
    let fake = FakeDatadog::start(|request| {
        Reply::json(
            400,
            format!(
                "bad request; headers were {} / {}",
                request.header("dd-api-key"),
                request.header("dd-application-key")
            ),
        )
    })
    .await;
    let factory = factory_for(&fake.url);
    let provider = build(&factory, &json!({"query": "q"}));
    let err = error(provider.measure(&ctx()).await);
    assert_eq!(err.message(), "received non 2xx response code: 400 bad request; headers were ***** / *****");
    for shown in [format!("{provider:?}"), format!("{factory:?}"), format!("{err:?}")] {
        assert!(!shown.contains(API_KEY) && !shown.contains(APP_KEY), "{shown}");
    }
    assert!(format!("{provider:?}").contains("*****"));
}
