//! What a scheduler sees of a run: exit codes with `pipeline.max_failed_share`, the
//! `run_results.json` every run leaves (read back by Python), and `--set` overrides changing a
//! stage's fingerprint, on real local websites.

use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::common::*;
use crate::web::*;

/// A site with a home page linking to `n` pages.
fn small_site(n: usize) -> Handler {
    Arc::new(move |path, _| match path {
        "/robots.txt" => with_headers(200, &[("Content-Type", "text/plain")], b"User-agent: *\n"),
        "/" => {
            let links: Vec<(String, String)> = (0..n)
                .map(|i| (format!("/p{i}.html"), format!("Page {i}")))
                .collect();
            let refs: Vec<(&str, &str)> = links
                .iter()
                .map(|(a, b)| (a.as_str(), b.as_str()))
                .collect();
            html(&page("Home", &refs))
        }
        p if p.starts_with("/p") => html(&page(p, &[("/", "Home")])),
        _ => status(404),
    })
}

fn config(extra: &str) -> String {
    format!(
        "[pipeline]\noutput_dir = \"out\"\n[ingest]\ninput = \"leads.csv\"\n[crawl]\nallow_private_networks = true\n\
         contact_url = \"https://example.org/bot\"\nmax_retries = 1\nretry_base_ms = 10\nconnect_timeout_secs = 1.0\n\
         read_timeout_secs = 2.0\nrequests_per_second = 50.0\n{extra}\n"
    )
}

fn results(run: &Run) -> serde_json::Value {
    let p = run.out().join("run_results.json");
    serde_json::from_str(&std::fs::read_to_string(&p).unwrap()).unwrap()
}

fn stage<'a>(results: &'a serde_json::Value, name: &str) -> &'a serde_json::Value {
    results["stages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["stage"] == name)
        .unwrap_or_else(|| panic!("no {name} in {results}"))
}

