//! The normalised registry record ([`Firmographics`]), the registry and status enums, the one
//! error type shared by the four registry parsers ([`RegistryError`]), and the small JSON
//! reading helpers they share.
//!
//! Every registry parser (SIRENE via the API Recherche d'entreprises, SEC EDGAR, GLEIF,
//! Companies House) maps its response into a [`Firmographics`]; fields a registry does not have
//! stay `None` / empty. Reading never panics: a field of the wrong type or shape is skipped,
//! only a body that is not JSON at all or lacks the record's identifier is an error.

use std::fmt;

use serde_json::Value;

/// The public registries leadcrawl reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Registry {
    /// France: SIRENE / RNE through the API Recherche d'entreprises.
    Sirene,
    /// United States: SEC EDGAR submissions.
    SecEdgar,
    /// Global: GLEIF LEI records.
    Gleif,
    /// United Kingdom: Companies House.
    CompaniesHouse,
}

impl Registry {
    /// Every registry, in a fixed order.
    pub const ALL: [Registry; 4] = [
        Registry::Sirene,
        Registry::SecEdgar,
        Registry::Gleif,
        Registry::CompaniesHouse,
    ];

    /// The stable name used in tables and config: `sirene`, `sec_edgar`, `gleif`,
    /// `companies_house`.
    pub fn as_str(self) -> &'static str {
        match self {
            Registry::Sirene => "sirene",
            Registry::SecEdgar => "sec_edgar",
            Registry::Gleif => "gleif",
            Registry::CompaniesHouse => "companies_house",
        }
    }

    /// The inverse of [`Registry::as_str`] (ASCII case-insensitive, surrounding blanks ignored).
    pub fn parse(s: &str) -> Option<Registry> {
        let s = s.trim();
        Registry::ALL
            .into_iter()
            .find(|r| r.as_str().eq_ignore_ascii_case(s))
    }
}

impl fmt::Display for Registry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Whether the legal entity still exists, as the registry says it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Status {
    Active,
    Ceased,
}

impl Status {
    /// `active` / `ceased`.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Active => "active",
            Status::Ceased => "ceased",
        }
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a registry response could not be read.
#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    /// The body is not JSON.
    #[error("{registry}: response is not valid JSON: {source}")]
    Json {
        registry: Registry,
        #[source]
        source: serde_json::Error,
    },
    /// The body is JSON but not the expected document (missing envelope, no identifier, …).
    #[error("{registry}: unexpected response shape: {what}")]
    Shape { registry: Registry, what: String },
}

impl RegistryError {
    /// The registry whose response failed.
    pub fn registry(&self) -> Registry {
        match self {
            RegistryError::Json { registry, .. } | RegistryError::Shape { registry, .. } => {
                *registry
            }
        }
    }

    pub(crate) fn shape(registry: Registry, what: impl Into<String>) -> Self {
        RegistryError::Shape {
            registry,
            what: what.into(),
        }
    }
}

