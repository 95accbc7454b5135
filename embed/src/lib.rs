//! `embed`: sentence embeddings of company text with ONNX models through ONNX Runtime (`ort`).
//!
//! This crate knows nothing about stages, config files or Parquet. It loads a model folder
//! ([`model`]: ONNX graph, tokenizer files, pooling and maximum length from the model's own
//! configuration), loads ONNX Runtime from a shared library path ([`runtime`]: a missing or
//! wrong library is an error, not a panic) and embeds texts in length-sorted, bounded batches
//! ([`embedder`]), with the fp32 graph or its checked int8 variant ([`Precision`]), on the CPU or
//! through ONNX Runtime's CUDA execution provider ([`Device`]).

pub mod chunk;
pub mod embedder;
pub mod model;
pub mod runtime;

pub use embedder::{cosine, EmbedOptions, Embedder};
pub use model::{Int8Variant, ModelDir};
pub use runtime::{discover, RuntimePaths};

use std::path::PathBuf;

/// Which graph of a model folder runs: `model.onnx`, or `model.int8.onnx` (its weights quantised
/// to int8 per output channel, accepted by the setup's check against fp32: see
/// [`ModelDir::int8`]). The two make slightly different vectors, so they are cached apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Precision {
    #[default]
    Fp32,
    Int8,
}

impl Precision {
    pub fn as_str(self) -> &'static str {
        match self {
            Precision::Fp32 => "fp32",
            Precision::Int8 => "int8",
        }
    }
}

/// Where ONNX Runtime runs the model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Device {
    #[default]
    Cpu,
    /// ONNX Runtime's CUDA execution provider: needs a library built with it (the
    /// `onnxruntime-gpu` wheel) and a CUDA device; anything missing is an error, never a silent
    /// fallback to the CPU.
    Cuda,
}

/// Everything that can go wrong, with the path involved and what to do about it.
#[derive(Debug, thiserror::Error)]
pub enum EmbedError {
    #[error("model folder {path}: {reason}. Run `./dev.sh demo` (or `./dev.sh test`) once to install and export the default model, or set `embed.model_dir` to a folder with model.onnx and tokenizer files")]
    ModelDir { path: PathBuf, reason: String },
    #[error("ONNX Runtime library {path}: {reason}. Install it with `pip install onnxruntime` and point ORT_DYLIB_PATH (or `embed.onnxruntime`) at onnxruntime/capi/libonnxruntime.so.*; `./dev.sh demo` does this once")]
    Runtime { path: PathBuf, reason: String },
    #[error("model {path}: {reason}")]
    Model { path: PathBuf, reason: String },
    #[error("model folder {path}: no usable int8 variant: {reason}. Run `python embed/export/quantize_int8.py {path}` (the setup does it), or set `embed.precision = \"fp32\"`")]
    NoInt8 { path: PathBuf, reason: String },
    #[error("ONNX Runtime library {path}: {reason}. For `embed.device = \"cuda\"`, install the `onnxruntime-gpu` wheel (with CUDA 12/13 and cuDNN 9) and point `embed.onnxruntime` at its onnxruntime/capi/libonnxruntime.so.*; or set `embed.device = \"cpu\"`")]
    Device { path: PathBuf, reason: String },
    #[error("embedding failed: {0}")]
    Inference(String),
}

pub type Result<T> = std::result::Result<T, EmbedError>;
