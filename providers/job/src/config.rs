//! The `provider.job` block, validated once when the provider is built.
//!
//! Two forms share the block, told apart by their keys:
//! * Argo's: `metadata {labels, annotations}` and `spec` (a `batch/v1` `JobSpec`), plus
//!   augur's optional `metadata.namespace` and `timeout`;
//! * augur's `command` form: `command`, `timeout`, `env`, `workingDir`, `inheritEnv`.
//!
//! Every error names the field, so `augur lint` points at the mistake.

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use augur_provider_api::BuildError;
use k8s_openapi::api::batch::v1::JobSpec;
use serde_json::{Map, Value};

use crate::output::parse_go_duration;

/// The command form's default `timeout`.
pub(crate) const DEFAULT_COMMAND_TIMEOUT: Duration = Duration::from_secs(300);

/// Keys of the Argo (Kubernetes) form.
const KUBE_KEYS: [&str; 3] = ["metadata", "spec", "timeout"];
/// Keys of the command form.
const COMMAND_KEYS: [&str; 5] = ["command", "timeout", "env", "workingDir", "inheritEnv"];

/// A validated `provider.job` block.
#[derive(Debug)]
pub(crate) enum JobConfig {
    /// Run a Kubernetes Job.
    Kubernetes(Box<KubeJobConfig>),
    /// Run a local process.
    Command(CommandConfig),
}

/// The Kubernetes form.
#[derive(Debug, Clone)]
pub(crate) struct KubeJobConfig {
    /// `metadata.labels`, copied to the Job.
    pub(crate) labels: BTreeMap<String, String>,
    /// `metadata.annotations`, copied to the Job.
    pub(crate) annotations: BTreeMap<String, String>,
    /// `metadata.namespace` (augur-only): where the Job is created.
    pub(crate) namespace: Option<String>,
    /// `spec`, the Job's spec as written.
    pub(crate) spec: JobSpec,
    /// `timeout` (augur-only): how long to wait for the Job before deleting it.
    pub(crate) timeout: Option<Duration>,
}

/// The command form (augur-only).
#[derive(Clone)]
pub(crate) struct CommandConfig {
    /// `command`: the program and its arguments. No shell is involved.
    pub(crate) argv: Vec<String>,
    /// `timeout`: after it the process group is killed and the measurement is an Error.
    pub(crate) timeout: Duration,
    /// `env`: variables set for the process (on top of augur's own unless `inheritEnv` is false).
    pub(crate) env: BTreeMap<String, String>,
    /// `workingDir`: the process's working directory (default: augur's).
    pub(crate) working_dir: Option<PathBuf>,
    /// `inheritEnv`: whether the process starts from augur's environment (default true).
    pub(crate) inherit_env: bool,
}

impl fmt::Debug for CommandConfig {
    /// `env` values can hold secrets substituted from args: only the names are shown.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CommandConfig")
            .field("argv0", &self.argv.first())
            .field("n_args", &self.argv.len().saturating_sub(1))
            .field("timeout", &self.timeout)
            .field("env", &self.env.keys().collect::<Vec<_>>())
            .field("working_dir", &self.working_dir)
            .field("inherit_env", &self.inherit_env)
            .finish()
    }
}

fn err(message: impl Into<String>) -> BuildError {
    BuildError(message.into())
}

/// The JSON type name of `v`, for messages.
fn json_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

