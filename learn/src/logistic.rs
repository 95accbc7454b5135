//! L2-regularised binary logistic regression on sparse rows, scikit-learn compatible.
//!
//! With labels `sᵢ ∈ {−1, +1}` (lost, won) the fitted `(w, b)` minimises
//!
//! ```text
//!     ½·wᵀw + C · Σᵢ log(1 + exp(−sᵢ·(w·xᵢ + b)))
//! ```
//!
//! — the intercept `b` is not penalised. This is the objective of scikit-learn's
//! `LogisticRegression(penalty="l2", C=C, fit_intercept=True, solver="lbfgs")` (which divides it
//! by `C·n`, leaving the minimiser unchanged), so coefficients agree with scikit-learn's up to
//! solver tolerance. Separable data is fine: the penalty keeps `w` finite.
//!
//! The solver is L-BFGS (memory 10) written here, with a weak-Wolfe bisection line search that
//! costs O(n) per trial step (margins along the search direction are precomputed). It is fully
//! deterministic. It stops when `‖∇‖∞ ≤ tol·max(1, C·n)` (converged); when an iteration
//! lowers the objective by no more than a few ulps (converged to floating-point precision); when
//! not even a steepest-descent step lowers it (converged iff `‖∇‖∞ ≤ max(1e-6, tol)·max(1, C·n)`); or after
//! 5 000 iterations (not converged). See [`Logistic::converged`].
//!
//! `tol` is [`Logistic::EXACT_TOL`] (1e-10) for [`Logistic::fit`], which pins the optimum
//! down to many digits; [`Logistic::fit_with_tolerance`] takes another. Dividing the objective
//! by `C·n` as scikit-learn does makes `tol` the same number as scikit-learn's `tol` (default
//! 1e-4, which the `evaluate` stage uses too: 10× fewer iterations, ROC-AUC equal to 1e-3).
//!
//! Rows are sparse `(feature index, value)` lists; entries need not be sorted, and repeated
//! indices add up.

use std::collections::VecDeque;

use serde::{Deserialize, Serialize};

use crate::LearnError;

/// A sparse feature row: `(feature index, value)` pairs.
pub type SparseRow = Vec<(u32, f64)>;

const MEMORY: usize = 10;
const MAX_ITER: usize = 5_000;

/// A dense row as a [`SparseRow`] (index = position; zeros dropped, NaN kept so that `fit`
/// reports it).
pub fn dense_row(values: &[f64]) -> SparseRow {
    let mut row = SparseRow::new();
    push_dense(&mut row, 0, values);
    row
}

/// Appends dense `values` to `row` at feature indices `offset, offset + 1, …` (zeros dropped).
/// Use it, with [`push_sparse`], to lay several feature blocks side by side.
pub fn push_dense(row: &mut SparseRow, offset: u32, values: &[f64]) {
    for (i, &v) in values.iter().enumerate() {
        if v != 0.0 {
            row.push((offset.saturating_add(i as u32), v));
        }
    }
}

/// Appends the sparse `part` to `row` with its indices shifted by `offset`.
pub fn push_sparse(row: &mut SparseRow, offset: u32, part: &[(u32, f64)]) {
    row.extend(part.iter().map(|&(i, v)| (offset.saturating_add(i), v)));
}

/// A fitted logistic regression.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Logistic {
    weights: Vec<f64>,
    intercept: f64,
    iterations: usize,
    converged: bool,
}

/// `log(1 + eˣ)` without overflow.
fn softplus(x: f64) -> f64 {
    if x > 0.0 {
        x + (-x).exp().ln_1p()
    } else {
        x.exp().ln_1p()
    }
}

/// `1 / (1 + e⁻ˣ)` without overflow.
fn sigmoid(x: f64) -> f64 {
    if x >= 0.0 {
        1.0 / (1.0 + (-x).exp())
    } else {
        let e = x.exp();
        e / (1.0 + e)
    }
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

fn sparse_dot(row: &[(u32, f64)], w: &[f64]) -> f64 {
    row.iter()
        .map(|&(i, v)| w.get(i as usize).map_or(0.0, |wi| wi * v))
        .sum()
}

/// The training problem: parameters are `θ = [w₀ … w_{dim−1}, b]`.
struct Problem<'a> {
    rows: &'a [SparseRow],
    sign: Vec<f64>,
    dim: usize,
    c: f64,
    /// Gradient tolerance relative to `max(1, C·n)`.
    tol: f64,
}

