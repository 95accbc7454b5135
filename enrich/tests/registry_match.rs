//! Registry name matching quality: the S&P 500 constituents, names perturbed the way CRM exports
//! are, matched offline against the SEC's company ticker file. The CIK in the S&P file is the
//! truth. Prints a figure per seed; asserts precision ≥ 0.98 and recall ≥ 0.95 on each.

use std::collections::{BTreeMap, HashSet};
use std::path::PathBuf;
use std::time::Instant;

use enrich::registry::matching::{self, Candidate, Decision, MatchConfig, NameIndex, Query};

/// Candidates the index hands to the decision for each query.
const SHORT_LIST: usize = 20;

fn data() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/data")
}

/// One candidate per CIK, with every distinct title the ticker file gives it.
fn sec_candidates() -> Vec<Candidate> {
    let path = data().join("registries/sec-edgar/company_tickers.json");
    let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let json: serde_json::Value = serde_json::from_slice(&bytes).expect("company_tickers.json");
    let mut by_cik: BTreeMap<u64, Vec<String>> = BTreeMap::new();
    for v in json.as_object().expect("object").values() {
        let cik = v["cik_str"].as_u64().expect("cik_str");
        let title = v["title"].as_str().expect("title").to_string();
        let names = by_cik.entry(cik).or_default();
        if !names.contains(&title) {
            names.push(title);
        }
    }
    by_cik
        .into_iter()
        .map(|(cik, names)| Candidate {
            id: cik.to_string(),
            names,
            ..Default::default()
        })
        .collect()
}

/// (name, CIK) of the S&P 500 constituents.
fn sp500() -> Vec<(String, String)> {
    let path = data().join("companies/sp500_constituents.csv");
    let mut rd =
        csv::Reader::from_path(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let headers = rd.headers().expect("headers").clone();
    let col = |n: &str| headers.iter().position(|h| h == n).expect(n);
    let (name, cik) = (col("Security"), col("CIK"));
    rd.records()
        .map(|r| {
            let r = r.expect("record");
            let cik: u64 = r[cik].trim().parse().expect("CIK");
            (r[name].to_string(), cik.to_string())
        })
        .collect()
}

/// SplitMix64: small, seeded, good enough to pick perturbations.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }
}

/// Legal suffixes a CRM export drops or swaps, each with its replacements.
const SUFFIXES: &[(&str, &[&str])] = &[
    ("Inc.", &["Corp", "Incorporated", "Corporation", "INC"]),
    ("Inc", &["Corp.", "Incorporated", "Corporation"]),
    ("Incorporated", &["Inc.", "Corp", "Corporation"]),
    ("Corp.", &["Inc", "Corporation", "Incorporated"]),
    ("Corp", &["Inc.", "Corporation"]),
    ("Corporation", &["Corp", "Inc.", "Incorporated"]),
    ("Co.", &["Company", "Co"]),
    ("Company", &["Co.", "Co"]),
    ("plc", &["PLC", "Plc"]),
    ("PLC", &["plc"]),
    ("Ltd.", &["Limited", "Ltd"]),
    ("Limited", &["Ltd.", "Ltd"]),
];

