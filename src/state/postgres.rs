//! PostgreSQL backend of the state store, shared by many workers on many machines, with host
//! leases for the crawl frontier.
//!
//! Same tables and meaning as the SQLite backend (`stages`, `units`, `parts`, `http_cache`),
//! plus `frontier` (one row per unit of a leased stage: its lease owner and expiry, and when its
//! host may next be asked) and `workers` (who works, seen when, with what throughput).
//!
//! Leases are taken with `FOR UPDATE SKIP LOCKED`, so concurrent workers never claim the same
//! host. A commit moves the part files into place and marks the units done in one transaction
//! that first checks, row-locked, that this worker still holds every unit's lease: a worker that
//! lost a lease (it stalled past the expiry and another took over) cannot register its output,
//! so a host's pages are in the table exactly once. When a lease that expired is claimed again,
//! its host's `next_allowed_at` is pushed to the old expiry plus the host's interval: the old
//! holder sent nothing after its expiry (workers stop a host's requests at their own, earlier,
//! reckoning of it), so the politeness interval holds across the change of hands; a host's
//! interval is raised to its robots.txt `Crawl-delay` as soon as a worker learns it. Every time is
//! the database's clock; workers are told durations, never instants, so their clocks may differ.
//!
//! The `postgres` client runs its own small runtime; the store keeps it on a dedicated thread
//! and sends it closures, so that it may be called from anywhere, async tasks included.

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{mpsc, Mutex};
use std::time::Duration;

use postgres::{Client, NoTls};

use super::{
    hostname, merged_counters, merged_units, move_into_place, now_micros, CachedResponse, Claim,
    LeaseView, Leases, PartRecord, PendingPart, Refresh, Replacement, Result, StageRecord,
    StageStatus, StateError, StateStore, UnitOutcome, WorkerRow, REFRESHES_KEPT,
};

const SCHEMA_VERSION: i64 = 1;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS stages (
    name TEXT PRIMARY KEY,
    status TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    output_fingerprint TEXT,
    run_id TEXT NOT NULL,
    units_total BIGINT,
    started_at BIGINT,
    finished_at BIGINT,
    pid BIGINT,
    host TEXT,
    error TEXT,
    counters TEXT NOT NULL DEFAULT '{}'
);
CREATE TABLE IF NOT EXISTS units (
    stage TEXT NOT NULL,
    unit TEXT NOT NULL,
    failure TEXT,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (stage, unit)
);
CREATE TABLE IF NOT EXISTS parts (
    seq BIGSERIAL PRIMARY KEY,
    stage TEXT NOT NULL,
    tbl TEXT NOT NULL,
    file TEXT NOT NULL UNIQUE,
    rows BIGINT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE TABLE IF NOT EXISTS http_cache (
    key TEXT PRIMARY KEY,
    status INTEGER NOT NULL,
    body BYTEA NOT NULL,
    stored_at BIGINT NOT NULL
);
CREATE TABLE IF NOT EXISTS frontier (
    stage TEXT NOT NULL,
    unit TEXT NOT NULL,
    done BOOLEAN NOT NULL DEFAULT false,
    lease_owner TEXT,
    lease_expires_at TIMESTAMPTZ,
    next_allowed_at TIMESTAMPTZ,
    interval_ms BIGINT NOT NULL,
    claims INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (stage, unit)
);
CREATE INDEX IF NOT EXISTS frontier_todo ON frontier (stage, next_allowed_at) WHERE NOT done;
ALTER TABLE frontier ADD COLUMN IF NOT EXISTS pos BIGINT;
ALTER TABLE parts ADD COLUMN IF NOT EXISTS bytes BIGINT;
ALTER TABLE parts ADD COLUMN IF NOT EXISTS checksum TEXT;
ALTER TABLE parts ADD COLUMN IF NOT EXISTS batch TEXT;
ALTER TABLE units ADD COLUMN IF NOT EXISTS batch TEXT;
CREATE TABLE IF NOT EXISTS refreshes (
    seq BIGSERIAL PRIMARY KEY,
    stage TEXT NOT NULL,
    from_fp TEXT NOT NULL,
    to_fp TEXT,
    units TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS pacing (
    key TEXT PRIMARY KEY,
    next_at TIMESTAMPTZ NOT NULL
);
CREATE TABLE IF NOT EXISTS workers (
    id TEXT PRIMARY KEY,
    host TEXT NOT NULL,
    pid BIGINT NOT NULL,
    stage TEXT,
    started_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    last_seen_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    units BIGINT NOT NULL DEFAULT 0,
    pages BIGINT NOT NULL DEFAULT 0,
    queries BIGINT NOT NULL DEFAULT 0
);
";

/// The tables and indexes [`SCHEMA`] creates, and the `(table, column)` pairs it adds.
fn schema_objects() -> (Vec<&'static str>, Vec<(&'static str, &'static str)>) {
    let (mut relations, mut columns) = (Vec::new(), Vec::new());
    for line in SCHEMA.lines() {
        let words: Vec<&str> = line.split_whitespace().collect();
        match words.as_slice() {
            ["CREATE", "TABLE" | "INDEX", "IF", "NOT", "EXISTS", name, ..] => relations.push(*name),
            ["ALTER", "TABLE", table, "ADD", "COLUMN", "IF", "NOT", "EXISTS", column, ..] => {
                columns.push((*table, *column))
            }
            _ => {}
        }
    }
    (relations, columns)
}

type Job = Box<dyn FnOnce(&mut Option<Client>) + Send>;

/// The shared store.
pub struct PgStore {
    jobs: Mutex<mpsc::Sender<Job>>,
    /// `postgres://user@host:port/db` without the password, for messages.
    display: String,
    /// Output folder: part paths are registered relative to it.
    root: PathBuf,
    /// This process's lease owner name.
    owner: String,
    /// Round trips to the database by this process (for the benchmark's queries per page).
    queries: AtomicU64,
}

/// The URL without its password, for messages and `status`.
pub fn redact(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut u) => {
            if u.password().is_some() {
                let _ = u.set_password(Some("***"));
            }
            u.to_string()
        }
        Err(_) => "postgres://…".into(),
    }
}

