//! Design matrices: from a lead's plain columns to the sparse feature row a model reads.
//!
//! A [`Dataset`] holds the inputs of a set of leads column-wise, one entry per lead in every
//! vector: the won/lost label, the text embedding, the firmographic and web-signal blocks
//! (numbers and categories) and the lead's text. [`Inputs`] says which of them a model uses. A
//! [`Design`] is fitted on training rows only (the standardiser's means and scales, the one-hot
//! vocabularies, the TF-IDF vocabulary), so that a held-out lead is transformed with what the
//! training leads alone taught, and then turns any row into a [`SparseRow`]:
//!
//! `[embedding…, no-embedding indicator][numbers (standardised, mean-imputed)][missing
//! indicators][one-hot categories][TF-IDF terms]`, blocks in the order firmographics, web,
//! attributes.
//!
//! The caller decides which columns exist and how a raw number is read (e.g. [`signed_log1p`]
//! for heavy-tailed amounts); this module does not know where the columns come from.

use serde::{Deserialize, Serialize};

use crate::{push_sparse, LearnError, Logistic, OneHot, SparseRow, Standardizer, Tfidf};

/// Signed `ln(1 + |x|)`: heavy-tailed amounts (revenue, word counts) on a scale a linear
/// model can weigh, keeping the sign of losses.
pub fn signed_log1p(x: f64) -> f64 {
    x.signum() * x.abs().ln_1p()
}

/// One named column: a value or nothing per lead.
#[derive(Debug, Clone, PartialEq)]
pub struct Column<T> {
    pub name: String,
    pub values: Vec<Option<T>>,
}

impl<T> Column<T> {
    pub fn new(name: impl Into<String>, values: Vec<Option<T>>) -> Column<T> {
        Column {
            name: name.into(),
            values,
        }
    }
}

/// A group of columns from one source (the registry's firmographics, the website's signals).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Block {
    /// Numbers, already on the scale the model should see (standardised at fit time).
    pub numeric: Vec<Column<f64>>,
    /// Categories, one-hot encoded with the training rows' vocabulary.
    pub categorical: Vec<Column<String>>,
}

impl Block {
    /// No column at all.
    pub fn is_empty(&self) -> bool {
        self.numeric.is_empty() && self.categorical.is_empty()
    }
}

/// The model inputs of a set of leads; every vector has one entry per lead (row).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Dataset {
    /// Won (`true`) or lost; only the rows a caller trains on need a meaningful label.
    pub labels: Vec<bool>,
    /// The lead's text embedding; `None` for a lead without text.
    pub embedding: Vec<Option<Vec<f32>>>,
    pub firmographics: Block,
    pub web: Block,
    /// The lead list's own columns (a CRM's lead source, visits, dates as numbers…).
    pub attributes: Block,
    /// The lead's own text, for TF-IDF (may be empty strings when no model reads it).
    pub text: Vec<String>,
}

impl Dataset {
    /// The number of leads.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// Checks that every column has one entry per lead and that the embeddings share one
    /// dimension, so that fitting and scoring can index rows without panicking.
    ///
    /// Errors: [`LearnError::LengthMismatch`] for a column of another length (named by its
    /// kind), [`LearnError::InvalidVector`] for an embedding of another dimension than the first.
    pub fn check(&self) -> Result<(), LearnError> {
        let n = self.len();
        let same = |what: &'static str, got: usize| {
            if got == n {
                Ok(())
            } else {
                Err(LearnError::LengthMismatch {
                    what,
                    expected: n,
                    got,
                })
            }
        };
        same("embedding vs labels", self.embedding.len())?;
        same("text vs labels", self.text.len())?;
        for block in [&self.firmographics, &self.web, &self.attributes] {
            for c in &block.numeric {
                same("numeric column vs labels", c.values.len())?;
            }
            for c in &block.categorical {
                same("categorical column vs labels", c.values.len())?;
            }
        }
        let dim = self.embedding_dim();
        if let Some(row) = self.embedding.iter().position(|v| {
            v.as_ref()
                .is_some_and(|v| v.len() != dim || v.iter().any(|x| !x.is_finite()))
        }) {
            return Err(LearnError::InvalidVector {
                row,
                reason: "embedding of another dimension than the first, or non-finite",
            });
        }
        Ok(())
    }

    /// The embedding's dimension (that of the first lead with one; 0 when none has one).
    pub fn embedding_dim(&self) -> usize {
        self.embedding
            .iter()
            .flatten()
            .map(Vec::len)
            .next()
            .unwrap_or(0)
    }

    /// Some lead has an embedding.
    pub fn has_embedding(&self) -> bool {
        self.embedding.iter().any(Option::is_some)
    }
}

