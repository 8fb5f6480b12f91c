//! Sentence CSVs, JSONL streams, large article files and folders of
//! articles go through the parallel runner in batches or files: the rows,
//! their order and the messages must not depend on the thread count, the
//! batch size or the window of work in flight, and must be the rows the
//! same articles get as text files read whole.

mod common;

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use common::root;

use stance::io::Input;
use stance::model::Model;
use stance::score::{
    score_inputs, score_inputs_keeping, Event, Format, ReadAhead, ScoreOptions, Summary,
    OFF_TOPIC_EVIDENCE, STREAM_ABOVE,
};
use stance::segment::segment;

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
    run_with(input, options)
}

/// Scores `input` with `options`; returns the output and every event as a
/// line.
fn run_with(input: &Input, options: ScoreOptions) -> (String, Vec<String>, Summary) {
    let mut out = Vec::new();
    let mut events = Vec::new();
    let summary = score_inputs(
        model(),
        std::slice::from_ref(input),
        &mut out,
        options,
        |e| events.push(event_line(e).1),
    )
    .unwrap();
    (String::from_utf8(out).unwrap(), events, summary)
}

/// The input an event is about, and the event as a line.
fn event_line(e: Event<'_>) -> (String, String) {
    let (input, what) = match e {
        Event::Scored { input, sentences } => (input, format!("scored {sentences}")),
        Event::Warning { input, message } => (input, format!("warning {message}")),
        Event::Record { input, problem } => (input, format!("record {problem}")),
        Event::Skipped { input, reason } => (input, format!("skipped {reason}")),
    };
    (input.display(), what)
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
        // A byte budget smaller than any batch: one job per thread.
        let options = ScoreOptions {
            threads,
            window_bytes: 1,
            batch_bytes: 200,
            format,
            ..ScoreOptions::default()
        };
        assert_eq!(
            run_with(input, options),
            reference,
            "{} differs with {threads} threads and a byte budget of 1",
            input.display()
        );
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

/// Every combination of threads, window and batch size (batches from one
/// byte, each document alone, to the whole file) gives what one thread
/// with one large batch gives, in both formats; the CSV output is
/// returned.
fn assert_csv_independent_of_scheduling(input: &Input) -> (String, Vec<String>, Summary) {
    let mut first = None;
    for format in [Format::Csv, Format::Jsonl] {
        let reference = run(input, format, 1, 128, 1 << 20);
        for threads in [1, 2, 3] {
            for (window, batch) in [(1, 1), (2, 37), (3, 200), (4, 1000), (128, 4096)] {
                let got = run(input, format, threads, window, batch);
                assert_eq!(
                    got,
                    reference,
                    "{} differs with {threads} threads, window {window}, batch {batch}, {format:?}",
                    input.display()
                );
            }
        }
        first.get_or_insert(reference);
    }
    first.unwrap()
}

/// A CSV cell, quoted when it must be.
fn cell(value: &str) -> String {
    if value.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", value.replace('"', "\"\""))
    } else {
        value.to_string()
    }
}

#[test]
fn a_sentence_csv_cut_anywhere_gives_the_documents_of_the_whole_file() {
    // What a batch edge can fall inside of: a byte-order mark, CRLF line
    // ends (and a lone CR), blank lines, quoted cells holding line ends,
    // commas and quotes, a stray quote in a cell without quotes, rows
    // with no text (inside a document and between two), rows without a
    // doc_id, a row that starts with a byte-order mark, and invalid UTF-8
    // in two rows far apart (one warning for both); the last row has no
    // line end.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tricky.csv");
    let mut bytes = b"\xEF\xBB\xBFdoc_id,date,text,title\r\n".to_vec();
    let mut line = 2;
    let mut first_bad_line = None;
    let seeds = seeds();
    for (i, (id, text)) in seeds.iter().enumerate() {
        let id = match i % 5 {
            // The file's stem is the doc_id.
            3 => String::new(),
            4 => format!("\u{FEFF}{id}"),
            _ => id.clone(),
        };
        let spans = segment(text);
        for (k, span) in spans.iter().enumerate() {
            let mut sentence = span.text(text).replace('\n', "\r\n");
            if k == 1 {
                sentence = format!("{sentence}, and, \"quoted\",\r\nso on");
            }
            let date = if k == 2 { "5 November 2024" } else { "" };
            let mut row = format!("{},{date},{},", cell(&id), cell(&sentence)).into_bytes();
            if i == seeds.len() / 4 && k == 2 {
                row.extend(b"Bad \xFE title");
                first_bad_line.get_or_insert(line);
            }
            if i == seeds.len() * 3 / 4 && k == 0 {
                row = format!("{},,Moscow \u{FFFF}", cell(&id)).into_bytes();
                row.extend(b"\xFF and Beijing met.,T\xFE");
            }
            bytes.extend(&row);
            line += 1 + row.iter().filter(|&&b| b == b'\n').count();
            bytes.extend(b"\r\n");
            if k == 0 {
                bytes.extend(format!("{},,   ,\r\n", cell(&id)).as_bytes());
                line += 1;
            }
        }
        match i % 4 {
            0 => bytes.extend(b"\r\n\r\n"),
            1 => bytes.extend(b"stray,,Moscow sold 12\" pipes to Beijing.,\r"),
            2 => bytes.extend(b",,,Title only\r\n"),
            _ => {}
        }
        line += [2, 0, 1, 0][i % 4];
    }
    bytes.extend(b"last,,Beijing and Moscow met again.");
    std::fs::write(&path, &bytes).unwrap();
    let input = Input::Csv(path.clone());

    let (_, events, summary) = assert_csv_independent_of_scheduling(&input);
    // The documents and warnings of the file read whole, in one thread.
    let mut warnings = Vec::new();
    let docs = stance::score::load_csv(&path, &mut warnings).unwrap();
    let sentences = docs.iter().map(|d| d.spans.len()).sum::<usize>();
    assert_eq!(
        (summary.documents, summary.sentences),
        (docs.len(), sentences)
    );
    let mut expected: Vec<String> = warnings.iter().map(|w| format!("warning {w}")).collect();
    expected.push(format!("scored {sentences}"));
    assert_eq!(events, expected);
    assert_eq!(
        events[0],
        format!(
            "warning not valid UTF-8 in 2 row(s), from line {}: invalid sequence(s) replaced with U+FFFD",
            first_bad_line.unwrap()
        )
    );
    let ids: Vec<&str> = summary.articles.iter().map(|a| a.doc_id.as_str()).collect();
    let want: Vec<&str> = docs.iter().map(|d| d.doc_id.as_str()).collect();
    assert_eq!(ids, want);
    assert!(ids.contains(&"tricky") && ids.contains(&"stray"), "{ids:?}");
}

