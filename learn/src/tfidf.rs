//! A scikit-learn compatible TF-IDF vectoriser for word 1–2-grams.
//!
//! Equivalent to
//! `TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, lowercase=True,
//! token_pattern=r"(?u)\b\w\w+\b", smooth_idf=True, norm="l2", min_df=min_df)`:
//!
//! - text is lower-cased with Unicode full case mapping (`str::to_lowercase`, like Python's
//!   `str.lower`); accents are kept (`strip_accents=None`);
//! - tokens are maximal runs of two or more word characters — exactly what `\b\w\w+\b` matches.
//!   A word character is `char::is_alphanumeric()` or `_`. That is Python's `\w` except for
//!   characters with the Unicode `Other_Alphabetic` property (e.g. Indic vowel signs, circled
//!   letters), which Python's `re` treats as separators and this keeps inside words; Latin,
//!   Greek, Cyrillic, Arabic, Hebrew and CJK text tokenises identically;
//! - features are the unigrams followed by the bigrams (two consecutive tokens joined by one
//!   space), the vocabulary is every feature occurring in at least `min_df` of the fitted
//!   documents (`min_df` 0 behaves as 1), sorted by code point as scikit-learn does;
//! - `idf(t) = ln((1 + n) / (1 + df(t))) + 1`, `tf = 1 + ln(count)`, rows L2-normalised (an
//!   all-zero row stays empty).
//!
//! Unlike scikit-learn, an empty vocabulary (no tokens, or everything pruned by `min_df`) is not
//! an error: every transformed row is then empty.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use crate::logistic::SparseRow;

/// A fitted vocabulary with inverse document frequencies.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(from = "SavedTfidf", into = "SavedTfidf")]
pub struct Tfidf {
    index: HashMap<String, u32>,
    names: Vec<String>,
    idf: Vec<f64>,
}

/// What a saved model keeps of a [`Tfidf`]: the terms in index order and their idf (the
/// term → index map is rebuilt, so the file does not depend on a hash map's order).
#[derive(Serialize, Deserialize)]
struct SavedTfidf {
    names: Vec<String>,
    idf: Vec<f64>,
}

impl From<SavedTfidf> for Tfidf {
    fn from(s: SavedTfidf) -> Tfidf {
        let index = s
            .names
            .iter()
            .enumerate()
            .map(|(i, name)| (name.clone(), i as u32))
            .collect();
        Tfidf {
            index,
            names: s.names,
            idf: s.idf,
        }
    }
}

impl From<Tfidf> for SavedTfidf {
    fn from(t: Tfidf) -> SavedTfidf {
        SavedTfidf {
            names: t.names,
            idf: t.idf,
        }
    }
}

fn is_word_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// The lower-cased tokens of `doc` (runs of ≥ 2 word characters).
pub fn tokens(doc: &str) -> Vec<String> {
    let lower = doc.to_lowercase();
    lower
        .split(|c: char| !is_word_char(c))
        .filter(|t| t.chars().nth(1).is_some())
        .map(str::to_owned)
        .collect()
}

/// The features of `doc`: its unigrams, then its bigrams (scikit-learn's analyzer order).
pub fn ngrams(doc: &str) -> Vec<String> {
    let unigrams = tokens(doc);
    let mut features = unigrams.clone();
    features.extend(unigrams.windows(2).map(|w| format!("{} {}", w[0], w[1])));
    features
}

impl Tfidf {
    /// Learns the vocabulary and idf from `docs` (training rows only).
    pub fn fit(docs: &[&str], min_df: usize) -> Tfidf {
        let mut df: HashMap<String, usize> = HashMap::new();
        for doc in docs {
            let mut features = ngrams(doc);
            features.sort_unstable();
            features.dedup();
            for feature in features {
                *df.entry(feature).or_insert(0) += 1;
            }
        }
        let min_df = min_df.max(1);
        let mut kept: Vec<(String, usize)> = df.into_iter().filter(|&(_, c)| c >= min_df).collect();
        kept.sort_unstable();
        let n = docs.len() as f64;
        let idf = kept
            .iter()
            .map(|&(_, c)| ((1.0 + n) / (1.0 + c as f64)).ln() + 1.0)
            .collect();
        let names: Vec<String> = kept.into_iter().map(|(name, _)| name).collect();
        let index = names
            .iter()
            .enumerate()
            .map(|(i, name)| (name.clone(), i as u32))
            .collect();
        Tfidf { index, names, idf }
    }

