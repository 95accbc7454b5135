//! Company-name normalisation and name similarity, the name half of registry matching.
//!
//! - [`fold`]: accents, case and punctuation away (`"L'Oréal S.A."` → `"loreal s a"`);
//! - [`normalize`]: a [`NormName`] whose `core` drops what varies between two spellings of the
//!   same company: trailing legal forms (EN, FR, DE, IT, ES, PT, NL, Nordic, PL, JP), stop words
//!   (`the`, `and`, `of`, `de`…), class annotations (`(Class A)`), SEC state annotations
//!   (`CORP /DE/`, `INC/MA`), a trailing `.com`; initials are joined (`A. O. Smith` → `ao smith`)
//!   and common abbreviations expanded (`intl` → `international`, `mfg` → `manufacturing`);
//! - [`similarity`] (symmetric) and [`query_similarity`] (a lead's name against a registry
//!   name): scores in `[0, 1]` from a one-to-one alignment of core words that tolerates one typo
//!   per word, plurals, doubled letters, word order, joined or split words (`ExxonMobil` ~
//!   `Exxon Mobil`), initials (`BNY` ~ `Bank of New York`, weakly), with generic words
//!   (`group`, `holdings`, `technologies`…) weighing little ([`token_weight`]).
//!
//! Decisions, measured on the S&P 500 against the SEC ticker file (the root crate's
//! `tests/it/registry_match.rs`; five perturbation seeds, and the same queries with the true
//! company removed from the registry to count confident wrong matches):
//! - `Group`, `Groupe`, `Holding(s)`, `Société`, `International`, `Technologies`… are **not**
//!   dropped but weighted 0.35. Dropping `group`/`holding(s)` at the end of names like legal
//!   forms lowered recall (0.959 → 0.951) and raised confident wrong matches when the true
//!   company is absent (130 → 143 of 2,475): it makes `X Group` and `X Holdings` identical.
//! - Legal forms are dropped only at the end of a name (repeatedly: `GmbH & Co. KG`); elsewhere
//!   (`SAS Institute`, `Laboratory Corp of America`) they stay, weighted 0.15.
//! - Apostrophes are removed, not turned into spaces (`McDonald's` → `mcdonalds`); `L'Oréal` →
//!   `loreal` still equals `L OREAL` because cores are also compared without spaces.
//! - `&` and `+` become `and`, a stop word: `AT&T`, `AT and T` and `AT & T` agree, and so do
//!   `S&P` and `S and P` (joined initials `sp`).
//! - A lead's last word that is a misspelt legal form (`Dover Icn`) weighs like a legal form in
//!   [`query_similarity`], but is not removed by [`normalize`]: `Inn`, `Ink` and `Corn` are
//!   words.

use unicode_normalization::char::is_combining_mark;
use unicode_normalization::UnicodeNormalization;

/// Accent-, case- and punctuation-folded text: NFKD, combining marks removed, lower case,
/// `&`/`+` → ` and `, apostrophes removed, every other non-alphanumeric character a separator,
/// whitespace collapsed to single spaces, no leading or trailing space.
pub fn fold(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    let mut gap = false;
    let push = |out: &mut String, gap: &mut bool, text: &str| {
        if *gap && !out.is_empty() {
            out.push(' ');
        }
        *gap = false;
        out.push_str(text);
    };
    for ch in s.nfkd() {
        if is_combining_mark(ch) {
            continue;
        }
        match ch {
            '\'' | '\u{2019}' | '\u{2018}' | '\u{02BC}' | '`' | '\u{00B4}' | '\u{2032}' => {}
            '&' | '+' | '\u{FF06}' => {
                gap = true;
                push(&mut out, &mut gap, "and");
                gap = true;
            }
            'ß' => push(&mut out, &mut gap, "ss"),
            'æ' | 'Æ' => push(&mut out, &mut gap, "ae"),
            'œ' | 'Œ' => push(&mut out, &mut gap, "oe"),
            'ø' | 'Ø' => push(&mut out, &mut gap, "o"),
            'đ' | 'Đ' | 'ð' | 'Ð' => push(&mut out, &mut gap, "d"),
            'ł' | 'Ł' => push(&mut out, &mut gap, "l"),
            'þ' | 'Þ' => push(&mut out, &mut gap, "th"),
            'ı' => push(&mut out, &mut gap, "i"),
            c if c.is_alphanumeric() => {
                for lc in c.to_lowercase() {
                    if !is_combining_mark(lc) {
                        let mut buf = [0u8; 4];
                        push(&mut out, &mut gap, lc.encode_utf8(&mut buf));
                    }
                }
            }
            _ => gap = true,
        }
    }
    out
}

