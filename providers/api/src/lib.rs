//! The boundary between augur's engine and its metric providers.
//!
//! A provider turns one metric's `provider.<kind>` block into measurements. The engine
//! owns everything else: counting, limits, scheduling and verdicts. This crate is the
//! whole contract between the two, so it is deliberately small and free of any vendor
//! wire format:
//!
//! * [`ProviderFactory`] validates a metric's provider block once (`build`) and returns a
//!   ready [`MetricProvider`]; validation errors never reach `measure`.
//! * [`MetricProvider::measure`] takes one measurement and returns an [`Outcome`]: either a
//!   value for the metric's conditions ([`Observation`]) or a phase the provider decided
//!   itself (a Job's exit status).
//! * [`ResultValue`] names the *Go type* Argo's provider would hand to expr, because the
//!   condition language is statically typed against it (`asFloat(result) == "1"` is a
//!   compile error for a `float64` but not for an `any`).
//!
//! What this crate is not: it does not evaluate conditions, redact secrets from messages (the engine
//! knows the secret values and redacts every message it stores) or retry. A failed
//! query is a [`ProviderError`], which the engine records as an Error measurement.
//!
//! Two optional modules serve provider crates, not the engine: `http` (feature
//! `http`) is the one shared HTTP, auth and error-classification layer, and `testkit`
//! (feature `testkit`, for providers' tests) is the conformance kit every provider runs.
#![deny(missing_docs)]

pub mod duration;
pub mod gofmt;
#[cfg(feature = "http")]
pub mod http;
#[cfg(feature = "testkit")]
pub mod testkit;

use std::collections::BTreeMap;
use std::fmt::Debug;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

/// The value a provider hands to the conditions, tagged with the Go type Argo's provider
/// would produce for it (reference §1.3).
#[derive(Debug, Clone, PartialEq)]
pub enum ResultValue {
    /// No data: Go `nil` (for example Datadog's `*float64(nil)`). `default(result, d)`
    /// substitutes for this and only this.
    Nil,
    /// Go `float64` (a Prometheus scalar, a Datadog point).
    Float(f64),
    /// Go `[]float64` (a Prometheus vector or flattened matrix, grouped Datadog v2).
    /// An empty list is *not* nil.
    Floats(Vec<f64>),
    /// Go `string` (a web body that is not JSON).
    String(String),
    /// A decoded JSON document: the top level keeps its concrete Go type (`float64`,
    /// `string`, `bool`, `map[string]any`, `[]any`, nil) and everything nested is `any`.
    Json(serde_json::Value),
    /// A structured result whose fields are statically typed (CloudWatch's
    /// `[]MetricDataResult`). `schema` describes the Go type of `value`.
    Typed {
        /// The value, as JSON (field names are the Go field names).
        value: serde_json::Value,
        /// The static type of `value`.
        schema: Schema,
    },
}

/// A static Go type, for structured provider results.
#[derive(Debug, Clone, PartialEq)]
pub enum Schema {
    /// `interface{}`.
    Any,
    /// `bool`.
    Bool,
    /// `int64` (or any Go integer).
    Int,
    /// `float64`.
    Float,
    /// `string`.
    String,
    /// `time.Time`.
    Time,
    /// `[]T`.
    List(Box<Schema>),
    /// `map[string]T`.
    Map(Box<Schema>),
    /// A struct with named, typed fields (a pointer to a struct is described the same way).
    Struct(Vec<(String, Schema)>),
}

/// A value returned by a provider for the metric's conditions.
#[derive(Debug, Clone, PartialEq)]
pub struct Observation {
    /// What the conditions see as `result`.
    pub result: ResultValue,
    /// The measurement's `value` string, formatted exactly as Argo's provider formats it.
    pub value: String,
    /// Extra measurement metadata (warnings, resolved queries, …).
    pub metadata: BTreeMap<String, String>,
}

/// A phase a provider decides without conditions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DecidedPhase {
    /// The check passed (a Job completed).
    Successful,
    /// The check failed (a Job failed).
    Failed,
    /// The check could not decide (an image could not be pulled, a terminated Job).
    Inconclusive,
}

/// The result of one measurement.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// A value for the conditions to judge.
    Observed(Observation),
    /// A phase the provider decided itself; conditions are not evaluated.
    Decided {
        /// The phase.
        phase: DecidedPhase,
        /// A message for the measurement (for example a Job's captured output).
        message: String,
        /// The measurement's value string.
        value: String,
        /// Extra measurement metadata.
        metadata: BTreeMap<String, String>,
    },
}

/// What a provider may know about the measurement it takes.
#[derive(Debug, Clone)]
pub struct MeasureContext {
    /// The wall-clock time the engine assigns to this measurement. Query windows
    /// (`now - interval`) are computed from it, never from a clock read inside a provider.
    pub now: SystemTime,
    /// An upper bound for the whole measurement, when the caller sets one. Providers
    /// still apply their own per-request timeouts.
    pub deadline: Option<Duration>,
    /// A stable, human-readable identity for artefacts the provider creates
    /// (`<run>.<metric>.<n>` in Argo's Job provider).
    pub measurement_id: String,
}

