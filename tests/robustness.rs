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
        ("doc_id,label\nd,other\n", "missing column `text`"),
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
        // A stray quote in the last column took the rows after it into
        // that cell, silently.
        (
            "doc_id,text,label,note\nd,A.,other,\"headline\ne,B.,convergence,\n",
            ":2: malformed CSV: a quoted field is never closed",
        ),
        // Blank lines before a record: the line is the record's own, not
        // that of the first blank line (as the csv crate gives it).
        (
            "doc_id,text,label\nd,A.,other\n\n\n\ne,B.,Other\n",
            ":6: unknown label `Other`",
        ),
        (
            "doc_id,text,label\r\nd,\"A,\r\nb.\",other\r\n\r\ne,B.,Other\r\n",
            ":5: unknown label `Other`",
        ),
        (
            "doc_id,text,label,note\nd,A.,other,\n\n\ne,B.,other,\"headline\nf,C.,convergence,\n",
            ":5: malformed CSV: a quoted field is never closed",
        ),
    ];
    let utf8 = b"doc_id,text,label\nd,A.,other\n\n\ne,B \xff.,other\n";
    let cases = cases
        .iter()
        .map(|&(body, want)| (body.as_bytes(), want))
        .chain([
            (&utf8[..], ":5: malformed CSV: not valid UTF-8 in column 2"),
            (
                b"\n\ndoc_id,te\xffxt,label\nd,A.,other\n",
                ":3: malformed CSV: not valid UTF-8 in column 2",
            ),
        ]);
    for (i, (bytes, want)) in cases.enumerate() {
        let labels = write(d, &format!("l{i}.csv"), bytes);
        let body = String::from_utf8_lossy(bytes);
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
    let (out_path, input) = long_run(d);
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

/// Waits for `child` at most `secs` seconds, killing it if it is still
/// running then; returns its output and whether it finished in time.
fn wait_with_timeout(mut child: std::process::Child, secs: u64) -> (std::process::Output, bool) {
    let started = std::time::Instant::now();
    let mut in_time = true;
    while child.try_wait().unwrap().is_none() {
        if started.elapsed().as_secs() >= secs {
            child.kill().unwrap();
            in_time = false;
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    (child.wait_with_output().unwrap(), in_time)
}

fn spawn_stance(args: &[&str]) -> std::process::Child {
    use std::process::{Command, Stdio};
    Command::new(env!("CARGO_BIN_EXE_stance"))
        .args(args)
        .current_dir(root())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

#[test]
fn concurrent_review_apply_runs_lose_no_rows() {
    // Regression: two runs at once each read the label file, appended their
    // rows and renamed over it; one run's rows were lost.
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let labels = d.join("labels");
    std::fs::create_dir(&labels).unwrap();
    std::fs::copy(
        root().join("labels/classes.txt"),
        labels.join("classes.txt"),
    )
    .unwrap();
    let out = labels.join("reviewed.csv");
    let runs = 8;
    let per_run = 20;
    let mut children = Vec::new();
    for run in 0..runs {
        let mut body = String::from("doc_id,text,review\n");
        for i in 0..per_run {
            body.push_str(&format!("doc{run},Sentence {i} of run {run}.,other\n"));
        }
        let preds = write(d, &format!("p{run}.csv"), body.as_bytes());
        children.push(spawn_stance(&[
            "review",
            "apply",
            &preds,
            "--labels",
            labels.to_str().unwrap(),
            "--classes",
            labels.join("classes.txt").to_str().unwrap(),
            "--labels-out",
            out.to_str().unwrap(),
        ]));
    }
    for child in children {
        let (output, in_time) = wait_with_timeout(child, 120);
        assert!(in_time && output.status.success(), "{}", stderr(&output));
    }
    let rows = parse_csv(&std::fs::read_to_string(&out).unwrap());
    assert_eq!(rows.len(), 1 + runs * per_run, "every run's rows are kept");
}

#[cfg(unix)]
#[test]
fn a_closed_stdout_ends_train_and_eval_quietly() {
    // Regression: `stance train | head` and `stance eval | head` panicked.
    use std::process::{Command, Stdio};
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("m.json");
    let runs: [Vec<&str>; 2] = [
        vec![
            "train",
            "--labels",
            "tests/fixtures/small.csv",
            "--no-select",
            "--folds",
            "2",
            "--model",
            model.to_str().unwrap(),
        ],
        vec![
            "eval",
            "--model",
            model.to_str().unwrap(),
            "tests/fixtures/small.csv",
        ],
    ];
    for args in runs {
        let (reader, writer) = std::io::pipe().unwrap();
        drop(reader);
        let out = Command::new(env!("CARGO_BIN_EXE_stance"))
            .args(&args)
            .current_dir(root())
            .stdout(Stdio::from(writer))
            .stderr(Stdio::piped())
            .output()
            .unwrap();
        let err = stderr(&out);
        assert!(!err.contains("panicked"), "{}: {err}", args[0]);
        assert_eq!(out.status.code(), Some(0), "{}: {err}", args[0]);
        assert!(model.exists(), "the model is saved before the report");
    }
}

#[cfg(target_os = "linux")]
#[test]
fn failing_to_start_threads_is_an_error_not_a_panic_or_hang() {
    // Regression: under a resource limit `--threads 1000` panicked on
    // thread spawn and then hung.
    let dir = tempfile::tempdir().unwrap();
    let inputs = dir.path().join("in");
    std::fs::create_dir(&inputs).unwrap();
    // Whole articles keep the first workers busy while the rest start.
    let article = std::fs::read(root().join("seeds/002_4ee0aad5c8b25f11.txt")).unwrap();
    for i in 0..1000 {
        std::fs::write(inputs.join(format!("{i:04}.txt")), &article).unwrap();
    }
    // 1000 thread stacks of 2 MiB do not fit in 800 MB of address space.
    let script = format!(
        "ulimit -v 800000; exec {} score --threads 1000 --out /dev/null {}",
        env!("CARGO_BIN_EXE_stance"),
        inputs.display()
    );
    let child = std::process::Command::new("sh")
        .args(["-c", &script])
        .current_dir(root())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let (out, in_time) = wait_with_timeout(child, 120);
    assert!(in_time, "the run hung");
    let err = stderr(&out);
    assert!(!err.contains("panicked"), "{err}");
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("cannot start 1000 worker threads"), "{err}");
}

#[test]
fn outputs_are_checked_before_any_work() {
    // Regression: `--out` naming an input replaced the input, and an
    // unwritable `--summary` was found only after `--out` was replaced.
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let article = write(d, "a.txt", b"Beijing backed Moscow.");
    let out = stance(&["score", "--out", &article, &article]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("is also an input"),
        "{}",
        stderr(&out)
    );
    let folder = d.to_str().unwrap();
    let out = stance(&["score", "--out", &article, folder]);
    assert_eq!(out.status.code(), Some(2), "found through a folder");
    assert_eq!(std::fs::read(&article).unwrap(), b"Beijing backed Moscow.");
    // A second name of the file (a hard link) names the same file.
    #[cfg(unix)]
    {
        let link = d.join("same.txt");
        std::fs::hard_link(&article, &link).unwrap();
        let out = stance(&["score", "--out", link.to_str().unwrap(), &article]);
        assert_eq!(out.status.code(), Some(2), "a hard link: {}", stderr(&out));
        assert!(
            stderr(&out).contains("is also an input"),
            "{}",
            stderr(&out)
        );
        assert_eq!(std::fs::read(&article).unwrap(), b"Beijing backed Moscow.");
        std::fs::remove_file(&link).unwrap();
    }

    let pred = write(d, "pred.csv", b"previous\n");
    for option in ["--summary", "--chart"] {
        let out = stance(&[
            "score",
            "--out",
            &pred,
            option,
            "/proc/stance-cannot-write-here",
            &article,
        ]);
        assert_eq!(out.status.code(), Some(2), "{option}: {}", stderr(&out));
        assert!(
            stderr(&out).contains("cannot write into /proc"),
            "{}",
            stderr(&out)
        );
        assert_eq!(std::fs::read(&pred).unwrap(), b"previous\n");
    }
}

#[test]
fn jsonl_repairs_bad_bytes_accepts_a_bom_and_numeric_ids() {
    // Regression: one invalid byte failed the whole stream, a BOM made the
    // first record malformed and a numeric doc_id skipped every record.
    let input = b"\xEF\xBB\xBF{\"doc_id\": 7, \"text\": \"Beijing backed Moscow.\"}\r\n\
{\"doc_id\": \"b\", \"text\": \"Caf\xe9 talks in Moscow.\"}\n\
not json\n\
{\"text\": \"NATO warned Beijing.\"}\n";
    let out = stance_with_stdin(&["score", "--input-format", "jsonl", "-"], Some(input));
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("warning: -:2: not valid UTF-8: 1 invalid sequence(s)"),
        "{err}"
    );
    assert!(err.contains("-:3: malformed record skipped"), "{err}");
    let rows = parse_csv(&stdout(&out));
    let ids: Vec<&str> = rows[1..].iter().map(|r| r[0].as_str()).collect();
    assert_eq!(
        ids,
        ["7", "b", "'-:4"],
        "a default id starting with - is guarded"
    );
    assert_eq!(rows[2][4], "Caf\u{FFFD} talks in Moscow.");
}

#[test]
fn a_sentence_csv_with_a_stray_byte_is_scored_with_one_warning() {
    // Regression: one Windows-1252 byte made the whole CSV be skipped.
    let dir = tempfile::tempdir().unwrap();
    let csv = write(
        dir.path(),
        "rows.csv",
        b"doc_id,text\r\nd,Beijing backed Moscow.\r\nd,It\x92s a deal.\r\nd,NATO \x96 warned.\r\n",
    );
    let out = stance(&["score", &csv]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert_eq!(err.matches("not valid UTF-8").count(), 1, "{err}");
    assert!(err.contains("in 2 row(s), from line 3"), "{err}");
    let rows = parse_csv(&stdout(&out));
    assert_eq!(rows.len(), 4);
    assert_eq!(rows[2][4], "It\u{FFFD}s a deal.");
}

#[test]
fn lines_told_of_a_sentence_csv_count_its_blank_lines() {
    // Regression: a row after blank lines was told by the line of the
    // first blank one.
    let dir = tempfile::tempdir().unwrap();
    let csv = write(
        dir.path(),
        "rows.csv",
        b"doc_id,text\r\na,Beijing backed Moscow.\r\n\r\n\r\nb,NATO \xff warned China.\r\n",
    );
    for threads in ["1", "2"] {
        let out = stance(&["score", "--threads", threads, &csv]);
        let err = stderr(&out);
        assert!(
            err.contains("rows.csv: not valid UTF-8 in 1 row(s), from line 5"),
            "{err}"
        );
    }
}

#[test]
fn a_sentence_csv_with_a_quote_never_closed_is_told_where() {
    // Regression: a stray `"` opening a cell made the rest of the file
    // one sentence of that cell, scored without a word.
    let dir = tempfile::tempdir().unwrap();
    let csv = write(
        dir.path(),
        "rows.csv",
        b"doc_id,text\r\na,Beijing backed Moscow.\r\nb,\"He said \"\"no, thanks.\r\nc,NATO warned China.\r\n",
    );
    let out = stance(&["score", "--threads", "2", &csv]);
    let err = stderr(&out);
    // Scored, but rows were swallowed: the exit code says so.
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("rows.csv: line 3: a quoted field is never closed"),
        "{err}"
    );
    assert!(
        err.contains("1 sentence CSV(s) end inside a quoted cell"),
        "{err}"
    );
    // As the CSV reads: the last cell runs to the end of the file.
    let rows = parse_csv(&stdout(&out));
    assert_eq!(rows.len(), 3);
    assert!(rows[2][4].ends_with("NATO warned China."), "{:?}", rows[2]);
    // Predictions read back for review are refused instead, naming the
    // line: the reviews after the stray quote are in its cell.
    let preds = write(
        dir.path(),
        "preds.csv",
        b"doc_id,text,review\na,Beijing backed Moscow.,\"convergence\nb,NATO warned China.,western_pressure\n",
    );
    let labels_out = dir.path().join("reviewed.csv");
    let out = stance(&[
        "review",
        "apply",
        &preds,
        "--labels-out",
        labels_out.to_str().unwrap(),
    ]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("preds.csv:2: malformed CSV: a quoted field is never closed"),
        "{err}"
    );
    assert!(!labels_out.exists());
}

#[test]
fn line_numbers_are_right_in_crlf_files() {
    // Regression: `file:line` was one too low for CRLF files.
    let dir = tempfile::tempdir().unwrap();
    let labels = write(
        dir.path(),
        "l.csv",
        b"doc_id,text,label\r\nd,A.,other\r\nd,B.,Other\r\n",
    );
    let model = dir.path().join("m.json");
    let out = stance(&[
        "train",
        "--labels",
        &labels,
        "--model",
        model.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains(&format!("{labels}:3: unknown label `Other`")),
        "{}",
        stderr(&out)
    );
}

#[cfg(unix)]
#[test]
fn special_files_end_with_a_clear_error() {
    // Regression: a FIFO named *.txt in a folder hung the run; /dev/zero as
    // input or model was read until memory ran out; a sparse 1 GiB model
    // was read whole before being refused.
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write(d, "a.txt", b"Beijing backed Moscow.");
    make_fifo(&d.join("pipe.txt"));
    let (out, in_time) = wait_with_timeout(spawn_stance(&["score", d.to_str().unwrap()]), 60);
    assert!(in_time, "a named pipe in a folder hung the run");
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("not a regular file"),
        "{}",
        stderr(&out)
    );
    assert_eq!(parse_csv(&stdout(&out)).len(), 2);

    // Read as plain text: refused as binary data once its first MiB is
    // read (a text stream past that is held in a temporary file, and
    // checked for NUL bytes as it is).
    let (out, in_time) = wait_with_timeout(spawn_stance(&["score", "/dev/zero"]), 60);
    assert!(in_time);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("/dev/zero: binary file"),
        "{}",
        stderr(&out)
    );
    // Endless text from a named pipe: held in a temporary file up to the
    // bound of a stream, then refused by the pipe's name.
    let endless = d.join("endless.txt");
    make_fifo(&endless);
    let mut yes = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!(
            "yes 'Beijing backed Moscow.' > '{}'",
            endless.display()
        ))
        .spawn()
        .unwrap();
    let (out, in_time) = wait_with_timeout(spawn_stance(&["score", endless.to_str().unwrap()]), 60);
    let _ = yes.kill();
    yes.wait().unwrap();
    assert!(in_time);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains(&format!("{}: larger than 64 MiB", endless.display())),
        "{}",
        stderr(&out)
    );
    let (out, in_time) = wait_with_timeout(
        spawn_stance(&["score", "--input-format", "jsonl", "/dev/zero"]),
        60,
    );
    assert!(in_time);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("larger than 64 MiB"),
        "{}",
        stderr(&out)
    );

    let sparse = d.join("sparse.json");
    std::fs::File::create(&sparse)
        .unwrap()
        .set_len(1 << 30)
        .unwrap();
    for model in ["/dev/zero", sparse.to_str().unwrap()] {
        let started = std::time::Instant::now();
        let (out, in_time) = wait_with_timeout(
            spawn_stance(&["score", "--model", model, d.join("a.txt").to_str().unwrap()]),
            60,
        );
        assert!(in_time);
        assert_eq!(out.status.code(), Some(2));
        assert!(
            stderr(&out).contains("larger than 256 MiB"),
            "{}",
            stderr(&out)
        );
        if model != "/dev/zero" {
            assert!(started.elapsed().as_secs() < 5, "read before refused");
        }
    }
}

