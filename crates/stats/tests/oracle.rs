//! Oracle test: augur's engine against scipy / numpy.
//!
//! Generates deterministic datasets, runs `python3 tests/oracle/oracle.py` (scipy.stats.mannwhitneyu with
//! method 'exact' / 'asymptotic', numpy's sorted matrix of differences for Hodges–Lehmann, binomtest and
//! beta.ppf for counts, chi2_contingency for proportions, false_discovery_control for BH) and requires:
//! p-values within 1e-9 relative, and Hodges–Lehmann estimates and interval endpoints exactly equal (the same
//! order statistics of the same floating-point differences).
//!
//! Needs python3 with scipy and numpy. It fails (never skips) without them: run ./scripts/test.sh, which
//! installs them.

use std::io::Write;
use std::process::{Command, Stdio};

use augur_stats::engine::{
    Correction, Direction, UMethod, adjust_p_values, exact_available, hodges_lehmann, mann_whitney, poisson_rate_test,
    two_proportion_test,
};
use serde_json::{Value, json};

const P_TOLERANCE: f64 = 1e-9;

mod common;

use common::Rng;

impl Rng {
    fn sample(&mut self, n: usize, mean: f64, sd: f64, round_to: Option<f64>) -> Vec<f64> {
        (0..n)
            .map(|_| {
                let v = mean + sd * self.normal();
                match round_to {
                    Some(r) => (v / r).round() * r,
                    None => v,
                }
            })
            .collect()
    }
}

const DIRECTIONS: [(Direction, &str); 3] =
    [(Direction::Either, "either"), (Direction::Increase, "increase"), (Direction::Decrease, "decrease")];

struct MwuCase {
    canary: Vec<f64>,
    baseline: Vec<f64>,
    direction: Direction,
    dir_name: &'static str,
    alpha: f64,
    method: UMethod,
}

fn mwu_cases() -> Vec<MwuCase> {
    let mut rng = Rng::new(20_260_101);
    let mut cases = Vec::new();
    // (m, n, shift in sd, rounding, scale, method)
    type Spec = (usize, usize, f64, Option<f64>, f64, UMethod);
    let specs: &[Spec] = &[
        (3, 3, 2.0, None, 1.0, UMethod::Auto),
        (4, 5, 1.0, None, 1.0, UMethod::Auto),
        (5, 4, -0.5, None, 1.0, UMethod::Auto),
        (8, 8, 1.5, None, 1.0, UMethod::Auto),
        (7, 12, 0.0, None, 1.0, UMethod::Auto),
        (10, 10, 1.0, None, 1e-6, UMethod::Auto),
        (15, 20, 0.8, None, 1e9, UMethod::Auto),
        (25, 25, 0.6, None, 1.0, UMethod::Auto),
        (30, 17, -0.9, None, 0.001, UMethod::Auto),
        (40, 40, 0.3, None, 1.0, UMethod::Auto),
        (50, 50, 0.5, None, 1.0, UMethod::Auto),
        (64, 64, 0.4, None, 1.0, UMethod::Auto),
        (8, 200, 0.7, None, 1.0, UMethod::Auto),
        (5, 400, 1.2, None, 1.0, UMethod::Auto),
        // The same untied sizes through the normal approximation.
        (8, 8, 1.5, None, 1.0, UMethod::Asymptotic),
        (25, 25, 0.6, None, 1.0, UMethod::Asymptotic),
        // Ties → asymptotic.
        (5, 5, 1.0, Some(1.0), 1.0, UMethod::Auto),
        (12, 15, 0.5, Some(0.5), 1.0, UMethod::Auto),
        (30, 30, 0.7, Some(1.0), 3.0, UMethod::Auto),
        (60, 45, 0.2, Some(0.25), 1.0, UMethod::Auto),
        (200, 180, 0.3, Some(0.1), 1.0, UMethod::Auto),
        (500, 500, 0.05, Some(1.0), 1.0, UMethod::Auto),
        (210, 210, 0.4, Some(2.0), 1.0, UMethod::Auto),
        // Large untied → asymptotic.
        (100, 120, 0.3, None, 1.0, UMethod::Auto),
        (1000, 800, 0.1, None, 50.0, UMethod::Auto),
        (2000, 2000, 0.05, None, 1.0, UMethod::Auto),
        (3, 900, -1.5, None, 1.0, UMethod::Auto),
    ];
    for (i, &(m, n, shift, round, scale, method)) in specs.iter().enumerate() {
        let baseline: Vec<f64> = rng.sample(n, 10.0, 2.0, round).iter().map(|v| v * scale).collect();
        let canary: Vec<f64> = rng.sample(m, 10.0 + 2.0 * shift, 2.0, round).iter().map(|v| v * scale).collect();
        let (direction, dir_name) = DIRECTIONS[i % 3];
        let alpha = [0.05, 0.01, 0.1, 0.02][i % 4];
        cases.push(MwuCase { canary: canary.clone(), baseline: baseline.clone(), direction, dir_name, alpha, method });
        // Every case also two-sided (the default), at 0.05.
        if direction != Direction::Either {
            cases.push(MwuCase {
                canary,
                baseline,
                direction: Direction::Either,
                dir_name: "either",
                alpha: 0.05,
                method,
            });
        }
    }
    // Zero-inflated counts (the "Large Input" shape) and a constant-vs-constant case.
    let zi = |rng: &mut Rng, n: usize, p_zero: f64| -> Vec<f64> {
        (0..n).map(|_| if rng.uniform() < p_zero { 0.0 } else { (rng.uniform() * 5.0).floor() / 4.0 }).collect()
    };
    let (b, c) = (zi(&mut rng, 210, 0.92), zi(&mut rng, 210, 0.7));
    cases.push(MwuCase {
        canary: c,
        baseline: b,
        direction: Direction::Either,
        dir_name: "either",
        alpha: 0.02,
        method: UMethod::Auto,
    });
    cases.push(MwuCase {
        canary: vec![10.0; 6],
        baseline: vec![1.0; 7],
        direction: Direction::Increase,
        dir_name: "increase",
        alpha: 0.05,
        method: UMethod::Auto,
    });
    cases
}

