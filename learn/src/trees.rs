//! The tree model: gradient-boosted trees ([`Gbm`]) on the tabular blocks, with the text and
//! embedding models stacked in as out-of-fold scores.
//!
//! A [`TreeDesign`] is fitted on training rows only, like a [`crate::Design`]: the tabular
//! blocks (firmographics, web signals, attributes) become columns as they are (numbers
//! untransformed, missing as NaN, which the trees route natively), categories one-hot on the
//! training rows' values. Text and embeddings are too wide for trees, so the logistic models
//! on them are *stacked*: each becomes one column, its score. A training row's stacked score
//! comes from an inner cross-validation on the training rows (so that no row's score was fitted
//! on its own label, or the trees would trust it blindly); any other row's comes from the same
//! model fitted on every training row.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use crate::design::{Dataset, Inputs};
use crate::models::{DesignedLogistic, Params};
use crate::{stratified_kfold, train_test, Gbm, GbmParams, LearnError, OneHot};

/// Folds of the inner cross-validation that gives training rows their stacked scores.
const INNER_K: usize = 3;

/// A logistic model stacked into the trees as one score column.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Stacked {
    name: String,
    model: DesignedLogistic,
    /// Training row → its inner out-of-fold score. Not saved: a saved model scores new leads
    /// only, which read the model's own score.
    #[serde(skip)]
    oof: HashMap<usize, f64>,
}

/// The tree model's columns, fitted on training rows.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TreeDesign {
    numeric: Vec<String>,
    onehots: Vec<(String, OneHot)>,
    stacked: Vec<Stacked>,
}

impl TreeDesign {
    /// Fits the columns on the `train` rows of `d` with `labels`.
    pub fn fit(
        d: &Dataset,
        labels: &[bool],
        train: &[usize],
        params: Params,
        seed: u64,
    ) -> Result<TreeDesign, LearnError> {
        let blocks = [&d.firmographics, &d.web, &d.attributes];
        let numeric = blocks
            .iter()
            .flat_map(|b| &b.numeric)
            .map(|c| c.name.clone())
            .collect();
        let onehots = blocks
            .iter()
            .flat_map(|b| &b.categorical)
            .map(|c| {
                let vals: Vec<Option<&str>> =
                    train.iter().map(|&r| c.values[r].as_deref()).collect();
                (c.name.clone(), OneHot::fit(&vals))
            })
            .collect();
        let mut stacked = Vec::new();
        let y: Vec<bool> = train.iter().map(|&r| labels[r]).collect();
        let has_text = train.iter().any(|&r| !d.text[r].trim().is_empty());
        let candidates = [
            (
                "embedding model score",
                d.has_embedding(),
                Inputs {
                    embedding: true,
                    ..Inputs::none()
                },
            ),
            (
                "text model score",
                has_text,
                Inputs {
                    text: true,
                    ..Inputs::none()
                },
            ),
        ];
        for (name, present, inputs) in candidates {
            if !present {
                continue;
            }
            // Too few training rows of a class for the inner folds: not stacked.
            let Ok(inner) = stratified_kfold(&y, INNER_K, seed) else {
                continue;
            };
            let mut oof = HashMap::with_capacity(train.len());
            for f in 0..INNER_K {
                let (tr, te) = train_test(&inner, f);
                let tr: Vec<usize> = tr.iter().map(|&i| train[i]).collect();
                let m = DesignedLogistic::fit(d, labels, &tr, inputs, params)?;
                for &i in &te {
                    oof.insert(train[i], m.score(d, train[i])?);
                }
            }
            let model = DesignedLogistic::fit(d, labels, train, inputs, params)?;
            stacked.push(Stacked {
                name: name.to_owned(),
                model,
                oof,
            });
        }
        Ok(TreeDesign {
            numeric,
            onehots,
            stacked,
        })
    }

    /// The number of columns.
    pub fn width(&self) -> usize {
        self.numeric.len()
            + self.onehots.iter().map(|(_, o)| o.len()).sum::<usize>()
            + self.stacked.len()
    }

    /// What column `j` is, for people.
    pub fn column_name(&self, j: usize) -> String {
        let mut j = j;
        if j < self.numeric.len() {
            return self.numeric[j].clone();
        }
        j -= self.numeric.len();
        for (name, oh) in &self.onehots {
            if j < oh.len() {
                return format!("{name}={}", oh.names()[j]);
            }
            j -= oh.len();
        }
        self.stacked
            .get(j)
            .map_or_else(|| format!("column {j}"), |s| s.name.clone())
    }

