//! The Rust side of `crates/stats/benches/numpy_compare.py`: judges the same data the Python script wrote and
//! prints the median wall time of many judgements, as one JSON line.
//!
//! ```text
//! cargo run -p augur-stats --release --example bench_vs_numpy -- BASELINE CANARY [ITERATIONS]
//! ```
//!
//! BASELINE and CANARY hold one number per line. Both engines are timed with their default configurations
//! (augur: continuous, `either`, α = 0.05; Kayenta: the default `analysisConfigurations.canary`).

use std::hint::black_box;
use std::time::Instant;

use augur_stats::{engine, kayenta};

fn read(path: &str) -> Vec<f64> {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path}: {e}"));
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(|l| l.parse().unwrap_or_else(|e| panic!("{path}: {l:?}: {e}")))
        .collect()
}

/// Median wall time in seconds of `iterations` calls of `f` (after 3 warm-up calls).
fn median_seconds(iterations: usize, mut f: impl FnMut()) -> f64 {
    for _ in 0..3 {
        f();
    }
    let mut times: Vec<f64> = (0..iterations)
        .map(|_| {
            let start = Instant::now();
            f();
            start.elapsed().as_secs_f64()
        })
        .collect();
    times.sort_by(f64::total_cmp);
    times[times.len() / 2]
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() < 3 {
        eprintln!("usage: bench_vs_numpy BASELINE CANARY [ITERATIONS]");
        std::process::exit(2);
    }
    let (baseline, canary) = (read(&args[1]), read(&args[2]));
    let iterations: usize = args.get(3).map_or(200, |a| a.parse().expect("ITERATIONS must be an integer"));

    let config = engine::MetricConfig::default();
    let verdict = engine::judge_metric(&config, &baseline, &canary);
    let augur = median_seconds(iterations, || {
        black_box(engine::judge_metric(&config, black_box(&baseline), black_box(&canary)));
    });

    let kay_config = kayenta::MetricConfig::new("m", vec![], kayenta::Config::default());
    let kay_verdict = kayenta::classify_metric(&kay_config, &baseline, &canary);
    let kay = median_seconds(iterations, || {
        black_box(kayenta::classify_metric(&kay_config, black_box(&baseline), black_box(&canary)));
    });

    let opt = |v: Option<f64>| v.map_or("null".to_string(), |v| format!("{v:?}"));
    println!(
        "{{\"nBaseline\": {}, \"nCanary\": {}, \"iterations\": {iterations}, \"augurSeconds\": {augur:?}, \
         \"kayentaSeconds\": {kay:?}, \"classification\": \"{:?}\", \"pValue\": {}, \"estimate\": {}, \
         \"ciLower\": {}, \"ciUpper\": {}, \"kayentaClassification\": \"{:?}\"}}",
        baseline.len(),
        canary.len(),
        verdict.classification,
        opt(verdict.p_value),
        opt(verdict.estimate),
        opt(verdict.ci_lower),
        opt(verdict.ci_upper),
        kay_verdict.classification,
    );
}