#[test]
fn a_sentence_csv_without_doc_ids_is_one_document() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("no-ids.csv");
    let mut w = csv::Writer::from_path(&path).unwrap();
    w.write_record(["text", "date"]).unwrap();
    let mut rows = 0;
    for (_, text) in seeds().iter().take(4) {
        for span in segment(text) {
            w.write_record([span.text(text), "2024-11-05"]).unwrap();
            rows += 1;
        }
    }
    w.flush().unwrap();
    let (out, events, summary) = assert_csv_independent_of_scheduling(&Input::Csv(path));
    assert_eq!(events, [format!("scored {rows}")]);
    assert_eq!((summary.documents, summary.sentences), (1, rows));
    let ids: Vec<&str> = out.lines().skip(1).map(|l| &l[..7]).collect();
    assert!(ids.iter().all(|id| *id == "no-ids,"), "{ids:?}");
}

#[cfg(unix)]
#[test]
fn a_sentence_csv_that_fails_part_way_keeps_the_documents_before() {
    // A named pipe is read up to 64 MiB: past that, the CSV ends with an
    // error, after many batches. The documents before it are written, the
    // one still open when it came is not, and the invalid row before it is
    // told first.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("pipe.csv");
    for (threads, batch) in [(1, 1 << 16), (3, 4096)] {
        common::make_fifo(&path);
        let writer = {
            let path = path.clone();
            std::thread::spawn(move || {
                use std::io::Write;
                let mut pipe = std::fs::OpenOptions::new().write(true).open(path).unwrap();
                let mut head =
                    b"doc_id,text\na,Moscow and Beijing met.\na,They signed a deal.\n".to_vec();
                head.extend(b"b,NATO warned \xFF China.\nb,Beijing said nothing.\n");
                // Rows without text, up to the limit and past it.
                let blank = format!("b,\"{}\"\n", " ".repeat(10_000));
                let _ = pipe.write_all(&head);
                for _ in 0..(65 << 20) / blank.len() {
                    if pipe.write_all(blank.as_bytes()).is_err() {
                        break;
                    }
                }
            })
        };
        let input = Input::Csv(path.clone());
        let (out, events, summary) = run(&input, Format::Csv, threads, 8, batch);
        writer.join().unwrap();
        std::fs::remove_file(&path).unwrap();
        assert_eq!(out.lines().count(), 3, "the header and `a`'s rows: {out}");
        assert_eq!(
            events,
            [
                "warning not valid UTF-8 in 1 row(s), from line 4: invalid sequence(s) replaced with U+FFFD".to_string(),
                format!(
                    "skipped {}: larger than 64 MiB, the most read from it",
                    path.display()
                ),
            ],
            "{threads} threads, batch {batch}"
        );
        assert_eq!((summary.documents, summary.skipped), (1, 1));
    }
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
    feed_records_one_at_a_time(None);
}

#[cfg(unix)]
#[test]
fn jsonl_rows_come_out_before_the_next_record_comes_in_through_a_named_pipe() {
    // The same through a named pipe: a pipe not known as one until it is
    // looked at.
    let dir = tempfile::tempdir().unwrap();
    let pipe = dir.path().join("records.jsonl");
    common::make_fifo(&pipe);
    feed_records_one_at_a_time(Some(&pipe));
}

