//! France: the API Recherche d'entreprises (<https://recherche-entreprises.api.gouv.fr>, DINUM),
//! a search over SIRENE and RNE data. One `/search` call by SIREN, SIRET or name returns
//! legal units with their head office (`siege`), so one request gives the whole record.
//!
//! Mapping notes (see [`parse_result`]):
//! - `legal_name` is `nom_raison_sociale` (the registered name); `nom_complet` is a display
//!   string, the name followed by the acronym and trade name in parentheses
//!   (`"DIRECTION INTERMINISTERIELLE DU NUMERIQUE (DINUM)"`), used only when there is no
//!   `nom_raison_sociale` (entrepreneurs individuels), with those parentheses removed. Acronym
//!   (`sigle`), trade name (`siege.nom_commercial`) and signs (`siege.liste_enseignes`) go to
//!   `other_names`.
//! - Values INSEE withholds (`"[NON-DIFFUSIBLE]"`) are treated as absent, names included.
//! - `activite_principale` is NAF rev. 2 for almost every unit; some old units still carry a
//!   NAF rev. 1 code (`"51.4A"`), kept as `industry_code` with scheme `"NAF rev. 1"` and no NACE
//!   mapping (the API's own `section_activite_principale` is wrong for those).
//! - `region` is the region's name from its INSEE code (`"11"` → `"Île-de-France"`).

use serde_json::Value;

use super::codes;
use super::record::{
    at, iso_date, number_of, parse_json, percent_encode, raw_json, text, texts, trim_base, u32_of,
    Firmographics, Registry, RegistryError, Status,
};

/// The public endpoint.
pub const DEFAULT_BASE: &str = "https://recherche-entreprises.api.gouv.fr";

/// The API's largest page.
pub const MAX_PER_PAGE: u32 = 25;

/// `{base}/search?q=…&page=…&per_page=…&{filters}`, every value percent-encoded. `page` is at
/// least 1 and `per_page` within 1..=25, the API's limits. Filters are the API's own parameters,
/// e.g. `("code_postal", "35000")`, `("etat_administratif", "A")`.
pub fn search_url(
    base: &str,
    q: &str,
    page: u32,
    per_page: u32,
    filters: &[(&str, &str)],
) -> String {
    let mut url = format!(
        "{}/search?q={}&page={}&per_page={}",
        trim_base(base),
        percent_encode(q.trim()),
        page.max(1),
        per_page.clamp(1, MAX_PER_PAGE)
    );
    for (k, v) in filters {
        url.push('&');
        url.push_str(&percent_encode(k));
        url.push('=');
        url.push_str(&percent_encode(v));
    }
    url
}

/// One page of search results.
#[derive(Debug, Clone, PartialEq)]
pub struct SearchPage {
    pub results: Vec<Firmographics>,
    pub total_results: u64,
    pub page: u32,
    pub total_pages: u32,
    /// Results left out because they were not an object with a 9-digit `siren`.
    pub skipped: u32,
}

/// Parses a raw `/search` body: `{"results":[…],"total_results":…,"page":…,"per_page":…,
/// "total_pages":…}`. Errors only when the body is not JSON or has no `results` array; a result
/// without a usable SIREN is skipped and counted.
pub fn parse_search(body: &[u8]) -> Result<SearchPage, RegistryError> {
    let v = parse_json(Registry::Sirene, body)?;
    let Some(items) = at(&v, &["results"]).and_then(Value::as_array) else {
        return Err(RegistryError::shape(
            Registry::Sirene,
            "no `results` array in the search response",
        ));
    };
    let mut results = Vec::with_capacity(items.len());
    let mut skipped = 0u32;
    for item in items {
        match parse_result(item) {
            Some(r) => results.push(r),
            None => skipped = skipped.saturating_add(1),
        }
    }
    let count = |key: &str| at(&v, &[key]).and_then(Value::as_u64);
    Ok(SearchPage {
        total_results: count("total_results").unwrap_or(results.len() as u64),
        page: count("page")
            .and_then(|p| u32::try_from(p).ok())
            .unwrap_or(1),
        total_pages: count("total_pages")
            .and_then(|p| u32::try_from(p).ok())
            .unwrap_or(0),
        results,
        skipped,
    })
}

