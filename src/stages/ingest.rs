//! Ingest: the lead list (CSV or Parquet) → `leads` and `rejects`.
//!
//! Every data row ends in exactly one of the two tables. Rows are normalised (Unicode NFC,
//! trimmed names, canonical website and registrable domain, ISO country, identifiers checked
//! with their check digits) and deduplicated on `lead_id`, the first occurrence winning. The
//! unit of work is a batch of `ingest.batch_rows` input rows, written as one part of each table.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::Arc;

use anyhow::Context;
use arrow::array::{
    ArrayRef, ListBuilder, RecordBatch, StringBuilder, StringDictionaryBuilder, UInt64Builder,
};
use arrow::datatypes::Int32Type;
use unicode_normalization::UnicodeNormalization;

use super::{Stage, StageContext, StageOutcome};
use crate::config::{short_hash, ColumnMap, Config};
use crate::exit::UsageError;
use crate::input::{self, RawRow, RawTable};
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
        _ => None,
    }
}

fn header_key(h: &str) -> String {
    h.trim().to_lowercase().replace(['_', '-'], " ")
}

/// Where each lead field is in the input: field name → column index.
#[derive(Debug, Default)]
pub struct Columns(HashMap<&'static str, usize>);

impl Columns {
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
    file: &Path,
) -> Result<Columns, UsageError> {
    let keys: Vec<String> = headers.iter().map(|h| header_key(h)).collect();
    let found = || {
        headers
            .iter()
            .map(|h| format!("{h:?}"))
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
    if !cols.0.contains_key("name") && explicit(map, "name").is_none() {
        problems.push(format!(
            "ingest.columns.name: no company-name column in {}; set ingest.columns.name to one of the columns found: {}",
            file.display(),
            found()
        ));
    }
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

/// Normalises every row, in input order, deduplicating on `lead_id`.
pub fn normalise(
    table: &RawTable,
    cols: &Columns,
    cfg: &crate::config::IngestSection,
) -> Vec<Result<Lead, Reject>> {
    let won: Vec<String> = cfg
        .status
        .won
        .iter()
        .map(|s| s.trim().to_lowercase())
        .collect();
    let lost: Vec<String> = cfg
        .status
        .lost
        .iter()
        .map(|s| s.trim().to_lowercase())
        .collect();
    let header_of = |field: &str| cols.0.get(field).map(|&i| table.headers[i].clone());
    let mut seen: HashMap<String, u64> = HashMap::new();
    let width = table.headers.len();
    table
        .rows
        .iter()
        .map(|row| {
            let reject = |column: Option<String>, reason: String| Reject {
                source_line: row.line,
                column,
                reason,
                raw: row.fields.clone(),
            };
            let extra_nonempty = row.fields.iter().skip(width).any(|f| !f.trim().is_empty());
            if row.fields.len() < width || extra_nonempty {
                return Err(reject(
                    None,
                    format!(
                        "expected {width} fields, found {} (a stray quote or delimiter?)",
                        row.fields.len()
                    ),
                ));
            }
            let mut lead = Lead {
                source_line: row.line,
                ..Lead::default()
            };
            lead.name = cols.get("name", row).map(clean_name).unwrap_or_default();
            if lead.name.is_empty() {
                return Err(reject(header_of("name"), "empty company name".into()));
            }
            if let Some(w) = cols.get("website", row) {
                match crawler::parse_website(w) {
                    Ok(url) => {
                        lead.host = url.host_str().map(str::to_string);
                        lead.domain = lead.host.as_deref().and_then(crawler::registrable_domain);
                        lead.website = Some(url.to_string());
                    }
                    Err(e) => {
                        return Err(reject(
                            header_of("website"),
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
                                header_of(field),
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
                            header_of("siret"),
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
                Some(s) if won.contains(&s) => "won",
                Some(s) if lost.contains(&s) => "lost",
                _ => "open",
            };
            lead.description = cols.get("description", row).map(clean_text);
            lead.notes = cols.get("notes", row).map(clean_text);
            lead.external_id = cols.get("id", row).map(clean_text);
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
            if let Some(first) = seen.get(&lead.lead_id) {
                return Err(reject(
                    None,
                    format!("duplicate of line {first} (same lead_id {})", lead.lead_id),
                ));
            }
            seen.insert(lead.lead_id.clone(), row.line);
            Ok(lead)
        })
        .collect()
}

fn leads_batch(leads: &[&Lead]) -> anyhow::Result<RecordBatch> {
    fn strings<'a>(it: impl Iterator<Item = Option<&'a str>>) -> ArrayRef {
        let mut b = StringBuilder::new();
        for v in it {
            b.append_option(v);
        }
        Arc::new(b.finish())
    }
    let mut lines = UInt64Builder::new();
    let mut status = StringDictionaryBuilder::<Int32Type>::new();
    for l in leads {
        lines.append_value(l.source_line);
        status.append_value(l.status);
    }
    let cols: Vec<ArrayRef> = vec![
        strings(leads.iter().map(|l| Some(l.lead_id.as_str()))),
        Arc::new(lines.finish()),
        strings(leads.iter().map(|l| l.external_id.as_deref())),
        strings(leads.iter().map(|l| Some(l.name.as_str()))),
        strings(leads.iter().map(|l| l.website.as_deref())),
        strings(leads.iter().map(|l| l.host.as_deref())),
        strings(leads.iter().map(|l| l.domain.as_deref())),
        strings(leads.iter().map(|l| l.country.as_deref())),
        strings(leads.iter().map(|l| l.country_raw.as_deref())),
        Arc::new(status.finish()),
        strings(leads.iter().map(|l| l.status_raw.as_deref())),
        strings(leads.iter().map(|l| l.siren.as_deref())),
        strings(leads.iter().map(|l| l.siret.as_deref())),
        strings(leads.iter().map(|l| l.cik.as_deref())),
        strings(leads.iter().map(|l| l.lei.as_deref())),
        strings(leads.iter().map(|l| l.company_number.as_deref())),
        strings(leads.iter().map(|l| l.description.as_deref())),
        strings(leads.iter().map(|l| l.notes.as_deref())),
    ];
    Ok(RecordBatch::try_new(LEADS.arrow_schema(), cols)?)
}

fn rejects_batch(rejects: &[&Reject]) -> anyhow::Result<RecordBatch> {
    let mut line = UInt64Builder::new();
    let mut column = StringBuilder::new();
    let mut reason = StringBuilder::new();
    let mut raw = ListBuilder::new(StringBuilder::new());
    for r in rejects {
        line.append_value(r.source_line);
        column.append_option(r.column.as_deref());
        reason.append_value(&r.reason);
        for f in &r.raw {
            raw.values().append_value(f);
        }
        raw.append(true);
    }
    let cols: Vec<ArrayRef> = vec![
        Arc::new(line.finish()),
        Arc::new(column.finish()),
        Arc::new(reason.finish()),
        Arc::new(raw.finish()),
    ];
    Ok(RecordBatch::try_new(REJECTS.arrow_schema(), cols)?)
}

fn input_path(config: &Config) -> anyhow::Result<&Path> {
    config
        .ingest
        .input
        .as_deref()
        .ok_or_else(|| UsageError("ingest.input: required".into()).into())
}

/// Reads the input and checks its columns: what `validate` does for this stage.
pub fn check_input(config: &Config) -> anyhow::Result<(RawTable, Columns)> {
    let path = input_path(config)?;
    let i = &config.ingest;
    let table = input::read(path, i.format, &i.encoding, &i.delimiter)?;
    let cols = resolve_columns(&table.headers, &i.columns, path)?;
    Ok((table, cols))
}

impl Stage for IngestStage {
    fn name(&self) -> &'static str {
        "ingest"
    }

    fn about(&self) -> &'static str {
        "read the lead list (CSV/Parquet) into `leads`, invalid rows into `rejects`"
    }

    fn after(&self) -> &'static [&'static str] {
        &[]
    }

    fn tables(&self) -> &'static [&'static TableDef] {
        &[&LEADS, &REJECTS]
    }

    fn fingerprint(&self, config: &Config) -> anyhow::Result<String> {
        let path = input_path(config)?;
        let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
        Ok(format!(
            "input={} ingest={}",
            short_hash(&bytes),
            config.fingerprint("ingest")
        ))
    }

    fn run(&self, ctx: &StageContext<'_>) -> anyhow::Result<StageOutcome> {
        let (table, cols) = check_input(ctx.config)?;
        tracing::info!(
            rows = table.rows.len(),
            encoding = %table.encoding,
            delimiter = ?table.delimiter,
            blank = table.blank_rows,
            "read {}",
            input_path(ctx.config)?.display()
        );
        let outcomes = normalise(&table, &cols, &ctx.config.ingest);
        let per = ctx.config.ingest.batch_rows;
        let n_units = outcomes.len().div_ceil(per).max(1);
        ctx.store.set_units_total(ctx.stage, n_units as u64)?;
        ctx.progress.set_total(n_units as u64);
        let finished = ctx.store.finished_units(ctx.stage)?;
        let meta = vec![(
            "leadcrawl.input_encoding".to_string(),
            table.encoding.clone(),
        )];
        for k in 0..n_units {
            let unit = format!("rows-{k:05}");
            if finished.contains(&unit) {
                ctx.progress.inc(1, "already done");
                continue;
            }
            if ctx.should_stop() {
                return Ok(StageOutcome::Interrupted);
            }
            let chunk =
                &outcomes[(k * per).min(outcomes.len())..((k + 1) * per).min(outcomes.len())];
            let leads: Vec<&Lead> = chunk.iter().filter_map(|o| o.as_ref().ok()).collect();
            let rejects: Vec<&Reject> = chunk.iter().filter_map(|o| o.as_ref().err()).collect();
            let mut counters = BTreeMap::new();
            counters.insert("rows".to_string(), chunk.len() as u64);
            counters.insert("leads".to_string(), leads.len() as u64);
            counters.insert("rejects".to_string(), rejects.len() as u64);
            if k == 0 {
                counters.insert("blank_rows".to_string(), table.blank_rows);
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
