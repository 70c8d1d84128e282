//! The shared conformance kit against the `datadog` provider, for each API version: the
//! happy and empty paths answered with Datadog's documented shapes (no Datadog server
//! exists offline), every failure mode from the kit's fake.

mod support;

use std::time::Duration;

use augur_provider_api::testkit::conformance::{
    self, BodyContract, Case, Expect, FakeResponse, Scenario, Source, Subject,
};
use augur_provider_api::{ProviderFactory, ResultValue};
use augur_provider_datadog::ApiVersion;
use serde_json::json;
use support::{ctx, factory_for, fixture};

fn subject(version: ApiVersion) -> Subject {
    let (name, api_version, happy, happy_result, happy_value, empty) = match version {
        ApiVersion::V1 => {
            ("datadog v1", "v1", "v1_query.json", ResultValue::Float(88.75), "88.75", "v1_query_empty.json")
        }
        ApiVersion::V2 => {
            ("datadog v2", "v2", "v2_scalar.json", ResultValue::Float(0.0123), "0.0123", "v2_scalar_empty.json")
        }
    };
    let extra_malformed = match version {
        ApiVersion::V1 => vec![
            FakeResponse::json(200, r#"{"series": "none"}"#),
            FakeResponse::json(200, r#"{"series": [{"pointlist": [[1700001740000, "0.5"]]}]}"#),
            FakeResponse::json(200, r#"{"series": [{"pointlist": [[1700001740000]]}]}"#),
        ],
        ApiVersion::V2 => vec![
            FakeResponse::json(
                200,
                r#"{"data": {"attributes": {"columns": [{"type": "number", "values": ["0.5"]}]}}}"#,
            ),
            FakeResponse::json(
                200,
                r#"{"data": {"attributes": {"columns": [{"type": "group", "values": [null]}, {"type": "number", "values": [1]}]}}}"#,
            ),
            FakeResponse::json(200, r#"{"data": {"attributes": {"columns": {"type": "number"}}}}"#),
        ],
    };
    Subject {
        name: name.to_string(),
        build: Box::new(move |case, base| {
            let query = match case {
                Case::Happy => "avg:system.cpu.idle{env:test} by {host}",
                Case::Empty => "sum:nothing{*}",
                Case::Failure => "avg:system.cpu.idle{*}",
            };
            let config = json!({"apiVersion": api_version, "query": query, "requestTimeout": "1s"});
            factory_for(base).build_with_context(&config, &Default::default()).expect("valid block")
        }),
        ctx: ctx(),
        timeout: Duration::from_secs(1),
        happy: Scenario {
            source: Source::Fake(FakeResponse::json(200, fixture(happy))),
            expect: Expect::Observed { result: happy_result, value: happy_value.to_string() },
        },
        empty: Scenario {
            source: Source::Fake(FakeResponse::json(200, fixture(empty))),
            expect: Expect::Observed { result: ResultValue::Nil, value: "[]".to_string() },
        },
        extra_malformed,
        bodies: BodyContract::Structured,
    }
}

#[tokio::test]
async fn datadog_v1_passes_the_conformance_kit() {
    conformance::check(&subject(ApiVersion::V1)).await;
}

#[tokio::test]
async fn datadog_v2_passes_the_conformance_kit() {
    conformance::check(&subject(ApiVersion::V2)).await;
}
