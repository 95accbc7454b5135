//! Prospects: every active universe company scored by how much it looks like the clients →
//! `prospects.parquet` (the best `prospects.top`), `prospect_clients.parquet`, `prospects.json`
//! and `prospects.html`.
//!
//! The clients are the won leads matched to a universe company by identifier: the lead list's
//! SIREN or company number, else the `registry` stage's match. A seeded share of them
//! (`prospects.holdout_share`) is held out before anything is fitted. The model
//! ([`learn::pu::ProspectModel`]) is trained on the others: positive-unlabelled (Elkan–Noto,
//! clients against a uniform seeded sample of the rest of the universe), or won against lost.
//! With `prospects.method = "auto"` and at least `prospects.min_lost` lost leads matched, the
//! two are compared in an inner validation on the training clients ([`choose_method`]): lost
//! leads are in the seller's market like the clients, so won against lost may not tell a
//! client-like company from the rest of the universe, and is kept only when it ranks better.
//!
//! The universe is read twice, streamed batch by batch (never whole): the first pass finds the
//! leads' companies, draws the background sample (the `background` companies with the largest
//! seeded hash of their identifier: uniform, and the same whatever the order of the parts) and
//! counts the client profile's universe side; the second scores every active company not in the
//! lead list, keeping the best `top` in a heap and counting, for each held-out client, exactly
//! how many scored companies rank above it and alike (for the model and for the baseline). Both
//! passes read the identifiers, status and features only ([`company::SCAN_COLUMNS`]); the few
//! rows shown whole, the clients and the best `top`, are read again with every column at the end
//! ([`company::fetch_rows`]). Memory is the background sample, the heap and the leads: not the
//! universe.
//!
//! Everything is seeded and order-independent, and the outputs are committed in one state-store
//! transaction with the stage's one unit, so a killed run leaves nothing registered and the next
//! run writes the same tables.

pub mod company;
pub mod export;
pub mod report;
mod rows;

use std::collections::{BTreeMap, HashMap, HashSet};

use anyhow::Context;
use arrow::array::{Array, AsArray};
use learn::pu::{self, Method, ProspectModel, RankCounter, SegmentBaseline, SharedFloor, TopK};
use learn::{Design, Inputs, Neighbours, Params};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::{FileDef, Read, Stage, StageContext, StageOutcome};
use crate::config::{Config, ProspectsSection};
use crate::schema::{TableDef, LEADS, PROSPECTS, PROSPECT_CLIENTS, REGISTRY, UNIVERSE};
use crate::state::UnitOutcome;
use crate::table;
use company::Company;

pub struct ProspectsStage;

/// `prospects.json`: the method, the validation and the client profile.
pub const PROSPECTS_JSON: FileDef = FileDef {
    name: "prospects.json",
    stage: "prospects",
};

/// The last `prospects.json` the stage committed (checked against its recorded size and
/// checksum), for pages that show it beside their own (the evaluation report); `None` when the
/// stage has not run or its file is unreadable (logged).
pub fn registered_summary(ctx: &StageContext<'_>) -> Option<Summary> {
    let part = ctx
        .store
        .parts(PROSPECTS_JSON.stage)
        .ok()?
        .into_iter()
        .find(|p| p.table == PROSPECTS_JSON.name)?;
    let read = table::part_bytes(ctx.output_dir(), PROSPECTS_JSON.stage, &part)
        .map_err(anyhow::Error::from)
        .and_then(|b| Ok(serde_json::from_slice::<Summary>(&b)?));
    match read {
        Ok(s) => Some(s),
        Err(e) => {
            tracing::warn!("{}: not shown in the report: {e:#}", PROSPECTS_JSON.name);
            None
        }
    }
}

/// Version of `prospects.json`'s layout.
pub const SCHEMA_VERSION: u32 = 1;

/// The shares of the universe the validation reports recall at.
pub const RECALL_AT: [f64; 3] = [0.01, 0.05, 0.10];

/// Recall and median percentile of the held-out clients under one ranking.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Ranking {
    /// `(share of the universe, share of the held-out clients ranked within it)`.
    pub recall_at: Vec<(f64, f64)>,
    /// Median of the held-out clients' percentiles (100 = the top).
    pub median_percentile: Option<f64>,
}

/// The held-out validation.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Validation {
    pub holdout: usize,
    pub model: Ranking,
    /// Companies ranked by how many training clients share their NACE division × headcount band.
    pub baseline: Ranking,
}

/// One segment of the client profile.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Segment {
    /// `nace_section`, `headcount`, `age` or `region`.
    pub by: String,
    pub value: String,
    pub clients: u64,
    pub client_share: f64,
    pub universe: u64,
    pub universe_share: f64,
    /// `client_share / universe_share` (None when the universe has none).
    pub lift: Option<f64>,
}

/// `prospects.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Summary {
    pub schema_version: u32,
    pub run_id: String,
    pub config_hash: String,
    /// `positive_unlabelled`, `won_lost`, or null when nothing could be trained.
    pub method: Option<Method>,
    /// How `prospects.method = "auto"` chose between the two, when both were candidates.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub method_choice: Option<MethodChoice>,
    pub model: String,
    /// Elkan–Noto's labelling constant c.
    pub labelling_constant: Option<f64>,
    /// Estimated share of the unlabelled universe that looks like the clients (Elkan–Noto).
    pub class_prior: Option<f64>,
    /// `class_prior × scored`: how many companies of the universe that share stands for.
    pub estimated_client_like: Option<f64>,
    pub features: Vec<String>,
    pub excluded_features: Vec<String>,
    /// Days since 1970-01-01 at which ages are measured: the latest creation date of the
    /// active universe (so that a re-run another day gives the same ages).
    pub reference_date: Option<String>,
    /// Universe rows read, active ones, and active ones scored (not in the lead list).
    pub universe_companies: u64,
    pub universe_active: u64,
    pub scored: u64,
    pub clients_matched: usize,
    pub lost_matched: usize,
    pub clients_train: usize,
    pub clients_holdout: usize,
    /// Won leads with no active universe company.
    pub clients_unmatched: usize,
    pub background: usize,
    pub validation: Option<Validation>,
    pub profile: Vec<Segment>,
    pub notes: Vec<String>,
}

