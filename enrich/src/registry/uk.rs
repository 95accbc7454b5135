//! United Kingdom: the Companies House Public Data API
//! (<https://api.company-information.service.gov.uk>, HTTP basic auth with an API key, which the
//! caller adds). A name search and the company profile.
//!
//! Mapping notes (see [`parse_profile`]):
//! - `company_status` (or the legacy `status`): `active` (and `open`, `registered`, used for
//!   overseas entities and registered societies) → active; `dissolved`, `liquidation`,
//!   `converted-closed`, `closed`, `removed` → ceased; administration, receivership,
//!   voluntary arrangements and the like → `None` (the company still exists, in trouble).
//! - `sic_codes[0]` is UK SIC 2007 (NACE rev. 2 + one digit); `99999` (dormant) has no industry.
//! - `category` is the type of the last filed accounts (`micro-entity`, `small`, `full`,
//!   `group`, `dormant`, …): the only size signal the register gives.
//! - `country` is `GB` for the UK nations; a registered office without a country is in the UK
//!   when the company's jurisdiction is one of them.

use serde_json::Value;

use super::codes;
use super::record::{
    at, iso_date, parse_json, percent_encode, raw_json, text, texts, trim_base, Firmographics,
    Registry, RegistryError, Status,
};

/// The public endpoint.
pub const DEFAULT_BASE: &str = "https://api.company-information.service.gov.uk";

/// `{base}/search/companies?q=…&items_per_page=…` (items per page within 1..=100).
pub fn search_url(base: &str, q: &str, items_per_page: u32) -> String {
    format!(
        "{}/search/companies?q={}&items_per_page={}",
        trim_base(base),
        percent_encode(q.trim()),
        items_per_page.clamp(1, 100)
    )
}

/// `{base}/company/{number}`, the number upper-cased (`sc123456` → `SC123456`).
pub fn profile_url(base: &str, number: &str) -> String {
    format!(
        "{}/company/{}",
        trim_base(base),
        percent_encode(&number.trim().to_ascii_uppercase())
    )
}

/// One hit of `/search/companies`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UkSearchItem {
    pub company_number: String,
    pub title: String,
    pub company_status: Option<String>,
    pub postcode: Option<String>,
    pub locality: Option<String>,
    pub date_of_creation: Option<String>,
}

/// Parses `/search/companies`: `{"items":[{"company_number","title","company_status",
/// "address":{"postal_code","locality",…},"date_of_creation",…}],"total_results":…}`. Items
/// without a company number are skipped; a response with no `items` (no hits) is an empty list.
pub fn parse_search(body: &[u8]) -> Result<Vec<UkSearchItem>, RegistryError> {
    let v = parse_json(Registry::CompaniesHouse, body)?;
    if !v.is_object() {
        return Err(RegistryError::shape(
            Registry::CompaniesHouse,
            "search response is not a JSON object",
        ));
    }
    let Some(items) = at(&v, &["items"]) else {
        return Ok(Vec::new());
    };
    let Some(items) = items.as_array() else {
        return Err(RegistryError::shape(
            Registry::CompaniesHouse,
            "`items` is not an array",
        ));
    };
    Ok(items
        .iter()
        .filter_map(|item| {
            Some(UkSearchItem {
                company_number: text(item, &["company_number"])?.to_ascii_uppercase(),
                title: text(item, &["title"]).unwrap_or_default(),
                company_status: text(item, &["company_status"]),
                postcode: text(item, &["address", "postal_code"]),
                locality: text(item, &["address", "locality"]),
                date_of_creation: text(item, &["date_of_creation"]).and_then(|d| iso_date(&d)),
            })
        })
        .collect())
}

