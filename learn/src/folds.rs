//! Seeded stratified k-fold assignment.
//!
//! Rows of each class are shuffled separately (Fisher–Yates driven by a self-contained
//! SplitMix64 generator, so results do not depend on any external crate's RNG and never change
//! for a given seed), then dealt round-robin: first all lost rows, then all won rows, continuing
//! the same rotation. Consequences:
//!
//! - every fold holds ⌊c/k⌋ or ⌈c/k⌉ rows of each class `c` (its share ±1);
//! - every fold holds ⌊n/k⌋ or ⌈n/k⌉ rows in total;
//! - the assignment depends only on `(labels, k, seed)`.

use crate::LearnError;

/// The default number of folds.
pub const DEFAULT_K: usize = 5;

/// SplitMix64 (Steele, Lea & Flood 2014), the generator used to seed xoshiro; good enough for
/// shuffling and trivially reproducible.
#[derive(Debug, Clone)]
pub(crate) struct SplitMix64(u64);

impl SplitMix64 {
    pub(crate) fn new(seed: u64) -> Self {
        Self(seed)
    }

    pub(crate) fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `[0, 1)` (53 bits).
    pub(crate) fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Uniform in `0..bound` without modulo bias (Lemire's multiply-and-reject); `0` when
    /// `bound == 0`.
    pub(crate) fn below(&mut self, bound: u64) -> u64 {
        if bound == 0 {
            return 0;
        }
        let threshold = bound.wrapping_neg() % bound;
        loop {
            let m = u128::from(self.next_u64()) * u128::from(bound);
            if (m as u64) >= threshold {
                return (m >> 64) as u64;
            }
        }
    }

    pub(crate) fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            let j = self.below(i as u64 + 1) as usize;
            items.swap(i, j);
        }
    }
}

/// `items` in an order drawn from `seed` (Fisher–Yates over this module's SplitMix64): the same
/// seed gives the same order on every platform and version.
pub fn shuffled<T: Clone>(items: &[T], seed: u64) -> Vec<T> {
    let mut out = items.to_vec();
    SplitMix64::new(seed).shuffle(&mut out);
    out
}

/// Assigns each row a fold in `0..k`, stratified by label (see the module docs).
///
/// Errors: [`LearnError::InvalidK`] when `k < 2`; [`LearnError::TooFewPerClass`] when a class
/// (lost checked first, then won) has fewer than `k` rows — including an empty `labels` — since
/// some fold would then have no row of that class to test on.
pub fn stratified_kfold(labels: &[bool], k: usize, seed: u64) -> Result<Vec<usize>, LearnError> {
    if k < 2 {
        return Err(LearnError::InvalidK { k });
    }
    let mut lost: Vec<usize> = (0..labels.len()).filter(|&i| !labels[i]).collect();
    let mut won: Vec<usize> = (0..labels.len()).filter(|&i| labels[i]).collect();
    for (class, rows) in [(false, &lost), (true, &won)] {
        if rows.len() < k {
            return Err(LearnError::TooFewPerClass {
                class,
                count: rows.len(),
                k,
            });
        }
    }
    let mut rng = SplitMix64::new(seed);
    rng.shuffle(&mut lost);
    rng.shuffle(&mut won);
    let mut folds = vec![0; labels.len()];
    for (position, &row) in lost.iter().chain(won.iter()).enumerate() {
        folds[row] = position % k;
    }
    Ok(folds)
}

