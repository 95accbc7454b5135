//! `monitoring.json`: how the scores hold over time. Written by every score run, next to
//! `scores.parquet`:
//!
//! - the shadow comparison, when `score.model` pins a saved model: the pinned and the refitted
//!   model on the same open leads, how often they give the same tier and their Spearman rank
//!   correlation;
//! - realised performance: each earlier scoring of `score_history` against the outcomes this
//!   lead list brings for the leads it scored while they were open (ROC-AUC, win rate per tier,
//!   calibration);
//! - drift: the population stability index (PSI) of the score and of each feature between the
//!   labelled (training) leads and the scored ones, and between the previous scoring's leads
//!   (their [`Profile`]s, saved with that scoring) and this one's; 0.1 and over is flagged
//!   `watch`, 0.25 and over `act`.
//!
//! The file's field names are its public shape: added to, never renamed.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::history::RealisedRun;
use crate::stages::FileDef;

pub const MONITORING: FileDef = FileDef {
    name: "monitoring.json",
    stage: "score",
};

/// The page of the same figures (`evaluate/report.rs` draws it).
pub const MONITORING_PAGE: &str = "monitoring.html";

pub const SCHEMA_VERSION: u32 = 1;

/// [`Psi::between`] of the labelled leads against the scored ones.
pub const BETWEEN_TRAINING_AND_SCORED: &str = "training vs scored";
/// [`Psi::between`] of the previous scoring's leads against this one's.
pub const BETWEEN_RUNS: &str = "previous scoring vs this one";

/// PSI at or above which a distribution is to be watched.
pub const PSI_WATCH: f64 = 0.1;
/// PSI at or above which the model is to be looked at (retrained, or its inputs checked).
pub const PSI_ACT: f64 = 0.25;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Monitoring {
    pub schema_version: u32,
    pub run_id: String,
    /// The model that scored (`models/<model_version>.json`); `None` when nothing was scored.
    pub model_version: Option<String>,
    pub model: Option<String>,
    /// Whether that model was pinned by `score.model`.
    pub pinned: bool,
    /// The model refitted on this lead list (the scoring one unless pinned).
    pub fitted_version: Option<String>,
    pub shadow: Option<Shadow>,
    /// Earlier scorings against the outcomes known now, oldest first.
    pub realised: Vec<RealisedRun>,
    pub drift: Vec<Psi>,
    pub notes: Vec<String>,
}

/// The pinned model and the refitted one on the same open leads.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Shadow {
    pub pinned_version: String,
    pub pinned_model: String,
    pub fitted_version: String,
    pub fitted_model: String,
    pub leads: usize,
    /// Share of the leads given the same tier by both.
    pub tier_agreement: f64,
    /// Spearman correlation of their probabilities (ranks, ties averaged).
    pub spearman: Option<f64>,
    /// `(pinned tier, refitted tier, leads)`.
    pub tiers: Vec<(String, String, usize)>,
}

/// One population stability index.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Psi {
    /// `score`, or the `features.parquet` column.
    pub name: String,
    /// `training vs scored` or `previous scoring vs this one`.
    pub between: String,
    pub psi: f64,
    /// `stable`, `watch` (≥ 0.1) or `act` (≥ 0.25).
    pub flag: String,
}

impl Monitoring {
    pub fn to_json(&self) -> anyhow::Result<Vec<u8>> {
        Ok(serde_json::to_vec_pretty(self)?)
    }

    /// Drift figures at or above `watch` and at or above `act`.
    pub fn drift_flags(&self) -> (u64, u64) {
        let count = |f: &str| self.drift.iter().filter(|p| p.flag == f).count() as u64;
        (count("watch"), count("act"))
    }
}

/// The flag of a PSI.
pub fn flag(psi: f64) -> &'static str {
    if psi >= PSI_ACT {
        "act"
    } else if psi >= PSI_WATCH {
        "watch"
    } else {
        "stable"
    }
}