    /// The TF-IDF row of `doc`, sorted by feature index; unknown features are ignored.
    pub fn transform(&self, doc: &str) -> SparseRow {
        let mut counts: HashMap<u32, u32> = HashMap::new();
        for feature in ngrams(doc) {
            if let Some(&i) = self.index.get(&feature) {
                *counts.entry(i).or_insert(0) += 1;
            }
        }
        let mut row: SparseRow = counts
            .into_iter()
            .map(|(i, c)| {
                let idf = self.idf.get(i as usize).copied().unwrap_or(0.0);
                (i, (1.0 + f64::from(c).ln()) * idf)
            })
            .collect();
        row.sort_unstable_by_key(|&(i, _)| i);
        let norm = row.iter().map(|&(_, v)| v * v).sum::<f64>().sqrt();
        if norm > 0.0 {
            for (_, v) in &mut row {
                *v /= norm;
            }
        }
        row
    }

    /// Number of features (the dimension of transformed rows).
    pub fn vocabulary_len(&self) -> usize {
        self.names.len()
    }

    /// The n-gram of feature `idx`, if any.
    pub fn feature_name(&self, idx: usize) -> Option<&str> {
        self.names.get(idx).map(String::as_str)
    }

    /// The feature index of `ngram` (already lower-cased), if in the vocabulary.
    pub fn feature_index(&self, ngram: &str) -> Option<u32> {
        self.index.get(ngram).copied()
    }

