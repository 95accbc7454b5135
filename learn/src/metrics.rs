//! Classification metrics for won/lost scores.
//!
//! Conventions (all functions):
//!
//! - `labels[i] == true` is a won lead (positive); a higher score means "more likely won".
//! - `scores` and `labels` must have the same, non-zero length ([`LearnError::LengthMismatch`],
//!   [`LearnError::Empty`]); a NaN score is an error ([`LearnError::NonFinite`]) because it has
//!   no place in a ranking. ±∞ are ordinary (extreme) scores.
//! - **Ties** are never broken by row order. Rows with equal scores form one group: ROC and
//!   gains curves take a single (diagonal) step per group, ROC-AUC counts a tied won/lost pair
//!   as ½ (Mann–Whitney with average ranks), average precision steps once per distinct score
//!   (as scikit-learn), and a top-q% cut that falls inside a tied group takes the group's
//!   positives *pro rata* — the expected count under a uniformly random order of the ties. So
//!   a constant scorer has lift exactly 1 whatever the row order.
//! - **Zero division** gives 0.0 for precision, recall and F1 (scikit-learn's
//!   `zero_division=0`). Quantities that are undefined rather than zero are `None`: ROC-AUC when
//!   a class is absent; average precision, lift and captured share when there is no positive.
//! - Cut sizes use integer arithmetic: the top q% of `n` rows is ⌈q·n/100⌉ rows (so 35 % of 20
//!   is exactly 7, never 8 through floating-point error).

use serde::{Deserialize, Serialize};

use crate::LearnError;

/// All metrics for one set of scores at one decision threshold.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Metrics {
    /// Number of rows.
    pub n: usize,
    /// Number of won rows.
    pub positives: usize,
    /// The decision threshold: a row is predicted won when `score >= threshold`.
    pub threshold: f64,
    pub accuracy: f64,
    /// tp / (tp + fp); 0.0 when nothing is predicted won.
    pub precision: f64,
    /// tp / (tp + fn); 0.0 when there is no won row.
    pub recall: f64,
    /// 2tp / (2tp + fp + fn); 0.0 when that denominator is 0.
    pub f1: f64,
    /// Area under the ROC curve; `None` when one class is absent.
    pub roc_auc: Option<f64>,
    /// Average precision (scikit-learn's `average_precision_score`); `None` without positives.
    pub pr_auc: Option<f64>,
    /// `[[tn, fp], [fn, tp]]` (rows: actual lost/won; columns: predicted lost/won).
    pub confusion: [[u64; 2]; 2],
    /// Lift in the top 10 % of scores; `None` without positives.
    pub lift_10: Option<f64>,
    /// Lift in the top 20 % of scores; `None` without positives.
    pub lift_20: Option<f64>,
    /// Lift in the top 35 % of scores; `None` without positives.
    pub lift_35: Option<f64>,
    /// Share of all won rows found in the top 35 % of scores; `None` without positives.
    pub captured_35: Option<f64>,
}

/// Scores sorted descending and grouped by equal score: `(rows, positives)` per group.
struct Ranked {
    groups: Vec<(u64, u64)>,
    n: u64,
    positives: u64,
}

/// Scores against labels: as many of each, at least one, and no NaN score (nor an infinite
/// one unless `infinite_ok`).
pub(crate) fn check_scores(
    scores: &[f64],
    labels: &[bool],
    infinite_ok: bool,
) -> Result<(), LearnError> {
    if scores.len() != labels.len() {
        return Err(LearnError::LengthMismatch {
            what: "scores vs labels",
            expected: labels.len(),
            got: scores.len(),
        });
    }
    if scores.is_empty() {
        return Err(LearnError::Empty { what: "scores" });
    }
    let bad = |s: &f64| s.is_nan() || (!infinite_ok && s.is_infinite());
    if let Some(row) = scores.iter().position(bad) {
        return Err(LearnError::NonFinite { what: "score", row });
    }
    Ok(())
}

