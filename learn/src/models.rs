//! The models leadcrawl evaluates and scores with, and how each is fitted and applied.
//!
//! [`MODELS`] lists them in report order: the won/lost centroid cosine on the embedding (the
//! Leadbay method) and L2 logistic regressions on [`Design`]s of different [`Inputs`]. The
//! same code fits a model on a cross-validation fold ([`fold_scores`]) and on every labelled
//! lead for scoring new ones ([`Trained`]), so the model scored is the model evaluated.
//!
//! A [`Trained`] model gives each lead a probability and its drivers: for a logistic model the
//! features whose contribution to the log-odds, measured from the average training lead, is
//! largest; for the centroid, whose score (a cosine difference in [−2, 2]) is mapped to a
//! probability by Platt scaling on its out-of-fold scores, the two cosines weighted by the
//! Platt slope.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::design::{Dataset, Design, Inputs};
use crate::trees::FittedTrees;
use crate::{dense_row, Centroid, LearnError, Logistic, SparseRow};

/// Fitting parameters shared by every model.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Params {
    /// Inverse L2 regularisation strength of the logistic regressions (scikit-learn's `C`).
    pub c: f64,
    /// Gradient tolerance of the logistic regressions, as scikit-learn's `tol`
    /// ([`Logistic::fit_with_tolerance`]). Artefacts written before it existed read as 1e-4.
    #[serde(default = "default_tol")]
    pub tol: f64,
    /// TF-IDF: a term must appear in at least this many training documents.
    pub min_df: usize,
    /// Seeds the trees and their inner folds.
    pub seed: u64,
}

fn default_tol() -> f64 {
    1e-4
}

/// What a model is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Won-centroid vs lost-centroid cosine on the embedding.
    Centroid,
    /// L2 logistic regression on a design of these inputs.
    Logistic(Inputs),
    /// Gradient-boosted trees on the tabular blocks, text and embedding models stacked in.
    Trees,
}

/// One model of the list: its stable name (results are filed under it), what it is for people, and
/// its kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ModelSpec {
    pub name: &'static str,
    pub description: &'static str,
    pub kind: Kind,
}

impl ModelSpec {
    /// The model reads the leads' text (TF-IDF).
    pub fn uses_text(&self) -> bool {
        matches!(self.kind, Kind::Logistic(i) if i.text)
    }

    /// The model reads the embedding (and is pointless when no lead has one).
    pub fn uses_embedding(&self) -> bool {
        match self.kind {
            Kind::Centroid => true,
            Kind::Logistic(i) => i.embedding,
            Kind::Trees => false,
        }
    }

    /// The model reads the lead list's own columns.
    pub fn uses_attributes(&self) -> bool {
        matches!(self.kind, Kind::Logistic(i) if i.attributes)
    }

    /// The model reads nothing but the attributes (and is pointless without them).
    pub fn only_attributes(&self) -> bool {
        matches!(self.kind, Kind::Logistic(i) if i.attributes && !i.embedding && !i.firmographics && !i.web && !i.text)
    }

    /// The decision threshold of its scores: 0 for the centroid's cosine difference ("closer
    /// to the won centroid"), 0.5 for a probability.
    pub fn threshold(&self) -> f64 {
        match self.kind {
            Kind::Centroid => 0.0,
            Kind::Logistic(_) | Kind::Trees => 0.5,
        }
    }
}

const fn logistic(
    embedding: bool,
    firmographics: bool,
    web: bool,
    attributes: bool,
    text: bool,
) -> Kind {
    Kind::Logistic(Inputs {
        embedding,
        firmographics,
        web,
        attributes,
        text,
    })
}

/// The models, in report order.
pub const MODELS: &[ModelSpec] = &[
    ModelSpec {
        name: "centroid_embedding",
        description: "Centroid cosine on the embedding: cos(won centroid) − cos(lost centroid), argmax (the Leadbay method)",
        kind: Kind::Centroid,
    },
    ModelSpec {
        name: "logistic_embedding",
        description: "Logistic regression on the embedding alone",
        kind: logistic(true, false, false, false, false),
    },
    ModelSpec {
        name: "logistic_firmographics",
        description: "Logistic regression on registry firmographics alone (standardised numbers, one-hot categories, missing indicators)",
        kind: logistic(false, true, false, false, false),
    },
    ModelSpec {
        name: "logistic_web",
        description: "Logistic regression on web signals alone (page types, words, technologies, contacts)",
        kind: logistic(false, false, true, false, false),
    },
    ModelSpec {
        name: "tfidf_logistic",
        description: "TF-IDF (word 1–2-grams, sublinear tf) of the lead's text + logistic regression: the lexical baseline",
        kind: logistic(false, false, false, false, true),
    },
    ModelSpec {
        name: "logistic_embedding_firmographics_web",
        description: "Logistic regression on embedding + firmographics + web signals",
        kind: logistic(true, true, true, false, false),
    },
    ModelSpec {
        name: "logistic_attributes",
        description: "Logistic regression on the lead list's own columns (CRM attributes) alone",
        kind: logistic(false, false, false, true, false),
    },
    ModelSpec {
        name: "combined",
        description: "Logistic regression on everything: embedding + TF-IDF + firmographics + web signals + attributes",
        kind: logistic(true, true, true, true, true),
    },
    ModelSpec {
        name: "gradient_boosted_trees",
        description: "Gradient-boosted trees on firmographics + web signals + attributes (missing values native), with the embedding and text models' out-of-fold scores stacked in",
        kind: Kind::Trees,
    },
];

