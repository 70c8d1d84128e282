//! The service's operations, shared by both transports (gRPC and HTTP/JSON).
//!
//! Everything here speaks domain types; `api/` converts to and from the wire and maps
//! [`Error`] to a status code in exactly one place per transport. Client mistakes are
//! typed (`Invalid`, `NotFound`, `Conflict`) and carry a one-line message that names the
//! field; `Internal` is reserved for the store failing.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use tokio::sync::watch;

use crate::model::{Phase, RunStatus, Timestamp};
use crate::runner::now;
use crate::scheduler::{Scheduler, fnv1a};
use crate::store::{Inserted, RunFilter, RunRecord, RunSpec, Store, StoreError, StoredTemplate, TtlStrategy};
use crate::template::{self, SecretSource, Template, TemplateKind, resolve};

/// The reserved namespace of ClusterAnalysisTemplates (Kubernetes namespaces cannot
/// start with `_`).
pub const CLUSTER_NAMESPACE: &str = "_cluster";
/// The namespace of a request that names none.
pub const DEFAULT_NAMESPACE: &str = "default";
/// Largest page of `ListRuns`.
pub const MAX_PAGE: usize = 1000;
/// Page size when the caller gives none.
pub const DEFAULT_PAGE: usize = 100;

/// Why an operation failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The request is malformed (unparseable body, bad parameter): 400.
    #[error("{field}: {message}")]
    BadRequest {
        /// The field path.
        field: String,
        /// What is wrong.
        message: String,
    },
    /// The request parses but is not valid (Argo's validation): 422.
    #[error("{field}: {message}")]
    Invalid {
        /// The field path.
        field: String,
        /// What is wrong.
        message: String,
    },
    /// No such run or template: 404.
    #[error("{0}")]
    NotFound(String),
    /// A `runKey` reused with a different spec: 409.
    #[error("{0}")]
    Conflict(String),
    /// The server is shutting down: 503.
    #[error("server is shutting down")]
    Unavailable,
    /// The store failed: 500, logged once by the transport.
    #[error("internal error")]
    Internal(#[source] StoreError),
}

impl From<StoreError> for Error {
    fn from(e: StoreError) -> Error {
        match e {
            StoreError::KeyConflict(..) => Error::Conflict(e.to_string()),
            other => Error::Internal(other),
        }
    }
}

fn bad(field: impl Into<String>, message: impl Into<String>) -> Error {
    Error::BadRequest { field: field.into(), message: crate::model::one_line(&message.into()).into_owned() }
}

fn invalid(field: impl Into<String>, message: impl Into<String>) -> Error {
    Error::Invalid { field: field.into(), message: crate::model::one_line(&message.into()).into_owned() }
}

/// A stored template by reference (Argo's `templateName` + `clusterScope`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TemplateRef {
    /// The template's name.
    pub name: String,
    /// A ClusterAnalysisTemplate instead of a namespaced one.
    pub cluster_scope: bool,
}

/// A request to start an analysis.
#[derive(Debug, Clone, Default)]
pub struct CreateRun {
    /// Namespace of the run and of its namespaced templates.
    pub namespace: String,
    /// Stored templates to merge.
    pub templates: Vec<TemplateRef>,
    /// Inline template documents (YAML or JSON), merged after `templates`.
    pub spec: Option<String>,
    /// Caller-supplied args.
    pub args: Vec<(String, String)>,
    /// Idempotency key.
    pub run_key: Option<String>,
    /// Caller labels.
    pub labels: BTreeMap<String, String>,
    /// Completed-run expiry.
    pub ttl: TtlStrategy,
}

/// An arg as shown to callers: secret args are `*****`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct ArgView {
    /// The arg's name.
    pub name: String,
    /// Its value, or `*****`.
    pub value: String,
}

/// The JSON a caller sees for a run: Argo's AnalysisRun `status` plus identity.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RunView {
    /// The run's id.
    pub id: String,
    /// Its namespace.
    pub namespace: String,
    /// The templates used (comma-separated), or `inline`.
    pub template: String,
    /// The merged args, secrets redacted.
    pub args: Vec<ArgView>,
    /// Caller labels.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    /// The idempotency key.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub run_key: Option<String>,
    /// When the run was created.
    pub created_at: Timestamp,
    /// Argo's status, flattened in.
    #[serde(flatten)]
    pub status: RunStatus,
}

