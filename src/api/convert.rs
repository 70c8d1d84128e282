//! Conversions between the service's domain types and the generated protobuf types.
//!
//! Every conversion is an explicit `From` impl here, so the gRPC handlers only move
//! values across and no protobuf type leaks past `api/`. Responses show exactly what
//! the HTTP/JSON API shows: phases by Argo's names, timestamps as RFC 3339 strings (an
//! unset time is the empty string) and secret args as `*****`. Requests follow proto3's
//! convention that an empty string means "not given".

use std::collections::{BTreeMap, HashMap};

use crate::api::pb;
use crate::model::{Measurement, MetricResult, RunSummary, Timestamp};
use crate::service::{CreateRun, ListRuns, RunView, TemplateRef};
use crate::store::{RunRecord, StoredTemplate, TtlStrategy};

/// Counters are `i64` in the domain and `int32` on the wire; a count beyond `i32::MAX`
/// cannot happen in practice, and saturating is better than wrapping if it ever does.
fn count(n: i64) -> i32 {
    i32::try_from(n).unwrap_or(if n < 0 { i32::MIN } else { i32::MAX })
}

fn time(t: Option<Timestamp>) -> String {
    t.map(|t| t.to_string()).unwrap_or_default()
}

fn map(m: BTreeMap<String, String>) -> HashMap<String, String> {
    m.into_iter().collect()
}

fn non_empty(s: String) -> Option<String> {
    if s.is_empty() { None } else { Some(s) }
}

// ---- responses ----

impl From<RunSummary> for pb::RunSummary {
    fn from(s: RunSummary) -> pb::RunSummary {
        pb::RunSummary {
            count: count(s.count),
            successful: count(s.successful),
            failed: count(s.failed),
            inconclusive: count(s.inconclusive),
            error: count(s.error),
        }
    }
}

impl From<Measurement> for pb::Measurement {
    fn from(m: Measurement) -> pb::Measurement {
        pb::Measurement {
            phase: m.phase.as_str().to_string(),
            message: m.message,
            value: m.value,
            started_at: time(m.started_at),
            finished_at: time(m.finished_at),
            metadata: map(m.metadata),
            resume_at: time(m.resume_at),
        }
    }
}

impl From<MetricResult> for pb::MetricResult {
    fn from(r: MetricResult) -> pb::MetricResult {
        pb::MetricResult {
            name: r.name,
            phase: r.phase.as_str().to_string(),
            message: r.message,
            count: count(r.count),
            successful: count(r.successful),
            failed: count(r.failed),
            inconclusive: count(r.inconclusive),
            error: count(r.error),
            consecutive_error: count(r.consecutive_error),
            consecutive_success: count(r.consecutive_success),
            dry_run: r.dry_run,
            measurements: r.measurements.into_iter().map(pb::Measurement::from).collect(),
            metadata: map(r.metadata),
        }
    }
}

impl From<RunView> for pb::Run {
    fn from(v: RunView) -> pb::Run {
        let status = v.status;
        pb::Run {
            id: v.id,
            namespace: v.namespace,
            template: v.template,
            args: v.args.into_iter().map(|a| pb::Arg { name: a.name, value: a.value }).collect(),
            labels: map(v.labels),
            run_key: v.run_key.unwrap_or_default(),
            created_at: v.created_at.to_string(),
            phase: status.phase.as_str().to_string(),
            message: status.message,
            started_at: time(status.started_at),
            completed_at: time(status.completed_at),
            run_summary: Some(status.run_summary.into()),
            dry_run_summary: Some(status.dry_run_summary.into()),
            metric_results: status.metric_results.into_iter().map(pb::MetricResult::from).collect(),
        }
    }
}

/// A stored run as callers see it: through [`RunView`], which redacts secret args.
impl From<&RunRecord> for pb::Run {
    fn from(r: &RunRecord) -> pb::Run {
        RunView::from(r).into()
    }
}

impl From<StoredTemplate> for pb::Template {
    fn from(t: StoredTemplate) -> pb::Template {
        pb::Template {
            namespace: t.namespace,
            name: t.name,
            kind: t.kind,
            // `Value`'s Display is compact JSON and cannot fail.
            body: t.body.to_string(),
            version: t.version,
            created_at: t.created_at.to_string(),
            updated_at: t.updated_at.to_string(),
        }
    }
}

// ---- requests ----

impl From<pb::TtlStrategy> for TtlStrategy {
    fn from(t: pb::TtlStrategy) -> TtlStrategy {
        TtlStrategy {
            seconds_after_completion: t.seconds_after_completion,
            seconds_after_failure: t.seconds_after_failure,
            seconds_after_success: t.seconds_after_success,
        }
    }
}

impl From<pb::TemplateRef> for TemplateRef {
    fn from(r: pb::TemplateRef) -> TemplateRef {
        TemplateRef { name: r.name, cluster_scope: r.cluster_scope }
    }
}

/// Validation is the service's: an empty namespace becomes "default" there, and an
/// empty `spec` or `run_key` means none was given.
impl From<pb::CreateRunRequest> for CreateRun {
    fn from(r: pb::CreateRunRequest) -> CreateRun {
        CreateRun {
            namespace: r.namespace,
            templates: r.templates.into_iter().map(TemplateRef::from).collect(),
            spec: non_empty(r.spec),
            args: r.args.into_iter().map(|a| (a.name, a.value)).collect(),
            run_key: non_empty(r.run_key),
            labels: r.labels.into_iter().collect(),
            ttl: r.ttl_strategy.map(TtlStrategy::from).unwrap_or_default(),
        }
    }
}

