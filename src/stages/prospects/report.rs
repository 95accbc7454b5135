//! `prospects.html`: what the prospects model learned and how well it finds held-out clients, in
//! one self-contained page (the evaluation report's style, no scripts, nothing fetched).
//!
//! Every figure on the page is in `prospects.json` and can be recomputed from
//! `prospect_clients.parquet`, `prospects.parquet` and the universe (a Python test does).

use std::fmt::Write as _;

use learn::pu::Method;

use super::rows::Prospect;
use super::{Ranking, Summary};
use crate::stages::evaluate::report::{esc, CSS};

/// Prospects listed on the page (the table has them all).
const SHOWN: usize = 50;

/// A share as a percentage with one decimal ("12.5 %"); "–" for none.
pub fn pct(x: Option<f64>) -> String {
    match x.filter(|x| x.is_finite()) {
        Some(x) => format!("{:.1} %", 100.0 * x),
        None => "–".into(),
    }
}

fn num(x: Option<f64>, decimals: usize) -> String {
    match x.filter(|x| x.is_finite()) {
        Some(x) => format!("{x:.decimals$}"),
        None => "–".into(),
    }
}

fn recall(r: &Ranking, at: f64) -> Option<f64> {
    r.recall_at
        .iter()
        .find(|(a, _)| (a - at).abs() < 1e-9)
        .map(|x| x.1)
}

