//! State-machine cases written from the reference (§2.3–§2.7). Each case is a bare spec
//! and a script of measurement phases, run on the virtual clock.

use std::sync::Arc;

use super::*;
use crate::model::{Phase, RunStatus, Timestamp};
use crate::simulate::{parse_script, simulate};
use crate::template::{NoSecrets, parse_documents, resolve};

const T0: i64 = 1_700_000_000_000;

fn run_case(spec: &str, script: &str) -> RunStatus {
    let templates = parse_documents(spec).expect("test spec parses");
    let flat = resolve::flatten(&templates).expect("test spec flattens");
    let args = resolve::merge_args(&[], &flat.args).expect("args");
    match resolve::prepare(&flat, &args, &NoSecrets) {
        Ok(p) => {
            let script = parse_script(script).expect("test script parses");
            simulate(Arc::new(Analysis::new(p)), &script, EngineConfig::default(), Timestamp::from_millis(T0))
        }
        Err(e) => Run::errored(&e, Timestamp::from_millis(T0)),
    }
}

#[track_caller]
fn check(spec: &str, script: &str, phase: Phase, message: &str) {
    let status = run_case(spec, script);
    assert_eq!((status.phase, status.message.as_str()), (phase, message), "status: {status:#?}");
}

fn metric(extra: &str) -> String {
    format!("metrics:\n- name: m\n  provider: {{web: {{url: 'http://127.0.0.1:1/'}}}}\n{extra}")
}

fn steps(phases: &[&str]) -> String {
    let mut s = String::from("metrics:\n  m:\n");
    for p in phases {
        s.push_str(&format!("  - phase: {p}\n"));
    }
    s
}

// §2.4: default count is 1 without an interval.
#[test]
fn single_measurement_verdicts() {
    check(&metric(""), &steps(&["Successful"]), Phase::Successful, "");
    check(
        &metric(""),
        &steps(&["Failed"]),
        Phase::Failed,
        "Metric \"m\" assessed Failed due to failed (1) > failureLimit (0)",
    );
    check(
        &metric(""),
        &steps(&["Inconclusive"]),
        Phase::Inconclusive,
        "Metric \"m\" assessed Inconclusive due to inconclusive (1) > inconclusiveLimit (0)",
    );
}

// §0.2: limits are strict >.
#[test]
fn failure_limit_is_strict() {
    let spec = metric("  interval: 1m\n  count: 3\n  failureLimit: 1\n");
    check(&spec, &steps(&["Failed", "Successful", "Successful"]), Phase::Successful, "");
    check(
        &spec,
        &steps(&["Failed", "Failed", "Successful"]),
        Phase::Failed,
        "Metric \"m\" assessed Failed due to failed (2) > failureLimit (1)",
    );
}

#[test]
fn inconclusive_limit_is_strict() {
    let spec = metric("  interval: 1m\n  count: 3\n  inconclusiveLimit: 1\n");
    check(&spec, &steps(&["Inconclusive", "Successful", "Successful"]), Phase::Successful, "");
    check(
        &spec,
        &steps(&["Inconclusive", "Inconclusive"]),
        Phase::Inconclusive,
        "Metric \"m\" assessed Inconclusive due to inconclusive (2) > inconclusiveLimit (1)",
    );
}

// §0.5 + §2.8: errors do not count; the 5th consecutive error fails the metric.
#[test]
fn consecutive_errors_default_limit_four() {
    let errors =
        "metrics:\n  m:\n  - error: boom\n  - error: boom\n  - error: boom\n  - error: boom\n  - error: boom\n";
    check(
        &metric(""),
        errors,
        Phase::Error,
        "Metric \"m\" assessed Error due to consecutiveErrors (5) > consecutiveErrorLimit (4): \"Error Message: boom\"",
    );
    let four_then_ok =
        "metrics:\n  m:\n  - error: boom\n  - error: boom\n  - error: boom\n  - error: boom\n  - phase: Successful\n";
    check(&metric(""), four_then_ok, Phase::Successful, "");
}

#[test]
fn consecutive_error_limit_zero_fails_on_first_error() {
    check(
        &metric("  consecutiveErrorLimit: 0\n"),
        "metrics:\n  m:\n  - error: nope\n",
        Phase::Error,
        "Metric \"m\" assessed Error due to consecutiveErrors (1) > consecutiveErrorLimit (0): \"Error Message: nope\"",
    );
}

#[test]
fn errors_reset_by_a_completed_measurement() {
    let spec = metric("  interval: 1m\n  count: 2\n  consecutiveErrorLimit: 1\n");
    let script = "metrics:\n  m:\n  - error: a\n  - phase: Successful\n  - error: b\n  - phase: Successful\n";
    let status = run_case(&spec, script);
    assert_eq!(status.phase, Phase::Successful);
    let r = &status.metric_results[0];
    assert_eq!((r.count, r.successful, r.error, r.consecutive_error), (2, 2, 2, 0));
}

