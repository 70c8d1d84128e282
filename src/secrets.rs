//! Secret sources for `valueFrom.secretKeyRef` (IO at the rim).
//!
//! Three sources, consulted in this order:
//! 1. a secrets file (`--secrets-file`): YAML or JSON, either a mapping
//!    `{secretName: {key: value}}` or Kubernetes `Secret` manifests (`data` base64,
//!    `stringData` plain), several documents allowed;
//! 2. a directory laid out like mounted Secrets (`--secrets-dir`): `DIR/<name>/<key>`;
//! 3. environment variables `AUGUR_SECRET_<NAME>_<KEY>` (upper-cased, every
//!    non-alphanumeric character replaced by `_`).
//!
//! Values are never logged; the engine redacts them from every message it stores.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use base64::Engine as _;

use crate::template::SecretSource;

/// The combined secret source.
#[derive(Default)]
pub struct Secrets {
    file: BTreeMap<String, BTreeMap<String, String>>,
    dir: Option<PathBuf>,
    env: BTreeMap<String, String>,
}

impl std::fmt::Debug for Secrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Names only: values never reach a log.
        f.debug_struct("Secrets")
            .field("file_secrets", &self.file.keys().collect::<Vec<_>>())
            .field("dir", &self.dir)
            .field("env_vars", &self.env.len())
            .finish()
    }
}

/// The environment prefix for secrets.
pub const ENV_PREFIX: &str = "AUGUR_SECRET_";

impl Secrets {
    /// Loads the sources. A file that cannot be read or parsed is an error naming it.
    pub fn load(
        file: Option<&Path>,
        dir: Option<&Path>,
        env: impl Iterator<Item = (String, String)>,
    ) -> Result<Secrets, String> {
        let mut out = Secrets {
            env: env.filter(|(k, _)| k.starts_with(ENV_PREFIX)).collect(),
            dir: dir.map(Path::to_path_buf),
            ..Secrets::default()
        };
        if let Some(dir) = dir
            && !dir.is_dir()
        {
            return Err(format!("--secrets-dir {}: not a directory", dir.display()));
        }
        if let Some(path) = file {
            let text = std::fs::read_to_string(path).map_err(|e| format!("--secrets-file {}: {e}", path.display()))?;
            out.file = parse_secrets_file(&text).map_err(|e| format!("--secrets-file {}: {e}", path.display()))?;
        }
        Ok(out)
    }
}

/// Parses a secrets file: a `{name: {key: value}}` mapping or `Secret` manifests.
pub fn parse_secrets_file(text: &str) -> Result<BTreeMap<String, BTreeMap<String, String>>, String> {
    use serde::Deserialize;
    let mut out: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
    for de in serde_norway::Deserializer::from_str(text) {
        let doc = serde_json::Value::deserialize(de).map_err(|e| format!("malformed YAML: {e}"))?;
        let serde_json::Value::Object(obj) = doc else {
            if doc.is_null() {
                continue;
            }
            return Err("expected a mapping of secret names, or Secret manifests".to_string());
        };
        if obj.get("kind").and_then(|k| k.as_str()) == Some("Secret") {
            let name = obj
                .get("metadata")
                .and_then(|m| m.get("name"))
                .and_then(|n| n.as_str())
                .ok_or("Secret without metadata.name")?
                .to_string();
            let entry = out.entry(name.clone()).or_default();
            if let Some(serde_json::Value::Object(data)) = obj.get("data") {
                for (k, v) in data {
                    let s = v.as_str().ok_or_else(|| format!("secret {name}: data.{k} is not a string"))?;
                    let bytes = base64::engine::general_purpose::STANDARD
                        .decode(s.trim())
                        .map_err(|_| format!("secret {name}: data.{k} is not valid base64"))?;
                    let value =
                        String::from_utf8(bytes).map_err(|_| format!("secret {name}: data.{k} is not UTF-8"))?;
                    entry.insert(k.clone(), value);
                }
            }
            if let Some(serde_json::Value::Object(data)) = obj.get("stringData") {
                for (k, v) in data {
                    entry.insert(
                        k.clone(),
                        scalar(v).ok_or_else(|| format!("secret {name}: stringData.{k} is not a scalar"))?,
                    );
                }
            }
        } else {
            for (name, keys) in obj {
                let serde_json::Value::Object(keys) = keys else {
                    return Err(format!("secret {name}: expected a mapping of keys to values"));
                };
                let entry = out.entry(name.clone()).or_default();
                for (k, v) in keys {
                    entry.insert(k.clone(), scalar(&v).ok_or_else(|| format!("secret {name}: {k} is not a scalar"))?);
                }
            }
        }
    }
    Ok(out)
}

