//! Choosing the main content among a page's blocks.
//!
//! Company pages (the default) spread their content over many sections: every block outside
//! chrome that is not a link list is main text, except blocks outside `<main>` around it,
//! recirculation sections ("Related services", "Latest insights") and stretches written twice
//! in a row (carousel clones). Articles (`og:type=article`, JSON-LD `Article`)
//! have one body: for news and blog posts (JSON-LD `NewsArticle`, `BlogPosting`) the
//! readability-style best container and its strong siblings, for other articles the deepest
//! element holding most of the prose (comments, related links and teasers fall outside).
//! Pages that read like dated articles without saying so are articles too. The page's title
//! (the heading matching `og:title`, JSON-LD `headline` or `<title>`) anchors the body: chrome
//! by name that holds it and the prose is the body, a body far from it is doubted and
//! re-chosen by the other method, and a body split over sibling containers is joined. An
//! article ends at a teaser or comments heading, unless its paragraphs resume after the teaser
//! box in the same container. A page kept whole that is mostly running prose ends at its last
//! prose paragraph (short lines after it go).

use super::dom::{Block, BlockKind, Walk};

/// Share of the page's prose the content root must hold.
const ROOT_SHARE: f64 = 0.7;

/// Link density above which a block is navigation rather than prose.
const MAX_LINK_DENSITY: f32 = 0.5;

fn weight(block: &Block) -> f64 {
    if block.boiler || block.strict_link_density() > MAX_LINK_DENSITY {
        return 0.0;
    }
    (block.chars - (block.link_chars + block.card_link_chars).min(block.chars)) as f64
}

/// Share of the page's prose above which a class-named chrome element is content after all.
const SOFT_CHROME_OVERRULE: f64 = 0.5;

/// A soft chrome element with a heading, this much prose and a link density below
/// [`SOFT_CHROME_MAX_LINKS`] is content.
const SOFT_CHROME_MIN_PROSE: f64 = 120.0;
const SOFT_CHROME_MAX_LINKS: f64 = 0.25;

/// Settles `Block::boiler`: a block is chrome if a hard chrome element encloses it, or a soft
/// one (named `header`, `menu`, `social` … by class alone) that holds little of the page's
/// prose or reads like navigation. A soft element whose text is prose with headings (CSS-module
/// names such as `sectionHeader_header__x2` on content sections) is content, except on
/// articles, where such blocks are teasers and bylines.
pub(crate) fn settle_chrome(walk: &mut Walk, article: bool) {
    if walk.chrome.is_empty() {
        return;
    }
    let n = walk.chrome.len();
    let (mut prose, mut chars, mut links, mut headings) =
        (vec![0f64; n], vec![0f64; n], vec![0f64; n], vec![0u32; n]);
    let mut total = 0.0;
    for block in &walk.blocks {
        let link_chars = if article {
            (block.link_chars + block.card_link_chars).min(block.chars)
        } else {
            block.link_chars
        };
        let dense = link_chars as f32 > MAX_LINK_DENSITY * block.chars as f32;
        let p = if dense {
            0.0
        } else {
            (block.chars - link_chars) as f64
        };
        total += p;
        if let Some(c) = block.chrome {
            let c = c as usize;
            prose[c] += p;
            chars[c] += block.chars as f64;
            links[c] += link_chars as f64;
            headings[c] += matches!(block.kind, BlockKind::Heading(_)) as u32;
        }
    }
    // Totals flow from each chrome element to the one around it (parents come first).
    for c in (0..n).rev() {
        if let Some(parent) = walk.chrome[c].parent {
            let p = parent as usize;
            prose[p] += prose[c];
            chars[p] += chars[c];
            links[p] += links[c];
            headings[p] += headings[c];
        }
    }
    let holds_body = body_holders(walk, &prose, total);
    let chrome: Vec<bool> = (0..n)
        .map(|c| {
            if holds_body[c] {
                return false;
            }
            let hard = walk.chrome[c].hard;
            if super::boiler::link_box_on_articles(walk.chrome[c].rule)
                && !(article && links[c] > 0.0)
            {
                return false;
            }
            let reads_like_content = !article
                && headings[c] > 0
                && prose[c] >= SOFT_CHROME_MIN_PROSE
                && links[c] < SOFT_CHROME_MAX_LINKS * chars[c];
            hard || !(prose[c] >= SOFT_CHROME_OVERRULE * total || reads_like_content)
        })
        .collect();
    // The innermost chrome element that stays chrome, for each chrome element.
    let mut deciding: Vec<Option<usize>> = vec![None; n];
    for c in 0..n {
        deciding[c] = if chrome[c] {
            Some(c)
        } else {
            walk.chrome[c].parent.and_then(|p| deciding[p as usize])
        };
    }
    for block in &mut walk.blocks {
        let rule = block.chrome.and_then(|c| deciding[c as usize]);
        block.boiler = rule.is_some();
        block.chrome_rule = rule.map_or("", |c| walk.chrome[c].rule);
    }
}

/// Share of the page's prose above which an open `<header>` or `<nav>` is the body.
const OPEN_CHROME_BODY_SHARE: f64 = 0.8;

/// Prose that may lie between the page's title and a chrome element that starts the body.
const TITLE_TO_BODY_PROSE: u64 = 300;

/// `holds[c]`: chrome element `c` holds at least half of the page's prose and holds the page's
/// title, or, when it is named chrome by its class or id only (`share`, `taboola`, `comment`
/// …), starts right after the title (less than [`TITLE_TO_BODY_PROSE`] of prose in between).
/// That element is the article body whatever its name or tag says (`entry share`, a
/// `taboola-container` around the whole story, a `<header>` or `<nav>` left open).
fn body_holders(walk: &Walk, prose: &[f64], total: f64) -> Vec<bool> {
    let n = walk.chrome.len();
    let mut holds = vec![false; n];
    let Some(title) = title_block(walk) else {
        // No title to anchor on: an open `<header>` or `<nav>` that swallowed nearly all the
        // page's prose is still the body.
        if total > 0.0 {
            for c in 0..n {
                let rule = walk.chrome[c].rule;
                holds[c] = (rule == "<header>" || rule == "<nav>")
                    && prose[c] >= OPEN_CHROME_BODY_SHARE * total;
            }
        }
        return holds;
    };
    let candidates: Vec<usize> = (0..n)
        .filter(|&c| {
            let rule = walk.chrome[c].rule;
            (super::boiler::named_by_class(rule) || rule.starts_with('<'))
                && prose[c] >= SOFT_CHROME_OVERRULE * total
                && total > 0.0
        })
        .collect();
    if candidates.is_empty() {
        return holds;
    }
    // The chrome elements around the title, and the first block inside each candidate.
    let ancestors = |mut c: Option<u32>| {
        let mut out = Vec::new();
        while let Some(i) = c {
            out.push(i as usize);
            c = walk.chrome[i as usize].parent;
        }
        out
    };
    let around_title = ancestors(walk.blocks[title].chrome);
    let mut first = vec![usize::MAX; n];
    let mut prose_before = vec![0u64; walk.blocks.len() + 1];
    for (i, b) in walk.blocks.iter().enumerate() {
        let heading = matches!(b.kind, BlockKind::Heading(_));
        prose_before[i + 1] = prose_before[i] + if heading { 0 } else { u64::from(b.chars) };
        for c in ancestors(b.chrome) {
            if first[c] == usize::MAX {
                first[c] = i;
            }
        }
    }
    for c in candidates {
        holds[c] = around_title.contains(&c)
            || (super::boiler::named_by_class(walk.chrome[c].rule)
                && first[c] > title
                && first[c] != usize::MAX
                && prose_before[first[c]] - prose_before[title + 1] < TITLE_TO_BODY_PROSE);
    }
    holds
}

/// The block that is the page's title: the first `<h1>` (else `<h2>`) whose text is, or is
/// part of, the `og:title`, the JSON-LD `headline` or the `<title>`; else the first `<h1>`
/// outside tag chrome (a logo in the site's `<header>` is not the title).
pub(crate) fn title_block(walk: &Walk) -> Option<usize> {
    let mut titles: Vec<String> = Vec::new();
    for (k, v) in &walk.metas {
        if k == "og:title" || k == "twitter:title" {
            titles.push(norm_words(v));
        }
    }
    for ld in &walk.jsonld {
        if let Some(h) = json_string_field(ld, "headline") {
            titles.push(norm_words(&h));
        }
    }
    if let Some(t) = &walk.title {
        titles.push(norm_words(t));
    }
    titles.retain(|t| t.len() >= 8);
    let matches = |b: &Block| {
        let h = norm_words(&b.text);
        h.len() >= 8
            && titles
                .iter()
                .any(|t| t.contains(&h) || h.contains(t.as_str()))
    };
    let heading = |level: u8| {
        walk.blocks
            .iter()
            .position(|b| b.kind == BlockKind::Heading(level) && matches(b))
    };
    heading(1).or_else(|| heading(2)).or_else(|| {
        walk.blocks.iter().position(|b| {
            b.kind == BlockKind::Heading(1)
                && !b
                    .chrome
                    .is_some_and(|c| walk.chrome[c as usize].rule.starts_with('<'))
        })
    })
}

/// Lower-case words of `text` joined by single spaces (punctuation dropped).
fn norm_words(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for word in text
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
    {
        if !out.is_empty() {
            out.push(' ');
        }
        out.extend(word.chars().flat_map(char::to_lowercase));
    }
    out
}

/// The first string value of `"field": "…"` in a JSON text (no full parse: JSON-LD blocks are
/// often invalid, and only one field is wanted).
fn json_string_field(json: &str, field: &str) -> Option<String> {
    let key = format!("\"{field}\"");
    let at = json.find(&key)? + key.len();
    let rest = json[at..].trim_start().strip_prefix(':')?.trim_start();
    let rest = rest.strip_prefix('"')?;
    let mut out = String::new();
    let mut chars = rest.chars();
    while let Some(c) = chars.next() {
        match c {
            '"' => return Some(out),
            '\\' => match chars.next()? {
                'n' | 't' | 'r' => out.push(' '),
                'u' => {
                    let hex: String = chars.by_ref().take(4).collect();
                    out.push(
                        u32::from_str_radix(&hex, 16)
                            .ok()
                            .and_then(char::from_u32)?,
                    );
                }
                other => out.push(other),
            },
            c => out.push(c),
        }
        if out.len() > 1000 {
            return None;
        }
    }
    None
}

