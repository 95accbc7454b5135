//! From the typed tables to `learn`'s plain columns: `features` (and the leads' text) read into
//! a [`learn::Dataset`], for evaluate and for score.
//!
//! This is where the columns of `features.parquet` are sorted into the model's blocks
//! (firmographics, web signals) and where heavy-tailed amounts are put on a log scale; `learn`
//! sees only named columns of numbers and categories.

use std::collections::HashMap;

use anyhow::Context;
use arrow::array::{Array, AsArray, RecordBatch};
use arrow::compute::cast;
use arrow::datatypes::{DataType, Float32Type, Float64Type, Int32Type};
use learn::{Block, Column, Dataset};
use serde::{Deserialize, Serialize};

use super::evaluation::Coverage;
use crate::schema::{FEATURES, LEADS, PAGE_TEXT};
use crate::stages::StageContext;

/// Numeric columns of `features` by source, and how they are transformed.
const FIRMO_NUMERIC: &[&str] = &[
    "headcount_min",
    "headcount_max",
    "age_years",
    "establishments",
    "revenue",
    "net_income",
    "registry_score",
];
const FIRMO_CATEGORICAL: &[&str] = &["nace_section", "legal_form", "category", "registry_match"];
const WEB_NUMERIC: &[&str] = &[
    "pages",
    "pages_about",
    "pages_product",
    "pages_pricing",
    "pages_customers",
    "pages_careers",
    "pages_blog",
    "words",
    "technology_count",
    "email_count",
    "own_domain_email_count",
    "phone_count",
    "social_profiles",
    "copyright_year_max",
    "founding_year",
    "has_website",
    "crawl_failed",
];
const WEB_CATEGORICAL: &[&str] = &["main_lang", "country"];
/// Heavy-tailed amounts: signed log1p.
const LOG_COLUMNS: &[&str] = &[
    "revenue",
    "net_income",
    "words",
    "headcount_min",
    "headcount_max",
];

/// The leads read for modelling.
pub struct Leads {
    pub lead_ids: Vec<String>,
    /// The lead has a label (always `true` when only labelled rows were loaded); the others'
    /// label in `data.labels` is `false`.
    pub known: Vec<bool>,
    pub data: Dataset,
    /// The `features` table, all rows, for the columns a stage writes out (names, domains).
    pub features: RecordBatch,
    /// Attribute column → its input header, for every attribute of the table.
    pub attribute_sources: Vec<(String, String)>,
    /// Attributes not modelled whatever the guard says, and why (identifiers, free text).
    pub unmodelled: Vec<(String, String)>,
    /// How this list's attribute columns were encoded into `data.attributes`.
    pub encodings: Vec<AttributeEncoding>,
    /// The `features` row of each lead.
    rows: Vec<usize>,
}

impl Leads {
    /// `data` with the attribute columns encoded as `encodings` says (a saved model's) instead
    /// of as this list decided.
    pub fn data_encoded_as(&self, encodings: &[AttributeEncoding]) -> anyhow::Result<Dataset> {
        Ok(Dataset {
            attributes: attribute_block(&self.features, &self.rows, encodings)?,
            ..self.data.clone()
        })
    }
}

/// A category level seen on fewer leads than this is merged into `(other)`.
const MIN_LEVEL_LEADS: usize = 5;

/// How one `attr_*` column becomes model input. Decided on a lead list (the whole `features`
/// table) and saved with every model, so that a pinned model reads a later list's column the
/// way it was fitted: the same log decision, the same reference date, the same levels.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum AttributeEncoding {
    /// Levels kept as they are; any other value is `(other)`.
    Category { column: String, levels: Vec<String> },
    /// 0/1.
    Boolean { column: String },
    /// Days before `reference` (days since 1970-01-01: the column's latest date in the list).
    Date { column: String, reference: i32 },
    /// The number, on a signed log scale when `log` (amounts over 100).
    Number { column: String, log: bool },
}

