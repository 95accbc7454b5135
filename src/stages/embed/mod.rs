//! Embed: `page_text` and the leads' own description and notes → `chunks` (one vector per chunk)
//! and `lead_embeddings` (one pooled vector per lead).
//!
//! The unit of work is a lead. Extract parts are read one at a time (a lead's pages are in one
//! part); each lead's texts are chunked to the model's length with the model's tokenizer, and
//! chunk vectors come from a cache keyed by (model id, text hash) in `embed-cache.sqlite` next
//! to the tables, so that unchanged text is never embedded twice, across runs and resets. Only
//! the misses go to the model, in length-sorted batches. A lead's vector is the weighted mean of
//! its chunk vectors (weights by source, `embed.weights`), L2-normalised.
//!
//! The model runs as its checked int8 variant when the folder has one (`embed.precision`): about
//! 1.7× the fp32 speed on the benchmark, vectors within cosine 0.97 of fp32 (see
//! `embed::model`). The variant has its own model id, so its vectors are cached, fingerprinted
//! and recorded apart from fp32's.

mod rows;
use rows::*;

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::Context;
use arrow::array::{Array, AsArray, RecordBatch};
use embed::{Device, EmbedOptions, Embedder, ModelDir, Precision};
use sha2::{Digest, Sha256};

use super::{Read, Stage, StageContext, StageOutcome};
use crate::config::{Config, EmbedDevice, EmbedPrecision, EmbedSection};
use crate::engine::{self, Output, UnitStage};
use crate::exit::UsageError;
use crate::schema::{TableDef, CHUNKS, LEADS, LEAD_EMBEDDINGS, PAGE_TEXT};
use crate::state::UnitOutcome;

pub struct EmbedStage;

/// The model folder and ONNX Runtime library the config names, else the installed ones.
fn resolve(cfg: &EmbedSection) -> anyhow::Result<(PathBuf, PathBuf)> {
    let found = embed::discover();
    let model = cfg.model_dir.clone().or(found.model_dir).ok_or_else(|| {
        UsageError(
            "embed.model_dir: no model folder configured and none set up; run ./dev.sh demo once (it installs and exports all-MiniLM-L6-v2) or set embed.model_dir".into(),
        )
    })?;
    let ort = cfg.onnxruntime.clone().or(found.onnxruntime).ok_or_else(|| {
        UsageError(
            "embed.onnxruntime: no ONNX Runtime library configured and none set up; `pip install onnxruntime` and set ORT_DYLIB_PATH or embed.onnxruntime to onnxruntime/capi/libonnxruntime.so.*".into(),
        )
    })?;
    Ok((model, ort))
}

/// What `leadcrawl validate` checks of the embedding setup: the model folder opens, holds the
/// precision asked for, and the ONNX Runtime library exists (loading it, and so whether it has
/// CUDA, is left to the stage).
pub fn check_setup(cfg: &EmbedSection) -> anyhow::Result<()> {
    let (model, ort) = open_model(cfg)?;
    precision(cfg, &model)?;
    if !ort.is_file() {
        return Err(UsageError(format!(
            "embed.onnxruntime: {} does not exist; run embed/export/setup_model.py (README: Running on your own lead list) or set embed.onnxruntime",
            ort.display()
        ))
        .into());
    }
    Ok(())
}

/// The precision to run: the one asked for (int8 without an accepted variant is a config error
/// naming the fix), else int8 when the folder has an accepted variant, else fp32.
fn precision(cfg: &EmbedSection, model: &ModelDir) -> anyhow::Result<Precision> {
    match cfg.precision {
        Some(EmbedPrecision::Fp32) => Ok(Precision::Fp32),
        Some(EmbedPrecision::Int8) => {
            model
                .variant(Precision::Int8)
                .map_err(|e| UsageError(format!("embed.precision = \"int8\": {e}")))?;
            Ok(Precision::Int8)
        }
        None => Ok(model.default_precision()),
    }
}

fn open_model(cfg: &EmbedSection) -> anyhow::Result<(ModelDir, PathBuf)> {
    let (model, ort) = resolve(cfg)?;
    let dir = ModelDir::open(&model).map_err(|e| UsageError(format!("embed.model_dir: {e}")))?;
    Ok((dir, ort))
}