/// Whether the page says it is an article (news, blog post): a JSON-LD or microdata
/// (`itemtype`) `Article` / `NewsArticle` / `BlogPosting`, or OpenGraph `og:type=article`
/// unless the JSON-LD calls the page a plain `WebPage` and no meta tag dates it (WordPress SEO
/// plugins mark every page so).
pub(crate) fn is_article(walk: &Walk) -> bool {
    let ld_article = walk.jsonld.iter().any(|ld| {
        [
            "\"Article\"",
            "\"NewsArticle\"",
            "\"BlogPosting\"",
            "\"ReportageNewsArticle\"",
        ]
        .iter()
        .any(|t| ld.contains(t))
    });
    let microdata_article = walk.microdata_types.iter().any(|t| {
        matches!(
            t.as_str(),
            "Article" | "NewsArticle" | "BlogPosting" | "ReportageNewsArticle"
        )
    });
    if ld_article || microdata_article {
        return true;
    }
    let og_article = walk
        .metas
        .iter()
        .any(|(k, v)| k == "og:type" && v.eq_ignore_ascii_case("article"));
    // SEO plugins set `og:type=article` on every page of a site; when the page's own JSON-LD
    // calls it a plain `WebPage` and no publication date is given, it is a page, not an article.
    og_article && (!declared_web_page(walk) || has_publication_date(walk))
}

/// Paragraph text a page needs to read like an article without saying so.
const UNDECLARED_ARTICLE_PROSE: f64 = 1500.0;
/// Paragraphs it needs.
const UNDECLARED_ARTICLE_PARAGRAPHS: usize = 5;

/// A page that does not say it is an article but reads like one: one element below `<body>`
/// holds [`ROOT_SHARE`] of the page's prose, most of it in at least
/// [`UNDECLARED_ARTICLE_PARAGRAPHS`] paragraphs ([`UNDECLARED_ARTICLE_PROSE`] characters,
/// several per heading), and the page's title is in that element. Older blogs and news sites carry no
/// JSON-LD or OpenGraph type; the company-page rules would keep their teasers and comments.
pub(crate) fn reads_like_article(walk: &Walk) -> bool {
    let elements = &walk.elements;
    if elements.is_empty() {
        return false;
    }
    let mut good = vec![0f64; elements.len()];
    let mut para = vec![0f64; elements.len()];
    let mut paragraphs = vec![0f64; elements.len()];
    let mut headings = vec![0f64; elements.len()];
    let mut total = 0.0;
    for block in &walk.blocks {
        let w = weight(block);
        if w == 0.0 {
            continue;
        }
        total += w;
        let e = block.elem as usize;
        if e < elements.len() {
            good[e] += w;
            if matches!(block.kind, BlockKind::Heading(_)) {
                headings[e] += 1.0;
            }
            if block.kind == BlockKind::Paragraph && block.chars >= 40 {
                para[e] += w;
                paragraphs[e] += 1.0;
            }
        }
    }
    up_the_tree(elements, &mut good);
    up_the_tree(elements, &mut para);
    up_the_tree(elements, &mut paragraphs);
    up_the_tree(elements, &mut headings);
    let mut root = 0usize;
    for (i, elem) in elements.iter().enumerate() {
        if good[i] >= ROOT_SHARE * total && elem.depth >= elements[root].depth {
            root = i;
        }
    }
    if matches!(elements[root].tag, super::dom::Tag::Body) || elements[root].depth < 2 {
        return false;
    }
    let title_ok = title_block(walk)
        .is_some_and(|t| walk.blocks[t].elem as usize <= elements[root].last as usize);
    title_ok
        && dated_near_title(walk)
        && para[root] >= UNDECLARED_ARTICLE_PROSE
        && paragraphs[root] >= UNDECLARED_ARTICLE_PARAGRAPHS as f64
        && para[root] >= UNDECLARED_ARTICLE_PARAGRAPH_SHARE * good[root]
        && headings[root] * UNDECLARED_ARTICLE_PARAGRAPHS_PER_HEADING <= paragraphs[root]
}

/// A date as pages write it (`22. Oktober 2019`, `Aug. 16, 2020`, `2020-09-27`, `27/09/2020`).
static DATE: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
    regex::Regex::new(
        r"(?i)\b(?:\d{1,2}[./]\s?\d{1,2}[./]\s?(?:19|20)\d{2}|(?:19|20)\d{2}-\d{2}-\d{2}|\d{1,2}\.?\s+(?:jan|feb|m[aä]r|apr|ma[iy]|juni?|juli?|aug|sep|o[ck]t|nov|d[ei][cz]|janv|f[ée]vr|avr|mai|juin|juil|ao[uû]t|sept|d[ée]c)[a-zéû]*\.?\s+(?:19|20)\d{2}|(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.?\s+\d{1,2},?\s+(?:19|20)\d{2})\b",
    )
    .expect("static regex is valid")
});

fn is_dated(text: &str) -> bool {
    DATE.is_match(text)
}

/// Blocks after the title searched for a date by [`dated_near_title`].
const DATE_SEARCH_BLOCKS: usize = 8;

/// A date written next to the page's title (a publication date, in the metadata or in the
/// few blocks around the title: `22. Oktober 2019`, `Aug. 16, 2020`, `2020-09-27`,
/// `27/09/2020`): what a post or a news story shows and a company page does not.
fn dated_near_title(walk: &Walk) -> bool {
    if has_publication_date(walk) {
        return true;
    }
    let Some(title) = title_block(walk) else {
        return false;
    };
    let from = title.saturating_sub(DATE_SEARCH_BLOCKS / 2);
    walk.blocks[from..]
        .iter()
        .take(DATE_SEARCH_BLOCKS + DATE_SEARCH_BLOCKS / 2)
        .any(|b| b.chars <= 200 && is_dated(&b.text))
}

/// Share of the element's prose in paragraphs, and paragraphs per heading, of an article: a
/// company page is sections (a heading, a line or two, cards), an article runs on.
const UNDECLARED_ARTICLE_PARAGRAPH_SHARE: f64 = 0.7;
const UNDECLARED_ARTICLE_PARAGRAPHS_PER_HEADING: f64 = 3.0;

/// The JSON-LD describes the page as a plain `WebPage`.
fn declared_web_page(walk: &Walk) -> bool {
    walk.jsonld.iter().any(|ld| ld.contains("\"WebPage\""))
}

/// A meta tag gives the date the page was published.
fn has_publication_date(walk: &Walk) -> bool {
    const KEYS: &[&str] = &[
        "article:published_time",
        "pubdate",
        "publish-date",
        "date",
        "dc.date",
        "dc.date.issued",
        "sailthru.date",
        "parsely-pub-date",
    ];
    walk.metas.iter().any(|(k, _)| KEYS.contains(&k.as_str()))
}

/// A news or blog article by its JSON-LD type: for these the tighter readability choice beats
/// the prose-share root (measured on the Zyte article set: F1 0.971 vs 0.968); plain `Article`
/// and `og:type=article` are also set by many company sites on every page.
fn news_article(walk: &Walk) -> bool {
    walk.jsonld.iter().any(|ld| {
        [
            "\"NewsArticle\"",
            "\"BlogPosting\"",
            "\"ReportageNewsArticle\"",
        ]
        .iter()
        .any(|t| ld.contains(t))
    })
}

/// `main[i]` for every block `i`. An article's main text is its content root alone; on other
/// pages (company, product, pricing pages) content is spread over sections, and every block
/// outside chrome that is not a link list counts.
pub(crate) fn main_blocks(walk: &Walk, article: bool) -> Vec<bool> {
    if !article {
        // Class-named chrome inside `<main>` is mostly content (63 % of its words on WCXB).
        // Linked card titles (h3-h5), table cells, quotes and paragraphs inside `<main>` are
        // content even when they are links (61-100 % of their words on WCXB); link lists are not.
        return walk
            .blocks
            .iter()
            .map(|b| {
                let linked_content = match b.kind {
                    BlockKind::Heading(3..=5) | BlockKind::Cell | BlockKind::Quote => true,
                    BlockKind::Paragraph => b.in_content,
                    _ => false,
                };
                (!b.boiler
                    || (b.in_content
                        && !walk.chrome_hard(b)
                        && !super::boiler::stays_chrome_in_main(b.chrome_rule)))
                    && (b.link_density() <= MAX_LINK_DENSITY || linked_content)
                    // Code on a marketing page is a product mock-up (7 % of it in WCXB's text).
                    && b.kind != BlockKind::Preformatted
                    && !is_legal_line(&b.text)
                    && !is_cookie_notice(&b.text)
                    && !is_marquee(&b.text)
            })
            .collect();
    }
    let elements = &walk.elements;
    let mut good = vec![0f64; elements.len()];
    let mut total = 0.0;
    for block in &walk.blocks {
        let w = weight(block);
        if w == 0.0 {
            continue;
        }
        total += w;
        if let Some(g) = good.get_mut(block.elem as usize) {
            *g += w;
        }
    }
    let own = good.clone();
    up_the_tree(elements, &mut good);
    let keep = |b: &Block| {
        !b.boiler
            && b.strict_link_density() <= MAX_LINK_DENSITY
            && !is_legal_line(&b.text)
            && !is_cookie_notice(&b.text)
    };
    if total == 0.0 || elements.is_empty() {
        return walk.blocks.iter().map(keep).collect();
    }
    let mut root = 0usize;
    for (i, elem) in elements.iter().enumerate() {
        if good[i] >= ROOT_SHARE * total && elem.depth >= elements[root].depth {
            root = i;
        }
    }
    // A body is never one leaf element: when the densest element holds its prose directly (one
    // `<p>` or `<div>` of `<br>`-separated lines, a list typed into one paragraph), the article
    // is its parent, which also holds the intro paragraphs beside it.
    if own[root] >= good[root] {
        let parent = elements[root].parent as usize;
        if parent != root && elements[parent].tag != super::dom::Tag::Body {
            root = parent;
        }
    }
    let news = news_article(walk);
    let mut ranges: Vec<(u32, u32)> = if news {
        readability_roots(walk)
    } else {
        // An article that does not say so (see `reads_like_article`) has no tagged body: its
        // title and intro are the body's start. Declared articles keep the densest element
        // (their standfirsts, captions and key-point boxes around it are not body text).
        let root = if is_article(walk) {
            root
        } else {
            holding_title(walk, root)
        };
        vec![(root as u32, elements[root].last)]
    };
    join_split_body(walk, &mut ranges);
    let select = |ranges: &[(u32, u32)]| -> Vec<bool> {
        walk.blocks
            .iter()
            .map(|b| {
                keep(b)
                    && ranges
                        .iter()
                        .any(|&(first, last)| b.elem >= first && b.elem <= last)
            })
            .collect()
    };
    let main = select(&ranges);
    let first = confidence(walk, &main);
    if first.confident() {
        return main;
    }
    // Not sure: the other method (the densest element for news, readability's choice for
    // other articles) decides when it is surer.
    let mut other: Vec<(u32, u32)> = if news {
        vec![(root as u32, elements[root].last)]
    } else {
        readability_roots(walk)
    };
    join_split_body(walk, &mut other);
    let second_main = select(&other);
    let second = confidence(walk, &second_main);
    if second.better_than(&first) {
        second_main
    } else {
        main
    }
}