/// A labelled lead matched to a universe company.
#[derive(Debug, Clone)]
struct Client {
    lead_id: String,
    won: bool,
    matched_by: &'static str,
    company: Company,
    role: &'static str,
}

/// One lead's identifiers, in the order they are tried.
struct LeadKeys {
    lead_id: String,
    status: String,
    keys: Vec<((String, String), &'static str)>,
}

impl Stage for ProspectsStage {
    fn name(&self) -> &'static str {
        "prospects"
    }

    fn about(&self) -> &'static str {
        "every active universe company scored against the clients into `prospects.parquet`"
    }

    fn reads(&self) -> &'static [Read] {
        &[
            Read::Table(&LEADS),
            Read::Table(&REGISTRY),
            Read::Table(&UNIVERSE),
        ]
    }

    fn tables(&self) -> &'static [&'static TableDef] {
        &[&PROSPECTS, &PROSPECT_CLIENTS]
    }

    fn fingerprint(&self, config: &Config) -> anyhow::Result<String> {
        Ok(format!(
            "prospects={};rules=leadcrawl-prospects/1",
            config.fingerprint("prospects")
        ))
    }

    fn run(&self, ctx: &StageContext<'_>) -> anyhow::Result<StageOutcome> {
        let cfg = &ctx.config.prospects;
        remove_stale_temporaries(ctx.output_dir());
        let leads = lead_keys(ctx)?;
        let started = std::time::Instant::now();
        let parts = ctx.parts_of(&UNIVERSE)?;
        let Some(found) = first_pass(ctx, cfg, &leads, &parts)? else {
            return Ok(StageOutcome::Interrupted);
        };
        tracing::info!(
            companies = found.rows,
            seconds = started.elapsed().as_secs_f64(),
            "universe read: the leads' companies found, the background drawn"
        );
        let started = std::time::Instant::now();
        let mut notes = Vec::new();
        let mut clients = clients_of(&leads, &found.matched);
        let won: Vec<usize> = (0..clients.len()).filter(|&i| clients[i].won).collect();
        let lost = clients.len() - won.len();
        // Won leads whose identifiers name no active universe company.
        let unmatched = leads
            .iter()
            .filter(|l| l.status == "won")
            .filter(|l| !l.keys.iter().any(|(k, _)| found.matched.contains_key(k)))
            .count();
        // The hold-out, drawn before anything is fitted.
        let holdout_n = if won.len() >= 4 {
            ((won.len() as f64) * cfg.holdout_share).round() as usize
        } else {
            0
        };
        if holdout_n == 0 && cfg.holdout_share > 0.0 {
            notes.push(format!(
                "{} clients matched to the universe: too few to hold any out, so no validation",
                won.len()
            ));
        }
        for &i in learn::shuffled(&won, cfg.seed).iter().take(holdout_n) {
            clients[i].role = "holdout";
        }
        let (method, method_choice) = match cfg.method.as_str() {
            "won_lost" => (Method::WonLost, None),
            "auto" if lost >= cfg.min_lost => {
                let choice = choose_method(cfg, &clients, &found.background, found.reference)?;
                tracing::info!(
                    positive_unlabelled = choice.positive_unlabelled,
                    won_lost = choice.won_lost,
                    chosen = ?choice.chosen,
                    "method chosen on the training clients (inner validation, ROC-AUC against the background)"
                );
                (choice.chosen, Some(choice))
            }
            _ => (Method::PositiveUnlabelled, None),
        };
        for c in clients.iter_mut().filter(|c| !c.won) {
            c.role = if method == Method::WonLost {
                "negative"
            } else {
                "unused"
            };
        }
        let reference = found.reference.unwrap_or(0);
        let training: Vec<&Company> = clients
            .iter()
            .filter(|c| c.role == "train")
            .map(|c| &c.company)
            .collect();
        let baseline = SegmentBaseline::fit(
            training
                .iter()
                .map(|c| (c.nace_division.as_deref(), c.headcount_band.as_deref())),
        );
        let fitted = fit(cfg, method, &clients, &found.background, reference);
        let (model, train_set) = match fitted {
            Ok(m) => m,
            Err(e) => {
                let msg = format!(
                    "no model: {e} ({} clients in training, {} lost leads, {} background companies)",
                    training.len(),
                    lost,
                    found.background.len()
                );
                tracing::warn!("{msg}");
                notes.push(msg);
                make_whole(ctx, &parts, &found.located, &mut clients, &mut [])?;
                return commit(
                    ctx,
                    empty_summary(ctx, cfg, &found, &clients, unmatched, notes),
                    &[],
                    &clients,
                    &[],
                );
            }
        };
        match method {
            Method::PositiveUnlabelled => tracing::info!(
                seconds = started.elapsed().as_secs_f64(),
                clients = training.len(),
                background = found.background.len(),
                c = model.c,
                prior = model.prior.unwrap_or(f64::NAN),
                "positive-unlabelled model (Elkan–Noto) trained"
            ),
            Method::WonLost => tracing::info!(
                won = training.len(),
                lost,
                "won/lost model trained (at least prospects.min_lost lost leads)"
            ),
        }
        // Every client's score (the held-out ones are the references of the validation).
        let client_data = company::dataset(
            clients.iter().map(|c| &c.company),
            reference,
            &cfg.exclude_features,
        );
        let all: Vec<usize> = (0..clients.len()).collect();
        let client_raw = model.raw_scores(&client_data, &all)?;
        let client_baseline: Vec<f64> = clients
            .iter()
            .map(|c| {
                baseline.score(
                    c.company.nace_division.as_deref(),
                    c.company.headcount_band.as_deref(),
                )
            })
            .collect();
        let holdout: Vec<usize> = all
            .iter()
            .copied()
            .filter(|&i| clients[i].role == "holdout")
            .collect();
        let mut model_ranks =
            RankCounter::new(&holdout.iter().map(|&i| client_raw[i]).collect::<Vec<_>>());
        let mut baseline_ranks = RankCounter::new(
            &holdout
                .iter()
                .map(|&i| client_baseline[i])
                .collect::<Vec<_>>(),
        );
        // The second pass: score the universe.
        let started = std::time::Instant::now();
        let excluded = by_registry(&found.in_lead_list);
        // Parts are scored in parallel, each ranked into its own counters and top-k, merged in
        // part order (neither depends on the order).
        let floor = SharedFloor::default();
        // A logistic regression scores from the columns' values (bit for bit what its rows
        // give), trees from feature rows.
        let linear = model.trained.linear();
        let mut top: TopK<Kept> = TopK::new(cfg.top);
        // Each part counts from zero against the same references.
        let (no_model_ranks, no_baseline_ranks) = (model_ranks.clone(), baseline_ranks.clone());
        let width = rayon::current_num_threads().max(1);
        for (g, group) in parts.chunks(width).enumerate() {
            let scored_parts: Vec<anyhow::Result<Option<Ranked>>> = group
                .par_iter()
                .enumerate()
                .map(|(j, part)| {
                    if ctx.should_stop() {
                        return Ok(None);
                    }
                    let mut ranked = Ranked {
                        model: no_model_ranks.clone(),
                        baseline: no_baseline_ranks.clone(),
                        top: TopK::new(cfg.top),
                    };
                    company::stream_part(ctx.output_dir(), part, |b, first| {
                        let view = company::BatchView::new(b)?;
                        let rows: Vec<usize> = (0..view.len())
                            .filter(|&r| {
                                view.key(r).is_some_and(|(reg, id, active)| {
                                    active && !excluded.get(reg).is_some_and(|ids| ids.contains(id))
                                })
                            })
                            .collect();
                        if rows.is_empty() {
                            return Ok(());
                        }
                        let scores = match &linear {
                            Some(lin) => view.linear_scores(lin, &rows, reference)?,
                            None => {
                                let d = view.dataset(&rows, reference, &cfg.exclude_features);
                                let all: Vec<usize> = (0..rows.len()).collect();
                                model.raw_scores(&d, &all)?
                            }
                        };
                        let baselines = view.baseline_scores(&baseline, &rows);
                        for ((&r, s), b) in rows.iter().zip(scores).zip(baselines) {
                            ranked.model.observe(s);
                            ranked.baseline.observe(b);
                            if s >= floor.get() && ranked.top.admits_score(s) {
                                if let Some(c) = view.company(r) {
                                    let key = format!("{}:{}", c.registry, c.registry_id);
                                    let at = (g * width + j, first + r);
                                    ranked.top.push(s, key, || (c, b, at));
                                    floor.raise(ranked.top.floor());
                                }
                            }
                        }
                        Ok(())
                    })?;
                    ctx.progress.inc(1, "scoring the universe");
                    Ok(Some(ranked))
                })
                .collect();
            for ranked in scored_parts {
                let Some(ranked) = ranked? else {
                    return Ok(StageOutcome::Interrupted);
                };
                model_ranks.merge(&ranked.model)?;
                baseline_ranks.merge(&ranked.baseline)?;
                top.merge(ranked.top);
                floor.raise(top.floor());
            }
        }
        let scored = model_ranks.total();
        tracing::info!(
            scored,
            seconds = started.elapsed().as_secs_f64(),
            "universe scored"
        );
        let percentile = |rc: &RankCounter, s: f64| rc.top_share(s).map(|t| 100.0 * (1.0 - t));
        let mut client_rows = Vec::with_capacity(clients.len());
        for (i, c) in clients.iter().enumerate() {
            let held = c.role == "holdout";
            client_rows.push(rows::ClientRow {
                score: model.probability(client_raw[i]),
                raw_score: client_raw[i],
                percentile: held
                    .then(|| percentile(&model_ranks, client_raw[i]))
                    .flatten(),
                baseline_score: client_baseline[i],
                baseline_percentile: held
                    .then(|| percentile(&baseline_ranks, client_baseline[i]))
                    .flatten(),
            });
        }
        let validation = (!holdout.is_empty() && scored > 0).then(|| {
            let ranking = |pick: &dyn Fn(&rows::ClientRow) -> Option<f64>| {
                let p: Vec<f64> = holdout
                    .iter()
                    .filter_map(|&i| pick(&client_rows[i]))
                    .collect();
                let top_shares: Vec<f64> = p.iter().map(|x| 1.0 - x / 100.0).collect();
                Ranking {
                    recall_at: RECALL_AT
                        .iter()
                        .filter_map(|&a| Some((a, pu::recall_at(&top_shares, a + 1e-12)?)))
                        .collect(),
                    median_percentile: pu::median(&p),
                }
            };
            Validation {
                holdout: holdout.len(),
                model: ranking(&|r| r.percentile),
                baseline: ranking(&|r| r.baseline_percentile),
            }
        });
        if let Some(v) = &validation {
            let at5 = |r: &Ranking| {
                r.recall_at
                    .iter()
                    .find(|(a, _)| (*a - 0.05).abs() < 1e-9)
                    .map_or(f64::NAN, |x| x.1)
            };
            tracing::info!(
                holdout = v.holdout,
                recall_at_5 = at5(&v.model),
                baseline_recall_at_5 = at5(&v.baseline),
                median_percentile = v.model.median_percentile.unwrap_or(f64::NAN),
                "held-out clients ranked in the universe"
            );
        }
        // The best prospects, explained.
        let mut best = top.into_sorted();
        let clients_train = training.len();
        make_whole(ctx, &parts, &found.located, &mut clients, &mut best)?;
        let best_data = company::dataset(
            best.iter().map(|(_, _, (c, _, _))| c),
            reference,
            &cfg.exclude_features,
        );
        let neighbours = similar(&train_set, cfg)?;
        let nn = neighbours.as_ref().map(|(_, vectors, _)| {
            Neighbours::new(vectors.iter().enumerate().map(|(i, v)| (i, v.as_slice())))
        });
        let mut prospects = Vec::with_capacity(best.len());
        for (r, (raw, _, (c, b, _))) in best.iter().enumerate() {
            let p = model.explain(&best_data, r, cfg.drivers)?;
            let similar = match (&neighbours, &nn) {
                (Some((design, _, who)), Some(nn)) => {
                    let v = dense(design, &best_data, r)?;
                    nn.nearest(&v, cfg.similar)
                        .into_iter()
                        .map(|(i, cos)| (clients[who[i]].clone_ref(), cos))
                        .collect()
                }
                _ => Vec::new(),
            };
            prospects.push(rows::Prospect {
                rank: r as u32 + 1,
                score: model.probability(*raw),
                raw_score: *raw,
                percentile: 100.0 * (scored as f64 - (r + 1) as f64) / scored as f64,
                baseline_score: *b,
                drivers: p.drivers,
                similar,
                company: c.clone(),
            });
        }
        let prior = model.prior;
        let summary = Summary {
            schema_version: SCHEMA_VERSION,
            run_id: ctx.prov.run_id.clone(),
            config_hash: ctx.prov.config_hash.clone(),
            method: Some(method),
            method_choice,
            model: cfg.model.clone(),
            labelling_constant: (method == Method::PositiveUnlabelled).then_some(model.c),
            class_prior: prior,
            estimated_client_like: prior.map(|p| p * scored as f64),
            features: features(cfg),
            excluded_features: cfg.exclude_features.clone(),
            reference_date: found.reference.map(iso),
            universe_companies: found.rows,
            universe_active: found.active,
            scored,
            clients_matched: won.len(),
            lost_matched: lost,
            clients_train,
            clients_holdout: holdout.len(),
            clients_unmatched: unmatched,
            background: if method == Method::PositiveUnlabelled {
                found.background.len()
            } else {
                0
            },
            validation,
            profile: profile(&found, &clients),
            notes,
        };
        commit(ctx, summary, &prospects, &clients, &client_rows)
    }
}

