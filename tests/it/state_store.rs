//! The state store's behaviour, the same suite on both backends (SQLite and a real PostgreSQL),
//! and PostgreSQL's host leases: exclusive claims, expiry and takeover with the politeness wait,
//! heartbeats, and commits fenced by lease ownership.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

use leadcrawl::state::postgres::PgStore;
use leadcrawl::state::sqlite::SqliteStore;
use leadcrawl::state::{
    PendingPart, Refresh, Replacement, StageStatus, StateError, StateStore, UnitOutcome,
};

use crate::common::pg_database;

fn pending(root: &Path, table: &str, name: &str, rows: u64) -> PendingPart {
    let dir = root.join(table);
    std::fs::create_dir_all(&dir).unwrap();
    let tmp = dir.join(format!(".tmp-{name}"));
    std::fs::write(&tmp, name.as_bytes()).unwrap();
    PendingPart {
        table: table.into(),
        tmp_path: tmp,
        final_path: dir.join(name),
        rows,
        bytes: name.len() as u64,
        checksum: leadcrawl::table::checksum(name.as_bytes()),
    }
}

fn counters(kv: &[(&str, u64)]) -> BTreeMap<String, u64> {
    kv.iter().map(|(k, v)| (k.to_string(), *v)).collect()
}

/// Everything a stage relies on, asserted through the trait only.
fn behaviour(store: &dyn StateStore, root: &Path) {
    assert!(store.stage("crawl").unwrap().is_none());
    assert!(store.stages().unwrap().is_empty());

    store.start_stage("crawl", "fp1", "run1").unwrap();
    store.set_units_total("crawl", 3).unwrap();
    let r = store.stage("crawl").unwrap().unwrap();
    assert_eq!(
        (r.status, r.fingerprint.as_str(), r.run_id.as_str()),
        (StageStatus::Running, "fp1", "run1")
    );
    assert_eq!(
        (r.units_total, r.units_done, r.units_failed),
        (Some(3), 0, 0)
    );
    assert_eq!(r.pid, Some(std::process::id()));

    // A commit moves the part into place, records the units and adds the counters.
    let p = pending(root, "pages", "part-00000.parquet", 7);
    store
        .commit(
            "crawl",
            std::slice::from_ref(&p),
            &[
                UnitOutcome::done("a.fr"),
                UnitOutcome::failed("b.fr", "dead"),
            ],
            &counters(&[("pages", 5), ("sites", 2)]),
        )
        .unwrap();
    assert!(p.final_path.exists() && !p.tmp_path.exists());
    let p2 = pending(root, "pages", "part-00001.parquet", 2);
    store
        .commit(
            "crawl",
            std::slice::from_ref(&p2),
            &[UnitOutcome::done("c.fr")],
            &counters(&[("pages", 2), ("sites", 1)]),
        )
        .unwrap();
    let r = store.stage("crawl").unwrap().unwrap();
    assert_eq!((r.units_done, r.units_failed), (2, 1));
    assert_eq!(r.counters, counters(&[("pages", 7), ("sites", 3)]));
    let mut fin: Vec<String> = store.finished_units("crawl").unwrap().into_iter().collect();
    fin.sort();
    assert_eq!(fin, ["a.fr", "b.fr", "c.fr"]);
    assert_eq!(
        store.failures("crawl", 10).unwrap(),
        vec![("b.fr".to_string(), "dead".to_string())]
    );
    let parts = store.parts("crawl").unwrap();
    assert_eq!(
        parts
            .iter()
            .map(|p| (p.table.as_str(), p.file.as_str(), p.rows))
            .collect::<Vec<_>>(),
        [
            ("pages", "pages/part-00000.parquet", 7),
            ("pages", "pages/part-00001.parquet", 2)
        ],
        "relative to the output folder, in commit order"
    );
    // A unit committed again (a forced retry) replaces its outcome, never duplicates it.
    store
        .commit("crawl", &[], &[UnitOutcome::done("b.fr")], &BTreeMap::new())
        .unwrap();
    let r = store.stage("crawl").unwrap().unwrap();
    assert_eq!((r.units_done, r.units_failed), (3, 0));

    // A failed rename rolls the whole commit back.
    let missing = PendingPart {
        table: "pages".into(),
        tmp_path: root.join("pages/.tmp-never-written"),
        final_path: root.join("pages/part-00002.parquet"),
        rows: 1,
        bytes: 0,
        checksum: String::new(),
    };
    let e = store
        .commit(
            "crawl",
            &[missing],
            &[UnitOutcome::done("d.fr")],
            &counters(&[("pages", 100)]),
        )
        .unwrap_err();
    assert!(matches!(e, StateError::Rename { .. }), "{e}");
    assert!(!store.finished_units("crawl").unwrap().contains("d.fr"));
    assert_eq!(store.parts("crawl").unwrap().len(), 2);
    assert_eq!(
        store.stage("crawl").unwrap().unwrap().counters["pages"],
        7,
        "counters rolled back too"
    );

    store
        .finish_stage("crawl", StageStatus::Done, Some("out1"), None)
        .unwrap();
    let r = store.stage("crawl").unwrap().unwrap();
    assert_eq!(r.status, StageStatus::Done);
    assert_eq!(r.output_fingerprint.as_deref(), Some("out1"));
    assert!(r.finished_at.is_some());
    // A failure keeps the last output fingerprint and records the error.
    store.start_stage("crawl", "fp1", "run2").unwrap();
    store
        .finish_stage("crawl", StageStatus::Failed, None, Some("boom"))
        .unwrap();
    let r = store.stage("crawl").unwrap().unwrap();
    assert_eq!(
        (
            r.status,
            r.output_fingerprint.as_deref(),
            r.error.as_deref()
        ),
        (StageStatus::Failed, Some("out1"), Some("boom"))
    );

    // Reset forgets units, parts and counters and returns the parts for deletion.
    let old = store.reset_stage("crawl").unwrap();
    assert_eq!(old.len(), 2);
    let r = store.stage("crawl").unwrap().unwrap();
    assert_eq!(
        (
            r.status,
            r.units_done,
            r.counters.len(),
            r.output_fingerprint
        ),
        (StageStatus::Pending, 0, 0, None)
    );
    assert!(store.parts("crawl").unwrap().is_empty());
    assert!(store.finished_units("crawl").unwrap().is_empty());

    // Stages are independent.
    store.start_stage("extract", "fpx", "run3").unwrap();
    assert_eq!(store.stages().unwrap().len(), 2);

    // The HTTP cache: absent, stored, replaced; binary bodies intact.
    assert!(store.cache_get("k1").unwrap().is_none());
    let before = chrono::Utc::now().timestamp_micros();
    store.cache_put("k1", 200, b"{\"a\":1}\x00\xff").unwrap();
    let c = store.cache_get("k1").unwrap().unwrap();
    assert_eq!(
        (c.status, c.body.as_slice()),
        (200, &b"{\"a\":1}\x00\xff"[..])
    );
    assert!(c.stored_at >= before - 1_000_000);
    store.cache_put("k1", 404, b"").unwrap();
    let c = store.cache_get("k1").unwrap().unwrap();
    assert_eq!((c.status, c.body.len()), (404, 0));

    // A damaged part is taken back with the parts and units of its commit, and only those.
    let first = [
        pending(root, "page_text", "part-00000.parquet", 2),
        pending(root, "web_features", "part-00000.parquet", 2),
    ];
    let second = [pending(root, "web_features", "part-00001.parquet", 1)];
    let units = |names: &[&str]| -> Vec<UnitOutcome> {
        names.iter().map(|n| UnitOutcome::done(*n)).collect()
    };
    store
        .commit("extract", &first, &units(&["x", "y"]), &BTreeMap::new())
        .unwrap();
    store
        .commit("extract", &second, &units(&["z"]), &BTreeMap::new())
        .unwrap();
    let parts = store.parts("extract").unwrap();
    assert_eq!(parts.len(), 3);
    assert_eq!(parts[1].bytes, Some("part-00000.parquet".len() as u64));
    assert_eq!(
        parts[1].checksum.as_deref(),
        Some(leadcrawl::table::checksum(b"part-00000.parquet").as_str())
    );
    let gone = store
        .forget_damaged("extract", "web_features/part-00000.parquet", "truncated")
        .unwrap();
    let mut files: Vec<String> = gone.parts.iter().map(|p| p.file.clone()).collect();
    files.sort();
    assert_eq!(
        files,
        [
            "page_text/part-00000.parquet",
            "web_features/part-00000.parquet"
        ]
    );
    let mut lost = gone.units.clone();
    lost.sort();
    assert_eq!(lost, ["x", "y"]);
    let left: Vec<String> = store
        .parts("extract")
        .unwrap()
        .into_iter()
        .map(|p| p.file)
        .collect();
    assert_eq!(left, ["web_features/part-00001.parquet"]);
    assert_eq!(
        store.finished_units("extract").unwrap(),
        ["z".to_string()].into_iter().collect()
    );
    let r = store.stage("extract").unwrap().unwrap();
    assert_eq!(r.status, StageStatus::Interrupted);
    assert_eq!(r.error.as_deref(), Some("truncated"));
    // A part that is not registered: nothing to take back.
    let none = store
        .forget_damaged("extract", "nope.parquet", "x")
        .unwrap();
    assert!(none.parts.is_empty() && none.units.is_empty());
}