/// A normalised company name.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct NormName {
    /// [`fold`] of the name after SEC state annotations (`/DE/`) were cut.
    pub folded: String,
    /// The comparable part: `tokens` joined by single spaces.
    pub core: String,
    /// Core words in their original order (stop words, class annotations and trailing legal
    /// forms removed, initials joined, abbreviations expanded).
    pub tokens: Vec<String>,
    /// Canonical legal forms removed from the end of the name, outermost first
    /// (`"Acme GmbH & Co. KG"` → `["kg", "co", "gmbh"]`).
    pub legal_forms: Vec<&'static str>,
}

/// Words that carry no identity anywhere in a name.
const STOPWORDS: &[&str] = &[
    "and", "the", "of", "und", "et", "de", "du", "des", "la", "le", "les", "der", "die", "das",
    "di", "del", "della", "y", "en", "for",
];

/// Spellings of legal forms → canonical form. Every canonical form is also a key.
const LEGAL_FORMS: &[(&str, &str)] = &[
    // English-speaking
    ("inc", "inc"),
    ("incorporated", "inc"),
    ("corp", "corp"),
    ("corporation", "corp"),
    ("co", "co"),
    ("company", "co"),
    ("cos", "cos"),
    ("companies", "cos"),
    ("llc", "llc"),
    ("lc", "llc"),
    ("pllc", "pllc"),
    ("lp", "lp"),
    ("llp", "llp"),
    ("lllp", "lllp"),
    ("ltd", "ltd"),
    ("limited", "ltd"),
    ("plc", "plc"),
    ("na", "na"),
    ("pty", "pty"),
    ("pte", "pte"),
    ("bhd", "bhd"),
    ("sdn", "sdn"),
    // French
    ("sa", "sa"),
    ("sas", "sas"),
    ("sasu", "sasu"),
    ("sarl", "sarl"),
    ("eurl", "eurl"),
    ("sca", "sca"),
    ("snc", "snc"),
    ("scs", "scs"),
    ("sci", "sci"),
    ("scp", "scp"),
    ("scop", "scop"),
    ("selarl", "selarl"),
    ("selas", "selas"),
    ("gie", "gie"),
    ("anonyme", "sa"),
    // German-speaking
    ("gmbh", "gmbh"),
    ("mbh", "gmbh"),
    ("ag", "ag"),
    ("aktiengesellschaft", "ag"),
    ("kg", "kg"),
    ("kgaa", "kgaa"),
    ("ohg", "ohg"),
    ("ug", "ug"),
    ("se", "se"),
    // Italian, Spanish, Portuguese
    ("spa", "spa"),
    ("srl", "srl"),
    ("srls", "srls"),
    ("sapa", "sapa"),
    ("sl", "sl"),
    ("slu", "slu"),
    ("sau", "sau"),
    ("sab", "sab"),
    ("sapi", "sapi"),
    ("cv", "cv"),
    ("anonima", "sa"),
    ("lda", "lda"),
    ("ltda", "ltda"),
    // Dutch, Belgian
    ("nv", "nv"),
    ("bv", "bv"),
    ("bvba", "bvba"),
    ("vof", "vof"),
    ("sprl", "sprl"),
    ("scrl", "scrl"),
    // Nordic
    ("ab", "ab"),
    ("aktiebolag", "ab"),
    ("publ", "publ"),
    ("as", "as"),
    ("asa", "asa"),
    ("aps", "aps"),
    ("oy", "oy"),
    ("oyj", "oyj"),
    ("hf", "hf"),
    // Japanese
    ("kk", "kk"),
    ("kaisha", "kk"),
];

/// Words after which a preceding word is part of the same legal form
/// (`public limited company`, `société anonyme`, `kabushiki kaisha`, `sp. z o.o.`).
const LEGAL_PREFIXES: &[(&str, &[&str])] = &[
    ("public", &["ltd", "co", "plc"]),
    ("societe", &["sa"]),
    ("sociedad", &["sa"]),
    ("kabushiki", &["kk"]),
    ("sp", &["zoo"]),
];

/// Trailing words that are not part of the name but not legal forms either.
const TRAILING_NOISE: &[&str] = &["com", "adr", "ads", "zoo"];

/// Abbreviations → the word used in cores.
const ABBREVIATIONS: &[(&str, &str)] = &[
    ("intl", "international"),
    ("natl", "national"),
    ("mfg", "manufacturing"),
    ("svcs", "services"),
    ("svc", "service"),
    ("grp", "group"),
    ("hldgs", "holdings"),
    ("hldg", "holding"),
    ("mgmt", "management"),
    ("tech", "technology"),
    ("techs", "technologies"),
    ("labs", "laboratories"),
    ("lab", "laboratory"),
    ("bros", "brothers"),
    ("assoc", "associates"),
    ("assn", "association"),
    ("inds", "industries"),
    ("finl", "financial"),
    ("mtg", "mortgage"),
    ("props", "properties"),
    ("elec", "electric"),
    ("comms", "communications"),
    ("ctr", "center"),
    ("ctrs", "centers"),
    ("amer", "american"),
    ("ste", "societe"),
    ("soc", "societe"),
    ("cie", "compagnie"),
    ("ets", "etablissements"),
];

