//! Bulk registry files, one row at a time: France's SIRENE stock of legal units
//! (`StockUniteLegale`, CSV or Parquet) and the UK's Companies House basic company data
//! (`BasicCompanyData`, CSV), each row mapped into the same [`Firmographics`] as the API parsers
//! ([`super::fr`], [`super::uk`]) give for the same company, through the same code helpers
//! ([`codes::naf_to_nace`], [`codes::insee_band`], [`codes::uk_sic_to_nace`], …).
//!
//! No I/O here: the caller streams the file (CSV reader, Parquet record batches, a zip entry)
//! and hands each row as its fields, in header order. Columns are found by name, because their
//! order moves between releases (SIRENE) and the header carries stray spaces (Companies House).
//! A row whose fields cannot be trusted is an error that says every problem found in it (column,
//! value, what was expected), never a panic; the caller sends it to its rejects.
//!
//! Mapping notes:
//! - SIRENE: `activitePrincipaleUniteLegale` is read in the nomenclature its own column names
//!   (`NAFRev2` → NACE; `NAFRev1`/`NAF1993` → `"NAF rev. 1"`, no NACE, as the API parser does for
//!   those codes; `NAP` → `"NAP"`, no NACE); `activitePrincipaleNAF25UniteLegale` is kept as
//!   written. Masked rows (`statutDiffusionUniteLegale` `P`, persons who opted out) keep what
//!   INSEE publishes and treat `[ND]` as absent. An entrepreneur's name is their first name and
//!   surname. The stock of legal units has no address: the country is `FR`, the head office
//!   SIRET is `siren + nicSiegeUniteLegale` (in `linked_ids`, as the API parser puts it).
//! - Companies House: the bulk file writes labels where the API writes slugs; they are mapped to
//!   the API's values (`"Private Limited Company"` → `ltd`, `"MICRO ENTITY"` → `micro-entity`,
//!   `"Active - Proposal to Strike off"` → active) so both give the same codes. The file has no
//!   headcount.

use super::codes;
use super::record::{iso_date, Firmographics, Registry, Status};
use super::uk;

/// One company of a bulk file: its firmographics and what only the bulk files say.
#[derive(Debug, Clone, PartialEq)]
pub struct BulkRecord {
    pub firm: Firmographics,
    /// SIRENE `caractereEmployeurUniteLegale`: `O` → true, `N` → false.
    pub employer: Option<bool>,
    /// SIRENE `activitePrincipaleNAF25UniteLegale` (NAF 2025, NACE rev. 2.1), as written.
    pub naf25: Option<String>,
    /// SIRENE `statutDiffusionUniteLegale` `P` (or the older `N`): partly masked.
    pub masked: bool,
}

impl BulkRecord {
    /// The head office SIRET (SIRENE), from `linked_ids`.
    pub fn head_office_siret(&self) -> Option<&str> {
        self.firm
            .linked_ids
            .iter()
            .find(|(k, _)| k == "siret")
            .map(|(_, v)| v.as_str())
    }
}

/// Why a bulk file or one of its rows cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BulkError {
    /// The header is not one of the known files.
    #[error("the header is neither a SIRENE StockUniteLegale (no `siren` column) nor a Companies House BasicCompanyData (no `CompanyNumber` column)")]
    UnknownHeader,
    /// A SIRENE stock of establishments where a stock of legal units was expected.
    #[error("this is a SIRENE StockEtablissement file (one row per establishment): list it in universe.establishments, and the StockUniteLegale file in universe.files")]
    Establishments,
    /// The header lacks a column the file needs.
    #[error("{registry}: the header has no `{column}` column")]
    MissingColumn {
        registry: Registry,
        column: &'static str,
    },
    /// A row that cannot be trusted: every problem found in it, `; `-separated.
    #[error("{0}")]
    Row(String),
}

