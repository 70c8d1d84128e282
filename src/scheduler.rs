//! The scheduler: the pure engine driven by tokio for every run the service holds.
//!
//! Each non-terminal run has one task, owned by a `TaskTracker` and stopped through a
//! `CancellationToken`. The task loops: plan → start the due measurements (each in its
//! own task, so a run's metrics are measured in parallel, under a per-provider
//! concurrency limit and an overall timeout) → commit each finished measurement to the
//! store **before** it counts → assess → publish the new status → sleep until the next
//! due time, a result, a terminate request or shutdown.
//!
//! Ordering guarantees that make crash recovery exact:
//! - a measurement is committed (with the status it led to) before the run reacts to it,
//!   so after a crash every counted measurement is on disk;
//! - a measurement in flight at a crash is not on disk and is taken again on restart;
//!   it is the only measurement that can ever be taken twice;
//! - `interval` is measured from the last *finished* measurement, as in Argo, so a
//!   resumed run keeps its cadence.
//!
//! Runs created together get a deterministic per-run offset (a hash of the id within
//! `spread`) before their first measurement, so they do not hit a provider in lockstep.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use augur_provider_api::{MeasureContext, MetricProvider};
use tokio::sync::{Notify, Semaphore, mpsc, watch};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::engine::{Action, Analysis, EngineConfig, Run};
use crate::model::Phase;
use crate::runner::{Finished, MeasureLimits, now, spawn_measurement};
use crate::store::{RunRecord, Store};
use crate::telemetry::Telemetry;
use crate::template::{SecretSource, resolve};

/// How the scheduler runs measurements.
#[derive(Debug, Clone)]
pub struct SchedulerConfig {
    /// Engine settings (the retry delay after an Error).
    pub engine: EngineConfig,
    /// Window for the per-run offset before a run's first measurement.
    pub spread: Duration,
    /// Upper bound on one measurement, waiting for a concurrency permit included.
    pub measurement_timeout: Duration,
    /// Concurrent measurements per provider kind.
    pub provider_concurrency: BTreeMap<String, usize>,
    /// Concurrent measurements for a provider kind not listed above.
    pub default_concurrency: usize,
    /// Seconds a completed run stays when its `ttlStrategy` says nothing.
    pub completed_ttl_secs: i64,
    /// On shutdown, how long in-flight measurements may take to finish.
    pub shutdown_grace: Duration,
    /// How often expired runs are deleted.
    pub expiry_interval: Duration,
}

impl Default for SchedulerConfig {
    fn default() -> SchedulerConfig {
        SchedulerConfig {
            engine: EngineConfig::default(),
            spread: Duration::from_secs(1),
            measurement_timeout: Duration::from_secs(300),
            provider_concurrency: BTreeMap::new(),
            default_concurrency: 256,
            completed_ttl_secs: 7 * 24 * 3600,
            shutdown_grace: Duration::from_secs(10),
            expiry_interval: Duration::from_secs(60),
        }
    }
}

struct Active {
    updates: watch::Sender<Arc<RunRecord>>,
    terminate: Arc<Notify>,
}

/// Owns every running analysis.
pub struct Scheduler {
    store: Arc<Store>,
    secrets: Arc<dyn SecretSource + Send + Sync>,
    config: SchedulerConfig,
    telemetry: Arc<Telemetry>,
    active: Mutex<HashMap<String, Active>>,
    limits: Mutex<HashMap<String, Arc<Semaphore>>>,
    tracker: TaskTracker,
    token: CancellationToken,
}

impl std::fmt::Debug for Scheduler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Scheduler").field("config", &self.config).finish_non_exhaustive()
    }
}