/// Ranks from 1, ties given their average rank.
fn ranks(x: &[f64]) -> Vec<f64> {
    let mut order: Vec<usize> = (0..x.len()).collect();
    order.sort_by(|&a, &b| x[a].total_cmp(&x[b]));
    let mut r = vec![0.0; x.len()];
    let mut i = 0;
    while i < order.len() {
        let mut j = i;
        while j + 1 < order.len() && x[order[j + 1]] == x[order[i]] {
            j += 1;
        }
        let avg = (i + j) as f64 / 2.0 + 1.0;
        for &k in &order[i..=j] {
            r[k] = avg;
        }
        i = j + 1;
    }
    r
}

/// Spearman's rank correlation; `None` for fewer than two values or a constant side.
pub fn spearman(a: &[f64], b: &[f64]) -> Option<f64> {
    if a.len() != b.len() || a.len() < 2 {
        return None;
    }
    let (ra, rb) = (ranks(a), ranks(b));
    let n = a.len() as f64;
    let (ma, mb) = (ra.iter().sum::<f64>() / n, rb.iter().sum::<f64>() / n);
    let (mut sab, mut saa, mut sbb) = (0.0, 0.0, 0.0);
    for (x, y) in ra.iter().zip(&rb) {
        sab += (x - ma) * (y - mb);
        saa += (x - ma) * (x - ma);
        sbb += (y - mb) * (y - mb);
    }
    (saa > 0.0 && sbb > 0.0).then(|| sab / (saa * sbb).sqrt())
}

/// Fewest rows on either side for a PSI: on fewer, ten bins hold a handful of leads each and
/// the index flags noise (on the demo's 13 open leads, most features read `act`).
pub const PSI_MIN_ROWS: usize = 50;

/// Share floor of an empty bin, so that the logarithm stays finite.
const PSI_FLOOR: f64 = 1e-4;

fn psi_of_shares(expected: &[f64], actual: &[f64]) -> f64 {
    expected
        .iter()
        .zip(actual)
        .map(|(&e, &a)| {
            let (e, a) = (e.max(PSI_FLOOR), a.max(PSI_FLOOR));
            (a - e) * (a / e).ln()
        })
        .sum()
}

/// The reference side of a PSI, kept: a distribution summarised so that a later run can
/// compare its own leads with it without the reference rows. Saved with each scoring (in its
/// `score_history` part's metadata) for the next run's "previous scoring vs this one".
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Profile {
    /// Bins at the reference's deciles (fewer when values repeat), missing values last.
    Numeric {
        rows: usize,
        edges: Vec<f64>,
        shares: Vec<f64>,
    },
    /// One share per value (`None`: missing), in value order.
    Categorical {
        rows: usize,
        shares: Vec<(Option<String>, f64)>,
    },
}

impl Profile {
    /// The profile of numbers; `None` under [`PSI_MIN_ROWS`] rows.
    pub fn numeric(reference: &[Option<f64>]) -> Option<Profile> {
        if reference.len() < PSI_MIN_ROWS {
            return None;
        }
        let mut sorted: Vec<f64> = reference.iter().flatten().copied().collect();
        sorted.sort_by(f64::total_cmp);
        let mut edges: Vec<f64> = (1..10)
            .filter_map(|q| sorted.get(q * sorted.len() / 10).copied())
            .collect();
        edges.dedup();
        let shares = numeric_shares(&edges, reference);
        Some(Profile::Numeric {
            rows: reference.len(),
            edges,
            shares,
        })
    }

    /// The profile of categories; `None` under [`PSI_MIN_ROWS`] rows.
    pub fn categorical(reference: &[Option<String>]) -> Option<Profile> {
        if reference.len() < PSI_MIN_ROWS {
            return None;
        }
        Some(Profile::Categorical {
            rows: reference.len(),
            shares: categorical_shares(reference).into_iter().collect(),
        })
    }

    /// The PSI of `current` against this profile; `None` under [`PSI_MIN_ROWS`] rows or for
    /// values of the other kind.
    pub fn psi_numeric(&self, current: &[Option<f64>]) -> Option<f64> {
        match self {
            Profile::Numeric { edges, shares, .. } if current.len() >= PSI_MIN_ROWS => {
                Some(psi_of_shares(shares, &numeric_shares(edges, current)))
            }
            _ => None,
        }
    }

