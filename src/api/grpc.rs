//! The gRPC transport: `augur.v1.AnalysisService` and `augur.v1.TemplateService` over
//! [`Service`], plus gRPC health checking and server reflection.
//!
//! Handlers only convert (see `convert`) and delegate; the service decides. Errors
//! become a [`Status`] in exactly one place, `impl From<service::Error> for Status`.
//! This module does not bind sockets: [`routes`] builds the services and the caller
//! serves them, next to the HTTP router, on one port.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use tokio_stream::Stream;
use tokio_stream::wrappers::WatchStream;
use tonic::metadata::MetadataMap;
use tonic::{Request, Response, Status};
use tonic_health::ServingStatus;
use tonic_health::server::HealthReporter;

use crate::api::pb;
use crate::api::pb::analysis_service_server::{AnalysisService, AnalysisServiceServer};
use crate::api::pb::template_service_server::{TemplateService, TemplateServiceServer};
use crate::service::{self, DEFAULT_NAMESPACE, Service};
use crate::store::RunRecord;

/// How long `Evaluate` waits for a verdict when the request names no `timeout`.
const DEFAULT_EVALUATE_TIMEOUT: Duration = Duration::from_secs(300);

/// Longest head start `Evaluate` takes on the call's deadline (it takes a tenth of
/// shorter deadlines), so that the run's state reaches the caller before the caller
/// gives up.
const DEADLINE_MARGIN: Duration = Duration::from_millis(500);

/// The gRPC services, ready to serve: the two augur services, `grpc.health.v1.Health`
/// (both augur services and the server as a whole, `""`, report SERVING until shutdown
/// begins, then NOT_SERVING) and server
/// reflection in both its `v1` and `v1alpha` forms (grpcurl 1.8 speaks only v1alpha).
pub fn routes(service: Service) -> tonic::service::Routes {
    let (health, health_server) = tonic_health::server::health_reporter();
    let names = [pb::analysis_service_server::SERVICE_NAME, pb::template_service_server::SERVICE_NAME, ""];
    for name in names {
        set_serving(&health, name);
    }
    // Once shutdown begins, health checks (and Watch streams) say NOT_SERVING, so load
    // balancers stop sending new calls while in-flight work drains.
    if let Ok(runtime) = tokio::runtime::Handle::try_current() {
        let stopping = service.scheduler().shutdown_started();
        let health = health.clone();
        runtime.spawn(async move {
            stopping.await;
            for name in names {
                health.set_service_status(name, ServingStatus::NotServing).await;
            }
        });
    }
    let reflection = || {
        tonic_reflection::server::Builder::configure()
            .register_encoded_file_descriptor_set(pb::FILE_DESCRIPTOR_SET)
            .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
    };
    let reflection_v1 = reflection().build_v1().expect("the descriptor sets are generated at build time and decode");
    let reflection_v1alpha =
        reflection().build_v1alpha().expect("the descriptor sets are generated at build time and decode");
    let grpc = Grpc { service };
    tonic::service::Routes::new(AnalysisServiceServer::new(grpc.clone()))
        .add_service(TemplateServiceServer::new(grpc))
        .add_service(health_server)
        .add_service(reflection_v1)
        .add_service(reflection_v1alpha)
}

/// Marks `service_name` SERVING from a plain (non-async) function.
///
/// `HealthReporter`'s setters are async only because they take a tokio `RwLock`. The
/// reporter here was just created and nothing else holds that lock, so the write is
/// ready on its first poll; `unconstrained` stops tokio's cooperative budget (when
/// `routes` is called from inside a task) from deferring it anyway.
fn set_serving(health: &HealthReporter, service_name: &str) {
    let update =
        std::pin::pin!(tokio::task::unconstrained(health.set_service_status(service_name, ServingStatus::Serving)));
    let polled = update.poll(&mut Context::from_waker(Waker::noop()));
    assert!(polled.is_ready(), "a new health reporter's lock is not held by anyone else");
}

