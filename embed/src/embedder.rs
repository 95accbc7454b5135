//! Texts to vectors: a loaded model, length-sorted batches, bounded memory.
//!
//! Texts are sorted by token count before batching, so that a batch pads to similar lengths
//! (padding to the longest text of a batch is most of the cost with mixed lengths), and embedded in
//! groups of [`EmbedOptions::group_size`]: `fastembed` keeps every batch's hidden states until
//! one call returns, so one call over 20,000 texts would hold them all. Vectors come back in
//! input order.

use std::path::Path;

use fastembed::{InitOptionsUserDefined, TextEmbedding, UserDefinedEmbeddingModel};

use crate::model::ModelDir;
use crate::runtime;
use crate::{EmbedError, Result};

/// How to run the model.
#[derive(Debug, Clone, Copy)]
pub struct EmbedOptions {
    /// ONNX Runtime intra-op threads; `None` uses every core.
    pub threads: Option<usize>,
    /// Texts per inference batch.
    pub batch_size: usize,
    /// Texts per `fastembed` call: bounds the memory held at once.
    pub group_size: usize,
}

impl Default for EmbedOptions {
    fn default() -> Self {
        EmbedOptions {
            threads: None,
            batch_size: 32,
            // fastembed keeps every batch's hidden states until a call returns and runs batches
            // one after another anyway: a group of one batch costs nothing and bounds memory.
            group_size: 32,
        }
    }
}

/// A loaded model.
pub struct Embedder {
    inner: TextEmbedding,
    /// The model's tokenizer without truncation or padding: counts what a text really costs.
    counter: tokenizers::Tokenizer,
    pub model: ModelDir,
    options: EmbedOptions,
    dimension: usize,
}

impl Embedder {
    /// Loads `model` on the ONNX Runtime library at `onnxruntime`.
    pub fn load(model: ModelDir, onnxruntime: &Path, options: EmbedOptions) -> Result<Embedder> {
        let environment = runtime::environment(onnxruntime)?;
        let onnx_path = model.onnx_path();
        let model_err = |reason: String| EmbedError::Model {
            path: onnx_path.clone(),
            reason,
        };
        let onnx = std::fs::read(model.onnx_path()).map_err(|e| model_err(e.to_string()))?;
        let user = UserDefinedEmbeddingModel::new(onnx, model.tokenizer_files()?)
            .with_pooling(model.pooling.clone());
        let mut init = InitOptionsUserDefined::new()
            .with_environment(environment)
            .with_max_length(model.max_length);
        if let Some(t) = options.threads {
            init = init.with_intra_threads(t.max(1));
        }
        let inner = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            TextEmbedding::try_new_from_user_defined(user, init)
        }))
        .map_err(|_| model_err("loading the model panicked".into()))?
        .map_err(|e| model_err(format!("not a usable ONNX model: {e}")))?;
        let mut counter = inner.tokenizer.clone();
        counter
            .with_truncation(None)
            .map_err(|e| model_err(format!("tokenizer: {e}")))?;
        counter.with_padding(None);
        let mut embedder = Embedder {
            inner,
            counter,
            model,
            options,
            dimension: 0,
        };
        // One tiny inference: checks the graph's inputs and outputs and learns the dimension.
        let probe = embedder
            .embed_group(&["probe"])
            .map_err(|e| model_err(format!("the model does not run: {e}")))?;
        embedder.dimension = probe.first().map_or(0, Vec::len);
        if let Some(d) = embedder.model.dimension {
            if d != embedder.dimension {
                return Err(model_err(format!(
                    "1_Pooling/config.json says {d} dimensions, the model outputs {}",
                    embedder.dimension
                )));
            }
        }
        Ok(embedder)
    }

    pub fn dimension(&self) -> usize {
        self.dimension
    }

    /// Tokens of `text`, special tokens included, without truncation (a text longer than
    /// [`ModelDir::max_length`] is cut when embedded: chunk it first).
    pub fn count_tokens(&self, text: &str) -> usize {
        self.counter
            .encode(text, true)
            .map(|e| e.get_ids().len())
            .unwrap_or(0)
    }

    /// Vectors for `texts`, in input order, L2-normalised (fastembed normalises after pooling).
    pub fn embed(&mut self, texts: &[&str]) -> Result<Vec<Vec<f32>>> {
        let tokens: Vec<usize> = texts.iter().map(|t| self.count_tokens(t)).collect();
        self.embed_counted(texts, &tokens)
    }

    /// [`Embedder::embed`] for texts whose token counts ([`Embedder::count_tokens`]) the caller
    /// already has (the chunker counts every chunk): they are not tokenized once more to sort.
    pub fn embed_counted(&mut self, texts: &[&str], tokens: &[usize]) -> Result<Vec<Vec<f32>>> {
        // Sorted by token count (byte length is a poor proxy: on site-farm chunks it left 18 %
        // more padding), so that each batch pads to nearly its own length.
        let tokens = |i: usize| tokens.get(i).copied().unwrap_or(0);
        let mut order: Vec<usize> = (0..texts.len()).collect();
        order.sort_by_key(|&i| (tokens(i), texts[i].len()));
        let mut out: Vec<Vec<f32>> = vec![Vec::new(); texts.len()];
        for group in order.chunks(self.options.group_size.max(1)) {
            let batch: Vec<&str> = group.iter().map(|&i| texts[i]).collect();
            for (&i, v) in group.iter().zip(self.embed_group(&batch)?) {
                out[i] = v;
            }
        }
        Ok(out)
    }

    fn embed_group(&mut self, texts: &[&str]) -> Result<Vec<Vec<f32>>> {
        self.inner
            .embed(texts, Some(self.options.batch_size.max(1)))
            .map_err(|e| EmbedError::Inference(e.to_string()))
    }
}

