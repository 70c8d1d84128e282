//! Shared HTTP plumbing for the providers that speak HTTP (web, Prometheus, Datadog, …).
//!
//! Everything a provider needs between "I have a validated config" and "I have the
//! vendor's bytes" lives here once:
//!
//! * [`shared_client`]: one process-wide reqwest client per TLS/proxy mode, so 10,000
//!   metrics share a handful of connection pools; timeouts are set per request;
//! * [`header_map`]: Argo's `headers[] {key, value}` with Go's `Header.Set` semantics;
//! * [`Auth`] and [`OAuth2`]: basic, bearer and OAuth2 client-credentials authentication;
//! * [`Secret`], [`redacted_url`], [`redacted_headers`]: secrets never reach `Debug`;
//! * [`send_error`], [`read_body`], [`status_error`], [`status_kind`]: every failure
//!   becomes a [`ProviderError`] with the right [`ErrorKind`] (transport, timeout, auth
//!   401/403, rejected 4xx with the body, unavailable 5xx/429, malformed), and a
//!   one-line message without the URL (URLs carry tokens often enough).
//!
//! What it is not: a retry layer (the engine retries an Error measurement after 10 s, as
//! Argo does), a token cache (a token is fetched per measurement, as Argo's per-measurement
//! providers do), or a place for vendor wire formats and Argo's per-provider wording,
//! which stay in each provider crate.

use std::fmt;
use std::future::Future;
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use base64::Engine as _;
use reqwest::header::{AUTHORIZATION, CONTENT_TYPE, HeaderMap, HeaderName, HeaderValue};
use reqwest::{RequestBuilder, Response, StatusCode, Url};

use crate::{BuildError, ErrorKind, ProviderError};

/// How secrets are shown in `Debug` output and messages.
pub const REDACTED: &str = "*****";

/// The most bytes of a response body quoted in an error message.
const SNIPPET_CHARS: usize = 256;

/// The largest OAuth2 token response read.
const MAX_TOKEN_BYTES: usize = 1024 * 1024;

// ---------------------------------------------------------------------------------------
// Secrets
// ---------------------------------------------------------------------------------------

/// A string that must never be printed: a password, a client secret, a header value.
/// `Debug` shows [`REDACTED`]; the value is only reachable through [`Secret::expose`].
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret value.
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    /// The secret value, for the one place that sends it.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// True when no secret was given.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl From<String> for Secret {
    fn from(value: String) -> Self {
        Secret(value)
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(REDACTED)
    }
}

/// The URL with its password and query string masked, for `Debug` output.
pub fn redacted_url(url: &Url) -> String {
    let mut url = url.clone();
    if url.password().is_some() {
        let _ = url.set_password(Some(REDACTED));
    }
    if url.query().is_some() {
        url.set_query(Some(REDACTED));
    }
    url.to_string()
}

/// Header names with every value masked, for `Debug` output.
pub fn redacted_headers(headers: &HeaderMap) -> Vec<(&str, &'static str)> {
    headers.keys().map(|name| (name.as_str(), REDACTED)).collect()
}

// ---------------------------------------------------------------------------------------
// Clients, URLs and headers
// ---------------------------------------------------------------------------------------

/// Which process-wide client a provider wants.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientOptions {
    /// Skip TLS certificate verification (Argo's `insecure: true`).
    pub insecure: bool,
    /// Use the `HTTP_PROXY`/`HTTPS_PROXY`/`NO_PROXY` environment, as Go's
    /// `http.ProxyFromEnvironment` does.
    pub env_proxy: bool,
    /// Every URL the provider calls is plain `http://`: the client skips loading the
    /// system's TLS roots (several milliseconds of a one-shot `augur run`) and refuses
    /// a redirect to `https://` with a message saying so.
    pub plain_http: bool,
}

