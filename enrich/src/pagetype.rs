//! What a crawled page is for (home, about, pricing, careers, legal notice, …), from its URL
//! first and its title and headings when the URL says nothing.
//!
//! Features are computed per page type ("has a pricing page", "text of the about page"), so
//! this is a cheap, predictable classifier over English and French keywords rather than a
//! model: a URL segment like `/nous-rejoindre/` or `/tarifs.html` settles it.
//!
//! This is the one page-topic vocabulary of the project: the crawler ranks the links it has yet
//! to fetch by [`classify_link`], so a page typed here is also a page fetched early.

use crate::signals::percent_decode;

/// The kind of a page on a company website.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PageType {
    Home,
    About,
    Product,
    Pricing,
    Customers,
    Careers,
    Contact,
    Legal,
    Blog,
    Other,
}

impl PageType {
    pub const ALL: [PageType; 10] = [
        PageType::Home,
        PageType::About,
        PageType::Product,
        PageType::Pricing,
        PageType::Customers,
        PageType::Careers,
        PageType::Contact,
        PageType::Legal,
        PageType::Blog,
        PageType::Other,
    ];

    /// Lower-case name used in tables: "home", "about", …
    pub fn as_str(self) -> &'static str {
        match self {
            PageType::Home => "home",
            PageType::About => "about",
            PageType::Product => "product",
            PageType::Pricing => "pricing",
            PageType::Customers => "customers",
            PageType::Careers => "careers",
            PageType::Contact => "contact",
            PageType::Legal => "legal",
            PageType::Blog => "blog",
            PageType::Other => "other",
        }
    }
}

/// URL segment keywords, hyphen-separated, accent-free. A segment matches a keyword when it
/// equals it, starts with it or ends with it on a hyphen boundary (`contact-sales`,
/// `nos-references`); the longest keyword wins, then the earlier type in this table.
const URL_KEYWORDS: &[(PageType, &[&str])] = &[
    (
        PageType::Legal,
        &[
            "legal",
            "mentions-legales",
            "mentions",
            "privacy",
            "privacy-policy",
            "terms",
            "conditions",
            "cgv",
            "cgu",
            "imprint",
            "impressum",
            "cookies",
            "cookie-policy",
            "politique-de-confidentialite",
            "confidentialite",
            "rgpd",
            "gdpr",
            "donnees-personnelles",
            "disclaimer",
        ],
    ),
    (
        PageType::Careers,
        &[
            "careers",
            "career",
            "jobs",
            "job",
            "join-us",
            "join-our-team",
            "recrutement",
            "emploi",
            "emplois",
            "carrieres",
            "carriere",
            "nous-rejoindre",
            "rejoignez-nous",
            "offres-d-emploi",
            "offres-emploi",
            "work-with-us",
            "hiring",
            "rejoignez",
        ],
    ),
    (
        PageType::Contact,
        &[
            "contact",
            "contact-us",
            "contacts",
            "nous-contacter",
            "contactez-nous",
            "get-in-touch",
        ],
    ),
    (
        PageType::Pricing,
        &[
            "pricing",
            "plans",
            "tarifs",
            "tarif",
            "prix",
            "tarification",
            "prices",
            "price",
        ],
    ),
    (
        PageType::Customers,
        &[
            "customers",
            "customer",
            "customer-stories",
            "clients",
            "client",
            "case-studies",
            "case-study",
            "references",
            "reference",
            "temoignages",
            "temoignage",
            "testimonials",
            "testimonial",
            "success-stories",
            "cas-clients",
            "etudes-de-cas",
            "etude-de-cas",
        ],
    ),
    (
        PageType::Blog,
        &[
            "blog",
            "news",
            "actualites",
            "actualite",
            "actus",
            "articles",
            "press",
            "presse",
            "insights",
            "newsroom",
            "communiques",
            "article",
        ],
    ),
    (
        PageType::About,
        &[
            "about",
            "about-us",
            "company",
            "who-we-are",
            "qui-sommes-nous",
            "quisommesnous",
            "a-propos",
            "apropos",
            "notre-histoire",
            "our-story",
            "histoire",
            "societe",
            "entreprise",
            "team",
            "equipe",
        ],
    ),
    (
        PageType::Product,
        &[
            "products",
            "product",
            "solutions",
            "solution",
            "services",
            "service",
            "what-we-do",
            "offer",
            "offers",
            "catalog",
            "catalogue",
            "features",
            "produits",
            "produit",
            "offres",
            "offre",
            "nos-solutions",
            "platform",
            "plateforme",
            "fonctionnalites",
        ],
    ),
];

