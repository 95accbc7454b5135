//! Streaming the bulk files: CSV (plain or the CSV entry of a zip archive, decompressed as it is
//! read) and Parquet (only the columns the parser uses, a chunk of rows at a time through the
//! reader's offset and limit, so a resumed load decodes nothing it already has). Each hands
//! chunks of rows, in order, to a [`ChunkSink`]; nothing holds more than one chunk.

use std::fs::File;
use std::io::{BufReader, Read};
use std::path::Path;

use anyhow::Context;
use std::sync::Arc;

use arrow::array::{Array, AsArray, BooleanArray, RecordBatch, StringArray};
use arrow::datatypes::{DataType, Field, Int64Type};
use parquet::arrow::arrow_reader::{
    ArrowPredicateFn, ArrowReaderOptions, ParquetRecordBatchReaderBuilder, RowFilter, RowSelection,
    RowSelector,
};
use parquet::arrow::{ProjectionMask, RowNumber};

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
    /// Rows a columnar reader may leave out unread: `(column, value)`, rows whose `column` is
    /// exactly `value` (set once the header is known). None: every row is handed on.
    fn skip_rows_where(&self) -> Option<(&'static str, &'static str)> {
        None
    }
    /// `n` rows of the chunk being read were left out by [`ChunkSink::skip_rows_where`].
    fn skipped(&mut self, _n: u64) {}
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
    sink: &mut (dyn ChunkSink + Send),
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

/// A Parquet file read by one thread: [`read_parquet_striped`] with one stripe.
fn read_parquet(path: &Path, sink: &mut (dyn ChunkSink + Send)) -> anyhow::Result<Loaded> {
    read_parquet_striped(path, std::slice::from_mut(&mut &mut *sink))
}

/// A Parquet file read by `sinks.len()` threads, each its own stripe of the chunks still to do
/// (sink `t` reads chunks `t`, `t + T`, … of them) with its own reader: only the columns the
/// parser uses, as text (dates as `YYYY-MM-DD`). Rows the sinks do not want
/// ([`ChunkSink::skip_rows_where`]: the ceased units of a load of active ones) are filtered
/// while decoding. A row's number comes from the reader (the file's row index), so chunks are
/// cut by position whatever the filter leaves.
pub fn read_parquet_striped(
    path: &Path,
    sinks: &mut [&mut (dyn ChunkSink + Send)],
) -> anyhow::Result<Loaded> {
    let open = || -> anyhow::Result<ParquetRecordBatchReaderBuilder<File>> {
        let file = File::open(path).with_context(|| format!("reading {}", path.display()))?;
        let row_number =
            Arc::new(Field::new(ROW_NUMBER, DataType::Int64, false).with_extension_type(RowNumber));
        let options = ArrowReaderOptions::new()
            .with_virtual_columns(vec![row_number])
            .context("the Parquet reader's row numbers")?;
        ParquetRecordBatchReaderBuilder::try_new_with_options(file, options).map_err(|e| {
            UsageError(format!(
                "{}: not a readable Parquet file ({e})",
                path.display()
            ))
            .into()
        })
    };
    let builder = open()?;
    let all: Vec<String> = builder
        .parquet_schema()
        .columns()
        .iter()
        .map(|c| c.name().to_string())
        .collect();
    let all_refs: Vec<&str> = all.iter().map(String::as_str).collect();
    let wanted = enrich::registry::bulk::columns_for(&all_refs);
    let projected: Vec<&str> = all_refs
        .iter()
        .copied()
        .filter(|c| wanted.contains(c))
        .collect();
    let Some((lead, _)) = sinks.split_first_mut() else {
        return Ok(Loaded::Done { chunks: 0 });
    };
    // Chunks are whole row groups (consecutive ones up to `chunk_rows` rows); a row group larger
    // than that is cut into chunks of `chunk_rows` rows, all read by one reader, so that a chunk
    // never holds more rows than configured whatever the writer's row groups, and no reader
    // decodes a row group it then skips part of.
    let per = lead.chunk_rows();
    let mut plan: Vec<Chunk> = Vec::new();
    // Each row group's first row and row count.
    let mut groups: Vec<(usize, usize)> = Vec::new();
    let mut start = 0usize;
    for (g, rg) in builder.metadata().row_groups().iter().enumerate() {
        let rows = rg.num_rows().max(0) as usize;
        groups.push((start, rows));
        match plan.last_mut() {
            Some(c) if !c.cut && c.rows > 0 && c.rows + rows <= per => {
                c.rows += rows;
                c.groups.push(g);
            }
            _ if rows > per => {
                for at in (0..rows).step_by(per) {
                    plan.push(Chunk {
                        k: plan.len(),
                        start: start + at,
                        rows: per.min(rows - at),
                        groups: vec![g],
                        cut: true,
                    });
                }
            }
            _ => plan.push(Chunk {
                k: plan.len(),
                start,
                rows,
                groups: vec![g],
                cut: false,
            }),
        }
        start += rows;
    }
    if plan.is_empty() {
        // No row group: one empty chunk, committed like an empty CSV's.
        plan.push(Chunk {
            k: 0,
            start: 0,
            rows: 0,
            groups: Vec::new(),
            cut: false,
        });
    }
    let chunks = plan.len();
    let todo: Vec<Chunk> = plan.into_iter().filter(|c| lead.wants(c.k)).collect();
    for sink in sinks.iter_mut() {
        sink.header(&projected)?;
    }
    let stripes = sinks.len();
    // Round robin over the chunks, except that the slices of one cut row group go to the same
    // reader, which then decodes that row group once, in order.
    let mut stripe_of = Vec::with_capacity(todo.len());
    let mut block = 0usize;
    for (i, c) in todo.iter().enumerate() {
        if i > 0 && !(c.cut && todo[i - 1].cut && todo[i - 1].groups == c.groups) {
            block += 1;
        }
        stripe_of.push(block % stripes);
    }
    let outcomes: Vec<anyhow::Result<Loaded>> = std::thread::scope(|scope| {
        let handles: Vec<_> = sinks
            .iter_mut()
            .enumerate()
            .map(|(t, sink)| {
                let mine: Vec<Chunk> = todo
                    .iter()
                    .zip(&stripe_of)
                    .filter(|(_, &s)| s == t)
                    .map(|(c, _)| c.clone())
                    .collect();
                let (projected, open, groups) = (&projected, &open, &groups);
                scope.spawn(move || -> anyhow::Result<Loaded> {
                    if mine.is_empty() {
                        return Ok(Loaded::Done { chunks });
                    }
                    let stripe = Stripe { path, mine, groups };
                    stripe.read(open()?, projected, &mut **sink)?;
                    Ok(if sink.should_stop() {
                        Loaded::Interrupted
                    } else {
                        Loaded::Done { chunks }
                    })
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err(anyhow::anyhow!("a universe reader thread panicked")))
            })
            .collect()
    });
    let mut loaded = Loaded::Done { chunks };
    for o in outcomes {
        if o? == Loaded::Interrupted {
            loaded = Loaded::Interrupted;
        }
    }
    Ok(loaded)
}

/// A chunk of a Parquet file: consecutive row groups, or a slice of one large row group.
#[derive(Debug, Clone)]
struct Chunk {
    k: usize,
    /// The file row index of its first row.
    start: usize,
    rows: usize,
    groups: Vec<usize>,
    /// A slice of a row group larger than a chunk.
    cut: bool,
}

/// One reader thread's share of a Parquet file: the chunks `mine`, in order.
struct Stripe<'a> {
    path: &'a Path,
    mine: Vec<Chunk>,
    /// Every row group's first row and row count.
    groups: &'a [(usize, usize)],
}

