//! Probabilities a sales team can read as probabilities, and how well they hold.
//!
//! A model's scores rank leads, but a logistic regression's probabilities are pulled towards
//! 0.5 by its regularisation, trees' by their shrinkage, and the centroid's cosine difference
//! is no probability at all. [`Platt`] scaling maps a model's score to a probability with a
//! one-feature logistic regression fitted on *out-of-fold* scores, so no lead calibrates its
//! own score. [`cross_fitted`] does that inside the cross-validation (fold `f`'s probabilities
//! from a Platt fit on the other folds' out-of-fold scores), which gives honest calibration
//! figures: the Brier score, the log-loss and the expected calibration error of [`quality`],
//! with the reliability bins for a plot. [`bootstrap_auc`] puts a confidence interval on a
//! ROC-AUC.

use serde::{Deserialize, Serialize};

use crate::folds::SplitMix64;
use crate::{dense_row, roc_auc, train_test, LearnError, Logistic};

/// A score → probability map: `σ(a · x + b)`, `x` the score (a probability's log-odds).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Platt {
    pub a: f64,
    pub b: f64,
    /// Whether scores are probabilities (mapped to log-odds first).
    pub on_log_odds: bool,
}

fn logit(p: f64) -> f64 {
    let p = p.clamp(1e-9, 1.0 - 1e-9);
    (p / (1.0 - p)).ln()
}

impl Platt {
    /// Fits on `(score, label)` pairs; `on_log_odds` for scores that are probabilities.
    pub fn fit(scores: &[f64], labels: &[bool], on_log_odds: bool) -> Result<Platt, LearnError> {
        let rows: Vec<_> = scores
            .iter()
            .map(|&s| dense_row(&[if on_log_odds { logit(s) } else { s }]))
            .collect();
        // Almost no penalty: two parameters, many rows.
        let m = Logistic::fit(&rows, 1, labels, 1e4)?;
        let b = m.decision(&[]);
        let a = m.decision(&dense_row(&[1.0])) - b;
        Ok(Platt { a, b, on_log_odds })
    }

    pub fn apply(&self, score: f64) -> f64 {
        let x = if self.on_log_odds {
            logit(score)
        } else {
            score
        };
        let z = self.a * x + self.b;
        1.0 / (1.0 + (-z).exp())
    }
}

/// Calibrated out-of-fold probabilities: each fold's from a Platt fit on the other folds'
/// out-of-fold scores. Rows of a fold whose other folds hold one class only keep a Platt fit on
/// every row (a degenerate case of tiny data).
pub fn cross_fitted(
    scores: &[f64],
    labels: &[bool],
    folds: &[usize],
    k: usize,
    on_log_odds: bool,
) -> Result<Vec<f64>, LearnError> {
    let all = Platt::fit(scores, labels, on_log_odds)?;
    let mut out = vec![f64::NAN; scores.len()];
    for f in 0..k {
        let (train, test) = train_test(folds, f);
        let s: Vec<f64> = train.iter().map(|&r| scores[r]).collect();
        let y: Vec<bool> = train.iter().map(|&r| labels[r]).collect();
        let p = Platt::fit(&s, &y, on_log_odds).unwrap_or(all);
        for &r in &test {
            out[r] = p.apply(scores[r]);
        }
    }
    Ok(out)
}

/// One reliability bin: predicted probabilities in `[lo, hi)`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Bin {
    pub lo: f64,
    pub hi: f64,
    pub count: usize,
    /// Mean predicted probability of the bin's rows.
    pub predicted: f64,
    /// Share of won rows in the bin.
    pub observed: f64,
}

/// How well probabilities hold against the outcomes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Calibration {
    /// Mean squared error of the probabilities (lower is better; 0.25 is a coin).
    pub brier: f64,
    pub log_loss: f64,
    /// Expected calibration error over 10 equal-width bins: Σ (count/n)·|observed − predicted|.
    pub ece: f64,
    /// The ECE that perfectly calibrated probabilities show at this sample size: the mean ECE
    /// of these probabilities against outcomes drawn from them (200 draws). On a few dozen
    /// leads it is far from 0; an `ece` near it is all the data can tell.
    #[serde(default)]
    pub ece_by_chance: f64,
    pub bins: Vec<Bin>,
}

