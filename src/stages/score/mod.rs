//! Score: the open leads ranked by their probability of being won → `scores.parquet`.
//!
//! The model is the best cross-validated one of the evaluate stage (`evaluation.json`'s `best`),
//! refitted on every labelled lead with the same transforms. A logistic model gives its own
//! probability; the centroid model's score (a cosine difference in [−2, 2]) is mapped to a
//! probability by a one-feature logistic fit on its out-of-fold scores (Platt scaling), so that
//! the tier thresholds mean the same whatever model won. Each row says why: the won leads
//! nearest by cosine, and the features whose contribution to the log-odds (against the average
//! labelled lead) is largest. Without a best model (too few labels to evaluate) the stage writes
//! an empty table and says so.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use anyhow::Context;
use arrow::array::{
    Array, ArrayRef, AsArray, Float64Array, Float64Builder, ListBuilder, RecordBatch, StringArray,
    StringBuilder, StructBuilder, UInt32Array,
};
use arrow::datatypes::{DataType, Field};
use learn::{Centroid, Logistic, SparseRow};

use super::evaluate::{self, Data, Fitted, MODELS};
use super::{Read, Stage, StageContext, StageOutcome};
use crate::config::Config;
use crate::schema::{self, TableDef, FEATURES, LEADS, PAGE_TEXT, SCORES};
use crate::state::UnitOutcome;
use crate::table;

pub struct ScoreStage;

/// One scored lead.
struct Scored {
    row: usize,
    probability: f64,
    similar: Vec<(usize, f64)>,
    drivers: Vec<(String, f64)>,
}

/// The model refitted on every labelled lead.
enum Model {
    Logistic {
        fitted: Box<Fitted>,
        /// Mean feature row of the training leads: contributions are measured from it.
        mean: Vec<f64>,
        /// What each feature is, for people (named once, not per lead).
        names: Vec<String>,
    },
    Centroid {
        centroid: Centroid,
        platt: Logistic,
    },
}

fn norm(v: &[f32]) -> f64 {
    v.iter()
        .map(|&x| f64::from(x) * f64::from(x))
        .sum::<f64>()
        .sqrt()
}

/// Cosine of two vectors whose norms are known (0 when either is zero).
fn cosine_with(a: &[f32], na: f64, b: &[f32], nb: f64) -> f64 {
    if na > 0.0 && nb > 0.0 {
        a.iter()
            .zip(b)
            .map(|(&x, &y)| f64::from(x) * f64::from(y))
            .sum::<f64>()
            / (na * nb)
    } else {
        0.0
    }
}

/// The `k` won leads nearest to `v` by cosine, nearest first (ties by row).
fn nearest(v: &[f32], won: &[(usize, &[f32], f64)], k: usize) -> Vec<(usize, f64)> {
    let nv = norm(v);
    let mut all: Vec<(usize, f64)> = won
        .iter()
        .map(|&(r, u, nu)| (r, cosine_with(v, nv, u, nu)))
        .collect();
    let order = |a: &(usize, f64), b: &(usize, f64)| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0));
    if k > 0 && all.len() > k {
        all.select_nth_unstable_by(k - 1, order);
        all.truncate(k);
    }
    all.sort_by(order);
    all.truncate(k);
    all
}

/// The `k` largest contributions by magnitude, the embedding's dimensions summed into one.
fn top_drivers(
    fitted: &Fitted,
    names: &[String],
    row: &SparseRow,
    mean: &[f64],
    k: usize,
) -> Vec<(String, f64)> {
    let Some(model) = fitted.model.as_ref() else {
        return Vec::new();
    };
    let w = model.weights();
    let mut x = vec![0.0f64; fitted.dim()];
    for &(j, v) in row {
        x[j as usize] = v;
    }
    let mut by_name: BTreeMap<&str, f64> = BTreeMap::new();
    // TF-IDF spreads the text's weight over thousands of terms, each too small to show: their
    // sum is one driver too, next to the terms that moved the score most.
    let mut text_total = None::<f64>;
    for (j, (&wj, (&xj, &mj))) in w.iter().zip(x.iter().zip(mean)).enumerate() {
        let c = wj * (xj - mj);
        if c != 0.0 {
            let name = names[j].as_str();
            if name.starts_with("text \"") {
                *text_total.get_or_insert(0.0) += c;
            }
            *by_name.entry(name).or_default() += c;
        }
    }
    if let Some(t) = text_total {
        by_name.insert("text (all terms)", t);
    }
    let mut v: Vec<(&str, f64)> = by_name.into_iter().filter(|(_, c)| *c != 0.0).collect();
    v.sort_by(|a, b| b.1.abs().total_cmp(&a.1.abs()).then(a.0.cmp(b.0)));
    v.truncate(k);
    v.into_iter().map(|(n, c)| (n.to_owned(), c)).collect()
}

