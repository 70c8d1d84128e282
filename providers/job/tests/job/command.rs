//! The command form with real processes: exit status, captured output, timeouts and
//! terminate, and that the process group never outlives the measurement.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant, SystemTime};

use augur_provider_api::{DecidedPhase, ErrorKind, MeasureContext, MetricProvider, Outcome, ProviderFactory};
use augur_provider_job::{JobFactory, Settings, TERMINATED_MESSAGE};
use serde_json::{Value, json};

fn provider(block: Value) -> Arc<dyn MetricProvider> {
    Arc::from(JobFactory::new(Settings::default()).build(&block).expect("valid job block"))
}

fn ctx(deadline: Option<Duration>) -> MeasureContext {
    MeasureContext { now: SystemTime::now(), deadline, measurement_id: "run-1.check.1".to_string() }
}

#[track_caller]
fn decided(outcome: Outcome) -> (DecidedPhase, String, BTreeMap<String, String>) {
    match outcome {
        Outcome::Decided { phase, message, value, metadata } => {
            assert_eq!(value, "", "a job's measurement has no value");
            (phase, message, metadata)
        }
        other => panic!("a job decides its phase, got {other:?}"),
    }
}

/// A fresh directory for one test, removed when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn join(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn temp_dir() -> TempDir {
    static N: AtomicUsize = AtomicUsize::new(0);
    let dir =
        std::env::temp_dir().join(format!("augur-job-{}-{}", std::process::id(), N.fetch_add(1, Ordering::SeqCst)));
    std::fs::create_dir_all(&dir).expect("temp dir");
    TempDir(dir)
}

/// A shell script that starts `sleep 30` in the background, writes its pid to `pidfile`
/// and then runs `then`.
fn background_sleep(pidfile: &Path, then: &str) -> Value {
    json!(["sh", "-c", format!("sleep 30 & echo $! > {}; echo started; {then}", pidfile.display())])
}

