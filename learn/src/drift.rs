//! Are our wins changing? The movement of the won centroid across time windows.
//!
//! The dated won leads are sorted by date and cut into windows of equal size; each window's
//! centroid is the mean of its leads' vectors (the embedding, or the standardised tabular
//! design when the leads have no text), taken after subtracting the mean of every labelled
//! lead, so that the centroid says what sets the wins of that period apart, not what every
//! lead shares. Each window is compared by cosine with the previous one and with the first.
//!
//! A cosine alone does not say whether wins moved: two centroids of 15 random won leads differ
//! too. So each comparison has its chance floor: a low percentile of the cosine between the
//! centroids of two disjoint random draws of the same sizes from all the dated wins (wins with
//! no time order). A window whose cosine falls below its floor has moved more than sampling
//! explains. The percentile is 5 % divided by the number of comparisons (Bonferroni), so that
//! wins that did not move are flagged in at most about one run in twenty, however many
//! windows there are.

use crate::folds::SplitMix64;
use crate::{Dataset, Design, Inputs, LearnError};

/// Won leads per window at least; fewer dated wins make fewer windows.
pub const MIN_PER_WINDOW: usize = 15;
/// Windows at most.
pub const MAX_WINDOWS: usize = 4;
/// Random draws behind each chance floor.
pub const CHANCE_DRAWS: usize = 400;
/// The chance of flagging wins that did not move, shared by all the comparisons of a run.
pub const FALSE_ALARM: f64 = 0.05;

/// One time window of won leads.
#[derive(Debug, Clone, PartialEq)]
pub struct Window {
    /// Dates as days since 1970-01-01, first and last of the window's wins.
    pub first_date: i32,
    pub last_date: i32,
    pub won: usize,
    /// Cosine with the previous window's centroid (`None` for the first window).
    pub cosine_to_previous: Option<f64>,
    /// The [`FALSE_ALARM`]` / comparisons` quantile of that cosine between random draws of
    /// the same sizes.
    pub chance_floor_previous: Option<f64>,
    /// Cosine with the first window's centroid (`None` for the first window; the same as to
    /// the previous one for the second).
    pub cosine_to_first: Option<f64>,
    pub chance_floor_first: Option<f64>,
}

impl Window {
    /// The window's centroid moved more than chance explains, from the previous window or from
    /// the first.
    pub fn moved(&self) -> bool {
        let below = |c: Option<f64>, f: Option<f64>| matches!((c, f), (Some(c), Some(f)) if c < f);
        below(self.cosine_to_previous, self.chance_floor_previous)
            || below(self.cosine_to_first, self.chance_floor_first)
    }
}

/// The won centroid over time.
#[derive(Debug, Clone, PartialEq)]
pub struct CentroidDrift {
    /// `embedding` or `tabular` (standardised numbers, missing indicators, one-hot categories).
    pub space: &'static str,
    /// Won leads with a date (and a vector in `space`).
    pub dated_won: usize,
    pub windows: Vec<Window>,
    /// Why no windows were compared, when none were.
    pub note: Option<String>,
}

impl CentroidDrift {
    /// Some window moved more than chance explains.
    pub fn moved(&self) -> bool {
        self.windows.iter().any(Window::moved)
    }
}

fn cosine(a: &[f64], b: &[f64]) -> Option<f64> {
    let (mut ab, mut aa, mut bb) = (0.0, 0.0, 0.0);
    for (x, y) in a.iter().zip(b) {
        ab += x * y;
        aa += x * x;
        bb += y * y;
    }
    (aa > 0.0 && bb > 0.0).then(|| ab / (aa * bb).sqrt())
}

fn centroid(vectors: &[Vec<f64>], members: impl Iterator<Item = usize>) -> Vec<f64> {
    let dim = vectors.first().map_or(0, Vec::len);
    let mut c = vec![0.0; dim];
    let mut n = 0usize;
    for i in members {
        for (s, v) in c.iter_mut().zip(&vectors[i]) {
            *s += v;
        }
        n += 1;
    }
    if n > 0 {
        c.iter_mut().for_each(|s| *s /= n as f64);
    }
    c
}

