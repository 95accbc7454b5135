//! Public company registries: request URLs, response parsers, one normalised record, and
//! name matching.
//!
//! No HTTP here: the caller (leadcrawl's registry stage) fetches through its own polite client
//! and hands the bytes to these parsers, so this module is testable on recorded responses.
//! - [`record`]: [`record::Firmographics`], the record every registry is normalised into;
//! - [`codes`]: industry code tables (NAF rev. 2 / NACE, US SIC, UK SIC 2007) → one sector
//!   taxonomy, INSEE headcount bands;
//! - [`fr`], [`sec`], [`gleif`], [`uk`]: one module per registry API;
//! - [`bulk`]: rows of the bulk registry files (SIRENE stock, Companies House basic data);
//! - [`names`], [`matching`]: company-name normalisation and candidate scoring.

pub mod bulk;
pub mod codes;
pub mod fr;
pub mod gleif;
pub mod matching;
pub mod names;
pub mod record;
pub mod sec;
pub mod uk;
