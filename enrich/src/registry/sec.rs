//! United States: SEC EDGAR. Two documents: the ticker list
//! (<https://www.sec.gov/files/company_tickers.json>, name → CIK, for matching) and a filer's
//! submissions (`https://data.sec.gov/submissions/CIK##########.json`, the record).
//!
//! Mapping notes (see [`parse_submissions`]):
//! - EDGAR has no status, creation date or headcount; those stay `None`.
//! - `sic` is US SIC 1987; an empty `sic` (individuals, many funds) leaves industry `None`.
//! - The business address is used, the mailing address when the business one is empty
//!   (insiders often have only a mailing address). `stateOrCountry` is an EDGAR code: a US
//!   state gives `region` = the state code and `country` = `US`, a Canadian province its name
//!   and `CA`, a foreign code (`"2M"`) its ISO country (`DE`).
//! - `state_of_incorporation` is the state code for US states (`"DE"`), else EDGAR's description
//!   (`"Germany"`, `"Cayman Islands"`), so foreign codes never collide with state codes.
//! - `category` joins EDGAR's `<br>`-separated filer statuses with `"; "`.
//! - `raw` is the whole document without `filings` (the filing index, most of the bytes).

use serde_json::Value;

use super::codes::{self, EdgarKind};
use super::record::{
    at, parse_json, raw_json, text, texts, trim_base, Firmographics, Registry, RegistryError,
};

/// `https://data.sec.gov`, home of the submissions API.
pub const DEFAULT_DATA_BASE: &str = "https://data.sec.gov";
/// `https://www.sec.gov`, home of the ticker list.
pub const DEFAULT_WWW_BASE: &str = "https://www.sec.gov";

/// `{base}/files/company_tickers.json` (base: `https://www.sec.gov`).
pub fn tickers_url(base: &str) -> String {
    format!("{}/files/company_tickers.json", trim_base(base))
}

/// `{base}/submissions/CIK##########.json` (base: `https://data.sec.gov`), the CIK zero-padded
/// to ten digits. `None` when `cik` is not 1 to 10 digits (surrounding blanks and a `CIK` prefix
/// are accepted).
pub fn submissions_url(base: &str, cik: &str) -> Option<String> {
    let cik = pad_cik(cik)?;
    Some(format!("{}/submissions/CIK{cik}.json", trim_base(base)))
}

/// A CIK as ten digits: `"320193"` / `"CIK0000320193"` → `"0000320193"`.
pub fn pad_cik(cik: &str) -> Option<String> {
    let c = cik.trim();
    let c = c
        .strip_prefix("CIK")
        .or_else(|| c.strip_prefix("cik"))
        .unwrap_or(c);
    (!c.is_empty() && c.len() <= 10 && c.bytes().all(|b| b.is_ascii_digit()))
        .then(|| format!("{c:0>10}"))
}

/// One entry of the ticker list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ticker {
    /// Ten digits.
    pub cik: String,
    pub ticker: String,
    pub title: String,
}

/// Parses `company_tickers.json`: `{"0":{"cik_str":789019,"ticker":"MSFT","title":"MICROSOFT
/// CORP"},…}`, in the file's order (`"0"`, `"1"`, … numerically). Entries without a valid CIK
/// are skipped; one company can have several tickers.
pub fn parse_tickers(body: &[u8]) -> Result<Vec<Ticker>, RegistryError> {
    let v = parse_json(Registry::SecEdgar, body)?;
    let Some(map) = v.as_object() else {
        return Err(RegistryError::shape(
            Registry::SecEdgar,
            "ticker list is not a JSON object",
        ));
    };
    let mut entries: Vec<(u64, Ticker)> = map
        .iter()
        .filter_map(|(key, e)| {
            let cik = text(e, &["cik_str"]).and_then(|c| pad_cik(&c))?;
            let order = key.parse::<u64>().unwrap_or(u64::MAX);
            Some((
                order,
                Ticker {
                    cik,
                    ticker: text(e, &["ticker"]).unwrap_or_default(),
                    title: text(e, &["title"]).unwrap_or_default(),
                },
            ))
        })
        .collect();
    entries.sort_by_key(|(order, _)| *order);
    Ok(entries.into_iter().map(|(_, t)| t).collect())
}

