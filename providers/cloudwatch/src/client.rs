//! The AWS side: one lazily configured SDK client per factory, the GetMetricData call,
//! and the mapping of every SDK failure to a [`ProviderError`].

use std::error::Error as _;
use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use augur_provider_api::{ErrorKind, ProviderError};
use aws_config::BehaviorVersion;
use aws_sdk_cloudwatch::Client;
use aws_sdk_cloudwatch::config::retry::RetryConfig;
use aws_sdk_cloudwatch::config::timeout::TimeoutConfig;
use aws_sdk_cloudwatch::config::{Credentials, Region};
use aws_sdk_cloudwatch::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_cloudwatch::operation::RequestId;
use aws_sdk_cloudwatch::operation::get_metric_data::{GetMetricDataError, GetMetricDataOutput};
use aws_sdk_cloudwatch::primitives::{DateTime, DateTimeFormat};
use aws_sdk_cloudwatch::types::MetricDataQuery;

use crate::parse::{DataResult, Message};

/// The environment variable that overrides the CloudWatch endpoint for augur only.
pub const ENDPOINT_ENV: &str = "AUGUR_CLOUDWATCH_ENDPOINT";

/// Default per-attempt timeout (one HTTP exchange).
const DEFAULT_ATTEMPT_TIMEOUT: Duration = Duration::from_secs(10);
/// Default timeout for the whole call, retries included.
const DEFAULT_OPERATION_TIMEOUT: Duration = Duration::from_secs(30);

/// How the AWS client is set up. [`ClientOptions::default`] is the standard AWS chain,
/// which is what `augur` itself uses; the fields override single links of it (tests and
/// embedders set them explicitly instead of touching the process environment).
#[derive(Clone, Default)]
pub struct ClientOptions {
    /// The endpoint URL. `None`: `AUGUR_CLOUDWATCH_ENDPOINT` if set and non-empty, else
    /// the AWS chain (`AWS_ENDPOINT_URL_CLOUDWATCH`, `AWS_ENDPOINT_URL`, the profile's
    /// `endpoint_url`, else the regional AWS endpoint).
    pub endpoint_url: Option<String>,
    /// The region. `None`: the AWS chain (`AWS_REGION`, `AWS_DEFAULT_REGION`, the
    /// profile's `region`, EC2 instance metadata).
    pub region: Option<String>,
    /// Static credentials. `None`: the AWS chain (environment, profile incl. SSO and
    /// `credential_process`, web identity / IRSA, ECS and EC2 instance roles).
    pub credentials: Option<StaticCredentials>,
    /// Timeout of one HTTP attempt. `None`: 10 s.
    pub attempt_timeout: Option<Duration>,
    /// Timeout of the whole call including retries. `None`: 30 s.
    pub operation_timeout: Option<Duration>,
    /// Attempts per call. `None`: the AWS chain (`AWS_MAX_ATTEMPTS`, the profile's
    /// `max_attempts`, else 3 with the standard retry mode, as Argo's Go SDK).
    pub max_attempts: Option<u32>,
}

impl fmt::Debug for ClientOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientOptions")
            .field("endpoint_url", &self.endpoint_url)
            .field("region", &self.region)
            .field("credentials", &self.credentials)
            .field("attempt_timeout", &self.attempt_timeout)
            .field("operation_timeout", &self.operation_timeout)
            .field("max_attempts", &self.max_attempts)
            .finish()
    }
}

/// An access key pair, with an optional session token. `Debug` hides the secrets.
#[derive(Clone)]
pub struct StaticCredentials {
    /// `AWS_ACCESS_KEY_ID`.
    pub access_key_id: String,
    /// `AWS_SECRET_ACCESS_KEY`.
    pub secret_access_key: String,
    /// `AWS_SESSION_TOKEN`.
    pub session_token: Option<String>,
}

impl fmt::Debug for StaticCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StaticCredentials")
            .field("access_key_id", &self.access_key_id)
            .field("secret_access_key", &"*****")
            .field("session_token", &self.session_token.as_ref().map(|_| "*****"))
            .finish()
    }
}

/// A configured client and what it resolved.
#[derive(Debug)]
struct Loaded {
    client: Client,
    region: Option<String>,
    timeouts: Timeouts,
}

