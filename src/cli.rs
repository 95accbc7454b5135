//! The `leadcrawl` command line: parses arguments, loads the config, and calls the runner.
//! Errors become exit codes in one place ([`crate::exit`]).

use std::path::PathBuf;

use anyhow::Context;
use clap::{Args, Parser, Subcommand};

use crate::config::{Config, ConfigError, ConfigIssue};
use crate::exit::{self, UsageError};
use crate::logging::{self, LogFormat};
use crate::progress::ProgressMode;
use crate::signals::StopFlag;
use crate::state::sqlite::SqliteStore;
use crate::state::StateStore;
use crate::{run_results, runner, schema, stages, status};

const EXIT_CODES: &str =
    "Exit codes: 0 success (failed units, e.g. dead websites, within pipeline.max_failed_share of \
each stage's units); 1 a stage failed; 2 usage, config or input error; 3 stages completed but \
more units failed than pipeline.max_failed_share allows (recorded, see `leadcrawl status` and \
run_results.json); 4 another run is using the output folder; 130 interrupted (Ctrl-C/SIGTERM): \
run again to resume.";

#[derive(Parser, Debug)]
#[command(
    name = "leadcrawl",
    version,
    about = "Turn a list of won/lost B2B leads into Parquet feature tables from public web and registry data.",
    long_about = None,
    after_help = EXIT_CODES
)]
pub struct Cli {
    /// Log format on stderr: human lines, or JSON lines for schedulers.
    #[arg(long, value_enum, default_value = "human", global = true)]
    pub log_format: LogFormat,
    /// More logging (-v debug, -vv trace). RUST_LOG overrides.
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    pub verbose: u8,
    /// Only warnings and errors.
    #[arg(short, long, global = true)]
    pub quiet: bool,
    #[command(subcommand)]
    pub command: Command,
}

/// Where the config is, and the overrides of its values.
#[derive(Args, Debug)]
pub struct ConfigArgs {
    /// The config file.
    #[arg(long, short, env = "LEADCRAWL_CONFIG", default_value = "pipeline.toml")]
    pub config: PathBuf,
    /// Override a config value: section.key=value (repeatable). The value is read as TOML
    /// (2, 1.5, true, "text", ["a", "b"]), else as a string; it is checked like the file's.
    #[arg(long = "set", value_name = "SECTION.KEY=VALUE")]
    pub set: Vec<String>,
}

impl ConfigArgs {
    /// Loads and validates the config with its overrides.
    pub fn load(&self) -> anyhow::Result<Config> {
        Ok(Config::load_with(&self.config, &self.set)?)
    }
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run the pipeline's stages in order, skipping work already done and resuming
    /// interrupted stages.
    Run {
        #[command(flatten)]
        config: ConfigArgs,
        /// Comma-separated stages to run (default: all available), e.g. ingest,crawl.
        #[arg(long, value_delimiter = ',')]
        stages: Vec<String>,
        /// Re-run this stage from scratch (repeatable); later stages then re-run too.
        #[arg(long)]
        force: Vec<String>,
        /// With a PostgreSQL state store: only enqueue the leased stages' units and wait for
        /// `leadcrawl worker` processes to do them (by default this process works too).
        #[arg(long)]
        no_local_worker: bool,
    },
    /// Help with a leased stage (crawl, extract, registry, embed) started by `leadcrawl run` on
    /// a PostgreSQL state store: claim units, work on them, commit, until none is left. Run one per machine (or
    /// more); they share the config, the database and the output folder.
    Worker {
        #[command(flatten)]
        config: ConfigArgs,
        /// The stage to work on: crawl (sites are leased), extract, registry or embed (leads are
        /// leased, a part's worth at a time).
        #[arg(long, default_value = "crawl")]
        stage: String,
        /// This worker's name in leases and `leadcrawl status` (default: hostname:pid). Must be
        /// unique among running workers.
        #[arg(long)]
        id: Option<String>,
        /// Keep waiting for work when none is left (for a worker that runs as a service).
        /// Without it, the worker waits up to a minute for a run to start the stage, works until
        /// no site is left, and exits.
        #[arg(long)]
        follow: bool,
    },
    /// Show each stage: pending / running / done / failed / interrupted, units done of total,
    /// failures, output files, last run time.
    Status {
        #[command(flatten)]
        config: ConfigArgs,
        /// Machine-readable JSON on stdout.
        #[arg(long)]
        json: bool,
    },
    /// Check the config and inputs without running anything; reports every error at once.
    Validate {
        #[command(flatten)]
        config: ConfigArgs,
    },
    /// Get the embed stage its ONNX Runtime library and sentence model, and record them in
    /// ~/.local/share/leadcrawl/runtime.json: with Python, install and export all-MiniLM-L6-v2
    /// (the exporter is bundled in this binary); with --model-dir and --onnxruntime, check and
    /// record a model folder and library already on this machine.
    Setup(crate::setup::SetupArgs),
    /// Run the whole pipeline offline on the bundled demo (local websites on 127.0.x.y).
    Demo {
        /// Where the demo's run folder is left.
        #[arg(long, default_value = "demo-output")]
        out: PathBuf,
        /// The demo data folder (default: the `datasets/demo` of this source tree, or
        /// $LEADCRAWL_DEMO_DIR).
        #[arg(long, env = "LEADCRAWL_DEMO_DIR")]
        demo_dir: Option<PathBuf>,
    },
    /// Extract main text, title, language and page type from every *.html, *.htm, *.html.gz and
    /// *.htm.gz file of a folder into one JSON file (single-page mode; for debugging and
    /// benchmarks).
    ExtractHtml {
        #[arg(long)]
        input: PathBuf,
        #[arg(long)]
        output: PathBuf,
        /// Also list every text block with the verdicts behind the main text.
        #[arg(long)]
        explain: bool,
    },
    /// Write an output as a file for other tools: `export prospects --top N` writes the best
    /// prospects as a lead list CSV that `leadcrawl run` reads as its input.
    Export {
        #[command(flatten)]
        config: ConfigArgs,
        /// What to export.
        #[arg(value_enum)]
        what: ExportWhat,
        /// Only the best N (default: every row of prospects.parquet).
        #[arg(long)]
        top: Option<usize>,
        /// The CSV file to write (default: standard output).
        #[arg(long, short)]
        output: Option<PathBuf>,
    },
    /// Print a table's documented schema (all tables without a name).
    Schema {
        table: Option<String>,
        /// Markdown, as in docs/schema.md.
        #[arg(long)]
        markdown: bool,
    },
}