/// Prose an article body has at least, below which the choice is doubted.
const CONFIDENT_PROSE: u64 = 400;
/// Link density of a body above which the choice is doubted (a teaser list).
const CONFIDENT_MAX_LINKS: f64 = 0.3;

/// How sure a choice of article body is.
struct Confidence {
    prose: u64,
    link_density: f64,
    /// The title is in the body or right before it (see [`TITLE_TO_BODY_PROSE`]), or the page
    /// names no title.
    near_title: bool,
}

impl Confidence {
    fn confident(&self) -> bool {
        self.prose >= CONFIDENT_PROSE && self.link_density <= CONFIDENT_MAX_LINKS && self.near_title
    }

    fn better_than(&self, other: &Confidence) -> bool {
        let score = |c: &Confidence| {
            (c.prose >= CONFIDENT_PROSE) as u8
                + (c.link_density <= CONFIDENT_MAX_LINKS) as u8
                + c.near_title as u8
        };
        // A long, clean body far from the title is only replaced by a much longer one: the
        // title may be matched above a byline and a picture.
        let other_sound =
            other.prose >= CONFIDENT_PROSE && other.link_density <= CONFIDENT_MAX_LINKS;
        (score(self) > score(other) && (!other_sound || self.prose * 2 >= other.prose * 3))
            || (score(self) == score(other) && self.prose > other.prose * 2)
    }
}

fn confidence(walk: &Walk, main: &[bool]) -> Confidence {
    let (mut prose, mut chars, mut links) = (0u64, 0u64, 0u64);
    let mut first = None;
    for (i, b) in walk.blocks.iter().enumerate().filter(|(i, _)| main[*i]) {
        first.get_or_insert(i);
        chars += u64::from(b.chars);
        links += u64::from((b.link_chars + b.card_link_chars).min(b.chars));
        if !matches!(b.kind, BlockKind::Heading(_)) {
            prose += u64::from(b.chars);
        }
    }
    let near_title = match (title_block(walk), first) {
        (None, _) => true,
        (Some(_), None) => false,
        (Some(t), Some(f)) => {
            main[t]
                || (f > t && {
                    let between: u64 = walk.blocks[t + 1..f]
                        .iter()
                        .filter(|b| !b.boiler && b.strict_link_density() <= MAX_LINK_DENSITY)
                        .map(|b| u64::from(b.chars))
                        .sum();
                    between < TITLE_TO_BODY_PROSE
                })
        }
    };
    Confidence {
        prose,
        link_density: if chars == 0 {
            0.0
        } else {
            links as f64 / chars as f64
        },
        near_title,
    }
}

/// The body is the element that holds the page's title and its prose: `root`, or the nearest
/// element around it that also holds the title when the title comes before it (an intro, a
/// standfirst or a first section between the title and the densest element belong to the
/// body).
fn holding_title(walk: &Walk, root: usize) -> usize {
    let elements = &walk.elements;
    let Some(title) = title_block(walk).map(|t| walk.blocks[t].elem as usize) else {
        return root;
    };
    if title >= root {
        return root;
    }
    let mut e = root;
    while !(e <= title && title <= elements[e].last as usize) {
        let parent = elements[e].parent as usize;
        if parent == e {
            return root;
        }
        e = parent;
    }
    e
}

/// How many levels above the chosen body [`join_split_body`] looks for the rest of it.
const JOIN_LEVELS: usize = 3;

/// Joins an article body split across sibling containers (a paywall or ad slot every few
/// paragraphs: `<div class=column><p>…</div><div class=ad/><div class=column><p>…</div>`):
/// going up from the chosen body, the siblings of each ancestor whose text is paragraphs
/// (at least [`JOINED_PARAGRAPH_SHARE`] of it, link density under [`JOINED_MAX_LINKS`], at
/// least [`JOINED_MIN_PARAGRAPHS`] paragraphs, [`JOINED_MIN_PROSE`] characters and
/// [`JOINED_MIN_SHARE`] of the body chosen so far) are body too. The walk stops at the element that
/// holds the page's title (the article itself) and at `<body>`: teaser lists, which are
/// headings and links, never qualify.
fn join_split_body(walk: &Walk, ranges: &mut Vec<(u32, u32)>) {
    let Some(&(first, _)) = ranges.first() else {
        return;
    };
    let elements = &walk.elements;
    let n = elements.len();
    let (mut chars, mut para, mut links) = (vec![0f64; n], vec![0f64; n], vec![0f64; n]);
    let mut paragraphs = vec![0f64; n];
    for b in walk.blocks.iter().filter(|b| !b.boiler) {
        let e = b.elem as usize;
        if e >= n {
            continue;
        }
        chars[e] += f64::from(b.chars);
        links[e] += f64::from((b.link_chars + b.card_link_chars).min(b.chars));
        if matches!(b.kind, BlockKind::Paragraph | BlockKind::Quote) {
            para[e] += f64::from(b.chars);
            paragraphs[e] += 1.0;
        }
    }
    up_the_tree(elements, &mut chars);
    up_the_tree(elements, &mut para);
    up_the_tree(elements, &mut links);
    up_the_tree(elements, &mut paragraphs);
    let title_elem = title_block(walk).map(|t| walk.blocks[t].elem);
    let holds = |e: usize, x: u32| e as u32 <= x && x <= elements[e].last;
    let chosen_chars: f64 = ranges.iter().map(|&(f, _)| chars[f as usize]).sum();
    let mut e = first as usize;
    for _ in 0..JOIN_LEVELS {
        let parent = elements[e].parent as usize;
        if parent == e || elements[parent].tag == super::dom::Tag::Body {
            break;
        }
        let mut child = parent + 1;
        while child <= elements[parent].last as usize {
            let last = elements[child].last;
            // Inside the chosen body, or around it (an ancestor of the body's root).
            let chosen = ranges.iter().any(|&(f, l)| {
                (f as usize <= child && child <= l as usize) || (child <= f as usize && f <= last)
            });
            let article_like = chars[child] >= JOINED_MIN_PROSE
                && chars[child] >= JOINED_MIN_SHARE * chosen_chars
                && paragraphs[child] >= JOINED_MIN_PARAGRAPHS
                && para[child] >= JOINED_PARAGRAPH_SHARE * chars[child]
                && links[child] <= JOINED_MAX_LINKS * chars[child];
            if !chosen && article_like {
                ranges.push((child as u32, last));
            }
            child = last as usize + 1;
        }
        if title_elem.is_some_and(|t| holds(parent, t)) {
            break;
        }
        e = parent;
    }
}

/// What makes a sibling container part of a split article body (see [`join_split_body`]).
const JOINED_PARAGRAPH_SHARE: f64 = 0.6;
const JOINED_MAX_LINKS: f64 = 0.2;
const JOINED_MIN_PROSE: f64 = 200.0;
/// A sibling smaller than this share of the chosen body is a summary, a caption or a bio.
const JOINED_MIN_SHARE: f64 = 0.1;
/// A lone paragraph beside the body is a caption, a summary or an author's bio.
const JOINED_MIN_PARAGRAPHS: f64 = 2.0;

/// Readability's choice: paragraphs vote for their parent (full score) and grandparent (half);
/// the best-scored element, discounted by its link density, is the article body, together
/// with siblings that scored at least a fifth of it.
fn readability_roots(walk: &Walk) -> Vec<(u32, u32)> {
    let elements = &walk.elements;
    let n = elements.len();
    let mut score = vec![0f64; n];
    let mut chars = vec![0f64; n];
    let mut links = vec![0f64; n];
    for block in &walk.blocks {
        if block.boiler {
            continue;
        }
        // Link density of every element, over all its text.
        if let Some(c) = chars.get_mut(block.elem as usize) {
            *c += block.chars as f64;
            links[block.elem as usize] += (block.link_chars + block.card_link_chars) as f64;
        }
        if block.chars < 25 || block.strict_link_density() > MAX_LINK_DENSITY {
            continue;
        }
        let commas = block.text.matches([',', '，', '、']).count() as f64;
        let s = 1.0 + commas + (block.chars as f64 / 100.0).min(3.0);
        let own = block.elem as usize;
        let mut e = if block.kind == super::dom::BlockKind::Other {
            own
        } else {
            elements[own].parent as usize
        };
        for level in 0..3 {
            score[e] += s / [1.0, 2.0, 6.0][level];
            let parent = elements[e].parent as usize;
            if parent == e {
                break;
            }
            e = parent;
        }
    }
    up_the_tree(elements, &mut chars);
    up_the_tree(elements, &mut links);
    let adjusted = |i: usize| {
        if chars[i] == 0.0 {
            0.0
        } else {
            score[i] * (1.0 - links[i] / chars[i])
        }
    };
    let Some(top) = (0..n).max_by(|&a, &b| adjusted(a).total_cmp(&adjusted(b))) else {
        return Vec::new();
    };
    let top_score = adjusted(top);
    let parent = elements[top].parent as usize;
    if parent == top {
        return vec![(top as u32, elements[top].last)];
    }
    let threshold = (top_score * 0.2).max(10.0);
    let mut roots = Vec::new();
    // Children of the parent: elements whose parent is `parent`.
    let mut i = parent + 1;
    while i <= elements[parent].last as usize {
        let last = elements[i].last as usize;
        if i == top || adjusted(i) >= threshold {
            roots.push((i as u32, last as u32));
        }
        i = last + 1;
    }
    roots
}