/// A refresh (`crawl.max_age_days`): units taken back with their commit's parts replaced by
/// copies, the copies holding the commit's other units, and the refresh log that lets later
/// stages redo only what depends on it.
fn take_back_behaviour(store: &dyn StateStore, root: &Path) {
    store.start_stage("embed", "fpE", "r1").unwrap();
    let first = [
        pending(root, "chunks", "part-00000.parquet", 4),
        pending(root, "lead_embeddings", "part-00000.parquet", 2),
    ];
    let units = |names: &[&str]| -> Vec<UnitOutcome> {
        names.iter().map(|n| UnitOutcome::done(*n)).collect()
    };
    store
        .commit("embed", &first, &units(&["x", "y"]), &BTreeMap::new())
        .unwrap();
    let second = [pending(root, "chunks", "part-00001.parquet", 1)];
    store
        .commit("embed", &second, &units(&["z"]), &BTreeMap::new())
        .unwrap();
    store
        .finish_stage("embed", StageStatus::Done, Some("out1"), None)
        .unwrap();
    let later = leadcrawl::state::now_micros() + 1_000_000;
    let mut aged = store.units_recorded_before("embed", later).unwrap();
    aged.sort();
    assert_eq!(aged, ["x", "y", "z"]);
    assert!(store.units_recorded_before("embed", 0).unwrap().is_empty());
    let parts = store.parts("embed").unwrap();
    assert_eq!(parts[0].batch, parts[1].batch, "one commit");
    assert_eq!(parts[0].batch.as_deref(), Some("chunks/part-00000.parquet"));

    // x is taken back: its commit's two parts become copies holding y.
    let copies = vec![
        pending(root, "chunks", "part-00002.parquet", 2),
        pending(root, "lead_embeddings", "part-00002.parquet", 1),
    ];
    store
        .take_back(
            "embed",
            &["x".to_string()],
            &[Replacement {
                batch: parts[0].batch.clone(),
                old_files: vec![parts[0].file.clone(), parts[1].file.clone()],
                parts: copies,
            }],
            &counters(&[("units_refreshed", 1)]),
        )
        .unwrap();
    assert!(
        root.join("chunks/part-00002.parquet").exists(),
        "moved into place"
    );
    let files: Vec<String> = store
        .parts("embed")
        .unwrap()
        .into_iter()
        .map(|p| p.file)
        .collect();
    assert_eq!(
        files,
        [
            "chunks/part-00001.parquet",
            "chunks/part-00002.parquet",
            "lead_embeddings/part-00002.parquet"
        ]
    );
    assert_eq!(
        store.finished_units("embed").unwrap(),
        ["y".to_string(), "z".to_string()].into_iter().collect()
    );
    let r = store.stage("embed").unwrap().unwrap();
    assert_eq!(r.counters.get("units_refreshed"), Some(&1));
    assert!(
        store.refreshes("embed").unwrap().is_empty(),
        "open until the stage is done"
    );
    // Taken back again before it completes (a resumed refresh): one refresh, both units.
    store
        .take_back("embed", &["z".to_string()], &[], &BTreeMap::new())
        .unwrap();
    store
        .finish_stage("embed", StageStatus::Done, Some("out2"), None)
        .unwrap();
    assert_eq!(
        store.refreshes("embed").unwrap(),
        [Refresh {
            from: "out1".into(),
            to: "out2".into(),
            units: vec!["x".into(), "z".into()],
        }]
    );
    // y now lives in the copies: damaged, they take y back, not the units of other commits.
    let gone = store
        .forget_damaged("embed", "chunks/part-00002.parquet", "truncated")
        .unwrap();
    assert_eq!(gone.units, ["y"]);
    assert_eq!(gone.parts.len(), 2);
    // A reset forgets the log: nothing later can be brought up to date from older output.
    store.reset_stage("embed").unwrap();
    assert!(store.refreshes("embed").unwrap().is_empty());
}