/// Runs `stance score` on JSONL records written one at a time to its
/// standard input, or to the named pipe `fifo`, each after the rows of the
/// one before have come out.
fn feed_records_one_at_a_time(fifo: Option<&Path>) {
    use std::io::{BufRead, Write};
    for threads in ["1", "2", "4"] {
        let source = fifo.map_or("-".into(), |p| p.display().to_string());
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_stance"))
            .args(["score", "--input-format", "jsonl", "--format", "jsonl"])
            .args(["--threads", threads, &source])
            .current_dir(root())
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let mut feed: Box<dyn Write> = match fifo {
            None => Box::new(child.stdin.take().unwrap()),
            Some(p) => Box::new(std::fs::OpenOptions::new().write(true).open(p).unwrap()),
        };
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(stdout).lines() {
                if tx.send(line.unwrap()).is_err() {
                    break;
                }
            }
        });
        let texts = [
            "Moscow and Beijing signed a deal.",
            "NATO warned China.",
            "Beijing held back on the pipeline.",
            "The ministers met again.",
        ];
        for (i, text) in texts.iter().enumerate() {
            let record = serde_json::json!({"doc_id": format!("r{i}"), "text": text});
            writeln!(feed, "{record}").unwrap();
            feed.flush().unwrap();
            // Generous: this waits for a hang, it does not time anything.
            let row = rx
                .recv_timeout(std::time::Duration::from_secs(60))
                .unwrap_or_else(|_| panic!("no row for record {i} with {threads} threads"));
            let row: serde_json::Value = serde_json::from_str(&row).unwrap();
            assert_eq!(row["doc_id"], format!("r{i}"));
        }
        drop(feed);
        assert!(child.wait().unwrap().success());
    }
}

/// Scores `input` read whole, then read in parts with every combination of
/// threads, window and part size, in both formats: the output, the
/// messages and the totals are the same (probability sums, added part by
/// part, to 1e-9). Returns the CSV output and the events of the whole read.
fn assert_parts_give_the_whole(input: &Input) -> (String, Vec<String>, Summary) {
    let mut first = None;
    for format in [Format::Csv, Format::Jsonl] {
        let whole = ScoreOptions {
            format,
            threads: 1,
            stream_above: u64::MAX,
            ..ScoreOptions::default()
        };
        let reference = run_with(input, whole);
        for threads in [1, 2, 3, 4] {
            for (window, batch) in [(1, 1), (2, 7), (3, 200), (128, 4096), (128, 1 << 16)] {
                let parts = ScoreOptions {
                    threads,
                    window,
                    batch_bytes: batch,
                    stream_above: 0,
                    ..whole
                };
                let (out, events, summary) = run_with(input, parts);
                let context = format!(
                    "{} read in parts: {threads} threads, window {window}, batch {batch}, {format:?}",
                    input.display()
                );
                assert_eq!((&out, &events), (&reference.0, &reference.1), "{context}");
                assert_same_totals(&summary, &reference.2, &context);
            }
        }
        first.get_or_insert(reference);
    }
    first.unwrap()
}

fn assert_same_totals(got: &Summary, want: &Summary, context: &str) {
    let counts = |s: &Summary| {
        let articles: Vec<_> = s
            .articles
            .iter()
            .map(|a| (a.doc_id.clone(), a.sentences, a.counts.clone()))
            .collect();
        (s.inputs, s.documents, s.sentences, s.skipped, articles)
    };
    assert_eq!(counts(got), counts(want), "{context}");
    for (g, w) in got.articles.iter().zip(&want.articles) {
        for (a, b) in g.probability_sums.iter().zip(&w.probability_sums) {
            assert!((a - b).abs() < 1e-9, "{context}: {a} vs {b}");
        }
    }
}

/// A folder's files as a run sees them: the rows, their order and the
/// messages, for `inputs` scored with `options`.
fn run_inputs(inputs: &[Input], options: ScoreOptions) -> (String, Vec<String>, Summary) {
    let mut out = Vec::new();
    let mut events = Vec::new();
    let summary = score_inputs(model(), inputs, &mut out, options, |e| {
        let (input, what) = event_line(e);
        events.push(format!("{input}: {what}"));
    })
    .unwrap();
    (String::from_utf8(out).unwrap(), events, summary)
}

