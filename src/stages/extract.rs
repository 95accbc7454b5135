//! Extract: crawled `pages` → `page_text` (main text per page) and `web_features` (per lead).
//!
//! The unit of work is a lead. The crawl's parts are read one at a time (a site never spans two
//! parts, so a lead's pages arrive together and memory stays bounded by one crawl part); each
//! lead's HTML pages go through `enrich::extract::company::extract_site` on a pool of threads,
//! and finished leads are committed in parts of `extract.part_leads` leads. Leads with no
//! readable page (no website, dead site) get a `web_features` row with `pages = 0`, so the
//! table has exactly one row per lead.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use anyhow::Context;
use arrow::array::{
    Array, ArrayRef, AsArray, BooleanArray, Int32Array, ListBuilder, RecordBatch, StringArray,
    StringBuilder, UInt32Array, UInt64Array,
};
use arrow::datatypes::Int32Type;
use enrich::extract::company::{extract_site, CompanyFeatures, PageInput, PageText};
use enrich::extract::site::TemplateRules;
use enrich::extract::EXTRACTOR_VERSION;
use enrich::pagetype::PageType;

use super::{Stage, StageContext, StageOutcome};
use crate::config::Config;
use crate::schema::{TableDef, PAGE_TEXT, WEB_FEATURES};
use crate::state::UnitOutcome;
use crate::table;

pub struct ExtractStage;

/// Text held before a part is cut whatever `part_leads` says.
const PART_TEXT_BYTES: usize = 16 << 20;

/// One HTML page of a lead, as read from `pages`.
struct RawPage {
    url: String,
    body: Vec<u8>,
    charset: Option<String>,
    seed: bool,
}

/// A site's pages and the leads that point at it (extracted once, copied to each lead).
struct SitePages {
    site: String,
    leads: Vec<String>,
    pages: Vec<RawPage>,
}

/// A lead, extracted.
struct LeadResult {
    lead_id: String,
    site: Option<String>,
    texts: Vec<PageText>,
    features: CompanyFeatures,
    /// Set when extraction failed (a bug in the extractor): the lead gets an empty row and a
    /// recorded failure.
    failure: Option<String>,
}

impl Stage for ExtractStage {
    fn name(&self) -> &'static str {
        "extract"
    }

    fn about(&self) -> &'static str {
        "main text, page types and company signals from crawled pages into `page_text` and `web_features`"
    }

    fn after(&self) -> &'static [&'static str] {
        &["ingest", "crawl"]
    }

    fn tables(&self) -> &'static [&'static TableDef] {
        &[&PAGE_TEXT, &WEB_FEATURES]
    }

    fn fingerprint(&self, config: &Config) -> anyhow::Result<String> {
        Ok(format!(
            "extract={};rules={EXTRACTOR_VERSION}",
            config.fingerprint("extract")
        ))
    }

    fn run(&self, ctx: &StageContext<'_>) -> anyhow::Result<StageOutcome> {
        let cfg = &ctx.config.extract;
        let rules = TemplateRules {
            share: cfg.template_share,
            min_pages: cfg.template_min_pages,
        };
        // `0 = one per core` was resolved when the config was loaded.
        let workers = cfg.workers.max(1);
        if let Some(leases) = ctx.store.leases() {
            return run_leased(ctx, leases, &rules, workers);
        }
        let leads = lead_ids(&table::read_registered(
            ctx.store,
            ctx.output_dir(),
            "ingest",
            "leads",
        )?)?;
        ctx.store.set_units_total(ctx.stage, leads.len() as u64)?;
        ctx.progress.set_total(leads.len() as u64);
        let finished = ctx.store.finished_units(ctx.stage)?;
        ctx.progress.inc(
            leads.iter().filter(|l| finished.contains(*l)).count() as u64,
            "already done",
        );
        let mut part_seq = ctx.store.parts(ctx.stage)?.len();
        let mut pending: Vec<LeadResult> = Vec::new();
        let mut pending_bytes = 0usize;
        let mut seen: HashSet<String> = HashSet::new();
        let mut counters: BTreeMap<String, u64> = BTreeMap::new();

        let crawl_parts: Vec<_> = ctx
            .store
            .parts("crawl")?
            .into_iter()
            .filter(|p| p.table == "pages")
            .collect();
        for part in crawl_parts {
            if ctx.should_stop() {
                break;
            }
            let batches = table::read_file(&ctx.output_dir().join(&part.file))?;
            let todo: Vec<SitePages> = site_pages(&batches)
                .with_context(|| format!("reading {}", part.file))?
                .into_iter()
                .filter_map(|mut s| {
                    s.leads
                        .retain(|l| !finished.contains(l) && seen.insert(l.clone()));
                    (!s.leads.is_empty()).then_some(s)
                })
                .collect();
            drop(batches);
            for result in extract_sites(todo, workers, &rules) {
                pending_bytes += result.texts.iter().map(|t| t.text.len()).sum::<usize>();
                pending.push(result);
                ctx.progress.inc(1, "");
                if pending.len() >= cfg.part_leads || pending_bytes >= PART_TEXT_BYTES {
                    commit(ctx, &mut pending, &mut part_seq, &mut counters)?;
                    pending_bytes = 0;
                }
            }
        }
        if ctx.should_stop() {
            commit(ctx, &mut pending, &mut part_seq, &mut counters)?;
            return Ok(StageOutcome::Interrupted);
        }
        // Leads without any crawled page still get their (empty) features row.
        for lead in leads {
            if finished.contains(&lead) || seen.contains(&lead) {
                continue;
            }
            pending.push(LeadResult {
                lead_id: lead,
                site: None,
                texts: Vec::new(),
                features: CompanyFeatures::default(),
                failure: None,
            });
            ctx.progress.inc(1, "");
            if pending.len() >= cfg.part_leads {
                commit(ctx, &mut pending, &mut part_seq, &mut counters)?;
            }
        }
        commit(ctx, &mut pending, &mut part_seq, &mut counters)?;
        tracing::info!(
            leads = counters.get("leads").copied().unwrap_or(0),
            pages = counters.get("pages").copied().unwrap_or(0),
            "extract finished"
        );
        let failed = ctx
            .store
            .stage(ctx.stage)?
            .map(|r| r.units_failed)
            .unwrap_or(0);
        Ok(StageOutcome::Completed {
            units_failed: failed,
        })
    }
}

