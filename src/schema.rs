//! Every table leadcrawl writes: its columns, types and meaning, in one place.
//!
//! The Arrow schemas written to Parquet, `leadcrawl schema TABLE` and `docs/schema.md` all come
//! from [`TABLES`], so the documentation cannot drift from the files (a test checks that
//! `docs/schema.md` is what `leadcrawl schema --markdown` prints).

use std::sync::Arc;

use arrow::datatypes::{DataType, Field, Schema, TimeUnit};

/// How a table is laid out in the output folder.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    /// `T/part-*.parquet`, one part per committed batch of units.
    Parts,
    /// `T.parquet`, written whole.
    File,
}

/// One documented column.
pub struct Column {
    pub name: &'static str,
    pub ty: fn() -> DataType,
    pub nullable: bool,
    pub doc: &'static str,
}

/// One documented table.
pub struct TableDef {
    pub name: &'static str,
    /// Bumped whenever a column is added, removed or changes type or meaning.
    pub version: u32,
    pub stage: &'static str,
    pub layout: Layout,
    /// Rows per Parquet row group: small for tables of large values (HTML), so that the
    /// encoder never holds more than one row group.
    pub row_group_rows: usize,
    /// Columns written without dictionary encoding: text that is (nearly) unique per row, where
    /// building a dictionary only costs time before the writer falls back to plain.
    pub plain: &'static [&'static str],
    /// zstd level of its parts (3 for most; 1 where a table of millions of rows is written on the
    /// critical path and level 1 measured as small).
    pub zstd_level: i32,
    pub doc: &'static str,
    pub columns: &'static [Column],
}

fn utf8() -> DataType {
    DataType::Utf8
}
fn u64t() -> DataType {
    DataType::UInt64
}
fn utf8_list() -> DataType {
    DataType::List(Arc::new(Field::new("item", DataType::Utf8, true)))
}
fn u32t() -> DataType {
    DataType::UInt32
}
fn i32t() -> DataType {
    DataType::Int32
}
/// An embedding: `FixedSizeList<Float32, DIM>`; DIM (0 here) is the model's, set when written
/// (see [`TableDef::arrow_schema_with_dim`]).
pub fn vector() -> DataType {
    DataType::FixedSizeList(Arc::new(Field::new("item", DataType::Float32, false)), 0)
}
fn i8t() -> DataType {
    DataType::Int8
}
fn f64t() -> DataType {
    DataType::Float64
}
fn date32() -> DataType {
    DataType::Date32
}
/// Candidates kept by a lookup: `list<struct<registry, id, name, score>>`.
pub fn candidate_list() -> DataType {
    DataType::List(Arc::new(Field::new(
        "item",
        DataType::Struct(
            vec![
                Field::new("registry", DataType::Utf8, false),
                Field::new("id", DataType::Utf8, false),
                Field::new("name", DataType::Utf8, false),
                Field::new("score", DataType::Float64, false),
            ]
            .into(),
        ),
        false,
    )))
}
/// The won leads most like a scored lead: `list<struct<lead_id, name, cosine>>`.
pub fn similar_list() -> DataType {
    DataType::List(Arc::new(Field::new(
        "item",
        DataType::Struct(
            vec![
                Field::new("lead_id", DataType::Utf8, false),
                Field::new("name", DataType::Utf8, false),
                Field::new("cosine", DataType::Float64, false),
            ]
            .into(),
        ),
        false,
    )))
}
/// What moved a score: `list<struct<feature, contribution>>`.
pub fn driver_list() -> DataType {
    DataType::List(Arc::new(Field::new(
        "item",
        DataType::Struct(
            vec![
                Field::new("feature", DataType::Utf8, false),
                Field::new("contribution", DataType::Float64, false),
            ]
            .into(),
        ),
        false,
    )))
}
fn boolean() -> DataType {
    DataType::Boolean
}
fn binary() -> DataType {
    DataType::Binary
}
fn dict_utf8() -> DataType {
    DataType::Dictionary(Box::new(DataType::Int32), Box::new(DataType::Utf8))
}
/// UTC timestamps, microseconds.
pub fn timestamp_utc() -> DataType {
    DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()))
}

const fn col(
    name: &'static str,
    ty: fn() -> DataType,
    nullable: bool,
    doc: &'static str,
) -> Column {
    Column {
        name,
        ty,
        nullable,
        doc,
    }
}

pub const LEADS: TableDef = TableDef {
    name: "leads",
    version: 3,
    stage: "ingest",
    layout: Layout::Parts,
    row_group_rows: 65_536,
    plain: &[],
    zstd_level: 3,
    doc: "One row per accepted input row: the lead list, cleaned. Duplicates and invalid rows are in `rejects`.",
    columns: &[
        col("lead_id", utf8, false, "Stable id: 16 hex digits of SHA-256 over the mapped `id` column if any, else over the normalised name, domain, country and identifiers. The same input row gets the same id in every run."),
        col("source_line", u64t, false, "Line of the row in the input file (1 = header for CSV; data row number for Parquet)."),
        col("external_id", utf8, true, "The CRM's own id (column mapped as `id`)."),
        col("name", utf8, true, "Company name: Unicode NFC, whitespace collapsed and trimmed. Null only in a list of leads with an id and no name (person-level or anonymised CRM exports): such leads skip name matching."),
        col("website", utf8, true, "Canonical website URL (`https://acme.fr/`); a missing scheme means https."),
        col("host", utf8, true, "Host of `website`, lower-case."),
        col("domain", utf8, true, "Registrable domain of `website` (public-suffix aware: `shop.acme.co.uk` → `acme.co.uk`)."),
        col("country", utf8, true, "ISO 3166-1 alpha-2 code when the input country is recognised, else null."),
        col("country_raw", utf8, true, "Country as written in the input."),
        col("status", dict_utf8, false, "`won`, `lost` or `open` (anything not listed in `ingest.status`)."),
        col("status_raw", utf8, true, "Status as written in the input."),
        col("siren", utf8, true, "French SIREN, 9 digits, Luhn-checked (also derived from a SIRET)."),
        col("siret", utf8, true, "French SIRET, 14 digits, Luhn-checked."),
        col("cik", utf8, true, "SEC Central Index Key, zero-padded to 10 digits."),
        col("lei", utf8, true, "Legal Entity Identifier, ISO 17442 checked."),
        col("company_number", utf8, true, "UK Companies House number, 8 characters."),
        col("description", utf8, true, "Free-text description from the input (embedded with the web text)."),
        col("notes", utf8, true, "Free-text notes from the input (embedded with the web text)."),
        col("lead_date", date32, true, "The lead's date (column mapped as `date`, e.g. its creation date in the CRM): `YYYY-MM-DD`, `DD/MM/YYYY`, `DD.MM.YYYY`, a spreadsheet serial day or a Parquet date/timestamp. Enables evaluate's time split."),
        col("attributes", utf8, true, "The input's other columns (not mapped to a lead field, filtered by `ingest.attributes`) as a JSON object of header → value as written; empty values left out. Typed in `features` (`attr_*` columns)."),
    ],
};

