//! The HTTP/JSON API (axum). Same operations as gRPC, same port.
//!
//! Errors are mapped to HTTP in exactly one place ([`ApiError`]): a client's mistake is
//! a 4xx with `{"error": {"code", "reason", "field", "message"}}` and is not logged; a
//! store failure is an opaque 500 logged once. Request bodies are read as bytes under a
//! size limit and decoded with field paths, so a malformed body names the field.

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, Query, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::{Deserialize, Serialize};
use utoipa::{OpenApi, ToSchema};

use crate::service::{self, CreateRun, Error, ListRuns, RunView, Service, TemplateRef};
use crate::store::{RunRecord, StoredTemplate, TtlStrategy};

/// Longest `?wait=` honoured.
pub const MAX_WAIT: Duration = Duration::from_secs(600);

/// The error body.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    /// The error.
    pub error: ErrorDetail,
}

/// What went wrong.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorDetail {
    /// The HTTP status code.
    pub code: u16,
    /// `BadRequest`, `Invalid`, `NotFound`, `Conflict`, `PayloadTooLarge`, `Unavailable` or `Internal`.
    pub reason: &'static str,
    /// The field at fault, when there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// One line, naming the field.
    pub message: String,
}

/// The one mapping from service errors to HTTP responses.
#[derive(Debug)]
pub enum ApiError {
    /// An error from the service.
    Service(Error),
    /// The body is over the limit: 413.
    TooLarge,
}

impl From<Error> for ApiError {
    fn from(e: Error) -> ApiError {
        ApiError::Service(e)
    }
}

fn bad(field: &str, message: impl std::fmt::Display) -> ApiError {
    ApiError::Service(Error::BadRequest {
        field: field.to_string(),
        message: crate::model::one_line(&message.to_string()).into_owned(),
    })
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let e = match self {
            ApiError::Service(e) => e,
            ApiError::TooLarge => {
                let detail = ErrorDetail {
                    code: 413,
                    reason: "PayloadTooLarge",
                    field: Some("body".into()),
                    message: "body: request body is too large".into(),
                };
                return (StatusCode::PAYLOAD_TOO_LARGE, axum::Json(ErrorBody { error: detail })).into_response();
            }
        };
        let (status, reason, field) = match &e {
            Error::BadRequest { field, .. } => (StatusCode::BAD_REQUEST, "BadRequest", Some(field.clone())),
            Error::Invalid { field, .. } => (StatusCode::UNPROCESSABLE_ENTITY, "Invalid", Some(field.clone())),
            Error::NotFound(_) => (StatusCode::NOT_FOUND, "NotFound", None),
            Error::Conflict(_) => (StatusCode::CONFLICT, "Conflict", Some("runKey".to_string())),
            Error::Unavailable => (StatusCode::SERVICE_UNAVAILABLE, "Unavailable", None),
            Error::Internal(source) => {
                tracing::error!(message = "Request failed.", error = %source);
                (StatusCode::INTERNAL_SERVER_ERROR, "Internal", None)
            }
        };
        let body = ErrorBody { error: ErrorDetail { code: status.as_u16(), reason, field, message: e.to_string() } };
        (status, axum::Json(body)).into_response()
    }
}

fn body_rejection(r: BytesRejection) -> ApiError {
    if r.status() == StatusCode::PAYLOAD_TOO_LARGE {
        return ApiError::TooLarge;
    }
    bad("body", r.body_text())
}

/// Decodes a JSON body; the error names the field (`templates[0].name: invalid type…`).
fn decode<T: for<'de> Deserialize<'de>>(bytes: &[u8]) -> Result<T, ApiError> {
    let de = &mut serde_json::Deserializer::from_slice(bytes);
    serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        let field = if path == "." { "body".to_string() } else { path };
        bad(&field, e.inner())
    })
}

fn json<T: Serialize>(status: StatusCode, value: &T) -> Response {
    (status, axum::Json(value)).into_response()
}

// ---- request DTOs ----

/// A stored template to use.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TemplateRefBody {
    /// The template's name (Argo also spells it `templateName`).
    #[serde(alias = "templateName")]
    pub name: String,
    /// A ClusterAnalysisTemplate.
    #[serde(default)]
    pub cluster_scope: bool,
}

/// Args as Argo lists them (`[{name, value}]`) or as a map.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(untagged)]
pub enum ArgsBody {
    /// `[{"name": "service", "value": "checkout"}]`.
    List(Vec<ArgBody>),
    /// `{"service": "checkout"}`.
    Map(BTreeMap<String, String>),
}

