//! Tests of augur's default engine through its public API: definitions, hand-computed cases, the Kayenta
//! failure cases from the reference, property tests (deterministic xorshift data), sequential error rates,
//! serde shapes and a timing print for 5 000 vs 5 000.

use std::time::Instant;

use augur_stats::engine::{
    Classification, ContinuousSequence, CountSequence, Direction, ExactU, JudgeOptions, Margin, MetricConfig,
    MetricInput, MetricKind, MetricVerdict, NanPolicy, Sample, SequentialDecision, TestKind, adjust_p_values,
    hodges_lehmann, judge_all, judge_metric, judge_sample, judge_sequential, judge_sequential_all,
    kth_pairwise_difference, mann_whitney,
};
use augur_stats::engine::{Correction, SerialDependence, UMethod};

mod common;

use common::Rng;

impl Rng {
    /// Poisson(λ) by inversion (small λ).
    fn poisson(&mut self, lambda: f64) -> u64 {
        let u = self.uniform();
        let (mut k, mut p) = (0u64, (-lambda).exp());
        let mut cdf = p;
        while u > cdf && k < 10_000 {
            k += 1;
            p *= lambda / k as f64;
            cdf += p;
        }
        k
    }
    fn normals(&mut self, n: usize, mean: f64, sd: f64) -> Vec<f64> {
        (0..n).map(|_| mean + sd * self.normal()).collect()
    }
    /// Values on a 1/1024 grid, so shifting or scaling by powers of two is exact.
    fn gridded(&mut self, n: usize, mean: f64, sd: f64) -> Vec<f64> {
        (0..n).map(|_| ((mean + sd * self.normal()) * 1024.0).round() / 1024.0).collect()
    }
}

fn cfg() -> MetricConfig {
    MetricConfig::default()
}

fn sorted_diffs(x: &[f64], y: &[f64]) -> Vec<f64> {
    let mut d: Vec<f64> = x.iter().flat_map(|&a| y.iter().map(move |&b| a - b)).collect();
    d.sort_by(f64::total_cmp);
    d
}

// ---------------------------------------------------------------------------------------------------------
// Definitions and hand-computed cases

#[test]
fn exact_distribution_sums_to_one() {
    for (m, n) in [(1, 1), (2, 5), (8, 8), (20, 30), (64, 64), (5, 1000)] {
        let d = ExactU::new(m, n).unwrap();
        let mn = (m * n) as u64;
        let total: f64 = (0..=mn).map(|u| d.pmf(u)).sum();
        assert!((total - 1.0).abs() < 1e-12, "{m}x{n}: {total}");
        assert_eq!(d.cdf(mn), 1.0);
        assert_eq!(d.sf(0), 1.0);
    }
}

#[test]
fn exact_distribution_hand_computed() {
    // m = 2, n = 2: arrangements of {x,x,y,y}: U ∈ {0,1,2,2,3,4} → counts 1,1,2,1,1 of 6.
    let d = ExactU::new(2, 2).unwrap();
    let c: Vec<u128> = (0..=4).map(|u| d.count_eq(u)).collect();
    assert_eq!(c, [1, 1, 2, 1, 1]);
    assert_eq!(d.total(), 6);
    // m = 1: U uniform on 0..=n.
    let d = ExactU::new(1, 9).unwrap();
    assert!((0..=9).all(|u| d.count_eq(u) == 1));
    // scipy docs: two-sided exact p for males vs females is 1/9.
    let r = mann_whitney(&[19.0, 22.0, 16.0, 29.0, 24.0], &[20.0, 11.0, 17.0, 12.0], Direction::Either, UMethod::Auto)
        .unwrap();
    assert!(r.exact);
    assert!((r.p_value - 1.0 / 9.0).abs() < 1e-16);
}

/// The interval's coverage is exactly 1 − 2·P(U ≤ k − 1) ≥ 1 − α: checked by enumerating every arrangement
/// of ranks 1..=m+n under "no shift", and k is the largest index with that guarantee.
#[test]
fn hodges_lehmann_coverage_identity() {
    for (m, n, alpha) in [(4usize, 5usize, 0.05), (5, 5, 0.1), (6, 4, 0.2), (7, 7, 0.05)] {
        let big = m + n;
        let dist = ExactU::new(m, n).unwrap();
        let tail = alpha / 2.0;
        let (mut covered, mut total, mut k_seen) = (0u128, 0u128, None);
        for mask in 0u32..(1 << big) {
            if mask.count_ones() as usize != m {
                continue;
            }
            let x: Vec<f64> = (0..big).filter(|i| mask & (1 << i) != 0).map(|i| i as f64).collect();
            let y: Vec<f64> = (0..big).filter(|i| mask & (1 << i) == 0).map(|i| i as f64).collect();
            let hl = hodges_lehmann(&x, &y, Direction::Either, alpha).unwrap();
            k_seen = hl.k;
            total += 1;
            if let (Some(lo), Some(hi)) = (hl.lower, hl.upper)
                && lo <= 0.0
                && 0.0 <= hi
            {
                covered += 1;
            }
        }
        let k = k_seen.unwrap();
        assert_eq!(total, dist.total());
        assert_eq!(covered, total - 2 * dist.count_le(k - 1), "{m}x{n}");
        assert!(dist.cdf(k - 1) <= tail && dist.cdf(k) > tail, "k = {k} is the largest valid index");
        assert!(covered as f64 / total as f64 >= 1.0 - alpha);
    }
}

