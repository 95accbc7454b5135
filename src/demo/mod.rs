//! `leadcrawl demo`: the whole pipeline, offline, on the bundled demo.
//!
//! It starts the demo web ([`server::DemoWeb`]) on 127.0.20.x, writes the lead list (with the
//! server's port) and a config into the output folder, runs every available stage with the same
//! runner as `leadcrawl run`, prints a summary and stops the server. Running it again resumes or
//! skips, like `run`.

pub mod registry_api;
pub mod server;

use std::path::{Path, PathBuf};

use anyhow::Context;

use crate::config::Config;
use crate::exit::UsageError;
use crate::progress::ProgressMode;
use crate::signals::StopFlag;
use crate::stages::evaluate::{self, evaluation::Evaluation};
use crate::{runner, status};

/// The demo's config, written to `OUT/pipeline.toml`; a reference for users' own configs.
const DEMO_CONFIG: &str = r#"# leadcrawl demo config, written by `leadcrawl demo`.
[pipeline]
output_dir = "."

[ingest]
input = "input/leads.csv"
batch_rows = 16

[ingest.columns]
id = "Account ID"
name = "Company"
website = "Website"
country = "Country"
siren = "SIREN"
cik = "CIK"
status = "Stage"
notes = "Notes"

[ingest.status]
won = ["Closed Won"]
lost = ["Closed Lost"]

[crawl]
contact_url = "https://example.org/leadcrawl-demo"
# The demo's websites are on loopback addresses: allowed here only.
allow_private_networks = true
requests_per_second = 20.0

[registry]
# The demo's registries are served locally in the real APIs' formats (datasets/demo/registry).
registries = ["sirene", "sec_edgar"]
sirene_url = "http://__REGISTRY__:__PORT__"
sec_url = "http://__REGISTRY__:__PORT__"
sec_tickers_url = "http://__REGISTRY__:__PORT__/files/company_tickers.json"
contact_email = "demo@example.org"
allow_private_networks = true
sirene_rps = 50.0
sec_rps = 50.0

[universe]
# 20,000 French legal units in the real SIRENE StockUniteLegale format (datasets/demo/universe),
# the demo's French companies among them.
files = [__UNIVERSE__]

[prospects]
top = 1000
"#;

fn find_demo_dir(given: Option<&Path>) -> anyhow::Result<PathBuf> {
    let candidates: Vec<PathBuf> = match given {
        Some(p) => vec![p.to_path_buf()],
        None => vec![
            PathBuf::from("datasets/demo"),
            Path::new(env!("CARGO_MANIFEST_DIR")).join("datasets/demo"),
        ],
    };
    for c in &candidates {
        if c.join("leads.csv").is_file() && c.join("sites").is_dir() {
            return Ok(c.clone());
        }
    }
    Err(UsageError(format!(
        "demo data not found (looked in {}); pass --demo-dir PATH to a leadcrawl checkout's datasets/demo",
        candidates.iter().map(|c| c.display().to_string()).collect::<Vec<_>>().join(", ")
    ))
    .into())
}

/// Writes `path` only when its content differs, so that an unchanged demo keeps its fingerprints.
fn write_if_changed(path: &Path, content: &str) -> anyhow::Result<()> {
    if std::fs::read_to_string(path).ok().as_deref() != Some(content) {
        if let Some(d) = path.parent() {
            std::fs::create_dir_all(d)?;
        }
        let tmp = path.with_extension("tmp");
        std::fs::write(&tmp, content)?;
        std::fs::rename(&tmp, path)?;
    }
    Ok(())
}

/// The demo universe's file as a TOML string (absolute, so the config works from any folder).
fn universe_file(demo: &Path) -> anyhow::Result<String> {
    let f = demo.join("universe/StockUniteLegale_demo.zip");
    let f = f
        .canonicalize()
        .with_context(|| format!("demo universe {}", f.display()))?;
    Ok(toml::Value::String(f.display().to_string()).to_string())
}

