//! Won-centroid vs lost-centroid cosine scoring on embeddings (the "Leadbay method").
//!
//! Fitting L2-normalises every training vector (in `f64`) and averages them per class. The
//! score of a vector `v` is `cos(v, won) − cos(v, lost)`, so the argmax rule "closer to the won
//! centroid" is `score >= 0` (threshold 0). Scores lie in `[−2, 2]`.
//!
//! Edge cases: a cosine with a zero vector (a zero `v`, or a centroid that averaged to zero) is
//! taken as 0 — no evidence either way. Scoring a vector of the wrong dimension or with a
//! non-finite component gives NaN, which [`crate::evaluate`] rejects as an error.

use serde::{Deserialize, Serialize};

use crate::LearnError;

/// The two class centroids.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Centroid {
    won: Vec<f64>,
    lost: Vec<f64>,
    won_norm: f64,
    lost_norm: f64,
}

fn norm(v: &[f64]) -> f64 {
    v.iter().map(|x| x * x).sum::<f64>().sqrt()
}

impl Centroid {
    /// Fits on `vectors` (all the same, non-zero dimension) with `labels` (`true` = won).
    ///
    /// Errors: [`LearnError::LengthMismatch`] when `vectors` and `labels` differ in length;
    /// [`LearnError::MissingClass`] when a class has no vector (won checked first);
    /// [`LearnError::InvalidVector`] for a vector of another dimension than the first, of
    /// dimension 0, with a non-finite component, or of zero norm (it cannot be normalised).
    pub fn fit(vectors: &[&[f32]], labels: &[bool]) -> Result<Centroid, LearnError> {
        if vectors.len() != labels.len() {
            return Err(LearnError::LengthMismatch {
                what: "vectors vs labels",
                expected: labels.len(),
                got: vectors.len(),
            });
        }
        for class in [true, false] {
            if !labels.contains(&class) {
                return Err(LearnError::MissingClass { class });
            }
        }
        let dim = vectors.first().map_or(0, |v| v.len());
        let mut sums = [vec![0.0f64; dim], vec![0.0f64; dim]];
        let mut counts = [0usize; 2];
        for (row, (v, &label)) in vectors.iter().zip(labels).enumerate() {
            let reason = if v.is_empty() {
                Some("dimension 0")
            } else if v.len() != dim {
                Some("dimension differs from the first vector's")
            } else if v.iter().any(|x| !x.is_finite()) {
                Some("non-finite component")
            } else {
                None
            };
            if let Some(reason) = reason {
                return Err(LearnError::InvalidVector { row, reason });
            }
            let v64: Vec<f64> = v.iter().map(|&x| f64::from(x)).collect();
            let n = norm(&v64);
            if !(n > 0.0 && n.is_finite()) {
                return Err(LearnError::InvalidVector {
                    row,
                    reason: "zero norm",
                });
            }
            let class = usize::from(label);
            counts[class] += 1;
            for (s, x) in sums[class].iter_mut().zip(&v64) {
                *s += x / n;
            }
        }
        let [mut lost, mut won] = sums;
        for (centroid, count) in [(&mut lost, counts[0]), (&mut won, counts[1])] {
            for x in centroid.iter_mut() {
                *x /= count as f64;
            }
        }
        Ok(Centroid {
            won_norm: norm(&won),
            lost_norm: norm(&lost),
            won,
            lost,
        })
    }

    /// `cos(v, won) − cos(v, lost)`; NaN for a wrong dimension or a non-finite component.
    pub fn score(&self, v: &[f32]) -> f64 {
        let (won, lost) = self.cosines(v);
        won - lost
    }

    /// `(cos(v, won), cos(v, lost))`; NaNs for a wrong dimension or a non-finite component.
    pub fn cosines(&self, v: &[f32]) -> (f64, f64) {
        if v.len() != self.won.len() || v.iter().any(|x| !x.is_finite()) {
            return (f64::NAN, f64::NAN);
        }
        let v64: Vec<f64> = v.iter().map(|&x| f64::from(x)).collect();
        let nv = norm(&v64);
        let cos = |c: &[f64], nc: f64| {
            if nv > 0.0 && nc > 0.0 {
                c.iter().zip(&v64).map(|(a, b)| a * b).sum::<f64>() / (nv * nc)
            } else {
                0.0
            }
        };
        (
            cos(&self.won, self.won_norm),
            cos(&self.lost, self.lost_norm),
        )
    }