#[test]
fn hodges_lehmann_matches_definition() {
    let mut rng = Rng::new(3);
    for (m, n) in [(1, 1), (3, 8), (25, 30), (101, 80)] {
        let x = rng.normals(m, 1.0, 2.0);
        let y = rng.normals(n, 0.0, 2.0);
        let all = sorted_diffs(&x, &y);
        let hl = hodges_lehmann(&x, &y, Direction::Either, 0.05).unwrap();
        let med =
            if all.len() % 2 == 1 { all[all.len() / 2] } else { (all[all.len() / 2 - 1] + all[all.len() / 2]) / 2.0 };
        assert_eq!(hl.estimate, med);
        if let Some(k) = hl.k {
            assert_eq!(hl.lower, Some(all[k as usize - 1]));
            assert_eq!(hl.upper, Some(all[all.len() - k as usize]));
        }
        for k in [1, (all.len() as u64 / 3).max(1), all.len() as u64] {
            assert_eq!(kth_pairwise_difference(&x, &y, k), Some(all[k as usize - 1]));
        }
    }
    assert_eq!(kth_pairwise_difference(&[1.0], &[2.0], 2), None);
}

#[test]
fn ties_use_mid_ranks_and_the_normal_quantile() {
    let x = [0.0, 0.0, 1.0, 1.0, 1.0, 2.0, 2.0, 3.0];
    let y = [0.0, 0.0, 0.0, 0.0, 1.0, 1.0, 1.0, 2.0];
    let r = mann_whitney(&x, &y, Direction::Either, UMethod::Auto).unwrap();
    assert!(!r.exact);
    // U = Σ over canary of (#baseline below + ½ #ties)
    let u: f64 = x
        .iter()
        .map(|&a| {
            y.iter()
                .map(|&b| {
                    if a > b {
                        1.0
                    } else if a == b {
                        0.5
                    } else {
                        0.0
                    }
                })
                .sum::<f64>()
        })
        .sum();
    assert_eq!(r.u, u);
    let hl = hodges_lehmann(&x, &y, Direction::Either, 0.05).unwrap();
    assert!(!hl.exact);
    let all = sorted_diffs(&x, &y);
    let k = hl.k.unwrap() as usize;
    assert_eq!(hl.lower, Some(all[k - 1]));
    assert_eq!(hl.upper, Some(all[all.len() - k]));
}

#[test]
fn constant_samples_are_handled_analytically() {
    // Both constant and equal: Pass, p = 1, estimate 0, interval [0, 0].
    let v = judge_metric(&cfg(), &[3.0; 10], &[3.0; 10]);
    assert_eq!(v.classification, Classification::Pass);
    assert_eq!(v.p_value, Some(1.0));
    assert_eq!((v.estimate, v.ci_lower, v.ci_upper), (Some(0.0), Some(0.0), Some(0.0)));
    // Both constant, different (Kayenta adds random noise here): High, the interval is the one difference.
    let v = judge_metric(&cfg(), &[1.0; 10], &[10.0; 10]);
    assert_eq!(v.classification, Classification::High);
    assert_eq!((v.estimate, v.ci_lower, v.ci_upper), (Some(9.0), Some(9.0), Some(9.0)));
    assert_eq!(v.test, Some(TestKind::MannWhitneyAsymptotic));
}

// ---------------------------------------------------------------------------------------------------------
// The reference's Kayenta failure cases, judged correctly

#[test]
fn tiny_scale_shift_is_detected() {
    // Kayenta's absolute 1e-4 solver tolerance makes this Pass (reference §0.3).
    let mut rng = Rng::new(11);
    let y: Vec<f64> = rng.normals(60, 0.0333, 1e-6);
    let x: Vec<f64> = rng.normals(60, 0.0333 + 5e-6, 1e-6);
    let v = judge_metric(&cfg(), &y, &x);
    assert_eq!(v.classification, Classification::High, "{}", v.reason);
    let (lo, hi) = (v.ci_lower.unwrap(), v.ci_upper.unwrap());
    assert!(lo > 3e-6 && hi < 7e-6 && lo <= hi, "{lo} {hi}");
}

#[test]
fn three_vs_three_cannot_claim_95_percent() {
    // Kayenta reports the range as a "98 %" interval and flags High; the exact two-sided p is 0.1.
    let v = judge_metric(&cfg(), &[1.0, 2.0, 3.0], &[50.0, 51.0, 52.0]);
    assert_eq!(v.classification, Classification::Nodata, "minSamples 5 by default");
    let c = MetricConfig { min_samples: 3, ..cfg() };
    let v = judge_metric(&c, &[1.0, 2.0, 3.0], &[50.0, 51.0, 52.0]);
    assert_eq!(v.classification, Classification::Pass);
    assert_eq!(v.p_value, Some(0.1));
    assert_eq!((v.ci_lower, v.ci_upper), (None, None));
    assert!(v.reason.contains("cannot bound"), "{}", v.reason);
    // At 90 % (α = 0.1) 3 vs 3 bounds exactly the range, with true coverage 0.9; p = 0.1 ≤ α → High.
    let c = MetricConfig { min_samples: 3, alpha: 0.1, ..cfg() };
    let v = judge_metric(&c, &[1.0, 2.0, 3.0], &[50.0, 51.0, 52.0]);
    assert_eq!((v.ci_lower, v.ci_upper), (Some(47.0), Some(51.0)));
    assert_eq!(v.classification, Classification::High);
}

