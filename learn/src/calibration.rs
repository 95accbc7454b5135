//! Probabilities a sales team can read as probabilities, and how well they hold.
//!
//! A model's scores rank leads, but a logistic regression's probabilities are pulled towards
//! 0.5 by its regularisation, trees' by their shrinkage, and the centroid's cosine difference
//! is no probability at all. [`Platt`] scaling maps a model's score to a probability with a
//! one-feature logistic regression fitted on *out-of-fold* scores, so no lead calibrates its
//! own score. Where the outcome is a step of the score rather than a sigmoid (leads in groups
//! that buy and groups that do not), [`Isotonic`] steps fit better; [`Calibrator::fit`] picks
//! between the two by cross-fitted Brier score on the rows it is given (isotonic only from
//! [`ISOTONIC_MIN_ROWS`] rows). [`cross_fitted`] does that inside the cross-validation (fold
//! `f`'s probabilities from a map fitted and chosen on the other folds' out-of-fold scores),
//! which gives honest calibration figures: the Brier score, the log-loss and the expected calibration error of [`quality`],
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

/// A monotone step map from score to probability: isotonic regression (pool adjacent
/// violators), fitted on `(score, label)` pairs. Between two steps the probability is
/// interpolated linearly; beyond the ends it is the end step's. Probabilities are kept within
/// [`Isotonic::FLOOR`, 1 − `FLOOR`], so that a step of won leads only is not a certainty.
///
/// Platt's sigmoid assumes the log-odds of winning grow linearly with the score. When the
/// leads fall into groups (a market that buys, one that does not) the outcome is a step of the
/// score instead, and the sigmoid is too sure near the middle: isotonic follows the steps.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Isotonic {
    /// Each step's lowest and highest score (log-odds when `on_log_odds`) and its probability,
    /// in increasing order of score and of probability.
    pub steps: Vec<(f64, f64, f64)>,
    pub on_log_odds: bool,
}

impl Isotonic {
    pub const FLOOR: f64 = 1e-3;

    pub fn fit(scores: &[f64], labels: &[bool], on_log_odds: bool) -> Result<Isotonic, LearnError> {
        // Interpolation between steps needs finite scores.
        crate::metrics::check_scores(scores, labels, false)?;
        let x = |s: f64| if on_log_odds { logit(s) } else { s };
        let mut pairs: Vec<(f64, f64)> = scores
            .iter()
            .zip(labels)
            .map(|(&s, &l)| (x(s), f64::from(u8::from(l))))
            .collect();
        pairs.sort_by(|a, b| a.0.total_cmp(&b.0));
        // Blocks of (lowest x, highest x, weight, sum of labels); equal scores start as one block.
        let mut blocks: Vec<(f64, f64, f64, f64)> = Vec::new();
        for (xi, yi) in pairs {
            match blocks.last_mut() {
                Some(b) if b.1 == xi => {
                    b.2 += 1.0;
                    b.3 += yi;
                }
                _ => blocks.push((xi, xi, 1.0, yi)),
            }
            // Pool while the last block's mean is not above the one before it (steps rise
            // strictly).
            while blocks.len() >= 2 {
                let (b, a) = (blocks[blocks.len() - 1], blocks[blocks.len() - 2]);
                if a.3 / a.2 < b.3 / b.2 {
                    break;
                }
                blocks.pop();
                *blocks.last_mut().expect("two blocks") = (a.0, b.1, a.2 + b.2, a.3 + b.3);
            }
        }
        let steps = blocks
            .into_iter()
            .map(|(lo, hi, w, y)| (lo, hi, (y / w).clamp(Self::FLOOR, 1.0 - Self::FLOOR)))
            .collect();
        Ok(Isotonic { steps, on_log_odds })
    }

    pub fn apply(&self, score: f64) -> f64 {
        let x = if self.on_log_odds {
            logit(score)
        } else {
            score
        };
        let steps = &self.steps;
        let Some(first) = steps.first() else {
            return 0.5;
        };
        if x.is_nan() {
            return 0.5;
        }
        // The first step whose highest score is at or above x.
        let i = steps.partition_point(|s| s.1 < x);
        if i == 0 {
            return first.2;
        }
        let Some(&(lo, _, p)) = steps.get(i) else {
            return steps[steps.len() - 1].2;
        };
        if x >= lo {
            return p;
        }
        // Between step i − 1's highest score and step i's lowest.
        let (_, hi0, p0) = steps[i - 1];
        p0 + (p - p0) * (x - hi0) / (lo - hi0)
    }
}

/// A fitted score → probability map: Platt's sigmoid or isotonic steps.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Calibrator {
    Platt(Platt),
    Isotonic(Isotonic),
}

/// Fewest rows on which [`Calibrator::fit`] considers isotonic steps: below, each step would
/// rest on a handful of leads, and Platt's two parameters are the safer map.
pub const ISOTONIC_MIN_ROWS: usize = 500;