/// Maps one element of `results` to a record; `None` when it is not an object or has no
/// 9-digit `siren`.
pub fn parse_result(r: &Value) -> Option<Firmographics> {
    r.as_object()?;
    let siren =
        text(r, &["siren"]).filter(|s| s.len() == 9 && s.bytes().all(|b| b.is_ascii_digit()))?;
    let siege = at(r, &["siege"]).filter(|s| s.as_object().is_some_and(|o| !o.is_empty()));
    let sg = |key: &str| siege.and_then(|s| text(s, &[key]));

    let sigle = text(r, &["sigle"]);
    let nom_commercial = sg("nom_commercial");
    let enseignes = siege
        .map(|s| texts(s, &["liste_enseignes"]))
        .unwrap_or_default();
    let legal_name = text(r, &["nom_raison_sociale"])
        .or_else(|| {
            text(r, &["nom_complet"]).map(|full| {
                let mut extras: Vec<&str> = Vec::new();
                extras.extend(sigle.as_deref());
                extras.extend(nom_commercial.as_deref());
                extras.extend(enseignes.iter().map(String::as_str));
                strip_display_suffixes(&full, &extras)
            })
        })
        .unwrap_or_default();

    let mut f = Firmographics::new(Registry::Sirene, siren, legal_name, raw_json(r));
    for name in sigle
        .iter()
        .chain(nom_commercial.iter())
        .chain(enseignes.iter())
    {
        f.push_other_name(name);
    }

    f.status = match text(r, &["etat_administratif"]).as_deref() {
        Some("A") => Some(Status::Active),
        Some("C") => Some(Status::Ceased),
        _ => None,
    };

    if let Some(code) = text(r, &["activite_principale"]).or_else(|| sg("activite_principale")) {
        if let Some((division, section)) = codes::naf_to_nace(&code) {
            f.industry_scheme = Some("NAF rev. 2");
            f.nace_division = Some(division);
            f.set_nace_section(Some(section));
        } else if codes::is_naf_rev1(&code) {
            f.industry_scheme = Some("NAF rev. 1");
        }
        f.industry_code = Some(code);
    }

    if let Some(band) = text(r, &["tranche_effectif_salarie"]) {
        if let Some((min, max)) = codes::insee_band(&band) {
            f.headcount_min = Some(min);
            f.headcount_max = max;
        }
        f.headcount_band = Some(band);
    }

    f.created = text(r, &["date_creation"]).and_then(|d| iso_date(&d));
    f.ceased = text(r, &["date_fermeture"]).and_then(|d| iso_date(&d));

    if let Some(nj) = text(r, &["nature_juridique"]) {
        f.legal_form_label = codes::nature_juridique_label(&nj).map(str::to_string);
        f.legal_form = Some(nj);
    }
    f.category = text(r, &["categorie_entreprise"]);

    if siege.is_some() {
        f.address = sg("adresse");
        f.postcode = sg("code_postal");
        f.city = sg("libelle_commune").or_else(|| sg("libelle_commune_etranger"));
        f.region = sg("region").map(|code| region_label(&code).map(str::to_string).unwrap_or(code));
        f.country = match sg("code_pays_etranger") {
            Some(code) => codes::insee_country_iso2(&code).map(str::to_string),
            None => Some("FR".to_string()),
        };
        let (lat, lon) = coordinates(siege);
        f.latitude = lat;
        f.longitude = lon;
        if let Some(siret) =
            sg("siret").filter(|s| s.len() == 14 && s.bytes().all(|b| b.is_ascii_digit()))
        {
            f.push_linked_id("siret", &siret);
        }
    }

    f.establishments = at(r, &["nombre_etablissements_ouverts"]).and_then(u32_of);

    if let Some((year, ca, net)) = latest_finances(r) {
        f.financial_year = Some(year);
        f.revenue = ca;
        f.net_income = net;
    }

    for vat in texts(r, &["tva"]) {
        f.push_linked_id("vat", &vat);
    }
    Some(f)
}

