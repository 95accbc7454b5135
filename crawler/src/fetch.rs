//! One polite, bounded HTTP exchange: [`Fetcher::fetch`].
//!
//! Redirects are followed by hand (at most `max_redirects`, loops detected, every hop checked
//! against the caller's scope and the address policy, every hop paced by the budget of the host
//! it goes to). Connect errors, timeouts, 408, 429 and 5xx are retried with exponential backoff
//! and jitter, `Retry-After` honoured up to a cap. Bodies are read in chunks and abandoned past
//! `max_body_bytes` (counted after decompression, so a gzip bomb costs at most that much
//! memory). A caller's deadline bounds everything: waits for the host's turn, retries, backoff
//! and a body trickling in; a caller's stop request ends any of them within [`STOP_POLL`].
//! Every outcome, good or bad, is a [`Fetched`].
//!
//! No proxy is used unless one is given ([`Fetcher::with_proxy`]): `HTTP_PROXY` and the like in
//! the environment are ignored, because a proxy connects on our behalf and the address checks
//! of [`crate::safety`] would then only see the proxy's address.

use std::future::Future;
use std::net::IpAddr;
use std::ops::Deref;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use reqwest::header::{
    HeaderMap, HeaderValue, CONTENT_TYPE, ETAG, IF_MODIFIED_SINCE, IF_NONE_MATCH, LAST_MODIFIED,
    LOCATION, RETRY_AFTER,
};
use tokio::time::Instant;
use url::Url;

use crate::politeness::{HostBudget, HostBudgets};
use crate::safety::{check_ip, DnsFailure, ForbiddenAddress, SafeResolver};

/// Settings of a [`Fetcher`].
#[derive(Debug, Clone)]
pub struct FetchConfig {
    /// Full User-Agent header (product token, version, contact URL).
    pub user_agent: String,
    pub connect_timeout: Duration,
    /// Whole exchange: headers and body.
    pub request_timeout: Duration,
    pub max_body_bytes: u64,
    pub max_redirects: u32,
    pub max_retries: u32,
    /// First backoff; doubled per retry, with jitter.
    pub retry_base: Duration,
    /// Longest wait before a retry; a `Retry-After` beyond it ends the retries.
    pub retry_cap: Duration,
    pub allow_private_networks: bool,
}

impl Default for FetchConfig {
    fn default() -> Self {
        FetchConfig {
            user_agent: format!("leadcrawl/{}", env!("CARGO_PKG_VERSION")),
            connect_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(20),
            max_body_bytes: 2 * 1024 * 1024,
            max_redirects: 10,
            max_retries: 3,
            retry_base: Duration::from_millis(500),
            retry_cap: Duration::from_secs(60),
            allow_private_networks: false,
        }
    }
}

/// Why a fetch did not produce a usable body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// The host name does not resolve (not retried).
    Dns,
    Connect,
    Timeout,
    /// The answer was not valid HTTP (bad status line, malformed or oversized headers).
    Protocol,
    /// The caller's deadline (the site's time budget) passed before the exchange ended.
    TimeBudget,
    /// The caller asked to stop (a signal, a lost lease) before the exchange ended.
    Stopped,
    /// The address (or the one connected to) is private, loopback, … and not allowed.
    Forbidden,
    /// Non-2xx final status (the status is in [`Fetched::status`]).
    Http,
    TooLarge,
    TooManyRedirects,
    RedirectLoop,
    /// A redirect left the site's scope.
    OffSite,
    /// Not HTML (by its Content-Type, or binary bytes whatever the label): recorded, body not
    /// kept.
    ContentType,
    /// The connection failed while reading the body.
    Body,
    InvalidUrl,
}

impl ErrorKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::Dns => "dns",
            ErrorKind::Connect => "connect",
            ErrorKind::Timeout => "timeout",
            ErrorKind::Protocol => "protocol",
            ErrorKind::TimeBudget => "time_budget",
            ErrorKind::Stopped => "stopped",
            ErrorKind::Forbidden => "forbidden_address",
            ErrorKind::Http => "http_status",
            ErrorKind::TooLarge => "too_large",
            ErrorKind::TooManyRedirects => "too_many_redirects",
            ErrorKind::RedirectLoop => "redirect_loop",
            ErrorKind::OffSite => "off_site_redirect",
            ErrorKind::ContentType => "content_type",
            ErrorKind::Body => "body",
            ErrorKind::InvalidUrl => "invalid_url",
        }
    }

    /// No HTTP answer at all: the site (or this origin of it) is unreachable.
    pub fn is_network(self) -> bool {
        matches!(
            self,
            ErrorKind::Dns | ErrorKind::Connect | ErrorKind::Timeout | ErrorKind::Forbidden
        )
    }
}

