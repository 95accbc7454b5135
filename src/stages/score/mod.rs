//! Score: the open leads ranked by their probability of being won → `scores.parquet`.
//!
//! The model is the best cross-validated one of the evaluate stage (`evaluation.json`'s `best`),
//! refitted on every labelled lead with the same transforms ([`learn::Trained`]). A logistic
//! model gives its own probability; the centroid model's score is mapped to a probability by
//! Platt scaling on its out-of-fold scores, so that the tier thresholds mean the same whatever
//! model won. Each row says why: the won leads nearest by cosine, and the features whose
//! contribution to the log-odds (against the average labelled lead) is largest. Without a best
//! model (too few labels to evaluate) the stage writes an empty table and says so.

pub mod artefact;
pub mod history;
pub mod monitoring;
mod rows;

use anyhow::Context;
use learn::{Neighbours, Trained};
use rayon::prelude::*;

use super::evaluate::{self, evaluation::Evaluation, inputs};
use super::{Read, Stage, StageContext, StageOutcome};
use crate::config::{Config, ScoreSection};
use crate::exit::UsageError;
use crate::schema::{TableDef, FEATURES, LEADS, PAGE_TEXT, SCORES};
use crate::state::UnitOutcome;
use crate::table;
use rows::Scored;

pub struct ScoreStage;

/// The tier of the lead ranked `rank` (1 = best) of `n` with probability `p`: by rank share
/// (`score.route_share`, `score.nurture_share`) unless probability thresholds are set.
fn tier(p: f64, rank: usize, n: usize, s: &ScoreSection) -> &'static str {
    let (route, nurture) = match (s.route_at, s.nurture_at) {
        (Some(r), Some(nu)) => (p >= r, p >= nu),
        _ => {
            let cut = |share: f64| (share * n as f64).ceil() as usize;
            (
                rank <= cut(s.route_share),
                rank <= cut(s.route_share + s.nurture_share),
            )
        }
    };
    if route {
        "route"
    } else if nurture {
        "nurture"
    } else {
        "drop"
    }
}

