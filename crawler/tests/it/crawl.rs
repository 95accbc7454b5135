//! The crawler against real local HTTP servers that misbehave. Every test asserts the rows
//! (attempts) produced, and politeness is checked from the servers' own request logs.

use std::sync::Arc;
use std::time::Duration;

use crawler::{
    crawl_site, Attempt, FetchConfig, Fetcher, HostBudgets, Kind, SiteConfig, SiteCrawl,
};
use url::Url;

use crate::web::*;

pub fn fetch_cfg() -> FetchConfig {
    FetchConfig {
        allow_private_networks: true,
        connect_timeout: Duration::from_secs(1),
        request_timeout: Duration::from_secs(1),
        retry_base: Duration::from_millis(20),
        retry_cap: Duration::from_secs(3),
        max_retries: 2,
        max_body_bytes: 256 * 1024,
        ..FetchConfig::default()
    }
}

pub fn site_cfg() -> SiteConfig {
    SiteConfig {
        robots_retry_delay: Duration::from_millis(100),
        robots_retries: 1,
        ..SiteConfig::default()
    }
}

pub fn crawl_with(start: &str, fc: FetchConfig, sc: SiteConfig, rps: f64) -> SiteCrawl {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let fetcher = Fetcher::new(fc).unwrap();
    let budgets = HostBudgets::new(rps, 1);
    rt.block_on(crawl_site(
        &fetcher,
        &budgets,
        &sc,
        &Url::parse(start).unwrap(),
        None,
        &|| false,
    ))
}

fn crawl(web: &Web) -> SiteCrawl {
    crawl_with(&web.url("/"), fetch_cfg(), site_cfg(), 1000.0)
}

pub fn row<'a>(c: &'a SiteCrawl, path: &str) -> &'a Attempt {
    c.attempts
        .iter()
        .find(|a| {
            a.fetched.url.path() == path || a.fetched.url[url::Position::BeforePath..] == *path
        })
        .unwrap_or_else(|| {
            panic!(
                "no row for {path}: {:?}",
                c.attempts
                    .iter()
                    .map(|a| a.fetched.url.as_str())
                    .collect::<Vec<_>>()
            )
        })
}

pub fn kind_of(a: &Attempt) -> Option<&'static str> {
    a.fetched.error.as_ref().map(|(k, _)| k.as_str())
}

#[test]
fn robots_disallow_crawl_delay_sitemap_and_company_pages_first() {
    let robots = "User-agent: *\nDisallow: /private/\nCrawl-delay: 0.2\n\nUser-agent: leadcrawl\nDisallow: /private/\nDisallow: /search\nCrawl-delay: 0.25\n";
    let home = page(
        "Home",
        &[
            ("/blog/post-1.html", "Read more"),
            ("/private/portal.html", "Partners"),
            ("/search?q=x", "Search"),
            ("/about.html", "About us"),
            ("/products.html", "Nos produits"),
        ],
    );
    let web = Web::start(site(
        robots,
        vec![
            ("/", home),
            (
                "/about.html",
                page("About", &[("/careers.html", "Careers")]),
            ),
            ("/products.html", page("Products", &[])),
            ("/careers.html", page("Careers", &[])),
            ("/blog/post-1.html", page("Post", &[])),
            ("/private/portal.html", page("PRIVATE", &[])),
        ],
    ));
    let c = crawl_with(&web.url("/"), fetch_cfg(), site_cfg(), 100.0);
    assert!(c.failure.is_none(), "{:?}", c.failure);
    let pages: Vec<&str> = c
        .attempts
        .iter()
        .filter(|a| a.kind == Kind::Page)
        .map(|a| a.fetched.url.path())
        .collect();
    assert_eq!(pages[0], "/");
    let pos = |p: &str| {
        pages
            .iter()
            .position(|x| *x == p)
            .unwrap_or_else(|| panic!("{p} not fetched: {pages:?}"))
    };
    assert!(pos("/about.html") < pos("/blog/post-1.html"), "{pages:?}");
    assert!(
        pos("/products.html") < pos("/blog/post-1.html"),
        "{pages:?}"
    );
    assert!(pos("/careers.html") < pos("/blog/post-1.html"), "{pages:?}");
    assert_eq!(c.robots_disallowed, 2, "private and search skipped");
    assert_eq!(c.attempts[0].kind, Kind::Robots);
    assert!(c
        .attempts
        .iter()
        .any(|a| a.kind == Kind::Sitemap && a.fetched.url.path() == "/sitemap.xml"));
    // Server side: never a disallowed path, never two requests closer than our Crawl-delay.
    let paths = web.paths();
    assert!(
        !paths
            .iter()
            .any(|p| p.starts_with("/private/") || p.starts_with("/search")),
        "{paths:?}"
    );
    let gap = web.min_gap().unwrap();
    assert!(
        gap >= Duration::from_millis(250),
        "requests {gap:?} apart, Crawl-delay is 0.25 s"
    );
    assert_eq!(c.pages_ok, 5);
    let head = web.hits()[0].head.to_ascii_lowercase();
    assert!(
        head.contains("user-agent: leadcrawl/"),
        "a real User-Agent: {head}"
    );
}

