//! Progress: a bar on a terminal, plain periodic log lines otherwise (cron, CI, log files).

use std::io::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressStyle};

/// The bar on screen, if any: log lines are written "around" it (see [`LogWriter`]).
static ACTIVE: Mutex<Option<ProgressBar>> = Mutex::new(None);

/// stderr for `tracing`, suspending the active progress bar while a line is written so that
/// log lines and the bar never overwrite each other.
#[derive(Clone, Copy, Default)]
pub struct LogWriter;

impl Write for LogWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let bar = ACTIVE.lock().unwrap_or_else(|p| p.into_inner()).clone();
        match bar {
            Some(b) => b
                .suspend(|| std::io::stderr().write_all(buf))
                .map(|_| buf.len()),
            None => std::io::stderr().write(buf),
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        std::io::stderr().flush()
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for LogWriter {
    type Writer = LogWriter;
    fn make_writer(&'a self) -> Self::Writer {
        LogWriter
    }
}

/// Chosen once per process from the terminal and the log format.
#[derive(Debug, Clone, Copy)]
pub enum ProgressMode {
    Bars,
    Lines,
}

impl ProgressMode {
    pub fn detect(json_logs: bool) -> ProgressMode {
        use std::io::IsTerminal;
        if !json_logs && std::io::stderr().is_terminal() {
            ProgressMode::Bars
        } else {
            ProgressMode::Lines
        }
    }

    pub fn bar(self, stage: &'static str) -> Progress {
        let bar = match self {
            ProgressMode::Bars => {
                let b = ProgressBar::new(0);
                b.set_style(
                    ProgressStyle::with_template(
                        "{prefix:>9} [{bar:30}] {pos}/{len} {per_sec} {msg}",
                    )
                    .unwrap_or_else(|_| ProgressStyle::default_bar())
                    .progress_chars("=> "),
                );
                b.set_prefix(stage);
                *ACTIVE.lock().unwrap_or_else(|p| p.into_inner()) = Some(b.clone());
                Some(b)
            }
            ProgressMode::Lines => None,
        };
        Progress {
            stage,
            bar,
            done: AtomicU64::new(0),
            total: AtomicU64::new(0),
            last_line: Mutex::new(Instant::now()),
            started: Instant::now(),
        }
    }
}

/// Progress of one stage, in units.
pub struct Progress {
    stage: &'static str,
    bar: Option<ProgressBar>,
    done: AtomicU64,
    total: AtomicU64,
    last_line: Mutex<Instant>,
    started: Instant,
}

const LINE_EVERY: Duration = Duration::from_secs(10);

impl Progress {
    pub fn set_total(&self, total: u64) {
        self.total.store(total, Ordering::Relaxed);
        if let Some(b) = &self.bar {
            b.set_length(total);
        }
    }

    pub fn inc(&self, n: u64, msg: &str) {
        let done = self.done.fetch_add(n, Ordering::Relaxed) + n;
        match &self.bar {
            Some(b) => {
                b.inc(n);
                b.set_message(msg.to_string());
            }
            None => {
                let mut last = self.last_line.lock().unwrap_or_else(|p| p.into_inner());
                if last.elapsed() >= LINE_EVERY {
                    *last = Instant::now();
                    let rate = done as f64 / self.started.elapsed().as_secs_f64().max(1e-9);
                    tracing::info!(
                        stage = self.stage,
                        done,
                        total = self.total.load(Ordering::Relaxed),
                        rate = format!("{rate:.1}/s"),
                        "{msg}"
                    );
                }
            }
        }
    }

    /// Moves the count up to `done` (units other workers finished); never down.
    pub fn advance_to(&self, done: u64, msg: &str) {
        let now = self.done.load(Ordering::Relaxed);
        if done > now {
            self.inc(done - now, msg);
        }
    }

    pub fn total(&self) -> u64 {
        self.total.load(Ordering::Relaxed)
    }

    pub fn finish(&self) {
        if let Some(b) = &self.bar {
            b.finish_and_clear();
            *ACTIVE.lock().unwrap_or_else(|p| p.into_inner()) = None;
        }
    }
}
