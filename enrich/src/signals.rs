//! Contact and identity signals in a page's text and links: e-mail addresses, phone numbers,
//! social profiles, legal identifiers (SIREN, SIRET, VAT, RCS, LEI, UK company numbers) and the
//! years a company gives about itself.
//!
//! These run on every crawled page, so regexes are compiled once and each function is a few
//! linear passes. A wrong signal is worse than a missing one (a phone number taken for a SIREN
//! sends registry matching astray), so patterns are anchored on a keyword or a precise shape,
//! and identifiers must pass their check digits in [`crate::ids`].

use std::sync::LazyLock;

use regex::{Captures, Regex};

use crate::ids::{normalize_lei, normalize_siren, normalize_siret, normalize_uk_company_number};

fn regex(pattern: &str) -> Regex {
    Regex::new(pattern).expect("static regex is valid")
}

/// Decodes `%XX` escapes; invalid escapes are kept as they are and invalid UTF-8 is replaced.
pub(crate) fn percent_decode(s: &str) -> String {
    if !s.contains('%') {
        return s.to_string();
    }
    let hex = |b: Option<&u8>| b.and_then(|&b| (b as char).to_digit(16));
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        if b == b'%' {
            if let (Some(h), Some(l)) = (hex(bytes.get(i + 1)), hex(bytes.get(i + 2))) {
                out.push((h * 16 + l) as u8);
                i += 3;
                continue;
            }
        }
        out.push(b);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn prev_char(text: &str, at: usize) -> Option<char> {
    text.get(..at).and_then(|s| s.chars().next_back())
}

fn next_char(text: &str, at: usize) -> Option<char> {
    text.get(at..).and_then(|s| s.chars().next())
}

/// The text from `start` spanning at most `chars` characters.
fn window_after(text: &str, start: usize, chars: usize) -> &str {
    let rest = text.get(start..).unwrap_or("");
    let end = rest
        .char_indices()
        .nth(chars)
        .map_or(rest.len(), |(i, _)| i);
    &rest[..end]
}

/// Whether two byte offsets (in either order) are at most `chars` characters apart.
fn within_chars(text: &str, a: usize, b: usize, chars: usize) -> bool {
    let (lo, hi) = if a <= b { (a, b) } else { (b, a) };
    // A character is at most 4 bytes: far-apart offsets are rejected without counting.
    hi - lo <= chars * 4 && text.get(lo..hi).is_some_and(|s| s.chars().count() <= chars)
}

/// Most values of one kind kept from one page: a real page lists a few contacts; a page with
/// thousands (a directory, a spam trap) must not cost quadratic time or bloat the tables.
pub const MAX_PER_PAGE: usize = 100;

fn push_unique<T: PartialEq>(list: &mut Vec<T>, value: T) {
    if list.len() < MAX_PER_PAGE && !list.contains(&value) {
        list.push(value);
    }
}

fn strip_prefix_ignore_case<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    let head = s.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| &s[prefix.len()..])
}

// ---------------------------------------------------------------------------------------------
// E-mail addresses

/// "[at]", "(at)", "{at}", "[arobase]", "(@)" and an upper-case " AT ".
static AT_OBFUSCATION: LazyLock<Regex> =
    LazyLock::new(|| regex(r"(?i)\s*[\[({<]\s*(?:at|arobase|@)\s*[\])}>]\s*|[ \t]+(?-i:AT)[ \t]+"));
/// "[dot]", "(dot)", "{point}" and an upper-case " DOT ".
static DOT_OBFUSCATION: LazyLock<Regex> =
    LazyLock::new(|| regex(r"(?i)\s*[\[({<]\s*(?:dot|point)\s*[\])}>]\s*|[ \t]+(?-i:DOT)[ \t]+"));
/// "contact at acme dot fr": a bare "at" only counts when the domain is spelled with "dot".
static SPOKEN_EMAIL: LazyLock<Regex> = LazyLock::new(|| {
    regex(
        r"(?i)([a-z0-9][a-z0-9._%+-]*)(?:[ \t]+at[ \t]+|@)([a-z0-9][a-z0-9-]*(?:[ \t]+dot[ \t]+[a-z0-9][a-z0-9-]*)+)",
    )
});
static EMAIL: LazyLock<Regex> = LazyLock::new(|| {
    regex(
        r"(?i)[a-z0-9._%+-]+@[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)+",
    )
});
static DOT_WORD: LazyLock<Regex> = LazyLock::new(|| regex(r"(?i)[ \t]+dot[ \t]+"));

/// Domains used in templates, documentation and error-tracking addresses.
const FAKE_EMAIL_DOMAINS: &[&str] = &[
    "example.com",
    "example.org",
    "example.net",
    "example.fr",
    "domain.com",
    "domaine.com",
    "domaine.fr",
    "email.com",
    "yourdomain.com",
    "yoursite.com",
    "mydomain.com",
    "votredomaine.com",
    "votredomaine.fr",
    "votresite.fr",
    "sentry.io",
    "sentry-next.wixpress.com",
    "wixpress.com",
];
const FAKE_EMAIL_LOCALS: &[&str] = &[
    "user",
    "username",
    "name",
    "youremail",
    "your-email",
    "your.email",
    "votre-email",
    "votre.email",
    "votreemail",
];
/// File extensions that end image and asset names like `logo@2x.png`.
const ASSET_EXTENSIONS: &[&str] = &[
    "png", "jpg", "jpeg", "gif", "webp", "svg", "avif", "bmp", "ico", "tif", "tiff", "css", "js",
    "mjs", "json", "map", "woff", "woff2", "ttf", "eot", "mp4", "webm", "pdf",
];

