//! Fuzz targets for the two places untrusted text enters the core: the template parser
//! (with everything a run does before measuring) and the condition compiler/evaluator.
//!
//! The project builds on stable Rust, so instead of libFuzzer this is a small
//! deterministic mutational fuzzer: it starts from a corpus (templates/, tests/fixtures/
//! and the conditions in tests/cases/), mutates with a seeded PRNG, and runs each input
//! through the target inside `catch_unwind`. A panic fails the test and writes the input
//! to `target/fuzz-failures/` so it can be replayed.
//!
//! CI runs a short pass (the default iteration counts). Run longer locally with
//!
//!     AUGUR_FUZZ_ITERS=2000000 AUGUR_FUZZ_SEED=$RANDOM cargo test --release --test integration fuzz
//!
//! What each target checks besides "no panic": template errors are one line and never
//! contain a secret value; condition evaluation of any compiled program gives a phase, and
//! compilation is deterministic.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};

use augur::condition::{Conditions, Dialect, result_from_json};
use augur::engine::{Analysis, Run};
use augur::model::Timestamp;
use augur::template::{SecretSource, parse_documents, resolve};
use augur_provider_api::ResultValue;

/// xorshift64*: deterministic, dependency-free.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        if n == 0 { 0 } else { (self.next() % n as u64) as usize }
    }
}

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn read_dir_yaml(dir: &Path) -> Vec<String> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    files.sort();
    files.iter().filter_map(|p| std::fs::read_to_string(p).ok()).collect()
}

/// Splices in tokens that tend to reach interesting code.
const TEMPLATE_TOKENS: &[&str] = &[
    "{{args.",
    "}}",
    "{{",
    "count: ",
    "interval: ",
    "-1",
    "0",
    "99999999999999999999",
    "1h2m",
    "1.5.5s",
    "\"",
    "'",
    "\n- ",
    "\n  ",
    ": ",
    "[",
    "]",
    "{",
    "}",
    "&a ",
    "*a",
    "!!binary ",
    "---\n",
    "kind: AnalysisTemplate\n",
    "apiVersion: argoproj.io/v1alpha1\n",
    "dryRun:\n- metricName: ",
    "measurementRetention:\n- metricName: .*\n  limit: ",
    "valueFrom:\n  secretKeyRef: {name: s, key: k}\n",
    "\u{0}",
    "é",
    "\\",
    "(",
    "*",
];

const CONDITION_TOKENS: &[&str] = &[
    "result",
    "[0]",
    "[-1]",
    "[99]",
    ".a",
    "[\"a\"]",
    " >= ",
    " < ",
    " == ",
    " != ",
    " && ",
    " || ",
    " and ",
    " or ",
    "not ",
    "!",
    " in ",
    " matches ",
    " contains ",
    " ?? ",
    " ? 1 : 2",
    "(",
    ")",
    "asInt(",
    "asFloat(",
    "isNaN(",
    "isInf(",
    "isNil(",
    "default(",
    "len(",
    "all(result, {# > 0})",
    "map(result, #)",
    "filter(",
    "now()",
    "duration(\"1m\")",
    "date(\"2024-01-01\")",
    "1",
    "1.0",
    "0.99",
    "\"s\"",
    "'s'",
    "nil",
    "true",
    "1e309",
    "**",
    "%",
    "/",
    "0",
    ",",
    "..",
    "|",
    "$env",
    "let x = 1; x",
    "#",
    "{",
    "}",
    "size(",
    "\u{0}",
    "é",
    "\"\\u",
];

fn mutate(rng: &mut Rng, input: &str, corpus: &[String], tokens: &[&str]) -> String {
    let mut bytes = input.as_bytes().to_vec();
    for _ in 0..=rng.below(4) {
        let len = bytes.len();
        match rng.below(7) {
            0 if len > 0 => {
                let i = rng.below(len);
                bytes[i] ^= 1 << rng.below(8);
            }
            1 if len > 0 => {
                let i = rng.below(len);
                let n = rng.below((len - i).min(16) + 1);
                bytes.drain(i..i + n);
            }
            2 => {
                let i = rng.below(len + 1);
                let t = tokens[rng.below(tokens.len())];
                bytes.splice(i..i, t.bytes());
            }
            3 if len > 0 => {
                let i = rng.below(len);
                let n = rng.below((len - i).min(32) + 1);
                let chunk = bytes[i..i + n].to_vec();
                let j = rng.below(len + 1);
                bytes.splice(j..j, chunk);
            }
            4 if !corpus.is_empty() => {
                let other = corpus[rng.below(corpus.len())].as_bytes();
                let i = rng.below(len + 1);
                let j = rng.below(other.len() + 1);
                bytes.truncate(i);
                bytes.extend_from_slice(&other[j..]);
            }
            5 if len > 0 => {
                let i = rng.below(len);
                const PUNCT: &[u8] = b"0123456789-.:{}[]\"' \n#";
                bytes[i] = PUNCT[rng.below(PUNCT.len())];
            }
            _ => {
                let i = rng.below(len + 1);
                bytes.insert(i, rng.next() as u8);
            }
        }
    }
    String::from_utf8_lossy(&bytes).into_owned()
}

/// A secret source whose every value is a recognisable marker.
struct MarkerSecrets;
const SECRET_MARKER: &str = "s3cr3t-MARKER-value";

impl SecretSource for MarkerSecrets {
    fn get(&self, _name: &str, _key: &str) -> Result<String, String> {
        Ok(SECRET_MARKER.to_string())
    }
}

