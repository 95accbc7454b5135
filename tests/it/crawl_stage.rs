//! The crawl stage through the real binary: Parquet output, recorded failures and exit code 3,
//! politeness across the stage from the servers' logs, and resume after SIGKILL.

use std::collections::BTreeSet;
use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::common::*;
use crate::web::*;

fn company_site(n: usize) -> Handler {
    let links: Vec<(String, String)> = (0..n)
        .map(|i| (format!("/p{i}.html"), format!("Page {i}")))
        .collect();
    Arc::new(move |path, _| match path {
        "/robots.txt" => with_headers(
            200,
            &[("Content-Type", "text/plain")],
            b"User-agent: *\nDisallow: /private/\n",
        ),
        "/" => {
            let refs: Vec<(&str, &str)> = links
                .iter()
                .map(|(a, b)| (a.as_str(), b.as_str()))
                .collect();
            let mut body = page("Home", &refs);
            body.push_str("<a href=\"/private/x.html\">private</a>");
            html(&body)
        }
        p if p.starts_with("/p") => html(&page(p, &[("/", "Home")])),
        _ => status(404),
    })
}

fn config(extra: &str) -> String {
    format!(
        "[pipeline]\noutput_dir = \"out\"\n[ingest]\ninput = \"leads.csv\"\n[crawl]\nallow_private_networks = true\n\
         contact_url = \"https://example.org/bot\"\nmax_retries = 1\nretry_base_ms = 10\nconnect_timeout_secs = 1.0\n\
         read_timeout_secs = 2.0\n{extra}\n[registry]\nregistries = []\n"
    )
}

#[test]
fn crawl_stage_writes_pages_records_dead_sites_and_stays_polite() {
    let sites: Vec<Web> = (0..3).map(|_| Web::start(company_site(4))).collect();
    let dead = format!("http://{}:9/", fresh_ip());
    let run = Run::new();
    let mut csv = String::from("name,website,status\n");
    for (i, s) in sites.iter().enumerate() {
        csv.push_str(&format!("Company {i},{},won\n", s.url("/")));
    }
    csv.push_str(&format!("Dead Co,{dead},lost\nNo Site Co,,lost\n"));
    run.write("leads.csv", csv);
    run.config(&config("requests_per_second = 20.0\npart_rows = 7\n"));
    let o = run.run(&["run"]);
    assert_eq!(
        o.status.code(),
        Some(3),
        "a dead site is a recorded failure: {}",
        text(&o)
    );

    let pages = rows(&run.out().join("pages"));
    let leads = rows(&run.out().join("leads"));
    for (i, s) in sites.iter().enumerate() {
        let lead = leads
            .iter()
            .find(|l| get(l, "name") == Some(&format!("Company {i}")))
            .unwrap();
        let mine: Vec<_> = pages
            .iter()
            .filter(|p| get(p, "lead_id") == get(lead, "lead_id"))
            .collect();
        let kinds: Vec<_> = mine.iter().map(|p| get(p, "kind").unwrap()).collect();
        assert_eq!(
            kinds.iter().filter(|k| **k == "page").count(),
            5,
            "home + 4 pages: {kinds:?}"
        );
        assert_eq!(kinds.iter().filter(|k| **k == "robots").count(), 1);
        for p in mine.iter().filter(|p| get(p, "kind") == Some("page")) {
            assert_eq!(get(p, "status"), Some("200"));
            assert!(get(p, "error_kind").is_none());
            assert_eq!(get(p, "site"), Some(s.addr.to_string().as_str()));
        }
        // Server side: 20 requests/s → never closer than 50 ms; never the disallowed page.
        let gap = s.min_gap().unwrap();
        assert!(gap >= Duration::from_millis(50), "site {i}: {gap:?}");
        assert!(!s.paths().iter().any(|p| p.starts_with("/private/")));
    }
    let dead_rows: Vec<_> = pages
        .iter()
        .filter(|p| get(p, "url").is_some_and(|u| u.starts_with(&dead)))
        .collect();
    assert_eq!(dead_rows.len(), 1, "one attempt recorded for the dead site");
    assert_eq!(get(dead_rows[0], "error_kind"), Some("connect"));
    assert_eq!(get(dead_rows[0], "attempts"), Some("2"));

    let st = status_json(&run);
    let crawl = stage_status(&st, "crawl");
    assert_eq!(crawl["status"], "done");
    assert_eq!(crawl["units_total"], 4);
    assert_eq!(crawl["units_failed"], 1);
    assert!(
        crawl["failures"][0][1]
            .as_str()
            .unwrap()
            .starts_with("unreachable: connect"),
        "{crawl}"
    );
    assert_eq!(crawl["counters"]["pages_ok"], 15);

    // Types as a reader sees them.
    let check = "import sys, pyarrow.parquet as pq, pyarrow as pa\n\
                 t = pq.read_table(sys.argv[1])\n\
                 assert t.schema.field('html').type == pa.binary()\n\
                 assert str(t.schema.field('fetched_at').type) == 'timestamp[us, tz=UTC]', t.schema.field('fetched_at').type\n\
                 assert t.schema.field('status').type == pa.int32()\n\
                 h = [x for x in t.column('html').to_pylist() if x]\n\
                 assert any(b'<h1>Home</h1>' in x for x in h)\n\
                 print('pages ok', t.num_rows)";
    let o = std::process::Command::new(python())
        .args(["-c", check])
        .arg(run.out().join("pages"))
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", text(&o));

    // A second run does nothing and asks the servers nothing.
    let before: usize = sites.iter().map(|s| s.hits().len()).sum();
    let o = run.run(&["run"]);
    assert_eq!(o.status.code(), Some(3), "failures stay recorded");
    assert_eq!(sites.iter().map(|s| s.hits().len()).sum::<usize>(), before);
}

