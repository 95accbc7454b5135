//! Bytes to text: the character set of an HTML page.
//!
//! Order of evidence, as browsers do it: a byte-order mark, then the charset the caller was told
//! (an HTTP `Content-Type` header), then a `<meta charset>` / `http-equiv` declaration in the first
//! 2 KiB, then UTF-8 if the bytes are valid UTF-8, and last a statistical guess (`chardetng`).
//! Bytes that are valid UTF-8 and not plain ASCII are read as UTF-8 whatever the label says.
//! A declared charset that the bytes contradict (a page labelled UTF-8 that is not valid UTF-8)
//! falls through to the guess instead of producing replacement characters everywhere.
//!
//! This is the project's one HTML charset decoder: the crawler decodes fetched pages with it
//! (to scan their links and to record the charset), and extraction decodes them again with the
//! recorded label, so both read a page the same way.

use encoding_rs::{Encoding, UTF_8};

/// Decodes `bytes` as an HTML page. `declared` is a charset label from outside the document (an
/// HTTP header), if any. Returns the text and the name of the encoding used.
pub fn decode_html(bytes: &[u8], declared: Option<&str>) -> (String, &'static str) {
    if let Some((encoding, bom_len)) = Encoding::for_bom(bytes) {
        let (text, _) = encoding.decode_without_bom_handling(&bytes[bom_len..]);
        return (text.into_owned(), encoding.name());
    }
    // The "replacement" encoding (labels such as iso-2022-kr) decodes everything to one U+FFFD:
    // no page is better read that way.
    let usable = |e: &&'static Encoding| *e != encoding_rs::REPLACEMENT;
    let label = declared
        .and_then(|l| Encoding::for_label(l.trim().as_bytes()))
        .filter(usable)
        .or_else(|| meta_charset(bytes).filter(usable));
    if let Some(encoding) = label {
        // UTF-16 labels in a meta tag are a lie by definition (the tag itself was ASCII).
        let encoding = if encoding == encoding_rs::UTF_16LE || encoding == encoding_rs::UTF_16BE {
            UTF_8
        } else {
            encoding
        };
        // Valid UTF-8 with non-ASCII bytes is almost never meant as a legacy single-byte
        // charset: a page that says iso-8859-1 but is UTF-8 is mislabelled (common with CMS
        // templates), and decoding it as labelled would turn every "é" into "Ã©".
        let utf8 = std::str::from_utf8(bytes).is_ok();
        if utf8 && !bytes.is_ascii() {
            return (String::from_utf8_lossy(bytes).into_owned(), UTF_8.name());
        }
        if encoding != UTF_8 || utf8 {
            let (text, _, _) = encoding.decode(bytes);
            return (text.into_owned(), encoding.name());
        }
    } else if let Ok(text) = std::str::from_utf8(bytes) {
        return (text.to_owned(), UTF_8.name());
    }
    let mut detector = chardetng::EncodingDetector::new();
    detector.feed(bytes, true);
    let encoding = detector.guess(None, true);
    let (text, _, _) = encoding.decode(bytes);
    (text.into_owned(), encoding.name())
}

/// The encoding named by `<meta charset=…>` or `<meta http-equiv="Content-Type" content="…;
/// charset=…">` within the first 2 KiB (ASCII-case-insensitive byte scan, no parsing).
fn meta_charset(bytes: &[u8]) -> Option<&'static Encoding> {
    let head = &bytes[..bytes.len().min(2048)];
    let lower: Vec<u8> = head.iter().map(u8::to_ascii_lowercase).collect();
    let mut from = 0;
    while let Some(pos) = find(&lower[from..], b"charset") {
        let mut i = from + pos + b"charset".len();
        from = i;
        while i < lower.len() && lower[i].is_ascii_whitespace() {
            i += 1;
        }
        if lower.get(i) != Some(&b'=') {
            continue;
        }
        i += 1;
        while i < lower.len()
            && (lower[i].is_ascii_whitespace() || lower[i] == b'"' || lower[i] == b'\'')
        {
            i += 1;
        }
        let start = i;
        while i < lower.len() && (lower[i].is_ascii_alphanumeric() || b"-_:.".contains(&lower[i])) {
            i += 1;
        }
        if let Some(encoding) = Encoding::for_label(&lower[start..i]) {
            return Some(encoding);
        }
    }
    None
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn meta_charset_latin1_is_honoured() {
        let mut page = b"<html><head><meta charset=\"iso-8859-1\"></head><body>caf".to_vec();
        page.push(0xE9);
        let (text, name) = decode_html(&page, None);
        assert!(text.ends_with("café"), "{text}");
        assert_eq!(name, "windows-1252");
    }

    #[test]
    fn http_equiv_and_header_label() {
        let page =
            b"<meta http-equiv=\"Content-Type\" content=\"text/html; charset=windows-1250\">\x9a";
        assert_eq!(decode_html(page, None).0.chars().last(), Some('š'));
        // The caller's label wins over the document's own.
        assert_eq!(decode_html(b"\xe9", Some("iso-8859-1")).0, "é");
        // ... unless the bytes are UTF-8 beyond doubt.
        assert_eq!(
            decode_html("l’été".as_bytes(), Some("iso-8859-1")).0,
            "l’été"
        );
    }

    #[test]
    fn mislabelled_utf8_falls_back_to_a_guess() {
        let mut page = b"<meta charset=utf-8><p>".to_vec();
        for _ in 0..20 {
            page.extend_from_slice(b"d\xe9j\xe0 vu, tr\xe8s \xe9l\xe9gant. ");
        }
        let (text, name) = decode_html(&page, None);
        assert_ne!(name, "UTF-8");
        assert!(text.contains("déjà vu"), "{text}");
    }

    #[test]
    fn header_beats_meta_and_meta_is_read_past_the_first_kib() {
        let (_, name) = decode_html(b"<meta charset=iso-8859-2>x", Some("utf-8"));
        assert_eq!(name, "UTF-8");
        // WordPress heads often put the charset after 1 KiB of other tags.
        let mut page =
            format!("<head>{}<meta charset=\"iso-8859-2\">", " ".repeat(1500)).into_bytes();
        page.extend_from_slice(b"<p>\xb9");
        let (text, name) = decode_html(&page, None);
        assert_eq!((text.chars().last(), name), (Some('š'), "ISO-8859-2"));
    }

    #[test]
    fn bom_wins_and_utf8_without_declaration() {
        let (text, name) = decode_html(b"\xEF\xBB\xBFh\xc3\xa9", Some("iso-8859-1"));
        assert_eq!((text.as_str(), name), ("hé", "UTF-8"));
        assert_eq!(decode_html("naïve".as_bytes(), None).0, "naïve");
    }
}
