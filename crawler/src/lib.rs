//! `crawler`: polite, bounded fetching of company websites.
//!
//! This crate knows nothing about leads, stages, config files or Parquet. It offers:
//! - [`urls`]: one spelling per URL, and which site a host belongs to;
//! - [`safety`]: which addresses may be connected to;
//! - [`politeness`]: per-host budgets (one request at a time, spaced by the host's interval);
//! - [`robots`], [`sitemap`], [`html`] (link scanning; pages are decoded to UTF-8 by
//!   `enrich::extract::decode_html`, the one charset decoder of the project, the one extraction
//!   uses, so a page is read the same way when crawled and when extracted);
//! - [`fetch`]: one HTTP exchange with redirects, retries and limits;
//! - [`site`]: a whole site, best pages first.

pub mod fetch;
pub mod html;
pub mod politeness;
pub mod robots;
pub mod safety;
pub mod site;
pub mod sitemap;
pub mod urls;

pub use fetch::{
    parse_proxy, BodyPolicy, ErrorKind, FetchConfig, Fetched, Fetcher, FetcherError, Request,
    Validators,
};
pub use politeness::{BoxedWait, HostBudget, HostBudgets, SharedPace};
pub use site::{crawl_site, site_key, Attempt, Kind, SiteConfig, SiteCrawl, Source};
pub use urls::{canonicalize, parse_website, registrable_domain, UrlError};
