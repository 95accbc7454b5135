//! Evaluate and score on a lead list too small to cross-validate: the run succeeds, the
//! evaluation says why nothing was evaluated, and score reads that verdict back (typed) and
//! writes an empty table with its schema.

use leadcrawl::stages::evaluate::evaluation::Evaluation;

use crate::common::*;

#[test]
fn too_few_labels_evaluate_nothing_and_score_writes_an_empty_table() {
    let run = Run::new();
    run.write(
        "leads.csv",
        "name,website,status\nAcme,,won\nBolt,,won\nCrane,,lost\nDelta,,\n",
    );
    run.config(
        "[pipeline]\noutput_dir = \"out\"\n[ingest]\ninput = \"leads.csv\"\n\
         [crawl]\ncontact_url = \"https://example.org/bot\"\n[registry]\nregistries = []\n",
    );
    let o = run.run(&["run"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let eval =
        Evaluation::from_json(&std::fs::read(run.out().join("evaluation.json")).unwrap()).unwrap();
    assert_eq!((eval.labelled, eval.won, eval.lost), (3, 2, 1));
    assert!(eval.models.is_empty() && eval.best.is_none() && eval.folds.is_empty());
    assert!(
        eval.notes[0].starts_with("3 labelled leads (2 won, 1 lost): the lost class has 1 rows")
            && eval.notes[0].contains("nothing evaluated"),
        "{:?}",
        eval.notes
    );
    assert!(eval
        .notes
        .iter()
        .any(|n| n.starts_with("only 3 labelled leads")));
    // Written even when empty, so that readers always find the file and its schema.
    let path = run.out().join("scores.parquet");
    let f = std::fs::File::open(&path).unwrap();
    let reader = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(f).unwrap();
    assert!(reader.schema().column_with_name("probability").is_some());
    assert_eq!(reader.metadata().file_metadata().num_rows(), 0);
    let st = status_json(&run);
    assert_eq!(stage_status(&st, "score")["counters"]["scored"], 0);
    assert_eq!(stage_status(&st, "score")["counters"]["trained_on"], 3);
}
