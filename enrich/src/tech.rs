//! Technology fingerprints: which analytics, marketing, CMS, e-commerce and other tools a site
//! runs, read from its raw HTML and `<meta name="generator">` values.
//!
//! A company's stack says a lot about its size and maturity (Pardot or Marketo versus a
//! Wix site). Detection is a single case-insensitive Aho-Corasick pass over the HTML with every
//! pattern of [`TECHNOLOGIES`], so it costs the same for 50 technologies as for one. Patterns are
//! URL fragments and markup that a page only contains when it loads the tool, not names that
//! prose might mention.

use std::sync::LazyLock;

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};

/// One detectable technology.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Technology {
    pub name: &'static str,
    /// One of [`CATEGORIES`].
    pub category: &'static str,
    /// Case-insensitive substrings of the raw HTML (script hosts and paths, markup, globals).
    pub patterns: &'static [&'static str],
    /// Case-insensitive prefixes of a `<meta name="generator">` value.
    pub generators: &'static [&'static str],
    /// Technologies this one runs on (Next.js implies React).
    pub implies: &'static [&'static str],
}

/// Every category used in [`TECHNOLOGIES`].
pub const CATEGORIES: [&str; 15] = [
    "analytics",
    "tag-manager",
    "crm-marketing",
    "chat",
    "cms",
    "site-builder",
    "ecommerce",
    "payments",
    "framework",
    "cookie-consent",
    "advertising",
    "scheduling/forms",
    "cdn/hosting",
    "monitoring",
    "search",
];

const fn tech(
    name: &'static str,
    category: &'static str,
    patterns: &'static [&'static str],
) -> Technology {
    Technology {
        name,
        category,
        patterns,
        generators: &[],
        implies: &[],
    }
}

const fn with_generators(mut t: Technology, generators: &'static [&'static str]) -> Technology {
    t.generators = generators;
    t
}

const fn implying(mut t: Technology, implies: &'static [&'static str]) -> Technology {
    t.implies = implies;
    t
}

