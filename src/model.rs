//! The status objects of an analysis, with Argo's JSON field names.
//!
//! These are the values the engine produces and every output shows: `augur run
//! --output json`, and later the service's API. They mirror Argo's `AnalysisRunStatus`,
//! `MetricResult` and `Measurement` field for field so that scripts written against
//! `kubectl get analysisrun -o json` read augur's output unchanged.
//!
//! This module is plain data: no IO, no clock, no decisions (those live in `engine`).

use std::collections::BTreeMap;
use std::fmt;

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize, Serializer};

/// A point in time. Serialised as RFC 3339 in UTC, with fractional seconds only when
/// they are not zero (`2026-01-02T03:04:05Z`, as Kubernetes prints `metav1.Time`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize, utoipa::ToSchema)]
#[serde(transparent)]
#[schema(value_type = String, format = DateTime)]
pub struct Timestamp(pub DateTime<Utc>);

impl Timestamp {
    /// Milliseconds since the Unix epoch.
    pub fn from_millis(ms: i64) -> Timestamp {
        Timestamp(DateTime::from_timestamp_millis(ms).unwrap_or(DateTime::UNIX_EPOCH))
    }

    /// Milliseconds since the Unix epoch.
    pub fn millis(self) -> i64 {
        self.0.timestamp_millis()
    }

    /// This time plus `ms` milliseconds (saturating).
    pub fn plus_millis(self, ms: i64) -> Timestamp {
        Timestamp::from_millis(self.millis().saturating_add(ms))
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_string())
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0.to_rfc3339_opts(SecondsFormat::AutoSi, true))
    }
}

/// The phase of a measurement, a metric or a run (Argo's `AnalysisPhase`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default, utoipa::ToSchema)]
pub enum Phase {
    /// Not started.
    #[default]
    Pending,
    /// In progress.
    Running,
    /// Passed.
    Successful,
    /// Did not pass.
    Failed,
    /// Could not be measured or evaluated.
    Error,
    /// Neither passed nor failed.
    Inconclusive,
}

impl Phase {
    /// Every phase, for tables and parsers.
    pub const ALL: [Phase; 6] =
        [Phase::Pending, Phase::Running, Phase::Successful, Phase::Failed, Phase::Error, Phase::Inconclusive];

    /// True for the four terminal phases.
    pub fn is_completed(self) -> bool {
        matches!(self, Phase::Successful | Phase::Failed | Phase::Error | Phase::Inconclusive)
    }

    /// Position in Argo's `analysisStatusOrder`, best (0) to worst (5):
    /// Successful, Running, Pending, Inconclusive, Error, Failed.
    pub fn severity(self) -> u8 {
        match self {
            Phase::Successful => 0,
            Phase::Running => 1,
            Phase::Pending => 2,
            Phase::Inconclusive => 3,
            Phase::Error => 4,
            Phase::Failed => 5,
        }
    }

    /// Argo's `IsWorse(current, new)`: strictly worse.
    pub fn is_worse_than(self, current: Phase) -> bool {
        self.severity() > current.severity()
    }

    /// The name as written in Argo's API.
    pub fn as_str(self) -> &'static str {
        match self {
            Phase::Pending => "Pending",
            Phase::Running => "Running",
            Phase::Successful => "Successful",
            Phase::Failed => "Failed",
            Phase::Error => "Error",
            Phase::Inconclusive => "Inconclusive",
        }
    }

    /// The CLI exit code for a terminal run phase (0 Successful, 1 Failed,
    /// 2 Inconclusive, 3 Error). Non-terminal phases map to 3: a run that could not
    /// finish is an error for a script.
    pub fn exit_code(self) -> i32 {
        match self {
            Phase::Successful => 0,
            Phase::Failed => 1,
            Phase::Inconclusive => 2,
            _ => 3,
        }
    }
}

