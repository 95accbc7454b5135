//! Ingest: the lead list (CSV or Parquet) → `leads` and `rejects`.
//!
//! Every data row ends in exactly one of the two tables. Rows are normalised (Unicode NFC,
//! trimmed names, canonical website and registrable domain, ISO country, identifiers checked
//! with their check digits) and deduplicated on `lead_id`, the first occurrence winning. The
//! unit of work is a batch of `ingest.batch_rows` input rows, written as one part of each table.
//! The input is streamed (see `input`): memory holds one batch and the duplicate index, whatever
//! the size of the lead list.

mod rows;
use rows::*;

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use anyhow::Context;
use sha2::{Digest, Sha256};
use unicode_normalization::UnicodeNormalization;

use super::{Read, Stage, StageContext, StageOutcome};
use crate::config::{short_hash, AttributeMap, ColumnMap, Config};
use crate::exit::UsageError;
use crate::input::{LeadReader, Malformed, RawRow, Record};
use crate::schema::{TableDef, LEADS, REJECTS};
use crate::state::UnitOutcome;

pub struct IngestStage;

/// A lead field and the input columns it is looked for under when not mapped explicitly.
const FIELDS: &[(&str, &[&str])] = &[
    (
        "id",
        &["id", "lead id", "account id", "record id", "crm id"],
    ),
    (
        "name",
        &[
            "name",
            "company",
            "company name",
            "account",
            "account name",
            "organization",
            "organisation",
            "société",
            "societe",
            "raison sociale",
            "entreprise",
            "nom",
        ],
    ),
    (
        "website",
        &[
            "website",
            "url",
            "site",
            "web",
            "domain",
            "site web",
            "site internet",
            "homepage",
        ],
    ),
    ("country", &["country", "pays", "country code"]),
    (
        "status",
        &[
            "status",
            "stage",
            "deal stage",
            "outcome",
            "result",
            "statut",
        ],
    ),
    ("siren", &["siren"]),
    ("siret", &["siret"]),
    ("cik", &["cik"]),
    ("lei", &["lei"]),
    (
        "company_number",
        &["company number", "companies house number", "crn"],
    ),
    (
        "description",
        &["description", "about", "activity", "activité"],
    ),
    (
        "notes",
        &[
            "notes",
            "note",
            "comments",
            "comment",
            "commentaire",
            "commentaires",
        ],
    ),
    // Only when named in `ingest.columns.date`: a date column is as often an attribute.
    ("date", &[]),
];

fn explicit(map: &ColumnMap, field: &str) -> Option<String> {
    match field {
        "id" => map.id.clone(),
        "name" => map.name.clone(),
        "website" => map.website.clone(),
        "country" => map.country.clone(),
        "status" => map.status.clone(),
        "siren" => map.siren.clone(),
        "siret" => map.siret.clone(),
        "cik" => map.cik.clone(),
        "lei" => map.lei.clone(),
        "company_number" => map.company_number.clone(),
        "description" => map.description.clone(),
        "notes" => map.notes.clone(),
        "date" => map.date.clone(),
        _ => None,
    }
}

fn header_key(h: &str) -> String {
    h.trim().to_lowercase().replace(['_', '-'], " ")
}

/// Where each lead field is in the input: field name → column index; and the columns kept as
/// the lead's attributes (header, index), in input order.
#[derive(Debug, Default)]
pub struct Columns(HashMap<&'static str, usize>, Vec<(String, usize)>);

impl Columns {
    /// The input columns kept as attributes, by header.
    pub fn attributes(&self) -> impl Iterator<Item = &str> {
        self.1.iter().map(|(h, _)| h.as_str())
    }

    fn get<'r>(&self, field: &str, row: &'r RawRow) -> Option<&'r str> {
        let v = row.fields.get(*self.0.get(field)?)?.trim();
        if is_null_token(v) {
            None
        } else {
            Some(v)
        }
    }
}

fn is_null_token(v: &str) -> bool {
    v.is_empty()
        || matches!(
            v.to_lowercase().as_str(),
            "-" | "--" | "n/a" | "na" | "#n/a" | "none" | "null" | "nan" | "nil"
        )
}