/// One company as a registry describes it, normalised across registries.
///
/// Codes are kept as the registry writes them (`industry_code`, `legal_form`, `headcount_band`);
/// the cross-registry taxonomy is NACE rev. 2 (`nace_section`, `nace_division`, `sector`).
#[derive(Debug, Clone, PartialEq)]
pub struct Firmographics {
    pub registry: Registry,
    /// SIREN (9 digits) / CIK zero-padded to 10 / LEI / Companies House number (8 chars).
    pub registry_id: String,
    /// The registered name; empty when the registry withholds it (French `[NON-DIFFUSIBLE]`
    /// entrepreneurs) or has none.
    pub legal_name: String,
    /// Acronyms, trade names, former names, other-language names (deduplicated, never the
    /// legal name itself).
    pub other_names: Vec<String>,
    pub status: Option<Status>,
    /// `"NAF rev. 2"` (or `"NAF rev. 1"` for legacy French codes), `"US SIC"`, `"UK SIC 2007"`.
    pub industry_scheme: Option<&'static str>,
    /// As the registry writes it: `"70.10Z"`, `"3571"`, `"62012"`.
    pub industry_code: Option<String>,
    pub industry_label: Option<String>,
    /// NACE rev. 2 section `'A'..='U'`: the one industry taxonomy across registries.
    pub nace_section: Option<char>,
    /// NACE rev. 2 division (`"70"`) where the code gives it (NAF, UK SIC); `None` for US SIC.
    pub nace_division: Option<String>,
    /// US SIC (1987) division `'A'..='J'`; `None` outside EDGAR.
    pub sic_division: Option<char>,
    /// English label of `nace_section`.
    pub sector: Option<&'static str>,
    /// Raw headcount band code (`"12"`, `"NN"`).
    pub headcount_band: Option<String>,
    pub headcount_min: Option<u32>,
    /// `None` for an open band (10 000+).
    pub headcount_max: Option<u32>,
    /// ISO date `YYYY-MM-DD` (or `YYYY-MM` / `YYYY` when that is all the registry gives).
    pub created: Option<String>,
    pub ceased: Option<String>,
    /// Legal form code: `nature_juridique` (`"5710"`), ELF code, UK `type` (`"ltd"`), SEC
    /// `entityType`.
    pub legal_form: Option<String>,
    pub legal_form_label: Option<String>,
    /// Size or filer category: PME/ETI/GE, SEC filer status, GLEIF entity category, UK
    /// accounts type of the last accounts.
    pub category: Option<String>,
    pub address: Option<String>,
    pub postcode: Option<String>,
    pub city: Option<String>,
    pub region: Option<String>,
    /// ISO 3166-1 alpha-2 where derivable.
    pub country: Option<String>,
    pub latitude: Option<f64>,
    pub longitude: Option<f64>,
    /// Open establishments (SIRENE).
    pub establishments: Option<u32>,
    pub revenue: Option<f64>,
    pub net_income: Option<f64>,
    /// The year `revenue` and `net_income` belong to.
    pub financial_year: Option<i32>,
    /// `MMDD`, as EDGAR writes it (`"1231"`).
    pub fiscal_year_end: Option<String>,
    pub state_of_incorporation: Option<String>,
    /// Other identifiers the record names, as `(kind, value)`: `("siret", …)`, `("vat", …)`,
    /// `("lei", …)`, `("siren", …)`, `("ticker", …)`, `("ein", …)`, `("ra:RA000754", …)`.
    pub linked_ids: Vec<(String, String)>,
    /// The record's own JSON, as received (re-serialised; EDGAR without `filings`).
    pub raw: String,
}

impl Firmographics {
    /// A record with an identifier, a name and its raw JSON, everything else empty.
    pub fn new(
        registry: Registry,
        registry_id: impl Into<String>,
        legal_name: impl Into<String>,
        raw: impl Into<String>,
    ) -> Self {
        Firmographics {
            registry,
            registry_id: registry_id.into(),
            legal_name: legal_name.into(),
            other_names: Vec::new(),
            status: None,
            industry_scheme: None,
            industry_code: None,
            industry_label: None,
            nace_section: None,
            nace_division: None,
            sic_division: None,
            sector: None,
            headcount_band: None,
            headcount_min: None,
            headcount_max: None,
            created: None,
            ceased: None,
            legal_form: None,
            legal_form_label: None,
            category: None,
            address: None,
            postcode: None,
            city: None,
            region: None,
            country: None,
            latitude: None,
            longitude: None,
            establishments: None,
            revenue: None,
            net_income: None,
            financial_year: None,
            fiscal_year_end: None,
            state_of_incorporation: None,
            linked_ids: Vec::new(),
            raw: raw.into(),
        }
    }

    /// Adds `name` to `other_names` unless it is blank, the legal name or already there.
    pub fn push_other_name(&mut self, name: &str) {
        let name = name.trim();
        if name.is_empty() || name == self.legal_name || self.other_names.iter().any(|n| n == name)
        {
            return;
        }
        self.other_names.push(name.to_string());
    }

