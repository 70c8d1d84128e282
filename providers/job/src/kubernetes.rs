//! Argo's form: one Kubernetes Job per measurement (`metricproviders/job/job.go`).
//!
//! Create → poll → decide, over plain `batch/v1` calls (create, get, delete) plus
//! `core/v1` pod list and log reads for the output. Polling `get` rather than a watch
//! keeps the needed permissions and the API surface small (reference: dependencies §5d).

use std::collections::BTreeMap;
use std::fmt;
use std::future::Future;
use std::time::Duration;

use augur_provider_api::{DecidedPhase, ErrorKind, MeasureContext, Outcome, ProviderError};
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::api::{Api, DeleteParams, ListParams, LogParams, PostParams};
use kube::{Client, Config};
use tokio::sync::{OnceCell, watch};
use tokio::time::Instant;

use crate::config::KubeJobConfig;
use crate::output::{MAX_LINES, go_duration, render_tail, section};
use crate::{Bound, Settings, decided, terminated_outcome, wait_terminated};

/// Argo's label holding the run's identity on every Job it creates.
const RUN_UID_LABEL: &str = "analysisrun.argoproj.io/uid";
/// Argo's annotation holding the run's name.
const RUN_NAME_ANNOTATION: &str = "analysisrun.argoproj.io/name";
/// Argo's annotation holding the metric's name.
const METRIC_NAME_ANNOTATION: &str = "analysisrun.argoproj.io/metric-name";
/// Argo's measurement metadata key for the Job's name.
const JOB_NAME_KEY: &str = "job-name";
/// augur's measurement metadata key for the Job's namespace.
const JOB_NAMESPACE_KEY: &str = "job-namespace";
/// The longest a Job name may be: the Job controller copies it into a pod label.
const MAX_NAME_LEN: usize = 63;
/// Consecutive transient poll failures tolerated; the next one ends the measurement.
const MAX_POLL_FAILURES: u32 = 2;
/// Waiting reasons of a container whose image will not come (Argo ⇒ Inconclusive).
const IMAGE_PULL_REASONS: [&str; 3] = ["ErrImagePull", "ImagePullBackOff", "InvalidImageName"];
/// Bytes of one container's log fetched.
const LOG_LIMIT_BYTES: i64 = 64 * 1024;

/// A validated Kubernetes-form metric.
pub(crate) struct KubeJob {
    cfg: KubeJobConfig,
    settings: Settings,
    /// Built on first use (it needs the runtime and may read files), then reused by every
    /// measurement of this metric.
    connection: OnceCell<Connection>,
}

impl fmt::Debug for KubeJob {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KubeJob")
            .field("labels", &self.cfg.labels)
            .field("namespace", &self.cfg.namespace)
            .field("timeout", &self.cfg.timeout)
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

/// A client and what it was configured from.
struct Connection {
    client: Client,
    url: String,
    default_namespace: String,
}

/// Where one measurement's Job lives.
struct Target {
    api: Api<Job>,
    namespace: String,
    name: String,
    url: String,
    request_timeout: Duration,
}

impl Target {
    fn metadata(&self) -> BTreeMap<String, String> {
        BTreeMap::from([
            (JOB_NAME_KEY.to_string(), self.name.clone()),
            (JOB_NAMESPACE_KEY.to_string(), self.namespace.clone()),
        ])
    }

    fn describe(&self) -> String {
        format!("{}/{}", self.namespace, self.name)
    }

