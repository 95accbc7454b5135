//! The stage runner: runs the selected stages in order, skipping work already done, like make.
//!
//! A stage's fingerprint is the hash of its own inputs and config section plus the output
//! fingerprints of the stages it reads. A stage that is done with the same fingerprint is
//! skipped; one whose fingerprint changed is reset (its parts deleted) and re-run, and since its
//! output fingerprint then changes, so are the stages after it. A stage that was interrupted
//! resumes: the units it committed are kept and only the rest is done. A done stage with units
//! older than its config allows (the crawl's `max_age_days`) runs again to redo just those, and
//! a stage whose inputs were refreshed that way redoes just the units built on them, when it can
//! say which ([`Stage::dependent_units`]); otherwise it starts over.

use std::collections::{BTreeMap, HashSet};
use std::time::Instant;

use anyhow::Context;
use serde::Serialize;

use crate::config::{short_hash, Config};
use crate::exit::UsageError;
use crate::progress::ProgressMode;
use crate::signals::StopFlag;
use crate::stages::{self, previous_dir, Stage, StageContext, StageOutcome};
use crate::state::{StageStatus, StateStore};
use crate::table::{self, Provenance};

/// What happened to one stage in a run.
#[derive(Debug, Clone, Serialize)]
pub struct StageReport {
    pub stage: String,
    /// `skipped` (up to date), `done`, `done_with_failures`, `interrupted`, `failed`.
    pub result: String,
    /// Units of the stage (`None`: not known, e.g. a whole-table stage that did not say).
    pub units_total: Option<u64>,
    /// Units done and failed so far (this run and the earlier ones it resumed).
    pub units_done: u64,
    pub units_failed: u64,
    /// Units already finished, done or failed, before this run (resumed or up to date).
    pub units_skipped: u64,
    pub seconds: f64,
    pub counters: BTreeMap<String, u64>,
    pub error: Option<String>,
}

/// The whole run.
#[derive(Debug, Clone, Serialize)]
pub struct RunReport {
    pub run_id: String,
    /// In `run_results.json` as RFC 3339 text.
    #[serde(skip)]
    pub started_at: chrono::DateTime<chrono::Utc>,
    #[serde(skip)]
    pub finished_at: Option<chrono::DateTime<chrono::Utc>>,
    /// `pipeline.max_failed_share`: decides between exit codes 0 and 3.
    pub max_failed_share: f64,
    pub stages: Vec<StageReport>,
    /// The stage a signal kept from starting, when one came between two stages.
    pub stopped_before: Option<String>,
}

impl RunReport {
    /// A run starting now.
    pub fn start(config: &Config) -> RunReport {
        RunReport {
            run_id: new_run_id(),
            started_at: chrono::Utc::now(),
            finished_at: None,
            max_failed_share: config.pipeline.max_failed_share,
            stages: Vec::new(),
            stopped_before: None,
        }
    }
    pub fn interrupted(&self) -> bool {
        self.stopped_before.is_some() || self.stages.iter().any(|s| s.result == "interrupted")
    }
    pub fn failed(&self) -> bool {
        self.stages.iter().any(|s| s.result == "failed")
    }
    pub fn units_failed(&self) -> u64 {
        self.stages.iter().map(|s| s.units_failed).sum()
    }
}

/// A new run id: UTC time and process id, sortable and unique enough on one machine; the
/// PostgreSQL backend adds the worker name.
pub fn new_run_id() -> String {
    format!(
        "{}-{:x}",
        chrono::Utc::now().format("%Y%m%dT%H%M%S%.3fZ"),
        std::process::id()
    )
}

/// An exclusive lock on an output folder, held for a whole run: two overlapping runs (two cron
/// jobs, a run and a demo) would otherwise write the same tables. Released when dropped, or by
/// the kernel when the process dies.
pub struct RunLock {
    _file: std::fs::File,
}