/// Why a provider could not produce a value. Always becomes an Error measurement.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct ProviderError {
    kind: ErrorKind,
    message: String,
}

/// The class of a [`ProviderError`]: it decides whether retrying can help.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorKind {
    /// Connection refused, reset, DNS failure.
    Transport,
    /// The request or the body took longer than the timeout.
    Timeout,
    /// HTTP 5xx or 429: the server may recover.
    Unavailable,
    /// HTTP 401 or 403.
    Auth,
    /// Any other non-2xx answer.
    Rejected,
    /// The answer could not be understood (malformed body, unsupported type).
    Malformed,
    /// The query ran but found nothing the provider can turn into a result.
    NoData,
    /// The provider configuration is unusable at measurement time.
    Config,
}

impl ProviderError {
    /// A new error of `kind` with a one-line, user-facing message.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        ProviderError { kind, message: message.into() }
    }

    /// The class of this error.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// The user-facing message.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// True when a later retry can plausibly succeed (timeouts, 5xx, 429, transport).
    pub fn is_transient(&self) -> bool {
        matches!(self.kind, ErrorKind::Transport | ErrorKind::Timeout | ErrorKind::Unavailable)
    }
}

/// A provider configuration that could not be built. The message is Argo's where Argo
/// has one; the engine turns it into an Error measurement, as Argo does.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct BuildError(pub String);

/// One metric's provider, ready to measure.
///
/// Implementations must be cheap to call repeatedly; per-metric setup belongs in
/// [`ProviderFactory::build`].
#[async_trait::async_trait]
pub trait MetricProvider: Send + Sync + Debug {
    /// The provider kind, as written in templates (`web`, `prometheus`, …).
    fn kind(&self) -> &'static str;

    /// Takes one measurement.
    async fn measure(&self, ctx: &MeasureContext) -> Result<Outcome, ProviderError>;

    /// Stops an in-flight measurement's side effects (a Job's deletion). Synchronous
    /// providers have nothing to do.
    async fn terminate(&self, _ctx: &MeasureContext) -> Result<(), ProviderError> {
        Ok(())
    }

    /// Metadata stored once on the metric result (for example a resolved query).
    fn metadata(&self) -> BTreeMap<String, String> {
        BTreeMap::new()
    }
}

/// Named secrets a provider reads itself, the way Argo's Datadog provider reads the
/// `datadog` Secret (or its `secretRef`) instead of taking credentials through args.
/// The engine implements it over its own secret sources; values must never appear in
/// messages, logs or `Debug` output.
pub trait SecretLookup: Send + Sync {
    /// The value of `key` in secret `name`, or a message without any secret value
    /// (`secrets "<name>" not found`, `key '<key>' does not exist in secret '<name>'`).
    fn secret(&self, name: &str, key: &str) -> Result<String, String>;
}

/// What a factory may use besides the metric's provider block. The default context
/// has no secrets: every lookup fails with `secrets "<name>" not found`.
#[derive(Clone, Default)]
pub struct BuildContext {
    /// The engine's named secrets, when it offers them.
    pub secrets: Option<Arc<dyn SecretLookup>>,
}

impl Debug for BuildContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let secrets = if self.secrets.is_some() { "Some(*****)" } else { "None" };
        f.debug_struct("BuildContext").field("secrets", &format_args!("{secrets}")).finish()
    }
}

/// Builds providers of one kind from a metric's `provider.<kind>` JSON block, after
/// `{{args.*}}` substitution.
pub trait ProviderFactory: Send + Sync + Debug {
    /// The provider kind this factory builds.
    fn kind(&self) -> &'static str;

    /// Validates `config` and builds the provider.
    fn build(&self, config: &serde_json::Value) -> Result<Box<dyn MetricProvider>, BuildError>;

    /// Validates `config` and builds the provider with what the engine offers besides
    /// the block (named secrets). Factories that need nothing more keep this default,
    /// which is [`ProviderFactory::build`].
    fn build_with_context(
        &self,
        config: &serde_json::Value,
        ctx: &BuildContext,
    ) -> Result<Box<dyn MetricProvider>, BuildError> {
        let _ = ctx;
        self.build(config)
    }
}

/// Deserialises `null` as the type's default, as Argo's CRD pruning effectively does
/// (`#[serde(default, deserialize_with = "augur_provider_api::nullable")]`).
pub fn nullable<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: serde::Deserializer<'de>,
    T: serde::Deserialize<'de> + Default,
{
    Ok(<Option<T> as serde::Deserialize>::deserialize(d)?.unwrap_or_default())
}

/// Reads a provider block into its config type: `null` is an empty block, and a type
/// error names the field (`timeout: invalid type: …`), or the provider (`kind: …`) when
/// the block itself has the wrong type.
pub fn parse_block<T>(kind: &str, config: &serde_json::Value) -> Result<T, BuildError>
where
    T: serde::de::DeserializeOwned + Default,
{
    if config.is_null() {
        return Ok(T::default());
    }
    serde_path_to_error::deserialize(config).map_err(|e| {
        let path = e.path().to_string();
        if path == "." {
            BuildError(format!("{kind}: {}", e.inner()))
        } else {
            BuildError(format!("{path}: {}", e.inner()))
        }
    })
}
