//! Canary-vs-baseline statistics: pure, synchronous, no IO.
//!
//! Two engines judge one metric's canary samples against its baseline samples:
//!
//! * [`kayenta`]: Kayenta's `NetflixACAJudge`, bit for bit (preprocessing, the
//!   Mann–Whitney confidence interval from R's `wilcox.test` via Brent's method at an
//!   absolute tolerance of 1e-4, the ±25 % decision, scoring). For users who depend on
//!   Kayenta's exact verdicts, quirks included.
//! * [`engine`]: augur's default: exact Mann–Whitney p-values, the exact Hodges–Lehmann
//!   estimate and an order-statistic confidence interval (scale-free, no solver), count
//!   and rate tests, multiple-testing correction, and anytime-valid sequential tests.
//!
//! Reference: `shared/reference/kayenta-judge.md`.

pub mod engine;
pub mod kayenta;