/// The whole page.
pub fn render(s: &Summary, prospects: &[Prospect]) -> String {
    let mut h = String::with_capacity(64 * 1024);
    h.push_str("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
    h.push_str("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n");
    let _ = writeln!(
        h,
        "<title>leadcrawl prospects</title>\n<style>{CSS}</style>\n</head>\n<body>\n<main>"
    );
    let mut method = match s.method {
        Some(Method::PositiveUnlabelled) => {
            "positive-unlabelled learning (Elkan–Noto): the clients against a uniform sample of the rest of the universe"
        }
        Some(Method::WonLost) => "won against lost leads",
        None => "none (nothing could be trained: see the notes)",
    }
    .to_owned();
    if let Some(c) = &s.method_choice {
        let auc = |a: Option<f64>| a.map_or("not fitted".to_owned(), |a| format!("{a:.3}"));
        method.push_str(&format!(
            "; chosen on the training clients ({}-fold inner validation, ROC-AUC of clients against the background): positive-unlabelled {}, won/lost {}",
            c.folds,
            auc(c.positive_unlabelled),
            auc(c.won_lost)
        ));
    }
    let _ = writeln!(
        h,
        "<header>\n<h1>Prospects: companies like your clients</h1>\n<dl class=\"meta\">\
         <div><dt>run</dt><dd class=\"mono\">{}</dd></div>\
         <div><dt>method</dt><dd>{}</dd></div>\
         <div><dt>model</dt><dd class=\"mono\">{}</dd></div>\
         <div><dt>universe</dt><dd>{} companies, {} active, {} scored</dd></div>\
         <div><dt>clients</dt><dd>{} matched ({} trained on, {} held out); {} won leads not in the universe; {} lost leads matched</dd></div>\
         <div><dt>labelling constant c</dt><dd>{}</dd></div>\
         <div><dt>estimated class prior</dt><dd>{} of the unlabelled universe look like clients (about {} companies)</dd></div>\
         <div><dt>features</dt><dd>{}{}</dd></div>\
         </dl>\n</header>",
        esc(&s.run_id),
        esc(&method),
        esc(&s.model),
        s.universe_companies,
        s.universe_active,
        s.scored,
        s.clients_matched,
        s.clients_train,
        s.clients_holdout,
        s.clients_unmatched,
        s.lost_matched,
        num(s.labelling_constant, 4),
        pct(s.class_prior),
        num(s.estimated_client_like, 0),
        esc(&s.features.join(", ")),
        if s.excluded_features.is_empty() {
            String::new()
        } else {
            format!(" (left out: {})", esc(&s.excluded_features.join(", ")))
        },
    );
    h.push_str(
        "<p class=\"howto\">Every active company of the universe that is not in your lead list is \
         scored by how much it looks like your clients. To check the ranking before trusting it, \
         a share of the clients was held out before training: the table below says where they \
         land among the scored companies. \"Recall at the top 5 %\" is the share of held-out \
         clients the model ranks within the best 5 % of the universe; the percentile is the \
         share of the universe ranked below a client (100 = the top). The baseline ranks \
         companies by how many training clients share their NACE division and headcount band.</p>\n",
    );
    h.push_str("<h2 id=\"validation\">Held-out clients</h2>\n");
    match &s.validation {
        Some(v) => {
            let _ = writeln!(
                h,
                "<table><thead><tr><th>ranking</th><th class=\"num\">recall at top 1 %</th>\
                 <th class=\"num\">recall at top 5 %</th><th class=\"num\">recall at top 10 %</th>\
                 <th class=\"num\">median percentile</th></tr></thead><tbody>"
            );
            for (name, r) in [
                ("model", &v.model),
                ("baseline (NACE division × size band)", &v.baseline),
            ] {
                let _ = writeln!(
                    h,
                    "<tr><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td>\
                     <td class=\"num\">{}</td><td class=\"num\">{}</td></tr>",
                    esc(name),
                    pct(recall(r, 0.01)),
                    pct(recall(r, 0.05)),
                    pct(recall(r, 0.10)),
                    num(r.median_percentile, 1),
                );
            }
            let _ = writeln!(
                h,
                "</tbody></table>\n<p class=\"muted\">{} held-out clients.</p>",
                v.holdout
            );
        }
        None => h.push_str("<p>No validation: too few clients to hold any out.</p>\n"),
    }
    h.push_str("<h2 id=\"profile\">Client profile</h2>\n<p>Your clients against the active universe: each segment's share of the clients, of the universe, and the lift (clients' share / universe share; above 1, the clients are over-represented).</p>\n");
    profile_tables(&mut h, s);
    let _ = writeln!(
        h,
        "<h2 id=\"prospects\">Best prospects</h2>\n<p>The first {} of {} in <code>prospects.parquet</code> \
         (<code>leadcrawl export prospects --top N</code> writes them as a lead list).</p>",
        prospects.len().min(SHOWN),
        prospects.len()
    );
    h.push_str(
        "<table class=\"metrics\"><thead><tr><th class=\"num\">rank</th><th>company</th><th>id</th>\
         <th>NACE</th><th>headcount</th><th>city</th><th class=\"num\">score</th>\
         <th class=\"num\">percentile</th><th>why</th><th>like</th></tr></thead><tbody>\n",
    );
    for p in prospects.iter().take(SHOWN) {
        let c = &p.company;
        let why: Vec<String> = p
            .drivers
            .iter()
            .take(3)
            .map(|(f, v)| format!("{} ({v:+.2})", esc(f)))
            .collect();
        let like: Vec<String> = p
            .similar
            .iter()
            .map(|((_, id, name), _)| esc(name.as_deref().unwrap_or(id)))
            .collect();
        let _ = writeln!(
            h,
            "<tr><td class=\"num\">{}</td><td>{}</td><td class=\"mono\" style=\"white-space:nowrap\">{}</td>\
             <td style=\"white-space:nowrap\">{}</td><td>{}</td><td>{}</td><td class=\"num\">{:.4}</td><td class=\"num\">{:.2}</td><td>{}</td><td>{}</td></tr>",
            p.rank,
            esc(c.name.as_deref().unwrap_or("")),
            esc(&c.registry_id),
            esc(c.industry_code.as_deref().or(c.nace_division.as_deref()).unwrap_or("")),
            esc(c.headcount_band.as_deref().unwrap_or("")),
            esc(c.city.as_deref().unwrap_or("")),
            p.score,
            p.percentile,
            why.join("; "),
            like.join("; "),
        );
    }
    h.push_str("</tbody></table>\n");
    if !s.notes.is_empty() {
        h.push_str("<h2 id=\"notes\">Notes</h2>\n<ul class=\"notes\">\n");
        for n in &s.notes {
            let _ = writeln!(h, "<li>{}</li>", esc(n));
        }
        h.push_str("</ul>\n");
    }
    h.push_str("<footer>Generated by leadcrawl. This page is self-contained: it loads nothing from the network.</footer>\n</main>\n</body>\n</html>\n");
    h
}

/// The client profile's tables (NACE section, headcount, age, region: clients against the
/// universe with each segment's lift), also shown in the evaluation's `report.html`.
pub fn profile_tables(h: &mut String, s: &Summary) {
    for (by, title) in [
        ("nace_section", "NACE section"),
        ("headcount", "Headcount"),
        ("age", "Age"),
        ("region", "Region"),
    ] {
        let mut rows: Vec<_> = s.profile.iter().filter(|p| p.by == by).collect();
        rows.sort_by(|a, b| {
            b.clients
                .cmp(&a.clients)
                .then(b.universe.cmp(&a.universe))
                .then(a.value.cmp(&b.value))
        });
        let _ = writeln!(
            h,
            "<h3>{title}</h3>\n<table><thead><tr><th>{title}</th><th class=\"num\">clients</th>\
             <th class=\"num\">clients' share</th><th class=\"num\">universe</th>\
             <th class=\"num\">universe share</th><th class=\"num\">lift</th></tr></thead><tbody>"
        );
        // The segments with clients, then the universe's largest others (up to 12 rows).
        for p in rows.iter().take(12) {
            let _ = writeln!(
                h,
                "<tr><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td>\
                 <td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td></tr>",
                esc(&p.value),
                p.clients,
                pct(Some(p.client_share)),
                p.universe,
                pct(Some(p.universe_share)),
                num(p.lift, 2),
            );
        }
        h.push_str("</tbody></table>\n");
    }
}
