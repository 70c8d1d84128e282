//! End-to-end tests of the `web` provider against a real HTTP/1.1 server on 127.0.0.1.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use augur_provider_api::{
    ErrorKind, MeasureContext, MetricProvider, Observation, Outcome, ProviderError, ProviderFactory, ResultValue,
};
use augur_provider_web::{WebFactory, go_json};
use serde_json::{Value, json};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpListener;

// ---------------------------------------------------------------------------------------
// A tiny HTTP/1.1 server: one request per connection, `Connection: close`.
// ---------------------------------------------------------------------------------------

#[derive(Debug, Clone)]
struct Request {
    method: String,
    target: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Request {
    /// All values of a header (name compared case-insensitively).
    fn header(&self, name: &str) -> Vec<&str> {
        self.headers.iter().filter(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str()).collect()
    }

    fn path(&self) -> &str {
        self.target.split('?').next().unwrap_or("")
    }
}

struct Response {
    status: u16,
    content_type: Option<&'static str>,
    body: Vec<u8>,
    delay: Duration,
}

impl Response {
    fn json(body: &str) -> Self {
        Response {
            status: 200,
            content_type: Some("application/json"),
            body: body.as_bytes().to_vec(),
            delay: Duration::ZERO,
        }
    }

    fn text(status: u16, body: &str) -> Self {
        Response { status, content_type: Some("text/plain"), body: body.as_bytes().to_vec(), delay: Duration::ZERO }
    }
}

type Handler = dyn Fn(&Request) -> Response + Send + Sync;

struct Server {
    addr: SocketAddr,
    requests: Arc<Mutex<Vec<Request>>>,
}

impl Server {
    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    fn requests(&self) -> Vec<Request> {
        self.requests.lock().expect("lock").clone()
    }
}

async fn serve(handler: impl Fn(&Request) -> Response + Send + Sync + 'static) -> Server {
    serve_with(None, handler).await
}

/// A TLS server with a self-signed certificate for `127.0.0.1`/`localhost`
/// (test-only key material in `tests/fixtures`).
async fn serve_tls(handler: impl Fn(&Request) -> Response + Send + Sync + 'static) -> Server {
    use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
    let cert = CertificateDer::from(include_bytes!("fixtures/self-signed-cert.der").to_vec());
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(include_bytes!("fixtures/self-signed-key.der").to_vec()));
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("protocol versions")
        .with_no_client_auth()
        .with_single_cert(vec![cert], key)
        .expect("certificate");
    serve_with(Some(tokio_rustls::TlsAcceptor::from(Arc::new(config))), handler).await
}

async fn serve_with(
    tls: Option<tokio_rustls::TlsAcceptor>,
    handler: impl Fn(&Request) -> Response + Send + Sync + 'static,
) -> Server {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let requests = Arc::new(Mutex::new(Vec::new()));
    let handler: Arc<Handler> = Arc::new(handler);
    let recorded = requests.clone();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let handler = handler.clone();
            let recorded = recorded.clone();
            let tls = tls.clone();
            tokio::spawn(async move {
                let _ = match tls {
                    None => handle(stream, handler, recorded).await,
                    Some(acceptor) => match acceptor.accept(stream).await {
                        Ok(stream) => handle(stream, handler, recorded).await,
                        Err(e) => Err(e),
                    },
                };
            });
        }
    });
    Server { addr, requests }
}

async fn handle<S: AsyncRead + AsyncWrite + Unpin>(
    mut stream: S,
    handler: Arc<Handler>,
    recorded: Arc<Mutex<Vec<Request>>>,
) -> std::io::Result<()> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i;
        }
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            return Ok(());
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    let mut lines = head.split("\r\n");
    let mut request_line = lines.next().unwrap_or("").split(' ');
    let method = request_line.next().unwrap_or("").to_string();
    let target = request_line.next().unwrap_or("").to_string();
    let headers: Vec<(String, String)> =
        lines.filter_map(|l| l.split_once(':')).map(|(k, v)| (k.trim().to_string(), v.trim().to_string())).collect();
    let length: usize = headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0);
    let mut body = buf[head_end + 4..].to_vec();
    while body.len() < length {
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            break;
        }
        body.extend_from_slice(&chunk[..n]);
    }
    let request = Request { method, target, headers, body };
    recorded.lock().expect("lock").push(request.clone());
    let response = handler(&request);
    if !response.delay.is_zero() {
        tokio::time::sleep(response.delay).await;
    }
    let mut out = format!(
        "HTTP/1.1 {} Status\r\nContent-Length: {}\r\nConnection: close\r\n",
        response.status,
        response.body.len()
    );
    if let Some(ct) = response.content_type {
        out.push_str(&format!("Content-Type: {ct}\r\n"));
    }
    out.push_str("\r\n");
    stream.write_all(out.as_bytes()).await?;
    stream.write_all(&response.body).await?;
    stream.shutdown().await
}

