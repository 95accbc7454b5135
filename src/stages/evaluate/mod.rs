//! Evaluate: honest won/lost baselines on the labelled leads → `evaluation.json`, `report.html`.
//!
//! Stratified k-fold cross-validation (`evaluate.folds`, seeded): every model is fitted on the
//! training folds only — centroids, scalers, one-hot vocabularies and TF-IDF vocabularies
//! included — and scores the held-out fold, so every metric is computed on out-of-fold scores.
//! The models and the cross-validation live in `learn` ([`learn::MODELS`],
//! [`learn::cross_validate`]); this stage reads the tables into plain columns
//! ([`inputs`]), calls it, and writes the results ([`evaluation`]) and the page ([`report`]).
//! The same cross-validation with shuffled labels is the control: what chance looks like on
//! this data. The per-lead folds are written out so that anyone can recompute the numbers
//! from `features.parquet` alone.

pub mod evaluation;
pub mod inputs;
pub mod report;

use anyhow::Context;
use learn::{CrossValidation, Folds, ModelOutcome, Params};

use super::{FileDef, Read, Stage, StageContext, StageOutcome};
use crate::config::{Config, EvaluateSection};
use crate::schema::{TableDef, FEATURES, LEADS, PAGE_TEXT};
use crate::state::UnitOutcome;
use crate::table;
use evaluation::{AttributeCheck, ControlResult, Evaluation, ModelResult};
use report::{ControlRow, ModelReport, ReportData};

pub struct EvaluateStage;

/// `evaluation.json`: every metric, out-of-fold score and fold, read by `score`.
pub const EVALUATION: FileDef = FileDef {
    name: "evaluation.json",
    stage: "evaluate",
};

/// The fitting parameters of the `[evaluate]` section.
pub fn params(cfg: &EvaluateSection) -> Params {
    Params {
        c: cfg.c,
        tol: cfg.tol,
        min_df: cfg.min_df,
        seed: cfg.seed,
    }
}

