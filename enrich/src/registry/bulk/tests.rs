//! The bulk parsers on real SIRENE stock rows, on a Companies House file written to the
//! published format, and against the API parsers for the same companies.

use super::*;
use crate::registry::{fr, uk};
use std::path::Path;

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/fixtures/registries");

/// (header, rows) of a fixture CSV, rows as read (field counts may differ from the header's).
fn read_csv(rel: &str) -> (Vec<String>, Vec<Vec<String>>) {
    let path = Path::new(FIXTURES).join(rel);
    let mut r = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_path(&path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut rows: Vec<Vec<String>> = r
        .records()
        .map(|rec| rec.expect("csv").iter().map(str::to_string).collect())
        .collect();
    let header = rows.remove(0);
    (header, rows)
}

fn parse_all(rel: &str) -> (BulkLayout, Vec<Result<BulkRecord, BulkError>>) {
    let (header, rows) = read_csv(rel);
    let h: Vec<&str> = header.iter().map(String::as_str).collect();
    let layout = BulkLayout::from_header(&h).expect("known header");
    let out = rows
        .iter()
        .map(|r| layout.parse(&r.iter().map(String::as_str).collect::<Vec<_>>()))
        .collect();
    (layout, out)
}

fn ok(r: &Result<BulkRecord, BulkError>) -> &BulkRecord {
    r.as_ref().unwrap_or_else(|e| panic!("row rejected: {e}"))
}

#[test]
fn sirene_sample_rows() {
    let (layout, rows) = parse_all("sirene-stock/StockUniteLegale_sample.csv");
    assert_eq!(layout.registry(), Registry::Sirene);
    assert_eq!(layout.width(), 35);
    assert_eq!(rows.len(), 9);
    let virly = ok(&rows[0]);
    let f = &virly.firm;
    assert_eq!(f.registry_id, "016750697");
    assert_eq!(f.legal_name, "ETS J VIRLY S A");
    assert_eq!(f.status, Some(Status::Active));
    assert_eq!(f.industry_scheme, Some("NAF rev. 2"));
    assert_eq!(f.industry_code.as_deref(), Some("77.39Z"));
    assert_eq!(f.nace_division.as_deref(), Some("77"));
    assert_eq!(f.nace_section, Some('N'));
    assert_eq!(f.headcount_band.as_deref(), Some("31"));
    assert_eq!((f.headcount_min, f.headcount_max), (Some(200), Some(249)));
    assert_eq!(f.created.as_deref(), Some("1967-01-01"));
    assert_eq!(f.category.as_deref(), Some("ETI"));
    assert_eq!(f.legal_form.as_deref(), Some("5710"));
    assert_eq!(
        f.legal_form_label.as_deref(),
        codes::nature_juridique_label("5710")
    );
    assert!(f.legal_form_label.is_some());
    assert_eq!(f.country.as_deref(), Some("FR"));
    assert_eq!(virly.head_office_siret(), Some("01675069700050"));
    assert_eq!(virly.naf25.as_deref(), Some("77.39Y"));
    // economieSocialeSolidaire is N; caractereEmployeur is empty in this row.
    assert_eq!(virly.employer, None);
    assert!(!virly.masked);

    let set = &ok(&rows[3]).firm;
    assert_eq!(set.registry_id, "054501754");
    assert_eq!(set.other_names, ["SET"]);
    let delta = &ok(&rows[5]).firm;
    assert_eq!(delta.status, Some(Status::Ceased));
    assert_eq!(delta.other_names, ["COMEGA"]);
    let facto = ok(&rows[7]);
    assert_eq!(facto.firm.category.as_deref(), Some("GE"));
    assert_eq!(facto.firm.created.as_deref(), Some("1900-01-01"));
    assert_eq!(facto.naf25.as_deref(), Some("64.99Y"));
    assert_eq!(facto.firm.industry_code.as_deref(), Some("64.19Z"));
    assert_eq!(facto.firm.nace_section, Some('K'));
}

#[test]
fn sirene_malformed_rows_are_rejected_with_every_reason() {
    let (layout, rows) = parse_all("sirene-stock/StockUniteLegale_malformed.csv");
    assert_eq!(layout.width(), 34);
    assert_eq!(rows.len(), 4);
    let reasons: Vec<String> = rows
        .iter()
        .map(|r| match r {
            Err(BulkError::Row(reason)) => reason.clone(),
            other => panic!("expected a rejected row, got {other:?}"),
        })
        .collect();
    assert!(reasons[0].contains("statutDiffusionUniteLegale \"h\" is not O or P"));
    assert!(reasons[0].contains("categorieEntreprise \"vrx\""));
    assert!(reasons[1].contains("dateCreationUniteLegale \"invalid_date\" is not a date"));
    assert!(reasons[2].contains("nomenclatureActivitePrincipaleUniteLegale \"NAF\""));
    assert!(reasons[3].contains("trancheEffectifsUniteLegale \"8\""));
    assert!(reasons[3].contains("categorieEntreprise \"pdf\""));
    // Rows 2 and 4 say ceased (`C`): a load of active companies counts them unread.
    let (header, raw) = read_csv("sirene-stock/StockUniteLegale_malformed.csv");
    let h: Vec<&str> = header.iter().map(String::as_str).collect();
    let layout = BulkLayout::from_header(&h).expect("known header");
    let ceased: Vec<bool> = raw
        .iter()
        .map(|r| layout.is_ceased(&r.iter().map(String::as_str).collect::<Vec<_>>()))
        .collect();
    assert_eq!(ceased, [false, true, false, true]);
    // A row of another width is never taken as ceased unread (its fields cannot be trusted).
    let mut short: Vec<&str> = raw[1].iter().map(String::as_str).collect();
    short.pop();
    assert!(!layout.is_ceased(&short));
}

/// The malformed file's rows with their broken values repaired: the person's name fields, the
/// older column order and a NAF rev. 1 code are all read.
#[test]
fn sirene_person_names_and_naf_rev1() {
    let (header, rows) = read_csv("sirene-stock/StockUniteLegale_malformed.csv");
    let h: Vec<&str> = header.iter().map(String::as_str).collect();
    let layout = SireneLayout::from_header(&h).unwrap();
    let col = |name: &str| header.iter().position(|c| c == name).unwrap();
    let mut row = rows[0].clone();
    row[col("statutDiffusionUniteLegale")] = "P".into();
    row[col("categorieEntreprise")] = "PME".into();
    let r = layout
        .parse(&row.iter().map(String::as_str).collect::<Vec<_>>())
        .unwrap();
    // No denomination: the usual first name and the name.
    assert_eq!(r.firm.legal_name, "vaghuyy jjqcmkg");
    assert!(r.masked);
    assert_eq!(r.employer, Some(true));
    assert_eq!(r.firm.industry_code.as_deref(), Some("41.19A"));
    assert_eq!(r.firm.nace_section, Some('F'));

    let mut rev1 = rows[2].clone();
    rev1[col("statutDiffusionUniteLegale")] = "O".into();
    rev1[col("activitePrincipaleUniteLegale")] = "51.4A".into();
    rev1[col("nomenclatureActivitePrincipaleUniteLegale")] = "NAFRev1".into();
    let r = layout
        .parse(&rev1.iter().map(String::as_str).collect::<Vec<_>>())
        .unwrap();
    assert_eq!(r.firm.industry_scheme, Some("NAF rev. 1"));
    assert_eq!(r.firm.industry_code.as_deref(), Some("51.4A"));
    assert_eq!((r.firm.nace_section, r.firm.nace_division), (None, None));
    // A rev. 2 nomenclature on a rev. 1 code is a contradiction, not a guess.
    rev1[col("nomenclatureActivitePrincipaleUniteLegale")] = "NAFRev2".into();
    let e = layout
        .parse(&rev1.iter().map(String::as_str).collect::<Vec<_>>())
        .unwrap_err();
    assert!(e.to_string().contains("\"51.4A\" is not a NAF rev. 2 code"));
}

#[test]
fn sirene_columns_are_read_by_name() {
    let (header, rows) = read_csv("sirene-stock/StockUniteLegale_sample.csv");
    let reversed_header: Vec<&str> = header.iter().rev().map(String::as_str).collect();
    let h: Vec<&str> = header.iter().map(String::as_str).collect();
    let straight = SireneLayout::from_header(&h).unwrap();
    let reversed = SireneLayout::from_header(&reversed_header).unwrap();
    for row in &rows {
        let fields: Vec<&str> = row.iter().map(String::as_str).collect();
        let rev: Vec<&str> = row.iter().rev().map(String::as_str).collect();
        assert_eq!(straight.parse(&fields), reversed.parse(&rev));
    }
    assert_eq!(
        SireneLayout::from_header(&["siren", "x"]).unwrap_err(),
        BulkError::MissingColumn {
            registry: Registry::Sirene,
            column: "etatAdministratifUniteLegale"
        }
    );
    assert_eq!(
        BulkLayout::from_header(&["a", "b"]).unwrap_err(),
        BulkError::UnknownHeader
    );
}

/// Danone as the stock file writes it (the values of the recorded API answer), against the API
/// parser's record: the universe and the `registry` table must agree on every code.
#[test]
fn sirene_row_has_the_api_parsers_codes() {
    let body = std::fs::read(Path::new(FIXTURES).join("fr/search-552032534.json")).unwrap();
    let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
    let api = fr::parse_search(&serde_json::to_vec(&v["result"]).unwrap())
        .unwrap()
        .results
        .remove(0);
    let (header, _) = read_csv("sirene-stock/StockUniteLegale_sample.csv");
    let h: Vec<&str> = header.iter().map(String::as_str).collect();
    let layout = SireneLayout::from_header(&h).unwrap();
    let mut row = vec![""; h.len()];
    for (name, value) in [
        ("siren", "552032534"),
        ("statutDiffusionUniteLegale", "O"),
        ("dateCreationUniteLegale", "1955-01-01"),
        ("trancheEffectifsUniteLegale", "42"),
        ("categorieEntreprise", "GE"),
        ("etatAdministratifUniteLegale", "A"),
        ("denominationUniteLegale", "DANONE"),
        ("categorieJuridiqueUniteLegale", "5599"),
        ("activitePrincipaleUniteLegale", "70.10Z"),
        ("nomenclatureActivitePrincipaleUniteLegale", "NAFRev2"),
        ("nicSiegeUniteLegale", "00703"),
        ("caractereEmployeurUniteLegale", "O"),
    ] {
        row[h.iter().position(|c| *c == name).unwrap()] = value;
    }
    let bulk = layout.parse(&row).unwrap();
    let b = &bulk.firm;
    assert_eq!(b.registry, api.registry);
    assert_eq!(b.registry_id, api.registry_id);
    assert_eq!(b.legal_name, api.legal_name);
    assert_eq!(b.status, api.status);
    assert_eq!(b.industry_scheme, api.industry_scheme);
    assert_eq!(b.industry_code, api.industry_code);
    assert_eq!(b.nace_section, api.nace_section);
    assert_eq!(b.nace_division, api.nace_division);
    assert_eq!(b.sector, api.sector);
    assert_eq!(b.headcount_band, api.headcount_band);
    assert_eq!(
        (b.headcount_min, b.headcount_max),
        (api.headcount_min, api.headcount_max)
    );
    assert_eq!(b.created, api.created);
    assert_eq!(b.legal_form, api.legal_form);
    assert_eq!(b.legal_form_label, api.legal_form_label);
    assert_eq!(b.category, api.category);
    assert_eq!(b.country, api.country);
    let api_siret = api.linked_ids.iter().find(|(k, _)| k == "siret");
    assert_eq!(bulk.head_office_siret(), api_siret.map(|(_, v)| v.as_str()));
}

#[test]
fn companies_house_rows() {
    let (layout, rows) = parse_all("uk-bulk/BasicCompanyData-sample.csv");
    assert_eq!(layout.registry(), Registry::CompaniesHouse);
    assert_eq!(layout.width(), 55);
    assert_eq!(rows.len(), 7);
    // The guide's sample line as published has one field too many.
    assert_eq!(
        rows[0].as_ref().unwrap_err().to_string(),
        "56 fields, the header has 55"
    );
    let obac = &ok(&rows[1]).firm;
    assert_eq!(obac.registry_id, "07687209");
    assert_eq!(obac.legal_name, "!OBAC UK LIMITED");
    assert_eq!(obac.other_names, ["!OBAC FITTINGS LIMITED"]);
    assert_eq!(obac.status, Some(Status::Active));
    assert_eq!(obac.industry_scheme, Some("UK SIC 2007"));
    assert_eq!(obac.industry_code.as_deref(), Some("70229"));
    assert_eq!(
        obac.industry_label.as_deref(),
        Some("Management consultancy activities other than financial management")
    );
    assert_eq!(obac.nace_division.as_deref(), Some("70"));
    assert_eq!(obac.nace_section, Some('M'));
    assert_eq!(obac.created.as_deref(), Some("2011-06-29"));
    assert_eq!(obac.legal_form.as_deref(), Some("ltd"));
    assert_eq!(
        obac.legal_form_label.as_deref(),
        Some("Private limited company")
    );
    assert_eq!(obac.category.as_deref(), Some("total-exemption-full"));
    assert_eq!(
        obac.address.as_deref(),
        Some("UNIT 9   BERRY COURT FARM BRAMLEY ROAD, LITTLE LONDON")
    );
    assert_eq!(obac.city.as_deref(), Some("TADLEY"));
    assert_eq!(obac.region.as_deref(), Some("HAMPSHIRE"));
    assert_eq!(obac.postcode.as_deref(), Some("RG26 5AT"));
    assert_eq!(obac.country.as_deref(), Some("GB"));
    assert_eq!(obac.headcount_band, None);

    let glen = &ok(&rows[3]).firm;
    assert_eq!(glen.registry_id, "SC123456");
    assert_eq!(glen.status, Some(Status::Active));
    assert_eq!(glen.industry_code.as_deref(), Some("99999"));
    assert_eq!(glen.nace_section, None);
    assert_eq!(
        glen.legal_form.as_deref(),
        Some("private-limited-guarant-nsc")
    );
    assert_eq!(glen.category.as_deref(), Some("dormant"));
    assert_eq!(glen.address.as_deref(), Some("PO BOX 12, 4 HIGH STREET"));
    assert_eq!(glen.country.as_deref(), Some("GB"));

    let smith = &ok(&rows[4]).firm;
    assert_eq!(smith.legal_name, "SMITH, JONES & \"PARTNERS\" LLP");
    assert_eq!(smith.status, Some(Status::Ceased));
    assert_eq!(smith.created.as_deref(), Some("2004-02-29"));
    assert_eq!(smith.industry_code.as_deref(), Some("69102"));
    assert_eq!(smith.legal_form.as_deref(), Some("llp"));
    assert_eq!(smith.category.as_deref(), Some("micro-entity"));

    let broken = rows[5].as_ref().unwrap_err().to_string();
    assert!(broken.contains("CompanyNumber \"1234567\" is not 8 letters or digits"));
    assert!(broken.contains("IncorporationDate \"31/02/2019\" is not a date"));
    assert!(broken.contains("\"Software development\" does not start with a 5-digit"));
    assert!(rows[6]
        .as_ref()
        .unwrap_err()
        .to_string()
        .starts_with("5 fields, the header has 55"));
}

/// Lloyds Bank from the bulk file and from the API: the same codes.
#[test]
fn companies_house_row_has_the_api_parsers_codes() {
    let body =
        std::fs::read(Path::new(FIXTURES).join("uk/company-profile_00002065_LLOYDS-BANK-PLC.json"))
            .unwrap();
    let api = uk::parse_profile(&body).unwrap();
    let (_, rows) = parse_all("uk-bulk/BasicCompanyData-sample.csv");
    let b = &ok(&rows[2]).firm;
    assert_eq!(b.registry_id, api.registry_id);
    assert_eq!(b.legal_name, api.legal_name);
    assert_eq!(b.status, api.status);
    assert_eq!(b.industry_scheme, api.industry_scheme);
    assert_eq!(b.industry_code, api.industry_code);
    assert_eq!(b.nace_section, api.nace_section);
    assert_eq!(b.nace_division, api.nace_division);
    assert_eq!(b.created, api.created);
    assert_eq!(b.legal_form, api.legal_form);
    assert_eq!(b.legal_form_label, api.legal_form_label);
    assert_eq!(b.category, api.category);
    assert_eq!(b.postcode, api.postcode);
    assert_eq!(b.country, api.country);
}

#[test]
fn odd_rows_never_panic() {
    let (header, _) = read_csv("sirene-stock/StockUniteLegale_sample.csv");
    let h: Vec<&str> = header.iter().map(String::as_str).collect();
    let sirene = BulkLayout::from_header(&h).unwrap();
    let (header, _) = read_csv("uk-bulk/BasicCompanyData-sample.csv");
    let h: Vec<&str> = header.iter().map(String::as_str).collect();
    let uk = BulkLayout::from_header(&h).unwrap();
    let long = vec!["é"; 200];
    for row in [
        vec![],
        vec![""],
        vec!["\u{feff}", "\0", "99/99/9999"],
        long.clone(),
        vec!["01/01/2020"; 55],
    ] {
        assert!(sirene.parse(&row).is_err());
        assert!(uk.parse(&row).is_err());
    }
    assert_eq!(dmy_date("29/02/2023"), None);
    assert_eq!(dmy_date("29/02/2024").as_deref(), Some("2024-02-29"));
    assert_eq!(dmy_date("2024-02-29"), None);
    assert_eq!(dmy_date("é1/02/2024"), None);
}

#[test]
fn head_offices_from_the_establishments_stock() {
    let (header, rows) = read_csv("sirene-stock/StockEtablissement_sample.csv");
    let h: Vec<&str> = header.iter().map(String::as_str).collect();
    assert_eq!(
        BulkLayout::from_header(&h).unwrap_err(),
        BulkError::Establishments
    );
    let layout = HeadOfficeLayout::from_header(&h).unwrap();
    let parsed: Vec<Result<Option<HeadOffice>, BulkError>> = rows
        .iter()
        .map(|r| layout.parse(&r.iter().map(String::as_str).collect::<Vec<_>>()))
        .collect();
    let lyon = parsed[0].as_ref().unwrap().as_ref().unwrap();
    assert_eq!(lyon.siren, "016750697");
    assert_eq!(lyon.postcode.as_deref(), Some("69003"));
    assert_eq!(lyon.city.as_deref(), Some("LYON 3E ARRONDISSEMENT"));
    assert_eq!(lyon.region, Some("Auvergne-Rhône-Alpes"));
    assert_eq!(lyon.country, Some("FR"));
    assert!(lyon.open);
    assert_eq!(parsed[1], Ok(None), "not a head office");
    assert!(!parsed[2].as_ref().unwrap().as_ref().unwrap().open);
    let ajaccio = parsed[3].as_ref().unwrap().as_ref().unwrap();
    assert_eq!(ajaccio.region, Some("Corse"));
    let berlin = parsed[4].as_ref().unwrap().as_ref().unwrap();
    assert_eq!(
        (berlin.city.as_deref(), berlin.country, berlin.region),
        (Some("BERLIN"), Some("DE"), None)
    );
    assert!(parsed[5]
        .as_ref()
        .unwrap_err()
        .to_string()
        .contains("etablissementSiege \"maybe\""));
    // The API parser names the region of the same code the same way.
    assert_eq!(
        fr::region_of_commune("97411").and_then(fr::region_label),
        Some("La Réunion")
    );
    assert_eq!(fr::region_of_commune("75056"), Some("11"));
    assert_eq!(fr::region_of_commune("9"), None);
    assert_eq!(fr::region_of_commune("00000"), None);
}
