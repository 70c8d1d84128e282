//! The analysis state machine: measurement → metric → run, exactly as Argo's
//! `analysis/analysis.go` decides (reference §2.3–§2.7).
//!
//! The engine is pure and synchronous. Time is always an argument; nothing here reads a
//! clock, sleeps or performs IO. A driver (the CLI runner, `simulate`'s virtual clock,
//! later the service's scheduler) repeatedly:
//! 1. calls [`Run::plan`] to learn which metrics are due at `now`,
//! 2. calls [`Run::begin`] for each measurement it starts,
//! 3. reports each finished measurement with [`Run::complete`] (or [`measurement_from`]
//!    to build it from a provider's answer),
//! 4. calls [`Run::assess`], and sleeps until [`Run::next_wakeup`].
//!
//! One deliberate difference from Argo's controller: Argo measures synchronously inside a
//! reconcile, so it never assesses a run while a measurement is in flight. augur's
//! drivers measure concurrently, so a terminating run waits for its in-flight
//! measurements before it completes; the verdict is the one Argo would reach.

use std::sync::Arc;

use augur_provider_api::{DecidedPhase, Outcome, ProviderError};

use crate::condition::Conditions;
use crate::duration::parse_go_duration;
use crate::model::{Measurement, MetricResult, Phase, RunStatus, RunSummary, Timestamp};
use crate::template::Metric;
use crate::template::resolve::PreparedAnalysis;

/// Argo's `DefaultErrorRetryInterval`.
pub const DEFAULT_ERROR_RETRY_MS: i64 = 10_000;

/// What Argo redacts secret values to.
pub const REDACTED: &str = "*****";

/// One metric, ready to run.
#[derive(Debug, Clone)]
pub struct MetricPlan {
    /// The resolved metric.
    pub metric: Metric,
    /// Its compiled conditions.
    pub conditions: Conditions,
    /// Evaluated but ignored for the verdict.
    pub dry_run: bool,
    /// Measurements kept in the status.
    pub retention: usize,
    interval_ms: Option<i64>,
    initial_delay_ms: Option<i64>,
}

/// A prepared analysis: every metric's plan, and the secret values to redact.
#[derive(Debug, Clone)]
pub struct Analysis {
    /// The metrics in spec order.
    pub metrics: Vec<MetricPlan>,
    /// Secret values; never shown.
    pub secrets: Vec<String>,
}

impl Analysis {
    /// Compiles the conditions of a prepared spec.
    pub fn new(prepared: PreparedAnalysis) -> Analysis {
        let metrics = prepared
            .metrics
            .into_iter()
            .enumerate()
            .map(|(i, metric)| {
                let conditions = Conditions::new(metric.dialect, &metric.success_condition, &metric.failure_condition);
                let ms =
                    |s: &str| (!s.is_empty()).then(|| parse_go_duration(s).ok().map(|ns| ns / 1_000_000)).flatten();
                MetricPlan {
                    interval_ms: ms(&metric.interval),
                    initial_delay_ms: ms(&metric.initial_delay),
                    dry_run: prepared.dry_run.get(i).copied().unwrap_or(false),
                    retention: prepared.retention.get(i).copied().unwrap_or(10),
                    conditions,
                    metric,
                }
            })
            .collect();
        Analysis { metrics, secrets: prepared.secrets }
    }

    /// Replaces every secret value in `text` with `*****`.
    pub fn redact(&self, text: &str) -> String {
        redact(text, &self.secrets)
    }
}

/// Replaces every occurrence of each secret with `*****`.
pub fn redact(text: &str, secrets: &[String]) -> String {
    let mut out = text.to_string();
    for s in secrets {
        if !s.is_empty() && out.contains(s.as_str()) {
            out = out.replace(s.as_str(), REDACTED);
        }
    }
    out
}

/// Engine settings.
#[derive(Debug, Clone, Copy)]
pub struct EngineConfig {
    /// Delay before retrying after an Error measurement (Argo: 10 s).
    pub error_retry_ms: i64,
}

impl Default for EngineConfig {
    fn default() -> EngineConfig {
        EngineConfig { error_retry_ms: DEFAULT_ERROR_RETRY_MS }
    }
}

