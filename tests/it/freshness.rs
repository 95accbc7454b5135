//! Freshness (`crawl.max_age_days`, issue 18): a later run re-crawls only the sites crawled too
//! long ago, with conditional requests, and the tables after it hold each page once, the
//! unchanged pages with their old text and the changed ones with the new.
//!
//! A site is made "stale" the honest way: its crawl time is what the state store recorded, so
//! the test moves that record two days back in `state.sqlite` rather than sleeping or faking a
//! clock.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use crate::common::*;
use crate::web::*;

type Row = BTreeMap<String, Option<String>>;

/// A site whose pages carry ETags and answer `If-None-Match` with 304; `/b.html` changes (new
/// text, new ETag) once `changed` is set.
fn site(name: &'static str, changed: Arc<AtomicBool>) -> Web {
    Web::start_with_head(
        &fresh_ip(),
        Arc::new(move |path, _, head| {
            let head = head.to_ascii_lowercase();
            let (body, etag) = match path {
                "/" => (
                    page(
                        &format!("{name} home"),
                        &[("/a.html", "A"), ("/b.html", "B")],
                    ),
                    format!("\"{name}-home-1\""),
                ),
                "/a.html" => (
                    page(&format!("{name} about us"), &[]),
                    format!("\"{name}-a-1\""),
                ),
                "/b.html" if changed.load(Ordering::SeqCst) => (
                    page(&format!("{name} products second edition"), &[]),
                    format!("\"{name}-b-2\""),
                ),
                "/b.html" => (
                    page(&format!("{name} products first edition"), &[]),
                    format!("\"{name}-b-1\""),
                ),
                _ => return status(404),
            };
            let headers = [("Content-Type", "text/html"), ("ETag", etag.as_str())];
            if head.contains(&format!("if-none-match: {}", etag.to_ascii_lowercase())) {
                with_headers(304, &headers, b"")
            } else {
                with_headers(200, &headers, body.as_bytes())
            }
        }),
    )
}

/// The state store a scenario runs on: the SQLite file in the output folder, or a PostgreSQL
/// database (the crawl then runs leased, through the frontier).
enum Store {
    Sqlite,
    Postgres(String),
}

fn config(store: &Store) -> String {
    let state = match store {
        Store::Sqlite => String::new(),
        Store::Postgres(url) => format!("[state]\nurl = \"{url}\"\n"),
    };
    format!(
        "[pipeline]\noutput_dir = \"out\"\n{state}[ingest]\ninput = \"leads.csv\"\n[crawl]\n\
         allow_private_networks = true\ncontact_url = \"https://example.org/bot\"\nmax_retries = 1\n\
         retry_base_ms = 10\nconnect_timeout_secs = 1.0\nread_timeout_secs = 2.0\n\
         requests_per_second = 100.0\nmax_age_days = 1\n[registry]\nregistries = []\n"
    )
}

/// Moves the crawl time the state store recorded for `site` two days (in µs) back.
fn age(run: &Run, store: &Store, site: &str) {
    const SQL: &str = "UPDATE units SET updated_at = updated_at - 172800000000 \
                       WHERE stage = 'crawl' AND unit = ";
    let n = match store {
        Store::Sqlite => rusqlite::Connection::open(run.out().join("state.sqlite"))
            .unwrap()
            .execute(&format!("{SQL}?1"), [site])
            .unwrap() as u64,
        Store::Postgres(url) => postgres::Client::connect(url, postgres::NoTls)
            .unwrap()
            .execute(&format!("{SQL}$1"), &[&site])
            .unwrap(),
    };
    assert_eq!(n, 1, "the site's crawl is recorded");
}

fn of_site<'a>(t: &'a [Row], site: &str, kind: Option<&str>) -> Vec<&'a Row> {
    t.iter()
        .filter(|r| get(r, "site") == Some(site) && (kind.is_none() || get(r, "kind") == kind))
        .collect()
}

fn text_of<'a>(t: &'a [Row], site: &str, path: &str) -> &'a str {
    t.iter()
        .find(|r| get(r, "site") == Some(site) && get(r, "url").is_some_and(|u| u.ends_with(path)))
        .and_then(|r| get(r, "text"))
        .unwrap_or_else(|| panic!("no page_text for {site}{path}"))
}