/// [`Calibration::ece_by_chance`] of `probs`: the mean ECE over `draws` sets of outcomes drawn
/// from the probabilities themselves (seeded).
pub fn ece_by_chance(probs: &[f64], draws: usize, seed: u64) -> f64 {
    if probs.is_empty() || draws == 0 {
        return 0.0;
    }
    let mut rng = SplitMix64::new(seed);
    let mut labels = vec![false; probs.len()];
    let mut total = 0.0;
    for _ in 0..draws {
        for (l, &p) in labels.iter_mut().zip(probs) {
            *l = rng.unit() < p;
        }
        total += bins_and_ece(probs, &labels).1;
    }
    total / draws as f64
}

const BINS: usize = 10;

/// Reliability bins (non-empty ones) and the ECE over 10 equal-width bins.
fn bins_and_ece(probs: &[f64], labels: &[bool]) -> (Vec<Bin>, f64) {
    let n = probs.len() as f64;
    let y = |l: bool| f64::from(u8::from(l));
    let mut sums = [(0usize, 0.0f64, 0.0f64); BINS];
    for (&p, &l) in probs.iter().zip(labels) {
        let b = ((p * BINS as f64) as usize).min(BINS - 1);
        sums[b].0 += 1;
        sums[b].1 += p;
        sums[b].2 += y(l);
    }
    let mut bins = Vec::new();
    let mut ece = 0.0;
    for (b, &(count, p, w)) in sums.iter().enumerate() {
        if count == 0 {
            continue;
        }
        let (predicted, observed) = (p / count as f64, w / count as f64);
        ece += count as f64 / n * (observed - predicted).abs();
        bins.push(Bin {
            lo: b as f64 / BINS as f64,
            hi: (b + 1) as f64 / BINS as f64,
            count,
            predicted,
            observed,
        });
    }
    (bins, ece)
}

/// Brier score, log-loss, ECE and reliability bins of `probs` against `labels`.
pub fn quality(probs: &[f64], labels: &[bool]) -> Result<Calibration, LearnError> {
    if probs.len() != labels.len() {
        return Err(LearnError::LengthMismatch {
            what: "probabilities vs labels",
            expected: labels.len(),
            got: probs.len(),
        });
    }
    if probs.is_empty() {
        return Err(LearnError::Empty {
            what: "probabilities",
        });
    }
    if let Some(row) = probs.iter().position(|p| !(0.0..=1.0).contains(p)) {
        return Err(LearnError::NonFinite {
            what: "probability outside [0, 1]",
            row,
        });
    }
    let n = probs.len() as f64;
    let y = |l: bool| f64::from(u8::from(l));
    let brier = probs
        .iter()
        .zip(labels)
        .map(|(&p, &l)| (p - y(l)).powi(2))
        .sum::<f64>()
        / n;
    let log_loss = probs
        .iter()
        .zip(labels)
        .map(|(&p, &l)| {
            let p = p.clamp(1e-15, 1.0 - 1e-15);
            -(if l { p.ln() } else { (1.0 - p).ln() })
        })
        .sum::<f64>()
        / n;
    let (bins, ece) = bins_and_ece(probs, labels);
    Ok(Calibration {
        brier,
        log_loss,
        ece,
        ece_by_chance: ece_by_chance(probs, 200, 0x5eed),
        bins,
    })
}

