//! One grammar for every subcommand: each option that takes several values
//! takes them as `--opt A B` and as `--opt A --opt B`, with the same
//! result; `--format` chooses what is printed or written.

mod common;

use std::path::Path;

use common::*;

const SEED: &str = "seeds/004_77300b823648d066.txt";

fn p(path: &Path) -> &str {
    path.to_str().unwrap()
}

/// The small fixture split into two label files in `dir`, with the class
/// declaration beside them.
fn two_label_files(dir: &Path) -> (String, String) {
    let rows =
        parse_csv(&std::fs::read_to_string(root().join("tests/fixtures/small.csv")).unwrap());
    let half = rows.len() / 2;
    let write = |name: &str, part: &[Vec<String>]| {
        let path = dir.join(name);
        let mut w = csv::Writer::from_path(&path).unwrap();
        w.write_record(&rows[0]).unwrap();
        for r in part {
            w.write_record(r).unwrap();
        }
        w.flush().unwrap();
        p(&path).to_string()
    };
    std::fs::copy(root().join("labels/classes.txt"), dir.join("classes.txt")).unwrap();
    (
        write("a.csv", &rows[1..half]),
        write("b.csv", &rows[half..]),
    )
}

/// Runs `stance` with `args`, `--flag A B` and then `--flag A --flag B`
/// appended after `first`, and returns both outputs.
fn both_ways(
    first: &[&str],
    flag: &str,
    values: [&str; 2],
    last: &[&str],
) -> [std::process::Output; 2] {
    let together: Vec<&str> = first
        .iter()
        .copied()
        .chain([flag, values[0], values[1]])
        .chain(last.iter().copied())
        .collect();
    let repeated: Vec<&str> = first
        .iter()
        .copied()
        .chain([flag, values[0], flag, values[1]])
        .chain(last.iter().copied())
        .collect();
    [stance(&together), stance(&repeated)]
}

#[test]
fn train_labels_both_ways() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = two_label_files(dir.path());
    let model = dir.path().join("m.json");
    let runs = both_ways(
        &["train", "--model", p(&model), "--no-select", "--no-cv"],
        "--labels",
        [&a, &b],
        &[],
    );
    for run in &runs {
        assert!(run.status.success(), "{}", stderr(run));
        assert!(
            stderr(run).starts_with("read 42 labelled sentences from 4 articles in 2 file(s)\n"),
            "{}",
            stderr(run)
        );
    }
}

#[test]
fn train_offtopic_both_ways() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let one = d.join("sport.csv");
    let two = d.join("weather.csv");
    std::fs::write(&one, "text\nThe home side won the cup final.\n").unwrap();
    std::fs::write(&two, "text\nRain is expected on Sunday.\n").unwrap();
    let model = d.join("m.json");
    let runs = both_ways(
        &[
            "train",
            "--labels",
            "tests/fixtures/small.csv",
            "--model",
            p(&model),
            "--no-select",
            "--no-cv",
        ],
        "--offtopic",
        [p(&one), p(&two)],
        &[],
    );
    for run in &runs {
        assert!(run.status.success(), "{}", stderr(run));
        let out = stdout(run);
        assert!(
            out.contains("sport.csv") && out.contains("weather.csv"),
            "{out}"
        );
    }
    assert_eq!(stdout(&runs[0]), stdout(&runs[1]));
}