/// The one mapping from service errors to gRPC status codes. Client mistakes carry
/// their one-line "field: message"; an internal error is logged here, once, and the
/// caller sees only "internal error".
impl From<service::Error> for Status {
    fn from(e: service::Error) -> Status {
        match e {
            service::Error::BadRequest { .. } | service::Error::Invalid { .. } => {
                Status::invalid_argument(e.to_string())
            }
            service::Error::NotFound(message) => Status::not_found(message),
            service::Error::Conflict(message) => Status::already_exists(message),
            service::Error::Unavailable => Status::unavailable(e.to_string()),
            service::Error::Internal(source) => {
                tracing::error!(message = "Internal error.", error = %source);
                Status::internal("internal error")
            }
        }
    }
}

fn bad_request(field: &str, message: impl Into<String>) -> service::Error {
    service::Error::BadRequest { field: field.to_string(), message: message.into() }
}

/// A namespace from a template request: proto3 cannot tell "unset" from "", and
/// unset means the default namespace, as it does for runs.
fn namespace_or_default(namespace: String) -> String {
    if namespace.is_empty() { DEFAULT_NAMESPACE.to_string() } else { namespace }
}

/// The request's `grpc-timeout` header (gRPC over HTTP/2: 1 to 8 digits and a unit,
/// `H`, `M`, `S`, `m`, `u` or `n`). A malformed value is ignored, as if absent.
fn grpc_timeout(metadata: &MetadataMap) -> Option<Duration> {
    let value = metadata.get("grpc-timeout")?.to_str().ok()?;
    let (digits, unit) = value.split_at_checked(value.len().checked_sub(1)?)?;
    if digits.is_empty() || digits.len() > 8 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let n: u64 = digits.parse().ok()?;
    Some(match unit {
        "H" => Duration::from_secs(n * 3600),
        "M" => Duration::from_secs(n * 60),
        "S" => Duration::from_secs(n),
        "m" => Duration::from_millis(n),
        "u" => Duration::from_micros(n),
        "n" => Duration::from_nanos(n),
        _ => return None,
    })
}

/// `EvaluateRequest.timeout`: a Go duration, 5m when empty.
fn evaluate_timeout(timeout: &str) -> Result<Duration, service::Error> {
    if timeout.is_empty() {
        return Ok(DEFAULT_EVALUATE_TIMEOUT);
    }
    let nanos = crate::duration::parse_go_duration(timeout).map_err(|e| bad_request("timeout", e.to_string()))?;
    let nanos = u64::try_from(nanos).map_err(|_| bad_request("timeout", "must not be negative"))?;
    Ok(Duration::from_nanos(nanos))
}

/// How long `Evaluate` may wait: its `timeout`, but answering a little before the
/// call's own deadline so the caller gets the run instead of DEADLINE_EXCEEDED.
fn evaluate_wait(timeout: Duration, deadline: Option<Duration>) -> Duration {
    match deadline {
        Some(d) => timeout.min(d.saturating_sub(DEADLINE_MARGIN.min(d / 10))),
        None => timeout,
    }
}

/// A run's states from a watch receiver: the current one, then each change, ending
/// right after a terminal phase (or when the run's task goes away).
struct UntilCompleted {
    states: WatchStream<Arc<RunRecord>>,
    completed: bool,
}

impl Stream for UntilCompleted {
    type Item = Result<pb::Run, Status>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        if self.completed {
            return Poll::Ready(None);
        }
        let polled = Pin::new(&mut self.states).poll_next(cx);
        match polled {
            Poll::Ready(Some(record)) => {
                self.completed = record.status.phase.is_completed();
                Poll::Ready(Some(Ok(pb::Run::from(&*record))))
            }
            Poll::Ready(None) => {
                self.completed = true;
                Poll::Ready(None)
            }
            Poll::Pending => Poll::Pending,
        }
    }
}

