//! A model folder: the ONNX graph, its tokenizer files, and how the model wants to be used.
//!
//! Pooling and maximum sequence length come from the model's own sentence-transformers files
//! (`1_Pooling/config.json`, `sentence_bert_config.json`), never from defaults: all-MiniLM-L6-v2
//! mean-pools over 256 tokens, and CLS pooling or 512 tokens give different vectors.
//!
//! A folder may also hold `model.int8.onnx`, the int8 variant written by the setup
//! (`embed/export/quantize_int8.py`). It is usable only when the setup's `quantize.json` says it
//! passed its check against the fp32 model and names this very file (its SHA-256): a variant that
//! failed, or a file swapped or truncated since, is never run.

use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};
use tokenizers::{AddedToken, PaddingParams, PaddingStrategy, Tokenizer, TruncationParams};

use crate::{EmbedError, Precision, Result};

/// The files a model folder must hold besides `model.onnx`.
pub const TOKENIZER_FILES: [&str; 4] = [
    "tokenizer.json",
    "config.json",
    "special_tokens_map.json",
    "tokenizer_config.json",
];

/// How token vectors become one text vector (from `1_Pooling/config.json`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pooling {
    /// The mean over the text's tokens (padding left out).
    Mean,
    /// The first token's (`[CLS]`).
    Cls,
}

/// A checked model folder.
#[derive(Debug, Clone)]
pub struct ModelDir {
    pub path: PathBuf,
    pub pooling: Pooling,
    /// Tokens per text, special tokens included; longer texts are truncated by the tokenizer.
    pub max_length: usize,
    /// Vector size announced by the pooling config, if any (checked against the model's output).
    pub dimension: Option<usize>,
    /// `<folder name>-<16 hex digits of SHA-256 of model.onnx>`: names the vectors it makes.
    pub id: String,
    /// The int8 variant, or why there is no usable one.
    pub int8: std::result::Result<Int8Variant, String>,
}

/// `model.int8.onnx`, accepted by the setup's check (`quantize.json`).
#[derive(Debug, Clone)]
pub struct Int8Variant {
    pub path: PathBuf,
    /// `<folder name>-int8-<16 hex digits of its SHA-256>`: names the vectors it makes.
    pub id: String,
    /// The check's figures: cosine of int8 to fp32 vectors over `texts` fixed texts.
    pub min_cosine: f64,
    pub mean_cosine: f64,
    pub texts: u64,
}

fn sha256_hex(path: &Path) -> std::io::Result<String> {
    let mut file = std::fs::File::open(path)?;
    let mut hasher = Sha256::new();
    std::io::copy(&mut file, &mut hasher)?;
    Ok(hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect())
}

/// The folder's int8 variant, if `quantize.json` accepts it and names this file.
fn int8_variant(dir: &Path, name: &str) -> std::result::Result<Int8Variant, String> {
    let record = dir.join("quantize.json");
    let info = read_json(&record).ok_or("no readable quantize.json")?;
    let check = info.get("check").cloned().unwrap_or_default();
    let figure = |k: &str| check.get(k).and_then(|v| v.as_f64());
    if info.get("accepted").and_then(|v| v.as_bool()) != Some(true) {
        return Err(format!(
            "quantize.json records that it failed its check (min cosine to fp32 {} < {})",
            figure("min_cosine").map_or("?".into(), |v| format!("{v:.4}")),
            figure("min_cosine_required").map_or("?".into(), |v| format!("{v}")),
        ));
    }
    let file = info
        .get("file")
        .and_then(|v| v.as_str())
        .unwrap_or("model.int8.onnx");
    // Only a plain file name inside the folder: the record must not point elsewhere.
    if file.contains('/') || file.contains('\\') || file.starts_with('.') {
        return Err(format!(
            "quantize.json names {file:?}, not a file of the folder"
        ));
    }
    let path = dir.join(file);
    let actual = sha256_hex(&path).map_err(|e| format!("{file}: {e}"))?;
    if info.get("sha256").and_then(|v| v.as_str()) != Some(actual.as_str()) {
        return Err(format!(
            "{file} is not the file quantize.json accepted (SHA-256 differs)"
        ));
    }
    let (min_cosine, mean_cosine) = match (figure("min_cosine"), figure("mean_cosine")) {
        (Some(min), Some(mean)) => (min, mean),
        _ => return Err("quantize.json has no check figures".into()),
    };
    Ok(Int8Variant {
        id: format!("{name}-int8-{}", &actual[..16]),
        path,
        min_cosine,
        mean_cosine,
        texts: check.get("texts").and_then(|v| v.as_u64()).unwrap_or(0),
    })
}

fn read_json(path: &Path) -> Option<serde_json::Value> {
    serde_json::from_slice(&std::fs::read(path).ok()?).ok()
}

