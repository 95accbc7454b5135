//! Registry candidate matching by name plus location and website evidence.
//!
//! A lead without a registry identifier is matched by name: [`NameIndex`] finds a short list of
//! plausible registry records among many (inverted indexes of core words, of their one-letter
//! deletions and of character trigrams, rare keys weighted by IDF), [`score`] scores each
//! against the query ([`names::query_similarity`] to the best of the record's names, then
//! country, postcode, city and website-domain agreement), and [`decide`] / [`decide_among`]
//! choose — or refuse to:
//! - [`Decision::Matched`]: the best candidate reaches [`MatchConfig::accept`] and beats every
//!   other candidate (with a different id) by at least [`MatchConfig::margin`];
//! - [`Decision::Ambiguous`]: the best reaches `accept` but another one is within `margin` — the
//!   near-equal candidates are returned, never one of them silently;
//! - [`Decision::Unmatched`]: nothing reaches `accept`; the top [`MatchConfig::keep`] are returned.
//!
//! The score is `0.8 × name similarity` plus evidence adjustments, clamped to `[0, 1]`: an exact
//! name with no other evidence scores 0.8, an exact name with agreeing postcode, city, country
//! and domain 1.0. The 0.2 of headroom is what lets evidence separate two records with the same
//! name (two "Martin SARL" in different towns) instead of both sitting at a capped 1.0.
//!
//! | evidence (both sides known) | agree | disagree |
//! | --- | --- | --- |
//! | domain (query's among the record's; subdomains count) | +0.15 `domain` | −0.03 `domain_mismatch` |
//! | postcode (spaces/dashes ignored; US ZIP+4 on 5 digits) | +0.05 `postcode` | −0.03 `postcode_mismatch` |
//! | city (folded; `St` = `Saint`, `CEDEX` and numbers ignored) | +0.03 `city` | −0.02 `city_mismatch` |
//! | country (ISO 3166 alpha-2; a few names and alpha-3 codes understood) | +0.01 `country` | −0.30 `country_mismatch` |
//!
//! A field missing on either side is no evidence either way (the SEC ticker file has no country).

use std::collections::HashMap;

use super::names::{self, NormName};

/// A registry record to match against.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Candidate {
    /// Registry identifier (SIREN, CIK, LEI, company number…); records with the same id are
    /// the same company.
    pub id: String,
    /// Legal name first, then other and former names.
    pub names: Vec<String>,
    /// ISO 3166-1 alpha-2 country code.
    pub country: Option<String>,
    pub postcode: Option<String>,
    pub city: Option<String>,
    /// Website domains known for the record (`example.com`).
    pub domains: Vec<String>,
}

/// What is known about the lead.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Query {
    pub name: String,
    /// ISO 3166-1 alpha-2 country code.
    pub country: Option<String>,
    pub postcode: Option<String>,
    pub city: Option<String>,
    /// The lead's website domain (a URL is accepted too).
    pub domain: Option<String>,
}

/// One candidate's score against a query.
#[derive(Debug, Clone, PartialEq)]
pub struct Scored {
    /// Index into the candidates slice given to [`score`]'s caller / [`decide`].
    pub index: usize,
    /// Final score in `[0, 1]` (see the module documentation).
    pub score: f64,
    /// [`names::query_similarity`] of the query name and the best of the candidate's names.
    pub name_score: f64,
    /// What agreed or disagreed: `"domain"`, `"postcode"`, `"city"`, `"country"`, and the same
    /// with `_mismatch`; `"former_name"` when the best name is not the first (legal) one.
    pub evidence: Vec<&'static str>,
}

/// Decision thresholds.
#[derive(Debug, Clone, PartialEq)]
pub struct MatchConfig {
    /// Minimum score to choose a candidate.
    pub accept: f64,
    /// The best candidate must beat the runner-up (a different id) by at least this much.
    pub margin: f64,
    /// Candidates returned when not choosing.
    pub keep: usize,
}

