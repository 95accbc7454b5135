//! One fitted regression tree of the ensemble: prediction and exact TreeSHAP contributions.
//!
//! A split sends a row left when its value is `<= threshold`, and a missing value (NaN) the way
//! learned for that split (`missing_left`). Every node keeps its cover: the number of training
//! rows that reached it. Contributions are path-dependent TreeSHAP (Lundberg, Erion & Lee 2018,
//! "Consistent individualized feature attribution for tree ensembles", Algorithm 2): the exact
//! Shapley values of the game `v(S) = E[f(x) | x_S]`, where the expectation over the features
//! outside `S` follows both children of their splits weighted by cover. They add up to
//! `f(x) − E[f]`, with `E[f]` the cover-weighted mean of the leaves ([`Tree::expected_value`]).

use serde::{Deserialize, Serialize};

/// A node: a split when `leaf` is false, else a leaf with `value`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Node {
    pub(crate) leaf: bool,
    /// Leaf value (learning rate applied); unused for splits.
    pub(crate) value: f64,
    /// Training rows that reached this node.
    pub(crate) cover: f64,
    /// The cover-weighted mean of the leaves below (the value for a leaf); set by [`Tree::new`].
    pub(crate) mean: f64,
    pub(crate) feature: u32,
    /// Raw threshold: a value `<= threshold` goes left (`+∞`: every value, which JSON cannot
    /// write as a number).
    #[serde(with = "crate::float_text")]
    pub(crate) threshold: f64,
    /// The same split on bins: a bin `<= bin` goes left (missing bin aside).
    pub(crate) bin: u8,
    pub(crate) missing_left: bool,
    pub(crate) left: u32,
    pub(crate) right: u32,
}

/// A tree: nodes with the root at index 0.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Tree {
    pub(crate) nodes: Vec<Node>,
    /// Longest root-to-leaf path in splits (sizes TreeSHAP's path buffer).
    pub(crate) depth: usize,
    pub(crate) expected: f64,
}

/// One feature on TreeSHAP's path: the fractions of rows and of "the row" that follow it.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct PathElement {
    feature: i64,
    zero_fraction: f64,
    one_fraction: f64,
    weight: f64,
}

impl Tree {
    pub(crate) fn new(nodes: Vec<Node>) -> Tree {
        let mut tree = Tree {
            nodes,
            depth: 0,
            expected: 0.0,
        };
        tree.depth = tree.depth_of(0);
        // Children come after their parent, so a backward pass sees them first.
        for i in (0..tree.nodes.len()).rev() {
            let n = &tree.nodes[i];
            let mean = if n.leaf {
                n.value
            } else {
                let (l, r) = (&tree.nodes[n.left as usize], &tree.nodes[n.right as usize]);
                if l.cover + r.cover > 0.0 {
                    (l.mean * l.cover + r.mean * r.cover) / (l.cover + r.cover)
                } else {
                    0.0
                }
            };
            tree.nodes[i].mean = mean;
        }
        tree.expected = tree.nodes.first().map_or(0.0, |n| n.mean);
        tree
    }

    fn depth_of(&self, node: usize) -> usize {
        let n = &self.nodes[node];
        if n.leaf {
            0
        } else {
            1 + self
                .depth_of(n.left as usize)
                .max(self.depth_of(n.right as usize))
        }
    }

    /// The cover-weighted mean of the leaves: the tree's prediction averaged over training rows.
    pub(crate) fn expected_value(&self) -> f64 {
        self.expected
    }

    fn goes_left(node: &Node, v: f64) -> bool {
        if v.is_nan() {
            node.missing_left
        } else {
            v <= node.threshold
        }
    }

    /// The leaf value for a row given by `value(feature)`.
    pub(crate) fn predict(&self, value: impl Fn(usize) -> f64) -> f64 {
        let mut i = 0;
        loop {
            let n = &self.nodes[i];
            if n.leaf {
                return n.value;
            }
            i = if Self::goes_left(n, value(n.feature as usize)) {
                n.left
            } else {
                n.right
            } as usize;
        }
    }

    /// The leaf index for a binned row (`bin(feature)`), as in training.
    pub(crate) fn leaf_of_bins(&self, bin: impl Fn(usize) -> u8) -> usize {
        let mut i = 0;
        loop {
            let n = &self.nodes[i];
            if n.leaf {
                return i;
            }
            let b = bin(n.feature as usize);
            let left = if b == super::binning::MISSING_BIN {
                n.missing_left
            } else {
                b <= n.bin
            };
            i = if left { n.left } else { n.right } as usize;
        }
    }

    /// Adds this tree's TreeSHAP values for the row to `phi` (indexed by feature). `buffer` is
    /// scratch, grown as needed and reusable across trees and rows.
    pub(crate) fn add_shap(&self, row: &[f64], phi: &mut [f64], buffer: &mut Vec<PathElement>) {
        let d = self.depth + 2;
        if buffer.len() < d * (d + 1) / 2 {
            buffer.resize(d * (d + 1) / 2, PathElement::default());
        }
        self.recurse(0, row, phi, buffer, 0, 1.0, 1.0, -1);
    }

