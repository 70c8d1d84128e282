//! Argo Rollouts' `web` metric provider for augur.
//!
//! One measurement is one HTTP request (`metricproviders/webmetric/webmetric.go`):
//!
//! * the `provider.web` block is validated once by [`WebFactory`]; Argo's own messages are
//!   kept (`use either Body or JSONBody; both cannot exists for WebMetric payload`,
//!   `Body/JSONBody can only be used with POST or PUT WebMetric Method types`);
//! * a status outside `[200,300)` is an error `received non 2xx response code: <code>`,
//!   followed by `: ` and the start of the body when there is one;
//! * a body that decodes as JSON is searched with the Kubernetes JSONPath `jsonPath`
//!   (default `{$}`) and the **first** match becomes `result` (as [`ResultValue::Json`]),
//!   with `value` = Go's `json.Marshal` of it ([`go_json`]); a body that is not JSON
//!   (including an empty one) becomes `result` as a raw [`ResultValue::String`].
//!
//! Deliberate differences from Argo: the body is capped at 32 MiB; transport error
//! messages name the HTTP method but not the URL; a body that is not valid UTF-8 is
//! decoded lossily; OAuth2 client credentials are always sent as form parameters.
#![deny(missing_docs)]

mod jsonpath;

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use augur_provider_api::http::{self, Auth, ClientOptions, OAuth2, Secret};
use augur_provider_api::{
    BuildError, ErrorKind, MeasureContext, MetricProvider, Observation, Outcome, ProviderError, ProviderFactory,
    ResultValue,
};
use reqwest::header::{CONTENT_TYPE, HeaderMap, HeaderValue};
use reqwest::{Method, Url};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

pub use augur_provider_api::gofmt::go_json;
use jsonpath::{JsonPath, MatchError};

/// Argo's default `timeoutSeconds` (also used when the field is `<= 0`).
const DEFAULT_TIMEOUT_SECS: u64 = 10;
/// A sanity cap on `timeoutSeconds` (one year); Go would overflow long before.
const MAX_TIMEOUT_SECS: u64 = 365 * 24 * 3600;
/// The largest response body read (Go reads without a limit).
const MAX_BODY_BYTES: usize = 32 * 1024 * 1024;
/// Argo's default `jsonPath`.
const DEFAULT_JSON_PATH: &str = "{$}";

/// Builds `web` providers from a metric's `provider.web` block.
///
/// ```
/// use augur_provider_api::ProviderFactory;
/// use augur_provider_web::WebFactory;
///
/// let provider = WebFactory
///     .build(&serde_json::json!({"url": "http://judge.local/verdict", "jsonPath": "{$.phase}"}))
///     .expect("valid block");
/// assert_eq!(provider.kind(), "web");
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct WebFactory;

impl ProviderFactory for WebFactory {
    fn kind(&self) -> &'static str {
        "web"
    }

    fn build(&self, config: &Value) -> Result<Box<dyn MetricProvider>, BuildError> {
        Ok(Box::new(WebProvider::from_config(config)?))
    }
}

// ---------------------------------------------------------------------------------------
// Configuration
// ---------------------------------------------------------------------------------------

/// One `headers[]` entry.
#[derive(Deserialize, Default)]
struct HeaderEntry {
    #[serde(default, deserialize_with = "augur_provider_api::nullable")]
    key: String,
    #[serde(default, deserialize_with = "augur_provider_api::nullable")]
    value: String,
}

/// `authentication` (only `oauth2` is used by the web provider; `sigv4` and `basic`
/// are ignored as in Argo).
#[derive(Deserialize, Default)]
struct Authentication {
    #[serde(default, deserialize_with = "augur_provider_api::nullable")]
    oauth2: OAuth2Entry,
}

/// `authentication.oauth2`.
#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct OAuth2Entry {
    #[serde(default, deserialize_with = "augur_provider_api::nullable")]
    token_url: String,
    #[serde(default, deserialize_with = "augur_provider_api::nullable")]
    client_id: String,
    #[serde(default, deserialize_with = "augur_provider_api::nullable")]
    client_secret: String,
    #[serde(default, deserialize_with = "augur_provider_api::nullable")]
    scopes: Vec<String>,
}

