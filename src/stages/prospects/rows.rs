//! The Arrow encoding of `prospects` and `prospect_clients`.

use std::sync::Arc;

use anyhow::Context;
use arrow::array::{
    ArrayRef, Date32Array, Float64Array, Float64Builder, ListBuilder, RecordBatch, StringArray,
    StringBuilder, StructBuilder, UInt32Array,
};
use arrow::datatypes::{DataType, Field, Fields};

use super::company::Company;
use crate::schema::{self, PROSPECTS, PROSPECT_CLIENTS};
use crate::table;

/// A client a prospect resembles: `(lead_id, registry_id, name)`.
pub type ClientRef = (String, String, Option<String>);

/// One prospect, in rank order.
pub struct Prospect {
    pub rank: u32,
    pub score: f64,
    pub raw_score: f64,
    pub percentile: f64,
    pub baseline_score: f64,
    /// `(feature, contribution to the log-odds)`.
    pub drivers: Vec<(String, f64)>,
    /// `((lead_id, registry_id, name), cosine)`, closest first.
    pub similar: Vec<(ClientRef, f64)>,
    pub company: Company,
}

/// A client's scores.
#[derive(Debug, Clone)]
pub struct ClientRow {
    pub score: f64,
    pub raw_score: f64,
    pub percentile: Option<f64>,
    pub baseline_score: f64,
    pub baseline_percentile: Option<f64>,
}

/// A client row to write.
pub struct ClientOut<'a> {
    pub lead_id: &'a str,
    pub matched_by: &'static str,
    pub status: &'static str,
    pub role: &'static str,
    pub company: &'a Company,
    pub row: &'a ClientRow,
}

fn struct_fields(t: DataType) -> anyhow::Result<Fields> {
    if let DataType::List(f) = &t {
        if let DataType::Struct(fields) = f.data_type() {
            return Ok(fields.clone());
        }
    }
    anyhow::bail!("prospects schema: {t} is not a list of structs")
}

fn text<'a>(values: impl Iterator<Item = &'a Option<String>>) -> ArrayRef {
    Arc::new(values.map(|v| v.as_deref()).collect::<StringArray>())
}

fn dict<'a>(values: impl Iterator<Item = &'a Option<String>>) -> ArrayRef {
    table::dict_opt(values.map(|v| v.as_deref()))
}

