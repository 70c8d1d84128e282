//! Sequential, anytime-valid judgement: look after every interval, stop as soon as the evidence is conclusive,
//! without inflating false alarms (reference §6).
//!
//! * **Continuous metrics: a normal-mixture confidence sequence (mSPRT).** Steps are paired by index (canary
//!   and baseline at the same timestamps, which also cancels load shared by both, such as diurnal traffic) and
//!   Dₜ = canaryₜ − baselineₜ. With the running mean D̄ₜ and standard deviation sₜ, the mixture martingale
//!   Eₜ = (1 + tρ²)^(−½) · exp(ρ² t² D̄ₜ² / (2 sₜ² (1 + tρ²))) is the mSPRT statistic for "mean difference 0"
//!   (Johari et al. 2022; reference §6 with τ² = ρ² σ²), and inverting it gives the confidence sequence
//!   D̄ₜ ± sₜ · √(2(tρ²+1)/(t²ρ²) · ln(√(tρ²+1)/α)) (Robbins' normal mixture; Howard et al. 2021). ρ² is tuned
//!   to be tightest at `tuningSteps`: ρ² = (−2 ln α + ln(1 − 2 ln α)) / t*. Because sₜ is the running estimate,
//!   the time-uniform guarantee is asymptotic (Waudby-Smith et al., "Time-uniform central limit theory",
//!   2024); no decision is taken before `minSteps` pairs. The sequence is two-sided at level α whatever the
//!   direction (valid for each one-sided decision too). With `serialDependence: auto` (the default) sₜ² is the
//!   *long-run* variance of the differences, sₜ² times the AR-sieve inflation of [`serial`](super::serial)
//!   recomputed at every step, because per-step differences are autocorrelated and the plain variance would
//!   make the sequence far too narrow.
//! * **Counts and rates: Lindon & Malek's Poisson-process test.** Events of each side are inhomogeneous Poisson
//!   processes with intensities e^{δ_side} λ(t) per unit exposure; given an event in an interval, it is a canary
//!   event with probability θ = E_c e^δ / (E_c e^δ + E_b), δ the log rate ratio, and the shared λ(t) cancels.
//!   The e-process is a mixture over δ of the likelihood ratios against the boundary of the null, over a
//!   log-spaced grid of 20 effect sizes (log rate ratios 0.01 … 7.2 beyond the null boundary, equal
//!   weights). For the null "canary rate ≤ (1 + r) × baseline rate" every component is a supermartingale
//!   (θ ↦ likelihood ratio is increasing), so the mixture is an exact, nonasymptotic e-process, valid with any
//!   traffic split that changes between intervals. Two-sided
//!   (`either`) averages the High and Low e-processes. For rates the numerators are the events and the
//!   denominators the exposures (the Poisson limit of rare events).
//!
//! The anytime-valid p-value is min(1, 1 / maxₛ≤ₜ Eₛ) (Ville's inequality). A decision, once reached, is kept
//! (`decidedAt` says when). Across metrics [`judge_sequential_all`] applies Bonferroni (α/k each), valid under
//! any dependence and at any stopping time.

use serde::{Deserialize, Serialize};

use super::config::{ConfigError, Direction, Margin, MetricConfig, MetricKind, NanPolicy, SerialDependence};
use super::input::{MetricInput, Sample};
use super::judge::{num, signed};
use super::serial::RunningSerial;
use super::special::{log_sum_exp, norm_upper_quantile, softplus, t_upper_quantile};

/// What a sequential look concludes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum SequentialDecision {
    /// Not conclusive yet: keep baking (or end the run and report Pass).
    Continue,
    /// Conclusively no bad change beyond the margin (the confidence sequence lies inside it). Continuous only.
    Pass,
    /// Conclusively higher.
    High,
    /// Conclusively lower.
    Low,
}

/// Which sequential test ran.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum SequentialTest {
    /// Normal-mixture confidence sequence / mSPRT on paired step differences.
    NormalMixture,
    /// Lindon–Malek Poisson-process e-process on event counts.
    PoissonProcess,
}