/// Lower-cases and validates one address; `None` for anything that is not a plausible contact.
fn clean_email(raw: &str) -> Option<String> {
    let addr = raw
        .trim()
        .trim_start_matches(['.', '-', '+', '_', '%'])
        .to_ascii_lowercase();
    if !addr.is_ascii() {
        return None;
    }
    let (local, domain) = addr.split_once('@')?;
    if local.is_empty()
        || local.len() > 64
        || local.ends_with('.')
        || local.contains("..")
        || domain.contains('@')
        || FAKE_EMAIL_LOCALS.contains(&local)
    {
        return None;
    }
    let labels: Vec<&str> = domain.split('.').collect();
    let tld = labels.last()?;
    if labels.len() < 2
        || labels.iter().any(|l| {
            l.is_empty()
                || l.len() > 63
                || l.starts_with('-')
                || l.ends_with('-')
                || !l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        })
        || !(2..=24).contains(&tld.len())
        || !tld.bytes().all(|b| b.is_ascii_alphabetic())
        || ASSET_EXTENSIONS.contains(tld)
    {
        return None;
    }
    let fake = FAKE_EMAIL_DOMAINS.iter().any(|d| {
        domain == *d
            || domain
                .strip_suffix(d)
                .is_some_and(|head| head.ends_with('.'))
    });
    (!fake).then_some(addr)
}

/// E-mail addresses from `mailto:` links and from the text, including the usual obfuscations
/// ("contact [at] acme [dot] fr", "contact(at)acme.fr", "contact AT acme DOT fr", "[arobase]",
/// "{at}", "contact at acme dot fr"). Lower-cased, deduplicated, links first then text, each in
/// first-seen order.
pub fn emails(text: &str, hrefs: &[&str]) -> Vec<String> {
    let mut out = Vec::new();
    for href in hrefs {
        let Some(rest) = strip_prefix_ignore_case(href.trim(), "mailto:") else {
            continue;
        };
        let rest = rest.split(['?', '#']).next().unwrap_or("");
        for part in percent_decode(rest).split([',', ';']) {
            if let Some(addr) = clean_email(part) {
                push_unique(&mut out, addr);
            }
        }
    }
    let text = AT_OBFUSCATION.replace_all(text, "@");
    let text = DOT_OBFUSCATION.replace_all(&text, ".");
    let text = SPOKEN_EMAIL.replace_all(&text, |c: &Captures| {
        format!("{}@{}", &c[1], DOT_WORD.replace_all(&c[2], "."))
    });
    for m in EMAIL.find_iter(&text) {
        if let Some(addr) = clean_email(m.as_str()) {
            push_unique(&mut out, addr);
        }
    }
    out
}

// ---------------------------------------------------------------------------------------------
// Phone numbers

/// International (`+CC …`), French national (`0X XX XX XX XX`, separators required) and US
/// national (`(415) 555-0100`, `415-555-0100`) numbers.
static PHONE: LazyLock<Regex> = LazyLock::new(|| {
    regex(concat!(
        r"(?P<intl>\+\d{1,3}(?:[ .\-\u{a0}\u{202f}]?(?:\(\d{1,4}\)|\d{1,5})){1,8})",
        r"|(?P<fr>0[1-9](?:[ .\-\u{a0}\u{202f}]\d{2}){4})",
        r"|(?P<us>(?:\(\d{3}\)[ \u{a0}]?|\d{3}[ .\-\u{a0}])\d{3}[ .\-\u{a0}]\d{4})",
    ))
});

/// National number lengths (without the trunk 0) for the countries leads come from most, and
/// whether a trunk "0" may be written after the country code.
const PHONE_PLANS: &[(&str, std::ops::RangeInclusive<usize>, bool)] = &[
    ("1", 10..=10, false),
    ("33", 9..=9, true),
    ("44", 9..=10, true),
    ("32", 8..=9, true),
    ("41", 9..=9, true),
    ("31", 9..=9, true),
    ("34", 9..=9, false),
    ("49", 6..=13, true),
];

/// `+` and the digits of an international number whose digit groups are `groups` (country code
/// first); trailing groups that overflow a known national length are dropped.
fn international(groups: &[String]) -> Option<String> {
    let all: String = groups.concat();
    let plan = PHONE_PLANS.iter().find(|(cc, _, _)| all.starts_with(cc));
    let Some((cc, len, trunk)) = plan else {
        return (8..=15).contains(&all.len()).then(|| format!("+{all}"));
    };
    for keep in (1..=groups.len()).rev() {
        let digits: String = groups[..keep].concat();
        let Some(national) = digits.strip_prefix(cc) else {
            break;
        };
        let national = if *trunk {
            national.strip_prefix('0').unwrap_or(national)
        } else {
            national
        };
        if len.contains(&national.len()) {
            return Some(format!("+{cc}{national}"));
        }
        if national.len() < *len.start() {
            break;
        }
    }
    None
}

/// Digit groups of a written number, with a trunk "(0)" left out.
fn digit_groups(s: &str) -> Vec<String> {
    s.replace("(0)", " ")
        .split(|c: char| !c.is_ascii_digit())
        .filter(|g| !g.is_empty())
        .map(str::to_string)
        .collect()
}

/// Normalises the number of a `tel:` link.
fn tel_number(raw: &str) -> Option<String> {
    let raw = raw.trim();
    let mut groups = digit_groups(raw);
    let plus = raw.starts_with('+');
    if !plus {
        if let Some(first) = groups.first_mut() {
            if let Some(rest) = first.strip_prefix("00") {
                *first = rest.to_string();
                return international(&groups);
            }
        }
    }
    if plus {
        return international(&groups);
    }
    let digits: String = groups.concat();
    match digits.len() {
        10 if digits.starts_with('0') => Some(format!("+33{}", &digits[1..])),
        10 if !digits.starts_with(['0', '1']) => Some(format!("+1{digits}")),
        11 if digits.starts_with('1') => Some(format!("+{digits}")),
        6..=15 => Some(digits),
        _ => None,
    }
}

fn is_number_sep(c: char) -> bool {
    matches!(c, ' ' | '.' | '-' | '/' | '\u{a0}' | '\u{202f}')
}

