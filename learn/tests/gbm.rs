//! The tree model against the alternatives a reader would check it with: logistic regression on
//! an interaction, itself under a repeated fit, its own log-odds, a signal carried by missing
//! values, and scikit-learn's `HistGradientBoostingClassifier` on the same rows.

use std::fmt::Write as _;
use std::process::Command;

use learn::{dense_row, roc_auc, Attribution, EarlyStopping, Gbm, GbmParams, Logistic, SparseRow};

/// SplitMix64: test data that is the same on every machine.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    fn uniform(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }

    fn normal(&mut self) -> f64 {
        let u = self.uniform().max(1e-300);
        let v = self.uniform();
        (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()
    }
}

/// Feature columns (`columns[f][row]`) and labels.
struct Data {
    columns: Vec<Vec<f64>>,
    labels: Vec<bool>,
}

impl Data {
    fn rows(&self, range: std::ops::Range<usize>) -> Data {
        Data {
            columns: self
                .columns
                .iter()
                .map(|c| c[range.clone()].to_vec())
                .collect(),
            labels: self.labels[range].to_vec(),
        }
    }

    fn views(&self) -> Vec<&[f64]> {
        self.columns.iter().map(Vec::as_slice).collect()
    }

    fn row(&self, i: usize) -> Vec<f64> {
        self.columns.iter().map(|c| c[i]).collect()
    }

    fn len(&self) -> usize {
        self.labels.len()
    }
}

/// Label = xor of two thresholded features, 10 % of labels flipped, three noise features.
fn xor(n: usize, seed: u64) -> Data {
    let mut rng = Rng(seed);
    let mut columns: Vec<Vec<f64>> = (0..5).map(|_| Vec::with_capacity(n)).collect();
    let mut labels = Vec::with_capacity(n);
    for _ in 0..n {
        let row: Vec<f64> = (0..5).map(|_| rng.uniform() * 2.0 - 1.0).collect();
        let clean = (row[0] > 0.0) != (row[1] > 0.0);
        labels.push(clean != (rng.uniform() < 0.1));
        for (c, v) in columns.iter_mut().zip(row) {
            c.push(v);
        }
    }
    Data { columns, labels }
}

/// A tabular mix: additive and interacting signals, heavy tails, a categorical-like code and
/// missing values (some of them informative).
fn mixed(n: usize, seed: u64) -> Data {
    let mut rng = Rng(seed);
    let mut columns: Vec<Vec<f64>> = (0..8).map(|_| Vec::with_capacity(n)).collect();
    let mut labels = Vec::with_capacity(n);
    for _ in 0..n {
        let a = rng.normal();
        let b = rng.normal();
        let c = rng.normal().exp() * 10.0; // heavy tail
        let d = (rng.uniform() * 6.0).floor(); // a code 0..5
        let e = rng.normal();
        let noise1 = rng.normal();
        let noise2 = rng.uniform();
        let missing_e = rng.uniform() < 0.3;
        let z = 0.8 * a
            + 1.2 * (a * b).tanh()
            + 0.6 * (c.ln() - 2.3)
            + [0.5, -0.5, 0.0, 1.0, -1.0, 0.2][d as usize]
            + if missing_e { 0.7 } else { 0.5 * e }
            - 0.3;
        let p = 1.0 / (1.0 + (-z).exp());
        labels.push(rng.uniform() < p);
        let b_value = if rng.uniform() < 0.15 { f64::NAN } else { b };
        let row = [
            a,
            b_value,
            c,
            d,
            if missing_e { f64::NAN } else { e },
            noise1,
            noise2,
            a + 0.1 * noise1,
        ];
        for (col, v) in columns.iter_mut().zip(row) {
            col.push(v);
        }
    }
    Data { columns, labels }
}

fn gbm_auc(model: &Gbm, test: &Data) -> f64 {
    let scores = model.decision_columns(&test.views()).unwrap();
    roc_auc(&scores, &test.labels).unwrap().unwrap()
}

#[test]
fn trees_beat_logistic_regression_on_an_interaction() {
    let data = xor(4_000, 11);
    let (train, test) = (data.rows(0..3_000), data.rows(3_000..4_000));
    let model = Gbm::fit(&train.views(), &train.labels, &GbmParams::default()).unwrap();
    let trees = gbm_auc(&model, &test);

    let rows =
        |d: &Data| -> Vec<SparseRow> { (0..d.len()).map(|i| dense_row(&d.row(i))).collect() };
    let logistic = Logistic::fit(&rows(&train), 5, &train.labels, 1.0).unwrap();
    let linear: Vec<f64> = rows(&test).iter().map(|r| logistic.decision(r)).collect();
    let linear = roc_auc(&linear, &test.labels).unwrap().unwrap();
    println!("xor: trees ROC-AUC {trees:.4}, logistic {linear:.4}");
    // The Bayes ROC-AUC here is 0.9 (10 % flips); a linear model cannot see an xor.
    assert!(trees > 0.85, "trees {trees}");
    assert!(trees - linear > 0.25, "trees {trees} vs logistic {linear}");
}