/// Words common in company names that say little about which company: weighted low.
const GENERIC: &[&str] = &[
    "group",
    "groupe",
    "grupo",
    "gruppe",
    "holding",
    "holdings",
    "international",
    "internationale",
    "global",
    "worldwide",
    "technology",
    "technologies",
    "system",
    "systems",
    "service",
    "services",
    "solutions",
    "financial",
    "industries",
    "enterprises",
    "communications",
    "brands",
    "partners",
    "products",
    "networks",
    "societe",
    "compagnie",
    "etablissements",
    "usa",
];

/// Weight of a core word in [`similarity`]: 1 for distinctive words, 0.35 for generic business
/// words (`group`, `holdings`, `international`…), 0.15 for a legal form inside the name.
pub fn token_weight(t: &str) -> f64 {
    if GENERIC.contains(&t) {
        0.35
    } else if legal_canonical(t).is_some() {
        0.15
    } else {
        1.0
    }
}

fn legal_canonical(t: &str) -> Option<&'static str> {
    LEGAL_FORMS.iter().find(|(k, _)| *k == t).map(|(_, v)| *v)
}

/// Legal forms a misspelt last word of a lead's name is compared with.
const FUZZY_LEGAL: &[&str] = &[
    "inc",
    "corp",
    "co",
    "ltd",
    "llc",
    "plc",
    "lp",
    "incorporated",
    "corporation",
    "company",
    "companies",
    "limited",
];

/// Within one edit (two from ten letters) of a common legal form, but not one: `icn`, `inr`,
/// `cdrp`, `lzc`, `cco`, `corporatoin`, `companiel`.
fn fuzzy_legal(t: &str) -> bool {
    let tc: Vec<char> = t.chars().collect();
    if tc.is_empty() || tc.len() > 14 || tc.iter().any(|c| !c.is_ascii_alphabetic()) {
        return false;
    }
    FUZZY_LEGAL.iter().any(|form| {
        let fc: Vec<char> = form.chars().collect();
        let max = if fc.len() >= 10 { 2 } else { 1 };
        let d = osa(&tc, &fc, max);
        d >= 1 && d <= max
    })
}

/// Cuts SEC-style state annotations at the end of a name: `CORP /DE/`, `INC/MA`, `LIMITED/NV`,
/// `US BANCORP \DE\`, `INC / MA`, a lone trailing `/`. `AC/DC` and `A/S` are left alone.
fn strip_annotations(s: &str) -> &str {
    let mut t = s.trim_end();
    for _ in 0..3 {
        let before = t.len();
        // a lone trailing slash, or a closing one of `/XX/`
        let body = t.trim_end_matches(['/', '\\']).trim_end();
        let closed = body.len() != t.len();
        if let Some(p) = body.rfind(['/', '\\']) {
            let seg = body[p + 1..].trim();
            let short =
                !seg.is_empty() && seg.len() <= 3 && seg.bytes().all(|b| b.is_ascii_alphabetic());
            let head = &body[..p];
            let head_word = head
                .rsplit(|c: char| !c.is_alphanumeric())
                .next()
                .unwrap_or("")
                .to_lowercase();
            let after_space = head.ends_with(char::is_whitespace);
            let after_legal = legal_canonical(&head_word).is_some() && head_word.len() >= 2;
            if short && (after_space || after_legal || closed) && !head.trim().is_empty() {
                t = head.trim_end();
            } else if closed {
                t = body;
            }
        } else if closed && !body.is_empty() {
            t = body;
        }
        if t.len() == before {
            break;
        }
    }
    t
}