    /// Adds this tree's Saabas attributions to `phi`: along the row's path, each split's feature
    /// gets the change of the mean prediction from the node to the child taken. O(depth), and
    /// they add up to `f(x) − E[f]` as TreeSHAP's do, but credit the features split on nearer
    /// the leaf more and ignore the features not on the path.
    pub(crate) fn add_saabas(&self, row: &[f64], phi: &mut [f64]) {
        let mut i = 0;
        loop {
            let n = &self.nodes[i];
            if n.leaf {
                return;
            }
            let next = if Self::goes_left(n, row[n.feature as usize]) {
                n.left
            } else {
                n.right
            } as usize;
            phi[n.feature as usize] += self.nodes[next].mean - n.mean;
            i = next;
        }
    }

    /// `buffer[..parent_len]` is the parent's path; this node's path is built right after it.
    #[allow(clippy::too_many_arguments)]
    fn recurse(
        &self,
        node: usize,
        row: &[f64],
        phi: &mut [f64],
        buffer: &mut [PathElement],
        parent_len: usize,
        zero_fraction: f64,
        one_fraction: f64,
        feature: i64,
    ) {
        let (parent, rest) = buffer.split_at_mut(parent_len);
        rest[..parent_len].copy_from_slice(parent);
        let mut depth = parent_len;
        extend(rest, depth, zero_fraction, one_fraction, feature);
        let n = &self.nodes[node];
        if n.leaf {
            for i in 1..=depth {
                let w = unwound_sum(rest, depth, i);
                let e = rest[i];
                phi[e.feature as usize] += w * (e.one_fraction - e.zero_fraction) * n.value;
            }
            return;
        }
        let (hot, cold) = if Self::goes_left(n, row[n.feature as usize]) {
            (n.left as usize, n.right as usize)
        } else {
            (n.right as usize, n.left as usize)
        };
        let cover = n.cover;
        let hot_zero = self.nodes[hot].cover / cover;
        let cold_zero = self.nodes[cold].cover / cover;
        let mut incoming_zero = 1.0;
        let mut incoming_one = 1.0;
        // A feature split on higher up the path is unwound first, so each feature appears once.
        let split_feature = i64::from(n.feature);
        if let Some(k) = (1..=depth).find(|&k| rest[k].feature == split_feature) {
            incoming_zero = rest[k].zero_fraction;
            incoming_one = rest[k].one_fraction;
            unwind(rest, depth, k);
            depth -= 1;
        }
        self.recurse(
            hot,
            row,
            phi,
            rest,
            depth + 1,
            hot_zero * incoming_zero,
            incoming_one,
            split_feature,
        );
        self.recurse(
            cold,
            row,
            phi,
            rest,
            depth + 1,
            cold_zero * incoming_zero,
            0.0,
            split_feature,
        );
    }
}

fn extend(path: &mut [PathElement], depth: usize, zero: f64, one: f64, feature: i64) {
    path[depth] = PathElement {
        feature,
        zero_fraction: zero,
        one_fraction: one,
        weight: if depth == 0 { 1.0 } else { 0.0 },
    };
    let d = depth as f64;
    for i in (0..depth).rev() {
        let fi = i as f64;
        path[i + 1].weight += one * path[i].weight * (fi + 1.0) / (d + 1.0);
        path[i].weight = zero * path[i].weight * (d - fi) / (d + 1.0);
    }
}

fn unwind(path: &mut [PathElement], depth: usize, k: usize) {
    let one = path[k].one_fraction;
    let zero = path[k].zero_fraction;
    let d = depth as f64;
    let mut next_one = path[depth].weight;
    for i in (0..depth).rev() {
        let fi = i as f64;
        if one != 0.0 {
            let tmp = path[i].weight;
            path[i].weight = next_one * (d + 1.0) / ((fi + 1.0) * one);
            next_one = tmp - path[i].weight * zero * (d - fi) / (d + 1.0);
        } else {
            path[i].weight = path[i].weight * (d + 1.0) / (zero * (d - fi));
        }
    }
    for i in k..depth {
        path[i].feature = path[i + 1].feature;
        path[i].zero_fraction = path[i + 1].zero_fraction;
        path[i].one_fraction = path[i + 1].one_fraction;
    }
}

