//! Registry API calls: polite and cached.
//!
//! Every registry has its own [`HostBudget`] at its published rate (one request at a time, the
//! next one starting at least `1/rps` after the previous answer; on a shared PostgreSQL store,
//! also a slot of the rate shared by every worker, [`crate::state::Leases::pace`]), requests go through the
//! crawler's [`Fetcher`] (retries with backoff, `Retry-After`, timeouts, size cap, address
//! policy), and answers — 2xx bodies and 404s — are cached in the state store keyed by URL
//! for `registry.cache_ttl_days`, so a re-run asks nothing the store already knows. Secrets
//! (the Companies House key) travel in headers and never enter a cache key or a log line.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use crawler::{FetchConfig, Fetcher, HostBudget};
use enrich::registry::record::Registry;
use url::Url;

use crate::config::RegistrySection;
use crate::state::StateStore;

/// A registry that could not be asked (after retries): the lead's lookup failed.
#[derive(Debug, thiserror::Error)]
#[error("{registry}: {url}: {reason}")]
pub struct ApiError {
    pub registry: &'static str,
    pub url: String,
    pub reason: String,
}

/// Counts for the stage's counters.
#[derive(Debug, Default)]
pub struct ApiCounters {
    pub requests: AtomicU64,
    pub cache_hits: AtomicU64,
    pub errors: AtomicU64,
}

pub struct Api<'a> {
    fetcher: Fetcher,
    budgets: [HostBudget; 4],
    /// Used under a shared rate, whose slot already spaced the request.
    unpaced: HostBudget,
    store: &'a dyn StateStore,
    ttl_micros: i64,
    pub counters: ApiCounters,
}

fn slot(r: Registry) -> usize {
    match r {
        Registry::Sirene => 0,
        Registry::SecEdgar => 1,
        Registry::Gleif => 2,
        Registry::CompaniesHouse => 3,
    }
}

fn budget(rps: f64) -> HostBudget {
    HostBudget::new(Duration::from_secs_f64(1.0 / rps.max(1e-6)), 1)
}

/// The User-Agent: product, version, and the contact the SEC asks for.
pub fn user_agent(cfg: &RegistrySection) -> String {
    let v = env!("CARGO_PKG_VERSION");
    if cfg.contact_email.is_empty() {
        format!("leadcrawl/{v} (company registry lookups)")
    } else {
        format!("leadcrawl/{v} {}", cfg.contact_email)
    }
}

impl<'a> Api<'a> {
    pub fn new(cfg: &RegistrySection, store: &'a dyn StateStore) -> anyhow::Result<Api<'a>> {
        let fetch = FetchConfig {
            user_agent: user_agent(cfg),
            connect_timeout: Duration::from_secs_f64(cfg.timeout_secs.min(10.0)),
            request_timeout: Duration::from_secs_f64(cfg.timeout_secs),
            // company_tickers.json is ~0.8 MB, big filers' submissions a few MB.
            max_body_bytes: 64 << 20,
            max_redirects: 5,
            max_retries: cfg.max_retries,
            retry_base: Duration::from_millis(500),
            retry_cap: Duration::from_secs(60),
            allow_private_networks: cfg.allow_private_networks,
        };
        Ok(Api {
            fetcher: Fetcher::new(fetch)?,
            budgets: [
                budget(cfg.sirene_rps),
                budget(cfg.sec_rps),
                budget(cfg.gleif_rps),
                budget(cfg.companies_house_rps),
            ],
            unpaced: HostBudget::new(Duration::ZERO, 1),
            store,
            ttl_micros: (cfg.cache_ttl_days * 86_400e6) as i64,
            counters: ApiCounters::default(),
        })
    }

    /// GETs `url` from `registry`: `Ok(Some(body))` on 2xx, `Ok(None)` on 404 (no such
    /// record), `Err` when the registry could not answer.
    pub async fn get(
        &self,
        registry: Registry,
        url: &str,
        headers: &[(&str, &str)],
    ) -> Result<Option<Vec<u8>>, ApiError> {
        let key = format!("{}:{url}", registry.as_str());
        let err = |reason: String| ApiError {
            registry: registry.as_str(),
            url: url.to_owned(),
            reason,
        };
        if let Some(hit) = self.store.cache_get(&key).map_err(|e| err(e.to_string()))? {
            let now = crate::state::now_micros();
            if now - hit.stored_at <= self.ttl_micros {
                self.counters.cache_hits.fetch_add(1, Ordering::Relaxed);
                return Ok((hit.status != 404).then_some(hit.body));
            }
        }
        let parsed = Url::parse(url).map_err(|e| err(format!("invalid URL: {e}")))?;
        self.counters.requests.fetch_add(1, Ordering::Relaxed);
        let budget = &self.budgets[slot(registry)];
        let got = match self.store.leases() {
            None => self.fetcher.fetch_api(&parsed, budget, headers).await,
            Some(leases) => {
                // Workers on several machines share the registry's rate: this worker's turn
                // first (one request at a time), then a slot of the shared rate, taken only
                // now so that no local wait can push the request towards the next slot.
                let _turn = budget.acquire().await;
                let wait = leases
                    .pace(
                        &format!("registry:{}", registry.as_str()),
                        budget.current_interval(),
                    )
                    .map_err(|e| err(e.to_string()))?;
                tokio::time::sleep(wait).await;
                self.fetcher
                    .fetch_api(&parsed, &self.unpaced, headers)
                    .await
            }
        };
        match (got.status, &got.error) {
            (Some(s @ 200..=299), None) => {
                let body = got.body.unwrap_or_default();
                self.store
                    .cache_put(&key, s, &body)
                    .map_err(|e| err(e.to_string()))?;
                Ok(Some(body))
            }
            (Some(404), _) => {
                self.store
                    .cache_put(&key, 404, b"")
                    .map_err(|e| err(e.to_string()))?;
                Ok(None)
            }
            (status, error) => {
                self.counters.errors.fetch_add(1, Ordering::Relaxed);
                let reason = match (status, error) {
                    (Some(s @ (401 | 403)), _) => {
                        format!("HTTP {s}: the registry refused the request (API key missing or wrong?)")
                    }
                    (_, Some((kind, msg))) => format!("{}: {msg}", kind.as_str()),
                    (Some(s), None) => format!("HTTP {s}"),
                    (None, None) => "no answer".into(),
                };
                Err(err(format!("{reason} (after {} attempts)", got.attempts)))
            }
        }
    }
}