/// Maps lead fields to input columns. An explicitly mapped column that is missing, or no column
/// for the company name, is a config error naming the key and listing the columns found.
pub fn resolve_columns(
    headers: &[String],
    map: &ColumnMap,
    attributes: &AttributeMap,
    file: &Path,
) -> Result<Columns, UsageError> {
    let keys: Vec<String> = headers.iter().map(|h| header_key(h)).collect();
    // A binary file read as text has headers of any length: each is shown up to 60 characters.
    let found = || {
        headers
            .iter()
            .map(|h| match h.char_indices().nth(60) {
                Some((cut, _)) => format!("{:?}…", &h[..cut]),
                None => format!("{h:?}"),
            })
            .collect::<Vec<_>>()
            .join(", ")
    };
    let mut cols = Columns::default();
    let mut problems = Vec::new();
    for (field, aliases) in FIELDS {
        match explicit(map, field) {
            Some(col) => match keys.iter().position(|k| *k == header_key(&col)) {
                Some(i) => {
                    cols.0.insert(field, i);
                }
                None => problems.push(format!(
                    "ingest.columns.{field}: column {col:?} not found in {}; columns found: {}",
                    file.display(),
                    found()
                )),
            },
            None => {
                if let Some(i) = aliases
                    .iter()
                    .find_map(|a| keys.iter().position(|k| k == a))
                {
                    cols.0.insert(field, i);
                }
            }
        }
    }
    // A list of person-level or anonymised leads has an id and no name: such leads are
    // modelled on their attributes, without name matching or crawling.
    if !cols.0.contains_key("name") && !cols.0.contains_key("id") && explicit(map, "name").is_none()
    {
        problems.push(format!(
            "ingest.columns.name: no company-name column in {}; set ingest.columns.name (or ingest.columns.id, for leads without a name) to one of the columns found: {}",
            file.display(),
            found()
        ));
    }
    for (key, listed) in [
        ("include", &attributes.include),
        ("exclude", &attributes.exclude),
    ] {
        for col in listed {
            if !keys.contains(&header_key(col)) {
                problems.push(format!(
                    "ingest.attributes.{key}: column {col:?} not found in {}; columns found: {}",
                    file.display(),
                    found()
                ));
            }
        }
    }
    for col in attributes.types.keys() {
        if !keys.contains(&header_key(col)) {
            problems.push(format!(
                "ingest.attributes.types: column {col:?} not found in {}; columns found: {}",
                file.display(),
                found()
            ));
        }
    }
    let listed = |xs: &[String], k: &str| xs.iter().any(|x| header_key(x) == k);
    let mapped: Vec<usize> = cols.0.values().copied().collect();
    cols.1 = keys
        .iter()
        .enumerate()
        .filter(|(i, k)| {
            !mapped.contains(i)
                && !k.is_empty()
                && (attributes.include.is_empty() || listed(&attributes.include, k))
                && !listed(&attributes.exclude, k)
        })
        .map(|(i, _)| (headers[i].trim().to_owned(), i))
        .collect();
    if problems.is_empty() {
        Ok(cols)
    } else {
        Err(UsageError(problems.join("\n")))
    }
}

