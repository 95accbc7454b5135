//! A real HTTP/1.1 server for tests, one per loopback address, that logs every request (time,
//! path, head) and answers through a handler that can misbehave: delays, resets, hangs,
//! endless or chunked bodies, bodies trickling a byte at a time, gzip bombs, bytes that are not
//! HTTP. The crawler's tests and the root package's tests share it.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// One request as the server saw it.
#[derive(Debug, Clone)]
pub struct Hit {
    pub at: Instant,
    pub path: String,
    pub head: String,
}

/// What to answer.
pub enum Reply {
    Full {
        status: u16,
        headers: Vec<(String, String)>,
        body: Vec<u8>,
    },
    /// Wait, then answer.
    Delay(Duration, Box<Reply>),
    /// Close the connection without a response.
    Reset,
    /// Headers, then `count` copies of `chunk` (no Content-Length unless given in headers;
    /// each copy a chunk of the chunked encoding when the headers say
    /// `Transfer-Encoding: chunked`).
    Stream {
        status: u16,
        headers: Vec<(String, String)>,
        chunk: Vec<u8>,
        count: usize,
    },
    /// Headers (with the Content-Length of the whole body), then the body one byte per `every`.
    Trickle {
        headers: Vec<(String, String)>,
        body: Vec<u8>,
        every: Duration,
    },
    /// These bytes as they are, then close: not necessarily HTTP.
    Raw(Vec<u8>),
}

pub fn html(body: &str) -> Reply {
    Reply::Full {
        status: 200,
        headers: vec![("Content-Type".into(), "text/html; charset=utf-8".into())],
        body: body.as_bytes().to_vec(),
    }
}

pub fn status(code: u16) -> Reply {
    Reply::Full {
        status: code,
        headers: vec![],
        body: format!("status {code}\n").into_bytes(),
    }
}

pub fn with_headers(code: u16, headers: &[(&str, &str)], body: &[u8]) -> Reply {
    Reply::Full {
        status: code,
        headers: headers
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect(),
        body: body.to_vec(),
    }
}

/// `(path with query, how many times this path was requested before)` → reply.
pub type Handler = Arc<dyn Fn(&str, usize) -> Reply + Send + Sync>;
/// Like [`Handler`], also given the request head (to answer conditional requests).
pub type HeadHandler = Arc<dyn Fn(&str, usize, &str) -> Reply + Send + Sync>;

pub struct Web {
    pub addr: SocketAddr,
    hits: Arc<Mutex<Vec<Hit>>>,
    _rt: tokio::runtime::Runtime,
}

static NEXT_IP: AtomicU32 = AtomicU32::new(0);

/// A loopback address no other test uses (127.1.x.y).
pub fn fresh_ip() -> String {
    let n = NEXT_IP.fetch_add(1, Ordering::SeqCst) + (std::process::id() % 50) * 1000;
    format!("127.1.{}.{}", (n / 250) % 250, 1 + n % 250)
}

impl Web {
    pub fn start(handler: Handler) -> Web {
        Self::start_on(&fresh_ip(), handler)
    }

    pub fn start_on(ip: &str, handler: Handler) -> Web {
        Self::start_with_head(ip, Arc::new(move |p, n, _| handler(p, n)))
    }

