//! A company's website as a whole: every page extracted, the site's template removed, and the
//! signals of all pages gathered into one set of company features.
//!
//! Signals are read from all visible text, chrome included (legal ids, addresses and social
//! links live in footers), and from links and scripts; the main text of each page is what is left
//! after single-page extraction and site-level template removal.

use std::collections::{BTreeMap, BTreeSet};

use super::site::{site_texts, TemplateRules};
use super::{decode_html, extract, page_language, ExtractedPage};
use crate::jsonld::{self, Organization};
use crate::pagetype::{self, PageType};
use crate::signals::{self, LegalIds, SocialProfile};
use crate::tech;

/// One crawled page of the site.
#[derive(Debug, Clone, Copy)]
pub struct PageInput<'a> {
    /// The URL the page was read from (after redirects).
    pub url: &'a str,
    pub body: &'a [u8],
    /// The charset the crawler decoded the page with (or the HTTP header's), if known.
    pub charset: Option<&'a str>,
}

/// One page's extraction.
#[derive(Debug, Clone)]
pub struct PageText {
    pub url: String,
    pub page_type: PageType,
    /// Detected from the main text.
    pub lang: Option<String>,
    /// `<html lang>` as written.
    pub html_lang: Option<String>,
    pub title: Option<String>,
    pub description: Option<String>,
    pub canonical: Option<String>,
    /// Main text after template removal, one block per line.
    pub text: String,
    pub word_count: u32,
}

/// What the whole site says about the company.
#[derive(Debug, Clone, Default)]
pub struct CompanyFeatures {
    pub pages: u32,
    /// Pages per type, indexed like [`PageType::ALL`].
    pub pages_by_type: [u32; 10],
    pub words: u64,
    /// Detected languages of the pages, most pages first.
    pub languages: Vec<String>,
    pub emails: Vec<String>,
    /// E-mail addresses on the company's own domain.
    pub own_domain_emails: Vec<String>,
    pub phones: Vec<String>,
    pub social: Vec<SocialProfile>,
    pub technologies: Vec<&'static str>,
    pub legal_ids: LegalIds,
    /// The organisation described by the site's JSON-LD (the home page's first, else the most
    /// complete one).
    pub organization: Option<Organization>,
    pub copyright_years: Vec<u16>,
    pub founding_years: Vec<u16>,
    /// Distinct template blocks removed from the site's pages.
    pub template_blocks: u32,
}

impl CompanyFeatures {
    pub fn pages_of(&self, t: PageType) -> u32 {
        PageType::ALL
            .iter()
            .position(|&x| x == t)
            .map_or(0, |i| self.pages_by_type[i])
    }
}

/// Most values of one kind kept for a company (see [`crate::signals::MAX_PER_PAGE`]).
pub const MAX_PER_COMPANY: usize = 100;

/// Adds the items of `from` not yet in `into`, keeping first-seen order, up to
/// [`MAX_PER_COMPANY`].
fn merge<T: Clone + PartialEq>(into: &mut Vec<T>, from: impl IntoIterator<Item = T>) {
    for item in from {
        if into.len() >= MAX_PER_COMPANY {
            return;
        }
        if !into.contains(&item) {
            into.push(item);
        }
    }
}

fn merge_legal(into: &mut LegalIds, from: LegalIds) {
    merge(&mut into.siren, from.siren);
    merge(&mut into.siret, from.siret);
    merge(&mut into.vat, from.vat);
    merge(&mut into.rcs, from.rcs);
    merge(&mut into.lei, from.lei);
    merge(&mut into.uk_company_numbers, from.uk_company_numbers);
}

fn filled_fields(o: &Organization) -> usize {
    [
        &o.name,
        &o.legal_name,
        &o.telephone,
        &o.address,
        &o.founding_date,
        &o.number_of_employees,
    ]
    .iter()
    .filter(|f| f.is_some())
    .count()
        + usize::from(!o.same_as.is_empty())
}