/// Splits rows into `(train, test)` for fold `f`: test = rows whose fold is `f`, train = all
/// others, both in ascending row order. A fold number no row has gives an empty test set.
pub fn train_test(folds: &[usize], f: usize) -> (Vec<usize>, Vec<usize>) {
    (0..folds.len()).partition(|&i| folds[i] != f)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 103 rows, 29 won, spread in a fixed irregular pattern.
    fn labels_103() -> Vec<bool> {
        let mut rng = SplitMix64::new(7);
        let mut labels: Vec<bool> = (0..103).map(|i| i < 29).collect();
        rng.shuffle(&mut labels);
        labels
    }

    #[test]
    fn splitmix_reference_values() {
        // First outputs of SplitMix64 seeded with 1234567 (reference: Vigna's splitmix64.c).
        let mut rng = SplitMix64::new(1_234_567);
        assert_eq!(rng.next_u64(), 6_457_827_717_110_365_317);
        assert_eq!(rng.next_u64(), 3_203_168_211_198_807_973);
        assert_eq!(rng.next_u64(), 9_817_491_932_198_370_423);
    }

    #[test]
    fn below_stays_in_range() {
        let mut rng = SplitMix64::new(3);
        for bound in 1..50u64 {
            for _ in 0..20 {
                assert!(rng.below(bound) < bound);
            }
        }
        assert_eq!(rng.below(0), 0);
    }

    #[test]
    fn keeps_class_balance_on_103_rows() {
        let labels = labels_103();
        assert_eq!(labels.iter().filter(|&&l| l).count(), 29);
        for seed in [0, 1, 42, u64::MAX] {
            let folds = stratified_kfold(&labels, 5, seed).unwrap();
            for f in 0..5 {
                let won = (0..103).filter(|&i| folds[i] == f && labels[i]).count();
                let lost = (0..103).filter(|&i| folds[i] == f && !labels[i]).count();
                // 29 / 5 = 5.8 and 74 / 5 = 14.8.
                assert!((5..=6).contains(&won), "fold {f}: {won} won");
                assert!((14..=15).contains(&lost), "fold {f}: {lost} lost");
                assert!(
                    (20..=21).contains(&(won + lost)),
                    "fold {f}: {} rows",
                    won + lost
                );
            }
        }
    }

    #[test]
    fn covers_every_row_once() {
        let labels = labels_103();
        for k in [2, 3, 5, 10, 29] {
            let folds = stratified_kfold(&labels, k, 9).unwrap();
            assert_eq!(folds.len(), 103);
            assert!(folds.iter().all(|&f| f < k));
            let mut seen = vec![0; 103];
            for f in 0..k {
                let (train, test) = train_test(&folds, f);
                assert_eq!(train.len() + test.len(), 103);
                assert!(train.iter().all(|&i| folds[i] != f));
                for &i in &test {
                    seen[i] += 1;
                }
            }
            assert!(seen.iter().all(|&s| s == 1));
        }
    }

    #[test]
    fn deterministic_per_seed() {
        let labels = labels_103();
        let a = stratified_kfold(&labels, 5, 42).unwrap();
        let b = stratified_kfold(&labels, 5, 42).unwrap();
        let c = stratified_kfold(&labels, 5, 43).unwrap();
        assert_eq!(a, b);
        assert_ne!(a, c);
    }

    #[test]
    fn errors() {
        assert_eq!(
            stratified_kfold(&[true, false], 1, 0),
            Err(LearnError::InvalidK { k: 1 })
        );
        assert_eq!(
            stratified_kfold(&[], 5, 0),
            Err(LearnError::TooFewPerClass {
                class: false,
                count: 0,
                k: 5
            })
        );
        let labels = [true, true, false, false, false, false, false];
        assert_eq!(
            stratified_kfold(&labels, 3, 0),
            Err(LearnError::TooFewPerClass {
                class: true,
                count: 2,
                k: 3
            })
        );
        assert!(stratified_kfold(&labels, 2, 0).is_ok());
        let only_won = [true; 10];
        assert_eq!(
            stratified_kfold(&only_won, 2, 0),
            Err(LearnError::TooFewPerClass {
                class: false,
                count: 0,
                k: 2
            })
        );
    }

    #[test]
    fn train_test_unknown_fold() {
        let (train, test) = train_test(&[0, 1, 0], 7);
        assert_eq!(train, vec![0, 1, 2]);
        assert!(test.is_empty());
    }
}