/// One HTTP client per [`ClientOptions`] for the whole process: providers share
/// connection pools and TLS configuration instead of building both per metric (10,000
/// runs would otherwise hold 10,000 pools and root stores). Timeouts are set per request.
pub fn shared_client(options: ClientOptions) -> Result<reqwest::Client, BuildError> {
    static CLIENTS: Mutex<[Option<reqwest::Client>; 8]> = Mutex::new([const { None }; 8]);
    let mut clients = CLIENTS.lock().unwrap_or_else(PoisonError::into_inner);
    let index =
        usize::from(options.insecure) * 4 + usize::from(options.env_proxy) * 2 + usize::from(options.plain_http);
    let slot = &mut clients[index];
    if let Some(client) = slot {
        return Ok(client.clone());
    }
    let mut builder = reqwest::Client::builder().user_agent(concat!("augur/", env!("CARGO_PKG_VERSION")));
    if options.insecure {
        builder = builder.tls_danger_accept_invalid_certs(true);
    }
    if !options.env_proxy {
        builder = builder.no_proxy();
    }
    if options.plain_http {
        builder = builder.tls_certs_only(std::iter::empty()).redirect(reqwest::redirect::Policy::custom(|attempt| {
            if attempt.url().scheme() == "https" {
                let to = redacted_url(attempt.url());
                attempt.error(format!(
                    "redirected to {to}: an http:// address is called without TLS; use the https:// address"
                ))
            } else if attempt.previous().len() >= 10 {
                attempt.error("stopped after 10 redirects")
            } else {
                attempt.follow()
            }
        }));
    }
    let client =
        builder.build().map_err(|e| BuildError(format!("cannot build the HTTP client: {}", error_chain(&e))))?;
    *slot = Some(client.clone());
    Ok(client)
}

/// Parses an absolute `http`/`https` URL, naming `field` in errors.
pub fn http_url(raw: &str, field: &str) -> Result<Url, BuildError> {
    if raw.trim().is_empty() {
        return Err(BuildError(format!("{field}: missing (an absolute http or https URL is required)")));
    }
    let url = Url::parse(raw).map_err(|e| BuildError(format!("{field}: {e}")))?;
    match url.scheme() {
        "http" | "https" => Ok(url),
        other => Err(BuildError(format!("{field}: unsupported protocol scheme {other:?}"))),
    }
}

/// Builds request headers from `headers[] {key, value}` entries the way Go's
/// `Header.Set` does: names are case-insensitive and the last entry for a name wins.
/// Values are marked sensitive. `Host`, `Content-Length`, `Transfer-Encoding` and
/// `Trailer` are dropped, as Go's client ignores them in `Request.Header`. The error
/// messages are Go's `net/http` ones.
pub fn header_map<'a>(entries: impl IntoIterator<Item = (&'a str, &'a str)>) -> Result<HeaderMap, BuildError> {
    let mut headers = HeaderMap::new();
    for (key, value) in entries {
        let name = HeaderName::from_bytes(key.as_bytes())
            .map_err(|_| BuildError(format!("net/http: invalid header field name {key:?}")))?;
        let mut value = HeaderValue::from_bytes(value.as_bytes())
            .map_err(|_| BuildError(format!("net/http: invalid header field value for {key:?}")))?;
        value.set_sensitive(true);
        let ignored = ["host", "content-length", "transfer-encoding", "trailer"];
        if !ignored.contains(&name.as_str()) {
            headers.insert(name, value);
        }
    }
    Ok(headers)
}

// ---------------------------------------------------------------------------------------
// Authentication
// ---------------------------------------------------------------------------------------

/// How a provider authenticates its requests.
#[derive(Debug, Clone, Default)]
pub enum Auth {
    /// No `Authorization` header is added.
    #[default]
    None,
    /// `Authorization: Basic base64(username:password)`.
    Basic {
        /// The user name.
        username: String,
        /// The password.
        password: Secret,
    },
    /// `Authorization: Bearer <token>`.
    Bearer(Secret),
    /// A token fetched with the OAuth2 client-credentials grant before each request.
    OAuth2(OAuth2),
}

