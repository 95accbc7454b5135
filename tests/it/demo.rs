//! The demo: its web server serves the company sites, and `leadcrawl demo` runs offline.

use std::io::{Read, Write};
use std::net::TcpStream;

use crate::common::*;

/// Both tests bind the demo's preferred ports on 127.0.20.x: run one at a time, or the demo's
/// second run may find its port taken, get other URLs, and legitimately redo every stage.
static DEMO_PORTS: std::sync::Mutex<()> = std::sync::Mutex::new(());

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
    let _ports = DEMO_PORTS.lock().unwrap_or_else(|e| e.into_inner());
    let web =
        leadcrawl::demo::server::DemoWeb::start(&repo().join("datasets/demo/sites"), None).unwrap();
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
    let _ports = DEMO_PORTS.lock().unwrap_or_else(|e| e.into_inner());
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
    // Registry: one row per lead; matches checked against the generator's truth.
    let registry: std::collections::HashMap<String, _> = rows(&out.join("registry"))
        .into_iter()
        .map(|r| (get_field(&r, "lead_id").unwrap().to_owned(), r))
        .collect();
    assert_eq!(registry.len(), leads.len());
    let (mut right, mut wrong) = (0, Vec::new());
    let mut methods = std::collections::BTreeMap::<String, usize>::new();
    for (lead, c) in leads.iter().zip(companies) {
        let r = &registry[get_field(lead, "lead_id").unwrap()];
        if get_field(r, "match_status") != Some("matched") {
            continue;
        }
        *methods
            .entry(get_field(r, "match_method").unwrap().to_owned())
            .or_default() += 1;
        let truth = match c["country"].as_str() {
            Some("FR") => c["siren"].as_str().unwrap().to_owned(),
            _ => format!("{:010}", c["cik"].as_str().unwrap().parse::<u64>().unwrap()),
        };
        if get_field(r, "registry_id") == Some(truth.as_str()) {
            right += 1;
        } else {
            wrong.push((
                c["name"].clone(),
                get_field(r, "registry_id").map(str::to_owned),
            ));
        }
    }
    println!(
        "demo registry: {right} right, {} wrong {wrong:?}, by method {methods:?}",
        wrong.len()
    );
    assert!(right >= 45, "{right} matched right");
    // The demo has one near-namesake pair ("Keystone Engineering" listed, "KeystoneEngineering"
    // not): a name-only match cannot tell them apart.
    assert!(wrong.len() <= 1, "{wrong:?}");
    for m in ["id_input", "id_website", "name"] {
        assert!(
            methods.get(m).copied().unwrap_or(0) >= 5,
            "{m}: {methods:?}"
        );
    }

    // features.parquet, evaluation.json, scores.parquet read back with pyarrow, polars and
    // DuckDB; every metric recomputed by scikit-learn; the centroid baseline recomputed from the
    // Parquet alone; a shuffled-label control computed there, which the embedding models must
    // clearly beat (tests/python/demo_outputs.py says how).
    let py = std::process::Command::new(crate::common::python())
        .arg(repo().join("tests/python/demo_outputs.py"))
        .arg(&out)
        .arg(repo().join("datasets/demo/demo.json"))
        .output()
        .unwrap();
    assert!(py.status.success(), "{}", text(&py));
    println!("{}", text(&py));
    // docs/notebook.md's snippets run as documented against this output.
    let nb = std::process::Command::new(crate::common::python())
        .arg(repo().join("tests/python/run_notebook.py"))
        .arg(repo().join("docs/notebook.md"))
        .arg(&out)
        .output()
        .unwrap();
    assert!(nb.status.success(), "{}", text(&nb));
    // evaluation.json read back as its one Rust type: nothing lost (the same bytes written
    // again), and the metrics table the demo printed is drawn from that type.
    let json = std::fs::read(out.join("evaluation.json")).unwrap();
    let eval = leadcrawl::stages::evaluate::evaluation::Evaluation::from_json(&json).unwrap();
    assert_eq!(eval.to_json().unwrap(), json);
    // The seven baselines and the trees (the demo's list has no other columns: no
    // attributes-only model).
    assert_eq!(eval.models.len(), 8, "{:?}", eval.notes);
    let nested = eval.nested.clone().expect("the nested model choice");
    let best = eval.model(eval.best.as_deref().unwrap()).unwrap();
    eprintln!(
        "demo: best {} out-of-fold ROC-AUC {:.3}, ECE {:.3}; chosen (nested) ROC-AUC {:.3}, pooled ECE {:.3} (perfect probabilities: {:.3}), Brier {:.3}",
        best.name,
        best.metrics.roc_auc.unwrap(),
        best.calibration.as_ref().unwrap().ece,
        nested.roc_auc.unwrap(),
        nested.pooled_ece,
        nested.pooled_ece_by_chance,
        nested.pooled_brier
    );
    assert!(text(&o).contains("CHOSEN, nested CV (honest figure)"));
    assert!(eval
        .best
        .as_deref()
        .is_some_and(|b| eval.model(b).is_some()));
    let table = leadcrawl::stages::evaluate::report::metrics_text(&eval);
    assert!(text(&o).contains(&table), "{table}\n{}", text(&o));

    // The report opens in headless Chromium without a console message, and its screenshot is
    // kept for people to look at.
    let shot = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("demo-report.png");
    let console = chromium_screenshot(&out.join("report.html"), &shot);
    assert!(console.is_empty(), "console messages: {console:?}");
    let png = std::fs::read(&shot).unwrap();
    assert!(
        png.starts_with(b"\x89PNG\r\n\x1a\n") && png.len() > 20_000,
        "{}",
        png.len()
    );
    println!("report screenshot: {}", shot.display());

    // Prospects (issue 16): the demo's universe scored against its clients; every figure of
    // prospects.json / prospects.html recomputed from the Parquet, and the held-out clients'
    // recall at the top 5 % clearly above the baseline's.
    let py = std::process::Command::new(crate::common::python())
        .arg(repo().join("tests/python/prospects_outputs.py"))
        .arg(&out)
        .arg("--acceptance")
        .output()
        .unwrap();
    assert!(py.status.success(), "{}", text(&py));
    println!("{}", text(&py));
    assert!(text(&o).contains("best prospects:"), "{}", text(&o));
    assert!(text(&o).contains("held-out clients, model"), "{}", text(&o));
    // The client profile is in the evaluation report too, with a link to the prospects page.
    let report = std::fs::read_to_string(out.join("report.html")).unwrap();
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("prospects.json")).unwrap())
            .unwrap();
    assert!(
        report.contains("Your clients against the registry universe")
            && report.contains("href=\"prospects.html\"")
            && report.contains(summary["run_id"].as_str().unwrap()),
        "report.html lacks the client profile"
    );
    assert!(report.contains(&format!(
        "{} clients matched to {} active companies",
        summary["clients_matched"], summary["universe_active"]
    )));
    let shot = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("demo-prospects.png");
    let console = chromium_screenshot(&out.join("prospects.html"), &shot);
    assert!(console.is_empty(), "console messages: {console:?}");

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