/// The longest period [`drop_repeats`] looks for, in main blocks.
const MAX_REPEAT_PERIOD: usize = 200;

/// Drops main blocks that repeat the sequence of main blocks just before them: a carousel's
/// cloned slides, a marquee written twice, a section rendered once per breakpoint. A run of
/// blocks equal to the run `period` blocks earlier is dropped when it is at least `period` long,
/// i.e. when a whole stretch of the page is written again right after itself. Text that recurs
/// with other text in between (the same feature listed in every plan of a pricing table, "Learn
/// more" under every card) is kept: it is content each time.
pub(crate) fn drop_repeats(blocks: &[Block], main: &mut [bool]) {
    let idx: Vec<usize> = (0..blocks.len()).filter(|&i| main[i]).collect();
    let mut ids = std::collections::HashMap::new();
    let seq: Vec<u32> = idx
        .iter()
        .map(|&i| {
            let next = ids.len() as u32;
            *ids.entry(blocks[i].text.as_str()).or_insert(next)
        })
        .collect();
    let n = seq.len();
    let mut drop = vec![false; n];
    for period in 1..=MAX_REPEAT_PERIOD.min(n / 2) {
        let mut q = period;
        while q < n {
            if seq[q] != seq[q - period] {
                q += 1;
                continue;
            }
            let start = q;
            while q < n && seq[q] == seq[q - period] {
                q += 1;
            }
            if q - start >= period {
                drop[start..q].iter_mut().for_each(|d| *d = true);
            }
        }
    }
    for (&i, _) in idx.iter().zip(&drop).filter(|(_, d)| **d) {
        main[i] = false;
    }
}

/// Share of a page's kept prose one element must hold for [`trim_outside_root`] (0.9 and 0.93
/// cost WCXB dev 0.0019 and nothing; 0.95 gains on every part).
const ROOT_TRIM_SHARE: f64 = 0.95;

/// On a page kept whole (not an article) whose prose nearly all sits in one element below
/// `<body>` (the deepest holding [`ROOT_TRIM_SHARE`] of it), the main blocks outside that
/// element are chrome no rule named: a feedback prompt, a "back to the start page" link, a
/// newsletter line, a site's notice above the story. Company pages spread their prose over
/// sections and wrappers around all of them, and are left alone.
pub(crate) fn trim_outside_root(walk: &Walk, main: &mut [bool]) {
    let elements = &walk.elements;
    if elements.is_empty() {
        return;
    }
    let mut good = vec![0f64; elements.len()];
    let mut total = 0.0;
    for (b, _) in walk.blocks.iter().zip(main.iter()).filter(|(_, m)| **m) {
        let w = weight(b);
        total += w;
        if let Some(g) = good.get_mut(b.elem as usize) {
            *g += w;
        }
    }
    if total == 0.0 {
        return;
    }
    up_the_tree(elements, &mut good);
    let share = ROOT_TRIM_SHARE;
    let mut root = 0usize;
    for (i, elem) in elements.iter().enumerate() {
        if good[i] >= share * total && elem.depth >= elements[root].depth {
            root = i;
        }
    }
    if matches!(elements[root].tag, super::dom::Tag::Body) || elements[root].depth < 2 {
        return;
    }
    let last = elements[root].last;
    let before = main.to_vec();
    for (b, m) in walk.blocks.iter().zip(main.iter_mut()) {
        if b.elem < root as u32 || b.elem > last {
            *m = false;
        }
    }
    restore_lead(walk, &before, main);
}

/// After [`trim_outside_root`]: the prose paragraphs kept before the trim that lie between the
/// page's title and the text element (an intro set above the element holding the rest) stay,
/// as on articles (see [`extend_to_lead`]).
fn restore_lead(walk: &Walk, before: &[bool], main: &mut [bool]) {
    let Some(first) = main.iter().position(|m| *m) else {
        return;
    };
    // Only between a title and the element: without one, what precedes is not known to be
    // an intro.
    let Some(title) = title_block(walk).filter(|&t| t < first) else {
        return;
    };
    let mut added = 0;
    for i in (title + 1..first).rev() {
        let b = &walk.blocks[i];
        if !before[i] {
            continue;
        }
        if b.kind != BlockKind::Paragraph
            || b.chars < LEAD_MIN_PARAGRAPH
            || b.strict_link_density() > LEAD_MAX_LINKS
            || (b.chars <= 200 && is_dated(&b.text))
        {
            break;
        }
        main[i] = true;
        added += 1;
        if added == LEAD_MAX_BLOCKS {
            break;
        }
    }
}

/// Main text under which a page's selection is doubted by [`rescue_short_text`].
const RESCUE_MAX_MAIN: u64 = 1000;
/// Text the chrome that [`rescue_short_text`] takes in must hold, at least, and how many times
/// the main text.
const RESCUE_MIN_PROSE: u64 = 1000;
const RESCUE_MIN_RATIO: u64 = 3;
/// A line of prose, for [`rescue_short_text`]: this long, and this little of it linked.
const RESCUE_LINE: u32 = 80;
const RESCUE_LINE_LINKS: f32 = 0.2;

