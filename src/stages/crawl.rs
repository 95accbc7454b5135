//! Crawl: each lead's website → `pages` (one row per attempted URL, raw HTML kept).
//!
//! The unit of work is a site (the registrable domain, shared by the leads that point at it).
//! Sites are crawled concurrently on a tokio runtime by the `crawler` crate; finished sites are
//! sent back to this thread, which writes them into parts of at most `crawl.part_rows` rows and
//! commits each part together with its sites' done-marks. A SIGKILL therefore loses at most
//! the sites not yet committed, and they are crawled again by the next run; no row is ever
//! written twice.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant, UNIX_EPOCH};

use anyhow::Context;
use arrow::array::{
    Array, ArrayRef, AsArray, BinaryBuilder, Int32Builder, RecordBatch, StringBuilder,
    StringDictionaryBuilder, TimestampMicrosecondBuilder, UInt32Builder, UInt64Builder,
};
use arrow::datatypes::Int32Type;
use crawler::{FetchConfig, Fetcher, HostBudgets, SiteConfig, SiteCrawl, Validators};
use url::Url;

use super::{Stage, StageContext, StageOutcome};
use crate::config::{Config, CrawlSection};
use crate::schema::{TableDef, PAGES};
use crate::state::UnitOutcome;
use crate::table;

pub struct CrawlStage;

/// A site to crawl and the leads that point at it.
pub(super) struct SiteJob {
    pub(super) key: String,
    pub(super) start: Url,
    pub(super) leads: Vec<String>,
    /// Validators and bodies of this site's pages from the crawl before a reset.
    pub(super) previous: Option<HashMap<String, Validators>>,
}

/// A crawled site on its way to a part file.
pub(super) struct Done {
    pub(super) job: SiteJob,
    pub(super) crawl: SiteCrawl,
}

/// The product token of the User-Agent (`leadcrawl` in `leadcrawl/0.1`), matched against
/// robots.txt groups.
fn agent_token(ua: &str) -> String {
    ua.split(['/', ' '])
        .next()
        .unwrap_or("leadcrawl")
        .to_ascii_lowercase()
}

pub fn fetch_config(c: &CrawlSection) -> FetchConfig {
    let user_agent = if c.contact_url.is_empty() {
        format!("{} (compatible; company-profile crawler)", c.user_agent)
    } else {
        format!(
            "{} (compatible; company-profile crawler; +{})",
            c.user_agent, c.contact_url
        )
    };
    FetchConfig {
        user_agent,
        connect_timeout: Duration::from_secs_f64(c.connect_timeout_secs),
        request_timeout: Duration::from_secs_f64(c.read_timeout_secs),
        max_body_bytes: c.max_body_bytes,
        max_redirects: c.max_redirects,
        max_retries: c.max_retries,
        retry_base: Duration::from_millis(c.retry_base_ms),
        retry_cap: Duration::from_secs_f64(c.max_retry_wait_secs),
        allow_private_networks: c.allow_private_networks,
    }
}

/// What crawls sites: the HTTP client, the per-host budgets, the site settings and the runtime
/// the site tasks run on. Built once per stage run.
pub(super) struct Engine {
    pub(super) fetcher: Arc<Fetcher>,
    pub(super) budgets: Arc<HostBudgets>,
    pub(super) site_cfg: Arc<SiteConfig>,
    pub(super) runtime: tokio::runtime::Runtime,
}

impl Engine {
    pub(super) fn new(c: &CrawlSection) -> anyhow::Result<Engine> {
        Ok(Engine {
            fetcher: Arc::new(Fetcher::new(fetch_config(c))?),
            budgets: Arc::new(HostBudgets::new(c.requests_per_second, c.burst)),
            site_cfg: Arc::new(site_config(c)),
            runtime: tokio::runtime::Builder::new_multi_thread()
                .worker_threads(
                    std::thread::available_parallelism()
                        .map(|n| n.get())
                        .unwrap_or(2)
                        .min(4),
                )
                .enable_all()
                .thread_name("crawl")
                .build()?,
        })
    }
}

pub fn site_config(c: &CrawlSection) -> SiteConfig {
    SiteConfig {
        agent_token: agent_token(&c.user_agent),
        max_pages: c.max_pages_per_site,
        max_depth: c.max_depth,
        time_budget: Duration::from_secs_f64(c.site_time_budget_secs),
        breaker_threshold: c.breaker_threshold,
        robots_retry_delay: Duration::from_secs_f64(c.robots_retry_delay_secs),
        robots_retries: c.robots_retries,
        max_sitemaps: c.max_sitemaps,
    }
}