impl JobConfig {
    /// Validates a `provider.job` block.
    pub(crate) fn parse(config: &Value) -> Result<JobConfig, BuildError> {
        let empty = Map::new();
        let obj = match config {
            Value::Object(obj) => obj,
            Value::Null => &empty,
            other => return Err(err(format!("job: the provider block must be an object, got {}", json_type(other)))),
        };
        let present = |k: &str| obj.get(k).is_some_and(|v| !v.is_null());
        for key in obj.keys() {
            if !KUBE_KEYS.contains(&key.as_str()) && !COMMAND_KEYS.contains(&key.as_str()) {
                return Err(err(format!(
                    "job.{key}: unknown field; a job is either a Kubernetes Job (metadata, spec) or, in augur \
                     only, a local command (command, timeout, env, workingDir, inheritEnv)"
                )));
            }
        }
        match (present("spec"), present("command")) {
            (true, true) => Err(err("job: spec and command cannot both be set; spec runs a Kubernetes Job, \
                 command runs a local process (augur only)")),
            (false, false) => Err(err("job: spec is required (a batch/v1 JobSpec to run as a Kubernetes Job); \
                 augur also accepts command (a local process) instead")),
            (true, false) => {
                if let Some(key) = ["env", "workingDir", "inheritEnv"].into_iter().find(|k| present(k)) {
                    return Err(err(format!(
                        "job.{key}: only valid with command (the local form); set it in \
                         the Job's container spec instead"
                    )));
                }
                parse_kube(obj).map(|c| JobConfig::Kubernetes(Box::new(c)))
            }
            (false, true) => {
                if present("metadata") {
                    return Err(err("job.metadata: only valid with spec (a Kubernetes Job), not with command"));
                }
                parse_command(obj).map(JobConfig::Command)
            }
        }
    }
}

fn parse_kube(obj: &Map<String, Value>) -> Result<KubeJobConfig, BuildError> {
    let mut labels = BTreeMap::new();
    let mut annotations = BTreeMap::new();
    let mut namespace = None;
    match obj.get("metadata") {
        None | Some(Value::Null) => {}
        Some(Value::Object(meta)) => {
            for (key, value) in meta {
                match key.as_str() {
                    "labels" => labels = string_map(value, "job.metadata.labels", false)?,
                    "annotations" => annotations = string_map(value, "job.metadata.annotations", false)?,
                    "namespace" => match value {
                        Value::Null => {}
                        Value::String(s) if s.is_empty() => {}
                        Value::String(s) => namespace = Some(s.clone()),
                        other => {
                            return Err(err(format!(
                                "job.metadata.namespace: expected a string, got {}",
                                json_type(other)
                            )));
                        }
                    },
                    "name" | "generateName" => {
                        return Err(err(format!(
                            "job.metadata.{key}: not allowed; augur names each Job <run>.<metric>.<n> as Argo does"
                        )));
                    }
                    other => {
                        return Err(err(format!(
                            "job.metadata.{other}: unknown field (only labels, annotations and namespace are used)"
                        )));
                    }
                }
            }
        }
        Some(other) => return Err(err(format!("job.metadata: expected an object, got {}", json_type(other)))),
    }
    let spec_value = obj.get("spec").cloned().unwrap_or(Value::Null);
    let spec: JobSpec = serde_path_to_error::deserialize(spec_value).map_err(|e| {
        let path = e.path().to_string();
        let at = if path == "." { "job.spec".to_string() } else { format!("job.spec.{path}") };
        err(format!("{at}: {} (spec must be a batch/v1 JobSpec)", e.inner()))
    })?;
    check_pod_spec(&spec)?;
    let timeout = match obj.get("timeout") {
        None | Some(Value::Null) => None,
        Some(v) => Some(parse_timeout(v)?),
    };
    Ok(KubeJobConfig { labels, annotations, namespace, spec, timeout })
}

/// The two checks the API server makes on every Job that users most often trip over, made
/// here so `augur lint` reports them instead of a 422 at measurement time.
fn check_pod_spec(spec: &JobSpec) -> Result<(), BuildError> {
    let Some(pod) = &spec.template.spec else {
        return Err(err("job.spec.template.spec: missing (the pod to run: containers and restartPolicy)"));
    };
    if pod.containers.is_empty() {
        return Err(err("job.spec.template.spec.containers: at least one container is required"));
    }
    match pod.restart_policy.as_deref() {
        Some("Never" | "OnFailure") => Ok(()),
        Some(other) => Err(err(format!(
            "job.spec.template.spec.restartPolicy: {other:?} is not allowed for a Job; use Never or OnFailure"
        ))),
        None => Err(err("job.spec.template.spec.restartPolicy: required for a Job (Never or OnFailure); \
             Kubernetes defaults it to Always, which it rejects for Jobs")),
    }
}

