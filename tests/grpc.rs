//! The gRPC API end to end: an in-process server on 127.0.0.1:0 over an in-memory
//! store, the generated clients, and a real HTTP metric endpoint for the `web` provider.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use augur::api::grpc::routes;
use augur::api::pb;
use augur::api::pb::analysis_service_client::AnalysisServiceClient;
use augur::api::pb::template_service_client::TemplateServiceClient;
use augur::scheduler::{Scheduler, SchedulerConfig};
use augur::service::Service;
use augur::store::Store;
use augur::telemetry::Telemetry;
use augur::template::NoSecrets;
use axum::Router;
use axum::routing::get;
use tokio_stream::StreamExt;
use tonic::Code;
use tonic::transport::Channel;

/// Long enough for any run in this file; a hang fails instead of blocking the suite.
const PATIENCE: Duration = Duration::from_secs(20);

/// An augur gRPC server and a metric endpoint, both on loopback.
struct Harness {
    grpc: String,
    scheduler: Arc<Scheduler>,
    /// `/ok` answers `{"ok": 0.995}`, `/bad` answers `{"ok": 0.5}`.
    metrics: String,
}

impl Harness {
    async fn start() -> Harness {
        let store = Arc::new(Store::open_in_memory().expect("in-memory store"));
        let scheduler = Scheduler::new(
            Arc::clone(&store),
            Arc::new(NoSecrets),
            SchedulerConfig { spread: Duration::ZERO, ..SchedulerConfig::default() },
            Arc::new(Telemetry::default()),
        );
        scheduler.resume_all().expect("resume");
        let service = Service::new(store, scheduler, Arc::new(NoSecrets));
        let scheduler = Arc::clone(service.scheduler());
        let grpc = serve(routes(service).into_axum_router()).await;
        let metrics = serve(
            Router::new()
                .route("/ok", get(|| async { r#"{"ok": 0.995}"# }))
                .route("/bad", get(|| async { r#"{"ok": 0.5}"# })),
        )
        .await;
        Harness { grpc: format!("http://{grpc}"), scheduler, metrics: format!("http://{metrics}") }
    }

    async fn channel(&self) -> Channel {
        Channel::from_shared(self.grpc.clone()).expect("url").connect().await.expect("connect")
    }

    async fn runs(&self) -> AnalysisServiceClient<Channel> {
        AnalysisServiceClient::new(self.channel().await)
    }

    async fn templates(&self) -> TemplateServiceClient<Channel> {
        TemplateServiceClient::new(self.channel().await)
    }

    /// An inline spec with one `web` metric against `path`; `extra` adds metric fields.
    fn spec(&self, path: &str, extra: &str) -> String {
        format!(
            "metrics:\n- name: ok\n{extra}  successCondition: result >= 0.99\n  provider:\n    web:\n      url: {}{path}\n      jsonPath: \"{{$.ok}}\"\n",
            self.metrics
        )
    }

    fn create(&self, spec: String) -> pb::CreateRunRequest {
        pb::CreateRunRequest { spec, ..Default::default() }
    }
}

async fn serve(router: Router) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move { axum::serve(listener, router).await.expect("serve") });
    addr
}

/// Every state WatchRun sends, until the server ends the stream.
async fn watch_all(client: &mut AnalysisServiceClient<Channel>, id: &str) -> Vec<pb::Run> {
    let mut stream =
        client.watch_run(pb::WatchRunRequest { id: id.to_string() }).await.expect("watch_run").into_inner();
    let mut states = Vec::new();
    tokio::time::timeout(PATIENCE, async {
        while let Some(run) = stream.next().await {
            states.push(run.expect("stream item"));
        }
    })
    .await
    .expect("the watch stream ends after a terminal phase");
    states
}

/// A run without `created_at`: the live record has it to the nanosecond, the store
/// only to the millisecond.
fn without_created_at(run: &pb::Run) -> pb::Run {
    pb::Run { created_at: String::new(), ..run.clone() }
}

fn is_terminal(phase: &str) -> bool {
    matches!(phase, "Successful" | "Failed" | "Error" | "Inconclusive")
}

#[tokio::test]
async fn create_watch_until_verdict() {
    let h = Harness::start().await;
    let mut client = h.runs().await;
    let created = client
        .create_run(h.create(h.spec("/ok", "  interval: 100ms\n  count: 3\n")))
        .await
        .expect("create_run")
        .into_inner();
    assert!(created.created);
    let run = created.run.expect("run");
    assert_eq!((run.namespace.as_str(), run.template.as_str()), ("default", "inline"));
    assert!(!run.created_at.is_empty());

    let states = watch_all(&mut client, &run.id).await;
    assert!(states.iter().all(|s| s.id == run.id));
    // Only the last state is terminal: the stream ends right after the verdict.
    let (last, before) = states.split_last().expect("at least one state");
    assert!(before.iter().all(|s| !is_terminal(&s.phase)), "{before:?}");
    assert_eq!(last.phase, "Successful");
    assert!(!last.started_at.is_empty() && !last.completed_at.is_empty());
    assert_eq!(last.run_summary, Some(pb::RunSummary { count: 1, successful: 1, ..Default::default() }));
    let metric = &last.metric_results[0];
    assert_eq!((metric.name.as_str(), metric.phase.as_str()), ("ok", "Successful"));
    assert_eq!((metric.count, metric.successful), (3, 3));
    assert_eq!(metric.measurements.len(), 3);
    assert!(metric.measurements.iter().all(|m| m.phase == "Successful" && m.value == "0.995"));

    // Watching a completed run sends its final state once, then ends.
    let again = watch_all(&mut client, &run.id).await;
    assert_eq!(again.len(), 1);
    assert_eq!(again[0].completed_at, last.completed_at);

    let got = client.get_run(pb::GetRunRequest { id: run.id.clone() }).await.expect("get_run").into_inner();
    assert_eq!(without_created_at(&got), without_created_at(last));
    let listed = client.list_runs(pb::ListRunsRequest::default()).await.expect("list_runs").into_inner();
    assert_eq!(listed.runs.iter().map(|r| r.id.as_str()).collect::<Vec<_>>(), [run.id.as_str()]);
    assert_eq!(listed.next_page_token, "");
}

#[tokio::test]
async fn create_with_a_run_key_is_idempotent() {
    let h = Harness::start().await;
    let mut client = h.runs().await;
    let request = pb::CreateRunRequest {
        run_key: "deploy-42".into(),
        labels: [("team".to_string(), "payments".to_string())].into(),
        ..h.create(h.spec("/ok", ""))
    };
    let first = client.create_run(request.clone()).await.expect("first").into_inner();
    let second = client.create_run(request.clone()).await.expect("repeat").into_inner();
    assert!(first.created);
    assert!(!second.created);
    let (first, second) = (first.run.expect("run"), second.run.expect("run"));
    assert_eq!(first.id, second.id);
    assert_eq!(second.run_key, "deploy-42");
    assert_eq!(second.labels.get("team").map(String::as_str), Some("payments"));

    let conflict = client
        .create_run(pb::CreateRunRequest { spec: h.spec("/bad", ""), ..request })
        .await
        .expect_err("a different spec under the same key");
    assert_eq!(conflict.code(), Code::AlreadyExists, "{conflict:?}");
    assert!(conflict.message().contains("deploy-42"), "{}", conflict.message());
}

#[tokio::test]
async fn terminate_ends_an_indefinite_run_successfully() {
    let h = Harness::start().await;
    let mut client = h.runs().await;
    let run = client
        .create_run(h.create(h.spec("/ok", "  interval: 1s\n")))
        .await
        .expect("create_run")
        .into_inner()
        .run
        .expect("run");

    // Wait for the first measurement, so there is something to assess.
    let mut stream = client.watch_run(pb::WatchRunRequest { id: run.id.clone() }).await.expect("watch").into_inner();
    let measured = tokio::time::timeout(PATIENCE, async {
        loop {
            let state = stream.next().await.expect("stream open").expect("state");
            if let Some(m) = state.metric_results.first()
                && m.count >= 1
            {
                return m.count;
            }
        }
    })
    .await
    .expect("a first measurement");
    drop(stream);

    let terminated =
        client.terminate_run(pb::TerminateRunRequest { id: run.id.clone() }).await.expect("terminate").into_inner();
    assert_eq!(terminated.id, run.id);
    // Like setting Argo's `spec.terminate`, this asks the run to stop; the verdict
    // follows once in-flight measurements finish.
    assert!(matches!(terminated.phase.as_str(), "Running" | "Successful"), "{}", terminated.phase);

    let states = watch_all(&mut client, &run.id).await;
    let last = states.last().expect("a state");
    // §2.6: no new measurements, an indefinite metric is Successful, and the run ends
    // with the worst completed phase or Successful, with message "Run Terminated".
    assert_eq!(last.phase, "Successful");
    assert_eq!(last.message, "Run Terminated");
    let metric = &last.metric_results[0];
    assert_eq!(metric.phase, "Successful");
    assert!(metric.count == measured || metric.count == measured + 1, "{} after {measured}", metric.count);

    // Terminating a completed run changes nothing.
    let again = client.terminate_run(pb::TerminateRunRequest { id: run.id.clone() }).await.expect("again").into_inner();
    assert_eq!(without_created_at(&again), without_created_at(last));

    let missing =
        client.terminate_run(pb::TerminateRunRequest { id: "no-such-run".into() }).await.expect_err("unknown id");
    assert_eq!(missing.code(), Code::NotFound);
}

#[tokio::test]
async fn template_crud() {
    let h = Harness::start().await;
    let mut templates = h.templates().await;
    let body = format!(
        "apiVersion: argoproj.io/v1alpha1\nkind: AnalysisTemplate\nmetadata:\n  name: success-rate\nspec:\n{}",
        h.spec("/ok", "").lines().map(|l| format!("  {l}\n")).collect::<String>()
    );
    let put = |body: String| pb::PutTemplateRequest { namespace: "default".into(), name: "success-rate".into(), body };

    let stored = templates.put_template(put(body.clone())).await.expect("put").into_inner();
    assert_eq!((stored.namespace.as_str(), stored.name.as_str()), ("default", "success-rate"));
    assert_eq!((stored.kind.as_str(), stored.version), ("AnalysisTemplate", 1));
    let doc: serde_json::Value = serde_json::from_str(&stored.body).expect("body is JSON");
    assert_eq!(doc["metadata"]["namespace"], "default");
    assert_eq!(doc["spec"]["metrics"][0]["name"], "ok");
    assert!(!stored.body.contains('\n'), "compact JSON: {}", stored.body);
    let replaced = templates.put_template(put(body.clone())).await.expect("put again").into_inner();
    assert_eq!(replaced.version, 2);

    // An empty namespace means "default".
    let got = templates
        .get_template(pb::GetTemplateRequest { namespace: String::new(), name: "success-rate".into() })
        .await
        .expect("get")
        .into_inner();
    assert_eq!(got, replaced);
    for namespace in ["default", ""] {
        let listed = templates
            .list_templates(pb::ListTemplatesRequest { namespace: namespace.into() })
            .await
            .expect("list")
            .into_inner();
        assert_eq!(listed.templates, vec![replaced.clone()], "namespace {namespace:?}");
    }

    // A run by reference.
    let mut runs = h.runs().await;
    let verdict = runs
        .evaluate(pb::EvaluateRequest {
            run: Some(pb::CreateRunRequest {
                templates: vec![pb::TemplateRef { name: "success-rate".into(), cluster_scope: false }],
                ..Default::default()
            }),
            timeout: "30s".into(),
        })
        .await
        .expect("evaluate")
        .into_inner();
    assert_eq!((verdict.phase.as_str(), verdict.template.as_str()), ("Successful", "success-rate"));

    let deleted = templates
        .delete_template(pb::DeleteTemplateRequest { namespace: "default".into(), name: "success-rate".into() })
        .await
        .expect("delete")
        .into_inner();
    assert!(deleted.deleted);
    let gone = templates
        .get_template(pb::GetTemplateRequest { namespace: "default".into(), name: "success-rate".into() })
        .await
        .expect_err("deleted");
    assert_eq!(gone.code(), Code::NotFound);
    let gone = templates
        .delete_template(pb::DeleteTemplateRequest { namespace: "default".into(), name: "success-rate".into() })
        .await
        .expect_err("deleted twice");
    assert_eq!(gone.code(), Code::NotFound);

    // Argo's validation: count > 1 needs an interval. Nothing is stored.
    let invalid = templates.put_template(put(body.replace("  - name: ok\n", "  - name: ok\n    count: 2\n"))).await;
    let invalid = invalid.expect_err("count without interval");
    assert_eq!(invalid.code(), Code::InvalidArgument, "{invalid:?}");
    assert!(invalid.message().starts_with("spec.metrics[0]"), "{}", invalid.message());
    assert!(invalid.message().contains("interval must be specified when count > 1"), "{}", invalid.message());
    let listed = templates.list_templates(pb::ListTemplatesRequest::default()).await.expect("list").into_inner();
    assert!(listed.templates.is_empty());
}

#[tokio::test]
async fn unknown_run_is_not_found() {
    let h = Harness::start().await;
    let mut client = h.runs().await;
    let e = client.get_run(pb::GetRunRequest { id: "0000-nope".into() }).await.expect_err("unknown id");
    assert_eq!(e.code(), Code::NotFound);
    assert_eq!(e.message(), "run \"0000-nope\" not found");
    let e = client.watch_run(pb::WatchRunRequest { id: "0000-nope".into() }).await.expect_err("unknown id");
    assert_eq!(e.code(), Code::NotFound);
}

#[tokio::test]
async fn bad_requests_are_invalid_argument() {
    let h = Harness::start().await;
    let mut client = h.runs().await;
    let e = client.create_run(pb::CreateRunRequest::default()).await.expect_err("nothing to run");
    assert_eq!(e.code(), Code::InvalidArgument);
    assert!(e.message().starts_with("templates: "), "{}", e.message());
    let e = client
        .list_runs(pb::ListRunsRequest { phases: vec!["Done".into()], ..Default::default() })
        .await
        .expect_err("unknown phase");
    assert_eq!(e.code(), Code::InvalidArgument);
    assert!(e.message().starts_with("phase[0]: "), "{}", e.message());
}

#[tokio::test]
async fn evaluate_returns_the_verdict() {
    let h = Harness::start().await;
    let mut client = h.runs().await;
    let evaluate = |path: &str| pb::EvaluateRequest { run: Some(h.create(h.spec(path, ""))), timeout: String::new() };

    let run = client.evaluate(evaluate("/ok")).await.expect("evaluate").into_inner();
    assert_eq!(run.phase, "Successful");
    assert!(!run.completed_at.is_empty());
    assert_eq!(run.metric_results[0].measurements[0].value, "0.995");

    let run = client.evaluate(evaluate("/bad")).await.expect("evaluate").into_inner();
    assert_eq!(run.phase, "Failed");
    assert_eq!(run.message, "Metric \"ok\" assessed Failed due to failed (1) > failureLimit (0)");
}

#[tokio::test]
async fn evaluate_stops_waiting_at_its_timeout_or_deadline() {
    let h = Harness::start().await;
    let mut client = h.runs().await;
    let indefinite = || Some(h.create(h.spec("/ok", "  interval: 1s\n")));

    // The request's own timeout.
    let started = std::time::Instant::now();
    let run = client
        .evaluate(pb::EvaluateRequest { run: indefinite(), timeout: "300ms".into() })
        .await
        .expect("evaluate")
        .into_inner();
    assert_eq!(run.phase, "Running");
    assert!(started.elapsed() < Duration::from_secs(5), "{:?}", started.elapsed());

    // The call's deadline (grpc-timeout) caps a longer timeout; the run comes back in time.
    let mut request = tonic::Request::new(pb::EvaluateRequest { run: indefinite(), timeout: "5m".into() });
    request.set_timeout(Duration::from_secs(2));
    let started = std::time::Instant::now();
    let run = client.evaluate(request).await.expect("answered before the deadline").into_inner();
    assert_eq!(run.phase, "Running");
    assert!(started.elapsed() < Duration::from_secs(5), "{:?}", started.elapsed());

    let e = client
        .evaluate(pb::EvaluateRequest { run: indefinite(), timeout: "5x".into() })
        .await
        .expect_err("bad timeout");
    assert_eq!(e.code(), Code::InvalidArgument);
    assert_eq!(e.message(), "timeout: time: unknown unit \"x\" in duration \"5x\"");
    let e = client.evaluate(pb::EvaluateRequest::default()).await.expect_err("no run");
    assert_eq!((e.code(), e.message()), (Code::InvalidArgument, "run: must be set"));

    // A bad timeout creates nothing: only the two runs above exist.
    let listed = client.list_runs(pb::ListRunsRequest::default()).await.expect("list").into_inner();
    assert_eq!(listed.runs.len(), 2);
}

#[tokio::test]
async fn health_reports_serving_then_not_serving_at_shutdown() {
    use tonic_health::pb::health_check_response::ServingStatus;
    use tonic_health::pb::{HealthCheckRequest, health_client::HealthClient};

    let h = Harness::start().await;
    let mut health = HealthClient::new(h.channel().await);
    for service in ["", "augur.v1.AnalysisService", "augur.v1.TemplateService"] {
        let status = health
            .check(HealthCheckRequest { service: service.into() })
            .await
            .unwrap_or_else(|e| panic!("health of {service:?}: {e}"))
            .into_inner()
            .status();
        assert_eq!(status, ServingStatus::Serving, "{service:?}");
    }
    let unknown = health.check(HealthCheckRequest { service: "nope.Service".into() }).await.expect_err("unknown");
    assert_eq!(unknown.code(), Code::NotFound);

    // Shutdown begins: every name reports NOT_SERVING (the reporter is updated by a task, so poll briefly).
    h.scheduler.shutdown().await;
    for service in ["", "augur.v1.AnalysisService", "augur.v1.TemplateService"] {
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        loop {
            let status = health
                .check(HealthCheckRequest { service: service.into() })
                .await
                .expect("health")
                .into_inner()
                .status();
            if status == ServingStatus::NotServing {
                break;
            }
            assert!(std::time::Instant::now() < deadline, "{service:?} still {status:?}");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}

#[tokio::test]
async fn reflection_lists_the_services_v1_and_v1alpha() {
    let h = Harness::start().await;
    let expected = ["augur.v1.AnalysisService", "augur.v1.TemplateService", "grpc.health.v1.Health"];

    {
        use tonic_reflection::pb::v1::server_reflection_client::ServerReflectionClient;
        use tonic_reflection::pb::v1::server_reflection_request::MessageRequest;
        use tonic_reflection::pb::v1::server_reflection_response::MessageResponse;
        use tonic_reflection::pb::v1::{ServerReflectionRequest, ServerReflectionResponse};

        let mut client = ServerReflectionClient::new(h.channel().await);
        let request = ServerReflectionRequest {
            host: String::new(),
            message_request: Some(MessageRequest::ListServices(String::new())),
        };
        let mut responses =
            client.server_reflection_info(tokio_stream::iter([request])).await.expect("reflection v1").into_inner();
        let response: ServerReflectionResponse = responses.next().await.expect("a response").expect("ok");
        let Some(MessageResponse::ListServicesResponse(list)) = response.message_response else {
            panic!("not a service list: {response:?}");
        };
        let names: Vec<&str> = list.service.iter().map(|s| s.name.as_str()).collect();
        for name in expected {
            assert!(names.contains(&name), "v1 lists {names:?}");
        }
    }
    {
        use tonic_reflection::pb::v1alpha::server_reflection_client::ServerReflectionClient;
        use tonic_reflection::pb::v1alpha::server_reflection_request::MessageRequest;
        use tonic_reflection::pb::v1alpha::server_reflection_response::MessageResponse;
        use tonic_reflection::pb::v1alpha::{ServerReflectionRequest, ServerReflectionResponse};

        let mut client = ServerReflectionClient::new(h.channel().await);
        let request = ServerReflectionRequest {
            host: String::new(),
            message_request: Some(MessageRequest::ListServices(String::new())),
        };
        let mut responses = client
            .server_reflection_info(tokio_stream::iter([request]))
            .await
            .expect("reflection v1alpha")
            .into_inner();
        let response: ServerReflectionResponse = responses.next().await.expect("a response").expect("ok");
        let Some(MessageResponse::ListServicesResponse(list)) = response.message_response else {
            panic!("not a service list: {response:?}");
        };
        let names: Vec<&str> = list.service.iter().map(|s| s.name.as_str()).collect();
        for name in expected {
            assert!(names.contains(&name), "v1alpha lists {names:?}");
        }
    }
}

#[tokio::test]
async fn judge_compares_canary_with_baseline() {
    let h = Harness::start().await;
    let mut client = h.runs().await;
    // Steps in time order, not sorted (a sorted series is a trend, which the default engine widens for).
    let baseline: Vec<f64> = [3, 7, 1, 9, 5, 10, 2, 8, 4, 6].map(f64::from).to_vec();
    let canary: Vec<f64> = baseline.iter().map(|v| v + 10.0).collect();
    let req = |engine: &str, direction: &str| pb::JudgeRequest {
        baseline: baseline.clone(),
        canary: canary.clone(),
        config_json: String::new(),
        engine: engine.into(),
        direction: direction.into(),
    };
    let r = client.judge(req("", "")).await.expect("judge").into_inner();
    assert_eq!((r.engine.as_str(), r.classification.as_str()), ("augur", "High"));
    assert_eq!((r.estimate, r.n_baseline, r.n_canary), (Some(10.0), 10, 10));
    assert!(r.p_value.is_some_and(|p| p < 0.05), "{r:?}");
    let r = client.judge(req("kayenta", "decrease")).await.expect("judge").into_inner();
    assert_eq!((r.classification.as_str(), r.p_value), ("Pass", None));
    let e = client.judge(req("r", "")).await.expect_err("unknown engine");
    assert_eq!(e.code(), Code::InvalidArgument);
    assert!(e.message().starts_with("engine: "), "{}", e.message());
}

#[tokio::test]
async fn canary_executes_a_kayenta_canary_config() {
    let prom = crate::support::prometheus::shared();
    let h = Harness::start().await;
    let mut client = h.runs().await;
    let request = |experiment: &str| pb::CanaryRequest {
        request_json: serde_json::json!({
            "canaryConfig": crate::http::latency_canary_config(),
            "executionRequest": crate::http::latency_execution(prom, experiment),
            "prometheus": {"address": prom.url},
        })
        .to_string(),
    };
    let r = client.canary(request("slow")).await.expect("canary").into_inner();
    assert_eq!((r.status.as_str(), r.complete), ("succeeded", true), "{r:?}");
    assert_eq!((r.score, r.classification.as_str()), (Some(0.0), "Fail"), "{r:?}");
    assert_eq!(r.results.len(), 2);
    assert!(r.results.iter().all(|m| m.classification == "High"), "{r:?}");
    let full: serde_json::Value = serde_json::from_str(&r.result_json).unwrap();
    assert_eq!(full["result"]["judgeResult"]["judgeName"], "NetflixACAJudge-v1.0");
    let r = client.canary(request("canary")).await.expect("canary").into_inner();
    assert_eq!((r.score, r.classification.as_str()), (Some(100.0), "Pass"), "{r:?}");

    let e = client.canary(pb::CanaryRequest { request_json: "{".into() }).await.expect_err("not JSON");
    assert_eq!(e.code(), Code::InvalidArgument);
    assert!(e.message().starts_with("request_json: "), "{}", e.message());
    let mut bad: serde_json::Value = serde_json::from_str(&request("slow").request_json).unwrap();
    bad["canaryConfig"]["metrics"][0]["scopeName"] = "blue".into();
    let e = client.canary(pb::CanaryRequest { request_json: bad.to_string() }).await.expect_err("bad scope");
    assert_eq!(e.code(), Code::InvalidArgument);
    assert!(e.message().starts_with("canaryConfig.metrics[0].scopeName: "), "{}", e.message());
}