#[test]
fn one_dead_site_of_twenty_is_within_the_default_share_and_not_within_zero() {
    let sites: Vec<Web> = (0..19).map(|_| Web::start(small_site(1))).collect();
    let dead = format!("http://{}:9/", fresh_ip());
    let run = Run::new();
    let mut csv = String::from("name,website\n");
    for (i, s) in sites.iter().enumerate() {
        csv.push_str(&format!("Company {i},{}\n", s.url("/")));
    }
    csv.push_str(&format!("Dead Co,{dead}\n"));
    run.write("leads.csv", csv);
    run.config(&config(""));

    let o = run.run(&["run", "--stages", "ingest,crawl"]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "1 of 20 is within 0.2: {}",
        text(&o)
    );
    std::fs::copy(
        run.out().join("run_results.json"),
        run.path().join("first.json"),
    )
    .unwrap();
    // The crawl is up to date (the share is not in its fingerprint), but its recorded failure
    // still counts against the run's own threshold.
    let o = run.run(&[
        "run",
        "--stages",
        "ingest,crawl",
        "--set",
        "pipeline.max_failed_share=0",
    ]);
    assert_eq!(o.status.code(), Some(3), "{}", text(&o));
    assert_eq!(results(&run)["exit_code"], 3);

    let check = r#"
import json, sys, pyarrow.parquet as pq, os
out = sys.argv[1]
first = json.load(open(sys.argv[2]))
second = json.load(open(os.path.join(out, "run_results.json")))
for r in (first, second):
    assert r["schema_version"] == 1, r
    assert r["leadcrawl_version"] and r["config_hash"] and r["run_id"], r
    assert r["started_at"] <= r["finished_at"], r
    assert [s["stage"] for s in r["stages"]] == ["ingest", "crawl"], r["stages"]
assert first["run_id"] != second["run_id"]
assert first["exit_code"] == 0 and first["outcome"] == "success", first
assert "within pipeline.max_failed_share = 0.2" in first["why"], first["why"]
assert "crawl 1 of 20 units failed (5.0%)" in first["why"], first["why"]
assert second["exit_code"] == 3 and second["outcome"] == "units_failed", second
assert "above pipeline.max_failed_share = 0" in second["why"], second["why"]
assert "crawl 1 of 20 units failed" in second["why"], second["why"]
assert second["max_failed_share"] == 0 and first["max_failed_share"] == 0.2
c1 = {s["stage"]: s for s in first["stages"]}["crawl"]
c2 = {s["stage"]: s for s in second["stages"]}["crawl"]
assert c1["status"] == "done_with_failures", c1
assert (c1["units_total"], c1["units_done"], c1["units_failed"], c1["units_skipped"]) == (20, 19, 1, 0), c1
assert abs(c1["failed_share"] - 0.05) < 1e-9, c1
assert c1["failures"][0]["reason"].startswith("unreachable"), c1["failures"]
assert c1["seconds"] > 0 and c1["counters"]["pages_ok"] >= 38, c1
assert c2["status"] == "skipped" and c2["units_skipped"] == 20 and c2["seconds"] == 0, c2
# The outputs are the registered parts: their rows are the table's rows.
rows = sum(o["rows"] for o in c1["outputs"] if o["table"] == "pages")
assert rows == pq.read_table(os.path.join(out, "pages")).num_rows, (rows, c1["outputs"])
assert all(os.path.exists(os.path.join(out, o["file"])) for o in c1["outputs"])
i1 = {s["stage"]: s for s in first["stages"]}["ingest"]
assert i1["status"] == "done" and i1["units_failed"] == 0, i1
assert sum(o["rows"] for o in i1["outputs"] if o["table"] == "leads") == 20, i1["outputs"]
print("ok")
"#;
    let o = std::process::Command::new(python())
        .args(["-c", check])
        .arg(run.out())
        .arg(run.path().join("first.json"))
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("ok"));
    // No temporary file is left beside it.
    let leftovers: Vec<_> = std::fs::read_dir(run.out())
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().ends_with(".tmp"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[test]
fn set_max_pages_changes_the_crawl_fingerprint_and_reruns_it() {
    let site = Web::start(small_site(5));
    let run = Run::new();
    run.write(
        "leads.csv",
        format!("name,website\nAcme,{}\n", site.url("/")),
    );
    run.config(&config(""));
    let pages = |run: &Run| {
        rows(&run.out().join("pages"))
            .iter()
            .filter(|p| get(p, "kind") == Some("page"))
            .count()
    };
    let o = run.run(&["run", "--stages", "ingest,crawl"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert_eq!(pages(&run), 6, "home and 5 pages");

    let set = ["--set", "crawl.max_pages_per_site=2"];
    let o = run.run(&[&["run", "--stages", "ingest,crawl"][..], &set[..]].concat());
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(
        text(&o).contains("inputs or config changed"),
        "{}",
        text(&o)
    );
    assert_eq!(stage(&results(&run), "ingest")["status"], "skipped");
    assert_eq!(stage(&results(&run), "crawl")["status"], "done");
    assert_eq!(pages(&run), 2);
    // Same override again: up to date.
    let o = run.run(&[&["run", "--stages", "ingest,crawl"][..], &set[..]].concat());
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert_eq!(stage(&results(&run), "crawl")["status"], "skipped");
    // A key that is not in the crawl's fingerprint (a rate) does not re-run it.
    let o = run.run(
        &[
            &["run", "--stages", "ingest,crawl"][..],
            &set[..],
            &["--set", "crawl.requests_per_second=5"][..],
        ]
        .concat(),
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert_eq!(stage(&results(&run), "crawl")["status"], "skipped");
}

#[test]
fn results_are_written_on_a_usage_error_and_on_interruption() {
    // A stage whose input stage is not done: exit 2, and the results say why.
    let slow = || -> Handler {
        Arc::new(|path, _| match path {
            "/robots.txt" => status(404),
            "/" => Reply::Delay(
                Duration::from_millis(1000),
                Box::new(html(&page("Home", &[("/a.html", "A"), ("/b.html", "B")]))),
            ),
            _ => Reply::Delay(Duration::from_millis(1000), Box::new(html(&page("X", &[])))),
        })
    };
    let sites: Vec<Web> = (0..4).map(|_| Web::start(slow())).collect();
    let run = Run::new();
    let mut csv = String::from("name,website\n");
    for (i, s) in sites.iter().enumerate() {
        csv.push_str(&format!("Company {i},{}\n", s.url("/")));
    }
    run.write("leads.csv", csv);
    // One site at a time: a stop always leaves sites to do.
    run.config(&config("concurrency = 1"));
    let o = run.run(&["run", "--stages", "crawl"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    let r = results(&run);
    assert_eq!(r["exit_code"], 2);
    assert_eq!(r["outcome"], "usage");
    assert!(
        r["why"]
            .as_str()
            .unwrap()
            .contains("reads the output of ingest, which is not done"),
        "{r}"
    );

    // SIGTERM in the crawl: exit 130, and the results name the stage it stopped.
    let child = run
        .cmd(&["run", "--stages", "ingest,crawl"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let started = Instant::now();
    loop {
        let st = status_json(&run);
        let crawling = st["stages"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s["stage"] == "crawl" && s["status"] == "running");
        if crawling && sites.iter().any(|s| !s.hits().is_empty()) {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "the crawl never started"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let pid = child.id().to_string();
    assert!(std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap()
        .success());
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(130), "{}", text(&out));
    let r = results(&run);
    assert_eq!(r["exit_code"], 130, "{r}");
    assert_eq!(r["outcome"], "interrupted");
    assert!(
        r["why"]
            .as_str()
            .unwrap()
            .contains("during the crawl stage"),
        "{r}"
    );
    assert_eq!(stage(&r, "crawl")["status"], "interrupted");
    assert_eq!(stage(&r, "ingest")["status"], "done");
}