fn unwound_sum(path: &[PathElement], depth: usize, k: usize) -> f64 {
    let one = path[k].one_fraction;
    let zero = path[k].zero_fraction;
    let d = depth as f64;
    let mut next_one = path[depth].weight;
    let mut total = 0.0;
    if one != 0.0 {
        // Constant factors hoisted so that no division sits on the `next_one` chain.
        let up = (d + 1.0) / one;
        let down = zero / (d + 1.0);
        for i in (0..depth).rev() {
            let fi = i as f64;
            let tmp = next_one * (up / (fi + 1.0));
            total += tmp;
            next_one = path[i].weight - tmp * (down * (d - fi));
        }
    } else if zero != 0.0 {
        for i in (0..depth).rev() {
            let fi = i as f64;
            total += path[i].weight / zero / ((d - fi) / (d + 1.0));
        }
    }
    total
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(
        feature: u32,
        threshold: f64,
        missing_left: bool,
        left: u32,
        right: u32,
        cover: f64,
    ) -> Node {
        Node {
            leaf: false,
            value: 0.0,
            cover,
            mean: 0.0,
            feature,
            threshold,
            bin: 0,
            missing_left,
            left,
            right,
        }
    }

    fn leaf(value: f64, cover: f64) -> Node {
        Node {
            leaf: true,
            value,
            cover,
            mean: 0.0,
            feature: 0,
            threshold: 0.0,
            bin: 0,
            missing_left: false,
            left: 0,
            right: 0,
        }
    }

    /// A tree that splits feature 0 twice on one path and uses features 1 and 2 elsewhere.
    fn tree() -> Tree {
        Tree::new(vec![
            split(0, 0.5, false, 1, 2, 100.0),
            split(1, 0.0, true, 3, 4, 60.0),
            split(0, 2.0, false, 5, 6, 40.0),
            leaf(-1.0, 25.0),
            split(2, 1.0, false, 7, 8, 35.0),
            leaf(0.5, 30.0),
            leaf(2.0, 10.0),
            leaf(0.25, 20.0),
            leaf(-0.75, 15.0),
        ])
    }

    /// `E[f(x) | x_S]` by following both children (weighted by cover) for features outside S.
    fn conditional(t: &Tree, node: usize, row: &[f64], known: u32) -> f64 {
        let n = &t.nodes[node];
        if n.leaf {
            return n.value;
        }
        if known & (1 << n.feature) != 0 {
            let next = if Tree::goes_left(n, row[n.feature as usize]) {
                n.left
            } else {
                n.right
            };
            conditional(t, next as usize, row, known)
        } else {
            let (l, r) = (&t.nodes[n.left as usize], &t.nodes[n.right as usize]);
            (l.cover * conditional(t, n.left as usize, row, known)
                + r.cover * conditional(t, n.right as usize, row, known))
                / n.cover
        }
    }

    /// Exact Shapley values by enumerating every coalition.
    fn brute_force(t: &Tree, row: &[f64]) -> Vec<f64> {
        let m = row.len() as u32;
        let fact = |k: u32| (1..=k).map(f64::from).product::<f64>();
        (0..m)
            .map(|i| {
                let mut phi = 0.0;
                for s in 0u32..(1 << m) {
                    if s & (1 << i) != 0 {
                        continue;
                    }
                    let size = s.count_ones();
                    let w = fact(size) * fact(m - size - 1) / fact(m);
                    phi += w * (conditional(t, 0, row, s | (1 << i)) - conditional(t, 0, row, s));
                }
                phi
            })
            .collect()
    }

    #[test]
    fn tree_shap_equals_brute_force_shapley_values() {
        let t = tree();
        let rows = [
            [0.0, -1.0, 0.0],
            [0.0, 1.0, 2.0],
            [1.0, f64::NAN, 0.0],
            [3.0, 0.0, 5.0],
            [f64::NAN, f64::NAN, f64::NAN],
        ];
        let mut buffer = Vec::new();
        for row in rows {
            let mut phi = vec![0.0; 3];
            t.add_shap(&row, &mut phi, &mut buffer);
            let exact = brute_force(&t, &row);
            for (a, b) in phi.iter().zip(&exact) {
                assert!((a - b).abs() < 1e-12, "row {row:?}: {phi:?} vs {exact:?}");
            }
            let total: f64 = phi.iter().sum::<f64>() + t.expected_value();
            assert!((total - t.predict(|f| row[f])).abs() < 1e-12);
        }
    }

    #[test]
    fn saabas_adds_up_and_equals_tree_shap_on_a_stump() {
        let t = tree();
        for row in [[0.0, -1.0, 0.0], [3.0, 0.0, 5.0], [f64::NAN, 2.0, f64::NAN]] {
            let mut phi = vec![0.0; 3];
            t.add_saabas(&row, &mut phi);
            let total: f64 = phi.iter().sum::<f64>() + t.expected_value();
            assert!((total - t.predict(|f| row[f])).abs() < 1e-12);
        }
        let stump = Tree::new(vec![
            split(1, 0.0, true, 1, 2, 10.0),
            leaf(1.0, 4.0),
            leaf(-2.0, 6.0),
        ]);
        for row in [[0.0, -1.0, 0.0], [0.0, 1.0, 0.0], [0.0, f64::NAN, 0.0]] {
            let (mut a, mut b) = (vec![0.0; 3], vec![0.0; 3]);
            stump.add_saabas(&row, &mut a);
            stump.add_shap(&row, &mut b, &mut Vec::new());
            assert!(
                a.iter().zip(&b).all(|(x, y)| (x - y).abs() < 1e-12),
                "{a:?} vs {b:?}"
            );
        }
    }

    #[test]
    fn the_expected_value_is_the_cover_weighted_mean_of_leaves() {
        let t = tree();
        let mean = (-25.0 + 0.5 * 30.0 + 2.0 * 10.0 + 0.25 * 20.0 - 0.75 * 15.0) / 100.0;
        assert!((t.expected_value() - mean).abs() < 1e-15);
        assert_eq!(t.depth, 3);
    }
}