impl Client {
    /// `(lead_id, registry_id, name)` of a client, for a prospect's similar clients.
    fn clone_ref(&self) -> rows::ClientRef {
        (
            self.lead_id.clone(),
            self.company.registry_id.clone(),
            self.company.name.clone(),
        )
    }
}

/// The whole files' temporaries a killed run left (the runner takes back the tables' own): the
/// output folder has one run at a time, so any is stale.
fn remove_stale_temporaries(output_dir: &std::path::Path) {
    let Ok(entries) = std::fs::read_dir(output_dir) else {
        return;
    };
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        if name.starts_with(table::TMP_PREFIX)
            && [PROSPECTS_JSON.name, "prospects.html"]
                .iter()
                .any(|f| name.ends_with(&format!("-{f}")))
        {
            let _ = std::fs::remove_file(e.path());
        }
    }
}

/// The model's features after `prospects.exclude_features`.
fn features(cfg: &ProspectsSection) -> Vec<String> {
    crate::config::PROSPECT_FEATURES
        .iter()
        .filter(|f| !cfg.exclude_features.iter().any(|e| e == *f))
        .map(|f| (*f).to_owned())
        .collect()
}

fn iso(days: i32) -> String {
    chrono::NaiveDate::from_ymd_opt(1970, 1, 1)
        .and_then(|e| e.checked_add_signed(chrono::Duration::days(days.into())))
        .map_or_else(String::new, |d| d.to_string())
}

