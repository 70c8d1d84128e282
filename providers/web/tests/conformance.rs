//! The shared conformance kit against the `web` provider: the happy and empty paths
//! answered by the kit's fake (a web "judge" is any HTTP service, so there is no real
//! server to point at), every failure mode from the same fake.
//!
//! How the kit's contract maps onto Argo's web provider
//! (`../shared/reference/argo-analysis.md` §1.3 and §1.7):
//!
//! * Happy path: a JSON body, and `jsonPath` selects one value; `result` is that value
//!   (the first match) and `value` its Go `json.Marshal` (§1.3, row `web`).
//! * Empty result: web has no query language, so "matches nothing" is the judge
//!   answering an empty collection, `{"data": []}` with `jsonPath: {$.data}`: an
//!   observation whose `result` is the empty array and whose `value` is `[]`, which the
//!   conditions can test (`len(result) == 0`). A `jsonPath` that matches nothing at all
//!   is *not* an empty result for web: Argo makes it an Error (§1.7, `jsonPath` row: "no
//!   match ⇒ Error `Could not find JSONPath in body: …`"), which `tests/web.rs` covers.
//! * Failures: every case is built with `jsonPath: {$.verdict.score}` and
//!   `timeoutSeconds: 1`.
//!
//! Where Argo's web provider differs from a vendor API, the subject says so
//! ([`BodyContract::TextIsValue`]):
//!
//! * A 200 body that is not JSON (truncated, HTML, empty) is a value for web, not an
//!   error, even with `jsonPath` set: "body not valid JSON (incl. empty) ⇒ the raw body
//!   `string` (jsonPath ignored)" (§1.3, row `web`).
//! * A JSON body of the wrong shape (`[1,2,3]`, `"just a string"`) is an Error, a
//!   JSONPath miss (`Could not find JSONPath in body: …`, §1.7), of kind `NoData`.
//! * 400/404/422 quote the body after Argo's `received non 2xx response code: <code>`
//!   (augur's addition, docs/compatibility.md).

use std::time::{Duration, SystemTime};

use augur_provider_api::testkit::conformance::{
    self, BodyContract, Case, Expect, FakeResponse, Scenario, Source, Subject,
};
use augur_provider_api::{ErrorKind, MeasureContext, ProviderFactory, ResultValue};
use augur_provider_web::WebFactory;
use serde_json::json;

fn subject() -> Subject {
    Subject {
        name: "web".to_string(),
        build: Box::new(|case, base| {
            let json_path = match case {
                Case::Happy | Case::Failure => "{$.verdict.score}",
                Case::Empty => "{$.data}",
            };
            let config = json!({"url": format!("{base}/verdict"), "jsonPath": json_path, "timeoutSeconds": 1});
            WebFactory.build(&config).expect("valid block")
        }),
        ctx: MeasureContext {
            now: SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000),
            deadline: None,
            measurement_id: "conformance".to_string(),
        },
        timeout: Duration::from_secs(1),
        happy: Scenario {
            source: Source::Fake(FakeResponse::json(200, r#"{"verdict": {"score": 0.97, "pass": true}}"#)),
            expect: Expect::Observed { result: ResultValue::Json(json!(0.97)), value: "0.97".to_string() },
        },
        empty: Scenario {
            source: Source::Fake(FakeResponse::json(200, r#"{"data": []}"#)),
            expect: Expect::Observed { result: ResultValue::Json(json!([])), value: "[]".to_string() },
        },
        extra_malformed: vec![],
        bodies: BodyContract::TextIsValue { wrong_shape: ErrorKind::NoData },
    }
}

#[tokio::test]
async fn web_passes_the_conformance_kit() {
    conformance::check(&subject()).await;
}