impl AttributeEncoding {
    pub fn column(&self) -> &str {
        match self {
            AttributeEncoding::Category { column, .. }
            | AttributeEncoding::Boolean { column }
            | AttributeEncoding::Date { column, .. }
            | AttributeEncoding::Number { column, .. } => column,
        }
    }
}

/// Attributes not modelled and why: `(column, reason)`.
type Unmodelled = Vec<(String, String)>;

/// The encodings of the `attr_*` columns of `features` decided on this list: numbers (amounts
/// over 100 on a log scale), booleans as 0/1, dates as days before the column's latest date,
/// categories with rare levels merged. A category with more levels than half the leads (and
/// over 50) is an identifier or free text: not modelled, listed with why. `exclude`: columns
/// left out (the leakage guard's).
fn attribute_encodings(
    batch: &RecordBatch,
    exclude: &[String],
) -> anyhow::Result<(Vec<AttributeEncoding>, Unmodelled)> {
    let mut encodings = Vec::new();
    let mut unmodelled = Vec::new();
    for (i, field) in batch.schema().fields().iter().enumerate() {
        let name = field.name();
        if !name.starts_with("attr_") || exclude.contains(name) {
            continue;
        }
        let col = batch.column(i);
        let column = name.clone();
        encodings.push(match field.data_type() {
            DataType::Utf8 | DataType::LargeUtf8 | DataType::Dictionary(_, _) => {
                let c = cast(col, &DataType::Utf8)?;
                let c = c.as_string::<i32>();
                let mut counts: HashMap<&str, usize> = HashMap::new();
                for v in c.iter().flatten() {
                    *counts.entry(v).or_default() += 1;
                }
                let mut levels: Vec<String> = counts
                    .iter()
                    .filter(|(_, &n)| n >= MIN_LEVEL_LEADS)
                    .map(|(v, _)| (*v).to_owned())
                    .collect();
                if levels.len() > 50 && levels.len() * 2 > batch.num_rows() {
                    unmodelled.push((
                        column,
                        format!(
                            "{} distinct values: an identifier or free text",
                            levels.len()
                        ),
                    ));
                    continue;
                }
                levels.sort();
                AttributeEncoding::Category { column, levels }
            }
            DataType::Boolean => AttributeEncoding::Boolean { column },
            DataType::Date32 => {
                let c = col.as_primitive::<arrow::datatypes::Date32Type>();
                let reference = c.iter().flatten().max().unwrap_or(0);
                AttributeEncoding::Date { column, reference }
            }
            _ => {
                let c = cast(col, &DataType::Float64)?;
                let c = c.as_primitive::<Float64Type>();
                let finite = || c.iter().flatten().filter(|x| x.is_finite());
                let log = finite().all(|x| x >= 0.0) && finite().any(|x| x > 100.0);
                AttributeEncoding::Number { column, log }
            }
        });
    }
    Ok((encodings, unmodelled))
}

/// The `rows` of `batch`'s attribute columns as a model block, each as `encodings` says. A
/// column the batch lacks is left out (a model reading it sees it missing); a value the
/// encoding cannot read (text where a number was) is missing.
fn attribute_block(
    batch: &RecordBatch,
    rows: &[usize],
    encodings: &[AttributeEncoding],
) -> anyhow::Result<Block> {
    let mut block = Block::default();
    for e in encodings {
        let Some(col) = batch.column_by_name(e.column()) else {
            continue;
        };
        let name = e.column().to_owned();
        match e {
            AttributeEncoding::Category { levels, .. } => {
                let c = cast(col, &DataType::Utf8)?;
                let c = c.as_string::<i32>();
                let values = rows
                    .iter()
                    .map(|&r| {
                        (!c.is_null(r)).then(|| {
                            let v = c.value(r);
                            if levels.binary_search_by(|l| l.as_str().cmp(v)).is_ok() {
                                v.to_owned()
                            } else {
                                "(other)".to_owned()
                            }
                        })
                    })
                    .collect();
                block.categorical.push(Column::new(name, values));
            }
            AttributeEncoding::Boolean { .. } => {
                let c = cast(col, &DataType::Boolean)?;
                let c = c.as_boolean();
                let values = rows
                    .iter()
                    .map(|&r| (!c.is_null(r)).then(|| f64::from(u8::from(c.value(r)))))
                    .collect();
                block.numeric.push(Column::new(name, values));
            }
            AttributeEncoding::Date { reference, .. } => {
                let c = cast(col, &DataType::Date32)?;
                let c = c.as_primitive::<arrow::datatypes::Date32Type>();
                let values = rows
                    .iter()
                    .map(|&r| (!c.is_null(r)).then(|| f64::from(reference - c.value(r))))
                    .collect();
                block.numeric.push(Column::new(name, values));
            }
            AttributeEncoding::Number { log, .. } => {
                let c = cast(col, &DataType::Float64)?;
                let c = c.as_primitive::<Float64Type>();
                let values = rows
                    .iter()
                    .map(|&r| {
                        (!c.is_null(r) && c.value(r).is_finite()).then(|| {
                            if *log {
                                learn::signed_log1p(c.value(r))
                            } else {
                                c.value(r)
                            }
                        })
                    })
                    .collect();
                block.numeric.push(Column::new(name, values));
            }
        }
    }
    Ok(block)
}

