//! Promises kept under hostile servers (issue 20): the site's time budget against bodies that
//! trickle in, huge robots.txt files, proxies in the environment, binary bytes labelled HTML,
//! answers that are not HTTP, and politeness across a redirect to another lead's host. Every
//! server is real and on loopback; request times are read from the servers' own logs.

use std::io::Read;
use std::net::TcpListener;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crawler::{crawl_site, parse_proxy, FetchConfig, Fetcher, HostBudgets, Kind, SiteCrawl};
use url::Url;

use crate::crawl::{crawl_with, fetch_cfg, kind_of, row, site_cfg};
use crate::web::*;

fn trickle(len: usize, every: Duration) -> Reply {
    Reply::Trickle {
        headers: vec![("Content-Type".into(), "text/html".into())],
        body: vec![b' '; len],
        every,
    }
}

/// A fetch configuration where one trickling URL costs 4 × 2 s of timeouts plus backoff.
fn patient_fetch_cfg() -> FetchConfig {
    FetchConfig {
        request_timeout: Duration::from_secs(2),
        max_retries: 3,
        retry_base: Duration::from_millis(200),
        ..fetch_cfg()
    }
}

#[test]
fn the_time_budget_bounds_the_whole_site_retries_waits_and_sitemaps_included() {
    let web = Web::start(Arc::new(|path, _| match path {
        "/robots.txt" => status(404),
        "/" => html(&page(
            "Home",
            &[
                ("/about.html", "About"),
                ("/products.html", "Products"),
                ("/team.html", "Team"),
            ],
        )),
        // The sitemap and every page trickle in, one byte every 300 ms.
        _ => trickle(1000, Duration::from_millis(300)),
    }));
    let budget = Duration::from_secs(3);
    let mut sc = site_cfg();
    sc.time_budget = budget;
    let started = Instant::now();
    let c = crawl_with(&web.url("/"), patient_fetch_cfg(), sc, 1000.0);
    let took = started.elapsed();
    println!("trickling pages and sitemap: the site ended after {took:?}, budget {budget:?}");
    // Without the bound: the sitemap alone takes 4 timeouts of 2 s, each page as much.
    assert!(
        took < budget + Duration::from_secs(2),
        "the site took {took:?} with a budget of {budget:?}"
    );
    let hits = web.hits();
    let span = hits.last().unwrap().at - hits[0].at;
    assert!(
        span < budget + Duration::from_secs(1),
        "the server saw requests over {span:?}"
    );
    assert_eq!(c.cut_short, Some("time_budget"));
    let cut: Vec<_> = c
        .attempts
        .iter()
        .filter(|a| kind_of(a) == Some("time_budget"))
        .collect();
    assert_eq!(
        cut.len(),
        1,
        "one fetch was under way when the budget ran out"
    );
    assert!(
        cut[0]
            .fetched
            .error
            .as_ref()
            .unwrap()
            .1
            .contains("site time budget reached"),
        "{:?}",
        cut[0].fetched.error
    );
    assert!(row(&c, "/").fetched.ok(), "the home page was read");
    assert!(c.failure.is_none(), "a page was read: done, cut short");
}

#[test]
fn a_trickling_robots_txt_fails_the_site_within_its_budget() {
    let web = Web::start(Arc::new(|path, _| match path {
        "/robots.txt" => trickle(1000, Duration::from_millis(300)),
        _ => html(&page("x", &[])),
    }));
    let budget = Duration::from_secs(2);
    let mut sc = site_cfg();
    sc.time_budget = budget;
    sc.robots_retry_delay = Duration::from_millis(500);
    sc.robots_retries = 2;
    let started = Instant::now();
    let c = crawl_with(&web.url("/"), patient_fetch_cfg(), sc, 1000.0);
    let took = started.elapsed();
    println!("trickling robots.txt: the site ended after {took:?}, budget {budget:?}");
    assert!(took < budget + Duration::from_secs(2), "took {took:?}");
    assert!(
        c.failure
            .as_deref()
            .unwrap()
            .contains("robots.txt unavailable (time_budget:"),
        "{:?}",
        c.failure
    );
    assert_eq!(c.cut_short, Some("time_budget"));
    assert!(
        web.paths().iter().all(|p| p == "/robots.txt"),
        "no page without robots.txt: {:?}",
        web.paths()
    );
}

