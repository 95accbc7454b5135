//! Code tables shipped as data: industry codes of every registry mapped onto one taxonomy
//! (NACE rev. 2 sections), INSEE headcount bands, and the location and legal-form codes the
//! registry parsers translate.
//!
//! The tables live in `enrich/data/*.csv` (each names its source in its header comments) and are
//! compiled in with `include_str!`, parsed once on first use. Lookups never panic: an unknown or
//! malformed code is `None`.
//!
//! - NAF rev. 2 (France) and UK SIC 2007 are NACE rev. 2 refinements, so their first two digits
//!   are the NACE division ([`naf_to_nace`], [`uk_sic_to_nace`]). NAF 2025 codes
//!   (`activite_principale_naf25`, NACE rev. 2.1) are not NACE rev. 2 and are not read here.
//! - US SIC (1987, EDGAR) has its own divisions A–K; each major group gets the closest NACE
//!   section, with a few three- and four-digit exceptions in [`SIC_NACE_EXCEPTIONS`] ([`us_sic`]).

use std::collections::HashMap;
use std::sync::OnceLock;

const NACE_CSV: &str = include_str!("../../data/nace_rev2_sections.csv");
const SIC_CSV: &str = include_str!("../../data/sic_major_groups.csv");
const EDGAR_CSV: &str = include_str!("../../data/edgar_state_country_codes.csv");
const INSEE_COUNTRIES_CSV: &str = include_str!("../../data/insee_cog_countries.csv");
const NATURE_JURIDIQUE_CSV: &str = include_str!("../../data/fr_nature_juridique.csv");

/// US SIC codes whose NACE section differs from their major group's, by code prefix (three or
/// four digits; the longest matching prefix wins). `None`: the code names no industry.
pub const SIC_NACE_EXCEPTIONS: &[(&str, Option<char>)] = &[
    ("074", Some('M')), // veterinary services -> NACE 75
    ("078", Some('N')), // landscape and horticultural services -> NACE 81.30
    ("271", Some('J')), // newspapers: publishing -> NACE 58
    ("272", Some('J')), // periodicals
    ("273", Some('J')), // books
    ("274", Some('J')), // miscellaneous publishing
    ("472", Some('N')), // travel agencies, tour operators -> NACE 79
    ("494", Some('E')), // water supply -> NACE 36
    ("495", Some('E')), // sanitary services (sewerage, refuse) -> NACE 37/38
    ("497", Some('E')), // irrigation systems -> NACE 36
    ("731", Some('M')), // advertising -> NACE 73
    ("737", Some('J')), // computer programming, data processing -> NACE 62/63
    ("751", Some('N')), // automotive rental and leasing -> NACE 77.1
    ("752", Some('H')), // automobile parking -> NACE 52.21
    ("784", Some('N')), // video tape rental -> NACE 77.22
    ("8880", None),     // SEC: American depositary receipts (no industry)
    ("8888", None),     // SEC: foreign governments
];

/// Where an EDGAR state/country code points.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EdgarKind {
    /// A US state or DC (region = the code, country US).
    State,
    /// A Canadian province (country CA).
    Province,
    /// A US territory with its own ISO code (PR, GU, VI, …).
    Territory,
    /// A country (or EDGAR's `X1` United States / `Z4` Canada federal level).
    Country,
}

/// One row of the EDGAR state and country code table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EdgarPlace {
    pub kind: EdgarKind,
    /// ISO 3166-1 alpha-2, when there is one.
    pub iso2: Option<&'static str>,
    pub name: &'static str,
}

struct Tables {
    /// Division (0..=99) -> section.
    division_section: [Option<char>; 100],
    /// Section -> label.
    section_labels: Vec<(char, &'static str)>,
    /// Major group (0..=99) -> (SIC division, NACE section, label).
    sic: [Option<SicGroup>; 100],
    edgar: HashMap<&'static str, EdgarPlace>,
    insee_countries: HashMap<&'static str, &'static str>,
    nature_juridique: HashMap<&'static str, &'static str>,
}

#[derive(Clone, Copy)]
struct SicGroup {
    division: char,
    nace: Option<char>,
    label: &'static str,
}

fn tables() -> &'static Tables {
    static TABLES: OnceLock<Tables> = OnceLock::new();
    TABLES.get_or_init(build_tables)
}

