//! One pass over a parsed page: text blocks with their element ancestry, and the raw metadata.
//!
//! The walk is iterative (a hostile page nested 100,000 levels deep must not overflow the stack).
//! Text is cut into blocks at block-level tags and `<br>`; each block remembers the innermost
//! block element it sits in (an index into [`Walk::elements`], numbered in document order, so
//! "inside element e" is `e <= i <= elements[e].last`), how much of its text is link text, and
//! whether a chrome element (navigation, footer, banner …) encloses it.

use ego_tree::iter::Edge;
use scraper::{Html, Node};

use super::boiler::{self, Attrs, Verdict};

/// What kind of block a piece of text is, from its innermost block element.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BlockKind {
    Heading(u8),
    Paragraph,
    ListItem,
    Cell,
    Preformatted,
    Quote,
    Other,
}

/// A line of text of the page.
#[derive(Debug, Clone)]
pub struct Block {
    pub text: String,
    pub kind: BlockKind,
    /// Characters of `text` inside links, not counting cards (a link wrapping blocks).
    pub link_chars: u32,
    /// Characters of `text` inside a link that wraps blocks (a card).
    pub card_link_chars: u32,
    /// Characters of `text`.
    pub chars: u32,
    /// Innermost enclosing block element.
    pub elem: u32,
    /// Enclosed by a chrome element (decided by the selection, from `chrome`).
    pub boiler: bool,
    /// Inside `<main>`, `<article>`, `role=main` or an article-body container.
    pub in_content: bool,
    /// The rule that made it chrome (for `--explain`), empty if it is not.
    pub chrome_rule: &'static str,
    /// The innermost chrome element around this block, an index into [`Walk::chrome`].
    pub(crate) chrome: Option<u32>,
    /// Enclosed by a hard chrome element (tag, role, unambiguous name).
    pub(crate) hard_chrome: bool,
}

impl Block {
    /// Share of the text inside links, text of link-wrapped cards not counted.
    pub fn link_density(&self) -> f32 {
        if self.chars == 0 {
            0.0
        } else {
            self.link_chars as f32 / self.chars as f32
        }
    }

    /// Share of the text inside any link, cards included.
    pub fn strict_link_density(&self) -> f32 {
        if self.chars == 0 {
            0.0
        } else {
            (self.link_chars + self.card_link_chars).min(self.chars) as f32 / self.chars as f32
        }
    }
}

/// An element of the page, as far as extraction cares.
#[derive(Debug, Clone)]
pub struct Elem {
    pub parent: u32,
    /// Index of the last element inside this one (itself if it has none).
    pub last: u32,
    pub depth: u32,
    pub tag: Tag,
}

/// An element judged chrome.
#[derive(Debug, Clone)]
pub(crate) struct Chrome {
    /// By tag, role or an unambiguous name; `false` for class names only or `display:none`.
    pub hard: bool,
    /// The rule that decided.
    pub rule: &'static str,
    /// The chrome element around this one.
    pub parent: Option<u32>,
}

/// The tags the selection looks at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tag {
    Body,
    Main,
    Article,
    Other,
}

/// A link on the page.
#[derive(Debug, Clone)]
pub struct Link {
    pub href: String,
    pub text: String,
    /// Inside navigation, header, footer or another chrome element.
    pub boiler: bool,
}

/// Everything one pass over the page collects.
#[derive(Debug, Default)]
pub struct Walk {
    pub elements: Vec<Elem>,
    /// Chrome elements, in document order.
    pub(crate) chrome: Vec<Chrome>,
    pub blocks: Vec<Block>,
    pub title: Option<String>,
    pub html_lang: Option<String>,
    /// `(name or property, content)` of every `<meta>`, names lower-cased.
    pub metas: Vec<(String, String)>,
    pub canonical: Option<String>,
    pub jsonld: Vec<String>,
    /// schema.org types named by microdata `itemtype` attributes (`BlogPosting`, `Article` …),
    /// each once, in document order.
    pub microdata_types: Vec<String>,
    pub script_srcs: Vec<String>,
    pub links: Vec<Link>,
}

