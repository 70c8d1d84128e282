//! Test support: moto_server children, data loading through the SDK, a loopback fault
//! server, and measurement helpers.

use std::fs::File;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant, UNIX_EPOCH};

use augur_provider_api::{MeasureContext, Observation, Outcome, ProviderError, ProviderFactory};
use augur_provider_cloudwatch::{ClientOptions, CloudWatchFactory, StaticCredentials};
use aws_sdk_cloudwatch::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_cloudwatch::primitives::DateTime;
use aws_sdk_cloudwatch::types::{Dimension, MetricDatum, StandardUnit};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// The moto version `scripts/test.sh` installs.
pub(crate) const MOTO_VERSION: &str = "5.2.1";

/// 2023-11-14T22:13:20Z: the first point of every fixture series.
pub(crate) const T0: i64 = 1_700_000_000;

/// A moto_server child on 127.0.0.1; killed when dropped.
pub(crate) struct Moto {
    child: Child,
    log: PathBuf,
    /// `http://127.0.0.1:<port>`.
    pub(crate) endpoint: String,
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_file(&self.log);
    }
}

/// A port nobody listens on right now.
pub(crate) fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    listener.local_addr().expect("local addr").port()
}

/// Starts `moto_server -H 127.0.0.1 -p <free port>` with `env` added to its environment
/// (and to nothing else), and waits until it answers HTTP. Fails, never skips, when
/// moto_server is missing.
pub(crate) fn start_moto(env: &[(&str, &str)]) -> Moto {
    let port = free_port();
    let log = std::env::temp_dir().join(format!("augur-cloudwatch-moto-{}-{port}.log", std::process::id()));
    let out = File::create(&log).expect("create the moto log file");
    let err = out.try_clone().expect("clone the moto log file");
    let mut cmd = Command::new("moto_server");
    cmd.args(["-H", "127.0.0.1", "-p", &port.to_string()])
        .stdin(Stdio::null())
        .stdout(Stdio::from(out))
        .stderr(Stdio::from(err));
    for (key, value) in env {
        cmd.env(key, value);
    }
    let child = match cmd.spawn() {
        Ok(child) => child,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => panic!(
            "moto_server is not on PATH. The CloudWatch tests need moto's server: run ./scripts/test.sh \
             (it installs it), or `pip install 'moto[server]=={MOTO_VERSION}'`"
        ),
        Err(e) => panic!("cannot start moto_server: {e}"),
    };
    let mut moto = Moto { child, log, endpoint: format!("http://127.0.0.1:{port}") };
    moto.wait_ready(port);
    moto
}