fn page_keys(run: &Run) -> Vec<(String, String, String)> {
    rows(&run.out().join("pages"))
        .iter()
        .map(|r| {
            (
                get(r, "lead_id").unwrap().into(),
                get(r, "url").unwrap().into(),
                get(r, "kind").unwrap().into(),
            )
        })
        .collect()
}

#[test]
fn crawl_resumes_after_sigkill_without_duplicates_or_losses() {
    let sites: Vec<Web> = (0..24).map(|_| Web::start(company_site(3))).collect();
    let mut csv = String::from("name,website\n");
    for (i, s) in sites.iter().enumerate() {
        csv.push_str(&format!("Company {i},{}\n", s.url("/")));
    }
    let make = || {
        let r = Run::new();
        r.write("leads.csv", &csv);
        r.config(&config(
            "requests_per_second = 200.0\npart_rows = 1\nconcurrency = 4\n",
        ));
        r
    };
    let reference = make();
    let o = reference.run(&["run"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let mut want = page_keys(&reference);
    want.sort();
    assert_eq!(
        want.len(),
        24 * 6,
        "robots + home + 3 pages + sitemap per site"
    );

    let run = make();
    assert!(run.run(&["run", "--stages", "ingest"]).status.success());
    let parts = |r: &Run| {
        std::fs::read_dir(r.out().join("pages"))
            .map(|d| d.count())
            .unwrap_or(0)
    };
    for round in 0..3u64 {
        let mut child = run
            .cmd(&["run"])
            .env("LEADCRAWL_TEST_UNIT_DELAY_MS", "60")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let target = parts(&run) + 2 + (round as usize % 3);
        let t = Instant::now();
        while parts(&run) < target && t.elapsed() < Duration::from_secs(30) {
            std::thread::sleep(Duration::from_millis(3));
        }
        std::thread::sleep(Duration::from_millis(7 * round + 5));
        child.kill().unwrap();
        child.wait().unwrap();
        let st = status_json(&run);
        let crawl = stage_status(&st, "crawl");
        assert_eq!(crawl["status"], "interrupted", "{crawl}");
        assert!(crawl["units_done"].as_u64().unwrap() < 24);
    }
    let o = run.run(&["run"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let mut got = page_keys(&run);
    got.sort();
    let unique: BTreeSet<_> = got.iter().collect();
    assert_eq!(unique.len(), got.len(), "no duplicate rows");
    assert_eq!(got, want, "same rows as an uninterrupted crawl");
}

#[test]
fn a_forced_recrawl_sends_conditional_requests_and_keeps_unchanged_pages() {
    use std::sync::atomic::{AtomicBool, Ordering};
    let changed = Arc::new(AtomicBool::new(false));
    let flag = changed.clone();
    const LAST_MOD: &str = "Wed, 21 Oct 2026 07:28:00 GMT";
    let web = Web::start_with_head(
        &fresh_ip(),
        Arc::new(move |path, _, head| {
            let head = head.to_ascii_lowercase();
            // (body, etag, last-modified) as the server has them now.
            let (body, etag, lastmod) = match path {
                "/robots.txt" => return status(404),
                "/" => (
                    page("Home", &[("/a.html", "A"), ("/b.html", "B")]),
                    Some("\"home-1\""),
                    None,
                ),
                "/a.html" => (page("A", &[]), None, Some(LAST_MOD)),
                "/b.html" if flag.load(Ordering::SeqCst) => {
                    (page("B two", &[]), Some("\"b-2\""), None)
                }
                "/b.html" => (page("B one", &[]), Some("\"b-1\""), None),
                _ => return status(404),
            };
            let fresh = etag.is_some_and(|e| head.contains(&format!("if-none-match: {e}")))
                || lastmod.is_some_and(|m| {
                    head.contains(&format!("if-modified-since: {}", m.to_ascii_lowercase()))
                });
            let mut headers = vec![("Content-Type", "text/html")];
            if let Some(e) = etag {
                headers.push(("ETag", e));
            }
            if let Some(m) = lastmod {
                headers.push(("Last-Modified", m));
            }
            if fresh {
                with_headers(304, &headers, b"")
            } else {
                with_headers(200, &headers, body.as_bytes())
            }
        }),
    );
    let run = Run::new();
    run.write(
        "leads.csv",
        format!("name,website\nAcme,{}\n", web.url("/")),
    );
    run.config(&config("requests_per_second = 100.0\n"));
    assert_eq!(run.run(&["run"]).status.code(), Some(0));
    let first = rows(&run.out().join("pages"));
    let n_first = web.hits().len();
    changed.store(true, Ordering::SeqCst);
    let o = run.run(&["run", "--force", "crawl"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let second: Vec<Hit> = web.hits().into_iter().skip(n_first).collect();
    let head_of = |p: &str| {
        second
            .iter()
            .find(|h| h.path == p)
            .map(|h| h.head.to_ascii_lowercase())
            .unwrap()
    };
    assert!(
        head_of("/").contains("if-none-match: \"home-1\""),
        "{}",
        head_of("/")
    );
    assert!(head_of("/a.html").contains("if-modified-since: wed, 21 oct 2026 07:28:00 gmt"));
    assert!(head_of("/b.html").contains("if-none-match: \"b-1\""));

    let again = rows(&run.out().join("pages"));
    let by_path = |t: &[std::collections::BTreeMap<String, Option<String>>], p: &str| {
        t.iter()
            .find(|r| {
                get(r, "kind") == Some("page") && get(r, "url").is_some_and(|u| u.ends_with(p))
            })
            .cloned()
            .unwrap()
    };
    for p in ["/", "/a.html"] {
        let (old, new) = (by_path(&first, p), by_path(&again, p));
        assert_eq!(get(&new, "status"), Some("304"), "{p}");
        assert_eq!(
            get(&new, "html"),
            get(&old, "html"),
            "{p}: unchanged page keeps its HTML"
        );
        assert!(get(&new, "html").is_some());
    }
    let b = by_path(&again, "/b.html");
    assert_eq!(get(&b, "status"), Some("200"));
    assert_eq!(get(&b, "etag"), Some("\"b-2\""));
    let st = status_json(&run);
    assert_eq!(stage_status(&st, "crawl")["counters"]["not_modified"], 2);
    assert!(
        !run.out().join(".previous/crawl").exists(),
        "the previous crawl is removed once the new one is done"
    );
}

#[test]
fn a_changed_lead_list_reruns_ingest_then_crawl() {
    let a = Web::start(company_site(1));
    let b = Web::start(company_site(1));
    let run = Run::new();
    run.write("leads.csv", format!("name,website\nA,{}\n", a.url("/")));
    run.config(&config("requests_per_second = 100.0\n"));
    assert_eq!(run.run(&["run"]).status.code(), Some(0));
    let o = run.run(&["run"]);
    assert!(
        text(&o).matches("up to date").count() == 10,
        "ingest, crawl, extract, registry, universe, prospects, embed, features, evaluate, score: {}",
        text(&o)
    );
    run.write(
        "leads.csv",
        format!("name,website\nA,{}\nB,{}\n", a.url("/"), b.url("/")),
    );
    let o = run.run(&["run"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert_eq!(
        text(&o).matches("inputs or config changed").count(),
        9,
        "every stage that reads the lead list re-runs (not the universe): {}",
        text(&o)
    );
    let sites: BTreeSet<String> = rows(&run.out().join("pages"))
        .iter()
        .map(|r| get(r, "site").unwrap().to_string())
        .collect();
    assert_eq!(sites.len(), 2);
}
