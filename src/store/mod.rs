//! Durable state in embedded SQLite: templates, runs, metric results and measurements.
//!
//! Only this module knows SQL. The database runs in WAL mode with `synchronous=NORMAL`:
//! a committed transaction survives the process being killed (`kill -9`), which is the
//! failure the service must ride out; an OS crash may lose the last few commits.
//!
//! Writes go through one connection behind a mutex; reads use a small pool of their own
//! connections, so a `GET` never waits behind a scheduler commit. Every call is short
//! and synchronous. Callers on the async runtime call it directly: a commit here takes
//! tens of microseconds, less than handing it to a blocking thread would.
//!
//! Layout:
//! - `runs`: one row per run: the request (flattened spec, args, labels), the run-level
//!   status (counters, phases, messages; measurements left out) and expiry.
//! - `measurements`: the retained measurements of each metric, keyed by a per-metric
//!   sequence number; trimmed per `measurementRetention` in the same transaction that
//!   inserts a new one. Counters live in the status and are never trimmed.
//! - `templates`: named, namespaced template documents.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Mutex;

use rusqlite::{Connection, OptionalExtension, params};
use serde::{Deserialize, Serialize};

use crate::model::{Measurement, Phase, RunStatus, Timestamp};
use crate::template::{Argument, TemplateSpec};

/// A store failure: an infrastructure fault, never a client's mistake.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// SQLite failed.
    #[error("database error: {0}")]
    Sql(#[from] rusqlite::Error),
    /// A stored document did not decode (a bug or a damaged database).
    #[error("stored data is damaged: {0}")]
    Corrupt(String),
    /// A `runKey` is already used by a run with a different spec.
    #[error("runKey {0:?} is already used by run {1} with a different spec")]
    KeyConflict(String, String),
}

/// Result alias for store calls.
pub type StoreResult<T> = Result<T, StoreError>;

/// Argo's `ttlStrategy`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TtlStrategy {
    /// Seconds a completed run stays, whatever its phase.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seconds_after_completion: Option<i32>,
    /// Seconds a Failed run stays.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seconds_after_failure: Option<i32>,
    /// Seconds a Successful run stays.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seconds_after_success: Option<i32>,
}

impl TtlStrategy {
    /// When a run completed at `completed` with `phase` expires; `default_secs` applies
    /// when the strategy says nothing. As in Argo, only Successful and Failed runs use
    /// the phase-specific fields; Error and Inconclusive use `secondsAfterCompletion`.
    pub fn expiry(&self, phase: Phase, completed: Timestamp, default_secs: i64) -> Timestamp {
        let specific = match phase {
            Phase::Successful => self.seconds_after_success,
            Phase::Failed => self.seconds_after_failure,
            _ => None,
        };
        let secs = specific.or(self.seconds_after_completion).map_or(default_secs, i64::from);
        completed.plus_millis(secs.max(0).saturating_mul(1000))
    }
}

/// Everything needed to (re)start a run: it is fixed when the run is created.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RunSpec {
    /// The merged templates (Argo copies the spec into the AnalysisRun, so later
    /// template edits do not change a run).
    pub spec: TemplateSpec,
    /// The merged args; secret args keep their `valueFrom` and never a value.
    pub args: Vec<Argument>,
}

/// One run as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct RunRecord {
    /// Server-assigned id (UUID v7, so ids sort by creation time).
    pub id: String,
    /// The idempotency key, if the caller gave one.
    pub run_key: Option<String>,
    /// A hash of the request that created the run, to tell a retry from a conflict.
    pub spec_hash: String,
    /// The namespace.
    pub namespace: String,
    /// The templates used, for display and filtering.
    pub template: String,
    /// Caller labels.
    pub labels: BTreeMap<String, String>,
    /// What to run.
    pub run_spec: RunSpec,
    /// Completed-run expiry policy.
    pub ttl: TtlStrategy,
    /// When the run was created.
    pub created_at: Timestamp,
    /// True once `terminate` was requested.
    pub terminate_requested: bool,
    /// The status, with the retained measurements.
    pub status: RunStatus,
    /// When a completed run is deleted.
    pub expires_at: Option<Timestamp>,
}

