//! Drives the pure engine with real providers and the wall clock (`augur run`).
//!
//! The loop follows the engine's contract: plan → start measurements (each in its own
//! task, so a run's metrics are measured in parallel) → record each result as it
//! arrives → assess → sleep until the next due time. A provider that panics or cannot
//! be built yields an Error measurement, never a stuck or false-Successful run.

use std::future::Future;
use std::sync::Arc;

use augur_provider_api::{ErrorKind, MeasureContext, MetricProvider, ProviderError};
use tokio::sync::mpsc;

use crate::engine::{Action, Analysis, EngineConfig, Run, measurement_from};
use crate::model::{Measurement, Phase, RunStatus, Timestamp};

/// The wall clock, read only here at the rim.
pub fn now() -> Timestamp {
    Timestamp(chrono::Utc::now())
}

/// Runs `analysis` to its verdict. `on_update` sees every status change; `shutdown`
/// resolving requests termination (the run then finishes its in-flight measurements).
pub async fn run_analysis(
    analysis: Arc<Analysis>,
    config: EngineConfig,
    run_id: &str,
    secrets: Arc<dyn crate::template::SecretSource + Send + Sync>,
    mut on_update: impl FnMut(&RunStatus),
    shutdown: impl Future<Output = ()>,
) -> RunStatus {
    let providers: Vec<Result<Arc<dyn MetricProvider>, String>> =
        analysis.metrics.iter().map(|p| crate::registry::build_with_secrets(&p.metric, Arc::clone(&secrets))).collect();
    let mut run = Run::new(Arc::clone(&analysis), config);
    let (tx, mut rx) = mpsc::unbounded_channel::<Finished>();
    let mut in_flight = 0usize;
    let mut attempts = vec![0u64; analysis.metrics.len()];
    let mut shutdown = std::pin::pin!(shutdown);
    let mut shutdown_seen = false;
    let mut last_reported: Option<RunStatus> = None;

    loop {
        let t = now();
        for action in run.plan(t) {
            match action {
                Action::Measure(i) => {
                    run.begin(i, t);
                    if attempts[i] == 0
                        && let Ok(p) = &providers[i]
                    {
                        run.set_metric_metadata(i, p.metadata());
                    }
                    attempts[i] += 1;
                    in_flight += 1;
                    let ctx = MeasureContext {
                        now: t.0.into(),
                        deadline: None,
                        measurement_id: format!("{run_id}.{}.{}", analysis.metrics[i].metric.name, attempts[i]),
                    };
                    spawn_measurement(
                        i,
                        providers[i].clone(),
                        analysis.metrics[i].conditions.clone(),
                        ctx,
                        MeasureLimits::default(),
                        tx.clone(),
                    );
                }
                Action::Terminate(i) => {
                    if let Ok(p) = providers[i].clone() {
                        let ctx = MeasureContext { now: t.0.into(), deadline: None, measurement_id: String::new() };
                        tokio::spawn(async move {
                            if let Err(error) = p.terminate(&ctx).await {
                                tracing::warn!(message = "Provider terminate failed.", %error);
                            }
                        });
                    }
                }
            }
        }
        run.assess(now());
        if last_reported.as_ref() != Some(run.status()) {
            on_update(run.status());
            last_reported = Some(run.status().clone());
        }
        if run.is_completed() {
            break;
        }
        let next = run.next_wakeup();
        if next.is_none() && in_flight == 0 {
            // Nothing can ever become due: end the run as Argo would on terminate.
            run.terminate();
            continue;
        }
        let sleep_for = next.map(|n| std::time::Duration::from_millis((n.millis() - now().millis()).max(0) as u64));
        tokio::select! {
            Some((i, m)) = rx.recv() => {
                in_flight -= 1;
                run.complete(i, *m, now());
            }
            () = async {
                match sleep_for {
                    Some(d) => tokio::time::sleep(d).await,
                    None => std::future::pending().await,
                }
            } => {}
            () = &mut shutdown, if !shutdown_seen => {
                shutdown_seen = true;
                run.terminate();
            }
        }
    }
    run.status().clone()
}

/// A finished measurement of metric `.0`. Boxed: a channel allocates its slots in
/// blocks, and with 10,000 runs an unboxed `Measurement` per slot costs megabytes.
pub type Finished = (usize, Box<Measurement>);

/// Bounds on one measurement: a per-provider concurrency permit and an overall timeout.
#[derive(Debug, Clone, Default)]
pub struct MeasureLimits {
    /// Taken before the provider is called, released when it answers.
    pub permits: Option<Arc<tokio::sync::Semaphore>>,
    /// The whole measurement, waiting for a permit included.
    pub timeout: Option<std::time::Duration>,
}

/// Takes one measurement in its own task and sends the finished measurement to `tx`.
/// A provider that panics, cannot be built or times out gives an Error measurement.
pub fn spawn_measurement(
    metric: usize,
    provider: Result<Arc<dyn MetricProvider>, String>,
    conditions: crate::condition::Conditions,
    ctx: MeasureContext,
    limits: MeasureLimits,
    tx: mpsc::UnboundedSender<Finished>,
) {
    let started = Timestamp(ctx.now.into());
    let timeout = limits.timeout;
    let task = tokio::spawn(async move {
        let measure = async {
            let _permit = match &limits.permits {
                Some(s) => Some(s.acquire().await),
                None => None,
            };
            match provider {
                Ok(p) => p.measure(&ctx).await,
                Err(message) => Err(ProviderError::new(ErrorKind::Config, message)),
            }
        };
        match timeout {
            Some(t) => tokio::time::timeout(t, measure).await.unwrap_or_else(|_| {
                Err(ProviderError::new(
                    ErrorKind::Timeout,
                    format!(
                        "measurement timed out after {}",
                        crate::duration::format_go_duration(i64::try_from(t.as_nanos()).unwrap_or(i64::MAX))
                    ),
                ))
            }),
            None => measure.await,
        }
    });
    tokio::spawn(async move {
        let outcome = match task.await {
            Ok(outcome) => outcome,
            Err(join_error) => Err(ProviderError::new(ErrorKind::Malformed, format!("provider failed: {join_error}"))),
        };
        let m = measurement_from(outcome, &conditions, started, now());
        // The receiver only goes away when the run is over; nothing to do then.
        let _ = tx.send((metric, Box::new(m)));
    });
}

/// One status line per metric, for live progress and the final text report.
pub fn metric_lines(analysis: &Analysis, status: &RunStatus) -> Vec<String> {
    analysis
        .metrics
        .iter()
        .map(|plan| {
            let r = status.metric_results.iter().find(|r| r.name == plan.metric.name);
            let phase = r.map_or(Phase::Pending, |r| r.phase);
            let count = r.map_or(0, |r| r.count);
            let total = plan.metric.effective_count().map_or("∞".to_string(), |n| n.to_string());
            let last =
                r.and_then(|r| r.last()).map(|m| if m.value.is_empty() { m.message.clone() } else { m.value.clone() });
            let dry = if plan.dry_run { " (dry-run)" } else { "" };
            format!(
                "{:<28} {:>5}/{:<5} {:<13} {}",
                format!("{}{dry}", plan.metric.name),
                count,
                total,
                phase.as_str(),
                truncate(&last.unwrap_or_default(), 60)
            )
        })
        .collect()
}

fn truncate(s: &str, n: usize) -> String {
    let one: String = s.split_whitespace().collect::<Vec<_>>().join(" ");
    if one.chars().count() <= n { one } else { format!("{}…", one.chars().take(n - 1).collect::<String>()) }
}
