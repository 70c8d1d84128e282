//! The `augur` command line: `run`, `lint`, `eval`, `simulate`.
//!
//! Exit codes are a public interface: 0 Successful, 1 Failed, 2 Inconclusive, 3 Error
//! (including an invalid spec), 64 bad usage or an unreadable file. `lint` exits 0 when
//! every template is valid and 1 otherwise.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use clap::{Parser, Subcommand, ValueEnum};

use crate::condition::{Conditions, Dialect, result_from_json};
use crate::engine::{Analysis, EngineConfig, Run};
use crate::model::{Phase, RunStatus};
use crate::template::{self, Template};

/// Exit code for bad usage or an unreadable file (sysexits' EX_USAGE).
pub const EXIT_USAGE: i32 = 64;

#[derive(Debug, Parser)]
#[command(name = "augur", version, about = "A metrics judge for progressive delivery", long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
enum Output {
    Text,
    Json,
}

#[derive(Debug, clap::Args)]
struct TemplateArgs {
    /// Template file (YAML or JSON; several documents allowed). Repeat to merge templates.
    #[arg(short = 'f', long = "file", required = true)]
    files: Vec<PathBuf>,
    /// Argument value, `name=value`. Repeatable.
    #[arg(long = "arg", value_parser = parse_arg)]
    args: Vec<(String, String)>,
    /// Secrets for `valueFrom.secretKeyRef`: a YAML/JSON file (`{name: {key: value}}` or Secret manifests).
    #[arg(long, env = "AUGUR_SECRETS_FILE")]
    secrets_file: Option<PathBuf>,
    /// Secrets for `valueFrom.secretKeyRef`: a directory laid out as `DIR/<secret>/<key>`.
    #[arg(long, env = "AUGUR_SECRETS_DIR")]
    secrets_dir: Option<PathBuf>,
    /// Delay before retrying after an Error measurement (Argo: 10s).
    #[arg(long, default_value = "10s", value_parser = parse_duration_ms)]
    error_retry: i64,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run an analysis to its verdict against the real providers.
    Run {
        #[command(flatten)]
        template: TemplateArgs,
        /// Output format.
        #[arg(short, long, value_enum, default_value = "text")]
        output: Output,
    },
    /// Validate templates and print every problem with its field path.
    Lint {
        /// Template files.
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Evaluate conditions against a result: the phase a measurement would get.
    Eval {
        /// The provider result as JSON (a number is a float64, an array of numbers a []float64).
        #[arg(long)]
        result: String,
        /// The success condition.
        #[arg(long, default_value = "")]
        success_condition: String,
        /// The failure condition.
        #[arg(long, default_value = "")]
        failure_condition: String,
        /// Condition language.
        #[arg(long, default_value = "expr")]
        dialect: Dialect,
        /// Output format.
        #[arg(short, long, value_enum, default_value = "text")]
        output: Output,
    },
    /// Run the service: gRPC and HTTP/JSON on one port, state in embedded SQLite.
    Serve {
        /// Configuration file (TOML). `AUGUR_*` variables override it; flags override both.
        #[arg(long, env = "AUGUR_CONFIG")]
        config: Option<PathBuf>,
        /// Address to listen on (default 127.0.0.1:8080).
        #[arg(long)]
        listen: Option<String>,
        /// SQLite database (default ./augur.db; `:memory:` keeps nothing).
        #[arg(long)]
        db: Option<String>,
    },
    /// Show a run from a server.
    Get {
        #[command(subcommand)]
        what: crate::client::GetWhat,
        #[command(flatten)]
        server: crate::client::ServerArgs,
    },
    /// List runs on a server.
    List {
        #[command(subcommand)]
        what: crate::client::ListWhat,
        #[command(flatten)]
        server: crate::client::ServerArgs,
    },
    /// Follow a run on a server until its verdict; exits with the verdict's code.
    Watch {
        /// The run's id.
        id: String,
        #[command(flatten)]
        server: crate::client::ServerArgs,
    },
    /// Terminate a run on a server.
    Terminate {
        /// The run's id.
        id: String,
        #[command(flatten)]
        server: crate::client::ServerArgs,
    },
    /// Manage a server's templates.
    Template {
        #[command(subcommand)]
        action: crate::client::TemplateAction,
        #[command(flatten)]
        server: crate::client::ServerArgs,
    },
    /// Print the HTTP API's OpenAPI document.
    Openapi,
    /// Compare a canary's samples with a baseline's (Pass, High, Low or Nodata), or score
    /// a whole canary config (`--canary-config C --data D`).
    Judge {
        /// Baseline samples: a JSON array (null = NaN) or one number per line.
        #[arg(long, required_unless_present = "canary_config", requires = "canary")]
        baseline: Option<PathBuf>,
        /// Canary samples, in the same formats.
        #[arg(long, requires = "baseline")]
        canary: Option<PathBuf>,
        /// A Kayenta canary config (`metrics[]` with `analysisConfigurations.canary`, `classifier.groupWeights`).
        #[arg(long, requires = "data", conflicts_with_all = ["baseline", "canary", "config"])]
        canary_config: Option<PathBuf>,
        /// Kayenta metric set pairs: `[{"name", "values": {"control": [...], "experiment": [...]}}]`.
        #[arg(long, requires = "canary_config")]
        data: Option<PathBuf>,
        /// Score at or above which the canary passes.
        #[arg(long, default_value = "75")]
        pass: f64,
        /// Score at or above which the canary is marginal.
        #[arg(long, default_value = "50")]
        marginal: f64,
        /// An `analysisConfigurations.canary` object (Kayenta's keys).
        #[arg(long)]
        config: Option<PathBuf>,
        /// Which engine judges.
        #[arg(long, value_enum, default_value = "augur")]
        engine: crate::judge::Engine,
        /// Which change is bad (overrides the config's `direction`).
        #[arg(long, value_parser = ["either", "increase", "decrease"])]
        direction: Option<String>,
        /// Output format.
        #[arg(short, long, value_enum, default_value = "text")]
        output: Output,
    },
    /// Run a template's state machine on a virtual clock with scripted provider outcomes.
    Simulate {
        #[command(flatten)]
        template: TemplateArgs,
        /// The script: per metric, a list of `value`, `error` or `phase` steps.
        #[arg(long)]
        script: PathBuf,
        /// Output format.
        #[arg(short, long, value_enum, default_value = "text")]
        output: Output,
    },
}

fn parse_arg(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((k, v)) if !k.is_empty() => Ok((k.to_string(), v.to_string())),
        _ => Err(format!("expected name=value, got {s:?}")),
    }
}