// ---------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------

fn ctx() -> MeasureContext {
    MeasureContext { now: SystemTime::now(), deadline: None, measurement_id: "run.metric.1".to_string() }
}

fn build(config: Value) -> Box<dyn MetricProvider> {
    match WebFactory.build(&config) {
        Ok(p) => p,
        Err(e) => panic!("build failed: {e}"),
    }
}

fn build_err(config: Value) -> String {
    match WebFactory.build(&config) {
        Ok(p) => panic!("expected a build error, got {p:?}"),
        Err(e) => e.0,
    }
}

async fn observe(config: Value) -> Observation {
    match build(config).measure(&ctx()).await {
        Ok(Outcome::Observed(obs)) => obs,
        other => panic!("expected an observation, got {other:?}"),
    }
}

async fn measure_err(config: Value) -> ProviderError {
    match build(config).measure(&ctx()).await {
        Err(e) => e,
        Ok(other) => panic!("expected an error, got {other:?}"),
    }
}

/// A server answering every request with `body` as JSON.
async fn json_server(body: &'static str) -> Server {
    serve(move |_| Response::json(body)).await
}

// ---------------------------------------------------------------------------------------
// Results
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn json_path_matches_every_json_type() {
    let server = json_server(
        r#"{"data":{"num":42.5,"int":7,"str":"Successful","ok":true,"obj":{"z":1,"a":"<b>"},"arr":[1,"x",null],"nil":null}}"#,
    )
    .await;
    let cases: &[(&str, Value, &str)] = &[
        ("{$.data.num}", json!(42.5), "42.5"),
        ("{$.data.int}", json!(7), "7"),
        ("{$.data.str}", json!("Successful"), "\"Successful\""),
        ("{.data.ok}", json!(true), "true"),
        ("{$.data.obj}", json!({"z": 1, "a": "<b>"}), r#"{"a":"\u003cb\u003e","z":1}"#),
        ("{$.data.arr}", json!([1, "x", null]), r#"[1,"x",null]"#),
        ("{$.data.nil}", Value::Null, "null"),
        ("{$.data.arr[1]}", json!("x"), "\"x\""),
    ];
    for (path, want, want_value) in cases {
        let obs = observe(json!({"url": server.url("/metrics"), "jsonPath": path})).await;
        assert_eq!(obs.result, ResultValue::Json(want.clone()), "{path}");
        assert_eq!(obs.value, *want_value, "{path}");
        assert!(obs.metadata.is_empty(), "{path}");
    }
    let requests = server.requests();
    assert_eq!(requests.len(), cases.len());
    assert!(requests.iter().all(|r| r.method == "GET" && r.path() == "/metrics"));
}

#[tokio::test]
async fn default_json_path_is_the_whole_document() {
    let server = json_server(r#" {"b": [1.0, 2e21], "a": {"y": null, "x": "é"}} "#).await;
    let obs = observe(json!({"url": server.url("/")})).await;
    assert_eq!(obs.value, r#"{"a":{"x":"é","y":null},"b":[1,2e+21]}"#);
    assert_eq!(obs.result, ResultValue::Json(json!({"b": [1.0, 2e21], "a": {"y": null, "x": "é"}})));
}

#[tokio::test]
async fn first_match_wins_with_wildcards_and_filters() {
    let server =
        json_server(r#"{"items":[{"name":"a","v":1},{"name":"b","v":2},{"name":"x","v":3}],"a-b":"dash"}"#).await;
    let cases: &[(&str, Value)] = &[
        ("{$.items[*].v}", json!(1)),
        ("{.items[*].name}", json!("a")),
        ("{$.items[?(@.name==\"x\")].v}", json!(3)),
        ("{$.items[?(@.v>1.0)].name}", json!("b")),
        ("{$.items[-1].name}", json!("x")),
        ("{$['a-b']}", json!("dash")),
        ("{range .items[*]}{.name}{end}", json!("a")),
    ];
    for (path, want) in cases {
        let obs = observe(json!({"url": server.url("/"), "jsonPath": path})).await;
        assert_eq!(obs.result, ResultValue::Json(want.clone()), "{path}");
    }
}

#[tokio::test]
async fn large_integers_are_go_float64() {
    let server = json_server(r#"{"n": 12345678901234567890, "small": 1e-7, "neg": -0}"#).await;
    let obs = observe(json!({"url": server.url("/"), "jsonPath": "{.n}"})).await;
    assert_eq!(obs.value, "12345678901234567000");
    let obs = observe(json!({"url": server.url("/"), "jsonPath": "{.small}"})).await;
    assert_eq!(obs.value, "1e-7");
}

#[tokio::test]
async fn no_match_is_an_error_with_argos_text() {
    let server = json_server(r#"{"data":{"ok":true},"items":[]}"#).await;
    let err = measure_err(json!({"url": server.url("/"), "jsonPath": "{$.data.missing}"})).await;
    assert_eq!(err.message(), "Could not find JSONPath in body: missing is not found");
    assert_eq!(err.kind(), ErrorKind::NoData);

    let err = measure_err(json!({"url": server.url("/"), "jsonPath": "{$.items[0]}"})).await;
    assert_eq!(err.message(), "Could not find JSONPath in body: array index out of bounds: index 0, length 0");

    let err = measure_err(json!({"url": server.url("/"), "jsonPath": "{$.items[*]}"})).await;
    assert_eq!(err.message(), "result of web metric produced no value");
    assert_eq!(err.kind(), ErrorKind::NoData);
}

#[tokio::test]
async fn non_json_body_is_the_raw_string() {
    let server = serve(|_| Response::text(200, "Successful\n")).await;
    // The jsonPath would fail on any document: it is ignored for non-JSON bodies.
    let obs = observe(json!({"url": server.url("/"), "jsonPath": "{$.missing}"})).await;
    assert_eq!(obs.result, ResultValue::String("Successful\n".to_string()));
    assert_eq!(obs.value, "Successful\n");
}

#[tokio::test]
async fn empty_body_is_an_empty_string() {
    let server = serve(|_| Response::text(200, "")).await;
    let obs = observe(json!({"url": server.url("/"), "jsonPath": "{$.x}"})).await;
    assert_eq!(obs.result, ResultValue::String(String::new()));
    assert_eq!(obs.value, "");
}

#[tokio::test]
async fn top_level_json_string_stays_json() {
    let server = json_server(r#""Successful""#).await;
    let obs = observe(json!({"url": server.url("/")})).await;
    assert_eq!(obs.result, ResultValue::Json(json!("Successful")));
    assert_eq!(obs.value, "\"Successful\"");
}

// ---------------------------------------------------------------------------------------
// HTTP failures
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn non_2xx_statuses_map_to_argos_message_and_a_kind() {
    let server = serve(|req| {
        let code = req.path().trim_start_matches('/').parse().unwrap_or(200);
        Response::text(code, "{\"detail\": \"should not appear\"}")
    })
    .await;
    let cases = [
        (404, ErrorKind::Rejected),
        (400, ErrorKind::Rejected),
        (500, ErrorKind::Unavailable),
        (503, ErrorKind::Unavailable),
        (429, ErrorKind::Unavailable),
        (401, ErrorKind::Auth),
        (403, ErrorKind::Auth),
        (304, ErrorKind::Rejected),
    ];
    for (code, kind) in cases {
        let err = measure_err(json!({"url": server.url(&format!("/{code}"))})).await;
        // Argo's message, then the body (augur's addition: issue 4 asks for the body).
        let message = err.message();
        assert!(message.starts_with(&format!("received non 2xx response code: {code}")), "{message}");
        if code != 304 {
            assert!(message.ends_with(r#": {"detail": "should not appear"}"#), "{message}");
        }
        assert_eq!(err.kind(), kind, "{code}");
    }
}

#[tokio::test]
async fn timeout_is_a_timeout() {
    let server = serve(|_| Response { delay: Duration::from_secs(4), ..Response::json("{}") }).await;
    let started = Instant::now();
    let err = measure_err(json!({"url": server.url("/slow"), "timeoutSeconds": 1})).await;
    assert_eq!(err.kind(), ErrorKind::Timeout, "{}", err.message());
    assert!(err.is_transient());
    assert!(err.message().contains("Client.Timeout"), "{}", err.message());
    let elapsed = started.elapsed();
    assert!(elapsed >= Duration::from_millis(900) && elapsed < Duration::from_secs(3), "{elapsed:?}");
}

#[tokio::test]
async fn caller_deadline_is_a_timeout() {
    let server = serve(|_| Response { delay: Duration::from_secs(4), ..Response::json("{}") }).await;
    let provider = build(json!({"url": server.url("/slow")}));
    let ctx = MeasureContext { deadline: Some(Duration::from_millis(300)), ..ctx() };
    let started = Instant::now();
    let err = provider.measure(&ctx).await.expect_err("deadline");
    assert_eq!(err.kind(), ErrorKind::Timeout);
    assert!(started.elapsed() < Duration::from_secs(2));
}

#[tokio::test]
async fn connection_refused_is_transport_without_the_url() {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    drop(listener);
    let err = measure_err(json!({"url": format!("http://{addr}/x?token=s3cr3t")})).await;
    assert_eq!(err.kind(), ErrorKind::Transport, "{}", err.message());
    assert!(err.message().starts_with("Get: "), "{}", err.message());
    assert!(!err.message().contains("s3cr3t"), "{}", err.message());
    assert!(!err.message().contains('\n'));
}

// ---------------------------------------------------------------------------------------
// Requests
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn post_with_a_string_body() {
    let server = serve(|req| {
        if req.method == "POST" && req.body == b"hello=world" && req.header("content-type").is_empty() {
            Response::json(r#"{"ok":true}"#)
        } else {
            Response::text(400, "bad request")
        }
    })
    .await;
    let obs = observe(json!({
        "url": server.url("/judge"),
        "method": "POST",
        "body": "hello=world",
        "jsonPath": "{$.ok}"
    }))
    .await;
    assert_eq!(obs.result, ResultValue::Json(json!(true)));
}

#[tokio::test]
async fn put_with_a_json_body_sets_the_content_type() {
    let server = serve(|req| {
        let body: Value = serde_json::from_slice(&req.body).unwrap_or(Value::Null);
        let ok = req.method == "PUT"
            && req.header("content-type") == ["application/json"]
            && body == json!({"service": "checkout", "window": {"minutes": 5}, "tags": ["a"]});
        if ok { Response::json(r#"{"phase":"Successful"}"#) } else { Response::text(400, "bad request") }
    })
    .await;
    let obs = observe(json!({
        "url": server.url("/judge"),
        "method": "PUT",
        // jsonBody's Content-Type is set after the headers, so it wins.
        "headers": [{"key": "Content-Type", "value": "text/plain"}],
        "jsonBody": {"service": "checkout", "window": {"minutes": 5}, "tags": ["a"]},
        "jsonPath": "{$.phase}"
    }))
    .await;
    assert_eq!(obs.result, ResultValue::Json(json!("Successful")));
}

#[tokio::test]
async fn headers_are_set_last_one_wins() {
    let server = json_server("{}").await;
    observe(json!({
        "url": server.url("/"),
        "headers": [
            {"key": "X-Token", "value": "first"},
            {"key": "x-token", "value": "second"},
            {"key": "X-Other", "value": "o"},
            {"key": "Authorization", "value": "Bearer abc"}
        ]
    }))
    .await;
    let requests = server.requests();
    let req = requests.first().expect("one request");
    assert_eq!(req.header("x-token"), ["second"]);
    assert_eq!(req.header("x-other"), ["o"]);
    assert_eq!(req.header("authorization"), ["Bearer abc"]);
}

#[tokio::test]
async fn oauth2_client_credentials_adds_a_bearer_token() {
    let server = serve(|req| match req.path() {
        "/token" => {
            let body = String::from_utf8_lossy(&req.body).into_owned();
            let expected = "client_id=my-client&client_secret=s%26cret&grant_type=client_credentials&scope=read+write";
            if req.method == "POST"
                && body == expected
                && req.header("content-type") == ["application/x-www-form-urlencoded"]
            {
                Response::json(r#"{"access_token":"tok-123","token_type":"bearer","expires_in":60}"#)
            } else {
                Response::text(400, "bad token request")
            }
        }
        _ if req.header("authorization") == ["Bearer tok-123"] => Response::json(r#"{"ok":1}"#),
        _ => Response::text(401, "no"),
    })
    .await;
    let obs = observe(json!({
        "url": server.url("/data"),
        "jsonPath": "{$.ok}",
        "authentication": {"oauth2": {
            "tokenUrl": server.url("/token"),
            "clientId": "my-client",
            "clientSecret": "s&cret",
            "scopes": ["read", "write"]
        }}
    }))
    .await;
    assert_eq!(obs.value, "1");
    assert_eq!(server.requests().len(), 2);
}

#[tokio::test]
async fn oauth2_token_rejection_is_an_auth_error() {
    let server = serve(|req| match req.path() {
        "/token" => Response::text(401, r#"{"error":"invalid_client"}"#),
        _ => Response::json("{}"),
    })
    .await;
    let err = measure_err(json!({
        "url": server.url("/data"),
        "authentication": {"oauth2": {
            "tokenUrl": server.url("/token"),
            "clientId": "id",
            "clientSecret": "topsecret"
        }}
    }))
    .await;
    assert_eq!(err.kind(), ErrorKind::Auth);
    assert!(err.message().starts_with("oauth2: cannot fetch token: 401"), "{}", err.message());
    assert!(!err.message().contains("topsecret"));
    // The metric endpoint is never called without a token.
    assert_eq!(server.requests().len(), 1);
}

#[tokio::test]
async fn insecure_flag_is_accepted() {
    let server = json_server(r#"{"v": 2}"#).await;
    let provider = build(json!({"url": server.url("/"), "insecure": true, "jsonPath": "{.v}"}));
    assert!(format!("{provider:?}").contains("insecure: true"));
    match provider.measure(&ctx()).await {
        Ok(Outcome::Observed(obs)) => assert_eq!(obs.value, "2"),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn insecure_skips_tls_verification() {
    let server = serve_tls(|_| Response::json(r#"{"v": "tls"}"#)).await;
    let url = format!("https://{}/", server.addr);

    let err = measure_err(json!({"url": url, "jsonPath": "{.v}"})).await;
    assert_eq!(err.kind(), ErrorKind::Transport, "{}", err.message());

    let obs = observe(json!({"url": url, "jsonPath": "{.v}", "insecure": true})).await;
    assert_eq!(obs.result, ResultValue::Json(json!("tls")));
    assert_eq!(server.requests().len(), 1);
}

// ---------------------------------------------------------------------------------------
// Configuration
// ---------------------------------------------------------------------------------------

#[test]
fn argo_validation_messages() {
    assert_eq!(
        build_err(json!({"url": "http://h/", "method": "POST", "body": "x", "jsonBody": {"a": 1}})),
        "use either Body or JSONBody; both cannot exists for WebMetric payload"
    );
    let get_body = "Body/JSONBody can only be used with POST or PUT WebMetric Method types";
    assert_eq!(build_err(json!({"url": "http://h/", "body": "x"})), get_body);
    assert_eq!(build_err(json!({"url": "http://h/", "method": "GET", "jsonBody": [1]})), get_body);
    // An empty body is no body, as in Go.
    build(json!({"url": "http://h/", "body": ""}));
}

#[test]
fn url_and_json_path_errors_name_the_field() {
    let missing = build_err(json!({}));
    assert!(missing.starts_with("url: "), "{missing}");
    let relative = build_err(json!({"url": "/relative/path"}));
    assert!(relative.starts_with("url: "), "{relative}");
    assert_eq!(build_err(json!({"url": "ftp://h/x"})), "url: unsupported protocol scheme \"ftp\"");
    assert_eq!(build_err(json!({"url": "http://h/", "jsonPath": "{$.a"})), "jsonPath: unclosed action");
    assert_eq!(build_err(json!({"url": "http://h/", "jsonPath": "{$.a[x]}"})), "jsonPath: invalid array index x");
    let timeout = build_err(json!({"url": "http://h/", "timeoutSeconds": "ten"}));
    assert!(timeout.starts_with("timeoutSeconds: "), "{timeout}");
    assert_eq!(
        build_err(json!({"url": "http://h/", "headers": [{"key": "bad name", "value": "v"}]})),
        "net/http: invalid header field name \"bad name\""
    );
    let bad_value = build_err(json!({"url": "http://h/", "headers": [{"key": "X", "value": "a\nb"}]}));
    assert_eq!(bad_value, "net/http: invalid header field value for \"X\"");
    assert_eq!(build_err(json!({"url": "http://h/", "method": "GE T"})), "net/http: invalid method \"GE T\"");
}

#[test]
fn defaults_unknown_fields_and_kind() {
    assert_eq!(WebFactory.kind(), "web");
    let p = build(json!({"url": "http://h/", "timeoutSeconds": 0, "unknownField": {"x": 1}, "headers": null}));
    assert_eq!(p.kind(), "web");
    let debug = format!("{p:?}");
    assert!(debug.contains("timeout_secs: 10"), "{debug}");
    assert!(debug.contains("json_path: \"{$}\""), "{debug}");
    assert!(debug.contains("method: \"GET\""), "{debug}");
    let p = build(json!({"url": "http://h/", "timeoutSeconds": -5}));
    assert!(format!("{p:?}").contains("timeout_secs: 10"));
    let p = build(json!({"url": "http://h/", "timeoutSeconds": 3}));
    assert!(format!("{p:?}").contains("timeout_secs: 3"));
}

#[test]
fn debug_output_redacts_secrets() {
    let p = build(json!({
        "url": "https://user:hunter2@judge.example/v?api_key=k3y",
        "headers": [{"key": "Authorization", "value": "Bearer very-secret-token"}],
        "method": "POST",
        "body": "password=body-secret",
        "authentication": {"oauth2": {
            "tokenUrl": "https://idp.example/token",
            "clientId": "client-1",
            "clientSecret": "oauth-secret",
            "scopes": ["s"]
        }}
    }));
    let debug = format!("{p:?}");
    for secret in ["hunter2", "k3y", "very-secret-token", "body-secret", "oauth-secret"] {
        assert!(!debug.contains(secret), "{secret} leaked: {debug}");
    }
    assert!(debug.contains("authorization"), "{debug}");
    assert!(debug.contains("*****"), "{debug}");
    assert!(debug.contains("client-1"), "{debug}");
}

// ---------------------------------------------------------------------------------------
// go_json
// ---------------------------------------------------------------------------------------

#[test]
fn go_json_matches_encoding_json() {
    let cases: Vec<(Value, &str)> = vec![
        (json!(0), "0"),
        (json!(-0.0), "-0"),
        (json!(5), "5"),
        (json!(5.0), "5"),
        (json!(-3), "-3"),
        (json!(1.5), "1.5"),
        (json!(0.1), "0.1"),
        (json!(1e-7), "1e-7"),
        (json!(1.5e-7), "1.5e-7"),
        (json!(1e-10), "1e-10"),
        (json!(-2.5e-9), "-2.5e-9"),
        (json!(0.000001), "0.000001"),
        (json!(0.0000012), "0.0000012"),
        (json!(123456789.0), "123456789"),
        (json!(1e20), "100000000000000000000"),
        (json!(1e21), "1e+21"),
        (json!(1.5e300), "1.5e+300"),
        (json!(-1e21), "-1e+21"),
        (json!(5e-324), "5e-324"),
        (json!(1.7976931348623157e308), "1.7976931348623157e+308"),
        (json!(12345678901234567890u64), "12345678901234567000"),
        (json!(9007199254740993i64), "9007199254740992"),
        (json!(-9223372036854775808i64), "-9223372036854776000"),
        (json!(0.30000000000000004), "0.30000000000000004"),
        (json!(100), "100"),
        (Value::Null, "null"),
        (json!(true), "true"),
        (json!(false), "false"),
        (json!(""), "\"\""),
        (json!("a\"b\\c"), r#""a\"b\\c""#),
        (json!("<a href='x'>&</a>"), r#""\u003ca href='x'\u003e\u0026\u003c/a\u003e""#),
        (json!("\n\r\t\u{8}\u{c}"), r#""\n\r\t\b\f""#),
        (json!("\u{0}\u{1f}\u{7f}"), "\"\\u0000\\u001f\u{7f}\""),
        (json!("\u{2028}\u{2029}"), r#""\u2028\u2029""#),
        (json!("héllo 世界 🎉"), "\"héllo 世界 🎉\""),
        (json!([]), "[]"),
        (json!({}), "{}"),
        (json!([1, "two", null, [3.5]]), r#"[1,"two",null,[3.5]]"#),
        (
            json!({"b": 1, "a": {"d": [true], "c": null}, "B": "x", "_": 0}),
            r#"{"B":"x","_":0,"a":{"c":null,"d":[true]},"b":1}"#,
        ),
        (json!({"<k>": "v"}), r#"{"\u003ck\u003e":"v"}"#),
    ];
    assert!(cases.len() >= 25);
    for (value, want) in &cases {
        assert_eq!(go_json(value), *want, "{value:?}");
    }
}
