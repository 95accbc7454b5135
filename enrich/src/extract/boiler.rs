//! Which elements are chrome rather than content, judged from tag, role, class and id.
//!
//! Verdicts: [`Verdict::Junk`] elements carry no readable text at all (scripts, styles, form
//! controls, media) and are skipped; [`Verdict::Boiler`] elements carry text that is page chrome
//! (navigation, site header and footer, cookie and newsletter banners, share bars, comments)
//! and is kept aside for signals but not in the main text; [`Verdict::SoftBoiler`] is chrome by
//! class name alone or `display:none`, which the selection may overrule; [`Verdict::Content`]
//! marks an explicit content container (`itemprop=articleBody`, the usual article-body class
//! names).

/// What an element is, for extraction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verdict {
    Normal,
    Junk,
    /// Chrome by tag, role or an unambiguous name (cookie, comment, share …).
    Boiler,
    /// Chrome by a class or id token alone: overruled when the element holds much of the page's
    /// prose (a `sidebar-layout` wrapper around the whole content).
    SoftBoiler,
    Content,
}

/// Tags whose content is never text a reader sees.
pub(crate) fn junk_tag(tag: &str) -> bool {
    matches!(
        tag,
        "script"
            | "style"
            | "noscript"
            | "template"
            | "svg"
            | "math"
            | "iframe"
            | "object"
            | "embed"
            | "canvas"
            | "video"
            | "audio"
            | "select"
            | "option"
            | "textarea"
            | "input"
            | "button"
            | "dialog"
            | "map"
    )
}

/// Tags that start and end a block of text.
pub(crate) fn block_tag(tag: &str) -> bool {
    matches!(
        tag,
        "address"
            | "article"
            | "aside"
            | "blockquote"
            | "body"
            | "caption"
            | "center"
            | "dd"
            | "details"
            | "div"
            | "dl"
            | "dt"
            | "fieldset"
            | "figcaption"
            | "figure"
            | "footer"
            | "form"
            | "h1"
            | "h2"
            | "h3"
            | "h4"
            | "h5"
            | "h6"
            | "header"
            | "hgroup"
            | "hr"
            | "html"
            | "legend"
            | "li"
            | "main"
            | "menu"
            | "nav"
            | "ol"
            | "p"
            | "pre"
            | "section"
            | "summary"
            | "table"
            | "tbody"
            | "td"
            | "tfoot"
            | "th"
            | "thead"
            | "tr"
            | "ul"
    )
}

/// Class or id tokens that mark chrome on their own.
const BOILER_TOKENS: &[&str] = &[
    "nav",
    "navbar",
    "navigation",
    "menu",
    "menubar",
    "submenu",
    "megamenu",
    "topbar",
    "toolbar",
    "breadcrumb",
    "breadcrumbs",
    "pagination",
    "pager",
    "footer",
    "header",
    "masthead",
    "sidebar",
    "aside",
    "share",
    "sharing",
    "social",
    "socials",
    "related",
    "comments",
    "comment",
    "newsletter",
    "subscribe",
    "subscription",
    "signup",
    "cookie",
    "cookies",
    "consent",
    "gdpr",
    "popup",
    "modal",
    "overlay",
    "ad",
    "ads",
    "advert",
    "advertisement",
    "sponsor",
    "sponsored",
    "promo",
    "skip",
    "print",
    "tags",
    "tagcloud",
    "byline",
    "dateline",
    "author",
    "rating",
    "login",
    "search",
    "copyright",
    "disclaimer",
    "outbrain",
    "taboola",
    "caption",
    "credit",
    "credits",
    "gallery",
    "slideshow",
    "lightbox",
    "recirculation",
    "trending",
    "recommended",
    "legal",
    "illustration",
    "graphic",
];

/// Substrings (in the lower-cased class/id) that mark chrome even inside longer names.
const BOILER_PARTS: &[&str] = &[
    "teaser",
    "cookie",
    "consent",
    "gdpr",
    "newsletter",
    "breadcrumb",
    "sidebar",
    "comment",
    "share",
    "social",
    "related",
    "navbar",
    "navigation",
    "footer",
    "masthead",
    "pagination",
    "popup",
    "advert",
    "sponsor",
    "subscribe",
    "outbrain",
    "taboola",
];