/// A perturbed copy of an S&P name, as a CRM might hold it.
fn perturb(name: &str, rng: &mut Rng) -> String {
    let mut s = name.to_string();
    // class annotations never survive into a CRM
    for c in ["(Class A)", "(Class B)", "(Class C)"] {
        s = s.replace(c, "");
    }
    // "Walt Disney Company (The)" → "The Walt Disney Company" or without "The"
    if s.contains("(The)") {
        s = s.replace("(The)", "");
        if rng.chance(50) {
            s = format!("The {}", s.trim());
        }
    } else if let Some(rest) = s.strip_prefix("The ") {
        if rng.chance(60) {
            s = rest.to_string();
        }
    }
    let mut s = s.trim().trim_end_matches(',').trim().to_string();

    // legal suffix: drop, change, keep; add one sometimes when there is none
    let suffix = SUFFIXES.iter().find(|(suf, _)| {
        s.strip_suffix(suf)
            .is_some_and(|head| head.ends_with(' ') || head.ends_with(','))
    });
    match suffix {
        Some((suf, alts)) => {
            let head = s[..s.len() - suf.len()]
                .trim_end()
                .trim_end_matches(',')
                .to_string();
            match rng.below(3) {
                0 => s = head,
                1 => s = format!("{head} {}", alts[rng.below(alts.len())]),
                _ => {}
            }
        }
        None => {
            if rng.chance(30) {
                let add = ["Inc.", "Inc", "Corp.", "Corporation", "Co.", "LLC"];
                s = format!("{s} {}", add[rng.below(add.len())]);
            }
        }
    }

    // & ↔ and
    if s.contains(" & ") && rng.chance(50) {
        s = s.replace(" & ", " and ");
    } else if s.contains(" and ") && rng.chance(50) {
        s = s.replace(" and ", " & ");
    }

    // case
    match rng.below(4) {
        0 => s = s.to_lowercase(),
        1 => s = s.to_uppercase(),
        _ => {}
    }

    // one typo in ~30%, never on the first letter
    if rng.chance(30) {
        let chars: Vec<char> = s.chars().collect();
        let letters: Vec<usize> = (1..chars.len())
            .filter(|&i| chars[i].is_alphabetic())
            .collect();
        if !letters.is_empty() {
            let i = letters[rng.below(letters.len())];
            let mut c = chars.clone();
            match rng.below(4) {
                0 if i + 1 < c.len() && c[i + 1].is_alphabetic() && c[i] != c[i + 1] => {
                    c.swap(i, i + 1);
                }
                1 => {
                    c.remove(i);
                }
                2 => c.insert(i, c[i]),
                _ => {
                    let pool = "abcdefghijklmnopqrstuvwxyz";
                    let mut r = pool.as_bytes()[rng.below(26)] as char;
                    if r == c[i].to_ascii_lowercase() {
                        r = if r == 'z' { 'a' } else { (r as u8 + 1) as char };
                    }
                    c[i] = if c[i].is_uppercase() {
                        r.to_ascii_uppercase()
                    } else {
                        r
                    };
                }
            }
            s = c.into_iter().collect();
        }
    }
    s
}

struct Outcome {
    /// Matched to the CIK of the S&P file.
    correct: usize,
    /// Matched to another CIK: (query, record title, score, whether the true CIK is in the file).
    wrong: Vec<(String, String, f64, bool)>,
    ambiguous: Vec<(String, Vec<String>)>,
    unmatched: Vec<String>,
    /// How the companies whose CIK is not in the ticker file ended.
    outside: Vec<(String, String)>,
    /// Companies whose CIK is in the file.
    in_file: usize,
    /// Of those, matched to some company once their own record is removed from the short list.
    impostors: Vec<(String, String)>,
    elapsed_ms: f64,
}

fn run(
    seed: u64,
    cands: &[Candidate],
    index: &NameIndex,
    companies: &[(String, String)],
) -> Outcome {
    let ids: HashSet<&str> = cands.iter().map(|c| c.id.as_str()).collect();
    let cfg = MatchConfig::default();
    let mut rng = Rng(seed);
    let queries: Vec<Query> = companies
        .iter()
        .map(|(n, _)| Query {
            name: perturb(n, &mut rng),
            country: Some("US".into()),
            ..Default::default()
        })
        .collect();
    let t0 = Instant::now();
    let decisions: Vec<Decision> = queries
        .iter()
        .map(|q| matching::decide_among(q, cands, &index.search(&q.name, SHORT_LIST), &cfg))
        .collect();
    let elapsed_ms = t0.elapsed().as_secs_f64() * 1e3;

    let title = |i: usize| cands[i].names.first().cloned().unwrap_or_default();
    let mut o = Outcome {
        correct: 0,
        wrong: Vec::new(),
        ambiguous: Vec::new(),
        unmatched: Vec::new(),
        outside: Vec::new(),
        in_file: 0,
        impostors: Vec::new(),
        elapsed_ms,
    };
    for (((orig, cik), q), d) in companies.iter().zip(&queries).zip(&decisions) {
        let known = ids.contains(cik.as_str());
        let label = format!("{:?} (S&P {orig:?})", q.name);
        match d {
            Decision::Matched(s) if cands[s.index].id == *cik => o.correct += 1,
            Decision::Matched(s) => o
                .wrong
                .push((label.clone(), title(s.index), s.score, known)),
            Decision::Ambiguous(v) if known => o.ambiguous.push((
                label.clone(),
                v.iter()
                    .map(|s| format!("{} {:.3}", title(s.index), s.score))
                    .collect(),
            )),
            Decision::Unmatched(v) if known => o.unmatched.push(match v.first() {
                Some(s) => format!("{label}, best {:?} {:.3}", title(s.index), s.score),
                None => label.clone(),
            }),
            _ => {}
        }
        if !known {
            let how = match d {
                Decision::Matched(s) => {
                    format!("matched {:?} (CIK {})", title(s.index), cands[s.index].id)
                }
                Decision::Ambiguous(v) => format!("ambiguous among {}", v.len()),
                Decision::Unmatched(_) => "unmatched".into(),
            };
            o.outside.push((label, how));
            continue;
        }
        o.in_file += 1;
        // the same query when the registry does not hold the company
        let without: Vec<usize> = index
            .search(&q.name, SHORT_LIST + 1)
            .into_iter()
            .filter(|&i| cands[i].id != *cik)
            .take(SHORT_LIST)
            .collect();
        if let Decision::Matched(s) = matching::decide_among(q, cands, &without, &cfg) {
            o.impostors
                .push((q.name.clone(), format!("{} {:.3}", title(s.index), s.score)));
        }
    }
    o
}