/// Removes trailing ` (X)` groups of a `nom_complet` when X is one of the record's other names.
fn strip_display_suffixes(full: &str, extras: &[&str]) -> String {
    let mut s = full.trim();
    while let Some(inner) = s.strip_suffix(')') {
        let Some(open) = inner.rfind(" (") else {
            break;
        };
        let group = &inner[open + 2..];
        if !extras.iter().any(|e| e.trim() == group.trim()) {
            break;
        }
        s = inner[..open].trim_end();
    }
    s.to_string()
}

/// Head-office latitude and longitude: `latitude`/`longitude` strings, else `coordonnees`
/// (`"lat,lon"`); values out of range or unparsable are `None`.
fn coordinates(siege: Option<&Value>) -> (Option<f64>, Option<f64>) {
    let Some(s) = siege else {
        return (None, None);
    };
    let valid = |lat: Option<f64>, lon: Option<f64>| match (lat, lon) {
        (Some(a), Some(b))
            if a.is_finite()
                && b.is_finite()
                && (-90.0..=90.0).contains(&a)
                && (-180.0..=180.0).contains(&b) =>
        {
            Some((a, b))
        }
        _ => None,
    };
    let from_fields = valid(
        at(s, &["latitude"]).and_then(number_of),
        at(s, &["longitude"]).and_then(number_of),
    );
    let from_pair = || {
        let pair = text(s, &["coordonnees"])?;
        let (a, b) = pair.split_once(',')?;
        valid(a.trim().parse().ok(), b.trim().parse().ok())
    };
    match from_fields.or_else(from_pair) {
        Some((a, b)) => (Some(a), Some(b)),
        None => (None, None),
    }
}

/// The latest year of `finances` (`{"2024": {"ca": …, "resultat_net": …}}`) with at least one
/// value: (year, revenue, net income).
fn latest_finances(r: &Value) -> Option<(i32, Option<f64>, Option<f64>)> {
    at(r, &["finances"])?
        .as_object()?
        .iter()
        .filter_map(|(year, v)| {
            let year: i32 = year.trim().parse().ok()?;
            let ca = at(v, &["ca"]).and_then(number_of);
            let net = at(v, &["resultat_net"]).and_then(number_of);
            (ca.is_some() || net.is_some()).then_some((year, ca, net))
        })
        .max_by_key(|(year, _, _)| *year)
}

/// The INSEE region code of the department a commune is in (`"35238"` → `"53"`): the first two
/// characters of the commune code (`2A`/`2B` for Corsica), three overseas (`971`…`976`).
pub fn region_of_commune(commune: &str) -> Option<&'static str> {
    let c = commune.trim();
    let dept = if c.starts_with("97") {
        c.get(..3)?
    } else {
        c.get(..2)?
    };
    Some(match dept {
        "01" | "03" | "07" | "15" | "26" | "38" | "42" | "43" | "63" | "69" | "73" | "74" => "84",
        "21" | "25" | "39" | "58" | "70" | "71" | "89" | "90" => "27",
        "22" | "29" | "35" | "56" => "53",
        "18" | "28" | "36" | "37" | "41" | "45" => "24",
        "2A" | "2B" | "20" => "94",
        "08" | "10" | "51" | "52" | "54" | "55" | "57" | "67" | "68" | "88" => "44",
        "02" | "59" | "60" | "62" | "80" => "32",
        "75" | "77" | "78" | "91" | "92" | "93" | "94" | "95" => "11",
        "14" | "27" | "50" | "61" | "76" => "28",
        "16" | "17" | "19" | "23" | "24" | "33" | "40" | "47" | "64" | "79" | "86" | "87" => "75",
        "09" | "11" | "12" | "30" | "31" | "32" | "34" | "46" | "48" | "65" | "66" | "81"
        | "82" => "76",
        "44" | "49" | "53" | "72" | "85" => "52",
        "04" | "05" | "06" | "13" | "83" | "84" => "93",
        "971" => "01",
        "972" => "02",
        "973" => "03",
        "974" => "04",
        "976" => "06",
        _ => return None,
    })
}