struct Open {
    /// Element index, or `None` for elements that are not tracked (inline ones).
    elem: Option<u32>,
    block: bool,
    boiler: bool,
    hard: bool,
    content_scope: bool,
    anchor: bool,
    heading: Option<u8>,
    pre: bool,
    section: bool,
    kind: Option<BlockKind>,
}

struct Builder {
    walk: Walk,
    text: String,
    link_chars: u32,
    card_link_chars: u32,
    block_elem: Vec<u32>,
    /// Kind of the innermost block element that has one.
    kinds: Vec<BlockKind>,
    chrome: Vec<u32>,
    hard_chrome: u32,
    content_depth: u32,
    /// Open `<section>` elements: a `<header>` in one heads that section, not the site.
    section_depth: u32,
    anchor_depth: u32,
    /// Block depth (`block_elem.len()`) at which the innermost open link started: text in a
    /// block nested deeper is a card wrapped in a link (heading, description, "read more"),
    /// which reads as content, not as a link list.
    anchor_blocks: Vec<usize>,
    pre_depth: u32,
    pending_space: bool,
    /// The open link's href and the text read inside it so far.
    link_start: Option<(String, String)>,
}

impl Builder {
    fn push_text(&mut self, raw: &str) {
        if self.pre_depth > 0 {
            let mut lines = raw.split('\n');
            if let Some(first) = lines.next() {
                self.push_collapsed(first);
            }
            for line in lines {
                self.flush();
                self.push_collapsed(line);
            }
        } else {
            self.push_collapsed(raw);
        }
    }

    fn push_collapsed(&mut self, raw: &str) {
        for (i, word) in raw.split(|c: char| c.is_whitespace()).enumerate() {
            if i > 0 {
                self.pending_space = true;
            }
            if word.is_empty() {
                continue;
            }
            if self.pending_space && !self.text.is_empty() {
                self.text.push(' ');
                self.count_link_chars(1);
            }
            if let Some((_, link_text)) = self.link_start.as_mut() {
                if link_text.len() < 200 {
                    if !link_text.is_empty() {
                        link_text.push(' ');
                    }
                    link_text.push_str(word);
                }
            }
            self.pending_space = false;
            self.text.push_str(word);
            self.count_link_chars(word.chars().count() as u32);
        }
    }

    fn count_link_chars(&mut self, n: u32) {
        if self.anchor_depth == 0 {
            return;
        }
        let card = self
            .anchor_blocks
            .last()
            .is_some_and(|&depth| self.block_elem.len() > depth);
        if card {
            self.card_link_chars += n;
        } else {
            self.link_chars += n;
        }
    }

    fn flush(&mut self) {
        self.pending_space = false;
        if self.text.is_empty() {
            return;
        }
        let text = nfc(std::mem::take(&mut self.text));
        let chars = text.chars().count() as u32;
        let link_chars = std::mem::take(&mut self.link_chars).min(chars);
        let card_link_chars = std::mem::take(&mut self.card_link_chars).min(chars);
        let kind = self.kinds.last().copied().unwrap_or(BlockKind::Other);
        self.walk.blocks.push(Block {
            text,
            kind,
            link_chars,
            card_link_chars,
            chars,
            elem: self.block_elem.last().copied().unwrap_or(0),
            boiler: !self.chrome.is_empty(),
            chrome_rule: "",
            hard_chrome: self.hard_chrome > 0,
            in_content: self.content_depth > 0,
            chrome: self.chrome.last().copied(),
        });
    }
}

