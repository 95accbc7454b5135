//! `run_results.json`: the machine-readable record of one `leadcrawl run`, for schedulers (as
//! dbt's file of the same name): how the run ended and why, and per stage what it did and wrote.
//!
//! It is written in `output_dir` at the end of every run that got as far as taking the output
//! folder's lock, however it ends (done, failed units, a failed stage, an input error, a signal),
//! through a temporary file renamed into place, so that a reader never sees half a file. The exit
//! code is decided here too ([`verdict`]), so that the file and the process always agree.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::Context;
use serde::Serialize;

use crate::config::Config;
use crate::exit;
use crate::runner::{RunReport, StageReport};
use crate::state::{PartRecord, StateStore};

/// File name in `output_dir`.
pub const FILE_NAME: &str = "run_results.json";

/// Version of the file's layout; raised when a field changes meaning or goes away.
pub const SCHEMA_VERSION: u32 = 1;

/// Failures listed per stage at most (all of them are in the state store and `leadcrawl status`).
const FAILURES_LISTED: usize = 20;

/// The whole file.
#[derive(Debug, Clone, Serialize)]
pub struct RunResults {
    pub schema_version: u32,
    pub run_id: String,
    pub leadcrawl_version: String,
    /// Hash of the whole resolved config (as in every Parquet file's metadata).
    pub config_hash: String,
    pub config_path: PathBuf,
    /// UTC, RFC 3339.
    pub started_at: String,
    pub finished_at: String,
    pub seconds: f64,
    pub exit_code: u8,
    /// One of `success`, `units_failed`, `stage_failed`, `usage`, `interrupted`.
    pub outcome: String,
    /// Why the run exited with `exit_code`, in one sentence.
    pub why: String,
    pub max_failed_share: f64,
    /// The stages that ran or were found up to date, in pipeline order.
    pub stages: Vec<StageResult>,
}

/// What one stage did in the run.
#[derive(Debug, Clone, Serialize)]
pub struct StageResult {
    pub stage: String,
    /// `skipped` (up to date), `done`, `done_with_failures`, `interrupted`, `failed`.
    pub status: String,
    pub units_total: Option<u64>,
    pub units_done: u64,
    pub units_failed: u64,
    /// Units finished before this run (a resumed stage's, or all of an up-to-date stage's).
    pub units_skipped: u64,
    /// `units_failed` over the stage's units (0 without units).
    pub failed_share: f64,
    pub seconds: f64,
    pub counters: BTreeMap<String, u64>,
    pub error: Option<String>,
    /// Up to 20 failed units with their reasons.
    pub failures: Vec<Failure>,
    /// The stage's registered output files, relative to `output_dir`, with their rows.
    pub outputs: Vec<PartRecord>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Failure {
    pub unit: String,
    pub reason: String,
}

/// The share of a stage's units that failed.
pub fn failed_share(s: &StageReport) -> f64 {
    let total = s
        .units_total
        .unwrap_or(0)
        .max(s.units_done + s.units_failed);
    if total == 0 {
        0.0
    } else {
        s.units_failed as f64 / total as f64
    }
}

/// The exit code of a run that returned a report, and why, in one sentence.
pub fn verdict(report: &RunReport) -> (u8, String) {
    if let Some(s) = report.stages.iter().find(|s| s.result == "interrupted") {
        return (
            exit::INTERRUPTED,
            format!(
                "interrupted by a signal during the {} stage; committed work is kept, run again to resume",
                s.stage
            ),
        );
    }
    if let Some(next) = &report.stopped_before {
        return (
            exit::INTERRUPTED,
            format!(
                "interrupted by a signal before the {next} stage; committed work is kept, run again to resume"
            ),
        );
    }
    if let Some(s) = report.stages.iter().find(|s| s.result == "failed") {
        return (
            exit::STAGE_FAILED,
            format!(
                "the {} stage failed: {}",
                s.stage,
                s.error.as_deref().unwrap_or("no error recorded")
            ),
        );
    }
    let limit = report.max_failed_share;
    let describe = |s: &StageReport| {
        format!(
            "{} {} of {} units failed ({:.1}%)",
            s.stage,
            s.units_failed,
            s.units_total.unwrap_or(s.units_done + s.units_failed),
            100.0 * failed_share(s)
        )
    };
    let over: Vec<String> = report
        .stages
        .iter()
        .filter(|s| s.units_failed > 0 && failed_share(s) > limit)
        .map(describe)
        .collect();
    if !over.is_empty() {
        return (
            exit::UNITS_FAILED,
            format!(
                "too many failed units: {}; above pipeline.max_failed_share = {limit}",
                over.join(", ")
            ),
        );
    }
    let within: Vec<String> = report
        .stages
        .iter()
        .filter(|s| s.units_failed > 0)
        .map(describe)
        .collect();
    let why = if within.is_empty() {
        "every stage finished without a failed unit".to_string()
    } else {
        format!(
            "every stage finished; failed units within pipeline.max_failed_share = {limit}: {}",
            within.join(", ")
        )
    };
    (exit::SUCCESS, why)
}

/// The outcome's name for an exit code.
fn outcome(code: u8) -> &'static str {
    match code {
        exit::SUCCESS => "success",
        exit::UNITS_FAILED => "units_failed",
        exit::USAGE => "usage",
        exit::INTERRUPTED => "interrupted",
        _ => "stage_failed",
    }
}