impl Stage for EvaluateStage {
    fn name(&self) -> &'static str {
        "evaluate"
    }

    fn about(&self) -> &'static str {
        "cross-validated won/lost baselines into `evaluation.json` and `report.html`"
    }

    fn reads(&self) -> &'static [Read] {
        &[
            Read::Table(&FEATURES),
            Read::Table(&LEADS),
            Read::Table(&PAGE_TEXT),
        ]
    }

    fn tables(&self) -> &'static [&'static TableDef] {
        &[]
    }

    fn fingerprint(&self, config: &Config) -> anyhow::Result<String> {
        Ok(format!(
            "evaluate={};rules=leadcrawl-evaluate/1",
            config.fingerprint("evaluate")
        ))
    }

    fn run(&self, ctx: &StageContext<'_>) -> anyhow::Result<StageOutcome> {
        let cfg = &ctx.config.evaluate;
        let mut leads = inputs::load(ctx, cfg.max_text_chars, false, true, &[])?;
        // The leakage guard, before any model sees the attributes.
        let checks = match Folds::new(&leads.data.labels, cfg.folds, cfg.seed) {
            Ok(f) => leakage_guard(&leads, &f.folds, cfg)?,
            Err(_) => Vec::new(),
        };
        let left_out: Vec<&str> = checks
            .iter()
            .filter(|c| !c.used)
            .map(|c| c.column.as_str())
            .collect();
        let a = &mut leads.data.attributes;
        a.numeric.retain(|c| !left_out.contains(&c.name.as_str()));
        a.categorical
            .retain(|c| !left_out.contains(&c.name.as_str()));
        let d = &leads.data;
        let n = d.len();
        let won = d.labels.iter().filter(|&&l| l).count();
        let mut notes: Vec<String> = checks
            .iter()
            .filter_map(|c| c.reason.as_ref().map(|r| format!("{}: {r}", c.source)))
            .collect();
        for note in &notes {
            tracing::warn!("leakage guard: {note}");
        }
        let k = cfg.folds;
        ctx.progress.set_total(learn::MODELS.len() as u64 * 2);
        // Too few labelled leads of a class for k folds: nothing can be evaluated honestly; the
        // stage says so (in the files and the log) instead of failing the pipeline.
        let cv = match Folds::new(&d.labels, k, cfg.seed) {
            Ok(folds) => {
                let mut last = std::time::Instant::now();
                let cv = learn::cross_validate(
                    d,
                    &folds,
                    params(cfg),
                    |step| {
                        // What each model costs, for whoever tunes a large run (`-v`).
                        tracing::debug!(
                            seconds = last.elapsed().as_secs_f64(),
                            "evaluate: {step} cross-validated"
                        );
                        last = std::time::Instant::now();
                        ctx.progress.inc(1, step)
                    },
                    &|| ctx.should_stop(),
                );
                tracing::debug!(
                    seconds = last.elapsed().as_secs_f64(),
                    "evaluate: nested model choice"
                );
                match cv {
                    Err(e) if e.is_cancelled() => return Ok(StageOutcome::Interrupted),
                    cv => Some((folds.folds, cv?)),
                }
            }
            Err(e) => {
                let msg = format!(
                    "{n} labelled leads ({won} won, {} lost): {e}; nothing evaluated (label more leads or lower evaluate.folds)",
                    n - won
                );
                tracing::warn!("{msg}");
                notes.push(msg);
                None
            }
        };
        let (folds, cv) = cv.unwrap_or_else(|| {
            (
                Vec::new(),
                CrossValidation {
                    models: Vec::new(),
                    notes: Vec::new(),
                    nested: None,
                },
            )
        });
        notes.extend(cv.notes.iter().cloned());
        for m in &cv.models {
            tracing::info!(
                model = m.spec.name,
                roc_auc = m.metrics.roc_auc.unwrap_or(f64::NAN),
                accuracy = m.metrics.accuracy,
                control_roc_auc = m.control.roc_auc.unwrap_or(f64::NAN),
                "evaluated"
            );
        }
        let best = cv.best().map(|m| m.spec.name.to_owned());
        if n < 50 {
            notes.push(format!(
                "only {n} labelled leads: every metric has a wide margin of error"
            ));
        }
        let coverage = inputs::coverage(&leads.features)?;
        let model_id = inputs::model_id(&leads.features);
        let reports = cv
            .models
            .iter()
            .map(|m| model_report(m, &d.labels))
            .collect::<anyhow::Result<Vec<_>>>()?;
        let nested = cv.nested.clone();
        let slices = match cv.best() {
            Some(b) => slices(&leads, &b.scores, &b.probabilities, cfg)?,
            None => Vec::new(),
        };
        let time_split = match time_split(&leads, &cv, cfg, &|| ctx.should_stop()) {
            Err(e)
                if e.downcast_ref::<learn::LearnError>()
                    .is_some_and(|e| e.is_cancelled()) =>
            {
                return Ok(StageOutcome::Interrupted)
            }
            t => t?,
        };
        if let Some(n) = &nested {
            tracing::info!(
                roc_auc = n.roc_auc.unwrap_or(f64::NAN),
                brier = n.pooled_brier,
                ece = n.pooled_ece,
                "the chosen model's expected figures on new leads (nested cross-validation)"
            );
        }
        let eval = Evaluation {
            schema_version: evaluation::SCHEMA_VERSION,
            run_id: ctx.prov.run_id.clone(),
            config_hash: ctx.prov.config_hash.clone(),
            model_id: model_id.clone(),
            k,
            seed: cfg.seed,
            labelled: n,
            won,
            lost: n - won,
            coverage: coverage.clone(),
            control: cv
                .models
                .iter()
                .map(|m| ControlResult {
                    name: m.spec.name.to_owned(),
                    metrics: m.control.clone(),
                })
                .collect(),
            models: cv
                .models
                .into_iter()
                .map(|m| ModelResult {
                    name: m.spec.name.to_owned(),
                    description: m.spec.description.to_owned(),
                    captured: captured(&m.scores, &d.labels),
                    metrics: m.metrics,
                    per_fold: m.per_fold,
                    scores: leads.lead_ids.iter().cloned().zip(m.scores).collect(),
                    probabilities: leads
                        .lead_ids
                        .iter()
                        .cloned()
                        .zip(m.probabilities)
                        .collect(),
                    calibration: Some(m.calibration),
                    roc_auc_interval: m.roc_auc_interval,
                })
                .collect(),
            best: best.clone(),
            folds: leads.lead_ids.iter().cloned().zip(folds).collect(),
            notes: notes.clone(),
            attributes: checks,
            nested: nested.clone(),
            slices: slices.clone(),
            time_split: time_split.clone(),
        };
        let report = ReportData {
            title: "leadcrawl evaluation".into(),
            generated_at: chrono::Utc::now().to_rfc3339(),
            run_id: ctx.prov.run_id.clone(),
            config_hash: ctx.prov.config_hash.clone(),
            model_id,
            folds: k,
            seed: cfg.seed,
            coverage,
            models: reports,
            best,
            control: eval
                .control
                .iter()
                .map(|c| ControlRow {
                    model: c.name.clone(),
                    roc_auc: c.metrics.roc_auc,
                    accuracy: c.metrics.accuracy,
                })
                .collect(),
            notes,
            nested,
            slices,
            time_split,
            prospects: crate::stages::prospects::registered_summary(ctx),
        };
        let pending = vec![
            table::write_pending_bytes(
                ctx.output_dir(),
                EVALUATION.name,
                &eval.to_json()?,
                &ctx.prov,
            )?,
            table::write_pending_bytes(
                ctx.output_dir(),
                "report.html",
                report::render(&report).as_bytes(),
                &ctx.prov,
            )?,
        ];
        let counters = [
            ("labelled".to_owned(), n as u64),
            ("won".to_owned(), won as u64),
            ("models".to_owned(), eval.models.len() as u64),
            (
                "won_centroid_moved".to_owned(),
                u64::from(
                    eval.time_split
                        .as_ref()
                        .and_then(|t| t.won_centroid.as_ref())
                        .is_some_and(|c| c.moved),
                ),
            ),
        ]
        .into_iter()
        .collect();
        ctx.store.commit(
            ctx.stage,
            &pending,
            &[UnitOutcome::done("evaluate")],
            &counters,
        )?;
        Ok(StageOutcome::Completed { units_failed: 0 })
    }
}

