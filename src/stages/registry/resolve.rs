//! One lead → at most one registry record, and how it was found.
//!
//! Order: an identifier from the input (SIREN/SIRET, CIK, LEI, company number) → `id_input`;
//! else identifiers found on the company's own website, accepted only when the record's name
//! resembles the lead's (a legal notice also names the web host and the agency) → `id_website`;
//! else a name search in the registry of the lead's country (France → SIRENE, US → SEC EDGAR,
//! UK → Companies House, elsewhere or unknown → GLEIF), candidates scored by
//! `enrich::registry::matching` → `name`. Below the acceptance score, or with several
//! near-equal candidates, the top candidates are kept and nothing is chosen.

use enrich::registry::matching::{self, Candidate, Decision, MatchConfig, Query, Scored};
use enrich::registry::record::{Firmographics, Registry};
use enrich::registry::sec::Ticker;
use enrich::registry::{fr, gleif, sec, uk};
use tokio::sync::OnceCell;

use super::api::{Api, ApiError};
use crate::config::RegistrySection;

/// What the stage knows about a lead before asking.
#[derive(Debug, Clone, Default)]
pub struct LeadIn {
    pub lead_id: String,
    pub name: String,
    pub country: Option<String>,
    pub domain: Option<String>,
    pub siren: Option<String>,
    pub cik: Option<String>,
    pub lei: Option<String>,
    pub company_number: Option<String>,
    /// Identifiers found on the lead's website by the extract stage.
    pub web_sirens: Vec<String>,
    pub web_leis: Vec<String>,
    pub web_uk: Vec<String>,
    /// Postcode and city from the website's JSON-LD, for scoring.
    pub postcode: Option<String>,
    pub city: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MatchStatus {
    Matched,
    Ambiguous,
    Unmatched,
    NotSearched,
    Error,
}

impl MatchStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            MatchStatus::Matched => "matched",
            MatchStatus::Ambiguous => "ambiguous",
            MatchStatus::Unmatched => "unmatched",
            MatchStatus::NotSearched => "not_searched",
            MatchStatus::Error => "error",
        }
    }
}

/// A candidate record kept in the output.
#[derive(Debug, Clone)]
pub struct CandidateOut {
    pub registry: Registry,
    pub id: String,
    pub name: String,
    pub score: f64,
}

/// The lookup's result for one lead.
#[derive(Debug, Clone)]
pub struct Resolved {
    pub status: MatchStatus,
    pub method: Option<&'static str>,
    pub score: Option<f64>,
    pub record: Option<Firmographics>,
    pub candidates: Vec<CandidateOut>,
    /// Human-readable notes: what was asked, why nothing was chosen.
    pub notes: Vec<String>,
}

impl Resolved {
    fn new() -> Resolved {
        Resolved {
            status: MatchStatus::NotSearched,
            method: None,
            score: None,
            record: None,
            candidates: Vec::new(),
            notes: Vec::new(),
        }
    }
    /// A lookup that could not complete (a registry did not answer).
    pub fn error(reason: String) -> Resolved {
        let mut r = Resolved::new();
        r.status = MatchStatus::Error;
        r.notes.push(reason);
        r
    }

    fn matched(mut self, method: &'static str, score: f64, rec: Firmographics) -> Resolved {
        self.status = MatchStatus::Matched;
        self.method = Some(method);
        self.score = Some(score);
        self.record = Some(rec);
        self
    }
}

/// The SEC's name list, indexed once per run.
struct SecIndex {
    tickers: Vec<Ticker>,
    candidates: Vec<Candidate>,
    index: matching::NameIndex,
}

pub struct Resolver<'a> {
    pub api: Api<'a>,
    cfg: &'a RegistrySection,
    sirene: bool,
    sec: bool,
    gleif: bool,
    /// The Companies House key, when the registry is enabled and the key is set.
    uk_key: Option<String>,
    match_cfg: MatchConfig,
    sec_index: OnceCell<Result<SecIndex, String>>,
}

