//! Out-of-fold cross-validation without information leaking across folds.
//!
//! [`out_of_fold`] hands the caller each fold's training and test row indices; the caller fits
//! *everything* — centroids, standardisers, one-hot and TF-IDF vocabularies, the model — on the
//! training rows inside the closure and returns scores for the test rows. The scores are
//! gathered in row order, so every row is scored by a model that never saw it, and the pooled
//! scores can go straight to [`crate::evaluate`]. [`per_fold_metrics`] gives the per-fold view
//! (for spread across folds).
//!
//! Note that pooling out-of-fold scores assumes scores from different folds' models are on a
//! comparable scale (true for probabilities and for centroid cosines); the per-fold metrics do
//! not need that assumption.

use crate::calibration::{self, Calibration};
use crate::design::Dataset;
use crate::folds::{shuffled, stratified_kfold, train_test};
use crate::metrics::{evaluate, Metrics};
use crate::models::{fold_scores, ModelSpec, Params, MODELS};
use crate::{roc_auc, LearnError};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

fn check_folds(n: usize, folds: &[usize], k: usize) -> Result<(), LearnError> {
    if k < 2 {
        return Err(LearnError::InvalidK { k });
    }
    if folds.len() != n {
        return Err(LearnError::LengthMismatch {
            what: "folds vs rows",
            expected: n,
            got: folds.len(),
        });
    }
    if let Some(&f) = folds.iter().find(|&&f| f >= k) {
        return Err(LearnError::OutOfRange {
            what: "fold",
            index: f,
            bound: k,
        });
    }
    Ok(())
}

/// Runs `fit_score(train, test)` for every fold `0..k` that has test rows (indices ascending)
/// and returns the out-of-fold scores in row order.
///
/// Errors: [`LearnError::InvalidK`] for `k < 2`; [`LearnError::LengthMismatch`] when
/// `folds.len() != n` or when `fit_score` returns a number of scores other than the number of
/// test rows; [`LearnError::OutOfRange`] for a fold `>= k`; and the first error `fit_score`
/// returns, unchanged.
pub fn out_of_fold<F>(
    n: usize,
    folds: &[usize],
    k: usize,
    mut fit_score: F,
) -> Result<Vec<f64>, LearnError>
where
    F: FnMut(&[usize], &[usize]) -> Result<Vec<f64>, LearnError>,
{
    check_folds(n, folds, k)?;
    let mut scores = vec![f64::NAN; n];
    for f in 0..k {
        let (train, test) = train_test(folds, f);
        if test.is_empty() {
            continue;
        }
        place(&mut scores, &test, fit_score(&train, &test)?)?;
    }
    Ok(scores)
}

/// A fold's scores put at its test rows.
fn place(scores: &mut [f64], test: &[usize], fold_scores: Vec<f64>) -> Result<(), LearnError> {
    if fold_scores.len() != test.len() {
        return Err(LearnError::LengthMismatch {
            what: "fold scores vs test rows",
            expected: test.len(),
            got: fold_scores.len(),
        });
    }
    for (&row, score) in test.iter().zip(fold_scores) {
        scores[row] = score;
    }
    Ok(())
}

/// A fold's test rows and their scores.
type FoldScores = (Vec<usize>, Vec<f64>);

/// [`out_of_fold`] with the folds fitted in parallel (rayon): the same scores, as each fold's
/// fit depends on its rows alone. The first error in fold order is returned.
///
/// Errors: those of [`out_of_fold`].
pub fn out_of_fold_parallel<F>(
    n: usize,
    folds: &[usize],
    k: usize,
    fit_score: F,
) -> Result<Vec<f64>, LearnError>
where
    F: Fn(&[usize], &[usize]) -> Result<Vec<f64>, LearnError> + Sync,
{
    check_folds(n, folds, k)?;
    let per_fold: Vec<Result<FoldScores, LearnError>> = (0..k)
        .into_par_iter()
        .map(|f| {
            let (train, test) = train_test(folds, f);
            if test.is_empty() {
                return Ok((test, Vec::new()));
            }
            let s = fit_score(&train, &test)?;
            Ok((test, s))
        })
        .collect();
    let mut scores = vec![f64::NAN; n];
    for fold in per_fold {
        let (test, fold_scores) = fold?;
        place(&mut scores, &test, fold_scores)?;
    }
    Ok(scores)
}

