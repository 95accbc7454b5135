//! The stages of the pipeline, in order, and what each one is given to run.
//!
//! A stage is glue: it reads its input tables, calls the library crate that owns the domain, and
//! commits output parts together with the units of work they complete. Everything about
//! resuming, fingerprints and status is the runner's ([`crate::runner`]).

pub mod crawl;
pub mod embed;
pub mod evaluate;
pub mod extract;
pub mod features;
pub mod ingest;
pub mod prospects;
pub mod registry;
pub mod score;
pub mod universe;

use std::collections::{BTreeMap, HashSet};
use std::path::Path;
use std::time::Duration;

use arrow::array::RecordBatch;

use crate::config::Config;
use crate::progress::Progress;
use crate::schema::TableDef;
use crate::signals::StopFlag;
use crate::state::{StateStore, UnitOutcome};
use crate::table::{self, Provenance};

/// How a stage's run ended (errors are `Err`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StageOutcome {
    /// Every unit is recorded; `units_failed` of them failed (recorded with their reason).
    Completed { units_failed: u64 },
    /// A stop was requested; committed work stays, the rest is done by the next run.
    Interrupted,
}

/// What a stage reads: a table of another stage, or a whole file another stage writes.
#[derive(Clone, Copy)]
pub enum Read {
    Table(&'static TableDef),
    File(&'static FileDef),
}

impl Read {
    /// The stage that writes it.
    pub fn stage(&self) -> &'static str {
        match self {
            Read::Table(t) => t.stage,
            Read::File(f) => f.stage,
        }
    }
}

/// A whole non-Parquet output file (`evaluation.json`), read by later stages.
#[derive(Debug)]
pub struct FileDef {
    pub name: &'static str,
    pub stage: &'static str,
}

/// One stage of the pipeline.
pub trait Stage: Sync {
    fn name(&self) -> &'static str;
    /// One line for `--help` and `status`.
    fn about(&self) -> &'static str;
    /// What this stage reads. The stages it runs after are the writers of these.
    fn reads(&self) -> &'static [Read];
    /// Tables this stage writes.
    fn tables(&self) -> &'static [&'static TableDef];
    /// Fingerprint of this stage's own inputs (files, config section). The runner adds the
    /// output fingerprints of the stages it reads.
    fn fingerprint(&self, config: &Config) -> anyhow::Result<String>;
    fn run(&self, ctx: &StageContext<'_>) -> anyhow::Result<StageOutcome>;
    /// Whether the stage's units are leased to workers on a shared store (`leadcrawl worker`).
    fn leased(&self) -> bool {
        false
    }
    /// Units whose output is older than the config allows (the crawl's `max_age_days`): a done
    /// stage with such units runs again, without a reset, and its `run` takes them back first.
    fn aged_units(&self, _config: &Config, _store: &dyn StateStore) -> anyhow::Result<u64> {
        Ok(0)
    }
    /// When `upstream` redid some of its units without a reset (a refresh, e.g. the crawl's
    /// aged sites): this stage's units built on them, and the column of its tables that holds a
    /// unit's key, so that only those are done again. `None` (the default): the stage starts
    /// over, which is always correct.
    fn dependent_units(
        &self,
        _config: &Config,
        _store: &dyn StateStore,
        _upstream: &str,
        _redone: &HashSet<String>,
    ) -> anyhow::Result<Option<(HashSet<String>, &'static str)>> {
        Ok(None)
    }
}

/// The stages whose output `stage` reads, each once, in the order of its reads.
pub fn upstream(stage: &dyn Stage) -> Vec<&'static str> {
    let mut out: Vec<&'static str> = Vec::new();
    for r in stage.reads() {
        if !out.contains(&r.stage()) {
            out.push(r.stage());
        }
    }
    out
}

/// Every stage this build knows, in pipeline order: each after the stages it reads.
pub fn all() -> Vec<&'static dyn Stage> {
    vec![
        &ingest::IngestStage,
        &crawl::CrawlStage,
        &extract::ExtractStage,
        &registry::RegistryStage,
        &universe::UniverseStage,
        &prospects::ProspectsStage,
        &embed::EmbedStage,
        &features::FeaturesStage,
        &evaluate::EvaluateStage,
        &score::ScoreStage,
    ]
}

/// Who runs a stage: the process that runs the pipeline, or a `leadcrawl worker` helping with a
/// leased stage (on a PostgreSQL state store) that another process started.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// `leadcrawl run`: enqueues the leased units, works on them unless `local_worker` is off,
    /// and waits until every unit is done.
    Run { local_worker: bool },
    /// `leadcrawl worker`: claims units until none is left (with `follow`, waits for more).
    Worker { follow: bool },
}

/// Where a reset stage's previous output waits until the stage completes again.
pub fn previous_dir(config: &Config, stage: &str) -> std::path::PathBuf {
    config.output_dir().join(".previous").join(stage)
}