/// The curated fingerprint table.
pub static TECHNOLOGIES: &[Technology] = &[
    // Analytics
    tech(
        "Google Analytics",
        "analytics",
        &[
            "googletagmanager.com/gtag/js",
            // GA4 measurement ids ("G-…") configured inline.
            "gtag('config','g-",
            "gtag('config', 'g-",
            "gtag(\"config\",\"g-",
            "gtag(\"config\", \"g-",
            "google-analytics.com/analytics.js",
            "google-analytics.com/ga.js",
            "google-analytics.com/urchin.js",
            "google-analytics.com/g/collect",
        ],
    ),
    tech(
        "Matomo",
        "analytics",
        &["matomo.js", "piwik.js", "_paq.push", "cdn.matomo.cloud"],
    ),
    tech("Plausible", "analytics", &["plausible.io/js/"]),
    tech(
        "Hotjar",
        "analytics",
        &["static.hotjar.com", "hotjar.com/c/hotjar-", "_hjsettings"],
    ),
    tech(
        "Segment",
        "analytics",
        &["cdn.segment.com/analytics.js", "cdn.segment.io"],
    ),
    tech(
        "Mixpanel",
        "analytics",
        &["cdn.mxpnl.com", "mixpanel-2-latest", "api-js.mixpanel.com"],
    ),
    tech(
        "Microsoft Clarity",
        "analytics",
        &["clarity.ms/tag", "www.clarity.ms"],
    ),
    tech("Amplitude", "analytics", &["cdn.amplitude.com"]),
    tech("Heap", "analytics", &["cdn.heapanalytics.com"]),
    tech("Leadfeeder", "analytics", &["sc.lfeeder.com", "lftracker"]),
    // Tag managers
    tech(
        "Google Tag Manager",
        "tag-manager",
        &[
            "googletagmanager.com/gtm.js",
            "googletagmanager.com/ns.html",
        ],
    ),
    // CRM and marketing automation
    tech(
        "HubSpot",
        "crm-marketing",
        &[
            "js.hs-scripts.com",
            "js.hsforms.net",
            "js.hs-analytics.net",
            "js.hubspot.com",
            "js.hsleadflows.net",
            "js.hs-banner.com",
        ],
    ),
    tech(
        "Salesforce Pardot",
        "crm-marketing",
        &[
            "pi.pardot.com",
            "cdn.pardot.com",
            "go.pardot.com",
            "pardot.com/pd.js",
        ],
    ),
    tech(
        "Marketo",
        "crm-marketing",
        &[
            "munchkin.js",
            "munchkin.marketo.net",
            "mktoforms2",
            "marketo.com/js/forms2",
        ],
    ),
    tech(
        "Mailchimp",
        "crm-marketing",
        &[
            "chimpstatic.com",
            "list-manage.com",
            "mc-embedded-subscribe",
        ],
    ),
    tech(
        "Klaviyo",
        "crm-marketing",
        &[
            "static.klaviyo.com",
            "static-tracking.klaviyo.com",
            "a.klaviyo.com",
        ],
    ),
    tech(
        "Brevo",
        "crm-marketing",
        &[
            "sibforms.com",
            "sibautomation.com",
            "sendinblue.com/",
            "conversations-widget.brevo.com",
            "cdn.brevo.com",
        ],
    ),
    tech(
        "Clearbit",
        "crm-marketing",
        &["tag.clearbitscripts.com", "x.clearbitjs.com"],
    ),
    tech(
        "Pipedrive",
        "crm-marketing",
        &["leadbooster-chat.pipedrive.com"],
    ),
    // Chat
    tech(
        "Intercom",
        "chat",
        &[
            "widget.intercom.io",
            "js.intercomcdn.com",
            "intercomsettings",
        ],
    ),
    tech("Drift", "chat", &["js.driftt.com", "drift.com/include"]),
    tech(
        "Zendesk",
        "chat",
        &[
            "static.zdassets.com",
            "v2.zopim.com",
            "zendesk.com/embeddable",
        ],
    ),
    tech("Crisp", "chat", &["client.crisp.chat", "crisp_website_id"]),
    tech("Tawk.to", "chat", &["embed.tawk.to"]),
    tech("LiveChat", "chat", &["cdn.livechatinc.com", "__lc.license"]),
    tech("Freshchat", "chat", &["wchat.freshchat.com", "fw-cdn.com"]),
    tech("Zoho SalesIQ", "chat", &["salesiq.zoho."]),
    // CMS
    with_generators(
        tech("WordPress", "cms", &["/wp-content/", "/wp-includes/"]),
        &["WordPress"],
    ),
    with_generators(
        tech(
            "Drupal",
            "cms",
            &[
                "drupal-settings-json",
                "drupal.settings",
                "/sites/default/files/",
            ],
        ),
        &["Drupal"],
    ),
    with_generators(
        tech(
            "Joomla",
            "cms",
            &["/media/jui/", "/media/system/js/core.js"],
        ),
        &["Joomla"],
    ),
    with_generators(
        tech("TYPO3", "cms", &["/typo3temp/", "/typo3conf/"]),
        &["TYPO3"],
    ),
    with_generators(tech("Ghost", "cms", &["ghost-portal"]), &["Ghost"]),
    with_generators(
        tech("HubSpot CMS", "cms", &[".hs-sites.com", "hs-sites.com/hub"]),
        &["HubSpot"],
    ),
    tech("Contentful", "cms", &["images.ctfassets.net"]),
    // Site builders
    with_generators(
        tech(
            "Wix",
            "site-builder",
            &["static.wixstatic.com", "static.parastorage.com"],
        ),
        &["Wix.com"],
    ),
    with_generators(
        tech(
            "Squarespace",
            "site-builder",
            &[
                "static1.squarespace.com",
                "assets.squarespace.com",
                "squarespace_context",
            ],
        ),
        &["Squarespace"],
    ),
    with_generators(
        tech(
            "Webflow",
            "site-builder",
            &[
                "assets.website-files.com",
                "cdn.prod.website-files.com",
                "uploads-ssl.webflow.com",
                "data-wf-page",
            ],
        ),
        &["Webflow"],
    ),
    implying(
        with_generators(
            tech(
                "Elementor",
                "site-builder",
                &["/plugins/elementor/", "elementor-kit-"],
            ),
            &["Elementor"],
        ),
        &["WordPress"],
    ),
    // E-commerce
    tech(
        "Shopify",
        "ecommerce",
        &["cdn.shopify.com", "shopify.theme", ".myshopify.com"],
    ),
    implying(
        with_generators(
            tech(
                "WooCommerce",
                "ecommerce",
                &[
                    "/plugins/woocommerce/",
                    "wc_add_to_cart_params",
                    "woocommerce-no-js",
                ],
            ),
            &["WooCommerce"],
        ),
        &["WordPress"],
    ),
    with_generators(
        tech(
            "Magento",
            "ecommerce",
            &[
                "text/x-magento-init",
                "mage/cookies",
                "/static/frontend/magento/",
            ],
        ),
        &["Magento"],
    ),
    with_generators(
        tech(
            "PrestaShop",
            "ecommerce",
            &[
                "var prestashop =",
                "var prestashop=",
                "/modules/ps_shoppingcart/",
            ],
        ),
        &["PrestaShop"],
    ),
    // Payments
    tech(
        "Stripe",
        "payments",
        &["js.stripe.com", "checkout.stripe.com", "m.stripe.network"],
    ),
    tech(
        "PayPal",
        "payments",
        &["paypal.com/sdk/js", "paypalobjects.com"],
    ),
    // Frameworks
    tech(
        "React",
        "framework",
        &[
            "data-reactroot",
            "react-dom.production.min.js",
            "react.production.min.js",
            "/react-dom@",
        ],
    ),
    implying(
        tech("Next.js", "framework", &["__next_data__", "/_next/static/"]),
        &["React"],
    ),
    implying(
        tech("Nuxt", "framework", &["__nuxt__", "/_nuxt/"]),
        &["Vue.js"],
    ),
    implying(
        with_generators(
            tech(
                "Gatsby",
                "framework",
                &["___gatsby", "gatsby-focus-wrapper"],
            ),
            &["Gatsby"],
        ),
        &["React"],
    ),
    tech("Angular", "framework", &["ng-version="]),
    tech(
        "Vue.js",
        "framework",
        &[
            "data-v-app",
            "vue.min.js",
            "vue.global.prod.js",
            "vue.runtime.",
            "data-server-rendered=\"true\"",
        ],
    ),
    tech(
        "jQuery",
        "framework",
        &[
            "jquery.min.js",
            "/jquery.js",
            "code.jquery.com",
            "/jquery-1.",
            "/jquery-2.",
            "/jquery-3.",
        ],
    ),
    tech(
        "Bootstrap",
        "framework",
        &[
            "bootstrap.min.css",
            "bootstrap.min.js",
            "bootstrap.bundle.min.js",
            "/bootstrap@",
        ],
    ),
    // Cookie consent
    tech(
        "Cookiebot",
        "cookie-consent",
        &["consent.cookiebot.com", "consentcdn.cookiebot.com"],
    ),
    tech(
        "OneTrust",
        "cookie-consent",
        &[
            "cdn.cookielaw.org",
            "otsdkstub",
            "optanon-category",
            "cookie-cdn.cookiepro.com",
        ],
    ),
    tech(
        "Didomi",
        "cookie-consent",
        &["sdk.privacy-center.org", "didomiconfig", "didomionready"],
    ),
    tech(
        "Axeptio",
        "cookie-consent",
        &["static.axept.io", "axeptiosettings"],
    ),
    tech(
        "tarteaucitron",
        "cookie-consent",
        &[
            "tarteaucitron.js",
            "tarteaucitron.init",
            "tarteaucitron.min.js",
        ],
    ),
    // Advertising
    tech(
        "Facebook Pixel",
        "advertising",
        &["/fbevents.js", "facebook.com/tr?id="],
    ),
    tech(
        "LinkedIn Insight",
        "advertising",
        &[
            "snap.licdn.com/li.lms-analytics",
            "_linkedin_partner_id",
            "px.ads.linkedin.com",
        ],
    ),
    tech(
        "Google Ads",
        "advertising",
        &[
            "googleadservices.com/pagead/conversion",
            "googleads.g.doubleclick.net",
        ],
    ),
    tech(
        "Microsoft Advertising",
        "advertising",
        &["bat.bing.com/bat.js"],
    ),
    tech(
        "TikTok Pixel",
        "advertising",
        &["analytics.tiktok.com/i18n/pixel"],
    ),
    tech("X Ads", "advertising", &["static.ads-twitter.com"]),
    // Scheduling and forms
    tech(
        "Google reCAPTCHA",
        "scheduling/forms",
        &[
            "google.com/recaptcha",
            "gstatic.com/recaptcha",
            "recaptcha/api.js",
            "g-recaptcha",
        ],
    ),
    tech(
        "Calendly",
        "scheduling/forms",
        &[
            "assets.calendly.com",
            "calendly-inline-widget",
            "calendly.com/assets/external",
        ],
    ),
    tech(
        "Typeform",
        "scheduling/forms",
        &["embed.typeform.com", ".typeform.com/to/", "data-tf-widget"],
    ),
    // CDN and hosting
    tech(
        "Cloudflare",
        "cdn/hosting",
        &[
            "cdnjs.cloudflare.com",
            "static.cloudflareinsights.com",
            "data-cf-beacon",
            "/cdn-cgi/",
        ],
    ),
    tech("Amazon CloudFront", "cdn/hosting", &[".cloudfront.net/"]),
    tech("jsDelivr", "cdn/hosting", &["cdn.jsdelivr.net"]),
    // Monitoring
    tech(
        "Sentry",
        "monitoring",
        &[
            "browser.sentry-cdn.com",
            "js.sentry-cdn.com",
            "ingest.sentry.io",
        ],
    ),
    tech(
        "New Relic",
        "monitoring",
        &["js-agent.newrelic.com", "nreum"],
    ),
    tech(
        "Datadog RUM",
        "monitoring",
        &["datadoghq-browser-agent.com"],
    ),
    // Search
    tech(
        "Algolia",
        "search",
        &["algolianet.com", ".algolia.net", "algoliasearch"],
    ),
];