/// Title and heading phrases (lower case, accent-free, hyphens as spaces). A title part or
/// heading matches when it starts with the phrase followed by a word boundary.
const TEXT_KEYWORDS: &[(PageType, &[&str])] = &[
    (
        PageType::Legal,
        &[
            "mentions legales",
            "legal notice",
            "legal",
            "privacy policy",
            "privacy",
            "politique de confidentialite",
            "terms",
            "conditions generales",
            "cgv",
            "cgu",
            "imprint",
            "impressum",
            "cookie policy",
            "politique cookies",
            "gestion des cookies",
        ],
    ),
    (
        PageType::Careers,
        &[
            "careers",
            "jobs",
            "join us",
            "join our team",
            "work with us",
            "we're hiring",
            "recrutement",
            "rejoignez nous",
            "nous rejoindre",
            "carrieres",
            "offres d'emploi",
            "emplois",
        ],
    ),
    (
        PageType::Contact,
        &[
            "contact",
            "get in touch",
            "nous contacter",
            "contactez nous",
        ],
    ),
    (
        PageType::Pricing,
        &[
            "pricing",
            "plans",
            "prices",
            "tarifs",
            "nos tarifs",
            "tarification",
            "prix",
        ],
    ),
    (
        PageType::Customers,
        &[
            "customers",
            "our customers",
            "case studies",
            "customer stories",
            "success stories",
            "testimonials",
            "nos clients",
            "clients",
            "references",
            "nos references",
            "temoignages",
            "cas clients",
            "etudes de cas",
        ],
    ),
    (
        PageType::Blog,
        &[
            "blog",
            "news",
            "latest news",
            "actualites",
            "press",
            "presse",
            "insights",
            "newsroom",
        ],
    ),
    (
        PageType::About,
        &[
            "about",
            "who we are",
            "qui sommes nous",
            "a propos",
            "notre histoire",
            "our story",
            "notre societe",
            "notre entreprise",
            "l'entreprise",
            "la societe",
            "our company",
            "our team",
            "notre equipe",
        ],
    ),
    (
        PageType::Product,
        &[
            "products",
            "our products",
            "solutions",
            "nos solutions",
            "services",
            "nos services",
            "our services",
            "features",
            "fonctionnalites",
            "produits",
            "nos produits",
            "nos offres",
            "platform",
        ],
    ),
    (
        PageType::Home,
        &["home", "accueil", "homepage", "page d'accueil"],
    ),
];

/// Language prefixes that make `/en/` or `/fr-fr/` a home page.
const LANGUAGES: &[&str] = &[
    "en", "fr", "de", "es", "it", "nl", "pt", "be", "ch", "uk", "us", "ca", "lu",
];
/// Last segments that name a home page.
const HOME_SEGMENTS: &[&str] = &["index", "home", "accueil", "default"];

/// How many leading headings are looked at: later ones describe sections of the page.
const HEADINGS_CONSULTED: usize = 3;

/// Lower case without accents, apostrophes unified.
fn fold(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars().flat_map(char::to_lowercase) {
        match c {
            'à' | 'á' | 'â' | 'ã' | 'ä' | 'å' => out.push('a'),
            'ç' => out.push('c'),
            'è' | 'é' | 'ê' | 'ë' => out.push('e'),
            'ì' | 'í' | 'î' | 'ï' => out.push('i'),
            'ñ' => out.push('n'),
            'ò' | 'ó' | 'ô' | 'õ' | 'ö' => out.push('o'),
            'ù' | 'ú' | 'û' | 'ü' => out.push('u'),
            'ý' | 'ÿ' => out.push('y'),
            'œ' => out.push_str("oe"),
            'æ' => out.push_str("ae"),
            'ß' => out.push_str("ss"),
            '’' | '‘' => out.push('\''),
            c => out.push(c),
        }
    }
    out
}

/// The path of a URL (absolute, scheme-relative or already a path), without query or fragment.
fn url_path(url: &str) -> &str {
    let url = url.trim();
    let url = url.split(['?', '#']).next().unwrap_or("");
    let after_host = if let Some(i) = url.find("://") {
        &url[i + 3..]
    } else if let Some(rest) = url.strip_prefix("//") {
        rest
    } else {
        return url;
    };
    after_host.find('/').map_or("", |i| &after_host[i..])
}

/// Removes a file extension such as `.html` or `.php`.
fn strip_extension(segment: &str) -> &str {
    match segment.rsplit_once('.') {
        Some((stem, ext))
            if !stem.is_empty()
                && (1..=5).contains(&ext.len())
                && ext.bytes().all(|b| b.is_ascii_alphanumeric()) =>
        {
            stem
        }
        _ => segment,
    }
}

fn is_language(segment: &str) -> bool {
    let lang = segment.split(['-', '_']).next().unwrap_or("");
    LANGUAGES.contains(&lang) && segment.len() <= 5
}

