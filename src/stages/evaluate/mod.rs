//! Evaluate: honest won/lost baselines on the labelled leads → `evaluation.json`, `report.html`.
//!
//! Stratified k-fold cross-validation (`evaluate.folds`, seeded): every model is fitted on the
//! training folds only — centroids, scalers, one-hot vocabularies and TF-IDF vocabularies
//! included — and scores the held-out fold, so every metric is computed on out-of-fold scores.
//! Models: the won/lost centroid cosine on the embedding (the Leadbay method); L2 logistic
//! regressions on the embedding alone, on firmographics alone, on web signals alone, on
//! TF-IDF (word 1–2-grams, sublinear tf) of the lead's text, on embedding + firmographics + web,
//! and on everything combined. The same cross-validation with shuffled labels is the control:
//! what chance looks like on this data. The per-lead folds are written out so that anyone can
//! recompute the numbers from `features.parquet` alone.

use std::collections::HashMap;

use anyhow::Context;
use arrow::array::{Array, AsArray, RecordBatch};
use arrow::compute::cast;
use arrow::datatypes::{DataType, Float32Type};
use learn::{Centroid, LearnError, Logistic, Metrics, OneHot, SparseRow, Standardizer, Tfidf};
use serde::Serialize;

pub mod report;

use super::{FileDef, Read, Stage, StageContext, StageOutcome};
use crate::config::{Config, EvaluateSection};
use report::{ControlRow, Coverage, ModelReport, ReportData};
use crate::schema::{TableDef, FEATURES, LEADS, PAGE_TEXT};
use crate::state::UnitOutcome;
use crate::table;

pub struct EvaluateStage;

/// `evaluation.json`: every metric, out-of-fold score and fold, read by `score`.
pub const EVALUATION: FileDef = FileDef {
    name: "evaluation.json",
    stage: "evaluate",
};

/// Numeric columns of `features` by source, and how they are transformed.
const FIRMO_NUMERIC: &[&str] = &[
    "headcount_min",
    "headcount_max",
    "age_years",
    "establishments",
    "revenue",
    "net_income",
    "registry_score",
];
const FIRMO_CATEGORICAL: &[&str] = &["nace_section", "legal_form", "category", "registry_match"];
const WEB_NUMERIC: &[&str] = &[
    "pages",
    "pages_about",
    "pages_product",
    "pages_pricing",
    "pages_customers",
    "pages_careers",
    "pages_blog",
    "words",
    "technology_count",
    "email_count",
    "own_domain_email_count",
    "phone_count",
    "social_profiles",
    "copyright_year_max",
    "founding_year",
    "has_website",
    "crawl_failed",
];
const WEB_CATEGORICAL: &[&str] = &["main_lang", "country"];
/// Heavy-tailed amounts: signed log1p.
const LOG_COLUMNS: &[&str] = &[
    "revenue",
    "net_income",
    "words",
    "headcount_min",
    "headcount_max",
];

/// The evaluation data of the labelled leads.
pub struct Data {
    pub lead_ids: Vec<String>,
    /// Won (`true`) or lost; `false` also for the open leads of an all-rows load (see `known`).
    pub labels: Vec<bool>,
    /// The lead has a label (always `true` when only labelled rows were loaded).
    pub known: Vec<bool>,
    pub embedding: Vec<Option<Vec<f32>>>,
    pub numeric: HashMap<&'static str, Vec<Option<f64>>>,
    pub categorical: HashMap<&'static str, Vec<Option<String>>>,
    pub text: Vec<String>,
}

/// Which inputs a logistic model uses.
#[derive(Debug, Clone, Copy)]
pub struct Inputs {
    embedding: bool,
    firmographics: bool,
    web: bool,
    text: bool,
}

