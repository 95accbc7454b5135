//! `enrich`: understanding companies from what is public about them.
//!
//! This crate knows nothing about stages, config files or Parquet. It holds the domain knowledge:
//! company identifiers and their check digits ([`ids`]); later modules add page extraction,
//! registry clients and name matching.

pub mod extract;
pub mod ids;
pub mod signals;

pub use ids::{
    normalize_cik, normalize_lei, normalize_siren, normalize_siret, normalize_uk_company_number,
    IdError,
};