/// Which bodies to keep.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyPolicy {
    /// HTML/XHTML only (or no Content-Type and the bytes look like HTML).
    Html,
    /// Any type (sitemaps, API answers).
    Any,
    /// Any type, and only the first this many bytes are read and kept; the rest is left
    /// unread and is not an error (robots.txt: parsers read the first 500 KiB, RFC 9309 §2.5).
    Prefix(u64),
}

/// Validators from an earlier crawl, for a conditional request.
#[derive(Debug, Clone, Default)]
pub struct Validators {
    pub etag: Option<String>,
    pub last_modified: Option<String>,
    /// The earlier body and its type: a 304 answer keeps them.
    pub body: Option<Arc<Vec<u8>>>,
    pub content_type: Option<String>,
}

/// Everything known about one attempted URL.
#[derive(Debug, Clone)]
pub struct Fetched {
    pub url: Url,
    pub final_url: Url,
    pub status: Option<u16>,
    pub content_type: Option<String>,
    pub etag: Option<String>,
    pub last_modified: Option<String>,
    pub body: Option<Vec<u8>>,
    /// The body is the first bytes of a longer one ([`BodyPolicy::Prefix`]).
    pub truncated: bool,
    /// Bytes received (after decompression), kept or not.
    pub bytes: u64,
    pub attempts: u32,
    pub elapsed: Duration,
    pub fetched_at: SystemTime,
    pub error: Option<(ErrorKind, String)>,
}

impl Fetched {
    fn new(url: &Url) -> Fetched {
        Fetched {
            url: url.clone(),
            final_url: url.clone(),
            status: None,
            content_type: None,
            etag: None,
            last_modified: None,
            body: None,
            truncated: false,
            bytes: 0,
            attempts: 0,
            elapsed: Duration::ZERO,
            fetched_at: SystemTime::now(),
            error: None,
        }
    }

    pub fn ok(&self) -> bool {
        self.error.is_none()
            && self
                .status
                .is_some_and(|s| (200..300).contains(&s) || s == 304)
    }
}

/// One URL to fetch and the limits it is fetched under.
pub struct Request<'a> {
    pub url: &'a Url,
    pub policy: BodyPolicy,
    pub validators: Option<&'a Validators>,
    /// Redirect targets must satisfy this.
    pub in_scope: &'a (dyn Fn(&Url) -> bool + Sync),
    /// When the fetch is abandoned, whatever it is doing (an [`ErrorKind::TimeBudget`]
    /// outcome): the end of the site's time budget.
    pub deadline: Option<Instant>,
    /// Polled every [`STOP_POLL`] while the fetch waits: true abandons it (an
    /// [`ErrorKind::Stopped`] outcome).
    pub stop: Option<&'a (dyn Fn() -> bool + Sync)>,
}

/// How often a fetch in progress asks its caller whether to stop.
pub const STOP_POLL: Duration = Duration::from_millis(100);

/// The HTTP client with leadcrawl's limits; cheap to share (`Arc`).
pub struct Fetcher {
    client: reqwest::Client,
    /// Every request goes through this forward proxy, when set.
    proxy: Option<Url>,
    pub cfg: FetchConfig,
}

