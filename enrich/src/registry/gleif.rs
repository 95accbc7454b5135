//! Global: GLEIF, the Legal Entity Identifier index (<https://api.gleif.org/api/v1>, JSON:API).
//! A record by LEI, a filter on the legal name, and fuzzy name completions.
//!
//! Mapping notes (see [`record_from_data`]):
//! - `status` comes from `entity.status` (ACTIVE / INACTIVE). The registration status (ISSUED,
//!   LAPSED, …) is about the LEI's renewal fee, not the entity: a LAPSED record of an ACTIVE
//!   entity is active.
//! - The head-office address is preferred to the legal address.
//! - `registeredAt.id` + `registeredAs` become a linked id: `("siren", …)` for the French
//!   SIRENE (RA000189) and RCS (RA000192) registers when the value holds 9 digits,
//!   `("uk_company_number", …)` for Companies House (RA000585), else `("ra:RA000xxx", value)`.
//! - GLEIF records carry no industry, headcount or website.

use serde_json::Value;

use super::record::{
    at, iso_date, parse_json, percent_encode, raw_json, text, texts, trim_base, Firmographics,
    Registry, RegistryError, Status,
};

/// The public endpoint.
pub const DEFAULT_BASE: &str = "https://api.gleif.org/api/v1";

/// The API's largest page.
pub const MAX_PAGE_SIZE: u32 = 200;

/// `{base}/lei-records/{lei}`.
pub fn record_url(base: &str, lei: &str) -> String {
    format!(
        "{}/lei-records/{}",
        trim_base(base),
        percent_encode(&lei.trim().to_ascii_uppercase())
    )
}

/// `{base}/lei-records?filter[entity.legalName]=…&page[size]=…` (exact legal name, GLEIF's
/// matching is case-insensitive); `page_size` within 1..=200. The brackets are written as GLEIF
/// documents them.
pub fn name_filter_url(base: &str, name: &str, page_size: u32) -> String {
    format!(
        "{}/lei-records?filter[entity.legalName]={}&page[size]={}",
        trim_base(base),
        percent_encode(name.trim()),
        page_size.clamp(1, MAX_PAGE_SIZE)
    )
}

/// `{base}/fuzzycompletions?field=entity.legalName&q=…`.
pub fn fuzzy_url(base: &str, name: &str) -> String {
    format!(
        "{}/fuzzycompletions?field=entity.legalName&q={}",
        trim_base(base),
        percent_encode(name.trim())
    )
}

/// Parses `/lei-records/{lei}`: `{"data":{…}}`.
pub fn parse_record(body: &[u8]) -> Result<Firmographics, RegistryError> {
    let v = parse_json(Registry::Gleif, body)?;
    let Some(data) = at(&v, &["data"]).filter(|d| d.is_object()) else {
        return Err(RegistryError::shape(Registry::Gleif, "no `data` object"));
    };
    record_from_data(data).ok_or_else(|| RegistryError::shape(Registry::Gleif, "record has no LEI"))
}

/// Parses a list of records: `{"data":[…]}` (name filter, any `/lei-records?…`). Elements
/// without an LEI are skipped.
pub fn parse_records(body: &[u8]) -> Result<Vec<Firmographics>, RegistryError> {
    let v = parse_json(Registry::Gleif, body)?;
    let Some(items) = at(&v, &["data"]).and_then(Value::as_array) else {
        return Err(RegistryError::shape(Registry::Gleif, "no `data` array"));
    };
    Ok(items.iter().filter_map(record_from_data).collect())
}

/// Parses `/fuzzycompletions`: (completed name, its LEI when the completion points at a
/// record). Elements without a value are skipped.
pub fn parse_fuzzy(body: &[u8]) -> Result<Vec<(String, Option<String>)>, RegistryError> {
    let v = parse_json(Registry::Gleif, body)?;
    let Some(items) = at(&v, &["data"]).and_then(Value::as_array) else {
        return Err(RegistryError::shape(Registry::Gleif, "no `data` array"));
    };
    Ok(items
        .iter()
        .filter_map(|item| {
            let name = text(item, &["attributes", "value"])?;
            let lei = text(item, &["relationships", "lei-records", "data", "id"]);
            Some((name, lei))
        })
        .collect())
}