/// A match is a phone number only if it is not part of a longer run of digits (a SIRET, a
/// date, an amount): no digit, letter or `+` right before it, no digit right after it, and no
/// separator-then-digit on either side except a space after.
fn phone_boundaries_ok(text: &str, start: usize, end: usize) -> bool {
    if let Some(p) = prev_char(text, start) {
        if p.is_alphanumeric() || p == '+' || p == '_' {
            return false;
        }
        if is_number_sep(p)
            && prev_char(text, start - p.len_utf8()).is_some_and(|c| c.is_ascii_digit())
        {
            return false;
        }
    }
    if let Some(n) = next_char(text, end) {
        if n.is_ascii_digit() {
            return false;
        }
        if matches!(n, '.' | '-' | '/' | ',')
            && next_char(text, end + n.len_utf8()).is_some_and(|c| c.is_ascii_digit())
        {
            return false;
        }
    }
    true
}

/// Phone numbers from `tel:` links and from the text, normalised to `+` and digits
/// ("+33123456789"); French national numbers become +33, US ten-digit numbers +1. Links first,
/// then text; deduplicated.
pub fn phones(text: &str, hrefs: &[&str]) -> Vec<String> {
    let mut out = Vec::new();
    for href in hrefs {
        let href = href.trim();
        let Some(rest) = strip_prefix_ignore_case(href, "tel:")
            .or_else(|| strip_prefix_ignore_case(href, "callto:"))
        else {
            continue;
        };
        let rest = rest.split([';', '?', '#']).next().unwrap_or("");
        if let Some(n) = tel_number(&percent_decode(rest)) {
            push_unique(&mut out, n);
        }
    }
    for caps in PHONE.captures_iter(text) {
        let Some(m) = caps.get(0) else { continue };
        if !phone_boundaries_ok(text, m.start(), m.end()) {
            continue;
        }
        let number = if let Some(intl) = caps.name("intl") {
            international(&digit_groups(intl.as_str()))
        } else if let Some(fr) = caps.name("fr") {
            let digits: String = fr.as_str().chars().filter(char::is_ascii_digit).collect();
            Some(format!("+33{}", &digits[1..]))
        } else {
            let digits: String = m.as_str().chars().filter(char::is_ascii_digit).collect();
            let plausible = digits.len() == 10
                && !digits.starts_with(['0', '1'])
                && !digits[3..].starts_with(['0', '1']);
            plausible.then(|| format!("+1{digits}"))
        };
        if let Some(n) = number {
            push_unique(&mut out, n);
        }
    }
    out
}

// ---------------------------------------------------------------------------------------------
// Social profiles

/// A company's profile on a social network, as a canonical URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SocialProfile {
    /// "linkedin", "x", "facebook", "instagram", "youtube" or "github".
    pub network: &'static str,
    pub url: String,
}

const X_RESERVED: &[&str] = &[
    "intent",
    "share",
    "home",
    "search",
    "hashtag",
    "i",
    "login",
    "signup",
    "explore",
    "settings",
    "privacy",
    "tos",
    "notifications",
    "messages",
    "compose",
];
const FACEBOOK_RESERVED: &[&str] = &[
    "sharer",
    "sharer.php",
    "share",
    "share.php",
    "dialog",
    "plugins",
    "tr",
    "login",
    "login.php",
    "home.php",
    "events",
    "watch",
    "hashtag",
    "policies",
    "privacy",
    "help",
    "legal",
    "photo.php",
    "permalink.php",
    "story.php",
    "video.php",
    "ads",
    "business",
    "l.php",
    "gaming",
    "marketplace",
    "groups",
    "search",
];
const INSTAGRAM_RESERVED: &[&str] = &[
    "p",
    "reel",
    "reels",
    "explore",
    "accounts",
    "stories",
    "tv",
    "direct",
    "about",
    "legal",
    "developer",
];
const GITHUB_RESERVED: &[&str] = &[
    "features",
    "pricing",
    "about",
    "login",
    "join",
    "marketplace",
    "topics",
    "explore",
    "orgs",
    "sponsors",
    "settings",
    "site",
    "security",
    "enterprise",
    "collections",
    "trending",
    "contact",
    "apps",
    "customer-stories",
    "readme",
    "team",
    "issues",
    "pulls",
    "notifications",
    "new",
    "search",
];

fn is_handle(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 100
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | '%'))
}