/// The state of a sequential judgement after the steps seen so far.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SequentialVerdict {
    /// The metric's name (empty unless from [`judge_sequential_all`]).
    pub name: String,
    /// The (latched) decision.
    pub decision: SequentialDecision,
    /// The step at which the decision was reached, if it was.
    pub decided_at: Option<usize>,
    /// One line saying why.
    pub reason: String,
    /// The configured kind.
    pub kind: MetricKind,
    /// The configured direction.
    pub direction: Direction,
    /// The test.
    pub test: SequentialTest,
    /// The significance level (before any Bonferroni split).
    pub alpha: f64,
    /// Steps used: pairs (continuous) or intervals with exposure on both sides (counts).
    pub steps: usize,
    /// The current e-value (saturates at f64::MAX).
    pub e_value: f64,
    /// Anytime-valid p-value min(1, 1 / max e-value so far).
    pub p_value: f64,
    /// `pValue` times the number of metrics (Bonferroni), capped at 1.
    pub adjusted_p_value: f64,
    /// Continuous: mean paired difference canary − baseline; counts: difference of cumulative rates.
    pub estimate: Option<f64>,
    /// Continuous: the confidence sequence's current lower bound (level 1 − α, time-uniform).
    pub cs_lower: Option<f64>,
    /// Continuous: its upper bound.
    pub cs_upper: Option<f64>,
    /// Relative change: estimate / |baseline level| (counts: rate ratio − 1).
    pub effect: Option<f64>,
    /// Baseline level: mean (continuous) or cumulative rate (counts).
    pub baseline_level: Option<f64>,
    /// Canary level.
    pub canary_level: Option<f64>,
}

fn finite(v: f64) -> Option<f64> {
    v.is_finite().then_some(v + 0.0)
}

fn evidence(log_e: f64, max_log_e: f64) -> String {
    let p = (-max_log_e).exp().min(1.0);
    let p = if p < 1e-4 { format!("{p:.2e}") } else { num(p) };
    format!("e={}, anytime p={p}", num(log_e.exp().min(f64::MAX)))
}

/// With `serialDependence: auto`, no sequential decision before this many pairs: below it the
/// dependence estimate is too often 1 on strongly autocorrelated data (docs/statistics.md).
const DEPENDENCE_STEPS: usize = 30;

/// Running state of the normal-mixture confidence sequence for one continuous metric.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ContinuousSequence {
    config: MetricConfig,
    alpha: f64,
    rho2: f64,
    steps: usize,
    mean: f64,
    m2: f64,
    baseline_mean: f64,
    canary_mean: f64,
    log_e: f64,
    max_log_e: f64,
    decision: SequentialDecision,
    decided_at: Option<usize>,
    decided_reason: String,
    /// Autocovariances of the paired differences, for the serial-dependence correction.
    #[serde(default)]
    serial: RunningSerial,
}

impl ContinuousSequence {
    /// A fresh sequence at the configuration's α.
    pub fn new(config: &MetricConfig) -> Result<Self, ConfigError> {
        Self::with_alpha(config, config.alpha)
    }

    /// A fresh sequence at level `alpha` (e.g. a Bonferroni share).
    pub fn with_alpha(config: &MetricConfig, alpha: f64) -> Result<Self, ConfigError> {
        config.validate()?;
        if !(alpha > 0.0 && alpha < 1.0) {
            return Err(ConfigError(format!("alpha must be in (0, 1), got {alpha}")));
        }
        let l = -2.0 * alpha.ln();
        let rho2 = (l + (l + 1.0).ln()) / config.sequential.tuning_steps as f64;
        Ok(ContinuousSequence {
            config: config.clone(),
            alpha,
            rho2,
            steps: 0,
            mean: 0.0,
            m2: 0.0,
            baseline_mean: 0.0,
            canary_mean: 0.0,
            log_e: 0.0,
            max_log_e: 0.0,
            decision: SequentialDecision::Continue,
            decided_at: None,
            decided_reason: String::new(),
            serial: RunningSerial::default(),
        })
    }

