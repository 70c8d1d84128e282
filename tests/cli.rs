//! `augur` end to end: real binary, real HTTP server, exit codes and JSON output.

use crate::support::{augur, http_server, write_file};

fn web_template(url: &str, extra: &str) -> String {
    format!(
        "apiVersion: argoproj.io/v1alpha1\nkind: AnalysisTemplate\nmetadata: {{name: t}}\nspec:\n  metrics:\n  - name: rate\n{extra}    provider:\n      web:\n        url: {url}\n        jsonPath: \"{{$.rate}}\"\n"
    )
}

#[test]
fn run_successful_against_real_server() {
    let base = http_server();
    let t = write_file("t.yaml", &web_template(&format!("{base}/ok"), "    successCondition: result >= 0.99\n"));
    let out = augur(&["run", "-f", t.to_str().unwrap(), "--output", "json"]);
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    let json = out.json();
    assert_eq!(json["phase"], "Successful");
    assert_eq!(json["metricResults"][0]["measurements"][0]["value"], "0.995");
    assert_eq!(json["metricResults"][0]["count"], 1);
    assert!(json["startedAt"].is_string() && json["completedAt"].is_string());
}

#[test]
fn run_failed_exits_1() {
    let base = http_server();
    let t = write_file("t.yaml", &web_template(&format!("{base}/bad"), "    successCondition: result >= 0.99\n"));
    let out = augur(&["run", "-f", t.to_str().unwrap(), "--output", "json"]);
    assert_eq!(out.code, 1, "{}", out.stdout);
    assert_eq!(out.json()["message"], "Metric \"rate\" assessed Failed due to failed (1) > failureLimit (0)");
}

#[test]
fn run_inconclusive_exits_2() {
    let base = http_server();
    let t = write_file(
        "t.yaml",
        &web_template(
            &format!("{base}/bad"),
            "    successCondition: result >= 0.99\n    failureCondition: result < 0.1\n",
        ),
    );
    let out = augur(&["run", "-f", t.to_str().unwrap(), "--output", "json"]);
    assert_eq!(out.code, 2, "{}", out.stdout);
    assert_eq!(out.json()["phase"], "Inconclusive");
}

#[test]
fn run_provider_error_exits_3_with_argo_message() {
    let base = http_server();
    let t = write_file("t.yaml", &web_template(&format!("{base}/error"), "    consecutiveErrorLimit: 0\n"));
    let out = augur(&["run", "-f", t.to_str().unwrap(), "--output", "json"]);
    assert_eq!(out.code, 3, "{}", out.stdout);
    let json = out.json();
    assert_eq!(json["phase"], "Error");
    assert_eq!(json["metricResults"][0]["measurements"][0]["message"], "received non 2xx response code: 500: boom");
}

#[test]
fn run_condition_on_text_body_and_no_conditions() {
    let base = http_server();
    let t = write_file(
        "t.yaml",
        &format!(
            "metrics:\n- name: text\n  successCondition: result == \"plain text\"\n  provider: {{web: {{url: '{base}/text'}}}}\n- name: none\n  provider: {{web: {{url: '{base}/ok', jsonPath: '{{$.items[*].v}}'}}}}\n"
        ),
    );
    let out = augur(&["run", "-f", t.to_str().unwrap(), "--output", "json"]);
    assert_eq!(out.code, 0, "{}", out.stdout);
    let json = out.json();
    assert_eq!(json["metricResults"][0]["measurements"][0]["value"], "plain text");
    // First JSONPath match only; no conditions ⇒ Successful.
    assert_eq!(json["metricResults"][1]["measurements"][0]["value"], "1");
}

#[test]
fn run_secret_arg_is_used_and_redacted() {
    let base = http_server();
    let t = write_file(
        "t.yaml",
        &format!(
            "args:\n- name: token\n  valueFrom: {{secretKeyRef: {{name: judge, key: token}}}}\nmetrics:\n- name: secure\n  successCondition: result == true\n  provider:\n    web:\n      url: '{base}/secure?t={{{{args.token}}}}'\n      jsonPath: '{{$.ok}}'\n      headers: [{{key: Authorization, value: 'Bearer {{{{args.token}}}}'}}]\n"
        ),
    );
    let secrets = write_file("secrets.yaml", "judge: {token: s3cr3t-token}\n");
    let out =
        augur(&["run", "-f", t.to_str().unwrap(), "--secrets-file", secrets.to_str().unwrap(), "--output", "json"]);
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    assert!(!out.stdout.contains("s3cr3t") && !out.stderr.contains("s3cr3t"), "secret leaked: {}", out.stdout);
    let missing = augur(&["run", "-f", t.to_str().unwrap(), "--output", "json"]);
    assert_eq!(missing.code, 3);
    assert_eq!(missing.json()["message"], "Unable to resolve metric arguments: secrets \"judge\" not found");
}

