//! `leadcrawl extract-html`: the page extractor on a folder of HTML files, for debugging
//! extraction and for measuring it against benchmarks (`bench/extract_quality.py`).
//!
//! Every `*.html`, `*.htm` and `*.html.gz` file of the folder (not recursive) is decoded
//! (BOM, `<meta charset>`, UTF-8, else a statistical guess), extracted alone (no site-level
//! template removal), and written as `{"<file stem>": {"articleBody", "title", "lang",
//! "page_type", ...}}` to one JSON file, atomically.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};

use anyhow::Context;
use serde::Serialize;

use crate::exit::{self, UsageError};

#[derive(Serialize)]
struct Extracted {
    #[serde(rename = "articleBody")]
    article_body: String,
    title: Option<String>,
    description: Option<String>,
    lang: Option<String>,
    html_lang: Option<String>,
    page_type: &'static str,
    word_count: usize,
    charset: &'static str,
    /// With `--explain`: whether the main text was chosen as an article's body.
    #[serde(skip_serializing_if = "Option::is_none")]
    article: Option<bool>,
    /// With `--explain`: every block with the verdicts behind the main text.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    blocks: Vec<ExplainedBlock>,
}

#[derive(Serialize)]
struct ExplainedBlock {
    main: bool,
    chrome: &'static str,
    in_content: bool,
    link_density: f32,
    element: u32,
    kind: String,
    text: String,
}

/// The files of `dir` the command reads, sorted, with their stems.
fn html_files(dir: &Path) -> anyhow::Result<Vec<(String, PathBuf)>> {
    let entries = std::fs::read_dir(dir)
        .map_err(|e| UsageError(format!("--input {}: {e}", dir.display())))?;
    let mut files = Vec::new();
    for entry in entries {
        let path = entry?.path();
        let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
            continue;
        };
        let stem = [".html.gz", ".htm.gz", ".html", ".htm"]
            .iter()
            .find_map(|ext| name.strip_suffix(ext));
        if let Some(stem) = stem {
            if path.is_file() {
                files.push((stem.to_owned(), path.clone()));
            }
        }
    }
    files.sort();
    Ok(files)
}

fn read_page(path: &Path) -> std::io::Result<Vec<u8>> {
    let raw = std::fs::read(path)?;
    if raw.starts_with(&[0x1f, 0x8b]) {
        let mut out = Vec::with_capacity(raw.len() * 4);
        flate2::read::MultiGzDecoder::new(&raw[..]).read_to_end(&mut out)?;
        Ok(out)
    } else {
        Ok(raw)
    }
}

/// Runs the command; returns the exit code (3 when some files could not be read).
pub fn run(input: &Path, output: &Path, explain: bool) -> anyhow::Result<u8> {
    let files = html_files(input)?;
    if files.is_empty() {
        return Err(UsageError(format!(
            "--input {}: no *.html, *.htm or *.html.gz files",
            input.display()
        ))
        .into());
    }
    let mut out = BTreeMap::new();
    let mut failed = 0usize;
    for (stem, path) in &files {
        let bytes = match read_page(path) {
            Ok(b) => b,
            Err(e) => {
                tracing::warn!(file = %path.display(), "cannot read: {e}");
                failed += 1;
                continue;
            }
        };
        let (html, charset) = enrich::extract::decode_html(&bytes, None);
        let page = enrich::extract::extract(&html);
        let text = page.main_text();
        // A file has no URL of its own: the page's canonical URL, if it states one, helps.
        let headings: Vec<String> = page.headings().into_iter().map(|(_, h)| h).collect();
        let heading_refs: Vec<&str> = headings.iter().map(String::as_str).collect();
        let page_type = enrich::pagetype::classify(
            page.canonical.as_deref().unwrap_or(""),
            page.title.as_deref().unwrap_or(""),
            &heading_refs,
        )
        .as_str();
        let blocks = if explain {
            page.blocks
                .iter()
                .zip(&page.main)
                .map(|(b, main)| ExplainedBlock {
                    main: *main,
                    chrome: b.chrome_rule,
                    in_content: b.in_content,
                    link_density: (b.link_density() * 100.0).round() / 100.0,
                    element: b.elem,
                    kind: format!("{:?}", b.kind),
                    text: b.text.clone(),
                })
                .collect()
        } else {
            Vec::new()
        };
        out.insert(
            stem.clone(),
            Extracted {
                lang: enrich::extract::page_language(&text, page.html_lang.as_deref()),
                word_count: text.split_whitespace().count(),
                article_body: text,
                page_type,
                title: page.title,
                description: page.description,
                html_lang: page.html_lang,
                charset,
                article: explain.then_some(page.article),
                blocks,
            },
        );
    }
    let tmp = output.with_extension("json.tmp");
    let json = serde_json::to_vec_pretty(&out)?;
    std::fs::write(&tmp, json).with_context(|| format!("writing {}", tmp.display()))?;
    std::fs::rename(&tmp, output).with_context(|| format!("writing {}", output.display()))?;
    tracing::info!(pages = out.len(), failed, output = %output.display(), "extracted");
    Ok(if failed > 0 {
        exit::UNITS_FAILED
    } else {
        exit::SUCCESS
    })
}