impl RunLock {
    pub fn acquire(output_dir: &std::path::Path) -> anyhow::Result<RunLock> {
        std::fs::create_dir_all(output_dir)
            .with_context(|| format!("creating output_dir {}", output_dir.display()))?;
        let path = output_dir.join(".leadcrawl.lock");
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .read(true)
            .write(true)
            .open(&path)
            .with_context(|| format!("opening {}", path.display()))?;
        match file.try_lock() {
            Ok(()) => {
                use std::io::Write;
                let _ = file.set_len(0);
                let _ = writeln!(&file, "{}", std::process::id());
                Ok(RunLock { _file: file })
            }
            Err(std::fs::TryLockError::WouldBlock) => {
                let holder = std::fs::read_to_string(&path).unwrap_or_default();
                Err(crate::exit::Busy(format!(
                    "another leadcrawl run (pid {}) is using {}; wait for it or stop it",
                    holder.trim(),
                    output_dir.display()
                ))
                .into())
            }
            Err(std::fs::TryLockError::Error(e)) => {
                Err(anyhow::Error::new(e).context(format!("locking {}", path.display())))
            }
        }
    }
}

/// Unregisters a damaged part and the parts committed with it, deletes their files, and says
/// which units go back to be done.
fn forget_damaged(
    config: &Config,
    store: &dyn StateStore,
    stage: &str,
    file: &str,
    why: &str,
) -> anyhow::Result<()> {
    let reason = format!("damaged part {file}: {why}; its units are done again by the next run");
    let forgotten = store.forget_damaged(stage, file, &reason)?;
    for p in &forgotten.parts {
        let _ = std::fs::remove_file(config.output_dir().join(&p.file));
    }
    let shown: Vec<&str> = forgotten
        .units
        .iter()
        .take(10)
        .map(String::as_str)
        .collect();
    tracing::error!(
        stage,
        file,
        why,
        parts = forgotten.parts.len(),
        units = forgotten.units.len(),
        "damaged part taken back; its units ({}{}) will be done again",
        shown.join(", "),
        if forgotten.units.len() > shown.len() {
            ", …"
        } else {
            ""
        }
    );
    Ok(())
}

/// Resolves `--stages` (empty: all) into stages in pipeline order, with clear errors.
pub fn select(names: &[String]) -> Result<Vec<&'static dyn Stage>, UsageError> {
    let all = stages::all();
    if names.is_empty() {
        return Ok(all);
    }
    let mut wanted = HashSet::new();
    for n in names {
        let n = n.trim();
        if all.iter().any(|s| s.name() == n) {
            wanted.insert(n.to_string());
        } else {
            return Err(UsageError(format!(
                "unknown stage {n:?}; stages are: {}",
                all.iter().map(|s| s.name()).collect::<Vec<_>>().join(", ")
            )));
        }
    }
    Ok(all
        .into_iter()
        .filter(|s| wanted.contains(s.name()))
        .collect())
}

