//! Reading a lead list as exported by real CRMs: CSV in any common encoding and delimiter, or
//! Parquet, into raw string rows that keep their input line numbers.
//!
//! Handled here: UTF-8 BOM, UTF-16 with BOM, windows-1252/latin-1 (detected with `chardetng`
//! when the bytes are not UTF-8), `,` `;` tab `|` delimiters (sniffed from the header line),
//! quoted newlines, blank lines and lines of empty fields.

use std::borrow::Cow;
use std::path::{Path, PathBuf};

use arrow::array::{Array, StringArray};
use arrow::datatypes::DataType;

use crate::config::InputFormat;

/// Errors reading the lead list; all are the user's to fix (exit code 2).
#[derive(Debug, thiserror::Error)]
pub enum InputError {
    #[error("cannot read {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: not a readable Parquet file: {message}")]
    Parquet { path: PathBuf, message: String },
    #[error("{path}: the file has no header row (it is empty or blank)")]
    NoHeader { path: PathBuf },
    #[error("{path}: cannot tell whether it is CSV or Parquet from its name; set ingest.format = \"csv\" or \"parquet\"")]
    UnknownFormat { path: PathBuf },
    #[error("{path}: line {line}: {message}")]
    Csv {
        path: PathBuf,
        line: u64,
        message: String,
    },
}

/// One data row: where it was, and its fields as text.
#[derive(Debug, Clone)]
pub struct RawRow {
    /// 1-based line in the file where the record starts (CSV), or 1-based row number (Parquet).
    pub line: u64,
    pub fields: Vec<String>,
}

/// A lead list read into memory.
#[derive(Debug)]
pub struct RawTable {
    pub headers: Vec<String>,
    pub rows: Vec<RawRow>,
    /// Encoding used to decode (`UTF-8`, `windows-1252`, …; `parquet` for Parquet input).
    pub encoding: String,
    pub delimiter: Option<char>,
    /// Blank lines and lines of empty fields, skipped.
    pub blank_rows: u64,
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

/// Reads the whole file.
pub fn read(
    path: &Path,
    format: InputFormat,
    encoding: &str,
    delimiter: &str,
) -> Result<RawTable, InputError> {
    match detect_format(path, format)? {
        InputFormat::Parquet => read_parquet(path),
        _ => {
            let bytes = std::fs::read(path).map_err(|source| InputError::Io {
                path: path.to_path_buf(),
                source,
            })?;
            read_csv_bytes(
                path,
                &bytes,
                encoding,
                delimiter_from_config(delimiter).flatten(),
            )
        }
    }
}

/// Decodes bytes to text: BOM first, then the configured encoding, then UTF-8 if valid, then a
/// statistical guess.
pub fn decode<'a>(
    bytes: &'a [u8],
    configured: &str,
) -> (Cow<'a, str>, &'static encoding_rs::Encoding) {
    if let Some((enc, bom_len)) = encoding_rs::Encoding::for_bom(bytes) {
        let (text, _) = enc.decode_without_bom_handling(&bytes[bom_len..]);
        return (text, enc);
    }
    let enc = if configured != "auto" {
        encoding_rs::Encoding::for_label(configured.as_bytes()).unwrap_or(encoding_rs::UTF_8)
    } else if std::str::from_utf8(bytes).is_ok() {
        encoding_rs::UTF_8
    } else {
        let mut det = chardetng::EncodingDetector::new();
        det.feed(bytes, true);
        det.guess(None, true)
    };
    let (text, _) = enc.decode_without_bom_handling(bytes);
    (text, enc)
}