#[test]
fn a_seeded_fit_is_bit_identical_on_any_number_of_threads() {
    let data = mixed(3_000, 5);
    let params = GbmParams {
        early_stopping: Some(EarlyStopping::default()),
        seed: 42,
        ..GbmParams::default()
    };
    let fit = || Gbm::fit(&data.views(), &data.labels, &params).unwrap();
    let first = fit();
    let second = fit();
    let single = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .unwrap()
        .install(fit);
    assert_eq!(first, second);
    assert_eq!(first, single);
    for i in (0..data.len()).step_by(37) {
        let row = data.row(i);
        for other in [&second, &single] {
            assert_eq!(
                first.decision(&row).unwrap().to_bits(),
                other.decision(&row).unwrap().to_bits()
            );
            let (a, b) = (
                first.contributions(&row).unwrap(),
                other.contributions(&row).unwrap(),
            );
            assert_eq!(a.bias.to_bits(), b.bias.to_bits());
            let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
            assert_eq!(bits(&a.values), bits(&b.values));
        }
    }
    // The seed draws the validation rows, so another seed gives another model.
    let reseeded = Gbm::fit(
        &data.views(),
        &data.labels,
        &GbmParams {
            seed: 43,
            ..params.clone()
        },
    )
    .unwrap();
    assert_ne!(first, reseeded);
}

#[test]
fn fitting_on_a_fold_by_row_indices_equals_fitting_on_a_copy_of_it() {
    let data = mixed(2_000, 13);
    let rows: Vec<usize> = (0..data.len()).filter(|i| i % 5 != 2).collect();
    let copy = Data {
        columns: data
            .columns
            .iter()
            .map(|c| rows.iter().map(|&i| c[i]).collect())
            .collect(),
        labels: rows.iter().map(|&i| data.labels[i]).collect(),
    };
    for early_stopping in [None, Some(EarlyStopping::default())] {
        let params = GbmParams {
            early_stopping,
            max_iter: 30,
            ..GbmParams::default()
        };
        let by_rows = Gbm::fit_rows(&data.views(), &data.labels, &rows, &params).unwrap();
        let copied = Gbm::fit(&copy.views(), &copy.labels, &params).unwrap();
        assert_eq!(by_rows, copied);
    }
    let beyond = [0, data.len()];
    assert!(Gbm::fit_rows(&data.views(), &data.labels, &beyond, &GbmParams::default()).is_err());
}

#[test]
fn contributions_add_up_to_the_log_odds() {
    let data = mixed(3_000, 9);
    let model = Gbm::fit(&data.views(), &data.labels, &GbmParams::default()).unwrap();
    let mut largest_gap = 0f64;
    let mut missing_rows = 0;
    let mut spread = vec![0.0; data.columns.len()];
    for i in 0..data.len() {
        let row = data.row(i);
        missing_rows += usize::from(row.iter().any(|v| v.is_nan()));
        let c = model.contributions(&row).unwrap();
        for (s, v) in spread.iter_mut().zip(&c.values) {
            *s += v.abs();
        }
        let log_odds = model.decision(&row).unwrap();
        let total = c.bias + c.values.iter().sum::<f64>();
        largest_gap = largest_gap.max((total - log_odds).abs());
        let p = model.predict_proba(&row).unwrap();
        assert!((p - 1.0 / (1.0 + (-log_odds).exp())).abs() < 1e-12);
    }
    assert!(missing_rows > 1_000, "the data has missing values");
    assert!(
        largest_gap < 1e-9,
        "contributions miss the log-odds by {largest_gap}"
    );
    // The batch form gives the same values, and Saabas attributions add up too.
    let views = data.views();
    let head: Vec<&[f64]> = views.iter().map(|c| &c[..200]).collect();
    let shap = model
        .contributions_columns(&head, Attribution::TreeShap)
        .unwrap();
    let saabas = model
        .contributions_columns(&head, Attribution::Saabas)
        .unwrap();
    for (i, (a, b)) in shap.iter().zip(&saabas).enumerate() {
        assert_eq!(a, &model.contributions(&data.row(i)).unwrap());
        let log_odds = model.decision(&data.row(i)).unwrap();
        assert!((b.bias + b.values.iter().sum::<f64>() - log_odds).abs() < 1e-9);
    }
    // The bias is the mean log-odds over the training rows.
    let scores = model.decision_columns(&data.views()).unwrap();
    let mean = scores.iter().sum::<f64>() / scores.len() as f64;
    assert!((model.contributions(&data.row(0)).unwrap().bias - mean).abs() < 1e-9);
    // Pure noise features get next to nothing, the strongest feature the most.
    assert!(spread[0] + spread[7] > 3.0 * spread[6], "{spread:?}");
}

