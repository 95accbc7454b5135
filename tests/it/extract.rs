//! The extract stage through the real binary: a site-farm company crawled from a real HTTP
//! server and extracted (template gone, content kept), one `web_features` row per lead, resume
//! after SIGKILL, and the `extract-html` command.

use std::collections::{BTreeSet, HashMap};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::common::*;
use crate::web::*;

/// Serves a site-farm host folder (`hosts/<ip>/`) over the test server.
fn serve_dir(root: PathBuf) -> Handler {
    Arc::new(move |path, _| {
        let rel = path
            .split('?')
            .next()
            .unwrap_or("/")
            .trim_start_matches('/');
        let mut file = root.join(rel);
        if rel.is_empty() || rel.ends_with('/') {
            file = file.join("index.html");
        }
        match std::fs::read(&file) {
            Ok(body) => {
                let ct = match file.extension().and_then(|e| e.to_str()) {
                    Some("html") => "text/html; charset=utf-8",
                    Some("xml") => "application/xml",
                    Some("txt") => "text/plain",
                    _ => "application/octet-stream",
                };
                with_headers(200, &[("Content-Type", ct)], &body)
            }
            Err(_) => status(404),
        }
    })
}

/// Generates a small site farm with the shared generator (`../shared/bench/sitefarm/gen.py`).
fn farm(run: &Run, hosts: usize, pages: usize) -> Vec<PathBuf> {
    let gen = repo().join("../shared/bench/sitefarm/gen.py");
    assert!(
        gen.exists(),
        "site farm generator missing: {}",
        gen.display()
    );
    let out = run.path().join("farm");
    let o = std::process::Command::new("python3")
        .arg(&gen)
        .args(["--hosts", &hosts.to_string(), "--pages", &pages.to_string()])
        .args(["--seed", "11", "--crawl-delay-share", "0", "--out"])
        .arg(&out)
        .output()
        .expect("python3");
    assert!(o.status.success(), "{}", text(&o));
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(out.join("hosts"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    dirs.sort();
    dirs
}

/// The text between `start` and the next `end` after it.
fn between<'a>(s: &'a str, start: &str, end: &str) -> &'a str {
    let i = s
        .find(start)
        .unwrap_or_else(|| panic!("{start:?} not in page"))
        + start.len();
    let j = s[i..].find(end).unwrap() + i;
    &s[i..j]
}

