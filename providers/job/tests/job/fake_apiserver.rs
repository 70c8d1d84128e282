//! A stand-in kube-apiserver on 127.0.0.1 (no real one can be installed here; see
//! dependencies.md §5d). It serves what the provider calls, with the shapes of the
//! Kubernetes API reference:
//!
//! * `POST /apis/batch/v1/namespaces/{ns}/jobs` → 201 and the stored Job (uid,
//!   resourceVersion, creationTimestamp, the API server's spec defaults, `status: {}`),
//!   or 409 `AlreadyExists`;
//! * `GET` / `DELETE /apis/batch/v1/namespaces/{ns}/jobs/{name}` → the Job / a `Success`
//!   Status, or 404 `NotFound`;
//! * `GET /api/v1/namespaces/{ns}/pods?labelSelector=k=v` → a `PodList`;
//! * `GET /api/v1/namespaces/{ns}/pods/{name}/log?container=c&tailLines=n` → `text/plain`.
//!
//! Errors are `Status` objects (`{"kind":"Status","apiVersion":"v1","status":"Failure",
//! "message","reason","details","code"}`). Tests flip a Job to Complete or Failed with
//! the conditions the Job controller writes, add pods and logs, and inject faults.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

const NOW: &str = "2026-11-22T10:00:00Z";

/// One request the server saw.
#[derive(Debug, Clone)]
pub(crate) struct Recorded {
    pub(crate) method: String,
    pub(crate) path: String,
    pub(crate) query: String,
    pub(crate) body: Value,
}

/// An injected failure: the next `times` requests matching `method` and a path containing
/// `path_contains` get `status` with a Status body (or `raw` as text/html).
struct Fault {
    method: Method,
    path_contains: String,
    status: u16,
    reason: String,
    message: String,
    raw: Option<String>,
    times: usize,
}

#[derive(Default)]
struct Inner {
    jobs: BTreeMap<(String, String), Value>,
    pods: Vec<Value>,
    logs: BTreeMap<(String, String, String), String>,
    faults: Vec<Fault>,
    requests: Vec<Recorded>,
    next_uid: u64,
}

#[derive(Clone)]
pub(crate) struct FakeApiServer {
    addr: SocketAddr,
    inner: Arc<Mutex<Inner>>,
}

impl FakeApiServer {
    pub(crate) async fn start() -> FakeApiServer {
        let inner = Arc::new(Mutex::new(Inner::default()));
        let app = axum::Router::new().fallback(handle).with_state(Arc::clone(&inner));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind 127.0.0.1:0");
        let addr = listener.local_addr().expect("local addr");
        tokio::spawn(async move {
            axum::serve(listener, app).await.expect("fake apiserver");
        });
        FakeApiServer { addr, inner }
    }

    pub(crate) fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    pub(crate) fn requests(&self) -> Vec<Recorded> {
        self.lock().requests.clone()
    }

    pub(crate) fn job(&self, ns: &str, name: &str) -> Option<Value> {
        self.lock().jobs.get(&(ns.to_string(), name.to_string())).cloned()
    }

