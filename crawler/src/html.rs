//! A fast, forgiving scan of HTML for what a crawler needs: links with their anchor text,
//! `<base href>`, and `<meta name="robots">` nofollow/noindex. (The page's charset is read by
//! `enrich::extract::decode_html` before this scan, from the HTTP header's [`charset_param`],
//! a `<meta charset>` or the bytes.)
//!
//! This is not a DOM parser (extraction uses a real one); it reads tags in one pass, skips
//! comments, `<script>` and `<style>` bodies, and never fails: broken markup yields fewer links.

/// What one page offers the crawler.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct PageLinks {
    /// `(href, anchor text)`, in document order, href entity-decoded but not resolved.
    pub links: Vec<(String, String)>,
    pub base: Option<String>,
    pub nofollow: bool,
    pub noindex: bool,
}

const MAX_LINKS: usize = 2000;
const MAX_ANCHOR: usize = 120;

fn find_ci(hay: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    if needle.is_empty() || from >= hay.len() {
        return None;
    }
    hay[from..]
        .windows(needle.len())
        .position(|w| w.eq_ignore_ascii_case(needle))
        .map(|p| p + from)
}

/// Attributes of a tag, names lower-cased, values entity-decoded.
fn attributes(tag: &str) -> Vec<(String, String)> {
    let b = tag.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    // skip the tag name
    while i < b.len() && !b[i].is_ascii_whitespace() && b[i] != b'/' {
        i += 1;
    }
    while i < b.len() {
        while i < b.len() && (b[i].is_ascii_whitespace() || b[i] == b'/') {
            i += 1;
        }
        let start = i;
        while i < b.len() && !b[i].is_ascii_whitespace() && b[i] != b'=' && b[i] != b'/' {
            i += 1;
        }
        if start == i {
            i += 1;
            continue;
        }
        let name = tag[start..i].to_ascii_lowercase();
        while i < b.len() && b[i].is_ascii_whitespace() {
            i += 1;
        }
        let mut value = String::new();
        if i < b.len() && b[i] == b'=' {
            i += 1;
            while i < b.len() && b[i].is_ascii_whitespace() {
                i += 1;
            }
            if i < b.len() && (b[i] == b'"' || b[i] == b'\'') {
                let q = b[i];
                let vs = i + 1;
                let ve = b[vs..]
                    .iter()
                    .position(|&c| c == q)
                    .map(|p| p + vs)
                    .unwrap_or(b.len());
                value = decode_entities(&tag[vs..ve]);
                i = ve + 1;
            } else {
                let vs = i;
                while i < b.len() && !b[i].is_ascii_whitespace() {
                    i += 1;
                }
                value = decode_entities(&tag[vs..i]);
            }
        }
        out.push((name, value));
    }
    out
}

