//! The unit-of-work engine: what every per-lead stage would otherwise repeat, written once.
//!
//! A [`UnitStage`] says what its units are (from its input tables), how a batch of units
//! becomes output rows, and nothing else. [`run_units`] does the rest, the same way for every
//! such stage:
//! - lists the units and skips those already recorded (resume);
//! - on one machine (SQLite), cuts the pending units into parts of
//!   [`UnitStage::part_units`], works each part and commits it: the part files renamed into
//!   place and the units marked done (or failed, with the reason) in one state-store
//!   transaction;
//! - on a shared PostgreSQL store, `leadcrawl run` enqueues the pending units in the frontier
//!   and every worker (the run's own, and each `leadcrawl worker --stage NAME`) claims a part's
//!   worth at a time, heartbeats the leases while it works, and commits fenced by the leases (a
//!   worker that lost a lease registers nothing; whoever took the units over redoes them); a
//!   killed worker's units are claimed again when their leases expire;
//! - stops between parts on SIGINT/SIGTERM (a stage's [`UnitStage::work`] may also return early,
//!   leaving units pending, when it sees the stop flag inside a long part);
//! - counts progress, counters and failures per unit.
//!
//! The crawl keeps its own streaming loop (sites finish at their own pace, politely), but
//! claims, heartbeats and commits through the same [`Leased`] frontier helpers.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use anyhow::Context;
use arrow::array::RecordBatch;

use crate::schema::TableDef;
use crate::stages::{Role, StageContext, StageOutcome};
use crate::state::{Leases, StateError, UnitOutcome};
use crate::table;

/// What one batch of units produced.
#[derive(Default)]
pub struct Output {
    /// Rows per output table (tables without rows write no file).
    pub tables: Vec<(&'static TableDef, Vec<RecordBatch>)>,
    /// One outcome per finished unit. Units of the batch left out stay pending (the stage saw
    /// the stop flag), to be done by the next run or another worker.
    pub units: Vec<UnitOutcome>,
    pub counters: BTreeMap<String, u64>,
    /// Extra file metadata for this batch's parts.
    pub meta: Vec<(String, String)>,
    /// A short line for the progress display.
    pub note: String,
}

/// A stage that maps units of work to rows.
pub trait UnitStage: Sync {
    /// One unit: a lead, a site.
    type Unit: Send + Sync;
    /// What working needs and keeps across batches (a loaded model, a registry client).
    type Worker<'a>
    where
        Self: 'a;