#[test]
fn state_store_behaviour_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&dir.path().join("state.sqlite"), dir.path()).unwrap();
    assert!(store.leases().is_none(), "SQLite is one machine: no leases");
    behaviour(&store, dir.path());
    take_back_behaviour(&store, dir.path());
}

#[test]
fn state_store_behaviour_postgres() {
    let dir = tempfile::tempdir().unwrap();
    let url = pg_database();
    let store = PgStore::open(&url, dir.path(), Some("w1")).unwrap();
    behaviour(&store, dir.path());
    take_back_behaviour(&store, dir.path());
    // A second process opening the same database sees the same state.
    let other = PgStore::open(&url, dir.path(), Some("w2")).unwrap();
    assert_eq!(other.stages().unwrap().len(), 3);
    assert_eq!(other.cache_get("k1").unwrap().unwrap().status, 404);
}

#[test]
fn postgres_open_does_not_wait_for_the_running_workers_transactions() {
    // A worker joining a running crawl: other workers have written to the frontier, parts and
    // units in transactions still open. Opening the store must take no lock on those tables: an
    // `ALTER TABLE … ADD COLUMN IF NOT EXISTS` does even when the column is there, and that
    // deadlocked a joining worker with a running one (seen in the distributed test).
    let dir = tempfile::tempdir().unwrap();
    let url = pg_database();
    drop(PgStore::open(&url, dir.path(), Some("w1")).unwrap());
    let mut busy = postgres::Client::connect(&url, postgres::NoTls).unwrap();
    let mut tx = busy.transaction().unwrap();
    for (table, column) in [("frontier", "pos"), ("parts", "batch"), ("units", "batch")] {
        tx.execute(
            &format!("UPDATE {table} SET {column} = {column} WHERE false"),
            &[],
        )
        .unwrap();
    }
    let (done_tx, done_rx) = std::sync::mpsc::channel();
    let (u, root) = (url.clone(), dir.path().to_path_buf());
    std::thread::spawn(move || {
        let r = PgStore::open(&u, &root, Some("w2")).map(|_| ());
        let _ = done_tx.send(r.map_err(|e| e.to_string()));
    });
    let opened = done_rx.recv_timeout(Duration::from_secs(30));
    tx.rollback().unwrap();
    opened
        .expect("opening the store waited for another connection's open transaction")
        .unwrap();
}