/// The results of a run; `error` is what ended it early, if anything did (its exit code and
/// message then take the verdict's place).
pub fn collect(
    config: &Config,
    store: &dyn StateStore,
    report: &RunReport,
    error: Option<&anyhow::Error>,
) -> RunResults {
    let (exit_code, why) = match error {
        Some(e) => (exit::code_for(e), format!("{e:#}")),
        None => verdict(report),
    };
    let finished = report.finished_at.unwrap_or_else(chrono::Utc::now);
    let stages = report
        .stages
        .iter()
        .map(|s| StageResult {
            stage: s.stage.clone(),
            status: s.result.clone(),
            units_total: s.units_total,
            units_done: s.units_done,
            units_failed: s.units_failed,
            units_skipped: s.units_skipped,
            failed_share: failed_share(s),
            seconds: s.seconds,
            counters: s.counters.clone(),
            error: s.error.clone(),
            // The results are written even when the store is in trouble: a part list that
            // cannot be read is left empty (the run's error says why).
            failures: store
                .failures(&s.stage, FAILURES_LISTED)
                .unwrap_or_default()
                .into_iter()
                .map(|(unit, reason)| Failure { unit, reason })
                .collect(),
            outputs: store.parts(&s.stage).unwrap_or_default(),
        })
        .collect();
    RunResults {
        schema_version: SCHEMA_VERSION,
        run_id: report.run_id.clone(),
        leadcrawl_version: env!("CARGO_PKG_VERSION").into(),
        config_hash: config.hash(),
        config_path: config.path.clone(),
        started_at: report
            .started_at
            .to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        finished_at: finished.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        seconds: (finished - report.started_at).num_milliseconds() as f64 / 1000.0,
        exit_code,
        outcome: outcome(exit_code).into(),
        why,
        max_failed_share: report.max_failed_share,
        stages,
    }
}

/// Writes `results` to `output_dir/run_results.json` through a temporary file and a rename.
pub fn write(output_dir: &Path, results: &RunResults) -> anyhow::Result<PathBuf> {
    let path = output_dir.join(FILE_NAME);
    let tmp = output_dir.join(format!(".{FILE_NAME}.{}.tmp", std::process::id()));
    let mut text = serde_json::to_string_pretty(results)?;
    text.push('\n');
    std::fs::write(&tmp, text).with_context(|| format!("writing {}", tmp.display()))?;
    std::fs::rename(&tmp, &path).with_context(|| format!("writing {}", path.display()))?;
    Ok(path)
}

