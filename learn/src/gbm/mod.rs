//! Histogram gradient-boosted trees for won/lost classification (log-loss), with exact
//! per-row contributions in log-odds.
//!
//! The algorithm is scikit-learn's `HistGradientBoostingClassifier` (itself LightGBM's):
//! features are binned into at most 255 quantile bins ([`binning`]), missing values (NaN) get
//! their own bin and every split learns which way they go, trees grow best-first on gradient
//! histograms with the subtraction trick ([`grow`]), and the defaults are scikit-learn's
//! (learning rate 0.1, 100 iterations, 31 leaves, no depth limit, 20 rows per leaf, no L2,
//! 255 bins). Early stopping on a stratified, seeded validation split uses scikit-learn's rule
//! (stop when none of the last `n_iter_no_change` validation losses beats the one before them
//! by `tol`) and, as scikit-learn, keeps every tree fitted. Everything is deterministic: the only
//! randomness (the validation split, the binning sample beyond 200,000 rows) is drawn from the
//! seed, and parallel work (rayon, over features) is reduced in a fixed order, so the same
//! input gives bit-identical predictions and contributions on any number of threads.
//!
//! Contributions are exact TreeSHAP values ([`tree`]; Saabas path attribution on request, much
//! cheaper, see [`Attribution`]): for each row, `bias + Σ values` is the row's raw score
//! (log-odds) to float rounding, where `bias` is the base score plus every tree's
//! cover-weighted mean — the model's average log-odds over its training rows.
//!
//! ## Why not a crate
//! Checked (Dec 2026) before writing this: `forust-ml` 0.4.8 (XGBoost-style, has seeds, native
//! missing values and Shapley contributions, builds from crates.io) is superseded by its
//! author's `perpetual` and no longer released; `perpetual` 2.3 is maintained, pure Rust and
//! has exact TreeSHAP, but replaces the learning rate / iterations / leaves with a single
//! "budget", stops on wall-clock and memory limits (results then depend on machine load), and
//! brings `sysinfo` and a second `rand`. Neither can be steered as scikit-learn's model is for a
//! like-for-like check, so this module is about a thousand lines of our own, on the `rayon`
//! already in the build.

mod binning;
mod grow;
mod tree;

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::folds::SplitMix64;
use crate::LearnError;
use binning::BinMapper;
use grow::Grower;
use tree::Tree;

/// Early stopping on a held-out part of the training rows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EarlyStopping {
    /// Share of each class held out for validation (scikit-learn: 0.1).
    pub validation_fraction: f64,
    /// Stop when this many iterations in a row bring no improvement (scikit-learn: 10).
    pub n_iter_no_change: usize,
    /// The least decrease of the validation log-loss that counts as an improvement.
    pub tol: f64,
}

impl Default for EarlyStopping {
    fn default() -> Self {
        EarlyStopping {
            validation_fraction: 0.1,
            n_iter_no_change: 10,
            tol: 1e-7,
        }
    }
}

/// Hyper-parameters; the defaults are scikit-learn's `HistGradientBoostingClassifier`'s
/// (except early stopping, off unless asked for).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GbmParams {
    /// Shrinkage of every leaf value.
    pub learning_rate: f64,
    /// Boosting iterations (trees), at most.
    pub max_iter: usize,
    /// Leaves per tree, at most (best-first growth); `None` for no limit.
    pub max_leaf_nodes: Option<usize>,
    /// Splits from the root to any leaf, at most; `None` for no limit.
    pub max_depth: Option<usize>,
    /// Training rows per leaf, at least.
    pub min_samples_leaf: usize,
    /// L2 penalty on leaf values (λ in the gain and in `−G/(H+λ)`).
    pub l2_regularization: f64,
    /// Value bins per feature, 2 to 255 (missing values have one more).
    pub max_bins: usize,
    pub early_stopping: Option<EarlyStopping>,
    /// Seeds the validation split and the binning sample.
    pub seed: u64,
}

impl Default for GbmParams {
    fn default() -> Self {
        GbmParams {
            learning_rate: 0.1,
            max_iter: 100,
            max_leaf_nodes: Some(31),
            max_depth: None,
            min_samples_leaf: 20,
            l2_regularization: 0.0,
            max_bins: 255,
            early_stopping: None,
            seed: 0,
        }
    }
}