/// The automaton over every pattern, and for each pattern the index of its technology.
struct Fingerprints {
    automaton: AhoCorasick,
    owner: Vec<usize>,
}

static FINGERPRINTS: LazyLock<Fingerprints> = LazyLock::new(|| {
    let mut patterns = Vec::new();
    let mut owner = Vec::new();
    for (i, t) in TECHNOLOGIES.iter().enumerate() {
        for p in t.patterns {
            patterns.push(*p);
            owner.push(i);
        }
    }
    let automaton = AhoCorasickBuilder::new()
        .ascii_case_insensitive(true)
        .match_kind(MatchKind::Standard)
        .build(&patterns)
        .expect("technology patterns build an automaton");
    Fingerprints { automaton, owner }
});

/// Names of the technologies `html` and its `<meta name="generator">` values show, with the ones
/// they imply; sorted and unique.
pub fn detect(html: &str, generators: &[&str]) -> Vec<&'static str> {
    let fp = &*FINGERPRINTS;
    let mut seen = vec![false; TECHNOLOGIES.len()];
    for m in fp.automaton.find_overlapping_iter(html) {
        if let Some(&i) = fp.owner.get(m.pattern().as_usize()) {
            seen[i] = true;
        }
    }
    for g in generators {
        let g = g.trim();
        for (i, t) in TECHNOLOGIES.iter().enumerate() {
            let hit = t.generators.iter().any(|prefix| {
                g.get(..prefix.len())
                    .is_some_and(|head| head.eq_ignore_ascii_case(prefix))
            });
            if hit {
                seen[i] = true;
            }
        }
    }
    let mut names: Vec<&'static str> = Vec::new();
    for (t, _) in TECHNOLOGIES.iter().zip(&seen).filter(|(_, s)| **s) {
        names.push(t.name);
        names.extend(
            t.implies
                .iter()
                .filter_map(|n| technology(n).map(|t| t.name)),
        );
    }
    names.sort_unstable();
    names.dedup();
    names
}

