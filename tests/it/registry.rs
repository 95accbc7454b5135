//! The registry stage through the real binary against local HTTP servers that answer on the
//! registries' real paths with real recorded responses (`tests/fixtures/registries/`):
//! identifiers from the input and from the company's own website, name matching with
//! ambiguity kept, politeness asserted from the server side (rate, `Retry-After`), 5xx and
//! timeouts retried, Companies House basic auth, the response cache (a forced re-run asks
//! nothing), and an unreachable registry failing the lead, not the stage.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use crate::common::*;
use crate::web::*;

fn fixture(rel: &str) -> Vec<u8> {
    let p = repo().join("tests/fixtures/registries").join(rel);
    std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// A recorded `/search` response (the fixtures wrap the raw body in `{"result": …}`).
fn sirene_page(rel: &str) -> serde_json::Value {
    let v: serde_json::Value = serde_json::from_slice(&fixture(rel)).unwrap();
    v["result"].clone()
}

fn json(v: &serde_json::Value) -> Reply {
    with_headers(
        200,
        &[("Content-Type", "application/json")],
        v.to_string().as_bytes(),
    )
}

fn query_param(path: &str, key: &str) -> Option<String> {
    let q = path.split_once('?')?.1;
    url::form_urlencoded::parse(q.as_bytes())
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.into_owned())
}

/// Danone's record under another SIREN and name: a second company for the mock registry.
fn renamed(siren: &str, name: &str, postcode: &str) -> serde_json::Value {
    let mut r = sirene_page("fr/search-552032534.json")["results"][0].clone();
    r["siren"] = siren.into();
    r["nom_complet"] = name.into();
    r["nom_raison_sociale"] = name.into();
    r["siege"]["code_postal"] = postcode.into();
    r
}

fn page_of(results: Vec<serde_json::Value>) -> serde_json::Value {
    serde_json::json!({"results": results, "total_results": results.len(), "page": 1,
                       "per_page": 10, "total_pages": 1})
}

/// The mock of the API Recherche d'entreprises.
fn sirene_handler(down: Arc<AtomicBool>) -> Handler {
    Arc::new(move |path, n| {
        if down.load(Ordering::SeqCst) {
            return status(503);
        }
        let q = query_param(path, "q").unwrap_or_default();
        match q.as_str() {
            "552032534" => json(&sirene_page("fr/search-552032534.json")),
            // The web host's SIREN printed in the legal notice: another company.
            "424761419" => json(&page_of(vec![renamed("424761419", "OVH", "59100")])),
            // By name: rate-limited with Retry-After, then a 503, then Danone and a namesake.
            "Danone" if n == 0 => with_headers(429, &[("Retry-After", "1")], b"slow down"),
            "Danone" if n == 1 => status(503),
            "Danone" => json(&page_of(vec![
                renamed("552032534", "DANONE", "75009"),
                renamed("803145946", "DANONE MANIFESTO VENTURES", "75009"),
            ])),
            // Two companies with one name and nothing else to tell them apart.
            "Atelier Moreau" => json(&page_of(vec![
                renamed("418127089", "ATELIER MOREAU", "44000"),
                renamed("823364818", "ATELIER MOREAU", "13001"),
            ])),
            _ => json(&page_of(vec![])),
        }
    })
}

fn sec_handler() -> Handler {
    let tickers = serde_json::json!({
        "0": {"cik_str": 320193, "ticker": "AAPL", "title": "Apple Inc."},
        "1": {"cik_str": 1418121, "ticker": "APLE", "title": "Apple Hospitality REIT, Inc."},
        "2": {"cik_str": 789019, "ticker": "MSFT", "title": "MICROSOFT CORP"},
        "3": {"cik_str": 350001, "ticker": "TEST", "title": "Company Name Three"},
    });
    Arc::new(move |path, n| match path {
        "/files/company_tickers.json" => json(&tickers),
        // Apple's submissions: the first answer comes too late (timeout), the retry in time.
        "/submissions/CIK0000320193.json" if n == 0 => {
            Reply::Delay(Duration::from_secs(3), Box::new(status(200)))
        }
        "/submissions/CIK0000320193.json" => with_headers(
            200,
            &[("Content-Type", "application/json")],
            &fixture("sec/CIK0000320193.json"),
        ),
        "/submissions/CIK0000350001.json" => with_headers(
            200,
            &[("Content-Type", "application/json")],
            &fixture("sec/CIK0000350001.json"),
        ),
        _ => status(404),
    })
}