fn parse_command(obj: &Map<String, Value>) -> Result<CommandConfig, BuildError> {
    let argv: Vec<String> = match obj.get("command") {
        Some(Value::Array(items)) => items
            .iter()
            .enumerate()
            .map(|(i, v)| match v {
                Value::String(s) if s.contains('\0') => Err(err(format!("job.command[{i}]: contains a NUL byte"))),
                Value::String(s) => Ok(s.clone()),
                other => Err(err(format!(
                    "job.command[{i}]: expected a string, got {} (quote numbers: \"10\")",
                    json_type(other)
                ))),
            })
            .collect::<Result<_, _>>()?,
        Some(Value::String(_)) => {
            return Err(err("job.command: expected a list (the program and its arguments); no shell is used, \
                 so write [\"sh\", \"-c\", \"<script>\"] to run a shell script"));
        }
        None | Some(Value::Null) => Vec::new(),
        Some(other) => return Err(err(format!("job.command: expected a list of strings, got {}", json_type(other)))),
    };
    if argv.first().is_none_or(String::is_empty) {
        return Err(err("job.command: the program (the first item) is missing"));
    }
    let timeout = match obj.get("timeout") {
        None | Some(Value::Null) => DEFAULT_COMMAND_TIMEOUT,
        Some(v) => parse_timeout(v)?,
    };
    let env = match obj.get("env") {
        None | Some(Value::Null) => BTreeMap::new(),
        Some(v) => string_map(v, "job.env", true)?,
    };
    for name in env.keys() {
        if name.is_empty() || name.contains('=') || name.contains('\0') {
            return Err(err(format!("job.env: invalid variable name {name:?}")));
        }
    }
    for (name, value) in &env {
        if value.contains('\0') {
            return Err(err(format!("job.env.{name}: contains a NUL byte")));
        }
    }
    let working_dir = match obj.get("workingDir") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) if s.is_empty() => None,
        Some(Value::String(s)) => Some(PathBuf::from(s)),
        Some(other) => return Err(err(format!("job.workingDir: expected a string, got {}", json_type(other)))),
    };
    let inherit_env = match obj.get("inheritEnv") {
        None | Some(Value::Null) => true,
        Some(Value::Bool(b)) => *b,
        Some(other) => return Err(err(format!("job.inheritEnv: expected true or false, got {}", json_type(other)))),
    };
    Ok(CommandConfig { argv, timeout, env, working_dir, inherit_env })
}

/// `timeout`: a positive Go duration string.
fn parse_timeout(v: &Value) -> Result<Duration, BuildError> {
    let text = match v {
        Value::String(s) => s,
        Value::Number(n) => {
            return Err(err(format!(
                "job.timeout: expected a duration string such as \"60s\" or \"5m\", got the number {n}"
            )));
        }
        other => return Err(err(format!("job.timeout: expected a duration string, got {}", json_type(other)))),
    };
    let nanos = parse_go_duration(text).map_err(|e| err(format!("job.timeout: {e}")))?;
    if nanos <= 0 {
        return Err(err(format!("job.timeout: must be positive, got {text:?}")));
    }
    Ok(Duration::from_nanos(u64::try_from(nanos).unwrap_or(u64::MAX)))
}

