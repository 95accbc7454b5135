//! Build script: bundles the model exporter (every file of `embed/export/`) into the binary, so
//! that `leadcrawl setup` needs Python but no source checkout. Listing the folder here, instead of
//! naming the scripts in the source, keeps a script added there from being silently left out.

use std::path::Path;

fn main() {
    let manifest = std::env::var("CARGO_MANIFEST_DIR").expect("CARGO_MANIFEST_DIR");
    let dir = Path::new(&manifest).join("embed/export");
    // A folder here makes cargo re-run this script when any file under it changes.
    println!("cargo:rerun-if-changed=embed/export");
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(|e| e.ok())
        .filter(|e| e.file_type().map(|t| t.is_file()).unwrap_or(false))
        .filter_map(|e| e.file_name().into_string().ok())
        .filter(|n| !n.ends_with(".pyc"))
        .collect();
    names.sort();
    let mut code = String::from(
        "/// The files of `embed/export/`, by name: the ONNX exporter and the model setup script.\n\
         pub const EXPORT_FILES: &[(&str, &[u8])] = &[\n",
    );
    for name in &names {
        let path = dir.join(name);
        code.push_str(&format!(
            "    ({name:?}, include_bytes!({:?})),\n",
            path.display().to_string()
        ));
    }
    code.push_str("];\n");
    let out = Path::new(&std::env::var("OUT_DIR").expect("OUT_DIR")).join("export_files.rs");
    std::fs::write(&out, code).unwrap_or_else(|e| panic!("{}: {e}", out.display()));
}
