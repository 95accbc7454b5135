//! The `universe` and `universe_rejects` tables' rows, built column by column as rows stream
//! in, so that a chunk of half a million companies is held as Arrow arrays, not as records.

use std::sync::Arc;

use arrow::array::{
    ArrayRef, BooleanBuilder, Date32Builder, RecordBatch, StringBuilder, StringDictionaryBuilder,
    UInt32Builder, UInt64Builder,
};
use arrow::datatypes::Int32Type;
use chrono::{Datelike, NaiveDate};
use enrich::registry::bulk::BulkRecord;

use crate::schema::{UNIVERSE, UNIVERSE_REJECTS};

type Dict = StringDictionaryBuilder<Int32Type>;

/// Days since 1970-01-01 of an ISO `YYYY-MM-DD` date (what the bulk parsers give).
fn date32(iso: &str) -> Option<i32> {
    let y = iso.get(0..4)?.parse().ok()?;
    let m = iso.get(5..7)?.parse().ok()?;
    let d = iso.get(8..10)?.parse().ok()?;
    // 719_163: days from 0001-01-01 (CE day 1) to 1970-01-01.
    Some(NaiveDate::from_ymd_opt(y, m, d)?.num_days_from_ce() - 719_163)
}

/// The `universe` columns of one chunk, in [`UNIVERSE`]'s order.
#[derive(Default)]
pub struct UniverseRows {
    registry: Dict,
    registry_id: StringBuilder,
    name: StringBuilder,
    status: Dict,
    industry_scheme: Dict,
    industry_code: StringBuilder,
    industry_label: StringBuilder,
    naf25_code: StringBuilder,
    nace_section: Dict,
    nace_division: Dict,
    headcount_band: Dict,
    headcount_min: UInt32Builder,
    headcount_max: UInt32Builder,
    created: Date32Builder,
    ceased: Date32Builder,
    legal_form: Dict,
    legal_form_label: Dict,
    category: Dict,
    employer: BooleanBuilder,
    postcode: StringBuilder,
    city: StringBuilder,
    region: Dict,
    country: Dict,
    address: StringBuilder,
    head_office_siret: StringBuilder,
    masked: BooleanBuilder,
    source_file: StringBuilder,
    source_line: UInt64Builder,
    len: usize,
}

impl UniverseRows {
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn push(&mut self, r: &BulkRecord, source_file: &str, source_line: u64) {
        let f = &r.firm;
        let mut section = [0u8; 4];
        self.registry.append_value(f.registry.as_str());
        self.registry_id.append_value(&f.registry_id);
        self.name
            .append_option((!f.legal_name.is_empty()).then_some(f.legal_name.as_str()));
        self.status.append_option(f.status.map(|s| s.as_str()));
        self.industry_scheme.append_option(f.industry_scheme);
        self.industry_code.append_option(f.industry_code.as_deref());
        self.industry_label
            .append_option(f.industry_label.as_deref());
        self.naf25_code.append_option(r.naf25.as_deref());
        self.nace_section
            .append_option(f.nace_section.map(|c| &*c.encode_utf8(&mut section)));
        self.nace_division.append_option(f.nace_division.as_deref());
        self.headcount_band
            .append_option(f.headcount_band.as_deref());
        self.headcount_min.append_option(f.headcount_min);
        self.headcount_max.append_option(f.headcount_max);
        self.created
            .append_option(f.created.as_deref().and_then(date32));
        self.ceased
            .append_option(f.ceased.as_deref().and_then(date32));
        self.legal_form.append_option(f.legal_form.as_deref());
        self.legal_form_label
            .append_option(f.legal_form_label.as_deref());
        self.category.append_option(f.category.as_deref());
        self.employer.append_option(r.employer);
        self.postcode.append_option(f.postcode.as_deref());
        self.city.append_option(f.city.as_deref());
        self.region.append_option(f.region.as_deref());
        self.country.append_option(f.country.as_deref());
        self.address.append_option(f.address.as_deref());
        self.head_office_siret.append_option(r.head_office_siret());
        self.masked.append_value(r.masked);
        self.source_file.append_value(source_file);
        self.source_line.append_value(source_line);
        self.len += 1;
    }