    /// The PSI of `current` against this profile: one bin per value seen on either side.
    pub fn psi_categorical(&self, current: &[Option<String>]) -> Option<f64> {
        match self {
            Profile::Categorical { shares, .. } if current.len() >= PSI_MIN_ROWS => {
                let shares: BTreeMap<Option<String>, f64> = shares.iter().cloned().collect();
                let now = categorical_shares(current);
                let levels: std::collections::BTreeSet<&Option<String>> =
                    shares.keys().chain(now.keys()).collect();
                let share = |m: &BTreeMap<Option<String>, f64>, l: &Option<String>| {
                    m.get(l).copied().unwrap_or(0.0)
                };
                let e: Vec<f64> = levels.iter().map(|l| share(&shares, l)).collect();
                let a: Vec<f64> = levels.iter().map(|l| share(&now, l)).collect();
                Some(psi_of_shares(&e, &a))
            }
            _ => None,
        }
    }
}

fn numeric_shares(edges: &[f64], v: &[Option<f64>]) -> Vec<f64> {
    let mut counts = vec![0usize; edges.len() + 2];
    for x in v {
        let bin = match x {
            None => edges.len() + 1,
            Some(x) => edges.partition_point(|e| e <= x),
        };
        counts[bin] += 1;
    }
    let n = v.len().max(1) as f64;
    counts.iter().map(|&c| c as f64 / n).collect()
}

fn categorical_shares(v: &[Option<String>]) -> BTreeMap<Option<String>, f64> {
    let mut counts: BTreeMap<Option<String>, usize> = BTreeMap::new();
    for x in v {
        *counts.entry(x.clone()).or_default() += 1;
    }
    let n = v.len().max(1) as f64;
    counts.into_iter().map(|(k, c)| (k, c as f64 / n)).collect()
}

/// PSI of numbers: ten bins at the reference's deciles (fewer when values repeat), missing
/// values a bin of their own. `None` when either side has fewer than [`PSI_MIN_ROWS`] rows.
pub fn psi_numeric(reference: &[Option<f64>], current: &[Option<f64>]) -> Option<f64> {
    Profile::numeric(reference)?.psi_numeric(current)
}

/// PSI of categories: one bin per value seen on either side, missing values one more. `None`
/// when either side has fewer than [`PSI_MIN_ROWS`] rows.
pub fn psi_categorical(reference: &[Option<String>], current: &[Option<String>]) -> Option<f64> {
    Profile::categorical(reference)?.psi_categorical(current)
}

/// The profile of every modelled feature column of `d` over `rows`: `(column, profile)`.
/// Columns with no value at all are left out.
pub fn feature_profiles(d: &learn::Dataset, rows: &[usize]) -> Vec<(String, Profile)> {
    let mut out = Vec::new();
    for b in [&d.firmographics, &d.web, &d.attributes] {
        for c in &b.numeric {
            if c.values.iter().all(Option::is_none) {
                continue;
            }
            let values: Vec<Option<f64>> = rows.iter().map(|&r| c.values[r]).collect();
            if let Some(p) = Profile::numeric(&values) {
                out.push((c.name.clone(), p));
            }
        }
        for c in &b.categorical {
            if c.values.iter().all(Option::is_none) {
                continue;
            }
            let values: Vec<Option<String>> = rows.iter().map(|&r| c.values[r].clone()).collect();
            if let Some(p) = Profile::categorical(&values) {
                out.push((c.name.clone(), p));
            }
        }
    }
    out
}