/// The `quantile` of the cosine between the centroids of two disjoint random draws of `a` and
/// `b` of the `vectors`.
fn chance_floor(
    vectors: &[Vec<f64>],
    (a, b): (usize, usize),
    quantile: f64,
    rng: &mut SplitMix64,
) -> Option<f64> {
    let mut order: Vec<usize> = (0..vectors.len()).collect();
    let mut cosines: Vec<f64> = (0..CHANCE_DRAWS)
        .filter_map(|_| {
            rng.shuffle(&mut order);
            let ca = centroid(vectors, order[..a].iter().copied());
            let cb = centroid(vectors, order[a..a + b].iter().copied());
            cosine(&ca, &cb)
        })
        .collect();
    if cosines.is_empty() {
        return None;
    }
    cosines.sort_by(f64::total_cmp);
    let at = ((cosines.len() as f64 * quantile) as usize).min(cosines.len() - 1);
    Some(cosines[at])
}

/// The won centroid's movement over the `labelled` rows of `d` dated by `dates` (days since
/// 1970-01-01, one per row of `d`). The space is the embedding when at least half the dated
/// wins have one, else the standardised firmographic, web and attribute columns.
///
/// Fewer than `2 ×` [`MIN_PER_WINDOW`] dated wins give no windows and a `note` saying so.
///
/// Errors: [`LearnError::LengthMismatch`] when `dates` is not one per row; those of
/// [`Design::fit`].
pub fn won_centroid_drift(
    d: &Dataset,
    labelled: &[usize],
    dates: &[Option<i32>],
    seed: u64,
) -> Result<CentroidDrift, LearnError> {
    if dates.len() != d.len() {
        return Err(LearnError::LengthMismatch {
            what: "dates vs rows",
            expected: d.len(),
            got: dates.len(),
        });
    }
    let dated_won: Vec<usize> = labelled
        .iter()
        .copied()
        .filter(|&r| r < d.len() && d.labels[r] && dates[r].is_some())
        .collect();
    let with_embedding = dated_won
        .iter()
        .filter(|&&r| d.embedding[r].is_some())
        .count();
    let embedding = d.has_embedding() && with_embedding * 2 >= dated_won.len().max(1);
    let inputs = if embedding {
        Inputs {
            embedding: true,
            ..Inputs::none()
        }
    } else {
        Inputs {
            firmographics: true,
            web: true,
            attributes: true,
            ..Inputs::none()
        }
    };
    let space = if embedding { "embedding" } else { "tabular" };
    let mut wins: Vec<usize> = dated_won
        .into_iter()
        .filter(|&r| !embedding || d.embedding[r].is_some())
        .collect();
    wins.sort_by_key(|&r| (dates[r], r));
    let k = (wins.len() / MIN_PER_WINDOW).min(MAX_WINDOWS);
    let mut out = CentroidDrift {
        space,
        dated_won: wins.len(),
        windows: Vec::new(),
        note: None,
    };
    if k < 2 {
        out.note = Some(format!(
            "{} dated won leads: comparing the won centroid over time needs at least {}",
            wins.len(),
            2 * MIN_PER_WINDOW
        ));
        return Ok(out);
    }
    let labelled: Vec<usize> = labelled.iter().copied().filter(|&r| r < d.len()).collect();
    let design = Design::fit(d, &labelled, inputs, 1)?;
    let dense = |r: usize| -> Result<Vec<f64>, LearnError> {
        let mut v = vec![0.0; design.dim()];
        for (j, x) in design.row(d, r)? {
            v[j as usize] += x;
        }
        Ok(v)
    };
    let mean = {
        let rows = labelled
            .iter()
            .map(|&r| dense(r))
            .collect::<Result<Vec<_>, _>>()?;
        centroid(&rows, 0..rows.len())
    };
    let vectors: Vec<Vec<f64>> = wins
        .iter()
        .map(|&r| -> Result<Vec<f64>, LearnError> {
            let mut v = dense(r)?;
            v.iter_mut().zip(&mean).for_each(|(x, m)| *x -= m);
            Ok(v)
        })
        .collect::<Result<_, _>>()?;
    // Equal windows; the first ones take the remainder.
    let bounds: Vec<(usize, usize)> = (0..k)
        .map(|w| (w * wins.len() / k, (w + 1) * wins.len() / k))
        .collect();
    let centroids: Vec<Vec<f64>> = bounds
        .iter()
        .map(|&(a, b)| centroid(&vectors, a..b))
        .collect();
    let mut rng = SplitMix64::new(seed);
    // Each window against the previous one, and from the third on against the first.
    let comparisons = (k - 1) + (k - 2);
    let quantile = FALSE_ALARM / comparisons as f64;
    let size = |i: usize| bounds[i].1 - bounds[i].0;
    let mut compare = |w: usize, other: usize| {
        (
            cosine(&centroids[w], &centroids[other]),
            chance_floor(&vectors, (size(other), size(w)), quantile, &mut rng),
        )
    };
    for (w, &(a, b)) in bounds.iter().enumerate() {
        let ((cosine_to_previous, chance_floor_previous), (cosine_to_first, chance_floor_first)) =
            match w {
                0 => ((None, None), (None, None)),
                1 => {
                    let c = compare(1, 0);
                    (c, c)
                }
                _ => (compare(w, w - 1), compare(w, 0)),
            };
        out.windows.push(Window {
            first_date: dates[wins[a]].unwrap_or_default(),
            last_date: dates[wins[b - 1]].unwrap_or_default(),
            won: b - a,
            cosine_to_previous,
            chance_floor_previous,
            cosine_to_first,
            chance_floor_first,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Block, Column};

    /// `n` labelled leads dated 0..n, every other one won; the wins' `segment` is `early`
    /// before `switch` and `late` after it; a numeric column of noise.
    fn leads(n: usize, switch: usize, early: &str, late: &str) -> Dataset {
        leads_seeded(n, switch, early, late, 7)
    }

    fn leads_seeded(n: usize, switch: usize, early: &str, late: &str, seed: u64) -> Dataset {
        let mut rng = SplitMix64::new(seed);
        let labels: Vec<bool> = (0..n).map(|i| i % 2 == 0).collect();
        let segment = (0..n)
            .map(|i| {
                let won_segment = if i < switch { early } else { late };
                Some(if labels[i] && rng.unit() < 0.8 {
                    won_segment.to_owned()
                } else {
                    ["a", "b", "c", "d"][rng.below(4) as usize].to_owned()
                })
            })
            .collect();
        let noise = (0..n).map(|_| Some(rng.unit())).collect();
        Dataset {
            labels,
            embedding: vec![None; n],
            firmographics: Block::default(),
            web: Block::default(),
            attributes: Block {
                numeric: vec![Column::new("noise", noise)],
                categorical: vec![Column::new("segment", segment)],
            },
            text: vec![String::new(); n],
        }
    }

    fn dates(n: usize) -> Vec<Option<i32>> {
        (0..n as i32).map(|i| Some(18_000 + i)).collect()
    }

    #[test]
    fn a_new_winning_segment_moves_the_centroid_and_a_steady_one_does_not() {
        let n = 240;
        let all: Vec<usize> = (0..n).collect();
        let shifted = leads(n, 180, "a", "e");
        let drift = won_centroid_drift(&shifted, &all, &dates(n), 1).unwrap();
        assert_eq!(drift.space, "tabular");
        assert_eq!(drift.windows.len(), 4);
        assert_eq!(drift.windows.iter().map(|w| w.won).sum::<usize>(), 120);
        assert!(drift.windows[0].first_date < drift.windows[3].first_date);
        assert!(!drift.windows[1].moved(), "{:?}", drift.windows[1]);
        assert!(!drift.windows[2].moved(), "{:?}", drift.windows[2]);
        assert!(drift.windows[3].moved(), "{:?}", drift.windows[3]);
        assert!(drift.moved());

        let steady = leads(n, n, "a", "e");
        let drift = won_centroid_drift(&steady, &all, &dates(n), 1).unwrap();
        assert!(!drift.moved(), "{:?}", drift.windows);
    }

    #[test]
    fn wins_that_did_not_move_are_rarely_flagged() {
        let n = 240;
        let all: Vec<usize> = (0..n).collect();
        let alarms = (0..60u64)
            .filter(|&seed| {
                let d = leads_seeded(n, n, "a", "e", 100 + seed);
                won_centroid_drift(&d, &all, &dates(n), seed)
                    .unwrap()
                    .moved()
            })
            .count();
        // About FALSE_ALARM × 60 = 3 expected.
        assert!(alarms <= 8, "{alarms} of 60 steady lead sets flagged");
    }

    #[test]
    fn too_few_dated_wins_is_a_note_and_bad_dates_an_error() {
        let d = leads(40, 40, "a", "e");
        let all: Vec<usize> = (0..40).collect();
        let drift = won_centroid_drift(&d, &all, &dates(40), 1).unwrap();
        assert!(drift.windows.is_empty());
        assert!(drift.note.unwrap().contains("20 dated won leads"));
        assert!(matches!(
            won_centroid_drift(&d, &all, &dates(39), 1),
            Err(LearnError::LengthMismatch { .. })
        ));
        // Undated wins do not count.
        let mut half = dates(40);
        half.iter_mut().step_by(2).for_each(|x| *x = None);
        let drift = won_centroid_drift(&d, &all, &half, 1).unwrap();
        assert_eq!(drift.dated_won, 0);
    }
}