/// The model of [`MODELS`] named `name`.
pub fn model(name: &str) -> Option<&'static ModelSpec> {
    MODELS.iter().find(|m| m.name == name)
}

/// A logistic regression on a design fitted on the same training rows.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DesignedLogistic {
    pub design: Design,
    pub model: Logistic,
}

impl DesignedLogistic {
    /// Fits the design and the model on `train` rows of `d` with `labels` (the real labels, or
    /// the control's shuffled ones).
    pub fn fit(
        d: &Dataset,
        labels: &[bool],
        train: &[usize],
        inputs: Inputs,
        params: Params,
    ) -> Result<DesignedLogistic, LearnError> {
        if labels.len() != d.len() {
            return Err(LearnError::LengthMismatch {
                what: "labels vs rows",
                expected: d.len(),
                got: labels.len(),
            });
        }
        let design = Design::fit(d, train, inputs, params.min_df)?;
        let rows: Vec<SparseRow> = train
            .iter()
            .map(|&r| design.row(d, r))
            .collect::<Result<_, _>>()?;
        let y: Vec<bool> = train.iter().map(|&r| labels[r]).collect();
        let model = Logistic::fit_with_tolerance(&rows, design.dim(), &y, params.c, params.tol)?;
        Ok(DesignedLogistic { design, model })
    }

    /// The probability that lead `r` of `d` is won.
    pub fn score(&self, d: &Dataset, r: usize) -> Result<f64, LearnError> {
        Ok(self.model.predict_proba(&self.design.row(d, r)?))
    }
}

/// Centroids of the `train` rows that have a vector (a lead without one cannot pull either).
fn fit_centroid(d: &Dataset, labels: &[bool], train: &[usize]) -> Result<Centroid, LearnError> {
    let with: Vec<usize> = train
        .iter()
        .copied()
        .filter(|&r| d.embedding.get(r).is_some_and(Option::is_some))
        .collect();
    let vecs: Vec<&[f32]> = with
        .iter()
        .filter_map(|&r| d.embedding[r].as_deref())
        .collect();
    let y: Vec<bool> = with.iter().map(|&r| labels[r]).collect();
    Centroid::fit(&vecs, &y)
}

/// Fits `spec` on the `train` rows with `labels` and scores the `test` rows: one fold of a
/// cross-validation. A lead without a vector scores 0 with the centroid (no evidence).
pub fn fold_scores(
    spec: &ModelSpec,
    d: &Dataset,
    labels: &[bool],
    train: &[usize],
    test: &[usize],
    params: Params,
) -> Result<Vec<f64>, LearnError> {
    match spec.kind {
        Kind::Centroid => {
            let c = fit_centroid(d, labels, train)?;
            Ok(test
                .iter()
                .map(|&r| d.embedding[r].as_deref().map_or(0.0, |v| c.score(v)))
                .collect())
        }
        Kind::Logistic(inputs) => {
            let f = DesignedLogistic::fit(d, labels, train, inputs, params)?;
            test.iter().map(|&r| f.score(d, r)).collect()
        }
        Kind::Trees => FittedTrees::fit(d, labels, train, params, params.seed)?.scores(d, test),
    }
}

/// A model refitted on every labelled lead, to score new ones. It serialises (serde) to
/// everything it needs to score again: a model read back scores exactly as the one written.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Trained {
    Logistic {
        fitted: Box<DesignedLogistic>,
        /// Mean feature row of the training leads: contributions are measured from it.
        mean: Vec<f64>,
        /// What each feature is, for people (named once, not per lead).
        names: Vec<String>,
    },
    Centroid {
        centroid: Centroid,
        platt: Logistic,
    },
    Trees(Box<FittedTrees>),
}

