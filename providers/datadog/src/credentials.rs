//! Where the Datadog API and application keys come from (Argo's `findCredentials`).
//!
//! * `secretRef.name` set ⇒ that secret only: keys `api-key` and `app-key` (both
//!   non-empty) and, if present, `address`;
//! * otherwise the environment: `DD_API_KEY`, `DD_APP_KEY` and `DD_ADDRESS`, all three
//!   set (Argo's rule; augur also accepts `DD_SITE` in place of `DD_ADDRESS`, as
//!   Datadog's own clients do: `DD_SITE=datadoghq.eu` ⇒ `https://api.datadoghq.eu`);
//! * then the secret `datadog`, as above.
//!
//! Secrets come from the engine's secret source through [`SecretLookup`]; augur's
//! `AUGUR_SECRET_DATADOG_API_KEY`, a `--secrets-file` entry `datadog: {api-key: …}` or a
//! mounted `--secrets-dir/datadog/api-key` all answer `secret("datadog", "api-key")`.
//! Found values are trimmed of surrounding whitespace (a hand-written secret file's
//! trailing newline would otherwise make an invalid header).
//!
//! The keys are held as [`Secret`]s: `Debug` prints `*****`, and every error message of a
//! measurement that used them is scrubbed of them ([`Credentials::explain`]).

use std::fmt;

use augur_provider_api::http::{REDACTED, Secret};
use augur_provider_api::{ErrorKind, ProviderError, SecretLookup};

use crate::{DEFAULT_SECRET_NAME, SecretRef};

/// Argo's message when no credentials were found (augur appends what to set).
const NOT_FOUND: &str = "failed to find the credentials for datadog metrics provider";

/// The `DD_*` environment the provider reads (`DD_API_KEY`, `DD_APP_KEY`, `DD_ADDRESS`
/// and augur's `DD_SITE`). A variable that is set but empty is `Some("")`, as Go's
/// `os.LookupEnv` reports it.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct DdEnv {
    /// `DD_API_KEY`.
    pub api_key: Option<Secret>,
    /// `DD_APP_KEY`.
    pub app_key: Option<Secret>,
    /// `DD_ADDRESS`: the API base URL (`https://api.datadoghq.eu`).
    pub address: Option<String>,
    /// `DD_SITE`: the Datadog site (`datadoghq.eu`), used when `DD_ADDRESS` is unset.
    pub site: Option<String>,
}

impl fmt::Debug for DdEnv {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DdEnv")
            .field("api_key", &self.api_key)
            .field("app_key", &self.app_key)
            .field("address", &self.address)
            .field("site", &self.site)
            .finish()
    }
}

impl DdEnv {
    /// Reads the process environment.
    pub fn from_env() -> DdEnv {
        DdEnv::from_vars(std::env::vars())
    }

    /// Reads `DD_API_KEY`, `DD_APP_KEY`, `DD_ADDRESS` and `DD_SITE` from `vars`.
    pub fn from_vars(vars: impl IntoIterator<Item = (String, String)>) -> DdEnv {
        let mut env = DdEnv::default();
        for (name, value) in vars {
            match name.as_str() {
                "DD_API_KEY" => env.api_key = Some(Secret::new(value)),
                "DD_APP_KEY" => env.app_key = Some(Secret::new(value)),
                "DD_ADDRESS" => env.address = Some(value),
                "DD_SITE" => env.site = Some(value),
                _ => {}
            }
        }
        env
    }

    /// Argo's `envVariablesFinder`: all of the keys and an address, else nothing.
    fn find(&self) -> Option<Credentials> {
        let api_key = self.api_key.as_ref().map(|k| k.expose().trim()).filter(|k| !k.is_empty())?;
        let app_key = self.app_key.as_ref().map(|k| k.expose().trim()).filter(|k| !k.is_empty())?;
        let address = match (&self.address, self.site.as_deref().map(str::trim).filter(|s| !s.is_empty())) {
            (Some(address), _) => address.trim().to_string(),
            (None, Some(site)) => format!("https://api.{site}"),
            (None, None) => return None,
        };
        Some(Credentials {
            address,
            api_key: Secret::new(api_key),
            app_key: Secret::new(app_key),
            source: "DD_API_KEY and DD_APP_KEY".to_string(),
        })
    }
}