/// A long Markdown or HTML article is one job, scored whole by one thread
/// while the others go on through the files after it, their results
/// waiting in the window until it is written. Whatever the threads and
/// the window (in jobs or in bytes), a folder of text, Markdown and HTML
/// files, a long article among the first, gives the rows and messages of
/// one thread.
#[test]
fn a_folder_of_pages_and_markdown_scores_alike_whatever_the_threads_and_window() {
    let dir = tempfile::tempdir().unwrap();
    let seeds = seeds();
    let long: String = (0..12)
        .flat_map(|_| seeds.iter().map(|(_, text)| format!("{text}\n\n")))
        .collect();
    assert!(
        long.len() > 64 << 10,
        "the long article is {} bytes",
        long.len()
    );
    let mut files = vec![(
        "00-long.md".to_string(),
        format!("---\ntitle: Long\n---\n\n{long}"),
    )];
    for (k, (id, text)) in seeds.iter().enumerate() {
        let paragraphs: String = text
            .split("\n\n")
            .map(|p| format!("<p>{}</p>\n", p.replace('&', "&amp;").replace('<', "&lt;")))
            .collect();
        let page = format!(
            "<html><head><title>{id}</title></head><body><nav><a href=/>Home</a></nav>\
             <article>{paragraphs}</article><footer>Site</footer></body></html>"
        );
        files.push((format!("{k:02}-{id}.html"), page));
        files.push((format!("{k:02}-{id}.md"), format!("# {id}\n\n{text}")));
        files.push((format!("{k:02}-{id}.txt"), text.clone()));
    }
    files.push((
        "99-long.html".into(),
        format!("<article><p>{}</p></article>", long.replace('<', "&lt;")),
    ));
    let inputs: Vec<Input> = files
        .iter()
        .map(|(name, content)| {
            let path = dir.path().join(name);
            std::fs::write(&path, content).unwrap();
            Input::Article {
                path,
                doc_id: name.clone(),
            }
        })
        .collect();
    let one = ScoreOptions {
        threads: 1,
        ..ScoreOptions::default()
    };
    let reference = run_inputs(&inputs, one);
    assert_eq!(reference.2.documents, files.len(), "{:?}", reference.1);
    for threads in [2, 3, 4] {
        for (window, window_bytes) in [
            (1, u64::MAX),
            (2, u64::MAX),
            (3, 1),
            (512, 4096),
            (512, u64::MAX),
        ] {
            let options = ScoreOptions {
                threads,
                window,
                window_bytes,
                ..ScoreOptions::default()
            };
            assert_eq!(
                run_inputs(&inputs, options),
                reference,
                "{threads} threads, window of {window} jobs and {window_bytes} bytes"
            );
        }
    }
}

#[test]
fn seed_articles_read_in_parts_give_the_rows_of_the_whole_file() {
    for (id, _) in seeds() {
        let input = Input::Article {
            path: root().join("seeds").join(format!("{id}.txt")),
            doc_id: id.clone(),
        };
        let (out, events, summary) = assert_parts_give_the_whole(&input);
        assert_eq!(events, [format!("scored {}", summary.sentences)]);
        assert_eq!(
            out.lines().next().unwrap().split(',').next(),
            Some("doc_id")
        );
        assert_eq!(summary.documents, 1);
    }
}

#[test]
fn a_large_article_file_in_parts_gives_the_rows_of_the_whole_file() {
    // Every seed, twice, behind a byte-order mark, with a stray byte, a
    // long line without a place to cut it and lines of white space: the
    // offsets count the mark, the warning counts the repaired byte.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("large.txt");
    let mut bytes = b"\xEF\xBB\xBF".to_vec();
    for round in 0..2 {
        for (_, text) in seeds() {
            bytes.extend_from_slice(text.as_bytes());
            bytes.extend_from_slice(b"\n \t \n");
        }
        if round == 0 {
            bytes.extend_from_slice(b"Moscow \xFF and Beijing met.\n");
            bytes.extend_from_slice("中俄关系很好。".repeat(300).as_bytes());
            bytes.push(b'\n');
        }
    }
    std::fs::write(&path, &bytes).unwrap();
    let input = article(path);
    let (out, events, summary) = assert_parts_give_the_whole(&input);
    let text = String::from_utf8_lossy(&bytes[3..]);
    assert_eq!(summary.sentences, segment(&text).len());
    assert_eq!(summary.documents, 1);
    assert_eq!(
        events,
        [
            "warning not valid UTF-8: 1 invalid sequence(s) replaced with U+FFFD".to_string(),
            format!("scored {}", summary.sentences),
        ]
    );
    // The last row's offsets point at its text in the (repaired) file,
    // and at the file's end.
    let last = csv::Reader::from_reader(out.as_bytes())
        .records()
        .last()
        .unwrap()
        .unwrap();
    let (start, end): (usize, usize) = (last[2].parse().unwrap(), last[3].parse().unwrap());
    let file = String::from_utf8_lossy(&bytes);
    assert_eq!(&file[start..end], &last[4]);
    assert_eq!(end, file.trim_end().len());
    assert_eq!(last[1], summary.sentences.to_string());
}

/// Sentences that name neither China nor Russia.
const OFF_TOPIC: &str = "The home side won the cup final on penalties. \
    Their coach praised the young goalkeeper after the match.\n\
    Fans celebrated in the streets until late at night. ";

/// The rows of `out` as (label, evidence).
fn labels_and_evidence(out: &str) -> Vec<(String, String)> {
    let mut reader = csv::Reader::from_reader(out.as_bytes());
    let header = reader.headers().unwrap().clone();
    let col = |name: &str| header.iter().position(|h| h == name).unwrap();
    let (label, evidence) = (col("label"), col("evidence"));
    reader
        .records()
        .map(|r| {
            let r = r.unwrap();
            (r[label].to_string(), r[evidence].to_string())
        })
        .collect()
}