/// What a stage is given.
pub struct StageContext<'a> {
    pub stage: &'static str,
    /// The tables the stage writes.
    pub tables: &'static [&'static TableDef],
    /// What the stage reads (checked by [`StageContext::read`]).
    pub reads: &'static [Read],
    pub role: Role,
    pub config: &'a Config,
    pub store: &'a dyn StateStore,
    pub prov: Provenance,
    pub stop: &'a StopFlag,
    pub progress: Progress,
}

/// Test-only slow-down: `LEADCRAWL_TEST_UNIT_DELAY_MS` sleeps before each commit so that tests
/// can kill the process mid-stage. Never set in production.
const TEST_DELAY_ENV: &str = "LEADCRAWL_TEST_UNIT_DELAY_MS";

/// Sleeps `LEADCRAWL_TEST_UNIT_DELAY_MS` when set (tests only): before a commit, so that a test
/// can kill the process with the output written and not yet registered.
pub fn test_delay() {
    if let Some(ms) = std::env::var(TEST_DELAY_ENV)
        .ok()
        .and_then(|v| v.parse::<u64>().ok())
    {
        std::thread::sleep(Duration::from_millis(ms));
    }
}

impl StageContext<'_> {
    pub fn output_dir(&self) -> &Path {
        self.config.output_dir()
    }

    /// The output this stage had before it was last reset, if any (see the runner).
    pub fn previous_dir(&self) -> std::path::PathBuf {
        previous_dir(self.config, self.stage)
    }

    /// Every registered part of `def`, in commit order (a stage reads only what it declares).
    pub fn parts_of(&self, def: &TableDef) -> anyhow::Result<Vec<crate::state::PartRecord>> {
        debug_assert!(
            self.reads
                .iter()
                .any(|r| matches!(r, Read::Table(t) if t.name == def.name)),
            "stage {} reads {} without declaring it",
            self.stage,
            def.name
        );
        Ok(self
            .store
            .parts(def.stage)?
            .into_iter()
            .filter(|p| p.table == def.name)
            .collect())
    }

    /// One registered part of a table, whole (checked against what was committed).
    pub fn read_part(&self, part: &crate::state::PartRecord) -> anyhow::Result<Vec<RecordBatch>> {
        Ok(table::read_part(
            self.output_dir(),
            self.writer_of(part),
            part,
            None,
        )?)
    }

    /// The stage that wrote a part this stage reads.
    fn writer_of(&self, part: &crate::state::PartRecord) -> &'static str {
        self.reads
            .iter()
            .find_map(|r| match r {
                Read::Table(t) if t.name == part.table => Some(t.stage),
                _ => None,
            })
            .unwrap_or(self.stage)
    }

    /// One registered part of a table, only the named columns.
    pub fn read_part_columns(
        &self,
        part: &crate::state::PartRecord,
        columns: &[&str],
    ) -> anyhow::Result<Vec<RecordBatch>> {
        Ok(table::read_part(
            self.output_dir(),
            self.writer_of(part),
            part,
            Some(columns),
        )?)
    }

    /// A whole table: every registered part of `def`, in commit order.
    pub fn read(&self, def: &TableDef) -> anyhow::Result<Vec<RecordBatch>> {
        let mut out = Vec::new();
        for p in self.parts_of(def)? {
            out.extend(self.read_part(&p)?);
        }
        Ok(out)
    }

    /// A whole output file another stage wrote (`evaluation.json`).
    pub fn read_file(&self, def: &FileDef) -> anyhow::Result<Vec<u8>> {
        debug_assert!(
            self.reads
                .iter()
                .any(|r| matches!(r, Read::File(f) if f.name == def.name)),
            "stage {} reads {} without declaring it",
            self.stage,
            def.name
        );
        let part = self
            .store
            .parts(def.stage)?
            .into_iter()
            .find(|p| p.table == def.name)
            .ok_or_else(|| {
                anyhow::anyhow!(
                    "{} is not registered (stage {} not run)",
                    def.name,
                    def.stage
                )
            })?;
        Ok(table::part_bytes(self.output_dir(), def.stage, &part)?.to_vec())
    }

    pub fn should_stop(&self) -> bool {
        self.stop.is_set()
    }

    /// Writes one part per `(table, batches)` under the part file name `part`, then commits the
    /// parts and the units in one state-store transaction.
    pub fn commit_parts(
        &self,
        part: &str,
        tables: &[(&TableDef, Vec<RecordBatch>)],
        extra_meta: &[(String, String)],
        units: &[UnitOutcome],
        counters: &BTreeMap<String, u64>,
    ) -> anyhow::Result<()> {
        test_delay();
        let mut pending = Vec::new();
        for (def, batches) in tables {
            if batches.iter().map(RecordBatch::num_rows).sum::<usize>() == 0 {
                continue;
            }
            pending.push(table::write_pending(
                self.output_dir(),
                def,
                part,
                batches,
                &self.prov,
                extra_meta,
            )?);
        }
        if let Err(e) = self.store.commit(self.stage, &pending, units, counters) {
            // Nothing was registered (e.g. a lease was lost): the temporary files go too.
            for p in &pending {
                let _ = std::fs::remove_file(&p.tmp_path);
            }
            return Err(e.into());
        }
        Ok(())
    }
}