    /// Adds `(kind, value)` to `linked_ids` unless the value is blank or the pair is there.
    pub fn push_linked_id(&mut self, kind: &str, value: &str) {
        let value = value.trim();
        if value.is_empty() || self.linked_ids.iter().any(|(k, v)| k == kind && v == value) {
            return;
        }
        self.linked_ids.push((kind.to_string(), value.to_string()));
    }

    /// Sets the NACE section and the sector label that goes with it.
    pub(crate) fn set_nace_section(&mut self, section: Option<char>) {
        self.nace_section = section;
        self.sector = section.and_then(super::codes::section_label);
    }
}

// ---------------------------------------------------------------------------------------------
// JSON helpers shared by the registry parsers.

/// Parses a body, mapping the error to [`RegistryError::Json`].
pub(crate) fn parse_json(registry: Registry, body: &[u8]) -> Result<Value, RegistryError> {
    serde_json::from_slice(body).map_err(|source| RegistryError::Json { registry, source })
}

/// `v[k1][k2]…`, `None` when a step is missing or not an object.
pub(crate) fn at<'a>(v: &'a Value, path: &[&str]) -> Option<&'a Value> {
    path.iter()
        .try_fold(v, |cur, key| cur.as_object()?.get(*key))
}

/// Redaction markers some registries put in place of withheld values.
fn is_redacted(s: &str) -> bool {
    let u = s.trim();
    u.eq_ignore_ascii_case("[NON-DIFFUSIBLE]") || u.eq_ignore_ascii_case("NON-DIFFUSIBLE")
}

/// A trimmed, non-empty, non-redacted string value; numbers are written out as text.
pub(crate) fn text_of(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => {
            let t = s.trim();
            (!t.is_empty() && !is_redacted(t)).then(|| t.to_string())
        }
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// [`text_of`] at a path.
pub(crate) fn text(v: &Value, path: &[&str]) -> Option<String> {
    at(v, path).and_then(text_of)
}

/// Every string of an array at a path (non-strings and blanks skipped).
pub(crate) fn texts(v: &Value, path: &[&str]) -> Vec<String> {
    at(v, path)
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(text_of).collect())
        .unwrap_or_default()
}

/// A finite number, from a JSON number or a numeric string.
pub(crate) fn number_of(v: &Value) -> Option<f64> {
    let x = match v {
        Value::Number(n) => n.as_f64()?,
        Value::String(s) => s.trim().parse::<f64>().ok()?,
        _ => return None,
    };
    x.is_finite().then_some(x)
}

/// A non-negative integer that fits `u32`, from a JSON number or a digit string.
pub(crate) fn u32_of(v: &Value) -> Option<u32> {
    match v {
        Value::Number(n) => n.as_u64().and_then(|x| u32::try_from(x).ok()),
        Value::String(s) => s.trim().parse::<u32>().ok(),
        _ => None,
    }
}

/// The record itself as JSON text (the `raw` field). Serialising a `Value` cannot fail in
/// practice; an empty string stands in if it ever did.
pub(crate) fn raw_json(v: &Value) -> String {
    serde_json::to_string(v).unwrap_or_default()
}

