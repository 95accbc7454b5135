//! Config validation through the binary: every error at once, each naming its key; exit code 2.

use crate::common::*;

#[test]
fn validate_lists_every_error_with_its_key() {
    let run = Run::new();
    run.config(
        r#"
[pipeline]
output_dir = "out"
[state]
url = "postgres://leadcrawl:secret@db.internal/leadcrawl"
lease_seconds = 1.0
[ingest]
input = "missing.csv"
batch_rows = 0
encoding = "klingon"
[crawl]
max_pages_per_site = 0
requests_per_second = -1.0
contact_url = "not a url"
max_pagez = 3
[evaluate]
folds = 1
[score]
route_at = 0.5
nurture_at = 0.7
[registries]
x = 1
"#,
    );
    let o = run.run(&["validate"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    let t = text(&o);
    for want in [
        "ingest.input: file not found:",
        "ingest.batch_rows: must be at least 1, got 0",
        "ingest.encoding: unknown encoding \"klingon\"",
        "crawl.max_pagez: unknown key",
        "registries: unknown section",
        "evaluate.folds: must be in 2..=50, got 1",
        "state.url: holds a password; remove it from the file and set LEADCRAWL_PG_PASSWORD",
        "state.lease_seconds: must be between 2 and 3600 seconds, got 1",
        "score.nurture_at: must not exceed score.route_at (0.5), got 0.7",
    ] {
        assert!(t.contains(want), "missing {want:?} in:\n{t}");
    }
    // crawl had an unknown key, so its values could not be checked; fix it and they are.
    let cfg = std::fs::read_to_string(run.path().join("pipeline.toml"))
        .unwrap()
        .replace("max_pagez = 3\n", "");
    run.config(&cfg);
    let t = text(&run.run(&["validate"]));
    for want in [
        "crawl.max_pages_per_site: must be at least 1, got 0",
        "crawl.requests_per_second: must be greater than 0, got -1",
        "crawl.contact_url: must be a URL",
        "ingest.batch_rows: must be at least 1, got 0",
    ] {
        assert!(t.contains(want), "missing {want:?} in:\n{t}");
    }
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
            if key == "columns" || key == "status" {
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
fn json_logs_are_one_json_object_per_line() {
    let run = Run::new();
    run.write("leads.csv", "name\nAcme\n");
    run.config("[pipeline]\noutput_dir = \"out\"\n[ingest]\ninput = \"leads.csv\"\n");
    let o = run.run(&["--log-format", "json", "run", "--stages", "ingest"]);
    assert!(o.status.success(), "{}", text(&o));
    let err = String::from_utf8_lossy(&o.stderr);
    let lines: Vec<&str> = err.lines().filter(|l| !l.trim().is_empty()).collect();
    assert!(lines.len() >= 2, "{err}");
    for l in lines {
        let v: serde_json::Value = serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}"));
        assert!(v["level"].is_string() && v["timestamp"].is_string(), "{l}");
    }
}