impl Default for ArgsBody {
    fn default() -> ArgsBody {
        ArgsBody::List(Vec::new())
    }
}

/// One arg.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ArgBody {
    /// The arg's name.
    pub name: String,
    /// Its value.
    pub value: String,
}

/// `POST /v1/runs` and the run part of `POST /v1/evaluate`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateRunBody {
    /// Namespace of the run and its templates (default `default`).
    #[serde(default)]
    pub namespace: String,
    /// Stored templates to merge.
    #[serde(default)]
    pub templates: Vec<TemplateRefBody>,
    /// Inline templates: a YAML/JSON string of one or more documents, or a JSON object
    /// (a full AnalysisTemplate or a bare spec).
    #[serde(default)]
    #[schema(value_type = Object)]
    pub spec: Option<serde_json::Value>,
    /// Caller args.
    #[serde(default)]
    pub args: ArgsBody,
    /// Idempotency key.
    #[serde(default)]
    pub run_key: Option<String>,
    /// Labels to filter runs by.
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    /// Argo's ttlStrategy.
    #[serde(default)]
    pub ttl_strategy: Option<TtlStrategy>,
}

impl CreateRunBody {
    fn into_request(self) -> Result<CreateRun, ApiError> {
        let spec = match self.spec {
            None | Some(serde_json::Value::Null) => None,
            Some(serde_json::Value::String(s)) => Some(s),
            Some(v @ serde_json::Value::Object(_)) => Some(v.to_string()),
            Some(_) => return Err(bad("spec", "expected a YAML/JSON string or an object")),
        };
        let args = match self.args {
            ArgsBody::List(list) => list.into_iter().map(|a| (a.name, a.value)).collect(),
            ArgsBody::Map(map) => map.into_iter().collect(),
        };
        Ok(CreateRun {
            namespace: self.namespace,
            templates: self
                .templates
                .into_iter()
                .map(|t| TemplateRef { name: t.name, cluster_scope: t.cluster_scope })
                .collect(),
            spec,
            args,
            run_key: self.run_key.filter(|k| !k.is_empty()),
            labels: self.labels,
            ttl: self.ttl_strategy.unwrap_or_default(),
        })
    }
}

/// `?wait=30s`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct WaitQuery {
    /// Block until the run completes or this Go duration passes (max 10m).
    pub wait: Option<String>,
}

fn parse_wait(wait: Option<&str>) -> Result<Option<Duration>, ApiError> {
    let Some(w) = wait.filter(|w| !w.is_empty()) else { return Ok(None) };
    let ns = crate::duration::parse_go_duration(w).map_err(|e| bad("wait", e))?;
    if ns < 0 {
        return Err(bad("wait", "must not be negative"));
    }
    Ok(Some(Duration::from_nanos(ns.unsigned_abs()).min(MAX_WAIT)))
}

/// A page of runs.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RunList {
    /// Newest first.
    pub runs: Vec<RunView>,
    /// Pass as `pageToken` for the next page; absent on the last.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_page_token: Option<String>,
}

/// A stored template.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TemplateView {
    /// `_cluster` for ClusterAnalysisTemplates.
    pub namespace: String,
    /// The name.
    pub name: String,
    /// `AnalysisTemplate` or `ClusterAnalysisTemplate`.
    pub kind: String,
    /// Increments on every put.
    pub version: i64,
    /// First put.
    pub created_at: crate::model::Timestamp,
    /// Last put.
    pub updated_at: crate::model::Timestamp,
    /// The Argo document.
    #[schema(value_type = Object)]
    pub template: serde_json::Value,
}

impl From<StoredTemplate> for TemplateView {
    fn from(t: StoredTemplate) -> TemplateView {
        TemplateView {
            namespace: t.namespace,
            name: t.name,
            kind: t.kind,
            version: t.version,
            created_at: t.created_at,
            updated_at: t.updated_at,
            template: t.body,
        }
    }
}

/// Templates.
#[derive(Debug, Serialize, ToSchema)]
pub struct TemplateList {
    /// By namespace and name.
    pub templates: Vec<TemplateView>,
}

// ---- handlers ----