/// Both gRPC services: thin adapters over [`Service`].
#[derive(Debug, Clone)]
struct Grpc {
    service: Service,
}

#[tonic::async_trait]
impl AnalysisService for Grpc {
    async fn create_run(
        &self,
        request: Request<pb::CreateRunRequest>,
    ) -> Result<Response<pb::CreateRunResponse>, Status> {
        let (record, created) = self.service.create_run(request.into_inner().into())?;
        Ok(Response::new(pb::CreateRunResponse { run: Some((&record).into()), created }))
    }

    async fn get_run(&self, request: Request<pb::GetRunRequest>) -> Result<Response<pb::Run>, Status> {
        let record = self.service.get_run(&request.into_inner().id)?;
        Ok(Response::new((&record).into()))
    }

    async fn list_runs(&self, request: Request<pb::ListRunsRequest>) -> Result<Response<pb::ListRunsResponse>, Status> {
        let (runs, next) = self.service.list_runs(&request.into_inner().into())?;
        Ok(Response::new(pb::ListRunsResponse {
            runs: runs.iter().map(pb::Run::from).collect(),
            next_page_token: next.unwrap_or_default(),
        }))
    }

    type WatchRunStream = Pin<Box<dyn Stream<Item = Result<pb::Run, Status>> + Send>>;

    async fn watch_run(&self, request: Request<pb::WatchRunRequest>) -> Result<Response<Self::WatchRunStream>, Status> {
        let states = self.service.watch_run(&request.into_inner().id)?;
        let stream = UntilCompleted { states: WatchStream::new(states), completed: false };
        Ok(Response::new(Box::pin(stream)))
    }

    async fn terminate_run(&self, request: Request<pb::TerminateRunRequest>) -> Result<Response<pb::Run>, Status> {
        let record = self.service.terminate_run(&request.into_inner().id)?;
        Ok(Response::new((&record).into()))
    }

    async fn evaluate(&self, request: Request<pb::EvaluateRequest>) -> Result<Response<pb::Run>, Status> {
        let deadline = grpc_timeout(request.metadata());
        let request = request.into_inner();
        let wait = evaluate_wait(evaluate_timeout(&request.timeout)?, deadline);
        let create = request.run.ok_or_else(|| bad_request("run", "must be set"))?;
        let (record, _) = self.service.create_run(create.into())?;
        let record = self.service.wait_run(&record.id, wait).await?;
        Ok(Response::new((&record).into()))
    }

    async fn canary(&self, request: Request<pb::CanaryRequest>) -> Result<Response<pb::CanaryResponse>, Status> {
        let req: crate::canary::CanaryRequest = serde_json::from_str(&request.into_inner().request_json)
            .map_err(|e| Status::invalid_argument(format!("request_json: {e}")))?;
        let now = crate::runner::now().0.into();
        let v = crate::canary::execute(&req, now).await.map_err(|e| match e {
            crate::canary::CanaryError::Invalid { field, message } => {
                Status::invalid_argument(format!("{field}: {message}"))
            }
        })?;
        let text = |v: &serde_json::Value| v.as_str().unwrap_or_default().to_string();
        let judge = &v["result"]["judgeResult"];
        let results = judge["results"]
            .as_array()
            .map(|rs| {
                rs.iter()
                    .map(|r| pb::CanaryMetricResult {
                        name: text(&r["name"]),
                        classification: text(&r["classification"]),
                        reason: text(&r["classificationReason"]),
                        critical: r["critical"].as_bool().unwrap_or(false),
                    })
                    .collect()
            })
            .unwrap_or_default();
        Ok(Response::new(pb::CanaryResponse {
            status: text(&v["status"]),
            complete: v["complete"].as_bool().unwrap_or(false),
            score: judge["score"]["score"].as_f64(),
            classification: text(&judge["score"]["classification"]),
            classification_reason: text(&judge["score"]["classificationReason"]),
            results,
            exception: text(&v["exception"]["message"]),
            result_json: v.to_string(),
        }))
    }

