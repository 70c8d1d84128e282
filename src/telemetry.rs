//! The service's own metrics, in Prometheus text format (`GET /metrics`).
//!
//! A deliberately small registry: a handful of fixed families, lock-free counters and
//! fixed-bucket histograms. It exists so that augur needs no metrics crate for four
//! families. Runs by phase are counted from the store at scrape time, so they stay
//! right across restarts.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

/// Histogram bucket upper bounds, in seconds.
const LATENCY_BUCKETS: [f64; 12] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0];
const LATENESS_BUCKETS: [f64; 10] = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0];

/// A fixed-bucket histogram.
#[derive(Debug)]
pub struct Histogram {
    bounds: &'static [f64],
    buckets: Vec<AtomicU64>,
    count: AtomicU64,
    /// Sum in microseconds, to stay an integer.
    sum_micros: AtomicU64,
}

impl Histogram {
    fn new(bounds: &'static [f64]) -> Histogram {
        Histogram {
            bounds,
            buckets: bounds.iter().map(|_| AtomicU64::new(0)).collect(),
            count: AtomicU64::new(0),
            sum_micros: AtomicU64::new(0),
        }
    }

    /// Records one observation, in seconds.
    pub fn observe(&self, seconds: f64) {
        let seconds = if seconds.is_finite() { seconds.max(0.0) } else { 0.0 };
        for (b, bound) in self.buckets.iter().zip(self.bounds) {
            if seconds <= *bound {
                b.fetch_add(1, Ordering::Relaxed);
            }
        }
        self.count.fetch_add(1, Ordering::Relaxed);
        self.sum_micros.fetch_add((seconds * 1e6) as u64, Ordering::Relaxed);
    }

    fn render(&self, out: &mut String, name: &str, labels: &str) {
        let sep = if labels.is_empty() { "" } else { "," };
        for (b, bound) in self.buckets.iter().zip(self.bounds) {
            let _ = writeln!(out, "{name}_bucket{{{labels}{sep}le=\"{bound}\"}} {}", b.load(Ordering::Relaxed));
        }
        let count = self.count.load(Ordering::Relaxed);
        let _ = writeln!(out, "{name}_bucket{{{labels}{sep}le=\"+Inf\"}} {count}");
        let sum = self.sum_micros.load(Ordering::Relaxed) as f64 / 1e6;
        let braces = if labels.is_empty() { String::new() } else { format!("{{{labels}}}") };
        let _ = writeln!(out, "{name}_sum{braces} {sum}");
        let _ = writeln!(out, "{name}_count{braces} {count}");
    }
}

/// Everything `/metrics` reports besides runs by phase.
#[derive(Debug)]
pub struct Telemetry {
    /// (provider, phase) → measurements taken.
    measurements: Mutex<BTreeMap<(String, String), u64>>,
    /// provider → measurement latency.
    latency: Mutex<BTreeMap<String, std::sync::Arc<Histogram>>>,
    /// How late measurements start relative to when they were due.
    pub lateness: Histogram,
}

impl Default for Telemetry {
    fn default() -> Telemetry {
        Telemetry {
            measurements: Mutex::default(),
            latency: Mutex::default(),
            lateness: Histogram::new(&LATENESS_BUCKETS),
        }
    }
}

fn escape(v: &str) -> String {
    v.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

impl Telemetry {
    /// Records a finished measurement.
    pub fn measured(&self, provider: &str, phase: &str, seconds: f64) {
        {
            let mut m = self.measurements.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            *m.entry((provider.to_string(), phase.to_string())).or_default() += 1;
        }
        let h = {
            let mut l = self.latency.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            std::sync::Arc::clone(
                l.entry(provider.to_string()).or_insert_with(|| std::sync::Arc::new(Histogram::new(&LATENCY_BUCKETS))),
            )
        };
        h.observe(seconds);
    }

    /// The exposition text; `runs_by_phase` comes from the store.
    pub fn render(&self, runs_by_phase: &[(String, i64)]) -> String {
        let mut out = String::new();
        out.push_str("# HELP augur_runs Analysis runs currently stored, by phase.\n# TYPE augur_runs gauge\n");
        for phase in ["Pending", "Running", "Successful", "Failed", "Error", "Inconclusive"] {
            let n = runs_by_phase.iter().find(|(p, _)| p == phase).map_or(0, |(_, n)| *n);
            let _ = writeln!(out, "augur_runs{{phase=\"{phase}\"}} {n}");
        }
        out.push_str(
            "# HELP augur_measurements_total Measurements taken, by provider and phase.\n# TYPE augur_measurements_total counter\n",
        );
        for ((provider, phase), n) in self.measurements.lock().unwrap_or_else(std::sync::PoisonError::into_inner).iter()
        {
            let _ =
                writeln!(out, "augur_measurements_total{{provider=\"{}\",phase=\"{phase}\"}} {n}", escape(provider));
        }
        out.push_str(
            "# HELP augur_provider_latency_seconds Time from starting a measurement to its result, by provider.\n# TYPE augur_provider_latency_seconds histogram\n",
        );
        for (provider, h) in self.latency.lock().unwrap_or_else(std::sync::PoisonError::into_inner).iter() {
            h.render(&mut out, "augur_provider_latency_seconds", &format!("provider=\"{}\"", escape(provider)));
        }
        out.push_str(
            "# HELP augur_scheduler_lateness_seconds How long after its due time a measurement started.\n# TYPE augur_scheduler_lateness_seconds histogram\n",
        );
        self.lateness.render(&mut out, "augur_scheduler_lateness_seconds", "");
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_counters_and_cumulative_buckets() {
        let t = Telemetry::default();
        t.measured("web", "Successful", 0.02);
        t.measured("web", "Successful", 0.2);
        t.measured("web", "Error", 40.0);
        t.lateness.observe(0.003);
        let text = t.render(&[("Running".into(), 2)]);
        assert!(text.contains("augur_runs{phase=\"Running\"} 2\n"), "{text}");
        assert!(text.contains("augur_runs{phase=\"Failed\"} 0\n"), "{text}");
        assert!(text.contains("augur_measurements_total{provider=\"web\",phase=\"Successful\"} 2\n"), "{text}");
        assert!(text.contains("augur_provider_latency_seconds_bucket{provider=\"web\",le=\"0.025\"} 1\n"), "{text}");
        assert!(text.contains("augur_provider_latency_seconds_bucket{provider=\"web\",le=\"0.25\"} 2\n"), "{text}");
        assert!(text.contains("augur_provider_latency_seconds_bucket{provider=\"web\",le=\"+Inf\"} 3\n"), "{text}");
        assert!(text.contains("augur_provider_latency_seconds_count{provider=\"web\"} 3\n"), "{text}");
        assert!(text.contains("augur_scheduler_lateness_seconds_bucket{le=\"0.001\"} 0\n"), "{text}");
        assert!(text.contains("augur_scheduler_lateness_seconds_bucket{le=\"0.005\"} 1\n"), "{text}");
    }
}
