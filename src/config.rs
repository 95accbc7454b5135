//! `pipeline.toml`: the one validated config that drives every stage.
//!
//! Loading happens in four steps, so that a user fixes a config in one pass:
//! 1. the file is parsed as TOML (a syntax error is reported with its line);
//! 2. overrides are applied: `LEADCRAWL__SECTION__KEY=value` from the environment, then
//!    `--set section.key=value` from the command line (values read as TOML, else a string);
//! 3. each section is read key by key against its defaults, so that a key of the wrong type or
//!    an unknown key is reported by name while the section's other keys still count;
//! 4. each section resolves its relative paths and "0 = automatic" values once, then checks
//!    its own ranges ([`Section::check`]); every problem names its key.
//!
//! A section also says which of its keys do not change what its stage writes
//! ([`Section::NOT_OUTPUT`]); every other key is in the stage's fingerprint
//! ([`Config::fingerprint`]). Secrets such as API keys are only ever read from the environment.
//! Relative paths resolve against the config file's folder.

use std::collections::BTreeMap;
use std::fmt;
use std::ops::RangeInclusive;
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
    /// The config as read despite the problems (keys in error keep their defaults), when the
    /// file parsed: `validate` still checks the input with it when `[ingest]` is sound.
    pub partial: Option<Box<Config>>,
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
    /// Largest share of a stage's units that may fail (dead websites, unanswered registries)
    /// for a run to still exit 0; above it, exit code 3.
    pub max_failed_share: f64,
}

impl Default for PipelineSection {
    fn default() -> Self {
        PipelineSection {
            output_dir: PathBuf::from("output"),
            max_failed_share: 0.2,
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
    /// The lead's date (its creation date in the CRM): enables the time split in `evaluate`.
    pub date: Option<String>,
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
    pub attributes: AttributeMap,
}

/// The input's other columns (not mapped to a lead field), kept as lead attributes.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AttributeMap {
    /// Keep only these columns (empty: every unmapped column).
    pub include: Vec<String>,
    /// Never keep these columns.
    pub exclude: Vec<String>,
    /// Column → `number`, `boolean`, `date` or `category`, instead of the inferred type.
    pub types: BTreeMap<String, String>,
}

/// The types an attribute can be read as.
pub const ATTRIBUTE_TYPES: &[&str] = &["number", "boolean", "date", "category"];

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
            attributes: AttributeMap::default(),
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
    /// A later run re-crawls (conditionally) the sites whose last crawl is older than this many
    /// days; 0: never on age.
    pub max_age_days: f64,
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
            max_age_days: 0.0,
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
    /// The model folder's graph to run; unset: int8 when the folder has an accepted int8
    /// variant, else fp32 (with a warning).
    pub precision: Option<EmbedPrecision>,
    pub device: EmbedDevice,
    /// Model sessions run at once on consecutive batches, sharing `threads` (each gets
    /// `threads / sessions` intra-op threads); 0: one per thread, at most [`AUTO_SESSIONS`].
    pub sessions: usize,
}

/// `embed.precision`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EmbedPrecision {
    Int8,
    Fp32,
}

/// `embed.device`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EmbedDevice {
    #[default]
    Cpu,
    Cuda,
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
            batch_size: 16,
            max_tokens: 0,
            part_leads: 200,
            weights,
            precision: None,
            device: EmbedDevice::Cpu,
            sessions: 0,
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
    /// Gradient tolerance of the logistic regressions' solver (scikit-learn's `tol`).
    pub tol: f64,
    /// TF-IDF: a term must appear in at least this many training documents.
    pub min_df: usize,
    /// Characters of text per lead for TF-IDF (description, notes, then pages).
    pub max_text_chars: usize,
    /// An attribute whose own out-of-fold ROC-AUC reaches this probably records the outcome:
    /// it is left out of every model (the leakage guard).
    pub leakage_auc: f64,
    /// Attributes (input headers or `attr_*` names) kept in the models despite the guard.
    pub keep_columns: Vec<String>,
    /// Attributes (input headers or `attr_*` names) to report the chosen model's metrics by,
    /// beside NACE section, headcount band and country.
    pub slices: Vec<String>,
    /// With a date column mapped (`ingest.columns.date`): the share of the dated labelled
    /// leads, the newest, that the time split tests on (the models train on the others).
    pub time_test_share: f64,
}