impl Problem<'_> {
    /// Margins `zᵢ = w·xᵢ + b`.
    fn margins(&self, theta: &[f64]) -> Vec<f64> {
        let (w, b) = theta.split_at(self.dim);
        self.rows.iter().map(|r| sparse_dot(r, w) + b[0]).collect()
    }

    /// Objective and gradient at `theta`, given its margins.
    fn value_grad(&self, theta: &[f64], z: &[f64]) -> (f64, Vec<f64>) {
        let w = &theta[..self.dim];
        let mut f = 0.5 * dot(w, w);
        let mut g = theta.to_vec();
        g[self.dim] = 0.0;
        for ((row, &zi), &si) in self.rows.iter().zip(z).zip(&self.sign) {
            let m = -si * zi;
            f += self.c * softplus(m);
            let gi = -si * self.c * sigmoid(m);
            for &(j, v) in row {
                g[j as usize] += gi * v;
            }
            g[self.dim] += gi;
        }
        (f, g)
    }

    /// Objective and directional derivative at `θ + t·d`, from precomputed margins `z` at `θ`
    /// and their change `u` along `d`; `wd = w·d_w`, `dd = d_w·d_w`, `ww = w·w`.
    fn along(&self, t: f64, z: &[f64], u: &[f64], ww: f64, wd: f64, dd: f64) -> (f64, f64) {
        let mut f = 0.5 * (ww + 2.0 * t * wd + t * t * dd);
        let mut df = wd + t * dd;
        for ((&zi, &ui), &si) in z.iter().zip(u).zip(&self.sign) {
            let m = -si * (zi + t * ui);
            f += self.c * softplus(m);
            df -= si * self.c * sigmoid(m) * ui;
        }
        (f, df)
    }
}

/// L-BFGS two-loop recursion: returns `−H·g`.
fn direction(g: &[f64], history: &VecDeque<(Vec<f64>, Vec<f64>, f64)>) -> Vec<f64> {
    let mut q = g.to_vec();
    let mut alphas = Vec::with_capacity(history.len());
    for (s, y, rho) in history.iter().rev() {
        let a = rho * dot(s, &q);
        for (qi, yi) in q.iter_mut().zip(y) {
            *qi -= a * yi;
        }
        alphas.push(a);
    }
    if let Some((s, y, _)) = history.back() {
        let gamma = dot(s, y) / dot(y, y);
        for qi in &mut q {
            *qi *= gamma;
        }
    }
    for ((s, y, rho), a) in history.iter().zip(alphas.iter().rev()) {
        let beta = rho * dot(y, &q);
        for (qi, si) in q.iter_mut().zip(s) {
            *qi += (a - beta) * si;
        }
    }
    for qi in &mut q {
        *qi = -*qi;
    }
    q
}

impl Logistic {
    /// Fits on `rows` (feature indices `< dim`) with labels `y` (`true` = won) and inverse
    /// regularisation strength `c` (scikit-learn's `C`).
    ///
    /// Errors: [`LearnError::InvalidParameter`] unless `c` is finite and positive;
    /// [`LearnError::LengthMismatch`] when `rows` and `y` differ in length;
    /// [`LearnError::OutOfRange`] for a feature index `>= dim`; [`LearnError::NonFinite`] for a
    /// NaN or infinite value; [`LearnError::MissingClass`] when `y` lacks a class (including
    /// an empty `y`) — a one-class problem has no finite intercept.
    pub fn fit(rows: &[SparseRow], dim: usize, y: &[bool], c: f64) -> Result<Self, LearnError> {
        Self::fit_with_tolerance(rows, dim, y, c, Self::EXACT_TOL)
    }

    /// The gradient tolerance of [`Logistic::fit`], relative to `C·n` (see the module docs).
    pub const EXACT_TOL: f64 = 1e-10;