fn rank(scores: &[f64], labels: &[bool]) -> Result<Ranked, LearnError> {
    check_scores(scores, labels, true)?;
    let mut order: Vec<usize> = (0..scores.len()).collect();
    order.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]));
    let mut groups: Vec<(u64, u64)> = Vec::new();
    let mut last: Option<f64> = None;
    for &i in &order {
        let positive = u64::from(labels[i]);
        match (last, groups.last_mut()) {
            // `==` (not total order) so that -0.0 and 0.0 are one group.
            (Some(prev), Some(group)) if prev == scores[i] => {
                group.0 += 1;
                group.1 += positive;
            }
            _ => groups.push((1, positive)),
        }
        last = Some(scores[i]);
    }
    let positives = labels.iter().filter(|&&l| l).count() as u64;
    Ok(Ranked {
        groups,
        n: scores.len() as u64,
        positives,
    })
}

impl Ranked {
    fn negatives(&self) -> u64 {
        self.n - self.positives
    }

    /// Mann–Whitney U / (P·N), ties counted ½, in exact integer arithmetic until the division.
    fn roc_auc(&self) -> Option<f64> {
        let (p, q) = (self.positives, self.negatives());
        if p == 0 || q == 0 {
            return None;
        }
        // Walking down from the highest score: every negative is beaten by the positives
        // already seen and ties with the positives of its own group.
        let mut tp_before: u128 = 0;
        let mut twice_u: u128 = 0;
        for &(count, pos) in &self.groups {
            let neg = u128::from(count - pos);
            twice_u += neg * (2 * tp_before + u128::from(pos));
            tp_before += u128::from(pos);
        }
        Some(twice_u as f64 / (2.0 * p as f64 * q as f64))
    }

    /// scikit-learn's `average_precision_score`: Σ (Rₖ − Rₖ₋₁)·Pₖ over distinct thresholds.
    fn average_precision(&self) -> Option<f64> {
        if self.positives == 0 {
            return None;
        }
        let total = self.positives as f64;
        let (mut seen, mut tp) = (0u64, 0u64);
        let mut ap = 0.0;
        for &(count, pos) in &self.groups {
            seen += count;
            tp += pos;
            if pos > 0 {
                ap += (pos as f64 / total) * (tp as f64 / seen as f64);
            }
        }
        Some(ap)
    }

    /// Expected positives among the top `cut` rows (ties at the cut taken pro rata).
    fn positives_in_top(&self, cut: u64) -> f64 {
        let mut taken = 0u64;
        let mut found = 0.0;
        for &(count, pos) in &self.groups {
            if taken + count <= cut {
                taken += count;
                found += pos as f64;
            } else {
                found += (cut - taken) as f64 * pos as f64 / count as f64;
                break;
            }
        }
        found
    }

    fn cut(&self, percent: u32) -> u64 {
        (u64::from(percent) * self.n).div_ceil(100)
    }

    fn lift(&self, percent: u32) -> Option<f64> {
        if self.positives == 0 {
            return None;
        }
        let cut = self.cut(percent);
        let rate_top = self.positives_in_top(cut) / cut as f64;
        Some(rate_top * self.n as f64 / self.positives as f64)
    }

    fn captured(&self, percent: u32) -> Option<f64> {
        if self.positives == 0 {
            return None;
        }
        Some(self.positives_in_top(self.cut(percent)) / self.positives as f64)
    }
}

fn check_percent(percent: u32) -> Result<(), LearnError> {
    if percent == 0 || percent > 100 {
        return Err(LearnError::InvalidParameter {
            name: "percent",
            value: f64::from(percent),
        });
    }
    Ok(())
}

fn ratio(num: u64, den: u64) -> f64 {
    if den == 0 {
        0.0
    } else {
        num as f64 / den as f64
    }
}

/// Computes every [`Metrics`] field; a row is predicted won when `score >= threshold`.
///
/// Errors: see the module docs; a NaN `threshold` is [`LearnError::InvalidParameter`].
pub fn evaluate(scores: &[f64], labels: &[bool], threshold: f64) -> Result<Metrics, LearnError> {
    if threshold.is_nan() {
        return Err(LearnError::InvalidParameter {
            name: "threshold",
            value: threshold,
        });
    }
    let ranked = rank(scores, labels)?;
    let mut confusion = [[0u64; 2]; 2];
    for (&s, &l) in scores.iter().zip(labels) {
        confusion[usize::from(l)][usize::from(s >= threshold)] += 1;
    }
    let [[tn, fp], [fn_, tp]] = confusion;
    Ok(Metrics {
        n: scores.len(),
        positives: ranked.positives as usize,
        threshold,
        accuracy: ratio(tp + tn, ranked.n),
        precision: ratio(tp, tp + fp),
        recall: ratio(tp, tp + fn_),
        f1: ratio(2 * tp, 2 * tp + fp + fn_),
        roc_auc: ranked.roc_auc(),
        pr_auc: ranked.average_precision(),
        confusion,
        lift_10: ranked.lift(10),
        lift_20: ranked.lift(20),
        lift_35: ranked.lift(35),
        captured_35: ranked.captured(35),
    })
}

