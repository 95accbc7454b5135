//! Registry: leads (+ identifiers found on their websites) → `registry`, one row per lead.
//!
//! The unit of work is a lead. Leads are looked up `registry.concurrency` at a time on a small
//! tokio runtime (each registry keeps its own rate, see [`api`]); finished leads are committed
//! in parts of `registry.part_leads`. How a lead is matched is [`resolve`]'s; the parsers,
//! code tables and the matcher are `enrich::registry`'s.

pub mod api;
pub mod batch;
pub mod resolve;

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::Ordering;

use anyhow::Context;
use arrow::array::{Array, AsArray, RecordBatch};
use futures_util::StreamExt;

use super::{Stage, StageContext, StageOutcome};
use crate::config::Config;
use crate::schema::{TableDef, REGISTRY};
use crate::state::UnitOutcome;
use crate::table;
use resolve::{LeadIn, Resolved, Resolver};

pub struct RegistryStage;

impl Stage for RegistryStage {
    fn name(&self) -> &'static str {
        "registry"
    }

    fn about(&self) -> &'static str {
        "match leads to public company registries (SIRENE, SEC EDGAR, GLEIF, Companies House) into `registry`"
    }

    fn after(&self) -> &'static [&'static str] {
        &["ingest", "extract"]
    }

    fn tables(&self) -> &'static [&'static TableDef] {
        &[&REGISTRY]
    }

    fn fingerprint(&self, config: &Config) -> anyhow::Result<String> {
        // Besides the settings: whether the SEC's e-mail and the Companies House key are
        // there (each decides whether a registry is asked), not their values.
        let r = &config.registry;
        let uk_key = std::env::var(&r.companies_house_key_env)
            .map(|k| !k.trim().is_empty())
            .unwrap_or(false);
        Ok(format!(
            "registry={};email:{};uk_key:{uk_key};rules=leadcrawl-registry/2",
            config.fingerprint("registry"),
            !r.contact_email.is_empty(),
        ))
    }

    fn run(&self, ctx: &StageContext<'_>) -> anyhow::Result<StageOutcome> {
        let cfg = &ctx.config.registry;
        let mut leads = read_leads(&table::read_registered(
            ctx.store,
            ctx.output_dir(),
            "ingest",
            "leads",
        )?)?;
        let web = read_web(&table::read_registered(
            ctx.store,
            ctx.output_dir(),
            "extract",
            "web_features",
        )?)?;
        for lead in &mut leads {
            if let Some(w) = web.get(&lead.lead_id) {
                lead.web_sirens = w.web_sirens.clone();
                lead.web_leis = w.web_leis.clone();
                lead.web_uk = w.web_uk.clone();
                lead.postcode = w.postcode.clone();
                lead.city = w.city.clone();
            }
        }
        drop(web);
        ctx.store.set_units_total(ctx.stage, leads.len() as u64)?;
        ctx.progress.set_total(leads.len() as u64);
        let finished = ctx.store.finished_units(ctx.stage)?;
        ctx.progress.inc(
            leads
                .iter()
                .filter(|l| finished.contains(&l.lead_id))
                .count() as u64,
            "already done",
        );
        leads.retain(|l| !finished.contains(&l.lead_id));
        for why in resolve::disabled_reasons(cfg) {
            tracing::warn!("{why}");
        }
        let run_day = chrono::Utc::now().date_naive();
        let resolver = Resolver::new(cfg, api::Api::new(cfg, ctx.store)?);
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let mut part_seq = ctx.store.parts(ctx.stage)?.len();
        let mut totals: BTreeMap<String, u64> = BTreeMap::new();
        let mut failed = 0u64;
        let mut interrupted = false;
        for part in leads.chunks(cfg.part_leads.max(1)) {
            if ctx.should_stop() {
                interrupted = true;
                break;
            }
            let before = counters_now(&resolver);
            let results: Vec<(usize, Result<Resolved, api::ApiError>)> = runtime.block_on(
                futures_util::stream::iter(part.iter().enumerate())
                    .map(|(i, lead)| {
                        let r = &resolver;
                        let stop = ctx.stop;
                        async move {
                            if stop.is_set() {
                                return (i, None);
                            }
                            let got = r.resolve(lead).await;
                            (i, Some(got))
                        }
                    })
                    .buffer_unordered(cfg.concurrency.max(1))
                    .filter_map(|(i, r)| async move { r.map(|r| (i, r)) })
                    .collect(),
            );
            let mut rows: Vec<(&LeadIn, Resolved)> = Vec::new();
            let mut units = Vec::new();
            let mut counters: BTreeMap<String, u64> = BTreeMap::new();
            let mut results = results;
            results.sort_by_key(|(i, _)| *i);
            for (i, got) in results {
                let lead = &part[i];
                let resolved = match got {
                    Ok(r) => {
                        units.push(UnitOutcome::done(&lead.lead_id));
                        r
                    }
                    Err(e) => {
                        tracing::warn!(lead = %lead.lead_id, error = %e, "registry lookup failed");
                        units.push(UnitOutcome::failed(&lead.lead_id, e.to_string()));
                        failed += 1;
                        resolve::Resolved::error(e.to_string())
                    }
                };
                *counters
                    .entry(resolved.status.as_str().to_owned())
                    .or_default() += 1;
                if let Some(m) = resolved.method {
                    *counters.entry(format!("by_{m}")).or_default() += 1;
                }
                rows.push((lead, resolved));
            }
            let after = counters_now(&resolver);
            counters.insert("requests".into(), after.0 - before.0);
            counters.insert("cache_hits".into(), after.1 - before.1);
            counters.insert("request_errors".into(), after.2 - before.2);
            let complete = rows.len() == part.len();
            if !rows.is_empty() {
                let batch = batch::registry_batch(&rows, run_day)?;
                ctx.commit_parts(
                    &format!("part-{part_seq:05}.parquet"),
                    &[(&REGISTRY, vec![batch])],
                    &[],
                    &units,
                    &counters,
                )?;
                part_seq += 1;
                ctx.progress.inc(
                    rows.len() as u64,
                    &format!(
                        "{} matched, {} requests, {} from cache",
                        counters.get("matched").copied().unwrap_or(0),
                        counters["requests"],
                        counters["cache_hits"]
                    ),
                );
            }
            for (k, v) in counters {
                *totals.entry(k).or_default() += v;
            }
            if !complete {
                interrupted = true;
                break;
            }
        }
        tracing::info!(
            matched = totals.get("matched").copied().unwrap_or(0),
            ambiguous = totals.get("ambiguous").copied().unwrap_or(0),
            unmatched = totals.get("unmatched").copied().unwrap_or(0),
            requests = totals.get("requests").copied().unwrap_or(0),
            cache_hits = totals.get("cache_hits").copied().unwrap_or(0),
            sec_companies = resolver.sec_companies().unwrap_or(0),
            "registry lookups"
        );
        if interrupted {
            return Ok(StageOutcome::Interrupted);
        }
        Ok(StageOutcome::Completed {
            units_failed: failed,
        })
    }
}