    /// Maps a failed call to an actionable error.
    fn error(&self, action: &str, e: CallError) -> ProviderError {
        let what = format!("cannot {action} job {}", self.describe());
        let e = match e {
            CallError::Timeout => {
                return ProviderError::new(
                    ErrorKind::Timeout,
                    format!(
                        "{what}: the Kubernetes API at {} did not answer within {}",
                        self.url,
                        go_duration(self.request_timeout)
                    ),
                );
            }
            CallError::Kube(e) => e,
        };
        match e {
            kube::Error::Api(status) => {
                let code = status.code;
                let kind = match code {
                    401 | 403 => ErrorKind::Auth,
                    408 | 429 | 500..=599 => ErrorKind::Unavailable,
                    _ => ErrorKind::Rejected,
                };
                let hint = match code {
                    401 => " (check the credentials of the kubeconfig or service account augur uses)".to_string(),
                    403 => format!(
                        " (augur's identity needs create, get and delete on jobs.batch in namespace {:?}; list on \
                         pods and get on pods/log show the Job's output)",
                        self.namespace
                    ),
                    400 | 422 => " (the API server rejected the Job; check job.spec)".to_string(),
                    _ => String::new(),
                };
                let reason = if status.reason.is_empty() { String::new() } else { format!(" {}", status.reason) };
                let message = if status.message.is_empty() { String::new() } else { format!(": {}", status.message) };
                ProviderError::new(kind, format!("{what}: {code}{reason}{message}{hint}"))
            }
            kube::Error::SerdeError(e) => ProviderError::new(
                ErrorKind::Malformed,
                format!("{what}: the Kubernetes API at {} answered with an unexpected body: {e}", self.url),
            ),
            kube::Error::Auth(e) => ProviderError::new(
                ErrorKind::Auth,
                format!("{what}: cannot authenticate to the Kubernetes API: {}", error_chain(&e)),
            ),
            other => ProviderError::new(
                ErrorKind::Transport,
                format!("{what}: cannot reach the Kubernetes API at {}: {}", self.url, error_chain(&other)),
            ),
        }
    }

    /// Deletes the Job and its pods (propagation Background). A Job already gone is fine.
    async fn delete(&self) -> Result<(), ProviderError> {
        match call(self.request_timeout, self.api.delete(&self.name, &DeleteParams::background())).await {
            Ok(_) => Ok(()),
            Err(e) if e.code() == Some(404) => Ok(()),
            Err(e) => Err(self.error("delete", e)),
        }
    }
}

/// Why a call failed.
enum CallError {
    Timeout,
    Kube(kube::Error),
}

impl CallError {
    fn code(&self) -> Option<u16> {
        match self {
            CallError::Kube(kube::Error::Api(status)) => Some(status.code),
            _ => None,
        }
    }

    fn is_transient(&self) -> bool {
        match self {
            CallError::Timeout => true,
            CallError::Kube(kube::Error::Api(status)) => matches!(status.code, 408 | 429 | 500..=599),
            CallError::Kube(kube::Error::HyperError(_) | kube::Error::Service(_)) => true,
            CallError::Kube(_) => false,
        }
    }
}

/// One API call, bounded by `limit` ([`Settings::request_timeout`]).
async fn call<T>(limit: Duration, request: impl Future<Output = kube::Result<T>>) -> Result<T, CallError> {
    match tokio::time::timeout(limit, request).await {
        Ok(res) => res.map_err(CallError::Kube),
        Err(_) => Err(CallError::Timeout),
    }
}

impl KubeJob {
    pub(crate) fn new(cfg: KubeJobConfig, settings: Settings) -> KubeJob {
        KubeJob { cfg, settings, connection: OnceCell::new() }
    }

    pub(crate) fn timeout(&self) -> Option<Duration> {
        self.cfg.timeout
    }

