//! Universe: bulk registry files (`universe.files`: SIRENE `StockUniteLegale`, Companies House
//! `BasicCompanyData`) → `universe` (one row per company, active ones by default) and
//! `universe_rejects` (rows that could not be read, with every reason).
//!
//! The stage reads no other stage's output and needs no lead list. Each file is streamed
//! ([`read`]) and cut into chunks of `universe.chunk_rows` rows; a chunk is the unit of work
//! (`f000:000012`: file 0, chunk 12), and its rows and rejects are one part of each table,
//! committed with the unit. A killed load resumes at its first unfinished chunk (CSV rows of
//! finished chunks are only skipped over, not parsed; Parquet starts at the chunk's offset). The
//! fingerprint holds each file's size, modification time and a hash of its first MiB, so a new
//! release of a file loads the stage again, and an unchanged set of files does nothing.
//! Rows are parsed by `enrich::registry::bulk`, which gives the codes the `registry` stage's API
//! parsers give for the same company.

mod head_office;
mod read;
mod rows;

use std::collections::{BTreeMap, HashSet};
use std::io::Read as _;
use std::path::Path;

use anyhow::Context;
use enrich::registry::bulk::{BulkError, BulkLayout};
use enrich::registry::record::{Registry, Status};

use super::{Read, Stage, StageContext, StageOutcome};
use crate::config::{short_hash, Config, UniverseSection};
use crate::exit::UsageError;
use crate::schema::{TableDef, UNIVERSE, UNIVERSE_REJECTS};
use crate::state::UnitOutcome;
use head_office::HeadOffices;
use read::{ChunkSink, Loaded};
use rows::{RejectRows, UniverseRows};

/// Bumped when the parsers' mapping changes what a row becomes: the files are loaded again.
const RULES_VERSION: u32 = 1;

/// Threads that read and parse a Parquet file at most (one per core up to this).
const MAX_READERS: usize = 4;

/// Bytes of a file hashed into the fingerprint (with its size and modification time).
const HASHED_HEAD: u64 = 1 << 20;

pub struct UniverseStage;

/// What identifies a version of a file without reading it all: size, modification time and
/// the SHA-256 of its first MiB.
fn file_identity(path: &Path) -> anyhow::Result<String> {
    let meta = std::fs::metadata(path).with_context(|| format!("reading {}", path.display()))?;
    let mtime = meta
        .modified()
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_nanos());
    let mut head = Vec::new();
    std::fs::File::open(path)
        .with_context(|| format!("reading {}", path.display()))?
        .take(HASHED_HEAD)
        .read_to_end(&mut head)
        .with_context(|| format!("reading {}", path.display()))?;
    Ok(format!("{}:{mtime}:{}", meta.len(), short_hash(&head)))
}

/// The unit of chunk `k` of file `file`.
fn unit_key(file: usize, k: usize) -> String {
    format!("f{file:03}:{k:06}")
}

