//! `pipeline.toml`: the one validated config that drives every stage.
//!
//! Loading happens in three steps, so that a user fixes a config in one pass:
//! 1. the file is parsed as TOML (a syntax error is reported with its line);
//! 2. each section is deserialized on its own (`deny_unknown_fields`), so a mistake in one
//!    section does not hide the mistakes in another;
//! 3. [`Config::validate`] checks values and collects every problem, each naming its key.
//!
//! Environment variables `LEADCRAWL__SECTION__KEY=value` override file values (values are read
//! as TOML, falling back to a string); secrets such as API keys are only ever read from the
//! environment. Relative paths resolve against the config file's folder.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// One problem in a config, with the dotted key it concerns.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ConfigIssue {
    pub key: String,
    pub message: String,
}

impl fmt::Display for ConfigIssue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.key, self.message)
    }
}

/// Every problem found in a config file; displayed one per line.
#[derive(Debug, thiserror::Error)]
pub struct ConfigError {
    pub path: PathBuf,
    pub issues: Vec<ConfigIssue>,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.issues.len();
        writeln!(
            f,
            "{}: {} problem{}",
            self.path.display(),
            n,
            if n == 1 { "" } else { "s" }
        )?;
        for i in &self.issues {
            writeln!(f, "  {i}")?;
        }
        Ok(())
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PipelineSection {
    /// Folder of the run: tables, reports and the state store.
    pub output_dir: PathBuf,
}

impl Default for PipelineSection {
    fn default() -> Self {
        PipelineSection {
            output_dir: PathBuf::from("output"),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StateSection {
    /// Where progress is recorded. Empty: SQLite file `state.sqlite` in `output_dir`.
    /// `sqlite:PATH` names another file; `postgres://user@host:port/db` a shared PostgreSQL
    /// database (password from the environment), for workers on several machines.
    pub url: Option<String>,
    /// PostgreSQL: how long a worker's claim on a host lasts without a heartbeat.
    pub lease_seconds: f64,
}

impl Default for StateSection {
    fn default() -> Self {
        StateSection {
            url: None,
            lease_seconds: 30.0,
        }
    }
}

impl StateSection {
    /// The PostgreSQL URL, when the state is shared.
    pub fn postgres_url(&self) -> Option<&str> {
        self.url
            .as_deref()
            .filter(|u| u.starts_with("postgres://") || u.starts_with("postgresql://"))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum InputFormat {
    Auto,
    Csv,
    Parquet,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ColumnMap {
    pub id: Option<String>,
    pub name: Option<String>,
    pub website: Option<String>,
    pub country: Option<String>,
    pub status: Option<String>,
    pub siren: Option<String>,
    pub siret: Option<String>,
    pub cik: Option<String>,
    pub lei: Option<String>,
    pub company_number: Option<String>,
    pub description: Option<String>,
    pub notes: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StatusMap {
    pub won: Vec<String>,
    pub lost: Vec<String>,
}

impl Default for StatusMap {
    fn default() -> Self {
        StatusMap {
            won: vec![
                "won".into(),
                "closed won".into(),
                "gagné".into(),
                "signed".into(),
                "customer".into(),
            ],
            lost: vec![
                "lost".into(),
                "closed lost".into(),
                "perdu".into(),
                "churned".into(),
            ],
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct IngestSection {
    /// The lead list: a CSV or Parquet file.
    pub input: Option<PathBuf>,
    pub format: InputFormat,
    /// `auto` detects UTF-8 (with or without BOM), UTF-16 with BOM, else guesses (windows-1252…).
    pub encoding: String,
    /// `auto` sniffs `,` `;` tab `|` from the header line.
    pub delimiter: String,
    /// Input rows per output part (and per unit of resumable work).
    pub batch_rows: usize,
    pub columns: ColumnMap,
    pub status: StatusMap,
}

impl Default for IngestSection {
    fn default() -> Self {
        IngestSection {
            input: None,
            format: InputFormat::Auto,
            encoding: "auto".into(),
            delimiter: "auto".into(),
            batch_rows: 5000,
            columns: ColumnMap::default(),
            status: StatusMap::default(),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CrawlSection {
    pub user_agent: String,
    pub contact_url: String,
    pub max_pages_per_site: u32,
    pub max_depth: u32,
    pub requests_per_second: f64,
    pub burst: u32,
    pub concurrency: u32,
    pub connect_timeout_secs: f64,
    pub read_timeout_secs: f64,
    pub site_time_budget_secs: f64,
    pub max_body_bytes: u64,
    pub max_redirects: u32,
    pub max_retries: u32,
    pub retry_base_ms: u64,
    pub max_retry_wait_secs: f64,
    pub breaker_threshold: u32,
    pub robots_retry_delay_secs: f64,
    pub robots_retries: u32,
    pub max_sitemaps: u32,
    pub part_rows: usize,
    pub allow_private_networks: bool,
    /// Forward proxy for every crawl request (`http://host:port`); empty: direct connections.
    /// `HTTP_PROXY` and the like in the environment are never used on their own.
    pub proxy: String,
}

impl Default for CrawlSection {
    fn default() -> Self {
        CrawlSection {
            user_agent: format!("leadcrawl/{}", env!("CARGO_PKG_VERSION")),
            contact_url: String::new(),
            max_pages_per_site: 20,
            max_depth: 3,
            requests_per_second: 1.0,
            burst: 1,
            concurrency: 64,
            connect_timeout_secs: 10.0,
            read_timeout_secs: 20.0,
            site_time_budget_secs: 300.0,
            max_body_bytes: 2 * 1024 * 1024,
            max_redirects: 10,
            max_retries: 3,
            retry_base_ms: 500,
            max_retry_wait_secs: 60.0,
            breaker_threshold: 5,
            robots_retry_delay_secs: 30.0,
            robots_retries: 2,
            max_sitemaps: 4,
            part_rows: 2000,
            allow_private_networks: false,
            proxy: String::new(),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ExtractSection {
    pub template_share: f64,
    pub template_min_pages: usize,
    pub part_leads: usize,
    pub workers: usize,
}

impl Default for ExtractSection {
    fn default() -> Self {
        ExtractSection {
            template_share: 0.5,
            template_min_pages: 3,
            part_leads: 500,
            workers: 0,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EmbedSection {
    /// Model folder (model.onnx + tokenizer files); empty: the one `./dev.sh` set up.
    pub model_dir: Option<PathBuf>,
    /// libonnxruntime.so; empty: ORT_DYLIB_PATH, else the one `./dev.sh` set up.
    pub onnxruntime: Option<PathBuf>,
    pub threads: usize,
    pub batch_size: usize,
    /// Tokens per chunk; 0: the model's maximum sequence length.
    pub max_tokens: usize,
    pub part_leads: usize,
    /// Weight of a chunk in its lead's vector, by source: page types, `description`, `notes`.
    pub weights: BTreeMap<String, f64>,
}

impl Default for EmbedSection {
    fn default() -> Self {
        let weights = [
            ("description", 3.0),
            ("notes", 1.0),
            ("home", 2.0),
            ("about", 2.0),
            ("product", 1.5),
            ("pricing", 1.0),
            ("customers", 1.0),
            ("careers", 0.5),
            ("contact", 0.25),
            ("legal", 0.0),
            ("blog", 0.5),
            ("other", 0.5),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
        EmbedSection {
            model_dir: None,
            onnxruntime: None,
            threads: 0,
            batch_size: 32,
            max_tokens: 0,
            part_leads: 200,
            weights,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EvaluateSection {
    /// Stratified cross-validation folds.
    pub folds: usize,
    /// Seed of the folds and of the shuffled-label control.
    pub seed: u64,
    /// Inverse L2 regularisation strength of the logistic regressions (scikit-learn's `C`).
    pub c: f64,
    /// TF-IDF: a term must appear in at least this many training documents.
    pub min_df: usize,
    /// Characters of text per lead for TF-IDF (description, notes, then pages).
    pub max_text_chars: usize,
}

impl Default for EvaluateSection {
    fn default() -> Self {
        EvaluateSection {
            folds: 5,
            seed: 42,
            c: 1.0,
            min_df: 2,
            max_text_chars: 20_000,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ScoreSection {
    /// Probability at or above which an open lead is routed to sales.
    pub route_at: f64,
    /// Probability at or above which an open lead is nurtured (below: dropped).
    pub nurture_at: f64,
    /// Most similar won leads listed per scored lead.
    pub similar: usize,
    /// Features that moved the score most, listed per scored lead.
    pub drivers: usize,
}

impl Default for ScoreSection {
    fn default() -> Self {
        ScoreSection {
            route_at: 0.6,
            nurture_at: 0.3,
            similar: 3,
            drivers: 5,
        }
    }
}

/// Registries the registry stage knows, by config name.
pub const REGISTRIES: &[&str] = &["sirene", "sec_edgar", "gleif", "companies_house"];

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RegistrySection {
    /// Registries asked, from [`REGISTRIES`]; an empty list turns the stage into a no-op.
    pub registries: Vec<String>,
    pub sirene_url: String,
    pub sec_url: String,
    pub sec_tickers_url: String,
    pub gleif_url: String,
    pub companies_house_url: String,
    /// Requests per second per registry (one request at a time, spaced).
    pub sirene_rps: f64,
    pub sec_rps: f64,
    pub gleif_rps: f64,
    pub companies_house_rps: f64,
    /// E-mail put in the User-Agent (the SEC requires one).
    pub contact_email: String,
    /// Environment variable holding the Companies House API key.
    pub companies_house_key_env: String,
    /// Cached responses older than this are asked again.
    pub cache_ttl_days: f64,
    /// Minimum match score to choose a record found by name.
    pub accept_score: f64,
    /// The best candidate must beat the next (another company) by this much.
    pub margin: f64,
    /// Candidates kept when none is chosen.
    pub keep_candidates: usize,
    /// Name similarity an id found on the company's own website needs (guards against the
    /// web host's or an agency's SIREN in the legal notice).
    pub website_id_min_name: f64,
    pub timeout_secs: f64,
    pub max_retries: u32,
    /// Leads looked up at once.
    pub concurrency: usize,
    pub part_leads: usize,
    /// Allow registry base URLs on loopback/private addresses (tests, the demo).
    pub allow_private_networks: bool,
}

impl Default for RegistrySection {
    fn default() -> Self {
        RegistrySection {
            registries: REGISTRIES.iter().map(|s| s.to_string()).collect(),
            sirene_url: "https://recherche-entreprises.api.gouv.fr".into(),
            sec_url: "https://data.sec.gov".into(),
            sec_tickers_url: "https://www.sec.gov/files/company_tickers.json".into(),
            gleif_url: "https://api.gleif.org/api/v1".into(),
            companies_house_url: "https://api.company-information.service.gov.uk".into(),
            sirene_rps: 7.0,
            sec_rps: 10.0,
            gleif_rps: 1.0,
            companies_house_rps: 2.0,
            contact_email: String::new(),
            companies_house_key_env: "COMPANIES_HOUSE_API_KEY".into(),
            cache_ttl_days: 30.0,
            accept_score: enrich::registry::matching::MatchConfig::default().accept,
            margin: enrich::registry::matching::MatchConfig::default().margin,
            keep_candidates: enrich::registry::matching::MatchConfig::default().keep,
            website_id_min_name: 0.5,
            timeout_secs: 20.0,
            max_retries: 3,
            concurrency: 8,
            part_leads: 500,
            allow_private_networks: false,
        }
    }
}

/// The whole validated config, with paths made absolute.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Config {
    pub pipeline: PipelineSection,
    pub state: StateSection,
    pub ingest: IngestSection,
    pub crawl: CrawlSection,
    pub extract: ExtractSection,
    pub registry: RegistrySection,
    pub embed: EmbedSection,
    pub evaluate: EvaluateSection,
    pub score: ScoreSection,
    /// Folder of the config file: relative paths resolve against it.
    #[serde(skip)]
    pub base_dir: PathBuf,
    #[serde(skip)]
    pub path: PathBuf,
}

/// Known top-level sections, in file order.
pub const SECTIONS: &[&str] = &[
    "pipeline", "state", "ingest", "crawl", "extract", "registry", "embed", "evaluate", "score",
];

/// Environment variable prefix for overrides: `LEADCRAWL__CRAWL__MAX_DEPTH=2`.
pub const ENV_PREFIX: &str = "LEADCRAWL__";

fn section<T: for<'de> Deserialize<'de> + Default>(
    table: &toml::Table,
    name: &str,
    issues: &mut Vec<ConfigIssue>,
) -> T {
    match table.get(name) {
        None => T::default(),
        Some(v) => match T::deserialize(v.clone()) {
            Ok(t) => t,
            Err(e) => {
                issues.push(serde_issue(name, &e.to_string()));
                T::default()
            }
        },
    }
}

/// Turns a serde message into an issue naming the offending key where the message allows it.
fn serde_issue(section: &str, msg: &str) -> ConfigIssue {
    let msg = msg.trim().replace('\n', " ");
    // "unknown field `x`, expected one of ..." → key section.x
    if let Some(rest) = msg.strip_prefix("unknown field `") {
        if let Some(end) = rest.find('`') {
            let field = &rest[..end];
            return ConfigIssue {
                key: format!("{section}.{field}"),
                message: format!("unknown key; {}", rest[end + 1..].trim_start_matches(", ")),
            };
        }
    }
    ConfigIssue {
        key: section.to_string(),
        message: msg,
    }
}

fn apply_env_overrides(
    table: &mut toml::Table,
    vars: impl Iterator<Item = (String, String)>,
    issues: &mut Vec<ConfigIssue>,
) {
    for (k, v) in vars {
        let Some(rest) = k.strip_prefix(ENV_PREFIX) else {
            continue;
        };
        let parts: Vec<String> = rest.split("__").map(|p| p.to_ascii_lowercase()).collect();
        if parts.len() < 2 || parts.iter().any(String::is_empty) {
            issues.push(ConfigIssue {
                key: k.clone(),
                message: "environment override must look like LEADCRAWL__SECTION__KEY".into(),
            });
            continue;
        }
        let value: toml::Value = format!("x = {v}")
            .parse::<toml::Table>()
            .ok()
            .and_then(|mut t| t.remove("x"))
            .unwrap_or(toml::Value::String(v.clone()));
        let mut cur = &mut *table;
        for p in &parts[..parts.len() - 1] {
            let entry = cur
                .entry(p.clone())
                .or_insert_with(|| toml::Value::Table(Default::default()));
            match entry {
                toml::Value::Table(t) => cur = t,
                _ => {
                    issues.push(ConfigIssue {
                        key: parts.join("."),
                        message: format!("{k}: not a table"),
                    });
                    return;
                }
            }
        }
        cur.insert(parts[parts.len() - 1].clone(), value);
    }
}

impl Config {
    /// Loads, overrides from the environment, resolves paths and validates. Every problem is in
    /// the error, not just the first.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|e| ConfigError {
            path: path.to_path_buf(),
            issues: vec![ConfigIssue {
                key: "(file)".into(),
                message: format!(
                    "cannot read {}: {e}; pass --config PATH to a pipeline.toml",
                    path.display()
                ),
            }],
        })?;
        Self::from_str_at(&text, path, std::env::vars())
    }

    pub fn from_str_at(
        text: &str,
        path: &Path,
        env: impl Iterator<Item = (String, String)>,
    ) -> Result<Config, ConfigError> {
        let err = |issues| ConfigError {
            path: path.to_path_buf(),
            issues,
        };
        let mut table: toml::Table = text.parse().map_err(|e: toml::de::Error| {
            err(vec![ConfigIssue {
                key: "(syntax)".into(),
                message: e.to_string().trim().replace('\n', " "),
            }])
        })?;
        let mut issues = Vec::new();
        apply_env_overrides(&mut table, env, &mut issues);
        for key in table.keys() {
            if !SECTIONS.contains(&key.as_str()) {
                issues.push(ConfigIssue {
                    key: key.clone(),
                    message: format!("unknown section; expected one of {}", SECTIONS.join(", ")),
                });
            }
        }
        let abs = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
        let mut cfg = Config {
            pipeline: section(&table, "pipeline", &mut issues),
            state: section(&table, "state", &mut issues),
            ingest: section(&table, "ingest", &mut issues),
            crawl: section(&table, "crawl", &mut issues),
            extract: section(&table, "extract", &mut issues),
            registry: section(&table, "registry", &mut issues),
            embed: section(&table, "embed", &mut issues),
            evaluate: section(&table, "evaluate", &mut issues),
            score: section(&table, "score", &mut issues),
            base_dir: abs.parent().map(Path::to_path_buf).unwrap_or_default(),
            path: abs,
        };
        cfg.resolve_paths();
        issues.extend(cfg.validate());
        if issues.is_empty() {
            Ok(cfg)
        } else {
            Err(err(issues))
        }
    }

    fn resolve_paths(&mut self) {
        let base = self.base_dir.clone();
        // Collecting components drops `.` parts: `dir/.` is shown as `dir`.
        let abs = |p: &Path| -> PathBuf {
            let joined = if p.is_absolute() {
                p.to_path_buf()
            } else {
                base.join(p)
            };
            joined.components().collect()
        };
        self.pipeline.output_dir = abs(&self.pipeline.output_dir);
        if let Some(i) = &self.ingest.input {
            self.ingest.input = Some(abs(i));
        }
        for p in [&mut self.embed.model_dir, &mut self.embed.onnxruntime] {
            if let Some(path) = p.as_ref() {
                *p = (!path.as_os_str().is_empty()).then(|| abs(path));
            }
        }
    }

    /// Checks values; pure (no network, no reads beyond `stat`). Returns every issue found.
    pub fn validate(&self) -> Vec<ConfigIssue> {
        let mut v = Vec::new();
        let mut bad = |key: &str, message: String| {
            v.push(ConfigIssue {
                key: key.into(),
                message,
            })
        };
        if self.pipeline.output_dir.as_os_str().is_empty() {
            bad("pipeline.output_dir", "must not be empty".into());
        }
        if let Some(url) = &self.state.url {
            if let Some(pg) = self.state.postgres_url() {
                match pg.parse::<postgres::Config>() {
                    Err(e) => bad(
                        "state.url",
                        format!("not a PostgreSQL URL ({e}): postgres://user@host:port/database"),
                    ),
                    Ok(c) if c.get_password().is_some() => bad(
                        "state.url",
                        "holds a password; remove it from the file and set LEADCRAWL_PG_PASSWORD (or PGPASSWORD) in the environment".into(),
                    ),
                    Ok(_) => {}
                }
            } else if !url.starts_with("sqlite:") {
                bad(
                    "state.url",
                    format!(
                        "must be sqlite:PATH, postgres://user@host:port/database, or empty for output_dir/state.sqlite; got {url:?}"
                    ),
                );
            }
        }
        if !(self.state.lease_seconds.is_finite()
            && (2.0..=3600.0).contains(&self.state.lease_seconds))
        {
            bad(
                "state.lease_seconds",
                format!(
                    "must be between 2 and 3600 seconds, got {}",
                    self.state.lease_seconds
                ),
            );
        }
        // ingest
        let i = &self.ingest;
        match &i.input {
            None => bad(
                "ingest.input",
                "required: the path of your lead list (CSV or Parquet)".into(),
            ),
            Some(p) if p.is_dir() => bad(
                "ingest.input",
                format!(
                    "{} is a directory; give the path of the lead list file (CSV or Parquet)",
                    p.display()
                ),
            ),
            Some(p) if !p.is_file() => bad(
                "ingest.input",
                format!(
                    "file not found: {} (relative paths start at the config's folder)",
                    p.display()
                ),
            ),
            _ => {}
        }
        if i.batch_rows == 0 {
            bad("ingest.batch_rows", "must be at least 1, got 0".into());
        }
        if i.encoding != "auto" && encoding_rs::Encoding::for_label(i.encoding.as_bytes()).is_none()
        {
            bad(
                "ingest.encoding",
                format!(
                    "unknown encoding {:?}; use auto, utf-8, windows-1252, iso-8859-1, …",
                    i.encoding
                ),
            );
        }
        if crate::input::delimiter_from_config(&i.delimiter).is_none() {
            bad(
                "ingest.delimiter",
                format!(
                    "must be auto or one character such as \",\" \";\" \"\\t\", got {:?}",
                    i.delimiter
                ),
            );
        }
        let lower = |xs: &[String]| {
            xs.iter()
                .map(|s| s.trim().to_lowercase())
                .collect::<Vec<_>>()
        };
        let (won, lost) = (lower(&i.status.won), lower(&i.status.lost));
        for w in &won {
            if lost.contains(w) {
                bad(
                    "ingest.status",
                    format!("{w:?} is listed as both won and lost"),
                );
            }
        }
        // crawl
        let c = &self.crawl;
        if c.user_agent.trim().is_empty() {
            bad(
                "crawl.user_agent",
                "must not be empty: sites need to know who is crawling".into(),
            );
        }
        if !c.contact_url.is_empty() && url::Url::parse(&c.contact_url).is_err() {
            bad(
                "crawl.contact_url",
                format!(
                    "must be a URL (https://… or mailto:…), got {:?}",
                    c.contact_url
                ),
            );
        }
        if c.max_pages_per_site < 1 {
            bad(
                "crawl.max_pages_per_site",
                format!("must be at least 1, got {}", c.max_pages_per_site),
            );
        }
        if !(c.requests_per_second > 0.0 && c.requests_per_second.is_finite()) {
            bad(
                "crawl.requests_per_second",
                format!("must be greater than 0, got {}", c.requests_per_second),
            );
        }
        if c.burst < 1 {
            bad(
                "crawl.burst",
                format!("must be at least 1, got {}", c.burst),
            );
        }
        if c.concurrency < 1 {
            bad(
                "crawl.concurrency",
                format!("must be at least 1, got {}", c.concurrency),
            );
        }
        for (k, x) in [
            ("crawl.connect_timeout_secs", c.connect_timeout_secs),
            ("crawl.read_timeout_secs", c.read_timeout_secs),
            ("crawl.site_time_budget_secs", c.site_time_budget_secs),
            ("crawl.max_retry_wait_secs", c.max_retry_wait_secs),
        ] {
            if !(x > 0.0 && x.is_finite()) {
                bad(k, format!("must be a positive number of seconds, got {x}"));
            }
        }
        if c.max_body_bytes < 1024 {
            bad(
                "crawl.max_body_bytes",
                format!("must be at least 1024, got {}", c.max_body_bytes),
            );
        }
        if !(c.robots_retry_delay_secs >= 0.0 && c.robots_retry_delay_secs.is_finite()) {
            bad(
                "crawl.robots_retry_delay_secs",
                format!(
                    "must be zero or more seconds, got {}",
                    c.robots_retry_delay_secs
                ),
            );
        }
        if c.breaker_threshold < 1 {
            bad(
                "crawl.breaker_threshold",
                format!("must be at least 1, got {}", c.breaker_threshold),
            );
        }
        if c.part_rows < 1 {
            bad("crawl.part_rows", "must be at least 1, got 0".into());
        }
        if c.max_redirects > 20 {
            bad(
                "crawl.max_redirects",
                format!("must be at most 20, got {}", c.max_redirects),
            );
        }
        // extract
        let e = &self.extract;
        if !(e.template_share > 0.0 && e.template_share <= 1.0) {
            bad(
                "extract.template_share",
                format!(
                    "must be in (0, 1] (a share of a site's pages), got {}",
                    e.template_share
                ),
            );
        }
        if e.template_min_pages < 2 {
            bad(
                "extract.template_min_pages",
                format!(
                    "must be at least 2 (template is text shared by pages), got {}",
                    e.template_min_pages
                ),
            );
        }
        if e.part_leads < 1 {
            bad("extract.part_leads", "must be at least 1, got 0".into());
        }
        // embed
        let m = &self.embed;
        if m.batch_size < 1 {
            bad("embed.batch_size", "must be at least 1, got 0".into());
        }
        if m.part_leads < 1 {
            bad("embed.part_leads", "must be at least 1, got 0".into());
        }
        if m.threads > 256 {
            bad(
                "embed.threads",
                format!("must be at most 256 (0 = one per core), got {}", m.threads),
            );
        }
        // Sources: the lead's own texts and every page type.
        let sources: Vec<&str> = ["description", "notes"]
            .into_iter()
            .chain(enrich::pagetype::PageType::ALL.iter().map(|t| t.as_str()))
            .collect();
        for (k, w) in &m.weights {
            if !sources.contains(&k.as_str()) {
                bad(
                    &format!("embed.weights.{k}"),
                    format!("unknown source; expected one of {}", sources.join(", ")),
                );
            } else if !(w.is_finite() && *w >= 0.0) {
                bad(
                    &format!("embed.weights.{k}"),
                    format!("must be a number ≥ 0, got {w}"),
                );
            }
        }
        // evaluate
        let ev = &self.evaluate;
        if !(2..=50).contains(&ev.folds) {
            bad(
                "evaluate.folds",
                format!("must be in 2..=50, got {}", ev.folds),
            );
        }
        if !(ev.c > 0.0 && ev.c.is_finite()) {
            bad("evaluate.c", format!("must be a number > 0, got {}", ev.c));
        }
        if ev.min_df < 1 {
            bad("evaluate.min_df", "must be at least 1, got 0".into());
        }
        if ev.max_text_chars < 1 {
            bad(
                "evaluate.max_text_chars",
                "must be at least 1, got 0".into(),
            );
        }
        // score
        let sc = &self.score;
        for (key, v) in [
            ("score.route_at", sc.route_at),
            ("score.nurture_at", sc.nurture_at),
        ] {
            if !(0.0..=1.0).contains(&v) {
                bad(key, format!("must be a probability in [0, 1], got {v}"));
            }
        }
        if sc.nurture_at > sc.route_at {
            bad(
                "score.nurture_at",
                format!(
                    "must not exceed score.route_at ({}), got {}; lower it or raise route_at",
                    sc.route_at, sc.nurture_at
                ),
            );
        }
        if sc.similar > 50 {
            bad(
                "score.similar",
                format!("must be at most 50, got {}", sc.similar),
            );
        }
        if sc.drivers > 50 {
            bad(
                "score.drivers",
                format!("must be at most 50, got {}", sc.drivers),
            );
        }
        // registry
        let r = &self.registry;
        for (i, name) in r.registries.iter().enumerate() {
            if !REGISTRIES.contains(&name.as_str()) {
                bad(
                    &format!("registry.registries[{i}]"),
                    format!(
                        "unknown registry {name:?}; expected one of {}",
                        REGISTRIES.join(", ")
                    ),
                );
            }
        }
        for (key, url) in [
            ("registry.sirene_url", &r.sirene_url),
            ("registry.sec_url", &r.sec_url),
            ("registry.sec_tickers_url", &r.sec_tickers_url),
            ("registry.gleif_url", &r.gleif_url),
            ("registry.companies_house_url", &r.companies_house_url),
        ] {
            match url::Url::parse(url) {
                Ok(u) if matches!(u.scheme(), "http" | "https") => {}
                _ => bad(key, format!("must be an http(s) URL, got {url:?}")),
            }
        }
        for (key, rps) in [
            ("registry.sirene_rps", r.sirene_rps),
            ("registry.sec_rps", r.sec_rps),
            ("registry.gleif_rps", r.gleif_rps),
            ("registry.companies_house_rps", r.companies_house_rps),
        ] {
            if !(rps > 0.0 && rps <= 1000.0) {
                bad(
                    key,
                    format!("must be a rate in (0, 1000] requests per second, got {rps}"),
                );
            }
        }
        // Empty is allowed (the SEC is then skipped with a warning); a non-address is a mistake.
        if !r.contact_email.is_empty() && !r.contact_email.contains('@') {
            bad(
                "registry.contact_email",
                format!(
                    "must be an e-mail address (the SEC requires one in the User-Agent), got {:?}",
                    r.contact_email
                ),
            );
        }
        if !(r.cache_ttl_days.is_finite() && r.cache_ttl_days >= 0.0) {
            bad(
                "registry.cache_ttl_days",
                format!("must be zero or more days, got {}", r.cache_ttl_days),
            );
        }
        for (key, x) in [
            ("registry.accept_score", r.accept_score),
            ("registry.margin", r.margin),
            ("registry.website_id_min_name", r.website_id_min_name),
        ] {
            if !(0.0..=1.0).contains(&x) {
                bad(key, format!("must be in [0, 1], got {x}"));
            }
        }
        if !(r.timeout_secs > 0.0 && r.timeout_secs.is_finite()) {
            bad(
                "registry.timeout_secs",
                format!("must be more than 0 seconds, got {}", r.timeout_secs),
            );
        }
        if r.concurrency < 1 || r.concurrency > 256 {
            bad(
                "registry.concurrency",
                format!("must be in 1..=256, got {}", r.concurrency),
            );
        }
        if r.part_leads < 1 {
            bad("registry.part_leads", "must be at least 1, got 0".into());
        }
        if r.max_retries > 10 {
            bad(
                "registry.max_retries",
                format!("must be at most 10, got {}", r.max_retries),
            );
        }
        if e.workers > 256 {
            bad(
                "extract.workers",
                format!("must be at most 256 (0 = one per core), got {}", e.workers),
            );
        }
        v
    }

    pub fn output_dir(&self) -> &Path {
        &self.pipeline.output_dir
    }

    /// Where the state store lives.
    pub fn state_path(&self) -> PathBuf {
        match self
            .state
            .url
            .as_deref()
            .and_then(|u| u.strip_prefix("sqlite:"))
        {
            Some(p) => {
                let p = Path::new(p.trim_start_matches("//"));
                if p.is_absolute() {
                    p.to_path_buf()
                } else {
                    self.base_dir.join(p)
                }
            }
            None => self.output_dir().join("state.sqlite"),
        }
    }

    /// Stable hash of one section's resolved values (part of a stage's fingerprint).
    pub fn section_hash(&self, name: &str) -> String {
        let v = serde_json::to_value(self).unwrap_or_default();
        hash_json(v.get(name).unwrap_or(&serde_json::Value::Null))
    }

    /// Stable hash of the whole resolved config (written in every Parquet file's metadata).
    pub fn hash(&self) -> String {
        hash_json(&serde_json::to_value(self).unwrap_or_default())
    }
}

fn hash_json(v: &serde_json::Value) -> String {
    // serde_json maps are ordered (BTreeMap) unless preserve_order is on: stable.
    let s = serde_json::to_string(v).unwrap_or_default();
    short_hash(s.as_bytes())
}

/// First 16 hex digits of SHA-256: identifiers and fingerprints.
pub fn short_hash(bytes: &[u8]) -> String {
    let d = Sha256::digest(bytes);
    d.iter().take(8).map(|b| format!("{b:02x}")).collect()
}

/// The documented defaults as a map, for `leadcrawl config --defaults`-style output and tests.
pub fn defaults_json() -> BTreeMap<String, serde_json::Value> {
    let v = serde_json::to_value(Config::default()).unwrap_or_default();
    v.as_object()
        .map(|m| m.clone().into_iter().collect())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(text: &str, env: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let dir = std::env::temp_dir();
        let env = env
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect::<Vec<_>>();
        Config::from_str_at(text, &dir.join("p.toml"), env.into_iter())
    }

    #[test]
    fn reports_every_problem_with_its_key() {
        let e = load(
            "[crawl]\nmax_pages_per_site = 0\nburst = 0\n[ingest]\nbatch_rows = 0\n[bogus]\nx = 1\n",
            &[],
        )
        .unwrap_err();
        let text = e.to_string();
        for want in [
            "crawl.max_pages_per_site: must be at least 1, got 0",
            "crawl.burst: must be at least 1, got 0",
            "ingest.batch_rows: must be at least 1, got 0",
            "ingest.input: required",
            "bogus: unknown section",
        ] {
            assert!(text.contains(want), "missing {want:?} in:\n{text}");
        }
    }

    #[test]
    fn unknown_keys_in_two_sections_both_reported() {
        let e = load("[crawl]\nmax_page = 3\n[ingest]\ninptu = 'x'\n", &[]).unwrap_err();
        let keys: Vec<_> = e.issues.iter().map(|i| i.key.as_str()).collect();
        assert!(keys.contains(&"crawl.max_page"), "{keys:?}");
        assert!(keys.contains(&"ingest.inptu"), "{keys:?}");
    }

    #[test]
    fn env_overrides_and_relative_paths() {
        let e = load(
            "[ingest]\ninput = 'leads.csv'\n",
            &[("LEADCRAWL__CRAWL__MAX_DEPTH", "7")],
        )
        .unwrap_err();
        // input does not exist, but the override was applied and the path resolved
        assert!(e
            .to_string()
            .contains(&std::env::temp_dir().join("leads.csv").display().to_string()));
        let e = load("", &[("LEADCRAWL__CRAWL__MAX_DEPTH", "\"deep\"")]).unwrap_err();
        assert!(e.issues.iter().any(|i| i.key == "crawl"), "{e}");
    }
}