#[test]
fn the_off_topic_gate_decides_on_the_whole_large_article() {
    let dir = tempfile::tempdir().unwrap();
    // Off-topic throughout: every sentence of every part is `other`.
    let path = dir.path().join("sports.txt");
    std::fs::write(&path, OFF_TOPIC.repeat(40)).unwrap();
    let (out, _, summary) = assert_parts_give_the_whole(&article(path));
    let rows = labels_and_evidence(&out);
    assert_eq!(rows.len(), 120);
    assert_eq!(summary.sentences, 120);
    for row in &rows {
        assert_eq!(row, &("other".to_string(), OFF_TOPIC_EVIDENCE.to_string()));
    }
    assert!(out.contains(",other,1.000000,"), "{out}");

    // China named only in the last sentence: the gate is open for every
    // part, so no row carries the off-topic evidence.
    let path = dir.path().join("late.txt");
    let text = format!(
        "{}Beijing said the final was a fair one.",
        OFF_TOPIC.repeat(40)
    );
    std::fs::write(&path, text).unwrap();
    let (out, _, _) = assert_parts_give_the_whole(&article(path));
    let rows = labels_and_evidence(&out);
    assert_eq!(rows.len(), 121);
    assert!(rows.iter().all(|(_, e)| e != OFF_TOPIC_EVIDENCE), "{out}");
}

#[test]
fn a_binary_large_article_is_skipped_before_any_row() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("binary.txt");
    let mut bytes = format!("Moscow and Beijing met. {}", OFF_TOPIC.repeat(20)).into_bytes();
    bytes.push(0);
    std::fs::write(&path, &bytes).unwrap();
    let (out, events, summary) = assert_parts_give_the_whole(&article(path.clone()));
    assert_eq!(out.lines().count(), 1, "the header only: {out}");
    assert_eq!(
        events,
        [format!(
            "skipped {}: binary file (contains NUL bytes), skipped",
            path.display()
        )]
    );
    assert_eq!((summary.skipped, summary.sentences), (1, 0));
}

#[test]
fn article_files_are_read_in_parts_only_above_the_threshold() {
    assert_eq!(STREAM_ABOVE, 1 << 20);
    assert_eq!(ScoreOptions::default().stream_above, STREAM_ABOVE);
}

/// An article file as a folder scan names it: its stem is its doc_id.
fn article(path: impl Into<PathBuf>) -> Input {
    let path = path.into();
    let doc_id = path.file_stem().unwrap().to_string_lossy().into_owned();
    Input::Article { path, doc_id }
}

#[test]
fn gating_before_classifying_gives_what_classifying_then_gating_gives() {
    use stance::score::{Document, Scorer};
    // The seeds (on-topic), an off-topic article, and off-topic articles
    // that name Russia only at their end or only at their start: the
    // gate's look through an article stops at the first sentence naming
    // an actor, or reads them all.
    let mut docs: Vec<Document> = seeds()
        .iter()
        .map(|(id, text)| Document::from_text(id.clone(), text.clone()))
        .collect();
    let sports = OFF_TOPIC.repeat(3);
    docs.push(Document::from_text("off", sports.clone()));
    docs.push(Document::from_text(
        "late",
        format!("{sports}\nRussia was not mentioned until now."),
    ));
    docs.push(Document::from_text(
        "early",
        format!("Moscow sent a team.\n{sports}"),
    ));
    let options = ScoreOptions::default();
    let mut scorer = Scorer::new(model(), options);
    let (mut gated_slots, mut ungated_slots) = (Vec::new(), Vec::new());
    for doc in &docs {
        let gated = scorer.score_document_into(doc, &mut gated_slots).to_vec();
        let (ungated, mask) = scorer.score_document_ungated(doc, &mut ungated_slots);
        let closed = scorer.apply_gate(ungated, mask);
        assert_eq!(gated, ungated, "{}", doc.doc_id);
        assert_eq!(closed, doc.doc_id == "off", "{}", doc.doc_id);
    }
}

#[test]
fn a_scorer_reusing_its_slots_scores_as_a_fresh_one() {
    use stance::score::{Document, Scorer};
    // A long article, then shorter ones, so that slots written before are
    // written again: off-topic (the gate's evidence over a sentence's),
    // on-topic again, and a part of an off-topic article (never
    // classified); with evidence and without.
    let seeds = seeds();
    let mut docs: Vec<Document> = seeds
        .iter()
        .map(|(id, text)| Document::from_text(id.clone(), text.clone()))
        .collect();
    docs.sort_by_key(|d| std::cmp::Reverse(d.spans.len()));
    let long = docs.remove(0);
    let short = docs.pop().unwrap();
    let off_topic = Document::from_text("sports", OFF_TOPIC.repeat(3));
    let mut part = Document::from_text("sports-part", OFF_TOPIC.to_string());
    part.actors = Some(0);
    let order = [&long, &off_topic, &short, &part, &long, &short];
    assert!(long.spans.len() > short.spans.len() + off_topic.spans.len());
    for evidence in [3, 0] {
        let options = ScoreOptions {
            evidence,
            ..ScoreOptions::default()
        };
        let mut scorer = Scorer::new(model(), options);
        let mut slots = Vec::new();
        for doc in order {
            let fresh = Scorer::new(model(), options).score_document(doc);
            assert_eq!(fresh.len(), doc.spans.len());
            let reused = scorer.score_document_into(doc, &mut slots);
            assert_eq!(reused, &fresh[..], "{} (evidence {evidence})", doc.doc_id);
            let gated = fresh.iter().all(|s| s.evidence == OFF_TOPIC_EVIDENCE);
            assert_eq!(gated, doc.doc_id.starts_with("sports"), "{}", doc.doc_id);
        }
        assert_eq!(slots.len(), long.spans.len());
    }
}