fn connect(url: &str) -> std::result::Result<Client, postgres::Error> {
    let mut cfg: postgres::Config = url.parse()?;
    if cfg.get_password().is_none() {
        // The password comes from the environment, never from pipeline.toml.
        if let Ok(p) =
            std::env::var("LEADCRAWL_PG_PASSWORD").or_else(|_| std::env::var("PGPASSWORD"))
        {
            cfg.password(p);
        }
    }
    cfg.connect_timeout(Duration::from_secs(10));
    cfg.application_name("leadcrawl");
    cfg.connect(NoTls)
}

impl PgStore {
    /// Connects (creating the tables if needed); parts are registered relative to `root`;
    /// `owner` names this process in leases (`None`: `hostname:pid`).
    pub fn open(url: &str, root: &Path, owner: Option<&str>) -> Result<PgStore> {
        let display = redact(url);
        let (tx, rx) = mpsc::channel::<Job>();
        let url_owned = url.to_owned();
        let (ready_tx, ready_rx) = mpsc::channel();
        std::thread::Builder::new()
            .name("state-pg".into())
            .spawn(move || {
                let mut client = match connect(&url_owned) {
                    Ok(c) => Some(c),
                    Err(e) => {
                        let _ = ready_tx.send(Err(e));
                        return;
                    }
                };
                let _ = ready_tx.send(Ok(()));
                for job in rx {
                    // A dropped connection is opened again for the next call.
                    if client.as_ref().is_none_or(Client::is_closed) {
                        client = connect(&url_owned).ok();
                    }
                    job(&mut client);
                }
            })
            .map_err(|e| StateError::Backend(format!("starting the PostgreSQL thread: {e}")))?;
        match ready_rx.recv() {
            Ok(Ok(())) => {}
            Ok(Err(source)) => {
                return Err(StateError::Connect {
                    url: display,
                    source,
                })
            }
            Err(_) => return Err(StateError::Backend("the PostgreSQL thread ended".into())),
        }
        let store = PgStore {
            jobs: Mutex::new(tx),
            display,
            root: root.to_path_buf(),
            owner: owner
                .map(str::to_owned)
                .unwrap_or_else(|| format!("{}:{}", hostname(), std::process::id())),
            queries: AtomicU64::new(0),
        };
        let display = store.display.clone();
        store.call(move |c| {
            let mut tx = c.transaction()?;
            // Two processes creating the tables at once would collide in the catalogue.
            tx.execute("SELECT pg_advisory_xact_lock(724300117)", &[])?;
            // DDL only when something is missing: even an `ADD COLUMN IF NOT EXISTS` that finds
            // its column takes an exclusive lock on the table, and a worker joining a running
            // crawl would deadlock with the workers writing to it.
            let (relations, columns) = schema_objects();
            let (tables, cols): (Vec<&str>, Vec<&str>) = columns.into_iter().unzip();
            let missing: i64 = tx
                .query_one(
                    "SELECT (SELECT count(*) FROM unnest($1::text[]) AS r(name)
                              WHERE to_regclass(r.name) IS NULL)
                          + (SELECT count(*) FROM unnest($2::text[], $3::text[]) AS p(t, c)
                              WHERE NOT EXISTS (
                                SELECT 1 FROM information_schema.columns
                                 WHERE table_schema = current_schema()
                                   AND table_name = p.t AND column_name = p.c))",
                    &[&relations, &tables, &cols],
                )?
                .get(0);
            if missing > 0 {
                tx.batch_execute(SCHEMA)?;
            }
            let found: Option<String> = tx
                .query_opt("SELECT value FROM meta WHERE key = 'schema_version'", &[])?
                .map(|r| r.get(0));
            match found.and_then(|v| v.parse::<i64>().ok()) {
                Some(v) if v > SCHEMA_VERSION => {
                    return Err(StateError::TooNew {
                        path: PathBuf::from(display),
                        found: v,
                        known: SCHEMA_VERSION,
                    })
                }
                Some(_) => {}
                None => {
                    tx.execute(
                        "INSERT INTO meta (key, value) VALUES ('schema_version', $1)
                         ON CONFLICT (key) DO NOTHING",
                        &[&SCHEMA_VERSION.to_string()],
                    )?;
                }
            }
            tx.commit()?;
            Ok(())
        })?;
        Ok(store)
    }

    pub fn display(&self) -> &str {
        &self.display
    }

    /// Round trips this process made.
    pub fn queries(&self) -> u64 {
        self.queries.load(Ordering::Relaxed)
    }

    /// Runs `f` on the connection's thread and waits for its result.
    fn call<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Client) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        self.queries.fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = mpsc::channel();
        let display = self.display.clone();
        let job: Job = Box::new(move |client| {
            let r = match client.as_mut() {
                Some(c) => f(c),
                None => Err(StateError::Backend(format!(
                    "{display}: not connected (the server went away; leadcrawl will reconnect on the next call)"
                ))),
            };
            let _ = tx.send(r);
        });
        self.jobs
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .send(job)
            .map_err(|_| StateError::Backend("the PostgreSQL thread ended".into()))?;
        rx.recv()
            .map_err(|_| StateError::Backend("the PostgreSQL thread ended".into()))?
    }

    fn relative(&self, p: &Path) -> String {
        p.strip_prefix(&self.root)
            .unwrap_or(p)
            .to_string_lossy()
            .into_owned()
    }
}