/// Leads in the larger demo: enough labelled leads (about 88 % of them) for an ECE of a few points
/// to stand out from chance, which the bundled 96 cannot show.
const LARGER_DEMO_LEADS: usize = 1200;

/// Issue 15's calibration target, on the demo. On the bundled demo's 83 labelled leads even
/// perfectly calibrated probabilities show an ECE of about 0.11, so the figure says nothing
/// there. The demo's own generator writes a larger demo (the bundled companies first, then more
/// drawn the same way), and `leadcrawl demo --demo-dir` runs it through every stage. On held-out
/// folds the chosen model's calibrated probabilities must then have an ECE below 0.05, and the
/// sample must be large enough for that to mean something (chance alone well below 0.05).
#[test]
fn larger_demo_is_calibrated() {
    let _ports = DEMO_PORTS.lock().unwrap_or_else(|e| e.into_inner());
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let out = tmp.path().join("out");
    let g = std::process::Command::new(crate::common::python())
        .arg(repo().join("datasets/demo/generate.py"))
        .args(["--leads", &LARGER_DEMO_LEADS.to_string(), "--out"])
        .arg(&data)
        .output()
        .unwrap();
    assert!(g.status.success(), "{}", text(&g));
    // The larger demo starts with the bundled one, unchanged.
    let bundled = std::fs::read_to_string(repo().join("datasets/demo/leads.csv")).unwrap();
    let larger = std::fs::read_to_string(data.join("leads.csv")).unwrap();
    assert!(larger.starts_with(&bundled), "the bundled leads come first");
    assert_eq!(larger.lines().count(), LARGER_DEMO_LEADS + 1);

    let o = bin()
        .args(["demo", "--out", out.to_str().unwrap(), "--demo-dir"])
        .arg(&data)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(text(&o).contains(&format!("leadcrawl demo: {LARGER_DEMO_LEADS} companies")));
    let json = std::fs::read(out.join("evaluation.json")).unwrap();
    let eval = leadcrawl::stages::evaluate::evaluation::Evaluation::from_json(&json).unwrap();
    let nested = eval.nested.clone().expect("the nested model choice");
    let best = eval.model(eval.best.as_deref().unwrap()).unwrap();
    let cal = best.calibration.as_ref().unwrap();
    eprintln!(
        "larger demo: {} labelled ({} won); best {} ROC-AUC {:.3}, ECE {:.3} (chance {:.3}), Brier {:.3}; \
         chosen (nested) ROC-AUC {:.3}, pooled ECE {:.3} (chance {:.3})",
        eval.labelled,
        eval.won,
        best.name,
        best.metrics.roc_auc.unwrap(),
        cal.ece,
        cal.ece_by_chance,
        cal.brier,
        nested.roc_auc.unwrap(),
        nested.pooled_ece,
        nested.pooled_ece_by_chance
    );
    assert!(eval.labelled >= 1000, "{}", eval.labelled);
    // The sample can tell: perfectly calibrated probabilities stay well below the target.
    assert!(
        nested.pooled_ece_by_chance < 0.035,
        "{}",
        nested.pooled_ece_by_chance
    );
    assert!(
        nested.pooled_ece < 0.05,
        "chosen model's ECE {}",
        nested.pooled_ece
    );
    assert!(cal.ece < 0.05, "{}: ECE {}", best.name, cal.ece);
    // And the model has learnt something: calibration alone is easy for a constant.
    assert!(nested.roc_auc.unwrap() > 0.70, "{:?}", nested.roc_auc);
    let base = eval.won as f64 / eval.labelled as f64;
    assert!(
        cal.brier < 0.9 * base * (1.0 - base),
        "Brier {} against the base rate's {}",
        cal.brier,
        base * (1.0 - base)
    );

    // The prospects stage had enough lost leads to try won against lost too; the inner
    // validation keeps what ranks the clients above the rest of the universe, and the
    // held-out clients show it (won against lost alone found 34 % of them in the top 5 %,
    // under the baseline's 68 %).
    let p: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("prospects.json")).unwrap())
            .unwrap();
    let choice = &p["method_choice"];
    assert!(
        choice["positive_unlabelled"].as_f64().unwrap() > choice["won_lost"].as_f64().unwrap(),
        "{choice}"
    );
    assert_eq!(p["method"], "positive_unlabelled", "{choice}");
    let at5 = |who: &str| {
        p["validation"][who]["recall_at"]
            .as_array()
            .unwrap()
            .iter()
            .find(|x| (x[0].as_f64().unwrap() - 0.05).abs() < 1e-9)
            .unwrap()[1]
            .as_f64()
            .unwrap()
    };
    eprintln!(
        "larger demo prospects: recall at 5 % {:.3}, baseline {:.3}",
        at5("model"),
        at5("baseline")
    );
    assert!(at5("model") > at5("baseline") + 0.1, "{}", p["validation"]);
}

