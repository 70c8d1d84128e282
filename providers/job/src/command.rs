//! augur's `command` form: one local process per measurement, for CI without a cluster.
//!
//! The process is started directly (no shell unless the command names one) in a process
//! group of its own, with stdin closed and stdout/stderr captured. The measurement owns
//! that group: when the command exits, times out or is terminated, whatever is left of
//! the group is killed, so a check never leaves processes behind. The phase follows the
//! exit status, like a Kubernetes Job's: 0 ⇒ Successful, anything else ⇒ Failed.

use std::collections::BTreeMap;
use std::process::{ExitStatus, Stdio};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use augur_provider_api::{DecidedPhase, ErrorKind, Outcome, ProviderError};
use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::process::Command;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::config::CommandConfig;
use crate::output::{Tail, go_duration, section};
use crate::{Bound, decided, sleep_for, terminated_outcome, wait_terminated};

/// How long output is still read once the process group is gone. Only a process that
/// left the group (a daemon) can hold the pipes open longer; its output is not waited for.
const OUTPUT_GRACE: Duration = Duration::from_millis(500);

/// Runs the command once and turns its exit into an outcome.
pub(crate) async fn run(
    cfg: &CommandConfig,
    bound: Option<Bound>,
    mut terminated: watch::Receiver<bool>,
) -> Result<Outcome, ProviderError> {
    if *terminated.borrow() {
        return Ok(terminated_outcome(BTreeMap::new()));
    }
    let program = &cfg.argv[0];
    if let Some(dir) = &cfg.working_dir {
        match std::fs::metadata(dir) {
            Ok(m) if m.is_dir() => {}
            Ok(_) => {
                return Err(ProviderError::new(
                    ErrorKind::Config,
                    format!("job.workingDir {:?} is not a directory", dir.display()),
                ));
            }
            Err(e) => {
                return Err(ProviderError::new(
                    ErrorKind::Config,
                    format!("job.workingDir {:?} cannot be used: {e}", dir.display()),
                ));
            }
        }
    }

    let mut cmd = Command::new(program);
    cmd.args(&cfg.argv[1..]);
    if !cfg.inherit_env {
        cmd.env_clear();
    }
    cmd.envs(&cfg.env);
    if let Some(dir) = &cfg.working_dir {
        cmd.current_dir(dir);
    }
    cmd.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped()).kill_on_drop(true);
    #[cfg(unix)]
    cmd.process_group(0);

    let started = Instant::now();
    let mut child = cmd.spawn().map_err(|e| spawn_error(program, &e))?;
    // From here on, every way out of this function (a return, a panic, the engine
    // dropping the measurement at its deadline) kills the whole group.
    let group = ProcessGroup(child.id());
    tracing::debug!(message = "Command started.", program = %program, pid = ?child.id());
    let (stdout, stdout_reader) = capture(child.stdout.take());
    let (stderr, stderr_reader) = capture(child.stderr.take());

    let end = tokio::select! {
        status = child.wait() => End::Exited(status),
        () = sleep_for(bound.map(|b| b.limit)) => End::TimedOut,
        () = wait_terminated(&mut terminated) => End::Terminated,
    };
    let elapsed = started.elapsed();
    group.kill();
    if !matches!(end, End::Exited(_)) {
        // The group kill reached the child too; reap it.
        let _ = child.start_kill();
        let _ = child.wait().await;
    }
    for reader in [stdout_reader, stderr_reader].into_iter().flatten() {
        let abort = reader.abort_handle();
        if tokio::time::timeout(OUTPUT_GRACE, reader).await.is_err() {
            abort.abort();
        }
    }
    let output = [section("stdout", snapshot(&stdout).render()), section("stderr", snapshot(&stderr).render())];
    let with_output = |summary: String| {
        let mut parts = vec![summary];
        parts.extend(output.iter().flatten().cloned());
        parts.join("\n")
    };

    match end {
        End::Terminated => {
            tracing::info!(message = "Command terminated.", program = %program);
            Ok(terminated_outcome(BTreeMap::new()))
        }
        End::TimedOut => {
            let bound = bound.map_or_else(String::new, |b| format!("{} ({})", go_duration(b.limit), b.source));
            Err(ProviderError::new(
                ErrorKind::Timeout,
                with_output(format!("command {program:?} did not finish within {bound}; killed its process group")),
            ))
        }
        End::Exited(Err(e)) => Err(ProviderError::new(
            ErrorKind::Transport,
            with_output(format!("command {program:?}: cannot wait for the process: {e}")),
        )),
        End::Exited(Ok(status)) => {
            // Millisecond precision reads better than Go's full nanoseconds (`24.311329ms`).
            let after = go_duration(Duration::from_millis(u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX)));
            let mut metadata = BTreeMap::new();
            let (phase, summary) = match (status.code(), signal(status)) {
                (Some(0), _) => {
                    metadata.insert("exit-code".to_string(), "0".to_string());
                    (DecidedPhase::Successful, format!("command {program:?} exited with code 0 after {after}"))
                }
                (Some(code), _) => {
                    metadata.insert("exit-code".to_string(), code.to_string());
                    (DecidedPhase::Failed, format!("command {program:?} exited with code {code} after {after}"))
                }
                (None, Some(sig)) => {
                    metadata.insert("signal".to_string(), sig.to_string());
                    (
                        DecidedPhase::Failed,
                        format!("command {program:?} was killed by signal {sig}{} after {after}", signal_name(sig)),
                    )
                }
                (None, None) => (DecidedPhase::Failed, format!("command {program:?} ended without an exit code")),
            };
            Ok(decided(phase, with_output(summary), metadata))
        }
    }
}