impl From<&RunRecord> for RunView {
    fn from(r: &RunRecord) -> RunView {
        RunView {
            id: r.id.clone(),
            namespace: r.namespace.clone(),
            template: r.template.clone(),
            args: r
                .run_spec
                .args
                .iter()
                .map(|a| ArgView {
                    name: a.name.clone(),
                    value: if a.value_from.is_some() && a.value.is_none() {
                        "*****".to_string()
                    } else {
                        a.value.clone().unwrap_or_default()
                    },
                })
                .collect(),
            labels: r.labels.clone(),
            run_key: r.run_key.clone(),
            created_at: r.created_at,
            status: r.status.clone(),
        }
    }
}

/// Which runs to list.
#[derive(Debug, Clone, Default)]
pub struct ListRuns {
    /// Phases to include (empty: all).
    pub phases: Vec<String>,
    /// A template name.
    pub template: Option<String>,
    /// `k=v,k2=v2`.
    pub label_selector: Option<String>,
    /// Only this namespace.
    pub namespace: Option<String>,
    /// Page size.
    pub page_size: Option<usize>,
    /// Continue after this token.
    pub page_token: Option<String>,
}

/// The application: store, scheduler and secrets.
#[derive(Debug, Clone)]
pub struct Service {
    store: Arc<Store>,
    scheduler: Arc<Scheduler>,
    secrets: Arc<dyn SecretSource + Send + Sync>,
}

impl std::fmt::Debug for dyn SecretSource + Send + Sync {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretSource(*****)")
    }
}

fn check_name(field: &str, name: &str) -> Result<(), Error> {
    if name.is_empty() {
        return Err(bad(field, "must not be empty"));
    }
    if name.len() > 253 {
        return Err(bad(field, "must be at most 253 characters"));
    }
    if !name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.')
        || name.starts_with(['-', '.'])
        || name.ends_with(['-', '.'])
    {
        return Err(bad(
            field,
            format!(
                "{} is not a valid name: use lowercase letters, digits, '-' and '.', starting and ending with a letter or digit",
                crate::duration::go_quote(name)
            ),
        ));
    }
    Ok(())
}

fn check_namespace(field: &str, ns: &str) -> Result<(), Error> {
    if ns == CLUSTER_NAMESPACE { Ok(()) } else { check_name(field, ns) }
}

impl Service {
    /// The service over a store and a scheduler.
    pub fn new(store: Arc<Store>, scheduler: Arc<Scheduler>, secrets: Arc<dyn SecretSource + Send + Sync>) -> Service {
        Service { store, scheduler, secrets }
    }

    /// The store (for health checks and metrics).
    pub fn store(&self) -> &Arc<Store> {
        &self.store
    }

    /// The service's metrics.
    pub fn telemetry(&self) -> &Arc<crate::telemetry::Telemetry> {
        self.scheduler.telemetry()
    }

    /// The scheduler.
    pub fn scheduler(&self) -> &Arc<Scheduler> {
        &self.scheduler
    }

    // ---- runs ----