/// The timeouts a client applies, for messages.
#[derive(Debug, Clone, Copy)]
struct Timeouts {
    attempt: Duration,
    operation: Duration,
}

/// One client per factory, configured on first use: loading the AWS chain is async and
/// may read files or instance metadata, and the credential cache must be shared by
/// every metric (one IRSA token exchange per expiry, not one per run). The client's
/// pooled connections belong to the tokio runtime that opened them, which is fine for
/// augur (one runtime per process); a program that drops runtimes and keeps the
/// factory should build a [`CloudWatchFactory::new`](crate::CloudWatchFactory::new)
/// per runtime.
#[derive(Debug)]
pub(crate) struct Shared {
    options: ClientOptions,
    loaded: tokio::sync::OnceCell<Loaded>,
}

impl Shared {
    pub(crate) fn new(options: ClientOptions) -> Shared {
        Shared { options, loaded: tokio::sync::OnceCell::new() }
    }

    pub(crate) const fn standard() -> Shared {
        Shared {
            options: ClientOptions {
                endpoint_url: None,
                region: None,
                credentials: None,
                attempt_timeout: None,
                operation_timeout: None,
                max_attempts: None,
            },
            loaded: tokio::sync::OnceCell::const_new(),
        }
    }

    /// The endpoint override, checked before anything is loaded.
    fn endpoint_override(&self) -> Result<Option<String>, ProviderError> {
        let (source, url) = match &self.options.endpoint_url {
            Some(url) => ("the endpoint override", url.clone()),
            None => match std::env::var(ENDPOINT_ENV) {
                Ok(url) if !url.trim().is_empty() => (ENDPOINT_ENV, url.trim().to_string()),
                _ => return Ok(None),
            },
        };
        let rest = url.strip_prefix("http://").or_else(|| url.strip_prefix("https://"));
        match rest {
            Some(host) if !host.is_empty() && !host.starts_with('/') => Ok(Some(url)),
            _ => Err(ProviderError::new(
                ErrorKind::Config,
                format!("{source} {url:?} is not an absolute http:// or https:// URL"),
            )),
        }
    }

    async fn loaded(&self) -> Result<&Loaded, ProviderError> {
        let endpoint = self.endpoint_override()?;
        Ok(self.loaded.get_or_init(|| self.load(endpoint)).await)
    }

    async fn load(&self, endpoint: Option<String>) -> Loaded {
        let options = &self.options;
        let mut loader = aws_config::defaults(BehaviorVersion::latest());
        if let Some(region) = &options.region {
            loader = loader.region(Region::new(region.clone()));
        }
        if let Some(c) = &options.credentials {
            loader = loader.credentials_provider(Credentials::new(
                c.access_key_id.clone(),
                c.secret_access_key.clone(),
                c.session_token.clone(),
                None,
                "augur-static",
            ));
        }
        let sdk_config = loader.load().await;
        let timeouts = Timeouts {
            attempt: options.attempt_timeout.unwrap_or(DEFAULT_ATTEMPT_TIMEOUT),
            operation: options.operation_timeout.unwrap_or(DEFAULT_OPERATION_TIMEOUT),
        };
        let mut timeout_config = TimeoutConfig::builder()
            .operation_attempt_timeout(timeouts.attempt)
            .operation_timeout(timeouts.operation)
            .build();
        if let Some(chain) = sdk_config.timeout_config() {
            // Keep the chain's connect/read timeouts.
            timeout_config.take_defaults_from(chain);
        }
        let mut builder = aws_sdk_cloudwatch::config::Builder::from(&sdk_config).timeout_config(timeout_config);
        if let Some(n) = options.max_attempts {
            builder = builder.retry_config(RetryConfig::standard().with_max_attempts(n.max(1)));
        }
        if let Some(url) = endpoint {
            builder = builder.endpoint_url(url);
        }
        let config = builder.build();
        let region = config.region().map(|r| r.as_ref().to_string());
        Loaded { client: Client::from_conf(config), region, timeouts }
    }
}

/// The answer of one GetMetricData call, in plain types.
pub(crate) struct Answer {
    pub(crate) results: Vec<DataResult>,
    pub(crate) messages: Vec<Message>,
}

