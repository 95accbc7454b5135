//! Extract: crawled `pages` → `page_text` (main text per page) and `web_features` (per lead).
//!
//! The unit of work is a lead. The crawl's parts are read one at a time (a site never spans two
//! parts, so a lead's pages arrive together and memory stays bounded by one crawl part); each
//! lead's HTML pages go through `enrich::extract::company::extract_site` on a pool of threads,
//! and finished leads are committed in parts of `extract.part_leads` leads. Leads with no
//! readable page (no website, dead site) get a `web_features` row with `pages = 0`, so the
//! table has exactly one row per lead.

mod rows;
use rows::*;

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicUsize, Ordering};

use anyhow::Context;
use arrow::array::{Array, AsArray, RecordBatch};
use arrow::datatypes::Int32Type;
use enrich::extract::company::{extract_site, CompanyFeatures, PageInput, PageText};
use enrich::extract::site::TemplateRules;
use enrich::extract::EXTRACTOR_VERSION;

use super::{Read, Stage, StageContext, StageOutcome};
use crate::config::Config;
use crate::engine::{self, Output, UnitStage};
use crate::schema::{TableDef, LEADS, PAGES, PAGE_TEXT, WEB_FEATURES};
use crate::state::UnitOutcome;

pub struct ExtractStage;

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

    fn reads(&self) -> &'static [Read] {
        &[Read::Table(&LEADS), Read::Table(&PAGES)]
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

    fn leased(&self) -> bool {
        true
    }

    /// Re-crawled sites (`crawl.max_age_days`): the leads whose pages they are, found in
    /// `pages` (site and lead columns only); a lead's rows hold its `lead_id`.
    fn dependent_units(
        &self,
        config: &Config,
        store: &dyn crate::state::StateStore,
        upstream: &str,
        redone: &HashSet<String>,
    ) -> anyhow::Result<Option<(HashSet<String>, &'static str)>> {
        if upstream != PAGES.stage {
            return Ok(None);
        }
        let mut leads = HashSet::new();
        for part in store.parts(PAGES.stage)? {
            if part.table != PAGES.name {
                continue;
            }
            let batches = crate::table::read_part(
                config.output_dir(),
                PAGES.stage,
                &part,
                Some(&["lead_id", "site"]),
            )?;
            for b in batches {
                let (Some(lead), Some(site)) =
                    (b.column_by_name("lead_id"), b.column_by_name("site"))
                else {
                    anyhow::bail!("{}: no lead_id or site column", part.file);
                };
                let (lead, site) = (lead.as_string::<i32>(), site.as_string::<i32>());
                for r in 0..b.num_rows() {
                    if redone.contains(site.value(r)) {
                        leads.insert(lead.value(r).to_owned());
                    }
                }
            }
        }
        Ok(Some((leads, "lead_id")))
    }

    fn run(&self, ctx: &StageContext<'_>) -> anyhow::Result<StageOutcome> {
        engine::run_units(self, ctx)
    }
}

/// A unit: one lead, and the crawl part that holds its site's pages (none: no page).
pub struct LeadUnit {
    lead_id: String,
    part: Option<usize>,
}

/// What an extract worker keeps across parts.
pub struct Extraction {
    rules: TemplateRules,
    workers: usize,
    /// `pages`' parts, and the last one read, as sites (a part's leads are adjacent).
    parts: Vec<crate::state::PartRecord>,
    loaded: Option<(usize, Vec<SitePages>)>,
}

impl UnitStage for ExtractStage {
    type Unit = LeadUnit;
    type Worker<'a> = Extraction;

    fn units(&self, ctx: &StageContext<'_>) -> anyhow::Result<Vec<LeadUnit>> {
        let mut without: Vec<String> = lead_ids(&ctx.read(&LEADS)?)?;
        let mut pending: HashSet<String> = without.iter().cloned().collect();
        // Leads with pages, crawl part by crawl part (a site never spans two parts, so a
        // batch's sites are read from few parts), then the leads without any.
        let mut units = Vec::new();
        for (i, part) in ctx.parts_of(&PAGES)?.iter().enumerate() {
            for b in ctx.read_part_columns(part, &["lead_id"])? {
                for id in b.column(0).as_string::<i32>().iter().flatten() {
                    if pending.remove(id) {
                        units.push(LeadUnit {
                            lead_id: id.to_owned(),
                            part: Some(i),
                        });
                    }
                }
            }
        }
        without.retain(|l| pending.contains(l));
        units.extend(without.into_iter().map(|lead_id| LeadUnit {
            lead_id,
            part: None,
        }));
        Ok(units)
    }