/// [`evaluate`] on each fold's rows separately (folds without rows are skipped, so the result
/// may be shorter than `k`), in fold order.
///
/// Errors: those of [`evaluate`], plus [`LearnError::InvalidK`], [`LearnError::OutOfRange`]
/// and [`LearnError::LengthMismatch`] for inconsistent `folds`.
pub fn per_fold_metrics(
    scores: &[f64],
    labels: &[bool],
    folds: &[usize],
    k: usize,
    threshold: f64,
) -> Result<Vec<Metrics>, LearnError> {
    check_folds(scores.len(), folds, k)?;
    if labels.len() != scores.len() {
        return Err(LearnError::LengthMismatch {
            what: "scores vs labels",
            expected: labels.len(),
            got: scores.len(),
        });
    }
    let mut out = Vec::new();
    for f in 0..k {
        let (_, test) = train_test(folds, f);
        if test.is_empty() {
            continue;
        }
        let s: Vec<f64> = test.iter().map(|&i| scores[i]).collect();
        let l: Vec<bool> = test.iter().map(|&i| labels[i]).collect();
        out.push(evaluate(&s, &l, threshold)?);
    }
    Ok(out)
}

/// The folds of a cross-validation and of its shuffled-label control.
#[derive(Debug, Clone, PartialEq)]
pub struct Folds {
    pub k: usize,
    /// The fold of each row.
    pub folds: Vec<usize>,
    /// The labels shuffled (seeded): what chance looks like on this data.
    pub control_labels: Vec<bool>,
    /// Stratified folds of the shuffled labels.
    pub control_folds: Vec<usize>,
    /// The seed everything random of this cross-validation derives from.
    pub seed: u64,
}

impl Folds {
    /// Seeded stratified `k` folds of `labels`, and of the same labels shuffled.
    ///
    /// Errors: those of [`stratified_kfold`] (too few rows of a class for `k` folds, `k < 2`).
    pub fn new(labels: &[bool], k: usize, seed: u64) -> Result<Folds, LearnError> {
        let folds = stratified_kfold(labels, k, seed)?;
        let control_labels = shuffled(labels, seed);
        let control_folds = stratified_kfold(&control_labels, k, seed)?;
        Ok(Folds {
            k,
            folds,
            control_labels,
            control_folds,
            seed,
        })
    }
}

/// One model's cross-validated result.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelOutcome {
    pub spec: &'static ModelSpec,
    /// Out-of-fold score per row.
    pub scores: Vec<f64>,
    /// Metrics of the pooled out-of-fold scores.
    pub metrics: Metrics,
    /// Metrics of each fold's rows.
    pub per_fold: Vec<Metrics>,
    /// Metrics of the same cross-validation on shuffled labels.
    pub control: Metrics,
    /// The out-of-fold scores as probabilities: calibrated fold by fold (Platt or isotonic) on
    /// the other folds' out-of-fold scores ([`crate::calibration::cross_fitted`]).
    pub probabilities: Vec<f64>,
    /// How those probabilities hold (Brier, log-loss, ECE, reliability bins).
    pub calibration: Calibration,
    /// A 95 % bootstrap interval of the out-of-fold ROC-AUC (200 resamples).
    pub roc_auc_interval: Option<(f64, f64)>,
}

/// The model choice made inside the cross-validation (nested): for each outer fold, the model
/// with the best ROC-AUC in an inner cross-validation on that fold's training rows, and how the
/// chosen model did on the held-out fold. The mean of those is an honest estimate of the
/// chosen model's ROC-AUC on new leads (picking the best of several out-of-fold figures is not).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NestedChoice {
    /// Inner folds per outer training set.
    pub inner_k: usize,
    /// Per outer fold: the chosen model and its ROC-AUC on the held-out fold.
    pub per_fold: Vec<(String, Option<f64>)>,
    /// The honest figure: ROC-AUC of the chosen models' calibrated probabilities pooled over
    /// the held-out folds (pooled like every model's out-of-fold figure, so comparable to them).
    pub roc_auc: Option<f64>,
    /// Mean of the held-out folds' own ROC-AUC (a noisier, usually higher, estimator).
    pub mean_fold_roc_auc: Option<f64>,
    /// Brier score and ECE of the same pooled probabilities.
    pub pooled_brier: f64,
    pub pooled_ece: f64,
    /// What perfectly calibrated probabilities would show as ECE at this sample size
    /// ([`crate::calibration::Calibration::ece_by_chance`]).
    #[serde(default)]
    pub pooled_ece_by_chance: f64,
}

