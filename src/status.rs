//! `leadcrawl status`: the truth about each stage, from the state store and the process table.
//!
//! A stage recorded as running whose process is gone (killed, machine rebooted) is shown as
//! `interrupted`: the next `leadcrawl run` resumes it.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::config::Config;
use crate::stages;
use crate::state::{LeaseView, StageStatus, StateStore};

#[derive(Debug, Serialize)]
pub struct StageView {
    pub stage: String,
    pub status: String,
    pub units_done: u64,
    pub units_failed: u64,
    pub units_total: Option<u64>,
    pub run_id: Option<String>,
    pub started_at: Option<String>,
    pub finished_at: Option<String>,
    pub pid: Option<u32>,
    pub error: Option<String>,
    pub counters: BTreeMap<String, u64>,
    /// table → (files, rows)
    pub outputs: BTreeMap<String, TableFiles>,
    pub failures: Vec<(String, String)>,
    /// Registered parts whose file is not what was committed (size), with why; the next run
    /// takes them back and redoes their units.
    pub damaged: Vec<(String, String)>,
}

#[derive(Debug, Serialize, Default)]
pub struct TableFiles {
    pub files: Vec<String>,
    pub rows: u64,
}

#[derive(Debug, Serialize)]
pub struct StatusView {
    pub config: String,
    pub output_dir: String,
    pub state: String,
    pub stages: Vec<StageView>,
    /// Workers and leases (PostgreSQL state store only).
    pub leases: Option<LeaseView>,
}

fn fmt_time(micros: Option<i64>) -> Option<String> {
    micros
        .and_then(chrono::DateTime::from_timestamp_micros)
        .map(|t| t.format("%Y-%m-%dT%H:%M:%SZ").to_string())
}

fn process_alive(pid: u32) -> bool {
    std::path::Path::new(&format!("/proc/{pid}")).exists()
}

pub fn collect(config: &Config, store: Option<&dyn StateStore>) -> anyhow::Result<StatusView> {
    let mut views = Vec::new();
    for stage in stages::all() {
        let rec = match store {
            Some(s) => s.stage(stage.name())?,
            None => None,
        };
        let Some(rec) = rec else {
            views.push(StageView {
                stage: stage.name().into(),
                status: "pending".into(),
                units_done: 0,
                units_failed: 0,
                units_total: None,
                run_id: None,
                started_at: None,
                finished_at: None,
                pid: None,
                error: None,
                counters: BTreeMap::new(),
                outputs: BTreeMap::new(),
                failures: vec![],
                damaged: vec![],
            });
            continue;
        };
        let store = store.expect("a record implies a store");
        let mut status = rec.status;
        if status == StageStatus::Running {
            let same_host = rec.host.as_deref() == Some(crate::state::hostname().as_str());
            if same_host && !rec.pid.is_some_and(process_alive) {
                status = StageStatus::Interrupted;
            }
        }
        let mut outputs: BTreeMap<String, TableFiles> = BTreeMap::new();
        let mut damaged = Vec::new();
        for p in store.parts(stage.name())? {
            if let Err(crate::table::TableError::Damaged { file, why, .. }) =
                crate::table::check_size(config.output_dir(), stage.name(), &p)
            {
                damaged.push((file, why));
            }
            let t = outputs.entry(p.table.clone()).or_default();
            t.files.push(p.file);
            t.rows += p.rows;
        }
        views.push(StageView {
            stage: rec.name.clone(),
            status: status.as_str().into(),
            units_done: rec.units_done,
            units_failed: rec.units_failed,
            units_total: rec.units_total,
            run_id: Some(rec.run_id.clone()),
            started_at: fmt_time(rec.started_at),
            finished_at: fmt_time(rec.finished_at),
            pid: rec.pid,
            error: rec.error.clone(),
            counters: rec.counters.clone(),
            outputs,
            failures: store.failures(stage.name(), 20)?,
            damaged,
        });
    }
    Ok(StatusView {
        config: config.path.display().to_string(),
        output_dir: config.output_dir().display().to_string(),
        state: match store {
            Some(s) => s.describe(),
            None => config.state_path().display().to_string(),
        },
        stages: views,
        leases: match store.and_then(|s| s.leases()) {
            Some(l) => Some(l.view()?),
            None => None,
        },
    })
}

pub fn render(v: &StatusView) -> String {
    let mut s = format!(
        "config  {}\noutput  {}\nstate   {}\n\n",
        v.config, v.output_dir, v.state
    );
    s.push_str(&format!(
        "{:<10} {:<12} {:>13} {:>8}  {:<21} {}\n",
        "STAGE", "STATUS", "UNITS", "FAILED", "LAST RUN (UTC)", "OUTPUTS"
    ));
    for st in &v.stages {
        let units = match st.units_total {
            Some(t) => format!("{}/{}", st.units_done + st.units_failed, t),
            None if st.units_done + st.units_failed > 0 => {
                format!("{}", st.units_done + st.units_failed)
            }
            None => "-".into(),
        };
        let outputs = if st.outputs.is_empty() {
            "-".to_string()
        } else {
            st.outputs
                .iter()
                .map(|(t, f)| {
                    format!(
                        "{t}: {} rows in {} file{}",
                        f.rows,
                        f.files.len(),
                        if f.files.len() == 1 { "" } else { "s" }
                    )
                })
                .collect::<Vec<_>>()
                .join("; ")
        };
        let when = st
            .finished_at
            .clone()
            .or(st.started_at.clone())
            .unwrap_or_else(|| "-".into());
        s.push_str(&format!(
            "{:<10} {:<12} {:>13} {:>8}  {:<21} {}\n",
            st.stage, st.status, units, st.units_failed, when, outputs
        ));
        if !st.counters.is_empty() {
            let c: Vec<String> = st
                .counters
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect();
            s.push_str(&format!("{:<10} counters: {}\n", "", c.join(" ")));
        }
        if let Some(e) = &st.error {
            s.push_str(&format!("{:<10} error: {e}\n", ""));
        }
        for (unit, why) in st.failures.iter().take(5) {
            s.push_str(&format!("{:<10} failed {unit}: {why}\n", ""));
        }
        for (file, why) in &st.damaged {
            s.push_str(&format!(
                "{:<10} DAMAGED {file}: {why} (the next run redoes its units)\n",
                ""
            ));
        }
    }
    if let Some(l) = &v.leases {
        s.push_str(&format!(
            "\nFRONTIER  {} done, {} to do ({} leased, {} expired leases waiting to be claimed again)\n",
            l.done, l.unfinished, l.leased, l.expired
        ));
        if !l.workers.is_empty() {
            s.push_str(&format!(
                "{:<24} {:<24} {:>8} {:>7} {:>7} {:>8} {:>8} {:>9} {:>10}\n",
                "WORKER", "HOST", "PID", "LEASES", "UNITS", "PAGES", "PAGES/S", "Q/PAGE", "SEEN"
            ));
            for w in &l.workers {
                let rate = w.pages as f64 / w.running_seconds.max(1e-3);
                let qpp = if w.pages > 0 {
                    format!("{:.2}", w.queries as f64 / w.pages as f64)
                } else {
                    "-".into()
                };
                s.push_str(&format!(
                    "{:<24} {:<24} {:>8} {:>7} {:>7} {:>8} {:>8.1} {:>9} {:>9.0}s\n",
                    w.id, w.host, w.pid, w.leases, w.units, w.pages, rate, qpp, w.seen_seconds_ago
                ));
            }
        }
    }
    s
}