pub const REJECTS: TableDef = TableDef {
    name: "rejects",
    version: 1,
    stage: "ingest",
    layout: Layout::Parts,
    row_group_rows: 65_536,
    plain: &[],
    zstd_level: 3,
    doc: "One row per input row that was not accepted, with the reason. Nothing from the input is lost: a row is either in `leads` or here.",
    columns: &[
        col("source_line", u64t, false, "Line of the row in the input file (first line of a record with quoted newlines)."),
        col("column", utf8, true, "The input column at fault, when one is."),
        col("reason", utf8, false, "Why the row was rejected, e.g. `SIREN \"552032535\" fails its check digit` or `duplicate of line 12`."),
        col("raw", utf8_list, false, "The row's raw values, in input column order, after decoding to UTF-8."),
    ],
};

pub const PAGES: TableDef = TableDef {
    name: "pages",
    version: 1,
    stage: "crawl",
    layout: Layout::Parts,
    row_group_rows: 256,
    plain: &[],
    zstd_level: 3,
    doc: "One row per attempted URL per lead (robots.txt and sitemaps included), with the raw HTML so that extraction can be re-run without re-crawling. A site (host) is the unit of work: its rows are committed together or not at all.",
    columns: &[
        col("lead_id", utf8, false, "The lead whose website this is (leads sharing a site each get the rows)."),
        col("site", utf8, false, "Site key: registrable domain (`acme.fr`), or `ip:port` for an address. The politeness unit."),
        col("url", utf8, false, "Canonical URL requested."),
        col("final_url", utf8, false, "URL after redirects (equal to `url` when none)."),
        col("kind", dict_utf8, false, "`page`, `robots` or `sitemap`."),
        col("depth", u32t, false, "Link depth from the start page (sitemap URLs count as depth 1)."),
        col("discovered_from", dict_utf8, false, "`seed` (the lead's website), `link`, `sitemap` or `robots`."),
        col("status", i32t, true, "Final HTTP status; null when no response was received. 304: unchanged since the previous crawl (a re-run sends conditional requests); `html`, `content_type`, `etag` and `last_modified` are then carried over from it."),
        col("content_type", utf8, true, "Content-Type header of the final response."),
        col("charset", utf8, true, "Encoding used to decode the HTML (BOM, header, meta, then detection)."),
        col("fetched_at", timestamp_utc, false, "When the last attempt started."),
        col("elapsed_ms", u32t, false, "Wall time of the fetch, retries and redirects included."),
        col("bytes", u64t, false, "Body bytes received (after decompression)."),
        col("etag", utf8, true, "ETag header (for conditional re-crawls)."),
        col("last_modified", utf8, true, "Last-Modified header (for conditional re-crawls)."),
        col("error_kind", dict_utf8, true, "Null on success; else `dns`, `connect`, `timeout`, `protocol` (a malformed answer), `time_budget` (the site's `site_time_budget_secs` ran out), `stopped` (a stop cut the request), `forbidden_address`, `http_status`, `too_large`, `too_many_redirects`, `redirect_loop`, `off_site_redirect`, `content_type`, `body`, `invalid_url`."),
        col("error", utf8, true, "Human-readable error."),
        col("attempts", u32t, false, "Requests made for this URL (retries included, redirects not)."),
        col("html", binary, true, "Raw body bytes as received (decompressed, not decoded) for HTML pages, robots.txt and sitemaps that were read successfully; null otherwise."),
    ],
};

pub const PAGE_TEXT: TableDef = TableDef {
    name: "page_text",
    version: 1,
    stage: "extract",
    layout: Layout::Parts,
    row_group_rows: 1024,
    plain: &[],
    zstd_level: 3,
    doc: "One row per crawled HTML page (status 2xx or 304) per lead: the page's main text with boilerplate removed by single-page rules and by site-level template removal, with its metadata. A lead is the unit of work: its rows are committed together.",
    columns: &[
        col("lead_id", utf8, false, "The lead whose website this page belongs to."),
        col("site", utf8, false, "Site key, as in `pages.site`."),
        col("url", utf8, false, "URL the page was read from (`pages.final_url`)."),
        col("page_type", dict_utf8, false, "`home` (the lead's start page), `about`, `product`, `pricing`, `customers`, `careers`, `contact`, `legal`, `blog` or `other`: from URL path, title and headings, English and French keywords."),
        col("lang", utf8, true, "Language of `text` (ISO 639-1 when it has one, e.g. `fr`): detected (whatlang) when the detector is sure, else the primary subtag of `<html lang>`; null when neither."),
        col("html_lang", utf8, true, "The page's `<html lang>` attribute as written."),
        col("title", utf8, true, "`<title>`, whitespace collapsed."),
        col("description", utf8, true, "`<meta name|property|itemprop=\"description\">`, else `og:description`."),
        col("canonical_url", utf8, true, "`<link rel=canonical>` as written."),
        col("text", utf8, false, "Main text: one block (heading, paragraph, list item, table cell) per line. Text recurring on at least `extract.template_share` of the site's pages is removed; such blocks with an address, phone or legal line are kept once, at the end of the home page's text."),
        col("word_count", u32t, false, "Whitespace-separated words in `text`."),
        col("extractor_version", dict_utf8, false, "Version of the extraction rules that produced the row (`leadcrawl-extract/N`)."),
    ],
};