fn build_tables() -> Tables {
    let mut division_section = [None; 100];
    let mut section_labels = Vec::new();
    for f in csv_rows(NACE_CSV) {
        let (Some(sec), Some(label), Some(first), Some(last)) = (
            f.first().and_then(|s| single_upper(s)),
            f.get(1),
            f.get(2).and_then(|s| s.parse::<usize>().ok()),
            f.get(3).and_then(|s| s.parse::<usize>().ok()),
        ) else {
            continue;
        };
        section_labels.push((sec, *label));
        for slot in division_section
            .iter_mut()
            .take(last.min(99) + 1)
            .skip(first)
        {
            *slot = Some(sec);
        }
    }

    let mut sic = [None; 100];
    for f in csv_rows(SIC_CSV) {
        let (Some(group), Some(division), Some(label)) = (
            f.first().and_then(|s| two_digits(s)),
            f.get(1).and_then(|s| single_upper(s)),
            f.get(3),
        ) else {
            continue;
        };
        let nace = f.get(2).and_then(|s| single_upper(s));
        sic[group] = Some(SicGroup {
            division,
            nace,
            label,
        });
    }

    let mut edgar = HashMap::new();
    for f in csv_rows(EDGAR_CSV) {
        let (Some(code), Some(kind), Some(iso2), Some(name)) =
            (f.first(), f.get(1), f.get(2), f.get(3))
        else {
            continue;
        };
        let kind = match *kind {
            "state" => EdgarKind::State,
            "province" => EdgarKind::Province,
            "territory" => EdgarKind::Territory,
            "country" => EdgarKind::Country,
            _ => continue,
        };
        let iso2 = (iso2.len() == 2).then_some(*iso2);
        edgar.insert(*code, EdgarPlace { kind, iso2, name });
    }

    let mut insee_countries = HashMap::new();
    for f in csv_rows(INSEE_COUNTRIES_CSV) {
        if let (Some(code), Some(iso2)) = (f.first(), f.get(1)) {
            if iso2.len() == 2 {
                insee_countries.insert(*code, *iso2);
            }
        }
    }

    let mut nature_juridique = HashMap::new();
    for f in csv_rows(NATURE_JURIDIQUE_CSV) {
        if let (Some(code), Some(label)) = (f.first(), f.get(1)) {
            nature_juridique.insert(*code, *label);
        }
    }

    Tables {
        division_section,
        section_labels,
        sic,
        edgar,
        insee_countries,
        nature_juridique,
    }
}