/// Calls GetMetricData for `[now - interval, now]`: one call, no pagination, as Argo.
pub(crate) async fn get_metric_data(
    shared: &Shared,
    queries: &[MetricDataQuery],
    interval_nanos: i64,
    now: SystemTime,
) -> Result<Answer, ProviderError> {
    let loaded = shared.loaded().await?;
    if loaded.region.is_none() {
        return Err(ProviderError::new(
            ErrorKind::Config,
            "CloudWatch: no AWS region configured: set AWS_REGION (or AWS_DEFAULT_REGION, or `region` in the AWS \
             profile)",
        ));
    }
    let end_nanos = unix_nanos(now);
    let start_nanos = end_nanos - i128::from(interval_nanos);
    let (Ok(start), Ok(end)) = (DateTime::from_nanos(start_nanos), DateTime::from_nanos(end_nanos)) else {
        return Err(ProviderError::new(ErrorKind::Config, "CloudWatch: the query window is out of range"));
    };
    let res = loaded
        .client
        .get_metric_data()
        .start_time(start)
        .end_time(end)
        .set_metric_data_queries(Some(queries.to_vec()))
        .send()
        .await;
    match res {
        Ok(output) => answer(output),
        Err(err) => Err(sdk_error(err, loaded.timeouts)),
    }
}

fn unix_nanos(t: SystemTime) -> i128 {
    match t.duration_since(UNIX_EPOCH) {
        Ok(d) => i128::try_from(d.as_nanos()).unwrap_or(i128::MAX),
        Err(e) => -i128::try_from(e.duration().as_nanos()).unwrap_or(i128::MAX),
    }
}

/// Plain types from the SDK's output. CloudWatch sets `Id` and `StatusCode` on every
/// result; a result without them means the body was not a real answer (the SDK's XML
/// reader accepts a truncated document), and judging it could pass a condition such as
/// `len(result[0].Values) == 0`, so it is refused.
fn answer(output: GetMetricDataOutput) -> Result<Answer, ProviderError> {
    if let Some(i) = output.metric_data_results().iter().position(|r| r.id().is_none() || r.status_code().is_none()) {
        return Err(ProviderError::new(
            ErrorKind::Malformed,
            format!("{OP}: unparseable response: MetricDataResults[{i}] has no Id or StatusCode"),
        ));
    }
    let message = |m: &aws_sdk_cloudwatch::types::MessageData| Message {
        code: m.code().map(str::to_string),
        value: m.value().map(str::to_string),
    };
    let results = output
        .metric_data_results()
        .iter()
        .map(|r| DataResult {
            id: r.id().map(str::to_string),
            label: r.label().map(str::to_string),
            messages: r.messages().iter().map(message).collect(),
            status_code: r.status_code().map(|s| s.as_str().to_string()).unwrap_or_default(),
            timestamps: r
                .timestamps()
                .iter()
                .map(|t| t.fmt(DateTimeFormat::DateTime).unwrap_or_else(|_| t.to_string()))
                .collect(),
            values: r.values().to_vec(),
        })
        .collect();
    Ok(Answer { results, messages: output.messages().iter().map(message).collect() })
}

// ---------------------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------------------

const OP: &str = "CloudWatch GetMetricData";

/// Service error codes that mean the credentials were refused.
const AUTH_CODES: &[&str] = &[
    "AccessDenied",
    "AccessDeniedException",
    "AuthFailure",
    "ExpiredToken",
    "ExpiredTokenException",
    "IncompleteSignature",
    "InvalidAccessKeyId",
    "InvalidClientTokenId",
    "MissingAuthenticationToken",
    "NotAuthorized",
    "RequestExpired",
    "SignatureDoesNotMatch",
    "UnrecognizedClientException",
];

/// Service error codes that mean "slow down".
const THROTTLING_CODES: &[&str] = &[
    "LimitExceededException",
    "RequestLimitExceeded",
    "RequestThrottled",
    "RequestThrottledException",
    "SlowDown",
    "Throttling",
    "ThrottlingException",
    "TooManyRequestsException",
];