/// ISO 3166-1 alpha-2 code of a country as CRMs write it (codes, English and French names).
pub fn country_code(raw: &str) -> Option<&'static str> {
    const NAMES: &[(&str, &[&str])] = &[
        ("FR", &["fr", "fra", "france"]),
        (
            "US",
            &[
                "us",
                "usa",
                "united states",
                "united states of america",
                "etats unis",
                "états unis",
                "u.s.",
                "u.s.a.",
            ],
        ),
        (
            "GB",
            &[
                "gb",
                "uk",
                "gbr",
                "united kingdom",
                "great britain",
                "england",
                "scotland",
                "wales",
                "royaume uni",
            ],
        ),
        ("DE", &["de", "deu", "germany", "allemagne", "deutschland"]),
        ("BE", &["be", "bel", "belgium", "belgique"]),
        (
            "NL",
            &[
                "nl",
                "nld",
                "netherlands",
                "the netherlands",
                "pays bas",
                "holland",
            ],
        ),
        ("IE", &["ie", "irl", "ireland", "irlande"]),
        ("CA", &["ca", "can", "canada"]),
        ("ES", &["es", "esp", "spain", "espagne"]),
        ("IT", &["it", "ita", "italy", "italie"]),
        ("CH", &["ch", "che", "switzerland", "suisse"]),
        ("LU", &["lu", "lux", "luxembourg"]),
        ("PT", &["pt", "prt", "portugal"]),
        ("AT", &["at", "aut", "austria", "autriche"]),
        ("SE", &["se", "swe", "sweden", "suède", "suede"]),
        ("DK", &["dk", "dnk", "denmark", "danemark"]),
        ("NO", &["no", "nor", "norway", "norvège", "norvege"]),
        ("FI", &["fi", "fin", "finland", "finlande"]),
        ("PL", &["pl", "pol", "poland", "pologne"]),
        ("AU", &["au", "aus", "australia", "australie"]),
        ("JP", &["jp", "jpn", "japan", "japon"]),
        ("CN", &["cn", "chn", "china", "chine"]),
        ("IN", &["in", "ind", "india", "inde"]),
        ("BR", &["br", "bra", "brazil", "brésil", "bresil"]),
        ("MX", &["mx", "mex", "mexico", "mexique"]),
        ("MA", &["ma", "mar", "morocco", "maroc"]),
        ("TN", &["tn", "tun", "tunisia", "tunisie"]),
        ("SG", &["sg", "sgp", "singapore", "singapour"]),
        ("IL", &["il", "isr", "israel", "israël"]),
    ];
    let k = raw.trim().to_lowercase().replace(['-', '_'], " ");
    NAMES
        .iter()
        .find(|(_, names)| names.contains(&k.as_str()))
        .map(|(c, _)| *c)
}

/// A normalised lead, before it becomes an Arrow row.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Lead {
    pub lead_id: String,
    pub source_line: u64,
    pub external_id: Option<String>,
    pub name: String,
    pub website: Option<String>,
    pub host: Option<String>,
    pub domain: Option<String>,
    pub country: Option<String>,
    pub country_raw: Option<String>,
    pub status: &'static str,
    pub status_raw: Option<String>,
    pub siren: Option<String>,
    pub siret: Option<String>,
    pub cik: Option<String>,
    pub lei: Option<String>,
    pub company_number: Option<String>,
    pub description: Option<String>,
    pub notes: Option<String>,
    /// Days since 1970-01-01 of the mapped `date` column.
    pub lead_date: Option<i32>,
    /// The unmapped columns' values as written (a JSON object; empty values left out).
    pub attributes: Option<String>,
}

/// A row that was not accepted.
#[derive(Debug, Clone, PartialEq)]
pub struct Reject {
    pub source_line: u64,
    pub column: Option<String>,
    pub reason: String,
    pub raw: Vec<String>,
}

fn clean_text(s: &str) -> String {
    s.nfc().collect::<String>().trim().to_string()
}

fn clean_name(s: &str) -> String {
    s.nfc()
        .collect::<String>()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// Turns records into leads or rejects, in input order, deduplicating on `lead_id`. It holds
/// one 8-byte key and a line number per lead seen, never the rows, so memory stays small
/// whatever the size of the input.
pub struct Normaliser<'a> {
    headers: Vec<String>,
    cols: &'a Columns,
    won: Vec<String>,
    lost: Vec<String>,
    seen: HashMap<u64, u64>,
}

