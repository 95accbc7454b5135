//! A universe company as the prospects stage uses it: read from the `universe` table's record
//! batches (streamed part by part, a projection of the columns it needs), and turned into
//! `learn`'s plain columns (the model's features).

use std::path::Path;

use anyhow::Context;
use arrow::array::{Array, AsArray, RecordBatch};
use arrow::compute::cast;
use arrow::datatypes::{DataType, Date32Type, UInt32Type};
use learn::{Block, Column, Dataset};
use parquet::arrow::arrow_reader::{
    ArrowReaderOptions, ParquetRecordBatchReaderBuilder, RowSelection,
};
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
        self.created.map(|c| age(reference, c))
    }
}

/// The columns a pass over the whole universe reads: identifiers, status and the model's and
/// the profile's features; not the names, addresses and codes only a prospect's row shows
/// (most of the table's bytes), which [`fetch_rows`] reads for the few companies kept.
pub const SCAN_COLUMNS: &[&str] = &[
    "registry",
    "registry_id",
    "status",
    "nace_section",
    "nace_division",
    "headcount_band",
    "headcount_min",
    "headcount_max",
    "created",
    "legal_form",
    "category",
    "employer",
    "region",
    "country",
];

/// A part's reader over `columns` (of the stage's), the page index loaded when `with_index`.
fn part_reader(
    output_dir: &Path,
    part: &PartRecord,
    columns: &[&str],
    with_index: bool,
) -> anyhow::Result<(
    ParquetRecordBatchReaderBuilder<std::fs::File>,
    std::path::PathBuf,
)> {
    table::check_size(output_dir, "universe", part)?;
    let path = output_dir.join(&part.file);
    let file = std::fs::File::open(&path).with_context(|| format!("{}", path.display()))?;
    let options = ArrowReaderOptions::new().with_page_index(with_index);
    let builder = ParquetRecordBatchReaderBuilder::try_new_with_options(file, options)
        .with_context(|| format!("{}", path.display()))?;
    let schema = builder.parquet_schema();
    let indices: Vec<usize> = (0..schema.num_columns())
        .filter(|&i| columns.contains(&schema.column(i).name()))
        .collect();
    let mask = ProjectionMask::leaves(schema, indices);
    Ok((builder.with_projection(mask), path))
}

/// Streams one registered part of the universe, `f` called on each record batch of
/// [`SCAN_COLUMNS`] with the part's row number of its first row: never the whole part in
/// memory.
pub fn stream_part(
    output_dir: &Path,
    part: &PartRecord,
    mut f: impl FnMut(&RecordBatch, usize) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    let (builder, path) = part_reader(output_dir, part, SCAN_COLUMNS, false)?;
    let reader = builder
        .with_batch_size(65_536)
        .build()
        .with_context(|| format!("{}", path.display()))?;
    let mut first = 0;
    for batch in reader {
        let batch = batch.with_context(|| format!("{}", path.display()))?;
        f(&batch, first)?;
        first += batch.num_rows();
    }
    Ok(())
}

/// Rows `rows` (the part's row numbers, ascending, no repeats) of one part as whole companies,
/// every column of [`COLUMNS`] read for those rows alone (pages skipped by the page index).
/// `None` for a row without an identifier.
pub fn fetch_rows(
    output_dir: &Path,
    part: &PartRecord,
    rows: &[usize],
) -> anyhow::Result<Vec<Option<Company>>> {
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    let (builder, path) = part_reader(output_dir, part, COLUMNS, true)?;
    let total = usize::try_from(builder.metadata().file_metadata().num_rows()).unwrap_or(0);
    anyhow::ensure!(
        rows.windows(2).all(|w| w[0] < w[1]) && rows.last().is_some_and(|&r| r < total),
        "{}: rows to fetch out of order or beyond its {total} rows",
        path.display()
    );
    let selection = RowSelection::from_consecutive_ranges(rows.iter().map(|&r| r..r + 1), total);
    let reader = builder
        .with_row_selection(selection)
        .with_batch_size(rows.len().min(65_536))
        .build()
        .with_context(|| format!("{}", path.display()))?;
    let mut out = Vec::with_capacity(rows.len());
    for batch in reader {
        let view = BatchView::new(&batch.with_context(|| format!("{}", path.display()))?)?;
        out.extend((0..view.len()).map(|r| view.company(r)));
    }
    anyhow::ensure!(
        out.len() == rows.len(),
        "{}: {} rows asked, {} read",
        path.display(),
        rows.len(),
        out.len()
    );
    Ok(out)
}

