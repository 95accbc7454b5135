//! The state store: what each stage has done, so that any run can stop at any instant and the
//! next one does only what is missing.
//!
//! It records per stage a status, the fingerprint of its inputs and config, counters and
//! timings; per unit of work (a batch of input rows, a host, a lead) done or failed with the
//! reason; the output part files; and cached API responses (registry lookups, keyed by
//! request, so that a re-run asks the public services nothing again). The one operation that matters for crash safety is
//! [`StateStore::commit`]: a part file is renamed into place and its units marked done in one
//! transaction, so a SIGKILL at any instant leaves either a registered complete part or an
//! unregistered file that the next run deletes.
//!
//! [`sqlite::SqliteStore`] is the zero-setup backend; [`postgres::PgStore`] is shared by many
//! workers on many machines and adds [`Leases`]: the units of a leased stage (the crawl's hosts)
//! are claimed by one worker at a time.

pub mod postgres;
pub mod sqlite;

use std::collections::{BTreeMap, HashSet};
use std::path::PathBuf;
use std::time::Duration;

use serde::Serialize;

/// Errors of the state store.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    #[error("state store {path}: {source}")]
    Open {
        path: PathBuf,
        source: rusqlite::Error,
    },
    #[error("state store: {0}")]
    Sql(#[from] rusqlite::Error),
    #[error("state store: moving {from} into place: {source}")]
    Rename {
        from: PathBuf,
        source: std::io::Error,
    },
    #[error("state store {path} was written by a newer leadcrawl (schema {found}, this one knows {known})")]
    TooNew {
        path: PathBuf,
        found: i64,
        known: i64,
    },
    #[error("state store {url}: cannot connect: {source} (is the server up? the password is read from LEADCRAWL_PG_PASSWORD or PGPASSWORD)")]
    Connect {
        url: String,
        source: ::postgres::Error,
    },
    #[error("state store: {0}")]
    Pg(#[from] ::postgres::Error),
    #[error("state store: {0}")]
    Backend(String),
    /// A commit of leased units that this worker no longer holds (it stalled past the lease and
    /// another worker took them over): nothing was written.
    #[error("stage {stage}: the lease on {} unit(s) was lost ({}); their output is discarded, another worker redoes them", units.len(), units.join(", "))]
    LeaseLost { stage: String, units: Vec<String> },
}

pub type Result<T> = std::result::Result<T, StateError>;

/// Lifecycle of a stage, as recorded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum StageStatus {
    Pending,
    Running,
    Done,
    Failed,
    Interrupted,
}

impl StageStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            StageStatus::Pending => "pending",
            StageStatus::Running => "running",
            StageStatus::Done => "done",
            StageStatus::Failed => "failed",
            StageStatus::Interrupted => "interrupted",
        }
    }

    pub fn parse(s: &str) -> StageStatus {
        match s {
            "running" => StageStatus::Running,
            "done" => StageStatus::Done,
            "failed" => StageStatus::Failed,
            "interrupted" => StageStatus::Interrupted,
            _ => StageStatus::Pending,
        }
    }
}

/// What the store knows of one stage.
#[derive(Debug, Clone, Serialize)]
pub struct StageRecord {
    pub name: String,
    pub status: StageStatus,
    pub fingerprint: String,
    /// Changes whenever the stage completes a run that produced new output; later stages
    /// include it in their own fingerprint (make-like invalidation).
    pub output_fingerprint: Option<String>,
    pub run_id: String,
    pub units_total: Option<u64>,
    pub units_done: u64,
    pub units_failed: u64,
    pub started_at: Option<i64>,
    pub finished_at: Option<i64>,
    pub pid: Option<u32>,
    pub host: Option<String>,
    pub error: Option<String>,
    pub counters: BTreeMap<String, u64>,
}