/// Which bulk file a header belongs to.
pub fn detect(header: &[&str]) -> Result<Registry, BulkError> {
    let has = |name: &str| header.iter().any(|h| h.trim() == name);
    if has("siren") {
        Ok(Registry::Sirene)
    } else if has("CompanyNumber") {
        Ok(Registry::CompaniesHouse)
    } else {
        Err(BulkError::UnknownHeader)
    }
}

/// The columns of `header` a parser reads, in header order: what a columnar reader needs to
/// decode (SIRENE's [`SireneLayout::COLUMNS`]; every column of another file).
pub fn columns_for<'a>(header: &[&'a str]) -> Vec<&'a str> {
    if header.iter().any(|h| h.trim() == "etablissementSiege") {
        return header
            .iter()
            .copied()
            .filter(|h| HeadOfficeLayout::COLUMNS.contains(&h.trim()))
            .collect();
    }
    match detect(header) {
        Ok(Registry::Sirene) => header
            .iter()
            .copied()
            .filter(|h| SireneLayout::COLUMNS.contains(&h.trim()))
            .collect(),
        _ => header.to_vec(),
    }
}

/// A bulk file's layout, read from its header: parses its rows.
#[derive(Debug, Clone)]
pub enum BulkLayout {
    Sirene(SireneLayout),
    CompaniesHouse(CompaniesHouseLayout),
}

impl BulkLayout {
    /// The layout of the file whose header this is.
    pub fn from_header(header: &[&str]) -> Result<BulkLayout, BulkError> {
        if header.iter().any(|h| h.trim() == "etablissementSiege") {
            return Err(BulkError::Establishments);
        }
        Ok(match detect(header)? {
            Registry::Sirene => BulkLayout::Sirene(SireneLayout::from_header(header)?),
            _ => BulkLayout::CompaniesHouse(CompaniesHouseLayout::from_header(header)?),
        })
    }

    pub fn registry(&self) -> Registry {
        match self {
            BulkLayout::Sirene(_) => Registry::Sirene,
            BulkLayout::CompaniesHouse(_) => Registry::CompaniesHouse,
        }
    }

    /// Columns in the header.
    pub fn width(&self) -> usize {
        match self {
            BulkLayout::Sirene(l) => l.width,
            BulkLayout::CompaniesHouse(l) => l.width,
        }
    }

    /// Whether the row says its company has ceased (SIRENE `etatAdministratifUniteLegale` `C`
    /// in a row of the header's width), read without parsing the rest: a load of active
    /// companies only counts such rows. Companies House rows are always parsed (false).
    pub fn is_ceased(&self, row: &[&str]) -> bool {
        match self {
            BulkLayout::Sirene(l) => row.len() == l.width && field(row, l.etat) == "C",
            BulkLayout::CompaniesHouse(_) => false,
        }
    }

    /// The column and value that mark a ceased company, for a columnar reader to leave such rows
    /// out while decoding (what [`BulkLayout::is_ceased`] tests row by row).
    pub fn ceased_marker(&self) -> Option<(&'static str, &'static str)> {
        match self {
            BulkLayout::Sirene(_) => Some(("etatAdministratifUniteLegale", "C")),
            BulkLayout::CompaniesHouse(_) => None,
        }
    }

    /// One row, its fields in header order.
    pub fn parse(&self, row: &[&str]) -> Result<BulkRecord, BulkError> {
        match self {
            BulkLayout::Sirene(l) => l.parse(row),
            BulkLayout::CompaniesHouse(l) => l.parse(row),
        }
    }
}

fn position(header: &[&str], name: &str) -> Option<usize> {
    header.iter().position(|h| h.trim() == name)
}

/// The field at `i`, trimmed; `""` when the column is absent or the value is INSEE's mask.
fn field<'a>(row: &[&'a str], i: Option<usize>) -> &'a str {
    let v = i.and_then(|i| row.get(i)).map_or("", |v| v.trim());
    if v == "[ND]" {
        ""
    } else {
        v
    }
}

