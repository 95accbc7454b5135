//! Crawling one company site: [`crawl_site`].
//!
//! 1. Find a working origin: the given URL, then http↔https and apex↔www, by fetching
//!    robots.txt (RFC 9309: 4xx allows all; 5xx or unreachable forbids all, retried later).
//! 2. Fetch the start page; one cross-domain redirect there is followed and recorded (companies
//!    move domains), and the site's scope moves with it.
//! 3. Read sitemaps (robots `Sitemap:` lines, else `/sitemap.xml`; indexes; gzip).
//! 4. Fetch pages best-first: pages that describe a company (about, products, customers,
//!    pricing, careers, contact, legal; English and French) before the rest, up to
//!    `max_pages` and `max_depth`, never the same URL twice, never a disallowed one, skipping
//!    calendar-style traps; stop early after `breaker_threshold` consecutive failures.
//!
//! The site's time budget bounds all of it: robots.txt and its retries, sitemaps, pages, their
//! retries and backoff waits, a body trickling in. A fetch under way when it runs out is
//! abandoned (`time_budget`), and the site ends `cut_short` at once.

use std::cmp::Ordering;
use std::collections::{BinaryHeap, HashMap, HashSet};
use std::time::Duration;

use tokio::time::Instant;
use url::Url;

use crate::fetch::{BodyPolicy, ErrorKind, Fetched, Fetcher, Request, Validators};
use crate::politeness::HostBudgets;
use crate::robots::{Robots, MAX_ROBOTS_BYTES};
use crate::sitemap;
use crate::urls::{canonicalize, registrable_domain};
use enrich::pagetype::{classify_link, PageType};

/// Settings for one site's crawl.
#[derive(Debug, Clone)]
pub struct SiteConfig {
    /// Product token matched against robots.txt `User-agent` lines (`leadcrawl`).
    pub agent_token: String,
    pub max_pages: u32,
    pub max_depth: u32,
    /// Wall time for the whole site, every request, retry and wait included.
    pub time_budget: Duration,
    /// Consecutive failed pages after which the site is abandoned.
    pub breaker_threshold: u32,
    /// Wait before asking again for a robots.txt that answered 5xx or timed out.
    pub robots_retry_delay: Duration,
    pub robots_retries: u32,
    pub max_sitemaps: u32,
}

impl Default for SiteConfig {
    fn default() -> Self {
        SiteConfig {
            agent_token: "leadcrawl".into(),
            max_pages: 20,
            max_depth: 3,
            time_budget: Duration::from_secs(300),
            breaker_threshold: 5,
            robots_retry_delay: Duration::from_secs(30),
            robots_retries: 2,
            max_sitemaps: 4,
        }
    }
}

/// What a fetched URL was for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Robots,
    Sitemap,
    Page,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Robots => "robots",
            Kind::Sitemap => "sitemap",
            Kind::Page => "page",
        }
    }
}

/// How a URL was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    Seed,
    Sitemap,
    Link,
    Robots,
}

impl Source {
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Seed => "seed",
            Source::Sitemap => "sitemap",
            Source::Link => "link",
            Source::Robots => "robots",
        }
    }
}

/// One attempted URL and its context.
#[derive(Debug, Clone)]
pub struct Attempt {
    pub fetched: Fetched,
    pub kind: Kind,
    pub depth: u32,
    pub source: Source,
    /// Encoding used to read the HTML (`windows-1252`, …), for pages with a body.
    pub charset: Option<String>,
}

/// The result of crawling one site.
#[derive(Debug, Default)]
pub struct SiteCrawl {
    pub attempts: Vec<Attempt>,
    /// Set when the site gave nothing usable: the unit failed, with this reason.
    pub failure: Option<String>,
    /// The registrable domain the start page redirected to, when it left the original one.
    pub moved_to: Option<String>,
    pub pages_ok: u32,
    pub robots_disallowed: u32,
    /// Why the crawl ended before its page limit: `time_budget`, `circuit_open`.
    pub cut_short: Option<&'static str>,
    /// A stop was requested: the result is incomplete and must not be committed.
    pub interrupted: bool,
}

/// The set of URLs that belong to a site.
#[derive(Debug, Clone)]
struct Scope {
    domain: String,
    /// For an IP-address site, its port: other ports are other sites.
    port: Option<u16>,
}