fn counters_now(r: &Resolver<'_>) -> (u64, u64, u64) {
    let c = &r.api.counters;
    (
        c.requests.load(Ordering::Relaxed),
        c.cache_hits.load(Ordering::Relaxed),
        c.errors.load(Ordering::Relaxed),
    )
}

fn read_leads(batches: &[RecordBatch]) -> anyhow::Result<Vec<LeadIn>> {
    let mut out = Vec::new();
    for b in batches {
        let col = |n: &str| {
            b.column_by_name(n)
                .with_context(|| format!("leads.{n}"))
                .map(|c| c.as_string::<i32>())
        };
        let (ids, names, countries, domains) = (
            col("lead_id")?,
            col("name")?,
            col("country")?,
            col("domain")?,
        );
        let (sirens, ciks, leis, numbers) = (
            col("siren")?,
            col("cik")?,
            col("lei")?,
            col("company_number")?,
        );
        for r in 0..b.num_rows() {
            let opt =
                |a: &arrow::array::StringArray| (!a.is_null(r)).then(|| a.value(r).to_owned());
            out.push(LeadIn {
                lead_id: ids.value(r).to_owned(),
                name: names.value(r).to_owned(),
                country: opt(countries),
                domain: opt(domains),
                siren: opt(sirens),
                cik: opt(ciks),
                lei: opt(leis),
                company_number: opt(numbers),
                ..LeadIn::default()
            });
        }
    }
    Ok(out)
}

fn read_web(batches: &[RecordBatch]) -> anyhow::Result<HashMap<String, LeadIn>> {
    let mut out = HashMap::new();
    for b in batches {
        let col = |n: &str| {
            b.column_by_name(n)
                .with_context(|| format!("web_features.{n}"))
        };
        let ids = col("lead_id")?.as_string::<i32>();
        let list = |n: &str| -> anyhow::Result<Vec<Vec<String>>> {
            let l = col(n)?.as_list::<i32>();
            Ok((0..b.num_rows())
                .map(|r| {
                    if l.is_null(r) {
                        return Vec::new();
                    }
                    let v = l.value(r);
                    let s = v.as_string::<i32>();
                    s.iter().flatten().map(str::to_owned).collect()
                })
                .collect())
        };
        let (sirens, leis, uk) = (list("siren")?, list("lei")?, list("uk_company_numbers")?);
        let post = col("org_postal_code")?.as_string::<i32>();
        let city = col("org_locality")?.as_string::<i32>();
        for r in 0..b.num_rows() {
            let opt =
                |a: &arrow::array::StringArray| (!a.is_null(r)).then(|| a.value(r).to_owned());
            out.insert(
                ids.value(r).to_owned(),
                LeadIn {
                    web_sirens: sirens[r].clone(),
                    web_leis: leis[r].clone(),
                    web_uk: uk[r].clone(),
                    postcode: opt(post),
                    city: opt(city),
                    ..LeadIn::default()
                },
            );
        }
    }
    Ok(out)
}