    /// Adds one step: the baseline and canary values at the same time. Missing values follow the NaN policy
    /// (`remove` skips the pair).
    pub fn push(&mut self, baseline: f64, canary: f64) {
        let (b, c) = match self.config.nan_policy {
            NanPolicy::Remove if !(baseline.is_finite() && canary.is_finite()) => return,
            NanPolicy::Remove => (baseline, canary),
            NanPolicy::Replace => {
                (if baseline.is_finite() { baseline } else { 0.0 }, if canary.is_finite() { canary } else { 0.0 })
            }
        };
        self.steps += 1;
        let t = self.steps as f64;
        let d = c - b;
        let delta = d - self.mean;
        self.mean += delta / t;
        self.m2 += delta * (d - self.mean);
        self.baseline_mean += (b - self.baseline_mean) / t;
        self.canary_mean += (c - self.canary_mean) / t;
        self.serial.push(d);
        let f = self.inflation();
        let Some((lo, hi, log_e)) = self.sequence(f) else {
            self.log_e = 0.0;
            return;
        };
        self.log_e = log_e;
        if !self.ready(f) {
            return;
        }
        self.max_log_e = self.max_log_e.max(log_e);
        if self.decision != SequentialDecision::Continue {
            return;
        }
        let dir = self.config.direction;
        let (m, margin) = self.margin();
        let cs =
            format!("mean difference {} ({} CS {} to {})", signed(self.mean), self.level(), signed(lo), signed(hi));
        let beyond = if m > 0.0 { format!(" beyond {margin}") } else { String::new() };
        let decided = if dir.allows_high() && lo > m {
            Some((SequentialDecision::High, format!("canary higher: {cs}{beyond}")))
        } else if dir.allows_low() && hi < -m {
            Some((SequentialDecision::Low, format!("canary lower: {cs}{beyond}")))
        } else {
            let inside = match dir {
                Direction::Either => m > 0.0 && lo >= -m && hi <= m,
                Direction::Increase => hi <= m,
                Direction::Decrease => lo >= -m,
            };
            inside.then(|| (SequentialDecision::Pass, format!("no bad change: {cs} within {margin}")))
        };
        if let Some((decision, reason)) = decided {
            self.decision = decision;
            self.decided_at = Some(self.steps);
            self.decided_reason = reason;
        }
    }

    /// The variance multiplier: the long-run inflation f and, when it is above 1 (estimated),
    /// the squared ratio of Student's t to the normal quantile at α/2 on t/f − 1 degrees of
    /// freedom, because the long-run variance is estimated from few effective pairs.
    fn small_sample_factor(&self, f: f64) -> f64 {
        if f <= 1.0 {
            return 1.0;
        }
        let df = (self.steps as f64 / f - 1.0).max(1.0);
        let tail = self.alpha / 2.0;
        let ratio = t_upper_quantile(tail, df) / norm_upper_quantile(tail);
        f * ratio * ratio
    }

    /// Whether a decision may be taken now: at least `minSteps` pairs and, when serial
    /// dependence is estimated, at least `minSteps` *effective* pairs (steps / inflation) and
    /// enough steps to estimate the dependence at all. `f` is [`inflation`](Self::inflation) now.
    fn ready(&self, f: f64) -> bool {
        let min = self.config.sequential.min_steps.max(2);
        if self.steps < min {
            return false;
        }
        match self.config.serial_dependence {
            SerialDependence::Independent => true,
            SerialDependence::Auto => self.steps >= DEPENDENCE_STEPS && self.steps as f64 / f >= min as f64,
        }
    }

