//! The extract's Arrow encoding: extracted leads → `page_text` and `web_features` rows.

use super::*;
use crate::schema::{TableDef, PAGE_TEXT, WEB_FEATURES};
use crate::table;
use anyhow::Context;
use arrow::array::{
    ArrayRef, BooleanArray, Int32Array, ListBuilder, RecordBatch, StringArray, StringBuilder,
    UInt32Array, UInt64Array,
};
use enrich::extract::company::{CompanyFeatures, PageText};
use enrich::extract::EXTRACTOR_VERSION;
use enrich::pagetype::PageType;
use std::collections::HashMap;
use std::sync::Arc;

fn strings<'a>(values: impl Iterator<Item = Option<&'a str>>) -> ArrayRef {
    Arc::new(values.collect::<StringArray>())
}

fn lists<'a, I>(rows: impl Iterator<Item = I>) -> ArrayRef
where
    I: IntoIterator<Item = &'a str>,
{
    let mut b = ListBuilder::new(StringBuilder::new());
    for row in rows {
        for v in row {
            b.values().append_value(v);
        }
        b.append(true);
    }
    Arc::new(b.finish())
}

/// Assembles a batch in the table's documented column order from named arrays.
fn batch(
    def: &TableDef,
    mut columns: HashMap<&'static str, ArrayRef>,
) -> anyhow::Result<RecordBatch> {
    let arrays = def
        .columns
        .iter()
        .map(|c| {
            columns
                .remove(c.name)
                .with_context(|| format!("{}.{} not built", def.name, c.name))
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    anyhow::ensure!(
        columns.is_empty(),
        "{}: undocumented columns {:?}",
        def.name,
        columns.keys()
    );
    Ok(RecordBatch::try_new(def.arrow_schema(), arrays)?)
}

pub(super) fn page_text_batch(results: &[LeadResult]) -> anyhow::Result<RecordBatch> {
    let rows: Vec<(&LeadResult, &PageText)> = results
        .iter()
        .flat_map(|r| r.texts.iter().map(move |t| (r, t)))
        .collect();
    let mut c: HashMap<&'static str, ArrayRef> = HashMap::new();
    c.insert(
        "lead_id",
        strings(rows.iter().map(|(r, _)| Some(r.lead_id.as_str()))),
    );
    c.insert("site", strings(rows.iter().map(|(r, _)| r.site.as_deref())));
    c.insert(
        "url",
        strings(rows.iter().map(|(_, t)| Some(t.url.as_str()))),
    );
    c.insert(
        "page_type",
        table::dict(rows.iter().map(|(_, t)| t.page_type.as_str())),
    );
    c.insert("lang", strings(rows.iter().map(|(_, t)| t.lang.as_deref())));
    c.insert(
        "html_lang",
        strings(rows.iter().map(|(_, t)| t.html_lang.as_deref())),
    );
    c.insert(
        "title",
        strings(rows.iter().map(|(_, t)| t.title.as_deref())),
    );
    c.insert(
        "description",
        strings(rows.iter().map(|(_, t)| t.description.as_deref())),
    );
    c.insert(
        "canonical_url",
        strings(rows.iter().map(|(_, t)| t.canonical.as_deref())),
    );
    c.insert(
        "text",
        strings(rows.iter().map(|(_, t)| Some(t.text.as_str()))),
    );
    c.insert(
        "word_count",
        Arc::new(
            rows.iter()
                .map(|(_, t)| t.word_count)
                .collect::<UInt32Array>(),
        ),
    );
    c.insert(
        "extractor_version",
        table::dict(rows.iter().map(|_| EXTRACTOR_VERSION)),
    );
    batch(&PAGE_TEXT, c)
}

fn f(r: &LeadResult) -> &CompanyFeatures {
    &r.features
}

pub(super) fn web_features_batch(results: &[LeadResult]) -> anyhow::Result<RecordBatch> {
    let mut c: HashMap<&'static str, ArrayRef> = HashMap::new();
    c.insert(
        "lead_id",
        strings(results.iter().map(|r| Some(r.lead_id.as_str()))),
    );
    c.insert(
        "site",
        strings(
            results
                .iter()
                .map(|r| r.site.as_deref().filter(|_| !r.texts.is_empty())),
        ),
    );
    c.insert(
        "pages",
        Arc::new(results.iter().map(|r| f(r).pages).collect::<UInt32Array>()),
    );
    for t in PageType::ALL {
        let name: &'static str = match t {
            PageType::Home => "pages_home",
            PageType::About => "pages_about",
            PageType::Product => "pages_product",
            PageType::Pricing => "pages_pricing",
            PageType::Customers => "pages_customers",
            PageType::Careers => "pages_careers",
            PageType::Contact => "pages_contact",
            PageType::Legal => "pages_legal",
            PageType::Blog => "pages_blog",
            PageType::Other => "pages_other",
        };
        c.insert(
            name,
            Arc::new(
                results
                    .iter()
                    .map(|r| f(r).pages_of(t))
                    .collect::<UInt32Array>(),
            ),
        );
        let has: Option<&'static str> = match t {
            PageType::About => Some("has_about"),
            PageType::Product => Some("has_product"),
            PageType::Pricing => Some("has_pricing"),
            PageType::Customers => Some("has_customers"),
            PageType::Careers => Some("has_careers"),
            PageType::Contact => Some("has_contact"),
            PageType::Legal => Some("has_legal"),
            PageType::Blog => Some("has_blog"),
            PageType::Home | PageType::Other => None,
        };
        if let Some(has) = has {
            c.insert(
                has,
                Arc::new(
                    results
                        .iter()
                        .map(|r| Some(f(r).pages_of(t) > 0))
                        .collect::<BooleanArray>(),
                ),
            );
        }
    }
    c.insert(
        "words",
        Arc::new(results.iter().map(|r| f(r).words).collect::<UInt64Array>()),
    );
    c.insert(
        "main_lang",
        strings(
            results
                .iter()
                .map(|r| f(r).languages.first().map(String::as_str)),
        ),
    );
    let list = |get: fn(&CompanyFeatures) -> &Vec<String>| {
        lists(results.iter().map(|r| get(f(r)).iter().map(String::as_str)))
    };
    c.insert("languages", list(|f| &f.languages));
    c.insert("emails", list(|f| &f.emails));
    c.insert("own_domain_emails", list(|f| &f.own_domain_emails));
    c.insert("phones", list(|f| &f.phones));
    for network in [
        "linkedin",
        "x",
        "facebook",
        "instagram",
        "youtube",
        "github",
    ] {
        c.insert(
            network,
            strings(results.iter().map(|r| {
                f(r).social
                    .iter()
                    .find(|s| s.network == network)
                    .map(|s| s.url.as_str())
            })),
        );
    }
    c.insert(
        "technologies",
        lists(results.iter().map(|r| f(r).technologies.iter().copied())),
    );
    c.insert("siren", list(|f| &f.legal_ids.siren));
    c.insert("siret", list(|f| &f.legal_ids.siret));
    c.insert("vat", list(|f| &f.legal_ids.vat));
    c.insert("rcs", list(|f| &f.legal_ids.rcs));
    c.insert("lei", list(|f| &f.legal_ids.lei));
    c.insert(
        "uk_company_numbers",
        list(|f| &f.legal_ids.uk_company_numbers),
    );
    type OrgField = fn(&enrich::jsonld::Organization) -> &Option<String>;
    let org_fields: [(&'static str, OrgField); 10] = [
        ("org_name", |o| &o.name),
        ("org_legal_name", |o| &o.legal_name),
        ("org_telephone", |o| &o.telephone),
        ("org_email", |o| &o.email),
        ("org_address", |o| &o.address),
        ("org_postal_code", |o| &o.postal_code),
        ("org_locality", |o| &o.locality),
        ("org_country", |o| &o.country),
        ("org_founding_date", |o| &o.founding_date),
        ("org_employees", |o| &o.number_of_employees),
    ];
    for (name, get) in org_fields {
        c.insert(
            name,
            strings(
                results
                    .iter()
                    .map(|r| f(r).organization.as_ref().and_then(|o| get(o).as_deref())),
            ),
        );
    }
    c.insert(
        "org_same_as",
        lists(results.iter().map(|r| {
            f(r).organization
                .iter()
                .flat_map(|o| o.same_as.iter().map(String::as_str))
        })),
    );
    let years = |pick: fn(&CompanyFeatures) -> Option<u16>| -> ArrayRef {
        Arc::new(
            results
                .iter()
                .map(|r| pick(f(r)).map(i32::from))
                .collect::<Int32Array>(),
        )
    };
    c.insert(
        "copyright_year_min",
        years(|f| f.copyright_years.first().copied()),
    );
    c.insert(
        "copyright_year_max",
        years(|f| f.copyright_years.last().copied()),
    );
    c.insert("founding_year", years(founding_year));
    c.insert(
        "template_blocks",
        Arc::new(
            results
                .iter()
                .map(|r| f(r).template_blocks)
                .collect::<UInt32Array>(),
        ),
    );
    c.insert(
        "extractor_version",
        table::dict(results.iter().map(|_| EXTRACTOR_VERSION)),
    );
    batch(&WEB_FEATURES, c)
}

/// The earliest founding year the text states, or the year of JSON-LD `foundingDate`.
fn founding_year(f: &CompanyFeatures) -> Option<u16> {
    let ld = f
        .organization
        .as_ref()
        .and_then(|o| o.founding_date.as_deref())
        .and_then(|d| d.get(..4))
        .and_then(|y| y.parse::<u16>().ok())
        .filter(|y| (1000..=2100).contains(y));
    f.founding_years.iter().copied().chain(ld).min()
}
