//! Criterion benchmarks for the hot paths of the pure core: condition evaluation
//! (Argo's `EvaluateResult`) and one state-machine step.
//!
//!     cargo bench --bench engine
//!
//! Numbers and the machine they were taken on are in docs/benchmarks.md.

use std::hint::black_box;
use std::sync::Arc;

use augur::condition::{Conditions, Dialect};
use augur::engine::{Action, Analysis, EngineConfig, Run};
use augur::model::{Measurement, Phase, Timestamp};
use augur::template::{NoSecrets, parse_documents, resolve};
use augur_provider_api::ResultValue;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};

const NOW_NANOS: i64 = 1_700_000_000_000_000_000;

fn conditions(c: &mut Criterion) {
    let mut group = c.benchmark_group("condition");
    group.throughput(Throughput::Elements(1));
    let result = ResultValue::Floats(vec![0.995]);
    for (name, dialect, success, failure) in [
        ("expr/result[0] >= 0.99", Dialect::Expr, "result[0] >= 0.99", ""),
        ("expr/success+failure", Dialect::Expr, "result[0] >= 0.99", "result[0] < 0.9"),
        ("expr/helpers", Dialect::Expr, "!isNil(result) && !isNaN(result[0]) && result[0] >= 0.99", ""),
        ("cel/result[0] >= 0.99", Dialect::Cel, "result[0] >= 0.99", ""),
    ] {
        let conditions = Conditions::new(dialect, success, failure);
        assert_eq!(conditions.evaluate(&result, NOW_NANOS).phase, Phase::Successful, "{name}");
        group.bench_function(name, |b| b.iter(|| conditions.evaluate(black_box(&result), NOW_NANOS)));
    }
    group.finish();
}

/// One measurement through the state machine: plan → begin → complete → assess, with
/// the measurement's conditions evaluated, as the runner and the scheduler drive it.
fn engine_step(c: &mut Criterion) {
    let spec = r#"
metrics:
- name: success-rate
  interval: 1m
  successCondition: result[0] >= 0.99
  failureLimit: 3
  provider: {web: {url: "http://127.0.0.1:1/"}}
- name: latency
  interval: 1m
  successCondition: result[0] <= 0.5
  provider: {web: {url: "http://127.0.0.1:1/"}}
"#;
    let templates = parse_documents(spec).expect("bench spec parses");
    let flat = resolve::flatten(&templates).expect("bench spec flattens");
    let args = resolve::merge_args(&[], &flat.args).expect("bench spec has no args");
    let analysis = Arc::new(Analysis::new(resolve::prepare(&flat, &args, &NoSecrets).expect("bench spec is valid")));
    let mut run = Run::new(Arc::clone(&analysis), EngineConfig::default());
    let mut now = Timestamp::from_millis(1_700_000_000_000);
    let results = [ResultValue::Floats(vec![0.995]), ResultValue::Floats(vec![0.2])];

    let mut group = c.benchmark_group("engine");
    group.throughput(Throughput::Elements(1));
    group.bench_function("step (2 metrics, one measurement each)", |b| {
        b.iter(|| {
            for action in run.plan(now) {
                let Action::Measure(i) = action else { continue };
                run.begin(i, now);
                let eval = analysis.metrics[i].conditions.evaluate(&results[i], now.millis() * 1_000_000);
                let m = Measurement {
                    phase: eval.phase,
                    message: eval.message,
                    value: "[0.2]".into(), // formatting is the provider's job
                    started_at: Some(now),
                    finished_at: Some(now),
                    ..Measurement::default()
                };
                run.complete(i, m, now);
            }
            run.assess(now);
            now = now.plus_millis(60_000);
        });
    });
    group.finish();
    assert!(!run.is_completed(), "an unbounded run with passing values never completes");
}

criterion_group!(benches, conditions, engine_step);
criterion_main!(benches);