impl<'a> Normaliser<'a> {
    pub fn new(
        headers: &[String],
        cols: &'a Columns,
        cfg: &crate::config::IngestSection,
    ) -> Normaliser<'a> {
        let lower =
            |xs: &[String]| -> Vec<String> { xs.iter().map(|s| s.trim().to_lowercase()).collect() };
        Normaliser {
            headers: headers.to_vec(),
            cols,
            won: lower(&cfg.status.won),
            lost: lower(&cfg.status.lost),
            seen: HashMap::new(),
        }
    }

    pub fn record(&mut self, record: Record) -> Result<Lead, Reject> {
        match record {
            Record::Row(row) => self.row(&row),
            Record::Malformed(m) => Err(Reject {
                source_line: m.line,
                column: None,
                reason: m.reason,
                raw: m.fields,
            }),
        }
    }

    fn header_of(&self, field: &str) -> Option<String> {
        self.cols.0.get(field).map(|&i| self.headers[i].clone())
    }

    pub fn row(&mut self, row: &RawRow) -> Result<Lead, Reject> {
        let cols = self.cols;
        let reject = |column: Option<String>, reason: String| Reject {
            source_line: row.line,
            column,
            reason,
            raw: row.fields.clone(),
        };
        let width = self.headers.len();
        let extra_nonempty = row.fields.iter().skip(width).any(|f| !f.trim().is_empty());
        if row.fields.len() < width || extra_nonempty {
            let lines = if row.end_line > row.line {
                format!(" on lines {}–{}", row.line, row.end_line)
            } else {
                String::new()
            };
            return Err(reject(
                None,
                format!(
                    "expected {width} fields, found {}{lines} (a stray quote or delimiter?)",
                    row.fields.len()
                ),
            ));
        }
        let mut lead = Lead {
            source_line: row.line,
            ..Lead::default()
        };
        lead.name = cols.get("name", row).map(clean_name).unwrap_or_default();
        if lead.name.is_empty() && cols.get("id", row).is_none() {
            return Err(reject(
                self.header_of("name"),
                "empty company name (and no id)".into(),
            ));
        }
        if let Some(w) = cols.get("website", row) {
            match website(w) {
                Ok(url) => {
                    lead.host = url.host_str().map(str::to_string);
                    lead.domain = lead.host.as_deref().and_then(crawler::registrable_domain);
                    lead.website = Some(url.to_string());
                }
                Err(e) => {
                    return Err(reject(
                        self.header_of("website"),
                        format!("invalid website: {e}"),
                    ))
                }
            }
        }
        type Norm = fn(&str) -> Result<String, enrich::IdError>;
        let ids: [(&str, Norm); 5] = [
            ("siren", enrich::normalize_siren),
            ("siret", enrich::normalize_siret),
            ("cik", enrich::normalize_cik),
            ("lei", enrich::normalize_lei),
            ("company_number", enrich::normalize_uk_company_number),
        ];
        let mut values: HashMap<&str, String> = HashMap::new();
        for (field, norm) in ids {
            if let Some(v) = cols.get(field, row) {
                match norm(v) {
                    Ok(id) => {
                        values.insert(field, id);
                    }
                    Err(e) => {
                        return Err(reject(
                            self.header_of(field),
                            format!("invalid {}: {e}", field.replace('_', " ")),
                        ))
                    }
                }
            }
        }
        lead.siret = values.remove("siret");
        lead.siren = values.remove("siren");
        if let Some(siret) = &lead.siret {
            match &lead.siren {
                None => lead.siren = Some(siret[..9].to_string()),
                Some(siren) if siren != &siret[..9] => {
                    return Err(reject(
                        self.header_of("siret"),
                        format!("SIRET {siret} does not belong to SIREN {siren}"),
                    ))
                }
                Some(_) => {}
            }
        }
        lead.cik = values.remove("cik");
        lead.lei = values.remove("lei");
        lead.company_number = values.remove("company_number");
        lead.country_raw = cols.get("country", row).map(clean_text);
        lead.country = lead
            .country_raw
            .as_deref()
            .and_then(country_code)
            .map(str::to_string);
        lead.status_raw = cols.get("status", row).map(clean_text);
        lead.status = match lead.status_raw.as_deref().map(str::to_lowercase) {
            Some(s) if self.won.contains(&s) => "won",
            Some(s) if self.lost.contains(&s) => "lost",
            _ => "open",
        };
        lead.description = cols.get("description", row).map(clean_text);
        lead.notes = cols.get("notes", row).map(clean_text);
        if let Some(v) = cols.get("date", row) {
            let v = v.trim();
            if !v.is_empty() {
                match crate::stages::features::attributes::date_or_serial(v) {
                    Some(d) => lead.lead_date = Some(d),
                    None => {
                        return Err(reject(
                            self.header_of("date"),
                            format!("invalid date: {v:?} (expected YYYY-MM-DD, DD/MM/YYYY, DD.MM.YYYY or a spreadsheet serial day)"),
                        ))
                    }
                }
            }
        }
        lead.external_id = cols.get("id", row).map(clean_text);
        let attrs: serde_json::Map<String, serde_json::Value> = cols
            .1
            .iter()
            .filter_map(|(h, i)| {
                let v = clean_text(row.fields.get(*i)?);
                (!v.is_empty()).then(|| (h.clone(), serde_json::Value::String(v)))
            })
            .collect();
        lead.attributes = (!attrs.is_empty()).then(|| serde_json::Value::Object(attrs).to_string());
        lead.lead_id = match &lead.external_id {
            Some(id) => short_hash(format!("id\u{1f}{id}").as_bytes()),
            None => {
                let key = [
                    lead.name.to_lowercase(),
                    lead.domain.clone().unwrap_or_default(),
                    lead.country
                        .clone()
                        .or(lead.country_raw.clone())
                        .unwrap_or_default(),
                    lead.siren.clone().unwrap_or_default(),
                    lead.cik.clone().unwrap_or_default(),
                    lead.lei.clone().unwrap_or_default(),
                    lead.company_number.clone().unwrap_or_default(),
                ]
                .join("\u{1f}");
                short_hash(key.as_bytes())
            }
        };
        // `short_hash` is 16 hex digits: the same 8 bytes as a number key the map cheaply.
        let key = u64::from_str_radix(&lead.lead_id, 16).unwrap_or_default();
        if let Some(first) = self.seen.get(&key) {
            return Err(reject(
                None,
                format!("duplicate of line {first} (same lead_id {})", lead.lead_id),
            ));
        }
        self.seen.insert(key, row.line);
        Ok(lead)
    }
}