/// The best keyword match of one URL segment: (keyword length in words, table order, type).
fn segment_match(segment: &str) -> Option<PageType> {
    let mut best: Option<(usize, usize, PageType)> = None;
    for (order, (page_type, keywords)) in URL_KEYWORDS.iter().enumerate() {
        for kw in *keywords {
            let hit = segment == *kw
                || segment
                    .strip_prefix(kw)
                    .is_some_and(|rest| rest.starts_with('-'))
                || segment
                    .strip_suffix(kw)
                    .is_some_and(|rest| rest.ends_with('-'));
            if !hit {
                continue;
            }
            let words = kw.split('-').count();
            let better = match best {
                None => true,
                Some((w, o, _)) => words > w || (words == w && order < o),
            };
            if better {
                best = Some((words, order, *page_type));
            }
        }
    }
    best.map(|(_, _, t)| t)
}

/// The page type the URL path states, if any.
fn classify_path(url: &str) -> Option<PageType> {
    if url.trim().is_empty() {
        return None;
    }
    let path = fold(&percent_decode(url_path(url)));
    let segments: Vec<String> = path
        .split('/')
        .filter(|s| !s.is_empty())
        .map(|s| strip_extension(s).replace('_', "-"))
        .collect();
    let content: Vec<&str> = segments
        .iter()
        .enumerate()
        .filter(|(i, s)| !(*i == 0 && is_language(s)))
        .map(|(_, s)| s.as_str())
        .collect();
    match content.as_slice() {
        [] => return Some(PageType::Home),
        [only] if HOME_SEGMENTS.contains(only) => return Some(PageType::Home),
        _ => {}
    }
    let mut deepest = None;
    for segment in &content {
        match segment_match(segment) {
            // A blog post's slug may say anything ("our-new-pricing"): the blog section wins.
            Some(PageType::Blog) => return Some(PageType::Blog),
            Some(t) => deepest = Some(t),
            None => {}
        }
    }
    deepest
}

/// The page type a title or heading states, if any.
fn classify_text(text: &str) -> Option<PageType> {
    let folded = fold(text);
    let parts = folded
        .split(['|', '–', '—', '·', ':', '•', '»', '/'])
        .flat_map(|p| p.split(" - "));
    for part in parts {
        // "Qui sommes-nous", "Qui sommes nous": hyphens count as spaces inside a part.
        let part = part.replace('-', " ");
        let part = part.split_whitespace().collect::<Vec<_>>().join(" ");
        for (page_type, phrases) in TEXT_KEYWORDS {
            let hit = phrases.iter().any(|p| {
                part == *p
                    || part
                        .strip_prefix(p)
                        .is_some_and(|rest| rest.starts_with(' '))
            });
            if hit {
                return Some(*page_type);
            }
        }
    }
    None
}

/// Classifies a page by its URL path first (`/`, `/en/` and `/index.html` are home; the deepest
/// segment with a keyword wins, except that anything under a blog or news section is a blog
/// page), then its title, then its first headings. English and French; case and accents are
/// ignored.
pub fn classify(url: &str, title: &str, headings: &[&str]) -> PageType {
    classify_path(url)
        .or_else(|| classify_text(title))
        .or_else(|| {
            headings
                .iter()
                .take(HEADINGS_CONSULTED)
                .find_map(|h| classify_text(h))
        })
        .unwrap_or(PageType::Other)
}

