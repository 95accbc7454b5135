//! Times `learn::Gbm` against scikit-learn's `HistGradientBoostingClassifier` on the same
//! generated rows: 100,000 training leads (plus 20,000 held out) with 50 attributes (numbers
//! with heavy tails and missing values, small codes) and a 384-dimension embedding.
//!
//! `cargo run --release -p learn --example gbm_bench [-- ROWS]` writes the data once (f32,
//! feature-major, under the temp dir), then fits in two child processes, so that each one's
//! peak RSS is its own: itself (`fit`) and `$LEADCRAWL_PYTHON learn/examples/gbm_bench.py`.
//! Both fit 100 trees of 31 leaves at learning rate 0.1 with no early stopping, on every core,
//! and report fit wall time, process peak RSS and held-out ROC-AUC.

use std::fs;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use learn::{roc_auc, Attribution, Gbm, GbmParams};

const ATTRIBUTES: usize = 50;
const EMBEDDING: usize = 384;
const FEATURES: usize = ATTRIBUTES + EMBEDDING;

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn uniform(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
    fn normal(&mut self) -> f64 {
        let u = self.uniform().max(1e-300);
        (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * self.uniform()).cos()
    }
}

/// Writes `x.f32` (feature-major: all rows of feature 0, then feature 1, …) and `y.u8`.
fn generate(dir: &Path, rows: usize) -> std::io::Result<()> {
    let mut rng = Rng(2026);
    let mut x = vec![0f32; FEATURES * rows];
    let mut y = vec![0u8; rows];
    let direction: Vec<f64> = (0..EMBEDDING)
        .map(|_| rng.normal() / (EMBEDDING as f64).sqrt())
        .collect();
    let mut row = vec![0f64; FEATURES];
    for i in 0..rows {
        let latent = rng.normal();
        for (j, v) in row.iter_mut().enumerate().take(ATTRIBUTES) {
            *v = match j % 5 {
                0 => rng.normal() + 0.3 * latent,
                1 => (rng.normal() + 0.2 * latent).exp() * 100.0,
                2 => (rng.uniform() * 8.0).floor(),
                3 => f64::from(u8::from(rng.uniform() < 0.3 + 0.1 * latent.tanh())),
                _ => rng.normal(),
            };
            if j % 7 == 3 && rng.uniform() < 0.25 {
                *v = f64::NAN;
            }
        }
        let mut projection = 0.0;
        for (k, d) in direction.iter().enumerate() {
            let e = rng.normal() * 0.05 + d * 0.05 * latent;
            row[ATTRIBUTES + k] = e;
            projection += e * d;
        }
        let a = |j: usize| if row[j].is_nan() { 0.0 } else { row[j] };
        let z = 0.8 * latent + 0.6 * (a(0) * a(5)).tanh() + 0.4 * (a(1).ln() - 4.6) - 0.3 * a(2)
            + 8.0 * projection
            + if row[3].is_nan() { 0.5 } else { 0.0 }
            - 1.0;
        y[i] = u8::from(rng.uniform() < 1.0 / (1.0 + (-z).exp()));
        for (f, &v) in row.iter().enumerate() {
            x[f * rows + i] = v as f32;
        }
    }
    let bytes: Vec<u8> = x.iter().flat_map(|v| v.to_le_bytes()).collect();
    fs::write(dir.join("x.f32"), bytes)?;
    fs::write(dir.join("y.u8"), y)
}

/// CPU seconds (user + system) this process has used, from /proc/self/stat.
fn cpu_seconds() -> f64 {
    let stat = fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // The fields after the command name (which may hold spaces) start after the last ')'.
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map_or(Vec::new(), |(_, rest)| rest.split_whitespace().collect());
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(f64::NAN)
    };
    // utime and stime are fields 14 and 15, i.e. 11 and 12 after the name; USER_HZ is 100.
    (ticks(11) + ticks(12)) / 100.0
}

fn peak_rss_mib() -> f64 {
    let status = fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(f64::NAN, |kib| kib / 1024.0)
}