pub const WEB_FEATURES: TableDef = TableDef {
    name: "web_features",
    version: 1,
    stage: "extract",
    layout: Layout::Parts,
    row_group_rows: 4096,
    plain: &[],
    zstd_level: 3,
    doc: "One row per lead: what the lead's website says about the company, gathered over all its crawled pages. Leads without a website or without a readable page have a row with `pages` = 0. Signals (e-mails, phones, ids, social links) are read from all visible text and links, footers included.",
    columns: &[
        col("lead_id", utf8, false, "The lead."),
        col("site", utf8, true, "Site key, as in `pages.site`; null when the lead has no readable page (no website, dead site, only errors)."),
        col("pages", u32t, false, "HTML pages extracted. 0 also for a lead whose extraction failed (a recorded unit failure, see `leadcrawl status`)."),
        col("pages_home", u32t, false, "Pages of type `home`: the lead's start page, and other language versions of it (`/en/`, `/fr/`)."),
        col("pages_about", u32t, false, "Pages of type `about`."),
        col("pages_product", u32t, false, "Pages of type `product`."),
        col("pages_pricing", u32t, false, "Pages of type `pricing`."),
        col("pages_customers", u32t, false, "Pages of type `customers`."),
        col("pages_careers", u32t, false, "Pages of type `careers`."),
        col("pages_contact", u32t, false, "Pages of type `contact`."),
        col("pages_legal", u32t, false, "Pages of type `legal`."),
        col("pages_blog", u32t, false, "Pages of type `blog`."),
        col("pages_other", u32t, false, "Pages of type `other`."),
        col("has_about", boolean, false, "`pages_about > 0`."),
        col("has_product", boolean, false, "`pages_product > 0`."),
        col("has_pricing", boolean, false, "`pages_pricing > 0`."),
        col("has_customers", boolean, false, "`pages_customers > 0`."),
        col("has_careers", boolean, false, "`pages_careers > 0`."),
        col("has_contact", boolean, false, "`pages_contact > 0`."),
        col("has_legal", boolean, false, "`pages_legal > 0`."),
        col("has_blog", boolean, false, "`pages_blog > 0`."),
        col("words", u64t, false, "Words of main text over all pages (`page_text.word_count` summed)."),
        col("main_lang", utf8, true, "Language of most pages."),
        col("languages", utf8_list, false, "Languages detected, most pages first."),
        col("emails", utf8_list, false, "E-mail addresses found (mailto: links and text, simple obfuscations such as `contact [at] acme.fr` decoded), lower-case, first seen first."),
        col("own_domain_emails", utf8_list, false, "Those of `emails` on the site's own domain."),
        col("phones", utf8_list, false, "Phone numbers (tel: links and text), normalised to `+` and digits where the country is known."),
        col("linkedin", utf8, true, "LinkedIn company or profile URL, canonical."),
        col("x", utf8, true, "X / Twitter profile URL."),
        col("facebook", utf8, true, "Facebook page URL."),
        col("instagram", utf8, true, "Instagram profile URL."),
        col("youtube", utf8, true, "YouTube channel URL."),
        col("github", utf8, true, "GitHub organisation or user URL."),
        col("technologies", utf8_list, false, "Technologies fingerprinted from script sources, markup and `<meta name=generator>` (analytics, tag managers, CRM and marketing automation, chat, CMS, e-commerce, payments, frameworks, consent tools …), sorted."),
        col("siren", utf8_list, false, "French SIREN numbers printed on the site (legal notice, footer), check digit verified; also those inside SIRET, VAT and RCS numbers."),
        col("siret", utf8_list, false, "French SIRET numbers, check digit verified."),
        col("vat", utf8_list, false, "French intra-community VAT numbers with a valid key (`FR40123456824`)."),
        col("rcs", utf8_list, false, "RCS registrations (`Paris B 552100554`)."),
        col("lei", utf8_list, false, "LEIs near the word LEI, ISO 17442 checked."),
        col("uk_company_numbers", utf8_list, false, "UK Companies House numbers near \"Company number\" / \"Registered in England\"."),
        col("org_name", utf8, true, "JSON-LD `Organization` (or `LocalBusiness` …) `name`: from the home page, else the most complete one on the site."),
        col("org_legal_name", utf8, true, "JSON-LD `legalName`."),
        col("org_telephone", utf8, true, "JSON-LD `telephone`."),
        col("org_email", utf8, true, "JSON-LD `email`."),
        col("org_address", utf8, true, "JSON-LD `address` on one line."),
        col("org_postal_code", utf8, true, "JSON-LD `address.postalCode`."),
        col("org_locality", utf8, true, "JSON-LD `address.addressLocality`."),
        col("org_country", utf8, true, "JSON-LD `address.addressCountry`."),
        col("org_founding_date", utf8, true, "JSON-LD `foundingDate` as written."),
        col("org_employees", utf8, true, "JSON-LD `numberOfEmployees`: a value or `min-max`."),
        col("org_same_as", utf8_list, false, "JSON-LD `sameAs` URLs."),
        col("copyright_year_min", i32t, true, "Earliest year in copyright notices (`© 2008-2025`)."),
        col("copyright_year_max", i32t, true, "Latest year in copyright notices: a stale year hints at an unmaintained site."),
        col("founding_year", i32t, true, "Earliest founding year stated in the text (`founded in 1998`, `depuis 1987`) or JSON-LD `foundingDate`."),
        col("template_blocks", u32t, false, "Distinct text blocks recognised as site template (on at least `extract.template_share` of the pages)."),
        col("extractor_version", dict_utf8, false, "Version of the extraction rules."),
    ],
};

pub const CHUNKS: TableDef = TableDef {
    name: "chunks",
    version: 1,
    stage: "embed",
    layout: Layout::Parts,
    row_group_rows: 1024,
    plain: &[],
    zstd_level: 3,
    doc: "One row per embedded chunk: pieces of each page's text (and of the lead's own description and notes) that fit the model, each prefixed by its page title, with its vector. A lead is the unit of work. File metadata: `leadcrawl.model_id` (the graph that ran: fp32 and int8 have different ids), `leadcrawl.dimension`, `leadcrawl.precision` (`int8` or `fp32`, `embed.precision`).",
    columns: &[
        col("lead_id", utf8, false, "The lead."),
        col("source", utf8, false, "The page URL, or `description` / `notes` for the lead's own text."),
        col("page_type", dict_utf8, false, "The page's type (`page_text.page_type`), or `description` / `notes`."),
        col("chunk_index", u32t, false, "Position of the chunk within its source, from 0."),
        col("text", utf8, false, "The chunk: title line (pages), then paragraphs, sentences or word runs of the source."),
        col("tokens", u32t, false, "Tokens of `text` by the model's tokenizer, special tokens included; at most `embed.max_tokens` (a single longer word is cut by the model)."),
        col("text_hash", utf8, false, "16 hex digits of SHA-256 of `text`: with the model id, the key of the embedding cache (unchanged text is never embedded twice)."),
        col("vector", vector, false, "The chunk's embedding, L2-normalised (`FixedSizeList<Float32>`; DIM in the file metadata)."),
    ],
};

pub const LEAD_EMBEDDINGS: TableDef = TableDef {
    name: "lead_embeddings",
    version: 1,
    stage: "embed",
    layout: Layout::Parts,
    row_group_rows: 4096,
    plain: &[],
    zstd_level: 3,
    doc: "One row per lead: the weighted mean of its chunk vectors (weights by source, `embed.weights`), L2-normalised. Leads without any text have a null vector and `chunk_count` 0. File metadata: `leadcrawl.model_id`, `leadcrawl.dimension`, `leadcrawl.precision` (`int8` or `fp32`).",
    columns: &[
        col("lead_id", utf8, false, "The lead."),
        col("vector", vector, true, "The lead's embedding, L2-normalised; null without text."),
        col("chunk_count", u32t, false, "Chunks pooled (weight > 0)."),
        col("model_id", dict_utf8, false, "Model folder name and 16 hex digits of SHA-256 of the graph that ran: `<folder>-<hex>` for model.onnx (fp32), `<folder>-int8-<hex>` for model.int8.onnx."),
        col("dimension", u32t, false, "Vector size."),
    ],
};