impl fmt::Display for Phase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Phase {
    type Err = String;
    fn from_str(s: &str) -> Result<Phase, String> {
        Phase::ALL.into_iter().find(|p| p.as_str().eq_ignore_ascii_case(s)).ok_or_else(|| {
            format!("unknown phase {s:?} (expected one of Pending, Running, Successful, Failed, Error, Inconclusive)")
        })
    }
}

/// One measurement of one metric.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Measurement {
    /// The measurement's phase.
    pub phase: Phase,
    /// Why the phase is what it is (errors, provider output).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub message: String,
    /// When the measurement started.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_at: Option<Timestamp>,
    /// When the measurement finished.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finished_at: Option<Timestamp>,
    /// The measured value, formatted as Argo's provider formats it.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub value: String,
    /// Provider-specific details.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub metadata: BTreeMap<String, String>,
    /// When an in-flight measurement should be polled again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resume_at: Option<Timestamp>,
}

/// The state of one metric of a run.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct MetricResult {
    /// The metric's name.
    pub name: String,
    /// The metric's phase.
    pub phase: Phase,
    /// The newest measurements, oldest first, trimmed to the retention limit.
    #[serde(default)]
    pub measurements: Vec<Measurement>,
    /// The last measurement's message when the phase last changed.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub message: String,
    /// Successful + Failed + Inconclusive measurements (Error ones never count).
    #[serde(default)]
    pub count: i64,
    /// Successful measurements.
    #[serde(default)]
    pub successful: i64,
    /// Failed measurements.
    #[serde(default)]
    pub failed: i64,
    /// Inconclusive measurements.
    #[serde(default)]
    pub inconclusive: i64,
    /// Error measurements.
    #[serde(default)]
    pub error: i64,
    /// Error measurements in a row.
    #[serde(default)]
    pub consecutive_error: i64,
    /// Successful measurements in a row.
    #[serde(default)]
    pub consecutive_success: i64,
    /// True when the metric is evaluated but ignored for the verdict.
    #[serde(default)]
    pub dry_run: bool,
    /// Provider metadata stored once per metric.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub metadata: BTreeMap<String, String>,
}

impl MetricResult {
    /// The newest measurement, if any.
    pub fn last(&self) -> Option<&Measurement> {
        self.measurements.last()
    }
}

/// Counts of metrics by outcome (Argo's `RunSummary`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RunSummary {
    /// Metrics counted.
    #[serde(default)]
    pub count: i64,
    /// Metrics that ended Successful.
    #[serde(default)]
    pub successful: i64,
    /// Metrics that ended Failed.
    #[serde(default)]
    pub failed: i64,
    /// Metrics that ended Inconclusive.
    #[serde(default)]
    pub inconclusive: i64,
    /// Metrics that ended Error.
    #[serde(default)]
    pub error: i64,
}

/// The state of a whole run (Argo's `AnalysisRunStatus`).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RunStatus {
    /// The run's phase.
    pub phase: Phase,
    /// Why the run ended as it did.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub message: String,
    /// When the run started.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_at: Option<Timestamp>,
    /// When the run completed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub completed_at: Option<Timestamp>,
    /// Counts over non-dry-run metrics.
    #[serde(default)]
    pub run_summary: RunSummary,
    /// Counts over dry-run metrics.
    #[serde(default)]
    pub dry_run_summary: RunSummary,
    /// One result per metric that has started, in spec order.
    #[serde(default)]
    pub metric_results: Vec<MetricResult>,
}

/// Makes a message safe to show on one line: control characters that user input can
/// smuggle into names (`\n` in an arg name, say) are escaped as Go's `%q` would.
/// Ordinary messages come back unchanged and unallocated.
pub fn one_line(message: &str) -> std::borrow::Cow<'_, str> {
    if !message.chars().any(char::is_control) {
        return std::borrow::Cow::Borrowed(message);
    }
    let mut out = String::with_capacity(message.len() + 8);
    for c in message.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => out.push_str(&format!("\\u{:04x}", u32::from(c))),
            c => out.push(c),
        }
    }
    std::borrow::Cow::Owned(out)
}
