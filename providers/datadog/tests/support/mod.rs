//! A local stand-in for the Datadog API on 127.0.0.1 (no Datadog server can be had
//! offline; house rule 26). It answers with the documented response shapes in
//! `tests/fixtures/` and, like Datadog, refuses what Datadog would refuse: wrong keys
//! ⇒ 403 with `{"errors": ["Forbidden"]}`, a v1 query without `from`/`to`/`query` or a
//! v2 body that is not a `scalar_request` ⇒ 400, any other route ⇒ 404. Every request
//! is recorded for the tests to assert on.

#![allow(dead_code, unreachable_pub)]

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, UNIX_EPOCH};

use augur_provider_api::http::form_decode;
use augur_provider_api::{MeasureContext, SecretLookup};
use augur_provider_datadog::{DatadogFactory, DdEnv};
use axum::Router;
use axum::body::Body;
use axum::extract::Request;
use axum::http::HeaderMap;
use axum::response::Response;
use serde_json::Value;
use tokio::net::TcpListener;

/// The API key the fake accepts (Argo's tests use keys of this shape).
pub const API_KEY: &str = "0123456789abcdef0123456789abcdef";
/// The application key the fake accepts.
pub const APP_KEY: &str = "0123456789abcdef0123456789abcdef01234567";
/// The measurement time of every test (2023-11-14T22:43:20Z).
pub const NOW: i64 = 1_700_001_800;

/// The measurement context at [`NOW`].
pub fn ctx() -> MeasureContext {
    ctx_at(NOW)
}

/// A measurement context at `now` (unix seconds).
pub fn ctx_at(now: i64) -> MeasureContext {
    MeasureContext {
        now: UNIX_EPOCH + Duration::from_secs(now.unsigned_abs()),
        deadline: None,
        measurement_id: "run.metric.1".to_string(),
    }
}

/// A fixture's text.
pub fn fixture(name: &str) -> String {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The `DD_*` environment pointing at `url` with the accepted keys.
pub fn env_for(url: &str) -> DdEnv {
    DdEnv::from_vars([
        ("DD_API_KEY".to_string(), API_KEY.to_string()),
        ("DD_APP_KEY".to_string(), APP_KEY.to_string()),
        ("DD_ADDRESS".to_string(), url.to_string()),
    ])
}

/// A factory whose environment points at `url`.
pub fn factory_for(url: &str) -> DatadogFactory {
    DatadogFactory::new(env_for(url))
}

/// A secret source from a literal table `{(name, key): value}`, answering with the
/// engine's messages.
pub struct Table(pub BTreeMap<(String, String), String>);

impl Table {
    /// A table from `(name, key, value)` triples.
    pub fn new(entries: &[(&str, &str, &str)]) -> Table {
        Table(entries.iter().map(|(n, k, v)| ((n.to_string(), k.to_string()), v.to_string())).collect())
    }
}

impl SecretLookup for Table {
    fn secret(&self, name: &str, key: &str) -> Result<String, String> {
        if !self.0.keys().any(|(n, _)| n == name) {
            return Err(format!("secrets \"{name}\" not found"));
        }
        self.0
            .get(&(name.to_string(), key.to_string()))
            .cloned()
            .ok_or_else(|| format!("key '{key}' does not exist in secret '{name}'"))
    }
}

/// One request the fake received.
#[derive(Debug, Clone)]
pub struct Recorded {
    /// `GET`, `POST`.
    pub method: String,
    /// The path.
    pub path: String,
    /// The raw query string.
    pub raw_query: Option<String>,
    /// The decoded query parameters.
    pub params: BTreeMap<String, String>,
    /// The headers.
    pub headers: HeaderMap,
    /// The body.
    pub body: Vec<u8>,
}

impl Recorded {
    /// A header as a string ("" when absent).
    pub fn header(&self, name: &str) -> String {
        self.headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or_default().to_string()
    }

    /// The body as JSON.
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| panic!("body is not JSON ({e}): {:?}", self.body))
    }
}

/// An answer of the fake.
#[derive(Debug, Clone)]
pub struct Reply {
    /// The status.
    pub status: u16,
    /// Extra headers.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: String,
    /// Wait this long before answering.
    pub delay: Duration,
}

impl Reply {
    /// A JSON answer.
    pub fn json(status: u16, body: impl Into<String>) -> Reply {
        Reply { status, headers: Vec::new(), body: body.into(), delay: Duration::ZERO }
    }

    /// A fixture as the answer.
    pub fn fixture(status: u16, name: &str) -> Reply {
        Reply::json(status, fixture(name))
    }

    /// Datadog's documented 429: the error body and the rate-limit headers.
    pub fn rate_limited() -> Reply {
        let mut reply = Reply::fixture(429, "error_429.json");
        for (name, value) in [
            ("X-RateLimit-Limit", "100"),
            ("X-RateLimit-Period", "10"),
            ("X-RateLimit-Remaining", "0"),
            ("X-RateLimit-Reset", "7"),
            ("X-RateLimit-Name", "timeseries_query"),
        ] {
            reply.headers.push((name.to_string(), value.to_string()));
        }
        reply
    }