pub const REGISTRY: TableDef = TableDef {
    name: "registry",
    version: 1,
    stage: "registry",
    layout: Layout::Parts,
    row_group_rows: 65_536,
    plain: &[],
    zstd_level: 3,
    doc: "One row per lead: the public registry record matched to it (France's SIRENE via the API Recherche d'entreprises, SEC EDGAR, GLEIF, UK Companies House), how it was matched, and its firmographics in one taxonomy across registries. Unmatched and ambiguous leads keep their top candidates. A lead is the unit of work.",
    columns: &[
        col("lead_id", utf8, false, "The lead."),
        col("match_status", dict_utf8, false, "`matched`; `ambiguous` (several candidates score alike: none chosen, see `candidates`); `unmatched` (best candidate below `registry.accept_score`, or none); `not_searched` (no registry for this lead's country, or the registry is off); `error` (a registry could not answer: the lead's unit failed and is retried by `--force registry`, which re-asks only what the cache lacks)."),
        col("match_method", dict_utf8, true, "`id_input` (identifier in the input), `id_website` (identifier found on the company's own website, name checked), `name` (name search and scoring)."),
        col("match_score", f64t, true, "1.0 for `id_input`; otherwise the matcher's score in [0, 1] (name similarity adjusted by country, postcode/city and domain agreement)."),
        col("registry", dict_utf8, true, "`sirene`, `sec_edgar`, `gleif` or `companies_house`."),
        col("registry_id", utf8, true, "SIREN (9 digits), CIK (10 digits, zero-padded), LEI, or UK company number."),
        col("candidates", candidate_list, false, "Top candidates (`registry`, `id`, `name`, `score`) when nothing was chosen; empty when matched."),
        col("note", utf8, true, "What was asked and why nothing was chosen, for people."),
        col("legal_name", utf8, true, "Official name."),
        col("other_names", utf8_list, true, "Acronym, trade, former and other names."),
        col("status", dict_utf8, true, "`active` or `ceased`; null when the registry does not say (SEC)."),
        col("industry_scheme", dict_utf8, true, "`NAF rev. 2` (SIRENE), `US SIC` (SEC), `UK SIC 2007` (Companies House)."),
        col("industry_code", utf8, true, "The industry code as the registry writes it (`70.10Z`, `3571`, `62012`)."),
        col("industry_label", utf8, true, "The registry's label of the code, when it gives one."),
        col("nace_section", dict_utf8, true, "NACE rev. 2 section letter A–U: the one sector taxonomy across registries (NAF/UK SIC by division; US SIC by major group, see `enrich/data/`)."),
        col("nace_division", dict_utf8, true, "NACE rev. 2 division, 2 digits (NAF and UK SIC only)."),
        col("sic_division", dict_utf8, true, "US SIC division letter A–J (SEC only)."),
        col("sector", dict_utf8, true, "English label of `nace_section`."),
        col("headcount_band", dict_utf8, true, "The registry's headcount band code (INSEE `tranche_effectif_salarie`; `NN` = no employees or unknown)."),
        col("headcount_min", u32t, true, "Lower bound of the headcount band."),
        col("headcount_max", u32t, true, "Upper bound of the headcount band; null for the open top band (10,000+)."),
        col("created", date32, true, "Creation / incorporation date (a year or month alone is read as its first day)."),
        col("age_years", f64t, true, "Years from `created` to the day of the run."),
        col("ceased", date32, true, "Closure / cessation date."),
        col("legal_form", dict_utf8, true, "Legal form code (INSEE `nature_juridique`, GLEIF ELF code, Companies House type, SEC entity type)."),
        col("legal_form_label", utf8, true, "Label of the legal form, when known."),
        col("category", dict_utf8, true, "Company category: PME / ETI / GE (INSEE), the SEC filer category, the GLEIF entity category."),
        col("address", utf8, true, "Head office address, one line."),
        col("postcode", utf8, true, "Head office postcode."),
        col("city", utf8, true, "Head office city."),
        col("region", utf8, true, "Region / state code of the head office."),
        col("country", dict_utf8, true, "ISO 3166-1 alpha-2 country of the head office."),
        col("latitude", f64t, true, "Head office latitude (SIRENE)."),
        col("longitude", f64t, true, "Head office longitude (SIRENE)."),
        col("establishments", u32t, true, "Open establishments (SIRENE)."),
        col("revenue", f64t, true, "Latest published revenue (SIRENE `finances`, EUR)."),
        col("net_income", f64t, true, "Latest published net income (SIRENE `finances`, EUR)."),
        col("financial_year", i32t, true, "Year of `revenue` / `net_income`."),
        col("fiscal_year_end", utf8, true, "Fiscal year end, MMDD (SEC)."),
        col("state_of_incorporation", utf8, true, "State or country of incorporation (SEC)."),
        col("linked_ids", utf8_list, true, "Other identifiers the record names, as `kind:value` (`siret:…`, `vat:…`, `lei:…`, `ticker:…`)."),
        col("raw_json", utf8, true, "The registry's record as JSON, for researchers (SEC: without the filings list)."),
    ],
};