    /// The columns of `rows` of `d` (`columns[j][i]` for row `rows[i]`), NaN for missing.
    /// `in_training`: the rows were training rows (their stacked scores are the inner
    /// out-of-fold ones).
    pub fn columns(
        &self,
        d: &Dataset,
        rows: &[usize],
        in_training: bool,
    ) -> Result<Vec<Vec<f64>>, LearnError> {
        let mut out = Vec::with_capacity(self.width());
        let blocks = [&d.firmographics, &d.web, &d.attributes];
        let numeric: Vec<_> = blocks.iter().flat_map(|b| &b.numeric).collect();
        let categorical: Vec<_> = blocks.iter().flat_map(|b| &b.categorical).collect();
        if numeric.len() != self.numeric.len() || categorical.len() != self.onehots.len() {
            return Err(LearnError::LengthMismatch {
                what: "tree columns vs the design's",
                expected: self.numeric.len() + self.onehots.len(),
                got: numeric.len() + categorical.len(),
            });
        }
        for c in numeric {
            out.push(
                rows.iter()
                    .map(|&r| c.values[r].unwrap_or(f64::NAN))
                    .collect(),
            );
        }
        for (c, (_, oh)) in categorical.iter().zip(&self.onehots) {
            for level in 0..oh.len() {
                out.push(
                    rows.iter()
                        .map(|&r| match c.values[r].as_deref() {
                            // Missing stays missing: the trees route it on their own.
                            None => f64::NAN,
                            v => f64::from(u8::from(oh.index(v) == Some(level))),
                        })
                        .collect(),
                );
            }
        }
        for s in &self.stacked {
            out.push(
                rows.iter()
                    .map(|&r| match (in_training, s.oof.get(&r)) {
                        (true, Some(&v)) => Ok(v),
                        _ => s.model.score(d, r),
                    })
                    .collect::<Result<_, _>>()?,
            );
        }
        Ok(out)
    }
}

/// Trees and the columns they read.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FittedTrees {
    pub design: TreeDesign,
    pub gbm: Gbm,
}

/// The trees' hyper-parameters: scikit-learn's defaults, seeded.
pub fn gbm_params(seed: u64) -> GbmParams {
    GbmParams {
        seed,
        ..GbmParams::default()
    }
}

impl FittedTrees {
    pub fn fit(
        d: &Dataset,
        labels: &[bool],
        train: &[usize],
        params: Params,
        seed: u64,
    ) -> Result<FittedTrees, LearnError> {
        let design = TreeDesign::fit(d, labels, train, params, seed)?;
        let cols = design.columns(d, train, true)?;
        let views: Vec<&[f64]> = cols.iter().map(Vec::as_slice).collect();
        let y: Vec<bool> = train.iter().map(|&r| labels[r]).collect();
        let gbm = Gbm::fit(&views, &y, &gbm_params(seed))?;
        Ok(FittedTrees { design, gbm })
    }

    /// Probabilities of `rows` (not training rows).
    pub fn scores(&self, d: &Dataset, rows: &[usize]) -> Result<Vec<f64>, LearnError> {
        let cols = self.design.columns(d, rows, false)?;
        let views: Vec<&[f64]> = cols.iter().map(Vec::as_slice).collect();
        Ok(self
            .gbm
            .decision_columns(&views)?
            .into_iter()
            .map(|x| 1.0 / (1.0 + (-x).exp()))
            .collect())
    }

    /// One row's probability and its contributions in log-odds by column name.
    pub fn explain(&self, d: &Dataset, r: usize) -> Result<(f64, Vec<(String, f64)>), LearnError> {
        let cols = self.design.columns(d, &[r], false)?;
        let row: Vec<f64> = cols.iter().map(|c| c[0]).collect();
        let p = self.gbm.predict_proba(&row)?;
        let c = self.gbm.contributions(&row)?;
        let named = c
            .values
            .iter()
            .enumerate()
            .filter(|(_, v)| **v != 0.0)
            .map(|(j, &v)| (self.design.column_name(j), v))
            .collect();
        Ok((p, named))
    }
}
