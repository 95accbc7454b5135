//! Features: every lead's row for training, joined from the stages' tables → `features.parquet`.
//!
//! One row per lead of `leads`, in input order: its label, the registry's firmographics, the
//! web features, the pooled embedding, explicit missing-value indicators and provenance.
//! Columns are taken from their source tables by name (types kept: numbers stay numbers,
//! categories dictionary strings); a lead missing from a table gets nulls there and its
//! indicator says why. The table is written whole, in one commit: a re-run rewrites it.

use std::collections::HashMap;
use std::sync::Arc;

use anyhow::Context;
use arrow::array::{
    Array, ArrayRef, AsArray, BooleanArray, Int8Array, RecordBatch, TimestampMicrosecondArray,
    UInt32Array, UInt32Builder,
};
use arrow::compute::{cast, concat_batches, take};
use arrow::datatypes::{DataType, Int64Type, TimestampMicrosecondType};

use super::{Read, Stage, StageContext, StageOutcome};
use crate::config::Config;
use crate::schema::{TableDef, FEATURES, LEADS, LEAD_EMBEDDINGS, PAGES, REGISTRY, WEB_FEATURES};
use crate::state::UnitOutcome;

pub mod attributes;

pub struct FeaturesStage;

/// A source table, concatenated, with its rows by lead.
struct Source {
    batch: RecordBatch,
    rows: HashMap<String, u32>,
}

impl Source {
    fn read(ctx: &StageContext<'_>, def: &TableDef) -> anyhow::Result<Option<Source>> {
        let name = def.name;
        let batches = ctx.read(def)?;
        let Some(first) = batches.first() else {
            return Ok(None);
        };
        let batch = concat_batches(&first.schema(), &batches)?;
        let ids = batch
            .column_by_name("lead_id")
            .with_context(|| format!("{name}.lead_id"))?
            .as_string::<i32>();
        let mut rows = HashMap::with_capacity(ids.len());
        for (i, id) in ids.iter().enumerate() {
            if let Some(id) = id {
                rows.entry(id.to_owned()).or_insert(i as u32);
            }
        }
        Ok(Some(Source { batch, rows }))
    }

    /// The rows of `leads` in this table (null where absent).
    fn index(&self, leads: &[String]) -> UInt32Array {
        leads.iter().map(|l| self.rows.get(l).copied()).collect()
    }

    /// Column `name` for every lead, cast to `to` when given.
    fn column(
        &self,
        idx: &UInt32Array,
        name: &str,
        to: Option<&DataType>,
    ) -> anyhow::Result<ArrayRef> {
        let col = self
            .batch
            .column_by_name(name)
            .with_context(|| format!("column {name}"))?;
        let out = take(col.as_ref(), idx, None)?;
        Ok(match to {
            Some(t) if t != out.data_type() => cast(&out, t)?,
            _ => out,
        })
    }
}

fn null_column(t: &DataType, n: usize) -> ArrayRef {
    arrow::array::new_null_array(t, n)
}