    async fn connection(&self) -> Result<&Connection, ProviderError> {
        self.connection
            .get_or_try_init(|| async {
                let mut config = match &self.settings.kube_url {
                    Some(url) => Config::new(url.parse().map_err(|e| {
                        ProviderError::new(ErrorKind::Config, format!("AUGUR_KUBE_URL {url:?} is not a valid URL: {e}"))
                    })?),
                    None => Config::infer().await.map_err(|e| {
                        ProviderError::new(
                            ErrorKind::Config,
                            format!(
                                "no Kubernetes configuration found ({}); run augur in a cluster with a service \
                                 account, set KUBECONFIG, or set AUGUR_KUBE_URL",
                                error_chain(&e)
                            ),
                        )
                    })?,
                };
                // augur decides about retries: the engine retries an Error measurement after
                // 10 s, and polls tolerate transient failures. kube's default would retry a
                // 503 for minutes inside one call.
                config.default_retry = false;
                let url = config.cluster_url.to_string();
                let default_namespace = config.default_namespace.clone();
                let client = Client::try_from(config).map_err(|e| {
                    ProviderError::new(
                        ErrorKind::Config,
                        format!("cannot build a Kubernetes client for {url}: {}", error_chain(&e)),
                    )
                })?;
                Ok(Connection { client, url, default_namespace })
            })
            .await
    }

    /// One measurement: create the Job, wait for it, decide.
    pub(crate) async fn run(
        &self,
        ctx: &MeasureContext,
        bound: Option<Bound>,
        mut terminated: watch::Receiver<bool>,
    ) -> Result<Outcome, ProviderError> {
        if *terminated.borrow() {
            return Ok(terminated_outcome(BTreeMap::new()));
        }
        let ids = Ids::parse(&ctx.measurement_id)?;
        let deadline = bound.map(|b| Instant::now() + b.limit);
        let conn = self.connection().await?;
        let namespace = self
            .cfg
            .namespace
            .clone()
            .or_else(|| self.settings.namespace.clone())
            .unwrap_or_else(|| conn.default_namespace.clone());
        let target = Target {
            api: Api::namespaced(conn.client.clone(), &namespace),
            namespace,
            name: ids.job_name.clone(),
            url: conn.url.clone(),
            request_timeout: self.settings.request_timeout,
        };

        let job = self.job_object(&ids, &target);
        let limit = target.request_timeout;
        let mut guard = DeleteOnDrop { api: target.api.clone(), name: target.name.clone(), limit, armed: true };
        let created = match call(limit, target.api.create(&PostParams::default(), &job)).await {
            Ok(created) => created,
            Err(e) if e.code() == Some(409) => {
                // Someone else's Job must survive a refused take-over.
                guard.armed = false;
                let existing = self.adopt(&ids, &target).await?;
                guard.armed = true;
                existing
            }
            Err(e) => {
                // After a timeout or a 5xx the Job may exist all the same; the guard removes
                // it. After a definite refusal there is nothing to remove.
                guard.armed = e.is_transient();
                return Err(target.error("create", e));
            }
        };
        tracing::info!(message = "Job created.", job = %target.describe());
        let selector = pod_selector(&created, &target.name);
        let pods: Api<Pod> = Api::namespaced(conn.client.clone(), &target.namespace);

        let started = Instant::now();
        let mut job = created;
        let mut failures = 0;
        let mut watch_pods = true;
        loop {
            if let Some((phase, detail)) = finished(&job) {
                guard.armed = false;
                let summary = match phase {
                    DecidedPhase::Successful => format!("job {} completed", target.describe()),
                    _ => format!("job {} failed{detail}", target.describe()),
                };
                let logs = pod_logs(limit, &pods, &selector, phase).await;
                tracing::info!(message = "Job finished.", job = %target.describe(), ?phase);
                return Ok(decided(phase, join(summary, logs), target.metadata()));
            }
            let active = job.status.as_ref().and_then(|s| s.active).unwrap_or(0) > 0;
            let problem = if active && watch_pods {
                match image_pull_problem(limit, &pods, &selector).await {
                    Ok(problem) => problem,
                    // Without pod access, the Job's own status is all there is; stop asking.
                    Err(e) => {
                        watch_pods = !matches!(e.code(), Some(401 | 403));
                        None
                    }
                }
            } else {
                None
            };
            if let Some(problem) = problem {
                guard.armed = false;
                let mut summary = format!("job {}: {problem}; deleted the job", target.describe());
                if let Err(e) = target.delete().await {
                    summary = format!("job {}: {problem}; {}", target.describe(), e.message());
                }
                return Ok(decided(DecidedPhase::Inconclusive, summary, target.metadata()));
            }

            let delay = self.poll_delay(started.elapsed());
            tokio::select! {
                biased;
                () = wait_terminated(&mut terminated) => {
                    guard.armed = false;
                    target.delete().await?;
                    tracing::info!(message = "Job terminated.", job = %target.describe());
                    return Ok(terminated_outcome(target.metadata()));
                }
                () = sleep_until(deadline) => {
                    guard.armed = false;
                    let bound = bound.map_or_else(String::new, |b| format!("{} ({})", go_duration(b.limit), b.source));
                    let logs = pod_logs(limit, &pods, &selector, DecidedPhase::Inconclusive).await;
                    let cleanup = match target.delete().await {
                        Ok(()) => "deleted it".to_string(),
                        Err(e) => e.message().to_string(),
                    };
                    let summary = format!(
                        "job {} did not finish within {bound}; {cleanup} (spec.activeDeadlineSeconds lets \
                         Kubernetes fail it instead)",
                        target.describe()
                    );
                    return Err(ProviderError::new(ErrorKind::Timeout, join(summary, logs)));
                }
                () = tokio::time::sleep(delay) => {}
            }

            match call(limit, target.api.get(&target.name)).await {
                Ok(latest) => {
                    job = latest;
                    failures = 0;
                }
                Err(e) if e.code() == Some(404) => {
                    guard.armed = false;
                    return Err(ProviderError::new(
                        ErrorKind::Rejected,
                        format!("job {} was deleted by someone else before it finished", target.describe()),
                    ));
                }
                Err(e) if e.is_transient() && failures < MAX_POLL_FAILURES => {
                    failures += 1;
                    tracing::warn!(message = "Job poll failed; retrying.", job = %target.describe(), failures);
                }
                // The guard deletes the Job: nobody is waiting for it any more.
                Err(e) => return Err(target.error("get", e)),
            }
        }
    }