fn run_response(record: &RunRecord, created: bool) -> Response {
    let view = RunView::from(record);
    let location = format!("/v1/runs/{}", record.id);
    if record.status.phase.is_completed() {
        let mut res = json(StatusCode::OK, &view);
        if let Ok(v) = HeaderValue::from_str(&location) {
            res.headers_mut().insert(header::CONTENT_LOCATION, v);
        }
        return res;
    }
    let mut res = json(StatusCode::ACCEPTED, &view);
    if let Ok(v) = HeaderValue::from_str(&location) {
        res.headers_mut().insert(header::LOCATION, v);
    }
    res.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from_static("2"));
    if !created {
        res.headers_mut().insert("x-augur-existing-run", HeaderValue::from_static("true"));
    }
    res
}

/// Create a run.
#[utoipa::path(post, path = "/v1/runs", params(WaitQuery), request_body = CreateRunBody,
    responses(
        (status = 200, description = "The run is complete (now, or before `wait` ran out)", body = RunView),
        (status = 202, description = "The run is in progress; poll `Location`", body = RunView),
        (status = 400, description = "Malformed request", body = ErrorBody),
        (status = 409, description = "runKey reused with a different spec", body = ErrorBody),
        (status = 422, description = "Invalid template or args", body = ErrorBody),
    ))]
async fn create_run(
    State(service): State<Service>,
    Query(q): Query<WaitQuery>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let wait = parse_wait(q.wait.as_deref())?;
    let body = body.map_err(body_rejection)?;
    let request = decode::<CreateRunBody>(&body)?.into_request()?;
    let (record, created) = service.create_run(request)?;
    let record = match wait {
        Some(w) if !record.status.phase.is_completed() => service.wait_run(&record.id, w).await?,
        _ => record,
    };
    Ok(run_response(&record, created))
}

/// One run.
#[utoipa::path(get, path = "/v1/runs/{id}", params(("id" = String, Path, description = "Run id")),
    responses((status = 200, body = RunView), (status = 404, body = ErrorBody)))]
async fn get_run(State(service): State<Service>, Path(id): Path<String>) -> Result<Response, ApiError> {
    let record = service.get_run(&id)?;
    Ok(json(StatusCode::OK, &RunView::from(&record)))
}

/// Query of `GET /v1/runs`.
#[derive(Debug, Default, utoipa::IntoParams)]
pub struct ListQuery {
    /// Repeatable: `?phase=Running&phase=Failed`.
    pub phase: Vec<String>,
    /// A template name.
    pub template: Option<String>,
    /// `k=v,k2=v2`.
    #[param(rename = "labelSelector")]
    pub label_selector: Option<String>,
    /// Only this namespace.
    pub namespace: Option<String>,
    /// 1 to 1000 (default 100).
    #[param(rename = "pageSize")]
    pub page_size: Option<usize>,
    /// From `nextPageToken`.
    #[param(rename = "pageToken")]
    pub page_token: Option<String>,
}

fn parse_list_query(raw: Option<&str>) -> Result<ListQuery, ApiError> {
    let mut q = ListQuery::default();
    for pair in raw.unwrap_or_default().split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        let v = percent_decode(v).ok_or_else(|| bad(k, "invalid percent-encoding"))?;
        match k {
            "phase" => q.phase.extend(v.split(',').filter(|p| !p.is_empty()).map(str::to_string)),
            "template" => q.template = Some(v),
            "labelSelector" => q.label_selector = Some(v),
            "namespace" => q.namespace = Some(v),
            "pageSize" => q.page_size = Some(v.parse().map_err(|_| bad("pageSize", format!("{v:?} is not a number")))?),
            "pageToken" => q.page_token = Some(v),
            other => return Err(bad(other, "unknown query parameter")),
        }
    }
    Ok(q)
}

fn percent_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' => {
                let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
                out.push(u8::from_str_radix(hex, 16).ok()?);
                i += 3;
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8(out).ok()
}

/// List runs, newest first.
#[utoipa::path(get, path = "/v1/runs", params(ListQuery),
    responses((status = 200, body = RunList), (status = 400, body = ErrorBody)))]
async fn list_runs(State(service): State<Service>, RawQuery(raw): RawQuery) -> Result<Response, ApiError> {
    let q = parse_list_query(raw.as_deref())?;
    let (runs, next) = service.list_runs(&ListRuns {
        phases: q.phase,
        template: q.template,
        label_selector: q.label_selector,
        namespace: q.namespace,
        page_size: q.page_size,
        page_token: q.page_token,
    })?;
    let list = RunList { runs: runs.iter().map(RunView::from).collect(), next_page_token: next };
    Ok(json(StatusCode::OK, &list))
}

