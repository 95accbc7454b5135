//! Inference alone, for benchmarks: embeds the texts of a JSON-lines file (one JSON string per
//! line) with the model and runtime `./dev.sh` set up, and prints texts/s.
//!
//!     cargo run --release -p embed --example embed_file -- TEXTS.jsonl [BATCH] [THREADS] [PRECISION] [SESSIONS]
//!
//! PRECISION is `fp32` (default) or `int8`. SESSIONS > 1 loads that many sessions, each with
//! THREADS intra-op threads, and runs consecutive batches on them at once
//! ([`EmbedOptions::sessions`]): the "session per core" layout, against one session with more
//! threads.

use std::time::Instant;

use embed::embedder::{EmbedOptions, Embedder};
use embed::model::ModelDir;
use embed::Precision;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let path = args
        .get(1)
        .ok_or("usage: embed_file TEXTS.jsonl [BATCH] [THREADS] [fp32|int8] [SESSIONS]")?;
    let batch: usize = args.get(2).map_or(Ok(32), |s| s.parse())?;
    let threads: usize = args.get(3).map_or(Ok(2), |s| s.parse())?;
    let precision = match args.get(4).map(String::as_str) {
        None | Some("fp32") => Precision::Fp32,
        Some("int8") => Precision::Int8,
        Some(other) => return Err(format!("precision {other:?}: fp32 or int8").into()),
    };
    let sessions: usize = args.get(5).map_or(Ok(1), |s| s.parse())?;
    let texts: Vec<String> = std::fs::read_to_string(path)?
        .lines()
        .map(serde_json::from_str)
        .collect::<Result<_, _>>()?;
    let paths = embed::runtime::discover();
    let model = ModelDir::open(&paths.model_dir.ok_or("no model set up")?)?;
    let ort = paths.onnxruntime.ok_or("no runtime")?;
    let options = EmbedOptions {
        threads: Some(threads),
        batch_size: batch,
        precision,
        ..EmbedOptions::default()
    };
    let options = EmbedOptions {
        sessions,
        ..options
    };
    let mut e = Embedder::load(model, &ort, options)?;
    let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
    let started = Instant::now();
    let v = e.embed(&refs)?;
    let n = sessions;
    let dims = [v.first().map_or(0, Vec::len)];
    let secs = started.elapsed().as_secs_f64();
    println!(
        "texts {} dim {} precision {} threads {threads} sessions {n} embed_seconds {secs:.2} texts_per_s {:.1}",
        texts.len(),
        dims.first().copied().unwrap_or(0),
        precision.as_str(),
        texts.len() as f64 / secs
    );
    Ok(())
}
