//! Integration tests, one binary: the real `leadcrawl` executable on real files, real Parquet
//! read back by pyarrow and DuckDB, real signals.

mod common;
mod config;
mod crawl_stage;
mod demo;
mod distributed;
mod embed;
mod extract;
mod freshness;
mod history;
mod ingest;
mod models;
mod prospects;
mod readback;
mod registry;
mod resume;
mod run_results;
mod setup;
mod state_store;
mod stop;
mod universe;
// The crawler's test server, shared with the crawler crate's own tests (which use all of it).
#[allow(dead_code)]
#[path = "../../crawler/tests/it/web.rs"]
mod web;
