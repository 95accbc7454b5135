//! The demo's web: a small static HTTP/1.1 server, one loopback address per company site.
//!
//! `sites/<ip>/…` is served on `<ip>:<port>`; every `__PORT__` in a text file is replaced by the
//! port, so that absolute links and sitemaps point back at this server. Addresses without a
//! folder are not bound (connection refused: a dead website). GET and HEAD, keep-alive.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// A running demo web; dropped or [`DemoWeb::stop`]ped, it stops serving.
pub struct DemoWeb {
    pub port: u16,
    pub hosts: Vec<IpAddr>,
    runtime: Option<tokio::runtime::Runtime>,
}

/// Ports tried first, so that repeated demo runs see the same URLs (and skip done work).
const PREFERRED_PORTS: std::ops::Range<u16> = 18_480..18_490;

type Site = Arc<HashMap<String, (Vec<u8>, &'static str)>>;

/// Answers a request target (path and query): body and content type, or `None` for 404.
type Responder = Arc<dyn Fn(&str) -> Option<(Vec<u8>, &'static str)> + Send + Sync>;

/// The loopback address of the demo's registry API (SIRENE search, SEC files).
pub const REGISTRY_IP: &str = "127.0.29.1";

fn content_type(path: &str) -> &'static str {
    match path.rsplit('.').next().unwrap_or("") {
        "html" | "htm" => "text/html; charset=utf-8",
        "xml" => "application/xml",
        "txt" => "text/plain; charset=utf-8",
        "css" => "text/css",
        "js" => "application/javascript",
        "json" => "application/json",
        _ => "application/octet-stream",
    }
}

fn load_site(dir: &Path, port: u16) -> anyhow::Result<HashMap<String, (Vec<u8>, &'static str)>> {
    let mut files = HashMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).with_context(|| format!("reading {}", d.display()))? {
            let path = e?.path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            let rel = format!("/{}", path.strip_prefix(dir)?.to_string_lossy());
            let ct = content_type(&rel);
            let mut body = std::fs::read(&path)?;
            if !ct.starts_with("application/octet") {
                if let Ok(text) = std::str::from_utf8(&body) {
                    body = text.replace("__PORT__", &port.to_string()).into_bytes();
                }
            }
            if let Some(parent) = rel.strip_suffix("index.html") {
                files.insert(parent.to_string(), (body.clone(), ct));
            }
            files.insert(rel, (body, ct));
        }
    }
    Ok(files)
}

impl DemoWeb {
    /// Serves every `sites_dir/<ip>` folder, and the registry API of `registry_dir` (if
    /// given) on [`REGISTRY_IP`].
    pub fn start(sites_dir: &Path, registry_dir: Option<&Path>) -> anyhow::Result<DemoWeb> {
        let mut hosts: Vec<(IpAddr, PathBuf)> = Vec::new();
        for e in std::fs::read_dir(sites_dir)
            .with_context(|| format!("reading {}", sites_dir.display()))?
        {
            let e = e?;
            if let Ok(ip) = e.file_name().to_string_lossy().parse::<IpAddr>() {
                if ip.is_loopback() && e.path().is_dir() {
                    hosts.push((ip, e.path()));
                }
            }
        }
        hosts.sort();
        anyhow::ensure!(
            !hosts.is_empty(),
            "no site folders (named by loopback IP) in {}",
            sites_dir.display()
        );
        let registry = match registry_dir {
            Some(d) => Some(Arc::new(super::registry_api::RegistryApi::load(d)?)),
            None => None,
        };
        if let Some(r) = &registry {
            let ip: IpAddr = REGISTRY_IP.parse()?;
            hosts.push((ip, r.dir.clone()));
        }
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .thread_name("demo-web")
            .build()?;
        let mut last_err = None;
        let candidates = PREFERRED_PORTS.chain(std::iter::repeat_n(0, 3));
        for want in candidates {
            match runtime.block_on(bind_all(&hosts, want)) {
                Ok((port, listeners)) => {
                    for ((ip, dir), listener) in hosts.iter().zip(listeners) {
                        let responder: Responder = match &registry {
                            Some(r) if ip.to_string() == REGISTRY_IP => {
                                let r = r.clone();
                                Arc::new(move |target: &str| r.answer(target))
                            }
                            _ => {
                                let site: Site = Arc::new(load_site(dir, port)?);
                                Arc::new(move |target: &str| {
                                    let path = target.split(['?', '#']).next().unwrap_or("/");
                                    site.get(path).cloned()
                                })
                            }
                        };
                        runtime.spawn(serve(listener, responder));
                    }
                    return Ok(DemoWeb {
                        port,
                        hosts: hosts.iter().map(|h| h.0).collect(),
                        runtime: Some(runtime),
                    });
                }
                Err(e) => last_err = Some(e),
            }
        }
        Err(last_err.unwrap_or_else(|| anyhow::anyhow!("no free port")))
    }

    pub fn stop(mut self) {
        if let Some(rt) = self.runtime.take() {
            rt.shutdown_background();
        }
    }
}

impl Drop for DemoWeb {
    fn drop(&mut self) {
        if let Some(rt) = self.runtime.take() {
            rt.shutdown_background();
        }
    }
}

async fn bind_all(
    hosts: &[(IpAddr, PathBuf)],
    want: u16,
) -> anyhow::Result<(u16, Vec<TcpListener>)> {
    let first = TcpListener::bind(SocketAddr::new(hosts[0].0, want)).await?;
    let port = first.local_addr()?.port();
    let mut listeners = vec![first];
    for (ip, _) in &hosts[1..] {
        listeners.push(
            TcpListener::bind(SocketAddr::new(*ip, port))
                .await
                .with_context(|| format!("binding {ip}:{port}"))?,
        );
    }
    Ok((port, listeners))
}

async fn serve(listener: TcpListener, responder: Responder) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let responder = responder.clone();
        tokio::spawn(async move {
            let _ = handle(stream, responder).await;
        });
    }
}

async fn handle(mut stream: TcpStream, responder: Responder) -> std::io::Result<()> {
    let mut buf = Vec::with_capacity(2048);
    loop {
        let head_end = loop {
            if let Some(p) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                break p + 4;
            }
            if buf.len() > 64 * 1024 {
                return Ok(());
            }
            let mut chunk = [0u8; 4096];
            let n = stream.read(&mut chunk).await?;
            if n == 0 {
                return Ok(());
            }
            buf.extend_from_slice(&chunk[..n]);
        };
        let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
        buf.drain(..head_end);
        let mut parts = head.split_whitespace();
        let method = parts.next().unwrap_or("");
        let target = parts.next().unwrap_or("/");
        let close = head.to_ascii_lowercase().contains("connection: close");
        let found = matches!(method, "GET" | "HEAD")
            .then(|| responder(target))
            .flatten();
        let (status, body, ct): (&str, &[u8], &str) = match (method, &found) {
            ("GET" | "HEAD", Some((b, ct))) => ("200 OK", b, ct),
            ("GET" | "HEAD", None) => ("404 Not Found", b"not found\n", "text/plain"),
            _ => ("405 Method Not Allowed", b"", "text/plain"),
        };
        let header = format!(
            "HTTP/1.1 {status}\r\nContent-Type: {ct}\r\nContent-Length: {}\r\nServer: leadcrawl-demo\r\n{}\r\n",
            body.len(),
            if close { "Connection: close\r\n" } else { "" }
        );
        stream.write_all(header.as_bytes()).await?;
        if method != "HEAD" {
            stream.write_all(body).await?;
        }
        if close {
            return Ok(());
        }
    }
}
