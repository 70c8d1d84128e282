//! Crash safety: the real `augur serve` binary is killed with SIGKILL mid-run, several
//! times, and restarted on the same database. Every run must reach the verdict (and
//! the counters) of an uninterrupted control, and no committed measurement may be lost.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::{Value, json};

use crate::support::{http_server, scratch_dir};

/// A server process and its base URL.
struct Process {
    child: Child,
    base: String,
}

impl Process {
    fn start(db: &Path) -> Process {
        let mut child = Command::new(env!("CARGO_BIN_EXE_augur"))
            .args(["serve", "--listen", "127.0.0.1:0", "--db"])
            .arg(db)
            .env("AUGUR_SPREAD", "0s")
            .env("AUGUR_ERROR_RETRY", "150ms")
            .env("AUGUR_LOG", "info")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("augur serve starts");
        let stderr = child.stderr.take().expect("stderr is piped");
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut sent = false;
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if !sent && let Some(rest) = line.split("addr=").nth(1) {
                    let addr = rest.split_whitespace().next().unwrap_or_default().to_string();
                    let _ = tx.send(addr);
                    sent = true;
                }
            }
        });
        let addr = rx.recv_timeout(Duration::from_secs(30)).expect("the server logs its address");
        Process { child, base: format!("http://{addr}") }
    }

    fn kill9(mut self) {
        // Child::kill is SIGKILL on Unix: no shutdown code runs.
        self.child.kill().expect("kill -9");
        let _ = self.child.wait();
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn specs(target: &str) -> Vec<(&'static str, String)> {
    let metric = |path: &str, extra: &str| {
        format!(
            "metrics:\n- name: m\n  interval: 250ms\n{extra}  provider:\n    web:\n      url: {target}{path}\n      jsonPath: \"{{$.rate}}\"\n"
        )
    };
    vec![
        ("successful", metric("/ok", "  count: 8\n  successCondition: result >= 0.99\n")),
        ("failed", metric("/bad", "  count: 8\n  failureLimit: 3\n  successCondition: result >= 0.99\n")),
        (
            "inconclusive",
            metric(
                "/bad",
                "  count: 8\n  inconclusiveLimit: 2\n  successCondition: result >= 0.99\n  failureCondition: result < 0.1\n",
            ),
        ),
        ("error", metric("/error", "  count: 8\n  consecutiveErrorLimit: 5\n  successCondition: result >= 0.99\n")),
        ("mixed-retention", {
            let mut s = metric("/ok", "  count: 12\n  successCondition: result >= 0.99\n");
            s.push_str("measurementRetention:\n- metricName: m\n  limit: 3\n");
            s
        }),
    ]
}

async fn create(c: &reqwest::Client, base: &str, key: &str, spec: &str) -> String {
    let res = c
        .post(format!("{base}/v1/runs"))
        .json(&json!({"spec": spec, "runKey": key}))
        .send()
        .await
        .expect("create reaches the server");
    let v: Value = res.json().await.expect("json");
    v["id"].as_str().unwrap_or_else(|| panic!("created: {v}")).to_string()
}

async fn get(c: &reqwest::Client, base: &str, id: &str) -> Value {
    c.get(format!("{base}/v1/runs/{id}")).send().await.expect("get").json().await.expect("json")
}

async fn wait_all(c: &reqwest::Client, base: &str, ids: &[String]) -> Vec<Value> {
    let mut out = Vec::new();
    for id in ids {
        let deadline = std::time::Instant::now() + Duration::from_secs(60);
        loop {
            let run = get(c, base, id).await;
            let phase = run["phase"].as_str().unwrap_or_default().to_string();
            if ["Successful", "Failed", "Error", "Inconclusive"].contains(&phase.as_str()) {
                out.push(run);
                break;
            }
            assert!(std::time::Instant::now() < deadline, "run {id} did not finish: {run}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    out
}

/// What must match the control: the verdict and every counter.
fn verdict(run: &Value) -> Value {
    let m = &run["metricResults"][0];
    json!({
        "phase": run["phase"], "message": run["message"], "runSummary": run["runSummary"],
        "metric": {
            "phase": m["phase"], "count": m["count"], "successful": m["successful"], "failed": m["failed"],
            "inconclusive": m["inconclusive"], "error": m["error"], "consecutiveError": m["consecutiveError"],
            "measurements": m["measurements"].as_array().map_or(0, Vec::len),
        }
    })
}

/// Independent of the control: the retained history is exactly the last
/// `min(taken, retention)` measurements, in order, none overlapping.
fn check_history(run: &Value, retention: usize) {
    let m = &run["metricResults"][0];
    let taken = usize::try_from(committed(run)).unwrap();
    let ms = m["measurements"].as_array().expect("measurements");
    assert_eq!(ms.len(), taken.min(retention), "retained history of {run}");
    for pair in ms.windows(2) {
        let (a, b) = (&pair[0], &pair[1]);
        assert!(
            a["finishedAt"].as_str().unwrap() <= b["startedAt"].as_str().unwrap(),
            "measurements in order and not overlapping: {a} then {b}"
        );
    }
}

fn committed(run: &Value) -> i64 {
    let m = &run["metricResults"][0];
    m["count"].as_i64().unwrap_or(0) + m["error"].as_i64().unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_mid_run_loses_nothing_and_reaches_the_control_verdicts() {
    let target = http_server();
    let c = reqwest::Client::builder().timeout(Duration::from_secs(90)).build().unwrap();
    let dir = scratch_dir();

    // The control: the same runs, uninterrupted.
    let control_server = Process::start(&dir.join("control.db"));
    let mut control_ids = Vec::new();
    for (name, spec) in specs(&target) {
        control_ids.push(create(&c, &control_server.base, &format!("control-{name}"), &spec).await);
    }
    let control_runs = wait_all(&c, &control_server.base, &control_ids).await;
    for (run, retention) in control_runs.iter().zip([10, 10, 10, 10, 3]) {
        check_history(run, retention);
    }
    let control: Vec<Value> = control_runs.iter().map(verdict).collect();
    drop(control_server);
    assert_eq!(control[0]["phase"], "Successful", "{control:#?}");
    assert_eq!(control[1]["phase"], "Failed", "{control:#?}");
    assert_eq!(control[2]["phase"], "Inconclusive", "{control:#?}");
    assert_eq!(control[3]["phase"], "Error", "{control:#?}");

    // The same runs, with the server killed five times while they run.
    let db = dir.join("crash.db");
    let mut server = Process::start(&db);
    let mut ids = Vec::new();
    for (name, spec) in specs(&target) {
        ids.push(create(&c, &server.base, &format!("crash-{name}"), &spec).await);
    }
    let mut seen = vec![0i64; ids.len()];
    for round in 0..5u64 {
        // Kill at different points of the 250 ms cycle.
        tokio::time::sleep(Duration::from_millis(180 + round * 70)).await;
        for (i, id) in ids.iter().enumerate() {
            let n = committed(&get(&c, &server.base, id).await);
            assert!(n >= seen[i], "round {round}: run {i} went from {} to {n} measurements", seen[i]);
            seen[i] = n;
        }
        server.kill9();
        server = Process::start(&db);
        for (i, id) in ids.iter().enumerate() {
            let n = committed(&get(&c, &server.base, id).await);
            assert!(n >= seen[i], "after restart {round}: run {i} lost measurements ({} → {n})", seen[i]);
            seen[i] = n;
        }
    }
    let after_runs = wait_all(&c, &server.base, &ids).await;
    for (run, retention) in after_runs.iter().zip([10, 10, 10, 10, 3]) {
        check_history(run, retention);
    }
    let after: Vec<Value> = after_runs.iter().map(verdict).collect();
    assert_eq!(after, control, "verdicts and counters after five kill -9s match the uninterrupted control");
    drop(server);
}