/// Every model of [`MODELS`] cross-validated on one dataset.
#[derive(Debug, Clone, PartialEq)]
pub struct CrossValidation {
    /// In [`MODELS`] order, without the skipped ones.
    pub models: Vec<ModelOutcome>,
    /// Why a model was skipped, for people.
    pub notes: Vec<String>,
    /// The honest figure of the model choice; `None` with fewer than two models.
    pub nested: Option<NestedChoice>,
}

impl CrossValidation {
    /// The model with the highest out-of-fold ROC-AUC; ties keep the simpler (earlier) one.
    pub fn best(&self) -> Option<&ModelOutcome> {
        self.models
            .iter()
            .filter(|m| m.metrics.roc_auc.is_some())
            .fold(None::<&ModelOutcome>, |b, m| match b {
                Some(b) if b.metrics.roc_auc >= m.metrics.roc_auc => Some(b),
                _ => Some(m),
            })
    }
}

/// Cross-validates every model of [`MODELS`] on `d` (its labels in `d.labels`) with `folds`,
/// and each again on the shuffled labels (the control). Every transform and model is fitted on
/// the training folds only. A model that reads the embedding is skipped (with a note) when no
/// lead has one. `on_step` is told each finished step ("name", then "name control"), for
/// progress.
///
/// Errors: the first error of a model, as [`LearnError::Model`] naming it.
pub fn cross_validate(
    d: &Dataset,
    folds: &Folds,
    params: Params,
    mut on_step: impl FnMut(&str),
    cancelled: &(dyn Fn() -> bool + Sync),
) -> Result<CrossValidation, LearnError> {
    d.check()?;
    let mut cv = CrossValidation {
        models: Vec::new(),
        notes: Vec::new(),
        nested: None,
    };
    let has_embedding = d.has_embedding();
    for spec in MODELS {
        if spec.uses_embedding() && !has_embedding {
            cv.notes
                .push(format!("{}: no lead has an embedding; skipped", spec.name));
            continue;
        }
        if spec.only_attributes() && d.attributes.is_empty() {
            cv.notes.push(format!(
                "{}: the lead list has no attributes; skipped",
                spec.name
            ));
            continue;
        }
        let in_model = |control: bool| {
            move |e: LearnError| LearnError::Model {
                model: spec.name,
                control,
                source: Box::new(e),
            }
        };
        let k = folds.k;
        let t = spec.threshold();
        // Checked before every fold's fit, so that a stop waits for one fit at most.
        let fold = |labels: &[bool], train: &[usize], test: &[usize]| {
            if cancelled() {
                return Err(LearnError::Cancelled);
            }
            fold_scores(spec, d, labels, train, test, params)
        };
        // The model's folds and its control's, all in parallel (each fit reads its rows alone).
        let (scores, control) = rayon::join(
            || {
                out_of_fold_parallel(d.len(), &folds.folds, k, |train, test| {
                    fold(&d.labels, train, test)
                })
                .and_then(|s| {
                    let metrics = evaluate(&s, &d.labels, t)?;
                    let per_fold = per_fold_metrics(&s, &d.labels, &folds.folds, k, t)?;
                    Ok((s, metrics, per_fold))
                })
                .map_err(in_model(false))
            },
            || {
                out_of_fold_parallel(d.len(), &folds.control_folds, k, |train, test| {
                    fold(&folds.control_labels, train, test)
                })
                .and_then(|s| evaluate(&s, &folds.control_labels, t))
                .map_err(in_model(true))
            },
        );
        let (scores, control) = (scores?, control?);
        on_step(spec.name);
        on_step(&format!("{} control", spec.name));
        let (scores, metrics, per_fold) = scores;
        let on_log_odds = !matches!(spec.kind, crate::models::Kind::Centroid);
        let (probabilities, methods) =
            calibration::cross_fitted(&scores, &d.labels, &folds.folds, k, on_log_odds)
                .map_err(in_model(false))?;
        let mut quality =
            calibration::quality(&probabilities, &d.labels).map_err(in_model(false))?;
        quality.method = calibration::methods_summary(&methods);
        let roc_auc_interval = calibration::bootstrap_auc(&scores, &d.labels, 200, folds.seed)
            .map_err(in_model(false))?;
        cv.models.push(ModelOutcome {
            spec,
            scores,
            metrics,
            per_fold,
            control,
            probabilities,
            calibration: quality,
            roc_auc_interval,
        });
    }
    if cv.models.len() > 1 {
        cv.nested = Some(nested_choice(d, folds, &cv.models, params, cancelled)?);
    }
    Ok(cv)
}