    /// Every unit of the stage, in the order they are best done, from its input tables.
    fn units(&self, ctx: &StageContext<'_>) -> anyhow::Result<Vec<Self::Unit>>;
    /// The unit's key in the state store (unique within the stage).
    fn key(unit: &Self::Unit) -> &str;
    /// At most this many units per part (and per claim on PostgreSQL).
    fn part_units(&self, ctx: &StageContext<'_>) -> usize;
    /// Opens what working needs, once per stage run, and only when there is work.
    fn open<'a>(&'a self, ctx: &'a StageContext<'a>) -> anyhow::Result<Self::Worker<'a>>;
    /// Turns a batch of units into rows.
    fn work(
        &self,
        worker: &mut Self::Worker<'_>,
        ctx: &StageContext<'_>,
        units: &[&Self::Unit],
    ) -> anyhow::Result<Output>;
}

/// Runs a unit stage to completion (or to a stop), on one machine or as one of many workers.
pub fn run_units<S: UnitStage>(stage: &S, ctx: &StageContext<'_>) -> anyhow::Result<StageOutcome> {
    let units = stage.units(ctx)?;
    match ctx.store.leases() {
        None => run_local(stage, ctx, units),
        Some(leases) => run_leased(stage, ctx, leases, units),
    }
}

fn run_local<S: UnitStage>(
    stage: &S,
    ctx: &StageContext<'_>,
    units: Vec<S::Unit>,
) -> anyhow::Result<StageOutcome> {
    ctx.store.set_units_total(ctx.stage, units.len() as u64)?;
    ctx.progress.set_total(units.len() as u64);
    let finished = ctx.store.finished_units(ctx.stage)?;
    let todo: Vec<&S::Unit> = units
        .iter()
        .filter(|u| !finished.contains(S::key(u)))
        .collect();
    ctx.progress
        .inc((units.len() - todo.len()) as u64, "already done");
    if !todo.is_empty() {
        let mut worker = stage.open(ctx)?;
        let mut names = PartNames::after_registered(ctx, "part-")?;
        for batch in todo.chunks(stage.part_units(ctx).max(1)) {
            if ctx.should_stop() {
                return Ok(StageOutcome::Interrupted);
            }
            let out = stage.work(&mut worker, ctx, batch)?;
            let complete = out.units.len() == batch.len();
            commit(ctx, &names.next(), out)?;
            if !complete {
                return Ok(StageOutcome::Interrupted);
            }
        }
    }
    completed(ctx)
}

/// Writes a batch's parts and commits them with its units; returns how many units it recorded.
fn commit(ctx: &StageContext<'_>, name: &str, out: Output) -> anyhow::Result<usize> {
    if out.units.is_empty() {
        return Ok(0);
    }
    let tables: Vec<(&TableDef, Vec<RecordBatch>)> = out.tables.into_iter().collect();
    ctx.commit_parts(name, &tables, &out.meta, &out.units, &out.counters)?;
    ctx.progress.inc(out.units.len() as u64, &out.note);
    Ok(out.units.len())
}

/// The stage is complete: every unit is recorded. Failed units are counted from the store, so a
/// resumed run reports the failures of the runs before it too.
pub fn completed(ctx: &StageContext<'_>) -> anyhow::Result<StageOutcome> {
    let failed = ctx
        .store
        .stage(ctx.stage)?
        .map(|r| r.units_failed)
        .unwrap_or(0);
    Ok(StageOutcome::Completed {
        units_failed: failed,
    })
}

fn run_leased<S: UnitStage>(
    stage: &S,
    ctx: &StageContext<'_>,
    leases: &dyn Leases,
    units: Vec<S::Unit>,
) -> anyhow::Result<StageOutcome> {
    let keys: Vec<String> = units.iter().map(|u| S::key(u).to_owned()).collect();
    let frontier = Leased::open(ctx, leases, &keys, Duration::ZERO)?;
    let by_key: HashMap<&str, &S::Unit> = units.iter().map(|u| (S::key(u), u)).collect();
    if frontier.local_worker {
        let mut worker = None;
        let mut names = frontier.part_names()?;
        loop {
            while !ctx.should_stop() {
                let claims = leases.claim(ctx.stage, stage.part_units(ctx).max(1), frontier.ttl)?;
                if claims.is_empty() {
                    break;
                }
                let mut batch = Vec::new();
                let mut claimed = Vec::new();
                for c in claims {
                    match by_key.get(c.unit.as_str()) {
                        Some(u) => {
                            batch.push(*u);
                            claimed.push(c.unit);
                        }
                        None => {
                            // The lists differ (another input): give it back rather than lose it.
                            tracing::warn!(unit = %c.unit, "claimed a unit this worker's input does not have; released");
                            leases.release(ctx.stage, std::slice::from_ref(&c.unit))?;
                        }
                    }
                }
                if batch.is_empty() {
                    continue;
                }
                if worker.is_none() {
                    worker = Some(stage.open(ctx)?);
                }
                let w = worker.as_mut().expect("opened above");
                let out = frontier.with_heartbeat(&claimed, || stage.work(w, ctx, &batch))?;
                frontier.commit(&names.next(), claimed, out)?;
            }
            if ctx.should_stop() {
                return Ok(StageOutcome::Interrupted);
            }
            if frontier.all_done()? {
                break;
            }
            frontier.pause();
        }
    } else if !frontier.wait_all_done()? {
        return Ok(StageOutcome::Interrupted);
    }
    frontier.finish(ctx)?;
    completed(ctx)
}

/// A stage's frontier on a shared PostgreSQL store, as one process sees it: what the run
/// enqueued, the lease length, and the part names this process writes.
pub struct Leased<'c> {
    ctx: &'c StageContext<'c>,
    pub leases: &'c dyn Leases,
    /// How long a claim lasts without a heartbeat.
    pub ttl: Duration,
    /// Whether this process works on units (a worker, or a run without `--no-local-worker`).
    pub local_worker: bool,
}

impl<'c> Leased<'c> {
    /// The run enqueues every unit not yet done (each with its politeness `interval`) and then
    /// records the total, which is what tells workers that the frontier is complete.
    pub fn open(
        ctx: &'c StageContext<'c>,
        leases: &'c dyn Leases,
        keys: &[String],
        interval: Duration,
    ) -> anyhow::Result<Leased<'c>> {
        let local_worker = match ctx.role {
            Role::Run { local_worker } => {
                let finished = ctx.store.finished_units(ctx.stage)?;
                let todo: Vec<String> = keys
                    .iter()
                    .filter(|k| !finished.contains(*k))
                    .cloned()
                    .collect();
                let added = leases.enqueue(ctx.stage, &todo, interval)?;
                // Set last: a worker takes an empty frontier for "all done" only once this is set.
                ctx.store.set_units_total(ctx.stage, keys.len() as u64)?;
                tracing::info!(
                    units = keys.len(),
                    todo = todo.len(),
                    enqueued = added,
                    "frontier ready; workers may join (leadcrawl worker --stage {})",
                    ctx.stage
                );
                local_worker
            }
            Role::Worker { .. } => true,
        };
        ctx.progress.set_total(keys.len() as u64);
        Ok(Leased {
            ctx,
            leases,
            ttl: Duration::from_secs_f64(ctx.config.state.lease_seconds),
            local_worker,
        })
    }