#[test]
fn politeness_interval_holds_server_side_without_crawl_delay() {
    // A home page with many links, robots.txt 404 (allow all); 10 requests/s → 100 ms.
    let links: Vec<(String, String)> = (0..8)
        .map(|i| (format!("/p{i}.html"), format!("P{i}")))
        .collect();
    let links_ref: Vec<(&str, &str)> = links
        .iter()
        .map(|(a, b)| (a.as_str(), b.as_str()))
        .collect();
    let home = page("Home", &links_ref);
    let handler: Handler = Arc::new(move |path, _| match path {
        "/robots.txt" => status(404),
        "/" => html(&home),
        p if p.starts_with("/p") => html(&page(p, &[])),
        _ => status(404),
    });
    let web = Web::start(handler);
    let c = crawl_with(&web.url("/"), fetch_cfg(), site_cfg(), 10.0);
    assert_eq!(c.pages_ok, 9, "home + 8 pages, robots 404 allows all");
    let gap = web.min_gap().unwrap();
    assert!(gap >= Duration::from_millis(100), "{gap:?}");
    assert_eq!(
        web.hits().len(),
        11,
        "robots + sitemap + 9 pages: {:?}",
        web.paths()
    );
}

#[test]
fn robots_500_forbids_everything_and_is_asked_again_later() {
    let web = Web::start(Arc::new(|path, _| {
        if path == "/robots.txt" {
            status(500)
        } else {
            html(&page("x", &[]))
        }
    }));
    let c = crawl(&web);
    assert!(
        c.failure
            .as_deref()
            .unwrap()
            .contains("robots.txt unavailable (HTTP 500)"),
        "{:?}",
        c.failure
    );
    assert_eq!(
        web.hits().len(),
        6,
        "2 reads of robots.txt, 3 attempts each: {:?}",
        web.paths()
    );
    assert!(
        web.paths().iter().all(|p| p == "/robots.txt"),
        "no page fetched: {:?}",
        web.paths()
    );
    let robots_rows: Vec<_> = c
        .attempts
        .iter()
        .filter(|a| a.kind == Kind::Robots)
        .collect();
    assert_eq!(robots_rows.len(), 2, "first read and one retry later");
    assert_eq!(
        robots_rows[0].fetched.attempts, 3,
        "5xx retried with backoff within a fetch"
    );
    assert_eq!(robots_rows[0].fetched.status, Some(500));
}

#[test]
fn robots_timeout_forbids_everything() {
    let web = Web::start(Arc::new(|path, _| {
        if path == "/robots.txt" {
            Reply::Delay(Duration::from_secs(3), Box::new(status(200)))
        } else {
            html(&page("x", &[]))
        }
    }));
    let mut fc = fetch_cfg();
    fc.max_retries = 0;
    let c = crawl_with(&web.url("/"), fc, site_cfg(), 1000.0);
    assert!(c.failure.is_some());
    assert!(
        web.paths().iter().all(|p| p == "/robots.txt"),
        "{:?}",
        web.paths()
    );
    assert_eq!(kind_of(&c.attempts[0]), Some("timeout"));
}

#[test]
fn retry_after_429_and_flapping_503() {
    let web = Web::start(Arc::new(|path, nth| match (path, nth) {
        ("/robots.txt", _) => status(404),
        ("/", _) => html(&page(
            "Home",
            &[("/about.html", "About"), ("/flap.html", "Flap")],
        )),
        ("/about.html", 0) => with_headers(429, &[("Retry-After", "1")], b"slow down"),
        ("/about.html", _) => html(&page("About", &[])),
        ("/flap.html", 0 | 1) => status(503),
        ("/flap.html", _) => html(&page("Flap", &[])),
        _ => status(404),
    }));
    let c = crawl(&web);
    let about = row(&c, "/about.html");
    assert_eq!(about.fetched.status, Some(200));
    assert_eq!(about.fetched.attempts, 2);
    let hits: Vec<_> = web
        .hits()
        .into_iter()
        .filter(|h| h.path == "/about.html")
        .collect();
    assert!(
        hits[1].at - hits[0].at >= Duration::from_millis(990),
        "Retry-After honoured: {:?}",
        hits[1].at - hits[0].at
    );
    let flap = row(&c, "/flap.html");
    assert_eq!((flap.fetched.status, flap.fetched.attempts), (Some(200), 3));
    assert!(flap.fetched.error.is_none());
}

