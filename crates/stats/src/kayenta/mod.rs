//! Kayenta's canary judge (`NetflixACAJudge-v1.0`), ported bit for bit.
//!
//! This module reproduces what Kayenta decides for one metric and for a whole canary, quirks included:
//! the per-metric configuration as Kayenta reads it ([`config`]), NaN handling and the reduced-sensitivity
//! IQR outlier filter ([`preprocess`]), the Mann–Whitney confidence interval obtained by inverting R's
//! `wilcox.test` normal approximation with Brent's method at an *absolute* tolerance of 1e-4
//! ([`mannwhitney`], [`brent`]), the ±25 % decision with its effect-size gates ([`classify`]) and the
//! weighted group scoring ([`score`](mod@score)).
//!
//! It is deliberately *not* a good statistical judge: see `shared/reference/kayenta-judge.md` §0 for what is
//! wrong with it, and [`crate::engine`] for augur's own engine. Use this module when a user needs Kayenta's
//! exact verdicts.
//!
//! # Fidelity
//!
//! Floating-point operations are performed in the same order as Kayenta's Scala/Java code (commons-math
//! 3.6.1), so results are identical to the last bit. The one intentional difference is the tie-breaking
//! noise that Kayenta adds when both samples are constant (an unseeded `scala.util.Random`): this port uses
//! deterministic normal quantiles instead, so the library has no randomness (see
//! [`classify::deterministic_noise`]).
//!
//! # Layout
//!
//! * [`config`]: `analysisConfigurations.canary` resolution and the canary config format.
//! * [`preprocess`]: NaN strategy, R-7 percentiles, the IQR detector, descriptive statistics.
//! * [`normal`]: commons-math's inverse normal CDF (`erfInv`), needed for a bit-exact `zq`.
//! * [`brent`]: R's `zeroin` as Kayenta ports it (`KayentaBrentSolver.brentDirect`).
//! * [`mannwhitney`]: the rank-sum z-function and the confidence interval and estimate.
//! * [`effect`]: mean ratio and CLES.
//! * [`classify`]: the per-metric decision and [`MetricResult`].
//! * [`score`](mod@score): groups, weights, the critical and Nodata rules, and the threshold classification.

pub mod brent;
pub mod classify;
pub mod config;
pub mod effect;
pub mod mannwhitney;
pub mod normal;
pub mod preprocess;
pub mod score;

pub use classify::{Classification, JudgeParams, MetricResult, classify_metric, classify_metric_with};
pub use config::{
    CanaryConfig, Config, Direction, EffectSize, EffectSizeMeasure, MetricConfig, NanStrategy, OutlierStrategy,
};
pub use mannwhitney::{MannWhitneyError, MannWhitneyResult, mann_whitney, wilcoxon_diff};
pub use preprocess::MetricStats;
pub use score::{GroupScore, ScoreClassification, ScoreResult, score};

/// The tolerance Kayenta hard-codes in `NetflixACAJudge.classifyMetric`: a metric is High or Low only when
/// the confidence interval clears ±0.25·|estimate|.
pub const TOLERANCE: f64 = 0.25;

/// The confidence level Kayenta hard-codes in `NetflixACAJudge.classifyMetric`.
pub const CONF_LEVEL: f64 = 0.98;

/// The absolute tolerance of Kayenta's Brent solver (`KayentaBrentSolver.brentDirect`).
pub const SOLVER_TOLERANCE: f64 = 1e-4;

/// The iteration limit of Kayenta's Brent solver (the loop runs `maxit + 1` times, as in R's `zeroin`).
pub const SOLVER_MAX_ITER: usize = 1000;