/// Picks the delimiter that splits the header line into the most fields, outside quotes.
fn sniff_delimiter(text: &str) -> u8 {
    let header = text.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
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

pub fn read_csv_bytes(
    path: &Path,
    bytes: &[u8],
    encoding: &str,
    delimiter: Option<u8>,
) -> Result<RawTable, InputError> {
    let (text, enc) = decode(bytes, encoding);
    let delim = delimiter.unwrap_or_else(|| sniff_delimiter(&text));
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(delim)
        .has_headers(false)
        .flexible(true)
        .from_reader(text.as_bytes());
    let mut headers: Option<Vec<String>> = None;
    let mut rows = Vec::new();
    let mut blank_rows = 0;
    let mut record = csv::StringRecord::new();
    // The csv crate's line numbers are unreliable with CRLF endings, so lines are counted from
    // the record's byte offset, skipping the line terminator it may point at.
    let raw = text.as_bytes();
    let (mut counted_to, mut line_at) = (0usize, 1u64);
    let mut line_of = |byte: usize| -> u64 {
        let mut start = byte.min(raw.len());
        while start < raw.len() && (raw[start] == b'\n' || raw[start] == b'\r') {
            start += 1;
        }
        if start >= counted_to {
            line_at += raw[counted_to..start]
                .iter()
                .filter(|&&b| b == b'\n')
                .count() as u64;
            counted_to = start;
        }
        line_at
    };
    loop {
        match reader.read_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {}
            Err(e) => {
                let line = e.position().map(|p| p.line()).unwrap_or(0);
                return Err(InputError::Csv {
                    path: path.to_path_buf(),
                    line,
                    message: e.to_string(),
                });
            }
        }
        let line = line_of(record.position().map(|p| p.byte() as usize).unwrap_or(0));
        if record.iter().all(|f| f.trim().is_empty()) {
            blank_rows += 1;
            continue;
        }
        let fields: Vec<String> = record.iter().map(str::to_string).collect();
        match headers {
            None => {
                headers = Some(
                    fields
                        .iter()
                        .map(|h| {
                            h.trim_matches(|c: char| c.is_whitespace() || c == '\u{feff}')
                                .to_string()
                        })
                        .collect(),
                )
            }
            Some(_) => rows.push(RawRow { line, fields }),
        }
    }
    let headers = headers.ok_or_else(|| InputError::NoHeader {
        path: path.to_path_buf(),
    })?;
    Ok(RawTable {
        headers,
        rows,
        encoding: enc.name().to_string(),
        delimiter: Some(delim as char),
        blank_rows,
    })
}

fn read_parquet(path: &Path) -> Result<RawTable, InputError> {
    let perr = |message: String| InputError::Parquet {
        path: path.to_path_buf(),
        message,
    };
    let batches = crate::table::read_file(path).map_err(|e| perr(e.to_string()))?;
    let schema = match batches.first() {
        Some(b) => b.schema(),
        None => {
            let file = std::fs::File::open(path).map_err(|source| InputError::Io {
                path: path.to_path_buf(),
                source,
            })?;
            parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(file)
                .map_err(|e| perr(e.to_string()))?
                .schema()
                .clone()
        }
    };
    let headers: Vec<String> = schema.fields().iter().map(|f| f.name().clone()).collect();
    let mut rows = Vec::new();
    let mut n = 0u64;
    for batch in &batches {
        let cols: Vec<StringArray> = batch
            .columns()
            .iter()
            .map(|c| {
                arrow::compute::cast(c, &DataType::Utf8)
                    .map_err(|e| perr(e.to_string()))
                    .and_then(|a| {
                        a.as_any()
                            .downcast_ref::<StringArray>()
                            .cloned()
                            .ok_or_else(|| perr("cast".into()))
                    })
            })
            .collect::<Result<_, _>>()?;
        for r in 0..batch.num_rows() {
            n += 1;
            let fields = cols
                .iter()
                .map(|c| {
                    if c.is_null(r) {
                        String::new()
                    } else {
                        c.value(r).to_string()
                    }
                })
                .collect();
            rows.push(RawRow { line: n, fields });
        }
    }
    Ok(RawTable {
        headers,
        rows,
        encoding: "parquet".into(),
        delimiter: None,
        blank_rows: 0,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sniffs_semicolons_and_decodes_windows_1252() {
        let bytes =
            b"Soci\xe9t\xe9;Site\r\nCaf\xe9 Dupont;cafe.fr\r\n\r\n;\r\n\"Multi\nline\";x.fr\r\n";
        let t = read_csv_bytes(Path::new("x.csv"), bytes, "auto", None).unwrap();
        assert_eq!(t.delimiter, Some(';'));
        assert_eq!(t.encoding, "windows-1252");
        assert_eq!(t.headers, vec!["Société", "Site"]);
        assert_eq!(t.rows.len(), 2);
        assert_eq!(t.rows[0].fields[0], "Café Dupont");
        assert_eq!(t.rows[0].line, 2);
        assert_eq!(t.rows[1].fields[0], "Multi\nline");
        assert_eq!(t.rows[1].line, 5);
        assert_eq!(t.blank_rows, 1);
    }

    #[test]
    fn utf8_bom_is_stripped() {
        let t = read_csv_bytes(
            Path::new("x.csv"),
            "\u{feff}name,website\nA,a.com\n".as_bytes(),
            "auto",
            None,
        )
        .unwrap();
        assert_eq!(t.headers[0], "name");
        assert_eq!(t.encoding, "UTF-8");
    }
}
