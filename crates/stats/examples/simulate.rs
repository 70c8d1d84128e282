//! Operating characteristics of both engines: false-alarm rate on A/A data and power on shifted data.
//!
//! ```text
//! cargo run -p augur-stats --release --example simulate [-- REPLICATIONS]
//! ```
//!
//! Deterministic: a fixed-seed xorshift64* generator with Box–Muller normals (no dependencies), one seed per
//! scenario, so every run prints the same markdown table (docs/statistics.md shows `-- 4000`). Every engine sees the same
//! replications. "Flagged" means High or Low (direction `either`, the default of both engines).

use augur_stats::engine::{self, Classification, MetricKind, Sample, SequentialDecision, SerialDependence};
use augur_stats::kayenta;

/// xorshift64* (Vigna 2016): small, fast, good enough for a Monte Carlo of this size.
struct Rng {
    state: u64,
    spare: Option<f64>,
}

impl Rng {
    fn new(seed: u64) -> Self {
        // SplitMix64 scrambles the seed so that nearby seeds give unrelated streams.
        let mut z = seed.wrapping_add(0x9E37_79B9_7F4A_7C15);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        Rng { state: z | 1, spare: None }
    }

    fn next_u64(&mut self) -> u64 {
        let mut x = self.state;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.state = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// Uniform on (0, 1): 53 random bits, never exactly 0.
    fn uniform(&mut self) -> f64 {
        ((self.next_u64() >> 11) as f64 + 0.5) / (1u64 << 53) as f64
    }

    /// Standard normal by Box–Muller (both variates used).
    fn normal(&mut self) -> f64 {
        if let Some(z) = self.spare.take() {
            return z;
        }
        let r = (-2.0 * self.uniform().ln()).sqrt();
        let theta = 2.0 * std::f64::consts::PI * self.uniform();
        self.spare = Some(r * theta.sin());
        r * theta.cos()
    }

    /// Student's t with `df` degrees of freedom (integer df: normal / sqrt(χ²_df / df)).
    fn student_t(&mut self, df: u32) -> f64 {
        let z = self.normal();
        let chi2: f64 = (0..df).map(|_| self.normal().powi(2)).sum();
        z / (chi2 / f64::from(df)).sqrt()
    }

    /// Poisson by Knuth's multiplication method (fine for the small means used here).
    fn poisson(&mut self, lambda: f64) -> f64 {
        let limit = (-lambda).exp();
        let mut k = 0u32;
        let mut p = self.uniform();
        while p > limit {
            k += 1;
            p *= self.uniform();
        }
        f64::from(k)
    }
}

/// How one side's series is generated.
#[derive(Clone, Copy)]
enum Gen {
    /// i.i.d. N(mean, sd).
    Normal { mean: f64, sd: f64 },
    /// i.i.d. mean·exp(N(0, σ)) (lognormal, right-skewed).
    LogNormal { scale: f64, sigma: f64 },
    /// i.i.d. mean + scale·t(df) (heavy tails).
    StudentT { mean: f64, scale: f64, df: u32 },
    /// Stationary AR(1) with marginal N(mean, sd) and lag-1 correlation φ.
    Ar1 { mean: f64, sd: f64, phi: f64 },
    /// A latent stationary AR(1) (marginal sd, lag-1 correlation φ) observed with independent N(0, sd) noise:
    /// ARMA(1,1), whose lag-1 correlation (φ/2) understates its memory.
    Ar1Noisy { mean: f64, sd: f64, phi: f64 },
    /// i.i.d. Poisson(λ) counts per step.
    Poisson { lambda: f64 },
}

impl Gen {
    fn sample(self, rng: &mut Rng, n: usize) -> Vec<f64> {
        match self {
            Gen::Normal { mean, sd } => (0..n).map(|_| mean + sd * rng.normal()).collect(),
            Gen::LogNormal { scale, sigma } => (0..n).map(|_| scale * (sigma * rng.normal()).exp()).collect(),
            Gen::StudentT { mean, scale, df } => (0..n).map(|_| mean + scale * rng.student_t(df)).collect(),
            Gen::Ar1 { mean, sd, phi } => {
                let innovation = sd * (1.0 - phi * phi).sqrt();
                let mut x = sd * rng.normal(); // stationary start
                (0..n)
                    .map(|_| {
                        let v = mean + x;
                        x = phi * x + innovation * rng.normal();
                        v
                    })
                    .collect()
            }
            Gen::Ar1Noisy { mean, sd, phi } => {
                let latent = Gen::Ar1 { mean, sd, phi }.sample(rng, n);
                latent.into_iter().map(|v| v + sd * rng.normal()).collect()
            }
            Gen::Poisson { lambda } => (0..n).map(|_| rng.poisson(lambda)).collect(),
        }
    }
}

struct Scenario {
    label: &'static str,
    baseline: Gen,
    canary: Gen,
    n: usize,
    /// Judge the means of consecutive blocks of this many steps instead of the raw steps (1 = raw).
    block: usize,
    counts: bool,
}

fn block_means(v: &[f64], block: usize) -> Vec<f64> {
    v.chunks_exact(block).map(|c| c.iter().sum::<f64>() / block as f64).collect()
}

#[derive(Default)]
struct Tally {
    kayenta: usize,
    augur_05: usize,
    augur_02: usize,
    augur_independent: usize,
    augur_count: usize,
    sequential: usize,
}

fn flagged(c: Classification) -> bool {
    matches!(c, Classification::High | Classification::Low)
}

fn run(s: &Scenario, seed: u64, reps: usize) -> Tally {
    let mut rng = Rng::new(seed);
    let kay = kayenta::MetricConfig::new("m", vec![], kayenta::Config::default());
    let a05 = engine::MetricConfig::default();
    let a02 = engine::MetricConfig { alpha: 0.02, ..engine::MetricConfig::default() };
    let independent =
        engine::MetricConfig { serial_dependence: SerialDependence::Independent, ..engine::MetricConfig::default() };
    let count = engine::MetricConfig { kind: MetricKind::Count, ..engine::MetricConfig::default() };
    let mut t = Tally::default();
    for _ in 0..reps {
        let b = s.baseline.sample(&mut rng, s.n);
        let c = s.canary.sample(&mut rng, s.n);
        let (b, c) = if s.block > 1 { (block_means(&b, s.block), block_means(&c, s.block)) } else { (b, c) };
        let k = kayenta::classify_metric(&kay, &b, &c).classification;
        t.kayenta += usize::from(matches!(k, kayenta::Classification::High | kayenta::Classification::Low));
        t.augur_05 += usize::from(flagged(engine::judge_metric(&a05, &b, &c).classification));
        t.augur_02 += usize::from(flagged(engine::judge_metric(&a02, &b, &c).classification));
        t.augur_independent += usize::from(flagged(engine::judge_metric(&independent, &b, &c).classification));
        let seq_config = if s.counts { &count } else { &a05 };
        let seq = engine::judge_sequential(seq_config, Sample::new(&b), Sample::new(&c));
        t.sequential += usize::from(matches!(seq.decision, SequentialDecision::High | SequentialDecision::Low));
        if s.counts {
            t.augur_count += usize::from(flagged(engine::judge_metric(&count, &b, &c).classification));
        }
    }
    t
}

fn pct(k: usize, reps: usize) -> String {
    format!("{:.1} %", 100.0 * k as f64 / reps as f64)
}

fn main() {
    let reps: usize = std::env::args().nth(1).map_or(1000, |a| a.parse().expect("REPLICATIONS must be an integer"));
    let normal = Gen::Normal { mean: 100.0, sd: 10.0 };
    let shifted = |k: f64| Gen::Normal { mean: 100.0 + 10.0 * k, sd: 10.0 };
    let lognormal = Gen::LogNormal { scale: 100.0, sigma: 1.0 };
    let t3 = Gen::StudentT { mean: 100.0, scale: 10.0, df: 3 };
    let ar = |phi: f64| Gen::Ar1 { mean: 100.0, sd: 10.0, phi };
    let noisy = |phi: f64| Gen::Ar1Noisy { mean: 100.0, sd: 10.0, phi };
    let pois = |lambda: f64| Gen::Poisson { lambda };
    let aa = |label, g: Gen, n| Scenario { label, baseline: g, canary: g, n, block: 1, counts: false };
    let scenarios = [
        aa("A/A, i.i.d. N(100, 10), n = 10", normal, 10),
        aa("A/A, i.i.d. N(100, 10), n = 30", normal, 30),
        aa("A/A, i.i.d. N(100, 10), n = 100", normal, 100),
        aa("A/A, i.i.d. lognormal (σ = 1), n = 30", lognormal, 30),
        aa("A/A, i.i.d. lognormal (σ = 1), n = 100", lognormal, 100),
        aa("A/A, i.i.d. 100 + 10·t₃ (heavy tails), n = 100", t3, 100),
        aa("A/A, AR(1) φ = 0.3, n = 30", ar(0.3), 30),
        aa("A/A, AR(1) φ = 0.3, n = 100", ar(0.3), 100),
        aa("A/A, AR(1) φ = 0.7, n = 30", ar(0.7), 30),
        aa("A/A, AR(1) φ = 0.7, n = 100", ar(0.7), 100),
        aa("A/A, AR(1) φ = 0.7, n = 300", ar(0.7), 300),
        aa("A/A, AR(1) φ = 0.9, n = 100", ar(0.9), 100),
        aa("A/A, AR(1) φ = 0.9 + equal white noise (ARMA), n = 100", noisy(0.9), 100),
        Scenario {
            label: "A/A, AR(1) φ = 0.7, n = 100, judged as 10 means of 10 steps",
            baseline: ar(0.7),
            canary: ar(0.7),
            n: 100,
            block: 10,
            counts: false,
        },
        Scenario { label: "A/A, Poisson(0.5) counts, n = 60", counts: true, ..aa("", pois(0.5), 60) },
        Scenario { label: "A/A, Poisson(2) counts, n = 60", counts: true, ..aa("", pois(2.0), 60) },
        Scenario { label: "shift +1σ, i.i.d. normal, n = 10", canary: shifted(1.0), ..aa("", normal, 10) },
        Scenario { label: "shift +0.5σ, i.i.d. normal, n = 30", canary: shifted(0.5), ..aa("", normal, 30) },
        Scenario { label: "shift +0.5σ, i.i.d. normal, n = 100", canary: shifted(0.5), ..aa("", normal, 100) },
        Scenario { label: "shift +1σ, i.i.d. normal, n = 30", canary: shifted(1.0), ..aa("", normal, 30) },
        Scenario { label: "shift +1σ, i.i.d. normal, n = 100", canary: shifted(1.0), ..aa("", normal, 100) },
        Scenario {
            label: "shift +1σ, AR(1) φ = 0.7, n = 100",
            canary: Gen::Ar1 { mean: 110.0, sd: 10.0, phi: 0.7 },
            ..aa("", ar(0.7), 100)
        },
        Scenario {
            label: "shift +1σ, AR(1) φ = 0.7, n = 300",
            canary: Gen::Ar1 { mean: 110.0, sd: 10.0, phi: 0.7 },
            ..aa("", ar(0.7), 300)
        },
        Scenario {
            label: "error rate ×2, Poisson 0.5 → 1.0, n = 60",
            canary: pois(1.0),
            counts: true,
            ..aa("", pois(0.5), 60)
        },
    ];
    println!("{reps} replications per row; flagged = High or Low (direction `either`).\n");
    println!(
        "| scenario | Kayenta (default config) | augur continuous, α = 0.05 | augur continuous, α = 0.02 \
         | augur α = 0.05, `serialDependence: independent` | augur `kind: count`, α = 0.05 \
         | augur sequential, α = 0.05, every step |"
    );
    println!("|---|---|---|---|---|---|---|");
    for (i, s) in scenarios.iter().enumerate() {
        let t = run(s, 0xA06_0000 + i as u64, reps);
        let count = if s.counts { pct(t.augur_count, reps) } else { "–".to_string() };
        println!(
            "| {} | {} | {} | {} | {} | {} | {} |",
            s.label,
            pct(t.kayenta, reps),
            pct(t.augur_05, reps),
            pct(t.augur_02, reps),
            pct(t.augur_independent, reps),
            count,
            pct(t.sequential, reps)
        );
    }
}