/// Folds of the inner cross-validation of [`nested_choice`].
const INNER_K: usize = 3;

/// The model choice inside the cross-validation (see [`NestedChoice`]).
fn nested_choice(
    d: &Dataset,
    folds: &Folds,
    models: &[ModelOutcome],
    params: Params,
    cancelled: &(dyn Fn() -> bool + Sync),
) -> Result<NestedChoice, LearnError> {
    let mut per_fold = Vec::new();
    let mut pooled = vec![f64::NAN; d.len()];
    for f in 0..folds.k {
        let (train, test) = train_test(&folds.folds, f);
        if test.is_empty() {
            continue;
        }
        let y: Vec<bool> = train.iter().map(|&r| d.labels[r]).collect();
        let inner = stratified_kfold(&y, INNER_K, folds.seed.wrapping_add(f as u64))?;
        // Every model's inner folds, in parallel (each fit reads its rows alone).
        let tasks: Vec<(usize, usize)> = (0..models.len())
            .flat_map(|i| (0..INNER_K).map(move |g| (i, g)))
            .collect();
        let fitted: Vec<Result<(usize, FoldScores), LearnError>> = tasks
            .par_iter()
            .map(|&(i, g)| {
                if cancelled() {
                    return Err(LearnError::Cancelled);
                }
                let m = &models[i];
                let (itr, ite) = train_test(&inner, g);
                let itr: Vec<usize> = itr.iter().map(|&j| train[j]).collect();
                let rows: Vec<usize> = ite.iter().map(|&j| train[j]).collect();
                let s = fold_scores(m.spec, d, &d.labels, &itr, &rows, params).map_err(|e| {
                    LearnError::Model {
                        model: m.spec.name,
                        control: false,
                        source: Box::new(e),
                    }
                })?;
                Ok((i, (ite, s)))
            })
            .collect();
        let mut scores = vec![vec![0.0; train.len()]; models.len()];
        for one in fitted {
            let (i, (ite, s)) = one?;
            for (&j, v) in ite.iter().zip(s) {
                scores[i][j] = v;
            }
        }
        let mut best: Option<(usize, f64)> = None;
        for (i, scores) in scores.iter().enumerate() {
            let auc = roc_auc(scores, &y)?.unwrap_or(0.5);
            // Ties keep the simpler (earlier) model, as [`CrossValidation::best`] does.
            if best.is_none_or(|(_, b)| auc > b) {
                best = Some((i, auc));
            }
        }
        let Some((i, _)) = best else { continue };
        let m = &models[i];
        let s: Vec<f64> = test.iter().map(|&r| m.scores[r]).collect();
        let l: Vec<bool> = test.iter().map(|&r| d.labels[r]).collect();
        per_fold.push((m.spec.name.to_owned(), roc_auc(&s, &l)?));
        for &r in &test {
            pooled[r] = m.probabilities[r];
        }
    }
    let aucs: Vec<f64> = per_fold.iter().filter_map(|(_, a)| *a).collect();
    let roc_auc_mean = (!aucs.is_empty()).then(|| aucs.iter().sum::<f64>() / aucs.len() as f64);
    let q = calibration::quality(&pooled, &d.labels)?;
    Ok(NestedChoice {
        inner_k: INNER_K,
        per_fold,
        roc_auc: roc_auc(&pooled, &d.labels)?,
        mean_fold_roc_auc: roc_auc_mean,
        pooled_brier: q.brier,
        pooled_ece: q.ece,
        pooled_ece_by_chance: q.ece_by_chance,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::centroid::Centroid;
    use crate::folds::{stratified_kfold, SplitMix64};
    use crate::logistic::{dense_row, push_dense, Logistic, SparseRow};
    use crate::scale::{OneHot, Standardizer};
    use crate::tfidf::Tfidf;

    #[test]
    fn scores_land_in_row_order_and_never_see_their_row() {
        let labels: Vec<bool> = (0..20).map(|i| i % 3 == 0).collect();
        let folds = stratified_kfold(&labels, 4, 1).unwrap();
        let mut calls = 0;
        let scores = out_of_fold(20, &folds, 4, |train, test| {
            calls += 1;
            assert!(test.iter().all(|t| !train.contains(t)));
            assert_eq!(train.len() + test.len(), 20);
            Ok(test.iter().map(|&i| i as f64).collect())
        })
        .unwrap();
        assert_eq!(calls, 4);
        assert_eq!(scores, (0..20).map(|i| i as f64).collect::<Vec<_>>());
    }

    #[test]
    fn errors_are_reported() {
        let folds = [0, 1, 0, 1];
        assert!(matches!(
            out_of_fold(4, &folds, 2, |_, _| Ok(vec![1.0])),
            Err(LearnError::LengthMismatch { .. })
        ));
        assert_eq!(
            out_of_fold(4, &folds, 2, |_, _| Err(LearnError::Empty { what: "x" })),
            Err(LearnError::Empty { what: "x" })
        );
        assert!(matches!(
            out_of_fold(4, &[0, 2, 0, 1], 2, |_, t| Ok(vec![0.0; t.len()])),
            Err(LearnError::OutOfRange { index: 2, .. })
        ));
        assert!(matches!(
            out_of_fold(5, &folds, 2, |_, t| Ok(vec![0.0; t.len()])),
            Err(LearnError::LengthMismatch { .. })
        ));
        assert_eq!(
            out_of_fold(4, &folds, 1, |_, t| Ok(vec![0.0; t.len()])),
            Err(LearnError::InvalidK { k: 1 })
        );
    }

    #[test]
    fn per_fold_metrics_splits_rows() {
        let labels = [true, false, true, false, true, false];
        let scores = [0.9, 0.1, 0.8, 0.7, 0.2, 0.3];
        let folds = [0, 0, 1, 1, 2, 2];
        let m = per_fold_metrics(&scores, &labels, &folds, 3, 0.5).unwrap();
        assert_eq!(m.len(), 3);
        assert_eq!(m[0].roc_auc, Some(1.0));
        assert_eq!(m[1].roc_auc, Some(1.0));
        assert_eq!(m[2].roc_auc, Some(0.0));
    }

    /// Synthetic leads: an embedding that leans towards the label, a numeric column with
    /// missing values, a category, and a text.
    struct Leads {
        labels: Vec<bool>,
        embeddings: Vec<Vec<f32>>,
        employees: Vec<Option<f64>>,
        sector: Vec<Option<&'static str>>,
        text: Vec<String>,
    }

    fn leads(n: usize) -> Leads {
        let mut rng = SplitMix64::new(11);
        let mut unit = || (rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64;
        let mut l = Leads {
            labels: Vec::new(),
            embeddings: Vec::new(),
            employees: Vec::new(),
            sector: Vec::new(),
            text: Vec::new(),
        };
        for i in 0..n {
            let won = i % 3 == 0;
            let lean = if won { 0.6 } else { -0.6 };
            l.labels.push(won);
            l.embeddings.push(
                (0..8)
                    .map(|d| (unit() - 0.5 + if d == 0 { lean } else { 0.0 }) as f32)
                    .collect(),
            );
            l.employees
                .push((i % 7 != 0).then(|| 10.0 + 100.0 * unit()));
            l.sector.push([Some("saas"), Some("retail"), None][i % 3]);
            l.text.push(if won && unit() < 0.8 {
                "cloud software platform for teams".to_owned()
            } else {
                "family bakery and shop in town".to_owned()
            });
        }
        l
    }

    #[test]
    fn end_to_end_baselines_fit_inside_folds() {
        let l = leads(90);
        let folds = stratified_kfold(&l.labels, 5, 42).unwrap();

        // (1) Centroid cosine on the embedding.
        let centroid = out_of_fold(l.labels.len(), &folds, 5, |train, test| {
            let vs: Vec<&[f32]> = train.iter().map(|&i| l.embeddings[i].as_slice()).collect();
            let ys: Vec<bool> = train.iter().map(|&i| l.labels[i]).collect();
            let c = Centroid::fit(&vs, &ys)?;
            Ok(test.iter().map(|&i| c.score(&l.embeddings[i])).collect())
        })
        .unwrap();
        let m = evaluate(&centroid, &l.labels, 0.0).unwrap();
        assert!(m.roc_auc.unwrap() > 0.8, "centroid AUC {:?}", m.roc_auc);

        // (2) Logistic on embedding + standardised numeric + one-hot category, with every
        // transformer fitted on the training fold only.
        let logistic = out_of_fold(l.labels.len(), &folds, 5, |train, test| {
            let scaler = Standardizer::fit(&[train.iter().map(|&i| l.employees[i]).collect()]);
            let onehot = OneHot::fit(&train.iter().map(|&i| l.sector[i]).collect::<Vec<_>>());
            let dim = 8 + scaler.len() + onehot.len();
            let row = |i: usize| -> Result<SparseRow, LearnError> {
                let emb: Vec<f64> = l.embeddings[i].iter().map(|&x| f64::from(x)).collect();
                let mut r = dense_row(&emb);
                push_dense(&mut r, 8, &scaler.transform(&[l.employees[i]])?);
                push_dense(&mut r, 9, &onehot.transform(l.sector[i]));
                Ok(r)
            };
            let rows = train
                .iter()
                .map(|&i| row(i))
                .collect::<Result<Vec<_>, _>>()?;
            let ys: Vec<bool> = train.iter().map(|&i| l.labels[i]).collect();
            let model = Logistic::fit(&rows, dim, &ys, 1.0)?;
            test.iter()
                .map(|&i| -> Result<f64, LearnError> { Ok(model.predict_proba(&row(i)?)) })
                .collect()
        })
        .unwrap();
        let m = evaluate(&logistic, &l.labels, 0.5).unwrap();
        assert!(m.roc_auc.unwrap() > 0.8, "logistic AUC {:?}", m.roc_auc);

        // (3) TF-IDF + logistic on the text.
        let text = out_of_fold(l.labels.len(), &folds, 5, |train, test| {
            let docs: Vec<&str> = train.iter().map(|&i| l.text[i].as_str()).collect();
            let tfidf = Tfidf::fit(&docs, 1);
            let rows: Vec<SparseRow> = docs.iter().map(|d| tfidf.transform(d)).collect();
            let ys: Vec<bool> = train.iter().map(|&i| l.labels[i]).collect();
            let model = Logistic::fit(&rows, tfidf.vocabulary_len(), &ys, 1.0)?;
            Ok(test
                .iter()
                .map(|&i| model.predict_proba(&tfidf.transform(&l.text[i])))
                .collect())
        })
        .unwrap();
        let m = evaluate(&text, &l.labels, 0.5).unwrap();
        assert!(m.roc_auc.unwrap() > 0.8, "text AUC {:?}", m.roc_auc);
        assert!(m.lift_35.unwrap() > 1.5);
        let per_fold = per_fold_metrics(&text, &l.labels, &folds, 5, 0.5).unwrap();
        assert_eq!(per_fold.len(), 5);
    }

    /// 60 leads whose web `pages` carries the label; no embedding, some text.
    fn web_signal() -> Dataset {
        use crate::design::{Block, Column};
        let mut rng = SplitMix64::new(7);
        let labels: Vec<bool> = (0..60).map(|i| i % 3 != 0).collect();
        let pages = labels
            .iter()
            .map(|&l| Some(rng.below(1000) as f64 / 1000.0 + if l { 1.0 } else { 0.0 }))
            .collect();
        Dataset {
            embedding: vec![None; 60],
            firmographics: Block::default(),
            web: Block {
                numeric: vec![Column::new("pages", pages)],
                categorical: vec![],
            },
            attributes: Block::default(),
            text: (0..60).map(|i| format!("lead number{}", i % 4)).collect(),
            labels,
        }
    }

    #[test]
    fn every_model_is_cross_validated_against_its_control_and_the_best_is_chosen() {
        let d = web_signal();
        let folds = Folds::new(&d.labels, 5, 42).unwrap();
        assert_ne!(folds.control_labels, d.labels);
        let mut steps = Vec::new();
        let cv = cross_validate(
            &d,
            &folds,
            Params {
                c: 1.0,
                tol: 1e-4,
                min_df: 2,
                seed: 0,
            },
            |s| steps.push(s.to_owned()),
            &|| false,
        )
        .unwrap();
        // Without embeddings, the four models that read one are skipped and say so (and the
        // attributes-only one, without attributes).
        let names: Vec<&str> = cv.models.iter().map(|m| m.spec.name).collect();
        assert_eq!(
            names,
            [
                "logistic_firmographics",
                "logistic_web",
                "tfidf_logistic",
                "gradient_boosted_trees"
            ]
        );
        assert_eq!(cv.notes.len(), 5, "{:?}", cv.notes);
        assert!(cv.notes[0].starts_with("centroid_embedding: no lead has an embedding"));
        assert_eq!(steps.len(), 8);
        assert_eq!(steps[1], "logistic_firmographics control");
        let web = &cv.models[1];
        assert_eq!(web.scores.len(), 60);
        assert_eq!(web.per_fold.len(), 5);
        assert!(web.metrics.roc_auc.unwrap() > 0.9, "{:?}", web.metrics);
        assert!(web.control.roc_auc.unwrap() < 0.75, "{:?}", web.control);
        // Firmographics are empty: every lead scores alike, ROC-AUC 0.5; the web model wins.
        assert_eq!(cv.models[0].metrics.roc_auc, Some(0.5));
        let trees = &cv.models[3];
        assert!(trees.metrics.roc_auc.unwrap() > 0.9, "{:?}", trees.metrics);
        let best = cv.best().unwrap();
        assert!(["logistic_web", "gradient_boosted_trees"].contains(&best.spec.name));
        // The scores are those of folds fitted without the scored row.
        let (train, test) = train_test(&folds.folds, 2);
        let again = fold_scores(
            web.spec,
            &d,
            &d.labels,
            &train,
            &test,
            Params {
                c: 1.0,
                tol: 1e-4,
                min_df: 2,
                seed: 0,
            },
        )
        .unwrap();
        for (&r, s) in test.iter().zip(again) {
            assert_eq!(web.scores[r], s);
        }
    }

    #[test]
    fn a_failing_model_is_named_and_too_few_labels_are_an_error() {
        let d = web_signal();
        let folds = Folds::new(&d.labels, 5, 42).unwrap();
        let err = cross_validate(
            &d,
            &folds,
            Params {
                c: -1.0,
                tol: 1e-4,
                min_df: 2,
                seed: 0,
            },
            |_| (),
            &|| false,
        )
        .unwrap_err();
        assert!(
            matches!(&err, LearnError::Model { model: "logistic_firmographics", control: false, source }
                if matches!(**source, LearnError::InvalidParameter { name: "C", .. })),
            "{err:?}"
        );
        assert!(
            err.to_string()
                .starts_with("model logistic_firmographics: "),
            "{err}"
        );
        assert!(matches!(
            Folds::new(&d.labels[..6], 5, 42),
            Err(LearnError::TooFewPerClass { .. })
        ));
    }

    #[test]
    fn a_cancellation_stops_before_the_next_fold_fit() {
        let d = web_signal();
        let folds = Folds::new(&d.labels, 5, 42).unwrap();
        // Cancelled from the fourth check on: the first model's folds (and its control's, fitted
        // beside them) stop there, and no later model starts.
        let fits = std::sync::atomic::AtomicUsize::new(0);
        let cancelled = || fits.fetch_add(1, std::sync::atomic::Ordering::SeqCst) + 1 > 3;
        let mut steps = 0;
        let err = cross_validate(
            &d,
            &folds,
            Params {
                c: 1.0,
                tol: 1e-4,
                min_df: 2,
                seed: 0,
            },
            |_| steps += 1,
            &cancelled,
        )
        .unwrap_err();
        assert!(err.is_cancelled(), "{err:?}");
        assert_eq!(steps, 0, "no model finished");
        // One check per fold of the first model and of its control, at most.
        let checks = fits.load(std::sync::atomic::Ordering::SeqCst);
        assert!((4..=2 * folds.k).contains(&checks), "{checks} checks");
    }
}