/// Each attribute's own out-of-fold ROC-AUC and outcome-like values: an attribute at or above
/// `evaluate.leakage_auc`, or with values that read like outcomes, is left out of every model
/// unless `evaluate.keep_columns` names it; identifiers and free text are never modelled.
fn leakage_guard(
    leads: &inputs::Leads,
    folds: &[usize],
    cfg: &EvaluateSection,
) -> anyhow::Result<Vec<AttributeCheck>> {
    let d = &leads.data;
    let a = &d.attributes;
    let levels = a
        .numeric
        .iter()
        .map(|c| {
            (
                c.name.as_str(),
                learn::leakage::levels_of_numbers(&c.values),
            )
        })
        .chain(
            a.categorical
                .iter()
                .map(|c| (c.name.as_str(), c.values.clone())),
        );
    let source = |column: &str| {
        leads
            .attribute_sources
            .iter()
            .find(|(c, _)| c == column)
            .map_or_else(|| column.to_owned(), |(_, s)| s.clone())
    };
    let kept = |column: &str, source: &str| {
        cfg.keep_columns
            .iter()
            .any(|k| k == column || k.trim().eq_ignore_ascii_case(source.trim()))
    };
    let mut checks = Vec::new();
    for (column, values) in levels {
        let auc = learn::leakage::single_column_auc(&values, &d.labels, folds, cfg.folds)?;
        let outcome_values = learn::leakage::outcome_words(&values, 5);
        let source = source(column);
        let mut why = Vec::new();
        if let Some(x) = auc.filter(|&x| x >= cfg.leakage_auc) {
            why.push(format!(
                "alone predicts the label with ROC-AUC {x:.2} (evaluate.leakage_auc = {:.2}): it probably records the outcome",
                cfg.leakage_auc
            ));
        }
        if !outcome_values.is_empty() {
            let shown: Vec<String> = outcome_values
                .iter()
                .take(3)
                .map(|v| format!("{v:?}"))
                .collect();
            why.push(format!(
                "its values read like outcomes ({}): it is probably filled in after the deal",
                shown.join(", ")
            ));
        }
        let (used, reason) = match (why.is_empty(), kept(column, &source)) {
            (true, _) => (true, None),
            (false, false) => (
                false,
                Some(format!(
                    "left out of every model: {}; set evaluate.keep_columns = [{source:?}] to use it anyway",
                    why.join("; ")
                )),
            ),
            (false, true) => (
                true,
                Some(format!(
                    "kept by evaluate.keep_columns although it {}",
                    why.join("; ")
                        .trim_start_matches("alone ")
                        .trim_start_matches("its ")
                )),
            ),
        };
        checks.push(AttributeCheck {
            column: column.to_owned(),
            source,
            auc,
            outcome_values,
            used,
            reason,
        });
    }
    for (column, why) in &leads.unmodelled {
        checks.push(AttributeCheck {
            column: column.clone(),
            source: source(column),
            auc: None,
            outcome_values: Vec::new(),
            used: false,
            reason: Some(format!("not modelled: {why}")),
        });
    }
    Ok(checks)
}