#[test]
fn slow_pages_time_out_and_resets_are_retried_then_recorded() {
    let web = Web::start(Arc::new(|path, _| match path {
        "/robots.txt" => status(404),
        "/" => html(&page(
            "Home",
            &[
                ("/slow.html", "Slow"),
                ("/reset.html", "Reset"),
                ("/ok.html", "OK"),
            ],
        )),
        "/slow.html" => Reply::Delay(Duration::from_secs(3), Box::new(html("late"))),
        "/reset.html" => Reply::Reset,
        "/ok.html" => html(&page("OK", &[])),
        _ => status(404),
    }));
    let c = crawl(&web);
    let slow = row(&c, "/slow.html");
    assert_eq!(kind_of(slow), Some("timeout"));
    assert_eq!(slow.fetched.attempts, 3);
    let reset = row(&c, "/reset.html");
    assert!(
        matches!(kind_of(reset), Some("connect" | "body")),
        "{:?}",
        reset.fetched.error
    );
    assert_eq!(reset.fetched.attempts, 3);
    assert!(reset.fetched.status.is_none());
    assert!(
        row(&c, "/ok.html").fetched.ok(),
        "one bad page does not stop the site"
    );
    assert!(c.failure.is_none());
}

#[test]
fn redirect_loops_and_chains() {
    let web = Web::start(Arc::new(|path, _| {
        let redirect = |to: String| with_headers(302, &[("Location", &to)], b"");
        match path {
            "/robots.txt" => status(404),
            "/" => html(&page(
                "Home",
                &[("/loop-a", "A"), ("/r1", "Chain"), ("/moved", "Moved")],
            )),
            "/loop-a" => redirect("/loop-b".into()),
            "/loop-b" => redirect("/loop-a".into()),
            p if p.starts_with("/r") => {
                let n: u32 = p[2..].parse().unwrap_or(0);
                redirect(format!("/r{}", n + 1))
            }
            "/moved" => redirect("/final.html#x".into()),
            "/final.html" => html(&page("Final", &[])),
            _ => status(404),
        }
    }));
    let c = crawl(&web);
    assert_eq!(kind_of(row(&c, "/loop-a")), Some("redirect_loop"));
    let chain = row(&c, "/r1");
    assert_eq!(kind_of(chain), Some("too_many_redirects"));
    let hops = web
        .paths()
        .iter()
        .filter(|p| p.len() > 2 && p.starts_with("/r") && p[2..].parse::<u32>().is_ok())
        .count();
    assert_eq!(
        hops, 11,
        "the first request and 10 redirects followed, no more"
    );
    let moved = row(&c, "/moved");
    assert!(moved.fetched.ok());
    assert_eq!(moved.fetched.final_url.path(), "/final.html");
}

#[test]
fn a_cross_domain_redirect_at_the_root_is_followed_and_recorded() {
    let new = Web::start(site(
        "User-agent: *\nDisallow: /nope\n",
        vec![
            ("/", page("New home", &[("/about.html", "About")])),
            ("/about.html", page("About", &[])),
        ],
    ));
    let target = new.url("/");
    let old = Web::start(Arc::new(move |path, _| match path {
        "/robots.txt" => status(404),
        "/" => with_headers(301, &[("Location", &target)], b""),
        _ => status(404),
    }));
    let c = crawl(&old);
    assert_eq!(
        c.moved_to.as_deref(),
        Some(new.addr.ip().to_string().as_str())
    );
    let root = &c
        .attempts
        .iter()
        .find(|a| a.kind == Kind::Page)
        .unwrap()
        .fetched;
    assert_eq!(root.final_url.as_str(), new.url("/"));
    assert!(
        row(&c, "/about.html").fetched.ok(),
        "the new domain is crawled"
    );
    assert!(
        new.paths().contains(&"/robots.txt".to_string()),
        "the new host's robots.txt is read"
    );
    assert_eq!(c.pages_ok, 2);
}