/// What a driver should do for one metric.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Start a new measurement of metric `i`.
    Measure(usize),
    /// Stop the in-flight measurement of metric `i` (the run is terminating).
    Terminate(usize),
}

/// One analysis run in progress.
#[derive(Debug, Clone)]
pub struct Run {
    analysis: Arc<Analysis>,
    config: EngineConfig,
    status: RunStatus,
    terminate: bool,
    terminate_sent: Vec<bool>,
}

impl Run {
    /// A new, pending run.
    pub fn new(analysis: Arc<Analysis>, config: EngineConfig) -> Run {
        let n = analysis.metrics.len();
        Run { analysis, config, status: RunStatus::default(), terminate: false, terminate_sent: vec![false; n] }
    }

    /// A run resumed from a stored status (after a restart). A measurement that was in
    /// flight when the process stopped has no result: it is dropped and will be taken
    /// again, so it is the only measurement that can ever be taken twice.
    pub fn restore(analysis: Arc<Analysis>, config: EngineConfig, mut status: RunStatus, terminate: bool) -> Run {
        for r in &mut status.metric_results {
            r.measurements.retain(|m| m.finished_at.is_some());
        }
        status.metric_results.retain(|r| r.count + r.error > 0 || !r.measurements.is_empty());
        let n = analysis.metrics.len();
        Run { analysis, config, status, terminate, terminate_sent: vec![false; n] }
    }

    /// A run whose status ended before any measurement (an invalid spec, unresolvable
    /// args): phase Error with `message`, as Argo records it.
    pub fn errored(message: &str, now: Timestamp) -> RunStatus {
        RunStatus {
            phase: Phase::Error,
            message: crate::model::one_line(message).into_owned(),
            started_at: Some(now),
            completed_at: Some(now),
            ..RunStatus::default()
        }
    }

    /// The analysis being run.
    pub fn analysis(&self) -> &Arc<Analysis> {
        &self.analysis
    }

    /// The current status.
    pub fn status(&self) -> &RunStatus {
        &self.status
    }

    /// True once the run has a terminal phase.
    pub fn is_completed(&self) -> bool {
        self.status.phase.is_completed()
    }

    /// True when `terminate` was requested.
    pub fn terminate_requested(&self) -> bool {
        self.terminate
    }

    /// Requests termination (Argo's `spec.terminate: true`).
    pub fn terminate(&mut self) {
        self.terminate = true;
    }

    fn result_index(&self, metric: usize) -> Option<usize> {
        let name = &self.analysis.metrics.get(metric)?.metric.name;
        self.status.metric_results.iter().position(|r| &r.name == name)
    }

    fn result(&self, metric: usize) -> Option<&MetricResult> {
        self.result_index(metric).map(|i| &self.status.metric_results[i])
    }

    /// Argo's `IsTerminating`: terminate requested, or a non-dry-run metric already
    /// Failed, Error or Inconclusive.
    pub fn is_terminating(&self) -> bool {
        self.terminate
            || self
                .status
                .metric_results
                .iter()
                .any(|r| !r.dry_run && matches!(r.phase, Phase::Failed | Phase::Error | Phase::Inconclusive))
    }

    /// True while metric `i` has a measurement in flight.
    pub fn in_flight(&self, metric: usize) -> bool {
        self.result(metric).and_then(MetricResult::last).is_some_and(|m| m.finished_at.is_none())
    }

    /// Argo's `generateMetricTasks`: what is due at `now`. Also stamps `startedAt`.
    pub fn plan(&mut self, now: Timestamp) -> Vec<Action> {
        if self.is_completed() {
            return Vec::new();
        }
        let started = *self.status.started_at.get_or_insert(now);
        let terminating = self.is_terminating();
        let mut actions = Vec::new();
        for (i, plan) in self.analysis.metrics.iter().enumerate() {
            let result = self.result(i);
            if result.is_some_and(|r| r.phase.is_completed()) {
                continue;
            }
            let last = result.and_then(MetricResult::last);
            if let Some(last) = last
                && last.finished_at.is_none()
            {
                if terminating && !self.terminate_sent[i] {
                    actions.push(Action::Terminate(i));
                }
                continue;
            }
            if terminating {
                continue;
            }
            let Some(last) = last else {
                if let Some(delay) = plan.initial_delay_ms
                    && now.millis() < started.millis().saturating_add(delay)
                {
                    continue;
                }
                if plan.metric.initial_delay.is_empty() || plan.initial_delay_ms.is_some() {
                    actions.push(Action::Measure(i));
                }
                continue;
            };
            let count = result.map_or(0, |r| r.count);
            if plan.metric.effective_count().is_some_and(|n| count >= n) {
                continue;
            }
            if self.next_due(plan, last).is_some_and(|due| now >= due) {
                actions.push(Action::Measure(i));
            }
        }
        for a in &actions {
            if let Action::Terminate(i) = a {
                self.terminate_sent[*i] = true;
            }
        }
        actions
    }

