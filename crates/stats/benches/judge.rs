//! Criterion benchmarks of augur's default engine (whole judgements, including sorting).
//!
//!     cargo bench -p augur-stats --bench judge

use std::hint::black_box;

use augur_stats::engine::{MetricConfig, MetricKind, judge_metric};
use criterion::{Criterion, criterion_group, criterion_main};

/// xorshift64* normals (Box–Muller), deterministic.
fn normals(seed: u64, n: usize, mean: f64, sd: f64) -> Vec<f64> {
    let mut s = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut uniform = move || {
        s ^= s >> 12;
        s ^= s << 25;
        s ^= s >> 27;
        ((s.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 11) as f64 + 0.5) / (1u64 << 53) as f64
    };
    (0..n)
        .map(|_| {
            let (u, v) = (uniform(), uniform());
            mean + sd * (-2.0 * u.ln()).sqrt() * (2.0 * std::f64::consts::PI * v).cos()
        })
        .collect()
}

fn judge(c: &mut Criterion) {
    let mut group = c.benchmark_group("judge_metric");
    let config = MetricConfig::default();
    let (y, x) = (normals(1, 5000, 100.0, 10.0), normals(2, 5000, 101.0, 10.0));
    group.bench_function("continuous 5000x5000", |b| b.iter(|| judge_metric(&config, black_box(&y), black_box(&x))));
    let (yt, xt): (Vec<f64>, Vec<f64>) = (y.iter().map(|v| v.round()).collect(), x.iter().map(|v| v.round()).collect());
    group.bench_function("continuous 5000x5000 tied", |b| {
        b.iter(|| judge_metric(&config, black_box(&yt), black_box(&xt)))
    });
    let (ys, xs) = (normals(3, 60, 100.0, 10.0), normals(4, 60, 104.0, 10.0));
    group
        .bench_function("continuous 60x60 exact", |b| b.iter(|| judge_metric(&config, black_box(&ys), black_box(&xs))));
    let count = MetricConfig { kind: MetricKind::Count, ..MetricConfig::default() };
    let (yc, xc): (Vec<f64>, Vec<f64>) =
        (y.iter().map(|v| (v * 10.0).round()).collect(), x.iter().map(|v| (v * 10.0).round()).collect());
    group.bench_function("count 5000 steps (~5e6 events)", |b| {
        b.iter(|| judge_metric(&count, black_box(&yc), black_box(&xc)))
    });
    group.finish();
}

criterion_group!(benches, judge);
criterion_main!(benches);
