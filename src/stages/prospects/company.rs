//! A universe company as the prospects stage uses it: read from the `universe` table's record
//! batches (streamed part by part, a projection of the columns it needs), and turned into
//! `learn`'s plain columns (the model's features).

use std::path::Path;

use anyhow::Context;
use arrow::array::{Array, AsArray, RecordBatch};
use arrow::compute::cast;
use arrow::datatypes::{DataType, Date32Type, UInt32Type};
use learn::{Block, Column, Dataset};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::arrow::ProjectionMask;

use crate::state::PartRecord;
use crate::table;

/// The universe columns the stage reads.
pub const COLUMNS: &[&str] = &[
    "registry",
    "registry_id",
    "name",
    "status",
    "industry_code",
    "nace_section",
    "nace_division",
    "headcount_band",
    "headcount_min",
    "headcount_max",
    "created",
    "legal_form",
    "category",
    "employer",
    "postcode",
    "city",
    "region",
    "country",
    "address",
    "head_office_siret",
];

/// One universe company.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Company {
    pub registry: String,
    pub registry_id: String,
    pub name: Option<String>,
    pub active: bool,
    pub industry_code: Option<String>,
    pub nace_section: Option<String>,
    pub nace_division: Option<String>,
    pub headcount_band: Option<String>,
    pub headcount_min: Option<u32>,
    pub headcount_max: Option<u32>,
    /// Days since 1970-01-01.
    pub created: Option<i32>,
    pub legal_form: Option<String>,
    pub category: Option<String>,
    pub employer: Option<bool>,
    pub postcode: Option<String>,
    pub city: Option<String>,
    pub region: Option<String>,
    pub country: Option<String>,
    pub address: Option<String>,
    pub head_office_siret: Option<String>,
}

impl Company {
    /// The company's identifier across registries: `(registry, id)`.
    pub fn key(&self) -> (String, String) {
        (self.registry.clone(), self.registry_id.clone())
    }

    /// Age in years at `reference` (days since 1970-01-01).
    pub fn age_years(&self, reference: i32) -> Option<f64> {
        self.created
            .map(|c| (f64::from(reference - c) / 365.25).max(0.0))
    }
}

/// Streams one registered part of the universe, `f` called on each record batch of the
/// stage's columns: never the whole part in memory.
pub fn stream_part(
    output_dir: &Path,
    part: &PartRecord,
    mut f: impl FnMut(&RecordBatch) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    table::check_size(output_dir, "universe", part)?;
    let path = output_dir.join(&part.file);
    let file = std::fs::File::open(&path).with_context(|| format!("{}", path.display()))?;
    let builder = ParquetRecordBatchReaderBuilder::try_new(file)
        .with_context(|| format!("{}", path.display()))?;
    let schema = builder.parquet_schema();
    let indices: Vec<usize> = (0..schema.num_columns())
        .filter(|&i| COLUMNS.contains(&schema.column(i).name()))
        .collect();
    let mask = ProjectionMask::leaves(schema, indices);
    let reader = builder
        .with_projection(mask)
        .with_batch_size(65_536)
        .build()
        .with_context(|| format!("{}", path.display()))?;
    for batch in reader {
        f(&batch.with_context(|| format!("{}", path.display()))?)?;
    }
    Ok(())
}

/// A batch's string column (dictionary or plain), as Utf8; all null when the column is absent.
fn strings(b: &RecordBatch, name: &str) -> anyhow::Result<arrow::array::ArrayRef> {
    Ok(match b.column_by_name(name) {
        Some(c) => cast(c, &DataType::Utf8).with_context(|| format!("universe.{name}"))?,
        None => arrow::array::new_null_array(&DataType::Utf8, b.num_rows()),
    })
}

/// The companies of a batch, in row order; `keep(registry, registry_id, active)` says which to
/// build (the others are skipped before any allocation).
pub fn companies(
    b: &RecordBatch,
    mut keep: impl FnMut(&str, &str, bool) -> bool,
) -> anyhow::Result<Vec<Company>> {
    let registry = strings(b, "registry")?;
    let registry = registry.as_string::<i32>();
    let id = strings(b, "registry_id")?;
    let id = id.as_string::<i32>();
    let status = strings(b, "status")?;
    let status = status.as_string::<i32>();
    let text_names = [
        "name",
        "industry_code",
        "nace_section",
        "nace_division",
        "headcount_band",
        "legal_form",
        "category",
        "postcode",
        "city",
        "region",
        "country",
        "address",
        "head_office_siret",
    ];
    let texts: Vec<arrow::array::ArrayRef> = text_names
        .iter()
        .map(|n| strings(b, n))
        .collect::<anyhow::Result<_>>()?;
    let texts: Vec<&arrow::array::StringArray> = texts.iter().map(|a| a.as_string()).collect();
    let u32s = |name: &str| -> anyhow::Result<arrow::array::ArrayRef> {
        Ok(match b.column_by_name(name) {
            Some(c) => cast(c, &DataType::UInt32).with_context(|| format!("universe.{name}"))?,
            None => arrow::array::new_null_array(&DataType::UInt32, b.num_rows()),
        })
    };
    let hmin = u32s("headcount_min")?;
    let hmin = hmin.as_primitive::<UInt32Type>();
    let hmax = u32s("headcount_max")?;
    let hmax = hmax.as_primitive::<UInt32Type>();
    let created = match b.column_by_name("created") {
        Some(c) => cast(c, &DataType::Date32).context("universe.created")?,
        None => arrow::array::new_null_array(&DataType::Date32, b.num_rows()),
    };
    let created = created.as_primitive::<Date32Type>();
    let employer = match b.column_by_name("employer") {
        Some(c) => cast(c, &DataType::Boolean).context("universe.employer")?,
        None => arrow::array::new_null_array(&DataType::Boolean, b.num_rows()),
    };
    let employer = employer.as_boolean();
    let mut out = Vec::new();
    for r in 0..b.num_rows() {
        if registry.is_null(r) || id.is_null(r) {
            continue;
        }
        let active = status.is_null(r) || status.value(r) == "active";
        if !keep(registry.value(r), id.value(r), active) {
            continue;
        }
        let t = |i: usize| (!texts[i].is_null(r)).then(|| texts[i].value(r).to_owned());
        out.push(Company {
            registry: registry.value(r).to_owned(),
            registry_id: id.value(r).to_owned(),
            name: t(0),
            active,
            industry_code: t(1),
            nace_section: t(2),
            nace_division: t(3),
            headcount_band: t(4),
            legal_form: t(5),
            category: t(6),
            postcode: t(7),
            city: t(8),
            region: t(9),
            country: t(10),
            address: t(11),
            head_office_siret: t(12),
            headcount_min: (!hmin.is_null(r)).then(|| hmin.value(r)),
            headcount_max: (!hmax.is_null(r)).then(|| hmax.value(r)),
            created: (!created.is_null(r)).then(|| created.value(r)),
            employer: (!employer.is_null(r)).then(|| employer.value(r)),
        });
    }
    Ok(out)
}

