//! A model folder: the ONNX graph, its tokenizer files, and how the model wants to be used.
//!
//! Pooling and maximum sequence length come from the model's own sentence-transformers files
//! (`1_Pooling/config.json`, `sentence_bert_config.json`), never from defaults: all-MiniLM-L6-v2
//! mean-pools over 256 tokens, and CLS pooling or 512 tokens give different vectors.

use std::path::{Path, PathBuf};

use fastembed::{Pooling, TokenizerFiles};
use sha2::{Digest, Sha256};

use crate::{EmbedError, Result};

/// The files a model folder must hold besides `model.onnx`.
pub const TOKENIZER_FILES: [&str; 4] = [
    "tokenizer.json",
    "config.json",
    "special_tokens_map.json",
    "tokenizer_config.json",
];

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
        let mut file = std::fs::File::open(&onnx).map_err(|e| err(format!("model.onnx: {e}")))?;
        let mut hasher = Sha256::new();
        std::io::copy(&mut file, &mut hasher).map_err(|e| err(format!("model.onnx: {e}")))?;
        let digest = hasher.finalize();
        let hex: String = digest.iter().take(8).map(|b| format!("{b:02x}")).collect();
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "model".into());
        Ok(ModelDir {
            path: path.to_path_buf(),
            pooling,
            max_length,
            dimension,
            id: format!("{name}-{hex}"),
        })
    }

    pub fn onnx_path(&self) -> PathBuf {
        self.path.join("model.onnx")
    }

    pub(crate) fn tokenizer_files(&self) -> Result<TokenizerFiles> {
        let read = |f: &str| {
            std::fs::read(self.path.join(f)).map_err(|e| EmbedError::ModelDir {
                path: self.path.clone(),
                reason: format!("{f}: {e}"),
            })
        };
        Ok(TokenizerFiles {
            tokenizer_file: read("tokenizer.json")?,
            config_file: read("config.json")?,
            special_tokens_map_file: read("special_tokens_map.json")?,
            tokenizer_config_file: read("tokenizer_config.json")?,
        })
    }
}