/// Each (site, url, kind) once in `pages`, each (lead, url) once in `page_text`, each lead once
/// in `web_features`.
fn assert_no_duplicates_before_embed(run: &Run) {
    let pages = rows(&run.out().join("pages"));
    let keys: Vec<_> = pages
        .iter()
        .map(|r| (get(r, "site"), get(r, "url"), get(r, "kind")))
        .collect();
    let unique: BTreeSet<_> = keys.iter().collect();
    assert_eq!(unique.len(), keys.len(), "duplicate pages rows: {keys:?}");
    let texts = rows(&run.out().join("page_text"));
    let keys: Vec<_> = texts
        .iter()
        .map(|r| (get(r, "lead_id"), get(r, "url")))
        .collect();
    let unique: BTreeSet<_> = keys.iter().collect();
    assert_eq!(
        unique.len(),
        keys.len(),
        "duplicate page_text rows: {keys:?}"
    );
    assert_one_row_per_lead(run, "web_features");
}

/// [`assert_no_duplicates_before_embed`], and each (lead, source, chunk) once in `chunks`, each
/// lead once in `lead_embeddings`.
fn assert_no_duplicates(run: &Run) {
    assert_no_duplicates_before_embed(run);
    let chunks = rows(&run.out().join("chunks"));
    let keys: Vec<_> = chunks
        .iter()
        .map(|r| (get(r, "lead_id"), get(r, "source"), get(r, "chunk_index")))
        .collect();
    let unique: BTreeSet<_> = keys.iter().collect();
    assert_eq!(unique.len(), keys.len(), "duplicate chunks rows: {keys:?}");
    assert_one_row_per_lead(run, "lead_embeddings");
}

/// The two leads, once each.
fn assert_one_row_per_lead(run: &Run, table: &str) {
    let leads: Vec<String> = rows(&run.out().join(table))
        .iter()
        .map(|r| get(r, "lead_id").unwrap().to_string())
        .collect();
    let unique: BTreeSet<_> = leads.iter().collect();
    assert_eq!((unique.len(), leads.len()), (2, 2), "{table}: {leads:?}");
}

