//! One polite, bounded HTTP exchange: [`Fetcher::fetch`].
//!
//! Redirects are followed by hand (at most `max_redirects`, loops detected, every hop checked
//! against the caller's scope and the address policy). Connect errors, timeouts, 408, 429 and
//! 5xx are retried with exponential backoff and jitter, `Retry-After` honoured up to a cap.
//! Bodies are read in chunks and abandoned past `max_body_bytes` (counted after decompression,
//! so a gzip bomb costs at most that much memory). Every outcome, good or bad, is a [`Fetched`].

use std::net::IpAddr;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use reqwest::header::{
    HeaderMap, HeaderValue, CONTENT_TYPE, ETAG, IF_MODIFIED_SINCE, IF_NONE_MATCH, LAST_MODIFIED,
    LOCATION, RETRY_AFTER,
};
use tokio::time::Instant;
use url::Url;

use crate::politeness::HostBudget;
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
    /// The address (or the one connected to) is private, loopback, … and not allowed.
    Forbidden,
    /// Non-2xx final status (the status is in [`Fetched::status`]).
    Http,
    TooLarge,
    TooManyRedirects,
    RedirectLoop,
    /// A redirect left the site's scope.
    OffSite,
    /// Not HTML: recorded, body not kept.
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
    /// Any type (robots.txt, sitemaps).
    Any,
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

/// The HTTP client with leadcrawl's limits; cheap to share (`Arc`).
pub struct Fetcher {
    client: reqwest::Client,
    pub cfg: FetchConfig,
}

/// Errors building a fetcher (bad User-Agent, TLS set-up).
#[derive(Debug, thiserror::Error)]
pub enum FetcherError {
    #[error("building the HTTP client: {0}")]
    Client(#[from] reqwest::Error),
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
    let mut src: Option<&dyn std::error::Error> = Some(e);
    while let Some(s) = src {
        if let Some(f) = s.downcast_ref::<ForbiddenAddress>() {
            return (ErrorKind::Forbidden, f.to_string());
        }
        if let Some(d) = s.downcast_ref::<DnsFailure>() {
            return (ErrorKind::Dns, d.to_string());
        }
        src = s.source();
    }
    let mut msg = e.to_string();
    let mut src = std::error::Error::source(e);
    while let Some(s) = src {
        msg.push_str(": ");
        msg.push_str(&s.to_string());
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

impl Fetcher {
    pub fn new(cfg: FetchConfig) -> Result<Fetcher, FetcherError> {
        // rustls needs a process-wide crypto provider; installing twice is harmless.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let client = reqwest::Client::builder()
            .user_agent(cfg.user_agent.clone())
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(cfg.connect_timeout)
            .timeout(cfg.request_timeout)
            .pool_max_idle_per_host(2)
            .pool_idle_timeout(Duration::from_secs(15))
            .tcp_nodelay(true)
            .dns_resolver(Arc::new(SafeResolver {
                allow_private: cfg.allow_private_networks,
            }))
            .build()?;
        Ok(Fetcher { client, cfg })
    }

    fn backoff(&self, attempt: u32) -> Duration {
        let exp = self
            .cfg
            .retry_base
            .saturating_mul(1u32 << attempt.saturating_sub(1).min(16));
        exp.mul_f64(0.5 + fastrand::f64()).min(self.cfg.retry_cap)
    }

    /// Fetches `url` politely through `budget`. Redirect targets must satisfy `in_scope`.
    pub async fn fetch(
        &self,
        url: &Url,
        budget: &HostBudget,
        policy: BodyPolicy,
        validators: Option<&Validators>,
        in_scope: &(dyn Fn(&Url) -> bool + Sync),
    ) -> Fetched {
        self.fetch_inner(url, budget, policy, validators, in_scope, &[])
            .await
    }

    /// An API call: any body type, redirects kept on the same host, and extra request
    /// `headers` (`Accept`, `Authorization`, …; invalid ones are an [`ErrorKind::InvalidUrl`]
    /// outcome, not a panic). Same limits, retries and politeness as [`Fetcher::fetch`].
    pub async fn fetch_api(
        &self,
        url: &Url,
        budget: &HostBudget,
        headers: &[(&str, &str)],
    ) -> Fetched {
        let host = url.host_str().map(str::to_owned);
        let same_host = move |u: &Url| u.host_str().map(str::to_owned) == host;
        self.fetch_inner(url, budget, BodyPolicy::Any, None, &same_host, headers)
            .await
    }

    async fn fetch_inner(
        &self,
        url: &Url,
        budget: &HostBudget,
        policy: BodyPolicy,
        validators: Option<&Validators>,
        in_scope: &(dyn Fn(&Url) -> bool + Sync),
        headers: &[(&str, &str)],
    ) -> Fetched {
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
            let mut tries = 0u32;
            loop {
                tries += 1;
                out.attempts += 1;
                let permit = budget.acquire().await;
                out.fetched_at = SystemTime::now();
                let mut req = self.client.get(current.clone()).headers(extra.clone());
                if let Some(v) = validators {
                    if let Some(e) = v
                        .etag
                        .as_deref()
                        .and_then(|e| HeaderValue::from_str(e).ok())
                    {
                        req = req.header(IF_NONE_MATCH, e);
                    }
                    if let Some(m) = v
                        .last_modified
                        .as_deref()
                        .and_then(|m| HeaderValue::from_str(m).ok())
                    {
                        req = req.header(IF_MODIFIED_SINCE, m);
                    }
                }
                let resp = match req.send().await {
                    Ok(r) => r,
                    Err(e) => {
                        drop(permit);
                        let (kind, msg) = classify(&e);
                        out.error = Some((kind, msg));
                        if !matches!(kind, ErrorKind::Forbidden | ErrorKind::Dns)
                            && tries <= self.cfg.max_retries
                        {
                            tokio::time::sleep(self.backoff(tries)).await;
                            continue;
                        }
                        break 'hops;
                    }
                };
                if let Some(addr) = resp.remote_addr() {
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
                    if !in_scope(&next) {
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
                    tokio::time::sleep(wait).await;
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
                    (BodyPolicy::Any, _) => true,
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
                if resp
                    .content_length()
                    .is_some_and(|n| n > self.cfg.max_body_bytes)
                {
                    out.error = Some((
                        ErrorKind::TooLarge,
                        format!(
                            "Content-Length {} exceeds max_body_bytes {}",
                            resp.content_length().unwrap_or(0),
                            self.cfg.max_body_bytes
                        ),
                    ));
                    break 'hops;
                }
                let mut resp = resp;
                let mut buf: Vec<u8> = Vec::with_capacity(
                    resp.content_length()
                        .unwrap_or(16 * 1024)
                        .min(self.cfg.max_body_bytes) as usize,
                );
                loop {
                    match resp.chunk().await {
                        Ok(Some(chunk)) => {
                            out.bytes += chunk.len() as u64;
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
                drop(permit);
                if let Some((kind, _)) = out.error {
                    if tries <= self.cfg.max_retries
                        && matches!(kind, ErrorKind::Body | ErrorKind::Timeout)
                    {
                        out.bytes = 0;
                        tokio::time::sleep(self.backoff(tries)).await;
                        continue;
                    }
                    break 'hops;
                }
                if policy == BodyPolicy::Html
                    && out.content_type.is_none()
                    && !looks_like_html(&buf)
                {
                    out.error = Some((
                        ErrorKind::ContentType,
                        "no Content-Type and not HTML".into(),
                    ));
                    break 'hops;
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
}