impl Scope {
    fn of(url: &Url) -> Option<Scope> {
        let host = url.host_str()?;
        let domain = registrable_domain(host)?;
        let is_ip = matches!(url.host(), Some(url::Host::Ipv4(_) | url::Host::Ipv6(_)));
        Some(Scope {
            domain,
            port: if is_ip {
                url.port_or_known_default()
            } else {
                None
            },
        })
    }

    fn contains(&self, url: &Url) -> bool {
        let Some(host) = url.host_str() else {
            return false;
        };
        if !matches!(url.scheme(), "http" | "https") {
            return false;
        }
        registrable_domain(host).is_some_and(|d| d == self.domain)
            && (self.port.is_none() || url.port_or_known_default() == self.port)
    }
}

/// The budget key of a URL's site: its registrable domain (IP sites: address and port).
pub fn site_key(url: &Url) -> Option<String> {
    let s = Scope::of(url)?;
    Some(match s.port {
        Some(p) => format!("{}:{p}", s.domain),
        None => s.domain,
    })
}

/// A URL without its scheme: `http://a.com/x` and `https://a.com/x` are one page.
fn dedupe_key(url: &Url) -> String {
    url[url::Position::BeforeHost..].to_string()
}

/// How much a page of each type is worth fetching early (the vocabulary that types a link is
/// enrich's page classifier, the one extraction types pages with).
fn topic_priority(page_type: Option<PageType>) -> i32 {
    match page_type {
        Some(PageType::Home) => 100,
        Some(PageType::About) => 90,
        Some(PageType::Product) => 85,
        Some(PageType::Customers) => 80,
        Some(PageType::Pricing) => 75,
        Some(PageType::Careers | PageType::Contact) => 70,
        Some(PageType::Legal) => 65,
        Some(PageType::Blog) => 30,
        Some(PageType::Other) | None => 40,
    }
}

const SKIP_EXTENSIONS: &[&str] = &[
    ".pdf", ".jpg", ".jpeg", ".png", ".gif", ".webp", ".svg", ".ico", ".css", ".js", ".zip", ".gz",
    ".mp4", ".mp3", ".avi", ".mov", ".doc", ".docx", ".xls", ".xlsx", ".ppt", ".pptx", ".exe",
    ".dmg", ".woff", ".woff2", ".ttf", ".json", ".xml", ".rss", ".txt", ".csv",
];

/// How much a URL is worth fetching early (higher first).
pub fn score(url: &Url, anchor: &str) -> i32 {
    let path = url.path();
    let mut s = topic_priority(classify_link(path, anchor));
    let depth = path.split('/').filter(|p| !p.is_empty()).count() as i32;
    s -= 5 * (depth - 2).max(0);
    if url.query().is_some() {
        s -= 10;
    }
    if looks_dated(url) {
        s -= 30;
    }
    s
}

/// Query values or path segments that look like dates or pages of an endless listing.
fn looks_dated(url: &Url) -> bool {
    let dated = |v: &str| {
        let digits: String = v.chars().filter(|c| c.is_ascii_digit()).collect();
        digits.len() >= 6 && v.len() <= 12 && (v.contains('-') || v.contains('/'))
    };
    url.query_pairs().any(|(k, v)| {
        let k = k.to_lowercase();
        dated(&v)
            || matches!(
                k.as_str(),
                "month" | "year" | "day" | "date" | "week" | "cal" | "calendar" | "start" | "end"
            )
    })
}

/// URLs that are never worth fetching: too long, too deep, repeating segments.
fn is_trap(url: &Url) -> bool {
    let s = url.as_str();
    if s.len() > 300 || url.query_pairs().count() > 6 {
        return true;
    }
    let segs: Vec<&str> = url
        .path_segments()
        .map(|p| p.filter(|x| !x.is_empty()).collect())
        .unwrap_or_default();
    if segs.len() > 10 {
        return true;
    }
    let mut counts: HashMap<&str, u32> = HashMap::new();
    segs.iter().any(|s| {
        let c = counts.entry(s).or_default();
        *c += 1;
        *c >= 3
    })
}

fn has_skipped_extension(url: &Url) -> bool {
    let p = url.path().to_ascii_lowercase();
    SKIP_EXTENSIONS.iter().any(|e| p.ends_with(e))
}

#[derive(Debug, PartialEq, Eq)]
struct Queued {
    score: i32,
    depth: u32,
    seq: u64,
    url: Url,
    source: Source,
}

impl Ord for Queued {
    fn cmp(&self, o: &Self) -> Ordering {
        self.score
            .cmp(&o.score)
            .then(o.depth.cmp(&self.depth))
            .then(o.seq.cmp(&self.seq))
    }
}