#[test]
fn a_document_of_thousands_of_sentences_gets_the_rows_it_gets_whole() {
    // The runner scores a document of more sentences than a thread keeps
    // (1,024) in parts; the library's `score_document` scores it whole.
    // Both must give the same rows, the gate deciding on the whole
    // document: on-topic throughout, off-topic throughout, and off-topic
    // but for its very last sentence.
    use stance::score::{write_header, Document, Scorer};
    let all_seeds: Vec<String> = seeds().into_iter().map(|(_, text)| text).collect();
    let on_topic = all_seeds.join("\n").repeat(12);
    let off_topic = OFF_TOPIC.repeat(800);
    let late = format!("{off_topic}Beijing said the final was a fair one.");
    let dir = tempfile::tempdir().unwrap();
    let options = ScoreOptions {
        format: Format::Csv,
        ..ScoreOptions::default()
    };
    for (name, text) in [("on", &on_topic), ("off", &off_topic), ("late", &late)] {
        // Read whole, not in parts: under 1 MiB.
        assert!(text.len() < 1 << 20, "{name}: {} bytes", text.len());
        let path = dir.path().join(format!("{name}.txt"));
        std::fs::write(&path, text).unwrap();
        let mut doc = Document::from_text(name, text.clone());
        assert!(doc.spans.len() > 2 * 1024, "{name}: {}", doc.spans.len());
        // The runner gives an article file's rows its path as source.
        doc.source = Some(path.display().to_string());
        let mut scorer = Scorer::new(model(), options);
        let scored = scorer.score_document(&doc);
        let mut want = Vec::new();
        write_header(model().classes(), &mut want).unwrap();
        want.extend_from_slice(&scorer.write_document(&doc, &scored, Format::Csv));
        for threads in [1, 2] {
            let (got, events, summary) =
                run_with(&article(path.clone()), ScoreOptions { threads, ..options });
            assert_eq!(
                got,
                String::from_utf8(want.clone()).unwrap(),
                "{name}, {threads} threads"
            );
            assert_eq!(events, [format!("scored {}", doc.spans.len())]);
            assert_eq!((summary.documents, summary.sentences), (1, doc.spans.len()));
        }
    }
}

/// The seed articles repeated into one article file of thousands of
/// sentences (read whole: under 1 MiB), which the runner scores in parts.
fn long_article(dir: &Path) -> (Input, usize) {
    let all_seeds: Vec<String> = seeds().into_iter().map(|(_, text)| text).collect();
    let text = all_seeds.join("\n").repeat(12);
    assert!(text.len() < 1 << 20, "{} bytes", text.len());
    let path = dir.join("long.txt");
    std::fs::write(&path, &text).unwrap();
    (article(path), segment(&text).len())
}

#[test]
fn with_one_thread_a_long_documents_rows_reach_the_sink_part_by_part() {
    // Held until the whole job was scored, a long document's rows took
    // memory the size of all its rows; the calling thread, scoring the
    // job that is next to be written, hands each part's rows on as soon
    // as they are made.
    use std::sync::Mutex;
    let dir = tempfile::tempdir().unwrap();
    let (input, sentences) = long_article(dir.path());
    let log = Mutex::new(Vec::new());
    let options = ScoreOptions {
        threads: 1,
        ..ScoreOptions::default()
    };
    let summary = stance::score::for_each_input(
        model(),
        std::slice::from_ref(&input),
        options,
        |_, _, _, scored| {
            log.lock().unwrap().push(format!("made {}", scored.len()));
            Ok(scored.len())
        },
        |n| {
            log.lock().unwrap().push(format!("written {n}"));
            Ok(())
        },
        |_| {},
    )
    .unwrap();
    assert_eq!(summary.sentences, sentences);
    let parts: Vec<usize> = (0..sentences)
        .step_by(1024)
        .map(|start| (sentences - start).min(1024))
        .collect();
    assert!(parts.len() >= 3, "{parts:?}");
    let want: Vec<String> = parts
        .iter()
        .flat_map(|n| [format!("made {n}"), format!("written {n}")])
        .collect();
    assert_eq!(log.into_inner().unwrap(), want);
}