/// Errors building a fetcher (bad User-Agent, TLS set-up, an unusable proxy).
#[derive(Debug, thiserror::Error)]
pub enum FetcherError {
    #[error("building the HTTP client: {0}")]
    Client(#[from] reqwest::Error),
    #[error("proxy {0:?} is not an http://host:port URL")]
    Proxy(String),
}

/// A proxy setting as written in a config file: empty for none, else an `http://` (or
/// `https://`) URL with a host, and optionally `user:password@`.
pub fn parse_proxy(setting: &str) -> Result<Option<Url>, FetcherError> {
    let s = setting.trim();
    if s.is_empty() {
        return Ok(None);
    }
    match Url::parse(s) {
        Ok(u) if matches!(u.scheme(), "http" | "https") && u.host_str().is_some() => Ok(Some(u)),
        _ => Err(FetcherError::Proxy(s.to_string())),
    }
}

/// Bytes that do not occur in text (WHATWG MIME sniffing, "binary data byte").
fn is_binary_byte(b: u8) -> bool {
    matches!(b, 0x00..=0x08 | 0x0B | 0x0E..=0x1A | 0x1C..=0x1F)
}

/// Signatures of the binary formats servers most often label `text/html` by mistake.
const BINARY_MAGIC: &[&[u8]] = &[
    b"%PDF-",
    b"\x89PNG\r\n\x1a\n",
    b"GIF87a",
    b"GIF89a",
    b"\xff\xd8\xff",
    b"PK\x03\x04",
    b"\x1f\x8b",
    b"RIFF",
    b"wOFF",
    b"wOF2",
    b"\x00\x00\x01\x00",
    b"\x7fELF",
    b"MZ",
    b"Rar!",
    b"7z\xbc\xaf",
    b"\xd0\xcf\x11\xe0",
];

/// Whether a body is binary whatever its label: a known file signature, or a NUL or several
/// control bytes in its first KiB (UTF-16 text, which is full of NULs, starts with its BOM).
/// Decoding such bytes as HTML would give thousands of garbage "words".
fn looks_binary(body: &[u8]) -> bool {
    if body.starts_with(b"\xff\xfe") || body.starts_with(b"\xfe\xff") {
        return false;
    }
    if BINARY_MAGIC.iter().any(|m| body.starts_with(m)) {
        return true;
    }
    let head = &body[..body.len().min(1024)];
    head.contains(&0) || head.iter().filter(|&&b| is_binary_byte(b)).count() > 8
}

fn looks_like_html(body: &[u8]) -> bool {
    let head = String::from_utf8_lossy(&body[..body.len().min(512)]).to_ascii_lowercase();
    let t = head.trim_start_matches('\u{feff}').trim_start();
    t.starts_with("<!doctype html")
        || t.starts_with("<html")
        || t.contains("<head")
        || t.contains("<body")
}

fn is_html_type(ct: &str) -> bool {
    let ct = ct.to_ascii_lowercase();
    ct.starts_with("text/html") || ct.starts_with("application/xhtml+xml")
}

/// Seconds or HTTP-date.
pub fn parse_retry_after(v: &str, now: SystemTime) -> Option<Duration> {
    let v = v.trim();
    if let Ok(secs) = v.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    httpdate::parse_http_date(v)
        .ok()
        .map(|t| t.duration_since(now).unwrap_or(Duration::ZERO))
}

fn retryable_status(s: u16) -> bool {
    s == 408 || s == 429 || (500..600).contains(&s) && s != 501
}

fn header(h: &HeaderMap, name: reqwest::header::HeaderName) -> Option<String> {
    h.get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
}

fn classify(e: &reqwest::Error) -> (ErrorKind, String) {
    let mut msg = e.to_string();
    let mut src = std::error::Error::source(e);
    while let Some(s) = src {
        msg.push_str(": ");
        msg.push_str(&s.to_string());
        src = s.source();
    }
    let mut src: Option<&dyn std::error::Error> = Some(e);
    while let Some(s) = src {
        if let Some(f) = s.downcast_ref::<ForbiddenAddress>() {
            return (ErrorKind::Forbidden, f.to_string());
        }
        if let Some(d) = s.downcast_ref::<DnsFailure>() {
            return (ErrorKind::Dns, d.to_string());
        }
        if let Some(h) = s.downcast_ref::<hyper::Error>() {
            // A server that answered something other than HTTP: not a connection failure.
            if h.is_parse() {
                return (ErrorKind::Protocol, msg);
            }
        }
        src = s.source();
    }
    // reqwest wraps resolver errors in its own types; the messages are the stable part.
    if msg.contains("forbidden address:") {
        return (ErrorKind::Forbidden, msg);
    }
    if msg.contains("dns error")
        || msg.contains("DNS lookup failed")
        || msg.contains("failed to lookup address")
    {
        return (ErrorKind::Dns, msg);
    }
    let kind = if e.is_timeout() {
        ErrorKind::Timeout
    } else if e.is_connect() {
        ErrorKind::Connect
    } else if e.is_body() || e.is_decode() {
        ErrorKind::Body
    } else {
        ErrorKind::Connect
    };
    (kind, msg)
}

/// What ends a fetch from outside.
#[derive(Clone, Copy)]
struct Limits<'a> {
    deadline: Option<Instant>,
    stop: Option<&'a (dyn Fn() -> bool + Sync)>,
}