/// The names of a block's columns, in order.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BlockNames {
    pub numeric: Vec<String>,
    pub categorical: Vec<String>,
}

/// The shape of a [`Dataset`]: its columns by block, and the embedding's dimension. A saved model
/// keeps the shape it was fitted on, since a [`Design`] reads columns by position.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DatasetColumns {
    pub embedding_dim: usize,
    pub firmographics: BlockNames,
    pub web: BlockNames,
    pub attributes: BlockNames,
}

impl Block {
    fn names(&self) -> BlockNames {
        BlockNames {
            numeric: self.numeric.iter().map(|c| c.name.clone()).collect(),
            categorical: self.categorical.iter().map(|c| c.name.clone()).collect(),
        }
    }

    /// This block's columns in the order of `names`; a column it lacks is all missing and named
    /// in `absent`.
    fn aligned(&self, names: &BlockNames, rows: usize, absent: &mut Vec<String>) -> Block {
        let numeric = names
            .numeric
            .iter()
            .map(|n| match self.numeric.iter().find(|c| &c.name == n) {
                Some(c) => c.clone(),
                None => {
                    absent.push(n.clone());
                    Column::new(n.clone(), vec![None; rows])
                }
            })
            .collect();
        let categorical = names
            .categorical
            .iter()
            .map(|n| match self.categorical.iter().find(|c| &c.name == n) {
                Some(c) => c.clone(),
                None => {
                    absent.push(n.clone());
                    Column::new(n.clone(), vec![None; rows])
                }
            })
            .collect();
        Block {
            numeric,
            categorical,
        }
    }
}

impl Dataset {
    /// The dataset's shape.
    pub fn columns(&self) -> DatasetColumns {
        DatasetColumns {
            embedding_dim: self.embedding_dim(),
            firmographics: self.firmographics.names(),
            web: self.web.names(),
            attributes: self.attributes.names(),
        }
    }

    /// The same leads with the columns of `shape`, in its order, so that a model fitted on a
    /// dataset of that shape reads the right column at each position: a column this dataset
    /// lacks is all missing (its name is returned), one the shape lacks is left out.
    ///
    /// Errors: [`LearnError::InvalidVector`] when the embeddings have another dimension than
    /// the shape's (another embedding model: the model's weights would be meaningless).
    pub fn aligned(&self, shape: &DatasetColumns) -> Result<(Dataset, Vec<String>), LearnError> {
        let dim = self.embedding_dim();
        if dim != 0 && shape.embedding_dim != 0 && dim != shape.embedding_dim {
            return Err(LearnError::InvalidVector {
                row: self.embedding.iter().position(Option::is_some).unwrap_or(0),
                reason: "embedding of another dimension than the model was fitted on",
            });
        }
        let n = self.len();
        let mut absent = Vec::new();
        let d = Dataset {
            labels: self.labels.clone(),
            embedding: self.embedding.clone(),
            firmographics: self
                .firmographics
                .aligned(&shape.firmographics, n, &mut absent),
            web: self.web.aligned(&shape.web, n, &mut absent),
            attributes: self.attributes.aligned(&shape.attributes, n, &mut absent),
            text: self.text.clone(),
        };
        Ok((d, absent))
    }
}

/// Which inputs a model reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Inputs {
    pub embedding: bool,
    pub firmographics: bool,
    pub web: bool,
    pub attributes: bool,
    pub text: bool,
}

impl Inputs {
    /// No input (a base to switch some on).
    pub const fn none() -> Inputs {
        Inputs {
            embedding: false,
            firmographics: false,
            web: false,
            attributes: false,
            text: false,
        }
    }

    /// The selected blocks, in design order.
    fn blocks<'d>(&self, d: &'d Dataset) -> Vec<&'d Block> {
        let mut v = Vec::new();
        if self.firmographics {
            v.push(&d.firmographics);
        }
        if self.web {
            v.push(&d.web);
        }
        if self.attributes {
            v.push(&d.attributes);
        }
        v
    }
}

/// Transforms fitted on training rows: how any row of a [`Dataset`] of the same shape becomes a
/// feature row.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Design {
    inputs: Inputs,
    embedding_dim: usize,
    numeric: Vec<String>,
    scaler: Standardizer,
    onehots: Vec<(String, OneHot)>,
    tfidf: Option<Tfidf>,
    dim: usize,
}

