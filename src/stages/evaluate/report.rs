//! The evaluation report: one self-contained HTML page (inline CSS, hand-written inline SVG,
//! no scripts, nothing fetched from the network) built from a plain [`ReportData`].
//!
//! The page shows the run header, a "how to read this" paragraph, the metrics table (best model
//! highlighted), confusion matrices, ROC and cumulative-gains charts, per-model score
//! distributions (won vs lost), the shuffled-label control, data coverage and free-text notes.
//!
//! Rendering never fails: non-finite numbers are shown as "–" and skipped in charts, empty
//! curves and empty model lists produce explanatory text instead of broken markup, and all user
//! text (model names, descriptions, notes, labels) is HTML-escaped.

use std::fmt::Write as _;

use serde::Serialize;

pub use super::evaluation::Coverage;
use super::evaluation::Evaluation;

/// Everything the report page shows. Plain data: the evaluator fills it, [`render`] draws it.
#[derive(Debug, Clone, Serialize)]
pub struct ReportData {
    /// Page title, e.g. "leadcrawl evaluation".
    pub title: String,
    /// RFC 3339 timestamp of the report.
    pub generated_at: String,
    pub run_id: String,
    pub config_hash: String,
    pub model_id: Option<String>,
    /// Number of cross-validation folds.
    pub folds: usize,
    pub seed: u64,
    /// Data coverage rows ("leads with a website", "crawled", …).
    pub coverage: Vec<Coverage>,
    /// Models in display order.
    pub models: Vec<ModelReport>,
    /// Name of the model chosen for scoring; the first model with this name is highlighted.
    pub best: Option<String>,
    /// Shuffled-label control: what chance looks like.
    pub control: Vec<ControlRow>,
    /// Free text lines, e.g. warnings such as "only 12 labelled leads".
    pub notes: Vec<String>,
    /// The model choice made inside the cross-validation, with its honest figure.
    pub nested: Option<learn::cv::NestedChoice>,
    /// The chosen model's figures by slice of the leads.
    pub slices: Vec<super::evaluation::Slice>,
    /// Every model trained on the older leads and tested on the newest (a date column mapped).
    pub time_split: Option<super::evaluation::TimeSplit>,
    /// The prospects stage's summary (`prospects.json`), when it has run: its client profile.
    pub prospects: Option<crate::stages::prospects::Summary>,
}

/// A model evaluated on shuffled labels.
#[derive(Debug, Clone, Serialize)]
pub struct ControlRow {
    pub model: String,
    pub roc_auc: Option<f64>,
    pub accuracy: f64,
}

/// Out-of-fold evaluation of one model.
#[derive(Debug, Clone, Serialize)]
pub struct ModelReport {
    pub name: String,
    pub description: String,
    pub accuracy: f64,
    pub precision: f64,
    pub recall: f64,
    pub f1: f64,
    pub roc_auc: Option<f64>,
    pub pr_auc: Option<f64>,
    /// `[[tn, fp], [fn, tp]]`, "positive" = won.
    pub confusion: [[u64; 2]; 2],
    pub lift_10: f64,
    pub lift_20: f64,
    pub lift_35: f64,
    /// Share of won leads found in the top 35 % by score.
    pub captured_35: f64,
    /// ROC curve points `(fpr, tpr)`.
    pub roc: Vec<(f64, f64)>,
    /// Cumulative gains points `(share of leads, share of won captured)`.
    pub gains: Vec<(f64, f64)>,
    /// Out-of-fold scores of won leads.
    pub won_scores: Vec<f64>,
    /// Out-of-fold scores of lost leads.
    pub lost_scores: Vec<f64>,
    /// 95 % bootstrap interval of the ROC-AUC.
    pub roc_auc_interval: Option<(f64, f64)>,
    /// How the model's calibrated out-of-fold probabilities hold.
    pub calibration: Option<learn::calibration::Calibration>,
    /// Share of won leads in the top 10, 20, 35 and 50 % by score.
    pub captured: Vec<(f64, f64)>,
}

/// Colour-blind-safe series colours (Okabe–Ito, without yellow which is unreadable on white).
const PALETTE: [&str; 7] = [
    "#0072B2", "#D55E00", "#009E73", "#CC79A7", "#56B4E9", "#E69F00", "#000000",
];
/// Dash patterns used once the palette wraps, so series stay distinguishable.
const DASHES: [&str; 3] = ["", "8 4", "2 3"];
const WON_COLOUR: &str = "#0072B2";
const LOST_COLOUR: &str = "#E69F00";
const SVG_NS: &str = "http://www.w3.org/2000/svg";
const DASH: &str = "–";
const HIST_BINS: usize = 20;
/// Longest model name shown inside an SVG legend before it is cut with "…".
const LEGEND_NAME_CHARS: usize = 34;

pub(crate) const CSS: &str = r#"
*{box-sizing:border-box}
html{-webkit-text-size-adjust:100%}
body{margin:0;padding:24px;background:#f6f7f9;color:#1b1f24;
 font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif}