/// A part file written to a temporary name, to be moved into place by [`StateStore::commit`].
#[derive(Debug, Clone)]
pub struct PendingPart {
    /// Table the part belongs to (`leads`, `pages`, …).
    pub table: String,
    pub tmp_path: PathBuf,
    /// Final path; its file name is what the store registers.
    pub final_path: PathBuf,
    pub rows: u64,
    /// The file's size and CRC-32 (hex), recorded with the part and checked when it is read.
    pub bytes: u64,
    pub checksum: String,
}

/// A registered output file of a stage.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct PartRecord {
    pub table: String,
    /// Path relative to the output folder (`leads/part-00000.parquet`, `evaluation.json`).
    pub file: String,
    pub rows: u64,
    /// Size and CRC-32 at commit (none for parts registered by an older leadcrawl).
    pub bytes: Option<u64>,
    pub checksum: Option<String>,
    /// The commit it came in (the commit's first part), shared by the parts committed together
    /// and by the units they hold; none for parts of an older store.
    #[serde(skip)]
    pub batch: Option<String>,
}

/// One commit's parts rewritten by [`StateStore::take_back`]: the old files are unregistered and
/// the new parts (copies without the rows of the units taken back) registered as one commit,
/// which then holds the old commit's remaining units.
#[derive(Debug, Clone)]
pub struct Replacement {
    /// The old commit (see [`PartRecord::batch`]).
    pub batch: Option<String>,
    /// The old parts' files, relative to the output folder.
    pub old_files: Vec<String>,
    /// The copies; empty when every row went.
    pub parts: Vec<PendingPart>,
}

/// One completed refresh of a stage: the units it redid in part, without a reset, which took its
/// output fingerprint from `from` to `to`. A later stage built on `from` redoes only what depends
/// on these units instead of starting over.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refresh {
    pub from: String,
    pub to: String,
    pub units: Vec<String>,
}

/// Completed refreshes kept per stage: a later stage more refreshes behind starts over.
pub const REFRESHES_KEPT: i64 = 20;

/// What [`StateStore::forget_damaged`] took back: the parts committed together with the damaged
/// one (their files are to be deleted) and the units they held (to be done again).
#[derive(Debug, Clone, Default)]
pub struct Forgotten {
    pub parts: Vec<PartRecord>,
    pub units: Vec<String>,
}

/// The outcome of one unit of work.
#[derive(Debug, Clone)]
pub struct UnitOutcome {
    pub unit: String,
    /// `None`: done. `Some(reason)`: failed and recorded; not retried until forced.
    pub failure: Option<String>,
}

impl UnitOutcome {
    pub fn done(unit: impl Into<String>) -> Self {
        UnitOutcome {
            unit: unit.into(),
            failure: None,
        }
    }
    pub fn failed(unit: impl Into<String>, reason: impl Into<String>) -> Self {
        UnitOutcome {
            unit: unit.into(),
            failure: Some(reason.into()),
        }
    }
}