    /// Waits until the provider has created the Job.
    pub(crate) async fn wait_for_job(&self, ns: &str, name: &str) -> Value {
        for _ in 0..500 {
            if let Some(job) = self.job(ns, name) {
                return job;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!("job {ns}/{name} was never created; requests: {:?}", self.requests());
    }

    /// Stores a Job as if someone had created it before.
    pub(crate) fn put_job(&self, ns: &str, name: &str, labels: Value) -> Value {
        let mut inner = self.lock();
        let job = json!({
            "apiVersion": "batch/v1",
            "kind": "Job",
            "metadata": {"name": name, "namespace": ns, "labels": labels},
            "spec": {"template": {"spec": {"restartPolicy": "Never", "containers": [{"name": "c", "image": "busybox"}]}}},
        });
        inner.store_new(ns, job)
    }

    fn update_status(&self, ns: &str, name: &str, f: impl FnOnce(&mut Value)) {
        let mut inner = self.lock();
        let job = inner.jobs.get_mut(&(ns.to_string(), name.to_string())).expect("job exists");
        f(&mut job["status"]);
        let rv: u64 = job["metadata"]["resourceVersion"].as_str().unwrap_or("1").parse().unwrap_or(1);
        job["metadata"]["resourceVersion"] = json!((rv + 1).to_string());
    }

    /// The status the Job controller writes when the pods are running.
    pub(crate) fn set_active(&self, ns: &str, name: &str, active: i64) {
        self.update_status(ns, name, |s| {
            *s = json!({"active": active, "ready": 0, "startTime": NOW, "terminating": 0, "uncountedTerminatedPods": {}});
        });
    }

    /// The status the Job controller writes when the Job succeeded.
    pub(crate) fn complete(&self, ns: &str, name: &str) {
        self.update_status(ns, name, |s| {
            *s = json!({
                "conditions": [
                    {"type": "SuccessCriteriaMet", "status": "True", "lastProbeTime": NOW, "lastTransitionTime": NOW,
                     "reason": "CompletionsReached", "message": "Reached expected number of succeeded pods"},
                    {"type": "Complete", "status": "True", "lastProbeTime": NOW, "lastTransitionTime": NOW,
                     "reason": "CompletionsReached", "message": "Reached expected number of succeeded pods"}
                ],
                "startTime": NOW, "completionTime": NOW, "succeeded": 1, "ready": 0, "terminating": 0,
                "uncountedTerminatedPods": {}
            });
        });
    }

    /// The status the Job controller writes when the Job failed.
    pub(crate) fn fail(&self, ns: &str, name: &str, reason: &str, message: &str) {
        self.update_status(ns, name, |s| {
            *s = json!({
                "conditions": [
                    {"type": "FailureTarget", "status": "True", "lastProbeTime": NOW, "lastTransitionTime": NOW,
                     "reason": reason, "message": message},
                    {"type": "Failed", "status": "True", "lastProbeTime": NOW, "lastTransitionTime": NOW,
                     "reason": reason, "message": message}
                ],
                "startTime": NOW, "failed": 1, "ready": 0, "terminating": 0, "uncountedTerminatedPods": {}
            });
        });
    }

    /// Adds a pod of the Job, labelled as the Job controller labels it.
    pub(crate) fn add_pod(
        &self,
        ns: &str,
        job_name: &str,
        pod: &str,
        phase: &str,
        created: &str,
        waiting_reason: Option<&str>,
    ) {
        let mut inner = self.lock();
        let uid = inner.jobs[&(ns.to_string(), job_name.to_string())]["metadata"]["uid"].clone();
        let state = match waiting_reason {
            Some(reason) => json!({"waiting": {"reason": reason, "message": "Back-off pulling image \"nope:latest\""}}),
            None => {
                json!({"terminated": {"exitCode": if phase == "Failed" { 1 } else { 0 }, "reason": "Completed", "startedAt": NOW, "finishedAt": NOW}})
            }
        };
        inner.pods.push(json!({
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {
                "name": pod, "namespace": ns, "uid": format!("pod-{pod}"), "creationTimestamp": created,
                "labels": {
                    "batch.kubernetes.io/controller-uid": uid, "batch.kubernetes.io/job-name": job_name,
                    "controller-uid": uid, "job-name": job_name
                }
            },
            "spec": {"restartPolicy": "Never", "containers": [{"name": "check", "image": "busybox"}]},
            "status": {
                "phase": phase,
                "containerStatuses": [{"name": "check", "image": "busybox", "imageID": "", "ready": false,
                                       "restartCount": 0, "started": false, "state": state}]
            }
        }));
    }

    pub(crate) fn set_log(&self, ns: &str, pod: &str, container: &str, text: &str) {
        self.lock().logs.insert((ns.to_string(), pod.to_string(), container.to_string()), text.to_string());
    }

    /// The next `times` matching requests fail with a Status of `status`/`reason`.
    pub(crate) fn inject(
        &self,
        method: Method,
        path_contains: &str,
        status: u16,
        reason: &str,
        message: &str,
        times: usize,
    ) {
        self.lock().faults.push(Fault {
            method,
            path_contains: path_contains.to_string(),
            status,
            reason: reason.to_string(),
            message: message.to_string(),
            raw: None,
            times,
        });
    }

    /// The next `times` matching requests get a non-Status body (a proxy's error page).
    pub(crate) fn inject_raw(&self, method: Method, path_contains: &str, status: u16, body: &str, times: usize) {
        self.lock().faults.push(Fault {
            method,
            path_contains: path_contains.to_string(),
            status,
            reason: String::new(),
            message: String::new(),
            raw: Some(body.to_string()),
            times,
        });
    }
}

impl Inner {
    /// Stores a new Job with what the API server adds on create.
    fn store_new(&mut self, ns: &str, mut job: Value) -> Value {
        self.next_uid += 1;
        let name = job["metadata"]["name"].as_str().unwrap_or_default().to_string();
        job["metadata"]["namespace"] = json!(ns);
        job["metadata"]["uid"] = json!(format!("6f1c3f0e-0000-4000-8000-{:012x}", self.next_uid));
        job["metadata"]["resourceVersion"] = json!("1");
        job["metadata"]["generation"] = json!(1);
        job["metadata"]["creationTimestamp"] = json!(NOW);
        let spec = &mut job["spec"];
        for (field, default) in [("backoffLimit", json!(6)), ("completions", json!(1)), ("parallelism", json!(1))] {
            if spec.get(field).is_none() {
                spec[field] = default;
            }
        }
        spec["completionMode"] = json!("NonIndexed");
        spec["suspend"] = json!(false);
        job["status"] = json!({});
        self.jobs.insert((ns.to_string(), name), job.clone());
        job
    }
}

fn status(code: u16, reason: &str, message: &str, details: Value) -> Response {
    let body = json!({
        "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
        "message": message, "reason": reason, "details": details, "code": code
    });
    (StatusCode::from_u16(code).expect("valid status"), axum::Json(body)).into_response()
}

fn not_found(name: &str) -> Response {
    status(
        404,
        "NotFound",
        &format!("jobs.batch \"{name}\" not found"),
        json!({"name": name, "group": "batch", "kind": "jobs"}),
    )
}

fn query_param(query: &str, key: &str) -> Option<String> {
    query.split('&').filter_map(|kv| kv.split_once('=')).find(|(k, _)| *k == key).map(|(_, v)| percent_decode(v))
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let Ok(b) = u8::from_str_radix(&s[i + 1..i + 3], 16)
        {
            out.push(b);
            i += 3;
            continue;
        }
        out.push(if bytes[i] == b'+' { b' ' } else { bytes[i] });
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

async fn handle(State(inner): State<Arc<Mutex<Inner>>>, method: Method, uri: Uri, body: Bytes) -> Response {
    let path = uri.path().to_string();
    let query = uri.query().unwrap_or("").to_string();
    let body_json: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let mut inner = inner.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    inner.requests.push(Recorded {
        method: method.to_string(),
        path: path.clone(),
        query: query.clone(),
        body: body_json.clone(),
    });

    if let Some(i) =
        inner.faults.iter().position(|f| f.times > 0 && f.method == method && path.contains(&f.path_contains))
    {
        let fault = &mut inner.faults[i];
        fault.times -= 1;
        if let Some(raw) = &fault.raw {
            return (
                StatusCode::from_u16(fault.status).expect("valid"),
                [(header::CONTENT_TYPE, "text/html")],
                raw.clone(),
            )
                .into_response();
        }
        let details = if fault.status == 500 { json!({"causes": [{"message": fault.message}]}) } else { json!({}) };
        return status(fault.status, &fault.reason.clone(), &fault.message.clone(), details);
    }

    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    match (method.clone(), segments.as_slice()) {
        (Method::POST, ["apis", "batch", "v1", "namespaces", ns, "jobs"]) => {
            let Some(name) = body_json["metadata"]["name"].as_str().map(str::to_string) else {
                return status(422, "Invalid", "Job.batch \"\" is invalid: metadata.name: Required value", json!({}));
            };
            if body_json["kind"] != "Job" || body_json["apiVersion"] != "batch/v1" {
                return status(400, "BadRequest", "the object is not a batch/v1 Job", json!({}));
            }
            if inner.jobs.contains_key(&(ns.to_string(), name.clone())) {
                return status(
                    409,
                    "AlreadyExists",
                    &format!("jobs.batch \"{name}\" already exists"),
                    json!({"name": name, "group": "batch", "kind": "jobs"}),
                );
            }
            let job = inner.store_new(ns, body_json);
            (StatusCode::CREATED, axum::Json(job)).into_response()
        }
        (Method::GET, ["apis", "batch", "v1", "namespaces", ns, "jobs", name]) => {
            match inner.jobs.get(&(ns.to_string(), name.to_string())) {
                Some(job) => axum::Json(job.clone()).into_response(),
                None => not_found(name),
            }
        }
        (Method::DELETE, ["apis", "batch", "v1", "namespaces", ns, "jobs", name]) => {
            match inner.jobs.remove(&(ns.to_string(), name.to_string())) {
                Some(job) => {
                    let uid = job["metadata"]["uid"].clone();
                    inner.pods.retain(|p| p["metadata"]["labels"]["batch.kubernetes.io/controller-uid"] != uid);
                    let body = json!({
                        "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success",
                        "details": {"name": name, "group": "batch", "kind": "jobs", "uid": uid}
                    });
                    axum::Json(body).into_response()
                }
                None => not_found(name),
            }
        }
        (Method::GET, ["api", "v1", "namespaces", ns, "pods"]) => {
            let selector = query_param(&query, "labelSelector").unwrap_or_default();
            let (key, value) = selector.split_once('=').unwrap_or(("", ""));
            let items: Vec<Value> = inner
                .pods
                .iter()
                .filter(|p| p["metadata"]["namespace"] == *ns && p["metadata"]["labels"][key] == value)
                .cloned()
                .collect();
            axum::Json(
                json!({"kind": "PodList", "apiVersion": "v1", "metadata": {"resourceVersion": "7"}, "items": items}),
            )
            .into_response()
        }
        (Method::GET, ["api", "v1", "namespaces", ns, "pods", pod, "log"]) => {
            let container = query_param(&query, "container").unwrap_or_default();
            match inner.logs.get(&(ns.to_string(), pod.to_string(), container)) {
                Some(text) => {
                    let tail: usize =
                        query_param(&query, "tailLines").and_then(|t| t.parse().ok()).unwrap_or(usize::MAX);
                    let lines: Vec<&str> = text.lines().collect();
                    let shown = lines[lines.len().saturating_sub(tail)..].join("\n");
                    ([(header::CONTENT_TYPE, "text/plain")], format!("{shown}\n")).into_response()
                }
                None => {
                    status(404, "NotFound", &format!("pods \"{pod}\" not found"), json!({"name": pod, "kind": "pods"}))
                }
            }
        }
        _ => status(404, "NotFound", "the server could not find the requested resource", json!({})),
    }
}