/// Cosine similarity of two vectors (0 when either is zero).
pub fn cosine(a: &[f32], b: &[f32]) -> f32 {
    let dot: f32 = a.iter().zip(b).map(|(x, y)| x * y).sum();
    let na: f32 = a.iter().map(|x| x * x).sum::<f32>().sqrt();
    let nb: f32 = b.iter().map(|x| x * x).sum::<f32>().sqrt();
    if na == 0.0 || nb == 0.0 {
        0.0
    } else {
        dot / (na * nb)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runtime::discover;
    use std::path::PathBuf;

    /// The model and runtime installed by `./dev.sh` (tests fail, loudly, without them).
    fn installed() -> (PathBuf, PathBuf) {
        let paths = discover();
        match (paths.model_dir, paths.onnxruntime) {
            (Some(m), Some(o)) => (m, o),
            _ => {
                panic!("no embedding model set up: run ./dev.sh test (it installs and exports it)")
            }
        }
    }

    const SENTENCES: [&str; 3] = [
        "The weather is lovely today.",
        "It's so sunny outside!",
        "He drove to the stadium.",
    ];
    /// Published by sentence-transformers for all-MiniLM-L6-v2: (0,1), (0,2), (1,2).
    const PUBLISHED: [f32; 3] = [0.6660, 0.1046, 0.1411];

    fn cosines(e: &mut Embedder) -> [f32; 3] {
        let v = e.embed(&SENTENCES).unwrap();
        [
            cosine(&v[0], &v[1]),
            cosine(&v[0], &v[2]),
            cosine(&v[1], &v[2]),
        ]
    }

    #[test]
    fn reproduces_the_published_cosines_and_cls_pooling_would_not() {
        let (model_dir, ort) = installed();
        let model = ModelDir::open(&model_dir).unwrap();
        assert_eq!(model.max_length, 256, "from sentence_bert_config.json");
        assert!(matches!(model.pooling, fastembed::Pooling::Mean));
        let mut e = Embedder::load(model.clone(), &ort, EmbedOptions::default()).unwrap();
        assert_eq!(e.dimension(), 384);
        let got = cosines(&mut e);
        for (g, p) in got.iter().zip(PUBLISHED) {
            assert!(
                (g - p).abs() < 1e-3,
                "cosines {got:?}, published {PUBLISHED:?}"
            );
        }
        // Order and batching do not change vectors: one text alone gives the same vector.
        let alone = e.embed(&[SENTENCES[2]]).unwrap();
        let together = e.embed(&SENTENCES).unwrap();
        assert!(cosine(&alone[0], &together[2]) > 0.99999);

        let mut cls = model;
        cls.pooling = fastembed::Pooling::Cls;
        let mut e = Embedder::load(cls, &ort, EmbedOptions::default()).unwrap();
        let got = cosines(&mut e);
        assert!(
            got.iter().zip(PUBLISHED).any(|(g, p)| (g - p).abs() > 0.05),
            "CLS pooling must not pass the check: {got:?}"
        );
    }

    #[test]
    fn token_counts_and_truncation_come_from_the_model() {
        let (model_dir, ort) = installed();
        let mut e = Embedder::load(
            ModelDir::open(&model_dir).unwrap(),
            &ort,
            EmbedOptions::default(),
        )
        .unwrap();
        // [CLS] the weather is lovely today . [SEP]
        assert_eq!(e.count_tokens(SENTENCES[0]), 8);
        let long = "word ".repeat(1000);
        assert_eq!(e.count_tokens(&long), 1002, "counted without truncation");
        // Chunked with the model's own counts, every chunk fits the model.
        let text = "Pumps move water through pipes, valves and filters in every plant we build. "
            .repeat(60);
        let max = e.model.max_length;
        let chunks =
            crate::chunk::chunk(&text, Some("Acme | Products"), max, &|t| e.count_tokens(t));
        assert!(chunks.len() >= 4, "{}", chunks.len());
        for c in &chunks {
            assert!(c.tokens <= max, "{} > {max}", c.tokens);
            assert!(c.text.starts_with("Acme | Products\n"));
        }
        let v = e.embed(&[long.as_str(), ""]).unwrap();
        assert_eq!(v[0].len(), 384);
        assert_eq!(v[1].len(), 384);
    }

    #[test]
    fn broken_setups_are_errors_naming_the_path() {
        let (model_dir, ort) = installed();
        let e = ModelDir::open(Path::new("/nonexistent/model")).unwrap_err();
        assert!(matches!(e, EmbedError::ModelDir { .. }));
        assert!(e.to_string().contains("/nonexistent/model"), "{e}");
        let e = runtime::environment(Path::new("/nonexistent/libonnxruntime.so")).unwrap_err();
        assert!(e.to_string().contains("no such file"), "{e}");

        // A corrupt ONNX file next to good tokenizer files.
        let dir = std::env::temp_dir().join(format!("leadcrawl-corrupt-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("1_Pooling")).unwrap();
        for f in crate::model::TOKENIZER_FILES
            .iter()
            .chain(&["1_Pooling/config.json", "sentence_bert_config.json"])
        {
            std::fs::copy(model_dir.join(f), dir.join(f)).unwrap();
        }
        std::fs::write(dir.join("model.onnx"), b"this is not a protobuf").unwrap();
        let model = ModelDir::open(&dir).unwrap();
        let e = match Embedder::load(model, &ort, EmbedOptions::default()) {
            Err(e) => e,
            Ok(_) => panic!("a corrupt model loaded"),
        };
        assert!(matches!(e, EmbedError::Model { .. }), "{e}");
        assert!(e.to_string().contains("model.onnx"), "{e}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