impl Stage for EmbedStage {
    fn name(&self) -> &'static str {
        "embed"
    }

    fn about(&self) -> &'static str {
        "chunk page text and lead descriptions, embed them with the ONNX model into `chunks` and `lead_embeddings`"
    }

    fn reads(&self) -> &'static [Read] {
        &[Read::Table(&LEADS), Read::Table(&PAGE_TEXT)]
    }

    fn tables(&self) -> &'static [&'static TableDef] {
        &[&CHUNKS, &LEAD_EMBEDDINGS]
    }

    fn fingerprint(&self, config: &Config) -> anyhow::Result<String> {
        let (model, _) = open_model(&config.embed)?;
        let precision = precision(&config.embed, &model)?;
        let (_, id) = model
            .variant(precision)
            .map_err(|e| UsageError(format!("embed.precision: {e}")))?;
        Ok(format!(
            "model={id};precision={};embed={}",
            precision.as_str(),
            config.fingerprint("embed")
        ))
    }

    fn leased(&self) -> bool {
        true
    }

    /// Leads extracted again (their sites were re-crawled): a lead's vectors depend on its own
    /// texts only, so exactly those leads are embedded again (unchanged texts come from the
    /// cache); a lead's rows hold its `lead_id`.
    fn dependent_units(
        &self,
        _config: &Config,
        _store: &dyn crate::state::StateStore,
        upstream: &str,
        redone: &std::collections::HashSet<String>,
    ) -> anyhow::Result<Option<(std::collections::HashSet<String>, &'static str)>> {
        Ok((upstream == PAGE_TEXT.stage).then(|| (redone.clone(), "lead_id")))
    }

    fn run(&self, ctx: &StageContext<'_>) -> anyhow::Result<StageOutcome> {
        engine::run_units(self, ctx)
    }
}

/// A unit: one lead, its own text, and the `page_text` part that holds its pages.
pub struct LeadUnit {
    text: LeadText,
    part: Option<usize>,
}

/// What an embed worker keeps across parts.
pub struct Embedding {
    embedder: Embedder,
    cache: Cache,
    weights: Weights,
    model_id: String,
    dim: usize,
    max_tokens: usize,
    /// `page_text`'s parts, and the last one read, by lead (a part's leads are adjacent).
    parts: Vec<crate::state::PartRecord>,
    loaded: Option<(usize, HashMap<String, Vec<PageRow>>)>,
    started: Instant,
    chunks_done: u64,
}

impl UnitStage for EmbedStage {
    type Unit = LeadUnit;
    type Worker<'a> = Embedding;

    fn units(&self, ctx: &StageContext<'_>) -> anyhow::Result<Vec<LeadUnit>> {
        let texts = lead_texts(&ctx.read(&LEADS)?)?;
        let order: Vec<String> = texts.iter().map(|l| l.lead_id.clone()).collect();
        let mut own: HashMap<String, LeadText> =
            texts.into_iter().map(|l| (l.lead_id.clone(), l)).collect();
        // Leads with pages, part by part (so that a batch reads few parts), then the others.
        let mut units = Vec::with_capacity(order.len());
        for (i, part) in ctx.parts_of(&PAGE_TEXT)?.iter().enumerate() {
            for b in ctx.read_part_columns(part, &["lead_id"])? {
                for id in b.column(0).as_string::<i32>().iter().flatten() {
                    if let Some(text) = own.remove(id) {
                        units.push(LeadUnit {
                            text,
                            part: Some(i),
                        });
                    }
                }
            }
        }
        for id in order {
            if let Some(text) = own.remove(&id) {
                units.push(LeadUnit { text, part: None });
            }
        }
        Ok(units)
    }

    fn key(unit: &LeadUnit) -> &str {
        &unit.text.lead_id
    }

    fn part_units(&self, ctx: &StageContext<'_>) -> usize {
        ctx.config.embed.part_leads
    }