#[test]
fn negative_values_need_no_mean_ratio() {
    let mut rng = Rng::new(5);
    let y = rng.normals(40, -0.5, 1.0);
    let x = rng.normals(40, 1.5, 1.0);
    let v = judge_metric(&cfg(), &y, &x);
    assert_eq!(v.classification, Classification::High, "{}", v.reason);
}

#[test]
fn poisson_counts_increase_is_high_as_a_count_metric() {
    let mut rng = Rng::new(8);
    let y: Vec<f64> = (0..60).map(|_| rng.poisson(0.5) as f64).collect();
    let x: Vec<f64> = (0..60).map(|_| rng.poisson(1.35) as f64).collect();
    let count = MetricConfig { kind: MetricKind::Count, direction: Direction::Increase, ..cfg() };
    let v = judge_metric(&count, &y, &x);
    assert_eq!(v.classification, Classification::High, "{}", v.reason);
    assert_eq!(v.test, Some(TestKind::PoissonExact));
    assert!(v.effect_lower.unwrap() > 0.0);
    // The same data as a continuous metric: the HL shift is 0 or 1 on integer data; the MWU p-value still sees it.
    let v = judge_metric(&MetricConfig { direction: Direction::Increase, ..cfg() }, &y, &x);
    assert!(v.p_value.unwrap() < 0.05);
}

// ---------------------------------------------------------------------------------------------------------
// Configuration: margins, directions, missing data, kinds

#[test]
fn margins_absolute_and_relative() {
    let mut rng = Rng::new(21);
    let y = rng.normals(200, 100.0, 5.0);
    let x = rng.normals(200, 103.0, 5.0);
    let plain = judge_metric(&cfg(), &y, &x);
    assert_eq!(plain.classification, Classification::High);
    let lo = plain.ci_lower.unwrap();
    let wide = MetricConfig { margin: Margin::Absolute(lo + 0.5), ..cfg() };
    let v = judge_metric(&wide, &y, &x);
    assert_eq!(v.classification, Classification::Pass);
    assert!(v.reason.starts_with("significant but not beyond margin"), "{}", v.reason);
    let narrow = MetricConfig { margin: Margin::Absolute(lo - 0.5), ..cfg() };
    assert_eq!(judge_metric(&narrow, &y, &x).classification, Classification::High);
    // 10 % relative margin: a 3 % change passes; equivalence is shown when the interval sits inside ±10 %.
    let rel = MetricConfig { margin: Margin::Relative(0.10), ..cfg() };
    let v = judge_metric(&rel, &y, &x);
    assert_eq!(v.classification, Classification::Pass);
    assert!(v.reason.starts_with("equivalent"), "{}", v.reason);
    assert!((v.effect.unwrap() - v.estimate.unwrap() / v.baseline_level.unwrap()).abs() < 1e-15);
    let rel = MetricConfig { margin: Margin::Relative(0.01), ..cfg() };
    assert_eq!(judge_metric(&rel, &y, &x).classification, Classification::High);
}

#[test]
fn directions_only_flag_the_bad_side() {
    let mut rng = Rng::new(4);
    let y = rng.normals(50, 10.0, 1.0);
    let x = rng.normals(50, 8.0, 1.0);
    let either = judge_metric(&cfg(), &y, &x);
    assert_eq!(either.classification, Classification::Low);
    let inc = judge_metric(&MetricConfig { direction: Direction::Increase, ..cfg() }, &y, &x);
    assert_eq!(inc.classification, Classification::Pass);
    assert!(inc.p_value.unwrap() > 0.99);
    assert!(inc.reason.contains("no significant increase"), "{}", inc.reason);
    let dec = judge_metric(&MetricConfig { direction: Direction::Decrease, ..cfg() }, &y, &x);
    assert_eq!(dec.classification, Classification::Low);
    assert!((dec.ci_level - 0.9).abs() < 1e-15);
    assert!((either.ci_level - 0.95).abs() < 1e-15);
    // One-sided p is half the two-sided one here (asymptotic, same side).
    assert!((dec.p_value.unwrap() * 2.0 / either.p_value.unwrap() - 1.0).abs() < 1e-12);
}

#[test]
fn nan_policy_and_minimum_samples() {
    let y = [1.0, 2.0, f64::NAN, 3.0, 4.0, 5.0];
    let x = [2.0, f64::NAN, f64::INFINITY, 3.0, 4.0, 6.0];
    let v = judge_metric(&cfg(), &y, &x);
    assert_eq!(v.classification, Classification::Nodata);
    assert_eq!((v.n_baseline, v.n_canary), (5, 4));
    assert_eq!(v.reason, "canary has 4 usable points (minimum 5)");
    assert_eq!(v.p_value, None);
    let replace = MetricConfig { nan_policy: NanPolicy::Replace, ..cfg() };
    let v = judge_metric(&replace, &y, &x);
    assert_eq!((v.n_baseline, v.n_canary), (6, 6));
    assert_ne!(v.classification, Classification::Nodata);
    let v = judge_metric(&cfg(), &[], &[]);
    assert_eq!(v.reason, "baseline has 0 and canary 0 usable points (minimum 5)");
    let bad = MetricConfig { alpha: 0.7, ..cfg() };
    let v = judge_metric(&bad, &[1.0; 9], &[1.0; 9]);
    assert_eq!(v.classification, Classification::Nodata);
    assert!(v.reason.starts_with("invalid configuration: alpha"), "{}", v.reason);
}

