//! AWS Signature Version 4 for Amazon Managed Prometheus (`authentication.sigv4`, cargo
//! feature `sigv4`).
//!
//! Argo signs every request of a metric whose `address` contains `aps-workspaces` with
//! service `aps` (`metricproviders/prometheus`): `region`, `profile` and `roleArn` come
//! from the metric, everything left empty from the AWS default chain. Here:
//!
//! * the chain is `aws-config`'s (the one the CloudWatch provider uses): region from
//!   `authentication.sigv4.region`, else `AWS_REGION`/`AWS_DEFAULT_REGION`, the profile's
//!   `region` or instance metadata; credentials from the environment
//!   (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`), the profile
//!   (`authentication.sigv4.profile`, else `AWS_PROFILE`, incl. SSO and
//!   `credential_process`), web identity (IRSA), ECS and EC2 instance roles;
//! * `roleArn` is STS `AssumeRole` on top of those base credentials
//!   (`aws_config::sts::AssumeRoleProvider`);
//! * the chain is loaded on the first measurement and the credentials are cached for the
//!   provider's lifetime (a run), refreshed shortly before they expire: one credential
//!   resolution per run and expiry, not one per request;
//! * each request is signed exactly as it is sent (method, URL with its query string,
//!   headers, and the SHA-256 of the body, also sent as `x-amz-content-sha256`), at the
//!   wall-clock time: a signature is only valid within minutes of AWS's clock, so the
//!   measurement's (possibly simulated) time cannot be used.
//!
//! Credentials never reach a message or `Debug` output: a refused request's body is
//! scrubbed of the secret key and session token before it is quoted ([`scrub`]).

use std::fmt;
use std::time::{Duration, SystemTime};

use augur_provider_api::http::{REDACTED, error_chain};
use augur_provider_api::{ErrorKind, ProviderError};
use aws_config::sts::AssumeRoleProvider;
use aws_config::{BehaviorVersion, Region};
use aws_credential_types::Credentials;
use aws_credential_types::provider::error::CredentialsError;
use aws_credential_types::provider::{ProvideCredentials, SharedCredentialsProvider};
use aws_sigv4::http_request::{self, PayloadChecksumKind, SignableBody, SignableRequest, SigningSettings};
use aws_sigv4::sign::v4;
use reqwest::header::{AUTHORIZATION, HeaderName, HeaderValue};

/// The service name Amazon Managed Prometheus verifies signatures with.
pub(crate) const SERVICE: &str = "aps";
/// Cached credentials this close to their expiry are refreshed before signing.
const REFRESH_BEFORE_EXPIRY: Duration = Duration::from_secs(60);
/// The STS session name of `roleArn` (visible in CloudTrail).
const SESSION_NAME: &str = "augur";
/// What to set when no credentials were found, appended to the chain's own reason.
const CREDENTIALS_HINT: &str = "set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, a profile (authentication.sigv4.profile \
                                or AWS_PROFILE), web identity (IRSA) or an instance role";

/// `authentication.sigv4` of one metric, with its lazily loaded chain and cached
/// credentials.
pub(crate) struct Signer {
    /// `region`; empty ⇒ the chain's.
    region: String,
    /// `profile`; empty ⇒ `AWS_PROFILE` or `default`.
    profile: String,
    /// `roleArn`; empty ⇒ the base credentials sign.
    role_arn: String,
    /// The chain, loaded on the first measurement (it may read files or call instance
    /// metadata, which is async).
    loaded: tokio::sync::OnceCell<Loaded>,
    /// The last credentials; a tokio mutex, so concurrent measurements of the metric
    /// wait for one refresh instead of each asking the chain.
    cached: tokio::sync::Mutex<Option<Credentials>>,
}

/// What the chain resolved.
struct Loaded {
    region: Option<String>,
    credentials: Option<SharedCredentialsProvider>,
}

impl fmt::Debug for Signer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sigv4")
            .field("service", &SERVICE)
            .field("region", &self.region)
            .field("profile", &self.profile)
            .field("role_arn", &self.role_arn)
            .finish_non_exhaustive()
    }
}

impl Signer {
    /// A signer for `authentication.sigv4`; nothing is loaded yet.
    pub(crate) fn new(region: &str, profile: &str, role_arn: &str) -> Signer {
        Signer {
            region: region.trim().to_string(),
            profile: profile.trim().to_string(),
            role_arn: role_arn.trim().to_string(),
            loaded: tokio::sync::OnceCell::new(),
            cached: tokio::sync::Mutex::new(None),
        }
    }

