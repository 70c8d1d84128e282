//! `sigv4_verify.py` (next to this file) as a child process: a stand-in for Amazon
//! Managed Prometheus that recomputes every AWS Signature Version 4 with botocore and
//! forwards verified queries to a real Prometheus (and answers STS `AssumeRole`).
//! botocore comes with moto, which `./scripts/test.sh` installs; a missing `python3` or
//! botocore fails the test with that instruction, never skips it.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// An access key id, its secret and an optional session token.
#[derive(Debug, Clone, Copy)]
pub struct Key<'a> {
    pub id: &'a str,
    pub secret: &'a str,
    pub token: Option<&'a str>,
}

impl Key<'_> {
    fn arg(&self) -> String {
        format!("{}:{}:{}", self.id, self.secret, self.token.unwrap_or_default())
    }
}

/// A running verifier; killed (by its own handle) when dropped, and it exits by itself
/// when the test binary does (its stdin closes).
pub struct Verifier {
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    child: Child,
}

impl Drop for Verifier {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Verifier {
    /// Starts a verifier accepting `keys` for service `aps` in `region`, forwarding to
    /// `upstream`; `assume_role` is what its STS `AssumeRole` hands out (then accepted too).
    pub fn start(upstream: &str, region: &str, keys: &[Key<'_>], assume_role: Option<Key<'_>>) -> Verifier {
        let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/support/sigv4_verify.py");
        let mut command = Command::new("python3");
        command.arg(&script).args(["--region", region, "--upstream", upstream]);
        for key in keys {
            command.args(["--key", &key.arg()]);
        }
        if let Some(key) = assume_role {
            command.args(["--assume-role", &key.arg()]);
        }
        let mut child =
            command.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::inherit()).spawn().unwrap_or_else(|e| {
                panic!("cannot run python3 ({e}); ./scripts/test.sh installs it with moto (botocore)")
            });
        let mut line = String::new();
        let stdout = child.stdout.take().expect("piped stdout");
        let _ = BufReader::new(stdout).read_line(&mut line);
        let Ok(port) = line.trim().parse::<u16>() else {
            let _ = child.kill();
            panic!(
                "sigv4_verify.py did not start (its stderr is above); it needs botocore, which ./scripts/test.sh \
                 installs with moto[server]"
            );
        };
        Verifier { url: format!("http://127.0.0.1:{port}"), child }
    }

    /// An Amazon-Managed-Prometheus-like address on this verifier: it contains
    /// `aps-workspaces`, so augur signs its requests.
    pub fn workspace(&self) -> String {
        format!("{}/aps-workspaces/workspaces/ws-test", self.url)
    }

    /// What the verifier checked so far (`service`, `verdict`, `access_key`, …).
    pub fn log(&self) -> Vec<serde_json::Value> {
        let port = self.url.rsplit(':').next().and_then(|p| p.parse::<u16>().ok()).expect("port");
        let mut stream = TcpStream::connect(("127.0.0.1", port)).expect("connect to the verifier");
        stream.set_read_timeout(Some(Duration::from_secs(10))).expect("timeout");
        stream
            .write_all(b"GET /_verifier/log HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")
            .expect("ask the verifier for its log");
        let mut answer = String::new();
        stream.read_to_string(&mut answer).expect("read the log");
        let body = answer.split_once("\r\n\r\n").map(|(_, b)| b).unwrap_or_default();
        serde_json::from_str(body).unwrap_or_else(|e| panic!("the verifier's log is not JSON ({e}): {answer}"))
    }
}
