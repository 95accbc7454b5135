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
            "empty company name".into(),
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
        text(&o).contains("set ingest.columns.name to one of the columns found: \"Firm\", \"URL\""),
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
    assert_eq!(get(&rejects[0], "reason"), Some("empty company name"));
}
