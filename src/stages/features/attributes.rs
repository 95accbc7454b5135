//! The lead list's own columns (a CRM's lead source, company size, visits, dates…), typed.
//!
//! `ingest` keeps every unmapped input column as written (`leads.attributes`, a JSON object);
//! only here, with every lead in hand, can a column's type be decided: a column is a `boolean`
//! when its values are yes/no words (yes/no, true/false, 1/0, oui/non), a `number` when they
//! read as numbers (`1,234.5`, `1 234,5`, `12%` = 0.12, `€ 30`), a `date` when they read as
//! dates (ISO, `DD/MM/YYYY`, `DD.MM.YYYY`), else a `category`. At most 1 % of a column's values
//! may fail its type (they become missing, and are counted); `ingest.attributes.types` forces a
//! type (a forced `date` also reads spreadsheet serial day numbers). Placeholders (`Select`,
//! `N/A`, `-`, `null`, `unknown`…) are missing whatever the type.
//!
//! Each attribute becomes one `attr_<name>` column of `features.parquet` (`Float64`, `Boolean`,
//! `Date32` or `Utf8`), described in the file's `leadcrawl.attributes` metadata and in its own
//! field metadata (`leadcrawl.source`: the input header, `leadcrawl.type`).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use arrow::array::{Array, ArrayRef, BooleanArray, Date32Array, Float64Array, StringArray};
use arrow::datatypes::{DataType, Field};
use serde::Serialize;

/// What an attribute column holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    Boolean,
    Number,
    Date,
    Category,
}

impl Kind {
    fn parse(s: &str) -> Option<Kind> {
        Some(match s {
            "boolean" => Kind::Boolean,
            "number" => Kind::Number,
            "date" => Kind::Date,
            "category" => Kind::Category,
            _ => return None,
        })
    }
}

/// One attribute as written to `features.parquet` (and its metadata).
#[derive(Debug, Clone, Serialize)]
pub struct Attribute {
    /// The `features.parquet` column.
    pub column: String,
    /// The input column's header.
    pub source: String,
    #[serde(rename = "type")]
    pub kind: Kind,
    /// Whether the type was forced by `ingest.attributes.types`.
    pub forced: bool,
    /// Leads with a value.
    pub present: usize,
    /// Values that did not read as the type (left missing).
    pub unreadable: usize,
    /// Distinct values (categories) or `None`.
    pub levels: Option<usize>,
}

/// A value that means "not filled in" in CRM exports.
pub fn is_placeholder(v: &str) -> bool {
    let v = v.trim();
    v.is_empty()
        || matches!(
            v.to_lowercase().as_str(),
            "-" | "--"
                | "n/a"
                | "na"
                | "#n/a"
                | "none"
                | "null"
                | "nan"
                | "nil"
                | "select"
                | "unknown"
                | "not provided"
                | "not specified"
                | "inconnu"
                | "non renseigné"
        )
}

pub fn boolean(v: &str) -> Option<bool> {
    match v.trim().to_lowercase().as_str() {
        "yes" | "y" | "true" | "t" | "1" | "oui" | "vrai" => Some(true),
        "no" | "n" | "false" | "f" | "0" | "non" | "faux" => Some(false),
        _ => None,
    }
}