/// The best model's out-of-fold figures by NACE section, headcount band, country and each
/// column of `evaluate.slices`; values held by fewer than 10 labelled leads are merged into
/// `(other)`, and a column whose every lead is missing gives no slice.
fn slices(
    leads: &inputs::Leads,
    scores: &[f64],
    probabilities: &[f64],
    cfg: &EvaluateSection,
) -> anyhow::Result<Vec<evaluation::Slice>> {
    use arrow::array::{Array, AsArray};
    let f = &leads.features;
    let rows = feature_rows(leads)?;
    let text = |name: &str| -> anyhow::Result<Option<Vec<Option<String>>>> {
        let Some(c) = f.column_by_name(name) else {
            return Ok(None);
        };
        let c = arrow::compute::cast(c, &arrow::datatypes::DataType::Utf8)?;
        let c = c.as_string::<i32>();
        Ok(Some(
            rows.iter()
                .map(|&r| (!c.is_null(r)).then(|| c.value(r).to_owned()))
                .collect(),
        ))
    };
    let mut columns: Vec<(String, Vec<Option<String>>)> = Vec::new();
    for name in ["nace_section", "country"] {
        if let Some(v) = text(name)? {
            columns.push((name.to_owned(), v));
        }
    }
    if let Some(min) = text("headcount_min")? {
        let band = |v: &Option<String>| {
            let n: f64 = v.as_deref()?.parse().ok()?;
            Some(
                match n as u64 {
                    0..=9 => "0-9",
                    10..=49 => "10-49",
                    50..=249 => "50-249",
                    250..=999 => "250-999",
                    _ => "1000+",
                }
                .to_owned(),
            )
        };
        columns.push(("headcount_band".to_owned(), min.iter().map(band).collect()));
    }
    for want in &cfg.slices {
        let found = leads
            .attribute_sources
            .iter()
            .find(|(c, s)| c == want || s.trim().eq_ignore_ascii_case(want.trim()));
        match found {
            Some((column, _)) => {
                if let Some(v) = text(column)? {
                    columns.push((column.clone(), v));
                }
            }
            None => tracing::warn!(
                "evaluate.slices: {want:?} is not an attribute of the lead list; no slice"
            ),
        }
    }
    let labels = &leads.data.labels;
    let mut out = Vec::new();
    for (by, values) in columns {
        if values.iter().all(Option::is_none) {
            continue;
        }
        let mut counts: std::collections::BTreeMap<String, usize> = Default::default();
        for v in &values {
            *counts
                .entry(v.clone().unwrap_or_else(|| "(missing)".into()))
                .or_default() += 1;
        }
        let key = |v: &Option<String>| {
            let k = v.clone().unwrap_or_else(|| "(missing)".into());
            if counts[&k] >= 10 {
                k
            } else {
                "(other)".to_owned()
            }
        };
        let mut groups: std::collections::BTreeMap<String, Vec<usize>> = Default::default();
        for (i, v) in values.iter().enumerate() {
            groups.entry(key(v)).or_default().push(i);
        }
        for (value, members) in groups {
            let s: Vec<f64> = members.iter().map(|&i| scores[i]).collect();
            let l: Vec<bool> = members.iter().map(|&i| labels[i]).collect();
            let won = l.iter().filter(|&&x| x).count();
            let n = members.len();
            out.push(evaluation::Slice {
                by: by.clone(),
                value,
                leads: n,
                won,
                roc_auc: learn::roc_auc(&s, &l)?,
                mean_probability: members.iter().map(|&i| probabilities[i]).sum::<f64>() / n as f64,
                won_share: won as f64 / n as f64,
            });
        }
    }
    Ok(out)
}