fn read_stage(c: &mut impl postgres::GenericClient, name: &str) -> Result<Option<StageRecord>> {
    let Some(r) = c.query_opt(
        "SELECT name, status, fingerprint, output_fingerprint, run_id, units_total, started_at,
                finished_at, pid, host, error, counters FROM stages WHERE name = $1",
        &[&name],
    )?
    else {
        return Ok(None);
    };
    let counters: String = r.get(11);
    let mut rec = StageRecord {
        name: r.get(0),
        status: StageStatus::parse(r.get::<_, &str>(1)),
        fingerprint: r.get(2),
        output_fingerprint: r.get(3),
        run_id: r.get(4),
        units_total: r.get::<_, Option<i64>>(5).map(|v| v as u64),
        units_done: 0,
        units_failed: 0,
        started_at: r.get(6),
        finished_at: r.get(7),
        pid: r.get::<_, Option<i64>>(8).map(|v| v as u32),
        host: r.get(9),
        error: r.get(10),
        counters: serde_json::from_str(&counters).unwrap_or_default(),
    };
    let row = c.query_one(
        "SELECT COUNT(*) FILTER (WHERE failure IS NULL), COUNT(*) FILTER (WHERE failure IS NOT NULL)
         FROM units WHERE stage = $1",
        &[&name],
    )?;
    rec.units_done = row.get::<_, i64>(0) as u64;
    rec.units_failed = row.get::<_, i64>(1) as u64;
    Ok(Some(rec))
}

/// A `parts` row selected as `tbl, file, rows, bytes, checksum`.
fn part_row(r: &postgres::Row) -> PartRecord {
    PartRecord {
        table: r.get(0),
        file: r.get(1),
        rows: r.get::<_, i64>(2) as u64,
        bytes: r.get::<_, Option<i64>>(3).map(|b| b as u64),
        checksum: r.get(4),
        batch: r.get(5),
    }
}

fn parts_of(c: &mut impl postgres::GenericClient, stage: &str) -> Result<Vec<PartRecord>> {
    Ok(c.query(
        "SELECT tbl, file, rows, bytes, checksum, batch FROM parts WHERE stage = $1 ORDER BY seq",
        &[&stage],
    )?
    .iter()
    .map(part_row)
    .collect())
}

impl StateStore for PgStore {
    fn stages(&self) -> Result<Vec<StageRecord>> {
        self.call(|c| {
            let names: Vec<String> = c
                .query("SELECT name FROM stages ORDER BY name", &[])?
                .into_iter()
                .map(|r| r.get(0))
                .collect();
            let mut out = Vec::new();
            for n in names {
                if let Some(r) = read_stage(c, &n)? {
                    out.push(r);
                }
            }
            Ok(out)
        })
    }

    fn stage(&self, name: &str) -> Result<Option<StageRecord>> {
        let name = name.to_owned();
        self.call(move |c| read_stage(c, &name))
    }

