//! End-to-end tests of `stance train` and `stance eval`.

mod common;

use common::*;

#[test]
fn training_twice_gives_identical_model_bytes_and_a_card() {
    let dir = tempfile::tempdir().unwrap();
    let a = train_fixture_model(dir.path());
    let first = std::fs::read(&a).unwrap();
    let card = std::fs::read_to_string(a.with_extension("md")).unwrap();
    let b = train_fixture_model(dir.path());
    assert!(
        std::fs::read(&b).unwrap() == first,
        "training is not deterministic"
    );
    // Ten grouped folds by default, at most one per article.
    assert!(
        card.contains("4-fold grouped by article (4 folds)"),
        "{card}"
    );
    assert!(card.contains("| divergence | 6 |"), "{card}");
    assert!(card.contains("macro-F1"));
    assert!(card.contains("## Most heavily weighted terms per class"));
}

#[test]
fn train_prints_cross_validation_report() {
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("m.json");
    let out = train_fixture(&model, &["--folds", "2", "--no-select"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.contains("2-fold grouped by article"), "{text}");
    for needle in [
        "precision",
        "recall",
        "macro-F1",
        "accuracy",
        "confusion matrix",
    ] {
        assert!(text.contains(needle), "missing {needle}: {text}");
    }
}

#[test]
fn invalid_labels_stop_training_with_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        ("doc_id,text,label\nd1,Moscow and Beijing met.,friendship\n", ":2: unknown label `friendship`"),
        ("doc_id,text\nd1,Moscow and Beijing met.\n", "missing column `label`"),
        ("doc_id,text,label\nd1,,other\n", ":2: empty `text`"),
        (
            "doc_id,text,label\nd1,Moscow and Beijing met.,convergence\nd2,Moscow and Beijing met.,other\n",
            ":3: text is labelled `other` here but `convergence` at",
        ),
    ];
    for (i, (body, want)) in cases.iter().enumerate() {
        let labels = dir.path().join(format!("bad{i}.csv"));
        std::fs::write(&labels, body).unwrap();
        let model = dir.path().join(format!("m{i}.json"));
        let out = stance(&[
            "train",
            "--labels",
            labels.to_str().unwrap(),
            "--model",
            model.to_str().unwrap(),
            "--no-select",
        ]);
        assert_eq!(out.status.code(), Some(2), "{body}");
        let err = stderr(&out);
        assert!(err.contains(want), "{err}");
        assert!(err.contains(labels.to_str().unwrap()), "{err}");
        assert!(!model.exists(), "a model was written from invalid labels");
    }
}