/// The data rows of one of the shipped CSV files: `#` comment lines, blank lines and the header
/// are skipped; fields may be wrapped in double quotes (to hold commas) but never contain one.
fn csv_rows(text: &'static str) -> impl Iterator<Item = Vec<&'static str>> {
    text.lines()
        .map(|l| l.trim_end_matches('\r'))
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .skip(1)
        .map(csv_fields)
}

fn csv_fields(line: &'static str) -> Vec<&'static str> {
    let mut out = Vec::new();
    let mut rest = line;
    loop {
        if let Some(quoted) = rest.strip_prefix('"') {
            let end = quoted.find('"').unwrap_or(quoted.len());
            out.push(&quoted[..end]);
            rest = quoted.get(end + 1..).unwrap_or("");
            match rest.find(',') {
                Some(i) => rest = &rest[i + 1..],
                None => break,
            }
        } else {
            match rest.find(',') {
                Some(i) => {
                    out.push(rest[..i].trim());
                    rest = &rest[i + 1..];
                }
                None => {
                    out.push(rest.trim());
                    break;
                }
            }
        }
    }
    out
}

fn single_upper(s: &str) -> Option<char> {
    let mut chars = s.chars();
    let c = chars.next()?;
    (chars.next().is_none() && c.is_ascii_uppercase()).then_some(c)
}

fn two_digits(s: &str) -> Option<usize> {
    (s.len() == 2 && s.bytes().all(|b| b.is_ascii_digit()))
        .then(|| s.parse().ok())
        .flatten()
}

// ---------------------------------------------------------------------------------------------
// NACE rev. 2

/// The NACE rev. 2 section of a two-digit division (`"70"` → `'M'`); `None` for divisions that
/// do not exist (`"04"`, `"00"`) or anything that is not two digits.
pub fn nace_section_of_division(div: &str) -> Option<char> {
    two_digits(div.trim()).and_then(|d| tables().division_section[d])
}

/// The English label of a NACE rev. 2 section (`'C'` → `"Manufacturing"`); lower case accepted.
pub fn section_label(section: char) -> Option<&'static str> {
    let s = section.to_ascii_uppercase();
    tables()
        .section_labels
        .iter()
        .find(|(c, _)| *c == s)
        .map(|(_, l)| *l)
}

/// NAF rev. 2 code → (NACE division, section). Accepts `"70.10Z"`, `"7010Z"`, `"70.10"`,
/// `"7010"` (case-insensitive letter); rejects NAF rev. 1 codes (`"51.4A"`: three digits), which
/// INSEE still carries for some old units and whose divisions mean something else.
pub fn naf_to_nace(code: &str) -> Option<(String, char)> {
    let c = code.trim();
    let digits: String = match (c.get(..2), c.get(2..3)) {
        (Some(div), Some(".")) => format!("{div}{}", c.get(3..)?),
        _ => c.to_string(),
    };
    let b = digits.as_bytes();
    let ok = match b.len() {
        4 => b.iter().all(u8::is_ascii_digit),
        5 => b[..4].iter().all(u8::is_ascii_digit) && b[4].is_ascii_alphabetic(),
        _ => false,
    };
    if !ok {
        return None;
    }
    let div = digits.get(..2)?;
    let section = nace_section_of_division(div)?;
    Some((div.to_string(), section))
}

/// Whether a French activity code has the NAF rev. 1 (2003 and earlier) shape `NN.NL`.
pub fn is_naf_rev1(code: &str) -> bool {
    let b = code.trim().as_bytes();
    b.len() == 5
        && b[..2].iter().all(u8::is_ascii_digit)
        && b[2] == b'.'
        && b[3].is_ascii_digit()
        && b[4].is_ascii_alphabetic()
}

/// UK SIC 2007 code (five digits) → (NACE division, section): the first two digits are the NACE
/// division. `"99999"` (dormant company) names no activity and is `None`; so is anything that is
/// not five digits. Note UK `98000` "residents property management" sits in section T, as ONS
/// classifies it.
pub fn uk_sic_to_nace(code: &str) -> Option<(String, char)> {
    let c = code.trim();
    if c.len() != 5 || !c.bytes().all(|b| b.is_ascii_digit()) || c == "99999" {
        return None;
    }
    let div = c.get(..2)?;
    let section = nace_section_of_division(div)?;
    Some((div.to_string(), section))
}

// ---------------------------------------------------------------------------------------------
// US SIC

/// Normalises an EDGAR SIC code to four digits: `"3571"`; a three-digit value is a four-digit
/// code whose leading zero was lost (`"100"` → `"0100"`).
fn sic4(code: &str) -> Option<String> {
    let c = code.trim();
    if !c.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    match c.len() {
        4 => Some(c.to_string()),
        3 => Some(format!("0{c}")),
        _ => None,
    }
}

/// The US SIC division (`'A'`–`'K'`) of a four-digit SIC code (or a two-digit major group).
pub fn sic_division_of(code: &str) -> Option<char> {
    let c = code.trim();
    let group = if c.len() == 2 {
        two_digits(c)?
    } else {
        two_digits(sic4(c)?.get(..2)?)?
    };
    tables().sic[group].map(|g| g.division)
}

/// The title of a SIC major group (`"73"` or any code in it).
pub fn sic_major_group_label(code: &str) -> Option<&'static str> {
    let c = code.trim();
    let group = if c.len() == 2 {
        two_digits(c)?
    } else {
        two_digits(sic4(c)?.get(..2)?)?
    };
    tables().sic[group].map(|g| g.label)
}

