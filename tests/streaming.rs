//! Sentence CSVs and JSONL streams go through the parallel runner in
//! batches: the rows, their order and the messages must not depend on the
//! thread count, the batch size or the window of work in flight, and must
//! be the rows the same articles get as text files.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use stance::io::Input;
use stance::model::Model;
use stance::score::{score_inputs, Event, Format, ScoreOptions, Summary};
use stance::segment::segment;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn model() -> &'static Model {
    static MODEL: OnceLock<Model> = OnceLock::new();
    MODEL.get_or_init(|| Model::load(&root().join("models/stance.json")).unwrap())
}

/// The seed articles as (doc_id, text), in file order.
fn seeds() -> Vec<(String, String)> {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(root().join("seeds"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "txt"))
        .collect();
    paths.sort();
    paths
        .iter()
        .map(|p| {
            let id = p.file_stem().unwrap().to_string_lossy().into_owned();
            (id, std::fs::read_to_string(p).unwrap())
        })
        .collect()
}

/// Scores `input`; returns the output and every event as a line.
fn run(
    input: &Input,
    format: Format,
    threads: usize,
    window: usize,
    batch: usize,
) -> (String, Vec<String>, Summary) {
    let options = ScoreOptions {
        threads,
        window,
        batch_bytes: batch,
        format,
        ..ScoreOptions::default()
    };
    let mut out = Vec::new();
    let mut events = Vec::new();
    let summary = score_inputs(
        model(),
        std::slice::from_ref(input),
        &mut out,
        options,
        |e| {
            events.push(match e {
                Event::Scored { sentences, .. } => format!("scored {sentences}"),
                Event::Warning { message, .. } => format!("warning {message}"),
                Event::Record { problem, .. } => format!("record {problem}"),
                Event::Skipped { reason, .. } => format!("skipped {reason}"),
            })
        },
    )
    .unwrap();
    (String::from_utf8(out).unwrap(), events, summary)
}

/// Every combination of threads, window and batch size gives what one
/// thread with one large batch gives.
fn assert_independent_of_scheduling(
    input: &Input,
    format: Format,
) -> (String, Vec<String>, Summary) {
    let reference = run(input, format, 1, 128, 1 << 20);
    for threads in [1, 2, 3, 4] {
        for (window, batch) in [(1, 1), (2, 1), (3, 200), (128, 4096)] {
            let got = run(input, format, threads, window, batch);
            assert_eq!(
                got,
                reference,
                "{} differs with {threads} threads, window {window}, batch {batch}",
                input.display()
            );
        }
    }
    reference
}

fn write_sentence_csv(path: &Path, seeds: &[(String, String)]) -> usize {
    let mut w = csv::Writer::from_path(path).unwrap();
    w.write_record(["doc_id", "text"]).unwrap();
    let mut rows = 0;
    for (id, text) in seeds {
        for span in segment(text) {
            w.write_record([id.as_str(), span.text(text)]).unwrap();
            rows += 1;
        }
    }
    w.flush().unwrap();
    rows
}

#[test]
fn sentence_csv_output_does_not_depend_on_threads_or_batches() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sentences.csv");
    let seeds = seeds();
    let rows = write_sentence_csv(&path, &seeds);
    let input = Input::Csv(path);
    let (csv_out, events, summary) = assert_independent_of_scheduling(&input, Format::Csv);
    assert_eq!(events, [format!("scored {rows}")]);
    assert_eq!((summary.documents, summary.sentences), (seeds.len(), rows));

    // The same labels and probabilities as the articles scored as text
    // (only start/end and source differ: a CSV row has no offsets, and its
    // source is the CSV).
    let files: Vec<Input> = seeds
        .iter()
        .map(|(id, _)| Input::Article {
            path: root().join("seeds").join(format!("{id}.txt")),
            doc_id: id.clone(),
        })
        .collect();
    let mut text_out = Vec::new();
    score_inputs(
        model(),
        &files,
        &mut text_out,
        ScoreOptions::default(),
        |_| {},
    )
    .unwrap();
    // Sentences spanning lines hold a line break inside a quoted cell: compare
    // whole records.
    let records = |s: &str| -> Vec<String> {
        let mut reader = csv::Reader::from_reader(s.as_bytes());
        let header = reader.headers().unwrap().clone();
        reader
            .records()
            .map(|r| {
                r.unwrap()
                    .iter()
                    .zip(&header)
                    .filter(|(_, h)| !["start", "end", "source"].contains(h))
                    .map(|(c, _)| c.to_string())
                    .collect::<Vec<_>>()
                    .join("|")
            })
            .collect()
    };
    assert_eq!(
        records(&csv_out),
        records(&String::from_utf8(text_out).unwrap())
    );
}

