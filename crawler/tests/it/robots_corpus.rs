//! robots.txt robustness: every file of the real corpora in `shared/data/robots` (4,231 from
//! the top sites, 25 curated tricky ones, 24 crawler-commons cases) is parsed and queried
//! without a panic or a hang.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crawler::robots::Robots;
use url::Url;

fn shared_robots() -> PathBuf {
    let p = crate::repo().join("../shared/data/robots");
    assert!(
        p.is_dir(),
        "{} is missing: the robots corpus lives in the shared data folder beside the repo",
        p.display()
    );
    p
}

fn check_file(path: &Path, slowest: &mut (Duration, String)) {
    let bytes = std::fs::read(path).unwrap();
    let t = Instant::now();
    let r = Robots::from_body(&bytes, "leadcrawl");
    for u in [
        "https://example.com/",
        "https://example.com/about/team?x=1",
        "https://example.com/private/a$b/%C3%A9",
        "https://example.com/search?q=*",
    ] {
        let verdict = r.checked_allowed("leadcrawl", &Url::parse(u).unwrap());
        assert!(
            verdict.is_some(),
            "the robots.txt parser panicked on {}",
            path.display()
        );
    }
    let _ = r.crawl_delay();
    let spent = t.elapsed();
    if spent > slowest.0 {
        *slowest = (spent, path.display().to_string());
    }
}

#[test]
fn every_real_robots_txt_parses_without_panic_or_hang() {
    let root = shared_robots();
    let tmp = tempfile::tempdir().unwrap();
    let st = std::process::Command::new("tar")
        .args(["-xzf"])
        .arg(root.join("protego-test_data-all.tar.gz"))
        .arg("-C")
        .arg(tmp.path())
        .status()
        .unwrap();
    assert!(st.success());
    let mut files: Vec<PathBuf> = Vec::new();
    let mut stack = vec![
        tmp.path().to_path_buf(),
        root.join("curated"),
        root.join("crawler-commons"),
    ];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else {
                files.push(p);
            }
        }
    }
    assert!(files.len() >= 4231 + 25 + 24, "{} files", files.len());
    let mut slowest = (Duration::ZERO, String::new());
    let started = Instant::now();
    for f in &files {
        check_file(f, &mut slowest);
    }
    println!(
        "{} robots.txt files in {:?}; slowest {:?} ({})",
        files.len(),
        started.elapsed(),
        slowest.0,
        slowest.1
    );
    // A hang would never get here; a pathological file is reported above.
    assert!(slowest.0 < Duration::from_secs(5), "{slowest:?}");
}

#[test]
fn curated_cases_mean_what_they_say() {
    let root = shared_robots().join("curated");
    let read = |name: &str| {
        let p = std::fs::read_dir(&root)
            .unwrap()
            .flatten()
            .map(|e| e.path())
            .find(|p| p.to_string_lossy().contains(name))
            .unwrap();
        std::fs::read(p).unwrap()
    };
    // The 1.37 MB file is cut at 500 KiB and still parses.
    let big = read("gt500KiB__www.hermes.com");
    assert!(big.len() > crawler::robots::MAX_ROBOTS_BYTES);
    assert!(
        matches!(Robots::from_body(&big, "leadcrawl"), Robots::Rules { ref body, .. } if body.len() <= crawler::robots::MAX_ROBOTS_BYTES)
    );
    let cd = Robots::from_body(&read("crawl-delay__"), "leadcrawl");
    assert!(
        cd.crawl_delay().is_some(),
        "the crawl-delay example has a delay for *"
    );
    let empty = Robots::from_body(&read("empty__"), "leadcrawl");
    assert!(empty.allowed("leadcrawl", &Url::parse("https://x.com/anything").unwrap()));
    let bom = Robots::from_body(&read("bom__www.microchip.com"), "leadcrawl");
    assert!(matches!(bom, Robots::Rules { .. }));
}