/// A 95 % percentile bootstrap interval of the ROC-AUC (`reps` resamples of the rows, seeded);
/// `None` when a class is missing.
pub fn bootstrap_auc(
    scores: &[f64],
    labels: &[bool],
    reps: usize,
    seed: u64,
) -> Result<Option<(f64, f64)>, LearnError> {
    if roc_auc(scores, labels)?.is_none() {
        return Ok(None);
    }
    let n = scores.len();
    let mut rng = SplitMix64::new(seed);
    let mut aucs = Vec::with_capacity(reps);
    let (mut s, mut l) = (vec![0.0; n], vec![false; n]);
    for _ in 0..reps {
        for i in 0..n {
            let j = rng.below(n as u64) as usize;
            s[i] = scores[j];
            l[i] = labels[j];
        }
        if let Some(a) = roc_auc(&s, &l)? {
            aucs.push(a);
        }
    }
    if aucs.is_empty() {
        return Ok(None);
    }
    aucs.sort_by(f64::total_cmp);
    let at = |q: f64| aucs[((q * aucs.len() as f64) as usize).min(aucs.len() - 1)];
    Ok(Some((at(0.025), at(0.975))))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stratified_kfold;

    #[test]
    fn the_ece_of_perfect_probabilities_shrinks_with_the_sample_and_chance_says_how_far() {
        let mut rng = SplitMix64::new(9);
        let mut draw = |n: usize| {
            let probs: Vec<f64> = (0..n).map(|_| 0.05 + 0.9 * rng.unit()).collect();
            let labels: Vec<bool> = probs.iter().map(|&p| rng.unit() < p).collect();
            (probs, labels)
        };
        let (small_p, small_l) = draw(83);
        let (big_p, big_l) = draw(20_000);
        let small = quality(&small_p, &small_l).unwrap();
        let big = quality(&big_p, &big_l).unwrap();
        // Perfectly calibrated by construction, yet 83 leads show a large ECE; 20,000 do not.
        assert!(small.ece_by_chance > 0.06, "{}", small.ece_by_chance);
        assert!(big.ece_by_chance < 0.015, "{}", big.ece_by_chance);
        assert!(
            small.ece < 3.0 * small.ece_by_chance,
            "{} vs {}",
            small.ece,
            small.ece_by_chance
        );
        assert!(
            big.ece < 3.0 * big.ece_by_chance,
            "{} vs {}",
            big.ece,
            big.ece_by_chance
        );
        // Seeded: the same figure twice.
        assert_eq!(
            ece_by_chance(&small_p, 200, 1),
            ece_by_chance(&small_p, 200, 1)
        );
    }

    #[test]
    fn platt_recalibrates_squashed_probabilities_and_the_figures_see_it() {
        // True probability p; the model reports 0.5 + (p − 0.5) / 4 (squashed, as a strong
        // penalty does).
        let mut rng = SplitMix64::new(3);
        let n = 4000;
        let truth: Vec<f64> = (0..n)
            .map(|i| (i % 100) as f64 / 100.0 * 0.9 + 0.05)
            .collect();
        let labels: Vec<bool> = truth
            .iter()
            .map(|&p| (rng.below(1_000_000) as f64) < p * 1e6)
            .collect();
        let squashed: Vec<f64> = truth.iter().map(|&p| 0.5 + (p - 0.5) / 4.0).collect();
        let before = quality(&squashed, &labels).unwrap();
        let folds = stratified_kfold(&labels, 5, 1).unwrap();
        let calibrated = cross_fitted(&squashed, &labels, &folds, 5, true).unwrap();
        let after = quality(&calibrated, &labels).unwrap();
        assert!(before.ece > 0.1, "{before:?}");
        assert!(after.ece < 0.04, "{after:?}");
        assert!(after.brier < before.brier);
        assert!(after.log_loss < before.log_loss);
        // Nearly the same ranking: each fold's map is monotone (the folds' maps differ a little).
        let (r0, r1) = (
            roc_auc(&squashed, &labels).unwrap().unwrap(),
            roc_auc(&calibrated, &labels).unwrap().unwrap(),
        );
        assert!((r0 - r1).abs() < 0.005, "{r0} vs {r1}");
        let ci = bootstrap_auc(&calibrated, &labels, 200, 7)
            .unwrap()
            .unwrap();
        let auc = roc_auc(&calibrated, &labels).unwrap().unwrap();
        assert!(ci.0 < auc && auc < ci.1, "{ci:?} vs {auc}");
        assert!(ci.1 - ci.0 < 0.06, "{ci:?}");
    }

    #[test]
    fn a_perfect_forecast_scores_zero_and_bad_input_is_an_error() {
        let q = quality(&[0.0, 1.0, 1.0], &[false, true, true]).unwrap();
        assert_eq!((q.brier, q.ece), (0.0, 0.0));
        assert!(quality(&[1.5], &[true]).is_err());
        assert!(quality(&[], &[]).is_err());
    }
}