    fn next_due(&self, plan: &MetricPlan, last: &Measurement) -> Option<Timestamp> {
        let finished = last.finished_at?;
        let interval = if last.phase == Phase::Error { Some(self.config.error_retry_ms) } else { plan.interval_ms };
        interval.map(|ms| finished.plus_millis(ms))
    }

    /// Argo's `calculateNextReconcileTime`: when something next becomes due, if ever.
    /// In-flight measurements report back through [`Run::complete`] instead.
    pub fn next_wakeup(&self) -> Option<Timestamp> {
        if self.is_completed() {
            return None;
        }
        (0..self.analysis.metrics.len()).filter_map(|i| self.metric_due(i)).min()
    }

    /// When metric `i` is next due for a measurement (or a resume), if ever.
    pub fn metric_due(&self, i: usize) -> Option<Timestamp> {
        let plan = self.analysis.metrics.get(i)?;
        let result = self.result(i);
        if result.is_some_and(|r| r.phase.is_completed()) {
            return None;
        }
        match result.and_then(MetricResult::last) {
            None => {
                let start = self.status.started_at?;
                match (plan.metric.initial_delay.is_empty(), plan.initial_delay_ms) {
                    (true, _) => Some(start),
                    (false, Some(delay)) => Some(start.plus_millis(delay)),
                    (false, None) => None,
                }
            }
            Some(last) if last.finished_at.is_none() => last.resume_at,
            Some(last) => {
                let count = result.map_or(0, |r| r.count);
                if plan.metric.effective_count().is_some_and(|n| count >= n) {
                    return None;
                }
                self.next_due(plan, last)
            }
        }
    }

    /// Records the start of a measurement of metric `i` (a Running measurement).
    pub fn begin(&mut self, metric: usize, now: Timestamp) {
        let Some(plan) = self.analysis.metrics.get(metric) else { return };
        let idx = match self.result_index(metric) {
            Some(idx) => idx,
            None => {
                // Keep results in spec order.
                let name = plan.metric.name.clone();
                let pos = self
                    .status
                    .metric_results
                    .iter()
                    .position(|r| {
                        self.analysis.metrics.iter().position(|p| p.metric.name == r.name).unwrap_or(usize::MAX)
                            > metric
                    })
                    .unwrap_or(self.status.metric_results.len());
                self.status.metric_results.insert(
                    pos,
                    MetricResult { name, phase: Phase::Running, dry_run: plan.dry_run, ..MetricResult::default() },
                );
                pos
            }
        };
        self.status.metric_results[idx].measurements.push(Measurement {
            phase: Phase::Running,
            started_at: Some(now),
            ..Measurement::default()
        });
    }

    /// Sets metric metadata (stored once, e.g. a resolved query).
    pub fn set_metric_metadata(&mut self, metric: usize, metadata: std::collections::BTreeMap<String, String>) {
        if let Some(idx) = self.result_index(metric) {
            let secrets = &self.analysis.secrets;
            self.status.metric_results[idx].metadata =
                metadata.into_iter().map(|(k, v)| (k, redact(&v, secrets))).collect();
        }
    }

