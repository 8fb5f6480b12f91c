//! The review loop end to end: score, correct in the CSV, apply, retrain;
//! suggestions; per-article summary and charts.

mod common;

use std::path::Path;

use common::*;

/// A scratch copy of the repository's labels and seeds, so the loop can
/// change label files freely.
fn workspace() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let labels = dir.path().join("labels");
    std::fs::create_dir(&labels).unwrap();
    std::fs::copy(
        root().join("labels/classes.txt"),
        labels.join("classes.txt"),
    )
    .unwrap();
    std::fs::copy(
        root().join("tests/fixtures/small.csv"),
        labels.join("small.csv"),
    )
    .unwrap();
    dir
}

fn p(path: &Path) -> &str {
    path.to_str().unwrap()
}

fn write_csv(path: &Path, rows: &[Vec<String>]) {
    let mut w = csv::Writer::from_path(path).unwrap();
    for r in rows {
        w.write_record(r).unwrap();
    }
    w.flush().unwrap();
}

#[test]
fn corrections_flow_back_into_labels_and_the_next_model() {
    let ws = workspace();
    let d = ws.path();
    let labels = d.join("labels");
    let classes = labels.join("classes.txt");
    let model = d.join("m.json");
    let train = |model: &Path| {
        let out = stance(&[
            "train",
            "--labels",
            p(&labels),
            "--classes",
            p(&classes),
            "--model",
            p(model),
            "--no-cv",
        ]);
        assert!(out.status.success(), "{}", stderr(&out));
    };
    train(&model);

    let preds = d.join("pred.csv");
    let out = stance(&[
        "score",
        "--model",
        p(&model),
        "--out",
        p(&preds),
        "seeds/004_77300b823648d066.txt",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let mut rows = parse_csv(&std::fs::read_to_string(&preds).unwrap());
    let review = rows[0].iter().position(|h| h == "review").unwrap();
    let label_col = 5;
    let fixture = parse_csv(&std::fs::read_to_string(labels.join("small.csv")).unwrap());
    let in_fixture = |text: &str| fixture.iter().any(|r| r[1] == text);
    let unlabelled: Vec<usize> = (1..rows.len())
        .filter(|&i| !in_fixture(&rows[i][4]))
        .collect();
    // Correct three unlabelled rows: each gets a label different from its prediction.
    let mut corrected = Vec::new();
    for &i in &unlabelled[..3] {
        let predicted = rows[i][label_col].clone();
        let new = if predicted == "divergence" {
            "other"
        } else {
            "divergence"
        };
        // The first as a spreadsheet's autocorrect may leave it.
        rows[i][review] = if corrected.is_empty() {
            format!("{}{} ", new[..1].to_uppercase(), &new[1..])
        } else {
            new.to_string()
        };
        corrected.push((rows[i][4].clone(), new.to_string()));
    }
    // One invalid label, one row confirming an already labelled sentence differently.
    let typo = unlabelled[3];
    rows[typo][review] = "convergance".into();
    let known = fixture[1..]
        .iter()
        .find(|r| r[0].starts_with("004_"))
        .unwrap()
        .clone();
    let known_row = rows.iter().position(|r| r[4] == known[1]).unwrap();
    let contradicting = if known[2] == "other" {
        "convergence"
    } else {
        "other"
    };
    // Typed in capitals: the label file gets the class as declared.
    rows[known_row][review] = contradicting.to_uppercase();
    write_csv(&preds, &rows);

    let reviewed = labels.join("reviewed.csv");
    let apply = |extra: &[&str]| {
        let mut args = vec![
            "review",
            "apply",
            p(&preds),
            "--labels",
            p(&labels),
            "--classes",
            p(&classes),
            "--labels-out",
            p(&reviewed),
        ];
        args.extend_from_slice(extra);
        stance(&args)
    };
    let out = apply(&[]);
    assert_eq!(out.status.code(), Some(1), "problems give exit code 1");
    let err = stderr(&out);
    assert!(
        err.contains(&format!(
            ":{}: review `convergance` is not a label",
            typo + 1
        )),
        "{err}"
    );
    assert!(
        err.contains(&format!(
            "reviewed as `{contradicting}` but labelled `{}` at",
            known[2]
        )),
        "{err}"
    );
    assert!(err.contains("small.csv:"), "{err}");
    assert!(
        stdout(&out).contains("5 reviewed: 3 added"),
        "{}",
        stdout(&out)
    );

    let written = parse_csv(&std::fs::read_to_string(&reviewed).unwrap());
    assert_eq!(written[0], ["doc_id", "text", "label"]);
    for (text, label) in &corrected {
        assert!(
            written
                .iter()
                .any(|r| &r[1] == text && &r[2] == label && r[0] == "004_77300b823648d066"),
            "{text} not written as {label}"
        );
    }
    // Applying again adds nothing new.
    let again = apply(&[]);
    assert!(stdout(&again).contains("0 added"), "{}", stdout(&again));

    // --overwrite replaces the contradicted label in the fixture file.
    rows[typo][review].clear();
    write_csv(&preds, &rows);
    let out = apply(&["--overwrite"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let fixture = parse_csv(&std::fs::read_to_string(labels.join("small.csv")).unwrap());
    assert!(fixture
        .iter()
        .any(|r| r[1] == known[1] && r[2] == contradicting));

    // Retraining picks the reviewed rows up.
    let model2 = d.join("m2.json");
    train(&model2);
    let card = std::fs::read_to_string(model2.with_extension("md")).unwrap();
    assert!(card.contains("45 labelled sentences"), "{card}");
}

#[test]
fn suggest_lists_the_lowest_margin_unlabelled_sentences() {
    let out = stance(&["score", "seeds"]);
    let all = parse_csv(&stdout(&out));
    let labelled = std::fs::read_to_string(root().join("tests/fixtures/small.csv")).unwrap();
    let known: std::collections::HashSet<String> = parse_csv(&labelled)[1..]
        .iter()
        .map(|r| r[1].clone())
        .collect();
    let margin = |r: &Vec<String>| {
        let mut p: Vec<f64> = r[7..11].iter().map(|v| v.parse().unwrap()).collect();
        p.sort_by(|a, b| b.total_cmp(a));
        p[0] - p[1]
    };
    let mut candidates: Vec<(f64, &Vec<String>)> = all[1..]
        .iter()
        .filter(|r| !known.contains(&r[4]))
        .map(|r| (margin(r), r))
        .collect();
    candidates.sort_by(|a, b| a.0.total_cmp(&b.0));

    let out = stance(&[
        "suggest",
        "-n",
        "7",
        "seeds",
        "--labels",
        "tests/fixtures/small.csv",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let got = parse_csv(&stdout(&out));
    assert_eq!(got[0], all[0], "same columns as score, ready for review");
    assert_eq!(got.len(), 8);
    for (row, (m, _)) in got[1..].iter().zip(&candidates) {
        assert!(!known.contains(&row[4]));
        assert!(
            (margin(row) - m).abs() < 2e-6,
            "margins differ: {} vs {m}",
            margin(row)
        );
    }
    let seventh = candidates[6].0;
    assert!(candidates[7..].iter().all(|(m, _)| *m >= seventh - 2e-6));
}

#[test]
fn summary_rows_of_one_doc_id_from_two_inputs_name_their_source() {
    // Regression: two sentence CSVs that both use doc_id `a` gave two
    // summary rows `a` that nothing told apart.
    let dir = tempfile::tempdir().unwrap();
    let (one, two) = (dir.path().join("one.csv"), dir.path().join("two.csv"));
    std::fs::write(&one, "doc_id,text\na,Beijing backed Moscow.\n").unwrap();
    std::fs::write(&two, "doc_id,text\na,NATO warned China.\n").unwrap();
    let summary = dir.path().join("summary.csv");
    let out = stance(&["score", "--summary", p(&summary), p(&one), p(&two)]);
    assert!(out.status.success(), "{}", stderr(&out));
    let rows = parse_csv(&std::fs::read_to_string(&summary).unwrap());
    let ids_and_sources: Vec<(&str, &str)> = rows[1..]
        .iter()
        .map(|r| (r[0].as_str(), r.last().unwrap().as_str()))
        .collect();
    assert_eq!(ids_and_sources, [("a", p(&one)), ("a", p(&two))]);
}

#[test]
fn summary_and_chart_describe_every_article() {
    let dir = tempfile::tempdir().unwrap();
    let summary = dir.path().join("summary.csv");
    let chart = dir.path().join("chart.svg");
    let out = stance(&[
        "score",
        "--summary",
        p(&summary),
        "--chart",
        p(&chart),
        "seeds",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let rows = parse_csv(&std::fs::read_to_string(&summary).unwrap());
    assert_eq!(rows.len(), 6);
    assert_eq!(
        rows[0][..5],
        [
            "doc_id",
            "sentences",
            "n_convergence",
            "share_convergence",
            "mean_p_convergence"
        ]
    );
    let scored = parse_csv(&stdout(&out));
    for r in &rows[1..] {
        let n: usize = r[1].parse().unwrap();
        assert_eq!(n, scored.iter().filter(|s| s[0] == r[0]).count());
        let counts: usize = [2, 5, 8, 11]
            .iter()
            .map(|&i| r[i].parse::<usize>().unwrap())
            .sum();
        assert_eq!(counts, n);
        let means: f64 = [4, 7, 10, 13]
            .iter()
            .map(|&i| r[i].parse::<f64>().unwrap())
            .sum();
        assert!((means - 1.0).abs() < 1e-3);
        // Last, where each article came from.
        assert_eq!(r[14], format!("seeds/{}.txt", r[0]));
    }
    assert_eq!(rows[0][14], "source");
    let svg = std::fs::read_to_string(&chart).unwrap();
    let doc = roxmltree::Document::parse(&svg).expect("chart is valid XML");
    let texts: Vec<String> = doc
        .descendants()
        .filter(|n| n.has_tag_name("text"))
        .filter_map(|n| n.text().map(|t| t.trim().to_string()))
        .collect();
    for name in rows[1..].iter().map(|r| r[0].as_str()).chain([
        "convergence",
        "divergence",
        "western_pressure",
        "other",
    ]) {
        assert!(texts.iter().any(|t| t == name), "{name} not in chart");
    }
}

#[test]
fn training_draws_the_confusion_matrix_next_to_the_card() {
    let dir = tempfile::tempdir().unwrap();
    let model = train_fixture_model(dir.path());
    let svg_path = model.with_extension("confusion.svg");
    let svg = std::fs::read_to_string(&svg_path).unwrap();
    roxmltree::Document::parse(&svg).expect("valid XML");
    for class in ["convergence", "divergence", "western_pressure", "other"] {
        assert!(svg.contains(class));
    }
    let card = std::fs::read_to_string(model.with_extension("md")).unwrap();
    assert!(card.contains("](fixture.confusion.svg)"), "{card}");
}

#[test]
fn labels_out_may_not_be_the_predictions_file() {
    // Regression: `--labels-out predictions.csv` appended label rows to the
    // predictions file being read.
    let dir = tempfile::tempdir().unwrap();
    let predictions = dir.path().join("p.csv");
    let out = stance(&[
        "score",
        "--out",
        predictions.to_str().unwrap(),
        "seeds/003_8c61eab635a33c70.txt",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let before = std::fs::read(&predictions).unwrap();
    let out = stance(&[
        "review",
        "apply",
        predictions.to_str().unwrap(),
        "--labels-out",
        predictions.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert_eq!(std::fs::read(&predictions).unwrap(), before);
}