impl Auth {
    /// True unless this auth calls an `https://` URL of its own (an OAuth2 token URL).
    pub fn calls_only_http(&self) -> bool {
        match self {
            Auth::OAuth2(o) => o.token_url.scheme() == "http",
            _ => true,
        }
    }
}

impl Auth {
    /// The `Authorization` value to send, if any. OAuth2 fetches a token here (with
    /// `timeout`), so the call can fail like any request.
    pub async fn authorization(
        &self,
        client: &reqwest::Client,
        timeout: Duration,
    ) -> Result<Option<HeaderValue>, ProviderError> {
        let value = match self {
            Auth::None => return Ok(None),
            Auth::Basic { username, password } => {
                let credentials = format!("{username}:{}", password.expose());
                format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(credentials))
            }
            Auth::Bearer(token) => format!("Bearer {}", token.expose()),
            Auth::OAuth2(oauth2) => return oauth2.authorization(client, timeout).await.map(Some),
        };
        let mut value = HeaderValue::from_str(&value)
            .map_err(|_| ProviderError::new(ErrorKind::Config, "credentials are not a valid header value"))?;
        value.set_sensitive(true);
        Ok(Some(value))
    }

    /// Adds the `Authorization` header to `headers`, replacing one set by `headers[]`:
    /// an explicit `authentication` block wins over a hand-written header.
    pub async fn apply(
        &self,
        client: &reqwest::Client,
        headers: &mut HeaderMap,
        timeout: Duration,
    ) -> Result<(), ProviderError> {
        if let Some(value) = self.authorization(client, timeout).await? {
            headers.insert(AUTHORIZATION, value);
        }
        Ok(())
    }
}

/// The OAuth2 client-credentials flow (`authentication.oauth2` in Argo).
#[derive(Clone)]
pub struct OAuth2 {
    /// The token endpoint.
    pub token_url: Url,
    /// `client_id`.
    pub client_id: String,
    /// `client_secret`.
    pub client_secret: Secret,
    /// Requested scopes, sent space-separated as `scope`.
    pub scopes: Vec<String>,
}

impl fmt::Debug for OAuth2 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OAuth2")
            .field("token_url", &redacted_url(&self.token_url))
            .field("client_id", &self.client_id)
            .field("client_secret", &self.client_secret)
            .field("scopes", &self.scopes)
            .finish()
    }
}

