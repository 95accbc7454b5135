//! The Arrow encoding of `scores`: one row per scored lead, ranked, with its tier, model,
//! nearest won leads and drivers.

use std::sync::Arc;

use anyhow::Context;
use arrow::array::{
    Array, ArrayRef, AsArray, Float64Array, Float64Builder, ListBuilder, RecordBatch, StringArray,
    StringBuilder, StructBuilder, UInt32Array,
};
use arrow::datatypes::{DataType, Field, Fields};

use crate::schema::{self, SCORES};
use crate::table;

/// One scored lead; `row` and the rows in `similar` index the loaded leads.
pub struct Scored {
    pub row: usize,
    pub probability: f64,
    pub tier: &'static str,
    /// `(row of a won lead, cosine)`, nearest first.
    pub similar: Vec<(usize, f64)>,
    /// `(feature, contribution to the log-odds)`.
    pub drivers: Vec<(String, f64)>,
}

/// The fields of a list-of-structs column of the schema.
fn struct_fields(t: DataType) -> anyhow::Result<Fields> {
    if let DataType::List(f) = &t {
        if let DataType::Struct(fields) = f.data_type() {
            return Ok(fields.clone());
        }
    }
    anyhow::bail!("scores schema: {t} is not a list of structs")
}

/// `scored` (already in rank order) as a `scores` batch; `features` gives the names, ids and
/// domains of the loaded leads, `lead_ids` their ids.
pub fn batch(
    lead_ids: &[String],
    features: &RecordBatch,
    scored: &[Scored],
    model: &str,
) -> anyhow::Result<RecordBatch> {
    let names = features.column_by_name("name").context("features.name")?;
    let names = names.as_string::<i32>();
    let text = |c: &str| -> anyhow::Result<StringArray> {
        let a = features
            .column_by_name(c)
            .with_context(|| format!("features.{c}"))?;
        let a = arrow::compute::cast(a, &DataType::Utf8)?;
        let a = a.as_string::<i32>();
        Ok(scored
            .iter()
            .map(|s| (!a.is_null(s.row)).then(|| a.value(s.row)))
            .collect())
    };
    let sim_fields = struct_fields(schema::similar_list())?;
    let mut similar =
        ListBuilder::new(StructBuilder::from_fields(sim_fields.clone(), 0)).with_field(Arc::new(
            Field::new("item", DataType::Struct(sim_fields), false),
        ));
    let drv_fields = struct_fields(schema::driver_list())?;
    let mut drivers =
        ListBuilder::new(StructBuilder::from_fields(drv_fields.clone(), 0)).with_field(Arc::new(
            Field::new("item", DataType::Struct(drv_fields), false),
        ));
    for s in scored {
        for &(r, cos) in &s.similar {
            let b = similar.values();
            b.field_builder::<StringBuilder>(0)
                .context("similar.lead_id")?
                .append_value(&lead_ids[r]);
            b.field_builder::<StringBuilder>(1)
                .context("similar.name")?
                .append_value(names.value(r));
            b.field_builder::<Float64Builder>(2)
                .context("similar.cosine")?
                .append_value(cos);
            b.append(true);
        }
        similar.append(true);
        for (f, c) in &s.drivers {
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
    let cols: Vec<ArrayRef> = vec![
        Arc::new(
            scored
                .iter()
                .map(|s| Some(lead_ids[s.row].as_str()))
                .collect::<StringArray>(),
        ),
        Arc::new(text("external_id")?),
        Arc::new(text("name")?),
        Arc::new(text("domain")?),
        Arc::new(
            scored
                .iter()
                .map(|s| Some(s.probability))
                .collect::<Float64Array>(),
        ),
        Arc::new((1..=scored.len() as u32).map(Some).collect::<UInt32Array>()),
        table::dict(scored.iter().map(|s| s.tier)),
        table::dict(scored.iter().map(|_| model)),
        Arc::new(similar.finish()),
        Arc::new(drivers.finish()),
    ];
    Ok(RecordBatch::try_new(SCORES.arrow_schema(), cols)?)
}