/// Sites of the leads that have a website, in lead order.
pub(super) fn site_jobs(batches: &[RecordBatch]) -> anyhow::Result<Vec<SiteJob>> {
    let mut jobs: Vec<SiteJob> = Vec::new();
    let mut index: BTreeMap<String, usize> = BTreeMap::new();
    for b in batches {
        let ids = b
            .column_by_name("lead_id")
            .context("leads.lead_id")?
            .as_string::<i32>()
            .clone();
        let sites = b
            .column_by_name("website")
            .context("leads.website")?
            .as_string::<i32>()
            .clone();
        for r in 0..b.num_rows() {
            if sites.is_null(r) {
                continue;
            }
            let Ok(url) = Url::parse(sites.value(r)) else {
                continue;
            };
            let Some(key) = crawler::site_key(&url) else {
                continue;
            };
            match index.get(&key) {
                Some(&i) => jobs[i].leads.push(ids.value(r).to_string()),
                None => {
                    index.insert(key.clone(), jobs.len());
                    jobs.push(SiteJob {
                        key,
                        start: url,
                        leads: vec![ids.value(r).to_string()],
                        previous: None,
                    });
                }
            }
        }
    }
    Ok(jobs)
}

/// Pages of the crawl before the last reset, by site then URL: what conditional requests are
/// made from. Only pages with a body and a validator (ETag or Last-Modified) count.
fn previous_pages(
    dir: &std::path::Path,
) -> anyhow::Result<HashMap<String, HashMap<String, Validators>>> {
    let mut out: HashMap<String, HashMap<String, Validators>> = HashMap::new();
    let Ok(entries) = std::fs::read_dir(dir.join("pages")) else {
        return Ok(out);
    };
    for e in entries.flatten() {
        for b in table::read_file(&e.path())? {
            let s = |n: &str| b.column_by_name(n).map(|c| c.as_string::<i32>().clone());
            let (Some(site), Some(url), Some(etag), Some(lastmod), Some(ctype)) = (
                s("site"),
                s("url"),
                s("etag"),
                s("last_modified"),
                s("content_type"),
            ) else {
                continue;
            };
            let Some(html) = b
                .column_by_name("html")
                .map(|c| c.as_binary::<i32>().clone())
            else {
                continue;
            };
            for r in 0..b.num_rows() {
                if html.is_null(r) || (etag.is_null(r) && lastmod.is_null(r)) {
                    continue;
                }
                let opt =
                    |a: &arrow::array::StringArray| (!a.is_null(r)).then(|| a.value(r).to_string());
                out.entry(site.value(r).to_string()).or_default().insert(
                    url.value(r).to_string(),
                    Validators {
                        etag: opt(&etag),
                        last_modified: opt(&lastmod),
                        body: Some(Arc::new(html.value(r).to_vec())),
                        content_type: opt(&ctype),
                    },
                );
            }
        }
    }
    Ok(out)
}

fn micros(t: std::time::SystemTime) -> i64 {
    t.duration_since(UNIX_EPOCH)
        .map(|d| d.as_micros() as i64)
        .unwrap_or(0)
}

