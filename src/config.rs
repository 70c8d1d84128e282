//! Server configuration: a TOML file, then `AUGUR_*` environment overrides, then
//! command-line flags. Two stages: [`RawConfig`] is what was written (everything
//! optional); [`Config::from_raw`] checks it and reports every problem at once.
//!
//! ```toml
//! listen = "127.0.0.1:8080"
//! db = "./augur.db"                 # ":memory:" for a throwaway server
//! body_limit_bytes = 1048576
//! error_retry = "10s"               # Argo's retry delay after an Error measurement
//! measurement_timeout = "5m"
//! spread = "1s"                     # window of the per-run offset
//! shutdown_grace = "10s"
//! completed_ttl = "168h"            # when a run's ttlStrategy says nothing
//! default_concurrency = 256         # concurrent measurements per provider kind
//! secrets_file = "/etc/augur/secrets.yaml"
//! secrets_dir = "/var/run/secrets/augur"
//! log = "info"
//!
//! [provider_concurrency]
//! prometheus = 64
//! ```

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;

use crate::engine::EngineConfig;
use crate::scheduler::SchedulerConfig;

/// The configuration as written: file, environment and flags merged, not yet checked.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawConfig {
    /// Address to listen on.
    pub listen: Option<String>,
    /// SQLite database path.
    pub db: Option<String>,
    /// Largest request body.
    pub body_limit_bytes: Option<u64>,
    /// Retry delay after an Error measurement.
    pub error_retry: Option<String>,
    /// Bound on one measurement.
    pub measurement_timeout: Option<String>,
    /// Per-run offset window.
    pub spread: Option<String>,
    /// Time for in-flight measurements at shutdown.
    pub shutdown_grace: Option<String>,
    /// Default life of a completed run.
    pub completed_ttl: Option<String>,
    /// Concurrent measurements per provider kind.
    pub default_concurrency: Option<u64>,
    /// Per provider kind.
    #[serde(default)]
    pub provider_concurrency: BTreeMap<String, u64>,
    /// Secrets file.
    pub secrets_file: Option<PathBuf>,
    /// Secrets directory.
    pub secrets_dir: Option<PathBuf>,
    /// Log filter (`info`, `augur=debug`, …).
    pub log: Option<String>,
}

/// The environment variables that override the file, and the field each sets.
pub const ENV_OVERRIDES: &[(&str, &str)] = &[
    ("AUGUR_LISTEN", "listen"),
    ("AUGUR_DB", "db"),
    ("AUGUR_BODY_LIMIT_BYTES", "body_limit_bytes"),
    ("AUGUR_ERROR_RETRY", "error_retry"),
    ("AUGUR_MEASUREMENT_TIMEOUT", "measurement_timeout"),
    ("AUGUR_SPREAD", "spread"),
    ("AUGUR_SHUTDOWN_GRACE", "shutdown_grace"),
    ("AUGUR_COMPLETED_TTL", "completed_ttl"),
    ("AUGUR_DEFAULT_CONCURRENCY", "default_concurrency"),
    ("AUGUR_SECRETS_FILE", "secrets_file"),
    ("AUGUR_SECRETS_DIR", "secrets_dir"),
    ("AUGUR_LOG", "log"),
];

impl RawConfig {
    /// Parses a config file. The error names the file and the field.
    pub fn from_toml(path: &std::path::Path, text: &str) -> Result<RawConfig, String> {
        let de = toml::Deserializer::parse(text).map_err(|e| format!("{}: {}", path.display(), one(&e.to_string())))?;
        serde_path_to_error::deserialize(de)
            .map_err(|e| format!("{}: {}: {}", path.display(), e.path(), one(&e.inner().to_string())))
    }