#[test]
fn suggest_labels_both_ways() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // One known sentence of the seed in each file.
    let rows = parse_csv(&stdout(&stance(&["score", SEED])));
    let a = d.join("a.csv");
    let b = d.join("b.csv");
    std::fs::write(
        &a,
        format!("doc_id,text,label\nx,\"{}\",other\n", rows[1][4]),
    )
    .unwrap();
    std::fs::write(
        &b,
        format!("doc_id,text,label\nx,\"{}\",other\n", rows[2][4]),
    )
    .unwrap();
    let runs = both_ways(
        &["suggest", "-n", "1000", SEED],
        "--labels",
        [p(&a), p(&b)],
        &[],
    );
    for run in &runs {
        assert!(run.status.success(), "{}", stderr(run));
        let listed = parse_csv(&stdout(run));
        assert_eq!(
            listed.len(),
            rows.len() - 2,
            "both files' sentences left out"
        );
        assert!(!listed
            .iter()
            .any(|r| r[4] == rows[1][4] || r[4] == rows[2][4]));
    }
    assert_eq!(runs[0].stdout, runs[1].stdout);

    // Inputs after the list are taken as more label files: the error says
    // so; `--` ends the list.
    let run = stance(&["suggest", "--labels", p(&a), p(&b), SEED]);
    assert_eq!(run.status.code(), Some(2));
    assert_eq!(
        stderr(&run),
        "stance: error: no inputs given (--labels takes every value up to the next option: put the inputs before it, or end its list with `--`)\n"
    );
    let run = stance(&[
        "suggest",
        "-n",
        "1000",
        "--labels",
        p(&a),
        p(&b),
        "--",
        SEED,
    ]);
    assert!(run.status.success(), "{}", stderr(&run));
    assert_eq!(run.stdout, runs[0].stdout);
}

#[test]
fn review_apply_labels_both_ways() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (a, b) = two_label_files(d);
    // Reviews contradicting one label of each file.
    let known = |path: &str| parse_csv(&std::fs::read_to_string(path).unwrap())[1].clone();
    let (ka, kb) = (known(&a), known(&b));
    let flip = |label: &str| {
        if label == "other" {
            "divergence"
        } else {
            "other"
        }
    };
    let preds = d.join("p.csv");
    std::fs::write(
        &preds,
        format!(
            "doc_id,text,review\n{},\"{}\",{}\n{},\"{}\",{}\n",
            ka[0],
            ka[1],
            flip(&ka[2]),
            kb[0],
            kb[1],
            flip(&kb[2])
        ),
    )
    .unwrap();
    let out = d.join("reviewed.csv");
    let classes = d.join("classes.txt");
    let runs = both_ways(
        &[
            "review",
            "apply",
            p(&preds),
            "--classes",
            p(&classes),
            "--labels-out",
            p(&out),
        ],
        "--labels",
        [&a, &b],
        &[],
    );
    for run in &runs {
        assert_eq!(run.status.code(), Some(1), "{}", stderr(run));
        assert_eq!(
            stdout(run),
            format!(
                "2 reviewed: 0 added to {}, 0 already labelled, 2 conflicting, 0 invalid\n",
                p(&out)
            )
        );
        let err = stderr(run);
        assert!(
            err.contains(&format!("at {a}:2")) && err.contains(&format!("at {b}:2")),
            "{err}"
        );
    }

    let run = stance(&["review", "apply", "--labels", &a, &b, p(&preds)]);
    assert_eq!(run.status.code(), Some(2));
    assert_eq!(
        stderr(&run),
        "stance: error: no predictions file given (--labels takes every value up to the next option: put the predictions file before it, or end its list with `--`)\n"
    );
}

#[test]
fn eval_format_json_text_and_the_old_json_switch() {
    let json = stance(&["eval", "--format", "json", "tests/fixtures/small.csv"]);
    assert!(json.status.success(), "{}", stderr(&json));
    let metrics: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert!(metrics.get("macro_f1").is_some(), "{metrics}");
    assert_eq!(stderr(&json), "");

    let old = stance(&["eval", "--json", "tests/fixtures/small.csv"]);
    assert!(old.status.success(), "{}", stderr(&old));
    assert_eq!(old.stdout, json.stdout);
    assert_eq!(
        stderr(&old),
        "stance: warning: --json is deprecated; use --format json\n"
    );

    let text = stance(&["eval", "--format", "text", "tests/fixtures/small.csv"]);
    assert!(text.status.success(), "{}", stderr(&text));
    assert!(
        stdout(&text).starts_with("evaluated models/stance.json on "),
        "{}",
        stdout(&text)
    );
    let default = stance(&["eval", "tests/fixtures/small.csv"]);
    assert_eq!(default.stdout, text.stdout);

    let help = stance(&["eval", "--help"]);
    assert!(
        !stdout(&help).contains("--json"),
        "the old switch is hidden"
    );
}