/// ROC-AUC (Mann–Whitney, ties ½); `Ok(None)` when one class is absent.
pub fn roc_auc(scores: &[f64], labels: &[bool]) -> Result<Option<f64>, LearnError> {
    Ok(rank(scores, labels)?.roc_auc())
}

/// Average precision as scikit-learn's `average_precision_score`; `Ok(None)` without positives.
pub fn average_precision(scores: &[f64], labels: &[bool]) -> Result<Option<f64>, LearnError> {
    Ok(rank(scores, labels)?.average_precision())
}

/// Lift in the top `percent` % (1..=100) of scores: positive rate among the top ⌈percent·n/100⌉
/// rows over the overall positive rate, ties at the cut pro rata; `Ok(None)` without positives.
pub fn lift_at(scores: &[f64], labels: &[bool], percent: u32) -> Result<Option<f64>, LearnError> {
    check_percent(percent)?;
    Ok(rank(scores, labels)?.lift(percent))
}

/// Share of all positives found in the top `percent` % (1..=100) of scores, ties at the cut
/// pro rata; `Ok(None)` without positives.
pub fn captured_at(
    scores: &[f64],
    labels: &[bool],
    percent: u32,
) -> Result<Option<f64>, LearnError> {
    check_percent(percent)?;
    Ok(rank(scores, labels)?.captured(percent))
}

/// ROC curve as `(false positive rate, true positive rate)` points from `(0, 0)` to `(1, 1)`,
/// one point per distinct score (descending), so tied scores make one diagonal step. All
/// points are kept (no `drop_intermediate` as in scikit-learn).
///
/// Errors: as the module docs, plus [`LearnError::MissingClass`] when a class is absent (one
/// of the rates would be 0/0).
pub fn roc_curve(scores: &[f64], labels: &[bool]) -> Result<Vec<(f64, f64)>, LearnError> {
    let ranked = rank(scores, labels)?;
    let (p, q) = (ranked.positives, ranked.negatives());
    if p == 0 || q == 0 {
        return Err(LearnError::MissingClass { class: p == 0 });
    }
    let mut points = Vec::with_capacity(ranked.groups.len() + 1);
    points.push((0.0, 0.0));
    let (mut tp, mut fp) = (0u64, 0u64);
    for &(count, pos) in &ranked.groups {
        tp += pos;
        fp += count - pos;
        points.push((fp as f64 / q as f64, tp as f64 / p as f64));
    }
    Ok(points)
}

