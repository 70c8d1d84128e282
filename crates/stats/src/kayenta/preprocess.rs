//! Preprocessing of one side's values, and the descriptive statistics Kayenta reports.
//!
//! Kayenta applies, to the canary and to the baseline independently: the NaN strategy (`remove` drops NaNs,
//! `replace` maps them to 0.0), then, when `outliers.strategy` is `remove`, its IQR detector with
//! `reduceSensitivity = true` (fences widened to the 1st/99th percentiles, so at most about 1 % per tail is
//! removed). Percentiles are commons-math's `Percentile` with R-7 estimation; the mean is commons-math's
//! two-pass corrected mean and the standard deviation uses n − 1.

use serde::{Deserialize, Serialize};

use crate::kayenta::config::{Config, NanStrategy, OutlierStrategy};

/// Applies the NaN strategy: `Remove` drops NaNs, `Replace` turns them into 0.0. Infinities are kept.
pub fn apply_nan_strategy(values: &[f64], strategy: NanStrategy) -> Vec<f64> {
    match strategy {
        NanStrategy::Remove => values.iter().copied().filter(|v| !v.is_nan()).collect(),
        NanStrategy::Replace => values.iter().map(|&v| if v.is_nan() { 0.0 } else { v }).collect(),
    }
}

/// The values of `values` without NaNs, sorted ascending (total order, so −0.0 sorts before 0.0; numerically
/// this is the order commons-math's `KthSelector` selects from).
fn sorted_without_nan(values: &[f64]) -> Vec<f64> {
    let mut work: Vec<f64> = values.iter().copied().filter(|v| !v.is_nan()).collect();
    work.sort_unstable_by(f64::total_cmp);
    work
}

/// R-7 percentile of already sorted, NaN-free values; `p` in (0, 100].
fn percentile_sorted(sorted: &[f64], p: f64) -> f64 {
    let length = sorted.len();
    let Some(&last) = sorted.last() else {
        return f64::NAN;
    };
    // EstimationType.R_7.index(p / 100, length).
    let quantile = p / 100.0;
    let pos = if quantile == 0.0 {
        0.0
    } else if quantile == 1.0 {
        length as f64
    } else {
        1.0 + (length - 1) as f64 * quantile
    };
    // EstimationType.estimate(...).
    let fpos = pos.floor();
    let dif = pos - fpos;
    if pos < 1.0 {
        return sorted[0];
    }
    if pos >= length as f64 {
        return last;
    }
    // 1 ≤ pos < length, so 1 ≤ int_pos ≤ length − 1.
    let int_pos = fpos as usize;
    let lower = sorted[int_pos - 1];
    let upper = sorted[int_pos];
    lower + dif * (upper - lower)
}

/// The `p`-th percentile (0 < p ≤ 100) with commons-math's R-7 estimation, as Kayenta's
/// `DescriptiveStatistics.percentile` computes it.
///
/// `pos = 1 + (N − 1)·p/100`; below 1 the minimum, at or above N the maximum, otherwise linear interpolation
/// between the neighbouring order statistics. An empty input gives NaN and a single value is returned as is
/// (even NaN, as commons-math does); other NaNs are ignored. A `p` outside (0, 100] gives NaN (commons-math
/// throws).
pub fn percentile_r7(values: &[f64], p: f64) -> f64 {
    if p.is_nan() || p <= 0.0 || p > 100.0 {
        return f64::NAN;
    }
    match values {
        [] => f64::NAN,
        [single] => *single,
        _ => percentile_sorted(&sorted_without_nan(values), p),
    }
}