fn parse_duration_ms(s: &str) -> Result<i64, String> {
    crate::duration::parse_go_duration(s).map(|ns| ns / 1_000_000).map_err(|e| e.to_string())
}

/// A failure before any verdict: message and exit code.
pub(crate) struct Exit(pub(crate) i32, pub(crate) String);

/// Runs the CLI with these arguments; returns the process exit code.
pub fn main_with_args(args: Vec<String>) -> i32 {
    let cli = match Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(e) => {
            let code = match e.kind() {
                clap::error::ErrorKind::DisplayHelp | clap::error::ErrorKind::DisplayVersion => 0,
                _ => EXIT_USAGE,
            };
            let _ = e.print();
            return code;
        }
    };
    match dispatch(cli.command) {
        Ok(code) => code,
        Err(Exit(code, message)) => {
            eprintln!("augur: {}", crate::model::one_line(&message));
            code
        }
    }
}

fn dispatch(command: Command) -> Result<i32, Exit> {
    if !matches!(command, Command::Serve { .. }) {
        init_tracing("warn");
    }
    match command {
        Command::Run { template, output } => cmd_run(&template, output),
        Command::Lint { files } => cmd_lint(&files),
        Command::Eval { result, success_condition, failure_condition, dialect, output } => {
            cmd_eval(&result, &success_condition, &failure_condition, dialect, output)
        }
        Command::Simulate { template, script, output } => cmd_simulate(&template, &script, output),
        Command::Serve { config, listen, db } => cmd_serve(config.as_deref(), listen, db),
        Command::Get { what, server } => crate::client::get(&server, what),
        Command::List { what, server } => crate::client::list(&server, what),
        Command::Watch { id, server } => crate::client::watch(&server, &id),
        Command::Terminate { id, server } => crate::client::terminate(&server, &id),
        Command::Template { action, server } => crate::client::template(&server, action),
        Command::Judge { baseline, canary, config, engine, direction, output, canary_config, data, pass, marginal } => {
            match (baseline, canary, canary_config, data) {
                (_, _, Some(cc), Some(d)) => cmd_score(&cc, &d, engine, pass, marginal, output),
                (Some(b), Some(c), _, _) => cmd_judge(&b, &c, config.as_deref(), engine, direction.as_deref(), output),
                _ => Err(Exit(EXIT_USAGE, "give --baseline and --canary, or --canary-config and --data".into())),
            }
        }
        Command::Openapi => {
            print!("{}", crate::api::http::openapi_document());
            Ok(0)
        }
    }
}