/// When the main text came out tiny (under [`RESCUE_MAX_MAIN`] characters: a title, a login
/// prompt, a score line) while the page's prose sits in elements named chrome by their class
/// or caption tag (a forum thread in `comment` boxes, a live ticker in a `comment` list, a tip
/// in a `print` box, a picture gallery told in `<figcaption>`s), that prose is the page's text:
/// the chrome rule (class token or tag) whose blocks hold the most prose in long, unlinked
/// lines, at least [`RESCUE_MIN_PROSE`] and [`RESCUE_MIN_RATIO`] times the main text, joins
/// the main text. The site's frame (`<nav>`, `<header>`, `<footer>`, `<aside>`, landmark
/// roles) never does: a home page's short text stays short.
pub(crate) fn rescue_short_text(blocks: &[Block], main: &mut [bool]) {
    let kept: u64 = blocks
        .iter()
        .zip(main.iter())
        .filter(|(_, m)| **m)
        .map(|(b, _)| u64::from(b.chars))
        .sum();
    if kept >= RESCUE_MAX_MAIN {
        return;
    }
    let mut prose: Vec<(&'static str, u64)> = Vec::new();
    for (b, _) in blocks.iter().zip(main.iter()).filter(|(_, m)| !**m) {
        let rule = b.chrome_rule;
        if rule.is_empty()
            || super::boiler::site_frame(rule)
            || b.chars < RESCUE_LINE
            || b.link_density() >= RESCUE_LINE_LINKS
        {
            continue;
        }
        match prose.iter_mut().find(|(r, _)| *r == rule) {
            Some((_, p)) => *p += u64::from(b.chars),
            None => prose.push((rule, u64::from(b.chars))),
        }
    }
    let Some(&(rule, most)) = prose.iter().max_by_key(|(_, p)| *p) else {
        return;
    };
    if most < RESCUE_MIN_PROSE || most < RESCUE_MIN_RATIO * kept {
        return;
    }
    for (b, m) in blocks.iter().zip(main.iter_mut()) {
        if b.chrome_rule == rule && b.link_density() <= MAX_LINK_DENSITY {
            *m = true;
        }
    }
}

/// Shortest paragraph that counts as running prose for [`drop_trailing_lines`].
const TAIL_PROSE_PARAGRAPH: u32 = 80;
/// Share of a page's kept text its running prose must be for [`drop_trailing_lines`].
const TAIL_PROSE_SHARE: f64 = 0.7;
/// Longest heading or plain line [`drop_trailing_lines`] drops.
const TAIL_MAX_CHARS: u32 = 40;

/// On a page kept whole that is mostly running prose, the short headings and plain lines after
/// its last prose paragraph are what follows a text, not part of it: "Kontakt", "Weitere
/// Informationen", "Heute empfehlen wir", a permalink, a date stamp, a label over links
/// another rule dropped. List items, table cells and paragraphs stay (ingredients, figures,
/// a sign-off).
pub(crate) fn drop_trailing_lines(blocks: &[Block], main: &mut [bool]) {
    let (mut all, mut prose) = (0u64, 0u64);
    let mut last = None;
    for (i, b) in blocks.iter().enumerate().filter(|(i, _)| main[*i]) {
        all += u64::from(b.chars);
        if b.kind == BlockKind::Paragraph && b.chars >= TAIL_PROSE_PARAGRAPH {
            prose += u64::from(b.chars);
            last = Some(i);
        }
    }
    let Some(last) = last else { return };
    if (prose as f64) < TAIL_PROSE_SHARE * all as f64 {
        return;
    }
    for (b, m) in blocks.iter().zip(main.iter_mut()).skip(last + 1) {
        if b.chars < TAIL_MAX_CHARS && matches!(b.kind, BlockKind::Heading(_) | BlockKind::Other) {
            *m = false;
        }
    }
}

/// On an article that is mostly running prose ([`TAIL_PROSE_SHARE`]) and ends in a tail made
/// only of short headings and plain lines after its last prose paragraph ("Temas", "Kontakt:",
/// "Die Karte zum Abspeichern:", a date stamp, a picture agency), the tail goes: it is what the
/// page sets after the story. A tail that holds a list, a table or a longer line is left
/// whole (a recipe's steps, a fact box).
pub(crate) fn drop_article_tail(blocks: &[Block], main: &mut [bool]) {
    let (mut all, mut prose) = (0u64, 0u64);
    let mut last = None;
    for (i, b) in blocks.iter().enumerate().filter(|(i, _)| main[*i]) {
        all += u64::from(b.chars);
        if b.kind == BlockKind::Paragraph && b.chars >= TAIL_PROSE_PARAGRAPH {
            prose += u64::from(b.chars);
            last = Some(i);
        }
    }
    let Some(last) = last else { return };
    if (prose as f64) < TAIL_PROSE_SHARE * all as f64 {
        return;
    }
    let short = |b: &Block| {
        b.chars < TAIL_MAX_CHARS && matches!(b.kind, BlockKind::Heading(_) | BlockKind::Other)
    };
    let tail = || (last + 1..blocks.len()).filter(|&i| main[i]);
    if tail().all(|i| short(&blocks[i])) {
        for i in tail().collect::<Vec<_>>() {
            main[i] = false;
        }
    }
}

/// Blocks before a code block [`keep_code_in_prose`] looks at for a prose paragraph.
const CODE_PROSE_WINDOW: usize = 2;

/// On a page kept whole, code is dropped as a product mock-up (see [`main_blocks`]), except a
/// code block set right after a prose paragraph of the main text (within
/// [`CODE_PROSE_WINDOW`] blocks): documentation, a README, a programmer's blog post, where the
/// text introduces the command or the listing.
pub(crate) fn keep_code_in_prose(blocks: &[Block], main: &mut [bool]) {
    let before = main.to_vec();
    for (i, b) in blocks.iter().enumerate() {
        if b.kind != BlockKind::Preformatted
            || before[i]
            || b.boiler
            || b.link_density() >= MAX_LINK_DENSITY
        {
            continue;
        }
        let introduced = (i.saturating_sub(CODE_PROSE_WINDOW)..i).any(|j| {
            before[j]
                && blocks[j].kind == BlockKind::Paragraph
                && blocks[j].chars >= TAIL_PROSE_PARAGRAPH
        });
        if introduced {
            main[i] = true;
        }
    }
}

/// Where a company page's content sits in `<main>` (or `<article>`), blocks outside it before
/// its `<h1>` (alert bars, promo strips, account links) and after it (sign-up and contact bands)
/// are chrome that no rule named.
pub(crate) fn trim_outside_content(blocks: &[Block], main: &mut [bool]) {
    let (mut all, mut inside) = (0u64, 0u64);
    for (b, _) in blocks.iter().zip(main.iter()).filter(|(_, m)| **m) {
        all += u64::from(b.chars);
        inside += u64::from(b.chars) * u64::from(b.in_content);
    }
    let h1 = (0..blocks.len()).find(|&i| main[i] && blocks[i].kind == BlockKind::Heading(1));
    if let Some(h1) = h1.filter(|&i| blocks[i].in_content) {
        for i in 0..h1 {
            main[i] &= blocks[i].in_content;
        }
    }
    if inside * 2 >= all && inside > 0 {
        if let Some(last) = blocks.iter().rposition(|b| b.in_content) {
            main[last + 1..].iter_mut().for_each(|m| *m = false);
        }
    }
}

/// Drops sections whose heading announces recirculation rather than the page's own content
/// ("Related services", "Latest insights", "From the blog", "You may also like"): everything
/// from such a heading (h1-h3) to the next heading of the same or a higher level.
pub(crate) fn drop_teaser_sections(blocks: &[Block], main: &mut [bool]) {
    let mut i = 0;
    while i < blocks.len() {
        let level = match blocks[i].kind {
            BlockKind::Heading(level) if main[i] && level <= 3 => level,
            _ => {
                i += 1;
                continue;
            }
        };
        if !is_teaser_heading(&blocks[i].text) {
            i += 1;
            continue;
        }
        main[i] = false;
        i += 1;
        while i < blocks.len() {
            if main[i] && matches!(blocks[i].kind, BlockKind::Heading(l) if l <= level) {
                break;
            }
            main[i] = false;
            i += 1;
        }
    }
}

/// A teaser's excerpt: text cut off with an ellipsis and a "read more" link ("Auskunft über
/// vergangenes Wetter… mehr", "… weiterlesen", "... read more").
fn is_teaser_excerpt(text: &str) -> bool {
    const MORE: &[&str] = &[
        "mehr",
        "weiterlesen",
        "weiter lesen",
        "read more",
        "more",
        "lire la suite",
        "leer más",
        "continua",
        "czytaj więcej",
    ];
    if text.len() > 1500 {
        return false;
    }
    let lower = text.to_lowercase();
    let trimmed = lower.trim_end_matches(|c: char| !c.is_alphanumeric());
    MORE.iter().any(|m| {
        trimmed.strip_suffix(m).is_some_and(|rest| {
            let rest = rest.trim_end();
            rest.ends_with('…') || rest.ends_with("...") || rest.ends_with("[…]")
        })
    })
}

/// Longest line [`drop_calls_to_action`] drops.
const CALL_TO_ACTION_MAX_CHARS: u32 = 250;

/// Calls to action as articles word them, lower-cased: subscribe, read on behind the paywall,
/// support the publication, follow it elsewhere, write in or say whether the piece pleased.
const CALLS_TO_ACTION: &[&str] = &[
    // Subscribe.
    "subscribe to our",
    "subscribe now",
    "sign up for our",
    "sign up here",
    "sign up to our",
    "never miss",
    "newsletter abonnieren",
    "abonnieren sie",
    "jetzt abonnieren",
    "nichts neues verpassen",
    "keinen beitrag verpassen",
    "keinen weiteren beitrag verpassen",
    "abonnez-vous",
    "inscrivez-vous",
    "suscríbete",
    "suscribete",
    "iscriviti",
    "zapisz się",
    "zapraszamy",
    // Read on behind a paywall.
    "to continue reading",
    "weiterlesen mit",
    "pour lire la suite",
    "accéder en illimité",
    "cancela cuando quieras",
    // Support.
    "support our",
    "support independent",
    "consider supporting",
    "unterstützen sie",
    "unterstütze uns",
    "unterstütze unser",
    "soutenez",
    "apoya nuestro",
    // Follow.
    "follow us on",
    "folgen sie uns",
    "folge uns",
    "suivez-nous",
    "síguenos",
    "seguici",
    "únete",
    "canal de youtube",
    "canal de telegram",
    // Write in, say whether it pleased.
    "letter to the editor",
    "what you think about this",
    "let us know in the comments",
    "let us know what you think",
    "sagen sie uns ihre meinung",
    "if you enjoyed",
    "enjoyed reading",
    "gefällt dir unser",
    "gefällt ihnen unser",
    "hat ihnen der artikel gefallen",
    "ihnen hat der artikel gefallen",
    "do you want to be informed",
];

/// A short line that asks the reader to subscribe, pay, support, follow or write in (see
/// [`CALLS_TO_ACTION`]).
fn is_call_to_action(block: &Block) -> bool {
    if block.chars > CALL_TO_ACTION_MAX_CHARS {
        return false;
    }
    let lower = block.text.to_lowercase();
    CALLS_TO_ACTION.iter().any(|c| lower.contains(c))
}

/// On an article, the publisher's calls to action set into the body ("Unterstützen Sie
/// unabhängigen Journalismus!", "If you enjoyed reading this post, would you consider
/// supporting our work?", "Submit a letter to the editor", "Pour lire la suite…") are not the
/// story's text. Company pages keep theirs: there a newsletter or a follow-us line is often the
/// page's own content.
pub(crate) fn drop_calls_to_action(blocks: &[Block], main: &mut [bool]) {
    for (b, m) in blocks.iter().zip(main.iter_mut()) {
        if *m && is_call_to_action(b) {
            *m = false;
        }
    }
}

/// What a consent manager writes in place of an embedded post or video until the reader
/// allows it, lower-cased ("Externer Inhalt", "Wir respektieren deine Privatsphäre und
/// stellen deshalb ohne dein Einverständnis keine Verbindung zu Twitter her", "Switch zum
/// Einwilligen bzw. Ablehnen des Dienstes Youtube", "Click to load").
const EMBED_PLACEHOLDERS: &[&str] = &[
    "externer inhalt",
    "externe inhalte",
    "externen inhalt",
    "inhalte von twitter",
    "laden der inhalte",
    "automatische laden",
    "inhalt laden",
    "inhalte laden",
    "datenschutzerklärung von",
    "respektieren deine privatsphäre",
    "respektieren ihre privatsphäre",
    "switch zum einwilligen",
    "click to load",
    "load external content",
    "show external content",
    "third-party content",
    "third party content",
    "contenido externo",
    "contenu externe",
    "contenuto esterno",
];

/// Longest consent placeholder [`is_embed_placeholder`] recognises, in bytes.
const EMBED_PLACEHOLDER_MAX_BYTES: usize = 400;

/// A consent manager's placeholder for embedded content (see [`EMBED_PLACEHOLDERS`]), or its
/// button ("Twitter freischalten"): chrome, like a cookie notice.
fn is_embed_placeholder(text: &str) -> bool {
    if text.len() > EMBED_PLACEHOLDER_MAX_BYTES {
        return false;
    }
    let lower = text.to_lowercase();
    (text.chars().count() <= 40 && lower.contains("freischalten"))
        || EMBED_PLACEHOLDERS.iter().any(|p| lower.contains(p))
}

/// Labels of a table of contents, lower-cased.
const CONTENTS_LABELS: &[&str] = &[
    "inhalt",
    "inhalte",
    "inhaltsverzeichnis",
    "auf dieser seite",
    "table of contents",
    "contents",
    "in this article",
    "on this page",
    "sommaire",
    "table des matières",
    "índice",
    "indice",
    "contenido",
    "spis treści",
];

/// The label over a table of contents ("Inhalt", "Inhaltsverzeichnis", "Table of contents"):
/// the entries are links, dropped as such; the label is left dangling.
fn is_contents_label(text: &str) -> bool {
    if text.chars().count() > 30 {
        return false;
    }
    let lower = text.trim().to_lowercase();
    let label = lower.trim_end_matches(|c: char| !c.is_alphanumeric());
    CONTENTS_LABELS.contains(&label)
}

/// Labels of the page's controls rather than its text, lower-cased: permalinks, picture and
/// print buttons, "read more", an empty comment count, sort orders, "back to top".
const INTERFACE_LABELS: &[&str] = &[
    "permalink",
    "permalien",
    "bild anzeigen",
    "bilder anzeigen",
    "show image",
    "view image",
    "weiterlesen",
    "read more",
    "mehr lesen",
    "lire la suite",
    "leer más",
    "continua a leggere",
    "keine kommentare",
    "no comments",
    "0 kommentare",
    "0 comments",
    "kommentar schreiben",
    "write a comment",
    "leave a comment",
    "kommentieren",
    "sorted by",
    "sortiert nach",
    "drucken",
    "print",
    "zum weiterlesen",
    "further reading",
    "pdf",
    "download",
    "herunterladen",
    "zurück",
    "back",
    "nach oben",
    "back to top",
    "top",
];

/// A line (up to 40 characters) that labels one of the page's controls (see
/// [`INTERFACE_LABELS`]), or offers the page as a PDF download ("Dieses Skript als PDF
/// herunterladen").
fn is_interface_label(text: &str) -> bool {
    if text.chars().count() > 40 {
        return false;
    }
    let lower = text.trim().to_lowercase();
    let label = lower.trim_matches(|c: char| !c.is_alphanumeric());
    INTERFACE_LABELS.contains(&label)
        || (label.contains("pdf")
            && (label.contains("herunterladen") || label.contains("download")))
}

/// What a page says to a reader who is not logged in, lower-cased ("Sie sind aktuell nicht
/// eingeloggt", "You must be logged in to post a comment", "connectez-vous ici").
const LOGIN_PROMPTS: &[&str] = &[
    "eingeloggt",
    "einloggen",
    "melden sie sich an, um",
    "angemeldet sein",
    "logged in to",
    "must be logged in",
    "log in to comment",
    "log in to reply",
    "log in to post",
    "connecté pour",
    "connectez-vous",
    "inicia sesión para",
    "iniciar sesión para",
    "zaloguj się",
    // A form's instructions (WordPress's comment form says both in every language).
    "pflichtfeld",
    "required fields",
    "champs obligatoires",
    "campos obligatorios",
    "campi obbligatori",
    "wymagane pola",
    "will not be published",
    "wird nicht veröffentlicht",
    "ne sera pas publiée",
    "no será publicada",
    "non sarà pubblicato",
    "nie zostanie opublikowany",
    "captcha",
];

/// A login prompt or a form's instructions (see [`LOGIN_PROMPTS`]), up to 120 characters:
/// chrome of the comment or account box, wherever it is set.
fn is_login_prompt(text: &str) -> bool {
    if text.chars().count() > 120 {
        return false;
    }
    let lower = text.to_lowercase();
    LOGIN_PROMPTS.iter().any(|p| lower.contains(p))
}

/// Longest text of a teaser, comments or reader-prompt label.
const LABEL_MAX_CHARS: u32 = 60;

/// Drops teaser excerpts (text cut off with an ellipsis and a "read more" link) and the short
/// labels that announce recirculation or comments, marked up as headings or not (`<div class=title>Das könnte Sie auch interessieren</div>`, `<p>Comments</p>`, an
/// `<h4>Lesen Sie auch</h4>` inside an article), and the prompts asking the reader to share
/// or rate the page, and a server's error messages: what they announce is left to the other
/// rules, the label is not text of the page's own.
pub(crate) fn drop_teaser_labels(blocks: &[Block], main: &mut [bool]) {
    for (b, m) in blocks.iter().zip(main.iter_mut()) {
        let label = if matches!(b.kind, BlockKind::Heading(_)) {
            is_label_heading(&b.text)
        } else {
            is_teaser_heading(&b.text) || is_comments_heading(&b.text)
        };
        let label = label || is_label_heading_of(&b.text, OTHER_LABELS);
        if *m && b.chars <= LABEL_MAX_CHARS && (label || is_reader_prompt(&b.text)) {
            *m = false;
        }
        if *m
            && (is_teaser_excerpt(&b.text)
                || is_embed_placeholder(&b.text)
                || is_contents_label(&b.text)
                || is_login_prompt(&b.text)
                || is_server_error(&b.text)
                || (b.kind != BlockKind::ListItem && is_interface_label(&b.text)))
        {
            *m = false;
        }
    }
}

/// Drops picture credits and captions written into the text as lines of their own ("Foto:
/// dpa", "Augusta National/Getty Images", "…, photo: Archives"), on articles and on pages kept
/// whole (figures marked up as such are chrome already).
pub(crate) fn drop_credit_lines(blocks: &[Block], main: &mut [bool]) {
    for (b, m) in blocks.iter().zip(main.iter_mut()) {
        if *m && is_credit_line(&b.text) {
            *m = false;
        }
    }
}

/// A picture's credit or caption line written into the text ("Foto: dpa", "Abbildung 4: …",
/// "Stau © aremac / Clipdealer", "…, photo: Archives"): short, and marked as one.
fn is_credit_line(text: &str) -> bool {
    const CREDIT_MAX_BYTES: usize = 200;
    const STARTS: &[&str] = &[
        "foto",
        "fotos",
        "photo",
        "photos",
        "bild",
        "bilder",
        "abbildung",
        "abb",
        "image",
        "credit",
        "credits",
        "symbolbild",
        "grafik",
        "illustration",
    ];
    const INSIDE: &[&str] = &[
        "©",
        "foto:",
        "fotos:",
        "photo:",
        "bild:",
        "bild via",
        "(foto",
        "(photo",
        "getty images",
        "image:",
        "credit:",
    ];
    if text.len() > CREDIT_MAX_BYTES {
        return false;
    }
    let lower = text.to_lowercase();
    let first = lower
        .split(|c: char| !c.is_alphanumeric())
        .next()
        .unwrap_or("");
    let after_first = lower[first.len()..].trim_start();
    (STARTS.contains(&first) && (after_first.starts_with(':') || first == "abbildung"))
        || INSIDE.iter().any(|k| lower.contains(k))
}

/// A short line that asks the reader to act on the page rather than tells anything: share,
/// rate, say whether it helped ("Seite teilen", "War der Artikel nützlich?", "Valora esta
/// noticia", "Was this article helpful?").
fn is_reader_prompt(text: &str) -> bool {
    const PARTS: &[&str] = &[
        "teilen",
        "share this",
        "bewerten",
        "bewertung",
        "rate this",
        "valora",
        "helpful?",
        "hilfreich?",
        "nützlich?",
        "utile ?",
        "utile?",
        "útil?",
        "favorisieren",
        "merken",
        "drucken",
        "print this",
    ];
    let lower = text.to_lowercase();
    PARTS.iter().any(|p| lower.contains(p))
}

/// Most blocks [`extend_to_lead`] adds before a body.
const LEAD_MAX_BLOCKS: usize = 3;
/// Shortest lead paragraph, and shortest lead written in a plain `<div>`.
const LEAD_MIN_PARAGRAPH: u32 = 40;
const LEAD_MIN_OTHER: u32 = 80;
/// Link density of a lead at most.
const LEAD_MAX_LINKS: f32 = 0.2;
/// Longest line [`extend_to_lead`] steps over (a date, a contents label, a linked byline).
const LEAD_STEP_MAX: u32 = 80;

/// An article's lead (standfirst, intro paragraph) often sits outside the element that holds
/// the rest of the body (in the article's header, or beside a picture): the prose paragraphs
/// right before the chosen body, up to the page's title, are body too. Going back from the
/// body's first block, chrome and short date, contents or link lines are stepped over; the
/// first other block that is not a prose paragraph (a heading, a list, a byline) ends the
/// lead.
pub(crate) fn extend_to_lead(walk: &Walk, main: &mut [bool]) {
    let Some(first) = main.iter().position(|m| *m) else {
        return;
    };
    let title = title_block(walk);
    let mut added = 0;
    for i in (0..first).rev() {
        let b = &walk.blocks[i];
        if Some(i) == title {
            break;
        }
        if b.boiler {
            continue;
        }
        // A date, a contents label or a linked byline between the lead and the body is
        // stepped over (it is not body text); a byline is not a lead.
        if !matches!(b.kind, BlockKind::Heading(_))
            && b.chars <= LEAD_STEP_MAX
            && (is_dated(&b.text) || is_contents_label(&b.text) || b.link_density() > 0.5)
        {
            continue;
        }
        if is_byline(&b.text) {
            break;
        }
        let min = match b.kind {
            BlockKind::Paragraph => LEAD_MIN_PARAGRAPH,
            BlockKind::Other => LEAD_MIN_OTHER,
            _ => break,
        };
        if b.chars < min
            || b.strict_link_density() > LEAD_MAX_LINKS
            || (b.chars <= 200 && is_dated(&b.text))
            || is_legal_line(&b.text)
            || is_cookie_notice(&b.text)
        {
            break;
        }
        main[i] = true;
        added += 1;
        if added == LEAD_MAX_BLOCKS {
            break;
        }
    }
}

/// A byline ("By Stefan Becket, Kathryn Watson", "Von Matthias Lauerer", "Par …").
fn is_byline(text: &str) -> bool {
    const BY: &[&str] = &[
        "by ", "von ", "par ", "por ", "di ", "door ", "przez ", "texte: ", "text: ",
    ];
    text.chars().count() <= 120 && {
        let lower = text.trim_start().to_lowercase();
        BY.iter().any(|b| lower.starts_with(b))
    }
}

/// Where an article ends: the first heading, after the body has begun, that announces
/// recirculation or comments ("Related articles", "Mehr zum Thema", "Kommentare", "À lire
/// aussi"); it and every main block after it go (teaser lists, comment threads, the next
/// article of an infinite-scroll page all come after such a heading). Only when less prose
/// follows the heading than precedes it: a body that really continues is not cut.
pub(crate) fn cut_article_end(walk: &Walk, main: &mut [bool]) {
    let blocks = &walk.blocks;
    let parent = |b: &Block| {
        walk.elements
            .get(b.elem as usize)
            .map_or(u32::MAX, |e| e.parent)
    };
    let mut before = 0u64;
    let mut cut = None;
    let mut last_paragraph: Option<usize> = None;
    for i in 0..blocks.len() {
        if !main[i] {
            continue;
        }
        let b = &blocks[i];
        let heading = matches!(b.kind, BlockKind::Heading(_));
        if heading && before > 0 && (is_teaser_heading(&b.text) || is_comments_heading(&b.text)) {
            // A teaser box set inside the body: the body's paragraphs go on after its links,
            // in the same container as before it.
            let next = (i + 1..blocks.len()).find(|&j| main[j]);
            let resumes = !is_comments_heading(&b.text)
                && last_paragraph.zip(next).is_some_and(|(p, j)| {
                    blocks[j].kind == BlockKind::Paragraph
                        && blocks[j].chars >= LEAD_MIN_PARAGRAPH
                        && parent(&blocks[j]) == parent(&blocks[p])
                        && blocks[j].elem != blocks[p].elem
                });
            if resumes {
                main[i] = false;
                continue;
            }
            cut = Some((i, before));
            break;
        }
        if !matches!(b.kind, BlockKind::Heading(_)) {
            before += u64::from(b.chars);
        }
        if b.kind == BlockKind::Paragraph {
            last_paragraph = Some(i);
        }
    }
    let Some((at, before)) = cut else { return };
    let after: u64 = (at..blocks.len())
        .filter(|&i| main[i] && !matches!(blocks[i].kind, BlockKind::Heading(_)))
        .map(|i| u64::from(blocks[i].chars))
        .sum();
    if after <= before {
        main[at..].iter_mut().for_each(|m| *m = false);
    }
}

/// A heading that opens a comment section.
fn is_comments_heading(text: &str) -> bool {
    starts_with_phrase(text, COMMENTS_STARTS)
}

/// Openings of a comment section's heading.
const COMMENTS_STARTS: &[&str] = &[
    "comments",
    "comment",
    "leave a reply",
    "leave a comment",
    "post a comment",
    "add a comment",
    "view comments",
    "show comments",
    "join the discussion",
    "kommentare",
    "kommentar schreiben",
    "kommentieren",
    "schreibe einen kommentar",
    "diskussion",
    "leserkommentare",
    "commentaires",
    "laisser un commentaire",
    "réagir",
    "comentarios",
    "commenti",
    "reacties",
];

/// `text` (a short heading) begins with one of `phrases` (lower case) followed by a word end.
fn starts_with_phrase(text: &str, phrases: &[&str]) -> bool {
    phrase_at_start(text, phrases).is_some()
}

/// The phrase of `phrases` that `text` (a short heading) begins with, and the rest of `text`.
fn phrase_at_start<'a>(text: &str, phrases: &[&'a str]) -> Option<(&'a str, String)> {
    if text.len() > 120 {
        return None;
    }
    let lower = text.trim().to_lowercase();
    phrases.iter().find_map(|p| {
        let rest = lower.strip_prefix(p)?;
        rest.chars()
            .next()
            .is_none_or(|c| !c.is_alphanumeric())
            .then(|| (*p, rest.to_owned()))
    })
}