/// A batch's string column read where it is: a dictionary's values looked up by key (no text
/// copied per row), plain text as it is; all null when the column is absent.
pub enum Text {
    Plain(arrow::array::StringArray),
    Dict {
        keys: arrow::array::Int32Array,
        values: arrow::array::StringArray,
    },
    Null,
}

impl Text {
    fn get(&self, r: usize) -> Option<&str> {
        match self {
            Text::Plain(a) => (!a.is_null(r)).then(|| a.value(r)),
            Text::Dict { keys, values } => {
                if keys.is_null(r) {
                    return None;
                }
                let k = usize::try_from(keys.value(r)).ok()?;
                (k < values.len() && !values.is_null(k)).then(|| values.value(k))
            }
            Text::Null => None,
        }
    }
}

fn strings(b: &RecordBatch, name: &str) -> anyhow::Result<Text> {
    use arrow::datatypes::Int32Type;
    let Some(c) = b.column_by_name(name) else {
        return Ok(Text::Null);
    };
    let text = |a: &dyn Array| -> anyhow::Result<arrow::array::StringArray> {
        Ok(cast(a, &DataType::Utf8)
            .with_context(|| format!("universe.{name}"))?
            .as_string::<i32>()
            .clone())
    };
    Ok(match c.as_dictionary_opt::<Int32Type>() {
        Some(d) => Text::Dict {
            keys: d.keys().clone(),
            values: text(d.values().as_ref())?,
        },
        None => Text::Plain(text(c.as_ref())?),
    })
}

/// A record batch of the universe with its columns cast once (dictionaries to text), from which
/// companies and feature rows are built for the rows wanted only.
pub struct BatchView {
    registry: Text,
    id: Text,
    status: Text,
    /// For a dictionary status: whether each of its values is `active` (compared once).
    active_keys: Option<Vec<bool>>,
    texts: Vec<Text>,
    hmin: arrow::array::ArrayRef,
    hmax: arrow::array::ArrayRef,
    created: arrow::array::ArrayRef,
    employer: arrow::array::ArrayRef,
    rows: usize,
}