/// Why a wait was cut short.
#[derive(Debug, Clone, Copy)]
enum Cut {
    Deadline,
    Stopped,
}

impl Cut {
    /// The outcome of a cut fetch, keeping the error that led there, if any.
    fn outcome(self, while_: &str, last: Option<(ErrorKind, String)>) -> (ErrorKind, String) {
        let (kind, mut msg) = match self {
            Cut::Deadline => (
                ErrorKind::TimeBudget,
                format!("site time budget reached {while_}"),
            ),
            Cut::Stopped => (ErrorKind::Stopped, format!("stopped {while_}")),
        };
        if let Some((kind, why)) = last {
            msg.push_str(&format!(" (last error {}: {why})", kind.as_str()));
        }
        (kind, msg)
    }
}

impl Limits<'_> {
    /// Runs `f` unless the deadline passes or a stop is asked first.
    async fn run<F: Future>(self, f: F) -> Result<F::Output, Cut> {
        let stop = async {
            match self.stop {
                Some(stop) => loop {
                    if stop() {
                        return Cut::Stopped;
                    }
                    tokio::time::sleep(STOP_POLL).await;
                },
                None => std::future::pending().await,
            }
        };
        let bounded = async {
            match self.deadline {
                Some(d) => tokio::time::timeout_at(d, f)
                    .await
                    .map_err(|_| Cut::Deadline),
                None => Ok(f.await),
            }
        };
        tokio::select! {
            biased;
            cut = stop => Err(cut),
            done = bounded => done,
        }
    }
}

/// Which budget paces a request.
#[derive(Clone, Copy)]
enum Pacing<'a> {
    /// The budget of the host each request goes to, redirect hops included: a host's pace
    /// holds whichever site's crawl reaches it.
    PerHost(&'a HostBudgets),
    /// One budget for every request (an API's published rate).
    One(&'a HostBudget),
}

enum Budget<'a> {
    Shared(Arc<HostBudget>),
    Borrowed(&'a HostBudget),
}

impl Deref for Budget<'_> {
    type Target = HostBudget;
    fn deref(&self) -> &HostBudget {
        match self {
            Budget::Shared(b) => b,
            Budget::Borrowed(b) => b,
        }
    }
}

impl<'a> Pacing<'a> {
    fn budget(self, url: &Url) -> Budget<'a> {
        match self {
            Pacing::PerHost(all) => Budget::Shared(all.for_url(url)),
            Pacing::One(b) => Budget::Borrowed(b),
        }
    }
}

impl Fetcher {
    /// A fetcher that connects directly (environment proxies are ignored).
    pub fn new(cfg: FetchConfig) -> Result<Fetcher, FetcherError> {
        Self::with_proxy(cfg, None)
    }

    /// A fetcher that sends every request through `proxy` when given. The proxy connects on
    /// our behalf, so the target's addresses are resolved and checked here before each request.
    pub fn with_proxy(cfg: FetchConfig, proxy: Option<Url>) -> Result<Fetcher, FetcherError> {
        // rustls needs a process-wide crypto provider; installing twice is harmless.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let builder = reqwest::Client::builder()
            .user_agent(cfg.user_agent.clone())
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(cfg.connect_timeout)
            .timeout(cfg.request_timeout)
            .pool_max_idle_per_host(2)
            .pool_idle_timeout(Duration::from_secs(15))
            .tcp_nodelay(true)
            .dns_resolver(Arc::new(SafeResolver {
                // Through a proxy the only name resolved here is the proxy's own, which the
                // operator chose (often a private address); targets are checked before sending.
                allow_private: cfg.allow_private_networks || proxy.is_some(),
            }));
        let builder = match &proxy {
            Some(p) => builder.proxy(reqwest::Proxy::all(p.clone())?),
            None => builder.no_proxy(),
        };
        Ok(Fetcher {
            client: builder.build()?,
            proxy,
            cfg,
        })
    }