/// A stored template document.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredTemplate {
    /// `_cluster` for a ClusterAnalysisTemplate.
    pub namespace: String,
    /// The name.
    pub name: String,
    /// `AnalysisTemplate` or `ClusterAnalysisTemplate`.
    pub kind: String,
    /// The document as JSON.
    pub body: serde_json::Value,
    /// Increments on every put.
    pub version: i64,
    /// First put.
    pub created_at: Timestamp,
    /// Last put.
    pub updated_at: Timestamp,
}

/// Which runs to list.
#[derive(Debug, Clone, Default)]
pub struct RunFilter {
    /// Any of these phases (empty: all).
    pub phases: Vec<Phase>,
    /// Runs whose template list contains this name.
    pub template: Option<String>,
    /// All of these labels.
    pub labels: BTreeMap<String, String>,
    /// Only this namespace.
    pub namespace: Option<String>,
    /// Page size.
    pub limit: usize,
    /// Only ids strictly before this one (ids sort by creation time; newest first).
    pub before: Option<String>,
}

/// What `insert_run` did.
#[derive(Debug)]
pub enum Inserted {
    /// A new run.
    New,
    /// The run key already names a run with the same spec: that run.
    Existing(Box<RunRecord>),
}

const SCHEMA: &str = r"
CREATE TABLE IF NOT EXISTS runs (
    id            TEXT PRIMARY KEY,
    run_key       TEXT UNIQUE,
    spec_hash     TEXT NOT NULL,
    namespace     TEXT NOT NULL,
    template      TEXT NOT NULL,
    labels        TEXT NOT NULL,
    run_spec      TEXT NOT NULL,
    ttl           TEXT NOT NULL,
    created_at    INTEGER NOT NULL,
    terminate     INTEGER NOT NULL DEFAULT 0,
    phase         TEXT NOT NULL,
    status        TEXT NOT NULL,
    completed_at  INTEGER,
    expires_at    INTEGER
);
CREATE INDEX IF NOT EXISTS runs_phase ON runs(phase);
CREATE INDEX IF NOT EXISTS runs_expires ON runs(expires_at) WHERE expires_at IS NOT NULL;
CREATE TABLE IF NOT EXISTS run_labels (
    run_id TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    key    TEXT NOT NULL,
    value  TEXT NOT NULL,
    PRIMARY KEY (run_id, key)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS run_labels_kv ON run_labels(key, value);
CREATE TABLE IF NOT EXISTS measurements (
    run_id  TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    metric  TEXT NOT NULL,
    seq     INTEGER NOT NULL,
    body    TEXT NOT NULL,
    PRIMARY KEY (run_id, metric, seq)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS templates (
    namespace  TEXT NOT NULL,
    name       TEXT NOT NULL,
    kind       TEXT NOT NULL,
    body       TEXT NOT NULL,
    version    INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (namespace, name)
) WITHOUT ROWID;
PRAGMA user_version = 1;
";

const READERS: usize = 4;

/// The database.
pub struct Store {
    writer: Mutex<Connection>,
    readers: Vec<Mutex<Connection>>,
    next_reader: std::sync::atomic::AtomicUsize,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store").finish_non_exhaustive()
    }
}

fn configure(conn: &Connection) -> StoreResult<()> {
    conn.busy_timeout(std::time::Duration::from_secs(5))?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    Ok(())
}

impl Store {
    /// Opens (creating if needed) the database at `path`.
    pub fn open(path: &Path) -> StoreResult<Store> {
        let writer = Connection::open(path)?;
        writer.pragma_update(None, "journal_mode", "WAL")?;
        configure(&writer)?;
        writer.execute_batch(SCHEMA)?;
        let mut readers = Vec::with_capacity(READERS);
        for _ in 0..READERS {
            let r = Connection::open(path)?;
            configure(&r)?;
            readers.push(Mutex::new(r));
        }
        Ok(Store { writer: Mutex::new(writer), readers, next_reader: Default::default() })
    }

    /// An in-memory database (tests, `--db :memory:`): one shared connection.
    pub fn open_in_memory() -> StoreResult<Store> {
        let conn = Connection::open_in_memory()?;
        configure(&conn)?;
        conn.execute_batch(SCHEMA)?;
        Ok(Store { writer: Mutex::new(conn), readers: Vec::new(), next_reader: Default::default() })
    }

    fn write<T>(&self, f: impl FnOnce(&mut Connection) -> StoreResult<T>) -> StoreResult<T> {
        // A poisoned lock means a panic mid-call; SQLite rolled the transaction back, so
        // the connection is still consistent.
        let mut conn = self.writer.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        f(&mut conn)
    }

    fn read<T>(&self, f: impl FnOnce(&Connection) -> StoreResult<T>) -> StoreResult<T> {
        if self.readers.is_empty() {
            return self.write(|c| f(c));
        }
        let start = self.next_reader.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        for k in 0..self.readers.len() {
            if let Ok(conn) = self.readers[(start + k) % self.readers.len()].try_lock() {
                return f(&conn);
            }
        }
        let conn = self.readers[start % self.readers.len()].lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        f(&conn)
    }

    // ---- runs ----

    /// Inserts a new run, or finds the run its `run_key` already names.
    pub fn insert_run(&self, run: &RunRecord) -> StoreResult<Inserted> {
        self.write(|conn| {
            let tx = conn.transaction()?;
            if let Some(key) = &run.run_key {
                let existing: Option<(String, String)> = tx
                    .query_row("SELECT id, spec_hash FROM runs WHERE run_key = ?1", [key], |r| {
                        Ok((r.get(0)?, r.get(1)?))
                    })
                    .optional()?;
                if let Some((id, hash)) = existing {
                    if hash != run.spec_hash {
                        return Err(StoreError::KeyConflict(key.clone(), id));
                    }
                    let found = load_run(&tx, &id)?.ok_or_else(|| StoreError::Corrupt(format!("run {id} vanished")))?;
                    return Ok(Inserted::Existing(Box::new(found)));
                }
            }
            tx.execute(
                "INSERT INTO runs (id, run_key, spec_hash, namespace, template, labels, run_spec, ttl, created_at,
                                   terminate, phase, status, completed_at, expires_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)",
                params![
                    run.id,
                    run.run_key,
                    run.spec_hash,
                    run.namespace,
                    run.template,
                    to_json(&run.labels)?,
                    to_json(&run.run_spec)?,
                    to_json(&run.ttl)?,
                    run.created_at.millis(),
                    run.terminate_requested,
                    run.status.phase.as_str(),
                    status_json(&run.status)?,
                    run.status.completed_at.map(Timestamp::millis),
                    run.expires_at.map(Timestamp::millis),
                ],
            )?;
            for (k, v) in &run.labels {
                tx.execute("INSERT INTO run_labels (run_id, key, value) VALUES (?1, ?2, ?3)", params![run.id, k, v])?;
            }
            for r in &run.status.metric_results {
                for (i, m) in r.measurements.iter().enumerate() {
                    let seq = i64::try_from(i).unwrap_or(i64::MAX);
                    insert_measurement(&tx, &run.id, &r.name, seq, m)?;
                }
            }
            tx.commit()?;
            Ok(Inserted::New)
        })
    }

    /// One run, with its retained measurements.
    pub fn run(&self, id: &str) -> StoreResult<Option<RunRecord>> {
        self.read(|conn| load_run(conn, id))
    }

    /// Commits a completed measurement of `metric` together with the status it led to,
    /// then trims that metric's history to `retention`. `seq` numbers the metric's
    /// measurements from 0 and is never reused.
    pub fn record_measurement(
        &self,
        id: &str,
        metric: &str,
        seq: i64,
        measurement: &Measurement,
        retention: usize,
        status: &RunStatus,
    ) -> StoreResult<()> {
        self.write(|conn| {
            let tx = conn.transaction()?;
            insert_measurement(&tx, id, metric, seq, measurement)?;
            let keep_from = seq.saturating_sub(i64::try_from(retention.max(1)).unwrap_or(i64::MAX)) + 1;
            tx.execute(
                "DELETE FROM measurements WHERE run_id = ?1 AND metric = ?2 AND seq < ?3",
                params![id, metric, keep_from],
            )?;
            update_status(&tx, id, status, None)?;
            tx.commit()?;
            Ok(())
        })
    }

    /// Stores a status change that came with no new measurement (an assessment, a
    /// completion). `expires_at` is set when the run completes.
    pub fn update_status(&self, id: &str, status: &RunStatus, expires_at: Option<Timestamp>) -> StoreResult<()> {
        self.write(|conn| update_status(conn, id, status, expires_at))
    }

    /// Marks a run as asked to terminate. False when there is no such run.
    pub fn request_terminate(&self, id: &str) -> StoreResult<bool> {
        self.write(|conn| Ok(conn.execute("UPDATE runs SET terminate = 1 WHERE id = ?1", [id])? > 0))
    }

    /// Every run that has not completed, oldest first: what to resume after a restart.
    pub fn unfinished_runs(&self) -> StoreResult<Vec<RunRecord>> {
        self.read(|conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT id FROM runs WHERE phase NOT IN ('Successful', 'Failed', 'Error', 'Inconclusive') ORDER BY id",
            )?;
            let ids: Vec<String> = stmt.query_map([], |r| r.get(0))?.collect::<Result<_, _>>()?;
            let mut out = Vec::with_capacity(ids.len());
            for id in ids {
                if let Some(r) = load_run(conn, &id)? {
                    out.push(r);
                }
            }
            Ok(out)
        })
    }

    /// Runs matching `filter`, newest first.
    pub fn list_runs(&self, filter: &RunFilter) -> StoreResult<Vec<RunRecord>> {
        self.read(|conn| {
            let mut sql = String::from("SELECT id FROM runs WHERE 1=1");
            let mut values: Vec<rusqlite::types::Value> = Vec::new();
            if !filter.phases.is_empty() {
                sql.push_str(" AND phase IN (");
                for (i, p) in filter.phases.iter().enumerate() {
                    if i > 0 {
                        sql.push(',');
                    }
                    sql.push('?');
                    values.push(p.as_str().to_string().into());
                }
                sql.push(')');
            }
            if let Some(ns) = &filter.namespace {
                sql.push_str(" AND namespace = ?");
                values.push(ns.clone().into());
            }
            if let Some(t) = &filter.template {
                // `template` is a comma-separated list of names.
                sql.push_str(" AND (',' || template || ',') LIKE ? ESCAPE '\\'");
                let escaped = t.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_");
                values.push(format!("%,{escaped},%").into());
            }
            for (k, v) in &filter.labels {
                sql.push_str(
                    " AND EXISTS (SELECT 1 FROM run_labels l WHERE l.run_id = runs.id AND l.key = ? AND l.value = ?)",
                );
                values.push(k.clone().into());
                values.push(v.clone().into());
            }
            if let Some(before) = &filter.before {
                sql.push_str(" AND id < ?");
                values.push(before.clone().into());
            }
            sql.push_str(" ORDER BY id DESC LIMIT ?");
            values.push(i64::try_from(filter.limit).unwrap_or(i64::MAX).into());
            let mut stmt = conn.prepare(&sql)?;
            let ids: Vec<String> =
                stmt.query_map(rusqlite::params_from_iter(values), |r| r.get(0))?.collect::<Result<_, _>>()?;
            let mut out = Vec::with_capacity(ids.len());
            for id in ids {
                if let Some(r) = load_run(conn, &id)? {
                    out.push(r);
                }
            }
            Ok(out)
        })
    }

    /// Deletes completed runs whose expiry has passed. Returns how many.
    pub fn expire_runs(&self, now: Timestamp) -> StoreResult<usize> {
        self.write(|conn| {
            Ok(conn.execute("DELETE FROM runs WHERE expires_at IS NOT NULL AND expires_at <= ?1", [now.millis()])?)
        })
    }

    // ---- templates ----

    /// Creates or replaces a template; returns it with its new version.
    pub fn put_template(
        &self,
        namespace: &str,
        name: &str,
        kind: &str,
        body: &serde_json::Value,
        now: Timestamp,
    ) -> StoreResult<StoredTemplate> {
        self.write(|conn| {
            let tx = conn.transaction()?;
            tx.execute(
                "INSERT INTO templates (namespace, name, kind, body, version, created_at, updated_at)
                 VALUES (?1, ?2, ?3, ?4, 1, ?5, ?5)
                 ON CONFLICT (namespace, name) DO UPDATE SET
                   kind = excluded.kind, body = excluded.body, version = templates.version + 1,
                   updated_at = excluded.updated_at",
                params![namespace, name, kind, to_json(body)?, now.millis()],
            )?;
            let t = load_template(&tx, namespace, name)?
                .ok_or_else(|| StoreError::Corrupt(format!("template {namespace}/{name} vanished")))?;
            tx.commit()?;
            Ok(t)
        })
    }

    /// One template.
    pub fn template(&self, namespace: &str, name: &str) -> StoreResult<Option<StoredTemplate>> {
        self.read(|conn| load_template(conn, namespace, name))
    }

    /// Templates of one namespace, or of all, by namespace and name.
    pub fn list_templates(&self, namespace: Option<&str>) -> StoreResult<Vec<StoredTemplate>> {
        self.read(|conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT namespace, name, kind, body, version, created_at, updated_at FROM templates
                 WHERE ?1 IS NULL OR namespace = ?1 ORDER BY namespace, name",
            )?;
            let rows = stmt.query_map([namespace], template_row)?;
            let mut out = Vec::new();
            for row in rows {
                out.push(row??);
            }
            Ok(out)
        })
    }

    /// Deletes a template. False when there was none.
    pub fn delete_template(&self, namespace: &str, name: &str) -> StoreResult<bool> {
        self.write(|conn| {
            Ok(conn.execute("DELETE FROM templates WHERE namespace = ?1 AND name = ?2", params![namespace, name])? > 0)
        })
    }

    /// How many runs are stored in each phase.
    pub fn runs_by_phase(&self) -> StoreResult<Vec<(String, i64)>> {
        self.read(|conn| {
            let mut stmt = conn.prepare_cached("SELECT phase, count(*) FROM runs GROUP BY phase")?;
            let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
            Ok(rows.collect::<Result<_, _>>()?)
        })
    }

    /// Cheap liveness check of the database (for `/readyz`).
    pub fn ping(&self) -> StoreResult<()> {
        self.read(|conn| Ok(conn.query_row("SELECT 1", [], |_| Ok(()))?))
    }
}

