//! extract-peer: times leadcrawl's page extractor and rs-trafilatura over the same HTML files.
//!
//! usage: extract-peer DIR [--rounds N] [--out-ours FILE] [--out-peer FILE]
//!
//! Every `*.html` / `*.html.gz` file in DIR is read and decompressed into memory first; then each
//! extractor runs over all pages, single-threaded, `--rounds` times (default 3; the best round is
//! reported, as the least disturbed by other processes). Prints one JSON line per extractor: MB/s
//! of raw HTML, pages/s, the slowest page in ms, and writes each extractor's output in the
//! `extract-html` JSON shape (`{"<stem>": {"articleBody": ...}}`) for bench/extract_quality.py.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::PathBuf;
use std::time::{Duration, Instant};

fn load(dir: &PathBuf) -> Vec<(String, Vec<u8>)> {
    let mut pages = Vec::new();
    for entry in std::fs::read_dir(dir).expect("read_dir") {
        let path = entry.expect("entry").path();
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        let Some(stem) = [".html.gz", ".html"].iter().find_map(|e| name.strip_suffix(e)) else {
            continue;
        };
        let raw = std::fs::read(&path).expect("read");
        let bytes = if raw.starts_with(&[0x1f, 0x8b]) {
            let mut out = Vec::new();
            flate2::read::MultiGzDecoder::new(&raw[..]).read_to_end(&mut out).expect("gunzip");
            out
        } else {
            raw
        };
        pages.push((stem.to_string(), bytes));
    }
    pages.sort();
    pages
}

struct Timing {
    best: Duration,
    slowest_page: (Duration, String),
}

fn time<F: FnMut(&[u8]) -> String>(
    pages: &[(String, Vec<u8>)],
    rounds: usize,
    mut extract: F,
) -> (Timing, BTreeMap<String, String>) {
    let mut best = Duration::MAX;
    let mut slowest = (Duration::ZERO, String::new());
    let mut outputs = BTreeMap::new();
    for _ in 0..rounds {
        let start = Instant::now();
        for (stem, bytes) in pages {
            let t = Instant::now();
            let text = extract(bytes);
            let took = t.elapsed();
            if took > slowest.0 {
                slowest = (took, stem.clone());
            }
            outputs.insert(stem.clone(), text);
        }
        best = best.min(start.elapsed());
    }
    (Timing { best, slowest_page: slowest }, outputs)
}

fn report(name: &str, pages: &[(String, Vec<u8>)], t: &Timing) -> serde_json::Value {
    let bytes: usize = pages.iter().map(|(_, b)| b.len()).sum();
    let secs = t.best.as_secs_f64();
    serde_json::json!({
        "extractor": name,
        "pages": pages.len(),
        "mb": (bytes as f64 / 1e6 * 100.0).round() / 100.0,
        "seconds": (secs * 1000.0).round() / 1000.0,
        "mb_per_s": ((bytes as f64 / 1e6 / secs) * 100.0).round() / 100.0,
        "pages_per_s": (pages.len() as f64 / secs).round(),
        "slowest_page_ms": (t.slowest_page.0.as_secs_f64() * 1e4).round() / 10.0,
        "slowest_page": t.slowest_page.1,
    })
}

fn write(path: &Option<PathBuf>, outputs: BTreeMap<String, String>) {
    if let Some(path) = path {
        let map: BTreeMap<_, _> = outputs
            .into_iter()
            .map(|(k, v)| (k, serde_json::json!({ "articleBody": v })))
            .collect();
        std::fs::write(path, serde_json::to_vec(&map).unwrap()).expect("write output");
    }
}

fn main() {
    let mut args = std::env::args().skip(1);
    let mut dir = None;
    let (mut rounds, mut out_ours, mut out_peer, mut only_ours) = (3usize, None, None, false);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--rounds" => rounds = args.next().and_then(|v| v.parse().ok()).expect("--rounds N"),
            "--out-ours" => out_ours = args.next().map(PathBuf::from),
            "--out-peer" => out_peer = args.next().map(PathBuf::from),
            "--only-ours" => only_ours = true,
            _ => dir = Some(PathBuf::from(a)),
        }
    }
    let dir = dir.expect("usage: extract-peer DIR [--rounds N] [--out-ours F] [--out-peer F]");
    let pages = load(&dir);

    let (t, out) = time(&pages, rounds, |bytes| {
        let (html, _) = enrich::extract::decode_html(bytes, None);
        enrich::extract::extract(&html).main_text()
    });
    println!("{}", report("leadcrawl", &pages, &t));
    write(&out_ours, out);
    if only_ours {
        return;
    }
    let options = rs_trafilatura::Options::default();
    let (t, out) = time(&pages, rounds, |bytes| {
        match rs_trafilatura::extract_bytes_with_options(bytes, &options) {
            Ok(r) => r.content_text,
            Err(_) => String::new(),
        }
    });
    println!("{}", report("rs-trafilatura 0.2.2", &pages, &t));
    write(&out_peer, out);
}