// §2.3 counter table.
#[test]
fn counters_follow_the_table() {
    let spec = metric("  interval: 1m\n  count: 4\n  failureLimit: 3\n  inconclusiveLimit: 3\n");
    let script = "metrics:\n  m:\n  - phase: Successful\n  - phase: Successful\n  - error: x\n  - phase: Failed\n  - phase: Inconclusive\n";
    let status = run_case(&spec, script);
    let r = &status.metric_results[0];
    assert_eq!(
        (r.count, r.successful, r.failed, r.inconclusive, r.error, r.consecutive_error, r.consecutive_success),
        (4, 2, 1, 1, 1, 0, 0)
    );
    assert_eq!(status.phase, Phase::Successful);
}

// §0.3: within a metric Error beats Inconclusive beats Failed.
#[test]
fn metric_precedence_error_over_inconclusive_over_failed() {
    let r = MetricResult { failed: 1, inconclusive: 1, consecutive_error: 5, ..MetricResult::default() };
    let m = crate::template::Metric::default();
    assert_eq!(limit_breach(&m, &r).0, Some(Phase::Error));
    let r = MetricResult { failed: 1, inconclusive: 1, ..MetricResult::default() };
    assert_eq!(limit_breach(&m, &r).0, Some(Phase::Inconclusive));
    let r = MetricResult { failed: 1, ..MetricResult::default() };
    assert_eq!(limit_breach(&m, &r).0, Some(Phase::Failed));
}

// §2.4 consecutiveSuccessLimit.
#[test]
fn consecutive_success_limit_ends_early() {
    let spec = metric("  interval: 1m\n  count: 10\n  consecutiveSuccessLimit: 2\n  failureLimit: -1\n");
    let status = run_case(&spec, &steps(&["Failed", "Successful", "Successful", "Failed"]));
    assert_eq!(status.phase, Phase::Successful);
    assert_eq!(status.metric_results[0].count, 3, "stops as soon as the streak is reached");
}

#[test]
fn consecutive_success_never_reached_with_failure_limit_is_inconclusive() {
    let spec = metric("  interval: 1m\n  count: 3\n  consecutiveSuccessLimit: 2\n  failureLimit: 1\n");
    let status = run_case(&spec, &steps(&["Successful", "Failed", "Successful"]));
    assert_eq!(status.phase, Phase::Inconclusive);
    // RunSummary quirk (§1.12): counted as successful, since no limit was breached.
    assert_eq!(status.run_summary.successful, 1);
    assert_eq!(status.message, "");
}

#[test]
fn consecutive_success_never_reached_with_failure_disabled_is_failed() {
    let spec = metric("  interval: 1m\n  count: 3\n  consecutiveSuccessLimit: 2\n  failureLimit: -1\n");
    let status = run_case(&spec, &steps(&["Successful", "Failed", "Successful"]));
    assert_eq!(status.phase, Phase::Failed);
}

// §0.6 effective count.
#[test]
fn interval_without_count_runs_until_terminated() {
    let spec = metric("  interval: 1m\n");
    let status = run_case(&spec, &format!("{}terminateAt: 10m\n", steps(&["Successful"; 20])));
    assert_eq!(status.phase, Phase::Successful);
    assert_eq!(status.message, "Run Terminated");
    // Measurements at 0, 1, …, 9 minutes; at 10 minutes the terminate comes first.
    assert_eq!(status.metric_results[0].count, 10);
}

#[test]
fn script_exhaustion_terminates_an_indefinite_metric_successfully() {
    let status = run_case(&metric("  interval: 1m\n"), &steps(&["Successful", "Successful"]));
    assert_eq!((status.phase, status.message.as_str()), (Phase::Successful, "Run Terminated"));
    assert_eq!(status.metric_results[0].count, 2);
}

// §0.7 fast-fail: one failed metric stops the others; never-measured ones get no result.
#[test]
fn fast_fail_stops_other_metrics() {
    let spec = "metrics:\n- name: slow\n  initialDelay: 5m\n  provider: {web: {url: 'http://x/'}}\n- name: bad\n  provider: {web: {url: 'http://x/'}}\n";
    let script = "metrics:\n  slow: [{phase: Successful}]\n  bad: [{phase: Failed}]\n";
    let status = run_case(spec, script);
    assert_eq!(status.phase, Phase::Failed);
    assert_eq!(status.metric_results.len(), 1, "slow never measured: {status:#?}");
    assert_eq!(status.metric_results[0].name, "bad");
}

// §0.4 run level: worst wins; Failed is worse than Error.
#[test]
fn run_is_worst_of_metrics() {
    let spec = "metrics:\n- name: a\n  provider: {web: {url: 'http://x/'}}\n  consecutiveErrorLimit: 0\n- name: b\n  provider: {web: {url: 'http://x/'}}\n";
    let script = "metrics:\n  a: [{error: e}]\n  b: [{phase: Failed}]\n";
    let status = run_case(spec, script);
    assert_eq!(status.phase, Phase::Failed);
    assert_eq!(status.message, "Metric \"b\" assessed Failed due to failed (1) > failureLimit (0)");
    assert_eq!((status.run_summary.count, status.run_summary.error, status.run_summary.failed), (2, 1, 1));
}

