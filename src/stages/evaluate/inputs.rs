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
}

/// A category level seen on fewer leads than this is merged into `(other)`.
const MIN_LEVEL_LEADS: usize = 5;

/// The `attr_*` columns of `features` as a model block: numbers (amounts over 100 on a log
/// scale), booleans as 0/1, dates as days before the column's latest date, categories with rare
/// levels merged. A category with more levels than half the leads (and over 50) is an
/// identifier or free text: not modelled. `exclude`: columns left out (the leakage guard's).
fn attribute_block(
    batch: &RecordBatch,
    rows: &[usize],
    exclude: &[String],
) -> anyhow::Result<(Block, Vec<(String, String)>)> {
    let mut block = Block::default();
    let mut unmodelled = Vec::new();
    for (i, field) in batch.schema().fields().iter().enumerate() {
        let name = field.name();
        if !name.starts_with("attr_") || exclude.contains(name) {
            continue;
        }
        let col = batch.column(i);
        match field.data_type() {
            DataType::Utf8 | DataType::LargeUtf8 | DataType::Dictionary(_, _) => {
                let c = cast(col, &DataType::Utf8)?;
                let c = c.as_string::<i32>();
                let mut counts: HashMap<&str, usize> = HashMap::new();
                for v in c.iter().flatten() {
                    *counts.entry(v).or_default() += 1;
                }
                let kept = counts.values().filter(|&&n| n >= MIN_LEVEL_LEADS).count();
                if kept > 50 && kept * 2 > batch.num_rows() {
                    unmodelled.push((
                        name.clone(),
                        format!("{kept} distinct values: an identifier or free text"),
                    ));
                    continue;
                }
                let values = rows
                    .iter()
                    .map(|&r| {
                        (!c.is_null(r)).then(|| {
                            let v = c.value(r);
                            if counts[v] >= MIN_LEVEL_LEADS {
                                v.to_owned()
                            } else {
                                "(other)".to_owned()
                            }
                        })
                    })
                    .collect();
                block.categorical.push(Column::new(name.clone(), values));
            }
            DataType::Boolean => {
                let c = col.as_boolean();
                let values = rows
                    .iter()
                    .map(|&r| (!c.is_null(r)).then(|| f64::from(u8::from(c.value(r)))))
                    .collect();
                block.numeric.push(Column::new(name.clone(), values));
            }
            DataType::Date32 => {
                let c = col.as_primitive::<arrow::datatypes::Date32Type>();
                let latest = c.iter().flatten().max().unwrap_or(0);
                let values = rows
                    .iter()
                    .map(|&r| (!c.is_null(r)).then(|| f64::from(latest - c.value(r))))
                    .collect();
                block.numeric.push(Column::new(name.clone(), values));
            }
            _ => {
                let c = cast(col, &DataType::Float64)?;
                let c = c.as_primitive::<Float64Type>();
                let finite = || c.iter().flatten().filter(|x| x.is_finite());
                let log = finite().all(|x| x >= 0.0) && finite().any(|x| x > 100.0);
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
                block.numeric.push(Column::new(name.clone(), values));
            }
        }
    }
    Ok((block, unmodelled))
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
    let (attributes, unmodelled) = attribute_block(&batch, &rows, exclude)?;
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