/// Runs `selected` stages in order. `force` names stages to re-run from scratch.
pub fn run(
    config: &Config,
    store: &dyn StateStore,
    selected: &[&'static dyn Stage],
    force: &[String],
    stop: &StopFlag,
    progress: ProgressMode,
) -> anyhow::Result<RunReport> {
    run_as(
        config,
        store,
        selected,
        force,
        stop,
        progress,
        stages::Role::Run { local_worker: true },
    )
}

/// [`run`], with this process's part in leased stages.
pub fn run_as(
    config: &Config,
    store: &dyn StateStore,
    selected: &[&'static dyn Stage],
    force: &[String],
    stop: &StopFlag,
    progress: ProgressMode,
    role: stages::Role,
) -> anyhow::Result<RunReport> {
    let mut report = RunReport::start(config);
    run_into(
        &mut report,
        config,
        store,
        selected,
        force,
        stop,
        progress,
        role,
    )?;
    Ok(report)
}

/// [`run_as`] into `report`, which keeps the stages that ran when a later one returns an error
/// (for `run_results.json`); its end time is set however the run ends.
#[allow(clippy::too_many_arguments)]
pub fn run_into(
    report: &mut RunReport,
    config: &Config,
    store: &dyn StateStore,
    selected: &[&'static dyn Stage],
    force: &[String],
    stop: &StopFlag,
    progress: ProgressMode,
    role: stages::Role,
) -> anyhow::Result<()> {
    let result = run_stages(report, config, store, selected, force, stop, progress, role);
    report.finished_at = Some(chrono::Utc::now());
    result
}

#[allow(clippy::too_many_arguments)]
fn run_stages(
    report: &mut RunReport,
    config: &Config,
    store: &dyn StateStore,
    selected: &[&'static dyn Stage],
    force: &[String],
    stop: &StopFlag,
    progress: ProgressMode,
    role: stages::Role,
) -> anyhow::Result<()> {
    let run_id = report.run_id.clone();
    let prov = Provenance {
        run_id: run_id.clone(),
        config_hash: config.hash(),
    };
    std::fs::create_dir_all(config.output_dir())
        .with_context(|| format!("creating output_dir {}", config.output_dir().display()))?;
    // The parts every selected stage builds on, and its own, are what was committed (a stat
    // each); a damaged one is taken back with its units, which its stage then does again.
    let mut checked: Vec<&str> = Vec::new();
    for stage in selected {
        for name in stages::upstream(*stage).into_iter().chain([stage.name()]) {
            if !checked.contains(&name) {
                checked.push(name);
                for part in store.parts(name)? {
                    if let Err(table::TableError::Damaged { stage, file, why }) =
                        table::check_size(config.output_dir(), name, &part)
                    {
                        forget_damaged(config, store, &stage, &file, &why)?;
                    }
                }
            }
        }
    }
    // Every stage's inputs are either done or made by a stage selected before it: checked
    // before any work, so a missing stage is a usage error at once, not after hours.
    for (i, stage) in selected.iter().enumerate() {
        for up in stages::upstream(*stage) {
            let earlier = selected[..i].iter().any(|s| s.name() == up);
            let done = store
                .stage(up)?
                .is_some_and(|r| r.status == StageStatus::Done);
            if !earlier && !done {
                return Err(UsageError(format!(
                    "stage {} reads the output of {up}, which is not done; run with --stages {up},{}",
                    stage.name(),
                    stage.name()
                ))
                .into());
            }
        }
    }
    for (i, stage) in selected.iter().enumerate() {
        let name = stage.name();
        // Every line logged while the stage runs names it (human logs: `stage{stage="crawl"}:`).
        let _span = tracing::info_span!("stage", stage = name).entered();
        // What the stage's work (or taking back some of it) sees.
        let stage_context = || StageContext {
            stage: name,
            tables: stage.tables(),
            reads: stage.reads(),
            role,
            config,
            store,
            prov: prov.clone(),
            stop,
            progress: progress.bar(name),
        };
        let own = stage.fingerprint(config)?;
        let mut ups: Vec<(&'static str, String)> = Vec::new();
        for up in stages::upstream(*stage) {
            let rec = store.stage(up)?;
            match rec {
                Some(r) if r.status == StageStatus::Done => {
                    ups.push((up, r.output_fingerprint.unwrap_or_default()))
                }
                _ => {
                    return Err(UsageError(format!(
                        "stage {name} reads the output of {up}, which is not done; run with --stages {up},{name}"
                    ))
                    .into())
                }
            }
        }
        let fingerprint = compose_fingerprint(&own, &ups);
        let previous = store.stage(name)?;
        let forced = force.iter().any(|f| f == name);
        if let Some(prev) = &previous {
            let aged = if prev.status == StageStatus::Done && prev.fingerprint == fingerprint {
                stage.aged_units(config, store)?
            } else {
                0
            };
            if aged > 0 && !forced {
                tracing::info!(
                    stage = name,
                    units = aged,
                    "units older than the config allows; refreshing them"
                );
            }
            if prev.status == StageStatus::Done
                && prev.fingerprint == fingerprint
                && !forced
                && aged == 0
            {
                tracing::info!(stage = name, "up to date, skipped");
                report.stages.push(StageReport {
                    stage: name.into(),
                    result: "skipped".into(),
                    units_total: prev.units_total,
                    units_done: prev.units_done,
                    units_failed: prev.units_failed,
                    units_skipped: prev.units_done + prev.units_failed,
                    seconds: 0.0,
                    counters: prev.counters.clone(),
                    error: None,
                });
                continue;
            }
            let partial = if prev.fingerprint != fingerprint && !forced {
                partial_redo(*stage, config, store, &own, &ups, &prev.fingerprint)?
            } else {
                None
            };
            if let Some((units, key_column)) = partial {
                // Only stages it reads were refreshed: the units built on what they redid are
                // taken back (their rows leave its tables) and done again; the rest is kept.
                tracing::info!(
                    stage = name,
                    units = units.len(),
                    "inputs refreshed in part; redoing the units that depend on them"
                );
                let ctx = stage_context();
                let counters = BTreeMap::from([("units_refreshed".to_owned(), units.len() as u64)]);
                crate::engine::take_back(&ctx, &units, key_column, &counters, |_, _, _| Ok(()))?;
                ctx.progress.finish();
            } else if prev.fingerprint != fingerprint || forced {
                let why = if forced {
                    "forced"
                } else {
                    "inputs or config changed"
                };
                tracing::info!(stage = name, why, "starting over");
                // The old output is kept aside for the stage to reuse (the crawl stage sends
                // conditional requests from it); it is deleted when the stage completes.
                let previous = previous_dir(config, name);
                let _ = std::fs::remove_dir_all(&previous);
                for p in store.reset_stage(name)? {
                    let from = config.output_dir().join(&p.file);
                    let to = previous.join(&p.file);
                    if let Some(d) = to.parent() {
                        let _ = std::fs::create_dir_all(d);
                    }
                    if std::fs::rename(&from, &to).is_err() {
                        let _ = std::fs::remove_file(&from);
                    }
                }
            } else {
                tracing::info!(
                    stage = name,
                    done = prev.units_done,
                    failed = prev.units_failed,
                    "resuming"
                );
            }
        }
        store.start_stage(name, &fingerprint, &run_id)?;
        let registered: Vec<String> = store.parts(name)?.into_iter().map(|p| p.file).collect();
        for def in stage.tables() {
            for removed in table::remove_unregistered(config.output_dir(), def, &registered) {
                tracing::info!(stage = name, file = %removed.display(), "removed an incomplete part");
            }
        }
        let units_before = store
            .stage(name)?
            .map_or(0, |r| r.units_done + r.units_failed);
        let started = Instant::now();
        let ctx = stage_context();
        let outcome = stage.run(&ctx);
        ctx.progress.finish();
        let seconds = started.elapsed().as_secs_f64();
        let after = store.stage(name)?;
        let counters = after
            .as_ref()
            .map(|r| r.counters.clone())
            .unwrap_or_default();
        let units_total = after.as_ref().and_then(|r| r.units_total);
        let units_done = after.as_ref().map_or(0, |r| r.units_done);
        let units_in_store = after.as_ref().map_or(0, |r| r.units_failed);
        match outcome {
            Ok(StageOutcome::Completed { units_failed }) => {
                // The store is the record (`status` shows it); a stage may count only its own.
                let units_failed = units_failed.max(units_in_store);
                let out_fp = short_hash(format!("{fingerprint}\n{run_id}").as_bytes());
                store.finish_stage(name, StageStatus::Done, Some(&out_fp), None)?;
                let _ = std::fs::remove_dir_all(previous_dir(config, name));
                let result = if units_failed > 0 {
                    "done_with_failures"
                } else {
                    "done"
                };
                tracing::info!(stage = name, seconds, units_failed, "{result}");
                report.stages.push(StageReport {
                    stage: name.into(),
                    result: result.into(),
                    units_total,
                    units_done,
                    units_failed,
                    units_skipped: units_before,
                    seconds,
                    counters,
                    error: None,
                });
            }
            Ok(StageOutcome::Interrupted) => {
                store.finish_stage(
                    name,
                    StageStatus::Interrupted,
                    None,
                    Some("stopped by a signal"),
                )?;
                tracing::warn!(
                    stage = name,
                    "interrupted; committed work is kept, run again to resume"
                );
                report.stages.push(StageReport {
                    stage: name.into(),
                    result: "interrupted".into(),
                    units_total,
                    units_done,
                    units_failed: units_in_store,
                    units_skipped: units_before,
                    seconds,
                    counters,
                    error: None,
                });
                return Ok(());
            }
            Err(e) => {
                // A part read back differs from what was committed: taken back, so that the
                // next run redoes its units (and everything after them).
                if let Some(table::TableError::Damaged { stage, file, why }) = e
                    .chain()
                    .find_map(|c| c.downcast_ref::<table::TableError>())
                {
                    forget_damaged(config, store, stage, file, why)?;
                }
                let msg = format!("{e:#}");
                store.finish_stage(name, StageStatus::Failed, None, Some(&msg))?;
                report.stages.push(StageReport {
                    stage: name.into(),
                    result: "failed".into(),
                    units_total,
                    units_done,
                    units_failed: units_in_store,
                    units_skipped: units_before,
                    seconds,
                    counters,
                    error: Some(msg.clone()),
                });
                if e.downcast_ref::<UsageError>().is_some()
                    || e.downcast_ref::<crate::input::InputError>().is_some()
                {
                    return Err(e);
                }
                tracing::error!(stage = name, error = %msg, "stage failed");
                return Ok(());
            }
        }
        if stop.is_set() {
            // Stopped between stages: the run did not do all it was asked.
            report.stopped_before = selected.get(i + 1).map(|s| s.name().to_string());
            break;
        }
    }
    Ok(())
}

/// A stage's fingerprint: its own (config section, rules, model) with the output fingerprints
/// of the stages it reads.
fn compose_fingerprint(own: &str, ups: &[(&str, String)]) -> String {
    let mut parts = vec![own.to_owned()];
    parts.extend(ups.iter().map(|(up, fp)| format!("{up}={fp}")));
    short_hash(parts.join("\n").as_bytes())
}

/// How many refreshes back a stage may be brought up to date from (each upstream).
const REFRESH_CHAIN: usize = crate::state::REFRESHES_KEPT as usize;

/// Whether a stage whose fingerprint changed can be brought up to date in part: when its
/// recorded fingerprint is what it would be with some of the stages it reads at an output they
/// have since refreshed (some of their units redone, [`StateStore::refreshes`]), and it can say
/// which of its units depend on those ([`Stage::dependent_units`]). Then those units and the
/// column that holds their key in its tables; else `None` (it starts over).
fn partial_redo(
    stage: &dyn Stage,
    config: &Config,
    store: &dyn StateStore,
    own: &str,
    ups: &[(&'static str, String)],
    recorded: &str,
) -> anyhow::Result<Option<(HashSet<String>, &'static str)>> {
    // Per upstream: its outputs, newest first, each with the units redone since.
    let mut candidates: Vec<Vec<(String, HashSet<String>)>> = Vec::new();
    for (up, current) in ups {
        let mut chain = vec![(current.clone(), HashSet::new())];
        let refreshes = store.refreshes(up)?;
        while chain.len() <= REFRESH_CHAIN {
            let (at, redone) = chain.last().expect("starts with one").clone();
            let Some(r) = refreshes.iter().find(|r| r.to == at) else {
                break;
            };
            let mut redone = redone;
            redone.extend(r.units.iter().cloned());
            chain.push((r.from.clone(), redone));
        }
        candidates.push(chain);
    }
    if candidates.iter().all(|c| c.len() == 1) {
        return Ok(None);
    }
    // Every combination of the upstreams' outputs (a few stages, a few refreshes each).
    let mut pick = vec![0usize; ups.len()];
    let found = loop {
        let at: Vec<(&str, String)> = ups
            .iter()
            .zip(&pick)
            .zip(&candidates)
            .map(|(((up, _), &i), c)| (*up, c[i].0.clone()))
            .collect();
        if pick.iter().any(|&i| i > 0) && compose_fingerprint(own, &at) == recorded {
            break Some(pick.clone());
        }
        let mut k = 0;
        while k < pick.len() {
            pick[k] += 1;
            if pick[k] < candidates[k].len() {
                break;
            }
            pick[k] = 0;
            k += 1;
        }
        if k == pick.len() {
            break None;
        }
    };
    let Some(pick) = found else {
        return Ok(None);
    };
    let mut units = HashSet::new();
    let mut column = None;
    for (((up, _), &i), c) in ups.iter().zip(&pick).zip(&candidates) {
        if i == 0 {
            continue;
        }
        match stage.dependent_units(config, store, up, &c[i].1)? {
            Some((mine, key)) if column.is_none_or(|k| k == key) => {
                units.extend(mine);
                column = Some(key);
            }
            _ => return Ok(None),
        }
    }
    Ok(column.map(|k| (units, k)))
}

/// How long a worker without `--follow` waits for a `leadcrawl run` to start the stage.
const START_WAIT: std::time::Duration = std::time::Duration::from_secs(60);

/// `leadcrawl worker`: helps with a leased stage that a `leadcrawl run` started (on the shared
/// PostgreSQL store): claims its units until none is left, then returns (with `follow`, waits
/// for the next run's units instead). Never starts, resets or finishes a stage.
pub fn work(
    config: &Config,
    store: &dyn StateStore,
    stage: &'static dyn Stage,
    stop: &StopFlag,
    progress: ProgressMode,
    follow: bool,
) -> anyhow::Result<u64> {
    let name = stage.name();
    let _span = tracing::info_span!("stage", stage = name).entered();
    let mut rounds = 0u64;
    let started = Instant::now();
    // The run this worker came to help: the one running now, or the next one to start. Told
    // apart by run id, not by comparing clocks of different machines.
    let first = store.stage(name)?;
    let first_running = first
        .as_ref()
        .is_some_and(|r| r.status == StageStatus::Running);
    let first_run_id = first.map(|r| r.run_id);
    loop {
        let rec = store.stage(name)?;
        match rec {
            Some(r) if r.status == StageStatus::Running => {
                let ctx = StageContext {
                    stage: name,
                    tables: stage.tables(),
                    reads: stage.reads(),
                    role: stages::Role::Worker { follow },
                    config,
                    store,
                    prov: Provenance {
                        run_id: r.run_id.clone(),
                        config_hash: config.hash(),
                    },
                    stop,
                    progress: progress.bar(name),
                };
                let outcome = stage.run(&ctx);
                ctx.progress.finish();
                outcome?;
                rounds += 1;
            }
            // The run this worker came to help finished without it (it was quick).
            Some(r)
                if !follow
                    && r.status == StageStatus::Done
                    && (first_running || first_run_id.as_deref() != Some(r.run_id.as_str())) =>
            {
                tracing::info!(stage = name, "the {name} stage is done: nothing to do");
                return Ok(rounds);
            }
            // A worker started just before the run: give the run a moment to start the stage.
            _ if !follow && (rounds > 0 || started.elapsed() > START_WAIT) => {
                tracing::info!(stage = name, "no {name} stage is running: nothing to do");
                return Ok(rounds);
            }
            _ => {}
        }
        if (!follow && rounds > 0) || stop.is_set() {
            return Ok(rounds);
        }
        for _ in 0..20 {
            if stop.is_set() {
                return Ok(rounds);
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
    }
}
