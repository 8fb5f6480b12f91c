//! End-to-end tests of `stance score` on the real seed articles.

mod common;

use common::*;
use stance::segment::segment;

const CLASSES: [&str; 4] = ["convergence", "divergence", "western_pressure", "other"];

#[test]
fn scores_every_seed_sentence_with_consistent_columns() {
    let out = stance(&["score", "seeds"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let rows = parse_csv(&stdout(&out));
    let header = &rows[0];
    assert_eq!(
        header.join(","),
        "doc_id,sentence_id,start,end,text,label,confidence,p_convergence,p_divergence,p_western_pressure,p_other,evidence,date,source,title,review"
    );
    let mut expected_rows = 0;
    let mut sources = std::collections::HashMap::new();
    for path in seed_files() {
        let text = std::fs::read_to_string(&path).unwrap();
        expected_rows += segment(&text).len();
        let stem = path.file_stem().unwrap().to_string_lossy().into_owned();
        sources.insert(stem, text);
    }
    assert_eq!(rows.len() - 1, expected_rows);
    let mut last: Option<(String, usize)> = None;
    for row in &rows[1..] {
        let source = &sources[&row[0]];
        let (start, end): (usize, usize) = (row[2].parse().unwrap(), row[3].parse().unwrap());
        let text = stance::io::unprotect_cell(&row[4]);
        assert_eq!(&source[start..end], text, "span does not match text");
        assert_eq!(
            row[12..],
            ["", &format!("seeds/{}.txt", row[0]), "", ""],
            "no date, the file as source, no title, an empty review"
        );
        for term in row[11].split("; ").filter(|t| !t.is_empty()) {
            let (words, value) = term.rsplit_once(" (+").expect("term (+value)");
            assert!(value.ends_with(')'));
            if ["actors: ", "cue: ", "lead: "]
                .iter()
                .any(|p| words.starts_with(p))
            {
                continue; // sentence-level lexicon terms, not words
            }
            let first = words.split(' ').next().unwrap();
            assert!(text.contains(first), "evidence {words:?} not in {text:?}");
        }
        let id: usize = row[1].parse().unwrap();
        match &last {
            Some((doc, prev)) if doc == &row[0] => assert_eq!(id, prev + 1),
            _ => assert_eq!(id, 1),
        }
        last = Some((row[0].clone(), id));
        assert!(CLASSES.contains(&row[5].as_str()), "label {}", row[5]);
        let probs: Vec<f64> = row[7..11].iter().map(|p| p.parse().unwrap()).collect();
        let sum: f64 = probs.iter().sum();
        assert!((sum - 1.0).abs() < 1e-5, "probabilities sum to {sum}");
        let best = (0..4)
            .max_by(|&a, &b| probs[a].total_cmp(&probs[b]))
            .unwrap();
        assert_eq!(
            row[5], CLASSES[best],
            "label is not the most probable class"
        );
        let confidence: f64 = row[6].parse().unwrap();
        assert_eq!(confidence, probs[best]);
    }
    assert!(stderr(&out).contains(&format!("scored {expected_rows} sentences in 5 documents")));
}

#[test]
fn output_is_identical_for_one_and_two_threads() {
    let one = stance(&["score", "--threads", "1", "seeds"]);
    let two = stance(&["score", "--threads", "2", "seeds"]);
    assert!(one.status.success() && two.status.success());
    assert!(one.stdout == two.stdout, "output depends on thread count");
}

/// Standard input past the size read whole (1 MiB) is held in a temporary
/// file, or read from the file it is redirected from, and read in parts;
/// its rows are those of the same text given by path, and binary data
/// past that size is refused by the name `-`.
#[test]
fn long_standard_input_gives_the_rows_of_its_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("long.txt");
    let mut text = Vec::new();
    while text.len() <= 3 << 20 {
        for seed in seed_files() {
            text.extend(std::fs::read(seed).unwrap());
        }
    }
    std::fs::write(&path, &text).unwrap();
    let by_path = stance(&["score", path.to_str().unwrap()]);
    assert!(by_path.status.success(), "{}", stderr(&by_path));
    let want = parse_csv(&stdout(&by_path));
    // Every column but doc_id and source, which name the file.
    let columns = |rows: &[Vec<String>]| -> Vec<Vec<String>> {
        rows.iter()
            .map(|r| [&r[1..13], &r[14..]].concat())
            .collect()
    };
    let piped = stance_with_stdin(&["score", "-"], Some(&text));
    let redirected = stance_command(&["score", "-"])
        .stdin(std::fs::File::open(&path).unwrap())
        .output()
        .unwrap();
    for out in [piped, redirected] {
        assert!(out.status.success(), "{}", stderr(&out));
        let rows = parse_csv(&stdout(&out));
        assert_eq!(rows.len(), want.len());
        assert!(rows[1..]
            .iter()
            .all(|r| r[0] == "stdin" && r[13].is_empty()));
        assert!(columns(&rows) == columns(&want), "rows differ");
    }

    // With nowhere to hold it: refused, naming the folder to change (once
    // past what is read whole, so the rest may go unread).
    let missing = dir.path().join("missing");
    let out = run_with_stdin(
        stance_command(&["score", "-"]).env("TMPDIR", &missing),
        Some(&text),
    );
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out).contains(&format!(
            "skipped -: cannot hold it in a temporary file in {} (set TMPDIR",
            missing.display()
        )),
        "{}",
        stderr(&out)
    );

    text.push(0);
    let out = stance_with_stdin(&["score", "-"], Some(&text));
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("skipped -: binary file"),
        "{}",
        stderr(&out)
    );
    assert!(
        stdout(&out).lines().count() <= 1,
        "no rows of a refused input"
    );
}

