//! Texts to vectors: a loaded model, length-sorted batches, bounded memory.
//!
//! Texts are sorted by token count before batching, so that a batch pads to similar lengths
//! (padding to the longest text of a batch is most of the cost with mixed lengths); each batch is
//! tokenized, run and pooled before the next, so memory holds one batch's hidden states at a
//! time. Vectors come back in input order.
//!
//! The ONNX Runtime session is built here, not by a wrapper, for two settings: every graph
//! optimisation on (`ORT_ENABLE_ALL`: fused GELU, skip-layer-norm, and for int8
//! `DynamicQuantizeMatMul` / `MatMulIntegerToFloat`), and ONNX Runtime's memory pattern off. The
//! pattern plans one block per input shape and keeps it; with length-sorted batches nearly every
//! batch has a new shape, and the planned blocks took the int8 model to a peak of 930 MiB on
//! 32 × 256-token batches, against 520 MiB without (fp32: 690 against 450), at no measured cost
//! in speed.
//!
//! [`EmbedOptions::sessions`] > 1 loads the model that many times and runs consecutive batches on
//! them at once, each with [`EmbedOptions::threads`] intra-op threads ("a session per core").
//!
//! With [`Precision::Int8`], activations are quantised per batch at run time (one scale per
//! tensor), so a text's vector depends a little on the texts batched with it (cosine ≥ 0.99 to
//! itself alone, where fp32 gives 0.99999): the same text may get a slightly different vector in
//! another run; the vector cache keeps the first.

use std::path::Path;

use ort::ep::ExecutionProviderDispatch;
use ort::session::builder::GraphOptimizationLevel;
use ort::session::Session;
use ort::value::Tensor;

use crate::model::{ModelDir, Pooling};
use crate::runtime;
use crate::{Device, EmbedError, Precision, Result};

/// How to run the model.
#[derive(Debug, Clone, Copy)]
pub struct EmbedOptions {
    /// ONNX Runtime intra-op threads per session; `None` lets ONNX Runtime use every core.
    pub threads: Option<usize>,
    /// Texts per inference batch.
    pub batch_size: usize,
    /// Sessions run at once on consecutive batches (each with `threads` threads).
    pub sessions: usize,
    /// `model.onnx` or the folder's accepted `model.int8.onnx`.
    pub precision: Precision,
    pub device: Device,
}

impl Default for EmbedOptions {
    fn default() -> Self {
        EmbedOptions {
            threads: None,
            batch_size: 32,
            sessions: 1,
            precision: Precision::Fp32,
            device: Device::Cpu,
        }
    }
}

/// A loaded model.
pub struct Embedder {
    sessions: Vec<Session>,
    /// Truncates at the model's length and pads a batch to its longest text.
    tokenizer: tokenizers::Tokenizer,
    /// The model's tokenizer without truncation or padding: counts what a text really costs.
    counter: tokenizers::Tokenizer,
    /// The graph's output of token vectors, and whether it takes `token_type_ids`.
    output: String,
    token_type_ids: bool,
    pub model: ModelDir,
    options: EmbedOptions,
    dimension: usize,
    /// Names the vectors this graph makes (fp32 and int8 differ): [`ModelDir::variant`].
    model_id: String,
}