#[test]
fn a_feature_whose_missingness_is_the_signal_is_used() {
    let mut rng = Rng(3);
    let n = 4_000;
    let mut columns: Vec<Vec<f64>> = (0..3).map(|_| Vec::with_capacity(n)).collect();
    let mut labels = Vec::with_capacity(n);
    for _ in 0..n {
        let won = rng.uniform() < 0.4;
        // Won leads mostly lack the value (e.g. a field only filled in for lost ones); where it
        // is present it says nothing.
        let missing = rng.uniform() < if won { 0.8 } else { 0.2 };
        columns[0].push(if missing { f64::NAN } else { rng.uniform() });
        columns[1].push(rng.uniform());
        columns[2].push(rng.normal());
        labels.push(won);
    }
    let data = Data { columns, labels };
    let (train, test) = (data.rows(0..3_000), data.rows(3_000..n));
    let model = Gbm::fit(&train.views(), &train.labels, &GbmParams::default()).unwrap();
    let gains = model.feature_gains();
    // Noise features pick up some gain from fitting noise late in boosting; the signal dominates.
    assert!(gains[0] > 2.0 * gains[1].max(gains[2]), "gains {gains:?}");
    let auc = gbm_auc(&model, &test);
    // Bayes ROC-AUC: 0.8 (missing: 80 % vs 20 %).
    assert!(auc > 0.75, "ROC-AUC {auc}");
    let mut on_missing = Vec::new();
    let mut on_present = Vec::new();
    for i in 0..test.len() {
        let row = test.row(i);
        let c = model.contributions(&row).unwrap().values[0];
        if row[0].is_nan() {
            on_missing.push(c);
        } else {
            on_present.push(c);
        }
    }
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
    assert!(
        mean(&on_missing) > 0.5,
        "missing pushes toward won: {}",
        mean(&on_missing)
    );
    assert!(
        mean(&on_present) < -0.5,
        "present pushes toward lost: {}",
        mean(&on_present)
    );
}

#[test]
fn agrees_with_scikit_learn_hist_gradient_boosting() {
    let Some(python) = std::env::var_os("LEADCRAWL_PYTHON") else {
        println!("skipped: LEADCRAWL_PYTHON is not set (a Python with scikit-learn is needed)");
        return;
    };
    let data = mixed(8_000, 21);
    let (train, test) = (data.rows(0..5_000), data.rows(5_000..8_000));
    let ours = gbm_auc(
        &Gbm::fit(&train.views(), &train.labels, &GbmParams::default()).unwrap(),
        &test,
    );

    let dir = std::env::temp_dir().join(format!("learn-gbm-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let write = |name: &str, d: &Data| {
        let mut csv = String::new();
        for i in 0..d.len() {
            for v in d.row(i) {
                // An empty field is NaN to pandas; `{:?}` writes every f64 exactly.
                if !v.is_nan() {
                    write!(csv, "{v:?}").unwrap();
                }
                csv.push(',');
            }
            csv.push_str(if d.labels[i] { "1\n" } else { "0\n" });
        }
        let path = dir.join(name);
        std::fs::write(&path, csv).unwrap();
        path
    };
    let (train_csv, test_csv) = (write("train.csv", &train), write("test.csv", &test));
    let script = r#"
import sys
import pandas as pd
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.metrics import roc_auc_score
train = pd.read_csv(sys.argv[1], header=None).to_numpy(dtype=float)
test = pd.read_csv(sys.argv[2], header=None).to_numpy(dtype=float)
model = HistGradientBoostingClassifier(early_stopping=False, random_state=0)
model.fit(train[:, :-1], train[:, -1])
print(roc_auc_score(test[:, -1], model.decision_function(test[:, :-1])))
"#;
    let out = Command::new(python)
        .arg("-c")
        .arg(script)
        .arg(&train_csv)
        .arg(&test_csv)
        .output()
        .unwrap();
    std::fs::remove_dir_all(&dir).ok();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let theirs: f64 = String::from_utf8_lossy(&out.stdout).trim().parse().unwrap();
    println!("held-out ROC-AUC: learn::Gbm {ours:.4}, scikit-learn {theirs:.4}");
    assert!(
        (ours - theirs).abs() < 0.02,
        "ours {ours} vs scikit-learn {theirs}"
    );
    assert!(ours > 0.75, "the data has a learnable signal: {ours}");
}