fn cmd_score(
    canary_config: &Path,
    data: &Path,
    engine: crate::judge::Engine,
    pass: f64,
    marginal: f64,
    output: Output,
) -> Result<i32, Exit> {
    let json = |p: &Path| -> Result<serde_json::Value, Exit> {
        serde_json::from_str(&read_file(p)?).map_err(|e| Exit(EXIT_USAGE, format!("{}: not JSON: {e}", p.display())))
    };
    let (result, code) = crate::judge::score_config(engine, &json(canary_config)?, &json(data)?, pass, marginal)
        .map_err(|e| Exit(EXIT_USAGE, e))?;
    match output {
        Output::Json => println!("{}", serde_json::to_string_pretty(&result).unwrap_or_default()),
        Output::Text => {
            let reason = result.get("reason").and_then(serde_json::Value::as_str).unwrap_or_default();
            println!("{} {}  {reason}", result["classification"].as_str().unwrap_or_default(), result["score"]);
            for m in result["metrics"].as_array().into_iter().flatten() {
                println!(
                    "  {:<28} {:<10} {}",
                    m["name"].as_str().unwrap_or_default(),
                    m["classification"].as_str().unwrap_or_default(),
                    m["reason"].as_str().unwrap_or_default()
                );
            }
        }
    }
    Ok(code)
}

fn cmd_judge(
    baseline: &Path,
    canary: &Path,
    config: Option<&Path>,
    engine: crate::judge::Engine,
    direction: Option<&str>,
    output: Output,
) -> Result<i32, Exit> {
    let samples = |p: &Path| {
        crate::judge::parse_samples(&read_file(p)?).map_err(|e| Exit(EXIT_USAGE, format!("{}: {e}", p.display())))
    };
    let (b, c) = (samples(baseline)?, samples(canary)?);
    let config: serde_json::Value = match config {
        Some(p) => serde_json::from_str(&read_file(p)?)
            .map_err(|e| Exit(EXIT_USAGE, format!("{}: not JSON: {e}", p.display())))?,
        None => serde_json::json!({}),
    };
    let (result, code) = crate::judge::judge(engine, &config, direction, &b, &c).map_err(|e| Exit(EXIT_USAGE, e))?;
    match output {
        Output::Json => println!("{}", serde_json::to_string_pretty(&result).unwrap_or_default()),
        Output::Text => {
            let s = |k: &str| result.get(k).map(|v| v.to_string().trim_matches('"').to_string()).unwrap_or_default();
            println!("{}  {}", s("classification"), s("reason"));
            println!(
                "  estimate {}  CI [{}, {}]  p {}  n {}/{}",
                s("estimate"),
                s("ciLower"),
                s("ciUpper"),
                s("pValue"),
                s("nBaseline"),
                s("nCanary")
            );
        }
    }
    Ok(code)
}

/// Exit code for a configuration problem (sysexits' EX_CONFIG).
pub const EXIT_CONFIG: i32 = 78;

fn init_tracing(filter: &str) {
    let filter = std::env::var("AUGUR_LOG").unwrap_or_else(|_| filter.to_string());
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_new(&filter).unwrap_or_else(|_| "info".into()))
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .try_init();
}

fn cmd_serve(config: Option<&Path>, listen: Option<String>, db: Option<String>) -> Result<i32, Exit> {
    use crate::config::{Config, RawConfig};
    let mut problems = Vec::new();
    let mut raw = match config {
        Some(path) => {
            let text = read_file(path)?;
            RawConfig::from_toml(path, &text).map_err(|e| Exit(EXIT_CONFIG, e))?
        }
        None => RawConfig::default(),
    };
    raw.apply_env(std::env::vars(), &mut problems);
    if listen.is_some() {
        raw.listen = listen;
    }
    if db.is_some() {
        raw.db = db;
    }
    let config = match Config::from_raw(&raw) {
        Ok(c) if problems.is_empty() => c,
        Ok(_) => return Err(Exit(EXIT_CONFIG, format!("invalid configuration: {}", problems.join("; ")))),
        Err(more) => {
            problems.extend(more);
            return Err(Exit(EXIT_CONFIG, format!("invalid configuration: {}", problems.join("; "))));
        }
    };
    init_tracing(&config.log);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| Exit(1, format!("cannot start the runtime: {e}")))?;
    runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind(config.listen)
            .await
            .map_err(|e| Exit(1, format!("listen {}: {e}", config.listen)))?;
        crate::app::serve(config, listener, crate::app::signal()).await.map_err(|e| Exit(1, format!("{e:#}")))?;
        Ok(0)
    })
}

