//! Reading a lead list as exported by real CRMs, one record at a time: CSV in any common encoding
//! and delimiter, or Parquet, into raw string rows that keep their input line numbers.
//!
//! The file is streamed (memory does not grow with it): a first pass over the bytes settles the
//! encoding, then records are cut from physical lines (`\n`, `\r\n` or a lone `\r`, so old Mac
//! files number their lines right). Handled here: UTF-8 BOM, UTF-16 with BOM, windows-1252/latin-1
//! (detected with `chardetng` when the bytes are not UTF-8), a UTF-8 file with a few broken bytes
//! (kept as UTF-8, the bytes replaced, their lines reported), `,` `;` tab `|` delimiters (sniffed
//! from the header line), quoted newlines, blank lines and lines of empty fields. A quote that is
//! never closed, or that would swallow whole rows, does not merge them into one field: the record
//! where it opened becomes a [`Malformed`] record and the lines after it are read again as rows.

use std::collections::VecDeque;
use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

use arrow::array::{Array, StringArray};
use arrow::datatypes::DataType;
use encoding_rs::{CoderResult, Decoder, Encoding, UTF_8};
use parquet::arrow::arrow_reader::{ParquetRecordBatchReader, ParquetRecordBatchReaderBuilder};

use crate::config::InputFormat;

/// A physical line longer than this is not a lead list (a binary file, or one without line
/// breaks): reading stops with an input error rather than holding it in memory.
const MAX_LINE_BYTES: usize = 16 << 20;
/// A quoted field still open after this many further lines is taken for an unbalanced quote.
/// Excel caps a cell at 253 line breaks; CRM notes of more than 200 lines are not seen in
/// practice, and the bound also caps what one record can hold in memory.
pub const MAX_QUOTED_LINES: usize = 200;
/// A quoted field holding more text than this is taken for an unbalanced quote (Excel caps a cell
/// at 32,767 characters; Salesforce's long text at 131,072).
pub const MAX_QUOTED_BYTES: usize = 1 << 20;
/// Lines inside one quoted field that each split into exactly as many fields as the header are
/// rows swallowed by an unbalanced quote, not a multi-line note, once there are this many. With
/// three columns or fewer a line of prose splits that way by chance (two commas in a sentence),
/// so one more is asked for.
pub fn row_like_lines_needed(width: usize) -> usize {
    if width >= 4 {
        2
    } else {
        3
    }
}
/// Parquet rows decoded at a time.
const PARQUET_BATCH_ROWS: usize = 4096;

/// Errors reading the lead list; all are the user's to fix (exit code 2).
#[derive(Debug, thiserror::Error)]
pub enum InputError {
    #[error("cannot read {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path} is a directory, not a lead list; give the path of the CSV or Parquet file")]
    IsDirectory { path: PathBuf },
    #[error("{path}: not a readable Parquet file: {message}")]
    Parquet { path: PathBuf, message: String },
    #[error("{path}: the file has no header row (it is empty or blank)")]
    NoHeader { path: PathBuf },
    #[error("{path}: column names appear more than once in the header: {names}; rename them so each column can be told apart")]
    DuplicateColumns { path: PathBuf, names: String },
    #[error("{path}: cannot tell whether it is CSV or Parquet from its name; set ingest.format = \"csv\" or \"parquet\"")]
    UnknownFormat { path: PathBuf },
    #[error("{path}: {what}, not a CSV file; save it as CSV (UTF-8) or Parquet")]
    NotText { path: PathBuf, what: &'static str },
    #[error("{path}: line {line}: {message}")]
    Csv {
        path: PathBuf,
        line: u64,
        message: String,
    },
}

/// One data row: where it was, and its fields as text.
#[derive(Debug, Clone, PartialEq)]
pub struct RawRow {
    /// 1-based line in the file where the record starts (CSV), or 1-based row number (Parquet).
    pub line: u64,
    /// Last line of the record (differs from `line` when a quoted field spans lines).
    pub end_line: u64,
    pub fields: Vec<String>,
}

/// Input that is not a row (an unbalanced quote): it goes to `rejects` as read.
#[derive(Debug, Clone, PartialEq)]
pub struct Malformed {
    pub line: u64,
    pub end_line: u64,
    pub reason: String,
    /// What went wrong, without what is done about it (for the header, which has no reject).
    pub problem: String,
    /// The fields as far as they could be cut (the unclosed one runs to the end of its line).
    pub fields: Vec<String>,
}

/// What the reader yields after the header.
#[derive(Debug, Clone, PartialEq)]
pub enum Record {
    Row(RawRow),
    Malformed(Malformed),
}

impl Record {
    pub fn line(&self) -> u64 {
        match self {
            Record::Row(r) => r.line,
            Record::Malformed(m) => m.line,
        }
    }
}

/// Bytes that were not valid in a file read as UTF-8 (each replaced by U+FFFD).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct InvalidUtf8 {
    /// Invalid byte sequences.
    pub count: u64,
    /// The first lines holding one (at most [`InvalidUtf8::LINES_KEPT`]).
    pub lines: Vec<u64>,
}

impl InvalidUtf8 {
    pub const LINES_KEPT: usize = 10;

    /// `line 7` / `lines 7, 9 and 12` / `lines 7, 9, … (40 in all)`, for messages.
    pub fn describe_lines(&self) -> String {
        if self.lines.len() == InvalidUtf8::LINES_KEPT && (self.lines.len() as u64) < self.count {
            let shown: Vec<String> = self.lines.iter().map(u64::to_string).collect();
            format!(
                "lines {}, … ({} byte sequences in all)",
                shown.join(", "),
                self.count
            )
        } else {
            list_lines(&self.lines)
        }
    }
}

/// `line 7` / `lines 7 and 9` / `lines 7, 9 and 12`.
fn list_lines(lines: &[u64]) -> String {
    let shown: Vec<String> = lines.iter().map(u64::to_string).collect();
    match shown.as_slice() {
        [] => String::new(),
        [one] => format!("line {one}"),
        [init @ .., last] => format!("lines {} and {last}", init.join(", ")),
    }
}

