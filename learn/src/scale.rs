//! Standardisation of numeric columns and one-hot encoding of categories, fitted on training
//! rows only.
//!
//! [`Standardizer`]: per column, the mean and the population standard deviation (`ddof = 0`,
//! as scikit-learn's `StandardScaler`) of the non-missing training values. Missing means `None`
//! or a non-finite value (NaN, ±∞), both at fit and at transform time. A column whose standard
//! deviation is 0 (constant, a single value, or no value at all) gets scale 1, as in
//! scikit-learn; a column with no value at all gets mean 0. A missing value transforms to 0.0 —
//! the training mean — so it carries no signal either way (mean imputation; add an explicit
//! "is missing" indicator column upstream if missingness itself may be informative).
//!
//! [`OneHot`]: the vocabulary is the distinct non-missing training values, sorted by code
//! point, compared verbatim (no trimming or case folding). A missing or unseen value encodes
//! as all zeros.

use serde::{Deserialize, Serialize};

use crate::LearnError;

/// Per-column mean and standard deviation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Standardizer {
    means: Vec<f64>,
    scales: Vec<f64>,
}

fn present(v: Option<f64>) -> Option<f64> {
    v.filter(|x| x.is_finite())
}

impl Standardizer {
    /// Fits on `columns[j][i]` = value of column `j` in training row `i` (columns may differ in
    /// length; each is summarised on its own).
    pub fn fit(columns: &[Vec<Option<f64>>]) -> Standardizer {
        let mut means = Vec::with_capacity(columns.len());
        let mut scales = Vec::with_capacity(columns.len());
        for column in columns {
            let values: Vec<f64> = column.iter().filter_map(|&v| present(v)).collect();
            if values.is_empty() {
                means.push(0.0);
                scales.push(1.0);
                continue;
            }
            let n = values.len() as f64;
            let mean = values.iter().sum::<f64>() / n;
            let var = values.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / n;
            let std = var.sqrt();
            means.push(if mean.is_finite() { mean } else { 0.0 });
            scales.push(if std.is_finite() && std > 0.0 {
                std
            } else {
                1.0
            });
        }
        Standardizer { means, scales }
    }

    /// Standardises one row (one value per fitted column): `(x − mean) / std`, missing → 0.0.
    ///
    /// Errors: [`LearnError::LengthMismatch`] when `row.len()` differs from the number of
    /// fitted columns.
    pub fn transform(&self, row: &[Option<f64>]) -> Result<Vec<f64>, LearnError> {
        if row.len() != self.means.len() {
            return Err(LearnError::LengthMismatch {
                what: "standardizer row",
                expected: self.means.len(),
                got: row.len(),
            });
        }
        Ok(row
            .iter()
            .zip(self.means.iter().zip(&self.scales))
            .map(|(&v, (m, s))| present(v).map_or(0.0, |x| (x - m) / s))
            .collect())
    }

    /// Number of columns.
    pub fn len(&self) -> usize {
        self.means.len()
    }

    /// Whether there are no columns.
    pub fn is_empty(&self) -> bool {
        self.means.is_empty()
    }

    /// Training means per column.
    pub fn means(&self) -> &[f64] {
        &self.means
    }

    /// Scales (standard deviations, 1 where that was 0) per column.
    pub fn scales(&self) -> &[f64] {
        &self.scales
    }
}

/// A one-hot encoding of one categorical column.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct OneHot {
    names: Vec<String>,
    /// `names` by value, built at the first lookup (a model scores millions of rows: a hash
    /// lookup, not a binary search of string comparisons).
    #[serde(skip)]
    positions: std::sync::OnceLock<Positions>,
}

/// Category names to positions, hashed with FxHash (the levels are few and short; SipHash's
/// flood resistance buys nothing here and costs most of a lookup).
type Positions = std::collections::HashMap<String, usize, std::hash::BuildHasherDefault<FxHasher>>;

/// rustc's FxHash: a multiply and rotate per 8 bytes.
#[derive(Default)]
struct FxHasher(u64);

impl std::hash::Hasher for FxHasher {
    fn write(&mut self, bytes: &[u8]) {
        const K: u64 = 0x51_7c_c1_b7_27_22_0a_95;
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            let w = u64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]);
            self.0 = (self.0.rotate_left(5) ^ w).wrapping_mul(K);
        }
        for &b in chunks.remainder() {
            self.0 = (self.0.rotate_left(5) ^ u64::from(b)).wrapping_mul(K);
        }
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

