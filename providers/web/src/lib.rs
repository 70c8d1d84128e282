//! Argo Rollouts' `web` metric provider for augur.
//!
//! One measurement is one HTTP request (`metricproviders/webmetric/webmetric.go`):
//!
//! * the `provider.web` block is validated once by [`WebFactory`]; Argo's own messages are
//!   kept (`use either Body or JSONBody; both cannot exists for WebMetric payload`,
//!   `Body/JSONBody can only be used with POST or PUT WebMetric Method types`);
//! * a status outside `[200,300)` is an error `received non 2xx response code: <code>`;
//! * a body that decodes as JSON is searched with the Kubernetes JSONPath `jsonPath`
//!   (default `{$}`) and the **first** match becomes `result` (as [`ResultValue::Json`]),
//!   with `value` = Go's `json.Marshal` of it ([`go_json`]); a body that is not JSON
//!   (including an empty one) becomes `result` as a raw [`ResultValue::String`].
//!
//! Deliberate differences from Argo: the body is capped at 32 MiB; transport error
//! messages name the HTTP method but not the URL; a body that is not valid UTF-8 is
//! decoded lossily; OAuth2 client credentials are always sent as form parameters.
#![deny(missing_docs)]

mod gofmt;
mod jsonpath;

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use augur_provider_api::{
    BuildError, ErrorKind, MeasureContext, MetricProvider, Observation, Outcome, ProviderError, ProviderFactory,
    ResultValue,
};
use reqwest::header::{AUTHORIZATION, CONTENT_TYPE, HeaderMap, HeaderName, HeaderValue};
use reqwest::{Method, Url};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

pub use gofmt::go_json;
use jsonpath::{JsonPath, MatchError};

/// Argo's default `timeoutSeconds` (also used when the field is `<= 0`).
const DEFAULT_TIMEOUT_SECS: u64 = 10;
/// A sanity cap on `timeoutSeconds` (one year); Go would overflow long before.
const MAX_TIMEOUT_SECS: u64 = 365 * 24 * 3600;
/// The largest response body read (Go reads without a limit).
const MAX_BODY_BYTES: usize = 32 * 1024 * 1024;
/// The largest OAuth2 token response read.
const MAX_TOKEN_BYTES: usize = 1024 * 1024;
/// Argo's default `jsonPath`.
const DEFAULT_JSON_PATH: &str = "{$}";
/// How secrets are shown in `Debug` output.
const REDACTED: &str = "*****";

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

/// Deserialises `null` as the type's default, as Argo's CRD pruning effectively does.
fn nullable<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

/// One `headers[]` entry.
#[derive(Deserialize, Default)]
struct HeaderEntry {
    #[serde(default, deserialize_with = "nullable")]
    key: String,
    #[serde(default, deserialize_with = "nullable")]
    value: String,
}

/// `authentication` (only `oauth2` is used by the web provider; `sigv4` and `basic`
/// are ignored as in Argo).
#[derive(Deserialize, Default)]
struct Authentication {
    #[serde(default, deserialize_with = "nullable")]
    oauth2: OAuth2Entry,
}

/// `authentication.oauth2`.
#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct OAuth2Entry {
    #[serde(default, deserialize_with = "nullable")]
    token_url: String,
    #[serde(default, deserialize_with = "nullable")]
    client_id: String,
    #[serde(default, deserialize_with = "nullable")]
    client_secret: String,
    #[serde(default, deserialize_with = "nullable")]
    scopes: Vec<String>,
}

/// Reads one top-level field; missing or `null` gives the default. Errors name the field.
fn field<T: DeserializeOwned + Default>(obj: &Map<String, Value>, name: &str) -> Result<T, BuildError> {
    match obj.get(name) {
        None | Some(Value::Null) => Ok(T::default()),
        Some(v) => T::deserialize(v).map_err(|e| BuildError(format!("{name}: {e}"))),
    }
}

/// Parses an absolute `http`/`https` URL, naming `field` in errors.
fn parse_url(raw: &str, field: &str) -> Result<Url, BuildError> {
    if raw.trim().is_empty() {
        return Err(BuildError(format!("{field}: missing (an absolute http or https URL is required)")));
    }
    let url = Url::parse(raw).map_err(|e| BuildError(format!("{field}: {e}")))?;
    match url.scheme() {
        "http" | "https" => Ok(url),
        other => Err(BuildError(format!("{field}: unsupported protocol scheme {other:?}"))),
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
    oauth2: Option<OAuth2>,
}

/// The client-credentials flow of `authentication.oauth2`.
struct OAuth2 {
    token_url: Url,
    client_id: String,
    client_secret: String,
    scopes: Vec<String>,
}

impl fmt::Debug for OAuth2 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OAuth2")
            .field("token_url", &redacted_url(&self.token_url))
            .field("client_id", &self.client_id)
            .field("client_secret", &REDACTED)
            .field("scopes", &self.scopes)
            .finish()
    }
}