fn social_profile(href: &str) -> Option<SocialProfile> {
    let href = href.trim();
    let rest = strip_prefix_ignore_case(href, "https://")
        .or_else(|| strip_prefix_ignore_case(href, "http://"))
        .or_else(|| href.strip_prefix("//"))?;
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    let host = authority.rsplit('@').next().unwrap_or("");
    let host = host.split(':').next().unwrap_or("").trim_end_matches('.');
    let host = host.to_ascii_lowercase();
    let host = host.strip_prefix("www.").unwrap_or(&host);
    let (path, query) = match tail.split('#').next().unwrap_or("").split_once('?') {
        Some((p, q)) => (p, q),
        None => (tail.split('#').next().unwrap_or(""), ""),
    };
    let segs: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    let under = |domain: &str| host == domain || host.ends_with(&format!(".{domain}"));
    let first = segs
        .first()
        .map(|s| s.to_ascii_lowercase())
        .unwrap_or_default();

    let (network, canonical) = if under("linkedin.com") {
        let slug = segs.get(1)?;
        let kind = ["company", "in", "school", "showcase"]
            .into_iter()
            .find(|k| *k == first)?;
        if !is_handle(slug) {
            return None;
        }
        (
            "linkedin",
            format!("linkedin.com/{kind}/{}", slug.to_ascii_lowercase()),
        )
    } else if matches!(
        host,
        "twitter.com" | "mobile.twitter.com" | "x.com" | "mobile.x.com"
    ) {
        let handle = match segs.as_slice() {
            [h] => *h,
            _ => return None,
        };
        let valid = handle.len() <= 15
            && handle
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_')
            && !X_RESERVED.contains(&first.as_str());
        if !valid || handle.is_empty() {
            return None;
        }
        ("x", format!("x.com/{}", handle.to_ascii_lowercase()))
    } else if under("facebook.com") || host == "fb.com" {
        if first == "profile.php" {
            let id = query
                .split('&')
                .find_map(|kv| kv.strip_prefix("id="))
                .filter(|id| !id.is_empty() && id.bytes().all(|b| b.is_ascii_digit()))?;
            ("facebook", format!("facebook.com/profile.php?id={id}"))
        } else if first == "pages" || first == "people" {
            let parts = segs.get(1..3.min(segs.len()))?;
            if parts.is_empty() || !parts.iter().all(|p| is_handle(p)) {
                return None;
            }
            let parts: Vec<String> = parts.iter().map(|p| p.to_ascii_lowercase()).collect();
            (
                "facebook",
                format!("facebook.com/{first}/{}", parts.join("/")),
            )
        } else {
            if first.is_empty() || FACEBOOK_RESERVED.contains(&first.as_str()) || !is_handle(&first)
            {
                return None;
            }
            ("facebook", format!("facebook.com/{first}"))
        }
    } else if under("instagram.com") {
        if first.is_empty() || INSTAGRAM_RESERVED.contains(&first.as_str()) || !is_handle(&first) {
            return None;
        }
        ("instagram", format!("instagram.com/{first}"))
    } else if under("youtube.com") {
        if first.starts_with('@') && first.len() > 1 && is_handle(&first[1..]) {
            ("youtube", format!("youtube.com/{first}"))
        } else if matches!(first.as_str(), "channel" | "c" | "user") {
            let id = segs.get(1).filter(|s| is_handle(s))?;
            // Channel ids are case-sensitive; custom and user names are not.
            let id = if first == "channel" {
                id.to_string()
            } else {
                id.to_ascii_lowercase()
            };
            ("youtube", format!("youtube.com/{first}/{id}"))
        } else {
            return None;
        }
    } else if host == "github.com" {
        match segs.as_slice() {
            [org] if is_handle(org) && !GITHUB_RESERVED.contains(&first.as_str()) => {
                ("github", format!("github.com/{first}"))
            }
            _ => return None,
        }
    } else {
        return None;
    };
    Some(SocialProfile {
        network,
        url: format!("https://{canonical}"),
    })
}

/// Profile links among `hrefs`: LinkedIn company/person pages, X (Twitter) and GitHub accounts,
/// Facebook and Instagram pages, YouTube channels. Share and intent links, bare domains and
/// posts are dropped. URLs are canonical (`https://`, no `www.` or country subdomain, no query,
/// fragment or trailing slash, handles lower-cased, twitter.com written x.com), deduplicated in
/// first-seen order.
pub fn social_profiles(hrefs: &[&str]) -> Vec<SocialProfile> {
    let mut out = Vec::new();
    for href in hrefs {
        if let Some(p) = social_profile(href) {
            push_unique(&mut out, p);
        }
    }
    out
}

// ---------------------------------------------------------------------------------------------
// Legal identifiers

/// Company identifiers printed on a page (typically its legal notice). Each list is
/// deduplicated, in order of first appearance in the text.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct LegalIds {
    /// 9 digits; also those inside SIRET, VAT and RCS numbers.
    pub siren: Vec<String>,
    /// 14 digits.
    pub siret: Vec<String>,
    /// French intra-community VAT numbers with a valid key, e.g. "FR40123456824".
    pub vat: Vec<String>,
    /// "Paris B 552100554": registry city, letter when printed, SIREN.
    pub rcs: Vec<String>,
    /// 20 characters, upper case.
    pub lei: Vec<String>,
    /// 8 characters, as returned by [`normalize_uk_company_number`].
    pub uk_company_numbers: Vec<String>,
}

/// How far (in characters) a number may be from the keyword that introduces it.
const KEYWORD_REACH: usize = 40;

static ID_KEYWORD: LazyLock<Regex> = LazyLock::new(|| {
    regex(concat!(
        r"(?i)(?P<fr>siren|siret|immatricul|n[ \u{a0}]?[°º]|num[ée]ro)",
        r"|(?P<vat>tva|vat)",
        r"|(?P<rcs>r\.?[ \u{a0}]?c\.?[ \u{a0}]?s\.?)",
        r"|(?P<lei>lei)",
        r"|(?P<uk>company[ \u{a0}]+(?:registration[ \u{a0}]+)?(?:number|no\.?|reg)",
        r"|registered[ \u{a0}]+in[ \u{a0}]+(?:england|scotland|wales))",
    ))
});
/// A run of digits with single spaces or dots between groups.
static DIGIT_RUN: LazyLock<Regex> = LazyLock::new(|| regex(r"\d(?:[ .\u{a0}\u{202f}]?\d)*"));
static FR_VAT: LazyLock<Regex> = LazyLock::new(|| {
    regex(r"(?i)FR[ \u{a0}]?(\d{2})[ \u{a0}]?(\d{3}[ \u{a0}]?\d{3}[ \u{a0}]?\d{3})")
});
static LEI_CANDIDATE: LazyLock<Regex> = LazyLock::new(|| regex(r"(?i)[a-z0-9]{18}\d{2}"));
static UK_CANDIDATE: LazyLock<Regex> = LazyLock::new(|| regex(r"[A-Z]{2}\d{6}|\d{6,8}"));

#[derive(Clone, Copy, PartialEq)]
enum KeywordKind {
    French,
    Vat,
    Rcs,
    Lei,
    Uk,
}

struct Keyword {
    start: usize,
    end: usize,
    kind: KeywordKind,
}

fn keywords(text: &str) -> Vec<Keyword> {
    let mut out = Vec::new();
    for caps in ID_KEYWORD.captures_iter(text) {
        let Some(m) = caps.get(0) else { continue };
        let kind = if caps.name("fr").is_some() {
            KeywordKind::French
        } else if caps.name("vat").is_some() {
            KeywordKind::Vat
        } else if caps.name("rcs").is_some() {
            KeywordKind::Rcs
        } else if caps.name("lei").is_some() {
            KeywordKind::Lei
        } else {
            KeywordKind::Uk
        };
        let word = m.as_str().to_ascii_lowercase();
        // "private", "Leipzig", "sources": short keywords must stand alone.
        let open_ended = word.starts_with("immatricul");
        let before_ok = !prev_char(text, m.start()).is_some_and(char::is_alphanumeric);
        let after_ok = open_ended
            || m.as_str().ends_with(['.', '°', 'º'])
            || !next_char(text, m.end()).is_some_and(char::is_alphanumeric);
        if before_ok && after_ok {
            out.push(Keyword {
                start: m.start(),
                end: m.end(),
                kind,
            });
        }
    }
    out
}