impl GbmParams {
    fn check(&self) -> Result<(), LearnError> {
        let bad =
            |name: &'static str, value: f64| Err(LearnError::InvalidParameter { name, value });
        if !(self.learning_rate > 0.0 && self.learning_rate.is_finite()) {
            return bad("learning_rate", self.learning_rate);
        }
        if let Some(m) = self.max_leaf_nodes.filter(|&m| m < 2) {
            return bad("max_leaf_nodes", m as f64);
        }
        if let Some(d) = self.max_depth.filter(|&d| d < 1) {
            return bad("max_depth", d as f64);
        }
        if self.min_samples_leaf < 1 {
            return bad("min_samples_leaf", 0.0);
        }
        if !(self.l2_regularization >= 0.0 && self.l2_regularization.is_finite()) {
            return bad("l2_regularization", self.l2_regularization);
        }
        if !(2..=255).contains(&self.max_bins) {
            return bad("max_bins", self.max_bins as f64);
        }
        if let Some(e) = &self.early_stopping {
            if !(e.validation_fraction > 0.0 && e.validation_fraction < 1.0) {
                return bad("validation_fraction", e.validation_fraction);
            }
            if e.n_iter_no_change < 1 {
                return bad("n_iter_no_change", 0.0);
            }
            if !(e.tol.is_finite()) {
                return bad("tol", e.tol);
            }
        }
        Ok(())
    }
}

/// How a row's raw score is split among features. Both add up to the raw score exactly.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Attribution {
    /// Exact path-dependent TreeSHAP: consistent, credits every feature that matters including
    /// those off the row's path; O(leaves · depth²) per tree (about a millisecond per row for
    /// 100 trees of 31 leaves).
    TreeShap,
    /// Saabas: the change of the mean prediction at each split on the row's path; O(depth) per
    /// tree, but biased toward features split on near the leaves.
    Saabas,
}

/// A row's raw score split by feature: `bias + values.iter().sum()` is the log-odds.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Contributions {
    /// The model's mean log-odds over its training rows.
    pub bias: f64,
    /// One log-odds contribution per feature (TreeSHAP).
    pub values: Vec<f64>,
}

/// A fitted gradient-boosted tree ensemble.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Gbm {
    base_score: f64,
    features: usize,
    trees: Vec<Tree>,
    gains: Vec<f64>,
    #[serde(with = "crate::float_text::vec")]
    validation_loss: Vec<f64>,
}

/// `log(1 + eˣ)` without overflow.
fn softplus(x: f64) -> f64 {
    if x > 0.0 {
        x + (-x).exp().ln_1p()
    } else {
        x.exp().ln_1p()
    }
}

/// `1 / (1 + e⁻ˣ)` without overflow.
fn sigmoid(x: f64) -> f64 {
    if x >= 0.0 {
        1.0 / (1.0 + (-x).exp())
    } else {
        let e = x.exp();
        e / (1.0 + e)
    }
}

fn log_loss(raw: &[f64], y: &[bool]) -> f64 {
    let total: f64 = raw
        .iter()
        .zip(y)
        .map(|(&r, &yi)| softplus(r) - if yi { r } else { 0.0 })
        .sum();
    total / raw.len().max(1) as f64
}

/// scikit-learn's `_should_stop` on losses (lower is better).
fn should_stop(losses: &[f64], e: &EarlyStopping) -> bool {
    let reference = e.n_iter_no_change + 1;
    if losses.len() < reference {
        return false;
    }
    let threshold = losses[losses.len() - reference] - e.tol;
    !losses[losses.len() - e.n_iter_no_change..]
        .iter()
        .any(|&l| l < threshold)
}