/// Why a registry is off, said once per run by the stage.
pub fn disabled_reasons(cfg: &RegistrySection) -> Vec<String> {
    let mut out = Vec::new();
    let on = |n: &str| cfg.registries.iter().any(|r| r == n);
    if on("sec_edgar") && cfg.contact_email.is_empty() {
        out.push(
            "SEC EDGAR skipped: the SEC requires a contact e-mail in the User-Agent; set registry.contact_email".into(),
        );
    }
    if on("companies_house") && uk_key(cfg).is_none() {
        out.push(format!(
            "Companies House skipped: no API key in ${} (free at developer.company-information.service.gov.uk)",
            cfg.companies_house_key_env
        ));
    }
    out
}

fn uk_key(cfg: &RegistrySection) -> Option<String> {
    std::env::var(&cfg.companies_house_key_env)
        .ok()
        .filter(|k| !k.trim().is_empty())
}

fn candidate_of(rec: &Firmographics) -> Candidate {
    let mut names = vec![rec.legal_name.clone()];
    names.extend(rec.other_names.iter().cloned());
    Candidate {
        id: rec.registry_id.clone(),
        names,
        country: rec.country.clone(),
        postcode: rec.postcode.clone(),
        city: rec.city.clone(),
        domains: Vec::new(),
    }
}

/// Country to search in when the input has none: the website's country-code TLD.
fn country_hint(lead: &LeadIn) -> Option<String> {
    if let Some(c) = &lead.country {
        return Some(c.clone());
    }
    let tld = lead.domain.as_deref()?.rsplit('.').next()?;
    match tld {
        "fr" => Some("FR".into()),
        "uk" => Some("GB".into()),
        "us" => Some("US".into()),
        _ => None,
    }
}

fn basic_auth(key: &str) -> String {
    use base64::Engine as _;
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{key}:"))
    )
}