/// The class of a service error, from its HTTP status and error code.
pub(crate) fn service_error_kind(status: u16, code: &str) -> ErrorKind {
    if AUTH_CODES.contains(&code) || status == 401 || status == 403 {
        ErrorKind::Auth
    } else if THROTTLING_CODES.contains(&code) || status == 429 || status >= 500 {
        ErrorKind::Unavailable
    } else {
        ErrorKind::Rejected
    }
}

/// An error's sources on one line, outermost first, without repeats. The SDK's own
/// outermost layer (`dispatch failure`, `service error`, …) says nothing the messages
/// here do not, so it is skipped.
fn error_chain(err: &SdkError<GetMetricDataError>) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut cur = err.source();
    while let Some(e) = cur {
        let text = e.to_string().split_whitespace().collect::<Vec<_>>().join(" ");
        if !text.is_empty() && !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        cur = e.source();
    }
    if parts.is_empty() { err.to_string() } else { parts.join(": ") }
}

/// True when the SDK could not find or load credentials: the chain reports it while
/// the request is built or dispatched, depending on the link that failed.
fn is_credentials_failure(detail: &str) -> bool {
    let lower = detail.to_ascii_lowercase();
    lower.contains("credential") || lower.contains("failed to load identity")
}

fn credentials_error(detail: &str) -> ProviderError {
    let detail = detail.strip_prefix("other: ").unwrap_or(detail);
    ProviderError::new(
        ErrorKind::Auth,
        format!(
            "{OP}: no usable AWS credentials: {detail}; set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, \
             AWS_PROFILE, or a web identity (IRSA) role"
        ),
    )
}

/// The first `<name>…</name>` of an XML document, unescaped for the common entities.
fn xml_tag(body: &str, name: &str) -> Option<String> {
    let open = format!("<{name}>");
    let start = body.find(&open)? + open.len();
    let end = start + body[start..].find(&format!("</{name}>"))?;
    let text =
        body[start..end].replace("&lt;", "<").replace("&gt;", ">").replace("&quot;", "\"").replace("&apos;", "'");
    Some(text.replace("&amp;", "&").trim().to_string())
}

/// At most `max` characters of `s`, with an ellipsis when cut.
fn truncate(s: &str, max: usize) -> String {
    match s.char_indices().nth(max) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_string(),
    }
}

