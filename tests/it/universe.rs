//! The universe stage through the binary: real SIRENE stock rows and a Companies House file in
//! the published format, as CSV, zip and Parquet; rejects with their reasons; no lead list
//! needed; a changed file reloads, an unchanged one does nothing; a SIGKILLed load resumes to the
//! tables of an uninterrupted one; Parquet read back by pyarrow and polars.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use arrow::array::{ArrayRef, RecordBatch, StringArray};
use arrow::datatypes::{DataType, Field, Schema};

use crate::common::*;

const SIRENE_SAMPLE: &str = "tests/fixtures/registries/sirene-stock/StockUniteLegale_sample.csv";
const SIRENE_MALFORMED: &str =
    "tests/fixtures/registries/sirene-stock/StockUniteLegale_malformed.csv";
const CH_SAMPLE: &str = "tests/fixtures/registries/uk-bulk/BasicCompanyData-sample.csv";

type Table = Vec<BTreeMap<String, Option<String>>>;

fn fixture(rel: &str) -> Vec<u8> {
    std::fs::read(repo().join(rel)).unwrap()
}

fn universe_config(files: &[&str], extra: &str) -> String {
    let list: Vec<String> = files.iter().map(|f| format!("{f:?}")).collect();
    format!(
        "[pipeline]\noutput_dir = \"out\"\n[universe]\nfiles = [{}]\n{extra}",
        list.join(", ")
    )
}

/// A table's rows sorted by file and line, without the columns that name the file.
fn sorted(dir: &Path, drop_source: bool) -> Table {
    let mut t = rows(dir);
    t.sort_by(|a, b| {
        (
            get(a, "source_file"),
            get(a, "source_line").map(|l| l.parse::<u64>().unwrap()),
        )
            .cmp(&(
                get(b, "source_file"),
                get(b, "source_line").map(|l| l.parse().unwrap()),
            ))
    });
    if drop_source {
        for r in &mut t {
            r.remove("source_file");
            r.remove("source_line");
        }
    }
    t
}

