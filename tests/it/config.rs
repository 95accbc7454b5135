//! Config validation through the binary: every error at once, each naming its key; exit code 2.

use crate::common::*;

/// A config with mistakes in every section: wrong types, unknown keys, values out of range.
const BROKEN: &str = r#"
[pipeline]
output_dir = "out"
max_failed_share = 1.5
[state]
url = "postgres://leadcrawl:secret@db.internal/leadcrawl"
lease_seconds = 1.0
[ingest]
input = "missing.csv"
batch_rows = "many"
encoding = "klingon"
delimiter = "::"
bogus_key = 1
[ingest.columns]
nmae = "Company"
[ingest.status]
won = ["won"]
lost = ["won"]
[crawl]
max_pages_per_site = 0
requests_per_second = 1e-300
read_timeout_secs = 1e300
connect_timeout_secs = 1e300
max_retry_wait_secs = 1e300
robots_retry_delay_secs = 1e300
contact_url = "not a url"
max_depth = "deep"
max_pagez = 3
max_redirects = 50
[extract]
template_share = 0.0
workers = 1000
[registry]
registries = ["sirene", "nope"]
sirene_url = "ftp://example.org"
gleif_rps = 0.0
accept_score = 2.0
[embed]
batch_size = 0
weights = { home = -1.0, bogus = 1.0 }
[evaluate]
folds = 1
c = 0.0
[score]
route_at = 0.5
nurture_at = 0.7
[registries]
x = 1
"#;