impl PartialOrd for Queued {
    fn partial_cmp(&self, o: &Self) -> Option<Ordering> {
        Some(self.cmp(o))
    }
}

/// Variants of one URL to try when it does not answer: scheme and www. swapped.
fn origin_candidates(start: &Url) -> Vec<Url> {
    let mut out = vec![start.clone()];
    let mut push = |u: Url| {
        if !out.contains(&u) {
            out.push(u);
        }
    };
    let mut other_scheme = start.clone();
    let _ = other_scheme.set_scheme(if start.scheme() == "https" {
        "http"
    } else {
        "https"
    });
    if start.port().is_none() {
        push(other_scheme.clone());
    }
    if let (Some(host), Some(url::Host::Domain(_))) = (start.host_str(), start.host()) {
        let toggled = match host.strip_prefix("www.") {
            Some(apex) => apex.to_string(),
            None => format!("www.{host}"),
        };
        for base in [start, &other_scheme] {
            let mut u = base.clone();
            if u.set_host(Some(&toggled)).is_ok() && (base == start || start.port().is_none()) {
                push(u);
            }
        }
    }
    out
}

/// The state of one site's crawl.
struct SiteRun<'a> {
    fetcher: &'a Fetcher,
    cfg: &'a SiteConfig,
    budgets: &'a HostBudgets,
    /// The end of the site's time budget.
    deadline: Instant,
    stop: &'a (dyn Fn() -> bool + Sync),
    robots: Robots,
    scope: Scope,
    out: SiteCrawl,
    seen: HashSet<String>,
    queue: BinaryHeap<Queued>,
    path_variants: HashMap<String, u32>,
    seq: u64,
    consecutive_failures: u32,
    previous: Option<&'a HashMap<String, Validators>>,
}