/// Rules of class-named chrome that stay chrome inside `<main>` on company pages: share bars,
/// related-content teasers, overlays, author boxes, promos, sidebars, fine print (`legal`),
/// in-page navigation and illustrations (product mock-ups drawn in HTML). Unlike the other
/// class-named chrome in `<main>` (mostly content), their text is mostly not main text on WCXB.
/// A section of them with headings and prose is still content (see `select::settle_chrome`).
const STAYS_CHROME_IN_MAIN: &[&str] = &[
    "social",
    "related",
    "overlay",
    "author",
    "promo",
    "sidebar",
    "legal",
    "nav",
    "navigation",
    "menu",
    "illustration",
    "graphic",
];

/// Whether chrome judged by `rule` is chrome only on an article and only when it holds links:
/// `teaser` names cards that point to other pages, but also (German CMSs) an article's own lead
/// and feature cards on company pages.
pub(crate) fn link_box_on_articles(rule: &str) -> bool {
    rule == "teaser"
}

/// Whether chrome judged by `rule` (a class token of [`BOILER_TOKENS`] / [`BOILER_PARTS`]) stays
/// chrome inside `<main>` on company pages.
pub(crate) fn stays_chrome_in_main(rule: &str) -> bool {
    STAYS_CHROME_IN_MAIN.contains(&rule)
}

/// Whether chrome judged by `rule` was named so by a class or id token alone (not by its tag,
/// role or style): such a name can be wrong about an element that holds the whole article.
pub(crate) fn named_by_class(rule: &str) -> bool {
    STRONG_BOILER_PARTS.contains(&rule)
        || BOILER_TOKENS.contains(&rule)
        || BOILER_PARTS.contains(&rule)
}

/// Whether chrome judged by `rule` is the site's own frame (its `<nav>`, `<header>`,
/// `<footer>`, `<aside>`, `<menu>` or an ARIA landmark role), as opposed to a container named by
/// its class (`comment`, `print`, `caption` …) or a caption tag, whose name can be wrong about
/// what it holds.
pub(crate) fn site_frame(rule: &str) -> bool {
    matches!(
        rule,
        "<nav>" | "<header>" | "<footer>" | "<aside>" | "<menu>"
    ) || BOILER_ROLES.contains(&rule)
}

/// Tokens that say "this is the content" and overrule a weak chrome token next to them
/// (`post-header` yes, `cookie-content` no: cookie/consent/comment always win).
const CONTENT_TOKENS: &[&str] = &[
    "content", "article", "main", "body", "post", "entry", "story", "text", "page",
];

/// Components whose own `header` is their title, not the site's header.
const COMPONENT_TOKENS: &[&str] = &[
    "card",
    "table",
    "accordion",
    "panel",
    "faq",
    "collapse",
    "question",
    "tab",
    "toggle",
    "section",
    "module",
];

const STRONG_BOILER_PARTS: &[&str] = &[
    "footer",
    "cookie",
    "consent",
    "gdpr",
    "comment",
    "newsletter",
    "share",
    "breadcrumb",
    "outbrain",
    "taboola",
];

/// Explicit article-body containers.
const CONTENT_NAMES: &[&str] = &[
    "articlebody",
    "article-body",
    "article__body",
    "article_body",
    "articletext",
    "article-text",
    "article-content",
    "article__content",
    "post-content",
    "post-body",
    "post__content",
    "entry-content",
    "story-body",
    "story-content",
    "storycontent",
    "main-content",
    "body-text",
    "article-main",
];

const BOILER_ROLES: &[&str] = &[
    "navigation",
    "banner",
    "contentinfo",
    "complementary",
    "search",
    "dialog",
    "alertdialog",
    "menu",
    "menubar",
    "toolbar",
    "alert",
];

/// The attributes of one element that matter here, gathered in one pass over its attributes.
#[derive(Default)]
pub(crate) struct Attrs<'a> {
    pub class: &'a str,
    pub id: &'a str,
    pub role: &'a str,
    pub style: &'a str,
    pub itemprop: &'a str,
    /// Microdata `itemtype` (schema.org type URLs).
    pub itemtype: &'a str,
    /// `aria-expanded` or `aria-controls` present: a disclosure (accordion, FAQ) toggle.
    pub disclosure: bool,
    /// `aria-hidden="true"`.
    pub aria_hidden: bool,
}

impl<'a> Attrs<'a> {
    pub fn of(element: &'a scraper::node::Element) -> Self {
        let mut attrs = Attrs::default();
        for (name, value) in element.attrs() {
            match name {
                "class" => attrs.class = value,
                "id" => attrs.id = value,
                "role" => attrs.role = value,
                "style" => attrs.style = value,
                "aria-expanded" | "aria-controls" => attrs.disclosure = true,
                "itemprop" => attrs.itemprop = value,
                "itemtype" => attrs.itemtype = value,
                "aria-hidden" => attrs.aria_hidden = value.trim().eq_ignore_ascii_case("true"),
                _ => {}
            }
        }
        attrs
    }
}