/// Extracts sites on `workers` threads; results come back in input order, one per lead.
fn extract_sites(todo: Vec<SitePages>, workers: usize, rules: &TemplateRules) -> Vec<LeadResult> {
    let next = AtomicUsize::new(0);
    let mut results: Vec<Vec<LeadResult>> = (0..todo.len()).map(|_| Vec::new()).collect();
    std::thread::scope(|scope| {
        let handles: Vec<_> = (0..workers.clamp(1, todo.len().max(1)))
            .map(|_| {
                let (todo, next) = (&todo, &next);
                scope.spawn(move || {
                    let mut done = Vec::new();
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let Some(site) = todo.get(i) else { break };
                        done.push((i, extract_site_guarded(site, rules)));
                    }
                    done
                })
            })
            .collect();
        for h in handles {
            // Panics are caught per site inside the thread; a join error cannot happen.
            if let Ok(done) = h.join() {
                for (i, r) in done {
                    results[i] = r;
                }
            }
        }
    });
    results.into_iter().flatten().collect()
}

/// Extracts one site for each of its leads. A panic in the extractor (a bug: untrusted HTML
/// must never cause one) fails these leads, recorded with the reason, instead of the stage.
fn extract_site_guarded(site: &SitePages, rules: &TemplateRules) -> Vec<LeadResult> {
    let inputs: Vec<PageInput<'_>> = site
        .pages
        .iter()
        .map(|p| PageInput {
            url: &p.url,
            body: &p.body,
            charset: p.charset.as_deref(),
        })
        .collect();
    let home = site.pages.iter().position(|p| p.seed);
    let domain = (!site.site.contains(':')).then_some(site.site.as_str());
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        extract_site(&inputs, home, domain, rules)
    }));
    let (texts, features, failure) = match outcome {
        Ok((texts, features)) => (texts, features, None),
        Err(panic) => {
            let what = panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic".into());
            tracing::error!(site = %site.site, "extractor panicked: {what}");
            (
                Vec::new(),
                CompanyFeatures::default(),
                Some(format!("extractor panicked: {what}")),
            )
        }
    };
    site.leads
        .iter()
        .map(|lead| LeadResult {
            lead_id: lead.clone(),
            site: Some(site.site.clone()),
            texts: texts.clone(),
            features: features.clone(),
            failure: failure.clone(),
        })
        .collect()
}

fn lead_ids(batches: &[RecordBatch]) -> anyhow::Result<Vec<String>> {
    let mut out = Vec::new();
    for b in batches {
        let ids = b
            .column_by_name("lead_id")
            .context("leads.lead_id")?
            .as_string::<i32>();
        out.extend(ids.iter().flatten().map(str::to_owned));
    }
    Ok(out)
}