    /// The long-run variance factor of the differences (`serialDependence: auto`), else 1: the confidence
    /// sequence of a weakly dependent series uses its long-run variance in place of the variance (the same
    /// invariance principle that makes the plug-in variance valid asymptotically).
    fn inflation(&self) -> f64 {
        match self.config.serial_dependence {
            // A run checked at every step cannot afford an underestimate at its first looks: at least an
            // AR(1), and at least the AR(1) at one standard error above ρ̂₁ (docs/statistics.md).
            SerialDependence::Auto => self.serial.conservative_inflation(),
            SerialDependence::Independent => 1.0,
        }
    }

    fn level(&self) -> String {
        format!("{}%", num((1.0 - self.alpha) * 100.0))
    }

    fn margin(&self) -> (f64, String) {
        match self.config.margin {
            Margin::Absolute(m) => (m, format!("margin ±{}", num(m))),
            Margin::Relative(r) => {
                let m = r * self.baseline_mean.abs();
                (m, format!("margin ±{} ({}% of the baseline mean)", num(m), num(r * 100.0)))
            }
        }
    }

    /// (lower, upper, ln E) now, or `None` before two pairs or while every difference is equal. `f` is
    /// [`inflation`](Self::inflation) now (computed once per step by the caller).
    fn sequence(&self, f: f64) -> Option<(f64, f64, f64)> {
        if self.steps < 2 {
            return None;
        }
        let t = self.steps as f64;
        let s2 = self.m2 / (t - 1.0) * self.small_sample_factor(f);
        if s2.is_nan() || s2 <= 0.0 {
            return None;
        }
        let r = self.rho2;
        let w = (s2 * 2.0 * (t * r + 1.0) / (t * t * r) * ((t * r + 1.0).sqrt() / self.alpha).ln()).sqrt();
        let log_e = -0.5 * (t * r).ln_1p() + r * t * t * self.mean * self.mean / (2.0 * s2 * (1.0 + t * r));
        Some((self.mean - w, self.mean + w, log_e))
    }

    /// The verdict after the steps seen so far.
    pub fn verdict(&self) -> SequentialVerdict {
        let f = self.inflation();
        let cs = self.sequence(f);
        let reason = match (self.decision, cs) {
            (SequentialDecision::Continue, _) if self.steps < self.config.sequential.min_steps.max(2) => {
                format!("{} of at least {} paired steps so far", self.steps, self.config.sequential.min_steps.max(2))
            }
            (SequentialDecision::Continue, None) => {
                format!("no variation in the {} paired differences yet", self.steps)
            }
            (SequentialDecision::Continue, Some(_)) if !self.ready(f) => {
                format!(
                    "{} paired steps, about {} effective (autocorrelated steps, variance ×{}); no decision before \
                     {DEPENDENCE_STEPS} steps and {} effective ones",
                    self.steps,
                    num(self.steps as f64 / f),
                    num(f),
                    self.config.sequential.min_steps.max(2)
                )
            }
            (SequentialDecision::Continue, Some((lo, hi, _))) => format!(
                "not conclusive after {} steps: mean difference {} ({} CS {} to {}); {}",
                self.steps,
                signed(self.mean),
                self.level(),
                signed(lo),
                signed(hi),
                evidence(self.log_e, self.max_log_e)
            ),
            (_, _) => format!(
                "{} at step {}: {}; {}",
                match self.decision {
                    SequentialDecision::High => "High",
                    SequentialDecision::Low => "Low",
                    _ => "Pass",
                },
                self.decided_at.unwrap_or(0),
                self.decided_reason,
                evidence(self.log_e, self.max_log_e)
            ),
        };
        let reference = self.baseline_mean.abs();
        let p = (-self.max_log_e).exp().min(1.0);
        SequentialVerdict {
            name: String::new(),
            decision: self.decision,
            decided_at: self.decided_at,
            reason,
            kind: self.config.kind,
            direction: self.config.direction,
            test: SequentialTest::NormalMixture,
            alpha: self.config.alpha,
            steps: self.steps,
            e_value: self.log_e.exp().min(f64::MAX),
            p_value: p,
            adjusted_p_value: p,
            estimate: (self.steps > 0).then_some(self.mean).and_then(finite),
            cs_lower: cs.and_then(|c| finite(c.0)),
            cs_upper: cs.and_then(|c| finite(c.1)),
            effect: (self.steps > 0 && reference > 0.0).then(|| self.mean / reference).and_then(finite),
            baseline_level: (self.steps > 0).then_some(self.baseline_mean).and_then(finite),
            canary_level: (self.steps > 0).then_some(self.canary_mean).and_then(finite),
        }
    }
}