/// Stratified, seeded hold-out: `(train, validation)` positions in `labels`, each sorted.
fn split_rows(labels: &[bool], fraction: f64, seed: u64) -> (Vec<u32>, Vec<u32>) {
    let mut rng = SplitMix64::new(seed);
    let mut train = Vec::new();
    let mut validation = Vec::new();
    for class in [false, true] {
        let mut rows: Vec<u32> = (0..labels.len() as u32)
            .filter(|&i| labels[i as usize] == class)
            .collect();
        rng.shuffle(&mut rows);
        // Always leave one row of the class to train on.
        let held = ((fraction * rows.len() as f64).ceil() as usize).min(rows.len() - 1);
        validation.extend_from_slice(&rows[..held]);
        train.extend_from_slice(&rows[held..]);
    }
    train.sort_unstable();
    validation.sort_unstable();
    (train, validation)
}

impl Gbm {
    /// Fits on feature columns (`columns[f][row]`, NaN = missing; `f32` or `f64`) and labels
    /// (`true` = won).
    ///
    /// Errors: no rows ([`LearnError::Empty`]); a column whose length is not the labels'
    /// ([`LearnError::LengthMismatch`]); one class only ([`LearnError::MissingClass`]); a
    /// parameter out of range ([`LearnError::InvalidParameter`]).
    pub fn fit<T>(columns: &[&[T]], labels: &[bool], params: &GbmParams) -> Result<Gbm, LearnError>
    where
        T: Copy + Into<f64> + Sync,
    {
        let rows: Vec<usize> = (0..labels.len()).collect();
        Gbm::fit_rows(columns, labels, &rows, params)
    }

    /// Fits on the given rows only (a cross-validation fold's training rows, say) without
    /// copying them: `labels` and every column hold all rows. Rows may repeat (a bootstrap).
    ///
    /// Errors: as [`Gbm::fit`], with the classes counted among `rows`; a row beyond the labels
    /// is [`LearnError::OutOfRange`].
    pub fn fit_rows<T>(
        columns: &[&[T]],
        labels: &[bool],
        rows: &[usize],
        params: &GbmParams,
    ) -> Result<Gbm, LearnError>
    where
        T: Copy + Into<f64> + Sync,
    {
        params.check()?;
        let n = labels.len();
        if let Some(c) = columns.iter().find(|c| c.len() != n) {
            return Err(LearnError::LengthMismatch {
                what: "feature column",
                expected: n,
                got: c.len(),
            });
        }
        if rows.is_empty() {
            return Err(LearnError::Empty { what: "labels" });
        }
        if n > u32::MAX as usize {
            return Err(LearnError::OutOfRange {
                what: "rows",
                index: n,
                bound: u32::MAX as usize,
            });
        }
        if let Some(&r) = rows.iter().find(|&&r| r >= n) {
            return Err(LearnError::OutOfRange {
                what: "training row",
                index: r,
                bound: n,
            });
        }
        let subset: Vec<bool> = rows.iter().map(|&r| labels[r]).collect();
        for class in [true, false] {
            if !subset.contains(&class) {
                return Err(LearnError::MissingClass { class });
            }
        }
        let (train, validation) = match &params.early_stopping {
            Some(e) => split_rows(&subset, e.validation_fraction, params.seed),
            None => ((0..rows.len() as u32).collect(), Vec::new()),
        };
        let to_rows = |positions: Vec<u32>| -> Vec<u32> {
            positions.iter().map(|&i| rows[i as usize] as u32).collect()
        };
        let (train, validation) = (to_rows(train), to_rows(validation));
        let mapper = BinMapper::fit(columns, &train, params.max_bins, params.seed);
        let binned = mapper.transform(columns, &train);
        let binned_validation = mapper.transform(columns, &validation);
        let y: Vec<bool> = train.iter().map(|&r| labels[r as usize]).collect();
        let y_validation: Vec<bool> = validation.iter().map(|&r| labels[r as usize]).collect();

        let won = y.iter().filter(|&&l| l).count() as f64;
        let p = won / y.len() as f64;
        let base_score = (p / (1.0 - p)).ln();
        let mut raw = vec![base_score; y.len()];
        let mut raw_validation = vec![base_score; y_validation.len()];
        let mut g = vec![0f32; y.len()];
        let mut h = vec![0f32; y.len()];
        let mut trees = Vec::new();
        let mut gains = vec![0.0; columns.len()];
        let mut validation_loss = Vec::new();
        if params.early_stopping.is_some() {
            validation_loss.push(log_loss(&raw_validation, &y_validation));
        }
        let mut grower = Grower::new(&binned, &mapper, params);
        for _ in 0..params.max_iter {
            g.par_iter_mut()
                .zip(h.par_iter_mut())
                .zip(raw.par_iter().zip(&y))
                .with_min_len(4_096)
                .for_each(|((gi, hi), (&r, &yi))| {
                    let p = sigmoid(r);
                    *gi = (p - if yi { 1.0 } else { 0.0 }) as f32;
                    *hi = (p * (1.0 - p)) as f32;
                });
            let grown = grower.grow(&g, &h, &mut raw);
            for (f, gain) in grown.gains {
                gains[f] += gain;
            }
            let tree = grown.tree;
            if let Some(e) = &params.early_stopping {
                let rows = binned_validation.rows;
                raw_validation
                    .par_iter_mut()
                    .enumerate()
                    .for_each(|(i, r)| {
                        let leaf = tree.leaf_of_bins(|f| binned_validation.codes[f * rows + i]);
                        *r += tree.nodes[leaf].value;
                    });
                trees.push(tree);
                validation_loss.push(log_loss(&raw_validation, &y_validation));
                if should_stop(&validation_loss, e) {
                    break;
                }
            } else {
                trees.push(tree);
            }
        }
        Ok(Gbm {
            base_score,
            features: columns.len(),
            trees,
            gains,
            validation_loss,
        })
    }