/// Attribute column → input header, from the column's `leadcrawl.source` field metadata.
fn attribute_sources(batch: &RecordBatch) -> Vec<(String, String)> {
    batch
        .schema()
        .fields()
        .iter()
        .filter(|f| f.name().starts_with("attr_"))
        .map(|f| {
            let source = f
                .metadata()
                .get("leadcrawl.source")
                .cloned()
                .unwrap_or_else(|| f.name().clone());
            (f.name().clone(), source)
        })
        .collect()
}

/// Reads `features` (and, `with_text`, the leads' text cut at `max_text` characters): the
/// rows with a label, or every row (`all_rows`, in the table's order, for scoring the open
/// leads).
pub fn load(
    ctx: &StageContext<'_>,
    max_text: usize,
    all_rows: bool,
    with_text: bool,
    exclude: &[String],
) -> anyhow::Result<Leads> {
    let batches = ctx.read(&FEATURES)?;
    let first = batches.first().context("features table is empty")?;
    let batch = arrow::compute::concat_batches(&first.schema(), &batches)?;
    let col = |n: &str| {
        batch
            .column_by_name(n)
            .with_context(|| format!("features.{n}"))
    };
    let ids = col("lead_id")?.as_string::<i32>();
    let label = cast(col("label")?, &DataType::Int32)?;
    let label = label.as_primitive::<Int32Type>();
    let rows: Vec<usize> = (0..batch.num_rows())
        .filter(|&r| all_rows || !label.is_null(r))
        .collect();
    let lead_ids: Vec<String> = rows.iter().map(|&r| ids.value(r).to_owned()).collect();
    let labels = rows
        .iter()
        .map(|&r| !label.is_null(r) && label.value(r) == 1)
        .collect();
    let known = rows.iter().map(|&r| !label.is_null(r)).collect();
    let emb = col("embedding")?.as_fixed_size_list();
    let embedding = rows
        .iter()
        .map(|&r| {
            (!emb.is_null(r)).then(|| emb.value(r).as_primitive::<Float32Type>().values().to_vec())
        })
        .collect();
    let numeric = |names: &[&str]| -> anyhow::Result<Vec<Column<f64>>> {
        names
            .iter()
            .map(|&name| {
                let c = cast(col(name)?, &DataType::Float64)?;
                let c = c.as_primitive::<Float64Type>();
                let log = LOG_COLUMNS.contains(&name);
                let values = rows
                    .iter()
                    .map(|&r| {
                        (!c.is_null(r) && c.value(r).is_finite()).then(|| {
                            if log {
                                learn::signed_log1p(c.value(r))
                            } else {
                                c.value(r)
                            }
                        })
                    })
                    .collect();
                Ok(Column::new(name, values))
            })
            .collect()
    };
    let categorical = |names: &[&str]| -> anyhow::Result<Vec<Column<String>>> {
        names
            .iter()
            .map(|&name| {
                let c = cast(col(name)?, &DataType::Utf8)?;
                let c = c.as_string::<i32>();
                let values = rows
                    .iter()
                    .map(|&r| (!c.is_null(r)).then(|| c.value(r).to_owned()))
                    .collect();
                Ok(Column::new(name, values))
            })
            .collect()
    };
    let firmographics = Block {
        numeric: numeric(FIRMO_NUMERIC)?,
        categorical: categorical(FIRMO_CATEGORICAL)?,
    };
    let web = Block {
        numeric: numeric(WEB_NUMERIC)?,
        categorical: categorical(WEB_CATEGORICAL)?,
    };
    let (encodings, unmodelled) = attribute_encodings(&batch, exclude)?;
    let attributes = attribute_block(&batch, &rows, &encodings)?;
    let attribute_sources = attribute_sources(&batch);
    let text = if with_text {
        lead_texts(ctx, &lead_ids, max_text)?
    } else {
        vec![String::new(); lead_ids.len()]
    };
    Ok(Leads {
        lead_ids,
        known,
        data: Dataset {
            labels,
            embedding,
            firmographics,
            web,
            attributes,
            text,
        },
        features: batch,
        attribute_sources,
        unmodelled,
        encodings,
        rows,
    })
}