    fn reset_stage(&self, name: &str) -> Result<Vec<PartRecord>> {
        let name = name.to_owned();
        self.call(move |c| {
            let mut tx = c.transaction()?;
            let parts = parts_of(&mut tx, &name)?;
            tx.execute("DELETE FROM units WHERE stage = $1", &[&name])?;
            tx.execute("DELETE FROM parts WHERE stage = $1", &[&name])?;
            tx.execute("DELETE FROM frontier WHERE stage = $1", &[&name])?;
            tx.execute("DELETE FROM refreshes WHERE stage = $1", &[&name])?;
            tx.execute(
                "UPDATE stages SET status = 'pending', output_fingerprint = NULL, units_total = NULL,
                 counters = '{}', error = NULL WHERE name = $1",
                &[&name],
            )?;
            tx.commit()?;
            Ok(parts)
        })
    }

    fn start_stage(&self, name: &str, fingerprint: &str, run_id: &str) -> Result<()> {
        let (name, fingerprint, run_id) =
            (name.to_owned(), fingerprint.to_owned(), run_id.to_owned());
        self.call(move |c| {
            c.execute(
                "INSERT INTO stages (name, status, fingerprint, run_id, started_at, finished_at, pid, host, error)
                 VALUES ($1, 'running', $2, $3, $4, NULL, $5, $6, NULL)
                 ON CONFLICT (name) DO UPDATE SET status = 'running', fingerprint = $2, run_id = $3,
                   started_at = $4, finished_at = NULL, pid = $5, host = $6, error = NULL",
                &[&name, &fingerprint, &run_id, &now_micros(), &i64::from(std::process::id()), &hostname()],
            )?;
            Ok(())
        })
    }

    fn set_units_total(&self, name: &str, total: u64) -> Result<()> {
        let name = name.to_owned();
        self.call(move |c| {
            c.execute(
                "UPDATE stages SET units_total = $2 WHERE name = $1",
                &[&name, &(total as i64)],
            )?;
            Ok(())
        })
    }

    fn finished_units(&self, name: &str) -> Result<HashSet<String>> {
        let name = name.to_owned();
        self.call(move |c| {
            Ok(
                c.query("SELECT unit FROM units WHERE stage = $1", &[&name])?
                    .into_iter()
                    .map(|r| r.get(0))
                    .collect(),
            )
        })
    }

    fn commit(
        &self,
        stage: &str,
        parts: &[PendingPart],
        units: &[UnitOutcome],
        counters: &BTreeMap<String, u64>,
    ) -> Result<()> {
        let stage = stage.to_owned();
        let owner = self.owner.clone();
        let parts: Vec<(PendingPart, String)> = parts
            .iter()
            .map(|p| (p.clone(), self.relative(&p.final_path)))
            .collect();
        let units: Vec<(String, Option<String>)> = units
            .iter()
            .map(|u| (u.unit.clone(), u.failure.clone()))
            .collect();
        let counters = counters.clone();
        self.call(move |c| {
            let mut tx = c.transaction()?;
            let now = now_micros();
            let names: Vec<&str> = units.iter().map(|(u, _)| u.as_str()).collect();
            // Leased units: this worker must still hold every lease. Every row is locked (not only
            // the lost ones), so a claim committing concurrently is waited for and seen.
            let lost: Vec<String> = tx
                .query(
                    "SELECT unit, (done OR lease_owner IS DISTINCT FROM $3) FROM frontier
                     WHERE stage = $1 AND unit = ANY($2) FOR UPDATE",
                    &[&stage, &names, &owner],
                )?
                .into_iter()
                .filter(|r| r.get::<_, bool>(1))
                .map(|r| r.get(0))
                .collect();
            if !lost.is_empty() {
                return Err(StateError::LeaseLost { stage, units: lost });
            }
            tx.execute(
                "UPDATE frontier SET done = true, lease_owner = NULL, lease_expires_at = NULL
                 WHERE stage = $1 AND unit = ANY($2)",
                &[&stage, &names],
            )?;
            // One statement per table, whatever the number of parts and units. Parts keep their
            // order (seq) as listed.
            let batch: Option<&String> = parts.first().map(|(_, f)| f);
            for (p, file) in &parts {
                tx.execute(
                    "INSERT INTO parts (stage, tbl, file, rows, created_at, bytes, checksum, batch)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
                     ON CONFLICT (file) DO UPDATE SET stage = $1, tbl = $2, rows = $4, created_at = $5,
                        bytes = $6, checksum = $7, batch = $8",
                    &[&stage, &p.table, file, &(p.rows as i64), &now, &(p.bytes as i64), &p.checksum, &batch],
                )?;
            }
            let failures: Vec<Option<&str>> = units.iter().map(|(_, f)| f.as_deref()).collect();
            tx.execute(
                "INSERT INTO units (stage, unit, failure, updated_at, batch)
                 SELECT $1, u, f, $4, $5 FROM unnest($2::text[], $3::text[]) AS v(u, f)
                 ON CONFLICT (stage, unit) DO UPDATE SET failure = EXCLUDED.failure,
                    updated_at = EXCLUDED.updated_at, batch = EXCLUDED.batch",
                &[&stage, &names, &failures, &now, &batch],
            )?;
            if !counters.is_empty() {
                let current: Option<String> = tx
                    .query_opt("SELECT counters FROM stages WHERE name = $1 FOR UPDATE", &[&stage])?
                    .map(|r| r.get(0));
                tx.execute(
                    "UPDATE stages SET counters = $2 WHERE name = $1",
                    &[&stage, &merged_counters(current.as_deref(), &counters)],
                )?;
            }
            move_into_place(parts.iter().map(|(p, _)| p))?;
            tx.commit()?;
            Ok(())
        })
    }

