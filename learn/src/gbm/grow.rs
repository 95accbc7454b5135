//! Growing one tree on binned features from per-row gradients and hessians.
//!
//! As LightGBM and scikit-learn's `TreeGrower`: each node's gradient histogram (sum of
//! gradients, of hessians and row count per bin and feature) is built once for the smaller
//! child only; the larger child's is the parent's minus it (the subtraction trick), so a level
//! of the tree costs about half a pass over its rows. Histograms are built and scanned in
//! parallel over features (rayon), each feature summed sequentially in row order and the best
//! split chosen in feature order, so the result does not depend on the number of threads.
//!
//! A split on feature `f` after bin `b` sends bins `0..=b` left. Missing values (the missing
//! bin) are tried on both sides and go where the gain is larger; scikit-learn's scan order is
//! kept (missing right first, strict improvement needed to switch), and "every value left,
//! missing right" is a candidate too. When a node has no missing value for the chosen feature,
//! missing values met later go to the child that received more training rows (left on a tie).
//!
//! Growth is best-first: the leaf with the largest gain is split next until `max_leaf_nodes`
//! leaves exist; with no leaf limit and a `max_depth` this grows every node to that depth
//! (depth-wise). The gain of a split is `G_L²/(H_L+λ) + G_R²/(H_R+λ) − G²/(H+λ)` and a leaf's
//! value `−G/(H+λ)` times the learning rate, with λ the L2 regularisation.
//!
//! Memory: a histogram is `features × 256 × 24` bytes (2.7 MB for 450 features) and one is
//! kept per leaf waiting to be split, so at most `max_leaf_nodes` of them are alive (they are
//! recycled from tree to tree); the binned features take one byte per row and feature.

use std::cmp::Ordering;
use std::collections::BinaryHeap;

use rayon::prelude::*;

use super::binning::{BinMapper, Binned, HIST_BINS, MISSING_BIN};
use super::tree::{Node, Tree};
use super::GbmParams;

/// Sums of one histogram bin.
#[derive(Debug, Clone, Copy, Default)]
struct Bin {
    g: f64,
    h: f64,
    n: u32,
}

impl Bin {
    fn add(&mut self, o: &Bin) {
        self.g += o.g;
        self.h += o.h;
        self.n += o.n;
    }

    #[inline(always)]
    fn push(&mut self, g: f64, h: f64) {
        self.g += g;
        self.h += h;
        self.n += 1;
    }

    fn minus(&self, o: &Bin) -> Bin {
        Bin {
            g: self.g - o.g,
            h: self.h - o.h,
            n: self.n.saturating_sub(o.n),
        }
    }
}

/// The best split of a node.
#[derive(Debug, Clone, Copy)]
struct Split {
    gain: f64,
    feature: usize,
    bin: u8,
    missing_left: bool,
    left: Bin,
    right: Bin,
}

/// A node being grown: its rows are `rows[start..end]` of the grower's index array.
struct Pending {
    node: usize,
    start: usize,
    end: usize,
    depth: usize,
    sums: Bin,
    histogram: Vec<Bin>,
}

/// A split waiting in the best-first queue (largest gain first, then the older node).
struct Candidate {
    gain: f64,
    node: usize,
    split: Split,
    pending: Pending,
}

impl PartialEq for Candidate {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}
impl Eq for Candidate {}
impl PartialOrd for Candidate {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Candidate {
    fn cmp(&self, other: &Self) -> Ordering {
        self.gain
            .total_cmp(&other.gain)
            .then_with(|| other.node.cmp(&self.node))
    }
}

/// What growing needs that does not change from tree to tree.
pub(crate) struct Grower<'a> {
    pub(crate) binned: &'a Binned,
    pub(crate) mapper: &'a BinMapper,
    pub(crate) params: &'a GbmParams,
    /// Histograms no longer needed, reused to avoid zeroing fresh megabytes per node.
    pool: Vec<Vec<Bin>>,
    /// Row indices, partitioned node by node; scratch for the stable partition.
    rows: Vec<u32>,
    scratch: Vec<u32>,
    /// Gradients and hessians gathered in the node's row order (contiguous reads).
    ordered: Vec<(f32, f32)>,
}