/// The `features` row of each lead of `leads` (in `leads.lead_ids` order).
fn feature_rows(leads: &inputs::Leads) -> anyhow::Result<Vec<usize>> {
    use arrow::array::AsArray;
    let ids = leads
        .features
        .column_by_name("lead_id")
        .context("features.lead_id")?
        .as_string::<i32>();
    let row_of: std::collections::HashMap<&str, usize> = ids
        .iter()
        .enumerate()
        .filter_map(|(i, v)| Some((v?, i)))
        .collect();
    leads
        .lead_ids
        .iter()
        .map(|id| {
            row_of
                .get(id.as_str())
                .copied()
                .with_context(|| format!("lead {id} not in features"))
        })
        .collect()
}

/// Every cross-validated model trained on the older dated leads and tested on the newest, when
/// the features carry a `lead_date` (a date column mapped at ingest); `None` without one.
fn time_split(
    leads: &inputs::Leads,
    cv: &CrossValidation,
    cfg: &EvaluateSection,
    cancelled: &(dyn Fn() -> bool + Sync),
) -> anyhow::Result<Option<evaluation::TimeSplit>> {
    use arrow::array::{Array, AsArray};
    let f = &leads.features;
    let Some(dates) = f.column_by_name("lead_date") else {
        return Ok(None);
    };
    let Some(dates) = dates.as_primitive_opt::<arrow::datatypes::Date32Type>() else {
        return Ok(None);
    };
    if dates.null_count() == dates.len() || cv.models.is_empty() {
        return Ok(None);
    }
    let per_lead: Vec<Option<i32>> = feature_rows(leads)?
        .into_iter()
        .map(|r| (!dates.is_null(r)).then(|| dates.value(r)))
        .collect();
    let specs: Vec<&'static learn::ModelSpec> = cv.models.iter().map(|m| m.spec).collect();
    let t = learn::time::time_split(
        &leads.data,
        &per_lead,
        cfg.time_test_share,
        &specs,
        params(cfg),
        cancelled,
    )?;
    let iso = iso_date;
    let dated = t.train_leads + t.test_leads > 0;
    let out = evaluation::TimeSplit {
        column: "lead_date".into(),
        first_date: iso(t.first_date),
        cut_date: if dated { iso(t.cut_date) } else { None },
        last_date: iso(t.last_date),
        train_leads: t.train_leads,
        train_won: t.train_won,
        test_leads: t.test_leads,
        test_won: t.test_won,
        undated: t.undated,
        models: t
            .models
            .iter()
            .zip(&cv.models)
            .map(|(m, o)| evaluation::TimeModel {
                model: m.model.clone(),
                roc_auc: m.roc_auc,
                captured_at_20: m.captured_at_20,
                cv_roc_auc: o.metrics.roc_auc,
            })
            .collect(),
        note: t.note.clone(),
        won_centroid: Some(won_centroid(leads, &per_lead, cfg.seed)?),
    };
    match &out.note {
        Some(note) => tracing::warn!("time split: {note}"),
        None => tracing::info!(
            cut = out.cut_date.as_deref().unwrap_or("-"),
            trained_on = out.train_leads,
            tested_on = out.test_leads,
            "time split: trained on the older leads, tested on the newest"
        ),
    }
    Ok(Some(out))
}

