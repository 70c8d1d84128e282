//! The closed set of metric providers compiled into this binary.
//!
//! One `match` turns a metric's `provider` block into a ready provider. A provider that
//! cannot be built is not an `Err` for the run: Argo records it as an Error measurement
//! on every attempt, and so does augur (see `runner`).

use std::sync::Arc;

use augur_provider_api::{BuildContext, MetricProvider, ProviderFactory, SecretLookup};

use crate::template::{Metric, SecretSource};

/// Provider kinds this build can measure.
pub fn supported() -> Vec<&'static str> {
    vec![
        #[cfg(feature = "web")]
        "web",
        #[cfg(feature = "prometheus")]
        "prometheus",
        #[cfg(feature = "cloudwatch")]
        "cloudWatch",
        #[cfg(feature = "job")]
        "job",
        #[cfg(feature = "datadog")]
        "datadog",
    ]
}

/// Metric plugins this build implements itself (Argo's `provider.plugin` keys).
pub const PLUGINS: [&str; 1] = [crate::compare::PLUGIN];

/// `provider.plugin: {"<vendor>/<name>": config}`: augur's own plugins run in-process.
fn build_plugin(
    metric: &Metric,
    plugins: &serde_json::Value,
    secrets: Arc<dyn SecretSource + Send + Sync>,
) -> Result<Arc<dyn MetricProvider>, String> {
    let Some((name, config)) = plugins.as_object().and_then(|p| p.iter().next()) else {
        return Err("no provider specified".to_string());
    };
    match name.as_str() {
        crate::compare::PLUGIN => crate::compare::build(metric, config, secrets),
        other => Err(format!(
            "metric plugin \"{other}\" is not supported by augur (built-in plugins: {}); \
             Argo loads other plugins from its own configuration",
            PLUGINS.join(", ")
        )),
    }
}

/// Builds the provider of `metric`, or the message of the Error measurement it becomes.
/// Providers that read named secrets themselves (Datadog's `datadog` secret or
/// `secretRef`) see only the `AUGUR_SECRET_<NAME>_<KEY>` environment here; a caller
/// holding the run's secret source passes it with [`build_with_secrets`].
pub fn build(metric: &Metric) -> Result<Arc<dyn MetricProvider>, String> {
    let env_only = crate::secrets::Secrets::load(None, None, std::env::vars()).unwrap_or_default();
    build_with_secrets(metric, Arc::new(env_only))
}

/// [`build`], offering `secrets` (`--secrets-file`, `--secrets-dir`, `AUGUR_SECRET_*`)
/// to the providers that read named secrets.
pub fn build_with_secrets(
    metric: &Metric,
    secrets: Arc<dyn SecretSource + Send + Sync>,
) -> Result<Arc<dyn MetricProvider>, String> {
    let Some(kind) = metric.provider_kind() else {
        return Err(if metric.provider.is_empty() {
            "no provider specified".to_string()
        } else {
            "multiple providers specified".to_string()
        });
    };
    let config = &metric.provider[kind];
    if kind == "plugin" {
        return build_plugin(metric, config, secrets);
    }
    let factory: Option<&dyn ProviderFactory> = match kind {
        #[cfg(feature = "web")]
        "web" => Some(&augur_provider_web::WebFactory),
        // Reads AUGUR_PROMETHEUS_ADDRESS when it builds a block without `address`.
        #[cfg(feature = "prometheus")]
        "prometheus" => Some(&augur_provider_prometheus::PrometheusFactory),
        // One process-wide AWS client on the standard chain (AUGUR_CLOUDWATCH_ENDPOINT
        // overrides the endpoint), configured on the first measurement.
        #[cfg(feature = "cloudwatch")]
        "cloudWatch" => Some(augur_provider_cloudwatch::CloudWatchFactory::standard()),
        // Reads AUGUR_KUBE_URL and AUGUR_JOB_NAMESPACE once; the Kubernetes client is built
        // on a Job metric's first measurement (in-cluster, KUBECONFIG or AUGUR_KUBE_URL).
        #[cfg(feature = "job")]
        "job" => Some(augur_provider_job::JobFactory::from_env()),
        // Reads DD_API_KEY, DD_APP_KEY, DD_ADDRESS and DD_SITE once; credentials (those,
        // or the `datadog` / `secretRef` secret from `secrets`) are found per measurement.
        #[cfg(feature = "datadog")]
        "datadog" => Some(augur_provider_datadog::DatadogFactory::from_env()),
        _ => None,
    };
    let ctx = BuildContext { secrets: Some(Arc::new(EngineSecrets(secrets))) };
    match factory {
        Some(f) => f.build_with_context(config, &ctx).map(Arc::from).map_err(|e| e.to_string()),
        None => Err(format!(
            "metric provider \"{kind}\" is not supported by this augur build (supported: {})",
            supported().join(", ")
        )),
    }
}

/// The engine's secret source, as the provider boundary's [`SecretLookup`].
struct EngineSecrets(Arc<dyn SecretSource + Send + Sync>);

impl SecretLookup for EngineSecrets {
    fn secret(&self, name: &str, key: &str) -> Result<String, String> {
        self.0.get(name, key)
    }
}