/// The readable HTML pages of one crawl part, grouped by site in first-seen order. The crawl
/// writes a shared site's rows once per lead: pages are taken from the first lead's rows only.
fn site_pages(batches: &[RecordBatch]) -> anyhow::Result<Vec<SitePages>> {
    let mut sites: Vec<SitePages> = Vec::new();
    let mut index: HashMap<String, usize> = HashMap::new();
    for b in batches {
        let col = |name: &str| {
            b.column_by_name(name)
                .with_context(|| format!("pages.{name}"))
        };
        let lead_id = col("lead_id")?.as_string::<i32>();
        let site = col("site")?.as_string::<i32>();
        let final_url = col("final_url")?.as_string::<i32>();
        let kind = arrow::compute::cast(col("kind")?, &arrow::datatypes::DataType::Utf8)?;
        let kind = kind.as_string::<i32>();
        let from =
            arrow::compute::cast(col("discovered_from")?, &arrow::datatypes::DataType::Utf8)?;
        let from = from.as_string::<i32>();
        let status = col("status")?.as_primitive::<Int32Type>();
        let charset = col("charset")?.as_string::<i32>();
        let html = col("html")?.as_binary::<i32>();
        for r in 0..b.num_rows() {
            let (id, key) = (lead_id.value(r), site.value(r));
            let i = match index.get(key) {
                Some(&i) => i,
                None => {
                    index.insert(key.to_owned(), sites.len());
                    sites.push(SitePages {
                        site: key.to_owned(),
                        leads: Vec::new(),
                        pages: Vec::new(),
                    });
                    sites.len() - 1
                }
            };
            let s = &mut sites[i];
            if !s.leads.iter().any(|l| l == id) {
                s.leads.push(id.to_owned());
            }
            let readable = kind.value(r) == "page"
                && !html.is_null(r)
                && !status.is_null(r)
                && matches!(status.value(r), 200..=299 | 304);
            if readable && s.leads[0] == id {
                s.pages.push(RawPage {
                    url: final_url.value(r).to_owned(),
                    body: html.value(r).to_vec(),
                    charset: (!charset.is_null(r)).then(|| charset.value(r).to_owned()),
                    seed: from.value(r) == "seed",
                });
            }
        }
    }
    Ok(sites)
}

fn commit(
    ctx: &StageContext<'_>,
    pending: &mut Vec<LeadResult>,
    part_seq: &mut usize,
    counters: &mut BTreeMap<String, u64>,
) -> anyhow::Result<()> {
    if pending.is_empty() {
        return Ok(());
    }
    commit_named(
        ctx,
        pending,
        &format!("part-{:05}.parquet", *part_seq),
        &[],
        counters,
    )?;
    *part_seq += 1;
    Ok(())
}

/// Commits `pending` as part `name`, with `extra` units (a leased crawl part) in the same
/// transaction.
fn commit_named(
    ctx: &StageContext<'_>,
    pending: &mut Vec<LeadResult>,
    name: &str,
    extra: &[UnitOutcome],
    counters: &mut BTreeMap<String, u64>,
) -> anyhow::Result<()> {
    let results = std::mem::take(pending);
    let mut part_counters = BTreeMap::new();
    part_counters.insert("leads".to_owned(), results.len() as u64);
    part_counters.insert(
        "pages".to_owned(),
        results.iter().map(|r| r.texts.len() as u64).sum(),
    );
    part_counters.insert(
        "leads_without_pages".to_owned(),
        results.iter().filter(|r| r.texts.is_empty()).count() as u64,
    );
    let mut units: Vec<UnitOutcome> = results
        .iter()
        .map(|r| match &r.failure {
            None => UnitOutcome::done(&r.lead_id),
            Some(why) => UnitOutcome::failed(&r.lead_id, why),
        })
        .collect();
    units.extend_from_slice(extra);
    let text = page_text_batch(&results)?;
    let features = web_features_batch(&results)?;
    ctx.commit_parts(
        name,
        &[(&PAGE_TEXT, vec![text]), (&WEB_FEATURES, vec![features])],
        &[(
            "leadcrawl.extractor_version".into(),
            EXTRACTOR_VERSION.into(),
        )],
        &units,
        &part_counters,
    )?;
    for (k, v) in part_counters {
        *counters.entry(k).or_default() += v;
    }
    Ok(())
}

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