impl PartialEq for OneHot {
    fn eq(&self, other: &Self) -> bool {
        self.names == other.names
    }
}

impl OneHot {
    /// Learns the sorted distinct non-missing values of the training rows.
    pub fn fit(values: &[Option<&str>]) -> OneHot {
        let mut names: Vec<String> = values.iter().flatten().map(|s| (*s).to_owned()).collect();
        names.sort_unstable();
        names.dedup();
        OneHot {
            names,
            positions: std::sync::OnceLock::new(),
        }
    }

    /// The position of `value`'s 1, or `None` for a missing or unseen value.
    pub fn index(&self, value: Option<&str>) -> Option<usize> {
        let value = value?;
        self.positions
            .get_or_init(|| {
                self.names
                    .iter()
                    .enumerate()
                    .map(|(i, n)| (n.clone(), i))
                    .collect()
            })
            .get(value)
            .copied()
    }

    /// The dense encoding: `len()` values, one 1.0 at [`OneHot::index`] or all zeros.
    pub fn transform(&self, value: Option<&str>) -> Vec<f64> {
        let mut out = vec![0.0; self.names.len()];
        if let Some(i) = self.index(value) {
            out[i] = 1.0;
        }
        out
    }

    /// Number of categories (width of the encoding).
    pub fn len(&self) -> usize {
        self.names.len()
    }

    /// Whether no category was seen.
    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }

    /// The categories, in encoding order.
    pub fn names(&self) -> &[String] {
        &self.names
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_close(a: f64, b: f64, tol: f64) {
        assert!((a - b).abs() <= tol, "{a} != {b} (tol {tol})");
    }

    #[test]
    fn standardizer_matches_population_std() {
        // sklearn.preprocessing.StandardScaler().fit([[1.0], [2.0], [4.0]]):
        //   mean_ = [2.3333333333333335], scale_ = [1.247219128924647]
        let s = Standardizer::fit(&[
            vec![Some(1.0), None, Some(2.0), Some(f64::NAN), Some(4.0)],
            vec![Some(5.0), Some(5.0)],
            vec![None, None],
            vec![],
        ]);
        assert_eq!(s.len(), 4);
        assert_close(s.means()[0], 7.0 / 3.0, 1e-15);
        assert_close(s.scales()[0], 1.247_219_128_924_647, 1e-12);
        assert_eq!((s.means()[1], s.scales()[1]), (5.0, 1.0));
        assert_eq!((s.means()[2], s.scales()[2]), (0.0, 1.0));
        assert_eq!((s.means()[3], s.scales()[3]), (0.0, 1.0));
        let row = s
            .transform(&[Some(4.0), Some(7.0), Some(3.0), Some(f64::INFINITY)])
            .unwrap();
        assert_close(row[0], (4.0 - 7.0 / 3.0) / 1.247_219_128_924_647, 1e-12);
        assert_eq!(&row[1..], &[2.0, 3.0, 0.0]);
        let missing = s.transform(&[None, None, None, None]).unwrap();
        assert_eq!(missing, vec![0.0; 4]);
        assert!(matches!(
            s.transform(&[None]),
            Err(LearnError::LengthMismatch { .. })
        ));
    }

    #[test]
    fn standardizer_empty() {
        let s = Standardizer::fit(&[]);
        assert!(s.is_empty());
        assert_eq!(s.transform(&[]).unwrap(), Vec::<f64>::new());
    }

    #[test]
    fn one_hot() {
        let h = OneHot::fit(&[
            Some("saas"),
            None,
            Some("retail"),
            Some("saas"),
            Some("Retail"),
        ]);
        assert_eq!(h.names(), &["Retail", "retail", "saas"]);
        assert_eq!(h.len(), 3);
        assert_eq!(h.transform(Some("saas")), vec![0.0, 0.0, 1.0]);
        assert_eq!(h.index(Some("retail")), Some(1));
        assert_eq!(h.transform(Some("bank")), vec![0.0; 3]);
        assert_eq!(h.transform(None), vec![0.0; 3]);
        let empty = OneHot::fit(&[None, None]);
        assert!(empty.is_empty());
        assert!(empty.transform(Some("x")).is_empty());
    }
}