impl Stage for FeaturesStage {
    fn name(&self) -> &'static str {
        "features"
    }

    fn about(&self) -> &'static str {
        "one row per lead joining label, firmographics, web features and embedding into `features.parquet`"
    }

    fn reads(&self) -> &'static [Read] {
        &[
            Read::Table(&LEADS),
            Read::Table(&PAGES),
            Read::Table(&WEB_FEATURES),
            Read::Table(&REGISTRY),
            Read::Table(&LEAD_EMBEDDINGS),
        ]
    }

    fn tables(&self) -> &'static [&'static TableDef] {
        &[&FEATURES]
    }

    fn fingerprint(&self, _config: &Config) -> anyhow::Result<String> {
        Ok(format!("features=v{}", FEATURES.version))
    }

    fn run(&self, ctx: &StageContext<'_>) -> anyhow::Result<StageOutcome> {
        let leads = Source::read(ctx, &LEADS)?.context("no leads")?;
        let ids: Vec<String> = {
            let col = leads
                .batch
                .column_by_name("lead_id")
                .context("leads.lead_id")?
                .as_string::<i32>();
            col.iter().flatten().map(str::to_owned).collect()
        };
        let n = ids.len();
        ctx.progress.set_total(n as u64);
        let web = Source::read(ctx, &WEB_FEATURES)?;
        let reg = Source::read(ctx, &REGISTRY)?;
        let emb = Source::read(ctx, &LEAD_EMBEDDINGS)?;
        // The reads are the long part; the rest is column arithmetic in memory.
        if ctx.should_stop() {
            return Ok(StageOutcome::Interrupted);
        }

        let schema_dim = emb
            .as_ref()
            .and_then(|e| match e.batch.column_by_name("vector")?.data_type() {
                DataType::FixedSizeList(_, d) => Some(*d),
                _ => None,
            })
            .unwrap_or(0);
        let schema = FEATURES.arrow_schema_with_dim(schema_dim);
        let li = leads.index(&ids);
        let wi = web.as_ref().map(|w| w.index(&ids));
        let ri = reg.as_ref().map(|r| r.index(&ids));
        let ei = emb.as_ref().map(|e| e.index(&ids));

        // Derived columns.
        let status = leads.column(&li, "status", Some(&DataType::Utf8))?;
        let status = status.as_string::<i32>();
        let label: Int8Array = status
            .iter()
            .map(|s| match s {
                Some("won") => Some(1),
                Some("lost") => Some(0),
                _ => None,
            })
            .collect();
        let website = leads.column(&li, "website", None)?;
        let has_website: BooleanArray = (0..n).map(|i| Some(!website.is_null(i))).collect();
        let pages = match (&web, &wi) {
            (Some(w), Some(i)) => w.column(i, "pages", None)?,
            _ => null_column(&DataType::UInt32, n),
        };
        let pages_u32 = pages.as_primitive::<arrow::datatypes::UInt32Type>();
        let pages_used: UInt32Array = (0..n)
            .map(|i| {
                Some(if pages_u32.is_null(i) {
                    0
                } else {
                    pages_u32.value(i)
                })
            })
            .collect();
        let crawl_failed: BooleanArray = (0..n)
            .map(|i| Some(!website.is_null(i) && pages_used.value(i) == 0))
            .collect();
        let reg_status = match (&reg, &ri) {
            (Some(r), Some(i)) => r.column(i, "match_status", Some(&DataType::Utf8))?,
            _ => null_column(&DataType::Utf8, n),
        };
        let registry_matched: BooleanArray = reg_status
            .as_string::<i32>()
            .iter()
            .map(|s| Some(s == Some("matched")))
            .collect();
        let vector = match (&emb, &ei) {
            (Some(e), Some(i)) => Some(e.column(i, "vector", None)?),
            _ => None,
        };
        let has_embedding: BooleanArray = (0..n)
            .map(|i| Some(vector.as_ref().is_some_and(|v| !v.is_null(i))))
            .collect();
        let list_len = |name: &str| -> anyhow::Result<ArrayRef> {
            let (Some(w), Some(i)) = (&web, &wi) else {
                return Ok(null_column(&DataType::UInt32, n));
            };
            let col = w.column(i, name, None)?;
            let l = col.as_list::<i32>();
            let mut b = UInt32Builder::with_capacity(n);
            for r in 0..n {
                if l.is_null(r) {
                    b.append_null();
                } else {
                    b.append_value(l.value_length(r) as u32);
                }
            }
            Ok(Arc::new(b.finish()))
        };
        let socials: UInt32Array = match (&web, &wi) {
            (Some(w), Some(i)) => {
                let cols = [
                    "linkedin",
                    "x",
                    "facebook",
                    "instagram",
                    "youtube",
                    "github",
                ]
                .iter()
                .map(|c| w.column(i, c, None))
                .collect::<anyhow::Result<Vec<_>>>()?;
                (0..n)
                    .map(|r| {
                        (!i.is_null(r))
                            .then(|| cols.iter().filter(|c| !c.is_null(r)).count() as u32)
                    })
                    .collect()
            }
            _ => (0..n).map(|_| None).collect(),
        };
        // Crawl time range per lead, from the pages table's fetch times (one column read).
        let (first_at, last_at) = crawl_times(ctx, &ids)?;

        let mut cols: Vec<ArrayRef> = Vec::with_capacity(schema.fields().len());
        for field in schema.fields() {
            let name = field.name().as_str();
            let t = field.data_type();
            let from = |src: &Option<Source>, idx: &Option<UInt32Array>, col: &str| match (src, idx)
            {
                (Some(s), Some(i)) => s.column(i, col, Some(t)),
                _ => Ok(null_column(t, n)),
            };
            let col: ArrayRef = match name {
                "lead_id" | "external_id" | "name" | "domain" | "country" | "status"
                | "lead_date" => leads.column(&li, name, Some(t))?,
                "label" => Arc::new(label.clone()),
                "has_website" => Arc::new(has_website.clone()),
                "crawl_failed" => Arc::new(crawl_failed.clone()),
                "registry_matched" => Arc::new(registry_matched.clone()),
                "has_embedding" => Arc::new(has_embedding.clone()),
                "registry_match" => from(&reg, &ri, "match_status")?,
                "registry_method" => from(&reg, &ri, "match_method")?,
                "registry_score" => from(&reg, &ri, "match_score")?,
                "hq_region" => from(&reg, &ri, "region")?,
                "hq_country" => from(&reg, &ri, "country")?,
                "registry" | "nace_section" | "nace_division" | "sector" | "headcount_min"
                | "headcount_max" | "age_years" | "legal_form" | "category" | "establishments"
                | "revenue" | "net_income" => from(&reg, &ri, name)?,
                "technology_count" => list_len("technologies")?,
                "email_count" => list_len("emails")?,
                "own_domain_email_count" => list_len("own_domain_emails")?,
                "phone_count" => list_len("phones")?,
                "social_profiles" => Arc::new(socials.clone()),
                "embedding" => match &vector {
                    Some(v) => v.clone(),
                    None => null_column(t, n),
                },
                "chunk_count" => from(&emb, &ei, "chunk_count")?,
                "model_id" => from(&emb, &ei, "model_id")?,
                "pages_used" => Arc::new(pages_used.clone()),
                "crawl_first_at" => Arc::new(first_at.clone()),
                "crawl_last_at" => Arc::new(last_at.clone()),
                _ => from(&web, &wi, name)?,
            };
            cols.push(col);
        }
        // The lead list's own columns, typed, after the fixed ones.
        let attrs = attributes::columns(
            leads
                .column(&li, "attributes", Some(&DataType::Utf8))?
                .as_string::<i32>(),
            &ctx.config.ingest.attributes.types,
        )?;
        let mut fields: Vec<arrow::datatypes::FieldRef> = schema.fields().iter().cloned().collect();
        let mut described = Vec::new();
        for (attr, field, array) in attrs {
            fields.push(Arc::new(field));
            cols.push(array);
            described.push(attr);
        }
        let schema = Arc::new(arrow::datatypes::Schema::new_with_metadata(
            fields,
            schema.metadata().clone(),
        ));
        let batch = RecordBatch::try_new(schema, cols).context("assembling features")?;
        let model_id = emb
            .as_ref()
            .and_then(|e| {
                let c = e.batch.column_by_name("model_id")?;
                let c = cast(c, &DataType::Utf8).ok()?;
                let s = c.as_string::<i32>();
                (!s.is_empty() && !s.is_null(0)).then(|| s.value(0).to_owned())
            })
            .unwrap_or_default();
        let counters = [
            ("leads".to_owned(), n as u64),
            (
                "labelled".to_owned(),
                label.iter().filter(Option::is_some).count() as u64,
            ),
            (
                "registry_matched".to_owned(),
                registry_matched.true_count() as u64,
            ),
            (
                "with_embedding".to_owned(),
                has_embedding.true_count() as u64,
            ),
            ("crawl_failed".to_owned(), crawl_failed.true_count() as u64),
            ("attributes".to_owned(), described.len() as u64),
        ]
        .into_iter()
        .collect();
        ctx.commit_parts(
            "features.parquet",
            &[(&FEATURES, vec![batch])],
            &[
                ("leadcrawl.model_id".into(), model_id),
                ("leadcrawl.dimension".into(), schema_dim.to_string()),
                (
                    "leadcrawl.attributes".into(),
                    serde_json::to_string(&described)?,
                ),
            ],
            &[UnitOutcome::done("features")],
            &counters,
        )?;
        ctx.progress.inc(n as u64, "features written");
        Ok(StageOutcome::Completed { units_failed: 0 })
    }
}

