//! Which elements are chrome rather than content, judged from tag, role, class and id.
//!
//! Three verdicts: [`Verdict::Junk`] elements carry no readable text at all (scripts, forms
//! controls, hidden elements) and are skipped; [`Verdict::Boiler`] elements carry text that is
//! page chrome (navigation, site header and footer, cookie and newsletter banners, share bars,
//! comments, related links) and is kept aside for signals but not in the main text;
//! [`Verdict::Content`] marks an explicit content container (`itemprop=articleBody`, the usual
//! article-body class names) that the main-text selection prefers.

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
    "widget",
    "widgets",
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
    "banner",
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
    "recirculation",
    "trending",
    "most",
    "popular",
    "recommended",
];

/// Substrings (in the lower-cased class/id) that mark chrome even inside longer names.
const BOILER_PARTS: &[&str] = &[
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

/// Tokens that say "this is the content" and overrule a weak chrome token next to them
/// (`post-header` yes, `cookie-content` no: cookie/consent/comment always win).
const CONTENT_TOKENS: &[&str] = &[
    "content", "article", "main", "body", "post", "entry", "story", "text", "page",
];

const STRONG_BOILER_PARTS: &[&str] = &[
    "cookie",
    "consent",
    "gdpr",
    "comment",
    "newsletter",
    "share",
    "social",
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

const HIDDEN_CLASSES: &[&str] = &[
    "hidden",
    "sr-only",
    "visually-hidden",
    "visuallyhidden",
    "screen-reader-text",
    "screen-reader-only",
    "d-none",
    "hide",
    "invisible",
    "is-hidden",
    "u-hidden",
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
    pub hidden: bool,
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
                "itemprop" => attrs.itemprop = value,
                "hidden" => attrs.hidden = true,
                "aria-hidden" => attrs.aria_hidden = value.eq_ignore_ascii_case("true"),
                _ => {}
            }
        }
        attrs
    }
}

/// Judges one element. `in_content` says whether an `<article>` or `<main>` is open around it
/// (a `<header>` or `<footer>` there belongs to the article, not to the site).
pub(crate) fn judge(tag: &str, attrs: &Attrs<'_>, in_content: bool) -> Verdict {
    if junk_tag(tag) || attrs.hidden || hidden_style(attrs.style) {
        return Verdict::Junk;
    }
    if attrs.aria_hidden && tag != "body" && tag != "html" {
        return Verdict::Junk;
    }
    let names = lowercase_names(attrs);
    if !names.is_empty()
        && names
            .split(|c: char| c.is_ascii_whitespace())
            .any(|class| HIDDEN_CLASSES.contains(&class))
    {
        return Verdict::Junk;
    }
    if attrs.itemprop.eq_ignore_ascii_case("articlebody")
        || attrs.itemprop.eq_ignore_ascii_case("text")
        || CONTENT_NAMES.iter().any(|n| names.contains(n))
    {
        return Verdict::Content;
    }
    match tag {
        "nav" | "aside" | "menu" => return Verdict::Boiler,
        "header" | "footer" if !in_content => return Verdict::Boiler,
        "body" | "html" | "main" | "article" => return Verdict::Normal,
        _ => {}
    }
    let role = attrs.role.trim();
    if !role.is_empty() && BOILER_ROLES.iter().any(|r| role.eq_ignore_ascii_case(r)) {
        return Verdict::Boiler;
    }
    if tag == "form" && !names.contains("aspnet") && !names.contains("form1") {
        return Verdict::Boiler;
    }
    if names.is_empty() || matches!(tag, "h1" | "h2" | "h3" | "h4" | "h5" | "h6") {
        return Verdict::Normal;
    }
    if STRONG_BOILER_PARTS.iter().any(|p| names.contains(p)) {
        return Verdict::Boiler;
    }
    let mut boiler = false;
    let mut content = false;
    for token in names.split(|c: char| !c.is_ascii_alphanumeric()) {
        if token.is_empty() {
            continue;
        }
        if BOILER_TOKENS.contains(&token) {
            boiler = true;
        } else if CONTENT_TOKENS.contains(&token) {
            content = true;
        }
    }
    if !boiler && !content {
        boiler = BOILER_PARTS.iter().any(|p| names.contains(p));
    }
    if boiler && !content {
        Verdict::SoftBoiler
    } else {
        Verdict::Normal
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
        assert_eq!(judge("nav", &attrs("", ""), false), Verdict::Boiler);
        assert_eq!(judge("footer", &attrs("", ""), false), Verdict::Boiler);
        assert_eq!(judge("footer", &attrs("", ""), true), Verdict::Normal);
        assert_eq!(judge("div", &attrs("cookie-banner", ""), false), Verdict::Boiler);
        assert_eq!(judge("div", &attrs("", "CybotCookiebotDialog"), false), Verdict::Boiler);
        assert_eq!(judge("div", &attrs("site-footer__inner", ""), false), Verdict::SoftBoiler);
        assert_eq!(judge("h1", &attrs("header__heading", ""), false), Verdict::Normal);
        let role = Attrs {
            role: "navigation",
            ..Attrs::default()
        };
        assert_eq!(judge("div", &role, false), Verdict::Boiler);
    }

    #[test]
    fn content_names_are_not_chrome() {
        assert_eq!(judge("div", &attrs("post-header", ""), false), Verdict::Normal);
        assert_eq!(judge("div", &attrs("entry-content", ""), false), Verdict::Content);
        assert_eq!(judge("div", &attrs("shadow download", ""), false), Verdict::Normal);
        assert_eq!(judge("div", &attrs("comment-content", ""), false), Verdict::Boiler);
        let body = Attrs {
            itemprop: "articleBody",
            ..Attrs::default()
        };
        assert_eq!(judge("div", &body, false), Verdict::Content);
    }

    #[test]
    fn hidden_things_are_junk() {
        assert_eq!(judge("script", &attrs("", ""), false), Verdict::Junk);
        assert_eq!(judge("span", &attrs("sr-only", ""), false), Verdict::Junk);
        let style = Attrs {
            style: "color:red; display : none",
            ..Attrs::default()
        };
        assert_eq!(judge("div", &style, false), Verdict::Junk);
    }
}