/// `prospects` (already in rank order) as a batch.
pub fn prospects_batch(ps: &[Prospect]) -> anyhow::Result<RecordBatch> {
    let sim_fields = struct_fields(schema::similar_client_list())?;
    let mut similar =
        ListBuilder::new(StructBuilder::from_fields(sim_fields.clone(), 0)).with_field(Arc::new(
            Field::new("item", DataType::Struct(sim_fields), false),
        ));
    let drv_fields = struct_fields(schema::driver_list())?;
    let mut drivers =
        ListBuilder::new(StructBuilder::from_fields(drv_fields.clone(), 0)).with_field(Arc::new(
            Field::new("item", DataType::Struct(drv_fields), false),
        ));
    for p in ps {
        for ((lead, id, name), cos) in &p.similar {
            let b = similar.values();
            b.field_builder::<StringBuilder>(0)
                .context("similar_clients.lead_id")?
                .append_value(lead);
            b.field_builder::<StringBuilder>(1)
                .context("similar_clients.registry_id")?
                .append_value(id);
            b.field_builder::<StringBuilder>(2)
                .context("similar_clients.name")?
                .append_option(name.as_deref());
            b.field_builder::<Float64Builder>(3)
                .context("similar_clients.similarity")?
                .append_value(*cos);
            b.append(true);
        }
        similar.append(true);
        for (f, c) in &p.drivers {
            let b = drivers.values();
            b.field_builder::<StringBuilder>(0)
                .context("drivers.feature")?
                .append_value(f);
            b.field_builder::<Float64Builder>(1)
                .context("drivers.contribution")?
                .append_value(*c);
            b.append(true);
        }
        drivers.append(true);
    }
    let c = || ps.iter().map(|p| &p.company);
    let cols: Vec<ArrayRef> = vec![
        Arc::new(ps.iter().map(|p| Some(p.rank)).collect::<UInt32Array>()),
        table::dict(c().map(|c| c.registry.as_str())),
        Arc::new(
            c().map(|c| Some(c.registry_id.as_str()))
                .collect::<StringArray>(),
        ),
        text(c().map(|c| &c.name)),
        Arc::new(ps.iter().map(|p| Some(p.score)).collect::<Float64Array>()),
        Arc::new(
            ps.iter()
                .map(|p| Some(p.raw_score))
                .collect::<Float64Array>(),
        ),
        Arc::new(
            ps.iter()
                .map(|p| Some(p.percentile))
                .collect::<Float64Array>(),
        ),
        Arc::new(
            ps.iter()
                .map(|p| Some(p.baseline_score))
                .collect::<Float64Array>(),
        ),
        Arc::new(drivers.finish()),
        Arc::new(similar.finish()),
        dict(c().map(|c| &c.nace_section)),
        dict(c().map(|c| &c.nace_division)),
        text(c().map(|c| &c.industry_code)),
        dict(c().map(|c| &c.headcount_band)),
        Arc::new(c().map(|c| c.headcount_min).collect::<UInt32Array>()),
        Arc::new(c().map(|c| c.headcount_max).collect::<UInt32Array>()),
        Arc::new(c().map(|c| c.created).collect::<Date32Array>()),
        dict(c().map(|c| &c.legal_form)),
        dict(c().map(|c| &c.category)),
        text(c().map(|c| &c.address)),
        text(c().map(|c| &c.postcode)),
        text(c().map(|c| &c.city)),
        text(c().map(|c| &c.region)),
        dict(c().map(|c| &c.country)),
        text(c().map(|c| &c.head_office_siret)),
    ];
    Ok(RecordBatch::try_new(PROSPECTS.arrow_schema(), cols)?)
}

/// `prospect_clients` as a batch.
pub fn clients_batch(cs: &[ClientOut<'_>]) -> anyhow::Result<RecordBatch> {
    let c = || cs.iter().map(|c| c.company);
    let cols: Vec<ArrayRef> = vec![
        Arc::new(cs.iter().map(|c| Some(c.lead_id)).collect::<StringArray>()),
        table::dict(c().map(|c| c.registry.as_str())),
        Arc::new(
            c().map(|c| Some(c.registry_id.as_str()))
                .collect::<StringArray>(),
        ),
        table::dict(cs.iter().map(|c| c.matched_by)),
        text(c().map(|c| &c.name)),
        table::dict(cs.iter().map(|c| c.status)),
        table::dict(cs.iter().map(|c| c.role)),
        Arc::new(
            cs.iter()
                .map(|c| Some(c.row.score))
                .collect::<Float64Array>(),
        ),
        Arc::new(
            cs.iter()
                .map(|c| Some(c.row.raw_score))
                .collect::<Float64Array>(),
        ),
        Arc::new(
            cs.iter()
                .map(|c| c.row.percentile)
                .collect::<Float64Array>(),
        ),
        Arc::new(
            cs.iter()
                .map(|c| Some(c.row.baseline_score))
                .collect::<Float64Array>(),
        ),
        Arc::new(
            cs.iter()
                .map(|c| c.row.baseline_percentile)
                .collect::<Float64Array>(),
        ),
        dict(c().map(|c| &c.nace_section)),
        dict(c().map(|c| &c.nace_division)),
        dict(c().map(|c| &c.headcount_band)),
        text(c().map(|c| &c.region)),
        Arc::new(c().map(|c| c.created).collect::<Date32Array>()),
    ];
    Ok(RecordBatch::try_new(PROSPECT_CLIENTS.arrow_schema(), cols)?)
}
