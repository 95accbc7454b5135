//! Score: the open leads ranked by their probability of being won → `scores.parquet`.
//!
//! The model is the best cross-validated one of the evaluate stage (`evaluation.json`'s `best`),
//! refitted on every labelled lead with the same transforms ([`learn::Trained`]). A logistic
//! model gives its own probability; the centroid model's score is mapped to a probability by
//! Platt scaling on its out-of-fold scores, so that the tier thresholds mean the same whatever
//! model won. Each row says why: the won leads nearest by cosine, and the features whose
//! contribution to the log-odds (against the average labelled lead) is largest. Without a best
//! model (too few labels to evaluate) the stage writes an empty table and says so.

mod rows;

use anyhow::Context;
use learn::{Neighbours, Trained};

use super::evaluate::{self, evaluation::Evaluation, inputs};
use super::{Read, Stage, StageContext, StageOutcome};
use crate::config::{Config, ScoreSection};
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
        // The leads' text is read only for a model that uses it.
        let with_text = spec.is_some_and(|s| s.uses_text());
        let leads = inputs::load(
            ctx,
            ctx.config.evaluate.max_text_chars,
            true,
            with_text,
            &eval.excluded_attributes(),
        )?;
        let d = &leads.data;
        // The won leads with a vector, once: every open lead is compared to them.
        let won = Neighbours::new(
            (0..d.len())
                .filter(|&o| leads.known[o] && d.labels[o])
                .filter_map(|o| d.embedding[o].as_deref().map(|u| (o, u))),
        );
        let train: Vec<usize> = (0..d.len()).filter(|&r| leads.known[r]).collect();
        let open: Vec<usize> = (0..d.len()).filter(|&r| !leads.known[r]).collect();
        let mut scored = Vec::new();
        let model_name = spec.map_or("", |s| s.name);
        match spec {
            None => tracing::warn!(
                "score: evaluation.json has no best model (too few labelled leads to evaluate); no lead scored"
            ),
            Some(spec) => {
                let result = eval.model(spec.name).with_context(|| {
                    format!("{}: best model {} has no entry", evaluate::EVALUATION.name, spec.name)
                })?;
                let oof: Vec<Option<f64>> = leads
                    .lead_ids
                    .iter()
                    .map(|id| result.scores.get(id).copied())
                    .collect();
                if ctx.should_stop() {
                    return Ok(StageOutcome::Interrupted);
                }
                let model =
                    Trained::fit(spec, d, &train, &oof, evaluate::params(&ctx.config.evaluate))
                        .with_context(|| {
                            format!("refitting {} on {} labelled leads", spec.name, train.len())
                        })?;
                // Probabilities a sales team can read as such: Platt scaling fitted on the
                // model's out-of-fold scores (the centroid's model has its own already).
                let platt = match spec.kind {
                    learn::Kind::Centroid => None,
                    _ => {
                        let (s, y): (Vec<f64>, Vec<bool>) = train
                            .iter()
                            .filter_map(|&r| oof[r].map(|s| (s, d.labels[r])))
                            .unzip();
                        Some(learn::calibration::Platt::fit(&s, &y, true).with_context(|| {
                            format!("calibrating {} on its out-of-fold scores", spec.name)
                        })?)
                    }
                };
                ctx.progress.set_total(open.len() as u64);
                for &r in &open {
                    if ctx.should_stop() {
                        return Ok(StageOutcome::Interrupted);
                    }
                    let mut p = model.predict(d, r, sc.drivers)?;
                    if let Some(platt) = &platt {
                        p.probability = platt.apply(p.probability);
                    }
                    anyhow::ensure!(
                        p.probability.is_finite(),
                        "score: non-finite probability for lead {}",
                        leads.lead_ids[r]
                    );
                    let similar = d.embedding[r]
                        .as_deref()
                        .map(|v| won.nearest(v, sc.similar))
                        .unwrap_or_default();
                    scored.push(Scored {
                        row: r,
                        probability: p.probability,
                        tier: "",
                        similar,
                        drivers: p.drivers,
                    });
                    ctx.progress.inc(1, &leads.lead_ids[r]);
                }
            }
        }
        scored.sort_by(|a, b| {
            b.probability
                .total_cmp(&a.probability)
                .then(leads.lead_ids[a.row].cmp(&leads.lead_ids[b.row]))
        });
        let n_scored = scored.len();
        for (i, s) in scored.iter_mut().enumerate() {
            s.tier = tier(s.probability, i + 1, n_scored, sc);
        }
        let b = rows::batch(&leads.lead_ids, &leads.features, &scored, model_name)?;
        let count = |t: &str| scored.iter().filter(|s| s.tier == t).count() as u64;
        let counters = [
            ("scored".to_owned(), scored.len() as u64),
            ("trained_on".to_owned(), train.len() as u64),
            ("route".to_owned(), count("route")),
            ("nurture".to_owned(), count("nurture")),
            ("drop".to_owned(), count("drop")),
        ]
        .into_iter()
        .collect();
        let meta = vec![
            ("leadcrawl.score_model".to_owned(), model_name.to_owned()),
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
        let pending = table::write_pending(ctx.output_dir(), &SCORES, "", &[b], &ctx.prov, &meta)?;
        tracing::info!(
            model = model_name,
            scored = scored.len(),
            trained_on = train.len(),
            "scored the open leads"
        );
        ctx.store.commit(
            ctx.stage,
            &[pending],
            &[UnitOutcome::done("score")],
            &counters,
        )?;
        Ok(StageOutcome::Completed { units_failed: 0 })
    }
}