impl Default for EvaluateSection {
    fn default() -> Self {
        EvaluateSection {
            folds: 5,
            seed: 42,
            c: 1.0,
            tol: 1e-4,
            min_df: 2,
            max_text_chars: 20_000,
            leakage_auc: 0.90,
            keep_columns: Vec::new(),
            slices: Vec::new(),
            time_test_share: 0.2,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ScoreSection {
    /// Share of the open leads, best ranked first, routed to sales (tier `route`).
    pub route_share: f64,
    /// Share of the open leads after those nurtured (tier `nurture`); the rest is `drop`.
    pub nurture_share: f64,
    /// Tiers by probability instead: at or above this an open lead is routed to sales.
    pub route_at: Option<f64>,
    /// With `route_at`: at or above this a lead below `route_at` is nurtured.
    pub nurture_at: Option<f64>,
    /// Most similar won leads listed per scored lead.
    pub similar: usize,
    /// Features that moved the score most, listed per scored lead.
    pub drivers: usize,
    /// A model version (`models/<version>.json` in the output folder) to score with instead of
    /// refitting; the refitted model then runs beside it in shadow.
    pub model: Option<String>,
}

impl Default for ScoreSection {
    fn default() -> Self {
        ScoreSection {
            route_share: 0.10,
            nurture_share: 0.25,
            route_at: None,
            nurture_at: None,
            similar: 3,
            drivers: 5,
            model: None,
        }
    }
}

/// How a universe file is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum UniverseFormat {
    /// From the name: `.parquet`, `.zip`, else CSV.
    Auto,
    Csv,
    /// A zip archive holding one CSV (the form SIRENE and Companies House publish).
    Zip,
    Parquet,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct UniverseSection {
    /// Bulk registry files: SIRENE `StockUniteLegale` (CSV, zipped CSV or Parquet), Companies
    /// House `BasicCompanyData` (CSV or zipped CSV). Which registry is read from the header.
    pub files: Vec<PathBuf>,
    /// SIRENE `StockEtablissement` files: each legal unit takes its head office's postcode,
    /// city, region and country from them.
    pub establishments: Vec<PathBuf>,
    pub format: UniverseFormat,
    /// Keep only companies the registry says are active.
    pub active_only: bool,
    /// File rows per unit of work and per output part. It numbers the units, so it is part of
    /// the fingerprint: a change loads the files again.
    pub chunk_rows: usize,
}

impl Default for UniverseSection {
    fn default() -> Self {
        UniverseSection {
            files: Vec::new(),
            establishments: Vec::new(),
            format: UniverseFormat::Auto,
            active_only: true,
            chunk_rows: 500_000,
        }
    }
}

/// The features the prospects model can read (`prospects.exclude_features` names some of them).
pub const PROSPECT_FEATURES: &[&str] = &[
    "nace_section",
    "nace_division",
    "headcount_band",
    "headcount_min",
    "headcount_max",
    "age_years",
    "legal_form",
    "category",
    "employer",
    "region",
    "country",
];

/// `prospects.method` values.
pub const PROSPECT_METHODS: &[&str] = &["auto", "positive_unlabelled", "won_lost"];

/// The models the prospects stage can train (of `learn::MODELS`: firmographics only).
pub const PROSPECT_MODELS: &[&str] = &["logistic_firmographics", "gradient_boosted_trees"];

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ProspectsSection {
    /// Universe companies kept in `prospects.parquet`, best first.
    pub top: usize,
    /// The model: `logistic_firmographics` or `gradient_boosted_trees`.
    pub model: String,
    /// Features kept out of the model (e.g. `region`: "do not learn our current region").
    pub exclude_features: Vec<String>,
    /// Share of the clients held out before training, to validate the ranking on.
    pub holdout_share: f64,
    /// Unlabelled universe companies sampled as the background of positive-unlabelled learning.
    pub background: usize,
    /// `auto` (default), `positive_unlabelled` or `won_lost`: how the model is trained.
    pub method: String,
    /// `auto` with at least this many lost leads matched to the universe: won against lost is
    /// a candidate too, kept when it ranks the training clients better (inner validation).
    pub min_lost: usize,
    /// Seeds the hold-out, the background sample and the model.
    pub seed: u64,
    /// Inverse L2 regularisation strength of the logistic regression.
    pub c: f64,
    /// Features that moved each prospect's score most, listed per prospect.
    pub drivers: usize,
    /// Most similar clients listed per prospect.
    pub similar: usize,
}

impl Default for ProspectsSection {
    fn default() -> Self {
        ProspectsSection {
            top: 1000,
            model: "logistic_firmographics".into(),
            exclude_features: Vec::new(),
            holdout_share: 0.25,
            background: 20_000,
            method: "auto".into(),
            min_lost: 30,
            seed: 42,
            c: 1.0,
            drivers: 5,
            similar: 3,
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
    pub universe: UniverseSection,
    pub prospects: ProspectsSection,
    /// Folder of the config file: relative paths resolve against it.
    #[serde(skip)]
    pub base_dir: PathBuf,
    /// [`Config::hash`] as loaded, before "0 = automatic" values were resolved: the same file
    /// gives the same hash on machines with different numbers of cores.
    #[serde(skip)]
    pub loaded_hash: Option<String>,
    #[serde(skip)]
    pub path: PathBuf,
}

/// Known top-level sections, in file order.
pub const SECTIONS: &[&str] = &[
    "pipeline",
    "state",
    "ingest",
    "crawl",
    "extract",
    "registry",
    "embed",
    "evaluate",
    "score",
    "universe",
    "prospects",
];

/// Environment variable prefix for overrides: `LEADCRAWL__CRAWL__MAX_DEPTH=2`.
pub const ENV_PREFIX: &str = "LEADCRAWL__";

/// Every problem found in a config, collected so that all of them are reported in one pass.
#[derive(Debug, Default)]
pub struct Issues(Vec<ConfigIssue>);

impl Issues {
    pub fn add(&mut self, key: impl Into<String>, message: impl Into<String>) {
        self.0.push(ConfigIssue {
            key: key.into(),
            message: message.into(),
        });
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn into_vec(self) -> Vec<ConfigIssue> {
        self.0
    }
}

/// A number a range check can show: floats far from 1 in exponent form (`1e300`, not 301
/// digits), so that a message stays one readable line.
pub trait Shown: PartialOrd + Copy {
    fn show(self) -> String;
}

macro_rules! shown_int {
    ($($t:ty),*) => {$(impl Shown for $t {
        fn show(self) -> String {
            self.to_string()
        }
    })*};
}
shown_int!(u32, u64, usize);

impl Shown for f64 {
    fn show(self) -> String {
        let a = self.abs();
        if self.is_finite() && a != 0.0 && !(1e-4..1e9).contains(&a) {
            format!("{self:e}")
        } else {
            self.to_string()
        }
    }
}

/// Checks that `v` lies in `range` (a NaN never does); the message names the bounds.
pub fn in_range<T: Shown>(issues: &mut Issues, key: &str, v: T, range: RangeInclusive<T>) {
    in_range_of(issues, key, v, range, "");
}

/// [`in_range`] with what the number is (`"seconds"`, `"(0 = one per core)"`) in the message.
pub fn in_range_of<T: Shown>(
    issues: &mut Issues,
    key: &str,
    v: T,
    range: RangeInclusive<T>,
    what: &str,
) {
    if !range.contains(&v) {
        let what = if what.is_empty() {
            String::new()
        } else {
            format!(" {what}")
        };
        issues.add(
            key,
            format!(
                "must be between {} and {}{what}, got {}",
                range.start().show(),
                range.end().show(),
                v.show()
            ),
        );
    }
}

/// Largest value accepted for a count of rows or leads per part: bounds memory.
const MAX_PART: usize = 1_000_000;
/// Threads of a pool: `0` means one per core.
const MAX_THREADS: usize = 256;

/// One `[section]` of the config: it checks its own values and resolves its own defaults, and
/// says which of its keys do not change what its stage writes.
pub trait Section: Serialize + for<'de> Deserialize<'de> + Default {
    const NAME: &'static str;
    /// Keys that change how fast or how the work is cut, never the rows written (rates,
    /// timeouts, concurrency, part sizes). Every other key is part of the section's
    /// [`Config::fingerprint`], so a new key changes the fingerprint unless listed here.
    const NOT_OUTPUT: &'static [&'static str];
    /// Adds a problem to `issues` for every value out of its range.
    fn check(&self, issues: &mut Issues);
    /// Makes relative paths absolute (against `base`).
    fn resolve(&mut self, _base: &Path) {}
    /// Replaces "0 = automatic" values by what they mean on this machine, once, so that no
    /// stage resolves them again.
    fn resolve_auto(&mut self) {}
}

/// Absolute path of `p` against `base`; `.` parts dropped so that `dir/.` is shown as `dir`.
fn absolute(base: &Path, p: &Path) -> PathBuf {
    let joined = if p.is_absolute() {
        p.to_path_buf()
    } else {
        base.join(p)
    };
    joined.components().collect()
}

/// Threads for a `0 = one per core` setting.
fn per_core(n: usize) -> usize {
    match n {
        0 => std::thread::available_parallelism()
            .map_or(2, |n| n.get())
            .min(MAX_THREADS),
        n => n,
    }
}

impl Section for PipelineSection {
    const NAME: &'static str = "pipeline";
    const NOT_OUTPUT: &'static [&'static str] = &["output_dir", "max_failed_share"];

    fn check(&self, issues: &mut Issues) {
        if self.output_dir.as_os_str().is_empty() {
            issues.add("pipeline.output_dir", "must not be empty");
        }
        in_range_of(
            issues,
            "pipeline.max_failed_share",
            self.max_failed_share,
            0.0..=1.0,
            "(a share of a stage's units; 0: any failed unit gives exit code 3)",
        );
    }

    fn resolve(&mut self, base: &Path) {
        if !self.output_dir.as_os_str().is_empty() {
            self.output_dir = absolute(base, &self.output_dir);
        }
    }
}

impl Section for StateSection {
    const NAME: &'static str = "state";
    const NOT_OUTPUT: &'static [&'static str] = &["url", "lease_seconds"];

    fn check(&self, issues: &mut Issues) {
        if let Some(url) = &self.url {
            if let Some(pg) = self.postgres_url() {
                match pg.parse::<postgres::Config>() {
                    Err(e) => issues.add(
                        "state.url",
                        format!("not a PostgreSQL URL ({e}): postgres://user@host:port/database"),
                    ),
                    Ok(c) if c.get_password().is_some() => issues.add(
                        "state.url",
                        "holds a password; remove it from the file and set LEADCRAWL_PG_PASSWORD (or PGPASSWORD) in the environment",
                    ),
                    Ok(_) => {}
                }
            } else if !url.starts_with("sqlite:") {
                issues.add(
                    "state.url",
                    format!(
                        "must be sqlite:PATH, postgres://user@host:port/database, or empty for output_dir/state.sqlite; got {url:?}"
                    ),
                );
            }
        }
        in_range_of(
            issues,
            "state.lease_seconds",
            self.lease_seconds,
            2.0..=3600.0,
            "seconds",
        );
    }
}

impl Section for IngestSection {
    const NAME: &'static str = "ingest";
    // `batch_rows` is not a mere part size here: it numbers the stage's units, so a change
    // must start the stage over rather than resume it with other units.
    const NOT_OUTPUT: &'static [&'static str] = &[];

    fn check(&self, issues: &mut Issues) {
        match &self.input {
            None => issues.add(
                "ingest.input",
                "required: the path of your lead list (CSV or Parquet)",
            ),
            Some(p) if p.is_dir() => issues.add(
                "ingest.input",
                format!(
                    "{} is a directory; give the path of the lead list file (CSV or Parquet)",
                    p.display()
                ),
            ),
            Some(p) if !p.is_file() => issues.add(
                "ingest.input",
                format!(
                    "file not found: {} (relative paths start at the config's folder)",
                    p.display()
                ),
            ),
            _ => {}
        }
        in_range(issues, "ingest.batch_rows", self.batch_rows, 1..=MAX_PART);
        for (column, ty) in &self.attributes.types {
            if !ATTRIBUTE_TYPES.contains(&ty.as_str()) {
                issues.add(
                    "ingest.attributes.types",
                    format!(
                        "{column:?} = {ty:?}: the type must be one of {}",
                        ATTRIBUTE_TYPES.join(", ")
                    ),
                );
            }
        }
        if self.encoding != "auto"
            && encoding_rs::Encoding::for_label(self.encoding.as_bytes()).is_none()
        {
            issues.add(
                "ingest.encoding",
                format!(
                    "unknown encoding {:?}; use auto, utf-8, windows-1252, iso-8859-1, …",
                    self.encoding
                ),
            );
        }
        if delimiter_from_config(&self.delimiter).is_none() {
            issues.add(
                "ingest.delimiter",
                format!(
                    "must be auto or one character such as \",\" \";\" \"\\t\", got {:?}",
                    self.delimiter
                ),
            );
        }
        let lower = |xs: &[String]| {
            xs.iter()
                .map(|s| s.trim().to_lowercase())
                .collect::<Vec<_>>()
        };
        let (won, lost) = (lower(&self.status.won), lower(&self.status.lost));
        for w in &won {
            if lost.contains(w) {
                issues.add(
                    "ingest.status",
                    format!("{w:?} is listed as both won and lost"),
                );
            }
        }
    }

    fn resolve(&mut self, base: &Path) {
        if let Some(i) = &self.input {
            self.input = Some(absolute(base, i));
        }
    }
}

impl Section for CrawlSection {
    const NAME: &'static str = "crawl";
    // The contact URL only tells site owners who is crawling; the pages fetched are the same.
    const NOT_OUTPUT: &'static [&'static str] = &[
        "contact_url",
        "requests_per_second",
        "burst",
        "concurrency",
        "connect_timeout_secs",
        "read_timeout_secs",
        "retry_base_ms",
        "max_retry_wait_secs",
        "robots_retry_delay_secs",
        "part_rows",
        // The route requests take, not what they fetch.
        "proxy",
        // When sites are fetched again, not how: a refresh replaces only the aged sites' rows.
        "max_age_days",
    ];

    fn check(&self, issues: &mut Issues) {
        if self.user_agent.trim().is_empty() {
            issues.add(
                "crawl.user_agent",
                "must not be empty: sites need to know who is crawling",
            );
        }
        if let Err(e) = crawler::parse_proxy(&self.proxy) {
            issues.add("crawl.proxy", e.to_string());
        }
        if !self.contact_url.is_empty() && url::Url::parse(&self.contact_url).is_err() {
            issues.add(
                "crawl.contact_url",
                format!(
                    "must be a URL (https://… or mailto:…), got {:?}",
                    self.contact_url
                ),
            );
        }
        let i = issues;
        in_range(
            i,
            "crawl.max_pages_per_site",
            self.max_pages_per_site,
            1..=100_000,
        );
        in_range(i, "crawl.max_depth", self.max_depth, 0..=100);
        // Below one request per 1000 s a site's crawl would take days: a typo, not a plan.
        in_range_of(
            i,
            "crawl.requests_per_second",
            self.requests_per_second,
            0.001..=1e6,
            "requests per second per host",
        );
        in_range(i, "crawl.burst", self.burst, 1..=1000);
        in_range(i, "crawl.concurrency", self.concurrency, 1..=100_000);
        for (key, v, range) in [
            (
                "crawl.connect_timeout_secs",
                self.connect_timeout_secs,
                0.1..=600.0,
            ),
            (
                "crawl.read_timeout_secs",
                self.read_timeout_secs,
                0.1..=3600.0,
            ),
            (
                "crawl.site_time_budget_secs",
                self.site_time_budget_secs,
                0.1..=86_400.0,
            ),
            (
                "crawl.max_retry_wait_secs",
                self.max_retry_wait_secs,
                0.001..=3600.0,
            ),
            (
                "crawl.robots_retry_delay_secs",
                self.robots_retry_delay_secs,
                0.0..=86_400.0,
            ),
        ] {
            in_range_of(i, key, v, range, "seconds");
        }
        in_range_of(
            i,
            "crawl.max_body_bytes",
            self.max_body_bytes,
            1024..=1 << 30,
            "bytes",
        );
        in_range(i, "crawl.max_redirects", self.max_redirects, 0..=20);
        in_range(i, "crawl.max_retries", self.max_retries, 0..=20);
        in_range_of(
            i,
            "crawl.retry_base_ms",
            self.retry_base_ms,
            0..=600_000,
            "milliseconds",
        );
        in_range(
            i,
            "crawl.breaker_threshold",
            self.breaker_threshold,
            1..=1000,
        );
        in_range(i, "crawl.robots_retries", self.robots_retries, 0..=100);
        in_range(i, "crawl.max_sitemaps", self.max_sitemaps, 0..=1000);
        in_range(i, "crawl.part_rows", self.part_rows, 1..=MAX_PART);
        in_range_of(
            i,
            "crawl.max_age_days",
            self.max_age_days,
            0.0..=36_500.0,
            "days (0: never re-crawl on age)",
        );
    }
}

impl Section for ExtractSection {
    const NAME: &'static str = "extract";
    const NOT_OUTPUT: &'static [&'static str] = &["part_leads", "workers"];