/// The best prospects and the held-out clients' recall, from `prospects.json` and
/// `prospects.parquet`.
fn print_prospects(out: &Path) -> anyhow::Result<()> {
    use crate::stages::prospects::{report::pct, Summary};
    use arrow::array::{Array, AsArray};
    let Ok(bytes) = std::fs::read(out.join("prospects.json")) else {
        return Ok(());
    };
    let s: Summary = serde_json::from_slice(&bytes)?;
    println!(
        "\nprospects: {} active companies in the universe, {} scored against {} clients ({} held out)",
        s.universe_active, s.scored, s.clients_matched, s.clients_holdout
    );
    if let Some(p) = s.class_prior {
        println!(
            "  positive-unlabelled (Elkan–Noto): c = {:.3}, estimated class prior {} (about {:.0} companies)",
            s.labelling_constant.unwrap_or(f64::NAN),
            pct(Some(p)),
            s.estimated_client_like.unwrap_or(f64::NAN)
        );
    }
    if let Some(v) = &s.validation {
        for (name, r) in [("model   ", &v.model), ("baseline", &v.baseline)] {
            let at = |a: f64| {
                pct(r
                    .recall_at
                    .iter()
                    .find(|x| (x.0 - a).abs() < 1e-9)
                    .map(|x| x.1))
            };
            println!(
                "  held-out clients, {name}: recall at top 1 % {}, 5 % {}, 10 % {}; median percentile {:.1}",
                at(0.01),
                at(0.05),
                at(0.10),
                r.median_percentile.unwrap_or(f64::NAN)
            );
        }
    }
    let batches = crate::table::read_file(&out.join("prospects.parquet"))?;
    println!("  best prospects:");
    let mut shown = 0;
    for b in &batches {
        let text = |n: &str| -> anyhow::Result<arrow::array::ArrayRef> {
            let c = b
                .column_by_name(n)
                .with_context(|| format!("prospects.{n}"))?;
            Ok(arrow::compute::cast(c, &arrow::datatypes::DataType::Utf8)?)
        };
        let (rank, name, id, naf, band, score, raw) = (
            text("rank")?,
            text("name")?,
            text("registry_id")?,
            text("industry_code")?,
            text("headcount_band")?,
            text("score")?,
            text("raw_score")?,
        );
        for r in 0..b.num_rows() {
            if shown == 10 {
                break;
            }
            let v = |a: &arrow::array::ArrayRef| {
                let a = a.as_string::<i32>();
                if a.is_null(r) { "" } else { a.value(r) }.to_owned()
            };
            println!(
                "  {:>4}  {:<36} {}  NAF {:<7} band {:<3} score {:.3} (g {:.3})",
                v(&rank),
                v(&name),
                v(&id),
                v(&naf),
                v(&band),
                v(&score).parse::<f64>().unwrap_or(f64::NAN),
                v(&raw).parse::<f64>().unwrap_or(f64::NAN)
            );
            shown += 1;
        }
    }
    println!(
        "prospects {}\nreport    {}",
        out.join("prospects.parquet").display(),
        out.join("prospects.html").display()
    );
    Ok(())
}

pub fn run(out: &Path, demo_dir: Option<&Path>, json_logs: bool) -> anyhow::Result<u8> {
    let demo = find_demo_dir(demo_dir)?;
    std::fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
    let web = server::DemoWeb::start(&demo.join("sites"), Some(&demo.join("registry")))?;
    tracing::info!(
        hosts = web.hosts.len(),
        port = web.port,
        "demo websites up on 127.0.20.x"
    );
    let leads =
        std::fs::read_to_string(demo.join("leads.csv"))?.replace("__PORT__", &web.port.to_string());
    write_if_changed(&out.join("input/leads.csv"), &leads)?;
    let config_path = out.join("pipeline.toml");
    write_if_changed(
        &config_path,
        &DEMO_CONFIG
            .replace("__REGISTRY__", server::REGISTRY_IP)
            .replace("__PORT__", &web.port.to_string())
            .replace("__UNIVERSE__", &universe_file(&demo)?),
    )?;
    let config = Config::load(&config_path)?;
    let _lock = runner::RunLock::acquire(config.output_dir())?;
    let stop = StopFlag::install()?;
    let store = crate::state::open(&config, None)?;
    let stages = runner::select(&[])?;
    let report = runner::run(
        &config,
        store.as_ref(),
        &stages,
        &[],
        &stop,
        ProgressMode::detect(json_logs),
    )?;
    web.stop();
    let view = status::collect(&config, Some(store.as_ref()))?;
    println!(
        "\nleadcrawl demo: {} companies, output in {}\n",
        leads.lines().count().saturating_sub(1),
        out.display()
    );
    print!("{}", status::render(&view));
    let eval_path = config.output_dir().join(evaluate::EVALUATION.name);
    if let Ok(bytes) = std::fs::read(&eval_path) {
        match Evaluation::from_json(&bytes) {
            Ok(eval) => println!("\n{}", evaluate::report::metrics_text(&eval)),
            Err(e) => tracing::warn!("{}: {e:#}", eval_path.display()),
        }
        println!(
            "report   {}\nscores   {}",
            config.output_dir().join("report.html").display(),
            config.output_dir().join("scores.parquet").display()
        );
    }
    if let Err(e) = print_prospects(config.output_dir()) {
        tracing::warn!("prospects: {e:#}");
    }
    println!("\nTables are Parquet: try  python3 -c \"import pyarrow.parquet as pq; print(pq.read_table('{}/leads').to_pandas())\"", out.display());
    let code = crate::run_results::verdict(&report).0;
    if code == crate::exit::UNITS_FAILED {
        // The demo has two leads whose websites are dead on purpose: recorded failures are
        // part of the show, not an error of the demo.
        println!(
            "Some units failed and were recorded (the demo includes dead websites on purpose)."
        );
        return Ok(crate::exit::SUCCESS);
    }
    Ok(code)
}