fn page_text_batch(results: &[LeadResult]) -> anyhow::Result<RecordBatch> {
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

fn web_features_batch(results: &[LeadResult]) -> anyhow::Result<RecordBatch> {
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

/// Units of the leased extract that stand for a crawl part (the lead batch a worker claims).
const PART_UNIT: &str = "crawl-part:";

/// The extract on a shared PostgreSQL store: each crawl part (a batch of whole sites) is leased
/// to one worker, which extracts its leads and commits them in one part together with the
/// crawl part's own unit, fenced by the lease like the crawl's commits. The run then writes the
/// rows of the leads without any page.
fn run_leased(
    ctx: &StageContext<'_>,
    leases: &dyn crate::state::Leases,
    rules: &TemplateRules,
    workers: usize,
) -> anyhow::Result<StageOutcome> {
    use super::Role;
    let leads = lead_ids(&table::read_registered(
        ctx.store,
        ctx.output_dir(),
        "ingest",
        "leads",
    )?)?;
    let crawl_parts: Vec<String> = ctx
        .store
        .parts("crawl")?
        .into_iter()
        .filter(|p| p.table == "pages")
        .map(|p| format!("{PART_UNIT}{}", p.file))
        .collect();
    let local_worker = match ctx.role {
        Role::Run { local_worker } => {
            // Units: the leads, and the crawl parts that were leased.
            let finished = ctx.store.finished_units(ctx.stage)?;
            let todo: Vec<String> = crawl_parts
                .iter()
                .filter(|u| !finished.contains(*u))
                .cloned()
                .collect();
            leases.enqueue(ctx.stage, &todo, std::time::Duration::ZERO)?;
            // Set last: a worker takes an empty frontier for "all done" only once this is set.
            ctx.store
                .set_units_total(ctx.stage, (leads.len() + crawl_parts.len()) as u64)?;
            tracing::info!(
                crawl_parts = todo.len(),
                "extract frontier ready; workers may join"
            );
            local_worker
        }
        Role::Worker { .. } => true,
    };
    ctx.progress.set_total(crawl_parts.len() as u64);
    let ttl = std::time::Duration::from_secs_f64(ctx.config.state.lease_seconds);
    let (prefix, mut seq) = super::worker_parts(ctx, leases.owner())?;
    let mut counters = BTreeMap::new();
    // A site (so a lead) is in one crawl part only, and a crawl part is leased to one worker at a
    // time: what was finished before this worker started is all it must skip.
    let finished = ctx.store.finished_units(ctx.stage)?;
    loop {
        while local_worker && !ctx.should_stop() {
            let Some(claim) = leases.claim(ctx.stage, 1, ttl)?.into_iter().next() else {
                break;
            };
            let file = claim.unit.trim_start_matches(PART_UNIT);
            let batches = table::read_file(&ctx.output_dir().join(file))?;
            let todo: Vec<SitePages> = site_pages(&batches)
                .with_context(|| format!("reading {file}"))?
                .into_iter()
                .filter_map(|mut s| {
                    s.leads.retain(|l| !finished.contains(l));
                    (!s.leads.is_empty()).then_some(s)
                })
                .collect();
            drop(batches);
            let mut pending = extract_sites(todo, workers, rules);
            let name = format!("{prefix}{seq:05}.parquet");
            seq += 1;
            let done = [UnitOutcome::done(claim.unit.clone())];
            let r = if pending.is_empty() {
                ctx.store
                    .commit(ctx.stage, &[], &done, &BTreeMap::new())
                    .map_err(anyhow::Error::from)
            } else {
                commit_named(ctx, &mut pending, &name, &done, &mut counters)
            };
            if let Err(e) = r {
                match e.downcast_ref::<crate::state::StateError>() {
                    Some(crate::state::StateError::LeaseLost { .. }) => tracing::warn!("{e:#}"),
                    _ => return Err(e),
                }
            }
            ctx.progress.inc(1, file);
        }
        if ctx.should_stop() {
            return Ok(StageOutcome::Interrupted);
        }
        if leases.unfinished(ctx.stage)? == 0 && super::frontier_ready(ctx)? {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(500));
    }
    if let Role::Run { .. } = ctx.role {
        // Leads without any crawled page still get their (empty) features row.
        let finished = ctx.store.finished_units(ctx.stage)?;
        let mut pending: Vec<LeadResult> = leads
            .into_iter()
            .filter(|l| !finished.contains(l))
            .map(|lead| LeadResult {
                lead_id: lead,
                site: None,
                texts: Vec::new(),
                features: CompanyFeatures::default(),
                failure: None,
            })
            .collect();
        if !pending.is_empty() {
            let name = format!("{prefix}{seq:05}.parquet");
            commit_named(ctx, &mut pending, &name, &[], &mut counters)?;
        }
        let registered: Vec<String> = ctx
            .store
            .parts(ctx.stage)?
            .into_iter()
            .map(|p| p.file)
            .collect();
        for def in [&PAGE_TEXT, &WEB_FEATURES] {
            for f in table::remove_unregistered(ctx.output_dir(), def, &registered) {
                tracing::info!(file = %f.display(), "removed a part no worker committed");
            }
        }
    }
    let failed = ctx
        .store
        .stage(ctx.stage)?
        .map(|r| r.units_failed)
        .unwrap_or(0);
    Ok(StageOutcome::Completed {
        units_failed: failed,
    })
}