    /// Creates a run, or returns the run its `run_key` already names. The bool is true
    /// when a new run was created.
    pub fn create_run(&self, req: CreateRun) -> Result<(RunRecord, bool), Error> {
        if self.scheduler.is_shutting_down() {
            return Err(Error::Unavailable);
        }
        let namespace = if req.namespace.is_empty() { DEFAULT_NAMESPACE.to_string() } else { req.namespace.clone() };
        check_name("namespace", &namespace)?;
        if let Some(key) = &req.run_key
            && (key.is_empty() || key.len() > 256)
        {
            return Err(bad("runKey", "must be 1 to 256 characters"));
        }
        for (k, v) in &req.labels {
            if k.is_empty() || k.len() > 317 || v.len() > 63 {
                return Err(bad(format!("labels.{k}"), "keys must be 1 to 317 characters and values at most 63"));
            }
        }
        if req.templates.is_empty() && req.spec.as_deref().is_none_or(|s| s.trim().is_empty()) {
            return Err(bad("templates", "give at least one template reference or an inline spec"));
        }

        // Collect the documents: referenced templates (and what they reference), then inline.
        let mut documents: Vec<Template> = Vec::new();
        let mut names: Vec<String> = Vec::new();
        for (i, r) in req.templates.iter().enumerate() {
            check_name(&format!("templates[{i}].name"), &r.name)?;
            names.push(r.name.clone());
            self.collect(&namespace, r, &format!("templates[{i}]"), &mut documents, 0)?;
        }
        if let Some(text) = req.spec.as_deref().filter(|s| !s.trim().is_empty()) {
            let inline = template::parse_documents(text).map_err(|p| bad("spec", p.to_string()))?;
            for t in &inline {
                for (j, r) in t.spec.templates.iter().enumerate() {
                    let in_store = TemplateRef { name: r.template_name.clone(), cluster_scope: r.cluster_scope };
                    let given_inline = inline.iter().any(|c| {
                        c.name.as_deref() == Some(r.template_name.as_str())
                            && (c.kind == TemplateKind::ClusterAnalysisTemplate) == r.cluster_scope
                    });
                    if !given_inline {
                        self.collect(&namespace, &in_store, &format!("spec.templates[{j}]"), &mut documents, 1)?;
                    }
                }
            }
            names.push("inline".to_string());
            documents.extend(inline);
        }
        let spec = resolve::flatten(&documents).map_err(|e| invalid("spec", e))?;
        let args = resolve::merge_args(&req.args, &spec.args).map_err(|e| invalid("args", e))?;
        // Validate exactly as a run would, secrets included, before anything is stored.
        resolve::prepare(&spec, &args, &*self.secrets).map_err(|e| invalid("spec", e))?;

        let run_spec = RunSpec { spec, args };
        let fingerprint = serde_json::to_string(&(&namespace, &run_spec, &req.labels, &req.ttl))
            .map_err(|e| Error::Internal(StoreError::Corrupt(e.to_string())))?;
        // Millisecond precision: what the store keeps, so every read shows the same time.
        let created_at = Timestamp::from_millis(now().millis());
        let record = RunRecord {
            id: uuid::Uuid::now_v7().to_string(),
            run_key: req.run_key.clone(),
            spec_hash: format!("{:016x}", fnv1a(fingerprint.as_bytes())),
            namespace,
            template: names.join(","),
            labels: req.labels.clone(),
            run_spec,
            ttl: req.ttl,
            created_at,
            terminate_requested: false,
            status: RunStatus { phase: Phase::Pending, ..RunStatus::default() },
            expires_at: None,
        };
        match self.store.insert_run(&record)? {
            Inserted::Existing(existing) => Ok((self.current(*existing), false)),
            Inserted::New => {
                self.scheduler.start(record.clone());
                Ok((record, true))
            }
        }
    }

    /// Fetches a referenced template and, recursively, the templates it references.
    fn collect(
        &self,
        namespace: &str,
        r: &TemplateRef,
        field: &str,
        out: &mut Vec<Template>,
        depth: usize,
    ) -> Result<(), Error> {
        if depth > 16 {
            return Err(invalid(field, "templates nest more than 16 deep"));
        }
        let (ns, kind) = if r.cluster_scope {
            (CLUSTER_NAMESPACE, "ClusterAnalysisTemplate")
        } else {
            (namespace, "AnalysisTemplate")
        };
        let is_same = |t: &Template| {
            t.name.as_deref() == Some(r.name.as_str())
                && (t.kind == TemplateKind::ClusterAnalysisTemplate) == r.cluster_scope
        };
        if out.iter().any(is_same) {
            return Ok(());
        }
        let stored = self.store.template(ns, &r.name)?.ok_or_else(|| {
            if r.cluster_scope {
                invalid(format!("{field}.name"), format!("{kind} \"{}\" not found", r.name))
            } else {
                invalid(
                    format!("{field}.name"),
                    format!("{kind} \"{}\" not found in namespace \"{namespace}\"", r.name),
                )
            }
        })?;
        let t = template::parse::parse_document(stored.body.clone())
            .map_err(|p| Error::Internal(StoreError::Corrupt(format!("template {ns}/{}: {p}", r.name))))?;
        let nested = t.spec.templates.clone();
        out.push(t);
        for (j, n) in nested.iter().enumerate() {
            let child = TemplateRef { name: n.template_name.clone(), cluster_scope: n.cluster_scope };
            self.collect(namespace, &child, &format!("{field}.spec.templates[{j}]"), out, depth + 1)?;
        }
        Ok(())
    }

    /// The freshest state of a record: live if it is running here.
    fn current(&self, stored: RunRecord) -> RunRecord {
        self.scheduler.current(&stored.id).map_or(stored, |live| (*live).clone())
    }