/// Kayenta's `IQRDetector(factor, reduceSensitivity).detect`: one flag per value, `true` for an outlier.
///
/// The fences are `Q1 − factor·IQR` and `Q3 + factor·IQR`; with `reduce_sensitivity` they are widened to
/// `min(P1, ·)` and `max(P99, ·)`. Values strictly outside the fences are outliers. Kayenta rejects
/// `factor ≤ 0` when building the detector; [`Config`] enforces that, and here any factor is accepted.
pub fn iqr_outliers(values: &[f64], factor: f64, reduce_sensitivity: bool) -> Vec<bool> {
    let (lower_fence, upper_fence) = iqr_fences(values, factor, reduce_sensitivity);
    values.iter().map(|&x| x > upper_fence || x < lower_fence).collect()
}

/// The `(lower, upper)` fences of [`iqr_outliers`].
pub fn iqr_fences(values: &[f64], factor: f64, reduce_sensitivity: bool) -> (f64, f64) {
    // Sort once; the four percentiles below are what four commons-math `Percentile` calls return.
    let sorted = if values.len() > 1 { sorted_without_nan(values) } else { Vec::new() };
    let pct = |p: f64| -> f64 {
        match values {
            [] => f64::NAN,
            [single] => *single,
            _ => percentile_sorted(&sorted, p),
        }
    };
    let p75 = pct(75.0);
    let p25 = pct(25.0);
    let iqr = p75 - p25;
    let lower_iqr = p25 - (factor * iqr);
    let upper_iqr = p75 + (factor * iqr);
    if reduce_sensitivity {
        let p01 = pct(1.0);
        let p99 = pct(99.0);
        (java_min(p01, lower_iqr), java_max(p99, upper_iqr))
    } else {
        (lower_iqr, upper_iqr)
    }
}

/// `java.lang.Math.min` (Scala `math.min`): NaN if either is NaN, and −0.0 < 0.0.
fn java_min(a: f64, b: f64) -> f64 {
    if a.is_nan() || b.is_nan() {
        f64::NAN
    } else if a == 0.0 && b == 0.0 {
        if a.is_sign_negative() { a } else { b }
    } else if a <= b {
        a
    } else {
        b
    }
}

/// `java.lang.Math.max` (Scala `math.max`): NaN if either is NaN, and 0.0 > −0.0.
fn java_max(a: f64, b: f64) -> f64 {
    if a.is_nan() || b.is_nan() {
        f64::NAN
    } else if a == 0.0 && b == 0.0 {
        if a.is_sign_positive() { a } else { b }
    } else if a >= b {
        a
    } else {
        b
    }
}

/// Kayenta's `Transforms.removeOutliers` with `IQRDetector(factor, reduceSensitivity = true)`: keeps the
/// values that are not outliers, in their original order.
pub fn remove_outliers(values: &[f64], factor: f64) -> Vec<f64> {
    let flags = iqr_outliers(values, factor, true);
    values.iter().zip(flags).filter(|(_, outlier)| !outlier).map(|(&v, _)| v).collect()
}

/// Preprocesses one side as Kayenta's `transformMetric` does: NaN strategy, then outlier removal when the
/// outlier strategy is `Remove`.
pub fn preprocess(values: &[f64], config: &Config) -> Vec<f64> {
    let cleaned = apply_nan_strategy(values, config.nan_strategy);
    match config.outlier_strategy {
        OutlierStrategy::Keep => cleaned,
        OutlierStrategy::Remove => remove_outliers(&cleaned, config.outlier_factor),
    }
}

/// commons-math `StatUtils.mean`: the two-pass corrected mean `x̄ + Σ(x − x̄)/n`, NaN when empty.
pub fn mean(values: &[f64]) -> f64 {
    if values.is_empty() {
        return f64::NAN;
    }
    let sample_size = values.len() as f64;
    let mut sum = 0.0;
    for &v in values {
        sum += v;
    }
    let xbar = sum / sample_size;
    let mut correction = 0.0;
    for &v in values {
        correction += v - xbar;
    }
    xbar + (correction / sample_size)
}

