//! The crawl's Arrow encoding: finished sites → `pages` rows.

use std::sync::Arc;
use std::time::UNIX_EPOCH;

use arrow::array::{
    ArrayRef, BinaryBuilder, Int32Builder, RecordBatch, StringBuilder, StringDictionaryBuilder,
    TimestampMicrosecondBuilder, UInt32Builder, UInt64Builder,
};
use arrow::datatypes::Int32Type;

use crate::schema::PAGES;

use super::sites::Done;

pub(crate) fn micros(t: std::time::SystemTime) -> i64 {
    t.duration_since(UNIX_EPOCH)
        .map(|d| d.as_micros() as i64)
        .unwrap_or(0)
}

pub(crate) fn pages_batch(done: &[Done]) -> anyhow::Result<RecordBatch> {
    let mut lead = StringBuilder::new();
    let mut site = StringBuilder::new();
    let mut url = StringBuilder::new();
    let mut final_url = StringBuilder::new();
    let mut kind = StringDictionaryBuilder::<Int32Type>::new();
    let mut depth = UInt32Builder::new();
    let mut source = StringDictionaryBuilder::<Int32Type>::new();
    let mut status = Int32Builder::new();
    let mut ctype = StringBuilder::new();
    let mut charset = StringBuilder::new();
    let mut fetched_at = TimestampMicrosecondBuilder::new().with_timezone("UTC");
    let mut elapsed = UInt32Builder::new();
    let mut bytes = UInt64Builder::new();
    let mut etag = StringBuilder::new();
    let mut lastmod = StringBuilder::new();
    let mut ekind = StringDictionaryBuilder::<Int32Type>::new();
    let mut error = StringBuilder::new();
    let mut attempts = UInt32Builder::new();
    let mut html = BinaryBuilder::new();
    for d in done {
        for lead_id in &d.job.leads {
            for a in &d.crawl.attempts {
                let f = &a.fetched;
                lead.append_value(lead_id);
                site.append_value(&d.job.key);
                url.append_value(f.url.as_str());
                final_url.append_value(f.final_url.as_str());
                kind.append_value(a.kind.as_str());
                depth.append_value(a.depth);
                source.append_value(a.source.as_str());
                status.append_option(f.status.map(i32::from));
                ctype.append_option(f.content_type.as_deref());
                charset.append_option(a.charset.as_deref());
                fetched_at.append_value(micros(f.fetched_at));
                elapsed.append_value(f.elapsed.as_millis().min(u32::MAX as u128) as u32);
                bytes.append_value(f.bytes);
                etag.append_option(f.etag.as_deref());
                lastmod.append_option(f.last_modified.as_deref());
                match &f.error {
                    Some((k, m)) => {
                        ekind.append_value(k.as_str());
                        error.append_value(m);
                    }
                    None => {
                        ekind.append_null();
                        error.append_null();
                    }
                }
                attempts.append_value(f.attempts);
                html.append_option(if f.error.is_none() {
                    f.body.as_deref()
                } else {
                    None
                });
            }
        }
    }
    let cols: Vec<ArrayRef> = vec![
        Arc::new(lead.finish()),
        Arc::new(site.finish()),
        Arc::new(url.finish()),
        Arc::new(final_url.finish()),
        Arc::new(kind.finish()),
        Arc::new(depth.finish()),
        Arc::new(source.finish()),
        Arc::new(status.finish()),
        Arc::new(ctype.finish()),
        Arc::new(charset.finish()),
        Arc::new(fetched_at.finish()),
        Arc::new(elapsed.finish()),
        Arc::new(bytes.finish()),
        Arc::new(etag.finish()),
        Arc::new(lastmod.finish()),
        Arc::new(ekind.finish()),
        Arc::new(error.finish()),
        Arc::new(attempts.finish()),
        Arc::new(html.finish()),
    ];
    Ok(RecordBatch::try_new(PAGES.arrow_schema(), cols)?)
}