/// The text columns of [`BatchView::texts`], in order.
const TEXTS: [&str; 13] = [
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

impl BatchView {
    pub fn new(b: &RecordBatch) -> anyhow::Result<BatchView> {
        let typed = |name: &str, ty: &DataType| -> anyhow::Result<arrow::array::ArrayRef> {
            Ok(match b.column_by_name(name) {
                Some(c) => cast(c, ty).with_context(|| format!("universe.{name}"))?,
                None => arrow::array::new_null_array(ty, b.num_rows()),
            })
        };
        let status = strings(b, "status")?;
        let active_keys = match &status {
            Text::Dict { values, .. } => Some(
                (0..values.len())
                    .map(|k| !values.is_null(k) && values.value(k) == "active")
                    .collect(),
            ),
            _ => None,
        };
        Ok(BatchView {
            registry: strings(b, "registry")?,
            id: strings(b, "registry_id")?,
            status,
            active_keys,
            texts: TEXTS
                .iter()
                .map(|n| strings(b, n))
                .collect::<anyhow::Result<_>>()?,
            hmin: typed("headcount_min", &DataType::UInt32)?,
            hmax: typed("headcount_max", &DataType::UInt32)?,
            created: typed("created", &DataType::Date32)?,
            employer: typed("employer", &DataType::Boolean)?,
            rows: b.num_rows(),
        })
    }

    pub fn len(&self) -> usize {
        self.rows
    }

    pub fn is_empty(&self) -> bool {
        self.rows == 0
    }

    /// Row `r`'s `(registry, registry_id, active)`; `None` without an identifier.
    pub fn key(&self, r: usize) -> Option<(&str, &str, bool)> {
        Some((self.registry.get(r)?, self.id.get(r)?, self.is_active(r)))
    }

    /// Only what the registry calls active: a null status (Companies House's "In
    /// Administration" and the like, kept when `universe.active_only` is off) is not.
    fn is_active(&self, r: usize) -> bool {
        match (&self.status, &self.active_keys) {
            (Text::Dict { keys, .. }, Some(active)) => {
                !keys.is_null(r)
                    && usize::try_from(keys.value(r))
                        .ok()
                        .and_then(|k| active.get(k).copied())
                        .unwrap_or(false)
            }
            _ => self.status.get(r) == Some("active"),
        }
    }

    fn text(&self, i: usize, r: usize) -> Option<&str> {
        self.texts[i].get(r)
    }

    /// How many of `rows` hold each value of profile column `column` (`nace_section`,
    /// `region`; `headcount` is [`BatchView::size_band`]), missing values as `unknown`: counted
    /// by dictionary key, the text looked up once per value.
    pub fn value_counts<'a>(&'a self, column: &str, rows: &[usize]) -> Vec<(&'a str, u64)> {
        let mut out: Vec<(&'a str, u64)> = Vec::new();
        let mut add = |v: &'a str, n: u64| match out.iter_mut().find(|(x, _)| *x == v) {
            Some((_, m)) => *m += n,
            None => out.push((v, n)),
        };
        let i = match column {
            "nace_section" => 2,
            "region" => 9,
            _ => {
                let mut by_band = [0u64; 7];
                const BANDS: [Option<u32>; 7] = [
                    None,
                    Some(0),
                    Some(1),
                    Some(10),
                    Some(50),
                    Some(250),
                    Some(1000),
                ];
                for &r in rows {
                    let b = match self.hmin(r) {
                        None => 0,
                        Some(0) => 1,
                        Some(1..=9) => 2,
                        Some(10..=49) => 3,
                        Some(50..=249) => 4,
                        Some(250..=999) => 5,
                        Some(_) => 6,
                    };
                    by_band[b] += 1;
                }
                for (b, n) in BANDS.iter().zip(by_band) {
                    if n > 0 {
                        add(band_of(*b), n);
                    }
                }
                return out;
            }
        };
        match &self.texts[i] {
            Text::Dict { keys, values } => {
                // One slot per dictionary value, the last for a missing one.
                let mut by_key = vec![0u64; values.len() + 1];
                for &r in rows {
                    let k = if keys.is_null(r) {
                        values.len()
                    } else {
                        usize::try_from(keys.value(r)).map_or(values.len(), |k| k.min(values.len()))
                    };
                    by_key[k] += 1;
                }
                for (k, &n) in by_key.iter().enumerate() {
                    if n > 0 {
                        let v = (k < values.len() && !values.is_null(k)).then(|| values.value(k));
                        add(v.unwrap_or("unknown"), n);
                    }
                }
            }
            _ => {
                for &r in rows {
                    add(self.text(i, r).unwrap_or("unknown"), 1);
                }
            }
        }
        out
    }

    fn hmin(&self, r: usize) -> Option<u32> {
        let a = self.hmin.as_primitive::<UInt32Type>();
        (!a.is_null(r)).then(|| a.value(r))
    }

    fn hmax(&self, r: usize) -> Option<u32> {
        let a = self.hmax.as_primitive::<UInt32Type>();
        (!a.is_null(r)).then(|| a.value(r))
    }

    fn created(&self, r: usize) -> Option<i32> {
        let a = self.created.as_primitive::<Date32Type>();
        (!a.is_null(r)).then(|| a.value(r))
    }

    fn employer(&self, r: usize) -> Option<bool> {
        let a = self.employer.as_boolean();
        (!a.is_null(r)).then(|| a.value(r))
    }

    /// Row `r`'s NACE section, `(NACE division, headcount band)` and region.
    #[allow(clippy::type_complexity)]
    pub fn segments(&self, r: usize) -> (Option<&str>, (Option<&str>, Option<&str>), Option<&str>) {
        (
            self.text(2, r),
            (self.text(3, r), self.text(4, r)),
            self.text(9, r),
        )
    }

    /// Row `r`'s headcount band for people ([`size_band`]).
    pub fn size_band(&self, r: usize) -> &'static str {
        band_of(self.hmin(r))
    }

    /// Row `r`'s creation day.
    pub fn created_day(&self, r: usize) -> Option<i32> {
        self.created(r)
    }

    /// Row `r` as a company (`None` without an identifier).
    pub fn company(&self, r: usize) -> Option<Company> {
        let (registry, id, active) = self.key(r)?;
        let t = |i: usize| self.text(i, r).map(str::to_owned);
        Some(Company {
            registry: registry.to_owned(),
            registry_id: id.to_owned(),
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
            headcount_min: self.hmin(r),
            headcount_max: self.hmax(r),
            created: self.created(r),
            employer: self.employer(r),
        })
    }

    /// The features of `rows`, as [`dataset`] gives them for the same companies, built from the
    /// columns without making the companies.
    pub fn dataset(&self, rows: &[usize], reference: i32, exclude: &[String]) -> Dataset {
        let wanted = |name: &str| !exclude.iter().any(|e| e == name);
        let mut numeric = Vec::new();
        let mut num = |name: &str, f: &dyn Fn(usize) -> Option<f64>| {
            if wanted(name) {
                numeric.push(Column::new(name, rows.iter().map(|&r| f(r)).collect()));
            }
        };
        num("headcount_min", &|r| {
            self.hmin(r).map(|v| learn::signed_log1p(f64::from(v)))
        });
        num("headcount_max", &|r| {
            self.hmax(r).map(|v| learn::signed_log1p(f64::from(v)))
        });
        num("age_years", &|r| self.created(r).map(|c| age(reference, c)));
        num("employer", &|r| {
            self.employer(r).map(|e| f64::from(u8::from(e)))
        });
        let mut categorical = Vec::new();
        for name in [
            "nace_section",
            "nace_division",
            "headcount_band",
            "legal_form",
            "category",
            "region",
            "country",
        ] {
            if let Some(i) = category_column(name).filter(|_| wanted(name)) {
                categorical.push(Column::new(
                    name,
                    rows.iter()
                        .map(|&r| self.text(i, r).map(str::to_owned))
                        .collect(),
                ));
            }
        }
        features(rows.len(), numeric, categorical)
    }
}

