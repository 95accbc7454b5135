//! robots.txt under RFC 9309: fetched once per site, obeyed for every URL.
//!
//! - 2xx: the rules apply, parsed from the first [`MAX_ROBOTS_BYTES`] (a longer file is read
//!   that far and the rest ignored, as Google does; never a failure).
//! - 4xx: "unavailable": everything is allowed.
//! - 5xx, timeout, connection error: "unreachable": nothing is allowed for now; the caller
//!   retries later.
//!
//! Matching uses the `robotstxt` crate (a port of Google's parser). `Crawl-delay` and `Sitemap`
//! lines, which that parser ignores, are read here.

use std::time::Duration;

use url::Url;

/// RFC 9309 §2.5: crawlers must parse at least 500 KiB; we parse exactly that much.
pub const MAX_ROBOTS_BYTES: usize = 500 * 1024;
/// A `Crawl-delay` longer than this is taken as this (a site asking for an hour per page would
/// never finish; it is still crawled at this slow pace).
pub const MAX_CRAWL_DELAY: Duration = Duration::from_secs(60);

/// What robots.txt says for one site.
#[derive(Debug, Clone)]
pub enum Robots {
    /// 4xx, or an empty file: no restriction.
    AllowAll,
    /// 5xx or unreachable: nothing may be fetched until it is read successfully.
    Unreachable(String),
    /// The file's rules.
    Rules {
        body: String,
        crawl_delay: Option<Duration>,
        sitemaps: Vec<String>,
    },
}

impl Robots {
    /// Builds the policy from a successful (2xx) body. `agent` is our product token
    /// (`leadcrawl`), matched case-insensitively against `User-agent` lines.
    /// A body of [`MAX_ROBOTS_BYTES`] or more is read up to that size, its last (possibly cut)
    /// line dropped: a rule cut in half could allow or forbid more than the site meant.
    pub fn from_body(bytes: &[u8], agent: &str) -> Robots {
        let cut = if bytes.len() >= MAX_ROBOTS_BYTES {
            let head = &bytes[..MAX_ROBOTS_BYTES];
            match head.iter().rposition(|&b| b == b'\n' || b == b'\r') {
                Some(end) => &head[..=end],
                None => head,
            }
        } else {
            bytes
        };
        let body = clip_long_lines(&String::from_utf8_lossy(cut));
        let (crawl_delay, sitemaps) = scan_extensions(&body, agent);
        Robots::Rules {
            body,
            crawl_delay,
            sitemaps,
        }
    }

    /// Policy for an HTTP status other than 2xx.
    pub fn from_status(status: u16) -> Robots {
        if (400..500).contains(&status) {
            Robots::AllowAll
        } else {
            Robots::Unreachable(format!("robots.txt answered HTTP {status}"))
        }
    }

    /// May `url` be fetched by `agent`?
    pub fn allowed(&self, agent: &str, url: &Url) -> bool {
        // A panic in the parser costs one URL, not the crawl: disallow is the safe answer.
        self.checked_allowed(agent, url).unwrap_or(false)
    }

    /// Like [`Robots::allowed`], but `None` when the third-party parser panicked on this
    /// file (it is fed untrusted bytes; tests use this to prove it never happens).
    pub fn checked_allowed(&self, agent: &str, url: &Url) -> Option<bool> {
        match self {
            Robots::AllowAll => Some(true),
            Robots::Unreachable(_) => Some(false),
            Robots::Rules { body, .. } => {
                let (body, url) = (body.as_str(), url.as_str());
                std::panic::catch_unwind(|| {
                    let mut m = robotstxt::DefaultMatcher::default();
                    m.one_agent_allowed_by_robots(body, agent, url)
                })
                .ok()
            }
        }
    }

    pub fn crawl_delay(&self) -> Option<Duration> {
        match self {
            Robots::Rules { crawl_delay, .. } => *crawl_delay,
            _ => None,
        }
    }

    pub fn sitemaps(&self) -> &[String] {
        match self {
            Robots::Rules { sitemaps, .. } => sitemaps,
            _ => &[],
        }
    }
}

/// The `robotstxt` parser slices lines longer than 16,664 bytes at a byte count that can fall
/// inside a UTF-8 character, and panics (seen on real HTML soft-404s served as robots.txt).
/// No rule is that long: lines are cut at [`MAX_LINE_BYTES`], on a character boundary.
pub const MAX_LINE_BYTES: usize = 16_000;

fn clip_long_lines(text: &str) -> String {
    if text.len() <= MAX_LINE_BYTES {
        return text.to_string();
    }
    let mut out = String::with_capacity(text.len());
    let mut line_len = 0;
    for c in text.chars() {
        if c == '\n' || c == '\r' {
            line_len = 0;
            out.push(c);
        } else if line_len + c.len_utf8() <= MAX_LINE_BYTES {
            line_len += c.len_utf8();
            out.push(c);
        }
    }
    out
}

