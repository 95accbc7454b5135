//! The won leads nearest to a lead by cosine: the "leads like this one that we won" a seller
//! reads beside a score.

/// Reference vectors (the won leads') with their norms, computed once for many queries.
#[derive(Debug, Clone)]
pub struct Neighbours<'a> {
    items: Vec<(usize, &'a [f32], f64)>,
}

fn norm(v: &[f32]) -> f64 {
    dot(v, v).sqrt()
}

/// `a · b` in f64, over the shorter length: eight running sums (a fixed order, so the same
/// result on every run) that the compiler turns into vector instructions. A score stage
/// compares every open lead with every won lead: at 20,000 of each, 150 billion products.
fn dot(a: &[f32], b: &[f32]) -> f64 {
    let n = a.len().min(b.len());
    let (a, b) = (&a[..n], &b[..n]);
    let mut acc = [0.0f64; 8];
    let (ca, cb) = (a.chunks_exact(8), b.chunks_exact(8));
    let (ra, rb) = (ca.remainder(), cb.remainder());
    for (x, y) in ca.zip(cb) {
        for i in 0..8 {
            acc[i] += f64::from(x[i]) * f64::from(y[i]);
        }
    }
    let mut tail = 0.0;
    for (&x, &y) in ra.iter().zip(rb) {
        tail += f64::from(x) * f64::from(y);
    }
    ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7])) + tail
}

/// Cosine of two vectors whose norms are known (0 when either is zero).
fn cosine_with(a: &[f32], na: f64, b: &[f32], nb: f64) -> f64 {
    if na > 0.0 && nb > 0.0 {
        dot(a, b) / (na * nb)
    } else {
        0.0
    }
}

impl<'a> Neighbours<'a> {
    /// The reference vectors, each with the row it stands for.
    pub fn new(items: impl IntoIterator<Item = (usize, &'a [f32])>) -> Neighbours<'a> {
        Neighbours {
            items: items.into_iter().map(|(r, v)| (r, v, norm(v))).collect(),
        }
    }

    /// The `k` references nearest to `v` by cosine as `(row, cosine)`, nearest first (ties by
    /// row).
    pub fn nearest(&self, v: &[f32], k: usize) -> Vec<(usize, f64)> {
        let nv = norm(v);
        // Nearer first, ties by row: a total order, so the k kept are the k a full sort gives.
        let before =
            |a: &(usize, f64), b: &(usize, f64)| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)).is_lt();
        // The k best so far, best first, kept while scanning: no list of every reference per
        // query (a score stage asks this for each of 20,000 open leads against 17,000 won ones).
        let mut best: Vec<(usize, f64)> = Vec::with_capacity(k + 1);
        if k == 0 {
            return best;
        }
        for &(r, u, nu) in &self.items {
            let c = (r, cosine_with(v, nv, u, nu));
            if best.len() == k && !before(&c, &best[k - 1]) {
                continue;
            }
            let at = best.partition_point(|x| before(x, &c));
            best.insert(at, c);
            best.truncate(k);
        }
        best
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_blocked_dot_product_is_the_plain_sum() {
        for n in [0usize, 1, 7, 8, 9, 384, 385] {
            let a: Vec<f32> = (0..n).map(|i| ((i * 37 % 11) as f32 - 5.0) / 3.0).collect();
            let b: Vec<f32> = (0..n).map(|i| ((i * 13 % 7) as f32 - 3.0) / 7.0).collect();
            let plain: f64 = a
                .iter()
                .zip(&b)
                .map(|(&x, &y)| f64::from(x) * f64::from(y))
                .sum();
            assert!(
                (dot(&a, &b) - plain).abs() <= 1e-12 * (1.0 + plain.abs()),
                "n = {n}"
            );
        }
        // Different lengths: the shorter one's.
        assert_eq!(dot(&[1.0, 2.0, 3.0], &[1.0, 1.0]), 3.0);
    }

    #[test]
    fn the_k_kept_while_scanning_are_the_k_of_a_full_sort() {
        // Many ties (few distinct vectors) and a zero vector, in a shuffled row order.
        let vs: Vec<Vec<f32>> = (0..60)
            .map(|i| vec![(i % 4) as f32, ((i * 7) % 3) as f32 - 1.0, (i % 2) as f32])
            .collect();
        let rows: Vec<usize> = (0..60).map(|i| (i * 37) % 60).collect();
        let n = Neighbours::new(rows.iter().map(|&r| (r, vs[r].as_slice())));
        for q in [[1.0f32, 0.0, 0.0], [0.0, -1.0, 1.0], [2.0, 1.0, 1.0]] {
            let nq = norm(&q);
            let mut all: Vec<(usize, f64)> = rows
                .iter()
                .map(|&r| (r, cosine_with(&q, nq, &vs[r], norm(&vs[r]))))
                .collect();
            all.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
            for k in [1, 3, 7, 60, 80] {
                assert_eq!(n.nearest(&q, k), all[..k.min(60)].to_vec(), "k = {k}");
            }
        }
    }

    #[test]
    fn nearest_first_ties_by_row_zero_vectors_score_zero() {
        let a = [1.0f32, 0.0];
        let b = [0.0f32, 1.0];
        let c = [1.0f32, 1.0];
        let z = [0.0f32, 0.0];
        let n = Neighbours::new([
            (7, &b[..]),
            (3, &a[..]),
            (5, &c[..]),
            (1, &a[..]),
            (9, &z[..]),
        ]);
        let got = n.nearest(&[2.0, 0.0], 3);
        assert_eq!(got[0], (1, 1.0));
        assert_eq!(got[1], (3, 1.0));
        assert_eq!(got[2].0, 5);
        assert!((got[2].1 - 0.5f64.sqrt()).abs() < 1e-12);
        assert_eq!(n.nearest(&[2.0, 0.0], 0), vec![]);
        assert_eq!(n.nearest(&[2.0, 0.0], 10).len(), 5);
        assert_eq!(n.nearest(&[2.0, 0.0], 10)[4], (9, 0.0));
    }
}