fn detect_format(path: &Path, format: InputFormat) -> Result<InputFormat, InputError> {
    if format != InputFormat::Auto {
        return Ok(format);
    }
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().to_lowercase())
        .unwrap_or_default();
    if name.ends_with(".parquet") || name.ends_with(".pq") {
        Ok(InputFormat::Parquet)
    } else if name.ends_with(".csv") || name.ends_with(".tsv") || name.ends_with(".txt") {
        Ok(InputFormat::Csv)
    } else {
        Err(InputError::UnknownFormat {
            path: path.to_path_buf(),
        })
    }
}

/// How the CSV bytes become text, settled once per file.
#[derive(Debug, Clone, Copy)]
struct Decoding {
    encoding: &'static Encoding,
    /// Bytes of BOM to skip.
    bom_len: usize,
    /// UTF-8 is passed through (and each line checked); anything else is transcoded.
    passthrough: bool,
}

/// The settled reading of a file, so that it can be read again without detecting anything.
#[derive(Debug, Clone)]
enum Settings {
    Csv { decoding: Decoding, delimiter: u8 },
    Parquet,
}

/// A lead list opened for reading: its header, how it is read, and its records one at a time.
pub struct LeadReader {
    path: PathBuf,
    settings: Settings,
    headers: Vec<String>,
    invalid_utf8: InvalidUtf8,
    source: Source,
}

enum Source {
    Csv(Box<CsvRecords<Box<dyn BufRead>>>),
    Parquet(Box<ParquetRows>),
}

impl std::fmt::Debug for LeadReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LeadReader")
            .field("path", &self.path)
            .field("settings", &self.settings)
            .field("headers", &self.headers)
            .finish_non_exhaustive()
    }
}

impl LeadReader {
    /// Opens the file, settles its encoding and delimiter and reads its header.
    pub fn open(
        path: &Path,
        format: InputFormat,
        encoding: &str,
        delimiter: &str,
    ) -> Result<LeadReader, InputError> {
        if path.is_dir() {
            return Err(InputError::IsDirectory {
                path: path.to_path_buf(),
            });
        }
        match detect_format(path, format)? {
            InputFormat::Parquet => Self::open_parquet(path),
            _ => {
                let (decoding, invalid_utf8) = settle_encoding(path, encoding)?;
                Self::open_csv(
                    path,
                    decoding,
                    crate::config::delimiter_from_config(delimiter).flatten(),
                    invalid_utf8,
                )
            }
        }
    }

    /// The same file from its first record again, read as it was the first time.
    pub fn reopen(&self) -> Result<LeadReader, InputError> {
        match &self.settings {
            Settings::Parquet => Self::open_parquet(&self.path),
            Settings::Csv {
                decoding,
                delimiter,
            } => Self::open_csv(
                &self.path,
                *decoding,
                Some(*delimiter),
                self.invalid_utf8.clone(),
            ),
        }
    }

    fn open_csv(
        path: &Path,
        decoding: Decoding,
        delimiter: Option<u8>,
        invalid_utf8: InvalidUtf8,
    ) -> Result<LeadReader, InputError> {
        let io = |source| InputError::Io {
            path: path.to_path_buf(),
            source,
        };
        let mut file = File::open(path).map_err(io)?;
        std::io::copy(
            &mut (&mut file).take(decoding.bom_len as u64),
            &mut std::io::sink(),
        )
        .map_err(io)?;
        let text: Box<dyn BufRead> = if decoding.passthrough {
            Box::new(BufReader::with_capacity(1 << 16, file))
        } else {
            Box::new(BufReader::with_capacity(
                1 << 16,
                Transcoder::new(file, decoding.encoding.new_decoder_without_bom_handling()),
            ))
        };
        let mut lines = Lines::new(text);
        // The delimiter is sniffed on the first non-blank line, which is then read again.
        let mut head = VecDeque::new();
        let delimiter = match delimiter {
            Some(d) => d,
            None => loop {
                match lines.next_line().map_err(|e| e.into_input(path))? {
                    Some(line) => {
                        let blank = line.text.trim().is_empty();
                        let d = (!blank).then(|| sniff_delimiter(&line.text));
                        head.push_back(line);
                        if let Some(d) = d {
                            break d;
                        }
                    }
                    None => break b',',
                }
            },
        };
        let mut records = CsvRecords::new(lines, delimiter);
        records.replay = head;
        let headers = match records.next_record().map_err(|e| e.into_input(path))? {
            None => {
                return Err(InputError::NoHeader {
                    path: path.to_path_buf(),
                })
            }
            Some(Record::Malformed(m)) => {
                return Err(InputError::Csv {
                    path: path.to_path_buf(),
                    line: m.line,
                    message: format!("the header row is not readable: {}", m.problem),
                })
            }
            Some(Record::Row(r)) => r
                .fields
                .iter()
                .map(|h| {
                    h.trim_matches(|c: char| c.is_whitespace() || c == '\u{feff}')
                        .to_string()
                })
                .collect::<Vec<_>>(),
        };
        check_duplicate_columns(path, &headers)?;
        records.width = Some(headers.len());
        // Blank lines before the header are not data rows.
        records.blank_rows = 0;
        Ok(LeadReader {
            path: path.to_path_buf(),
            settings: Settings::Csv {
                decoding,
                delimiter,
            },
            headers,
            invalid_utf8,
            source: Source::Csv(Box::new(records)),
        })
    }

