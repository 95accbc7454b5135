//! The demo's public registries, offline: `datasets/demo/registry/` served in the real APIs'
//! formats on one loopback address.
//!
//! - `/search?q=…&page=…&per_page=…` — API Recherche d'entreprises: a 9-digit `q` finds that
//!   SIREN; other text finds the records whose name holds every word of `q` (accents and case
//!   folded), like the real full-text search does for exact words;
//! - `/files/company_tickers.json` and `/submissions/CIK##########.json` — SEC EDGAR.

use std::path::{Path, PathBuf};

use anyhow::Context;
use unicode_normalization::UnicodeNormalization;

pub struct RegistryApi {
    pub dir: PathBuf,
    sirene: Vec<serde_json::Value>,
    tickers: Vec<u8>,
}

fn fold(s: &str) -> Vec<String> {
    s.nfkd()
        .filter(|c| c.is_alphanumeric() || c.is_whitespace())
        .collect::<String>()
        .to_lowercase()
        .split_whitespace()
        .map(str::to_owned)
        .collect()
}

/// `%XX` and `+` decoded.
fn unescape(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < b.len() => match u8::from_str_radix(&s[i + 1..i + 3], 16) {
                Ok(v) => {
                    out.push(v);
                    i += 2;
                }
                Err(_) => out.push(b'%'),
            },
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn param(query: &str, key: &str) -> Option<String> {
    query
        .split('&')
        .filter_map(|kv| kv.split_once('='))
        .find(|(k, _)| *k == key)
        .map(|(_, v)| unescape(v))
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
        let words = fold(&q);
        let hits: Vec<&serde_json::Value> = self
            .sirene
            .iter()
            .filter(|r| {
                if digits.len() == 9 && digits.bytes().all(|b| b.is_ascii_digit()) {
                    return r["siren"].as_str() == Some(digits.as_str());
                }
                let name = fold(r["nom_complet"].as_str().unwrap_or(""));
                !words.is_empty() && words.iter().all(|w| name.contains(w))
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
    use super::{fold, param, unescape};

    #[test]
    fn queries_decode() {
        assert_eq!(
            unescape("Summit%20Contracting+SAS"),
            "Summit Contracting SAS"
        );
        assert_eq!(unescape("100%"), "100%");
        assert_eq!(unescape("%C3%A9t%C3%A9"), "été");
        assert_eq!(
            param("q=Pulse%20Diagnostics&page=2", "q").as_deref(),
            Some("Pulse Diagnostics")
        );
        assert_eq!(fold("Société  Générale"), vec!["societe", "generale"]);
    }
}