impl OAuth2 {
    /// Fetches a token and returns the `Authorization` value (`Bearer <token>`).
    ///
    /// The credentials go in the form body (`golang.org/x/oauth2`'s `AuthStyleInParams`),
    /// which every client-credentials server accepts. Failures are [`ErrorKind::Auth`]
    /// unless the token endpoint was unreachable or slow (transport, timeout).
    pub async fn authorization(
        &self,
        client: &reqwest::Client,
        timeout: Duration,
    ) -> Result<HeaderValue, ProviderError> {
        // url.Values.Encode() order: keys sorted.
        let mut pairs = vec![
            ("client_id", self.client_id.as_str()),
            ("client_secret", self.client_secret.expose()),
            ("grant_type", "client_credentials"),
        ];
        let scope = self.scopes.join(" ");
        if !self.scopes.is_empty() {
            pairs.push(("scope", scope.as_str()));
        }
        let response = client
            .post(self.token_url.clone())
            .timeout(timeout)
            .header(CONTENT_TYPE, HeaderValue::from_static("application/x-www-form-urlencoded"))
            .body(form_encode(&pairs))
            .send()
            .await
            .map_err(|e| {
                let err = send_error("Post", e, timeout);
                ProviderError::new(err.kind(), format!("oauth2: cannot fetch token: {}", err.message()))
            })?;
        let status = response.status();
        let form_encoded = response.headers().get(CONTENT_TYPE).and_then(|v| v.to_str().ok()).is_some_and(|ct| {
            let ct = ct.to_ascii_lowercase();
            ct.starts_with("application/x-www-form-urlencoded") || ct.starts_with("text/plain")
        });
        let body = read_body(response, MAX_TOKEN_BYTES, "oauth2: cannot fetch token", timeout).await?;
        if !status.is_success() {
            let snippet = body_snippet(&body);
            let message = if snippet.is_empty() {
                format!("oauth2: cannot fetch token: {status}")
            } else {
                format!("oauth2: cannot fetch token: {status}: Response: {snippet}")
            };
            return Err(ProviderError::new(ErrorKind::Auth, message));
        }

        let (access_token, token_type) = if form_encoded {
            let fields = form_decode(&String::from_utf8_lossy(&body));
            let get = |k: &str| fields.iter().find(|(key, _)| key == k).map(|(_, v)| v.clone()).unwrap_or_default();
            (get("access_token"), get("token_type"))
        } else {
            let json: serde_json::Value = serde_json::from_slice(&body)
                .map_err(|e| ProviderError::new(ErrorKind::Auth, format!("oauth2: cannot parse json: {e}")))?;
            let get = |k: &str| json.get(k).and_then(serde_json::Value::as_str).unwrap_or_default().to_string();
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

/// `application/x-www-form-urlencoded` as Go's `url.Values.Encode` writes it (pairs in
/// the order given; Go sorts by key, so pass them sorted).
pub fn form_encode(pairs: &[(&str, &str)]) -> String {
    fn escape(out: &mut String, s: &str) {
        for b in s.bytes() {
            match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => out.push(char::from(b)),
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
pub fn form_decode(s: &str) -> Vec<(String, String)> {
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
// Errors
// ---------------------------------------------------------------------------------------

/// The error class of a non-2xx status: 401/403 are [`ErrorKind::Auth`], 429 and 5xx
/// are [`ErrorKind::Unavailable`] (transient), everything else [`ErrorKind::Rejected`].
pub fn status_kind(status: u16) -> ErrorKind {
    match status {
        401 | 403 => ErrorKind::Auth,
        429 | 500..=599 => ErrorKind::Unavailable,
        _ => ErrorKind::Rejected,
    }
}

/// An error for a non-2xx answer: `"<prefix>: <body snippet>"` (just `prefix` for an
/// empty body), classified by [`status_kind`]. The prefix carries the provider's wording
/// and must name the status code.
pub fn status_error(status: StatusCode, prefix: &str, body: &[u8]) -> ProviderError {
    let snippet = body_snippet(body);
    let message = if snippet.is_empty() { prefix.to_string() } else { format!("{prefix}: {snippet}") };
    ProviderError::new(status_kind(status.as_u16()), message)
}

/// The start of a response body for an error message: lossy UTF-8, whitespace runs
/// collapsed to one space (messages are one line), at most 256 characters plus `…`.
pub fn body_snippet(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let mut out = String::new();
    let mut n_chars = 0;
    for word in text.split_whitespace() {
        if !out.is_empty() {
            out.push(' ');
            n_chars += 1;
        }
        for c in word.chars() {
            if n_chars >= SNIPPET_CHARS {
                out.push('…');
                return out;
            }
            out.push(c);
            n_chars += 1;
        }
    }
    out
}

/// Go's `url.Error` operation name for a method (`GET` ⇒ `Get`).
pub fn go_method_op(method: &str) -> String {
    let mut chars = method.chars();
    match chars.next() {
        None => "Get".to_string(),
        Some(first) => format!("{first}{}", chars.as_str().to_ascii_lowercase()),
    }
}

/// An error and its sources on one line, outermost first, without repeats.
pub fn error_chain(err: &(dyn std::error::Error + 'static)) -> String {
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

/// Maps a failed `send` (no response) to [`ErrorKind::Timeout`] or
/// [`ErrorKind::Transport`], prefixed with Go's operation name (`Get`, `Post`) and
/// without the URL.
pub fn send_error(op: &str, err: reqwest::Error, timeout: Duration) -> ProviderError {
    let err = err.without_url();
    if err.is_timeout() {
        ProviderError::new(
            ErrorKind::Timeout,
            format!("{op}: request timed out after {timeout:?} (Client.Timeout exceeded while awaiting headers)"),
        )
    } else {
        ProviderError::new(ErrorKind::Transport, format!("{op}: {}", error_chain(&err)))
    }
}

/// Reads a whole body, refusing more than `limit` bytes ([`ErrorKind::Malformed`]).
/// A stalled body is [`ErrorKind::Timeout`] (the request's own timeout covers the body);
/// a broken one is [`ErrorKind::Transport`]. Messages start with `prefix`.
pub async fn read_body(
    mut response: Response,
    limit: usize,
    prefix: &str,
    timeout: Duration,
) -> Result<Vec<u8>, ProviderError> {
    let mut buf = Vec::new();
    loop {
        let chunk = match response.chunk().await {
            Ok(Some(chunk)) => chunk,
            Ok(None) => return Ok(buf),
            Err(err) => {
                let err = err.without_url();
                return Err(if err.is_timeout() {
                    ProviderError::new(
                        ErrorKind::Timeout,
                        format!(
                            "{prefix}: request timed out after {timeout:?} (Client.Timeout exceeded while reading body)"
                        ),
                    )
                } else {
                    ProviderError::new(ErrorKind::Transport, format!("{prefix}: {}", error_chain(&err)))
                });
            }
        };
        if buf.len().saturating_add(chunk.len()) > limit {
            return Err(ProviderError::new(ErrorKind::Malformed, format!("{prefix}: body exceeds {limit} bytes")));
        }
        buf.extend_from_slice(&chunk);
    }
}

/// Sends `request` with `timeout` and reads the whole answer (status, headers, body up to
/// `limit` bytes). Only transport failures and timeouts are errors here: the caller
/// judges the status with its own wording (see [`status_error`]).
pub async fn exchange(
    request: RequestBuilder,
    op: &str,
    timeout: Duration,
    limit: usize,
) -> Result<(StatusCode, HeaderMap, Vec<u8>), ProviderError> {
    let response = request.timeout(timeout).send().await.map_err(|e| send_error(op, e, timeout))?;
    let status = response.status();
    let headers = response.headers().clone();
    let body = read_body(response, limit, op, timeout).await?;
    Ok((status, headers, body))
}

/// Runs one measurement under the caller's optional overall deadline
/// ([`crate::MeasureContext::deadline`]); running out is [`ErrorKind::Timeout`].
pub async fn within_deadline<T>(
    deadline: Option<Duration>,
    measurement: impl Future<Output = Result<T, ProviderError>>,
) -> Result<T, ProviderError> {
    match deadline {
        None => measurement.await,
        Some(deadline) => tokio::time::timeout(deadline, measurement).await.unwrap_or_else(|_| {
            Err(ProviderError::new(ErrorKind::Timeout, format!("measurement deadline of {deadline:?} exceeded")))
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_round_trip() {
        let pairs = [("a b", "x&y=z/é"), ("k", "")];
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
        assert_eq!(status_kind(401), ErrorKind::Auth);
    }

    #[test]
    fn status_errors_quote_a_one_line_snippet() {
        let err = status_error(StatusCode::NOT_FOUND, "HTTP 404", b"no such\n\n  tenant\r\n");
        assert_eq!(err.message(), "HTTP 404: no such tenant");
        assert_eq!(err.kind(), ErrorKind::Rejected);
        let err = status_error(StatusCode::SERVICE_UNAVAILABLE, "HTTP 503", b"");
        assert_eq!(err.message(), "HTTP 503");
        assert!(err.is_transient());
        let long = "x".repeat(1000);
        let snippet = body_snippet(long.as_bytes());
        assert_eq!(snippet.chars().count(), SNIPPET_CHARS + 1);
        assert!(snippet.ends_with('…'));
        assert_eq!(body_snippet(b"\xff\xfeok"), "\u{fffd}\u{fffd}ok");
    }

    #[test]
    fn redacts_url_secrets() {
        let url = Url::parse("https://user:pw@host/p?token=abc").expect("url");
        let shown = redacted_url(&url);
        assert!(!shown.contains("pw") && !shown.contains("abc"), "{shown}");
        assert!(shown.contains("host/p"), "{shown}");
    }

    #[test]
    fn secrets_never_print() {
        let auth = Auth::Basic { username: "alice".to_string(), password: Secret::new("hunter2") };
        let shown = format!("{auth:?}");
        assert!(shown.contains("alice") && !shown.contains("hunter2"), "{shown}");
        let oauth2 = OAuth2 {
            token_url: Url::parse("https://idp/token?k=v").expect("url"),
            client_id: "id".to_string(),
            client_secret: Secret::new("s3cr3t"),
            scopes: vec![],
        };
        let shown = format!("{:?}", Auth::OAuth2(oauth2));
        assert!(!shown.contains("s3cr3t") && !shown.contains("k=v"), "{shown}");
        assert_eq!(format!("{:?}", Auth::Bearer(Secret::new("t0k"))), "Bearer(*****)");
    }

    #[test]
    fn headers_follow_go_header_set() {
        let headers =
            header_map([("X-Token", "first"), ("x-token", "second"), ("Host", "evil"), ("X-Other", "o")]).expect("ok");
        assert_eq!(headers.get("x-token").map(HeaderValue::as_bytes), Some(&b"second"[..]));
        assert!(headers.get("host").is_none());
        assert_eq!(headers.len(), 2);
        assert!(headers.get("x-other").is_some_and(HeaderValue::is_sensitive));
        assert_eq!(header_map([("bad name", "v")]).unwrap_err().0, "net/http: invalid header field name \"bad name\"");
        assert_eq!(header_map([("X", "a\nb")]).unwrap_err().0, "net/http: invalid header field value for \"X\"");
    }

    #[tokio::test]
    async fn basic_and_bearer_headers() {
        let client =
            shared_client(ClientOptions { insecure: false, env_proxy: false, plain_http: false }).expect("client");
        let basic = Auth::Basic { username: "Aladdin".to_string(), password: Secret::new("open sesame") };
        let mut headers = header_map([("Authorization", "Bearer hand-written")]).expect("ok");
        basic.apply(&client, &mut headers, Duration::from_secs(1)).await.expect("basic");
        assert_eq!(
            headers.get(AUTHORIZATION).map(HeaderValue::as_bytes),
            Some(&b"Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ=="[..])
        );
        let bearer = Auth::Bearer(Secret::new("t0k"));
        let value = bearer.authorization(&client, Duration::from_secs(1)).await.expect("bearer").expect("some");
        assert_eq!(value.as_bytes(), b"Bearer t0k");
        assert!(value.is_sensitive());
        assert!(Auth::None.authorization(&client, Duration::from_secs(1)).await.expect("none").is_none());
    }

    #[tokio::test]
    async fn a_plain_http_client_refuses_a_redirect_to_https() {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        tokio::spawn(async move {
            while let Ok((mut socket, _)) = listener.accept().await {
                let mut buf = [0u8; 1024];
                let _ = socket.read(&mut buf).await;
                let _ = socket
                    .write_all(b"HTTP/1.1 302 Found\r\nLocation: https://127.0.0.1:1/x\r\nContent-Length: 0\r\n\r\n")
                    .await;
            }
        });
        let client =
            shared_client(ClientOptions { insecure: false, env_proxy: false, plain_http: true }).expect("client");
        let err = client.get(format!("http://{addr}/")).send().await.expect_err("an https redirect is refused");
        let text = error_chain(&err);
        assert!(text.contains("use the https:// address"), "{text}");
    }

    #[tokio::test]
    async fn deadline_is_a_timeout() {
        let err = within_deadline(Some(Duration::from_millis(10)), async {
            tokio::time::sleep(Duration::from_secs(5)).await;
            Ok(())
        })
        .await
        .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Timeout);
        assert_eq!(within_deadline(None, async { Ok::<_, ProviderError>(7) }).await, Ok(7));
    }
}
