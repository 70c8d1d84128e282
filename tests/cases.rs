//! Table-driven cases written from the contract (`argo-analysis.md` §0–§2).
//!
//! Every `tests/cases/*.yaml` file is a list of cases. Each case names the rule it comes
//! from and is one of three kinds, told apart by its keys:
//!
//! - **condition** (`result`): a provider result judged by `success`/`failure` in a
//!   dialect; expects `phase` and optionally an exact `message` or `messageContains`.
//! - **run** (`spec` or `templates`, with an optional `script`): templates merged,
//!   args resolved, validated and run on the virtual clock as `augur simulate` does;
//!   `expect` is matched as a subset of the run's `status` JSON (Argo's field names).
//! - **lint** (`spec` or `templates` with `lint`): the problems `lint` reports, as
//!   `path: message` lines, exactly and in order.
//!
//! The runner reports every failing case at once, by file and name.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use augur::condition::{Conditions, Dialect, result_from_json};
use augur::engine::{Analysis, EngineConfig, Run};
use augur::model::Timestamp;
use augur::simulate::{parse_script, simulate};
use augur::template::{self, SecretSource, Template, parse_documents, resolve};
use augur_provider_api::ResultValue;
use serde::Deserialize;
use serde_json::Value;

/// Virtual start of every run: 2023-11-14T22:13:20Z.
const T0_MS: i64 = 1_700_000_000_000;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct Case {
    name: String,
    /// The section of the reference the case is written from.
    rule: String,

    // condition cases
    #[serde(default)]
    dialect: Option<String>,
    /// A result typed as `augur eval --result` types it (numbers → float64, number
    /// arrays → []float64).
    #[serde(default, deserialize_with = "present")]
    result: Option<Value>,
    /// A result typed as the web provider types a JSON body (numbers stay
    /// `float64` inside `[]interface{}` / `map[string]interface{}`).
    #[serde(default, deserialize_with = "present")]
    result_json: Option<Value>,
    #[serde(default)]
    success: String,
    #[serde(default)]
    failure: String,
    /// RFC 3339 time that `now()` returns.
    #[serde(default)]
    now: Option<String>,
    #[serde(default)]
    phase: Option<String>,
    #[serde(default)]
    message: Option<String>,
    #[serde(default)]
    message_contains: Option<String>,

    // run and lint cases
    /// One YAML document set (a template, several, or a bare spec).
    #[serde(default)]
    spec: Option<String>,
    /// Several template files, merged in order.
    #[serde(default)]
    templates: Vec<String>,
    /// Caller-supplied args (`--arg k=v`).
    #[serde(default)]
    args: BTreeMap<String, String>,
    /// secret name → key → value.
    #[serde(default)]
    secrets: BTreeMap<String, BTreeMap<String, String>>,
    #[serde(default)]
    script: Option<Value>,
    /// Delay before retrying after an Error, in ms (default Argo's 10 s).
    #[serde(default)]
    error_retry_ms: Option<i64>,
    #[serde(default)]
    expect: Option<Value>,
    #[serde(default)]
    lint: Option<Vec<String>>,
}

/// Distinguishes `result: null` (a nil result) from no `result` key.
fn present<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Value>, D::Error> {
    Value::deserialize(d).map(Some)
}

struct MapSecrets(BTreeMap<String, BTreeMap<String, String>>);

impl SecretSource for MapSecrets {
    fn get(&self, name: &str, key: &str) -> Result<String, String> {
        let secret = self.0.get(name).ok_or_else(|| format!("secrets \"{name}\" not found"))?;
        secret.get(key).cloned().ok_or_else(|| format!("key '{key}' does not exist in secret '{name}'"))
    }
}

fn case_files() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/cases");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    files.sort();
    files
}

