//! Resume: the process is killed (SIGKILL, SIGTERM) in the middle of a stage, re-run, and the
//! final tables equal those of an uninterrupted run, row for row, with no duplicates; `status`
//! tells the truth in between.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Child;
use std::time::{Duration, Instant};

use crate::common::*;

const UNITS: usize = 40;
const BATCH: usize = 50;

fn big_csv() -> String {
    let mut s = String::from("Company,Website,Country,SIREN,Stage\n");
    for i in 0..UNITS * BATCH {
        // Every 97th row a bad SIREN, every 101st a duplicate of the row before.
        let siren = if i % 97 == 5 { "123456789" } else { "" };
        let name = if i % 101 == 7 {
            format!("Company {}", i - 1)
        } else {
            format!("Company {i}")
        };
        let site = if i % 101 == 7 {
            format!("company{}.fr", i - 1)
        } else {
            format!("company{i}.fr")
        };
        s.push_str(&format!(
            "{name},{site},France,{siren},{}\n",
            ["won", "lost", "open"][i % 3]
        ));
    }
    s
}

fn setup() -> Run {
    let run = Run::new();
    run.write("leads.csv", big_csv());
    run.config(&format!(
        "[pipeline]\noutput_dir = \"out\"\n[ingest]\ninput = \"leads.csv\"\nbatch_rows = {BATCH}\n"
    ));
    run
}

fn spawn_slow(run: &Run) -> Child {
    run.cmd(&["run", "--stages", "ingest"])
        .env("LEADCRAWL_TEST_UNIT_DELAY_MS", "40")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap()
}

fn parts(dir: &Path) -> usize {
    std::fs::read_dir(dir)
        .map(|d| {
            d.flatten()
                .filter(|e| e.file_name().to_string_lossy().starts_with("part-"))
                .count()
        })
        .unwrap_or(0)
}

fn wait_for_parts(run: &Run, n: usize) {
    let t = Instant::now();
    while parts(&run.out().join("leads")) < n {
        assert!(t.elapsed() < Duration::from_secs(60), "no progress");
        std::thread::sleep(Duration::from_millis(5));
    }
}

type Table = Vec<BTreeMap<String, Option<String>>>;

fn sorted_tables(run: &Run) -> (Table, Table) {
    let mut leads = rows(&run.out().join("leads"));
    leads.sort_by(|a, b| a["lead_id"].cmp(&b["lead_id"]));
    let mut rejects = rows(&run.out().join("rejects"));
    rejects.sort_by(|a, b| a["source_line"].cmp(&b["source_line"]));
    (leads, rejects)
}

fn reference() -> (Table, Table) {
    let run = setup();
    let o = run.run(&["run", "--stages", "ingest"]);
    assert!(o.status.success(), "{}", text(&o));
    sorted_tables(&run)
}

/// A little entropy without a dependency: kill points vary between test runs.
fn random_below(n: usize, salt: usize) -> usize {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos() as usize;
    (nanos / 7 + salt * 7919) % n
}