#[test]
fn loads_real_rows_without_a_lead_list_and_rejects_with_reasons() {
    let run = Run::new();
    run.write("sirene.csv", fixture(SIRENE_SAMPLE));
    run.write("sirene_malformed.csv", fixture(SIRENE_MALFORMED));
    run.write("ch.csv", fixture(CH_SAMPLE));
    // No [ingest] at all: the universe needs no lead list.
    run.config(&universe_config(
        &["sirene.csv", "sirene_malformed.csv", "ch.csv"],
        "active_only = false\nchunk_rows = 4\n",
    ));
    let o = run.run(&["run", "--stages", "universe"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));

    let universe = sorted(&run.out().join("universe"), false);
    // 9 SIRENE rows, 4 readable Companies House rows.
    assert_eq!(universe.len(), 13);
    let virly = universe
        .iter()
        .find(|r| get(r, "registry_id") == Some("016750697"))
        .unwrap();
    for (k, v) in [
        ("registry", "sirene"),
        ("name", "ETS J VIRLY S A"),
        ("status", "active"),
        ("industry_scheme", "NAF rev. 2"),
        ("industry_code", "77.39Z"),
        ("naf25_code", "77.39Y"),
        ("nace_section", "N"),
        ("nace_division", "77"),
        ("headcount_band", "31"),
        ("headcount_min", "200"),
        ("headcount_max", "249"),
        ("legal_form", "5710"),
        ("category", "ETI"),
        ("country", "FR"),
        ("head_office_siret", "01675069700050"),
        ("masked", "false"),
        ("source_line", "2"),
    ] {
        assert_eq!(get(virly, k), Some(v), "{k} in {virly:?}");
    }
    // 1967-01-01 as days since 1970-01-01.
    assert_eq!(get(virly, "created"), Some("-1096"));
    assert!(get(virly, "source_file").unwrap().ends_with("sirene.csv"));
    let delta = universe
        .iter()
        .find(|r| get(r, "registry_id") == Some("057808172"))
        .unwrap();
    assert_eq!(get(delta, "status"), Some("ceased"));
    let lloyds = universe
        .iter()
        .find(|r| get(r, "registry_id") == Some("00002065"))
        .unwrap();
    for (k, v) in [
        ("registry", "companies_house"),
        ("industry_scheme", "UK SIC 2007"),
        ("industry_code", "64191"),
        ("industry_label", "Banks"),
        ("nace_section", "K"),
        ("legal_form", "plc"),
        ("legal_form_label", "Public limited company"),
        ("category", "group"),
        ("postcode", "EC2V 7HN"),
        ("country", "GB"),
        ("source_line", "4"),
    ] {
        assert_eq!(get(lloyds, k), Some(v), "{k} in {lloyds:?}");
    }
    assert_eq!(get(lloyds, "headcount_band"), None);

    let rejects = sorted(&run.out().join("universe_rejects"), false);
    let got: Vec<(String, String)> = rejects
        .iter()
        .map(|r| {
            let file = get(r, "source_file").unwrap();
            let file = Path::new(file).file_name().unwrap().to_string_lossy();
            (
                format!("{file}:{}", get(r, "source_line").unwrap()),
                get(r, "reason").unwrap().to_string(),
            )
        })
        .collect();
    let lines: Vec<&str> = got.iter().map(|(l, _)| l.as_str()).collect();
    assert_eq!(
        lines,
        [
            "ch.csv:2",
            "ch.csv:7",
            "ch.csv:8",
            "sirene_malformed.csv:2",
            "sirene_malformed.csv:3",
            "sirene_malformed.csv:4",
            "sirene_malformed.csv:5"
        ]
    );
    assert_eq!(got[0].1, "56 fields, the header has 55");
    assert!(got[1]
        .1
        .contains("IncorporationDate \"31/02/2019\" is not a date"));
    assert!(got[4]
        .1
        .contains("dateCreationUniteLegale \"invalid_date\""));
    assert!(got[6].1.contains("trancheEffectifsUniteLegale \"8\""));
    let raw = get(&rejects[3], "raw").unwrap();
    assert!(raw.starts_with("138426539,h,,,,f,cuhgjdp,"), "{raw}");

    let st = status_json(&run);
    let u = stage_status(&st, "universe");
    assert_eq!(u["status"], "done");
    // Chunks of 4: 3 + 1 + 2.
    assert_eq!(u["units_done"], 6);
    assert_eq!(u["counters"]["rows"], 9 + 4 + 7);
    assert_eq!(u["counters"]["companies"], 13);
    assert_eq!(u["counters"]["rejects"], 7);

    // pyarrow and polars read the folders as tables.
    let o = std::process::Command::new(python())
        .arg(repo().join("tests/python/universe_readback.py"))
        .arg(run.out())
        .arg("13")
        .arg("7")
        .output()
        .expect("python");
    assert!(o.status.success(), "python read-back failed:\n{}", text(&o));

    // Nothing changed: nothing to do.
    let o = run.run(&["run", "--stages", "universe"]);
    assert!(text(&o).contains("up to date, skipped"), "{}", text(&o));

    // A new release of a file (one more row) loads again; active only by default now.
    let mut more = fixture(SIRENE_SAMPLE);
    more.extend_from_slice(
        b"552032534,O,,1955-01-01,,,,,,,,,,42,2023,2025-12-06T05:25:38,7,GE,2023,2022-10-01,A,,,DANONE,,,,5599,70.10Z,NAFRev2,00703,N,,O,70.10Y\n",
    );
    run.write("sirene.csv", more);
    run.config(&universe_config(
        &["sirene.csv", "sirene_malformed.csv", "ch.csv"],
        "chunk_rows = 4\n",
    ));
    let o = run.run(&["run", "--stages", "universe"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(text(&o).contains("starting over"), "{}", text(&o));
    let universe = rows(&run.out().join("universe"));
    // 9 + 1 SIRENE rows less the ceased one; Companies House less the LLP in liquidation.
    assert_eq!(universe.len(), 12);
    assert!(universe.iter().all(|r| get(r, "status") == Some("active")));
    let danone = universe
        .iter()
        .find(|r| get(r, "registry_id") == Some("552032534"))
        .unwrap();
    assert_eq!(get(danone, "employer"), Some("true"));
    assert_eq!(get(danone, "head_office_siret"), Some("55203253400703"));
    let st = status_json(&run);
    // The ceased SIRENE row and the LLP, and the malformed file's two ceased rows: active only,
    // a row marked ceased is counted without being read further, so it is no longer a reject.
    let counters = &stage_status(&st, "universe")["counters"];
    assert_eq!(counters["inactive"], 4);
    assert_eq!(counters["rejects"], 5);
    assert_eq!(counters["rows"], 10 + 4 + 7);
}

/// The sample's rows as a Parquet file of strings (as INSEE publishes it, columns in another
/// order).
fn sample_as_parquet(path: &Path) {
    csv_as_parquet(&fixture(SIRENE_SAMPLE), path, 1 << 20);
}

/// A CSV stock as a Parquet file of strings, its columns in reverse order, `group_rows` rows per
/// row group.
fn csv_as_parquet(bytes: &[u8], path: &Path, group_rows: usize) {
    let mut r = csv::ReaderBuilder::new().from_reader(bytes);
    let header: Vec<String> = r.headers().unwrap().iter().map(str::to_string).collect();
    let records: Vec<csv::StringRecord> = r.records().map(Result::unwrap).collect();
    let order: Vec<usize> = (0..header.len()).rev().collect();
    let fields: Vec<Field> = order
        .iter()
        .map(|&i| Field::new(&header[i], DataType::Utf8, true))
        .collect();
    let columns: Vec<ArrayRef> = order
        .iter()
        .map(|&i| {
            Arc::new(StringArray::from(
                records
                    .iter()
                    .map(|rec| Some(rec[i].to_string()).filter(|v| !v.is_empty()))
                    .collect::<Vec<_>>(),
            )) as ArrayRef
        })
        .collect();
    let batch = RecordBatch::try_new(Arc::new(Schema::new(fields)), columns).unwrap();
    let file = std::fs::File::create(path).unwrap();
    let props = parquet::file::properties::WriterProperties::builder()
        .set_max_row_group_size(group_rows)
        .build();
    let mut w = parquet::arrow::ArrowWriter::try_new(file, batch.schema(), Some(props)).unwrap();
    w.write(&batch).unwrap();
    w.close().unwrap();
}

fn sample_as_zip(path: &Path) {
    let file = std::fs::File::create(path).unwrap();
    let mut z = zip::ZipWriter::new(file);
    let opts = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    z.start_file("StockUniteLegale_utf8.csv", opts).unwrap();
    z.write_all(&fixture(SIRENE_SAMPLE)).unwrap();
    z.finish().unwrap();
}

#[test]
fn csv_zip_and_parquet_give_the_same_universe() {
    let mut tables = Vec::new();
    for (name, format) in [
        ("stock.csv", "auto"),
        ("stock.zip", "auto"),
        ("stock.parquet", "auto"),
        ("stock.bin", "zip"),
    ] {
        let run = Run::new();
        let path = run.path().join(name);
        match name {
            "stock.csv" => {
                run.write(name, fixture(SIRENE_SAMPLE));
            }
            "stock.parquet" => sample_as_parquet(&path),
            _ => sample_as_zip(&path),
        }
        run.config(&universe_config(
            &[name],
            &format!("format = {format:?}\nchunk_rows = 2\n"),
        ));
        let o = run.run(&["run", "--stages", "universe"]);
        assert_eq!(o.status.code(), Some(0), "{name}: {}", text(&o));
        let t = sorted(&run.out().join("universe"), true);
        assert_eq!(t.len(), 8, "{name}: the active rows");
        tables.push((name, t));
    }
    for (name, t) in &tables[1..] {
        assert_eq!(t, &tables[0].1, "{name} differs from the CSV");
    }
}

#[test]
fn unreadable_files_are_input_errors_naming_the_file() {
    let run = Run::new();
    run.config(&universe_config(&["missing.csv"], ""));
    let o = run.run(&["run", "--stages", "universe"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(
        text(&o).contains("universe.files[0]: file not found"),
        "{}",
        text(&o)
    );

    run.write("leads.csv", "name,website\nAcme,acme.fr\n");
    run.config(&universe_config(&["leads.csv"], ""));
    let o = run.run(&["run", "--stages", "universe"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(
        text(&o).contains("neither a SIRENE StockUniteLegale"),
        "{}",
        text(&o)
    );

    run.write("empty.zip", b"PK\x03\x04 not really");
    run.config(&universe_config(&["empty.zip"], ""));
    let o = run.run(&["run", "--stages", "universe"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(
        text(&o).contains("not a readable zip archive"),
        "{}",
        text(&o)
    );
}

const CHUNKS: usize = 24;
const CHUNK_ROWS: usize = 40;

/// A stock of CHUNKS × CHUNK_ROWS rows in the sample's header: every third unit ceased, every
/// 37th row with a broken date.
fn big_stock() -> String {
    let sample = String::from_utf8(fixture(SIRENE_SAMPLE)).unwrap();
    let header = sample.lines().next().unwrap();
    let mut s = format!("{header}\n");
    for i in 0..CHUNKS * CHUNK_ROWS {
        let date = if i % 37 == 5 {
            "1999-02-30"
        } else {
            "2001-05-17"
        };
        let state = if i % 3 == 0 { "C" } else { "A" };
        s.push_str(&format!(
            "{:09},O,,{date},,,,,,,,,,12,2023,2025-12-06T05:25:38,7,PME,2023,2022-10-01,{state},,,SOCIETE {i},,,,5710,62.01Z,NAFRev2,00011,N,,O,62.01Y\n",
            100_000_000 + i
        ));
    }
    s
}

fn setup_big() -> Run {
    let run = Run::new();
    run.write("stock.csv", big_stock());
    run.config(&universe_config(
        &["stock.csv"],
        &format!("chunk_rows = {CHUNK_ROWS}\n"),
    ));
    run
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

#[test]
fn sigkilled_load_resumes_to_the_uninterrupted_tables() {
    let reference = setup_big();
    let o = reference.run(&["run", "--stages", "universe"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let want = sorted(&reference.out().join("universe"), true);
    let want_rejects = sorted(&reference.out().join("universe_rejects"), true);
    // A ceased row is counted unread (active only), so only the active broken rows are rejects.
    let broken = (0..CHUNKS * CHUNK_ROWS)
        .filter(|i| i % 37 == 5 && i % 3 != 0)
        .count();
    let ceased = (0..CHUNKS * CHUNK_ROWS).filter(|i| i % 3 == 0).count();
    assert_eq!(want_rejects.len(), broken);
    assert_eq!(want.len(), CHUNKS * CHUNK_ROWS - broken - ceased);

    let run = setup_big();
    let mut killed_at = Vec::new();
    for round in 0..2 {
        let mut child = run
            .cmd(&["run", "--stages", "universe"])
            .env("LEADCRAWL_TEST_UNIT_DELAY_MS", "30")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let target = parts(&run.out().join("universe")) + 3 + round * 2;
        let t = Instant::now();
        while parts(&run.out().join("universe")) < target {
            assert!(t.elapsed() < Duration::from_secs(60), "no progress");
            std::thread::sleep(Duration::from_millis(3));
        }
        std::thread::sleep(Duration::from_millis(7 + 11 * round as u64));
        child.kill().unwrap();
        child.wait().unwrap();
        killed_at.push(parts(&run.out().join("universe")));
        let st = status_json(&run);
        let u = stage_status(&st, "universe");
        assert_eq!(u["status"], "interrupted", "{u}");
        let done = u["units_done"].as_u64().unwrap() as usize;
        assert!((1..CHUNKS).contains(&done), "{u}");
    }
    let o = run.run(&["run", "--stages", "universe"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(text(&o).contains("resuming"), "{}", text(&o));
    assert_eq!(
        sorted(&run.out().join("universe"), true),
        want,
        "killed at {killed_at:?}"
    );
    assert_eq!(
        sorted(&run.out().join("universe_rejects"), true),
        want_rejects
    );
    let st = status_json(&run);
    let u = stage_status(&st, "universe");
    assert_eq!(u["units_done"], CHUNKS as u64);
    assert_eq!(
        u["counters"]["rows"],
        (CHUNKS * CHUNK_ROWS) as u64,
        "each chunk counted once"
    );
    assert_eq!(parts(&run.out().join("universe")), CHUNKS);
}

/// The same stock as Parquet, one row group per chunk, read by a thread per core: a SIGKILLed
/// load resumes to the tables the CSV gives, each row group counted once.
#[test]
fn sigkilled_parquet_load_resumes_to_the_csv_tables() {
    let reference = setup_big();
    let o = reference.run(&["run", "--stages", "universe"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let want = sorted(&reference.out().join("universe"), true);
    let want_rejects = rows(&reference.out().join("universe_rejects")).len();

    let run = Run::new();
    csv_as_parquet(
        big_stock().as_bytes(),
        &run.path().join("stock.parquet"),
        CHUNK_ROWS,
    );
    run.config(&universe_config(
        &["stock.parquet"],
        // Two row groups would fit a chunk of 2 × CHUNK_ROWS - 1 rows only one at a time.
        &format!("chunk_rows = {}\n", 2 * CHUNK_ROWS - 1),
    ));
    let mut child = run
        .cmd(&["run", "--stages", "universe"])
        .env("LEADCRAWL_TEST_UNIT_DELAY_MS", "30")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let t = Instant::now();
    while parts(&run.out().join("universe")) < 5 {
        assert!(t.elapsed() < Duration::from_secs(60), "no progress");
        std::thread::sleep(Duration::from_millis(3));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let done = stage_status(&status_json(&run), "universe")["units_done"]
        .as_u64()
        .unwrap() as usize;
    assert!((1..CHUNKS).contains(&done), "killed after {done} chunks");
    let o = run.run(&["run", "--stages", "universe"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(text(&o).contains("resuming"), "{}", text(&o));
    assert_eq!(sorted(&run.out().join("universe"), true), want);
    assert_eq!(
        rows(&run.out().join("universe_rejects")).len(),
        want_rejects
    );
    let u = stage_status(&status_json(&run), "universe").clone();
    assert_eq!(u["units_done"], CHUNKS as u64, "one chunk per row group");
    assert_eq!(u["counters"]["rows"], (CHUNKS * CHUNK_ROWS) as u64);
    let c = &u["counters"];
    assert_eq!(
        c["companies"].as_u64().unwrap()
            + c["rejects"].as_u64().unwrap()
            + c["inactive"].as_u64().unwrap(),
        (CHUNKS * CHUNK_ROWS) as u64
    );
    // A row's line is its 1-based row number in the file.
    let universe = rows(&run.out().join("universe"));
    let first = universe
        .iter()
        .find(|r| get(r, "registry_id") == Some("100000001"))
        .unwrap();
    assert_eq!(get(first, "source_line"), Some("2"));
}

/// A Parquet file written as one row group larger than a chunk: cut into chunks of
/// `chunk_rows` rows (no part holds more), the same tables as the CSV.
#[test]
fn a_row_group_larger_than_a_chunk_is_cut() {
    let reference = setup_big();
    let o = reference.run(&["run", "--stages", "universe"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let want = sorted(&reference.out().join("universe"), true);

    let run = Run::new();
    let total = CHUNKS * CHUNK_ROWS;
    csv_as_parquet(
        big_stock().as_bytes(),
        &run.path().join("stock.parquet"),
        total,
    );
    let per = 100;
    run.config(&universe_config(
        &["stock.parquet"],
        &format!("chunk_rows = {per}\n"),
    ));
    let o = run.run(&["run", "--stages", "universe"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert_eq!(sorted(&run.out().join("universe"), true), want);
    let u = stage_status(&status_json(&run), "universe").clone();
    assert_eq!(u["units_done"], total.div_ceil(per) as u64);
    assert_eq!(u["counters"]["rows"], total as u64);
    // No part holds more companies than a chunk has rows.
    for entry in std::fs::read_dir(run.out().join("universe")).unwrap() {
        let path = entry.unwrap().path();
        let file = std::fs::File::open(&path).unwrap();
        let meta = parquet::file::reader::FileReader::metadata(
            &parquet::file::reader::SerializedFileReader::new(file).unwrap(),
        )
        .file_metadata()
        .num_rows();
        assert!(
            meta > 0 && meta <= per as i64,
            "{}: {meta} rows",
            path.display()
        );
    }
}

#[test]
fn legal_units_take_their_head_offices_place() {
    let run = Run::new();
    run.write("units.csv", fixture(SIRENE_SAMPLE));
    run.write(
        "establishments.csv",
        fixture("tests/fixtures/registries/sirene-stock/StockEtablissement_sample.csv"),
    );
    run.config(&universe_config(
        &["units.csv"],
        "establishments = [\"establishments.csv\"]\n",
    ));
    let o = run.run(&["run", "--stages", "universe"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    // Lyon, Ajaccio, Berlin: the closed head office is left out, the "maybe" row logged.
    assert!(
        text(&o).contains("head_offices=3 unreadable=1"),
        "{}",
        text(&o)
    );
    let universe = rows(&run.out().join("universe"));
    let place = |siren: &str| {
        let r = universe
            .iter()
            .find(|r| get(r, "registry_id") == Some(siren))
            .unwrap();
        (
            get(r, "postcode").map(str::to_string),
            get(r, "city").map(str::to_string),
            get(r, "region").map(str::to_string),
            get(r, "country").map(str::to_string),
        )
    };
    let s = |v: &str| Some(v.to_string());
    assert_eq!(
        place("016750697"),
        (
            s("69003"),
            s("LYON 3E ARRONDISSEMENT"),
            s("Auvergne-Rhône-Alpes"),
            s("FR")
        )
    );
    // Its head office is closed: no place, the legal unit's own country.
    assert_eq!(place("017051186"), (None, None, None, s("FR")));
    assert_eq!(place("046620266").2, s("Corse"));
    assert_eq!(place("054501754"), (None, s("BERLIN"), None, s("DE")));
    assert_eq!(place("063802466"), (None, None, None, s("FR")));

    // The establishments file in `files` is an input error that says where it belongs.
    run.config(&universe_config(&["establishments.csv"], ""));
    let o = run.run(&["run", "--stages", "universe"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(
        text(&o).contains("list it in universe.establishments"),
        "{}",
        text(&o)
    );
}

#[test]
fn loads_on_a_postgresql_state_store() {
    let run = Run::new();
    run.write("sirene.csv", fixture(SIRENE_SAMPLE));
    run.write("ch.csv", fixture(CH_SAMPLE));
    let url = pg_database();
    run.config(&format!(
        "[pipeline]\noutput_dir = \"out\"\n[state]\nurl = {url:?}\n[universe]\nfiles = [\"sirene.csv\", \"ch.csv\"]\nchunk_rows = 3\n"
    ));
    let o = run.run(&["run", "--stages", "universe"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let universe = rows(&run.out().join("universe"));
    // 8 active SIRENE units, 3 active Companies House companies.
    assert_eq!(universe.len(), 11);
    assert_eq!(rows(&run.out().join("universe_rejects")).len(), 3);
    let st = status_json(&run);
    let u = stage_status(&st, "universe");
    assert_eq!(
        (u["status"].as_str(), u["units_done"].as_u64()),
        (Some("done"), Some(6))
    );
    let o = run.run(&["run", "--stages", "universe"]);
    assert!(text(&o).contains("up to date, skipped"), "{}", text(&o));
}