fn pages_batch(done: &[Done]) -> anyhow::Result<RecordBatch> {
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

/// Buffered finished sites and the counters they add.
#[derive(Default)]
pub(super) struct Pending {
    pub(super) done: Vec<Done>,
    pub(super) rows: usize,
    /// Body bytes held: a part is also cut at [`PART_BYTES`], bounding memory whatever
    /// `part_rows` says (encoding a part holds about three copies of its HTML).
    pub(super) bytes: usize,
    counters: BTreeMap<String, u64>,
}

/// Largest amount of HTML buffered for one part.
pub(super) const PART_BYTES: usize = 2 << 20;
/// Rows per Arrow batch when a part is encoded: crawl results are freed batch by batch.
const BATCH_ROWS: usize = 256;

impl Pending {
    pub(super) fn add(&mut self, d: Done) {
        let c = &mut self.counters;
        let pages = d
            .crawl
            .attempts
            .iter()
            .filter(|a| a.kind == crawler::Kind::Page)
            .count() as u64;
        *c.entry("sites".into()).or_default() += 1;
        *c.entry("pages".into()).or_default() += pages;
        *c.entry("pages_ok".into()).or_default() += d.crawl.pages_ok as u64;
        *c.entry("not_modified".into()).or_default() += d
            .crawl
            .attempts
            .iter()
            .filter(|a| a.fetched.status == Some(304))
            .count() as u64;
        *c.entry("fetch_errors".into()).or_default() += d
            .crawl
            .attempts
            .iter()
            .filter(|a| a.fetched.error.is_some())
            .count() as u64;
        *c.entry("robots_disallowed".into()).or_default() += d.crawl.robots_disallowed as u64;
        *c.entry("bytes".into()).or_default() += d
            .crawl
            .attempts
            .iter()
            .map(|a| a.fetched.bytes)
            .sum::<u64>();
        if d.crawl.failure.is_some() {
            *c.entry("sites_failed".into()).or_default() += 1;
        }
        if d.crawl.moved_to.is_some() {
            *c.entry("sites_moved".into()).or_default() += 1;
        }
        self.rows += d.crawl.attempts.len() * d.job.leads.len();
        self.bytes += d
            .crawl
            .attempts
            .iter()
            .map(|a| a.fetched.body.as_ref().map_or(0, Vec::len))
            .sum::<usize>()
            * d.job.leads.len();
        self.done.push(d);
    }
}

impl CrawlStage {
    fn commit(
        &self,
        ctx: &StageContext<'_>,
        pending: &mut Pending,
        part_seq: &mut usize,
    ) -> anyhow::Result<()> {
        if pending.done.is_empty() {
            return Ok(());
        }
        commit_part(ctx, pending, &format!("part-{:05}.parquet", *part_seq))?;
        *part_seq += 1;
        Ok(())
    }
}

/// Writes the pending sites into one part named `name` and commits it with their done-marks;
/// `pending` is emptied whatever happens (the sites are either committed or to be redone).
pub(super) fn commit_part(
    ctx: &StageContext<'_>,
    pending: &mut Pending,
    name: &str,
) -> anyhow::Result<()> {
    {
        // Sites become Arrow batches a few at a time, each site's results freed as soon as its
        // rows are copied, so a part never holds its HTML twice.
        let mut units: Vec<UnitOutcome> = Vec::with_capacity(pending.done.len());
        let mut batches = Vec::new();
        let mut chunk: Vec<Done> = Vec::new();
        let mut chunk_rows = 0;
        let mut flush =
            |chunk: &mut Vec<Done>, units: &mut Vec<UnitOutcome>| -> anyhow::Result<()> {
                if !chunk.is_empty() {
                    batches.push(pages_batch(chunk)?);
                    units.extend(chunk.drain(..).map(|d| match d.crawl.failure {
                        Some(why) => UnitOutcome::failed(&d.job.key, why),
                        None => UnitOutcome::done(&d.job.key),
                    }));
                }
                Ok(())
            };
        for d in std::mem::take(&mut pending.done) {
            chunk_rows += d.crawl.attempts.len() * d.job.leads.len();
            chunk.push(d);
            if chunk_rows >= BATCH_ROWS {
                flush(&mut chunk, &mut units)?;
                chunk_rows = 0;
            }
        }
        flush(&mut chunk, &mut units)?;
        let counters = std::mem::take(&mut pending.counters);
        *pending = Pending::default();
        ctx.commit_parts(name, &[(&PAGES, batches)], &[], &units, &counters)?;
        Ok(())
    }
}

impl Stage for CrawlStage {
    fn name(&self) -> &'static str {
        "crawl"
    }

    fn about(&self) -> &'static str {
        "crawl each lead's website politely into `pages` (raw HTML kept)"
    }

    fn after(&self) -> &'static [&'static str] {
        &["ingest"]
    }

    fn tables(&self) -> &'static [&'static TableDef] {
        &[&PAGES]
    }

    fn fingerprint(&self, config: &Config) -> anyhow::Result<String> {
        Ok(format!("crawl={}", config.fingerprint("crawl")))
    }

    fn run(&self, ctx: &StageContext<'_>) -> anyhow::Result<StageOutcome> {
        if let Some(leases) = ctx.store.leases() {
            return super::crawl_leased::run(ctx, leases);
        }
        let c = &ctx.config.crawl;
        if c.contact_url.is_empty() && !c.allow_private_networks {
            tracing::warn!("crawl.contact_url is empty: set it so that site owners can reach you");
        }
        let leads = table::read_registered(ctx.store, ctx.output_dir(), "ingest", "leads")?;
        let jobs = site_jobs(&leads)?;
        ctx.store.set_units_total(ctx.stage, jobs.len() as u64)?;
        ctx.progress.set_total(jobs.len() as u64);
        let finished = ctx.store.finished_units(ctx.stage)?;
        let mut previous = previous_pages(&ctx.previous_dir())?;
        if !previous.is_empty() {
            tracing::info!(
                sites = previous.len(),
                "conditional requests from the previous crawl"
            );
        }
        let todo: Vec<SiteJob> = jobs
            .into_iter()
            .filter(|j| !finished.contains(&j.key))
            .map(|mut j| {
                j.previous = previous.remove(&j.key);
                j
            })
            .collect();
        ctx.progress.inc(finished.len() as u64, "already done");
        tracing::info!(
            sites = todo.len() + finished.len(),
            todo = todo.len(),
            "crawling"
        );
        let mut part_seq = ctx.store.parts(ctx.stage)?.len();

        let Engine {
            fetcher,
            budgets,
            site_cfg,
            runtime,
        } = Engine::new(c)?;
        // Bounded: when parts are being written, finished sites wait (holding their concurrency
        // slot), so memory stays bounded by `concurrency` sites plus one part.
        let (tx, mut rx) = tokio::sync::mpsc::channel::<Done>(4);
        let stop = ctx.stop.clone();
        let concurrency = c.concurrency as usize;
        let n_todo = todo.len();
        runtime.spawn(async move {
            let sem = Arc::new(tokio::sync::Semaphore::new(concurrency));
            for job in todo {
                let Ok(permit) = sem.clone().acquire_owned().await else {
                    break;
                };
                if stop.is_set() {
                    break;
                }
                let (fetcher, budgets, site_cfg, tx, stop) = (
                    fetcher.clone(),
                    budgets.clone(),
                    site_cfg.clone(),
                    tx.clone(),
                    stop.clone(),
                );
                tokio::spawn(async move {
                    let should_stop = move || stop.is_set();
                    let crawl = crawler::crawl_site(
                        &fetcher,
                        &budgets,
                        &site_cfg,
                        &job.start,
                        job.previous.as_ref(),
                        &should_stop,
                    )
                    .await;
                    let _ = tx.send(Done { job, crawl }).await;
                    drop(permit);
                });
            }
        });

        let started = Instant::now();
        let mut pending = Pending::default();
        let mut last_commit = Instant::now();
        let (mut received, mut pages, mut errors) = (0usize, 0u64, 0u64);
        let mut seen: HashSet<String> = HashSet::new();
        let recv = |rx: &mut tokio::sync::mpsc::Receiver<Done>, wait: Duration| {
            runtime.block_on(async { tokio::time::timeout(wait, rx.recv()).await })
        };
        while received < n_todo {
            match recv(&mut rx, Duration::from_millis(200)) {
                Ok(Some(done)) => {
                    received += 1;
                    if done.crawl.interrupted || !seen.insert(done.job.key.clone()) {
                        continue;
                    }
                    pages += done
                        .crawl
                        .attempts
                        .iter()
                        .filter(|a| a.kind == crawler::Kind::Page)
                        .count() as u64;
                    errors += done.crawl.failure.is_some() as u64;
                    pending.add(done);
                    let rate = pages as f64 / started.elapsed().as_secs_f64().max(1e-3);
                    ctx.progress.inc(
                        1,
                        &format!("{pages} pages, {errors} sites failed, {rate:.0} pages/s"),
                    );
                }
                Err(_elapsed) => {}
                Ok(None) => break,
            }
            if pending.rows >= c.part_rows
                || pending.bytes >= PART_BYTES
                || (!pending.done.is_empty() && last_commit.elapsed() > Duration::from_secs(10))
            {
                self.commit(ctx, &mut pending, &mut part_seq)?;
                last_commit = Instant::now();
            }
            if ctx.should_stop() {
                // Sites in flight see the flag before their next request; those that finish
                // within a moment are kept, the others are crawled again by the next run.
                let grace = Instant::now();
                while grace.elapsed() < Duration::from_secs(2) {
                    match recv(&mut rx, Duration::from_millis(100)) {
                        Ok(Some(done))
                            if !done.crawl.interrupted && seen.insert(done.job.key.clone()) =>
                        {
                            pending.add(done)
                        }
                        Ok(Some(_)) => {}
                        Ok(None) | Err(_) => break,
                    }
                }
                break;
            }
        }
        self.commit(ctx, &mut pending, &mut part_seq)?;
        runtime.shutdown_background();
        if ctx.should_stop() {
            return Ok(StageOutcome::Interrupted);
        }
        if received < n_todo {
            // A site task ended without a result (a bug, e.g. a panic): never call the stage
            // done with sites missing; the next run crawls them.
            anyhow::bail!(
                "{} site(s) ended without a result; run again to crawl them",
                n_todo - received
            );
        }
        let failed = ctx
            .store
            .stage(ctx.stage)?
            .map(|r| r.units_failed)
            .unwrap_or(0);
        tracing::info!(
            pages,
            seconds = started.elapsed().as_secs_f64(),
            "crawl finished"
        );
        Ok(StageOutcome::Completed {
            units_failed: failed,
        })
    }
}