/// A lead's probability of being won and the features that moved it most.
#[derive(Debug, Clone, PartialEq)]
pub struct Prediction {
    pub probability: f64,
    /// `(feature, contribution to the log-odds)`, largest magnitude first.
    pub drivers: Vec<(String, f64)>,
}

impl Trained {
    /// Fits `spec` on the `train` rows of `d` (their labels in `d.labels`). The centroid's
    /// Platt scaling is fitted on `oof`, the model's out-of-fold score per row (`None` where
    /// there is none): honest, since no lead scored itself.
    pub fn fit(
        spec: &ModelSpec,
        d: &Dataset,
        train: &[usize],
        oof: &[Option<f64>],
        params: Params,
    ) -> Result<Trained, LearnError> {
        match spec.kind {
            Kind::Logistic(inputs) => {
                let fitted = DesignedLogistic::fit(d, &d.labels, train, inputs, params)?;
                let dim = fitted.design.dim();
                let mut mean = vec![0.0f64; dim];
                for &r in train {
                    for (j, v) in fitted.design.row(d, r)? {
                        mean[j as usize] += v;
                    }
                }
                let n = train.len().max(1) as f64;
                mean.iter_mut().for_each(|m| *m /= n);
                let names = (0..dim).map(|j| fitted.design.feature_name(j)).collect();
                Ok(Trained::Logistic {
                    fitted: Box::new(fitted),
                    mean,
                    names,
                })
            }
            Kind::Trees => Ok(Trained::Trees(Box::new(FittedTrees::fit(
                d,
                &d.labels,
                train,
                params,
                params.seed,
            )?))),
            Kind::Centroid => {
                let centroid = fit_centroid(d, &d.labels, train)?;
                let (rows, y): (Vec<SparseRow>, Vec<bool>) = train
                    .iter()
                    .filter_map(|&r| {
                        oof.get(r)
                            .copied()
                            .flatten()
                            .map(|s| (dense_row(&[s]), d.labels[r]))
                    })
                    .unzip();
                let platt = Logistic::fit(&rows, 1, &y, 1e4)?;
                Ok(Trained::Centroid { centroid, platt })
            }
        }
    }

    /// What each of the model's features is, for people, in the model's order.
    pub fn feature_names(&self) -> Vec<String> {
        match self {
            Trained::Logistic { names, .. } => names.clone(),
            Trained::Trees(t) => (0..t.design.width())
                .map(|j| t.design.column_name(j))
                .collect(),
            Trained::Centroid { .. } => vec![
                "cosine to won centroid".to_owned(),
                "cosine to lost centroid".to_owned(),
            ],
        }
    }

    /// A logistic regression on numbers and categories as a [`crate::LinearScorer`] (which
    /// scores from column values, without rows); `None` for other models.
    pub fn linear(&self) -> Option<crate::LinearScorer<'_>> {
        match self {
            Trained::Logistic { fitted, .. } => fitted.design.linear(&fitted.model),
            _ => None,
        }
    }

    /// The probabilities of `rows` of `d` alone, without drivers (cheaper: no contributions).
    pub fn probabilities(&self, d: &Dataset, rows: &[usize]) -> Result<Vec<f64>, LearnError> {
        match self {
            Trained::Logistic { fitted, .. } => {
                let mut row = Vec::new();
                rows.iter()
                    .map(|&r| {
                        fitted.design.row_into(d, r, &mut row)?;
                        Ok(fitted.model.predict_proba(&row))
                    })
                    .collect()
            }
            Trained::Trees(t) => t.scores(d, rows),
            Trained::Centroid { .. } => rows
                .iter()
                .map(|&r| Ok(self.predict(d, r, 0)?.probability))
                .collect(),
        }
    }

    /// The prediction for lead `r` of `d`, with its `drivers` largest contributions.
    pub fn predict(&self, d: &Dataset, r: usize, drivers: usize) -> Result<Prediction, LearnError> {
        match self {
            Trained::Logistic {
                fitted,
                mean,
                names,
            } => {
                let row = fitted.design.row(d, r)?;
                Ok(Prediction {
                    probability: fitted.model.predict_proba(&row),
                    drivers: top_drivers(fitted, names, &row, mean, drivers),
                })
            }
            Trained::Trees(t) => {
                let (probability, mut named) = t.explain(d, r)?;
                named.sort_by(|a, b| b.1.abs().total_cmp(&a.1.abs()));
                named.truncate(drivers);
                Ok(Prediction {
                    probability,
                    drivers: named,
                })
            }
            Trained::Centroid { centroid, platt } => {
                let cos = d
                    .embedding
                    .get(r)
                    .and_then(|v| v.as_deref())
                    .map(|v| centroid.cosines(v));
                let s = cos.map_or(0.0, |(won, lost)| won - lost);
                let w = platt.weights()[0];
                Ok(Prediction {
                    probability: platt.predict_proba(&dense_row(&[s])),
                    drivers: cos
                        .map(|(won, lost)| {
                            vec![
                                ("cosine to won centroid".to_owned(), w * won),
                                ("cosine to lost centroid".to_owned(), -w * lost),
                            ]
                        })
                        .unwrap_or_default(),
                })
            }
        }
    }
}

