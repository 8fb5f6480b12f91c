//! Fuzzing by property: the segmenter, tokenizer, CSV and JSONL readers and
//! the model loader on arbitrary bytes must never panic, and whatever they
//! accept must satisfy the contracts the rest of the pipeline relies on; the
//! tokenizer's stems must be rust-stemmers' stems; an
//! article file read in parts, and a sentence CSV read in batches, must
//! score as when read whole.
//!
//! `cargo test` runs each property with proptest's default number of cases;
//! `make fuzz` runs them with many more (`PROPTEST_CASES`), in release mode.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use proptest::prelude::*;
use stance::io::CrlfToLf;
use stance::io::Input;
use stance::labels::{read_labels, Classes};
use stance::model::{Model, TrainConfig};
use stance::score::{
    decode_record_line, load_csv, parse_jsonl_record, read_record_line, score_inputs, Event,
    Format, ScoreOptions,
};
use stance::segment::segment;
use stance::tokenize::{Tokenizer, TokenizerConfig};

/// A model trained once on the small fixture.
fn model() -> &'static Model {
    static MODEL: OnceLock<Model> = OnceLock::new();
    MODEL.get_or_init(|| {
        let classes = Classes::load(Path::new("labels/classes.txt")).unwrap();
        let labels = read_labels(&["tests/fixtures/small.csv".into()], &classes).unwrap();
        let mut config = TrainConfig::default();
        config.featurizer.min_df = stance::features::DfBound::Count(1);
        Model::train(&labels, &config, None).unwrap()
    })
}

/// Bytes that are often almost text: CSV and JSON punctuation, line ends,
/// quotes, a BOM, invalid UTF-8, NUL, multi-byte characters.
fn bytes_strategy() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..400),
        proptest::collection::vec(
            prop_oneof![
                "[A-Za-z ]{1,8}".prop_map(String::into_bytes),
                Just(b",".to_vec()),
                Just(b"\"".to_vec()),
                Just(b"\r\n".to_vec()),
                Just(b"\n".to_vec()),
                Just(b"\r".to_vec()),
                Just(b"\xEF\xBB\xBF".to_vec()),
                Just(b"\xFF".to_vec()),
                Just(b"\xE9".to_vec()),
                Just(b"\0".to_vec()),
                Just("李克強".as_bytes().to_vec()),
                Just(b"{\"doc_id\":".to_vec()),
                Just(b"\"text\":".to_vec()),
                Just(b"}".to_vec()),
                Just(b"'=".to_vec()),
                Just(b"doc_id,text,label\n".to_vec()),
                Just(b". ".to_vec()),
            ],
            0..60
        )
        .prop_map(|v| v.concat()),
    ]
}

/// The shipped model, whose off-topic gate names China and Russia.
fn shipped_model() -> &'static Model {
    static MODEL: OnceLock<Model> = OnceLock::new();
    MODEL.get_or_init(|| Model::load(Path::new("models/stance.json")).unwrap())
}

/// Article-like bytes that sometimes name China or Russia, mixed with
/// what [`bytes_strategy`] makes.
fn article_bytes() -> impl Strategy<Value = Vec<u8>> {
    proptest::collection::vec(
        prop_oneof![
            bytes_strategy(),
            Just(b"Beijing and Moscow met. ".to_vec()),
            Just(b"The match ended. ".to_vec()),
            Just("U.S. Inside 中俄关系很好。".as_bytes().to_vec()),
            Just(b"cent.Last \n".to_vec()),
        ],
        0..6,
    )
    .prop_map(|v| v.concat())
}

/// Scores the article file `path` with `options`: the output, the events
/// and the sentence and document counts.
fn score_file(path: &Path, options: ScoreOptions) -> (String, Vec<String>, (usize, usize)) {
    let mut out = Vec::new();
    let mut events = Vec::new();
    let input = article(path.to_path_buf());
    let summary = score_inputs(shipped_model(), &[input], &mut out, options, |e| {
        events.push(format!("{e:?}"))
    })
    .unwrap();
    let counts = (summary.sentences, summary.documents);
    (String::from_utf8(out).unwrap(), events, counts)
}

