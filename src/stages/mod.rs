//! The stages of the pipeline, in order, and what each one is given to run.
//!
//! A stage is glue: it reads its input tables, calls the library crate that owns the domain, and
//! commits output parts together with the units of work they complete. Everything about
//! resuming, fingerprints and status is the runner's ([`crate::runner`]).

pub mod crawl;
mod crawl_leased;
pub mod embed;
pub mod evaluate;
pub mod extract;
pub mod features;
pub mod ingest;
pub mod registry;
pub mod score;

use std::collections::BTreeMap;
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

/// One stage of the pipeline.
pub trait Stage: Sync {
    fn name(&self) -> &'static str;
    /// One line for `--help` and `status`.
    fn about(&self) -> &'static str;
    /// Stages whose output this one reads.
    fn after(&self) -> &'static [&'static str];
    /// Tables this stage writes.
    fn tables(&self) -> &'static [&'static TableDef];
    /// Fingerprint of this stage's own inputs (files, config section). The runner adds the
    /// output fingerprints of the stages in [`Stage::after`].
    fn fingerprint(&self, config: &Config) -> anyhow::Result<String>;
    fn run(&self, ctx: &StageContext<'_>) -> anyhow::Result<StageOutcome>;
}

/// Every stage this build knows, in pipeline order.
pub fn all() -> Vec<&'static dyn Stage> {
    vec![
        &ingest::IngestStage,
        &crawl::CrawlStage,
        &extract::ExtractStage,
        &registry::RegistryStage,
        &embed::EmbedStage,
        &features::FeaturesStage,
        &evaluate::EvaluateStage,
        &score::ScoreStage,
    ]
}

/// The names of the stages the pipeline will have, for clear messages about those not built yet.
pub const PLANNED: &[&str] = &[
    "ingest", "crawl", "extract", "registry", "embed", "features", "evaluate", "score",
];

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

/// A leased stage's worker writes parts named after itself (`part-<owner>-00007.parquet`), so
/// that workers on several machines never pick the same name: the prefix for `owner`, and the
/// next free sequence number among the stage's registered parts.
pub(crate) fn worker_parts(ctx: &StageContext<'_>, owner: &str) -> anyhow::Result<(String, usize)> {
    let safe: String = owner
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    let prefix = format!("part-{safe}-");
    let next = ctx
        .store
        .parts(ctx.stage)?
        .iter()
        .filter_map(|p| {
            let name = p.file.rsplit('/').next()?;
            name.strip_prefix(&prefix)?
                .strip_suffix(".parquet")?
                .parse::<usize>()
                .ok()
        })
        .max()
        .map_or(0, |m| m + 1);
    Ok((prefix, next))
}

/// A leased stage's frontier is complete once the run has recorded the stage's unit total
/// (it does so after enqueueing): before that, an empty frontier means "not filled yet".
pub(crate) fn frontier_ready(ctx: &StageContext<'_>) -> anyhow::Result<bool> {
    Ok(ctx
        .store
        .stage(ctx.stage)?
        .is_some_and(|r| r.units_total.is_some()))
}

/// What a stage is given.
pub struct StageContext<'a> {
    pub stage: &'static str,
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

impl StageContext<'_> {
    pub fn output_dir(&self) -> &Path {
        self.config.output_dir()
    }

    /// The output this stage had before it was last reset, if any (see the runner).
    pub fn previous_dir(&self) -> std::path::PathBuf {
        crate::runner::previous_dir(self.config, self.stage)
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
        if let Some(ms) = std::env::var(TEST_DELAY_ENV)
            .ok()
            .and_then(|v| v.parse::<u64>().ok())
        {
            std::thread::sleep(Duration::from_millis(ms));
        }
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