    fn finish_stage(
        &self,
        name: &str,
        status: StageStatus,
        output_fingerprint: Option<&str>,
        error: Option<&str>,
    ) -> Result<()> {
        let name = name.to_owned();
        let out = output_fingerprint.map(str::to_owned);
        let error = error.map(str::to_owned);
        self.call(move |c| {
            let mut tx = c.transaction()?;
            tx.execute(
                "UPDATE stages SET status = $2, output_fingerprint = COALESCE($3, output_fingerprint),
                 finished_at = $4, error = $5 WHERE name = $1",
                &[&name, &status.as_str(), &out, &now_micros(), &error],
            )?;
            if let (StageStatus::Done, Some(out)) = (status, &out) {
                tx.execute(
                    "UPDATE refreshes SET to_fp = $2 WHERE stage = $1 AND to_fp IS NULL",
                    &[&name, out],
                )?;
                tx.execute(
                    "DELETE FROM refreshes WHERE stage = $1 AND seq NOT IN
                     (SELECT seq FROM refreshes WHERE stage = $1 ORDER BY seq DESC LIMIT $2)",
                    &[&name, &REFRESHES_KEPT],
                )?;
            }
            tx.commit()?;
            Ok(())
        })
    }

    fn parts(&self, stage: &str) -> Result<Vec<PartRecord>> {
        let stage = stage.to_owned();
        self.call(move |c| parts_of(c, &stage))
    }

    fn take_back(
        &self,
        stage: &str,
        units: &[String],
        replace: &[Replacement],
        counters: &BTreeMap<String, u64>,
    ) -> Result<()> {
        let stage = stage.to_owned();
        let units = units.to_vec();
        let replace: Vec<(Replacement, Vec<String>)> = replace
            .iter()
            .map(|r| {
                let files = r
                    .parts
                    .iter()
                    .map(|p| self.relative(&p.final_path))
                    .collect();
                (r.clone(), files)
            })
            .collect();
        let counters = counters.clone();
        self.call(move |c| {
            let mut tx = c.transaction()?;
            let now = now_micros();
            tx.execute(
                "DELETE FROM units WHERE stage = $1 AND unit = ANY($2)",
                &[&stage, &units],
            )?;
            // Back into the frontier: the run enqueues them again for any worker to claim.
            tx.execute(
                "UPDATE frontier SET done = false, lease_owner = NULL, lease_expires_at = NULL
                 WHERE stage = $1 AND unit = ANY($2)",
                &[&stage, &units],
            )?;
            for (r, files) in &replace {
                tx.execute(
                    "DELETE FROM parts WHERE stage = $1 AND file = ANY($2)",
                    &[&stage, &r.old_files],
                )?;
                let batch: Option<&String> = files.first();
                for (p, file) in r.parts.iter().zip(files) {
                    tx.execute(
                        "INSERT INTO parts (stage, tbl, file, rows, created_at, bytes, checksum, batch)
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
                         ON CONFLICT (file) DO UPDATE SET stage = $1, tbl = $2, rows = $4, created_at = $5,
                            bytes = $6, checksum = $7, batch = $8",
                        &[&stage, &p.table, file, &(p.rows as i64), &now, &(p.bytes as i64), &p.checksum, &batch],
                    )?;
                }
                if let Some(old) = &r.batch {
                    tx.execute(
                        "UPDATE units SET batch = $3 WHERE stage = $1 AND batch = $2",
                        &[&stage, old, &batch],
                    )?;
                }
            }
            if !counters.is_empty() {
                let current: Option<String> = tx
                    .query_opt("SELECT counters FROM stages WHERE name = $1 FOR UPDATE", &[&stage])?
                    .map(|r| r.get(0));
                tx.execute(
                    "UPDATE stages SET counters = $2 WHERE name = $1",
                    &[&stage, &merged_counters(current.as_deref(), &counters)],
                )?;
            }
            let output: Option<String> = tx
                .query_opt(
                    "SELECT output_fingerprint FROM stages WHERE name = $1 FOR UPDATE",
                    &[&stage],
                )?
                .and_then(|r| r.get(0));
            let open = tx.query_opt(
                "SELECT seq, from_fp, units FROM refreshes WHERE stage = $1 AND to_fp IS NULL FOR UPDATE",
                &[&stage],
            )?;
            let open: Option<(i64, String, String)> =
                open.map(|r| (r.get(0), r.get(1), r.get(2)));
            match (open, output) {
                (Some((seq, from, current)), Some(out)) if from == out => {
                    tx.execute(
                        "UPDATE refreshes SET units = $2 WHERE seq = $1",
                        &[&seq, &merged_units(Some(&current), &units)],
                    )?;
                }
                (open, Some(out)) => {
                    if let Some((seq, ..)) = open {
                        tx.execute("DELETE FROM refreshes WHERE seq = $1", &[&seq])?;
                    }
                    tx.execute(
                        "INSERT INTO refreshes (stage, from_fp, to_fp, units) VALUES ($1, $2, NULL, $3)",
                        &[&stage, &out, &merged_units(None, &units)],
                    )?;
                }
                (open, None) => {
                    if let Some((seq, ..)) = open {
                        tx.execute("DELETE FROM refreshes WHERE seq = $1", &[&seq])?;
                    }
                }
            }
            move_into_place(replace.iter().flat_map(|(r, _)| &r.parts))?;
            tx.commit()?;
            Ok(())
        })
    }