impl Default for MatchConfig {
    /// Chosen from measurements on the S&P 500 against the SEC ticker file (root crate's
    /// `tests/it/registry_match.rs`, five perturbation seeds, 2,475 queries), looking both at
    /// recall with the true company present and at confident wrong matches with it removed:
    ///
    /// | accept | recall | wrong matches, true company absent |
    /// | --- | --- | --- |
    /// | 0.56 | 0.965 | 181 |
    /// | 0.60 | 0.959 | 130 |
    /// | 0.64 | 0.941 | 93 |
    /// | 0.68 | 0.925 | 60 |
    ///
    /// - `accept` 0.6 (a name similarity of 0.75 with no other evidence): the lowest threshold
    ///   that keeps a one-typo match of a name whose record has an extra generic word
    ///   (`Coinbaase` ~ `COINBASE GLOBAL`, 0.795) and drops a lead's unmatched distinctive word
    ///   (`FedEx Freight` ~ `FEDEX CORP`, 0.56). Below it, every 0.02 buys ~0.2 % recall for
    ///   ~0.6 % more confident wrong matches of absent companies. Agreeing evidence moves a
    ///   weaker name across (domain +0.15).
    /// - `margin` 0.02: identical names, or one typo away from two records (`Maso`: `MASCO`,
    ///   `VASO`), stay `Ambiguous`; an exact name beats the same name plus a generic word
    ///   (`NEXTERA ENERGY INC` 0.8 vs `NEXTERA ENERGY PARTNERS LP` 0.773), and a postcode (0.08)
    ///   or a city alone (0.05) separates two records with the same name. Margins 0 to 0.04
    ///   moved recall between 0.960 and 0.956 and wrong matches not at all.
    /// - `keep` 5 candidates for a person or a later stage to look at.
    fn default() -> Self {
        MatchConfig {
            accept: 0.6,
            margin: 0.02,
            keep: 5,
        }
    }
}

/// The outcome of matching one query.
#[derive(Debug, Clone, PartialEq)]
pub enum Decision {
    /// One candidate chosen.
    Matched(Scored),
    /// Several near-equal candidates (within `margin` of the best, which reaches `accept`), best
    /// first: not chosen between.
    Ambiguous(Vec<Scored>),
    /// The best is below `accept`: the top `keep` candidates, best first (possibly none).
    Unmatched(Vec<Scored>),
}

impl Decision {
    /// The chosen candidate, if any.
    pub fn matched(&self) -> Option<&Scored> {
        match self {
            Decision::Matched(s) => Some(s),
            _ => None,
        }
    }

    /// The candidates kept: the chosen one, or the near-equal / best ones.
    pub fn candidates(&self) -> &[Scored] {
        match self {
            Decision::Matched(s) => std::slice::from_ref(s),
            Decision::Ambiguous(v) | Decision::Unmatched(v) => v,
        }
    }
}

const NAME_WEIGHT: f64 = 0.8;

impl Scored {
    /// A `match_method` for the output record: `"name+domain"` when the website domain agreed,
    /// `"name+address"` when the postcode or city did, else `"name"`.
    pub fn method(&self) -> &'static str {
        if self.evidence.contains(&"domain") {
            "name+domain"
        } else if self
            .evidence
            .iter()
            .any(|e| *e == "postcode" || *e == "city")
        {
            "name+address"
        } else {
            "name"
        }
    }
}

/// Scores one candidate against a query. `index` in the result is 0: [`decide`] sets it.
pub fn score(q: &Query, c: &Candidate) -> Scored {
    score_norm(&names::normalize(&q.name), q, c, 0)
}