fn technology(name: &str) -> Option<&'static Technology> {
    TECHNOLOGIES.iter().find(|t| t.name == name)
}

/// The category of a technology from [`TECHNOLOGIES`], by exact name.
pub fn category(name: &str) -> Option<&'static str> {
    technology(name).map(|t| t.category)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn table_is_consistent() {
        assert!(TECHNOLOGIES.len() >= 45, "{}", TECHNOLOGIES.len());
        let mut names = HashSet::new();
        let mut patterns = HashSet::new();
        for t in TECHNOLOGIES {
            assert!(names.insert(t.name), "duplicate name {}", t.name);
            assert!(
                !t.patterns.is_empty() || !t.generators.is_empty(),
                "{} has nothing to match",
                t.name
            );
            assert!(
                CATEGORIES.contains(&t.category),
                "{}: {}",
                t.name,
                t.category
            );
            for p in t.patterns {
                assert!(p.len() >= 5, "{}: pattern {p:?} is too short", t.name);
                assert!(
                    patterns.insert(p.to_ascii_lowercase()),
                    "{}: pattern {p:?} is used twice",
                    t.name
                );
            }
            for implied in t.implies {
                assert!(
                    technology(implied).is_some(),
                    "{} implies {implied}",
                    t.name
                );
            }
        }
        for c in CATEGORIES {
            assert!(TECHNOLOGIES.iter().any(|t| t.category == c), "{c} unused");
        }
    }

    #[test]
    fn detects_snippets() {
        let cases: &[(&str, &[&str])] = &[
            (
                r#"<script async src="https://www.googletagmanager.com/gtag/js?id=G-XYZ"></script>"#,
                &["Google Analytics"],
            ),
            (
                r#"<script>(function(w,d,s,l,i){j.src='https://www.googletagmanager.com/gtm.js?id='+i})</script>"#,
                &["Google Tag Manager"],
            ),
            (
                r#"<script id="hs-script-loader" src="//JS.HS-SCRIPTS.COM/123.js"></script>"#,
                &["HubSpot"],
            ),
            (
                r#"<link rel='stylesheet' href='https://acme.fr/wp-content/themes/x/style.css'>"#,
                &["WordPress"],
            ),
            (
                r#"<script id="__NEXT_DATA__" type="application/json">{}</script>"#,
                &["Next.js", "React"],
            ),
            (
                r#"<script src="/_nuxt/app.js"></script>"#,
                &["Nuxt", "Vue.js"],
            ),
            (r#"<app-root ng-version="17.0.1">"#, &["Angular"]),
            (
                r#"<script src="https://js.stripe.com/v3/"></script><script src="https://code.jquery.com/jquery-3.7.1.min.js"></script>"#,
                &["Stripe", "jQuery"],
            ),
            (
                r#"<script src="https://consent.cookiebot.com/uc.js"></script>"#,
                &["Cookiebot"],
            ),
            (
                r#"<script src="/tarteaucitron/tarteaucitron.js"></script>"#,
                &["tarteaucitron"],
            ),
            (
                r#"<script>!function(f,b,e,v){t.src='https://connect.facebook.net/fr_FR/fbevents.js'}</script>"#,
                &["Facebook Pixel"],
            ),
            (
                r#"<script src="https://snap.licdn.com/li.lms-analytics/insight.min.js"></script>"#,
                &["LinkedIn Insight"],
            ),
            (
                r#"<script src="https://static.axept.io/sdk.js"></script><script src="https://client.crisp.chat/l.js"></script>"#,
                &["Axeptio", "Crisp"],
            ),
            (
                r#"<img src="https://static.wixstatic.com/media/a.png">"#,
                &["Wix"],
            ),
            (
                r#"<script type="text/x-magento-init">{}</script>"#,
                &["Magento"],
            ),
            (
                r#"<script src="https://cdnjs.cloudflare.com/ajax/libs/x.js"></script>"#,
                &["Cloudflare"],
            ),
            (
                r#"<link href="/wp-content/plugins/woocommerce/assets/css/woocommerce.css">"#,
                &["WooCommerce", "WordPress"],
            ),
        ];
        for (html, want) in cases {
            assert_eq!(detect(html, &[]), *want, "{html}");
        }
    }

    #[test]
    fn detects_generators() {
        assert_eq!(detect("", &["WordPress 6.4.2"]), ["WordPress"]);
        assert_eq!(
            detect("", &["  drupal 10 (https://www.drupal.org)"]),
            ["Drupal"]
        );
        assert_eq!(detect("", &["Joomla! - Open Source"]), ["Joomla"]);
        assert!(detect("", &["Hugo 0.120", "", "Wo"]).is_empty());
    }

    #[test]
    fn plain_page_and_prose_detect_nothing() {
        let html = "<html><head><title>Acme</title><link rel=stylesheet href=/main.css></head>\
                    <body><h1>We integrate with Stripe, HubSpot, Salesforce and WordPress</h1>\
                    <p>Our React and Angular experts love jQuery and Google Analytics.</p>\
                    <script src=/app.js></script></body></html>";
        assert!(detect(html, &[]).is_empty(), "{:?}", detect(html, &[]));
        assert!(detect("", &[]).is_empty());
    }

    #[test]
    fn output_is_sorted_unique() {
        let html = "js.stripe.com js.stripe.com /wp-content/ /wp-includes/ cdn.shopify.com";
        assert_eq!(
            detect(html, &["WordPress"]),
            ["Shopify", "Stripe", "WordPress"]
        );
    }

    #[test]
    fn categories() {
        assert_eq!(category("HubSpot"), Some("crm-marketing"));
        assert_eq!(category("Didomi"), Some("cookie-consent"));
        assert_eq!(category("Calendly"), Some("scheduling/forms"));
        assert_eq!(category("hubspot"), None);
        assert_eq!(category("Nope"), None);
    }
}