    async fn judge(&self, request: Request<pb::JudgeRequest>) -> Result<Response<pb::JudgeResponse>, Status> {
        let req = request.into_inner();
        let engine = match req.engine.as_str() {
            "" | "augur" => crate::judge::Engine::Augur,
            "kayenta" => crate::judge::Engine::Kayenta,
            other => {
                return Err(Status::invalid_argument(format!("engine: {other:?}: expected \"augur\" or \"kayenta\"")));
            }
        };
        let direction = match req.direction.as_str() {
            "" => None,
            d @ ("either" | "increase" | "decrease") => Some(d),
            other => {
                return Err(Status::invalid_argument(format!(
                    "direction: {other:?}: expected either, increase or decrease"
                )));
            }
        };
        let config: serde_json::Value = if req.config_json.trim().is_empty() {
            serde_json::json!({})
        } else {
            serde_json::from_str(&req.config_json)
                .map_err(|e| Status::invalid_argument(format!("config_json: not JSON: {e}")))?
        };
        let (v, _) = crate::judge::judge(engine, &config, direction, &req.baseline, &req.canary)
            .map_err(Status::invalid_argument)?;
        let text = |k: &str| v.get(k).and_then(serde_json::Value::as_str).unwrap_or_default().to_string();
        let num = |k: &str| v.get(k).and_then(serde_json::Value::as_f64);
        let count =
            |k: &str| v.get(k).and_then(serde_json::Value::as_u64).map_or(0, |n| i32::try_from(n).unwrap_or(i32::MAX));
        Ok(Response::new(pb::JudgeResponse {
            engine: text("engine"),
            classification: text("classification"),
            reason: text("reason"),
            critical: v.get("critical").and_then(serde_json::Value::as_bool).unwrap_or(false),
            estimate: num("estimate"),
            ci_lower: num("ciLower"),
            ci_upper: num("ciUpper"),
            p_value: num("pValue"),
            effect_size: num("effectSize"),
            deviation: num("deviation"),
            variance_inflation: num("varianceInflation"),
            n_baseline: count("nBaseline"),
            n_canary: count("nCanary"),
        }))
    }
}

#[tonic::async_trait]
impl TemplateService for Grpc {
    async fn put_template(&self, request: Request<pb::PutTemplateRequest>) -> Result<Response<pb::Template>, Status> {
        let r = request.into_inner();
        let stored = self.service.put_template(&namespace_or_default(r.namespace), &r.name, &r.body)?;
        Ok(Response::new(stored.into()))
    }

    async fn get_template(&self, request: Request<pb::GetTemplateRequest>) -> Result<Response<pb::Template>, Status> {
        let r = request.into_inner();
        let stored = self.service.get_template(&namespace_or_default(r.namespace), &r.name)?;
        Ok(Response::new(stored.into()))
    }

    async fn list_templates(
        &self,
        request: Request<pb::ListTemplatesRequest>,
    ) -> Result<Response<pb::ListTemplatesResponse>, Status> {
        let namespace = request.into_inner().namespace;
        let templates = self.service.list_templates(Some(namespace.as_str()).filter(|n| !n.is_empty()))?;
        Ok(Response::new(pb::ListTemplatesResponse {
            templates: templates.into_iter().map(pb::Template::from).collect(),
        }))
    }