/// Labels over a page's tags, its author box and its further-reading links ("Weitere
/// Informationen", "Zobacz również"): what they label is left to the other rules, the label
/// goes.
const OTHER_LABELS: &[&str] = &[
    "tags",
    "weitere informationen",
    "mehr themen",
    "weiterführende links",
    "weiterführender link",
    "zobacz również",
    "zobacz też",
    "czytaj także",
    "czytaj też",
    "schlagworte",
    "schlagwörter",
    "stichworte",
    "themen",
    "temas",
    "etiquetas",
    "sujets",
    "mots-clés",
    "argomenti",
    "tematy",
    "tagi",
    "topics",
    "keywords",
    "about the author",
    "über den autor",
    "über die autorin",
    "zum autor",
    "zur autorin",
];

/// `text` is one of `phrases` alone (counts and punctuation aside), or opens with one of
/// several words.
fn is_label_heading_of(text: &str, phrases: &[&str]) -> bool {
    phrase_at_start(text, phrases).is_some_and(|(phrase, rest)| {
        phrase.contains(' ') || !rest.chars().any(char::is_alphabetic)
    })
}

/// A heading that is only a recirculation or comments label: it is the phrase alone ("Related",
/// "Kommentare (3)"), or begins with a phrase of several words ("Lesen Sie auch …", "You may
/// also like"). "Recent advances in pumps" is a section's title.
fn is_label_heading(text: &str) -> bool {
    is_label_heading_of(text, TEASER_STARTS) || is_label_heading_of(text, COMMENTS_STARTS)
}