pub const UNIVERSE: TableDef = TableDef {
    name: "universe",
    version: 1,
    stage: "universe",
    layout: Layout::Parts,
    row_group_rows: 65_536,
    plain: &["registry_id", "name", "head_office_siret", "address", "source_line"],
    zstd_level: 1,
    doc: "One row per company of the bulk registry files named in `universe.files` (SIRENE `StockUniteLegale`, Companies House `BasicCompanyData`), active ones only by default (`universe.active_only`): the population prospects are scored in. Firmographics use the same codes as the `registry` table for the same company (the same parsers' helpers). A chunk of `universe.chunk_rows` file rows is the unit of work; its rows and rejects are one part of each table. File metadata: `leadcrawl.universe_file`, `leadcrawl.universe_registry`, `leadcrawl.universe_chunk` besides the run's provenance.",
    columns: &[
        col("registry", dict_utf8, false, "`sirene` or `companies_house`."),
        col("registry_id", utf8, false, "SIREN (9 digits) or Companies House number (8 characters, upper case): `registry.registry_id` of the same company."),
        col("name", utf8, true, "Registered name; for a French entrepreneur, their usual first name and name. Null when the registry masks it (SIRENE `statutDiffusionUniteLegale = P`)."),
        col("status", dict_utf8, true, "`active` or `ceased` (Companies House statuses such as `In Administration` are null, as in `registry`)."),
        col("industry_scheme", dict_utf8, true, "`NAF rev. 2`, `NAF rev. 1` (old units; no NACE), `NAP` (older still; no NACE) or `UK SIC 2007`."),
        col("industry_code", utf8, true, "The industry code as the registry writes it (`70.10Z`, `62012`)."),
        col("industry_label", utf8, true, "The registry's label of the code (Companies House's SIC text)."),
        col("naf25_code", utf8, true, "SIRENE `activitePrincipaleNAF25UniteLegale`: the NAF 2025 code (NACE rev. 2.1), as written."),
        col("nace_section", dict_utf8, true, "NACE rev. 2 section letter A–U."),
        col("nace_division", dict_utf8, true, "NACE rev. 2 division, 2 digits."),
        col("headcount_band", dict_utf8, true, "INSEE headcount band code (`NN` = no employees or unknown; `00` … `53`). Companies House publishes none."),
        col("headcount_min", u32t, true, "Lower bound of the headcount band."),
        col("headcount_max", u32t, true, "Upper bound of the headcount band; null for the open top band (10,000+)."),
        col("created", date32, true, "Creation / incorporation date."),
        col("ceased", date32, true, "Dissolution date (Companies House)."),
        col("legal_form", dict_utf8, true, "INSEE `categorieJuridiqueUniteLegale` (4 digits) or the Companies House type as the API writes it (`ltd`, `plc`, `llp`, …; the bulk file's label when it has no API equivalent)."),
        col("legal_form_label", dict_utf8, true, "Label of the legal form, when known."),
        col("category", dict_utf8, true, "INSEE `categorieEntreprise` (PME / ETI / GE), or the Companies House accounts category as the API writes it (`micro-entity`, `total-exemption-full`, `group`, `dormant`, …)."),
        col("employer", boolean, true, "SIRENE `caractereEmployeurUniteLegale`: true (O), false (N); null when not given."),
        col("postcode", utf8, true, "Registered office postcode (Companies House); the head office's `codePostalEtablissement` (SIRENE, with `universe.establishments`)."),
        col("city", utf8, true, "Registered office post town (Companies House); the head office's commune (SIRENE, with `universe.establishments`)."),
        col("region", dict_utf8, true, "Registered office county (Companies House); the head office's region, named as in `registry` (`Île-de-France`; SIRENE, with `universe.establishments`)."),
        col("country", dict_utf8, true, "ISO 3166-1 alpha-2: `FR` for SIRENE legal units (the head office's country with `universe.establishments`); `GB` for Companies House addresses in the UK."),
        col("address", utf8, true, "Registered office address lines, one line (Companies House)."),
        col("head_office_siret", utf8, true, "SIRENE head office SIRET: `siren` + `nicSiegeUniteLegale`."),
        col("masked", boolean, false, "SIRENE `statutDiffusionUniteLegale = P`: a person who opted out; INSEE masks part of the row."),
        col("source_file", utf8, false, "The bulk file the row comes from, as configured (absolute path)."),
        col("source_line", u64t, false, "Line of the row in the CSV (1 = header; the record's first line), or 1-based row number in a Parquet file."),
    ],
};

pub const UNIVERSE_REJECTS: TableDef = TableDef {
    name: "universe_rejects",
    version: 1,
    stage: "universe",
    layout: Layout::Parts,
    row_group_rows: 65_536,
    plain: &["raw"],
    zstd_level: 3,
    doc: "One row per bulk file row that could not be read, with every problem found in it. With `universe`, every data row of the files is accounted for: kept, rejected here, or counted as inactive (the stage's `inactive` counter).",
    columns: &[
        col("source_file", utf8, false, "The bulk file, as configured (absolute path)."),
        col("source_line", u64t, false, "Line of the row in the CSV (its first line), or 1-based row number in a Parquet file."),
        col("reason", utf8, false, "Every problem of the row, `; `-separated, each naming its column and value, e.g. `dateCreationUniteLegale \"invalid_date\" is not a date (YYYY-MM-DD)` or `56 fields, the header has 55`."),
        col("raw", utf8, false, "The row as read: its fields joined by commas (quoted where needed)."),
    ],
};

