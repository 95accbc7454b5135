//! Logging through `tracing` to stderr: human lines by default, JSON lines for schedulers (one
//! object per line, the event's fields at the top level).
//! `RUST_LOG` overrides the level (`RUST_LOG=leadcrawl=debug`).

use tracing_subscriber::EnvFilter;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    Human,
    Json,
}

pub fn init(format: LogFormat, verbose: u8, quiet: bool) {
    let level = match (quiet, verbose) {
        (true, _) => "warn",
        (false, 0) => "info",
        (false, 1) => "debug",
        _ => "trace",
    };
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(level));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(crate::progress::LogWriter);
    let _ = match format {
        LogFormat::Human => {
            use std::io::IsTerminal;
            builder
                .with_ansi(std::io::stderr().is_terminal())
                .with_target(false)
                .try_init()
        }
        // Event fields at the top level (`{"level":…,"stage":"crawl",…}`), not under `fields`,
        // so that `jq .stage` works.
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(false)
            .try_init(),
    };
}