impl Stripe<'_> {
    /// Reads the chunks; returns early (Ok) when the sink asks to stop between chunks.
    fn read(
        &self,
        builder: ParquetRecordBatchReaderBuilder<File>,
        projected: &[&str],
        sink: &mut dyn ChunkSink,
    ) -> anyhow::Result<()> {
        let path = self.path;
        let mut groups: Vec<usize> = self.mine.iter().flat_map(|c| c.groups.clone()).collect();
        groups.dedup();
        // Over the rows of those groups: this stripe's chunks selected, the rest (the other
        // stripes' slices of a cut row group) skipped.
        let mut selectors = Vec::new();
        for &g in &groups {
            let (gs, gr) = self.groups[g];
            let mut at = gs;
            for c in self.mine.iter().filter(|c| c.groups.contains(&g)) {
                let (from, to) = (c.start.max(gs), (c.start + c.rows).min(gs + gr));
                if from > at {
                    selectors.push(RowSelector::skip(from - at));
                }
                if to > from {
                    selectors.push(RowSelector::select(to - from));
                    at = to;
                }
            }
            if gs + gr > at {
                selectors.push(RowSelector::skip(gs + gr - at));
            }
        }
        let mask = ProjectionMask::columns(builder.parquet_schema(), projected.iter().copied());
        let mut builder = builder
            .with_projection(mask)
            .with_batch_size(PARQUET_BATCH_ROWS)
            .with_row_groups(groups)
            .with_row_selection(RowSelection::from(selectors));
        if let Some((column, value)) = sink
            .skip_rows_where()
            .filter(|(c, _)| projected.contains(c))
        {
            let mask = ProjectionMask::columns(builder.parquet_schema(), [column]);
            let keep = ArrowPredicateFn::new(mask, move |batch: RecordBatch| {
                let text = arrow::compute::cast(batch.column(0), &DataType::Utf8)?;
                let text = text.as_string::<i32>();
                // A null or any other value is kept: the parser decides (or rejects) it.
                Ok((0..text.len())
                    .map(|i| Some(text.is_null(i) || text.value(i) != value))
                    .collect::<BooleanArray>())
            });
            builder = builder.with_row_filter(RowFilter::new(vec![Box::new(keep)]));
        }
        let first = self.mine.first().map_or(0, |c| c.start);
        let reader = builder
            .build()
            .with_context(|| format!("{}: reading rows from {first}", path.display()))?;
        // The position in `mine` of the chunk being read, and its rows handed on so far.
        let mut i = 0usize;
        let mut seen = 0usize;
        // Ends the chunk being read (its rows not handed on were filtered); false: stop.
        let end_chunk = |sink: &mut dyn ChunkSink, i: &mut usize, seen: &mut usize| {
            let c = &self.mine[*i];
            sink.skipped((c.rows - *seen) as u64);
            sink.commit(c.k, c.rows)?;
            *i += 1;
            *seen = 0;
            anyhow::Ok(!sink.should_stop())
        };
        for batch in reader {
            let batch = batch.with_context(|| {
                format!(
                    "{}: reading rows from {}",
                    path.display(),
                    self.mine.get(i).map_or(0, |c| c.start)
                )
            })?;
            let numbers = batch
                .column(batch.num_columns() - 1)
                .as_primitive::<Int64Type>()
                .clone();
            // In projected order (the file's column order), as the header was given.
            let columns: Vec<StringArray> = batch.columns()[..batch.num_columns() - 1]
                .iter()
                .map(|c| as_text(c.as_ref()))
                .collect::<anyhow::Result<_>>()
                .with_context(|| format!("{}: a column is not text", path.display()))?;
            let mut fields: Vec<&str> = Vec::with_capacity(columns.len());
            for r in 0..batch.num_rows() {
                let row = numbers.value(r).max(0) as usize;
                while i < self.mine.len() && row >= self.mine[i].start + self.mine[i].rows {
                    if !end_chunk(sink, &mut i, &mut seen)? {
                        return Ok(());
                    }
                }
                seen += 1;
                fields.clear();
                fields.extend(
                    columns
                        .iter()
                        .map(|c| if c.is_null(r) { "" } else { c.value(r) }),
                );
                sink.row(row as u64 + 1, &fields);
            }
        }
        // The last chunks, those whose rows were all filtered included.
        while i < self.mine.len() {
            if !end_chunk(sink, &mut i, &mut seen)? {
                return Ok(());
            }
        }
        Ok(())
    }
}

