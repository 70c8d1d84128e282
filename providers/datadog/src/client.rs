//! The two requests, as Argo's provider sends them, on the shared HTTP layer.
//!
//! * v1: `GET <address>/api/v1/query?from=<s>&query=<q>&to=<s>` (Go's `url.Values`
//!   order and escaping);
//! * v2: `POST <address>/api/v2/query/scalar` with
//!   `{"data":{"attributes":{"from":ms,"to":ms,"queries":[{"aggregator","data_source":"metrics","name","query"}],"formulas":[{"formula"}]},"type":"scalar_request"}}`
//!   (`formulas` is `[]` without a formula, as Go marshals it).
//!
//! Both carry `Content-Type: application/json`, `DD-API-KEY` and `DD-APPLICATION-KEY`
//! (marked sensitive). Nothing here knows the response format (that is `parse`).

use std::collections::BTreeMap;
use std::time::Duration;

use augur_provider_api::http;
use augur_provider_api::{ErrorKind, ProviderError};
use reqwest::Method;
use reqwest::header::{CONTENT_TYPE, HeaderMap, HeaderName, HeaderValue};
use serde::Serialize;

use crate::credentials::Credentials;
use crate::{DEFAULT_ADDRESS, go_duration_string};

/// The largest response body read (a grouped v2 answer over many hosts is big).
const MAX_BODY_BYTES: usize = 32 * 1024 * 1024;

/// One request, before the credentials are known.
#[derive(Debug)]
pub(crate) struct Request {
    method: Method,
    route: &'static str,
    /// The v1 query string, already encoded.
    query: Option<String>,
    /// The v2 JSON body.
    body: Option<Vec<u8>>,
}

/// The v2 request body, in Go's field order (`datadogRequest`).
#[derive(Serialize)]
struct ScalarRequest<'a> {
    data: ScalarQuery<'a>,
}

#[derive(Serialize)]
struct ScalarQuery<'a> {
    attributes: ScalarAttributes<'a>,
    #[serde(rename = "type")]
    kind: &'static str,
}

#[derive(Serialize)]
struct ScalarAttributes<'a> {
    from: i64,
    to: i64,
    /// `map[string]string`s, which Go marshals with sorted keys (a `BTreeMap` does too).
    queries: Vec<BTreeMap<&'static str, &'a str>>,
    formulas: Vec<BTreeMap<&'static str, &'a str>>,
}

impl Request {
    /// `GET /api/v1/query` over `[from, to]` (unix seconds).
    pub(crate) fn v1(query: &str, from: i64, to: i64) -> Request {
        let (from, to) = (from.to_string(), to.to_string());
        // url.Values.Encode: keys sorted.
        let encoded = http::form_encode(&[("from", &from), ("query", query), ("to", &to)]);
        Request { method: Method::GET, route: "/api/v1/query", query: Some(encoded), body: None }
    }

    /// `POST /api/v2/query/scalar` over `[from_ms, to_ms]`.
    pub(crate) fn v2(
        queries: &BTreeMap<String, String>,
        formula: &str,
        aggregator: &str,
        from_ms: i64,
        to_ms: i64,
    ) -> Request {
        let body = ScalarRequest {
            data: ScalarQuery {
                attributes: ScalarAttributes {
                    from: from_ms,
                    to: to_ms,
                    queries: queries
                        .iter()
                        .map(|(name, query)| {
                            BTreeMap::from([
                                ("aggregator", aggregator),
                                ("data_source", "metrics"),
                                ("name", name.as_str()),
                                ("query", query.as_str()),
                            ])
                        })
                        .collect(),
                    formulas: if formula.is_empty() {
                        Vec::new()
                    } else {
                        vec![BTreeMap::from([("formula", formula)])]
                    },
                },
                kind: "scalar_request",
            },
        };
        // Serialising maps of strings and integers cannot fail.
        let body = serde_json::to_vec(&body).unwrap_or_default();
        Request { method: Method::POST, route: "/api/v2/query/scalar", query: None, body: Some(body) }
    }
}

/// What came back.
pub(crate) struct Answer {
    pub(crate) status: u16,
    headers: HeaderMap,
    pub(crate) body: Vec<u8>,
}

impl Answer {
    /// Adds Datadog's rate-limit headers to a 429's error, so the user knows when the
    /// limit resets (`X-RateLimit-Limit`, `-Period`, `-Reset`, documented by Datadog).
    pub(crate) fn explain(&self, err: ProviderError) -> ProviderError {
        if self.status != 429 {
            return err;
        }
        let header =
            |name: &str| self.headers.get(name).and_then(|v| v.to_str().ok()).map(str::trim).filter(|v| !v.is_empty());
        let mut parts = Vec::new();
        if let (Some(limit), Some(period)) = (header("x-ratelimit-limit"), header("x-ratelimit-period")) {
            parts.push(format!("{limit} requests per {period} s"));
        }
        if let Some(reset) = header("x-ratelimit-reset") {
            parts.push(format!("resets in {reset} s"));
        }
        if parts.is_empty() {
            return err;
        }
        ProviderError::new(err.kind(), format!("{} (Datadog rate limit: {})", err.message(), parts.join(", ")))
    }
}