impl Design {
    /// Fits the transforms of `inputs` on the `train` rows of `d` (TF-IDF terms must appear in
    /// at least `min_df` training documents).
    ///
    /// Errors: those of [`Dataset::check`]; [`LearnError::OutOfRange`] for a training row
    /// beyond the dataset.
    pub fn fit(
        d: &Dataset,
        train: &[usize],
        inputs: Inputs,
        min_df: usize,
    ) -> Result<Design, LearnError> {
        d.check()?;
        if let Some(&r) = train.iter().find(|&&r| r >= d.len()) {
            return Err(LearnError::OutOfRange {
                what: "training row",
                index: r,
                bound: d.len(),
            });
        }
        let blocks = inputs.blocks(d);
        let numeric: Vec<&Column<f64>> = blocks.iter().flat_map(|b| &b.numeric).collect();
        let columns: Vec<Vec<Option<f64>>> = numeric
            .iter()
            .map(|c| train.iter().map(|&r| c.values[r]).collect())
            .collect();
        let scaler = Standardizer::fit(&columns);
        let onehots: Vec<(String, OneHot)> = blocks
            .iter()
            .flat_map(|b| &b.categorical)
            .map(|c| {
                let vals: Vec<Option<&str>> =
                    train.iter().map(|&r| c.values[r].as_deref()).collect();
                (c.name.clone(), OneHot::fit(&vals))
            })
            .collect();
        let tfidf = inputs.text.then(|| {
            let docs: Vec<&str> = train.iter().map(|&r| d.text[r].as_str()).collect();
            Tfidf::fit(&docs, min_df)
        });
        let embedding_dim = d.embedding_dim();
        let mut dim = 0;
        if inputs.embedding {
            dim += embedding_dim + 1;
        }
        dim += 2 * numeric.len();
        dim += onehots.iter().map(|(_, o)| o.len()).sum::<usize>();
        dim += tfidf.as_ref().map_or(0, Tfidf::vocabulary_len);
        Ok(Design {
            inputs,
            embedding_dim,
            numeric: numeric.iter().map(|c| c.name.clone()).collect(),
            scaler,
            onehots,
            tfidf,
            dim,
        })
    }

    /// The inputs this design reads.
    pub fn inputs(&self) -> Inputs {
        self.inputs
    }

    /// The number of features of a row.
    pub fn dim(&self) -> usize {
        self.dim
    }

    /// The feature row of lead `r` of `d` (a dataset with the columns the design was fitted on).
    ///
    /// Errors: [`LearnError::OutOfRange`] for a row beyond the dataset;
    /// [`LearnError::LengthMismatch`] when `d` has other columns than the training dataset.
    pub fn row(&self, d: &Dataset, r: usize) -> Result<SparseRow, LearnError> {
        let mut row = SparseRow::new();
        self.row_into(d, r, &mut row)?;
        Ok(row)
    }

