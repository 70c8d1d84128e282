//! Client commands against a running server (`augur get run`, `list runs`, `watch`,
//! `terminate`, `template …`), over the HTTP/JSON API.
//!
//! Exit codes: 0 success; for `watch`, the verdict's code (0 Successful, 1 Failed,
//! 2 Inconclusive, 3 Error); 65 when the server rejects the request (its one-line error
//! is printed); 69 when the server cannot be reached.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Subcommand, ValueEnum};
use serde_json::Value;

use crate::cli::Exit;
use crate::model::Phase;

/// The server rejected the request (sysexits' EX_DATAERR).
pub const EXIT_REJECTED: i32 = 65;
/// The server could not be reached (sysexits' EX_UNAVAILABLE).
pub const EXIT_UNREACHABLE: i32 = 69;

/// Where the server is.
#[derive(Debug, Clone, Args)]
pub struct ServerArgs {
    /// The server's base URL.
    #[arg(long, env = "AUGUR_SERVER", default_value = "http://127.0.0.1:8080", global = true)]
    server: String,
    /// Output format.
    #[arg(short, long, value_enum, default_value = "text", global = true)]
    output: Format,
}

/// Output format of client commands.
#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum Format {
    /// Human-readable.
    Text,
    /// The server's JSON.
    Json,
}

/// `augur get …`.
#[derive(Debug, Subcommand)]
pub enum GetWhat {
    /// One run.
    Run {
        /// The run's id.
        id: String,
    },
}

/// `augur list …`.
#[derive(Debug, Subcommand)]
pub enum ListWhat {
    /// Runs, newest first.
    Runs {
        /// Only these phases (repeatable).
        #[arg(long)]
        phase: Vec<String>,
        /// Only runs using this template.
        #[arg(long)]
        template: Option<String>,
        /// Only runs with these labels, `k=v,k2=v2`.
        #[arg(short = 'l', long = "selector")]
        selector: Option<String>,
        /// Page size.
        #[arg(long, default_value = "100")]
        limit: usize,
    },
}

/// `augur template …`.
#[derive(Debug, Subcommand)]
pub enum TemplateAction {
    /// Create or replace a template from a file.
    Put {
        /// `NAMESPACE/NAME` (`_cluster/NAME` for a ClusterAnalysisTemplate).
        target: String,
        /// The template file (YAML or JSON).
        #[arg(short = 'f', long = "file")]
        file: PathBuf,
    },
    /// Show a template.
    Get {
        /// `NAMESPACE/NAME`.
        target: String,
    },
    /// List templates.
    List {
        /// Only this namespace.
        namespace: Option<String>,
    },
    /// Delete a template.
    Delete {
        /// `NAMESPACE/NAME`.
        target: String,
    },
}

struct Client {
    base: String,
    http: reqwest::Client,
    runtime: tokio::runtime::Runtime,
}

impl Client {
    fn new(server: &ServerArgs) -> Result<Client, Exit> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| Exit(1, format!("cannot start the runtime: {e}")))?;
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(5))
            .build()
            .map_err(|e| Exit(1, format!("cannot build an HTTP client: {e}")))?;
        Ok(Client { base: server.server.trim_end_matches('/').to_string(), http, runtime })
    }

    fn send(&self, req: reqwest::RequestBuilder) -> Result<(u16, Value), Exit> {
        self.runtime.block_on(async {
            let res = req.send().await.map_err(|e| Exit(EXIT_UNREACHABLE, format!("{}: {e}", self.base)))?;
            let status = res.status().as_u16();
            let text = res.text().await.map_err(|e| Exit(EXIT_UNREACHABLE, format!("{}: {e}", self.base)))?;
            let body: Value = serde_json::from_str(&text).unwrap_or(Value::String(text));
            if status >= 400 {
                let message = body
                    .pointer("/error/message")
                    .and_then(Value::as_str)
                    .map_or_else(|| format!("HTTP {status}: {body}"), str::to_string);
                return Err(Exit(EXIT_REJECTED, message));
            }
            Ok((status, body))
        })
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }
}