    /// One run.
    pub fn get_run(&self, id: &str) -> Result<RunRecord, Error> {
        if let Some(live) = self.scheduler.current(id) {
            return Ok((*live).clone());
        }
        self.store.run(id)?.ok_or_else(|| Error::NotFound(format!("run {} not found", crate::duration::go_quote(id))))
    }

    /// Runs matching the query, newest first, and the token of the next page.
    pub fn list_runs(&self, q: &ListRuns) -> Result<(Vec<RunRecord>, Option<String>), Error> {
        let mut phases = Vec::new();
        for (i, p) in q.phases.iter().enumerate() {
            let phase: Phase = p.parse().map_err(|_| {
                bad(
                    format!("phase[{i}]"),
                    format!("unknown phase {p:?} (one of Pending, Running, Successful, Failed, Error, Inconclusive)"),
                )
            })?;
            phases.push(phase);
        }
        let mut labels = BTreeMap::new();
        for part in q.label_selector.iter().flat_map(|s| s.split(',')).filter(|s| !s.trim().is_empty()) {
            let Some((k, v)) = part.split_once('=') else {
                return Err(bad("labelSelector", format!("{part:?} is not key=value")));
            };
            labels.insert(k.trim().to_string(), v.trim().to_string());
        }
        let limit = q.page_size.unwrap_or(DEFAULT_PAGE);
        if limit == 0 || limit > MAX_PAGE {
            return Err(bad("pageSize", format!("must be between 1 and {MAX_PAGE}")));
        }
        let filter = RunFilter {
            phases,
            template: q.template.clone().filter(|t| !t.is_empty()),
            labels,
            namespace: q.namespace.clone().filter(|n| !n.is_empty()),
            limit: limit + 1,
            before: q.page_token.clone().filter(|t| !t.is_empty()),
        };
        let mut runs = self.store.list_runs(&filter)?;
        let next = if runs.len() > limit {
            runs.truncate(limit);
            runs.last().map(|r| r.id.clone())
        } else {
            None
        };
        Ok((runs.into_iter().map(|r| self.current(r)).collect(), next))
    }

    /// Status changes of a run: a receiver that holds the current state and sees every
    /// change. A completed run's receiver holds its final state and never changes.
    pub fn watch_run(&self, id: &str) -> Result<watch::Receiver<Arc<RunRecord>>, Error> {
        if let Some(rx) = self.scheduler.subscribe(id) {
            return Ok(rx);
        }
        let record = self.get_run(id)?;
        // Not running here: it completed (or completes on resume). A channel whose sender
        // is dropped keeps its last value and reports "closed" to the watcher.
        let (_tx, rx) = watch::channel(Arc::new(record));
        Ok(rx)
    }

    /// Terminates a run. Terminating a completed run changes nothing.
    pub fn terminate_run(&self, id: &str) -> Result<RunRecord, Error> {
        let record = self.get_run(id)?;
        if record.status.phase.is_completed() {
            return Ok(record);
        }
        self.store.request_terminate(id)?;
        self.scheduler.terminate(id);
        self.get_run(id)
    }