/// Maps one JSON:API resource (`{"type":"lei-records","id":…,"attributes":{…}}`) to a record;
/// `None` without an LEI.
pub fn record_from_data(data: &Value) -> Option<Firmographics> {
    let attrs = at(data, &["attributes"]);
    let lei = attrs
        .and_then(|a| text(a, &["lei"]))
        .or_else(|| text(data, &["id"]))?
        .to_ascii_uppercase();
    let entity = attrs.and_then(|a| at(a, &["entity"]));
    let en = |path: &[&str]| entity.and_then(|e| text(e, path));

    let name = en(&["legalName", "name"]).unwrap_or_default();
    let mut f = Firmographics::new(Registry::Gleif, lei, name, raw_json(data));
    if let Some(e) = entity {
        for key in ["otherNames", "transliteratedOtherNames"] {
            if let Some(names) = at(e, &[key]).and_then(Value::as_array) {
                for n in names.iter().filter_map(|n| text(n, &["name"])) {
                    f.push_other_name(&n);
                }
            }
        }
    }

    f.status = match en(&["status"]).map(|s| s.to_ascii_uppercase()).as_deref() {
        Some("ACTIVE") => Some(Status::Active),
        Some("INACTIVE") => Some(Status::Ceased),
        _ => None,
    };
    f.created = en(&["creationDate"]).and_then(|d| iso_date(&d));
    if f.status == Some(Status::Ceased) {
        f.ceased = en(&["expiration", "date"]).and_then(|d| iso_date(&d));
    }

    f.legal_form = en(&["legalForm", "id"]);
    f.legal_form_label = en(&["legalForm", "other"]);
    f.category = en(&["category"]);
    f.state_of_incorporation = en(&["jurisdiction"]);

    let address = ["headquartersAddress", "legalAddress"]
        .iter()
        .filter_map(|k| entity.and_then(|e| at(e, &[k])))
        .find(|a| {
            a.is_object() && (text(a, &["city"]).is_some() || text(a, &["country"]).is_some())
        });
    if let Some(a) = address {
        let lines = texts(a, &["addressLines"]);
        f.address = (!lines.is_empty()).then(|| lines.join(", "));
        f.city = text(a, &["city"]);
        f.region = text(a, &["region"]);
        f.postcode = text(a, &["postalCode"]);
        f.country = text(a, &["country"])
            .map(|c| c.to_ascii_uppercase())
            .filter(|c| c.len() == 2 && c.bytes().all(|b| b.is_ascii_alphabetic()));
    }

    if let (Some(ra), Some(value)) = (en(&["registeredAt", "id"]), en(&["registeredAs"])) {
        let (kind, value) = registration_id(&ra, &value);
        f.push_linked_id(&kind, &value);
    }
    if let Some(successor) = en(&["successorEntity", "lei"]) {
        f.push_linked_id("successor_lei", &successor);
    }
    for bic in attrs.map(|a| texts(a, &["bic"])).unwrap_or_default() {
        f.push_linked_id("bic", &bic);
    }
    Some(f)
}