#[test]
fn counts_with_exposures_and_rates_with_denominators() {
    let count = MetricConfig { kind: MetricKind::Count, ..cfg() };
    // Canary had half the traffic: 30 errors over 500 requests vs 30 over 1000 → rate doubled.
    let (yc, ye) = (vec![6.0; 5], vec![200.0; 5]);
    let (xc, xe) = (vec![6.0; 5], vec![100.0; 5]);
    let v = judge_sample(&count, Sample::with_exposures(&yc, &ye), Sample::with_exposures(&xc, &xe));
    assert_eq!(v.test, Some(TestKind::PoissonExact));
    assert!((v.effect.unwrap() - 1.0).abs() < 1e-15, "ratio 2");
    assert_eq!(v.classification, Classification::High, "{}", v.reason);
    assert!((v.estimate.unwrap() - 0.03).abs() < 1e-15);
    // Without exposures each step counts as one unit: equal totals, Pass.
    let v = judge_metric(&count, &yc, &xc);
    assert_eq!(v.classification, Classification::Pass);
    let rate = MetricConfig { kind: MetricKind::Rate, ..cfg() };
    let v = judge_sample(&rate, Sample::with_exposures(&yc, &ye), Sample::with_exposures(&xc, &xe));
    assert_eq!(v.test, Some(TestKind::TwoProportionZ));
    assert_eq!(v.classification, Classification::High);
    assert!((v.canary_level.unwrap() - 0.06).abs() < 1e-15);
    let v = judge_metric(&rate, &yc, &xc);
    assert_eq!(v.classification, Classification::Nodata);
    assert!(v.reason.contains("needs denominators"), "{}", v.reason);
    let v = judge_metric(&count, &[1.0, -1.0, 2.0, 2.0, 2.0], &[1.0; 5]);
    assert_eq!(v.classification, Classification::Nodata);
    assert!(v.reason.contains("negative count"), "{}", v.reason);
    // A zero-event baseline: the exact ratio interval still decides a relative margin.
    let rel = MetricConfig { kind: MetricKind::Count, margin: Margin::Relative(0.5), ..cfg() };
    let v = judge_metric(&rel, &[0.0; 10], &[3.0; 10]);
    assert_eq!(v.classification, Classification::High, "{}", v.reason);
    assert_eq!(v.effect, None);
    assert!(v.effect_lower.unwrap() > 0.5);
    let v = judge_metric(&count, &[0.0; 10], &[0.0; 10]);
    assert_eq!(v.classification, Classification::Pass);
    assert_eq!(v.reason, "no events on either side; p=1");
}

// ---------------------------------------------------------------------------------------------------------
// Multiple metrics

#[test]
fn judge_all_applies_holm_and_skips_nodata() {
    let mut rng = Rng::new(99);
    let y1 = rng.normals(30, 0.0, 1.0);
    let z1 = rng.normals(30, 0.0, 1.0);
    let base = cfg();
    // The smallest shift (in steps of 0.05) that makes the metric significant on its own.
    let x1 = (1..40)
        .map(|i| z1.iter().map(|v| v + f64::from(i) * 0.05).collect::<Vec<f64>>())
        .find(|x| judge_metric(&base, &y1, x).p_value.unwrap() < 0.05)
        .unwrap();
    let single = judge_metric(&base, &y1, &x1);
    assert_eq!(single.adjusted_p_value, single.p_value);
    let p1 = single.p_value.unwrap();
    assert!(p1 < 0.05 && p1 > 0.01, "a moderately significant metric, p = {p1}");
    let nulls: Vec<(Vec<f64>, Vec<f64>)> =
        (0..5).map(|_| (rng.normals(30, 0.0, 1.0), rng.normals(30, 0.0, 1.0))).collect();
    let mut inputs = vec![MetricInput::new("m1", &base, &y1, &x1)];
    for (i, (y, x)) in nulls.iter().enumerate() {
        inputs.push(MetricInput::new(["a", "b", "c", "d", "e"][i], &base, y, x));
    }
    let empty: Vec<f64> = vec![];
    inputs.push(MetricInput::new("nodata", &base, &empty, &empty));
    let verdicts = judge_all(&inputs, &JudgeOptions::default());
    assert_eq!(verdicts.len(), 7);
    assert_eq!(verdicts[0].name, "m1");
    assert_eq!(verdicts[6].classification, Classification::Nodata);
    assert_eq!(verdicts[6].adjusted_p_value, None);
    let raw: Vec<f64> = verdicts[..6].iter().map(|v| v.p_value.unwrap()).collect();
    let holm = adjust_p_values(&raw, Correction::Holm);
    for (v, a) in verdicts.iter().zip(&holm) {
        assert_eq!(v.adjusted_p_value, Some(*a));
    }
    assert!(holm[0] > 0.05);
    assert_eq!(verdicts[0].classification, Classification::Pass, "{}", verdicts[0].reason);
    assert!(verdicts[0].reason.contains("over 6 metrics"), "{}", verdicts[0].reason);
    let bh = judge_all(&inputs, &JudgeOptions { correction: Correction::BenjaminiHochberg });
    assert_eq!(bh[0].adjusted_p_value, Some(adjust_p_values(&raw, Correction::BenjaminiHochberg)[0]));
    let none = judge_all(&inputs, &JudgeOptions { correction: Correction::None });
    assert_eq!(none[0].classification, Classification::High);
}

// ---------------------------------------------------------------------------------------------------------
// Properties (deterministic random data)

fn same_decision(a: &MetricVerdict, b: &MetricVerdict) {
    assert_eq!(a.classification, b.classification);
    assert_eq!(a.p_value, b.p_value);
    assert_eq!(a.test, b.test);
}