    fn check(&self, issues: &mut Issues) {
        if !(self.template_share > 0.0 && self.template_share <= 1.0) {
            issues.add(
                "extract.template_share",
                format!(
                    "must be in (0, 1] (a share of a site's pages), got {}",
                    self.template_share.show()
                ),
            );
        }
        in_range_of(
            issues,
            "extract.template_min_pages",
            self.template_min_pages,
            2..=100_000,
            "pages (template is text shared by pages)",
        );
        in_range(issues, "extract.part_leads", self.part_leads, 1..=MAX_PART);
        in_range_of(
            issues,
            "extract.workers",
            self.workers,
            0..=MAX_THREADS,
            "(0 = one per core)",
        );
    }

    fn resolve_auto(&mut self) {
        self.workers = per_core(self.workers);
    }
}

impl Section for RegistrySection {
    const NAME: &'static str = "registry";
    // The e-mail and the key's variable are not in the fingerprint as such: the stage adds
    // whether each is there, which is what changes the answers (the SEC or Companies House
    // asked or skipped).
    const NOT_OUTPUT: &'static [&'static str] = &[
        "sirene_rps",
        "sec_rps",
        "gleif_rps",
        "companies_house_rps",
        "contact_email",
        "companies_house_key_env",
        "cache_ttl_days",
        "timeout_secs",
        "max_retries",
        "concurrency",
        "part_leads",
        "allow_private_networks",
    ];

    fn check(&self, issues: &mut Issues) {
        for (i, name) in self.registries.iter().enumerate() {
            if !REGISTRIES.contains(&name.as_str()) {
                issues.add(
                    format!("registry.registries[{i}]"),
                    format!(
                        "unknown registry {name:?}; expected one of {}",
                        REGISTRIES.join(", ")
                    ),
                );
            }
        }
        for (key, url) in [
            ("registry.sirene_url", &self.sirene_url),
            ("registry.sec_url", &self.sec_url),
            ("registry.sec_tickers_url", &self.sec_tickers_url),
            ("registry.gleif_url", &self.gleif_url),
            ("registry.companies_house_url", &self.companies_house_url),
        ] {
            match url::Url::parse(url) {
                Ok(u) if matches!(u.scheme(), "http" | "https") => {}
                _ => issues.add(key, format!("must be an http(s) URL, got {url:?}")),
            }
        }
        for (key, rps) in [
            ("registry.sirene_rps", self.sirene_rps),
            ("registry.sec_rps", self.sec_rps),
            ("registry.gleif_rps", self.gleif_rps),
            ("registry.companies_house_rps", self.companies_house_rps),
        ] {
            in_range_of(issues, key, rps, 0.001..=1000.0, "requests per second");
        }
        // Empty is allowed (the SEC is then skipped with a warning); a non-address is a mistake.
        if !self.contact_email.is_empty() && !self.contact_email.contains('@') {
            issues.add(
                "registry.contact_email",
                format!(
                    "must be an e-mail address (the SEC requires one in the User-Agent), got {:?}",
                    self.contact_email
                ),
            );
        }
        if self.companies_house_key_env.trim().is_empty() {
            issues.add(
                "registry.companies_house_key_env",
                "must name an environment variable (COMPANIES_HOUSE_API_KEY by default)",
            );
        }
        in_range_of(
            issues,
            "registry.cache_ttl_days",
            self.cache_ttl_days,
            0.0..=36_500.0,
            "days",
        );
        for (key, x) in [
            ("registry.accept_score", self.accept_score),
            ("registry.margin", self.margin),
            ("registry.website_id_min_name", self.website_id_min_name),
        ] {
            in_range(issues, key, x, 0.0..=1.0);
        }
        in_range(
            issues,
            "registry.keep_candidates",
            self.keep_candidates,
            0..=100,
        );
        in_range_of(
            issues,
            "registry.timeout_secs",
            self.timeout_secs,
            0.1..=3600.0,
            "seconds",
        );
        in_range(issues, "registry.max_retries", self.max_retries, 0..=10);
        in_range(issues, "registry.concurrency", self.concurrency, 1..=256);
        in_range(issues, "registry.part_leads", self.part_leads, 1..=MAX_PART);
    }
}