    fn backoff(&self, attempt: u32) -> Duration {
        let exp = self
            .cfg
            .retry_base
            .saturating_mul(1u32 << attempt.saturating_sub(1).min(16));
        exp.mul_f64(0.5 + fastrand::f64()).min(self.cfg.retry_cap)
    }

    /// Waits `wait` before a retry, or records why not (the deadline comes first, or a stop)
    /// and returns false.
    async fn pause(&self, wait: Duration, limits: Limits<'_>, out: &mut Fetched) -> bool {
        let end = Instant::now().checked_add(wait);
        if limits.deadline.is_some_and(|d| end.is_none_or(|e| e >= d)) {
            out.error = Some(Cut::Deadline.outcome("before a retry", out.error.take()));
            return false;
        }
        if let Err(cut) = limits.run(tokio::time::sleep(wait)).await {
            out.error = Some(cut.outcome("before a retry", out.error.take()));
            return false;
        }
        true
    }

    /// Through a proxy, the target's name is resolved here and every address it has must be
    /// allowed: the proxy may connect to any of them.
    async fn check_target(&self, url: &Url) -> Result<(), (ErrorKind, String)> {
        if self.cfg.allow_private_networks {
            return Ok(());
        }
        let Some(url::Host::Domain(host)) = url.host() else {
            return Ok(()); // IP literals are checked by the caller.
        };
        let port = url.port_or_known_default().unwrap_or(80);
        let addrs: Vec<_> = match tokio::net::lookup_host((host, port)).await {
            Ok(a) => a.collect(),
            Err(e) => return Err((ErrorKind::Dns, format!("DNS lookup failed: {host}: {e}"))),
        };
        if addrs.is_empty() {
            return Err((
                ErrorKind::Dns,
                format!("DNS lookup failed: {host} has no address"),
            ));
        }
        for a in addrs {
            if let Err(r) = check_ip(a.ip(), false) {
                return Err((
                    ErrorKind::Forbidden,
                    format!("{host} resolves to {} ({r}); not sent to the proxy", a.ip()),
                ));
            }
        }
        Ok(())
    }

    /// Fetches a URL politely: every request waits for the turn of the host it goes to in
    /// `budgets`.
    pub async fn fetch(&self, req: Request<'_>, budgets: &HostBudgets) -> Fetched {
        self.fetch_inner(&req, Pacing::PerHost(budgets), &[]).await
    }

    /// An API call: any body type, redirects kept on the same host, and extra request
    /// `headers` (`Accept`, `Authorization`, …; invalid ones are an [`ErrorKind::InvalidUrl`]
    /// outcome, not a panic). Same limits and retries as [`Fetcher::fetch`], paced by `budget`.
    pub async fn fetch_api(
        &self,
        url: &Url,
        budget: &HostBudget,
        headers: &[(&str, &str)],
    ) -> Fetched {
        let host = url.host_str().map(str::to_owned);
        let same_host = move |u: &Url| u.host_str().map(str::to_owned) == host;
        let req = Request {
            url,
            policy: BodyPolicy::Any,
            validators: None,
            in_scope: &same_host,
            deadline: None,
            stop: None,
        };
        self.fetch_inner(&req, Pacing::One(budget), headers).await
    }