/// A map of strings. With `scalars`, numbers and booleans are accepted and written as
/// YAML shows them (`DEBUG: 1` sets `DEBUG=1`); Kubernetes metadata takes strings only.
fn string_map(v: &Value, field: &str, scalars: bool) -> Result<BTreeMap<String, String>, BuildError> {
    let obj = match v {
        Value::Null => return Ok(BTreeMap::new()),
        Value::Object(obj) => obj,
        other => return Err(err(format!("{field}: expected a map of strings, got {}", json_type(other)))),
    };
    obj.iter()
        .map(|(k, v)| match v {
            Value::String(s) => Ok((k.clone(), s.clone())),
            Value::Number(n) if scalars => Ok((k.clone(), n.to_string())),
            Value::Bool(b) if scalars => Ok((k.clone(), b.to_string())),
            other => Err(err(format!("{field}.{k}: expected a string, got {}", json_type(other)))),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[track_caller]
    fn check_error(block: Value, want: &str) {
        match JobConfig::parse(&block) {
            Ok(c) => panic!("expected an error containing {want:?}, got {c:?}"),
            Err(e) => assert!(e.0.contains(want), "expected {want:?} in {:?}", e.0),
        }
    }

    fn spec() -> Value {
        json!({"template": {"spec": {"restartPolicy": "Never", "containers": [{"name": "c", "image": "busybox"}]}}})
    }

    #[test]
    fn the_argo_form_keeps_metadata_and_spec() {
        let block = json!({"metadata": {"labels": {"a": "1"}, "annotations": {"b": "2"}}, "spec": spec()});
        let JobConfig::Kubernetes(c) = JobConfig::parse(&block).unwrap() else { panic!("kubernetes form") };
        assert_eq!(c.labels, BTreeMap::from([("a".to_string(), "1".to_string())]));
        assert_eq!(c.annotations, BTreeMap::from([("b".to_string(), "2".to_string())]));
        assert_eq!(c.namespace, None);
        assert_eq!(c.timeout, None);
        assert_eq!(c.spec.template.spec.unwrap().containers[0].image.as_deref(), Some("busybox"));
    }

    #[test]
    fn the_command_form_has_defaults() {
        let JobConfig::Command(c) = JobConfig::parse(&json!({"command": ["true"]})).unwrap() else {
            panic!("command form")
        };
        assert_eq!(c.argv, ["true"]);
        assert_eq!(c.timeout, DEFAULT_COMMAND_TIMEOUT);
        assert!(c.inherit_env && c.env.is_empty() && c.working_dir.is_none());
        let JobConfig::Command(c) =
            JobConfig::parse(&json!({"command": ["x"], "timeout": "1m30s", "env": {"N": 1, "B": true, "S": "s"}}))
                .unwrap()
        else {
            panic!("command form")
        };
        assert_eq!(c.timeout, Duration::from_secs(90));
        assert_eq!(c.env["N"], "1");
        assert_eq!(c.env["B"], "true");
    }

    #[test]
    fn mistakes_name_their_field() {
        check_error(json!({}), "job: spec is required");
        check_error(json!({"spec": spec(), "command": ["x"]}), "cannot both be set");
        check_error(json!({"spec": {"template": "x"}}), "job.spec.template: invalid type");
        check_error(json!({"spec": {}}), "job.spec.template.spec: missing");
        check_error(json!({"spec": {"template": {"spec": {"containers": []}}}}), "at least one container");
        check_error(
            json!({"spec": {"template": {"spec": {"containers": [{"name": "c"}]}}}}),
            "job.spec.template.spec.restartPolicy: required for a Job",
        );
        check_error(
            json!({"spec": {"template": {"spec": {"restartPolicy": "Always", "containers": [{"name": "c"}]}}}}),
            "\"Always\" is not allowed for a Job",
        );
        check_error(json!({"spec": spec(), "env": {"A": "b"}}), "job.env: only valid with command");
        check_error(json!({"spec": spec(), "metadata": {"name": "x"}}), "job.metadata.name: not allowed");
        check_error(
            json!({"spec": spec(), "metadata": {"labels": {"a": 1}}}),
            "job.metadata.labels.a: expected a string",
        );
        check_error(json!({"spec": spec(), "timeout": "soon"}), "job.timeout: time: invalid duration");
        check_error(json!({"command": "sh -c true"}), "no shell is used");
        check_error(json!({"command": []}), "the program (the first item) is missing");
        check_error(json!({"command": ["sleep", 10]}), "job.command[1]: expected a string");
        check_error(json!({"command": ["x"], "timeout": 60}), "got the number 60");
        check_error(json!({"command": ["x"], "timeout": "0s"}), "must be positive");
        check_error(json!({"command": ["x"], "env": {"A=B": "c"}}), "invalid variable name");
        check_error(json!({"command": ["x"], "metadata": {}}), "job.metadata: only valid with spec");
        check_error(json!({"command": ["x"], "workdir": "/"}), "job.workdir: unknown field");
        check_error(json!("x"), "must be an object");
    }
}
