//! Analysis templates: Argo's `AnalysisTemplate` / `ClusterAnalysisTemplate` format,
//! unchanged, plus a bare `spec`.
//!
//! The pipeline, in the order Argo applies it:
//! 1. [`parse`]: YAML or JSON documents into [`Template`]s (unknown fields are kept out
//!    of the way and reported as warnings, because Argo's CRD prunes them silently).
//! 2. [`resolve::flatten`]: several templates into one spec (`FlattenTemplates`).
//! 3. [`resolve::merge_args`]: caller args over template args (`MergeArgs`).
//! 4. [`resolve::prepare`]: `{{args.*}}` substitution, validation with Argo's messages,
//!    dryRun and measurementRetention matching; the result is what the engine runs.
//!
//! Everything here is pure: secrets come in through the [`SecretSource`] trait, whose
//! file, directory and environment implementations live at the rim (`crate::secrets`).

pub mod parse;
pub mod resolve;
pub mod validate;

use serde::{Deserialize, Serialize};

use crate::condition::Dialect;

pub use parse::{Template, TemplateKind, parse_documents};

/// A problem with a template, located by its field path (`metrics[1].failureLimit`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// Where: a field path, empty for the whole document.
    pub path: String,
    /// What is wrong, in one line.
    pub message: String,
}

impl Problem {
    /// A problem at `path`.
    pub fn new(path: impl Into<String>, message: impl Into<String>) -> Problem {
        let (path, message) = (path.into(), message.into());
        Problem {
            path: crate::model::one_line(&path).into_owned(),
            message: crate::model::one_line(&message).into_owned(),
        }
    }
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.path.is_empty() { f.write_str(&self.message) } else { write!(f, "{}: {}", self.path, self.message) }
    }
}

impl std::error::Error for Problem {}

/// Kubernetes' `IntOrString`: `count: 5` or `count: "{{args.count}}"`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum IntOrString {
    /// A number.
    Int(i64),
    /// A string, converted with Go's `strconv.Atoi` (non-numeric ⇒ 0).
    Str(String),
}

impl IntOrString {
    /// Kubernetes' `IntValue()`: the number, or `Atoi` of the string, 0 on failure.
    pub fn int_value(&self) -> i64 {
        match self {
            IntOrString::Int(i) => *i,
            IntOrString::Str(s) => go_atoi(s).unwrap_or(0),
        }
    }
}

/// Go's `strconv.Atoi`: optional sign, decimal digits, nothing else.
pub fn go_atoi(s: &str) -> Option<i64> {
    let digits = s.strip_prefix(['+', '-']).unwrap_or(s);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// `AnalysisTemplateSpec` (and the parts of `AnalysisRunSpec` a run needs).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TemplateSpec {
    /// The metrics to measure.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub metrics: Vec<Metric>,
    /// Declared inputs.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub args: Vec<Argument>,
    /// Metrics evaluated but ignored for the verdict.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub dry_run: Vec<DryRun>,
    /// Per-metric measurement history limits.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub measurement_retention: Vec<MeasurementRetention>,
    /// Nested templates merged into this one.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub templates: Vec<TemplateRef>,
    /// augur extension: the condition language of this template's metrics.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dialect: Option<Dialect>,
}

/// One metric. Field order is Go's, which decides which unresolved `{{…}}` tag Argo
/// reports when there are several.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Metric {
    /// The metric's name.
    #[serde(default)]
    pub name: String,
    /// Delay between the finish of one measurement and the start of the next.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub interval: String,
    /// Delay of the first measurement after the run starts.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub initial_delay: String,
    /// Number of non-error measurements.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub count: Option<IntOrString>,
    /// expr or CEL condition for success.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub success_condition: String,
    /// expr or CEL condition for failure.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub failure_condition: String,
    /// Failed measurements tolerated (default 0; -1 disables).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure_limit: Option<IntOrString>,
    /// Inconclusive measurements tolerated (default 0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inconclusive_limit: Option<IntOrString>,
    /// Consecutive errors tolerated (default 4).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub consecutive_error_limit: Option<IntOrString>,
    /// Successes in a row that end the metric early as Successful (default 0 = off).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub consecutive_success_limit: Option<IntOrString>,
    /// Exactly one provider block, keyed by provider kind.
    #[serde(default)]
    pub provider: serde_json::Map<String, serde_json::Value>,
    /// The condition dialect, taken from the template the metric came from.
    #[serde(skip)]
    pub dialect: Dialect,
}