    /// The embedding dimension.
    pub fn dim(&self) -> usize {
        self.won.len()
    }

    /// The won centroid (mean of unit vectors; not itself unit length).
    pub fn won(&self) -> &[f64] {
        &self.won
    }

    /// The lost centroid (mean of unit vectors; not itself unit length).
    pub fn lost(&self) -> &[f64] {
        &self.lost
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_close(a: f64, b: f64, tol: f64) {
        assert!((a - b).abs() <= tol, "{a} != {b} (tol {tol})");
    }

    #[test]
    fn hand_worked() {
        // Won: (2, 0) and (0, 3) → unit (1, 0), (0, 1) → centroid (0.5, 0.5).
        // Lost: (−1, 0) → centroid (−1, 0).
        let vs: [&[f32]; 3] = [&[2.0, 0.0], &[0.0, 3.0], &[-1.0, 0.0]];
        let c = Centroid::fit(&vs, &[true, true, false]).unwrap();
        assert_eq!(c.won(), &[0.5, 0.5]);
        assert_eq!(c.lost(), &[-1.0, 0.0]);
        // v = (1, 0): cos with won = 1/√2, with lost = −1 → 1/√2 + 1.
        assert_close(c.score(&[1.0, 0.0]), 0.5f64.sqrt() + 1.0, 1e-12);
        // v = (−1, −1): cos with won = −1, with lost = 1/√2.
        assert_close(c.score(&[-1.0, -1.0]), -1.0 - 0.5f64.sqrt(), 1e-12);
        // Scale invariance.
        assert_close(c.score(&[3.0, 1.0]), c.score(&[30.0, 10.0]), 1e-12);
        assert_eq!(c.score(&[0.0, 0.0]), 0.0);
        assert!(c.score(&[1.0]).is_nan());
        assert!(c.score(&[f32::NAN, 1.0]).is_nan());
    }

    #[test]
    fn zero_centroid_scores_zero_cosine() {
        let vs: [&[f32]; 3] = [&[1.0, 0.0], &[-1.0, 0.0], &[0.0, 1.0]];
        let c = Centroid::fit(&vs, &[true, true, false]).unwrap();
        // Won centroid is (0, 0): cos taken as 0; lost centroid (0, 1).
        assert_close(c.score(&[0.0, 2.0]), -1.0, 1e-12);
    }

    #[test]
    fn errors() {
        let vs: [&[f32]; 2] = [&[1.0, 0.0], &[0.0, 1.0]];
        assert_eq!(
            Centroid::fit(&vs, &[true, true]),
            Err(LearnError::MissingClass { class: false })
        );
        assert_eq!(
            Centroid::fit(&[], &[]),
            Err(LearnError::MissingClass { class: true })
        );
        assert!(matches!(
            Centroid::fit(&vs, &[true]),
            Err(LearnError::LengthMismatch { .. })
        ));
        let bad: [&[f32]; 2] = [&[1.0, 0.0], &[0.0]];
        assert!(matches!(
            Centroid::fit(&bad, &[true, false]),
            Err(LearnError::InvalidVector { row: 1, .. })
        ));
        let zero: [&[f32]; 2] = [&[1.0, 0.0], &[0.0, 0.0]];
        assert_eq!(
            Centroid::fit(&zero, &[true, false]),
            Err(LearnError::InvalidVector {
                row: 1,
                reason: "zero norm"
            })
        );
        let nan: [&[f32]; 2] = [&[f32::NAN, 0.0], &[0.0, 1.0]];
        assert!(matches!(
            Centroid::fit(&nan, &[true, false]),
            Err(LearnError::InvalidVector { row: 0, .. })
        ));
        let empty: [&[f32]; 2] = [&[], &[]];
        assert!(matches!(
            Centroid::fit(&empty, &[true, false]),
            Err(LearnError::InvalidVector { row: 0, .. })
        ));
    }
}
