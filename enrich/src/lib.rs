//! `enrich`: understanding companies from what is public about them.
//!
//! This crate knows nothing about stages, config files or Parquet. It holds the domain knowledge:
//! company identifiers and their check digits ([`ids`]); contact and identity signals in page
//! text and links ([`signals`]); technology fingerprints ([`tech`]); page types ([`pagetype`]);
//! schema.org organisations in JSON-LD ([`jsonld`]); public registries' responses and company
//! name matching ([`registry`]).

pub mod extract;
pub mod ids;
pub mod jsonld;
pub mod pagetype;
pub mod registry;
pub mod signals;
pub mod tech;

pub use ids::{
    normalize_cik, normalize_lei, normalize_siren, normalize_siret, normalize_uk_company_number,
    IdError,
};