    async fn delete_template(
        &self,
        request: Request<pb::DeleteTemplateRequest>,
    ) -> Result<Response<pb::DeleteTemplateResponse>, Status> {
        let r = request.into_inner();
        self.service.delete_template(&namespace_or_default(r.namespace), &r.name)?;
        Ok(Response::new(pb::DeleteTemplateResponse { deleted: true }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::StoreError;

    fn timeout_header(value: &str) -> Option<Duration> {
        let mut metadata = MetadataMap::new();
        metadata.insert("grpc-timeout", value.parse().expect("ascii"));
        grpc_timeout(&metadata)
    }

    #[test]
    fn routes_build_outside_a_runtime() {
        let store = Arc::new(crate::store::Store::open_in_memory().expect("in-memory store"));
        let secrets = Arc::new(crate::template::NoSecrets);
        let scheduler = crate::scheduler::Scheduler::new(
            Arc::clone(&store),
            secrets.clone(),
            crate::scheduler::SchedulerConfig::default(),
            Arc::new(crate::telemetry::Telemetry::default()),
        );
        let _routes = routes(Service::new(store, scheduler, secrets));
    }

    #[test]
    fn grpc_timeout_header() {
        assert_eq!(grpc_timeout(&MetadataMap::new()), None);
        assert_eq!(timeout_header("2H"), Some(Duration::from_secs(7200)));
        assert_eq!(timeout_header("3M"), Some(Duration::from_secs(180)));
        assert_eq!(timeout_header("10S"), Some(Duration::from_secs(10)));
        assert_eq!(timeout_header("500m"), Some(Duration::from_millis(500)));
        assert_eq!(timeout_header("99999999u"), Some(Duration::from_micros(99_999_999)));
        assert_eq!(timeout_header("7n"), Some(Duration::from_nanos(7)));
        for bad in ["", "S", "123456789S", "10s", "1.5S", "-1S", "10"] {
            assert_eq!(timeout_header(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn evaluate_timeout_parses_go_durations() {
        assert_eq!(evaluate_timeout("").ok(), Some(Duration::from_secs(300)));
        assert_eq!(evaluate_timeout("1m30s").ok(), Some(Duration::from_secs(90)));
        assert_eq!(evaluate_timeout("0").ok(), Some(Duration::ZERO));
        let e = evaluate_timeout("5x").expect_err("bad unit");
        assert_eq!(e.to_string(), "timeout: time: unknown unit \"x\" in duration \"5x\"");
        let e = evaluate_timeout("-1s").expect_err("negative");
        assert_eq!(e.to_string(), "timeout: must not be negative");
    }

    #[test]
    fn evaluate_wait_answers_before_the_deadline() {
        let five_min = Duration::from_secs(300);
        assert_eq!(evaluate_wait(five_min, None), five_min);
        assert_eq!(evaluate_wait(five_min, Some(Duration::from_secs(10))), Duration::from_millis(9500));
        assert_eq!(evaluate_wait(five_min, Some(Duration::from_secs(2))), Duration::from_millis(1800));
        assert_eq!(evaluate_wait(five_min, Some(Duration::from_millis(500))), Duration::from_millis(450));
        assert_eq!(evaluate_wait(Duration::from_secs(1), Some(Duration::from_secs(10))), Duration::from_secs(1));
    }

    #[test]
    fn errors_map_to_codes() {
        let status = Status::from(bad_request("spec", "bad"));
        assert_eq!((status.code(), status.message()), (tonic::Code::InvalidArgument, "spec: bad"));
        let status = Status::from(service::Error::Invalid { field: "args".into(), message: "x".into() });
        assert_eq!((status.code(), status.message()), (tonic::Code::InvalidArgument, "args: x"));
        let status = Status::from(service::Error::NotFound("run \"x\" not found".into()));
        assert_eq!((status.code(), status.message()), (tonic::Code::NotFound, "run \"x\" not found"));
        assert_eq!(Status::from(service::Error::Conflict("c".into())).code(), tonic::Code::AlreadyExists);
        assert_eq!(Status::from(service::Error::Unavailable).code(), tonic::Code::Unavailable);
        let status = Status::from(service::Error::Internal(StoreError::Corrupt("secret detail".into())));
        assert_eq!((status.code(), status.message()), (tonic::Code::Internal, "internal error"));
    }
}