    fn refreshes(&self, stage: &str) -> Result<Vec<Refresh>> {
        let stage = stage.to_owned();
        self.call(move |c| {
            Ok(c.query(
                "SELECT from_fp, to_fp, units FROM refreshes WHERE stage = $1 AND to_fp IS NOT NULL
                 ORDER BY seq DESC LIMIT $2",
                &[&stage, &REFRESHES_KEPT],
            )?
            .into_iter()
            .map(|r| Refresh {
                from: r.get(0),
                to: r.get(1),
                units: serde_json::from_str(&r.get::<_, String>(2)).unwrap_or_default(),
            })
            .collect())
        })
    }

    fn units_recorded_before(&self, stage: &str, micros: i64) -> Result<Vec<String>> {
        let stage = stage.to_owned();
        self.call(move |c| {
            Ok(c.query(
                "SELECT unit FROM units WHERE stage = $1 AND updated_at < $2 ORDER BY updated_at, unit",
                &[&stage, &micros],
            )?
            .into_iter()
            .map(|r| r.get(0))
            .collect())
        })
    }

    fn forget_damaged(&self, stage: &str, file: &str, why: &str) -> Result<super::Forgotten> {
        let (stage, file, why) = (stage.to_owned(), file.to_owned(), why.to_owned());
        self.call(move |c| {
            let mut tx = c.transaction()?;
            let mut out = super::Forgotten::default();
            let Some(row) = tx.query_opt(
                "SELECT batch FROM parts WHERE stage = $1 AND file = $2 FOR UPDATE",
                &[&stage, &file],
            )?
            else {
                return Ok(out);
            };
            let batch: Option<String> = row.get(0);
            match batch {
                Some(batch) => {
                    out.parts = tx
                        .query(
                            "DELETE FROM parts WHERE stage = $1 AND batch = $2
                             RETURNING tbl, file, rows, bytes, checksum, batch",
                            &[&stage, &batch],
                        )?
                        .iter()
                        .map(part_row)
                        .collect();
                    out.units = tx
                        .query(
                            "DELETE FROM units WHERE stage = $1 AND batch = $2 RETURNING unit",
                            &[&stage, &batch],
                        )?
                        .into_iter()
                        .map(|r| r.get(0))
                        .collect();
                    tx.execute(
                        "UPDATE frontier SET done = false, lease_owner = NULL, lease_expires_at = NULL
                         WHERE stage = $1 AND unit = ANY($2)",
                        &[&stage, &out.units],
                    )?;
                }
                None => {
                    out.parts = parts_of(&mut tx, &stage)?;
                    tx.execute("DELETE FROM parts WHERE stage = $1", &[&stage])?;
                    tx.execute("DELETE FROM units WHERE stage = $1", &[&stage])?;
                    tx.execute("DELETE FROM frontier WHERE stage = $1", &[&stage])?;
                }
            }
            tx.execute(
                "UPDATE stages SET status = 'interrupted', output_fingerprint = NULL, error = $2 WHERE name = $1",
                &[&stage, &why],
            )?;
            tx.execute(
                "DELETE FROM refreshes WHERE stage = $1 AND to_fp IS NULL",
                &[&stage],
            )?;
            tx.commit()?;
            Ok(out)
        })
    }

    fn failures(&self, stage: &str, limit: usize) -> Result<Vec<(String, String)>> {
        let stage = stage.to_owned();
        self.call(move |c| {
            Ok(c.query(
                "SELECT unit, failure FROM units WHERE stage = $1 AND failure IS NOT NULL ORDER BY unit LIMIT $2",
                &[&stage, &(limit as i64)],
            )?
            .into_iter()
            .map(|r| (r.get(0), r.get(1)))
            .collect())
        })
    }

    fn cache_get(&self, key: &str) -> Result<Option<CachedResponse>> {
        let key = key.to_owned();
        self.call(move |c| {
            Ok(c.query_opt(
                "SELECT status, body, stored_at FROM http_cache WHERE key = $1",
                &[&key],
            )?
            .map(|r| CachedResponse {
                status: r.get::<_, i32>(0) as u16,
                body: r.get(1),
                stored_at: r.get(2),
            }))
        })
    }