    /// Part file names for this worker: named after it, so that workers on several machines
    /// never pick the same name.
    pub fn part_names(&self) -> anyhow::Result<PartNames> {
        let safe: String = self
            .leases
            .owner()
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
            .collect();
        PartNames::after_registered(self.ctx, &format!("part-{safe}-"))
    }

    /// Runs `f` while a thread renews the leases of `units` every third of the lease.
    pub fn with_heartbeat<T>(&self, units: &[String], f: impl FnOnce() -> T) -> T {
        let done = AtomicBool::new(false);
        let beat = self.ttl / 3;
        std::thread::scope(|s| {
            s.spawn(|| {
                let mut since = std::time::Instant::now();
                while !done.load(Ordering::Relaxed) {
                    std::thread::sleep(Duration::from_millis(50).min(beat));
                    if since.elapsed() >= beat {
                        since = std::time::Instant::now();
                        match self.leases.heartbeat(self.ctx.stage, units, self.ttl) {
                            Ok(lost) if !lost.is_empty() => {
                                tracing::warn!(
                                    lost = lost.len(),
                                    "leases lost while working; the commit will be refused"
                                )
                            }
                            Ok(_) => {}
                            Err(e) => tracing::warn!(error = %e, "heartbeat failed"),
                        }
                    }
                }
            });
            let out = f();
            done.store(true, Ordering::Relaxed);
            out
        })
    }

    /// Commits a batch's output, fenced by the leases of `claimed`: a lease lost on the way
    /// (this worker stalled past it) registers nothing, and whoever holds the units now redoes
    /// them; the units the batch left pending (a stop) are given back.
    pub fn commit(&self, name: &str, claimed: Vec<String>, out: Output) -> anyhow::Result<()> {
        let recorded: HashSet<String> = out.units.iter().map(|u| u.unit.clone()).collect();
        if let Err(e) = commit(self.ctx, name, out) {
            let Some(StateError::LeaseLost { units, .. }) = e.downcast_ref::<StateError>() else {
                return Err(e);
            };
            tracing::warn!("{e:#}");
            let lost: HashSet<&String> = units.iter().collect();
            let ours: Vec<String> = claimed.into_iter().filter(|k| !lost.contains(k)).collect();
            self.leases.release(self.ctx.stage, &ours)?;
            return Ok(());
        }
        let left: Vec<String> = claimed
            .into_iter()
            .filter(|k| !recorded.contains(k))
            .collect();
        if !left.is_empty() {
            self.leases.release(self.ctx.stage, &left)?;
        }
        Ok(())
    }