fn kind_of(tag: &str) -> Option<BlockKind> {
    Some(match tag {
        "h1" => BlockKind::Heading(1),
        "h2" => BlockKind::Heading(2),
        "h3" => BlockKind::Heading(3),
        "h4" => BlockKind::Heading(4),
        "h5" => BlockKind::Heading(5),
        "h6" => BlockKind::Heading(6),
        "p" => BlockKind::Paragraph,
        "li" | "dd" | "dt" => BlockKind::ListItem,
        "td" | "th" => BlockKind::Cell,
        "pre" => BlockKind::Preformatted,
        "blockquote" => BlockKind::Quote,
        "div" | "section" | "article" | "main" | "body" => BlockKind::Other,
        _ => return None,
    })
}

fn collapse(text: &str) -> String {
    nfc(text.split_whitespace().collect::<Vec<_>>().join(" "))
}

/// `text` in Unicode normalisation form C: a page typed with combining marks (`u` + U+0308)
/// reads, searches and embeds like one typed with precomposed letters (`ü`). The quick check
/// makes this free on the pages already in NFC (nearly all).
fn nfc(text: String) -> String {
    use unicode_normalization::{is_nfc_quick, IsNormalized, UnicodeNormalization};
    if is_nfc_quick(text.chars()) == IsNormalized::Yes {
        text
    } else {
        text.nfc().collect()
    }
}

impl Walk {
    /// Records the schema.org types of one `itemtype` attribute (space-separated URLs).
    fn note_microdata(&mut self, itemtype: &str) {
        for url in itemtype.split_ascii_whitespace() {
            let Some((_, name)) = url.split_once("schema.org/") else {
                continue;
            };
            let name = name.trim_end_matches('/');
            if !name.is_empty()
                && name.len() <= 40
                && !self.microdata_types.iter().any(|t| t == name)
            {
                self.microdata_types.push(name.to_owned());
            }
        }
    }

    /// Whether a hard chrome element encloses `block`.
    pub(crate) fn chrome_hard(&self, block: &Block) -> bool {
        block.hard_chrome
    }
}

