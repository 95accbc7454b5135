//! The crawl on a shared PostgreSQL state store: hosts are leased to workers.
//!
//! `leadcrawl run` enqueues every site not yet done into the frontier, works on it like any
//! worker (unless `--no-local-worker`), and waits until no site is left. Each `leadcrawl worker`
//! (and the run's own loop) claims up to `crawl.concurrency` hosts at a time, waits before a
//! host's first request as long as the database says (politeness across a change of hands),
//! crawls them with the same crawler as the single-machine crawl, heartbeats its leases every
//! third of `state.lease_seconds`, and commits finished sites in parts named after the worker,
//! each part and its sites' done-marks in one transaction that checks the leases are still its
//! own. A site whose lease is lost (this worker stalled past the expiry) stops before its next
//! request and its result is dropped; the worker that took the lease over crawls it again.
//!
//! A worker stops sending requests to a host at its own reckoning of the lease's end, a third
//! of the lease before the database's: with the wait the database imposes on the next holder
//! (old expiry + the host's interval), two holders' requests are always at least
//! `lease_seconds / 3` + the interval apart. A robots.txt `Crawl-delay` longer than the
//! configured interval is written to the frontier within a fraction of a second of being read
//! (the worker watches its hosts' pacing), long before the host's next request, which waits
//! that delay: a later holder waits it too.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::sites::{commit_part, previous_pages, site_jobs, Done, Engine, Pending, SiteJob};
use crate::engine::{Leased, PartNames};
use crate::schema::LEADS;
use crate::stages::{StageContext, StageOutcome};
use crate::state::{Leases, StateError};

/// The worker's view of its leases: when each one ends, by its own clock.
type Deadlines = Arc<Mutex<HashMap<String, Instant>>>;

fn deadline_passed(d: &Deadlines, key: &str) -> bool {
    d.lock()
        .unwrap_or_else(|p| p.into_inner())
        .get(key)
        .is_none_or(|&t| Instant::now() >= t)
}

/// Every worker's host pace ([`Leases::pace`], keyed `host:<site key>`), on a connection of its
/// own: the fetches ask for slots from the crawl runtime's threads, while the stage's store
/// stays with the stage.
struct HostPace(Arc<dyn crate::state::StateStore>);

impl HostPace {
    fn open(ctx: &StageContext<'_>, leases: &dyn Leases) -> anyhow::Result<HostPace> {
        Ok(HostPace(Arc::from(crate::state::open(
            ctx.config,
            Some(leases.owner()),
        )?)))
    }
}

impl crawler::SharedPace for HostPace {
    fn slot(&self, key: String, interval: Duration) -> crawler::BoxedWait {
        let store = self.0.clone();
        Box::pin(async move {
            let asked = tokio::task::spawn_blocking(move || {
                let leases = store.leases()?;
                Some(leases.pace(&format!("host:{key}"), interval))
            })
            .await;
            match asked {
                Ok(Some(Ok(wait))) => wait,
                // Unreachable store: the cautious wait (its commits will fail loudly anyway).
                Ok(Some(Err(e))) => {
                    tracing::warn!(error = %e, "shared host pace unavailable; waiting one interval");
                    interval
                }
                _ => interval,
            }
        })
    }
}

pub(super) fn run(ctx: &StageContext<'_>, leases: &dyn Leases) -> anyhow::Result<StageOutcome> {
    let c = &ctx.config.crawl;
    let mut jobs = site_jobs(&ctx.read(&LEADS)?)?;
    // The old pages of a reset or refreshed crawl, when this machine sees the output folder:
    // conditional requests, as on one machine.
    let mut previous = previous_pages(&ctx.previous_dir())?;
    for j in &mut jobs {
        j.previous = previous.remove(&j.key);
    }
    let interval = Duration::from_secs_f64(1.0 / c.requests_per_second);
    let keys: Vec<String> = jobs.iter().map(|j| j.key.clone()).collect();
    let frontier = Leased::open(ctx, leases, &keys, interval)?;
    let jobs: HashMap<String, SiteJob> = jobs.into_iter().map(|j| (j.key.clone(), j)).collect();
    // Built once, not per round of claims (a worker waiting on others' last sites loops).
    let mut me = if frontier.local_worker {
        Some(Worker {
            engine: Engine::new(
                &ctx.config.crawl,
                Some(Arc::new(HostPace::open(ctx, leases)?)),
            )?,
            names: frontier.part_names()?,
            totals: (0, 0),
        })
    } else {
        None
    };
    loop {
        if let Some(me) = me.as_mut() {
            work(ctx, leases, &jobs, me)?;
        }
        if ctx.should_stop() {
            return Ok(StageOutcome::Interrupted);
        }
        if frontier.all_done()? {
            break;
        }
        // Sites held by other workers (or by a dead one, until its leases expire).
        frontier.pause();
    }
    frontier.finish(ctx)?;
    crate::engine::completed(ctx)
}