/// Every lead's status and identifiers: the lead list's own first, then the registry match.
fn lead_keys(ctx: &StageContext<'_>) -> anyhow::Result<Vec<LeadKeys>> {
    let mut out = Vec::new();
    let mut pos: HashMap<String, usize> = HashMap::new();
    for b in ctx.read(&LEADS)? {
        let col = |n: &str| -> anyhow::Result<arrow::array::ArrayRef> {
            let c = b.column_by_name(n).with_context(|| format!("leads.{n}"))?;
            Ok(arrow::compute::cast(c, &arrow::datatypes::DataType::Utf8)?)
        };
        let (id, status, siren, number) = (
            col("lead_id")?,
            col("status")?,
            col("siren")?,
            col("company_number")?,
        );
        let (id, status, siren, number) = (
            id.as_string::<i32>(),
            status.as_string::<i32>(),
            siren.as_string::<i32>(),
            number.as_string::<i32>(),
        );
        for r in 0..b.num_rows() {
            let mut keys = Vec::new();
            if !siren.is_null(r) {
                keys.push((("sirene".to_owned(), siren.value(r).to_owned()), "input"));
            }
            if !number.is_null(r) {
                keys.push((
                    ("companies_house".to_owned(), number.value(r).to_owned()),
                    "input",
                ));
            }
            pos.insert(id.value(r).to_owned(), out.len());
            out.push(LeadKeys {
                lead_id: id.value(r).to_owned(),
                status: status.value(r).to_owned(),
                keys,
            });
        }
    }
    for b in ctx.read(&REGISTRY)? {
        let col = |n: &str| -> anyhow::Result<arrow::array::ArrayRef> {
            let c = b
                .column_by_name(n)
                .with_context(|| format!("registry.{n}"))?;
            Ok(arrow::compute::cast(c, &arrow::datatypes::DataType::Utf8)?)
        };
        let (id, st, reg, rid) = (
            col("lead_id")?,
            col("match_status")?,
            col("registry")?,
            col("registry_id")?,
        );
        let (id, st, reg, rid) = (
            id.as_string::<i32>(),
            st.as_string::<i32>(),
            reg.as_string::<i32>(),
            rid.as_string::<i32>(),
        );
        for r in 0..b.num_rows() {
            if st.is_null(r) || st.value(r) != "matched" || reg.is_null(r) || rid.is_null(r) {
                continue;
            }
            if let Some(&i) = pos.get(id.value(r)) {
                let key = (reg.value(r).to_owned(), rid.value(r).to_owned());
                if !out[i].keys.iter().any(|(k, _)| *k == key) {
                    out[i].keys.push((key, "registry"));
                }
            }
        }
    }
    Ok(out)
}

/// What the first pass over the universe finds.
struct Found {
    rows: u64,
    active: u64,
    /// Latest creation date of the active universe.
    reference: Option<i32>,
    /// The active universe companies of the leads' identifiers, as scanned (no names or
    /// addresses: [`make_whole`] reads them).
    matched: HashMap<(String, String), Company>,
    /// Where each of `matched` is: `(part, row)`.
    located: HashMap<(String, String), (usize, usize)>,
    /// Every identifier of the lead list (its companies are not prospects).
    in_lead_list: HashSet<(String, String)>,
    background: Vec<Company>,
    /// The universe side of the client profile: `(by, value) → active companies`; age bands are
    /// filled once the reference date is known, from `created_days`.
    universe_profile: BTreeMap<(String, String), u64>,
    created_days: BTreeMap<i32, u64>,
}

type IdsByRegistry<'a> = rustc_hash::FxHashMap<&'a str, rustc_hash::FxHashSet<&'a str>>;

