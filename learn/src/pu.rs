//! Finding companies like the clients: positive-unlabelled learning against a company universe,
//! and the streaming pieces that rank a universe too large to hold (top-k, exact percentile
//! ranks of a few reference scores, the segment baseline).
//!
//! ## The method
//! A seller usually knows its clients (positives) and nothing about the rest of the market: the
//! universe's other companies are *unlabelled*, not negatives, since some of them would buy.
//! [`ProspectModel::fit_pu`] follows Elkan & Noto (2008), "Learning classifiers from only
//! positive and unlabeled data":
//!
//! 1. a classifier `g(x) ≈ P(labelled | x)` is trained with the clients as the positive class
//!    and a uniform sample of the unlabelled universe (the *background*) as the other;
//! 2. the labelling constant `c = P(labelled | client-like)` is estimated as the mean of `g`
//!    over clients **held out** from the `g` that scores them (a stratified inner k-fold over
//!    the training rows, so every client's `g` is out of fold);
//! 3. `P(client-like | x) = g(x) / c`, capped at 1; companies are ranked by `g` itself (the
//!    same order, without the ties the cap makes among the most client-like);
//! 4. the class prior of the background — the share of unlabelled companies that look like
//!    clients — is Elkan–Noto's estimate: the mean over the background's out-of-fold `g` of the
//!    weight `w(x) = (1 − c)/c · g(x)/(1 − g(x))`, each capped at 1.
//!
//! The classifier is one of [`crate::MODELS`] (the logistic regression on firmographics, or the
//! gradient-boosted trees), fitted by the very code the `evaluate` stage cross-validates
//! ([`Trained`], [`crate::models::fold_scores`]).
//!
//! With enough lost leads a seller does know negatives: [`ProspectModel::fit_won_lost`] then
//! trains won against lost, the `evaluate` stage's question, and scores the universe with it
//! (no labelling constant). Lost leads are in the seller's market like the clients, so such a
//! model may rank the universe worse than positive-unlabelled learning: the stage compares the
//! two on its training clients (`prospects.method`, `prospects.min_lost`).

use std::cmp::Ordering;
use std::collections::{BinaryHeap, HashMap};

use serde::{Deserialize, Serialize};

use crate::design::Dataset;
use crate::models::{fold_scores, Kind, ModelSpec, Params, Prediction, Trained};
use crate::{stratified_kfold, train_test, LearnError};

/// Inner folds for the out-of-fold `g` of the clients (fewer when there are fewer clients).
pub const INNER_K: usize = 5;

/// How a [`ProspectModel`] was trained.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Method {
    /// Clients against an unlabelled background, Elkan–Noto.
    PositiveUnlabelled,
    /// Won leads against lost leads.
    WonLost,
}

/// A model that scores universe companies by how much they look like the clients.
#[derive(Debug, Clone)]
pub struct ProspectModel {
    pub method: Method,
    pub trained: Trained,
    /// Elkan–Noto's labelling constant `c` (1 for won/lost).
    pub c: f64,
    /// The estimated share of the background that looks like clients (positive-unlabelled only).
    pub prior: Option<f64>,
    /// Out-of-fold `g` of the training clients (positive-unlabelled only), in row order.
    pub client_oof: Vec<(usize, f64)>,
}

fn check_spec(spec: &ModelSpec) -> Result<(), LearnError> {
    match spec.kind {
        Kind::Logistic(i) if !i.embedding && !i.text => Ok(()),
        Kind::Trees => Ok(()),
        // The universe has firmographics only: a model of embeddings or text has nothing to read.
        _ => Err(LearnError::InvalidParameter {
            name: "model (needs firmographics only)",
            value: f64::NAN,
        }),
    }
}