/// What `leadcrawl export` writes.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExportWhat {
    /// `prospects.parquet` as a lead list CSV (name, siren, company number, country, address…).
    Prospects,
}

/// Entry point: parse, run, map to an exit code.
pub fn main() -> std::process::ExitCode {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let _ = e.print();
            return exit::code(if e.use_stderr() {
                exit::USAGE
            } else {
                exit::SUCCESS
            });
        }
    };
    logging::init(cli.log_format, cli.verbose, cli.quiet);
    match run(cli) {
        Ok(code) => exit::code(code),
        Err(e) => {
            let code = exit::code_for(&e);
            if code == exit::USAGE {
                eprintln!("error: {e:#}");
            } else {
                tracing::error!("{e:#}");
            }
            exit::code(code)
        }
    }
}

/// The configured state store: SQLite (default) or the shared PostgreSQL database.
pub fn open_store(config: &Config, owner: Option<&str>) -> anyhow::Result<Box<dyn StateStore>> {
    crate::state::open(config, owner)
}

fn run(cli: Cli) -> anyhow::Result<u8> {
    let json_logs = cli.log_format == LogFormat::Json;
    match cli.command {
        Command::Run {
            config,
            stages,
            force,
            no_local_worker,
        } => {
            let config = config.load()?;
            let selected = runner::select(&stages)?;
            for f in &force {
                if !selected.iter().any(|s| s.name() == f) {
                    return Err(
                        UsageError(format!("--force {f}: not among the stages being run")).into(),
                    );
                }
            }
            let _lock = runner::RunLock::acquire(config.output_dir())?;
            let stop = StopFlag::install().context("installing signal handlers")?;
            if no_local_worker && config.state.postgres_url().is_none() {
                return Err(UsageError(
                    "--no-local-worker needs a PostgreSQL state store (state.url = \"postgres://…\"): with SQLite no other worker can help".into(),
                )
                .into());
            }
            let store = open_store(&config, None)?;
            let mut report = runner::RunReport::start(&config);
            let result = runner::run_into(
                &mut report,
                &config,
                store.as_ref(),
                &selected,
                &force,
                &stop,
                ProgressMode::detect(json_logs),
                stages::Role::Run {
                    local_worker: !no_local_worker,
                },
            );
            // Written however the run ended, before the error (if any) reaches the exit code.
            let results =
                run_results::collect(&config, store.as_ref(), &report, result.as_ref().err());
            match run_results::write(config.output_dir(), &results) {
                Ok(path) => tracing::info!(
                    exit_code = results.exit_code,
                    why = %results.why,
                    "run results in {}",
                    path.display()
                ),
                Err(e) => tracing::error!("{e:#}"),
            }
            result?;
            Ok(results.exit_code)
        }
        Command::Worker {
            config,
            stage,
            id,
            follow,
        } => {
            let config = config.load()?;
            if config.state.postgres_url().is_none() {
                return Err(UsageError(
                    "leadcrawl worker needs a PostgreSQL state store shared with `leadcrawl run`: set state.url = \"postgres://user@host:port/db\"".into(),
                )
                .into());
            }
            let selected = runner::select(std::slice::from_ref(&stage))?;
            let Some(stage) = selected.first().copied().filter(|s| s.leased()) else {
                return Err(UsageError(format!(
                    "--stage {stage}: workers help with the stages whose units are leased: crawl, extract, registry, embed"
                ))
                .into());
            };
            if let Some(id) = &id {
                if id.is_empty() || id.len() > 100 || id.chars().any(|c| c.is_control()) {
                    return Err(
                        UsageError(format!("--id {id:?}: 1 to 100 printable characters")).into(),
                    );
                }
            }
            let stop = StopFlag::install().context("installing signal handlers")?;
            let store = open_store(&config, id.as_deref())?;
            runner::work(
                &config,
                store.as_ref(),
                stage,
                &stop,
                ProgressMode::detect(json_logs),
                follow,
            )?;
            Ok(if stop.is_set() {
                exit::INTERRUPTED
            } else {
                exit::SUCCESS
            })
        }
        Command::Status { config, json } => {
            let config = config.load()?;
            let store: Option<Box<dyn StateStore>> = match config.state.postgres_url() {
                Some(_) => Some(open_store(&config, None)?),
                None => SqliteStore::open_existing(&config.state_path(), config.output_dir())?
                    .map(|s| Box::new(s) as Box<dyn StateStore>),
            };
            let view = status::collect(&config, store.as_deref())?;
            if json {
                println!("{}", serde_json::to_string_pretty(&view)?);
            } else {
                print!("{}", status::render(&view));
            }
            Ok(exit::SUCCESS)
        }
        Command::Validate { config: args } => {
            let path = &args.config;
            // The input is checked too, even when other sections have problems, so that one
            // `validate` shows them all; only a broken `[ingest]` leaves it unread.
            let (config, mut error) = match Config::load_with(path, &args.set) {
                Ok(c) => (Some(c), None),
                Err(mut e) => match e.partial.take() {
                    Some(c) if !e.issues.iter().any(|i| i.key.starts_with("ingest")) => {
                        (Some(*c), Some(e))
                    }
                    _ => (None, Some(e)),
                },
            };
            if let Some(config) = &config {
                if let Err(setup) = stages::embed::check_setup(&config.embed) {
                    let e = error.get_or_insert_with(|| ConfigError {
                        path: path.clone(),
                        issues: Vec::new(),
                        partial: None,
                    });
                    e.issues.push(ConfigIssue {
                        key: "(embed setup)".into(),
                        // The stage names the key; the fix for a machine without a setup is one
                        // command.
                        message: format!(
                            "{setup:#}. `leadcrawl setup` installs and records the model and ONNX Runtime (with Python; or `leadcrawl setup --model-dir DIR --onnxruntime PATH` for ones already on this machine)"
                        ),
                    });
                }
                // A universe-only config has no lead list to check.
                let lead_list = config.ingest.input.is_some() || config.universe.files.is_empty();
                let checked = if lead_list {
                    stages::ingest::check_input(config).map(|_| ())
                } else {
                    Ok(())
                };
                if let Err(input) = checked {
                    let e = error.get_or_insert_with(|| ConfigError {
                        path: path.clone(),
                        issues: Vec::new(),
                        partial: None,
                    });
                    // Input errors name their own key (`ingest.columns.name: …`).
                    e.issues.push(ConfigIssue {
                        key: "(input)".into(),
                        message: format!("{input:#}"),
                    });
                }
            }
            match error {
                None => {
                    println!("{}: OK", path.display());
                    Ok(exit::SUCCESS)
                }
                Some(e) => Err(e.into()),
            }
        }
        Command::Setup(args) => crate::setup::run(&args),
        Command::Demo { out, demo_dir } => crate::demo::run(&out, demo_dir.as_deref(), json_logs),
        Command::ExtractHtml {
            input,
            output,
            explain,
        } => crate::extract_html::run(&input, &output, explain),
        Command::Export {
            config,
            what: ExportWhat::Prospects,
            top,
            output,
        } => {
            let config = config.load()?;
            let n = stages::prospects::export::run(&config, top, output.as_deref())?;
            if let Some(path) = &output {
                tracing::info!("{n} prospects written to {}", path.display());
            }
            Ok(exit::SUCCESS)
        }
        Command::Schema { table, markdown } => {
            match table {
                None if markdown => print!("{}", schema::markdown()),
                None => {
                    for t in schema::TABLES {
                        println!("{}", t.to_text());
                    }
                }
                Some(name) => {
                    let t = schema::find(&name).ok_or_else(|| {
                        UsageError(format!(
                            "unknown table {name:?}; tables: {}",
                            schema::TABLES
                                .iter()
                                .map(|t| t.name)
                                .collect::<Vec<_>>()
                                .join(", ")
                        ))
                    })?;
                    print!(
                        "{}",
                        if markdown {
                            t.to_markdown()
                        } else {
                            t.to_text()
                        }
                    );
                }
            }
            Ok(exit::SUCCESS)
        }
    }
}

/// The exit code of a completed `run`: see [`run_results::verdict`].
pub fn run_exit_code(report: &runner::RunReport) -> u8 {
    run_results::verdict(report).0
}