impl Embedder {
    /// Loads `model` on the ONNX Runtime library at `onnxruntime`.
    pub fn load(model: ModelDir, onnxruntime: &Path, options: EmbedOptions) -> Result<Embedder> {
        let (onnx_path, model_id) = model.variant(options.precision)?;
        let environment = runtime::environment(onnxruntime)?;
        let model_err = |reason: String| EmbedError::Model {
            path: onnx_path.clone(),
            reason,
        };
        let onnx = std::fs::read(&onnx_path).map_err(|e| model_err(e.to_string()))?;
        let providers = match options.device {
            Device::Cpu => Vec::new(),
            Device::Cuda => vec![cuda(onnxruntime)?],
        };
        let mut sessions = Vec::new();
        for _ in 0..options.sessions.max(1) {
            // A foreign library may panic through ort on a malformed graph: an error, not a crash.
            let session = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                session(&environment, &onnx, options.threads, &providers)
            }))
            .map_err(|_| model_err("loading the model panicked".into()))?
            .map_err(|e| model_err(format!("not a usable ONNX model: {e}")))?;
            sessions.push(session);
        }
        drop(onnx);
        let first = &sessions[0];
        let token_type_ids = first.inputs().iter().any(|i| i.name() == "token_type_ids");
        for needed in ["input_ids", "attention_mask"] {
            if !first.inputs().iter().any(|i| i.name() == needed) {
                return Err(model_err(format!("the graph has no `{needed}` input")));
            }
        }
        let output = first
            .outputs()
            .iter()
            .map(|o| o.name().to_owned())
            .find(|n| n == "last_hidden_state")
            .or_else(|| first.outputs().first().map(|o| o.name().to_owned()))
            .ok_or_else(|| model_err("the graph has no output".into()))?;
        let tokenizer = model.tokenizer()?;
        let mut counter = tokenizer.clone();
        counter
            .with_truncation(None)
            .map_err(|e| model_err(format!("tokenizer: {e}")))?;
        counter.with_padding(None);
        let mut embedder = Embedder {
            sessions,
            tokenizer,
            counter,
            output,
            token_type_ids,
            model,
            options,
            dimension: 0,
            model_id,
        };
        // One tiny inference: checks the graph's inputs and outputs and learns the dimension.
        let probe = embedder
            .embed_counted(&["probe"], &[3])
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

    /// The id of the vectors this embedder makes: the model file's, so fp32 and int8 differ.
    pub fn model_id(&self) -> &str {
        &self.model_id
    }

    pub fn precision(&self) -> Precision {
        self.options.precision
    }

    /// Tokens of `text`, special tokens included, without truncation (a text longer than
    /// [`ModelDir::max_length`] is cut when embedded: chunk it first).
    pub fn count_tokens(&self, text: &str) -> usize {
        self.counter
            .encode(text, true)
            .map(|e| e.get_ids().len())
            .unwrap_or(0)
    }

    /// Vectors for `texts`, in input order, L2-normalised.
    pub fn embed(&mut self, texts: &[&str]) -> Result<Vec<Vec<f32>>> {
        let tokens: Vec<usize> = texts.iter().map(|t| self.count_tokens(t)).collect();
        self.embed_counted(texts, &tokens)
    }

    /// [`Embedder::embed`] for texts whose token counts ([`Embedder::count_tokens`]) the caller
    /// already has (the chunker counts every chunk): they are not tokenized once more to sort.
    pub fn embed_counted(&mut self, texts: &[&str], tokens: &[usize]) -> Result<Vec<Vec<f32>>> {
        // Sorted by token count (byte length is a poor proxy: on site-farm chunks it left 18 %
        // more padding), so that each batch pads to nearly its own length.
        let count = |i: usize| tokens.get(i).copied().unwrap_or(0);
        let mut order: Vec<usize> = (0..texts.len()).collect();
        order.sort_by_key(|&i| (count(i), texts[i].len()));
        let batches: Vec<&[usize]> = order.chunks(self.options.batch_size.max(1)).collect();
        let n = self.sessions.len().min(batches.len()).max(1);
        let job = Batcher {
            tokenizer: &self.tokenizer,
            output: &self.output,
            token_type_ids: self.token_type_ids,
            pooling: self.model.pooling,
        };
        let mut out: Vec<Vec<f32>> = vec![Vec::new(); texts.len()];
        if n == 1 {
            for batch in &batches {
                let vectors = job.run(&mut self.sessions[0], texts, batch)?;
                for (&i, v) in batch.iter().zip(vectors) {
                    out[i] = v;
                }
            }
            return Ok(out);
        }
        // Session k takes batches k, k + n, …: neighbours in token order cost alike.
        let done = std::thread::scope(|scope| {
            let running: Vec<_> = self.sessions[..n]
                .iter_mut()
                .enumerate()
                .map(|(k, session)| {
                    let (job, batches) = (&job, &batches);
                    scope.spawn(move || -> Result<Vec<(usize, Vec<f32>)>> {
                        let mut mine = Vec::new();
                        for batch in batches.iter().skip(k).step_by(n) {
                            let vectors = job.run(session, texts, batch)?;
                            mine.extend(batch.iter().copied().zip(vectors));
                        }
                        Ok(mine)
                    })
                })
                .collect();
            running
                .into_iter()
                .map(|h| {
                    h.join().unwrap_or_else(|_| {
                        Err(EmbedError::Inference("an embedding thread panicked".into()))
                    })
                })
                .collect::<Result<Vec<_>>>()
        })?;
        for (i, v) in done.into_iter().flatten() {
            out[i] = v;
        }
        Ok(out)
    }
}