#[test]
fn sigkill_at_random_moments_then_resume_equals_uninterrupted_run() {
    let (want_leads, want_rejects) = reference();
    assert_eq!(want_leads.len() + want_rejects.len(), UNITS * BATCH);
    let run = setup();
    let mut last = 0;
    for round in 0..3 {
        let mut child = spawn_slow(&run);
        let target = last + 1 + random_below(8, round);
        wait_for_parts(&run, target);
        // Kill at an arbitrary point inside the next unit's sleep, write or commit.
        std::thread::sleep(Duration::from_millis(random_below(45, round + 11) as u64));
        child.kill().unwrap();
        child.wait().unwrap();
        last = parts(&run.out().join("leads"));

        let st = status_json(&run);
        let ingest = stage_status(&st, "ingest");
        assert_eq!(
            ingest["status"], "interrupted",
            "status after SIGKILL: {ingest}"
        );
        let done = ingest["units_done"].as_u64().unwrap();
        assert_eq!(ingest["units_total"], UNITS as u64);
        assert!(done >= 1 && done < UNITS as u64, "{ingest}");
        let registered = ingest["outputs"]["leads"]["files"]
            .as_array()
            .unwrap()
            .len();
        assert_eq!(registered as u64, done, "one leads part per done unit");
        assert!(
            last >= registered && last <= registered + 1,
            "at most one unregistered part on disk"
        );
    }
    // Leftovers of a crash: a temporary and an unregistered part. The next run removes them.
    run.write("out/leads/.tmp-x-part-00039.parquet", b"garbage");
    run.write("out/leads/part-00099.parquet", b"garbage");
    let o = run.run(&["run", "--stages", "ingest"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(text(&o).contains("resuming"), "{}", text(&o));
    assert!(!run.out().join("leads/part-00099.parquet").exists());
    assert!(!run.out().join("leads/.tmp-x-part-00039.parquet").exists());

    let (leads, rejects) = sorted_tables(&run);
    assert_eq!(leads.len(), want_leads.len(), "no lead lost or duplicated");
    assert_eq!(leads, want_leads);
    assert_eq!(rejects, want_rejects);
    let st = status_json(&run);
    let ingest = stage_status(&st, "ingest");
    assert_eq!(ingest["status"], "done");
    assert_eq!(ingest["units_done"], UNITS as u64);
    assert_eq!(
        ingest["counters"]["rows"],
        (UNITS * BATCH) as u64,
        "counters count each unit once"
    );

    // A further run does nothing: the stage is up to date.
    let o = run.run(&["run", "--stages", "ingest"]);
    assert!(o.status.success());
    assert!(text(&o).contains("up to date"), "{}", text(&o));
}

#[test]
fn sigterm_stops_cleanly_with_code_130_and_resumes() {
    let run = setup();
    let child = spawn_slow(&run);
    wait_for_parts(&run, 3);
    sigterm(&child);
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(130));
    let st = status_json(&run);
    let ingest = stage_status(&st, "ingest");
    assert_eq!(ingest["status"], "interrupted");
    let done = ingest["units_done"].as_u64().unwrap();
    assert!(done < UNITS as u64);
    // A clean stop leaves no unregistered file at all.
    assert_eq!(parts(&run.out().join("leads")) as u64, done);
    let o = run.run(&["run", "--stages", "ingest"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let (leads, rejects) = sorted_tables(&run);
    let (want_leads, want_rejects) = reference();
    assert_eq!(leads, want_leads);
    assert_eq!(rejects, want_rejects);
}

#[test]
fn changed_input_reruns_the_stage_and_force_too() {
    let run = Run::new();
    run.write("leads.csv", "name,website\nA,a.com\nB,b.com\n");
    run.config("[pipeline]\noutput_dir = \"out\"\n[ingest]\ninput = \"leads.csv\"\n");
    assert!(run.run(&["run", "--stages", "ingest"]).status.success());
    assert_eq!(rows(&run.out().join("leads")).len(), 2);
    run.write("leads.csv", "name,website\nA,a.com\nB,b.com\nC,c.com\n");
    let o = run.run(&["run", "--stages", "ingest"]);
    assert!(
        text(&o).contains("inputs or config changed"),
        "{}",
        text(&o)
    );
    assert_eq!(rows(&run.out().join("leads")).len(), 3);
    let o = run.run(&["run", "--force", "ingest"]);
    assert!(text(&o).contains("forced"), "{}", text(&o));
    assert_eq!(
        rows(&run.out().join("leads")).len(),
        3,
        "no duplicates after a forced re-run"
    );
}

#[test]
fn a_second_run_on_the_same_output_folder_is_refused_with_code_4() {
    let run = setup();
    let first = spawn_slow(&run);
    wait_for_parts(&run, 1);
    let o = run.run(&["run", "--stages", "ingest"]);
    assert_eq!(o.status.code(), Some(4), "{}", text(&o));
    assert!(
        text(&o).contains(&format!("another leadcrawl run (pid {})", first.id())),
        "{}",
        text(&o)
    );
    // status only reads: it works while the run goes on.
    assert_eq!(
        stage_status(&status_json(&run), "ingest")["status"],
        "running"
    );
    let out = first.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    let o = run.run(&["run", "--stages", "ingest"]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "the lock is released with the process: {}",
        text(&o)
    );
}

/// A part truncated after its commit is found by the next run (its size is not what was
/// committed), named with its units, taken back and done again; a part whose bytes changed
/// but not its size is found when read (checksum), and the run after that heals too.
#[test]
fn a_damaged_part_is_detected_named_and_redone() {
    let run = Run::new();
    let mut csv = String::from("name,description\n");
    for i in 0..30 {
        csv.push_str(&format!("Company {i},Makes thing number {i}\n"));
    }
    run.write("leads.csv", &csv);
    run.config(
        "[pipeline]\noutput_dir = \"out\"\n[ingest]\ninput = \"leads.csv\"\nbatch_rows = 10\n\
         [registry]\nregistries = []\n[extract]\npart_leads = 10\n",
    );
    let o = run.run(&["run", "--stages", "ingest,crawl,extract"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let want = {
        let mut r = rows(&run.out().join("web_features"));
        r.sort_by(|a, b| a["lead_id"].cmp(&b["lead_id"]));
        r
    };
    let mut parts: Vec<std::path::PathBuf> = std::fs::read_dir(run.out().join("web_features"))
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .collect();
    parts.sort();
    assert_eq!(parts.len(), 3);

    // Truncated: the next run names it and redoes its 10 leads, and only those.
    let f = std::fs::OpenOptions::new()
        .write(true)
        .open(&parts[1])
        .unwrap();
    f.set_len(100).unwrap();
    drop(f);
    let name = parts[1].file_name().unwrap().to_string_lossy().into_owned();
    let o = run.run(&["status"]);
    assert!(
        text(&o).contains(&format!("DAMAGED web_features/{name}")),
        "{}",
        text(&o)
    );
    let o = run.run(&["run", "--stages", "ingest,crawl,extract"]);
    let t = text(&o);
    assert_eq!(o.status.code(), Some(0), "{t}");
    assert!(t.contains("damaged part") && t.contains(&name), "{t}");
    assert!(t.contains("units=10"), "{t}");
    let mut got = rows(&run.out().join("web_features"));
    got.sort_by(|a, b| a["lead_id"].cmp(&b["lead_id"]));
    assert_eq!(got, want, "the same table, no lead lost or twice");
    let st = status_json(&run);
    assert_eq!(stage_status(&st, "extract")["units_done"], 30);

    // Same size, other bytes: found when the next stage reads it (checksum).
    let leads_parts: Vec<std::path::PathBuf> = {
        let mut p: Vec<_> = std::fs::read_dir(run.out().join("leads"))
            .unwrap()
            .flatten()
            .map(|e| e.path())
            .collect();
        p.sort();
        p
    };
    let mut bytes = std::fs::read(&leads_parts[0]).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0xff;
    std::fs::write(&leads_parts[0], &bytes).unwrap();
    let o = run.run(&[
        "run",
        "--stages",
        "ingest,crawl,extract",
        "--force",
        "extract",
    ]);
    let t = text(&o);
    assert_eq!(o.status.code(), Some(1), "{t}");
    assert!(t.contains("checksum"), "{t}");
    // The next run redoes the ingest part and everything after it.
    let o = run.run(&["run", "--stages", "ingest,crawl,extract"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let mut got = rows(&run.out().join("web_features"));
    got.sort_by(|a, b| a["lead_id"].cmp(&b["lead_id"]));
    assert_eq!(got.len(), 30);
    let st = status_json(&run);
    assert_eq!(stage_status(&st, "ingest")["units_done"], 3);
}

/// `--stages` without a stage that a selected one needs is a usage error before any work: the
/// earlier selected stages do not run first.
#[test]
fn a_missing_earlier_stage_is_refused_before_any_work() {
    let run = Run::new();
    run.write("leads.csv", "name,website\nA,a.com\nB,b.com\n");
    run.config("[pipeline]\noutput_dir = \"out\"\n[ingest]\ninput = \"leads.csv\"\n");
    let o = run.run(&["run", "--stages", "ingest,registry"]);
    let t = text(&o);
    assert_eq!(o.status.code(), Some(2), "{t}");
    assert!(
        t.contains("stage registry reads the output of extract, which is not done"),
        "{t}"
    );
    assert!(
        !run.out().join("leads").exists(),
        "ingest did not run before the refusal"
    );
}