fn read_file(path: &Path) -> Result<String, Exit> {
    std::fs::read_to_string(path).map_err(|e| Exit(EXIT_USAGE, format!("{}: {e}", path.display())))
}

/// Loads and parses every template file; a parse error is an invalid spec (exit 3).
fn load_templates(files: &[PathBuf]) -> Result<Vec<Template>, Exit> {
    let mut out = Vec::new();
    for f in files {
        let text = read_file(f)?;
        let docs = template::parse_documents(&text).map_err(|p| Exit(3, format!("{}: {p}", f.display())))?;
        out.extend(docs);
    }
    Ok(out)
}

/// Templates → a prepared analysis, or the Error status Argo would record.
/// The analysis and the secret source its providers read (Datadog's credentials, say).
type Prepared = (Arc<Analysis>, Arc<crate::secrets::Secrets>);

fn prepare(t: &TemplateArgs) -> Result<Result<Prepared, String>, Exit> {
    let templates = load_templates(&t.files)?;
    let secrets = crate::secrets::Secrets::load(t.secrets_file.as_deref(), t.secrets_dir.as_deref(), std::env::vars())
        .map_err(|e| Exit(EXIT_USAGE, e))?;
    let spec = match template::resolve::flatten(&templates) {
        Ok(s) => s,
        Err(e) => return Ok(Err(e)),
    };
    let args = match template::resolve::merge_args(&t.args, &spec.args) {
        Ok(a) => a,
        Err(e) => {
            let hint = e
                .strip_prefix("args.")
                .and_then(|r| r.strip_suffix(" was not resolved"))
                .map(|n| format!(" (pass --arg {n}=VALUE)"))
                .unwrap_or_default();
            return Ok(Err(format!("{e}{hint}")));
        }
    };
    Ok(template::resolve::prepare(&spec, &args, &secrets).map(|p| (Arc::new(Analysis::new(p)), Arc::new(secrets))))
}

fn print_status(analysis: Option<&Analysis>, status: &RunStatus, output: Output) {
    match output {
        Output::Json => {
            let text = serde_json::to_string_pretty(status).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"));
            println!("{text}");
        }
        Output::Text => {
            let mut out = std::io::stdout().lock();
            if let Some(a) = analysis {
                for line in crate::runner::metric_lines(a, status) {
                    let _ = writeln!(out, "{line}");
                }
            }
            let _ = if status.message.is_empty() {
                writeln!(out, "{}", status.phase)
            } else {
                writeln!(out, "{}: {}", status.phase, status.message)
            };
        }
    }
}