fn non_empty(s: &str) -> Option<&str> {
    (!s.is_empty()).then_some(s)
}

fn all_digits(s: &str, len: usize) -> bool {
    s.len() == len && s.bytes().all(|b| b.is_ascii_digit())
}

fn width_problem(row: &[&str], width: usize) -> Option<String> {
    (row.len() != width).then(|| format!("{} fields, the header has {width}", row.len()))
}

// ---------------------------------------------------------------------------------------------
// SIRENE StockUniteLegale

/// Where each column the universe uses is in a `StockUniteLegale` header.
#[derive(Debug, Clone)]
pub struct SireneLayout {
    width: usize,
    siren: usize,
    statut_diffusion: Option<usize>,
    date_creation: Option<usize>,
    sigle: Option<usize>,
    prenom1: Option<usize>,
    prenom_usuel: Option<usize>,
    pseudonyme: Option<usize>,
    tranche: Option<usize>,
    categorie_entreprise: Option<usize>,
    etat: Option<usize>,
    nom: Option<usize>,
    nom_usage: Option<usize>,
    denomination: Option<usize>,
    denominations_usuelles: [Option<usize>; 3],
    categorie_juridique: Option<usize>,
    activite: Option<usize>,
    nomenclature: Option<usize>,
    naf25: Option<usize>,
    nic_siege: Option<usize>,
    employeur: Option<usize>,
}

impl SireneLayout {
    /// Reads the header; only `siren` and `etatAdministratifUniteLegale` are required.
    pub fn from_header(header: &[&str]) -> Result<SireneLayout, BulkError> {
        let p = |name| position(header, name);
        let missing = |column| BulkError::MissingColumn {
            registry: Registry::Sirene,
            column,
        };
        Ok(SireneLayout {
            width: header.len(),
            siren: p("siren").ok_or_else(|| missing("siren"))?,
            etat: Some(
                p("etatAdministratifUniteLegale")
                    .ok_or_else(|| missing("etatAdministratifUniteLegale"))?,
            ),
            statut_diffusion: p("statutDiffusionUniteLegale"),
            date_creation: p("dateCreationUniteLegale"),
            sigle: p("sigleUniteLegale"),
            prenom1: p("prenom1UniteLegale"),
            prenom_usuel: p("prenomUsuelUniteLegale"),
            pseudonyme: p("pseudonymeUniteLegale"),
            tranche: p("trancheEffectifsUniteLegale"),
            categorie_entreprise: p("categorieEntreprise"),
            nom: p("nomUniteLegale"),
            nom_usage: p("nomUsageUniteLegale"),
            denomination: p("denominationUniteLegale"),
            denominations_usuelles: [
                p("denominationUsuelle1UniteLegale"),
                p("denominationUsuelle2UniteLegale"),
                p("denominationUsuelle3UniteLegale"),
            ],
            categorie_juridique: p("categorieJuridiqueUniteLegale"),
            activite: p("activitePrincipaleUniteLegale"),
            nomenclature: p("nomenclatureActivitePrincipaleUniteLegale"),
            naf25: p("activitePrincipaleNAF25UniteLegale"),
            nic_siege: p("nicSiegeUniteLegale"),
            employeur: p("caractereEmployeurUniteLegale"),
        })
    }