#[test]
fn invalid_inputs_are_one_line_errors() {
    let base = http_server();
    // An invalid spec is an Error run (exit 3) with Argo's message.
    let t = write_file("t.yaml", &web_template(&format!("{base}/ok"), "    count: 2\n"));
    let out = augur(&["run", "-f", t.to_str().unwrap(), "--output", "json"]);
    assert_eq!(out.code, 3);
    assert_eq!(out.json()["message"], "Analysis spec invalid: metrics[0]: interval must be specified when count > 1");

    let bad_duration = write_file("d.yaml", &web_template(&format!("{base}/ok"), "    interval: 5x\n    count: 2\n"));
    let out = augur(&["run", "-f", bad_duration.to_str().unwrap(), "--output", "json"]);
    assert_eq!(out.code, 3);
    assert_eq!(
        out.json()["message"],
        "Analysis spec invalid: metrics[0]: invalid interval string: time: unknown unit \"x\" in duration \"5x\""
    );

    let missing_arg =
        write_file("a.yaml", "args: [{name: url}]\nmetrics:\n- name: m\n  provider: {web: {url: '{{args.url}}'}}\n");
    let out = augur(&["run", "-f", missing_arg.to_str().unwrap()]);
    assert_eq!(out.code, 3);
    assert_eq!(out.stdout.trim(), "Error: args.url was not resolved (pass --arg url=VALUE)");

    let malformed = write_file("m.yaml", "metrics: [\n  - name: x\n");
    let out = augur(&["run", "-f", malformed.to_str().unwrap()]);
    assert_eq!(out.code, 3);
    assert_eq!(out.stderr.lines().count(), 1, "{}", out.stderr);
    assert!(out.stderr.contains("malformed YAML"), "{}", out.stderr);

    let unknown = write_file("u.yaml", "metrics:\n- name: m\n  provider: {foo: {}}\n");
    let out = augur(&["run", "-f", unknown.to_str().unwrap(), "--output", "json"]);
    assert_eq!(out.code, 3);
    let msg = out.json()["message"].as_str().unwrap_or_default().to_string();
    assert!(
        msg.starts_with("Analysis spec invalid: metrics[0]: no provider specified (unknown provider \"foo\""),
        "{msg}"
    );

    let out = augur(&["run", "-f", "/nonexistent/t.yaml"]);
    assert_eq!(out.code, 64);
    let out = augur(&["run", "--bogus-flag"]);
    assert_eq!(out.code, 64);
}

#[test]
fn eval_prints_phase_json() {
    let out = augur(&["eval", "--result", "[0.995]", "--success-condition", "result[0] >= 0.99", "--output", "json"]);
    assert_eq!(out.code, 0);
    assert_eq!(out.json(), serde_json::json!({"phase": "Successful", "message": ""}));
    let out =
        augur(&["eval", "--result", "0.5", "--success-condition", "asFloat(result) == \"1.1\"", "--output", "json"]);
    assert_eq!(out.code, 3);
    assert_eq!(out.json()["phase"], "Error");
    let out =
        augur(&["eval", "--result", "null", "--success-condition", "default(result, 0) < 0.05", "--output", "json"]);
    assert_eq!(out.json()["phase"], "Successful");
    let out = augur(&[
        "eval",
        "--result",
        "{\"ok\": true}",
        "--success-condition",
        "result.ok == true",
        "--dialect",
        "cel",
        "--output",
        "json",
    ]);
    assert_eq!(out.json()["phase"], "Successful");
}

#[test]
fn simulate_runs_on_a_virtual_clock() {
    let t = write_file(
        "t.yaml",
        "metrics:\n- name: rate\n  interval: 1h\n  count: 3\n  failureLimit: 1\n  successCondition: result >= 0.99\n  provider: {web: {url: 'http://127.0.0.1:9/'}}\n",
    );
    let s = write_file(
        "s.yaml",
        "metrics:\n  rate:\n  - value: 0.995\n  - value: 0.5\n  - error: timeout\n  - value: 0.999\n",
    );
    let start = std::time::Instant::now();
    let out = augur(&["simulate", "-f", t.to_str().unwrap(), "--script", s.to_str().unwrap(), "--output", "json"]);
    assert!(start.elapsed().as_secs() < 30, "virtual time must not sleep");
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    let json = out.json();
    let r = &json["metricResults"][0];
    assert_eq!((r["count"].as_i64(), r["failed"].as_i64(), r["error"].as_i64()), (Some(3), Some(1), Some(1)));
    // 0h, 1h, 1h + 10 s retry after the error, then 2h + 10 s.
    let starts: Vec<String> =
        r["measurements"].as_array().unwrap().iter().map(|m| m["startedAt"].as_str().unwrap().to_string()).collect();
    assert_eq!(starts.len(), 4);
}