#[test]
fn huge_bodies_gzip_bombs_and_binary_content_are_bounded() {
    let bomb = {
        use std::io::Write;
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        let zeros = vec![b' '; 1 << 20];
        for _ in 0..200 {
            gz.write_all(&zeros).unwrap();
        }
        gz.finish().unwrap()
    };
    assert!(
        bomb.len() < 1 << 20,
        "200 MiB of spaces compress to {} bytes",
        bomb.len()
    );
    let bomb = Arc::new(bomb);
    let web = Web::start(Arc::new(move |path, _| match path {
        "/robots.txt" => status(404),
        "/" => html(&page(
            "Home",
            &[
                ("/big.html", "Big"),
                ("/chunked.html", "Chunked"),
                ("/bomb.html", "Bomb"),
                ("/file.bin", "File"),
                ("/image.png", "Img"),
            ],
        )),
        "/big.html" => Reply::Stream {
            status: 200,
            headers: vec![
                ("Content-Type".into(), "text/html".into()),
                ("Content-Length".into(), (50 * 1024 * 1024).to_string()),
            ],
            chunk: vec![b'a'; 64 * 1024],
            count: 800,
        },
        "/chunked.html" => Reply::Stream {
            status: 200,
            headers: vec![("Content-Type".into(), "text/html".into())],
            chunk: vec![b'b'; 64 * 1024],
            count: 800,
        },
        "/bomb.html" => with_headers(
            200,
            &[("Content-Type", "text/html"), ("Content-Encoding", "gzip")],
            &bomb,
        ),
        "/file.bin" => with_headers(
            200,
            &[("Content-Type", "application/octet-stream")],
            &[0u8, 1, 2, 3],
        ),
        _ => status(404),
    }));
    let c = crawl(&web);
    let max = fetch_cfg().max_body_bytes;
    let big = row(&c, "/big.html");
    assert_eq!(kind_of(big), Some("too_large"));
    assert!(big.fetched.body.is_none());
    let chunked = row(&c, "/chunked.html");
    assert_eq!(kind_of(chunked), Some("too_large"));
    assert!(
        chunked.fetched.bytes <= max + 64 * 1024,
        "stopped while streaming: {}",
        chunked.fetched.bytes
    );
    let b = row(&c, "/bomb.html");
    assert_eq!(kind_of(b), Some("too_large"), "{:?}", b.fetched.error);
    assert!(
        b.fetched.bytes <= max + 64 * 1024,
        "decompressed bytes counted: {}",
        b.fetched.bytes
    );
    let bin = row(&c, "/file.bin");
    assert_eq!(kind_of(bin), Some("content_type"));
    assert_eq!(
        bin.fetched.content_type.as_deref(),
        Some("application/octet-stream")
    );
    assert!(bin.fetched.body.is_none());
    assert!(
        !web.paths().contains(&"/image.png".to_string()),
        "image links are not fetched"
    );
}

#[test]
fn windows_1252_page_without_charset_headers() {
    let body: Vec<u8> = b"<html><head><title>Soci\xe9t\xe9 G\xe9n\xe9rale d'\xe9quipements</title></head><body><p>Nous fabriquons des \xe9quipements \
        pour les h\xf4pitaux fran\xe7ais depuis 1950, \xe0 Lyon.</p><a href=\"/r\xe9f\xe9rences.html\">Nos r\xe9f\xe9rences</a></body></html>"
        .to_vec();
    let body = Arc::new(body);
    let web = Web::start(Arc::new(move |path, _| match path {
        "/robots.txt" => status(404),
        "/" => Reply::Full {
            status: 200,
            headers: vec![("Content-Type".into(), "text/html".into())],
            body: body.to_vec(),
        },
        "/r%C3%A9f%C3%A9rences.html" => html(&page("Références", &[])),
        _ => status(404),
    }));
    let c = crawl(&web);
    let home = row(&c, "/");
    assert_eq!(home.charset.as_deref(), Some("windows-1252"));
    assert_eq!(
        home.fetched.body.as_deref().unwrap()[..6],
        b"<html>"[..],
        "raw bytes kept"
    );
    assert!(
        row(&c, "/r%C3%A9f%C3%A9rences.html").fetched.ok(),
        "link decoded from windows-1252 and followed"
    );
}