/// A number as CRMs write it: thousands separators (`,` `.` space, narrow no-break space), a
/// decimal comma, a percent sign (a fraction: `12%` = 0.12), a currency sign.
pub fn number(v: &str) -> Option<f64> {
    let mut s: String = v
        .trim()
        .chars()
        .filter(|c| !matches!(c, ' ' | '\u{a0}' | '\u{202f}' | '\''))
        .collect();
    s = s
        .trim_start_matches(['€', '$', '£'])
        .trim_end_matches(['€', '$', '£'])
        .to_owned();
    let percent = s.ends_with('%');
    if percent {
        s.pop();
    }
    if s.is_empty() {
        return None;
    }
    let (commas, dots) = (s.matches(',').count(), s.matches('.').count());
    let normalised = match (commas, dots) {
        (0, _) if dots <= 1 => s,
        (0, _) => s.replace('.', ""), // 1.234.567
        (_, 0) if commas > 1 => s.replace(',', ""),
        (1, 0) => {
            // `1,234` is a thousands separator only in that exact shape; else a decimal comma.
            let (int, frac) = s.split_once(',').expect("one comma");
            if frac.len() == 3 && !int.is_empty() && int.trim_start_matches('-').len() <= 3 {
                format!("{int}{frac}")
            } else {
                format!("{int}.{frac}")
            }
        }
        _ => {
            // Both: the last one is the decimal separator.
            if s.rfind(',') > s.rfind('.') {
                s.replace('.', "").replace(',', ".")
            } else {
                s.replace(',', "")
            }
        }
    };
    if !normalised
        .chars()
        .all(|c| c.is_ascii_digit() || matches!(c, '.' | '-' | '+' | 'e' | 'E'))
        || !normalised.chars().any(|c| c.is_ascii_digit())
    {
        return None;
    }
    let x: f64 = normalised.parse().ok()?;
    x.is_finite().then_some(if percent { x / 100.0 } else { x })
}

/// Days since 1970-01-01 of a date written `YYYY-MM-DD` (a time after it ignored),
/// `DD/MM/YYYY` or `DD.MM.YYYY`.
pub fn date(v: &str) -> Option<i32> {
    let v = v.trim();
    let head = v.split(['T', ' ']).next().unwrap_or(v);
    let d = chrono::NaiveDate::parse_from_str(head, "%Y-%m-%d")
        .or_else(|_| chrono::NaiveDate::parse_from_str(head, "%d/%m/%Y"))
        .or_else(|_| chrono::NaiveDate::parse_from_str(head, "%d.%m.%Y"))
        .ok()?;
    days(d)
}

/// [`date`], or a spreadsheet serial day number (for a column the user named as a date).
pub fn date_or_serial(v: &str) -> Option<i32> {
    date(v).or_else(|| serial_date(v))
}

fn days(d: chrono::NaiveDate) -> Option<i32> {
    let epoch = chrono::NaiveDate::from_ymd_opt(1970, 1, 1)?;
    i32::try_from((d - epoch).num_days()).ok()
}

/// A spreadsheet serial day number (days since 1899-12-30) between 1954 and 2119.
fn serial_date(v: &str) -> Option<i32> {
    let x = number(v)?;
    if !(20_000.0..80_000.0).contains(&x) {
        return None;
    }
    let base = chrono::NaiveDate::from_ymd_opt(1899, 12, 30)?;
    days(base + chrono::Duration::days(x.floor() as i64))
}

fn reads_as(kind: Kind, forced: bool, v: &str) -> bool {
    match kind {
        Kind::Boolean => boolean(v).is_some(),
        Kind::Number => number(v).is_some(),
        Kind::Date => date(v).is_some() || (forced && serial_date(v).is_some()),
        Kind::Category => true,
    }
}

/// The share of a column's values that may fail the inferred type (they become missing).
const MAX_UNREADABLE: f64 = 0.01;

/// The type of a column's present values.
fn infer(values: &[&str]) -> Kind {
    for kind in [Kind::Boolean, Kind::Number, Kind::Date] {
        let bad = values.iter().filter(|v| !reads_as(kind, false, v)).count();
        if !values.is_empty() && (bad as f64) <= MAX_UNREADABLE * values.len() as f64 {
            return kind;
        }
    }
    Kind::Category
}

/// `attr_` and the header in lower case, other characters than letters and digits as `_`.
fn column_name(header: &str, taken: &mut BTreeSet<String>) -> String {
    let mut slug = String::new();
    for c in header.to_lowercase().chars() {
        if c.is_alphanumeric() {
            slug.push(c);
        } else if !slug.ends_with('_') {
            slug.push('_');
        }
    }
    let base = format!("attr_{}", slug.trim_matches('_'));
    let mut name = base.clone();
    let mut k = 2;
    while !taken.insert(name.clone()) {
        name = format!("{base}_{k}");
        k += 1;
    }
    name
}