    /// The Job Argo would create, with augur's run and metric in Argo's label and annotations.
    fn job_object(&self, ids: &Ids, target: &Target) -> Job {
        let mut labels = self.cfg.labels.clone();
        labels.insert(RUN_UID_LABEL.to_string(), ids.run.clone());
        let mut annotations = self.cfg.annotations.clone();
        annotations.insert(RUN_NAME_ANNOTATION.to_string(), ids.run.clone());
        annotations.insert(METRIC_NAME_ANNOTATION.to_string(), ids.metric.clone());
        Job {
            metadata: ObjectMeta {
                name: Some(target.name.clone()),
                namespace: Some(target.namespace.clone()),
                labels: Some(labels),
                annotations: Some(annotations),
                ..ObjectMeta::default()
            },
            spec: Some(self.cfg.spec.clone()),
            status: None,
        }
    }

    /// A Job of that name already exists: Argo takes it over when the same run created it
    /// (a measurement retaken after a restart), and refuses otherwise.
    async fn adopt(&self, ids: &Ids, target: &Target) -> Result<Job, ProviderError> {
        let existing =
            call(target.request_timeout, target.api.get(&target.name)).await.map_err(|e| target.error("get", e))?;
        let owner = existing.metadata.labels.as_ref().and_then(|l| l.get(RUN_UID_LABEL));
        if owner != Some(&ids.run) {
            let owner = owner.map_or_else(|| "no such label".to_string(), |o| format!("{RUN_UID_LABEL}={o}"));
            return Err(ProviderError::new(
                ErrorKind::Rejected,
                format!(
                    "job {} already exists and was not created by run {:?} ({owner}); delete it or give augur a \
                     namespace of its own",
                    target.describe(),
                    ids.run
                ),
            ));
        }
        tracing::info!(message = "Duplicate job create detected; taking the existing Job over.", job = %target.describe());
        Ok(existing)
    }