    fn check_row(&self, row: &[f64]) -> Result<(), LearnError> {
        if row.len() != self.features {
            return Err(LearnError::LengthMismatch {
                what: "feature row",
                expected: self.features,
                got: row.len(),
            });
        }
        Ok(())
    }

    /// The raw score (log-odds of won) of one row (`row[f]`, NaN = missing).
    pub fn decision(&self, row: &[f64]) -> Result<f64, LearnError> {
        self.check_row(row)?;
        Ok(self.base_score
            + self
                .trees
                .iter()
                .map(|t| t.predict(|f| row[f]))
                .sum::<f64>())
    }

    /// The probability of won for one row.
    pub fn predict_proba(&self, row: &[f64]) -> Result<f64, LearnError> {
        self.decision(row).map(sigmoid)
    }

    /// Raw scores of every row of feature columns (as given to [`Gbm::fit`]), in parallel.
    pub fn decision_columns<T>(&self, columns: &[&[T]]) -> Result<Vec<f64>, LearnError>
    where
        T: Copy + Into<f64> + Sync,
    {
        let n = self.check_columns(columns)?;
        Ok((0..n)
            .into_par_iter()
            .map(|i| {
                self.base_score
                    + self
                        .trees
                        .iter()
                        .map(|t| t.predict(|f| columns[f][i].into()))
                        .sum::<f64>()
            })
            .collect())
    }

    /// The row's raw score split into a bias and one TreeSHAP value per feature.
    pub fn contributions(&self, row: &[f64]) -> Result<Contributions, LearnError> {
        self.contributions_with(row, Attribution::TreeShap)
    }

    /// The row's raw score split into a bias and one value per feature, by `attribution`.
    pub fn contributions_with(
        &self,
        row: &[f64],
        attribution: Attribution,
    ) -> Result<Contributions, LearnError> {
        self.check_row(row)?;
        Ok(self.attribute(row, attribution, &mut Vec::new()))
    }

    fn attribute(
        &self,
        row: &[f64],
        attribution: Attribution,
        buffer: &mut Vec<tree::PathElement>,
    ) -> Contributions {
        let mut values = vec![0.0; self.features];
        for t in &self.trees {
            match attribution {
                Attribution::TreeShap => t.add_shap(row, &mut values, buffer),
                Attribution::Saabas => t.add_saabas(row, &mut values),
            }
        }
        Contributions {
            bias: self.bias(),
            values,
        }
    }