pub const FEATURES: TableDef = TableDef {
    name: "features",
    version: 3,
    stage: "features",
    layout: Layout::File,
    row_group_rows: 65_536,
    plain: &[],
    zstd_level: 3,
    doc: "One row per lead, for training: the label, the lead's own columns worth keeping, registry firmographics, web features, the pooled embedding, explicit missing-value indicators and provenance. Numbers are numbers, categories dictionary strings, lists lists. After the columns below come the lead list's own columns (`leads.attributes`), one `attr_<header>` column each (header in lower case, other characters than letters and digits as `_`), typed `Float64` (numbers; `12%` = 0.12), `Boolean` (yes/no, true/false, 1/0, oui/non), `Date32` or `Utf8` (categories); placeholders (`Select`, `N/A`, `-`, `unknown`…) are null. File metadata: `leadcrawl.model_id`, `leadcrawl.dimension`, `leadcrawl.attributes` (a JSON list: column, source header, type, forced, present, unreadable, levels), and the run's provenance (`leadcrawl.config_hash`, …).",
    columns: &[
        col("lead_id", utf8, false, "The lead (`leads.lead_id`)."),
        col("external_id", utf8, true, "The CRM's own id."),
        col("name", utf8, true, "Company name as given (null for a lead with only an id)."),
        col("domain", utf8, true, "Registrable domain of the website."),
        col("country", utf8, true, "ISO 3166-1 alpha-2 country of the input."),
        col("status", dict_utf8, false, "`won`, `lost` or `open`."),
        col("label", i8t, true, "1 won, 0 lost, null open: the training target."),
        col("lead_date", date32, true, "The lead's date (`leads.lead_date`, from `ingest.columns.date`): orders the leads for evaluate's time split; not a model input."),
        // indicators
        col("has_website", boolean, false, "The input gave a website."),
        col("crawl_failed", boolean, false, "A website was given but no page could be read (dead site, robots, errors)."),
        col("registry_matched", boolean, false, "A registry record was matched (`registry.match_status = matched`)."),
        col("has_embedding", boolean, false, "The lead has a pooled vector (some text: description, notes or pages)."),
        // registry
        col("registry_match", dict_utf8, true, "`registry.match_status`."),
        col("registry_method", dict_utf8, true, "`registry.match_method`."),
        col("registry_score", f64t, true, "`registry.match_score`."),
        col("registry", dict_utf8, true, "Registry of the matched record."),
        col("nace_section", dict_utf8, true, "NACE rev. 2 section A–U (one taxonomy across registries)."),
        col("nace_division", dict_utf8, true, "NACE rev. 2 division (NAF, UK SIC)."),
        col("sector", dict_utf8, true, "Label of `nace_section`."),
        col("headcount_min", u32t, true, "Lower bound of the registry's headcount band."),
        col("headcount_max", u32t, true, "Upper bound of the headcount band (null: open top band)."),
        col("age_years", f64t, true, "Company age in years at the registry stage's run."),
        col("legal_form", dict_utf8, true, "Legal form code."),
        col("category", dict_utf8, true, "Company category (PME/ETI/GE, SEC filer category, …)."),
        col("establishments", u32t, true, "Open establishments (SIRENE)."),
        col("revenue", f64t, true, "Latest published revenue."),
        col("net_income", f64t, true, "Latest published net income."),
        col("hq_region", utf8, true, "Head-office region / state code."),
        col("hq_country", dict_utf8, true, "Head-office country."),
        // web
        col("pages", u32t, true, "Pages extracted (0: none readable; null: no row)."),
        col("pages_home", u32t, true, "Pages of type home."),
        col("pages_about", u32t, true, "Pages of type about."),
        col("pages_product", u32t, true, "Pages of type product."),
        col("pages_pricing", u32t, true, "Pages of type pricing."),
        col("pages_customers", u32t, true, "Pages of type customers."),
        col("pages_careers", u32t, true, "Pages of type careers."),
        col("pages_contact", u32t, true, "Pages of type contact."),
        col("pages_legal", u32t, true, "Pages of type legal."),
        col("pages_blog", u32t, true, "Pages of type blog."),
        col("has_pricing", boolean, true, "A pricing page was found."),
        col("has_careers", boolean, true, "A careers page was found."),
        col("has_customers", boolean, true, "A customers / references page was found."),
        col("has_blog", boolean, true, "A blog was found."),
        col("words", u64t, true, "Words of main text over the lead's pages."),
        col("main_lang", utf8, true, "Most frequent page language."),
        col("languages", utf8_list, true, "Languages of the pages."),
        col("technologies", utf8_list, true, "Technologies detected on the site."),
        col("technology_count", u32t, true, "Number of technologies."),
        col("email_count", u32t, true, "E-mail addresses found."),
        col("own_domain_email_count", u32t, true, "E-mail addresses on the company's own domain."),
        col("phone_count", u32t, true, "Phone numbers found."),
        col("social_profiles", u32t, true, "Social profiles linked (LinkedIn, X, Facebook, Instagram, YouTube, GitHub)."),
        col("copyright_year_max", i32t, true, "Latest copyright year on the site."),
        col("founding_year", i32t, true, "Founding year stated on the site."),
        // embedding
        col("embedding", vector, true, "The lead's pooled embedding, L2-normalised (`FixedSizeList<Float32, DIM>`); null without text."),
        col("chunk_count", u32t, true, "Chunks pooled into `embedding`."),
        // provenance
        col("pages_used", u32t, false, "Pages whose text fed the features (= `pages`, 0 when none)."),
        col("crawl_first_at", timestamp_utc, true, "First fetch of the lead's site in the crawl."),
        col("crawl_last_at", timestamp_utc, true, "Last fetch of the lead's site in the crawl."),
        col("model_id", dict_utf8, true, "Embedding model id."),
    ],
};

/// The clients most like a prospect: `list<struct<lead_id, registry_id, name, similarity>>`.
pub fn similar_client_list() -> DataType {
    DataType::List(Arc::new(Field::new(
        "item",
        DataType::Struct(
            vec![
                Field::new("lead_id", DataType::Utf8, false),
                Field::new("registry_id", DataType::Utf8, false),
                Field::new("name", DataType::Utf8, true),
                Field::new("similarity", DataType::Float64, false),
            ]
            .into(),
        ),
        false,
    )))
}

pub const PROSPECTS: TableDef = TableDef {
    name: "prospects",
    version: 1,
    stage: "prospects",
    layout: Layout::File,
    row_group_rows: 65_536,
    plain: &[],
    zstd_level: 3,
    doc: "The universe companies that look most like the clients, best first: the `prospects.top` best-scored of every active universe company not already in the lead list (by identifier). File metadata: `leadcrawl.prospects_method` (`positive_unlabelled` or `won_lost`), `leadcrawl.prospects_model`, `leadcrawl.scored` (universe companies scored: the denominator of `percentile`), `leadcrawl.labelling_constant` (Elkan–Noto's c) and the run's provenance; `prospects.json` has the validation and the client profile.",
    columns: &[
        col("rank", u32t, false, "1 = the most client-like of the scored universe: by `raw_score`, ties by ascending `registry:registry_id`."),
        col("registry", dict_utf8, false, "`sirene` or `companies_house`."),
        col("registry_id", utf8, false, "SIREN (9 digits) or UK company number."),
        col("name", utf8, true, "Name in the registry."),
        col("score", f64t, false, "Probability of looking like a client: Elkan–Noto's `g(x)/c` capped at 1 (positive-unlabelled), or the won/lost model's probability."),
        col("raw_score", f64t, false, "The classifier's own output, what the universe is ranked by: `g(x)`, the probability of being a labelled client on the training mix (positive-unlabelled; `score` = min(1, `raw_score` / c), so the cap ties the best at 1), or the won/lost probability."),
        col("percentile", f64t, false, "Share of the scored universe ranked below it, in %: `100 × (scored − rank) / scored`."),
        col("baseline_score", f64t, false, "The baseline's score: training clients in the company's NACE division × headcount band, plus those in its division alone / (training clients with a division + 1), which breaks ties and ranks companies without a band (Companies House) by division."),
        col("drivers", driver_list, false, "The `prospects.drivers` features that moved the score most (contribution to the log-odds of `g`; logistic: against the average training row; trees: TreeSHAP), largest magnitude first."),
        col("similar_clients", similar_client_list, false, "The `prospects.similar` training clients closest by cosine on the standardised, one-hot firmographics, closest first."),
        col("nace_section", dict_utf8, true, "NACE rev. 2 section letter."),
        col("nace_division", dict_utf8, true, "NACE rev. 2 division, 2 digits."),
        col("industry_code", utf8, true, "The registry's industry code."),
        col("headcount_band", dict_utf8, true, "The registry's headcount band code."),
        col("headcount_min", u32t, true, "Lower bound of the headcount band."),
        col("headcount_max", u32t, true, "Upper bound of the headcount band."),
        col("created", date32, true, "Creation date."),
        col("legal_form", dict_utf8, true, "Legal form code."),
        col("category", dict_utf8, true, "SIRENE: PME / ETI / GE; Companies House: the accounts category."),
        col("address", utf8, true, "Registered office address, one line (Companies House; null for SIRENE, whose legal-unit file has no address)."),
        col("postcode", utf8, true, "Head office postcode."),
        col("city", utf8, true, "Head office city."),
        col("region", utf8, true, "Region name of the head office (SIRENE with `universe.establishments`, e.g. `Île-de-France`), or the UK county."),
        col("country", dict_utf8, true, "ISO 3166-1 alpha-2 country."),
        col("head_office_siret", utf8, true, "SIRET of the head office (SIRENE)."),
    ],
};