    fn open<'a>(&'a self, ctx: &'a StageContext<'a>) -> anyhow::Result<Embedding> {
        let cfg = &ctx.config.embed;
        let (model, ort) = open_model(cfg)?;
        let precision = precision(cfg, &model)?;
        if let (None, Err(why)) = (cfg.precision, &model.int8) {
            tracing::warn!(
                model = %model.path.display(),
                "embedding with fp32, about 0.6× the speed of int8: no usable int8 variant ({why}); run embed/export/quantize_int8.py on the model folder, or set embed.precision = \"fp32\" to silence this"
            );
        }
        let max_tokens = match cfg.max_tokens {
            0 => model.max_length,
            n => n.min(model.max_length),
        };
        let options = EmbedOptions {
            // `0 = automatic` threads and sessions were resolved when the config was loaded;
            // the sessions share the threads.
            threads: Some((cfg.threads / cfg.sessions.max(1)).max(1)),
            batch_size: cfg.batch_size,
            sessions: cfg.sessions.max(1),
            precision,
            device: match cfg.device {
                EmbedDevice::Cpu => Device::Cpu,
                EmbedDevice::Cuda => Device::Cuda,
            },
        };
        let embedder =
            Embedder::load(model, &ort, options).map_err(|e| UsageError(format!("embed: {e}")))?;
        tracing::info!(
            precision = precision.as_str(),
            device = ?cfg.device,
            model = embedder.model_id(),
            "embedding model loaded"
        );
        let model_id = embedder.model_id().to_owned();
        let dim = embedder.dimension();
        let cache = Cache::open(&ctx.output_dir().join("embed-cache.sqlite"), &model_id)?;
        Ok(Embedding {
            embedder,
            cache,
            weights: Weights::new(cfg),
            model_id,
            dim,
            max_tokens,
            parts: ctx.parts_of(&PAGE_TEXT)?,
            loaded: None,
            started: Instant::now(),
            chunks_done: 0,
        })
    }

    fn work(
        &self,
        w: &mut Embedding,
        ctx: &StageContext<'_>,
        units: &[&LeadUnit],
    ) -> anyhow::Result<Output> {
        // Part by part (claims on a shared store come in any order), each part read once.
        let mut units = units.to_vec();
        units.sort_by_key(|u| u.part);
        let mut leads = Vec::with_capacity(units.len());
        for u in units {
            let pages = match u.part {
                Some(i) => {
                    if w.loaded.as_ref().is_none_or(|(l, _)| *l != i) {
                        let part = w.parts.get(i).context("page_text part list changed")?;
                        w.loaded =
                            Some((i, page_texts(&ctx.read_part(part)?)?.into_iter().collect()));
                    }
                    let (_, by_lead) = w.loaded.as_mut().expect("loaded above");
                    by_lead.remove(&u.text.lead_id).unwrap_or_default()
                }
                None => Vec::new(),
            };
            let texts = sources(Some(&u.text), &pages);
            leads.push(LeadChunks::new(
                &u.text.lead_id,
                texts,
                w.max_tokens,
                &w.embedder,
            ));
        }
        embed_leads(w, ctx, leads)
    }
}

/// A lead's own free text, from `leads`.
struct LeadText {
    lead_id: String,
    description: Option<String>,
    notes: Option<String>,
}

/// One page of `page_text`.
#[derive(Default)]
struct PageRow {
    url: String,
    page_type: String,
    title: Option<String>,
    text: String,
}

/// A text to chunk: (source, page type, title, text).
type Source = (String, String, Option<String>, String);

fn sources(own: Option<&LeadText>, pages: &[PageRow]) -> Vec<Source> {
    let mut out = Vec::new();
    if let Some(l) = own {
        for (kind, text) in [("description", &l.description), ("notes", &l.notes)] {
            if let Some(t) = text.as_deref().map(str::trim).filter(|t| !t.is_empty()) {
                out.push((kind.to_owned(), kind.to_owned(), None, t.to_owned()));
            }
        }
    }
    for p in pages {
        out.push((
            p.url.clone(),
            p.page_type.clone(),
            p.title.clone(),
            p.text.clone(),
        ));
    }
    out
}

/// A lead's chunks, before and after embedding.
struct LeadChunks {
    lead_id: String,
    /// (source, page type, index, text, tokens, hash)
    chunks: Vec<(String, String, u32, String, u32, String)>,
    vectors: Vec<Vec<f32>>,
}

impl LeadChunks {
    fn new(lead_id: &str, sources: Vec<Source>, max_tokens: usize, e: &Embedder) -> LeadChunks {
        let mut chunks = Vec::new();
        for (source, page_type, title, text) in sources {
            let count = |t: &str| e.count_tokens(t);
            for (i, c) in embed::chunk::chunk(&text, title.as_deref(), max_tokens, &count)
                .into_iter()
                .enumerate()
            {
                let hash = text_hash(&c.text);
                chunks.push((
                    source.clone(),
                    page_type.clone(),
                    i as u32,
                    c.text,
                    c.tokens as u32,
                    hash,
                ));
            }
        }
        LeadChunks {
            lead_id: lead_id.to_owned(),
            chunks,
            vectors: Vec::new(),
        }
    }
}