/// Documentation of the file, for `leadcrawl schema --markdown` (docs/schema.md).
pub fn markdown() -> String {
    let fields: &[(&str, &str, &str)] = &[
        ("schema_version", "integer", "Layout version of this file (1)."),
        ("run_id", "string", "The run's id, as in the Parquet files' `leadcrawl.run_id`."),
        ("leadcrawl_version", "string", "Version of the leadcrawl binary."),
        ("config_hash", "string", "Hash of the whole resolved config (`leadcrawl.config_hash`)."),
        ("config_path", "string", "Absolute path of the config file."),
        ("started_at", "string", "Start of the run, UTC, RFC 3339."),
        ("finished_at", "string", "End of the run, UTC, RFC 3339."),
        ("seconds", "number", "Wall time of the run."),
        ("exit_code", "integer", "The process's exit code: 0, 1, 2, 3 or 130 (see README)."),
        ("outcome", "string", "`success` (0), `stage_failed` (1), `usage` (2: config or input error found during the run), `units_failed` (3), `interrupted` (130)."),
        ("why", "string", "Why the run ended with that code, in one sentence: the stages whose failed units exceed `pipeline.max_failed_share`, the failed stage and its error, or the stage a signal stopped."),
        ("max_failed_share", "number", "`pipeline.max_failed_share` of the run."),
        ("stages", "list", "The stages that ran or were up to date, in pipeline order; the fields below."),
        ("stages[].stage", "string", "Stage name."),
        ("stages[].status", "string", "`skipped` (up to date), `done`, `done_with_failures`, `interrupted`, `failed`."),
        ("stages[].units_total", "integer or null", "Units of the stage (sites for the crawl, leads or parts for others); null when the stage does not count units."),
        ("stages[].units_done", "integer", "Units done, this run and earlier runs it resumed."),
        ("stages[].units_failed", "integer", "Units failed and recorded (not retried until `--force`)."),
        ("stages[].units_skipped", "integer", "Units finished before this run: those of a resumed stage, or all of an up-to-date one."),
        ("stages[].failed_share", "number", "`units_failed` over the stage's units: compared with `max_failed_share`."),
        ("stages[].seconds", "number", "Time the stage took in this run (0 when skipped)."),
        ("stages[].counters", "object", "The stage's counters (`pages_ok`, `leads_matched`, …), as in `leadcrawl status --json`."),
        ("stages[].error", "string or null", "The error of a failed stage."),
        ("stages[].failures", "list", "Up to 20 failed units: `{unit, reason}`."),
        ("stages[].outputs", "list", "The stage's registered output files: `{table, file, rows}`, `file` relative to `output_dir`."),
    ];
    let mut s = String::from(
        "## `run_results.json`\n\n\
         Written in `output_dir` at the end of every `leadcrawl run` that took the output folder's \
         lock, however the run ends (success, failed units, a failed stage, an input error, \
         Ctrl-C/SIGTERM), atomically (a temporary file renamed into place). A second signal, \
         which exits at once, a SIGKILL or a config error found before the run leave the previous \
         file in place (check its `started_at`). A scheduler reads `exit_code` and `why`; \
         `stages[]` says what each stage did and wrote.\n\n\
         | field | type | meaning |\n| --- | --- | --- |\n",
    );
    for (name, ty, doc) in fields {
        s.push_str(&format!("| `{name}` | {ty} | {doc} |\n"));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stage(name: &str, result: &str, total: Option<u64>, done: u64, failed: u64) -> StageReport {
        StageReport {
            stage: name.into(),
            result: result.into(),
            units_total: total,
            units_done: done,
            units_failed: failed,
            units_skipped: 0,
            seconds: 1.0,
            counters: BTreeMap::new(),
            error: (result == "failed").then(|| "disk full".to_string()),
        }
    }

    fn report(share: f64, stages: Vec<StageReport>) -> RunReport {
        RunReport {
            run_id: "r".into(),
            started_at: chrono::Utc::now(),
            finished_at: None,
            max_failed_share: share,
            stages,
            stopped_before: None,
        }
    }

    #[test]
    fn failed_units_within_the_share_exit_0_above_it_3() {
        let one_of_20 = || {
            vec![
                stage("ingest", "done", Some(1), 1, 0),
                stage("crawl", "done_with_failures", Some(20), 19, 1),
            ]
        };
        let (code, why) = verdict(&report(0.2, one_of_20()));
        assert_eq!(code, exit::SUCCESS, "{why}");
        assert!(why.contains("crawl 1 of 20 units failed (5.0%)"), "{why}");
        let (code, why) = verdict(&report(0.0, one_of_20()));
        assert_eq!(code, exit::UNITS_FAILED, "{why}");
        assert!(why.contains("above pipeline.max_failed_share = 0"), "{why}");
        // Exactly at the share is within it; the total may be unknown (done + failed then).
        let r = report(0.25, vec![stage("registry", "done", None, 3, 1)]);
        assert_eq!(verdict(&r).0, exit::SUCCESS);
        let r = report(0.2, vec![stage("registry", "done", None, 3, 1)]);
        assert_eq!(verdict(&r).0, exit::UNITS_FAILED);
        let r = report(0.0, vec![stage("features", "done", None, 0, 0)]);
        assert_eq!(
            verdict(&r),
            (
                exit::SUCCESS,
                "every stage finished without a failed unit".into()
            )
        );
    }

    #[test]
    fn a_failed_stage_or_a_signal_wins_over_failed_units() {
        let r = report(
            0.2,
            vec![
                stage("crawl", "done", Some(20), 10, 10),
                stage("extract", "failed", Some(4), 0, 0),
            ],
        );
        let (code, why) = verdict(&r);
        assert_eq!(code, exit::STAGE_FAILED);
        assert_eq!(why, "the extract stage failed: disk full");
        let r = report(0.2, vec![stage("crawl", "interrupted", Some(20), 3, 0)]);
        assert_eq!(verdict(&r).0, exit::INTERRUPTED);
        let mut r = report(0.2, vec![stage("crawl", "done", Some(20), 20, 0)]);
        r.stopped_before = Some("extract".into());
        let (code, why) = verdict(&r);
        assert_eq!(code, exit::INTERRUPTED);
        assert!(why.contains("before the extract stage"), "{why}");
    }
}