impl ProspectModel {
    /// Elkan–Noto on the `train` rows of `d`: `d.labels` is `true` for a client, `false` for a
    /// background (unlabelled) company.
    ///
    /// Errors: [`LearnError::InvalidParameter`] for a model that reads embeddings or text;
    /// [`LearnError::TooFewPerClass`] with fewer than 2 clients or background rows; a model's
    /// own errors.
    pub fn fit_pu(
        spec: &ModelSpec,
        d: &Dataset,
        train: &[usize],
        params: Params,
    ) -> Result<ProspectModel, LearnError> {
        check_spec(spec)?;
        let y: Vec<bool> = train.iter().map(|&r| d.labels[r]).collect();
        let positives = y.iter().filter(|&&l| l).count();
        let k = INNER_K.min(positives).min(y.len() - positives).max(2);
        let inner = stratified_kfold(&y, k, params.seed)?;
        let mut oof = vec![f64::NAN; train.len()];
        for f in 0..k {
            let (tr, te) = train_test(&inner, f);
            let tr: Vec<usize> = tr.iter().map(|&i| train[i]).collect();
            let te_rows: Vec<usize> = te.iter().map(|&i| train[i]).collect();
            let s = fold_scores(spec, d, &d.labels, &tr, &te_rows, params)?;
            for (&i, v) in te.iter().zip(s) {
                oof[i] = v;
            }
        }
        let client_oof: Vec<(usize, f64)> = train
            .iter()
            .zip(&oof)
            .filter(|(&r, _)| d.labels[r])
            .map(|(&r, &g)| (r, g))
            .collect();
        let c = client_oof.iter().map(|(_, g)| g).sum::<f64>() / positives as f64;
        if !(c > 0.0 && c.is_finite()) {
            return Err(LearnError::InvalidParameter {
                name: "labelling constant c (the held-out clients score 0)",
                value: c,
            });
        }
        let background: Vec<f64> = train
            .iter()
            .zip(&oof)
            .filter(|(&r, _)| !d.labels[r])
            .map(|(_, &g)| g)
            .collect();
        let prior = elkan_noto_prior(&background, c);
        let trained = Trained::fit(spec, d, train, &[], params)?;
        Ok(ProspectModel {
            method: Method::PositiveUnlabelled,
            trained,
            c,
            prior,
            client_oof,
        })
    }

    /// Won (`d.labels` true) against lost on the `train` rows of `d`.
    pub fn fit_won_lost(
        spec: &ModelSpec,
        d: &Dataset,
        train: &[usize],
        params: Params,
    ) -> Result<ProspectModel, LearnError> {
        check_spec(spec)?;
        for class in [true, false] {
            if !train.iter().any(|&r| d.labels[r] == class) {
                return Err(LearnError::MissingClass { class });
            }
        }
        Ok(ProspectModel {
            method: Method::WonLost,
            trained: Trained::fit(spec, d, train, &[], params)?,
            c: 1.0,
            prior: None,
            client_oof: Vec::new(),
        })
    }

    /// `g / c`, capped at 1: the probability of looking like a client, from the classifier's
    /// own output `g` ([`ProspectModel::raw_scores`]). The cap ties the most client-like
    /// companies at 1, so rankings are by `g`.
    pub fn probability(&self, g: f64) -> f64 {
        (g / self.c).min(1.0)
    }

    /// The classifier's output `g` for `rows` of `d` (a dataset with the training dataset's
    /// columns): `P(labelled | x)` on the training mix (positive-unlabelled), `P(won | x)`
    /// (won/lost). Monotone in the probability, without its cap: what to rank by.
    pub fn raw_scores(&self, d: &Dataset, rows: &[usize]) -> Result<Vec<f64>, LearnError> {
        self.trained.probabilities(d, rows)
    }

    /// Row `r`'s `g` and its `k` largest contributions (log-odds of `g`).
    pub fn explain(&self, d: &Dataset, r: usize, k: usize) -> Result<Prediction, LearnError> {
        self.trained.predict(d, r, k)
    }
}

/// Elkan–Noto's class prior of an unlabelled sample from its out-of-fold `g`: the mean of
/// `min(1, (1 − c)/c · g/(1 − g))`. `None` for an empty sample.
pub fn elkan_noto_prior(unlabelled_g: &[f64], c: f64) -> Option<f64> {
    if unlabelled_g.is_empty() {
        return None;
    }
    let w = |g: f64| {
        if g >= 1.0 {
            1.0
        } else {
            ((1.0 - c) / c * g / (1.0 - g)).clamp(0.0, 1.0)
        }
    };
    Some(unlabelled_g.iter().map(|&g| w(g)).sum::<f64>() / unlabelled_g.len() as f64)
}

/// A floor shared by the top-k of several parts of one stream ranked in parallel: a part whose
/// top is full with scores ≥ x proves that no score below x is among the stream's k best, so
/// every part may skip such candidates before building them. Only ever raised.
#[derive(Debug)]
pub struct SharedFloor(std::sync::atomic::AtomicU64);