/// A numeric feature of [`BatchView::dataset`], read per row by [`BatchView::linear_scores`].
#[derive(Clone, Copy)]
enum Numeric {
    HeadcountMin,
    HeadcountMax,
    Age,
    Employer,
}

/// A categorical feature's weights for one batch: by dictionary key (looked up once per
/// dictionary value), or by value per row for plain text.
enum Weights<'a> {
    Keys(&'a arrow::array::Int32Array, Vec<Option<f64>>),
    Rows(usize),
    Missing(Option<f64>),
}

/// The [`BatchView::texts`] column of categorical feature `name`.
fn category_column(name: &str) -> Option<usize> {
    Some(match name {
        "nace_section" => 2,
        "nace_division" => 3,
        "headcount_band" => 4,
        "legal_form" => 5,
        "category" => 6,
        "region" => 9,
        "country" => 10,
        _ => return None,
    })
}

impl BatchView {
    fn numeric(&self, f: Numeric, r: usize, reference: i32) -> Option<f64> {
        match f {
            Numeric::HeadcountMin => self.hmin(r).map(|v| learn::signed_log1p(f64::from(v))),
            Numeric::HeadcountMax => self.hmax(r).map(|v| learn::signed_log1p(f64::from(v))),
            Numeric::Age => self.created(r).map(|c| age(reference, c)),
            Numeric::Employer => self.employer(r).map(|e| f64::from(u8::from(e))),
        }
    }

    /// The baseline's score of each of `rows` (`baseline.score` of its NACE division and
    /// headcount band), computed once per pair of dictionary values.
    pub fn baseline_scores(
        &self,
        baseline: &learn::pu::SegmentBaseline,
        rows: &[usize],
    ) -> Vec<f64> {
        let (
            Text::Dict {
                keys: dk,
                values: dv,
            },
            Text::Dict {
                keys: bk,
                values: bv,
            },
        ) = (&self.texts[3], &self.texts[4])
        else {
            return rows
                .iter()
                .map(|&r| baseline.score(self.text(3, r), self.text(4, r)))
                .collect();
        };
        // One slot per pair of keys, the last of each for a missing value; filled when first met.
        let (nd, nb) = (dv.len() + 1, bv.len() + 1);
        let mut table: Vec<Option<f64>> = vec![None; nd * nb];
        let key = |keys: &arrow::array::Int32Array, n: usize, r: usize| {
            if keys.is_null(r) {
                n - 1
            } else {
                usize::try_from(keys.value(r)).map_or(n - 1, |k| k.min(n - 1))
            }
        };
        rows.iter()
            .map(|&r| {
                let slot = key(dk, nd, r) * nb + key(bk, nb, r);
                *table[slot].get_or_insert_with(|| baseline.score(self.text(3, r), self.text(4, r)))
            })
            .collect()
    }