    /// Records a finished measurement of metric `i`, replacing its in-flight one (Argo's
    /// counter updates, §2.3), then trims the history to the retention limit.
    pub fn complete(&mut self, metric: usize, mut m: Measurement, now: Timestamp) {
        let Some(plan) = self.analysis.metrics.get(metric) else { return };
        let retention = plan.retention.max(1);
        if self.result_index(metric).is_none() {
            self.begin(metric, m.started_at.unwrap_or(now));
        }
        let Some(idx) = self.result_index(metric) else { return };
        let secrets = self.analysis.secrets.clone();
        m.message = redact(&m.message, &secrets);
        m.value = redact(&m.value, &secrets);
        for v in m.metadata.values_mut() {
            *v = redact(v, &secrets);
        }
        if m.phase.is_completed() && m.finished_at.is_none() {
            m.finished_at = Some(now);
        }
        let r = &mut self.status.metric_results[idx];
        match r.measurements.last_mut() {
            Some(last) if last.finished_at.is_none() => {
                if m.started_at.is_none() {
                    m.started_at = last.started_at;
                }
                *last = m.clone();
            }
            _ => r.measurements.push(m.clone()),
        }
        match m.phase {
            Phase::Successful => {
                r.count += 1;
                r.successful += 1;
                r.consecutive_error = 0;
                r.consecutive_success += 1;
            }
            Phase::Failed => {
                r.count += 1;
                r.failed += 1;
                r.consecutive_error = 0;
                r.consecutive_success = 0;
            }
            Phase::Inconclusive => {
                r.count += 1;
                r.inconclusive += 1;
                r.consecutive_error = 0;
                r.consecutive_success = 0;
            }
            Phase::Error => {
                r.error += 1;
                r.consecutive_error += 1;
                r.consecutive_success = 0;
            }
            Phase::Pending | Phase::Running => {}
        }
        if r.measurements.len() > retention {
            let excess = r.measurements.len() - retention;
            r.measurements.drain(..excess);
        }
        self.terminate_sent[metric] = false;
    }

    /// Argo's `assessRunStatus` and the phase/message/completedAt update that follows it.
    pub fn assess(&mut self, now: Timestamp) {
        if self.is_completed() {
            return;
        }
        if self.status.started_at.is_none() {
            self.status.started_at = Some(now);
        }
        let terminating = self.is_terminating();
        let mut worst: Option<Phase> = None;
        let mut worst_message = if self.terminate { "Run Terminated".to_string() } else { String::new() };
        let mut everything_completed = true;
        let mut any_in_flight = false;
        let mut run_summary = RunSummary::default();
        let mut dry_summary = RunSummary::default();

        let analysis = Arc::clone(&self.analysis);
        for (i, plan) in analysis.metrics.iter().enumerate() {
            let summary = if plan.dry_run { &mut dry_summary } else { &mut run_summary };
            summary.count += 1;
            let Some(idx) = self.result_index(i) else {
                everything_completed = false;
                continue;
            };
            let r = &mut self.status.metric_results[idx];
            let status = assess_metric(&plan.metric, r, terminating);
            let changed = r.phase != status;
            if changed {
                if let Some(last) = r.measurements.last() {
                    r.message = last.message.clone();
                }
                r.phase = status;
            }
            if r.last().is_some_and(|m| m.finished_at.is_none()) {
                any_in_flight = true;
            }
            if !status.is_completed() {
                everything_completed = false;
                continue;
            }
            let (breach, breach_message) = limit_breach(&plan.metric, r);
            if !plan.dry_run {
                if worst.is_none_or(|w| status.is_worse_than(w)) {
                    worst = Some(status);
                    if !breach_message.is_empty() {
                        worst_message =
                            format!("Metric \"{}\" assessed {status} due to {breach_message}", plan.metric.name);
                        if !r.message.is_empty() {
                            worst_message.push_str(&format!(": \"Error Message: {}\"", r.message));
                        }
                    }
                }
            } else {
                if worst.is_none() {
                    worst = Some(Phase::Successful);
                }
                // §2.5: the dry-run metric's message is the limit message alone; unlike the
                // run message it carries no `: "Error Message: …"` suffix.
                if changed && !breach_message.is_empty() {
                    r.message = format!("Metric assessed {status} due to {breach_message}");
                }
            }
            match breach {
                Some(Phase::Failed) => summary.failed += 1,
                Some(Phase::Inconclusive) => summary.inconclusive += 1,
                Some(Phase::Error) => summary.error += 1,
                _ => summary.successful += 1,
            }
        }
        self.status.run_summary = run_summary;
        self.status.dry_run_summary = dry_summary;
        let worst_message = worst_message.trim().to_string();
        let (phase, message) = if terminating {
            if any_in_flight {
                (Phase::Running, String::new())
            } else {
                (worst.unwrap_or(Phase::Successful), worst_message)
            }
        } else if !everything_completed || worst.is_none() {
            (Phase::Running, String::new())
        } else {
            (worst.unwrap_or(Phase::Successful), worst_message)
        };
        if phase != self.status.phase {
            self.status.phase = phase;
            self.status.message = message;
            if phase.is_completed() && self.status.completed_at.is_none() {
                self.status.completed_at = Some(now);
            }
        }
    }
}