fn run_oracle(input: &Value) -> Value {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/oracle/oracle.py");
    let help = "the oracle test needs python3 with scipy and numpy; run ./scripts/test.sh, which installs them";
    let mut child = Command::new("python3")
        .arg(script)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run python3 ({e}): {help}"));
    // A failed write (the script exited early, e.g. scipy missing) is reported through its stderr below.
    let written = child.stdin.take().unwrap().write_all(input.to_string().as_bytes());
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    if stderr.contains("IMPORT-ERROR") {
        panic!("{}: {help}", stderr.trim());
    }
    assert!(out.status.success(), "oracle.py failed ({}): {stderr} ({help})", out.status);
    written.expect("writing the oracle input");
    serde_json::from_slice(&out.stdout).expect("oracle.py output is JSON")
}

/// A float sent as its bit pattern by oracle.py (`None` for null).
fn f(v: &Value) -> Option<f64> {
    v.as_u64().map(f64::from_bits)
}

fn rel_err(ours: f64, theirs: f64) -> f64 {
    if ours == theirs { 0.0 } else { ((ours - theirs) / theirs.abs().max(f64::MIN_POSITIVE)).abs() }
}

#[test]
fn engine_agrees_with_scipy() {
    let cases = mwu_cases();
    let mut rng = Rng::new(7);
    // Counts: (canary events, canary exposure, baseline events, baseline exposure).
    let mut poisson = vec![(0u64, 10.0, 0u64, 10.0), (10, 5.0, 0, 5.0), (3, 60.0, 1, 60.0), (27, 60.0, 10, 60.0)];
    poisson.extend([
        (150, 1000.0, 100, 1000.0),
        (40, 250.0, 300, 3000.0),
        (5000, 1e6, 4800, 1e6),
        (97_000, 3e7, 100_000, 3e7),
    ]);
    for _ in 0..8 {
        let ec = 10.0 + (rng.uniform() * 990.0).round();
        let eb = 10.0 + (rng.uniform() * 990.0).round();
        poisson.push(((rng.uniform() * 80.0) as u64, ec, (rng.uniform() * 80.0) as u64, eb));
    }
    poisson.retain(|&(xc, _, xb, _)| xc + xb > 0);
    let proportions = [
        (30.0, 1000.0, 15.0, 1000.0),
        (3.0, 100.0, 0.0, 120.0),
        (480.0, 100_000.0, 400.0, 100_000.0),
        (55.0, 60.0, 50.0, 61.0),
        (0.0, 10.0, 2.0, 10.0),
    ];
    let adjust_sets = [vec![0.01, 0.04, 0.03, 0.005], vec![0.2, 0.001, 0.5, 0.049, 0.051, 0.0001], vec![0.7]];

    let input = json!({
        "mwu": cases.iter().map(|c| {
            let ours = mann_whitney(&c.canary, &c.baseline, c.direction, c.method).unwrap();
            let hl = hodges_lehmann(&c.canary, &c.baseline, c.direction, c.alpha).unwrap();
            json!({"canary": c.canary, "baseline": c.baseline, "direction": c.dir_name, "alpha": c.alpha,
                   "exact": ours.exact, "hl_exact": hl.exact})
        }).collect::<Vec<_>>(),
        "poisson": poisson.iter().enumerate().map(|(i, &(xc, ec, xb, eb))| json!({
            "canary_events": xc, "canary_exposure": ec, "baseline_events": xb, "baseline_exposure": eb,
            "direction": DIRECTIONS[i % 3].1, "alpha": ([0.05, 0.01][i % 2])})).collect::<Vec<_>>(),
        "proportions": proportions.iter().enumerate().map(|(i, &(xc, nc, xb, nb))| json!({
            "canary_successes": xc, "canary_trials": nc, "baseline_successes": xb, "baseline_trials": nb,
            "direction": DIRECTIONS[i % 3].1, "alpha": 0.05})).collect::<Vec<_>>(),
        "adjust": adjust_sets,
    });
    let out = run_oracle(&input);
    println!("oracle versions: {}", out["versions"]);

    // Mann–Whitney and Hodges–Lehmann.
    let (mut worst_exact, mut worst_asym, mut worst_ints) = (0.0f64, 0.0f64, 0.0f64);
    let (mut n_exact, mut n_asym, mut n_intervals) = (0, 0, 0);
    for (i, (c, theirs)) in cases.iter().zip(out["mwu"].as_array().unwrap()).enumerate() {
        let ours = mann_whitney(&c.canary, &c.baseline, c.direction, c.method).unwrap();
        let ties = {
            let mut all: Vec<f64> = c.canary.iter().chain(&c.baseline).copied().collect();
            all.sort_by(f64::total_cmp);
            all.windows(2).any(|w| w[0] == w[1])
        };
        if c.method == UMethod::Auto {
            assert_eq!(ours.exact, !ties && exact_available(c.canary.len(), c.baseline.len()), "case {i}: method");
        }
        assert_eq!(ours.u, f(&theirs["u"]).unwrap(), "case {i}: U");
        let p = f(&theirs["p"]).unwrap();
        let err = rel_err(ours.p_value, p);
        assert!(
            err <= P_TOLERANCE,
            "case {i} ({}x{}, {}, exact {}): p {} vs scipy {p} (rel {err:e})",
            c.canary.len(),
            c.baseline.len(),
            c.dir_name,
            ours.exact,
            ours.p_value
        );
        if ours.exact {
            n_exact += 1;
            worst_exact = worst_exact.max(err);
            let p_ints = f(&theirs["p_exact_ints"]).unwrap();
            worst_ints = worst_ints.max(rel_err(ours.p_value, p_ints));
            assert!(rel_err(ours.p_value, p_ints) <= 1e-15, "case {i}: exact p vs exact integer counts {p_ints}");
        } else {
            n_asym += 1;
            worst_asym = worst_asym.max(err);
        }
        let hl = hodges_lehmann(&c.canary, &c.baseline, c.direction, c.alpha).unwrap();
        if c.method == UMethod::Auto {
            assert_eq!(hl.exact, ours.exact, "case {i}");
        }
        assert_eq!(hl.estimate, f(&theirs["estimate"]).unwrap(), "case {i}: HL estimate");
        assert_eq!(hl.k, theirs["k"].as_u64(), "case {i}: k");
        assert_eq!(hl.lower, f(&theirs["lower"]), "case {i}: lower");
        assert_eq!(hl.upper, f(&theirs["upper"]), "case {i}: upper");
        if hl.k.is_some() {
            n_intervals += 1;
        }
    }

    // Counts.
    let mut worst_poisson = (0.0f64, 0.0f64);
    for (i, (&(xc, ec, xb, eb), theirs)) in poisson.iter().zip(out["poisson"].as_array().unwrap()).enumerate() {
        let dir = DIRECTIONS[i % 3].0;
        let r = poisson_rate_test(xc, ec, xb, eb, dir, [0.05, 0.01][i % 2]).unwrap();
        let err = rel_err(r.p_value, f(&theirs["p"]).unwrap());
        assert!(err <= P_TOLERANCE, "poisson {i}: p {} vs {:?} ({err:e})", r.p_value, f(&theirs["p"]));
        worst_poisson.0 = worst_poisson.0.max(err);
        let scale = (xc + xb) as f64 * (1.0 / ec + 1.0 / eb);
        for (ours, key) in [(r.lower, "lower"), (r.upper, "upper")] {
            let t = f(&theirs[key]).unwrap();
            let e = (ours.unwrap() - t).abs() / scale;
            assert!(e <= P_TOLERANCE, "poisson {i}: {key} {ours:?} vs {t} ({e:e})");
            worst_poisson.1 = worst_poisson.1.max(e);
        }
        let t = f(&theirs["effect_lower"]).unwrap();
        assert!((r.effect_lower.unwrap() - t).abs() <= 1e-9 * t.abs().max(1.0), "poisson {i}: effect lower");
        match f(&theirs["effect_upper"]) {
            Some(t) => assert!((r.effect_upper.unwrap() - t).abs() <= 1e-9 * t.abs().max(1.0), "poisson {i}"),
            None => assert_eq!(r.effect_upper, None),
        }
    }

    // Proportions.
    let mut worst_prop = 0.0f64;
    for (i, (&(xc, nc, xb, nb), theirs)) in proportions.iter().zip(out["proportions"].as_array().unwrap()).enumerate() {
        let r = two_proportion_test(xc, nc, xb, nb, DIRECTIONS[i % 3].0, 0.05).unwrap();
        for (ours, key) in [(r.p_value, "p"), (r.lower.unwrap(), "lower"), (r.upper.unwrap(), "upper")] {
            let t = f(&theirs[key]).unwrap();
            let err = if key == "p" { rel_err(ours, t) } else { (ours - t).abs() };
            assert!(err <= P_TOLERANCE, "proportions {i}: {key} {ours} vs {t} ({err:e})");
            worst_prop = worst_prop.max(err);
        }
    }

    // Corrections.
    for (ps, theirs) in adjust_sets.iter().zip(out["adjust"].as_array().unwrap()) {
        for (method, key) in [(Correction::BenjaminiHochberg, "bh"), (Correction::Holm, "holm")] {
            let ours = adjust_p_values(ps, method);
            for (a, b) in ours.iter().zip(theirs[key].as_array().unwrap()) {
                let b = f(b).unwrap();
                assert!(rel_err(*a, b) <= 1e-15, "{key}: {ours:?} vs {b}");
            }
        }
    }

    println!(
        "scipy agreement: {} Mann–Whitney cases ({n_exact} exact, max rel p error {worst_exact:.2e}; \
         {n_asym} asymptotic, max {worst_asym:.2e}); exact p vs exact integer counts max {worst_ints:.2e}; \
         Hodges–Lehmann estimate and {n_intervals} intervals bit-identical to numpy order statistics; \
         {} Poisson cases (max rel p error {:.2e}, CI {:.2e}); {} proportion cases (max {worst_prop:.2e}); \
         Holm and BH identical",
        cases.len(),
        poisson.len(),
        worst_poisson.0,
        worst_poisson.1,
        proportions.len()
    );
}