/// A header value from a key, marked sensitive; the message names the header only.
fn key_header(name: &str, key: &str) -> Result<HeaderValue, ProviderError> {
    let mut value = HeaderValue::from_str(key)
        .map_err(|_| ProviderError::new(ErrorKind::Config, format!("the {name} is not a valid header value")))?;
    value.set_sensitive(true);
    Ok(value)
}

/// Sends `request` to the credentials' address and reads the whole answer. Only a
/// failure to get an answer is an error here (Argo's wording); the status is judged by
/// `parse`.
pub(crate) async fn send(
    client: &reqwest::Client,
    creds: &Credentials,
    request: &Request,
    timeout: Duration,
) -> Result<Answer, ProviderError> {
    let address = if creds.address.is_empty() { DEFAULT_ADDRESS } else { creds.address.as_str() };
    // Argo: `url.Parse(endpoint + route)`; a trailing slash on the address is dropped.
    let mut url = http::http_url(&format!("{}{}", address.trim_end_matches('/'), request.route), "address")
        .map_err(|e| ProviderError::new(ErrorKind::Config, format!("datadog {} (from {})", e.0, creds.source)))?;
    if let Some(query) = &request.query {
        url.set_query(Some(query));
    }
    let mut builder = client
        .request(request.method.clone(), url)
        .timeout(timeout)
        .header(CONTENT_TYPE, HeaderValue::from_static("application/json"))
        .header(HeaderName::from_static("dd-api-key"), key_header("API key", creds.api_key.expose())?)
        .header(HeaderName::from_static("dd-application-key"), key_header("application key", creds.app_key.expose())?);
    if let Some(body) = &request.body {
        builder = builder.body(body.clone());
    }
    let op = http::go_method_op(request.method.as_str());
    let response = builder.send().await.map_err(|e| {
        let err = http::send_error(&op, e, timeout);
        let message = if err.kind() == ErrorKind::Timeout {
            format!(
                "Datadog API request timed out after {} before receiving an HTTP response: {}",
                go_duration_string(timeout),
                err.message()
            )
        } else {
            format!("Datadog API request failed before receiving an HTTP response: {}", err.message())
        };
        ProviderError::new(err.kind(), message)
    })?;
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let body = http::read_body(response, MAX_BODY_BYTES, "Failed to read Datadog API response body", timeout).await?;
    Ok(Answer { status, headers, body })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn v1_query_string_is_go_url_values() {
        let request = Request::v1("avg:system.cpu.user{env:prod,service:a b}", 1_700_000_000, 1_700_000_300);
        assert_eq!(
            request.query.as_deref(),
            Some("from=1700000000&query=avg%3Asystem.cpu.user%7Benv%3Aprod%2Cservice%3Aa+b%7D&to=1700000300")
        );
        assert_eq!((request.method, request.route), (Method::GET, "/api/v1/query"));
    }

    #[test]
    fn v2_body_is_argos_shape() {
        let queries = BTreeMap::from([
            ("b".to_string(), "sum:hits{*}".to_string()),
            ("a".to_string(), "sum:errors{*}".to_string()),
        ]);
        let request = Request::v2(&queries, "a / b", "avg", 1_000, 2_000);
        let body = String::from_utf8(request.body.expect("body")).expect("utf-8");
        assert_eq!(
            body,
            r#"{"data":{"attributes":{"from":1000,"to":2000,"queries":[{"aggregator":"avg","data_source":"metrics","name":"a","query":"sum:errors{*}"},{"aggregator":"avg","data_source":"metrics","name":"b","query":"sum:hits{*}"}],"formulas":[{"formula":"a / b"}]},"type":"scalar_request"}}"#
        );
        let single = BTreeMap::from([("query".to_string(), "q".to_string())]);
        let body = String::from_utf8(Request::v2(&single, "", "last", 0, 1).body.expect("body")).expect("utf-8");
        assert!(body.contains(r#""formulas":[]"#), "{body}");
    }

    #[test]
    fn rate_limit_headers_are_explained() {
        let mut headers = HeaderMap::new();
        headers.insert("x-ratelimit-limit", HeaderValue::from_static("100"));
        headers.insert("x-ratelimit-period", HeaderValue::from_static("10"));
        headers.insert("x-ratelimit-reset", HeaderValue::from_static("7"));
        let answer = Answer { status: 429, headers, body: Vec::new() };
        let err = answer.explain(ProviderError::new(ErrorKind::Unavailable, "received non 2xx response code: 429"));
        assert_eq!(
            err.message(),
            "received non 2xx response code: 429 (Datadog rate limit: 100 requests per 10 s, resets in 7 s)"
        );
        assert!(err.is_transient());
        let plain = Answer { status: 429, headers: HeaderMap::new(), body: Vec::new() };
        assert_eq!(plain.explain(ProviderError::new(ErrorKind::Unavailable, "x")).message(), "x");
    }
}