fn gleif_handler() -> Handler {
    // The fuzzy-completions format as GLEIF documents it (no recorded response is available).
    let fuzzy = serde_json::json!({"data": [
        {"type": "fuzzycompletions", "attributes": {"value": "RAHUL"},
         "relationships": {"lei-records": {"data": {"type": "lei-records", "id": "9845001B2AD43E664E58"}}}},
        {"type": "fuzzycompletions", "attributes": {"value": "RAHUL INDUSTRIES LIMITED"},
         "relationships": {"lei-records": {"data": {"type": "lei-records", "id": "335800A8HK6JBITVPA30"}}}}
    ]});
    Arc::new(move |path, _| match path {
        p if p.starts_with("/fuzzycompletions?field=entity.legalName&q=Rahul") => json(&fuzzy),
        "/lei-records/9845001B2AD43E664E58" => with_headers(
            200,
            &[("Content-Type", "application/vnd.api+json")],
            &fixture("gleif/9845001B2AD43E664E58.json"),
        ),
        _ => status(404),
    })
}

const UK_KEY: &str = "test-key-123";

fn uk_handler() -> HeadHandler {
    Arc::new(|path, _, head| {
        // base64("test-key-123:")
        if !head.contains("authorization: Basic dGVzdC1rZXktMTIzOg==")
            && !head.contains("Authorization: Basic dGVzdC1rZXktMTIzOg==")
        {
            return status(401);
        }
        match path {
            "/company/00002065" => with_headers(
                200,
                &[("Content-Type", "application/json")],
                &fixture("uk/company-profile_00002065_LLOYDS-BANK-PLC.json"),
            ),
            _ => status(404),
        }
    })
}

/// A company website whose legal notice prints its SIREN and its web host's.
fn danone_site() -> Handler {
    site(
        "User-agent: *\nAllow: /\n",
        vec![
            ("/", page("Danone – accueil", &[("/mentions-legales", "Mentions légales")])),
            (
                "/mentions-legales",
                "<html lang=\"fr\"><head><title>Mentions légales</title></head><body><main>\
                 <h1>Mentions légales</h1><p>Danone SA, société anonyme au capital de 170 000 000 €, \
                 RCS Paris, SIREN 552 032 534.</p><p>Hébergeur : OVH SAS, SIREN 424 761 419, \
                 2 rue Kellermann, 59100 Roubaix.</p></main></body></html>"
                    .to_string(),
            ),
        ],
    )
}

struct Registries {
    sirene: Web,
    sec: Web,
    gleif: Web,
    uk: Web,
    down: Arc<AtomicBool>,
}

impl Registries {
    fn start() -> Registries {
        let down = Arc::new(AtomicBool::new(false));
        Registries {
            sirene: Web::start(sirene_handler(down.clone())),
            sec: Web::start(sec_handler()),
            gleif: Web::start(gleif_handler()),
            uk: Web::start_with_head(&fresh_ip(), uk_handler()),
            down,
        }
    }

    fn config(&self, extra: &str) -> String {
        format!(
            "[pipeline]\noutput_dir = \"out\"\n[ingest]\ninput = \"leads.csv\"\n\
             [crawl]\nallow_private_networks = true\ncontact_url = \"https://example.org/bot\"\n\
             [registry]\nallow_private_networks = true\ncontact_email = \"tests@example.org\"\n\
             sirene_url = \"{}\"\nsec_url = \"{}\"\nsec_tickers_url = \"{}\"\ngleif_url = \"{}\"\n\
             companies_house_url = \"{}\"\ncompanies_house_key_env = \"LEADCRAWL_TEST_CH_KEY\"\n\
             sirene_rps = 4.0\ntimeout_secs = 1.0\nmax_retries = 2\n{extra}",
            self.sirene.url(""),
            self.sec.url(""),
            self.sec.url("/files/company_tickers.json"),
            self.gleif.url(""),
            self.uk.url(""),
        )
    }