    /// [`Design::row`] written into `row` (cleared first): scoring millions of rows reuses one
    /// buffer instead of allocating a row each.
    pub fn row_into(&self, d: &Dataset, r: usize, row: &mut SparseRow) -> Result<(), LearnError> {
        row.clear();
        if r >= d.len() {
            return Err(LearnError::OutOfRange {
                what: "row",
                index: r,
                bound: d.len(),
            });
        }
        let blocks = self.inputs.blocks(d);
        let mut offset = 0u32;
        if self.inputs.embedding {
            let dim = self.embedding_dim;
            if let Some(v) = &d.embedding[r] {
                for (i, &x) in v.iter().enumerate() {
                    if x != 0.0 {
                        row.push((offset + i as u32, f64::from(x)));
                    }
                }
            }
            // A lead without text has no vector: its indicator carries that.
            if d.embedding[r].is_none() {
                row.push((offset + dim as u32, 1.0));
            }
            offset += dim as u32 + 1;
        }
        if !self.numeric.is_empty() {
            let n = self.numeric.len();
            let got = blocks.iter().map(|b| b.numeric.len()).sum::<usize>();
            if got != n || self.scaler.len() != n {
                return Err(LearnError::LengthMismatch {
                    what: "numeric columns vs the design's",
                    expected: n,
                    got,
                });
            }
            let (means, scales) = (self.scaler.means(), self.scaler.scales());
            let values = || {
                blocks
                    .iter()
                    .flat_map(|b| &b.numeric)
                    .map(|c| c.values.get(r).copied().flatten())
            };
            // Standardised (a missing value at the mean, 0), then the missing-value indicators.
            for (j, v) in values().enumerate() {
                let x = v
                    .filter(|x| x.is_finite())
                    .map_or(0.0, |x| (x - means[j]) / scales[j]);
                if x != 0.0 {
                    row.push((offset + j as u32, x));
                }
            }
            offset += n as u32;
            for (j, v) in values().enumerate() {
                if v.is_none() {
                    row.push((offset + j as u32, 1.0));
                }
            }
            offset += n as u32;
        }
        let categorical = blocks.iter().map(|b| b.categorical.len()).sum::<usize>();
        if categorical != self.onehots.len() {
            return Err(LearnError::LengthMismatch {
                what: "categorical columns vs the design's",
                expected: self.onehots.len(),
                got: categorical,
            });
        }
        let columns = blocks.iter().flat_map(|b| &b.categorical);
        for (c, (_, oh)) in columns.zip(&self.onehots) {
            let value = c.values.get(r).and_then(Option::as_deref);
            if let Some(i) = oh.index(value) {
                row.push((offset + i as u32, 1.0));
            }
            offset += oh.len() as u32;
        }
        if let Some(t) = &self.tfidf {
            let v = t.transform(&d.text[r]);
            push_sparse(row, offset, &v);
            offset += t.vocabulary_len() as u32;
        }
        debug_assert_eq!(offset as usize, self.dim);
        row.retain(|(_, v)| *v != 0.0);
        Ok(())
    }

    /// This design and `model` as a [`LinearScorer`]; `None` when the design reads an
    /// embedding or text (whose terms are not per-column values).
    pub fn linear<'a>(&'a self, model: &'a Logistic) -> Option<LinearScorer<'a>> {
        if self.inputs.embedding || self.tfidf.is_some() {
            return None;
        }
        let n = self.numeric.len();
        let mut offsets = Vec::with_capacity(self.onehots.len());
        let mut offset = 2 * n;
        for (_, oh) in &self.onehots {
            offsets.push(offset);
            offset += oh.len();
        }
        Some(LinearScorer {
            design: self,
            model,
            offsets,
        })
    }

    /// What feature `j` of a row is, for people: the embedding's dimensions are one group
    /// (`embedding`), numbers by column (`… missing` for their indicators), categories as
    /// `column=value`, TF-IDF terms as `text "term"`.
    pub fn feature_name(&self, j: usize) -> String {
        let mut j = j;
        if self.inputs.embedding {
            let dim = self.embedding_dim;
            if j < dim {
                return "embedding".into();
            }
            if j == dim {
                return "no embedding".into();
            }
            j -= dim + 1;
        }
        let k = self.numeric.len();
        if j < k {
            return self.numeric[j].clone();
        }
        if j < 2 * k {
            return format!("{} missing", self.numeric[j - k]);
        }
        j -= 2 * k;
        for (n, oh) in &self.onehots {
            if j < oh.len() {
                return format!("{n}={}", oh.names()[j]);
            }
            j -= oh.len();
        }
        match self.tfidf.as_ref().and_then(|t| t.feature_name(j)) {
            Some(term) => format!("text \"{term}\""),
            None => format!("feature {j}"),
        }
    }
}

/// A logistic regression on numbers and categories alone, scored term by term from each
/// column's value: what [`Logistic::predict_proba`] gives for [`Design::row`], bit for bit (the
/// same terms summed in the same order), without building the row. A caller that reads a
/// category by dictionary key looks each value's weight up once per dictionary
/// ([`LinearScorer::category_weight`]), not once per row.
#[derive(Debug, Clone)]
pub struct LinearScorer<'a> {
    design: &'a Design,
    model: &'a Logistic,
    /// Where each categorical column's one-hot block starts.
    offsets: Vec<usize>,
}