#[test]
fn property_shift_invariance() {
    let mut rng = Rng::new(1);
    for case in 0..40 {
        let (m, n) = (5 + case % 17, 5 + (case * 7) % 23);
        let y = rng.gridded(n, 10.0, 3.0);
        let x = rng.gridded(m, 10.0 + (case % 5) as f64, 3.0);
        let c = ((rng.uniform() - 0.5) * 2000.0 * 1024.0).round() / 1024.0;
        let (ys, xs): (Vec<f64>, Vec<f64>) = (y.iter().map(|v| v + c).collect(), x.iter().map(|v| v + c).collect());
        let config = MetricConfig { margin: Margin::Absolute(0.5), ..cfg() };
        let (a, b) = (judge_metric(&config, &y, &x), judge_metric(&config, &ys, &xs));
        same_decision(&a, &b);
        assert_eq!((a.estimate, a.ci_lower, a.ci_upper), (b.estimate, b.ci_lower, b.ci_upper), "case {case}");
        assert_eq!(a.baseline_level.map(|l| l + c), b.baseline_level);
    }
}

#[test]
fn property_swap_symmetry() {
    let mut rng = Rng::new(2);
    for case in 0..40 {
        let (m, n) = (5 + case % 13, 5 + (case * 5) % 29);
        let y = rng.normals(n, 0.0, 1.0);
        let x = rng.normals(m, (case % 4) as f64 * 0.7, 1.0);
        let (a, b) = (judge_metric(&cfg(), &y, &x), judge_metric(&cfg(), &x, &y));
        assert_eq!(a.p_value, b.p_value, "case {case}");
        assert_eq!(a.estimate.map(|e| -e), b.estimate);
        assert_eq!((a.ci_lower.map(|v| -v), a.ci_upper.map(|v| -v)), (b.ci_upper, b.ci_lower));
        let swapped = match a.classification {
            Classification::High => Classification::Low,
            Classification::Low => Classification::High,
            c => c,
        };
        assert_eq!(b.classification, swapped);
        // One-sided: "increase" on (y, x) is "decrease" on (x, y).
        let inc = judge_metric(&MetricConfig { direction: Direction::Increase, ..cfg() }, &y, &x);
        let dec = judge_metric(&MetricConfig { direction: Direction::Decrease, ..cfg() }, &x, &y);
        assert_eq!(inc.p_value, dec.p_value);
    }
}

#[test]
fn property_scale_invariance() {
    let mut rng = Rng::new(3);
    for case in 0..40 {
        let (m, n) = (5 + case % 19, 5 + (case * 3) % 31);
        let y = rng.gridded(n, 0.0, 4.0);
        let x = rng.gridded(m, (case % 3) as f64, 4.0);
        // Powers of two scale exactly.
        let a = [0.125, 4.0, 1024.0, 2f64.powi(-30)][case % 4];
        let (ys, xs): (Vec<f64>, Vec<f64>) = (y.iter().map(|v| v * a).collect(), x.iter().map(|v| v * a).collect());
        let (p, q) = (judge_metric(&cfg(), &y, &x), judge_metric(&cfg(), &ys, &xs));
        same_decision(&p, &q);
        assert_eq!(p.estimate.map(|e| e * a), q.estimate);
        assert_eq!((p.ci_lower.map(|v| v * a), p.ci_upper.map(|v| v * a)), (q.ci_lower, q.ci_upper));
        assert_eq!(p.effect, q.effect);
    }
    // Any positive factor, e.g. 1e-6 (where Kayenta's absolute tolerance breaks): equal up to rounding.
    for case in 0..20 {
        let y = rng.normals(30, 50.0, 10.0);
        let x = rng.normals(30, 50.0 + case as f64, 10.0);
        let (ys, xs): (Vec<f64>, Vec<f64>) =
            (y.iter().map(|v| v * 1e-6).collect(), x.iter().map(|v| v * 1e-6).collect());
        let (p, q) = (judge_metric(&cfg(), &y, &x), judge_metric(&cfg(), &ys, &xs));
        same_decision(&p, &q);
        let close = |a: Option<f64>, b: Option<f64>| {
            (a.unwrap() * 1e-6 - b.unwrap()).abs() <= 1e-12 * b.unwrap().abs().max(1e-12)
        };
        assert!(close(p.estimate, q.estimate) && close(p.ci_lower, q.ci_lower) && close(p.ci_upper, q.ci_upper));
    }
}

#[test]
fn deterministic_output() {
    let mut rng = Rng::new(77);
    let y = rng.normals(500, 1.0, 1.0);
    let x = rng.normals(480, 1.1, 1.0);
    let a = serde_json::to_string(&judge_metric(&cfg(), &y, &x)).unwrap();
    let b = serde_json::to_string(&judge_metric(&cfg(), &y, &x)).unwrap();
    assert_eq!(a, b);
}

// ---------------------------------------------------------------------------------------------------------
// Serde