impl fmt::Debug for WebProvider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let headers: Vec<(&str, &str)> = self.headers.keys().map(|name| (name.as_str(), REDACTED)).collect();
        f.debug_struct("WebProvider")
            .field("method", &self.method.as_str())
            .field("url", &redacted_url(&self.url))
            .field("headers", &headers)
            .field("body", &self.body.as_ref().map(|b| format!("<{} bytes>", b.len())))
            .field("json_path", &self.json_path_text)
            .field("timeout_secs", &self.timeout_secs)
            .field("insecure", &self.insecure)
            .field("oauth2", &self.oauth2)
            .finish_non_exhaustive()
    }
}

/// The URL with its password and query string masked.
fn redacted_url(url: &Url) -> String {
    let mut url = url.clone();
    if url.password().is_some() {
        let _ = url.set_password(Some(REDACTED));
    }
    if url.query().is_some() {
        url.set_query(Some(REDACTED));
    }
    url.to_string()
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
        let url = parse_url(&url_raw, "url")?;

        let mut headers = HeaderMap::new();
        for entry in &header_entries {
            let name = HeaderName::from_bytes(entry.key.as_bytes())
                .map_err(|_| BuildError(format!("net/http: invalid header field name {:?}", entry.key)))?;
            let mut value = HeaderValue::from_bytes(entry.value.as_bytes())
                .map_err(|_| BuildError(format!("net/http: invalid header field value for {:?}", entry.key)))?;
            value.set_sensitive(true);
            // Go's client ignores these in Request.Header and computes its own.
            let ignored = ["host", "content-length", "transfer-encoding", "trailer"];
            if !ignored.contains(&name.as_str()) {
                // Header.Set: the last entry for a (case-insensitive) name wins.
                headers.insert(name, value);
            }
        }

        let body = if let Some(json) = &json_body {
            headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
            Some(serde_json::to_vec(json).map_err(|e| BuildError(format!("jsonBody: {e}")))?)
        } else if !body.is_empty() {
            Some(body.into_bytes())
        } else {
            None
        };

        let oauth = authentication.oauth2;
        let oauth2 = if oauth.token_url.is_empty() {
            None
        } else {
            Some(OAuth2 {
                token_url: parse_url(&oauth.token_url, "authentication.oauth2.tokenUrl")?,
                client_id: oauth.client_id,
                client_secret: oauth.client_secret,
                scopes: oauth.scopes,
            })
        };

        let client = shared_client(insecure)?;

        Ok(WebProvider {
            client,
            method,
            url,
            headers,
            body,
            json_path,
            json_path_text,
            timeout_secs,
            insecure,
            oauth2,
        })
    }

    async fn measure_once(&self) -> Result<Outcome, ProviderError> {
        let mut request = self
            .client
            .request(self.method.clone(), self.url.clone())
            .headers(self.headers.clone())
            .timeout(Duration::from_secs(self.timeout_secs));
        if let Some(body) = &self.body {
            request = request.body(body.clone());
        }
        if let Some(oauth2) = &self.oauth2 {
            let authorization = oauth2.authorization(&self.client, self.timeout_secs).await?;
            request = request.header(AUTHORIZATION, authorization);
        }

        let op = go_method_op(self.method.as_str());
        let response = request.send().await.map_err(|e| send_error(&op, e, self.timeout_secs))?;
        let status = response.status().as_u16();
        if !(200..300).contains(&status) {
            return Err(ProviderError::new(status_kind(status), format!("received non 2xx response code: {status}")));
        }
        let body = read_body(response, MAX_BODY_BYTES)
            .await
            .map_err(|e| e.into_error("Received no bytes in response", self.timeout_secs))?;
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
        match ctx.deadline {
            None => self.measure_once().await,
            Some(deadline) => tokio::time::timeout(deadline, self.measure_once()).await.unwrap_or_else(|_| {
                Err(ProviderError::new(ErrorKind::Timeout, format!("measurement deadline of {deadline:?} exceeded")))
            }),
        }
    }
}

/// One HTTP client per TLS mode for the whole process: providers share connection
/// pools and TLS configuration instead of building both per metric (10,000 runs would
/// otherwise hold 10,000 pools and root stores). Timeouts are set per request.
fn shared_client(insecure: bool) -> Result<reqwest::Client, BuildError> {
    static CLIENTS: std::sync::Mutex<[Option<reqwest::Client>; 2]> = std::sync::Mutex::new([None, None]);
    let mut clients = CLIENTS.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    let slot = &mut clients[usize::from(insecure)];
    if let Some(c) = slot {
        return Ok(c.clone());
    }
    let mut builder = reqwest::Client::builder().user_agent(concat!("augur/", env!("CARGO_PKG_VERSION")));
    if insecure {
        // Argo's insecure client is a bare http.Transport: no TLS checks, no proxy.
        builder = builder.tls_danger_accept_invalid_certs(true).no_proxy();
    }
    let client =
        builder.build().map_err(|e| BuildError(format!("web: cannot build the HTTP client: {}", error_chain(&e))))?;
    *slot = Some(client.clone());
    Ok(client)
}