/// A lead's website, checked beyond what parses as a URL: a CRM's website column also holds
/// e-mail addresses, several sites, numbers and credentials, which the URL parser would turn
/// into a crawlable but wrong address (`1.5` → `https://1.0.0.5/`). Such values reject the row
/// with the reason, like any other invalid website, rather than becoming a lead without one.
pub fn website(raw: &str) -> Result<url::Url, String> {
    let s = raw.trim();
    if s.to_ascii_lowercase().starts_with("mailto:") {
        return Err(format!(
            "{s:?} is an e-mail address (mailto:), not a website"
        ));
    }
    let several = || {
        let sites: Vec<&str> = s
            .split(|c: char| c == ',' || c == ';' || c == '|' || c.is_whitespace())
            .filter(|p| !p.is_empty())
            .collect();
        (sites.len() > 1
            && sites
                .iter()
                .all(|p| p.contains('.') && crawler::parse_website(p).is_ok()))
        .then(|| format!("{s:?} holds {} websites; keep one per lead", sites.len()))
    };
    // `scheme:` without `//` (tel:, javascript:, …), but not `host:port` nor `user:pass@host`.
    if let Some((scheme, rest)) = s.split_once(':') {
        let port = rest.split('/').next().unwrap_or("");
        let is_port = !port.is_empty() && port.chars().all(|c| c.is_ascii_digit());
        if !rest.starts_with("//")
            && !is_port
            && !rest.contains('@')
            && !scheme.is_empty()
            && scheme
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '+' || c == '-')
        {
            return Err(format!("{s:?} is a {scheme}: address, not a website"));
        }
    }
    let url = match crawler::parse_website(s) {
        Ok(url) => url,
        Err(e) => return Err(several().unwrap_or_else(|| e.to_string())),
    };
    if url.password().is_some() {
        return Err(format!(
            "{s:?} holds a user name and password; give the site's address alone"
        ));
    }
    if !url.username().is_empty() {
        return Err(if s.contains("://") {
            format!("{s:?} holds a user name; give the site's address alone")
        } else {
            format!("{s:?} is an e-mail address, not a website")
        });
    }
    match url.host() {
        Some(url::Host::Domain(host)) => {
            let label_char =
                |c: char| c.is_ascii_alphanumeric() || c == '-' || c == '.' || c == '_';
            if !host.chars().all(label_char) {
                return Err(several().unwrap_or_else(|| format!("{host:?} is not a domain name")));
            }
            let tld = host.trim_end_matches('.').rsplit('.').next().unwrap_or("");
            if tld.chars().all(|c| c.is_ascii_digit()) {
                return Err(format!("{s:?} is a number, not a domain name"));
            }
        }
        // An address written out (a test server, an intranet site) is kept: the crawler's
        // address policy decides about it. A number that only parses as one is not.
        Some(url::Host::Ipv4(_)) => {
            let host = url.host_str().unwrap_or_default();
            let bare = s.rsplit("://").next().unwrap_or(s);
            let authority = bare.split(['/', '?', '#']).next().unwrap_or(bare);
            let written = match authority.rsplit_once(':') {
                Some((h, port)) if port.chars().all(|c| c.is_ascii_digit()) => h,
                _ => authority,
            };
            if written != host {
                return Err(format!(
                    "{s:?} is a number (read as the IP address {host}), not a domain name"
                ));
            }
        }
        Some(url::Host::Ipv6(_)) => {}
        None => {}
    }
    Ok(url)
}