/// Found credentials, for one measurement.
#[derive(Debug)]
pub(crate) struct Credentials {
    /// The API base URL; empty ⇒ [`crate::DEFAULT_ADDRESS`].
    pub(crate) address: String,
    pub(crate) api_key: Secret,
    pub(crate) app_key: Secret,
    /// Where they came from, for messages (`secret "datadog"`).
    pub(crate) source: String,
}

impl Credentials {
    /// The error of a measurement that used these credentials: the keys replaced by
    /// `*****` wherever they appear (a proxy may echo a header), and a hint for an
    /// authentication failure naming where the keys came from.
    pub(crate) fn explain(&self, err: ProviderError) -> ProviderError {
        let mut message = err.message().to_string();
        // The longer key first: one key may contain the other.
        let mut keys = [self.api_key.expose(), self.app_key.expose()];
        keys.sort_by_key(|k| std::cmp::Reverse(k.len()));
        for key in keys.into_iter().filter(|k| !k.is_empty()) {
            message = message.replace(key, REDACTED);
        }
        if err.kind() == ErrorKind::Auth {
            message.push_str(&format!(
                " (check the API and application keys from {}: the application key needs the timeseries_query \
                 permission)",
                self.source
            ));
        }
        ProviderError::new(err.kind(), message)
    }
}

/// Argo's `secretFinder`: `api-key` and `app-key` must both be non-empty; `address` is
/// used when the secret has it. `Err` says what is missing, without any value.
fn from_secret(secrets: Option<&dyn SecretLookup>, name: &str) -> Result<Credentials, String> {
    let Some(secrets) = secrets else {
        return Err(format!("secrets \"{name}\" not found"));
    };
    let key = |key: &str| -> Result<String, String> {
        let value = secrets.secret(name, key)?;
        let value = value.trim();
        if value.is_empty() { Err(format!("key '{key}' is empty in secret '{name}'")) } else { Ok(value.to_string()) }
    };
    let api_key = key("api-key")?;
    let app_key = key("app-key")?;
    let address = secrets.secret(name, "address").map(|a| a.trim().to_string()).unwrap_or_default();
    Ok(Credentials {
        address,
        api_key: Secret::new(api_key),
        app_key: Secret::new(app_key),
        source: format!("secret \"{name}\""),
    })
}