fn score_norm(qn: &NormName, q: &Query, c: &Candidate, index: usize) -> Scored {
    let mut name_score = 0.0f64;
    let mut best_name = 0usize;
    for (i, n) in c.names.iter().enumerate() {
        let s = names::query_similarity(qn, &names::normalize(n));
        if s > name_score {
            name_score = s;
            best_name = i;
        }
    }
    let mut evidence = Vec::new();
    if best_name > 0 {
        evidence.push("former_name");
    }
    let mut adj = 0.0;

    if let Some(qd) = q
        .domain
        .as_deref()
        .map(norm_domain)
        .filter(|d| !d.is_empty())
    {
        let cds: Vec<String> = c
            .domains
            .iter()
            .map(|d| norm_domain(d))
            .filter(|d| !d.is_empty())
            .collect();
        if !cds.is_empty() {
            if cds.iter().any(|cd| same_site(&qd, cd)) {
                adj += 0.15;
                evidence.push("domain");
            } else {
                adj -= 0.03;
                evidence.push("domain_mismatch");
            }
        }
    }
    if let (Some(a), Some(b)) = (opt(&q.postcode), opt(&c.postcode)) {
        match postcode_agree(a, b) {
            Some(true) => {
                adj += 0.05;
                evidence.push("postcode");
            }
            Some(false) => {
                adj -= 0.03;
                evidence.push("postcode_mismatch");
            }
            None => {}
        }
    }
    if let (Some(a), Some(b)) = (opt(&q.city), opt(&c.city)) {
        let (a, b) = (norm_city(a), norm_city(b));
        if !a.is_empty() && !b.is_empty() {
            if a == b {
                adj += 0.03;
                evidence.push("city");
            } else {
                adj -= 0.02;
                evidence.push("city_mismatch");
            }
        }
    }
    if let (Some(a), Some(b)) = (opt(&q.country), opt(&c.country)) {
        let (a, b) = (norm_country(a), norm_country(b));
        if !a.is_empty() && !b.is_empty() {
            if a == b {
                adj += 0.01;
                evidence.push("country");
            } else {
                adj -= 0.3;
                evidence.push("country_mismatch");
            }
        }
    }
    let score = (NAME_WEIGHT * name_score + adj).clamp(0.0, 1.0);
    Scored {
        index,
        score,
        name_score,
        evidence,
    }
}