/// Crawls one site. `previous` holds validators of an earlier crawl (conditional requests);
/// `stop` is polled before every request and while one is under way (every
/// [`crate::fetch::STOP_POLL`]): a stop ends the site within that, however slow the server.
pub async fn crawl_site(
    fetcher: &Fetcher,
    budgets: &HostBudgets,
    cfg: &SiteConfig,
    start: &Url,
    previous: Option<&HashMap<String, Validators>>,
    stop: &(dyn Fn() -> bool + Sync),
) -> SiteCrawl {
    let started = Instant::now();
    let Some(scope) = Scope::of(start) else {
        return SiteCrawl {
            failure: Some(format!("not a crawlable site: {start}")),
            ..Default::default()
        };
    };
    let mut run = SiteRun {
        fetcher,
        cfg,
        budgets,
        // A budget too large to add up is no budget (the config's ranges should prevent it).
        deadline: started
            .checked_add(cfg.time_budget)
            .unwrap_or(started + Duration::from_secs(100 * 365 * 86_400)),
        stop,
        robots: Robots::AllowAll,
        scope,
        out: SiteCrawl::default(),
        seen: HashSet::new(),
        queue: BinaryHeap::new(),
        path_variants: HashMap::new(),
        seq: 0,
        consecutive_failures: 0,
        previous,
    };
    // 1. origin and robots.txt
    let mut origin = None;
    let (mut first_err, mut tried) = (String::new(), 0);
    for cand in origin_candidates(start) {
        if stop() {
            run.out.interrupted = true;
            return run.out;
        }
        if run.out_of_time() {
            break;
        }
        let f = run.fetch_robots(&cand).await;
        if run.stopped() {
            return run.out;
        }
        match (&f.error, f.status) {
            (Some((kind, msg)), None) if kind.is_network() => {
                // The URL as given explains best why the site is unreachable.
                if first_err.is_empty() {
                    first_err = format!("{}: {msg}", kind.as_str());
                }
                tried += 1;
                continue;
            }
            _ => {
                origin = Some(cand);
                break;
            }
        }
    }
    let Some(mut origin) = origin else {
        let variants = if tried > 1 {
            format!(" (and {} http/https, www variants)", tried - 1)
        } else {
            String::new()
        };
        run.out.failure = Some(format!("unreachable: {first_err}{variants}"));
        return run.out;
    };
    let mut robots_tries = 0;
    while let Robots::Unreachable(why) = &run.robots {
        let no_time = Instant::now()
            .checked_add(cfg.robots_retry_delay)
            .is_none_or(|t| t >= run.deadline);
        if robots_tries >= cfg.robots_retries || no_time {
            run.out.failure = Some(format!(
                "robots.txt unavailable ({why}); nothing fetched, retry later"
            ));
            if no_time && robots_tries < cfg.robots_retries {
                run.out.cut_short = Some("time_budget");
            }
            return run.out;
        }
        robots_tries += 1;
        run.sleep(cfg.robots_retry_delay).await;
        if run.stopped() {
            return run.out;
        }
        run.fetch_robots(&origin).await;
        if run.stopped() {
            return run.out;
        }
    }
    if let Some(d) = run.robots.crawl_delay() {
        budgets.for_url(&origin).at_least(d).await;
    }
    // 2. the start page, where one move to another domain is allowed
    let seed = canonicalize(&origin);
    run.seen.insert(dedupe_key(&seed));
    if run.out_of_time() {
        // Nothing left for the start page: robots.txt took the whole budget.
    } else if run.robots.allowed(&cfg.agent_token, &seed) {
        let f = run
            .fetcher
            .fetch(
                Request {
                    url: &seed,
                    policy: BodyPolicy::Html,
                    validators: run.validators(&seed),
                    in_scope: &|_| true,
                    deadline: Some(run.deadline),
                    stop: Some(stop),
                },
                budgets,
            )
            .await;
        if run.stopped() {
            return run.out;
        }
        let moved = (!run.scope.contains(&f.final_url))
            .then(|| Scope::of(&f.final_url))
            .flatten();
        if let Some(new_scope) = moved {
            run.out.moved_to = Some(new_scope.domain.clone());
            run.scope = new_scope;
            origin = f.final_url.clone();
            run.seen.insert(dedupe_key(&f.final_url));
            run.record_page(f, 0, Source::Seed);
            if !run.out_of_time() {
                run.fetch_robots(&origin).await;
                if let Some(d) = run.robots.crawl_delay() {
                    budgets.for_url(&origin).at_least(d).await;
                }
            }
        } else {
            run.record_page(f, 0, Source::Seed);
        }
    } else {
        run.out.robots_disallowed += 1;
    }
    // 3. sitemaps
    run.read_sitemaps(&origin, stop).await;
    // 4. best-first
    while let Some(next) = run.queue.pop() {
        if stop() {
            run.out.interrupted = true;
            break;
        }
        if run.pages_attempted() >= cfg.max_pages {
            break;
        }
        if run.out_of_time() {
            break;
        }
        if run.consecutive_failures >= cfg.breaker_threshold {
            run.out.cut_short = Some("circuit_open");
            break;
        }
        if !run.robots.allowed(&cfg.agent_token, &next.url) {
            run.out.robots_disallowed += 1;
            continue;
        }
        let scope = run.scope.clone();
        let in_scope = move |u: &Url| scope.contains(u);
        let f = run
            .fetcher
            .fetch(
                Request {
                    url: &next.url,
                    policy: BodyPolicy::Html,
                    validators: run.validators(&next.url),
                    in_scope: &in_scope,
                    deadline: Some(run.deadline),
                    stop: Some(stop),
                },
                budgets,
            )
            .await;
        if f.final_url != next.url && !run.seen.insert(dedupe_key(&f.final_url)) && f.ok() {
            // A redirect to a page already fetched: recorded, not read twice.
            let mut f = f;
            f.body = None;
            f.error = Some((
                ErrorKind::Http,
                format!("redirect to already fetched {}", f.final_url),
            ));
            run.record_page(f, next.depth, next.source);
            continue;
        }
        run.record_page(f, next.depth, next.source);
    }
    // A fetch abandoned for a stop leaves the site incomplete, even when it was the last one.
    if run
        .out
        .attempts
        .iter()
        .any(|a| matches!(a.fetched.error, Some((ErrorKind::Stopped, _))))
    {
        run.out.interrupted = true;
    }
    if run.out.pages_ok == 0 && run.out.failure.is_none() && !run.out.interrupted {
        let first_err = run
            .out
            .attempts
            .iter()
            .filter(|a| a.kind == Kind::Page)
            .find_map(|a| {
                a.fetched
                    .error
                    .as_ref()
                    .map(|(k, m)| format!("{}: {m}", k.as_str()))
            });
        run.out.failure = Some(match first_err {
            Some(e) => format!("no page could be fetched ({e})"),
            None if run.out.robots_disallowed > 0 => {
                "every page is disallowed by robots.txt".into()
            }
            None => "no page could be fetched".into(),
        });
    }
    run.out
}

