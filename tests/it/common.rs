//! Helpers: a temporary run folder, the binary, and reading tables back.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use arrow::array::{Array, AsArray, RecordBatch};
use arrow::datatypes::{DataType, Int32Type, TimestampMicrosecondType, UInt32Type, UInt64Type};

pub fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_leadcrawl"))
}

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A temporary folder with a `pipeline.toml` and an input file.
pub struct Run {
    pub dir: tempfile::TempDir,
}

impl Run {
    pub fn new() -> Run {
        Run {
            dir: tempfile::tempdir().expect("tempdir"),
        }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn write(&self, name: &str, bytes: impl AsRef<[u8]>) -> PathBuf {
        let p = self.path().join(name);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(&p, bytes).unwrap();
        p
    }

    pub fn config(&self, toml: &str) -> PathBuf {
        self.write("pipeline.toml", toml)
    }

    pub fn cmd(&self, args: &[&str]) -> Command {
        let mut c = bin();
        c.current_dir(self.path()).args(args);
        c.env_remove("RUST_LOG");
        c
    }

    pub fn run(&self, args: &[&str]) -> Output {
        self.cmd(args).output().expect("spawn leadcrawl")
    }

    pub fn out(&self) -> PathBuf {
        self.path().join("out")
    }
}

pub fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// Reads every part of a table folder (sorted by file name).
pub fn read_table(dir: &Path) -> Vec<RecordBatch> {
    let mut files: Vec<PathBuf> = match std::fs::read_dir(dir) {
        Ok(rd) => rd
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|e| e == "parquet"))
            .collect(),
        Err(_) => return vec![],
    };
    files.sort();
    files
        .iter()
        .flat_map(|f| leadcrawl::table::read_file(f).expect("read parquet"))
        .collect()
}

/// A table as rows of strings keyed by column name (nulls as None).
pub fn rows(dir: &Path) -> Vec<BTreeMap<String, Option<String>>> {
    let mut out = Vec::new();
    for b in read_table(dir) {
        for r in 0..b.num_rows() {
            let mut row = BTreeMap::new();
            for (i, f) in b.schema().fields().iter().enumerate() {
                let col = b.column(i);
                let v = if col.is_null(r) {
                    None
                } else {
                    Some(match col.data_type() {
                        DataType::Utf8 => col.as_string::<i32>().value(r).to_string(),
                        DataType::Boolean => col.as_boolean().value(r).to_string(),
                        DataType::UInt64 => col.as_primitive::<UInt64Type>().value(r).to_string(),
                        DataType::UInt32 => col.as_primitive::<UInt32Type>().value(r).to_string(),
                        DataType::Int32 => col.as_primitive::<Int32Type>().value(r).to_string(),
                        DataType::Timestamp(_, _) => col
                            .as_primitive::<TimestampMicrosecondType>()
                            .value(r)
                            .to_string(),
                        DataType::Binary => {
                            format!("<{} bytes>", col.as_binary::<i32>().value(r).len())
                        }
                        DataType::Dictionary(_, _) => {
                            let d = col.as_dictionary::<Int32Type>();
                            let k = d.keys().value(r) as usize;
                            d.values().as_string::<i32>().value(k).to_string()
                        }
                        DataType::List(f) if f.data_type() != &DataType::Utf8 => {
                            format!("<{} items>", col.as_list::<i32>().value(r).len())
                        }
                        DataType::Float64 => col
                            .as_primitive::<arrow::datatypes::Float64Type>()
                            .value(r)
                            .to_string(),
                        DataType::Date32 => col
                            .as_primitive::<arrow::datatypes::Date32Type>()
                            .value(r)
                            .to_string(),
                        DataType::List(_) => {
                            let l = col.as_list::<i32>().value(r);
                            let s = l.as_string::<i32>();
                            format!(
                                "{:?}",
                                (0..s.len())
                                    .map(|j| s.value(j).to_string())
                                    .collect::<Vec<_>>()
                            )
                        }
                        other => format!("<{other:?}>"),
                    })
                };
                row.insert(f.name().clone(), v);
            }
            out.push(row);
        }
    }
    out
}