/// commons-math `StatUtils.variance`: bias-corrected (n − 1), 0 for one value, NaN when empty.
pub fn variance(values: &[f64]) -> f64 {
    match values.len() {
        0 => f64::NAN,
        1 => 0.0,
        length => {
            let m = mean(values);
            let mut accum = 0.0;
            let mut accum2 = 0.0;
            for &v in values {
                let dev = v - m;
                accum += dev * dev;
                accum2 += dev;
            }
            let len = length as f64;
            (accum - (accum2 * accum2 / len)) / (len - 1.0)
        }
    }
}

/// commons-math `StatUtils.min`: NaNs are skipped unless the first value is NaN and nothing follows.
fn commons_min(values: &[f64]) -> f64 {
    let Some(&first) = values.first() else {
        return f64::NAN;
    };
    let mut min = first;
    for &v in values {
        if !v.is_nan() {
            min = if min < v { min } else { v };
        }
    }
    min
}

/// commons-math `StatUtils.max`.
fn commons_max(values: &[f64]) -> f64 {
    let Some(&first) = values.first() else {
        return f64::NAN;
    };
    let mut max = first;
    for &v in values {
        if !v.is_nan() {
            max = if max > v { max } else { v };
        }
    }
    max
}

/// Descriptive statistics of one preprocessed side, as Kayenta reports them in
/// `experimentMetadata.stats` / `controlMetadata.stats`. All fields are 0 for an empty side.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MetricStats {
    /// Smallest value.
    #[serde(with = "crate::kayenta::classify::nan_as_null")]
    pub min: f64,
    /// Largest value.
    #[serde(with = "crate::kayenta::classify::nan_as_null")]
    pub max: f64,
    /// commons-math two-pass corrected mean.
    #[serde(with = "crate::kayenta::classify::nan_as_null")]
    pub mean: f64,
    /// Sample standard deviation (n − 1); 0 for a single value.
    #[serde(with = "crate::kayenta::classify::nan_as_null")]
    pub std: f64,
    /// Number of values.
    pub count: usize,
}