    /// [`Gbm::contributions_with`] for every row of feature columns, in parallel over rows. A
    /// row holds one value per feature: pass a range of the columns' rows at a time to bound
    /// memory.
    pub fn contributions_columns<T>(
        &self,
        columns: &[&[T]],
        attribution: Attribution,
    ) -> Result<Vec<Contributions>, LearnError>
    where
        T: Copy + Into<f64> + Sync,
    {
        let n = self.check_columns(columns)?;
        Ok((0..n)
            .into_par_iter()
            .map_init(Vec::new, |buffer, i| {
                let row: Vec<f64> = columns.iter().map(|c| c[i].into()).collect();
                self.attribute(&row, attribution, buffer)
            })
            .collect())
    }

    /// The number of rows of `columns`, after checking they fit the model.
    fn check_columns<T>(&self, columns: &[&[T]]) -> Result<usize, LearnError> {
        if columns.len() != self.features {
            return Err(LearnError::LengthMismatch {
                what: "feature columns",
                expected: self.features,
                got: columns.len(),
            });
        }
        let n = columns.first().map_or(0, |c| c.len());
        if let Some(c) = columns.iter().find(|c| c.len() != n) {
            return Err(LearnError::LengthMismatch {
                what: "feature column",
                expected: n,
                got: c.len(),
            });
        }
        Ok(n)
    }

    /// The base score plus every tree's mean: the model's mean log-odds on its training rows.
    pub fn bias(&self) -> f64 {
        self.base_score + self.trees.iter().map(Tree::expected_value).sum::<f64>()
    }

    /// The log-odds of the training rows' won share, where boosting starts.
    pub fn base_score(&self) -> f64 {
        self.base_score
    }

    /// Trees fitted (fewer than `max_iter` when early stopping stopped).
    pub fn n_iter(&self) -> usize {
        self.trees.len()
    }

    /// Number of features the model was fitted on.
    pub fn n_features(&self) -> usize {
        self.features
    }

    /// Total split gain per feature over all trees (LightGBM's "gain" importance).
    pub fn feature_gains(&self) -> &[f64] {
        &self.gains
    }