/// Types every attribute of `rows` (each lead's `leads.attributes` JSON, or null) and builds
/// its column. `forced`: header → type name, from `ingest.attributes.types`.
pub fn columns(
    rows: &StringArray,
    forced: &BTreeMap<String, String>,
) -> anyhow::Result<Vec<(Attribute, Field, ArrayRef)>> {
    let n = rows.len();
    // Header → one value per lead.
    let mut by_header: BTreeMap<String, Vec<Option<String>>> = BTreeMap::new();
    for r in 0..n {
        if rows.is_null(r) {
            continue;
        }
        let obj: serde_json::Map<String, serde_json::Value> = serde_json::from_str(rows.value(r))
            .map_err(|e| {
            anyhow::anyhow!("leads.attributes of row {r} is not a JSON object: {e}")
        })?;
        for (k, v) in obj {
            let v = match v {
                serde_json::Value::String(s) => s,
                other => other.to_string(),
            };
            by_header.entry(k).or_insert_with(|| vec![None; n])[r] = Some(v);
        }
    }
    let forced_kind = |h: &str| {
        forced
            .iter()
            .find(|(k, _)| k.trim().eq_ignore_ascii_case(h.trim()))
            .and_then(|(_, t)| Kind::parse(t))
    };
    let mut taken = BTreeSet::new();
    let mut out = Vec::new();
    for (header, values) in by_header {
        let present: Vec<Option<&str>> = values
            .iter()
            .map(|v| v.as_deref().filter(|v| !is_placeholder(v)))
            .collect();
        let filled: Vec<&str> = present.iter().flatten().copied().collect();
        let (kind, is_forced) = match forced_kind(&header) {
            Some(k) => (k, true),
            None => (infer(&filled), false),
        };
        let unreadable = filled
            .iter()
            .filter(|v| !reads_as(kind, is_forced, v))
            .count();
        let column = column_name(&header, &mut taken);
        let (array, levels): (ArrayRef, Option<usize>) = match kind {
            Kind::Boolean => (
                Arc::new(
                    present
                        .iter()
                        .map(|v| v.and_then(boolean))
                        .collect::<BooleanArray>(),
                ),
                None,
            ),
            Kind::Number => (
                Arc::new(
                    present
                        .iter()
                        .map(|v| v.and_then(number))
                        .collect::<Float64Array>(),
                ),
                None,
            ),
            Kind::Date => (
                Arc::new(
                    present
                        .iter()
                        .map(|v| {
                            v.and_then(|v| date(v).or_else(|| is_forced.then(|| serial_date(v))?))
                        })
                        .collect::<Date32Array>(),
                ),
                None,
            ),
            Kind::Category => {
                let distinct: BTreeSet<&str> = filled.iter().copied().collect();
                (
                    Arc::new(present.iter().copied().collect::<StringArray>()),
                    Some(distinct.len()),
                )
            }
        };
        // The header and type travel with the column (Arrow field metadata), for any reader.
        let field = Field::new(&column, array.data_type().clone(), true).with_metadata(
            [
                ("leadcrawl.source".to_owned(), header.clone()),
                (
                    "leadcrawl.type".to_owned(),
                    serde_json::to_value(kind)?
                        .as_str()
                        .unwrap_or_default()
                        .to_owned(),
                ),
            ]
            .into(),
        );
        let attr = Attribute {
            column,
            source: header,
            kind,
            forced: is_forced,
            present: array.len() - array.null_count(),
            unreadable,
            levels,
        };
        out.push((attr, field, array));
    }
    Ok(out)
}