    /// The columns the universe reads, by name: what a Parquet reader needs to project.
    pub const COLUMNS: &'static [&'static str] = &[
        "siren",
        "statutDiffusionUniteLegale",
        "dateCreationUniteLegale",
        "sigleUniteLegale",
        "prenom1UniteLegale",
        "prenomUsuelUniteLegale",
        "pseudonymeUniteLegale",
        "trancheEffectifsUniteLegale",
        "categorieEntreprise",
        "etatAdministratifUniteLegale",
        "nomUniteLegale",
        "nomUsageUniteLegale",
        "denominationUniteLegale",
        "denominationUsuelle1UniteLegale",
        "denominationUsuelle2UniteLegale",
        "denominationUsuelle3UniteLegale",
        "categorieJuridiqueUniteLegale",
        "activitePrincipaleUniteLegale",
        "nomenclatureActivitePrincipaleUniteLegale",
        "activitePrincipaleNAF25UniteLegale",
        "nicSiegeUniteLegale",
        "caractereEmployeurUniteLegale",
    ];

    /// One row of the stock, its fields in header order.
    pub fn parse(&self, row: &[&str]) -> Result<BulkRecord, BulkError> {
        let mut problems: Vec<String> = Vec::new();
        if let Some(p) = width_problem(row, self.width) {
            problems.push(p);
        }
        let f = |i: Option<usize>| field(row, i);
        let siren = f(Some(self.siren));
        if !all_digits(siren, 9) {
            problems.push(format!("siren {siren:?} is not 9 digits"));
        }
        let masked = match f(self.statut_diffusion) {
            "" | "O" => false,
            "P" | "N" => true,
            other => {
                problems.push(format!(
                    "statutDiffusionUniteLegale {other:?} is not O or P"
                ));
                false
            }
        };

        let name = match non_empty(f(self.denomination)) {
            Some(d) => d.to_string(),
            None => {
                // An entrepreneur: the person's usual first name and name.
                let first = non_empty(f(self.prenom_usuel)).unwrap_or(f(self.prenom1));
                let last = non_empty(f(self.nom_usage)).unwrap_or(f(self.nom));
                [first, last]
                    .iter()
                    .filter(|s| !s.is_empty())
                    .copied()
                    .collect::<Vec<_>>()
                    .join(" ")
            }
        };
        let mut firm = Firmographics::new(Registry::Sirene, siren, name, "");
        firm.push_other_name(f(self.sigle));
        for i in self.denominations_usuelles {
            firm.push_other_name(f(i));
        }
        firm.push_other_name(f(self.pseudonyme));

        firm.status = match f(self.etat) {
            "A" => Some(Status::Active),
            "C" => Some(Status::Ceased),
            other => {
                problems.push(format!(
                    "etatAdministratifUniteLegale {other:?} is not A or C"
                ));
                None
            }
        };

        let created = f(self.date_creation);
        if !created.is_empty() {
            match iso_date(created).filter(|d| d.len() == 10) {
                Some(d) => firm.created = Some(d),
                None => problems.push(format!(
                    "dateCreationUniteLegale {created:?} is not a date (YYYY-MM-DD)"
                )),
            }
        }

        let band = f(self.tranche);
        if !band.is_empty() {
            match codes::insee_band(band) {
                Some((min, max)) => {
                    firm.headcount_min = Some(min);
                    firm.headcount_max = max;
                }
                None if band == "NN" => {}
                None => problems.push(format!(
                    "trancheEffectifsUniteLegale {band:?} is not an INSEE headcount band (NN, 00, 01 … 53)"
                )),
            }
            firm.headcount_band = Some(band.to_string());
        }

        match f(self.categorie_entreprise) {
            "" => {}
            c @ ("PME" | "ETI" | "GE") => firm.category = Some(c.to_string()),
            other => problems.push(format!(
                "categorieEntreprise {other:?} is not PME, ETI or GE"
            )),
        }

        let form = f(self.categorie_juridique);
        if !form.is_empty() {
            if all_digits(form, 4) {
                firm.legal_form_label = codes::nature_juridique_label(form).map(str::to_string);
                firm.legal_form = Some(form.to_string());
            } else {
                problems.push(format!(
                    "categorieJuridiqueUniteLegale {form:?} is not 4 digits"
                ));
            }
        }

        self.activity(&mut firm, &f, &mut problems);

        let naf25 = non_empty(f(self.naf25)).map(str::to_string);
        let employer = match f(self.employeur) {
            "" => None,
            "O" => Some(true),
            "N" => Some(false),
            other => {
                problems.push(format!(
                    "caractereEmployeurUniteLegale {other:?} is not O or N"
                ));
                None
            }
        };
        let nic = f(self.nic_siege);
        if !nic.is_empty() {
            if all_digits(nic, 5) {
                if all_digits(siren, 9) {
                    firm.push_linked_id("siret", &format!("{siren}{nic}"));
                }
            } else {
                problems.push(format!("nicSiegeUniteLegale {nic:?} is not 5 digits"));
            }
        }
        firm.country = Some("FR".to_string());

        if problems.is_empty() {
            Ok(BulkRecord {
                firm,
                employer,
                naf25,
                masked,
            })
        } else {
            Err(BulkError::Row(problems.join("; ")))
        }
    }

    /// The main activity, read in the nomenclature the row names.
    fn activity<'a>(
        &self,
        firm: &mut Firmographics,
        f: &impl Fn(Option<usize>) -> &'a str,
        problems: &mut Vec<String>,
    ) {
        let code = f(self.activite);
        if code.is_empty() {
            return;
        }
        let nomenclature = f(self.nomenclature);
        let rev2 = codes::naf_to_nace(code);
        match nomenclature {
            "NAFRev2" | "" if rev2.is_some() => {
                if let Some((division, section)) = rev2 {
                    firm.industry_scheme = Some("NAF rev. 2");
                    firm.nace_division = Some(division);
                    firm.set_nace_section(Some(section));
                }
            }
            "NAFRev2" => problems.push(format!(
                "activitePrincipaleUniteLegale {code:?} is not a NAF rev. 2 code"
            )),
            "NAFRev1" | "NAF1993" | "" if codes::is_naf_rev1(code) => {
                firm.industry_scheme = Some("NAF rev. 1");
            }
            "NAFRev1" | "NAF1993" => problems.push(format!(
                "activitePrincipaleUniteLegale {code:?} is not a NAF rev. 1 code (NN.NL)"
            )),
            "NAP" => firm.industry_scheme = Some("NAP"),
            "" => problems.push(format!(
                "activitePrincipaleUniteLegale {code:?} is not a NAF code and no nomenclature is given"
            )),
            other => problems.push(format!(
                "nomenclatureActivitePrincipaleUniteLegale {other:?} is not NAFRev2, NAFRev1, NAF1993 or NAP"
            )),
        }
        firm.industry_code = Some(code.to_string());
    }
}

