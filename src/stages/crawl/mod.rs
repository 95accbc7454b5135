//! Crawl: each lead's website → `pages` (one row per attempted URL, raw HTML kept).
//!
//! The unit of work is a site (the registrable domain, shared by the leads that point at it).
//! Sites are crawled concurrently on a tokio runtime by the `crawler` crate; finished sites are
//! sent back to this thread, which writes them into parts of at most `crawl.part_rows` rows and
//! commits each part together with its sites' done-marks. A SIGKILL therefore loses at most
//! the sites not yet committed, and they are crawled again by the next run; no row is ever
//! written twice.

mod leased;
mod refresh;
mod rows;
mod sites;

use std::collections::HashSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::{Read, Stage, StageContext, StageOutcome};
use crate::config::Config;
use crate::schema::{TableDef, LEADS, PAGES};

use sites::{commit_part, Done, SiteJob};
pub use sites::{fetch_config, site_config};
use sites::{previous_pages, site_jobs, Engine, Pending, PART_BYTES};

pub struct CrawlStage;

impl CrawlStage {
    fn commit(
        &self,
        ctx: &StageContext<'_>,
        pending: &mut Pending,
        names: &mut crate::engine::PartNames,
    ) -> anyhow::Result<()> {
        if pending.done.is_empty() {
            return Ok(());
        }
        commit_part(ctx, pending, &names.next())?;
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

    fn reads(&self) -> &'static [Read] {
        &[Read::Table(&LEADS)]
    }

    fn tables(&self) -> &'static [&'static TableDef] {
        &[&PAGES]
    }

    fn fingerprint(&self, config: &Config) -> anyhow::Result<String> {
        Ok(format!("crawl={}", config.fingerprint("crawl")))
    }

    fn leased(&self) -> bool {
        true
    }

    fn aged_units(
        &self,
        config: &Config,
        store: &dyn crate::state::StateStore,
    ) -> anyhow::Result<u64> {
        Ok(refresh::aged_sites(config, store)?.len() as u64)
    }

    fn run(&self, ctx: &StageContext<'_>) -> anyhow::Result<StageOutcome> {
        // Only the run takes aged sites back (before it lists what is left to crawl); workers
        // crawl what the frontier holds.
        if let crate::stages::Role::Run { .. } = ctx.role {
            refresh::refresh(ctx)?;
        }
        if let Some(leases) = ctx.store.leases() {
            return leased::run(ctx, leases);
        }
        let c = &ctx.config.crawl;
        if c.contact_url.is_empty() && !c.allow_private_networks {
            tracing::warn!("crawl.contact_url is empty: set it so that site owners can reach you");
        }
        let leads = ctx.read(&LEADS)?;
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
        let mut part_seq = crate::engine::PartNames::after_registered(ctx, "part-")?;

        let Engine {
            fetcher,
            budgets,
            site_cfg,
            runtime,
        } = Engine::new(c, None)?;
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
        tracing::info!(
            pages,
            seconds = started.elapsed().as_secs_f64(),
            "crawl finished"
        );
        crate::engine::completed(ctx)
    }
}