    /// The rows so far as one batch; the builders start again empty.
    pub fn finish(&mut self) -> anyhow::Result<RecordBatch> {
        self.len = 0;
        let cols: Vec<ArrayRef> = vec![
            Arc::new(self.registry.finish()),
            Arc::new(self.registry_id.finish()),
            Arc::new(self.name.finish()),
            Arc::new(self.status.finish()),
            Arc::new(self.industry_scheme.finish()),
            Arc::new(self.industry_code.finish()),
            Arc::new(self.industry_label.finish()),
            Arc::new(self.naf25_code.finish()),
            Arc::new(self.nace_section.finish()),
            Arc::new(self.nace_division.finish()),
            Arc::new(self.headcount_band.finish()),
            Arc::new(self.headcount_min.finish()),
            Arc::new(self.headcount_max.finish()),
            Arc::new(self.created.finish()),
            Arc::new(self.ceased.finish()),
            Arc::new(self.legal_form.finish()),
            Arc::new(self.legal_form_label.finish()),
            Arc::new(self.category.finish()),
            Arc::new(self.employer.finish()),
            Arc::new(self.postcode.finish()),
            Arc::new(self.city.finish()),
            Arc::new(self.region.finish()),
            Arc::new(self.country.finish()),
            Arc::new(self.address.finish()),
            Arc::new(self.head_office_siret.finish()),
            Arc::new(self.masked.finish()),
            Arc::new(self.source_file.finish()),
            Arc::new(self.source_line.finish()),
        ];
        Ok(RecordBatch::try_new(UNIVERSE.arrow_schema(), cols)?)
    }
}

/// The `universe_rejects` columns of one chunk.
#[derive(Default)]
pub struct RejectRows {
    source_file: StringBuilder,
    source_line: UInt64Builder,
    reason: StringBuilder,
    raw: StringBuilder,
    len: usize,
}

impl RejectRows {
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn push(&mut self, source_file: &str, source_line: u64, reason: &str, fields: &[&str]) {
        self.source_file.append_value(source_file);
        self.source_line.append_value(source_line);
        self.reason.append_value(reason);
        self.raw.append_value(raw_line(fields));
        self.len += 1;
    }

    pub fn finish(&mut self) -> anyhow::Result<RecordBatch> {
        self.len = 0;
        let cols: Vec<ArrayRef> = vec![
            Arc::new(self.source_file.finish()),
            Arc::new(self.source_line.finish()),
            Arc::new(self.reason.finish()),
            Arc::new(self.raw.finish()),
        ];
        Ok(RecordBatch::try_new(UNIVERSE_REJECTS.arrow_schema(), cols)?)
    }
}

/// Fields joined by commas, a field quoted (its quotes doubled) when it holds a comma, a quote
/// or a line break: the row as a CSV line again.
fn raw_line(fields: &[&str]) -> String {
    let mut out = String::new();
    for (i, f) in fields.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        if f.contains([',', '"', '\n', '\r']) {
            out.push('"');
            out.push_str(&f.replace('"', "\"\""));
            out.push('"');
        } else {
            out.push_str(f);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_and_raw_lines() {
        assert_eq!(date32("1970-01-01"), Some(0));
        assert_eq!(date32("1970-01-02"), Some(1));
        assert_eq!(date32("1969-12-31"), Some(-1));
        assert_eq!(date32("2024-02-29"), Some(19_782));
        assert_eq!(date32("2023-02-29"), None);
        assert_eq!(date32("1955"), None);
        assert_eq!(
            raw_line(&["a", "b,c", "say \"hi\"", ""]),
            "a,\"b,c\",\"say \"\"hi\"\"\","
        );
    }
}