#[test]
fn a_stop_ends_a_site_at_once_however_slow_the_server() {
    let web = Web::start(Arc::new(|path, _| match path {
        "/robots.txt" | "/sitemap.xml" => status(404),
        "/" => html(&page("Home", &[("/slow.html", "Slow")])),
        _ => trickle(1000, Duration::from_millis(300)),
    }));
    let stop = AtomicBool::new(false);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let fetcher = Fetcher::new(patient_fetch_cfg()).unwrap();
    let budgets = HostBudgets::new(1000.0, 1);
    let (c, ended, asked) = std::thread::scope(|s| {
        // The stop comes while the slow page trickles in (a SIGTERM, a lost lease).
        let asked = s.spawn(|| {
            while !web.paths().contains(&"/slow.html".to_string()) {
                std::thread::sleep(Duration::from_millis(20));
            }
            std::thread::sleep(Duration::from_millis(500));
            stop.store(true, Ordering::SeqCst);
            Instant::now()
        });
        let c = rt.block_on(crawl_site(
            &fetcher,
            &budgets,
            &site_cfg(),
            &Url::parse(&web.url("/")).unwrap(),
            None,
            &|| stop.load(Ordering::SeqCst),
        ));
        (c, Instant::now(), asked.join().unwrap())
    });
    let after = ended - asked;
    println!("stopped {after:?} after the stop was asked");
    // Without the poll: four 2 s timeouts and the backoff between them.
    assert!(after < Duration::from_secs(1), "{after:?}");
    assert!(c.interrupted);
    assert_eq!(kind_of(row(&c, "/slow.html")), Some("stopped"));
}

/// A robots.txt of `total` bytes: a rule, filler comments, and after 1 MB a rule that must not
/// count (only the first 500 KiB are read).
fn huge_robots(total: usize) -> Vec<u8> {
    let mut body = b"User-agent: *\nDisallow: /private/\n".to_vec();
    let filler = b"# a very long robots.txt, as some sites generate them, line after line\n";
    while body.len() < 1024 * 1024 {
        body.extend_from_slice(filler);
    }
    body.extend_from_slice(b"User-agent: *\nDisallow: /late/\n");
    while body.len() < total {
        body.extend_from_slice(filler);
    }
    body
}

fn robots_site(robots: Arc<dyn Fn() -> Reply + Send + Sync>) -> Web {
    Web::start(Arc::new(move |path, _| match path {
        "/robots.txt" => robots(),
        "/" => html(&page(
            "Home",
            &[("/private/x.html", "Private"), ("/late/x.html", "Late")],
        )),
        _ => html(&page(path, &[])),
    }))
}

fn assert_read_as_google_does(web: &Web, c: &SiteCrawl, late_rule: bool) {
    assert!(c.failure.is_none(), "{:?}", c.failure);
    let robots: Vec<_> = c
        .attempts
        .iter()
        .filter(|a| a.kind == Kind::Robots)
        .collect();
    assert_eq!(robots.len(), 1, "read once, not asked again");
    let f = &robots[0].fetched;
    assert!(f.ok() && f.truncated, "{:?}", f.error);
    assert!(f.body.as_ref().unwrap().len() <= 500 * 1024);
    assert!(
        f.bytes < 1024 * 1024,
        "the rest was not downloaded: {} bytes",
        f.bytes
    );
    let paths = web.paths();
    assert_eq!(
        paths.iter().filter(|p| *p == "/robots.txt").count(),
        1,
        "{paths:?}"
    );
    assert!(!paths.contains(&"/private/x.html".to_string()), "{paths:?}");
    if late_rule {
        assert!(
            paths.contains(&"/late/x.html".to_string()),
            "a rule past 500 KiB does not count: {paths:?}"
        );
    }
}

#[test]
fn a_huge_robots_txt_is_read_up_to_500_kib_with_content_length() {
    let body = Arc::new(huge_robots(4_500_000));
    let web = robots_site(Arc::new(move || {
        with_headers(200, &[("Content-Type", "text/plain")], &body)
    }));
    let c = crawl_with(&web.url("/"), fetch_cfg(), site_cfg(), 1000.0);
    assert_read_as_google_does(&web, &c, true);
    assert_eq!(c.pages_ok, 2, "home and /late/");
}

#[test]
fn a_huge_chunked_robots_txt_is_read_up_to_500_kib() {
    let mut chunk = b"User-agent: *\nDisallow: /private/\n".to_vec();
    while chunk.len() < 64 * 1024 {
        chunk.extend_from_slice(b"# filler line of a generated robots.txt\n");
    }
    let web = robots_site(Arc::new(move || Reply::Stream {
        status: 200,
        headers: vec![
            ("Content-Type".into(), "text/plain".into()),
            ("Transfer-Encoding".into(), "chunked".into()),
        ],
        chunk: chunk.clone(),
        count: 80, // 5 MiB
    }));
    let c = crawl_with(&web.url("/"), fetch_cfg(), site_cfg(), 1000.0);
    assert_read_as_google_does(&web, &c, false);
}

/// A TCP listener that counts the connections made to it (and answers none).
struct Counter {
    url: String,
    accepted: Arc<AtomicUsize>,
}