/// Status changes as server-sent events (`event: status`, data = the run), ending after
/// the terminal state.
#[utoipa::path(get, path = "/v1/runs/{id}/events", params(("id" = String, Path, description = "Run id")),
    responses((status = 200, description = "text/event-stream of RunView", content_type = "text/event-stream"),
              (status = 404, body = ErrorBody)))]
async fn run_events(State(service): State<Service>, Path(id): Path<String>) -> Result<Response, ApiError> {
    let rx = service.watch_run(&id)?;
    let stream = futures_util::stream::unfold((rx, false, true), |(mut rx, done, first)| async move {
        if done {
            return None;
        }
        if !first && rx.changed().await.is_err() {
            return None;
        }
        let record = std::sync::Arc::clone(&rx.borrow_and_update());
        let view = RunView::from(&*record);
        let terminal = record.status.phase.is_completed();
        let event = Event::default().event("status").json_data(&view).unwrap_or_else(|_| Event::default());
        Some((Ok::<Event, Infallible>(event), (rx, terminal, false)))
    });
    Ok(Sse::new(stream).keep_alive(KeepAlive::default()).into_response())
}

/// Terminate a run.
#[utoipa::path(post, path = "/v1/runs/{id}/terminate", params(("id" = String, Path, description = "Run id")),
    responses((status = 200, description = "Terminated (or already complete)", body = RunView),
              (status = 202, description = "Terminating: in-flight measurements are finishing", body = RunView),
              (status = 404, body = ErrorBody)))]
async fn terminate_run(State(service): State<Service>, Path(id): Path<String>) -> Result<Response, ApiError> {
    let record = service.terminate_run(&id)?;
    // Termination completes as soon as no measurement is in flight; give it a moment.
    let record =
        if record.status.phase.is_completed() { record } else { service.wait_run(&id, Duration::from_secs(2)).await? };
    Ok(run_response(&record, false))
}

/// Create or replace a template (YAML or JSON body).
#[utoipa::path(put, path = "/v1/templates/{namespace}/{name}",
    params(("namespace" = String, Path, description = "Namespace, or `_cluster` for a ClusterAnalysisTemplate"),
           ("name" = String, Path, description = "Template name")),
    request_body(content = String, description = "An AnalysisTemplate/ClusterAnalysisTemplate document or a bare spec, YAML or JSON", content_type = "application/yaml"),
    responses((status = 200, body = TemplateView), (status = 400, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn put_template(
    State(service): State<Service>,
    Path((namespace, name)): Path<(String, String)>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let body = body.map_err(body_rejection)?;
    let text = std::str::from_utf8(&body).map_err(|_| bad("body", "not UTF-8"))?;
    let t = service.put_template(&namespace, &name, text)?;
    Ok(json(StatusCode::OK, &TemplateView::from(t)))
}

/// One template.
#[utoipa::path(get, path = "/v1/templates/{namespace}/{name}",
    params(("namespace" = String, Path, description = "Namespace"), ("name" = String, Path, description = "Template name")),
    responses((status = 200, body = TemplateView), (status = 404, body = ErrorBody)))]
async fn get_template(
    State(service): State<Service>,
    Path((namespace, name)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    Ok(json(StatusCode::OK, &TemplateView::from(service.get_template(&namespace, &name)?)))
}

/// Delete a template.
#[utoipa::path(delete, path = "/v1/templates/{namespace}/{name}",
    params(("namespace" = String, Path, description = "Namespace"), ("name" = String, Path, description = "Template name")),
    responses((status = 204, description = "Deleted"), (status = 404, body = ErrorBody)))]
async fn delete_template(
    State(service): State<Service>,
    Path((namespace, name)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    service.delete_template(&namespace, &name)?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// All templates, or one namespace's.
#[utoipa::path(get, path = "/v1/templates", params(("namespace" = Option<String>, Query, description = "Only this namespace")),
    responses((status = 200, body = TemplateList)))]
async fn list_templates(
    State(service): State<Service>,
    Query(q): Query<BTreeMap<String, String>>,
) -> Result<Response, ApiError> {
    if let Some(k) = q.keys().find(|k| *k != "namespace") {
        return Err(bad(k, "unknown query parameter"));
    }
    let list = service.list_templates(q.get("namespace").map(String::as_str))?;
    Ok(json(StatusCode::OK, &TemplateList { templates: list.into_iter().map(TemplateView::from).collect() }))
}

