//! The Kubernetes form through kube-rs against the stand-in API server: the Job Argo
//! would create, Complete/Failed, image pull failures, terminate, timeouts and API errors.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use augur_provider_api::{
    DecidedPhase, ErrorKind, MeasureContext, MetricProvider, Outcome, ProviderError, ProviderFactory,
};
use augur_provider_job::{JobFactory, Settings};
use axum::http::Method;
use serde_json::{Value, json};
use tokio::task::JoinHandle;

use crate::fake_apiserver::FakeApiServer;

const NS: &str = "analysis";
const JOB: &str = "run-1.smoke.1";
const JOBS: &str = "/apis/batch/v1/namespaces/analysis/jobs";

pub(crate) fn settings(url: String) -> Settings {
    Settings {
        kube_url: Some(url),
        namespace: Some(NS.to_string()),
        min_poll_interval: Duration::from_millis(20),
        max_poll_interval: Duration::from_millis(100),
        ..Settings::default()
    }
}

fn block() -> Value {
    json!({
        "metadata": {"labels": {"team": "checkout"}, "annotations": {"owner": "sre"}},
        "spec": {
            "backoffLimit": 0,
            "template": {"spec": {
                "restartPolicy": "Never",
                "containers": [{"name": "check", "image": "curlimages/curl:8.8.0", "args": ["--fail", "http://svc/healthz"]}]
            }}
        }
    })
}

fn provider(api: &FakeApiServer, block: Value) -> Arc<dyn MetricProvider> {
    Arc::from(JobFactory::new(settings(api.url())).build(&block).expect("valid job block"))
}

fn ctx(measurement_id: &str) -> MeasureContext {
    MeasureContext { now: SystemTime::now(), deadline: None, measurement_id: measurement_id.to_string() }
}

fn spawn_measure(p: &Arc<dyn MetricProvider>, id: &str) -> JoinHandle<Result<Outcome, ProviderError>> {
    let p = Arc::clone(p);
    let ctx = ctx(id);
    tokio::spawn(async move { p.measure(&ctx).await })
}

async fn finish(task: JoinHandle<Result<Outcome, ProviderError>>) -> Result<Outcome, ProviderError> {
    tokio::time::timeout(Duration::from_secs(10), task).await.expect("measurement ends").expect("no panic")
}

#[track_caller]
fn decided(outcome: Outcome) -> (DecidedPhase, String, BTreeMap<String, String>) {
    match outcome {
        Outcome::Decided { phase, message, value, metadata } => {
            assert_eq!(value, "", "Argo's job measurement has no value");
            (phase, message, metadata)
        }
        other => panic!("a job decides its phase, got {other:?}"),
    }
}

fn job_metadata(ns: &str, name: &str) -> BTreeMap<String, String> {
    BTreeMap::from([("job-name".to_string(), name.to_string()), ("job-namespace".to_string(), ns.to_string())])
}