/// Reads one top-level field; missing or `null` gives the default. Errors name the field.
fn field<T: DeserializeOwned + Default>(obj: &Map<String, Value>, name: &str) -> Result<T, BuildError> {
    match obj.get(name) {
        None | Some(Value::Null) => Ok(T::default()),
        Some(v) => T::deserialize(v).map_err(|e| BuildError(format!("{name}: {e}"))),
    }
}

// ---------------------------------------------------------------------------------------
// The provider
// ---------------------------------------------------------------------------------------

/// A validated `web` metric, ready to measure.
struct WebProvider {
    client: reqwest::Client,
    method: Method,
    url: Url,
    headers: HeaderMap,
    body: Option<Vec<u8>>,
    json_path: JsonPath,
    json_path_text: String,
    timeout_secs: u64,
    insecure: bool,
    auth: Auth,
}

impl fmt::Debug for WebProvider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WebProvider")
            .field("method", &self.method.as_str())
            .field("url", &http::redacted_url(&self.url))
            .field("headers", &http::redacted_headers(&self.headers))
            .field("body", &self.body.as_ref().map(|b| format!("<{} bytes>", b.len())))
            .field("json_path", &self.json_path_text)
            .field("timeout_secs", &self.timeout_secs)
            .field("insecure", &self.insecure)
            .field("auth", &self.auth)
            .finish_non_exhaustive()
    }
}

impl WebProvider {
    fn from_config(config: &Value) -> Result<Self, BuildError> {
        let empty = Map::new();
        let obj = match config {
            Value::Object(obj) => obj,
            Value::Null => &empty,
            other => {
                return Err(BuildError(format!("web: the provider block must be an object, got {}", json_type(other))));
            }
        };

        let url_raw: String = field(obj, "url")?;
        let method_raw: String = field(obj, "method")?;
        let header_entries: Vec<HeaderEntry> = field(obj, "headers")?;
        let body: String = field(obj, "body")?;
        let json_body: Option<Value> = field(obj, "jsonBody")?;
        let timeout_seconds: i64 = field(obj, "timeoutSeconds")?;
        let json_path_raw: String = field(obj, "jsonPath")?;
        let insecure: bool = field(obj, "insecure")?;
        let authentication: Authentication = field(obj, "authentication")?;

        // Argo parses the JSONPath when it creates the provider, before anything else.
        let json_path_text = if json_path_raw.is_empty() { DEFAULT_JSON_PATH.to_string() } else { json_path_raw };
        let json_path = JsonPath::parse(&json_path_text).map_err(|e| BuildError(format!("jsonPath: {e}")))?;

        let timeout_secs = match u64::try_from(timeout_seconds) {
            Ok(0) | Err(_) => DEFAULT_TIMEOUT_SECS,
            Ok(secs) => secs.min(MAX_TIMEOUT_SECS),
        };

        // Then the checks of Run(), in Argo's order.
        let method_name = if method_raw.is_empty() { "GET".to_string() } else { method_raw };
        if !body.is_empty() && json_body.is_some() {
            return Err(BuildError(
                "use either Body or JSONBody; both cannot exists for WebMetric payload".to_string(),
            ));
        }
        if (!body.is_empty() || json_body.is_some()) && method_name == "GET" {
            return Err(BuildError(
                "Body/JSONBody can only be used with POST or PUT WebMetric Method types".to_string(),
            ));
        }
        let method = Method::from_bytes(method_name.as_bytes())
            .map_err(|_| BuildError(format!("net/http: invalid method {method_name:?}")))?;
        let url = http::http_url(&url_raw, "url")?;

        let mut headers = http::header_map(header_entries.iter().map(|e| (e.key.as_str(), e.value.as_str())))?;

        let body = if let Some(json) = &json_body {
            headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
            Some(serde_json::to_vec(json).map_err(|e| BuildError(format!("jsonBody: {e}")))?)
        } else if !body.is_empty() {
            Some(body.into_bytes())
        } else {
            None
        };

        let oauth = authentication.oauth2;
        let auth = if oauth.token_url.is_empty() {
            Auth::None
        } else {
            Auth::OAuth2(OAuth2 {
                token_url: http::http_url(&oauth.token_url, "authentication.oauth2.tokenUrl")?,
                client_id: oauth.client_id,
                client_secret: Secret::new(oauth.client_secret),
                scopes: oauth.scopes,
            })
        };

        // Argo's insecure web client is a bare http.Transport: no TLS checks, no proxy.
        let plain_http = url.scheme() == "http" && auth.calls_only_http();
        let client = http::shared_client(ClientOptions { insecure, env_proxy: !insecure, plain_http })?;

        Ok(WebProvider { client, method, url, headers, body, json_path, json_path_text, timeout_secs, insecure, auth })
    }