impl Stage for UniverseStage {
    fn name(&self) -> &'static str {
        "universe"
    }

    fn about(&self) -> &'static str {
        "load bulk registry files (SIRENE stock, Companies House) into `universe`, unreadable rows into `universe_rejects`"
    }

    fn reads(&self) -> &'static [Read] {
        &[]
    }

    fn tables(&self) -> &'static [&'static TableDef] {
        &[&UNIVERSE, &UNIVERSE_REJECTS]
    }

    fn fingerprint(&self, config: &Config) -> anyhow::Result<String> {
        let mut files = Vec::new();
        for path in &config.universe.files {
            files.push(file_identity(path)?);
        }
        for path in &config.universe.establishments {
            files.push(format!("establishments:{}", file_identity(path)?));
        }
        Ok(format!(
            "rules={RULES_VERSION} files={} universe={}",
            short_hash(files.join(",").as_bytes()),
            config.fingerprint("universe")
        ))
    }

    fn run(&self, ctx: &StageContext<'_>) -> anyhow::Result<StageOutcome> {
        let section = &ctx.config.universe;
        if section.files.is_empty() {
            tracing::info!("universe.files is empty: nothing to load");
        }
        let finished = ctx.store.finished_units(ctx.stage)?;
        // Read again on a resume: held in memory only, it costs one pass over the file.
        let head_offices = if section.establishments.is_empty() {
            None
        } else {
            let stop = || ctx.should_stop();
            match HeadOffices::load(
                &section.establishments,
                section.format,
                section.active_only,
                &stop,
            )? {
                None => return Ok(StageOutcome::Interrupted),
                Some(h) => {
                    tracing::info!(
                        head_offices = h.len(),
                        unreadable = h.unreadable,
                        "read the head offices of universe.establishments"
                    );
                    Some(h)
                }
            }
        };
        let mut chunks_before = 0usize;
        for (index, path) in section.files.iter().enumerate() {
            // Readers parse chunks (one per core for Parquet, whose chunks can be read apart;
            // one for a CSV stream), a writer encodes and commits them: the two halves of the
            // work take about as long.
            let readers = match read::format_of(path, section.format)? {
                crate::config::UniverseFormat::Parquet => std::thread::available_parallelism()
                    .map_or(1, |n| n.get())
                    .min(MAX_READERS),
                _ => 1,
            };
            let (loaded, registry) = std::thread::scope(|scope| {
                let (tx, rx) = std::sync::mpsc::sync_channel::<Chunk>(readers);
                let writer = scope.spawn(move || -> anyhow::Result<()> {
                    for chunk in rx {
                        chunk.commit(ctx)?;
                    }
                    Ok(())
                });
                let mut loaders: Vec<Loader> = (0..readers)
                    .map(|_| {
                        let mut l = Loader::new(ctx, section, index, path, &finished, tx.clone());
                        l.head_offices = head_offices.as_ref();
                        l
                    })
                    .collect();
                drop(tx);
                let read = if readers > 1 {
                    let mut sinks: Vec<&mut (dyn ChunkSink + Send)> = loaders
                        .iter_mut()
                        .map(|l| l as &mut (dyn ChunkSink + Send))
                        .collect();
                    read::read_parquet_striped(path, &mut sinks)
                } else {
                    read::read_file(path, section.format, &mut loaders[0])
                };
                let registry = loaders[0].registry();
                // Closes the channel: the writer commits what it holds and ends.
                drop(loaders);
                let written = writer
                    .join()
                    .map_err(|_| anyhow::anyhow!("the universe writer thread panicked"))?;
                // The writer's error first: a failed commit is why the reader could not hand on.
                written?;
                read.map(|r| (r, registry))
            })
            .with_context(|| format!("loading {}", path.display()))?;
            match loaded {
                Loaded::Interrupted => return Ok(StageOutcome::Interrupted),
                Loaded::Done { chunks } => {
                    chunks_before += chunks;
                    ctx.store.set_units_total(ctx.stage, chunks_before as u64)?;
                    tracing::info!(
                        file = %path.display(),
                        registry,
                        chunks,
                        "loaded"
                    );
                }
            }
        }
        ctx.store.set_units_total(ctx.stage, chunks_before as u64)?;
        crate::engine::completed(ctx)
    }
}

/// A chunk read whole, for the writer thread to encode and commit with its unit.
struct Chunk {
    part: String,
    universe: arrow::array::RecordBatch,
    rejects: arrow::array::RecordBatch,
    meta: Vec<(String, String)>,
    unit: String,
    counters: BTreeMap<String, u64>,
    note: String,
}

impl Chunk {
    fn commit(self, ctx: &StageContext<'_>) -> anyhow::Result<()> {
        ctx.commit_parts(
            &self.part,
            &[
                (&UNIVERSE, vec![self.universe]),
                (&UNIVERSE_REJECTS, vec![self.rejects]),
            ],
            &self.meta,
            &[UnitOutcome::done(&self.unit)],
            &self.counters,
        )?;
        ctx.progress.inc(1, &self.note);
        Ok(())
    }
}

/// One file's load: parses the rows of the chunks still to do and hands each chunk on.
struct Loader<'a> {
    ctx: &'a StageContext<'a>,
    active_only: bool,
    chunk_rows: usize,
    index: usize,
    /// As configured (absolute), in every row.
    source: String,
    finished: &'a HashSet<String>,
    layout: Option<BulkLayout>,
    rows: UniverseRows,
    rejects: RejectRows,
    inactive: u64,
    writer: std::sync::mpsc::SyncSender<Chunk>,
    head_offices: Option<&'a HeadOffices>,
}