#[test]
fn config_defaults_and_json_shapes() {
    let c: MetricConfig = serde_json::from_str("{}").unwrap();
    assert_eq!(c, MetricConfig::default());
    assert_eq!(c.alpha, 0.05);
    assert_eq!(c.min_samples, 5);
    let c: MetricConfig = serde_json::from_str(
        r#"{"kind":"count","direction":"increase","alpha":0.01,"margin":{"relative":0.1},
            "nanPolicy":"replace","minSamples":10,"sequential":{"minSteps":20}}"#,
    )
    .unwrap();
    assert_eq!(c.kind, MetricKind::Count);
    assert_eq!(c.margin, Margin::Relative(0.1));
    assert_eq!(c.nan_policy, NanPolicy::Replace);
    assert_eq!((c.sequential.min_steps, c.sequential.tuning_steps), (20, 60));
    let back: MetricConfig = serde_json::from_str(&serde_json::to_string(&c).unwrap()).unwrap();
    assert_eq!(back, c);
    let o: JudgeOptions = serde_json::from_str(r#"{"correction":"benjaminiHochberg"}"#).unwrap();
    assert_eq!(o.correction, Correction::BenjaminiHochberg);

    let v = judge_metric(&cfg(), &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0], &[3.5, 4.5, 5.5, 6.5, 7.5, 8.5]);
    let json = serde_json::to_value(&v).unwrap();
    for key in [
        "name",
        "classification",
        "reason",
        "kind",
        "direction",
        "test",
        "alpha",
        "pValue",
        "adjustedPValue",
        "estimate",
        "ciLower",
        "ciUpper",
        "ciLevel",
        "effect",
        "effectLower",
        "effectUpper",
        "baselineLevel",
        "canaryLevel",
        "nBaseline",
        "nCanary",
    ] {
        assert!(json.get(key).is_some(), "missing {key} in {json}");
    }
    assert_eq!(json["classification"], "Pass");
    assert_eq!(json["test"], "mannWhitneyExact");
    let back: MetricVerdict = serde_json::from_value(json).unwrap();
    assert_eq!(back, v);
}

// ---------------------------------------------------------------------------------------------------------
// Sequential mode

#[test]
fn sequential_continuous_false_alarms_stay_below_alpha() {
    // 300 A/A runs, each looked at after every one of 200 steps.
    let mut rng = Rng::new(1234);
    let config = cfg();
    let mut alarms = 0;
    for _ in 0..300 {
        let mut s = ContinuousSequence::new(&config).unwrap();
        for _ in 0..200 {
            s.push(100.0 + 10.0 * rng.normal(), 100.0 + 10.0 * rng.normal());
            if matches!(s.verdict().decision, SequentialDecision::High | SequentialDecision::Low) {
                alarms += 1;
                break;
            }
        }
    }
    // α = 0.05 → expect ≤ 15 of 300; the mixture boundary is conservative in practice.
    println!("continuous A/A: {alarms} of 300 runs alarmed (200 looks each)");
    assert!(alarms <= 15, "{alarms} false alarms of 300");
}

#[test]
fn sequential_continuous_detects_a_shift_early() {
    let mut rng = Rng::new(5);
    let y: Vec<f64> = (0..200).map(|_| 100.0 + 10.0 * rng.normal()).collect();
    let x: Vec<f64> = (0..200).map(|_| 108.0 + 10.0 * rng.normal()).collect();
    let v = judge_sequential(&cfg(), Sample::new(&y), Sample::new(&x));
    assert_eq!(v.decision, SequentialDecision::High, "{}", v.reason);
    let at = v.decided_at.unwrap();
    assert!((10..100).contains(&at), "decided at {at}");
    assert!(v.p_value < 0.05);
    // The decision is latched and the incremental state gives the same verdict.
    let mut s = ContinuousSequence::new(&cfg()).unwrap();
    for (b, c) in y.iter().zip(&x) {
        s.push(*b, *c);
    }
    assert_eq!(s.verdict(), v);
    let state = serde_json::to_string(&s).unwrap();
    let restored: ContinuousSequence = serde_json::from_str(&state).unwrap();
    assert_eq!(restored.verdict(), v);
}

#[test]
fn sequential_continuous_early_pass_by_equivalence() {
    let mut rng = Rng::new(6);
    let y: Vec<f64> = (0..300).map(|_| 100.0 + rng.normal()).collect();
    let x: Vec<f64> = (0..300).map(|_| 100.0 + rng.normal()).collect();
    let config = MetricConfig { margin: Margin::Relative(0.01), ..cfg() };
    let v = judge_sequential(&config, Sample::new(&y), Sample::new(&x));
    assert_eq!(v.decision, SequentialDecision::Pass, "{}", v.reason);
    let (lo, hi) = (v.cs_lower.unwrap(), v.cs_upper.unwrap());
    assert!(lo > -1.0 && hi < 1.0);
}

#[test]
fn sequential_counts_false_alarms_and_power() {
    let mut rng = Rng::new(42);
    let config = MetricConfig { kind: MetricKind::Count, ..cfg() };
    let mut alarms = 0;
    for run in 0..300 {
        let mut s = CountSequence::new(&config).unwrap();
        for step in 0..120 {
            // Traffic split changes over the run (progressive delivery); rates stay equal (A/A), with a
            // diurnal swing shared by both sides.
            let share = [0.1, 0.25, 0.5][(step / 40) % 3];
            let load = 1.0 + 0.5 * ((step + run) as f64 / 10.0).sin();
            let (ec, eb) = (share * 100.0, (1.0 - share) * 100.0);
            let (xc, xb) = (rng.poisson(0.02 * ec * load), rng.poisson(0.02 * eb * load));
            s.push(xc, ec, xb, eb);
            if s.verdict().decision != SequentialDecision::Continue {
                alarms += 1;
                break;
            }
        }
    }
    println!("count A/A with changing split: {alarms} of 300 runs alarmed (120 looks each)");
    assert!(alarms <= 15, "{alarms} false alarms of 300");
    // Error rate doubled in the canary: detected.
    let mut s = CountSequence::new(&config).unwrap();
    for _ in 0..120 {
        s.push(rng.poisson(0.04 * 50.0), 50.0, rng.poisson(0.02 * 50.0), 50.0);
    }
    let v = s.verdict();
    assert_eq!(v.decision, SequentialDecision::High, "{}", v.reason);
    assert!(v.decided_at.unwrap() < 120);
}