/// One namespace's templates.
#[utoipa::path(get, path = "/v1/templates/{namespace}", params(("namespace" = String, Path, description = "Namespace")),
    responses((status = 200, body = TemplateList)))]
async fn list_namespace_templates(
    State(service): State<Service>,
    Path(namespace): Path<String>,
) -> Result<Response, ApiError> {
    let list = service.list_templates(Some(&namespace))?;
    Ok(json(StatusCode::OK, &TemplateList { templates: list.into_iter().map(TemplateView::from).collect() }))
}

/// `POST /v1/judge`: one canary-vs-baseline comparison.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct JudgeBody {
    /// Baseline samples (`null` = NaN).
    #[schema(value_type = Vec<Option<f64>>)]
    pub baseline: Vec<Option<f64>>,
    /// Canary samples (`null` = NaN).
    #[schema(value_type = Vec<Option<f64>>)]
    pub canary: Vec<Option<f64>>,
    /// An `analysisConfigurations.canary` object (Kayenta's keys; `augur` for the augur engine's own).
    #[serde(default)]
    #[schema(value_type = Object)]
    pub config: Option<serde_json::Value>,
    /// `augur` (default) or `kayenta`.
    #[serde(default)]
    pub engine: Option<String>,
    /// `either`, `increase` or `decrease` (overrides the config's).
    #[serde(default)]
    pub direction: Option<String>,
}