fn opt(s: &Option<String>) -> Option<&str> {
    s.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

/// `https://www.Example.com/path` → `example.com`.
fn norm_domain(s: &str) -> String {
    let s = s.trim().to_ascii_lowercase();
    let s = s.split_once("://").map_or(s.as_str(), |(_, r)| r);
    let s = s.split(['/', '?', '#']).next().unwrap_or("");
    let s = s.rsplit_once('@').map_or(s, |(_, h)| h);
    let s = s.split(':').next().unwrap_or("");
    let s = s.trim_end_matches('.');
    s.strip_prefix("www.").unwrap_or(s).to_string()
}

/// Equal, or one a subdomain of the other (`shop.acme.fr` ~ `acme.fr`).
fn same_site(a: &str, b: &str) -> bool {
    let sub = |x: &str, y: &str| {
        x.len() > y.len() && x.ends_with(y) && x.as_bytes()[x.len() - y.len() - 1] == b'.'
    };
    a == b || (b.contains('.') && sub(a, b)) || (a.contains('.') && sub(b, a))
}

/// `Some(agree)` when both postcodes are comparable, `None` otherwise.
fn postcode_agree(a: &str, b: &str) -> Option<bool> {
    let clean = |s: &str| -> String {
        s.chars()
            .filter(|c| c.is_alphanumeric())
            .flat_map(char::to_uppercase)
            .collect()
    };
    let (a, b) = (clean(a), clean(b));
    if a.is_empty() || b.is_empty() {
        return None;
    }
    let digits = |s: &str| s.bytes().all(|c| c.is_ascii_digit());
    // US ZIP vs ZIP+4
    if digits(&a) && digits(&b) && (a.len() == 9 || b.len() == 9) && a.len() >= 5 && b.len() >= 5 {
        return Some(a[..5] == b[..5]);
    }
    Some(a == b)
}

fn norm_city(s: &str) -> String {
    names::fold(s)
        .split(' ')
        .filter(|w| !w.is_empty() && *w != "cedex" && !w.chars().all(|c| c.is_ascii_digit()))
        .map(|w| match w {
            "st" => "saint",
            "ste" => "sainte",
            "ft" => "fort",
            "mt" => "mount",
            w => w,
        })
        .collect::<Vec<_>>()
        .join(" ")
}

fn norm_country(s: &str) -> String {
    let f = names::fold(s);
    let code = match f.as_str() {
        "usa" | "united states" | "united states of america" | "us" => "US",
        "uk" | "gbr" | "united kingdom" | "great britain" | "gb" => "GB",
        "fra" | "france" | "fr" => "FR",
        "deu" | "germany" | "deutschland" | "de" => "DE",
        "esp" | "spain" | "espana" => "ES",
        "ita" | "italy" | "italia" => "IT",
        "nld" | "netherlands" | "the netherlands" | "nederland" => "NL",
        "bel" | "belgium" | "belgique" | "belgie" => "BE",
        "che" | "switzerland" | "suisse" | "schweiz" => "CH",
        "can" | "canada" => "CA",
        "irl" | "ireland" => "IE",
        "lux" | "luxembourg" => "LU",
        _ => "",
    };
    if !code.is_empty() {
        code.to_string()
    } else {
        f.to_ascii_uppercase()
    }
}

/// Decides among all `cands`; see [`decide_among`].
pub fn decide(q: &Query, cands: &[Candidate], cfg: &MatchConfig) -> Decision {
    let all: Vec<usize> = (0..cands.len()).collect();
    decide_among(q, cands, &all, cfg)
}

/// Decides among `cands[i]` for `i` in `subset` (typically [`NameIndex::search`]'s answer;
/// indices out of range are ignored). Candidates with the same id are merged (their best score
/// counts); the best must reach `cfg.accept` and beat the runner-up by `cfg.margin`, otherwise
/// the near-equal ones are returned as [`Decision::Ambiguous`] (at least two, at most
/// `max(keep, 2)`) or the top `keep` as [`Decision::Unmatched`]. Deterministic: equal scores are
/// ordered by candidate index.
pub fn decide_among(
    q: &Query,
    cands: &[Candidate],
    subset: &[usize],
    cfg: &MatchConfig,
) -> Decision {
    let qn = names::normalize(&q.name);
    let mut by_id: HashMap<&str, Scored> = HashMap::new();
    let mut seen = vec![false; cands.len()];
    for &i in subset {
        let Some(c) = cands.get(i) else { continue };
        if std::mem::replace(&mut seen[i], true) {
            continue;
        }
        let s = score_norm(&qn, q, c, i);
        match by_id.get_mut(c.id.as_str()) {
            Some(prev) if better(prev, &s) => {}
            Some(prev) => *prev = s,
            None => {
                by_id.insert(c.id.as_str(), s);
            }
        }
    }
    let mut ranked: Vec<Scored> = by_id.into_values().collect();
    ranked.sort_by(|a, b| {
        if better(a, b) {
            std::cmp::Ordering::Less
        } else {
            std::cmp::Ordering::Greater
        }
    });
    let accept = if cfg.accept.is_finite() {
        cfg.accept
    } else {
        1.0
    };
    let margin = if cfg.margin.is_finite() {
        cfg.margin.max(0.0)
    } else {
        0.0
    };
    let Some(best) = ranked.first() else {
        return Decision::Unmatched(Vec::new());
    };
    if best.score < accept {
        ranked.truncate(cfg.keep);
        return Decision::Unmatched(ranked);
    }
    let floor = best.score - margin;
    let near = ranked
        .iter()
        .skip(1)
        .take_while(|s| s.score >= floor - 1e-12)
        .count();
    if near == 0 {
        return Decision::Matched(ranked.swap_remove(0));
    }
    ranked.truncate((near + 1).min(cfg.keep.max(2)));
    Decision::Ambiguous(ranked)
}

/// Strict order: higher score, then higher name score, then lower index.
fn better(a: &Scored, b: &Scored) -> bool {
    match a.score.total_cmp(&b.score) {
        std::cmp::Ordering::Greater => true,
        std::cmp::Ordering::Less => false,
        std::cmp::Ordering::Equal => match a.name_score.total_cmp(&b.name_score) {
            std::cmp::Ordering::Greater => true,
            std::cmp::Ordering::Less => false,
            std::cmp::Ordering::Equal => a.index < b.index,
        },
    }
}

/// One indexed name: which candidate, and its IDF masses for the Dice-like ranking.
struct Entry {
    cand: u32,
    word_mass: f32,
    gram_mass: f32,
}

/// Offline candidate retrieval over a large list of registry records (e.g. the ~10k companies of
/// the SEC ticker file): inverted indexes of core words (plus adjacent words joined, plus the
/// initials of names of three or more words), of their one-character deletions (any one typo
/// shares a key, as in SymSpell) and of character trigrams of the space-free core, each key
/// weighted by IDF. [`NameIndex::search`] ranks names by IDF-weighted Dice overlap of words
/// (typos credited 0.8) plus that of trigrams, so that [`decide_among`] scores a short list only.
pub struct NameIndex {
    words: HashMap<String, Vec<u32>>,
    /// Words of four characters or more and each of their one-character deletions.
    typos: HashMap<String, Vec<u32>>,
    grams: HashMap<u64, Vec<u32>>,
    entries: Vec<Entry>,
    n: usize,
}

/// Keys of a core: words, adjacent pairs joined, and (three or more words) their initials.
fn word_keys(n: &NormName) -> Vec<String> {
    let mut keys: Vec<String> = n.tokens.clone();
    for w in n.tokens.windows(2) {
        keys.push(format!("{}{}", w[0], w[1]));
    }
    if n.tokens.len() >= 3 {
        let initials: String = n.tokens.iter().filter_map(|t| t.chars().next()).collect();
        keys.push(format!("\u{1}{initials}"));
    }
    keys.sort_unstable();
    keys.dedup();
    keys
}

/// A word (four characters or more) and its one-character deletions: two words within one edit
/// (insertion, deletion, replacement, adjacent swap) share at least one of these keys.
fn typo_keys(word: &str) -> Vec<String> {
    let cs: Vec<char> = word.chars().collect();
    if cs.len() < 4 || cs.len() > 24 {
        return Vec::new();
    }
    let mut keys = vec![word.to_string()];
    for i in 0..cs.len() {
        let k: String = cs[..i].iter().chain(&cs[i + 1..]).collect();
        keys.push(k);
    }
    keys.sort_unstable();
    keys.dedup();
    keys
}

fn gram_keys(n: &NormName) -> Vec<u64> {
    let mut cs: Vec<char> = vec!['\u{2}'];
    cs.extend(n.tokens.concat().chars());
    cs.push('\u{3}');
    let mut keys: Vec<u64> = cs
        .windows(3)
        .map(|w| ((w[0] as u64) << 42) | ((w[1] as u64) << 21) | (w[2] as u64))
        .collect();
    keys.sort_unstable();
    keys.dedup();
    keys
}

fn idf(n: usize, df: usize) -> f32 {
    (1.0 + n as f32 / (df.max(1) as f32)).ln()
}

impl NameIndex {
    /// Indexes every name of every candidate.
    pub fn build(cands: &[Candidate]) -> NameIndex {
        let mut words: HashMap<String, Vec<u32>> = HashMap::new();
        let mut typos: HashMap<String, Vec<u32>> = HashMap::new();
        let mut grams: HashMap<u64, Vec<u32>> = HashMap::new();
        let mut entries = Vec::new();
        let mut keys_of = Vec::new();
        for (ci, c) in cands.iter().enumerate() {
            let Ok(ci) = u32::try_from(ci) else { break };
            for name in &c.names {
                let n = names::normalize(name);
                if n.tokens.is_empty() {
                    continue;
                }
                let Ok(e) = u32::try_from(entries.len()) else {
                    break;
                };
                let wk = word_keys(&n);
                let gk = gram_keys(&n);
                for k in &wk {
                    words.entry(k.clone()).or_default().push(e);
                }
                for k in &gk {
                    grams.entry(*k).or_default().push(e);
                }
                let mut tk: Vec<String> = n.tokens.iter().flat_map(|t| typo_keys(t)).collect();
                tk.sort_unstable();
                tk.dedup();
                for k in tk {
                    typos.entry(k).or_default().push(e);
                }
                entries.push(Entry {
                    cand: ci,
                    word_mass: 0.0,
                    gram_mass: 0.0,
                });
                keys_of.push((n.tokens, gk));
            }
        }
        let n = entries.len();
        for (e, (tokens, gk)) in entries.iter_mut().zip(keys_of) {
            let mut toks = tokens;
            toks.sort_unstable();
            toks.dedup();
            e.word_mass = toks
                .iter()
                .map(|t| idf(n, words.get(t).map_or(1, Vec::len)) * names::token_weight(t) as f32)
                .sum();
            e.gram_mass = gk
                .iter()
                .map(|g| idf(n, grams.get(g).map_or(1, Vec::len)))
                .sum();
        }
        NameIndex {
            words,
            typos,
            grams,
            entries,
            n,
        }
    }

    /// Number of indexed names.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// No name indexed.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The `k` most promising candidate indices for `name`, best first, distinct.
    pub fn search(&self, name: &str, k: usize) -> Vec<usize> {
        let qn = names::normalize(name);
        if qn.tokens.is_empty() || k == 0 || self.entries.is_empty() {
            return Vec::new();
        }
        let n = self.n;
        let mut word_score: HashMap<u32, f32> = HashMap::new();
        let mut gram_score: HashMap<u32, f32> = HashMap::new();

        let mut toks = qn.tokens.clone();
        toks.sort_unstable();
        toks.dedup();
        let mut q_word_mass = 0.0f32;
        for t in &toks {
            let posting = self.words.get(t);
            let w = idf(n, posting.map_or(1, Vec::len)) * names::token_weight(t) as f32;
            q_word_mass += w;
            for &e in posting.into_iter().flatten() {
                *word_score.entry(e).or_default() += w;
            }
        }
        // joined/split words and acronyms: credit as if the word matched
        let mut extra: Vec<(String, f32)> = Vec::new();
        for w in qn.tokens.windows(2) {
            let joined = format!("{}{}", w[0], w[1]);
            let m = idf(n, self.words.get(&w[0]).map_or(1, Vec::len))
                + idf(n, self.words.get(&w[1]).map_or(1, Vec::len));
            extra.push((joined, m));
        }
        if qn.tokens.len() == 1 && qn.tokens[0].chars().count() >= 3 {
            let t = &qn.tokens[0];
            extra.push((
                format!("\u{1}{t}"),
                idf(n, self.words.get(t).map_or(1, Vec::len)),
            ));
        }
        for (key, w) in &extra {
            for &e in self.words.get(key).into_iter().flatten() {
                *word_score.entry(e).or_default() += *w;
            }
        }
        // one typo: words sharing a one-deletion key, credited 0.8 of the rarer key's weight
        for t in &toks {
            let keys = typo_keys(t);
            if keys.is_empty() {
                continue;
            }
            let mut hits: HashMap<u32, f32> = HashMap::new();
            for k in &keys {
                let Some(posting) = self.typos.get(k) else {
                    continue;
                };
                let w = 0.8 * idf(n, posting.len()) * names::token_weight(t) as f32;
                for &e in posting {
                    let h = hits.entry(e).or_default();
                    *h = h.max(w);
                }
            }
            let exact: &[u32] = self.words.get(t).map_or(&[], Vec::as_slice);
            for (e, w) in hits {
                if exact.binary_search(&e).is_err() {
                    *word_score.entry(e).or_default() += w;
                }
            }
        }

        let gk = gram_keys(&qn);
        let mut q_gram_mass = 0.0f32;
        for g in &gk {
            let posting = self.grams.get(g);
            let w = idf(n, posting.map_or(1, Vec::len));
            q_gram_mass += w;
            for &e in posting.into_iter().flatten() {
                *gram_score.entry(e).or_default() += w;
            }
        }

        let mut best: HashMap<u32, f32> = HashMap::new();
        for (&e, &gs) in &gram_score {
            let entry = &self.entries[e as usize];
            let ws = word_score.get(&e).copied().unwrap_or(0.0);
            let wd = 2.0 * ws / (q_word_mass + entry.word_mass).max(1e-6);
            let gd = 2.0 * gs / (q_gram_mass + entry.gram_mass).max(1e-6);
            let s = wd.min(1.0) + gd;
            let b = best.entry(entry.cand).or_insert(f32::MIN);
            if s > *b {
                *b = s;
            }
        }
        // word hits without any shared trigram (acronyms)
        for (&e, &ws) in &word_score {
            let entry = &self.entries[e as usize];
            if gram_score.contains_key(&e) {
                continue;
            }
            let wd = 2.0 * ws / (q_word_mass + entry.word_mass).max(1e-6);
            let b = best.entry(entry.cand).or_insert(f32::MIN);
            if wd > *b {
                *b = wd;
            }
        }
        let mut ranked: Vec<(u32, f32)> = best.into_iter().collect();
        ranked.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        ranked
            .into_iter()
            .take(k)
            .map(|(c, _)| c as usize)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cand(id: &str, name: &str) -> Candidate {
        Candidate {
            id: id.into(),
            names: vec![name.into()],
            ..Default::default()
        }
    }

    fn query(name: &str) -> Query {
        Query {
            name: name.into(),
            ..Default::default()
        }
    }

    #[test]
    fn exact_name_matches() {
        let cands = [
            cand("1", "MICROSOFT CORP"),
            cand("2", "MICRON TECHNOLOGY INC"),
        ];
        let d = decide(&query("Microsoft"), &cands, &MatchConfig::default());
        let m = d.matched().expect("matched");
        assert_eq!(m.index, 0);
        assert!((m.score - 0.8).abs() < 1e-9);
    }

    #[test]
    fn typo_still_matches() {
        let cands = [cand("1", "CATERPILLAR INC"), cand("2", "CATALENT INC")];
        let d = decide(&query("Caterpilar"), &cands, &MatchConfig::default());
        assert_eq!(d.matched().map(|s| s.index), Some(0));
    }

    #[test]
    fn postcode_picks_between_same_names_in_different_cities() {
        let mut a = cand("111", "Boulangerie Martin SARL");
        a.postcode = Some("69002".into());
        a.city = Some("Lyon".into());
        a.country = Some("FR".into());
        let mut b = cand("222", "BOULANGERIE MARTIN");
        b.postcode = Some("75011".into());
        b.city = Some("Paris".into());
        b.country = Some("FR".into());
        let cands = [a, b];
        let mut q = query("Boulangerie Martin");
        q.country = Some("France".into());
        q.postcode = Some("75 011".into());
        let d = decide(&q, &cands, &MatchConfig::default());
        let m = d.matched().expect("postcode decides");
        assert_eq!(m.index, 1);
        assert!(m.evidence.contains(&"postcode"));
        assert_eq!(m.method(), "name+address");
        // the city alone decides too
        q.postcode = None;
        q.city = Some("LYON CEDEX 02".into());
        let d = decide(&q, &cands, &MatchConfig::default());
        assert_eq!(d.matched().map(|s| s.index), Some(0));
        // without either it is a tie
        q.city = None;
        assert!(matches!(
            decide(&q, &cands, &MatchConfig::default()),
            Decision::Ambiguous(_)
        ));
    }

    #[test]
    fn identical_candidates_are_ambiguous_not_guessed() {
        let cands = [
            cand("A1", "Dupont Services SAS"),
            cand("B2", "DUPONT SERVICES"),
        ];
        match decide(&query("Dupont Services"), &cands, &MatchConfig::default()) {
            Decision::Ambiguous(v) => {
                assert_eq!(v.len(), 2);
                let mut idx: Vec<usize> = v.iter().map(|s| s.index).collect();
                idx.sort_unstable();
                assert_eq!(idx, [0, 1]);
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn same_id_is_merged_not_ambiguous() {
        let cands = [
            cand("1652044", "Alphabet Inc."),
            cand("1652044", "ALPHABET INC"),
        ];
        let d = decide(
            &query("Alphabet Inc. (Class C)"),
            &cands,
            &MatchConfig::default(),
        );
        assert!(d.matched().is_some(), "{d:?}");
    }

    #[test]
    fn domain_beats_a_slightly_better_name() {
        let mut a = cand("1", "Acme Industries");
        a.domains = vec!["acme-industries.com".into()];
        let mut b = cand("2", "Acme Industrie");
        b.domains = vec!["acme.de".into()];
        let c = cand("3", "Acme Industrial Holdings");
        let cands = [a, b, c];
        let mut q = query("Acme Industrie");
        q.domain = Some("https://www.acme-industries.com/contact".into());
        let d = decide(&q, &cands, &MatchConfig::default());
        let m = d.matched().expect("domain decides");
        assert_eq!(m.index, 0);
        assert!(m.evidence.contains(&"domain"));
        assert_eq!(m.method(), "name+domain");
        let s = score(&q, &cands[1]);
        assert!(s.name_score > d.matched().unwrap().name_score);
        assert!(s.evidence.contains(&"domain_mismatch"));
    }

    #[test]
    fn country_mismatch_penalises_but_missing_country_does_not() {
        let mut a = cand("1", "Acme GmbH");
        a.country = Some("DE".into());
        let mut q = query("Acme Inc");
        q.country = Some("US".into());
        let s = score(&q, &a);
        assert!(s.evidence.contains(&"country_mismatch"));
        assert!(s.score < MatchConfig::default().accept);
        let b = cand("2", "Acme Inc");
        assert!((score(&q, &b).score - 0.8).abs() < 1e-9);
    }

    #[test]
    fn below_accept_keeps_top_candidates() {
        let cands = [
            cand("1", "FEDEX CORP"),
            cand("2", "FREIGHTCAR AMERICA"),
            cand("3", "FEDERAL SIGNAL CORP"),
        ];
        let cfg = MatchConfig {
            keep: 2,
            ..MatchConfig::default()
        };
        match decide(&query("FedEx Freight"), &cands, &cfg) {
            Decision::Unmatched(v) => {
                assert_eq!(v.len(), 2);
                assert_eq!(v[0].index, 0);
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(
            decide(&query("x"), &[], &cfg),
            Decision::Unmatched(Vec::new())
        );
    }

    #[test]
    fn odd_inputs_never_panic() {
        let cands = [cand("1", ""), cand("2", "///"), cand("3", "Acme")];
        let mut q = query("");
        q.domain = Some("://".into());
        q.postcode = Some("--".into());
        q.city = Some("12".into());
        q.country = Some("".into());
        let cfg = MatchConfig {
            accept: f64::NAN,
            margin: f64::INFINITY,
            keep: 0,
        };
        let _ = decide(&q, &cands, &cfg);
        let _ = decide_among(&q, &cands, &[7, 2, 2, 0], &MatchConfig::default());
        let idx = NameIndex::build(&cands);
        assert!(idx.search("", 5).is_empty());
        assert_eq!(idx.search("acme", 5), [2]);
    }

    #[test]
    fn index_finds_typos_joined_words_and_acronyms() {
        let cands = [
            cand("1", "MICROSOFT CORP"),
            cand("2", "EXXON MOBIL CORP"),
            cand("3", "INTERNATIONAL BUSINESS MACHINES CORP"),
            cand("4", "MICROCHIP TECHNOLOGY INC"),
            cand("5", "Facebook Inc"),
            cand("6", "EXXON CAPITAL"),
            cand("7", "Mobil Homes Inc"),
        ];
        let idx = NameIndex::build(&cands);
        assert_eq!(idx.len(), 7);
        assert_eq!(idx.search("Microsfot", 1), [0]);
        assert_eq!(idx.search("ExxonMobil", 1), [1]);
        assert_eq!(idx.search("IBM", 1), [2]);
        assert_eq!(idx.search("Face book", 1), [4]);
        let q = query("Exxon Mobil Corporation");
        let short = idx.search(&q.name, 3);
        let d = decide_among(&q, &cands, &short, &MatchConfig::default());
        assert_eq!(d.matched().map(|s| s.index), Some(1));
    }

    #[test]
    fn domains_and_postcodes_compare_loosely() {
        assert_eq!(norm_domain("HTTPS://www.Acme.fr:443/x?y"), "acme.fr");
        assert!(same_site("shop.acme.fr", "acme.fr"));
        assert!(!same_site("notacme.fr", "acme.fr"));
        assert_eq!(postcode_agree("10001-1234", "10001"), Some(true));
        assert_eq!(postcode_agree("SW1A 1AA", "sw1a1aa"), Some(true));
        assert_eq!(postcode_agree("75011", "75012"), Some(false));
        assert_eq!(norm_city("St. Paul"), norm_city("Saint-Paul"));
        assert_eq!(norm_country("United States"), "US");
    }
}