/// Waits until the server has seen a request.
async fn wait_for_request(api: &FakeApiServer, method: &str, path: &str) {
    for _ in 0..500 {
        if api.requests().iter().any(|r| r.method == method && r.path == path) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("no {method} {path}; saw {:?}", api.requests());
}

#[tokio::test]
async fn creates_the_job_argo_would_and_a_complete_job_is_successful() {
    let api = FakeApiServer::start().await;
    let p = provider(&api, block());
    let task = spawn_measure(&p, JOB);
    let job = api.wait_for_job(NS, JOB).await;

    let create = api.requests().into_iter().find(|r| r.method == "POST").expect("a create");
    assert_eq!(create.path, JOBS);
    assert_eq!(create.body["apiVersion"], "batch/v1");
    assert_eq!(create.body["kind"], "Job");
    assert_eq!(
        create.body["metadata"],
        json!({
            "name": JOB,
            "namespace": NS,
            "labels": {"team": "checkout", "analysisrun.argoproj.io/uid": "run-1"},
            "annotations": {
                "owner": "sre",
                "analysisrun.argoproj.io/name": "run-1",
                "analysisrun.argoproj.io/metric-name": "smoke"
            }
        })
    );
    assert_eq!(create.body["spec"], block()["spec"], "the spec is sent as written");
    assert!(job["metadata"]["uid"].is_string());

    api.set_active(NS, JOB, 1);
    api.add_pod(NS, JOB, "run-1.smoke.1-x7k2p", "Succeeded", "2026-11-22T10:00:01Z", None);
    api.set_log(NS, "run-1.smoke.1-x7k2p", "check", "HTTP/1.1 200 OK\n{\"status\":\"ok\"}\n");
    api.complete(NS, JOB);

    let (phase, message, metadata) = decided(finish(task).await.expect("measured"));
    assert_eq!(phase, DecidedPhase::Successful);
    assert_eq!(
        message,
        "job analysis/run-1.smoke.1 completed\nlogs of pod run-1.smoke.1-x7k2p, container check:\nHTTP/1.1 200 OK\n{\"status\":\"ok\"}"
    );
    assert_eq!(metadata, job_metadata(NS, JOB));
    let log = api.requests().into_iter().find(|r| r.path.ends_with("/log")).expect("a log read");
    assert!(log.query.contains("container=check") && log.query.contains("tailLines=20"), "{}", log.query);
    assert!(api.job(NS, JOB).is_some(), "a finished Job is left for ttlSecondsAfterFinished, as Argo leaves it");
}

#[tokio::test]
async fn the_blocks_namespace_wins_over_the_environments() {
    let api = FakeApiServer::start().await;
    let mut b = block();
    b["metadata"]["namespace"] = json!("canary");
    let p = provider(&api, b);
    let task = spawn_measure(&p, "run-2.smoke.4");
    api.wait_for_job("canary", "run-2.smoke.4").await;
    api.complete("canary", "run-2.smoke.4");
    let (phase, message, metadata) = decided(finish(task).await.expect("measured"));
    assert_eq!(phase, DecidedPhase::Successful);
    assert_eq!(message, "job canary/run-2.smoke.4 completed\n(no pod logs: the Job has no pods)");
    assert_eq!(metadata, job_metadata("canary", "run-2.smoke.4"));
}

#[tokio::test]
async fn a_failed_job_is_failed_with_its_reason_and_the_newest_failed_pods_log() {
    let api = FakeApiServer::start().await;
    let p = provider(&api, block());
    let task = spawn_measure(&p, JOB);
    api.wait_for_job(NS, JOB).await;
    api.add_pod(NS, JOB, "old", "Failed", "2026-11-22T10:00:01Z", None);
    api.add_pod(NS, JOB, "new", "Failed", "2026-11-22T10:00:05Z", None);
    api.set_log(NS, "old", "check", "first attempt");
    let lines: String = (1..=30).map(|i| format!("line {i}\n")).collect();
    api.set_log(NS, "new", "check", &format!("{lines}curl: (22) The requested URL returned error: 503"));
    api.fail(NS, JOB, "BackoffLimitExceeded", "Job has reached the specified backoff limit");

    let (phase, message, _) = decided(finish(task).await.expect("measured"));
    assert_eq!(phase, DecidedPhase::Failed);
    assert!(
        message.starts_with(
            "job analysis/run-1.smoke.1 failed: BackoffLimitExceeded: Job has reached the specified backoff limit\n\
             logs of pod new, container check (last lines):\nline 12\n"
        ),
        "{message}"
    );
    assert!(message.ends_with("line 30\ncurl: (22) The requested URL returned error: 503"), "{message}");
}

#[tokio::test]
async fn without_pod_access_the_verdict_stands_and_the_message_says_why_there_are_no_logs() {
    let api = FakeApiServer::start().await;
    let p = provider(&api, block());
    api.inject(
        Method::GET,
        "/api/v1/namespaces/analysis/pods",
        403,
        "Forbidden",
        "pods is forbidden: User \"system:serviceaccount:analysis:augur\" cannot list resource \"pods\"",
        100,
    );
    let task = spawn_measure(&p, JOB);
    api.wait_for_job(NS, JOB).await;
    api.set_active(NS, JOB, 1);
    tokio::time::sleep(Duration::from_millis(400)).await; // several polls
    api.complete(NS, JOB);
    let (phase, message, _) = decided(finish(task).await.expect("measured"));
    assert_eq!(phase, DecidedPhase::Successful);
    let pod_lists = api.requests().iter().filter(|r| r.path == "/api/v1/namespaces/analysis/pods").count();
    assert_eq!(pod_lists, 2, "one refused image check stops the checks; one attempt at the logs");
    assert!(
        message.starts_with(
            "job analysis/run-1.smoke.1 completed\n(pod logs unavailable: cannot list the Job's pods: 403 pods is forbidden"
        ),
        "{message}"
    );
    assert!(message.ends_with("augur's identity needs list on pods and get on pods/log)"), "{message}");
}

#[tokio::test]
async fn terminate_deletes_the_job_in_the_background_and_the_measurement_is_inconclusive() {
    let api = FakeApiServer::start().await;
    let p = provider(&api, block());
    let task = spawn_measure(&p, JOB);
    api.wait_for_job(NS, JOB).await;
    api.set_active(NS, JOB, 1);
    p.terminate(&ctx("")).await.expect("terminate");

    let (phase, message, metadata) = decided(finish(task).await.expect("measured"));
    assert_eq!((phase, message.as_str()), (DecidedPhase::Inconclusive, "Metric Terminated"));
    assert_eq!(metadata, job_metadata(NS, JOB));
    assert!(api.job(NS, JOB).is_none(), "the Job is gone");
    let delete = api.requests().into_iter().find(|r| r.method == "DELETE").expect("a delete");
    assert_eq!(delete.path, format!("{JOBS}/{JOB}"));
    assert_eq!(delete.body["propagationPolicy"], "Background", "{}", delete.body);
}

#[tokio::test]
async fn terminate_of_a_job_that_is_already_gone_is_still_a_termination() {
    let api = FakeApiServer::start().await;
    let p = provider(&api, block());
    let task = spawn_measure(&p, JOB);
    api.wait_for_job(NS, JOB).await;
    api.inject(Method::DELETE, JOB, 404, "NotFound", "jobs.batch \"run-1.smoke.1\" not found", 1);
    p.terminate(&ctx("")).await.expect("terminate");
    let (phase, message, _) = decided(finish(task).await.expect("measured"));
    assert_eq!((phase, message.as_str()), (DecidedPhase::Inconclusive, "Metric Terminated"));
}

#[tokio::test]
async fn a_terminate_whose_delete_is_refused_is_an_error() {
    let api = FakeApiServer::start().await;
    let p = provider(&api, block());
    let task = spawn_measure(&p, JOB);
    api.wait_for_job(NS, JOB).await;
    api.inject(Method::DELETE, JOB, 403, "Forbidden", "jobs.batch \"run-1.smoke.1\" is forbidden", 1);
    p.terminate(&ctx("")).await.expect("terminate");
    let err = finish(task).await.expect_err("delete refused");
    assert_eq!(err.kind(), ErrorKind::Auth);
    assert!(
        err.message().starts_with("cannot delete job analysis/run-1.smoke.1: 403 Forbidden: jobs.batch"),
        "{}",
        err.message()
    );
}

#[tokio::test]
async fn a_forbidden_create_is_an_error_that_names_the_missing_permission() {
    let api = FakeApiServer::start().await;
    api.inject(
        Method::POST,
        JOBS,
        403,
        "Forbidden",
        "jobs.batch is forbidden: User \"system:serviceaccount:analysis:augur\" cannot create resource \"jobs\" in API \
         group \"batch\" in the namespace \"analysis\"",
        1,
    );
    let err = provider(&api, block()).measure(&ctx(JOB)).await.expect_err("forbidden");
    assert_eq!(err.kind(), ErrorKind::Auth);
    assert!(
        err.message()
            .starts_with("cannot create job analysis/run-1.smoke.1: 403 Forbidden: jobs.batch is forbidden: User"),
        "{}",
        err.message()
    );
    assert!(
        err.message().contains("augur's identity needs create, get and delete on jobs.batch in namespace \"analysis\"")
    );
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(api.requests().iter().all(|r| r.method == "POST"), "a refused create leaves nothing to delete");
}

#[tokio::test]
async fn server_errors_are_transient_error_measurements() {
    let api = FakeApiServer::start().await;
    api.inject(Method::POST, JOBS, 500, "InternalError", "Internal error occurred: etcdserver: request timed out", 1);
    let err = provider(&api, block()).measure(&ctx(JOB)).await.expect_err("500");
    assert_eq!(err.kind(), ErrorKind::Unavailable);
    assert!(err.is_transient());
    assert_eq!(
        err.message(),
        "cannot create job analysis/run-1.smoke.1: 500 InternalError: Internal error occurred: etcdserver: request timed out"
    );
    // etcd may have stored the Job all the same: it is deleted, in case.
    wait_for_request(&api, "DELETE", &format!("{JOBS}/{JOB}")).await;

    // A proxy in front of the API server answering with its own page: the body is kept.
    api.inject_raw(Method::POST, JOBS, 502, "<html><body>502 Bad Gateway</body></html>", 1);
    let err = provider(&api, block()).measure(&ctx(JOB)).await.expect_err("502");
    assert_eq!(err.kind(), ErrorKind::Unavailable);
    assert!(
        err.message().contains("502") && err.message().contains("<html><body>502 Bad Gateway"),
        "{}",
        err.message()
    );
}

#[tokio::test]
async fn a_poll_survives_a_transient_failure() {
    let api = FakeApiServer::start().await;
    let p = provider(&api, block());
    api.inject(
        Method::GET,
        &format!("{JOBS}/{JOB}"),
        503,
        "ServiceUnavailable",
        "the server is currently unable to handle the request",
        2,
    );
    let task = spawn_measure(&p, JOB);
    api.wait_for_job(NS, JOB).await;
    api.complete(NS, JOB);
    let (phase, _, _) = decided(finish(task).await.expect("measured"));
    assert_eq!(phase, DecidedPhase::Successful);
}

#[tokio::test]
async fn a_poll_that_keeps_failing_is_an_error_and_the_abandoned_job_is_deleted() {
    let api = FakeApiServer::start().await;
    let p = provider(&api, block());
    api.inject(Method::GET, &format!("{JOBS}/{JOB}"), 500, "InternalError", "Internal error occurred: boom", 3);
    let err = finish(spawn_measure(&p, JOB)).await.expect_err("500s");
    assert_eq!(err.kind(), ErrorKind::Unavailable);
    assert_eq!(
        err.message(),
        "cannot get job analysis/run-1.smoke.1: 500 InternalError: Internal error occurred: boom"
    );
    wait_for_request(&api, "DELETE", &format!("{JOBS}/{JOB}")).await;
    for _ in 0..100 {
        if api.job(NS, JOB).is_none() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("the abandoned Job was not deleted");
}

#[tokio::test]
async fn an_unreachable_api_server_is_a_transport_error() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    drop(listener);
    let p: Arc<dyn MetricProvider> = Arc::from(JobFactory::new(settings(url.clone())).build(&block()).expect("valid"));
    let err = p.measure(&ctx(JOB)).await.expect_err("refused");
    assert_eq!(err.kind(), ErrorKind::Transport);
    assert!(
        err.message().starts_with(&format!(
            "cannot create job analysis/run-1.smoke.1: cannot reach the Kubernetes API at {url}/"
        )),
        "{}",
        err.message()
    );
}

#[tokio::test]
async fn a_timeout_deletes_the_job_and_is_an_error() {
    let api = FakeApiServer::start().await;
    let mut b = block();
    b["timeout"] = json!("300ms");
    let p = provider(&api, b);
    let task = spawn_measure(&p, JOB);
    api.wait_for_job(NS, JOB).await;
    api.set_active(NS, JOB, 1);
    let err = finish(task).await.expect_err("timed out");
    assert_eq!(err.kind(), ErrorKind::Timeout);
    assert!(
        err.message().starts_with(
            "job analysis/run-1.smoke.1 did not finish within 300ms (job.timeout); deleted it (spec.activeDeadlineSeconds"
        ),
        "{}",
        err.message()
    );
    assert!(api.job(NS, JOB).is_none());
}

#[tokio::test]
async fn an_image_that_cannot_be_pulled_is_inconclusive() {
    let api = FakeApiServer::start().await;
    let p = provider(&api, block());
    let task = spawn_measure(&p, JOB);
    api.wait_for_job(NS, JOB).await;
    api.add_pod(NS, JOB, "run-1.smoke.1-abcde", "Pending", "2026-11-22T10:00:01Z", Some("ImagePullBackOff"));
    api.set_active(NS, JOB, 1);
    let (phase, message, _) = decided(finish(task).await.expect("measured"));
    assert_eq!(phase, DecidedPhase::Inconclusive);
    assert_eq!(
        message,
        "job analysis/run-1.smoke.1: container \"check\" of pod run-1.smoke.1-abcde cannot start: ImagePullBackOff: \
         Back-off pulling image \"nope:latest\"; deleted the job"
    );
    assert!(api.job(NS, JOB).is_none());
}

#[tokio::test]
async fn an_existing_job_of_the_same_run_is_taken_over() {
    // A measurement retaken after a restart finds the Job it created before the crash.
    let api = FakeApiServer::start().await;
    api.put_job(NS, JOB, json!({"analysisrun.argoproj.io/uid": "run-1"}));
    api.complete(NS, JOB);
    let (phase, message, _) = decided(provider(&api, block()).measure(&ctx(JOB)).await.expect("measured"));
    assert_eq!(phase, DecidedPhase::Successful, "{message}");
    let posts = api.requests().into_iter().filter(|r| r.method == "POST").count();
    assert_eq!(posts, 1, "one create, answered 409 AlreadyExists");
}

#[tokio::test]
async fn an_existing_job_of_another_run_is_refused() {
    let api = FakeApiServer::start().await;
    api.put_job(NS, JOB, json!({"analysisrun.argoproj.io/uid": "someone-else"}));
    let err = provider(&api, block()).measure(&ctx(JOB)).await.expect_err("not ours");
    assert_eq!(err.kind(), ErrorKind::Rejected);
    assert_eq!(
        err.message(),
        "job analysis/run-1.smoke.1 already exists and was not created by run \"run-1\" \
         (analysisrun.argoproj.io/uid=someone-else); delete it or give augur a namespace of its own"
    );
    assert!(api.job(NS, JOB).is_some(), "someone else's Job is left alone");
}

#[tokio::test]
async fn a_job_deleted_by_someone_else_is_an_error() {
    let api = FakeApiServer::start().await;
    let p = provider(&api, block());
    api.inject(Method::GET, &format!("{JOBS}/{JOB}"), 404, "NotFound", "jobs.batch \"run-1.smoke.1\" not found", 1);
    let err = finish(spawn_measure(&p, JOB)).await.expect_err("gone");
    assert_eq!(err.kind(), ErrorKind::Rejected);
    assert_eq!(err.message(), "job analysis/run-1.smoke.1 was deleted by someone else before it finished");
}

#[tokio::test]
async fn a_metric_name_kubernetes_cannot_use_is_refused_before_any_request() {
    let api = FakeApiServer::start().await;
    let err = provider(&api, block()).measure(&ctx("run-1.Smoke_Test.1")).await.expect_err("invalid name");
    assert_eq!(err.kind(), ErrorKind::Config);
    assert!(err.message().contains("metric name \"Smoke_Test\" may use only lowercase letters"), "{}", err.message());
    assert!(api.requests().is_empty());
}

#[test]
fn argo_job_blocks_that_kubernetes_would_reject_are_build_errors() {
    let factory = JobFactory::new(Settings::default());
    let cases = [
        (
            json!({"spec": {"template": {"spec": {"containers": "x"}}}}),
            "job.spec.template.spec.containers: invalid type",
        ),
        (json!({"metadata": {"labels": {"a": "b"}}}), "job: spec is required"),
        (json!({"spec": block()["spec"], "command": ["x"]}), "cannot both be set"),
        (json!({"spec": block()["spec"], "timeout": "-1s"}), "job.timeout: must be positive"),
    ];
    for (block, want) in cases {
        match factory.build(&block) {
            Ok(p) => panic!("{block}: expected an error, built {p:?}"),
            Err(e) => assert!(e.0.contains(want), "{block}: {:?} lacks {want:?}", e.0),
        }
    }
}

#[tokio::test]
async fn a_measurement_the_engine_gives_up_on_deletes_its_job() {
    // The scheduler wraps every measurement in its own timeout and drops it when it fires.
    let api = FakeApiServer::start().await;
    let p = provider(&api, block());
    let task = spawn_measure(&p, JOB);
    api.wait_for_job(NS, JOB).await;
    task.abort();
    wait_for_request(&api, "DELETE", &format!("{JOBS}/{JOB}")).await;
    let delete = api.requests().into_iter().find(|r| r.method == "DELETE").expect("a delete");
    assert_eq!(delete.body["propagationPolicy"], "Background");
}
