//! The leakage guard: how well one column alone predicts the label, out of fold, and whether its
//! values read like outcomes.
//!
//! A column that the sales team fills in after the outcome (a stage, a tag such as "Closed by
//! Horizzon", a lead-quality grade) makes any model look perfect and useless on new leads. Two
//! signs give it away: the column alone separates won from lost almost perfectly, or its values
//! are outcome words. [`single_column_auc`] measures the first honestly: the column's values
//! (numbers cut into deciles, missing as a value of its own) are replaced by the won rate of
//! that value among the *training* folds' leads (smoothed towards the training won rate), and
//! the ROC-AUC of those out-of-fold rates is the column's. [`outcome_words`] finds the second.

use std::collections::HashMap;

use crate::{roc_auc, train_test, LearnError};

/// Smoothing of a value's won rate towards the overall rate (pseudo-leads).
const PRIOR_WEIGHT: f64 = 10.0;

/// A column's values as levels: a category's value, a number's decile (`q0`…`q9`), `None` for
/// missing (a level of its own).
pub fn levels_of_numbers(values: &[Option<f64>]) -> Vec<Option<String>> {
    let mut sorted: Vec<f64> = values.iter().flatten().copied().collect();
    sorted.sort_by(f64::total_cmp);
    if sorted.is_empty() {
        return vec![None; values.len()];
    }
    let cuts: Vec<f64> = (1..10)
        .map(|q| sorted[(q * sorted.len() / 10).min(sorted.len() - 1)])
        .collect();
    values
        .iter()
        .map(|v| v.map(|x| format!("q{}", cuts.iter().filter(|&&c| x >= c).count())))
        .collect()
}

/// The out-of-fold ROC-AUC of one column (as levels) against `labels`, with the fold of each
/// row (`folds[r]` in `0..k`). `None` when a class is missing.
pub fn single_column_auc(
    levels: &[Option<String>],
    labels: &[bool],
    folds: &[usize],
    k: usize,
) -> Result<Option<f64>, LearnError> {
    if levels.len() != labels.len() {
        return Err(LearnError::LengthMismatch {
            what: "column vs labels",
            expected: labels.len(),
            got: levels.len(),
        });
    }
    let mut scores = vec![0.0; labels.len()];
    for f in 0..k {
        let (train, test) = train_test(folds, f);
        if train.is_empty() || test.is_empty() {
            continue;
        }
        let prior = train.iter().filter(|&&r| labels[r]).count() as f64 / train.len() as f64;
        let mut counts: HashMap<Option<&str>, (f64, f64)> = HashMap::new();
        for &r in &train {
            let e = counts.entry(levels[r].as_deref()).or_default();
            e.0 += f64::from(u8::from(labels[r]));
            e.1 += 1.0;
        }
        for &r in &test {
            scores[r] = counts.get(&levels[r].as_deref()).map_or(prior, |(won, n)| {
                (won + PRIOR_WEIGHT * prior) / (n + PRIOR_WEIGHT)
            });
        }
    }
    roc_auc(&scores, labels)
}

/// Words that name an outcome or a late stage of a deal, in English and French.
const OUTCOME_WORDS: &[&str] = &[
    "won",
    "lost",
    "closed",
    "converted",
    "signed",
    "churn",
    "churned",
    "gagné",
    "gagne",
    "perdu",
    "signé",
    "signe",
    "converti",
    "conclu",
    "résilié",
];

/// The distinct values (with at least `min_count` rows) that contain an outcome word, as whole
/// words in any case.
pub fn outcome_words(levels: &[Option<String>], min_count: usize) -> Vec<String> {
    let mut counts: HashMap<&str, usize> = HashMap::new();
    for v in levels.iter().flatten() {
        *counts.entry(v.as_str()).or_default() += 1;
    }
    let mut hits: Vec<String> = counts
        .into_iter()
        .filter(|&(v, c)| {
            c >= min_count
                && v.to_lowercase()
                    .split(|c: char| !c.is_alphanumeric())
                    .any(|w| OUTCOME_WORDS.contains(&w))
        })
        .map(|(v, _)| v.to_owned())
        .collect();
    hits.sort();
    hits
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stratified_kfold;

    #[test]
    fn a_column_that_records_the_outcome_is_near_perfect_and_noise_is_near_half() {
        let labels: Vec<bool> = (0..400).map(|i| (i * 7919) % 13 < 5).collect();
        let folds = stratified_kfold(&labels, 5, 1).unwrap();
        let tag: Vec<Option<String>> = labels
            .iter()
            .enumerate()
            .map(|(i, &l)| match (l, i % 10) {
                (_, 0) => None,
                (true, _) => Some("Closed by Horizzon".to_owned()),
                (false, _) => Some("Ringing".to_owned()),
            })
            .collect();
        let auc = single_column_auc(&tag, &labels, &folds, 5)
            .unwrap()
            .unwrap();
        assert!(auc > 0.9, "{auc}");
        assert_eq!(outcome_words(&tag, 5), ["Closed by Horizzon"]);
        let noise: Vec<Option<f64>> = (0..400).map(|i| Some(((i * 31) % 17) as f64)).collect();
        let auc = single_column_auc(&levels_of_numbers(&noise), &labels, &folds, 5)
            .unwrap()
            .unwrap();
        assert!((0.35..0.65).contains(&auc), "{auc}");
        // A word inside another word is not an outcome ("wonderful", "closedown" are not).
        let words: Vec<Option<String>> = vec![Some("Wonderful".into()); 10];
        assert!(outcome_words(&words, 1).is_empty());
    }

    #[test]
    fn numbers_are_cut_into_deciles_and_missing_is_a_level() {
        let v: Vec<Option<f64>> = (0..100)
            .map(|i| (i % 10 != 0).then_some(i as f64))
            .collect();
        let l = levels_of_numbers(&v);
        assert_eq!(l[0], None);
        assert_eq!(l[1].as_deref(), Some("q0"));
        assert_eq!(l[99].as_deref(), Some("q9"));
    }
}