fn sdk_error(err: SdkError<GetMetricDataError>, timeouts: Timeouts) -> ProviderError {
    match &err {
        SdkError::ServiceError(service) if service.raw().status().is_success() => {
            // A 2xx answer that does not parse as a GetMetricData response.
            let status = service.raw().status().as_u16();
            ProviderError::new(
                ErrorKind::Malformed,
                format!("{OP}: unparseable response (HTTP {status}): {}", error_chain(&err)),
            )
        }
        SdkError::ServiceError(service) => {
            let e = service.err();
            let status = service.raw().status().as_u16();
            let body = service.raw().body().bytes().map(String::from_utf8_lossy).unwrap_or_default();
            // The SDK reads awsQuery's `<ErrorResponse><Error>`; servers that wrap it
            // differently (moto's `<Errors>`) or send no XML still get their say.
            let code = e.code().map(str::to_string).or_else(|| xml_tag(&body, "Code")).unwrap_or_default();
            let text = e.message().map(str::to_string).or_else(|| xml_tag(&body, "Message")).unwrap_or_else(|| {
                let body = body.split_whitespace().collect::<Vec<_>>().join(" ");
                if body.is_empty() { "(empty body)".to_string() } else { truncate(&body, 300) }
            });
            let code = code.as_str();
            let kind = service_error_kind(status, code);
            let hint = match kind {
                ErrorKind::Auth => {
                    " — check the AWS credentials (environment, profile, IRSA role) and that they allow \
                     cloudwatch:GetMetricData"
                }
                ErrorKind::Unavailable if THROTTLING_CODES.contains(&code) || status == 429 => {
                    " — CloudWatch is throttling requests, the measurement is retried"
                }
                _ => "",
            };
            let code = if code.is_empty() { "error" } else { code };
            let request_id = e.request_id().map(|id| format!(" (request id {id})")).unwrap_or_default();
            ProviderError::new(kind, format!("{OP}: HTTP {status} {code}: {text}{hint}{request_id}"))
        }
        SdkError::TimeoutError(_) => ProviderError::new(
            ErrorKind::Timeout,
            format!(
                "{OP}: timed out (each attempt may take {:?}, the whole call {:?})",
                timeouts.attempt, timeouts.operation
            ),
        ),
        SdkError::DispatchFailure(failure) => {
            let detail = error_chain(&err);
            if !failure.is_io() && !failure.is_timeout() && is_credentials_failure(&detail) {
                credentials_error(&detail)
            } else if failure.is_timeout() {
                ProviderError::new(ErrorKind::Timeout, format!("{OP}: timed out: {detail}"))
            } else if failure.is_user() {
                ProviderError::new(ErrorKind::Config, format!("{OP}: {detail}"))
            } else {
                ProviderError::new(ErrorKind::Transport, format!("{OP}: cannot reach CloudWatch: {detail}"))
            }
        }
        SdkError::ResponseError(response) => {
            let status = response.raw().status().as_u16();
            if status >= 500 || status == 429 {
                ProviderError::new(ErrorKind::Unavailable, format!("{OP}: HTTP {status}: {}", error_chain(&err)))
            } else {
                ProviderError::new(
                    ErrorKind::Malformed,
                    format!("{OP}: unparseable response (HTTP {status}): {}", error_chain(&err)),
                )
            }
        }
        SdkError::ConstructionFailure(_) => {
            let detail = error_chain(&err);
            if is_credentials_failure(&detail) {
                credentials_error(&detail)
            } else {
                ProviderError::new(ErrorKind::Config, format!("{OP}: {detail}"))
            }
        }
        _ => ProviderError::new(ErrorKind::Transport, format!("{OP}: {}", error_chain(&err))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn service_errors_are_classified() {
        assert_eq!(service_error_kind(400, "Throttling"), ErrorKind::Unavailable);
        assert_eq!(service_error_kind(400, "ValidationError"), ErrorKind::Rejected);
        assert_eq!(service_error_kind(400, "InvalidParameterValue"), ErrorKind::Rejected);
        assert_eq!(service_error_kind(403, "InvalidClientTokenId"), ErrorKind::Auth);
        assert_eq!(service_error_kind(400, "ExpiredToken"), ErrorKind::Auth);
        assert_eq!(service_error_kind(500, "InternalServiceError"), ErrorKind::Unavailable);
        assert_eq!(service_error_kind(503, ""), ErrorKind::Unavailable);
        assert_eq!(service_error_kind(429, ""), ErrorKind::Unavailable);
    }

    #[test]
    fn error_documents_are_read_without_the_sdk() {
        let moto = "<ErrorResponse><Errors><Error><Code>InvalidClientTokenId</Code><Message>The security token \
                    included in the request is invalid.</Message></Error></Errors></ErrorResponse>";
        assert_eq!(xml_tag(moto, "Code").as_deref(), Some("InvalidClientTokenId"));
        assert_eq!(xml_tag("<Message>a &lt;b&gt; &amp;amp;</Message>", "Message").as_deref(), Some("a <b> &amp;"));
        assert_eq!(xml_tag("<html>busy</html>", "Code"), None);
        assert_eq!(truncate("abcdef", 3), "abc…");
        assert_eq!(truncate("abc", 3), "abc");
    }

    #[test]
    fn credentials_are_redacted() {
        let c = StaticCredentials {
            access_key_id: "AKID".to_string(),
            secret_access_key: "sekrit".to_string(),
            session_token: Some("tok".to_string()),
        };
        let shown = format!("{:?}", ClientOptions { credentials: Some(c), ..ClientOptions::default() });
        assert!(shown.contains("AKID") && !shown.contains("sekrit") && !shown.contains("tok\""), "{shown}");
    }

    #[test]
    fn endpoint_override_must_be_a_url() {
        let shared =
            |url: &str| Shared::new(ClientOptions { endpoint_url: Some(url.to_string()), ..Default::default() });
        assert_eq!(shared("http://127.0.0.1:5000").endpoint_override(), Ok(Some("http://127.0.0.1:5000".to_string())));
        let err = shared("127.0.0.1:5000").endpoint_override().expect_err("no scheme");
        assert_eq!(err.kind(), ErrorKind::Config);
        assert!(err.message().contains("not an absolute http"), "{err}");
        assert!(shared("https://").endpoint_override().is_err());
    }
}