/// First and last fetch time of each lead's pages (nulls for leads without any).
fn crawl_times(
    ctx: &StageContext<'_>,
    ids: &[String],
) -> anyhow::Result<(TimestampMicrosecondArray, TimestampMicrosecondArray)> {
    let mut range: HashMap<&str, (i64, i64)> = HashMap::new();
    let index: std::collections::HashSet<&str> = ids.iter().map(String::as_str).collect();
    for part in ctx.parts_of(&PAGES)? {
        for b in ctx.read_part_columns(&part, &["lead_id", "fetched_at"])? {
            let lead = b.column(0).as_string::<i32>();
            let at = cast(b.column(1), &DataType::Int64)?;
            let at = at.as_primitive::<Int64Type>();
            for r in 0..b.num_rows() {
                if lead.is_null(r) || at.is_null(r) {
                    continue;
                }
                let Some(&key) = index.get(lead.value(r)) else {
                    continue;
                };
                let t = at.value(r);
                let e = range.entry(key).or_insert((t, t));
                e.0 = e.0.min(t);
                e.1 = e.1.max(t);
            }
        }
    }
    let tz: Arc<str> = "UTC".into();
    let first = ids
        .iter()
        .map(|l| range.get(l.as_str()).map(|r| r.0))
        .collect::<arrow::array::PrimitiveArray<TimestampMicrosecondType>>()
        .with_timezone(tz.clone());
    let last = ids
        .iter()
        .map(|l| range.get(l.as_str()).map(|r| r.1))
        .collect::<arrow::array::PrimitiveArray<TimestampMicrosecondType>>()
        .with_timezone(tz);
    Ok((first, last))
}