impl Default for SharedFloor {
    fn default() -> Self {
        SharedFloor(std::sync::atomic::AtomicU64::new(Self::encode(
            f64::NEG_INFINITY,
        )))
    }
}

impl SharedFloor {
    /// An f64 as a u64 of the same order (total order; NaN above +∞ or below −∞ by sign).
    fn encode(x: f64) -> u64 {
        let b = x.to_bits();
        if b >> 63 == 1 {
            !b
        } else {
            b | 1 << 63
        }
    }

    fn decode(u: u64) -> f64 {
        f64::from_bits(if u >> 63 == 1 { u & !(1 << 63) } else { !u })
    }

    /// The floor so far (−∞ at first).
    pub fn get(&self) -> f64 {
        Self::decode(self.0.load(std::sync::atomic::Ordering::Relaxed))
    }

    /// Raises the floor to a part's [`TopK::floor`] when that is higher.
    pub fn raise(&self, floor: Option<f64>) {
        if let Some(x) = floor.filter(|x| !x.is_nan()) {
            self.0
                .fetch_max(Self::encode(x), std::sync::atomic::Ordering::Relaxed);
        }
    }
}

/// One candidate of a [`TopK`]: a score, a key that breaks ties (ascending), and what the caller
/// keeps with it.
#[derive(Debug, Clone)]
struct Entry<T> {
    score: f64,
    key: String,
    item: T,
}

impl<T> Entry<T> {
    /// Better = higher score, then smaller key.
    fn better(&self, other: &Self) -> Ordering {
        self.score
            .total_cmp(&other.score)
            .then_with(|| other.key.cmp(&self.key))
    }
}

impl<T> PartialEq for Entry<T> {
    fn eq(&self, other: &Self) -> bool {
        self.better(other) == Ordering::Equal
    }
}
impl<T> Eq for Entry<T> {}
impl<T> PartialOrd for Entry<T> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl<T> Ord for Entry<T> {
    // Reversed: the heap's top is the worst entry kept, the one a better candidate replaces.
    fn cmp(&self, other: &Self) -> Ordering {
        other.better(self)
    }
}

/// The `k` best of a stream by score (ties: the smaller key first), in O(k) memory. The result
/// does not depend on the order the candidates come in. A key already kept is not kept twice
/// (a company listed in two overlapping universe files).
#[derive(Debug)]
pub struct TopK<T> {
    k: usize,
    heap: BinaryHeap<Entry<T>>,
    kept: std::collections::HashSet<String>,
}

impl<T> TopK<T> {
    pub fn new(k: usize) -> TopK<T> {
        TopK {
            k,
            // Grown as candidates come: a part of a stream ranked apart may keep few.
            heap: BinaryHeap::with_capacity(k.min(1024) + 1),
            kept: std::collections::HashSet::with_capacity(k.min(1024) + 1),
        }
    }

    /// Whether a candidate of this score and key would be kept (call before building the item).
    pub fn admits(&self, score: f64, key: &str) -> bool {
        if self.heap.len() < self.k {
            return self.k > 0;
        }
        self.heap.peek().is_some_and(|worst| {
            score
                .total_cmp(&worst.score)
                .then_with(|| worst.key.as_str().cmp(key))
                == Ordering::Greater
        })
    }

    /// Whether a candidate of this score could be kept, whatever its key: a cheap test before
    /// building the key and the item (a tie with the worst kept may still lose on its key).
    pub fn admits_score(&self, score: f64) -> bool {
        if self.heap.len() < self.k {
            return self.k > 0;
        }
        self.heap
            .peek()
            .is_some_and(|worst| score.total_cmp(&worst.score) != Ordering::Less)
    }

    /// Offers a candidate; it is kept if it is among the `k` best so far.
    pub fn push(&mut self, score: f64, key: String, item: impl FnOnce() -> T) {
        if !self.admits(score, &key) || self.kept.contains(&key) {
            return;
        }
        self.kept.insert(key.clone());
        self.heap.push(Entry {
            score,
            key,
            item: item(),
        });
        if self.heap.len() > self.k {
            if let Some(worst) = self.heap.pop() {
                self.kept.remove(&worst.key);
            }
        }
    }

    pub fn len(&self) -> usize {
        self.heap.len()
    }

    pub fn is_empty(&self) -> bool {
        self.heap.is_empty()
    }