/// Kayenta's `DescriptiveStatistics.summary`.
pub fn describe(values: &[f64]) -> MetricStats {
    if values.is_empty() {
        return MetricStats { min: 0.0, max: 0.0, mean: 0.0, std: 0.0, count: 0 };
    }
    MetricStats {
        min: commons_min(values),
        max: commons_max(values),
        mean: mean(values),
        std: variance(values).sqrt(),
        count: values.len(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nan_strategies() {
        let data = [0.0, 1.0, f64::NAN, 1.0, 0.0];
        assert_eq!(apply_nan_strategy(&data, NanStrategy::Remove), vec![0.0, 1.0, 1.0, 0.0]);
        assert_eq!(apply_nan_strategy(&data, NanStrategy::Replace), vec![0.0, 1.0, 0.0, 1.0, 0.0]);
        assert!(apply_nan_strategy(&[f64::NAN; 3], NanStrategy::Remove).is_empty());
        assert_eq!(apply_nan_strategy(&[f64::INFINITY], NanStrategy::Remove), vec![f64::INFINITY]);
    }

    #[test]
    fn r7_percentiles() {
        // StatisticSuite: P5 of [0, 0.5, …, 3.5] = 0.175 (1e-4), P50 = 1.75, P100 = 3.5.
        let data = [0.0, 0.5, 1.0, 1.5, 2.0, 2.5, 3.0, 3.5];
        assert!((percentile_r7(&data, 5.0) - 0.175).abs() < 1e-4);
        assert_eq!(percentile_r7(&data, 50.0), 1.75);
        assert_eq!(percentile_r7(&data, 100.0), 3.5);
        // Linear interpolation between order statistics.
        let ten = [0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0];
        assert_eq!(percentile_r7(&ten, 50.0), 4.5);
        // NIST data, P90 = 95.19568 exactly.
        let nist = [
            95.1772, 95.1567, 95.1937, 95.1959, 95.1442, 95.0610, 95.1591, 95.1195, 95.1772, 95.0925, 95.1990, 95.1682,
        ];
        assert_eq!(percentile_r7(&nist, 90.0), 95.19568);
        // Single value, empty, out of range.
        assert_eq!(percentile_r7(&[1.0], 100.0), 1.0);
        assert_eq!(percentile_r7(&[4.0], 1.0), 4.0);
        assert!(percentile_r7(&[], 50.0).is_nan());
        assert!(percentile_r7(&ten, 0.0).is_nan());
        assert!(percentile_r7(&ten, 101.0).is_nan());
        // pos < 1 gives the minimum: N = 2, P1 → pos 1.01 interpolates, but N = 1 is handled above; with
        // N = 3, P1 → pos = 1.02.
        assert_eq!(percentile_r7(&[10.0, 20.0, 30.0], 1.0), 10.0 + 0.020000000000000018 * 10.0);
    }

    #[test]
    fn r7_percentile_zero_inflated_sample() {
        // StatisticSuite "Percentile Estimate (Linear Interpolation)": P25 = 0, P75 ≈ 0.0416.
        let data = [
            0.07142857142857144,
            0.02083333333333332,
            0.16666666666666666,
            0.03448275862068966,
            0.038461538461538464,
            0.03225806451612904,
            0.027777777777777773,
            0.0,
            0.23076923076923078,
            0.10344827586206898,
            0.04545454545454542,
            0.0,
            0.028571428571428564,
            0.0,
            0.0,
            0.04,
            0.0,
            0.0,
            0.05128205128205127,
            0.10714285714285716,
            0.0263157894736842,
            0.04166666666666667,
            0.09523809523809522,
            0.02941176470588235,
            0.024999999999999984,
            0.0,
            0.0,
            0.023809523809523794,
            0.0,
            0.02564102564102563,
            0.0,
            0.0,
            0.028571428571428564,
            0.07142857142857144,
            0.047619047619047596,
            0.021276595744680833,
            0.02564102564102563,
            0.03125,
            0.03125,
            0.03125,
            0.11363636363636356,
            0.03571428571428572,
            0.0,
            0.02777777777777777,
            0.0,
            0.0,
            0.055555555555555546,
            0.028571428571428564,
            0.03225806451612904,
        ];
        assert_eq!(percentile_r7(&data, 25.0), 0.0);
        assert!((percentile_r7(&data, 75.0) - 0.0416).abs() < 1e-4);
    }

    #[test]
    fn iqr_detector_flags_single_high_outlier() {
        // DetectorSuite (factor 1.5, no reduced sensitivity): 50 is flagged.
        let data = [21.0, 23.0, 24.0, 25.0, 50.0, 29.0, 23.0, 21.0];
        assert_eq!(iqr_outliers(&data, 1.5, false), vec![false, false, false, false, true, false, false, false]);
        // Q1 = 22.5, Q3 = 26, IQR = 3.5.
        assert_eq!(iqr_fences(&data, 1.5, false), (22.5 - 1.5 * 3.5, 26.0 + 1.5 * 3.5));
    }

    #[test]
    fn iqr_detector_two_sided() {
        let data = [1.0, 1.0, 1.0, 5.0, -1.0, -1.0, -1.0, -5.0];
        assert_eq!(iqr_outliers(&data, 1.5, false), vec![false, false, false, true, false, false, false, true]);
    }

    #[test]
    fn iqr_detector_edge_sizes() {
        // Empty: nothing to flag.
        assert!(iqr_outliers(&[], 1.5, true).is_empty());
        // N = 1: every percentile is the value itself, so nothing is strictly outside.
        assert_eq!(iqr_outliers(&[7.0], 3.0, true), vec![false]);
        assert_eq!(iqr_fences(&[7.0], 3.0, true), (7.0, 7.0));
        // N = 2: P1/P99 interpolate at 1.01/1.99, so both points are inside the fences.
        assert_eq!(iqr_outliers(&[0.0, 1000.0], 3.0, true), vec![false, false]);
    }

    #[test]
    fn reduced_sensitivity_below_100_points_removes_at_most_the_extremes() {
        // N = 11: P99 sits at pos 10.9, 90 % of the way from the 10th to the 11th value, so the single
        // spike is above the upper fence and is the only point removed. (Kayenta's old DetectorSuite
        // expected no flag here because the detector then used commons-math's LEGACY percentile, where
        // P99 of 11 points is the maximum; the current detector uses R-7.)
        let data = [1.0, 1.0, 1.0, 1.0, 1.0, 20.0, 1.0, 1.0, 1.0, 1.0, 1.0];
        let (lower, upper) = iqr_fences(&data, 3.0, true);
        assert_eq!(lower, 1.0);
        assert_eq!(upper, 1.0 + 0.9000000000000004 * 19.0);
        assert_eq!(remove_outliers(&data, 3.0), vec![1.0; 10]);
        // Two equal spikes: P99 interpolates between them, so neither is strictly above it.
        let mut two = vec![1.0; 20];
        two.extend([50.0, 50.0]);
        assert_eq!(remove_outliers(&two, 3.0).len(), 22);
        // Several distinct spikes among 30 points: only the largest goes.
        let mut many = vec![10.0; 30];
        many.extend([100.0, 200.0, 300.0, 400.0]);
        let kept = remove_outliers(&many, 3.0);
        assert_eq!(kept.len(), 33);
        assert!(!kept.contains(&400.0));
        // Same on the low side.
        let mut low = vec![10.0; 30];
        low.extend([-100.0, -200.0]);
        let kept = remove_outliers(&low, 3.0);
        assert_eq!(kept.len(), 31);
        assert!(!kept.contains(&-200.0));
    }

    #[test]
    fn reduced_sensitivity_at_200_points_removes_two_of_four_spikes() {
        // Reference §2.2: with N ≥ 100 about 1 % per tail can go; 4 spikes in 200 points, 2 removed.
        let mut data: Vec<f64> = (0..196).map(|i| 100.0 + (i % 7) as f64).collect();
        data.extend([5000.0, 6000.0, 7000.0, 8000.0]);
        let kept = remove_outliers(&data, 3.0);
        assert_eq!(kept.len(), 198);
        assert!(kept.contains(&5000.0) && kept.contains(&6000.0));
        assert!(!kept.contains(&7000.0) && !kept.contains(&8000.0));
    }

    #[test]
    fn descriptive_statistics() {
        // StatisticSuite: [1,1,1,10,10,10] → min 1, max 10, mean 5.5, std 4.9295 (1e-4), count 6.
        let stats = describe(&[1.0, 1.0, 1.0, 10.0, 10.0, 10.0]);
        assert_eq!(stats.min, 1.0);
        assert_eq!(stats.max, 10.0);
        assert_eq!(stats.mean, 5.5);
        assert!((stats.std - 4.9295).abs() < 1e-4);
        assert_eq!(stats.count, 6);
        // Scalar and empty.
        assert_eq!(describe(&[4.0]), MetricStats { min: 4.0, max: 4.0, mean: 4.0, std: 0.0, count: 1 });
        assert_eq!(describe(&[]), MetricStats { min: 0.0, max: 0.0, mean: 0.0, std: 0.0, count: 0 });
    }

    #[test]
    fn two_pass_mean_corrects_rounding() {
        // x̄ = Σx/n, then x̄ + Σ(x − x̄)/n, summed left to right as commons-math does.
        let values = [0.1, 0.2, 0.3];
        let naive = (0.1 + 0.2 + 0.3) / 3.0;
        let xbar = naive;
        let correction = (0.1 - xbar) + (0.2 - xbar) + (0.3 - xbar);
        assert_eq!(mean(&values), xbar + correction / 3.0);
        assert!(mean(&[]).is_nan());
        assert!(variance(&[]).is_nan());
        assert_eq!(variance(&[3.0]), 0.0);
    }
}