/// Cumulative gains curve as `(share of leads, share of won leads)` points from `(0, 0)` to
/// `(1, 1)`, leads taken by descending score, one point per distinct score (ties make one
/// straight segment, consistent with the pro-rata cut of [`lift_at`]).
///
/// Errors: as the module docs, plus [`LearnError::MissingClass`] `{ class: true }` without
/// positives.
pub fn gains_curve(scores: &[f64], labels: &[bool]) -> Result<Vec<(f64, f64)>, LearnError> {
    let ranked = rank(scores, labels)?;
    if ranked.positives == 0 {
        return Err(LearnError::MissingClass { class: true });
    }
    let mut points = Vec::with_capacity(ranked.groups.len() + 1);
    points.push((0.0, 0.0));
    let (mut seen, mut tp) = (0u64, 0u64);
    for &(count, pos) in &ranked.groups {
        seen += count;
        tp += pos;
        points.push((
            seen as f64 / ranked.n as f64,
            tp as f64 / ranked.positives as f64,
        ));
    }
    Ok(points)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64, tol: f64) -> bool {
        (a - b).abs() <= tol
    }

    fn assert_close(a: f64, b: f64, tol: f64) {
        assert!(close(a, b, tol), "{a} != {b} (tol {tol})");
    }

    #[test]
    fn hand_worked_small_case() {
        // Scores descending: 0.9(+) 0.8(-) 0.7(+) 0.6(+) 0.4(-) 0.3(-) 0.2(+) 0.1(-)
        let scores = [0.1, 0.4, 0.6, 0.9, 0.3, 0.7, 0.2, 0.8];
        let labels = [false, false, true, true, false, true, true, false];
        let m = evaluate(&scores, &labels, 0.5).unwrap();
        // Predicted won (>= 0.5): 0.9+, 0.8-, 0.7+, 0.6+ → tp 3, fp 1; fn 1 (0.2), tn 3.
        assert_eq!(m.confusion, [[3, 1], [1, 3]]);
        assert_eq!((m.n, m.positives), (8, 4));
        assert_close(m.accuracy, 0.75, 1e-15);
        assert_close(m.precision, 0.75, 1e-15);
        assert_close(m.recall, 0.75, 1e-15);
        assert_close(m.f1, 0.75, 1e-15);
        // Pairs (pos beats neg): 0.9 beats 4, 0.7 beats 3, 0.6 beats 3, 0.2 beats 1 → 11/16.
        // (sklearn.metrics.roc_auc_score([0,0,1,1,0,1,1,0], scores) -> 0.6875)
        assert_close(m.roc_auc.unwrap(), 11.0 / 16.0, 1e-15);
        // AP: hits at ranks 1, 3, 4, 7 → (1 + 2/3 + 3/4 + 4/7) / 4.
        // (sklearn.metrics.average_precision_score([0,0,1,1,0,1,1,0], scores)
        //  -> 0.7470238095238095)
        assert_close(
            m.pr_auc.unwrap(),
            (1.0 + 2.0 / 3.0 + 0.75 + 4.0 / 7.0) / 4.0,
            1e-15,
        );
        // Top 10 % of 8 = ⌈0.8⌉ = 1 row (a positive): rate 1 / base rate 0.5 → lift 2.
        assert_close(m.lift_10.unwrap(), 2.0, 1e-15);
        // Top 20 % = ⌈1.6⌉ = 2 rows: 1 positive → 0.5 / 0.5 = 1.
        assert_close(m.lift_20.unwrap(), 1.0, 1e-15);
        // Top 35 % = ⌈2.8⌉ = 3 rows: 2 positives → (2/3) / 0.5.
        assert_close(m.lift_35.unwrap(), 4.0 / 3.0, 1e-15);
        assert_close(m.captured_35.unwrap(), 0.5, 1e-15);
    }

    #[test]
    fn sklearn_auc_and_ap_with_ties() {
        // Expected values from scikit-learn 1.9.1:
        //   y = [1,0,1,1,0,0,1,0,1,0]; s = [0.8,0.8,0.5,0.5,0.5,0.3,0.9,0.1,0.3,0.3]
        //   sklearn.metrics.roc_auc_score(y, s)           -> 0.74
        //   sklearn.metrics.average_precision_score(y, s) -> 0.711111111111111
        let y = [
            true, false, true, true, false, false, true, false, true, false,
        ];
        let s = [0.8, 0.8, 0.5, 0.5, 0.5, 0.3, 0.9, 0.1, 0.3, 0.3];
        assert_close(roc_auc(&s, &y).unwrap().unwrap(), 0.74, 1e-12);
        assert_close(
            average_precision(&s, &y).unwrap().unwrap(),
            0.711_111_111_111_111,
            1e-12,
        );
    }

    #[test]
    fn lift_auc_ap_against_numpy_and_sklearn() {
        // Distinct scores, so no tie rule is involved. Python (numpy, scikit-learn 1.9.1):
        //   n = 50; s = np.array([(i*37 % 101)/101 for i in range(n)])
        //   y = np.array([(i*13 % 7) < 3 for i in range(n)])
        //   order = np.argsort(-s, kind="stable"); k = -(-q*n//100)
        //   lift = y[order[:k]].mean() / y.mean(); captured = y[order[:k]].sum() / y.sum()
        //   -> q=10: 0.9090909090909092; q=20: 1.1363636363636365;
        //      q=35: 1.01010101010101, captured 0.36363636363636365
        //   roc_auc_score(y, s) -> 0.48538961038961037
        //   average_precision_score(y, s) -> 0.4614883762926274
        let s: Vec<f64> = (0..50).map(|i| f64::from(i * 37 % 101) / 101.0).collect();
        let y: Vec<bool> = (0..50).map(|i| (i * 13 % 7) < 3).collect();
        let m = evaluate(&s, &y, 0.5).unwrap();
        assert_eq!(m.positives, 22);
        assert_close(m.lift_10.unwrap(), 0.909_090_909_090_909_2, 1e-12);
        assert_close(m.lift_20.unwrap(), 1.136_363_636_363_636_5, 1e-12);
        assert_close(m.lift_35.unwrap(), 1.010_101_010_101_01, 1e-12);
        assert_close(m.captured_35.unwrap(), 0.363_636_363_636_363_65, 1e-12);
        assert_close(m.roc_auc.unwrap(), 0.485_389_610_389_610_37, 1e-12);
        assert_close(m.pr_auc.unwrap(), 0.461_488_376_292_627_4, 1e-12);
    }

    #[test]
    fn sklearn_f1_without_positive_predictions() {
        // sklearn.metrics.f1_score([1,0,1,0], [0,0,0,0], zero_division=0)        -> 0.0
        // sklearn.metrics.precision_score([1,0,1,0], [0,0,0,0], zero_division=0) -> 0.0
        // sklearn.metrics.recall_score([1,0,1,0], [0,0,0,0])                     -> 0.0
        let y = [true, false, true, false];
        let s = [0.1, 0.2, 0.3, 0.4];
        let m = evaluate(&s, &y, 0.5).unwrap();
        assert_eq!(m.confusion, [[2, 0], [2, 0]]);
        assert_eq!((m.precision, m.recall, m.f1), (0.0, 0.0, 0.0));
        assert_close(m.accuracy, 0.5, 1e-15);
    }

    #[test]
    fn auc_equals_trapezoid_of_roc_curve() {
        let y = [
            true, false, true, true, false, false, true, false, true, false,
        ];
        let s = [0.8, 0.8, 0.5, 0.5, 0.5, 0.3, 0.9, 0.1, 0.3, 0.3];
        let curve = roc_curve(&s, &y).unwrap();
        let area: f64 = curve
            .windows(2)
            .map(|w| (w[1].0 - w[0].0) * (w[1].1 + w[0].1) / 2.0)
            .sum();
        assert_close(area, 0.74, 1e-12);
        // One point per distinct score (0.9, 0.8, 0.5, 0.3, 0.1) plus the origin.
        assert_eq!(curve.len(), 6);
        assert_eq!(curve[0], (0.0, 0.0));
        assert_eq!(curve[5], (1.0, 1.0));
        // After 0.9 (+): (0, 0.2); after the 0.8 pair (+,-): (0.2, 0.4).
        assert_close(curve[1].0, 0.0, 1e-15);
        assert_close(curve[1].1, 0.2, 1e-15);
        assert_close(curve[2].0, 0.2, 1e-15);
        assert_close(curve[2].1, 0.4, 1e-15);
    }

    #[test]
    fn lift_ties_at_the_cut_are_pro_rata_and_order_free() {
        // 10 rows, top 20 % = 2 rows. Scores: 0.9 (+), then four tied at 0.5 with 2 positives.
        // The cut takes 0.9 and one of the four tied rows: expected positives 1 + 1·2/4 = 1.5.
        // Base rate 3/10 → lift = (1.5/2) / 0.3 = 2.5; captured(20) = 1.5/3 = 0.5.
        let s = [0.5, 0.5, 0.9, 0.5, 0.5, 0.1, 0.1, 0.2, 0.2, 0.3];
        let y = [
            true, false, true, true, false, false, false, false, false, false,
        ];
        assert_close(lift_at(&s, &y, 20).unwrap().unwrap(), 2.5, 1e-15);
        assert_close(captured_at(&s, &y, 20).unwrap().unwrap(), 0.5, 1e-15);
        // Permuting rows changes nothing.
        let perm = [9, 3, 0, 7, 1, 5, 2, 8, 4, 6];
        let s2: Vec<f64> = perm.iter().map(|&i| s[i]).collect();
        let y2: Vec<bool> = perm.iter().map(|&i| y[i]).collect();
        assert_close(lift_at(&s2, &y2, 20).unwrap().unwrap(), 2.5, 1e-15);
        // A constant scorer has lift 1 at every cut.
        let flat = [0.3; 10];
        for p in [10, 20, 35, 100] {
            assert_close(lift_at(&flat, &y, p).unwrap().unwrap(), 1.0, 1e-15);
        }
    }

    #[test]
    fn lift_cut_uses_integer_ceiling() {
        // 0.1 * 30 = 3.0000000000000004 in floating point; the cut must be 3 rows, not 4.
        let n = 30;
        let s: Vec<f64> = (0..n).map(|i| -(i as f64)).collect();
        let y: Vec<bool> = (0..n).map(|i| i < 3 || i == 3 + 10).collect();
        // Top 3 rows are all positive; base rate 4/30 → lift 1 / (4/30) = 7.5.
        assert_close(lift_at(&s, &y, 10).unwrap().unwrap(), 7.5, 1e-12);
        // 35 % of 20 = 7 rows exactly.
        let s: Vec<f64> = (0..20).map(|i| -(i as f64)).collect();
        let y: Vec<bool> = (0..20).map(|i| i % 2 == 0).collect();
        // Top 7: rows 0..7 → positives 0,2,4,6 = 4 → captured 4/10.
        assert_close(captured_at(&s, &y, 35).unwrap().unwrap(), 0.4, 1e-15);
    }

    #[test]
    fn gains_curve_points() {
        let s = [0.9, 0.5, 0.5, 0.1];
        let y = [true, true, false, false];
        let g = gains_curve(&s, &y).unwrap();
        assert_eq!(g, vec![(0.0, 0.0), (0.25, 0.5), (0.75, 1.0), (1.0, 1.0)]);
    }

    #[test]
    fn one_class_and_bad_input() {
        let s = [0.2, 0.4];
        let m = evaluate(&s, &[false, false], 0.3).unwrap();
        assert_eq!(m.roc_auc, None);
        assert_eq!(m.pr_auc, None);
        assert_eq!(m.lift_10, None);
        assert_eq!(m.captured_35, None);
        assert_eq!((m.precision, m.recall, m.f1), (0.0, 0.0, 0.0));
        assert_close(m.accuracy, 0.5, 1e-15);
        let m = evaluate(&s, &[true, true], 0.3).unwrap();
        assert_eq!(m.roc_auc, None);
        // sklearn.metrics.average_precision_score([1, 1], [0.2, 0.4]) -> 1.0
        assert_eq!(m.pr_auc, Some(1.0));
        assert_eq!(m.lift_35, Some(1.0));
        assert!(roc_curve(&s, &[true, true]).is_err());
        assert!(gains_curve(&s, &[false, false]).is_err());
        assert!(gains_curve(&s, &[true, true]).is_ok());

        assert_eq!(
            evaluate(&[], &[], 0.5),
            Err(LearnError::Empty { what: "scores" })
        );
        assert!(matches!(
            evaluate(&[0.1], &[true, false], 0.5),
            Err(LearnError::LengthMismatch { .. })
        ));
        assert_eq!(
            evaluate(&[0.1, f64::NAN], &[true, false], 0.5),
            Err(LearnError::NonFinite {
                what: "score",
                row: 1
            })
        );
        assert!(evaluate(&[0.1, 0.2], &[true, false], f64::NAN).is_err());
        assert!(lift_at(&s, &[true, false], 0).is_err());
        assert!(lift_at(&s, &[true, false], 101).is_err());
        // Infinite scores are ordinary extremes.
        let auc = roc_auc(&[f64::INFINITY, f64::NEG_INFINITY], &[true, false]).unwrap();
        assert_eq!(auc, Some(1.0));
    }

    #[test]
    fn negative_zero_ties_with_zero() {
        let auc = roc_auc(&[0.0, -0.0], &[true, false]).unwrap();
        assert_eq!(auc, Some(0.5));
    }

    #[test]
    fn metrics_serialise() {
        fn is_serialize<T: Serialize>(_: &T) {}
        let m = evaluate(&[0.1, 0.9], &[false, true], 0.5).unwrap();
        is_serialize(&m);
    }
}
