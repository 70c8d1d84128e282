//! Queries against moto's CloudWatch server: exact values, the result shape Argo's
//! conditions see (`result[0].Values[0]`, `.Label`, `.Timestamps`), the window, several
//! queries, and CloudWatch validation errors with the service's message.

use augur_provider_api::{ErrorKind, ResultValue};
use augur_provider_cloudwatch::result_schema;
use serde_json::{Value, json};

use crate::support::{T0, factory, load_fixture, measure, rfc3339, start_moto, stat_query};

/// The typed JSON of a result, after checking its Go type.
#[track_caller]
fn typed(result: &ResultValue) -> &Value {
    match result {
        ResultValue::Typed { value, schema } => {
            assert_eq!(schema, &result_schema(), "the result is typed as Go's []types.MetricDataResult");
            value
        }
        other => panic!("expected a typed []MetricDataResult, got {other:?}"),
    }
}

#[tokio::test]
async fn metric_stat_values_and_the_argo_result_shape() {
    let moto = start_moto(&[]);
    load_fixture(&moto.endpoint).await;
    let cw = factory(&moto.endpoint);

    // Default interval 5m: the window is [T0+300, T0+600), newest point first.
    let obs = measure(&cw, json!({"metricDataQueries": [stat_query("m1", "canary", 60, "Average")]}), T0 + 600)
        .await
        .expect("measures");
    assert_eq!(obs.value, "[[109 108 107 106 105]]");
    assert!(obs.metadata.is_empty(), "{:?}", obs.metadata);
    let result = typed(&obs.result);
    assert_eq!(
        result,
        &json!([{
            "Id": "m1",
            "Label": "ErrorRate Average",
            "Messages": [],
            "StatusCode": "Complete",
            "Timestamps": [rfc3339(T0 + 540), rfc3339(T0 + 480), rfc3339(T0 + 420), rfc3339(T0 + 360), rfc3339(T0 + 300)],
            "Values": [109.0, 108.0, 107.0, 106.0, 105.0],
        }])
    );
    // What `result[0].Values[0]`, `result[0].Label` and `result[0].Timestamps[0]` read.
    assert_eq!(result[0]["Values"][0], json!(109.0));
    assert_eq!(result[0]["Label"], json!("ErrorRate Average"));
    assert_eq!(result[0]["Timestamps"][0], json!("2023-11-14T22:22:20Z"));
}

#[tokio::test]
async fn interval_sets_the_query_window() {
    let moto = start_moto(&[]);
    load_fixture(&moto.endpoint).await;
    let cw = factory(&moto.endpoint);
    let query = |interval: &str| json!({"interval": interval, "metricDataQueries": [stat_query("m1", "canary", 60, "Maximum")]});
    let values = |obs: augur_provider_api::Observation| obs.value;
    assert_eq!(values(measure(&cw, query("2m"), T0 + 600).await.expect("2m")), "[[109 108]]");
    assert_eq!(
        values(measure(&cw, query("10m"), T0 + 600).await.expect("10m")),
        "[[109 108 107 106 105 104 103 102 101 100]]"
    );
    // `now` moves the window: the engine's time, not the clock.
    assert_eq!(values(measure(&cw, query("3m"), T0 + 180).await.expect("3m")), "[[102 101 100]]");
    // A window with no points: an empty `Values`, not a missing result.
    let obs = measure(&cw, query("5m"), T0 + 86_400).await.expect("empty window");
    assert_eq!(obs.value, "[[]]");
    assert_eq!(typed(&obs.result)[0]["Values"], json!([]));
}

#[tokio::test]
async fn several_queries_dimensions_labels_periods_and_return_data() {
    let moto = start_moto(&[]);
    load_fixture(&moto.endpoint).await;
    let cw = factory(&moto.endpoint);
    let mut hidden = stat_query("canary", "canary", 120, "Sum");
    hidden["returnData"] = json!(false);
    let mut stable = stat_query("stable", "stable", 120, "Sum");
    stable["label"] = json!("stable errors");
    let config = json!({
        "interval": "10m",
        "metricDataQueries": [
            hidden,
            stable,
            {"id": "sum2m", "metricStat": {
                "metric": {"namespace": "Demo", "metricName": "ErrorRate", "dimensions": [{"name": "Service", "value": "canary"}]},
                "period": "120", "stat": "Sum", "unit": "Count"}},
        ]
    });
    let obs = measure(&cw, config, T0 + 600).await.expect("measures");
    // Buckets of 120 s from T0: canary sums 201, 205, …, 217; stable 3, 7, …, 19.
    assert_eq!(obs.value, "[[19 15 11 7 3] [217 213 209 205 201]]");
    let result = typed(&obs.result);
    let ids: Vec<&Value> = result.as_array().expect("a list").iter().map(|r| &r["Id"]).collect();
    assert_eq!(ids, [&json!("stable"), &json!("sum2m")], "returnData: false hides a query");
    assert_eq!(result[0]["Label"], json!("stable errors"));
    assert_eq!(result[1]["Timestamps"][4], json!(rfc3339(T0)));
}

#[tokio::test]
async fn expressions_are_sent_and_their_results_returned() {
    let moto = start_moto(&[]);
    load_fixture(&moto.endpoint).await;
    let cw = factory(&moto.endpoint);
    let mut m1 = stat_query("m1", "canary", 60, "Average");
    m1["returnData"] = json!(false);
    let config =
        json!({"metricDataQueries": [m1, {"id": "e1", "expression": "m1 * 2", "label": "doubled", "period": 60}]});
    let obs = measure(&cw, config, T0 + 600).await.expect("measures");
    // moto evaluates no metric math: the expression's result comes back empty.
    assert_eq!(obs.value, "[[]]");
    assert_eq!(typed(&obs.result)[0]["Id"], json!("e1"));
    assert_eq!(typed(&obs.result)[0]["Label"], json!("doubled"));
}

#[tokio::test]
async fn validation_errors_carry_the_service_message() {
    let moto = start_moto(&[]);
    let cw = factory(&moto.endpoint);
    let query = json!([stat_query("m1", "canary", 60, "Average")]);

    // interval 0s: StartTime == EndTime, which CloudWatch refuses.
    let err = measure(&cw, json!({"interval": "0s", "metricDataQueries": query}), T0 + 600).await.expect_err("0s");
    assert_eq!(err.kind(), ErrorKind::Rejected, "{err}");
    assert!(!err.is_transient());
    assert!(
        err.message().starts_with(
            "CloudWatch GetMetricData: HTTP 400 ValidationError: The parameter StartTime must not equal parameter EndTime."
        ),
        "{err}"
    );

    // A negative interval puts StartTime after EndTime (Go's time.ParseDuration allows it).
    let err = measure(&cw, json!({"interval": "-5m", "metricDataQueries": query}), T0 + 600).await.expect_err("-5m");
    assert_eq!(err.kind(), ErrorKind::Rejected, "{err}");
    assert!(err.message().contains("The parameter EndTime must be greater than StartTime."), "{err}");

    // A query with neither metricStat nor expression.
    let err = measure(&cw, json!({"metricDataQueries": [{"id": "m1"}]}), T0 + 600).await.expect_err("no stat");
    assert_eq!(err.kind(), ErrorKind::Rejected, "{err}");
    assert!(err.message().contains("MetricDataQueries.member.1.MetricStat is required"), "{err}");
}