// ---------------------------------------------------------------------------------------
// OAuth2 client credentials
// ---------------------------------------------------------------------------------------

impl OAuth2 {
    /// Fetches a token and returns the `Authorization` value (`Bearer <token>`).
    async fn authorization(&self, client: &reqwest::Client, timeout_secs: u64) -> Result<HeaderValue, ProviderError> {
        // url.Values.Encode() order: keys sorted.
        let mut pairs = vec![
            ("client_id", self.client_id.clone()),
            ("client_secret", self.client_secret.clone()),
            ("grant_type", "client_credentials".to_string()),
        ];
        if !self.scopes.is_empty() {
            pairs.push(("scope", self.scopes.join(" ")));
        }
        let response = client
            .post(self.token_url.clone())
            .timeout(Duration::from_secs(timeout_secs))
            .header(CONTENT_TYPE, HeaderValue::from_static("application/x-www-form-urlencoded"))
            .body(form_encode(&pairs))
            .send()
            .await
            .map_err(|e| {
                let err = send_error("Post", e, timeout_secs);
                ProviderError::new(err.kind(), format!("oauth2: cannot fetch token: {}", err.message()))
            })?;
        let status = response.status();
        if !status.is_success() {
            return Err(ProviderError::new(ErrorKind::Auth, format!("oauth2: cannot fetch token: {status}")));
        }
        let form_encoded = response.headers().get(CONTENT_TYPE).and_then(|v| v.to_str().ok()).is_some_and(|ct| {
            let ct = ct.to_ascii_lowercase();
            ct.starts_with("application/x-www-form-urlencoded") || ct.starts_with("text/plain")
        });
        let body = read_body(response, MAX_TOKEN_BYTES)
            .await
            .map_err(|e| e.into_error("oauth2: cannot fetch token", timeout_secs))?;

        let (access_token, token_type) = if form_encoded {
            let fields = form_decode(&String::from_utf8_lossy(&body));
            let get = |k: &str| fields.iter().find(|(key, _)| key == k).map(|(_, v)| v.clone()).unwrap_or_default();
            (get("access_token"), get("token_type"))
        } else {
            let json: Value = serde_json::from_slice(&body)
                .map_err(|e| ProviderError::new(ErrorKind::Auth, format!("oauth2: cannot parse json: {e}")))?;
            let get = |k: &str| json.get(k).and_then(Value::as_str).unwrap_or_default().to_string();
            (get("access_token"), get("token_type"))
        };
        if access_token.is_empty() {
            return Err(ProviderError::new(ErrorKind::Auth, "oauth2: server response missing access_token"));
        }
        // golang.org/x/oauth2 Token.Type(): canonical casing for known types.
        let token_type = match token_type.to_ascii_lowercase().as_str() {
            "" | "bearer" => "Bearer".to_string(),
            "mac" => "MAC".to_string(),
            "basic" => "Basic".to_string(),
            _ => token_type,
        };
        let mut value = HeaderValue::from_str(&format!("{token_type} {access_token}"))
            .map_err(|_| ProviderError::new(ErrorKind::Auth, "oauth2: the access token is not a valid header value"))?;
        value.set_sensitive(true);
        Ok(value)
    }
}

/// `application/x-www-form-urlencoded` as Go's `url.Values.Encode` writes it.
fn form_encode(pairs: &[(&str, String)]) -> String {
    fn escape(out: &mut String, s: &str) {
        for b in s.bytes() {
            match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                    out.push(char::from(b));
                }
                b' ' => out.push('+'),
                _ => out.push_str(&format!("%{b:02X}")),
            }
        }
    }
    let mut out = String::new();
    for (i, (key, value)) in pairs.iter().enumerate() {
        if i > 0 {
            out.push('&');
        }
        escape(&mut out, key);
        out.push('=');
        escape(&mut out, value);
    }
    out
}

