//! Test helpers.
#![allow(unreachable_pub)]

use std::path::PathBuf;
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};

use axum::Router;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, post};

pub mod prometheus;
pub mod sigv4;

/// A scratch directory unique to this test process and call.
pub fn scratch_dir() -> PathBuf {
    static N: AtomicUsize = AtomicUsize::new(0);
    let dir =
        std::env::temp_dir().join(format!("augur-test-{}-{}", std::process::id(), N.fetch_add(1, Ordering::SeqCst)));
    std::fs::create_dir_all(&dir).expect("create scratch dir");
    dir
}

/// Writes `text` to a new file in a scratch directory.
pub fn write_file(name: &str, text: &str) -> PathBuf {
    let path = scratch_dir().join(name);
    std::fs::write(&path, text).expect("write test file");
    path
}

/// The output of one `augur` invocation.
pub struct Output {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Output {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| panic!("stdout is not JSON ({e}): {}", self.stdout))
    }
}

/// Runs the built `augur` binary.
pub fn augur(args: &[&str]) -> Output {
    augur_env(args, &[])
}

/// Runs the built `augur` binary with `envs` added to its environment (only).
pub fn augur_env(args: &[&str], envs: &[(&str, &str)]) -> Output {
    let out =
        Command::new(env!("CARGO_BIN_EXE_augur")).args(args).envs(envs.iter().copied()).output().expect("run augur");
    Output {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// Runs the built `augur` binary with only `envs` and `PATH` in its environment (no
/// `HOME`, no `AWS_*` of the test process): for tests of credential chains.
pub fn augur_clean_env(args: &[&str], envs: &[(&str, &str)]) -> Output {
    let out = Command::new(env!("CARGO_BIN_EXE_augur"))
        .args(args)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .envs(envs.iter().copied())
        .output()
        .expect("run augur");
    Output {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// A real HTTP server on 127.0.0.1:0, running on its own thread; returns its base URL.
///
/// Routes: `/ok` `{"status":"ok","rate":0.995,"items":[{"v":1},{"v":2}]}`, `/bad`
/// `{"rate":0.5}`, `/error` 500, `/text` a plain-text body, `/secure` 200 only with
/// `Authorization: Bearer s3cr3t-token`, `/echo` (POST) echoes the JSON body, `/slow`
/// answers like `/ok`'s rate after 300 ms.
pub fn http_server() -> String {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
        rt.block_on(async move {
            let app = Router::new()
                .route("/ok", get(|| async { r#"{"status":"ok","rate":0.995,"items":[{"v":1},{"v":2}]}"# }))
                .route("/bad", get(|| async { r#"{"rate":0.5}"# }))
                .route("/error", get(|| async { (StatusCode::INTERNAL_SERVER_ERROR, "boom") }))
                .route("/text", get(|| async { "plain text" }))
                .route(
                    "/secure",
                    get(|h: HeaderMap| async move {
                        match h.get("authorization").and_then(|v| v.to_str().ok()) {
                            Some("Bearer s3cr3t-token") => (StatusCode::OK, r#"{"ok":true}"#),
                            _ => (StatusCode::UNAUTHORIZED, r#"{"ok":false}"#),
                        }
                    }),
                )
                .route("/echo", post(|body: String| async move { body }))
                .route(
                    "/slow",
                    get(|| async {
                        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
                        r#"{"rate":0.995}"#
                    }),
                );
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
            tx.send(listener.local_addr().expect("addr")).expect("send addr");
            axum::serve(listener, app).await.expect("serve");
        });
    });
    let addr = rx.recv().expect("server address");
    format!("http://{addr}")
}

/// An augur server running in this process on 127.0.0.1:0, over a real SQLite file
/// (or in memory). Dropping it shuts it down.
pub struct Augur {
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    done: Option<tokio::task::JoinHandle<()>>,
}

impl Augur {
    /// Starts a server; `db` None keeps state in memory. No per-run offset, so tests do
    /// not wait for it.
    pub async fn start(db: Option<&std::path::Path>) -> Augur {
        Augur::start_with(db, |_| {}).await
    }

    /// Starts a server after `tune` adjusts the test configuration.
    pub async fn start_with(db: Option<&std::path::Path>, tune: impl FnOnce(&mut augur::config::RawConfig)) -> Augur {
        let mut raw = augur::config::RawConfig {
            listen: Some("127.0.0.1:0".into()),
            db: Some(db.map_or(":memory:".to_string(), |p| p.display().to_string())),
            spread: Some("0s".into()),
            shutdown_grace: Some("2s".into()),
            body_limit_bytes: Some(64 * 1024),
            ..Default::default()
        };
        tune(&mut raw);
        let config = augur::config::Config::from_raw(&raw).expect("test config is valid");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let base = format!("http://{}", listener.local_addr().expect("addr"));
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let done = tokio::spawn(async move {
            augur::app::serve(config, listener, async {
                let _ = stopped.await;
            })
            .await
            .expect("server runs");
        });
        Augur { base, stop: Some(stop), done: Some(done) }
    }

    /// Graceful shutdown, waiting until the store is closed.
    pub async fn stop(mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        if let Some(d) = self.done.take() {
            let _ = d.await;
        }
    }

    /// A URL on this server.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }
}

impl Drop for Augur {
    fn drop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
    }
}