fn scalar(v: &serde_json::Value) -> Option<String> {
    match v {
        serde_json::Value::String(s) => Some(s.clone()),
        serde_json::Value::Number(n) => Some(n.to_string()),
        serde_json::Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn env_name(s: &str) -> String {
    s.chars().map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_uppercase() } else { '_' }).collect()
}

impl SecretSource for Secrets {
    fn get(&self, name: &str, key: &str) -> Result<String, String> {
        let missing_key = || format!("key '{key}' does not exist in secret '{name}'");
        if let Some(keys) = self.file.get(name) {
            return keys.get(key).cloned().ok_or_else(missing_key);
        }
        if let Some(dir) = &self.dir {
            let secret_dir = dir.join(name);
            // Names with path separators cannot be Kubernetes object names; refuse them.
            if !name.contains(['/', '\\']) && name != ".." && secret_dir.is_dir() {
                if key.contains(['/', '\\']) || key == ".." {
                    return Err(missing_key());
                }
                return std::fs::read_to_string(secret_dir.join(key)).map_err(|_| missing_key());
            }
        }
        let prefix = format!("{ENV_PREFIX}{}_", env_name(name));
        if self.env.keys().any(|k| k.starts_with(&prefix)) {
            return self.env.get(&format!("{prefix}{}", env_name(key))).cloned().ok_or_else(missing_key);
        }
        Err(format!("secrets \"{name}\" not found"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_mapping_and_manifest() {
        let text = "judge:\n  token: abc\n---\napiVersion: v1\nkind: Secret\nmetadata: {name: dd}\ndata:\n  api-key: c2VjcmV0\nstringData:\n  app-key: plain\n";
        let s = Secrets { file: parse_secrets_file(text).unwrap(), ..Secrets::default() };
        assert_eq!(s.get("judge", "token"), Ok("abc".to_string()));
        assert_eq!(s.get("dd", "api-key"), Ok("secret".to_string()));
        assert_eq!(s.get("dd", "app-key"), Ok("plain".to_string()));
        assert_eq!(s.get("dd", "nope"), Err("key 'nope' does not exist in secret 'dd'".to_string()));
        assert_eq!(s.get("other", "k"), Err("secrets \"other\" not found".to_string()));
    }

    #[test]
    fn env_source() {
        let env = vec![("AUGUR_SECRET_MY_SECRET_API_KEY".to_string(), "v".to_string()), ("HOME".into(), "/".into())];
        let s = Secrets::load(None, None, env.into_iter()).unwrap();
        assert_eq!(s.get("my-secret", "api-key"), Ok("v".to_string()));
        assert_eq!(s.get("my-secret", "other"), Err("key 'other' does not exist in secret 'my-secret'".to_string()));
        assert_eq!(s.get("nope", "k"), Err("secrets \"nope\" not found".to_string()));
    }

    #[test]
    fn debug_shows_no_values() {
        let s = Secrets { file: parse_secrets_file("a: {k: hunter2}").unwrap(), ..Secrets::default() };
        assert!(!format!("{s:?}").contains("hunter2"));
    }
}