// ---------------------------------------------------------------------------------------------
// SIRENE StockEtablissement: head offices

/// A legal unit's head office, from the stock of establishments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeadOffice {
    pub siren: String,
    pub postcode: Option<String>,
    /// The commune's name (`libelleCommuneEtablissement`), or the foreign city.
    pub city: Option<String>,
    /// The region's name, from the commune's department, as the API parser names it.
    pub region: Option<&'static str>,
    /// ISO 3166-1 alpha-2: `FR`, or the foreign country's.
    pub country: Option<&'static str>,
    /// Open (`etatAdministratifEtablissement` A).
    pub open: bool,
}

/// Where each column the head office join uses is in a `StockEtablissement` header.
#[derive(Debug, Clone)]
pub struct HeadOfficeLayout {
    width: usize,
    siren: usize,
    siege: usize,
    etat: Option<usize>,
    postcode: Option<usize>,
    commune: Option<usize>,
    city: Option<usize>,
    foreign_city: Option<usize>,
    foreign_country: Option<usize>,
}

impl HeadOfficeLayout {
    /// The columns the join reads, by name.
    pub const COLUMNS: &'static [&'static str] = &[
        "siren",
        "etablissementSiege",
        "etatAdministratifEtablissement",
        "codePostalEtablissement",
        "codeCommuneEtablissement",
        "libelleCommuneEtablissement",
        "libelleCommuneEtrangerEtablissement",
        "codePaysEtrangerEtablissement",
    ];

    /// Reads the header; `siren` and `etablissementSiege` are required.
    pub fn from_header(header: &[&str]) -> Result<HeadOfficeLayout, BulkError> {
        let p = |name| position(header, name);
        let missing = |column| BulkError::MissingColumn {
            registry: Registry::Sirene,
            column,
        };
        Ok(HeadOfficeLayout {
            width: header.len(),
            siren: p("siren").ok_or_else(|| missing("siren"))?,
            siege: p("etablissementSiege").ok_or_else(|| missing("etablissementSiege"))?,
            etat: p("etatAdministratifEtablissement"),
            postcode: p("codePostalEtablissement"),
            commune: p("codeCommuneEtablissement"),
            city: p("libelleCommuneEtablissement"),
            foreign_city: p("libelleCommuneEtrangerEtablissement"),
            foreign_country: p("codePaysEtrangerEtablissement"),
        })
    }

    /// One establishment: `None` unless it is a head office (`etablissementSiege` true).
    pub fn parse(&self, row: &[&str]) -> Result<Option<HeadOffice>, BulkError> {
        if let Some(p) = width_problem(row, self.width) {
            return Err(BulkError::Row(p));
        }
        let f = |i: Option<usize>| field(row, i);
        match f(Some(self.siege)) {
            "true" | "TRUE" | "True" | "1" | "O" => {}
            "false" | "FALSE" | "False" | "0" | "N" | "" => return Ok(None),
            other => {
                return Err(BulkError::Row(format!(
                    "etablissementSiege {other:?} is not true or false"
                )))
            }
        }
        let siren = f(Some(self.siren));
        if !all_digits(siren, 9) {
            return Err(BulkError::Row(format!("siren {siren:?} is not 9 digits")));
        }
        let foreign = non_empty(f(self.foreign_country));
        let country = match foreign {
            Some(code) => codes::insee_country_iso2(code),
            None => Some("FR"),
        };
        let region = match foreign {
            Some(_) => None,
            None => super::fr::region_of_commune(f(self.commune)).and_then(super::fr::region_label),
        };
        Ok(Some(HeadOffice {
            siren: siren.to_string(),
            postcode: non_empty(f(self.postcode)).map(str::to_string),
            city: non_empty(f(self.city))
                .or_else(|| non_empty(f(self.foreign_city)))
                .map(str::to_string),
            region,
            country,
            open: f(self.etat) != "F",
        }))
    }
}

