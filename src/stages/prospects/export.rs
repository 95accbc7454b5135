//! `leadcrawl export prospects --top N`: the best prospects as a lead list CSV that
//! `leadcrawl run` reads as its input (`ingest` finds the name, SIREN / company number and
//! country columns by their headers), so that the next run crawls and enriches them.

use std::io::Write;
use std::path::Path;

use arrow::array::{Array, AsArray, RecordBatch};
use arrow::compute::cast;
use arrow::datatypes::DataType;

use crate::config::Config;
use crate::exit::UsageError;
use crate::schema::PROSPECTS;

/// The CSV's columns: `(header, prospects column)`. `siren` and `company number` are the
/// headers `ingest` maps to those identifiers; the `prospect …` columns become the next run's
/// lead attributes.
const COLUMNS: &[(&str, &str)] = &[
    ("name", "name"),
    ("siren", "registry_id"),
    ("company number", "registry_id"),
    ("country", "country"),
    ("address", "address"),
    ("postcode", "postcode"),
    ("city", "city"),
    ("nace division", "nace_division"),
    ("industry code", "industry_code"),
    ("headcount band", "headcount_band"),
    ("prospect rank", "rank"),
    ("prospect score", "score"),
    ("prospect percentile", "percentile"),
];

/// Writes the best `top` prospects (all of them without `top`) of `config`'s output folder to
/// `out` as CSV; returns how many were written.
///
/// Errors: a [`UsageError`] when `prospects.parquet` is not there (the stage has not run).
pub fn write_csv(
    config: &Config,
    top: Option<usize>,
    out: &mut dyn Write,
) -> anyhow::Result<usize> {
    let path = config
        .output_dir()
        .join(format!("{}.parquet", PROSPECTS.name));
    if !path.is_file() {
        return Err(UsageError(format!(
            "{} not found: run the prospects stage first (`leadcrawl run --stages universe,prospects` with [universe] files set)",
            path.display()
        ))
        .into());
    }
    let batches = crate::table::read_file(&path)?;
    let mut w = csv::Writer::from_writer(out);
    w.write_record(COLUMNS.iter().map(|(h, _)| *h))?;
    let mut written = 0;
    for b in &batches {
        let cols = columns(b)?;
        let registry = cast(
            b.column_by_name("registry")
                .ok_or_else(|| anyhow::anyhow!("prospects.registry missing"))?,
            &DataType::Utf8,
        )?;
        let registry = registry.as_string::<i32>();
        for r in 0..b.num_rows() {
            if top.is_some_and(|t| written >= t) {
                break;
            }
            let record: Vec<String> = COLUMNS
                .iter()
                .zip(&cols)
                .map(|((header, _), c)| {
                    // One identifier column per registry: the other stays empty.
                    let wrong_registry = match *header {
                        "siren" => registry.value(r) != "sirene",
                        "company number" => registry.value(r) != "companies_house",
                        _ => false,
                    };
                    if c.is_null(r) || wrong_registry {
                        String::new()
                    } else {
                        c.value(r).to_owned()
                    }
                })
                .collect();
            w.write_record(&record)?;
            written += 1;
        }
    }
    w.flush()?;
    Ok(written)
}

/// The CSV's source columns of a batch, as text.
fn columns(b: &RecordBatch) -> anyhow::Result<Vec<arrow::array::StringArray>> {
    COLUMNS
        .iter()
        .map(|(_, name)| {
            let c = b
                .column_by_name(name)
                .ok_or_else(|| anyhow::anyhow!("prospects.{name} missing"))?;
            Ok(cast(c, &DataType::Utf8)?.as_string::<i32>().clone())
        })
        .collect()
}

/// `leadcrawl export prospects`: to `output` (a file, written whole then renamed into place) or
/// standard output.
pub fn run(config: &Config, top: Option<usize>, output: Option<&Path>) -> anyhow::Result<usize> {
    match output {
        None => write_csv(config, top, &mut std::io::stdout().lock()),
        Some(path) => {
            let tmp = path.with_extension("csv.tmp");
            let mut file = std::io::BufWriter::new(
                std::fs::File::create(&tmp)
                    .map_err(|e| UsageError(format!("--output {}: {e}", path.display())))?,
            );
            let n = match write_csv(config, top, &mut file) {
                Ok(n) => n,
                Err(e) => {
                    drop(file);
                    let _ = std::fs::remove_file(&tmp);
                    return Err(e);
                }
            };
            file.flush()?;
            drop(file);
            std::fs::rename(&tmp, path)?;
            Ok(n)
        }
    }
}