/// The won centroid across time windows of the dated won leads (see [`learn::drift`]).
fn won_centroid(
    leads: &inputs::Leads,
    dates: &[Option<i32>],
    seed: u64,
) -> anyhow::Result<evaluation::WonCentroid> {
    let labelled: Vec<usize> = (0..leads.known.len()).filter(|&i| leads.known[i]).collect();
    let drift = learn::drift::won_centroid_drift(&leads.data, &labelled, dates, seed)?;
    let out = evaluation::WonCentroid {
        space: drift.space.into(),
        dated_won: drift.dated_won,
        windows: drift
            .windows
            .iter()
            .map(|w| evaluation::CentroidWindow {
                first_date: iso_date(w.first_date),
                last_date: iso_date(w.last_date),
                won: w.won,
                cosine_to_previous: w.cosine_to_previous,
                chance_floor_previous: w.chance_floor_previous,
                cosine_to_first: w.cosine_to_first,
                chance_floor_first: w.chance_floor_first,
                moved: w.moved(),
            })
            .collect(),
        moved: drift.moved(),
        note: drift.note,
    };
    if out.moved {
        tracing::warn!(
            space = %out.space,
            "drift: the won centroid moved more than chance explains: are the wins changing?"
        );
    }
    Ok(out)
}

/// Days since 1970-01-01 as `YYYY-MM-DD`.
fn iso_date(days: i32) -> Option<String> {
    chrono::NaiveDate::from_ymd_opt(1970, 1, 1)
        .and_then(|e| e.checked_add_signed(chrono::Duration::days(days.into())))
        .map(|d| d.to_string())
}

/// Share of won leads in the top 10, 20, 35 and 50 % by score.
fn captured(scores: &[f64], labels: &[bool]) -> Vec<(f64, f64)> {
    [10, 20, 35, 50]
        .iter()
        .filter_map(|&p| {
            learn::captured_at(scores, labels, p)
                .ok()
                .flatten()
                .map(|c| (f64::from(p) / 100.0, c))
        })
        .collect()
}

/// What the report shows of one model: its metrics, curves and score distributions.
fn model_report(m: &ModelOutcome, labels: &[bool]) -> anyhow::Result<ModelReport> {
    let scores_of = |class: bool| -> Vec<f64> {
        m.scores
            .iter()
            .zip(labels)
            .filter(|(_, &l)| l == class)
            .map(|(&s, _)| s)
            .collect()
    };
    let x = &m.metrics;
    Ok(ModelReport {
        name: m.spec.name.to_owned(),
        description: m.spec.description.to_owned(),
        accuracy: x.accuracy,
        precision: x.precision,
        recall: x.recall,
        f1: x.f1,
        roc_auc: x.roc_auc,
        pr_auc: x.pr_auc,
        confusion: x.confusion,
        lift_10: x.lift_10.unwrap_or(f64::NAN),
        lift_20: x.lift_20.unwrap_or(f64::NAN),
        lift_35: x.lift_35.unwrap_or(f64::NAN),
        captured_35: x.captured_35.unwrap_or(f64::NAN),
        roc: learn::roc_curve(&m.scores, labels)
            .with_context(|| format!("ROC curve of {}", m.spec.name))?,
        gains: learn::gains_curve(&m.scores, labels)
            .with_context(|| format!("gains curve of {}", m.spec.name))?,
        won_scores: scores_of(true),
        lost_scores: scores_of(false),
        roc_auc_interval: m.roc_auc_interval,
        calibration: Some(m.calibration.clone()),
        captured: captured(&m.scores, labels),
    })
}
