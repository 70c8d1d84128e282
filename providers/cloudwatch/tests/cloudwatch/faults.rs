//! Every way the call can fail becomes a `ProviderError` of the right class with a
//! message the user can act on: a real auth failure from moto (which checks
//! credentials when told to), and loopback fault servers for throttling, 5xx, silence,
//! refused connections and unparseable bodies.

use std::time::Duration;

use augur_provider_api::ErrorKind;
use augur_provider_cloudwatch::ClientOptions;
use serde_json::json;

use crate::support::{
    Fault, FaultServer, T0, ctx, factory, factory_with, free_port, measure, measure_at, query_error, start_moto,
    stat_query,
};

fn config() -> serde_json::Value {
    json!({"metricDataQueries": [stat_query("m1", "canary", 60, "Average")]})
}

/// Options on `endpoint` with one attempt per call (no retry back-off in tests).
fn one_attempt(endpoint: &str) -> ClientOptions {
    ClientOptions { endpoint_url: Some(endpoint.to_string()), max_attempts: Some(1), ..ClientOptions::default() }
}

#[tokio::test]
async fn refused_credentials_are_an_auth_error() {
    // INITIAL_NO_AUTH_ACTION_COUNT=0 makes moto check every request's access key
    // against its IAM users; `testing` is not one.
    let moto = start_moto(&[("INITIAL_NO_AUTH_ACTION_COUNT", "0")]);
    let err = measure(&factory(&moto.endpoint), config(), T0 + 600).await.expect_err("refused");
    assert_eq!(err.kind(), ErrorKind::Auth, "{err}");
    assert!(!err.is_transient());
    assert_eq!(
        err.message(),
        "CloudWatch GetMetricData: HTTP 403 InvalidClientTokenId: The security token included in the request is \
         invalid. — check the AWS credentials (environment, profile, IRSA role) and that they allow \
         cloudwatch:GetMetricData"
    );
}

#[tokio::test]
async fn throttling_is_transient_and_retried() {
    let server = FaultServer::start(Fault::Respond(400, query_error("Throttling", "Rate exceeded"))).await;
    let options = ClientOptions { max_attempts: Some(2), ..one_attempt(&server.endpoint) };
    let err = measure(&factory_with(options), config(), T0 + 600).await.expect_err("throttled");
    assert_eq!(err.kind(), ErrorKind::Unavailable, "{err}");
    assert!(err.is_transient());
    assert_eq!(
        err.message(),
        "CloudWatch GetMetricData: HTTP 400 Throttling: Rate exceeded — CloudWatch is throttling requests, the \
         measurement is retried (request id req-1234)"
    );
    assert_eq!(server.requests(), 2, "the SDK retries a throttled call");
}

#[tokio::test]
async fn bad_request_carries_the_service_message() {
    let message = "The parameter StartTime must be less than the parameter EndTime.";
    let server = FaultServer::start(Fault::Respond(400, query_error("InvalidParameterValue", message))).await;
    let err = measure(&factory_with(one_attempt(&server.endpoint)), config(), T0 + 600).await.expect_err("400");
    assert_eq!(err.kind(), ErrorKind::Rejected, "{err}");
    assert_eq!(
        err.message(),
        format!("CloudWatch GetMetricData: HTTP 400 InvalidParameterValue: {message} (request id req-1234)")
    );
    assert_eq!(server.requests(), 1, "a bad request is not retried");
}

#[tokio::test]
async fn server_errors_are_transient() {
    let server = FaultServer::start(Fault::Respond(500, query_error("InternalServiceError", "boom"))).await;
    let err = measure(&factory_with(one_attempt(&server.endpoint)), config(), T0 + 600).await.expect_err("500");
    assert_eq!(err.kind(), ErrorKind::Unavailable, "{err}");
    assert!(err.message().starts_with("CloudWatch GetMetricData: HTTP 500 InternalServiceError: boom"), "{err}");

    // A 503 whose body is not an error document at all.
    let server = FaultServer::start(Fault::Respond(503, "<html>unavailable</html>".to_string())).await;
    let err = measure(&factory_with(one_attempt(&server.endpoint)), config(), T0 + 600).await.expect_err("503");
    assert_eq!(err.kind(), ErrorKind::Unavailable, "{err}");
    assert_eq!(err.message(), "CloudWatch GetMetricData: HTTP 503 error: <html>unavailable</html>");
}

#[tokio::test]
async fn unparseable_answers_are_malformed_never_successful() {
    let cases = [
        ("this is not xml", "unparseable response (HTTP 200): unhandled error: error parsing XML: no root element"),
        // Truncated: the SDK's XML reader accepts it, augur's sanity check does not.
        (
            "<GetMetricDataResponse><GetMetricDataResult><MetricDataResults><member>",
            "unparseable response: MetricDataResults[0] has no Id or StatusCode",
        ),
    ];
    for (body, expected) in cases {
        let server = FaultServer::start(Fault::Respond(200, body.to_string())).await;
        let res = measure(&factory_with(one_attempt(&server.endpoint)), config(), T0 + 600).await;
        let err = res.expect_err("an unparseable body is an error");
        assert_eq!(err.kind(), ErrorKind::Malformed, "{body}: {err}");
        assert_eq!(err.message(), format!("CloudWatch GetMetricData: {expected}"));
    }
}

#[tokio::test]
async fn a_silent_server_times_out() {
    let server = FaultServer::start(Fault::Silent).await;
    let options = ClientOptions { attempt_timeout: Some(Duration::from_millis(300)), ..one_attempt(&server.endpoint) };
    let started = std::time::Instant::now();
    let err = measure(&factory_with(options), config(), T0 + 600).await.expect_err("times out");
    assert_eq!(err.kind(), ErrorKind::Timeout, "{err}");
    assert!(err.is_transient());
    assert_eq!(err.message(), "CloudWatch GetMetricData: timed out (each attempt may take 300ms, the whole call 30s)");
    assert!(started.elapsed() < Duration::from_secs(5), "took {:?}", started.elapsed());
}

#[tokio::test]
async fn the_measurement_deadline_bounds_the_call() {
    let server = FaultServer::start(Fault::Silent).await;
    let mut at = ctx(T0 + 600);
    at.deadline = Some(Duration::from_millis(300));
    let err = measure_at(&factory(&server.endpoint), config(), &at).await.expect_err("deadline");
    assert_eq!(err.kind(), ErrorKind::Timeout, "{err}");
    assert_eq!(err.message(), "CloudWatch GetMetricData: measurement deadline of 300ms exceeded");
}

#[tokio::test]
async fn a_refused_connection_is_a_transport_error() {
    let endpoint = format!("http://127.0.0.1:{}", free_port());
    let err = measure(&factory_with(one_attempt(&endpoint)), config(), T0 + 600).await.expect_err("refused");
    assert_eq!(err.kind(), ErrorKind::Transport, "{err}");
    assert!(err.is_transient());
    assert!(err.message().starts_with("CloudWatch GetMetricData: cannot reach CloudWatch: "), "{err}");
}

#[tokio::test]
async fn an_invalid_endpoint_override_is_a_config_error() {
    let err = measure(&factory("localhost:4566"), config(), T0 + 600).await.expect_err("no scheme");
    assert_eq!(err.kind(), ErrorKind::Config, "{err}");
    assert_eq!(err.message(), "the endpoint override \"localhost:4566\" is not an absolute http:// or https:// URL");
}