    /// The same answer after `delay`.
    pub fn after(mut self, delay: Duration) -> Reply {
        self.delay = delay;
        self
    }
}

type Answer = dyn Fn(&Recorded) -> Reply + Send + Sync;

/// A running fake; dropping it stops the server.
pub struct FakeDatadog {
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    recorded: Arc<Mutex<Vec<Recorded>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for FakeDatadog {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl FakeDatadog {
    /// Starts a fake that answers every well-formed, authenticated request with `answer`.
    pub async fn start(answer: impl Fn(&Recorded) -> Reply + Send + Sync + 'static) -> FakeDatadog {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind 127.0.0.1:0");
        let url = format!("http://{}", listener.local_addr().expect("local_addr"));
        let recorded = Arc::new(Mutex::new(Vec::new()));
        let answer: Arc<Answer> = Arc::new(answer);
        let log = Arc::clone(&recorded);
        let app = Router::new().fallback(move |request: Request| {
            let answer = Arc::clone(&answer);
            let log = Arc::clone(&log);
            async move { handle(request, answer.as_ref(), &log).await }
        });
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        FakeDatadog { url, recorded, task }
    }

    /// A fake answering every request with `reply`.
    pub async fn always(reply: Reply) -> FakeDatadog {
        FakeDatadog::start(move |_| reply.clone()).await
    }

    /// Every request so far.
    pub fn requests(&self) -> Vec<Recorded> {
        self.recorded.lock().unwrap_or_else(PoisonError::into_inner).clone()
    }

    /// The only request so far.
    #[track_caller]
    pub fn only_request(&self) -> Recorded {
        let requests = self.requests();
        assert_eq!(requests.len(), 1, "{requests:#?}");
        requests.into_iter().next().expect("one request")
    }
}

async fn handle(request: Request, answer: &Answer, log: &Mutex<Vec<Recorded>>) -> Response {
    let (parts, body) = request.into_parts();
    let body = axum::body::to_bytes(body, usize::MAX).await.map(|b| b.to_vec()).unwrap_or_default();
    let raw_query = parts.uri.query().map(str::to_string);
    let recorded = Recorded {
        method: parts.method.to_string(),
        path: parts.uri.path().to_string(),
        params: raw_query.as_deref().map(form_decode).unwrap_or_default().into_iter().collect(),
        raw_query,
        headers: parts.headers.clone(),
        body,
    };
    log.lock().unwrap_or_else(PoisonError::into_inner).push(recorded.clone());
    let reply = match refusal(&recorded) {
        Some(refused) => refused,
        None => answer(&recorded),
    };
    tokio::time::sleep(reply.delay).await;
    let mut response = Response::builder().status(reply.status).header("content-type", "application/json");
    for (name, value) in &reply.headers {
        response = response.header(name, value);
    }
    response.body(Body::from(reply.body)).unwrap_or_else(|_| Response::new(Body::empty()))
}

/// What Datadog would refuse, with its documented error bodies.
fn refusal(request: &Recorded) -> Option<Reply> {
    if request.header("dd-api-key") != API_KEY || request.header("dd-application-key") != APP_KEY {
        return Some(Reply::fixture(403, "error_403.json"));
    }
    let is_int = |v: Option<&Value>| v.is_some_and(|v| v.is_i64());
    match (request.method.as_str(), request.path.as_str()) {
        ("GET", "/api/v1/query") => {
            let int_param = |name: &str| request.params.get(name).is_some_and(|v| v.parse::<i64>().is_ok());
            let ok = int_param("from") && int_param("to") && request.params.contains_key("query");
            (!ok).then(|| Reply::fixture(400, "error_400.json"))
        }
        ("POST", "/api/v2/query/scalar") => {
            let Ok(body) = serde_json::from_slice::<Value>(&request.body) else {
                return Some(Reply::fixture(400, "error_400.json"));
            };
            let attributes = &body["data"]["attributes"];
            let queries = attributes["queries"].as_array();
            let query_ok = |q: &Value| {
                q["data_source"] == "metrics"
                    && q["name"].is_string()
                    && q["query"].is_string()
                    && q["aggregator"].is_string()
            };
            let ok = body["data"]["type"] == "scalar_request"
                && is_int(attributes.get("from"))
                && is_int(attributes.get("to"))
                && queries.is_some_and(|q| !q.is_empty() && q.iter().all(query_ok))
                && attributes["formulas"].is_array();
            (!ok).then(|| Reply::fixture(400, "error_400.json"))
        }
        _ => Some(Reply::json(404, r#"{"errors": ["Not found"]}"#)),
    }
}