/// The child: reads the data, fits on the first `train` rows, scores the rest.
fn fit(dir: &Path, train: usize) {
    let y: Vec<bool> = fs::read(dir.join("y.u8"))
        .expect("y.u8")
        .iter()
        .map(|&b| b == 1)
        .collect();
    let rows = y.len();
    // Read in blocks so that the raw bytes never sit in memory beside the floats.
    let mut file = fs::File::open(dir.join("x.f32")).expect("x.f32");
    let mut x: Vec<f32> = Vec::with_capacity(rows * FEATURES);
    let mut block = vec![0u8; 1 << 20];
    while x.len() < rows * FEATURES {
        let want = ((rows * FEATURES - x.len()) * 4).min(block.len());
        file.read_exact(&mut block[..want]).expect("read x.f32");
        x.extend(
            block[..want]
                .chunks_exact(4)
                .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])),
        );
    }
    let train_columns: Vec<&[f32]> = (0..FEATURES)
        .map(|f| &x[f * rows..f * rows + train])
        .collect();
    let test_columns: Vec<&[f32]> = (0..FEATURES)
        .map(|f| &x[f * rows + train..(f + 1) * rows])
        .collect();
    let started = Instant::now();
    let cpu_before = cpu_seconds();
    let model = Gbm::fit(&train_columns, &y[..train], &GbmParams::default()).expect("fit");
    let wall = started.elapsed().as_secs_f64();
    let cpu = cpu_seconds() - cpu_before;
    let scores = model.decision_columns(&test_columns).expect("predict");
    let auc = roc_auc(&scores, &y[train..])
        .expect("auc")
        .unwrap_or(f64::NAN);
    // Drivers for 2,000 held-out leads (every feature's TreeSHAP value), in parallel.
    let explained: Vec<&[f32]> = test_columns
        .iter()
        .map(|c| &c[..2_000.min(c.len())])
        .collect();
    let started = Instant::now();
    let contributions = model
        .contributions_columns(&explained, Attribution::TreeShap)
        .expect("contributions");
    let shap_ms = started.elapsed().as_secs_f64() * 1e3 / contributions.len().max(1) as f64;
    let started = Instant::now();
    let contributions = model
        .contributions_columns(&explained, Attribution::Saabas)
        .expect("contributions");
    let saabas_ms = started.elapsed().as_secs_f64() * 1e3 / contributions.len().max(1) as f64;
    println!(
        "{{\"wall_s\": {wall:.2}, \"cpu_s\": {cpu:.2}, \"peak_rss_mib\": {:.0}, \"roc_auc\": {auc:.4}, \"trees\": {}, \"shap_ms_per_row\": {shap_ms:.2}, \"saabas_ms_per_row\": {saabas_ms:.3}}}",
        peak_rss_mib(),
        model.n_iter()
    );
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("fit") {
        fit(Path::new(&args[2]), args[3].parse().expect("train rows"));
        return;
    }
    let train: usize = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(100_000);
    let rows = train + train / 5;
    let dir: PathBuf = std::env::temp_dir().join(format!("learn-gbm-bench-{rows}"));
    fs::create_dir_all(&dir).expect("temp dir");
    if !dir.join("y.u8").exists() {
        eprintln!(
            "generating {rows} rows × {FEATURES} features in {}",
            dir.display()
        );
        generate(&dir, rows).expect("write data");
    }
    let me = std::env::current_exe().expect("own path");
    let run = |cmd: &mut Command| -> String {
        let out = cmd.output().expect("run child");
        if !out.status.success() {
            std::io::stderr().write_all(&out.stderr).ok();
        }
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    };
    println!(
        "{train} training rows, {} held out, {FEATURES} features, 2 cores",
        rows - train
    );
    println!(
        "learn::Gbm       {}",
        run(Command::new(&me)
            .arg("fit")
            .arg(&dir)
            .arg(train.to_string()))
    );
    match std::env::var_os("LEADCRAWL_PYTHON") {
        Some(python) => {
            let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/gbm_bench.py");
            let line = run(Command::new(python)
                .arg(script)
                .arg(&dir)
                .arg(train.to_string())
                .arg(FEATURES.to_string()));
            println!("scikit-learn HGB {line}");
        }
        None => println!("scikit-learn HGB skipped: LEADCRAWL_PYTHON is not set"),
    }
}