/// A grown tree and the gain of each of its splits (by feature).
pub(crate) struct Grown {
    pub(crate) tree: Tree,
    /// Total gain per feature of this tree's splits.
    pub(crate) gains: Vec<(usize, f64)>,
}

const MIN_HESSIAN: f64 = 1e-3;
/// Features whose histograms are built in one pass over a node's rows.
const GROUP: usize = 4;
/// Features per parallel task when scanning or subtracting histograms (a few µs of work).
const MIN_TASK_FEATURES: usize = 32;

impl<'a> Grower<'a> {
    pub(crate) fn new(binned: &'a Binned, mapper: &'a BinMapper, params: &'a GbmParams) -> Self {
        Grower {
            binned,
            mapper,
            params,
            pool: Vec::new(),
            rows: Vec::new(),
            scratch: Vec::new(),
            ordered: Vec::new(),
        }
    }

    fn features(&self) -> usize {
        self.mapper.thresholds.len()
    }

    /// A histogram to overwrite: [`Grower::build_histogram`] zeroes each feature's bins just
    /// before filling them, while they are in cache.
    fn take_histogram(&mut self) -> Vec<Bin> {
        self.pool
            .pop()
            .unwrap_or_else(|| vec![Bin::default(); self.features() * HIST_BINS])
    }

    fn build_histogram(&mut self, start: usize, end: usize, g: &[f32], h: &[f32]) -> Vec<Bin> {
        let mut histogram = self.take_histogram();
        let rows = &self.rows[start..end];
        self.ordered.clear();
        self.ordered
            .extend(rows.iter().map(|&r| (g[r as usize], h[r as usize])));
        let ordered = &self.ordered;
        let binned = self.binned;
        let whole = rows.len() == binned.rows;
        // Features in groups of four: each row's gradient pair is read once per group and the
        // four bins updated are independent, so the adds do not wait on each other.
        // A task of at least ~64k bin updates (plus the zeroing), so that small nodes are not
        // cut into tasks cheaper than handing them to another thread.
        let min_groups = (65_536 / (GROUP * rows.len()).max(1)).max(1);
        histogram
            .par_chunks_mut(HIST_BINS * GROUP)
            .with_min_len(min_groups)
            .enumerate()
            .for_each(|(group, hist)| {
                hist.fill(Bin::default());
                let first = group * GROUP;
                if hist.len() == GROUP * HIST_BINS {
                    let (h0, rest) = hist.split_at_mut(HIST_BINS);
                    let (h1, rest) = rest.split_at_mut(HIST_BINS);
                    let (h2, h3) = rest.split_at_mut(HIST_BINS);
                    let [c0, c1, c2, c3] = [0, 1, 2, 3].map(|k| binned.column(first + k));
                    if whole {
                        // The root: rows are 0..n in order, so columns are read straight through.
                        let codes = c0.iter().zip(c1).zip(c2).zip(c3);
                        for ((((&b0, &b1), &b2), &b3), &(gi, hi)) in codes.zip(ordered) {
                            let (gi, hi) = (f64::from(gi), f64::from(hi));
                            h0[usize::from(b0)].push(gi, hi);
                            h1[usize::from(b1)].push(gi, hi);
                            h2[usize::from(b2)].push(gi, hi);
                            h3[usize::from(b3)].push(gi, hi);
                        }
                    } else {
                        for (&r, &(gi, hi)) in rows.iter().zip(ordered) {
                            let r = r as usize;
                            let (gi, hi) = (f64::from(gi), f64::from(hi));
                            h0[usize::from(c0[r])].push(gi, hi);
                            h1[usize::from(c1[r])].push(gi, hi);
                            h2[usize::from(c2[r])].push(gi, hi);
                            h3[usize::from(c3[r])].push(gi, hi);
                        }
                    }
                } else {
                    for (k, hf) in hist.chunks_mut(HIST_BINS).enumerate() {
                        let column = binned.column(first + k);
                        for (&r, &(gi, hi)) in rows.iter().zip(ordered) {
                            hf[usize::from(column[r as usize])].push(f64::from(gi), f64::from(hi));
                        }
                    }
                }
            });
        histogram
    }