/// Argo's `assessMetricFailureInconclusiveOrError`: the limit a metric breached, with
/// its message. Later checks overwrite earlier ones: Error > Inconclusive > Failed.
pub fn limit_breach(metric: &Metric, r: &MetricResult) -> (Option<Phase>, String) {
    let mut phase = None;
    let mut message = String::new();
    let failure_limit = metric.failure_limit();
    if failure_limit >= 0 && r.failed > failure_limit {
        phase = Some(Phase::Failed);
        message = format!("failed ({}) > failureLimit ({failure_limit})", r.failed);
    }
    let inconclusive_limit = metric.inconclusive_limit();
    if r.inconclusive > inconclusive_limit {
        phase = Some(Phase::Inconclusive);
        message = format!("inconclusive ({}) > inconclusiveLimit ({inconclusive_limit})", r.inconclusive);
    }
    let error_limit = metric.consecutive_error_limit();
    if r.consecutive_error > error_limit {
        phase = Some(Phase::Error);
        message = format!("consecutiveErrors ({}) > consecutiveErrorLimit ({error_limit})", r.consecutive_error);
    }
    (phase, message)
}

/// Argo's `assessMetricStatus` (§2.4).
pub fn assess_metric(metric: &Metric, r: &MetricResult, terminating: bool) -> Phase {
    if r.phase.is_completed() {
        return r.phase;
    }
    let Some(last) = r.last() else {
        return if terminating { Phase::Successful } else { Phase::Pending };
    };
    if !last.phase.is_completed() {
        return Phase::Running;
    }
    if let (Some(phase), _) = limit_breach(metric, r) {
        return phase;
    }
    let success_limit = metric.consecutive_success_limit();
    if success_limit > 0 && r.consecutive_success >= success_limit {
        return Phase::Successful;
    }
    if let Some(n) = metric.effective_count()
        && r.count >= n
    {
        let failure_applicable = metric.failure_limit.is_none() || metric.failure_limit() >= 0;
        let success_applicable = success_limit > 0;
        if failure_applicable && success_applicable {
            return Phase::Inconclusive;
        }
        if success_applicable {
            return Phase::Failed;
        }
        return Phase::Successful;
    }
    if terminating { Phase::Successful } else { Phase::Running }
}

/// Builds a finished measurement from a provider's answer: conditions decide an
/// observed value; a provider error is an Error measurement.
pub fn measurement_from(
    outcome: Result<Outcome, ProviderError>,
    conditions: &Conditions,
    started: Timestamp,
    finished: Timestamp,
) -> Measurement {
    let mut m = Measurement { started_at: Some(started), finished_at: Some(finished), ..Measurement::default() };
    match outcome {
        Ok(Outcome::Observed(obs)) => {
            let now_nanos = finished.millis().saturating_mul(1_000_000);
            let eval = conditions.evaluate(&obs.result, now_nanos);
            m.phase = eval.phase;
            m.message = eval.message;
            m.value = obs.value;
            m.metadata = obs.metadata;
        }
        Ok(Outcome::Decided { phase, message, value, metadata }) => {
            m.phase = match phase {
                DecidedPhase::Successful => Phase::Successful,
                DecidedPhase::Failed => Phase::Failed,
                DecidedPhase::Inconclusive => Phase::Inconclusive,
            };
            m.message = message;
            m.value = value;
            m.metadata = metadata;
        }
        Err(e) => {
            m.phase = Phase::Error;
            m.message = e.message().to_string();
        }
    }
    m
}

#[cfg(test)]
mod tests;