/// The lead's own description and notes, then its pages' text, cut at `max` characters.
fn lead_texts(ctx: &StageContext<'_>, ids: &[String], max: usize) -> anyhow::Result<Vec<String>> {
    let pos: HashMap<&str, usize> = ids
        .iter()
        .enumerate()
        .map(|(i, s)| (s.as_str(), i))
        .collect();
    let mut out = vec![String::new(); ids.len()];
    let mut push = |i: usize, s: &str| {
        let t = &mut out[i];
        if t.len() < max {
            if !t.is_empty() {
                t.push('\n');
            }
            let room = max - t.len();
            let cut = s
                .char_indices()
                .map(|(b, _)| b)
                .take_while(|&b| b <= room)
                .last()
                .unwrap_or(0);
            t.push_str(if s.len() <= room { s } else { &s[..cut] });
        }
    };
    for b in ctx.read(&LEADS)? {
        let id = b
            .column_by_name("lead_id")
            .context("leads.lead_id")?
            .as_string::<i32>();
        for name in ["description", "notes"] {
            let c = b
                .column_by_name(name)
                .with_context(|| format!("leads.{name}"))?;
            let c = c.as_string::<i32>();
            for r in 0..b.num_rows() {
                if let (Some(&i), false) = (pos.get(id.value(r)), c.is_null(r)) {
                    push(i, c.value(r));
                }
            }
        }
    }
    for part in ctx.parts_of(&PAGE_TEXT)? {
        for b in ctx.read_part_columns(&part, &["lead_id", "text"])? {
            let id = b.column(0).as_string::<i32>();
            let text = b.column(1).as_string::<i32>();
            for r in 0..b.num_rows() {
                if let (Some(&i), false) = (pos.get(id.value(r)), text.is_null(r)) {
                    push(i, text.value(r));
                }
            }
        }
    }
    Ok(out)
}

/// The embedding model's id, as `features` records it.
pub fn model_id(b: &RecordBatch) -> Option<String> {
    let c = cast(b.column_by_name("model_id")?, &DataType::Utf8).ok()?;
    let s = c.as_string::<i32>();
    s.iter().flatten().next().map(str::to_owned)
}

