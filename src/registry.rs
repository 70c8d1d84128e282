//! The closed set of metric providers compiled into this binary.
//!
//! One `match` turns a metric's `provider` block into a ready provider. A provider that
//! cannot be built is not an `Err` for the run: Argo records it as an Error measurement
//! on every attempt, and so does augur (see `runner`).

use std::sync::Arc;

use augur_provider_api::{MetricProvider, ProviderFactory};

use crate::template::Metric;

/// Provider kinds this build can measure.
pub fn supported() -> Vec<&'static str> {
    vec![
        #[cfg(feature = "web")]
        "web",
    ]
}

/// Builds the provider of `metric`, or the message of the Error measurement it becomes.
pub fn build(metric: &Metric) -> Result<Arc<dyn MetricProvider>, String> {
    let Some(kind) = metric.provider_kind() else {
        return Err(if metric.provider.is_empty() {
            "no provider specified".to_string()
        } else {
            "multiple providers specified".to_string()
        });
    };
    let config = &metric.provider[kind];
    let factory: Option<&dyn ProviderFactory> = match kind {
        #[cfg(feature = "web")]
        "web" => Some(&augur_provider_web::WebFactory),
        _ => None,
    };
    match factory {
        Some(f) => f.build(config).map(Arc::from).map_err(|e| e.to_string()),
        None => Err(format!(
            "metric provider \"{kind}\" is not supported by this augur build (supported: {})",
            supported().join(", ")
        )),
    }
}