    fn cache_put(&self, key: &str, status: u16, body: &[u8]) -> Result<()> {
        let (key, body) = (key.to_owned(), body.to_vec());
        self.call(move |c| {
            c.execute(
                "INSERT INTO http_cache (key, status, body, stored_at) VALUES ($1, $2, $3, $4)
                 ON CONFLICT (key) DO UPDATE SET status = $2, body = $3, stored_at = $4",
                &[&key, &i32::from(status), &body, &now_micros()],
            )?;
            Ok(())
        })
    }

    fn leases(&self) -> Option<&dyn Leases> {
        Some(self)
    }

    fn describe(&self) -> String {
        self.display.clone()
    }
}

fn ms(d: Duration) -> i64 {
    d.as_millis().min(i64::MAX as u128) as i64
}

impl Leases for PgStore {
    fn owner(&self) -> &str {
        &self.owner
    }

    fn enqueue(&self, stage: &str, units: &[String], interval: Duration) -> Result<u64> {
        let stage = stage.to_owned();
        let units = units.to_vec();
        let interval = ms(interval);
        self.call(move |c| {
            let n = c.execute(
                "INSERT INTO frontier (stage, unit, interval_ms, pos)
                 SELECT $1, u, $3, n FROM unnest($2::text[]) WITH ORDINALITY AS v(u, n)
                 ON CONFLICT (stage, unit) DO NOTHING",
                &[&stage, &units, &interval],
            )?;
            Ok(n)
        })
    }