#[test]
fn sequential_counts_respect_a_relative_margin() {
    let mut rng = Rng::new(43);
    // +20 % rate against a 50 % margin: never High even with lots of data.
    let config = MetricConfig {
        kind: MetricKind::Count,
        margin: Margin::Relative(0.5),
        direction: Direction::Increase,
        ..cfg()
    };
    let mut s = CountSequence::new(&config).unwrap();
    for _ in 0..500 {
        s.push(rng.poisson(12.0), 100.0, rng.poisson(10.0), 100.0);
    }
    assert_eq!(s.verdict().decision, SequentialDecision::Continue);
    // +200 %: High.
    let mut s = CountSequence::new(&config).unwrap();
    for _ in 0..100 {
        s.push(rng.poisson(30.0), 100.0, rng.poisson(10.0), 100.0);
    }
    assert_eq!(s.verdict().decision, SequentialDecision::High);
}

#[test]
fn sequential_all_uses_bonferroni() {
    let mut rng = Rng::new(8);
    let y = rng.normals(100, 0.0, 1.0);
    let x = rng.normals(100, 0.0, 1.0);
    let config = cfg();
    let inputs = [MetricInput::new("a", &config, &y, &x), MetricInput::new("b", &config, &x, &y)];
    let vs = judge_sequential_all(&inputs);
    assert_eq!(vs[0].name, "a");
    assert!((vs[0].adjusted_p_value - (vs[0].p_value * 2.0).min(1.0)).abs() < 1e-15);
    let count = MetricConfig { kind: MetricKind::Rate, ..cfg() };
    let v = judge_sequential(&count, Sample::new(&[1.0]), Sample::new(&[1.0]));
    assert!(v.reason.contains("needs denominators"), "{}", v.reason);
}

// ---------------------------------------------------------------------------------------------------------
// Timing

#[test]
fn timing_5000_vs_5000() {
    let mut rng = Rng::new(2024);
    let y = rng.normals(5000, 100.0, 10.0);
    let x = rng.normals(5000, 101.0, 10.0);
    let start = Instant::now();
    let v = judge_metric(&cfg(), &y, &x);
    let elapsed = start.elapsed();
    println!(
        "5000 vs 5000: {:?} ({} build) → {:?}, est {:?} CI [{:?}, {:?}]",
        elapsed,
        if cfg!(debug_assertions) { "debug" } else { "release" },
        v.classification,
        v.estimate,
        v.ci_lower,
        v.ci_upper
    );
    assert_eq!(v.classification, Classification::High);
    if !cfg!(debug_assertions) {
        assert!(elapsed.as_millis() <= 50, "{elapsed:?}");
    }
}

// ---------------------------------------------------------------------------------------------------------
// Reasons (one line, stable wording)

#[test]
fn reasons_are_one_readable_line() {
    let y: Vec<f64> = (1..=10).map(f64::from).collect();
    let x: Vec<f64> = (1..=10).map(|v| f64::from(v) + 6.5).collect();
    let reason = |c: MetricConfig, y: &[f64], x: &[f64]| judge_metric(&c, y, x).reason;
    // These textbook samples are sorted, which in time order is a trend: judge them as independent points.
    let iid = || MetricConfig { serial_dependence: SerialDependence::Independent, ..cfg() };
    assert_eq!(reason(iid(), &y, &x), "canary higher: shift +6.5 (95% CI +3.5 to +9.5); p=0.0003248");
    assert_eq!(
        reason(MetricConfig { margin: Margin::Absolute(8.0), ..iid() }, &y, &x),
        "significant but not beyond margin ±8: shift +6.5 (95% CI +3.5 to +9.5); p=0.0003248"
    );
    assert_eq!(
        reason(MetricConfig { margin: Margin::Relative(2.0 / 3.0), ..iid() }, &y, &x),
        "significant but not beyond margin ±66.67%: shift +6.5 (95% CI +3.5 to +9.5); p=0.0003248"
    );
    assert_eq!(
        reason(MetricConfig { direction: Direction::Decrease, ..iid() }, &y, &x),
        "no significant decrease: shift +6.5 (90% CI +3.5 to +9.5); p=0.9999 > α=0.05"
    );
    assert_eq!(
        reason(MetricConfig { margin: Margin::Absolute(0.9), ..iid() }, &y, &y),
        "no significant difference: shift 0 (95% CI -3 to +3); p=1 > α=0.05"
    );
    assert_eq!(
        reason(MetricConfig { margin: Margin::Absolute(3.5), ..iid() }, &y, &y),
        "equivalent: shift 0 (95% CI -3 to +3) within margin ±3.5; p=1"
    );
    // In time order the same steps are two trends: the correction widens everything and says so.
    let v = judge_metric(&cfg(), &y, &x);
    assert!(v.variance_inflation.is_some_and(|g| g > 2.0), "{v:?}");
    assert!(
        v.reason.ends_with("taken into account") && v.reason.contains("autocorrelated steps: variance ×"),
        "{}",
        v.reason
    );
    assert!(!v.reason.contains('\n'));
    let count = MetricConfig { kind: MetricKind::Count, ..cfg() };
    assert_eq!(
        reason(count.clone(), &[1.0; 20], &[3.0; 20]),
        "canary higher: rate difference +2 (95% CI +1.125 to +2.721); p=8.58e-6"
    );
    let v = judge_sequential(&count, Sample::new(&[1.0; 30]), Sample::new(&[3.0; 30]));
    assert_eq!(
        v.reason,
        "High at interval 11: canary higher: rate 3 vs 1 per unit exposure (33 vs 11 events); e=236023, anytime p=4.24e-6"
    );
}

