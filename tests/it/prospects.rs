//! The prospects stage on the demo's universe (datasets/demo/universe): the held-out clients
//! found well above the segment baseline, every figure recomputed in Python from the Parquet
//! outputs, a SIGKILLed stage resumed to the same tables, won/lost when enough lost leads are
//! matched, and `export prospects` read back by ingest.

use std::path::Path;

use crate::common::*;

/// The demo's French companies as a lead list: name, SIREN, status (no websites: the crawl has
/// nothing to fetch).
fn leads_csv() -> String {
    let demo: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(repo().join("datasets/demo/demo.json")).unwrap(),
    )
    .unwrap();
    let mut csv = String::from("name,siren,country,status\n");
    for c in demo["companies"].as_array().unwrap() {
        if c["country"] == "FR" {
            csv.push_str(&format!(
                "\"{}\",{},France,{}\n",
                c["name"].as_str().unwrap().replace('"', "\"\""),
                c["siren"].as_str().unwrap(),
                c["status"].as_str().unwrap()
            ));
        }
    }
    csv
}

/// [`leads_csv`] with a second lead at the first won company.
fn leads_with_a_twin() -> String {
    let mut leads = leads_csv();
    let twin = leads
        .lines()
        .find(|l| l.ends_with(",won"))
        .unwrap()
        .replacen('"', "\"Second contact at ", 1);
    leads.push_str(&twin);
    leads.push('\n');
    leads
}

/// The demo universe in parts of 3,000 rows: 7 parts, read and scored a core's worth at a time
/// and merged (the Python check recomputes every figure from the outputs).
fn setup(extra: &str) -> Run {
    let run = Run::new();
    run.write("leads.csv", leads_csv());
    let universe = repo().join("datasets/demo/universe/StockUniteLegale_demo.zip");
    run.config(&format!(
        "[pipeline]\noutput_dir = \"out\"\n[ingest]\ninput = \"leads.csv\"\n\
         [registry]\nregistries = []\n\
         [universe]\nfiles = [{:?}]\nchunk_rows = 3000\n\
         [prospects]\ntop = 100000\n{extra}",
        universe.display().to_string()
    ));
    run
}

const STAGES: &str = "ingest,crawl,extract,registry,universe,prospects";

/// The stage's outputs: the two tables' columns and `prospects.json` without the run's ids.
fn outputs(
    out: &Path,
) -> (
    Vec<arrow::array::ArrayRef>,
    Vec<arrow::array::ArrayRef>,
    serde_json::Value,
) {
    let cols = |name: &str| -> Vec<arrow::array::ArrayRef> {
        let batches = leadcrawl::table::read_file(&out.join(name)).unwrap();
        let b = arrow::compute::concat_batches(&batches[0].schema(), &batches).unwrap();
        b.columns().to_vec()
    };
    let mut json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("prospects.json")).unwrap())
            .unwrap();
    for k in ["run_id", "config_hash"] {
        json.as_object_mut().unwrap().remove(k);
    }
    (
        cols("prospects.parquet"),
        cols("prospect_clients.parquet"),
        json,
    )
}

fn check_in_python(out: &Path, acceptance: bool) -> String {
    let mut cmd = std::process::Command::new(python());
    cmd.arg(repo().join("tests/python/prospects_outputs.py"))
        .arg(out);
    if acceptance {
        cmd.arg("--acceptance");
    }
    let py = cmd.output().unwrap();
    assert!(py.status.success(), "{}", text(&py));
    text(&py)
}