/// What running one batch needs besides its session (shared by the sessions' threads).
struct Batcher<'a> {
    tokenizer: &'a tokenizers::Tokenizer,
    output: &'a str,
    token_type_ids: bool,
    pooling: Pooling,
}

impl Batcher<'_> {
    /// Vectors of `texts[i]` for `i` in `batch`, in batch order: tokenized, run, pooled over the
    /// text's own tokens and L2-normalised.
    fn run(&self, session: &mut Session, texts: &[&str], batch: &[usize]) -> Result<Vec<Vec<f32>>> {
        let fail = |what: &str, e: String| EmbedError::Inference(format!("{what}: {e}"));
        let inputs: Vec<&str> = batch.iter().map(|&i| texts[i]).collect();
        let encodings = self
            .tokenizer
            .encode_batch(inputs, true)
            .map_err(|e| fail("tokenizing", e.to_string()))?;
        let rows = encodings.len();
        let len = encodings.first().map_or(0, |e| e.len());
        let mut ids = Vec::with_capacity(rows * len);
        let mut mask = Vec::with_capacity(rows * len);
        let mut types = Vec::with_capacity(rows * len);
        for e in &encodings {
            ids.extend(e.get_ids().iter().map(|&x| i64::from(x)));
            mask.extend(e.get_attention_mask().iter().map(|&x| i64::from(x)));
            types.extend(e.get_type_ids().iter().map(|&x| i64::from(x)));
        }
        let tensor = |v: Vec<i64>| {
            Tensor::from_array(([rows, len], v)).map_err(|e| fail("input", e.to_string()))
        };
        let mut feed = ort::inputs![
            "input_ids" => tensor(ids)?,
            "attention_mask" => tensor(mask.clone())?,
        ];
        if self.token_type_ids {
            feed.push(("token_type_ids".into(), tensor(types)?.into()));
        }
        let outputs = session
            .run(feed)
            .map_err(|e| fail("running the model", e.to_string()))?;
        let value = outputs
            .get(self.output)
            .ok_or_else(|| fail("output", format!("no `{}`", self.output)))?;
        let (shape, data) = value
            .try_extract_tensor::<f32>()
            .map_err(|e| fail("output", e.to_string()))?;
        let mut vectors = Vec::with_capacity(rows);
        match **shape {
            // Token vectors [rows, len, dim]: pooled here.
            [r, l, dim] if r as usize == rows && l as usize == len => {
                let dim = dim as usize;
                for row in 0..rows {
                    let tokens = &data[row * len * dim..(row + 1) * len * dim];
                    let mut v = vec![0f32; dim];
                    match self.pooling {
                        Pooling::Cls => v.copy_from_slice(&tokens[..dim]),
                        Pooling::Mean => {
                            let m = &mask[row * len..(row + 1) * len];
                            let mut n = 0f32;
                            for (t, _) in m.iter().enumerate().filter(|(_, &x)| x != 0) {
                                for (acc, x) in v.iter_mut().zip(&tokens[t * dim..(t + 1) * dim]) {
                                    *acc += x;
                                }
                                n += 1.0;
                            }
                            let n = n.max(1.0);
                            v.iter_mut().for_each(|x| *x /= n);
                        }
                    }
                    vectors.push(normalized(v));
                }
            }
            // Already pooled by the graph: [rows, dim].
            [r, dim] if r as usize == rows => {
                let dim = dim as usize;
                for row in 0..rows {
                    vectors.push(normalized(data[row * dim..(row + 1) * dim].to_vec()));
                }
            }
            _ => {
                return Err(fail(
                    "output",
                    format!(
                        "shape {:?}, expected [{rows}, {len}, dim] or [{rows}, dim]",
                        &**shape
                    ),
                ))
            }
        }
        Ok(vectors)
    }
}