/// What share of the leads each source reached.
pub fn coverage(b: &RecordBatch) -> anyhow::Result<Vec<Coverage>> {
    let total = b.num_rows() as u64;
    let count_true = |name: &str| -> anyhow::Result<u64> {
        let c = b
            .column_by_name(name)
            .with_context(|| format!("features.{name}"))?;
        Ok(c.as_boolean().true_count() as u64)
    };
    let label = cast(
        b.column_by_name("label").context("features.label")?,
        &DataType::Int32,
    )?;
    let label = label.as_primitive::<Int32Type>();
    let won = label.iter().filter(|v| *v == Some(1)).count() as u64;
    let lost = label.iter().filter(|v| *v == Some(0)).count() as u64;
    let crawled = count_true("has_website")?.saturating_sub(count_true("crawl_failed")?);
    let row = |label: &str, count: u64| Coverage {
        label: label.into(),
        count,
        total,
    };
    Ok(vec![
        row("leads with a website", count_true("has_website")?),
        row("websites crawled (some page read)", crawled),
        row("registry matched", count_true("registry_matched")?),
        row("embedded (some text)", count_true("has_embedding")?),
        row("labelled won", won),
        row("labelled lost", lost),
    ])
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow::array::{ArrayRef, Date32Array, Float64Array, StringArray};

    use super::*;

    /// A features-like batch of attribute columns: an amount, a date, a category.
    fn list(amounts: &[f64], days: &[i32], kinds: &[&str]) -> RecordBatch {
        RecordBatch::try_from_iter([
            (
                "attr_amount",
                Arc::new(Float64Array::from(amounts.to_vec())) as ArrayRef,
            ),
            (
                "attr_seen",
                Arc::new(Date32Array::from(days.to_vec())) as ArrayRef,
            ),
            (
                "attr_kind",
                Arc::new(StringArray::from(kinds.to_vec())) as ArrayRef,
            ),
        ])
        .unwrap()
    }

    #[test]
    fn a_saved_encoding_reads_a_later_list_as_the_list_it_was_decided_on() {
        // The first list: amounts under 100, the latest date day 200, level "b" on 5 leads.
        let first = list(
            &[10.0, 20.0, 30.0, 40.0, 50.0, 60.0],
            &[100, 150, 200, 120, 130, 140],
            &["a", "b", "b", "b", "b", "b"],
        );
        let (saved, unmodelled) = attribute_encodings(&first, &[]).unwrap();
        assert!(unmodelled.is_empty());
        assert_eq!(
            saved,
            [
                AttributeEncoding::Number {
                    column: "attr_amount".into(),
                    log: false
                },
                AttributeEncoding::Date {
                    column: "attr_seen".into(),
                    reference: 200
                },
                AttributeEncoding::Category {
                    column: "attr_kind".into(),
                    levels: vec!["b".into()]
                },
            ]
        );
        // A later list: its first lead is the first list's second one; new leads bring large
        // amounts, a later date, and make "a" common.
        let later = list(
            &[20.0, 500.0, 900.0, 700.0, 800.0, 600.0],
            &[150, 300, 290, 280, 270, 260],
            &["b", "a", "a", "a", "a", "c"],
        );
        let (own, _) = attribute_encodings(&later, &[]).unwrap();
        assert_ne!(own, saved, "the later list decides otherwise");
        let as_saved = attribute_block(&later, &[0, 5], &saved).unwrap();
        let then = attribute_block(&first, &[1], &saved).unwrap();
        assert_eq!(as_saved.numeric[0].values[0], then.numeric[0].values[0]);
        assert_eq!(as_saved.numeric[0].values[0], Some(20.0), "no log scale");
        assert_eq!(
            as_saved.numeric[1].values[0],
            Some(50.0),
            "days before day 200"
        );
        assert_eq!(as_saved.categorical[0].values[0].as_deref(), Some("b"));
        assert_eq!(
            as_saved.categorical[0].values[1].as_deref(),
            Some("(other)"),
            "a level the model never saw"
        );
        let own_block = attribute_block(&later, &[0], &own).unwrap();
        assert_ne!(own_block.numeric[0].values[0], Some(20.0), "log scale");
        // A saved column the later list lacks is left out; text where a number was is missing.
        let renamed = RecordBatch::try_from_iter([(
            "attr_amount",
            Arc::new(StringArray::from(vec!["n/a", "12"])) as ArrayRef,
        )])
        .unwrap();
        let b = attribute_block(&renamed, &[0, 1], &saved).unwrap();
        assert_eq!(b.numeric.len(), 1);
        assert_eq!(b.numeric[0].values, [None, Some(12.0)]);
        assert!(b.categorical.is_empty());
    }
}