/// Walks the parsed page once.
pub fn walk(html: &Html) -> Walk {
    let mut b = Builder {
        walk: Walk::default(),
        text: String::new(),
        link_chars: 0,
        card_link_chars: 0,
        block_elem: Vec::new(),
        kinds: Vec::new(),
        chrome: Vec::new(),
        hard_chrome: 0,
        content_depth: 0,
        section_depth: 0,
        anchor_depth: 0,
        anchor_blocks: Vec::new(),
        pre_depth: 0,
        pending_space: false,
        link_start: None,
    };
    let mut stack: Vec<Open> = Vec::new();
    // While Some(id), everything inside that node is skipped.
    let mut skip: Option<ego_tree::NodeId> = None;
    let mut title_text: Option<String> = None;

    for edge in html.tree.root().traverse() {
        match edge {
            Edge::Open(node) => {
                if skip.is_some() {
                    continue;
                }
                match node.value() {
                    Node::Text(text) => {
                        if let Some(title) = title_text.as_mut() {
                            title.push_str(text);
                        } else if !is_serialized_markup(text) {
                            b.push_text(text);
                        }
                    }
                    Node::Element(element) => {
                        let tag = element.name();
                        match tag {
                            "title" if b.walk.title.is_none() && title_text.is_none() => {
                                title_text = Some(String::new());
                                stack.push(inline());
                                continue;
                            }
                            // A second <title> (theme plus SEO plugin) is not page text.
                            "title" => {
                                skip = Some(node.id());
                                stack.push(inline());
                                continue;
                            }
                            "meta" => {
                                collect_meta(&mut b.walk, element);
                            }
                            "link" if b.walk.canonical.is_none() => {
                                let rel = element.attr("rel").unwrap_or("");
                                if rel
                                    .split_ascii_whitespace()
                                    .any(|r| r.eq_ignore_ascii_case("canonical"))
                                {
                                    b.walk.canonical =
                                        element.attr("href").map(|h| h.trim().to_owned());
                                }
                            }
                            "html" => {
                                if let Some(lang) =
                                    element.attr("lang").or_else(|| element.attr("xml:lang"))
                                {
                                    let lang = lang.trim();
                                    if !lang.is_empty() {
                                        b.walk.html_lang = Some(lang.to_owned());
                                    }
                                }
                            }
                            "script" => {
                                if let Some(src) = element.attr("src") {
                                    b.walk.script_srcs.push(src.trim().to_owned());
                                }
                                let ld = element.attr("type").is_some_and(|t| {
                                    t.trim().eq_ignore_ascii_case("application/ld+json")
                                });
                                if ld {
                                    let body: String = node
                                        .children()
                                        .filter_map(|c| c.value().as_text().map(|t| &**t))
                                        .collect();
                                    b.walk.jsonld.push(body);
                                }
                            }
                            "br" => {
                                b.flush();
                                stack.push(inline());
                                continue;
                            }
                            _ => {}
                        }
                        let attrs = Attrs::of(element);
                        if !attrs.itemtype.is_empty() {
                            b.walk.note_microdata(attrs.itemtype);
                        }
                        let (verdict, reason) =
                            boiler::judge(tag, &attrs, b.content_depth > 0, b.section_depth > 0);
                        if verdict == Verdict::Junk {
                            skip = Some(node.id());
                            // The closing edge of a skipped node pops this.
                            stack.push(inline());
                            continue;
                        }
                        let block = boiler::block_tag(tag);
                        let mut open = inline();
                        open.block = block;
                        if block {
                            b.flush();
                            let index = b.walk.elements.len() as u32;
                            let parent = b.block_elem.last().copied().unwrap_or(index);
                            let depth = b.block_elem.len() as u32;
                            b.walk.elements.push(Elem {
                                parent,
                                last: index,
                                depth,
                                tag: match tag {
                                    "body" => Tag::Body,
                                    "main" => Tag::Main,
                                    "article" => Tag::Article,
                                    _ if attrs.role.eq_ignore_ascii_case("main") => Tag::Main,
                                    _ => Tag::Other,
                                },
                            });
                            b.block_elem.push(index);
                            open.elem = Some(index);
                            if let Some(kind) = kind_of(tag) {
                                b.kinds.push(kind);
                                open.kind = Some(kind);
                            }
                        }
                        if matches!(verdict, Verdict::Boiler | Verdict::SoftBoiler) {
                            // Inline chrome (`<span class=share>` inside a paragraph) is a
                            // block of its own, so that the paragraph is not judged with it.
                            b.flush();
                            let hard = verdict == Verdict::Boiler;
                            b.walk.chrome.push(Chrome {
                                hard,
                                rule: reason,
                                parent: b.chrome.last().copied(),
                            });
                            b.chrome.push(b.walk.chrome.len() as u32 - 1);
                            b.hard_chrome += u32::from(hard);
                            open.hard = hard;
                            open.boiler = true;
                        }
                        if matches!(tag, "article" | "main")
                            || verdict == Verdict::Content
                            || attrs.role.eq_ignore_ascii_case("main")
                        {
                            b.content_depth += 1;
                            open.content_scope = true;
                        }
                        if tag == "a" {
                            b.anchor_depth += 1;
                            b.anchor_blocks.push(b.block_elem.len());
                            open.anchor = true;
                            if let Some(href) = element.attr("href") {
                                b.link_start = Some((href.trim().to_owned(), String::new()));
                            }
                        }
                        if tag == "pre" {
                            b.pre_depth += 1;
                            open.pre = true;
                        }
                        if tag == "section" {
                            b.section_depth += 1;
                            open.section = true;
                        }
                        if let Some(BlockKind::Heading(level)) = open.kind {
                            open.heading = Some(level);
                        }
                        stack.push(open);
                    }
                    _ => {}
                }
            }
            Edge::Close(node) => {
                if let Some(id) = skip {
                    if id != node.id() {
                        continue;
                    }
                    skip = None;
                }
                if !node.value().is_element() {
                    continue;
                }
                let Some(open) = stack.pop() else { continue };
                if let Some(title) = title_text.take() {
                    let title = collapse(&title);
                    if !title.is_empty() {
                        b.walk.title = Some(title);
                    }
                    continue;
                }
                if open.anchor {
                    b.anchor_depth = b.anchor_depth.saturating_sub(1);
                    b.anchor_blocks.pop();
                    if let Some((href, text)) = b.link_start.take() {
                        b.walk.links.push(Link {
                            href,
                            text,
                            boiler: !b.chrome.is_empty(),
                        });
                    }
                }
                if open.block || open.boiler {
                    b.flush();
                }
                if open.boiler {
                    b.chrome.pop();
                    if open.hard {
                        b.hard_chrome -= 1;
                    }
                }
                if open.content_scope {
                    b.content_depth -= 1;
                }
                if open.pre {
                    b.pre_depth -= 1;
                }
                if open.section {
                    b.section_depth -= 1;
                }
                if open.kind.is_some() {
                    b.kinds.pop();
                }
                if let Some(index) = open.elem {
                    b.block_elem.pop();
                    let last = b.walk.elements.len() as u32 - 1;
                    b.walk.elements[index as usize].last = last;
                }
            }
        }
    }
    b.flush();
    b.walk
}

