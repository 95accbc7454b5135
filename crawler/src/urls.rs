//! URL normalisation and site scoping.
//!
//! A crawl must never fetch the same page twice under two spellings, and must know which host
//! names belong to one site. [`canonicalize`] gives every URL one spelling; [`registrable_domain`]
//! names the site (public-suffix aware: `shop.acme.co.uk` belongs to `acme.co.uk`).

use std::net::IpAddr;

use url::Url;

/// Why a website or URL was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum UrlError {
    #[error("empty website")]
    Empty,
    #[error("not a URL or domain: {0:?}")]
    Invalid(String),
    #[error("unsupported scheme {0:?} (only http and https)")]
    Scheme(String),
    #[error("no host in {0:?}")]
    NoHost(String),
    #[error("host {0:?} is not a registrable domain (no public suffix + 1 label)")]
    NotRegistrable(String),
}

/// Query parameters that only track a visit and never change the page.
const TRACKING_PARAMS: &[&str] = &[
    "gclid", "dclid", "gbraid", "wbraid", "fbclid", "msclkid", "mc_cid", "mc_eid", "yclid", "_ga",
    "_gl", "igshid", "ref_src", "_hsenc", "_hsmi", "mkt_tok", "spm",
];

fn is_tracking_param(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    lower.starts_with("utm_") || TRACKING_PARAMS.contains(&lower.as_str())
}

/// Parses a website as found in a CRM export: `acme.fr`, `www.acme.fr/`, `https://acme.fr/about`,
/// `HTTP://ACME.FR`. A missing scheme means `https`. The result is canonical ([`canonicalize`]).
pub fn parse_website(input: &str) -> Result<Url, UrlError> {
    let s = input.trim();
    if s.is_empty() {
        return Err(UrlError::Empty);
    }
    if s.chars().any(|c| c.is_whitespace()) {
        return Err(UrlError::Invalid(s.to_string()));
    }
    let with_scheme = if let Some(rest) = s.strip_prefix("//") {
        format!("https://{rest}")
    } else if s.contains("://") {
        s.to_string()
    } else {
        format!("https://{s}")
    };
    let url = Url::parse(&with_scheme).map_err(|_| UrlError::Invalid(s.to_string()))?;
    match url.scheme() {
        "http" | "https" => {}
        other => return Err(UrlError::Scheme(other.to_string())),
    }
    let host = url
        .host_str()
        .ok_or_else(|| UrlError::NoHost(s.to_string()))?;
    if registrable_domain(host).is_none() {
        return Err(UrlError::NotRegistrable(host.to_string()));
    }
    Ok(canonicalize(&url))
}

/// One spelling per page: no fragment, no default port (the `url` crate drops it), lower-case
/// host, `/` as the root path, percent-encoding normalised, tracking parameters removed and the
/// remaining query parameters sorted (stable for equal names).
pub fn canonicalize(url: &Url) -> Url {
    let mut u = url.clone();
    u.set_fragment(None);
    if u.path().is_empty() {
        u.set_path("/");
    }
    let path = normalize_percent_encoding(u.path());
    u.set_path(&path);
    if u.query().is_some() {
        let mut pairs: Vec<(String, String)> = u
            .query_pairs()
            .filter(|(k, _)| !is_tracking_param(k))
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        pairs.sort_by(|a, b| a.0.cmp(&b.0));
        if pairs.is_empty() {
            u.set_query(None);
        } else {
            u.query_pairs_mut().clear().extend_pairs(pairs);
        }
    }
    u
}

/// Decodes percent-escapes of unreserved characters (`%7E` → `~`) and upper-cases the hex digits
/// of the others (`%c3%a9` → `%C3%A9`), as RFC 3986 §6.2.2 allows.
fn normalize_percent_encoding(path: &str) -> String {
    let bytes = path.as_bytes();
    let mut out = String::with_capacity(path.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            let hex = &path[i + 1..i + 3];
            if let Ok(v) = u8::from_str_radix(hex, 16) {
                let c = v as char;
                if c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_' | '~') {
                    out.push(c);
                } else {
                    out.push('%');
                    out.push_str(&hex.to_ascii_uppercase());
                }
                i += 3;
                continue;
            }
        }
        out.push(bytes[i] as char);
        i += 1;
    }
    out
}

/// The site a host belongs to: its registrable domain (public suffix plus one label), or the
/// address itself for an IP host. `None` for a bare public suffix (`co.uk`) or an invalid name.
pub fn registrable_domain(host: &str) -> Option<String> {
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    if bare.parse::<IpAddr>().is_ok() {
        return Some(bare.to_string());
    }
    if host == "localhost" {
        return Some(host);
    }
    let domain = psl::domain_str(&host)?;
    Some(domain.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn websites_from_crm_exports() {
        assert_eq!(
            parse_website("acme.fr").unwrap().as_str(),
            "https://acme.fr/"
        );
        assert_eq!(
            parse_website(" HTTP://WWW.Acme.FR ").unwrap().as_str(),
            "http://www.acme.fr/"
        );
        assert_eq!(
            parse_website("https://acme.com:443/about#team")
                .unwrap()
                .as_str(),
            "https://acme.com/about"
        );
        assert_eq!(parse_website("").unwrap_err(), UrlError::Empty);
        assert!(matches!(
            parse_website("not a site"),
            Err(UrlError::Invalid(_))
        ));
        assert!(matches!(
            parse_website("ftp://acme.fr"),
            Err(UrlError::Scheme(_))
        ));
        assert!(matches!(
            parse_website("co.uk"),
            Err(UrlError::NotRegistrable(_))
        ));
    }

    #[test]
    fn canonical_query_and_escapes() {
        let u = Url::parse("http://a.com/p%7eq/%c3%a9?utm_source=x&b=2&a=1&gclid=z#f").unwrap();
        assert_eq!(canonicalize(&u).as_str(), "http://a.com/p~q/%C3%A9?a=1&b=2");
        let u = Url::parse("http://a.com/?utm_medium=x").unwrap();
        assert_eq!(canonicalize(&u).as_str(), "http://a.com/");
    }

    #[test]
    fn registrable_domains() {
        assert_eq!(
            registrable_domain("shop.acme.co.uk").as_deref(),
            Some("acme.co.uk")
        );
        assert_eq!(
            registrable_domain("www.acme.fr").as_deref(),
            Some("acme.fr")
        );
        assert_eq!(
            registrable_domain("127.0.20.3").as_deref(),
            Some("127.0.20.3")
        );
        assert_eq!(registrable_domain("co.uk"), None);
    }
}