fn cmd_run(t: &TemplateArgs, output: Output) -> Result<i32, Exit> {
    let prepared = prepare(t)?;
    let (analysis, secrets) = match prepared {
        Ok(a) => a,
        Err(message) => {
            let status = Run::errored(&message, crate::runner::now());
            print_status(None, &status, output);
            return Ok(status.phase.exit_code());
        }
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .worker_threads(2)
        .build()
        .map_err(|e| Exit(3, format!("cannot start the runtime: {e}")))?;
    let live = output == Output::Text && std::io::stderr().is_terminal();
    let mut drawn = 0usize;
    let a2 = Arc::clone(&analysis);
    let on_update = move |status: &RunStatus| {
        if !live {
            return;
        }
        let lines = crate::runner::metric_lines(&a2, status);
        let mut err = std::io::stderr().lock();
        if drawn > 0 {
            let _ = write!(err, "\x1b[{drawn}A");
        }
        for l in &lines {
            let _ = writeln!(err, "\x1b[2K{l}");
        }
        drawn = lines.len();
    };
    // Unique per invocation: providers name artefacts after it (Argo's Job names).
    let run_id = uuid::Uuid::now_v7().to_string();
    let status = runtime.block_on(async {
        let shutdown = async {
            let _ = tokio::signal::ctrl_c().await;
            eprintln!("augur: terminating (waiting for measurements in flight; press Ctrl-C again to abort)");
            tokio::spawn(async {
                let _ = tokio::signal::ctrl_c().await;
                std::process::exit(3);
            });
        };
        crate::runner::run_analysis(
            Arc::clone(&analysis),
            EngineConfig { error_retry_ms: t.error_retry },
            &run_id,
            secrets,
            on_update,
            shutdown,
        )
        .await
    });
    print_status(Some(&analysis), &status, output);
    Ok(status.phase.exit_code())
}

fn cmd_simulate(t: &TemplateArgs, script: &Path, output: Output) -> Result<i32, Exit> {
    let script_text = read_file(script)?;
    let script = crate::simulate::parse_script(&script_text)
        .map_err(|e| Exit(EXIT_USAGE, format!("{}: {e}", script.display())))?;
    let start = crate::runner::now();
    let analysis = match prepare(t)? {
        Ok((a, _)) => a,
        Err(message) => {
            let status = Run::errored(&message, start);
            print_status(None, &status, output);
            return Ok(status.phase.exit_code());
        }
    };
    for name in script.metrics.keys() {
        if !analysis.metrics.iter().any(|p| &p.metric.name == name) {
            return Err(Exit(EXIT_USAGE, format!("script: metrics.{name}: no such metric in the templates")));
        }
    }
    let status = crate::simulate::simulate(
        Arc::clone(&analysis),
        &script,
        EngineConfig { error_retry_ms: t.error_retry },
        start,
    );
    print_status(Some(&analysis), &status, output);
    Ok(status.phase.exit_code())
}

fn cmd_lint(files: &[PathBuf]) -> Result<i32, Exit> {
    let mut failed = false;
    for f in files {
        let text = read_file(f)?;
        let name = f.display();
        let templates = match template::parse_documents(&text) {
            Ok(t) => t,
            Err(p) => {
                println!("{name}: error: {p}");
                failed = true;
                continue;
            }
        };
        let mut problems = Vec::new();
        for t in &templates {
            for u in &t.unknown_fields {
                println!("{name}: warning: {u}: unknown field (Argo prunes it; augur ignores it)");
            }
            for (i, m) in t.spec.metrics.iter().enumerate() {
                let prefix = if t.kind == template::TemplateKind::Spec { String::new() } else { "spec.".to_string() };
                for (field, msg) in
                    Conditions::new(m.dialect, &m.success_condition, &m.failure_condition).syntax_errors()
                {
                    problems.push(template::Problem::new(format!("{prefix}metrics[{i}].{field}"), msg));
                }
                if let Some(kind) = m.provider_kind()
                    && !m.provider.values().any(|v| v.to_string().contains("{{"))
                    && (crate::registry::supported().contains(&kind) || kind == "plugin")
                    && let Err(e) = crate::registry::build(m)
                {
                    problems.push(template::Problem::new(format!("{prefix}metrics[{i}].provider.{kind}"), e));
                }
            }
        }
        // Validation is over the merged templates of this file, as Argo merges them.
        let lint_templates: Vec<Template> = templates
            .iter()
            .map(|t| Template { spec: template::TemplateSpec { templates: Vec::new(), ..t.spec.clone() }, ..t.clone() })
            .collect();
        let prefix = if templates.iter().all(|t| t.kind == template::TemplateKind::Spec) { "" } else { "spec." };
        for p in template::resolve::lint_problems(&lint_templates) {
            let path = if p.path.is_empty() { p.path } else { format!("{prefix}{}", p.path) };
            problems.push(template::Problem::new(path, p.message));
        }
        for p in &problems {
            println!("{name}: error: {p}");
        }
        if problems.is_empty() {
            println!("{name}: ok");
        } else {
            failed = true;
        }
    }
    Ok(i32::from(failed))
}

fn cmd_eval(result: &str, success: &str, failure: &str, dialect: Dialect, output: Output) -> Result<i32, Exit> {
    let json: serde_json::Value =
        serde_json::from_str(result).map_err(|e| Exit(EXIT_USAGE, format!("--result: not valid JSON: {e}")))?;
    let value = result_from_json(&json);
    let conditions = Conditions::new(dialect, success, failure);
    let eval = conditions.evaluate(&value, crate::runner::now().millis().saturating_mul(1_000_000));
    match output {
        Output::Json => println!("{}", serde_json::json!({"phase": eval.phase, "message": eval.message})),
        Output::Text if eval.message.is_empty() => println!("{}", eval.phase),
        Output::Text => println!("{}: {}", eval.phase, eval.message),
    }
    Ok(match eval.phase {
        Phase::Successful => 0,
        Phase::Failed => 1,
        Phase::Inconclusive => 2,
        _ => 3,
    })
}