/// Offsets of the log-rate-ratio alternatives from the null boundary: 0.01 · 2^(j/2), j = 0..20.
fn grid() -> impl Iterator<Item = f64> {
    (0..20).map(|j| 0.01 * 2f64.powf(f64::from(j) / 2.0))
}

const GRID_LEN: usize = 20;

/// Running state of the Lindon–Malek Poisson-process e-process for one count (or rate) metric.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CountSequence {
    config: MetricConfig,
    alpha: f64,
    /// Null boundary of the High test (log rate ratio): ln(1 + r), or 0.
    null_high: f64,
    /// Null boundary of the Low test: ln(1 − r), or 0.
    null_low: f64,
    log_lr_high: Vec<f64>,
    log_lr_low: Vec<f64>,
    steps: usize,
    canary_events: u64,
    baseline_events: u64,
    canary_exposure: f64,
    baseline_exposure: f64,
    log_e: f64,
    max_log_e: f64,
    decision: SequentialDecision,
    decided_at: Option<usize>,
    decided_reason: String,
}

impl CountSequence {
    /// A fresh e-process at the configuration's α.
    pub fn new(config: &MetricConfig) -> Result<Self, ConfigError> {
        Self::with_alpha(config, config.alpha)
    }

    /// A fresh e-process at level `alpha`.
    pub fn with_alpha(config: &MetricConfig, alpha: f64) -> Result<Self, ConfigError> {
        config.validate()?;
        if !(alpha > 0.0 && alpha < 1.0) {
            return Err(ConfigError(format!("alpha must be in (0, 1), got {alpha}")));
        }
        let (null_high, null_low) = match config.margin {
            Margin::Relative(r) => (r.ln_1p(), (-r).ln_1p()),
            Margin::Absolute(_) => (0.0, 0.0),
        };
        Ok(CountSequence {
            config: config.clone(),
            alpha,
            null_high,
            null_low,
            log_lr_high: vec![0.0; GRID_LEN],
            log_lr_low: vec![0.0; GRID_LEN],
            steps: 0,
            canary_events: 0,
            baseline_events: 0,
            canary_exposure: 0.0,
            baseline_exposure: 0.0,
            log_e: 0.0,
            max_log_e: 0.0,
            decision: SequentialDecision::Continue,
            decided_at: None,
            decided_reason: String::new(),
        })
    }