/// Judges one element. `in_content` says whether an `<article>` or `<main>` is open around it
/// (a `<header>` or `<footer>` there belongs to the article, not to the site). The second value
/// names the rule that decided (shown by `extract-html --explain`).
pub(crate) fn judge(
    tag: &str,
    attrs: &Attrs<'_>,
    in_content: bool,
    in_section: bool,
) -> (Verdict, &'static str) {
    // A button is a call to action ("Get started", "Accept all") unless it opens a disclosure:
    // accordion and FAQ questions are buttons, and their text is content.
    if tag == "button" && attrs.disclosure {
        return (Verdict::Normal, "");
    }
    if junk_tag(tag) {
        return (Verdict::Junk, "tag");
    }
    let names = lowercase_names(attrs);
    // Text hidden by a `hidden` attribute, `aria-hidden` or a utility class is mostly collapsed
    // content (FAQ answers, tabs, "read more", streamed React chunks): measured on the WCXB
    // company pages, 60-78 % of it is main content. Inline `display:none` is mostly not (23 %):
    // it is soft chrome.
    if hidden_style(attrs.style) {
        return (Verdict::SoftBoiler, "display:none");
    }
    // A figure hidden from screen readers is decorative: product mock-ups drawn in HTML (fake
    // forms, dashboards, chat windows). Other `aria-hidden` text is mostly content (see above).
    if attrs.aria_hidden && tag == "figure" {
        return (Verdict::Junk, "aria-hidden figure");
    }
    // A `<header>` inside a `<section>` heads that section (its title and intro), whatever
    // its class says: the site's banner is not nested in a section.
    if tag == "header" && in_section && !in_content {
        return (Verdict::Normal, "");
    }
    if attrs.itemprop.eq_ignore_ascii_case("articlebody")
        || attrs.itemprop.eq_ignore_ascii_case("text")
        || CONTENT_NAMES.iter().any(|n| names.contains(n))
    {
        return (Verdict::Content, "content name");
    }
    match tag {
        "nav" => return (Verdict::Boiler, "<nav>"),
        "aside" => return (Verdict::Boiler, "<aside>"),
        "menu" => return (Verdict::Boiler, "<menu>"),
        "header" if !in_content => return (Verdict::Boiler, "<header>"),
        "figcaption" => return (Verdict::SoftBoiler, "<figcaption>"),
        // A figure's text is its caption and credit ("Foto: …", "© Getty Images"), not body
        // text; a quote set as a figure (testimonials) is.
        "figure" if !attrs.class.contains("quote") => return (Verdict::SoftBoiler, "<figure>"),
        "footer" if !in_content => return (Verdict::Boiler, "<footer>"),
        "body" | "html" | "main" | "article" => return (Verdict::Normal, ""),
        _ => {}
    }
    let role = attrs.role.trim();
    if let Some(r) = BOILER_ROLES.iter().find(|r| role.eq_ignore_ascii_case(r)) {
        return (Verdict::Boiler, r);
    }
    if matches!(tag, "h1" | "h2" | "h3" | "h4" | "h5" | "h6") {
        return (Verdict::Normal, "");
    }
    if names.is_empty() {
        // A form is usually search, login or newsletter; some sites wrap the whole page in one.
        return if tag == "form" {
            (Verdict::SoftBoiler, "<form>")
        } else {
            (Verdict::Normal, "")
        };
    }
    if let Some(p) = STRONG_BOILER_PARTS.iter().find(|p| names.contains(*p)) {
        return (Verdict::Boiler, p);
    }
    let mut boiler = None;
    let mut content = false;
    let mut component = false;
    for token in names.split(|c: char| !c.is_ascii_alphanumeric()) {
        if token.is_empty() {
            continue;
        }
        if let Some(t) = BOILER_TOKENS.iter().find(|t| **t == token) {
            boiler = Some(*t);
        } else if CONTENT_TOKENS.contains(&token) {
            content = true;
        } else if COMPONENT_TOKENS.contains(&token) {
            component = true;
        }
    }
    // A card's, table's or accordion's header is its title (`card-header`, `table-header`,
    // `accordion-header`), not the site's.
    if component && boiler == Some("header") {
        boiler = None;
        content = true;
    }
    if boiler.is_none() && !content {
        boiler = BOILER_PARTS.iter().find(|p| names.contains(*p)).copied();
    }
    if tag == "form" && boiler.is_none() {
        boiler = Some("<form>");
    }
    match boiler {
        Some(reason) if !content => (Verdict::SoftBoiler, reason),
        _ => (Verdict::Normal, ""),
    }
}