impl Section for EmbedSection {
    const NAME: &'static str = "embed";
    // The model's own id is added by the stage (two folders may hold the same model), and so is
    // the precision an unset `precision` resolves to. The device is not output: CUDA's fp32
    // vectors equal the CPU's within float rounding (a different summation order), far closer
    // than anything downstream can tell, and a run moved between machines must not re-embed.
    const NOT_OUTPUT: &'static [&'static str] = &[
        "model_dir",
        "onnxruntime",
        "threads",
        "batch_size",
        "part_leads",
        "device",
        "sessions",
    ];

    fn check(&self, issues: &mut Issues) {
        in_range_of(
            issues,
            "embed.threads",
            self.threads,
            0..=MAX_THREADS,
            "(0 = one per core)",
        );
        in_range(issues, "embed.batch_size", self.batch_size, 1..=4096);
        in_range_of(
            issues,
            "embed.sessions",
            self.sessions,
            0..=64,
            "(0 = one per thread, at most 4)",
        );
        // A chunk needs room for the special tokens and the title line besides its text.
        if self.max_tokens != 0 && !(16..=8192).contains(&self.max_tokens) {
            issues.add(
                "embed.max_tokens",
                format!(
                    "must be 0 (the model's maximum) or between 16 and 8192 tokens, got {}",
                    self.max_tokens
                ),
            );
        }
        in_range(issues, "embed.part_leads", self.part_leads, 1..=MAX_PART);
        // Sources: the lead's own texts and every page type.
        let sources: Vec<&str> = ["description", "notes"]
            .into_iter()
            .chain(enrich::pagetype::PageType::ALL.iter().map(|t| t.as_str()))
            .collect();
        for (k, w) in &self.weights {
            let key = format!("embed.weights.{k}");
            if !sources.contains(&k.as_str()) {
                issues.add(
                    key,
                    format!("unknown source; expected one of {}", sources.join(", ")),
                );
            } else {
                in_range(issues, &key, *w, 0.0..=1000.0);
            }
        }
    }

    fn resolve(&mut self, base: &Path) {
        for p in [&mut self.model_dir, &mut self.onnxruntime] {
            if let Some(path) = p.as_ref() {
                *p = (!path.as_os_str().is_empty()).then(|| absolute(base, path));
            }
        }
    }

    fn resolve_auto(&mut self) {
        self.threads = per_core(self.threads);
        if self.sessions == 0 {
            self.sessions = self.threads.clamp(1, AUTO_SESSIONS);
        }
    }
}

/// Most sessions `embed.sessions = 0` starts: each holds one batch's activations (about 250 MiB
/// for 16 texts of 256 tokens with all-MiniLM-L6-v2), so memory grows with them; past a few,
/// more intra-op threads per session serve as well.
pub const AUTO_SESSIONS: usize = 4;

impl Section for EvaluateSection {
    const NAME: &'static str = "evaluate";
    const NOT_OUTPUT: &'static [&'static str] = &[];

    fn check(&self, issues: &mut Issues) {
        in_range(issues, "evaluate.folds", self.folds, 2..=50);
        in_range(issues, "evaluate.c", self.c, 1e-6..=1e6);
        in_range(issues, "evaluate.tol", self.tol, 1e-12..=1e-1);
        in_range(issues, "evaluate.min_df", self.min_df, 1..=1_000_000);
        in_range(issues, "evaluate.leakage_auc", self.leakage_auc, 0.5..=1.0);
        in_range_of(
            issues,
            "evaluate.time_test_share",
            self.time_test_share,
            0.05..=0.5,
            "(a share of the dated labelled leads)",
        );
        in_range_of(
            issues,
            "evaluate.max_text_chars",
            self.max_text_chars,
            1..=10_000_000,
            "characters",
        );
    }
}

impl Section for ProspectsSection {
    const NAME: &'static str = "prospects";
    const NOT_OUTPUT: &'static [&'static str] = &[];

    fn check(&self, issues: &mut Issues) {
        in_range(issues, "prospects.top", self.top, 1..=1_000_000);
        if !PROSPECT_MODELS.contains(&self.model.as_str()) {
            issues.add(
                "prospects.model",
                format!(
                    "unknown model {:?}; expected one of {}",
                    self.model,
                    PROSPECT_MODELS.join(", ")
                ),
            );
        }
        if !PROSPECT_METHODS.contains(&self.method.as_str()) {
            issues.add(
                "prospects.method",
                format!(
                    "unknown method {:?}; expected one of {}",
                    self.method,
                    PROSPECT_METHODS.join(", ")
                ),
            );
        }
        for f in &self.exclude_features {
            if !PROSPECT_FEATURES.contains(&f.as_str()) {
                issues.add(
                    "prospects.exclude_features",
                    format!(
                        "unknown feature {f:?}; the model's features are {}",
                        PROSPECT_FEATURES.join(", ")
                    ),
                );
            }
        }
        if PROSPECT_FEATURES
            .iter()
            .all(|f| self.exclude_features.iter().any(|e| e == f))
        {
            issues.add(
                "prospects.exclude_features",
                "excludes every feature: the model would have nothing to learn from",
            );
        }
        in_range_of(
            issues,
            "prospects.holdout_share",
            self.holdout_share,
            0.0..=0.5,
            "(a share of the clients; 0: no validation)",
        );
        in_range(
            issues,
            "prospects.background",
            self.background,
            100..=MAX_PART,
        );
        in_range(issues, "prospects.min_lost", self.min_lost, 1..=1_000_000);
        in_range_of(issues, "prospects.c", self.c, 1e-6..=1e6, "");
        in_range(issues, "prospects.drivers", self.drivers, 0..=50);
        in_range(issues, "prospects.similar", self.similar, 0..=50);
    }
}

