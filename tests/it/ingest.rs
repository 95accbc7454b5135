//! Ingest of messy CRM exports: every row ends in `leads` or `rejects`, with exact reasons.

use crate::common::*;

const FRENCH_EXCEL: &str = "\u{feff}Société;Site web;Pays;SIREN;SIRET;Statut;Commentaires\r\n\
Café Dupont ;cafe-dupont.fr;France;552 100 554;;Gagné;\"Client fidèle\r\ndepuis 2019\"\r\n\
\r\n\
Bad Siren SA;bad.fr;FR;552100555;;Perdu;\r\n\
Cafe\u{301} Dupont;https://cafe-dupont.fr;France;552100554;;Gagné;doublon\r\n\
  Acme   Industrie ;https://www.acme-industrie.fr/?utm_source=crm#top;France;;552 100 554 00013;perdu;\r\n\
;nothing.fr;FR;;;;\r\n\
Too;many;fields;x;y;z;w;extra\r\n\
Site Cassé;not a website;FR;;;;\r\n\
Open Co;shop.open-co.co.uk;Belgique;;;En cours;\r\n\
;;;;;;\r\n";

fn french_config() -> &'static str {
    r#"
[pipeline]
output_dir = "out"
[ingest]
input = "leads.csv"
[ingest.columns]
name = "Société"
website = "Site web"
country = "Pays"
status = "Statut"
notes = "Commentaires"
[ingest.status]
won = ["Gagné"]
lost = ["Perdu"]
"#
}