impl Stage for ScoreStage {
    fn name(&self) -> &'static str {
        "score"
    }

    fn about(&self) -> &'static str {
        "the open leads' probability of being won, rank, tier and drivers into `scores.parquet`"
    }

    fn reads(&self) -> &'static [Read] {
        &[
            Read::Table(&FEATURES),
            Read::Table(&LEADS),
            Read::Table(&PAGE_TEXT),
            Read::File(&evaluate::EVALUATION),
        ]
    }

    fn tables(&self) -> &'static [&'static TableDef] {
        &[&SCORES]
    }

    fn fingerprint(&self, config: &Config) -> anyhow::Result<String> {
        Ok(format!(
            "score={};rules=leadcrawl-score/1",
            config.fingerprint("score")
        ))
    }

    fn run(&self, ctx: &StageContext<'_>) -> anyhow::Result<StageOutcome> {
        let sc = &ctx.config.score;
        let eval = Evaluation::read(ctx)?;
        let spec = match eval.best.as_deref() {
            None => None,
            Some(name) => Some(
                learn::model(name)
                    .with_context(|| format!("evaluation.json names an unknown model {name:?}"))?,
            ),
        };
        let pinned = match &sc.model {
            Some(v) => Some(artefact::load(ctx.output_dir(), v)?),
            None => None,
        };
        let pinned_spec = match &pinned {
            Some(a) => Some(learn::model(&a.model).ok_or_else(|| {
                UsageError(format!(
                    "score.model = {:?}: the artefact names a model this leadcrawl does not know ({:?})",
                    a.version, a.model
                ))
            })?),
            None => None,
        };
        // The leads' text is read only for a model that uses it.
        let with_text =
            spec.is_some_and(|s| s.uses_text()) || pinned_spec.is_some_and(|s| s.uses_text());
        let leads = inputs::load(
            ctx,
            ctx.config.evaluate.max_text_chars,
            true,
            with_text,
            &eval.excluded_attributes(),
        )?;
        let d = &leads.data;
        let embedding_model = inputs::model_id(&leads.features);
        // The won leads with a vector, once: every open lead is compared to them.
        let won = Neighbours::new(
            (0..d.len())
                .filter(|&o| leads.known[o] && d.labels[o])
                .filter_map(|o| d.embedding[o].as_deref().map(|u| (o, u))),
        );
        let train: Vec<usize> = (0..d.len()).filter(|&r| leads.known[r]).collect();
        let open: Vec<usize> = (0..d.len()).filter(|&r| !leads.known[r]).collect();
        let mut notes = Vec::new();
        let fitted = match spec {
            None => {
                tracing::warn!(
                    "score: evaluation.json has no best model (too few labelled leads to evaluate); no model fitted"
                );
                None
            }
            Some(spec) => {
                if ctx.should_stop() {
                    return Ok(StageOutcome::Interrupted);
                }
                Some(fit(
                    ctx,
                    &eval,
                    spec,
                    &leads,
                    &train,
                    embedding_model.clone(),
                )?)
            }
        };
        if ctx.should_stop() {
            return Ok(StageOutcome::Interrupted);
        }
        // The model that scores: the pinned one, else the one just fitted (read back from its
        // file, so that pinning it later scores exactly the same).
        let scoring = pinned.as_ref().or(fitted.as_ref());
        let mut scored = Vec::new();
        let mut shadow_probabilities = Vec::new();
        if let Some(model) = scoring {
            if let (Some(want), Some(got)) = (&model.embedding_model, &embedding_model) {
                if pinned.is_some() && model.columns.embedding_dim > 0 && want != got {
                    return Err(UsageError(format!(
                        "score.model = {:?} was fitted on vectors of {want}, these leads have vectors of {got}; remove score.model to refit",
                        model.version
                    ))
                    .into());
                }
            }
            let (aligned, absent) =
                model_view(&leads, model)?
                    .aligned(&model.columns)
                    .map_err(|e| {
                        UsageError(format!(
                            "model {} cannot read these leads: {e}",
                            model.version
                        ))
                    })?;
            if !absent.is_empty() {
                let msg = format!(
                    "model {} reads columns these leads lack (scored as missing): {}",
                    model.version,
                    absent.join(", ")
                );
                tracing::warn!("{msg}");
                notes.push(msg);
            }
            let shadow = match (&pinned, &fitted) {
                (Some(_), Some(f)) => Some((f, model_view(&leads, f)?.aligned(&f.columns)?.0)),
                _ => None,
            };
            ctx.progress.set_total(open.len() as u64);
            // Leads are independent: scored in parallel, a few thousand at a time (so that a
            // stop waits for one chunk), kept in lead order.
            for chunk in open.chunks(2048) {
                if ctx.should_stop() {
                    return Ok(StageOutcome::Interrupted);
                }
                // A lead scored, with the shadow model's probability when one runs.
                type Done = anyhow::Result<(Scored, Option<(usize, f64)>)>;
                let done: Vec<Done> = chunk
                    .par_iter()
                    .map(|&r| {
                        let p = model.predict(&aligned, r, sc.drivers)?;
                        anyhow::ensure!(
                            p.probability.is_finite(),
                            "score: non-finite probability for lead {}",
                            leads.lead_ids[r]
                        );
                        let shadow = match &shadow {
                            Some((f, fd)) => Some((r, f.probabilities(fd, &[r])?[0])),
                            None => None,
                        };
                        let similar = d.embedding[r]
                            .as_deref()
                            .map(|v| won.nearest(v, sc.similar))
                            .unwrap_or_default();
                        Ok((
                            Scored {
                                row: r,
                                probability: p.probability,
                                tier: "",
                                similar,
                                drivers: p.drivers,
                            },
                            shadow,
                        ))
                    })
                    .collect();
                for one in done {
                    let (s, shadow) = one?;
                    shadow_probabilities.extend(shadow);
                    scored.push(s);
                }
                ctx.progress
                    .inc(chunk.len() as u64, "scoring the open leads");
            }
        } else {
            tracing::warn!("score: no model; no lead scored");
        }
        let rank_order = |a: &(usize, f64), b: &(usize, f64)| {
            b.1.total_cmp(&a.1)
                .then(leads.lead_ids[a.0].cmp(&leads.lead_ids[b.0]))
        };
        scored.sort_by(|a, b| rank_order(&(a.row, a.probability), &(b.row, b.probability)));
        let n_scored = scored.len();
        for (i, s) in scored.iter_mut().enumerate() {
            s.tier = tier(s.probability, i + 1, n_scored, sc);
        }
        let model_name = scoring.map_or("", |m| m.model.as_str());
        let model_version = scoring.map_or("", |m| m.version.as_str());
        let b = rows::batch(&leads.lead_ids, &leads.features, &scored, model_name)?;

        // The history: this scoring, once.
        let crm_ids = external_ids(&leads)?;
        let entries: Vec<history::Entry<'_>> = scored
            .iter()
            .enumerate()
            .map(|(i, s)| history::Entry {
                lead_id: &leads.lead_ids[s.row],
                crm_id: crm_ids[s.row].as_deref(),
                probability: s.probability,
                rank: i as u32 + 1,
                tier: s.tier,
            })
            .collect();
        let key = history::key(model_version, &entries);
        let earlier = history::read_earlier(ctx, &history::part_name(&key))?;
        let mut by_crm = std::collections::HashMap::new();
        let mut by_lead = std::collections::HashMap::new();
        for &r in &train {
            if let Some(c) = &crm_ids[r] {
                by_crm.insert(c.clone(), d.labels[r]);
            }
            by_lead.insert(leads.lead_ids[r].clone(), d.labels[r]);
        }
        let realised = history::realised(&earlier, &history::Outcomes { by_crm, by_lead })?;
        for r in &realised {
            tracing::info!(
                run = %r.run_id,
                model_version = %r.model_version,
                closed = r.closed,
                won = r.won,
                roc_auc = r.roc_auc.unwrap_or(f64::NAN),
                "realised: an earlier scoring against the outcomes known now"
            );
        }

        // Drift: the score and each feature, labelled leads vs scored ones; the score, the
        // previous scoring vs this one.
        let mut drift = Vec::new();
        let too_few = [(train.len(), "labelled"), (scored.len(), "scored")]
            .into_iter()
            .find(|(n, _)| *n < monitoring::PSI_MIN_ROWS);
        if let (Some((n, which)), Some(_)) = (too_few, scoring) {
            notes.push(format!(
                "drift not measured: {n} {which} leads, the population stability index needs at least {} on each side",
                monitoring::PSI_MIN_ROWS
            ));
        }
        if let (Some(model), None) = (scoring, too_few) {
            let (aligned, _) = model_view(&leads, model)?.aligned(&model.columns)?;
            let train_p: Vec<Option<f64>> = model
                .probabilities(&aligned, &train)?
                .into_iter()
                .map(Some)
                .collect();
            let open_p: Vec<Option<f64>> = scored.iter().map(|s| Some(s.probability)).collect();
            if let Some(psi) = monitoring::psi_numeric(&train_p, &open_p) {
                drift.push(monitoring::Psi {
                    name: "score".into(),
                    between: monitoring::BETWEEN_TRAINING_AND_SCORED.into(),
                    psi,
                    flag: monitoring::flag(psi).into(),
                });
            }
            let previous = earlier
                .iter()
                .filter(|(_, rows)| !rows.is_empty())
                .max_by_key(|(_, rows)| rows[0].scored_at);
            if let Some((_, prev)) = previous {
                let prev_p: Vec<Option<f64>> = prev.iter().map(|r| Some(r.probability)).collect();
                if let Some(psi) = monitoring::psi_numeric(&prev_p, &open_p) {
                    drift.push(monitoring::Psi {
                        name: "score".into(),
                        between: monitoring::BETWEEN_RUNS.into(),
                        psi,
                        flag: monitoring::flag(psi).into(),
                    });
                }
            }
            let train_profiles = monitoring::feature_profiles(&aligned, &train);
            drift.extend(monitoring::feature_drift(
                &aligned,
                &train_profiles,
                &open,
                monitoring::BETWEEN_TRAINING_AND_SCORED,
            ));
            if let Some((file, _)) = previous {
                let before = history::profiles_of(ctx, file)?;
                drift.extend(monitoring::feature_drift(
                    d,
                    &before,
                    &open,
                    monitoring::BETWEEN_RUNS,
                ));
            }
        }
        // What the next run compares its leads with.
        let profiles = monitoring::feature_profiles(d, &open);
        for p in drift.iter().filter(|p| p.flag != "stable") {
            tracing::warn!(
                name = %p.name,
                between = %p.between,
                psi = p.psi,
                "drift: population stability index {} ({})",
                p.flag,
                if p.flag == "act" { "≥ 0.25" } else { "≥ 0.1" }
            );
        }

        let shadow = match (&pinned, &fitted) {
            (Some(p), Some(f)) => Some(shadow_comparison(
                p,
                f,
                &scored,
                &shadow_probabilities,
                |a, b| rank_order(a, b),
                sc,
            )),
            _ => None,
        };
        if let Some(s) = &shadow {
            tracing::info!(
                pinned = %s.pinned_version,
                fitted = %s.fitted_version,
                tier_agreement = s.tier_agreement,
                spearman = s.spearman.unwrap_or(f64::NAN),
                "shadow: the pinned model beside the refitted one"
            );
        }
        let mon = monitoring::Monitoring {
            schema_version: monitoring::SCHEMA_VERSION,
            run_id: ctx.prov.run_id.clone(),
            model_version: scoring.map(|m| m.version.clone()),
            model: scoring.map(|m| m.model.clone()),
            pinned: pinned.is_some(),
            fitted_version: fitted.as_ref().map(|m| m.version.clone()),
            shadow,
            realised,
            drift,
            notes,
        };
        // A scoring of no lead (every lead labelled) leaves nothing to remember.
        if scoring.is_some() && !entries.is_empty() {
            history::append(ctx, &key, model_version, model_name, &entries, &profiles)?;
        }

        let count = |t: &str| scored.iter().filter(|s| s.tier == t).count() as u64;
        let (watch, act) = mon.drift_flags();
        let counters = [
            ("scored".to_owned(), scored.len() as u64),
            ("trained_on".to_owned(), train.len() as u64),
            ("route".to_owned(), count("route")),
            ("nurture".to_owned(), count("nurture")),
            ("drop".to_owned(), count("drop")),
            ("drift_watch".to_owned(), watch),
            ("drift_act".to_owned(), act),
        ]
        .into_iter()
        .collect();
        let meta = vec![
            ("leadcrawl.score_model".to_owned(), model_name.to_owned()),
            (
                "leadcrawl.model_version".to_owned(),
                model_version.to_owned(),
            ),
            (
                "leadcrawl.tiers".to_owned(),
                if sc.route_at.is_some() {
                    "probability"
                } else {
                    "share"
                }
                .to_owned(),
            ),
            (
                "leadcrawl.route_share".to_owned(),
                sc.route_share.to_string(),
            ),
            (
                "leadcrawl.nurture_share".to_owned(),
                sc.nurture_share.to_string(),
            ),
            (
                "leadcrawl.route_at".to_owned(),
                sc.route_at.map(|v| v.to_string()).unwrap_or_default(),
            ),
            (
                "leadcrawl.nurture_at".to_owned(),
                sc.nurture_at.map(|v| v.to_string()).unwrap_or_default(),
            ),
            ("leadcrawl.trained_on".to_owned(), train.len().to_string()),
        ];
        // Written even when empty, so that readers always find the file and its schema.
        let pending = vec![
            table::write_pending(ctx.output_dir(), &SCORES, "", &[b], &ctx.prov, &meta)?,
            table::write_pending_bytes(
                ctx.output_dir(),
                monitoring::MONITORING.name,
                &mon.to_json()?,
                &ctx.prov,
            )?,
            table::write_pending_bytes(
                ctx.output_dir(),
                monitoring::MONITORING_PAGE,
                evaluate::report::render_monitoring(&mon).as_bytes(),
                &ctx.prov,
            )?,
        ];
        tracing::info!(
            model = model_name,
            model_version,
            pinned = pinned.is_some(),
            scored = scored.len(),
            trained_on = train.len(),
            "scored the open leads"
        );
        ctx.store.commit(
            ctx.stage,
            &pending,
            &[UnitOutcome::done("score")],
            &counters,
        )?;
        Ok(StageOutcome::Completed { units_failed: 0 })
    }
}