impl<'a> Resolver<'a> {
    pub fn new(cfg: &'a RegistrySection, api: Api<'a>) -> Resolver<'a> {
        let on = |n: &str| cfg.registries.iter().any(|r| r == n);
        Resolver {
            api,
            cfg,
            sirene: on("sirene"),
            sec: on("sec_edgar") && !cfg.contact_email.is_empty(),
            gleif: on("gleif"),
            uk_key: on("companies_house").then(|| uk_key(cfg)).flatten(),
            match_cfg: MatchConfig {
                accept: cfg.accept_score,
                margin: cfg.margin,
                keep: cfg.keep_candidates,
            },
            sec_index: OnceCell::new(),
        }
    }

    fn query(lead: &LeadIn, country: Option<String>) -> Query {
        Query {
            name: lead.name.clone(),
            country,
            postcode: lead.postcode.clone(),
            city: lead.city.clone(),
            domain: lead.domain.clone(),
        }
    }

    // ---- one record by id --------------------------------------------------------------

    async fn sirene_by_siren(&self, siren: &str) -> Result<Option<Firmographics>, ApiError> {
        let url = fr::search_url(&self.cfg.sirene_url, siren, 1, 5, &[]);
        let Some(body) = self.api.get(Registry::Sirene, &url, &[]).await? else {
            return Ok(None);
        };
        let page = fr::parse_search(&body).map_err(|e| self.bad(Registry::Sirene, &url, e))?;
        Ok(page.results.into_iter().find(|r| r.registry_id == siren))
    }

    async fn sec_by_cik(&self, cik: &str) -> Result<Option<Firmographics>, ApiError> {
        let Some(url) = sec::submissions_url(&self.cfg.sec_url, cik) else {
            return Ok(None);
        };
        let Some(body) = self.api.get(Registry::SecEdgar, &url, &[]).await? else {
            return Ok(None);
        };
        sec::parse_submissions(&body)
            .map(Some)
            .map_err(|e| self.bad(Registry::SecEdgar, &url, e))
    }

    async fn gleif_by_lei(&self, lei: &str) -> Result<Option<Firmographics>, ApiError> {
        let url = gleif::record_url(&self.cfg.gleif_url, lei);
        let Some(body) = self.api.get(Registry::Gleif, &url, &[]).await? else {
            return Ok(None);
        };
        gleif::parse_record(&body)
            .map(Some)
            .map_err(|e| self.bad(Registry::Gleif, &url, e))
    }

    async fn uk_by_number(&self, number: &str) -> Result<Option<Firmographics>, ApiError> {
        let Some(key) = &self.uk_key else {
            return Ok(None);
        };
        let url = uk::profile_url(&self.cfg.companies_house_url, number);
        let auth = basic_auth(key);
        let headers = [("authorization", auth.as_str())];
        let Some(body) = self
            .api
            .get(Registry::CompaniesHouse, &url, &headers)
            .await?
        else {
            return Ok(None);
        };
        uk::parse_profile(&body)
            .map(Some)
            .map_err(|e| self.bad(Registry::CompaniesHouse, &url, e))
    }

    fn bad(&self, registry: Registry, url: &str, e: impl std::fmt::Display) -> ApiError {
        ApiError {
            registry: registry.as_str(),
            url: url.to_owned(),
            reason: format!("unexpected response: {e}"),
        }
    }

    // ---- candidates by name ------------------------------------------------------------

    async fn sec_index(&self) -> Result<&SecIndex, ApiError> {
        let built = self
            .sec_index
            .get_or_init(|| async {
                let url = self.cfg.sec_tickers_url.clone();
                let body = match self.api.get(Registry::SecEdgar, &url, &[]).await {
                    Ok(Some(b)) => b,
                    Ok(None) => return Err(format!("{url}: not found")),
                    Err(e) => return Err(e.to_string()),
                };
                let mut tickers = sec::parse_tickers(&body).map_err(|e| format!("{url}: {e}"))?;
                // Several tickers (share classes) per company: one candidate per CIK.
                let mut seen = std::collections::HashSet::new();
                tickers.retain(|t| seen.insert(t.cik.clone()));
                let candidates: Vec<Candidate> = tickers
                    .iter()
                    .map(|t| Candidate {
                        id: t.cik.clone(),
                        names: vec![t.title.clone()],
                        country: None,
                        postcode: None,
                        city: None,
                        domains: Vec::new(),
                    })
                    .collect();
                let index = matching::NameIndex::build(&candidates);
                Ok(SecIndex {
                    tickers,
                    candidates,
                    index,
                })
            })
            .await;
        built.as_ref().map_err(|reason| ApiError {
            registry: Registry::SecEdgar.as_str(),
            url: self.cfg.sec_tickers_url.clone(),
            reason: reason.clone(),
        })
    }

    /// Candidate records (with full data where the search returns it) for a name.
    async fn search(
        &self,
        registry: Registry,
        lead: &LeadIn,
    ) -> Result<(Vec<Candidate>, Vec<Option<Firmographics>>), ApiError> {
        match registry {
            Registry::Sirene => {
                let url = fr::search_url(&self.cfg.sirene_url, &lead.name, 1, 10, &[]);
                let Some(body) = self.api.get(registry, &url, &[]).await? else {
                    return Ok((Vec::new(), Vec::new()));
                };
                let page = fr::parse_search(&body).map_err(|e| self.bad(registry, &url, e))?;
                Ok((
                    page.results.iter().map(candidate_of).collect(),
                    page.results.into_iter().map(Some).collect(),
                ))
            }
            Registry::SecEdgar => {
                let idx = self.sec_index().await?;
                let hits = idx.index.search(&lead.name, 20);
                Ok((
                    hits.iter().map(|&i| idx.candidates[i].clone()).collect(),
                    hits.iter().map(|_| None).collect(),
                ))
            }
            Registry::Gleif => {
                // Fuzzy completions on the legal name (the exact-name filter misses "Acme" for
                // "ACME SE"); the chosen LEI's record is fetched and scored again.
                let url = gleif::fuzzy_url(&self.cfg.gleif_url, &lead.name);
                let Some(body) = self.api.get(registry, &url, &[]).await? else {
                    return Ok((Vec::new(), Vec::new()));
                };
                let hits = gleif::parse_fuzzy(&body).map_err(|e| self.bad(registry, &url, e))?;
                let cands: Vec<Candidate> = hits
                    .into_iter()
                    .filter_map(|(name, lei)| {
                        Some(Candidate {
                            id: lei?,
                            names: vec![name],
                            ..Candidate::default()
                        })
                    })
                    .collect();
                let n = cands.len();
                Ok((cands, vec![None; n]))
            }
            Registry::CompaniesHouse => {
                let Some(key) = &self.uk_key else {
                    return Ok((Vec::new(), Vec::new()));
                };
                let url = uk::search_url(&self.cfg.companies_house_url, &lead.name, 20);
                let auth = basic_auth(key);
                let headers = [("authorization", auth.as_str())];
                let Some(body) = self.api.get(registry, &url, &headers).await? else {
                    return Ok((Vec::new(), Vec::new()));
                };
                let items = uk::parse_search(&body).map_err(|e| self.bad(registry, &url, e))?;
                Ok((
                    items
                        .iter()
                        .map(|i| Candidate {
                            id: i.company_number.clone(),
                            names: vec![i.title.clone()],
                            country: Some("GB".into()),
                            postcode: i.postcode.clone(),
                            city: i.locality.clone(),
                            domains: Vec::new(),
                        })
                        .collect(),
                    items.iter().map(|_| None).collect(),
                ))
            }
        }
    }

    fn registry_for(&self, country: Option<&str>) -> Option<Registry> {
        match country {
            Some("FR") if self.sirene => Some(Registry::Sirene),
            Some("US") if self.sec => Some(Registry::SecEdgar),
            Some("GB") if self.uk_key.is_some() => Some(Registry::CompaniesHouse),
            _ if self.gleif => Some(Registry::Gleif),
            _ => None,
        }
    }

    /// Looks a lead up; an unreachable registry is `Err` (the lead's unit fails, the answers
    /// already cached make the retry cheap).
    pub async fn resolve(&self, lead: &LeadIn) -> Result<Resolved, ApiError> {
        let mut out = Resolved::new();
        // 1. Identifiers from the input: exact.
        let by_input: [(Option<&String>, Registry, bool); 4] = [
            (lead.siren.as_ref(), Registry::Sirene, self.sirene),
            (lead.cik.as_ref(), Registry::SecEdgar, self.sec),
            (lead.lei.as_ref(), Registry::Gleif, self.gleif),
            (
                lead.company_number.as_ref(),
                Registry::CompaniesHouse,
                self.uk_key.is_some(),
            ),
        ];
        for (id, registry, enabled) in by_input {
            let Some(id) = id else { continue };
            if !enabled {
                out.notes.push(format!(
                    "{} {id} not looked up: registry off",
                    registry.as_str()
                ));
                continue;
            }
            match self.by_id(registry, id).await? {
                Some(rec) => return Ok(out.matched("id_input", 1.0, rec)),
                None => out.notes.push(format!(
                    "{} has no record {id} (input id)",
                    registry.as_str()
                )),
            }
        }
        // 2. Identifiers on the company's own website, checked against the name.
        let mut web: Vec<(Registry, &String)> = Vec::new();
        if self.sirene {
            web.extend(
                lead.web_sirens
                    .iter()
                    .take(3)
                    .map(|s| (Registry::Sirene, s)),
            );
        }
        if self.gleif {
            web.extend(lead.web_leis.iter().take(2).map(|s| (Registry::Gleif, s)));
        }
        if self.uk_key.is_some() {
            web.extend(
                lead.web_uk
                    .iter()
                    .take(2)
                    .map(|s| (Registry::CompaniesHouse, s)),
            );
        }
        let mut passing: Vec<(Scored, Firmographics)> = Vec::new();
        for (registry, id) in web {
            let Some(rec) = self.by_id(registry, id).await? else {
                continue;
            };
            if passing
                .iter()
                .any(|(_, r)| r.registry_id == rec.registry_id)
            {
                continue;
            }
            let q = Self::query(lead, rec.country.clone());
            let s = matching::score(&q, &candidate_of(&rec));
            if s.name_score < self.cfg.website_id_min_name {
                out.notes.push(format!(
                    "{} {id} found on the website names {:?} (name similarity {:.2}): not this company",
                    registry.as_str(),
                    rec.legal_name,
                    s.name_score
                ));
                continue;
            }
            passing.push((s, rec));
        }
        passing.sort_by(|a, b| b.0.score.total_cmp(&a.0.score));
        // Two identifiers on the site that both fit the name (a group and its subsidiary)
        // within the margin: not chosen between.
        if passing.len() >= 2 && passing[0].0.score - passing[1].0.score < self.match_cfg.margin {
            out.status = MatchStatus::Ambiguous;
            out.candidates = passing
                .iter()
                .take(self.match_cfg.keep.max(2))
                .map(|(s, r)| CandidateOut {
                    registry: r.registry,
                    id: r.registry_id.clone(),
                    name: r.legal_name.clone(),
                    score: s.score,
                })
                .collect();
            out.notes
                .push("several identifiers on the website fit the name alike: none chosen".into());
            return Ok(out);
        }
        if let Some((s, rec)) = passing.into_iter().next() {
            return Ok(out.matched("id_website", s.score.min(1.0), rec));
        }
        // 3. By name (a lead with only an id has none to search).
        if lead.name.trim().is_empty() {
            out.notes
                .push("no name to search the registries with".into());
            return Ok(out);
        }
        let country = country_hint(lead);
        let Some(registry) = self.registry_for(country.as_deref()) else {
            out.notes.push(format!(
                "no registry to search by name for country {}",
                country.as_deref().unwrap_or("unknown")
            ));
            return Ok(out);
        };
        let (cands, full) = self.search(registry, lead).await?;
        let q = Self::query(lead, country);
        let keep = |list: &[Scored], cands: &[Candidate]| -> Vec<CandidateOut> {
            list.iter()
                .map(|s| CandidateOut {
                    registry,
                    id: cands[s.index].id.clone(),
                    name: cands[s.index].names.first().cloned().unwrap_or_default(),
                    score: s.score,
                })
                .collect()
        };
        match matching::decide(&q, &cands, &self.match_cfg) {
            Decision::Matched(s) => {
                let (rec, fetched) = match full.get(s.index).cloned().flatten() {
                    Some(r) => (Some(r), false),
                    None => (self.by_id(registry, &cands[s.index].id).await?, true),
                };
                match rec {
                    // A record fetched after choosing by name alone (the SEC's list has no
                    // addresses) is scored again with its address and former names: a namesake
                    // in another city is not this company.
                    Some(rec) if fetched => {
                        let again = matching::score(&q, &candidate_of(&rec));
                        if again.score < self.match_cfg.accept {
                            out.status = MatchStatus::Unmatched;
                            out.candidates = vec![CandidateOut {
                                registry,
                                id: rec.registry_id.clone(),
                                name: rec.legal_name.clone(),
                                score: again.score,
                            }];
                            out.notes.push(format!(
                                "{} {} matched the name but not the rest of the record ({})",
                                registry.as_str(),
                                rec.registry_id,
                                again.evidence.join(", ")
                            ));
                            return Ok(out);
                        }
                        Ok(out.matched("name", again.score.min(1.0), rec))
                    }
                    Some(rec) => Ok(out.matched("name", s.score.min(1.0), rec)),
                    None => {
                        out.status = MatchStatus::Unmatched;
                        out.candidates = keep(std::slice::from_ref(&s), &cands);
                        out.notes.push(format!(
                            "{} {} chosen by name has no record",
                            registry.as_str(),
                            cands[s.index].id
                        ));
                        Ok(out)
                    }
                }
            }
            Decision::Ambiguous(list) => {
                out.status = MatchStatus::Ambiguous;
                out.candidates = keep(&list, &cands);
                out.notes.push(format!(
                    "{} candidates in {} score alike: none chosen",
                    list.len(),
                    registry.as_str()
                ));
                Ok(out)
            }
            Decision::Unmatched(list) => {
                out.status = MatchStatus::Unmatched;
                out.candidates = keep(&list, &cands);
                out.notes.push(if cands.is_empty() {
                    format!("no candidate in {}", registry.as_str())
                } else {
                    format!(
                        "best candidate in {} below the acceptance score",
                        registry.as_str()
                    )
                });
                Ok(out)
            }
        }
    }

    async fn by_id(&self, registry: Registry, id: &str) -> Result<Option<Firmographics>, ApiError> {
        match registry {
            Registry::Sirene => self.sirene_by_siren(id).await,
            Registry::SecEdgar => self.sec_by_cik(id).await,
            Registry::Gleif => self.gleif_by_lei(id).await,
            Registry::CompaniesHouse => self.uk_by_number(id).await,
        }
    }

    /// The number of SEC candidates indexed (for logs), if the index was built.
    pub fn sec_companies(&self) -> Option<usize> {
        self.sec_index
            .get()
            .and_then(|r| r.as_ref().ok())
            .map(|i| i.tickers.len())
    }
}
