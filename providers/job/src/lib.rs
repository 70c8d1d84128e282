//! Argo Rollouts' `job` metric provider for augur, plus a local `command` form.
//!
//! A job decides its measurement's phase itself; the metric's conditions are not used
//! (reference §1.3, §1.8). Two forms share `provider.job`, told apart by their keys:
//!
//! * **Kubernetes Job** (Argo's form: `metadata {labels, annotations}` + `spec`, a
//!   `batch/v1` `JobSpec`). Each measurement creates the Job `<run>.<metric>.<n>` (the
//!   engine's [`MeasureContext::measurement_id`], Argo's naming), labelled
//!   `analysisrun.argoproj.io/uid=<run>` and annotated with the run and metric names as
//!   Argo does, then polls it with Argo's growing delay (√(2·elapsed) s). `Complete` ⇒
//!   Successful, `Failed` ⇒ Failed (with the condition's reason), a container that cannot
//!   pull its image ⇒ Inconclusive. Terminating the run deletes the Job (propagation
//!   Background) and the measurement becomes Inconclusive with Argo's message
//!   `Metric Terminated`. The tail of the newest pod's log is captured in the message.
//! * **Command** (augur only: `command`, `timeout`, `env`, `workingDir`, `inheritEnv`). Each
//!   measurement runs a local process in its own process group: exit 0 ⇒ Successful,
//!   anything else ⇒ Failed, with the exit status and the tails of stdout and stderr in the
//!   message. A timeout kills the group and is an Error; terminate kills it ⇒ Inconclusive.
//!
//! Where the Kubernetes API is and which namespace to use come from the environment
//! ([`Settings::from_env`]): `AUGUR_KUBE_URL` (a plain URL, no credentials), else
//! `KUBECONFIG` / `~/.kube/config`, else the in-cluster service account;
//! `AUGUR_JOB_NAMESPACE` unless the block sets `metadata.namespace`.
//!
//! Deliberate differences from Argo: a Job augur stops waiting for (timeout, image pull
//! failure, terminate, the engine dropping the measurement) is always deleted, because no
//! AnalysisRun owns it; a name longer than 63 characters keeps its `.<n>` suffix and
//! gets a hash instead of being cut; polls tolerate two consecutive transient API errors.
//!
//! What this crate is not: it does not garbage-collect finished Jobs (set
//! `ttlSecondsAfterFinished`), and it never evaluates conditions.
#![deny(missing_docs)]

mod command;
mod config;
mod kubernetes;
mod output;

use std::collections::BTreeMap;
use std::sync::LazyLock;
use std::time::Duration;

use augur_provider_api::{
    BuildError, DecidedPhase, MeasureContext, MetricProvider, Outcome, ProviderError, ProviderFactory,
};
use tokio::sync::watch;

use crate::config::JobConfig;

/// The message of a measurement stopped by terminate, as Argo's controller writes it.
pub const TERMINATED_MESSAGE: &str = "Metric Terminated";

/// The phase of a measurement stopped by terminate (reference §1.8, §2.6).
pub const TERMINATED_PHASE: DecidedPhase = DecidedPhase::Inconclusive;

/// Where the `job` provider finds Kubernetes, and how fast it polls.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// The API server's URL, used as-is with no credentials (`AUGUR_KUBE_URL`). `None`:
    /// the kubeconfig (`KUBECONFIG` or `~/.kube/config`), else the in-cluster service account.
    pub kube_url: Option<String>,
    /// The namespace for Jobs whose block sets no `metadata.namespace`
    /// (`AUGUR_JOB_NAMESPACE`). `None`: the kubeconfig context's namespace, the service
    /// account's namespace, or `default`.
    pub namespace: Option<String>,
    /// The shortest delay between two polls of a Job.
    pub min_poll_interval: Duration,
    /// The longest delay between two polls of a Job.
    pub max_poll_interval: Duration,
    /// The limit on one Kubernetes API request.
    pub request_timeout: Duration,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            kube_url: None,
            namespace: None,
            min_poll_interval: Duration::from_secs(1),
            max_poll_interval: Duration::from_secs(30),
            request_timeout: Duration::from_secs(30),
        }
    }
}

impl Settings {
    /// Reads `AUGUR_KUBE_URL` and `AUGUR_JOB_NAMESPACE` (empty counts as unset).
    pub fn from_env() -> Settings {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
        Settings { kube_url: var("AUGUR_KUBE_URL"), namespace: var("AUGUR_JOB_NAMESPACE"), ..Settings::default() }
    }
}

/// Builds `job` providers from a metric's `provider.job` block.
///
/// ```
/// use augur_provider_api::ProviderFactory;
/// use augur_provider_job::{JobFactory, Settings};
///
/// let factory = JobFactory::new(Settings::default());
/// let provider = factory
///     .build(&serde_json::json!({"command": ["sh", "-c", "exit 0"], "timeout": "30s"}))
///     .expect("valid block");
/// assert_eq!(provider.kind(), "job");
/// ```
#[derive(Debug, Clone, Default)]
pub struct JobFactory {
    settings: Settings,
}