    fn open_parquet(path: &Path) -> Result<LeadReader, InputError> {
        let perr = |message: String| InputError::Parquet {
            path: path.to_path_buf(),
            message,
        };
        let file = File::open(path).map_err(|source| InputError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        let builder =
            ParquetRecordBatchReaderBuilder::try_new(file).map_err(|e| perr(e.to_string()))?;
        let headers: Vec<String> = builder
            .schema()
            .fields()
            .iter()
            .map(|f| f.name().clone())
            .collect();
        check_duplicate_columns(path, &headers)?;
        let reader = builder
            .with_batch_size(PARQUET_BATCH_ROWS)
            .build()
            .map_err(|e| perr(e.to_string()))?;
        Ok(LeadReader {
            path: path.to_path_buf(),
            settings: Settings::Parquet,
            headers,
            invalid_utf8: InvalidUtf8::default(),
            source: Source::Parquet(Box::new(ParquetRows {
                reader,
                columns: Vec::new(),
                at: 0,
                rows: 0,
            })),
        })
    }

    pub fn headers(&self) -> &[String] {
        &self.headers
    }

    /// Encoding used to decode (`UTF-8`, `windows-1252`, …; `parquet` for Parquet input).
    pub fn encoding(&self) -> &'static str {
        match &self.settings {
            Settings::Csv { decoding, .. } => decoding.encoding.name(),
            Settings::Parquet => "parquet",
        }
    }

    pub fn delimiter(&self) -> Option<char> {
        match &self.settings {
            Settings::Csv { delimiter, .. } => Some(*delimiter as char),
            Settings::Parquet => None,
        }
    }

    /// Invalid bytes of a file read as UTF-8 (found before any record is read).
    pub fn invalid_utf8(&self) -> &InvalidUtf8 {
        &self.invalid_utf8
    }

    /// Blank lines and lines of empty fields skipped so far.
    pub fn blank_rows(&self) -> u64 {
        match &self.source {
            Source::Csv(r) => r.blank_rows,
            Source::Parquet(_) => 0,
        }
    }

    /// The next data record, or `None` at the end of the file.
    pub fn next_record(&mut self) -> Result<Option<Record>, InputError> {
        match &mut self.source {
            Source::Csv(r) => r.next_record().map_err(|e| e.into_input(&self.path)),
            Source::Parquet(p) => p.next_row().map_err(|message| InputError::Parquet {
                path: self.path.clone(),
                message,
            }),
        }
    }
}

/// Two columns whose names differ only in case, spaces, `_` or `-` cannot be told apart by the
/// column mapping. Unnamed columns (trailing delimiters) are left alone.
fn check_duplicate_columns(path: &Path, headers: &[String]) -> Result<(), InputError> {
    let key = |h: &str| h.trim().to_lowercase().replace(['_', '-'], " ");
    let keys: Vec<String> = headers.iter().map(|h| key(h)).collect();
    let mut dups: Vec<String> = Vec::new();
    for (i, k) in keys.iter().enumerate() {
        // Each name once, where it first appears, with every column that repeats it.
        if k.is_empty() || keys[..i].contains(k) || !keys[i + 1..].contains(k) {
            continue;
        }
        let same: Vec<String> = keys
            .iter()
            .enumerate()
            .filter(|(_, o)| *o == k)
            .map(|(j, _)| format!("{:?} (column {})", headers[j], j + 1))
            .collect();
        dups.push(same.join(" = "));
    }
    if dups.is_empty() {
        Ok(())
    } else {
        Err(InputError::DuplicateColumns {
            path: path.to_path_buf(),
            names: dups.join("; "),
        })
    }
}

/// Encoding in order: a BOM; the configured one; UTF-8 when the bytes are UTF-8 or when valid
/// multi-byte sequences are at least as many as broken ones (a UTF-8 file with a damaged byte
/// must not become windows-1252 mojibake in every row); else a statistical guess.
fn settle_encoding(path: &Path, configured: &str) -> Result<(Decoding, InvalidUtf8), InputError> {
    let io = |source| InputError::Io {
        path: path.to_path_buf(),
        source,
    };
    let mut head = [0u8; 4];
    let n = read_up_to(&mut File::open(path).map_err(io)?, &mut head).map_err(io)?;
    let head = &head[..n];
    if head.starts_with(b"PK\x03\x04") {
        return Err(InputError::NotText {
            path: path.to_path_buf(),
            what: "a ZIP archive (an .xlsx or .ods workbook?)",
        });
    }
    if head.starts_with(b"PAR1") {
        return Err(InputError::NotText {
            path: path.to_path_buf(),
            what: "a Parquet file (set ingest.format = \"parquet\" or name it .parquet)",
        });
    }
    let utf8 = |bom_len| Decoding {
        encoding: UTF_8,
        bom_len,
        passthrough: true,
    };
    let transcode = |encoding, bom_len| Decoding {
        encoding,
        bom_len,
        passthrough: false,
    };
    if let Some((enc, bom_len)) = Encoding::for_bom(head) {
        return if enc == UTF_8 {
            Ok((utf8(bom_len), scan_utf8(path)?.invalid))
        } else {
            Ok((transcode(enc, bom_len), InvalidUtf8::default()))
        };
    }
    if configured != "auto" {
        let enc = Encoding::for_label(configured.as_bytes()).unwrap_or(UTF_8);
        return if enc == UTF_8 {
            Ok((utf8(0), scan_utf8(path)?.invalid))
        } else {
            Ok((transcode(enc, 0), InvalidUtf8::default()))
        };
    }
    let scan = scan_utf8(path)?;
    if scan.invalid.count == 0 || scan.valid_multibyte >= scan.invalid.count {
        return Ok((utf8(0), scan.invalid));
    }
    let mut det = chardetng::EncodingDetector::new();
    let mut file = File::open(path).map_err(io)?;
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = file.read(&mut buf).map_err(io)?;
        if n == 0 {
            break;
        }
        det.feed(&buf[..n], false);
    }
    det.feed(&[], true);
    Ok((transcode(det.guess(None, false), 0), InvalidUtf8::default()))
}

fn read_up_to(r: &mut impl Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..])? {
            0 => break,
            k => n += k,
        }
    }
    Ok(n)
}

struct Utf8Scan {
    valid_multibyte: u64,
    invalid: InvalidUtf8,
}