// ---------------------------------------------------------------------------------------------------------
// Serial dependence (reference §7: autocorrelated per-step data)

fn ar1(rng: &mut Rng, phi: f64, n: usize) -> Vec<f64> {
    let innovation = (1.0 - phi * phi).sqrt();
    let mut x = rng.normal();
    (0..n)
        .map(|_| {
            let v = 100.0 + 10.0 * x;
            x = phi * x + innovation * rng.normal();
            v
        })
        .collect()
}

/// A/A comparisons of AR(1) series: the textbook test flags several times α, the default corrects it. 600
/// replications: at a true rate of 5 % the count has SD ≈ 5.3, so ≤ 48 (8 %) fails only for a real excess.
#[test]
fn autocorrelated_a_a_holds_alpha_only_with_the_correction() {
    let mut rng = Rng::new(0x5E_41A1);
    let independent = MetricConfig { serial_dependence: SerialDependence::Independent, ..cfg() };
    let (reps, mut auto_flags, mut iid_flags) = (600, 0, 0);
    for _ in 0..reps {
        let (b, c) = (ar1(&mut rng, 0.7, 100), ar1(&mut rng, 0.7, 100));
        let flagged = |v: MetricVerdict| matches!(v.classification, Classification::High | Classification::Low);
        let auto = judge_metric(&cfg(), &b, &c);
        assert!(auto.variance_inflation.is_some_and(|g| g >= 1.0));
        auto_flags += usize::from(flagged(auto));
        iid_flags += usize::from(flagged(judge_metric(&independent, &b, &c)));
    }
    assert!(auto_flags <= 48, "auto flagged {auto_flags} of {reps}");
    assert!(iid_flags >= 150, "independent flagged only {iid_flags} of {reps}");
}

/// On independent data the correction costs little: power against a 1σ shift at n = 30 stays high, and the
/// exact path is kept when no positive dependence is estimated.
#[test]
fn independent_data_keeps_power_and_exactness() {
    let mut rng = Rng::new(0x1D_0001);
    let (reps, mut hits, mut exact) = (300, 0, 0);
    for _ in 0..reps {
        let b: Vec<f64> = (0..30).map(|_| 100.0 + 10.0 * rng.normal()).collect();
        let c: Vec<f64> = (0..30).map(|_| 110.0 + 10.0 * rng.normal()).collect();
        let v = judge_metric(&cfg(), &b, &c);
        hits += usize::from(v.classification == Classification::High);
        exact += usize::from(v.test == Some(TestKind::MannWhitneyExact));
    }
    // The textbook test has about 96 % power here (docs/statistics.md).
    assert!(hits >= 255, "power {hits} of {reps}");
    assert!(exact >= 100, "exact path kept {exact} of {reps} times");
}

/// Shift, scale and the order of the two samples do not change the estimated dependence.
#[test]
fn serial_correction_is_shift_scale_and_side_symmetric() {
    let mut rng = Rng::new(0xC0_FFEE);
    let (b, c) = (ar1(&mut rng, 0.6, 80), ar1(&mut rng, 0.6, 80));
    let g = judge_metric(&cfg(), &b, &c).variance_inflation.unwrap();
    let scaled = |v: &[f64]| v.iter().map(|x| 1000.0 + 0.25 * x).collect::<Vec<f64>>();
    assert_eq!(judge_metric(&cfg(), &scaled(&b), &scaled(&c)).variance_inflation, Some(g));
    assert_eq!(judge_metric(&cfg(), &c, &b).variance_inflation, Some(g));
    assert!(g > 2.0, "{g}");
}

/// The sequential mode checked at every step of A/A AR(1) series: the long-run variance of the differences
/// (at a conservative upper bound), the t widening and the dependence gate hold α at φ = 0.3 and φ = 0.7,
/// where the uncorrected sequence flags far more.
#[test]
fn sequential_mode_corrects_for_autocorrelation() {
    let independent = MetricConfig { serial_dependence: SerialDependence::Independent, ..cfg() };
    let flags = |phi: f64, config: &MetricConfig, seed: u64| {
        let mut rng = Rng::new(seed);
        (0..400)
            .filter(|_| {
                let (b, c) = (ar1(&mut rng, phi, 100), ar1(&mut rng, phi, 100));
                let v = judge_sequential(config, Sample::new(&b), Sample::new(&c));
                matches!(v.decision, SequentialDecision::High | SequentialDecision::Low)
            })
            .count()
    };
    // 400 replications: SD ≈ 4.4 at a true 5 %, so 36 (9 %) is a real excess.
    let (auto_03, iid_03) = (flags(0.3, &cfg(), 31), flags(0.3, &independent, 31));
    assert!(auto_03 <= 36, "φ = 0.3: {auto_03} of 400");
    assert!(iid_03 >= 40, "φ = 0.3 uncorrected: only {iid_03} of 400");
    let (auto_07, iid_07) = (flags(0.7, &cfg(), 71), flags(0.7, &independent, 71));
    assert!(auto_07 <= 36, "φ = 0.7: {auto_07} of 400");
    assert!(iid_07 >= 120, "φ = 0.7 uncorrected: only {iid_07} of 400");
}