    /// The worst score kept once `k` are kept: no candidate below it can enter (`None` while
    /// the top is not full).
    pub fn floor(&self) -> Option<f64> {
        if self.k == 0 || self.heap.len() < self.k {
            return None;
        }
        self.heap.peek().map(|worst| worst.score)
    }

    /// Offers every candidate `other` kept: what one stream would have kept from both streams
    /// (the `k` best of a stream do not depend on its order), so parts of a stream can be
    /// ranked apart and merged.
    pub fn merge(&mut self, other: TopK<T>) {
        for e in other.heap.into_vec() {
            let item = e.item;
            self.push(e.score, e.key, || item);
        }
    }

    /// The kept candidates best first, as `(score, key, item)`.
    pub fn into_sorted(self) -> Vec<(f64, String, T)> {
        let mut v = self.heap.into_vec();
        v.sort_by(|a, b| b.better(a));
        v.into_iter().map(|e| (e.score, e.key, e.item)).collect()
    }
}

/// Exact ranks of a few reference scores (the held-out clients') among a stream of scores too
/// long to keep: for each reference, how many streamed scores are strictly higher and how many
/// equal. O(log references) per streamed score.
#[derive(Debug, Clone)]
pub struct RankCounter {
    /// Reference scores, ascending.
    sorted: Vec<f64>,
    /// `below[i]`: streamed scores greater than exactly the references `..i` (difference array).
    below: Vec<u64>,
    /// `equal[i]`: streamed scores equal to the references starting at `i`.
    equal: Vec<u64>,
    total: u64,
}

impl RankCounter {
    /// Reference scores (any order; NaN counts as the lowest score).
    pub fn new(references: &[f64]) -> RankCounter {
        let mut sorted: Vec<f64> = references.iter().map(|&s| clean(s)).collect();
        sorted.sort_by(f64::total_cmp);
        let n = sorted.len();
        RankCounter {
            sorted,
            below: vec![0; n + 1],
            equal: vec![0; n + 1],
            total: 0,
        }
    }

    /// Counts one streamed score.
    pub fn observe(&mut self, score: f64) {
        let s = clean(score);
        // Most of a universe scores below every reference (the held-out clients).
        if self.sorted.first().is_some_and(|&low| s < low) {
            self.below[0] += 1;
            self.total += 1;
            return;
        }
        let lt = self.sorted.partition_point(|&r| r < s);
        let le = self.sorted.partition_point(|&r| r <= s);
        self.below[lt] += 1;
        if le > lt {
            self.equal[lt] += 1;
        }
        self.total += 1;
    }

    /// Adds the counts of `other`, a counter of the same references that observed another part
    /// of the stream.
    ///
    /// Errors: [`LearnError::LengthMismatch`] when the references differ.
    pub fn merge(&mut self, other: &RankCounter) -> Result<(), LearnError> {
        let same = self.sorted.len() == other.sorted.len()
            && self
                .sorted
                .iter()
                .zip(&other.sorted)
                .all(|(a, b)| a.total_cmp(b).is_eq());
        if !same {
            return Err(LearnError::LengthMismatch {
                what: "rank counters' references",
                expected: self.sorted.len(),
                got: other.sorted.len(),
            });
        }
        for (a, b) in self.below.iter_mut().zip(&other.below) {
            *a += b;
        }
        for (a, b) in self.equal.iter_mut().zip(&other.equal) {
            *a += b;
        }
        self.total += other.total;
        Ok(())
    }

    /// Streamed scores so far.
    pub fn total(&self) -> u64 {
        self.total
    }

    /// `(higher, equal)` of a reference score: streamed scores strictly above it and equal to
    /// it. `None` for a score that is not one of the references.
    pub fn rank_of(&self, score: f64) -> Option<(u64, u64)> {
        let s = clean(score);
        // The references equal to `s` are `a..b`. A streamed score above them all was counted
        // at `b` or later; one equal to them at `a` in `equal`.
        let a = self.sorted.partition_point(|&r| r < s);
        let b = self.sorted.partition_point(|&r| r <= s);
        (b > a).then(|| (self.below[b..].iter().sum(), self.equal[a]))
    }

    /// The share of streamed scores ranked above a reference, ties counting half:
    /// `(higher + equal / 2) / total` (`None` when nothing was streamed, or for a score that is
    /// not a reference).
    pub fn top_share(&self, score: f64) -> Option<f64> {
        let (higher, equal) = self.rank_of(score)?;
        (self.total > 0).then(|| (higher as f64 + equal as f64 / 2.0) / self.total as f64)
    }
}