#[test]
fn validate_lists_every_error_at_once() {
    let run = Run::new();
    run.config(BROKEN);
    let o = run.run(&["validate"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    let t = text(&o);
    let want = [
        "pipeline.max_failed_share: must be between 0 and 1",
        "state.url: holds a password; remove it from the file and set LEADCRAWL_PG_PASSWORD",
        "state.lease_seconds: must be between 2 and 3600 seconds, got 1",
        "ingest.input: file not found:",
        "ingest.batch_rows: invalid type: string \"many\", expected a whole number",
        "ingest.encoding: unknown encoding \"klingon\"",
        "ingest.delimiter: must be auto or one character",
        "ingest.bogus_key: unknown key; expected one of",
        "ingest.columns.nmae: unknown key; expected one of",
        "ingest.status: \"won\" is listed as both won and lost",
        "crawl.max_pages_per_site: must be between 1 and 100000, got 0",
        "crawl.requests_per_second: must be between 0.001 and 1000000 requests per second per host, got 1e-300",
        "crawl.read_timeout_secs: must be between 0.1 and 3600 seconds, got 1e300",
        "crawl.connect_timeout_secs: must be between 0.1 and 600 seconds, got 1e300",
        "crawl.max_retry_wait_secs: must be between 0.001 and 3600 seconds, got 1e300",
        "crawl.robots_retry_delay_secs: must be between 0 and 86400 seconds, got 1e300",
        "crawl.contact_url: must be a URL",
        "crawl.max_depth: invalid type: string \"deep\"",
        "crawl.max_pagez: unknown key",
        "crawl.max_redirects: must be between 0 and 20, got 50",
        "extract.template_share: must be in (0, 1]",
        "extract.workers: must be between 0 and 256 (0 = one per core), got 1000",
        "registry.registries[1]: unknown registry \"nope\"",
        "registry.sirene_url: must be an http(s) URL",
        "registry.gleif_rps: must be between 0.001 and 1000 requests per second, got 0",
        "registry.accept_score: must be between 0 and 1, got 2",
        "embed.batch_size: must be between 1 and 4096, got 0",
        "embed.weights.home: must be between 0 and 1000, got -1",
        "embed.weights.bogus: unknown source",
        "evaluate.folds: must be between 2 and 50, got 1",
        "evaluate.c: must be between 1e-6 and 1000000, got 0",
        "score.nurture_at: must not exceed score.route_at (0.5), got 0.7",
        "registries: unknown section",
    ];
    for w in want {
        assert!(t.contains(w), "missing {w:?} in:\n{t}");
    }
    // Nothing else: in particular no "ingest.input: required" although a type error hit the
    // section, and one line per problem.
    assert!(!t.contains("required"), "{t}");
    assert!(
        t.contains(&format!("{} problems", want.len())),
        "{} expected:\n{t}",
        want.len()
    );
}

#[test]
fn set_overrides_are_checked_with_the_file() {
    let run = Run::new();
    run.write("leads.csv", "name\nAcme\n");
    run.config(
        "[pipeline]\noutput_dir = \"out\"\n[ingest]\ninput = \"leads.csv\"\n[crawl]\nburst = 0\n",
    );
    let o = run.run(&[
        "validate",
        "--set",
        "crawl.max_pagez=2",
        "--set",
        "crawl.max_depth=deep",
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    let t = text(&o);
    for w in [
        "crawl.max_pagez: unknown key; expected one of",
        "(from --set crawl.max_pagez=2)",
        "crawl.max_depth: invalid type: string \"deep\", expected a whole number",
        "(from --set crawl.max_depth=deep)",
        "crawl.burst: must be between 1 and 1000, got 0",
        "3 problems",
    ] {
        assert!(t.contains(w), "missing {w:?} in:\n{t}");
    }
    // A good override fixes the file's mistake; every command that reads the config takes it.
    let o = run.run(&["validate", "--set", "crawl.burst=2"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let o = run.run(&["status", "--set", "crawl.burst=0"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(
        text(&o)
            .contains("crawl.burst: must be between 1 and 1000, got 0 (from --set crawl.burst=0)"),
        "{}",
        text(&o)
    );
    let o = run.run(&["worker", "--set", "crawl.nope=1"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("crawl.nope: unknown key"), "{}", text(&o));
    let o = run.run(&["run", "--set", "crawl.burst=0", "--set", "bogus.x=1"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("bogus: unknown section"), "{}", text(&o));
    assert!(!run.out().exists(), "a config error runs nothing");
}

#[test]
fn validate_checks_the_input_despite_problems_in_other_sections() {
    let run = Run::new();
    run.write("leads.csv", "Account,URL\nAcme,acme.com\n");
    run.config(
        "[pipeline]\noutput_dir = \"out\"\n[ingest]\ninput = \"leads.csv\"\n[ingest.columns]\nname = \"Company\"\n[crawl]\nburst = 0\n",
    );
    let o = run.run(&["validate", "--set", "score.similar=99"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    let t = text(&o);
    for w in [
        "3 problems",
        "crawl.burst: must be between 1 and 1000, got 0",
        "score.similar: must be between 0 and 50, got 99 (from --set score.similar=99)",
        "(input): ingest.columns.name: column \"Company\" not found in",
    ] {
        assert!(t.contains(w), "missing {w:?} in:\n{t}");
    }
}

#[test]
fn leadcrawl_config_names_the_file_when_config_is_absent() {
    let run = Run::new();
    run.write("conf/leads.csv", "name\nAcme\n");
    run.write(
        "conf/other.toml",
        "[pipeline]\noutput_dir = \"out\"\n[ingest]\ninput = \"leads.csv\"\n",
    );
    let o = run
        .cmd(&["validate"])
        .env("LEADCRAWL_CONFIG", "conf/other.toml")
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(text(&o).contains("other.toml: OK"), "{}", text(&o));
    // --config wins over the variable.
    let o = run
        .cmd(&["validate", "--config", "nope.toml"])
        .env("LEADCRAWL_CONFIG", "conf/other.toml")
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("nope.toml"), "{}", text(&o));
}

/// Every stage whose config has a section puts that section's derived fingerprint in its own,
/// so a key that changes output (see the config's unit test) re-runs the stage.
#[test]
fn stage_fingerprints_are_derived_from_their_sections() {
    let run = Run::new();
    run.write("leads.csv", "name\nAcme\n");
    let path = run.config("[pipeline]\noutput_dir = \"out\"\n[ingest]\ninput = \"leads.csv\"\n");
    let config = leadcrawl::config::Config::load(&path).unwrap();
    let mut checked = 0;
    for stage in leadcrawl::stages::all() {
        if !leadcrawl::config::SECTIONS.contains(&stage.name()) {
            continue;
        }
        let fp = stage.fingerprint(&config).unwrap();
        assert!(
            fp.contains(&config.fingerprint(stage.name())),
            "{}: {fp}",
            stage.name()
        );
        checked += 1;
    }
    assert_eq!(
        checked, 9,
        "ingest, crawl, extract, registry, universe, prospects, embed, evaluate, score"
    );
}

#[test]
fn syntax_errors_and_missing_config_are_usage_errors() {
    let run = Run::new();
    run.config("[pipeline\noutput_dir = 1\n");
    let o = run.run(&["run"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o).contains("(syntax)"), "{}", text(&o));
    let o = run.run(&["status", "--config", "nope.toml"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o).contains("pass --config PATH"), "{}", text(&o));
    assert!(text(&o).contains("LEADCRAWL_CONFIG"), "{}", text(&o));
    let o = run.run(&["frobnicate"]);
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn shipped_pipeline_toml_is_complete_and_valid() {
    // The documented default config: only the input needs to exist.
    let run = Run::new();
    let input = run.write("leads.csv", "name,website\nAcme,acme.com\n");
    let o = run
        .cmd(&[
            "validate",
            "--config",
            repo().join("pipeline.toml").to_str().unwrap(),
        ])
        .env(
            "LEADCRAWL__INGEST__INPUT",
            format!("{:?}", input.to_str().unwrap()),
        )
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    // Every key of every section appears in it (present or commented) and in docs/config.md.
    let shipped = std::fs::read_to_string(repo().join("pipeline.toml")).unwrap();
    let docs = std::fs::read_to_string(repo().join("docs/config.md")).unwrap();
    for (section, v) in leadcrawl::config::defaults_json() {
        for key in v.as_object().unwrap().keys() {
            if key == "columns" || key == "status" || key == "attributes" {
                continue;
            }
            assert!(
                shipped.contains(&format!("{key} =")),
                "pipeline.toml lacks {section}.{key}"
            );
            assert!(
                docs.contains(&format!("`{section}.{key}`")),
                "docs/config.md lacks {section}.{key}"
            );
        }
    }
    // The sub-tables' keys too.
    for key in ["include", "exclude", "types"] {
        assert!(
            shipped.contains(&format!("{key} =")),
            "pipeline.toml lacks ingest.attributes.{key}"
        );
        assert!(docs.contains(&format!("`ingest.attributes.{key}`")));
    }
}

#[test]
fn unknown_and_unbuilt_stages_are_usage_errors() {
    let run = Run::new();
    run.write("leads.csv", "name\nAcme\n");
    run.config("[pipeline]\noutput_dir = \"out\"\n[ingest]\ninput = \"leads.csv\"\n");
    let o = run.run(&["run", "--stages", "ingest,bogus"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o).contains("unknown stage \"bogus\""), "{}", text(&o));
    let o = run.run(&["run", "--stages", "ingest", "--force", "crawl"]);
    assert_eq!(o.status.code(), Some(2));
    // Workers and --no-local-worker need the shared PostgreSQL store.
    let o = run.run(&["worker"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        text(&o).contains("needs a PostgreSQL state store"),
        "{}",
        text(&o)
    );
    let o = run.run(&["run", "--no-local-worker"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        text(&o).contains("--no-local-worker needs a PostgreSQL"),
        "{}",
        text(&o)
    );
}

#[test]
fn schema_docs_match_the_code() {
    let o = bin().args(["schema", "--markdown"]).output().unwrap();
    assert!(o.status.success());
    let docs = std::fs::read_to_string(repo().join("docs/schema.md")).unwrap();
    assert_eq!(
        String::from_utf8(o.stdout).unwrap(),
        docs,
        "regenerate: leadcrawl schema --markdown > docs/schema.md"
    );
    let o = bin().args(["schema", "leads"]).output().unwrap();
    assert!(String::from_utf8_lossy(&o.stdout).contains("lead_id"));
    assert_eq!(
        bin()
            .args(["schema", "nope"])
            .output()
            .unwrap()
            .status
            .code(),
        Some(2)
    );
}

#[test]
fn json_logs_are_one_json_object_per_line_with_fields_at_the_top() {
    let run = Run::new();
    run.write("leads.csv", "name\nAcme\n");
    run.config("[pipeline]\noutput_dir = \"out\"\n[ingest]\ninput = \"leads.csv\"\n");
    let o = run.run(&["--log-format", "json", "run", "--stages", "ingest"]);
    assert!(o.status.success(), "{}", text(&o));
    let err = String::from_utf8_lossy(&o.stderr);
    let lines: Vec<&str> = err.lines().filter(|l| !l.trim().is_empty()).collect();
    assert!(lines.len() >= 2, "{err}");
    let mut stages = Vec::new();
    for l in lines {
        let v: serde_json::Value = serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}"));
        assert!(v["level"].is_string() && v["timestamp"].is_string(), "{l}");
        assert!(v.get("fields").is_none(), "fields nested: {l}");
        assert!(v["message"].is_string(), "{l}");
        if let Some(s) = v["stage"].as_str() {
            stages.push(s.to_string());
        }
    }
    // `jq .stage` finds the stage of the stage's own lines.
    assert!(stages.iter().any(|s| s == "ingest"), "{err}");
}
