//! Main text and metadata of a web page.
//!
//! [`extract`] parses a page (html5ever through `scraper`), walks it once into text blocks
//! ([`dom`]), drops chrome by tag, role and class ([`boiler`]), and selects the main content
//! ([`select`]): on an article the element holding its body, on a company page every block
//! outside chrome that is not a link list. Block structure is kept: headings, paragraphs, list
//! items and table cells are lines of their own.
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
pub const EXTRACTOR_VERSION: &str = "leadcrawl-extract/7";

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
    /// The main content was chosen as an article's one body (declared, or read like one),
    /// not as a page's sections.
    pub article: bool,
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

/// Open elements beyond which a page is cut: html5ever's tree builder checks scopes by walking
/// the stack of open elements, so parsing time grows with the square of the nesting depth (40,000
/// nested `<div>` take seconds; a hostile 2 MiB page minutes). Browsers cap the depth too.
const MAX_NESTING: usize = 2_000;

/// `html` up to the point where elements nest deeper than [`MAX_NESTING`] (a byte scan of tags;
/// tags whose end tag is optional and void elements do not count).
fn cap_nesting(html: &str) -> &str {
    let bytes = html.as_bytes();
    let mut depth = 0usize;
    let mut i = 0;
    while let Some(off) = memchr(b'<', &bytes[i..]) {
        let at = i + off;
        i = at + 1;
        let closing = bytes.get(i) == Some(&b'/');
        let start = if closing { i + 1 } else { i };
        let end = bytes[start..]
            .iter()
            .position(|b| !b.is_ascii_alphanumeric())
            .map_or(bytes.len(), |p| start + p);
        if end == start {
            continue;
        }
        let name = &bytes[start..end];
        if !counts_for_depth(name) {
            continue;
        }
        if closing {
            depth = depth.saturating_sub(1);
        } else {
            depth += 1;
            if depth > MAX_NESTING {
                return &html[..at];
            }
        }
    }
    html
}

fn memchr(needle: u8, hay: &[u8]) -> Option<usize> {
    hay.iter().position(|&b| b == needle)
}

fn counts_for_depth(name: &[u8]) -> bool {
    const FREE: &[&[u8]] = &[
        b"p",
        b"li",
        b"dt",
        b"dd",
        b"option",
        b"optgroup",
        b"tr",
        b"td",
        b"th",
        b"thead",
        b"tbody",
        b"tfoot",
        b"colgroup",
        b"caption",
        b"rb",
        b"rt",
        b"rp",
        b"html",
        b"head",
        b"body",
        b"br",
        b"img",
        b"input",
        b"meta",
        b"link",
        b"hr",
        b"area",
        b"base",
        b"col",
        b"embed",
        b"source",
        b"track",
        b"wbr",
        b"param",
    ];
    !FREE.iter().any(|f| f.eq_ignore_ascii_case(name))
}