fn counting_listener() -> Counter {
    let l = TcpListener::bind(format!("{}:0", fresh_ip())).unwrap();
    let url = format!("http://{}", l.local_addr().unwrap());
    let accepted = Arc::new(AtomicUsize::new(0));
    let n = accepted.clone();
    std::thread::spawn(move || {
        for s in l.incoming().flatten() {
            n.fetch_add(1, Ordering::SeqCst);
            let mut s = s;
            let _ = s.set_read_timeout(Some(Duration::from_millis(200)));
            let _ = s.read(&mut [0u8; 1024]);
        }
    });
    Counter { url, accepted }
}

const PROXY_CHILD: &str = "LEADCRAWL_TEST_PROXY_CHILD";

/// The environment can only be set safely for a whole process: this test runs
/// [`env_proxy_child`] in a child process with every proxy variable pointing at a counter.
#[test]
fn environment_proxies_are_not_used_unless_configured() {
    let proxy = counting_listener();
    let site = Web::start(site("", vec![("/", page("Home", &[]))]));
    let mut cmd = std::process::Command::new(std::env::current_exe().unwrap());
    cmd.args([
        "--exact",
        "hostile::env_proxy_child",
        "--ignored",
        "--nocapture",
    ])
    .env(PROXY_CHILD, site.url("/"))
    .env_remove("NO_PROXY")
    .env_remove("no_proxy");
    for v in [
        "HTTP_PROXY",
        "HTTPS_PROXY",
        "ALL_PROXY",
        "http_proxy",
        "https_proxy",
        "all_proxy",
    ] {
        cmd.env(v, &proxy.url);
    }
    let out = cmd.output().unwrap();
    let text =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{text}");
    assert!(text.contains("1 passed"), "the child test ran: {text}");
    assert_eq!(
        proxy.accepted.load(Ordering::SeqCst),
        0,
        "no connection to the environment's proxy"
    );
    assert!(
        site.paths().contains(&"/".to_string()),
        "the local site was reached directly: {:?}",
        site.paths()
    );
}

#[test]
#[ignore = "run by environment_proxies_are_not_used_unless_configured"]
fn env_proxy_child() {
    let Ok(local) = std::env::var(PROXY_CHILD) else {
        return;
    };
    // The case: a public name, addresses checked. Whatever becomes of it (offline, a
    // DNS failure), the parent checks that the proxy saw no connection.
    let mut fc = fetch_cfg();
    fc.allow_private_networks = false;
    crawl_with("http://example.com/", fc, site_cfg(), 1000.0);
    // A local site, private networks allowed: reached directly.
    let c = crawl_with(&local, fetch_cfg(), site_cfg(), 1000.0);
    assert!(c.failure.is_none(), "{:?}", c.failure);
}

fn crawl_through(proxy: &str, start: &str, allow_private: bool) -> SiteCrawl {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let fc = FetchConfig {
        allow_private_networks: allow_private,
        ..fetch_cfg()
    };
    let fetcher = Fetcher::with_proxy(fc, parse_proxy(proxy).unwrap()).unwrap();
    let budgets = HostBudgets::new(1000.0, 1);
    rt.block_on(crawl_site(
        &fetcher,
        &budgets,
        &site_cfg(),
        &Url::parse(start).unwrap(),
        None,
        &|| false,
    ))
}

#[test]
fn a_configured_proxy_is_used_and_targets_are_checked_before_anything_is_sent() {
    // The proxy is a real server that answers absolute-form requests for the target.
    let target = format!("http://{}:8080", fresh_ip());
    let t = target.clone();
    let proxy = Web::start(Arc::new(move |path, _| {
        match path.strip_prefix(t.as_str()) {
            Some("/robots.txt") => status(404),
            Some("/") => html(&page("Home via proxy", &[("/about.html", "About")])),
            Some("/about.html") => html(&page("About", &[])),
            _ => status(502),
        }
    }));
    let c = crawl_through(&proxy.url(""), &format!("{target}/"), true);
    assert!(c.failure.is_none(), "{:?}", c.failure);
    assert_eq!(c.pages_ok, 2);
    assert!(
        proxy.paths().contains(&format!("{target}/about.html")),
        "requests went through the proxy: {:?}",
        proxy.paths()
    );
    // Private targets are refused before the proxy sees anything: a name and an address.
    let port = proxy.addr.port();
    for start in [format!("http://localhost:{port}/"), format!("{target}/")] {
        let before = proxy.hits().len();
        let c = crawl_through(&proxy.url(""), &start, false);
        // `www.localhost` may not resolve at all: refused as well, as a DNS failure.
        assert_eq!(kind_of(&c.attempts[0]), Some("forbidden_address"));
        assert!(
            c.attempts
                .iter()
                .all(|a| matches!(kind_of(a), Some("forbidden_address" | "dns"))),
            "{start}: {:?}",
            c.attempts
                .iter()
                .map(|a| &a.fetched.error)
                .collect::<Vec<_>>()
        );
        assert!(c.failure.as_deref().unwrap().contains("loopback"));
        assert_eq!(proxy.hits().len(), before, "{start} reached the proxy");
    }
}