fn seg(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

fn split_target(target: &str) -> Result<(&str, &str), Exit> {
    target
        .split_once('/')
        .filter(|(ns, name)| !ns.is_empty() && !name.is_empty())
        .ok_or_else(|| Exit(crate::cli::EXIT_USAGE, format!("{target:?}: expected NAMESPACE/NAME")))
}

fn print_json(v: &Value) {
    println!("{}", serde_json::to_string_pretty(v).unwrap_or_default());
}

/// The text view of a run: a header, then one line per metric.
pub fn run_text(run: &Value) -> String {
    let s = |p: &str| run.pointer(p).and_then(Value::as_str).unwrap_or_default().to_string();
    let mut out = format!("{}  {}  {}", s("/id"), s("/phase"), s("/template"));
    let message = s("/message");
    if !message.is_empty() {
        out.push_str(&format!("\n  {message}"));
    }
    for m in run.get("metricResults").and_then(Value::as_array).into_iter().flatten() {
        let name = m.get("name").and_then(Value::as_str).unwrap_or_default();
        let phase = m.get("phase").and_then(Value::as_str).unwrap_or_default();
        let count = m.get("count").and_then(Value::as_i64).unwrap_or_default();
        let last = m
            .get("measurements")
            .and_then(Value::as_array)
            .and_then(|ms| ms.last())
            .map(|last| {
                let v = last.get("value").and_then(Value::as_str).unwrap_or_default();
                if v.is_empty() { last.get("message").and_then(Value::as_str).unwrap_or_default() } else { v }
            })
            .unwrap_or_default();
        out.push_str(&format!("\n  {name:<28} {count:>5}  {phase:<13} {last}"));
    }
    out
}

fn show_run(run: &Value, format: Format) {
    match format {
        Format::Json => print_json(run),
        Format::Text => println!("{}", run_text(run)),
    }
}

/// `augur get run ID`.
pub(crate) fn get(server: &ServerArgs, what: GetWhat) -> Result<i32, Exit> {
    let client = Client::new(server)?;
    let GetWhat::Run { id } = what;
    let (_, run) = client.send(client.http.get(client.url(&format!("/v1/runs/{}", seg(&id)))))?;
    show_run(&run, server.output);
    Ok(0)
}

/// `augur list runs`.
pub(crate) fn list(server: &ServerArgs, what: ListWhat) -> Result<i32, Exit> {
    let client = Client::new(server)?;
    let ListWhat::Runs { phase, template, selector, limit } = what;
    let mut query: Vec<(String, String)> = phase.into_iter().map(|p| ("phase".to_string(), p)).collect();
    query.extend(template.map(|t| ("template".to_string(), t)));
    query.extend(selector.map(|l| ("labelSelector".to_string(), l)));
    query.push(("pageSize".to_string(), limit.to_string()));
    let qs: Vec<String> = query.iter().map(|(k, v)| format!("{k}={}", seg(v))).collect();
    let (_, body) = client.send(client.http.get(client.url(&format!("/v1/runs?{}", qs.join("&")))))?;
    match server.output {
        Format::Json => print_json(&body),
        Format::Text => {
            for run in body.get("runs").and_then(Value::as_array).into_iter().flatten() {
                let s = |k: &str| run.get(k).and_then(Value::as_str).unwrap_or_default().to_string();
                println!("{:<38} {:<13} {:<22} {}", s("id"), s("phase"), s("createdAt"), s("template"));
            }
        }
    }
    Ok(0)
}

/// `augur watch ID`: polls server-sent events until the verdict.
pub(crate) fn watch(server: &ServerArgs, id: &str) -> Result<i32, Exit> {
    let client = Client::new(server)?;
    let url = client.url(&format!("/v1/runs/{}/events", seg(id)));
    let last = client.runtime.block_on(async {
        let mut res = client.http.get(&url).send().await.map_err(|e| Exit(EXIT_UNREACHABLE, format!("{url}: {e}")))?;
        if !res.status().is_success() {
            let status = res.status().as_u16();
            let body: Value = res.json().await.unwrap_or(Value::Null);
            let message =
                body.pointer("/error/message").and_then(Value::as_str).map_or(format!("HTTP {status}"), str::to_string);
            return Err(Exit(EXIT_REJECTED, message));
        }
        let mut buffer = String::new();
        let mut last: Option<Value> = None;
        while let Some(chunk) = res.chunk().await.map_err(|e| Exit(EXIT_UNREACHABLE, format!("{url}: {e}")))? {
            buffer.push_str(&String::from_utf8_lossy(&chunk));
            while let Some(end) = buffer.find("\n\n") {
                let event: String = buffer.drain(..end + 2).collect();
                let data: String = event
                    .lines()
                    .filter_map(|l| l.strip_prefix("data:"))
                    .map(str::trim_start)
                    .collect::<Vec<_>>()
                    .join("\n");
                if let Ok(run) = serde_json::from_str::<Value>(&data) {
                    if server.output == Format::Text {
                        println!("{}", run_text(&run));
                    }
                    last = Some(run);
                }
            }
        }
        Ok(last)
    })?;
    let Some(run) = last else {
        return Err(Exit(EXIT_UNREACHABLE, format!("{url}: the stream ended without a status")));
    };
    if server.output == Format::Json {
        print_json(&run);
    }
    let phase: Phase = run.get("phase").and_then(Value::as_str).and_then(|p| p.parse().ok()).unwrap_or(Phase::Error);
    if !phase.is_completed() {
        return Err(Exit(EXIT_UNREACHABLE, "the server stopped before the run completed".to_string()));
    }
    Ok(phase.exit_code())
}

/// `augur terminate ID`.
pub(crate) fn terminate(server: &ServerArgs, id: &str) -> Result<i32, Exit> {
    let client = Client::new(server)?;
    let (_, run) = client.send(client.http.post(client.url(&format!("/v1/runs/{}/terminate", seg(id)))))?;
    show_run(&run, server.output);
    Ok(0)
}

/// `augur template put|get|list|delete`.
pub(crate) fn template(server: &ServerArgs, action: TemplateAction) -> Result<i32, Exit> {
    let client = Client::new(server)?;
    match action {
        TemplateAction::Put { target, file } => {
            let (ns, name) = split_target(&target)?;
            let body = std::fs::read_to_string(&file)
                .map_err(|e| Exit(crate::cli::EXIT_USAGE, format!("{}: {e}", file.display())))?;
            let req = client.http.put(client.url(&format!("/v1/templates/{}/{}", seg(ns), seg(name)))).body(body);
            let (_, t) = client.send(req.header("content-type", "application/yaml"))?;
            match server.output {
                Format::Json => print_json(&t),
                Format::Text => println!(
                    "{}/{} stored (version {})",
                    ns,
                    name,
                    t.get("version").and_then(Value::as_i64).unwrap_or_default()
                ),
            }
        }
        TemplateAction::Get { target } => {
            let (ns, name) = split_target(&target)?;
            let (_, t) =
                client.send(client.http.get(client.url(&format!("/v1/templates/{}/{}", seg(ns), seg(name)))))?;
            match server.output {
                Format::Json => print_json(&t),
                Format::Text => {
                    print!("{}", serde_norway::to_string(t.get("template").unwrap_or(&Value::Null)).unwrap_or_default())
                }
            }
        }
        TemplateAction::List { namespace } => {
            let path = match namespace {
                Some(ns) => format!("/v1/templates?namespace={}", seg(&ns)),
                None => "/v1/templates".to_string(),
            };
            let (_, body) = client.send(client.http.get(client.url(&path)))?;
            match server.output {
                Format::Json => print_json(&body),
                Format::Text => {
                    for t in body.get("templates").and_then(Value::as_array).into_iter().flatten() {
                        let s = |k: &str| t.get(k).and_then(Value::as_str).unwrap_or_default().to_string();
                        println!(
                            "{:<40} {:<24} v{}",
                            format!("{}/{}", s("namespace"), s("name")),
                            s("kind"),
                            t.get("version").and_then(Value::as_i64).unwrap_or_default()
                        );
                    }
                }
            }
        }
        TemplateAction::Delete { target } => {
            let (ns, name) = split_target(&target)?;
            client.send(client.http.delete(client.url(&format!("/v1/templates/{}/{}", seg(ns), seg(name)))))?;
            if server.output == Format::Text {
                println!("{ns}/{name} deleted");
            }
        }
    }
    Ok(0)
}
