//! The provider conformance kit (feature `testkit`): one contract, checked for every
//! provider.
//!
//! Each provider's `tests/conformance.rs` describes itself as a [`conformance::Subject`]
//! (how to build it against a base URL, what its happy and empty results look like) and
//! calls [`conformance::check`]. The kit then measures it against a small axum server on
//! 127.0.0.1 that misbehaves in every way a vendor can, and asserts the contract of
//! reference §2.8 and house rule 11: a failure is always an Error measurement (never a
//! panic, never a value), with the right [`ErrorKind`] and a message a user can act on.
//!
//! What it is not: a replacement for a provider's own tests against its real server.
//! The happy and empty cases may point at that real server ([`conformance::Source::Real`]);
//! the fake is only for the failure modes a real server cannot be made to produce.

/// The conformance contract and its runner.
pub mod conformance {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::{Duration, Instant};

    use axum::Router;
    use axum::body::{Body, Bytes};
    use axum::http::{StatusCode, header};
    use axum::response::Response;
    use tokio::net::TcpListener;

    use crate::{ErrorKind, MeasureContext, MetricProvider, Outcome, ProviderError, ResultValue};

    /// A marker every 4xx body of the fake carries; 4xx messages must quote it.
    pub const BODY_MARKER: &str = "augur-conformance-marker: the server refused this request";