    async fn measure_once(&self) -> Result<Outcome, ProviderError> {
        let timeout = Duration::from_secs(self.timeout_secs);
        let mut headers = self.headers.clone();
        self.auth.apply(&self.client, &mut headers, timeout).await?;
        let mut request = self.client.request(self.method.clone(), self.url.clone()).headers(headers).timeout(timeout);
        if let Some(body) = &self.body {
            request = request.body(body.clone());
        }

        let op = http::go_method_op(self.method.as_str());
        let response = request.send().await.map_err(|e| http::send_error(&op, e, timeout))?;
        let status = response.status().as_u16();
        if !(200..300).contains(&status) {
            // Argo's message, then the start of the body, so the user sees why (augur
            // adds the body; docs/compatibility.md).
            let code = response.status();
            let body = http::read_body(response, 4096, "", timeout).await.unwrap_or_default();
            return Err(http::status_error(code, &format!("received non 2xx response code: {status}"), &body));
        }
        let body = http::read_body(response, MAX_BODY_BYTES, "Received no bytes in response", timeout).await?;
        self.observe(&body).map(Outcome::Observed)
    }

    /// Argo's `parseResponse`: JSON bodies go through the JSONPath, others are raw strings.
    fn observe(&self, body: &[u8]) -> Result<Observation, ProviderError> {
        let text = String::from_utf8_lossy(body);
        let Ok(data) = serde_json::from_str::<Value>(&text) else {
            let raw = text.into_owned();
            return Ok(Observation { result: ResultValue::String(raw.clone()), value: raw, metadata: BTreeMap::new() });
        };
        let matched = self.json_path.first_match(&data).map_err(|e| match e {
            MatchError::Eval(msg) => {
                ProviderError::new(ErrorKind::NoData, format!("Could not find JSONPath in body: {msg}"))
            }
            MatchError::NoValue => ProviderError::new(ErrorKind::NoData, "result of web metric produced no value"),
        })?;
        Ok(Observation { value: go_json(&matched), result: ResultValue::Json(matched), metadata: BTreeMap::new() })
    }
}

#[async_trait::async_trait]
impl MetricProvider for WebProvider {
    fn kind(&self) -> &'static str {
        "web"
    }

    async fn measure(&self, ctx: &MeasureContext) -> Result<Outcome, ProviderError> {
        http::within_deadline(ctx.deadline, self.measure_once()).await
    }
}

/// The JSON type name of a value, for messages.
fn json_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn provider(path: &str) -> WebProvider {
        WebProvider::from_config(&serde_json::json!({"url": "http://h/", "jsonPath": path})).expect("builds")
    }

    #[test]
    fn observe_json_and_raw_bodies() {
        let p = provider("{$.a}");
        let obs = p.observe(br#"{"a": {"z": 1, "b": "<x>"}}"#).expect("match");
        assert_eq!(obs.value, r#"{"b":"\u003cx\u003e","z":1}"#);
        assert_eq!(obs.result, ResultValue::Json(serde_json::json!({"z": 1, "b": "<x>"})));
        let raw = p.observe(b"  not json ").expect("raw");
        assert_eq!(raw.result, ResultValue::String("  not json ".to_string()));
        assert_eq!(raw.value, "  not json ");
        let empty = p.observe(b"").expect("raw");
        assert_eq!(empty.result, ResultValue::String(String::new()));
        // Top-level JSON string: a Go string either way, but decoded.
        let s = provider("{$}").observe(br#""ok""#).expect("string");
        assert_eq!(s.result, ResultValue::Json(Value::String("ok".to_string())));
        assert_eq!(s.value, r#""ok""#);
    }
}