/// An ISO date from a registry date or timestamp: `YYYY-MM-DD`, `YYYY-MM` and `YYYY` are kept
/// as given; `YYYY-MM-DDThh:mm:ss…` keeps its date part, except that a UTC (`Z`) time at or after
/// noon is read as the next day: registries that store local midnight in UTC write
/// `1899-12-31T23:00:00Z` for a French 1 January 1900. Anything else is `None`.
pub(crate) fn iso_date(s: &str) -> Option<String> {
    let s = s.trim();
    let b = s.as_bytes();
    let digits =
        |r: std::ops::Range<usize>| b.get(r).is_some_and(|x| x.iter().all(u8::is_ascii_digit));
    let ymd = |len: usize| -> bool {
        match len {
            4 => digits(0..4),
            7 => digits(0..4) && b.get(4) == Some(&b'-') && digits(5..7),
            10 => {
                digits(0..4)
                    && b.get(4) == Some(&b'-')
                    && digits(5..7)
                    && b.get(7) == Some(&b'-')
                    && digits(8..10)
            }
            _ => false,
        }
    };
    if matches!(b.len(), 4 | 7 | 10) {
        if !ymd(b.len()) {
            return None;
        }
        return valid_partial_date(s).then(|| s.to_string());
    }
    if b.len() > 10 && ymd(10) && matches!(b.get(10), Some(b'T') | Some(b' ')) {
        let date = s.get(..10)?;
        if !valid_partial_date(date) {
            return None;
        }
        let utc = s.ends_with('Z') || s.ends_with("+00:00");
        let hour: Option<u32> = s.get(11..13).and_then(|h| h.parse().ok());
        if utc && hour.is_some_and(|h| (12..24).contains(&h)) {
            return next_day(date);
        }
        return Some(date.to_string());
    }
    None
}

fn is_leap(y: i32) -> bool {
    (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
}

fn days_in_month(y: i32, m: u32) -> u32 {
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if is_leap(y) => 29,
        2 => 28,
        _ => 0,
    }
}

/// `YYYY`, `YYYY-MM` or `YYYY-MM-DD` with a real month and day.
fn valid_partial_date(s: &str) -> bool {
    let mut parts = s.split('-');
    let Some(y) = parts.next().and_then(|y| y.parse::<i32>().ok()) else {
        return false;
    };
    let Some(m) = parts.next() else {
        return true;
    };
    let Ok(m) = m.parse::<u32>() else {
        return false;
    };
    if !(1..=12).contains(&m) {
        return false;
    }
    let Some(d) = parts.next() else {
        return true;
    };
    d.parse::<u32>()
        .is_ok_and(|d| d >= 1 && d <= days_in_month(y, m))
}

fn next_day(date: &str) -> Option<String> {
    let y: i32 = date.get(0..4)?.parse().ok()?;
    let m: u32 = date.get(5..7)?.parse().ok()?;
    let d: u32 = date.get(8..10)?.parse().ok()?;
    let (y, m, d) = if d < days_in_month(y, m) {
        (y, m, d + 1)
    } else if m < 12 {
        (y, m + 1, 1)
    } else {
        (y + 1, 1, 1)
    };
    Some(format!("{y:04}-{m:02}-{d:02}"))
}

/// Percent-encodes a URL query value or path segment: RFC 3986 unreserved characters
/// (`A-Z a-z 0-9 - . _ ~`) are kept, every other byte of the UTF-8 text becomes `%XX`.
pub(crate) fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for &b in s.as_bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push('%');
            out.push(char::from(HEX[usize::from(b >> 4)]));
            out.push(char::from(HEX[usize::from(b & 0x0f)]));
        }
    }
    out
}

const HEX: &[u8; 16] = b"0123456789ABCDEF";