/// Judge a canary against a baseline.
#[utoipa::path(post, path = "/v1/judge", request_body = JudgeBody,
    responses((status = 200, description = "classification, reason, critical, estimate, ciLower, ciUpper, pValue (augur), effectSize, deviation, nBaseline, nCanary, varianceInflation (augur, continuous), engine"),
              (status = 400, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn judge(body: Result<Bytes, BytesRejection>) -> Result<Response, ApiError> {
    let body = body.map_err(body_rejection)?;
    let req: JudgeBody = decode(&body)?;
    let engine = match req.engine.as_deref().unwrap_or("augur") {
        "augur" => crate::judge::Engine::Augur,
        "kayenta" => crate::judge::Engine::Kayenta,
        other => return Err(bad("engine", format!("{other:?}: expected \"augur\" or \"kayenta\""))),
    };
    if let Some(d) = req.direction.as_deref()
        && !["either", "increase", "decrease"].contains(&d)
    {
        return Err(bad("direction", format!("{d:?}: expected either, increase or decrease")));
    }
    let values = |v: &[Option<f64>]| v.iter().map(|x| x.unwrap_or(f64::NAN)).collect::<Vec<f64>>();
    let config = req.config.unwrap_or_else(|| serde_json::json!({}));
    let (result, _) =
        crate::judge::judge(engine, &config, req.direction.as_deref(), &values(&req.baseline), &values(&req.canary))
            .map_err(|e| {
                let message = e.strip_prefix("config: ").unwrap_or(&e).to_string();
                ApiError::Service(Error::Invalid { field: "config".into(), message })
            })?;
    Ok(json(StatusCode::OK, &result))
}

/// Execute a Kayenta canary config against Prometheus.
#[utoipa::path(post, path = "/v1/canary",
    request_body(content = Object, description = "Kayenta's ad-hoc execution: {canaryConfig, executionRequest: {scopes: {<name>: {controlScope, experimentScope}}, thresholds: {pass, marginal}}, engine?: kayenta|augur, prometheus?: {address, …}}"),
    responses((status = 200, description = "Kayenta's execution status: {complete, status: succeeded|terminal, result: {judgeResult: {judgeName, score: {score, classification, classificationReason}, results, groupScores}}, metricSetPairList} or {exception}"),
              (status = 400, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn canary(body: Result<Bytes, BytesRejection>) -> Result<Response, ApiError> {
    let body = body.map_err(body_rejection)?;
    let req: crate::canary::CanaryRequest = decode(&body)?;
    let now = crate::runner::now().0.into();
    match crate::canary::execute(&req, now).await {
        Ok(result) => Ok(json(StatusCode::OK, &result)),
        Err(crate::canary::CanaryError::Invalid { field, message }) => {
            Err(ApiError::Service(Error::Invalid { field, message }))
        }
    }
}

/// Liveness: the process answers.
#[utoipa::path(get, path = "/healthz", responses((status = 200, description = "ok")))]
async fn healthz() -> &'static str {
    "ok\n"
}

/// Readiness: the store answers and the server is not shutting down.
#[utoipa::path(get, path = "/readyz", responses((status = 200, description = "ready"), (status = 503, description = "not ready")))]
async fn readyz(State(service): State<Service>) -> Response {
    if service.scheduler().is_shutting_down() {
        return (StatusCode::SERVICE_UNAVAILABLE, "shutting down\n").into_response();
    }
    match service.store().ping() {
        Ok(()) => (StatusCode::OK, "ok\n").into_response(),
        Err(error) => {
            tracing::warn!(message = "Readiness check failed.", %error);
            (StatusCode::SERVICE_UNAVAILABLE, "database unavailable\n").into_response()
        }
    }
}

/// Prometheus metrics.
#[utoipa::path(get, path = "/metrics", responses((status = 200, description = "Prometheus text format", content_type = "text/plain")))]
async fn metrics(State(state): State<Service>) -> Response {
    let by_phase = match state.store().runs_by_phase() {
        Ok(v) => v,
        Err(error) => return ApiError::Service(Error::Internal(error)).into_response(),
    };
    let mut headers = HeaderMap::new();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"));
    (headers, state.telemetry().render(&by_phase)).into_response()
}

/// This document.
#[utoipa::path(get, path = "/openapi.json", responses((status = 200, description = "OpenAPI 3 document")))]
async fn openapi_json() -> Response {
    ([(header::CONTENT_TYPE, "application/json")], openapi_document()).into_response()
}

/// The fallback of the merged gRPC + HTTP router: gRPC's `UNIMPLEMENTED` for a gRPC
/// request, a JSON 404 for anything else.
pub async fn fallback(headers: HeaderMap) -> Response {
    let is_grpc = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with("application/grpc"));
    if is_grpc {
        let mut res = StatusCode::OK.into_response();
        res.headers_mut().insert("grpc-status", HeaderValue::from_static("12"));
        res.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/grpc"));
        return res;
    }
    ApiError::Service(Error::NotFound("no such endpoint".into())).into_response()
}

/// The OpenAPI description of the HTTP API, generated from the handlers and DTOs above.
#[derive(OpenApi)]
#[openapi(
    info(title = "augur", description = "augur's HTTP/JSON API: Argo-compatible analysis runs and templates."),
    paths(
        create_run,
        get_run,
        list_runs,
        run_events,
        terminate_run,
        put_template,
        get_template,
        delete_template,
        list_templates,
        list_namespace_templates,
        judge,
        canary,
        healthz,
        readyz,
        metrics,
        openapi_json
    ),
    components(schemas(
        RunView,
        service::ArgView,
        crate::model::RunStatus,
        crate::model::MetricResult,
        crate::model::Measurement,
        crate::model::RunSummary,
        crate::model::Phase,
        crate::model::Timestamp,
        CreateRunBody,
        TemplateRefBody,
        ArgsBody,
        ArgBody,
        TtlStrategy,
        RunList,
        TemplateView,
        TemplateList,
        ErrorBody,
        ErrorDetail
    ))
)]
pub struct ApiDoc;

/// The OpenAPI document as pretty JSON (what `/openapi.json` serves and docs/openapi.json holds).
pub fn openapi_document() -> String {
    let mut doc = ApiDoc::openapi();
    doc.info.version = env!("CARGO_PKG_VERSION").to_string();
    doc.to_pretty_json().unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}")) + "\n"
}

/// The HTTP routes, with a request body limit in bytes. No fallback: the app sets
/// [`fallback`] on the merged router.
pub fn router(service: Service, body_limit: usize) -> Router {
    Router::new()
        .route("/v1/runs", post(create_run).get(list_runs))
        .route("/v1/runs/{id}", get(get_run))
        .route("/v1/judge", post(judge))
        .route("/v1/canary", post(canary))
        .route("/v1/runs/{id}/events", get(run_events))
        .route("/v1/runs/{id}/terminate", post(terminate_run))
        .route("/v1/templates", get(list_templates))
        .route("/v1/templates/{namespace}", get(list_namespace_templates))
        .route("/v1/templates/{namespace}/{name}", get(get_template).put(put_template).delete(delete_template))
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .route("/openapi.json", get(openapi_json))
        .layer(axum::extract::DefaultBodyLimit::max(body_limit))
        .with_state(service)
}
