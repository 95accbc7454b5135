//! Integration tests, one binary: the real `leadcrawl` executable on real files, real Parquet
//! read back by pyarrow and DuckDB, real signals.

mod common;
mod config;
mod crawl;
mod crawl_stage;
mod demo;
mod distributed;
mod embed;
mod extract;
mod ingest;
mod models;
mod readback;
mod registry;
mod registry_match;
mod resume;
mod robots_corpus;
mod state_store;
mod web;