/// Text that is nothing but HTML tags (`<img height="1" … src=…>`): the content of a
/// `<noscript>` as a page saved from a browser's DOM holds it, escaped into the body's text
/// (tracking pixels, iframe fallbacks). No reader sees it as text.
fn is_serialized_markup(text: &str) -> bool {
    let t = text.trim();
    let b = t.as_bytes();
    if b.len() < 3 || b[0] != b'<' || b[b.len() - 1] != b'>' {
        return false;
    }
    // The first tag must be an element that carries no text of its own (a title written
    // `<The Palace>` is text).
    let name_start = 1 + usize::from(b[1] == b'/');
    let name_len = b[name_start..]
        .iter()
        .position(|c| !c.is_ascii_alphanumeric())
        .unwrap_or(b.len() - name_start);
    let name = &t[name_start..name_start + name_len];
    const MARKUP: &[&str] = &[
        "img", "iframe", "a", "div", "span", "script", "style", "link", "meta", "video", "audio",
        "source", "embed", "object", "param", "br", "input", "form", "ins", "picture", "noscript",
        "p", "svg",
    ];
    if !MARKUP.iter().any(|m| m.eq_ignore_ascii_case(name))
        || !matches!(
            b.get(name_start + name_len),
            Some(b' ' | b'\t' | b'\n' | b'\r' | b'>' | b'/')
        )
    {
        return false;
    }
    let mut in_tag = false;
    for &c in b {
        match c {
            b'<' => in_tag = true,
            b'>' => in_tag = false,
            c if !in_tag && !c.is_ascii_whitespace() => return false,
            _ => {}
        }
    }
    true
}

fn inline() -> Open {
    Open {
        elem: None,
        block: false,
        boiler: false,
        hard: false,
        content_scope: false,
        anchor: false,
        heading: None,
        pre: false,
        section: false,
        kind: None,
    }
}

fn collect_meta(walk: &mut Walk, element: &scraper::node::Element) {
    let mut key = None;
    let mut content = None;
    for (name, value) in element.attrs() {
        match name {
            "name" | "property" | "itemprop" if key.is_none() => {
                key = Some(value.trim().to_ascii_lowercase())
            }
            "content" => content = Some(value),
            _ => {}
        }
    }
    if let (Some(key), Some(content)) = (key, content) {
        let content = collapse(content);
        if !content.is_empty() {
            walk.metas.push((key, content));
        }
    }
}