/// Decodes the entities that occur in URLs and short texts.
pub fn decode_entities(s: &str) -> String {
    if !s.contains('&') {
        return s.to_string();
    }
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(p) = rest.find('&') {
        out.push_str(&rest[..p]);
        rest = &rest[p..];
        let end = rest[..rest.len().min(12)].find(';');
        let decoded = end.and_then(|e| {
            let ent = &rest[1..e];
            let c = match ent {
                "amp" => Some('&'),
                "lt" => Some('<'),
                "gt" => Some('>'),
                "quot" => Some('"'),
                "apos" | "#39" => Some('\''),
                "nbsp" => Some('\u{a0}'),
                _ if ent.starts_with("#x") || ent.starts_with("#X") => {
                    u32::from_str_radix(&ent[2..], 16)
                        .ok()
                        .and_then(char::from_u32)
                }
                _ if ent.starts_with('#') => ent[1..].parse::<u32>().ok().and_then(char::from_u32),
                _ => None,
            };
            c.map(|c| (c, e))
        });
        match decoded {
            Some((c, e)) => {
                out.push(c);
                rest = &rest[e + 1..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

fn text_of(fragment: &str) -> String {
    let mut out = String::new();
    let mut in_tag = false;
    for c in fragment.chars() {
        match c {
            '<' => in_tag = true,
            '>' => {
                in_tag = false;
                out.push(' ');
            }
            _ if !in_tag => out.push(c),
            _ => {}
        }
        if out.len() > MAX_ANCHOR * 4 {
            break;
        }
    }
    let t = decode_entities(&out.split_whitespace().collect::<Vec<_>>().join(" "));
    t.chars().take(MAX_ANCHOR).collect()
}

/// Scans `html` (already decoded to text).
pub fn scan(html: &str) -> PageLinks {
    let b = html.as_bytes();
    let mut out = PageLinks::default();
    let mut i = 0;
    while let Some(p) = memchr_lt(b, i) {
        i = p + 1;
        if b[i..].starts_with(b"!--") {
            i = find_ci(b, b"-->", i + 3).map(|e| e + 3).unwrap_or(b.len());
            continue;
        }
        let Some(end) = b[i..].iter().position(|&c| c == b'>').map(|e| e + i) else {
            break;
        };
        let tag = &html[i..end];
        let name_end = tag
            .find(|c: char| c.is_ascii_whitespace() || c == '/' || c == '>')
            .unwrap_or(tag.len());
        let name = tag[..name_end].to_ascii_lowercase();
        i = end + 1;
        match name.as_str() {
            "script" | "style" | "textarea" | "title" => {
                let close = format!("</{name}");
                i = find_ci(b, close.as_bytes(), i).unwrap_or(b.len());
            }
            "a" | "area" => {
                let attrs = attributes(tag);
                let href = attrs
                    .iter()
                    .find(|(k, _)| k == "href")
                    .map(|(_, v)| v.trim().to_string());
                let rel_nofollow = attrs
                    .iter()
                    .any(|(k, v)| k == "rel" && v.to_ascii_lowercase().contains("nofollow"));
                if let Some(href) = href {
                    let anchor = if name == "a" {
                        let close = find_ci(b, b"</a", i).unwrap_or(b.len()).min(i + 2000);
                        let frag_end = (close..=close.min(html.len()))
                            .find(|&k| html.is_char_boundary(k))
                            .unwrap_or(i);
                        text_of(&html[i..frag_end.max(i)])
                    } else {
                        attrs
                            .iter()
                            .find(|(k, _)| k == "alt")
                            .map(|(_, v)| v.clone())
                            .unwrap_or_default()
                    };
                    if !href.is_empty() && !rel_nofollow && out.links.len() < MAX_LINKS {
                        out.links.push((href, anchor));
                    }
                }
            }
            "base" if out.base.is_none() => {
                out.base = attributes(tag)
                    .into_iter()
                    .find(|(k, _)| k == "href")
                    .map(|(_, v)| v);
            }
            "meta" => {
                let attrs = attributes(tag);
                let get = |n: &str| attrs.iter().find(|(k, _)| k == n).map(|(_, v)| v.as_str());
                if get("name").is_some_and(|v| v.eq_ignore_ascii_case("robots")) {
                    let c = get("content").unwrap_or("").to_ascii_lowercase();
                    out.nofollow |= c.contains("nofollow") || c.contains("none");
                    out.noindex |= c.contains("noindex") || c.contains("none");
                }
            }
            _ => {}
        }
    }
    out
}

fn memchr_lt(b: &[u8], from: usize) -> Option<usize> {
    b.get(from..)?
        .iter()
        .position(|&c| c == b'<')
        .map(|p| p + from)
}

/// The `charset=` parameter of a Content-Type value.
pub fn charset_param(content_type: &str) -> Option<String> {
    let lower = content_type.to_ascii_lowercase();
    let p = lower.find("charset=")?;
    let v = content_type[p + 8..].trim_start_matches(['"', '\'']);
    let v: String = v
        .chars()
        .take_while(|c| !matches!(c, ';' | '"' | '\'' | ' '))
        .collect();
    (!v.is_empty()).then_some(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_anchors_meta() {
        let h = r#"<html><head><meta charset="windows-1252"><meta name="robots" content="noindex">
<base href="/sub/"><script>var a = "<a href='/no'>";</script><!-- <a href="/comment"> --></head>
<body><a href="/about.html?a=1&amp;b=2">About <b>us</b></a> <a href='contact' rel="nofollow">x</a>
<A HREF=/products.html>Products</A><area href="/map" alt="Map"></body></html>"#;
        let p = scan(h);
        assert_eq!(
            p.links,
            vec![
                ("/about.html?a=1&b=2".to_string(), "About us".to_string()),
                ("/products.html".to_string(), "Products".to_string()),
                ("/map".to_string(), "Map".to_string())
            ]
        );
        assert_eq!(p.base.as_deref(), Some("/sub/"));
        assert!(p.noindex && !p.nofollow);
    }

    #[test]
    fn broken_markup_and_header_charset() {
        let p = scan(r#"<meta name="robots" content="none"><a href="/x"#);
        assert!(p.links.is_empty() && p.nofollow && p.noindex);
        assert_eq!(
            charset_param("text/html; charset=\"ISO-8859-1\"").as_deref(),
            Some("ISO-8859-1")
        );
        assert_eq!(charset_param("text/html"), None);
        assert_eq!(scan("<<<>>><a").links.len(), 0);
        assert_eq!(decode_entities("a&#233;&#xE9;&bogus;"), "aéé&bogus;");
    }
}