fn input_path(config: &Config) -> anyhow::Result<&Path> {
    config
        .ingest
        .input
        .as_deref()
        .ok_or_else(|| UsageError("ingest.input: required".into()).into())
}

/// Opens the input, settles how it is read and maps its columns.
fn open_input(config: &Config) -> anyhow::Result<(LeadReader, Columns)> {
    let path = input_path(config)?;
    let i = &config.ingest;
    let reader = LeadReader::open(path, i.format, &i.encoding, &i.delimiter)?;
    let cols = resolve_columns(reader.headers(), &i.columns, &i.attributes, path)?;
    Ok((reader, cols))
}

/// What a pass over the whole input found, before any row is normalised.
#[derive(Debug, Clone, Default)]
pub struct InputSurvey {
    /// Data records (rows and unbalanced-quote stretches), each one lead or reject.
    pub records: u64,
    pub blank_rows: u64,
    /// Lines where an unbalanced quote was caught (each is rejected).
    pub unbalanced_quotes: Vec<u64>,
}

/// Reads every record once, keeping only counts: the unit total of a run, and what `validate`
/// reports. Streams like the run itself.
fn survey(reader: &mut LeadReader) -> anyhow::Result<InputSurvey> {
    let mut s = InputSurvey::default();
    while let Some(rec) = reader.next_record()? {
        s.records += 1;
        if let Record::Malformed(Malformed { line, .. }) = rec {
            s.unbalanced_quotes.push(line);
        }
    }
    s.blank_rows = reader.blank_rows();
    Ok(s)
}

/// Says, once per pass, what about the input deserves a look before the results do.
fn warn_about(path: &Path, reader: &LeadReader, survey: &InputSurvey) {
    let bad = reader.invalid_utf8();
    if bad.count > 0 {
        tracing::warn!(
            invalid_sequences = bad.count,
            "{}: read as UTF-8, but {} invalid byte sequence(s) were replaced by \u{fffd} on {}; \
             check those rows, or set ingest.encoding if the file is in another encoding",
            path.display(),
            bad.count,
            bad.describe_lines()
        );
    }
    if survey.records == 0 {
        tracing::warn!(
            "{}: the file has a header row but no data rows: ingest makes 0 leads",
            path.display()
        );
    }
    if let Some(first) = survey.unbalanced_quotes.first() {
        tracing::warn!(
            unbalanced_quotes = survey.unbalanced_quotes.len(),
            "{}: {} unbalanced quote(s), the first on line {first}: each record where one opens \
             goes to rejects and the lines after it are read as rows",
            path.display(),
            survey.unbalanced_quotes.len()
        );
    }
}

/// Reads the whole input, streaming, and checks its columns: what `validate` does for this stage.
pub fn check_input(config: &Config) -> anyhow::Result<InputSurvey> {
    let (mut reader, _) = open_input(config)?;
    let s = survey(&mut reader)?;
    warn_about(input_path(config)?, &reader, &s);
    Ok(s)
}