/// Counts valid multi-byte UTF-8 characters and invalid sequences, with their lines.
fn scan_utf8(path: &Path) -> Result<Utf8Scan, InputError> {
    let file = File::open(path).map_err(|source| InputError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let mut lines = Lines::new(BufReader::with_capacity(1 << 16, file));
    let mut scan = Utf8Scan {
        valid_multibyte: 0,
        invalid: InvalidUtf8::default(),
    };
    let multibyte = |b: &[u8]| b.iter().filter(|&&c| c >= 0xC0).count() as u64;
    while let Some(no) = lines.next_raw().map_err(|e| e.into_input(path))? {
        let mut rest = &lines.buf[..];
        loop {
            match std::str::from_utf8(rest) {
                Ok(_) => {
                    scan.valid_multibyte += multibyte(rest);
                    break;
                }
                Err(e) => {
                    scan.valid_multibyte += multibyte(&rest[..e.valid_up_to()]);
                    scan.invalid.count += 1;
                    if scan.invalid.lines.last() != Some(&no)
                        && scan.invalid.lines.len() < InvalidUtf8::LINES_KEPT
                    {
                        scan.invalid.lines.push(no);
                    }
                    let skip = e.error_len().unwrap_or(rest.len() - e.valid_up_to());
                    rest = &rest[e.valid_up_to() + skip.max(1)..];
                }
            }
        }
    }
    Ok(scan)
}

/// Transcodes any encoding to UTF-8 as a `Read`, a buffer at a time.
struct Transcoder<R> {
    inner: R,
    decoder: Decoder,
    input: Box<[u8]>,
    start: usize,
    end: usize,
    eof: bool,
    finished: bool,
}

impl<R: Read> Transcoder<R> {
    fn new(inner: R, decoder: Decoder) -> Self {
        Transcoder {
            inner,
            decoder,
            input: vec![0u8; 1 << 16].into_boxed_slice(),
            start: 0,
            end: 0,
            eof: false,
            finished: false,
        }
    }
}

impl<R: Read> Read for Transcoder<R> {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        loop {
            if self.finished || out.is_empty() {
                return Ok(0);
            }
            if self.start == self.end && !self.eof {
                let n = self.inner.read(&mut self.input)?;
                self.start = 0;
                self.end = n;
                self.eof = n == 0;
            }
            let (result, read, written, _) =
                self.decoder
                    .decode_to_utf8(&self.input[self.start..self.end], out, self.eof);
            self.start += read;
            if self.eof && result == CoderResult::InputEmpty {
                self.finished = true;
            }
            if written > 0 {
                return Ok(written);
            }
            if result == CoderResult::OutputFull {
                return Err(std::io::Error::other(
                    "read buffer too small to transcode one character",
                ));
            }
        }
    }
}

/// Problems below the file level, given their path by the caller.
#[derive(Debug)]
enum ReadError {
    Io(std::io::Error),
    LineTooLong(u64),
}

impl ReadError {
    fn into_input(self, path: &Path) -> InputError {
        match self {
            ReadError::Io(source) => InputError::Io {
                path: path.to_path_buf(),
                source,
            },
            ReadError::LineTooLong(line) => InputError::Csv {
                path: path.to_path_buf(),
                line,
                message: format!(
                    "the line is longer than {} MiB (a binary file, or no line breaks?)",
                    MAX_LINE_BYTES >> 20
                ),
            },
        }
    }
}

/// One physical line of text and the terminator that ended it (`""` at the end of the file).
#[derive(Debug, Clone)]
struct Line {
    no: u64,
    text: String,
    term: &'static str,
}

/// Physical lines: a line ends at `\n`, `\r\n` or a lone `\r`.
struct Lines<R> {
    reader: R,
    /// The bytes of the line last read by [`Lines::next_raw`].
    buf: Vec<u8>,
    term: &'static str,
    next_no: u64,
    done: bool,
}

impl<R: BufRead> Lines<R> {
    fn new(reader: R) -> Self {
        Lines {
            reader,
            buf: Vec::new(),
            term: "",
            next_no: 1,
            done: false,
        }
    }

    /// Reads the next line into `buf`; its number, or `None` at the end.
    fn next_raw(&mut self) -> Result<Option<u64>, ReadError> {
        self.buf.clear();
        if self.done {
            return Ok(None);
        }
        let no = self.next_no;
        loop {
            let avail = self.reader.fill_buf().map_err(ReadError::Io)?;
            if avail.is_empty() {
                self.done = true;
                self.term = "";
                return Ok((!self.buf.is_empty()).then_some(no));
            }
            match avail.iter().position(|&b| b == b'\n' || b == b'\r') {
                Some(i) => {
                    let cr = avail[i] == b'\r';
                    self.buf.extend_from_slice(&avail[..i]);
                    self.reader.consume(i + 1);
                    self.term = if !cr {
                        "\n"
                    } else if self.reader.fill_buf().map_err(ReadError::Io)?.first() == Some(&b'\n')
                    {
                        self.reader.consume(1);
                        "\r\n"
                    } else {
                        "\r"
                    };
                    self.next_no += 1;
                    if self.buf.len() > MAX_LINE_BYTES {
                        return Err(ReadError::LineTooLong(no));
                    }
                    return Ok(Some(no));
                }
                None => {
                    let n = avail.len();
                    self.buf.extend_from_slice(avail);
                    self.reader.consume(n);
                    if self.buf.len() > MAX_LINE_BYTES {
                        return Err(ReadError::LineTooLong(no));
                    }
                }
            }
        }
    }

    /// The next line as text (invalid UTF-8 replaced: its lines were reported by the scan).
    fn next_line(&mut self) -> Result<Option<Line>, ReadError> {
        let Some(no) = self.next_raw()? else {
            return Ok(None);
        };
        let text = match String::from_utf8(std::mem::take(&mut self.buf)) {
            Ok(s) => s,
            Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
        };
        Ok(Some(Line {
            no,
            text,
            term: self.term,
        }))
    }
}

