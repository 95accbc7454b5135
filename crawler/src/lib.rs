//! `crawler`: polite HTTP fetching of company websites.
//!
//! This crate knows nothing about leads, stages, config files or Parquet. It offers the pieces a
//! caller needs to fetch a site politely: URL normalisation and scoping ([`urls`]), and (in later
//! modules) robots.txt, per-host rate limits, retries and bounded bodies.

pub mod urls;

pub use urls::{canonicalize, parse_website, registrable_domain, UrlError};