fn load(path: &Path) -> Vec<Case> {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let de = serde_norway::Deserializer::from_str(&text);
    serde_path_to_error::deserialize(de).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Runs one case; `Err` says what differed.
fn run(case: &Case) -> Result<(), String> {
    if case.rule.trim().is_empty() {
        return Err("every case names its rule".into());
    }
    if case.result.is_some() || case.result_json.is_some() {
        return run_condition(case);
    }
    if case.spec.is_none() && case.templates.is_empty() {
        return Err("a case needs `result`, `resultJson`, `spec` or `templates`".into());
    }
    if let Some(expected) = &case.lint {
        return run_lint(case, expected);
    }
    run_analysis(case)
}

fn run_condition(case: &Case) -> Result<(), String> {
    let dialect = match case.dialect.as_deref().unwrap_or("expr") {
        "expr" => Dialect::Expr,
        "cel" => Dialect::Cel,
        other => return Err(format!("unknown dialect {other}")),
    };
    let result = match (&case.result, &case.result_json) {
        (Some(v), None) => result_from_json(v),
        (None, Some(Value::Null)) => ResultValue::Nil,
        (None, Some(v)) => ResultValue::Json(v.clone()),
        _ => return Err("give `result` or `resultJson`, not both".into()),
    };
    let now_nanos = match &case.now {
        Some(t) => chrono::DateTime::parse_from_rfc3339(t)
            .map_err(|e| format!("now: {e}"))?
            .timestamp_nanos_opt()
            .ok_or("now: out of range")?,
        None => T0_MS * 1_000_000,
    };
    let eval = Conditions::new(dialect, &case.success, &case.failure).evaluate(&result, now_nanos);
    let want = case.phase.as_deref().ok_or("a condition case needs `phase`")?;
    let mut problems = Vec::new();
    if eval.phase.as_str() != want {
        problems.push(format!("phase: got {}, want {want}", eval.phase.as_str()));
    }
    if let Some(m) = &case.message
        && &eval.message != m
    {
        problems.push(format!("message: got {:?}, want {m:?}", eval.message));
    }
    if let Some(m) = &case.message_contains
        && !eval.message.contains(m.as_str())
    {
        problems.push(format!("message: got {:?}, want it to contain {m:?}", eval.message));
    }
    if problems.is_empty() { Ok(()) } else { Err(problems.join("; ")) }
}

fn templates_of(case: &Case) -> Result<Vec<Template>, String> {
    let mut out = Vec::new();
    for text in case.spec.iter().chain(&case.templates) {
        out.extend(parse_documents(text).map_err(|p| format!("parse: {p}"))?);
    }
    Ok(out)
}

fn run_analysis(case: &Case) -> Result<(), String> {
    let start = Timestamp::from_millis(T0_MS);
    let status = match prepare(case)? {
        Ok(analysis) => {
            let script = match &case.script {
                Some(v) => parse_script(&serde_json::to_string(v).unwrap()).map_err(|e| format!("script: {e}"))?,
                None => Default::default(),
            };
            let mut config = EngineConfig::default();
            if let Some(ms) = case.error_retry_ms {
                config.error_retry_ms = ms;
            }
            simulate(analysis, &script, config, start)
        }
        Err(message) => Run::errored(&message, start),
    };
    let actual = serde_json::to_value(&status).unwrap();
    let expected = case.expect.as_ref().ok_or("a run case needs `expect`")?;
    let mut diffs = Vec::new();
    subset("status", expected, &actual, &mut diffs);
    if diffs.is_empty() {
        Ok(())
    } else {
        Err(format!("{}\n      actual: {}", diffs.join("\n      "), serde_json::to_string(&actual).unwrap()))
    }
}

/// Templates → prepared analysis, or the message of the Error run Argo would record.
fn prepare(case: &Case) -> Result<Result<Arc<Analysis>, String>, String> {
    let templates = templates_of(case)?;
    let spec = match resolve::flatten(&templates) {
        Ok(s) => s,
        Err(e) => return Ok(Err(e)),
    };
    let caller: Vec<(String, String)> = case.args.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
    let args = match resolve::merge_args(&caller, &spec.args) {
        Ok(a) => a,
        Err(e) => return Ok(Err(e)),
    };
    Ok(resolve::prepare(&spec, &args, &MapSecrets(case.secrets.clone())).map(|p| Arc::new(Analysis::new(p))))
}

fn run_lint(case: &Case, expected: &[String]) -> Result<(), String> {
    let templates = templates_of(case)?;
    let mut got: Vec<String> = Vec::new();
    for t in &templates {
        for u in &t.unknown_fields {
            got.push(format!("{u}: unknown field"));
        }
    }
    let flat: Vec<Template> = templates
        .iter()
        .map(|t| Template { spec: template::TemplateSpec { templates: Vec::new(), ..t.spec.clone() }, ..t.clone() })
        .collect();
    got.extend(resolve::lint_problems(&flat).iter().map(ToString::to_string));
    if got == expected { Ok(()) } else { Err(format!("lint: got {got:#?}, want {expected:#?}")) }
}

/// Every value in `want` must be in `got`: objects by key (a `null` wants the key absent
/// or null), arrays element by element with equal length, numbers numerically.
fn subset(path: &str, want: &Value, got: &Value, diffs: &mut Vec<String>) {
    match (want, got) {
        (Value::Object(w), Value::Object(g)) => {
            for (k, wv) in w {
                let p = format!("{path}.{k}");
                match g.get(k) {
                    Some(gv) => subset(&p, wv, gv, diffs),
                    None if wv.is_null() => {}
                    // Empty strings and zero counters are omitted or defaulted in the JSON.
                    None if wv == "" => {}
                    None => diffs.push(format!("{p}: missing, want {wv}")),
                }
            }
        }
        (Value::Array(w), Value::Array(g)) => {
            if w.len() != g.len() {
                diffs.push(format!("{path}: {} items, want {}", g.len(), w.len()));
            }
            for (i, (wv, gv)) in w.iter().zip(g).enumerate() {
                subset(&format!("{path}[{i}]"), wv, gv, diffs);
            }
        }
        (Value::Number(w), Value::Number(g)) if w.as_f64() == g.as_f64() => {}
        (w, g) if w == g => {}
        (w, g) => diffs.push(format!("{path}: got {g}, want {w}")),
    }
}

#[test]
fn contract_cases() {
    let mut total = 0;
    let mut failures = Vec::new();
    for file in case_files() {
        let name = file.file_name().unwrap().to_string_lossy().into_owned();
        let cases = load(&file);
        let mut seen = std::collections::BTreeSet::new();
        for case in &cases {
            total += 1;
            if !seen.insert(case.name.clone()) {
                failures.push(format!("{name}: duplicate case name {:?}", case.name));
            }
            if let Err(e) = run(case) {
                failures.push(format!("{name}: {} ({}):\n      {e}", case.name, case.rule));
            }
        }
    }
    println!("{total} contract cases");
    assert!(total > 0, "no cases found in tests/cases");
    assert!(failures.is_empty(), "{} of {total} cases failed:\n  {}", failures.len(), failures.join("\n  "));
}