fn clean(s: f64) -> f64 {
    if s.is_nan() {
        f64::NEG_INFINITY
    } else {
        s
    }
}

/// The baseline a model must beat: a company scores the number of training clients in its
/// segment (NACE division × headcount band), ties broken by the clients in its division alone.
/// Companies without a division score 0.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct SegmentBaseline {
    counts: HashMap<(String, String), u32>,
    divisions: HashMap<String, u32>,
    /// Training clients with a division.
    clients: u32,
}

impl SegmentBaseline {
    /// Counts the clients' segments: `(division, band)` pairs, and divisions alone (`None` for
    /// an unknown division; a band may be unknown, as in Companies House files).
    pub fn fit<'a>(clients: impl IntoIterator<Item = (Option<&'a str>, Option<&'a str>)>) -> Self {
        let mut counts = HashMap::new();
        let mut divisions = HashMap::new();
        let mut clients_n = 0u32;
        for (division, band) in clients {
            let Some(division) = division else {
                continue;
            };
            clients_n += 1;
            *divisions.entry(division.to_owned()).or_insert(0) += 1;
            if let Some(band) = band {
                *counts
                    .entry((division.to_owned(), band.to_owned()))
                    .or_insert(0) += 1;
            }
        }
        SegmentBaseline {
            counts,
            divisions,
            clients: clients_n,
        }
    }

    /// Clients in the company's division × band, ties broken by clients in its division alone
    /// (`pair + division / (clients + 1)`): without bands (or for a company without one) the
    /// ranking is by division, not all ties.
    pub fn score(&self, division: Option<&str>, band: Option<&str>) -> f64 {
        let Some(d) = division else {
            return 0.0;
        };
        let pair = band
            .and_then(|b| self.counts.get(&(d.to_owned(), b.to_owned())))
            .map_or(0.0, |&n| f64::from(n));
        let alone = self.divisions.get(d).map_or(0.0, |&n| f64::from(n));
        pair + alone / f64::from(self.clients + 1)
    }
}

/// Recall at the top `share` of the universe: the share of `top_shares` (each client's
/// [`RankCounter::top_share`]) at or below `share`. `None` without clients.
pub fn recall_at(top_shares: &[f64], share: f64) -> Option<f64> {
    (!top_shares.is_empty()).then(|| {
        top_shares.iter().filter(|&&t| t <= share).count() as f64 / top_shares.len() as f64
    })
}

