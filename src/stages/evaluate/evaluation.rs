//! `evaluation.json`: the one type the evaluate stage writes and every reader reads back
//! (`score` for the chosen model and its out-of-fold scores, the demo's metrics table).
//!
//! The field names and nesting are the file's public shape: Python tests and users' notebooks
//! read it, so a field is added, never renamed.

use std::collections::BTreeMap;

use anyhow::Context;
use learn::Metrics;
use serde::{Deserialize, Serialize};

use super::EVALUATION;
use crate::stages::StageContext;

#[derive(Debug, Clone, Serialize, Deserialize)]
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
    pub folds: BTreeMap<String, usize>,
    pub notes: Vec<String>,
    /// The leakage guard's verdict on every attribute (the lead list's own columns).
    #[serde(default)]
    pub attributes: Vec<AttributeCheck>,
    /// The model choice made inside the cross-validation: the honest figure of `best`.
    #[serde(default)]
    pub nested: Option<learn::cv::NestedChoice>,
    /// The best model's out-of-fold metrics by slice of the leads (NACE section, headcount
    /// band, country, `evaluate.slices`), so a seller sees where the model is weak.
    #[serde(default)]
    pub slices: Vec<Slice>,
    /// With a date column mapped: every model trained on the older leads and tested on the
    /// newest (`evaluate.time_test_share`), beside its cross-validated figure.
    #[serde(default)]
    pub time_split: Option<TimeSplit>,
}

/// The evaluation on time (see [`learn::time`]). Dates are `YYYY-MM-DD`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TimeSplit {
    /// The `features` column the leads are ordered by.
    pub column: String,
    pub first_date: Option<String>,
    /// The first date on the test side: leads dated before it trained the models.
    pub cut_date: Option<String>,
    pub last_date: Option<String>,
    pub train_leads: usize,
    pub train_won: usize,
    pub test_leads: usize,
    pub test_won: usize,
    /// Labelled leads without a date (on neither side).
    pub undated: usize,
    pub models: Vec<TimeModel>,
    /// Why there are no model figures, when there are none.
    pub note: Option<String>,
    /// Are the wins changing? The won centroid across time windows (see [`learn::drift`]).
    #[serde(default)]
    pub won_centroid: Option<WonCentroid>,
}

/// The won centroid's movement across time windows of the dated won leads.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct WonCentroid {
    /// `embedding`, or `tabular` when the leads have no text.
    pub space: String,
    pub dated_won: usize,
    pub windows: Vec<CentroidWindow>,
    /// Some window moved more than chance explains.
    pub moved: bool,
    /// Why no windows were compared, when none were.
    pub note: Option<String>,
}

/// One window of dated won leads. Dates are `YYYY-MM-DD`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CentroidWindow {
    pub first_date: Option<String>,
    pub last_date: Option<String>,
    pub won: usize,
    pub cosine_to_previous: Option<f64>,
    /// 5th percentile of the cosine between random draws of wins of the same sizes.
    pub chance_floor_previous: Option<f64>,
    pub cosine_to_first: Option<f64>,
    pub chance_floor_first: Option<f64>,
    /// A cosine below its chance floor.
    pub moved: bool,
}

/// One model on time, beside its cross-validated figure.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TimeModel {
    pub model: String,
    /// ROC-AUC on the newest leads, trained on the older ones.
    pub roc_auc: Option<f64>,
    /// Share of the newest leads' wins in their top 20 % by score.
    pub captured_at_20: Option<f64>,
    /// The model's out-of-fold ROC-AUC over every labelled lead, for comparison.
    pub cv_roc_auc: Option<f64>,
}

/// The best model's out-of-fold figures on the leads with one value of one column.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Slice {
    /// The `features.parquet` column (`nace_section`, `headcount_band`, `country`, `attr_*`).
    pub by: String,
    /// The value (`(missing)` for leads without one).
    pub value: String,
    pub leads: usize,
    pub won: usize,
    /// `None` when the slice holds one class only.
    pub roc_auc: Option<f64>,
    /// Mean calibrated probability against the slice's won share.
    pub mean_probability: f64,
    pub won_share: f64,
}

/// One attribute under the leakage guard.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AttributeCheck {
    /// The `features.parquet` column.
    pub column: String,
    /// The input column's header.
    pub source: String,
    /// The attribute's own out-of-fold ROC-AUC (its values' won rates, learnt out of fold).
    pub auc: Option<f64>,
    /// Values that read like outcomes or late stages ("Closed by …", "Lost to …").
    pub outcome_values: Vec<String>,
    /// Whether the models use it.
    pub used: bool,
    /// Why it is left out (or kept despite the guard).
    pub reason: Option<String>,
}

impl Evaluation {
    /// The attributes the models leave out.
    pub fn excluded_attributes(&self) -> Vec<String> {
        self.attributes
            .iter()
            .filter(|a| !a.used)
            .map(|a| a.column.clone())
            .collect()
    }
}