/// Parses a submissions document into a record. Errors when the body is not a JSON object with
/// a CIK (e.g. the `CIK##########-submissions-001.json` pages, which hold only filing arrays).
pub fn parse_submissions(body: &[u8]) -> Result<Firmographics, RegistryError> {
    let mut v = parse_json(Registry::SecEdgar, body)?;
    let Some(obj) = v.as_object_mut() else {
        return Err(RegistryError::shape(
            Registry::SecEdgar,
            "submissions document is not a JSON object",
        ));
    };
    obj.remove("filings");
    let Some(cik) = text(&v, &["cik"]).and_then(|c| pad_cik(&c)) else {
        return Err(RegistryError::shape(
            Registry::SecEdgar,
            "no valid `cik` (a filings page rather than a submissions document?)",
        ));
    };
    let name = text(&v, &["name"]).unwrap_or_default();
    let mut f = Firmographics::new(Registry::SecEdgar, cik, name, raw_json(&v));

    if let Some(former) = at(&v, &["formerNames"]).and_then(Value::as_array) {
        for n in former.iter().filter_map(|n| text(n, &["name"])) {
            f.push_other_name(&n);
        }
    }

    if let Some(sic) = text(&v, &["sic"]) {
        if let Some((division, section)) = codes::us_sic(&sic) {
            f.sic_division = Some(division);
            f.set_nace_section(Some(section));
        } else {
            f.sic_division = codes::sic_division_of(&sic);
        }
        f.industry_scheme = Some("US SIC");
        f.industry_label = text(&v, &["sicDescription"]);
        f.industry_code = Some(sic);
    }

    f.category = text(&v, &["category"]).and_then(|c| {
        let parts: Vec<&str> = c
            .split("<br>")
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .collect();
        (!parts.is_empty()).then(|| parts.join("; "))
    });
    f.legal_form = text(&v, &["entityType"]);
    f.fiscal_year_end = text(&v, &["fiscalYearEnd"]);

    f.state_of_incorporation =
        text(&v, &["stateOfIncorporation"]).map(|code| match codes::edgar_place(&code) {
            Some(p) if p.kind == EdgarKind::State => code.to_ascii_uppercase(),
            _ => text(&v, &["stateOfIncorporationDescription"])
                .filter(|d| !d.eq_ignore_ascii_case(&code))
                .or_else(|| codes::edgar_place(&code).map(|p| p.name.to_string()))
                .unwrap_or(code),
        });

    let address = ["business", "mailing"]
        .iter()
        .filter_map(|kind| at(&v, &["addresses", kind]))
        .find(|a| text(a, &["street1"]).is_some() || text(a, &["city"]).is_some());
    if let Some(a) = address {
        let lines: Vec<String> = ["street1", "street2"]
            .iter()
            .filter_map(|k| text(a, &[k]))
            .collect();
        f.address = (!lines.is_empty()).then(|| lines.join(", "));
        f.city = text(a, &["city"]);
        f.postcode = text(a, &["zipCode"]);
        let code = text(a, &["stateOrCountry"]).or_else(|| text(a, &["countryCode"]));
        if let Some(code) = code {
            match codes::edgar_place(&code) {
                Some(p) if p.kind == EdgarKind::State => {
                    f.region = Some(code.to_ascii_uppercase());
                    f.country = Some("US".to_string());
                }
                Some(p) if p.kind == EdgarKind::Province => {
                    f.region = Some(p.name.to_string());
                    f.country = p.iso2.map(str::to_string);
                }
                Some(p) => f.country = p.iso2.map(str::to_string),
                None => {}
            }
        }
    }

    for t in texts(&v, &["tickers"]) {
        f.push_linked_id("ticker", &t);
    }
    if let Some(lei) = text(&v, &["lei"]) {
        f.push_linked_id("lei", &lei);
    }
    // EDGAR writes "000000000" when it has no EIN.
    if let Some(ein) = text(&v, &["ein"]).filter(|e| e.bytes().any(|b| b != b'0')) {
        f.push_linked_id("ein", &ein);
    }
    Ok(f)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    const FIXTURES: &str = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../tests/fixtures/registries/sec"
    );
    const SHARED: &str = "/work/shared/data/registries/sec-edgar";

    fn fixture(name: &str) -> Firmographics {
        let path = Path::new(FIXTURES).join(name);
        let body = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        parse_submissions(&body).unwrap_or_else(|e| panic!("{name}: {e}"))
    }

    #[test]
    fn urls() {
        assert_eq!(
            tickers_url(DEFAULT_WWW_BASE),
            "https://www.sec.gov/files/company_tickers.json"
        );
        assert_eq!(
            submissions_url(DEFAULT_DATA_BASE, "320193").as_deref(),
            Some("https://data.sec.gov/submissions/CIK0000320193.json")
        );
        assert_eq!(
            submissions_url("http://x/", " CIK0000320193 ").as_deref(),
            Some("http://x/submissions/CIK0000320193.json")
        );
        for bad in ["", "CIK", "12345678901", "32019a", "-1"] {
            assert_eq!(submissions_url(DEFAULT_DATA_BASE, bad), None, "{bad:?}");
        }
    }

    #[test]
    fn apple() {
        let a = fixture("CIK0000320193.json");
        assert_eq!(a.registry, Registry::SecEdgar);
        assert_eq!(a.registry_id, "0000320193");
        assert_eq!(a.legal_name, "Apple Inc.");
        assert_eq!(
            a.other_names,
            ["APPLE INC", "APPLE COMPUTER INC", "APPLE COMPUTER INC/ FA"]
        );
        assert_eq!(a.status, None);
        assert_eq!(a.industry_scheme, Some("US SIC"));
        assert_eq!(a.industry_code.as_deref(), Some("3571"));
        assert_eq!(a.industry_label.as_deref(), Some("Electronic Computers"));
        assert_eq!((a.sic_division, a.nace_section), (Some('D'), Some('C')));
        assert_eq!(a.nace_division, None);
        assert_eq!(a.sector, Some("Manufacturing"));
        assert_eq!(a.category.as_deref(), Some("Large accelerated filer"));
        assert_eq!(a.legal_form.as_deref(), Some("operating"));
        assert_eq!(a.fiscal_year_end.as_deref(), Some("0926"));
        assert_eq!(a.state_of_incorporation.as_deref(), Some("CA"));
        assert_eq!(a.address.as_deref(), Some("ONE APPLE PARK WAY"));
        assert_eq!(a.city.as_deref(), Some("CUPERTINO"));
        assert_eq!(a.postcode.as_deref(), Some("95014"));
        assert_eq!(a.region.as_deref(), Some("CA"));
        assert_eq!(a.country.as_deref(), Some("US"));
        assert_eq!(
            a.linked_ids,
            [
                ("ticker".to_string(), "AAPL".to_string()),
                ("ein".to_string(), "942404110".to_string())
            ]
        );
        let raw: Value = serde_json::from_str(&a.raw).unwrap();
        assert!(raw.get("filings").is_none());
        assert_eq!(raw["cik"], "0000320193");
        assert!(
            a.raw.len() < 4000,
            "raw keeps no filings: {} bytes",
            a.raw.len()
        );
    }

    #[test]
    fn sec_test_entity_name_survives_byte_for_byte() {
        let t = fixture("CIK0000350001.json");
        assert_eq!(
            t.legal_name,
            r"Company Name Three `!#$(),:;=.-;\|@/{}&'\WA\"
        );
        assert_eq!(t.other_names.len(), 19);
        assert_eq!(t.industry_code.as_deref(), Some("6189"));
        assert_eq!((t.sic_division, t.nace_section), (Some('H'), Some('K')));
        assert_eq!(t.category, None);
        assert_eq!(
            t.address.as_deref(),
            Some("ABCD LN MARYLAND, 1234567890123456789012345678901234567890")
        );
        assert_eq!(
            (t.region.as_deref(), t.country.as_deref()),
            (Some("VA"), Some("US"))
        );
        let raw: Value = serde_json::from_str(&t.raw).unwrap();
        assert_eq!(raw["name"].as_str(), Some(t.legal_name.as_str()));
    }

    #[test]
    fn individual_with_empty_sic_and_only_a_mailing_address() {
        let p = fixture("CIK0001830610.json");
        assert_eq!(p.legal_name, "Michaels Lisa Anne");
        assert_eq!(
            (p.industry_scheme, p.industry_code.as_deref()),
            (None, None)
        );
        assert_eq!(
            (p.sic_division, p.nace_section, p.sector),
            (None, None, None)
        );
        assert_eq!(p.legal_form.as_deref(), Some("other"));
        assert_eq!(
            (
                p.fiscal_year_end.as_deref(),
                p.state_of_incorporation.as_deref()
            ),
            (None, None)
        );
        assert_eq!(
            p.address.as_deref(),
            Some("C/O EDITAS MEDICINE, INC., 1 MAIN STREET")
        );
        assert_eq!(
            (p.city.as_deref(), p.region.as_deref(), p.country.as_deref()),
            (Some("CAMBRIDGE"), Some("MA"), Some("US"))
        );
        assert!(p.linked_ids.is_empty());
    }

    #[test]
    fn foreign_filers() {
        let energy = fixture("CIK0001830056.json");
        assert_eq!(energy.legal_name, "Siemens Energy AG/ADR");
        assert_eq!(energy.state_of_incorporation.as_deref(), Some("Germany"));
        assert_eq!(
            (energy.region, energy.country.as_deref()),
            (None, Some("DE"))
        );
        assert_eq!(
            energy.linked_ids,
            [("ticker".to_string(), "SMEGF".to_string())]
        );
        assert_eq!(energy.industry_code, None);

        let siemens = fixture("CIK0000940418.json");
        assert_eq!(siemens.industry_code.as_deref(), Some("8880"));
        assert_eq!(
            siemens.industry_label.as_deref(),
            Some("American Depositary Receipts")
        );
        // SEC's ADR code is no industry.
        assert_eq!(
            (siemens.sic_division, siemens.nace_section),
            (Some('I'), None)
        );
        // Business stateOrCountry is null: the countryCode "2M" is used.
        assert_eq!(
            (siemens.city.as_deref(), siemens.country.as_deref()),
            (Some("MUNICH"), Some("DE"))
        );
        assert_eq!(siemens.postcode.as_deref(), Some("80333"));
        assert!(siemens.linked_ids.is_empty(), "EIN 000000000 is no EIN");

        let spac = fixture("CIK0001847577.json");
        assert_eq!(
            spac.state_of_incorporation.as_deref(),
            Some("Cayman Islands")
        );
        assert_eq!(spac.category.as_deref(), Some("Emerging growth company"));
        assert_eq!(
            (spac.region.as_deref(), spac.country.as_deref()),
            (Some("CA"), Some("US"))
        );
        assert_eq!(
            (spac.industry_code.as_deref(), spac.nace_section),
            (Some("6770"), Some('K'))
        );
    }

    #[test]
    fn publishing_sic_maps_to_information() {
        let tr = fixture("CIK0001814722.json");
        assert_eq!(tr.industry_code.as_deref(), Some("2741"));
        assert_eq!((tr.sic_division, tr.nace_section), (Some('D'), Some('J')));
        assert_eq!(tr.fiscal_year_end.as_deref(), Some("1130"));
    }

    #[test]
    fn odd_inputs() {
        assert!(matches!(
            parse_submissions(b"nope"),
            Err(RegistryError::Json { .. })
        ));
        assert!(matches!(
            parse_submissions(b"[1]"),
            Err(RegistryError::Shape { .. })
        ));
        assert!(matches!(
            parse_submissions(br#"{"accessionNumber":[],"filingDate":[]}"#),
            Err(RegistryError::Shape { .. })
        ));
        // Legacy numeric CIK without padding; a category with separators only; odd types.
        let r = parse_submissions(
            br#"{"cik":1318605,"name":"  Tesla, Inc. ","category":"<br><br>","sic":3711,
                 "formerNames":[{"name":"Tesla Motors Inc"},{"name":null},"x"],
                 "tickers":"TSLA","addresses":{"business":{"street1":"1 X","stateOrCountry":"A6"}},
                 "stateOfIncorporation":"X1","stateOfIncorporationDescription":"X1","ein":"000000000","lei":" ABC "}"#,
        )
        .unwrap();
        assert_eq!(r.registry_id, "0001318605");
        assert_eq!(r.legal_name, "Tesla, Inc.");
        assert_eq!(r.other_names, ["Tesla Motors Inc"]);
        assert_eq!(r.category, None);
        assert_eq!(
            (r.industry_code.as_deref(), r.nace_section),
            (Some("3711"), Some('C'))
        );
        assert_eq!(
            (r.region.as_deref(), r.country.as_deref()),
            (Some("Ontario"), Some("CA"))
        );
        assert_eq!(r.state_of_incorporation.as_deref(), Some("United States"));
        assert_eq!(r.linked_ids, [("lei".to_string(), "ABC".to_string())]);
    }

    #[test]
    fn tickers() {
        let list = parse_tickers(
            br#"{"1":{"cik_str":320193,"ticker":"AAPL","title":"Apple Inc."},
                 "0":{"cik_str":789019,"ticker":"MSFT","title":"MICROSOFT CORP"},
                 "2":{"cik_str":"x","ticker":"BAD","title":"skipped"},
                 "3":{"cik_str":"1045810","ticker":"NVDA"}}"#,
        )
        .unwrap();
        assert_eq!(
            list,
            [
                Ticker {
                    cik: "0000789019".into(),
                    ticker: "MSFT".into(),
                    title: "MICROSOFT CORP".into()
                },
                Ticker {
                    cik: "0000320193".into(),
                    ticker: "AAPL".into(),
                    title: "Apple Inc.".into()
                },
                Ticker {
                    cik: "0001045810".into(),
                    ticker: "NVDA".into(),
                    title: String::new()
                },
            ]
        );
        assert!(matches!(
            parse_tickers(b"[]"),
            Err(RegistryError::Shape { .. })
        ));
        assert!(matches!(
            parse_tickers(b"{"),
            Err(RegistryError::Json { .. })
        ));
    }

    /// The shared data folder (when present): every full submissions document parses, the
    /// `-submissions-001` filing pages are refused, and the 9,610-entry ticker list parses.
    #[test]
    fn every_shared_document_parses() {
        let root = Path::new(SHARED);
        if !root.is_dir() {
            eprintln!("{SHARED} absent: skipped");
            return;
        }
        let mut full = 0;
        let mut pages = 0;
        let mut entries: Vec<_> = std::fs::read_dir(root.join("submissions"))
            .expect("submissions folder")
            .flatten()
            .map(|e| e.path())
            .collect();
        entries.sort();
        for path in entries {
            let name = path
                .file_name()
                .and_then(|n| n.to_str())
                .unwrap_or("")
                .to_string();
            if !name.ends_with(".json") {
                continue;
            }
            let body = std::fs::read(&path).unwrap();
            if name.ends_with("-submissions-001.json") {
                assert!(
                    matches!(parse_submissions(&body), Err(RegistryError::Shape { .. })),
                    "{name}"
                );
                pages += 1;
                continue;
            }
            let r = parse_submissions(&body).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(r.registry_id.len(), 10, "{name}");
            assert!(!r.legal_name.is_empty(), "{name}");
            assert!(!r.raw.contains("\"filings\""), "{name}");
            if let Some(c) = &r.country {
                assert_eq!(c.len(), 2, "{name}");
            }
            full += 1;
        }
        assert_eq!((full, pages), (30, 4));

        let body = std::fs::read(root.join("company_tickers.json")).unwrap();
        let tickers = parse_tickers(&body).unwrap();
        assert_eq!(tickers.len(), 9610);
        assert!(tickers
            .iter()
            .all(|t| t.cik.len() == 10 && t.cik.bytes().all(|b| b.is_ascii_digit())));
        assert_eq!(
            tickers[0],
            Ticker {
                cik: "0000789019".into(),
                ticker: "MSFT".into(),
                title: "MICROSOFT CORP".into()
            }
        );
    }
}