impl ModelDir {
    /// Checks the folder and reads its configuration.
    pub fn open(path: &Path) -> Result<ModelDir> {
        let err = |reason: String| EmbedError::ModelDir {
            path: path.to_path_buf(),
            reason,
        };
        if !path.is_dir() {
            return Err(err("no such folder".into()));
        }
        let onnx = path.join("model.onnx");
        if !onnx.is_file() {
            return Err(err("no model.onnx in it".into()));
        }
        let missing: Vec<&str> = TOKENIZER_FILES
            .iter()
            .copied()
            .filter(|f| !path.join(f).is_file())
            .collect();
        if !missing.is_empty() {
            return Err(err(format!("missing {}", missing.join(", "))));
        }
        let pooling_cfg = read_json(&path.join("1_Pooling/config.json")).ok_or_else(|| {
            err(
                "no readable 1_Pooling/config.json: the pooling (mean or CLS) cannot be told"
                    .into(),
            )
        })?;
        let flag = |k: &str| pooling_cfg.get(k).and_then(|v| v.as_bool()) == Some(true);
        let pooling = if flag("pooling_mode_mean_tokens") {
            Pooling::Mean
        } else if flag("pooling_mode_cls_token") {
            Pooling::Cls
        } else {
            return Err(err(
                "1_Pooling/config.json asks for a pooling other than mean or CLS (unsupported)"
                    .into(),
            ));
        };
        let dimension = pooling_cfg
            .get("word_embedding_dimension")
            .and_then(|v| v.as_u64())
            .map(|d| d as usize);
        let from_sbert = read_json(&path.join("sentence_bert_config.json"))
            .and_then(|v| v.get("max_seq_length")?.as_u64());
        let from_tokenizer = read_json(&path.join("tokenizer_config.json"))
            .and_then(|v| v.get("model_max_length")?.as_u64())
            .filter(|&n| n <= 8192);
        let max_length = from_sbert.or(from_tokenizer).unwrap_or(512) as usize;
        let positions = read_json(&path.join("config.json"))
            .and_then(|v| v.get("max_position_embeddings")?.as_u64())
            .unwrap_or(512) as usize;
        if max_length == 0 || max_length > positions {
            return Err(err(format!(
                "max sequence length {max_length} is outside 1..={positions} (config.json max_position_embeddings)"
            )));
        }
        let hex = sha256_hex(&onnx).map_err(|e| err(format!("model.onnx: {e}")))?;
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "model".into());
        Ok(ModelDir {
            path: path.to_path_buf(),
            pooling,
            max_length,
            dimension,
            id: format!("{name}-{}", &hex[..16]),
            int8: int8_variant(path, &name),
        })
    }

    pub fn onnx_path(&self) -> PathBuf {
        self.path.join("model.onnx")
    }

    /// The precision to use when none is asked for: int8 when the folder has an accepted
    /// variant, else fp32.
    pub fn default_precision(&self) -> Precision {
        match self.int8 {
            Ok(_) => Precision::Int8,
            Err(_) => Precision::Fp32,
        }
    }

    /// The graph file and vector id of `precision`; int8 without an accepted variant is an error
    /// saying why and what to do.
    pub fn variant(&self, precision: Precision) -> Result<(PathBuf, String)> {
        match (precision, &self.int8) {
            (Precision::Fp32, _) => Ok((self.onnx_path(), self.id.clone())),
            (Precision::Int8, Ok(v)) => Ok((v.path.clone(), v.id.clone())),
            (Precision::Int8, Err(reason)) => Err(EmbedError::NoInt8 {
                path: self.path.clone(),
                reason: reason.clone(),
            }),
        }
    }

    /// The model's tokenizer as sentence-transformers runs it: texts cut at
    /// [`ModelDir::max_length`] tokens, a batch padded to its longest text with the model's pad
    /// token, and the special tokens of `special_tokens_map.json` kept whole.
    pub(crate) fn tokenizer(&self) -> Result<Tokenizer> {
        let err = |reason: String| EmbedError::ModelDir {
            path: self.path.clone(),
            reason,
        };
        let json = |f: &str| {
            read_json(&self.path.join(f)).ok_or_else(|| err(format!("{f}: not readable JSON")))
        };
        let config = json("config.json")?;
        let tokenizer_config = json("tokenizer_config.json")?;
        let special = json("special_tokens_map.json")?;
        let mut tokenizer = Tokenizer::from_file(self.path.join("tokenizer.json"))
            .map_err(|e| err(format!("tokenizer.json: {e}")))?;
        let pad = &tokenizer_config["pad_token"];
        let pad_token = pad
            .as_str()
            .or_else(|| pad["content"].as_str())
            .ok_or_else(|| err("tokenizer_config.json has no pad_token".into()))?
            .to_owned();
        let pad_id = config["pad_token_id"]
            .as_u64()
            .map(|id| id as u32)
            .or_else(|| tokenizer.token_to_id(&pad_token))
            .unwrap_or(0);
        tokenizer.with_padding(Some(PaddingParams {
            strategy: PaddingStrategy::BatchLongest,
            pad_token,
            pad_id,
            ..Default::default()
        }));
        tokenizer
            .with_truncation(Some(TruncationParams {
                max_length: self.max_length,
                ..Default::default()
            }))
            .map_err(|e| err(format!("tokenizer: {e}")))?;
        if let serde_json::Value::Object(tokens) = special {
            for value in tokens.values() {
                let token = match value {
                    serde_json::Value::String(content) => AddedToken {
                        content: content.clone(),
                        special: true,
                        ..Default::default()
                    },
                    serde_json::Value::Object(_) => match value["content"].as_str() {
                        Some(content) => AddedToken {
                            content: content.into(),
                            special: true,
                            single_word: value["single_word"].as_bool().unwrap_or(false),
                            lstrip: value["lstrip"].as_bool().unwrap_or(false),
                            rstrip: value["rstrip"].as_bool().unwrap_or(false),
                            normalized: value["normalized"].as_bool().unwrap_or(false),
                        },
                        None => continue,
                    },
                    _ => continue,
                };
                tokenizer
                    .add_special_tokens([token])
                    .map_err(|e| err(format!("special_tokens_map.json: {e}")))?;
            }
        }
        Ok(tokenizer)
    }
}