/// FNV-1a, 64 bit: a stable hash (unlike std's) for offsets and request fingerprints.
pub fn fnv1a(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

impl Scheduler {
    /// A scheduler with nothing running yet.
    pub fn new(
        store: Arc<Store>,
        secrets: Arc<dyn SecretSource + Send + Sync>,
        config: SchedulerConfig,
        telemetry: Arc<Telemetry>,
    ) -> Arc<Scheduler> {
        Arc::new(Scheduler {
            store,
            secrets,
            config,
            telemetry,
            active: Mutex::default(),
            limits: Mutex::default(),
            tracker: TaskTracker::new(),
            token: CancellationToken::new(),
        })
    }

    fn active(&self) -> std::sync::MutexGuard<'_, HashMap<String, Active>> {
        self.active.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Resumes every non-terminal run in the store and starts the expiry janitor.
    pub fn resume_all(self: &Arc<Self>) -> Result<usize, crate::store::StoreError> {
        let runs = self.store.unfinished_runs()?;
        let n = runs.len();
        for record in runs {
            self.start(record);
        }
        let me = Arc::clone(self);
        self.tracker.spawn(async move { me.expire_loop().await });
        Ok(n)
    }

    async fn expire_loop(self: Arc<Self>) {
        loop {
            match self.store.expire_runs(now()) {
                Ok(0) => {}
                Ok(n) => tracing::info!(message = "Expired completed runs.", count = n),
                Err(error) => tracing::warn!(message = "Expiring runs failed.", %error),
            }
            tokio::select! {
                () = tokio::time::sleep(self.config.expiry_interval) => {}
                () = self.token.cancelled() => return,
            }
        }
    }

    /// Starts (or resumes) driving a stored run. A run whose spec can no longer be
    /// prepared (a secret was removed, say) completes as Error, as Argo would.
    pub fn start(self: &Arc<Self>, record: RunRecord) {
        if record.status.phase.is_completed() {
            return;
        }
        let prepared = resolve::prepare(&record.run_spec.spec, &record.run_spec.args, &*self.secrets);
        let analysis = match prepared {
            Ok(p) => Arc::new(Analysis::new(p)),
            Err(message) => {
                let status = Run::errored(&message, now());
                let expires = record.ttl.expiry(Phase::Error, now(), self.config.completed_ttl_secs);
                if let Err(error) = self.store.update_status(&record.id, &status, Some(expires)) {
                    tracing::error!(message = "Could not store a run's Error status.", run = %record.id, %error);
                }
                return;
            }
        };
        let run =
            Run::restore(Arc::clone(&analysis), self.config.engine, record.status.clone(), record.terminate_requested);
        let id = record.id.clone();
        let record = Arc::new(record);
        let (updates, _) = watch::channel(Arc::clone(&record));
        let terminate = Arc::new(Notify::new());
        self.active().insert(id.clone(), Active { updates: updates.clone(), terminate: Arc::clone(&terminate) });
        let me = Arc::clone(self);
        let token = self.token.child_token();
        self.tracker.spawn(async move {
            me.drive(record, analysis, run, updates, terminate, token).await;
            me.active().remove(&id);
        });
    }

    /// The live state of a running analysis (None once it is only in the store).
    pub fn current(&self, id: &str) -> Option<Arc<RunRecord>> {
        self.active().get(id).map(|a| Arc::clone(&a.updates.borrow()))
    }

    /// Status changes of a running analysis.
    pub fn subscribe(&self, id: &str) -> Option<watch::Receiver<Arc<RunRecord>>> {
        self.active().get(id).map(|a| a.updates.subscribe())
    }

    /// Asks a running analysis to terminate. False when it is not running here.
    pub fn terminate(&self, id: &str) -> bool {
        match self.active().get(id) {
            Some(a) => {
                a.terminate.notify_one();
                true
            }
            None => false,
        }
    }

    /// The service's metrics.
    pub fn telemetry(&self) -> &Arc<Telemetry> {
        &self.telemetry
    }

    /// How many runs are being driven.
    pub fn running(&self) -> usize {
        self.active().len()
    }

    /// True once shutdown has begun.
    pub fn is_shutting_down(&self) -> bool {
        self.token.is_cancelled()
    }

    /// Resolves when shutdown begins (for the health service to report NOT_SERVING).
    pub fn shutdown_started(&self) -> impl std::future::Future<Output = ()> + Send + 'static {
        self.token.clone().cancelled_owned()
    }

    /// Stops every run task: in-flight measurements get `shutdown_grace` to finish and be
    /// committed; the runs stay non-terminal in the store and resume on the next start.
    pub async fn shutdown(&self) {
        self.token.cancel();
        self.tracker.close();
        let deadline = self.config.shutdown_grace + Duration::from_secs(2);
        if tokio::time::timeout(deadline, self.tracker.wait()).await.is_err() {
            tracing::warn!(message = "Some runs did not stop in time; they resume on restart.");
        }
    }

    fn permits(&self, kind: &str) -> Arc<Semaphore> {
        let mut limits = self.limits.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let n = self.config.provider_concurrency.get(kind).copied().unwrap_or(self.config.default_concurrency);
        Arc::clone(limits.entry(kind.to_string()).or_insert_with(|| Arc::new(Semaphore::new(n.max(1)))))
    }

    fn offset(&self, id: &str) -> Duration {
        let window = u64::try_from(self.config.spread.as_millis()).unwrap_or(u64::MAX);
        if window == 0 { Duration::ZERO } else { Duration::from_millis(fnv1a(id.as_bytes()) % window) }
    }

    #[tracing::instrument(skip_all, fields(run = %published.id))]
    async fn drive(
        &self,
        mut published: Arc<RunRecord>,
        analysis: Arc<Analysis>,
        mut run: Run,
        updates: watch::Sender<Arc<RunRecord>>,
        terminate: Arc<Notify>,
        token: CancellationToken,
    ) {
        let providers: Vec<Result<Arc<dyn MetricProvider>, String>> = analysis
            .metrics
            .iter()
            .map(|p| crate::registry::build_with_secrets(&p.metric, Arc::clone(&self.secrets)))
            .collect();
        let kinds: Vec<String> =
            analysis.metrics.iter().map(|p| p.metric.provider_kind().unwrap_or("unknown").to_string()).collect();
        let (tx, mut rx) = mpsc::unbounded_channel::<Finished>();
        // Per metric: the sequence number of the next measurement (never reused).
        let mut seq: Vec<i64> = (0..analysis.metrics.len())
            .map(|i| {
                let name = &analysis.metrics[i].metric.name;
                run.status().metric_results.iter().find(|r| &r.name == name).map_or(0, |r| r.count + r.error)
            })
            .collect();
        let mut in_flight = 0usize;
        let mut stopping = false;
        let mut grace_deadline: Option<tokio::time::Instant> = None;

        // The per-run offset, before the very first measurement only.
        if run.status().started_at.is_none() {
            tokio::select! {
                () = tokio::time::sleep(self.offset(&published.id)) => {}
                () = token.cancelled() => return,
                () = terminate.notified() => run.terminate(),
            }
        }
        if published.terminate_requested {
            run.terminate();
        }

        loop {
            let t = now();
            if !stopping {
                for action in run.plan(t) {
                    match action {
                        Action::Measure(i) => {
                            if let Some(due) = run.metric_due(i) {
                                self.telemetry.lateness.observe((t.millis() - due.millis()).max(0) as f64 / 1000.0);
                            }
                            run.begin(i, t);
                            if seq[i] == 0
                                && let Ok(p) = &providers[i]
                            {
                                run.set_metric_metadata(i, p.metadata());
                            }
                            in_flight += 1;
                            let ctx = MeasureContext {
                                now: t.0.into(),
                                deadline: Some(self.config.measurement_timeout),
                                measurement_id: format!(
                                    "{}.{}.{}",
                                    published.id,
                                    analysis.metrics[i].metric.name,
                                    seq[i] + 1
                                ),
                            };
                            let limits = MeasureLimits {
                                permits: Some(self.permits(&kinds[i])),
                                timeout: Some(self.config.measurement_timeout),
                            };
                            spawn_measurement(
                                i,
                                providers[i].clone(),
                                analysis.metrics[i].conditions.clone(),
                                ctx,
                                limits,
                                tx.clone(),
                            );
                        }
                        Action::Terminate(i) => {
                            if let Ok(p) = providers[i].clone() {
                                let ctx =
                                    MeasureContext { now: t.0.into(), deadline: None, measurement_id: String::new() };
                                tokio::spawn(async move {
                                    if let Err(error) = p.terminate(&ctx).await {
                                        tracing::warn!(message = "Provider terminate failed.", %error);
                                    }
                                });
                            }
                        }
                    }
                }
            }
            run.assess(now());
            // Two copies of the status exist: the engine's and the published one.
            if run.status() != &published.status {
                let status = run.status();
                let expires = status
                    .completed_at
                    .map(|done| published.ttl.expiry(status.phase, done, self.config.completed_ttl_secs));
                if let Err(error) = self.store.update_status(&published.id, status, expires) {
                    tracing::error!(message = "Could not store a run's status; it resumes on restart.", %error);
                    return;
                }
                let mut next = RunRecord::clone(&published);
                next.status = status.clone();
                next.expires_at = expires.or(next.expires_at);
                published = Arc::new(next);
                updates.send_replace(Arc::clone(&published));
            }
            if run.is_completed() {
                tracing::info!(message = "Run completed.", phase = %run.status().phase);
                return;
            }
            if stopping && in_flight == 0 {
                return;
            }
            let next = if stopping { None } else { run.next_wakeup() };
            if next.is_none() && in_flight == 0 && !stopping {
                // Nothing can ever become due: end the run as Argo would on terminate.
                run.terminate();
                continue;
            }
            let sleep_until = next.map(|n| {
                tokio::time::Instant::now() + Duration::from_millis((n.millis() - now().millis()).max(0) as u64)
            });
            tokio::select! {
                Some((i, m)) = rx.recv() => {
                    in_flight -= 1;
                    let finished = now();
                    let latency = m.started_at.map_or(0.0, |s| (finished.millis() - s.millis()).max(0) as f64 / 1000.0);
                    self.telemetry.measured(&kinds[i], m.phase.as_str(), latency);
                    run.complete(i, *m, finished);
                    if !self.commit_measurement(&published.id, &analysis, &run, i, seq[i]) {
                        return;
                    }
                    seq[i] += 1;
                }
                () = async {
                    match (sleep_until, grace_deadline) {
                        (_, Some(g)) => tokio::time::sleep_until(g).await,
                        (Some(t), None) => tokio::time::sleep_until(t).await,
                        (None, None) => std::future::pending().await,
                    }
                } => {
                    if grace_deadline.is_some_and(|g| tokio::time::Instant::now() >= g) {
                        tracing::info!(message = "Shutdown grace over; in-flight measurements are retaken on restart.");
                        return;
                    }
                }
                () = terminate.notified() => run.terminate(),
                () = token.cancelled(), if !stopping => {
                    stopping = true;
                    grace_deadline = Some(tokio::time::Instant::now() + self.config.shutdown_grace);
                }
            }
        }
    }

    /// Commits the measurement just completed for metric `i`, with the status it led to.
    fn commit_measurement(&self, id: &str, analysis: &Analysis, run: &Run, i: usize, seq: i64) -> bool {
        let plan = &analysis.metrics[i];
        let Some(m) = run.status().metric_results.iter().find(|r| r.name == plan.metric.name).and_then(|r| r.last())
        else {
            return true;
        };
        match self.store.record_measurement(id, &plan.metric.name, seq, m, plan.retention, run.status()) {
            Ok(()) => true,
            Err(error) => {
                tracing::error!(message = "Could not commit a measurement; the run resumes on restart.", %error);
                false
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fnv1a_matches_the_published_test_vectors() {
        assert_eq!(fnv1a(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a(b"a"), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(fnv1a(b"foobar"), 0x8594_4171_f739_67e8);
    }

    #[test]
    fn per_run_offsets_are_deterministic_spread_and_bounded() {
        let store = Arc::new(Store::open_in_memory().unwrap());
        let config = SchedulerConfig { spread: Duration::from_millis(1000), ..SchedulerConfig::default() };
        let s = Scheduler::new(store, Arc::new(crate::template::NoSecrets), config, Arc::default());
        let offsets: Vec<Duration> = (0..200).map(|i| s.offset(&format!("run-{i}"))).collect();
        assert!(offsets.iter().all(|o| *o < Duration::from_millis(1000)));
        assert_eq!(offsets, (0..200).map(|i| s.offset(&format!("run-{i}"))).collect::<Vec<_>>());
        let distinct: std::collections::BTreeSet<_> = offsets.iter().collect();
        assert!(distinct.len() > 150, "runs created together are not in lockstep: {} distinct", distinct.len());
        let early = offsets.iter().filter(|o| **o < Duration::from_millis(500)).count();
        assert!((60..140).contains(&early), "roughly uniform: {early} of 200 in the first half");
    }
}