/// Finds the credentials as Argo's `findCredentials` does, or says what to set.
pub(crate) fn find(
    secret_ref: &SecretRef,
    env: &DdEnv,
    secrets: Option<&dyn SecretLookup>,
) -> Result<Credentials, String> {
    if !secret_ref.name.is_empty() {
        return from_secret(secrets, &secret_ref.name).map_err(|why| {
            format!("{NOT_FOUND}: secret \"{}\" needs the keys api-key and app-key ({why})", secret_ref.name)
        });
    }
    if let Some(found) = env.find() {
        return Ok(found);
    }
    from_secret(secrets, DEFAULT_SECRET_NAME).map_err(|why| {
        format!(
            "{NOT_FOUND}: set DD_API_KEY, DD_APP_KEY and DD_ADDRESS (or DD_SITE), or give the secret \
             \"{DEFAULT_SECRET_NAME}\" the keys api-key and app-key ({why})"
        )
    })
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    /// A secret source from a literal table.
    struct Table(BTreeMap<(&'static str, &'static str), &'static str>);

    impl SecretLookup for Table {
        fn secret(&self, name: &str, key: &str) -> Result<String, String> {
            if !self.0.keys().any(|(n, _)| *n == name) {
                return Err(format!("secrets \"{name}\" not found"));
            }
            self.0
                .iter()
                .find(|((n, k), _)| *n == name && *k == key)
                .map(|(_, v)| v.to_string())
                .ok_or_else(|| format!("key '{key}' does not exist in secret '{name}'"))
        }
    }

    fn env(vars: &[(&str, &str)]) -> DdEnv {
        DdEnv::from_vars(vars.iter().map(|(k, v)| (k.to_string(), v.to_string())))
    }

    fn secret_ref(name: &str) -> SecretRef {
        SecretRef { name: name.to_string(), namespaced: false }
    }

    #[test]
    fn environment_needs_all_three_or_a_site() {
        let full = env(&[("DD_API_KEY", "a"), ("DD_APP_KEY", "b"), ("DD_ADDRESS", "http://dd:1"), ("HOME", "/")]);
        let found = find(&secret_ref(""), &full, None).expect("env");
        assert_eq!((found.address.as_str(), found.api_key.expose(), found.app_key.expose()), ("http://dd:1", "a", "b"));
        // DD_ADDRESS set but empty counts as set (os.LookupEnv): the default address.
        let empty_address = env(&[("DD_API_KEY", "a"), ("DD_APP_KEY", "b"), ("DD_ADDRESS", "")]);
        assert_eq!(find(&secret_ref(""), &empty_address, None).expect("env").address, "");
        let site = env(&[("DD_API_KEY", "a"), ("DD_APP_KEY", "b"), ("DD_SITE", "datadoghq.eu")]);
        assert_eq!(find(&secret_ref(""), &site, None).expect("site").address, "https://api.datadoghq.eu");
        // Keys alone are not enough (Argo), nor are empty keys.
        let keys_only = env(&[("DD_API_KEY", "a"), ("DD_APP_KEY", "b")]);
        let err = find(&secret_ref(""), &keys_only, None).unwrap_err();
        assert_eq!(
            err,
            "failed to find the credentials for datadog metrics provider: set DD_API_KEY, DD_APP_KEY and \
             DD_ADDRESS (or DD_SITE), or give the secret \"datadog\" the keys api-key and app-key (secrets \
             \"datadog\" not found)"
        );
        let blank = env(&[("DD_API_KEY", " "), ("DD_APP_KEY", "b"), ("DD_ADDRESS", "http://dd:1")]);
        assert!(find(&secret_ref(""), &blank, None).is_err());
    }

    #[test]
    fn the_datadog_secret_is_the_fallback() {
        let table = Table(BTreeMap::from([
            (("datadog", "api-key"), "sa\n"),
            (("datadog", "app-key"), "sb"),
            (("datadog", "address"), "http://secret:2"),
        ]));
        let found = find(&secret_ref(""), &DdEnv::default(), Some(&table)).expect("secret");
        assert_eq!(
            (found.address.as_str(), found.api_key.expose(), found.app_key.expose()),
            ("http://secret:2", "sa", "sb")
        );
        assert_eq!(found.source, "secret \"datadog\"");
        // The environment wins when complete.
        let full = env(&[("DD_API_KEY", "a"), ("DD_APP_KEY", "b"), ("DD_ADDRESS", "http://dd:1")]);
        assert_eq!(find(&secret_ref(""), &full, Some(&table)).expect("env").api_key.expose(), "a");
        // Without an address key: the default address.
        let table = Table(BTreeMap::from([(("datadog", "api-key"), "sa"), (("datadog", "app-key"), "sb")]));
        assert_eq!(find(&secret_ref(""), &DdEnv::default(), Some(&table)).expect("secret").address, "");
    }

    #[test]
    fn a_secret_ref_is_the_only_source() {
        let table = Table(BTreeMap::from([
            (("datadog", "api-key"), "sa"),
            (("datadog", "app-key"), "sb"),
            (("dd-prod", "api-key"), "pa"),
        ]));
        let full = env(&[("DD_API_KEY", "a"), ("DD_APP_KEY", "b"), ("DD_ADDRESS", "http://dd:1")]);
        let err = find(&secret_ref("dd-prod"), &full, Some(&table)).unwrap_err();
        assert_eq!(
            err,
            "failed to find the credentials for datadog metrics provider: secret \"dd-prod\" needs the keys \
             api-key and app-key (key 'app-key' does not exist in secret 'dd-prod')"
        );
        let err = find(&secret_ref("nope"), &full, Some(&table)).unwrap_err();
        assert!(err.ends_with("(secrets \"nope\" not found)"), "{err}");
    }

    #[test]
    fn keys_never_print_and_are_scrubbed_from_messages() {
        let creds = Credentials {
            address: String::new(),
            api_key: Secret::new("api-0123"),
            app_key: Secret::new("app-4567"),
            source: "secret \"datadog\"".to_string(),
        };
        assert!(!format!("{creds:?}").contains("0123"));
        let full = env(&[("DD_API_KEY", "api-0123"), ("DD_APP_KEY", "app-4567")]);
        let shown = format!("{full:?}");
        assert!(!shown.contains("0123") && !shown.contains("4567") && shown.contains("*****"), "{shown}");
        let err = creds.explain(ProviderError::new(ErrorKind::Rejected, "echo: api-0123 / app-4567"));
        assert_eq!(err.message(), "echo: ***** / *****");
        let err =
            creds.explain(ProviderError::new(ErrorKind::Auth, "received authentication error response code: 403"));
        assert!(err.message().contains("from secret \"datadog\""), "{}", err.message());
    }
}