impl Stage for IngestStage {
    fn name(&self) -> &'static str {
        "ingest"
    }

    fn about(&self) -> &'static str {
        "read the lead list (CSV/Parquet) into `leads`, invalid rows into `rejects`"
    }

    fn reads(&self) -> &'static [Read] {
        &[]
    }

    fn tables(&self) -> &'static [&'static TableDef] {
        &[&LEADS, &REJECTS]
    }

    fn fingerprint(&self, config: &Config) -> anyhow::Result<String> {
        let path = input_path(config)?;
        // Streamed: the same digest as `short_hash` of the whole file, without holding it.
        let mut file =
            std::fs::File::open(path).with_context(|| format!("reading {}", path.display()))?;
        let mut digest = Sha256::new();
        std::io::copy(&mut file, &mut digest)
            .with_context(|| format!("reading {}", path.display()))?;
        let input: String = digest
            .finalize()
            .iter()
            .take(8)
            .map(|b| format!("{b:02x}"))
            .collect();
        Ok(format!(
            "input={input} ingest={}",
            config.fingerprint("ingest")
        ))
    }

    fn run(&self, ctx: &StageContext<'_>) -> anyhow::Result<StageOutcome> {
        let path = input_path(ctx.config)?;
        // Two streaming passes: the first counts the records (the unit total), the second
        // normalises and commits them a batch at a time. Finished batches are normalised again
        // on a resume, so that duplicates of their leads are still found later on.
        let (mut counting, cols) = open_input(ctx.config)?;
        let mut reader = counting.reopen()?;
        let survey = survey(&mut counting)?;
        drop(counting);
        warn_about(path, &reader, &survey);
        tracing::info!(
            rows = survey.records,
            encoding = %reader.encoding(),
            delimiter = ?reader.delimiter(),
            blank = survey.blank_rows,
            "read {}",
            path.display()
        );
        let mut normaliser = Normaliser::new(reader.headers(), &cols, &ctx.config.ingest);
        let per = ctx.config.ingest.batch_rows;
        let n_units = (survey.records as usize).div_ceil(per).max(1);
        ctx.store.set_units_total(ctx.stage, n_units as u64)?;
        ctx.progress.set_total(n_units as u64);
        let finished = ctx.store.finished_units(ctx.stage)?;
        let meta = vec![(
            "leadcrawl.input_encoding".to_string(),
            reader.encoding().to_string(),
        )];
        let mut chunk: Vec<Result<Lead, Reject>> = Vec::with_capacity(per.min(1 << 16));
        for k in 0..n_units {
            let unit = format!("rows-{k:05}");
            chunk.clear();
            while chunk.len() < per {
                match reader.next_record()? {
                    Some(rec) => chunk.push(normaliser.record(rec)),
                    None => break,
                }
            }
            if finished.contains(&unit) {
                ctx.progress.inc(1, "already done");
                continue;
            }
            if ctx.should_stop() {
                return Ok(StageOutcome::Interrupted);
            }
            let leads: Vec<&Lead> = chunk.iter().filter_map(|o| o.as_ref().ok()).collect();
            let rejects: Vec<&Reject> = chunk.iter().filter_map(|o| o.as_ref().err()).collect();
            let mut counters = BTreeMap::new();
            counters.insert("rows".to_string(), chunk.len() as u64);
            counters.insert("leads".to_string(), leads.len() as u64);
            counters.insert("rejects".to_string(), rejects.len() as u64);
            if k == 0 {
                counters.insert("blank_rows".to_string(), survey.blank_rows);
                counters.insert(
                    "invalid_utf8_sequences".to_string(),
                    reader.invalid_utf8().count,
                );
                counters.insert(
                    "unbalanced_quotes".to_string(),
                    survey.unbalanced_quotes.len() as u64,
                );
            }
            ctx.commit_parts(
                &format!("part-{k:05}.parquet"),
                &[
                    (&LEADS, vec![leads_batch(&leads)?]),
                    (&REJECTS, vec![rejects_batch(&rejects)?]),
                ],
                &meta,
                &[UnitOutcome::done(&unit)],
                &counters,
            )?;
            ctx.progress.inc(
                1,
                &format!("{} leads, {} rejects", leads.len(), rejects.len()),
            );
        }
        Ok(StageOutcome::Completed { units_failed: 0 })
    }
}