/// Picks the delimiter that splits the header line into the most fields, outside quotes.
fn sniff_delimiter(header: &str) -> u8 {
    let mut best = (0usize, b',');
    for cand in [b',', b';', b'\t', b'|'] {
        let mut in_quotes = false;
        let mut n = 0;
        for b in header.bytes() {
            if b == b'"' {
                in_quotes = !in_quotes;
            } else if b == cand && !in_quotes {
                n += 1;
            }
        }
        if n > best.0 {
            best = (n, cand);
        }
    }
    best.1
}

/// A record being cut into fields, line by line, with the quoting rules of the `csv` crate: a
/// quote opens a quoted field only as the field's first character, `""` inside one is a quote,
/// and text after the closing quote is kept.
struct FieldCutter {
    delimiter: u8,
    fields: Vec<String>,
    current: String,
    in_quotes: bool,
    at_field_start: bool,
    /// Line where the quoted field still open was opened.
    quote_line: u64,
}

impl FieldCutter {
    fn new(delimiter: u8) -> Self {
        FieldCutter {
            delimiter,
            fields: Vec::new(),
            current: String::new(),
            in_quotes: false,
            at_field_start: true,
            quote_line: 0,
        }
    }

    /// Cuts one line; true when the record is still inside a quoted field at its end.
    fn feed(&mut self, no: u64, line: &str) -> bool {
        let b = line.as_bytes();
        let (mut i, mut from) = (0, 0);
        while i < b.len() {
            let c = b[i];
            if self.in_quotes {
                if c == b'"' {
                    if b.get(i + 1) == Some(&b'"') {
                        self.current.push_str(&line[from..=i]);
                        i += 2;
                    } else {
                        self.current.push_str(&line[from..i]);
                        self.in_quotes = false;
                        i += 1;
                    }
                    from = i;
                    continue;
                }
            } else if c == self.delimiter {
                self.current.push_str(&line[from..i]);
                self.fields.push(std::mem::take(&mut self.current));
                self.at_field_start = true;
                i += 1;
                from = i;
                continue;
            } else if c == b'"' && self.at_field_start {
                self.in_quotes = true;
                self.quote_line = no;
                self.at_field_start = false;
                i += 1;
                from = i;
                continue;
            } else {
                self.at_field_start = false;
            }
            i += 1;
        }
        self.current.push_str(&line[from..]);
        self.in_quotes
    }

    fn finish(mut self) -> Vec<String> {
        self.fields.push(self.current);
        self.fields
    }
}

/// CSV records from physical lines, with unbalanced quotes caught (see the module comment).
struct CsvRecords<R> {
    lines: Lines<R>,
    delimiter: u8,
    /// Fields in the header, once it is read: a line inside a quoted field that splits into
    /// this many fields reads as a whole row.
    width: Option<usize>,
    blank_rows: u64,
    /// Lines to read (again) before the file's next one.
    replay: VecDeque<Line>,
}

impl<R: BufRead> CsvRecords<R> {
    fn new(lines: Lines<R>, delimiter: u8) -> Self {
        CsvRecords {
            lines,
            delimiter,
            width: None,
            blank_rows: 0,
            replay: VecDeque::new(),
        }
    }

    fn next_line(&mut self) -> Result<Option<Line>, ReadError> {
        match self.replay.pop_front() {
            Some(line) => Ok(Some(line)),
            None => self.lines.next_line(),
        }
    }

    fn looks_like_row(&self, text: &str) -> bool {
        !text.contains('"')
            && !text.trim().is_empty()
            && self
                .width
                .is_some_and(|w| text.bytes().filter(|&b| b == self.delimiter).count() + 1 == w)
    }

    /// Whether `text` alone, read from a fresh start, is a row of the header's width.
    fn parses_as_row(&self, text: &str) -> bool {
        let mut cut = FieldCutter::new(self.delimiter);
        !text.trim().is_empty() && !cut.feed(0, text) && self.width == Some(cut.fields.len() + 1)
    }

    /// A quote that closed a few lines on, leaving a record of the wrong width, where some of
    /// those lines read alone as rows: a stray quote that met the next quoted field. The reason,
    /// or `None` for a record that stands (a multi-line note; a wrong width is then the
    /// normaliser's reject, for the whole record).
    fn stray_close(&self, cut: &FieldCutter, held: &[Line], closing: &Line) -> Option<String> {
        let w = self.width?;
        let n = cut.fields.len() + 1;
        let extra = n > w
            && (cut.fields[w.min(cut.fields.len())..]
                .iter()
                .any(|f| !f.trim().is_empty())
                || !cut.current.trim().is_empty());
        if n >= w && !extra {
            return None;
        }
        let rows: Vec<u64> = held
            .iter()
            .chain([closing])
            .filter(|l| self.parses_as_row(&l.text))
            .map(|l| l.no)
            .collect();
        (!rows.is_empty()).then(|| {
            format!(
                "closes on line {}, leaving {n} fields where the header has {w}, and {}",
                closing.no,
                match rows.as_slice() {
                    [one] => format!("line {one} reads as a row of its own"),
                    many => format!("{} read as rows of their own", list_lines(many)),
                }
            )
        })
    }