#[test]
fn judge_compares_canary_with_baseline_in_both_engines() {
    // Steps in time order, not sorted: a sorted series is a trend, which the default engine treats as
    // strongly autocorrelated (and would widen accordingly).
    let baseline = write_file("judge-baseline.json", "[3, 7, 1, 9, 5, 10, 2, 8, 4, 6, null]");
    let canary = write_file("judge-canary.txt", "13\n17\n11\n19\n15\n20\n12\n18\n14\n16\n");
    let (b, c) = (baseline.to_str().unwrap(), canary.to_str().unwrap());
    let out = augur(&["judge", "--baseline", b, "--canary", c, "-o", "json"]);
    assert_eq!(out.code, 1, "High exits 1: {}{}", out.stdout, out.stderr);
    let v = out.json();
    assert_eq!(v["classification"], "High");
    assert_eq!(v["estimate"], 10.0, "the Hodges–Lehmann shift is the median pairwise difference: {v}");
    assert_eq!((v["nBaseline"].as_u64(), v["nCanary"].as_u64()), (Some(10), Some(10)), "NaN removed: {v}");
    assert!(v["pValue"].as_f64().is_some_and(|p| p < 0.05), "{v}");
    let out = augur(&["judge", "--baseline", b, "--canary", c, "--engine", "kayenta", "-o", "json"]);
    assert_eq!(out.code, 1, "{}", out.stdout);
    assert_eq!(out.json()["classification"], "High");
    assert!(out.json().get("pValue").is_none(), "Kayenta computes no p-value");
    let out = augur(&["judge", "--baseline", b, "--canary", c, "--direction", "decrease", "-o", "json"]);
    assert_eq!((out.code, out.json()["classification"].as_str()), (0, Some("Pass")));
    // The textbook test on request: complete separation of 10 vs 10 has the exact two-sided p 2/C(20, 10).
    let iid = write_file("judge-iid.json", r#"{"augur": {"serialDependence": "independent"}}"#);
    let out = augur(&["judge", "--baseline", b, "--canary", c, "--config", iid.to_str().unwrap(), "-o", "json"]);
    let p = out.json()["pValue"].as_f64().unwrap();
    assert!((p - 2.0 / 184_756.0).abs() < 1e-15, "{}", out.stdout);
    let wrong = write_file("judge-wrong.json", r#"{"augur": {"serialDependence": "sometimes"}}"#);
    let out = augur(&["judge", "--baseline", b, "--canary", c, "--config", wrong.to_str().unwrap()]);
    assert_ne!(out.code, 0);
    assert!(out.stderr.contains("serialDependence") || out.stderr.contains("sometimes"), "{}", out.stderr);
    assert_eq!(out.stderr.trim().lines().count(), 1, "{}", out.stderr);
    let bad = write_file("judge-bad.txt", "1\nseven\n");
    let out = augur(&["judge", "--baseline", bad.to_str().unwrap(), "--canary", c]);
    assert_eq!(out.code, 64);
    assert!(out.stderr.contains("line 2: \"seven\" is not a number"), "{}", out.stderr);
}

#[test]
fn judge_scores_a_kayenta_canary_config() {
    let config = write_file(
        "canary-config.json",
        r#"{"metrics": [
            {"name": "errors", "groups": ["errors"], "analysisConfigurations": {"canary": {"direction": "increase", "critical": true}}},
            {"name": "latency", "groups": ["latency"], "analysisConfigurations": {"canary": {"direction": "increase"}}}],
            "classifier": {"groupWeights": {"errors": 60, "latency": 40}}}"#,
    );
    let steady: Vec<f64> = (0..40).map(|i| 10.0 + f64::from(i % 5)).collect();
    let doubled: Vec<f64> = steady.iter().map(|x| x * 2.0).collect();
    let pairs = serde_json::json!([
        {"name": "errors", "values": {"control": steady, "experiment": steady}},
        {"name": "latency", "values": {"control": steady, "experiment": doubled}}
    ]);
    let data = write_file("pairs.json", &pairs.to_string());
    let (c, d) = (config.to_str().unwrap(), data.to_str().unwrap());
    for engine in ["kayenta", "augur"] {
        let out = augur(&["judge", "--canary-config", c, "--data", d, "--engine", engine, "-o", "json"]);
        assert_eq!(out.code, 2, "Marginal exits 2: {}{}", out.stdout, out.stderr);
        let v = out.json();
        assert_eq!((v["score"].as_f64(), v["classification"].as_str()), (Some(60.0), Some("Marginal")), "{v}");
        assert_eq!(v["metrics"][1]["classification"], "High");
        // A lower pass threshold passes the same canary.
        let out = augur(&["judge", "--canary-config", c, "--data", d, "--engine", engine, "--pass", "60"]);
        assert_eq!(out.code, 0, "{}", out.stdout);
    }
}