/// One model's out-of-fold result.
#[derive(Debug, Clone, Serialize)]
pub struct ModelResult {
    pub name: String,
    pub description: String,
    pub metrics: Metrics,
    pub per_fold: Vec<Metrics>,
    /// Out-of-fold score per lead (`lead_id` → score).
    pub scores: std::collections::BTreeMap<String, f64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ControlResult {
    pub name: String,
    pub metrics: Metrics,
}

#[derive(Debug, Clone, Serialize)]
pub struct Evaluation {
    pub schema_version: u32,
    pub run_id: String,
    pub config_hash: String,
    pub model_id: Option<String>,
    pub k: usize,
    pub seed: u64,
    pub labelled: usize,
    pub won: usize,
    pub lost: usize,
    pub coverage: Vec<Coverage>,
    pub models: Vec<ModelResult>,
    pub control: Vec<ControlResult>,
    /// The model with the highest out-of-fold ROC-AUC: the one `score` refits.
    pub best: Option<String>,
    /// The fold of each labelled lead (`lead_id` → fold), to recompute any number.
    pub folds: std::collections::BTreeMap<String, usize>,
    pub notes: Vec<String>,
}

fn signed_log1p(x: f64) -> f64 {
    x.signum() * x.abs().ln_1p()
}

/// Reads `features` (and, `with_text`, the leads' text) into [`Data`]: the rows with a label, or
/// every row (`all_rows`, in the batch's order, for scoring the open leads).
pub fn load(
    ctx: &StageContext<'_>,
    max_text: usize,
    all_rows: bool,
    with_text: bool,
) -> anyhow::Result<(Data, RecordBatch)> {
    let batches = ctx.read(&FEATURES)?;
    let first = batches.first().context("features table is empty")?;
    let batch = arrow::compute::concat_batches(&first.schema(), &batches)?;
    let col = |n: &str| {
        batch
            .column_by_name(n)
            .with_context(|| format!("features.{n}"))
    };
    let ids = col("lead_id")?.as_string::<i32>();
    let label = cast(col("label")?, &DataType::Int32)?;
    let label = label.as_primitive::<arrow::datatypes::Int32Type>();
    let rows: Vec<usize> = (0..batch.num_rows())
        .filter(|&r| all_rows || !label.is_null(r))
        .collect();
    let lead_ids: Vec<String> = rows.iter().map(|&r| ids.value(r).to_owned()).collect();
    let labels: Vec<bool> = rows
        .iter()
        .map(|&r| !label.is_null(r) && label.value(r) == 1)
        .collect();
    let known: Vec<bool> = rows.iter().map(|&r| !label.is_null(r)).collect();
    let emb = col("embedding")?.as_fixed_size_list();
    let embedding = rows
        .iter()
        .map(|&r| {
            (!emb.is_null(r)).then(|| emb.value(r).as_primitive::<Float32Type>().values().to_vec())
        })
        .collect();
    let mut numeric = HashMap::new();
    for &name in FIRMO_NUMERIC.iter().chain(WEB_NUMERIC) {
        let c = cast(col(name)?, &DataType::Float64)?;
        let c = c.as_primitive::<arrow::datatypes::Float64Type>();
        let log = LOG_COLUMNS.contains(&name);
        numeric.insert(
            name,
            rows.iter()
                .map(|&r| {
                    (!c.is_null(r) && c.value(r).is_finite()).then(|| {
                        if log {
                            signed_log1p(c.value(r))
                        } else {
                            c.value(r)
                        }
                    })
                })
                .collect(),
        );
    }
    let mut categorical = HashMap::new();
    for &name in FIRMO_CATEGORICAL.iter().chain(WEB_CATEGORICAL) {
        let c = cast(col(name)?, &DataType::Utf8)?;
        let c = c.as_string::<i32>();
        categorical.insert(
            name,
            rows.iter()
                .map(|&r| (!c.is_null(r)).then(|| c.value(r).to_owned()))
                .collect(),
        );
    }
    let text = if with_text {
        lead_texts(ctx, &lead_ids, max_text)?
    } else {
        vec![String::new(); lead_ids.len()]
    };
    Ok((
        Data {
            lead_ids,
            labels,
            known,
            embedding,
            numeric,
            categorical,
            text,
        },
        batch,
    ))
}

/// The lead's own description and notes, then its pages' text, cut at `max` characters.
fn lead_texts(ctx: &StageContext<'_>, ids: &[String], max: usize) -> anyhow::Result<Vec<String>> {
    let pos: HashMap<&str, usize> = ids
        .iter()
        .enumerate()
        .map(|(i, s)| (s.as_str(), i))
        .collect();
    let mut out = vec![String::new(); ids.len()];
    let mut push = |i: usize, s: &str| {
        let t = &mut out[i];
        if t.len() < max {
            if !t.is_empty() {
                t.push('\n');
            }
            let room = max - t.len();
            let cut = s
                .char_indices()
                .map(|(b, _)| b)
                .take_while(|&b| b <= room)
                .last()
                .unwrap_or(0);
            t.push_str(if s.len() <= room { s } else { &s[..cut] });
        }
    };
    for b in ctx.read(&LEADS)? {
        let id = b
            .column_by_name("lead_id")
            .context("leads.lead_id")?
            .as_string::<i32>();
        for name in ["description", "notes"] {
            let c = b
                .column_by_name(name)
                .with_context(|| format!("leads.{name}"))?;
            let c = c.as_string::<i32>();
            for r in 0..b.num_rows() {
                if let (Some(&i), false) = (pos.get(id.value(r)), c.is_null(r)) {
                    push(i, c.value(r));
                }
            }
        }
    }
    for part in ctx.parts_of(&PAGE_TEXT)? {
        for b in ctx.read_part_columns(&part, &["lead_id", "text"])? {
            let id = b.column(0).as_string::<i32>();
            let text = b.column(1).as_string::<i32>();
            for r in 0..b.num_rows() {
                if let (Some(&i), false) = (pos.get(id.value(r)), text.is_null(r)) {
                    push(i, text.value(r));
                }
            }
        }
    }
    Ok(out)
}

/// Fitted transforms and a model, from training rows only.
pub struct Fitted {
    inputs: Inputs,
    numeric: Vec<&'static str>,
    scaler: Standardizer,
    onehots: Vec<(&'static str, OneHot)>,
    tfidf: Option<Tfidf>,
    dim: usize,
    pub model: Option<Logistic>,
}

impl Inputs {
    /// The model reads the leads' text (TF-IDF).
    pub fn uses_text(&self) -> bool {
        self.text
    }