#[test]
fn sp500_names_match_sec_tickers() {
    let cands = sec_candidates();
    let t0 = Instant::now();
    let index = NameIndex::build(&cands);
    let build_ms = t0.elapsed().as_secs_f64() * 1e3;
    let companies = sp500();
    assert_eq!(companies.len(), 503);

    let mut figures = Vec::new();
    for seed in [1u64, 20_240_917, 0xC0FFEE] {
        let o = run(seed, &cands, &index, &companies);
        assert_eq!(
            o.in_file, 495,
            "S&P companies whose CIK is in the ticker file"
        );
        // a wrong match counts against precision even for a company whose CIK is not in the file
        let wrong = o.wrong.len();
        let precision = o.correct as f64 / (o.correct + wrong).max(1) as f64;
        let recall = o.correct as f64 / o.in_file as f64;
        let impostor_rate = o.impostors.len() as f64 / o.in_file as f64;
        println!(
            "registry matching (S&P 500 vs SEC tickers, seed {seed}): precision {precision:.3}, \
             recall {recall:.3}, ambiguous {}, unmatched {}, wrong {wrong} ({} of them for the \
             {} companies whose CIK is not in the file); correct {} of {}",
            o.ambiguous.len(),
            o.unmatched.len(),
            o.wrong.iter().filter(|w| !w.3).count(),
            companies.len() - o.in_file,
            o.correct,
            o.in_file,
        );
        println!(
            "  with each company's own record removed: {} of {} ({:.1} %) confidently matched to \
             another company",
            o.impostors.len(),
            o.in_file,
            100.0 * impostor_rate,
        );
        println!(
            "  {} names indexed in {build_ms:.0} ms, 503 queries (search + decide) in {:.0} ms",
            index.len(),
            o.elapsed_ms
        );
        for (q, got, score, known) in &o.wrong {
            let note = if *known {
                ""
            } else {
                " [true CIK not in the file]"
            };
            println!("  wrong: {q} -> {got:?} {score:.3}{note}");
        }
        for (q, v) in o.ambiguous.iter().take(6) {
            println!("  ambiguous: {q} -> {v:?}");
        }
        for q in &o.unmatched {
            println!("  unmatched: {q}");
        }
        for (q, how) in &o.outside {
            println!("  CIK not in the file: {q}: {how}");
        }
        for (q, got) in o.impostors.iter().take(8) {
            println!("  own record removed: {q:?} -> {got}");
        }
        figures.push((seed, precision, recall, impostor_rate));
    }
    for (seed, precision, recall, impostor_rate) in figures {
        assert!(precision >= 0.98, "seed {seed}: precision {precision:.3}");
        assert!(recall >= 0.95, "seed {seed}: recall {recall:.3}");
        // not an acceptance figure: a guard against loosening the matcher unnoticed (0.05–0.06
        // when written; one-letter neighbours like Intel / Inter & Co make up most of it)
        assert!(
            impostor_rate <= 0.08,
            "seed {seed}: {impostor_rate:.3} of absent companies matched"
        );
    }
}
