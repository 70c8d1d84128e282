//! The shared conformance kit against the Kubernetes form: every way an API server can
//! fail a Job create is an Error measurement of the right kind, never a verdict.

use std::time::{Duration, SystemTime};

use augur_provider_api::testkit::conformance::{
    self, BodyContract, Case, Expect, FakeResponse, Scenario, Source, Subject,
};
use augur_provider_api::{DecidedPhase, MeasureContext, Outcome, ProviderFactory};
use augur_provider_job::{JobFactory, Settings};
use serde_json::json;

/// A Job as the API server returns it once the Job controller has decided it.
fn decided_job(condition: &str, reason: &str) -> FakeResponse {
    let job = json!({
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": "run-1.conformance.1", "namespace": "default", "uid": "6f1c3f0e-0000-4000-8000-000000000001",
                     "labels": {"analysisrun.argoproj.io/uid": "run-1"}},
        "spec": {"template": {"spec": {"restartPolicy": "Never", "containers": [{"name": "c", "image": "busybox"}]}}},
        "status": {"conditions": [{"type": condition, "status": "True", "reason": reason, "message": "decided"}]}
    });
    FakeResponse::json(201, job.to_string())
}

fn expect_phase(want: DecidedPhase) -> Expect {
    Expect::Check(Box::new(move |res| match res {
        Ok(Outcome::Decided { phase, .. }) if *phase == want => Ok(()),
        other => Err(format!("expected a {want:?} job, got {other:?}")),
    }))
}

#[tokio::test]
async fn the_kubernetes_form_passes_the_conformance_kit() {
    let block = json!({"spec": {"template": {"spec": {"restartPolicy": "Never", "containers": [{"name": "c", "image": "busybox"}]}}}});
    let subject = Subject {
        name: "job (kubernetes)".to_string(),
        build: Box::new(move |_case: Case, base: &str| {
            let settings =
                Settings { request_timeout: Duration::from_secs(1), ..crate::kubernetes::settings(base.to_string()) };
            JobFactory::new(Settings { namespace: None, ..settings }).build(&block).expect("valid block")
        }),
        ctx: MeasureContext {
            now: SystemTime::now(),
            deadline: None,
            measurement_id: "run-1.conformance.1".to_string(),
        },
        timeout: Duration::from_secs(1),
        // The kit's fake answers every path with one answer: the create returns a Job the
        // Job controller has already decided (the pod list then fails to parse, which only
        // costs the logs).
        happy: Scenario {
            source: Source::Fake(decided_job("Complete", "CompletionsReached")),
            expect: expect_phase(DecidedPhase::Successful),
        },
        // A job has no empty result; its other verdict stands in.
        empty: Scenario {
            source: Source::Fake(decided_job("Failed", "BackoffLimitExceeded")),
            expect: expect_phase(DecidedPhase::Failed),
        },
        extra_malformed: vec![
            // Kubernetes-shaped but not a Job: a Status, a JobList.
            FakeResponse::json(201, r#"{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Success"}"#),
            FakeResponse::json(201, r#"{"kind":"JobList","apiVersion":"batch/v1","metadata":{},"items":[]}"#),
        ],
        bodies: BodyContract::Structured,
    };
    conformance::check(&subject).await;
}
