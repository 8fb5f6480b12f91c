//! Broken inputs, broken label files, broken model files and interrupted
//! runs: every problem is named, nothing good is lost.

mod common;

use std::path::Path;

use common::*;

fn write(dir: &Path, name: &str, bytes: &[u8]) -> String {
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap();
    p.to_str().unwrap().to_string()
}

#[test]
fn problem_inputs_are_named_and_the_rest_is_scored() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let good = write(
        d,
        "good.txt",
        b"Moscow and Beijing held joint drills. NATO warned them.",
    );
    let latin1 = write(d, "latin1.txt", b"Caf\xe9 talks in Moscow. Beijing agreed.");
    let binary = write(d, "image.txt", b"\x89PNG\r\n\x1a\n\0\0\0IHDR");
    let empty = write(d, "empty.txt", b"");
    let blank = write(d, "blank.txt", b"  \n\t\r\n  ");
    let crlf = write(
        d,
        "crlf.txt",
        b"\xEF\xBB\xBFFirst line.\r\nSecond line.\r\n",
    );
    let out = stance(&[
        "score",
        &good,
        &latin1,
        &binary,
        &empty,
        &blank,
        &crlf,
        "missing.txt",
    ]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "skipped inputs give exit code 1"
    );
    let err = stderr(&out);
    assert!(
        err.contains(&format!("warning: {latin1}: not valid UTF-8")),
        "{err}"
    );
    assert!(
        err.contains(&format!("skipped {binary}: binary file")),
        "{err}"
    );
    assert!(
        err.contains("skipped missing.txt: no such file or folder"),
        "{err}"
    );
    assert!(err.contains("2 input(s) skipped"), "{err}");
    assert!(err.contains("from 5 inputs"), "{err}");
    let rows = parse_csv(&stdout(&out));
    let docs: Vec<&str> = rows[1..].iter().map(|r| r[0].as_str()).collect();
    assert_eq!(
        docs,
        ["good", "good", "latin1", "latin1", "crlf", "crlf"],
        "empty and blank files give no rows"
    );
    assert_eq!(rows[3][4], "Caf\u{FFFD} talks in Moscow.");
    assert_eq!(
        rows[5][4], "First line.",
        "BOM and CR are not part of the text"
    );
    assert_eq!(rows[5][2], "3", "offsets count the BOM-less text");
}

#[test]
fn huge_lines_and_sentences_are_scored() {
    let dir = tempfile::tempdir().unwrap();
    // one 100,000-character sentence, then one 50 MB line of 1,000 sentences
    let long_sentence = format!("{}.", "sanctions ".repeat(10_000).trim_end());
    let many = format!("{}. ", "Moscow and Beijing signed a deal".repeat(1_600)).repeat(1_000);
    assert!(many.len() > 50_000_000);
    let text = format!("{long_sentence}\n{many}");
    let path = write(dir.path(), "big.txt", text.as_bytes());
    let out_path = dir.path().join("big.csv");
    let out = stance(&["score", "--out", out_path.to_str().unwrap(), &path]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("scored 1001 sentences"),
        "{}",
        stderr(&out)
    );
    let csv = std::fs::read_to_string(&out_path).unwrap();
    let second = csv.lines().nth(1).unwrap();
    assert!(
        second.contains(",100000,"),
        "end offset of the long sentence"
    );
}

#[cfg(unix)]
#[test]
fn symlink_loops_are_cut_and_reported() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::create_dir(d.join("a")).unwrap();
    std::fs::write(d.join("a/one.txt"), "Beijing backed Moscow.").unwrap();
    std::os::unix::fs::symlink(d, d.join("a/back")).unwrap();
    let out = stance(&["score", d.to_str().unwrap()]);
    let err = stderr(&out);
    assert!(err.contains("symlink loop"), "{err}");
    let rows = parse_csv(&stdout(&out));
    assert_eq!(rows.len(), 2, "the file is scored once");
}

#[test]
fn label_file_problems_are_errors_with_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let cases: &[(&str, &str)] = &[
        ("", "missing column `doc_id`"),
        ("text,label\nA.,other\n", "missing column `doc_id`"),
        (
            "doc_id,text,label\nd,A.,other,extra\n",
            ":2: malformed CSV: expected 3 fields, found 4",
        ),
        (
            "doc_id,text,label\nd,A.,Other\n",
            ":2: unknown label `Other`",
        ),
        ("doc_id,text,label\nd,  ,other\n", ":2: empty `text`"),
        ("doc_id,text,label\n,A.,other\n", ":2: empty `doc_id`"),
        (
            "doc_id,text,label\nd,\"A, b.\",other\ne,\"A, b.\",convergence\n",
            ":3: text is labelled `convergence` here but `other` at",
        ),
        (
            "doc_id,text,label\nd,A.,other\ne,B.,other\n",
            "class `convergence` has no labelled rows",
        ),
    ];
    for (i, (body, want)) in cases.iter().enumerate() {
        let labels = write(d, &format!("l{i}.csv"), body.as_bytes());
        let model = d.join(format!("m{i}.json"));
        let out = stance(&[
            "train",
            "--labels",
            &labels,
            "--model",
            model.to_str().unwrap(),
            "--no-cv",
        ]);
        assert_eq!(out.status.code(), Some(2), "{body:?}");
        let err = stderr(&out);
        assert!(err.contains(want), "{body:?}: {err}");
        if !want.contains("no labelled rows") {
            assert!(err.contains(&labels), "{err}");
        }
        assert!(!model.exists());
    }
}

