//! Inference alone, for benchmarks: embeds the texts of a JSON-lines file (one JSON string per
//! line) with the model and runtime `./dev.sh` set up, and prints texts/s.
//!
//!     cargo run --release -p embed --example embed_file -- TEXTS.jsonl [BATCH] [THREADS]

use std::time::Instant;

use embed::embedder::{EmbedOptions, Embedder};
use embed::model::ModelDir;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let path = args
        .get(1)
        .ok_or("usage: embed_file TEXTS.jsonl [BATCH] [THREADS]")?;
    let batch: usize = args.get(2).map_or(Ok(32), |s| s.parse())?;
    let threads: usize = args.get(3).map_or(Ok(2), |s| s.parse())?;
    let texts: Vec<String> = std::fs::read_to_string(path)?
        .lines()
        .map(serde_json::from_str)
        .collect::<Result<_, _>>()?;
    let paths = embed::runtime::discover();
    let model = ModelDir::open(&paths.model_dir.ok_or("no model set up")?)?;
    let options = EmbedOptions {
        threads: Some(threads),
        batch_size: batch,
        ..EmbedOptions::default()
    };
    let mut e = Embedder::load(model, &paths.onnxruntime.ok_or("no runtime")?, options)?;
    let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
    let started = Instant::now();
    let v = e.embed(&refs)?;
    let secs = started.elapsed().as_secs_f64();
    println!(
        "texts {} dim {} embed_seconds {secs:.2} texts_per_s {:.1}",
        v.len(),
        v.first().map_or(0, Vec::len),
        texts.len() as f64 / secs
    );
    Ok(())
}
