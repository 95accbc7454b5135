//! Site-level template removal: text that recurs across many pages of one site is template.
//!
//! A single page cannot always tell chrome from content (a navigation list without `<nav>`, a
//! cookie banner with an unusual class name, a call to action repeated under every article). A
//! site can: a block whose text appears on at least [`TemplateRules::share`] of the site's pages
//! is template and is dropped from every page's main text. Template blocks that carry
//! information — the footer's address, phone or legal line, recognisable by digits or an `@` —
//! are kept once, at the end of the home page's text, so that a company's address is neither
//! lost nor repeated on every page.

use std::collections::{HashMap, HashSet};

use super::ExtractedPage;

/// When a block counts as template.
#[derive(Debug, Clone, Copy)]
pub struct TemplateRules {
    /// Share of the site's pages a block must appear on (0.5 = half of them).
    pub share: f64,
    /// Sites with fewer pages are left alone: two pages sharing a paragraph prove nothing.
    pub min_pages: usize,
}

impl Default for TemplateRules {
    fn default() -> Self {
        TemplateRules {
            share: 0.5,
            min_pages: 3,
        }
    }
}

/// The main text of each page of a site after template removal.
#[derive(Debug, Clone, Default)]
pub struct SiteTexts {
    /// One text per input page, same order.
    pub texts: Vec<String>,
    /// Main-text blocks dropped as template, over all pages.
    pub removed_blocks: usize,
    /// Distinct template blocks found on the site.
    pub template_blocks: usize,
    /// Informative template blocks kept once on the home page.
    pub kept_once: Vec<String>,
}

fn key(text: &str) -> String {
    text.split_whitespace()
        .map(str::to_lowercase)
        .collect::<Vec<_>>()
        .join(" ")
}

/// A template block worth keeping once: an address, phone number, e-mail or legal line.
fn informative(text: &str) -> bool {
    // Address lines split by <br> are short: "96 Hauptstraße", "43734 Berlin".
    let words = text.split_whitespace().count();
    words >= 2
        && text.len() >= 6
        && (text.chars().any(|c| c.is_ascii_digit()) || text.contains('@'))
}

/// Removes the site's template from its pages' main text. `home` is the index of the home page
/// (the lead's start page), where informative template blocks are kept once.
pub fn site_texts(
    pages: &[&ExtractedPage],
    home: Option<usize>,
    rules: &TemplateRules,
) -> SiteTexts {
    // On how many pages each block text appears (all blocks, chrome included: a footer line
    // the single-page rules kept on one page is still footer if it is on every page).
    let mut pages_with: HashMap<String, usize> = HashMap::new();
    for page in pages {
        let mut seen = HashSet::new();
        for block in &page.blocks {
            let k = key(&block.text);
            if seen.insert(k.clone()) {
                *pages_with.entry(k).or_default() += 1;
            }
        }
    }
    let threshold = if pages.len() >= rules.min_pages.max(2) {
        ((rules.share * pages.len() as f64).ceil() as usize).max(2)
    } else {
        usize::MAX
    };
    let is_template = |k: &str| pages_with.get(k).is_some_and(|&n| n >= threshold);

    let mut out = SiteTexts {
        template_blocks: pages_with.values().filter(|&&n| n >= threshold).count(),
        ..SiteTexts::default()
    };
    let mut kept: HashSet<String> = HashSet::new();
    for page in pages {
        let mut text = String::new();
        // Repeated blocks within one page (responsive duplicates) are written once.
        let mut seen = HashSet::new();
        for (block, &main) in page.blocks.iter().zip(&page.main) {
            let k = key(&block.text);
            if is_template(&k) {
                if main {
                    out.removed_blocks += 1;
                }
                if informative(&block.text) && block.link_density() <= 0.5 && kept.insert(k.clone())
                {
                    out.kept_once.push(block.text.clone());
                }
                continue;
            }
            if !main || !seen.insert(k) {
                continue;
            }
            if !text.is_empty() {
                text.push('\n');
            }
            text.push_str(&block.text);
        }
        out.texts.push(text);
    }
    if let Some(home) = home.filter(|&h| h < out.texts.len()) {
        let text = &mut out.texts[home];
        for line in &out.kept_once {
            if !text.is_empty() {
                text.push('\n');
            }
            text.push_str(line);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::extract::extract;

    fn page(body: &str) -> ExtractedPage {
        extract(&format!(
            "<html><body><div class=top><a href=/>Home</a> <a href=/about>About</a></div>\
             <div class=notice>Spring offer: free installation on every pump ordered this month</div>\
             {body}\
             <div class=bottom><p>Acme SAS, 12 rue de la Paix, 75002 Paris</p>\
             <p>Subscribe to our newsletter for monthly news</p></div></body></html>"
        ))
    }

    #[test]
    fn recurring_blocks_go_informative_ones_stay_once() {
        // No `<main>`: around one, the single-page rules would already drop banner and footer.
        let pages: Vec<ExtractedPage> = [
            "<div><h1>Acme</h1><p>We build industrial pumps for the water industry since 1982.</p></div>",
            "<div><h1>About us</h1><p>Our team of forty engineers works in Lyon and Paris.</p></div>",
            "<div><h1>Careers</h1><p>Join a company that values craftsmanship and care.</p></div>",
            "<div><h1>Contact</h1><p>Write to us and an engineer answers within a day.</p></div>",
        ]
        .iter()
        .map(|b| page(b))
        .collect();
        // A single page keeps the unmarked banner and footer: nothing says they are chrome.
        assert!(pages[1].main_text().contains("Spring offer"));
        let refs: Vec<&ExtractedPage> = pages.iter().collect();
        let site = site_texts(&refs, Some(0), &TemplateRules::default());
        for text in &site.texts {
            assert!(!text.contains("Spring offer"), "{text}");
            assert!(!text.contains("newsletter"), "{text}");
        }
        assert!(site.texts[1].contains("forty engineers"));
        assert!(site.texts[3].contains("answers within a day"));
        let address = "12 rue de la Paix";
        assert!(site.texts[0].contains(address));
        assert_eq!(site.texts.iter().filter(|t| t.contains(address)).count(), 1);
        assert!(site.removed_blocks >= 8, "{site:?}");
    }

    #[test]
    fn small_sites_are_left_alone() {
        let pages: Vec<ExtractedPage> = [
            "<p>One page about pumps and valves.</p>",
            "<p>Another page.</p>",
        ]
        .iter()
        .map(|b| page(b))
        .collect();
        let refs: Vec<&ExtractedPage> = pages.iter().collect();
        let site = site_texts(&refs, Some(0), &TemplateRules::default());
        assert_eq!(site.removed_blocks, 0);
        assert!(site.texts[1].contains("Spring offer"));
    }
}