/// How the wait for the process ended.
enum End {
    Exited(std::io::Result<ExitStatus>),
    TimedOut,
    Terminated,
}

/// The process group led by the command (its pid is the group id). Killing it kills the
/// command and everything it started that did not leave the group.
struct ProcessGroup(Option<u32>);

impl ProcessGroup {
    fn kill(&self) {
        #[cfg(unix)]
        if let Some(pid) = self.0.and_then(|p| i32::try_from(p).ok()).and_then(rustix::process::Pid::from_raw) {
            // ESRCH (the group is already gone) is the normal case after a clean exit.
            let _ = rustix::process::kill_process_group(pid, rustix::process::Signal::KILL);
        }
    }
}

impl Drop for ProcessGroup {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Reads a stream to its end into a shared tail, so a partial tail is available even
/// when the reader has to be abandoned.
fn capture<R>(stream: Option<R>) -> (Arc<Mutex<Tail>>, Option<JoinHandle<()>>)
where
    R: AsyncRead + Unpin + Send + 'static,
{
    let tail = Arc::new(Mutex::new(Tail::default()));
    let reader = stream.map(|mut stream| {
        let tail = Arc::clone(&tail);
        tokio::spawn(async move {
            let mut buf = vec![0u8; 8192];
            loop {
                match stream.read(&mut buf).await {
                    Ok(0) | Err(_) => break,
                    Ok(n) => tail.lock().unwrap_or_else(PoisonError::into_inner).push(&buf[..n]),
                }
            }
        })
    });
    (tail, reader)
}

fn snapshot(tail: &Mutex<Tail>) -> Tail {
    tail.lock().unwrap_or_else(PoisonError::into_inner).clone()
}

/// An actionable message for a process that could not be started.
fn spawn_error(program: &str, e: &std::io::Error) -> ProviderError {
    let hint = match e.kind() {
        std::io::ErrorKind::NotFound => "; install it, put it on augur's PATH or give an absolute path",
        std::io::ErrorKind::PermissionDenied => "; is it executable (chmod +x)?",
        _ => "",
    };
    ProviderError::new(ErrorKind::Config, format!("command {program:?} could not be started: {e}{hint}"))
}

#[cfg(unix)]
fn signal(status: ExitStatus) -> Option<i32> {
    use std::os::unix::process::ExitStatusExt;
    status.signal()
}

#[cfg(not(unix))]
fn signal(_status: ExitStatus) -> Option<i32> {
    None
}

fn signal_name(sig: i32) -> &'static str {
    match sig {
        1 => " (SIGHUP)",
        2 => " (SIGINT)",
        3 => " (SIGQUIT)",
        6 => " (SIGABRT)",
        9 => " (SIGKILL)",
        11 => " (SIGSEGV)",
        13 => " (SIGPIPE)",
        15 => " (SIGTERM)",
        _ => "",
    }
}