/// US SIC code (as EDGAR writes it, `"3571"`) → (SIC division, closest NACE rev. 2 section).
/// `None` for empty or malformed codes, unknown major groups, nonclassifiable establishments
/// (99xx) and SEC's non-industry codes (8880 ADRs, 8888 foreign governments). A two-digit
/// major group is accepted too.
pub fn us_sic(code: &str) -> Option<(char, char)> {
    let c = code.trim();
    let (group, full) = if c.len() == 2 {
        (two_digits(c)?, c.to_string())
    } else {
        let full = sic4(c)?;
        (two_digits(full.get(..2)?)?, full)
    };
    let g = tables().sic[group]?;
    let exception = SIC_NACE_EXCEPTIONS
        .iter()
        .filter(|(prefix, _)| full.starts_with(prefix))
        .max_by_key(|(prefix, _)| prefix.len());
    let nace = match exception {
        Some((_, nace)) => (*nace)?,
        None => g.nace?,
    };
    Some((g.division, nace))
}

// ---------------------------------------------------------------------------------------------
// INSEE headcount bands

/// INSEE `tranche_effectif_salarie` → (min, max) employees; max `None` for the open 10 000+
/// band. `"NN"` (not an employer / unknown), blanks and unknown codes are `None`.
pub fn insee_band(code: &str) -> Option<(u32, Option<u32>)> {
    let band = match code.trim() {
        "00" => (0, Some(0)),
        "01" => (1, Some(2)),
        "02" => (3, Some(5)),
        "03" => (6, Some(9)),
        "11" => (10, Some(19)),
        "12" => (20, Some(49)),
        "21" => (50, Some(99)),
        "22" => (100, Some(199)),
        "31" => (200, Some(249)),
        "32" => (250, Some(499)),
        "41" => (500, Some(999)),
        "42" => (1000, Some(1999)),
        "51" => (2000, Some(4999)),
        "52" => (5000, Some(9999)),
        "53" => (10000, None),
        _ => return None,
    };
    Some(band)
}

// ---------------------------------------------------------------------------------------------
// Locations and legal forms

/// An EDGAR state or country code (`"CA"`, `"2M"`, `"A6"`, `"E9"`); upper-cased before lookup.
pub fn edgar_place(code: &str) -> Option<EdgarPlace> {
    let c = code.trim().to_ascii_uppercase();
    tables().edgar.get(c.as_str()).copied()
}

/// INSEE country code (`"99109"`) → ISO 3166-1 alpha-2 (`"DE"`); `"99100"` is France.
pub fn insee_country_iso2(code: &str) -> Option<&'static str> {
    match code.trim() {
        "99100" => Some("FR"),
        c => tables().insee_countries.get(c).copied(),
    }
}