    async fn fetch_inner(
        &self,
        req: &Request<'_>,
        pacing: Pacing<'_>,
        headers: &[(&str, &str)],
    ) -> Fetched {
        let (url, policy, validators) = (req.url, req.policy, req.validators);
        let limits = Limits {
            deadline: req.deadline,
            stop: req.stop,
        };
        let mut extra = HeaderMap::new();
        for (k, v) in headers {
            match (
                reqwest::header::HeaderName::from_bytes(k.as_bytes()),
                HeaderValue::from_str(v),
            ) {
                (Ok(k), Ok(mut v)) => {
                    v.set_sensitive(k == reqwest::header::AUTHORIZATION);
                    extra.insert(k, v);
                }
                _ => {
                    let mut out = Fetched::new(url);
                    out.error = Some((ErrorKind::InvalidUrl, format!("invalid header {k:?}")));
                    return out;
                }
            }
        }
        let started = Instant::now();
        let mut out = Fetched::new(url);
        let mut current = url.clone();
        let mut chain: Vec<Url> = vec![current.clone()];
        'hops: loop {
            if !matches!(current.scheme(), "http" | "https") || current.host_str().is_none() {
                out.error = Some((ErrorKind::InvalidUrl, format!("cannot fetch {current}")));
                break;
            }
            // IP literals never reach the resolver: check them here.
            let literal = match current.host() {
                Some(url::Host::Ipv4(ip)) => Some(IpAddr::V4(ip)),
                Some(url::Host::Ipv6(ip)) => Some(IpAddr::V6(ip)),
                _ => None,
            };
            if let Some(ip) = literal {
                if let Err(r) = check_ip(ip, self.cfg.allow_private_networks) {
                    out.error = Some((ErrorKind::Forbidden, format!("{ip} is a {r} address")));
                    break;
                }
            }
            if self.proxy.is_some() {
                match limits.run(self.check_target(&current)).await {
                    Ok(Ok(())) => {}
                    Ok(Err(e)) => {
                        out.error = Some(e);
                        break;
                    }
                    Err(cut) => {
                        out.error = Some(cut.outcome("while resolving the host", None));
                        break;
                    }
                }
            }
            let budget = pacing.budget(&current);
            let mut tries = 0u32;
            loop {
                tries += 1;
                let permit = match limits.run(budget.acquire()).await {
                    Ok(p) => p,
                    Err(cut) => {
                        out.error = Some(
                            cut.outcome("while waiting for the host's turn", out.error.take()),
                        );
                        break 'hops;
                    }
                };
                // Other processes crawling the same host: a slot of its shared pace, taken
                // only once this process's turn has come (a local wait after it could push the
                // request into the next slot).
                if let Pacing::PerHost(all) = pacing {
                    let interval = budget.current_interval();
                    match limits
                        .run(async {
                            let wait = all.shared_slot(&current, interval).await;
                            tokio::time::sleep(wait).await
                        })
                        .await
                    {
                        Ok(()) => {}
                        Err(cut) => {
                            drop(permit);
                            out.error = Some(
                                cut.outcome("while waiting for the host's turn", out.error.take()),
                            );
                            break 'hops;
                        }
                    }
                }
                out.attempts += 1;
                out.fetched_at = SystemTime::now();
                let mut request = self.client.get(current.clone()).headers(extra.clone());
                if let Some(v) = validators {
                    if let Some(e) = v
                        .etag
                        .as_deref()
                        .and_then(|e| HeaderValue::from_str(e).ok())
                    {
                        request = request.header(IF_NONE_MATCH, e);
                    }
                    if let Some(m) = v
                        .last_modified
                        .as_deref()
                        .and_then(|m| HeaderValue::from_str(m).ok())
                    {
                        request = request.header(IF_MODIFIED_SINCE, m);
                    }
                }
                let resp = match limits.run(request.send()).await {
                    Ok(Ok(r)) => r,
                    Ok(Err(e)) => {
                        drop(permit);
                        let (kind, msg) = classify(&e);
                        out.error = Some((kind, msg));
                        if !matches!(
                            kind,
                            ErrorKind::Forbidden | ErrorKind::Dns | ErrorKind::Protocol
                        ) && tries <= self.cfg.max_retries
                            && self.pause(self.backoff(tries), limits, &mut out).await
                        {
                            continue;
                        }
                        break 'hops;
                    }
                    Err(cut) => {
                        out.error = Some(cut.outcome("while waiting for the answer", None));
                        break 'hops;
                    }
                };
                // Through a proxy this is the proxy's address; the target was checked above.
                if let (Some(addr), None) = (resp.remote_addr(), &self.proxy) {
                    if let Err(r) = check_ip(addr.ip(), self.cfg.allow_private_networks) {
                        out.error = Some((
                            ErrorKind::Forbidden,
                            format!("connected to {} ({r})", addr.ip()),
                        ));
                        break 'hops;
                    }
                }
                let status = resp.status().as_u16();
                let headers = resp.headers().clone();
                out.status = Some(status);
                out.final_url = current.clone();
                out.content_type = header(&headers, CONTENT_TYPE);
                out.etag = header(&headers, ETAG);
                out.last_modified = header(&headers, LAST_MODIFIED);
                out.error = None;
                if (300..400).contains(&status) && status != 304 {
                    drop(resp);
                    drop(permit);
                    let Some(loc) = header(&headers, LOCATION) else {
                        out.error =
                            Some((ErrorKind::Http, format!("HTTP {status} without Location")));
                        break 'hops;
                    };
                    let next = match current.join(loc.trim()) {
                        Ok(u) => crate::urls::canonicalize(&u),
                        Err(_) => {
                            out.error = Some((
                                ErrorKind::InvalidUrl,
                                format!("bad redirect Location {loc:?}"),
                            ));
                            break 'hops;
                        }
                    };
                    out.final_url = next.clone();
                    if chain.contains(&next) {
                        out.error = Some((
                            ErrorKind::RedirectLoop,
                            format!("redirect loop back to {next}"),
                        ));
                        break 'hops;
                    }
                    if chain.len() > self.cfg.max_redirects as usize {
                        out.error = Some((
                            ErrorKind::TooManyRedirects,
                            format!("more than {} redirects", self.cfg.max_redirects),
                        ));
                        break 'hops;
                    }
                    if !(req.in_scope)(&next) {
                        out.error =
                            Some((ErrorKind::OffSite, format!("redirected off site to {next}")));
                        break 'hops;
                    }
                    chain.push(next.clone());
                    current = next;
                    continue 'hops;
                }
                if retryable_status(status) {
                    drop(resp);
                    drop(permit);
                    out.error = Some((ErrorKind::Http, format!("HTTP {status}")));
                    if tries > self.cfg.max_retries {
                        break 'hops;
                    }
                    let wait = match header(&headers, RETRY_AFTER)
                        .and_then(|v| parse_retry_after(&v, SystemTime::now()))
                    {
                        Some(w) if w > self.cfg.retry_cap => {
                            out.error = Some((
                                ErrorKind::Http,
                                format!(
                                    "HTTP {status}, Retry-After {}s exceeds the cap",
                                    w.as_secs()
                                ),
                            ));
                            break 'hops;
                        }
                        Some(w) => w,
                        None => self.backoff(tries),
                    };
                    if !self.pause(wait, limits, &mut out).await {
                        break 'hops;
                    }
                    continue;
                }
                // Final answer: decide on the body.
                if status == 304 {
                    // Unchanged since the earlier crawl: its body stands.
                    if let Some(v) = validators {
                        out.body = v.body.as_ref().map(|b| b.to_vec());
                        out.content_type =
                            out.content_type.take().or_else(|| v.content_type.clone());
                        out.etag = out.etag.take().or_else(|| v.etag.clone());
                        out.last_modified =
                            out.last_modified.take().or_else(|| v.last_modified.clone());
                    }
                    break 'hops;
                }
                let keep_type = match (policy, out.content_type.as_deref()) {
                    (BodyPolicy::Any | BodyPolicy::Prefix(_), _) => true,
                    (BodyPolicy::Html, Some(ct)) => is_html_type(ct),
                    (BodyPolicy::Html, None) => true, // sniffed below
                };
                if !keep_type {
                    out.error = Some((
                        ErrorKind::ContentType,
                        format!("not HTML: {}", out.content_type.clone().unwrap_or_default()),
                    ));
                    drop(resp);
                    break 'hops;
                }
                let prefix = match policy {
                    BodyPolicy::Prefix(n) => Some(n.min(usize::MAX as u64) as usize),
                    _ => None,
                };
                let declared = resp.content_length();
                if prefix.is_none() && declared.is_some_and(|n| n > self.cfg.max_body_bytes) {
                    out.error = Some((
                        ErrorKind::TooLarge,
                        format!(
                            "Content-Length {} exceeds max_body_bytes {}",
                            declared.unwrap_or(0),
                            self.cfg.max_body_bytes
                        ),
                    ));
                    break 'hops;
                }
                let mut resp = resp;
                let cap = prefix.map_or(self.cfg.max_body_bytes, |n| n as u64);
                let mut buf: Vec<u8> =
                    Vec::with_capacity(declared.unwrap_or(16 * 1024).min(cap) as usize);
                loop {
                    let next = match limits.run(resp.chunk()).await {
                        Ok(next) => next,
                        Err(cut) => {
                            out.error = Some(cut.outcome(
                                &format!("while reading the body ({} bytes in)", out.bytes),
                                None,
                            ));
                            break 'hops;
                        }
                    };
                    match next {
                        Ok(Some(chunk)) => {
                            out.bytes += chunk.len() as u64;
                            if let Some(n) = prefix {
                                // The rest is never read: the connection is dropped with it.
                                let room = n.saturating_sub(buf.len());
                                buf.extend_from_slice(&chunk[..chunk.len().min(room)]);
                                if chunk.len() > room {
                                    out.truncated = true;
                                    break;
                                }
                                continue;
                            }
                            if out.bytes > self.cfg.max_body_bytes {
                                out.error = Some((
                                    ErrorKind::TooLarge,
                                    format!(
                                        "body exceeds max_body_bytes {}",
                                        self.cfg.max_body_bytes
                                    ),
                                ));
                                break 'hops;
                            }
                            buf.extend_from_slice(&chunk);
                        }
                        Ok(None) => break,
                        Err(e) => {
                            let (kind, msg) = classify(&e);
                            out.error = Some((
                                if kind == ErrorKind::Timeout {
                                    kind
                                } else {
                                    ErrorKind::Body
                                },
                                msg,
                            ));
                            break;
                        }
                    }
                }
                drop(resp);
                drop(permit);
                if let Some((kind, _)) = out.error {
                    if tries <= self.cfg.max_retries
                        && matches!(kind, ErrorKind::Body | ErrorKind::Timeout)
                    {
                        out.bytes = 0;
                        if self.pause(self.backoff(tries), limits, &mut out).await {
                            continue;
                        }
                    }
                    break 'hops;
                }
                if policy == BodyPolicy::Html {
                    // Sniffed before anything decodes it: a label is only a claim.
                    if looks_binary(&buf) {
                        out.error = Some((
                            ErrorKind::ContentType,
                            format!(
                                "binary content labelled {}",
                                out.content_type.as_deref().unwrap_or("nothing")
                            ),
                        ));
                        break 'hops;
                    }
                    if out.content_type.is_none() && !looks_like_html(&buf) {
                        out.error = Some((
                            ErrorKind::ContentType,
                            "no Content-Type and not HTML".into(),
                        ));
                        break 'hops;
                    }
                }
                if !(200..300).contains(&status) {
                    out.error = Some((ErrorKind::Http, format!("HTTP {status}")));
                }
                // Bodies are held until their site is committed: no slack capacity.
                buf.shrink_to_fit();
                out.body = Some(buf);
                break 'hops;
            }
        }
        out.elapsed = started.elapsed();
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_forms() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000_000);
        assert_eq!(parse_retry_after("3", now), Some(Duration::from_secs(3)));
        let later = httpdate::fmt_http_date(now + Duration::from_secs(7));
        assert_eq!(parse_retry_after(&later, now), Some(Duration::from_secs(7)));
        assert_eq!(parse_retry_after("soon", now), None);
    }

    #[test]
    fn binary_bodies_are_told_from_text() {
        assert!(looks_binary(b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR"));
        assert!(looks_binary(b"%PDF-1.7\n"));
        let noise: Vec<u8> = (0..2048u32).map(|i| (i * 7919 % 251) as u8).collect();
        assert!(looks_binary(&noise));
        assert!(!looks_binary(
            b"<!DOCTYPE html><html><body>caf\xe9</body></html>"
        ));
        assert!(!looks_binary("<html>\u{c9}t\u{e9}\t\r\n</html>".as_bytes()));
        let utf16: Vec<u8> = [0xff, 0xfe]
            .into_iter()
            .chain("<html>".encode_utf16().flat_map(u16::to_le_bytes))
            .collect();
        assert!(!looks_binary(&utf16), "UTF-16 with its BOM is text");
    }

    #[test]
    fn proxy_settings() {
        assert!(parse_proxy("").unwrap().is_none());
        assert_eq!(
            parse_proxy(" http://proxy.corp:3128 ")
                .unwrap()
                .unwrap()
                .as_str(),
            "http://proxy.corp:3128/"
        );
        assert!(parse_proxy("proxy.corp:3128").is_err());
        assert!(parse_proxy("socks5://proxy:1080").is_err());
    }
}