/// PSI of every feature column of `d` over the `current` rows against `profiles` (columns
/// absent from `d` are skipped), each labelled `between`.
pub fn feature_drift(
    d: &learn::Dataset,
    profiles: &[(String, Profile)],
    current: &[usize],
    between: &str,
) -> Vec<Psi> {
    let numeric: BTreeMap<&str, &learn::Column<f64>> = [&d.firmographics, &d.web, &d.attributes]
        .iter()
        .flat_map(|b| b.numeric.iter().map(|c| (c.name.as_str(), c)))
        .collect();
    let categorical: BTreeMap<&str, &learn::Column<String>> =
        [&d.firmographics, &d.web, &d.attributes]
            .iter()
            .flat_map(|b| b.categorical.iter().map(|c| (c.name.as_str(), c)))
            .collect();
    profiles
        .iter()
        .filter_map(|(name, profile)| {
            let psi = match profile {
                Profile::Numeric { .. } => {
                    let c = numeric.get(name.as_str())?;
                    profile.psi_numeric(&current.iter().map(|&r| c.values[r]).collect::<Vec<_>>())
                }
                Profile::Categorical { .. } => {
                    let c = categorical.get(name.as_str())?;
                    profile.psi_categorical(
                        &current
                            .iter()
                            .map(|&r| c.values[r].clone())
                            .collect::<Vec<_>>(),
                    )
                }
            }?;
            Some(Psi {
                name: name.clone(),
                between: between.into(),
                psi,
                flag: flag(psi).into(),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spearman_is_one_for_any_increasing_map_and_handles_ties() {
        let a = [0.1, 0.5, 0.2, 0.9, 0.3];
        let b: Vec<f64> = a.iter().map(|x: &f64| x.powi(3) + 2.0).collect();
        assert!((spearman(&a, &b).unwrap() - 1.0).abs() < 1e-12);
        let rev: Vec<f64> = a.iter().map(|x| -x).collect();
        assert!((spearman(&a, &rev).unwrap() + 1.0).abs() < 1e-12);
        assert_eq!(ranks(&[2.0, 1.0, 2.0, 3.0]), [2.5, 1.0, 2.5, 4.0]);
        assert_eq!(spearman(&[1.0, 1.0], &[1.0, 2.0]), None);
    }

    #[test]
    fn psi_is_zero_for_the_same_distribution_and_flags_a_shift() {
        let a: Vec<Option<f64>> = (0..1000).map(|i| Some(f64::from(i % 100))).collect();
        assert!(psi_numeric(&a, &a).unwrap().abs() < 1e-12);
        let shifted: Vec<Option<f64>> =
            (0..1000).map(|i| Some(f64::from(i % 100) + 30.0)).collect();
        let psi = psi_numeric(&a, &shifted).unwrap();
        assert_eq!(flag(psi), "act", "{psi}");
        assert_eq!(
            psi_numeric(&a[..49], &shifted),
            None,
            "too few rows to tell"
        );
        let cats = |won: usize| -> Vec<Option<String>> {
            (0..100)
                .map(|i| Some(if i < won { "a" } else { "b" }.to_owned()))
                .collect()
        };
        let small = psi_categorical(&cats(50), &cats(55)).unwrap();
        assert_eq!(flag(small), "stable", "{small}");
        // (0.7 - 0.5) ln(0.7/0.5) + (0.3 - 0.5) ln(0.3/0.5)
        let want = 0.2 * (0.7f64 / 0.5).ln() - 0.2 * (0.3f64 / 0.5).ln();
        assert!((psi_categorical(&cats(50), &cats(70)).unwrap() - want).abs() < 1e-12);
        assert_eq!(flag(want), "watch");
    }

    #[test]
    fn a_saved_profile_gives_the_same_psi_as_the_rows_it_summarises() {
        let a: Vec<Option<f64>> = (0..300)
            .map(|i| (i % 7 != 0).then(|| f64::from(i % 50)))
            .collect();
        let b: Vec<Option<f64>> = (0..200)
            .map(|i| (i % 3 != 0).then(|| f64::from(i % 80)))
            .collect();
        let saved: Profile =
            serde_json::from_str(&serde_json::to_string(&Profile::numeric(&a).unwrap()).unwrap())
                .unwrap();
        assert_eq!(saved.psi_numeric(&b), psi_numeric(&a, &b));
        assert!(psi_numeric(&a, &b).unwrap() > 0.1);
        assert_eq!(
            saved.psi_categorical(&vec![None; 100]),
            None,
            "another kind"
        );
        let cats = |n: usize, k: usize| -> Vec<Option<String>> {
            (0..n)
                .map(|i| (i % k != 0).then(|| format!("l{}", i % k)))
                .collect()
        };
        let saved: Profile = serde_json::from_str(
            &serde_json::to_string(&Profile::categorical(&cats(120, 4)).unwrap()).unwrap(),
        )
        .unwrap();
        let psi = saved.psi_categorical(&cats(90, 6)).unwrap();
        assert_eq!(Some(psi), psi_categorical(&cats(120, 4), &cats(90, 6)));
        assert_eq!(flag(psi), "act", "{psi}");
    }
}