/// The name of the reader's row-number column (not a SIRENE column name).
const ROW_NUMBER: &str = "__leadcrawl_row_number";

/// A column as text: strings as they are, dates as `YYYY-MM-DD`, numbers written out.
fn as_text(col: &dyn Array) -> anyhow::Result<StringArray> {
    if let Some(days) = col.as_primitive_opt::<arrow::datatypes::Date32Type>() {
        return Ok(date32_text(days));
    }
    let cast = arrow::compute::cast(&arrow::array::make_array(col.to_data()), &DataType::Utf8)?;
    cast.as_any()
        .downcast_ref::<StringArray>()
        .cloned()
        .ok_or_else(|| anyhow::anyhow!("cast to text gave {:?}", cast.data_type()))
}

/// Dates as `YYYY-MM-DD` (what the cast writes for years 0–9999), without the formatter: the
/// stock has two date columns and millions of rows. Other years go through the cast.
fn date32_text(days: &arrow::array::Date32Array) -> StringArray {
    use chrono::Datelike;
    let mut out = arrow::array::StringBuilder::with_capacity(days.len(), days.len() * 10);
    let mut buf = *b"0000-00-00";
    for i in 0..days.len() {
        let date = (!days.is_null(i))
            .then(|| chrono::NaiveDate::from_num_days_from_ce_opt(days.value(i) + 719_163))
            .flatten();
        match date {
            Some(d) if (0..=9999).contains(&d.year()) => {
                let (y, m, dd) = (d.year() as u32, d.month(), d.day());
                for (k, v) in [
                    (0, y / 1000),
                    (1, y / 100 % 10),
                    (2, y / 10 % 10),
                    (3, y % 10),
                ] {
                    buf[k] = b'0' + v as u8;
                }
                buf[5] = b'0' + (m / 10) as u8;
                buf[6] = b'0' + (m % 10) as u8;
                buf[8] = b'0' + (dd / 10) as u8;
                buf[9] = b'0' + (dd % 10) as u8;
                out.append_value(std::str::from_utf8(&buf).unwrap_or_default());
            }
            Some(d) => out.append_value(d.to_string()),
            None if days.is_null(i) => out.append_null(),
            None => out.append_value(days.value(i).to_string()),
        }
    }
    out.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_written_as_the_cast_writes_them() {
        let mut days: Vec<Option<i32>> = (-800_000..3_000_000).step_by(997).map(Some).collect();
        days.extend([None, Some(0), Some(-1), Some(11_016), Some(19_782)]);
        let a = arrow::array::Date32Array::from(days);
        let ours = date32_text(&a);
        let cast = arrow::compute::cast(&a, &DataType::Utf8).unwrap();
        assert_eq!(&ours, cast.as_string::<i32>());
        assert_eq!(ours.value(ours.len() - 1), "2024-02-29");
    }
}