    /// Which configuration the kit asks the subject to build.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum Case {
        /// The query whose result [`Subject::happy`] describes.
        Happy,
        /// The query whose (empty) result [`Subject::empty`] describes.
        Empty,
        /// Any valid query, with the provider's request timeout set to
        /// [`Subject::timeout`]: the fake answers every path with the failure under test.
        Failure,
    }

    /// A canned answer of the fake server.
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct FakeResponse {
        /// The HTTP status.
        pub status: u16,
        /// The `Content-Type` header.
        pub content_type: String,
        /// The body.
        pub body: Vec<u8>,
    }

    impl FakeResponse {
        /// An `application/json` answer.
        pub fn json(status: u16, body: impl Into<String>) -> Self {
            FakeResponse { status, content_type: "application/json".to_string(), body: body.into().into_bytes() }
        }

        /// A `text/plain` answer.
        pub fn text(status: u16, body: impl Into<String>) -> Self {
            FakeResponse {
                status,
                content_type: "text/plain; charset=utf-8".to_string(),
                body: body.into().into_bytes(),
            }
        }
    }

    /// Where a scenario's answer comes from.
    #[derive(Debug, Clone)]
    pub enum Source {
        /// The kit's fake serves this answer on every path (for vendors with no local
        /// server, e.g. Datadog's documented response shapes).
        Fake(FakeResponse),
        /// A real server at this base URL (e.g. a real Prometheus on loopback).
        Real(String),
    }

    /// A custom assertion on a measurement's outcome.
    pub type CheckFn = dyn Fn(&Result<Outcome, ProviderError>) -> Result<(), String> + Send + Sync;

    /// What a scenario must produce.
    pub enum Expect {
        /// An observation with exactly this `result` (NaN equals NaN) and `value`.
        Observed {
            /// The expected `result`.
            result: ResultValue,
            /// The expected measurement value string.
            value: String,
        },
        /// Anything else, checked by the function (`Err(reason)` fails the case).
        Check(Box<CheckFn>),
    }

    /// One successful scenario: where the answer comes from and what it must yield.
    pub struct Scenario {
        /// The answer's source.
        pub source: Source,
        /// The expected outcome.
        pub expect: Expect,
    }

    /// Builds the provider under test for a [`Case`], pointed at a base URL
    /// (`http://127.0.0.1:PORT`, no trailing slash).
    pub type Build = dyn Fn(Case, &str) -> Box<dyn MetricProvider> + Send + Sync;

    /// A provider, described for the kit.
    pub struct Subject {
        /// The provider's name, for the failure report.
        pub name: String,
        /// How to build it.
        pub build: Box<Build>,
        /// The context every measurement gets (a fixed `now`, usually).
        pub ctx: MeasureContext,
        /// The request timeout the [`Case::Failure`] provider is configured with. The
        /// kit's slow answers take this plus 5 s, and a timeout must be reported within
        /// this plus 2 s.
        pub timeout: Duration,
        /// The happy path.
        pub happy: Scenario,
        /// A query that matches nothing.
        pub empty: Scenario,
        /// More 200 answers that must be Errors for this vendor, besides the kit's own
        /// (truncated JSON, HTML, empty body, a JSON array, a JSON string).
        pub extra_malformed: Vec<FakeResponse>,
        /// What a 200 body that is not what the vendor documents means.
        pub bodies: BodyContract,
    }

    /// What a provider does with a 2xx body it cannot use.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
    pub enum BodyContract {
        /// A vendor API: every malformed body is an [`ErrorKind::Malformed`] Error.
        #[default]
        Structured,
        /// Argo's `web` provider: a body that is not JSON (truncated, HTML, empty) is the
        /// result as a string; JSON of the wrong shape is an Error of this kind.
        TextIsValue {
            /// The kind of the Error for JSON the provider cannot read.
            wrong_shape: ErrorKind,
        },
    }

    /// How the fake misbehaves.
    #[derive(Debug, Clone)]
    enum Behavior {
        Respond(FakeResponse),
        /// No headers for this long.
        Stall(Duration),
        /// Headers and the start of a body, then nothing for this long.
        SlowBody(Duration),
    }

    /// A running fake; dropping it stops the server.
    struct Fake {
        url: String,
        hits: Arc<AtomicUsize>,
        task: tokio::task::JoinHandle<()>,
    }

    impl Drop for Fake {
        fn drop(&mut self) {
            self.task.abort();
        }
    }

    async fn start(behavior: Behavior) -> Result<Fake, String> {
        let listener = TcpListener::bind("127.0.0.1:0").await.map_err(|e| format!("bind 127.0.0.1:0: {e}"))?;
        let addr = listener.local_addr().map_err(|e| format!("local_addr: {e}"))?;
        let hits = Arc::new(AtomicUsize::new(0));
        let behavior = Arc::new(behavior);
        let counter = hits.clone();
        let app = Router::new().fallback(move || {
            let behavior = behavior.clone();
            let counter = counter.clone();
            async move {
                counter.fetch_add(1, Ordering::SeqCst);
                respond(&behavior).await
            }
        });
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok(Fake { url: format!("http://{addr}"), hits, task })
    }

    fn response(status: u16, content_type: &str, body: Body) -> Response {
        let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        Response::builder()
            .status(status)
            .header(header::CONTENT_TYPE, content_type)
            .body(body)
            .unwrap_or_else(|_| Response::new(Body::empty()))
    }

    async fn respond(behavior: &Behavior) -> Response {
        match behavior {
            Behavior::Respond(r) => response(r.status, &r.content_type, Body::from(r.body.clone())),
            Behavior::Stall(delay) => {
                tokio::time::sleep(*delay).await;
                response(200, "application/json", Body::from("{}"))
            }
            Behavior::SlowBody(delay) => {
                let delay = *delay;
                let chunks = futures_util::stream::unfold(0u8, move |step| async move {
                    match step {
                        0 => Some((
                            Ok::<_, std::io::Error>(Bytes::from_static(b"{\"status\":\"success\",\"data\":{")),
                            1,
                        )),
                        1 => {
                            tokio::time::sleep(delay).await;
                            Some((Ok(Bytes::from_static(b"}}")), 2))
                        }
                        _ => None,
                    }
                });
                response(200, "application/json", Body::from_stream(chunks))
            }
        }
    }

    /// The port of a listener that was bound and closed: connecting is refused.
    async fn refused_url() -> Result<String, String> {
        let listener = TcpListener::bind("127.0.0.1:0").await.map_err(|e| format!("bind 127.0.0.1:0: {e}"))?;
        let addr = listener.local_addr().map_err(|e| format!("local_addr: {e}"))?;
        drop(listener);
        Ok(format!("http://{addr}"))
    }

    fn same_result(a: &ResultValue, b: &ResultValue) -> bool {
        let same = |x: f64, y: f64| x == y || (x.is_nan() && y.is_nan());
        match (a, b) {
            (ResultValue::Float(x), ResultValue::Float(y)) => same(*x, *y),
            (ResultValue::Floats(xs), ResultValue::Floats(ys)) => {
                xs.len() == ys.len() && xs.iter().zip(ys).all(|(x, y)| same(*x, *y))
            }
            _ => a == b,
        }
    }

    fn check_expect(expect: &Expect, res: &Result<Outcome, ProviderError>) -> Result<(), String> {
        match expect {
            Expect::Observed { result, value } => match res {
                Ok(Outcome::Observed(obs)) if same_result(&obs.result, result) && &obs.value == value => Ok(()),
                other => Err(format!("expected result {result:?} with value {value:?}, got {other:?}")),
            },
            Expect::Check(f) => f(res),
        }
    }

    /// Builds the provider for `case` against `base`, measures once, and returns the
    /// outcome with the time it took. A provider that hangs past `timeout + 10 s` fails.
    async fn measure(
        subject: &Subject,
        case: Case,
        base: &str,
    ) -> Result<(Result<Outcome, ProviderError>, Duration), String> {
        let provider = (subject.build)(case, base);
        let started = Instant::now();
        let limit = subject.timeout + Duration::from_secs(10);
        match tokio::time::timeout(limit, provider.measure(&subject.ctx)).await {
            Ok(res) => Ok((res, started.elapsed())),
            Err(_) => Err(format!("the provider did not return within {limit:?}")),
        }
    }

    /// Measures against the fake answering with `behavior`; checks the fake was called.
    async fn against_fake(
        subject: &Subject,
        case: Case,
        behavior: Behavior,
    ) -> Result<(Result<Outcome, ProviderError>, Duration), String> {
        let fake = start(behavior).await?;
        let res = measure(subject, case, &fake.url).await?;
        if fake.hits.load(Ordering::SeqCst) == 0 {
            return Err(format!("the provider never called the fake server at {} (got {:?})", fake.url, res.0));
        }
        Ok(res)
    }

    /// The error of a failure case, with the checks every error must pass: it is an
    /// `Err` (never an observation or a decided phase) and its message is one
    /// non-empty line.
    fn expect_error(res: Result<Outcome, ProviderError>) -> Result<ProviderError, String> {
        match res {
            Ok(outcome) => Err(format!("expected an Error measurement, got {outcome:?}")),
            Err(err) if err.message().trim().is_empty() => Err(format!("empty error message ({:?})", err.kind())),
            Err(err) if err.message().contains('\n') => Err(format!("multi-line message: {:?}", err.message())),
            Err(err) => Ok(err),
        }
    }

    fn expect_kind(err: &ProviderError, kind: ErrorKind) -> Result<(), String> {
        if err.kind() == kind {
            Ok(())
        } else {
            Err(format!("expected kind {kind:?}, got {:?}: {}", err.kind(), err.message()))
        }
    }

    fn expect_contains(err: &ProviderError, needle: &str) -> Result<(), String> {
        if err.message().contains(needle) {
            Ok(())
        } else {
            Err(format!("message does not mention {needle:?}: {}", err.message()))
        }
    }

    async fn scenario(subject: &Subject, case: Case, scenario: &Scenario) -> Result<(), String> {
        let (res, _) = match &scenario.source {
            Source::Fake(answer) => against_fake(subject, case, Behavior::Respond(answer.clone())).await?,
            Source::Real(url) => measure(subject, case, url).await?,
        };
        check_expect(&scenario.expect, &res)
    }

    async fn client_error(subject: &Subject, status: u16) -> Result<(), String> {
        let answer = FakeResponse::text(status, BODY_MARKER);
        let (res, _) = against_fake(subject, Case::Failure, Behavior::Respond(answer)).await?;
        let err = expect_error(res)?;
        let kind = if matches!(status, 401 | 403) { ErrorKind::Auth } else { ErrorKind::Rejected };
        expect_kind(&err, kind)?;
        expect_contains(&err, &status.to_string())?;
        if kind == ErrorKind::Rejected {
            expect_contains(&err, BODY_MARKER)?;
        }
        if err.is_transient() { Err(format!("a {status} must not be transient: {}", err.message())) } else { Ok(()) }
    }

    async fn unavailable(subject: &Subject, status: u16) -> Result<(), String> {
        let answer = FakeResponse::text(status, "try again later");
        let (res, _) = against_fake(subject, Case::Failure, Behavior::Respond(answer)).await?;
        let err = expect_error(res)?;
        expect_kind(&err, ErrorKind::Unavailable)?;
        expect_contains(&err, &status.to_string())?;
        if err.is_transient() { Ok(()) } else { Err(format!("a {status} must be transient: {}", err.message())) }
    }

    async fn slow(subject: &Subject, behavior: Behavior) -> Result<(), String> {
        let (res, elapsed) = against_fake(subject, Case::Failure, behavior).await?;
        let err = expect_error(res)?;
        expect_kind(&err, ErrorKind::Timeout)?;
        let bound = subject.timeout + Duration::from_secs(2);
        if elapsed > bound {
            return Err(format!("the timeout took {elapsed:?}, more than {bound:?}"));
        }
        if err.is_transient() { Ok(()) } else { Err(format!("a timeout must be transient: {}", err.message())) }
    }

    async fn refused(subject: &Subject) -> Result<(), String> {
        let url = refused_url().await?;
        let (res, _) = measure(subject, Case::Failure, &url).await?;
        let err = expect_error(res)?;
        expect_kind(&err, ErrorKind::Transport)?;
        if err.is_transient() {
            Ok(())
        } else {
            Err(format!("connection refused must be transient: {}", err.message()))
        }
    }

    async fn malformed(subject: &Subject, answer: FakeResponse) -> Result<(), String> {
        let is_json = serde_json::from_slice::<serde_json::Value>(&answer.body).is_ok();
        let (res, _) = against_fake(subject, Case::Failure, Behavior::Respond(answer)).await?;
        match subject.bodies {
            BodyContract::Structured => expect_kind(&expect_error(res)?, ErrorKind::Malformed),
            BodyContract::TextIsValue { wrong_shape } if is_json => expect_kind(&expect_error(res)?, wrong_shape),
            BodyContract::TextIsValue { .. } => match res {
                Ok(crate::Outcome::Observed(o)) if matches!(o.result, crate::ResultValue::String(_)) => Ok(()),
                other => Err(format!("a body that is not JSON must be the result as a string, got {other:?}")),
            },
        }
    }

    /// The kit's own malformed 200 answers: no vendor accepts any of them.
    fn malformed_answers() -> Vec<FakeResponse> {
        vec![
            FakeResponse::json(200, r#"{"status":"success","data":{"resultType":"vec"#),
            FakeResponse { status: 200, content_type: "text/html".to_string(), body: b"<html>oops</html>".to_vec() },
            FakeResponse::json(200, ""),
            FakeResponse::json(200, "[1,2,3]"),
            FakeResponse::json(200, r#""just a string""#),
        ]
    }

    /// Runs every conformance case against `subject` and panics with the list of the
    /// cases that failed (all of them, not just the first).
    ///
    /// Cases: the happy path; the empty result; 400, 404 and 422 (Error,
    /// [`ErrorKind::Rejected`], not transient, the message names the status and quotes
    /// the body); 401 and 403 ([`ErrorKind::Auth`]); 429, 500, 502, 503 and 504
    /// ([`ErrorKind::Unavailable`], transient, the message names the status); no
    /// headers before the timeout and a body that stalls ([`ErrorKind::Timeout`],
    /// reported within `timeout + 2 s`); connection refused ([`ErrorKind::Transport`]);
    /// malformed 200 bodies ([`ErrorKind::Malformed`], never a value). Every error
    /// message is one non-empty line, and the fake must actually have been called.
    pub async fn check(subject: &Subject) {
        let mut failures: Vec<String> = Vec::new();
        let mut n_cases = 0usize;
        let mut record = |name: String, res: Result<(), String>| {
            n_cases += 1;
            if let Err(why) = res {
                failures.push(format!("{name}: {why}"));
            }
        };

        record("happy path".to_string(), scenario(subject, Case::Happy, &subject.happy).await);
        record("empty result".to_string(), scenario(subject, Case::Empty, &subject.empty).await);
        for status in [400, 404, 422, 401, 403] {
            record(format!("HTTP {status}"), client_error(subject, status).await);
        }
        for status in [429, 500, 502, 503, 504] {
            record(format!("HTTP {status}"), unavailable(subject, status).await);
        }
        let stall = subject.timeout + Duration::from_secs(5);
        record("no answer before the timeout".to_string(), slow(subject, Behavior::Stall(stall)).await);
        record("a body that stalls".to_string(), slow(subject, Behavior::SlowBody(stall)).await);
        record("connection refused".to_string(), refused(subject).await);
        for answer in malformed_answers().into_iter().chain(subject.extra_malformed.iter().cloned()) {
            let name = format!("malformed 200 body {:?}", String::from_utf8_lossy(&answer.body));
            record(name, malformed(subject, answer).await);
        }

        assert!(
            failures.is_empty(),
            "{}: {} of {n_cases} conformance cases failed:\n  - {}",
            subject.name,
            failures.len(),
            failures.join("\n  - ")
        );
    }

    #[cfg(test)]
    mod tests {
        use super::*;
        use crate::Observation;

        /// A provider that never talks to anyone and always reports a value.
        #[derive(Debug)]
        struct AlwaysOk;

        #[async_trait::async_trait]
        impl MetricProvider for AlwaysOk {
            fn kind(&self) -> &'static str {
                "always-ok"
            }

            async fn measure(&self, _ctx: &MeasureContext) -> Result<Outcome, ProviderError> {
                Ok(Outcome::Observed(Observation {
                    result: ResultValue::Float(1.0),
                    value: "1".to_string(),
                    metadata: Default::default(),
                }))
            }
        }

        fn subject() -> Subject {
            Subject {
                name: "always-ok".to_string(),
                build: Box::new(|_, _| Box::new(AlwaysOk)),
                ctx: MeasureContext {
                    now: std::time::SystemTime::UNIX_EPOCH,
                    deadline: None,
                    measurement_id: String::new(),
                },
                timeout: Duration::from_millis(100),
                happy: Scenario {
                    source: Source::Real("http://127.0.0.1:1".to_string()),
                    expect: Expect::Observed { result: ResultValue::Float(1.0), value: "1".to_string() },
                },
                empty: Scenario {
                    source: Source::Fake(FakeResponse::json(200, "[]")),
                    expect: Expect::Observed { result: ResultValue::Floats(vec![]), value: "[]".to_string() },
                },
                extra_malformed: vec![],
                bodies: BodyContract::Structured,
            }
        }

        #[tokio::test]
        async fn a_provider_that_ignores_failures_fails_every_failure_case() {
            let joined = tokio::spawn(async { check(&subject()).await }).await;
            let panic = joined.expect_err("check must fail").into_panic();
            let message = panic.downcast_ref::<String>().cloned().unwrap_or_default();
            // The happy path passes; the empty case, which must call the fake, does not.
            assert!(!message.contains("happy path"), "{message}");
            assert!(message.contains("empty result: the provider never called the fake server"), "{message}");
            assert!(message.contains("connection refused: expected an Error measurement"), "{message}");
            assert!(message.contains("HTTP 503"), "{message}");
            assert!(message.contains("always-ok: 19 of 20 conformance cases failed"), "{message}");
        }

        #[test]
        fn nan_equals_nan_in_expectations() {
            let nan = ResultValue::Floats(vec![f64::NAN, 1.0]);
            assert!(same_result(&nan, &ResultValue::Floats(vec![f64::NAN, 1.0])));
            assert!(!same_result(&nan, &ResultValue::Floats(vec![1.0, 1.0])));
            assert!(!same_result(&ResultValue::Float(1.0), &ResultValue::Floats(vec![1.0])));
        }
    }
}
