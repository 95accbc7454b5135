//! The demo: its web server serves the company sites, and `leadcrawl demo` runs offline.

use std::io::{Read, Write};
use std::net::TcpStream;

use crate::common::*;

/// Both tests bind the demo's preferred ports on 127.0.20.x: run one at a time, or the demo's
/// second run may find its port taken, get other URLs, and legitimately redo every stage.
static DEMO_PORTS: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn get(addr: &str, path: &str) -> (String, String) {
    let mut s = TcpStream::connect(addr).unwrap();
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut buf = String::new();
    s.read_to_string(&mut buf).unwrap();
    let (head, body) = buf.split_once("\r\n\r\n").unwrap();
    (head.lines().next().unwrap().to_string(), body.to_string())
}

#[test]
fn demo_web_serves_each_company_on_its_own_loopback_host() {
    let _ports = DEMO_PORTS.lock().unwrap_or_else(|e| e.into_inner());
    let web =
        leadcrawl::demo::server::DemoWeb::start(&repo().join("datasets/demo/sites"), None).unwrap();
    assert!(web.hosts.len() >= 50, "{}", web.hosts.len());
    let a = format!("127.0.20.1:{}", web.port);
    let (status, body) = get(&a, "/");
    assert_eq!(status, "HTTP/1.1 200 OK");
    assert!(body.contains("<nav class=\"main-nav\">") && body.contains("cookie-banner"));
    let (_, robots) = get(&a, "/robots.txt");
    assert!(
        robots.contains(&format!(
            "Sitemap: http://127.0.20.1:{}/sitemap.xml",
            web.port
        )),
        "port substituted: {robots}"
    );
    assert_eq!(get(&a, "/nope.html").0, "HTTP/1.1 404 Not Found");
    let (_, b2) = get(&format!("127.0.20.2:{}", web.port), "/");
    assert_ne!(body, b2, "each host is its own site");
    // A lead whose website has no server: connection refused.
    assert!(TcpStream::connect(format!("127.0.20.18:{}", web.port)).is_err());
    web.stop();
}

#[test]
fn demo_runs_offline_and_resumes() {
    let _ports = DEMO_PORTS.lock().unwrap_or_else(|e| e.into_inner());
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("demo");
    let o = bin()
        .args(["demo", "--out", out.to_str().unwrap()])
        .current_dir(repo())
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let leads = rows(&out.join("leads"));
    let demo: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(repo().join("datasets/demo/demo.json")).unwrap(),
    )
    .unwrap();
    let companies = demo["companies"].as_array().unwrap();
    assert_eq!(leads.len(), companies.len());
    for (lead, c) in leads.iter().zip(companies) {
        assert_eq!(get_field(lead, "status"), c["status"].as_str());
        assert!(get_field(lead, "website")
            .unwrap()
            .starts_with(&format!("http://{}:", c["ip"].as_str().unwrap())));
    }
    // Registry: one row per lead; matches checked against the generator's truth.
    let registry: std::collections::HashMap<String, _> = rows(&out.join("registry"))
        .into_iter()
        .map(|r| (get_field(&r, "lead_id").unwrap().to_owned(), r))
        .collect();
    assert_eq!(registry.len(), leads.len());
    let (mut right, mut wrong) = (0, Vec::new());
    let mut methods = std::collections::BTreeMap::<String, usize>::new();
    for (lead, c) in leads.iter().zip(companies) {
        let r = &registry[get_field(lead, "lead_id").unwrap()];
        if get_field(r, "match_status") != Some("matched") {
            continue;
        }
        *methods
            .entry(get_field(r, "match_method").unwrap().to_owned())
            .or_default() += 1;
        let truth = match c["country"].as_str() {
            Some("FR") => c["siren"].as_str().unwrap().to_owned(),
            _ => format!("{:010}", c["cik"].as_str().unwrap().parse::<u64>().unwrap()),
        };
        if get_field(r, "registry_id") == Some(truth.as_str()) {
            right += 1;
        } else {
            wrong.push((
                c["name"].clone(),
                get_field(r, "registry_id").map(str::to_owned),
            ));
        }
    }
    println!(
        "demo registry: {right} right, {} wrong {wrong:?}, by method {methods:?}",
        wrong.len()
    );
    assert!(right >= 45, "{right} matched right");
    // The demo has one near-namesake pair ("Keystone Engineering" listed, "KeystoneEngineering"
    // not): a name-only match cannot tell them apart.
    assert!(wrong.len() <= 1, "{wrong:?}");
    for m in ["id_input", "id_website", "name"] {
        assert!(
            methods.get(m).copied().unwrap_or(0) >= 5,
            "{m}: {methods:?}"
        );
    }

    // Features: one row per lead, labels as the input says, unit-norm embeddings of the
    // model's dimension; read by pyarrow, polars and DuckDB alike.
    let script = r#"
