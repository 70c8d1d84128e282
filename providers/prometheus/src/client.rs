//! The requests: `client_golang`'s `DoGetFallback` on the shared HTTP layer.
//!
//! A query is a `POST` of an `application/x-www-form-urlencoded` body to
//! `<address>/api/v1/query` (or `query_range`); when the server answers 405 or 501 it
//! is repeated as a `GET` with the same parameters in the query string, as Argo's
//! client does. Custom headers and authentication go on both. Nothing here knows the
//! response format (that is `parse`).

use std::time::Duration;

use augur_provider_api::ProviderError;
use augur_provider_api::http::{self, Auth};
use reqwest::header::{CONTENT_TYPE, HeaderMap, HeaderValue};
use reqwest::{Method, StatusCode, Url};

/// The largest response body read (a long range query over many series is big).
const MAX_BODY_BYTES: usize = 64 * 1024 * 1024;

/// Everything needed to send one query; built once per metric.
pub(crate) struct Client {
    pub(crate) http: reqwest::Client,
    pub(crate) address: Url,
    pub(crate) headers: HeaderMap,
    pub(crate) auth: Auth,
    pub(crate) timeout: Duration,
}

impl Client {
    /// `<address>/<endpoint>`, joined as Go's `path.Join(u.Path, ep)` does.
    pub(crate) fn endpoint(&self, endpoint: &str) -> Url {
        let mut url = self.address.clone();
        let path = format!("{}/{}", self.address.path().trim_end_matches('/'), endpoint.trim_start_matches('/'));
        url.set_path(&path);
        url
    }

    /// Sends `params` to `endpoint` and returns the status and the body.
    pub(crate) async fn send(&self, endpoint: &str, params: &[(&str, &str)]) -> Result<(u16, Vec<u8>), ProviderError> {
        let url = self.endpoint(endpoint);
        let encoded = http::form_encode(params);
        let mut headers = self.headers.clone();
        self.auth.apply(&self.http, &mut headers, self.timeout).await?;

        let post = self
            .http
            .request(Method::POST, url.clone())
            .headers(headers.clone())
            .header(CONTENT_TYPE, HeaderValue::from_static("application/x-www-form-urlencoded"))
            .body(encoded.clone());
        let (status, _, body) = http::exchange(post, "Post", self.timeout, MAX_BODY_BYTES).await?;
        if status != StatusCode::METHOD_NOT_ALLOWED && status != StatusCode::NOT_IMPLEMENTED {
            return Ok((status.as_u16(), body));
        }

        let mut url = url;
        url.set_query(Some(&encoded));
        let get = self.http.request(Method::GET, url).headers(headers);
        let (status, _, body) = http::exchange(get, "Get", self.timeout, MAX_BODY_BYTES).await?;
        Ok((status.as_u16(), body))
    }
}