/// A 9- or 14-digit French number found in the text.
struct FrenchNumber {
    start: usize,
    end: usize,
    siren: String,
    siret: Option<String>,
}

/// Valid SIREN/SIRET numbers among runs of digits: the whole run, else its leading groups
/// (a SIRET followed by a postcode, a SIREN followed by a NIC on the same line).
fn french_numbers(text: &str) -> Vec<FrenchNumber> {
    let mut out = Vec::new();
    for m in DIGIT_RUN.find_iter(text) {
        if prev_char(text, m.start()) == Some('+') {
            continue;
        }
        let after = window_after(text, m.end(), 8).trim_start().to_lowercase();
        if after.starts_with(['€', '$', '£', '%']) || after.starts_with("eur") {
            continue;
        }
        let groups: Vec<&str> = m
            .as_str()
            .split(|c: char| !c.is_ascii_digit())
            .filter(|g| !g.is_empty())
            .collect();
        let total: usize = groups.iter().map(|g| g.len()).sum();
        let mut prefixes = Vec::new();
        let mut acc = String::new();
        for g in &groups {
            acc.push_str(g);
            prefixes.push(acc.clone());
        }
        let found = prefixes
            .iter()
            .rev()
            .filter(|p| p.len() == 14 || (total != 14 && p.len() == 9))
            .find_map(|p| {
                if p.len() == 14 {
                    normalize_siret(p)
                        .ok()
                        .map(|s| (s[..9].to_string(), Some(s)))
                } else {
                    normalize_siren(p).ok().map(|s| (s, None))
                }
            });
        if let Some((siren, siret)) = found {
            out.push(FrenchNumber {
                start: m.start(),
                end: m.end(),
                siren,
                siret,
            });
        }
    }
    out
}

/// Registry city and letter after "RCS": "RCS de Paris B", "R.C.S. NANTERRE", "RCS Aix-en-Provence".
fn rcs_city(after_keyword: &str) -> (String, Option<char>) {
    const STOP: &[&str] = &[
        "siren", "siret", "tva", "vat", "rcs", "capital", "sous", "under", "number", "numéro",
        "numero", "n°", "no", "le", "au",
    ];
    let mut rest =
        after_keyword.trim_start_matches(|c: char| c.is_whitespace() || ":.,".contains(c));
    for connector in ["de ", "du ", "d'", "d’", "of "] {
        if let Some(r) = strip_prefix_ignore_case(rest, connector) {
            rest = r.trim_start();
            break;
        }
    }
    let mut city: Vec<&str> = Vec::new();
    let mut letter = None;
    for token in rest.split_whitespace().take(5) {
        let token = token.trim_end_matches([',', ':', ';']);
        if token.len() == 1 && token.chars().all(|c| ('A'..='D').contains(&c)) {
            letter = token.chars().next();
            break;
        }
        let starts_upper = token.chars().next().is_some_and(char::is_uppercase);
        let wordlike = token
            .chars()
            .all(|c| c.is_alphabetic() || matches!(c, '-' | '\'' | '’'));
        if !starts_upper || !wordlike || STOP.contains(&token.to_lowercase().as_str()) {
            break;
        }
        city.push(token);
    }
    (city.join(" "), letter)
}

#[derive(Clone, Copy)]
enum IdField {
    Siren,
    Siret,
    Vat,
    Rcs,
    Lei,
    Uk,
}