/// The model's features of `companies` (labels all `false`; the caller sets them), without the
/// features named in `exclude`. Numbers: headcount bounds as `ln(1 + n)`, age in years at
/// `reference`, employer as 0/1; the rest are categories.
pub fn dataset<'a>(
    companies: impl ExactSizeIterator<Item = &'a Company> + Clone,
    reference: i32,
    exclude: &[String],
) -> Dataset {
    let n = companies.len();
    let wanted = |name: &str| !exclude.iter().any(|e| e == name);
    let mut numeric = Vec::new();
    let mut num = |name: &str, f: &dyn Fn(&Company) -> Option<f64>| {
        if wanted(name) {
            numeric.push(Column::new(name, companies.clone().map(f).collect()));
        }
    };
    num("headcount_min", &|c| {
        c.headcount_min.map(|v| learn::signed_log1p(f64::from(v)))
    });
    num("headcount_max", &|c| {
        c.headcount_max.map(|v| learn::signed_log1p(f64::from(v)))
    });
    num("age_years", &|c| c.age_years(reference));
    num("employer", &|c| c.employer.map(|e| f64::from(u8::from(e))));
    let mut categorical = Vec::new();
    let mut cat = |name: &str, f: &dyn Fn(&Company) -> Option<String>| {
        if wanted(name) {
            categorical.push(Column::new(name, companies.clone().map(f).collect()));
        }
    };
    cat("nace_section", &|c| c.nace_section.clone());
    cat("nace_division", &|c| c.nace_division.clone());
    cat("headcount_band", &|c| c.headcount_band.clone());
    cat("legal_form", &|c| c.legal_form.clone());
    cat("category", &|c| c.category.clone());
    cat("region", &|c| c.region.clone());
    cat("country", &|c| c.country.clone());
    Dataset {
        labels: vec![false; n],
        embedding: vec![None; n],
        firmographics: Block {
            numeric,
            categorical,
        },
        web: Block::default(),
        attributes: Block::default(),
        text: vec![String::new(); n],
    }
}

/// The headcount band a person reads (by the band's lower bound), for the client profile.
pub fn size_band(c: &Company) -> &'static str {
    match c.headcount_min {
        None => "unknown",
        Some(0) => "0",
        Some(1..=9) => "1-9",
        Some(10..=49) => "10-49",
        Some(50..=249) => "50-249",
        Some(250..=999) => "250-999",
        Some(_) => "1000+",
    }
}

/// The company's age band at `reference`, for the client profile.
pub fn age_band(c: &Company, reference: i32) -> &'static str {
    match c.age_years(reference) {
        None => "unknown",
        Some(a) if a < 3.0 => "0-2 years",
        Some(a) if a < 6.0 => "3-5 years",
        Some(a) if a < 11.0 => "6-10 years",
        Some(a) if a < 21.0 => "11-20 years",
        Some(_) => "21+ years",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn features_leave_out_the_excluded_and_read_numbers_on_the_model_scale() {
        let c = Company {
            registry: "sirene".into(),
            registry_id: "123456782".into(),
            nace_section: Some("J".into()),
            region: Some("11".into()),
            headcount_min: Some(10),
            created: Some(0),
            employer: Some(true),
            active: true,
            ..Company::default()
        };
        let d = dataset([c.clone()].iter(), 3653, &["region".into()]);
        let names: Vec<&str> = d
            .firmographics
            .categorical
            .iter()
            .map(|c| c.name.as_str())
            .collect();
        assert!(!names.contains(&"region") && names.contains(&"nace_section"));
        let age = d
            .firmographics
            .numeric
            .iter()
            .find(|c| c.name == "age_years")
            .unwrap();
        assert!((age.values[0].unwrap() - 3653.0 / 365.25).abs() < 1e-12);
        let hmin = &d.firmographics.numeric[0];
        assert_eq!(hmin.values[0], Some(11f64.ln()));
        assert_eq!(size_band(&c), "10-49");
        assert_eq!(age_band(&c, 3653), "6-10 years");
    }
}