main{max-width:1180px;margin:0 auto;background:#fff;padding:24px 32px 40px;
 border:1px solid #dde1e6;border-radius:8px}
h1{font-size:1.7rem;margin:0 0 .6rem}
h2{font-size:1.25rem;margin:2.2rem 0 .6rem;padding-bottom:.25rem;border-bottom:2px solid #e4e7eb}
h3{font-size:1rem;margin:0 0 .3rem}
p{margin:.4rem 0 .8rem;max-width:80ch}
code,.mono{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,"Liberation Mono",monospace;font-size:.9em}
.meta{display:grid;grid-template-columns:repeat(auto-fit,minmax(250px,1fr));gap:.3rem 1.5rem;margin:0 0 1rem;padding:0}
.meta div{min-width:0}
.meta dt{font-size:.78rem;color:#57606a;text-transform:uppercase;letter-spacing:.04em}
.meta dd{margin:0;overflow-wrap:anywhere}
nav{font-size:.9rem;margin:.5rem 0 0}
nav a{color:#0a58ca;margin-right:1rem;text-decoration:none}
nav a:hover{text-decoration:underline}
.howto{background:#eef4fb;border-left:4px solid #0072B2;padding:.6rem 1rem;margin:1rem 0;max-width:none}
.warn{background:#fff4e5;border-left:4px solid #D55E00;padding:.5rem 1rem;margin:1rem 0}
table{border-collapse:collapse;margin:.4rem 0 1rem}
th,td{padding:.3rem .6rem;border-bottom:1px solid #e4e7eb;text-align:left;vertical-align:top;overflow-wrap:anywhere}
thead th{background:#f0f2f5;font-weight:600;font-size:.85rem;border-bottom:2px solid #cfd4da}
td.num,th.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
table.metrics{width:100%}
table.metrics td.name{min-width:12rem;max-width:22rem}
.desc{display:block;color:#57606a;font-size:.82rem}
tr.best td{background:#fff2cc}
tr.best td:first-child{box-shadow:inset 4px 0 0 #D55E00}
.badge{display:inline-block;margin-left:.4rem;padding:0 .4rem;border-radius:4px;background:#D55E00;color:#fff;font-size:.75rem;font-weight:600}
.cms{display:flex;flex-wrap:wrap;gap:1rem 2rem}
table.cm{margin:0}
table.cm caption{text-align:left;font-weight:600;padding-bottom:.2rem;max-width:20rem;overflow-wrap:anywhere}
table.cm td{text-align:right;font-variant-numeric:tabular-nums;min-width:5.5rem}
table.cm td.hit{background:#e3f1ea}
table.cm td.miss{background:#fbeae5}
table.cm th{font-weight:500;font-size:.85rem;color:#3d444d}
.charts{display:grid;grid-template-columns:repeat(auto-fit,minmax(420px,1fr));gap:1.5rem}
.charts figure,.dists figure{margin:0;min-width:0}
figure figcaption{font-weight:600;margin-bottom:.3rem;overflow-wrap:anywhere}
svg{display:block;width:100%;height:auto;max-width:100%}
svg text{font-family:system-ui,-apple-system,"Segoe UI",Roboto,Arial,sans-serif}
.dists{display:grid;grid-template-columns:repeat(auto-fill,minmax(340px,1fr));gap:1.2rem 1.5rem}
.bar{background:#e4e7eb;height:.8rem;border-radius:3px;min-width:8rem;overflow:hidden}
.bar span{display:block;height:100%;background:#009E73}
ul.notes li{overflow-wrap:anywhere;margin:.2rem 0}
.muted{color:#57606a}
footer{margin-top:2.5rem;font-size:.8rem;color:#57606a}
"#;

/// Renders the whole report as one self-contained HTML document.
pub fn render(data: &ReportData) -> String {
    let mut h = String::with_capacity(64 * 1024);
    let best = best_index(data);
    let title = esc(&data.title);

    h.push_str("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
    h.push_str("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n");
    let _ = writeln!(h, "<title>{title}</title>");
    let _ = writeln!(h, "<style>{CSS}</style>\n</head>\n<body>\n<main>");

    header(&mut h, data, best);
    metrics_section(&mut h, data, best);
    confusion_section(&mut h, data);
    choice_section(&mut h, data, best);
    time_section(&mut h, data);
    slices_section(&mut h, data);
    curves_section(&mut h, data, best);
    distributions_section(&mut h, data);
    control_section(&mut h, data);
    coverage_section(&mut h, data);
    prospects_section(&mut h, data);
    notes_section(&mut h, data);

    let _ = writeln!(
        h,
        "<footer>Generated by leadcrawl at {}. This page is self-contained: it loads nothing \
         from the network.</footer>",
        esc(&data.generated_at)
    );
    h.push_str("</main>\n</body>\n</html>\n");
    h
}

/// Index of the model chosen for scoring: the first whose name equals `best`.
fn best_index(data: &ReportData) -> Option<usize> {
    let best = data.best.as_deref()?;
    data.models.iter().position(|m| m.name == best)
}

fn header(h: &mut String, data: &ReportData, best: Option<usize>) {
    let _ = writeln!(
        h,
        "<header>\n<h1>{}</h1>\n<dl class=\"meta\">",
        esc(&data.title)
    );
    let model_id = data
        .model_id
        .as_deref()
        .map_or_else(|| DASH.to_string(), esc);
    let chosen = data.best.as_deref().map_or_else(|| DASH.to_string(), esc);
    let items: [(&str, String); 7] = [
        (
            "run id",
            format!("<span class=\"mono\">{}</span>", esc(&data.run_id)),
        ),
        (
            "config hash",
            format!("<span class=\"mono\">{}</span>", esc(&data.config_hash)),
        ),
        (
            "model id",
            format!("<span class=\"mono\">{model_id}</span>"),
        ),
        ("chosen model", chosen),
        (
            "cross-validation",
            format!("{} folds, seed {}", data.folds, data.seed),
        ),
        ("generated", esc(&data.generated_at)),
        ("models compared", data.models.len().to_string()),
    ];
    for (k, v) in items {
        let _ = writeln!(h, "<div><dt>{k}</dt><dd>{v}</dd></div>");
    }
    h.push_str("</dl>\n");
    h.push_str(
        "<nav><a href=\"#metrics\">Metrics</a><a href=\"#confusion\">Confusion</a>\
         <a href=\"#curves\">ROC &amp; gains</a><a href=\"#distributions\">Score distributions</a>\
         <a href=\"#control\">Control</a><a href=\"#coverage\">Coverage</a>\
         <a href=\"#notes\">Notes</a>\
         <a href=\"monitoring.html\" title=\"written by the score stage\">Monitoring</a></nav>\n</header>\n",
    );
    if data.best.is_some() && best.is_none() {
        let _ = writeln!(
            h,
            "<p class=\"warn\">The chosen model <strong>{}</strong> is not among the evaluated \
             models below.</p>",
            esc(data.best.as_deref().unwrap_or_default())
        );
    }
    if !data.notes.is_empty() {
        let _ = writeln!(
            h,
            "<p class=\"warn\">{} note{} about this run: see <a href=\"#notes\">Notes</a>.</p>",
            data.notes.len(),
            if data.notes.len() == 1 { "" } else { "s" }
        );
    }
    h.push_str(
        "<p class=\"howto\"><strong>How to read this.</strong> Every metric is computed \
         <em>out of fold</em>: leads are split by stratified k-fold cross-validation (the \
         won/lost ratio is kept in each fold), each model is trained on the other folds and \
         scores only the leads it never saw, so the numbers estimate performance on new leads. \
         ROC-AUC is the chance that a random won lead scores above a random lost one (0.5 = \
         coin toss); PR-AUC summarises precision against recall; lift@k is the won rate in the \
         top k % by score divided by the overall won rate (1.0 = no better than random), and \
         \u{201c}won in top 35 %\u{201d} is the share of all won leads found by working only \
         the best-scored 35 %. The <a href=\"#control\">shuffled-label control</a> trains the \
         same models on randomly permuted labels: that is what chance looks like, and a real \
         model should clearly beat it.</p>\n",
    );
}

fn metrics_section(h: &mut String, data: &ReportData, best: Option<usize>) {
    h.push_str("<section id=\"metrics\">\n<h2>Metrics</h2>\n");
    if data.models.is_empty() {
        h.push_str("<p class=\"muted\">No models were evaluated.</p>\n</section>\n");
        return;
    }
    h.push_str(
        "<table class=\"metrics\">\n<thead><tr><th>model</th>\
         <th class=\"num\">accuracy</th><th class=\"num\">precision</th>\
         <th class=\"num\">recall</th><th class=\"num\">F1</th>\
         <th class=\"num\">ROC-AUC</th><th class=\"num\">PR-AUC</th>\
         <th class=\"num\" title=\"won rate in the top 10 % / overall won rate\">lift@10</th>\
         <th class=\"num\" title=\"won rate in the top 20 % / overall won rate\">lift@20</th>\
         <th class=\"num\" title=\"won rate in the top 35 % / overall won rate\">lift@35</th>\
         <th class=\"num\" title=\"share of all won leads in the top 35 % by score\">won in top 35 %</th>\
         </tr></thead>\n<tbody>\n",
    );
    for (i, m) in data.models.iter().enumerate() {
        let is_best = best == Some(i);
        let _ = write!(
            h,
            "<tr{}><td class=\"name\"><strong>{}</strong>{}",
            if is_best { " class=\"best\"" } else { "" },
            esc(&m.name),
            if is_best {
                "<span class=\"badge\">★ chosen</span>"
            } else {
                ""
            },
        );
        if !m.description.trim().is_empty() {
            let _ = write!(h, "<span class=\"desc\">{}</span>", esc(&m.description));
        }
        h.push_str("</td>");
        let cells = [
            Some(m.accuracy),
            Some(m.precision),
            Some(m.recall),
            Some(m.f1),
            m.roc_auc,
            m.pr_auc,
            Some(m.lift_10),
            Some(m.lift_20),
            Some(m.lift_35),
            Some(m.captured_35),
        ];
        for c in cells {
            let _ = write!(h, "<td class=\"num\">{}</td>", fmt_opt(c));
        }
        h.push_str("</tr>\n");
    }
    h.push_str("</tbody>\n</table>\n</section>\n");
}

fn confusion_section(h: &mut String, data: &ReportData) {
    h.push_str("<section id=\"confusion\">\n<h2>Confusion matrices</h2>\n");
    if data.models.is_empty() {
        h.push_str("<p class=\"muted\">No models were evaluated.</p>\n</section>\n");
        return;
    }
    h.push_str(
        "<p>Out-of-fold predictions at each model's decision threshold; rows are the true \
         outcome, columns the prediction. Green cells are correct.</p>\n<div class=\"cms\">\n",
    );
    for m in &data.models {
        let [[tn, fp], [fneg, tp]] = m.confusion;
        let n = tn
            .saturating_add(fp)
            .saturating_add(fneg)
            .saturating_add(tp);
        let _ = writeln!(
            h,
            "<table class=\"cm\"><caption>{} <span class=\"muted\">(n = {n})</span></caption>\n\
             <thead><tr><th></th><th class=\"num\">predicted lost</th><th class=\"num\">predicted won</th></tr></thead>\n\
             <tbody><tr><th>actual lost</th><td class=\"hit\">{tn}</td><td class=\"miss\">{fp}</td></tr>\n\
             <tr><th>actual won</th><td class=\"miss\">{fneg}</td><td class=\"hit\">{tp}</td></tr></tbody>\n</table>",
            esc(&m.name)
        );
    }
    h.push_str("</div>\n</section>\n");
}

/// The honest figure of the model choice, every model's calibration and gains, and the
/// reliability plot.
fn choice_section(h: &mut String, data: &ReportData, best: Option<usize>) {
    h.push_str("<section id=\"choice\">\n<h2>Model choice, calibration and gains</h2>\n");
    if data.models.is_empty() {
        h.push_str("<p class=\"muted\">No models were evaluated.</p>\n</section>\n");
        return;
    }
    if let Some(n) = &data.nested {
        let chosen: Vec<String> = n.per_fold.iter().map(|(m, _)| esc(m)).collect();
        let _ = writeln!(
            h,
            "<p class=\"honest\"><strong>Expected ROC-AUC of the chosen model on new leads: {}</strong> \
             (nested cross-validation: in each of the {} folds the model was chosen by a {}-fold \
             cross-validation of the other folds, then scored on the held-out fold; chosen: {}; \
             ROC-AUC of the chosen models' calibrated probabilities pooled over the held-out folds; \
             the mean of the folds' own figures is {}). Those probabilities have a Brier score of \
             {} and an expected calibration error of {} (perfectly calibrated probabilities \
             would show {} on this many leads: the ECE's own noise). The best of the per-model \
             figures below is optimistic: it is the maximum of several noisy numbers.</p>",
            fmt_opt(n.roc_auc),
            n.per_fold.len(),
            n.inner_k,
            chosen.join(", "),
            fmt_opt(n.mean_fold_roc_auc),
            fmt3(n.pooled_brier),
            fmt3(n.pooled_ece),
            fmt3(n.pooled_ece_by_chance),
        );
    }
    h.push_str(
        "<table class=\"metrics\">\n<thead><tr><th>model</th>\
         <th class=\"num\">ROC-AUC</th><th class=\"num\" title=\"95 % bootstrap interval\">95 % interval</th>\
         <th class=\"num\" title=\"mean squared error of the calibrated probabilities\">Brier</th>\
         <th class=\"num\">log-loss</th>\
         <th class=\"num\" title=\"expected calibration error, 10 bins\">ECE</th>\
         <th class=\"num\">won in top 10 %</th><th class=\"num\">top 20 %</th>\
         <th class=\"num\">top 35 %</th><th class=\"num\">top 50 %</th></tr></thead>\n<tbody>\n",
    );
    for (i, m) in data.models.iter().enumerate() {
        let _ = write!(
            h,
            "<tr{}><td class=\"name\"><strong>{}</strong></td><td class=\"num\">{}</td><td class=\"num\">{}</td>",
            if best == Some(i) { " class=\"best\"" } else { "" },
            esc(&m.name),
            fmt_opt(m.roc_auc),
            m.roc_auc_interval
                .map_or_else(|| DASH.to_owned(), |(a, b)| format!("{}{DASH}{}", fmt3(a), fmt3(b))),
        );
        let c = m.calibration.as_ref();
        for v in [c.map(|c| c.brier), c.map(|c| c.log_loss), c.map(|c| c.ece)] {
            let _ = write!(h, "<td class=\"num\">{}</td>", fmt_opt(v));
        }
        for (_, share) in &m.captured {
            let _ = write!(h, "<td class=\"num\">{}</td>", fmt3(*share));
        }
        h.push_str("</tr>\n");
    }
    h.push_str("</tbody>\n</table>\n");
    let points: Vec<Vec<(f64, f64)>> = data
        .models
        .iter()
        .map(|m| {
            m.calibration
                .as_ref()
                .map(|c| c.bins.iter().map(|b| (b.predicted, b.observed)).collect())
                .unwrap_or_default()
        })
        .collect();
    let series: Vec<Series> = data
        .models
        .iter()
        .enumerate()
        .map(|(i, m)| Series {
            label: format!(
                "{} (ECE {})",
                legend_name(&m.name),
                fmt_opt(m.calibration.as_ref().map(|c| c.ece))
            ),
            points: &points[i],
            marker: None,
            index: i,
            best: best == Some(i),
        })
        .collect();
    let _ = writeln!(
        h,
        "<p>Reliability: the share of won leads among leads given a probability, against that \
         probability (out-of-fold, calibrated on the other folds: Platt's sigmoid, or isotonic \
         steps where they predict better on 500 leads or more); the dashed diagonal is perfect \
         calibration.</p>\n<div class=\"charts\"><figure><figcaption>Reliability</figcaption>\n{}</figure></div>",
        line_chart(
            "Reliability: observed won share against predicted probability",
            "predicted probability",
            "observed won share",
            &series,
            None
        )
    );
    h.push_str("</section>\n");
}

/// The chosen model's out-of-fold figures per slice (sector, size, country, chosen columns).
fn slices_section(h: &mut String, data: &ReportData) {
    if data.slices.is_empty() {
        return;
    }
    h.push_str(
        "<section id=\"slices\">\n<h2>Where the chosen model is weak</h2>\n\
         <p>Its out-of-fold figures on the leads of each value (values held by fewer than 10 \
         labelled leads are merged into (other)). A slice with a low ROC-AUC, or whose mean \
         probability is far from its won share, is one where scores deserve less trust.</p>\n\
         <table class=\"metrics\">\n<thead><tr><th>by</th><th>value</th>\
         <th class=\"num\">leads</th><th class=\"num\">won</th><th class=\"num\">ROC-AUC</th>\
         <th class=\"num\">mean probability</th><th class=\"num\">won share</th></tr></thead>\n<tbody>\n",
    );
    for s in &data.slices {
        let _ = writeln!(
            h,
            "<tr><td>{}</td><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td>\
             <td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td></tr>",
            esc(&s.by),
            esc(&s.value),
            s.leads,
            s.won,
            fmt_opt(s.roc_auc),
            fmt3(s.mean_probability),
            fmt3(s.won_share)
        );
    }
    h.push_str("</tbody>\n</table>\n</section>\n");
}

fn time_section(h: &mut String, data: &ReportData) {
    let Some(t) = &data.time_split else {
        return;
    };
    h.push_str("<section id=\"time\">\n<h2>On time: trained on the past, tested on the newest leads</h2>\n");
    let _ = writeln!(
        h,
        "<p>Each model fitted on the {} leads dated {} to before {} ({} won) and scored on the {} \
         newest, dated {} to {} ({} won){}. A model that is much weaker here than in \
         cross-validation learnt something that only held in the past.</p>",
        t.train_leads,
        esc(t.first_date.as_deref().unwrap_or("-")),
        esc(t.cut_date.as_deref().unwrap_or("-")),
        t.train_won,
        t.test_leads,
        esc(t.cut_date.as_deref().unwrap_or("-")),
        esc(t.last_date.as_deref().unwrap_or("-")),
        t.test_won,
        if t.undated > 0 {
            format!("; {} labelled leads without a date take no part", t.undated)
        } else {
            String::new()
        }
    );
    if let Some(note) = &t.note {
        let _ = writeln!(h, "<p class=\"muted\">No figures: {}.</p>", esc(note));
        won_centroid_table(h, t.won_centroid.as_ref());
        h.push_str("</section>\n");
        return;
    }
    h.push_str(
        "<table class=\"metrics\">\n<thead><tr><th>model</th><th class=\"num\">ROC-AUC on time</th>\
         <th class=\"num\">cross-validated ROC-AUC</th><th class=\"num\">wins in the top 20 %</th>\
         </tr></thead>\n<tbody>\n",
    );
    for m in &t.models {
        let _ = writeln!(
            h,
            "<tr><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td></tr>",
            esc(&m.model),
            fmt_opt(m.roc_auc),
            fmt_opt(m.cv_roc_auc),
            fmt_opt(m.captured_at_20)
        );
    }
    h.push_str("</tbody>\n</table>\n");
    won_centroid_table(h, t.won_centroid.as_ref());
    h.push_str("</section>\n");
}

/// Are the wins changing? The won centroid per time window, each cosine beside its chance
/// floor.
fn won_centroid_table(h: &mut String, c: Option<&super::evaluation::WonCentroid>) {
    let Some(c) = c else {
        return;
    };
    h.push_str("<h3 id=\"won-centroid\">Are the wins changing?</h3>\n");
    if let Some(note) = &c.note {
        let _ = writeln!(h, "<p class=\"muted\">Not measured: {}.</p>", esc(note));
        return;
    }
    let _ = writeln!(
        h,
        "<p>The {} dated won leads in {} windows of equal size, oldest first; each window's \
         centroid ({} space, centred on all labelled leads) against the previous window's and \
         the first's, by cosine. The chance floor is the 5th percentile of the same cosine \
         between random draws of wins of the same sizes: below it, the wins moved more than \
         sampling explains. <strong>{}</strong></p>",
        c.dated_won,
        c.windows.len(),
        esc(&c.space),
        if c.moved {
            "The wins moved: a model fitted on the older ones may be out of date."
        } else {
            "No window moved beyond chance."
        }
    );
    h.push_str(
        "<table class=\"metrics\">\n<thead><tr><th>window</th><th class=\"num\">wins</th>\
         <th class=\"num\">cosine to previous</th><th class=\"num\">chance floor</th>\
         <th class=\"num\">cosine to first</th><th class=\"num\">chance floor</th><th>moved</th>\
         </tr></thead>\n<tbody>\n",
    );
    for w in &c.windows {
        let _ = writeln!(
            h,
            "<tr><td>{} to {}</td><td class=\"num\">{}</td><td class=\"num\">{}</td>\
             <td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td>{}</td></tr>",
            esc(w.first_date.as_deref().unwrap_or("-")),
            esc(w.last_date.as_deref().unwrap_or("-")),
            w.won,
            fmt_opt(w.cosine_to_previous),
            fmt_opt(w.chance_floor_previous),
            fmt_opt(w.cosine_to_first),
            fmt_opt(w.chance_floor_first),
            if w.moved { "yes" } else { "" }
        );
    }
    h.push_str("</tbody>\n</table>\n");
}

fn curves_section(h: &mut String, data: &ReportData, best: Option<usize>) {
    h.push_str("<section id=\"curves\">\n<h2>ROC and cumulative gains</h2>\n");
    if data.models.is_empty() {
        h.push_str("<p class=\"muted\">No models were evaluated.</p>\n</section>\n");
        return;
    }
    h.push_str(
        "<p>Left: true positive rate against false positive rate as the score threshold \
         falls; the dashed diagonal is a random ranking. Right: share of won leads captured \
         when working the leads from the highest score down; the dashed diagonal is random \
         order and the vertical line marks the top 35 %.</p>\n<div class=\"charts\">\n",
    );
    let roc: Vec<Series> = data
        .models
        .iter()
        .enumerate()
        .map(|(i, m)| Series {
            label: format!("{} (AUC {})", legend_name(&m.name), fmt_opt(m.roc_auc)),
            points: &m.roc,
            marker: None,
            index: i,
            best: best == Some(i),
        })
        .collect();
    let _ = writeln!(
        h,
        "<figure><figcaption>ROC curve</figcaption>\n{}</figure>",
        line_chart(
            "ROC curve: true positive rate against false positive rate",
            "false positive rate",
            "true positive rate",
            &roc,
            None
        )
    );
    let gains: Vec<Series> = data
        .models
        .iter()
        .enumerate()
        .map(|(i, m)| Series {
            label: format!(
                "{} (top 35 %: {})",
                legend_name(&m.name),
                fmt3(m.captured_35)
            ),
            points: &m.gains,
            marker: finite(m.captured_35).map(|y| (0.35, y)),
            index: i,
            best: best == Some(i),
        })
        .collect();
    let _ = writeln!(
        h,
        "<figure><figcaption>Cumulative gains</figcaption>\n{}</figure>",
        line_chart(
            "Cumulative gains: share of won leads captured against share of leads worked",
            "share of leads worked (highest score first)",
            "share of won leads captured",
            &gains,
            Some(0.35)
        )
    );
    h.push_str("</div>\n</section>\n");
}

fn distributions_section(h: &mut String, data: &ReportData) {
    h.push_str("<section id=\"distributions\">\n<h2>Score distributions</h2>\n");
    if data.models.is_empty() {
        h.push_str("<p class=\"muted\">No models were evaluated.</p>\n</section>\n");
        return;
    }
    let _ = writeln!(
        h,
        "<p>Out-of-fold scores of won (blue) and lost (orange) leads, {HIST_BINS} bins over \
         each model's score range; heights are the share of each class, so the two shapes \
         compare fairly even when one class is much larger. Good separation means little \
         overlap.</p>\n<div class=\"dists\">"
    );
    for m in &data.models {
        let _ = writeln!(
            h,
            "<figure><figcaption>{}</figcaption>\n{}</figure>",
            esc(&m.name),
            histogram(&m.name, &m.won_scores, &m.lost_scores)
        );
    }
    h.push_str("</div>\n</section>\n");
}

fn control_section(h: &mut String, data: &ReportData) {
    h.push_str("<section id=\"control\">\n<h2>Shuffled-label control</h2>\n");
    if data.control.is_empty() {
        h.push_str("<p class=\"muted\">No shuffled-label control was run.</p>\n</section>\n");
        return;
    }
    h.push_str(
        "<p>The same models trained and evaluated on randomly permuted labels. Expect ROC-AUC \
         near 0.5 and accuracy near the majority-class share; a real model's score should be \
         well above its control.</p>\n<table>\n<thead><tr><th>model</th>\
         <th class=\"num\">ROC-AUC (shuffled)</th><th class=\"num\">accuracy (shuffled)</th>\
         <th class=\"num\">ROC-AUC (real labels)</th><th class=\"num\">real − shuffled</th>\
         </tr></thead>\n<tbody>\n",
    );
    for c in &data.control {
        let real = data
            .models
            .iter()
            .find(|m| m.name == c.model)
            .and_then(|m| m.roc_auc);
        let gap = match (real.and_then(finite), c.roc_auc.and_then(finite)) {
            (Some(r), Some(s)) => Some(r - s),
            _ => None,
        };
        let _ = writeln!(
            h,
            "<tr><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td>\
             <td class=\"num\">{}</td><td class=\"num\">{}</td></tr>",
            esc(&c.model),
            fmt_opt(c.roc_auc),
            fmt3(c.accuracy),
            fmt_opt(real),
            fmt_opt(gap)
        );
    }
    h.push_str("</tbody>\n</table>\n</section>\n");
}

fn coverage_section(h: &mut String, data: &ReportData) {
    h.push_str("<section id=\"coverage\">\n<h2>Data coverage</h2>\n");
    if data.coverage.is_empty() {
        h.push_str("<p class=\"muted\">No coverage figures were recorded.</p>\n</section>\n");
        return;
    }
    h.push_str(
        "<table>\n<thead><tr><th>what</th><th class=\"num\">count</th><th class=\"num\">of</th>\
         <th class=\"num\">share</th><th></th></tr></thead>\n<tbody>\n",
    );
    for c in &data.coverage {
        let (pct, width) = if c.total == 0 {
            (DASH.to_string(), 0.0)
        } else {
            let p = c.count as f64 / c.total as f64 * 100.0;
            (format!("{p:.1} %"), p.clamp(0.0, 100.0))
        };
        let _ = writeln!(
            h,
            "<tr><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td>\
             <td class=\"num\">{pct}</td><td><div class=\"bar\"><span style=\"width:{width:.1}%\">\
             </span></div></td></tr>",
            esc(&c.label),
            c.count,
            c.total
        );
    }
    h.push_str("</tbody>\n</table>\n</section>\n");
}

/// The prospects stage's client profile (issue 16): what the clients look like against the
/// registry universe, before anyone trusts the prospects list; the rest is on `prospects.html`.
fn prospects_section(h: &mut String, data: &ReportData) {
    let Some(p) = &data.prospects else {
        return;
    };
    h.push_str("<section id=\"prospects\">\n<h2>Your clients against the registry universe</h2>\n");
    let held = p.validation.as_ref().map_or(String::new(), |v| {
        let at5 = v
            .model
            .recall_at
            .iter()
            .find(|(a, _)| (a - 0.05).abs() < 1e-9)
            .map(|x| x.1);
        format!(
            " {} held-out clients: {} of them in the top 5 % of the universe (baseline {}).",
            v.holdout,
            crate::stages::prospects::report::pct(at5),
            crate::stages::prospects::report::pct(
                v.baseline
                    .recall_at
                    .iter()
                    .find(|(a, _)| (a - 0.05).abs() < 1e-9)
                    .map(|x| x.1)
            ),
        )
    });
    let _ = writeln!(
        h,
        "<p>{} clients matched to {} active companies of the universe, {} scored as prospects.{} \
         The prospects, their drivers and the validation are on \
         <a href=\"prospects.html\">prospects.html</a> (from the prospects stage's run \
         <span class=\"mono\">{}</span>).</p>",
        p.clients_matched,
        p.universe_active,
        p.scored,
        esc(&held),
        esc(&p.run_id),
    );
    crate::stages::prospects::report::profile_tables(h, p);
    h.push_str("</section>\n");
}

fn notes_section(h: &mut String, data: &ReportData) {
    h.push_str("<section id=\"notes\">\n<h2>Notes</h2>\n");
    if data.notes.is_empty() {
        h.push_str("<p class=\"muted\">No notes.</p>\n</section>\n");
        return;
    }
    h.push_str("<ul class=\"notes\">\n");
    for n in &data.notes {
        let _ = writeln!(h, "<li>{}</li>", esc(n));
    }
    h.push_str("</ul>\n</section>\n");
}

/// One polyline of a line chart.
struct Series<'a> {
    /// Legend text, not yet escaped.
    label: String,
    points: &'a [(f64, f64)],
    /// An extra dot, e.g. the model's captured share at 35 %.
    marker: Option<(f64, f64)>,
    index: usize,
    best: bool,
}

/// Geometry of the square-ish 0–1 charts (SVG user units).
const LC_LEFT: f64 = 58.0;
const LC_TOP: f64 = 16.0;
const LC_PLOT_W: f64 = 440.0;
const LC_PLOT_H: f64 = 360.0;
const LC_RIGHT: f64 = 22.0;
const LC_AXIS_H: f64 = 52.0;
const LC_LEGEND_ROW: f64 = 20.0;

/// A 0–1 × 0–1 line chart with grid, ticks, a dashed diagonal, an optional vertical marker
/// and a legend underneath the plot.
fn line_chart(
    aria: &str,
    x_label: &str,
    y_label: &str,
    series: &[Series],
    vmarker: Option<f64>,
) -> String {
    let width = LC_LEFT + LC_PLOT_W + LC_RIGHT;
    let legend_top = LC_TOP + LC_PLOT_H + LC_AXIS_H;
    let height = legend_top + LC_LEGEND_ROW * series.len() as f64 + 8.0;
    let sx = |x: f64| LC_LEFT + x.clamp(0.0, 1.0) * LC_PLOT_W;
    let sy = |y: f64| LC_TOP + (1.0 - y.clamp(0.0, 1.0)) * LC_PLOT_H;
    let mut s = String::with_capacity(8 * 1024);
    let _ = writeln!(
        s,
        "<svg xmlns=\"{SVG_NS}\" viewBox=\"0 0 {width:.0} {height:.0}\" role=\"img\" \
         aria-label=\"{}\">",
        esc(aria)
    );
    let _ = writeln!(s, "<title>{}</title>", esc(aria));
    // Plot frame, grid and ticks.
    let _ = writeln!(
        s,
        "<rect x=\"{LC_LEFT}\" y=\"{LC_TOP}\" width=\"{LC_PLOT_W}\" height=\"{LC_PLOT_H}\" \
         fill=\"#fff\" stroke=\"#8c959f\"/>"
    );
    let b = LC_TOP + LC_PLOT_H;
    for i in 0..=5 {
        let t = i as f64 / 5.0;
        let (x, y) = (sx(t), sy(t));
        if i > 0 && i < 5 {
            let _ = writeln!(
                s,
                "<line x1=\"{x:.1}\" y1=\"{LC_TOP}\" x2=\"{x:.1}\" y2=\"{:.1}\" stroke=\"#eaeef2\"/>\
                 <line x1=\"{LC_LEFT}\" y1=\"{y:.1}\" x2=\"{:.1}\" y2=\"{y:.1}\" stroke=\"#eaeef2\"/>",
                LC_TOP + LC_PLOT_H,
                LC_LEFT + LC_PLOT_W
            );
        }
        let _ = writeln!(
            s,
            "<line x1=\"{x:.1}\" y1=\"{b:.1}\" x2=\"{x:.1}\" y2=\"{:.1}\" stroke=\"#57606a\"/>\
             <text x=\"{x:.1}\" y=\"{:.1}\" font-size=\"12\" text-anchor=\"middle\" fill=\"#3d444d\">{t:.1}</text>\
             <line x1=\"{:.1}\" y1=\"{y:.1}\" x2=\"{LC_LEFT}\" y2=\"{y:.1}\" stroke=\"#57606a\"/>\
             <text x=\"{:.1}\" y=\"{:.1}\" font-size=\"12\" text-anchor=\"end\" fill=\"#3d444d\">{t:.1}</text>",
            b + 5.0,
            b + 19.0,
            LC_LEFT - 5.0,
            LC_LEFT - 8.0,
            y + 4.0,
        );
    }
    let _ = writeln!(
        s,
        "<text x=\"{:.1}\" y=\"{:.1}\" font-size=\"13\" text-anchor=\"middle\" fill=\"#1b1f24\">{}</text>\
         <text transform=\"translate(16 {:.1}) rotate(-90)\" font-size=\"13\" text-anchor=\"middle\" \
         fill=\"#1b1f24\">{}</text>",
        LC_LEFT + LC_PLOT_W / 2.0,
        LC_TOP + LC_PLOT_H + 40.0,
        esc(x_label),
        LC_TOP + LC_PLOT_H / 2.0,
        esc(y_label)
    );
    // Random baseline and optional vertical marker.
    let _ = writeln!(
        s,
        "<line x1=\"{:.1}\" y1=\"{:.1}\" x2=\"{:.1}\" y2=\"{:.1}\" stroke=\"#8c959f\" \
         stroke-width=\"1.5\" stroke-dasharray=\"6 5\"/>",
        sx(0.0),
        sy(0.0),
        sx(1.0),
        sy(1.0)
    );
    if let Some(v) = vmarker.and_then(finite) {
        let x = sx(v);
        let _ = writeln!(
            s,
            "<line x1=\"{x:.1}\" y1=\"{LC_TOP}\" x2=\"{x:.1}\" y2=\"{:.1}\" stroke=\"#3d444d\" \
             stroke-width=\"1.2\" stroke-dasharray=\"3 4\"/>\
             <text x=\"{:.1}\" y=\"{:.1}\" font-size=\"12\" fill=\"#3d444d\">top {:.0} %</text>",
            LC_TOP + LC_PLOT_H,
            x + 5.0,
            LC_TOP + LC_PLOT_H - 8.0,
            v * 100.0
        );
    }
    // Series: the best model is drawn last (on top) and thicker.
    let mut order: Vec<&Series> = series.iter().collect();
    order.sort_by_key(|se| se.best);
    for se in order {
        let (colour, dash) = style(se.index);
        let pts = polyline_points(se.points, sx, sy);
        let stroke_w = if se.best { 3.2 } else { 2.0 };
        if !pts.is_empty() {
            let _ = writeln!(
                s,
                "<polyline points=\"{pts}\" fill=\"none\" stroke=\"{colour}\" \
                 stroke-width=\"{stroke_w}\" stroke-linejoin=\"round\"{}/>",
                dash_attr(dash)
            );
        }
        if let Some((x, y)) = se.marker {
            let _ = writeln!(
                s,
                "<circle cx=\"{:.1}\" cy=\"{:.1}\" r=\"4\" fill=\"{colour}\" stroke=\"#fff\" \
                 stroke-width=\"1.5\"/>",
                sx(x),
                sy(y)
            );
        }
    }
    // Legend.
    for (row, se) in series.iter().enumerate() {
        let (colour, dash) = style(se.index);
        let y = legend_top + LC_LEGEND_ROW * row as f64 + 10.0;
        let empty = polyline_points(se.points, sx, sy).is_empty();
        let _ = writeln!(
            s,
            "<line x1=\"{LC_LEFT}\" y1=\"{y:.1}\" x2=\"{:.1}\" y2=\"{y:.1}\" stroke=\"{colour}\" \
             stroke-width=\"{}\"{}/><text x=\"{:.1}\" y=\"{:.1}\" font-size=\"12.5\" \
             fill=\"#1b1f24\"{}>{}{}{}</text>",
            LC_LEFT + 30.0,
            if se.best { 3.2 } else { 2.0 },
            dash_attr(dash),
            LC_LEFT + 38.0,
            y + 4.0,
            if se.best { " font-weight=\"600\"" } else { "" },
            esc(&se.label),
            if se.best { " ★ chosen" } else { "" },
            if empty { " (no curve)" } else { "" },
        );
    }
    s.push_str("</svg>\n");
    s
}

/// `x,y x,y …` in SVG units for the finite points of a curve; empty when there are none.
fn polyline_points(
    points: &[(f64, f64)],
    sx: impl Fn(f64) -> f64,
    sy: impl Fn(f64) -> f64,
) -> String {
    let mut out = String::new();
    for &(x, y) in points {
        if !(x.is_finite() && y.is_finite()) {
            continue;
        }
        if !out.is_empty() {
            out.push(' ');
        }
        let _ = write!(out, "{:.1},{:.1}", sx(x), sy(y));
    }
    out
}

/// Geometry of the histogram small multiples (SVG user units).
const H_LEFT: f64 = 48.0;
const H_TOP: f64 = 30.0;
const H_PLOT_W: f64 = 310.0;
const H_PLOT_H: f64 = 150.0;
const H_RIGHT: f64 = 14.0;
const H_BOTTOM: f64 = 42.0;

/// Two overlaid histograms (won, lost) over the common finite score range, each normalised
/// to its class size.
fn histogram(name: &str, won: &[f64], lost: &[f64]) -> String {
    let width = H_LEFT + H_PLOT_W + H_RIGHT;
    let height = H_TOP + H_PLOT_H + H_BOTTOM;
    let aria = format!("Score distribution of won and lost leads for {name}");
    let mut s = String::with_capacity(4 * 1024);
    let _ = writeln!(
        s,
        "<svg xmlns=\"{SVG_NS}\" viewBox=\"0 0 {width:.0} {height:.0}\" role=\"img\" \
         aria-label=\"{}\">\n<title>{}</title>",
        esc(&aria),
        esc(&aria)
    );
    let won: Vec<f64> = won.iter().copied().filter(|v| v.is_finite()).collect();
    let lost: Vec<f64> = lost.iter().copied().filter(|v| v.is_finite()).collect();
    let bottom = H_TOP + H_PLOT_H;
    let _ = writeln!(
        s,
        "<rect x=\"{H_LEFT}\" y=\"{H_TOP}\" width=\"{H_PLOT_W}\" height=\"{H_PLOT_H}\" \
         fill=\"#fff\" stroke=\"#8c959f\"/>"
    );
    let Some((lo, hi)) = score_range(won.iter().chain(lost.iter()).copied()) else {
        let _ = writeln!(
            s,
            "<text x=\"{:.1}\" y=\"{:.1}\" font-size=\"13\" text-anchor=\"middle\" \
             fill=\"#57606a\">no scores</text>\n</svg>",
            H_LEFT + H_PLOT_W / 2.0,
            H_TOP + H_PLOT_H / 2.0
        );
        return s;
    };
    let won_h = bin_shares(&won, lo, hi);
    let lost_h = bin_shares(&lost, lo, hi);
    let y_max = won_h
        .iter()
        .chain(lost_h.iter())
        .copied()
        .fold(0.0_f64, f64::max)
        .max(1e-9);
    // Round the y axis up to a tidy value.
    let y_top = (y_max * 10.0).ceil() / 10.0;
    let bin_w = H_PLOT_W / HIST_BINS as f64;
    let sy = |v: f64| bottom - v / y_top * H_PLOT_H;
    // Y grid and ticks.
    for i in 0..=2 {
        let v = y_top * i as f64 / 2.0;
        let y = sy(v);
        if i > 0 {
            let _ = write!(
                s,
                "<line x1=\"{H_LEFT}\" y1=\"{y:.1}\" x2=\"{:.1}\" y2=\"{y:.1}\" stroke=\"#eaeef2\"/>",
                H_LEFT + H_PLOT_W
            );
        }
        let _ = writeln!(
            s,
            "<text x=\"{:.1}\" y=\"{:.1}\" font-size=\"11\" text-anchor=\"end\" \
             fill=\"#3d444d\">{v:.2}</text>",
            H_LEFT - 5.0,
            y + 4.0
        );
    }
    // Bars: lost first, won on top; translucent so overlap stays visible.
    for (shares, colour) in [(&lost_h, LOST_COLOUR), (&won_h, WON_COLOUR)] {
        for (b, &v) in shares.iter().enumerate() {
            if v <= 0.0 {
                continue;
            }
            let x = H_LEFT + b as f64 * bin_w;
            let y = sy(v);
            let _ = writeln!(
                s,
                "<rect x=\"{x:.1}\" y=\"{y:.1}\" width=\"{bin_w:.1}\" height=\"{:.1}\" \
                 fill=\"{colour}\" fill-opacity=\"0.45\" stroke=\"{colour}\" stroke-width=\"1\"/>",
                bottom - y
            );
        }
    }
    // X ticks.
    let decimals = if hi - lo >= 0.5 { 2 } else { 3 };
    for i in 0..=4 {
        let t = i as f64 / 4.0;
        let x = H_LEFT + t * H_PLOT_W;
        let v = lo + t * (hi - lo);
        let anchor = match i {
            0 => "start",
            4 => "end",
            _ => "middle",
        };
        let _ = writeln!(
            s,
            "<line x1=\"{x:.1}\" y1=\"{bottom:.1}\" x2=\"{x:.1}\" y2=\"{:.1}\" stroke=\"#57606a\"/>\
             <text x=\"{x:.1}\" y=\"{:.1}\" font-size=\"11\" text-anchor=\"{anchor}\" \
             fill=\"#3d444d\">{}</text>",
            bottom + 4.0,
            bottom + 16.0,
            fmt_dec(v, decimals)
        );
    }
    let _ = writeln!(
        s,
        "<text x=\"{:.1}\" y=\"{:.1}\" font-size=\"12\" text-anchor=\"middle\" \
         fill=\"#1b1f24\">out-of-fold score</text>\
         <text transform=\"translate(13 {:.1}) rotate(-90)\" font-size=\"11\" \
         text-anchor=\"middle\" fill=\"#1b1f24\">share of class</text>",
        H_LEFT + H_PLOT_W / 2.0,
        bottom + 34.0,
        H_TOP + H_PLOT_H / 2.0
    );
    // Legend above the plot.
    let _ = writeln!(
        s,
        "<rect x=\"{H_LEFT}\" y=\"8\" width=\"12\" height=\"12\" fill=\"{WON_COLOUR}\" \
         fill-opacity=\"0.6\" stroke=\"{WON_COLOUR}\"/>\
         <text x=\"{:.1}\" y=\"18\" font-size=\"12\" fill=\"#1b1f24\">won (n = {})</text>\
         <rect x=\"{:.1}\" y=\"8\" width=\"12\" height=\"12\" fill=\"{LOST_COLOUR}\" \
         fill-opacity=\"0.6\" stroke=\"{LOST_COLOUR}\"/>\
         <text x=\"{:.1}\" y=\"18\" font-size=\"12\" fill=\"#1b1f24\">lost (n = {})</text>",
        H_LEFT + 17.0,
        won.len(),
        H_LEFT + 130.0,
        H_LEFT + 147.0,
        lost.len()
    );
    s.push_str("</svg>\n");
    s
}

/// The finite min..max of the scores, widened when all scores are equal; `None` when empty.
fn score_range(values: impl Iterator<Item = f64>) -> Option<(f64, f64)> {
    let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
    for v in values.filter(|v| v.is_finite()) {
        lo = lo.min(v);
        hi = hi.max(v);
    }
    if !(lo.is_finite() && hi.is_finite()) {
        return None;
    }
    let span = hi - lo;
    if !(span.is_finite() && span > 1e-12 * lo.abs().max(hi.abs()).max(1.0)) {
        let pad = (lo.abs() * 0.05).max(0.05);
        return Some((lo - pad, hi + pad));
    }
    Some((lo, hi))
}

/// Share of `values` falling into each of the [`HIST_BINS`] bins over `lo..=hi`.
fn bin_shares(values: &[f64], lo: f64, hi: f64) -> [f64; HIST_BINS] {
    let mut bins = [0.0; HIST_BINS];
    if values.is_empty() {
        return bins;
    }
    for &v in values {
        let t = (v - lo) / (hi - lo) * HIST_BINS as f64;
        let b = if t.is_finite() {
            (t.floor().max(0.0) as usize).min(HIST_BINS - 1)
        } else {
            0
        };
        bins[b] += 1.0;
    }
    let n = values.len() as f64;
    for b in &mut bins {
        *b /= n;
    }
    bins
}

/// Colour and dash pattern of series `i`.
fn style(i: usize) -> (&'static str, &'static str) {
    (
        PALETTE[i % PALETTE.len()],
        DASHES[(i / PALETTE.len()) % DASHES.len()],
    )
}

fn dash_attr(dash: &str) -> String {
    if dash.is_empty() {
        String::new()
    } else {
        format!(" stroke-dasharray=\"{dash}\"")
    }
}

/// A model name cut to fit a legend line (not escaped).
fn legend_name(name: &str) -> String {
    if name.chars().count() <= LEGEND_NAME_CHARS {
        name.to_string()
    } else {
        let cut: String = name.chars().take(LEGEND_NAME_CHARS - 1).collect();
        format!("{cut}…")
    }
}

fn finite(x: f64) -> Option<f64> {
    x.is_finite().then_some(x)
}

/// Three decimals, "–" for NaN and infinities, never "-0.000".
fn fmt3(x: f64) -> String {
    fmt_dec(x, 3)
}

fn fmt_dec(x: f64, decimals: usize) -> String {
    if !x.is_finite() {
        return DASH.to_string();
    }
    let s = format!("{x:.decimals$}");
    match s.strip_prefix('-') {
        Some(rest) if rest.chars().all(|c| c == '0' || c == '.') => rest.to_string(),
        _ => s,
    }
}

fn fmt_opt(x: Option<f64>) -> String {
    x.map_or_else(|| DASH.to_string(), fmt3)
}

/// HTML-escapes text for element content and double- or single-quoted attributes.
pub(crate) fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            // Control characters other than whitespace are not allowed in HTML text.
            c if c.is_control() && !matches!(c, '\n' | '\t' | '\r') => out.push('\u{fffd}'),
            c => out.push(c),
        }
    }
    out
}

/// The metrics table of an `evaluation.json` as plain text, for terminals (`leadcrawl demo`):
/// one line per model with its shuffled-label control beside it, the best model marked.
pub fn metrics_text(eval: &Evaluation) -> String {
    let mut t = String::new();
    let num = |v: Option<f64>| {
        v.filter(|x| x.is_finite())
            .map_or("-".to_owned(), |x| format!("{x:.3}"))
    };
    let best = eval.best.as_deref().unwrap_or("");
    let _ = writeln!(
        t,
        "{:<38} {:>7} {:>7} {:>7} {:>7} {:>8} {:>8} {:>9} {:>7}",
        "MODEL (out-of-fold)",
        "ROC-AUC",
        "PR-AUC",
        "ACC",
        "F1",
        "LIFT@10",
        "WON@35%",
        "CONTROL",
        "BRIER"
    );
    for m in &eval.models {
        let x = &m.metrics;
        let mark = if m.name == best { " *" } else { "" };
        let control = eval.control.iter().find(|c| c.name == m.name);
        let _ = writeln!(
            t,
            "{:<38} {:>7} {:>7} {:>7} {:>7} {:>8} {:>8} {:>9} {:>7}",
            format!("{}{mark}", m.name),
            num(x.roc_auc),
            num(x.pr_auc),
            num(Some(x.accuracy)),
            num(Some(x.f1)),
            num(x.lift_10),
            num(x.captured_35),
            num(control.and_then(|c| c.metrics.roc_auc)),
            num(m.calibration.as_ref().map(|c| c.brier)),
        );
    }
    if let Some(n) = &eval.nested {
        let _ = writeln!(
            t,
            "{:<38} {:>7} {:>47} {:>7}",
            "CHOSEN, nested CV (honest figure)",
            num(n.roc_auc),
            format!(
                "ECE {} (chance {})",
                num(Some(n.pooled_ece)),
                num(Some(n.pooled_ece_by_chance))
            ),
            num(Some(n.pooled_brier)),
        );
    }
    let _ = writeln!(
        t,
        "{} labelled leads ({} won, {} lost), {}-fold stratified CV, seed {}; CONTROL = ROC-AUC with shuffled labels; BRIER of the calibrated probabilities; * = best, used by `score`; CHOSEN = the model chosen inside each fold by an inner CV, scored on the held-out fold (the best row above is optimistic); ECE (chance) = the calibration error perfectly calibrated probabilities would show on this many leads",
        eval.labelled, eval.won, eval.lost, eval.k, eval.seed
    );
    for n in &eval.notes {
        let _ = writeln!(t, "note: {n}");
    }
    t
}

/// The monitoring page (`monitoring.html`, written by `score`): the shadow comparison of a
/// pinned model, how earlier scorings did once their leads closed, and drift. Kept apart from
/// [`render`]: the score stage runs after the evaluation page is written.
pub fn render_monitoring(m: &crate::stages::score::monitoring::Monitoring) -> String {
    let mut h = String::with_capacity(16 * 1024);
    h.push_str("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
    let _ = writeln!(h, "<title>leadcrawl monitoring</title>");
    let _ = writeln!(h, "<style>{CSS}</style>\n</head>\n<body>\n<main>");
    let _ = writeln!(
        h,
        "<header>\n<h1>leadcrawl monitoring</h1>\n<dl class=\"meta\"><dt>run</dt><dd>{}</dd>\
         <dt>model</dt><dd>{} <code>{}</code>{}</dd></dl>\n\
         <nav><a href=\"report.html\">Evaluation report</a></nav>\n</header>",
        esc(&m.run_id),
        esc(m.model.as_deref().unwrap_or(DASH)),
        esc(m.model_version.as_deref().unwrap_or(DASH)),
        if m.pinned {
            " (pinned by score.model)"
        } else {
            ""
        }
    );
    monitoring_shadow_section(&mut h, m);
    monitoring_realised_section(&mut h, m);
    monitoring_drift_section(&mut h, m);
    if !m.notes.is_empty() {
        h.push_str("<section><h2>Notes</h2><ul class=\"notes\">");
        for n in &m.notes {
            let _ = write!(h, "<li>{}</li>", esc(n));
        }
        h.push_str("</ul></section>\n");
    }
    h.push_str("<footer>Generated by leadcrawl. This page is self-contained: it loads nothing from the network.</footer>\n</main>\n</body>\n</html>\n");
    h
}

fn monitoring_shadow_section(h: &mut String, m: &crate::stages::score::monitoring::Monitoring) {
    h.push_str("<section><h2>Shadow comparison</h2>\n");
    let Some(s) = &m.shadow else {
        h.push_str("<p class=\"muted\">No model pinned (<code>score.model</code>): the refitted model scored.</p></section>\n");
        return;
    };
    let _ = writeln!(
        h,
        "<p>Pinned {} <code>{}</code> beside the refitted {} <code>{}</code> on the same {} open \
         leads: same tier for {} of them, Spearman rank correlation {}.</p>",
        esc(&s.pinned_model),
        esc(&s.pinned_version),
        esc(&s.fitted_model),
        esc(&s.fitted_version),
        s.leads,
        fmt_dec(100.0 * s.tier_agreement, 1) + " %",
        fmt_opt(s.spearman)
    );
    h.push_str("<table><thead><tr><th>pinned tier</th><th>refitted tier</th><th class=\"num\">leads</th></tr></thead><tbody>");
    for (a, b, c) in &s.tiers {
        let _ = write!(
            h,
            "<tr><td>{}</td><td>{}</td><td class=\"num\">{c}</td></tr>",
            esc(a),
            esc(b)
        );
    }
    h.push_str("</tbody></table></section>\n");
}

fn monitoring_realised_section(h: &mut String, m: &crate::stages::score::monitoring::Monitoring) {
    h.push_str("<section><h2>Realised performance</h2>\n<p>Each earlier scoring against the outcomes this lead list brings for the leads it scored while they were open (matched by CRM id, else by lead id).</p>\n");
    if m.realised.is_empty() {
        h.push_str(
            "<p class=\"muted\">No earlier scoring in <code>score_history</code>.</p></section>\n",
        );
        return;
    }
    h.push_str("<table><thead><tr><th>scored at</th><th>run</th><th>model</th><th class=\"num\">scored</th><th class=\"num\">closed since</th><th class=\"num\">won</th><th class=\"num\">ROC-AUC</th><th class=\"num\">mean probability</th><th class=\"num\">won share</th><th>win rate by tier</th></tr></thead><tbody>");
    for r in &m.realised {
        let tiers: Vec<String> = r
            .tiers
            .iter()
            .map(|t| {
                format!(
                    "{} {} ({}/{})",
                    esc(&t.tier),
                    fmt_opt(t.win_rate),
                    t.won,
                    t.closed
                )
            })
            .collect();
        let _ = write!(
            h,
            "<tr><td>{}</td><td>{}</td><td>{} <code>{}</code></td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td>{}</td></tr>",
            esc(&r.scored_at),
            esc(&r.run_id),
            esc(&r.model),
            esc(&r.model_version),
            r.scored,
            r.closed,
            r.won,
            fmt_opt(r.roc_auc),
            fmt_opt(r.mean_probability),
            fmt_opt(r.won_share),
            tiers.join("; ")
        );
    }
    h.push_str("</tbody></table></section>\n");
}

fn monitoring_drift_section(h: &mut String, m: &crate::stages::score::monitoring::Monitoring) {
    h.push_str("<section><h2>Drift</h2>\n<p>Population stability index: under 0.1 stable, 0.1 to 0.25 watch, 0.25 and over act (retrain, or check the inputs).</p>\n");
    if m.drift.is_empty() {
        h.push_str("<p class=\"muted\">Nothing to compare.</p></section>\n");
        return;
    }
    h.push_str("<table><thead><tr><th>what</th><th>between</th><th class=\"num\">PSI</th><th>flag</th></tr></thead><tbody>");
    let mut rows: Vec<&crate::stages::score::monitoring::Psi> = m.drift.iter().collect();
    rows.sort_by(|a, b| b.psi.total_cmp(&a.psi));
    for p in rows {
        let _ = write!(
            h,
            "<tr><td>{}</td><td>{}</td><td class=\"num\">{}</td><td>{}</td></tr>",
            esc(&p.name),
            esc(&p.between),
            fmt3(p.psi),
            esc(&p.flag)
        );
    }
    h.push_str("</tbody></table></section>\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Deterministic pseudo-random numbers in [0, 1).
    struct Lcg(u64);
    impl Lcg {
        fn next(&mut self) -> f64 {
            self.0 = self
                .0
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (self.0 >> 11) as f64 / (1u64 << 53) as f64
        }
    }

    fn curve(power: f64) -> Vec<(f64, f64)> {
        (0..50)
            .map(|i| {
                let x = i as f64 / 49.0;
                (x, x.powf(power))
            })
            .collect()
    }

    fn model(name: &str, quality: f64, seed: u64) -> ModelReport {
        let mut rng = Lcg(seed);
        let won = (0..40)
            .map(|_| (0.35 + quality * 0.4 + rng.next() * 0.4).min(1.0))
            .collect();
        let lost = (0..120).map(|_| rng.next() * 0.7).collect();
        ModelReport {
            name: name.to_string(),
            description: format!("{name} on crawl + registry features"),
            accuracy: 0.75 + quality * 0.1,
            precision: 0.5 + quality * 0.2,
            recall: 0.4 + quality * 0.3,
            f1: 0.45 + quality * 0.25,
            roc_auc: Some(0.7 + quality * 0.2),
            pr_auc: Some(0.45 + quality * 0.3),
            confusion: [[100, 20], [15, 25]],
            lift_10: 2.0 + quality,
            lift_20: 1.8 + quality,
            lift_35: 1.5 + quality * 0.5,
            captured_35: 0.55 + quality * 0.3,
            roc: curve(0.5 - quality * 0.3),
            gains: curve(0.6 - quality * 0.3),
            won_scores: won,
            lost_scores: lost,
            roc_auc_interval: Some((0.5, 0.9)),
            calibration: learn::calibration::quality(&[0.2, 0.8], &[false, true]).ok(),
            captured: vec![(0.1, 0.5), (0.5, 1.0)],
        }
    }

    fn realistic() -> ReportData {
        let mut models = vec![
            model("logistic regression", 0.8123, 1),
            model("gradient boosting <b>", 0.6, 2),
            model("k-nearest neighbours on embeddings", 0.3, 3),
        ];
        models[0].accuracy = 0.8123;
        ReportData {
            title: "leadcrawl evaluation".into(),
            generated_at: "2026-05-01T03:12:45Z".into(),
            run_id: "run-20260501-031245".into(),
            config_hash: "9f2c4e1a7b3d5c6e8f0a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f6".into(),
            model_id: Some("logreg-9f2c4e1a".into()),
            folds: 5,
            seed: 42,
            coverage: vec![
                Coverage {
                    label: "leads with a website".into(),
                    count: 180,
                    total: 200,
                },
                Coverage {
                    label: "crawled".into(),
                    count: 171,
                    total: 200,
                },
                Coverage {
                    label: "registry matched".into(),
                    count: 122,
                    total: 200,
                },
                Coverage {
                    label: "embedded".into(),
                    count: 165,
                    total: 200,
                },
                Coverage {
                    label: "labelled won".into(),
                    count: 40,
                    total: 160,
                },
                Coverage {
                    label: "labelled lost".into(),
                    count: 120,
                    total: 160,
                },
            ],
            best: Some("logistic regression".into()),
            control: vec![
                ControlRow {
                    model: "logistic regression".into(),
                    roc_auc: Some(0.507),
                    accuracy: 0.74,
                },
                ControlRow {
                    model: "gradient boosting <b>".into(),
                    roc_auc: Some(0.488),
                    accuracy: 0.7312,
                },
            ],
            notes: vec![
                "only 160 labelled leads: confidence intervals are wide".into(),
                "a <b>bold</b> note & an ampersand".into(),
            ],
            models,
            nested: Some(learn::cv::NestedChoice {
                inner_k: 3,
                per_fold: vec![("logistic <i>".into(), Some(0.71))],
                roc_auc: Some(0.71),
                mean_fold_roc_auc: Some(0.72),
                pooled_brier: 0.2,
                pooled_ece: 0.04,
                pooled_ece_by_chance: 0.03,
            }),
            slices: vec![super::super::evaluation::Slice {
                by: "attr_lead_source".into(),
                value: "<script>".into(),
                leads: 40,
                won: 10,
                roc_auc: Some(0.61),
                mean_probability: 0.3,
                won_share: 0.25,
            }],
            time_split: Some(super::super::evaluation::TimeSplit {
                column: "lead_date".into(),
                first_date: Some("2025-01-02".into()),
                cut_date: Some("2025-10-01".into()),
                last_date: Some("2025-12-31".into()),
                train_leads: 80,
                train_won: 20,
                test_leads: 20,
                test_won: 6,
                undated: 3,
                models: vec![super::super::evaluation::TimeModel {
                    model: "logistic_web".into(),
                    roc_auc: Some(0.58),
                    captured_at_20: Some(0.33),
                    cv_roc_auc: Some(0.81),
                }],
                note: None,
                won_centroid: None,
            }),
            prospects: None,
        }
    }

    fn degenerate() -> ReportData {
        ReportData {
            title: "leadcrawl evaluation".into(),
            generated_at: "2026-05-01T03:12:45Z".into(),
            run_id: "run-x".into(),
            config_hash: "abc".into(),
            model_id: None,
            folds: 0,
            seed: 0,
            coverage: vec![Coverage {
                label: "crawled".into(),
                count: 0,
                total: 0,
            }],
            models: vec![],
            best: Some("missing".into()),
            control: vec![ControlRow {
                model: "m".into(),
                roc_auc: Some(f64::NAN),
                accuracy: f64::INFINITY,
            }],
            notes: vec![],
            nested: None,
            slices: Vec::new(),
            time_split: None,
            prospects: None,
        }
    }

    /// A model with empty curves, NaN/inf metrics and a single score value.
    fn broken_model() -> ModelReport {
        ModelReport {
            name: "broken".into(),
            description: String::new(),
            accuracy: f64::NAN,
            precision: f64::INFINITY,
            recall: f64::NEG_INFINITY,
            f1: -0.0,
            roc_auc: None,
            pr_auc: Some(f64::NAN),
            confusion: [[0, 0], [0, 0]],
            lift_10: f64::NAN,
            lift_20: 1.0,
            lift_35: 1.0,
            captured_35: f64::NAN,
            roc: vec![],
            gains: vec![(f64::NAN, 0.5), (0.2, f64::INFINITY)],
            won_scores: vec![0.7],
            lost_scores: vec![f64::NAN],
            roc_auc_interval: None,
            calibration: None,
            captured: Vec::new(),
        }
    }

    fn count(h: &str, needle: &str) -> usize {
        h.matches(needle).count()
    }

    fn check_common(h: &str) {
        assert!(h.starts_with("<!DOCTYPE html>"));
        assert!(h.trim_end().ends_with("</html>"));
        assert!(!h.to_ascii_lowercase().contains("<script"));
        let without_ns = h.replace(SVG_NS, "");
        assert!(!without_ns.contains("http://"), "external http reference");
        assert!(!without_ns.contains("https://"), "external https reference");
        assert!(
            !h.contains("<b>") && !h.contains("</b>"),
            "user markup leaked"
        );
        assert_eq!(count(h, "<svg"), count(h, "</svg>"));
        assert_eq!(count(h, "<table"), count(h, "</table>"));
        assert_eq!(count(h, "<section"), count(h, "</section>"));
        assert!(!h.contains("NaN"));
        for bad in ["\"inf", " inf", ">inf", "-inf", ",inf"] {
            assert!(!h.contains(bad), "non-finite number {bad:?} in output");
        }
        // Every SVG coordinate list is made of plain numbers.
        for chunk in h.split("points=\"").skip(1) {
            let pts = &chunk[..chunk.find('"').unwrap()];
            assert!(
                pts.chars()
                    .all(|c| c.is_ascii_digit() || ".,- ".contains(c)),
                "{pts}"
            );
        }
    }

    #[test]
    fn realistic_report() {
        let data = realistic();
        let h = render(&data);
        check_common(&h);
        // Reliability + ROC + gains + one histogram per model.
        assert_eq!(count(&h, "<svg"), 3 + data.models.len());
        // Metrics + choice + time + slices + 3 confusion matrices + control + coverage.
        assert_eq!(count(&h, "<table"), 1 + 1 + 1 + 1 + 3 + 1 + 1);
        assert!(
            h.contains("leads dated 2025-01-02 to before 2025-10-01 (20 won)")
                && h.contains("3 labelled leads without a date")
                && h.contains("<td class=\"num\">0.580</td><td class=\"num\">0.810</td>"),
            "the time split beside cross-validation"
        );
        assert!(
            h.contains("&lt;script&gt;") && h.contains(">0.610<"),
            "slices, escaped"
        );
        assert!(h.contains("Expected ROC-AUC of the chosen model on new leads: 0.710"));
        assert!(
            h.contains("logistic &lt;i&gt;"),
            "chosen model names are escaped"
        );
        assert_eq!(
            count(&h, "<polyline"),
            9,
            "ROC, gains and reliability per model"
        );
        assert!(h.contains("gradient boosting &lt;b&gt;"));
        assert!(h.contains("a &lt;b&gt;bold&lt;/b&gt; note &amp; an ampersand"));
        assert!(h.contains(">0.812<"), "accuracy with 3 decimals");
        assert!(
            h.contains(">0.507<") && h.contains(">0.731<"),
            "control with 3 decimals"
        );
        assert!(h.contains(">2.812<"), "lift with 3 decimals");
        assert!(h.contains("90.0 %"), "coverage percentage");
        assert_eq!(count(&h, "class=\"best\""), 2, "metrics and choice tables");
        assert!(h.contains("★ chosen"));
        assert!(h.contains("top 35 %"));
        assert!(
            h.contains("<a href=\"monitoring.html\""),
            "links the monitoring page"
        );
    }

    #[test]
    fn degenerate_report() {
        let h = render(&degenerate());
        check_common(&h);
        assert_eq!(count(&h, "<svg"), 0);
        assert!(h.contains("No models were evaluated."));
        assert!(h.contains("is not among the evaluated"));
        // Control row with NaN ROC-AUC and infinite accuracy.
        assert!(h.contains("<td class=\"num\">–</td>"));
        assert_eq!(count(&h, "<table"), 2);
    }

    #[test]
    fn broken_model_report() {
        let mut data = realistic();
        data.models = vec![broken_model()];
        data.best = Some("broken".into());
        let h = render(&data);
        check_common(&h);
        assert_eq!(count(&h, "<svg"), 4);
        assert!(h.contains("(no curve)"));
        assert!(h.contains("won (n = 1)") && h.contains("lost (n = 0)"));
        assert!(!h.contains("-0.000"));
        assert_eq!(count(&h, "<polyline"), 0);
        // A model with no finite score at all.
        data.models[0].won_scores = vec![f64::NAN];
        let h = render(&data);
        check_common(&h);
        assert!(h.contains("no scores"));
    }

    #[test]
    fn metrics_text_marks_the_best_model_and_puts_its_control_beside_it() {
        use super::super::evaluation::{ControlResult, ModelResult};
        let m = |roc| {
            learn::evaluate(&[0.9, 0.2, 0.6, 0.4], &[true, false, true, false], 0.5)
                .map(|x| learn::Metrics { roc_auc: roc, ..x })
                .unwrap()
        };
        let model = |name: &str, roc| ModelResult {
            name: name.into(),
            description: String::new(),
            metrics: m(roc),
            per_fold: vec![],
            scores: Default::default(),
            probabilities: Default::default(),
            calibration: None,
            roc_auc_interval: None,
            captured: Vec::new(),
        };
        let eval = Evaluation {
            schema_version: 1,
            run_id: "r".into(),
            config_hash: "h".into(),
            model_id: None,
            k: 2,
            seed: 7,
            labelled: 4,
            won: 2,
            lost: 2,
            coverage: vec![],
            models: vec![model("logistic_web", Some(0.75)), model("combined", None)],
            control: vec![ControlResult {
                name: "logistic_web".into(),
                metrics: m(Some(0.4)),
            }],
            best: Some("logistic_web".into()),
            folds: Default::default(),
            notes: vec!["only 4 labelled leads".into()],
            attributes: Vec::new(),
            nested: None,
            slices: Vec::new(),
            time_split: None,
        };
        let t = metrics_text(&eval);
        let lines: Vec<&str> = t.lines().collect();
        assert!(lines[1].starts_with("logistic_web *"), "{t}");
        assert!(
            lines[1].contains(" 0.750 ") && lines[1].contains(" 0.400 ") && lines[1].ends_with('-'),
            "{t}"
        );
        // No ROC-AUC and no control: dashes, not numbers.
        assert!(
            lines[2].starts_with("combined ") && lines[2].ends_with(" -"),
            "{t}"
        );
        assert!(
            lines[3].starts_with("4 labelled leads (2 won, 2 lost), 2-fold"),
            "{t}"
        );
        assert_eq!(lines[4], "note: only 4 labelled leads");
    }

    #[test]
    fn helpers() {
        assert_eq!(fmt3(0.12345), "0.123");
        assert_eq!(fmt3(-0.0001), "0.000");
        assert_eq!(fmt3(f64::NAN), "–");
        assert_eq!(fmt_opt(None), "–");
        assert_eq!(
            esc("<a href='x'>&\"</a>"),
            "&lt;a href=&#39;x&#39;&gt;&amp;&quot;&lt;/a&gt;"
        );
        let (lo, hi) = score_range([0.5, 0.5].into_iter()).unwrap();
        assert!((lo - 0.45).abs() < 1e-12 && (hi - 0.55).abs() < 1e-12);
        assert_eq!(score_range([f64::NAN].into_iter()), None);
        let b = bin_shares(&[0.0, 1.0, 0.5, 0.5], 0.0, 1.0);
        assert_eq!(b[0], 0.25);
        assert_eq!(b[HIST_BINS - 1], 0.25);
        assert_eq!(b[10], 0.5);
        assert_eq!(
            legend_name(&"x".repeat(100)).chars().count(),
            LEGEND_NAME_CHARS
        );
    }

    /// Writes the sample page for a visual check: `LEADCRAWL_REPORT_HTML=/tmp/report.html
    /// cargo test --lib stages::evaluate::report::tests::write_sample -- --ignored`.
    #[test]
    #[ignore]
    fn write_sample() {
        let path = std::env::var("LEADCRAWL_REPORT_HTML").unwrap_or("/tmp/report.html".into());
        let mut data = realistic();
        let mut extra = broken_model();
        extra.name = "a model with a very long name that goes on and on and on and on".into();
        data.models.push(extra);
        std::fs::write(&path, render(&data)).unwrap();
        std::fs::write(format!("{path}.empty.html"), render(&degenerate())).unwrap();
    }
}
