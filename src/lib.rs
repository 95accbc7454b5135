//! leadcrawl: the pipeline's binary and its library: CLI, config, stage orchestration, state
//! and Parquet I/O. The domain work lives in the `crawler`, `enrich` and `embed` crates; this
//! package is glue.

pub mod cli;
pub mod config;
pub mod demo;
pub mod engine;
pub mod exit;
pub mod extract_html;
pub mod input;
pub mod logging;
pub mod progress;
pub mod run_results;
pub mod runner;
pub mod schema;
pub mod setup;
pub mod signals;
pub mod stages;
pub mod state;
pub mod status;
pub mod table;
