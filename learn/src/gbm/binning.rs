//! Quantile binning of feature columns into at most 255 bins plus a bin for missing values.
//!
//! The thresholds follow scikit-learn's `_BinMapper`: a feature with at most `max_bins`
//! distinct non-missing values gets one bin per value (thresholds at the midpoints between
//! consecutive values); otherwise the thresholds are the `max_bins − 1` inner percentiles of
//! its values (numpy's `method="midpoint"`), deduplicated. A value goes to the bin of the first
//! threshold it does not exceed, so "bin ≤ b" and "value ≤ threshold[b]" are the same test and
//! a tree fitted on bins predicts raw values exactly as it saw them in training. NaN is missing
//! and has its own bin ([`MISSING_BIN`]); ±∞ are ordinary extreme values. Thresholds are
//! clipped at ±1e300 so that an infinite value still lands in the outermost bin.
//!
//! Beyond [`BINNING_SAMPLE`] rows the thresholds come from a seeded sample of rows, as in
//! scikit-learn (the quantiles of 200,000 rows are as good as those of all of them).

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::folds::SplitMix64;

/// The bin of missing values (NaN): beyond every value bin.
pub(crate) const MISSING_BIN: u8 = 255;
/// Bins per histogram: 255 value bins and the missing bin.
pub(crate) const HIST_BINS: usize = 256;
/// Rows beyond which thresholds are computed on a sample.
pub(crate) const BINNING_SAMPLE: usize = 200_000;
/// The largest finite threshold (scikit-learn's `ALMOST_INF`).
const ALMOST_INF: f64 = 1e300;

/// Per-feature thresholds: feature `f` has `thresholds[f].len() + 1` value bins.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct BinMapper {
    pub(crate) thresholds: Vec<Vec<f64>>,
}

/// Features binned column by column: `codes[f * rows + i]` is row `i`'s bin for feature `f`.
pub(crate) struct Binned {
    pub(crate) rows: usize,
    pub(crate) codes: Vec<u8>,
}

impl Binned {
    pub(crate) fn column(&self, f: usize) -> &[u8] {
        &self.codes[f * self.rows..(f + 1) * self.rows]
    }
}

/// Midpoint of two ordered values without overflow.
fn midpoint(a: f64, b: f64) -> f64 {
    a / 2.0 + b / 2.0
}

/// Thresholds for one feature from its sorted non-missing values.
fn thresholds_of(sorted: &[f64], max_bins: usize) -> Vec<f64> {
    let mut distinct: Vec<f64> = sorted.to_vec();
    distinct.dedup();
    let mut out: Vec<f64> = if distinct.len() <= max_bins {
        distinct.windows(2).map(|w| midpoint(w[0], w[1])).collect()
    } else {
        let last = (sorted.len() - 1) as f64;
        (1..max_bins)
            .map(|k| {
                let position = k as f64 / max_bins as f64 * last;
                let lo = position.floor() as usize;
                let hi = position.ceil() as usize;
                midpoint(sorted[lo], sorted[hi])
            })
            .collect()
    };
    for t in &mut out {
        *t = t.clamp(-ALMOST_INF, ALMOST_INF);
    }
    out.dedup();
    out
}

impl BinMapper {
    /// Fits thresholds on `rows` of each column (all rows when `rows` is `None`).
    pub(crate) fn fit<T>(columns: &[&[T]], rows: &[u32], max_bins: usize, seed: u64) -> BinMapper
    where
        T: Copy + Into<f64> + Sync,
    {
        let sample: Vec<u32> = if rows.len() > BINNING_SAMPLE {
            let mut picked = rows.to_vec();
            SplitMix64::new(seed).shuffle(&mut picked);
            picked.truncate(BINNING_SAMPLE);
            picked.sort_unstable();
            picked
        } else {
            rows.to_vec()
        };
        let thresholds = columns
            .par_iter()
            .map(|column| {
                let mut values: Vec<f64> = sample
                    .iter()
                    .map(|&r| column[r as usize].into())
                    .filter(|v: &f64| !v.is_nan())
                    .collect();
                if values.is_empty() {
                    return Vec::new();
                }
                values.sort_unstable_by(f64::total_cmp);
                thresholds_of(&values, max_bins)
            })
            .collect();
        BinMapper { thresholds }
    }