/// The kind and value of a registration-authority identifier (see the module notes).
fn registration_id(ra: &str, value: &str) -> (String, String) {
    let ra = ra.trim().to_ascii_uppercase();
    let digits: String = value.chars().filter(char::is_ascii_digit).collect();
    match ra.as_str() {
        "RA000189" | "RA000192" if digits.len() == 9 => ("siren".to_string(), digits),
        "RA000585" => (
            "uk_company_number".to_string(),
            value.trim().to_ascii_uppercase(),
        ),
        _ => (format!("ra:{ra}"), value.trim().to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    const FIXTURES: &str = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../tests/fixtures/registries/gleif"
    );

    fn body(name: &str) -> Vec<u8> {
        let path = Path::new(FIXTURES).join(name);
        std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
    }

    #[test]
    fn urls() {
        assert_eq!(
            record_url(DEFAULT_BASE, "9845001b2ad43e664e58"),
            "https://api.gleif.org/api/v1/lei-records/9845001B2AD43E664E58"
        );
        assert_eq!(
            name_filter_url(DEFAULT_BASE, "Société Générale", 500),
            "https://api.gleif.org/api/v1/lei-records?filter[entity.legalName]=Soci%C3%A9t%C3%A9%20G%C3%A9n%C3%A9rale&page[size]=200"
        );
        assert_eq!(
            fuzzy_url("https://api.gleif.org/api/v1/", "AT&T"),
            "https://api.gleif.org/api/v1/fuzzycompletions?field=entity.legalName&q=AT%26T"
        );
    }

    #[test]
    fn sole_proprietor_with_trading_name() {
        let r = parse_record(&body("9845001B2AD43E664E58.json")).unwrap();
        assert_eq!(r.registry, Registry::Gleif);
        assert_eq!(r.registry_id, "9845001B2AD43E664E58");
        assert_eq!(r.legal_name, "RAHUL");
        assert_eq!(r.other_names, ["MATRIX POWER & AUTOMATION"]);
        assert_eq!(r.status, Some(Status::Active));
        assert_eq!(r.created.as_deref(), Some("2019-03-27"));
        assert_eq!(r.ceased, None);
        assert_eq!(r.legal_form.as_deref(), Some("4QIE"));
        assert_eq!(r.legal_form_label, None);
        assert_eq!(r.category.as_deref(), Some("SOLE_PROPRIETOR"));
        assert_eq!(r.address.as_deref(), Some("PLOT NO. 84, HSIIDC, RAI"));
        assert_eq!(r.city.as_deref(), Some("SONIPAT"));
        assert_eq!(r.region.as_deref(), Some("IN-HR"));
        assert_eq!(r.postcode.as_deref(), Some("131029"));
        assert_eq!(r.country.as_deref(), Some("IN"));
        assert_eq!(r.state_of_incorporation.as_deref(), Some("IN"));
        assert_eq!(
            r.linked_ids,
            [("ra:RA000754".to_string(), "06AWIPR9110J1Z9".to_string())]
        );
        assert_eq!((r.industry_code, r.nace_section), (None, None));
        let raw: Value = serde_json::from_str(&r.raw).unwrap();
        assert_eq!(raw["id"], "9845001B2AD43E664E58");
    }

    #[test]
    fn lapsed_registration_of_an_active_fund() {
        let r = parse_record(&body("549300LBI3LRIZ2V8V66_lapsed.json")).unwrap();
        assert_eq!(r.legal_name, "UK EQUITY FUND (OFFSHORE)");
        // LAPSED is the LEI's renewal, not the entity's existence.
        assert_eq!(r.status, Some(Status::Active));
        assert_eq!(r.created, None);
        assert_eq!(r.legal_form.as_deref(), Some("8888"));
        assert_eq!(r.legal_form_label.as_deref(), Some("FUND"));
        assert_eq!(r.category.as_deref(), Some("FUND"));
        assert_eq!(r.address.as_deref(), Some("JP MORGAN HOUSE, DUBLIN 1"));
        assert_eq!(
            (r.city.as_deref(), r.country.as_deref()),
            (Some("DUBLIN"), Some("IE"))
        );
        assert_eq!(r.postcode.as_deref(), Some("D01 W213"));
        // RA999999 with no registeredAs: nothing to link.
        assert!(r.linked_ids.is_empty());
    }

    #[test]
    fn lists_and_french_registration() {
        // Built from the documented JSON:API list shape (no recorded list response exists in the
        // shared data): a French entity registered with SIRENE, an inactive one with a successor.
        let list = br#"{"meta":{},"data":[
            {"type":"lei-records","id":"TEST00000000000000A1","attributes":{"lei":"TEST00000000000000A1",
              "entity":{"legalName":{"name":"DANONE"},"otherNames":[],"status":"ACTIVE",
                "registeredAt":{"id":"RA000189","other":null},"registeredAs":"552 032 534",
                "legalAddress":{"addressLines":["17 BOULEVARD HAUSSMANN"],"city":"PARIS","country":"FR","postalCode":"75009"},
                "headquartersAddress":{"addressLines":[],"city":null,"country":null},
                "creationDate":"1899-12-31T23:00:00Z","jurisdiction":"FR","legalForm":{"id":"6CHY","other":null}},
              "bic":["TESTFRPPXXX"]}},
            {"type":"lei-records","id":"TEST00000000000000B2","attributes":{
              "entity":{"legalName":{"name":"OLD CO LIMITED"},"status":"INACTIVE",
                "expiration":{"date":"2020-06-30T00:00:00Z","reason":"CORPORATE_ACTION"},
                "successorEntity":{"lei":"TEST00000000000000C3","name":null},
                "registeredAt":{"id":"RA000585"},"registeredAs":"sc123456"}}},
            {"type":"lei-records","attributes":{}},
            "garbage"
        ]}"#;
        let records = parse_records(list).unwrap();
        assert_eq!(records.len(), 2);
        let danone = &records[0];
        assert_eq!(
            danone.linked_ids[0],
            ("siren".to_string(), "552032534".to_string())
        );
        assert_eq!(
            danone.linked_ids[1],
            ("bic".to_string(), "TESTFRPPXXX".to_string())
        );
        // The empty head-office address falls back to the legal address.
        assert_eq!(
            (danone.city.as_deref(), danone.country.as_deref()),
            (Some("PARIS"), Some("FR"))
        );
        // Local midnight stored in UTC: 1 January 1900 in Paris.
        assert_eq!(danone.created.as_deref(), Some("1900-01-01"));
        let old = &records[1];
        assert_eq!(old.registry_id, "TEST00000000000000B2");
        assert_eq!(old.status, Some(Status::Ceased));
        assert_eq!(old.ceased.as_deref(), Some("2020-06-30"));
        assert_eq!(
            old.linked_ids,
            [
                ("uk_company_number".to_string(), "SC123456".to_string()),
                (
                    "successor_lei".to_string(),
                    "TEST00000000000000C3".to_string()
                )
            ]
        );
        assert_eq!(old.address, None);
    }

    #[test]
    fn fuzzy_completions() {
        // The documented /fuzzycompletions shape (no recorded response in the shared data).
        let body = br#"{"data":[
            {"type":"fuzzycompletions","attributes":{"value":"DANONE"},
             "relationships":{"lei-records":{"data":{"type":"lei-records","id":"TEST00000000000000A1"},
               "links":{"related":"https://api.gleif.org/api/v1/lei-records/TEST00000000000000A1"}}}},
            {"type":"fuzzycompletions","attributes":{"value":"DANONE NUTRICIA"}},
            {"type":"fuzzycompletions","attributes":{}}
        ]}"#;
        assert_eq!(
            parse_fuzzy(body).unwrap(),
            [
                (
                    "DANONE".to_string(),
                    Some("TEST00000000000000A1".to_string())
                ),
                ("DANONE NUTRICIA".to_string(), None)
            ]
        );
        assert_eq!(parse_fuzzy(br#"{"data":[]}"#).unwrap(), []);
    }

    #[test]
    fn odd_inputs() {
        assert!(matches!(parse_record(b""), Err(RegistryError::Json { .. })));
        assert!(matches!(
            parse_record(br#"{"data":[]}"#),
            Err(RegistryError::Shape { .. })
        ));
        assert!(matches!(
            parse_record(br#"{"data":{"type":"lei-records"}}"#),
            Err(RegistryError::Shape { .. })
        ));
        assert!(matches!(
            parse_records(br#"{"data":{}}"#),
            Err(RegistryError::Shape { .. })
        ));
        assert!(matches!(
            parse_fuzzy(br#"{"errors":[{"status":"404"}]}"#),
            Err(RegistryError::Shape { .. })
        ));
        let r = parse_record(
            br#"{"data":{"id":"X","attributes":{"entity":{"legalName":"flat string","status":7,
            "headquartersAddress":{"addressLines":"x","city":"C","country":"Fra"}}}}}"#,
        )
        .unwrap();
        assert_eq!((r.legal_name.as_str(), r.status), ("", None));
        assert_eq!(
            (
                r.city.as_deref(),
                r.country.as_deref(),
                r.address.as_deref()
            ),
            (Some("C"), None, None)
        );
    }
}
