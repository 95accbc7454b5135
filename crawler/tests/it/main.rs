//! The crawler's integration tests, one binary: real HTTP servers on loopback addresses that
//! misbehave (see `web`), and the real robots.txt corpora of the shared data folder.

mod crawl;
mod hostile;
mod robots_corpus;
mod web;

use std::path::PathBuf;

/// The workspace root (the shared data folder lives beside it).
pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}