/// `Crawl-delay` of the group that applies to `agent` (its own group, else `*`), and every
/// `Sitemap:` line.
fn scan_extensions(body: &str, agent: &str) -> (Option<Duration>, Vec<String>) {
    let agent = agent.to_ascii_lowercase();
    let mut sitemaps = Vec::new();
    let (mut ours, mut star): (Option<f64>, Option<f64>) = (None, None);
    // Current group's agents; a user-agent line after a rule starts a new group.
    let mut group: Vec<String> = Vec::new();
    let mut in_rules = false;
    for raw in body.lines() {
        let line = raw.split('#').next().unwrap_or("").trim();
        let Some((key, value)) = line.split_once(':') else {
            continue;
        };
        let key = key.trim().to_ascii_lowercase();
        let value = value.trim();
        match key.as_str() {
            "user-agent" => {
                if in_rules {
                    group.clear();
                    in_rules = false;
                }
                group.push(value.to_ascii_lowercase());
            }
            "sitemap" | "site-map" => {
                if !value.is_empty() && sitemaps.len() < 50 {
                    sitemaps.push(value.to_string());
                }
            }
            "crawl-delay" => {
                in_rules = true;
                let Ok(secs) = value.parse::<f64>() else {
                    continue;
                };
                if !(secs.is_finite() && secs >= 0.0) {
                    continue;
                }
                for g in &group {
                    if g == "*" {
                        star.get_or_insert(secs);
                    } else if !g.is_empty() && agent.contains(g.as_str()) {
                        ours.get_or_insert(secs);
                    }
                }
            }
            _ => in_rules = true,
        }
    }
    let delay = ours
        .or(star)
        .map(|s| Duration::from_secs_f64(s).min(MAX_CRAWL_DELAY));
    (delay, sitemaps)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn u(s: &str) -> Url {
        Url::parse(s).unwrap()
    }

    #[test]
    fn rules_delay_and_sitemaps() {
        let r = Robots::from_body(
            b"User-agent: *\nDisallow: /private/\nCrawl-delay: 2\n\nUser-agent: BadBot\nDisallow: /\n\nSitemap: http://a.com/sitemap.xml\n",
            "leadcrawl",
        );
        assert!(r.allowed("leadcrawl", &u("http://a.com/about.html")));
        assert!(!r.allowed("leadcrawl", &u("http://a.com/private/x.html")));
        assert!(!r.allowed("BadBot", &u("http://a.com/about.html")));
        assert_eq!(r.crawl_delay(), Some(Duration::from_secs(2)));
        assert_eq!(r.sitemaps(), &["http://a.com/sitemap.xml".to_string()]);
    }

    #[test]
    fn our_group_wins_over_star() {
        let r = Robots::from_body(b"User-agent: *\nCrawl-delay: 5\n\nUser-agent: LeadCrawl\nCrawl-delay: 0.5\nDisallow: /x\n", "leadcrawl");
        assert_eq!(r.crawl_delay(), Some(Duration::from_millis(500)));
        assert!(!r.allowed("leadcrawl", &u("http://a.com/x")));
    }

    #[test]
    fn very_long_multibyte_lines_do_not_reach_the_parser() {
        let mut body = "User-agent: *\nDisallow: /x\n".to_string();
        body.push_str(&"准".repeat(20_000));
        body.push_str("\nDisallow: /y\n");
        let r = Robots::from_body(body.as_bytes(), "leadcrawl");
        assert!(
            !r.allowed("leadcrawl", &u("http://a.com/y")),
            "rules after the long line still apply"
        );
        assert!(r.allowed("leadcrawl", &u("http://a.com/z")));
    }

    #[test]
    fn only_the_first_500_kib_count_and_a_cut_rule_is_dropped() {
        let mut body = "User-agent: *\nDisallow: /early/\n".to_string();
        while body.len() < MAX_ROBOTS_BYTES - 10 {
            body.push_str("# filler filler filler filler\n");
        }
        body.push_str("Disallow: /abcdefghijklmnopqrstuvwxyz\nDisallow: /late/\n");
        let r = Robots::from_body(body.as_bytes(), "leadcrawl");
        assert!(!r.allowed("leadcrawl", &u("http://a.com/early/x")));
        assert!(
            r.allowed("leadcrawl", &u("http://a.com/abc")),
            "the rule cut at 500 KiB is not read as `Disallow: /abc`"
        );
        assert!(r.allowed("leadcrawl", &u("http://a.com/late/x")));
    }

    #[test]
    fn status_policies() {
        assert!(Robots::from_status(404).allowed("x", &u("http://a.com/")));
        assert!(Robots::from_status(403).allowed("x", &u("http://a.com/")));
        assert!(!Robots::from_status(503).allowed("x", &u("http://a.com/")));
    }
}
