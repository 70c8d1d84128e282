//! The shared conformance kit against the `cloudWatch` provider: the happy and empty
//! paths on moto, every failure mode on the kit's fake (whose bodies are not awsQuery
//! XML, so they also check that augur never mistakes a foreign answer for data).

use std::time::Duration;

use augur_provider_api::testkit::conformance::{
    self, BodyContract, Case, Expect, FakeResponse, Scenario, Source, Subject,
};
use augur_provider_api::{ProviderFactory, ResultValue};
use augur_provider_cloudwatch::{ClientOptions, result_schema};
use serde_json::json;

use crate::support::{T0, ctx, factory_with, load_fixture, rfc3339, start_moto, stat_query};

#[tokio::test]
async fn cloudwatch_passes_the_conformance_kit() {
    let moto = start_moto(&[]);
    load_fixture(&moto.endpoint).await;
    let timeout = Duration::from_secs(1);
    let subject = Subject {
        name: "cloudWatch".to_string(),
        build: Box::new(move |case, base| {
            let query = match case {
                Case::Happy | Case::Failure => stat_query("m1", "canary", 60, "Average"),
                Case::Empty => stat_query("m1", "nobody", 60, "Average"),
            };
            // One attempt bounded by the kit's timeout: the kit checks how one exchange is
            // classified. (With the SDK's retries, a 5xx answered three times with
            // back-off can outlast a 1 s budget and read as a timeout; retries are
            // checked in `faults::throttling_is_transient_and_retried`.)
            let options = ClientOptions {
                endpoint_url: Some(base.to_string()),
                attempt_timeout: Some(timeout),
                operation_timeout: Some(timeout),
                max_attempts: Some(1),
                ..ClientOptions::default()
            };
            factory_with(options).build(&json!({"metricDataQueries": [query]})).expect("valid block")
        }),
        ctx: ctx(T0 + 600),
        timeout,
        happy: Scenario {
            source: Source::Real(moto.endpoint.clone()),
            expect: Expect::Observed {
                result: ResultValue::Typed {
                    value: json!([{
                        "Id": "m1",
                        "Label": "ErrorRate Average",
                        "Messages": [],
                        "StatusCode": "Complete",
                        "Timestamps": (0..5).rev().map(|i| rfc3339(T0 + 300 + 60 * i)).collect::<Vec<_>>(),
                        "Values": [109.0, 108.0, 107.0, 106.0, 105.0],
                    }]),
                    schema: result_schema(),
                },
                value: "[[109 108 107 106 105]]".to_string(),
            },
        },
        empty: Scenario {
            source: Source::Real(moto.endpoint.clone()),
            expect: Expect::Observed {
                result: ResultValue::Typed {
                    value: json!([{
                        "Id": "m1",
                        "Label": "ErrorRate Average",
                        "Messages": [],
                        "StatusCode": "Complete",
                        "Timestamps": [],
                        "Values": [],
                    }]),
                    schema: result_schema(),
                },
                value: "[[]]".to_string(),
            },
        },
        extra_malformed: vec![
            // awsQuery-shaped but wrong: another operation's answer, a truncated
            // document, and results without Id/StatusCode.
            xml("<ListMetricsResponse><ListMetricsResult><Metrics/></ListMetricsResult></ListMetricsResponse>"),
            xml("<GetMetricDataResponse><GetMetricDataResult><MetricDataResults><member>"),
            xml("<GetMetricDataResponse><GetMetricDataResult><MetricDataResults><member><Values><member>1</member>\
                 </Values></member></MetricDataResults></GetMetricDataResult></GetMetricDataResponse>"),
        ],
        bodies: BodyContract::Structured,
    };
    conformance::check(&subject).await;
}

fn xml(body: &str) -> FakeResponse {
    FakeResponse { status: 200, content_type: "text/xml".to_string(), body: body.as_bytes().to_vec() }
}