/// The evaluation's verdict: the best model's name and its out-of-fold scores.
fn read_evaluation(
    ctx: &StageContext<'_>,
) -> anyhow::Result<(Option<String>, HashMap<String, f64>)> {
    let path = ctx.output_dir().join(evaluate::EVALUATION.name);
    let text = ctx
        .read_file(&evaluate::EVALUATION)
        .context("run the evaluate stage first")?;
    let v: serde_json::Value =
        serde_json::from_slice(&text).with_context(|| format!("parsing {}", path.display()))?;
    let best = v["best"].as_str().map(str::to_owned);
    let mut oof = HashMap::new();
    if let Some(best) = &best {
        let model = v["models"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|m| m["name"].as_str() == Some(best.as_str()))
            .with_context(|| format!("{}: best model {best} has no entry", path.display()))?;
        if let Some(scores) = model["scores"].as_object() {
            for (id, s) in scores {
                if let Some(s) = s.as_f64() {
                    oof.insert(id.clone(), s);
                }
            }
        }
    }
    Ok((best, oof))
}

fn fit(
    ctx: &StageContext<'_>,
    d: &Data,
    name: &str,
    oof: &HashMap<String, f64>,
) -> anyhow::Result<Model> {
    let (_, _, inputs) = MODELS
        .iter()
        .find(|(n, _, _)| *n == name)
        .with_context(|| format!("evaluation.json names an unknown model {name:?}"))?;
    let train: Vec<usize> = (0..d.labels.len()).filter(|&r| d.known[r]).collect();
    match inputs {
        Some(inputs) => {
            let fitted = Fitted::fit_with(d, &d.labels, &train, *inputs, &ctx.config.evaluate)
                .with_context(|| format!("refitting {name} on {} labelled leads", train.len()))?;
            let mut mean = vec![0.0f64; fitted.dim()];
            for &r in &train {
                for (j, v) in fitted.row(d, r)? {
                    mean[j as usize] += v;
                }
            }
            let n = train.len().max(1) as f64;
            mean.iter_mut().for_each(|m| *m /= n);
            let names = (0..fitted.dim())
                .map(|j| fitted.feature_name(d, j))
                .collect();
            Ok(Model::Logistic {
                fitted: Box::new(fitted),
                mean,
                names,
            })
        }
        None => {
            let with: Vec<usize> = train
                .iter()
                .copied()
                .filter(|&r| d.embedding[r].is_some())
                .collect();
            let vecs: Vec<&[f32]> = with
                .iter()
                .filter_map(|&r| d.embedding[r].as_deref())
                .collect();
            let y: Vec<bool> = with.iter().map(|&r| d.labels[r]).collect();
            let centroid = Centroid::fit(&vecs, &y).context("refitting the centroids")?;
            // Platt scaling on the out-of-fold scores: honest, since no lead scored itself.
            let (rows, y): (Vec<SparseRow>, Vec<bool>) = train
                .iter()
                .filter_map(|&r| {
                    oof.get(&d.lead_ids[r])
                        .map(|&s| (learn::dense_row(&[s]), d.labels[r]))
                })
                .unzip();
            let platt = Logistic::fit(&rows, 1, &y, 1e4)
                .context("calibrating the centroid scores (Platt scaling)")?;
            Ok(Model::Centroid { centroid, platt })
        }
    }
}