/// The interface every backend implements. All methods are transactional on their own.
pub trait StateStore: Send + Sync {
    /// Every stage the store has seen.
    fn stages(&self) -> Result<Vec<StageRecord>>;
    fn stage(&self, name: &str) -> Result<Option<StageRecord>>;
    /// Forgets a stage's units and parts (its fingerprint changed, or it is forced) and returns
    /// the parts it had, so that the caller deletes their files.
    fn reset_stage(&self, name: &str) -> Result<Vec<PartRecord>>;
    /// Marks the stage running under `run_id` with this fingerprint, owned by this process.
    fn start_stage(&self, name: &str, fingerprint: &str, run_id: &str) -> Result<()>;
    fn set_units_total(&self, name: &str, total: u64) -> Result<()>;
    /// Units already recorded (done or failed): the work a resumed run skips.
    fn finished_units(&self, name: &str) -> Result<HashSet<String>>;
    /// In one transaction: moves each pending part to its final path (registering it), marks the
    /// units, and adds `counters` to the stage's counters.
    fn commit(
        &self,
        stage: &str,
        parts: &[PendingPart],
        units: &[UnitOutcome],
        counters: &BTreeMap<String, u64>,
    ) -> Result<()>;
    /// Records how a stage's run ended; done with a new output fingerprint also closes the
    /// stage's open refresh (if any) with it.
    fn finish_stage(
        &self,
        name: &str,
        status: StageStatus,
        output_fingerprint: Option<&str>,
        error: Option<&str>,
    ) -> Result<()>;
    /// Unregisters a damaged part with the parts committed with it, forgets the units they
    /// held (the stage is no longer done: its next run redoes them) and records why. A part of
    /// an older store, whose units are not known, resets the stage.
    fn forget_damaged(&self, stage: &str, file: &str, why: &str) -> Result<Forgotten>;
    /// In one transaction: forgets `units` (the stage does them again: a refresh), replaces
    /// the parts that held their rows as `replace` says, adds `counters`, and adds the units to
    /// the stage's open refresh (from its current output fingerprint; closed by
    /// [`StateStore::finish_stage`] with the new one, dropped by a reset). The new parts are
    /// moved into place last; the caller deletes the old files once this returns.
    fn take_back(
        &self,
        stage: &str,
        units: &[String],
        replace: &[Replacement],
        counters: &BTreeMap<String, u64>,
    ) -> Result<()>;
    /// The stage's completed refreshes, newest first (at most [`REFRESHES_KEPT`]).
    fn refreshes(&self, stage: &str) -> Result<Vec<Refresh>>;
    /// Units of a stage recorded (done or failed) before `micros` (µs since the Unix epoch):
    /// what has aged past a stage's freshness limit.
    fn units_recorded_before(&self, stage: &str, micros: i64) -> Result<Vec<String>>;
    /// Registered parts of a stage, in commit order.
    fn parts(&self, stage: &str) -> Result<Vec<PartRecord>>;
    /// Failed units of a stage with their reasons (at most `limit`).
    fn failures(&self, stage: &str, limit: usize) -> Result<Vec<(String, String)>>;
    /// A cached API response by request key (registry lookups): `(status, body, stored at µs)`.
    fn cache_get(&self, key: &str) -> Result<Option<CachedResponse>>;
    /// Stores (or replaces) a response under `key`.
    fn cache_put(&self, key: &str, status: u16, body: &[u8]) -> Result<()>;
    /// The lease operations, on a backend shared by several workers.
    fn leases(&self) -> Option<&dyn Leases> {
        None
    }
    /// Where the store is, for people (a path, or a URL without its password).
    fn describe(&self) -> String;
}

/// A unit claimed by [`Leases::claim`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claim {
    pub unit: String,
    /// How many times the unit has been claimed (more than 1: a lease changed hands).
    pub claims: u32,
    /// How long to wait before the first request to the unit's host (politeness across a change
    /// of hands), as measured by the database's clock.
    pub wait: Duration,
}

/// One worker, as `leadcrawl status` shows it.
#[derive(Debug, Clone, Serialize)]
pub struct WorkerRow {
    pub id: String,
    pub host: String,
    pub pid: u32,
    pub stage: Option<String>,
    pub running_seconds: f64,
    pub seen_seconds_ago: f64,
    pub units: u64,
    pub pages: u64,
    pub queries: u64,
    /// Leases it holds now.
    pub leases: u64,
}

/// Workers and the frontier at a glance.
#[derive(Debug, Clone, Serialize)]
pub struct LeaseView {
    pub workers: Vec<WorkerRow>,
    pub unfinished: u64,
    pub leased: u64,
    /// Units whose lease expired without a commit (a worker died or stalled): claimable again.
    pub expired: u64,
    pub done: u64,
}