/// Parses `/company/{number}` into a record. Errors when the body is not a JSON object with a
/// `company_number`.
pub fn parse_profile(body: &[u8]) -> Result<Firmographics, RegistryError> {
    let v = parse_json(Registry::CompaniesHouse, body)?;
    let Some(number) = text(&v, &["company_number"]).map(|n| n.to_ascii_uppercase()) else {
        return Err(RegistryError::shape(
            Registry::CompaniesHouse,
            "no `company_number` in the company profile",
        ));
    };
    let name = text(&v, &["company_name"]).unwrap_or_default();
    let mut f = Firmographics::new(Registry::CompaniesHouse, number, name, raw_json(&v));

    if let Some(previous) = at(&v, &["previous_company_names"]).and_then(Value::as_array) {
        for n in previous.iter().filter_map(|p| text(p, &["name"])) {
            f.push_other_name(&n);
        }
    }

    f.status = text(&v, &["company_status"])
        .or_else(|| text(&v, &["status"]))
        .and_then(|s| status(&s));

    if let Some(sic) = texts(&v, &["sic_codes"]).into_iter().next() {
        if let Some((division, section)) = codes::uk_sic_to_nace(&sic) {
            f.nace_division = Some(division);
            f.set_nace_section(Some(section));
        }
        f.industry_scheme = Some("UK SIC 2007");
        f.industry_code = Some(sic);
    }

    f.created = text(&v, &["date_of_creation"]).and_then(|d| iso_date(&d));
    f.ceased = text(&v, &["date_of_cessation"]).and_then(|d| iso_date(&d));

    if let Some(t) = text(&v, &["type"]) {
        f.legal_form_label = company_type_label(&t).map(str::to_string);
        f.legal_form = Some(t);
    }
    f.category = text(&v, &["accounts", "last_accounts", "type"]);
    let jurisdiction = text(&v, &["jurisdiction"]);

    if let Some(a) = at(&v, &["registered_office_address"]).filter(|a| a.is_object()) {
        let lines: Vec<String> = [
            "care_of",
            "po_box",
            "premises",
            "address_line_1",
            "address_line_2",
        ]
        .iter()
        .filter_map(|k| text(a, &[k]))
        .collect();
        f.address = (!lines.is_empty()).then(|| lines.join(", "));
        f.city = text(a, &["locality"]);
        f.region = text(a, &["region"]);
        f.postcode = text(a, &["postal_code"]);
        f.country = match text(a, &["country"]) {
            Some(c) => uk_country(&c),
            None => jurisdiction
                .as_deref()
                .filter(|j| uk_jurisdiction(j))
                .map(|_| "GB".to_string()),
        };
    }
    f.state_of_incorporation = jurisdiction;
    Ok(f)
}

/// Companies House `company_status` → [`Status`].
pub fn status(s: &str) -> Option<Status> {
    match s.trim().to_ascii_lowercase().as_str() {
        "active" | "open" | "registered" => Some(Status::Active),
        "dissolved" | "liquidation" | "converted-closed" | "closed" | "removed" => {
            Some(Status::Ceased)
        }
        _ => None,
    }
}

/// `GB` for the UK and its nations as Companies House writes them; `None` otherwise.
pub(crate) fn uk_country(c: &str) -> Option<String> {
    let c = c.trim().to_ascii_lowercase().replace('&', "and");
    matches!(
        c.as_str(),
        "england"
            | "wales"
            | "scotland"
            | "northern ireland"
            | "united kingdom"
            | "uk"
            | "great britain"
            | "england and wales"
            | "gb"
    )
    .then(|| "GB".to_string())
}

fn uk_jurisdiction(j: &str) -> bool {
    matches!(
        j.trim().to_ascii_lowercase().as_str(),
        "england-wales" | "wales" | "scotland" | "northern-ireland" | "united-kingdom" | "england"
    )
}