#[test]
fn french_excel_export_with_bom_semicolons_quoted_newlines() {
    let run = Run::new();
    run.write("leads.csv", FRENCH_EXCEL);
    run.config(french_config());
    let o = run.run(&["run", "--stages", "ingest"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));

    let leads = rows(&run.out().join("leads"));
    let names: Vec<_> = leads.iter().map(|r| get(r, "name").unwrap()).collect();
    assert_eq!(names, vec!["Café Dupont", "Acme Industrie", "Open Co"]);
    let cafe = &leads[0];
    assert_eq!(get(cafe, "source_line"), Some("2"));
    assert_eq!(get(cafe, "website"), Some("https://cafe-dupont.fr/"));
    assert_eq!(get(cafe, "domain"), Some("cafe-dupont.fr"));
    assert_eq!(get(cafe, "country"), Some("FR"));
    assert_eq!(get(cafe, "status"), Some("won"));
    assert_eq!(get(cafe, "siren"), Some("552100554"));
    assert_eq!(get(cafe, "notes"), Some("Client fidèle\r\ndepuis 2019"));
    let acme = &leads[1];
    assert_eq!(get(acme, "source_line"), Some("7"));
    assert_eq!(get(acme, "website"), Some("https://www.acme-industrie.fr/"));
    assert_eq!(get(acme, "host"), Some("www.acme-industrie.fr"));
    assert_eq!(get(acme, "domain"), Some("acme-industrie.fr"));
    assert_eq!(get(acme, "siret"), Some("55210055400013"));
    assert_eq!(
        get(acme, "siren"),
        Some("552100554"),
        "SIREN derived from the SIRET"
    );
    assert_eq!(
        get(acme, "status"),
        Some("lost"),
        "status matched case-insensitively"
    );
    let open = &leads[2];
    assert_eq!(
        get(open, "domain"),
        Some("open-co.co.uk"),
        "public-suffix aware"
    );
    assert_eq!(get(open, "country"), Some("BE"));
    assert_eq!(get(open, "country_raw"), Some("Belgique"));
    assert_eq!(get(open, "status"), Some("open"));
    assert_eq!(get(open, "status_raw"), Some("En cours"));

    let rejects = rows(&run.out().join("rejects"));
    let got: Vec<(String, Option<String>, String)> = rejects
        .iter()
        .map(|r| {
            (
                get(r, "source_line").unwrap().to_string(),
                get(r, "column").map(str::to_string),
                get(r, "reason").unwrap().to_string(),
            )
        })
        .collect();
    let lead_id = get(cafe, "lead_id").unwrap();
    let want: Vec<(String, Option<String>, String)> = vec![
        (
            "5".into(),
            Some("SIREN".into()),
            "invalid siren: SIREN \"552100555\" fails its check digit".into(),
        ),
        (
            "6".into(),
            None,
            format!("duplicate of line 2 (same lead_id {lead_id})"),
        ),
        (
            "8".into(),
            Some("Société".into()),
            "empty company name (and no id)".into(),
        ),
        (
            "9".into(),
            None,
            "expected 7 fields, found 8 (a stray quote or delimiter?)".into(),
        ),
        (
            "10".into(),
            Some("Site web".into()),
            "invalid website: not a URL or domain: \"not a website\"".into(),
        ),
    ];
    assert_eq!(got, want);
    assert_eq!(
        get(&rejects[3], "raw"),
        Some(r#"["Too", "many", "fields", "x", "y", "z", "w", "extra"]"#)
    );

    // Nothing lost: every non-blank data row is in one of the two tables.
    assert_eq!(leads.len() + rejects.len(), 8);
    let st = status_json(&run);
    let ingest = stage_status(&st, "ingest");
    assert_eq!(ingest["status"], "done");
    assert_eq!(ingest["counters"]["leads"], 3);
    assert_eq!(ingest["counters"]["rejects"], 5);
}

#[test]
fn windows_1252_commas_ids_and_default_column_names() {
    let run = Run::new();
    // "Société Générale" in windows-1252: é = 0xE9. Column names found by their usual aliases.
    let mut csv: Vec<u8> = b"Company,URL,Country,CIK,LEI,Stage\n".to_vec();
    csv.extend_from_slice(b"Soci\xe9t\xe9 G\xe9n\xe9rale,societegenerale.com,France,,o2rne8ibxp4r0td8pu41,Closed Won\n");
    csv.extend_from_slice(b"Apple Inc.,apple.com,USA,320193,HWUPKR0MPOU8FGXBT394,Closed Lost\n");
    csv.extend_from_slice(b"Bad Lei Corp,badlei.com,US,,HWUPKR0MPOU8FGXBT395,Closed Won\n");
    csv.extend_from_slice(b"Bad Cik Corp,badcik.com,US,12ab,,Closed Won\n");
    csv.extend_from_slice(b"Apple Inc.,apple.com,USA,320193,HWUPKR0MPOU8FGXBT394,Closed Lost\n");
    csv.extend_from_slice(b"Widget Co,widget.io,Atlantis,,,Prospect\n");
    run.write("crm.csv", csv);
    run.config("[pipeline]\noutput_dir = \"out\"\n[ingest]\ninput = \"crm.csv\"\n");
    let o = run.run(&["run", "--stages", "ingest"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let leads = rows(&run.out().join("leads"));
    assert_eq!(leads.len(), 3);
    assert_eq!(get(&leads[0], "name"), Some("Société Générale"));
    assert_eq!(get(&leads[0], "lei"), Some("O2RNE8IBXP4R0TD8PU41"));
    assert_eq!(get(&leads[0], "status"), Some("won"));
    assert_eq!(get(&leads[1], "cik"), Some("0000320193"));
    assert_eq!(get(&leads[1], "country"), Some("US"));
    assert_eq!(get(&leads[1], "status"), Some("lost"));
    assert_eq!(
        get(&leads[2], "country"),
        None,
        "unknown country kept raw only"
    );
    assert_eq!(get(&leads[2], "country_raw"), Some("Atlantis"));
    assert_eq!(get(&leads[2], "status"), Some("open"));
    let reasons: Vec<_> = rows(&run.out().join("rejects"))
        .iter()
        .map(|r| get(r, "reason").unwrap().to_string())
        .collect();
    assert_eq!(
        reasons,
        vec![
            "invalid lei: LEI \"HWUPKR0MPOU8FGXBT395\" fails its check digit".to_string(),
            "invalid cik: CIK must contain only digits, got \"12ab\"".to_string(),
            format!(
                "duplicate of line 3 (same lead_id {})",
                get(&leads[1], "lead_id").unwrap()
            ),
        ]
    );
    // The input encoding is recorded in the file metadata.
    let file = std::fs::read_dir(run.out().join("leads"))
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let reader = parquet::file::serialized_reader::SerializedFileReader::new(
        std::fs::File::open(file).unwrap(),
    )
    .unwrap();
    use parquet::file::reader::FileReader;
    let kv = reader
        .metadata()
        .file_metadata()
        .key_value_metadata()
        .unwrap()
        .clone();
    let enc = kv
        .iter()
        .find(|k| k.key == "leadcrawl.input_encoding")
        .and_then(|k| k.value.clone());
    assert_eq!(enc.as_deref(), Some("windows-1252"));
}

#[test]
fn lead_ids_are_stable_across_runs_and_folders() {
    let a = Run::new();
    let b = Run::new();
    for r in [&a, &b] {
        r.write("leads.csv", FRENCH_EXCEL);
        r.config(french_config());
        assert!(r.run(&["run", "--stages", "ingest"]).status.success());
    }
    let ids = |r: &Run| {
        rows(&r.out().join("leads"))
            .iter()
            .map(|x| get(x, "lead_id").unwrap().to_string())
            .collect::<Vec<_>>()
    };
    assert_eq!(ids(&a), ids(&b));
    assert!(ids(&a)
        .iter()
        .all(|i| i.len() == 16 && i.chars().all(|c| c.is_ascii_hexdigit())));
}

#[test]
fn missing_column_names_it_and_lists_the_columns_found() {
    let run = Run::new();
    run.write("leads.csv", "Account,URL\nAcme,acme.com\n");
    run.config("[pipeline]\noutput_dir = \"out\"\n[ingest]\ninput = \"leads.csv\"\n[ingest.columns]\nname = \"Company\"\n");
    for args in [&["run"][..], &["validate"][..]] {
        let o = run.run(args);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", text(&o));
        let t = text(&o);
        assert!(
            t.contains("ingest.columns.name: column \"Company\" not found in"),
            "{t}"
        );
        assert!(t.contains("columns found: \"Account\", \"URL\""), "{t}");
    }
    // Without an explicit mapping and without a recognisable name column: the fix is named.
    run.write("leads.csv", "Firm,URL\nAcme,acme.com\n");
    run.config("[pipeline]\noutput_dir = \"out\"\n[ingest]\ninput = \"leads.csv\"\n");
    let o = run.run(&["run", "--stages", "ingest"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        text(&o).contains("set ingest.columns.name (or ingest.columns.id, for leads without a name) to one of the columns found: \"Firm\", \"URL\""),
        "{}",
        text(&o)
    );
}

#[test]
fn parquet_input_is_read_like_csv() {
    // Write a Parquet lead list with the library's own writer path (arrow), then ingest it.
    use arrow::array::{Int64Array, RecordBatch, StringArray};
    use arrow::datatypes::{DataType, Field, Schema};
    use std::sync::Arc;
    let run = Run::new();
    let schema = Arc::new(Schema::new(vec![
        Field::new("name", DataType::Utf8, true),
        Field::new("website", DataType::Utf8, true),
        Field::new("cik", DataType::Int64, true),
        Field::new("status", DataType::Utf8, true),
    ]));
    let batch = RecordBatch::try_new(
        schema.clone(),
        vec![
            Arc::new(StringArray::from(vec![
                Some("Apple Inc."),
                None,
                Some("Microsoft"),
            ])),
            Arc::new(StringArray::from(vec![
                Some("apple.com"),
                Some("x.com"),
                Some("microsoft.com"),
            ])),
            Arc::new(Int64Array::from(vec![Some(320193), None, Some(789019)])),
            Arc::new(StringArray::from(vec![Some("won"), Some("lost"), None])),
        ],
    )
    .unwrap();
    let f = std::fs::File::create(run.path().join("leads.parquet")).unwrap();
    let mut w = parquet::arrow::ArrowWriter::try_new(f, schema, None).unwrap();
    w.write(&batch).unwrap();
    w.close().unwrap();
    run.config("[pipeline]\noutput_dir = \"out\"\n[ingest]\ninput = \"leads.parquet\"\n");
    let o = run.run(&["run", "--stages", "ingest"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let leads = rows(&run.out().join("leads"));
    assert_eq!(leads.len(), 2);
    assert_eq!(get(&leads[1], "cik"), Some("0000789019"));
    assert_eq!(get(&leads[1], "source_line"), Some("3"));
    let rejects = rows(&run.out().join("rejects"));
    assert_eq!(get(&rejects[0], "source_line"), Some("2"));
    assert_eq!(
        get(&rejects[0], "reason"),
        Some("empty company name (and no id)")
    );
}

/// A lead list of `n` data rows (lines 2..=n+1), `special` replacing some rows by their number.
fn lead_list(n: usize, special: &[(usize, &str)]) -> String {
    let mut s = String::from("name,website,country,status\n");
    for i in 1..=n {
        match special.iter().find(|(k, _)| *k == i) {
            Some((_, row)) => s.push_str(row),
            None => s.push_str(&format!("Company {i},company{i}.com,FR,won")),
        }
        s.push('\n');
    }
    s
}

fn simple_config(input: &str, extra: &str) -> String {
    format!("[pipeline]\noutput_dir = \"out\"\n[ingest]\ninput = \"{input}\"\n{extra}")
}

fn reasons(run: &Run) -> Vec<(String, String)> {
    rows(&run.out().join("rejects"))
        .iter()
        .map(|r| {
            (
                get(r, "source_line").unwrap().to_string(),
                get(r, "reason").unwrap().to_string(),
            )
        })
        .collect()
}

#[test]
fn an_unbalanced_quote_rejects_its_row_and_keeps_the_rows_it_would_have_swallowed() {
    // The probe's file: a quote opened in row 5 and closed in row 50, 100 rows. Row 5 is line 6.
    let run = Run::new();
    run.write(
        "leads.csv",
        lead_list(
            100,
            &[
                (5, "\"Company 5,company5.com,FR,won"),
                (50, "Company 50 \"Holdings\",company50.com,FR,lost"),
            ],
        ),
    );
    // Small batches: the quote's lines cross a batch boundary, as they would in a big file.
    run.config(&simple_config("leads.csv", "batch_rows = 4\n"));
    let v = run.run(&["validate"]);
    assert_eq!(v.status.code(), Some(0), "{}", text(&v));
    assert!(
        text(&v).contains("1 unbalanced quote(s), the first on line 6"),
        "{}",
        text(&v)
    );
    let o = run.run(&["run", "--stages", "ingest"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let leads = rows(&run.out().join("leads"));
    assert_eq!(
        leads.len(),
        99,
        "every row but the one where the quote opened"
    );
    let lines: Vec<u64> = leads
        .iter()
        .map(|l| get(l, "source_line").unwrap().parse().unwrap())
        .collect();
    let want: Vec<u64> = (2..=101).filter(|&l| l != 6).collect();
    assert_eq!(lines, want);
    let fifty = leads.iter().find(|l| get(l, "source_line") == Some("51"));
    assert_eq!(get(fifty.unwrap(), "name"), Some("Company 50 \"Holdings\""));
    assert!(
        leads.iter().all(|l| get(l, "name").unwrap().len() < 40),
        "no merged field"
    );
    let rejects = rows(&run.out().join("rejects"));
    assert_eq!(
        reasons(&run),
        vec![(
            "6".to_string(),
            "unbalanced quote: the quoted field opened on line 6 runs on over lines that read as \
             rows of their own (lines 7 and 8); line 6 rejected, the lines after it read as rows"
                .to_string()
        )]
    );
    assert_eq!(
        get(&rejects[0], "raw"),
        Some(r#"["Company 5,company5.com,FR,won"]"#)
    );
    let st = status_json(&run);
    let counters = &stage_status(&st, "ingest")["counters"];
    assert_eq!(counters["rows"], 100);
    assert_eq!(counters["unbalanced_quotes"], 1);
}

#[test]
fn a_quote_left_open_to_the_end_of_the_file_is_a_reject_not_a_merged_row() {
    let run = Run::new();
    run.write(
        "leads.csv",
        "name,website,notes\r\nA,a.com,ok\r\nB,b.com,\"starts a note\r\nC,c.com,x\r\n",
    );
    run.config(&simple_config("leads.csv", ""));
    let o = run.run(&["run", "--stages", "ingest"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let names: Vec<_> = rows(&run.out().join("leads"))
        .iter()
        .map(|l| get(l, "name").unwrap().to_string())
        .collect();
    assert_eq!(names, vec!["A", "C"]);
    assert_eq!(
        reasons(&run),
        vec![(
            "3".to_string(),
            "unbalanced quote: the quoted field opened on line 3 is never closed (the file ends \
             at line 4); line 3 rejected, the lines after it read as rows"
                .to_string()
        )]
    );
}

#[test]
fn one_invalid_byte_keeps_a_utf8_file_utf8_and_the_warning_names_its_line() {
    let run = Run::new();
    let mut csv = "name,website,country\nSociété Générale,societegenerale.com,France\n"
        .as_bytes()
        .to_vec();
    csv.extend_from_slice("Müller GmbH,mueller.de,Deutschland\n".as_bytes());
    csv.extend_from_slice(b"Broken \xff Byte SA,broken.fr,France\n");
    csv.extend_from_slice("Café Noël,cafe-noel.fr,France\n".as_bytes());
    run.write("leads.csv", csv);
    run.config(&simple_config("leads.csv", ""));
    for args in [&["validate"][..], &["run", "--stages", "ingest"][..]] {
        let o = run.run(args);
        assert_eq!(o.status.code(), Some(0), "{}", text(&o));
        assert!(
            text(&o).contains(
                "read as UTF-8, but 1 invalid byte sequence(s) were replaced by \u{fffd} on line 4"
            ),
            "{args:?}: {}",
            text(&o)
        );
    }
    let names: Vec<_> = rows(&run.out().join("leads"))
        .iter()
        .map(|l| get(l, "name").unwrap().to_string())
        .collect();
    assert_eq!(
        names,
        vec![
            "Société Générale",
            "Müller GmbH",
            "Broken \u{fffd} Byte SA",
            "Café Noël"
        ]
    );
    let st = status_json(&run);
    assert_eq!(
        stage_status(&st, "ingest")["counters"]["invalid_utf8_sequences"],
        1
    );
}

#[test]
fn cr_only_line_endings_give_each_row_its_line() {
    let run = Run::new();
    run.write(
        "leads.csv",
        "name,website,notes\rA,a.com,\r\rB,b.com,\"two\rlines\"\rC,c.com,\r",
    );
    run.config(&simple_config("leads.csv", ""));
    let o = run.run(&["run", "--stages", "ingest"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let leads = rows(&run.out().join("leads"));
    let got: Vec<_> = leads
        .iter()
        .map(|l| {
            (
                get(l, "name").unwrap(),
                get(l, "source_line").unwrap(),
                get(l, "notes"),
            )
        })
        .collect();
    assert_eq!(
        got,
        vec![
            ("A", "2", None),
            ("B", "4", Some("two\rlines")),
            ("C", "6", None)
        ]
    );
}

#[test]
fn duplicate_column_names_are_an_input_error_naming_them() {
    let run = Run::new();
    run.write(
        "leads.csv",
        "Name,Website,Country,website,name\nA,a.com,FR,b.com,B\n",
    );
    run.config(&simple_config("leads.csv", ""));
    for args in [&["validate"][..], &["run", "--stages", "ingest"][..]] {
        let o = run.run(args);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", text(&o));
        assert!(
            text(&o).contains(
                "column names appear more than once in the header: \"Name\" (column 1) = \
                 \"name\" (column 5); \"Website\" (column 2) = \"website\" (column 4)"
            ),
            "{args:?}: {}",
            text(&o)
        );
    }
    assert!(!run.out().join("leads").exists());
}

#[test]
fn junk_websites_are_rejected_with_their_reason() {
    let run = Run::new();
    run.write(
        "leads.csv",
        "name,website\n\
         Numeric,1.5\n\
         Mail,mailto:a@b.com\n\
         Two Sites,\"a.com,b.com\"\n\
         Creds,user:pass@host.com\n\
         Email,sales@acme.com\n\
         Phone,tel:+33123456789\n\
         Hex,0x7f.1\n\
         Spaced,acme.com shop.acme.com\n\
         Port Ok,acme.com:8080\n\
         Query Ok,\"https://shop.example.org/?ids=1,2\"\n\
         Plain Ok,www.example.co.uk\n\
         Address Ok,http://203.0.113.7:8080/about\n",
    );
    run.config(&simple_config("leads.csv", ""));
    let o = run.run(&["run", "--stages", "ingest"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let websites: Vec<_> = rows(&run.out().join("leads"))
        .iter()
        .map(|l| get(l, "website").unwrap().to_string())
        .collect();
    assert_eq!(
        websites,
        vec![
            "https://acme.com:8080/",
            "https://shop.example.org/?ids=1%2C2",
            "https://www.example.co.uk/",
            "http://203.0.113.7:8080/about"
        ]
    );
    let got: Vec<String> = reasons(&run)
        .into_iter()
        .map(|(l, r)| format!("{l}: {r}"))
        .collect();
    assert_eq!(
        got,
        vec![
            "2: invalid website: \"1.5\" is a number (read as the IP address 1.0.0.5), not a domain name",
            "3: invalid website: \"mailto:a@b.com\" is an e-mail address (mailto:), not a website",
            "4: invalid website: \"a.com,b.com\" holds 2 websites; keep one per lead",
            "5: invalid website: \"user:pass@host.com\" holds a user name and password; give the site's address alone",
            "6: invalid website: \"sales@acme.com\" is an e-mail address, not a website",
            "7: invalid website: \"tel:+33123456789\" is a tel: address, not a website",
            "8: invalid website: \"0x7f.1\" is a number (read as the IP address 127.0.0.1), not a domain name",
            "9: invalid website: \"acme.com shop.acme.com\" holds 2 websites; keep one per lead",
        ]
    );
}

#[test]
fn a_header_only_file_warns_and_makes_no_leads() {
    let run = Run::new();
    run.write("leads.csv", "name,website,country\r\n\r\n");
    run.config(&simple_config("leads.csv", ""));
    for args in [&["validate"][..], &["run", "--stages", "ingest"][..]] {
        let o = run.run(args);
        assert_eq!(o.status.code(), Some(0), "{args:?}: {}", text(&o));
        assert!(
            text(&o).contains("the file has a header row but no data rows: ingest makes 0 leads"),
            "{args:?}: {}",
            text(&o)
        );
    }
    assert!(rows(&run.out().join("leads")).is_empty());
    let st = status_json(&run);
    assert_eq!(stage_status(&st, "ingest")["status"], "done");
}

#[test]
fn a_directory_as_input_is_called_a_directory() {
    let run = Run::new();
    run.write("exports/leads.csv", "name\nA\n");
    run.config(&simple_config("exports", ""));
    for args in [&["validate"][..], &["run", "--stages", "ingest"][..]] {
        let o = run.run(args);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", text(&o));
        let t = text(&o);
        assert!(t.contains("exports is a directory"), "{args:?}: {t}");
        assert!(!t.contains("not found"), "{args:?}: {t}");
    }
}

/// The codec of the first column chunk of a Parquet file, as its footer records it.
fn parquet_codec(path: &std::path::Path) -> String {
    use parquet::file::reader::FileReader;
    let reader = parquet::file::serialized_reader::SerializedFileReader::new(
        std::fs::File::open(path).unwrap(),
    )
    .unwrap();
    let codec = reader.metadata().row_group(0).column(0).compression();
    // `GZIP(level)` and the like: the codec's name alone.
    format!("{codec:?}").split('(').next().unwrap().to_string()
}

#[test]
fn parquet_lead_lists_from_pandas_polars_and_pyarrow_with_every_codec() {
    let run = Run::new();
    let script = r#"
import sys
import pandas as pd, polars as pl, pyarrow as pa, pyarrow.parquet as pq
out = sys.argv[1]
leads = {
    "Company": ["Apple Inc.", "Société Générale", None, "Microsoft", "Widget Co"],
    "Website": ["apple.com", "societegenerale.com", "x.com", "microsoft.com", "1.5"],
    "Country": ["USA", "France", "FR", "US", "FR"],
    # A missing CIK makes pandas store the column as floats (320193.0).
    "CIK": [320193, None, None, 789019, None],
    "Stage": ["Closed Won", "Closed Lost", "won", None, "lost"],
}
pd.DataFrame(leads).to_parquet(f"{out}/pandas-default.parquet")
pl.DataFrame(leads).write_parquet(f"{out}/polars-default.parquet")
table = pa.table({**leads, "CIK": pa.array(leads["CIK"], pa.int64())})
for codec in ["none", "snappy", "gzip", "lz4", "brotli", "zstd"]:
    # Row groups of two rows: the reader goes across batches.
    pq.write_table(table, f"{out}/pyarrow-{codec}.parquet", compression=codec, row_group_size=2)
"#;
    run.write("write_leads.py", script);
    let o = std::process::Command::new(python())
        .arg(run.path().join("write_leads.py"))
        .arg(run.path())
        .output()
        .expect("python");
    assert!(o.status.success(), "{}", text(&o));
    // The hadoop-framed LZ4 codec (old Spark and Hadoop writers): pyarrow now writes LZ4_RAW
    // for "lz4", so this one comes from the parquet crate's own writer.
    {
        use arrow::array::{Int64Array, RecordBatch, StringArray};
        use arrow::datatypes::{DataType, Field, Schema};
        use std::sync::Arc;
        let text_col = |v: Vec<Option<&str>>| Arc::new(StringArray::from(v));
        let schema = Arc::new(Schema::new(vec![
            Field::new("Company", DataType::Utf8, true),
            Field::new("Website", DataType::Utf8, true),
            Field::new("Country", DataType::Utf8, true),
            Field::new("CIK", DataType::Int64, true),
            Field::new("Stage", DataType::Utf8, true),
        ]));
        let batch = RecordBatch::try_new(
            schema.clone(),
            vec![
                text_col(vec![
                    Some("Apple Inc."),
                    Some("Société Générale"),
                    None,
                    Some("Microsoft"),
                    Some("Widget Co"),
                ]),
                text_col(vec![
                    Some("apple.com"),
                    Some("societegenerale.com"),
                    Some("x.com"),
                    Some("microsoft.com"),
                    Some("1.5"),
                ]),
                text_col(vec![
                    Some("USA"),
                    Some("France"),
                    Some("FR"),
                    Some("US"),
                    Some("FR"),
                ]),
                Arc::new(Int64Array::from(vec![
                    Some(320193),
                    None,
                    None,
                    Some(789019),
                    None,
                ])),
                text_col(vec![
                    Some("Closed Won"),
                    Some("Closed Lost"),
                    Some("won"),
                    None,
                    Some("lost"),
                ]),
            ],
        )
        .unwrap();
        let props = parquet::file::properties::WriterProperties::builder()
            .set_compression(parquet::basic::Compression::LZ4)
            .build();
        let f = std::fs::File::create(run.path().join("hadoop-lz4.parquet")).unwrap();
        let mut w = parquet::arrow::ArrowWriter::try_new(f, schema, Some(props)).unwrap();
        w.write(&batch).unwrap();
        w.close().unwrap();
    }
    let files = [
        ("pandas-default", "SNAPPY"),
        ("polars-default", "ZSTD"),
        ("pyarrow-none", "UNCOMPRESSED"),
        ("pyarrow-snappy", "SNAPPY"),
        ("pyarrow-gzip", "GZIP"),
        ("pyarrow-lz4", "LZ4_RAW"),
        ("pyarrow-brotli", "BROTLI"),
        ("pyarrow-zstd", "ZSTD"),
        ("hadoop-lz4", "LZ4"),
    ];
    let mut first: Option<Vec<String>> = None;
    for (name, codec) in files {
        let file = format!("{name}.parquet");
        assert_eq!(parquet_codec(&run.path().join(&file)), codec, "{file}");
        run.config(&simple_config(&file, ""));
        let o = run.run(&["run", "--stages", "ingest"]);
        assert_eq!(o.status.code(), Some(0), "{file}: {}", text(&o));
        let leads: Vec<String> = rows(&run.out().join("leads"))
            .iter()
            .map(|l| {
                ["source_line", "name", "domain", "country", "status", "cik"]
                    .iter()
                    .map(|k| get(l, k).unwrap_or("-"))
                    .collect::<Vec<_>>()
                    .join("|")
            })
            .collect();
        assert_eq!(
            leads,
            vec![
                "1|Apple Inc.|apple.com|US|won|0000320193",
                "2|Société Générale|societegenerale.com|FR|lost|-",
                "4|Microsoft|microsoft.com|US|open|0000789019",
            ],
            "{file}"
        );
        let got = reasons(&run);
        assert_eq!(
            got,
            vec![
                ("3".to_string(), "empty company name (and no id)".to_string()),
                (
                    "5".to_string(),
                    "invalid website: \"1.5\" is a number (read as the IP address 1.0.0.5), not a domain name".to_string()
                ),
            ],
            "{file}"
        );
        match &first {
            None => first = Some(leads),
            Some(f) => assert_eq!(f, &leads, "{file}"),
        }
        std::fs::remove_dir_all(run.out()).unwrap();
    }
}