impl Calibrator {
    /// Fits the map that predicts best on these rows: Platt and isotonic are each
    /// cross-fitted on 5 seeded stratified folds of the rows, and the one with the lower Brier
    /// score is fitted on every row (Platt on ties, and always below [`ISOTONIC_MIN_ROWS`]).
    pub fn fit(
        scores: &[f64],
        labels: &[bool],
        on_log_odds: bool,
        seed: u64,
    ) -> Result<Calibrator, LearnError> {
        let platt = Platt::fit(scores, labels, on_log_odds)?;
        let won = labels.iter().filter(|&&l| l).count();
        if scores.len() < ISOTONIC_MIN_ROWS || won < 5 || scores.len() - won < 5 {
            return Ok(Calibrator::Platt(platt));
        }
        const K: usize = 5;
        let folds = crate::folds::stratified_kfold(labels, K, seed)?;
        let (mut brier_platt, mut brier_iso) = (0.0, 0.0);
        for f in 0..K {
            let (train, test) = train_test(&folds, f);
            let s: Vec<f64> = train.iter().map(|&r| scores[r]).collect();
            let y: Vec<bool> = train.iter().map(|&r| labels[r]).collect();
            let p = Platt::fit(&s, &y, on_log_odds).unwrap_or(platt);
            let iso = Isotonic::fit(&s, &y, on_log_odds)?;
            for &r in &test {
                let y = f64::from(u8::from(labels[r]));
                brier_platt += (p.apply(scores[r]) - y).powi(2);
                brier_iso += (iso.apply(scores[r]) - y).powi(2);
            }
        }
        Ok(if brier_iso < brier_platt {
            Calibrator::Isotonic(Isotonic::fit(scores, labels, on_log_odds)?)
        } else {
            Calibrator::Platt(platt)
        })
    }

    pub fn apply(&self, score: f64) -> f64 {
        match self {
            Calibrator::Platt(p) => p.apply(score),
            Calibrator::Isotonic(i) => i.apply(score),
        }
    }

    /// "platt" or "isotonic".
    pub fn method(&self) -> &'static str {
        match self {
            Calibrator::Platt(_) => "platt",
            Calibrator::Isotonic(_) => "isotonic",
        }
    }
}

/// Calibrated out-of-fold probabilities: each fold's from a [`Calibrator`] fitted (and chosen)
/// on the other folds' out-of-fold scores, and the method each fold used. Rows of a fold whose
/// other folds hold one class only keep a Platt fit on every row (a degenerate case of tiny
/// data).
pub fn cross_fitted(
    scores: &[f64],
    labels: &[bool],
    folds: &[usize],
    k: usize,
    on_log_odds: bool,
) -> Result<(Vec<f64>, Vec<&'static str>), LearnError> {
    let all = Platt::fit(scores, labels, on_log_odds)?;
    let mut out = vec![f64::NAN; scores.len()];
    let mut methods = Vec::with_capacity(k);
    for f in 0..k {
        let (train, test) = train_test(folds, f);
        let s: Vec<f64> = train.iter().map(|&r| scores[r]).collect();
        let y: Vec<bool> = train.iter().map(|&r| labels[r]).collect();
        let c = Calibrator::fit(&s, &y, on_log_odds, f as u64).unwrap_or(Calibrator::Platt(all));
        methods.push(c.method());
        for &r in &test {
            out[r] = c.apply(scores[r]);
        }
    }
    Ok((out, methods))
}