/// The name of a French region from its INSEE code (2016 regions and overseas departments).
pub fn region_label(code: &str) -> Option<&'static str> {
    Some(match code.trim() {
        "01" => "Guadeloupe",
        "02" => "Martinique",
        "03" => "Guyane",
        "04" => "La Réunion",
        "06" => "Mayotte",
        "11" => "Île-de-France",
        "24" => "Centre-Val de Loire",
        "27" => "Bourgogne-Franche-Comté",
        "28" => "Normandie",
        "32" => "Hauts-de-France",
        "44" => "Grand Est",
        "52" => "Pays de la Loire",
        "53" => "Bretagne",
        "75" => "Nouvelle-Aquitaine",
        "76" => "Occitanie",
        "84" => "Auvergne-Rhône-Alpes",
        "93" => "Provence-Alpes-Côte d'Azur",
        "94" => "Corse",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::{Path, PathBuf};

    const FIXTURES: &str = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../tests/fixtures/registries/fr"
    );
    const SHARED: &str = "/work/shared/data/registries/fr-recherche-entreprises";

    /// Reads a recorded response (`{"searchTerms":…, "result": {raw body}}`) and returns the raw
    /// API body inside it.
    fn unwrap_recorded(path: &Path) -> Vec<u8> {
        let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let v: Value = serde_json::from_slice(&bytes).expect("fixture is JSON");
        serde_json::to_vec(&v["result"]).expect("re-serialise")
    }

    fn fixture(name: &str) -> SearchPage {
        let body = unwrap_recorded(&Path::new(FIXTURES).join(name));
        parse_search(&body).expect("parses")
    }

    #[test]
    fn urls() {
        assert_eq!(
            search_url(DEFAULT_BASE, "la poste", 1, 10, &[]),
            "https://recherche-entreprises.api.gouv.fr/search?q=la%20poste&page=1&per_page=10"
        );
        assert_eq!(
            search_url("http://localhost:8080/", " L'Épicerie & Co ", 0, 100, &[("code_postal", "35000"), ("etat_administratif", "A")]),
            "http://localhost:8080/search?q=L%27%C3%89picerie%20%26%20Co&page=1&per_page=25&code_postal=35000&etat_administratif=A"
        );
    }

    #[test]
    fn danone() {
        let page = fixture("search-552032534.json");
        assert_eq!(
            (
                page.total_results,
                page.page,
                page.total_pages,
                page.skipped
            ),
            (1, 1, 1, 0)
        );
        let d = &page.results[0];
        assert_eq!(d.registry, Registry::Sirene);
        assert_eq!(d.registry_id, "552032534");
        assert_eq!(d.legal_name, "DANONE");
        assert!(d.other_names.is_empty());
        assert_eq!(d.status, Some(Status::Active));
        assert_eq!(d.industry_scheme, Some("NAF rev. 2"));
        assert_eq!(d.industry_code.as_deref(), Some("70.10Z"));
        assert_eq!(d.nace_section, Some('M'));
        assert_eq!(d.nace_division.as_deref(), Some("70"));
        assert_eq!(
            d.sector,
            Some("Professional, scientific and technical activities")
        );
        assert_eq!(d.sic_division, None);
        assert_eq!(d.headcount_band.as_deref(), Some("42"));
        assert_eq!((d.headcount_min, d.headcount_max), (Some(1000), Some(1999)));
        assert_eq!(d.created.as_deref(), Some("1955-01-01"));
        assert_eq!(d.ceased, None);
        assert_eq!(d.legal_form.as_deref(), Some("5599"));
        assert_eq!(
            d.legal_form_label.as_deref(),
            Some("SA à conseil d'administration (s.a.i.)")
        );
        assert_eq!(d.category.as_deref(), Some("GE"));
        assert_eq!(
            d.address.as_deref(),
            Some("59-61 RUE LA FAYETTE 75009 PARIS")
        );
        assert_eq!(d.postcode.as_deref(), Some("75009"));
        assert_eq!(d.city.as_deref(), Some("PARIS"));
        assert_eq!(d.region.as_deref(), Some("Île-de-France"));
        assert_eq!(d.country.as_deref(), Some("FR"));
        assert_eq!(d.latitude, Some(48.876352027085));
        assert_eq!(d.longitude, Some(2.34353622272517));
        assert_eq!(d.establishments, Some(3));
        assert_eq!(d.financial_year, Some(2024));
        assert_eq!(d.revenue, Some(27_376_000_000.0));
        assert_eq!(d.net_income, Some(0.0));
        assert_eq!(
            d.linked_ids,
            [
                ("siret".to_string(), "55203253400703".to_string()),
                ("vat".to_string(), "FR27552032534".to_string())
            ]
        );
        let raw: Value = serde_json::from_str(&d.raw).unwrap();
        assert_eq!(raw["siren"], "552032534");
        assert_eq!(raw["finances"]["2024"]["ca"], 27376000000u64);
    }

    #[test]
    fn la_poste() {
        let page = fixture("search-356000000.json");
        let p = &page.results[0];
        assert_eq!(p.legal_name, "LA POSTE");
        assert_eq!(p.industry_code.as_deref(), Some("53.10Z"));
        assert_eq!(p.nace_section, Some('H'));
        assert_eq!(p.legal_form.as_deref(), Some("5510"));
        assert_eq!(p.category.as_deref(), Some("GE"));
        assert_eq!((p.headcount_min, p.headcount_max), (Some(10000), None));
        assert_eq!(p.financial_year, Some(2024));
        assert_eq!(p.revenue, Some(34_569_000_000.0));
        assert_eq!(p.net_income, Some(1_722_000_000.0));
    }

    #[test]
    fn public_body_with_acronym_and_no_finances() {
        let page = fixture("search-130025265.json");
        let r = &page.results[0];
        assert_eq!(r.legal_name, "DIRECTION INTERMINISTERIELLE DU NUMERIQUE");
        assert_eq!(r.other_names, ["DINUM"]);
        assert_eq!(r.legal_form.as_deref(), Some("7120"));
        assert_eq!(r.nace_section, Some('O'));
        // INSEE gives the ministry department a size category too.
        assert_eq!(r.category.as_deref(), Some("ETI"));
        assert_eq!(
            (r.revenue, r.net_income, r.financial_year),
            (None, None, None)
        );
    }

    #[test]
    fn redacted_entrepreneur() {
        let page = fixture("search-300025764.json");
        let r = &page.results[0];
        assert_eq!(r.registry_id, "300025764");
        // Every name is "[NON-DIFFUSIBLE]": withheld, so empty.
        assert_eq!(r.legal_name, "");
        assert!(r.other_names.is_empty());
        assert_eq!(r.legal_form.as_deref(), Some("1000"));
        assert_eq!(
            r.legal_form_label.as_deref(),
            Some("Entrepreneur individuel")
        );
        assert_eq!(r.headcount_band.as_deref(), Some("NN"));
        assert_eq!((r.headcount_min, r.headcount_max), (None, None));
        assert_eq!((r.address.as_deref(), r.postcode.as_deref()), (None, None));
        assert_eq!(r.city.as_deref(), Some("RENNES"));
        assert_eq!((r.latitude, r.longitude), (None, None));
        assert_eq!(r.nace_section, Some('L'));
        assert_eq!(
            r.linked_ids,
            [("siret".to_string(), "30002576400048".to_string())]
        );
    }

    #[test]
    fn entrepreneur_without_raison_sociale_uses_nom_complet() {
        let r = &fixture("search-883010316.json").results[0];
        assert_eq!(r.legal_name, "RAPHAEL DUBIGNY");
        assert_eq!(r.legal_form.as_deref(), Some("1000"));
    }

    #[test]
    fn invalid_identifiers() {
        let empty = fixture("search-12345678900003.json");
        assert_eq!(
            (empty.results.len(), empty.total_results, empty.total_pages),
            (0, 0, 0)
        );
        // The API answers the (Luhn-invalid) SIREN 123456789 with a unit that has nothing but its
        // number: kept, with every field empty.
        let ghost = fixture("search-123456789.json");
        assert_eq!(ghost.results.len(), 1);
        let g = &ghost.results[0];
        assert_eq!(
            (g.registry_id.as_str(), g.legal_name.as_str()),
            ("123456789", "")
        );
        assert_eq!(
            (g.status, g.created.as_deref(), g.country.as_deref()),
            (None, None, None)
        );
        assert!(g.linked_ids.is_empty());
    }

    #[test]
    fn foreign_head_offices_and_display_names() {
        let page = fixture("search-ag-cp_dep-35000-cp_dep_type-cp.json");
        assert_eq!(page.results.len(), 10);
        let by_siren = |s: &str| page.results.iter().find(|r| r.registry_id == s).unwrap();
        let de = by_siren("435246145");
        assert_eq!(de.legal_name, "P&T TECHNOLOGY AG");
        assert_eq!(de.country.as_deref(), Some("DE"));
        assert_eq!(de.city.as_deref(), Some("AN DER ALSTER 3"));
        assert_eq!((de.latitude, de.longitude), (None, None));
        assert_eq!(by_siren("389600982").country.as_deref(), Some("CH"));
        // nom_complet "DERBAS AG (L'EPICERIE D'ALPHONSE)": the trade name is an other name.
        let derbas = page
            .results
            .iter()
            .find(|r| r.legal_name == "DERBAS AG")
            .unwrap();
        assert_eq!(derbas.other_names, ["L'EPICERIE D'ALPHONSE"]);
    }

    #[test]
    fn legacy_naf_rev1_code() {
        let page = fixture("search-Ganymede.json");
        let g = page
            .results
            .iter()
            .find(|r| r.registry_id == "449544444")
            .unwrap();
        assert_eq!(g.industry_code.as_deref(), Some("51.4A"));
        assert_eq!(g.industry_scheme, Some("NAF rev. 1"));
        assert_eq!(
            (g.nace_section, g.nace_division.as_deref(), g.sector),
            (None, None, None)
        );
        assert_eq!(g.establishments, Some(0));
        let shop = page
            .results
            .iter()
            .find(|r| r.registry_id == "981195464")
            .unwrap();
        assert_eq!(shop.legal_name, "GANYMEDE");
        assert_eq!(shop.other_names, ["UNE POIGNEE DE FRIANDISES"]);
        let first = page
            .results
            .iter()
            .find(|r| r.registry_id == "817883150")
            .unwrap();
        assert_eq!(
            (first.financial_year, first.revenue, first.net_income),
            (Some(2018), Some(106650.0), Some(49557.0))
        );
    }

    #[test]
    fn odd_inputs_do_not_panic() {
        assert!(matches!(parse_search(b""), Err(RegistryError::Json { .. })));
        assert!(matches!(
            parse_search(b"[]"),
            Err(RegistryError::Shape { .. })
        ));
        assert!(matches!(
            parse_search(br#"{"results": {}}"#),
            Err(RegistryError::Shape { .. })
        ));
        let page = parse_search(
            br#"{"results":[1, null, {"siren": 552032534}, {"siren":"12345"},
                {"siren":"552032534","nom_complet":"X (Y)","sigle":"Y","siege":"oops",
                 "finances":{"2023":{"ca":1,"resultat_net":null},"2024":{"ca":null,"resultat_net":null},"abc":{"ca":5}},
                 "tranche_effectif_salarie": 12, "nombre_etablissements_ouverts": -3, "tva": "FR1"},
                {"siren":"552032535","siege":{"latitude":"91","longitude":"2","coordonnees":"48.8,2.3"}},
                {"siren":"552032536","siege":{"latitude":"NaN","longitude":"inf"}}],
              "total_results": -1, "page": "2"}"#,
        )
        .unwrap();
        // A numeric siren is written out as digits and kept; the others are skipped.
        assert_eq!(page.skipped, 3);
        assert_eq!(page.results.len(), 4);
        assert_eq!((page.total_results, page.page, page.total_pages), (4, 1, 0));
        let x = &page.results[1];
        assert_eq!(x.legal_name, "X");
        assert_eq!(x.other_names, ["Y"]);
        assert_eq!(
            (x.financial_year, x.revenue, x.net_income),
            (Some(2023), Some(1.0), None)
        );
        assert_eq!(x.headcount_band.as_deref(), Some("12"));
        assert_eq!((x.headcount_min, x.headcount_max), (Some(20), Some(49)));
        assert_eq!(x.establishments, None);
        assert!(x.linked_ids.is_empty());
        assert_eq!(x.country, None);
        // Latitude 91 is out of range: the `coordonnees` pair is used instead.
        assert_eq!(
            (page.results[2].latitude, page.results[2].longitude),
            (Some(48.8), Some(2.3))
        );
        assert_eq!(
            (page.results[3].latitude, page.results[3].longitude),
            (None, None)
        );
    }

    #[test]
    fn display_suffixes() {
        assert_eq!(strip_display_suffixes("AGA (AGA) (AGA)", &["AGA"]), "AGA");
        assert_eq!(
            strip_display_suffixes("JEAN DUPONT (BOULANGERIE)", &["BOULANGERIE"]),
            "JEAN DUPONT"
        );
        assert_eq!(
            strip_display_suffixes("SOCIETE (PARIS)", &[]),
            "SOCIETE (PARIS)"
        );
        assert_eq!(strip_display_suffixes(")", &[""]), ")");
        assert_eq!(strip_display_suffixes("A (X)", &["X"]), "A");
        assert_eq!(strip_display_suffixes(" (X)", &["X"]), "(X)");
    }

    /// Every raw `/search` response recorded in the shared data folder (when present): 98
    /// records in all, each with a 9-digit SIREN; all but two have a legal name (the redacted
    /// entrepreneur 300025764 and the ghost unit 123456789).
    #[test]
    fn every_shared_recorded_response_parses() {
        let root = Path::new(SHARED);
        if !root.is_dir() {
            eprintln!("{SHARED} absent: skipped");
            return;
        }
        let mut files: Vec<PathBuf> = Vec::new();
        for (dir, only_search) in [("e2e-fixtures", false), ("unit-test-fixtures", true)] {
            let Ok(entries) = std::fs::read_dir(root.join(dir)) else {
                continue;
            };
            for e in entries.flatten() {
                let p = e.path();
                let name = p
                    .file_name()
                    .and_then(|n| n.to_str())
                    .unwrap_or("")
                    .to_string();
                if name.ends_with(".json") && (!only_search || name.starts_with("search-")) {
                    files.push(p);
                }
            }
        }
        files.sort();
        assert_eq!(files.len(), 39);
        let mut records = 0;
        let mut nameless = Vec::new();
        for path in &files {
            let page = parse_search(&unwrap_recorded(path))
                .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            assert_eq!(page.skipped, 0, "{}", path.display());
            for r in &page.results {
                records += 1;
                assert_eq!(r.registry_id.len(), 9);
                assert!(r.registry_id.bytes().all(|b| b.is_ascii_digit()));
                if r.legal_name.is_empty() {
                    nameless.push(r.registry_id.clone());
                }
                if r.headcount_band.as_deref() == Some("NN") {
                    assert_eq!((r.headcount_min, r.headcount_max), (None, None));
                }
                if let (Some(lat), Some(lon)) = (r.latitude, r.longitude) {
                    // Overseas departments and collectivities have 97x/98x postcodes.
                    let overseas = r
                        .postcode
                        .as_deref()
                        .is_some_and(|p| p.starts_with("97") || p.starts_with("98"));
                    if r.country.as_deref() == Some("FR") && !overseas {
                        assert!((41.0..=51.5).contains(&lat), "{} lat {lat}", r.registry_id);
                        assert!((-5.5..=10.0).contains(&lon), "{} lon {lon}", r.registry_id);
                    }
                }
                if let Some(section) = r.nace_section {
                    assert!(('A'..='U').contains(&section));
                    assert!(r.sector.is_some());
                }
                if let Some(c) = &r.created {
                    assert!(iso_date(c).is_some());
                }
                assert!(serde_json::from_str::<Value>(&r.raw).is_ok());
            }
        }
        assert_eq!(records, 98);
        nameless.sort();
        assert_eq!(nameless, ["123456789", "300025764"]);
    }
}