#[test]
fn a_stalled_output_holds_a_bounded_number_of_input_bytes() {
    // A slow reader of the output (a program at the other end of a pipe)
    // stalls the writing while the workers go on scoring, and what they
    // score waits to be written. Bounded by the count of jobs alone, a
    // window of jobs of large documents held a megabyte or more each;
    // bounded by their input bytes too, what waits stays within the byte
    // budget, plus one job, or one job per thread.
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::time::{Duration, Instant};
    let dir = tempfile::tempdir().unwrap();
    let sentences: Vec<String> = seeds()
        .iter()
        .flat_map(|(_, text)| segment(text).into_iter().map(|s| s.text(text).to_string()))
        .collect();
    // Every document is all the seeds' sentences: each is a job of its
    // own, far larger than the byte budget below.
    let path = dir.path().join("large.csv");
    let mut file = csv::Writer::from_path(&path).unwrap();
    file.write_record(["doc_id", "text"]).unwrap();
    let mut largest_job = 0;
    for d in 0..12 {
        let mut doc = csv::Writer::from_writer(Vec::new());
        for sentence in &sentences {
            doc.write_record([format!("d{d:02}").as_str(), sentence])
                .unwrap();
            file.write_record([format!("d{d:02}").as_str(), sentence])
                .unwrap();
        }
        largest_job = largest_job.max(doc.into_inner().unwrap().len() as u64);
    }
    file.flush().unwrap();
    let options = ScoreOptions {
        threads: 2,
        window: 128,
        window_bytes: 50_000,
        // Smaller than a document: a job is one document.
        batch_bytes: 1000,
        ..ScoreOptions::default()
    };
    assert!(
        largest_job > options.window_bytes / 2,
        "{largest_job} bytes"
    );
    // Text bytes whose scoring has begun, and those written.
    let started = AtomicU64::new(0);
    let written = AtomicU64::new(0);
    let most_waiting = AtomicU64::new(0);
    let mut first = true;
    stance::score::for_each_input(
        model(),
        &[Input::Csv(path)],
        options,
        |_, _, doc, _| {
            let n = doc.text.len() as u64;
            let now = started.fetch_add(n, Ordering::SeqCst) + n;
            most_waiting.fetch_max(now - written.load(Ordering::SeqCst), Ordering::SeqCst);
            Ok(n)
        },
        |n| {
            if std::mem::take(&mut first) {
                // The stall: until the workers have stopped taking work.
                let since = Instant::now();
                let mut last = (started.load(Ordering::SeqCst), Instant::now());
                while last.1.elapsed() < Duration::from_millis(300)
                    && since.elapsed() < Duration::from_secs(30)
                {
                    std::thread::sleep(Duration::from_millis(10));
                    let now = started.load(Ordering::SeqCst);
                    if now != last.0 {
                        last = (now, Instant::now());
                    }
                }
            }
            written.fetch_add(*n, Ordering::SeqCst);
            Ok(())
        },
        |_| {},
    )
    .unwrap();
    let bound = (options.window_bytes + largest_job).max(options.threads as u64 * largest_job);
    let most = most_waiting.load(Ordering::SeqCst);
    assert!(
        most <= bound,
        "{most} bytes of text in flight, more than {bound} (jobs of {largest_job} bytes)"
    );
    assert_eq!(
        written.load(Ordering::SeqCst),
        started.load(Ordering::SeqCst)
    );
}