#[test]
fn jsonl_output_and_messages_do_not_depend_on_threads_or_batches() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("articles.jsonl");
    let mut bytes = Vec::new();
    let mut expected = 0;
    for (i, (id, text)) in seeds().iter().enumerate() {
        // Each seed twice, paragraph by paragraph and whole, with a
        // malformed line and a line with a stray byte among them.
        for part in text.split("\n\n").chain([text.as_str()]) {
            expected += segment(part).len();
            bytes.extend(
                serde_json::to_vec(&serde_json::json!({"doc_id": id, "text": part})).unwrap(),
            );
            bytes.push(b'\n');
        }
        if i == 1 {
            bytes.extend(b"{\"doc_id\": \"broken\", \"text\": \n");
            bytes.extend(b"{\"doc_id\": 7, \"text\": \"Moscow \xFF and Beijing met.\"}\n");
            expected += 1;
        }
    }
    std::fs::write(&path, &bytes).unwrap();
    let input = Input::Jsonl(path.clone());
    let (out, events, summary) = assert_independent_of_scheduling(&input, Format::Jsonl);
    assert_eq!(out.lines().count(), expected);
    assert_eq!(summary.sentences, expected);
    assert_eq!(summary.records_skipped, 1);
    let problems: Vec<&String> = events.iter().filter(|e| e.starts_with("record")).collect();
    assert_eq!(problems.len(), 2, "{events:?}");
    assert!(
        problems[0].contains("malformed record skipped"),
        "{events:?}"
    );
    assert!(problems[1].contains("not valid UTF-8"), "{events:?}");
    assert_eq!(events.last().unwrap(), &format!("scored {expected}"));
    // CSV out of the same records: also independent of scheduling.
    assert_independent_of_scheduling(&input, Format::Csv);
}

#[test]
fn jsonl_rows_come_out_before_the_next_record_comes_in() {
    // A program that feeds records one at a time and waits for each one's
    // rows (a pipe, as Spark's executors use) must get them without
    // sending more or closing the pipe, whatever the thread count.
    use std::io::{BufRead, Write};
    for threads in ["1", "2", "4"] {
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_stance"))
            .args(["score", "--input-format", "jsonl", "--format", "jsonl"])
            .args(["--threads", threads, "-"])
            .current_dir(root())
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let mut stdin = child.stdin.take().unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(stdout).lines() {
                if tx.send(line.unwrap()).is_err() {
                    break;
                }
            }
        });
        for (i, text) in ["Moscow and Beijing signed a deal.", "NATO warned China."]
            .iter()
            .enumerate()
        {
            let record = serde_json::json!({"doc_id": format!("r{i}"), "text": text});
            writeln!(stdin, "{record}").unwrap();
            stdin.flush().unwrap();
            // Generous: this waits for a hang, it does not time anything.
            let row = rx
                .recv_timeout(std::time::Duration::from_secs(60))
                .unwrap_or_else(|_| panic!("no row for record {i} with {threads} threads"));
            let row: serde_json::Value = serde_json::from_str(&row).unwrap();
            assert_eq!(row["doc_id"], format!("r{i}"));
        }
        drop(stdin);
        assert!(child.wait().unwrap().success());
    }
}