impl<'a> Loader<'a> {
    fn new(
        ctx: &'a StageContext<'a>,
        section: &UniverseSection,
        index: usize,
        path: &Path,
        finished: &'a HashSet<String>,
        writer: std::sync::mpsc::SyncSender<Chunk>,
    ) -> Self {
        Loader {
            ctx,
            active_only: section.active_only,
            chunk_rows: section.chunk_rows.max(1),
            index,
            source: path.display().to_string(),
            finished,
            layout: None,
            rows: UniverseRows::default(),
            rejects: RejectRows::default(),
            inactive: 0,
            writer,
            head_offices: None,
        }
    }

    fn registry(&self) -> &'static str {
        self.layout.as_ref().map_or("", |l| l.registry().as_str())
    }
}

impl ChunkSink for Loader<'_> {
    fn chunk_rows(&self) -> usize {
        self.chunk_rows
    }

    fn header(&mut self, header: &[&str]) -> anyhow::Result<()> {
        let layout = BulkLayout::from_header(header)
            .map_err(|e| UsageError(format!("{}: {e}", self.source)))?;
        self.layout = Some(layout);
        Ok(())
    }

    fn wants(&self, k: usize) -> bool {
        let done = self.finished.contains(&unit_key(self.index, k));
        if done {
            self.ctx.progress.inc(1, "already loaded");
        }
        !done
    }

    fn row(&mut self, line: u64, fields: &[&str]) {
        let Some(layout) = &self.layout else {
            return;
        };
        // Most of the SIRENE stock has ceased: such rows are counted, not parsed.
        if self.active_only && layout.is_ceased(fields) {
            self.inactive += 1;
            return;
        }
        match layout.parse(fields) {
            Ok(r) if self.active_only && r.firm.status != Some(Status::Active) => {
                self.inactive += 1
            }
            Ok(mut r) => {
                let place = match r.firm.registry {
                    Registry::Sirene => self.head_offices.and_then(|h| h.get(&r.firm.registry_id)),
                    _ => None,
                };
                if let Some(place) = place {
                    let own = |s: Option<&str>| s.map(str::to_string);
                    r.firm.postcode = own(place.postcode);
                    r.firm.city = own(place.city);
                    r.firm.region = own(place.region);
                    r.firm.country = own(place.country);
                }
                self.rows.push(&r, &self.source, line)
            }
            Err(BulkError::Row(reason)) => self.rejects.push(&self.source, line, &reason, fields),
            Err(e) => self
                .rejects
                .push(&self.source, line, &e.to_string(), fields),
        }
    }

    fn commit(&mut self, k: usize, rows: usize) -> anyhow::Result<()> {
        let (kept, rejected, inactive) = (self.rows.len(), self.rejects.len(), self.inactive);
        self.inactive = 0;
        let mut counters = BTreeMap::new();
        counters.insert("rows".to_string(), rows as u64);
        counters.insert("companies".to_string(), kept as u64);
        counters.insert("rejects".to_string(), rejected as u64);
        counters.insert("inactive".to_string(), inactive);
        let meta = vec![
            ("leadcrawl.universe_file".to_string(), self.source.clone()),
            (
                "leadcrawl.universe_registry".to_string(),
                self.registry().to_string(),
            ),
            ("leadcrawl.universe_chunk".to_string(), k.to_string()),
        ];
        let unit = unit_key(self.index, k);
        let chunk = Chunk {
            part: format!("part-{:03}-{k:06}.parquet", self.index),
            universe: self.rows.finish()?,
            rejects: self.rejects.finish()?,
            meta,
            note: format!("{unit}: {kept} companies, {rejected} rejects, {inactive} inactive"),
            unit,
            counters,
        };
        self.writer
            .send(chunk)
            .map_err(|_| anyhow::anyhow!("the universe writer stopped"))
    }

    fn should_stop(&self) -> bool {
        self.ctx.should_stop()
    }

    fn skip_rows_where(&self) -> Option<(&'static str, &'static str)> {
        if self.active_only {
            self.layout.as_ref().and_then(BulkLayout::ceased_marker)
        } else {
            None
        }
    }

    fn skipped(&mut self, n: u64) {
        self.inactive += n;
    }
}