#[test]
fn binary_bytes_labelled_html_and_answers_that_are_not_http() {
    let mut png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR".to_vec();
    png.extend((0..40_000u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8));
    let png = Arc::new(png);
    let web = Web::start(Arc::new(move |path, _| match path {
        "/robots.txt" => status(404),
        "/" => html(&page(
            "Home",
            &[
                ("/logo.html", "Logo"),
                ("/bad-header.html", "Header"),
                ("/not-http.html", "Garbage"),
                ("/ok.html", "OK"),
            ],
        )),
        "/logo.html" => with_headers(200, &[("Content-Type", "text/html; charset=utf-8")], &png),
        "/bad-header.html" => Reply::Raw(
            b"HTTP/1.1 200 OK\r\nContent-Type text/html\r\nContent-Length: 2\r\n\r\nhi".to_vec(),
        ),
        "/not-http.html" => Reply::Raw(b"SSH-2.0-OpenSSH_9.6\r\n\r\n".to_vec()),
        "/ok.html" => html(&page("OK", &[])),
        _ => status(404),
    }));
    let c = crawl_with(&web.url("/"), fetch_cfg(), site_cfg(), 1000.0);
    let logo = row(&c, "/logo.html");
    assert_eq!(kind_of(logo), Some("content_type"));
    assert!(logo.fetched.body.is_none() && !logo.fetched.ok());
    assert!(
        logo.fetched.error.as_ref().unwrap().1.contains("binary"),
        "{:?}",
        logo.fetched.error
    );
    assert!(logo.charset.is_none(), "never decoded");
    for path in ["/bad-header.html", "/not-http.html"] {
        let r = row(&c, path);
        assert_eq!(
            kind_of(r),
            Some("protocol"),
            "{path}: {:?}",
            r.fetched.error
        );
        assert_eq!(r.fetched.attempts, 1, "a malformed answer is not retried");
    }
    assert!(row(&c, "/ok.html").fetched.ok());
    assert_eq!(c.pages_ok, 2);
}

#[test]
fn a_host_keeps_its_pace_when_another_leads_site_redirects_to_it() {
    // Lead B's site, and lead A's, whose root moved to B's host.
    let links: Vec<(String, String)> = (0..5)
        .map(|i| (format!("/p{i}.html"), format!("P{i}")))
        .collect();
    let b = Web::start(Arc::new(move |path, _| match path {
        "/robots.txt" => status(404),
        "/" => {
            let refs: Vec<(&str, &str)> = links
                .iter()
                .map(|(a, b)| (a.as_str(), b.as_str()))
                .collect();
            html(&page("B", &refs))
        }
        p if p.starts_with("/p") => html(&page(p, &[])),
        _ => status(404),
    }));
    let b_root = b.url("/");
    let a = Web::start(Arc::new(move |path, _| match path {
        "/robots.txt" => status(404),
        "/" => with_headers(301, &[("Location", &b_root)], b""),
        _ => status(404),
    }));
    let interval = Duration::from_millis(250);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let fetcher = Arc::new(Fetcher::new(fetch_cfg()).unwrap());
    let budgets = Arc::new(HostBudgets::new(1.0 / interval.as_secs_f64(), 1));
    let crawls: Vec<SiteCrawl> = rt.block_on(async {
        let tasks: Vec<_> = [a.url("/"), b.url("/")]
            .into_iter()
            .map(|start| {
                let (fetcher, budgets) = (fetcher.clone(), budgets.clone());
                tokio::spawn(async move {
                    crawl_site(
                        &fetcher,
                        &budgets,
                        &site_cfg(),
                        &Url::parse(&start).unwrap(),
                        None,
                        &|| false,
                    )
                    .await
                })
            })
            .collect();
        let mut out = Vec::new();
        for t in tasks {
            out.push(t.await.unwrap());
        }
        out
    });
    assert_eq!(
        crawls[0].moved_to.as_deref(),
        Some(b.addr.ip().to_string().as_str())
    );
    assert_eq!(crawls[0].pages_ok, 6, "A's crawl read B's site");
    assert_eq!(crawls[1].pages_ok, 6);
    let hits = b.hits();
    assert!(hits.len() >= 14, "both crawls reached B: {:?}", b.paths());
    let gap = b.min_gap().unwrap();
    assert!(
        gap >= interval,
        "B saw two requests {gap:?} apart, its interval is {interval:?}"
    );
}