#[test]
fn extra_columns_quoted_newlines_and_duplicates_are_accepted() {
    let dir = tempfile::tempdir().unwrap();
    let fixture = std::fs::read_to_string(root().join("tests/fixtures/small.csv")).unwrap();
    let mut body = String::from("doc_id,note,text,label\n");
    for row in &parse_csv(&fixture)[1..] {
        let mut w = csv::Writer::from_writer(Vec::new());
        w.write_record([&row[0], "a note, with comma", &row[1], &row[2]])
            .unwrap();
        body.push_str(std::str::from_utf8(&w.into_inner().unwrap()).unwrap());
    }
    body.push_str("zz,\"multi\nline\",\"A sentence, quoted,\nover two lines.\",other\n");
    body.push_str("zz,dup,\"A sentence, quoted,\nover two lines.\",other\n");
    let labels = write(dir.path(), "l.csv", body.as_bytes());
    let model = dir.path().join("m.json");
    let out = stance(&[
        "train",
        "--labels",
        &labels,
        "--model",
        model.to_str().unwrap(),
        "--no-cv",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("read 43 labelled sentences from 5 articles"),
        "{}",
        stderr(&out)
    );
    let card = std::fs::read_to_string(model.with_extension("md")).unwrap();
    assert!(card.contains("(1 repeated rows counted once)"), "{card}");
}

#[test]
fn damaged_model_files_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let good = std::fs::read(root().join("models/stance.json")).unwrap();
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        (
            "truncated.json",
            good[..good.len() / 3].to_vec(),
            "model file is truncated",
        ),
        (
            "text.json",
            b"hello".to_vec(),
            "not a stance model file (invalid JSON",
        ),
        (
            "other.json",
            br#"{"format":"something-else"}"#.to_vec(),
            "not a stance model file",
        ),
        (
            "v2.json",
            String::from_utf8(good.clone())
                .unwrap()
                .replacen("\"format_version\":1", "\"format_version\":2", 1)
                .into_bytes(),
            "model format version 2 is not supported",
        ),
        (
            "shape.json",
            String::from_utf8(good.clone())
                .unwrap()
                .replacen("\"intercepts\":[", "\"intercepts\":[0.5,", 1)
                .into_bytes(),
            "intercepts",
        ),
    ];
    for (name, bytes, want) in cases {
        let path = write(dir.path(), name, &bytes);
        for args in [
            vec!["score", "--model", &path, "seeds"],
            vec!["eval", "--model", &path, "labels"],
        ] {
            let out = stance(&args);
            assert_eq!(out.status.code(), Some(2), "{name}");
            let err = stderr(&out);
            assert!(
                err.contains(&format!("{path}: ")) && err.contains(want),
                "{name}: {err}"
            );
            assert!(!err.contains("panicked"), "{err}");
        }
    }
}

#[cfg(unix)]
#[test]
fn killing_a_score_run_leaves_the_previous_output_intact() {
    use std::process::{Command, Stdio};
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let out_path = d.join("pred.csv");
    std::fs::write(&out_path, "previous good output\n").unwrap();
    let input = d.join("inputs");
    std::fs::create_dir(&input).unwrap();
    let article = std::fs::read_to_string(root().join("seeds/002_4ee0aad5c8b25f11.txt")).unwrap();
    for i in 0..2000 {
        std::fs::write(input.join(format!("{i:04}.txt")), &article).unwrap();
    }
    let mut child = Command::new(env!("CARGO_BIN_EXE_stance"))
        .args(["score", "--threads", "1", "--out"])
        .arg(&out_path)
        .arg(&input)
        .current_dir(root())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Wait until the run has started writing its temporary file.
    let started = std::time::Instant::now();
    loop {
        let temp_exists = std::fs::read_dir(d).unwrap().any(|e| {
            e.unwrap()
                .file_name()
                .to_string_lossy()
                .starts_with(".stance-")
        });
        if temp_exists || started.elapsed().as_secs() > 60 {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    let still_running = child.try_wait().unwrap().is_none();
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(
        still_running,
        "the run finished before it could be interrupted"
    );
    assert_eq!(
        std::fs::read_to_string(&out_path).unwrap(),
        "previous good output\n"
    );
}