    fn claim(&self, stage: &str, max: usize, ttl: Duration) -> Result<Vec<Claim>> {
        let (stage, owner) = (stage.to_owned(), self.owner.clone());
        let ttl = ms(ttl);
        self.call(move |c| {
            Ok(c.query(
                "WITH c AS (
                    SELECT stage, unit FROM frontier
                    WHERE stage = $1 AND NOT done AND (lease_owner IS NULL OR lease_expires_at < now())
                    ORDER BY next_allowed_at NULLS FIRST, pos NULLS LAST, unit
                    LIMIT $2 FOR UPDATE SKIP LOCKED)
                 UPDATE frontier f SET
                    next_allowed_at = CASE WHEN f.lease_owner IS NULL THEN f.next_allowed_at
                        ELSE GREATEST(COALESCE(f.next_allowed_at, '-infinity'),
                                      f.lease_expires_at + f.interval_ms * interval '1 millisecond') END,
                    lease_owner = $3,
                    lease_expires_at = now() + $4::bigint * interval '1 millisecond',
                    claims = f.claims + 1
                 FROM c WHERE f.stage = c.stage AND f.unit = c.unit
                 RETURNING f.unit, f.claims,
                    GREATEST(0, (EXTRACT(EPOCH FROM (f.next_allowed_at - now())) * 1000))::bigint",
                &[&stage, &(max as i64), &owner, &ttl],
            )?
            .into_iter()
            .map(|r| Claim {
                unit: r.get(0),
                claims: r.get::<_, i32>(1) as u32,
                wait: Duration::from_millis(r.get::<_, i64>(2).max(0) as u64),
            })
            .collect())
        })
    }

    fn pace(&self, key: &str, interval: Duration) -> Result<Duration> {
        let key = key.to_owned();
        let interval = ms(interval);
        self.call(move |c| {
            // The slot is the later of now and the key's next free time; the key's next free
            // time moves one interval past it. Measured by the database's clock only.
            let row = c.query_one(
                "INSERT INTO pacing (key, next_at) VALUES ($1, now() + $2::bigint * interval '1 millisecond')
                 ON CONFLICT (key) DO UPDATE SET next_at =
                    GREATEST(pacing.next_at, now()) + $2::bigint * interval '1 millisecond'
                 RETURNING GREATEST(0, EXTRACT(EPOCH FROM
                    (next_at - $2::bigint * interval '1 millisecond' - now())) * 1000)::bigint",
                &[&key, &interval],
            )?;
            Ok(Duration::from_millis(row.get::<_, i64>(0).max(0) as u64))
        })
    }

    fn heartbeat(&self, stage: &str, units: &[String], ttl: Duration) -> Result<Vec<String>> {
        let (stage, owner) = (stage.to_owned(), self.owner.clone());
        let units = units.to_vec();
        let ttl = ms(ttl);
        self.call(move |c| {
            let kept: HashSet<String> = c
                .query(
                    "UPDATE frontier SET lease_expires_at = now() + $4::bigint * interval '1 millisecond'
                     WHERE stage = $1 AND unit = ANY($2) AND lease_owner = $3 AND NOT done
                     RETURNING unit",
                    &[&stage, &units, &owner, &ttl],
                )?
                .into_iter()
                .map(|r| r.get(0))
                .collect();
            Ok(units.into_iter().filter(|u| !kept.contains(u)).collect())
        })
    }

    fn raise_intervals(&self, stage: &str, intervals: &[(String, Duration)]) -> Result<()> {
        let stage = stage.to_owned();
        let units: Vec<String> = intervals.iter().map(|(u, _)| u.clone()).collect();
        let ms: Vec<i64> = intervals.iter().map(|(_, d)| ms(*d)).collect();
        self.call(move |c| {
            c.execute(
                "UPDATE frontier f SET interval_ms = GREATEST(f.interval_ms, v.ms)
                 FROM unnest($2::text[], $3::bigint[]) AS v(unit, ms)
                 WHERE f.stage = $1 AND f.unit = v.unit",
                &[&stage, &units, &ms],
            )?;
            Ok(())
        })
    }

    fn release(&self, stage: &str, units: &[String]) -> Result<()> {
        let (stage, owner) = (stage.to_owned(), self.owner.clone());
        let units = units.to_vec();
        self.call(move |c| {
            // The host was just asked: the next holder waits one interval from now.
            c.execute(
                "UPDATE frontier SET lease_owner = NULL, lease_expires_at = NULL,
                    next_allowed_at = GREATEST(COALESCE(next_allowed_at, '-infinity'),
                                               now() + interval_ms * interval '1 millisecond')
                 WHERE stage = $1 AND unit = ANY($2) AND lease_owner = $3",
                &[&stage, &units, &owner],
            )?;
            Ok(())
        })
    }

    fn unfinished(&self, stage: &str) -> Result<u64> {
        let stage = stage.to_owned();
        self.call(move |c| {
            let n: i64 = c
                .query_one(
                    "SELECT COUNT(*) FROM frontier WHERE stage = $1 AND NOT done",
                    &[&stage],
                )?
                .get(0);
            Ok(n as u64)
        })
    }

    fn worker_seen(&self, stage: &str, units: u64, pages: u64) -> Result<()> {
        let (stage, owner) = (stage.to_owned(), self.owner.clone());
        let queries = self.queries() as i64 + 1;
        self.call(move |c| {
            c.execute(
                "INSERT INTO workers (id, host, pid, stage, units, pages, queries)
                 VALUES ($1, $2, $3, $4, $5, $6, $7)
                 ON CONFLICT (id) DO UPDATE SET host = $2, pid = $3, stage = $4, last_seen_at = now(),
                    units = $5, pages = $6, queries = $7",
                &[&owner, &hostname(), &i64::from(std::process::id()), &stage, &(units as i64), &(pages as i64), &queries],
            )?;
            Ok(())
        })
    }

    fn view(&self) -> Result<LeaseView> {
        self.call(|c| {
            let workers = c
                .query(
                    "SELECT id, host, pid, stage, EXTRACT(EPOCH FROM (now() - started_at))::float8,
                        EXTRACT(EPOCH FROM (now() - last_seen_at))::float8, units, pages, queries,
                        (SELECT COUNT(*) FROM frontier f WHERE f.lease_owner = w.id AND f.lease_expires_at > now())
                     FROM workers w ORDER BY id",
                    &[],
                )?
                .into_iter()
                .map(|r| WorkerRow {
                    id: r.get(0),
                    host: r.get(1),
                    pid: r.get::<_, i64>(2) as u32,
                    stage: r.get(3),
                    running_seconds: r.get(4),
                    seen_seconds_ago: r.get(5),
                    units: r.get::<_, i64>(6) as u64,
                    pages: r.get::<_, i64>(7) as u64,
                    queries: r.get::<_, i64>(8) as u64,
                    leases: r.get::<_, i64>(9) as u64,
                })
                .collect();
            let r = c.query_one(
                "SELECT COUNT(*) FILTER (WHERE NOT done),
                        COUNT(*) FILTER (WHERE NOT done AND lease_owner IS NOT NULL AND lease_expires_at > now()),
                        COUNT(*) FILTER (WHERE NOT done AND lease_owner IS NOT NULL AND lease_expires_at <= now()),
                        COUNT(*) FILTER (WHERE done)
                 FROM frontier",
                &[],
            )?;
            Ok(LeaseView {
                workers,
                unfinished: r.get::<_, i64>(0) as u64,
                leased: r.get::<_, i64>(1) as u64,
                expired: r.get::<_, i64>(2) as u64,
                done: r.get::<_, i64>(3) as u64,
            })
        })
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn schema_objects_lists_every_table_index_and_added_column() {
        let (relations, columns) = super::schema_objects();
        assert_eq!(
            relations,
            [
                "meta",
                "stages",
                "units",
                "parts",
                "http_cache",
                "frontier",
                "frontier_todo",
                "refreshes",
                "pacing",
                "workers"
            ]
        );
        assert_eq!(columns.len(), 5);
        assert!(columns.contains(&("units", "batch")));
        // Every DDL statement of SCHEMA is probed, so none is skipped while missing.
        assert_eq!(
            super::SCHEMA.matches("CREATE ").count() + super::SCHEMA.matches("ALTER ").count(),
            relations.len() + columns.len()
        );
    }
}