/// Target 1: the template parser and everything a run does before it measures.
fn template_target(text: &str) -> Result<(), String> {
    // What a user sees: a lint problem, or the message of the Error run.
    let check_line = |what: &str, e: &str| -> Result<(), String> {
        let e = &Run::errored(e, Timestamp::from_millis(0)).message;
        if e.contains('\n') {
            return Err(format!("{what} error is not one line: {e:?}"));
        }
        if e.contains(SECRET_MARKER) {
            return Err(format!("{what} error leaks a secret: {e:?}"));
        }
        Ok(())
    };
    let templates = match parse_documents(text) {
        Ok(t) => t,
        Err(p) => return check_line("parse", &p.to_string()),
    };
    for p in resolve::lint_problems(&templates) {
        let shown = p.to_string();
        if shown.contains('\n') || shown.contains(SECRET_MARKER) {
            return Err(format!("lint problem is not one clean line: {shown:?}"));
        }
    }
    let spec = match resolve::flatten(&templates) {
        Ok(s) => s,
        Err(e) => return check_line("flatten", &e),
    };
    let caller = vec![("x".to_string(), "v\"\\\n{{".to_string())];
    let args = match resolve::merge_args(&caller, &spec.args) {
        Ok(a) => a,
        Err(e) => return check_line("merge_args", &e),
    };
    match resolve::prepare(&spec, &args, &MarkerSecrets) {
        Ok(p) => {
            let analysis = Analysis::new(p);
            for m in &analysis.metrics {
                let _ = m.conditions.evaluate(&ResultValue::Floats(vec![0.5]), 0);
            }
            Ok(())
        }
        Err(e) => check_line("prepare", &e),
    }
}

fn results() -> Vec<ResultValue> {
    let mut out: Vec<ResultValue> = [
        "null",
        "0.995",
        "[0.995]",
        "[]",
        "\"NaN\"",
        "\"+Inf\"",
        "\"text\"",
        "true",
        "{\"a\": [1, {\"b\": \"c\"}], \"a-b\": null}",
        "[\"1\", 2, null]",
    ]
    .iter()
    .map(|s| result_from_json(&serde_json::from_str(s).expect("fuzz results are valid JSON")))
    .collect();
    out.push(ResultValue::Json(serde_json::json!([1.0, 2.0])));
    out
}

/// Target 2: the condition compiler and evaluator, in both dialects.
fn condition_target(source: &str, results: &[ResultValue]) -> Result<(), String> {
    for dialect in [Dialect::Expr, Dialect::Cel] {
        let a = Conditions::new(dialect, source, "");
        let b = Conditions::new(dialect, "", source);
        if a.syntax_errors() != Conditions::new(dialect, source, "").syntax_errors() {
            return Err("compilation is not deterministic".into());
        }
        for r in results {
            let ea = a.evaluate(r, 1_700_000_000_000_000_000);
            let eb = b.evaluate(r, 1_700_000_000_000_000_000);
            // The same program as success or failure condition: an error in one is an error in the other.
            if (ea.phase.as_str() == "Error") != (eb.phase.as_str() == "Error") {
                return Err(format!("success/failure disagree on erroring: {ea:?} vs {eb:?}"));
            }
        }
    }
    Ok(())
}

fn conditions_corpus() -> Vec<String> {
    let mut out = Vec::new();
    for text in read_dir_yaml(&root().join("tests/cases")).iter().chain(&read_dir_yaml(&root().join("templates"))) {
        for line in text.lines() {
            let line = line.trim().trim_start_matches("- ");
            for key in ["success:", "failure:", "successCondition:", "failureCondition:"] {
                if let Some(rest) = line.strip_prefix(key) {
                    let c = rest.trim().trim_matches(|ch| ch == '"' || ch == '\'');
                    if !c.is_empty() {
                        out.push(c.to_string());
                    }
                }
            }
        }
    }
    out.sort();
    out.dedup();
    out
}

fn fuzz(
    name: &str,
    corpus: &[String],
    tokens: &[&str],
    default_iters: u64,
    target: impl Fn(&str) -> Result<(), String>,
) {
    assert!(!corpus.is_empty(), "{name}: empty corpus");
    let iters = env_u64("AUGUR_FUZZ_ITERS", default_iters);
    let seed = env_u64("AUGUR_FUZZ_SEED", 0x5eed_a6a6);
    let mut rng = Rng(seed | 1);
    let mut failure = None;
    for i in 0..iters {
        let base = &corpus[rng.below(corpus.len())];
        let input =
            if i < corpus.len() as u64 { corpus[i as usize].clone() } else { mutate(&mut rng, base, corpus, tokens) };
        let outcome = catch_unwind(AssertUnwindSafe(|| target(&input)));
        let problem = match outcome {
            Ok(Ok(())) => continue,
            Ok(Err(e)) => e,
            Err(panic) => {
                let msg = panic
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| panic.downcast_ref::<&str>().map(ToString::to_string))
                    .unwrap_or_default();
                format!("panic: {msg}")
            }
        };
        failure = Some((i, input, problem));
        break;
    }
    if let Some((i, input, problem)) = failure {
        let dir = root().join("target/fuzz-failures");
        let _ = std::fs::create_dir_all(&dir);
        let path = dir.join(format!("{name}-{seed}-{i}.txt"));
        let _ = std::fs::write(&path, &input);
        panic!("{name}: iteration {i} (seed {seed}): {problem}\ninput saved to {}:\n{input}", path.display());
    }
}

#[test]
fn fuzz_template_parser() {
    let mut corpus = read_dir_yaml(&root().join("templates"));
    corpus.extend(read_dir_yaml(&root().join("tests/fixtures")));
    fuzz("template", &corpus, TEMPLATE_TOKENS, 3_000, template_target);
}

#[test]
fn fuzz_condition_compiler() {
    let corpus = conditions_corpus();
    let results = results();
    fuzz("condition", &corpus, CONDITION_TOKENS, 5_000, |s| condition_target(s, &results));
}