async fn read_pid(pidfile: &Path) -> i32 {
    for _ in 0..500 {
        if let Ok(text) = std::fs::read_to_string(pidfile)
            && let Ok(pid) = text.trim().parse()
        {
            return pid;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("{} was never written", pidfile.display());
}

/// True while `pid` is a live process (a zombie waiting to be reaped counts as dead).
fn alive(pid: i32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => stat.rsplit_once(") ").is_some_and(|(_, rest)| !rest.starts_with('Z')),
        Err(_) => false,
    }
}

async fn assert_dies(pid: i32) {
    for _ in 0..200 {
        if !alive(pid) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("process {pid} outlived the measurement");
}

#[tokio::test]
async fn exit_zero_is_successful_with_the_output_in_the_message() {
    let p = provider(json!({"command": ["sh", "-c", "echo hello; echo careful >&2"], "timeout": "30s"}));
    let (phase, message, metadata) = decided(p.measure(&ctx(None)).await.expect("measured"));
    assert_eq!(phase, DecidedPhase::Successful);
    assert!(message.starts_with("command \"sh\" exited with code 0 after "), "{message}");
    assert!(message.ends_with("\nstdout:\nhello\nstderr:\ncareful"), "{message}");
    assert_eq!(metadata, BTreeMap::from([("exit-code".to_string(), "0".to_string())]));
}

#[tokio::test]
async fn a_non_zero_exit_is_failed_with_the_last_lines_of_output() {
    let script = "i=1; while [ $i -le 100 ]; do echo \"out $i\"; i=$((i+1)); done; echo boom >&2; exit 3";
    let p = provider(json!({"command": ["sh", "-c", script]}));
    let (phase, message, metadata) = decided(p.measure(&ctx(None)).await.expect("measured"));
    assert_eq!(phase, DecidedPhase::Failed);
    assert!(message.starts_with("command \"sh\" exited with code 3 after "), "{message}");
    assert!(message.contains("\nstdout (last lines):\nout 81\nout 82\n"), "{message}");
    assert!(message.contains("out 100\nstderr:\nboom"), "{message}");
    assert!(!message.contains("out 80\n"), "{message}");
    assert_eq!(metadata["exit-code"], "3");
}

#[tokio::test]
async fn output_in_the_message_is_size_capped() {
    let p = provider(json!({"command": ["sh", "-c", "head -c 5000000 /dev/zero | tr '\\0' x; exit 1"]}));
    let (phase, message, _) = decided(p.measure(&ctx(None)).await.expect("measured"));
    assert_eq!(phase, DecidedPhase::Failed);
    assert!(message.len() < 2200, "{} bytes", message.len());
    assert!(message.contains("stdout (last lines):\n…xxx"), "{message}");
}

#[tokio::test]
async fn a_timeout_is_an_error_and_kills_the_process_group() {
    let dir = temp_dir();
    let pidfile = dir.join("pid");
    let p = provider(json!({"command": background_sleep(&pidfile, "wait"), "timeout": "500ms"}));
    let started = Instant::now();
    let err = p.measure(&ctx(None)).await.expect_err("timed out");
    assert!(started.elapsed() < Duration::from_secs(5), "took {:?}", started.elapsed());
    assert_eq!(err.kind(), ErrorKind::Timeout);
    assert!(
        err.message().starts_with("command \"sh\" did not finish within 500ms (job.timeout); killed its process group"),
        "{}",
        err.message()
    );
    assert!(err.message().contains("stdout:\nstarted"), "output so far is kept: {}", err.message());
    assert_dies(read_pid(&pidfile).await).await;
}

#[tokio::test]
async fn the_engines_deadline_bounds_a_longer_timeout() {
    let p = provider(json!({"command": ["sleep", "30"], "timeout": "1h"}));
    let started = Instant::now();
    let err = p.measure(&ctx(Some(Duration::from_millis(600)))).await.expect_err("timed out");
    assert!(started.elapsed() < Duration::from_secs(5));
    assert_eq!(err.kind(), ErrorKind::Timeout);
    assert!(err.message().contains("did not finish within 540ms (the measurement deadline)"), "{}", err.message());
}

#[tokio::test]
async fn terminate_kills_the_process_group_and_the_measurement_is_inconclusive() {
    let dir = temp_dir();
    let pidfile = dir.join("pid");
    let p = provider(json!({"command": background_sleep(&pidfile, "wait"), "timeout": "1m"}));
    let measuring = tokio::spawn({
        let p = Arc::clone(&p);
        async move { p.measure(&ctx(None)).await }
    });
    let pid = read_pid(&pidfile).await;
    assert!(alive(pid));
    let started = Instant::now();
    p.terminate(&ctx(None)).await.expect("terminate");
    let (phase, message, _) = decided(measuring.await.expect("no panic").expect("measured"));
    assert!(started.elapsed() < Duration::from_secs(3));
    assert_eq!((phase, message.as_str()), (DecidedPhase::Inconclusive, TERMINATED_MESSAGE));
    assert_dies(pid).await;
}

#[tokio::test]
async fn after_terminate_nothing_is_started() {
    let dir = temp_dir();
    let marker = dir.join("ran");
    let p = provider(json!({"command": ["touch", marker.to_str().expect("utf-8 path")]}));
    p.terminate(&ctx(None)).await.expect("terminate");
    let (phase, message, _) = decided(p.measure(&ctx(None)).await.expect("measured"));
    assert_eq!((phase, message.as_str()), (DecidedPhase::Inconclusive, "Metric Terminated"));
    assert!(!marker.exists());
}

#[tokio::test]
async fn processes_left_behind_by_the_command_are_killed() {
    let dir = temp_dir();
    let pidfile = dir.join("pid");
    let p = provider(json!({"command": background_sleep(&pidfile, "echo done")}));
    let started = Instant::now();
    let (phase, message, _) = decided(p.measure(&ctx(None)).await.expect("measured"));
    assert!(started.elapsed() < Duration::from_secs(3), "did not wait for the background sleep");
    assert_eq!(phase, DecidedPhase::Successful, "{message}");
    assert!(message.contains("stdout:\nstarted\ndone"), "{message}");
    assert_dies(read_pid(&pidfile).await).await;
}

#[tokio::test]
async fn env_and_working_dir_are_applied() {
    let dir = temp_dir();
    let p = provider(json!({
        "command": ["sh", "-c", "echo \"$GREETING from $(pwd)\""],
        "env": {"GREETING": "hi"},
        "workingDir": dir.0.to_str().expect("utf-8 path"),
    }));
    let (phase, message, _) = decided(p.measure(&ctx(None)).await.expect("measured"));
    assert_eq!(phase, DecidedPhase::Successful);
    let real = dir.0.canonicalize().expect("canonical");
    assert!(message.ends_with(&format!("stdout:\nhi from {}", real.display())), "{message}");

    let p = provider(json!({"command": ["env"], "env": {"ONLY": 1}, "inheritEnv": false}));
    let (phase, message, _) = decided(p.measure(&ctx(None)).await.expect("measured"));
    assert_eq!(phase, DecidedPhase::Successful);
    assert!(message.ends_with("stdout:\nONLY=1"), "{message}");
}

#[tokio::test]
async fn arguments_reach_the_program_without_a_shell() {
    let p = provider(json!({"command": ["echo", "$HOME", "a;b", "*"]}));
    let (_, message, _) = decided(p.measure(&ctx(None)).await.expect("measured"));
    assert!(message.ends_with("stdout:\n$HOME a;b *"), "{message}");
}

#[tokio::test]
async fn a_process_killed_by_a_signal_is_failed() {
    let p = provider(json!({"command": ["sh", "-c", "kill -9 $$"]}));
    let (phase, message, metadata) = decided(p.measure(&ctx(None)).await.expect("measured"));
    assert_eq!(phase, DecidedPhase::Failed);
    assert!(message.starts_with("command \"sh\" was killed by signal 9 (SIGKILL) after "), "{message}");
    assert_eq!(metadata["signal"], "9");
}

#[tokio::test]
async fn a_program_that_cannot_start_is_an_actionable_error() {
    let p = provider(json!({"command": ["augur-no-such-program", "x"]}));
    let err = p.measure(&ctx(None)).await.expect_err("not found");
    assert_eq!(err.kind(), ErrorKind::Config);
    assert!(err.message().starts_with("command \"augur-no-such-program\" could not be started: "), "{}", err.message());
    assert!(
        err.message().ends_with("install it, put it on augur's PATH or give an absolute path"),
        "{}",
        err.message()
    );

    let p = provider(json!({"command": ["true"], "workingDir": "/augur/does/not/exist"}));
    let err = p.measure(&ctx(None)).await.expect_err("no such dir");
    assert_eq!(err.kind(), ErrorKind::Config);
    assert!(
        err.message().starts_with("job.workingDir \"/augur/does/not/exist\" cannot be used: "),
        "{}",
        err.message()
    );
}

#[test]
fn invalid_blocks_are_build_errors() {
    let factory = JobFactory::new(Settings::default());
    let cases = [
        (json!({"command": "curl -f http://x"}), "no shell is used"),
        (json!({"command": ["x"], "timeout": "5 minutes"}), "job.timeout: time: unknown unit"),
        (json!({"command": ["x"], "spec": {}}), "cannot both be set"),
        (json!({"command": ["x"], "env": ["A=b"]}), "job.env: expected a map of strings"),
    ];
    for (block, want) in cases {
        match factory.build(&block) {
            Ok(p) => panic!("{block}: expected an error, built {p:?}"),
            Err(e) => assert!(e.0.contains(want), "{block}: {:?} lacks {want:?}", e.0),
        }
    }
}

#[tokio::test]
async fn a_measurement_the_engine_gives_up_on_kills_its_process_group() {
    // The scheduler wraps every measurement in its own timeout and drops it when it fires.
    let dir = temp_dir();
    let pidfile = dir.join("pid");
    let p = provider(json!({"command": background_sleep(&pidfile, "wait"), "timeout": "1m"}));
    let measuring = tokio::spawn({
        let p = Arc::clone(&p);
        async move { p.measure(&ctx(None)).await }
    });
    let pid = read_pid(&pidfile).await;
    measuring.abort();
    assert_dies(pid).await;
}