#[cfg(unix)]
#[test]
fn an_alias_symlink_is_followed_once_without_a_loop_report() {
    // Regression: `latest -> 2026-11` was reported as a symlink loop and
    // the run exited 1.
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::create_dir(d.join("2026-11")).unwrap();
    write(d, "2026-11/one.txt", b"Beijing backed Moscow.");
    std::os::unix::fs::symlink("2026-11", d.join("latest")).unwrap();
    let out = stance(&["score", d.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(!stderr(&out).contains("loop"), "{}", stderr(&out));
    assert_eq!(parse_csv(&stdout(&out)).len(), 2, "scored once");
}

#[test]
fn absurd_models_are_refused_at_load() {
    // Regression: overflowing weights gave probabilities that summed to 0.
    let dir = tempfile::tempdir().unwrap();
    let good = std::fs::read(root().join("models/stance.json")).unwrap();
    let mut json: serde_json::Value = serde_json::from_slice(&good).unwrap();
    json["classifier"]["intercepts"][0] = serde_json::json!(1e300);
    let path = write(dir.path(), "huge.json", json.to_string().as_bytes());
    let out = stance(&["score", "--model", &path, "seeds"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("weight 1e300 is not a finite number within"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn suggest_says_how_many_it_listed() {
    // Regression: "listed the 50 least certain" when it wrote none.
    let dir = tempfile::tempdir().unwrap();
    let empty = write(dir.path(), "empty.txt", b"");
    let out = stance(&["suggest", "-n", "50", &empty]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("listed 0 sentence(s)"),
        "{}",
        stderr(&out)
    );
    // A labels folder that is not there is named, with the option.
    let gone = dir.path().join("no-labels");
    let out = stance(&["suggest", &empty, "--labels", gone.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(
        err.contains("(--labels;") && err.contains("no-labels"),
        "{err}"
    );
}

#[cfg(unix)]
#[test]
fn an_interrupted_run_removes_its_temporary_file() {
    // Regression: Ctrl-C and SIGTERM left `.stance-*.tmp` behind, and
    // SIGTERM ended with Ctrl-C's exit code.
    use std::process::{Command, Stdio};
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (out_path, input) = long_run(d);
    let temps = || {
        std::fs::read_dir(d)
            .unwrap()
            .filter(|e| {
                e.as_ref()
                    .unwrap()
                    .file_name()
                    .to_string_lossy()
                    .starts_with(".stance-")
            })
            .count()
    };
    for (signal, number) in [("-INT", 2), ("-TERM", 15)] {
        let mut child = Command::new(env!("CARGO_BIN_EXE_stance"))
            .args(["score", "--threads", "1", "--out"])
            .arg(&out_path)
            .arg(&input)
            .current_dir(root())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let started = std::time::Instant::now();
        while temps() == 0 && started.elapsed().as_secs() < 60 {
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        assert!(child.try_wait().unwrap().is_none(), "finished too early");
        let status = Command::new("kill")
            .args([signal, &child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
        let (out, in_time) = wait_with_timeout(child, 60);
        assert!(in_time, "{signal}: the run did not end");
        // Ended by the signal itself, as if not caught (a shell sees
        // 128 + its number).
        use std::os::unix::process::ExitStatusExt;
        assert_eq!(
            out.status.signal(),
            Some(number),
            "{signal}: {:?}",
            out.status
        );
        assert_eq!(temps(), 0, "{signal}: temporary file left behind");
        assert_eq!(
            std::fs::read_to_string(&out_path).unwrap(),
            "previous good output\n"
        );
    }
}

#[test]
fn train_refuses_to_write_over_its_inputs() {
    // An output naming an input would replace the labels it was read from.
    let dir = tempfile::tempdir().unwrap();
    let fixture = std::fs::read(root().join("tests/fixtures/small.csv")).unwrap();
    let labels = write(dir.path(), "l.csv", &fixture);
    let card = dir.path().join("l.md");
    let out = stance(&[
        "train",
        "--labels",
        &labels,
        "--model",
        &labels,
        "--card",
        card.to_str().unwrap(),
        "--no-select",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("is also an input"),
        "{}",
        stderr(&out)
    );
    assert_eq!(std::fs::read(&labels).unwrap(), fixture);
}

/// A folder of 2,000 copies of a seed article (a run long enough to
/// interrupt) and an output file holding "previous good output".
#[cfg(unix)]
fn long_run(d: &std::path::Path) -> (std::path::PathBuf, std::path::PathBuf) {
    let out_path = d.join("pred.csv");
    std::fs::write(&out_path, "previous good output\n").unwrap();
    let input = d.join("inputs");
    std::fs::create_dir(&input).unwrap();
    let article = std::fs::read_to_string(root().join("seeds/002_4ee0aad5c8b25f11.txt")).unwrap();
    for i in 0..2000 {
        std::fs::write(input.join(format!("{i:04}.txt")), &article).unwrap();
    }
    (out_path, input)
}
