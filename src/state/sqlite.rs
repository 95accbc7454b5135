//! SQLite backend of the state store: one file, no server, WAL journal so `leadcrawl status` can
//! read while a run writes.

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use rusqlite::{params, Connection, OptionalExtension};

use super::{
    hostname, merged_counters, merged_units, move_into_place, now_micros, CachedResponse,
    PartRecord, PendingPart, Refresh, Replacement, Result, StageRecord, StageStatus, StateError,
    StateStore, UnitOutcome, REFRESHES_KEPT,
};

const SCHEMA_VERSION: i64 = 2;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS stages (
    name TEXT PRIMARY KEY,
    status TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    output_fingerprint TEXT,
    run_id TEXT NOT NULL,
    units_total INTEGER,
    started_at INTEGER,
    finished_at INTEGER,
    pid INTEGER,
    host TEXT,
    error TEXT,
    counters TEXT NOT NULL DEFAULT '{}'
);
CREATE TABLE IF NOT EXISTS units (
    stage TEXT NOT NULL,
    unit TEXT NOT NULL,
    failure TEXT,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (stage, unit)
);
CREATE TABLE IF NOT EXISTS parts (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    stage TEXT NOT NULL,
    tbl TEXT NOT NULL,
    file TEXT NOT NULL UNIQUE,
    rows INTEGER NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS refreshes (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    stage TEXT NOT NULL,
    from_fp TEXT NOT NULL,
    to_fp TEXT,
    units TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS http_cache (
    key TEXT PRIMARY KEY,
    status INTEGER NOT NULL,
    body BLOB NOT NULL,
    stored_at INTEGER NOT NULL
);
";

/// Schema 2: parts carry their size and checksum and the commit (`batch`: the commit's first
/// part) they came in; units the commit that recorded them, so a damaged part's units are known.
fn migrate(conn: &Connection) -> rusqlite::Result<()> {
    let has = |table: &str, column: &str| -> rusqlite::Result<bool> {
        conn.query_row(
            &format!("SELECT COUNT(*) FROM pragma_table_info('{table}') WHERE name = ?1"),
            [column],
            |r| r.get::<_, i64>(0),
        )
        .map(|n| n > 0)
    };
    for (table, column, ty) in [
        ("parts", "bytes", "INTEGER"),
        ("parts", "checksum", "TEXT"),
        ("parts", "batch", "TEXT"),
        ("units", "batch", "TEXT"),
    ] {
        if !has(table, column)? {
            conn.execute_batch(&format!("ALTER TABLE {table} ADD COLUMN {column} {ty}"))?;
        }
    }
    conn.execute(
        "UPDATE meta SET value = ?1 WHERE key = 'schema_version' AND CAST(value AS INTEGER) < CAST(?1 AS INTEGER)",
        [SCHEMA_VERSION.to_string()],
    )?;
    Ok(())
}

/// The embedded default store.
pub struct SqliteStore {
    conn: Mutex<Connection>,
    path: PathBuf,
    /// Output folder: part paths are registered relative to it.
    root: PathBuf,
}

impl SqliteStore {
    /// Opens (creating if needed) the store at `path`; parts are registered relative to `root`.
    pub fn open(path: &Path, root: &Path) -> Result<SqliteStore> {
        let open_err = |source| StateError::Open {
            path: path.to_path_buf(),
            source,
        };
        if let Some(dir) = path.parent() {
            let _ = std::fs::create_dir_all(dir);
        }
        let conn = Connection::open(path).map_err(open_err)?;
        conn.busy_timeout(std::time::Duration::from_secs(30))
            .map_err(open_err)?;
        conn.pragma_update(None, "journal_mode", "WAL")
            .map_err(open_err)?;
        conn.pragma_update(None, "synchronous", "FULL")
            .map_err(open_err)?;
        conn.execute_batch(SCHEMA).map_err(open_err)?;
        migrate(&conn).map_err(open_err)?;
        let found: Option<String> = conn
            .query_row(
                "SELECT value FROM meta WHERE key = 'schema_version'",
                [],
                |r| r.get(0),
            )
            .optional()
            .map_err(open_err)?;
        match found.and_then(|v| v.parse::<i64>().ok()) {
            Some(v) if v > SCHEMA_VERSION => {
                return Err(StateError::TooNew {
                    path: path.to_path_buf(),
                    found: v,
                    known: SCHEMA_VERSION,
                })
            }
            Some(_) => {}
            None => {
                conn.execute(
                    "INSERT OR REPLACE INTO meta (key, value) VALUES ('schema_version', ?1)",
                    [SCHEMA_VERSION.to_string()],
                )
                .map_err(open_err)?;
            }
        }
        Ok(SqliteStore {
            conn: Mutex::new(conn),
            path: path.to_path_buf(),
            root: root.to_path_buf(),
        })
    }

    /// Opens an existing store read-only-ish for `status`; `None` when there is none yet.
    pub fn open_existing(path: &Path, root: &Path) -> Result<Option<SqliteStore>> {
        if !path.exists() {
            return Ok(None);
        }
        Self::open(path, root).map(Some)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn conn(&self) -> std::sync::MutexGuard<'_, Connection> {
        // A panic while holding the lock cannot leave SQLite inconsistent (transactions roll
        // back), so a poisoned lock is safe to reuse.
        self.conn.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn relative(&self, p: &Path) -> String {
        p.strip_prefix(&self.root)
            .unwrap_or(p)
            .to_string_lossy()
            .into_owned()
    }
}

fn read_stage(conn: &Connection, name: &str) -> rusqlite::Result<Option<StageRecord>> {
    let rec = conn
        .query_row(
            "SELECT name, status, fingerprint, output_fingerprint, run_id, units_total, started_at,
                    finished_at, pid, host, error, counters FROM stages WHERE name = ?1",
            [name],
            |r| {
                let counters: String = r.get(11)?;
                Ok(StageRecord {
                    name: r.get(0)?,
                    status: StageStatus::parse(&r.get::<_, String>(1)?),
                    fingerprint: r.get(2)?,
                    output_fingerprint: r.get(3)?,
                    run_id: r.get(4)?,
                    units_total: r.get::<_, Option<i64>>(5)?.map(|v| v as u64),
                    units_done: 0,
                    units_failed: 0,
                    started_at: r.get(6)?,
                    finished_at: r.get(7)?,
                    pid: r.get::<_, Option<i64>>(8)?.map(|v| v as u32),
                    host: r.get(9)?,
                    error: r.get(10)?,
                    counters: serde_json::from_str(&counters).unwrap_or_default(),
                })
            },
        )
        .optional()?;
    let Some(mut rec) = rec else { return Ok(None) };
    let (done, failed): (i64, i64) = conn.query_row(
        "SELECT COALESCE(SUM(failure IS NULL), 0), COALESCE(SUM(failure IS NOT NULL), 0)
         FROM units WHERE stage = ?1",
        [name],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    rec.units_done = done as u64;
    rec.units_failed = failed as u64;
    Ok(Some(rec))
}

impl StateStore for SqliteStore {
    fn stages(&self) -> Result<Vec<StageRecord>> {
        let conn = self.conn();
        let names: Vec<String> = conn
            .prepare("SELECT name FROM stages")?
            .query_map([], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?;
        let mut out = Vec::new();
        for n in names {
            if let Some(r) = read_stage(&conn, &n)? {
                out.push(r);
            }
        }
        Ok(out)
    }

    fn stage(&self, name: &str) -> Result<Option<StageRecord>> {
        Ok(read_stage(&self.conn(), name)?)
    }

    fn reset_stage(&self, name: &str) -> Result<Vec<PartRecord>> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        let parts = parts_of(&tx, name)?;
        tx.execute("DELETE FROM units WHERE stage = ?1", [name])?;
        tx.execute("DELETE FROM parts WHERE stage = ?1", [name])?;
        // Its output starts over: no later stage can be brought up to date from an older one.
        tx.execute("DELETE FROM refreshes WHERE stage = ?1", [name])?;
        tx.execute(
            "UPDATE stages SET status = 'pending', output_fingerprint = NULL, units_total = NULL,
             counters = '{}', error = NULL WHERE name = ?1",
            [name],
        )?;
        tx.commit()?;
        Ok(parts)
    }

    fn start_stage(&self, name: &str, fingerprint: &str, run_id: &str) -> Result<()> {
        self.conn().execute(
            "INSERT INTO stages (name, status, fingerprint, run_id, started_at, finished_at, pid, host, error)
             VALUES (?1, 'running', ?2, ?3, ?4, NULL, ?5, ?6, NULL)
             ON CONFLICT(name) DO UPDATE SET status = 'running', fingerprint = ?2, run_id = ?3,
               started_at = ?4, finished_at = NULL, pid = ?5, host = ?6, error = NULL",
            params![name, fingerprint, run_id, now_micros(), std::process::id(), hostname()],
        )?;
        Ok(())
    }

    fn set_units_total(&self, name: &str, total: u64) -> Result<()> {
        self.conn().execute(
            "UPDATE stages SET units_total = ?2 WHERE name = ?1",
            params![name, total as i64],
        )?;
        Ok(())
    }

    fn finished_units(&self, name: &str) -> Result<HashSet<String>> {
        let conn = self.conn();
        let mut stmt = conn.prepare("SELECT unit FROM units WHERE stage = ?1")?;
        let set = stmt
            .query_map([name], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?;
        Ok(set)
    }

    fn commit(
        &self,
        stage: &str,
        parts: &[PendingPart],
        units: &[UnitOutcome],
        counters: &BTreeMap<String, u64>,
    ) -> Result<()> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        let now = now_micros();
        let batch = parts.first().map(|p| self.relative(&p.final_path));
        for p in parts {
            tx.execute(
                "INSERT OR REPLACE INTO parts (stage, tbl, file, rows, created_at, bytes, checksum, batch)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                params![stage, p.table, self.relative(&p.final_path), p.rows as i64, now,
                        p.bytes as i64, p.checksum, batch],
            )?;
        }
        for u in units {
            tx.execute(
                "INSERT OR REPLACE INTO units (stage, unit, failure, updated_at, batch) VALUES (?1, ?2, ?3, ?4, ?5)",
                params![stage, u.unit, u.failure, now, batch],
            )?;
        }
        if !counters.is_empty() {
            let current: Option<String> = tx
                .query_row(
                    "SELECT counters FROM stages WHERE name = ?1",
                    [stage],
                    |r| r.get(0),
                )
                .optional()?;
            tx.execute(
                "UPDATE stages SET counters = ?2 WHERE name = ?1",
                params![stage, merged_counters(current.as_deref(), counters)],
            )?;
        }
        move_into_place(parts)?;
        tx.commit()?;
        Ok(())
    }

    fn finish_stage(
        &self,
        name: &str,
        status: StageStatus,
        output_fingerprint: Option<&str>,
        error: Option<&str>,
    ) -> Result<()> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        tx.execute(
            "UPDATE stages SET status = ?2, output_fingerprint = COALESCE(?3, output_fingerprint),
             finished_at = ?4, error = ?5 WHERE name = ?1",
            params![
                name,
                status.as_str(),
                output_fingerprint,
                now_micros(),
                error
            ],
        )?;
        if let (StageStatus::Done, Some(out)) = (status, output_fingerprint) {
            tx.execute(
                "UPDATE refreshes SET to_fp = ?2 WHERE stage = ?1 AND to_fp IS NULL",
                params![name, out],
            )?;
            tx.execute(
                "DELETE FROM refreshes WHERE stage = ?1 AND seq NOT IN
                 (SELECT seq FROM refreshes WHERE stage = ?1 ORDER BY seq DESC LIMIT ?2)",
                params![name, REFRESHES_KEPT],
            )?;
        }
        tx.commit()?;
        Ok(())
    }

    fn parts(&self, stage: &str) -> Result<Vec<PartRecord>> {
        Ok(parts_of(&self.conn(), stage)?)
    }

    fn take_back(
        &self,
        stage: &str,
        units: &[String],
        replace: &[Replacement],
        counters: &BTreeMap<String, u64>,
    ) -> Result<()> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        let now = now_micros();
        for u in units {
            tx.execute(
                "DELETE FROM units WHERE stage = ?1 AND unit = ?2",
                params![stage, u],
            )?;
        }
        for r in replace {
            for f in &r.old_files {
                tx.execute(
                    "DELETE FROM parts WHERE stage = ?1 AND file = ?2",
                    params![stage, f],
                )?;
            }
            let batch = r.parts.first().map(|p| self.relative(&p.final_path));
            for p in &r.parts {
                tx.execute(
                    "INSERT OR REPLACE INTO parts (stage, tbl, file, rows, created_at, bytes, checksum, batch)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                    params![stage, p.table, self.relative(&p.final_path), p.rows as i64, now,
                            p.bytes as i64, p.checksum, batch],
                )?;
            }
            // The units left in the old commit now belong to the copy (a damaged copy takes
            // them back); their recorded time stays that of their own work.
            if let Some(old) = &r.batch {
                tx.execute(
                    "UPDATE units SET batch = ?3 WHERE stage = ?1 AND batch = ?2",
                    params![stage, old, batch],
                )?;
            }
        }
        if !counters.is_empty() {
            let current: Option<String> = tx
                .query_row(
                    "SELECT counters FROM stages WHERE name = ?1",
                    [stage],
                    |r| r.get(0),
                )
                .optional()?;
            tx.execute(
                "UPDATE stages SET counters = ?2 WHERE name = ?1",
                params![stage, merged_counters(current.as_deref(), counters)],
            )?;
        }
        let output: Option<String> = tx
            .query_row(
                "SELECT output_fingerprint FROM stages WHERE name = ?1",
                [stage],
                |r| r.get(0),
            )
            .optional()?
            .flatten();
        let open: Option<(i64, String, String)> = tx
            .query_row(
                "SELECT seq, from_fp, units FROM refreshes WHERE stage = ?1 AND to_fp IS NULL",
                [stage],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .optional()?;
        match (open, output) {
            // Taken back again before the refresh completed (an interrupted refresh resumed).
            (Some((seq, from, current)), Some(out)) if from == out => {
                tx.execute(
                    "UPDATE refreshes SET units = ?2 WHERE seq = ?1",
                    params![seq, merged_units(Some(&current), units)],
                )?;
            }
            (open, Some(out)) => {
                if let Some((seq, ..)) = open {
                    tx.execute("DELETE FROM refreshes WHERE seq = ?1", [seq])?;
                }
                tx.execute(
                    "INSERT INTO refreshes (stage, from_fp, to_fp, units) VALUES (?1, ?2, NULL, ?3)",
                    params![stage, out, merged_units(None, units)],
                )?;
            }
            // No complete output to refresh from (never done, or a damaged part took it back):
            // later stages start over, as after a reset.
            (open, None) => {
                if let Some((seq, ..)) = open {
                    tx.execute("DELETE FROM refreshes WHERE seq = ?1", [seq])?;
                }
            }
        }
        move_into_place(replace.iter().flat_map(|r| &r.parts))?;
        tx.commit()?;
        Ok(())
    }

    fn refreshes(&self, stage: &str) -> Result<Vec<Refresh>> {
        let conn = self.conn();
        let mut stmt = conn.prepare(
            "SELECT from_fp, to_fp, units FROM refreshes WHERE stage = ?1 AND to_fp IS NOT NULL
             ORDER BY seq DESC LIMIT ?2",
        )?;
        let rows = stmt.query_map(params![stage, REFRESHES_KEPT], |r| {
            let units: String = r.get(2)?;
            Ok(Refresh {
                from: r.get(0)?,
                to: r.get(1)?,
                units: serde_json::from_str(&units).unwrap_or_default(),
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    fn units_recorded_before(&self, stage: &str, micros: i64) -> Result<Vec<String>> {
        let conn = self.conn();
        let mut stmt = conn.prepare(
            "SELECT unit FROM units WHERE stage = ?1 AND updated_at < ?2 ORDER BY updated_at, unit",
        )?;
        let rows = stmt.query_map(params![stage, micros], |r| r.get(0))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    fn forget_damaged(&self, stage: &str, file: &str, why: &str) -> Result<super::Forgotten> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        let batch: Option<Option<String>> = tx
            .query_row(
                "SELECT batch FROM parts WHERE stage = ?1 AND file = ?2",
                params![stage, file],
                |r| r.get(0),
            )
            .optional()?;
        let mut out = super::Forgotten::default();
        match batch {
            None => return Ok(out),
            Some(Some(batch)) => {
                {
                    let mut stmt = tx.prepare(
                        "SELECT tbl, file, rows, bytes, checksum, batch FROM parts WHERE stage = ?1 AND batch = ?2",
                    )?;
                    out.parts = stmt
                        .query_map(params![stage, batch], part_row)?
                        .collect::<rusqlite::Result<_>>()?;
                    let mut stmt =
                        tx.prepare("SELECT unit FROM units WHERE stage = ?1 AND batch = ?2")?;
                    out.units = stmt
                        .query_map(params![stage, batch], |r| r.get(0))?
                        .collect::<rusqlite::Result<_>>()?;
                }
                tx.execute(
                    "DELETE FROM parts WHERE stage = ?1 AND batch = ?2",
                    params![stage, batch],
                )?;
                tx.execute(
                    "DELETE FROM units WHERE stage = ?1 AND batch = ?2",
                    params![stage, batch],
                )?;
            }
            // Registered before parts knew their commit: the whole stage is redone.
            Some(None) => {
                out.parts = parts_of(&tx, stage)?;
                tx.execute("DELETE FROM parts WHERE stage = ?1", [stage])?;
                tx.execute("DELETE FROM units WHERE stage = ?1", [stage])?;
            }
        }
        tx.execute(
            "UPDATE stages SET status = 'interrupted', output_fingerprint = NULL, error = ?2 WHERE name = ?1",
            params![stage, why],
        )?;
        // Its next output is not a refresh of the last one: later stages start over.
        tx.execute(
            "DELETE FROM refreshes WHERE stage = ?1 AND to_fp IS NULL",
            [stage],
        )?;
        tx.commit()?;
        Ok(out)
    }

    fn failures(&self, stage: &str, limit: usize) -> Result<Vec<(String, String)>> {
        let conn = self.conn();
        let mut stmt = conn.prepare(
            "SELECT unit, failure FROM units WHERE stage = ?1 AND failure IS NOT NULL ORDER BY unit LIMIT ?2",
        )?;
        let rows = stmt.query_map(params![stage, limit as i64], |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    fn cache_get(&self, key: &str) -> Result<Option<CachedResponse>> {
        Ok(self
            .conn()
            .query_row(
                "SELECT status, body, stored_at FROM http_cache WHERE key = ?1",
                [key],
                |r| {
                    Ok(CachedResponse {
                        status: r.get::<_, i64>(0)? as u16,
                        body: r.get(1)?,
                        stored_at: r.get(2)?,
                    })
                },
            )
            .optional()?)
    }

    fn describe(&self) -> String {
        self.path.display().to_string()
    }

    fn cache_put(&self, key: &str, status: u16, body: &[u8]) -> Result<()> {
        self.conn().execute(
            "INSERT OR REPLACE INTO http_cache (key, status, body, stored_at) VALUES (?1, ?2, ?3, ?4)",
            params![key, status as i64, body, now_micros()],
        )?;
        Ok(())
    }
}

fn parts_of(conn: &Connection, stage: &str) -> rusqlite::Result<Vec<PartRecord>> {
    let mut stmt = conn.prepare(
        "SELECT tbl, file, rows, bytes, checksum, batch FROM parts WHERE stage = ?1 ORDER BY seq",
    )?;
    let rows = stmt.query_map([stage], part_row)?;
    rows.collect()
}

fn part_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<PartRecord> {
    Ok(PartRecord {
        table: r.get(0)?,
        file: r.get(1)?,
        rows: r.get::<_, i64>(2)? as u64,
        bytes: r.get::<_, Option<i64>>(3)?.map(|b| b as u64),
        checksum: r.get(4)?,
        batch: r.get(5)?,
    })
}