#[test]
fn prospects_rank_held_out_clients_above_the_baseline_and_resume_after_sigkill() {
    let run = setup("");
    // A second contact at a won client: the same company, so still one client (else one copy
    // could train while its twin is held out).
    run.write("leads.csv", leads_with_a_twin());
    let o = run.run(&["run", "--stages", STAGES]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(run.out().join("prospects.json")).unwrap())
            .unwrap();
    // 21 won companies (22 won leads) and 22 lost French leads: fewer lost than
    // prospects.min_lost (30), so PU.
    assert_eq!(summary["method"], "positive_unlabelled", "{summary}");
    assert_eq!(summary["clients_matched"], 21, "{summary}");
    assert_eq!(summary["clients_unmatched"], 0, "{summary}");
    let clients = leadcrawl::table::read_file(&run.out().join("prospect_clients.parquet")).unwrap();
    let ids: Vec<String> = clients
        .iter()
        .flat_map(|b| {
            let c =
                arrow::array::AsArray::as_string::<i32>(b.column_by_name("registry_id").unwrap());
            (0..b.num_rows())
                .map(|r| c.value(r).to_owned())
                .collect::<Vec<_>>()
        })
        .collect();
    let companies: std::collections::BTreeSet<&String> = ids.iter().collect();
    assert_eq!(ids.len(), 43, "21 won and 22 lost companies");
    assert_eq!(companies.len(), ids.len(), "one row per company");
    assert_eq!(summary["clients_holdout"], 5, "{summary}");
    let prior = summary["class_prior"].as_f64().unwrap();
    assert!(prior > 0.0 && prior < 0.5, "{summary}");
    let py = check_in_python(&run.out(), true);
    println!("{py}");

    // A second folder: the same run killed while the stage commits, then resumed.
    let killed = setup("");
    killed.write("leads.csv", leads_with_a_twin());
    let o = killed.run(&["run", "--stages", "ingest,crawl,extract,registry,universe"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let mut child = killed
        .cmd(&["run", "--stages", STAGES])
        .env("LEADCRAWL_TEST_UNIT_DELAY_MS", "60000")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // The stage's files are written (as temporaries) before it sleeps and commits.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
    loop {
        let tmp = std::fs::read_dir(killed.out())
            .unwrap()
            .flatten()
            .filter(|e| e.file_name().to_string_lossy().starts_with(".tmp-"))
            .count();
        if tmp >= 4 {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the stage never wrote its files"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(!killed.out().join("prospects.parquet").exists());
    let o = killed.run(&["run", "--stages", STAGES]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let leftovers: Vec<String> = std::fs::read_dir(killed.out())
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(".tmp-"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
    let (a, b) = (outputs(&run.out()), outputs(&killed.out()));
    assert_eq!(a.0, b.0, "prospects.parquet");
    assert_eq!(a.1, b.1, "prospect_clients.parquet");
    assert_eq!(a.2, b.2, "prospects.json");

    // Enough lost leads for the config: "auto" tries both methods on the training clients and
    // keeps the one that ranks them better against the background.
    let o = killed.run(&["run", "--stages", STAGES, "--set", "prospects.min_lost=10"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let summary: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(killed.out().join("prospects.json")).unwrap(),
    )
    .unwrap();
    let choice = &summary["method_choice"];
    let (pu, wl) = (
        choice["positive_unlabelled"].as_f64().unwrap(),
        choice["won_lost"].as_f64().unwrap(),
    );
    assert!(
        (0.0..=1.0).contains(&pu) && (0.0..=1.0).contains(&wl),
        "{choice}"
    );
    let expected = if wl > pu {
        "won_lost"
    } else {
        "positive_unlabelled"
    };
    assert_eq!(summary["method"], expected, "{summary}");
    assert_eq!(choice["chosen"], expected, "{summary}");
    check_in_python(&killed.out(), false);
    // Won against lost when asked for: no class prior.
    let o = killed.run(&[
        "run",
        "--stages",
        STAGES,
        "--set",
        "prospects.method=won_lost",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let summary: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(killed.out().join("prospects.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(summary["method"], "won_lost", "{summary}");
    assert!(summary["class_prior"].is_null() && summary["method_choice"].is_null());
    check_in_python(&killed.out(), false);

    // The best 25 as a lead list: ingest reads it back, identifiers and names intact.
    let csv_path = run.path().join("next-leads.csv");
    let o = run.run(&[
        "export",
        "prospects",
        "--top",
        "25",
        "--output",
        csv_path.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let prospects = leadcrawl::table::read_file(&run.out().join("prospects.parquet")).unwrap();
    let ids = arrow::compute::cast(
        prospects[0].column_by_name("registry_id").unwrap(),
        &arrow::datatypes::DataType::Utf8,
    )
    .unwrap();
    let ids = arrow::array::AsArray::as_string::<i32>(&ids);
    let next = Run::new();
    next.write("leads.csv", std::fs::read(&csv_path).unwrap());
    next.config("[pipeline]\noutput_dir = \"out\"\n[ingest]\ninput = \"leads.csv\"\n");
    let o = next.run(&["run", "--stages", "ingest"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let leads = rows(&next.out().join("leads"));
    assert_eq!(leads.len(), 25);
    for (i, lead) in leads.iter().enumerate() {
        assert_eq!(get(lead, "siren"), Some(ids.value(i)), "{lead:?}");
        assert_eq!(get(lead, "country"), Some("FR"));
        assert_eq!(get(lead, "status"), Some("open"));
        assert!(get(lead, "name").is_some_and(|n| !n.is_empty()));
    }
    // To standard output, every row; and a folder without the stage's output is a usage error.
    let o = run.run(&["export", "prospects"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let lines = String::from_utf8_lossy(&o.stdout).lines().count();
    assert_eq!(lines as u64 - 1, summary_scored(&run.out()));
    let o = next.run(&["export", "prospects"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(
        text(&o).contains("prospects.parquet not found"),
        "{}",
        text(&o)
    );
}

fn summary_scored(out: &Path) -> u64 {
    let s: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("prospects.json")).unwrap())
            .unwrap();
    s["scored"].as_u64().unwrap()
}

#[test]
fn a_bad_prospects_setting_names_its_key() {
    let run = setup("exclude_features = [\"regoin\"]\nmodel = \"centroid_embedding\"\n");
    let o = run.run(&["validate"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    let t = text(&o);
    assert!(
        t.contains("prospects.exclude_features")
            && t.contains("\"regoin\"")
            && t.contains("region"),
        "{t}"
    );
    assert!(
        t.contains("prospects.model") && t.contains("gradient_boosted_trees"),
        "{t}"
    );
}