    fn hits(&self) -> [usize; 4] {
        [
            self.sirene.hits().len(),
            self.sec.hits().len(),
            self.gleif.hits().len(),
            self.uk.hits().len(),
        ]
    }
}

type Row = std::collections::BTreeMap<String, Option<String>>;

/// The `registry` rows keyed by the input's own id (`leads.external_id`).
fn registry_rows(run: &Run) -> std::collections::HashMap<String, Row> {
    let ids: std::collections::HashMap<String, String> = rows(&run.out().join("leads"))
        .into_iter()
        .map(|r| {
            (
                get(&r, "lead_id").unwrap().to_owned(),
                get(&r, "external_id").unwrap().to_owned(),
            )
        })
        .collect();
    rows(&run.out().join("registry"))
        .into_iter()
        .map(|r| (ids[get(&r, "lead_id").unwrap()].clone(), r))
        .collect()
}

fn counters(run: &Run) -> serde_json::Value {
    stage_status(&status_json(run), "registry")["counters"].clone()
}

#[test]
fn registry_stage_matches_by_id_website_and_name_politely_and_caches() {
    let reg = Registries::start();
    let danone = Web::start(danone_site());
    let run = Run::new();
    run.write(
        "leads.csv",
        format!(
            "id,name,website,country,siren,cik,lei,company_number,status\n\
             by-siren,Danone,,France,552 032 534,,,,won\n\
             by-website,Danone,{},France,,,,,won\n\
             by-name-fr,Danone,,FR,,,,,lost\n\
             ambiguous,Atelier Moreau,,FR,,,,,lost\n\
             by-name-us,apple,,USA,,,,,won\n\
             by-cik,Test entity,,US,,350001,,,lost\n\
             by-lei,Matrix Power,,IN,,,9845001B2AD43E664E58,,won\n\
             by-number,Lloyds,,GB,,,,00002065,lost\n\
             by-name-gleif,Rahul,,IN,,,,,won\n\
             nowhere,Zzyzx Unknown Holdings,,FR,,,,,lost\n",
            danone.url("/")
        ),
    );
    run.config(&reg.config("[ingest.columns]\nid = \"id\"\n"));
    let o = run
        .cmd(&["run", "--stages", "ingest,crawl,extract,registry"])
        .env("LEADCRAWL_TEST_CH_KEY", UK_KEY)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let rows = registry_rows(&run);
    assert_eq!(rows.len(), 10, "one row per lead");
    let row = |id: &str| &rows[id];
    let check = |id: &str, status: &str, method: Option<&str>, registry_id: Option<&str>| {
        let r = row(id);
        assert_eq!(get(r, "match_status"), Some(status), "{id}: {r:?}");
        assert_eq!(get(r, "match_method"), method, "{id}: {r:?}");
        assert_eq!(get(r, "registry_id"), registry_id, "{id}: {r:?}");
    };
    check("by-siren", "matched", Some("id_input"), Some("552032534"));
    check(
        "by-website",
        "matched",
        Some("id_website"),
        Some("552032534"),
    );
    check("by-name-fr", "matched", Some("name"), Some("552032534"));
    check("ambiguous", "ambiguous", None, None);
    check("by-name-us", "matched", Some("name"), Some("0000320193"));
    check("by-cik", "matched", Some("id_input"), Some("0000350001"));
    check(
        "by-lei",
        "matched",
        Some("id_input"),
        Some("9845001B2AD43E664E58"),
    );
    check("by-number", "matched", Some("id_input"), Some("00002065"));
    check("nowhere", "unmatched", None, None);
    check(
        "by-name-gleif",
        "matched",
        Some("name"),
        Some("9845001B2AD43E664E58"),
    );
    // The host's SIREN on the website was looked up and refused by name.
    assert!(
        get(row("by-website"), "note").is_some_and(|n| n.contains("424761419")),
        "{:?}",
        row("by-website")
    );
    // Firmographics normalised: Danone's NAF 70.10Z → NACE M / 70, band 42 → 1000–1999.
    let d = row("by-siren");
    assert_eq!(get(d, "nace_section"), Some("M"));
    assert_eq!(get(d, "nace_division"), Some("70"));
    assert_eq!(get(d, "headcount_min"), Some("1000"));
    assert_eq!(get(d, "headcount_max"), Some("1999"));
    assert_eq!(get(d, "status"), Some("active"));
    // The SEC test entity's punctuation survives.
    assert_eq!(
        get(row("by-cik"), "legal_name"),
        Some("Company Name Three `!#$(),:;=.-;\\|@/{}&'\\WA\\")
    );

    // pyarrow: the ambiguous lead keeps both candidates; dates, coordinates typed.
    let script = r#"
import sys, pyarrow.parquet as pq
ids = {r["lead_id"]: r["external_id"] for r in pq.read_table(sys.argv[2]).to_pylist()}
t = pq.read_table(sys.argv[1]).to_pylist()
row = {ids[r["lead_id"]]: r for r in t}
amb = row["ambiguous"]["candidates"]
assert sorted(c["id"] for c in amb) == ["418127089", "823364818"], amb
assert abs(amb[0]["score"] - amb[1]["score"]) < 1e-9, amb
d = row["by-siren"]
assert str(d["created"]) == "1955-01-01", d["created"]
assert 48.0 < d["latitude"] < 49.5 and 2.0 < d["longitude"] < 2.6, (d["latitude"], d["longitude"])
assert d["age_years"] > 70
assert row["by-siren"]["candidates"] == []
print("ok")
"#;
    let py = std::process::Command::new(python())
        .args(["-c", script])
        .arg(run.out().join("registry"))
        .arg(run.out().join("leads"))
        .output()
        .unwrap();
    assert!(py.status.success(), "{}", text(&py));

    // Politeness, from the server's side: SIRENE at 4/s never saw two requests closer than
    // 250 ms, and the 429's Retry-After (1 s) was honoured.
    let gap = reg.sirene.min_gap().expect("several SIRENE requests");
    assert!(gap >= Duration::from_millis(245), "min gap {gap:?}");
    let danone_hits: Vec<_> = reg
        .sirene
        .hits()
        .into_iter()
        .filter(|h| h.path.contains("q=Danone"))
        .collect();
    assert_eq!(danone_hits.len(), 3, "429, then 503, then the answer");
    assert!(
        danone_hits[1].at - danone_hits[0].at >= Duration::from_millis(990),
        "Retry-After honoured: {:?}",
        danone_hits[1].at - danone_hits[0].at
    );
    // The timeout and the 503 were retried (the matches above prove the retries succeeded).
    assert!(
        reg.sec
            .paths()
            .iter()
            .filter(|p| p.ends_with("CIK0000320193.json"))
            .count()
            >= 2
    );
    // The SEC saw a User-Agent with the contact e-mail; the key never reaches the SEC.
    assert!(reg.sec.hits().iter().all(|h| h
        .head
        .to_ascii_lowercase()
        .contains("user-agent: leadcrawl/")
        && h.head.contains("tests@example.org")
        && !h.head.contains("test-key")));

    // A forced re-run: every answer comes from the cache; the servers see nothing new.
    let before = reg.hits();
    let o = run
        .cmd(&[
            "run",
            "--stages",
            "ingest,crawl,extract,registry",
            "--force",
            "registry",
        ])
        .env("LEADCRAWL_TEST_CH_KEY", UK_KEY)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert_eq!(reg.hits(), before, "a re-run asks the registries nothing");
    let c = counters(&run);
    assert_eq!(c["requests"], 0, "{c}");
    assert!(c["cache_hits"].as_u64().unwrap() >= 10, "{c}");
    assert_eq!(c["matched"], 8, "{c}");
    let again = crate::common::rows(&run.out().join("registry"));
    assert_eq!(again.len(), 10);

    // Without the Companies House key: skipped with a clear warning, not an error.
    let o = run.run(&["run", "--stages", "ingest,crawl,extract,registry"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(
        text(&o).contains("Companies House skipped") && text(&o).contains("LEADCRAWL_TEST_CH_KEY"),
        "{}",
        text(&o)
    );
    let rows = registry_rows(&run);
    let r = &rows["by-number"];
    assert_ne!(get(r, "match_status"), Some("matched"), "{r:?}");
    drop(reg.down);
}

#[test]
fn an_unreachable_registry_fails_the_lead_and_a_forced_rerun_asks_only_what_is_missing() {
    let reg = Registries::start();
    let run = Run::new();
    run.write(
        "leads.csv",
        "id,name,country,siren,cik,status\n\
         fr,Danone,FR,552032534,,won\n\
         us,Test entity,US,,350001,lost\n",
    );
    run.config(&reg.config("[ingest.columns]\nid = \"id\"\n"));
    reg.down.store(true, Ordering::SeqCst);
    let o = run.run(&["run", "--stages", "ingest,crawl,extract,registry"]);
    assert_eq!(
        o.status.code(),
        Some(3),
        "a registry that does not answer fails the lead (exit 3): {}",
        text(&o)
    );
    let rows = registry_rows(&run);
    let fr = &rows["fr"];
    assert_eq!(get(fr, "match_status"), Some("error"), "{fr:?}");
    assert!(get(fr, "note").is_some_and(|n| n.contains("503")), "{fr:?}");
    let us = &rows["us"];
    assert_eq!(get(us, "match_status"), Some("matched"), "{us:?}");
    let status = status_json(&run);
    let failures = stage_status(&status, "registry");
    assert_eq!(failures["units_failed"], 1, "{failures}");

    // The registry is back: a forced re-run asks SIRENE again and the SEC nothing.
    reg.down.store(false, Ordering::SeqCst);
    let sec_before = reg.sec.hits().len();
    let o = run.run(&[
        "run",
        "--stages",
        "ingest,crawl,extract,registry",
        "--force",
        "registry",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert_eq!(
        reg.sec.hits().len(),
        sec_before,
        "the SEC answer came from the cache"
    );
    let rows = registry_rows(&run);
    let fr = &rows["fr"];
    assert_eq!(get(fr, "match_status"), Some("matched"), "{fr:?}");
}

#[test]
fn a_killed_registry_stage_resumes_each_lead_exactly_once() {
    let reg = Registries::start();
    let run = Run::new();
    let mut csv = String::from("id,name,country,siren,status\n");
    for i in 0..6 {
        csv.push_str(&format!("lead{i},Danone {i},FR,552032534,won\n"));
    }
    run.write("leads.csv", csv);
    run.config(&reg.config("part_leads = 1\n[ingest.columns]\nid = \"id\"\n"));
    let o = run.run(&["run", "--stages", "ingest,crawl,extract"]);
    assert!(o.status.success(), "{}", text(&o));
    let parts = |run: &Run| {
        std::fs::read_dir(run.out().join("registry"))
            .map(|d| {
                d.filter(|e| {
                    let n = e.as_ref().unwrap().file_name();
                    let n = n.to_string_lossy();
                    n.starts_with("part-") && n.ends_with(".parquet")
                })
                .count()
            })
            .unwrap_or(0)
    };
    let mut child = run
        .cmd(&["run", "--stages", "ingest,crawl,extract,registry"])
        .env("LEADCRAWL_TEST_UNIT_DELAY_MS", "300")
        .spawn()
        .unwrap();
    let start = std::time::Instant::now();
    while parts(&run) < 2 && start.elapsed() < Duration::from_secs(30) {
        std::thread::sleep(Duration::from_millis(20));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let done = parts(&run);
    assert!(
        (2..6).contains(&done),
        "killed mid-stage after {done} part(s)"
    );

    let o = run.run(&["run", "--stages", "ingest,crawl,extract,registry"]);
    assert!(o.status.success(), "{}", text(&o));
    let rows = registry_rows(&run);
    assert_eq!(rows.len(), 6, "every lead once");
    let all = crate::common::rows(&run.out().join("registry"));
    assert_eq!(all.len(), 6, "no lead written twice");
    assert!(rows
        .values()
        .all(|r| get(r, "match_status") == Some("matched")));
    // One SIREN, asked once: every later lookup came from the cache, across the kill.
    assert_eq!(reg.sirene.hits().len(), 1, "{:?}", reg.sirene.paths());
}
