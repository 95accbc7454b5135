//! Inference alone, for benchmarks: embeds the texts of a JSON-lines file (one JSON string per
//! line) with the model and runtime `./dev.sh` set up, and prints texts/s.
//!
//!     cargo run --release -p embed --example embed_file -- TEXTS.jsonl [BATCH] [THREADS] [PRECISION] [SESSIONS]
//!
//! PRECISION is `fp32` (default) or `int8`. SESSIONS > 1 loads that many models, each with
//! THREADS intra-op threads, and embeds an equal share of the texts on each at once (every
//! SESSIONS-th text in token order, so the shares cost alike): the "sessions per core" layout,
//! against one session with more threads.

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
    let mut embedders = (0..sessions.max(1))
        .map(|_| Embedder::load(model.clone(), &ort, options))
        .collect::<Result<Vec<_>, _>>()?;
    // Shares by token order, so that each session gets as many long texts as the others.
    let counter = &embedders[0];
    let mut order: Vec<(usize, &str)> = texts
        .iter()
        .map(|t| (counter.count_tokens(t), t.as_str()))
        .collect();
    order.sort();
    let n = embedders.len();
    let shares: Vec<Vec<&str>> = (0..n)
        .map(|s| order.iter().skip(s).step_by(n).map(|&(_, t)| t).collect())
        .collect();
    let started = Instant::now();
    let dims = std::thread::scope(|scope| {
        let running: Vec<_> = embedders
            .iter_mut()
            .zip(&shares)
            .map(|(e, share)| {
                scope.spawn(move || e.embed(share).map(|v| v.first().map_or(0, Vec::len)))
            })
            .collect();
        running
            .into_iter()
            .map(|h| h.join().expect("embedding thread"))
            .collect::<Result<Vec<_>, _>>()
    })?;
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