    /// A signer with a resolved region and credentials provider (tests).
    #[cfg(test)]
    fn with_provider(region: &str, provider: impl ProvideCredentials + 'static) -> Signer {
        let signer = Signer::new(region, "", "");
        let loaded =
            Loaded { region: Some(region.to_string()), credentials: Some(SharedCredentialsProvider::new(provider)) };
        Signer { loaded: tokio::sync::OnceCell::new_with(Some(loaded)), ..signer }
    }

    async fn load(&self) -> Loaded {
        let mut loader = aws_config::defaults(BehaviorVersion::latest());
        if !self.region.is_empty() {
            loader = loader.region(Region::new(self.region.clone()));
        }
        if !self.profile.is_empty() {
            loader = loader.profile_name(&self.profile);
        }
        let sdk_config = loader.load().await;
        let region = sdk_config.region().map(|r| r.as_ref().to_string()).filter(|r| !r.is_empty());
        let mut credentials = sdk_config.credentials_provider();
        if !self.role_arn.is_empty() && credentials.is_some() {
            let assume_role = AssumeRoleProvider::builder(self.role_arn.clone())
                .session_name(SESSION_NAME)
                .configure(&sdk_config)
                .build()
                .await;
            credentials = Some(SharedCredentialsProvider::new(assume_role));
        }
        Loaded { region, credentials }
    }

    /// The region and credentials to sign with: cached credentials while they are valid
    /// for at least another minute, else fresh ones from the chain.
    async fn resolve(&self) -> Result<(String, Credentials), ProviderError> {
        let loaded = self.loaded.get_or_init(|| self.load()).await;
        let Some(region) = loaded.region.clone() else {
            // Argo's words, then what to set.
            return Err(ProviderError::new(
                ErrorKind::Config,
                "prometheus authentication.sigv4: region not configured in sigv4 or in the AWS default credentials \
                 chain (set authentication.sigv4.region, or AWS_REGION)",
            ));
        };
        let mut cached = self.cached.lock().await;
        if let Some(credentials) = cached.as_ref()
            && fresh(credentials, SystemTime::now())
        {
            return Ok((region, credentials.clone()));
        }
        let Some(provider) = &loaded.credentials else {
            return Err(credentials_error(ErrorKind::Auth, "no credentials provider is configured"));
        };
        let credentials = provider.provide_credentials().await.map_err(|e| {
            let kind = match e {
                CredentialsError::ProviderTimedOut(_) => ErrorKind::Timeout,
                CredentialsError::ProviderError(_) | CredentialsError::Unhandled(_) => ErrorKind::Unavailable,
                _ => ErrorKind::Auth,
            };
            credentials_error(kind, &error_chain(&e))
        })?;
        *cached = Some(credentials.clone());
        Ok((region, credentials))
    }

    /// Signs `request` as it will be sent, resolving the region and credentials first
    /// (within `timeout`). Returns the credentials used, for [`scrub`].
    pub(crate) async fn sign(
        &self,
        request: &mut reqwest::Request,
        timeout: Duration,
    ) -> Result<Credentials, ProviderError> {
        let (region, credentials) = tokio::time::timeout(timeout, self.resolve()).await.unwrap_or_else(|_| {
            Err(ProviderError::new(
                ErrorKind::Timeout,
                format!("prometheus authentication.sigv4: resolving AWS credentials timed out after {timeout:?}"),
            ))
        })?;
        sign_request(request, &credentials, &region, SystemTime::now())?;
        Ok(credentials)
    }
}

/// Credentials without an expiry, or valid for at least [`REFRESH_BEFORE_EXPIRY`].
fn fresh(credentials: &Credentials, now: SystemTime) -> bool {
    credentials.expiry().is_none_or(|expiry| expiry > now + REFRESH_BEFORE_EXPIRY)
}

/// The chain's reason on one line (it lists every provider it tried), then what to set.
fn credentials_error(kind: ErrorKind, why: &str) -> ProviderError {
    let why = why.split_whitespace().collect::<Vec<_>>().join(" ");
    ProviderError::new(
        kind,
        format!("prometheus authentication.sigv4: could not get SigV4 credentials: {why} ({CREDENTIALS_HINT})"),
    )
}

fn signing_error(why: impl fmt::Display) -> ProviderError {
    ProviderError::new(ErrorKind::Config, format!("prometheus authentication.sigv4: cannot sign the request: {why}"))
}