pub const PROSPECT_CLIENTS: TableDef = TableDef {
    name: "prospect_clients",
    version: 1,
    stage: "prospects",
    layout: Layout::File,
    row_group_rows: 65_536,
    plain: &[],
    zstd_level: 3,
    doc: "One row per universe company matched by a labelled lead (two leads of one company are one row, won when either is, under the smaller `lead_id`): what the prospects model was trained and validated on. Recall at the top 1 / 5 / 10 % and the median percentile of `prospects.json` are those of the `holdout` rows' `percentile` and `baseline_percentile`. File metadata as `prospects`.",
    columns: &[
        col("lead_id", utf8, false, "The lead (`leads.lead_id`)."),
        col("registry", dict_utf8, false, "`sirene` or `companies_house`."),
        col("registry_id", utf8, false, "The universe company it matched."),
        col("matched_by", dict_utf8, false, "`input` (the lead list's SIREN / company number) or `registry` (the registry stage's match)."),
        col("name", utf8, true, "Name in the registry."),
        col("status", dict_utf8, false, "`won` or `lost`."),
        col("role", dict_utf8, false, "`train` (a client the model learned from), `holdout` (a client held out to validate on), `negative` (a lost lead, trained on with won/lost), `unused` (a lost lead with positive-unlabelled learning)."),
        col("score", f64t, false, "The model's score, as in `prospects.score`."),
        col("raw_score", f64t, false, "The classifier's output, as in `prospects.raw_score`: held-out clients are ranked by it."),
        col("percentile", f64t, true, "Holdout rows: share of the scored universe ranked below it by `raw_score`, ties counting half, in %: `100 × (1 − (higher + equal / 2) / scored)`."),
        col("baseline_score", f64t, false, "The baseline's score, as in `prospects.baseline_score`."),
        col("baseline_percentile", f64t, true, "Holdout rows: `percentile` under the baseline's score."),
        col("nace_section", dict_utf8, true, "NACE rev. 2 section letter."),
        col("nace_division", dict_utf8, true, "NACE rev. 2 division."),
        col("headcount_band", dict_utf8, true, "Headcount band code."),
        col("region", utf8, true, "Region name, as in `prospects.region`."),
        col("created", date32, true, "Creation date."),
    ],
};

/// All tables, in pipeline order.
pub const TABLES: &[&TableDef] = &[
    &LEADS,
    &REJECTS,
    &PAGES,
    &PAGE_TEXT,
    &WEB_FEATURES,
    &REGISTRY,
    &UNIVERSE,
    &UNIVERSE_REJECTS,
    &CHUNKS,
    &LEAD_EMBEDDINGS,
    &FEATURES,
    &SCORES,
    &SCORE_HISTORY,
    &PROSPECTS,
    &PROSPECT_CLIENTS,
];

pub const SCORES: TableDef = TableDef {
    name: "scores",
    version: 1,
    stage: "score",
    layout: Layout::File,
    row_group_rows: 65_536,
    plain: &[],
    zstd_level: 3,
    doc: "One row per open (unlabelled) lead: its probability of being won under the best cross-validated model (`evaluation.json`'s `best`) refitted on every labelled lead, its rank, its tier and why. The probability is the model's, calibrated on its out-of-fold scores (Platt's sigmoid, or isotonic steps where they predict better; the model file says which). File metadata: `leadcrawl.score_model`, `leadcrawl.tiers` (`share` or `probability`), `leadcrawl.route_share`, `leadcrawl.nurture_share`, `leadcrawl.route_at`, `leadcrawl.nurture_at` (empty unless set), `leadcrawl.trained_on` (labelled leads) and the run's provenance.",
    columns: &[
        col("lead_id", utf8, false, "The lead (`leads.lead_id`)."),
        col("external_id", utf8, true, "The CRM's own id."),
        col("name", utf8, true, "Company name as given (null for a lead with only an id)."),
        col("domain", utf8, true, "Registrable domain of the website."),
        col("probability", f64t, false, "Probability of winning, in [0, 1]: the model's probability calibrated on its out-of-fold scores (Platt scaling or isotonic steps), or the centroid score mapped by a logistic fit on its out-of-fold scores."),
        col("rank", u32t, false, "1 = the most likely to be won among the scored leads (ties share the order of `lead_id`)."),
        col("tier", dict_utf8, false, "`route` (the best `score.route_share` of the open leads by rank, 10 % by default), `nurture` (the next `score.nurture_share`, 25 %) or `drop`; with `score.route_at` and `score.nurture_at` set, by probability instead (`route` ≥ `route_at`, `nurture` ≥ `nurture_at`)."),
        col("model", dict_utf8, false, "The model that produced the probability (see `evaluation.json`)."),
        col("similar_won", similar_list, false, "The `score.similar` won leads closest to this one by cosine on the embedding (`lead_id`, `name`, `cosine`), closest first; empty without an embedding."),
        col("drivers", driver_list, false, "The `score.drivers` features that moved the score most: contribution to the log-odds against the average labelled lead (positive: towards won), largest magnitude first. The embedding's dimensions count as one feature, `embedding`; TF-IDF terms are listed as `text \"term\"` and their sum as `text (all terms)`."),
    ],
};

/// The state-store name the history's parts are registered under: not a stage of the runner, so
/// that no reset of `score` (new inputs, new config) takes the history back.
pub const HISTORY_STORE: &str = "score_history";