    /// Whether every unit is done (an empty frontier before the run filled it is not "done").
    pub fn all_done(&self) -> anyhow::Result<bool> {
        let left = self.leases.unfinished(self.ctx.stage)?;
        let ready = self
            .ctx
            .store
            .stage(self.ctx.stage)?
            .is_some_and(|r| r.units_total.is_some());
        let p = &self.ctx.progress;
        p.advance_to(p.total().saturating_sub(left), &format!("{left} left"));
        Ok(left == 0 && ready)
    }

    /// Waits a moment for other workers (or for expired leases to become claimable).
    pub fn pause(&self) {
        for _ in 0..5 {
            if self.ctx.should_stop() {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Waits until other workers have done every unit; `false` when stopped first.
    pub fn wait_all_done(&self) -> anyhow::Result<bool> {
        loop {
            if self.all_done()? {
                return Ok(true);
            }
            self.pause();
            if self.ctx.should_stop() {
                return Ok(false);
            }
        }
    }

    /// The run, once every unit is done: a worker killed between moving a part into place and
    /// its commit leaves an unregistered file, removed so readers of the folder never see a
    /// unit twice.
    pub fn finish(&self, ctx: &StageContext<'_>) -> anyhow::Result<()> {
        if let Role::Run { .. } = ctx.role {
            let registered: Vec<String> = ctx
                .store
                .parts(ctx.stage)?
                .into_iter()
                .map(|p| p.file)
                .collect();
            for def in ctx.tables {
                for f in table::remove_unregistered(ctx.output_dir(), def, &registered) {
                    tracing::info!(file = %f.display(), "removed a part no worker committed");
                }
            }
        }
        Ok(())
    }
}

/// Takes `units` back so that the stage does them again without a reset (a refresh): the parts
/// of the stage's tables holding their rows (found by `key_column`) are replaced by copies
/// without those rows — the parts of one commit by one new commit, which keeps the commit's
/// other units — and the units are forgotten, in one state-store transaction, with `counters`
/// added. `taken` sees the rows taken out of each part (table, old file, rows) before anything
/// changes. A SIGKILL at any instant leaves the old parts and marks or the new ones, never rows
/// twice; an old file left behind is unregistered, and the next run deletes it. Returns how
/// many parts were replaced.
pub fn take_back(
    ctx: &StageContext<'_>,
    units: &HashSet<String>,
    key_column: &str,
    counters: &BTreeMap<String, u64>,
    mut taken: impl FnMut(&TableDef, &str, Vec<RecordBatch>) -> anyhow::Result<()>,
) -> anyhow::Result<usize> {
    use arrow::array::{AsArray, BooleanArray};
    if units.is_empty() {
        return Ok(0);
    }
    let parts = ctx.store.parts(ctx.stage)?;
    // The parts of one commit, in commit order (parts of an older store stand alone).
    let mut commits: Vec<(Option<String>, Vec<&crate::state::PartRecord>)> = Vec::new();
    let mut index: HashMap<&str, usize> = HashMap::new();
    for p in &parts {
        match p.batch.as_deref().and_then(|b| index.get(b)) {
            Some(&i) => commits[i].1.push(p),
            None => {
                if let Some(b) = p.batch.as_deref() {
                    index.insert(b, commits.len());
                }
                commits.push((p.batch.clone(), vec![p]));
            }
        }
    }
    let def_of = |p: &crate::state::PartRecord| ctx.tables.iter().find(|d| d.name == p.table);
    let keys_of = |batches: &[RecordBatch]| -> anyhow::Result<Vec<BooleanArray>> {
        batches
            .iter()
            .map(|b| {
                let col = b
                    .column_by_name(key_column)
                    .with_context(|| format!("{key_column} column"))?;
                let col = arrow::compute::cast(col, &arrow::datatypes::DataType::Utf8)?;
                Ok(col
                    .as_string::<i32>()
                    .iter()
                    .map(|k| Some(k.is_some_and(|k| units.contains(k))))
                    .collect())
            })
            .collect()
    };
    let mut names = PartNames::after_registered(ctx, "part-")?;
    let mut replace: Vec<crate::state::Replacement> = Vec::new();
    let rewrite = |replace: &mut Vec<crate::state::Replacement>| -> anyhow::Result<()> {
        for (batch, group) in commits {
            // Only the key column is read to find the commits concerned (a crawl part is
            // mostly HTML).
            let mut touched = false;
            for p in &group {
                if def_of(p).is_some() {
                    let keys = ctx.read_part_columns(p, &[key_column])?;
                    if keys_of(&keys)?.iter().any(|m| m.true_count() > 0) {
                        touched = true;
                        break;
                    }
                }
            }
            if !touched {
                continue;
            }
            let name = names.next();
            replace.push(crate::state::Replacement {
                batch,
                old_files: group.iter().map(|p| p.file.clone()).collect(),
                parts: Vec::new(),
            });
            for p in &group {
                let def = def_of(p).with_context(|| {
                    format!(
                        "part {} of table {} is not one of stage {}'s tables",
                        p.file, p.table, ctx.stage
                    )
                })?;
                let batches = ctx.read_part(p)?;
                let (mut kept, mut out) = (Vec::new(), Vec::new());
                for (b, mask) in batches.iter().zip(keys_of(&batches)?) {
                    out.push(arrow::compute::filter_record_batch(b, &mask)?);
                    let keep = arrow::compute::not(&mask)?;
                    kept.push(arrow::compute::filter_record_batch(b, &keep)?);
                }
                out.retain(|b| b.num_rows() > 0);
                kept.retain(|b| b.num_rows() > 0);
                taken(def, &p.file, out)?;
                if !kept.is_empty() {
                    let mut meta = table::stage_metadata(&ctx.output_dir().join(&p.file))?;
                    meta.push(("leadcrawl.copied_from".into(), p.file.clone()));
                    let part = table::write_pending(
                        ctx.output_dir(),
                        def,
                        &name,
                        &kept,
                        &ctx.prov,
                        &meta,
                    )?;
                    if let Some(r) = replace.last_mut() {
                        r.parts.push(part);
                    }
                }
            }
        }
        Ok(())
    };
    let discard = |replace: &[crate::state::Replacement]| {
        for p in replace.iter().flat_map(|r| &r.parts) {
            let _ = std::fs::remove_file(&p.tmp_path);
        }
    };
    if let Err(e) = rewrite(&mut replace) {
        discard(&replace);
        return Err(e);
    }
    let list: Vec<String> = units.iter().cloned().collect();
    if let Err(e) = ctx.store.take_back(ctx.stage, &list, &replace, counters) {
        discard(&replace);
        return Err(e.into());
    }
    for r in &replace {
        for f in &r.old_files {
            let _ = std::fs::remove_file(ctx.output_dir().join(f));
        }
    }
    Ok(replace.len())
}

/// The next part file names of one worker: `<prefix><seq>.parquet`.
pub struct PartNames {
    prefix: String,
    next: usize,
}

impl PartNames {
    /// Names after the highest registered one with this prefix: never a registered part's name,
    /// even after parts were taken back (a damaged part).
    pub fn after_registered(ctx: &StageContext<'_>, prefix: &str) -> anyhow::Result<PartNames> {
        let next = ctx
            .store
            .parts(ctx.stage)?
            .iter()
            .filter_map(|p| {
                let name = p.file.rsplit('/').next()?;
                name.strip_prefix(prefix)?
                    .strip_suffix(".parquet")?
                    .parse::<usize>()
                    .ok()
            })
            .max()
            .map_or(0, |m| m + 1);
        Ok(PartNames {
            prefix: prefix.to_owned(),
            next,
        })
    }

    #[allow(clippy::should_implement_trait)]
    pub fn next(&mut self) -> String {
        let name = format!("{}{:05}.parquet", self.prefix, self.next);
        self.next += 1;
        name
    }
}
