//! The demo's public registries, offline: `datasets/demo/registry/` served in the real APIs'
//! formats on one loopback address.
//!
//! - `/search?q=…&page=…&per_page=…` — API Recherche d'entreprises: a 9-digit `q` finds that
//!   SIREN; other text finds the records whose name holds every word of `q` (accents and case
//!   folded), like the real full-text search does for exact words;
//! - `/files/company_tickers.json` and `/submissions/CIK##########.json` — SEC EDGAR.

use std::path::{Path, PathBuf};

use anyhow::Context;

pub struct RegistryApi {
    pub dir: PathBuf,
    sirene: Vec<serde_json::Value>,
    tickers: Vec<u8>,
}

/// The words of a name, folded as the matcher folds them (case, accents, punctuation).
fn words(s: &str) -> Vec<String> {
    enrich::registry::names::fold(s)
        .split_whitespace()
        .map(str::to_owned)
        .collect()
}

fn param(query: &str, key: &str) -> Option<String> {
    url::form_urlencoded::parse(query.as_bytes())
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.into_owned())
}

impl RegistryApi {
    pub fn load(dir: &Path) -> anyhow::Result<RegistryApi> {
        let path = dir.join("sirene.json");
        let sirene: Vec<serde_json::Value> = serde_json::from_slice(
            &std::fs::read(&path).with_context(|| format!("reading {}", path.display()))?,
        )
        .with_context(|| format!("parsing {}", path.display()))?;
        let tickers = std::fs::read(dir.join("sec/company_tickers.json"))
            .with_context(|| format!("reading {}/sec/company_tickers.json", dir.display()))?;
        Ok(RegistryApi {
            dir: dir.to_path_buf(),
            sirene,
            tickers,
        })
    }

    pub fn answer(&self, target: &str) -> Option<(Vec<u8>, &'static str)> {
        let (path, query) = target.split_once('?').unwrap_or((target, ""));
        let json = "application/json";
        match path {
            "/search" => Some((self.search(query).into_bytes(), json)),
            "/files/company_tickers.json" => Some((self.tickers.clone(), json)),
            p => {
                let name = p.strip_prefix("/submissions/")?;
                let ok = name.len() == 18
                    && name.starts_with("CIK")
                    && name.ends_with(".json")
                    && name[3..13].bytes().all(|b| b.is_ascii_digit());
                ok.then(|| std::fs::read(self.dir.join("sec/submissions").join(name)).ok())
                    .flatten()
                    .map(|b| (b, json))
            }
        }
    }

    fn search(&self, query: &str) -> String {
        let q = param(query, "q").unwrap_or_default();
        let per_page: usize = param(query, "per_page")
            .and_then(|v| v.parse().ok())
            .unwrap_or(10)
            .clamp(1, 25);
        let page: usize = param(query, "page")
            .and_then(|v| v.parse().ok())
            .unwrap_or(1)
            .max(1);
        let digits: String = q.chars().filter(|c| !c.is_whitespace()).collect();
        let wanted = words(&q);
        let hits: Vec<&serde_json::Value> = self
            .sirene
            .iter()
            .filter(|r| {
                if digits.len() == 9 && digits.bytes().all(|b| b.is_ascii_digit()) {
                    return r["siren"].as_str() == Some(digits.as_str());
                }
                let name = words(r["nom_complet"].as_str().unwrap_or(""));
                !wanted.is_empty() && wanted.iter().all(|w| name.contains(w))
            })
            .collect();
        let total = hits.len();
        let results: Vec<&serde_json::Value> = hits
            .into_iter()
            .skip((page - 1) * per_page)
            .take(per_page)
            .collect();
        serde_json::json!({
            "results": results,
            "total_results": total,
            "page": page,
            "per_page": per_page,
            "total_pages": total.div_ceil(per_page),
        })
        .to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::{param, words};

    #[test]
    fn queries_decode() {
        assert_eq!(
            param("q=Pulse%20Diagnostics+SAS&page=2", "q").as_deref(),
            Some("Pulse Diagnostics SAS")
        );
        assert_eq!(param("q=%C3%A9t%C3%A9", "q").as_deref(), Some("été"));
        assert_eq!(param("page=2", "q"), None);
        assert_eq!(words("Société  Générale"), vec!["societe", "generale"]);
    }
}