fn lowercase_names(attrs: &Attrs<'_>) -> String {
    let mut names = String::with_capacity(attrs.class.len() + attrs.id.len() + 1);
    names.push_str(attrs.class);
    if !attrs.id.is_empty() {
        names.push(' ');
        names.push_str(attrs.id);
    }
    names.make_ascii_lowercase();
    if names.contains("not-footer") {
        names = names.replace("not-footer", "");
    }
    names
}

fn hidden_style(style: &str) -> bool {
    if style.is_empty() {
        return false;
    }
    let compact: String = style
        .chars()
        .filter(|c| !c.is_whitespace())
        .map(|c| c.to_ascii_lowercase())
        .collect();
    compact.contains("display:none") || compact.contains("visibility:hidden")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn attrs<'a>(class: &'a str, id: &'a str) -> Attrs<'a> {
        Attrs {
            class,
            id,
            ..Attrs::default()
        }
    }

    #[test]
    fn chrome_by_tag_role_and_name() {
        assert_eq!(
            judge("nav", &attrs("", ""), false, false).0,
            Verdict::Boiler
        );
        assert_eq!(
            judge("footer", &attrs("", ""), false, false).0,
            Verdict::Boiler
        );
        assert_eq!(
            judge("footer", &attrs("", ""), true, false).0,
            Verdict::Normal
        );
        assert_eq!(
            judge("div", &attrs("cookie-banner", ""), false, false).0,
            Verdict::Boiler
        );
        assert_eq!(
            judge("div", &attrs("", "CybotCookiebotDialog"), false, false).0,
            Verdict::Boiler
        );
        assert_eq!(
            judge("div", &attrs("site-footer__inner", ""), false, false).0,
            Verdict::Boiler
        );
        assert_eq!(
            judge("div", &attrs("sidebar-layout", ""), false, false).0,
            Verdict::SoftBoiler
        );
        assert_eq!(
            judge("figure", &attrs("wp-block-image", ""), true, false).0,
            Verdict::SoftBoiler
        );
        assert_eq!(
            judge("figure", &attrs("wp-block-pullquote", ""), true, false).0,
            Verdict::Normal
        );
        assert_eq!(
            judge("h1", &attrs("header__heading", ""), false, false).0,
            Verdict::Normal
        );
        let role = Attrs {
            role: "navigation",
            ..Attrs::default()
        };
        assert_eq!(judge("div", &role, false, false).0, Verdict::Boiler);
        // A card's or a table's header is its title; the site's header stays chrome.
        assert_eq!(
            judge("div", &attrs("card-header", ""), false, false).0,
            Verdict::Normal
        );
        assert_eq!(
            judge("div", &attrs("ingredients table-header", ""), false, false).0,
            Verdict::Normal
        );
        assert_eq!(
            judge("div", &attrs("header-top-bar", ""), false, false).0,
            Verdict::SoftBoiler
        );
    }

    #[test]
    fn content_names_are_not_chrome() {
        assert_eq!(
            judge("div", &attrs("post-header", ""), false, false).0,
            Verdict::Normal
        );
        assert_eq!(
            judge("div", &attrs("entry-content", ""), false, false).0,
            Verdict::Content
        );
        assert_eq!(
            judge("div", &attrs("shadow download", ""), false, false).0,
            Verdict::Normal
        );
        assert_eq!(
            judge("div", &attrs("comment-content", ""), false, false).0,
            Verdict::Boiler
        );
        let body = Attrs {
            itemprop: "articleBody",
            ..Attrs::default()
        };
        assert_eq!(judge("div", &body, false, false).0, Verdict::Content);
    }

    #[test]
    fn disclosure_buttons_are_text() {
        let faq = Attrs {
            disclosure: true,
            ..Attrs::default()
        };
        assert_eq!(judge("button", &faq, false, false).0, Verdict::Normal);
        assert_eq!(
            judge("button", &attrs("cta", ""), false, false).0,
            Verdict::Junk
        );
    }

    #[test]
    fn hidden_things() {
        assert_eq!(
            judge("script", &attrs("", ""), false, false).0,
            Verdict::Junk
        );
        assert_eq!(
            judge("span", &attrs("sr-only", ""), false, false).0,
            Verdict::Normal
        );
        let style = Attrs {
            style: "color:red; display : none",
            ..Attrs::default()
        };
        assert_eq!(judge("div", &style, false, false).0, Verdict::SoftBoiler);
    }
}
