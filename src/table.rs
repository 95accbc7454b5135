//! Parquet table I/O with leadcrawl's conventions: zstd, bounded row groups, provenance in the
//! file metadata, and atomic placement (a temporary file that the state store renames into place
//! in the same step as it records the work done).

use std::fs::File;
use std::path::{Path, PathBuf};

use arrow::array::RecordBatch;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::metadata::KeyValue;
use parquet::file::properties::WriterProperties;
use parquet::schema::types::ColumnPath;

use crate::schema::{Layout, TableDef};
use crate::state::PendingPart;

/// Errors of table I/O.
#[derive(Debug, thiserror::Error)]
pub enum TableError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: {source}")]
    Parquet {
        path: PathBuf,
        source: parquet::errors::ParquetError,
    },
    #[error("{path}: {source}")]
    Arrow {
        path: PathBuf,
        source: arrow::error::ArrowError,
    },
    /// A registered part whose file is not what was committed (truncated, overwritten, gone).
    #[error("damaged part {file} of stage {stage}: {why}")]
    Damaged {
        stage: String,
        /// Relative to the output folder, as registered.
        file: String,
        why: String,
    },
}

/// A writer that counts and checksums what passes through it.
struct Summing<W> {
    inner: W,
    crc: crc32fast::Hasher,
    bytes: u64,
}

impl<W: std::io::Write> std::io::Write for Summing<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.crc.update(&buf[..n]);
        self.bytes += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// The CRC-32 of `bytes` as recorded with parts.
pub fn checksum(bytes: &[u8]) -> String {
    format!("{:08x}", crc32fast::hash(bytes))
}

/// Provenance stamped into every file.
#[derive(Debug, Clone)]
pub struct Provenance {
    pub run_id: String,
    pub config_hash: String,
}

/// Prefix of files being written; never a complete table part.
pub const TMP_PREFIX: &str = ".tmp-";

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> TableError + '_ {
    move |source| TableError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Writes `batches` to a temporary file next to the final location of `name` in table `def`, and
/// returns the pending part for the state store to move into place. `name` is the part's file
/// name for [`Layout::Parts`] tables (`part-00000.parquet`) and ignored for [`Layout::File`].
pub fn write_pending(
    output_dir: &Path,
    def: &TableDef,
    name: &str,
    batches: &[RecordBatch],
    prov: &Provenance,
    extra_meta: &[(String, String)],
) -> Result<PendingPart, TableError> {
    let (dir, final_path) = match def.layout {
        Layout::Parts => {
            let dir = output_dir.join(def.name);
            let p = dir.join(name);
            (dir, p)
        }
        Layout::File => (
            output_dir.to_path_buf(),
            output_dir.join(format!("{}.parquet", def.name)),
        ),
    };
    std::fs::create_dir_all(&dir).map_err(io(&dir))?;
    let file_name = final_path
        .file_name()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp_path = dir.join(format!("{TMP_PREFIX}{}-{file_name}", prov.run_id));
    // The batches' own schema when they carry one that differs only by vector dimension.
    let schema = batches
        .first()
        .map(|b| b.schema())
        .unwrap_or_else(|| def.arrow_schema());
    let mut meta = vec![
        KeyValue::new("leadcrawl.schema_version".into(), def.version.to_string()),
        KeyValue::new("leadcrawl.table".into(), def.name.to_string()),
        KeyValue::new("leadcrawl.run_id".into(), prov.run_id.clone()),
        KeyValue::new("leadcrawl.config_hash".into(), prov.config_hash.clone()),
        KeyValue::new(
            "leadcrawl.version".into(),
            env!("CARGO_PKG_VERSION").to_string(),
        ),
    ];
    meta.extend(
        extra_meta
            .iter()
            .map(|(k, v)| KeyValue::new(k.clone(), v.clone())),
    );
    let mut props = WriterProperties::builder()
        .set_compression(Compression::ZSTD(
            ZstdLevel::try_new(def.zstd_level).unwrap_or_default(),
        ))
        .set_max_row_group_size(def.row_group_rows)
        // Pages cut by size (1 MiB) alone, not every 20,000 rows as well: a column of small
        // values is then one page per row group, and a reader pays its per-page costs (parquet's
        // zstd codec builds a decompression context per page) a few times instead of dozens.
        .set_data_page_row_count_limit(def.row_group_rows)
        .set_key_value_metadata(Some(meta));
    for column in def.plain {
        props = props.set_column_dictionary_enabled(ColumnPath::from(*column), false);
    }
    let props = props.build();
    let file = Summing {
        inner: File::create(&tmp_path).map_err(io(&tmp_path))?,
        crc: crc32fast::Hasher::new(),
        bytes: 0,
    };
    let pq = |source| TableError::Parquet {
        path: tmp_path.clone(),
        source,
    };
    let mut writer = ArrowWriter::try_new(file, schema, Some(props)).map_err(pq)?;
    let mut rows = 0u64;
    for b in batches {
        rows += b.num_rows() as u64;
        writer.write(b).map_err(pq)?;
    }
    let summed = writer.into_inner().map_err(pq)?;
    summed.inner.sync_all().map_err(io(&tmp_path))?;
    Ok(PendingPart {
        table: def.name.to_string(),
        tmp_path,
        final_path,
        rows,
        bytes: summed.bytes,
        checksum: format!("{:08x}", summed.crc.finalize()),
    })
}