/// SIREN, SIRET, French VAT, RCS, LEI and UK company numbers printed in `text`. Numbers are only
/// taken near a keyword that introduces them (SIREN, SIRET, RCS, TVA/VAT, "immatriculée", "n°",
/// LEI, "Company number", "Registered in England") so that phone numbers and amounts are not
/// mistaken for them, and only when their check digits are valid.
pub fn legal_ids(text: &str) -> LegalIds {
    let mut found: Vec<(usize, IdField, String)> = Vec::new();
    let keywords = keywords(text);
    let near = |kinds: &[KeywordKind], start: usize, end: usize| {
        keywords.iter().any(|k| {
            kinds.contains(&k.kind)
                && ((k.end <= start && within_chars(text, k.end, start, KEYWORD_REACH))
                    || (k.start >= end && within_chars(text, end, k.start, KEYWORD_REACH)))
        })
    };

    for m in FR_VAT.captures_iter(text) {
        let (Some(all), Some(key), Some(siren)) = (m.get(0), m.get(1), m.get(2)) else {
            continue;
        };
        let boundary_ok = !prev_char(text, all.start()).is_some_and(char::is_alphanumeric)
            && !next_char(text, all.end()).is_some_and(|c| c.is_ascii_digit());
        let Ok(siren) = normalize_siren(siren.as_str()) else {
            continue;
        };
        let Ok(key) = key.as_str().parse::<u64>() else {
            continue;
        };
        let Ok(n) = siren.parse::<u64>() else {
            continue;
        };
        if boundary_ok && key == (12 + 3 * (n % 97)) % 97 {
            found.push((all.start(), IdField::Vat, format!("FR{key:02}{siren}")));
            found.push((all.start(), IdField::Siren, siren));
        }
    }

    let any = |kind: KeywordKind| keywords.iter().any(|k| k.kind == kind);
    let numbers = if any(KeywordKind::French) || any(KeywordKind::Vat) || any(KeywordKind::Rcs) {
        french_numbers(text)
    } else {
        Vec::new()
    };
    let french_kinds = [KeywordKind::French, KeywordKind::Vat, KeywordKind::Rcs];
    for n in &numbers {
        if near(&french_kinds, n.start, n.end) {
            if let Some(siret) = &n.siret {
                found.push((n.start, IdField::Siret, siret.clone()));
            }
            found.push((n.start, IdField::Siren, n.siren.clone()));
        }
    }

    for k in &keywords {
        match k.kind {
            KeywordKind::Rcs => {
                let after = window_after(text, k.end, KEYWORD_REACH + 20);
                let (city, letter) = rcs_city(after);
                let number = numbers
                    .iter()
                    .find(|n| n.start >= k.end && within_chars(text, k.end, n.start, KEYWORD_REACH))
                    .or_else(|| {
                        numbers.iter().rev().find(|n| {
                            n.end <= k.start && within_chars(text, n.end, k.start, KEYWORD_REACH)
                        })
                    });
                if let (Some(n), false) = (number, city.is_empty()) {
                    let rcs = match letter {
                        Some(l) => format!("{city} {l} {}", n.siren),
                        None => format!("{city} {}", n.siren),
                    };
                    found.push((k.start, IdField::Rcs, rcs));
                }
            }
            KeywordKind::Lei => {
                let window = window_after(text, k.end, KEYWORD_REACH + 20);
                for m in LEI_CANDIDATE.find_iter(window) {
                    let (s, e) = (k.end + m.start(), k.end + m.end());
                    let standalone = !prev_char(text, s).is_some_and(char::is_alphanumeric)
                        && !next_char(text, e).is_some_and(char::is_alphanumeric);
                    if let (true, Ok(lei)) = (standalone, normalize_lei(m.as_str())) {
                        found.push((s, IdField::Lei, lei));
                        break;
                    }
                }
            }
            KeywordKind::Uk => {
                let window = window_after(text, k.end, KEYWORD_REACH + 20);
                for m in UK_CANDIDATE.find_iter(window) {
                    let (s, e) = (k.end + m.start(), k.end + m.end());
                    let standalone = !prev_char(text, s).is_some_and(char::is_alphanumeric)
                        && !next_char(text, e).is_some_and(char::is_alphanumeric);
                    if let (true, Ok(number)) =
                        (standalone, normalize_uk_company_number(m.as_str()))
                    {
                        found.push((s, IdField::Uk, number));
                        break;
                    }
                }
            }
            _ => {}
        }
    }

    found.sort_by_key(|(pos, _, _)| *pos);
    let mut ids = LegalIds::default();
    for (_, field, value) in found {
        let list = match field {
            IdField::Siren => &mut ids.siren,
            IdField::Siret => &mut ids.siret,
            IdField::Vat => &mut ids.vat,
            IdField::Rcs => &mut ids.rcs,
            IdField::Lei => &mut ids.lei,
            IdField::Uk => &mut ids.uk_company_numbers,
        };
        push_unique(list, value);
    }
    ids
}

// ---------------------------------------------------------------------------------------------
// Years

static COPYRIGHT: LazyLock<Regex> = LazyLock::new(|| {
    regex(concat!(
        r"(?i)(?:©|&copy;|\(c\)|copyright)(?:\s*(?:©|\(c\)))?[^\d\n<]{0,40}?",
        r"((?:19|20)\d{2})(?:\s*(?:-|–|—|to|à|/)\s*((?:19|20)\d{2}|\d{2}))?",
    ))
});
static FOUNDING: LazyLock<Regex> = LazyLock::new(|| {
    regex(concat!(
        r"(?i)(?:founded|established|est\.|since|depuis|cr[ée]{1,2}e?s?|fond[ée]e?s?)",
        r"\s*:?\s*(?:in\s+|en\s+|le\s+|on\s+)?",
        r"(?:\d{1,2}(?:er)?\s+\p{L}+\s+|\p{L}+\s+\d{1,2},?\s+)?",
        r"((?:1[6-9]|20)\d{2})",
    ))
});

fn year_at(text: &str, m: regex::Match<'_>, range: std::ops::RangeInclusive<u16>) -> Option<u16> {
    if next_char(text, m.end()).is_some_and(|c| c.is_ascii_digit()) {
        return None;
    }
    m.as_str().parse().ok().filter(|y| range.contains(y))
}

fn sorted_unique(mut years: Vec<u16>) -> Vec<u16> {
    years.sort_unstable();
    years.dedup();
    years
}

/// Years in copyright notices ("© 2019", "(c) 2015-2024", "Copyright 2012–2023",
/// "© 2008 - 2025", "© Acme 2021"); a range gives both ends. Distinct, ascending, within
/// 1950..=2100.
pub fn copyright_years(text: &str) -> Vec<u16> {
    let mut years = Vec::new();
    for caps in COPYRIGHT.captures_iter(text) {
        let Some(first) = caps.get(1) else { continue };
        let Some(start) = year_at(text, first, 1950..=2100) else {
            continue;
        };
        years.push(start);
        if let Some(last) = caps.get(2) {
            if next_char(text, last.end()).is_some_and(|c| c.is_ascii_digit()) {
                continue;
            }
            let end = match last.as_str().parse::<u16>() {
                Ok(y) if last.as_str().len() == 2 => start - start % 100 + y,
                Ok(y) => y,
                Err(_) => continue,
            };
            if (start..=2100).contains(&end) {
                years.push(end);
            }
        }
    }
    sorted_unique(years)
}