/// Identifiers by registry, to look a `(&str, &str)` up without allocating (FxHash: looked up
/// for every universe company).
fn by_registry(keys: &HashSet<(String, String)>) -> IdsByRegistry<'_> {
    let mut out = IdsByRegistry::default();
    for (registry, id) in keys {
        out.entry(registry.as_str())
            .or_default()
            .insert(id.as_str());
    }
    out
}

/// A prospect kept while scanning: the company as scanned, its baseline score and where it is
/// (`(part, row)`, to read it whole at the end).
type Kept = (Company, f64, (usize, usize));

/// One part of the universe scored (merged into the stage's counters and top-k).
struct Ranked {
    model: RankCounter,
    baseline: RankCounter,
    top: TopK<Kept>,
}

/// What the first pass finds in one part of the universe (merged into [`Found`]).
struct Tally {
    rows: u64,
    active: u64,
    reference: Option<i32>,
    /// Scanned without their names and addresses: read whole once the pass is done.
    matched: HashMap<(String, String), Company>,
    /// Where each matched company is: `(key, (part, row))`.
    located: Vec<((String, String), (usize, usize))>,
    sample: TopK<Company>,
    /// By dimension, then value: counted without allocating for a value already seen.
    counts: HashMap<&'static str, HashMap<String, u64>>,
    /// Counted in a hash map (a company each), sorted when merged.
    created_days: rustc_hash::FxHashMap<i32, u64>,
    no_creation: u64,
}

impl Tally {
    fn new(background: usize) -> Tally {
        Tally {
            rows: 0,
            active: 0,
            reference: None,
            matched: HashMap::new(),
            located: Vec::new(),
            sample: TopK::new(background),
            counts: HashMap::new(),
            created_days: rustc_hash::FxHashMap::default(),
            no_creation: 0,
        }
    }

    fn read(
        &mut self,
        b: &arrow::array::RecordBatch,
        (part, first): (usize, usize),
        seed: u64,
        lead_ids: &IdsByRegistry<'_>,
        floor: &SharedFloor,
    ) -> anyhow::Result<()> {
        self.rows += b.num_rows() as u64;
        let view = company::BatchView::new(b)?;
        let active: Vec<usize> = (0..view.len())
            .filter(|&r| matches!(view.key(r), Some((_, _, true))))
            .collect();
        for by in ["nace_section", "headcount", "region"] {
            let counts = self.counts.entry(by).or_default();
            for (v, n) in view.value_counts(by, &active) {
                match counts.get_mut(v) {
                    Some(m) => *m += n,
                    None => {
                        counts.insert(v.to_owned(), n);
                    }
                }
            }
        }
        for &r in &active {
            let Some((registry, id, _)) = view.key(r) else {
                continue;
            };
            self.active += 1;
            match view.created_day(r) {
                Some(d) => {
                    *self.created_days.entry(d).or_default() += 1;
                    self.reference = Some(self.reference.map_or(d, |x| x.max(d)));
                }
                None => self.no_creation += 1,
            }
            if lead_ids.get(registry).is_some_and(|ids| ids.contains(id)) {
                if let Some(c) = view.company(r) {
                    self.located.push((c.key(), (part, first + r)));
                    self.matched.insert(c.key(), c);
                }
            } else {
                let h = sample_hash(seed, registry, id);
                // 53 bits: exact in an f64, ties broken by the identifier.
                let score = (h >> 11) as f64;
                if score >= floor.get() && self.sample.admits_score(score) {
                    if let Some(c) = view.company(r) {
                        let k = format!("{}:{}", c.registry, c.registry_id);
                        self.sample.push(score, k, || c);
                        floor.raise(self.sample.floor());
                    }
                }
            }
        }
        Ok(())
    }
}

/// A seeded 64-bit hash of an identifier (xxHash64): the background sample keeps the largest.
fn sample_hash(seed: u64, registry: &str, id: &str) -> u64 {
    use std::hash::Hasher;
    let mut h = twox_hash::XxHash64::with_seed(seed);
    h.write(registry.as_bytes());
    h.write(&[0]);
    h.write(id.as_bytes());
    h.finish()
}

/// The first pass; `None` when asked to stop.
fn first_pass(
    ctx: &StageContext<'_>,
    cfg: &ProspectsSection,
    leads: &[LeadKeys],
    parts: &[crate::state::PartRecord],
) -> anyhow::Result<Option<Found>> {
    let in_lead_list: HashSet<(String, String)> = leads
        .iter()
        .flat_map(|l| l.keys.iter().map(|(k, _)| k.clone()))
        .collect();
    let mut found = Found {
        rows: 0,
        active: 0,
        reference: None,
        matched: HashMap::new(),
        located: HashMap::new(),
        in_lead_list,
        background: Vec::new(),
        universe_profile: BTreeMap::new(),
        created_days: BTreeMap::new(),
    };
    let lead_ids = by_registry(&found.in_lead_list);
    ctx.progress.set_total(parts.len() as u64 * 2);
    // Parts are read in parallel, each into its own tally, merged in part order: sums, a
    // maximum, a union and a top-k, none of which depends on the order.
    let floor = SharedFloor::default();
    let mut sample: TopK<Company> = TopK::new(cfg.background);
    let mut universe_counts: HashMap<&'static str, HashMap<String, u64>> = HashMap::new();
    let mut no_creation = 0u64;
    // A core's worth of parts at a time: what is held is a few parts' tallies, not all.
    let mut located = Vec::new();
    let width = rayon::current_num_threads().max(1);
    for (g, group) in parts.chunks(width).enumerate() {
        let tallies: Vec<anyhow::Result<Option<Tally>>> = group
            .par_iter()
            .enumerate()
            .map(|(j, part)| {
                if ctx.should_stop() {
                    return Ok(None);
                }
                let mut t = Tally::new(cfg.background);
                company::stream_part(ctx.output_dir(), part, |b, first| {
                    t.read(b, (g * width + j, first), cfg.seed, &lead_ids, &floor)
                })?;
                ctx.progress.inc(1, "reading the universe");
                Ok(Some(t))
            })
            .collect();
        for t in tallies {
            let Some(t) = t? else {
                return Ok(None);
            };
            found.rows += t.rows;
            found.active += t.active;
            found.reference = found.reference.max(t.reference);
            found.matched.extend(t.matched);
            located.extend(t.located);
            for (d, n) in t.created_days {
                *found.created_days.entry(d).or_default() += n;
            }
            for (by, counts) in t.counts {
                let into = universe_counts.entry(by).or_default();
                for (v, n) in counts {
                    *into.entry(v).or_default() += n;
                }
            }
            no_creation += t.no_creation;
            sample.merge(t.sample);
            // The merged sample's floor: what later parts must beat (a part's own floor is
            // lower, and would let each part build thousands of companies that cannot stay).
            floor.raise(sample.floor());
        }
    }
    for (by, counts) in universe_counts {
        for (v, n) in counts {
            found.universe_profile.insert((by.to_owned(), v), n);
        }
    }
    if no_creation > 0 {
        found
            .universe_profile
            .insert(("age".to_owned(), "unknown".to_owned()), no_creation);
    }
    // Age bands need the reference date, known only now.
    if let Some(reference) = found.reference {
        for (&d, &n) in &found.created_days {
            let c = Company {
                created: Some(d),
                ..Company::default()
            };
            *found
                .universe_profile
                .entry((
                    "age".to_owned(),
                    company::age_band(&c, reference).to_owned(),
                ))
                .or_default() += n;
        }
    }
    found.located = located.into_iter().collect();
    found.background = sample
        .into_sorted()
        .into_iter()
        .map(|(_, _, c)| c)
        .collect();
    Ok(Some(found))
}