/// Refits `spec` on the labelled leads, saves it as an artefact and returns it read back from
/// the file's bytes.
fn fit(
    ctx: &StageContext<'_>,
    eval: &Evaluation,
    spec: &'static learn::ModelSpec,
    leads: &inputs::Leads,
    train: &[usize],
    embedding_model: Option<String>,
) -> anyhow::Result<artefact::ModelArtefact> {
    let d = &leads.data;
    let result = eval.model(spec.name).with_context(|| {
        format!(
            "{}: best model {} has no entry",
            evaluate::EVALUATION.name,
            spec.name
        )
    })?;
    let oof: Vec<Option<f64>> = leads
        .lead_ids
        .iter()
        .map(|id| result.scores.get(id).copied())
        .collect();
    let params = evaluate::params(&ctx.config.evaluate);
    let model = Trained::fit(spec, d, train, &oof, params)
        .with_context(|| format!("refitting {} on {} labelled leads", spec.name, train.len()))?;
    // Probabilities a sales team can read as such: Platt's sigmoid or isotonic steps, chosen
    // and fitted on the model's out-of-fold scores as evaluate chose them fold by fold (the
    // centroid's model has its own map already).
    let calibrator = match spec.kind {
        learn::Kind::Centroid => None,
        _ => {
            let (s, y): (Vec<f64>, Vec<bool>) = train
                .iter()
                .filter_map(|&r| oof[r].map(|s| (s, d.labels[r])))
                .unzip();
            Some(
                learn::calibration::Calibrator::fit(&s, &y, true, params.seed).with_context(
                    || format!("calibrating {} on its out-of-fold scores", spec.name),
                )?,
            )
        }
    };
    let won = train.iter().filter(|&&r| d.labels[r]).count();
    let a = artefact::ModelArtefact {
        format: artefact::FORMAT,
        version: String::new(),
        model: spec.name.to_owned(),
        description: spec.description.to_owned(),
        params,
        embedding_model: embedding_model.filter(|_| spec.uses_embedding()),
        columns: d.columns(),
        features: model.feature_names(),
        excluded_attributes: eval.excluded_attributes(),
        attribute_encodings: Some(
            leads
                .encodings
                .iter()
                .filter(|e| {
                    let a = &d.columns().attributes;
                    a.numeric
                        .iter()
                        .chain(&a.categorical)
                        .any(|c| c == e.column())
                })
                .cloned()
                .collect(),
        ),
        training: artefact::TrainingSet {
            leads: train.len(),
            won,
            lost: train.len() - won,
            hash: artefact::training_hash(d, &leads.lead_ids, train),
        },
        cv: Some(artefact::CvFigures {
            folds: eval.k,
            seed: eval.seed,
            metrics: result.metrics.clone(),
            roc_auc_interval: result.roc_auc_interval,
            calibration: result.calibration.clone(),
        }),
        platt: None,
        isotonic: None,
        trained: model,
    }
    .with_calibrator(calibrator)
    .seal()?;
    let body = artefact::save(ctx.output_dir(), ctx.store, &ctx.prov, &a)?;
    tracing::info!(
        model = spec.name,
        version = %a.version,
        file = %artefact::path(ctx.output_dir(), &a.version).display(),
        "saved the fitted model (pin it with score.model)"
    );
    Ok(artefact::parse(&body, &a.version)?)
}

