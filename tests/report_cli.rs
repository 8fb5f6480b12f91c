//! End-to-end tests of the HTML report: `stance score --report` and
//! `stance report`, on the seeds and the dated fixture articles.

mod common;

use common::*;

fn path(p: &std::path::Path) -> &str {
    p.to_str().expect("utf-8 path")
}

#[test]
fn score_report_and_rebuilt_report_hold_every_sentence_escaped() {
    let dir = tempfile::tempdir().unwrap();
    let (csv, html) = (dir.path().join("p.csv"), dir.path().join("r.html"));
    let out = stance(&[
        "score",
        "--out",
        path(&csv),
        "--report",
        path(&html),
        "seeds",
        "tests/fixtures/dated.csv",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let rows = parse_csv(&std::fs::read_to_string(&csv).unwrap()).len() - 1;
    let page = std::fs::read_to_string(&html).unwrap();
    assert_eq!(page.matches("<span class=\"s c").count(), rows);
    assert!(page.contains("Labels per week"));
    // Weeks from 2026-01-05 to 2026-03-16, empty ones included.
    assert_eq!(page.matches("<g class=\"period\"").count(), 11);
    assert!(page.contains("&lt;script&gt;alert('doc')&lt;/script&gt;"));
    assert!(!page.contains("<img"));
    assert_eq!(page.matches("<script>").count(), 1);

    // Rebuilt from the CSV, which carries each article's date and source:
    // the same page, trend included.
    let (again, chart) = (dir.path().join("again.html"), dir.path().join("a.svg"));
    let out = stance(&[
        "report",
        path(&csv),
        "--report",
        path(&again),
        "--chart",
        path(&chart),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let rebuilt = std::fs::read_to_string(&again).unwrap();
    assert_eq!(rebuilt.matches("<span class=\"s c").count(), rows);
    assert_eq!(rebuilt.matches("<g class=\"period\"").count(), 11);
    assert!(
        rebuilt == page,
        "the rebuilt report differs from the one drawn while scoring"
    );
    assert!(std::fs::read_to_string(&chart)
        .unwrap()
        .contains("most convergent first"));
}

#[test]
fn jsonl_predictions_and_records_make_the_same_report() {
    let dir = tempfile::tempdir().unwrap();
    let (jsonl, html) = (dir.path().join("p.jsonl"), dir.path().join("r.html"));
    let records = dir.path().join("in.jsonl");
    std::fs::write(
        &records,
        "{\"doc_id\":\"x\",\"date\":\"2026-02-03\",\"text\":\"Russia and China held joint drills. Moscow distrusts Beijing.\"}\n",
    )
    .unwrap();
    let out = stance(&[
        "score",
        "--input-format",
        "jsonl",
        "--format",
        "jsonl",
        "--out",
        path(&jsonl),
        "--report",
        path(&html),
        path(&records),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let page = std::fs::read_to_string(&html).unwrap();
    assert_eq!(page.matches("<g class=\"period\"").count(), 1);
    let out = stance(&["report", path(&jsonl)]);
    assert!(out.status.success(), "{}", stderr(&out));
    let rebuilt = std::fs::read_to_string(dir.path().join("p.html")).unwrap();
    assert_eq!(
        rebuilt.matches("<span class=\"s c").count(),
        page.matches("<span class=\"s c").count()
    );
}

#[test]
fn confusion_chart_is_redrawn_from_the_model_file() {
    let dir = tempfile::tempdir().unwrap();
    let svg = dir.path().join("c.svg");
    let out = stance(&[
        "report",
        "--model",
        "models/stance.json",
        "--confusion",
        path(&svg),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let svg = std::fs::read_to_string(&svg).unwrap();
    assert!(svg.contains("cross-validated") && svg.contains("labelled as"));
    let out = stance(&["report"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("nothing to do"));
}