/// Host leases for the units of a stage shared by many workers.
pub trait Leases: Send + Sync {
    /// This process's name in leases.
    fn owner(&self) -> &str;
    /// Adds the units not yet in the frontier, each with its host's politeness interval; returns
    /// how many were added.
    fn enqueue(&self, stage: &str, units: &[String], interval: Duration) -> Result<u64>;
    /// Claims up to `max` unfinished units whose lease is free or expired, for `ttl`.
    fn claim(&self, stage: &str, max: usize, ttl: Duration) -> Result<Vec<Claim>>;
    /// Reserves the next request slot of a rate shared by every worker (a registry's published
    /// rate): slots of one `key` are at least `interval` apart, by the database's clock.
    /// Returns how long to wait before the slot.
    fn pace(&self, key: &str, interval: Duration) -> Result<Duration>;
    /// Extends the leases of `units` by `ttl`; returns the units whose lease was lost.
    fn heartbeat(&self, stage: &str, units: &[String], ttl: Duration) -> Result<Vec<String>>;
    /// Raises units' politeness intervals to what their hosts asked (robots.txt `Crawl-delay`),
    /// so that a worker taking a lease over waits as long as the host wants.
    fn raise_intervals(&self, stage: &str, intervals: &[(String, Duration)]) -> Result<()>;
    /// Gives up leases without finishing (stopped): the host's next request waits an interval.
    fn release(&self, stage: &str, units: &[String]) -> Result<()>;
    /// Units of the stage not done (claimed or not).
    fn unfinished(&self, stage: &str) -> Result<u64>;
    /// Records this worker as alive, with its totals so far.
    fn worker_seen(&self, stage: &str, units: u64, pages: u64) -> Result<()>;
    fn view(&self) -> Result<LeaseView>;
}

/// The store `config` names: SQLite in the output folder, or the shared PostgreSQL database
/// (`owner` names this process in leases; default hostname:pid).
pub fn open(
    config: &crate::config::Config,
    owner: Option<&str>,
) -> anyhow::Result<Box<dyn StateStore>> {
    Ok(match config.state.postgres_url() {
        Some(url) => Box::new(postgres::PgStore::open(url, config.output_dir(), owner)?),
        None => Box::new(sqlite::SqliteStore::open(
            &config.state_path(),
            config.output_dir(),
        )?),
    })
}

/// Microseconds since the Unix epoch: every time the state store records.
pub fn now_micros() -> i64 {
    chrono::Utc::now().timestamp_micros()
}

/// This machine's name, as recorded with a running stage and a worker.
pub fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|s| s.trim().to_string())
        .unwrap_or_else(|_| "localhost".into())
}

/// A stage's counters (stored as JSON) with `add` added to them: what both backends store.
fn merged_counters(current: Option<&str>, add: &BTreeMap<String, u64>) -> String {
    let mut map: BTreeMap<String, u64> = current
        .and_then(|c| serde_json::from_str(c).ok())
        .unwrap_or_default();
    for (k, v) in add {
        *map.entry(k.clone()).or_default() += v;
    }
    serde_json::to_string(&map).unwrap_or_else(|_| "{}".into())
}

/// `units` added to `current` (JSON lists of unit keys), sorted and each once.
fn merged_units(current: Option<&str>, add: &[String]) -> String {
    let mut set: std::collections::BTreeSet<String> = current
        .and_then(|c| serde_json::from_str::<Vec<String>>(c).ok())
        .unwrap_or_default()
        .into_iter()
        .collect();
    set.extend(add.iter().cloned());
    serde_json::to_string(&set).unwrap_or_else(|_| "[]".into())
}

/// Moves committed parts into place, last in a commit's transaction: a failed rename rolls the
/// transaction back; a death between the renames and COMMIT leaves unregistered files that the
/// next run deletes.
fn move_into_place<'a>(parts: impl IntoIterator<Item = &'a PendingPart>) -> Result<()> {
    for p in parts {
        std::fs::rename(&p.tmp_path, &p.final_path).map_err(|source| StateError::Rename {
            from: p.tmp_path.clone(),
            source,
        })?;
    }
    Ok(())
}

/// A response kept by [`StateStore::cache_put`].
#[derive(Debug, Clone)]
pub struct CachedResponse {
    pub status: u16,
    pub body: Vec<u8>,
    /// Microseconds since the Unix epoch.
    pub stored_at: i64,
}