/// The clients and the best prospects as the scans read them (without names and addresses)
/// made whole: their rows read again with every column, the parts in parallel.
fn make_whole(
    ctx: &StageContext<'_>,
    parts: &[crate::state::PartRecord],
    located: &HashMap<(String, String), (usize, usize)>,
    clients: &mut [Client],
    best: &mut [(f64, String, Kept)],
) -> anyhow::Result<()> {
    let mut at: Vec<(usize, usize)> = clients
        .iter()
        .filter_map(|c| located.get(&c.company.key()).copied())
        .chain(best.iter().map(|(_, _, k)| k.2))
        .collect();
    at.sort_unstable();
    at.dedup();
    let by_part: Vec<&[(usize, usize)]> = at.chunk_by(|a, b| a.0 == b.0).collect();
    type Fetched = anyhow::Result<Vec<((usize, usize), Option<Company>)>>;
    let read: Vec<Fetched> = by_part
        .par_iter()
        .map(|here| {
            let rows: Vec<usize> = here.iter().map(|x| x.1).collect();
            let whole = company::fetch_rows(ctx.output_dir(), &parts[here[0].0], &rows)?;
            Ok(here.iter().copied().zip(whole).collect())
        })
        .collect();
    let mut wholes: HashMap<(usize, usize), Company> = HashMap::with_capacity(at.len());
    for r in read {
        wholes.extend(r?.into_iter().filter_map(|(a, c)| Some((a, c?))));
    }
    let whole = |scanned: &Company, at: (usize, usize)| -> anyhow::Result<Company> {
        match wholes.get(&at) {
            Some(c) if c.key() == scanned.key() => Ok(c.clone()),
            _ => anyhow::bail!(
                "universe {} row {}: no longer {}:{} (the table changed during the stage; run it again)",
                parts[at.0].file,
                at.1,
                scanned.registry,
                scanned.registry_id
            ),
        }
    };
    for c in clients.iter_mut() {
        if let Some(&a) = located.get(&c.company.key()) {
            c.company = whole(&c.company, a)?;
        }
    }
    for (_, _, (c, _, a)) in best.iter_mut() {
        *c = whole(c, *a)?;
    }
    Ok(())
}

/// The labelled leads matched to an active universe company (each lead by its first identifier
/// found), one client per company: two leads of one company (two contacts) are one client, won
/// when either is, under the smaller lead id. Otherwise one copy could train while its twin is
/// held out, and the validation would test the model on a company it has seen. In lead id
/// order; roles start as `train`.
fn clients_of(leads: &[LeadKeys], matched: &HashMap<(String, String), Company>) -> Vec<Client> {
    let mut out: Vec<Client> = Vec::new();
    for l in leads {
        let won = match l.status.as_str() {
            "won" => true,
            "lost" => false,
            _ => continue,
        };
        if let Some((c, by)) = l
            .keys
            .iter()
            .find_map(|(k, by)| matched.get(k).map(|c| (c, *by)))
        {
            out.push(Client {
                lead_id: l.lead_id.clone(),
                won,
                matched_by: by,
                company: c.clone(),
                role: "train",
            });
        }
    }
    out.sort_by(|a, b| a.lead_id.cmp(&b.lead_id));
    let mut by_company: HashMap<(String, String), usize> = HashMap::new();
    let mut kept: Vec<Client> = Vec::with_capacity(out.len());
    for c in out {
        let key = (c.company.registry.clone(), c.company.registry_id.clone());
        match by_company.get(&key) {
            Some(&i) => kept[i].won |= c.won,
            None => {
                by_company.insert(key, kept.len());
                kept.push(c);
            }
        }
    }
    kept
}

/// The training set: its companies, labels, and which rows are clients (`who`: client index).
struct TrainSet {
    data: learn::Dataset,
    /// Row → client index, for the client rows.
    clients: Vec<(usize, usize)>,
}

/// Fits the model on the training clients (and the background, or the lost leads).
fn fit(
    cfg: &ProspectsSection,
    method: Method,
    clients: &[Client],
    background: &[Company],
    reference: i32,
) -> anyhow::Result<(ProspectModel, TrainSet)> {
    let mut rows: Vec<&Company> = Vec::new();
    let mut labels = Vec::new();
    let mut who = Vec::new();
    for (i, c) in clients.iter().enumerate() {
        let label = match (c.role, method) {
            ("train", _) => true,
            ("negative", Method::WonLost) => false,
            _ => continue,
        };
        if label {
            who.push((rows.len(), i));
        }
        rows.push(&c.company);
        labels.push(label);
    }
    if method == Method::PositiveUnlabelled {
        for c in background {
            rows.push(c);
            labels.push(false);
        }
    }
    let mut data = company::dataset(rows.iter().copied(), reference, &cfg.exclude_features);
    data.labels = labels;
    let (spec, params) = spec_and_params(cfg)?;
    let train: Vec<usize> = (0..data.len()).collect();
    let model = match method {
        Method::PositiveUnlabelled => ProspectModel::fit_pu(spec, &data, &train, params)?,
        Method::WonLost => ProspectModel::fit_won_lost(spec, &data, &train, params)?,
    };
    Ok((model, TrainSet { data, clients: who }))
}