fn to_json<T: Serialize + ?Sized>(v: &T) -> StoreResult<String> {
    serde_json::to_string(v).map_err(|e| StoreError::Corrupt(e.to_string()))
}

fn from_json<T: for<'de> Deserialize<'de>>(s: &str, what: &str) -> StoreResult<T> {
    serde_json::from_str(s).map_err(|e| StoreError::Corrupt(format!("{what}: {e}")))
}

/// The status without measurements (those have their own table).
fn status_json(status: &RunStatus) -> StoreResult<String> {
    let mut light = status.clone();
    for r in &mut light.metric_results {
        r.measurements.clear();
    }
    to_json(&light)
}

fn insert_measurement(conn: &Connection, id: &str, metric: &str, seq: i64, m: &Measurement) -> StoreResult<()> {
    conn.prepare_cached("INSERT OR REPLACE INTO measurements (run_id, metric, seq, body) VALUES (?1, ?2, ?3, ?4)")?
        .execute(params![id, metric, seq, to_json(m)?])?;
    Ok(())
}

fn update_status(conn: &Connection, id: &str, status: &RunStatus, expires_at: Option<Timestamp>) -> StoreResult<()> {
    conn.prepare_cached(
        "UPDATE runs SET phase = ?2, status = ?3, completed_at = ?4, expires_at = COALESCE(?5, expires_at)
         WHERE id = ?1",
    )?
    .execute(params![
        id,
        status.phase.as_str(),
        status_json(status)?,
        status.completed_at.map(Timestamp::millis),
        expires_at.map(Timestamp::millis)
    ])?;
    Ok(())
}