    fn numeric(&self) -> Vec<&'static str> {
        let mut v = Vec::new();
        if self.firmographics {
            v.extend_from_slice(FIRMO_NUMERIC);
        }
        if self.web {
            v.extend_from_slice(WEB_NUMERIC);
        }
        v
    }
    fn categorical(&self) -> Vec<&'static str> {
        let mut v = Vec::new();
        if self.firmographics {
            v.extend_from_slice(FIRMO_CATEGORICAL);
        }
        if self.web {
            v.extend_from_slice(WEB_CATEGORICAL);
        }
        v
    }
}

fn emb_dim(d: &Data) -> usize {
    d.embedding
        .iter()
        .flatten()
        .map(Vec::len)
        .next()
        .unwrap_or(0)
}

impl Fitted {
    /// Fits on `train` rows with `labels` (the real labels, or the control's shuffled ones).
    pub fn fit_with(
        d: &Data,
        labels: &[bool],
        train: &[usize],
        inputs: Inputs,
        cfg: &EvaluateSection,
    ) -> Result<Fitted, LearnError> {
        let numeric = inputs.numeric();
        let columns: Vec<Vec<Option<f64>>> = numeric
            .iter()
            .map(|n| train.iter().map(|&r| d.numeric[n][r]).collect())
            .collect();
        let scaler = Standardizer::fit(&columns);
        let onehots: Vec<(&'static str, OneHot)> = inputs
            .categorical()
            .into_iter()
            .map(|n| {
                let vals: Vec<Option<&str>> = train
                    .iter()
                    .map(|&r| d.categorical[n][r].as_deref())
                    .collect();
                (n, OneHot::fit(&vals))
            })
            .collect();
        let tfidf = inputs.text.then(|| {
            let docs: Vec<&str> = train.iter().map(|&r| d.text[r].as_str()).collect();
            Tfidf::fit(&docs, cfg.min_df)
        });
        let mut dim = 0;
        if inputs.embedding {
            dim += emb_dim(d) + 1;
        }
        dim += 2 * numeric.len();
        dim += onehots.iter().map(|(_, o)| o.len()).sum::<usize>();
        dim += tfidf.as_ref().map_or(0, Tfidf::vocabulary_len);
        let mut f = Fitted {
            inputs,
            numeric,
            scaler,
            onehots,
            tfidf,
            dim,
            model: None,
        };
        let rows: Vec<SparseRow> = train
            .iter()
            .map(|&r| f.row(d, r))
            .collect::<Result<_, _>>()?;
        let y: Vec<bool> = train.iter().map(|&r| labels[r]).collect();
        f.model = Some(Logistic::fit(&rows, f.dim, &y, cfg.c)?);
        Ok(f)
    }

    /// The feature row of lead `r`.
    pub fn row(&self, d: &Data, r: usize) -> Result<SparseRow, LearnError> {
        let mut row = SparseRow::new();
        let mut offset = 0u32;
        if self.inputs.embedding {
            let dim = emb_dim(d);
            if let Some(v) = &d.embedding[r] {
                let vals: Vec<f64> = v.iter().map(|&x| f64::from(x)).collect();
                learn::push_dense(&mut row, offset, &vals);
            }
            // A lead without text has no vector: its indicator carries that.
            learn::push_dense(
                &mut row,
                offset + dim as u32,
                &[if d.embedding[r].is_none() { 1.0 } else { 0.0 }],
            );
            offset += dim as u32 + 1;
        }
        if !self.numeric.is_empty() {
            let vals: Vec<Option<f64>> = self.numeric.iter().map(|n| d.numeric[n][r]).collect();
            let scaled = self.scaler.transform(&vals)?;
            // Missing-value indicators next to the (mean-imputed) values.
            let missing: Vec<f64> = vals
                .iter()
                .map(|v| if v.is_none() { 1.0 } else { 0.0 })
                .collect();
            learn::push_dense(&mut row, offset, &scaled);
            offset += scaled.len() as u32;
            learn::push_dense(&mut row, offset, &missing);
            offset += missing.len() as u32;
        }
        for (n, oh) in &self.onehots {
            if let Some(i) = oh.index(d.categorical[*n][r].as_deref()) {
                row.push((offset + i as u32, 1.0));
            }
            offset += oh.len() as u32;
        }
        if let Some(t) = &self.tfidf {
            let v = t.transform(&d.text[r]);
            learn::push_sparse(&mut row, offset, &v);
            offset += t.vocabulary_len() as u32;
        }
        debug_assert_eq!(offset as usize, self.dim);
        row.retain(|(_, v)| *v != 0.0);
        Ok(row)
    }

    /// The number of features of a row.
    pub fn dim(&self) -> usize {
        self.dim
    }

    /// What feature `j` of a row is, for people: the embedding's dimensions are one group
    /// (`embedding`), numbers by column (`… missing` for their indicators), categories as
    /// `column=value`, TF-IDF terms as `text "term"`.
    pub fn feature_name(&self, d: &Data, j: usize) -> String {
        let mut j = j;
        if self.inputs.embedding {
            let dim = emb_dim(d);
            if j < dim {
                return "embedding".into();
            }
            if j == dim {
                return "no embedding".into();
            }
            j -= dim + 1;
        }
        let k = self.numeric.len();
        if j < k {
            return self.numeric[j].into();
        }
        if j < 2 * k {
            return format!("{} missing", self.numeric[j - k]);
        }
        j -= 2 * k;
        for (n, oh) in &self.onehots {
            if j < oh.len() {
                return format!("{n}={}", oh.names()[j]);
            }
            j -= oh.len();
        }
        match self.tfidf.as_ref().and_then(|t| t.feature_name(j)) {
            Some(term) => format!("text \"{term}\""),
            None => format!("feature {j}"),
        }
    }

    pub fn score(&self, d: &Data, r: usize) -> Result<f64, LearnError> {
        let row = self.row(d, r)?;
        Ok(self.model.as_ref().map_or(0.5, |m| m.predict_proba(&row)))
    }
}

/// The models, in report order: (name, description, inputs; `None` = centroid).
pub(crate) const MODELS: &[(&str, &str, Option<Inputs>)] = &[
    ("centroid_embedding", "Centroid cosine on the embedding: cos(won centroid) − cos(lost centroid), argmax (the Leadbay method)", None),
    ("logistic_embedding", "Logistic regression on the embedding alone", Some(Inputs { embedding: true, firmographics: false, web: false, text: false })),
    ("logistic_firmographics", "Logistic regression on registry firmographics alone (standardised numbers, one-hot categories, missing indicators)", Some(Inputs { embedding: false, firmographics: true, web: false, text: false })),
    ("logistic_web", "Logistic regression on web signals alone (page types, words, technologies, contacts)", Some(Inputs { embedding: false, firmographics: false, web: true, text: false })),
    ("tfidf_logistic", "TF-IDF (word 1–2-grams, sublinear tf) of the lead's text + logistic regression: the lexical baseline", Some(Inputs { embedding: false, firmographics: false, web: false, text: true })),
    ("logistic_embedding_firmographics_web", "Logistic regression on embedding + firmographics + web signals", Some(Inputs { embedding: true, firmographics: true, web: true, text: false })),
    ("combined", "Logistic regression on everything: embedding + TF-IDF + firmographics + web signals", Some(Inputs { embedding: true, firmographics: true, web: true, text: true })),
];

/// Out-of-fold scores of one model.
fn oof(
    d: &Data,
    labels: &[bool],
    folds: &[usize],
    k: usize,
    inputs: Option<Inputs>,
    cfg: &EvaluateSection,
) -> Result<Vec<f64>, LearnError> {
    learn::out_of_fold(d.labels.len(), folds, k, |train, test| match inputs {
        None => {
            // Centroids of the training leads that have a vector; a lead without one scores 0.
            let with: Vec<usize> = train
                .iter()
                .copied()
                .filter(|&r| d.embedding[r].is_some())
                .collect();
            let vecs: Vec<&[f32]> = with
                .iter()
                .filter_map(|&r| d.embedding[r].as_deref())
                .collect();
            let y: Vec<bool> = with.iter().map(|&r| labels[r]).collect();
            let c = Centroid::fit(&vecs, &y)?;
            Ok(test
                .iter()
                .map(|&r| d.embedding[r].as_deref().map_or(0.0, |v| c.score(v)))
                .collect())
        }
        Some(inputs) => {
            let f = Fitted::fit_with(d, labels, train, inputs, cfg)?;
            test.iter().map(|&r| f.score(d, r)).collect()
        }
    })
}

fn threshold(inputs: Option<Inputs>) -> f64 {
    if inputs.is_none() {
        0.0
    } else {
        0.5
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
        let e = &config.evaluate;
        Ok(format!(
            "evaluate=k:{};seed:{};c:{};min_df:{};max_text:{};rules=leadcrawl-evaluate/1",
            e.folds, e.seed, e.c, e.min_df, e.max_text_chars
        ))
    }

    fn run(&self, ctx: &StageContext<'_>) -> anyhow::Result<StageOutcome> {
        let cfg = &ctx.config.evaluate;
        let (d, all) = load(ctx, cfg.max_text_chars, false, true)?;
        let n = d.labels.len();
        let won = d.labels.iter().filter(|&&l| l).count();
        let mut notes = Vec::new();
        let k = cfg.folds;
        ctx.progress.set_total(MODELS.len() as u64 * 2);
        // Too few labelled leads of a class for k folds: nothing can be evaluated honestly; the
        // stage says so (in the files and the log) instead of failing the pipeline.
        let (folds, control_labels, control_folds) = match learn::stratified_kfold(
            &d.labels, k, cfg.seed,
        ) {
            Ok(f) => {
                let cl = learn::shuffled(&d.labels, cfg.seed);
                let cf = learn::stratified_kfold(&cl, k, cfg.seed)?;
                (f, cl, cf)
            }
            Err(e) => {
                let msg = format!(
                        "{n} labelled leads ({won} won, {} lost): {e}; nothing evaluated (label more leads or lower evaluate.folds)",
                        n - won
                    );
                tracing::warn!("{msg}");
                notes.push(msg);
                (Vec::new(), Vec::new(), Vec::new())
            }
        };
        let mut models = Vec::new();
        let mut control = Vec::new();
        let mut reports = Vec::new();
        for (name, description, inputs) in MODELS.iter().filter(|_| !folds.is_empty()) {
            if (inputs.is_none() || inputs.is_some_and(|i| i.embedding))
                && d.embedding.iter().all(Option::is_none)
            {
                notes.push(format!("{name}: no lead has an embedding; skipped"));
                continue;
            }
            let scores = oof(&d, &d.labels, &folds, k, *inputs, cfg)
                .with_context(|| format!("model {name}"))?;
            let t = threshold(*inputs);
            let metrics = learn::evaluate(&scores, &d.labels, t)?;
            let per_fold = learn::per_fold_metrics(&scores, &d.labels, &folds, k, t)?;
            ctx.progress.inc(1, name);
            let cscores = oof(&d, &control_labels, &control_folds, k, *inputs, cfg)
                .with_context(|| format!("control of {name}"))?;
            let cmetrics = learn::evaluate(&cscores, &control_labels, t)?;
            ctx.progress.inc(1, &format!("{name} control"));
            tracing::info!(
                model = name,
                roc_auc = metrics.roc_auc.unwrap_or(f64::NAN),
                accuracy = metrics.accuracy,
                control_roc_auc = cmetrics.roc_auc.unwrap_or(f64::NAN),
                "evaluated"
            );
            let won_scores: Vec<f64> = scores
                .iter()
                .zip(&d.labels)
                .filter(|(_, &l)| l)
                .map(|(&s, _)| s)
                .collect();
            let lost_scores: Vec<f64> = scores
                .iter()
                .zip(&d.labels)
                .filter(|(_, &l)| !l)
                .map(|(&s, _)| s)
                .collect();
            reports.push(ModelReport {
                name: name.to_string(),
                description: description.to_string(),
                accuracy: metrics.accuracy,
                precision: metrics.precision,
                recall: metrics.recall,
                f1: metrics.f1,
                roc_auc: metrics.roc_auc,
                pr_auc: metrics.pr_auc,
                confusion: metrics.confusion,
                lift_10: metrics.lift_10.unwrap_or(f64::NAN),
                lift_20: metrics.lift_20.unwrap_or(f64::NAN),
                lift_35: metrics.lift_35.unwrap_or(f64::NAN),
                captured_35: metrics.captured_35.unwrap_or(f64::NAN),
                roc: learn::roc_curve(&scores, &d.labels)?,
                gains: learn::gains_curve(&scores, &d.labels)?,
                won_scores,
                lost_scores,
            });
            control.push(ControlResult {
                name: name.to_string(),
                metrics: cmetrics,
            });
            models.push(ModelResult {
                name: name.to_string(),
                description: description.to_string(),
                metrics,
                per_fold,
                scores: d.lead_ids.iter().cloned().zip(scores).collect(),
            });
        }
        // The best model by out-of-fold ROC-AUC; ties keep the simpler (earlier) one.
        let best = models
            .iter()
            .filter(|m| m.metrics.roc_auc.is_some())
            .fold(None::<&ModelResult>, |b, m| match b {
                Some(b) if b.metrics.roc_auc >= m.metrics.roc_auc => Some(b),
                _ => Some(m),
            })
            .map(|m| m.name.clone());
        if n < 50 {
            notes.push(format!(
                "only {n} labelled leads: every metric has a wide margin of error"
            ));
        }
        let coverage = coverage(&all)?;
        let model_id = models_model_id(&all);
        let eval = Evaluation {
            schema_version: 1,
            run_id: ctx.prov.run_id.clone(),
            config_hash: ctx.prov.config_hash.clone(),
            model_id: model_id.clone(),
            k,
            seed: cfg.seed,
            labelled: n,
            won,
            lost: n - won,
            coverage: coverage.clone(),
            models,
            control,
            best: best.clone(),
            folds: d
                .lead_ids
                .iter()
                .cloned()
                .zip(folds.iter().copied())
                .collect(),
            notes: notes.clone(),
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
        };
        let pending = vec![
            table::write_pending_bytes(
                ctx.output_dir(),
                EVALUATION.name,
                serde_json::to_string_pretty(&eval)?.as_bytes(),
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

fn models_model_id(b: &RecordBatch) -> Option<String> {
    let c = cast(b.column_by_name("model_id")?, &DataType::Utf8).ok()?;
    let s = c.as_string::<i32>();
    s.iter().flatten().next().map(str::to_owned)
}

fn coverage(b: &RecordBatch) -> anyhow::Result<Vec<Coverage>> {
    let total = b.num_rows() as u64;
    let count_true = |name: &str| -> anyhow::Result<u64> {
        let c = b
            .column_by_name(name)
            .with_context(|| format!("features.{name}"))?;
        Ok(c.as_boolean().true_count() as u64)
    };
    let label = cast(
        b.column_by_name("label").context("features.label")?,
        &DataType::Int32,
    )?;
    let label = label.as_primitive::<arrow::datatypes::Int32Type>();
    let won = label.iter().filter(|v| *v == Some(1)).count() as u64;
    let lost = label.iter().filter(|v| *v == Some(0)).count() as u64;
    let crawled = count_true("has_website")? - count_true("crawl_failed")?;
    Ok(vec![
        Coverage {
            label: "leads with a website".into(),
            count: count_true("has_website")?,
            total,
        },
        Coverage {
            label: "websites crawled (some page read)".into(),
            count: crawled,
            total,
        },
        Coverage {
            label: "registry matched".into(),
            count: count_true("registry_matched")?,
            total,
        },
        Coverage {
            label: "embedded (some text)".into(),
            count: count_true("has_embedding")?,
            total,
        },
        Coverage {
            label: "labelled won".into(),
            count: won,
            total,
        },
        Coverage {
            label: "labelled lost".into(),
            count: lost,
            total,
        },
    ])
}