/// Adds the sigv4 headers (`authorization`, `x-amz-date`, `x-amz-content-sha256` and,
/// with a session token, `x-amz-security-token`) to `request`, signing its method, URL,
/// headers and body for [`SERVICE`] in `region` at `time`.
pub(crate) fn sign_request(
    request: &mut reqwest::Request,
    credentials: &Credentials,
    region: &str,
    time: SystemTime,
) -> Result<(), ProviderError> {
    let body = match request.body() {
        None => &[][..],
        Some(body) => body.as_bytes().ok_or_else(|| signing_error("the body is a stream"))?,
    };
    let mut headers = Vec::with_capacity(request.headers().len());
    for (name, value) in request.headers() {
        let value = value.to_str().map_err(|_| signing_error(format!("header {name} is not printable ASCII")))?;
        headers.push((name.as_str(), value));
    }
    let mut settings = SigningSettings::default();
    settings.payload_checksum_kind = PayloadChecksumKind::XAmzSha256;
    let identity = credentials.clone().into();
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(region)
        .name(SERVICE)
        .time(time)
        .settings(settings)
        .build()
        .map_err(signing_error)?
        .into();
    let signable = SignableRequest::new(
        request.method().as_str(),
        request.url().as_str(),
        headers.into_iter(),
        SignableBody::Bytes(body),
    )
    .map_err(signing_error)?;
    let (instructions, _signature) = http_request::sign(signable, &params).map_err(signing_error)?.into_parts();
    let (new_headers, _params) = instructions.into_parts();
    for header in new_headers {
        let name = HeaderName::from_bytes(header.name().as_bytes()).map_err(signing_error)?;
        let mut value = HeaderValue::from_str(header.value()).map_err(signing_error)?;
        value.set_sensitive(header.sensitive() || name == AUTHORIZATION || name == "x-amz-security-token");
        request.headers_mut().insert(name, value);
    }
    Ok(())
}