    /// The next non-blank record.
    fn next_record(&mut self) -> Result<Option<Record>, ReadError> {
        loop {
            let Some(first) = self.next_line()? else {
                return Ok(None);
            };
            // An empty line outside quotes is no record at all (as the `csv` crate reads it).
            if first.text.is_empty() {
                continue;
            }
            let start = first.no;
            let mut cut = FieldCutter::new(self.delimiter);
            let mut end = start;
            if cut.feed(first.no, &first.text) {
                cut.current.push_str(first.term);
                // Inside a quoted field: hold the lines it takes, to read them again as rows
                // if the quote turns out to be unbalanced.
                let mut held: Vec<Line> = Vec::new();
                let mut row_like: Vec<u64> = Vec::new();
                let mut kept = (cut.fields.len(), cut.current.len());
                let mut open_line = first.no;
                loop {
                    let why = match self.next_line()? {
                        None => Some(format!("is never closed (the file ends at line {end})")),
                        Some(line) => {
                            end = line.no;
                            let row = self.looks_like_row(&line.text);
                            let still_open = cut.feed(line.no, &line.text);
                            if still_open {
                                cut.current.push_str(line.term);
                            }
                            if !still_open {
                                match self.stray_close(&cut, &held, &line) {
                                    Some(why) => {
                                        held.push(line);
                                        Some(why)
                                    }
                                    None => break,
                                }
                            } else if cut.quote_line == line.no {
                                // The quote closed and another opened on this line.
                                held.clear();
                                row_like.clear();
                                kept = (cut.fields.len(), cut.current.len());
                                open_line = line.no;
                                None
                            } else {
                                if row {
                                    row_like.push(line.no);
                                }
                                held.push(line);
                                if row_like.len() >= row_like_lines_needed(self.width.unwrap_or(0))
                                {
                                    Some(format!(
                                        "runs on over lines that read as rows of their own ({})",
                                        list_lines(&row_like)
                                    ))
                                } else if held.len() >= MAX_QUOTED_LINES {
                                    Some(format!("is still open {MAX_QUOTED_LINES} lines later"))
                                } else if cut.current.len() - kept.1 > MAX_QUOTED_BYTES {
                                    Some(format!(
                                        "holds more than {} KiB of text by line {}",
                                        MAX_QUOTED_BYTES >> 10,
                                        end
                                    ))
                                } else {
                                    None
                                }
                            }
                        }
                    };
                    if let Some(why) = why {
                        let mut fields = cut.fields;
                        // The quoted field, whether a delimiter after its close moved it on.
                        let mut last = match fields.get_mut(kept.0) {
                            Some(f) => std::mem::take(f),
                            None => cut.current,
                        };
                        fields.truncate(kept.0);
                        // Without the line break that ended the opening line.
                        let upto = last[..kept.1].trim_end_matches(['\r', '\n']).len();
                        last.truncate(upto);
                        fields.push(last);
                        let lines = if start == open_line {
                            format!("line {start}")
                        } else {
                            format!("lines {start}–{open_line}")
                        };
                        for line in held.into_iter().rev() {
                            self.replay.push_front(line);
                        }
                        return Ok(Some(Record::Malformed(Malformed {
                            line: start,
                            end_line: open_line,
                            reason: format!(
                                "unbalanced quote: the quoted field opened on line {open_line} {why}; \
                                 {lines} rejected, the lines after it read as rows"
                            ),
                            problem: format!(
                                "unbalanced quote: the quoted field opened on line {open_line} {why}"
                            ),
                            fields,
                        })));
                    }
                }
            }
            let fields = cut.finish();
            if fields.iter().all(|f| f.trim().is_empty()) {
                self.blank_rows += 1;
                continue;
            }
            return Ok(Some(Record::Row(RawRow {
                line: start,
                end_line: end,
                fields,
            })));
        }
    }
}

/// Parquet rows, a decoded batch at a time, every column cast to text.
struct ParquetRows {
    reader: ParquetRecordBatchReader,
    columns: Vec<StringArray>,
    at: usize,
    rows: u64,
}

impl ParquetRows {
    fn next_row(&mut self) -> Result<Option<Record>, String> {
        while self.columns.first().is_none_or(|c| self.at >= c.len()) {
            let Some(batch) = self.reader.next() else {
                return Ok(None);
            };
            let batch = batch.map_err(|e| e.to_string())?;
            if batch.num_columns() == 0 {
                return Ok(None);
            }
            self.columns = batch
                .columns()
                .iter()
                .zip(batch.schema().fields())
                .map(|(c, f)| {
                    if let Some(text) = whole_floats_as_integers(c) {
                        return Ok(text);
                    }
                    let text = arrow::compute::cast(c, &DataType::Utf8).map_err(|e| {
                        format!(
                            "column {:?} ({}) cannot be read as text: {e}",
                            f.name(),
                            f.data_type()
                        )
                    })?;
                    text.as_any()
                        .downcast_ref::<StringArray>()
                        .cloned()
                        .ok_or_else(|| format!("column {:?} cannot be read as text", f.name()))
                })
                .collect::<Result<_, _>>()?;
            self.at = 0;
        }
        let r = self.at;
        self.at += 1;
        self.rows += 1;
        let fields = self
            .columns
            .iter()
            .map(|c| {
                if c.is_null(r) {
                    String::new()
                } else {
                    c.value(r).to_string()
                }
            })
            .collect();
        Ok(Some(Record::Row(RawRow {
            line: self.rows,
            end_line: self.rows,
            fields,
        })))
    }
}