/// The `k` largest contributions by magnitude, the embedding's dimensions summed into one.
fn top_drivers(
    fitted: &DesignedLogistic,
    names: &[String],
    row: &SparseRow,
    mean: &[f64],
    k: usize,
) -> Vec<(String, f64)> {
    let w = fitted.model.weights();
    let mut x = vec![0.0f64; fitted.design.dim()];
    for &(j, v) in row {
        x[j as usize] = v;
    }
    let mut by_name: BTreeMap<&str, f64> = BTreeMap::new();
    // TF-IDF spreads the text's weight over thousands of terms, each too small to show: their
    // sum is one driver too, next to the terms that moved the score most.
    let mut text_total = None::<f64>;
    for (j, (&wj, (&xj, &mj))) in w.iter().zip(x.iter().zip(mean)).enumerate() {
        let c = wj * (xj - mj);
        if c != 0.0 {
            let name = names[j].as_str();
            if name.starts_with("text \"") {
                *text_total.get_or_insert(0.0) += c;
            }
            *by_name.entry(name).or_default() += c;
        }
    }
    if let Some(t) = text_total {
        by_name.insert("text (all terms)", t);
    }
    let mut v: Vec<(&str, f64)> = by_name.into_iter().filter(|(_, c)| *c != 0.0).collect();
    v.sort_by(|a, b| b.1.abs().total_cmp(&a.1.abs()).then(a.0.cmp(b.0)));
    v.truncate(k);
    v.into_iter().map(|(n, c)| (n.to_owned(), c)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::design::{Block, Column};

    /// 40 leads: won ones have a high `score` column and a vector near (1, 0).
    fn data() -> Dataset {
        let labels: Vec<bool> = (0..40).map(|i| i % 2 == 0).collect();
        let jitter = |i: usize| (i * 7 % 10) as f32 / 20.0;
        Dataset {
            embedding: labels
                .iter()
                .enumerate()
                .map(|(i, &l)| {
                    (i != 3).then(|| {
                        if l {
                            vec![1.0, jitter(i)]
                        } else {
                            vec![jitter(i), 1.0]
                        }
                    })
                })
                .collect(),
            firmographics: Block {
                numeric: vec![Column::new(
                    "score",
                    labels
                        .iter()
                        .enumerate()
                        .map(|(i, &l)| Some(if l { 2.0 } else { 0.0 } + f64::from(jitter(i))))
                        .collect(),
                )],
                categorical: vec![],
            },
            web: Block::default(),
            attributes: Default::default(),
            text: vec![String::new(); 40],
            labels,
        }
    }

    const PARAMS: Params = Params {
        c: 1.0,
        tol: 1e-4,
        min_df: 2,
        seed: 0,
    };

    #[test]
    fn names_are_unique_and_found() {
        for m in MODELS {
            assert_eq!(model(m.name), Some(m));
            assert_eq!(MODELS.iter().filter(|o| o.name == m.name).count(), 1);
        }
        assert_eq!(model("nope"), None);
        assert!(model("tfidf_logistic").unwrap().uses_text());
        assert!(!model("logistic_web").unwrap().uses_embedding());
    }

    #[test]
    fn a_logistic_trained_model_separates_and_its_drivers_explain_the_log_odds() {
        let d = data();
        let train: Vec<usize> = (0..30).collect();
        let spec = model("logistic_firmographics").unwrap();
        let t = Trained::fit(spec, &d, &train, &[], PARAMS).unwrap();
        for r in 30..40 {
            let p = t.predict(&d, r, 5).unwrap();
            assert_eq!(p.probability > 0.5, d.labels[r], "lead {r}: {p:?}");
            // The one feature's contribution: positive for won leads, named by its column.
            assert_eq!(p.drivers[0].0, "score");
            assert_eq!(p.drivers[0].1 > 0.0, d.labels[r]);
        }
        let Trained::Logistic { fitted, mean, .. } = &t else {
            panic!("a logistic model")
        };
        // Contributions are measured from the mean row: their sum is the log-odds gap to it.
        let row = fitted.design.row(&d, 31).unwrap();
        let gap = fitted.model.decision(&row)
            - fitted.model.decision(
                &mean
                    .iter()
                    .enumerate()
                    .map(|(j, &v)| (j as u32, v))
                    .collect::<Vec<_>>(),
            );
        let sum: f64 = t
            .predict(&d, 31, 10)
            .unwrap()
            .drivers
            .iter()
            .map(|x| x.1)
            .sum();
        assert!((sum - gap).abs() < 1e-9, "{sum} vs {gap}");
    }

    #[test]
    fn every_kind_of_trained_model_scores_the_same_after_a_json_round_trip() {
        let mut d = data();
        d.text = (0..40)
            .map(|i| {
                if d.labels[i] {
                    "cloud software platform".to_owned()
                } else {
                    format!("bakery shop number{}", i % 3)
                }
            })
            .collect();
        d.attributes.categorical = vec![Column::new(
            "source",
            (0..40)
                .map(|i| (i % 5 != 0).then(|| ["web", "fair", "call"][i % 3].to_owned()))
                .collect(),
        )];
        let train: Vec<usize> = (0..30).collect();
        let oof: Vec<Option<f64>> = (0..40)
            .map(|r| Some(if d.labels[r] { 0.7 } else { -0.6 }))
            .collect();
        for name in ["combined", "centroid_embedding", "gradient_boosted_trees"] {
            let t = Trained::fit(model(name).unwrap(), &d, &train, &oof, PARAMS).unwrap();
            let json = serde_json::to_string(&t).unwrap();
            let back: Trained = serde_json::from_str(&json).unwrap();
            // Written again, the same bytes: the file does not depend on a hash map's order.
            assert_eq!(serde_json::to_string(&back).unwrap(), json, "{name}");
            assert_eq!(back.feature_names(), t.feature_names());
            let rows: Vec<usize> = (0..40).collect();
            let fast = back.probabilities(&d, &rows).unwrap();
            for (r, quick) in fast.iter().enumerate() {
                let (a, b) = (
                    t.predict(&d, r, 3).unwrap(),
                    back.predict(&d, r, 3).unwrap(),
                );
                assert_eq!(quick.to_bits(), a.probability.to_bits(), "{name} {r}");
                assert_eq!(
                    a.probability.to_bits(),
                    b.probability.to_bits(),
                    "{name} lead {r}"
                );
                assert_eq!(a.drivers, b.drivers, "{name} lead {r}");
            }
        }
        // A model read with its columns in another order (and one more) scores the same once
        // the dataset is aligned to the shape it was fitted on.
        let t = Trained::fit(model("combined").unwrap(), &d, &train, &oof, PARAMS).unwrap();
        let shape = d.columns();
        let mut other = d.clone();
        other
            .firmographics
            .numeric
            .insert(0, Column::new("new", vec![Some(1.0); 40]));
        other.attributes.categorical.clear();
        let (aligned, absent) = other.aligned(&shape).unwrap();
        assert_eq!(absent, ["source"]);
        assert_eq!(aligned.columns(), shape);
        let p = t.predict(&aligned, 35, 0).unwrap();
        let mut without = d.clone();
        without.attributes.categorical[0].values = vec![None; 40];
        assert_eq!(p, t.predict(&without, 35, 0).unwrap());
    }

    #[test]
    fn the_centroid_is_calibrated_on_out_of_fold_scores() {
        let d = data();
        let train: Vec<usize> = (0..40).collect();
        let spec = model("centroid_embedding").unwrap();
        let oof: Vec<Option<f64>> = (0..40)
            .map(|r| Some(if d.labels[r] { 0.8 } else { -0.8 }))
            .collect();
        let t = Trained::fit(spec, &d, &train, &oof, PARAMS).unwrap();
        let won = t.predict(&d, 0, 2).unwrap();
        let lost = t.predict(&d, 1, 2).unwrap();
        assert!(
            won.probability > 0.9 && lost.probability < 0.1,
            "{won:?} {lost:?}"
        );
        assert_eq!(won.drivers.len(), 2);
        // The lead without a vector: score 0, the Platt midpoint, and nothing to explain.
        let none = t.predict(&d, 3, 2).unwrap();
        assert!((none.probability - 0.5).abs() < 0.05 && none.drivers.is_empty());
        // Without out-of-fold scores there is nothing to calibrate on: an error, not a panic.
        assert!(Trained::fit(spec, &d, &train, &[], PARAMS).is_err());
    }
}