fn strip_tags(s: &str) -> String {
    let mut out = String::new();
    let mut in_tag = false;
    for c in s.chars() {
        match c {
            '<' => in_tag = true,
            '>' => {
                in_tag = false;
                out.push(' ');
            }
            c if !in_tag => out.push(c),
            _ => {}
        }
    }
    out.replace("&amp;", "&")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

fn config(extra: &str) -> String {
    format!(
        "[pipeline]\noutput_dir = \"out\"\n[ingest]\ninput = \"leads.csv\"\n[crawl]\nallow_private_networks = true\n\
         contact_url = \"https://example.org/bot\"\nrequests_per_second = 50.0\nmax_pages_per_site = 30\n{extra}"
    )
}

#[test]
fn site_farm_company_loses_its_template_and_keeps_its_content() {
    let run = Run::new();
    let hosts = farm(&run, 1, 12);
    let host = &hosts[0];
    let web = Web::start(serve_dir(host.clone()));
    run.write(
        "leads.csv",
        format!(
            "name,website,status\nFarm Co,{},won\nNo Site Co,,lost\n",
            web.url("/")
        ),
    );
    run.config(&config(""));
    let o = run.run(&["run", "--stages", "ingest,crawl,extract"]);
    assert!(o.status.success(), "{}", text(&o));

    let pages = rows(&run.out().join("page_text"));
    assert_eq!(pages.len(), 12, "every crawlable farm page is extracted");
    let index = std::fs::read_to_string(host.join("index.html")).unwrap();
    let cookie = strip_tags(between(&index, "<div id=\"cookie-banner\"", "</div>"));
    let cookie = cookie
        .split_once('>')
        .map_or(cookie.as_str(), |(_, t)| t)
        .trim();
    let footer = between(&index, "<footer class=\"site-footer\">", "</footer>");
    let street = strip_tags(between(footer, "<br>", "<br>"));
    let newsletter = strip_tags(between(footer, "<label>", "<input"));
    let nav_labels: Vec<String> = between(&index, "<nav class=\"main-nav\">", "</nav>")
        .split("</a>")
        .map(strip_tags)
        .filter(|s| !s.is_empty())
        .collect();
    assert!(nav_labels.len() >= 5, "{nav_labels:?}");
    assert!(cookie.len() > 40, "{cookie}");

    let mut street_seen = 0;
    for page in &pages {
        let text = get(page, "text").unwrap();
        let url = get(page, "url").unwrap();
        assert!(
            !text.contains(&cookie[..40]),
            "cookie banner in {url}:\n{text}"
        );
        assert!(!text.contains("Accept all"), "cookie buttons in {url}");
        assert!(!text.contains(&newsletter), "newsletter form in {url}");
        assert!(!text.contains("Partner portal"), "footer links in {url}");
        for line in text.lines() {
            assert!(
                !nav_labels.iter().any(|l| l == line.trim()),
                "navigation label {line:?} in {url}"
            );
        }

        // Every paragraph of the page's <main> is in its text.
        let path = url.splitn(4, '/').nth(3).unwrap_or("");
        let file = if path.is_empty() || path.ends_with('/') {
            host.join(path).join("index.html")
        } else {
            host.join(path)
        };
        let html = std::fs::read_to_string(&file).unwrap();
        let main = between(&html, "<main", "</main>");
        for p in main.split("<p>").skip(1) {
            let para = strip_tags(p.split("</p>").next().unwrap());
            if para.len() > 30 {
                assert!(text.contains(&para), "{url} lost {para:?}:\n{text}");
            }
        }
        // The footer address is kept once per company (on the home page), besides pages whose
        // own content mentions it.
        if !main.contains(&street) {
            street_seen += text.matches(&street).count();
        }
        if get(page, "page_type") == Some("home") {
            assert!(
                text.contains(&street),
                "address not kept on the home page:\n{text}"
            );
        }
        let word_count: usize = get(page, "word_count").unwrap().parse().unwrap();
        assert_eq!(word_count, text.split_whitespace().count());
    }
    assert_eq!(
        street_seen, 1,
        "the footer address is kept once per company"
    );
    let types: BTreeSet<&str> = pages.iter().map(|p| get(p, "page_type").unwrap()).collect();
    for t in ["home", "about", "product", "careers", "contact", "blog"] {
        assert!(types.contains(t), "{t} missing from {types:?}");
    }

    let features = rows(&run.out().join("web_features"));
    assert_eq!(
        features.len(),
        2,
        "one row per lead, with or without a website"
    );
    let leads = rows(&run.out().join("leads"));
    let farm_lead = leads
        .iter()
        .find(|l| get(l, "name") == Some("Farm Co"))
        .unwrap();
    let f = features
        .iter()
        .find(|f| get(f, "lead_id") == get(farm_lead, "lead_id"))
        .unwrap();
    assert_eq!(get(f, "pages"), Some("12"));
    assert_eq!(get(f, "pages_home"), Some("1"));
    assert!(
        get(f, "template_blocks").unwrap().parse::<u32>().unwrap() >= 5,
        "{f:?}"
    );
    assert!(
        get(f, "technologies").unwrap().contains("Google Analytics"),
        "{f:?}"
    );
    assert_eq!(
        get(f, "founding_year"),
        Some(get(f, "org_founding_date").unwrap())
    );
    assert!(get(f, "org_name").is_some(), "JSON-LD Organization: {f:?}");
    let other = features.iter().find(|x| x != &f).unwrap();
    assert_eq!(get(other, "pages"), Some("0"));
    assert_eq!(get(other, "site"), None);

    // pyarrow and DuckDB read the tables: types, metadata, joins.
    let o = std::process::Command::new(python())
        .arg(repo().join("tests/python/readback_extract.py"))
        .arg(run.out())
        .args(["12", "2"])
        .output()
        .expect("python3");
    assert!(o.status.success(), "python read-back failed:\n{}", text(&o));

    // Nothing left to do: a second run skips the stage.
    let o = run.run(&["run", "--stages", "ingest,crawl,extract"]);
    assert!(o.status.success(), "{}", text(&o));
    assert_eq!(rows(&run.out().join("page_text")).len(), 12);
}

fn page_keys(run: &Run) -> Vec<(String, String)> {
    let mut keys: Vec<(String, String)> = rows(&run.out().join("page_text"))
        .iter()
        .map(|r| {
            (
                get(r, "lead_id").unwrap().to_owned(),
                get(r, "url").unwrap().to_owned(),
            )
        })
        .collect();
    keys.sort();
    keys
}

fn count_parts(dir: &Path) -> usize {
    std::fs::read_dir(dir).map_or(0, |d| {
        d.flatten()
            .filter(|e| e.file_name().to_string_lossy().starts_with("part-"))
            .count()
    })
}

#[test]
fn extract_resumes_after_sigkill_without_duplicates() {
    let run = Run::new();
    let hosts = farm(&run, 4, 8);
    let webs: Vec<Web> = hosts
        .iter()
        .map(|h| Web::start(serve_dir(h.clone())))
        .collect();
    let mut csv = String::from("name,website,status\n");
    for (i, w) in webs.iter().enumerate() {
        csv.push_str(&format!("Company {i},{},won\n", w.url("/")));
    }
    run.write("leads.csv", csv);
    run.config(&config("[extract]\npart_leads = 1\n"));
    let o = run.run(&["run", "--stages", "ingest,crawl"]);
    assert!(o.status.success(), "{}", text(&o));

    let mut child = run
        .cmd(&["run", "--stages", "ingest,crawl,extract"])
        .env("LEADCRAWL_TEST_UNIT_DELAY_MS", "300")
        .spawn()
        .unwrap();
    let start = Instant::now();
    while count_parts(&run.out().join("web_features")) < 1
        && start.elapsed() < Duration::from_secs(30)
    {
        std::thread::sleep(Duration::from_millis(20));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let done = count_parts(&run.out().join("web_features"));
    assert!(
        (1..4).contains(&done),
        "killed mid-stage after {done} part(s)"
    );

    let o = run.run(&["run", "--stages", "ingest,crawl,extract"]);
    assert!(o.status.success(), "{}", text(&o));
    let keys = page_keys(&run);
    let unique: BTreeSet<_> = keys.iter().collect();
    assert_eq!(unique.len(), keys.len(), "no page extracted twice");
    assert_eq!(keys.len(), 32, "4 sites x 8 pages");
    let features = rows(&run.out().join("web_features"));
    let leads: BTreeSet<_> = features
        .iter()
        .map(|f| get(f, "lead_id").unwrap())
        .collect();
    assert_eq!((features.len(), leads.len()), (4, 4));
}

fn gz(bytes: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(bytes).unwrap();
    e.finish().unwrap()
}

#[test]
fn extract_html_writes_one_json_entry_per_file() {
    let run = Run::new();
    let dir = run.path().join("html");
    std::fs::create_dir(&dir).unwrap();
    let article = "<html lang=\"en\"><head><title>Pumps for water</title></head><body>\
        <nav><a href=\"/\">Home</a> <a href=\"/about\">About</a></nav><main><h1>Our pumps</h1>\
        <p>We design industrial pumps for water treatment plants across Europe and beyond.</p>\
        <ul><li>Centrifugal pumps</li><li>Dosing pumps</li></ul></main>\
        <footer>© 2024 Acme — all rights reserved</footer></body></html>";
    std::fs::write(dir.join("plain.html"), article).unwrap();
    std::fs::write(dir.join("packed.html.gz"), gz(article.as_bytes())).unwrap();
    let mut latin1 = b"<html><head><meta charset=\"iso-8859-1\"><title>Soci\xe9t\xe9</title></head><body><main><p>Nous fabriquons des pompes \xe0 eau depuis 1982, pour l'industrie fran\xe7aise et europ\xe9enne.</p></main></body></html>".to_vec();
    latin1.extend_from_slice(b"\n");
    std::fs::write(dir.join("latin.html"), latin1).unwrap();
    std::fs::write(dir.join("notes.txt"), "not html").unwrap();

    let out = run.path().join("out.json");
    let o = run.run(&[
        "extract-html",
        "--input",
        dir.to_str().unwrap(),
        "--output",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", text(&o));
    let v: HashMap<String, serde_json::Value> =
        serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap();
    let keys: BTreeSet<&str> = v.keys().map(String::as_str).collect();
    assert_eq!(keys, BTreeSet::from(["latin", "packed", "plain"]));
    let plain = &v["plain"];
    assert_eq!(plain, &v["packed"], "gzip is transparent");
    let body = plain["articleBody"].as_str().unwrap();
    assert_eq!(
        body.lines().collect::<Vec<_>>(),
        [
            "Our pumps",
            "We design industrial pumps for water treatment plants across Europe and beyond.",
            "Centrifugal pumps",
            "Dosing pumps"
        ]
    );
    assert_eq!(plain["title"], "Pumps for water");
    assert_eq!(plain["lang"], "en");
    let latin = &v["latin"];
    assert_eq!(latin["title"], "Société");
    assert!(latin["articleBody"]
        .as_str()
        .unwrap()
        .contains("française et européenne"));
    assert_eq!(latin["lang"], "fr");

    let o = run.run(&[
        "extract-html",
        "--input",
        "/nonexistent",
        "--output",
        "x.json",
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
}

/// The real non-UTF-8 pages of `shared/data/html/charsets` (iso-8859-1, windows-1250/1252 and
/// pages labelled UTF-8 that are not) through `extract-html`: the one charset decoder (the
/// crawler's too) reads each as its label says unless the bytes contradict the label, and no
/// page yields replacement characters or escaped `<noscript>` markup as text.
#[test]
fn extract_html_decodes_the_real_charset_corpus() {
    let corpus = repo().join("../shared/data/html/charsets/trafilatura-non-utf8");
    let index = std::fs::read_to_string(corpus.join("INDEX.tsv")).unwrap();
    let run = Run::new();
    let out = run.path().join("out.json");
    let o = run.run(&[
        "extract-html",
        "--input",
        corpus.to_str().unwrap(),
        "--output",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", text(&o));
    let v: HashMap<String, serde_json::Value> =
        serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap();
    let mut checked = 0;
    for line in index.lines().skip(1) {
        let cols: Vec<&str> = line.split('\t').collect();
        let (file, declared) = (cols[0], cols[1]);
        let page = &v[file.strip_suffix(".html").unwrap()];
        let charset = page["charset"].as_str().unwrap();
        let body = page["articleBody"].as_str().unwrap();
        let bytes = std::fs::read(corpus.join(file)).unwrap();
        let valid_utf8 = std::str::from_utf8(&bytes).is_ok();
        if declared.eq_ignore_ascii_case("utf-8") || declared == "none" {
            // Labelled UTF-8 (or not labelled), and the bytes say otherwise: a guess, never
            // UTF-8.
            assert_eq!(valid_utf8, charset == "UTF-8", "{file}: {charset}");
        } else if !valid_utf8 {
            let label = encoding_rs::Encoding::for_label(declared.as_bytes()).unwrap();
            assert_eq!(charset, label.name(), "{file}");
        }
        assert!(body.len() > 200, "{file}: {body}");
        assert!(!body.contains('\u{fffd}'), "{file}: {body}");
        assert!(!body.contains("<img"), "{file}");
        checked += 1;
    }
    assert_eq!(checked, 27);
}