    /// Waits until the run completes or `wait` passes; returns its state then.
    pub async fn wait_run(&self, id: &str, wait: Duration) -> Result<RunRecord, Error> {
        let mut rx = self.watch_run(id)?;
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            let current = Arc::clone(&rx.borrow_and_update());
            if current.status.phase.is_completed() {
                return Ok((*current).clone());
            }
            tokio::select! {
                changed = rx.changed() => {
                    if changed.is_err() {
                        // The run task ended without completing (shutdown): report the stored state.
                        return self.get_run(id);
                    }
                }
                () = tokio::time::sleep_until(deadline) => return self.get_run(id),
            }
        }
    }

    // ---- templates ----

    /// Validates and stores a template document under `namespace`/`name`.
    pub fn put_template(&self, namespace: &str, name: &str, body: &str) -> Result<StoredTemplate, Error> {
        check_namespace("namespace", namespace)?;
        check_name("name", name)?;
        let docs = template::parse_documents(body).map_err(|p| bad("body", p.to_string()))?;
        let [t] = docs.as_slice() else {
            return Err(bad("body", format!("expected one template document, found {}", docs.len())));
        };
        let kind = match t.kind {
            TemplateKind::ClusterAnalysisTemplate => TemplateKind::ClusterAnalysisTemplate,
            TemplateKind::AnalysisTemplate | TemplateKind::Spec => TemplateKind::AnalysisTemplate,
        };
        match (kind, namespace == CLUSTER_NAMESPACE) {
            (TemplateKind::ClusterAnalysisTemplate, false) => {
                return Err(invalid(
                    "kind",
                    format!("a ClusterAnalysisTemplate belongs in namespace \"{CLUSTER_NAMESPACE}\""),
                ));
            }
            (TemplateKind::AnalysisTemplate, true) => {
                return Err(invalid(
                    "kind",
                    format!("namespace \"{CLUSTER_NAMESPACE}\" holds only ClusterAnalysisTemplates"),
                ));
            }
            _ => {}
        }
        if let Some(n) = &t.name
            && n != name
        {
            return Err(invalid("metadata.name", format!("{n:?} does not match the name in the path {name:?}")));
        }
        if let Some(ns) = &t.namespace
            && ns != namespace
            && kind == TemplateKind::AnalysisTemplate
        {
            return Err(invalid(
                "metadata.namespace",
                format!("{ns:?} does not match the namespace in the path {namespace:?}"),
            ));
        }
        // Argo's validation of the template on its own (its nested references are
        // resolved when a run uses it).
        let alone = Template { spec: template::TemplateSpec { templates: Vec::new(), ..t.spec.clone() }, ..t.clone() };
        if let Some(p) = resolve::lint_problems(&[alone]).into_iter().next() {
            return Err(invalid(
                if p.path.is_empty() { "spec".to_string() } else { format!("spec.{}", p.path) },
                p.message,
            ));
        }
        for (i, m) in t.spec.metrics.iter().enumerate() {
            let conditions = crate::condition::Conditions::new(m.dialect, &m.success_condition, &m.failure_condition);
            if let Some((field, msg)) = conditions.syntax_errors().into_iter().next() {
                return Err(invalid(format!("spec.metrics[{i}].{field}"), msg));
            }
        }
        let mut doc: serde_json::Value = serde_norway::from_str(body).map_err(|e| bad("body", e.to_string()))?;
        normalize_document(&mut doc, kind, namespace, name);
        Ok(self.store.put_template(namespace, name, kind.as_str(), &doc, now())?)
    }

    /// One template.
    pub fn get_template(&self, namespace: &str, name: &str) -> Result<StoredTemplate, Error> {
        self.store.template(namespace, name)?.ok_or_else(|| {
            Error::NotFound(format!(
                "template {}/{} not found",
                crate::duration::go_quote(namespace).trim_matches('"'),
                crate::duration::go_quote(name).trim_matches('"')
            ))
        })
    }

    /// Templates in a namespace, or all.
    pub fn list_templates(&self, namespace: Option<&str>) -> Result<Vec<StoredTemplate>, Error> {
        Ok(self.store.list_templates(namespace.filter(|n| !n.is_empty()))?)
    }

    /// Deletes a template; NotFound when there is none.
    pub fn delete_template(&self, namespace: &str, name: &str) -> Result<(), Error> {
        if self.store.delete_template(namespace, name)? {
            Ok(())
        } else {
            Err(self
                .get_template(namespace, name)
                .err()
                .unwrap_or_else(|| Error::NotFound("template not found".into())))
        }
    }
}

/// Stores every template as a full Argo document with its identity in `metadata`.
fn normalize_document(doc: &mut serde_json::Value, kind: TemplateKind, namespace: &str, name: &str) {
    let is_full = doc.get("kind").is_some() || doc.get("apiVersion").is_some();
    if !is_full {
        let spec = doc.get("spec").cloned().unwrap_or_else(|| doc.clone());
        *doc = serde_json::json!({ "spec": spec });
    }
    let Some(obj) = doc.as_object_mut() else { return };
    obj.entry("apiVersion").or_insert_with(|| "argoproj.io/v1alpha1".into());
    obj.insert("kind".into(), kind.as_str().into());
    let metadata = obj.entry("metadata").or_insert_with(|| serde_json::json!({}));
    if let Some(m) = metadata.as_object_mut() {
        m.insert("name".into(), name.into());
        if kind == TemplateKind::AnalysisTemplate {
            m.insert("namespace".into(), namespace.into());
        }
    }
}