    /// Argo's growing delay, √(2·elapsed) seconds, within the configured bounds.
    fn poll_delay(&self, elapsed: Duration) -> Duration {
        let secs = (2.0 * elapsed.as_secs_f64()).sqrt();
        Duration::from_secs_f64(secs).clamp(self.settings.min_poll_interval, self.settings.max_poll_interval)
    }
}

async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(d) => tokio::time::sleep_until(d).await,
        None => std::future::pending().await,
    }
}

/// Deletes the Job in the background if the measurement is abandoned without deciding
/// (an API error, or the engine dropping the measurement at its deadline).
struct DeleteOnDrop {
    api: Api<Job>,
    name: String,
    limit: Duration,
    armed: bool,
}

impl Drop for DeleteOnDrop {
    fn drop(&mut self) {
        if !self.armed {
            return;
        }
        let Ok(runtime) = tokio::runtime::Handle::try_current() else { return };
        let api = self.api.clone();
        let name = std::mem::take(&mut self.name);
        let limit = self.limit;
        runtime.spawn(async move {
            match call(limit, api.delete(&name, &DeleteParams::background())).await {
                Ok(_) => tracing::info!(message = "Deleted an abandoned Job.", job = %name),
                Err(e) if e.code() == Some(404) => {}
                Err(CallError::Kube(error)) => {
                    tracing::warn!(message = "Could not delete an abandoned Job.", job = %name, %error);
                }
                Err(CallError::Timeout) => {
                    tracing::warn!(message = "Could not delete an abandoned Job: timeout.", job = %name);
                }
            }
        });
    }
}

/// The run, metric and Job name of one measurement.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Ids {
    run: String,
    metric: String,
    job_name: String,
}

impl Ids {
    /// Splits `<run>.<metric>.<n>` and derives the Job name; run ids contain no dots,
    /// metric names may.
    fn parse(measurement_id: &str) -> Result<Ids, ProviderError> {
        let malformed = || {
            ProviderError::new(
                ErrorKind::Config,
                format!("measurement id {measurement_id:?} is not <run>.<metric>.<n>; cannot name the Job"),
            )
        };
        let (head, n) = measurement_id.rsplit_once('.').ok_or_else(malformed)?;
        let (run, metric) = head.split_once('.').ok_or_else(malformed)?;
        if run.is_empty() || metric.is_empty() || n.is_empty() || !n.bytes().all(|b| b.is_ascii_digit()) {
            return Err(malformed());
        }
        let job_name = job_name(measurement_id);
        if !is_dns_subdomain(&job_name) {
            return Err(ProviderError::new(
                ErrorKind::Config,
                format!(
                    "the Job name {job_name:?} is not a valid Kubernetes name: it is <run>.<metric>.<n>, so the \
                     metric name {metric:?} may use only lowercase letters, digits, '-' and '.'"
                ),
            ));
        }
        Ok(Ids { run: run.to_string(), metric: metric.to_string(), job_name })
    }
}

/// Argo's name, `<run>.<metric>.<n>`, when it fits 63 characters. A longer one keeps
/// its `.<n>` and a hash of what was cut, so successive measurements never collide.
fn job_name(measurement_id: &str) -> String {
    if measurement_id.len() <= MAX_NAME_LEN {
        return measurement_id.to_string();
    }
    let (head, n) = measurement_id.rsplit_once('.').unwrap_or((measurement_id, ""));
    let hash = format!("{:08x}", fnv1a(head.as_bytes()) as u32);
    let mut keep = MAX_NAME_LEN.saturating_sub(n.len() + 1 + hash.len() + 1);
    while !head.is_char_boundary(keep) {
        keep -= 1;
    }
    let prefix = head[..keep].trim_end_matches(['.', '-']);
    format!("{prefix}-{hash}.{n}")
}

fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3))
}