impl<'a> SiteRun<'a> {
    fn validators(&self, url: &Url) -> Option<&'a Validators> {
        self.previous.and_then(|p| p.get(url.as_str()))
    }

    /// Whether a stop was asked (and, if so, the result marked incomplete).
    fn stopped(&mut self) -> bool {
        if (self.stop)() {
            self.out.interrupted = true;
        }
        self.out.interrupted
    }

    /// Waits, for at most `d`, and less if a stop is asked.
    async fn sleep(&self, d: Duration) {
        let until = Instant::now().checked_add(d).unwrap_or(self.deadline);
        while Instant::now() < until && !(self.stop)() {
            tokio::time::sleep_until(until.min(Instant::now() + crate::fetch::STOP_POLL)).await;
        }
    }

    /// Whether the site's time budget is spent (and, if so, the site marked cut short).
    fn out_of_time(&mut self) -> bool {
        let out = Instant::now() >= self.deadline;
        if out {
            self.out.cut_short = Some("time_budget");
        }
        out
    }

    fn pages_attempted(&self) -> u32 {
        self.out
            .attempts
            .iter()
            .filter(|a| a.kind == Kind::Page)
            .count() as u32
    }

    /// Fetches `origin`'s robots.txt, sets the policy and records the attempt.
    async fn fetch_robots(&mut self, origin: &Url) -> Fetched {
        let mut url = origin.clone();
        url.set_path("/robots.txt");
        url.set_query(None);
        let scope = Scope::of(origin);
        let in_scope = move |u: &Url| scope.as_ref().is_some_and(|s| s.contains(u));
        let f = self
            .fetcher
            .fetch(
                Request {
                    url: &url,
                    // A huge robots.txt is read up to the limit parsers read, not refused.
                    policy: BodyPolicy::Prefix(MAX_ROBOTS_BYTES as u64),
                    validators: None,
                    in_scope: &in_scope,
                    deadline: Some(self.deadline),
                    stop: Some(self.stop),
                },
                self.budgets,
            )
            .await;
        self.robots = match (&f.error, f.status, &f.body) {
            (None, Some(s), Some(body)) if (200..300).contains(&s) => {
                Robots::from_body(body, &self.cfg.agent_token)
            }
            (_, Some(s), _) if (400..500).contains(&s) => Robots::AllowAll,
            // An error after a 2xx status (a body cut short) says more than the status.
            (Some((k, m)), _, _) if *k != ErrorKind::Http => {
                Robots::Unreachable(format!("{}: {m}", k.as_str()))
            }
            (_, Some(s), _) => Robots::Unreachable(format!("HTTP {s}")),
            (Some((k, m)), None, _) => Robots::Unreachable(format!("{}: {m}", k.as_str())),
            (None, None, _) => Robots::Unreachable("no answer".into()),
        };
        self.out.attempts.push(Attempt {
            fetched: f.clone(),
            kind: Kind::Robots,
            depth: 0,
            source: Source::Robots,
            charset: None,
        });
        f
    }

    async fn read_sitemaps(&mut self, origin: &Url, stop: &(dyn Fn() -> bool + Sync)) {
        let mut pending: Vec<Url> = self
            .robots
            .sitemaps()
            .iter()
            .filter_map(|s| Url::parse(s).ok())
            .filter(|u| self.scope.contains(u))
            .collect();
        if pending.is_empty() {
            if let Ok(u) = origin.join("/sitemap.xml") {
                if self.robots.allowed(&self.cfg.agent_token, &u) {
                    pending.push(u);
                }
            }
        }
        let mut fetched = 0;
        let mut done: HashSet<Url> = HashSet::new();
        while let Some(sm) = pending.pop() {
            if fetched >= self.cfg.max_sitemaps || stop() || !done.insert(sm.clone()) {
                continue;
            }
            if self.out_of_time() {
                break;
            }
            fetched += 1;
            let scope = self.scope.clone();
            let in_scope = move |u: &Url| scope.contains(u);
            let f = self
                .fetcher
                .fetch(
                    Request {
                        url: &sm,
                        policy: BodyPolicy::Any,
                        validators: None,
                        in_scope: &in_scope,
                        deadline: Some(self.deadline),
                        stop: Some(self.stop),
                    },
                    self.budgets,
                )
                .await;
            if let (true, Some(body)) = (f.ok(), &f.body) {
                let parsed = sitemap::parse(body);
                for loc in parsed.locs {
                    let Ok(u) = Url::parse(&loc) else { continue };
                    if !self.scope.contains(&u) {
                        continue;
                    }
                    if parsed.is_index {
                        pending.push(u);
                    } else {
                        self.enqueue(u, "", 1, Source::Sitemap);
                    }
                }
            }
            self.out.attempts.push(Attempt {
                fetched: f,
                kind: Kind::Sitemap,
                depth: 0,
                source: Source::Robots,
                charset: None,
            });
        }
    }

    fn enqueue(&mut self, url: Url, anchor: &str, depth: u32, source: Source) {
        let url = canonicalize(&url);
        if depth > self.cfg.max_depth || has_skipped_extension(&url) || is_trap(&url) {
            return;
        }
        if !self.seen.insert(dedupe_key(&url)) {
            return;
        }
        if url.query().is_some() {
            let c = self
                .path_variants
                .entry(url.path().to_string())
                .or_default();
            *c += 1;
            if *c > 5 {
                return;
            }
        }
        self.seq += 1;
        self.queue.push(Queued {
            score: score(&url, anchor),
            depth,
            seq: self.seq,
            url,
            source,
        });
    }

    fn record_page(&mut self, f: Fetched, depth: u32, source: Source) {
        let mut charset = None;
        if f.ok() {
            self.out.pages_ok += 1;
            self.consecutive_failures = 0;
        } else if f.status != Some(304)
            && !matches!(
                f.error,
                Some((ErrorKind::ContentType | ErrorKind::OffSite, _))
            )
        {
            self.consecutive_failures += 1;
        }
        if let (Some(body), true) = (&f.body, f.ok()) {
            let header_charset = f
                .content_type
                .as_deref()
                .and_then(crate::html::charset_param);
            let (text, encoding) = enrich::extract::decode_html(body, header_charset.as_deref());
            charset = Some(encoding.to_string());
            let links = crate::html::scan(&text);
            if !links.nofollow && depth < self.cfg.max_depth {
                let base = links
                    .base
                    .as_deref()
                    .and_then(|b| f.final_url.join(b).ok())
                    .unwrap_or_else(|| f.final_url.clone());
                for (href, anchor) in &links.links {
                    if let Ok(u) = base.join(href) {
                        if self.scope.contains(&u) {
                            self.enqueue(u, anchor, depth + 1, Source::Link);
                        }
                    }
                }
            }
        }
        self.out.attempts.push(Attempt {
            fetched: f,
            kind: Kind::Page,
            depth,
            source,
            charset,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn u(s: &str) -> Url {
        Url::parse(s).unwrap()
    }

    #[test]
    fn company_pages_first() {
        let about = score(&u("http://a.fr/qui-sommes-nous"), "");
        let product = score(&u("http://a.fr/x"), "Nos produits");
        let blog = score(&u("http://a.fr/blog/2024/post-1"), "Read more");
        let cal = score(&u("http://a.fr/calendar?month=2026-12"), "next");
        assert!(
            about > product && product > blog && blog > cal,
            "{about} {product} {blog} {cal}"
        );
        assert_eq!(score(&u("http://a.fr/"), ""), 100);
        // One vocabulary with enrich's page types: what is typed careers is fetched early.
        let careers = score(&u("http://a.fr/nous-rejoindre"), "");
        assert_eq!(careers, score(&u("http://a.fr/careers"), ""));
        assert!(careers > score(&u("http://a.fr/x"), ""), "{careers}");
    }

    #[test]
    fn scope_and_keys() {
        let s = Scope::of(&u("https://www.acme.co.uk/")).unwrap();
        assert!(s.contains(&u("http://shop.acme.co.uk/x")));
        assert!(!s.contains(&u("https://acme.com/")));
        let ip = Scope::of(&u("http://127.0.20.1:8080/")).unwrap();
        assert!(ip.contains(&u("http://127.0.20.1:8080/a")));
        assert!(!ip.contains(&u("http://127.0.20.1:8081/a")));
        assert_eq!(
            site_key(&u("https://www.acme.fr/")).as_deref(),
            Some("acme.fr")
        );
        assert_eq!(site_key(&u("http://acme.fr/")).as_deref(), Some("acme.fr"));
        assert_eq!(
            site_key(&u("http://127.0.20.1:8080/")).as_deref(),
            Some("127.0.20.1:8080")
        );
        assert!(is_trap(&u("http://a.fr/a/b/a/c/a/d")));
        assert_eq!(origin_candidates(&u("https://acme.fr/")).len(), 4);
        assert_eq!(origin_candidates(&u("http://127.0.0.1:8080/")).len(), 1);
    }
}