#[test]
fn postgres_connection_errors_name_the_server_and_the_fix() {
    let dir = tempfile::tempdir().unwrap();
    // A port nothing listens on.
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    drop(l);
    let e = match PgStore::open(
        &format!("postgres://leadcrawl@127.0.0.1:{port}/x"),
        dir.path(),
        None,
    ) {
        Ok(_) => panic!("connected to nothing"),
        Err(e) => e.to_string(),
    };
    assert!(
        e.contains(&format!("127.0.0.1:{port}")) && e.contains("cannot connect"),
        "{e}"
    );
}

#[test]
fn postgres_leases_are_exclusive_expire_with_a_politeness_wait_and_fence_commits() {
    let dir = tempfile::tempdir().unwrap();
    let url = pg_database();
    let a = PgStore::open(&url, dir.path(), Some("worker-a")).unwrap();
    let b = PgStore::open(&url, dir.path(), Some("worker-b")).unwrap();
    let (la, lb) = (a.leases().unwrap(), b.leases().unwrap());
    let units: Vec<String> = (0..6).map(|i| format!("site{i}.fr")).collect();
    let interval = Duration::from_millis(1500);
    assert_eq!(la.enqueue("crawl", &units, interval).unwrap(), 6);
    assert_eq!(
        lb.enqueue("crawl", &units, interval).unwrap(),
        0,
        "enqueue is idempotent"
    );
    a.start_stage("crawl", "fp", "run").unwrap();

    // Claims never overlap, even when both ask at once.
    let ttl = Duration::from_secs(2);
    let (ca, cb) = std::thread::scope(|s| {
        let ha = s.spawn(|| la.claim("crawl", 4, ttl).unwrap());
        let hb = s.spawn(|| lb.claim("crawl", 4, ttl).unwrap());
        (ha.join().unwrap(), hb.join().unwrap())
    });
    assert_eq!(ca.len() + cb.len(), 6, "{ca:?} {cb:?}");
    let a_units: Vec<String> = ca.iter().map(|c| c.unit.clone()).collect();
    assert!(cb.iter().all(|c| !a_units.contains(&c.unit)));
    assert!(ca
        .iter()
        .chain(&cb)
        .all(|c| c.claims == 1 && c.wait == Duration::ZERO));
    assert!(la.claim("crawl", 4, ttl).unwrap().is_empty(), "all leased");
    assert_eq!(la.unfinished("crawl").unwrap(), 6);

    // B commits its units: done, no longer claimable.
    let b_units: Vec<String> = cb.iter().map(|c| c.unit.clone()).collect();
    let p = pending(dir.path(), "pages", "part-worker-b-00000.parquet", 3);
    b.commit(
        "crawl",
        std::slice::from_ref(&p),
        &b_units
            .iter()
            .map(|u| UnitOutcome::done(u.clone()))
            .collect::<Vec<_>>(),
        &BTreeMap::new(),
    )
    .unwrap();
    assert_eq!(lb.unfinished("crawl").unwrap(), 6 - b_units.len() as u64);

    // A heartbeats one of its units and lets the others expire (as if it had died).
    let kept = a_units[0].clone();
    let t0 = Instant::now();
    std::thread::sleep(Duration::from_millis(1200));
    assert!(la
        .heartbeat("crawl", std::slice::from_ref(&kept), ttl)
        .unwrap()
        .is_empty());
    std::thread::sleep(Duration::from_millis(1000));
    // 2.2 s after the claim: the others expired at ~2 s; the heartbeated one holds until ~3.2 s.
    let taken = lb.claim("crawl", 10, ttl).unwrap();
    let mut got: Vec<String> = taken.iter().map(|c| c.unit.clone()).collect();
    got.sort();
    let mut want: Vec<String> = a_units[1..].to_vec();
    want.sort();
    assert_eq!(got, want, "the expired leases, not the live one");
    for c in &taken {
        assert_eq!(c.claims, 2);
        // Next request no earlier than the old expiry (~2 s after the claim) + 1.5 s.
        let first_request_at = t0.elapsed() + c.wait;
        assert!(
            c.wait > Duration::from_millis(800) && first_request_at >= Duration::from_millis(3300),
            "wait {:?}, first request {first_request_at:?} after the first claim",
            c.wait
        );
    }
    // A lost lease shows in A's heartbeat, and A can no longer commit that unit: nothing of
    // that commit is registered, not even its other units.
    let lost = la.heartbeat("crawl", &a_units, ttl).unwrap();
    assert_eq!(lost.len(), a_units.len() - 1);
    let p = pending(dir.path(), "pages", "part-worker-a-00000.parquet", 9);
    let e = a
        .commit(
            "crawl",
            std::slice::from_ref(&p),
            &a_units
                .iter()
                .map(|u| UnitOutcome::done(u.clone()))
                .collect::<Vec<_>>(),
            &counters(&[("pages", 9)]),
        )
        .unwrap_err();
    match &e {
        StateError::LeaseLost { units, .. } => assert_eq!(units.len(), a_units.len() - 1),
        other => panic!("{other}"),
    }
    assert!(!p.final_path.exists(), "the part stays out of the table");
    assert_eq!(a.parts("crawl").unwrap().len(), 1);
    assert!(!a.finished_units("crawl").unwrap().contains(&kept));
    // The unit A still holds commits fine on its own.
    a.commit(
        "crawl",
        &[],
        &[UnitOutcome::done(kept.clone())],
        &BTreeMap::new(),
    )
    .unwrap();
    // Released units are claimable at once, but their host waits an interval from the release:
    // the interval the host asked for (Crawl-delay), once a worker has recorded it; raising
    // never lowers it.
    lb.raise_intervals("crawl", &[(got[0].clone(), Duration::from_secs(4))])
        .unwrap();
    lb.raise_intervals("crawl", &[(got[0].clone(), Duration::from_millis(10))])
        .unwrap();
    lb.release("crawl", &got[..1]).unwrap();
    let again = la.claim("crawl", 10, ttl).unwrap();
    assert_eq!(again.len(), 1);
    assert_eq!(again[0].unit, got[0]);
    assert!(
        again[0].wait > Duration::from_millis(3500) && again[0].wait <= Duration::from_secs(4),
        "{:?}",
        again[0].wait
    );
    assert_eq!(la.unfinished("crawl").unwrap(), got.len() as u64);

    // Reset forgets the frontier.
    a.reset_stage("crawl").unwrap();
    assert_eq!(la.unfinished("crawl").unwrap(), 0);
    la.worker_seen("crawl", 1, 10).unwrap();
    let v = la.view().unwrap();
    assert_eq!(v.workers.len(), 1);
    assert_eq!(
        (v.workers[0].id.as_str(), v.workers[0].pages),
        ("worker-a", 10)
    );
}