#[test]
fn a_failing_output_stops_the_run_and_takes_no_more_rows() {
    // Whether rows go out part by part or a job at a time, the first
    // failed write ends the run with the output error, and nothing is
    // written after it.
    struct FailsAfter {
        writes_left: usize,
        after_failure: usize,
    }
    impl std::io::Write for FailsAfter {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            if self.writes_left == 0 {
                self.after_failure += 1;
                return Err(std::io::Error::other("disk full"));
            }
            self.writes_left -= 1;
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let dir = tempfile::tempdir().unwrap();
    let (long, _) = long_article(dir.path());
    let csv = dir.path().join("sentences.csv");
    write_sentence_csv(&csv, &seeds());
    let csv = Input::Csv(csv);
    for input in [&long, &csv] {
        for threads in [1, 2] {
            for writes_left in [1, 2] {
                let mut out = FailsAfter {
                    writes_left,
                    after_failure: 0,
                };
                let options = ScoreOptions {
                    threads,
                    batch_bytes: 4096,
                    ..ScoreOptions::default()
                };
                let result = score_inputs(
                    model(),
                    std::slice::from_ref(input),
                    &mut out,
                    options,
                    |_| {},
                );
                let context = format!("{}, {threads} threads", input.display());
                assert!(
                    matches!(result, Err(stance::error::Error::Output(_))),
                    "{context}: {result:?}"
                );
                assert_eq!(out.after_failure, 1, "{context}, {writes_left} writes");
            }
        }
    }
}

/// Scores `inputs`, starting with the jobs of `ahead` when given; returns
/// the output and every event as a line.
fn run_all(
    inputs: &[Input],
    options: ScoreOptions,
    ahead: Option<ReadAhead>,
) -> (String, Vec<String>) {
    let mut out = Vec::new();
    let mut events = Vec::new();
    let ahead = ahead.unwrap_or_else(|| ReadAhead::new(inputs, options));
    score_inputs_keeping(
        ahead,
        model(),
        inputs,
        &mut out,
        |e| {
            let (input, what) = event_line(e);
            events.push(format!("{input}: {what}"));
        },
        |_, _, _| (),
    )
    .unwrap();
    (String::from_utf8(out).unwrap(), events)
}

#[test]
fn jobs_read_ahead_give_the_rows_and_messages_of_a_run_without() {
    // While the model loads, the command line reads the first inputs and
    // cuts them into jobs; the run starts with those. What was read ahead,
    // a whole window of it or not, changes nothing in what the run gives,
    // and reading ahead stops at an article file read in parts (cutting
    // it into parts needs the model).
    let dir = tempfile::tempdir().unwrap();
    let seeds = seeds();
    let csv = dir.path().join("a.csv");
    write_sentence_csv(&csv, &seeds);
    let bad = dir.path().join("bad.csv");
    std::fs::write(&bad, "id,body\n1,Moscow and Beijing met.\n").unwrap();
    let jsonl = dir.path().join("b.jsonl");
    let mut lines = String::new();
    for (id, text) in &seeds {
        lines += &serde_json::json!({"doc_id": id, "text": text}).to_string();
        lines.push('\n');
    }
    std::fs::write(&jsonl, lines).unwrap();
    let (long, _) = long_article(dir.path());
    let first = vec![
        Input::Csv(csv.clone()),
        Input::Csv(bad),
        Input::Jsonl(jsonl),
    ];
    let mut inputs = first.clone();
    inputs.extend([long, Input::Csv(csv)]);
    // The jobs of the inputs before the article read in parts.
    let options = ScoreOptions {
        batch_bytes: 1,
        ..ScoreOptions::default()
    };
    let mut before_long = ReadAhead::new(&first, options);
    before_long.read(&first, || false);
    let n = before_long.jobs();
    assert!(n > seeds.len(), "{n} jobs");
    for threads in [1, 2] {
        for window in [2, 128] {
            let options = ScoreOptions {
                threads,
                window,
                batch_bytes: 1,
                stream_above: 1000,
                ..ScoreOptions::default()
            };
            let want = run_all(&inputs, options, None);
            assert!(
                want.1.iter().any(|e| e.contains("bad.csv: skipped")),
                "{:?}",
                want.1
            );
            let mut ahead = ReadAhead::new(&inputs, options);
            ahead.read(&inputs, || false);
            assert_eq!(ahead.jobs(), n.min(window), "window {window}");
            let got = run_all(&inputs, options, Some(ahead));
            assert!(
                got == want,
                "{threads} threads, window {window}: {} bytes and {:?}, not {} bytes and {:?}",
                got.0.len(),
                got.1,
                want.0.len(),
                want.1
            );
        }
    }
    // Once the model has loaded, nothing more is read ahead.
    let mut ahead = ReadAhead::new(&inputs, ScoreOptions::default());
    ahead.read(&inputs, || true);
    assert_eq!(ahead.jobs(), 0);
}

#[test]
fn reading_ahead_stops_at_a_named_pipe() {
    // Opening or reading a pipe can wait for the program at its other end,
    // which may itself wait: reading ahead stops before one, and the run
    // reads it in its turn.
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("a.csv");
    let rows = write_sentence_csv(&csv, &seeds());
    let pipe = dir.path().join("pipe.jsonl");
    common::make_fifo(&pipe);
    let inputs = vec![Input::Csv(csv.clone()), Input::Jsonl(pipe.clone())];
    let options = ScoreOptions {
        threads: 1,
        batch_bytes: 1,
        ..ScoreOptions::default()
    };
    let mut csv_alone = ReadAhead::new(std::slice::from_ref(&inputs[0]), options);
    csv_alone.read(std::slice::from_ref(&inputs[0]), || false);

    let (tx, rx) = std::sync::mpsc::channel();
    {
        let inputs = inputs.clone();
        std::thread::spawn(move || {
            let mut ahead = ReadAhead::new(&inputs, options);
            ahead.read(&inputs, || false);
            let _ = tx.send(ahead);
        });
    }
    let ahead = rx
        .recv_timeout(std::time::Duration::from_secs(60))
        .expect("reading ahead waited on the pipe");
    assert_eq!(ahead.jobs(), csv_alone.jobs());

    let writer = std::thread::spawn(move || {
        let record = serde_json::json!({"doc_id": "p", "text": "Moscow and Beijing met."});
        std::fs::write(&pipe, format!("{record}\n")).unwrap();
    });
    let (_, events) = run_all(&inputs, options, Some(ahead));
    writer.join().unwrap();
    assert_eq!(
        events,
        [
            format!("{}: scored {rows}", csv.display()),
            format!("{}: scored 1", inputs[1].display()),
        ]
    );
}