/// `body` with the secret access key and the session token replaced by `*****` (an AWS
/// error can quote the canonical request, which holds the token).
pub(crate) fn scrub(body: Vec<u8>, credentials: &Credentials) -> Vec<u8> {
    let mut secrets = vec![credentials.secret_access_key()];
    secrets.extend(credentials.session_token());
    secrets.retain(|s| !s.is_empty());
    // The longer first: one may contain the other.
    secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
    if secrets.is_empty() {
        return body;
    }
    let mut text = String::from_utf8_lossy(&body).into_owned();
    for secret in secrets {
        text = text.replace(secret, REDACTED);
    }
    text.into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::UNIX_EPOCH;

    use aws_credential_types::provider::future;
    use reqwest::Method;
    use reqwest::header::CONTENT_TYPE;

    const AKID: &str = "AKIDEXAMPLE";
    const SECRET: &str = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
    const TOKEN: &str = "session-token-example";
    /// 2023-11-14T22:13:20Z.
    const T: u64 = 1_700_000_000;

    fn credentials(token: Option<&str>) -> Credentials {
        Credentials::new(AKID, SECRET, token.map(str::to_string), None, "test")
    }

    fn request(method: Method, url: &str, body: Option<&str>) -> reqwest::Request {
        let mut builder = reqwest::Client::new().request(method, url).header("X-Scope-OrgID", "tenant-a");
        if let Some(body) = body {
            builder = builder.header(CONTENT_TYPE, "application/x-www-form-urlencoded").body(body.to_string());
        }
        builder.build().expect("request")
    }

    fn header<'a>(request: &'a reqwest::Request, name: &str) -> &'a str {
        request.headers().get(name).and_then(|v| v.to_str().ok()).unwrap_or_else(|| panic!("no {name} header"))
    }

    // The expected signatures were computed independently with botocore 1.43.11's
    // `SigV4Auth` (canonical_request → string_to_sign → signature) for the same request,
    // credentials, region, service and X-Amz-Date.

    #[test]
    fn a_form_post_is_signed_with_its_body_hash() {
        let url = "http://127.0.0.1:9090/workspaces/ws-1/api/v1/query";
        let mut request = request(Method::POST, url, Some("query=up&time=1700000000"));
        sign_request(&mut request, &credentials(None), "us-east-1", UNIX_EPOCH + Duration::from_secs(T))
            .expect("signs");
        assert_eq!(header(&request, "x-amz-date"), "20231114T221320Z");
        // sha256("query=up&time=1700000000")
        assert_eq!(
            header(&request, "x-amz-content-sha256"),
            "efcacf6ccd2d3611d11594b455333e8dcbc4906cc624ee528e90f05213dfffd1"
        );
        assert_eq!(
            header(&request, "authorization"),
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20231114/us-east-1/aps/aws4_request, \
             SignedHeaders=content-type;host;x-amz-content-sha256;x-amz-date;x-scope-orgid, \
             Signature=c142af766a7a746747817127c51c91922391a1e282b3dfa0b5e389dd59466dd1"
        );
        assert!(request.headers().get("authorization").is_some_and(HeaderValue::is_sensitive));
        assert!(request.headers().get("x-amz-security-token").is_none());
    }

    #[test]
    fn a_get_signs_its_query_string_and_the_session_token() {
        let url = "http://127.0.0.1:9090/workspaces/ws-1/api/v1/query?query=sum+by+%28code%29+%28up%29&time=1700000000";
        let mut request = request(Method::GET, url, None);
        sign_request(&mut request, &credentials(Some(TOKEN)), "eu-west-1", UNIX_EPOCH + Duration::from_secs(T))
            .expect("signs");
        assert_eq!(header(&request, "x-amz-security-token"), TOKEN);
        assert!(request.headers().get("x-amz-security-token").is_some_and(HeaderValue::is_sensitive));
        // sha256("")
        assert_eq!(
            header(&request, "x-amz-content-sha256"),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        assert_eq!(
            header(&request, "authorization"),
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20231114/eu-west-1/aps/aws4_request, \
             SignedHeaders=host;x-amz-content-sha256;x-amz-date;x-amz-security-token;x-scope-orgid, \
             Signature=05ec1318de6059a580fbbb9b8782de099c91d20f57047ef87b43b890a15da236"
        );
        // The URL itself is not changed.
        assert_eq!(request.url().as_str(), url);
    }

    #[test]
    fn scrub_removes_the_secret_and_the_token() {
        let body = format!("{{\"message\":\"x-amz-security-token:{TOKEN}\\nkey {SECRET} id {AKID}\"}}");
        let scrubbed = String::from_utf8(scrub(body.into_bytes(), &credentials(Some(TOKEN)))).expect("utf-8");
        assert!(!scrubbed.contains(TOKEN) && !scrubbed.contains(SECRET), "{scrubbed}");
        assert!(scrubbed.contains("x-amz-security-token:*****") && scrubbed.contains(AKID), "{scrubbed}");
    }

    #[test]
    fn freshness_leaves_a_minute_of_margin() {
        let now = UNIX_EPOCH + Duration::from_secs(T);
        let expiring = |secs: u64| Credentials::new(AKID, SECRET, None, Some(now + Duration::from_secs(secs)), "t");
        assert!(fresh(&credentials(None), now));
        assert!(fresh(&expiring(3600), now));
        assert!(!fresh(&expiring(59), now));
    }

    /// Counts how often the chain is asked; hands out credentials expiring `ttl` from now.
    #[derive(Debug, Clone)]
    struct Counting {
        calls: Arc<AtomicUsize>,
        ttl: Duration,
    }

    impl ProvideCredentials for Counting {
        fn provide_credentials<'a>(&'a self) -> future::ProvideCredentials<'a>
        where
            Self: 'a,
        {
            self.calls.fetch_add(1, Ordering::SeqCst);
            let expiry = SystemTime::now() + self.ttl;
            future::ProvideCredentials::ready(Ok(Credentials::new(AKID, SECRET, None, Some(expiry), "counting")))
        }
    }

    #[tokio::test]
    async fn credentials_are_cached_until_they_are_about_to_expire() {
        let url = "http://127.0.0.1:9090/workspaces/ws-1/api/v1/query";
        for (ttl, expected_calls) in [(Duration::from_secs(3600), 1), (Duration::from_secs(30), 3)] {
            let calls = Arc::new(AtomicUsize::new(0));
            let signer = Signer::with_provider("us-east-1", Counting { calls: Arc::clone(&calls), ttl });
            for _ in 0..3 {
                let mut request = request(Method::POST, url, Some("query=up"));
                signer.sign(&mut request, Duration::from_secs(5)).await.expect("signs");
                assert!(header(&request, "authorization").contains("/us-east-1/aps/aws4_request"));
            }
            assert_eq!(calls.load(Ordering::SeqCst), expected_calls, "ttl {ttl:?}");
        }
    }

    #[test]
    fn debug_names_the_settings_only() {
        let signer = Signer::new(" us-west-2 ", "amp", "arn:aws:iam::123456789012:role/amp-reader");
        let shown = format!("{signer:?}");
        assert!(shown.contains("\"us-west-2\"") && shown.contains("amp-reader") && shown.contains("aps"), "{shown}");
    }
}
