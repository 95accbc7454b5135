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