/// Founding years as companies state them: "founded in 1998", "since 1987", "established
/// 1975", "Est. 1920", "créée en 1998", "fondée en 2004", "fondée le 3 mars 2004",
/// "depuis 1987". Distinct, ascending.
pub fn founding_years(text: &str) -> Vec<u16> {
    let mut years = Vec::new();
    for caps in FOUNDING.captures_iter(text) {
        let (Some(all), Some(year)) = (caps.get(0), caps.get(1)) else {
            continue;
        };
        if prev_char(text, all.start()).is_some_and(char::is_alphanumeric) {
            continue;
        }
        if let Some(y) = year_at(text, year, 1700..=2100) {
            years.push(y);
        }
    }
    sorted_unique(years)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_from_mailto_and_text() {
        let hrefs = [
            "mailto:Contact%40Acme.fr?subject=Hello%20there",
            "MAILTO:sales@acme.fr,support@acme.fr",
            "https://acme.fr/contact",
        ];
        let text = "Write to contact@acme.fr or jobs@acme.fr. Press: presse@acme.fr";
        assert_eq!(
            emails(text, &hrefs),
            [
                "contact@acme.fr",
                "sales@acme.fr",
                "support@acme.fr",
                "jobs@acme.fr",
                "presse@acme.fr"
            ]
        );
    }

    #[test]
    fn obfuscated_emails() {
        for (text, want) in [
            ("Contact : contact [at] acme.fr", "contact@acme.fr"),
            ("contact(at)acme(dot)fr", "contact@acme.fr"),
            ("écrivez à info [arobase] acme [point] fr !", "info@acme.fr"),
            ("hello{at}acme.io", "hello@acme.io"),
            ("sales AT acme DOT com", "sales@acme.com"),
            (
                "reach us: contact at acme dot co dot uk",
                "contact@acme.co.uk",
            ),
            ("mail (@) acme.fr", "mail@acme.fr"),
        ] {
            assert_eq!(emails(text, &[]), [want], "{text}");
        }
    }

    #[test]
    fn email_false_positives() {
        let text = "Look at this. It is at home dot. See logo@2x.png and icon@3x.webp. \
                    lodash@4.17.21, me@example.com, a1b2c3@sentry.wixpress.com, \
                    abc@o123.ingest.sentry.io, user@acme.fr, x@y.z, name@domain.com";
        assert!(emails(text, &[]).is_empty(), "{:?}", emails(text, &[]));
        assert!(emails("", &["mailto:", "mailto:?subject=x"]).is_empty());
    }

    #[test]
    fn emails_dedupe_lowercase() {
        let got = emails(
            "Contact@ACME.fr, contact@acme.fr",
            &["mailto:CONTACT@acme.FR"],
        );
        assert_eq!(got, ["contact@acme.fr"]);
    }

    #[test]
    fn phones_in_text() {
        let text = "Tél : +33 1 23 45 67 89 — standard 01 23 45 67 80, fax 01.23.45.67.81. \
                    US: +1 (415) 555-0100, (212) 555-0199, 646-555-0142. UK +44 20 7946 0958. \
                    Paris +33 (0)1 40 00 00 00.";
        assert_eq!(
            phones(text, &[]),
            [
                "+33123456789",
                "+33123456780",
                "+33123456781",
                "+14155550100",
                "+12125550199",
                "+16465550142",
                "+442079460958",
                "+33140000000",
            ]
        );
    }

    #[test]
    fn phones_from_tel_links() {
        let hrefs = [
            "tel:+33123456789",
            "tel:01%2023%2045%2067%2089",
            "TEL:0033 1 40 00 00 00",
            "tel:+1-415-555-0100",
            "https://acme.fr",
        ];
        assert_eq!(
            phones("", &hrefs),
            ["+33123456789", "+33140000000", "+14155550100"]
        );
    }

    #[test]
    fn phones_not_dates_ids_or_amounts() {
        let text = "Publié le 2024-01-15. SIRET 552 100 554 00013, SIRET 55210055400013. \
                    Prix : 1 234,56 €, 12 345 678. Années 2015-2024, 1998 – 2003. \
                    75008 Paris, 92100 Boulogne. Ref 0123456789. Order 123-45-6789. \
                    Version 1.2.3.4.5, ISBN 978-3-16-148410-0, 01/02/2023 10:30.";
        assert!(phones(text, &[]).is_empty(), "{:?}", phones(text, &[]));
    }

    #[test]
    fn international_trims_trailing_postcode() {
        assert_eq!(
            phones("+33 1 23 45 67 89 75008 Paris", &[]),
            ["+33123456789"]
        );
    }

    #[test]
    fn social_profiles_are_canonical() {
        let hrefs = [
            "https://fr.linkedin.com/company/acme-sas/",
            "https://www.linkedin.com/company/ACME-SAS/about/?trk=x",
            "http://www.linkedin.com/in/jane-doe",
            "https://twitter.com/AcmeHQ",
            "https://x.com/acmehq?lang=fr",
            "https://www.facebook.com/acme.fr/",
            "https://www.instagram.com/acme_fr/",
            "https://www.youtube.com/@AcmeTV",
            "https://www.youtube.com/channel/UCabcDEF123",
            "https://github.com/acme-labs",
        ];
        let got: Vec<(&str, String)> = social_profiles(&hrefs)
            .into_iter()
            .map(|p| (p.network, p.url))
            .collect();
        let want = [
            ("linkedin", "https://linkedin.com/company/acme-sas"),
            ("linkedin", "https://linkedin.com/in/jane-doe"),
            ("x", "https://x.com/acmehq"),
            ("facebook", "https://facebook.com/acme.fr"),
            ("instagram", "https://instagram.com/acme_fr"),
            ("youtube", "https://youtube.com/@acmetv"),
            ("youtube", "https://youtube.com/channel/UCabcDEF123"),
            ("github", "https://github.com/acme-labs"),
        ];
        let want: Vec<(&str, String)> = want.iter().map(|(n, u)| (*n, u.to_string())).collect();
        assert_eq!(got, want);
    }

    #[test]
    fn share_links_and_roots_are_not_profiles() {
        let hrefs = [
            "https://twitter.com/intent/tweet?text=hi",
            "https://twitter.com/share?url=x",
            "https://twitter.com/",
            "https://www.facebook.com/sharer/sharer.php?u=x",
            "https://www.facebook.com/",
            "https://www.linkedin.com/shareArticle?mini=true",
            "https://www.linkedin.com/sharing/share-offsite/?url=x",
            "https://www.linkedin.com/",
            "https://www.instagram.com/p/Cxyz/",
            "https://www.youtube.com/watch?v=abc",
            "https://github.com/twbs/bootstrap",
            "https://github.com/features",
            "https://twitter.com/acme/status/123",
            "mailto:contact@acme.fr",
            "/company/acme",
            "https://notlinkedin.com/company/acme",
        ];
        assert!(
            social_profiles(&hrefs).is_empty(),
            "{:?}",
            social_profiles(&hrefs)
        );
    }

    #[test]
    fn facebook_profile_php_keeps_id() {
        let got = social_profiles(&["https://m.facebook.com/profile.php?id=1000123&ref=x"]);
        assert_eq!(got[0].url, "https://facebook.com/profile.php?id=1000123");
    }

    /// French VAT key of a SIREN.
    fn vat_of(siren: &str) -> String {
        let n: u64 = siren.parse().unwrap();
        format!("FR{:02}{siren}", (12 + 3 * (n % 97)) % 97)
    }

    #[test]
    fn test_numbers_are_valid() {
        assert!(normalize_siren("552100554").is_ok());
        assert!(normalize_siren("732829320").is_ok());
        assert!(normalize_siret("55210055400013").is_ok());
        assert!(normalize_siret("73282932000074").is_ok());
        assert_eq!(vat_of("552100554"), "FR96552100554");
    }

    #[test]
    fn legal_notice_ids() {
        let text = "Acme SAS au capital de 10 000 €. SIREN : 552 100 554. \
                    Siège : SIRET 732.829.320.00074 — R.C.S. Nanterre B 732 829 320. \
                    TVA intracommunautaire : FR 96 552100554. Tél. 01 23 45 67 89.";
        let ids = legal_ids(text);
        assert_eq!(ids.siren, ["552100554", "732829320"]);
        assert_eq!(ids.siret, ["73282932000074"]);
        assert_eq!(ids.rcs, ["Nanterre B 732829320"]);
        assert_eq!(ids.vat, ["FR96552100554"]);
        assert!(ids.lei.is_empty() && ids.uk_company_numbers.is_empty());
    }

    #[test]
    fn rcs_forms() {
        let ids = legal_ids("immatriculée au RCS de Paris sous le numéro 552 100 554");
        assert_eq!(ids.rcs, ["Paris 552100554"]);
        assert_eq!(ids.siren, ["552100554"]);
        let ids = legal_ids("SAS, 552100554 R.C.S. Paris");
        assert_eq!(ids.rcs, ["Paris 552100554"]);
        let ids = legal_ids("RCS Aix-en-Provence B 552100554");
        assert_eq!(ids.rcs, ["Aix-en-Provence B 552100554"]);
    }

    #[test]
    fn vat_implies_siren_without_keyword() {
        let ids = legal_ids(&format!("N° {}", vat_of("732829320")));
        assert_eq!(ids.vat, [vat_of("732829320")]);
        assert_eq!(ids.siren, ["732829320"]);
    }

    #[test]
    fn legal_ids_rejections() {
        // Wrong VAT key, SIREN failing Luhn, valid SIREN far from any keyword, amounts, phones.
        for text in [
            "TVA FR40552100554.",
            "SIREN 552 100 555.",
            "Our office is open every day; ask for the accounting department: 552100554.",
            "SIREN capital 732 829 320 €.",
            "SIRET : +33 1 23 45 67 89.",
            "In private 552100554.",
            "Leipzig 552100554.",
            "",
        ] {
            assert_eq!(legal_ids(text), LegalIds::default(), "{text}");
        }
    }

    #[test]
    fn siret_followed_by_postcode() {
        let ids = legal_ids("SIRET 552 100 554 00013 75008 Paris");
        assert_eq!(ids.siret, ["55210055400013"]);
        assert_eq!(ids.siren, ["552100554"]);
    }

    #[test]
    fn lei_and_uk_numbers() {
        let text = "LEI: HWUPKR0MPOU8FGXBT394. Acme Ltd, registered in England and Wales, \
                    company number 01234567. Scottish branch: Company No. SC123456. \
                    LEI code HWUPKR0MPOU8FGXBT395 (typo).";
        let ids = legal_ids(text);
        assert_eq!(ids.lei, ["HWUPKR0MPOU8FGXBT394"]);
        assert_eq!(ids.uk_company_numbers, ["01234567", "SC123456"]);
        assert!(legal_ids("Visit Leipzig HWUPKR0MPOU8FGXBT394")
            .lei
            .is_empty());
    }

    #[test]
    fn copyright_notices() {
        assert_eq!(copyright_years("© 2019 Acme"), [2019]);
        assert_eq!(copyright_years("(c) 2015-2024 Acme"), [2015, 2024]);
        assert_eq!(copyright_years("Copyright 2012–2023"), [2012, 2023]);
        assert_eq!(copyright_years("© 2008 - 2025. © 2008"), [2008, 2025]);
        assert_eq!(copyright_years("Copyright © Acme SAS 2021"), [2021]);
        assert_eq!(copyright_years("© 2010-15"), [2010, 2015]);
        assert!(copyright_years("In 2019 we grew. Price 2019 €. © 1850").is_empty());
        assert!(copyright_years("© 20195").is_empty());
    }

    #[test]
    fn founding_statements() {
        assert_eq!(founding_years("Founded in 1998 in Lyon"), [1998]);
        assert_eq!(founding_years("Family business since 1987."), [1987]);
        assert_eq!(founding_years("Established 1975"), [1975]);
        assert_eq!(founding_years("Est. 1920"), [1920]);
        assert_eq!(
            founding_years("La société, créée en 1998, puis fondée en 2004"),
            [1998, 2004]
        );
        assert_eq!(founding_years("Depuis 1987, nous..."), [1987]);
        assert_eq!(founding_years("fondée le 3 mars 2004"), [2004]);
        assert!(
            founding_years("We are the best in 1998 and 12345. Since then, growth.").is_empty()
        );
        assert!(founding_years("Est. 19201").is_empty());
    }

    #[test]
    fn percent_decoding() {
        assert_eq!(percent_decode("a%20b%C3%A9%zz%4"), "a bé%zz%4");
        assert_eq!(percent_decode("%"), "%");
    }
}