    /// Applies `AUGUR_*` overrides. A number that does not parse is reported by
    /// [`Config::from_raw`] along with everything else.
    pub fn apply_env(&mut self, env: impl Iterator<Item = (String, String)>, problems: &mut Vec<String>) {
        for (k, v) in env {
            let Some((_, field)) = ENV_OVERRIDES.iter().find(|(name, _)| *name == k) else { continue };
            let num = |problems: &mut Vec<String>| match v.parse::<u64>() {
                Ok(n) => Some(n),
                Err(_) => {
                    problems.push(format!("{k}: {v:?} is not a whole number"));
                    None
                }
            };
            match *field {
                "listen" => self.listen = Some(v.clone()),
                "db" => self.db = Some(v.clone()),
                "body_limit_bytes" => self.body_limit_bytes = num(problems).or(self.body_limit_bytes),
                "error_retry" => self.error_retry = Some(v.clone()),
                "measurement_timeout" => self.measurement_timeout = Some(v.clone()),
                "spread" => self.spread = Some(v.clone()),
                "shutdown_grace" => self.shutdown_grace = Some(v.clone()),
                "completed_ttl" => self.completed_ttl = Some(v.clone()),
                "default_concurrency" => self.default_concurrency = num(problems).or(self.default_concurrency),
                "secrets_file" => self.secrets_file = Some(PathBuf::from(&v)),
                "secrets_dir" => self.secrets_dir = Some(PathBuf::from(&v)),
                "log" => self.log = Some(v.clone()),
                _ => {}
            }
        }
    }
}

fn one(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Checked configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// Address to listen on.
    pub listen: SocketAddr,
    /// Database path, or None for in-memory.
    pub db: Option<PathBuf>,
    /// Largest request body.
    pub body_limit: usize,
    /// Scheduler settings.
    pub scheduler: SchedulerConfig,
    /// Secrets file.
    pub secrets_file: Option<PathBuf>,
    /// Secrets directory.
    pub secrets_dir: Option<PathBuf>,
    /// Log filter.
    pub log: String,
}

fn duration(field: &str, value: Option<&str>, default: Duration, problems: &mut Vec<String>) -> Duration {
    let Some(v) = value else { return default };
    match crate::duration::parse_go_duration(v) {
        Ok(ns) if ns >= 0 => Duration::from_nanos(ns.unsigned_abs()),
        Ok(_) => {
            problems.push(format!("{field}: must not be negative"));
            default
        }
        Err(e) => {
            problems.push(format!("{field}: {e}"));
            default
        }
    }
}