/// The data type of an attribute kind in `features.parquet`.
pub fn data_type(kind: Kind) -> DataType {
    match kind {
        Kind::Boolean => DataType::Boolean,
        Kind::Number => DataType::Float64,
        Kind::Date => DataType::Date32,
        Kind::Category => DataType::Utf8,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_in_the_forms_crms_write_them() {
        for (s, want) in [
            ("1,234.5", 1234.5),
            ("1 234,5", 1234.5),
            ("1\u{202f}234,5", 1234.5),
            ("1.234,5", 1234.5),
            ("1,5", 1.5),
            ("1,234", 1234.0),
            ("12%", 0.12),
            ("€ 30", 30.0),
            ("-4", -4.0),
            ("0.0", 0.0),
            ("1.234.567", 1234567.0),
        ] {
            assert_eq!(number(s), Some(want), "{s}");
        }
        for s in ["abc", "12 months", "", "%", "1-2", "."] {
            assert_eq!(number(s), None, "{s}");
        }
    }

    #[test]
    fn types_are_inferred_and_placeholders_are_missing() {
        let rows: StringArray = [
            Some(r#"{"Visits":"3","Do Not Email":"No","Source":"Google","Signed":"03/02/2024","Size":"Select"}"#),
            Some(r#"{"Visits":"1,5","Do Not Email":"Yes","Source":"Olark Chat","Signed":"2024-02-04","Size":"10-50"}"#),
            None,
            Some(r#"{"Visits":"N/A","Do Not Email":"no","Source":"Google","Signed":"05.02.2024"}"#),
        ]
        .into_iter()
        .collect();
        let cols = columns(&rows, &BTreeMap::new()).unwrap();
        let by: BTreeMap<&str, &(Attribute, Field, ArrayRef)> =
            cols.iter().map(|c| (c.0.source.as_str(), c)).collect();
        assert_eq!(by["Visits"].0.kind, Kind::Number);
        assert_eq!(by["Visits"].0.column, "attr_visits");
        assert_eq!(by["Visits"].0.present, 2);
        assert_eq!(by["Do Not Email"].0.kind, Kind::Boolean);
        assert_eq!(by["Do Not Email"].0.column, "attr_do_not_email");
        assert_eq!(by["Signed"].0.kind, Kind::Date);
        assert_eq!(by["Source"].0.kind, Kind::Category);
        assert_eq!(by["Source"].0.levels, Some(2));
        assert_eq!(by["Size"].0.kind, Kind::Category);
        assert_eq!(by["Size"].0.present, 1, "Select is a placeholder");
        let dates = by["Signed"]
            .2
            .as_any()
            .downcast_ref::<Date32Array>()
            .unwrap();
        assert_eq!(dates.value(1) - dates.value(0), 1);
        assert_eq!(dates.value(3) - dates.value(0), 2);
        let visits = by["Visits"]
            .2
            .as_any()
            .downcast_ref::<Float64Array>()
            .unwrap();
        assert_eq!(visits.value(1), 1.5);
        assert!(visits.is_null(2) && visits.is_null(3));
    }

    #[test]
    fn a_forced_type_wins_and_counts_what_does_not_read() {
        let rows: StringArray = [
            Some(r#"{"Created":"45292","Code":"75"}"#),
            Some(r#"{"Created":"soon","Code":"13"}"#),
        ]
        .into_iter()
        .collect();
        let forced: BTreeMap<String, String> = [
            ("created".to_owned(), "date".to_owned()),
            ("Code".to_owned(), "category".to_owned()),
        ]
        .into_iter()
        .collect();
        let cols = columns(&rows, &forced).unwrap();
        let created = cols.iter().find(|c| c.0.source == "Created").unwrap();
        assert!(created.0.forced);
        assert_eq!(created.0.unreadable, 1);
        let d = created.2.as_any().downcast_ref::<Date32Array>().unwrap();
        // Serial 45292 is 2024-01-01.
        assert_eq!(d.value(0), date("2024-01-01").unwrap());
        assert!(d.is_null(1));
        let code = cols.iter().find(|c| c.0.source == "Code").unwrap();
        assert_eq!(code.0.kind, Kind::Category);
    }
}
