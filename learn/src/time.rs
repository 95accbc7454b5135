//! Evaluation on time: train on the older leads, test on the newest.
//!
//! Cross-validation mixes old and new leads in every fold, so a model that learnt something
//! only true in hindsight (a campaign that ran once, a segment that stopped buying) still looks
//! good there. [`time_split`] fits each model on the leads dated before a cut and scores the
//! leads dated from it on: the figure a sales team gets when it scores next quarter's leads
//! with a model trained on the past. Leads without a date take no part.

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::design::Dataset;
use crate::metrics::{captured_at, roc_auc};
use crate::models::{fold_scores, ModelSpec, Params};
use crate::LearnError;

/// Fewer test leads than this (or a test or training side with one class only): no figure.
pub const MIN_TEST_LEADS: usize = 20;

/// Which leads fall on each side of the cut.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cut {
    /// Rows dated before `cut_date`, ascending.
    pub train: Vec<usize>,
    /// Rows dated on or after `cut_date`, ascending.
    pub test: Vec<usize>,
    /// Days since 1970-01-01 of the first test date.
    pub cut_date: i32,
}

/// The cut that leaves about `test_share` of the dated rows, the newest, on the test side. All
/// rows of one date stay on one side (a day's leads are not split by row order), so the test
/// side may be a little larger; when the cut date's rows would leave less than half the rows to
/// train on, they go to the training side instead. `None` when no cut leaves rows on both sides.
pub fn cut(dates: &[Option<i32>], test_share: f64) -> Option<Cut> {
    let mut dated: Vec<(i32, usize)> = dates
        .iter()
        .enumerate()
        .filter_map(|(r, d)| d.map(|d| (d, r)))
        .collect();
    dated.sort_unstable();
    let n = dated.len();
    if n < 2 {
        return None;
    }
    let share = test_share.clamp(0.0, 1.0);
    let at = ((n as f64) * (1.0 - share)).round() as usize;
    let at = at.clamp(1, n - 1);
    let mut cut_date = dated[at].0;
    if dated.iter().filter(|(d, _)| *d < cut_date).count() < n / 2 {
        // The cut date's rows go to training; the test starts at the next date, if any.
        cut_date = dated.iter().map(|(d, _)| *d).find(|&d| d > cut_date)?;
    }
    let mut train: Vec<usize> = dated
        .iter()
        .filter(|(d, _)| *d < cut_date)
        .map(|&(_, r)| r)
        .collect();
    let mut test: Vec<usize> = dated
        .iter()
        .filter(|(d, _)| *d >= cut_date)
        .map(|&(_, r)| r)
        .collect();
    if train.is_empty() || test.is_empty() {
        return None;
    }
    train.sort_unstable();
    test.sort_unstable();
    Some(Cut {
        train,
        test,
        cut_date,
    })
}

/// One model trained on the older leads and scored on the newest.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TimeModel {
    pub model: String,
    /// ROC-AUC on the test (newest) leads.
    pub roc_auc: Option<f64>,
    /// Share of the test side's won leads in its top 20 % by score.
    pub captured_at_20: Option<f64>,
}

/// The evaluation on time.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TimeSplit {
    pub train_leads: usize,
    pub train_won: usize,
    pub test_leads: usize,
    pub test_won: usize,
    /// Days since 1970-01-01: the first training date, the cut (first test date), the last test date.
    pub first_date: i32,
    pub cut_date: i32,
    pub last_date: i32,
    /// Labelled leads without a date (in neither side).
    pub undated: usize,
    /// In the order of the models given.
    pub models: Vec<TimeModel>,
    /// Why there is no figure, when there is none.
    pub note: Option<String>,
}