// ---------------------------------------------------------------------------------------------
// Companies House BasicCompanyData

/// Where each column the universe uses is in a `BasicCompanyData` header (names trimmed).
#[derive(Debug, Clone)]
pub struct CompaniesHouseLayout {
    width: usize,
    name: usize,
    number: usize,
    care_of: Option<usize>,
    po_box: Option<usize>,
    line1: Option<usize>,
    line2: Option<usize>,
    post_town: Option<usize>,
    county: Option<usize>,
    country: Option<usize>,
    postcode: Option<usize>,
    category: Option<usize>,
    status: Option<usize>,
    country_of_origin: Option<usize>,
    dissolution: Option<usize>,
    incorporation: Option<usize>,
    accounts_category: Option<usize>,
    sic: [Option<usize>; 4],
    previous_names: Vec<usize>,
}

impl CompaniesHouseLayout {
    /// Reads the header; `CompanyName` and `CompanyNumber` are required.
    pub fn from_header(header: &[&str]) -> Result<CompaniesHouseLayout, BulkError> {
        let p = |name| position(header, name);
        let missing = |column| BulkError::MissingColumn {
            registry: Registry::CompaniesHouse,
            column,
        };
        Ok(CompaniesHouseLayout {
            width: header.len(),
            name: p("CompanyName").ok_or_else(|| missing("CompanyName"))?,
            number: p("CompanyNumber").ok_or_else(|| missing("CompanyNumber"))?,
            care_of: p("RegAddress.CareOf"),
            po_box: p("RegAddress.POBox"),
            line1: p("RegAddress.AddressLine1"),
            line2: p("RegAddress.AddressLine2"),
            post_town: p("RegAddress.PostTown"),
            county: p("RegAddress.County"),
            country: p("RegAddress.Country"),
            postcode: p("RegAddress.PostCode"),
            category: p("CompanyCategory"),
            status: p("CompanyStatus"),
            country_of_origin: p("CountryOfOrigin"),
            dissolution: p("DissolutionDate"),
            incorporation: p("IncorporationDate"),
            accounts_category: p("Accounts.AccountCategory"),
            sic: [
                p("SICCode.SicText_1"),
                p("SICCode.SicText_2"),
                p("SICCode.SicText_3"),
                p("SICCode.SicText_4"),
            ],
            previous_names: (1..=10)
                .filter_map(|n| position(header, &format!("PreviousName_{n}.CompanyName")))
                .collect(),
        })
    }

