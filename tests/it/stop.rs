//! SIGTERM in each per-lead stage, whatever the servers do: the process exits 130 within a few
//! seconds (the README promises a stop after the unit in flight; a registry request in flight
//! is abandoned, a long embedding part is cut between model calls), and the re-run's table
//! equals an uninterrupted run's.

use std::collections::BTreeMap;
use std::process::{Child, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::common::*;
use crate::web::*;

/// Sends SIGTERM and returns the exit code and how long the process took to exit.
fn term(child: &mut Child) -> (Option<i32>, Duration) {
    sigterm(child);
    let t = Instant::now();
    loop {
        if let Some(s) = child.try_wait().unwrap() {
            return (s.code(), t.elapsed());
        }
        if t.elapsed() > Duration::from_secs(60) {
            let _ = child.kill();
            panic!("no exit within 60 s of SIGTERM");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn wait_for(what: &str, mut ok: impl FnMut() -> bool) {
    let t = Instant::now();
    while !ok() {
        assert!(
            t.elapsed() < Duration::from_secs(60),
            "timed out waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A table's rows keyed by lead, without the columns that record when something happened.
fn by_lead(
    run: &Run,
    table: &str,
    drop: &[&str],
) -> BTreeMap<String, BTreeMap<String, Option<String>>> {
    rows(&run.out().join(table))
        .into_iter()
        .map(|mut r| {
            for d in drop {
                r.remove(*d);
            }
            (get(&r, "lead_id").unwrap().to_owned(), r)
        })
        .collect()
}

/// The mock API Recherche d'entreprises: one company per name; while `hang` is set it accepts
/// every request and never answers.
fn sirene(hang: Arc<AtomicBool>) -> Handler {
    Arc::new(move |path, _| {
        if hang.load(Ordering::SeqCst) {
            return Reply::Delay(Duration::from_secs(3600), Box::new(status(500)));
        }
        let body = sirene_answer(path, "MAISON", 200_000_000, "69001", "LYON");
        with_headers(200, &[("Content-Type", "application/json")], &body)
    })
}

fn registry_run(server: &Web, leads: usize) -> Run {
    let run = Run::new();
    let mut csv = String::from("name,country\n");
    for i in 0..leads {
        csv.push_str(&format!("Maison {i},FR\n"));
    }
    run.write("leads.csv", csv);
    run.config(&format!(
        "[pipeline]\noutput_dir = \"out\"\n[ingest]\ninput = \"leads.csv\"\n\
         [registry]\nregistries = [\"sirene\"]\nsirene_url = \"{}\"\nallow_private_networks = true\n\
         sirene_rps = 50.0\ntimeout_secs = 600.0\nmax_retries = 0\n",
        server.url("")
    ));
    let o = run.run(&["run", "--stages", "ingest,crawl,extract"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    run
}

#[test]
fn sigterm_abandons_a_registry_request_that_never_answers_and_the_rerun_equals_a_clean_run() {
    const LEADS: usize = 12;
    let hang = Arc::new(AtomicBool::new(true));
    let server = Web::start(sirene(hang.clone()));
    let run = registry_run(&server, LEADS);
    let mut child = run
        .cmd(&["run", "--stages", "registry"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    wait_for("a registry request", || !server.hits().is_empty());
    std::thread::sleep(Duration::from_millis(300));
    let (code, took) = term(&mut child);
    eprintln!("registry: exited {code:?} {took:?} after SIGTERM, a request in flight");
    assert_eq!(code, Some(130));
    assert!(took < Duration::from_secs(5), "took {took:?} to stop");
    let st = status_json(&run);
    assert_eq!(stage_status(&st, "registry")["status"], "interrupted");

    // The registry answers again: the re-run does what is left; the table equals a clean run's.
    hang.store(false, Ordering::SeqCst);
    let o = run.run(&["run", "--stages", "registry"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let clean = registry_run(&server, LEADS);
    let o = clean.run(&["run", "--stages", "registry"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let got = by_lead(&run, "registry", &[]);
    assert_eq!(got.len(), LEADS);
    assert_eq!(got, by_lead(&clean, "registry", &[]));
}

/// Each lead's pooled vector.
fn vectors(r: &Run) -> BTreeMap<String, Vec<f32>> {
    use arrow::array::AsArray;
    let mut out = BTreeMap::new();
    for b in read_table(&r.out().join("lead_embeddings")) {
        let ids = b.column_by_name("lead_id").unwrap().as_string::<i32>();
        let v = b.column_by_name("vector").unwrap().as_fixed_size_list();
        for i in 0..b.num_rows() {
            let x = v.value(i);
            let x = x.as_primitive::<arrow::datatypes::Float32Type>();
            out.insert(ids.value(i).to_owned(), x.values().to_vec());
        }
    }
    out
}

/// Vectors of the same leads agree to float noise (runs may embed in other batches).
fn same_vectors(a: &BTreeMap<String, Vec<f32>>, b: &BTreeMap<String, Vec<f32>>) {
    assert_eq!(a.keys().collect::<Vec<_>>(), b.keys().collect::<Vec<_>>());
    for (k, x) in a {
        let dot: f32 = x.iter().zip(&b[k]).map(|(p, q)| p * q).sum();
        assert!(dot > 0.9999, "{k}: cosine {dot}");
    }
}

fn embed_run(leads: usize) -> Run {
    let run = Run::new();
    let mut csv = String::from("name,description\n");
    for i in 0..leads {
        csv.push_str(&format!(
            "Lead {i},\"Company number {i} designs {} for {} clients in {} markets. It was founded in {} and employs {} people.\"\n",
            ["software", "bread", "insurance", "steel", "furniture"][i % 5],
            ["small", "large", "public", "foreign"][i % 4],
            ["European", "Asian", "American"][i % 3],
            1950 + i % 70,
            10 + i * 7
        ));
    }
    run.write("leads.csv", csv);
    // One long part: the stop must come between model calls, not at the part's end. fp32: its
    // vectors do not depend on the batch, so a resumed run must equal a clean one to float
    // noise; int8 quantises activations per batch (cosine to itself in another batch > 0.99).
    run.config(&format!(
        "[pipeline]\noutput_dir = \"out\"\n[ingest]\ninput = \"leads.csv\"\n\
         [registry]\nregistries = []\n[embed]\npart_leads = {leads}\nthreads = 1\nprecision = \"fp32\"\n"
    ));
    let o = run.run(&["run", "--stages", "ingest,crawl,extract"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    run
}

#[test]
fn sigterm_cuts_a_long_embedding_part_between_model_calls_and_the_rerun_equals_a_clean_run() {
    const LEADS: usize = 600;
    let run = embed_run(LEADS);
    let log = run.path().join("embed.log");
    let mut child = run
        .cmd(&["run", "--stages", "embed"])
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    // Once the model is loaded and the part under way (the cache fills as calls finish).
    let cache = run.out().join("embed-cache.sqlite");
    wait_for("the embedding cache", || cache.exists());
    std::thread::sleep(Duration::from_millis(1500));
    let (code, took) = term(&mut child);
    eprintln!("embed: exited {code:?} {took:?} after SIGTERM, one part of {LEADS} leads in flight");
    assert_eq!(
        code,
        Some(130),
        "{}",
        std::fs::read_to_string(&log).unwrap_or_default()
    );
    assert!(took < Duration::from_secs(5), "took {took:?} to stop");
    assert!(
        rows(&run.out().join("lead_embeddings")).is_empty(),
        "the part in flight is not committed"
    );
    let o = run.run(&["run", "--stages", "embed"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let clean = embed_run(LEADS);
    let o = clean.run(&["run", "--stages", "embed"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    // The same vectors (to float noise: the resumed run embeds in other batches).
    let a = vectors(&run);
    assert_eq!(a.len(), LEADS);
    same_vectors(&a, &vectors(&clean));
}

/// The kill -9 sweep for the embed stage: killed at several moments (between and during its
/// commits), every re-run resumes; the final table has each lead once with the vectors of an
/// uninterrupted run.
#[test]
fn embed_killed_at_several_moments_resumes_to_the_uninterrupted_table() {
    const LEADS: usize = 60;
    let run = embed_run(LEADS);
    run.config(
        "[pipeline]\noutput_dir = \"out\"\n[ingest]\ninput = \"leads.csv\"\n\
         [registry]\nregistries = []\n[embed]\npart_leads = 4\nthreads = 1\nprecision = \"fp32\"\n",
    );
    let parts = |r: &Run| {
        std::fs::read_dir(r.out().join("lead_embeddings"))
            .map(|d| {
                d.flatten()
                    .filter(|e| e.file_name().to_string_lossy().starts_with("part-"))
                    .count()
            })
            .unwrap_or(0)
    };
    // Kill after 1, 4 and 9 committed parts, at varied instants within a commit's delay.
    for (n, extra_ms) in [(1usize, 0u64), (4, 70), (9, 130)] {
        let mut child = run
            .cmd(&["run", "--stages", "embed"])
            .env("LEADCRAWL_TEST_UNIT_DELAY_MS", "200")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        wait_for("parts", || parts(&run) >= n);
        std::thread::sleep(Duration::from_millis(extra_ms));
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
    }
    let done = stage_status(&status_json(&run), "embed")["units_done"]
        .as_u64()
        .unwrap();
    assert!(
        done < LEADS as u64,
        "the kills came before the end ({done})"
    );
    let o = run.run(&["run", "--stages", "embed"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let got = by_lead(&run, "lead_embeddings", &[]);
    assert_eq!(got.len(), LEADS);
    assert_eq!(
        rows(&run.out().join("lead_embeddings")).len(),
        LEADS,
        "no lead twice"
    );
    let clean = embed_run(LEADS);
    let o = clean.run(&["run", "--stages", "embed"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let want = by_lead(&clean, "lead_embeddings", &[]);
    for (k, r) in &got {
        assert_eq!(r["chunk_count"], want[k]["chunk_count"], "{k}");
    }
    same_vectors(&vectors(&run), &vectors(&clean));
}

/// SIGTERM while the crawl waits on a page that trickles one byte at a time: the fetch is cut,
/// the process exits 130 at once, and the re-run (the server healthy again) crawls what is
/// left; the table has every URL of a clean run once.
#[test]
fn sigterm_cuts_a_trickling_crawl_and_the_rerun_equals_a_clean_run() {
    let slow = Arc::new(AtomicBool::new(true));
    let s2 = slow.clone();
    let server = Web::start(Arc::new(move |path, _| match path {
        "/robots.txt" => with_headers(200, &[("Content-Type", "text/plain")], b"User-agent: *\n"),
        "/" if s2.load(Ordering::SeqCst) => Reply::Trickle {
            headers: vec![("Content-Type".into(), "text/html".into())],
            body: vec![b' '; 100_000],
            every: Duration::from_millis(100),
        },
        "/" => html(&page("Home", &[("/about", "About us")])),
        "/about" => html(&page("About", &[])),
        _ => status(404),
    }));
    let setup = || {
        let run = Run::new();
        run.write(
            "leads.csv",
            format!("name,website\nSlow Co,{}\n", server.url("/")),
        );
        run.config(
            "[pipeline]\noutput_dir = \"out\"\n[ingest]\ninput = \"leads.csv\"\n\
             [crawl]\nallow_private_networks = true\ncontact_url = \"https://example.org/bot\"\n\
             read_timeout_secs = 600.0\nsite_time_budget_secs = 3600.0\nrequests_per_second = 50.0\n\
             [registry]\nregistries = []\n",
        );
        let o = run.run(&["run", "--stages", "ingest"]);
        assert_eq!(o.status.code(), Some(0), "{}", text(&o));
        run
    };
    let run = setup();
    let mut child = run
        .cmd(&["run", "--stages", "crawl"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    wait_for("the home page request", || {
        server.hits().iter().any(|h| h.path == "/")
    });
    std::thread::sleep(Duration::from_millis(300));
    let (code, took) = term(&mut child);
    eprintln!("crawl: exited {code:?} {took:?} after SIGTERM, a page trickling in");
    assert_eq!(code, Some(130));
    assert!(took < Duration::from_secs(5), "took {took:?} to stop");

    slow.store(false, Ordering::SeqCst);
    let o = run.run(&["run", "--stages", "crawl"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let clean = setup();
    let o = clean.run(&["run", "--stages", "crawl"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let urls = |r: &Run| {
        let mut u: Vec<(String, String)> = rows(&r.out().join("pages"))
            .iter()
            .map(|p| {
                (
                    get(p, "url").unwrap().to_owned(),
                    get(p, "status").unwrap_or("").to_owned(),
                )
            })
            .collect();
        u.sort();
        u
    };
    assert_eq!(urls(&run), urls(&clean));
}

/// SIGTERM while ingest streams a large file: it stops between batches (each batch's rows are
/// committed with their lines), exits 130 at once, and the re-run reads on from the next batch;
/// the leads table equals a clean run's, row for row.
#[test]
fn sigterm_stops_ingest_between_batches_and_the_rerun_equals_a_clean_run() {
    const ROWS: usize = 120_000;
    let mut csv = String::from("name,website,country,status,description\n");
    for i in 0..ROWS {
        csv.push_str(&format!(
            "Company {i},https://c{i}.example.com,FR,{},Makes product {} for {} clients\n",
            ["won", "lost", ""][i % 3],
            i % 97,
            ["small", "large"][i % 2]
        ));
    }
    let setup = || {
        let run = Run::new();
        run.write("leads.csv", &csv);
        run.config(
            "[pipeline]\noutput_dir = \"out\"\n[ingest]\ninput = \"leads.csv\"\nbatch_rows = 2000\n\
             [registry]\nregistries = []\n",
        );
        run
    };
    let run = setup();
    let log = run.path().join("ingest.log");
    let mut child = run
        .cmd(&["run", "--stages", "ingest"])
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    let parts = |r: &Run| {
        std::fs::read_dir(r.out().join("leads"))
            .map(|d| d.count())
            .unwrap_or(0)
    };
    wait_for("the first committed batches", || parts(&run) >= 2);
    let (code, took) = term(&mut child);
    let committed = parts(&run);
    eprintln!("ingest: exited {code:?} {took:?} after SIGTERM, {committed} parts committed");
    assert_eq!(
        code,
        Some(130),
        "{}",
        std::fs::read_to_string(&log).unwrap_or_default()
    );
    assert!(took < Duration::from_secs(5), "took {took:?} to stop");
    assert!(
        committed < ROWS / 2000,
        "stopped before the end ({committed} parts)"
    );
    let o = run.run(&["run", "--stages", "ingest"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let clean = setup();
    let o = clean.run(&["run", "--stages", "ingest"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let a = by_lead(&run, "leads", &[]);
    assert_eq!(a.len(), ROWS);
    assert!(a == by_lead(&clean, "leads", &[]), "the tables differ");
}

/// SIGTERM while extract works through a large part of heavy pages: it stops between sites,
/// exits 130 at once, commits the sites it finished (the others stay pending), and the
/// re-run's tables equal a clean run's.
#[test]
fn sigterm_stops_extract_between_sites_and_the_rerun_equals_a_clean_run() {
    const SITES: usize = 24;
    const PAGES: usize = 8;
    // Heavy pages (about 300 KB of paragraphs each), so that extracting them takes seconds.
    let body = |title: &str, links: &[(String, String)]| -> String {
        let mut h = format!("<html><head><title>{title}</title></head><body><nav>");
        for (href, t) in links {
            h.push_str(&format!("<a href=\"{href}\">{t}</a> "));
        }
        h.push_str(&format!("</nav><main><h1>{title}</h1>"));
        for p in 0..1500 {
            h.push_str(&format!(
                "<div class=\"c{p}\"><p>{title} paragraph {p}: we design, build and support \
                 industrial software for <b>clients</b> in <a href=\"/x\">Europe</a>.</p></div>"
            ));
        }
        h.push_str("</main></body></html>");
        h
    };
    let sites: Vec<Web> = (0..SITES)
        .map(|_| {
            let links: Vec<(String, String)> = (0..PAGES)
                .map(|i| (format!("/p{i}.html"), format!("Page {i}")))
                .collect();
            let home = body("Home", &links);
            let pages: Vec<String> = (0..PAGES)
                .map(|i| body(&format!("Page {i}"), &[]))
                .collect();
            Web::start(Arc::new(move |path, _| match path {
                "/robots.txt" => status(404),
                "/" => html(&home),
                p if p.starts_with("/p") => p[2..]
                    .trim_end_matches(".html")
                    .parse::<usize>()
                    .ok()
                    .and_then(|i| pages.get(i))
                    .map_or_else(|| status(404), |b| html(b)),
                _ => status(404),
            }))
        })
        .collect();
    let mut csv = String::from("name,website\n");
    for (i, s) in sites.iter().enumerate() {
        csv.push_str(&format!("Company {i},{}\n", s.url("/")));
    }
    let setup = || {
        let run = Run::new();
        run.write("leads.csv", &csv);
        run.config(&format!(
            "[pipeline]\noutput_dir = \"out\"\n[ingest]\ninput = \"leads.csv\"\n\
             [crawl]\nallow_private_networks = true\ncontact_url = \"https://example.org/bot\"\n\
             requests_per_second = 100.0\nconcurrency = 8\n\
             [extract]\npart_leads = {SITES}\nworkers = 1\n[registry]\nregistries = []\n"
        ));
        let o = run.run(&["run", "--stages", "ingest,crawl"]);
        assert_eq!(o.status.code(), Some(0), "{}", text(&o));
        run
    };
    let run = setup();
    let log = run.path().join("extract.log");
    let started = Instant::now();
    let mut child = run
        .cmd(&["run", "--stages", "extract"])
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(700));
    let (code, took) = term(&mut child);
    eprintln!(
        "extract: exited {code:?} {took:?} after SIGTERM at {:?}, one part of {SITES} sites in flight",
        started.elapsed() - took
    );
    let log_text = std::fs::read_to_string(&log).unwrap_or_default();
    assert_eq!(code, Some(130), "{log_text}");
    assert!(took < Duration::from_secs(5), "took {took:?} to stop");
    let committed = by_lead(&run, "web_features", &[]).len();
    eprintln!("extract: {committed} of {SITES} sites committed at the stop");
    assert!(
        committed < SITES,
        "stopped before the part's end\n{log_text}"
    );
    assert!(log_text.contains("during the extract stage"), "{log_text}");
    let o = run.run(&["run", "--stages", "extract"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let clean = setup();
    let o = clean.run(&["run", "--stages", "extract"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let texts = |r: &Run| {
        let mut t: Vec<(String, String, String)> = rows(&r.out().join("page_text"))
            .iter()
            .map(|p| {
                (
                    get(p, "url").unwrap().to_owned(),
                    get(p, "title").unwrap_or("").to_owned(),
                    get(p, "text").unwrap_or("").to_owned(),
                )
            })
            .collect();
        t.sort();
        t
    };
    let a = texts(&run);
    assert_eq!(a.len(), SITES * (PAGES + 1));
    assert!(a == texts(&clean), "page_text differs from a clean run's");
    assert_eq!(
        by_lead(&run, "web_features", &[]),
        by_lead(&clean, "web_features", &[])
    );
}