    /// Value bins of feature `f` (missing excluded).
    pub(crate) fn value_bins(&self, f: usize) -> usize {
        self.thresholds[f].len() + 1
    }

    /// The bin of one value of feature `f`.
    pub(crate) fn bin(&self, f: usize, v: f64) -> u8 {
        if v.is_nan() {
            MISSING_BIN
        } else {
            self.thresholds[f].partition_point(|&t| t < v) as u8
        }
    }

    /// The raw threshold of a split of feature `f` after bin `b` (`+∞` when `b` is the last
    /// value bin: every value left, missing right).
    pub(crate) fn threshold(&self, f: usize, b: u8) -> f64 {
        self.thresholds[f]
            .get(usize::from(b))
            .copied()
            .unwrap_or(f64::INFINITY)
    }

    /// Bins the given rows of every column (in that order).
    pub(crate) fn transform<T>(&self, columns: &[&[T]], rows: &[u32]) -> Binned
    where
        T: Copy + Into<f64> + Sync,
    {
        let n = rows.len();
        let mut codes = vec![0u8; columns.len() * n];
        if n > 0 {
            codes
                .par_chunks_mut(n)
                .zip(columns.par_iter())
                .enumerate()
                .for_each(|(f, (out, column))| {
                    for (o, &r) in out.iter_mut().zip(rows) {
                        *o = self.bin(f, column[r as usize].into());
                    }
                });
        }
        Binned { rows: n, codes }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn few_distinct_values_get_one_bin_each_at_midpoints() {
        let t = thresholds_of(&[1.0, 1.0, 2.0, 4.0, 4.0], 255);
        assert_eq!(t, vec![1.5, 3.0]);
    }

    #[test]
    fn many_values_get_at_most_max_bins_and_bins_agree_with_thresholds() {
        let column: Vec<f64> = (0..10_000).map(|i| ((i * 7919) % 10_007) as f64).collect();
        let rows: Vec<u32> = (0..10_000).collect();
        let mapper = BinMapper::fit(&[&column[..]], &rows, 255, 0);
        assert_eq!(mapper.value_bins(0), 255);
        for &v in &column {
            let b = mapper.bin(0, v);
            assert!(b < MISSING_BIN);
            assert!(v <= mapper.threshold(0, b));
            if b > 0 {
                assert!(v > mapper.threshold(0, b - 1));
            }
        }
        // Equal-frequency: no bin holds more than twice its share.
        let mut counts = [0usize; 256];
        for &v in &column {
            counts[usize::from(mapper.bin(0, v))] += 1;
        }
        assert!(counts.iter().all(|&c| c <= 2 * 10_000 / 255 + 2));
    }

    #[test]
    fn nan_is_missing_and_infinities_are_extreme_values() {
        let column = [f64::NEG_INFINITY, 0.0, 1.0, f64::INFINITY, f64::NAN];
        let rows: Vec<u32> = (0..5).collect();
        let mapper = BinMapper::fit(&[&column[..]], &rows, 255, 0);
        let bins: Vec<u8> = column.iter().map(|&v| mapper.bin(0, v)).collect();
        assert_eq!(bins, vec![0, 1, 2, 3, MISSING_BIN]);
    }

    #[test]
    fn an_all_missing_column_has_one_empty_value_bin() {
        let column = [f64::NAN; 4];
        let rows: Vec<u32> = (0..4).collect();
        let mapper = BinMapper::fit(&[&column[..]], &rows, 255, 0);
        assert_eq!(mapper.value_bins(0), 1);
        assert_eq!(mapper.bin(0, f64::NAN), MISSING_BIN);
    }
}
