//! The crawl's machinery, shared by the single-machine loop ([`super`]) and the leased one
//! ([`super::leased`]): the sites to crawl, the engine that crawls them, and the buffer of
//! finished sites that becomes a part.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use arrow::array::{Array, AsArray, RecordBatch};
use crawler::{FetchConfig, Fetcher, HostBudgets, SiteConfig, SiteCrawl, Validators};
use url::Url;

use crate::config::CrawlSection;
use crate::schema::PAGES;
use crate::stages::StageContext;
use crate::state::UnitOutcome;
use crate::table;

use super::rows::pages_batch;

/// A site to crawl and the leads that point at it.
pub(crate) struct SiteJob {
    pub(super) key: String,
    pub(super) start: Url,
    pub(super) leads: Vec<String>,
    /// Validators and bodies of this site's pages from the crawl before a reset.
    pub(super) previous: Option<HashMap<String, Validators>>,
}

/// A crawled site on its way to a part file.
pub(crate) struct Done {
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
pub(crate) struct Engine {
    pub(super) fetcher: Arc<Fetcher>,
    pub(super) budgets: Arc<HostBudgets>,
    pub(super) site_cfg: Arc<SiteConfig>,
    pub(super) runtime: tokio::runtime::Runtime,
}

impl Engine {
    /// `shared`: the host pace of every worker (PostgreSQL), or `None` for one process.
    pub(super) fn new(
        c: &CrawlSection,
        shared: Option<Arc<dyn crawler::SharedPace>>,
    ) -> anyhow::Result<Engine> {
        let mut budgets = HostBudgets::new(c.requests_per_second, c.burst);
        if let Some(shared) = shared {
            budgets = budgets.with_shared_pace(shared);
        }
        Ok(Engine {
            fetcher: Arc::new(Fetcher::with_proxy(
                fetch_config(c),
                crawler::parse_proxy(&c.proxy).context("crawl.proxy")?,
            )?),
            budgets: Arc::new(budgets),
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
pub(crate) fn site_jobs(batches: &[RecordBatch]) -> anyhow::Result<Vec<SiteJob>> {
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
pub(crate) fn previous_pages(
    dir: &std::path::Path,
) -> anyhow::Result<HashMap<String, HashMap<String, Validators>>> {
    let mut out: HashMap<String, HashMap<String, Validators>> = HashMap::new();
    let Ok(entries) = std::fs::read_dir(dir.join("pages")) else {
        return Ok(out);
    };
    for e in entries.flatten() {
        // Only an optimisation (conditional requests): a damaged old part is skipped.
        let batches = match table::read_file(&e.path()) {
            Ok(b) => b,
            Err(err) => {
                tracing::warn!(error = %err, "previous crawl part unreadable; its pages are fetched afresh");
                continue;
            }
        };
        for b in batches {
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

/// Buffered finished sites and the counters they add.
#[derive(Default)]
pub(crate) struct Pending {
    pub(super) done: Vec<Done>,
    pub(super) rows: usize,
    /// Body bytes held: a part is also cut at [`PART_BYTES`], bounding memory whatever
    /// `part_rows` says (encoding a part holds about three copies of its HTML).
    pub(super) bytes: usize,
    counters: BTreeMap<String, u64>,
}

/// Largest amount of HTML buffered for one part.
pub(crate) const PART_BYTES: usize = 2 << 20;
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

/// Writes the pending sites into one part named `name` and commits it with their done-marks;
/// `pending` is emptied whatever happens (the sites are either committed or to be redone).
pub(crate) fn commit_part(
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
