//! Embed: `page_text` and the leads' own description and notes → `chunks` (one vector per chunk)
//! and `lead_embeddings` (one pooled vector per lead).
//!
//! The unit of work is a lead. Extract parts are read one at a time (a lead's pages are in one
//! part); each lead's texts are chunked to the model's length with the model's tokenizer, and
//! chunk vectors come from a cache keyed by (model id, text hash) in `embed-cache.sqlite` next
//! to the tables, so that unchanged text is never embedded twice, across runs and resets. Only
//! the misses go to the model, in length-sorted batches. A lead's vector is the weighted mean of
//! its chunk vectors (weights by source, `embed.weights`), L2-normalised.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use anyhow::Context;
use arrow::array::{
    Array, ArrayRef, AsArray, FixedSizeListBuilder, Float32Builder, RecordBatch, StringArray,
    UInt32Array,
};
use embed::{EmbedOptions, Embedder, ModelDir};
use sha2::{Digest, Sha256};

use super::{Stage, StageContext, StageOutcome};
use crate::config::{Config, EmbedSection};
use crate::exit::UsageError;
use crate::schema::{TableDef, CHUNKS, LEAD_EMBEDDINGS};
use crate::state::UnitOutcome;
use crate::table;

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

    fn after(&self) -> &'static [&'static str] {
        &["ingest", "extract"]
    }

    fn tables(&self) -> &'static [&'static TableDef] {
        &[&CHUNKS, &LEAD_EMBEDDINGS]
    }

    fn fingerprint(&self, config: &Config) -> anyhow::Result<String> {
        let (model, _) = open_model(&config.embed)?;
        Ok(format!(
            "model={};embed={}",
            model.id,
            config.fingerprint("embed")
        ))
    }

    fn run(&self, ctx: &StageContext<'_>) -> anyhow::Result<StageOutcome> {
        let cfg = &ctx.config.embed;
        let (model, ort) = open_model(cfg)?;
        let max_tokens = match cfg.max_tokens {
            0 => model.max_length,
            n => n.min(model.max_length),
        };
        let options = EmbedOptions {
            // `0 = one per core` was resolved when the config was loaded.
            threads: Some(cfg.threads.max(1)),
            batch_size: cfg.batch_size,
            group_size: cfg.batch_size,
        };
        let mut embedder =
            Embedder::load(model, &ort, options).map_err(|e| UsageError(format!("embed: {e}")))?;
        let model_id = embedder.model.id.clone();
        let dim = embedder.dimension();
        let mut cache = Cache::open(&ctx.output_dir().join("embed-cache.sqlite"), &model_id)?;

        let leads = lead_texts(&table::read_registered(
            ctx.store,
            ctx.output_dir(),
            "ingest",
            "leads",
        )?)?;
        ctx.store.set_units_total(ctx.stage, leads.len() as u64)?;
        ctx.progress.set_total(leads.len() as u64);
        let finished = ctx.store.finished_units(ctx.stage)?;
        ctx.progress.inc(
            leads
                .iter()
                .filter(|l| finished.contains(&l.lead_id))
                .count() as u64,
            "already done",
        );
        let own: HashMap<&str, &LeadText> = leads.iter().map(|l| (l.lead_id.as_str(), l)).collect();
        let mut run = Run {
            part_seq: ctx.store.parts(ctx.stage)?.len(),
            pending: Vec::new(),
            pending_chunks: 0,
            counters: BTreeMap::new(),
            started: Instant::now(),
            chunks_done: 0,
        };
        let mut seen: HashSet<String> = HashSet::new();
        let extract_parts: Vec<_> = ctx
            .store
            .parts("extract")?
            .into_iter()
            .filter(|p| p.table == "page_text")
            .collect();
        let weights = Weights::new(cfg);
        for part in extract_parts {
            if ctx.should_stop() {
                break;
            }
            let batches = table::read_file(&ctx.output_dir().join(&part.file))?;
            for (lead_id, pages) in page_texts(&batches)? {
                if finished.contains(&lead_id) || !seen.insert(lead_id.clone()) {
                    continue;
                }
                let texts = sources(own.get(lead_id.as_str()).copied(), &pages);
                run.push(LeadChunks::new(&lead_id, texts, max_tokens, &embedder));
                if run.full(cfg.part_leads) {
                    run.commit(ctx, &mut embedder, &mut cache, &weights, &model_id, dim)?;
                }
            }
        }
        if !ctx.should_stop() {
            for lead in &leads {
                if finished.contains(&lead.lead_id) || seen.contains(&lead.lead_id) {
                    continue;
                }
                let texts = sources(Some(lead), &[]);
                run.push(LeadChunks::new(&lead.lead_id, texts, max_tokens, &embedder));
                if run.full(cfg.part_leads) {
                    run.commit(ctx, &mut embedder, &mut cache, &weights, &model_id, dim)?;
                }
            }
        }
        run.commit(ctx, &mut embedder, &mut cache, &weights, &model_id, dim)?;
        if ctx.should_stop() {
            return Ok(StageOutcome::Interrupted);
        }
        tracing::info!(counters = ?run.counters, "embed finished");
        Ok(StageOutcome::Completed { units_failed: 0 })
    }
}