/// [`Calibration::method`] from the methods of [`cross_fitted`]'s folds.
pub fn methods_summary(methods: &[&str]) -> String {
    let iso = methods.iter().filter(|&&m| m == "isotonic").count();
    match iso {
        0 => "platt".to_owned(),
        n if n == methods.len() => "isotonic".to_owned(),
        n => format!("isotonic in {n} of {} folds, else platt", methods.len()),
    }
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
    /// How the probabilities were calibrated, when known: "platt", "isotonic", or per fold
    /// ("isotonic in 4 of 5 folds, else platt").
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub method: String,
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
        method: String::new(),
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
    fn isotonic_pools_adjacent_violators_and_interpolates_between_steps() {
        // Scores 1..=6 with labels 0 1 0 1 1 1: the 1-0 at scores 2, 3 pool into one step of
        // 0.5; the rest is already monotone.
        let s = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0];
        let y = [false, true, false, true, true, true];
        let iso = Isotonic::fit(&s, &y, false).unwrap();
        let f = Isotonic::FLOOR;
        assert_eq!(
            iso.steps,
            vec![(1.0, 1.0, f), (2.0, 3.0, 0.5), (4.0, 6.0, 1.0 - f)]
        );
        assert_eq!(iso.apply(0.0), f);
        assert_eq!(iso.apply(2.5), 0.5);
        assert!((iso.apply(1.5) - (f + 0.5) / 2.0).abs() < 1e-12);
        assert!((iso.apply(3.5) - (0.5 + 1.0 - f) / 2.0).abs() < 1e-12);
        assert_eq!(iso.apply(99.0), 1.0 - f);
        assert_eq!(iso.apply(f64::NAN), 0.5);
        // Equal scores are one step whatever their order; unsorted input is fine.
        let iso =
            Isotonic::fit(&[3.0, 1.0, 3.0, 1.0], &[true, false, false, false], false).unwrap();
        assert_eq!(iso.steps, vec![(1.0, 1.0, f), (3.0, 3.0, 0.5)]);
        // Monotone on random data.
        let mut rng = SplitMix64::new(9);
        let s: Vec<f64> = (0..500).map(|_| rng.unit()).collect();
        let y: Vec<bool> = s.iter().map(|&x| rng.unit() < x).collect();
        let iso = Isotonic::fit(&s, &y, true).unwrap();
        assert!(iso
            .steps
            .windows(2)
            .all(|w| w[0].2 < w[1].2 && w[0].1 < w[1].0));
        let grid: Vec<f64> = (1..100).map(|i| i as f64 / 100.0).collect();
        assert!(grid.windows(2).all(|w| iso.apply(w[0]) <= iso.apply(w[1])));
        // Bad input is an error, not a panic.
        assert!(Isotonic::fit(&[], &[], false).is_err());
        assert!(Isotonic::fit(&[f64::NAN], &[true], false).is_err());
        assert!(Isotonic::fit(&[0.1, 0.2], &[true], false).is_err());
    }

    /// Outcomes that are a step of the score: two groups of leads, 20 % and 80 % won, whose
    /// scores overlap little; within a group the score says nothing more.
    fn two_groups(n: usize, seed: u64) -> (Vec<f64>, Vec<bool>) {
        let mut rng = SplitMix64::new(seed);
        (0..n)
            .map(|_| {
                let high = rng.unit() < 0.5;
                let score = if high { 0.55 } else { 0.2 } + 0.25 * rng.unit();
                (score, rng.unit() < if high { 0.8 } else { 0.2 })
            })
            .unzip()
    }

    #[test]
    fn the_calibrator_takes_isotonic_steps_where_the_outcome_is_a_step() {
        let (s, y) = two_groups(3000, 1);
        let folds = stratified_kfold(&y, 5, 1).unwrap();
        // Platt alone, fold by fold, as before the choice.
        let mut platt = vec![0.0; s.len()];
        for f in 0..5 {
            let (train, test) = train_test(&folds, f);
            let ts: Vec<f64> = train.iter().map(|&r| s[r]).collect();
            let ty: Vec<bool> = train.iter().map(|&r| y[r]).collect();
            let p = Platt::fit(&ts, &ty, true).unwrap();
            for r in test {
                platt[r] = p.apply(s[r]);
            }
        }
        let (chosen, methods) = cross_fitted(&s, &y, &folds, 5, true).unwrap();
        assert_eq!(methods, vec!["isotonic"; 5]);
        assert_eq!(methods_summary(&methods), "isotonic");
        let (qp, qc) = (quality(&platt, &y).unwrap(), quality(&chosen, &y).unwrap());
        assert!(
            qc.ece < 0.04 && qc.ece < 0.5 * qp.ece,
            "{} vs Platt's {}",
            qc.ece,
            qp.ece
        );
        assert!(qc.brier < qp.brier, "{} vs {}", qc.brier, qp.brier);
        // Seeded: the same map twice.
        assert_eq!(
            Calibrator::fit(&s, &y, true, 3).unwrap(),
            Calibrator::fit(&s, &y, true, 3).unwrap()
        );
        // Below ISOTONIC_MIN_ROWS, Platt whatever the shape.
        let (s, y) = two_groups(ISOTONIC_MIN_ROWS - 1, 2);
        assert_eq!(Calibrator::fit(&s, &y, true, 3).unwrap().method(), "platt");
    }

    #[test]
    fn the_calibrator_keeps_platt_where_the_log_odds_are_linear() {
        // Outcomes drawn from σ(3·x) with x the score: Platt's own shape.
        let mut rng = SplitMix64::new(4);
        let (s, y): (Vec<f64>, Vec<bool>) = (0..3000)
            .map(|_| {
                let x = rng.unit() * 2.0 - 1.0;
                (x, rng.unit() < 1.0 / (1.0 + (-3.0 * x).exp()))
            })
            .unzip();
        let c = Calibrator::fit(&s, &y, false, 1).unwrap();
        assert_eq!(c.method(), "platt", "{c:?}");
        assert_eq!(
            methods_summary(&["platt", "isotonic", "platt"]),
            "isotonic in 1 of 3 folds, else platt"
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
        let (calibrated, _) = cross_fitted(&squashed, &labels, &folds, 5, true).unwrap();
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
