//! `learn`: honest baselines for won/lost lead scoring.
//!
//! This crate knows nothing about leadcrawl's stages, config files or Parquet. It holds small,
//! exact, deterministic building blocks for evaluating how well a lead's features separate won
//! from lost leads:
//!
//! - [`folds`]: seeded stratified k-fold assignment ([`stratified_kfold`], [`train_test`]);
//! - [`cv`]: out-of-fold scoring that lets the caller fit everything (centroids, scalers,
//!   vocabularies) on the training folds only ([`out_of_fold`], [`per_fold_metrics`]), and the
//!   cross-validation of every model with its shuffled-label control ([`cross_validate`]);
//! - [`design`]: a lead set's plain columns ([`Dataset`]) and the fitted transforms that make
//!   them feature rows ([`Design`]: embedding, standardised numbers with missing indicators,
//!   one-hot categories, TF-IDF);
//! - [`models`]: the model list ([`MODELS`]), one fold's fit-and-score, and a model refitted on
//!   every labelled lead that gives probabilities and drivers ([`Trained`]);
//! - [`leakage`]: one column's own out-of-fold ROC-AUC and outcome words, the leakage guard's
//!   measures ([`leakage::single_column_auc`], [`leakage::outcome_words`]);
//! - [`drift`]: the won centroid's movement across time windows, against chance
//!   ([`drift::won_centroid_drift`]);
//! - [`pu`]: companies like the clients — positive-unlabelled learning (Elkan–Noto) against a
//!   company universe, won/lost when there are enough lost leads, and the streaming top-k,
//!   exact percentile ranks and segment baseline that rank a universe ([`pu::ProspectModel`]);
//! - [`neighbours`]: the won leads nearest to a lead by cosine ([`Neighbours`]);
//! - [`float_text`]: serde for floats a saved model may hold that JSON cannot write (`+∞`);
//! - [`metrics`]: accuracy, precision, recall, F1, ROC-AUC, average precision, confusion matrix,
//!   lift and captured share, ROC and cumulative-gains curves ([`evaluate`]);
//! - [`gbm`]: histogram gradient-boosted trees (log-loss) with native missing values and exact
//!   TreeSHAP contributions in log-odds ([`Gbm`]);
//! - [`trees`]: the tree model's columns (tabular blocks, stacked out-of-fold text and
//!   embedding scores) and its fit ([`trees::FittedTrees`]);
//! - [`calibration`]: Platt scaling fitted out of fold, Brier score, log-loss, expected
//!   calibration error and reliability bins, bootstrap ROC-AUC intervals;
//! - [`centroid`]: won-centroid vs lost-centroid cosine scoring on embeddings ([`Centroid`]);
//! - [`logistic`]: L2-regularised logistic regression on sparse rows, scikit-learn compatible
//!   ([`Logistic`]);
//! - [`tfidf`]: a scikit-learn compatible word 1–2-gram TF-IDF vectoriser ([`Tfidf`]);
//! - [`scale`]: standardisation of numeric columns and one-hot encoding of categories
//!   ([`Standardizer`], [`OneHot`]).
//!
//! Label convention everywhere: `true` = won (the positive class), `false` = lost.
//!
//! Nothing here panics on data: empty inputs, a single class, mismatched lengths and non-finite
//! values are either given a documented meaning or reported as a [`LearnError`].

pub mod calibration;
pub mod centroid;
pub mod cv;
pub mod design;
pub mod drift;
pub mod float_text;
pub mod folds;
pub mod gbm;
pub mod leakage;
pub mod logistic;
pub mod metrics;
pub mod models;
pub mod neighbours;
pub mod pu;
pub mod scale;
pub mod tfidf;
pub mod time;
pub mod trees;

pub use centroid::Centroid;
pub use cv::{cross_validate, out_of_fold, per_fold_metrics, CrossValidation, Folds, ModelOutcome};
pub use design::{
    signed_log1p, Block, BlockNames, Column, Dataset, DatasetColumns, Design, Inputs, LinearScorer,
};
pub use folds::{shuffled, stratified_kfold, train_test, DEFAULT_K};
pub use gbm::{Attribution, Contributions, EarlyStopping, Gbm, GbmParams};
pub use logistic::{dense_row, push_dense, push_sparse, Logistic, SparseRow};
pub use metrics::{
    average_precision, captured_at, evaluate, gains_curve, lift_at, roc_auc, roc_curve, Metrics,
};
pub use models::{model, DesignedLogistic, Kind, ModelSpec, Params, Prediction, Trained, MODELS};
pub use neighbours::Neighbours;
pub use scale::{OneHot, Standardizer};
pub use tfidf::Tfidf;

/// The one error type of this crate.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum LearnError {
    /// Cross-validation needs at least two folds.
    #[error("k must be at least 2 (got {k})")]
    InvalidK { k: usize },
    /// A class has fewer rows than there are folds, so some fold would lack it.
    #[error("the {} class has {count} rows, fewer than k = {k} folds", class_name(.class))]
    TooFewPerClass { class: bool, count: usize, k: usize },
    /// Two inputs that must be parallel have different lengths.
    #[error("{what}: expected length {expected}, got {got}")]
    LengthMismatch {
        what: &'static str,
        expected: usize,
        got: usize,
    },
    /// An input that must not be empty is empty.
    #[error("{what} is empty")]
    Empty { what: &'static str },
    /// A model needs both classes in its training rows and one is missing.
    #[error("no {} rows to train on (both classes are needed)", class_name(.class))]
    MissingClass { class: bool },
    /// A NaN (or, where stated, infinite) value where a number is required.
    #[error("{what}: non-finite value at row {row}")]
    NonFinite { what: &'static str, row: usize },
    /// An index (feature index, fold index) beyond its bound.
    #[error("{what}: index {index} out of range (must be < {bound})")]
    OutOfRange {
        what: &'static str,
        index: usize,
        bound: usize,
    },
    /// A parameter outside its domain (e.g. `C <= 0`, a percentage of 0).
    #[error("invalid parameter {name} = {value}")]
    InvalidParameter { name: &'static str, value: f64 },
    /// A vector that must be normalisable has zero length or a wrong dimension.
    #[error("vector at row {row}: {reason}")]
    InvalidVector { row: usize, reason: &'static str },
    /// The caller asked to stop (a signal): nothing of the cross-validation is kept.
    #[error("cancelled")]
    Cancelled,
    /// A model of the list failed (on the real labels, or on the shuffled ones of the control).
    #[error("{}model {model}: {source}", if *.control { "control of " } else { "" })]
    Model {
        model: &'static str,
        control: bool,
        source: Box<LearnError>,
    },
}

impl LearnError {
    /// Whether the error is (or wraps) a cancellation rather than a failure.
    pub fn is_cancelled(&self) -> bool {
        match self {
            LearnError::Cancelled => true,
            LearnError::Model { source, .. } => source.is_cancelled(),
            _ => false,
        }
    }
}

fn class_name(class: &bool) -> &'static str {
    if *class {
        "won"
    } else {
        "lost"
    }
}
