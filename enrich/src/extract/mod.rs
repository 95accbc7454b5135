//! Main text and metadata of a web page.
//!
//! [`extract`] parses a page (html5ever through `scraper`), walks it once into text blocks
//! ([`dom`]), drops chrome by tag, role and class ([`boiler`]), and selects the main content:
//! the smallest element holding most of the page's prose ([`select`]). Block structure is kept:
//! headings, paragraphs, list items and table cells are lines of their own.
//!
//! A single page is judged alone; [`site`] then removes what recurs across the pages of one
//! site (navigation, footers, banners that survived the single-page rules).

mod boiler;
pub mod company;
mod decode;
pub mod dom;
mod select;
pub mod site;

pub use decode::decode_html;
pub use dom::{Block, BlockKind, Link};

/// Version of the extraction rules, stored with every extracted row: bump it when output changes.
pub const EXTRACTOR_VERSION: &str = "leadcrawl-extract/1";

/// What [`extract`] finds on one page.
#[derive(Debug, Clone, Default)]
pub struct ExtractedPage {
    pub title: Option<String>,
    pub description: Option<String>,
    pub canonical: Option<String>,
    /// The `<html lang>` attribute as written.
    pub html_lang: Option<String>,
    pub og_title: Option<String>,
    pub og_description: Option<String>,
    pub og_site_name: Option<String>,
    pub og_type: Option<String>,
    pub og_image: Option<String>,
    /// `<meta name="generator">` values.
    pub generators: Vec<String>,
    /// Every text block of the page, chrome included, in document order.
    pub blocks: Vec<Block>,
    /// `main[i]` says whether `blocks[i]` is main content.
    pub main: Vec<bool>,
    pub links: Vec<Link>,
    pub script_srcs: Vec<String>,
    /// Bodies of `<script type="application/ld+json">`.
    pub jsonld: Vec<String>,
}

impl ExtractedPage {
    /// The main content, one block per line.
    pub fn main_text(&self) -> String {
        join(self.main_blocks())
    }

    /// The main content blocks.
    pub fn main_blocks(&self) -> impl Iterator<Item = &Block> {
        self.blocks
            .iter()
            .zip(&self.main)
            .filter(|(_, main)| **main)
            .map(|(b, _)| b)
    }

    /// All visible text, chrome included (legal ids and addresses live in footers).
    pub fn all_text(&self) -> String {
        join(self.blocks.iter())
    }

    /// Headings of the main content, `(level, text)`.
    pub fn headings(&self) -> Vec<(u8, String)> {
        self.main_blocks()
            .filter_map(|b| match b.kind {
                BlockKind::Heading(level) => Some((level, b.text.clone())),
                _ => None,
            })
            .collect()
    }
}

fn join<'a>(blocks: impl Iterator<Item = &'a Block>) -> String {
    let mut out = String::new();
    for block in blocks {
        if !out.is_empty() {
            out.push('\n');
        }
        out.push_str(&block.text);
    }
    out
}

/// Extracts main text and metadata from one decoded page.
pub fn extract(html: &str) -> ExtractedPage {
    let document = scraper::Html::parse_document(html);
    let mut walk = dom::walk(&document);
    drop(document);
    let article = select::is_article(&walk);
    select::settle_chrome(&mut walk, article);
    let mut main = select::main_blocks(&walk, article);
    if !article {
        select::drop_repeats(&walk.blocks, &mut main);
    }
    let mut page = ExtractedPage {
        title: walk.title,
        canonical: walk.canonical,
        html_lang: walk.html_lang,
        blocks: walk.blocks,
        main,
        links: walk.links,
        script_srcs: walk.script_srcs,
        jsonld: walk.jsonld,
        ..ExtractedPage::default()
    };
    for (key, content) in walk.metas {
        let slot = match key.as_str() {
            "description" => &mut page.description,
            "og:title" => &mut page.og_title,
            "og:description" => &mut page.og_description,
            "og:site_name" => &mut page.og_site_name,
            "og:type" => &mut page.og_type,
            "og:image" => &mut page.og_image,
            "generator" => {
                page.generators.push(content);
                continue;
            }
            _ => continue,
        };
        if slot.is_none() {
            *slot = Some(content);
        }
    }
    page
}

/// Extracts from raw bytes, decoding them first (see [`decode_html`]).
pub fn extract_bytes(bytes: &[u8], declared_charset: Option<&str>) -> ExtractedPage {
    let (text, _) = decode_html(bytes, declared_charset);
    extract(&text)
}

/// The language of a page's text: detected when the detector is sure, else the primary subtag
/// of the page's `<html lang>` (short texts such as a contact page defeat detection).
pub fn page_language(text: &str, html_lang: Option<&str>) -> Option<String> {
    detect_language(text).or_else(|| {
        let primary = html_lang?
            .split(['-', '_'])
            .next()?
            .trim()
            .to_ascii_lowercase();
        (primary.len() == 2 || primary.len() == 3)
            .then_some(primary)
            .filter(|p| p.bytes().all(|b| b.is_ascii_lowercase()))
    })
}

/// The language of `text` as an ISO 639-1 code when it has one (else ISO 639-3), if the
/// detector is reasonably sure.
pub fn detect_language(text: &str) -> Option<String> {
    // A long prefix is enough and bounds the cost on huge pages.
    let end = text
        .char_indices()
        .nth(4000)
        .map(|(i, _)| i)
        .unwrap_or(text.len());
    let info = whatlang::detect(&text[..end])?;
    if !info.is_reliable() {
        return None;
    }
    let code = info.lang().code();
    Some(iso639_1(code).unwrap_or(code).to_owned())
}

fn iso639_1(code: &str) -> Option<&'static str> {
    Some(match code {
        "eng" => "en",
        "fra" => "fr",
        "deu" => "de",
        "spa" => "es",
        "ita" => "it",
        "por" => "pt",
        "nld" => "nl",
        "pol" => "pl",
        "rus" => "ru",
        "ukr" => "uk",
        "ces" => "cs",
        "slk" => "sk",
        "swe" => "sv",
        "dan" => "da",
        "nob" => "nb",
        "fin" => "fi",
        "hun" => "hu",
        "ron" => "ro",
        "bul" => "bg",
        "hrv" => "hr",
        "slv" => "sl",
        "srp" => "sr",
        "ell" => "el",
        "tur" => "tr",
        "ara" => "ar",
        "heb" => "he",
        "pes" => "fa",
        "hin" => "hi",
        "ben" => "bn",
        "jpn" => "ja",
        "kor" => "ko",
        "cmn" => "zh",
        "vie" => "vi",
        "tha" => "th",
        "ind" => "id",
        "lit" => "lt",
        "lav" => "lv",
        "est" => "et",
        "cat" => "ca",
        "epo" => "eo",
        _ => return None,
    })
}