    /// [`Logistic::fit`] stopping at `‖∇‖∞ ≤ tol·max(1, C·n)`: `tol` means what scikit-learn's
    /// `tol` means for its lbfgs solver.
    ///
    /// Errors: as [`Logistic::fit`], and [`LearnError::InvalidParameter`] unless `tol` is finite
    /// and positive.
    pub fn fit_with_tolerance(
        rows: &[SparseRow],
        dim: usize,
        y: &[bool],
        c: f64,
        tol: f64,
    ) -> Result<Self, LearnError> {
        if !(tol.is_finite() && tol > 0.0) {
            return Err(LearnError::InvalidParameter {
                name: "tol",
                value: tol,
            });
        }
        if !(c.is_finite() && c > 0.0) {
            return Err(LearnError::InvalidParameter {
                name: "C",
                value: c,
            });
        }
        if rows.len() != y.len() {
            return Err(LearnError::LengthMismatch {
                what: "rows vs labels",
                expected: y.len(),
                got: rows.len(),
            });
        }
        for class in [true, false] {
            if !y.contains(&class) {
                return Err(LearnError::MissingClass { class });
            }
        }
        for (r, row) in rows.iter().enumerate() {
            for &(j, v) in row {
                if j as usize >= dim {
                    return Err(LearnError::OutOfRange {
                        what: "feature index",
                        index: j as usize,
                        bound: dim,
                    });
                }
                if !v.is_finite() {
                    return Err(LearnError::NonFinite {
                        what: "feature value",
                        row: r,
                    });
                }
            }
        }
        let problem = Problem {
            rows,
            sign: y.iter().map(|&l| if l { 1.0 } else { -1.0 }).collect(),
            dim,
            c,
            tol,
        };
        Ok(problem.solve())
    }

    /// The linear score `w·x + b` (indices `>= dim` are ignored; a NaN value gives NaN).
    pub fn decision(&self, row: &[(u32, f64)]) -> f64 {
        sparse_dot(row, &self.weights) + self.intercept
    }

    /// `sigmoid(decision)`: the probability of a linear score already summed
    /// ([`crate::LinearScorer`] sums it term by term).
    pub fn probability_at(decision: f64) -> f64 {
        sigmoid(decision)
    }

    /// Probability of "won": `sigmoid(w·x + b)` (indices `>= dim` are ignored; a NaN value gives
    /// NaN, which [`crate::evaluate`] rejects).
    pub fn predict_proba(&self, row: &[(u32, f64)]) -> f64 {
        sigmoid(self.decision(row))
    }

    /// The coefficients `w`, one per feature.
    pub fn weights(&self) -> &[f64] {
        &self.weights
    }

    /// The intercept `b`.
    pub fn intercept(&self) -> f64 {
        self.intercept
    }

    /// L-BFGS iterations used.
    pub fn iterations(&self) -> usize {
        self.iterations
    }

    /// Whether the solver met its tolerance (see the module docs) before the iteration cap.
    pub fn converged(&self) -> bool {
        self.converged
    }
}

