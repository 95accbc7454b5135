//! `score_history`: every scoring kept, one part per scoring, and how earlier scorings did once
//! the leads they scored closed (realised performance).
//!
//! A part's name is a content key (the model version and the scored leads' ids and
//! probabilities), so the same scoring written again — the stage resumed, forced, or run again
//! under the same run id — replaces its part rather than adding a second copy. The parts are
//! registered in the state store under [`HISTORY_STORE`], not under `score`: the runner resets a
//! stage whose inputs changed, and the history must outlive every such reset.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use anyhow::Context;
use arrow::array::{
    Array, ArrayRef, AsArray, Float64Array, RecordBatch, StringArray, TimestampMicrosecondArray,
    UInt32Array,
};
use arrow::datatypes::{DataType, Float64Type, Int32Type, TimestampMicrosecondType, UInt32Type};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::monitoring::Profile;
use crate::schema::{HISTORY_STORE, SCORE_HISTORY};
use crate::stages::StageContext;
use crate::table;

/// One lead of a scoring.
pub struct Entry<'a> {
    pub lead_id: &'a str,
    pub crm_id: Option<&'a str>,
    pub probability: f64,
    pub rank: u32,
    pub tier: &'static str,
}

/// The part key of a scoring: what makes two scorings the same one.
pub fn key(model_version: &str, entries: &[Entry<'_>]) -> String {
    let mut h = Sha256::new();
    h.update(model_version.as_bytes());
    for e in entries {
        h.update([0x1e]);
        h.update(e.lead_id.as_bytes());
        h.update(e.probability.to_bits().to_le_bytes());
    }
    h.finalize()
        .iter()
        .take(8)
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The part file name of the scoring with key `key`.
pub fn part_name(key: &str) -> String {
    format!("part-{key}.parquet")
}

/// Writes the scoring as its part and registers it (replacing the same scoring's part).
pub fn append(
    ctx: &StageContext<'_>,
    key: &str,
    model_version: &str,
    model: &str,
    entries: &[Entry<'_>],
    profiles: &[(String, Profile)],
) -> anyhow::Result<()> {
    let out = ctx.output_dir();
    let registered: Vec<String> = ctx
        .store
        .parts(HISTORY_STORE)?
        .into_iter()
        .map(|p| p.file)
        .collect();
    // Temporaries and parts whose commit never happened.
    table::remove_unregistered(out, &SCORE_HISTORY, &registered);
    let now = chrono::Utc::now().timestamp_micros();
    let n = entries.len();
    let cols: Vec<ArrayRef> = vec![
        Arc::new(StringArray::from(vec![ctx.prov.run_id.as_str(); n])),
        Arc::new(TimestampMicrosecondArray::from(vec![now; n]).with_timezone("UTC")),
        Arc::new(StringArray::from(vec![model_version; n])),
        table::dict(entries.iter().map(|_| model)),
        Arc::new(
            entries
                .iter()
                .map(|e| Some(e.lead_id))
                .collect::<StringArray>(),
        ),
        Arc::new(entries.iter().map(|e| e.crm_id).collect::<StringArray>()),
        Arc::new(
            entries
                .iter()
                .map(|e| Some(e.probability))
                .collect::<Float64Array>(),
        ),
        Arc::new(
            entries
                .iter()
                .map(|e| Some(e.rank))
                .collect::<UInt32Array>(),
        ),
        table::dict(entries.iter().map(|e| e.tier)),
    ];
    let b = RecordBatch::try_new(SCORE_HISTORY.arrow_schema(), cols)?;
    let meta = vec![
        ("leadcrawl.scoring_key".to_owned(), key.to_owned()),
        (
            "leadcrawl.model_version".to_owned(),
            model_version.to_owned(),
        ),
        (PROFILES_KEY.to_owned(), serde_json::to_string(profiles)?),
    ];
    let pending =
        table::write_pending(out, &SCORE_HISTORY, &part_name(key), &[b], &ctx.prov, &meta)?;
    ctx.store
        .commit(HISTORY_STORE, &[pending], &[], &Default::default())?;
    Ok(())
}

/// The part metadata key of the scored leads' feature [`Profile`]s.
const PROFILES_KEY: &str = "leadcrawl.feature_profiles";

/// The feature profiles saved with the scoring in part `file` (see [`append`]); empty for a
/// part written before they were (or of fewer leads than a profile needs).
pub fn profiles_of(ctx: &StageContext<'_>, file: &str) -> anyhow::Result<Vec<(String, Profile)>> {
    let path = ctx.output_dir().join(file);
    let meta = table::stage_metadata(&path)?;
    match meta.iter().find(|(k, _)| k == PROFILES_KEY) {
        Some((_, v)) => serde_json::from_str(v)
            .with_context(|| format!("{}: unreadable {PROFILES_KEY}", path.display())),
        None => Ok(Vec::new()),
    }
}

/// One lead of an earlier scoring, read back.
#[derive(Debug, Clone)]
pub struct Row {
    pub run_id: String,
    pub scored_at: i64,
    pub model_version: String,
    pub model: String,
    pub lead_id: String,
    pub crm_id: Option<String>,
    pub probability: f64,
    pub rank: u32,
    pub tier: String,
}

fn dict_value(a: &dyn Array, r: usize) -> String {
    let d = a.as_dictionary::<Int32Type>();
    let k = d.keys().value(r) as usize;
    d.values().as_string::<i32>().value(k).to_owned()
}

/// Every registered scoring but the part named `except` (the one being written), in commit
/// order: `(part file, rows)`.
pub fn read_earlier(
    ctx: &StageContext<'_>,
    except: &str,
) -> anyhow::Result<Vec<(String, Vec<Row>)>> {
    let out = ctx.output_dir();
    let mut scorings = Vec::new();
    for part in ctx.store.parts(HISTORY_STORE)? {
        if part.file.ends_with(except) {
            continue;
        }
        let batches = table::read_part(out, HISTORY_STORE, &part, None)?;
        let mut rows = Vec::new();
        for b in &batches {
            let col = |n: &str| {
                b.column_by_name(n)
                    .with_context(|| format!("{}: no column {n}", part.file))
            };
            let run = col("run_id")?.as_string::<i32>();
            let at = col("scored_at")?.as_primitive::<TimestampMicrosecondType>();
            let version = col("model_version")?.as_string::<i32>();
            let model = col("model")?;
            let lead = col("lead_id")?.as_string::<i32>();
            let crm = col("crm_id")?.as_string::<i32>();
            let p = col("probability")?.as_primitive::<Float64Type>();
            let rank = col("rank")?.as_primitive::<UInt32Type>();
            let tier = col("tier")?;
            anyhow::ensure!(
                matches!(model.data_type(), DataType::Dictionary(_, _))
                    && matches!(tier.data_type(), DataType::Dictionary(_, _)),
                "{}: model and tier must be dictionary columns",
                part.file
            );
            for r in 0..b.num_rows() {
                rows.push(Row {
                    run_id: run.value(r).to_owned(),
                    scored_at: at.value(r),
                    model_version: version.value(r).to_owned(),
                    model: dict_value(model, r),
                    lead_id: lead.value(r).to_owned(),
                    crm_id: (!crm.is_null(r)).then(|| crm.value(r).to_owned()),
                    probability: p.value(r),
                    rank: rank.value(r),
                    tier: dict_value(tier, r),
                });
            }
        }
        scorings.push((part.file, rows));
    }
    Ok(scorings)
}

/// The won rate of the leads of one tier that have closed since.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct TierOutcome {
    pub tier: String,
    /// Leads of the tier scored then.
    pub scored: usize,
    /// Of those, closed (won or lost) in this lead list.
    pub closed: usize,
    pub won: usize,
    /// `won / closed`; `None` when none closed.
    pub win_rate: Option<f64>,
}

/// How one earlier scoring did on the leads it scored while open that have closed since.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct RealisedRun {
    pub run_id: String,
    /// RFC 3339.
    pub scored_at: String,
    pub model_version: String,
    pub model: String,
    /// Leads it scored.
    pub scored: usize,
    /// Of those, closed in this lead list (matched by CRM id, else by `lead_id`).
    pub closed: usize,
    pub won: usize,
    /// ROC-AUC of the probabilities then against the outcomes now; `None` with one class.
    pub roc_auc: Option<f64>,
    pub tiers: Vec<TierOutcome>,
    /// Mean probability then against the won share now, in 10 equal-width bins, with the
    /// Brier score and the expected calibration error.
    pub calibration: Option<learn::calibration::Calibration>,
    /// Mean probability of the closed leads against their won share.
    pub mean_probability: Option<f64>,
    pub won_share: Option<f64>,
}

/// The outcomes known now: by CRM id and by `lead_id` (`true` = won).
pub struct Outcomes {
    pub by_crm: HashMap<String, bool>,
    pub by_lead: HashMap<String, bool>,
}

impl Outcomes {
    fn of(&self, r: &Row) -> Option<bool> {
        r.crm_id
            .as_ref()
            .and_then(|c| self.by_crm.get(c))
            .or_else(|| self.by_lead.get(&r.lead_id))
            .copied()
    }
}

/// Realised performance of every earlier scoring, oldest first.
pub fn realised(
    scorings: &[(String, Vec<Row>)],
    outcomes: &Outcomes,
) -> anyhow::Result<Vec<RealisedRun>> {
    let mut out = Vec::new();
    for (_, rows) in scorings {
        let Some(first) = rows.first() else { continue };
        let mut p = Vec::new();
        let mut y = Vec::new();
        let mut tiers: BTreeMap<&str, TierOutcome> = BTreeMap::new();
        for tier in ["route", "nurture", "drop"] {
            tiers.insert(
                tier,
                TierOutcome {
                    tier: tier.to_owned(),
                    scored: 0,
                    closed: 0,
                    won: 0,
                    win_rate: None,
                },
            );
        }
        for r in rows {
            let t = tiers.entry(r.tier.as_str()).or_insert_with(|| TierOutcome {
                tier: r.tier.clone(),
                scored: 0,
                closed: 0,
                won: 0,
                win_rate: None,
            });
            t.scored += 1;
            if let Some(won) = outcomes.of(r) {
                t.closed += 1;
                t.won += usize::from(won);
                p.push(r.probability);
                y.push(won);
            }
        }
        let mut tiers: Vec<TierOutcome> = tiers.into_values().collect();
        let order = |t: &str| ["route", "nurture", "drop"].iter().position(|x| *x == t);
        tiers.sort_by_key(|t| (order(&t.tier).unwrap_or(9), t.tier.clone()));
        for t in &mut tiers {
            t.win_rate = (t.closed > 0).then(|| t.won as f64 / t.closed as f64);
        }
        let won = y.iter().filter(|&&w| w).count();
        let closed = y.len();
        let scored_at = chrono::DateTime::from_timestamp_micros(first.scored_at)
            .map(|t| t.to_rfc3339())
            .unwrap_or_default();
        out.push(RealisedRun {
            run_id: first.run_id.clone(),
            scored_at,
            model_version: first.model_version.clone(),
            model: first.model.clone(),
            scored: rows.len(),
            closed,
            won,
            roc_auc: if closed > 0 {
                learn::roc_auc(&p, &y)?
            } else {
                None
            },
            tiers,
            calibration: (closed > 0)
                .then(|| learn::calibration::quality(&p, &y))
                .transpose()?,
            mean_probability: (closed > 0).then(|| p.iter().sum::<f64>() / closed as f64),
            won_share: (closed > 0).then(|| won as f64 / closed as f64),
        });
    }
    out.sort_by(|a, b| a.scored_at.cmp(&b.scored_at));
    Ok(out)
}
