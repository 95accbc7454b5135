//! Decoding HTML to UTF-8, in the order browsers use: byte-order mark, the HTTP `Content-Type`
//! charset, `<meta charset>` / `http-equiv` in the first KiB, then statistical detection.

use encoding_rs::Encoding;

/// How the encoding was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CharsetSource {
    Bom,
    Header,
    Meta,
    Detected,
}

/// Picks the encoding of an HTML body.
pub fn detect(body: &[u8], content_type: Option<&str>) -> (&'static Encoding, CharsetSource) {
    if let Some((enc, _)) = Encoding::for_bom(body) {
        return (enc, CharsetSource::Bom);
    }
    if let Some(enc) = content_type
        .and_then(crate::html::charset_param)
        .and_then(|c| Encoding::for_label(c.as_bytes()))
    {
        return (enc, CharsetSource::Header);
    }
    let head = &body[..body.len().min(1024)];
    let head_text: String = head
        .iter()
        .map(|&b| if b.is_ascii() { b as char } else { '?' })
        .collect();
    if let Some(enc) = crate::html::scan(&head_text)
        .meta_charset
        .and_then(|c| Encoding::for_label(c.as_bytes()))
    {
        // A meta tag can't truthfully declare UTF-16 (it was read as ASCII): HTML spec says UTF-8.
        let enc = if enc == encoding_rs::UTF_16LE || enc == encoding_rs::UTF_16BE {
            encoding_rs::UTF_8
        } else {
            enc
        };
        return (enc, CharsetSource::Meta);
    }
    if std::str::from_utf8(body).is_ok() {
        return (encoding_rs::UTF_8, CharsetSource::Detected);
    }
    let mut det = chardetng::EncodingDetector::new();
    det.feed(body, true);
    (det.guess(None, true), CharsetSource::Detected)
}

/// Decodes `body` with `enc` (BOM stripped, malformed sequences replaced).
pub fn decode(body: &[u8], enc: &'static Encoding) -> String {
    enc.decode(body).0.into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn order_of_evidence() {
        let w1252 = b"<html><p>Caf\xe9 cr\xe8me br\xfbl\xe9e \xe0 la fran\xe7aise, d\xe9j\xe0 vu.</p></html>";
        let (enc, src) = detect(w1252, None);
        assert_eq!((enc.name(), src), ("windows-1252", CharsetSource::Detected));
        assert!(decode(w1252, enc).contains("Café crème"));
        let (enc, src) = detect(b"<meta charset=iso-8859-2><p>x", Some("text/html"));
        assert_eq!((enc.name(), src), ("ISO-8859-2", CharsetSource::Meta));
        let (enc, src) = detect(
            b"<meta charset=iso-8859-2>",
            Some("text/html; charset=utf-8"),
        );
        assert_eq!((enc.name(), src), ("UTF-8", CharsetSource::Header));
        let (enc, src) = detect(b"\xef\xbb\xbf<p>x", Some("text/html; charset=latin1"));
        assert_eq!((enc.name(), src), ("UTF-8", CharsetSource::Bom));
    }
}
