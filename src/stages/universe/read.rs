//! Streaming the bulk files: CSV (plain or the CSV entry of a zip archive, decompressed as it is
//! read) and Parquet (only the columns the parser uses, a chunk of rows at a time through the
//! reader's offset and limit, so a resumed load decodes nothing it already has). Each hands
//! chunks of rows, in order, to a [`ChunkSink`]; nothing holds more than one chunk.

use std::fs::File;
use std::io::{BufReader, Read};
use std::path::Path;

use anyhow::Context;
use arrow::array::{Array, StringArray};
use arrow::datatypes::DataType;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::arrow::ProjectionMask;

use crate::config::UniverseFormat;
use crate::exit::UsageError;

/// Rows decoded per Parquet record batch.
const PARQUET_BATCH_ROWS: usize = 8192;

/// Where a file's rows go, a chunk at a time.
pub trait ChunkSink {
    /// Rows per chunk.
    fn chunk_rows(&self) -> usize;
    /// The file's header (column names, as written): sets how its rows are parsed.
    fn header(&mut self, header: &[&str]) -> anyhow::Result<()>;
    /// Whether chunk `k` is still to do (false: its rows are only skipped).
    fn wants(&self, k: usize) -> bool;
    /// One row of the chunk being read.
    fn row(&mut self, line: u64, fields: &[&str]);
    /// Chunk `k` is read whole (`rows` rows): commit it.
    fn commit(&mut self, k: usize, rows: usize) -> anyhow::Result<()>;
    /// A stop was asked for: the reader returns between chunks.
    fn should_stop(&self) -> bool;
}

/// How a read ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Loaded {
    /// Every chunk of the file is committed (this many chunks).
    Done {
        chunks: usize,
    },
    Interrupted,
}

/// The file's format: as configured, else from its first bytes (`PK\x03\x04` zip, `PAR1`
/// Parquet), else CSV.
pub fn format_of(path: &Path, configured: UniverseFormat) -> anyhow::Result<UniverseFormat> {
    if configured != UniverseFormat::Auto {
        return Ok(configured);
    }
    let mut head = [0u8; 4];
    let mut f = File::open(path).with_context(|| format!("reading {}", path.display()))?;
    let mut n = 0;
    while n < head.len() {
        match f.read(&mut head[n..])? {
            0 => break,
            k => n += k,
        }
    }
    Ok(match &head[..n] {
        b"PK\x03\x04" => UniverseFormat::Zip,
        b"PAR1" => UniverseFormat::Parquet,
        _ => UniverseFormat::Csv,
    })
}

/// Reads one file whole (skipping the chunks the sink already has).
pub fn read_file(
    path: &Path,
    format: UniverseFormat,
    sink: &mut dyn ChunkSink,
) -> anyhow::Result<Loaded> {
    match format_of(path, format)? {
        UniverseFormat::Parquet => read_parquet(path, sink),
        UniverseFormat::Zip => read_zip(path, sink),
        _ => {
            let file = File::open(path).with_context(|| format!("reading {}", path.display()))?;
            read_csv(path, file, sink)
        }
    }
}

/// The archive's CSV entry (the first whose name ends in `.csv`; the only entry otherwise),
/// streamed through its decompressor.
fn read_zip(path: &Path, sink: &mut dyn ChunkSink) -> anyhow::Result<Loaded> {
    let file = File::open(path).with_context(|| format!("reading {}", path.display()))?;
    let mut archive = zip::ZipArchive::new(BufReader::new(file)).map_err(|e| {
        UsageError(format!(
            "{}: not a readable zip archive ({e}); set universe.format if it is not a zip",
            path.display()
        ))
    })?;
    // In index order (the archive's central directory order).
    let names: Vec<String> = archive
        .file_names_raw()
        .map(|n| String::from_utf8_lossy(n).into_owned())
        .collect();
    let index = names
        .iter()
        .position(|n| n.to_ascii_lowercase().ends_with(".csv"))
        .or_else(|| (names.len() == 1).then_some(0))
        .ok_or_else(|| {
            UsageError(format!(
                "{}: the archive holds no .csv file (entries: {})",
                path.display(),
                names.join(", ")
            ))
        })?;
    let entry = archive
        .by_index(index)
        .with_context(|| format!("{}: opening {}", path.display(), names[index]))?;
    read_csv(path, entry, sink)
}