    /// Inverse document frequency per feature.
    pub fn idf(&self) -> &[f64] {
        &self.idf
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_close(a: f64, b: f64, tol: f64) {
        assert!((a - b).abs() <= tol, "{a} != {b} (tol {tol})");
    }

    #[test]
    fn tokenisation_matches_token_pattern() {
        assert_eq!(
            tokens("Hello, WORLD! a b_c x2 l'été Ünïcode—naïve 42"),
            vec![
                "hello",
                "world",
                "b_c",
                "x2",
                "été",
                "ünïcode",
                "naïve",
                "42"
            ]
        );
        assert_eq!(
            ngrams("Big data, big DATA"),
            vec!["big", "data", "big", "data", "big data", "data big", "big data"]
        );
        assert!(tokens("a b c ! ?").is_empty());
        assert!(ngrams("").is_empty());
    }

    #[test]
    fn matches_sklearn_on_three_docs() {
        // docs = ["The cat sat on the mat.", "The dog sat; the dog barked!", "Cats and dogs."]
        // v = sklearn.feature_extraction.text.TfidfVectorizer(ngram_range=(1, 2),
        //       sublinear_tf=True, lowercase=True, token_pattern=r"(?u)\b\w\w+\b",
        //       smooth_idf=True, norm="l2", min_df=1)
        // X = v.fit_transform(docs); v.get_feature_names_out(); X.toarray()   (scikit-learn 1.9.1)
        let docs = [
            "The cat sat on the mat.",
            "The dog sat; the dog barked!",
            "Cats and dogs.",
        ];
        let v = Tfidf::fit(&docs, 1);
        let expected_names = [
            "and",
            "and dogs",
            "barked",
            "cat",
            "cat sat",
            "cats",
            "cats and",
            "dog",
            "dog barked",
            "dog sat",
            "dogs",
            "mat",
            "on",
            "on the",
            "sat",
            "sat on",
            "sat the",
            "the",
            "the cat",
            "the dog",
            "the mat",
        ];
        let expected: [[f64; 21]; 3] = [
            [
                0.0,
                0.0,
                0.0,
                0.31255304428206604,
                0.31255304428206604,
                0.0,
                0.0,
                0.0,
                0.0,
                0.0,
                0.0,
                0.31255304428206604,
                0.31255304428206604,
                0.31255304428206604,
                0.237704646372882,
                0.31255304428206604,
                0.0,
                0.402468951812244,
                0.31255304428206604,
                0.0,
                0.31255304428206604,
            ],
            [
                0.0,
                0.0,
                0.2890364231912856,
                0.0,
                0.0,
                0.0,
                0.0,
                0.4893812050054564,
                0.2890364231912856,
                0.2890364231912856,
                0.0,
                0.0,
                0.0,
                0.0,
                0.2198196498817767,
                0.0,
                0.2890364231912856,
                0.3721870204290046,
                0.0,
                0.4893812050054564,
                0.0,
            ],
            [
                0.4472135954999579,
                0.4472135954999579,
                0.0,
                0.0,
                0.0,
                0.4472135954999579,
                0.4472135954999579,
                0.0,
                0.0,
                0.0,
                0.4472135954999579,
                0.0,
                0.0,
                0.0,
                0.0,
                0.0,
                0.0,
                0.0,
                0.0,
                0.0,
                0.0,
            ],
        ];
        let names: Vec<&str> = (0..v.vocabulary_len())
            .map(|i| v.feature_name(i).unwrap())
            .collect();
        assert_eq!(names, expected_names);
        for (d, doc) in docs.iter().enumerate() {
            let mut dense = vec![0.0; v.vocabulary_len()];
            for (i, x) in v.transform(doc) {
                dense[i as usize] = x;
            }
            for (j, (&a, &b)) in dense.iter().zip(&expected[d]).enumerate() {
                assert!((a - b).abs() < 1e-12, "doc {d} feature {j}: {a} != {b}");
            }
        }
    }

    #[test]
    fn min_df_prunes_and_idf_formula() {
        let docs = ["alpha beta", "alpha gamma", "alpha beta delta"];
        let v = Tfidf::fit(&docs, 2);
        let names: Vec<&str> = (0..v.vocabulary_len())
            .map(|i| v.feature_name(i).unwrap())
            .collect();
        assert_eq!(names, vec!["alpha", "alpha beta", "beta"]);
        // idf(alpha) = ln(4/4) + 1 = 1; idf(beta) = ln(4/3) + 1.
        assert_close(v.idf()[0], 1.0, 1e-15);
        assert_close(v.idf()[2], (4.0f64 / 3.0).ln() + 1.0, 1e-15);
        // Unknown words are ignored; a document of unknown words is an empty row.
        assert!(v.transform("zeta eta").is_empty());
        let row = v.transform("ALPHA alpha zeta");
        assert_eq!(row.len(), 1);
        assert_close(row[0].1, 1.0, 1e-15);
    }

    #[test]
    fn sublinear_tf_and_norm() {
        let v = Tfidf::fit(&["aa bb", "aa cc"], 1);
        // Features: aa, aa bb, aa cc, bb, cc. "aa aa aa bb": aa ×3, bb ×1, "aa aa" unknown,
        // "aa bb" ×1.
        let row = v.transform("aa aa aa bb");
        let idf_aa = 1.0; // ln(3/3) + 1
        let idf_1 = (3.0f64 / 2.0).ln() + 1.0;
        let raw = [(1.0 + 3f64.ln()) * idf_aa, idf_1, idf_1];
        let norm = raw.iter().map(|x| x * x).sum::<f64>().sqrt();
        let idx: Vec<u32> = row.iter().map(|&(i, _)| i).collect();
        assert_eq!(idx, vec![0, 1, 3]);
        for (k, &(_, x)) in row.iter().enumerate() {
            assert_close(x, raw[k] / norm, 1e-15);
        }
        assert_eq!(v.feature_index("aa bb"), Some(1));
    }

    #[test]
    fn empty_inputs() {
        let v = Tfidf::fit(&[], 1);
        assert_eq!(v.vocabulary_len(), 0);
        assert!(v.transform("anything here").is_empty());
        assert_eq!(v.feature_name(0), None);
        let v = Tfidf::fit(&["", "a ! ."], 0);
        assert_eq!(v.vocabulary_len(), 0);
        let v = Tfidf::fit(&["one two"], 5);
        assert_eq!(v.vocabulary_len(), 0);
    }
}