    fn gain_term(&self, b: &Bin) -> f64 {
        b.g * b.g / (b.h + self.params.l2_regularization)
    }

    fn leaf_value(&self, b: &Bin) -> f64 {
        -self.params.learning_rate * b.g / (b.h + self.params.l2_regularization)
    }

    fn admissible(&self, l: &Bin, r: &Bin) -> bool {
        let m = u32::try_from(self.params.min_samples_leaf).unwrap_or(u32::MAX);
        l.n >= m && r.n >= m && l.h >= MIN_HESSIAN && r.h >= MIN_HESSIAN
    }

    /// The best split of one feature's histogram, if any has a positive gain.
    fn best_for_feature(&self, f: usize, hist: &[Bin], sums: &Bin) -> Option<Split> {
        let parent = self.gain_term(sums);
        let value_bins = self.mapper.value_bins(f);
        let missing = hist[usize::from(MISSING_BIN)];
        let has_missing = missing.n > 0;
        let mut best: Option<Split> = None;
        let mut consider = |bin: usize, missing_left: bool, left: Bin, right: Bin| {
            if !self.admissible(&left, &right) {
                return;
            }
            let gain = self.gain_term(&left) + self.gain_term(&right) - parent;
            if gain > 0.0 && best.is_none_or(|b| gain > b.gain) {
                best = Some(Split {
                    gain,
                    feature: f,
                    bin: bin as u8,
                    missing_left,
                    left,
                    right,
                });
            }
        };
        // Left to right, missing right; with missing values also "all values left".
        let last = value_bins - 1 + usize::from(has_missing);
        let mut left = Bin::default();
        for (b, bin) in hist.iter().enumerate().take(last) {
            left.add(bin);
            consider(b, false, left, sums.minus(&left));
        }
        if has_missing {
            // Right to left, missing left.
            let mut right = Bin::default();
            for b in (0..value_bins - 1).rev() {
                right.add(&hist[b + 1]);
                consider(b, true, sums.minus(&right), right);
            }
        }
        best.map(|mut s| {
            if !has_missing {
                s.missing_left = s.left.n >= s.right.n;
            }
            s
        })
    }

    fn find_split(&self, p: &Pending) -> Option<Split> {
        let p_ = self.params;
        if p_.max_depth.is_some_and(|d| p.depth >= d)
            || (p.sums.n as usize) < p_.min_samples_leaf.saturating_mul(2)
            || p.sums.h < 2.0 * MIN_HESSIAN
        {
            return None;
        }
        let per_feature: Vec<Option<Split>> = p
            .histogram
            .par_chunks(HIST_BINS)
            .with_min_len(MIN_TASK_FEATURES)
            .enumerate()
            .map(|(f, hist)| self.best_for_feature(f, hist, &p.sums))
            .collect();
        per_feature
            .into_iter()
            .flatten()
            .fold(None, |best: Option<Split>, s| match best {
                Some(b) if b.gain >= s.gain => Some(b),
                _ => Some(s),
            })
    }

    /// Stable partition of `rows[start..end]` by the split; returns the first right index.
    fn partition(&mut self, start: usize, end: usize, split: &Split) -> usize {
        let column = self.binned.column(split.feature);
        self.scratch.clear();
        let mut write = start;
        for i in start..end {
            let r = self.rows[i];
            let b = column[r as usize];
            let left = if b == MISSING_BIN {
                split.missing_left
            } else {
                b <= split.bin
            };
            if left {
                self.rows[write] = r;
                write += 1;
            } else {
                self.scratch.push(r);
            }
        }
        self.rows[write..end].copy_from_slice(&self.scratch);
        write
    }