/// A lead's own free text, from `leads`.
struct LeadText {
    lead_id: String,
    description: Option<String>,
    notes: Option<String>,
}

/// One page of `page_text`.
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

struct Run {
    part_seq: usize,
    pending: Vec<LeadChunks>,
    /// Chunks in `pending`.
    pending_chunks: usize,
    counters: BTreeMap<String, u64>,
    started: Instant,
    chunks_done: u64,
}

/// Chunks held before a part is cut whatever `part_leads` says: a part's texts, vectors and
/// Arrow batches are what the stage holds in memory, so this bounds it (with the model's) for
/// any number of leads and pages.
const PART_CHUNKS: usize = 4096;

impl Run {
    fn push(&mut self, lead: LeadChunks) {
        self.pending_chunks += lead.chunks.len();
        self.pending.push(lead);
    }

    fn full(&self, part_leads: usize) -> bool {
        self.pending.len() >= part_leads || self.pending_chunks >= PART_CHUNKS
    }

    fn commit(
        &mut self,
        ctx: &StageContext<'_>,
        embedder: &mut Embedder,
        cache: &mut Cache,
        weights: &Weights,
        model_id: &str,
        dim: usize,
    ) -> anyhow::Result<()> {
        if self.pending.is_empty() {
            return Ok(());
        }
        let mut leads = std::mem::take(&mut self.pending);
        self.pending_chunks = 0;
        // Cache lookups, then one embedding call over every miss of the part.
        let mut missing: Vec<(usize, usize)> = Vec::new();
        let mut cached = 0u64;
        for (li, lead) in leads.iter_mut().enumerate() {
            lead.vectors = vec![Vec::new(); lead.chunks.len()];
            for (ci, chunk) in lead.chunks.iter().enumerate() {
                match cache.get(&chunk.5)? {
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
        let texts: Vec<&str> = unique
            .iter()
            .map(|&(li, ci)| leads[li].chunks[ci].3.as_str())
            .collect();
        let tokens: Vec<usize> = unique
            .iter()
            .map(|&(li, ci)| leads[li].chunks[ci].4 as usize)
            .collect();
        let fresh = embedder
            .embed_counted(&texts, &tokens)
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        drop(texts);
        for (&(li, ci), &k) in missing.iter().zip(&slot) {
            leads[li].vectors[ci] = fresh[k].clone();
        }
        drop(fresh);
        let entries: Vec<(&str, &[f32])> = unique
            .iter()
            .map(|&(li, ci)| {
                (
                    leads[li].chunks[ci].5.as_str(),
                    leads[li].vectors[ci].as_slice(),
                )
            })
            .collect();
        // The cache may run ahead of the tables (a crash between the two only saves work later).
        cache.put(&entries)?;
        drop(entries);

        let n_chunks: u64 = leads.iter().map(|l| l.chunks.len() as u64).sum();
        let mut part_counters = BTreeMap::new();
        part_counters.insert("leads".to_owned(), leads.len() as u64);
        part_counters.insert("chunks".to_owned(), n_chunks);
        part_counters.insert("embedded".to_owned(), unique.len() as u64);
        part_counters.insert("repeated".to_owned(), (missing.len() - unique.len()) as u64);
        part_counters.insert("cached".to_owned(), cached);
        let units: Vec<UnitOutcome> = leads
            .iter()
            .map(|l| UnitOutcome::done(&l.lead_id))
            .collect();
        let chunks = chunks_batch(&leads, dim)?;
        let pooled = lead_batch(&leads, weights, model_id, dim)?;
        ctx.commit_parts(
            &format!("part-{:05}.parquet", self.part_seq),
            &[(&CHUNKS, vec![chunks]), (&LEAD_EMBEDDINGS, vec![pooled])],
            &[
                ("leadcrawl.model_id".into(), model_id.into()),
                ("leadcrawl.dimension".into(), dim.to_string()),
            ],
            &units,
            &part_counters,
        )?;
        self.part_seq += 1;
        self.chunks_done += n_chunks;
        let rate = self.chunks_done as f64 / self.started.elapsed().as_secs_f64().max(1e-3);
        ctx.progress.inc(
            leads.len() as u64,
            &format!("{} chunks, {rate:.0} chunks/s", self.chunks_done),
        );
        for (k, v) in part_counters {
            *self.counters.entry(k).or_default() += v;
        }
        Ok(())
    }
}

fn vectors_array<'a>(rows: impl Iterator<Item = Option<&'a [f32]>>, dim: usize) -> ArrayRef {
    let mut b = FixedSizeListBuilder::new(Float32Builder::new(), dim as i32).with_field(Arc::new(
        arrow::datatypes::Field::new("item", arrow::datatypes::DataType::Float32, false),
    ));
    for row in rows {
        match row {
            Some(v) => {
                b.values().append_slice(v);
                b.append(true);
            }
            None => {
                b.values().append_slice(&vec![0.0; dim]);
                b.append(false);
            }
        }
    }
    Arc::new(b.finish())
}

fn chunks_batch(leads: &[LeadChunks], dim: usize) -> anyhow::Result<RecordBatch> {
    let rows: Vec<(&LeadChunks, usize)> = leads
        .iter()
        .flat_map(|l| (0..l.chunks.len()).map(move |i| (l, i)))
        .collect();
    let s = |f: &dyn Fn(&LeadChunks, usize) -> &str| -> ArrayRef {
        Arc::new(
            rows.iter()
                .map(|&(l, i)| Some(f(l, i)))
                .collect::<StringArray>(),
        )
    };
    let cols: Vec<ArrayRef> = vec![
        s(&|l, _| l.lead_id.as_str()),
        s(&|l, i| l.chunks[i].0.as_str()),
        table::dict(rows.iter().map(|&(l, i)| l.chunks[i].1.as_str())),
        Arc::new(
            rows.iter()
                .map(|&(l, i)| l.chunks[i].2)
                .collect::<UInt32Array>(),
        ),
        s(&|l, i| l.chunks[i].3.as_str()),
        Arc::new(
            rows.iter()
                .map(|&(l, i)| l.chunks[i].4)
                .collect::<UInt32Array>(),
        ),
        s(&|l, i| l.chunks[i].5.as_str()),
        vectors_array(
            rows.iter().map(|&(l, i)| Some(l.vectors[i].as_slice())),
            dim,
        ),
    ];
    Ok(RecordBatch::try_new(
        CHUNKS.arrow_schema_with_dim(dim as i32),
        cols,
    )?)
}

/// The weighted, L2-normalised mean of a lead's chunk vectors; `None` without any weight.
fn pool(lead: &LeadChunks, weights: &Weights, dim: usize) -> (Option<Vec<f32>>, u32) {
    let mut sum = vec![0f32; dim];
    let mut n = 0u32;
    for (chunk, v) in lead.chunks.iter().zip(&lead.vectors) {
        let w = weights.of(&chunk.1);
        if w <= 0.0 || v.len() != dim {
            continue;
        }
        n += 1;
        for (s, x) in sum.iter_mut().zip(v) {
            *s += w * x;
        }
    }
    let norm = sum.iter().map(|x| x * x).sum::<f32>().sqrt();
    if n == 0 || norm == 0.0 {
        return (None, 0);
    }
    (Some(sum.into_iter().map(|x| x / norm).collect()), n)
}

fn lead_batch(
    leads: &[LeadChunks],
    weights: &Weights,
    model_id: &str,
    dim: usize,
) -> anyhow::Result<RecordBatch> {
    let pooled: Vec<(Option<Vec<f32>>, u32)> =
        leads.iter().map(|l| pool(l, weights, dim)).collect();
    let cols: Vec<ArrayRef> = vec![
        Arc::new(
            leads
                .iter()
                .map(|l| Some(l.lead_id.as_str()))
                .collect::<StringArray>(),
        ),
        vectors_array(pooled.iter().map(|(v, _)| v.as_deref()), dim),
        Arc::new(pooled.iter().map(|(_, n)| *n).collect::<UInt32Array>()),
        table::dict(leads.iter().map(|_| model_id)),
        Arc::new(leads.iter().map(|_| dim as u32).collect::<UInt32Array>()),
    ];
    Ok(RecordBatch::try_new(
        LEAD_EMBEDDINGS.arrow_schema_with_dim(dim as i32),
        cols,
    )?)
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