/// pandas stores an integer column with a missing value as floats, so a CIK or SIREN arrives
/// as `320193.0`; a whole number is written as one. Other columns: `None` (cast as they are).
fn whole_floats_as_integers(column: &arrow::array::ArrayRef) -> Option<StringArray> {
    use arrow::array::AsArray;
    use arrow::datatypes::{Float32Type, Float64Type};
    let values: Vec<Option<f64>> = match column.data_type() {
        DataType::Float64 => column.as_primitive::<Float64Type>().iter().collect(),
        DataType::Float32 => column
            .as_primitive::<Float32Type>()
            .iter()
            .map(|v| v.map(f64::from))
            .collect(),
        _ => return None,
    };
    // Beyond 2^53 a float no longer holds every integer: its digits would be invented.
    const EXACT: f64 = 9_007_199_254_740_992.0;
    Some(
        values
            .into_iter()
            .map(|v| {
                v.map(|x| {
                    if x.fract() == 0.0 && x.abs() < EXACT {
                        format!("{}", x as i64)
                    } else {
                        x.to_string()
                    }
                })
            })
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Records of an in-memory CSV text, after its header, read through a tiny buffer so that
    /// line breaks fall across reads.
    fn records(text: &str, delimiter: u8) -> (Vec<String>, Vec<Record>, u64) {
        let lines = Lines::new(BufReader::with_capacity(3, text.as_bytes()));
        let mut r = CsvRecords::new(lines, delimiter);
        let headers = match r.next_record().unwrap() {
            Some(Record::Row(h)) => h.fields,
            other => panic!("no header: {other:?}"),
        };
        r.width = Some(headers.len());
        r.blank_rows = 0;
        let mut out = Vec::new();
        while let Some(rec) = r.next_record().unwrap() {
            out.push(rec);
        }
        (headers, out, r.blank_rows)
    }

    fn row(line: u64, end_line: u64, fields: &[&str]) -> Record {
        Record::Row(RawRow {
            line,
            end_line,
            fields: fields.iter().map(|s| s.to_string()).collect(),
        })
    }

    fn write(bytes: &[u8], name: &str) -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join(name);
        std::fs::write(&p, bytes).unwrap();
        (dir, p)
    }

    fn read_all(path: &Path) -> (LeadReader, Vec<Record>) {
        let mut r = LeadReader::open(path, InputFormat::Auto, "auto", "auto").unwrap();
        let mut out = Vec::new();
        while let Some(rec) = r.next_record().unwrap() {
            out.push(rec);
        }
        (r, out)
    }

    #[test]
    fn sniffs_semicolons_and_decodes_windows_1252() {
        let (_d, p) = write(
            b"Soci\xe9t\xe9;Site\r\nCaf\xe9 Dupont;cafe.fr\r\n\r\n;\r\n\"Multi\nline\";x.fr\r\n",
            "x.csv",
        );
        let (r, recs) = read_all(&p);
        assert_eq!(r.delimiter(), Some(';'));
        assert_eq!(r.encoding(), "windows-1252");
        assert_eq!(r.headers(), ["Société", "Site"]);
        assert_eq!(
            recs,
            vec![
                row(2, 2, &["Café Dupont", "cafe.fr"]),
                row(5, 6, &["Multi\nline", "x.fr"])
            ]
        );
        assert_eq!(r.blank_rows(), 1);
    }

    #[test]
    fn utf8_bom_is_stripped() {
        let (_d, p) = write("\u{feff}name,website\nA,a.com\n".as_bytes(), "x.csv");
        let (r, recs) = read_all(&p);
        assert_eq!(r.headers()[0], "name");
        assert_eq!(r.encoding(), "UTF-8");
        assert_eq!(recs, vec![row(2, 2, &["A", "a.com"])]);
    }

    #[test]
    fn utf16_with_bom_is_transcoded() {
        let mut bytes = vec![0xFF, 0xFE];
        for u in "name;site\r\nÉcole;ecole.fr\r\n".encode_utf16() {
            bytes.extend_from_slice(&u.to_le_bytes());
        }
        let (_d, p) = write(&bytes, "x.csv");
        let (r, recs) = read_all(&p);
        assert_eq!(r.encoding(), "UTF-16LE");
        assert_eq!(recs, vec![row(2, 2, &["École", "ecole.fr"])]);
    }

    #[test]
    fn one_bad_byte_keeps_a_utf8_file_utf8_and_names_its_line() {
        let mut bytes = "name,city\nCafé,Orléans\nZoë,Köln\n".as_bytes().to_vec();
        bytes.extend_from_slice(b"Bad\xff Byte,Paris\n\xe9t\xe9,Lyon\n");
        let (_d, p) = write(&bytes, "x.csv");
        let (r, recs) = read_all(&p);
        assert_eq!(r.encoding(), "UTF-8");
        assert_eq!(
            r.invalid_utf8(),
            &InvalidUtf8 {
                count: 3,
                lines: vec![4, 5]
            }
        );
        assert_eq!(r.invalid_utf8().describe_lines(), "lines 4 and 5");
        assert_eq!(recs[0], row(2, 2, &["Café", "Orléans"]));
        assert_eq!(recs[2], row(4, 4, &["Bad\u{fffd} Byte", "Paris"]));
        // Mostly broken bytes: a legacy encoding after all.
        let (_d, p) = write(b"name\nCaf\xe9\nSoci\xe9t\xe9\nZo\xeb\n", "y.csv");
        let (r, recs) = read_all(&p);
        assert_eq!(r.encoding(), "windows-1252");
        assert_eq!(recs[1], row(3, 3, &["Société"]));
    }

    #[test]
    fn cr_only_and_mixed_line_endings_number_lines() {
        let (_, recs, _) = records("a,b\r1,x\r\r2,\"y\rz\"\r3,w\n4,v\r\n5,u", b',');
        assert_eq!(
            recs,
            vec![
                row(2, 2, &["1", "x"]),
                row(4, 5, &["2", "y\rz"]),
                row(6, 6, &["3", "w"]),
                row(7, 7, &["4", "v"]),
                row(8, 8, &["5", "u"]),
            ]
        );
    }

    #[test]
    fn quoting_follows_the_csv_crate() {
        let (_, recs, blank) = records(
            "a,b,c\n\"x, y\",\"say \"\"hi\"\"\",z\nq\"uote,\"ab\"cd,\n,,\n  \n\"multi\r\nline\",ok,\n",
            b',',
        );
        assert_eq!(
            recs,
            vec![
                row(2, 2, &["x, y", "say \"hi\"", "z"]),
                row(3, 3, &["q\"uote", "abcd", ""]),
                row(6, 7, &["multi\r\nline", "ok", ""]),
            ]
        );
        assert_eq!(blank, 2, "a line of empty fields and a line of spaces");
    }

    #[test]
    fn an_unbalanced_quote_rejects_its_line_and_keeps_the_rows_it_would_swallow() {
        let mut text = String::from("name,website,notes\n");
        for i in 2..=20 {
            match i {
                5 => text.push_str("\"Acme Five,five.com,stray quote\n"),
                9 => text.push_str("Nine \"Ltd\",nine.com,closes it\n"),
                _ => text.push_str(&format!("Co {i},co{i}.com,\n")),
            }
        }
        let (_, recs, _) = records(&text, b',');
        assert_eq!(recs.len(), 19, "one record per line: {recs:#?}");
        let Record::Malformed(m) = &recs[3] else {
            panic!("line 5 not rejected: {:?}", recs[3]);
        };
        assert_eq!((m.line, m.end_line), (5, 5));
        assert_eq!(
            m.reason,
            "unbalanced quote: the quoted field opened on line 5 runs on over lines that read \
             as rows of their own (lines 6, 7 and 8); line 5 rejected, the lines after it read as rows"
        );
        assert_eq!(m.fields, vec!["Acme Five,five.com,stray quote"]);
        assert_eq!(recs[4], row(6, 6, &["Co 6", "co6.com", ""]));
        assert_eq!(
            recs[7],
            row(9, 9, &["Nine \"Ltd\"", "nine.com", "closes it"])
        );
        assert_eq!(recs[18], row(20, 20, &["Co 20", "co20.com", ""]));
    }

    #[test]
    fn prose_with_commas_in_a_narrow_file_is_still_a_note() {
        let text = "name,website,notes\nA,a.com,\"Met at the fair\nin Paris, France, in May\n\
                    with John, the CEO, and Ann\nto call back\"\nB,b.com,\n";
        let (_, recs, _) = records(text, b',');
        assert_eq!(
            recs,
            vec![
                row(
                    2,
                    5,
                    &[
                        "A",
                        "a.com",
                        "Met at the fair\nin Paris, France, in May\nwith John, the CEO, and Ann\nto call back"
                    ]
                ),
                row(6, 6, &["B", "b.com", ""]),
            ]
        );
    }

    #[test]
    fn a_stray_quote_closed_by_the_next_quoted_field_rejects_only_its_line() {
        let text = "name,website,notes\n\"Stray,stray.com,\nB,b.com,\"met, in Paris\"\nC,c.com,\n";
        let (_, recs, _) = records(text, b',');
        let Record::Malformed(m) = &recs[0] else {
            panic!("{recs:#?}");
        };
        assert_eq!(
            m.reason,
            "unbalanced quote: the quoted field opened on line 2 closes on line 3, leaving 2 \
             fields where the header has 3, and line 3 reads as a row of its own; line 2 \
             rejected, the lines after it read as rows"
        );
        assert_eq!(m.fields, vec!["Stray,stray.com,"]);
        assert_eq!(
            recs[1..],
            [
                row(3, 3, &["B", "b.com", "met, in Paris"]),
                row(4, 4, &["C", "c.com", ""])
            ]
        );
        // A note of the right width stands, and one of the wrong width without row-like lines
        // is left whole for the normaliser to reject.
        let text = "name,website,notes\nA,a.com,\"two\nlines\"\nB,\"b\nc\"\n";
        let (_, recs, _) = records(text, b',');
        assert_eq!(
            recs,
            [
                row(2, 3, &["A", "a.com", "two\nlines"]),
                row(4, 5, &["B", "b\nc"])
            ]
        );
    }

    #[test]
    fn a_quote_running_to_the_end_of_the_file_is_rejected() {
        let (_, recs, _) = records("name,notes\nA,ok\nB,\"never closed\nmore text\n", b',');
        assert_eq!(recs.len(), 3, "{recs:#?}");
        let Record::Malformed(m) = &recs[1] else {
            panic!("{:?}", recs[1]);
        };
        assert_eq!(m.line, 3);
        assert!(
            m.reason
                .contains("opened on line 3 is never closed (the file ends at line 4)"),
            "{}",
            m.reason
        );
        assert_eq!(m.fields, vec!["B", "never closed"]);
        assert_eq!(recs[2], row(4, 4, &["more text"]));
    }

    #[test]
    fn a_long_note_that_reads_as_prose_is_one_field() {
        let note: Vec<String> = (0..50).map(|i| format!("note line {i}")).collect();
        let text = format!(
            "name,website,notes\nA,a.com,\"{}\"\nB,b.com,\n",
            note.join("\n")
        );
        let (_, recs, _) = records(&text, b',');
        assert_eq!(recs.len(), 2);
        assert_eq!(recs[0], row(2, 51, &["A", "a.com", &note.join("\n")]));
        // Past the bound, the same note is an unbalanced quote.
        let note: Vec<String> = (0..MAX_QUOTED_LINES + 5).map(|i| format!("l{i}")).collect();
        let text = format!("name,website,notes\nA,a.com,\"{}\"\n", note.join("\n"));
        let (_, recs, _) = records(&text, b',');
        let Record::Malformed(m) = &recs[0] else {
            panic!("{:?}", recs[0]);
        };
        assert!(
            m.reason.contains("is still open 200 lines later"),
            "{}",
            m.reason
        );
    }

    #[test]
    fn duplicate_and_directory_inputs_are_named() {
        let (_d, p) = write(b"Name,Website,name,URL,,\nA,a.com,B,b.com,,\n", "x.csv");
        let e = LeadReader::open(&p, InputFormat::Auto, "auto", "auto").unwrap_err();
        assert_eq!(
            e.to_string(),
            format!(
                "{}: column names appear more than once in the header: \"Name\" (column 1) = \
                 \"name\" (column 3); rename them so each column can be told apart",
                p.display()
            )
        );
        let dir = p.parent().unwrap();
        let e = LeadReader::open(dir, InputFormat::Csv, "auto", "auto").unwrap_err();
        assert!(matches!(e, InputError::IsDirectory { .. }), "{e}");
        let (_d, p) = write(b"PK\x03\x04rest of a workbook", "x.csv");
        let e = LeadReader::open(&p, InputFormat::Auto, "auto", "auto").unwrap_err();
        assert!(e.to_string().contains("a ZIP archive"), "{e}");
    }

    #[test]
    fn reopen_reads_the_same_records() {
        let (_d, p) = write(b"a;b\n1;\"x\ny\"\n\n2;z\n", "x.csv");
        let (r, first) = read_all(&p);
        let mut again = r.reopen().unwrap();
        let mut second = Vec::new();
        while let Some(rec) = again.next_record().unwrap() {
            second.push(rec);
        }
        assert_eq!(first, second);
        assert_eq!(first.len(), 2);
    }
}