/// Fits each of `specs` on the labelled rows of `d` dated before the cut and scores those dated
/// from it on (`dates`: days since 1970-01-01 per row; `test_share` of the dated rows, the
/// newest, are tested). Every transform is fitted on the training side only, as in a fold.
///
/// Errors: a model's error ([`LearnError::Model`]), [`LearnError::Cancelled`] when `cancelled`
/// says so before a fit. Too few dated leads, or a side with one class only, is not an error:
/// the result says why in `note` and has no model figures.
pub fn time_split(
    d: &Dataset,
    dates: &[Option<i32>],
    test_share: f64,
    specs: &[&'static ModelSpec],
    params: Params,
    cancelled: &(dyn Fn() -> bool + Sync),
) -> Result<TimeSplit, LearnError> {
    if dates.len() != d.len() {
        return Err(LearnError::LengthMismatch {
            what: "dates vs rows",
            expected: d.len(),
            got: dates.len(),
        });
    }
    let undated = dates.iter().filter(|x| x.is_none()).count();
    let mut out = TimeSplit {
        train_leads: 0,
        train_won: 0,
        test_leads: 0,
        test_won: 0,
        first_date: dates.iter().flatten().copied().min().unwrap_or(0),
        cut_date: 0,
        last_date: dates.iter().flatten().copied().max().unwrap_or(0),
        undated,
        models: Vec::new(),
        note: None,
    };
    let Some(cut) = cut(dates, test_share) else {
        out.note = Some(format!(
            "{} dated labelled leads: no cut leaves leads on both sides",
            d.len() - undated
        ));
        return Ok(out);
    };
    let won = |rows: &[usize]| rows.iter().filter(|&&r| d.labels[r]).count();
    out.train_leads = cut.train.len();
    out.train_won = won(&cut.train);
    out.test_leads = cut.test.len();
    out.test_won = won(&cut.test);
    out.cut_date = cut.cut_date;
    let one_class = |n: usize, w: usize| w == 0 || w == n;
    if cut.test.len() < MIN_TEST_LEADS
        || one_class(out.test_leads, out.test_won)
        || one_class(out.train_leads, out.train_won)
    {
        out.note = Some(format!(
            "too few leads for a time split: {} trained on ({} won), {} tested ({} won); it needs {MIN_TEST_LEADS} tested and both outcomes on each side",
            out.train_leads, out.train_won, out.test_leads, out.test_won
        ));
        return Ok(out);
    }
    let labels: Vec<bool> = cut.test.iter().map(|&r| d.labels[r]).collect();
    // The models in parallel (each fit reads the training side alone), kept in `specs` order.
    let fitted: Vec<Result<Vec<f64>, LearnError>> = specs
        .par_iter()
        .map(|spec| {
            if cancelled() {
                return Err(LearnError::Cancelled);
            }
            fold_scores(spec, d, &d.labels, &cut.train, &cut.test, params).map_err(|e| {
                LearnError::Model {
                    model: spec.name,
                    control: false,
                    source: Box::new(e),
                }
            })
        })
        .collect();
    for (spec, scores) in specs.iter().zip(fitted) {
        let scores = scores?;
        out.models.push(TimeModel {
            model: spec.name.to_owned(),
            roc_auc: roc_auc(&scores, &labels)?,
            captured_at_20: captured_at(&scores, &labels, 20)?,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::design::{Block, Column};
    use crate::models::model;

    const PARAMS: Params = Params {
        c: 1.0,
        tol: 1e-4,
        min_df: 2,
        seed: 1,
    };

    #[test]
    fn the_cut_keeps_a_day_on_one_side_and_the_newest_share_for_the_test() {
        // Ten rows, dates 0..10 in shuffled row order, one undated.
        let dates = [
            Some(5),
            Some(1),
            None,
            Some(9),
            Some(0),
            Some(7),
            Some(3),
            Some(8),
            Some(2),
            Some(6),
            Some(4),
        ];
        let c = cut(&dates, 0.2).unwrap();
        assert_eq!(c.cut_date, 8);
        assert_eq!(c.test, vec![3, 7]);
        assert_eq!(c.train.len(), 8);
        assert!(!c.train.contains(&2) && !c.test.contains(&2));
        // One date for most rows: they train, the later ones test.
        let dates = [Some(1), Some(1), Some(1), Some(1), Some(2), Some(3)];
        let c = cut(&dates, 0.5).unwrap();
        assert_eq!((c.train.len(), c.test.len(), c.cut_date), (4, 2, 2));
        // Every row on one date: no cut.
        assert!(cut(&[Some(4); 5], 0.2).is_none());
        assert!(cut(&[None, Some(1)], 0.2).is_none());
    }

    /// 400 leads over 400 days: in the older 80 % the won leads are those with a high `x`; in
    /// the newest 20 % those with a high `z` (the market moved). Cross-validation over all of
    /// them still finds `x`; the time split shows the model failing on the newest leads.
    #[test]
    fn a_signal_that_stopped_holding_shows_on_time_and_not_in_cross_validation() {
        let n = 400;
        let mut state = 7u64;
        let mut rnd = || {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((state >> 11) as f64) / ((1u64 << 53) as f64)
        };
        let (mut x, mut z, mut labels, mut dates) = (vec![], vec![], vec![], vec![]);
        for i in 0..n {
            let (a, b) = (rnd(), rnd());
            let newest = i >= 320;
            let signal = if newest { b } else { a };
            labels.push(signal + 0.3 * rnd() > 0.75);
            x.push(Some(a));
            z.push(Some(b));
            dates.push(Some(19_000 + i as i32));
        }
        let d = Dataset {
            embedding: vec![None; n],
            text: vec![String::new(); n],
            attributes: Block {
                numeric: vec![Column::new("x", x), Column::new("z", z)],
                categorical: Vec::new(),
            },
            labels,
            ..Dataset::default()
        };
        let spec = model("logistic_attributes").unwrap();
        let t = time_split(&d, &dates, 0.2, &[spec], PARAMS, &|| false).unwrap();
        assert_eq!((t.train_leads, t.test_leads), (320, 80));
        assert_eq!(t.cut_date, 19_320);
        let on_time = t.models[0].roc_auc.unwrap();
        let folds = crate::Folds::new(&d.labels, 5, 1).unwrap();
        let oof = crate::out_of_fold(d.len(), &folds.folds, 5, |tr, te| {
            fold_scores(spec, &d, &d.labels, tr, te, PARAMS)
        })
        .unwrap();
        let cv = roc_auc(&oof, &d.labels).unwrap().unwrap();
        assert!(cv > 0.8, "cross-validation {cv}");
        assert!(on_time < 0.65, "on time {on_time} (cross-validation {cv})");
        // Cancelled before the fit: nothing is fitted.
        assert!(matches!(
            time_split(&d, &dates, 0.2, &[spec], PARAMS, &|| true),
            Err(LearnError::Cancelled)
        ));
        // A test side with one class: a note, no figure, no error.
        let few: Vec<Option<i32>> = (0..n).map(|i| (i < 330).then_some(i as i32)).collect();
        let t = time_split(&d, &few, 0.02, &[spec], PARAMS, &|| false).unwrap();
        assert!(t.models.is_empty() && t.note.is_some(), "{t:?}");
    }
}