impl JobFactory {
    /// A factory with explicit settings (tests, embedding).
    pub fn new(settings: Settings) -> JobFactory {
        JobFactory { settings }
    }

    /// The process-wide factory, configured from the environment once, on first use.
    pub fn from_env() -> &'static JobFactory {
        static FACTORY: LazyLock<JobFactory> = LazyLock::new(|| JobFactory::new(Settings::from_env()));
        &FACTORY
    }
}

impl ProviderFactory for JobFactory {
    fn kind(&self) -> &'static str {
        "job"
    }

    fn build(&self, config: &serde_json::Value) -> Result<Box<dyn MetricProvider>, BuildError> {
        let form = match JobConfig::parse(config)? {
            JobConfig::Kubernetes(cfg) => {
                Form::Kubernetes(Box::new(kubernetes::KubeJob::new(*cfg, self.settings.clone())))
            }
            JobConfig::Command(cfg) => Form::Command(cfg),
        };
        let (terminated, _) = watch::channel(false);
        Ok(Box::new(JobProvider { form, terminated }))
    }
}

/// A validated `job` metric, ready to measure.
#[derive(Debug)]
struct JobProvider {
    form: Form,
    /// Set once by `terminate`. A provider belongs to one metric of one run, and a
    /// terminating run never starts another measurement, so the flag is never cleared:
    /// a measurement that had not yet started when terminate came stops before it
    /// creates anything.
    terminated: watch::Sender<bool>,
}

#[derive(Debug)]
enum Form {
    Kubernetes(Box<kubernetes::KubeJob>),
    Command(config::CommandConfig),
}

#[async_trait::async_trait]
impl MetricProvider for JobProvider {
    fn kind(&self) -> &'static str {
        "job"
    }

    async fn measure(&self, ctx: &MeasureContext) -> Result<Outcome, ProviderError> {
        let terminated = self.terminated.subscribe();
        match &self.form {
            Form::Kubernetes(job) => job.run(ctx, bound(job.timeout(), ctx.deadline), terminated).await,
            Form::Command(cfg) => command::run(cfg, bound(Some(cfg.timeout), ctx.deadline), terminated).await,
        }
    }

    /// Stops the in-flight measurement: its Job is deleted or its process group killed,
    /// and the measurement ends as Argo's terminated Job does. The in-flight `measure`
    /// reports any failure to clean up as an Error measurement.
    async fn terminate(&self, _ctx: &MeasureContext) -> Result<(), ProviderError> {
        self.terminated.send_replace(true);
        Ok(())
    }
}

/// The limit on one measurement and where it comes from, for messages.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Bound {
    pub(crate) limit: Duration,
    pub(crate) source: &'static str,
}

/// The stricter of the block's `timeout` and the engine's deadline. The deadline loses a
/// small margin, so the provider cleans up and reports before the engine gives up on it.
fn bound(timeout: Option<Duration>, deadline: Option<Duration>) -> Option<Bound> {
    let deadline = deadline.map(|d| d.saturating_sub((d / 10).min(Duration::from_secs(1))));
    match (timeout, deadline) {
        (Some(t), Some(d)) if d < t => Some(Bound { limit: d, source: "the measurement deadline" }),
        (Some(t), _) => Some(Bound { limit: t, source: "job.timeout" }),
        (None, Some(d)) => Some(Bound { limit: d, source: "the measurement deadline" }),
        (None, None) => None,
    }
}

/// A phase the job decided.
pub(crate) fn decided(phase: DecidedPhase, message: String, metadata: BTreeMap<String, String>) -> Outcome {
    Outcome::Decided { phase, message, value: String::new(), metadata }
}

/// The outcome of a terminated measurement.
pub(crate) fn terminated_outcome(metadata: BTreeMap<String, String>) -> Outcome {
    decided(TERMINATED_PHASE, TERMINATED_MESSAGE.to_string(), metadata)
}

/// Resolves when terminate has been called (never, if the provider is gone).
pub(crate) async fn wait_terminated(rx: &mut watch::Receiver<bool>) {
    if rx.wait_for(|t| *t).await.is_err() {
        std::future::pending::<()>().await;
    }
}

/// Sleeps for `limit`, or forever without one.
pub(crate) async fn sleep_for(limit: Option<Duration>) {
    match limit {
        Some(d) => tokio::time::sleep(d).await,
        None => std::future::pending().await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bound_is_the_stricter_limit() {
        let s = Duration::from_secs;
        let b = bound(Some(s(60)), Some(s(300))).unwrap();
        assert_eq!((b.limit, b.source), (s(60), "job.timeout"));
        let b = bound(Some(s(600)), Some(s(300))).unwrap();
        assert_eq!((b.limit, b.source), (s(299), "the measurement deadline"));
        let b = bound(None, Some(Duration::from_millis(500))).unwrap();
        assert_eq!(b.limit, Duration::from_millis(450));
        assert!(bound(None, None).is_none());
    }
}
