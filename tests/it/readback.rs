//! Parquet read back by real readers: pyarrow and DuckDB from Python check types and metadata.

use crate::common::*;

#[test]
fn pyarrow_and_duckdb_read_leads_and_rejects() {
    let run = Run::new();
    let mut csv = String::from("Company,Website,Country,SIREN,Stage,Notes\n");
    for i in 0..250 {
        csv.push_str(&format!(
            "Company {i},company{i}.fr,France,,{},note {i}\n",
            if i % 3 == 0 { "won" } else { "lost" }
        ));
    }
    csv.push_str("Broken,broken.fr,FR,123,won,\n");
    run.write("leads.csv", csv);
    run.config(
        "[pipeline]\noutput_dir = \"out\"\n[ingest]\ninput = \"leads.csv\"\nbatch_rows = 100\n",
    );
    let o = run.run(&["run", "--stages", "ingest"]);
    assert!(o.status.success(), "{}", text(&o));
    let o = std::process::Command::new(python())
        .arg(repo().join("tests/python/readback.py"))
        .arg(run.out())
        .arg("250")
        .arg("1")
        .output()
        .expect("python3");
    assert!(o.status.success(), "python read-back failed:\n{}", text(&o));
    assert!(
        String::from_utf8_lossy(&o.stdout).contains("readback ok"),
        "{}",
        text(&o)
    );
}