pub const SCORE_HISTORY: TableDef = TableDef {
    name: "score_history",
    version: 1,
    stage: "score",
    layout: Layout::Parts,
    row_group_rows: 65_536,
    plain: &[],
    zstd_level: 3,
    doc: "Every scoring kept: one part per scoring (`score_history/part-<key>.parquet`), one row per lead it scored. A new scoring adds a part; the `score` stage running again on the same inputs with the same model (a resumed or forced run, the same run id) gives the same probabilities and replaces its own part instead of adding one, so no scoring is counted twice. The key is the SHA-256 of the model version and the scored leads' ids and probabilities. Parts are registered in the state store under `score_history`, apart from the stage's other outputs, so a change of inputs or config never takes the history back. Read by `score` to report how earlier scores did once the leads they scored closed (`monitoring.json`). File metadata: `leadcrawl.scoring_key`, `leadcrawl.model_version` and `leadcrawl.feature_profiles` (a JSON list of `[column, profile]`: the scored leads' distribution of each feature, decile edges and shares for numbers, shares per value for categories), against which the next scoring measures each feature's drift.",
    columns: &[
        col("run_id", utf8, false, "The run that scored (as in the files' `leadcrawl.run_id`); the latest such run when the same scoring was repeated."),
        col("scored_at", timestamp_utc, false, "When the scoring was written."),
        col("model_version", utf8, false, "The model artefact that gave the probability: `models/<model_version>.json` in the output folder."),
        col("model", dict_utf8, false, "The model's name (see `evaluation.json`)."),
        col("lead_id", utf8, false, "The lead (`leads.lead_id`)."),
        col("crm_id", utf8, true, "The CRM's own id (`leads.external_id`) when the lead list maps one: later lead lists are matched on it, else on `lead_id`."),
        col("probability", f64t, false, "Probability of winning, as in `scores.parquet`."),
        col("rank", u32t, false, "Rank among the leads of this scoring (1 = most likely to be won)."),
        col("tier", dict_utf8, false, "`route`, `nurture` or `drop`, as in `scores.parquet`."),
    ],
};

pub fn find(name: &str) -> Option<&'static TableDef> {
    TABLES.iter().copied().find(|t| t.name == name)
}

impl TableDef {
    /// The Arrow schema, each field carrying its documentation as `description` metadata.
    pub fn arrow_schema(&self) -> Arc<Schema> {
        let fields: Vec<Field> = self
            .columns
            .iter()
            .map(|c| {
                Field::new(c.name, (c.ty)(), c.nullable)
                    .with_metadata([("description".to_string(), c.doc.to_string())].into())
            })
            .collect();
        Arc::new(Schema::new(fields))
    }

    /// The schema with every vector column of dimension `dim`.
    pub fn arrow_schema_with_dim(&self, dim: i32) -> Arc<Schema> {
        let base = self.arrow_schema();
        let fields: Vec<Field> = base
            .fields()
            .iter()
            .map(|f| match f.data_type() {
                DataType::FixedSizeList(item, 0) => f
                    .as_ref()
                    .clone()
                    .with_data_type(DataType::FixedSizeList(item.clone(), dim)),
                _ => f.as_ref().clone(),
            })
            .collect();
        Arc::new(Schema::new(fields))
    }

    pub fn location(&self) -> String {
        match self.layout {
            Layout::Parts => format!("{}/part-*.parquet", self.name),
            Layout::File => format!("{}.parquet", self.name),
        }
    }

    /// Human text for `leadcrawl schema TABLE`.
    pub fn to_text(&self) -> String {
        let mut s = format!(
            "{} (schema version {}, written by stage `{}`, {})\n{}\n\n",
            self.name,
            self.version,
            self.stage,
            self.location(),
            self.doc
        );
        let w = self.columns.iter().map(|c| c.name.len()).max().unwrap_or(0);
        for c in self.columns {
            s.push_str(&format!(
                "  {:w$}  {:<28} {}  {}\n",
                c.name,
                type_name(&(c.ty)()),
                if c.nullable { "null " } else { "     " },
                c.doc,
                w = w
            ));
        }
        s
    }

    pub fn to_markdown(&self) -> String {
        let mut s = format!(
            "## `{}`\n\n{}\n\nWritten by stage `{}` as `{}`; schema version {}.\n\n| column | type | nullable | meaning |\n| --- | --- | --- | --- |\n",
            self.name,
            self.doc,
            self.stage,
            self.location(),
            self.version
        );
        for c in self.columns {
            s.push_str(&format!(
                "| `{}` | `{}` | {} | {} |\n",
                c.name,
                type_name(&(c.ty)()),
                if c.nullable { "yes" } else { "no" },
                c.doc.replace('|', "\\|")
            ));
        }
        s
    }
}

/// A type as a reader would name it.
pub fn type_name(t: &DataType) -> String {
    match t {
        DataType::Utf8 => "string".into(),
        DataType::UInt64 => "uint64".into(),
        DataType::Int64 => "int64".into(),
        DataType::Float32 => "float32".into(),
        DataType::Float64 => "float64".into(),
        DataType::Boolean => "bool".into(),
        DataType::UInt32 => "uint32".into(),
        DataType::Int32 => "int32".into(),
        DataType::Binary => "binary".into(),
        DataType::Dictionary(_, v) => format!("dictionary<{}>", type_name(v)),
        DataType::List(f) => format!("list<{}>", type_name(f.data_type())),
        // Size 0 stands for the model's dimension, known when the table is written.
        DataType::FixedSizeList(f, 0) => {
            format!("fixed_size_list<{}, DIM>", type_name(f.data_type()))
        }
        DataType::FixedSizeList(f, n) => {
            format!("fixed_size_list<{}, {n}>", type_name(f.data_type()))
        }
        DataType::Timestamp(TimeUnit::Microsecond, Some(tz)) => format!("timestamp[us, {tz}]"),
        DataType::Date32 => "date32".into(),
        DataType::Struct(fields) => format!(
            "struct<{}>",
            fields
                .iter()
                .map(|f| format!("{}: {}", f.name(), type_name(f.data_type())))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        other => format!("{other:?}").to_lowercase(),
    }
}

/// The whole of `docs/schema.md`.
pub fn markdown() -> String {
    let mut s = String::from(
        "# leadcrawl tables\n\n<!-- Generated by `leadcrawl schema --markdown`; a test keeps it in sync. -->\n\n\
         Every table is Parquet (zstd) in the run's `output_dir`. A table written in parts is a folder \
         `T/part-*.parquet`: read the folder as one table (`pyarrow.parquet.read_table(\"T\")`, \
         DuckDB `read_parquet('T/*.parquet')`, `polars.read_parquet(\"T/*.parquet\")`). Only parts \
         registered in the state store are complete; a run removes any other file it finds there.\n\n\
         Every file carries key-value metadata: `leadcrawl.schema_version`, `leadcrawl.table`, \
         `leadcrawl.run_id`, `leadcrawl.config_hash`, `leadcrawl.version` (and `leadcrawl.extractor_version` \
         in the extract stage's tables). Every column carries its \
         meaning as Arrow field metadata `description`. Timestamps are `timestamp[us, UTC]`.\n\n",
    );
    for t in TABLES {
        s.push_str(&t.to_markdown());
        s.push('\n');
    }
    s.push_str(&crate::run_results::markdown());
    s
}