    /// The probabilities `lin` gives `rows`: what the model gives [`BatchView::dataset`]'s rows,
    /// bit for bit, with each category's weight looked up once per dictionary value instead of
    /// a feature row built per company.
    ///
    /// Errors: a model feature this view does not have.
    pub fn linear_scores(
        &self,
        lin: &learn::LinearScorer<'_>,
        rows: &[usize],
        reference: i32,
    ) -> anyhow::Result<Vec<f64>> {
        let numeric: Vec<Numeric> = lin
            .numeric_names()
            .iter()
            .map(|n| {
                Ok(match n.as_str() {
                    "headcount_min" => Numeric::HeadcountMin,
                    "headcount_max" => Numeric::HeadcountMax,
                    "age_years" => Numeric::Age,
                    "employer" => Numeric::Employer,
                    other => anyhow::bail!("the model reads {other:?}, not a universe number"),
                })
            })
            .collect::<anyhow::Result<_>>()?;
        let weights: Vec<Weights<'_>> = lin
            .categorical_names()
            .enumerate()
            .map(|(c, name)| {
                let i = category_column(name)
                    .with_context(|| format!("the model reads {name:?}, not a universe column"))?;
                Ok(match &self.texts[i] {
                    Text::Dict { keys, values } => Weights::Keys(
                        keys,
                        (0..values.len())
                            .map(|k| {
                                lin.category_weight(
                                    c,
                                    (!values.is_null(k)).then(|| values.value(k)),
                                )
                            })
                            .collect(),
                    ),
                    Text::Plain(_) => Weights::Rows(i),
                    Text::Null => Weights::Missing(lin.category_weight(c, None)),
                })
            })
            .collect::<anyhow::Result<_>>()?;
        let mut num = vec![None; numeric.len()];
        let mut cat = vec![None; weights.len()];
        let mut terms = Vec::new();
        let mut out = Vec::with_capacity(rows.len());
        for &r in rows {
            for (v, &f) in num.iter_mut().zip(&numeric) {
                *v = self.numeric(f, r, reference);
            }
            for (c, (v, w)) in cat.iter_mut().zip(&weights).enumerate() {
                *v = match w {
                    Weights::Keys(keys, by_key) => {
                        if keys.is_null(r) {
                            lin.category_weight(c, None)
                        } else {
                            usize::try_from(keys.value(r))
                                .ok()
                                .and_then(|k| by_key.get(k).copied())
                                .unwrap_or_else(|| lin.category_weight(c, None))
                        }
                    }
                    Weights::Rows(i) => lin.category_weight(c, self.text(*i, r)),
                    Weights::Missing(w) => *w,
                };
            }
            out.push(lin.probability(&num, &cat, &mut terms)?);
        }
        Ok(out)
    }
}

/// Years from `created` to `reference` (days since 1970-01-01), at least 0.
fn age(reference: i32, created: i32) -> f64 {
    (f64::from(reference - created) / 365.25).max(0.0)
}

fn features(n: usize, numeric: Vec<Column<f64>>, categorical: Vec<Column<String>>) -> Dataset {
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
    features(n, numeric, categorical)
}

/// The headcount band a person reads (by the band's lower bound), for the client profile.
pub fn size_band(c: &Company) -> &'static str {
    band_of(c.headcount_min)
}

