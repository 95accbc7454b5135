//! The `registry` table's rows, as Arrow.

use std::sync::Arc;

use arrow::array::{
    ArrayRef, Date32Array, Float64Array, Int32Array, ListBuilder, RecordBatch, StringArray,
    StringBuilder, StructBuilder, UInt32Array,
};
use arrow::datatypes::{DataType, Field};
use chrono::NaiveDate;
use enrich::registry::record::Firmographics;

use super::resolve::{LeadIn, Resolved};
use crate::schema::REGISTRY;
use crate::table;

/// `YYYY-MM-DD`, `YYYY-MM` or `YYYY` (a datetime's date part too) as a date.
pub fn parse_date(s: &str) -> Option<NaiveDate> {
    let s = s.trim();
    let d = s.get(..10).unwrap_or(s);
    NaiveDate::parse_from_str(d, "%Y-%m-%d")
        .ok()
        .or_else(|| NaiveDate::parse_from_str(&format!("{}-01", s.get(..7)?), "%Y-%m-%d").ok())
        .or_else(|| {
            let y: i32 = s.get(..4)?.parse().ok()?;
            (s.len() == 4)
                .then(|| NaiveDate::from_ymd_opt(y, 1, 1))
                .flatten()
        })
}

fn days(d: NaiveDate) -> i32 {
    (d - NaiveDate::from_ymd_opt(1970, 1, 1).expect("epoch")).num_days() as i32
}

fn list(values: impl Iterator<Item = Option<Vec<String>>>) -> ArrayRef {
    let mut b = ListBuilder::new(StringBuilder::new());
    for v in values {
        match v {
            Some(v) => {
                for s in v {
                    b.values().append_value(s);
                }
                b.append(true);
            }
            None => b.append(false),
        }
    }
    Arc::new(b.finish())
}