fn load_run(conn: &Connection, id: &str) -> StoreResult<Option<RunRecord>> {
    let row = conn
        .prepare_cached(
            "SELECT id, run_key, spec_hash, namespace, template, labels, run_spec, ttl, created_at, terminate,
                    status, expires_at
             FROM runs WHERE id = ?1",
        )?
        .query_row([id], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, Option<String>>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, String>(3)?,
                r.get::<_, String>(4)?,
                r.get::<_, String>(5)?,
                r.get::<_, String>(6)?,
                r.get::<_, String>(7)?,
                r.get::<_, i64>(8)?,
                r.get::<_, bool>(9)?,
                r.get::<_, String>(10)?,
                r.get::<_, Option<i64>>(11)?,
            ))
        })
        .optional()?;
    let Some((id, run_key, spec_hash, namespace, template, labels, run_spec, ttl, created, terminate, status, expires)) =
        row
    else {
        return Ok(None);
    };
    let mut status: RunStatus = from_json(&status, "status")?;
    let mut stmt =
        conn.prepare_cached("SELECT metric, body FROM measurements WHERE run_id = ?1 ORDER BY metric, seq")?;
    let rows = stmt.query_map([&id], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))?;
    for row in rows {
        let (metric, body) = row?;
        let m: Measurement = from_json(&body, "measurement")?;
        if let Some(r) = status.metric_results.iter_mut().find(|r| r.name == metric) {
            r.measurements.push(m);
        }
    }
    Ok(Some(RunRecord {
        id,
        run_key,
        spec_hash,
        namespace,
        template,
        labels: from_json(&labels, "labels")?,
        run_spec: from_json(&run_spec, "run spec")?,
        ttl: from_json(&ttl, "ttl")?,
        created_at: Timestamp::from_millis(created),
        terminate_requested: terminate,
        status,
        expires_at: expires.map(Timestamp::from_millis),
    }))
}

type TemplateRow = StoreResult<StoredTemplate>;

fn template_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<TemplateRow> {
    let body: String = r.get(3)?;
    Ok(Ok(StoredTemplate {
        namespace: r.get(0)?,
        name: r.get(1)?,
        kind: r.get(2)?,
        body: match from_json(&body, "template") {
            Ok(b) => b,
            Err(e) => return Ok(Err(e)),
        },
        version: r.get(4)?,
        created_at: Timestamp::from_millis(r.get(5)?),
        updated_at: Timestamp::from_millis(r.get(6)?),
    }))
}

fn load_template(conn: &Connection, namespace: &str, name: &str) -> StoreResult<Option<StoredTemplate>> {
    let row = conn
        .prepare_cached(
            "SELECT namespace, name, kind, body, version, created_at, updated_at FROM templates
             WHERE namespace = ?1 AND name = ?2",
        )?
        .query_row(params![namespace, name], template_row)
        .optional()?;
    row.transpose()
}

#[cfg(test)]
mod tests;