fn band_of(headcount_min: Option<u32>) -> &'static str {
    match headcount_min {
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

    /// A batch of the universe's columns for `companies`: some text columns as dictionaries,
    /// some plain, one absent (`category`, all missing).
    fn batch(companies: &[Company]) -> RecordBatch {
        use arrow::array::{
            ArrayRef, BooleanArray, Date32Array, DictionaryArray, StringArray, UInt32Array,
        };
        use arrow::datatypes::Int32Type;
        use std::sync::Arc;
        let text = |f: &dyn Fn(&Company) -> Option<String>| -> Vec<Option<String>> {
            companies.iter().map(f).collect()
        };
        let dict = |v: Vec<Option<String>>| -> ArrayRef {
            Arc::new(
                v.iter()
                    .map(|x| x.as_deref())
                    .collect::<DictionaryArray<Int32Type>>(),
            )
        };
        let plain = |v: Vec<Option<String>>| -> ArrayRef { Arc::new(StringArray::from(v)) };
        RecordBatch::try_from_iter([
            ("registry", dict(text(&|c| Some(c.registry.clone())))),
            ("registry_id", plain(text(&|c| Some(c.registry_id.clone())))),
            (
                "status",
                dict(text(&|c| c.active.then(|| "active".to_owned()))),
            ),
            ("nace_section", dict(text(&|c| c.nace_section.clone()))),
            ("nace_division", dict(text(&|c| c.nace_division.clone()))),
            ("headcount_band", dict(text(&|c| c.headcount_band.clone()))),
            ("legal_form", plain(text(&|c| c.legal_form.clone()))),
            ("region", dict(text(&|c| c.region.clone()))),
            ("country", dict(text(&|c| c.country.clone()))),
            (
                "headcount_min",
                Arc::new(
                    companies
                        .iter()
                        .map(|c| c.headcount_min)
                        .collect::<UInt32Array>(),
                ),
            ),
            (
                "headcount_max",
                Arc::new(
                    companies
                        .iter()
                        .map(|c| c.headcount_max)
                        .collect::<UInt32Array>(),
                ),
            ),
            (
                "created",
                Arc::new(companies.iter().map(|c| c.created).collect::<Date32Array>()),
            ),
            (
                "employer",
                Arc::new(
                    companies
                        .iter()
                        .map(|c| c.employer)
                        .collect::<BooleanArray>(),
                ),
            ),
        ])
        .unwrap()
    }

    #[test]
    fn linear_scores_are_the_models_probabilities_bit_for_bit() {
        let mut state = 11u64;
        let mut next = move |n: u64| {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (state >> 33) % n
        };
        let some = |x: u64, v: String| (x != 0).then_some(v);
        let companies: Vec<Company> = (0..400)
            .map(|i| Company {
                registry: "sirene".into(),
                registry_id: format!("{i:09}"),
                active: true,
                nace_section: some(next(9), ["C", "F", "G", "J", "M"][next(5) as usize].into()),
                nace_division: some(next(9), format!("{}", 10 + next(12))),
                headcount_band: some(next(5), format!("{:02}", next(6))),
                legal_form: some(next(7), ["5710", "5499", "1000"][next(3) as usize].into()),
                // A region the training rows never had, in the scored rows only.
                region: some(
                    next(6),
                    if i >= 300 && i % 7 == 0 {
                        "99".into()
                    } else {
                        format!("{}", 11 + next(4))
                    },
                ),
                country: Some("FR".into()),
                headcount_min: (next(4) != 0).then(|| next(300) as u32),
                headcount_max: (next(4) != 0).then(|| next(900) as u32),
                created: (next(8) != 0).then(|| 5000 + next(15000) as i32),
                employer: match next(3) {
                    0 => None,
                    1 => Some(false),
                    _ => Some(true),
                },
                ..Company::default()
            })
            .collect();
        let reference = 20_500;
        let mut d = dataset(companies.iter(), reference, &[]);
        d.labels = companies
            .iter()
            .map(|c| {
                c.nace_section.as_deref() == Some("J") || c.headcount_min.is_some_and(|h| h > 200)
            })
            .collect();
        let train: Vec<usize> = (0..300).collect();
        let params = learn::Params {
            c: 1.0,
            tol: 1e-6,
            min_df: 1,
            seed: 1,
        };
        let spec = learn::model("logistic_firmographics").unwrap();
        let trained = learn::Trained::fit(spec, &d, &train, &[], params).unwrap();
        let lin = trained
            .linear()
            .expect("a logistic regression on firmographics is linear");
        let view = BatchView::new(&batch(&companies)).unwrap();
        let rows: Vec<usize> = (0..companies.len()).collect();
        let fast = view.linear_scores(&lin, &rows, reference).unwrap();
        let slow = trained
            .probabilities(&view.dataset(&rows, reference, &[]), &rows)
            .unwrap();
        let from_companies = trained.probabilities(&d, &rows).unwrap();
        for r in rows {
            assert_eq!(fast[r].to_bits(), slow[r].to_bits(), "row {r}");
            assert_eq!(fast[r].to_bits(), from_companies[r].to_bits(), "row {r}");
        }
        // The baseline by dictionary pairs is the baseline by values.
        let baseline = learn::pu::SegmentBaseline::fit(
            companies[..50]
                .iter()
                .map(|c| (c.nace_division.as_deref(), c.headcount_band.as_deref())),
        );
        let all: Vec<usize> = (0..companies.len()).collect();
        for (r, b) in all.iter().zip(view.baseline_scores(&baseline, &all)) {
            let c = &companies[*r];
            assert_eq!(
                b,
                baseline.score(c.nace_division.as_deref(), c.headcount_band.as_deref())
            );
        }
        // Trees have no linear form.
        let trees = learn::Trained::fit(
            learn::model("gradient_boosted_trees").unwrap(),
            &d,
            &train,
            &[],
            params,
        )
        .unwrap();
        assert!(trees.linear().is_none());
    }

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