impl Config {
    /// Checks everything, reporting all problems together.
    pub fn from_raw(raw: &RawConfig) -> Result<Config, Vec<String>> {
        let mut problems = Vec::new();
        let listen_text = raw.listen.as_deref().unwrap_or("127.0.0.1:8080");
        let listen = listen_text.parse::<SocketAddr>().unwrap_or_else(|e| {
            problems.push(format!("listen: {listen_text:?}: {e} (expected host:port, e.g. 127.0.0.1:8080)"));
            SocketAddr::from(([127, 0, 0, 1], 8080))
        });
        let db = match raw.db.as_deref().unwrap_or("./augur.db") {
            ":memory:" => None,
            "" => {
                problems.push("db: must not be empty (use \":memory:\" for no file)".to_string());
                None
            }
            path => Some(PathBuf::from(path)),
        };
        if let Some(parent) = db.as_ref().and_then(|p| p.parent()).filter(|p| !p.as_os_str().is_empty())
            && !parent.is_dir()
        {
            problems.push(format!("db: directory {} does not exist", parent.display()));
        }
        let body_limit = raw.body_limit_bytes.unwrap_or(1 << 20);
        if !(1024..=(64 << 20)).contains(&body_limit) {
            problems.push(format!("body_limit_bytes: {body_limit} is outside 1024..=67108864"));
        }
        let defaults = SchedulerConfig::default();
        let error_retry = duration("error_retry", raw.error_retry.as_deref(), Duration::from_secs(10), &mut problems);
        let measurement_timeout = duration(
            "measurement_timeout",
            raw.measurement_timeout.as_deref(),
            defaults.measurement_timeout,
            &mut problems,
        );
        if measurement_timeout.is_zero() {
            problems.push("measurement_timeout: must be more than 0".to_string());
        }
        let spread = duration("spread", raw.spread.as_deref(), defaults.spread, &mut problems);
        let shutdown_grace =
            duration("shutdown_grace", raw.shutdown_grace.as_deref(), defaults.shutdown_grace, &mut problems);
        let ttl = duration(
            "completed_ttl",
            raw.completed_ttl.as_deref(),
            Duration::from_secs(u64::try_from(defaults.completed_ttl_secs).unwrap_or(0)),
            &mut problems,
        );
        let mut provider_concurrency = BTreeMap::new();
        for (k, v) in &raw.provider_concurrency {
            if *v == 0 {
                problems.push(format!("provider_concurrency.{k}: must be at least 1"));
            }
            provider_concurrency.insert(k.clone(), usize::try_from(*v).unwrap_or(usize::MAX));
        }
        let default_concurrency = raw.default_concurrency.unwrap_or(256);
        if default_concurrency == 0 {
            problems.push("default_concurrency: must be at least 1".to_string());
        }
        for (field, p) in [("secrets_file", &raw.secrets_file), ("secrets_dir", &raw.secrets_dir)] {
            if let Some(p) = p
                && !p.exists()
            {
                problems.push(format!("{field}: {} does not exist", p.display()));
            }
        }
        let log = raw.log.clone().unwrap_or_else(|| "info".to_string());
        if let Err(e) = tracing_subscriber::EnvFilter::try_new(&log) {
            problems.push(format!("log: {log:?}: {e}"));
        }
        if !problems.is_empty() {
            return Err(problems);
        }
        Ok(Config {
            listen,
            db,
            body_limit: usize::try_from(body_limit).unwrap_or(usize::MAX),
            scheduler: SchedulerConfig {
                engine: EngineConfig { error_retry_ms: i64::try_from(error_retry.as_millis()).unwrap_or(i64::MAX) },
                spread,
                measurement_timeout,
                provider_concurrency,
                default_concurrency: usize::try_from(default_concurrency).unwrap_or(usize::MAX),
                completed_ttl_secs: i64::try_from(ttl.as_secs()).unwrap_or(i64::MAX),
                shutdown_grace,
                expiry_interval: defaults.expiry_interval,
            },
            secrets_file: raw.secrets_file.clone(),
            secrets_dir: raw.secrets_dir.clone(),
            log,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_problem_is_reported_together() {
        let raw = RawConfig {
            listen: Some("nope".into()),
            error_retry: Some("10x".into()),
            default_concurrency: Some(0),
            provider_concurrency: [("web".to_string(), 0)].into(),
            ..RawConfig::default()
        };
        let problems = Config::from_raw(&raw).unwrap_err();
        assert_eq!(problems.len(), 4, "{problems:#?}");
        assert!(problems[0].starts_with("listen: \"nope\""), "{problems:#?}");
        assert!(
            problems.iter().any(|p| p == "error_retry: time: unknown unit \"x\" in duration \"10x\""),
            "{problems:#?}"
        );
        assert!(problems.iter().any(|p| p == "provider_concurrency.web: must be at least 1"), "{problems:#?}");
    }

    #[test]
    fn environment_overrides_the_file_and_reports_bad_numbers() {
        let path = std::path::Path::new("augur.toml");
        let mut raw = RawConfig::from_toml(path, "listen = \"127.0.0.1:1\"\nspread = \"2s\"\n").unwrap();
        let mut problems = Vec::new();
        let env = [("AUGUR_LISTEN", "127.0.0.1:2"), ("AUGUR_DEFAULT_CONCURRENCY", "many"), ("AUGUR_OTHER", "x")];
        raw.apply_env(env.iter().map(|(k, v)| (k.to_string(), v.to_string())), &mut problems);
        assert_eq!(raw.listen.as_deref(), Some("127.0.0.1:2"));
        assert_eq!(raw.spread.as_deref(), Some("2s"));
        assert_eq!(problems, ["AUGUR_DEFAULT_CONCURRENCY: \"many\" is not a whole number"]);
    }

    #[test]
    fn unknown_fields_in_the_file_are_errors_naming_them() {
        let err = RawConfig::from_toml(std::path::Path::new("a.toml"), "listn = \"x\"\n").unwrap_err();
        assert!(err.starts_with("a.toml: "), "{err}");
        assert!(err.contains("listn"), "{err}");
    }
}