/// `base` without trailing slashes, so `{base}/path` never doubles them.
pub(crate) fn trim_base(base: &str) -> &str {
    base.trim().trim_end_matches('/')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registry_names_round_trip() {
        for r in Registry::ALL {
            assert_eq!(Registry::parse(r.as_str()), Some(r));
            assert_eq!(r.to_string(), r.as_str());
        }
        assert_eq!(Registry::parse(" SEC_EDGAR "), Some(Registry::SecEdgar));
        assert_eq!(Registry::parse("edgar"), None);
        assert_eq!(Status::Active.as_str(), "active");
        assert_eq!(Status::Ceased.as_str(), "ceased");
    }

    #[test]
    fn new_record_is_empty_but_for_its_identity() {
        let mut r = Firmographics::new(Registry::Gleif, "X", "ACME", "{}");
        assert_eq!(r.registry_id, "X");
        assert!(r.other_names.is_empty() && r.linked_ids.is_empty());
        assert_eq!(r.status, None);
        r.push_other_name("ACME");
        r.push_other_name("  ");
        r.push_other_name("Acme Corp");
        r.push_other_name("Acme Corp");
        assert_eq!(r.other_names, ["Acme Corp"]);
        r.push_linked_id("lei", "L");
        r.push_linked_id("lei", "L");
        r.push_linked_id("lei", "");
        assert_eq!(r.linked_ids.len(), 1);
    }

    #[test]
    fn errors_name_their_registry() {
        let e = parse_json(Registry::Sirene, b"{not json").unwrap_err();
        assert_eq!(e.registry(), Registry::Sirene);
        assert!(e
            .to_string()
            .starts_with("sirene: response is not valid JSON"));
        let e = RegistryError::shape(Registry::Gleif, "no `data`");
        assert_eq!(e.to_string(), "gleif: unexpected response shape: no `data`");
    }

    #[test]
    fn dates() {
        assert_eq!(iso_date("1955-01-01").as_deref(), Some("1955-01-01"));
        assert_eq!(iso_date("1964-12").as_deref(), Some("1964-12"));
        assert_eq!(iso_date("1964").as_deref(), Some("1964"));
        assert_eq!(
            iso_date("2019-03-27T00:00:00Z").as_deref(),
            Some("2019-03-27")
        );
        assert_eq!(
            iso_date("1899-12-31T23:00:00Z").as_deref(),
            Some("1900-01-01")
        );
        assert_eq!(
            iso_date("2024-02-28T22:00:00Z").as_deref(),
            Some("2024-02-29")
        );
        assert_eq!(
            iso_date("2023-02-28T22:00:00Z").as_deref(),
            Some("2023-03-01")
        );
        assert_eq!(
            iso_date("2003-10-15T00:00:00.000Z").as_deref(),
            Some("2003-10-15")
        );
        assert_eq!(
            iso_date("2010-05-01T23:00:00+02:00").as_deref(),
            Some("2010-05-01")
        );
        assert_eq!(
            iso_date("2024-07-06 07:17:31").as_deref(),
            Some("2024-07-06")
        );
        for bad in [
            "",
            "NN",
            "2024-13-01",
            "2023-02-29",
            "19550101",
            "2024-1-1",
            "[NON-DIFFUSIBLE]",
            "2024-06-3x",
        ] {
            assert_eq!(iso_date(bad), None, "{bad}");
        }
    }

    #[test]
    fn json_helpers_never_panic_on_odd_values() {
        let v: Value = serde_json::json!({
            "a": {"b": " x "}, "n": 12, "s": "[NON-DIFFUSIBLE]", "arr": ["p", 3, null, ""],
            "f": "48.5", "bad": "4 8", "neg": -1, "big": 5_000_000_000u64
        });
        assert_eq!(text(&v, &["a", "b"]).as_deref(), Some("x"));
        assert_eq!(text(&v, &["a", "b", "c"]), None);
        assert_eq!(text(&v, &["n"]).as_deref(), Some("12"));
        assert_eq!(text(&v, &["s"]), None);
        assert_eq!(texts(&v, &["arr"]), ["p", "3"]);
        assert_eq!(texts(&v, &["a"]), Vec::<String>::new());
        assert_eq!(at(&v, &["f"]).and_then(number_of), Some(48.5));
        assert_eq!(at(&v, &["bad"]).and_then(number_of), None);
        assert_eq!(at(&v, &["neg"]).and_then(u32_of), None);
        assert_eq!(at(&v, &["big"]).and_then(u32_of), None);
        assert_eq!(at(&v, &["n"]).and_then(u32_of), Some(12));
    }

    #[test]
    fn percent_encoding_keeps_only_unreserved() {
        assert_eq!(percent_encode("la poste"), "la%20poste");
        assert_eq!(percent_encode("a-b.c_d~e"), "a-b.c_d~e");
        assert_eq!(
            percent_encode("AT&T+co/é?=#"),
            "AT%26T%2Bco%2F%C3%A9%3F%3D%23"
        );
        assert_eq!(trim_base("https://x.test/api//"), "https://x.test/api");
    }
}
