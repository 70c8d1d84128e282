//! Every message a `provider.datadog` block can be refused with: Argo's
//! `validateIncomingProps` and `findCredentials` word for word, the CRD's enums as the
//! API server words them, and Go's duration errors. A refused block is an Error
//! measurement on every attempt, as in Argo (the engine records the build error).

use augur_provider_api::ProviderFactory;
use augur_provider_datadog::{DatadogFactory, DdEnv};
use serde_json::{Value, json};

#[track_caller]
fn check(config: Value, message: &str) {
    match DatadogFactory::new(DdEnv::default()).build(&config) {
        Ok(provider) => panic!("{config} built: {provider:?}"),
        Err(err) => assert_eq!(err.0, message, "{config}"),
    }
}

#[track_caller]
fn builds(config: Value) {
    if let Err(err) = DatadogFactory::new(DdEnv::default()).build(&config) {
        panic!("{config}: {err}");
    }
}

#[test]
fn argos_validation_messages() {
    let queries = json!({"a": "sum:api_gateway.request.count{*}.as_count()"});
    // The cases of Argo's TestValidateIncomingProps, in its order.
    check(
        json!({"apiVersion": "v1", "query": ""}),
        "Must have either a query or queries. Please review the Analysis Template.",
    );
    check(json!({}), "Must have either a query or queries. Please review the Analysis Template.");
    check(json!(null), "Must have either a query or queries. Please review the Analysis Template.");
    check(
        json!({"apiVersion": "v1", "query": "foo", "queries": queries}),
        "Cannot have both a query and queries. Please review the Analysis Template.",
    );
    check(
        json!({"apiVersion": "v1", "queries": queries}),
        "Query is empty. API Version v1 only supports using the query parameter in your Analysis Template.",
    );
    check(
        json!({"apiVersion": "v1", "queries": queries, "formula": "a"}),
        "Query is empty. API Version v1 only supports using the query parameter in your Analysis Template.",
    );
    // apiVersion defaults to v1, so `queries` alone is refused the same way.
    check(
        json!({"queries": queries}),
        "Query is empty. API Version v1 only supports using the query parameter in your Analysis Template.",
    );
    check(
        json!({"apiVersion": "v1", "formula": "foo / bar", "query": "foo"}),
        "Formula are only valid when queries are set. Please review the Analysis Template.",
    );
    check(
        json!({"apiVersion": "v2", "formula": "foo / bar", "query": "foo"}),
        "Formula are only valid when queries are set. Please review the Analysis Template.",
    );
    check(
        json!({"apiVersion": "v2", "queries": {"a": "q1", "b": "q2"}}),
        "When multiple queries are provided you must include a formula.",
    );
    check(
        json!({"apiVersion": "v1", "query": "foo", "aggregator": "sum"}),
        "Aggregator is not supported in v1. Please review the Analysis Template.",
    );
    check(
        json!({"query": "foo", "aggregator": "avg"}),
        "Aggregator is not supported in v1. Please review the Analysis Template.",
    );
}

#[test]
fn request_timeout_messages() {
    check(
        json!({"query": "q", "requestTimeout": "soon"}),
        "Could not parse the request timeout: time: invalid duration \"soon\". Please review the Analysis Template.",
    );
    check(
        json!({"query": "q", "requestTimeout": "10"}),
        "Could not parse the request timeout: time: missing unit in duration \"10\". Please review the Analysis \
         Template.",
    );
    for zero_or_less in ["0s", "0", "-5s"] {
        check(
            json!({"query": "q", "requestTimeout": zero_or_less}),
            "Request timeout must be a positive duration (e.g. 30s). Please review the Analysis Template.",
        );
    }
    builds(json!({"query": "q", "requestTimeout": "30s"}));
    builds(json!({"query": "q", "requestTimeout": ""}));
}

#[test]
fn interval_is_a_go_duration() {
    check(json!({"query": "q", "interval": "5x"}), "time: unknown unit \"x\" in duration \"5x\"");
    // An explicit empty interval is not the CRD default: Go fails to parse it.
    check(json!({"query": "q", "interval": ""}), "time: invalid duration \"\"");
    builds(json!({"query": "q", "interval": "1h30m"}));
    builds(json!({"query": "q", "interval": null}));
}

#[test]
fn crd_enums_are_checked_as_the_api_server_checks_them() {
    check(
        json!({"query": "q", "apiVersion": "v3"}),
        "apiVersion: Unsupported value: \"v3\": supported values: \"v1\", \"v2\"",
    );
    check(
        json!({"query": "q", "apiVersion": ""}),
        "apiVersion: Unsupported value: \"\": supported values: \"v1\", \"v2\"",
    );
    check(
        json!({"apiVersion": "v2", "query": "q", "aggregator": "median"}),
        "aggregator: Unsupported value: \"median\": supported values: \"avg\", \"min\", \"max\", \"sum\", \"last\", \
         \"percentile\", \"mean\", \"l2norm\", \"area\"",
    );
    for aggregator in ["avg", "min", "max", "sum", "last", "percentile", "mean", "l2norm", "area"] {
        builds(json!({"apiVersion": "v2", "query": "q", "aggregator": aggregator}));
    }
    builds(json!({"apiVersion": "v2", "query": "q", "aggregator": null}));
}

#[test]
fn namespaced_credentials_need_a_name() {
    check(
        json!({"query": "q", "secretRef": {"namespaced": true}}),
        "secret name is required for namespaced credentials",
    );
    builds(json!({"query": "q", "secretRef": {"name": "dd", "namespaced": true}}));
    builds(json!({"query": "q", "secretRef": {"name": "dd"}}));
}

#[test]
fn type_errors_name_the_field() {
    let err = DatadogFactory::new(DdEnv::default()).build(&json!({"query": 5})).expect_err("query: 5");
    assert!(err.0.starts_with("query: invalid type: integer `5`, expected a string"), "{}", err.0);
    let err = DatadogFactory::new(DdEnv::default())
        .build(&json!({"apiVersion": "v2", "queries": ["a"]}))
        .expect_err("queries: [a]");
    assert!(err.0.starts_with("queries: invalid type: sequence, expected a map"), "{}", err.0);
    let err = DatadogFactory::new(DdEnv::default()).build(&json!("query")).expect_err("a string block");
    assert!(err.0.starts_with("datadog: invalid type: string"), "{}", err.0);
    // Unknown fields are pruned, as the CRD prunes them.
    builds(json!({"query": "q", "timeout": 30, "address": "http://x"}));
}