    /// Grows one tree; adds each training row's leaf value to `raw`.
    pub(crate) fn grow(&mut self, g: &[f32], h: &[f32], raw: &mut [f64]) -> Grown {
        let n = self.binned.rows;
        self.rows.clear();
        self.rows.extend(0..n as u32);
        let mut nodes: Vec<Node> = Vec::new();
        let mut gains: Vec<(usize, f64)> = Vec::new();
        let mut leaves: Vec<(usize, usize, usize)> = Vec::new();
        let mut queue: BinaryHeap<Candidate> = BinaryHeap::new();

        let histogram = self.build_histogram(0, n, g, h);
        let mut sums = Bin::default();
        for b in &histogram[..HIST_BINS.min(histogram.len())] {
            sums.add(b);
        }
        if histogram.is_empty() {
            // No feature: the root is the only leaf.
            sums = g.iter().zip(h).fold(Bin::default(), |mut s, (&gi, &hi)| {
                s.g += f64::from(gi);
                s.h += f64::from(hi);
                s.n += 1;
                s
            });
        }
        nodes.push(self.leaf_node(&sums));
        let root = Pending {
            node: 0,
            start: 0,
            end: n,
            depth: 0,
            sums,
            histogram,
        };
        let mut n_leaves = 1usize;
        self.consider(root, &mut queue, &mut leaves);

        while let Some(Candidate { split, pending, .. }) = queue.pop() {
            if self.params.max_leaf_nodes.is_some_and(|m| n_leaves >= m) {
                leaves.push((pending.node, pending.start, pending.end));
                self.pool.push(pending.histogram);
                continue;
            }
            let mid = self.partition(pending.start, pending.end, &split);
            let (li, ri) = (nodes.len(), nodes.len() + 1);
            nodes.push(self.leaf_node(&split.left));
            nodes.push(self.leaf_node(&split.right));
            let node = &mut nodes[pending.node];
            node.leaf = false;
            node.feature = split.feature as u32;
            node.bin = split.bin;
            node.threshold = self.mapper.threshold(split.feature, split.bin);
            node.missing_left = split.missing_left;
            node.left = li as u32;
            node.right = ri as u32;
            gains.push((split.feature, split.gain));
            n_leaves += 1;

            let left_smaller = split.left.n <= split.right.n;
            let small_range = if left_smaller {
                (pending.start, mid)
            } else {
                (mid, pending.end)
            };
            let small = self.build_histogram(small_range.0, small_range.1, g, h);
            let mut large = pending.histogram;
            large
                .par_chunks_mut(HIST_BINS * GROUP)
                .zip(small.par_chunks(HIST_BINS * GROUP))
                .with_min_len(MIN_TASK_FEATURES / GROUP)
                .for_each(|(l, s)| {
                    for (l, s) in l.iter_mut().zip(s) {
                        *l = l.minus(s);
                    }
                });
            let (left_hist, right_hist) = if left_smaller {
                (small, large)
            } else {
                (large, small)
            };
            let depth = pending.depth + 1;
            let left = Pending {
                node: li,
                start: pending.start,
                end: mid,
                depth,
                sums: split.left,
                histogram: left_hist,
            };
            let right = Pending {
                node: ri,
                start: mid,
                end: pending.end,
                depth,
                sums: split.right,
                histogram: right_hist,
            };
            self.consider(left, &mut queue, &mut leaves);
            self.consider(right, &mut queue, &mut leaves);
        }

        for &(node, start, end) in &leaves {
            let value = nodes[node].value;
            for &r in &self.rows[start..end] {
                raw[r as usize] += value;
            }
        }
        Grown {
            tree: Tree::new(nodes),
            gains,
        }
    }

    fn leaf_node(&self, sums: &Bin) -> Node {
        Node {
            leaf: true,
            value: self.leaf_value(sums),
            cover: f64::from(sums.n),
            mean: 0.0,
            feature: 0,
            threshold: 0.0,
            bin: 0,
            missing_left: false,
            left: 0,
            right: 0,
        }
    }

    /// Queues the node if it has a split, else makes it a final leaf.
    fn consider(
        &mut self,
        p: Pending,
        queue: &mut BinaryHeap<Candidate>,
        leaves: &mut Vec<(usize, usize, usize)>,
    ) {
        match self.find_split(&p) {
            Some(split) => queue.push(Candidate {
                gain: split.gain,
                node: p.node,
                split,
                pending: p,
            }),
            None => {
                leaves.push((p.node, p.start, p.end));
                self.pool.push(p.histogram);
            }
        }
    }
}