    /// One row of the file, its fields in header order.
    pub fn parse(&self, row: &[&str]) -> Result<BulkRecord, BulkError> {
        let mut problems: Vec<String> = Vec::new();
        if let Some(p) = width_problem(row, self.width) {
            problems.push(p);
        }
        let f = |i: Option<usize>| field(row, i);
        let number = f(Some(self.number)).to_ascii_uppercase();
        if number.len() != 8 || !number.bytes().all(|b| b.is_ascii_alphanumeric()) {
            problems.push(format!(
                "CompanyNumber {number:?} is not 8 letters or digits"
            ));
        }
        let mut firm = Firmographics::new(Registry::CompaniesHouse, number, f(Some(self.name)), "");
        for &i in &self.previous_names {
            firm.push_other_name(f(Some(i)));
        }
        firm.status = status_slug(f(self.status)).and_then(|s| uk::status(&s));

        for (column, slot, i) in [
            ("IncorporationDate", &mut firm.created, self.incorporation),
            ("DissolutionDate", &mut firm.ceased, self.dissolution),
        ] {
            let v = f(i);
            if v.is_empty() {
                continue;
            }
            match dmy_date(v) {
                Some(d) => *slot = Some(d),
                None => problems.push(format!("{column} {v:?} is not a date (DD/MM/YYYY)")),
            }
        }

        // The first SIC code, as the API parser takes the first of `sic_codes`.
        if let Some(text) = self
            .sic
            .iter()
            .map(|&i| f(i))
            .find(|t| !t.is_empty() && !t.eq_ignore_ascii_case("None Supplied"))
        {
            let (code, label) = match text.split_once(" - ") {
                Some((c, l)) => (c.trim(), non_empty(l.trim())),
                None => (text, None),
            };
            if all_digits(code, 5) {
                if let Some((division, section)) = codes::uk_sic_to_nace(code) {
                    firm.nace_division = Some(division);
                    firm.set_nace_section(Some(section));
                }
                firm.industry_scheme = Some("UK SIC 2007");
                firm.industry_code = Some(code.to_string());
                firm.industry_label = label.map(str::to_string);
            } else {
                problems.push(format!(
                    "SICCode.SicText_1 {text:?} does not start with a 5-digit UK SIC code"
                ));
            }
        }

        let category = f(self.category);
        if !category.is_empty() {
            match company_type_of_category(category) {
                Some(t) => {
                    firm.legal_form_label = uk::company_type_label(t).map(str::to_string);
                    firm.legal_form = Some(t.to_string());
                }
                None => {
                    firm.legal_form = Some(category.to_string());
                    firm.legal_form_label = Some(category.to_string());
                }
            }
        }
        firm.category = accounts_type(f(self.accounts_category));

        let lines: Vec<&str> = [self.care_of, self.po_box, self.line1, self.line2]
            .iter()
            .map(|&i| f(i))
            .filter(|s| !s.is_empty())
            .collect();
        firm.address = (!lines.is_empty()).then(|| lines.join(", "));
        firm.city = non_empty(f(self.post_town)).map(str::to_string);
        firm.region = non_empty(f(self.county)).map(str::to_string);
        firm.postcode = non_empty(f(self.postcode)).map(str::to_string);
        firm.country = match non_empty(f(self.country)) {
            Some(c) => uk::uk_country(c),
            None => non_empty(f(self.country_of_origin)).and_then(uk::uk_country),
        };

        if problems.is_empty() {
            Ok(BulkRecord {
                firm,
                employer: None,
                naf25: None,
                masked: false,
            })
        } else {
            Err(BulkError::Row(problems.join("; ")))
        }
    }
}