/// Whether `email`'s domain is `domain` or one of its subdomains.
fn on_domain(email: &str, domain: &str) -> bool {
    let Some((_, host)) = email.rsplit_once('@') else {
        return false;
    };
    let domain = domain.trim_start_matches("www.");
    host == domain || host.ends_with(&format!(".{domain}"))
}

/// Extracts every page of one site. `home` is the index of the lead's start page; `domain` the
/// site's registrable domain (for own-domain e-mails).
pub fn extract_site(
    pages: &[PageInput<'_>],
    home: Option<usize>,
    domain: Option<&str>,
    rules: &TemplateRules,
) -> (Vec<PageText>, CompanyFeatures) {
    let extracted: Vec<ExtractedPage> = pages
        .iter()
        .map(|p| extract(&decode_html(p.body, p.charset).0))
        .collect();
    let refs: Vec<&ExtractedPage> = extracted.iter().collect();
    // Without a readable start page, the first page read keeps the site's address lines.
    let keeper = home.or((!pages.is_empty()).then_some(0));
    let site = site_texts(&refs, keeper, rules);

    let mut features = CompanyFeatures {
        pages: pages.len() as u32,
        template_blocks: site.template_blocks as u32,
        ..CompanyFeatures::default()
    };
    let mut languages: BTreeMap<String, usize> = BTreeMap::new();
    let mut technologies = BTreeSet::new();
    let mut organizations = Vec::new();
    let mut copyright = BTreeSet::new();
    let mut founding = BTreeSet::new();
    let mut out = Vec::with_capacity(pages.len());

    for (i, ((input, page), text)) in pages.iter().zip(&extracted).zip(site.texts).enumerate() {
        let headings: Vec<String> = page.headings().into_iter().map(|(_, h)| h).collect();
        let heading_refs: Vec<&str> = headings.iter().map(String::as_str).collect();
        let page_type = if Some(i) == home {
            PageType::Home
        } else {
            pagetype::classify(
                input.url,
                page.title.as_deref().unwrap_or(""),
                &heading_refs,
            )
        };
        if let Some(slot) = PageType::ALL.iter().position(|&t| t == page_type) {
            features.pages_by_type[slot] += 1;
        }
        let lang = page_language(&text, page.html_lang.as_deref());
        if let Some(l) = &lang {
            *languages.entry(l.clone()).or_default() += 1;
        }
        let word_count = text.split_whitespace().count() as u32;
        features.words += word_count as u64;

        let all_text = page.all_text();
        let hrefs: Vec<&str> = page.links.iter().map(|l| l.href.as_str()).collect();
        merge(&mut features.emails, signals::emails(&all_text, &hrefs));
        merge(&mut features.phones, signals::phones(&all_text, &hrefs));
        merge(&mut features.social, signals::social_profiles(&hrefs));
        merge_legal(&mut features.legal_ids, signals::legal_ids(&all_text));
        copyright.extend(signals::copyright_years(&all_text));
        founding.extend(signals::founding_years(&text));
        let generators: Vec<&str> = page.generators.iter().map(String::as_str).collect();
        let (html, _) = decode_html(input.body, input.charset);
        technologies.extend(tech::detect(&html, &generators));
        let ld: Vec<&str> = page.jsonld.iter().map(String::as_str).collect();
        for org in jsonld::organizations(&ld) {
            organizations.push((Some(i) == home, org));
        }

        out.push(PageText {
            url: input.url.to_owned(),
            page_type,
            lang,
            html_lang: page.html_lang.clone(),
            title: page.title.clone(),
            description: page
                .description
                .clone()
                .or_else(|| page.og_description.clone()),
            canonical: page.canonical.clone(),
            text,
            word_count,
        });
    }
    if let Some(domain) = domain {
        features.own_domain_emails = features
            .emails
            .iter()
            .filter(|e| on_domain(e, domain))
            .cloned()
            .collect();
    }
    let mut languages: Vec<(String, usize)> = languages.into_iter().collect();
    languages.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    features.languages = languages.into_iter().map(|(l, _)| l).collect();
    features.technologies = technologies.into_iter().collect();
    features.copyright_years = copyright.into_iter().collect();
    features.founding_years = founding.into_iter().collect();
    // The home page's organisation describes the company; elsewhere the most complete one.
    features.organization = organizations
        .iter()
        .find(|(home, o)| *home && filled_fields(o) > 0)
        .or_else(|| organizations.iter().max_by_key(|(_, o)| filled_fields(o)))
        .map(|(_, o)| o.clone());
    (out, features)
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOME: &str = r#"<html lang="fr"><head><title>Acme Pompes</title>
        <meta name="description" content="Pompes industrielles">
        <script src="https://www.googletagmanager.com/gtm.js?id=GTM-X"></script>
        <script type="application/ld+json">{"@context":"https://schema.org","@type":"Organization",
          "name":"Acme","legalName":"Acme SAS","foundingDate":"1982",
          "sameAs":["https://www.linkedin.com/company/acme"]}</script></head>
        <body><nav><a href="/">Accueil</a><a href="/contact">Contact</a></nav>
        <main><h1>Acme, fabricant de pompes</h1>
        <p>Nous concevons des pompes industrielles pour le traitement de l'eau depuis 1982.</p></main>
        <footer><p>Acme SAS, 12 rue de la Paix, 75002 Paris. RCS Paris 732 829 320.</p>
        <p>Écrivez-nous : contact [at] acme.fr</p>
        <a href="https://www.linkedin.com/company/acme/">LinkedIn</a></footer></body></html>"#;

    #[test]
    fn one_site_many_signals() {
        let contact = HOME.replace(
            "<main><h1>Acme, fabricant de pompes</h1>",
            "<main><h1>Nous contacter</h1><p>Appelez le 01 23 45 67 89 ou écrivez à ventes@acme.fr et partner@other.com.</p>",
        );
        let pages = [
            PageInput {
                url: "https://acme.fr/",
                body: HOME.as_bytes(),
                charset: None,
            },
            PageInput {
                url: "https://acme.fr/contact",
                body: contact.as_bytes(),
                charset: None,
            },
        ];
        let (texts, f) = extract_site(&pages, Some(0), Some("acme.fr"), &TemplateRules::default());
        assert_eq!(texts.len(), 2);
        assert_eq!(texts[0].page_type, PageType::Home);
        assert_eq!(texts[1].page_type, PageType::Contact);
        assert_eq!(texts[0].html_lang.as_deref(), Some("fr"));
        assert_eq!(texts[0].lang.as_deref(), Some("fr"));
        assert!(texts[0].text.contains("traitement de l'eau"));
        assert!(!texts[0].text.contains("Accueil"), "{}", texts[0].text);
        assert_eq!(f.pages, 2);
        assert_eq!(f.pages_of(PageType::Contact), 1);
        assert!(
            f.emails.contains(&"contact@acme.fr".to_owned()),
            "{:?}",
            f.emails
        );
        assert!(f.emails.contains(&"partner@other.com".to_owned()));
        assert!(!f
            .own_domain_emails
            .contains(&"partner@other.com".to_owned()));
        assert!(f.own_domain_emails.contains(&"ventes@acme.fr".to_owned()));
        assert_eq!(f.phones, vec!["+33123456789".to_owned()]);
        assert_eq!(f.legal_ids.siren, vec!["732829320".to_owned()]);
        assert!(
            f.technologies.contains(&"Google Tag Manager"),
            "{:?}",
            f.technologies
        );
        assert_eq!(f.social.len(), 1);
        let org = f.organization.expect("organization");
        assert_eq!(org.legal_name.as_deref(), Some("Acme SAS"));
        assert!(f.founding_years.contains(&1982));
    }

    #[test]
    fn own_domain_matching() {
        assert!(on_domain("a@acme.fr", "acme.fr"));
        assert!(on_domain("a@mail.acme.fr", "www.acme.fr"));
        assert!(!on_domain("a@notacme.fr", "acme.fr"));
    }
}
