//! Store round trips on a real SQLite file.

use super::*;
use crate::model::MetricResult;

fn record(id: &str, key: Option<&str>, hash: &str) -> RunRecord {
    RunRecord {
        id: id.into(),
        run_key: key.map(Into::into),
        spec_hash: hash.into(),
        namespace: "default".into(),
        template: "a,b".into(),
        labels: [("app".to_string(), "web".to_string())].into(),
        run_spec: RunSpec { spec: TemplateSpec::default(), args: Vec::new() },
        ttl: TtlStrategy::default(),
        created_at: Timestamp::from_millis(1_000),
        terminate_requested: false,
        status: RunStatus { phase: Phase::Running, ..RunStatus::default() },
        expires_at: None,
    }
}

fn temp_db() -> (tempdir::Dir, Store) {
    let dir = tempdir::Dir::new();
    let store = Store::open(&dir.0.join("augur.db")).expect("open");
    (dir, store)
}

mod tempdir {
    pub(super) struct Dir(pub(super) std::path::PathBuf);
    impl Dir {
        pub(super) fn new() -> Dir {
            let p = std::env::temp_dir().join(format!("augur-store-{}", uuid::Uuid::now_v7()));
            std::fs::create_dir_all(&p).unwrap();
            Dir(p)
        }
    }
    impl Drop for Dir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

#[test]
fn run_key_is_idempotent_and_conflicts_on_a_different_spec() {
    let (_d, store) = temp_db();
    assert!(matches!(store.insert_run(&record("r1", Some("k"), "h1")).unwrap(), Inserted::New));
    match store.insert_run(&record("r2", Some("k"), "h1")).unwrap() {
        Inserted::Existing(r) => assert_eq!(r.id, "r1"),
        Inserted::New => panic!("a repeated key must find the first run"),
    }
    let err = store.insert_run(&record("r3", Some("k"), "h2")).unwrap_err();
    assert!(matches!(err, StoreError::KeyConflict(..)), "{err}");
    assert!(store.run("r2").unwrap().is_none());
    assert!(store.run("r3").unwrap().is_none());
}

#[test]
fn measurements_are_trimmed_but_counters_kept() {
    let (_d, store) = temp_db();
    store.insert_run(&record("r1", None, "h")).unwrap();
    let mut status = RunStatus { phase: Phase::Running, ..RunStatus::default() };
    status.metric_results.push(MetricResult { name: "m".into(), phase: Phase::Running, ..MetricResult::default() });
    for seq in 0..5 {
        status.metric_results[0].count = seq + 1;
        let m = Measurement { phase: Phase::Successful, value: format!("{seq}"), ..Measurement::default() };
        store.record_measurement("r1", "m", seq, &m, 2, &status).unwrap();
    }
    let r = store.run("r1").unwrap().unwrap();
    let values: Vec<&str> = r.status.metric_results[0].measurements.iter().map(|m| m.value.as_str()).collect();
    assert_eq!(values, ["3", "4"]);
    assert_eq!(r.status.metric_results[0].count, 5);
}

#[test]
fn state_survives_reopening() {
    let dir = tempdir::Dir::new();
    let path = dir.0.join("augur.db");
    {
        let store = Store::open(&path).unwrap();
        store.insert_run(&record("r1", None, "h")).unwrap();
        store.request_terminate("r1").unwrap();
        let body = serde_json::json!({"kind": "AnalysisTemplate"});
        store.put_template("default", "t", "AnalysisTemplate", &body, Timestamp::from_millis(5)).unwrap();
        let again = store.put_template("default", "t", "AnalysisTemplate", &body, Timestamp::from_millis(6)).unwrap();
        assert_eq!(again.version, 2);
        assert_eq!(again.created_at, Timestamp::from_millis(5));
    }
    let store = Store::open(&path).unwrap();
    let unfinished = store.unfinished_runs().unwrap();
    assert_eq!(unfinished.len(), 1);
    assert!(unfinished[0].terminate_requested);
    assert_eq!(unfinished[0].labels["app"], "web");
    assert_eq!(store.template("default", "t").unwrap().unwrap().version, 2);
    assert!(store.delete_template("default", "t").unwrap());
    assert!(!store.delete_template("default", "t").unwrap());
}

#[test]
fn list_filters_and_pages() {
    let (_d, store) = temp_db();
    for i in 0..5 {
        let mut r = record(&format!("r{i}"), None, "h");
        if i % 2 == 0 {
            r.status.phase = Phase::Successful;
            r.labels.insert("even".into(), "yes".into());
        }
        r.template = if i == 4 { "other".into() } else { "a,b".into() };
        store.insert_run(&r).unwrap();
    }
    let ids = |f: &RunFilter| store.list_runs(f).unwrap().into_iter().map(|r| r.id).collect::<Vec<_>>();
    assert_eq!(ids(&RunFilter { limit: 2, ..RunFilter::default() }), ["r4", "r3"]);
    assert_eq!(ids(&RunFilter { limit: 2, before: Some("r3".into()), ..RunFilter::default() }), ["r2", "r1"]);
    assert_eq!(
        ids(&RunFilter { limit: 10, phases: vec![Phase::Successful], ..RunFilter::default() }),
        ["r4", "r2", "r0"]
    );
    assert_eq!(
        ids(&RunFilter { limit: 10, template: Some("b".into()), ..RunFilter::default() }),
        ["r3", "r2", "r1", "r0"]
    );
    assert_eq!(
        ids(&RunFilter { limit: 10, template: Some("a,".into()), ..RunFilter::default() }),
        Vec::<String>::new()
    );
    let labels = [("even".to_string(), "yes".to_string())].into();
    assert_eq!(ids(&RunFilter { limit: 10, labels, ..RunFilter::default() }), ["r4", "r2", "r0"]);
}

#[test]
fn expiry_deletes_only_due_runs_and_their_measurements() {
    let (_d, store) = temp_db();
    let mut a = record("a", None, "h");
    a.expires_at = Some(Timestamp::from_millis(10));
    store.insert_run(&a).unwrap();
    let mut b = record("b", None, "h");
    b.expires_at = Some(Timestamp::from_millis(20));
    store.insert_run(&b).unwrap();
    assert_eq!(store.expire_runs(Timestamp::from_millis(15)).unwrap(), 1);
    assert!(store.run("a").unwrap().is_none());
    assert!(store.run("b").unwrap().is_some());
}

#[test]
fn ttl_strategy_prefers_the_phase_specific_field() {
    let t = TtlStrategy {
        seconds_after_completion: Some(10),
        seconds_after_success: Some(1),
        seconds_after_failure: Some(2),
    };
    let done = Timestamp::from_millis(0);
    assert_eq!(t.expiry(Phase::Successful, done, 99).millis(), 1_000);
    assert_eq!(t.expiry(Phase::Failed, done, 99).millis(), 2_000);
    // §1.1: Error and Inconclusive use secondsAfterCompletion only.
    assert_eq!(t.expiry(Phase::Error, done, 99).millis(), 10_000);
    assert_eq!(t.expiry(Phase::Inconclusive, done, 99).millis(), 10_000);
    let only_failure = TtlStrategy { seconds_after_failure: Some(2), ..TtlStrategy::default() };
    assert_eq!(only_failure.expiry(Phase::Error, done, 99).millis(), 99_000);
    assert_eq!(TtlStrategy::default().expiry(Phase::Failed, done, 99).millis(), 99_000);
}