#[test]
fn a_stale_site_is_recrawled_conditionally_and_a_fresh_one_is_not_fetched() {
    let Scenario { run, fresh, stale } = scenario(&Store::Sqlite);
    // The commit that held both sites was split: the copy holding the fresh site's rows now
    // answers for that site. Damaged, it is taken back with the fresh site (and only it), which
    // is crawled again, and nothing is left twice.
    let (f, s) = (fresh.hits().len(), stale.hits().len());
    let copy = run.out().join("pages/part-00001.parquet");
    let bytes = std::fs::read(&copy).unwrap();
    std::fs::write(&copy, &bytes[..bytes.len() / 2]).unwrap();
    let o = run.run(&["run", "--stages", "ingest,crawl,extract,embed"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(text(&o).contains("damaged part"), "{}", text(&o));
    assert!(
        fresh.hits().len() > f,
        "the fresh site's rows were in the damaged copy"
    );
    assert_eq!(
        stale.hits().len(),
        s,
        "the re-crawled site's own part is intact"
    );
    assert_eq!(stage_status(&status_json(&run), "crawl")["units_done"], 2);
    assert_no_duplicates(&run);
}

#[test]
fn a_stale_site_is_recrawled_conditionally_on_postgres_too() {
    scenario(&Store::Postgres(pg_database()));
}

/// The run folder and the two sites' servers, after [`scenario`].
struct Scenario {
    run: Run,
    fresh: Web,
    stale: Web,
}

/// Two sites crawled and extracted; one made stale; the next run re-crawls only that one,
/// conditionally, and extract and embed redo only its lead. Ends with both sites fresh.
fn scenario(store: &Store) -> Scenario {
    let changed = Arc::new(AtomicBool::new(false));
    let fresh = site("Fresco", changed.clone());
    let stale = site("Vecchio", changed.clone());
    let (fresh_key, stale_key) = (fresh.addr.to_string(), stale.addr.to_string());
    let run = Run::new();
    run.write(
        "leads.csv",
        format!(
            "name,website\nFresco,{}\nVecchio,{}\n",
            fresh.url("/"),
            stale.url("/")
        ),
    );
    run.config(&config(store));
    let stages = ["run", "--stages", "ingest,crawl,extract,embed"];
    let o = run.run(&stages);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let pages_before = rows(&run.out().join("pages"));
    let parts = || {
        let mut v: Vec<String> = std::fs::read_dir(run.out().join("pages"))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    };
    if let Store::Sqlite = store {
        assert_eq!(
            parts(),
            ["part-00000.parquet"],
            "both sites in one part: the refresh must split it"
        );
    }
    let texts = rows(&run.out().join("page_text"));
    for key in [&fresh_key, &stale_key] {
        assert!(text_of(&texts, key, "/b.html").contains("first edition"));
    }
    let (fresh_hits, stale_hits) = (fresh.hits().len(), stale.hits().len());
    assert!(fresh_hits >= 3 && stale_hits >= 3);

    // Within the age limit: nothing is fetched, nothing runs.
    let o = run.run(&stages);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert_eq!(text(&o).matches("up to date").count(), 4, "{}", text(&o));
    assert_eq!(fresh.hits().len(), fresh_hits);
    assert_eq!(stale.hits().len(), stale_hits);

    // Both servers change; only the stale site is looked at again.
    changed.store(true, Ordering::SeqCst);
    age(&run, store, &stale_key);
    let o = run.run(&stages);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert_eq!(
        fresh.hits().len(),
        fresh_hits,
        "the fresh site is not fetched"
    );
    let again: Vec<Hit> = stale.hits().into_iter().skip(stale_hits).collect();
    let head_of = |p: &str| {
        again
            .iter()
            .find(|h| h.path == p)
            .map(|h| h.head.to_ascii_lowercase())
            .unwrap_or_else(|| panic!("{p} not requested again"))
    };
    assert!(head_of("/").contains("if-none-match: \"vecchio-home-1\""));
    assert!(head_of("/a.html").contains("if-none-match: \"vecchio-a-1\""));
    assert!(head_of("/b.html").contains("if-none-match: \"vecchio-b-1\""));

    let pages = rows(&run.out().join("pages"));
    if let Store::Sqlite = store {
        assert_eq!(
            parts(),
            ["part-00001.parquet", "part-00002.parquet"],
            "the old part replaced by a copy with the fresh site's rows, then the re-crawled site"
        );
    }
    // The fresh site's rows are the very rows of the first crawl (copied, not fetched again).
    assert_eq!(
        of_site(&pages, &fresh_key, None),
        of_site(&pages_before, &fresh_key, None)
    );
    let status_of = |p: &str| {
        of_site(&pages, &stale_key, Some("page"))
            .into_iter()
            .find(|r| get(r, "url").is_some_and(|u| u.ends_with(p)))
            .and_then(|r| get(r, "status"))
            .unwrap()
            .to_string()
    };
    assert_eq!(status_of("/"), "304");
    assert_eq!(status_of("/a.html"), "304");
    assert_eq!(status_of("/b.html"), "200");
    assert_no_duplicates(&run);

    // Extract ran again on the refreshed pages: 304 pages keep their text, the changed page
    // has its new text, the fresh site's pages are as they were.
    let texts = rows(&run.out().join("page_text"));
    assert!(text_of(&texts, &stale_key, "/a.html").contains("Vecchio about us"));
    assert!(text_of(&texts, &stale_key, "/").contains("Vecchio home"));
    let b = text_of(&texts, &stale_key, "/b.html");
    assert!(b.contains("second edition"), "{b}");
    assert!(text_of(&texts, &fresh_key, "/b.html").contains("first edition"));
    // The chunks (and so the vector) of the stale lead are of its new text.
    let chunks = rows(&run.out().join("chunks"));
    let chunk_text = |site: &str| -> String {
        chunks
            .iter()
            .filter(|r| get(r, "source").is_some_and(|u| u.contains(site)))
            .filter_map(|r| get(r, "text"))
            .collect::<Vec<_>>()
            .join("\n")
    };
    assert!(chunk_text(&stale_key).contains("second edition"));
    assert!(!chunk_text(&stale_key).contains("first edition"));
    assert!(chunk_text(&fresh_key).contains("first edition"));

    let st = status_json(&run);
    let crawl = stage_status(&st, "crawl");
    assert_eq!(crawl["status"], "done", "{crawl}");
    assert_eq!(crawl["units_done"], 2, "{crawl}");
    assert_eq!(crawl["counters"]["sites_refreshed"], 1, "{crawl}");
    assert_eq!(crawl["counters"]["not_modified"], 2, "{crawl}");
    let results: serde_json::Value =
        serde_json::from_slice(&std::fs::read(run.out().join("run_results.json")).unwrap())
            .unwrap();
    let crawl_result = results["stages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["stage"] == "crawl")
        .unwrap();
    assert_eq!(crawl_result["counters"]["sites_refreshed"], 1, "{results}");
    // Extract and embed redid the stale site's lead only: the other was kept (not reset).
    for stage in ["extract", "embed"] {
        let r = results["stages"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["stage"] == stage)
            .unwrap();
        assert_eq!(r["status"], "done", "{r}");
        assert_eq!(r["units_skipped"], 1, "{stage} kept the fresh lead: {r}");
        assert_eq!(r["units_done"], 2, "{r}");
        assert_eq!(r["counters"]["units_refreshed"], 1, "{r}");
    }
    assert_eq!(
        text(&o).matches("inputs refreshed in part").count(),
        2,
        "{}",
        text(&o)
    );
    assert!(
        !run.out().join(".previous/crawl").exists(),
        "the old pages kept for the conditional requests go once the crawl is done"
    );

    // Refreshed, the site is fresh again: the next run fetches nothing.
    let (f, s) = (fresh.hits().len(), stale.hits().len());
    let o = run.run(&stages);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert_eq!((fresh.hits().len(), stale.hits().len()), (f, s));
    Scenario { run, fresh, stale }
}

#[test]
fn a_negative_or_absurd_age_is_a_config_error_naming_the_key() {
    let run = Run::new();
    run.write("leads.csv", "name,website\nA,https://example.org/\n");
    run.config(&config(&Store::Sqlite));
    for bad in ["-1", "nan", "100000"] {
        let o = run.run(&["validate", "--set", &format!("crawl.max_age_days={bad}")]);
        assert_eq!(o.status.code(), Some(2), "{bad}: {}", text(&o));
        assert!(text(&o).contains("crawl.max_age_days"), "{}", text(&o));
    }
    let o = run.run(&["validate", "--set", "crawl.max_age_days=0.5"]);
    assert_eq!(o.status.code(), Some(0), "fractions of a day: {}", text(&o));
}

#[test]
fn a_refresh_killed_midway_resumes_conditionally_and_downstream_redoes_only_its_lead() {
    let changed = Arc::new(AtomicBool::new(false));
    let fresh = site("Fresco", changed.clone());
    let stale = site("Vecchio", changed.clone());
    let stale_key = stale.addr.to_string();
    let run = Run::new();
    run.write(
        "leads.csv",
        format!(
            "name,website\nFresco,{}\nVecchio,{}\n",
            fresh.url("/"),
            stale.url("/")
        ),
    );
    run.config(&config(&Store::Sqlite));
    let stages = ["run", "--stages", "ingest,crawl,extract"];
    assert_eq!(run.run(&stages).status.code(), Some(0));
    let (fresh_hits, stale_hits) = (fresh.hits().len(), stale.hits().len());
    changed.store(true, Ordering::SeqCst);
    age(&run, &Store::Sqlite, &stale_key);

    // Killed once the stale site was taken back (its part split) and while its new pages wait
    // to be committed.
    let mut child = run
        .cmd(&stages)
        .env("LEADCRAWL_TEST_UNIT_DELAY_MS", "5000")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let copy = run.out().join("pages/part-00001.parquet");
    let t = std::time::Instant::now();
    while !copy.exists() && t.elapsed() < std::time::Duration::from_secs(30) {
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    assert!(copy.exists(), "the refresh split the part");
    std::thread::sleep(std::time::Duration::from_millis(1500));
    child.kill().unwrap();
    child.wait().unwrap();
    let st = status_json(&run);
    assert_eq!(stage_status(&st, "crawl")["units_done"], 1, "{st}");
    assert!(
        run.out().join(".previous/crawl/pages").is_dir(),
        "the old pages wait for the resumed refresh"
    );

    let before_resume = stale.hits().len();
    let o = run.run(&stages);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert_eq!(
        fresh.hits().len(),
        fresh_hits,
        "the fresh site is never fetched"
    );
    assert!(before_resume >= stale_hits);
    let resumed: Vec<Hit> = stale.hits().into_iter().skip(before_resume).collect();
    let home = resumed
        .iter()
        .find(|h| h.path == "/")
        .expect("the resumed run crawls the stale site");
    assert!(
        home.head
            .to_ascii_lowercase()
            .contains("if-none-match: \"vecchio-home-1\""),
        "still conditional after the kill: {}",
        home.head
    );
    assert_no_duplicates_before_embed(&run);
    let texts = rows(&run.out().join("page_text"));
    assert!(text_of(&texts, &stale_key, "/a.html").contains("Vecchio about us"));
    assert!(text_of(&texts, &stale_key, "/b.html").contains("second edition"));
    assert!(text_of(&texts, &fresh.addr.to_string(), "/b.html").contains("first edition"));
    let results: serde_json::Value =
        serde_json::from_slice(&std::fs::read(run.out().join("run_results.json")).unwrap())
            .unwrap();
    let extract = results["stages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["stage"] == "extract")
        .unwrap();
    assert_eq!(extract["units_skipped"], 1, "{extract}");
    assert_eq!(extract["counters"]["units_refreshed"], 1, "{extract}");
}