/// Writes a whole non-Parquet output file (`evaluation.json`, `report.html`) to a synced
/// temporary next to `output_dir/name`, as a pending part for the state store to move into place.
pub fn write_pending_bytes(
    output_dir: &Path,
    name: &str,
    body: &[u8],
    prov: &Provenance,
) -> Result<PendingPart, TableError> {
    let tmp_path = output_dir.join(format!("{TMP_PREFIX}{}-{name}", prov.run_id));
    let mut file = File::create(&tmp_path).map_err(io(&tmp_path))?;
    std::io::Write::write_all(&mut file, body).map_err(io(&tmp_path))?;
    file.sync_all().map_err(io(&tmp_path))?;
    Ok(PendingPart {
        table: name.to_owned(),
        tmp_path,
        final_path: output_dir.join(name),
        rows: 1,
        bytes: body.len() as u64,
        checksum: checksum(body),
    })
}

/// Reads one Parquet file whole.
pub fn read_file(path: &Path) -> Result<Vec<RecordBatch>, TableError> {
    let file = File::open(path).map_err(io(path))?;
    let pq = |source| TableError::Parquet {
        path: path.to_path_buf(),
        source,
    };
    let reader = ParquetRecordBatchReaderBuilder::try_new(file)
        .map_err(pq)?
        .build()
        .map_err(pq)?;
    reader
        .collect::<Result<Vec<_>, _>>()
        .map_err(|source| TableError::Arrow {
            path: path.to_path_buf(),
            source,
        })
}

/// A registered part's bytes, checked against the size and checksum recorded at commit.
pub fn part_bytes(
    output_dir: &Path,
    stage: &str,
    part: &crate::state::PartRecord,
) -> Result<bytes::Bytes, TableError> {
    let damaged = |why: String| TableError::Damaged {
        stage: stage.to_owned(),
        file: part.file.clone(),
        why,
    };
    let path = output_dir.join(&part.file);
    let body = std::fs::read(&path).map_err(|e| damaged(format!("cannot be read: {e}")))?;
    if let Some(want) = part.bytes {
        if body.len() as u64 != want {
            return Err(damaged(format!(
                "{} bytes, {want} were committed",
                body.len()
            )));
        }
    }
    if let Some(want) = &part.checksum {
        let got = checksum(&body);
        if &got != want {
            return Err(damaged(format!("checksum {got}, {want} was committed")));
        }
    }
    Ok(bytes::Bytes::from(body))
}

/// The first damage [`part_bytes`] would find, by size alone (a `stat`, no read): what every
/// run checks of the parts it builds on.
pub fn check_size(
    output_dir: &Path,
    stage: &str,
    part: &crate::state::PartRecord,
) -> Result<(), TableError> {
    let damaged = |why: String| TableError::Damaged {
        stage: stage.to_owned(),
        file: part.file.clone(),
        why,
    };
    let meta = std::fs::metadata(output_dir.join(&part.file))
        .map_err(|e| damaged(format!("cannot be read: {e}")))?;
    match part.bytes {
        Some(want) if meta.len() != want => Err(damaged(format!(
            "{} bytes, {want} were committed",
            meta.len()
        ))),
        _ => Ok(()),
    }
}