/// The French label of an INSEE legal form (`nature_juridique`, `"5710"` → `"SAS, société par
/// actions simplifiée"`), for the common forms.
pub fn nature_juridique_label(code: &str) -> Option<&'static str> {
    tables().nature_juridique.get(code.trim()).copied()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nace_table_is_complete() {
        let t = tables();
        assert_eq!(t.section_labels.len(), 21);
        let letters: String = t.section_labels.iter().map(|(c, _)| *c).collect();
        assert_eq!(letters, "ABCDEFGHIJKLMNOPQRSTU");
        // 88 divisions exist in NACE rev. 2.
        assert_eq!(t.division_section.iter().flatten().count(), 88);
        assert_eq!(
            section_label('A'),
            Some("Agriculture, forestry and fishing")
        );
        assert_eq!(section_label('c'), Some("Manufacturing"));
        assert_eq!(
            section_label('U'),
            Some("Activities of extraterritorial organisations and bodies")
        );
        assert_eq!(section_label('V'), None);
        assert_eq!(section_label('é'), None);
    }

    #[test]
    fn divisions_to_sections() {
        for (d, s) in [
            ("01", 'A'),
            ("03", 'A'),
            ("05", 'B'),
            ("33", 'C'),
            ("35", 'D'),
            ("36", 'E'),
            ("47", 'G'),
            ("53", 'H'),
            ("62", 'J'),
            ("66", 'K'),
            ("68", 'L'),
            ("70", 'M'),
            ("82", 'N'),
            ("84", 'O'),
            ("85", 'P'),
            ("88", 'Q'),
            ("93", 'R'),
            ("96", 'S'),
            ("98", 'T'),
            ("99", 'U'),
        ] {
            assert_eq!(nace_section_of_division(d), Some(s), "{d}");
        }
        for d in [
            "00", "04", "34", "40", "44", "48", "54", "57", "67", "76", "83", "89", "7", "700", "",
            "ab", "7a",
        ] {
            assert_eq!(nace_section_of_division(d), None, "{d:?}");
        }
    }

    #[test]
    fn naf_codes() {
        assert_eq!(naf_to_nace("70.10Z"), Some(("70".into(), 'M')));
        assert_eq!(naf_to_nace("7010Z"), Some(("70".into(), 'M')));
        assert_eq!(naf_to_nace("70.10"), Some(("70".into(), 'M')));
        assert_eq!(naf_to_nace(" 62.02a "), Some(("62".into(), 'J')));
        assert_eq!(naf_to_nace("01.11Z"), Some(("01".into(), 'A')));
        assert_eq!(naf_to_nace("84.11Z"), Some(("84".into(), 'O')));
        // NAF rev. 1: division 51 was wholesale then, air transport in rev. 2.
        assert_eq!(naf_to_nace("51.4A"), None);
        assert!(is_naf_rev1("51.4A"));
        assert!(!is_naf_rev1("70.10Z"));
        for bad in [
            "", "NN", "70", "70.1", "70.10ZZ", "7O.10Z", "04.10Z", "70-10Z", "é0.10Z", "70.1é",
        ] {
            assert_eq!(naf_to_nace(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn uk_sic_codes() {
        assert_eq!(uk_sic_to_nace("62012"), Some(("62".into(), 'J')));
        assert_eq!(uk_sic_to_nace("64191"), Some(("64".into(), 'K')));
        assert_eq!(uk_sic_to_nace("01110"), Some(("01".into(), 'A')));
        assert_eq!(uk_sic_to_nace("98000"), Some(("98".into(), 'T')));
        assert_eq!(uk_sic_to_nace("74990"), Some(("74".into(), 'M')));
        for bad in [
            "99999",
            "",
            "6201",
            "620120",
            "6201A",
            "04100",
            "None Supplied",
        ] {
            assert_eq!(uk_sic_to_nace(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn sic_table_is_complete() {
        let t = tables();
        assert_eq!(t.sic.iter().flatten().count(), 83);
        for (range, div) in [
            (1..=9, 'A'),
            (10..=14, 'B'),
            (15..=17, 'C'),
            (20..=39, 'D'),
            (40..=49, 'E'),
            (50..=51, 'F'),
            (52..=59, 'G'),
            (60..=67, 'H'),
            (70..=89, 'I'),
            (91..=97, 'J'),
        ] {
            for g in range {
                if let Some(x) = t.sic[g] {
                    assert_eq!(x.division, div, "major group {g}");
                    assert!(x.nace.is_some(), "major group {g}");
                }
            }
        }
        assert_eq!(sic_division_of("99"), Some('K'));
        assert_eq!(sic_major_group_label("7372"), Some("Business Services"));
    }

    #[test]
    fn us_sic_codes() {
        for (code, want) in [
            ("3571", ('D', 'C')), // Apple: electronic computers
            ("7372", ('I', 'J')), // Microsoft: prepackaged software (737x)
            ("7374", ('I', 'J')),
            ("7380", ('I', 'N')), // misc business services
            ("7311", ('I', 'M')), // advertising agencies
            ("3674", ('D', 'C')),
            ("2834", ('D', 'C')),
            ("2711", ('D', 'J')), // newspapers
            ("2741", ('D', 'J')),
            ("2750", ('D', 'C')), // commercial printing
            ("6111", ('H', 'K')),
            ("6189", ('H', 'K')),
            ("6770", ('H', 'K')), // blank checks
            ("6798", ('H', 'K')),
            ("6500", ('H', 'L')),
            ("4700", ('E', 'H')),
            ("4724", ('E', 'N')),
            ("4512", ('E', 'H')),
            ("4213", ('E', 'H')),
            ("4813", ('E', 'J')),
            ("4911", ('E', 'D')),
            ("4961", ('E', 'D')), // steam and air-conditioning supply
            ("4941", ('E', 'E')),
            ("4953", ('E', 'E')),
            ("4971", ('E', 'E')),
            ("5812", ('G', 'I')),
            ("5961", ('G', 'G')),
            ("7011", ('I', 'I')),
            ("8000", ('I', 'Q')),
            ("8200", ('I', 'P')),
            ("8711", ('I', 'M')),
            ("7510", ('I', 'N')),
            ("7520", ('I', 'H')),
            ("1311", ('B', 'B')),
            ("1531", ('C', 'F')),
            ("100", ('A', 'A')), // leading zero lost
            ("0100", ('A', 'A')),
            ("0741", ('A', 'M')),
            ("9721", ('J', 'O')),
            ("73", ('I', 'N')),
        ] {
            assert_eq!(us_sic(code), Some(want), "{code}");
        }
        for bad in [
            "", "8880", "8888", "9995", "9999", "0300", "abcd", "12345", "1", "6600",
        ] {
            assert_eq!(us_sic(bad), None, "{bad:?}");
        }
        assert_eq!(sic_division_of("8880"), Some('I'));
        assert_eq!(sic_division_of(""), None);
    }

    #[test]
    fn headcount_bands() {
        assert_eq!(insee_band("00"), Some((0, Some(0))));
        assert_eq!(insee_band("01"), Some((1, Some(2))));
        assert_eq!(insee_band("12"), Some((20, Some(49))));
        assert_eq!(insee_band("31"), Some((200, Some(249))));
        assert_eq!(insee_band("42"), Some((1000, Some(1999))));
        assert_eq!(insee_band("53"), Some((10000, None)));
        for bad in ["NN", "", "13", "5", "530", "null"] {
            assert_eq!(insee_band(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn locations_and_forms() {
        let ca = edgar_place("CA").unwrap();
        assert_eq!(
            (ca.kind, ca.iso2, ca.name),
            (EdgarKind::State, Some("US"), "California")
        );
        assert_eq!(edgar_place("2m").map(|p| p.iso2), Some(Some("DE")));
        assert_eq!(edgar_place("X0").and_then(|p| p.iso2), Some("GB"));
        assert_eq!(edgar_place("L2").and_then(|p| p.iso2), Some("IE"));
        assert_eq!(edgar_place("E9").and_then(|p| p.iso2), Some("KY"));
        assert_eq!(edgar_place("M0").and_then(|p| p.iso2), Some("JP"));
        assert_eq!(
            edgar_place("A6").map(|p| (p.kind, p.iso2)),
            Some((EdgarKind::Province, Some("CA")))
        );
        assert_eq!(
            edgar_place("PR").map(|p| (p.kind, p.iso2)),
            Some((EdgarKind::Territory, Some("PR")))
        );
        assert_eq!(edgar_place("XX").map(|p| p.iso2), Some(None));
        assert_eq!(edgar_place("P8").map(|p| p.iso2), Some(None));
        assert_eq!(edgar_place(""), None);
        assert_eq!(edgar_place("QQ"), None);
        assert!(tables().edgar.len() > 300);

        assert_eq!(insee_country_iso2("99109"), Some("DE"));
        assert_eq!(insee_country_iso2("99140"), Some("CH"));
        assert_eq!(insee_country_iso2("99100"), Some("FR"));
        assert_eq!(insee_country_iso2("99425"), None);
        assert_eq!(insee_country_iso2(""), None);

        assert_eq!(
            nature_juridique_label("5710"),
            Some("SAS, société par actions simplifiée")
        );
        assert_eq!(
            nature_juridique_label("1000"),
            Some("Entrepreneur individuel")
        );
        assert_eq!(
            nature_juridique_label("5599"),
            Some("SA à conseil d'administration (s.a.i.)")
        );
        assert_eq!(nature_juridique_label("0000"), None);
    }

    #[test]
    fn csv_fields_split_on_commas_outside_quotes() {
        assert_eq!(csv_fields("a,\"b, c\",d"), ["a", "b, c", "d"]);
        assert_eq!(csv_fields("a,,"), ["a", "", ""]);
        assert_eq!(csv_fields("\"unterminated"), ["unterminated"]);
        assert_eq!(csv_fields("\"q\""), ["q"]);
    }
}