/// Default for `consecutiveErrorLimit`.
pub const DEFAULT_CONSECUTIVE_ERROR_LIMIT: i64 = 4;

impl Metric {
    /// `failureLimit`, default 0.
    pub fn failure_limit(&self) -> i64 {
        self.failure_limit.as_ref().map_or(0, IntOrString::int_value)
    }
    /// `inconclusiveLimit`, default 0.
    pub fn inconclusive_limit(&self) -> i64 {
        self.inconclusive_limit.as_ref().map_or(0, IntOrString::int_value)
    }
    /// `consecutiveErrorLimit`, default 4.
    pub fn consecutive_error_limit(&self) -> i64 {
        self.consecutive_error_limit.as_ref().map_or(DEFAULT_CONSECUTIVE_ERROR_LIMIT, IntOrString::int_value)
    }
    /// `consecutiveSuccessLimit`, default 0 (disabled).
    pub fn consecutive_success_limit(&self) -> i64 {
        self.consecutive_success_limit.as_ref().map_or(0, IntOrString::int_value)
    }
    /// Argo's `EffectiveCount`: `count` unset or 0 ⇒ 1 without an interval, unbounded
    /// (None) with one.
    pub fn effective_count(&self) -> Option<i64> {
        match self.count.as_ref().map_or(0, IntOrString::int_value) {
            0 if self.interval.is_empty() => Some(1),
            0 => None,
            n => Some(n),
        }
    }
    /// The provider kind (`web`, `prometheus`, …) when exactly one is set.
    pub fn provider_kind(&self) -> Option<&str> {
        let mut keys = self.provider.keys();
        match (keys.next(), keys.next()) {
            (Some(k), None) => Some(k.as_str()),
            _ => None,
        }
    }
}

/// A declared input.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Argument {
    /// The name, referenced as `{{args.<name>}}`.
    pub name: String,
    /// The value; unset means the caller must supply it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    /// Where the value comes from instead.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value_from: Option<ValueFrom>,
}

/// `valueFrom` of an argument.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ValueFrom {
    /// A key of a secret.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_key_ref: Option<SecretKeyRef>,
    /// A field of the calling object (accepted, never resolved: Argo #3361).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field_ref: Option<FieldRef>,
}

/// `valueFrom.secretKeyRef`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SecretKeyRef {
    /// The secret's name.
    #[serde(default)]
    pub name: String,
    /// The key within the secret.
    #[serde(default)]
    pub key: String,
}

/// `valueFrom.fieldRef`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FieldRef {
    /// The field path.
    #[serde(default)]
    pub field_path: String,
}

/// A dry-run rule.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DryRun {
    /// An unanchored Go regular expression over metric names.
    #[serde(default)]
    pub metric_name: String,
}

/// A measurement-retention rule.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MeasurementRetention {
    /// An unanchored Go regular expression over metric names.
    #[serde(default)]
    pub metric_name: String,
    /// How many measurements to keep (≤ 0 ⇒ the default 10).
    #[serde(default)]
    pub limit: i64,
}

/// A nested template reference.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TemplateRef {
    /// The referenced template's name.
    #[serde(default)]
    pub template_name: String,
    /// True for a `ClusterAnalysisTemplate`.
    #[serde(default)]
    pub cluster_scope: bool,
}

/// Where secret values come from (`valueFrom.secretKeyRef`).
pub trait SecretSource {
    /// The value of `key` in secret `name`, or Argo's error text
    /// (`secrets "n" not found`, `key 'k' does not exist in secret 'n'`).
    fn get(&self, name: &str, key: &str) -> Result<String, String>;
}

/// A source with no secrets at all.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoSecrets;

impl SecretSource for NoSecrets {
    fn get(&self, name: &str, _key: &str) -> Result<String, String> {
        Err(format!("secrets \"{name}\" not found"))
    }
}

/// The providers Argo's `MetricProvider` knows; anything else is an unknown field there.
pub const ARGO_PROVIDERS: [&str; 12] = [
    "prometheus",
    "kayenta",
    "web",
    "datadog",
    "wavefront",
    "newRelic",
    "job",
    "cloudWatch",
    "graphite",
    "influxdb",
    "skywalking",
    "plugin",
];
