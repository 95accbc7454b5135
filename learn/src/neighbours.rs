//! The won leads nearest to a lead by cosine: the "leads like this one that we won" a seller
//! reads beside a score.

/// Reference vectors (the won leads') with their norms, computed once for many queries.
#[derive(Debug, Clone)]
pub struct Neighbours<'a> {
    items: Vec<(usize, &'a [f32], f64)>,
}

fn norm(v: &[f32]) -> f64 {
    v.iter()
        .map(|&x| f64::from(x) * f64::from(x))
        .sum::<f64>()
        .sqrt()
}

/// Cosine of two vectors whose norms are known (0 when either is zero).
fn cosine_with(a: &[f32], na: f64, b: &[f32], nb: f64) -> f64 {
    if na > 0.0 && nb > 0.0 {
        a.iter()
            .zip(b)
            .map(|(&x, &y)| f64::from(x) * f64::from(y))
            .sum::<f64>()
            / (na * nb)
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
        let mut all: Vec<(usize, f64)> = self
            .items
            .iter()
            .map(|&(r, u, nu)| (r, cosine_with(v, nv, u, nu)))
            .collect();
        let order = |a: &(usize, f64), b: &(usize, f64)| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0));
        if k > 0 && all.len() > k {
            all.select_nth_unstable_by(k - 1, order);
            all.truncate(k);
        }
        all.sort_by(order);
        all.truncate(k);
        all
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