    fn key(unit: &LeadUnit) -> &str {
        &unit.lead_id
    }

    fn part_units(&self, ctx: &StageContext<'_>) -> usize {
        ctx.config.extract.part_leads
    }

    fn open<'a>(&'a self, ctx: &'a StageContext<'a>) -> anyhow::Result<Extraction> {
        let cfg = &ctx.config.extract;
        Ok(Extraction {
            rules: TemplateRules {
                share: cfg.template_share,
                min_pages: cfg.template_min_pages,
            },
            // `0 = one per core` was resolved when the config was loaded.
            workers: cfg.workers.max(1),
            parts: ctx.parts_of(&PAGES)?,
            loaded: None,
        })
    }

    fn work(
        &self,
        w: &mut Extraction,
        ctx: &StageContext<'_>,
        units: &[&LeadUnit],
    ) -> anyhow::Result<Output> {
        // Part by part (claims on a shared store come in any order), each part read once.
        let mut units = units.to_vec();
        units.sort_by_key(|u| u.part.is_none());
        units.sort_by_key(|u| u.part);
        let mut results = Vec::with_capacity(units.len());
        let mut i = 0;
        while i < units.len() {
            let Some(part) = units[i].part else {
                // Leads without any crawled page still get their (empty) features row.
                results.push(LeadResult {
                    lead_id: units[i].lead_id.clone(),
                    site: None,
                    texts: Vec::new(),
                    features: CompanyFeatures::default(),
                    failure: None,
                });
                i += 1;
                continue;
            };
            let run = units[i..]
                .iter()
                .take_while(|u| u.part == Some(part))
                .count();
            let wanted: HashSet<&str> = units[i..i + run]
                .iter()
                .map(|u| u.lead_id.as_str())
                .collect();
            i += run;
            if w.loaded.as_ref().is_none_or(|(l, _)| *l != part) {
                let rec = w.parts.get(part).context("pages part list changed")?;
                let sites = site_pages(&ctx.read_part(rec)?)
                    .with_context(|| format!("reading {}", rec.file))?;
                w.loaded = Some((part, sites));
            }
            let (_, sites) = w.loaded.as_ref().expect("loaded above");
            // The part's sites are borrowed, not copied (their HTML is most of the part).
            let todo: Vec<(&SitePages, Vec<String>)> = sites
                .iter()
                .map(|s| {
                    let leads: Vec<String> = s
                        .leads
                        .iter()
                        .filter(|l| wanted.contains(l.as_str()))
                        .cloned()
                        .collect();
                    (s, leads)
                })
                .filter(|(_, leads)| !leads.is_empty())
                .collect();
            results.extend(extract_sites(todo, w.workers, &w.rules, ctx.stop));
        }
        rows(results)
    }
}

/// Extracts sites on `workers` threads; results come back in input order, one per lead.
/// At a stop, sites not started are left out (their leads stay pending): a stop waits for the
/// sites in flight only.
fn extract_sites(
    todo: Vec<(&SitePages, Vec<String>)>,
    workers: usize,
    rules: &TemplateRules,
    stop: &crate::signals::StopFlag,
) -> Vec<LeadResult> {
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
                        let Some((site, leads)) = todo.get(i) else {
                            break;
                        };
                        if stop.is_set() {
                            break;
                        }
                        done.push((i, extract_site_guarded(site, leads, rules)));
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
fn extract_site_guarded(
    site: &SitePages,
    leads: &[String],
    rules: &TemplateRules,
) -> Vec<LeadResult> {
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
    leads
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

/// A batch of extracted leads as `page_text` and `web_features` rows.
fn rows(results: Vec<LeadResult>) -> anyhow::Result<Output> {
    let mut out = Output::default();
    out.counters
        .insert("leads".to_owned(), results.len() as u64);
    out.counters.insert(
        "pages".to_owned(),
        results.iter().map(|r| r.texts.len() as u64).sum(),
    );
    out.counters.insert(
        "leads_without_pages".to_owned(),
        results.iter().filter(|r| r.texts.is_empty()).count() as u64,
    );
    out.units = results
        .iter()
        .map(|r| match &r.failure {
            None => UnitOutcome::done(&r.lead_id),
            Some(why) => UnitOutcome::failed(&r.lead_id, why),
        })
        .collect();
    out.tables = vec![
        (&PAGE_TEXT, vec![page_text_batch(&results)?]),
        (&WEB_FEATURES, vec![web_features_batch(&results)?]),
    ];
    out.meta = vec![(
        "leadcrawl.extractor_version".into(),
        EXTRACTOR_VERSION.into(),
    )];
    Ok(out)
}