impl Section for ScoreSection {
    const NAME: &'static str = "score";
    const NOT_OUTPUT: &'static [&'static str] = &[];

    fn check(&self, issues: &mut Issues) {
        in_range_of(
            issues,
            "score.route_share",
            self.route_share,
            0.0..=1.0,
            "(a share of the open leads)",
        );
        in_range_of(
            issues,
            "score.nurture_share",
            self.nurture_share,
            0.0..=1.0,
            "(a share of the open leads)",
        );
        if self.route_share + self.nurture_share > 1.0 + 1e-9 {
            issues.add(
                "score.nurture_share",
                format!(
                    "route_share + nurture_share must not exceed 1, got {} + {}",
                    self.route_share, self.nurture_share
                ),
            );
        }
        for (key, v) in [
            ("score.route_at", self.route_at),
            ("score.nurture_at", self.nurture_at),
        ] {
            if let Some(v) = v {
                in_range_of(issues, key, v, 0.0..=1.0, "(a probability)");
            }
        }
        match (self.route_at, self.nurture_at) {
            (Some(r), Some(n)) if n > r => issues.add(
                "score.nurture_at",
                format!(
                    "must not exceed score.route_at ({r}), got {n}; lower it or raise route_at"
                ),
            ),
            (Some(_), None) | (None, Some(_)) => issues.add(
                if self.route_at.is_none() {
                    "score.route_at"
                } else {
                    "score.nurture_at"
                },
                "tiers by probability need both score.route_at and score.nurture_at (or neither, for tiers by share)",
            ),
            _ => {}
        }
        in_range(issues, "score.similar", self.similar, 0..=50);
        in_range(issues, "score.drivers", self.drivers, 0..=50);
        if let Some(v) = &self.model {
            if v.len() != 16
                || !v
                    .bytes()
                    .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
            {
                issues.add(
                    "score.model",
                    format!(
                        "{v:?} is not a model version (16 lowercase hex digits, the name of a file in the output folder's models/, as logged and in scores.parquet's leadcrawl.model_version); remove the key to refit"
                    ),
                );
            }
        }
    }
}

impl Section for UniverseSection {
    const NAME: &'static str = "universe";
    // `chunk_rows` numbers the stage's units (as `ingest.batch_rows` does): in the fingerprint.
    const NOT_OUTPUT: &'static [&'static str] = &[];

    fn check(&self, issues: &mut Issues) {
        let listed = self
            .files
            .iter()
            .enumerate()
            .map(|(i, p)| (format!("universe.files[{i}]"), p))
            .chain(
                self.establishments
                    .iter()
                    .enumerate()
                    .map(|(i, p)| (format!("universe.establishments[{i}]"), p)),
            );
        for (key, p) in listed {
            if p.is_dir() {
                issues.add(
                    key,
                    format!(
                        "{} is a directory; name the bulk file itself (StockUniteLegale_utf8.zip, BasicCompanyDataAsOneFile-….zip, …)",
                        p.display()
                    ),
                );
            } else if !p.is_file() {
                issues.add(
                    key,
                    format!(
                        "file not found: {} (relative paths start at the config's folder)",
                        p.display()
                    ),
                );
            }
        }
        for (i, p) in self.files.iter().enumerate() {
            if self.files[..i].contains(p) {
                issues.add(
                    format!("universe.files[{i}]"),
                    format!("{} is listed twice; list each file once", p.display()),
                );
            }
        }
        in_range(issues, "universe.chunk_rows", self.chunk_rows, 1..=MAX_PART);
    }

    fn resolve(&mut self, base: &Path) {
        for f in self.files.iter_mut().chain(self.establishments.iter_mut()) {
            *f = absolute(base, f);
        }
    }
}

/// Where an override came from, to say so next to a problem it caused.
struct Override {
    /// Dotted key: `crawl.max_pages_per_site`.
    key: String,
    /// `--set crawl.max_pages_per_site=2` or `LEADCRAWL__CRAWL__MAX_PAGES_PER_SITE`.
    origin: String,
}

/// A value given on the command line or in the environment: TOML if it parses as a TOML value
/// (`2`, `1.5`, `true`, `"x"`, `["a", "b"]`, `{ home = 2.0 }`), else the text as a string.
fn override_value(text: &str) -> toml::Value {
    format!("x = {text}")
        .parse::<toml::Table>()
        .ok()
        .and_then(|mut t| t.remove("x"))
        .unwrap_or_else(|| toml::Value::String(text.to_string()))
}

/// Sets `parts` (a dotted key split) in `table` to `value`, making tables on the way.
fn set_path(table: &mut toml::Table, parts: &[String], value: toml::Value) -> Result<(), String> {
    let (last, parents) = parts.split_last().ok_or("empty key")?;
    let mut cur = table;
    for (n, p) in parents.iter().enumerate() {
        let entry = cur
            .entry(p.clone())
            .or_insert_with(|| toml::Value::Table(Default::default()));
        match entry {
            toml::Value::Table(t) => cur = t,
            _ => return Err(format!("{} is not a table", parts[..=n].join("."))),
        }
    }
    cur.insert(last.clone(), value);
    Ok(())
}

fn apply_env_overrides(
    table: &mut toml::Table,
    vars: impl Iterator<Item = (String, String)>,
    issues: &mut Issues,
    origins: &mut Vec<Override>,
) {
    for (k, v) in vars {
        let Some(rest) = k.strip_prefix(ENV_PREFIX) else {
            continue;
        };
        let parts: Vec<String> = rest.split("__").map(|p| p.to_ascii_lowercase()).collect();
        if parts.len() < 2 || parts.iter().any(String::is_empty) {
            issues.add(
                k.clone(),
                "environment override must look like LEADCRAWL__SECTION__KEY",
            );
            continue;
        }
        let key = parts.join(".");
        match set_path(table, &parts, override_value(&v)) {
            Ok(()) => origins.push(Override { key, origin: k }),
            Err(e) => issues.add(key, format!("{k}: {e}")),
        }
    }
}

/// Applies `--set section.key=value` overrides, after the file and the environment.
fn apply_sets(
    table: &mut toml::Table,
    sets: &[String],
    issues: &mut Issues,
    origins: &mut Vec<Override>,
) {
    for s in sets {
        let Some((key, value)) = s.split_once('=') else {
            issues.add(
                format!("--set {s}"),
                "must look like section.key=value, e.g. --set crawl.max_pages_per_site=5",
            );
            continue;
        };
        let key = key.trim();
        let parts: Vec<String> = key.split('.').map(str::to_string).collect();
        if parts.len() < 2 || parts.iter().any(String::is_empty) {
            issues.add(
                format!("--set {s}"),
                "the key must be section.key, e.g. --set crawl.max_pages_per_site=5",
            );
            continue;
        }
        match set_path(table, &parts, override_value(value.trim())) {
            Ok(()) => origins.push(Override {
                key: key.to_string(),
                origin: format!("--set {s}"),
            }),
            Err(e) => issues.add(key, format!("--set {s}: {e}")),
        }
    }
}

/// A serde message made readable: the Rust type names replaced by what a user writes.
fn readable(msg: &str) -> String {
    let mut m = msg.trim().replace('\n', " ");
    for (rust, user) in [
        ("expected u32", "expected a whole number ≥ 0"),
        ("expected u64", "expected a whole number ≥ 0"),
        ("expected usize", "expected a whole number ≥ 0"),
        ("expected f64", "expected a number"),
        ("expected a string", "expected a string (in quotes)"),
    ] {
        m = m.replace(rust, user);
    }
    m
}