/// Normalises a company name for comparison; see the module documentation.
pub fn normalize(s: &str) -> NormName {
    let folded = fold(strip_annotations(s));
    let words: Vec<&str> = folded.split(' ').filter(|w| !w.is_empty()).collect();

    // class annotations ("class a", "cl b") and stop words
    let mut toks: Vec<&str> = Vec::with_capacity(words.len());
    let mut i = 0;
    while i < words.len() {
        let w = words[i];
        if (w == "class" || w == "cl")
            && i + 1 < words.len()
            && words[i + 1].chars().count() == 1
            && i > 0
        {
            i += 2;
            continue;
        }
        if !STOPWORDS.contains(&w) {
            toks.push(w);
        }
        i += 1;
    }

    // join runs of single letters: "a o smith" → "ao smith", "n v" → "nv"
    let mut joined: Vec<String> = Vec::with_capacity(toks.len());
    let mut run = String::new();
    let mut run_len = 0;
    for w in &toks {
        let single = w.chars().count() == 1 && w.chars().all(|c| c.is_alphabetic());
        if single {
            run.push_str(w);
            run_len += 1;
        } else {
            if run_len > 0 {
                joined.push(std::mem::take(&mut run));
                run_len = 0;
            }
            joined.push((*w).to_string());
        }
    }
    if run_len > 0 {
        joined.push(run);
    }

    // abbreviations and legal-form spellings
    for t in joined.iter_mut() {
        if let Some((_, full)) = ABBREVIATIONS.iter().find(|(k, _)| *k == t.as_str()) {
            *t = (*full).to_string();
        } else if let Some(c) = legal_canonical(t) {
            if c != t.as_str() && t.len() > 3 {
                *t = c.to_string();
            }
        }
    }

    // trailing legal forms and noise
    let mut legal_forms = Vec::new();
    let mut last_removed: Option<&'static str> = None;
    while joined.len() > 1 {
        let last = joined[joined.len() - 1].as_str();
        if let Some(c) = legal_canonical(last) {
            legal_forms.push(c);
            last_removed = Some(c);
            joined.pop();
            continue;
        }
        if let Some(noise) = TRAILING_NOISE.iter().find(|n| **n == last) {
            // "zoo" only as the end of Polish "sp. z o.o."
            if *noise == "zoo" && !(joined.len() > 2 && joined[joined.len() - 2] == "sp") {
                break;
            }
            last_removed = Some(*noise);
            joined.pop();
            continue;
        }
        // the first word of a two-word legal form whose second word was just removed
        let prefix = LEGAL_PREFIXES.iter().find(|(p, _)| *p == last);
        if let Some((_, after)) = prefix {
            if last_removed.is_some_and(|r| after.contains(&r)) {
                last_removed = None;
                joined.pop();
                continue;
            }
        }
        break;
    }

    if joined.is_empty() {
        joined = words.iter().map(|w| (*w).to_string()).collect();
    }
    let core = joined.join(" ");
    NormName {
        folded,
        core,
        tokens: joined,
        legal_forms,
    }
}