fn spec_and_params(cfg: &ProspectsSection) -> anyhow::Result<(&'static learn::ModelSpec, Params)> {
    let spec = learn::model(&cfg.model)
        .with_context(|| format!("prospects.model {:?} is not a model", cfg.model))?;
    let params = Params {
        c: cfg.c,
        // scikit-learn's default solver tolerance, as evaluate's default.
        tol: 1e-4,
        min_df: 1,
        seed: cfg.seed,
    };
    Ok((spec, params))
}

/// The inner validation of `prospects.method = "auto"` ([`choose_method`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MethodChoice {
    /// Folds of the training clients and of the background sample.
    pub folds: usize,
    /// ROC-AUC of the folds' clients against their background companies, pooled over the folds,
    /// for each method (`None` when a fold could not be fitted).
    pub positive_unlabelled: Option<f64>,
    pub won_lost: Option<f64>,
    pub chosen: Method,
}

/// Chooses between positive-unlabelled and won/lost learning on the training clients only (the
/// held-out ones stay unseen): the clients and the background sample are each split into 3
/// seeded folds; for each fold, positive-unlabelled is fitted on the other folds' clients
/// against the other folds' background, won/lost on the other folds' clients against every
/// lost lead, and both score the fold's clients and background companies. What a prospect list
/// needs is clients ranked above the rest of the universe: the ROC-AUC of clients against
/// background, pooled over the folds, decides. Won/lost is kept only when strictly better (and
/// only when it could be fitted on every fold).
fn choose_method(
    cfg: &ProspectsSection,
    clients: &[Client],
    background: &[Company],
    reference: Option<i32>,
) -> anyhow::Result<MethodChoice> {
    const FOLDS: usize = 3;
    let train: Vec<&Company> = clients
        .iter()
        .filter(|c| c.won && c.role == "train")
        .map(|c| &c.company)
        .collect();
    let lost: Vec<&Company> = clients
        .iter()
        .filter(|c| !c.won)
        .map(|c| &c.company)
        .collect();
    let mut choice = MethodChoice {
        folds: FOLDS,
        positive_unlabelled: None,
        won_lost: None,
        chosen: Method::PositiveUnlabelled,
    };
    if train.len() < 2 * FOLDS || background.len() < 2 * FOLDS || lost.is_empty() {
        return Ok(choice);
    }
    // Rows: training clients, then lost leads, then the background; labels: client or not.
    let rows: Vec<&Company> = train
        .iter()
        .chain(&lost)
        .copied()
        .chain(background.iter())
        .collect();
    let (n_train, n_lost) = (train.len(), lost.len());
    let mut data = company::dataset(
        rows.iter().copied(),
        reference.unwrap_or(0),
        &cfg.exclude_features,
    );
    data.labels = (0..rows.len()).map(|r| r < n_train).collect();
    let (spec, params) = spec_and_params(cfg)?;
    // Seeded folds: clients and background each dealt round-robin after a seeded shuffle.
    let mut fold = vec![usize::MAX; rows.len()];
    let clients_idx: Vec<usize> = (0..n_train).collect();
    let background_idx: Vec<usize> = (n_train + n_lost..rows.len()).collect();
    for idx in [clients_idx, background_idx] {
        for (j, r) in learn::shuffled(&idx, cfg.seed).into_iter().enumerate() {
            fold[r] = j % FOLDS;
        }
    }
    let lost_rows: Vec<usize> = (n_train..n_train + n_lost).collect();
    let mut scores: [Vec<f64>; 2] = [Vec::new(), Vec::new()];
    let mut labels = Vec::new();
    let mut failed = [false; 2];
    for f in 0..FOLDS {
        let test: Vec<usize> = (0..rows.len()).filter(|&r| fold[r] == f).collect();
        let other = |r: &usize| fold[*r] != f && fold[*r] != usize::MAX;
        let clients_other: Vec<usize> = (0..n_train).filter(other).collect();
        let pu_train: Vec<usize> = (0..rows.len()).filter(other).collect();
        let wl_train: Vec<usize> = clients_other.iter().chain(&lost_rows).copied().collect();
        let fitted = [
            ProspectModel::fit_pu(spec, &data, &pu_train, params),
            ProspectModel::fit_won_lost(spec, &data, &wl_train, params),
        ];
        for (i, m) in fitted.into_iter().enumerate() {
            match m.and_then(|m| m.raw_scores(&data, &test)) {
                Ok(s) => scores[i].extend(s),
                Err(e) => {
                    tracing::debug!("method choice, fold {f}: {e}");
                    failed[i] = true;
                }
            }
        }
        labels.extend(test.iter().map(|&r| data.labels[r]));
    }
    let auc = |i: usize| -> anyhow::Result<Option<f64>> {
        Ok(if failed[i] {
            None
        } else {
            learn::roc_auc(&scores[i], &labels)?
        })
    };
    choice.positive_unlabelled = auc(0)?;
    choice.won_lost = auc(1)?;
    if let (Some(wl), pu) = (choice.won_lost, choice.positive_unlabelled) {
        if pu.is_none_or(|pu| wl > pu) {
            choice.chosen = Method::WonLost;
        }
    }
    Ok(choice)
}

/// A row's standardised, one-hot firmographics as a dense vector.
fn dense(design: &Design, d: &learn::Dataset, r: usize) -> anyhow::Result<Vec<f32>> {
    let mut v = vec![0f32; design.dim()];
    for (j, x) in design.row(d, r)? {
        v[j as usize] = x as f32;
    }
    Ok(v)
}

type Similar = (Design, Vec<Vec<f32>>, Vec<usize>);

/// The training clients' vectors for "most similar clients": the firmographics design fitted
/// on the training set (standardised numbers, one-hot categories).
fn similar(set: &TrainSet, cfg: &ProspectsSection) -> anyhow::Result<Option<Similar>> {
    if cfg.similar == 0 || set.clients.is_empty() {
        return Ok(None);
    }
    let rows: Vec<usize> = (0..set.data.len()).collect();
    let inputs = Inputs {
        firmographics: true,
        ..Inputs::none()
    };
    let design = Design::fit(&set.data, &rows, inputs, 1)?;
    let vectors = set
        .clients
        .iter()
        .map(|&(r, _)| dense(&design, &set.data, r))
        .collect::<anyhow::Result<_>>()?;
    let who = set.clients.iter().map(|&(_, i)| i).collect();
    Ok(Some((design, vectors, who)))
}