/// One model's out-of-fold result.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ModelResult {
    pub name: String,
    pub description: String,
    pub metrics: Metrics,
    pub per_fold: Vec<Metrics>,
    /// Out-of-fold score per lead (`lead_id` → score).
    pub scores: BTreeMap<String, f64>,
    /// Out-of-fold probability per lead: the score calibrated (Platt or isotonic, see
    /// `calibration.method`) on the other folds'.
    #[serde(default)]
    pub probabilities: BTreeMap<String, f64>,
    /// Brier score, log-loss, ECE and reliability bins of those probabilities.
    #[serde(default)]
    pub calibration: Option<learn::calibration::Calibration>,
    /// 95 % bootstrap interval of the ROC-AUC.
    #[serde(default)]
    pub roc_auc_interval: Option<(f64, f64)>,
    /// Share of won leads in the top 10, 20, 35 and 50 % by score: `(share of leads, share of won)`.
    #[serde(default)]
    pub captured: Vec<(f64, f64)>,
}

/// A model cross-validated on shuffled labels.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ControlResult {
    pub name: String,
    pub metrics: Metrics,
}

/// One data coverage row: `count` of `total` ("leads with a website", "crawled", …).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Coverage {
    pub label: String,
    pub count: u64,
    pub total: u64,
}

/// The version of the file's shape this code writes.
pub const SCHEMA_VERSION: u32 = 1;

impl Evaluation {
    /// The file as written: pretty JSON.
    pub fn to_json(&self) -> anyhow::Result<Vec<u8>> {
        Ok(serde_json::to_vec_pretty(self)?)
    }

    /// Parses the file's bytes.
    pub fn from_json(bytes: &[u8]) -> anyhow::Result<Evaluation> {
        let e: Evaluation = serde_json::from_slice(bytes)?;
        anyhow::ensure!(
            e.schema_version == SCHEMA_VERSION,
            "schema_version {} (this leadcrawl reads {SCHEMA_VERSION}): run the evaluate stage again",
            e.schema_version
        );
        Ok(e)
    }

    /// The committed `evaluation.json` of this run's output folder.
    pub fn read(ctx: &StageContext<'_>) -> anyhow::Result<Evaluation> {
        let path = ctx.output_dir().join(EVALUATION.name);
        let bytes = ctx
            .read_file(&EVALUATION)
            .context("run the evaluate stage first")?;
        Evaluation::from_json(&bytes).with_context(|| format!("parsing {}", path.display()))
    }

    /// The entry of model `name`.
    pub fn model(&self, name: &str) -> Option<&ModelResult> {
        self.models.iter().find(|m| m.name == name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn metrics(roc_auc: Option<f64>) -> Metrics {
        learn::evaluate(&[0.9, 0.2, 0.6, 0.4], &[true, false, true, false], 0.5)
            .map(|m| Metrics { roc_auc, ..m })
            .unwrap()
    }

    fn evaluation() -> Evaluation {
        Evaluation {
            schema_version: SCHEMA_VERSION,
            run_id: "r".into(),
            config_hash: "h".into(),
            model_id: None,
            k: 2,
            seed: 42,
            labelled: 4,
            won: 2,
            lost: 2,
            coverage: vec![Coverage {
                label: "leads with a website".into(),
                count: 3,
                total: 4,
            }],
            models: vec![ModelResult {
                name: "logistic_web".into(),
                description: "web".into(),
                metrics: metrics(Some(1.0)),
                per_fold: vec![metrics(None)],
                scores: [("a".to_owned(), 0.9), ("b".to_owned(), 0.2)].into(),
                probabilities: BTreeMap::new(),
                calibration: None,
                roc_auc_interval: None,
                captured: Vec::new(),
            }],
            control: vec![ControlResult {
                name: "logistic_web".into(),
                metrics: metrics(Some(0.5)),
            }],
            best: Some("logistic_web".into()),
            folds: [("a".to_owned(), 0), ("b".to_owned(), 1)].into(),
            notes: vec!["only 4 labelled leads".into()],
            attributes: Vec::new(),
            nested: None,
            slices: Vec::new(),
            time_split: None,
        }
    }

    #[test]
    fn the_file_reads_back_as_written_and_keeps_its_field_names() {
        let json = evaluation().to_json().unwrap();
        let back = Evaluation::from_json(&json).unwrap();
        assert_eq!(back.to_json().unwrap(), json);
        assert_eq!(back.model("logistic_web").unwrap().scores["a"], 0.9);
        assert!(back.model("combined").is_none());
        // The shape Python readers rely on.
        let v: serde_json::Value = serde_json::from_slice(&json).unwrap();
        assert_eq!(v["models"][0]["metrics"]["roc_auc"], 1.0);
        assert_eq!(v["control"][0]["metrics"]["roc_auc"], 0.5);
        assert!(v["models"][0]["per_fold"][0]["roc_auc"].is_null());
        assert_eq!(v["folds"]["b"], 1);
    }

    #[test]
    fn another_schema_version_or_a_broken_file_is_a_clear_error() {
        let e = Evaluation {
            schema_version: 99,
            ..evaluation()
        };
        let err = Evaluation::from_json(&e.to_json().unwrap()).unwrap_err();
        assert!(err.to_string().contains("schema_version 99"), "{err:#}");
        let err = Evaluation::from_json(b"{\"schema_version\": 1}").unwrap_err();
        assert!(err.to_string().contains("missing field"), "{err:#}");
    }
}