/// The leads as `model` reads them: attribute columns encoded as when it was fitted (a model
/// saved before encodings were kept reads them as this list decides).
fn model_view(
    leads: &inputs::Leads,
    model: &artefact::ModelArtefact,
) -> anyhow::Result<learn::Dataset> {
    match &model.attribute_encodings {
        Some(e) => leads.data_encoded_as(e),
        None => Ok(leads.data.clone()),
    }
}

/// The pinned and the refitted model's tiers and ranks on the same open leads.
fn shadow_comparison(
    pinned: &artefact::ModelArtefact,
    fitted: &artefact::ModelArtefact,
    scored: &[Scored],
    fitted_p: &[(usize, f64)],
    order: impl Fn(&(usize, f64), &(usize, f64)) -> std::cmp::Ordering,
    sc: &ScoreSection,
) -> monitoring::Shadow {
    let n = fitted_p.len();
    let mut ranked = fitted_p.to_vec();
    ranked.sort_by(&order);
    let fitted_tier: std::collections::HashMap<usize, &str> = ranked
        .iter()
        .enumerate()
        .map(|(i, &(r, p))| (r, tier(p, i + 1, n, sc)))
        .collect();
    let fitted_of: std::collections::HashMap<usize, f64> = fitted_p.iter().copied().collect();
    let mut pairs: std::collections::BTreeMap<(String, String), usize> = Default::default();
    let (mut a, mut b) = (Vec::new(), Vec::new());
    for s in scored {
        let ft = fitted_tier.get(&s.row).copied().unwrap_or("");
        *pairs.entry((s.tier.to_owned(), ft.to_owned())).or_default() += 1;
        a.push(s.probability);
        b.push(fitted_of.get(&s.row).copied().unwrap_or(f64::NAN));
    }
    let same: usize = pairs
        .iter()
        .filter(|((x, y), _)| x == y)
        .map(|(_, c)| c)
        .sum();
    monitoring::Shadow {
        pinned_version: pinned.version.clone(),
        pinned_model: pinned.model.clone(),
        fitted_version: fitted.version.clone(),
        fitted_model: fitted.model.clone(),
        leads: scored.len(),
        tier_agreement: if scored.is_empty() {
            1.0
        } else {
            same as f64 / scored.len() as f64
        },
        spearman: monitoring::spearman(&a, &b),
        tiers: pairs.into_iter().map(|((x, y), c)| (x, y, c)).collect(),
    }
}

/// `features.external_id` of every loaded lead (the CRM id, when the lead list maps one).
fn external_ids(leads: &inputs::Leads) -> anyhow::Result<Vec<Option<String>>> {
    use arrow::array::{Array, AsArray};
    let f = &leads.features;
    let ids = f
        .column_by_name("lead_id")
        .context("features.lead_id")?
        .as_string::<i32>();
    let ext = f
        .column_by_name("external_id")
        .context("features.external_id")?;
    let ext = arrow::compute::cast(ext, &arrow::datatypes::DataType::Utf8)?;
    let ext = ext.as_string::<i32>();
    let of: std::collections::HashMap<&str, Option<&str>> = (0..f.num_rows())
        .map(|i| (ids.value(i), (!ext.is_null(i)).then(|| ext.value(i))))
        .collect();
    Ok(leads
        .lead_ids
        .iter()
        .map(|id| of.get(id.as_str()).copied().flatten().map(str::to_owned))
        .collect())
}