pub fn registry_batch(
    rows: &[(&LeadIn, Resolved)],
    run_day: NaiveDate,
) -> anyhow::Result<RecordBatch> {
    let rec = |i: usize| -> Option<&Firmographics> { rows[i].1.record.as_ref() };
    let n = rows.len();
    let s = |f: &dyn Fn(&Firmographics) -> Option<String>| -> ArrayRef {
        Arc::new((0..n).map(|i| rec(i).and_then(f)).collect::<StringArray>())
    };
    let d = |f: &dyn Fn(&Firmographics) -> Option<String>| -> ArrayRef {
        let vals: Vec<Option<String>> = (0..n).map(|i| rec(i).and_then(f)).collect();
        table::dict_opt(vals.iter().map(|v| v.as_deref()))
    };
    let f64s = |f: &dyn Fn(&Firmographics) -> Option<f64>| -> ArrayRef {
        Arc::new(
            (0..n)
                .map(|i| rec(i).and_then(f).filter(|x| x.is_finite()))
                .collect::<Float64Array>(),
        )
    };
    let u32s = |f: &dyn Fn(&Firmographics) -> Option<u32>| -> ArrayRef {
        Arc::new((0..n).map(|i| rec(i).and_then(f)).collect::<UInt32Array>())
    };
    let created: Vec<Option<NaiveDate>> = (0..n)
        .map(|i| {
            rec(i)
                .and_then(|r| r.created.as_deref())
                .and_then(parse_date)
        })
        .collect();

    let cand_fields = match crate::schema::candidate_list() {
        DataType::List(f) => match f.data_type() {
            DataType::Struct(fields) => fields.clone(),
            _ => unreachable!("candidate_list is a list of structs"),
        },
        _ => unreachable!("candidate_list is a list"),
    };
    let mut cands =
        ListBuilder::new(StructBuilder::from_fields(cand_fields.clone(), 0)).with_field(Arc::new(
            Field::new("item", DataType::Struct(cand_fields), false),
        ));
    for (_, r) in rows {
        for c in &r.candidates {
            let sb = cands.values();
            sb.field_builder::<StringBuilder>(0)
                .expect("registry")
                .append_value(c.registry.as_str());
            sb.field_builder::<StringBuilder>(1)
                .expect("id")
                .append_value(&c.id);
            sb.field_builder::<StringBuilder>(2)
                .expect("name")
                .append_value(&c.name);
            sb.field_builder::<arrow::array::Float64Builder>(3)
                .expect("score")
                .append_value(c.score);
            sb.append(true);
        }
        cands.append(true);
    }

    let cols: Vec<ArrayRef> = vec![
        Arc::new(
            rows.iter()
                .map(|(l, _)| Some(l.lead_id.as_str()))
                .collect::<StringArray>(),
        ),
        table::dict(rows.iter().map(|(_, r)| r.status.as_str())),
        table::dict_opt(rows.iter().map(|(_, r)| r.method)),
        Arc::new(rows.iter().map(|(_, r)| r.score).collect::<Float64Array>()),
        d(&|r| Some(r.registry.as_str().to_owned())),
        s(&|r| Some(r.registry_id.clone())),
        Arc::new(cands.finish()),
        Arc::new(
            rows.iter()
                .map(|(_, r)| (!r.notes.is_empty()).then(|| r.notes.join("; ")))
                .collect::<StringArray>(),
        ),
        s(&|r| Some(r.legal_name.clone())),
        list((0..n).map(|i| rec(i).map(|r| r.other_names.clone()))),
        d(&|r| r.status.map(|s| s.as_str().to_owned())),
        d(&|r| r.industry_scheme.map(str::to_owned)),
        s(&|r| r.industry_code.clone()),
        s(&|r| r.industry_label.clone()),
        d(&|r| r.nace_section.map(|c| c.to_string())),
        d(&|r| r.nace_division.clone()),
        d(&|r| r.sic_division.map(|c| c.to_string())),
        d(&|r| r.sector.map(str::to_owned)),
        d(&|r| r.headcount_band.clone()),
        u32s(&|r| r.headcount_min),
        u32s(&|r| r.headcount_max),
        Arc::new(created.iter().map(|c| c.map(days)).collect::<Date32Array>()),
        Arc::new(
            created
                .iter()
                .map(|c| {
                    c.map(|c| ((run_day - c).num_days() as f64 / 365.2425 * 100.0).round() / 100.0)
                })
                .collect::<Float64Array>(),
        ),
        Arc::new(
            (0..n)
                .map(|i| {
                    rec(i)
                        .and_then(|r| r.ceased.as_deref())
                        .and_then(parse_date)
                        .map(days)
                })
                .collect::<Date32Array>(),
        ),
        d(&|r| r.legal_form.clone()),
        s(&|r| r.legal_form_label.clone()),
        d(&|r| r.category.clone()),
        s(&|r| r.address.clone()),
        s(&|r| r.postcode.clone()),
        s(&|r| r.city.clone()),
        s(&|r| r.region.clone()),
        d(&|r| r.country.clone()),
        f64s(&|r| r.latitude),
        f64s(&|r| r.longitude),
        u32s(&|r| r.establishments),
        f64s(&|r| r.revenue),
        f64s(&|r| r.net_income),
        Arc::new(
            (0..n)
                .map(|i| rec(i).and_then(|r| r.financial_year))
                .collect::<Int32Array>(),
        ),
        s(&|r| r.fiscal_year_end.clone()),
        s(&|r| r.state_of_incorporation.clone()),
        list((0..n).map(|i| {
            rec(i).map(|r| {
                r.linked_ids
                    .iter()
                    .map(|(k, v)| format!("{k}:{v}"))
                    .collect()
            })
        })),
        s(&|r| (!r.raw.is_empty()).then(|| r.raw.clone())),
    ];
    Ok(RecordBatch::try_new(REGISTRY.arrow_schema(), cols)?)
}

#[cfg(test)]
mod tests {
    use super::parse_date;

    #[test]
    fn dates_of_every_precision() {
        assert_eq!(parse_date("1955-01-01").unwrap().to_string(), "1955-01-01");
        assert_eq!(parse_date("2024-07").unwrap().to_string(), "2024-07-01");
        assert_eq!(parse_date("1999").unwrap().to_string(), "1999-01-01");
        assert_eq!(
            parse_date("2012-06-01T00:00:00Z").unwrap().to_string(),
            "2012-06-01"
        );
        assert_eq!(parse_date(""), None);
        assert_eq!(parse_date("n/a"), None);
    }
}