    /// Adds one interval: events and exposure of each side over the same period. An interval without positive,
    /// finite exposure on both sides is ignored.
    pub fn push(&mut self, canary_events: u64, canary_exposure: f64, baseline_events: u64, baseline_exposure: f64) {
        let (ec, eb) = (canary_exposure, baseline_exposure);
        if !(ec.is_finite() && eb.is_finite() && ec > 0.0 && eb > 0.0) {
            return;
        }
        let (xc, xb) = (canary_events as f64, baseline_events as f64);
        let a = (ec / eb).ln();
        // ln θ(δ) and ln(1 − θ(δ)) for θ(δ) = 1 / (1 + e^{−(δ + a)}).
        let ln_theta = |delta: f64| -softplus(-(delta + a));
        let ln_one_minus = |delta: f64| -softplus(delta + a);
        let update = |lr: &mut [f64], null: f64, sign: f64| {
            let (c0, b0) = (ln_theta(null), ln_one_minus(null));
            for (l, h) in lr.iter_mut().zip(grid()) {
                let d = null + sign * h;
                *l += xc * (ln_theta(d) - c0) + xb * (ln_one_minus(d) - b0);
            }
        };
        update(&mut self.log_lr_high, self.null_high, 1.0);
        update(&mut self.log_lr_low, self.null_low, -1.0);
        self.steps += 1;
        self.canary_events += canary_events;
        self.baseline_events += baseline_events;
        self.canary_exposure += ec;
        self.baseline_exposure += eb;
        let ln_g = (GRID_LEN as f64).ln();
        let high = log_sum_exp(&self.log_lr_high) - ln_g;
        let low = log_sum_exp(&self.log_lr_low) - ln_g;
        self.log_e = match self.config.direction {
            Direction::Increase => high,
            Direction::Decrease => low,
            Direction::Either => log_sum_exp(&[high, low]) - std::f64::consts::LN_2,
        };
        self.max_log_e = self.max_log_e.max(self.log_e);
        if self.decision != SequentialDecision::Continue || self.log_e < -self.alpha.ln() {
            return;
        }
        let up = match self.config.direction {
            Direction::Increase => true,
            Direction::Decrease => false,
            Direction::Either => high >= low,
        };
        let (rc, rb) = self.rates();
        let diff = rc - rb;
        let (ok, margin) = match self.config.margin {
            Margin::Absolute(m) => {
                let text =
                    if m > 0.0 { format!(", beyond margin ±{} (on the estimate)", num(m)) } else { String::new() };
                (if up { diff > m } else { diff < -m }, text)
            }
            Margin::Relative(r) => (true, format!(", beyond margin ±{}%", num(r * 100.0))),
        };
        if ok {
            let what = format!(
                "rate {} vs {} per unit exposure ({} vs {} events){margin}",
                num(rc),
                num(rb),
                self.canary_events,
                self.baseline_events
            );
            let (decision, word) =
                if up { (SequentialDecision::High, "higher") } else { (SequentialDecision::Low, "lower") };
            self.decision = decision;
            self.decided_at = Some(self.steps);
            self.decided_reason = format!("canary {word}: {what}");
        }
    }

    fn rates(&self) -> (f64, f64) {
        let r = |x: u64, e: f64| if e > 0.0 { x as f64 / e } else { 0.0 };
        (r(self.canary_events, self.canary_exposure), r(self.baseline_events, self.baseline_exposure))
    }

    /// The verdict after the intervals seen so far.
    pub fn verdict(&self) -> SequentialVerdict {
        let (rc, rb) = self.rates();
        let reason = match self.decision {
            SequentialDecision::Continue => format!(
                "not conclusive after {} intervals: {} vs {} events, rate {} vs {}; {}",
                self.steps,
                self.canary_events,
                self.baseline_events,
                num(rc),
                num(rb),
                evidence(self.log_e, self.max_log_e)
            ),
            d => format!(
                "{} at interval {}: {}; {}",
                if d == SequentialDecision::High { "High" } else { "Low" },
                self.decided_at.unwrap_or(0),
                self.decided_reason,
                evidence(self.log_e, self.max_log_e)
            ),
        };
        let p = (-self.max_log_e).exp().min(1.0);
        let any = self.steps > 0;
        SequentialVerdict {
            name: String::new(),
            decision: self.decision,
            decided_at: self.decided_at,
            reason,
            kind: self.config.kind,
            direction: self.config.direction,
            test: SequentialTest::PoissonProcess,
            alpha: self.config.alpha,
            steps: self.steps,
            e_value: self.log_e.exp().min(f64::MAX),
            p_value: p,
            adjusted_p_value: p,
            estimate: any.then_some(rc - rb).and_then(finite),
            cs_lower: None,
            cs_upper: None,
            effect: (any && rb > 0.0).then(|| rc / rb - 1.0).and_then(finite),
            baseline_level: any.then_some(rb),
            canary_level: any.then_some(rc),
        }
    }
}

