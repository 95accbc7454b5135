//! ONNX Runtime, loaded once per process from a shared library, and where to find it.
//!
//! `ort` is built with `load-dynamic`: nothing is linked at build time, and the library
//! comes from the `onnxruntime` Python wheel (`onnxruntime/capi/libonnxruntime.so.*`). Loading
//! goes through `ort::init_from`, so that a missing or incompatible library is an error naming
//! the path instead of a panic deep inside `ort`.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use crate::{EmbedError, Result};

/// Where the model folder and ONNX Runtime were installed by the setup step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuntimePaths {
    pub model_dir: Option<PathBuf>,
    pub onnxruntime: Option<PathBuf>,
}

/// The file the setup step (`./dev.sh`) writes: `$XDG_DATA_HOME/leadcrawl/runtime.json`, or
/// `~/.local/share/leadcrawl/runtime.json`; `$LEADCRAWL_RUNTIME_FILE` overrides it.
pub fn runtime_file() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("LEADCRAWL_RUNTIME_FILE") {
        return Some(PathBuf::from(p));
    }
    let data = std::env::var_os("XDG_DATA_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/share")))?;
    Some(data.join("leadcrawl/runtime.json"))
}

/// The installed paths: `ORT_DYLIB_PATH` and `LEADCRAWL_MODEL_DIR` win over the runtime file.
pub fn discover() -> RuntimePaths {
    let mut paths = RuntimePaths {
        model_dir: None,
        onnxruntime: None,
    };
    if let Some(file) = runtime_file() {
        if let Ok(text) = std::fs::read_to_string(&file) {
            if let Ok(v) = serde_json::from_str::<serde_json::Value>(&text) {
                let get = |k: &str| v.get(k).and_then(|x| x.as_str()).map(PathBuf::from);
                paths.model_dir = get("model_dir");
                paths.onnxruntime = get("onnxruntime");
            }
        }
    }
    if let Some(p) = std::env::var_os("LEADCRAWL_MODEL_DIR") {
        paths.model_dir = Some(PathBuf::from(p));
    }
    if let Some(p) = std::env::var_os("ORT_DYLIB_PATH") {
        paths.onnxruntime = Some(PathBuf::from(p));
    }
    paths
}

/// The library this process loaded (ort keeps it for the life of the process, even when building
/// the environment then fails) and the environment built on it.
static LOADED: Mutex<Option<(PathBuf, Option<ort::environment::Environment>)>> = Mutex::new(None);

/// Loads ONNX Runtime from `path` (once per process; the same path again is free, another path
/// is an error: a process can hold only one runtime).
pub fn environment(path: &Path) -> Result<ort::environment::Environment> {
    let err = |reason: String| EmbedError::Runtime {
        path: path.to_path_buf(),
        reason,
    };
    if !path.is_file() {
        return Err(err("no such file".into()));
    }
    // ort resolves relative paths against the executable's folder: make it absolute first.
    let path = &std::fs::canonicalize(path).map_err(|e| err(e.to_string()))?;
    let mut loaded = LOADED.lock().unwrap_or_else(|p| p.into_inner());
    if let Some((p, env)) = loaded.as_ref() {
        if p != path {
            return Err(err(format!(
                "this process already loaded ONNX Runtime from {}",
                p.display()
            )));
        }
        if let Some(env) = env {
            return Ok(env.clone());
        }
        return Err(err(
            "building the ONNX Runtime environment failed before".into()
        ));
    }
    // Loading a foreign library runs its initialisers; `ort` reports bad libraries as errors,
    // and a panic inside it must not take the whole process down either.
    let builder = std::panic::catch_unwind(|| ort::init_from(path).map_err(|e| e.to_string()))
        .map_err(|_| err("loading the library panicked (not an ONNX Runtime ≥ 1.24?)".into()))?
        .map_err(err)?;
    // From here the library is loaded for good, whatever happens next.
    *loaded = Some((path.clone(), None));
    let built = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        builder
            .with_name("leadcrawl")
            .build()
            .map_err(|e| e.to_string())
    }))
    .map_err(|_| err("building the environment panicked (not an ONNX Runtime ≥ 1.24?)".into()))?
    .map_err(err)?;
    *loaded = Some((path.clone(), Some(built.clone())));
    Ok(built)
}
