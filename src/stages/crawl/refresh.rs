//! Freshness (`crawl.max_age_days`): sites whose last crawl is older than the limit are taken
//! back so that the next run crawls them again, conditionally, while every other site is left
//! alone.
//!
//! A site's age is the time the state store recorded its unit (done or failed): the crawl's own
//! record, not a clock of its own. Taking a site back is [`crate::engine::take_back`]: its rows
//! leave `pages` (the parts holding them are replaced by copies without them, in the same
//! transaction that forgets the sites), and they are kept under `.previous/crawl/pages/` first,
//! where the crawl finds the validators and bodies for its conditional requests, as after a
//! reset. From there on a refresh is a resumed crawl: interrupted, the next run crawls the
//! sites still missing.

use std::collections::{BTreeMap, HashSet};

use crate::config::Config;
use crate::schema::PAGES;
use crate::stages::StageContext;
use crate::state::{now_micros, StateStore};
use crate::table;

/// Sites whose last crawl is older than `crawl.max_age_days` (none when it is 0).
pub(crate) fn aged_sites(config: &Config, store: &dyn StateStore) -> anyhow::Result<Vec<String>> {
    let days = config.crawl.max_age_days;
    if days <= 0.0 {
        return Ok(Vec::new());
    }
    let cutoff = now_micros() - (days * 86_400e6) as i64;
    Ok(store.units_recorded_before("crawl", cutoff)?)
}

/// Takes the aged sites back (see the module); returns how many.
pub(super) fn refresh(ctx: &StageContext<'_>) -> anyhow::Result<usize> {
    let aged: HashSet<String> = aged_sites(ctx.config, ctx.store)?.into_iter().collect();
    if aged.is_empty() {
        return Ok(0);
    }
    let previous = ctx.previous_dir();
    let counters = BTreeMap::from([("sites_refreshed".to_owned(), aged.len() as u64)]);
    let parts = crate::engine::take_back(ctx, &aged, "site", &counters, |def, file, rows| {
        if def.name != PAGES.name || rows.is_empty() {
            return Ok(());
        }
        // Named after the run and the part it came from: never another file's name.
        let name = format!(
            "refreshed-{}-{}",
            ctx.prov.run_id,
            file.rsplit('/').next().unwrap_or(file)
        );
        let part = table::write_pending(&previous, def, &name, &rows, &ctx.prov, &[])?;
        std::fs::rename(&part.tmp_path, &part.final_path)?;
        Ok(())
    })?;
    tracing::info!(
        sites = aged.len(),
        parts_replaced = parts,
        max_age_days = ctx.config.crawl.max_age_days,
        "re-crawling the sites crawled longer ago than crawl.max_age_days (conditional requests from their old pages)"
    );
    Ok(aged.len())
}