fn text_hash(text: &str) -> String {
    Sha256::digest(text.as_bytes())
        .iter()
        .take(8)
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Weights by source, with the defaults for sources the config leaves out.
struct Weights(BTreeMap<String, f64>);

impl Weights {
    fn new(cfg: &EmbedSection) -> Weights {
        let mut w = EmbedSection::default().weights;
        w.extend(cfg.weights.clone());
        Weights(w)
    }

    fn of(&self, page_type: &str) -> f32 {
        self.0.get(page_type).copied().unwrap_or(0.5) as f32
    }
}

/// Vectors already computed, by (model id, text hash).
struct Cache {
    conn: rusqlite::Connection,
    model: String,
}

impl Cache {
    fn open(path: &Path, model: &str) -> anyhow::Result<Cache> {
        let conn = rusqlite::Connection::open(path)
            .with_context(|| format!("opening the embedding cache {}", path.display()))?;
        conn.execute_batch(
            "PRAGMA journal_mode=WAL;
             CREATE TABLE IF NOT EXISTS vectors (
               model TEXT NOT NULL, hash TEXT NOT NULL, vector BLOB NOT NULL,
               PRIMARY KEY (model, hash));",
        )?;
        Ok(Cache {
            conn,
            model: model.to_owned(),
        })
    }

    fn get(&self, hash: &str) -> anyhow::Result<Option<Vec<f32>>> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT vector FROM vectors WHERE model = ?1 AND hash = ?2")?;
        let blob: Option<Vec<u8>> = stmt
            .query_row(rusqlite::params![self.model, hash], |r| r.get(0))
            .map(Some)
            .or_else(|e| match e {
                rusqlite::Error::QueryReturnedNoRows => Ok(None),
                e => Err(e),
            })?;
        Ok(blob.map(|b| {
            b.chunks_exact(4)
                .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                .collect()
        }))
    }

    fn put(&mut self, entries: &[(&str, &[f32])]) -> anyhow::Result<()> {
        let tx = self.conn.transaction()?;
        {
            let mut stmt = tx.prepare_cached(
                "INSERT OR REPLACE INTO vectors (model, hash, vector) VALUES (?1, ?2, ?3)",
            )?;
            for (hash, v) in entries {
                let blob: Vec<u8> = v.iter().flat_map(|x| x.to_le_bytes()).collect();
                stmt.execute(rusqlite::params![self.model, hash, blob])?;
            }
        }
        tx.commit()?;
        Ok(())
    }
}

/// Texts per embedding call: the stop flag is checked between calls, so a stop waits for at
/// most one of them; each call still sorts its texts by length, and the texts are sorted by
/// token count before they are cut into calls.
const STOP_CHECK_TEXTS: usize = 64;