/// Decodes `a=b&c=d` (with `+` and `%XX`).
fn form_decode(s: &str) -> Vec<(String, String)> {
    fn unescape(s: &str) -> String {
        let bytes = s.as_bytes();
        let mut out = Vec::with_capacity(bytes.len());
        let mut i = 0;
        while i < bytes.len() {
            match bytes[i] {
                b'+' => out.push(b' '),
                b'%' => {
                    let hex = s.get(i + 1..i + 3).and_then(|h| u8::from_str_radix(h, 16).ok());
                    if let Some(b) = hex {
                        out.push(b);
                        i += 2;
                    } else {
                        out.push(b'%');
                    }
                }
                b => out.push(b),
            }
            i += 1;
        }
        String::from_utf8_lossy(&out).into_owned()
    }
    s.trim()
        .split('&')
        .filter(|kv| !kv.is_empty())
        .map(|kv| {
            let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
            (unescape(k), unescape(v))
        })
        .collect()
}

// ---------------------------------------------------------------------------------------
// Errors and body reading
// ---------------------------------------------------------------------------------------

/// The error class of a non-2xx status.
fn status_kind(status: u16) -> ErrorKind {
    match status {
        401 | 403 => ErrorKind::Auth,
        429 | 500..=599 => ErrorKind::Unavailable,
        _ => ErrorKind::Rejected,
    }
}

/// Go's `url.Error` operation name for a method (`GET` ⇒ `Get`).
fn go_method_op(method: &str) -> String {
    let mut chars = method.chars();
    match chars.next() {
        None => "Get".to_string(),
        Some(first) => format!("{first}{}", chars.as_str().to_ascii_lowercase()),
    }
}

/// An error and its sources on one line, outermost first.
fn error_chain(err: &(dyn std::error::Error + 'static)) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut cur = Some(err);
    while let Some(e) = cur {
        let text = e.to_string().replace(['\r', '\n'], " ");
        if !text.is_empty() && parts.last() != Some(&text) {
            parts.push(text);
        }
        cur = e.source();
    }
    parts.join(": ")
}

/// Maps a failed `send` (no response) to a provider error without the URL.
fn send_error(op: &str, err: reqwest::Error, timeout_secs: u64) -> ProviderError {
    let err = err.without_url();
    if err.is_timeout() {
        ProviderError::new(
            ErrorKind::Timeout,
            format!("{op}: request timed out after {timeout_secs}s (Client.Timeout exceeded while awaiting headers)"),
        )
    } else {
        ProviderError::new(ErrorKind::Transport, format!("{op}: {}", error_chain(&err)))
    }
}

/// Why a response body could not be read.
enum ReadError {
    TooLarge(usize),
    Failed(reqwest::Error),
}

impl ReadError {
    fn into_error(self, prefix: &str, timeout_secs: u64) -> ProviderError {
        match self {
            ReadError::TooLarge(limit) => {
                ProviderError::new(ErrorKind::Malformed, format!("{prefix}: body exceeds {limit} bytes"))
            }
            ReadError::Failed(err) => {
                let err = err.without_url();
                if err.is_timeout() {
                    ProviderError::new(
                        ErrorKind::Timeout,
                        format!(
                            "{prefix}: request timed out after {timeout_secs}s (Client.Timeout exceeded while reading body)"
                        ),
                    )
                } else {
                    ProviderError::new(ErrorKind::Transport, format!("{prefix}: {}", error_chain(&err)))
                }
            }
        }
    }
}

/// Reads a whole body, refusing more than `limit` bytes.
async fn read_body(mut response: reqwest::Response, limit: usize) -> Result<Vec<u8>, ReadError> {
    let mut buf = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(ReadError::Failed)? {
        if buf.len().saturating_add(chunk.len()) > limit {
            return Err(ReadError::TooLarge(limit));
        }
        buf.extend_from_slice(&chunk);
    }
    Ok(buf)
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

    #[test]
    fn form_round_trip() {
        let pairs = [("a b", "x&y=z/é".to_string()), ("k", String::new())];
        let encoded = form_encode(&pairs);
        assert_eq!(encoded, "a+b=x%26y%3Dz%2F%C3%A9&k=");
        assert_eq!(
            form_decode(&encoded),
            vec![("a b".to_string(), "x&y=z/é".to_string()), ("k".to_string(), String::new())]
        );
    }

    #[test]
    fn method_ops_and_status_kinds() {
        assert_eq!(go_method_op("GET"), "Get");
        assert_eq!(go_method_op("POST"), "Post");
        assert_eq!(go_method_op("get"), "get");
        assert_eq!(status_kind(404), ErrorKind::Rejected);
        assert_eq!(status_kind(302), ErrorKind::Rejected);
        assert_eq!(status_kind(503), ErrorKind::Unavailable);
        assert_eq!(status_kind(429), ErrorKind::Unavailable);
        assert_eq!(status_kind(403), ErrorKind::Auth);
    }

    #[test]
    fn redacts_url_secrets() {
        let url = Url::parse("https://user:pw@host/p?token=abc").expect("url");
        let shown = redacted_url(&url);
        assert!(!shown.contains("pw") && !shown.contains("abc"), "{shown}");
        assert!(shown.contains("host/p"), "{shown}");
    }

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