/// Opens `page` in headless Chromium (Debian's `chromium`; `LEADCRAWL_CHROMIUM` overrides),
/// writes a full-length screenshot to `shot` and returns the page's console messages.
fn chromium_screenshot(page: &std::path::Path, shot: &std::path::Path) -> Vec<String> {
    let exe = std::env::var("LEADCRAWL_CHROMIUM").unwrap_or_else(|_| "chromium".into());
    let profile = tempfile::tempdir().unwrap();
    let _ = std::fs::remove_file(shot);
    let o = std::process::Command::new(&exe)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--enable-logging=stderr",
            "--v=0",
            "--window-size=1280,5000",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .arg(format!("--screenshot={}", shot.display()))
        .arg(format!("file://{}", page.display()))
        .output()
        .unwrap_or_else(|e| {
            panic!("{exe}: {e} (install Debian's chromium: ./dev.sh test does, as root)")
        });
    assert!(o.status.success(), "{exe}: {}", text(&o));
    assert!(shot.exists(), "no screenshot: {}", text(&o));
    String::from_utf8_lossy(&o.stderr)
        .lines()
        .filter(|l| l.contains(":CONSOLE"))
        .map(str::to_owned)
        .collect()
}

#[test]
fn chromium_reports_console_errors() {
    // The check above could pass by not seeing anything: a page that does log errors is seen.
    let tmp = tempfile::tempdir().unwrap();
    let page = tmp.path().join("bad.html");
    std::fs::write(
        &page,
        "<!DOCTYPE html><html><body><p>x</p><script>console.error('boom'); nosuchfn();</script></body></html>",
    )
    .unwrap();
    let console = chromium_screenshot(&page, &tmp.path().join("bad.png"));
    assert!(console.iter().any(|l| l.contains("boom")), "{console:?}");
    assert!(
        console.iter().any(|l| l.contains("nosuchfn")),
        "{console:?}"
    );
}

fn get_field<'a>(
    row: &'a std::collections::BTreeMap<String, Option<String>>,
    k: &str,
) -> Option<&'a str> {
    crate::common::get(row, k)
}