/// Claims, crawls and commits sites until no claimable one is left and nothing is in flight.
/// This worker's crawling state across its rounds of claims: built once per stage run.
struct Worker {
    engine: Engine,
    names: PartNames,
    /// Sites and pages committed so far.
    totals: (u64, u64),
}

fn work(
    ctx: &StageContext<'_>,
    leases: &dyn Leases,
    jobs: &HashMap<String, SiteJob>,
    me: &mut Worker,
) -> anyhow::Result<()> {
    let c = &ctx.config.crawl;
    let ttl = Duration::from_secs_f64(ctx.config.state.lease_seconds);
    let beat = ttl / 3;
    let Worker {
        engine,
        names,
        totals,
    } = me;
    let Engine {
        fetcher,
        budgets,
        site_cfg,
        runtime,
    } = &*engine;
    let (tx, mut rx) = tokio::sync::mpsc::channel::<Done>(4);
    let deadlines: Deadlines = Arc::default();
    let concurrency = c.concurrency as usize;
    // Units leased to this worker and not yet committed or given back.
    let mut held: HashSet<String> = HashSet::new();
    let mut in_flight = 0usize;
    let mut pending = Pending::default();
    let mut last_commit = Instant::now();
    let mut last_beat = Instant::now();
    // When a claim last came back empty: hosts may still free up (expired leases) while this
    // worker finishes its own, so it asks again every second.
    let mut empty_since: Option<Instant> = None;
    // Each held host's interval as the frontier knows it.
    let mut recorded: HashMap<String, Duration> = HashMap::new();
    leases.worker_seen(ctx.stage, totals.0, totals.1)?;

    let mut commit = |pending: &mut Pending,
                      held: &mut HashSet<String>,
                      totals: &mut (u64, u64)|
     -> anyhow::Result<()> {
        if pending.done.is_empty() {
            return Ok(());
        }
        let keys: Vec<String> = pending.done.iter().map(|d| d.job.key.clone()).collect();
        let pages: u64 = pending
            .done
            .iter()
            .map(|d| {
                d.crawl
                    .attempts
                    .iter()
                    .filter(|a| a.kind == crawler::Kind::Page)
                    .count() as u64
            })
            .sum();
        let name = names.next();
        match commit_part(ctx, pending, &name) {
            Ok(()) => {
                totals.0 += keys.len() as u64;
                totals.1 += pages;
            }
            Err(e) => match e.downcast_ref::<StateError>() {
                Some(StateError::LeaseLost { units, .. }) => {
                    // Another worker owns some of these sites now: nothing was registered. The
                    // sites still ours are given back, to be crawled again by whoever claims them.
                    tracing::warn!(lost = units.len(), "{e:#}");
                    let lost: HashSet<&String> = units.iter().collect();
                    let ours: Vec<String> =
                        keys.iter().filter(|k| !lost.contains(k)).cloned().collect();
                    leases.release(ctx.stage, &ours)?;
                }
                _ => return Err(e),
            },
        }
        for k in &keys {
            held.remove(k);
        }
        Ok(())
    };

    loop {
        let stopping = ctx.should_stop();
        // Claim more hosts while there is room.
        if !stopping
            && in_flight < concurrency
            && empty_since.is_none_or(|t| t.elapsed() > Duration::from_secs(1))
        {
            let asked = Instant::now();
            let claims = leases.claim(ctx.stage, concurrency - in_flight, ttl)?;
            empty_since = claims.is_empty().then(Instant::now);
            for claim in claims {
                // A copy: the site may come back to this worker (a lost or released lease).
                let Some(job) = jobs.get(&claim.unit).map(|j| SiteJob {
                    key: j.key.clone(),
                    start: j.start.clone(),
                    leads: j.leads.clone(),
                    previous: j.previous.clone(),
                }) else {
                    // A unit this worker's lead list does not know (the lists differ): give it
                    // back rather than lose it.
                    tracing::warn!(unit = %claim.unit, "claimed a site that is not in this worker's leads; released");
                    leases.release(ctx.stage, std::slice::from_ref(&claim.unit))?;
                    continue;
                };
                if claim.claims > 1 {
                    tracing::info!(site = %claim.unit, wait_ms = claim.wait.as_millis() as u64, "taking over an expired lease");
                }
                deadlines
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .insert(claim.unit.clone(), asked + ttl - beat);
                held.insert(claim.unit.clone());
                recorded.insert(claim.unit.clone(), budgets.default_interval());
                in_flight += 1;
                let (fetcher, budgets, site_cfg, tx, stop, deadlines) = (
                    fetcher.clone(),
                    budgets.clone(),
                    site_cfg.clone(),
                    tx.clone(),
                    ctx.stop.clone(),
                    deadlines.clone(),
                );
                runtime.spawn(async move {
                    tokio::time::sleep(claim.wait).await;
                    let key = job.key.clone();
                    let should_stop = move || stop.is_set() || deadline_passed(&deadlines, &key);
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
                });
            }
        }
        if in_flight == 0 && (empty_since.is_some() || stopping) {
            break;
        }
        let got = runtime
            .block_on(async { tokio::time::timeout(Duration::from_millis(200), rx.recv()).await });
        if let Ok(Some(done)) = got {
            in_flight -= 1;
            let key = done.job.key.clone();
            if done.crawl.interrupted {
                // Stopped by a signal (give the host back) or by a lost lease (not ours).
                if held.remove(&key) && !deadline_passed(&deadlines, &key) {
                    leases.release(ctx.stage, std::slice::from_ref(&key))?;
                }
            } else {
                pending.add(done);
            }
        }
        // A host that asked for more time between requests (Crawl-delay): into the frontier.
        let raised: Vec<(String, Duration)> = held
            .iter()
            .filter_map(|u| {
                let now = budgets.get(u).current_interval();
                (recorded.get(u).is_none_or(|&r| now > r)).then(|| (u.clone(), now))
            })
            .collect();
        if !raised.is_empty() {
            leases.raise_intervals(ctx.stage, &raised)?;
            recorded.extend(raised);
        }
        if pending.rows >= c.part_rows
            || pending.bytes >= super::sites::PART_BYTES
            || (!pending.done.is_empty()
                && (in_flight == 0 || last_commit.elapsed() > Duration::from_secs(10)))
        {
            commit(&mut pending, &mut held, totals)?;
            last_commit = Instant::now();
        }
        if last_beat.elapsed() >= beat {
            let asked = Instant::now();
            let units: Vec<String> = held.iter().cloned().collect();
            let lost = if units.is_empty() {
                Vec::new()
            } else {
                leases.heartbeat(ctx.stage, &units, ttl)?
            };
            {
                let mut d = deadlines.lock().unwrap_or_else(|p| p.into_inner());
                for u in &units {
                    d.insert(u.clone(), asked + ttl - beat);
                }
                for u in &lost {
                    // Its requests stop now; its result will not be committed.
                    d.insert(u.clone(), asked);
                }
            }
            if !lost.is_empty() {
                tracing::warn!(
                    sites = lost.len(),
                    "leases lost (this worker was too slow); another worker crawls them"
                );
                // Rebuilt, so that the lost sites' counts go with them.
                let kept = std::mem::take(&mut pending).done;
                for d in kept.into_iter().filter(|d| !lost.contains(&d.job.key)) {
                    pending.add(d);
                }
                for u in &lost {
                    held.remove(u);
                }
            }
            leases.worker_seen(ctx.stage, totals.0, totals.1)?;
            last_beat = Instant::now();
        }
    }
    commit(&mut pending, &mut held, totals)?;
    if !held.is_empty() {
        let back: Vec<String> = held.drain().collect();
        leases.release(ctx.stage, &back)?;
    }
    leases.worker_seen(ctx.stage, totals.0, totals.1)?;
    Ok(())
}