// §2.5 dry-run: ignored for the verdict, summarised separately.
#[test]
fn dry_run_metric_does_not_change_verdict() {
    let spec = "dryRun: [{metricName: 'rate'}]\nmetrics:\n- name: error-rate\n  provider: {web: {url: 'http://x/'}}\n- name: ok\n  provider: {web: {url: 'http://x/'}}\n";
    let script = "metrics:\n  error-rate: [{phase: Failed}]\n  ok: [{phase: Successful}]\n";
    let status = run_case(spec, script);
    assert_eq!((status.phase, status.message.as_str()), (Phase::Successful, ""));
    assert_eq!((status.dry_run_summary.count, status.dry_run_summary.failed), (1, 1));
    assert_eq!((status.run_summary.count, status.run_summary.successful), (1, 1));
    let dry = status.metric_results.iter().find(|r| r.name == "error-rate").expect("dry-run result");
    assert!(dry.dry_run);
    assert_eq!(dry.message, "Metric assessed Failed due to failed (1) > failureLimit (0)");
}

#[test]
fn all_dry_run_metrics_make_the_run_successful() {
    let spec = "dryRun: [{metricName: '.*'}]\nmetrics:\n- name: a\n  provider: {web: {url: 'http://x/'}}\n";
    check(spec, "metrics:\n  a: [{phase: Failed}]\n", Phase::Successful, "");
}

// §0.10: rules are unanchored regexps; no match ⇒ run Error.
#[test]
fn dry_run_rule_matching_nothing_is_an_error() {
    let spec = "dryRun: [{metricName: 'nope'}]\nmetrics:\n- name: a\n  provider: {web: {url: 'http://x/'}}\n";
    check(
        spec,
        "metrics: {}\n",
        Phase::Error,
        "Analysis spec invalid: dryRun[0]: Rule didn't match any metric name(s)",
    );
    let star = "dryRun: [{metricName: '*'}]\nmetrics:\n- name: a\n  provider: {web: {url: 'http://x/'}}\n";
    check(
        star,
        "metrics: {}\n",
        Phase::Error,
        "Analysis spec invalid: dryRun[0]: Rule didn't match any metric name(s)",
    );
}

// measurementRetention: keep the newest N; counters are never trimmed.
#[test]
fn retention_trims_measurements_not_counters() {
    let spec =
        format!("measurementRetention: [{{metricName: m, limit: 3}}]\n{}", metric("  interval: 1m\n  count: 6\n"));
    let status = run_case(&spec, &steps(&["Successful"; 6]));
    let r = &status.metric_results[0];
    assert_eq!((r.measurements.len(), r.count), (3, 6));
    let default = run_case(&metric("  interval: 1m\n  count: 12\n"), &steps(&["Successful"; 12]));
    assert_eq!(default.metric_results[0].measurements.len(), 10);
}

// §2.7 timing: interval from the finish of the last measurement; 10 s after an Error;
// initialDelay from startedAt.
#[test]
fn timing_of_measurements() {
    let spec = metric("  interval: 1m\n  count: 3\n  initialDelay: 30s\n");
    let script =
        "metrics:\n  m:\n  - phase: Successful\n  - error: once\n  - phase: Successful\n  - phase: Successful\n";
    let status = run_case(&spec, script);
    let starts: Vec<i64> = status.metric_results[0]
        .measurements
        .iter()
        .map(|m| (m.started_at.expect("started").millis() - T0) / 1000)
        .collect();
    assert_eq!(starts, vec![30, 90, 100, 160]);
    assert_eq!(status.phase, Phase::Successful);
}

// §1.2 validation runs on the resolved metric and makes the run Error.
#[test]
fn invalid_spec_is_an_error_run() {
    check(
        &metric("  count: 2\n"),
        "metrics: {}\n",
        Phase::Error,
        "Analysis spec invalid: metrics[0]: interval must be specified when count > 1",
    );
    check(
        "args: [{name: n, value: '3'}]\nmetrics:\n- name: m\n  count: '{{args.n}}'\n  provider: {web: {url: 'http://x/'}}\n",
        "metrics: {}\n",
        Phase::Error,
        "Analysis spec invalid: metrics[0]: interval must be specified when count > 1",
    );
}

// §2.6 terminate with nothing measured ⇒ Successful.
#[test]
fn terminate_before_any_measurement_is_successful() {
    let spec = metric("  initialDelay: 10m\n");
    let status = run_case(&spec, "metrics:\n  m: [{phase: Failed}]\nterminateAt: 1m\n");
    assert_eq!((status.phase, status.message.as_str()), (Phase::Successful, "Run Terminated"));
}

#[test]
fn phase_order_is_argos() {
    let order = [Phase::Successful, Phase::Running, Phase::Pending, Phase::Inconclusive, Phase::Error, Phase::Failed];
    for (i, a) in order.iter().enumerate() {
        for (j, b) in order.iter().enumerate() {
            assert_eq!(b.is_worse_than(*a), j > i, "{b} worse than {a}");
        }
    }
}

#[test]
fn secrets_are_redacted_from_messages() {
    assert_eq!(redact("token abc123 failed", &["abc123".to_string()]), "token ***** failed");
}