pub fn get<'a>(row: &'a BTreeMap<String, Option<String>>, k: &str) -> Option<&'a str> {
    row.get(k).and_then(|v| v.as_deref())
}

/// The Python with pyarrow and DuckDB: $LEADCRAWL_PYTHON, the repo's `.venv`, or python3.
pub fn python() -> PathBuf {
    if let Ok(p) = std::env::var("LEADCRAWL_PYTHON") {
        return PathBuf::from(p);
    }
    let venv = repo().join(".venv/bin/python");
    if venv.exists() {
        venv
    } else {
        PathBuf::from("python3")
    }
}

/// `status --json` parsed.
pub fn status_json(run: &Run) -> serde_json::Value {
    let o = run.run(&["status", "--json"]);
    assert!(o.status.success(), "{}", text(&o));
    serde_json::from_slice(&o.stdout).expect("status json")
}

pub fn stage_status<'a>(v: &'a serde_json::Value, stage: &str) -> &'a serde_json::Value {
    v["stages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["stage"] == stage)
        .expect("stage in status")
}

/// A fresh, empty PostgreSQL database on the test cluster that `./dev.sh test` starts
/// (`LEADCRAWL_TEST_PG`); its URL. No test is skipped for lack of a server: without one, this
/// fails and says how to get one.
pub fn pg_database() -> String {
    let base = std::env::var("LEADCRAWL_TEST_PG").unwrap_or_else(|_| {
        panic!(
            "LEADCRAWL_TEST_PG is not set: run the tests with ./dev.sh test, which starts a throwaway \
             PostgreSQL (or point LEADCRAWL_TEST_PG at postgres://user@host:port/postgres on a server \
             where databases may be created)"
        )
    });
    static N: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let name = format!(
        "lc_test_{}_{}",
        std::process::id(),
        N.fetch_add(1, std::sync::atomic::Ordering::SeqCst)
    );
    let mut c = postgres::Client::connect(&base, postgres::NoTls)
        .unwrap_or_else(|e| panic!("LEADCRAWL_TEST_PG={base}: {e}"));
    c.batch_execute(&format!("DROP DATABASE IF EXISTS {name}"))
        .unwrap();
    c.batch_execute(&format!("CREATE DATABASE {name}")).unwrap();
    match base.rfind('/') {
        Some(i) => format!("{}/{name}", &base[..i]),
        None => panic!("LEADCRAWL_TEST_PG={base}: no database in the URL"),
    }
}

/// A mock answer of the API Recherche d'entreprises `/search` for a query `… N` (a name ending
/// in a number): one active company named `{name} N` with SIREN `siren_base + N`.
pub fn sirene_answer(
    path: &str,
    name: &str,
    siren_base: u32,
    postcode: &str,
    city: &str,
) -> Vec<u8> {
    let q: String = path
        .split_once('?')
        .and_then(|(_, q)| {
            url::form_urlencoded::parse(q.as_bytes())
                .find(|(k, _)| k == "q")
                .map(|(_, v)| v.into_owned())
        })
        .unwrap_or_default();
    let n: u32 = q
        .rsplit(' ')
        .next()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    serde_json::json!({
        "results": [{
            "siren": format!("{:09}", siren_base + n),
            "nom_complet": format!("{name} {n}"),
            "nom_raison_sociale": format!("{name} {n}"),
            "etat_administratif": "A",
            "siege": {"code_postal": postcode, "libelle_commune": city},
        }],
        "total_results": 1, "page": 1, "per_page": 10, "total_pages": 1,
    })
    .to_string()
    .into_bytes()
}

/// Sends SIGTERM to a child process.
pub fn sigterm(child: &std::process::Child) {
    assert!(Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap()
        .success());
}