/// Embeds a part's leads (cache first, then the misses, each distinct text once) into its
/// `chunks` and `lead_embeddings` rows. At a stop, nothing of the part is kept: its leads stay
/// pending (the vectors already computed are in the cache).
fn embed_leads(
    w: &mut Embedding,
    ctx: &StageContext<'_>,
    mut leads: Vec<LeadChunks>,
) -> anyhow::Result<Output> {
    let dim = w.dim;
    // Cache lookups, then the embedding calls over every miss of the part.
    let mut missing: Vec<(usize, usize)> = Vec::new();
    let mut cached = 0u64;
    for (li, lead) in leads.iter_mut().enumerate() {
        lead.vectors = vec![Vec::new(); lead.chunks.len()];
        for (ci, chunk) in lead.chunks.iter().enumerate() {
            match w.cache.get(&chunk.5)? {
                Some(v) if v.len() == dim => {
                    lead.vectors[ci] = v;
                    cached += 1;
                }
                _ => missing.push((li, ci)),
            }
        }
    }
    // A text repeated within the part (same hash) is embedded once.
    let mut first: HashMap<&str, usize> = HashMap::new();
    let mut unique: Vec<(usize, usize)> = Vec::new();
    let slot: Vec<usize> = missing
        .iter()
        .map(|&(li, ci)| {
            *first
                .entry(leads[li].chunks[ci].5.as_str())
                .or_insert_with(|| {
                    unique.push((li, ci));
                    unique.len() - 1
                })
        })
        .collect();
    drop(first);
    let mut order: Vec<usize> = (0..unique.len()).collect();
    order.sort_by_key(|&k| leads[unique[k].0].chunks[unique[k].1].4);
    let mut fresh: Vec<Vec<f32>> = vec![Vec::new(); unique.len()];
    for call in order.chunks(STOP_CHECK_TEXTS) {
        if ctx.should_stop() {
            return Ok(Output::default());
        }
        let texts: Vec<&str> = call
            .iter()
            .map(|&k| leads[unique[k].0].chunks[unique[k].1].3.as_str())
            .collect();
        let tokens: Vec<usize> = call
            .iter()
            .map(|&k| leads[unique[k].0].chunks[unique[k].1].4 as usize)
            .collect();
        let vectors = w
            .embedder
            .embed_counted(&texts, &tokens)
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        let entries: Vec<(&str, &[f32])> = call
            .iter()
            .zip(&vectors)
            .map(|(&k, v)| {
                (
                    leads[unique[k].0].chunks[unique[k].1].5.as_str(),
                    v.as_slice(),
                )
            })
            .collect();
        // The cache may run ahead of the tables (a crash between the two only saves work later).
        w.cache.put(&entries)?;
        drop(entries);
        for (&k, v) in call.iter().zip(vectors) {
            fresh[k] = v;
        }
    }
    for (&(li, ci), &k) in missing.iter().zip(&slot) {
        leads[li].vectors[ci] = fresh[k].clone();
    }
    drop(fresh);

    let n_chunks: u64 = leads.iter().map(|l| l.chunks.len() as u64).sum();
    let mut out = Output::default();
    out.counters.insert("leads".to_owned(), leads.len() as u64);
    out.counters.insert("chunks".to_owned(), n_chunks);
    out.counters
        .insert("embedded".to_owned(), unique.len() as u64);
    out.counters
        .insert("repeated".to_owned(), (missing.len() - unique.len()) as u64);
    out.counters.insert("cached".to_owned(), cached);
    out.units = leads
        .iter()
        .map(|l| UnitOutcome::done(&l.lead_id))
        .collect();
    out.tables = vec![
        (&CHUNKS, vec![chunks_batch(&leads, dim)?]),
        (
            &LEAD_EMBEDDINGS,
            vec![lead_batch(&leads, &w.weights, &w.model_id, dim)?],
        ),
    ];
    out.meta = vec![
        ("leadcrawl.model_id".into(), w.model_id.clone()),
        ("leadcrawl.dimension".into(), dim.to_string()),
        (
            "leadcrawl.precision".into(),
            w.embedder.precision().as_str().into(),
        ),
    ];
    w.chunks_done += n_chunks;
    let rate = w.chunks_done as f64 / w.started.elapsed().as_secs_f64().max(1e-3);
    out.note = format!("{} chunks, {rate:.0} chunks/s", w.chunks_done);
    Ok(out)
}

fn lead_texts(batches: &[RecordBatch]) -> anyhow::Result<Vec<LeadText>> {
    let mut out = Vec::new();
    for b in batches {
        let col = |n: &str| b.column_by_name(n).with_context(|| format!("leads.{n}"));
        let (ids, desc, notes) = (
            col("lead_id")?.as_string::<i32>(),
            col("description")?.as_string::<i32>(),
            col("notes")?.as_string::<i32>(),
        );
        for r in 0..b.num_rows() {
            let opt =
                |a: &arrow::array::StringArray| (!a.is_null(r)).then(|| a.value(r).to_owned());
            out.push(LeadText {
                lead_id: ids.value(r).to_owned(),
                description: opt(desc),
                notes: opt(notes),
            });
        }
    }
    Ok(out)
}

/// Pages of one extract part, grouped by lead in first-seen order.
fn page_texts(batches: &[RecordBatch]) -> anyhow::Result<Vec<(String, Vec<PageRow>)>> {
    let mut out: Vec<(String, Vec<PageRow>)> = Vec::new();
    let mut index: HashMap<String, usize> = HashMap::new();
    for b in batches {
        let col = |n: &str| {
            b.column_by_name(n)
                .with_context(|| format!("page_text.{n}"))
        };
        let ids = col("lead_id")?.as_string::<i32>();
        let urls = col("url")?.as_string::<i32>();
        let types = arrow::compute::cast(col("page_type")?, &arrow::datatypes::DataType::Utf8)?;
        let types = types.as_string::<i32>();
        let titles = col("title")?.as_string::<i32>();
        let texts = col("text")?.as_string::<i32>();
        for r in 0..b.num_rows() {
            let id = ids.value(r);
            let i = *index.entry(id.to_owned()).or_insert_with(|| {
                out.push((id.to_owned(), Vec::new()));
                out.len() - 1
            });
            out[i].1.push(PageRow {
                url: urls.value(r).to_owned(),
                page_type: types.value(r).to_owned(),
                title: (!titles.is_null(r)).then(|| titles.value(r).to_owned()),
                text: texts.value(r).to_owned(),
            });
        }
    }
    Ok(out)
}