/// English label of the common Companies House company `type` values.
pub fn company_type_label(t: &str) -> Option<&'static str> {
    Some(match t.trim() {
        "ltd" => "Private limited company",
        "plc" => "Public limited company",
        "llp" => "Limited liability partnership",
        "private-unlimited" => "Private unlimited company",
        "private-unlimited-nsc" => "Private unlimited company without share capital",
        "private-limited-guarant-nsc" => {
            "Private company limited by guarantee without share capital"
        }
        "private-limited-guarant-nsc-limited-exemption" => {
            "Private company limited by guarantee without share capital, use of 'Limited' exemption"
        }
        "private-limited-shares-section-30-exemption" => {
            "Private limited company, use of 'Limited' exemption"
        }
        "old-public-company" => "Old public company",
        "limited-partnership" => "Limited partnership",
        "scottish-partnership" => "Scottish qualifying partnership",
        "oversea-company" => "Overseas company",
        "uk-establishment" => "UK establishment of an overseas company",
        "european-public-limited-liability-company-se" => {
            "European public limited liability company (SE)"
        }
        "charitable-incorporated-organisation" => "Charitable incorporated organisation",
        "scottish-charitable-incorporated-organisation" => {
            "Scottish charitable incorporated organisation"
        }
        "royal-charter" => "Royal charter company",
        "registered-society-non-jurisdictional" => "Registered society",
        "industrial-and-provident-society" => "Industrial and provident society",
        "investment-company-with-variable-capital" => "Investment company with variable capital",
        "registered-overseas-entity" => "Registered overseas entity",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    const FIXTURES: &str = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../tests/fixtures/registries/uk"
    );

    fn fixture(name: &str) -> Firmographics {
        let path = Path::new(FIXTURES).join(name);
        let body = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        parse_profile(&body).unwrap_or_else(|e| panic!("{name}: {e}"))
    }

    #[test]
    fn urls() {
        assert_eq!(
            search_url(DEFAULT_BASE, "Marks & Spencer", 0),
            "https://api.company-information.service.gov.uk/search/companies?q=Marks%20%26%20Spencer&items_per_page=1"
        );
        assert_eq!(
            profile_url(
                "https://api.company-information.service.gov.uk/",
                " sc123456 "
            ),
            "https://api.company-information.service.gov.uk/company/SC123456"
        );
    }

    #[test]
    fn lloyds_bank() {
        let r = fixture("company-profile_00002065_LLOYDS-BANK-PLC.json");
        assert_eq!(r.registry, Registry::CompaniesHouse);
        assert_eq!(r.registry_id, "00002065");
        assert_eq!(r.legal_name, "LLOYDS BANK PLC");
        // Its 1982-1999 name is its name again today: not repeated as an other name.
        assert_eq!(
            r.other_names,
            [
                "LLOYDS TSB BANK PLC",
                "LLOYDS BANK LIMITED",
                "LLOYDS, BARNETTS AND BOSANQUETS BANK LIMITED",
                "LLOYDS BANKING COMPANY LIMITED"
            ]
        );
        assert_eq!(r.status, Some(Status::Active));
        assert_eq!(r.industry_scheme, Some("UK SIC 2007"));
        assert_eq!(r.industry_code.as_deref(), Some("64191"));
        assert_eq!(
            (r.nace_division.as_deref(), r.nace_section),
            (Some("64"), Some('K'))
        );
        assert_eq!(r.sector, Some("Financial and insurance activities"));
        assert_eq!(r.created.as_deref(), Some("1865-04-20"));
        assert_eq!(r.ceased, None);
        assert_eq!(r.legal_form.as_deref(), Some("plc"));
        assert_eq!(
            r.legal_form_label.as_deref(),
            Some("Public limited company")
        );
        assert_eq!(r.category.as_deref(), Some("group"));
        assert_eq!(r.address.as_deref(), Some("25 Gresham Street"));
        assert_eq!(
            (r.city.as_deref(), r.postcode.as_deref()),
            (Some("London"), Some("EC2V 7HN"))
        );
        // No country in the address: England and Wales jurisdiction.
        assert_eq!(r.country.as_deref(), Some("GB"));
        assert_eq!(r.state_of_incorporation.as_deref(), Some("england-wales"));
        assert!(r.linked_ids.is_empty());
        let raw: Value = serde_json::from_str(&r.raw).unwrap();
        assert_eq!(raw["etag"], "8259055527962f7d8a7133c1d55c10b900e50b46");
    }

    #[test]
    fn residents_management_company() {
        let r = fixture("company-profile_02578066_14-LAWN-ROAD-LIMITED.json");
        assert_eq!(r.registry_id, "02578066");
        assert_eq!(r.legal_name, "14 LAWN ROAD LIMITED");
        assert!(r.other_names.is_empty());
        assert_eq!(r.status, Some(Status::Active));
        assert_eq!(r.industry_code.as_deref(), Some("98000"));
        assert_eq!(
            (r.nace_division.as_deref(), r.nace_section),
            (Some("98"), Some('T'))
        );
        assert_eq!(r.legal_form.as_deref(), Some("ltd"));
        assert_eq!(r.category.as_deref(), Some("total-exemption-full"));
        assert_eq!(r.address.as_deref(), Some("14 Lawn Road, 1st Floor Flat"));
        assert_eq!(
            (
                r.city.as_deref(),
                r.postcode.as_deref(),
                r.country.as_deref()
            ),
            (Some("London"), Some("NW3 2XS"), Some("GB"))
        );
        assert_eq!(r.created.as_deref(), Some("1991-01-30"));
    }

    #[test]
    fn statuses_and_odd_profiles() {
        assert_eq!(status("active"), Some(Status::Active));
        assert_eq!(status("dissolved"), Some(Status::Ceased));
        assert_eq!(status("liquidation"), Some(Status::Ceased));
        assert_eq!(status("administration"), None);
        assert_eq!(status("voluntary-arrangement"), None);
        assert_eq!(status(""), None);

        assert!(matches!(
            parse_profile(b"<html>"),
            Err(RegistryError::Json { .. })
        ));
        assert!(matches!(
            parse_profile(
                br#"{"errors":[{"error":"company-profile-not-found","type":"ch:service"}]}"#
            ),
            Err(RegistryError::Shape { .. })
        ));
        let r = parse_profile(
            br#"{"company_number":"sc000001","company_name":"OLD MILL LIMITED","company_status":"dissolved",
                 "date_of_cessation":"2019-02-05","sic_codes":["99999"],"type":"weird-type",
                 "registered_office_address":{"premises":"Unit 4","address_line_1":"Mill Lane","country":"France"},
                 "previous_company_names":[{"name":7},{}],"jurisdiction":"scotland"}"#,
        )
        .unwrap();
        assert_eq!(r.registry_id, "SC000001");
        assert_eq!(r.status, Some(Status::Ceased));
        assert_eq!(r.ceased.as_deref(), Some("2019-02-05"));
        assert_eq!(
            (r.industry_code.as_deref(), r.nace_section, r.sector),
            (Some("99999"), None, None)
        );
        assert_eq!(
            (r.legal_form.as_deref(), r.legal_form_label),
            (Some("weird-type"), None)
        );
        assert_eq!(r.address.as_deref(), Some("Unit 4, Mill Lane"));
        assert_eq!(r.country, None);
        assert_eq!(r.other_names, ["7"]);
    }

    #[test]
    fn search_items() {
        // No recorded Companies House search response exists in the shared data: this body is
        // written from the documented `search#companies` format (developer.company-information
        // .service.gov.uk, "Search companies"), with made-up companies.
        let body = br#"{
          "kind": "search#companies", "total_results": 3, "items_per_page": 20, "page_number": 1, "start_index": 0,
          "items": [
            {"kind": "searchresults#company", "company_number": "01234567", "title": "EXAMPLE TRADING LIMITED",
             "company_status": "active", "company_type": "ltd", "date_of_creation": "2001-02-03",
             "address": {"address_line_1": "1 High Street", "locality": "Leeds", "postal_code": "LS1 1AA", "premises": "1"},
             "address_snippet": "1 High Street, Leeds, LS1 1AA", "description": "01234567 - Incorporated on  3 February 2001",
             "links": {"self": "/company/01234567"}, "matches": {"title": [1, 7]}},
            {"kind": "searchresults#company", "company_number": "sc765432", "title": "EXAMPLE HOLDINGS LTD",
             "company_status": "dissolved", "date_of_creation": "1999-13-40", "address": null},
            {"kind": "searchresults#company", "title": "NO NUMBER LTD"}
          ]
        }"#;
        let items = parse_search(body).unwrap();
        assert_eq!(
            items,
            [
                UkSearchItem {
                    company_number: "01234567".into(),
                    title: "EXAMPLE TRADING LIMITED".into(),
                    company_status: Some("active".into()),
                    postcode: Some("LS1 1AA".into()),
                    locality: Some("Leeds".into()),
                    date_of_creation: Some("2001-02-03".into()),
                },
                UkSearchItem {
                    company_number: "SC765432".into(),
                    title: "EXAMPLE HOLDINGS LTD".into(),
                    company_status: Some("dissolved".into()),
                    postcode: None,
                    locality: None,
                    date_of_creation: None,
                },
            ]
        );
        assert_eq!(
            parse_search(br#"{"kind":"search#companies","total_results":0}"#).unwrap(),
            []
        );
        assert!(matches!(
            parse_search(br#"{"items":{}}"#),
            Err(RegistryError::Shape { .. })
        ));
        assert!(matches!(
            parse_search(b"[]"),
            Err(RegistryError::Shape { .. })
        ));
    }
}