impl Moto {
    fn wait_ready(&mut self, port: u16) {
        let started = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().expect("poll moto_server") {
                panic!("moto_server exited before answering ({status}); its output:\n{}", self.output());
            }
            if answers_http(port) {
                return;
            }
            if started.elapsed() > Duration::from_secs(60) {
                panic!("moto_server did not answer on port {port} within 60 s; its output:\n{}", self.output());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn output(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

fn answers_http(port: u16) -> bool {
    let Ok(mut stream) = TcpStream::connect(("127.0.0.1", port)) else { return false };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
    if stream.write_all(b"GET /moto-api/ HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n").is_err() {
        return false;
    }
    let mut head = [0u8; 12];
    stream.read_exact(&mut head).is_ok() && head.starts_with(b"HTTP/1.")
}

/// The fake static credentials every test uses.
pub(crate) fn test_credentials() -> StaticCredentials {
    StaticCredentials {
        access_key_id: "testing".to_string(),
        secret_access_key: "testing".to_string(),
        session_token: None,
    }
}

/// A factory on `endpoint` with explicit region and credentials (no environment).
pub(crate) fn factory(endpoint: &str) -> CloudWatchFactory {
    factory_with(ClientOptions { endpoint_url: Some(endpoint.to_string()), ..ClientOptions::default() })
}

/// Like [`factory`], with other options; region and credentials are filled in.
pub(crate) fn factory_with(options: ClientOptions) -> CloudWatchFactory {
    CloudWatchFactory::new(ClientOptions {
        region: Some("us-east-1".to_string()),
        credentials: Some(test_credentials()),
        ..options
    })
}

/// A measurement context at `now` (Unix seconds).
pub(crate) fn ctx(now_secs: i64) -> MeasureContext {
    let now = UNIX_EPOCH + Duration::from_secs(u64::try_from(now_secs).expect("a time after 1970"));
    MeasureContext { now, deadline: None, measurement_id: "run.metric.1".to_string() }
}

/// Builds `config` with `factory` and takes one measurement at `ctx`.
pub(crate) async fn measure_at(
    factory: &CloudWatchFactory,
    config: serde_json::Value,
    ctx: &MeasureContext,
) -> Result<Observation, ProviderError> {
    let provider = factory.build(&config).expect("a valid cloudWatch block");
    match provider.measure(ctx).await? {
        Outcome::Observed(observation) => Ok(observation),
        other => panic!("a CloudWatch measurement is always observed, got {other:?}"),
    }
}

/// [`measure_at`] at `now_secs`.
pub(crate) async fn measure(
    factory: &CloudWatchFactory,
    config: serde_json::Value,
    now_secs: i64,
) -> Result<Observation, ProviderError> {
    measure_at(factory, config, &ctx(now_secs)).await
}

/// A raw SDK client for loading data into moto.
fn sdk_client(endpoint: &str) -> aws_sdk_cloudwatch::Client {
    let config = aws_sdk_cloudwatch::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("testing", "testing", None, None, "tests"))
        .endpoint_url(endpoint)
        .build();
    aws_sdk_cloudwatch::Client::from_conf(config)
}

/// PutMetricData: one datum (unit `Count`) per `(unix seconds, value)` point.
pub(crate) async fn put_points(
    endpoint: &str,
    namespace: &str,
    metric_name: &str,
    dimensions: &[(&str, &str)],
    points: &[(i64, f64)],
) {
    let data: Vec<MetricDatum> = points
        .iter()
        .map(|(t, v)| {
            MetricDatum::builder()
                .metric_name(metric_name)
                .set_dimensions(Some(
                    dimensions.iter().map(|(n, v)| Dimension::builder().name(*n).value(*v).build()).collect(),
                ))
                .timestamp(DateTime::from_secs(*t))
                .value(*v)
                .unit(StandardUnit::Count)
                .build()
        })
        .collect();
    sdk_client(endpoint)
        .put_metric_data()
        .namespace(namespace)
        .set_metric_data(Some(data))
        .send()
        .await
        .unwrap_or_else(|e| {
            panic!("PutMetricData to moto failed: {}", aws_sdk_cloudwatch::error::DisplayErrorContext(e))
        });
}

/// The fixture: `Demo/ErrorRate` with `Service=canary` = 100, 101, …, 109 and
/// `Service=stable` = 1, 2, …, 10, one point a minute from [`T0`].
pub(crate) async fn load_fixture(endpoint: &str) {
    let canary: Vec<(i64, f64)> = (0..10).map(|i| (T0 + 60 * i, 100.0 + i as f64)).collect();
    let stable: Vec<(i64, f64)> = (0..10).map(|i| (T0 + 60 * i, 1.0 + i as f64)).collect();
    put_points(endpoint, "Demo", "ErrorRate", &[("Service", "canary")], &canary).await;
    put_points(endpoint, "Demo", "ErrorRate", &[("Service", "stable")], &stable).await;
}

/// A `metricStat` query on the fixture.
pub(crate) fn stat_query(id: &str, service: &str, period: i64, stat: &str) -> serde_json::Value {
    serde_json::json!({
        "id": id,
        "metricStat": {
            "metric": {
                "namespace": "Demo",
                "metricName": "ErrorRate",
                "dimensions": [{"name": "Service", "value": service}]
            },
            "period": period,
            "stat": stat
        }
    })
}

/// `Unix seconds` as the RFC 3339 string the result carries.
pub(crate) fn rfc3339(secs: i64) -> String {
    DateTime::from_secs(secs).fmt(aws_sdk_cloudwatch::primitives::DateTimeFormat::DateTime).expect("formats")
}

// ---------------------------------------------------------------------------------------
// A loopback fault server
// ---------------------------------------------------------------------------------------

/// What the fault server does with every request.
#[derive(Clone)]
pub(crate) enum Fault {
    /// Answer with this status, `Content-Type: text/xml` and body.
    Respond(u16, String),
    /// Read the request and never answer.
    Silent,
}

/// A loopback HTTP server that answers every request the same way and counts them.
pub(crate) struct FaultServer {
    pub(crate) endpoint: String,
    requests: Arc<AtomicUsize>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for FaultServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl FaultServer {
    pub(crate) async fn start(fault: Fault) -> FaultServer {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind 127.0.0.1:0");
        let endpoint = format!("http://{}", listener.local_addr().expect("local addr"));
        let requests = Arc::new(AtomicUsize::new(0));
        let counter = Arc::clone(&requests);
        let task = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else { return };
                let fault = fault.clone();
                let counter = Arc::clone(&counter);
                tokio::spawn(async move { serve(stream, fault, counter).await });
            }
        });
        FaultServer { endpoint, requests, task }
    }

    pub(crate) fn requests(&self) -> usize {
        self.requests.load(Ordering::SeqCst)
    }
}

async fn serve(mut stream: tokio::net::TcpStream, fault: Fault, counter: Arc<AtomicUsize>) {
    loop {
        // Read one request: headers, then Content-Length bytes of body.
        let mut buf = Vec::new();
        let mut chunk = [0u8; 4096];
        let header_end = loop {
            if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                break i + 4;
            }
            match stream.read(&mut chunk).await {
                Ok(0) | Err(_) => return,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
            }
        };
        let head = String::from_utf8_lossy(&buf[..header_end]).to_ascii_lowercase();
        let length: usize = head
            .lines()
            .find_map(|l| l.strip_prefix("content-length:"))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(0);
        while buf.len() < header_end + length {
            match stream.read(&mut chunk).await {
                Ok(0) | Err(_) => return,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
            }
        }
        counter.fetch_add(1, Ordering::SeqCst);
        match &fault {
            Fault::Silent => {
                tokio::time::sleep(Duration::from_secs(3600)).await;
                return;
            }
            Fault::Respond(status, body) => {
                let response = format!(
                    "HTTP/1.1 {status} X\r\nContent-Type: text/xml\r\nContent-Length: {}\r\nx-amzn-RequestId: req-1234\r\n\r\n{body}",
                    body.len()
                );
                if stream.write_all(response.as_bytes()).await.is_err() {
                    return;
                }
            }
        }
    }
}

/// An awsQuery error document.
pub(crate) fn query_error(code: &str, message: &str) -> String {
    format!(
        "<ErrorResponse xmlns=\"http://monitoring.amazonaws.com/doc/2010-08-01/\"><Error><Type>Sender</Type>\
         <Code>{code}</Code><Message>{message}</Message></Error><RequestId>req-1234</RequestId></ErrorResponse>"
    )
}
