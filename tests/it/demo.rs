//! The demo: its web server serves the company sites, and `leadcrawl demo` runs offline.

use std::io::{Read, Write};
use std::net::TcpStream;

use crate::common::*;

fn get(addr: &str, path: &str) -> (String, String) {
    let mut s = TcpStream::connect(addr).unwrap();
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut buf = String::new();
    s.read_to_string(&mut buf).unwrap();
    let (head, body) = buf.split_once("\r\n\r\n").unwrap();
    (head.lines().next().unwrap().to_string(), body.to_string())
}

#[test]
fn demo_web_serves_each_company_on_its_own_loopback_host() {
    let web = leadcrawl::demo::server::DemoWeb::start(&repo().join("datasets/demo/sites"), None).unwrap();
    assert!(web.hosts.len() >= 50, "{}", web.hosts.len());
    let a = format!("127.0.20.1:{}", web.port);
    let (status, body) = get(&a, "/");
    assert_eq!(status, "HTTP/1.1 200 OK");
    assert!(body.contains("<nav class=\"main-nav\">") && body.contains("cookie-banner"));
    let (_, robots) = get(&a, "/robots.txt");
    assert!(
        robots.contains(&format!(
            "Sitemap: http://127.0.20.1:{}/sitemap.xml",
            web.port
        )),
        "port substituted: {robots}"
    );
    assert_eq!(get(&a, "/nope.html").0, "HTTP/1.1 404 Not Found");
    let (_, b2) = get(&format!("127.0.20.2:{}", web.port), "/");
    assert_ne!(body, b2, "each host is its own site");
    // A lead whose website has no server: connection refused.
    assert!(TcpStream::connect(format!("127.0.20.18:{}", web.port)).is_err());
    web.stop();
}

#[test]
fn demo_runs_offline_and_resumes() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("demo");
    let o = bin()
        .args(["demo", "--out", out.to_str().unwrap()])
        .current_dir(repo())
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let leads = rows(&out.join("leads"));
    let demo: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(repo().join("datasets/demo/demo.json")).unwrap(),
    )
    .unwrap();
    let companies = demo["companies"].as_array().unwrap();
    assert_eq!(leads.len(), companies.len());
    for (lead, c) in leads.iter().zip(companies) {
        assert_eq!(get_field(lead, "status"), c["status"].as_str());
        assert!(get_field(lead, "website")
            .unwrap()
            .starts_with(&format!("http://{}:", c["ip"].as_str().unwrap())));
    }
    let o = bin()
        .args(["demo", "--out", out.to_str().unwrap()])
        .current_dir(repo())
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0));
    assert!(
        text(&o).contains("up to date"),
        "second demo run skips done work: {}",
        text(&o)
    );
}

fn get_field<'a>(
    row: &'a std::collections::BTreeMap<String, Option<String>>,
    k: &str,
) -> Option<&'a str> {
    crate::common::get(row, k)
}
