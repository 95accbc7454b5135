//! Registry: leads (+ identifiers found on their websites) → `registry`, one row per lead.
//!
//! The unit of work is a lead. Leads are looked up `registry.concurrency` at a time on a small
//! tokio runtime (each registry keeps its own rate, see [`api`]); finished leads are committed
//! in parts of `registry.part_leads`. How a lead is matched is [`resolve`]'s; the parsers,
//! code tables and the matcher are `enrich::registry`'s.

pub mod api;
pub mod batch;
pub mod resolve;

use std::collections::HashMap;
use std::sync::atomic::Ordering;

use anyhow::Context;
use arrow::array::{Array, AsArray, RecordBatch};
use futures_util::StreamExt;

use super::{Read, Stage, StageContext, StageOutcome};
use crate::config::Config;
use crate::engine::{self, Output, UnitStage};
use crate::schema::{TableDef, LEADS, REGISTRY, WEB_FEATURES};
use crate::state::UnitOutcome;
use resolve::{LeadIn, Resolved, Resolver};

pub struct RegistryStage;

impl Stage for RegistryStage {
    fn name(&self) -> &'static str {
        "registry"
    }

    fn about(&self) -> &'static str {
        "match leads to public company registries (SIRENE, SEC EDGAR, GLEIF, Companies House) into `registry`"
    }

    fn reads(&self) -> &'static [Read] {
        &[Read::Table(&LEADS), Read::Table(&WEB_FEATURES)]
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

    fn leased(&self) -> bool {
        true
    }

    fn run(&self, ctx: &StageContext<'_>) -> anyhow::Result<StageOutcome> {
        engine::run_units(self, ctx)
    }
}

/// What a registry worker keeps across parts: the resolver (its HTTP client, the per-registry
/// rates, the SEC name index once loaded) and the runtime its lookups run on.
pub struct Lookups<'a> {
    resolver: Resolver<'a>,
    runtime: tokio::runtime::Runtime,
    run_day: chrono::NaiveDate,
}

impl UnitStage for RegistryStage {
    type Unit = LeadIn;
    type Worker<'a> = Lookups<'a>;

    fn units(&self, ctx: &StageContext<'_>) -> anyhow::Result<Vec<LeadIn>> {
        let mut leads = read_leads(&ctx.read(&LEADS)?)?;
        let web = read_web(&ctx.read(&WEB_FEATURES)?)?;
        for lead in &mut leads {
            if let Some(w) = web.get(&lead.lead_id) {
                lead.web_sirens = w.web_sirens.clone();
                lead.web_leis = w.web_leis.clone();
                lead.web_uk = w.web_uk.clone();
                lead.postcode = w.postcode.clone();
                lead.city = w.city.clone();
            }
        }
        Ok(leads)
    }

    fn key(unit: &LeadIn) -> &str {
        &unit.lead_id
    }

    fn part_units(&self, ctx: &StageContext<'_>) -> usize {
        ctx.config.registry.part_leads
    }

    fn open<'a>(&'a self, ctx: &'a StageContext<'a>) -> anyhow::Result<Lookups<'a>> {
        let cfg = &ctx.config.registry;
        for why in resolve::disabled_reasons(cfg) {
            tracing::warn!("{why}");
        }
        Ok(Lookups {
            resolver: Resolver::new(cfg, api::Api::new(cfg, ctx.store)?),
            runtime: tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?,
            run_day: chrono::Utc::now().date_naive(),
        })
    }

    fn work(
        &self,
        w: &mut Lookups<'_>,
        ctx: &StageContext<'_>,
        part: &[&LeadIn],
    ) -> anyhow::Result<Output> {
        let cfg = &ctx.config.registry;
        let before = counters_now(&w.resolver);
        let resolver = &w.resolver;
        // Lookups in flight are abandoned at a stop (their leads stay pending): a registry
        // that never answers must not hold the process.
        let results: Vec<(usize, Result<Resolved, api::ApiError>)> = w.runtime.block_on(async {
            let mut lookups = futures_util::stream::iter(part.iter().enumerate())
                .map(|(i, lead)| async move { (i, resolver.resolve(lead).await) })
                .buffer_unordered(cfg.concurrency.max(1));
            let mut got = Vec::new();
            loop {
                tokio::select! {
                    next = lookups.next() => match next {
                        Some(r) => got.push(r),
                        None => break,
                    },
                    _ = ctx.stop.wait() => break,
                }
            }
            got
        });
        let mut rows: Vec<(&LeadIn, Resolved)> = Vec::new();
        let mut out = Output::default();
        let mut results = results;
        results.sort_by_key(|(i, _)| *i);
        for (i, got) in results {
            let lead = part[i];
            let resolved = match got {
                Ok(r) => {
                    out.units.push(UnitOutcome::done(&lead.lead_id));
                    r
                }
                Err(e) => {
                    tracing::warn!(lead = %lead.lead_id, error = %e, "registry lookup failed");
                    out.units
                        .push(UnitOutcome::failed(&lead.lead_id, e.to_string()));
                    resolve::Resolved::error(e.to_string())
                }
            };
            *out.counters
                .entry(resolved.status.as_str().to_owned())
                .or_default() += 1;
            if let Some(m) = resolved.method {
                *out.counters.entry(format!("by_{m}")).or_default() += 1;
            }
            rows.push((lead, resolved));
        }
        let after = counters_now(&w.resolver);
        out.counters.insert("requests".into(), after.0 - before.0);
        out.counters.insert("cache_hits".into(), after.1 - before.1);
        out.counters
            .insert("request_errors".into(), after.2 - before.2);
        if !rows.is_empty() {
            out.tables = vec![(&REGISTRY, vec![batch::registry_batch(&rows, w.run_day)?])];
        }
        out.note = format!(
            "{} matched, {} requests, {} from cache",
            out.counters.get("matched").copied().unwrap_or(0),
            out.counters["requests"],
            out.counters["cache_hits"]
        );
        Ok(out)
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