fn invalid(config: &MetricConfig, why: String) -> SequentialVerdict {
    SequentialVerdict {
        name: String::new(),
        decision: SequentialDecision::Continue,
        decided_at: None,
        reason: why,
        kind: config.kind,
        direction: config.direction,
        test: if config.kind == MetricKind::Continuous {
            SequentialTest::NormalMixture
        } else {
            SequentialTest::PoissonProcess
        },
        alpha: config.alpha,
        steps: 0,
        e_value: 1.0,
        p_value: 1.0,
        adjusted_p_value: 1.0,
        estimate: None,
        cs_lower: None,
        cs_upper: None,
        effect: None,
        baseline_level: None,
        canary_level: None,
    }
}

fn run(config: &MetricConfig, alpha: f64, baseline: Sample<'_>, canary: Sample<'_>) -> SequentialVerdict {
    if config.kind == MetricKind::Continuous {
        let mut s = match ContinuousSequence::with_alpha(config, alpha) {
            Ok(s) => s,
            Err(e) => return invalid(config, format!("invalid configuration: {e}")),
        };
        for (&b, &c) in baseline.values.iter().zip(canary.values) {
            s.push(b, c);
        }
        return s.verdict();
    }
    let mut s = match CountSequence::with_alpha(config, alpha) {
        Ok(s) => s,
        Err(e) => return invalid(config, format!("invalid configuration: {e}")),
    };
    let rate = config.kind == MetricKind::Rate;
    let steps = |side: &str, sample: Sample<'_>| -> Result<Vec<Option<(u64, f64)>>, String> {
        let exposures = match sample.exposures {
            Some(e) if e.len() != sample.values.len() => {
                return Err(format!("{side}: {} exposures for {} values", e.len(), sample.values.len()));
            }
            None if rate => return Err(format!("{side}: a rate metric needs denominators (exposures)")),
            e => e,
        };
        sample
            .values
            .iter()
            .enumerate()
            .map(|(i, &v)| {
                let e = exposures.map_or(1.0, |e| e[i]);
                if !(e.is_finite() && e >= 0.0) {
                    return Ok(None);
                }
                let v = if v.is_finite() {
                    v
                } else if config.nan_policy == NanPolicy::Replace {
                    0.0
                } else {
                    return Ok(None);
                };
                if v < 0.0 {
                    return Err(format!("{side}: negative count {v} at step {i}"));
                }
                if rate && v > e {
                    return Err(format!("{side}: numerator {v} exceeds denominator {e} at step {i}"));
                }
                Ok(Some((v.round() as u64, e)))
            })
            .collect()
    };
    let (b, c) = match (steps("baseline", baseline), steps("canary", canary)) {
        (Ok(b), Ok(c)) => (b, c),
        (Err(e), _) | (_, Err(e)) => return invalid(config, format!("invalid data: {e}")),
    };
    for (b, c) in b.into_iter().zip(c) {
        if let (Some((xb, eb)), Some((xc, ec))) = (b, c) {
            s.push(xc, ec, xb, eb);
        }
    }
    s.verdict()
}

/// Sequential judgement of one metric from the samples accumulated so far (steps paired by index; trailing
/// unpaired steps wait for their partner). Recomputes from the start: O(steps). For incremental use keep a
/// [`ContinuousSequence`] or [`CountSequence`] (both serde-serializable) and push each new step.
pub fn judge_sequential(config: &MetricConfig, baseline: Sample<'_>, canary: Sample<'_>) -> SequentialVerdict {
    run(config, config.alpha, baseline, canary)
}

/// Sequential judgement of several metrics, each at α/k (Bonferroni over the k metrics); `adjustedPValue` is
/// k·p capped at 1.
pub fn judge_sequential_all(metrics: &[MetricInput<'_>]) -> Vec<SequentialVerdict> {
    let k = metrics.len().max(1) as f64;
    metrics
        .iter()
        .map(|m| {
            let mut v = run(m.config, m.config.alpha / k, m.baseline, m.canary);
            v.name = m.name.to_string();
            v.adjusted_p_value = (v.p_value * k).min(1.0);
            v
        })
        .collect()
}