/// A CSV stream: the first record is the header (stray spaces and a BOM trimmed by the parser's
/// column lookup and here); rows of any field count are handed on (the parser rejects a wrong
/// count). Bytes that are not UTF-8 are replaced (U+FFFD) in that row only.
fn read_csv<R: Read>(path: &Path, input: R, sink: &mut dyn ChunkSink) -> anyhow::Result<Loaded> {
    let mut rdr = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .buffer_capacity(1 << 20)
        .from_reader(input);
    let at = |line: u64| format!("{}: line {line}", path.display());
    let mut record = csv::ByteRecord::new();
    if !rdr.read_byte_record(&mut record).with_context(|| at(1))? {
        return Err(UsageError(format!(
            "{}: the file is empty (no header row)",
            path.display()
        ))
        .into());
    }
    let header: Vec<String> = record
        .iter()
        .map(|f| {
            String::from_utf8_lossy(f)
                .trim_start_matches('\u{feff}')
                .trim()
                .to_string()
        })
        .collect();
    sink.header(&header.iter().map(String::as_str).collect::<Vec<_>>())?;
    let per = sink.chunk_rows();
    // The csv crate numbers a record after a CRLF terminator one line early (the `\n` is not yet
    // consumed when the record starts), so lines are counted here too: the previous record's
    // line plus its own line breaks, or the crate's number when it is further on (blank lines,
    // which the crate skips).
    let mut next_line = 2 + newlines(&record);
    let mut k = 0usize;
    loop {
        if sink.should_stop() {
            return Ok(Loaded::Interrupted);
        }
        let want = sink.wants(k);
        let mut n = 0usize;
        while n < per {
            if !rdr
                .read_byte_record(&mut record)
                .with_context(|| at(next_line))?
            {
                break;
            }
            let line = next_line.max(record.position().map_or(0, |p| p.line()));
            next_line = line + 1 + newlines(&record);
            n += 1;
            if !want {
                continue;
            }
            match std::str::from_utf8(record.as_slice()) {
                Ok(_) => {
                    // Valid as a whole; each field is cut at an ASCII delimiter, so valid too.
                    let fields: Vec<&str> = record
                        .iter()
                        .map(|f| std::str::from_utf8(f).unwrap_or(""))
                        .collect();
                    sink.row(line, &fields);
                }
                Err(_) => {
                    let owned: Vec<String> = record
                        .iter()
                        .map(|f| String::from_utf8_lossy(f).into_owned())
                        .collect();
                    sink.row(line, &owned.iter().map(String::as_str).collect::<Vec<_>>());
                }
            }
        }
        if n == 0 && k > 0 {
            return Ok(Loaded::Done { chunks: k });
        }
        if want {
            sink.commit(k, n)?;
        }
        k += 1;
        if n < per {
            return Ok(Loaded::Done { chunks: k });
        }
    }
}

/// Line breaks inside a record's (quoted) fields.
fn newlines(record: &csv::ByteRecord) -> u64 {
    record.as_slice().iter().filter(|&&b| b == b'\n').count() as u64
}

/// A Parquet file: the columns `wanted` names that it has, as text (dates as `YYYY-MM-DD`), one
/// chunk of rows at a time.
fn read_parquet(path: &Path, sink: &mut dyn ChunkSink) -> anyhow::Result<Loaded> {
    let open = || -> anyhow::Result<ParquetRecordBatchReaderBuilder<File>> {
        let file = File::open(path).with_context(|| format!("reading {}", path.display()))?;
        ParquetRecordBatchReaderBuilder::try_new(file).map_err(|e| {
            UsageError(format!(
                "{}: not a readable Parquet file ({e})",
                path.display()
            ))
            .into()
        })
    };
    let builder = open()?;
    let all: Vec<String> = builder
        .schema()
        .fields()
        .iter()
        .map(|f| f.name().clone())
        .collect();
    let total = builder.metadata().file_metadata().num_rows().max(0) as usize;
    let all_refs: Vec<&str> = all.iter().map(String::as_str).collect();
    let wanted = enrich::registry::bulk::columns_for(&all_refs);
    let projected: Vec<&str> = all_refs
        .iter()
        .copied()
        .filter(|c| wanted.contains(c))
        .collect();
    sink.header(&projected)?;
    let per = sink.chunk_rows();
    let chunks = total.div_ceil(per).max(1);
    for k in 0..chunks {
        if sink.should_stop() {
            return Ok(Loaded::Interrupted);
        }
        if !sink.wants(k) {
            continue;
        }
        let builder = open()?;
        let mask = ProjectionMask::columns(builder.parquet_schema(), projected.iter().copied());
        let reader = builder
            .with_projection(mask)
            .with_batch_size(PARQUET_BATCH_ROWS)
            .with_offset(k * per)
            .with_limit(per)
            .build()
            .with_context(|| format!("{}: reading rows from {}", path.display(), k * per))?;
        let mut n = 0usize;
        for batch in reader {
            let batch = batch
                .with_context(|| format!("{}: reading rows from {}", path.display(), k * per))?;
            // In projected order (the file's column order), as the header was given.
            let columns: Vec<StringArray> = batch
                .columns()
                .iter()
                .map(|c| as_text(c.as_ref()))
                .collect::<anyhow::Result<_>>()
                .with_context(|| format!("{}: a column is not text", path.display()))?;
            let mut fields: Vec<&str> = Vec::with_capacity(columns.len());
            for i in 0..batch.num_rows() {
                fields.clear();
                fields.extend(
                    columns
                        .iter()
                        .map(|c| if c.is_null(i) { "" } else { c.value(i) }),
                );
                n += 1;
                sink.row((k * per + n) as u64, &fields);
            }
        }
        sink.commit(k, n)?;
    }
    Ok(Loaded::Done { chunks })
}

/// A column as text: strings as they are, dates as `YYYY-MM-DD`, numbers written out.
fn as_text(col: &dyn Array) -> anyhow::Result<StringArray> {
    let cast = arrow::compute::cast(&arrow::array::make_array(col.to_data()), &DataType::Utf8)?;
    cast.as_any()
        .downcast_ref::<StringArray>()
        .cloned()
        .ok_or_else(|| anyhow::anyhow!("cast to text gave {:?}", cast.data_type()))
}