/// RFC 1123 subdomain, as Kubernetes checks object names.
fn is_dns_subdomain(name: &str) -> bool {
    name.len() <= 253
        && name.split('.').all(|label| {
            let b = label.as_bytes();
            !b.is_empty()
                && b.first().is_some_and(u8::is_ascii_alphanumeric)
                && b.last().is_some_and(u8::is_ascii_alphanumeric)
                && b.iter().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-')
        })
}

/// `Complete` ⇒ Successful, `Failed` ⇒ Failed (with `: <reason>: <message>`), else `None`.
/// As in Argo, a later condition overrides an earlier one.
fn finished(job: &Job) -> Option<(DecidedPhase, String)> {
    let conditions = job.status.as_ref()?.conditions.as_ref()?;
    let mut res = None;
    for c in conditions.iter().filter(|c| c.status == "True") {
        match c.type_.as_str() {
            "Complete" => res = Some((DecidedPhase::Successful, String::new())),
            "Failed" => {
                let detail = [c.reason.as_deref(), c.message.as_deref()]
                    .into_iter()
                    .flatten()
                    .filter(|s| !s.is_empty())
                    .collect::<Vec<_>>()
                    .join(": ");
                let detail = if detail.is_empty() { String::new() } else { format!(": {detail}") };
                res = Some((DecidedPhase::Failed, detail));
            }
            _ => {}
        }
    }
    res
}

/// The label selector of the Job's pods: the controller-uid label Kubernetes sets, or
/// the job-name label when the Job has no uid.
fn pod_selector(job: &Job, name: &str) -> String {
    match &job.metadata.uid {
        Some(uid) => format!("batch.kubernetes.io/controller-uid={uid}"),
        None => format!("job-name={name}"),
    }
}

/// A container of the Job's pods that waits for an image that will not come.
async fn image_pull_problem(limit: Duration, pods: &Api<Pod>, selector: &str) -> Result<Option<String>, CallError> {
    let list = call(limit, pods.list(&ListParams::default().labels(selector))).await?;
    for pod in &list.items {
        let pod_name = pod.metadata.name.as_deref().unwrap_or("?");
        let Some(status) = &pod.status else { continue };
        let statuses =
            status.init_container_statuses.iter().flatten().chain(status.container_statuses.iter().flatten());
        for cs in statuses {
            let Some(waiting) = cs.state.as_ref().and_then(|s| s.waiting.as_ref()) else { continue };
            let reason = waiting.reason.as_deref().unwrap_or("");
            if IMAGE_PULL_REASONS.contains(&reason) {
                let message = waiting.message.as_deref().map(|m| format!(": {m}")).unwrap_or_default();
                return Ok(Some(format!("container {:?} of pod {pod_name} cannot start: {reason}{message}", cs.name)));
            }
        }
    }
    Ok(None)
}