fn check_probabilities(p: &[f64]) -> Result<(), TestCaseError> {
    let sum: f64 = p.iter().sum();
    prop_assert!((sum - 1.0).abs() < 1e-9, "probabilities sum to {}", sum);
    prop_assert!(p.iter().all(|v| v.is_finite() && *v >= 0.0));
    Ok(())
}

proptest! {
    #[test]
    fn segmenter_and_tokenizer_take_any_text(bytes in bytes_strategy()) {
        let text = String::from_utf8_lossy(&bytes);
        let tokenizer = Tokenizer::new(TokenizerConfig::default());
        for span in segment(&text) {
            prop_assert!(span.start < span.end && span.end <= text.len());
            let tokens = tokenizer.tokens(span.text(&text));
            for t in tokens {
                prop_assert!(t.start <= t.end);
            }
        }
    }

    /// The tokenizer's own stemmer for ASCII words gives rust-stemmers'
    /// stems, on words as the tokenizer finds them in any text.
    #[test]
    fn tokenizer_stems_as_rust_stemmers(
        text in prop_oneof![
            bytes_strategy().prop_map(|b| String::from_utf8_lossy(&b).into_owned()),
            // Words ending in the suffixes the stemmer's steps look for.
            "([a-z0-9]{1,10}(ational|tional|enci|anci|abli|entli|izer|ization|ation|ator|alism|aliti|alli|fulness|ousli|ousness|iveness|iviti|biliti|bli|logi|ogi|fulli|lessli|[cdeghkmnrt]li|li|alize|icate|iciti|ical|ful|ness|ative|al|ance|ence|er|ic|able|ible|ant|ement|ment|ent|ism|ate|iti|ous|ive|ize|[st]ion|ion|e|ll|l){0,2}(sses|ied|ies|s|us|ss|eed|eedly|ed|edly|ing|ingly|y)? ){1,12}",
        ]
    ) {
        let tokenizer = Tokenizer::new(TokenizerConfig::default());
        let reference = rust_stemmers::Stemmer::create(rust_stemmers::Algorithm::English);
        for t in tokenizer.tokens(&text) {
            prop_assert_eq!(&t.stem, &reference.stem(&t.word), "{}", t.word);
        }
    }

    #[test]
    fn crlf_reader_drops_only_the_cr_of_crlf(bytes in bytes_strategy(), chunk in 1usize..9) {
        let mut got = Vec::new();
        let mut reader = CrlfToLf::new(&bytes[..]);
        let mut buf = vec![0u8; chunk];
        loop {
            let n = reader.read(&mut buf).unwrap();
            if n == 0 {
                break;
            }
            got.extend_from_slice(&buf[..n]);
        }
        let want = String::from_utf8_lossy(&bytes).replace("\r\n", "\n");
        if std::str::from_utf8(&bytes).is_ok() {
            prop_assert_eq!(String::from_utf8(got).unwrap(), want);
        }
    }

    #[test]
    fn csv_readers_take_any_bytes(bytes in bytes_strategy()) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f.csv");
        std::fs::write(&path, &bytes).unwrap();
        let mut warnings = Vec::new();
        if let Ok(docs) = load_csv(&path, &mut warnings) {
            for doc in docs {
                for span in &doc.spans {
                    prop_assert!(span.end <= doc.text.len());
                }
            }
        }
        // Each kind of warning once per file at most.
        for kind in ["not valid UTF-8", "never closed"] {
            let n = warnings.iter().filter(|w| w.contains(kind)).count();
            prop_assert!(n <= 1, "{} warnings of {:?}: {:?}", n, kind, warnings);
        }
        let classes = Classes::new(vec!["a".into(), "b".into()]).unwrap();
        let _ = read_labels(&[path], &classes);
    }

    #[test]
    fn sentence_csv_in_batches_reads_as_whole(
        bytes in bytes_strategy(),
        header in any::<bool>(),
        batch in 1usize..300,
    ) {
        // The runner cuts a sentence CSV into batches by a scan of its bytes
        // and parses them apart: the documents and warnings must be those of
        // the file read whole (or the same error).
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f.csv");
        let bytes = if header { [&b"doc_id,text\n"[..], &bytes].concat() } else { bytes };
        std::fs::write(&path, &bytes).unwrap();
        let mut warnings = Vec::new();
        let whole = load_csv(&path, &mut warnings);
        let options = ScoreOptions { threads: 2, batch_bytes: batch, ..ScoreOptions::default() };
        let mut events = Vec::new();
        let summary = score_inputs(model(), &[Input::Csv(path)], std::io::sink(), options, |e| {
            events.push(match e {
                Event::Warning { message, .. } => format!("warning {message}"),
                Event::Skipped { reason, .. } => format!("skipped {reason}"),
                Event::Scored { sentences, .. } => format!("scored {sentences}"),
                Event::Record { problem, .. } => format!("record {problem}"),
            })
        })
        .unwrap();
        let mut want: Vec<String> = warnings.iter().map(|w| format!("warning {w}")).collect();
        match whole {
            Ok(docs) => {
                let sentences = docs.iter().map(|d| d.spans.len()).sum::<usize>();
                prop_assert_eq!((summary.documents, summary.sentences), (docs.len(), sentences));
                let ids: Vec<&str> = summary.articles.iter().map(|a| a.doc_id.as_str()).collect();
                let want_ids: Vec<&str> = docs.iter().map(|d| d.doc_id.as_str()).collect();
                prop_assert_eq!(ids, want_ids);
                want.push(format!("scored {sentences}"));
            }
            Err(e) => want.push(format!("skipped {e}")),
        }
        prop_assert_eq!(events, want);
    }

    #[test]
    fn jsonl_reader_takes_any_bytes(bytes in bytes_strategy()) {
        let mut reader = &bytes[..];
        let mut line = Vec::new();
        let mut n = 0;
        while read_record_line(&mut reader, &mut line, 64).unwrap_or(false) {
            n += 1;
            let (text, _) = decode_record_line(&line);
            let _ = parse_jsonl_record(Path::new("-"), n, &text);
        }
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f.jsonl");
        std::fs::write(&path, &bytes).unwrap();
        let mut out = Vec::new();
        let options = ScoreOptions { format: Format::Jsonl, ..ScoreOptions::default() };
        score_inputs(model(), &[Input::Jsonl(path)], &mut out, options, |_| {}).unwrap();
        for row in String::from_utf8(out).unwrap().lines() {
            let row: serde_json::Value = serde_json::from_str(row).unwrap();
            let p: Vec<f64> = model()
                .classes()
                .iter()
                .map(|c| row[format!("p_{c}")].as_f64().unwrap())
                .collect();
            prop_assert!((p.iter().sum::<f64>() - 1.0).abs() < 1e-5);
        }
    }

    #[test]
    fn model_loader_refuses_or_loads_a_working_model(
        edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..4),
        cut in any::<prop::sample::Index>(),
        truncate in any::<bool>(),
    ) {
        static JSON: OnceLock<Vec<u8>> = OnceLock::new();
        let json = JSON.get_or_init(|| model().to_json().unwrap());
        let mut bytes = json.clone();
        for (at, byte) in edits {
            let i = at.index(bytes.len());
            bytes[i] = byte;
        }
        if truncate {
            bytes.truncate(cut.index(bytes.len()));
        }
        if let Ok(m) = Model::from_json(&bytes) {
            let x = m.featurizer().transform("Beijing and Moscow held joint drills.");
            check_probabilities(&m.predict(&x, 3).probabilities)?;
        }
    }

    #[test]
    fn article_files_read_in_parts_score_as_read_whole(
        bytes in article_bytes(),
        bom in any::<bool>(),
        batch in 1usize..48,
        threads in 1usize..4,
    ) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.txt");
        let bom: &[u8] = if bom { b"\xEF\xBB\xBF" } else { b"" };
        std::fs::write(&path, [bom, &bytes].concat()).unwrap();
        let whole = ScoreOptions { threads: 1, stream_above: u64::MAX, ..ScoreOptions::default() };
        let parts = ScoreOptions { threads, batch_bytes: batch, window: 2, stream_above: 0, ..whole };
        prop_assert_eq!(score_file(&path, parts), score_file(&path, whole));
    }

    #[test]
    fn model_loader_takes_any_bytes(bytes in bytes_strategy()) {
        let _ = Model::from_json(&bytes);
    }
}

/// An article file as a folder scan names it: its stem is its doc_id.
fn article(path: impl Into<PathBuf>) -> Input {
    let path = path.into();
    let doc_id = path.file_stem().unwrap().to_string_lossy().into_owned();
    Input::Article { path, doc_id }
}