/// The page type a link points to, from its URL path, else its anchor text: the crawler ranks
/// the links it has not fetched yet with this, so that the pages extraction types (about,
/// careers, legal …) are the ones fetched first. `None` when neither says anything.
pub fn classify_link(url: &str, anchor: &str) -> Option<PageType> {
    classify_path(url).or_else(|| classify_text(anchor))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(u: &str) -> PageType {
        classify(u, "", &[])
    }

    #[test]
    fn names() {
        let names: Vec<&str> = PageType::ALL.iter().map(|t| t.as_str()).collect();
        assert_eq!(
            names,
            [
                "home",
                "about",
                "product",
                "pricing",
                "customers",
                "careers",
                "contact",
                "legal",
                "blog",
                "other"
            ]
        );
    }

    #[test]
    fn home_urls() {
        for u in [
            "https://acme.fr",
            "https://acme.fr/",
            "https://acme.fr/index.html",
            "https://acme.fr/en/",
            "https://acme.fr/fr",
            "https://acme.fr/fr-fr/accueil",
            "/",
            "https://acme.fr/?utm_source=x#top",
        ] {
            assert_eq!(url(u), PageType::Home, "{u}");
        }
    }

    #[test]
    fn english_urls() {
        for (u, want) in [
            ("https://acme.com/about-us", PageType::About),
            ("https://acme.com/company/who-we-are/", PageType::About),
            ("https://acme.com/products/widget-pro", PageType::Product),
            ("https://acme.com/solutions", PageType::Product),
            ("https://acme.com/pricing.html", PageType::Pricing),
            ("https://acme.com/products/pricing", PageType::Pricing),
            (
                "https://acme.com/customers/case-studies/bigco",
                PageType::Customers,
            ),
            ("https://acme.com/about/careers", PageType::Careers),
            ("https://acme.com/jobs/", PageType::Careers),
            ("https://acme.com/contact-us", PageType::Contact),
            ("https://acme.com/contact-sales", PageType::Contact),
            ("https://acme.com/legal/privacy-policy", PageType::Legal),
            ("https://acme.com/terms-of-service", PageType::Legal),
            ("https://acme.com/blog/our-new-pricing", PageType::Blog),
            ("https://acme.com/en/news/2024/launch", PageType::Blog),
        ] {
            assert_eq!(url(u), want, "{u}");
        }
    }

    #[test]
    fn french_urls() {
        for (u, want) in [
            ("https://acme.fr/qui-sommes-nous", PageType::About),
            ("https://acme.fr/%C3%A0-propos/", PageType::About),
            ("https://acme.fr/la-societe.php", PageType::About),
            ("https://acme.fr/nos-solutions/crm", PageType::Product),
            ("https://acme.fr/produits", PageType::Product),
            ("https://acme.fr/Tarifs", PageType::Pricing),
            ("https://acme.fr/nos-references", PageType::Customers),
            ("https://acme.fr/témoignages", PageType::Customers),
            ("https://acme.fr/nous-rejoindre", PageType::Careers),
            ("https://acme.fr/offres-d-emploi", PageType::Careers),
            ("https://acme.fr/carrières", PageType::Careers),
            ("https://acme.fr/contactez-nous", PageType::Contact),
            ("https://acme.fr/mentions-légales", PageType::Legal),
            (
                "https://acme.fr/politique-de-confidentialite",
                PageType::Legal,
            ),
            ("https://acme.fr/cgv", PageType::Legal),
            ("https://acme.fr/actualites/salon-2024", PageType::Blog),
        ] {
            assert_eq!(url(u), want, "{u}");
        }
    }

    #[test]
    fn title_and_headings() {
        assert_eq!(
            classify("https://acme.fr/page-12", "Qui sommes-nous ? | Acme", &[]),
            PageType::About
        );
        assert_eq!(
            classify("https://acme.fr/p/1", "Acme – Nous contacter", &[]),
            PageType::Contact
        );
        assert_eq!(
            classify("https://acme.fr/p/2", "Acme", &["Mentions légales"]),
            PageType::Legal
        );
        assert_eq!(
            classify(
                "https://acme.com/p/3",
                "Pricing plans for teams | Acme",
                &[]
            ),
            PageType::Pricing
        );
        assert_eq!(
            classify("https://acme.fr/p/4", "Acme", &["Rejoignez-nous !"]),
            PageType::Careers
        );
        assert_eq!(
            classify("https://acme.fr/p/5", "Tarifs - Acme", &[]),
            PageType::Pricing
        );
        assert_eq!(
            classify("https://acme.fr/p/5", "Acme - Tarifs", &[]),
            PageType::Pricing
        );
        assert_eq!(
            classify("https://acme.com/p/6", "", &["Careers at Acme"]),
            PageType::Careers
        );
    }

    #[test]
    fn links_by_path_then_anchor() {
        assert_eq!(
            classify_link("https://acme.fr/nous-rejoindre", ""),
            Some(PageType::Careers)
        );
        assert_eq!(
            classify_link("https://acme.fr/p?id=3", "Nous contacter"),
            Some(PageType::Contact)
        );
        assert_eq!(
            classify_link("https://acme.fr/blog/equipe", "Notre équipe"),
            Some(PageType::Blog)
        );
        assert_eq!(classify_link("https://acme.fr/p?id=4", "Read more"), None);
    }

    #[test]
    fn url_beats_title() {
        assert_eq!(
            classify("https://acme.fr/contact", "À propos | Acme", &["Careers"]),
            PageType::Contact
        );
    }

    #[test]
    fn other_pages() {
        assert_eq!(url("https://acme.com/widgets/blue-42"), PageType::Other);
        assert_eq!(
            classify(
                "https://acme.com/p/7",
                "Software for pricing teams | Acme",
                &["The best CRM", "A", "B", "Contact us"]
            ),
            PageType::Other
        );
        assert_eq!(classify("", "", &[]), PageType::Other);
        assert_eq!(classify("", "Contact", &[]), PageType::Contact);
        assert_eq!(url("https://acme.com/ai"), PageType::Other);
        assert_eq!(
            url("https://acme.com/contactless-payments"),
            PageType::Other
        );
    }
}
