//! `embed`: sentence embeddings of company text with ONNX models through `fastembed`.
//!
//! This crate knows nothing about stages, config files or Parquet. It loads a model folder
//! ([`model`]: ONNX graph, tokenizer files, pooling and maximum length from the model's own
//! configuration), loads ONNX Runtime from a shared library path ([`runtime`]: a missing or
//! wrong library is an error, not a panic) and embeds texts in length-sorted, bounded batches
//! ([`embedder`]).

pub mod chunk;
pub mod embedder;
pub mod model;
pub mod runtime;

pub use embedder::{cosine, EmbedOptions, Embedder};
pub use model::ModelDir;
pub use runtime::{discover, RuntimePaths};

use std::path::PathBuf;

/// Everything that can go wrong, with the path involved and what to do about it.
#[derive(Debug, thiserror::Error)]
pub enum EmbedError {
    #[error("model folder {path}: {reason}. Run `./dev.sh demo` (or `./dev.sh test`) once to install and export the default model, or set `embed.model_dir` to a folder with model.onnx and tokenizer files")]
    ModelDir { path: PathBuf, reason: String },
    #[error("ONNX Runtime library {path}: {reason}. Install it with `pip install onnxruntime` and point ORT_DYLIB_PATH (or `embed.onnxruntime`) at onnxruntime/capi/libonnxruntime.so.*; `./dev.sh demo` does this once")]
    Runtime { path: PathBuf, reason: String },
    #[error("model {path}: {reason}")]
    Model { path: PathBuf, reason: String },
    #[error("embedding failed: {0}")]
    Inference(String),
}

pub type Result<T> = std::result::Result<T, EmbedError>;