/// The end of the newest pod's log (the newest pod in `phase` when there is one), one
/// section per container. Missing permissions or logs are said, never fatal.
async fn pod_logs(limit: Duration, pods: &Api<Pod>, selector: &str, phase: DecidedPhase) -> Vec<String> {
    let list = match call(limit, pods.list(&ListParams::default().labels(selector))).await {
        Ok(list) => list,
        Err(CallError::Kube(kube::Error::Api(status))) => {
            return vec![format!(
                "(pod logs unavailable: cannot list the Job's pods: {} {}; augur's identity needs list on pods and \
                 get on pods/log)",
                status.code, status.message
            )];
        }
        Err(_) => return vec!["(pod logs unavailable: cannot list the Job's pods)".to_string()],
    };
    let wanted = match phase {
        DecidedPhase::Successful => "Succeeded",
        DecidedPhase::Failed => "Failed",
        DecidedPhase::Inconclusive => "Running",
    };
    let in_phase =
        newest(list.items.iter().filter(|p| p.status.as_ref().and_then(|s| s.phase.as_deref()) == Some(wanted)));
    let Some(pod) = in_phase.or_else(|| newest(list.items.iter())) else {
        return vec!["(no pod logs: the Job has no pods)".to_string()];
    };
    let pod_name = pod.metadata.name.clone().unwrap_or_default();
    let containers: Vec<String> =
        pod.spec.as_ref().map(|s| s.containers.iter().map(|c| c.name.clone()).collect()).unwrap_or_default();
    let mut sections = Vec::new();
    for container in containers {
        let params = LogParams {
            container: Some(container.clone()),
            tail_lines: Some(MAX_LINES as i64),
            limit_bytes: Some(LOG_LIMIT_BYTES),
            ..LogParams::default()
        };
        let title = format!("logs of pod {pod_name}, container {container}");
        match call(limit, pods.logs(&pod_name, &params)).await {
            Ok(text) => match render_tail(&text, false) {
                // tailLines already cut the log; say so whenever the cut may have happened.
                Some((shown, cut)) => {
                    let cut = cut || shown.lines().count() >= MAX_LINES;
                    sections.extend(section(&title, Some((shown, cut))));
                }
                None => sections.push(format!("{title}: (empty)")),
            },
            Err(CallError::Kube(kube::Error::Api(status))) => {
                sections.push(format!("({title} unavailable: {} {})", status.code, status.message));
            }
            Err(_) => sections.push(format!("({title} unavailable)")),
        }
    }
    sections
}

/// The most recently created pod.
fn newest<'a>(pods: impl Iterator<Item = &'a Pod>) -> Option<&'a Pod> {
    pods.max_by(|a, b| a.metadata.creation_timestamp.cmp(&b.metadata.creation_timestamp))
}

fn join(summary: String, sections: Vec<String>) -> String {
    std::iter::once(summary).chain(sections).collect::<Vec<_>>().join("\n")
}

/// `e: cause: cause…`, each distinct message once.
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut parts = vec![e.to_string()];
    let mut source = e.source();
    while let Some(s) = source {
        let text = s.to_string();
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        source = s.source();
    }
    parts.join(": ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn job_names_are_argos_and_unique_when_long() {
        let ids = Ids::parse("0190b2c4-1d2e-7f00-8000-0123456789ab.error-rate.3").unwrap();
        assert_eq!(ids.run, "0190b2c4-1d2e-7f00-8000-0123456789ab");
        assert_eq!(ids.metric, "error-rate");
        assert_eq!(ids.job_name, "0190b2c4-1d2e-7f00-8000-0123456789ab.error-rate.3");
        let ids = Ids::parse("run-1.http.v2.latency.12").unwrap();
        assert_eq!((ids.run.as_str(), ids.metric.as_str()), ("run-1", "http.v2.latency"));

        let long = format!("0190b2c4-1d2e-7f00-8000-0123456789ab.{}", "a".repeat(40));
        let (a, b) = (job_name(&format!("{long}.1")), job_name(&format!("{long}.2")));
        assert!(a.len() <= MAX_NAME_LEN && b.len() <= MAX_NAME_LEN, "{a}");
        assert!(a.ends_with(".1") && b.ends_with(".2") && a[..a.len() - 2] == b[..b.len() - 2], "{a} {b}");
        assert!(is_dns_subdomain(&a), "{a}");
    }

    #[test]
    fn invalid_names_are_refused_before_any_request() {
        let e = Ids::parse("run-1.Error_Rate.1").unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Config);
        assert!(e.message().contains("\"Error_Rate\" may use only lowercase"), "{}", e.message());
        assert!(Ids::parse("").is_err());
        assert!(Ids::parse("run.metric").is_err());
        assert!(Ids::parse("run.metric.x").is_err());
    }

    #[test]
    fn dns_subdomains() {
        assert!(is_dns_subdomain("run-1.smoke.1"));
        for bad in ["", "a..b", "-a", "a-", "A", "a_b", ".a"] {
            assert!(!is_dns_subdomain(bad), "{bad}");
        }
    }
}