impl Problem<'_> {
    fn solve(&self) -> Logistic {
        let n = self.rows.len();
        let mut theta = vec![0.0; self.dim + 1];
        let mut z = self.margins(&theta);
        let (mut f, mut g) = self.value_grad(&theta, &z);
        let gtol = self.tol * (self.c * n as f64).max(1.0);
        let mut history: VecDeque<(Vec<f64>, Vec<f64>, f64)> = VecDeque::new();
        let mut converged = false;
        let mut iterations = 0;
        while iterations < MAX_ITER {
            if g.iter().fold(0.0f64, |m, x| m.max(x.abs())) <= gtol {
                converged = true;
                break;
            }
            iterations += 1;
            let mut d = direction(&g, &history);
            let mut gd = dot(&g, &d);
            if gd.is_nan() || gd >= 0.0 {
                history.clear();
                d = g.iter().map(|x| -x).collect();
                gd = dot(&g, &d);
            }
            let t0 = if history.is_empty() {
                (1.0 / dot(&g, &g).sqrt()).min(1.0)
            } else {
                1.0
            };
            let (dw, db) = d.split_at(self.dim);
            let u: Vec<f64> = self
                .rows
                .iter()
                .map(|r| sparse_dot(r, dw) + db[0])
                .collect();
            let w = &theta[..self.dim];
            let (ww, wd, dd) = (dot(w, w), dot(w, dw), dot(dw, dw));
            let Some((t, f_new)) = self.line_search(f, gd, t0, &z, &u, (ww, wd, dd)) else {
                if !history.is_empty() {
                    // Retry from steepest descent before giving up.
                    history.clear();
                    continue;
                }
                // Not even steepest descent lowers the objective: the floating-point floor.
                converged = self.at_precision_floor(&g);
                break;
            };
            let s: Vec<f64> = d.iter().map(|di| t * di).collect();
            for (ti, si) in theta.iter_mut().zip(&s) {
                *ti += si;
            }
            for (zi, ui) in z.iter_mut().zip(&u) {
                *zi += t * ui;
            }
            let (f_eval, g_new) = self.value_grad(&theta, &z);
            let decrease = f - f_eval.min(f_new);
            let yv: Vec<f64> = g_new.iter().zip(&g).map(|(a, b)| a - b).collect();
            let sy = dot(&s, &yv);
            if sy > f64::EPSILON * dot(&yv, &yv) && sy > 0.0 {
                if history.len() == MEMORY {
                    history.pop_front();
                }
                history.push_back((s, yv, 1.0 / sy));
            }
            f = f_eval;
            g = g_new;
            if decrease <= 4.0 * f64::EPSILON * f.abs().max(1.0) {
                converged = true;
                break;
            }
        }
        let intercept = theta.pop().unwrap_or(0.0);
        Logistic {
            weights: theta,
            intercept,
            iterations,
            converged,
        }
    }

    /// Whether a gradient at which no step lowers the objective any more is small enough to
    /// call the fit converged (a looser `‖∇‖∞ ≤ max(1e-6, tol)·max(1, C·n)`).
    fn at_precision_floor(&self, g: &[f64]) -> bool {
        let scale = (self.c * self.rows.len() as f64).max(1.0);
        g.iter().all(|x| x.abs() <= self.tol.max(1e-6) * scale)
    }

    /// Weak-Wolfe bisection (Lewis & Overton): returns an accepted step and its objective, or
    /// the best Armijo step found, or `None` when no trial step decreased the objective.
    fn line_search(
        &self,
        f0: f64,
        gd: f64,
        t0: f64,
        z: &[f64],
        u: &[f64],
        (ww, wd, dd): (f64, f64, f64),
    ) -> Option<(f64, f64)> {
        const C1: f64 = 1e-4;
        const C2: f64 = 0.9;
        let (mut lo, mut hi) = (0.0f64, f64::INFINITY);
        let mut best: Option<(f64, f64)> = None;
        let mut t = t0;
        for _ in 0..80 {
            let (ft, dt) = self.along(t, z, u, ww, wd, dd);
            if ft.is_nan() || ft > f0 + C1 * t * gd {
                hi = t;
            } else {
                if best.is_none_or(|(_, fb)| ft < fb) {
                    best = Some((t, ft));
                }
                if dt < C2 * gd {
                    lo = t;
                } else {
                    return Some((t, ft));
                }
            }
            t = if hi.is_finite() {
                0.5 * (lo + hi)
            } else {
                2.0 * lo
            };
            if t <= 0.0 || !t.is_finite() {
                break;
            }
        }
        best.filter(|&(_, fb)| fb < f0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_close(a: f64, b: f64, tol: f64) {
        assert!((a - b).abs() <= tol, "{a} != {b} (tol {tol})");
    }

    /// Gradient of the objective at the fitted parameters.
    fn gradient(model: &Logistic, rows: &[SparseRow], y: &[bool], c: f64) -> Vec<f64> {
        let mut g = model.weights().to_vec();
        g.push(0.0);
        let dim = model.weights().len();
        for (row, &l) in rows.iter().zip(y) {
            let p = model.predict_proba(row);
            let r = c * (p - if l { 1.0 } else { 0.0 });
            for &(j, v) in row {
                g[j as usize] += r * v;
            }
            g[dim] += r;
        }
        g
    }

    fn tiny() -> (Vec<SparseRow>, Vec<bool>) {
        let x = [
            [0.5, 1.0],
            [1.5, -0.5],
            [2.0, 2.0],
            [3.0, 0.5],
            [-1.0, 0.0],
            [0.0, -1.5],
            [1.0, 1.0],
            [2.5, -1.0],
        ];
        let y = [false, false, true, true, false, false, true, false];
        (x.iter().map(|r| dense_row(r)).collect(), y.to_vec())
    }

    #[test]
    fn matches_sklearn_on_tiny_2d() {
        // scikit-learn 1.9.1:
        // X = [[0.5,1.0],[1.5,-0.5],[2.0,2.0],[3.0,0.5],[-1.0,0.0],[0.0,-1.5],[1.0,1.0],[2.5,-1.0]]
        // y = [0,0,1,1,0,0,1,0]
        // m = sklearn.linear_model.LogisticRegression(C=C, tol=1e-12, max_iter=100000).fit(X, y)
        // (m.coef_[0], m.intercept_[0]) for C = 1.0, 0.01, 100.0:
        let expected = [
            (
                1.0,
                [0.685_394_454_686_342_4, 1.018_158_407_512_053_8],
                -1.770_281_184_811_348_2,
            ),
            (
                0.01,
                [0.023_556_270_500_989_3, 0.028_631_263_781_609_99],
                -0.544_438_959_880_991_6,
            ),
            (
                100.0,
                [5.275_501_685_949_398, 6.323_517_218_565_306],
                -10.377_374_989_724_792,
            ),
        ];
        let (rows, y) = tiny();
        for (c, w, b) in expected {
            let m = Logistic::fit(&rows, 2, &y, c).unwrap();
            assert!(m.converged());
            let tol = 1e-6 * c.max(1.0);
            assert_close(m.weights()[0], w[0], tol);
            assert_close(m.weights()[1], w[1], tol);
            assert_close(m.intercept(), b, tol);
        }
    }

    #[test]
    fn stationary_point() {
        let (rows, y) = tiny();
        for c in [0.01, 1.0, 100.0] {
            let m = Logistic::fit(&rows, 2, &y, c).unwrap();
            assert!(m.converged());
            for gi in gradient(&m, &rows, &y, c) {
                assert!(gi.abs() < 1e-7 * c.max(1.0), "c={c}: gradient {gi}");
            }
        }
    }

    #[test]
    fn separable_data_stays_finite() {
        let rows: Vec<SparseRow> = [-2.0, -1.0, 1.0, 2.0]
            .iter()
            .map(|&v| dense_row(&[v]))
            .collect();
        let y = [false, false, true, true];
        let m = Logistic::fit(&rows, 1, &y, 1e6).unwrap();
        assert!(m.weights()[0].is_finite() && m.weights()[0] > 0.0);
        assert!(
            m.intercept().abs() < 1e-6,
            "symmetric data: b = {}",
            m.intercept()
        );
        assert!(m.predict_proba(&rows[3]) > 0.99);
    }

    #[test]
    fn intercept_only_matches_base_rate() {
        // No features: the unpenalised intercept is the log-odds of the base rate.
        let rows: Vec<SparseRow> = vec![Vec::new(); 10];
        let y: Vec<bool> = (0..10).map(|i| i < 3).collect();
        let m = Logistic::fit(&rows, 0, &y, 1.0).unwrap();
        assert_close(m.intercept(), (3.0f64 / 7.0).ln(), 1e-9);
        assert_close(m.predict_proba(&[]), 0.3, 1e-9);
    }

    #[test]
    fn high_dimensional_sparse() {
        // 200 features, 60 rows, each row a few features; must converge and be stationary.
        let mut rows = Vec::new();
        let mut y = Vec::new();
        for i in 0..60u32 {
            let row: SparseRow = (0..4)
                .map(|k| ((i * 7 + k * 13) % 200, 1.0 + f64::from((i + k) % 3)))
                .collect();
            y.push((i * 7) % 200 < 100);
            rows.push(row);
        }
        let m = Logistic::fit(&rows, 200, &y, 10.0).unwrap();
        assert!(m.converged());
        for gi in gradient(&m, &rows, &y, 10.0) {
            assert!(gi.abs() < 1e-6, "gradient {gi}");
        }
    }

    #[test]
    fn a_looser_tolerance_stops_earlier_at_that_gradient() {
        // 600 rows, 30 correlated features, a noisy linear signal: many iterations to 1e-10.
        let mut state = 0x9E37_79B9_7F4A_7C15u64;
        let mut uniform = || {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            (state >> 11) as f64 / (1u64 << 53) as f64 - 0.5
        };
        let (n, dim) = (600, 30);
        let mut rows = Vec::new();
        let mut y = Vec::new();
        for _ in 0..n {
            let common = uniform();
            let x: Vec<f64> = (0..dim).map(|_| 3.0 * common + uniform()).collect();
            let signal: f64 = x.iter().take(5).sum::<f64>() - x[5] * 2.0 + 2.0 * uniform();
            y.push(signal > 0.0);
            rows.push(dense_row(&x));
        }
        let c = 1.0;
        let exact = Logistic::fit(&rows, dim, &y, c).unwrap();
        let loose = Logistic::fit_with_tolerance(&rows, dim, &y, c, 1e-4).unwrap();
        assert!(exact.converged() && loose.converged());
        assert!(
            loose.iterations() < exact.iterations(),
            "{} vs {} iterations",
            loose.iterations(),
            exact.iterations()
        );
        let g_max = gradient(&loose, &rows, &y, c)
            .into_iter()
            .fold(0.0f64, |m, g| m.max(g.abs()));
        assert!(g_max <= 1e-4 * c * n as f64, "gradient {g_max}");
        for row in &rows {
            let gap = (exact.predict_proba(row) - loose.predict_proba(row)).abs();
            assert!(gap < 0.02, "probabilities differ by {gap}");
        }
        for tol in [0.0, -1.0, f64::NAN, f64::INFINITY] {
            assert!(matches!(
                Logistic::fit_with_tolerance(&rows, dim, &y, c, tol),
                Err(LearnError::InvalidParameter { name: "tol", .. })
            ));
        }
    }

    #[test]
    fn errors() {
        let (rows, y) = tiny();
        assert!(matches!(
            Logistic::fit(&rows, 2, &y, 0.0),
            Err(LearnError::InvalidParameter { .. })
        ));
        assert!(matches!(
            Logistic::fit(&rows, 2, &y, f64::NAN),
            Err(LearnError::InvalidParameter { .. })
        ));
        assert!(matches!(
            Logistic::fit(&rows, 2, &y[..3], 1.0),
            Err(LearnError::LengthMismatch { .. })
        ));
        assert_eq!(
            Logistic::fit(&rows, 1, &y, 1.0),
            Err(LearnError::OutOfRange {
                what: "feature index",
                index: 1,
                bound: 1
            })
        );
        assert_eq!(
            Logistic::fit(&rows, 2, &[true; 8], 1.0),
            Err(LearnError::MissingClass { class: false })
        );
        assert_eq!(
            Logistic::fit(&[], 2, &[], 1.0),
            Err(LearnError::MissingClass { class: true })
        );
        let mut bad = rows.clone();
        bad[5] = dense_row(&[f64::NAN, 1.0]);
        assert_eq!(
            Logistic::fit(&bad, 2, &y, 1.0),
            Err(LearnError::NonFinite {
                what: "feature value",
                row: 5
            })
        );
    }

    #[test]
    fn predict_ignores_unknown_indices() {
        let (rows, y) = tiny();
        let m = Logistic::fit(&rows, 2, &y, 1.0).unwrap();
        let p = m.predict_proba(&[(0, 1.0), (99, 5.0)]);
        assert_close(p, m.predict_proba(&[(0, 1.0)]), 0.0);
        assert!(m.predict_proba(&[(0, f64::NAN)]).is_nan());
    }

    #[test]
    fn row_helpers() {
        assert_eq!(dense_row(&[0.0, 2.0, 0.0, -1.0]), vec![(1, 2.0), (3, -1.0)]);
        let mut row = dense_row(&[1.0]);
        push_dense(&mut row, 1, &[0.0, 3.0]);
        push_sparse(&mut row, 3, &[(0, 4.0), (5, 5.0)]);
        assert_eq!(row, vec![(0, 1.0), (2, 3.0), (3, 4.0), (8, 5.0)]);
    }

    #[test]
    fn numerically_safe_helpers() {
        assert_close(softplus(1000.0), 1000.0, 0.0);
        assert_close(softplus(-1000.0), 0.0, 1e-300);
        assert_close(sigmoid(-1000.0), 0.0, 1e-300);
        assert_close(sigmoid(1000.0), 1.0, 0.0);
        assert_close(softplus(0.0), 2f64.ln(), 1e-15);
    }
}