/// `v / (|v| + 1e-12)`: unit length, and a zero vector stays zero.
fn normalized(mut v: Vec<f32>) -> Vec<f32> {
    let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    v.iter_mut().for_each(|x| *x /= norm + 1e-12);
    v
}

/// A session on `onnx` with every graph optimisation, ONNX Runtime's memory pattern off (see
/// the module comment), one inter-op thread, and `providers` (which must register, or fail).
fn session(
    environment: &ort::environment::Environment,
    onnx: &[u8],
    threads: Option<usize>,
    providers: &[ExecutionProviderDispatch],
) -> std::result::Result<Session, String> {
    let s = |e: ort::Error<ort::session::builder::SessionBuilder>| e.to_string();
    let mut builder = Session::builder(environment)
        .map_err(|e| e.to_string())?
        .with_execution_providers(providers)
        .map_err(s)?
        .with_optimization_level(GraphOptimizationLevel::All)
        .map_err(s)?
        .with_memory_pattern(false)
        .map_err(s)?
        .with_inter_threads(1)
        .map_err(s)?;
    if let Some(t) = threads {
        builder = builder.with_intra_threads(t.max(1)).map_err(s)?;
    }
    builder.commit_from_memory(onnx).map_err(|e| e.to_string())
}

/// ONNX Runtime's CUDA execution provider, registered so that a failure is an error (ONNX
/// Runtime would otherwise fall back to the CPU and say so only in its log). The CPU-only wheel
/// is told apart before registering, for a clearer message.
fn cuda(onnxruntime: &Path) -> Result<ort::ep::ExecutionProviderDispatch> {
    use ort::ep::ExecutionProvider;
    let err = |reason: String| EmbedError::Device {
        path: onnxruntime.to_path_buf(),
        reason,
    };
    match ort::ep::CUDA::is_available() {
        Ok(true) => Ok(ort::ep::CUDA::default().build().error_on_failure()),
        Ok(false) => Err(err(
            "this library has no CUDA execution provider (it is a CPU-only build: the `onnxruntime` wheel)".into(),
        )),
        Err(e) => Err(err(format!(
            "asking it for its execution providers failed: {e}"
        ))),
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
        assert!(matches!(model.pooling, crate::model::Pooling::Mean));
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
        cls.pooling = crate::model::Pooling::Cls;
        let mut e = Embedder::load(cls, &ort, EmbedOptions::default()).unwrap();
        let got = cosines(&mut e);
        assert!(
            got.iter().zip(PUBLISHED).any(|(g, p)| (g - p).abs() > 0.05),
            "CLS pooling must not pass the check: {got:?}"
        );
    }

    #[test]
    fn sessions_run_batches_at_once_and_keep_input_order() {
        let (model_dir, ort) = installed();
        let model = ModelDir::open(&model_dir).unwrap();
        let texts = check_texts();
        let refs: Vec<&str> = texts.iter().take(40).map(String::as_str).collect();
        let options = EmbedOptions {
            threads: Some(1),
            batch_size: 4,
            ..EmbedOptions::default()
        };
        let mut one = Embedder::load(model.clone(), &ort, options).unwrap();
        let two_sessions = EmbedOptions {
            sessions: 2,
            ..options
        };
        let mut two = Embedder::load(model, &ort, two_sessions).unwrap();
        assert_eq!(two.sessions.len(), 2);
        let a = one.embed(&refs).unwrap();
        let b = two.embed(&refs).unwrap();
        assert_eq!(a.len(), refs.len());
        for (i, (x, y)) in a.iter().zip(&b).enumerate() {
            assert!(cosine(x, y) > 0.99999, "text {i}: {}", cosine(x, y));
        }
        // Each vector is its own text's: the texts differ, and so do neighbours' vectors.
        assert!(cosine(&b[0], &b[1]) < 0.99);
        // Fewer batches than sessions, and no text at all.
        assert_eq!(two.embed(&refs[..1]).unwrap().len(), 1);
        assert!(two.embed(&[]).unwrap().is_empty());
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

    /// The fixed texts the setup checks the int8 variant on (real company pages).
    fn check_texts() -> Vec<String> {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("export/check_texts.jsonl");
        std::fs::read_to_string(&path)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }

    #[test]
    fn int8_vectors_keep_their_direction_on_real_company_texts() {
        let (model_dir, ort) = installed();
        let model = ModelDir::open(&model_dir).unwrap();
        let int8 = match &model.int8 {
            Ok(v) => v.clone(),
            Err(why) => panic!("no accepted int8 variant in {}: {why}; run ./dev.sh test (it runs embed/export/quantize_int8.py)", model_dir.display()),
        };
        assert_eq!(model.default_precision(), Precision::Int8);
        assert!(int8.min_cosine >= 0.97 && int8.texts >= 200, "{int8:?}");
        let texts = check_texts();
        assert!(texts.len() >= 200, "{}", texts.len());
        let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
        let mut fp32 = Embedder::load(model.clone(), &ort, EmbedOptions::default()).unwrap();
        let int8_options = EmbedOptions {
            precision: Precision::Int8,
            ..EmbedOptions::default()
        };
        let mut q = Embedder::load(model.clone(), &ort, int8_options).unwrap();
        assert_eq!(q.precision(), Precision::Int8);
        assert_ne!(
            q.model_id(),
            fp32.model_id(),
            "int8 vectors are cached apart"
        );
        assert_eq!(fp32.model_id(), model.id);
        let a = fp32.embed(&refs).unwrap();
        let b = q.embed(&refs).unwrap();
        let cos: Vec<f32> = a.iter().zip(&b).map(|(x, y)| cosine(x, y)).collect();
        let min = cos.iter().copied().fold(f32::INFINITY, f32::min);
        let mean = cos.iter().sum::<f32>() / cos.len() as f32;
        println!(
            "int8 vs fp32 over {} texts: min cosine {min:.4}, mean {mean:.4}",
            cos.len()
        );
        assert!(min >= 0.97, "min cosine {min}");
        assert!(mean >= 0.99, "mean cosine {mean}");
        // Not the fp32 graph under another name: quantisation moves every vector a little.
        assert!(mean < 0.99999, "mean cosine {mean}");
        // The published pairs still come out in the same order of similarity.
        let got = cosines(&mut q);
        assert!(got[0] > got[2] && got[2] > got[1], "{got:?}");
        for (g, p) in got.iter().zip(PUBLISHED) {
            assert!(
                (g - p).abs() < 0.05,
                "int8 {got:?}, published {PUBLISHED:?}"
            );
        }
    }

    #[test]
    fn an_unaccepted_or_swapped_int8_file_is_never_run() {
        let (model_dir, ort) = installed();
        let dir = std::env::temp_dir().join(format!("leadcrawl-int8-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("1_Pooling")).unwrap();
        for f in crate::model::TOKENIZER_FILES
            .iter()
            .chain(&["1_Pooling/config.json", "sentence_bert_config.json"])
        {
            std::fs::copy(model_dir.join(f), dir.join(f)).unwrap();
        }
        std::os::unix::fs::symlink(model_dir.join("model.onnx"), dir.join("model.onnx")).unwrap();
        let int8_options = EmbedOptions {
            precision: Precision::Int8,
            ..EmbedOptions::default()
        };
        let no_int8 = |why: &str| {
            let m = ModelDir::open(&dir).unwrap();
            assert_eq!(m.default_precision(), Precision::Fp32);
            let reason = m.int8.clone().unwrap_err();
            assert!(reason.contains(why), "{reason}");
            let e = match Embedder::load(m, &ort, int8_options) {
                Err(e) => e,
                Ok(_) => panic!("int8 loaded without an accepted variant"),
            };
            assert!(matches!(e, EmbedError::NoInt8 { .. }), "{e}");
            let msg = e.to_string();
            assert!(
                msg.contains("quantize_int8.py") && msg.contains("fp32"),
                "{msg}"
            );
        };
        // No variant at all.
        no_int8("no readable quantize.json");
        // A record that the variant failed its check.
        let mut record: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(model_dir.join("quantize.json")).unwrap(),
        )
        .unwrap();
        record["accepted"] = false.into();
        record["check"]["min_cosine"] = 0.91.into();
        std::fs::write(dir.join("quantize.json"), record.to_string()).unwrap();
        no_int8("failed its check (min cosine to fp32 0.9100 < 0.97)");
        // An accepted record, but the file is not the one it accepted.
        record["accepted"] = true.into();
        std::fs::write(dir.join("quantize.json"), record.to_string()).unwrap();
        std::fs::write(dir.join("model.int8.onnx"), b"not the accepted file").unwrap();
        no_int8("SHA-256 differs");
        // A record pointing outside the folder.
        record["file"] = "../model.int8.onnx".into();
        std::fs::write(dir.join("quantize.json"), record.to_string()).unwrap();
        no_int8("not a file of the folder");
        // The real file and its record: accepted.
        record["file"] = "model.int8.onnx".into();
        std::fs::write(dir.join("quantize.json"), record.to_string()).unwrap();
        std::fs::remove_file(dir.join("model.int8.onnx")).unwrap();
        std::os::unix::fs::symlink(
            model_dir.join("model.int8.onnx"),
            dir.join("model.int8.onnx"),
        )
        .unwrap();
        let m = ModelDir::open(&dir).unwrap();
        assert_eq!(m.default_precision(), Precision::Int8, "{:?}", m.int8);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn cuda_on_a_cpu_only_library_is_a_clear_error() {
        let (model_dir, ort) = installed();
        let options = EmbedOptions {
            device: Device::Cuda,
            ..EmbedOptions::default()
        };
        let e = match Embedder::load(ModelDir::open(&model_dir).unwrap(), &ort, options) {
            Err(e) => e,
            Ok(_) => panic!("the CPU-only onnxruntime wheel loaded a CUDA session"),
        };
        assert!(matches!(e, EmbedError::Device { .. }), "{e}");
        let msg = e.to_string();
        for part in [
            "no CUDA execution provider",
            "onnxruntime-gpu",
            "embed.device",
            "libonnxruntime",
        ] {
            assert!(msg.contains(part), "{part:?} missing from: {msg}");
        }
        // The same library still serves the CPU afterwards.
        let mut e = Embedder::load(
            ModelDir::open(&model_dir).unwrap(),
            &ort,
            EmbedOptions::default(),
        )
        .unwrap();
        assert_eq!(e.embed(&["still works"]).unwrap()[0].len(), 384);
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