import sys, json, math
import pyarrow.parquet as pq, polars as pl, duckdb
out = sys.argv[1]
demo = json.load(open(sys.argv[2]))["companies"]
f = pq.read_table(out + "/features.parquet")
meta = pq.read_metadata(out + "/features.parquet").metadata
dim = int(meta[b"leadcrawl.dimension"])
assert meta[b"leadcrawl.model_id"].startswith(b"all-MiniLM-L6-v2-"), meta[b"leadcrawl.model_id"]
assert dim == 384, dim
assert f.schema.field("embedding").type.list_size == 384
rows = f.to_pylist()
assert len(rows) == len(demo), (len(rows), len(demo))
assert len({r["lead_id"] for r in rows}) == len(rows)
want = {f"0016{c['i']:05d}": {"won": 1, "lost": 0}.get(c["status"]) for c in demo}
for r in rows:
    assert r["label"] == want[r["external_id"]], (r["external_id"], r["label"])
    if r["embedding"] is not None:
        n = math.sqrt(sum(x * x for x in r["embedding"]))
        assert abs(n - 1) < 1e-4, n
assert sum(r["crawl_failed"] for r in rows) == 2, "the two dead websites"
assert sum(r["registry_matched"] for r in rows) >= 45
assert pl.read_parquet(out + "/features.parquet").height == len(rows)
con = duckdb.connect()
n, won = con.execute(f"select count(*), sum(label) from read_parquet('{out}/features.parquet')").fetchone()
assert n == len(rows) and won == sum(1 for v in want.values() if v == 1), (n, won)
print("features ok", len(rows), "rows")

# evaluation.json: metrics in [0, 1]; the centroid baseline recomputed from the Parquet alone
# with the folds leadcrawl used gives the same accuracy.
import numpy as np
ev = json.load(open(out + "/evaluation.json"))
assert ev["labelled"] == sum(1 for v in want.values() if v is not None)
names = [m["name"] for m in ev["models"]]
assert "centroid_embedding" in names and "tfidf_logistic" in names and "combined" in names, names
for m in ev["models"] + ev["control"]:
    for key in ("accuracy", "precision", "recall", "f1", "roc_auc", "pr_auc", "captured_35"):
        v = m["metrics"][key]
        assert v is None or 0.0 <= v <= 1.0, (m["name"], key, v)
by_id = {r["lead_id"]: r for r in rows}
ids = sorted(ev["folds"])
y = np.array([by_id[i]["label"] == 1 for i in ids])
fold = np.array([ev["folds"][i] for i in ids])
emb = [by_id[i]["embedding"] for i in ids]
score = np.zeros(len(ids))
for f in range(ev["k"]):
    tr = [j for j in range(len(ids)) if fold[j] != f and emb[j] is not None]
    E = np.array([emb[j] for j in tr]); t = y[tr]
    won_c, lost_c = E[t].mean(0), E[~t].mean(0)
    for j in np.where(fold == f)[0]:
        if emb[j] is not None:
            v = np.array(emb[j])
            cos = lambda c: v @ c / (np.linalg.norm(v) * np.linalg.norm(c))
            score[j] = cos(won_c) - cos(lost_c)
acc = float(((score >= 0) == y).mean())
mine = next(m for m in ev["models"] if m["name"] == "centroid_embedding")["metrics"]["accuracy"]
assert abs(acc - mine) < 1e-9, (acc, mine)
html = open(out + "/report.html", encoding="utf-8").read()
assert html.startswith("<!DOCTYPE html>") and "<script" not in html and "centroid_embedding" in html
print("evaluation ok: centroid accuracy", acc)
"#;
    let py = std::process::Command::new(crate::common::python())
        .args(["-c", script])
        .arg(&out)
        .arg(repo().join("datasets/demo/demo.json"))
        .output()
        .unwrap();
    assert!(py.status.success(), "{}", text(&py));

    let o = bin()
        .args(["demo", "--out", out.to_str().unwrap()])
        .current_dir(repo())
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0));
    assert!(
        text(&o).contains("up to date"),
        "second demo run skips done work: {}",
        text(&o)
    );
}

fn get_field<'a>(
    row: &'a std::collections::BTreeMap<String, Option<String>>,
    k: &str,
) -> Option<&'a str> {
    crate::common::get(row, k)
}