/// A heading that introduces links to other pages of the site (English, German, French,
/// Spanish, Italian, Dutch).
fn is_teaser_heading(text: &str) -> bool {
    starts_with_phrase(text, TEASER_STARTS)
}

/// Openings of a heading over links to other pages.
const TEASER_STARTS: &[&str] = &[
    "related",
    "more services",
    "more articles",
    "more posts",
    "more resources",
    "more from",
    "more insights",
    "more news",
    "more stories",
    "more case",
    "more on this",
    "more like this",
    "latest",
    "recent",
    "from the blog",
    "from our blog",
    "featured insights",
    "featured articles",
    "featured posts",
    "featured stories",
    "featured client",
    "you may also",
    "you might also",
    "you may like",
    "you might like",
    "further reading",
    "read more",
    "read next",
    "read also",
    "explore more",
    "explore further",
    "other services",
    "other articles",
    "other posts",
    "similar",
    "see also",
    "keep reading",
    "continue reading",
    "discover more",
    "recommended",
    "popular",
    "most read",
    "trending",
    "mehr zum thema",
    "mehr aus",
    "mehr zu",
    "mehr artikel",
    "mehr news",
    "weitere artikel",
    "weitere beiträge",
    "weitere nachrichten",
    "weitere themen",
    "weiterführende",
    "das könnte",
    "dies könnte",
    "auch interessant",
    "ebenfalls interessant",
    "lesen sie auch",
    "lies auch",
    "verwandte",
    "ähnliche",
    "passend zum thema",
    "empfehlungen",
    "meistgelesen",
    "neueste beiträge",
    "aktuelle beiträge",
    "beliebte",
    "à lire aussi",
    "a lire aussi",
    "lire aussi",
    "à lire également",
    "sur le même sujet",
    "sur le meme sujet",
    "articles similaires",
    "articles liés",
    "articles récents",
    "vous aimerez aussi",
    "vous aimerez peut-être",
    "vous pourriez aussi",
    "dans la même rubrique",
    "les plus lus",
    "te puede interesar",
    "también te puede",
    "artículos relacionados",
    "noticias relacionadas",
    "potrebbe interessarti",
    "articoli correlati",
    "leggi anche",
    "gerelateerde",
    "lees ook",
];

/// Adds each element's value to its parent's, bottom-up: afterwards every element holds the sum
/// over its subtree. Linear: elements are numbered in document order, parents first.
fn up_the_tree(elements: &[super::dom::Elem], values: &mut [f64]) {
    for i in (0..elements.len().min(values.len())).rev() {
        let parent = elements[i].parent as usize;
        if parent != i && parent < values.len() {
            values[parent] += values[i];
        }
    }
}

/// A ticker: one short phrase written three or more times in a row in one block ("Book now *
/// Book now * Book now * …"), the text of a scrolling marquee.
fn is_marquee(text: &str) -> bool {
    const MAX_LEN: usize = 2000;
    const MAX_UNIT: usize = 120;
    let bytes = text.as_bytes();
    let n = bytes.len();
    if !(6..=MAX_LEN).contains(&n) {
        return false;
    }
    (2..=(n / 3).min(MAX_UNIT)).any(|p| {
        bytes[p] == bytes[0]
            && bytes[p..] == bytes[..n - p]
            && bytes[..p]
                .iter()
                .filter(|b| b.is_ascii_alphanumeric())
                .count()
                >= 2
    })
}

/// A PHP error message printed into the page ("Warning: mysql_connect(): … in
/// /www/htdocs/… on line 12", "Deprecated: …", "Strict Standards: …"): the server's, never the
/// author's.
static SERVER_ERROR: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
    regex::Regex::new(
        r"^(?:PHP )?(?:Warning|Notice|Deprecated|Fatal error|Parse error|Strict Standards|Catchable fatal error): .{0,600}? on line \d+",
    )
    .expect("valid server-error pattern")
});

/// A server's error message (see [`SERVER_ERROR`]).
fn is_server_error(text: &str) -> bool {
    text.len() <= 2000 && SERVER_ERROR.is_match(text)
}

/// Keeps a table cell that is a link (a product or an ingredient linked to its page) when the
/// cells on both sides of it are main text: a table's rows are read whole.
pub(crate) fn keep_linked_cells(blocks: &[Block], main: &mut [bool]) {
    let cell = |j: usize| blocks[j].kind == BlockKind::Cell;
    for i in 1..blocks.len().saturating_sub(1) {
        if !main[i]
            && cell(i)
            && !blocks[i].boiler
            && main[i - 1]
            && cell(i - 1)
            && main[i + 1]
            && cell(i + 1)
        {
            main[i] = true;
        }
    }
}

/// A copyright or "all rights reserved" line: site chrome wherever it sits.
pub(crate) fn is_legal_line(text: &str) -> bool {
    if text.len() > 300 {
        return false;
    }
    let lower = text.to_lowercase();
    lower.starts_with('©')
        || lower.starts_with("copyright")
        || lower.starts_with("(c) ")
        || lower.contains("all rights reserved")
        || lower.contains("tous droits réservés")
}