/// The client profile: clients (every matched won lead) against the active universe, by NACE
/// section, headcount band, age band and region, with each segment's lift.
fn profile(found: &Found, clients: &[Client]) -> Vec<Segment> {
    let reference = found.reference.unwrap_or(0);
    let won: Vec<&Company> = clients
        .iter()
        .filter(|c| c.won)
        .map(|c| &c.company)
        .collect();
    let mut counts: BTreeMap<(String, String), u64> = BTreeMap::new();
    for c in &won {
        for (by, v) in [
            (
                "nace_section",
                c.nace_section.as_deref().unwrap_or("unknown"),
            ),
            ("headcount", company::size_band(c)),
            ("age", company::age_band(c, reference)),
            ("region", c.region.as_deref().unwrap_or("unknown")),
        ] {
            *counts.entry((by.to_owned(), v.to_owned())).or_default() += 1;
        }
    }
    let n_clients = won.len() as f64;
    let n_universe = found.active as f64;
    let mut out = Vec::new();
    let keys: std::collections::BTreeSet<&(String, String)> =
        counts.keys().chain(found.universe_profile.keys()).collect();
    for key in keys {
        let clients = counts.get(key).copied().unwrap_or(0);
        let universe = found.universe_profile.get(key).copied().unwrap_or(0);
        let client_share = if n_clients > 0.0 {
            clients as f64 / n_clients
        } else {
            0.0
        };
        let universe_share = if n_universe > 0.0 {
            universe as f64 / n_universe
        } else {
            0.0
        };
        out.push(Segment {
            by: key.0.clone(),
            value: key.1.clone(),
            clients,
            client_share,
            universe,
            universe_share,
            lift: (universe_share > 0.0).then(|| client_share / universe_share),
        });
    }
    out
}

fn empty_summary(
    ctx: &StageContext<'_>,
    cfg: &ProspectsSection,
    found: &Found,
    clients: &[Client],
    unmatched: usize,
    notes: Vec<String>,
) -> Summary {
    Summary {
        schema_version: SCHEMA_VERSION,
        run_id: ctx.prov.run_id.clone(),
        config_hash: ctx.prov.config_hash.clone(),
        method: None,
        method_choice: None,
        model: cfg.model.clone(),
        labelling_constant: None,
        class_prior: None,
        estimated_client_like: None,
        features: features(cfg),
        excluded_features: cfg.exclude_features.clone(),
        reference_date: found.reference.map(iso),
        universe_companies: found.rows,
        universe_active: found.active,
        scored: 0,
        clients_matched: clients.iter().filter(|c| c.won).count(),
        lost_matched: clients.iter().filter(|c| !c.won).count(),
        clients_train: clients.iter().filter(|c| c.role == "train").count(),
        clients_holdout: clients.iter().filter(|c| c.role == "holdout").count(),
        clients_unmatched: unmatched,
        background: found.background.len(),
        validation: None,
        profile: profile(found, clients),
        notes,
    }
}

/// Writes the tables and files and commits them with the stage's unit, in one transaction.
fn commit(
    ctx: &StageContext<'_>,
    summary: Summary,
    prospects: &[rows::Prospect],
    clients: &[Client],
    client_rows: &[rows::ClientRow],
) -> anyhow::Result<StageOutcome> {
    let meta = vec![
        (
            "leadcrawl.prospects_method".to_owned(),
            summary
                .method
                .map_or("none", |m| match m {
                    Method::PositiveUnlabelled => "positive_unlabelled",
                    Method::WonLost => "won_lost",
                })
                .to_owned(),
        ),
        (
            "leadcrawl.prospects_model".to_owned(),
            summary.model.clone(),
        ),
        ("leadcrawl.scored".to_owned(), summary.scored.to_string()),
        (
            "leadcrawl.labelling_constant".to_owned(),
            summary
                .labelling_constant
                .map_or_else(String::new, |c| c.to_string()),
        ),
    ];
    let client_rows: Vec<rows::ClientRow> = if client_rows.len() == clients.len() {
        client_rows.to_vec()
    } else {
        clients
            .iter()
            .map(|_| rows::ClientRow {
                score: f64::NAN,
                raw_score: f64::NAN,
                percentile: None,
                baseline_score: 0.0,
                baseline_percentile: None,
            })
            .collect()
    };
    let client_tuples: Vec<rows::ClientOut> = clients
        .iter()
        .zip(&client_rows)
        .map(|(c, r)| rows::ClientOut {
            lead_id: &c.lead_id,
            matched_by: c.matched_by,
            status: if c.won { "won" } else { "lost" },
            role: c.role,
            company: &c.company,
            row: r,
        })
        .collect();
    let mut pending = vec![
        table::write_pending(
            ctx.output_dir(),
            &PROSPECTS,
            "",
            &[rows::prospects_batch(prospects)?],
            &ctx.prov,
            &meta,
        )?,
        table::write_pending(
            ctx.output_dir(),
            &PROSPECT_CLIENTS,
            "",
            &[rows::clients_batch(&client_tuples)?],
            &ctx.prov,
            &meta,
        )?,
    ];
    pending.push(table::write_pending_bytes(
        ctx.output_dir(),
        PROSPECTS_JSON.name,
        &serde_json::to_vec_pretty(&summary)?,
        &ctx.prov,
    )?);
    pending.push(table::write_pending_bytes(
        ctx.output_dir(),
        "prospects.html",
        report::render(&summary, prospects).as_bytes(),
        &ctx.prov,
    )?);
    // Tests kill the process here: the files written, nothing registered.
    super::test_delay();
    let counters = [
        ("scored".to_owned(), summary.scored),
        ("prospects".to_owned(), prospects.len() as u64),
        ("clients".to_owned(), summary.clients_matched as u64),
    ]
    .into_iter()
    .collect();
    ctx.store.commit(
        ctx.stage,
        &pending,
        &[UnitOutcome::done("prospects")],
        &counters,
    )?;
    Ok(StageOutcome::Completed { units_failed: 0 })
}