/// Optimal-string-alignment distance (Levenshtein plus adjacent transposition) between two
/// words, giving up (returning `max + 1`) once it exceeds `max`.
fn osa(a: &[char], b: &[char], max: usize) -> usize {
    let (n, m) = (a.len(), b.len());
    if n.abs_diff(m) > max {
        return max + 1;
    }
    let mut prev2 = vec![0usize; m + 1];
    let mut prev: Vec<usize> = (0..=m).collect();
    let mut cur = vec![0usize; m + 1];
    for i in 1..=n {
        cur[0] = i;
        let mut row_min = cur[0];
        for j in 1..=m {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut v = (prev[j] + 1).min(cur[j - 1] + 1).min(prev[j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                v = v.min(prev2[j - 2] + 1);
            }
            cur[j] = v;
            row_min = row_min.min(v);
        }
        if row_min > max {
            return max + 1;
        }
        std::mem::swap(&mut prev2, &mut prev);
        std::mem::swap(&mut prev, &mut cur);
    }
    prev[m]
}

/// `x` and `y` are the singular and plural of one word (`holding`/`holdings`,
/// `industry`/`industries`).
fn plural_eq(x: &str, y: &str) -> bool {
    let (s, l) = if x.len() <= y.len() { (x, y) } else { (y, x) };
    if s.len() < 3 {
        return false;
    }
    if let Some(stem) = l.strip_suffix('s') {
        if stem == s {
            return true;
        }
    }
    if let (Some(ls), Some(ss)) = (l.strip_suffix("ies"), s.strip_suffix('y')) {
        return ls == ss;
    }
    if let Some(stem) = l.strip_suffix("es") {
        return stem == s;
    }
    false
}

/// `true` when both words are the same after collapsing repeated letters (`cdww` ~ `cdw`,
/// `3mm` ~ `3m`; digits are not collapsed: `100` ≠ `10`).
fn same_collapsed(x: &str, y: &str) -> bool {
    let mut a = x.chars().peekable();
    let mut b = y.chars().peekable();
    loop {
        match (a.next(), b.next()) {
            (None, None) => return true,
            (Some(c), Some(d)) if c == d => {
                if c.is_alphabetic() {
                    while a.peek() == Some(&c) {
                        a.next();
                    }
                    while b.peek() == Some(&d) {
                        b.next();
                    }
                }
            }
            _ => return false,
        }
    }
}

/// Similarity of two core words: 1 equal, 0.95 singular/plural, 0.85 a doubled letter
/// (`foxx` ~ `fox`) or one edit in words of five characters or more (two edits from nine),
/// 0.8 one edit in four-letter words, 0.75 a letter dropped, added or two swapped in a
/// three-letter word (`lma` ~ `lam`, `nke` ~ `nike`; never a letter replaced: `apa` ≠ `apk`),
/// at most 0.5 when the edit changes the first letter (0 in three-letter words), else 0. Words
/// with digits must be equal but for a doubled letter.
fn word_sim(x: &str, y: &str) -> f64 {
    if x == y {
        return 1.0;
    }
    if plural_eq(x, y) {
        return 0.95;
    }
    let a: Vec<char> = x.chars().collect();
    let b: Vec<char> = y.chars().collect();
    let short = a.len().min(b.len());
    if short >= 2 && same_collapsed(x, y) {
        return 0.85;
    }
    let numeric = |v: &[char]| v.iter().any(|c| c.is_ascii_digit());
    if numeric(&a) || numeric(&b) {
        return 0.0;
    }
    if short < 3 {
        return 0.0;
    }
    let max = if short >= 9 { 2 } else { 1 };
    let d = osa(&a, &b, max);
    if d > max {
        return 0.0;
    }
    let sim: f64 = match (d, short) {
        (0, _) => 1.0,
        (1, 5..) => 0.85,
        (1, 4) => 0.8,
        (1, _) => {
            // three letters: no replacement
            let mut sa = a.clone();
            let mut sb = b.clone();
            sa.sort_unstable();
            sb.sort_unstable();
            if a.len() != b.len() || sa == sb {
                0.75
            } else {
                0.0
            }
        }
        _ => 0.7,
    };
    // typos rarely hit a word's first letter; names differing there are more often other names
    // (`cisco` / `disco`, `steris` / `iteris`)
    if a[0] != b[0] {
        if short <= 3 {
            return 0.0;
        }
        return sim.min(0.5);
    }
    sim
}

/// One alignment option: word `i` of one side against words `j..j + len` of the other.
struct Pair {
    a: usize,
    a_len: usize,
    b: usize,
    b_len: usize,
    sim: f64,
}

/// Options where one word of `one` is a run of 2–4 words of `other`, joined (`exxonmobil` ~
/// `exxon mobil`, 1.0 or 0.85 with one edit) or as initials (`bny` ~ `bank new york`, three or
/// more words, 0.7: short acronyms collide — `nvh` is a typo of `NVR` but also `National Vision
/// Holdings` — so an acronym alone stays below the default acceptance and needs other evidence).
fn run_pairs(one: &[String], other: &[String], flip: bool, out: &mut Vec<Pair>) {
    for (i, w) in one.iter().enumerate() {
        let wc: Vec<char> = w.chars().collect();
        for len in 2..=4usize.min(other.len()) {
            for j in 0..=other.len() - len {
                let run = &other[j..j + len];
                let joined: String = run.concat();
                let mut sim = 0.0;
                if joined == *w {
                    sim = 1.0;
                } else if wc.len() >= 8 && osa(&wc, &joined.chars().collect::<Vec<_>>(), 1) <= 1 {
                    sim = 0.85;
                } else if len >= 3 && wc.len() == len {
                    let initials: String = run.iter().filter_map(|t| t.chars().next()).collect();
                    if initials == *w {
                        sim = 0.7;
                    }
                }
                if sim > 0.0 {
                    out.push(if flip {
                        Pair {
                            a: j,
                            a_len: len,
                            b: i,
                            b_len: 1,
                            sim,
                        }
                    } else {
                        Pair {
                            a: i,
                            a_len: 1,
                            b: j,
                            b_len: len,
                            sim,
                        }
                    });
                }
            }
        }
    }
}

/// Weighted coverage of both sides after a greedy one-to-one alignment of words.
///
/// With `lenient_tail`, `a`'s last word, when unmatched and a misspelt legal form (`Dover Icn`,
/// `Intuit Corporatoin`: a lead typed by hand), weighs as little as a legal form.
fn coverage(a: &[String], b: &[String], lenient_tail: bool) -> Coverage {
    let mut pairs = Vec::new();
    for (i, x) in a.iter().enumerate() {
        for (j, y) in b.iter().enumerate() {
            let s = word_sim(x, y);
            if s > 0.0 {
                pairs.push(Pair {
                    a: i,
                    a_len: 1,
                    b: j,
                    b_len: 1,
                    sim: s,
                });
            }
        }
    }
    run_pairs(a, b, false, &mut pairs);
    run_pairs(b, a, true, &mut pairs);
    // best first; on equal similarity prefer longer runs, then aligned positions
    pairs.sort_by(|p, q| {
        q.sim
            .total_cmp(&p.sim)
            .then((q.a_len + q.b_len).cmp(&(p.a_len + p.b_len)))
            .then(p.a.abs_diff(p.b).cmp(&q.a.abs_diff(q.b)))
            .then(p.a.cmp(&q.a))
            .then(p.b.cmp(&q.b))
    });
    let mut ma = vec![0.0f64; a.len()];
    let mut mb = vec![0.0f64; b.len()];
    let mut used_a = vec![false; a.len()];
    let mut used_b = vec![false; b.len()];
    for p in &pairs {
        let ra = p.a..p.a + p.a_len;
        let rb = p.b..p.b + p.b_len;
        if ra.clone().any(|i| used_a[i]) || rb.clone().any(|j| used_b[j]) {
            continue;
        }
        for i in ra {
            used_a[i] = true;
            ma[i] = p.sim;
        }
        for j in rb {
            used_b[j] = true;
            mb[j] = p.sim;
        }
    }
    let cov = |toks: &[String], m: &[f64], lenient: bool| {
        let (mut num, mut den) = (0.0, 0.0);
        for (i, (t, s)) in toks.iter().zip(m).enumerate() {
            let tail = lenient && i + 1 == toks.len() && i > 0 && *s == 0.0;
            let w = if tail && fuzzy_legal(t) {
                0.15
            } else {
                token_weight(t)
            };
            num += w * s;
            den += w;
        }
        if den > 0.0 {
            num / den
        } else {
            0.0
        }
    };
    Coverage {
        a: cov(a, &ma, lenient_tail),
        b: cov(b, &mb, false),
        b_leading_extra: mb.first().is_some_and(|m| *m == 0.0) && mb.iter().any(|m| *m > 0.0),
    }
}

/// Weighted share of each side's words matched by the other.
struct Coverage {
    a: f64,
    b: f64,
    /// `b` starts with words `a` lacks (`H&R Block` for `Block`).
    b_leading_extra: bool,
}

/// Name similarity in `[0, 1]`, symmetric. 1 when the cores are equal ignoring spaces or word
/// order (`Schwab Charles` = `Charles Schwab`); otherwise the harmonic mean (F1) of the two sides'
/// weighted word coverage (each word's best one-to-one match: equal, plural, one typo,
/// joined/split words, initials; weights from [`token_weight`]), capped at 0.99.
pub fn similarity(a: &NormName, b: &NormName) -> f64 {
    f_beta(a, b, 1.0, false)
}

/// Similarity of a lead's name (`query`) to a registry name (`record`), in `[0, 1]`: as
/// [`similarity`] but an F2 that weighs the coverage of the query's words four times the
/// record's. A lead is usually held under a shortened name (`Cognizant` for `COGNIZANT
/// TECHNOLOGY SOLUTIONS CORP`, `Old Dominion` for `OLD DOMINION FREIGHT LINE`): extra record words
/// cost little, while a distinctive query word the record lacks (`FedEx Freight` vs `FEDEX
/// CORP`, `Honeywell Aerospace` vs `HONEYWELL INTERNATIONAL`) costs much. Two exceptions:
/// - a query of one word of three characters or less is compared symmetrically (F1): `AP` is
///   not evidence for `AP ACQUISITION CORP`;
/// - so is a record that starts with words the query lacks: short names drop the end of a legal
///   name, not its start (`Block` is not `H&R BLOCK`, `Corning` not `OWENS CORNING`);
/// - the query's last word, when unmatched and a misspelt legal form (`Dover Icn`), weighs as
///   little as a legal form: leads are typed by hand, registry names are not.
pub fn query_similarity(query: &NormName, record: &NormName) -> f64 {
    let short = query.tokens.len() == 1 && query.tokens[0].chars().count() <= 3;
    f_beta(query, record, if short { 1.0 } else { 2.0 }, true)
}

/// F-beta of `a`'s coverage (recall) and `b`'s coverage (precision).
fn f_beta(a: &NormName, b: &NormName, beta: f64, lenient_tail: bool) -> f64 {
    if a.tokens.is_empty() || b.tokens.is_empty() {
        return 0.0;
    }
    if a.tokens.concat() == b.tokens.concat() {
        return 1.0;
    }
    let mut sa: Vec<&str> = a.tokens.iter().map(String::as_str).collect();
    let mut sb: Vec<&str> = b.tokens.iter().map(String::as_str).collect();
    sa.sort_unstable();
    sb.sort_unstable();
    if sa == sb {
        return 1.0;
    }
    let cov = coverage(&a.tokens, &b.tokens, lenient_tail);
    let (cov_a, cov_b) = (cov.a, cov.b);
    // a short name drops the end of a long one, not its start: `Block` is not `H&R Block`
    let beta = if cov.b_leading_extra {
        beta.min(1.0)
    } else {
        beta
    };
    let b2 = beta * beta;
    let den = b2 * cov_b + cov_a;
    let f = if den > 0.0 {
        (1.0 + b2) * cov_a * cov_b / den
    } else {
        0.0
    };
    // never 1 unless the cores agree exactly
    f.clamp(0.0, 0.99)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sim(a: &str, b: &str) -> f64 {
        similarity(&normalize(a), &normalize(b))
    }

    #[test]
    fn fold_accents_case_punctuation() {
        assert_eq!(fold("Société Générale"), "societe generale");
        assert_eq!(fold("L'Oréal S.A."), "loreal s a");
        assert_eq!(fold("O’Reilly  Automotive"), "oreilly automotive");
        assert_eq!(fold("AT&T"), "at and t");
        assert_eq!(fold("Procter+Gamble"), "procter and gamble");
        assert_eq!(fold("Brown–Forman"), "brown forman");
        assert_eq!(fold("Müller Straße ÆØ"), "muller strasse aeo");
        assert_eq!(fold("  ...  "), "");
        assert_eq!(fold(""), "");
    }

    #[test]
    fn legal_forms_removed_in_several_languages() {
        let cases = [
            ("Apple Inc.", "apple"),
            ("MICROSOFT CORP", "microsoft"),
            ("Acme Corporation", "acme"),
            ("Ford Motor Company", "ford motor"),
            ("Foo Ltd", "foo"),
            ("Foo Limited", "foo"),
            ("CRH PUBLIC LTD CO", "crh"),
            ("Dupont SARL", "dupont"),
            ("Michelin SCA", "michelin"),
            ("Dupont S.A.S.U.", "dupont"),
            ("Boulangerie Martin EURL", "boulangerie martin"),
            ("Siemens AG", "siemens"),
            ("Muster GmbH & Co. KG", "muster"),
            ("Henkel AG & Co. KGaA", "henkel"),
            ("Fiat S.p.A.", "fiat"),
            ("Pirelli S.r.l.", "pirelli"),
            ("Telefónica, S.A.", "telefonica"),
            ("NXP Semiconductors N.V.", "nxp semiconductors"),
            ("Philips B.V.", "philips"),
            ("Volvo AB (publ)", "volvo"),
            ("Equinor ASA", "equinor"),
            ("Novo Nordisk A/S", "novo nordisk"),
            ("Nokia Oyj", "nokia"),
            ("COCA COLA FEMSA SAB DE CV", "coca cola femsa"),
            ("Toyota Kabushiki Kaisha", "toyota"),
            ("Acme Sp. z o.o.", "acme"),
            ("Bank of America N.A.", "bank america"),
            ("AMAZON COM INC", "amazon"),
            ("Alphabet Inc. (Class A)", "alphabet"),
            ("Coca-Cola Company (The)", "coca cola"),
            ("The Walt Disney Company", "walt disney"),
            ("AMERICAN TOWER CORP /MA/", "american tower"),
            ("APPLIED MATERIALS INC /DE", "applied materials"),
            ("US BANCORP \\DE\\", "us bancorp"),
            ("VERTEX PHARMACEUTICALS INC / MA", "vertex pharmaceuticals"),
            ("SCHLUMBERGER LIMITED/NV", "schlumberger"),
            ("AMETEK INC/", "ametek"),
            ("COSTCO WHOLESALE CORP /NEW", "costco wholesale"),
            ("A. O. Smith", "ao smith"),
            ("SMITH A O CORP", "smith ao"),
            ("AC/DC", "ac dc"),
            ("Intl Paper Co", "international paper"),
            ("SAP SE", "sap"),
        ];
        for (raw, core) in cases {
            assert_eq!(normalize(raw).core, core, "{raw}");
        }
        assert_eq!(
            normalize("Muster GmbH & Co. KG").legal_forms,
            ["kg", "co", "gmbh"]
        );
        assert_eq!(normalize("Acme Incorporated").legal_forms, ["inc"]);
    }

    #[test]
    fn never_empty_and_never_panics() {
        assert_eq!(normalize("Inc").core, "inc");
        assert_eq!(normalize("The").core, "the");
        assert_eq!(normalize("Company").core, "co");
        assert!(normalize("").tokens.is_empty());
        assert!(normalize("/// \\\\ ///").tokens.is_empty());
        for s in [
            "/",
            "\\",
            "a/",
            "/DE/",
            "Ω≈ç√",
            "Company Name Three `!#$(),:;=.-;\\|@/{}&'\\WA\\",
            "  /  NEW  /",
        ] {
            let n = normalize(s);
            let _ = similarity(&n, &normalize("x"));
        }
        assert_eq!(sim("", "Acme"), 0.0);
    }

    #[test]
    fn accents_and_case_agree() {
        assert_eq!(sim("Société Générale", "SOCIETE GENERALE"), 1.0);
        assert_eq!(sim("L'Oréal", "L OREAL"), 1.0);
        assert_eq!(sim("L'Oréal S.A.", "LOREAL"), 1.0);
        assert_eq!(
            sim("Estée Lauder Companies (The)", "ESTEE LAUDER COMPANIES INC"),
            1.0
        );
    }

    #[test]
    fn ampersand_and_and_agree() {
        assert_eq!(sim("Procter & Gamble", "procter and gamble co"), 1.0);
        assert_eq!(sim("AT and T", "AT&T INC."), 1.0);
        assert_eq!(sim("S and P Global", "S&P Global Inc."), 1.0);
        assert_eq!(sim("Johnson and Johnson", "JOHNSON & JOHNSON"), 1.0);
    }

    #[test]
    fn order_initials_and_joined_words() {
        assert_eq!(
            sim("Charles Schwab Corporation", "SCHWAB CHARLES CORP"),
            1.0
        );
        assert_eq!(sim("W. R. Berkley Corporation", "BERKLEY W R CORP"), 1.0);
        assert_eq!(sim("ExxonMobil", "EXXON MOBIL CORP"), 1.0);
        assert!(sim("Face book", "Facebook Inc") >= 0.99);
        assert!(sim("Supermicro", "Super Micro Computer, Inc.") > 0.75);
        assert!(sim("IBM", "INTERNATIONAL BUSINESS MACHINES CORP") >= 0.7);
        assert!(sim("BNY Mellon", "Bank of New York Mellon Corp") >= 0.7);
    }

    #[test]
    fn one_typo_still_matches() {
        assert!(sim("Microsfot", "MICROSOFT CORP") >= 0.85);
        assert!(sim("Caterpilar Inc", "CATERPILLAR INC") >= 0.85);
        assert!(sim("Goldmann Sachs", "GOLDMAN SACHS GROUP INC") > 0.8);
        assert!(sim("Exxonmobli", "EXXON MOBIL CORP") > 0.8);
        // but a short word with one letter changed may well be another word
        assert!(sim("Amen", "Amgen") < 0.85);
        assert!(sim("Disco", "Cisco") <= 0.5);
        assert!(sim("3MM", "3M CO") >= 0.85);
        assert_eq!(sim("Route 100", "Route 10"), 0.5);
        assert_eq!(sim("APK", "APA Corp"), 0.0);
    }

    #[test]
    fn generic_words_weigh_little_distinctive_ones_much() {
        let cisco = sim("Cisco", "CISCO SYSTEMS, INC.");
        let fedex = sim("FedEx Freight", "FEDEX CORP");
        let honeywell = sim("Honeywell Aerospace", "HONEYWELL INTERNATIONAL INC");
        assert!(cisco > 0.8, "{cisco}");
        assert!(fedex < 0.7, "{fedex}");
        assert!(honeywell < 0.7, "{honeywell}");
        assert!(sim("Altria", "Altria Group") > sim("Altria", "Altria Tobacco"));
        assert!(sim("Groupe SEB", "SEB") > 0.8);
    }

    #[test]
    fn query_similarity_forgives_dropped_trailing_words_only() {
        let q = |a: &str, b: &str| query_similarity(&normalize(a), &normalize(b));
        assert!(q("Cognizant", "COGNIZANT TECHNOLOGY SOLUTIONS CORP") > 0.8);
        assert!(q("Old Dominion", "OLD DOMINION FREIGHT LINE, INC.") > 0.8);
        assert!(q("FedEx Freight", "FEDEX CORP") < 0.6);
        assert!(q("Block", "H&R BLOCK INC") < 0.7);
        assert!(q("Corning", "Owens Corning") < 0.7);
        assert!(q("AP Inc.", "AP Acquisition Corp") < 0.7);
        assert!(q("Dover Icn.", "DOVER Corp") > 0.85);
        assert!(q("Intuit Corporatoin", "INTUIT INC.") > 0.85);
        // leniency is for the lead's last word only, and only for misspelt legal forms
        assert!(q("Acme Inr Foods", "ACME FOODS") < q("Acme Foods Inr", "ACME FOODS"));
        assert!(similarity(&normalize("Dover Icn."), &normalize("DOVER Corp")) < 0.85);
    }

    #[test]
    fn similarity_is_symmetric_and_bounded() {
        let names = [
            "Apple",
            "Apple Hospitality REIT",
            "Cisco",
            "CISCO SYSTEMS",
            "IBM",
            "INTERNATIONAL BUSINESS MACHINES",
            "Exxon Mobil",
            "ExxonMobil",
            "a o smith",
            "",
        ];
        for x in names {
            for y in names {
                let (s1, s2) = (sim(x, y), sim(y, x));
                assert!((0.0..=1.0).contains(&s1), "{x} {y} {s1}");
                assert!((s1 - s2).abs() < 1e-9, "{x} | {y}: {s1} vs {s2}");
            }
        }
    }
}