#[test]
fn a_failed_training_leaves_the_previous_model_in_place() {
    let dir = tempfile::tempdir().unwrap();
    let model = train_fixture_model(dir.path());
    let before = std::fs::read(&model).unwrap();
    let labels = dir.path().join("one_class.csv");
    std::fs::write(&labels, "doc_id,text,label\nd1,Moscow and Beijing met.,convergence\nd2,They met again.,convergence\n").unwrap();
    let out = stance(&[
        "train",
        "--labels",
        labels.to_str().unwrap(),
        "--model",
        model.to_str().unwrap(),
        "--no-cv",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("has no labelled rows"),
        "{}",
        stderr(&out)
    );
    assert!(std::fs::read(&model).unwrap() == before);
}

#[test]
fn eval_agrees_with_score_on_the_same_sentences() {
    let dir = tempfile::tempdir().unwrap();
    let model = train_fixture_model(dir.path());
    // Held-out rows: sentences of the shared opening article that are not in the fixture.
    let labelled = dir.path().join("heldout.csv");
    let all = std::fs::read_to_string(root().join("labels/seeds.csv")).unwrap();
    let fixture = std::fs::read_to_string(root().join("tests/fixtures/small.csv")).unwrap();
    let rows = parse_csv(&all);
    let mut w = csv::Writer::from_path(&labelled).unwrap();
    w.write_record(["doc_id", "text", "label"]).unwrap();
    let mut truth = Vec::new();
    for r in rows[1..]
        .iter()
        .filter(|r| r[0].starts_with("000_") && !fixture.contains(&r[1]))
        .take(12)
    {
        w.write_record(&r[..3]).unwrap();
        truth.push(r[2].clone());
    }
    w.flush().unwrap();
    assert_eq!(truth.len(), 12);

    let eval = stance(&[
        "eval",
        "--format",
        "json",
        "--model",
        model.to_str().unwrap(),
        labelled.to_str().unwrap(),
    ]);
    assert!(eval.status.success(), "{}", stderr(&eval));
    let metrics: serde_json::Value = serde_json::from_slice(&eval.stdout).unwrap();

    let scored = stance(&[
        "score",
        "--model",
        model.to_str().unwrap(),
        labelled.to_str().unwrap(),
    ]);
    let predicted: Vec<String> = parse_csv(&stdout(&scored))[1..]
        .iter()
        .map(|r| r[5].clone())
        .collect();
    let correct = truth.iter().zip(&predicted).filter(|(t, p)| t == p).count();
    assert_eq!(metrics["n"], 12);
    let accuracy = metrics["accuracy"].as_f64().unwrap();
    assert!((accuracy - correct as f64 / 12.0).abs() < 1e-12);
    let classes = ["convergence", "divergence", "western_pressure", "other"];
    for (ti, t) in classes.iter().enumerate() {
        for (pi, p) in classes.iter().enumerate() {
            let n = truth
                .iter()
                .zip(&predicted)
                .filter(|(a, b)| a == t && b == p)
                .count();
            assert_eq!(metrics["confusion"][ti][pi], n, "confusion[{t}][{p}]");
        }
    }
}

#[test]
fn eval_rejects_labels_the_model_does_not_know() {
    let dir = tempfile::tempdir().unwrap();
    let labelled = dir.path().join("x.csv");
    std::fs::write(&labelled, "doc_id,text,label\nd,Some text.,neutral\n").unwrap();
    let out = stance(&["eval", labelled.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains(":2: unknown label `neutral`"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn model_selection_and_ablation_are_reported_and_shipped() {
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("selected.json");
    let out = train_fixture(&model, &["--grid", "quick"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    for row in [
        "plain TF-IDF",
        "+ actors",
        "+ cues",
        "+ off-topic gate",
        "+ roles",
        "+ negation",
    ] {
        assert!(text.contains(row), "{row} missing: {text}");
    }
    let card = std::fs::read_to_string(model.with_extension("md")).unwrap();
    assert!(card.contains("## Model selection"), "{card}");
    assert!(card.contains("← chosen"), "{card}");
    assert!(card.contains("## Ablation"), "{card}");
    // The model file carries the lexicon it was trained with.
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&model).unwrap()).unwrap();
    let featurizer = &json["settings"]["featurizer"];
    assert_eq!(featurizer["actors"], true);
    assert_eq!(featurizer["lexicon"]["actors"][0]["name"], "RUSSIA");
    assert_eq!(
        json["training"]["selection"]["rows"]
            .as_array()
            .unwrap()
            .len(),
        4
    );
    assert_eq!(json["training"]["ablation"].as_array().unwrap().len(), 6);
    assert_eq!(json["settings"]["offtopic_gate"]["class"], "other");
}

#[test]
fn the_shipped_model_uses_the_selected_settings() {
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(root().join("models/stance.json")).unwrap())
            .unwrap();
    let t = &json["training"];
    let sel = &t["selection"];
    let chosen = &sel["rows"][sel["chosen"].as_u64().unwrap() as usize]["point"];
    let settings = &json["settings"];
    assert_eq!(settings["alpha"], chosen["alpha"]);
    assert_eq!(settings["featurizer"]["min_df"], chosen["min_df"]);
    assert_eq!(
        settings["featurizer"]["ngram_range"][1],
        chosen["ngram_max"]
    );
    assert_eq!(
        settings["featurizer"]["sublinear_tf"],
        chosen["sublinear_tf"]
    );
    assert_eq!(settings["balance"], chosen["balance"]);
    assert_eq!(settings["featurizer"]["actors"], true);
    assert_eq!(settings["featurizer"]["cues"], true);
    assert_eq!(settings["offtopic_gate"]["actors"][0], "CHINA");
    // Quality on articles the model never saw, by grouped cross-validation:
    // the targets the shipped model is held to, and what the stages add.
    let metrics = &t["cross_validation"]["metrics"];
    let shipped = metrics["macro_f1"].as_f64().unwrap();
    let divergence = metrics["per_class"][1]["f1"].as_f64().unwrap();
    assert_eq!(metrics["per_class"][1]["class"], "divergence");
    assert!(shipped >= 0.65, "macro-F1 {shipped}");
    assert!(divergence >= 0.5, "divergence F1 {divergence}");
    let ablation = t["ablation"].as_array().unwrap();
    let plain = ablation[0]["macro_f1"].as_f64().unwrap();
    assert!(shipped - plain >= 0.03, "plain {plain}, shipped {shipped}");
    // Off-topic articles that name neither China nor Russia come out other.
    for corpus in t["offtopic"].as_array().unwrap() {
        assert_eq!(corpus["unnamed_stance"], 0, "{corpus}");
    }
}

#[test]
fn the_shipped_model_is_trained_on_the_shipped_labels() {
    // A label changed without `make train` leaves a stale model behind.
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(root().join("models/stance.json")).unwrap())
            .unwrap();
    let classes = stance::labels::Classes::load(&root().join("labels/classes.txt")).unwrap();
    let labels = stance::labels::read_labels(
        &stance::labels::expand_paths(&[root().join("labels")]).unwrap(),
        &classes,
    )
    .unwrap();
    assert_eq!(
        json["training"]["data_sha256"].as_str().unwrap(),
        labels.sha256(),
        "models/stance.json was trained on other labels: run `make train`"
    );
}

#[test]
fn any_label_set_with_a_row_per_class_trains() {
    let dir = tempfile::tempdir().unwrap();
    let labels = dir.path().join("tiny.csv");
    let model = dir.path().join("tiny.json");
    // One row per class; `docs` names the article of each row.
    let train = |docs: [&str; 4], extra: &[&str]| {
        let texts = [
            "Moscow and Beijing held joint naval drills.,convergence",
            "Russia remains wary of Chinese influence in Central Asia.,divergence",
            "Washington imposed new sanctions on Moscow.,western_pressure",
            "Photo: AP,other",
        ];
        let mut body = String::from("doc_id,text,label\n");
        for (doc, row) in docs.iter().zip(texts) {
            body += &format!("{doc},{row}\n");
        }
        std::fs::write(&labels, body).unwrap();
        let mut args = vec![
            "train",
            "--labels",
            labels.to_str().unwrap(),
            "--model",
            model.to_str().unwrap(),
        ];
        args.extend_from_slice(extra);
        let out = stance(&args);
        assert!(out.status.success(), "{}", stderr(&out));
        out
    };
    // One article: no cross-validation is possible, so the defaults are
    // trained with a note instead of an error.
    let out = train(["a", "a", "a", "a"], &[]);
    assert!(
        stderr(&out).contains("one article only"),
        "{}",
        stderr(&out)
    );
    // Two articles: cross-validation and selection run.
    train(["a", "a", "b", "b"], &["--grid", "quick"]);
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&model).unwrap()).unwrap();
    assert_eq!(json["training"]["cross_validation"]["folds"], 2);
}

#[test]
fn eval_needs_only_text_and_label() {
    // A spreadsheet export of two columns: the file is one article.
    let dir = tempfile::tempdir().unwrap();
    let labelled = dir.path().join("heldout.csv");
    std::fs::write(
        &labelled,
        "text,label\n\
         Moscow and Beijing held joint naval drills in the Sea of Japan.,convergence\n\
         Washington imposed new sanctions on Chinese firms that supply Russia.,western_pressure\n",
    )
    .unwrap();
    let out = stance(&["eval", labelled.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("on 2 sentences"), "{}", stdout(&out));
}