/// Reads a registered part, only the named columns when `columns` is given. A whole read checks
/// the checksum; a projection (listing a few columns of a large part, e.g. `pages` without its
/// HTML) checks the size and reads only what it needs.
pub fn read_part(
    output_dir: &Path,
    stage: &str,
    part: &crate::state::PartRecord,
    columns: Option<&[&str]>,
) -> Result<Vec<RecordBatch>, TableError> {
    if let Some(columns) = columns {
        check_size(output_dir, stage, part)?;
        return read_columns(&output_dir.join(&part.file), columns);
    }
    let body = part_bytes(output_dir, stage, part)?;
    let path = output_dir.join(&part.file);
    let pq = |source| TableError::Parquet {
        path: path.clone(),
        source,
    };
    let reader = ParquetRecordBatchReaderBuilder::try_new(body)
        .map_err(pq)?
        .build()
        .map_err(pq)?;
    reader
        .collect::<Result<Vec<_>, _>>()
        .map_err(|source| TableError::Arrow {
            path: path.clone(),
            source,
        })
}

/// Keys [`write_pending`] writes into every file itself.
const OWN_KEYS: &[&str] = &[
    "leadcrawl.schema_version",
    "leadcrawl.table",
    "leadcrawl.run_id",
    "leadcrawl.config_hash",
    "leadcrawl.version",
];

/// A file's leadcrawl metadata beyond what every file gets (a stage's own, e.g. the extractor
/// version): what a rewritten copy of a part carries over.
pub fn stage_metadata(path: &Path) -> Result<Vec<(String, String)>, TableError> {
    let file = File::open(path).map_err(io(path))?;
    let builder =
        ParquetRecordBatchReaderBuilder::try_new(file).map_err(|source| TableError::Parquet {
            path: path.to_path_buf(),
            source,
        })?;
    Ok(builder
        .metadata()
        .file_metadata()
        .key_value_metadata()
        .into_iter()
        .flatten()
        .filter(|kv| kv.key.starts_with("leadcrawl.") && !OWN_KEYS.contains(&kv.key.as_str()))
        .filter_map(|kv| Some((kv.key.clone(), kv.value.clone()?)))
        .collect())
}

/// Reads only the named columns of a Parquet file (e.g. `pages` without its HTML).
pub fn read_columns(path: &Path, columns: &[&str]) -> Result<Vec<RecordBatch>, TableError> {
    let file = File::open(path).map_err(io(path))?;
    let pq = |source| TableError::Parquet {
        path: path.to_path_buf(),
        source,
    };
    let builder = ParquetRecordBatchReaderBuilder::try_new(file).map_err(pq)?;
    let mask =
        parquet::arrow::ProjectionMask::columns(builder.parquet_schema(), columns.iter().copied());
    let reader = builder.with_projection(mask).build().map_err(pq)?;
    reader
        .collect::<Result<Vec<_>, _>>()
        .map_err(|source| TableError::Arrow {
            path: path.to_path_buf(),
            source,
        })
}

/// Deletes files in a table's folder that are not registered parts: temporaries and parts whose
/// commit never happened (the process died between rename and commit). Returns what it removed.
pub fn remove_unregistered(
    output_dir: &Path,
    def: &TableDef,
    registered: &[String],
) -> Vec<PathBuf> {
    let mut removed = Vec::new();
    let dir = match def.layout {
        Layout::Parts => output_dir.join(def.name),
        Layout::File => output_dir.to_path_buf(),
    };
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return removed;
    };
    for e in entries.flatten() {
        let path = e.path();
        let name = e.file_name().to_string_lossy().into_owned();
        let ours = match def.layout {
            Layout::Parts => name.ends_with(".parquet"),
            Layout::File => {
                name.starts_with(TMP_PREFIX) && name.ends_with(&format!("-{}.parquet", def.name))
            }
        };
        if !ours {
            continue;
        }
        let rel = path
            .strip_prefix(output_dir)
            .unwrap_or(&path)
            .to_string_lossy()
            .into_owned();
        if !registered.contains(&rel) && std::fs::remove_file(&path).is_ok() {
            removed.push(path);
        }
    }
    removed
}

/// A dictionary-encoded string column (`dictionary<int32, string>`), for low-cardinality values.
pub fn dict<'a>(values: impl Iterator<Item = &'a str>) -> arrow::array::ArrayRef {
    let mut b = arrow::array::StringDictionaryBuilder::<arrow::datatypes::Int32Type>::new();
    for v in values {
        b.append_value(v);
    }
    std::sync::Arc::new(b.finish())
}

/// A nullable dictionary-encoded string column.
pub fn dict_opt<'a>(values: impl Iterator<Item = Option<&'a str>>) -> arrow::array::ArrayRef {
    let mut b = arrow::array::StringDictionaryBuilder::<arrow::datatypes::Int32Type>::new();
    for v in values {
        b.append_option(v);
    }
    std::sync::Arc::new(b.finish())
}