/// Reads section `S` from the file's table key by key: each key is tried on its own against
/// what was accepted so far, so that a key of the wrong type or an unknown key is reported by
/// name while every other key still counts (and is range-checked). Nested tables (`columns`,
/// `status`, `weights`) merge key by key into their defaults.
fn read_section<S: Section>(table: &toml::Table, issues: &mut Issues) -> S {
    let Some(given) = table.get(S::NAME) else {
        return S::default();
    };
    let toml::Value::Table(given) = given else {
        issues.add(
            S::NAME,
            format!("must be a table: a [{}] section with keys", S::NAME),
        );
        return S::default();
    };
    let mut accepted = serde_json::to_value(S::default()).unwrap_or_default();
    merge_keys::<S>(&mut accepted, &mut Vec::new(), given, issues);
    match serde_json::from_value(accepted) {
        Ok(s) => s,
        Err(e) => {
            // Not expected (every accepted key was tried), but never a panic on input.
            issues.add(S::NAME, readable(&e.to_string()));
            S::default()
        }
    }
}

fn merge_keys<S: Section>(
    accepted: &mut serde_json::Value,
    path: &mut Vec<String>,
    given: &toml::Table,
    issues: &mut Issues,
) {
    for (k, v) in given {
        path.push(k.clone());
        let dotted = format!("{}.{}", S::NAME, path.join("."));
        let current = path
            .iter()
            .try_fold(&*accepted, |node, p| node.get(p.as_str()));
        match (current, v) {
            (Some(serde_json::Value::Object(_)), toml::Value::Table(t)) => {
                merge_keys::<S>(accepted, path, t, issues)
            }
            // JSON has no infinity nor NaN: say so here rather than "expected f64, got null".
            (_, toml::Value::Float(f)) if !f.is_finite() => {
                issues.add(dotted, format!("must be a finite number, got {f}"))
            }
            _ => {
                let mut trial = accepted.clone();
                let value = serde_json::to_value(v).unwrap_or_default();
                if let Some(slot) = path.iter().try_fold(&mut trial, |node, p| {
                    node.as_object_mut()
                        .map(|m| m.entry(p.clone()).or_insert(serde_json::Value::Null))
                }) {
                    *slot = value;
                }
                match S::deserialize(&trial) {
                    Ok(_) => *accepted = trial,
                    Err(e) => issues.add(dotted, key_message(&e.to_string())),
                }
            }
        }
        path.pop();
    }
}

/// The message for one key that did not deserialize.
fn key_message(msg: &str) -> String {
    let msg = readable(msg);
    // "unknown field `x`, expected one of ..." → "unknown key; expected one of ..."
    if let Some(rest) = msg.strip_prefix("unknown field `") {
        if let Some(end) = rest.find('`') {
            return format!("unknown key; {}", rest[end + 1..].trim_start_matches(", "));
        }
    }
    msg
}

impl Config {
    /// Loads, overrides from the environment, resolves paths and defaults, and validates.
    /// Every problem is in the error, not just the first.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        Self::load_with(path, &[])
    }

    /// [`Config::load`] with `--set section.key=value` overrides, applied last.
    pub fn load_with(path: &Path, sets: &[String]) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|e| ConfigError {
            path: path.to_path_buf(),
            partial: None,
            issues: vec![ConfigIssue {
                key: "(file)".into(),
                message: format!(
                    "cannot read {}: {e}; pass --config PATH (or set LEADCRAWL_CONFIG) to a pipeline.toml",
                    path.display()
                ),
            }],
        })?;
        Self::from_str_at(&text, path, std::env::vars(), sets)
    }

    pub fn from_str_at(
        text: &str,
        path: &Path,
        env: impl Iterator<Item = (String, String)>,
        sets: &[String],
    ) -> Result<Config, ConfigError> {
        let err = |issues, partial| ConfigError {
            path: path.to_path_buf(),
            issues,
            partial,
        };
        let mut table: toml::Table = text.parse().map_err(|e: toml::de::Error| {
            err(
                vec![ConfigIssue {
                    key: "(syntax)".into(),
                    message: e.to_string().trim().replace('\n', " "),
                }],
                None,
            )
        })?;
        let mut issues = Issues::default();
        let mut origins = Vec::new();
        apply_env_overrides(&mut table, env, &mut issues, &mut origins);
        apply_sets(&mut table, sets, &mut issues, &mut origins);
        for key in table.keys() {
            if !SECTIONS.contains(&key.as_str()) {
                issues.add(
                    key.clone(),
                    format!("unknown section; expected one of {}", SECTIONS.join(", ")),
                );
            }
        }
        let abs = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
        let mut cfg = Config {
            pipeline: read_section(&table, &mut issues),
            state: read_section(&table, &mut issues),
            ingest: read_section(&table, &mut issues),
            crawl: read_section(&table, &mut issues),
            extract: read_section(&table, &mut issues),
            registry: read_section(&table, &mut issues),
            embed: read_section(&table, &mut issues),
            evaluate: read_section(&table, &mut issues),
            score: read_section(&table, &mut issues),
            universe: read_section(&table, &mut issues),
            prospects: read_section(&table, &mut issues),
            base_dir: abs.parent().map(Path::to_path_buf).unwrap_or_default(),
            loaded_hash: None,
            path: abs,
        };
        cfg.resolve();
        cfg.loaded_hash = Some(cfg.hash());
        cfg.resolve_auto();
        let mut issues = issues.into_vec();
        issues.extend(cfg.validate());
        // Say where an override came from, next to the problem it caused.
        for issue in &mut issues {
            if let Some(o) = origins.iter().rev().find(|o| {
                o.key == issue.key
                    || o.key.starts_with(&format!("{}.", issue.key))
                    || issue.key.starts_with(&format!("{}.", o.key))
                    || issue.key.starts_with(&format!("{}[", o.key))
            }) {
                issue.message = format!("{} (from {})", issue.message, o.origin);
            }
        }
        if issues.is_empty() {
            Ok(cfg)
        } else {
            Err(err(issues, Some(Box::new(cfg))))
        }
    }

    /// Resolves every section's relative paths.
    fn resolve(&mut self) {
        let base = self.base_dir.clone();
        self.pipeline.resolve(&base);
        self.state.resolve(&base);
        self.ingest.resolve(&base);
        self.crawl.resolve(&base);
        self.extract.resolve(&base);
        self.registry.resolve(&base);
        self.embed.resolve(&base);
        self.evaluate.resolve(&base);
        self.score.resolve(&base);
        self.universe.resolve(&base);
        self.prospects.resolve(&base);
    }

    /// Resolves every section's automatic values, once.
    fn resolve_auto(&mut self) {
        self.pipeline.resolve_auto();
        self.state.resolve_auto();
        self.ingest.resolve_auto();
        self.crawl.resolve_auto();
        self.extract.resolve_auto();
        self.registry.resolve_auto();
        self.embed.resolve_auto();
        self.evaluate.resolve_auto();
        self.score.resolve_auto();
        self.universe.resolve_auto();
        self.prospects.resolve_auto();
    }

    /// Checks values; pure (no network, no reads beyond `stat`). Returns every issue found.
    pub fn validate(&self) -> Vec<ConfigIssue> {
        let mut issues = Issues::default();
        self.pipeline.check(&mut issues);
        self.state.check(&mut issues);
        self.ingest.check(&mut issues);
        self.crawl.check(&mut issues);
        self.extract.check(&mut issues);
        self.registry.check(&mut issues);
        self.embed.check(&mut issues);
        self.evaluate.check(&mut issues);
        self.score.check(&mut issues);
        self.prospects.check(&mut issues);
        self.universe.check(&mut issues);
        let mut issues = issues.into_vec();
        if self.ingest.input.is_none() && !self.universe.files.is_empty() {
            // A config that only loads a universe needs no lead list; the ingest stage still
            // says `ingest.input: required` if it is run.
            issues.retain(|i| i.key != "ingest.input");
        }
        issues
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

    /// The fingerprint of a section's settings that change what its stage writes: the hash of
    /// its resolved values without its [`Section::NOT_OUTPUT`] keys. A stage adds what is not
    /// config (an input file's hash, a model's id, its rules' version).
    pub fn fingerprint(&self, section: &str) -> String {
        fn of<S: Section>(s: &S) -> String {
            let mut v = serde_json::to_value(s).unwrap_or_default();
            if let Some(m) = v.as_object_mut() {
                for k in S::NOT_OUTPUT {
                    m.remove(*k);
                }
            }
            hash_json(&v)
        }
        match section {
            "pipeline" => of(&self.pipeline),
            "state" => of(&self.state),
            "ingest" => of(&self.ingest),
            "crawl" => of(&self.crawl),
            "extract" => of(&self.extract),
            "registry" => of(&self.registry),
            "embed" => of(&self.embed),
            "evaluate" => of(&self.evaluate),
            "score" => of(&self.score),
            "universe" => of(&self.universe),
            "prospects" => of(&self.prospects),
            other => {
                debug_assert!(false, "no config section {other:?}");
                hash_json(&serde_json::Value::Null)
            }
        }
    }

    /// Old name of [`Config::fingerprint`], kept while stage code moves to the new one.
    pub fn section_hash(&self, name: &str) -> String {
        self.fingerprint(name)
    }

    /// Stable hash of the whole config, paths resolved (written in every Parquet file's
    /// metadata); "0 = automatic" values count as written, not as resolved on this machine.
    pub fn hash(&self) -> String {
        match &self.loaded_hash {
            Some(h) => h.clone(),
            None => hash_json(&serde_json::to_value(self).unwrap_or_default()),
        }
    }
}