#[test]
fn calendar_traps_do_not_eat_the_page_budget() {
    let web = Web::start(Arc::new(|path, _| {
        if path == "/robots.txt" {
            return status(404);
        }
        if let Some(m) = path.strip_prefix("/calendar?month=") {
            let n: i32 = m.replace('-', "").parse().unwrap_or(202601);
            return html(&page(
                "Calendar",
                &[(
                    &format!(
                        "/calendar?month={}-{:02}",
                        n / 100 + (n % 100) / 12,
                        (n % 100) % 12 + 1
                    ),
                    "Next month",
                )],
            ));
        }
        match path {
            "/" => html(&page(
                "Home",
                &[
                    ("/calendar?month=2026-01", "Events"),
                    ("/events/2026/01/01/", "Today"),
                    ("/about.html", "About"),
                    ("/contact.html", "Contact"),
                ],
            )),
            p if p.starts_with("/events/") => {
                let deeper = format!("{p}next/");
                html(&page("Day", &[(&deeper, "Next day")]))
            }
            "/about.html" | "/contact.html" => html(&page(path, &[])),
            _ => status(404),
        }
    }));
    let mut sc = site_cfg();
    sc.max_pages = 50;
    let c = crawl_with(&web.url("/"), fetch_cfg(), sc, 1000.0);
    let cal = web
        .paths()
        .iter()
        .filter(|p| p.starts_with("/calendar") || p.starts_with("/events"))
        .count();
    assert!(cal <= 6, "{cal} trap pages fetched: {:?}", web.paths());
    assert!(row(&c, "/about.html").fetched.ok() && row(&c, "/contact.html").fetched.ok());
    let order: Vec<&str> = c
        .attempts
        .iter()
        .filter(|a| a.kind == Kind::Page)
        .map(|a| a.fetched.url.path())
        .collect();
    assert!(
        order.iter().position(|p| *p == "/contact.html")
            < order.iter().position(|p| *p == "/calendar"),
        "{order:?}"
    );
}

#[test]
fn private_addresses_are_refused_by_default() {
    let web = Web::start(site("", vec![("/", page("Home", &[]))]));
    let mut fc = fetch_cfg();
    fc.allow_private_networks = false;
    let c = crawl_with(&web.url("/"), fc, site_cfg(), 1000.0);
    assert!(
        web.hits().is_empty(),
        "the server saw nothing: {:?}",
        web.paths()
    );
    assert_eq!(kind_of(&c.attempts[0]), Some("forbidden_address"));
    assert!(
        c.failure.as_deref().unwrap().contains("loopback"),
        "{:?}",
        c.failure
    );
    // A name that resolves to loopback is refused as well.
    let c = crawl_with(
        &format!("http://localhost:{}/", web.addr.port()),
        {
            let mut f = fetch_cfg();
            f.allow_private_networks = false;
            f
        },
        site_cfg(),
        1000.0,
    );
    assert_eq!(
        kind_of(&c.attempts[0]),
        Some("forbidden_address"),
        "{:?}",
        c.attempts[0].fetched.error
    );
    assert!(
        c.failure
            .as_deref()
            .unwrap()
            .contains("resolves only to forbidden addresses (loopback)"),
        "{:?}",
        c.failure
    );
    assert!(web.hits().is_empty());
}

#[test]
fn unresolvable_names_fail_fast_without_retries() {
    let started = std::time::Instant::now();
    let c = crawl_with(
        "http://no-such-host.invalid/",
        fetch_cfg(),
        site_cfg(),
        1000.0,
    );
    assert!(
        c.failure
            .as_deref()
            .unwrap()
            .starts_with("unreachable: dns"),
        "{:?}",
        c.failure
    );
    assert!(c
        .attempts
        .iter()
        .all(|a| a.fetched.attempts == 1 && kind_of(a) == Some("dns")));
    assert_eq!(c.attempts.len(), 4, "http/https × apex/www tried once each");
    assert!(started.elapsed() < Duration::from_secs(5));
}

#[test]
fn a_failing_site_trips_the_circuit_breaker() {
    let links: Vec<(String, String)> = (0..30)
        .map(|i| (format!("/p{i}.html"), format!("P{i}")))
        .collect();
    let web = Web::start(Arc::new(move |path, _| match path {
        "/robots.txt" => status(404),
        "/" => {
            let refs: Vec<(&str, &str)> = links
                .iter()
                .map(|(a, b)| (a.as_str(), b.as_str()))
                .collect();
            html(&page("Home", &refs))
        }
        _ => status(500),
    }));
    let mut fc = fetch_cfg();
    fc.max_retries = 0;
    let mut sc = site_cfg();
    sc.max_pages = 30;
    sc.breaker_threshold = 4;
    let c = crawl_with(&web.url("/"), fc, sc, 1000.0);
    assert_eq!(c.cut_short, Some("circuit_open"));
    let failed_pages = c
        .attempts
        .iter()
        .filter(|a| a.kind == Kind::Page && !a.fetched.ok())
        .count();
    assert_eq!(failed_pages, 4, "stopped after 4 consecutive failures");
    let served: usize = web.paths().iter().filter(|p| p.starts_with("/p")).count();
    assert_eq!(served, 4, "the server saw no more than that");
    assert!(
        c.failure.is_none(),
        "the home page was fetched: the site is done, cut short"
    );
}