/// Extracts main text and metadata from one decoded page.
pub fn extract(html: &str) -> ExtractedPage {
    let html = cap_nesting(html);
    let document = scraper::Html::parse_document(html);
    let mut walk = dom::walk(&document);
    drop(document);
    let article = select::is_article(&walk) || select::reads_like_article(&walk);
    select::settle_chrome(&mut walk, article);
    let mut main = select::main_blocks(&walk, article);
    if !article {
        select::trim_outside_content(&walk.blocks, &mut main);
        select::trim_outside_root(&walk, &mut main);
        select::drop_credit_lines(&walk.blocks, &mut main);
        select::drop_teaser_sections(&walk.blocks, &mut main);
        select::drop_repeats(&walk.blocks, &mut main);
        select::drop_trailing_lines(&walk.blocks, &mut main);
    } else {
        select::extend_to_lead(&walk, &mut main);
        select::cut_article_end(&walk, &mut main);
        select::drop_calls_to_action(&walk.blocks, &mut main);
        select::drop_credit_lines(&walk.blocks, &mut main);
    }
    select::rescue_short_text(&walk.blocks, &mut main);
    select::drop_teaser_labels(&walk.blocks, &mut main);
    select::keep_linked_cells(&walk.blocks, &mut main);
    if article {
        select::drop_article_tail(&walk.blocks, &mut main);
    } else {
        select::keep_code_in_prose(&walk.blocks, &mut main);
    }
    let mut page = ExtractedPage {
        title: walk.title,
        canonical: walk.canonical,
        html_lang: walk.html_lang,
        blocks: walk.blocks,
        main,
        article,
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn structure_is_kept_and_chrome_dropped() {
        let page = extract(
            "<html lang=en><head><title>Acme</title><title>Acme | SEO title</title>\
             <meta property=og:title content='Acme OG'></head><body>\
             <header><nav><a href=/>Home</a><a href=/about>About</a></nav></header>\
             <main><h1>Pumps</h1><p>We build pumps <span class=share-bar>Share</span> for water.</p>\
             <ul><li>Centrifugal</li><li>Dosing</li></ul>\
             <table><tr><td>Model</td><td>Flow</td></tr></table></main>\
             <footer>© 2024 Acme</footer></body></html>",
        );
        assert_eq!(page.title.as_deref(), Some("Acme"));
        assert_eq!(page.og_title.as_deref(), Some("Acme OG"));
        assert_eq!(page.html_lang.as_deref(), Some("en"));
        assert_eq!(
            page.main_text(),
            "Pumps\nWe build pumps\nfor water.\nCentrifugal\nDosing\nModel\nFlow"
        );
        assert!(page.all_text().contains("© 2024 Acme"));
        assert_eq!(page.headings(), vec![(1, "Pumps".to_owned())]);
        let hrefs: Vec<&str> = page.links.iter().map(|l| l.href.as_str()).collect();
        assert_eq!(hrefs, ["/", "/about"]);
        assert_eq!(page.links[1].text, "About");
        assert!(page.links.iter().all(|l| l.boiler));
    }

    #[test]
    fn hostile_nesting_is_handled_in_linear_time() {
        // 40,000 nested chrome elements, each with text: quadratic bookkeeping would need
        // billions of steps; this must finish at once and not overflow the stack.
        let n = 40_000;
        let mut html = String::with_capacity(n * 30);
        for i in 0..n {
            html.push_str(&format!("<div class=cookie>x{i}"));
        }
        let page = extract(&html);
        assert_eq!(
            page.blocks.len(),
            MAX_NESTING,
            "cut where nesting gets absurd"
        );
        assert!(page.blocks.iter().all(|b| b.boiler));
        // Closed elements do not count: a long flat page is read whole.
        let flat: String = (0..n).map(|i| format!("<div>x{i}</div>")).collect();
        assert_eq!(extract(&flat).blocks.len(), n);
        let mut deep = "<p>".repeat(50_000);
        deep.push_str("text");
        let page = extract(&deep);
        assert_eq!(page.main_text(), "text");
    }

    #[test]
    fn card_links_are_content_on_company_pages() {
        let card = |n: u32| {
            format!(
                "<a href=/s{n}><h3>Service {n}</h3><p>We audit, design and run service {n} for \
                 mid-sized manufacturers across Europe.</p><span>Find out more</span></a>"
            )
        };
        let cards: String = (0..4).map(card).collect();
        let page = extract(&format!("<body><div>{cards}</div></body>"));
        let text = page.main_text();
        assert!(
            text.contains("Service 2\nWe audit, design and run service 2"),
            "{text}"
        );
    }

    #[test]
    fn section_headers_count_and_mockups_do_not() {
        let page = extract(
            "<body><header><a href=/>Acme</a> Call us</header>\
             <section><header><h2>Pumps for water</h2><p>Centrifugal and dosing pumps.</p></header>\
             <figure aria-hidden=true><div>Card number</div><div>1234 1234</div></figure>\
             <p>Built in Lyon since 1982.</p></section>\
             <main><p>We service every pump we sell, for as long as it runs.</p>\
             <div class=hero-illustration><p>ENG-2085</p><p>Todo 71</p></div>\
             <div class=copy-legal><p>*Prices exclude VAT and shipping.</p></div></main></body>",
        );
        let text = page.main_text();
        assert!(text.contains("Pumps for water\nCentrifugal"), "{text}");
        assert!(!text.contains("Call us"), "{text}");
        assert!(!text.contains("Card number"), "{text}");
        assert!(!text.contains("ENG-2085"), "{text}");
        assert!(!text.contains("exclude VAT"), "{text}");
        assert!(text.contains("We service every pump"), "{text}");
    }

    #[test]
    fn noscript_content_is_never_text() {
        // A live `<noscript>`, and one a browser's DOM serialised into escaped body text.
        let page = extract(
            "<html><head><noscript><img height=1 width=1 src=/px></noscript></head>\
             <body>&lt;img height=\"1\" width=\"1\" style=\"display:none\" src=\"/p?c=2\"&gt;\
             <noscript><iframe src=/gtm></iframe><p>Enable JavaScript</p></noscript>\
             <p>We write about <b>pumps</b> &lt;3 and valves.</p></body></html>",
        );
        assert_eq!(page.main_text(), "We write about pumps <3 and valves.");
    }

    /// A paragraph of `n` sentences about `topic`.
    fn prose(topic: &str, n: usize) -> String {
        (0..n)
            .map(|i| format!("Sentence {i} tells the reader more about {topic}, at some length. "))
            .collect()
    }

    #[test]
    fn body_named_like_chrome_is_the_body() {
        // WordPress themes name the post body `entry share`; a recirculation vendor wraps the
        // whole story. Class names alone do not make the title's body chrome.
        let html = format!(
            "<html><head><title>Desoldering old boards | Blog</title>\
             <meta property=og:type content=article></head><body>\
             <nav><a href=/>Home</a></nav><h1>Desoldering old boards</h1>\
             <div class='entry share'><p>{}</p><p>{}</p></div>\
             <div class=share><a href=/fb>Facebook</a></div></body></html>",
            prose("solder", 6),
            prose("pins", 6)
        );
        let text = extract(&html).main_text();
        assert!(text.contains("more about solder"), "{text}");
        assert!(text.contains("more about pins"), "{text}");
        assert!(!text.contains("Facebook"), "{text}");
    }

    #[test]
    fn split_body_is_joined_and_the_article_ends_at_its_comments() {
        let column = |topic: &str| {
            format!(
                "<div class=col><div><p>{}</p><p>{}</p></div></div>",
                prose(topic, 3),
                prose(topic, 2)
            )
        };
        let html = format!(
            "<html><head><title>Blackouts stump experts</title>\
             <script type=application/ld+json>{{\"@type\":\"NewsArticle\",\"headline\":\"Blackouts stump experts\"}}</script>\
             </head><body><article><header><h1>Blackouts stump experts</h1></header>\
             <section>{}<div class=ad>Advertisement</div>{}<div class=ad>Advertisement</div>{}</section>\
             <h2>Kommentare</h2><div><p>{}</p></div>\
             <h3>Mehr zum Thema</h3><ul><li><a href=/a>Other story one</a></li></ul></article></body></html>",
            column("the grid"),
            column("the reserves"),
            column("the prices"),
            prose("my opinion", 2),
        );
        let text = extract(&html).main_text();
        for topic in ["the grid", "the reserves", "the prices"] {
            assert!(
                text.contains(&format!("more about {topic}")),
                "{topic}: {text}"
            );
        }
        assert!(!text.contains("my opinion"), "{text}");
        assert!(!text.contains("Other story"), "{text}");
    }

    #[test]
    fn article_lead_before_the_body_is_body() {
        // The standfirst sits in the article's header, the body in a container after a
        // picture with its caption and credit: the lead joins the body, the credit does not.
        let html = format!(
            "<html><head><title>Wie entsteht Erdöl?</title>\
             <script type=application/ld+json>{{\"@type\":\"NewsArticle\",\"headline\":\"Wie entsteht Erdöl?\"}}</script>\
             </head><body><nav><a href=/>Start</a></nav><article><div class=head>\
             <h1>Wie entsteht Erdöl?</h1><p>19.11.2012</p>\
             <p>Erdöl bildet sich über Millionen von Jahren aus toten Kleinstlebewesen am Meeresgrund.</p></div>\
             <figure><img src=a.jpg><figcaption>Erdölpumpen im Abendrot. Bild: Shutterstock</figcaption></figure>\
             <div class=text><p>{}</p><p>{}</p><p>{}</p></div></article></body></html>",
            prose("Plankton", 4),
            prose("Sediment", 4),
            prose("Druck", 4)
        );
        let text = extract(&html).main_text();
        assert!(
            text.starts_with("Erdöl bildet sich über Millionen"),
            "{text}"
        );
        assert!(text.contains("more about Druck"), "{text}");
        assert!(!text.contains("19.11.2012"), "{text}");
        assert!(!text.contains("Shutterstock"), "{text}");
    }

    #[test]
    fn page_kept_whole_loses_what_lies_outside_its_one_text_element() {
        // No article markup and no date: the company-page rules keep every block, except
        // what lies outside the one element that holds nearly all of the prose.
        let html = format!(
            "<html><head><title>Hummeln unter Linden</title></head><body>\
             <div class=top><p>Der Artikel wurde erfolgreich hinzugefügt.</p></div>\
             <div id=page><div class=story><h1>Hummeln unter Linden</h1><p>{}</p><p>{}</p>\
             <p>{}</p><p>Foto: Sascha Klahn</p><p>{}</p></div>\
             <div class=after><p>War der Artikel nützlich?</p><p>zurück zur Startseite</p></div></div>\
             </body></html>",
            prose("Linden", 8),
            prose("Nektar", 8),
            prose("Hummeln", 8),
            prose("Schutz", 8)
        );
        let text = extract(&html).main_text();
        assert!(text.starts_with("Hummeln unter Linden"), "{text}");
        assert!(text.contains("more about Schutz"), "{text}");
        assert!(!text.contains("erfolgreich"), "{text}");
        assert!(!text.contains("nützlich"), "{text}");
        assert!(!text.contains("Startseite"), "{text}");
        assert!(!text.contains("Sascha Klahn"), "{text}");
    }

    #[test]
    fn undeclared_dated_article_reads_as_one() {
        // No JSON-LD, no og:type: a dated post with a comment form and a teaser list.
        let html = format!(
            "<html><head><title>Tomaten richtig schneiden</title></head><body>\
             <div id=wrap><div class=post><h1>Tomaten richtig schneiden</h1>\
             <p class=meta>20.09.2020</p><p>{}</p><p>{}</p><p>{}</p><p>{}</p><p>{}</p></div>\
             <div><h3>Weitere Beiträge</h3><p>{}</p></div>\
             <div><h3>Kommentare</h3><p>Schreibe einen Kommentar</p></div></div></body></html>",
            prose("Strunk", 6),
            prose("Messer", 6),
            prose("Brett", 6),
            prose("Scheiben", 6),
            prose("Teller", 6),
            prose("Kuchen", 1),
        );
        let text = extract(&html).main_text();
        assert!(text.starts_with("Tomaten richtig schneiden"), "{text}");
        assert!(text.contains("more about Teller"), "{text}");
        assert!(!text.contains("Kuchen"), "{text}");
        assert!(!text.contains("Kommentar"), "{text}");
    }

    #[test]
    fn article_body_typed_into_one_paragraph_keeps_its_intro() {
        // The densest element is one `<p>` of `<br>`-separated lines: the body is its parent,
        // with the intro paragraphs beside it (a link line between them stops the lead rule).
        let lines: String = (1..=40)
            .map(|i| format!("{i:02}. Singer number {i} of a famous band<br>"))
            .collect();
        let html = format!(
            "<html><head><title>Top 40 Vocalists</title>\
             <meta property=og:type content=article></head><body>\
             <aside><p>{}</p></aside><div class=entry><h1>Top 40 Vocalists</h1>\
             <p>I am not much of a metal guy these days, but I dabbled in it in high school.</p>\
             <p>Some of my personal favourites are missing from the list below, sadly.</p>\
             <p>Here is the <a href=/list>full list</a>.</p><p>{lines}</p></div></body></html>",
            prose("the sidebar", 2)
        );
        let text = extract(&html).main_text();
        assert!(text.contains("metal guy"), "{text}");
        assert!(text.contains("personal favourites"), "{text}");
        assert!(text.contains("40. Singer number 40"), "{text}");
        assert!(!text.contains("the sidebar"), "{text}");
    }

    #[test]
    fn page_kept_whole_keeps_its_intro_above_the_text_element() {
        // The intro paragraph sits between the title and the element holding the rest: the
        // trim to that element keeps it; the notice above the title still goes.
        let html = format!(
            "<html><head><title>Auto leasen oder kaufen</title></head><body>\
             <div class=notice><p>Unsere Ratgeber werden regelmäßig von der Redaktion geprüft.</p></div>\
             <div id=page><h1>Auto leasen oder kaufen</h1>\
             <div class=intro><p>Sie können auf verschiedenen Wegen zum eigenen Auto kommen.</p></div>\
             <div class=story><p>{}</p><p>{}</p><p>{}</p><p>{}</p></div></div></body></html>",
            prose("Leasing", 16),
            prose("Kredit", 16),
            prose("Barkauf", 16),
            prose("Restwert", 16)
        );
        let text = extract(&html).main_text();
        assert!(
            text.starts_with("Sie können auf verschiedenen Wegen"),
            "{text}"
        );
        assert!(text.contains("more about Restwert"), "{text}");
        assert!(!text.contains("Redaktion geprüft"), "{text}");
        assert!(!text.contains("Auto leasen oder kaufen"), "{text}");
    }

    #[test]
    fn microdata_blog_posting_is_an_article() {
        // Older blogs say what they are in microdata, not JSON-LD: the post is read as an
        // article (its body chosen by the article rules, not kept whole).
        let page = |itemtype: &str| {
            format!(
                "<html><head><title>Hummeln im Garten</title></head><body>\
                 <div class=wrap {itemtype}><h1>Hummeln im Garten</h1><div class=entry>\
                 <p>{}</p><p>{}</p><p>{}</p></div>\
                 </div></body></html>",
                prose("Hummeln", 6),
                prose("Nester", 6),
                prose("Blüten", 6)
            )
        };
        let plain = extract(&page(""));
        assert!(!plain.article);
        let post = extract(&page(
            "itemscope itemtype=\"http://schema.org/BlogPosting\"",
        ));
        assert!(post.article);
        assert!(post.main_text().contains("more about Blüten"));
    }

    #[test]
    fn linked_cells_of_a_table_stay_with_their_row() {
        // An ingredient linked to its page, between two cells of the table: the row is read
        // whole. A link list elsewhere still goes.
        let html = format!(
            "<html><head><title>Mandarinen-Schmand-Torte</title>\
             <meta property=og:type content=article></head><body><main>\
             <h1>Mandarinen-Schmand-Torte</h1><p>{}</p><table>\
             <tr><td>3 Becher</td><td>Schmand, je ca. 200 g</td></tr>\
             <tr><td>2 Dose/n</td><td><a href=/mandarinen>Mandarine(n), je ca. 300 g</a></td></tr>\
             <tr><td>1 Pck.</td><td>Tortenguss, klar</td></tr></table><p>{}</p>\
             <ul><li><a href=/a>Backen</a></li><li><a href=/b>Kochen</a></li></ul>\
             </main></body></html>",
            prose("the cake", 4),
            prose("the oven", 4)
        );
        let text = extract(&html).main_text();
        assert!(text.contains("Mandarine(n), je ca. 300 g"), "{text}");
        assert!(text.contains("Tortenguss"), "{text}");
        assert!(!text.contains("Backen"), "{text}");
    }

    #[test]
    fn lead_is_found_past_a_date_line_and_a_byline_is_not_one() {
        // The standfirst between the title and the body, set apart from it by a date line and
        // a contents label, is the article's text even when the page's description repeats it.
        let html = format!(
            "<html><head><title>Auto leasen oder kaufen</title>\
             <meta name=description content=\"Sie können auf verschiedenen Wegen zum eigenen Auto kommen.\">\
             <meta property=og:type content=article></head><body>\
             <div class=head><h1>Auto leasen oder kaufen</h1>\
             <p>Sie können auf verschiedenen Wegen zum eigenen Auto kommen, und jeder kostet.</p>\
             <div>19. Februar 2020</div><ul><li>Inhaltsverzeichnis</li></ul>\
             <p>By Stefan Becket, Kathryn Watson and Grace Segers</p></div>\
             <div class=story><p>{}</p><p>{}</p><p>{}</p><p>{}</p></div></body></html>",
            prose("Leasing", 8),
            prose("Kredit", 8),
            prose("Barkauf", 8),
            prose("Restwert", 8)
        );
        let text = extract(&html).main_text();
        assert!(text.starts_with("Sentence 0"), "{text}");
        let html = html.replace(
            "<p>By Stefan Becket, Kathryn Watson and Grace Segers</p>",
            "",
        );
        let text = extract(&html).main_text();
        assert!(
            text.starts_with("Sie können auf verschiedenen Wegen"),
            "{text}"
        );
        assert!(!text.contains("19. Februar"), "{text}");
        assert!(!text.contains("Inhaltsverzeichnis"), "{text}");
    }

    #[test]
    fn credit_lines_leave_an_article() {
        let html = format!(
            "<html><head><title>Masters in Augusta</title>\
             <meta property=og:type content=article></head><body><article>\
             <h1>Masters in Augusta</h1><div class=body><p>{}</p>\
             <p>Augusta National/Getty Images</p><p>{}</p><div>Foto: dpa</div><p>{}</p>\
             </div></article></body></html>",
            prose("the green", 5),
            prose("the course", 5),
            prose("the cut", 5)
        );
        let text = extract(&html).main_text();
        assert!(text.contains("more about the cut"), "{text}");
        assert!(!text.contains("Getty"), "{text}");
        assert!(!text.contains("dpa"), "{text}");
    }

    #[test]
    fn server_error_messages_are_not_text() {
        let html = format!(
            "<html><head><title>Málaga</title></head><body><div id=content>\
             <p><b>Strict Standards</b>: Redefining already defined constructor for class wpdb in \
             <b>/www/htdocs/w0094d70/wp-includes/wp-db.php</b> on line <b>306</b></p>\
             <p>Deprecated: Assigning the return value of new by reference is deprecated in \
             /www/htdocs/wp-settings.php on line 472</p>\
             <h1>Málaga</h1><p>{}</p><p>{}</p>\
             <p>Warning: this beach is crowded in August, on line with the rest of the coast.</p>\
             </div></body></html>",
            prose("Málaga", 6),
            prose("the beach", 6)
        );
        let text = extract(&html).main_text();
        assert!(text.contains("more about the beach"), "{text}");
        assert!(!text.contains("wpdb"), "{text}");
        assert!(!text.contains("by reference"), "{text}");
        // A sentence that only starts like one stays: no line number.
        assert!(text.contains("this beach is crowded"), "{text}");
    }

    #[test]
    fn text_typed_with_combining_marks_comes_out_composed() {
        // "geprüft" typed as `u` + U+0308: the text, the title and the description come out in
        // NFC, as a reader's search for "geprüft" expects.
        let html = format!(
            "<html><head><title>Gepru\u{308}ft</title>\
             <meta name=description content=\"Gepru\u{308}fte Sitze\"></head><body><main>\
             <p>Besonders bei Babyschalen sollte gepru\u{308}ft werden, ob der Gurt reicht.</p>\
             <p>{}</p></main></body></html>",
            prose("Kindersitze", 6)
        );
        let page = extract(&html);
        let text = page.main_text();
        assert!(text.contains("sollte geprüft werden"), "{text:?}");
        assert!(!text.contains('\u{308}'), "{text:?}");
        assert_eq!(page.title.as_deref(), Some("Geprüft"));
        assert_eq!(page.description.as_deref(), Some("Geprüfte Sitze"));
    }

    #[test]
    fn teaser_named_link_boxes_leave_an_article_but_not_its_lead() {
        // In an article, an element named `teaser` that holds links points elsewhere ("Das
        // könnte Sie interessieren" cards); a `teaser` without links is the article's lead
        // (German CMSs name the standfirst so) and stays.
        let html = format!(
            "<html><head><title>Neujahrsempfang im Schloss</title>\
             <meta property=og:type content=article></head><body><article>\
             <h1>Neujahrsempfang im Schloss</h1>\
             <div class=teaser><p>Der Bundespräsident lädt jedes Jahr zum Empfang.</p></div>\
             <div class=text><p>{}</p><p>{}</p><p>{}</p></div>\
             <div class=teaser-box><p><a href=/zoo>Erhöhung für Zoo-Eintritt</a> {}</p></div>\
             </article></body></html>",
            prose("Bellevue", 6),
            prose("Jugendverbände", 6),
            prose("Europa", 6),
            prose("the zoo", 1)
        );
        let text = extract(&html).main_text();
        assert!(text.contains("lädt jedes Jahr zum Empfang"), "{text}");
        assert!(text.contains("more about Europa"), "{text}");
        assert!(!text.contains("Zoo-Eintritt"), "{text}");
        // On a company page a `teaser` card is content.
        let html = format!(
            "<html><head><title>Services</title></head><body><main><h1>Services</h1>\
             <div class=teaser><h3>Risk review</h3><p><a href=/risk>{}</a></p></div>\
             <div class=teaser><h3>Readiness drills</h3><p>{}</p></div></main></body></html>",
            prose("risk", 3),
            prose("drills", 3)
        );
        let text = extract(&html).main_text();
        assert!(text.contains("Readiness drills"), "{text}");
    }

    #[test]
    fn teaser_box_inside_an_article_does_not_end_it() {
        // A "Related stories" box between two paragraphs of the body: the body goes on after
        // it in the same container, so the article does not end there.
        let html = format!(
            "<html><head><title>Hospital loses 6,000 masks</title>\
             <script type=application/ld+json>{{\"@type\":\"NewsArticle\",\"headline\":\"Hospital loses 6,000 masks\"}}</script>\
             </head><body><article><h1>Hospital loses 6,000 masks</h1><div class=body>\
             <p>{}</p><p>{}</p><h3>Related stories</h3><ul><li><a href=/a>Do masks help?</a></li>\
             <li><a href=/b>Mask prices soar</a></li></ul>\
             <p>The incident happened at a time when Japan is short of face masks.</p></div>\
             <h2>Comments</h2><p>{}</p></article></body></html>",
            prose("the masks", 4),
            prose("the hospital", 4),
            prose("my view", 1)
        );
        let text = extract(&html).main_text();
        assert!(text.contains("Japan is short of face masks"), "{text}");
        assert!(!text.contains("Related stories"), "{text}");
        assert!(!text.contains("Mask prices"), "{text}");
        assert!(!text.contains("my view"), "{text}");
    }

    #[test]
    fn open_header_holding_the_page_is_its_body() {
        // A `<header>` never closed swallows the page; with no title to anchor on (the `<h1>`
        // is too short to match), holding nearly all the prose makes it the body.
        let html = format!(
            "<html><head><title>Emden</title></head><body>\
             <nav><a href=/>Home</a> » <a href=/de>Deutschland</a></nav>\
             <header><h1>Emden</h1><p>{}</p><h3>Kunsthalle</h3><p>{}</p><p>Eintritt: 10 €</p>\
             </body></html>",
            prose("Ostfriesland", 4),
            prose("Henri Nannen", 4)
        );
        let text = extract(&html).main_text();
        assert!(text.contains("more about Ostfriesland"), "{text}");
        assert!(text.contains("Eintritt: 10 €"), "{text}");
        assert!(!text.contains("Deutschland"), "{text}");
    }

    #[test]
    fn short_lines_after_the_last_paragraph_of_a_prose_page_go() {
        // A page kept whole that is mostly running prose: the headings and plain lines after
        // its last paragraph go, list items stay.
        let html = format!(
            "<html><head><title>Qualità Oro</title></head><body><div id=page>\
             <h1>Qualità Oro</h1><p>{}</p><p>{}</p><p>{}</p>\
             <ul><li>250 g Bohnen</li></ul><h2>Kontakt</h2><div>Heute empfehlen wir</div>\
             </div></body></html>",
            prose("the blend", 5),
            prose("the roast", 5),
            prose("the crema", 5)
        );
        let text = extract(&html).main_text();
        assert!(text.contains("more about the crema"), "{text}");
        assert!(text.contains("250 g Bohnen"), "{text}");
        assert!(!text.contains("Kontakt"), "{text}");
        assert!(!text.contains("Heute empfehlen"), "{text}");
        // A company page of short sections is not cut.
        let page = extract(
            "<html><body><main><h1>Pumps</h1><p>We build pumps.</p><h2>Contact</h2>\
             <div>+33 4 00 00 00 00</div></main></body></html>",
        );
        assert!(page.main_text().contains("+33 4"), "{}", page.main_text());
    }

    #[test]
    fn further_reading_labels_go() {
        let html = format!(
            "<html><head><title>Preisanpassung</title></head><body><div>\
             <h1>Preisanpassung</h1><p>{}</p><h3>Weitere Informationen</h3><p>{}</p>\
             <p>Zobacz również:</p><p>{}</p></div></body></html>",
            prose("Fernwärme", 3),
            prose("Billigkeit", 3),
            prose("Monopol", 3)
        );
        let text = extract(&html).main_text();
        assert!(text.contains("more about Monopol"), "{text}");
        assert!(!text.contains("Weitere Informationen"), "{text}");
        assert!(!text.contains("Zobacz"), "{text}");
    }

    #[test]
    fn a_thread_in_comment_boxes_is_the_text_of_a_page_that_has_no_other() {
        // A forum thread: the title and a login prompt outside, every post in a `comment`
        // box. The posts are the page's text.
        let post = |topic: &str| format!("<div class=comment><p>{}</p></div>", prose(topic, 6));
        let html = format!(
            "<html><head><title>App Store over mobile data?</title></head><body>\
             <nav><a href=/>Forum</a> <a href=/new>New posts</a></nav>\
             <h2>App Store over mobile data?</h2>{}{}{}\
             <p>Log in to reply.</p></body></html>",
            post("the update"),
            post("the settings"),
            post("the carrier")
        );
        let text = extract(&html).main_text();
        assert!(text.contains("more about the settings"), "{text}");
        assert!(!text.contains("New posts"), "{text}");
        // Comments under an article that has its own text stay out.
        let html = format!(
            "<html><head><title>Pumps</title></head><body><h1>Pumps</h1><p>{}</p><p>{}</p>\
             {}{}</body></html>",
            prose("pumps", 6),
            prose("valves", 6),
            post("the update"),
            post("the settings")
        );
        let text = extract(&html).main_text();
        assert!(text.contains("more about valves"), "{text}");
        assert!(!text.contains("more about the settings"), "{text}");
    }

    #[test]
    fn calls_to_action_leave_an_article_but_not_a_company_page() {
        let html = format!(
            "<html><head><title>Hydrants in winter</title>\
             <meta property=og:type content=article></head><body><article>\
             <h1>Hydrants in winter</h1><p>{}</p>\
             <p>Unterstützen Sie unabhängigen Journalismus!</p><p>{}</p>\
             <p>If you enjoyed reading this post, would you consider supporting our work?</p>\
             </article></body></html>",
            prose("frost", 6),
            prose("valves", 6)
        );
        let text = extract(&html).main_text();
        assert!(text.contains("more about valves"), "{text}");
        assert!(!text.contains("Unterstützen"), "{text}");
        assert!(!text.contains("enjoyed"), "{text}");
        let page = extract(
            "<html><body><main><h1>Pumps</h1><p>We build pumps.</p>\
             <p>Subscribe to our newsletter for maintenance tips.</p></main></body></html>",
        );
        assert!(
            page.main_text().contains("Subscribe"),
            "{}",
            page.main_text()
        );
    }

    #[test]
    fn an_article_loses_a_tail_of_short_lines_but_not_a_list() {
        let article = |tail: &str| {
            format!(
                "<html><head><title>Hydrants in winter</title>\
                 <meta property=og:type content=article></head><body><article>\
                 <h1>Hydrants in winter</h1><p>{}</p><p>{}</p>{tail}</article></body></html>",
                prose("frost", 6),
                prose("valves", 6)
            )
        };
        let text = extract(&article("<h3>Temas</h3><div>03.04.2020</div>")).main_text();
        assert!(text.contains("more about valves"), "{text}");
        assert!(!text.contains("Temas"), "{text}");
        assert!(!text.contains("03.04.2020"), "{text}");
        // A tail holding a list is left whole.
        let text = extract(&article("<h3>You need</h3><ul><li>A wrench</li></ul>")).main_text();
        assert!(text.contains("You need"), "{text}");
        assert!(text.contains("A wrench"), "{text}");
    }

    #[test]
    fn code_introduced_by_prose_is_kept_on_a_page_kept_whole() {
        let page = extract(&format!(
            "<html><body><div id=readme><h1>yapapi</h1><p>{}</p>\
             <pre>poetry add yapapi</pre><p>{}</p></div></body></html>",
            prose("the installation", 2),
            prose("the requestor", 2)
        ));
        assert!(
            page.main_text().contains("poetry add yapapi"),
            "{}",
            page.main_text()
        );
        // Code in a hero section, next to a heading only, is still a mock-up.
        let page = extract(
            "<html><body><main><h1>Ship APIs faster</h1><pre>curl api.example.com</pre>\
             <p>We build pumps.</p></main></body></html>",
        );
        assert!(!page.main_text().contains("curl"), "{}", page.main_text());
    }

    #[test]
    fn consent_placeholders_of_embedded_posts_go() {
        let html = format!(
            "<html><body><div><h1>Waffensysteme</h1><p>{}</p><div>Externer Inhalt</div>\
             <p>Wir respektieren deine Privatsphäre und stellen deshalb ohne dein \
             Einverständnis keine Verbindung zu Twitter her.</p><div>Twitter freischalten</div>\
             <p>{}</p></div></body></html>",
            prose("drones", 3),
            prose("export rules", 3)
        );
        let text = extract(&html).main_text();
        assert!(text.contains("more about export rules"), "{text}");
        assert!(!text.contains("Externer Inhalt"), "{text}");
        assert!(!text.contains("Privatsphäre"), "{text}");
        assert!(!text.contains("freischalten"), "{text}");
    }

    #[test]
    fn language_falls_back_to_html_lang() {
        assert_eq!(
            page_language("Kontakt", Some("de-DE")).as_deref(),
            Some("de")
        );
        assert_eq!(page_language("Kontakt", Some("not a tag")), None);
        let fr = "Nous fabriquons des pompes à eau depuis 1982, pour l'industrie française et \
                  européenne. Notre équipe conçoit, installe et entretient chaque installation.";
        assert_eq!(page_language(fr, Some("en")).as_deref(), Some("fr"));
    }
}
