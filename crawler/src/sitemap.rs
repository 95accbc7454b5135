//! Sitemaps (sitemaps.org): `<urlset>` of page URLs or `<sitemapindex>` of further sitemaps,
//! plain or gzip-compressed. Parsing is a tolerant scan of `<loc>` elements.

use std::io::Read;

/// Largest decompressed sitemap read (the protocol's limit is 50 MB; company sites are tiny).
pub const MAX_SITEMAP_BYTES: u64 = 10 * 1024 * 1024;

#[derive(Debug, Default, PartialEq)]
pub struct Sitemap {
    /// True for a `<sitemapindex>`: `locs` are sitemaps, not pages.
    pub is_index: bool,
    pub locs: Vec<String>,
}

/// Parses a sitemap body, gunzipping it when it starts with the gzip magic bytes.
pub fn parse(body: &[u8]) -> Sitemap {
    let owned;
    let bytes = if body.starts_with(&[0x1f, 0x8b]) {
        let mut out = Vec::new();
        let _ = flate2::read::GzDecoder::new(body)
            .take(MAX_SITEMAP_BYTES)
            .read_to_end(&mut out);
        owned = out;
        &owned[..]
    } else {
        body
    };
    let text = String::from_utf8_lossy(bytes);
    let is_index = text.contains("<sitemapindex");
    let mut locs = Vec::new();
    let mut rest: &str = &text;
    while let Some(p) = rest.find("<loc>") {
        rest = &rest[p + 5..];
        let Some(e) = rest.find("</loc>") else { break };
        let mut v = rest[..e].trim();
        if let Some(inner) = v
            .strip_prefix("<![CDATA[")
            .and_then(|s| s.strip_suffix("]]>"))
        {
            v = inner.trim();
        }
        if !v.is_empty() && locs.len() < 50_000 {
            locs.push(crate::html::decode_entities(v));
        }
        rest = &rest[e..];
    }
    Sitemap { is_index, locs }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn urlset_index_and_gzip() {
        let s = parse(b"<urlset><url><loc> http://a.com/x?a=1&amp;b=2 </loc></url><url><loc><![CDATA[http://a.com/y]]></loc></url></urlset>");
        assert_eq!(
            s,
            Sitemap {
                is_index: false,
                locs: vec!["http://a.com/x?a=1&b=2".into(), "http://a.com/y".into()]
            }
        );
        let idx = b"<?xml version=\"1.0\"?><sitemapindex><sitemap><loc>http://a.com/s1.xml.gz</loc></sitemap></sitemapindex>";
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(idx).unwrap();
        let s = parse(&gz.finish().unwrap());
        assert!(s.is_index);
        assert_eq!(s.locs, vec!["http://a.com/s1.xml.gz".to_string()]);
    }
}