impl LinearScorer<'_> {
    /// The numeric columns, in the order [`LinearScorer::probability`] takes their values.
    pub fn numeric_names(&self) -> &[String] {
        &self.design.numeric
    }

    /// The categorical columns, in the order [`LinearScorer::probability`] takes their weights.
    pub fn categorical_names(&self) -> impl Iterator<Item = &str> {
        self.design.onehots.iter().map(|(n, _)| n.as_str())
    }

    /// The weight category `value` of categorical column `c` adds; `None` for a missing or
    /// unseen value (no term) or a column beyond the design's.
    pub fn category_weight(&self, c: usize, value: Option<&str>) -> Option<f64> {
        let (_, oh) = self.design.onehots.get(c)?;
        let i = oh.index(value)?;
        // `w · 1.0`, as the row's product is.
        Some(self.weight(self.offsets[c] + i) * 1.0)
    }

    fn weight(&self, j: usize) -> f64 {
        self.model.weights().get(j).copied().unwrap_or(0.0)
    }

    /// The probability of a row given its numeric values (raw, as the dataset holds them) and
    /// its categories' weights ([`LinearScorer::category_weight`]), both in the design's order;
    /// `terms` is a buffer reused between rows.
    ///
    /// Errors: [`LearnError::LengthMismatch`] for slices of another length than the design's.
    pub fn probability(
        &self,
        numeric: &[Option<f64>],
        categories: &[Option<f64>],
        terms: &mut Vec<f64>,
    ) -> Result<f64, LearnError> {
        let n = self.design.numeric.len();
        if numeric.len() != n || categories.len() != self.offsets.len() {
            return Err(LearnError::LengthMismatch {
                what: "values vs the design's columns",
                expected: n + self.offsets.len(),
                got: numeric.len() + categories.len(),
            });
        }
        terms.clear();
        let (means, scales) = (self.design.scaler.means(), self.design.scaler.scales());
        for (j, v) in numeric.iter().enumerate() {
            let x = v
                .filter(|x| x.is_finite())
                .map_or(0.0, |x| (x - means[j]) / scales[j]);
            if x != 0.0 {
                terms.push(self.weight(j) * x);
            }
        }
        for (j, v) in numeric.iter().enumerate() {
            if v.is_none() {
                terms.push(self.weight(n + j) * 1.0);
            }
        }
        terms.extend(categories.iter().flatten());
        let sum: f64 = terms.iter().sum();
        Ok(Logistic::probability_at(sum + self.model.intercept()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data() -> Dataset {
        Dataset {
            labels: vec![true, false, true, false],
            embedding: vec![
                Some(vec![1.0, 0.0]),
                None,
                Some(vec![0.5, 0.5]),
                Some(vec![0.0, 1.0]),
            ],
            firmographics: Block {
                numeric: vec![Column::new(
                    "revenue",
                    vec![Some(1.0), Some(3.0), None, None],
                )],
                categorical: vec![Column::new(
                    "nace_section",
                    vec![Some("C".into()), Some("J".into()), Some("C".into()), None],
                )],
            },
            web: Block {
                numeric: vec![Column::new("pages", vec![Some(2.0); 4])],
                categorical: vec![],
            },
            attributes: Block::default(),
            text: vec![
                "alpha beta".into(),
                "beta gamma".into(),
                "alpha".into(),
                "".into(),
            ],
        }
    }

    const ALL: Inputs = Inputs {
        embedding: true,
        firmographics: true,
        web: true,
        attributes: true,
        text: true,
    };

    #[test]
    fn the_linear_scorer_gives_the_rows_probabilities_bit_for_bit() {
        // Numbers with missing and non-finite values, categories with missing and unseen ones.
        let mut state = 7u64;
        let mut next = move || {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (state >> 33) as f64 / f64::from(1u32 << 31)
        };
        let n = 300;
        let (mut a, mut b, mut c, mut e) = (vec![], vec![], vec![], vec![]);
        let mut labels = vec![];
        for i in 0..n {
            let u = next();
            a.push((u > 0.1).then_some(10.0 * u));
            b.push(match i % 17 {
                0 => Some(f64::NAN),
                1 => None,
                _ => Some(next() - 0.5),
            });
            let levels = ["C", "J", "K", "M"];
            c.push((i % 11 != 0).then(|| levels[(next() * 4.0) as usize].to_owned()));
            e.push(Some(format!("r{}", (next() * 6.0) as usize)));
            labels.push(u + 0.3 * next() > 0.6);
        }
        let d = Dataset {
            labels: labels.clone(),
            embedding: vec![None; n],
            firmographics: Block {
                numeric: vec![Column::new("a", a), Column::new("b", b)],
                categorical: vec![Column::new("c", c)],
            },
            web: Block::default(),
            attributes: Block {
                numeric: vec![],
                categorical: vec![Column::new("e", e)],
            },
            text: vec![String::new(); n],
        };
        let inputs = Inputs {
            firmographics: true,
            attributes: true,
            ..Inputs::none()
        };
        // Trained on the first 200 rows: some of the rest carry levels the design never saw.
        let train: Vec<usize> = (0..200).collect();
        let params = crate::Params {
            c: 1.0,
            tol: 1e-8,
            min_df: 1,
            seed: 1,
        };
        let mut d_unseen = d.clone();
        d_unseen.attributes.categorical[0].values[250] = Some("never seen".into());
        let fitted = crate::DesignedLogistic::fit(&d, &labels, &train, inputs, params).unwrap();
        let lin = fitted.design.linear(&fitted.model).unwrap();
        assert_eq!(lin.numeric_names(), ["a", "b"]);
        assert_eq!(lin.categorical_names().collect::<Vec<_>>(), ["c", "e"]);
        let mut terms = Vec::new();
        for r in 0..n {
            let num: Vec<Option<f64>> = [
                &d_unseen.firmographics.numeric[0],
                &d_unseen.firmographics.numeric[1],
            ]
            .iter()
            .map(|col| col.values[r])
            .collect();
            let cats: Vec<Option<f64>> = [
                &d_unseen.firmographics.categorical[0],
                &d_unseen.attributes.categorical[0],
            ]
            .iter()
            .enumerate()
            .map(|(i, col)| lin.category_weight(i, col.values[r].as_deref()))
            .collect();
            let fast = lin.probability(&num, &cats, &mut terms).unwrap();
            let slow = fitted.score(&d_unseen, r).unwrap();
            assert_eq!(fast.to_bits(), slow.to_bits(), "row {r}: {fast} vs {slow}");
        }
        assert!(lin.category_weight(1, Some("never seen")).is_none());
        assert!(lin.category_weight(9, Some("C")).is_none());
        assert!(lin.probability(&[None], &[None, None], &mut terms).is_err());
        // A design that reads the embedding has no linear form.
        let with_embedding = Design::fit(&data(), &[0, 1, 2], ALL, 1).unwrap();
        assert!(with_embedding.linear(&fitted.model).is_none());
    }

    #[test]
    fn rows_follow_the_documented_layout_and_name_their_features() {
        let d = data();
        let design = Design::fit(&d, &[0, 1, 2], ALL, 1).unwrap();
        // 2 embedding + indicator, 2 numbers + 2 indicators, C/J one-hot, 5 uni- and bigrams.
        assert_eq!(design.dim(), 3 + 4 + 2 + 5);
        let names: Vec<String> = (0..design.dim()).map(|j| design.feature_name(j)).collect();
        assert_eq!(
            &names[..9],
            [
                "embedding",
                "embedding",
                "no embedding",
                "revenue",
                "pages",
                "revenue missing",
                "pages missing",
                "nace_section=C",
                "nace_section=J"
            ]
        );
        assert!(
            names[9..].iter().all(|n| n.starts_with("text \"")),
            "{names:?}"
        );
        // Lead 1: no embedding (indicator set), revenue 3 standardised from mean 2 and
        // population std 1, pages constant (scale 1 → 0), category J.
        let row = design.row(&d, 1).unwrap();
        assert_eq!(&row[..3], &[(2, 1.0), (3, 1.0), (8, 1.0)]);
        // Lead 3: revenue missing → mean-imputed 0 and its indicator; unseen category → none.
        let row = design.row(&d, 3).unwrap();
        assert!(row.contains(&(5, 1.0)) && !row.iter().any(|&(j, _)| j == 7 || j == 8));
    }

    #[test]
    fn bad_shapes_are_errors_not_panics() {
        let mut d = data();
        d.web.numeric[0].values.pop();
        assert!(matches!(
            Design::fit(&d, &[0, 1], ALL, 1),
            Err(LearnError::LengthMismatch { .. })
        ));
        let d = data();
        assert!(matches!(
            Design::fit(&d, &[0, 9], ALL, 1),
            Err(LearnError::OutOfRange { .. })
        ));
        let design = Design::fit(&d, &[0, 1], ALL, 1).unwrap();
        assert!(matches!(
            design.row(&d, 4),
            Err(LearnError::OutOfRange { .. })
        ));
        let mut other = data();
        other.embedding[2] = Some(vec![1.0]);
        assert!(matches!(
            other.check(),
            Err(LearnError::InvalidVector { row: 2, .. })
        ));
    }
}