#[test]
fn writes_out_file_atomically_and_reads_stdin_and_csv_inputs() {
    let dir = tempfile::tempdir().unwrap();
    let out_path = dir.path().join("pred.csv");
    let out = stance(&[
        "score",
        "--out",
        out_path.to_str().unwrap(),
        "seeds/004_77300b823648d066.txt",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let file_rows = parse_csv(&std::fs::read_to_string(&out_path).unwrap());
    assert!(stdout(&out).is_empty());

    let text = std::fs::read(root().join("seeds/004_77300b823648d066.txt")).unwrap();
    let piped = stance_with_stdin(&["score", "-"], Some(&text));
    assert!(piped.status.success(), "{}", stderr(&piped));
    let stdin_rows = parse_csv(&stdout(&piped));
    assert_eq!(stdin_rows.len(), file_rows.len());
    assert_eq!(stdin_rows[1][0], "stdin");
    assert_eq!(stdin_rows[1][4..12], file_rows[1][4..12]);
    assert_eq!(
        (stdin_rows[1][13].as_str(), file_rows[1][13].as_str()),
        ("", "seeds/004_77300b823648d066.txt"),
        "standard input has no source, a file its path"
    );

    // The same sentences given as a CSV of already-split rows.
    let csv_path = dir.path().join("rows.csv");
    let mut w = csv::Writer::from_path(&csv_path).unwrap();
    w.write_record(["doc_id", "text"]).unwrap();
    for row in &file_rows[1..] {
        w.write_record(["fp", row[4].as_str()]).unwrap();
    }
    w.flush().unwrap();
    let from_csv = stance(&["score", csv_path.to_str().unwrap()]);
    assert!(from_csv.status.success(), "{}", stderr(&from_csv));
    let csv_rows = parse_csv(&stdout(&from_csv));
    assert_eq!(csv_rows.len(), file_rows.len());
    for (a, b) in csv_rows[1..].iter().zip(&file_rows[1..]) {
        assert_eq!(a[0], "fp");
        assert_eq!(
            (a[2].as_str(), a[3].as_str()),
            ("", ""),
            "CSV rows have no offsets"
        );
        assert_eq!(a[4..12], b[4..12]);
        assert_eq!(a[13], csv_path.to_str().unwrap(), "the CSV is the source");
    }
}

#[test]
fn missing_input_is_reported_and_the_rest_still_scored() {
    let out = stance(&[
        "score",
        "seeds/004_77300b823648d066.txt",
        "no/such/file.txt",
    ]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.contains("skipped no/such/file.txt: no such file or folder"),
        "{err}"
    );
    assert!(err.contains("1 input(s) skipped"), "{err}");
    assert!(parse_csv(&stdout(&out)).len() > 10);
}

#[test]
fn out_into_missing_folder_fails_before_work() {
    let out = stance(&["score", "--out", "no/such/dir/p.csv", "seeds"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("output folder no/such/dir does not exist"));
    assert!(stdout(&out).is_empty());
}

#[test]
fn bad_model_file_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.json");
    std::fs::write(&bad, "{\"format\":\"stance-model\",\"format_version\":7}").unwrap();
    let out = stance(&["score", "--model", bad.to_str().unwrap(), "seeds"]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(
        err.contains("bad.json: model format version 7 is not supported"),
        "{err}"
    );

    let out = stance(&["score", "--model", "models/nope.json", "seeds"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("models/nope.json: cannot read model file"));
}

#[test]
fn golden_output_for_fixture_model() {
    // A model trained on the small fixture scores one seed article; the CSV
    // and the JSON lines must match the committed golden files byte for
    // byte. After an intended change, regenerate them with `make golden`
    // (never from inside a test).
    let dir = tempfile::tempdir().unwrap();
    let model = train_fixture_model(dir.path());
    for (format, golden) in [
        ("csv", "score_003_fixture_model.csv"),
        ("jsonl", "score_003_fixture_model.jsonl"),
    ] {
        let out = stance(&[
            "score",
            "--model",
            model.to_str().unwrap(),
            "--format",
            format,
            "seeds/003_8c61eab635a33c70.txt",
        ]);
        assert!(out.status.success(), "{}", stderr(&out));
        let golden = root().join("tests/golden").join(golden);
        let want = std::fs::read(&golden).expect("golden file (make golden creates it)");
        assert!(
            out.stdout == want,
            "output differs from {} (run `make golden` if the change is intended):\n{}",
            golden.display(),
            stdout(&out)
        );
    }
}

#[test]
fn every_subcommand_has_help() {
    let out = stance(&["--help"]);
    assert!(out.status.success());
    let top = stdout(&out);
    // Every subcommand the top-level help lists, and the nested ones.
    let mut subs: Vec<Vec<&str>> = Vec::new();
    let commands = top
        .split("Commands:")
        .nth(1)
        .expect("a Commands section")
        .split("Options:")
        .next()
        .unwrap();
    for line in commands.lines() {
        if let Some(name) = line.split_whitespace().next() {
            if name != "help" {
                subs.push(vec![name]);
            }
        }
    }
    assert!(subs.len() >= 5, "{top}");
    subs.push(vec!["review", "apply"]);
    for sub in subs {
        let mut args = sub.clone();
        args.push("--help");
        let out = stance(&args);
        assert!(out.status.success(), "{sub:?}");
        let help = stdout(&out);
        assert!(
            help.contains(&format!("Usage: stance {}", sub.join(" "))),
            "{sub:?}: {help}"
        );
    }
}

#[test]
fn jsonl_records_stream_in_and_sentences_stream_out() {
    let mut input = Vec::new();
    let mut expected_rows = 0;
    for path in seed_files() {
        let text = std::fs::read_to_string(&path).unwrap();
        expected_rows += segment(&text).len();
        let doc_id = path.file_stem().unwrap().to_string_lossy().into_owned();
        let source = format!("seeds/{doc_id}.txt");
        input.extend(
            serde_json::to_vec(
                &serde_json::json!({"doc_id": doc_id, "text": text, "source": source}),
            )
            .unwrap(),
        );
        input.push(b'\n');
    }
    // a malformed line and a record without doc_id
    input.extend(b"{\"doc_id\": \"broken\", \"text\": \n");
    input.extend(b"{\"text\": \"Moscow and Beijing signed a deal.\"}\n");

    let out = stance_with_stdin(
        &["score", "--input-format", "jsonl", "--format", "jsonl", "-"],
        Some(&input),
    );
    assert_eq!(
        out.status.code(),
        Some(1),
        "a skipped record gives exit code 1"
    );
    let err = stderr(&out);
    assert!(err.contains("-:6: malformed record skipped"), "{err}");
    let rows: Vec<serde_json::Value> = stdout(&out)
        .lines()
        .map(|l| serde_json::from_str(l).expect("one JSON object per line"))
        .collect();
    assert_eq!(rows.len(), expected_rows + 1);
    let last = &rows[rows.len() - 1];
    assert_eq!(last["doc_id"], "-:7", "doc_id defaults to source:line");
    assert_eq!(
        last["source"],
        serde_json::Value::Null,
        "standard input has no path"
    );
    assert_eq!(rows[0]["source"], "seeds/000_1ff71cbcd28b900c.txt");
    // Same predictions, in the same order, as the CSV of a plain run.
    let plain = stance(&["score", "seeds"]);
    let csv_rows = parse_csv(&stdout(&plain));
    for (json, csv) in rows.iter().zip(&csv_rows[1..]) {
        assert_eq!(json["doc_id"], csv[0].as_str());
        assert_eq!(json["sentence_id"].to_string(), csv[1]);
        assert_eq!(json["start"].to_string(), csv[2]);
        assert_eq!(json["text"], csv[4].as_str());
        assert_eq!(json["label"], csv[5].as_str());
        assert_eq!(format!("{:.6}", json["p_other"].as_f64().unwrap()), csv[10]);
        assert_eq!(json["evidence"], csv[11].as_str());
        assert_eq!(json["date"], serde_json::Value::Null);
        assert_eq!(json["source"], csv[13].as_str());
    }
    // JSONL in, CSV out: byte-identical to scoring the files.
    let jsonl_csv = stance_with_stdin(&["score", "--input-format", "jsonl", "-"], Some(&input));
    let text = stdout(&jsonl_csv);
    let plain_text = stdout(&plain);
    assert!(
        text.starts_with(&plain_text),
        "CSV from JSONL differs from CSV from files"
    );
}

#[test]
fn jsonl_problem_inputs_are_reported_once() {
    // Regression: JSONL inputs went through the text-file discovery first,
    // so a missing file was reported twice and a folder was opened as a file.
    let out = stance(&["score", "--input-format", "jsonl", "no/such.jsonl", "seeds"]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert_eq!(err.matches("no/such.jsonl").count(), 1, "{err}");
    assert!(
        err.contains("seeds: not a file (expected a .jsonl file or -)"),
        "{err}"
    );
    assert!(err.contains("2 record(s) or input(s) skipped"), "{err}");
}

#[test]
fn off_topic_articles_come_out_other_and_on_topic_ones_do_not() {
    // A sports report that names neither China nor Russia: every sentence
    // is `other`, with probability 1 and the gate's evidence.
    let dir = tempfile::tempdir().unwrap();
    let sport = dir.path().join("match.txt");
    std::fs::write(
        &sport,
        "Late drama at the Etihad\n\nThe hosts refused to give up and snatched a winner in stoppage time. \
         The defeat leaves the visitors under pressure, and their manager warned that the title race is not over.\n",
    )
    .unwrap();
    let out = stance(&["score", sport.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    let rows = parse_csv(&stdout(&out));
    assert_eq!(rows.len() - 1, 3);
    for row in &rows[1..] {
        assert_eq!(row[5], "other", "{row:?}");
        assert_eq!(row[6], "1.000000", "{row:?}");
        assert_eq!(row[11], stance::score::OFF_TOPIC_EVIDENCE, "{row:?}");
    }
    // The same words in an article that names Beijing are scored by the
    // classifier, sentence by sentence.
    let tagged = dir.path().join("tagged.txt");
    std::fs::write(
        &tagged,
        "Moscow refused to give up and pressed Beijing for a pipeline deal. \
         Washington warned of new sanctions.\n",
    )
    .unwrap();
    let out = stance(&["score", tagged.to_str().unwrap()]);
    let rows = parse_csv(&stdout(&out));
    assert!(rows[1..]
        .iter()
        .all(|r| r[11] != stance::score::OFF_TOPIC_EVIDENCE));
    assert!(rows[1..].iter().any(|r| r[5] != "other"), "{rows:?}");
}

#[test]
fn the_readme_sample_row_is_what_the_shipped_model_writes() {
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    let sample = readme
        .lines()
        .find(|l| l.starts_with("000_1ff71cbcd28b900c,3,"))
        .expect("a sample row in the README");
    let out = stance(&["score", "seeds/000_1ff71cbcd28b900c.txt"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    let row = text.lines().nth(3).unwrap();
    assert_eq!(row, sample, "update the README's sample row");
}

#[test]
fn info_says_which_model_is_loaded_and_version_names_the_format() {
    let out = stance(&["info"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    for needle in [
        "models/stance.json",
        "convergence, divergence, western_pressure, other",
        "data SHA-256",
        "macro-F1",
        "off-topic gate on",
        "model card   models/stance.md",
    ] {
        assert!(text.contains(needle), "{needle} missing: {text}");
    }
    let out = stance(&["--version"]);
    let version = stdout(&out);
    assert!(
        version.contains(&format!(
            "{} v{}",
            stance::model::FORMAT,
            stance::model::FORMAT_VERSION
        )),
        "{version}"
    );
}
