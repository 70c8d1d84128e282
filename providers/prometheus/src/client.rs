//! The requests: `client_golang`'s `DoGetFallback` on the shared HTTP layer.
//!
//! A query is a `POST` of an `application/x-www-form-urlencoded` body to
//! `<address>/api/v1/query` (or `query_range`); when the server answers 405 or 501 it
//! is repeated as a `GET` with the same parameters in the query string, as Argo's
//! client does. Custom headers and authentication go on both; with sigv4 each of the two
//! is signed as it is sent. Nothing here knows the response format (that is `parse`).

use std::time::Duration;

use augur_provider_api::http::{self, Auth};
use augur_provider_api::{ErrorKind, ProviderError};
use reqwest::header::{CONTENT_TYPE, HeaderMap, HeaderValue};
use reqwest::{Method, RequestBuilder, StatusCode, Url};

/// The sigv4 signer of an `aps-workspaces` address.
#[cfg(feature = "sigv4")]
pub(crate) type Sigv4 = crate::sigv4::Signer;
/// Without the `sigv4` feature there is no signer (building refuses such an address).
#[cfg(not(feature = "sigv4"))]
pub(crate) type Sigv4 = std::convert::Infallible;

/// The largest response body read (a long range query over many series is big).
const MAX_BODY_BYTES: usize = 64 * 1024 * 1024;

/// Everything needed to send one query; built once per metric.
pub(crate) struct Client {
    pub(crate) http: reqwest::Client,
    pub(crate) address: Url,
    pub(crate) headers: HeaderMap,
    pub(crate) auth: Auth,
    pub(crate) timeout: Duration,
    /// Signs every request (Amazon Managed Prometheus); `auth` is then [`Auth::None`].
    pub(crate) sigv4: Option<Sigv4>,
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
        let (status, body) = self.exchange(post, "Post").await?;
        if status != StatusCode::METHOD_NOT_ALLOWED && status != StatusCode::NOT_IMPLEMENTED {
            return Ok((status.as_u16(), body));
        }

        let mut url = url;
        url.set_query(Some(&encoded));
        let get = self.http.request(Method::GET, url).headers(headers);
        let (status, body) = self.exchange(get, "Get").await?;
        Ok((status.as_u16(), body))
    }

    /// Sends one request (signed first, with sigv4) and reads the answer.
    async fn exchange(&self, request: RequestBuilder, op: &str) -> Result<(StatusCode, Vec<u8>), ProviderError> {
        let Some(signer) = &self.sigv4 else {
            let (status, _, body) = http::exchange(request, op, self.timeout, MAX_BODY_BYTES).await?;
            return Ok((status, body));
        };
        #[cfg(not(feature = "sigv4"))]
        match *signer {}
        #[cfg(feature = "sigv4")]
        {
            let mut request = request.build().map_err(|e| {
                ProviderError::new(ErrorKind::Config, format!("{op}: {}", http::error_chain(&e.without_url())))
            })?;
            let credentials = signer.sign(&mut request, self.timeout).await?;
            let request = RequestBuilder::from_parts(self.http.clone(), request);
            let (status, _, body) = http::exchange(request, op, self.timeout, MAX_BODY_BYTES).await?;
            // A refusal may quote the canonical request, session token included.
            let body = if status.is_success() { body } else { crate::sigv4::scrub(body, &credentials) };
            Ok((status, body))
        }
    }

    /// Adds what to check to an authentication failure of a signed request.
    pub(crate) fn explain(&self, err: ProviderError) -> ProviderError {
        if self.sigv4.is_none() || err.kind() != ErrorKind::Auth || err.message().contains("authentication.sigv4") {
            return err;
        }
        ProviderError::new(
            err.kind(),
            format!(
                "{} (authentication.sigv4: check the AWS credentials, that they may query this workspace \
                 (aps:QueryMetrics), and the region)",
                err.message()
            ),
        )
    }
}
