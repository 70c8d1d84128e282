//! Kayenta's effect sizes (`EffectSizes`): the mean ratio and the common-language effect size (CLES).
//!
//! Both take the baseline ("control") first and the canary ("experiment") second, as Kayenta's do.

use crate::kayenta::mannwhitney::natural_ranking;
use crate::kayenta::preprocess::mean;

/// `EffectSizes.meanRatio(control, experiment)`: `mean(experiment) / mean(control)` with commons-math's
/// two-pass means, and **NaN when either mean is exactly 0.0** (a NaN effect size skips the effect gates).
pub fn mean_ratio(control: &[f64], experiment: &[f64]) -> f64 {
    let control_mean = mean(control);
    let experiment_mean = mean(experiment);
    if control_mean == 0.0 || experiment_mean == 0.0 { f64::NAN } else { experiment_mean / control_mean }
}

/// `EffectSizes.cles(control, experiment)`: `(2·R₁ − m(m+1)) / (2·n·m)`, where `R₁` is the sum of the
/// canary's average ranks in `experiment ++ control`, `m = |experiment|` and `n = |control|`. It equals
/// P(X > Y) + ½·P(X = Y).
///
/// As in Scala, `m(m+1)` and `2·n·m` are 32-bit `Int` products and wrap around for very large samples
/// (n·m above about 1.07e9). Empty input gives NaN.
pub fn cles(control: &[f64], experiment: &[f64]) -> f64 {
    // Array lengths are Java ints.
    let m = experiment.len() as i32;
    let n = control.len() as i32;
    let pooled: Vec<f64> = experiment.iter().chain(control).copied().collect();
    let ranks = natural_ranking(&pooled);
    let mut r1 = 0.0;
    for &rank in &ranks[..experiment.len()] {
        r1 += rank;
    }
    let numerator = 2.0 * r1 - f64::from(m.wrapping_mul(m.wrapping_add(1)));
    let denominator = f64::from(2i32.wrapping_mul(n).wrapping_mul(m));
    numerator / denominator
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mean_ratio_cases() {
        // StatisticSuite: no effect, ×10, ×0.1, zero control mean.
        assert_eq!(mean_ratio(&[1.0; 5], &[1.0; 5]), 1.0);
        assert_eq!(mean_ratio(&[1.0; 5], &[10.0; 5]), 10.0);
        assert_eq!(mean_ratio(&[100.0; 5], &[10.0; 5]), 0.1);
        assert!(mean_ratio(&[0.0; 5], &[10.0; 5]).is_nan());
        // A zero canary mean is NaN too.
        assert!(mean_ratio(&[10.0; 5], &[0.0; 5]).is_nan());
        assert!(mean_ratio(&[-1.0, 1.0], &[3.0]).is_nan());
    }

    #[test]
    fn cles_identical_and_disjoint() {
        let same = [1.0, 2.0, 3.0, 4.0, 5.0];
        assert_eq!(cles(&same, &same), 0.5);
        let experiment = [
            2.27776335, 2.61149434, 3.26894105, 2.91672701, 1.40656921, 2.18292082, 3.47901292, 3.00034118, 3.02402043,
            4.69912745,
        ];
        let control = [
            25.31531073,
            25.19450817,
            24.6288846,
            24.37991861,
            26.40999244,
            25.28524759,
            24.99788745,
            26.13841676,
            22.93604649,
            24.56817832,
        ];
        assert_eq!(cles(&control, &experiment), 0.0);
        assert_eq!(cles(&experiment, &control), 1.0);
    }

    #[test]
    fn cles_counts_ties_as_half() {
        // Two pairs: one win, one tie: (1 + 0.5) / 2.
        assert_eq!(cles(&[1.0, 2.0], &[2.0]), 0.75);
        assert!(cles(&[], &[]).is_nan());
    }
}