/// The keys each section leaves out of its fingerprint, by section name.
pub fn not_output(section: &str) -> &'static [&'static str] {
    match section {
        "pipeline" => PipelineSection::NOT_OUTPUT,
        "state" => StateSection::NOT_OUTPUT,
        "ingest" => IngestSection::NOT_OUTPUT,
        "crawl" => CrawlSection::NOT_OUTPUT,
        "extract" => ExtractSection::NOT_OUTPUT,
        "registry" => RegistrySection::NOT_OUTPUT,
        "embed" => EmbedSection::NOT_OUTPUT,
        "evaluate" => EvaluateSection::NOT_OUTPUT,
        "score" => ScoreSection::NOT_OUTPUT,
        "universe" => UniverseSection::NOT_OUTPUT,
        "prospects" => ProspectsSection::NOT_OUTPUT,
        _ => &[],
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

/// `auto` → `Some(None)`; one character (or `\t`, `tab`) → `Some(Some(byte))`; anything else
/// is not a delimiter (`None`).
pub fn delimiter_from_config(s: &str) -> Option<Option<u8>> {
    match s {
        "auto" => Some(None),
        "\\t" | "tab" | "\t" => Some(Some(b'\t')),
        s if s.len() == 1 && s.is_ascii() => Some(Some(s.as_bytes()[0])),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load_set(text: &str, env: &[(&str, &str)], sets: &[&str]) -> Result<Config, ConfigError> {
        let dir = std::env::temp_dir();
        let env = env
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect::<Vec<_>>();
        let sets: Vec<String> = sets.iter().map(|s| s.to_string()).collect();
        Config::from_str_at(text, &dir.join("p.toml"), env.into_iter(), &sets)
    }

    fn load(text: &str, env: &[(&str, &str)]) -> Result<Config, ConfigError> {
        load_set(text, env, &[])
    }

    /// A config whose only file is the input, so that it loads without errors.
    fn valid_input() -> (tempfile::TempDir, String) {
        let dir = tempfile::tempdir().unwrap();
        let input = dir.path().join("leads.csv");
        std::fs::write(&input, "name\nAcme\n").unwrap();
        let text = format!("[ingest]\ninput = {:?}\n", input.to_str().unwrap());
        (dir, text)
    }

    fn keys(e: &ConfigError) -> Vec<&str> {
        e.issues.iter().map(|i| i.key.as_str()).collect()
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
            "crawl.max_pages_per_site: must be between 1 and 100000, got 0",
            "crawl.burst: must be between 1 and 1000, got 0",
            "ingest.batch_rows: must be between 1 and 1000000, got 0",
            "ingest.input: required",
            "bogus: unknown section",
        ] {
            assert!(text.contains(want), "missing {want:?} in:\n{text}");
        }
    }

    #[test]
    fn unknown_keys_in_two_sections_both_reported() {
        let e = load("[crawl]\nmax_page = 3\n[ingest]\ninptu = 'x'\n", &[]).unwrap_err();
        let keys = keys(&e);
        assert!(keys.contains(&"crawl.max_page"), "{keys:?}");
        assert!(keys.contains(&"ingest.inptu"), "{keys:?}");
    }

    #[test]
    fn a_type_error_hides_nothing_else_in_its_section() {
        let (_dir, input) = valid_input();
        let text = format!(
            "{input}batch_rows = \"many\"\nencoding = \"klingon\"\n[crawl]\nmax_depth = \"deep\"\nburst = 0\nmax_pagez = 1\nread_timeout_secs = 1e300\n"
        );
        let e = load(&text, &[]).unwrap_err();
        let t = e.to_string();
        for want in [
            "ingest.batch_rows: invalid type: string \"many\", expected a whole number ≥ 0",
            "ingest.encoding: unknown encoding \"klingon\"",
            "crawl.max_depth: invalid type: string \"deep\"",
            "crawl.burst: must be between 1 and 1000, got 0",
            "crawl.max_pagez: unknown key; expected one of",
            "crawl.read_timeout_secs: must be between 0.1 and 3600 seconds, got 1e300",
        ] {
            assert!(t.contains(want), "missing {want:?} in:\n{t}");
        }
        // The input was set: a type error elsewhere in the section must not lose it.
        assert!(!t.contains("ingest.input"), "{t}");
        assert_eq!(e.issues.len(), 6, "{t}");
    }

    #[test]
    fn values_that_would_panic_or_hang_a_stage_are_errors() {
        let (_dir, input) = valid_input();
        let text = format!(
            "{input}[crawl]\nread_timeout_secs = 1e300\nconnect_timeout_secs = 1e300\n\
             max_retry_wait_secs = 1e300\nrobots_retry_delay_secs = 1e300\nsite_time_budget_secs = 1e300\n\
             requests_per_second = 1e-300\n[registry]\nsirene_rps = 1e-300\ntimeout_secs = nan\n\
             [embed]\nweights = {{ home = inf }}\n"
        );
        let e = load(&text, &[]).unwrap_err();
        let keys = keys(&e);
        for k in [
            "crawl.read_timeout_secs",
            "crawl.connect_timeout_secs",
            "crawl.max_retry_wait_secs",
            "crawl.robots_retry_delay_secs",
            "crawl.site_time_budget_secs",
            "crawl.requests_per_second",
            "registry.sirene_rps",
            "registry.timeout_secs",
            "embed.weights.home",
        ] {
            assert!(keys.contains(&k), "{k} not reported: {e}");
        }
        assert!(
            e.to_string().contains("requests_per_second: must be between 0.001 and 1000000 requests per second per host, got 1e-300"),
            "{e}"
        );
    }

    #[test]
    fn embed_precision_is_in_the_fingerprint_and_device_is_not() {
        let (_dir, input) = valid_input();
        let base = load_set(&input, &[], &[]).unwrap();
        assert_eq!(base.embed.precision, None, "unset: the stage resolves it");
        assert_eq!(base.embed.device, EmbedDevice::Cpu);
        let fp = |sets: &[&str]| load_set(&input, &[], sets).unwrap().fingerprint("embed");
        let int8 = fp(&["embed.precision=int8"]);
        let fp32 = fp(&["embed.precision=fp32"]);
        assert_ne!(int8, fp32);
        assert_ne!(int8, base.fingerprint("embed"));
        assert_eq!(fp(&["embed.device=cuda"]), base.fingerprint("embed"));
        let c = load_set(&input, &[], &["embed.precision=int8", "embed.device=cuda"]).unwrap();
        assert_eq!(
            (c.embed.precision, c.embed.device),
            (Some(EmbedPrecision::Int8), EmbedDevice::Cuda)
        );
        let e = load_set(&input, &[], &["embed.precision=fp16", "embed.device=gpu"]).unwrap_err();
        let t = e.to_string();
        assert!(
            t.contains("embed.precision: unknown variant `fp16`, expected `int8` or `fp32`"),
            "{t}"
        );
        assert!(t.contains("embed.device: unknown variant `gpu`"), "{t}");
    }

    #[test]
    fn env_and_set_overrides_apply_in_order_and_are_named_in_errors() {
        let (_dir, input) = valid_input();
        let c = load_set(
            &format!("{input}[crawl]\nmax_depth = 1\n"),
            &[("LEADCRAWL__CRAWL__MAX_DEPTH", "7")],
            &["crawl.max_pages_per_site=2", "embed.weights.home=5"],
        )
        .unwrap();
        assert_eq!(c.crawl.max_depth, 7);
        assert_eq!(c.crawl.max_pages_per_site, 2);
        // A nested override keeps the other defaults of its table.
        assert_eq!(c.embed.weights["home"], 5.0);
        assert_eq!(c.embed.weights["description"], 3.0);
        let c = load_set(
            &input,
            &[("LEADCRAWL__CRAWL__MAX_DEPTH", "7")],
            &["crawl.max_depth=2", "crawl.user_agent=my bot/1.0"],
        )
        .unwrap();
        assert_eq!(c.crawl.max_depth, 2, "--set wins over the environment");
        assert_eq!(c.crawl.user_agent, "my bot/1.0", "not TOML: a string");

        let e = load_set(
            &format!("{input}[score]\nroute_at = 2.0\n"),
            &[],
            &["crawl.max_pagez=2", "crawl.max_depth=deep", "nodot=1", "x"],
        )
        .unwrap_err();
        let t = e.to_string();
        for want in [
            "crawl.max_pagez: unknown key; expected one of",
            "(from --set crawl.max_pagez=2)",
            "crawl.max_depth: invalid type: string \"deep\"",
            "(from --set crawl.max_depth=deep)",
            "--set nodot=1: the key must be section.key",
            "--set x: must look like section.key=value",
            "score.route_at: must be between 0 and 1 (a probability), got 2",
        ] {
            assert!(t.contains(want), "missing {want:?} in:\n{t}");
        }
        let e = load("", &[("LEADCRAWL__CRAWL__MAX_DEPTH", "\"deep\"")]).unwrap_err();
        assert!(
            e.issues.iter().any(|i| i.key == "crawl.max_depth"
                && i.message.contains("(from LEADCRAWL__CRAWL__MAX_DEPTH)")),
            "{e}"
        );
    }

    #[test]
    fn relative_paths_and_automatic_values_are_resolved_once() {
        let e = load("[ingest]\ninput = 'leads.csv'\n", &[]).unwrap_err();
        // input does not exist, but the path was resolved against the config's folder
        assert!(e
            .to_string()
            .contains(&std::env::temp_dir().join("leads.csv").display().to_string()));
        let (_dir, input) = valid_input();
        let c = load(&format!("{input}[extract]\nworkers = 0\n"), &[]).unwrap();
        let cores = std::thread::available_parallelism().unwrap().get();
        assert_eq!(c.extract.workers, cores.min(MAX_THREADS));
        assert_eq!(c.embed.threads, cores.min(MAX_THREADS));
        let c = load(&format!("{input}[embed]\nthreads = 3\n"), &[]).unwrap();
        assert_eq!(c.embed.threads, 3);
        // The config's hash is the file's, not this machine's: `0` and the number of cores it
        // resolved to are different configs, and the same file hashes the same everywhere.
        let auto = load(&format!("{input}[extract]\nworkers = 0\n"), &[]).unwrap();
        let explicit = load(&format!("{input}[extract]\nworkers = {cores}\n"), &[]).unwrap();
        assert_eq!(auto.extract.workers, explicit.extract.workers);
        assert_ne!(auto.hash(), explicit.hash());
        assert_eq!(auto.hash(), load(&input, &[]).unwrap().hash());
    }

    /// Every leaf key of a JSON value, as paths.
    fn leaves(v: &serde_json::Value, path: &mut Vec<String>, out: &mut Vec<Vec<String>>) {
        match v {
            serde_json::Value::Object(m) if !m.is_empty() => {
                for (k, x) in m {
                    path.push(k.clone());
                    leaves(x, path, out);
                    path.pop();
                }
            }
            _ => out.push(path.clone()),
        }
    }

    /// Other values of the same type as `v`, most likely first.
    fn variants(v: &serde_json::Value) -> Vec<serde_json::Value> {
        use serde_json::{json, Value};
        match v {
            Value::Bool(b) => vec![json!(!b)],
            Value::Number(n) if n.is_u64() => vec![json!(n.as_u64().unwrap() + 1)],
            Value::Number(n) => vec![json!(n.as_f64().unwrap() * 2.0 + 1.0)],
            Value::String(s) => vec![
                json!(format!("{s}x")),
                json!("csv"),
                json!("parquet"),
                json!(";"),
                json!("cuda"),
            ],
            Value::Null => vec![json!("x"), json!(0.5), json!("int8")],
            Value::Array(a) if a.is_empty() => vec![json!(["x"])],
            Value::Array(a) => vec![json!(a[..a.len() - 1])],
            Value::Object(_) => vec![json!({"x": 1.0}), json!({"x": "category"})],
        }
    }

    #[test]
    fn every_key_is_in_its_fingerprint_or_marked_not_output() {
        let defaults = serde_json::to_value(Config::default()).unwrap();
        let base = Config::default();
        let mut paths = Vec::new();
        leaves(&defaults, &mut Vec::new(), &mut paths);
        assert!(paths.len() > 80, "{}", paths.len());
        for path in paths {
            let (section, key) = (&path[0], &path[1]);
            let varied = variants(defaults.pointer(&format!("/{}", path.join("/"))).unwrap())
                .into_iter()
                .find_map(|value| {
                    let mut v = defaults.clone();
                    *v.pointer_mut(&format!("/{}", path.join("/"))).unwrap() = value;
                    serde_json::from_value::<Config>(v).ok()
                })
                .unwrap_or_else(|| panic!("no other value for {}", path.join(".")));
            let changed = varied.fingerprint(section) != base.fingerprint(section);
            let excluded = not_output(section).contains(&key.as_str());
            assert_eq!(
                changed,
                !excluded,
                "{}: {}",
                path.join("."),
                if excluded {
                    "marked NOT_OUTPUT but in the fingerprint"
                } else {
                    "changes no fingerprint: list it in its section's NOT_OUTPUT if it does not change the stage's output"
                }
            );
        }
        for section in SECTIONS {
            for k in not_output(section) {
                assert!(
                    defaults[*section].get(*k).is_some(),
                    "{section}.NOT_OUTPUT names {k}, which is no key of [{section}]"
                );
            }
        }
    }

    #[test]
    fn numbers_are_shown_readably() {
        assert_eq!(1e300.show(), "1e300");
        assert_eq!(1e-300.show(), "1e-300");
        assert_eq!(3600.0.show(), "3600");
        assert_eq!(0.1.show(), "0.1");
        assert_eq!(f64::NAN.show(), "NaN");
    }
}