/// The median of `values` (the mean of the two middle ones for an even count). `None` when
/// empty.
pub fn median(values: &[f64]) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    let n = v.len();
    Some(if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::design::{Block, Column};
    use crate::folds::SplitMix64;
    use crate::model;

    /// A universe where clients sit in divisions "62" and "28" and lean larger, drawn from a
    /// seed: `n` companies, the first `clients` of them labelled.
    fn universe(n: usize, clients: usize, seed: u64) -> (Dataset, Vec<bool>) {
        let mut rng = SplitMix64::new(seed);
        let mut division = Vec::new();
        let mut size = Vec::new();
        let mut truth = Vec::new();
        let divisions = ["62", "28", "47", "41", "56", "68", "70", "86", "46", "43"];
        for i in 0..n {
            // A tenth of the universe is "client-like"; every labelled client is.
            let like = i < clients || rng.unit() < 0.1;
            let d = if like && rng.unit() < 0.8 {
                divisions[(rng.unit() * 2.0) as usize]
            } else {
                divisions[(rng.unit() * 10.0) as usize]
            };
            let s = if like {
                2.0 + rng.unit() * 4.0
            } else {
                rng.unit() * 4.0
            };
            division.push(Some(d.to_owned()));
            size.push(Some(s));
            truth.push(like);
        }
        let d = Dataset {
            labels: (0..n).map(|i| i < clients).collect(),
            embedding: vec![None; n],
            firmographics: Block {
                numeric: vec![Column::new("headcount_log", size)],
                categorical: vec![Column::new("nace_division", division)],
            },
            web: Block::default(),
            attributes: Block::default(),
            text: vec![String::new(); n],
        };
        (d, truth)
    }

    fn params() -> Params {
        Params {
            c: 1.0,
            tol: 1e-4,
            min_df: 1,
            seed: 3,
        }
    }

    #[test]
    fn elkan_noto_ranks_hidden_client_like_companies_first_and_estimates_the_prior() {
        let (d, truth) = universe(3000, 150, 11);
        let train: Vec<usize> = (0..d.len()).collect();
        for name in ["logistic_firmographics", "gradient_boosted_trees"] {
            let spec = model(name).unwrap();
            let m = ProspectModel::fit_pu(spec, &d, &train, params()).unwrap();
            assert_eq!(m.method, Method::PositiveUnlabelled);
            assert!(m.c > 0.0 && m.c < 1.0, "{name}: c = {}", m.c);
            // The unlabelled rows: about 10 % are client-like.
            let prior = m.prior.unwrap();
            assert!(prior > 0.03 && prior < 0.3, "{name}: prior {prior}");
            let rows: Vec<usize> = (150..d.len()).collect();
            let s = m.raw_scores(&d, &rows).unwrap();
            assert!(s.iter().all(|&x| (0.0..=1.0).contains(&x)));
            let p: Vec<f64> = s.iter().map(|&g| m.probability(g)).collect();
            assert!(p.iter().zip(&s).all(|(&p, &g)| p >= g && p <= 1.0));
            let labels: Vec<bool> = rows.iter().map(|&r| truth[r]).collect();
            let auc = crate::roc_auc(&s, &labels).unwrap().unwrap();
            assert!(auc > 0.75, "{name}: hidden clients' AUC {auc}");
            let p = m.explain(&d, 200, 3).unwrap();
            assert!((p.probability - s[50]).abs() < 1e-9);
            assert!(!p.drivers.is_empty());
        }
    }

    #[test]
    fn won_lost_needs_both_classes_and_models_must_read_firmographics() {
        let (d, _) = universe(200, 50, 5);
        let spec = model("logistic_firmographics").unwrap();
        let only_won: Vec<usize> = (0..50).collect();
        assert!(matches!(
            ProspectModel::fit_won_lost(spec, &d, &only_won, params()),
            Err(LearnError::MissingClass { class: false })
        ));
        let all: Vec<usize> = (0..200).collect();
        let m = ProspectModel::fit_won_lost(spec, &d, &all, params()).unwrap();
        assert_eq!((m.method, m.c, m.prior), (Method::WonLost, 1.0, None));
        assert!(matches!(
            ProspectModel::fit_pu(model("centroid_embedding").unwrap(), &d, &all, params()),
            Err(LearnError::InvalidParameter { .. })
        ));
        // One client: no held-out client to estimate c on.
        let one: Vec<usize> = (49..200).collect();
        assert!(matches!(
            ProspectModel::fit_pu(spec, &d, &one, params()),
            Err(LearnError::TooFewPerClass { class: true, .. })
        ));
    }

    #[test]
    fn prior_is_elkan_notos_weight_mean() {
        // c = 0.5: w = g/(1 − g); g = 0.2 → 0.25, g = 0.5 → 1 (capped), g = 0 → 0.
        let p = elkan_noto_prior(&[0.2, 0.5, 0.0], 0.5).unwrap();
        assert!((p - 1.25 / 3.0).abs() < 1e-12);
        assert_eq!(elkan_noto_prior(&[], 0.5), None);
    }

    #[test]
    fn top_k_keeps_the_best_whatever_the_order() {
        let items: Vec<(f64, String)> = (0..500)
            .map(|i| (f64::from((i * 37) % 101), format!("id{i:04}")))
            .collect();
        let mut expected = items.clone();
        expected.sort_by(|a, b| b.0.total_cmp(&a.0).then_with(|| a.1.cmp(&b.1)));
        expected.truncate(7);
        for seed in [1, 2, 3] {
            let mut order = items.clone();
            SplitMix64::new(seed).shuffle(&mut order);
            let mut top = TopK::new(7);
            // Every candidate twice (overlapping files): still kept once.
            for (s, k) in order.iter().chain(&order).cloned() {
                if top.admits_score(s) {
                    top.push(s, k.clone(), || k.len());
                }
            }
            let got: Vec<(f64, String)> = top
                .into_sorted()
                .into_iter()
                .map(|(s, k, _)| (s, k))
                .collect();
            assert_eq!(got, expected);
            // Parts ranked apart and merged keep the same (a key in two parts once).
            let mut parts: Vec<TopK<usize>> = (0..3).map(|_| TopK::new(7)).collect();
            for (i, (s, k)) in order.iter().chain(&order[..100]).cloned().enumerate() {
                parts[i % 3].push(s, k.clone(), || k.len());
            }
            let mut merged = TopK::new(7);
            for p in parts {
                merged.merge(p);
            }
            let got: Vec<(f64, String)> = merged
                .into_sorted()
                .into_iter()
                .map(|(s, k, _)| (s, k))
                .collect();
            assert_eq!(got, expected);
        }
        // A floor shared by parallel parts skips what cannot enter, with the same result.
        let floor = SharedFloor::default();
        assert_eq!(floor.get(), f64::NEG_INFINITY);
        let mut parts: Vec<TopK<usize>> = (0..4).map(|_| TopK::new(7)).collect();
        let mut skipped = 0;
        for (i, (s, k)) in items.iter().cloned().enumerate() {
            let part = &mut parts[i % 4];
            if s < floor.get() {
                skipped += 1;
                continue;
            }
            part.push(s, k.clone(), || k.len());
            floor.raise(part.floor());
        }
        assert!(skipped > 0);
        let mut merged = TopK::new(7);
        for p in parts {
            merged.merge(p);
        }
        let got: Vec<(f64, String)> = merged
            .into_sorted()
            .into_iter()
            .map(|(s, k, _)| (s, k))
            .collect();
        assert_eq!(got, expected);
        floor.raise(Some(-3.5));
        assert!(floor.get() > 0.0, "never lowered");
        let mut none: TopK<()> = TopK::new(0);
        none.push(1.0, "a".into(), || ());
        assert!(none.is_empty());
    }

    #[test]
    fn rank_counter_is_exact_with_ties() {
        let stream = [0.1, 0.5, 0.5, 0.9, 0.3, 0.5, 1.0, f64::NAN, 0.2];
        let refs = [0.5, 0.2, 0.95, 0.5];
        let mut rc = RankCounter::new(&refs);
        for &s in &stream {
            rc.observe(s);
        }
        for &r in &refs {
            let higher = stream.iter().filter(|&&s| s > r).count() as u64;
            let equal = stream.iter().filter(|&&s| s == r).count() as u64;
            assert_eq!(rc.rank_of(r), Some((higher, equal)), "reference {r}");
        }
        assert_eq!(rc.rank_of(0.4), None);
        // 0.5: 2 above (0.9, 1.0), 3 equal → (2 + 1.5) / 9.
        assert!((rc.top_share(0.5).unwrap() - 3.5 / 9.0).abs() < 1e-12);
        // The stream counted in two parts and merged: the same ranks.
        let (mut a, mut b) = (RankCounter::new(&refs), RankCounter::new(&refs));
        for (i, &s) in stream.iter().enumerate() {
            if i % 2 == 0 {
                a.observe(s)
            } else {
                b.observe(s)
            }
        }
        a.merge(&b).unwrap();
        for &r in &refs {
            assert_eq!(a.rank_of(r), rc.rank_of(r), "reference {r}");
        }
        assert_eq!(a.total(), rc.total());
        assert!(a.merge(&RankCounter::new(&[0.5])).is_err());
    }

    #[test]
    fn baseline_recall_and_median() {
        let b = SegmentBaseline::fit([
            (Some("62"), Some("11")),
            (Some("62"), Some("11")),
            (Some("62"), None),
            (Some("70"), None),
            (None, Some("11")),
        ]);
        // 4 clients with a division: pair count + division count / 5.
        assert_eq!(b.score(Some("62"), Some("11")), 2.0 + 3.0 / 5.0);
        assert_eq!(b.score(Some("62"), Some("12")), 3.0 / 5.0);
        assert_eq!(
            b.score(Some("62"), None),
            3.0 / 5.0,
            "no band: the division ranks"
        );
        assert_eq!(b.score(Some("70"), None), 1.0 / 5.0);
        assert_eq!(b.score(Some("01"), Some("11")), 0.0);
        assert_eq!(b.score(None, Some("11")), 0.0);
        assert_eq!(recall_at(&[0.01, 0.04, 0.2], 0.05), Some(2.0 / 3.0));
        assert_eq!(recall_at(&[], 0.05), None);
        assert_eq!(median(&[3.0, 1.0, 2.0, 10.0]), Some(2.5));
        assert_eq!(median(&[]), None);
    }
}