    /// Validation log-loss before the first tree and after each one (empty without early
    /// stopping).
    pub fn validation_loss(&self) -> &[f64] {
        &self.validation_loss
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn should_stop_follows_scikit_learn() {
        let e = EarlyStopping {
            validation_fraction: 0.1,
            n_iter_no_change: 2,
            tol: 0.0,
        };
        assert!(!should_stop(&[1.0, 0.9], &e));
        assert!(!should_stop(&[1.0, 0.9, 0.8], &e));
        assert!(should_stop(&[1.0, 0.9, 0.95, 0.91], &e));
        assert!(!should_stop(&[1.0, 0.9, 0.95, 0.89], &e));
    }

    #[test]
    fn bad_input_is_an_error() {
        let x = [1.0f64, 2.0, 3.0];
        let p = GbmParams::default();
        assert_eq!(
            Gbm::fit(&[&x[..]], &[true, true, true], &p),
            Err(LearnError::MissingClass { class: false })
        );
        assert!(matches!(
            Gbm::fit(&[&x[..2]], &[true, false, true], &p),
            Err(LearnError::LengthMismatch { .. })
        ));
        assert!(matches!(
            Gbm::fit::<f64>(&[], &[], &p),
            Err(LearnError::Empty { .. })
        ));
        let bad = GbmParams {
            learning_rate: f64::NAN,
            ..GbmParams::default()
        };
        assert!(matches!(
            Gbm::fit(&[&x[..]], &[true, false, true], &bad),
            Err(LearnError::InvalidParameter {
                name: "learning_rate",
                ..
            })
        ));
        let m = Gbm::fit(&[&x[..]], &[true, false, true], &p).unwrap();
        assert!(matches!(
            m.decision(&[1.0, 2.0]),
            Err(LearnError::LengthMismatch { .. })
        ));
    }

    #[test]
    fn no_feature_gives_the_base_rate() {
        let m = Gbm::fit::<f64>(&[], &[true, false, false, false], &GbmParams::default()).unwrap();
        let p = m.predict_proba(&[]).unwrap();
        assert!((p - 0.25).abs() < 1e-9, "{p}");
    }

    /// Leaves of a tree with their depth.
    fn leaves(t: &Tree, node: usize, depth: usize, out: &mut Vec<(usize, f64)>) {
        let n = &t.nodes[node];
        if n.leaf {
            out.push((depth, n.cover));
        } else {
            leaves(t, n.left as usize, depth + 1, out);
            leaves(t, n.right as usize, depth + 1, out);
        }
    }

    fn noisy_steps(n: usize, seed: u64) -> (Vec<f64>, Vec<f64>, Vec<bool>) {
        let mut rng = SplitMix64::new(seed);
        let a: Vec<f64> = (0..n).map(|_| rng.below(10_000) as f64 / 100.0).collect();
        let b: Vec<f64> = (0..n).map(|_| rng.below(10_000) as f64 / 100.0).collect();
        let y = a
            .iter()
            .zip(&b)
            .map(|(&a, &b)| (a > 50.0) != (b > 30.0) || rng.below(10) == 0)
            .collect();
        (a, b, y)
    }

    #[test]
    fn trees_respect_leaf_depth_and_leaf_size_limits() {
        let (a, b, y) = noisy_steps(3_000, 1);
        for (max_leaf_nodes, max_depth, min_samples_leaf) in [
            (Some(5), None, 20),
            (None, Some(3), 1),
            (Some(31), Some(4), 100),
        ] {
            let p = GbmParams {
                max_iter: 10,
                max_leaf_nodes,
                max_depth,
                min_samples_leaf,
                ..GbmParams::default()
            };
            let m = Gbm::fit(&[&a[..], &b[..]], &y, &p).unwrap();
            for t in &m.trees {
                let mut found = Vec::new();
                leaves(t, 0, 0, &mut found);
                assert!(found.len() <= max_leaf_nodes.unwrap_or(usize::MAX));
                assert!(found
                    .iter()
                    .all(|&(d, _)| d <= max_depth.unwrap_or(usize::MAX)));
                assert!(found.iter().all(|&(_, c)| c >= min_samples_leaf as f64));
                assert_eq!(found.iter().map(|l| l.1).sum::<f64>(), 3_000.0);
            }
            // Depth-wise (no leaf limit): the first tree is complete to its depth.
            if max_leaf_nodes.is_none() {
                let mut found = Vec::new();
                leaves(&m.trees[0], 0, 0, &mut found);
                assert_eq!(found.len(), 8, "{found:?}");
            }
        }
    }

    #[test]
    fn missing_values_unseen_in_training_follow_the_larger_child() {
        let (a, b, y) = noisy_steps(3_000, 2);
        let p = GbmParams {
            max_iter: 1,
            max_leaf_nodes: Some(2),
            ..GbmParams::default()
        };
        let m = Gbm::fit(&[&a[..], &b[..]], &y, &p).unwrap();
        let root = &m.trees[0].nodes[0];
        let (l, r) = (
            &m.trees[0].nodes[root.left as usize],
            &m.trees[0].nodes[root.right as usize],
        );
        assert_eq!(root.missing_left, l.cover >= r.cover);
        let larger = if l.cover >= r.cover { l.value } else { r.value };
        assert_eq!(
            m.decision(&[f64::NAN, f64::NAN]).unwrap(),
            m.base_score() + larger
        );
    }

    #[test]
    fn early_stopping_stops_on_noise_and_keeps_a_stratified_split() {
        let n = 2_000;
        let mut rng = SplitMix64::new(7);
        let x: Vec<f64> = (0..n).map(|_| rng.below(1_000) as f64).collect();
        let y: Vec<bool> = (0..n).map(|_| rng.below(2) == 1).collect();
        let p = GbmParams {
            early_stopping: Some(EarlyStopping::default()),
            ..GbmParams::default()
        };
        let m = Gbm::fit(&[&x[..]], &y, &p).unwrap();
        assert!(m.n_iter() < 100, "{} trees on pure noise", m.n_iter());
        assert_eq!(m.validation_loss().len(), m.n_iter() + 1);
        let (train, val) = split_rows(&y, 0.1, 0);
        assert_eq!(train.len() + val.len(), n);
        let won = y.iter().filter(|&&l| l).count();
        let val_won = val.iter().filter(|&&r| y[r as usize]).count();
        assert_eq!(val_won, won.div_ceil(10));
    }
}