fn tier(p: f64, ctx: &StageContext<'_>) -> &'static str {
    let s = &ctx.config.score;
    if p >= s.route_at {
        "route"
    } else if p >= s.nurture_at {
        "nurture"
    } else {
        "drop"
    }
}

fn struct_fields(t: DataType) -> arrow::datatypes::Fields {
    match t {
        DataType::List(f) => match f.data_type() {
            DataType::Struct(fields) => fields.clone(),
            _ => unreachable!("a list of structs"),
        },
        _ => unreachable!("a list"),
    }
}

fn batch(
    d: &Data,
    all: &RecordBatch,
    scored: &[Scored],
    model: &str,
    ctx: &StageContext<'_>,
) -> anyhow::Result<RecordBatch> {
    let names = all.column_by_name("name").context("features.name")?;
    let names = names.as_string::<i32>();
    let text = |c: &str| -> anyhow::Result<StringArray> {
        let a = all
            .column_by_name(c)
            .with_context(|| format!("features.{c}"))?;
        let a = arrow::compute::cast(a, &DataType::Utf8)?;
        let a = a.as_string::<i32>();
        Ok(scored
            .iter()
            .map(|s| (!a.is_null(s.row)).then(|| a.value(s.row)))
            .collect())
    };
    let sim_fields = struct_fields(schema::similar_list());
    let mut similar =
        ListBuilder::new(StructBuilder::from_fields(sim_fields.clone(), 0)).with_field(Arc::new(
            Field::new("item", DataType::Struct(sim_fields), false),
        ));
    let drv_fields = struct_fields(schema::driver_list());
    let mut drivers =
        ListBuilder::new(StructBuilder::from_fields(drv_fields.clone(), 0)).with_field(Arc::new(
            Field::new("item", DataType::Struct(drv_fields), false),
        ));
    for s in scored {
        for &(r, cos) in &s.similar {
            let b = similar.values();
            b.field_builder::<StringBuilder>(0)
                .expect("lead_id")
                .append_value(&d.lead_ids[r]);
            b.field_builder::<StringBuilder>(1)
                .expect("name")
                .append_value(names.value(r));
            b.field_builder::<Float64Builder>(2)
                .expect("cosine")
                .append_value(cos);
            b.append(true);
        }
        similar.append(true);
        for (f, c) in &s.drivers {
            let b = drivers.values();
            b.field_builder::<StringBuilder>(0)
                .expect("feature")
                .append_value(f);
            b.field_builder::<Float64Builder>(1)
                .expect("contribution")
                .append_value(*c);
            b.append(true);
        }
        drivers.append(true);
    }
    let cols: Vec<ArrayRef> = vec![
        Arc::new(
            scored
                .iter()
                .map(|s| Some(d.lead_ids[s.row].as_str()))
                .collect::<StringArray>(),
        ),
        Arc::new(text("external_id")?),
        Arc::new(text("name")?),
        Arc::new(text("domain")?),
        Arc::new(
            scored
                .iter()
                .map(|s| Some(s.probability))
                .collect::<Float64Array>(),
        ),
        Arc::new((1..=scored.len() as u32).map(Some).collect::<UInt32Array>()),
        table::dict(scored.iter().map(|s| tier(s.probability, ctx))),
        table::dict(scored.iter().map(|_| model)),
        Arc::new(similar.finish()),
        Arc::new(drivers.finish()),
    ];
    Ok(RecordBatch::try_new(SCORES.arrow_schema(), cols)?)
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
            Read::File(&super::evaluate::EVALUATION),
        ]
    }

    fn tables(&self) -> &'static [&'static TableDef] {
        &[&SCORES]
    }

    fn fingerprint(&self, config: &Config) -> anyhow::Result<String> {
        let s = &config.score;
        Ok(format!(
            "score=route:{};nurture:{};similar:{};drivers:{};rules=leadcrawl-score/1",
            s.route_at, s.nurture_at, s.similar, s.drivers
        ))
    }

    fn run(&self, ctx: &StageContext<'_>) -> anyhow::Result<StageOutcome> {
        let (best, oof) = read_evaluation(ctx)?;
        // The leads' text is read only for a model that uses it.
        let with_text = best
            .as_deref()
            .and_then(|b| MODELS.iter().find(|(n, _, _)| *n == b))
            .and_then(|(_, _, inputs)| *inputs)
            .is_some_and(|i| i.uses_text());
        let (d, all) = evaluate::load(ctx, ctx.config.evaluate.max_text_chars, true, with_text)?;
        // The won leads with a vector and its norm, once: every open lead is compared to them.
        let won: Vec<(usize, &[f32], f64)> = (0..d.labels.len())
            .filter(|&o| d.known[o] && d.labels[o])
            .filter_map(|o| d.embedding[o].as_deref().map(|u| (o, u, norm(u))))
            .collect();
        let open: Vec<usize> = (0..d.labels.len()).filter(|&r| !d.known[r]).collect();
        let trained_on = d.known.iter().filter(|&&k| k).count();
        let mut scored = Vec::new();
        let model_name = best.clone().unwrap_or_default();
        match &best {
            None => tracing::warn!(
                "score: evaluation.json has no best model (too few labelled leads to evaluate); no lead scored"
            ),
            Some(name) => {
                let model = fit(ctx, &d, name, &oof)?;
                ctx.progress.set_total(open.len() as u64);
                let sc = &ctx.config.score;
                for &r in &open {
                    let (probability, drivers) = match &model {
                        Model::Logistic {
                            fitted,
                            mean,
                            names,
                        } => {
                            let row = fitted.row(&d, r)?;
                            let p = fitted.model.as_ref().map_or(0.5, |m| m.predict_proba(&row));
                            (p, top_drivers(fitted, names, &row, mean, sc.drivers))
                        }
                        Model::Centroid { centroid, platt } => {
                            let cos = d.embedding[r].as_deref().map(|v| centroid.cosines(v));
                            let s = cos.map_or(0.0, |(won, lost)| won - lost);
                            let p = platt.predict_proba(&learn::dense_row(&[s]));
                            let w = platt.weights()[0];
                            let drivers = cos
                                .map(|(won, lost)| {
                                    vec![
                                        ("cosine to won centroid".to_owned(), w * won),
                                        ("cosine to lost centroid".to_owned(), -w * lost),
                                    ]
                                })
                                .unwrap_or_default();
                            (p, drivers)
                        }
                    };
                    anyhow::ensure!(
                        probability.is_finite(),
                        "score: non-finite probability for lead {}",
                        d.lead_ids[r]
                    );
                    let similar = d.embedding[r]
                        .as_deref()
                        .map(|v| nearest(v, &won, sc.similar))
                        .unwrap_or_default();
                    scored.push(Scored {
                        row: r,
                        probability,
                        similar,
                        drivers,
                    });
                    ctx.progress.inc(1, &d.lead_ids[r]);
                }
            }
        }
        scored.sort_by(|a, b| {
            b.probability
                .total_cmp(&a.probability)
                .then(d.lead_ids[a.row].cmp(&d.lead_ids[b.row]))
        });
        let b = batch(&d, &all, &scored, &model_name, ctx)?;
        let count = |t: &str| {
            scored
                .iter()
                .filter(|s| tier(s.probability, ctx) == t)
                .count() as u64
        };
        let counters = [
            ("scored".to_owned(), scored.len() as u64),
            ("trained_on".to_owned(), trained_on as u64),
            ("route".to_owned(), count("route")),
            ("nurture".to_owned(), count("nurture")),
            ("drop".to_owned(), count("drop")),
        ]
        .into_iter()
        .collect();
        let sc = &ctx.config.score;
        let meta = vec![
            ("leadcrawl.score_model".to_owned(), model_name.clone()),
            ("leadcrawl.route_at".to_owned(), sc.route_at.to_string()),
            ("leadcrawl.nurture_at".to_owned(), sc.nurture_at.to_string()),
            ("leadcrawl.trained_on".to_owned(), trained_on.to_string()),
        ];
        // Written even when empty, so that readers always find the file and its schema.
        let pending = table::write_pending(ctx.output_dir(), &SCORES, "", &[b], &ctx.prov, &meta)?;
        tracing::info!(
            model = model_name.as_str(),
            scored = scored.len(),
            trained_on,
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