/// A cookie-consent sentence ("We use cookies to …", "Ce site utilise des cookies …"), in any
/// element: consent banners are often injected with class names no rule knows.
pub(crate) fn is_cookie_notice(text: &str) -> bool {
    if text.len() > 1200 {
        return false;
    }
    let lower = text.to_lowercase();
    if !lower.contains("cookie") {
        return false;
    }
    [
        "consent",
        "accept",
        "we use",
        "uses cookies",
        "use of cookies",
        "this site",
        "this website",
        "our website",
        "partners",
        "tracking",
        "personalis",
        "personaliz",
        "utilise",
        "utilisons",
        "verwendet",
        "verwenden",
        "utilizamos",
        "utiliza",
        "privacy",
        "confidentialité",
    ]
    .iter()
    .any(|k| lower.contains(k))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::extract::dom::Walk;

    fn block(text: &str, kind: BlockKind, in_content: bool) -> Block {
        Block {
            text: text.to_owned(),
            kind,
            link_chars: 0,
            card_link_chars: 0,
            chars: text.chars().count() as u32,
            elem: 0,
            boiler: false,
            in_content,
            chrome_rule: "",
            chrome: None,
            hard_chrome: false,
        }
    }

    fn kept(blocks: &[Block], main: &[bool]) -> Vec<String> {
        blocks
            .iter()
            .zip(main)
            .filter(|(_, m)| **m)
            .map(|(b, _)| b.text.clone())
            .collect()
    }

    #[test]
    fn contents_labels_and_embed_placeholders_are_recognised() {
        assert!(is_contents_label("Inhaltsverzeichnis"));
        assert!(is_contents_label("Table of Contents:"));
        assert!(!is_contents_label("Inhalt der Verordnung"));
        assert!(is_interface_label("Sorted by:"));
        assert!(is_interface_label("» Nach oben"));
        assert!(is_interface_label("Dieses Skript als PDF herunterladen"));
        assert!(!is_interface_label("Print media in decline"));
        assert!(is_login_prompt("Sie sind aktuell nicht eingeloggt."));
        assert!(is_login_prompt(
            "Die mit einem * markierten Felder sind Pflichtfelder."
        ));
        assert!(is_login_prompt(
            "Your email address will not be published. Required fields are marked *"
        ));
        assert!(!is_login_prompt(
            "Wir haben alle Felder des Hofes neu vermessen und die Pflichten verteilt."
        ));
        assert!(!is_login_prompt(
            "Sign in to your Uber for Business account"
        ));
        assert!(is_byline("By Stefan Becket, Kathryn Watson, Grace Segers"));
        assert!(is_byline("Von Matthias Lauerer"));
        assert!(!is_byline("Byzantine mosaics were made of glass tesserae."));
        assert!(is_embed_placeholder("Externer Inhalt"));
        assert!(is_embed_placeholder("Twitter freischalten"));
        assert!(!is_embed_placeholder(
            "Die Zustimmungspflicht des Bundesrates ist die Regel."
        ));
    }

    #[test]
    fn repeats_dropped_only_when_a_stretch_is_written_twice() {
        let p = BlockKind::Paragraph;
        // A carousel whose three slides are cloned right after themselves.
        let texts = [
            "Intro", "Slide A", "Slide B", "Slide C", "Slide A", "Slide B", "Slide C", "End",
        ];
        let blocks: Vec<Block> = texts.iter().map(|t| block(t, p, true)).collect();
        let mut main = vec![true; blocks.len()];
        drop_repeats(&blocks, &mut main);
        assert_eq!(
            kept(&blocks, &main),
            ["Intro", "Slide A", "Slide B", "Slide C", "End"]
        );
        // A pricing table: the same features under every plan, plan names in between.
        let texts = [
            "Basic", "$9", "Support", "Reports", "Pro", "$19", "Support", "Reports",
        ];
        let blocks: Vec<Block> = texts.iter().map(|t| block(t, p, true)).collect();
        let mut main = vec![true; blocks.len()];
        drop_repeats(&blocks, &mut main);
        assert_eq!(kept(&blocks, &main), texts);
    }

    #[test]
    fn outside_content_and_teaser_sections() {
        use BlockKind::{Heading, Paragraph};
        let blocks = vec![
            block("Free shipping this week", Paragraph, false),
            block("Pumps", Heading(1), true),
            block("We build pumps for water.", Paragraph, true),
            block("Related services", Heading(2), true),
            block("Valves", Heading(3), true),
            block("We also fit valves.", Paragraph, true),
            block("How we work", Heading(2), true),
            block("Survey, install, service.", Paragraph, true),
            block("Subscribe for news", Paragraph, false),
        ];
        let mut main = vec![true; blocks.len()];
        trim_outside_content(&blocks, &mut main);
        drop_teaser_sections(&blocks, &mut main);
        assert_eq!(
            kept(&blocks, &main),
            [
                "Pumps",
                "We build pumps for water.",
                "How we work",
                "Survey, install, service."
            ]
        );
        // Without <main>, nothing is trimmed.
        let flat: Vec<Block> = blocks
            .iter()
            .map(|b| Block {
                in_content: false,
                ..b.clone()
            })
            .collect();
        let mut main = vec![true; flat.len()];
        trim_outside_content(&flat, &mut main);
        assert!(main.iter().all(|m| *m));
        assert!(is_teaser_heading("You may also like"));
        assert!(!is_teaser_heading("More than 50,000 teams use it"));
    }

    #[test]
    fn title_from_og_title_or_headline() {
        use BlockKind::{Heading, Paragraph};
        let mut walk = Walk {
            blocks: vec![
                block("Acme", Heading(1), false),
                block("Pumps, explained", Heading(2), true),
                block("Body text.", Paragraph, true),
            ],
            metas: vec![("og:title".into(), "Pumps, explained | Acme News".into())],
            ..Walk::default()
        };
        // A short site name in an h1 logo is not taken for the title.
        assert_eq!(title_block(&walk), Some(1));
        walk.metas.clear();
        walk.jsonld = vec![r#"{"@type":"NewsArticle","headline":"Pumps, explained"}"#.into()];
        assert_eq!(title_block(&walk), Some(1));
        assert_eq!(
            json_string_field(r#"{"headline" : "Caf\u00e9 \"open\""}"#, "headline").as_deref(),
            Some("Café \"open\"")
        );
    }

    #[test]
    fn article_end_cut_only_before_less_prose() {
        use BlockKind::{Heading, Paragraph};
        let long = "x".repeat(400);
        let blocks = vec![
            block("Title", Heading(1), true),
            block(&long, Paragraph, true),
            block("Related articles", Heading(2), true),
            block("Teaser one", Paragraph, true),
        ];
        let mut main = vec![true; blocks.len()];
        let walk = Walk {
            blocks: blocks.clone(),
            ..Walk::default()
        };
        cut_article_end(&walk, &mut main);
        assert_eq!(kept(&blocks, &main), ["Title", long.as_str()]);
        // A 'Related' heading with the body's larger half after it is a section title.
        let blocks = vec![
            block("Title", Heading(1), true),
            block("Intro.", Paragraph, true),
            block("Related work", Heading(2), true),
            block(&long, Paragraph, true),
        ];
        let mut main = vec![true; blocks.len()];
        let walk = Walk {
            blocks: blocks.clone(),
            ..Walk::default()
        };
        cut_article_end(&walk, &mut main);
        assert!(main.iter().all(|m| *m));
        assert!(is_teaser_heading("Das könnte Sie auch interessieren"));
        assert!(is_teaser_heading("À lire aussi"));
        assert!(!is_teaser_heading("Relatedness of pumps"));
        assert!(is_comments_heading("Kommentare (3)"));
    }

    #[test]
    fn teaser_excerpts() {
        let blocks = vec![
            block("Klima", BlockKind::Heading(1), true),
            block(
                "Auskunft über vergangenes Wetter… mehr •••",
                BlockKind::Paragraph,
                true,
            ),
            block(
                "Die Gletscher schmelzen... weiterlesen",
                BlockKind::Other,
                true,
            ),
            block(
                "Wir messen seit 1851 das Wetter in Wien.",
                BlockKind::Paragraph,
                true,
            ),
            block("Mehr oder weniger Regen…", BlockKind::Paragraph, true),
        ];
        let mut main = vec![true; blocks.len()];
        drop_teaser_labels(&blocks, &mut main);
        assert_eq!(
            kept(&blocks, &main),
            [
                "Klima",
                "Wir messen seit 1851 das Wetter in Wien.",
                "Mehr oder weniger Regen…"
            ]
        );
        assert!(is_teaser_excerpt("The grid held ... Read more »"));
        assert!(!is_teaser_excerpt("We want more"));
    }

    #[test]
    fn credits_and_reader_prompts() {
        assert!(is_credit_line("Foto: Sascha Klahn"));
        assert!(is_credit_line(
            "Abbildung 4: Die grösste Lawine dieser Berichtsperiode"
        ));
        assert!(is_credit_line("Stau © aremac / Clipdealer"));
        assert!(is_credit_line(
            "Roman Prymula, photo: Archives du Gouvernement tchèque"
        ));
        assert!(!is_credit_line(
            "Photography is what we do for weddings across Bavaria."
        ));
        assert!(!is_credit_line(
            "Bildung ist der Schlüssel: die Schule muss sich ändern."
        ));
        assert!(is_reader_prompt("War der Artikel nützlich?"));
        assert!(is_reader_prompt("Seite teilen"));
        assert!(is_label_heading_of("Schlagworte:", OTHER_LABELS));
        assert!(is_label_heading_of("Über den Autor", OTHER_LABELS));
        assert!(!is_label_heading_of(
            "Themen: Kritik aus dem Internet",
            OTHER_LABELS
        ));
        assert!(!is_reader_prompt("Was uns antreibt"));
        let blocks = vec![
            block("Lesen Sie auch", BlockKind::Heading(4), true),
            block("Jetzt teilen!", BlockKind::Heading(5), true),
            block("Recent advances in pumps", BlockKind::Heading(2), true),
        ];
        let mut main = vec![true; blocks.len()];
        drop_teaser_labels(&blocks, &mut main);
        assert_eq!(main, [false, false, true]);
    }

    #[test]
    fn marquees() {
        assert!(is_marquee(
            "Book Now *Book Now *Book Now *Book Now *Book No"
        ));
        assert!(!is_marquee("Book Now *Book Now *"));
        assert!(!is_marquee("★★★★★"));
        assert!(!is_marquee("We pump water, we pump oil, we pump gas."));
    }

    #[test]
    fn og_article_on_a_declared_web_page_is_a_page() {
        let walk = |metas: &[(&str, &str)], ld: &str| Walk {
            metas: metas
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            jsonld: vec![ld.to_owned()],
            ..Walk::default()
        };
        let web_page = r#"{"@graph":[{"@type":"WebPage","name":"Pumps"}]}"#;
        assert!(!is_article(&walk(&[("og:type", "article")], web_page)));
        assert!(is_article(&walk(
            &[
                ("og:type", "article"),
                ("article:published_time", "2024-01-02")
            ],
            web_page
        )));
        assert!(is_article(&walk(&[("og:type", "article")], "")));
        assert!(is_article(&walk(&[], r#"{"@type":["WebPage","Article"]}"#)));
    }

    #[test]
    fn legal_and_cookie_lines() {
        assert!(is_legal_line(
            "© 2025 Doodlo | All Rights Reserved | Terms of Use"
        ));
        assert!(is_legal_line("Copyright 2019 Acme Inc."));
        assert!(!is_legal_line(
            "We registered our first copyright in 1990 and still own it."
        ));
        assert!(is_cookie_notice(
            "We value your privacy. We and 600 third-party partners use cookies and other technologies."
        ));
        assert!(is_cookie_notice(
            "Ce site utilise des cookies pour mesurer l'audience."
        ));
        assert!(!is_cookie_notice(
            "Our cookie cutters are made of stainless steel."
        ));
    }
}