    pub fn start_with_head(ip: &str, handler: HeadHandler) -> Web {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let listener = rt.block_on(TcpListener::bind(format!("{ip}:0"))).unwrap();
        let addr = listener.local_addr().unwrap();
        let hits = Arc::new(Mutex::new(Vec::new()));
        let counts = Arc::new(Mutex::new(HashMap::<String, usize>::new()));
        let h2 = hits.clone();
        rt.spawn(async move {
            loop {
                let Ok((s, _)) = listener.accept().await else {
                    continue;
                };
                let (handler, hits, counts) = (handler.clone(), h2.clone(), counts.clone());
                tokio::spawn(async move {
                    let _ = serve(s, handler, hits, counts).await;
                });
            }
        });
        Web {
            addr,
            hits,
            _rt: rt,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    pub fn hits(&self) -> Vec<Hit> {
        self.hits.lock().unwrap().clone()
    }

    pub fn paths(&self) -> Vec<String> {
        self.hits().into_iter().map(|h| h.path).collect()
    }

    /// Smallest gap between two consecutive requests.
    pub fn min_gap(&self) -> Option<Duration> {
        let mut t: Vec<Instant> = self.hits().iter().map(|h| h.at).collect();
        t.sort();
        t.windows(2).map(|w| w[1] - w[0]).min()
    }
}

async fn serve(
    mut s: TcpStream,
    handler: HeadHandler,
    hits: Arc<Mutex<Vec<Hit>>>,
    counts: Arc<Mutex<HashMap<String, usize>>>,
) -> std::io::Result<()> {
    let mut buf = Vec::new();
    loop {
        let end = loop {
            if let Some(p) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                break p + 4;
            }
            let mut chunk = [0u8; 4096];
            let n = s.read(&mut chunk).await?;
            if n == 0 {
                return Ok(());
            }
            buf.extend_from_slice(&chunk[..n]);
        };
        let head = String::from_utf8_lossy(&buf[..end]).into_owned();
        buf.drain(..end);
        let path = head.split_whitespace().nth(1).unwrap_or("/").to_string();
        let nth = {
            let mut c = counts.lock().unwrap();
            let e = c.entry(path.clone()).or_default();
            *e += 1;
            *e - 1
        };
        hits.lock().unwrap().push(Hit {
            at: Instant::now(),
            path: path.clone(),
            head: head.clone(),
        });
        let mut reply = handler(&path, nth, &head);
        while let Reply::Delay(d, next) = reply {
            tokio::time::sleep(d).await;
            reply = *next;
        }
        match reply {
            Reply::Full {
                status,
                headers,
                body,
            } => {
                let mut h = format!("HTTP/1.1 {status} X\r\nContent-Length: {}\r\n", body.len());
                for (k, v) in headers {
                    h.push_str(&format!("{k}: {v}\r\n"));
                }
                h.push_str("\r\n");
                s.write_all(h.as_bytes()).await?;
                s.write_all(&body).await?;
            }
            Reply::Reset => return Ok(()),
            Reply::Stream {
                status,
                headers,
                chunk,
                count,
            } => {
                let mut h = format!("HTTP/1.1 {status} X\r\nConnection: close\r\n");
                for (k, v) in headers {
                    h.push_str(&format!("{k}: {v}\r\n"));
                }
                h.push_str("\r\n");
                s.write_all(h.as_bytes()).await?;
                let chunked = h
                    .to_ascii_lowercase()
                    .contains("transfer-encoding: chunked");
                for _ in 0..count {
                    if chunked {
                        s.write_all(format!("{:x}\r\n", chunk.len()).as_bytes())
                            .await?;
                        s.write_all(&chunk).await?;
                        s.write_all(b"\r\n").await?;
                    } else {
                        s.write_all(&chunk).await?;
                    }
                }
                if chunked {
                    s.write_all(b"0\r\n\r\n").await?;
                }
                return Ok(());
            }
            Reply::Trickle {
                headers,
                body,
                every,
            } => {
                let mut h = format!("HTTP/1.1 200 X\r\nContent-Length: {}\r\n", body.len());
                for (k, v) in headers {
                    h.push_str(&format!("{k}: {v}\r\n"));
                }
                h.push_str("\r\n");
                s.write_all(h.as_bytes()).await?;
                for b in body {
                    tokio::time::sleep(every).await;
                    s.write_all(&[b]).await?;
                }
            }
            Reply::Raw(bytes) => {
                s.write_all(&bytes).await?;
                return Ok(());
            }
            Reply::Delay(..) => unreachable!(),
        }
    }
}

/// A small company site: home linking to the given pages, robots.txt and sitemap from `robots`.
pub fn site(robots: &'static str, pages: Vec<(&'static str, String)>) -> Handler {
    let map: HashMap<String, String> = pages.into_iter().map(|(p, b)| (p.to_string(), b)).collect();
    Arc::new(move |path, _| {
        if path == "/robots.txt" {
            return with_headers(200, &[("Content-Type", "text/plain")], robots.as_bytes());
        }
        match map.get(path) {
            Some(b) => html(b),
            None => status(404),
        }
    })
}

pub fn page(title: &str, links: &[(&str, &str)]) -> String {
    let a: String = links
        .iter()
        .map(|(h, t)| format!("<a href=\"{h}\">{t}</a> "))
        .collect();
    format!("<!DOCTYPE html><html><head><title>{title}</title></head><body><h1>{title}</h1><p>Text of {title}.</p>{a}</body></html>")
}