/// `DD/MM/YYYY` → `YYYY-MM-DD`, a real date only.
pub fn dmy_date(s: &str) -> Option<String> {
    let b = s.trim().as_bytes();
    if b.len() != 10 || b[2] != b'/' || b[5] != b'/' {
        return None;
    }
    let s = s.trim();
    let iso = format!("{}-{}-{}", s.get(6..10)?, s.get(3..5)?, s.get(0..2)?);
    iso_date(&iso).filter(|d| d.len() == 10)
}

/// The API's `company_status` for the bulk file's `CompanyStatus` label: `"Active - Proposal to
/// Strike off"` → `active` (the API keeps the detail apart), `"In Administration"` →
/// `administration`, `"Liquidation"` → `liquidation`.
fn status_slug(label: &str) -> Option<String> {
    let main = label.split(" - ").next()?.trim().to_ascii_lowercase();
    if main.is_empty() {
        return None;
    }
    let main = main.strip_prefix("in ").unwrap_or(&main);
    Some(main.replace(' ', "-"))
}

/// The API's `type` for the bulk file's `CompanyCategory` label.
pub fn company_type_of_category(label: &str) -> Option<&'static str> {
    let l = label.trim().to_ascii_lowercase();
    Some(match l.as_str() {
        "private limited company" => "ltd",
        "public limited company" => "plc",
        "limited liability partnership" => "llp",
        "private unlimited company" | "private unlimited" => "private-unlimited",
        "limited partnership" => "limited-partnership",
        "scottish partnership" => "scottish-partnership",
        "old public company" => "old-public-company",
        "charitable incorporated organisation" => "charitable-incorporated-organisation",
        "scottish charitable incorporated organisation" => {
            "scottish-charitable-incorporated-organisation"
        }
        "royal charter company" => "royal-charter",
        "investment company with variable capital" => "investment-company-with-variable-capital",
        "registered society" => "registered-society-non-jurisdictional",
        "industrial and provident society" => "industrial-and-provident-society",
        "overseas entity" | "registered overseas entity" => "registered-overseas-entity",
        "overseas company" => "oversea-company",
        "european public limited-liability company (se)" => {
            "european-public-limited-liability-company-se"
        }
        _ if l.starts_with("pri/ltd by guar/nsc") => "private-limited-guarant-nsc",
        _ if l.starts_with("pri/lbg/nsc") => "private-limited-guarant-nsc-limited-exemption",
        _ if l.starts_with("priv ltd sect. 30") => "private-limited-shares-section-30-exemption",
        _ => return None,
    })
}

/// The API's `accounts.last_accounts.type` for the bulk file's `Accounts.AccountCategory`:
/// `"TOTAL EXEMPTION FULL"` → `total-exemption-full`; none when no accounts were filed.
fn accounts_type(label: &str) -> Option<String> {
    let l = label.trim().to_ascii_lowercase();
    if l.is_empty() || l == "no accounts filed" {
        return None;
    }
    if l == "accounts type not available" {
        return Some("no-accounts-type-available".to_string());
    }
    Some(l.split_whitespace().collect::<Vec<_>>().join("-"))
}

#[cfg(test)]
mod tests;
