//! The shared conformance kit against the `prometheus` provider: the happy and empty
//! paths on the real Prometheus, every failure mode on the kit's fake.

mod support;

use std::time::Duration;

use augur_provider_api::ResultValue;
use augur_provider_api::testkit::conformance::{
    self, BodyContract, Case, Expect, FakeResponse, Scenario, Source, Subject,
};
use augur_provider_prometheus::PrometheusFactory;
use serde_json::json;

#[tokio::test]
async fn prometheus_passes_the_conformance_kit() {
    let real = support::plain().url.clone();
    let subject = Subject {
        name: "prometheus".to_string(),
        build: Box::new(|case, base| {
            let query = match case {
                Case::Happy => "sort(latency_seconds)",
                Case::Empty => r#"latency_seconds{version="none"}"#,
                Case::Failure => "up",
            };
            let config = json!({"address": base, "query": query, "timeout": 1});
            PrometheusFactory.build_with_default_address(&config, None).expect("valid block")
        }),
        ctx: support::ctx(),
        timeout: Duration::from_secs(1),
        happy: Scenario {
            source: Source::Real(real.clone()),
            expect: Expect::Observed { result: ResultValue::Floats(vec![0.2, 0.25]), value: "[0.2,0.25]".to_string() },
        },
        empty: Scenario {
            source: Source::Real(real),
            expect: Expect::Observed { result: ResultValue::Floats(vec![]), value: "[]".to_string() },
        },
        extra_malformed: vec![
            // Prometheus-shaped but wrong: an unknown result type, a value that is not a
            // number, a scalar that is not a pair, and no data at all.
            FakeResponse::json(200, r#"{"status":"success","data":{"resultType":"streams","result":[]}}"#),
            FakeResponse::json(
                200,
                r#"{"status":"success","data":{"resultType":"vector","result":[{"value":[1,"x"]}]}}"#,
            ),
            FakeResponse::json(200, r#"{"status":"success","data":{"resultType":"scalar","result":"1"}}"#),
            FakeResponse::json(200, r#"{"status":"success"}"#),
            FakeResponse::json(200, r#"{"status":"success","data":{"resultType":"string","result":[1,"s"]}}"#),
        ],
        bodies: BodyContract::Structured,
    };
    conformance::check(&subject).await;
}
