//! `embed`: sentence embeddings of company text with ONNX models through `fastembed`.
//!
//! This crate knows nothing about stages, config files or Parquet. The embed issue fills it: model
//! folder loading, token-aware chunking, length-sorted batching and pooling.