/// A `page_size` of 0 is proto3's "not set" (the default page); a negative one is
/// passed on as 0 so that the service rejects it with its usual message.
impl From<pb::ListRunsRequest> for ListRuns {
    fn from(r: pb::ListRunsRequest) -> ListRuns {
        ListRuns {
            phases: r.phases,
            template: non_empty(r.template),
            label_selector: non_empty(r.label_selector),
            namespace: non_empty(r.namespace),
            page_size: match r.page_size {
                0 => None,
                n => Some(usize::try_from(n).unwrap_or(0)),
            },
            page_token: non_empty(r.page_token),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Phase, RunStatus};
    use crate::service::ArgView;

    fn ts(ms: i64) -> Timestamp {
        Timestamp::from_millis(ms)
    }

    #[test]
    fn run_view_to_proto() {
        let view = RunView {
            id: "r1".into(),
            namespace: "default".into(),
            template: "inline".into(),
            args: vec![ArgView { name: "token".into(), value: "*****".into() }],
            labels: BTreeMap::from([("team".into(), "a".into())]),
            run_key: None,
            created_at: ts(1_700_000_000_000),
            status: RunStatus {
                phase: Phase::Successful,
                message: String::new(),
                started_at: Some(ts(1_700_000_000_500)),
                completed_at: None,
                run_summary: RunSummary { count: 1, successful: 1, ..RunSummary::default() },
                dry_run_summary: RunSummary::default(),
                metric_results: vec![MetricResult {
                    name: "m".into(),
                    phase: Phase::Successful,
                    count: 3,
                    successful: 3,
                    measurements: vec![Measurement {
                        phase: Phase::Successful,
                        value: "0.995".into(),
                        started_at: Some(ts(1_700_000_001_000)),
                        ..Measurement::default()
                    }],
                    ..MetricResult::default()
                }],
            },
        };
        let run = pb::Run::from(view);
        assert_eq!(run.phase, "Successful");
        assert_eq!(run.created_at, "2023-11-14T22:13:20Z");
        assert_eq!(run.started_at, "2023-11-14T22:13:20.500Z");
        assert_eq!(run.completed_at, "");
        assert_eq!(run.run_key, "");
        assert_eq!(run.args, vec![pb::Arg { name: "token".into(), value: "*****".into() }]);
        assert_eq!(run.labels.get("team").map(String::as_str), Some("a"));
        assert_eq!(run.run_summary, Some(pb::RunSummary { count: 1, successful: 1, ..Default::default() }));
        assert_eq!(run.dry_run_summary, Some(pb::RunSummary::default()));
        let m = &run.metric_results[0];
        assert_eq!((m.name.as_str(), m.phase.as_str(), m.count, m.successful), ("m", "Successful", 3, 3));
        assert_eq!(m.measurements[0].value, "0.995");
        assert_eq!(m.measurements[0].finished_at, "");
    }

    #[test]
    fn counts_saturate() {
        assert_eq!(count(7), 7);
        assert_eq!(count(i64::MAX), i32::MAX);
        assert_eq!(count(i64::MIN), i32::MIN);
    }

    #[test]
    fn create_run_request_empty_strings_are_none() {
        let req = pb::CreateRunRequest {
            namespace: String::new(),
            templates: vec![pb::TemplateRef { name: "t".into(), cluster_scope: true }],
            spec: String::new(),
            args: vec![pb::Arg { name: "a".into(), value: "1".into() }],
            run_key: String::new(),
            labels: HashMap::from([("k".into(), "v".into())]),
            ttl_strategy: Some(pb::TtlStrategy { seconds_after_success: Some(60), ..Default::default() }),
        };
        let c = CreateRun::from(req);
        assert_eq!(c.namespace, "");
        assert_eq!(c.templates, vec![TemplateRef { name: "t".into(), cluster_scope: true }]);
        assert_eq!(c.spec, None);
        assert_eq!(c.run_key, None);
        assert_eq!(c.args, vec![("a".to_string(), "1".to_string())]);
        assert_eq!(c.labels, BTreeMap::from([("k".to_string(), "v".to_string())]));
        assert_eq!(c.ttl, TtlStrategy { seconds_after_success: Some(60), ..TtlStrategy::default() });

        let c = CreateRun::from(pb::CreateRunRequest {
            spec: "metrics: []".into(),
            run_key: "k1".into(),
            ..Default::default()
        });
        assert_eq!((c.spec.as_deref(), c.run_key.as_deref()), (Some("metrics: []"), Some("k1")));
        assert_eq!(c.ttl, TtlStrategy::default());
    }

    #[test]
    fn list_runs_request_page_size() {
        let q = ListRuns::from(pb::ListRunsRequest::default());
        assert_eq!(q.page_size, None);
        assert_eq!((q.template, q.label_selector, q.namespace, q.page_token), (None, None, None, None));
        assert_eq!(ListRuns::from(pb::ListRunsRequest { page_size: 5, ..Default::default() }).page_size, Some(5));
        assert_eq!(ListRuns::from(pb::ListRunsRequest { page_size: -1, ..Default::default() }).page_size, Some(0));
    }

    #[test]
    fn template_body_is_compact_json() {
        let t = StoredTemplate {
            namespace: "default".into(),
            name: "t".into(),
            kind: "AnalysisTemplate".into(),
            body: serde_json::json!({"kind": "AnalysisTemplate", "spec": {"metrics": []}}),
            version: 2,
            created_at: ts(0),
            updated_at: ts(1000),
        };
        let p = pb::Template::from(t);
        assert_eq!(p.body, r#"{"kind":"AnalysisTemplate","spec":{"metrics":[]}}"#);
        assert_eq!(
            (p.version, p.created_at.as_str(), p.updated_at.as_str()),
            (2, "1970-01-01T00:00:00Z", "1970-01-01T00:00:01Z")
        );
    }
}
