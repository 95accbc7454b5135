//! Ingest's Arrow encoding: leads → `leads` rows, rejected rows → `rejects` rows.

use super::*;
use crate::schema::{LEADS, REJECTS};
use arrow::array::{
    ArrayRef, Date32Array, ListBuilder, RecordBatch, StringBuilder, StringDictionaryBuilder,
    UInt64Builder,
};
use arrow::datatypes::Int32Type;
use std::sync::Arc;

pub(super) fn leads_batch(leads: &[&Lead]) -> anyhow::Result<RecordBatch> {
    fn strings<'a>(it: impl Iterator<Item = Option<&'a str>>) -> ArrayRef {
        let mut b = StringBuilder::new();
        for v in it {
            b.append_option(v);
        }
        Arc::new(b.finish())
    }
    let mut lines = UInt64Builder::new();
    let mut status = StringDictionaryBuilder::<Int32Type>::new();
    for l in leads {
        lines.append_value(l.source_line);
        status.append_value(l.status);
    }
    let cols: Vec<ArrayRef> = vec![
        strings(leads.iter().map(|l| Some(l.lead_id.as_str()))),
        Arc::new(lines.finish()),
        strings(leads.iter().map(|l| l.external_id.as_deref())),
        strings(
            leads
                .iter()
                .map(|l| (!l.name.is_empty()).then_some(l.name.as_str())),
        ),
        strings(leads.iter().map(|l| l.website.as_deref())),
        strings(leads.iter().map(|l| l.host.as_deref())),
        strings(leads.iter().map(|l| l.domain.as_deref())),
        strings(leads.iter().map(|l| l.country.as_deref())),
        strings(leads.iter().map(|l| l.country_raw.as_deref())),
        Arc::new(status.finish()),
        strings(leads.iter().map(|l| l.status_raw.as_deref())),
        strings(leads.iter().map(|l| l.siren.as_deref())),
        strings(leads.iter().map(|l| l.siret.as_deref())),
        strings(leads.iter().map(|l| l.cik.as_deref())),
        strings(leads.iter().map(|l| l.lei.as_deref())),
        strings(leads.iter().map(|l| l.company_number.as_deref())),
        strings(leads.iter().map(|l| l.description.as_deref())),
        strings(leads.iter().map(|l| l.notes.as_deref())),
        Arc::new(Date32Array::from_iter(leads.iter().map(|l| l.lead_date))),
        strings(leads.iter().map(|l| l.attributes.as_deref())),
    ];
    Ok(RecordBatch::try_new(LEADS.arrow_schema(), cols)?)
}

pub(super) fn rejects_batch(rejects: &[&Reject]) -> anyhow::Result<RecordBatch> {
    let mut line = UInt64Builder::new();
    let mut column = StringBuilder::new();
    let mut reason = StringBuilder::new();
    let mut raw = ListBuilder::new(StringBuilder::new());
    for r in rejects {
        line.append_value(r.source_line);
        column.append_option(r.column.as_deref());
        reason.append_value(&r.reason);
        for f in &r.raw {
            raw.values().append_value(f);
        }
        raw.append(true);
    }
    let cols: Vec<ArrayRef> = vec![
        Arc::new(line.finish()),
        Arc::new(column.finish()),
        Arc::new(reason.finish()),
        Arc::new(raw.finish()),
    ];
    Ok(RecordBatch::try_new(REJECTS.arrow_schema(), cols)?)
}
