//! Side-by-side measurement against scikit-learn, driven by `benches/peer.py`
//! (`make bench-peer`).
//!
//! * `export DIR` writes the sentences both sides use: `train.txt` (every
//!   labelled sentence in `labels/`, the vocabulary is fitted on these) with
//!   their labels in `train_labels.txt`, `test.txt` (the news corpus,
//!   segmented; transformed and timed), the same sentences as a sentence
//!   CSV `test.csv` (`doc_id` = the article's row number, for the end-to-end
//!   comparison) and `settings.json` (stop words and TF-IDF settings of the
//!   shipped model).
//! * `measure DIR [REPEATS]` fits stance's featurizer on `train.txt` and
//!   times single-threaded transforms of `test.txt`, best of REPEATS, with
//!   the plain settings scikit-learn also has and with the shipped model's
//!   settings (actor, cue and negation stages); prints one JSON line.
//! * `vectors DIR` prints the TF-IDF vectors of `test.txt` (first 200
//!   sentences) as JSON, for the agreement check.
//!
//! The corpus is `$STANCE_BENCH_CORPUS` or `../shared/bench/news-articles.csv`.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

use stance::features::SparseVec;
use stance::model::TrainConfig;
use stance::segment::segment;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn fail(msg: String) -> ! {
    eprintln!("peer: {msg}");
    std::process::exit(2)
}

fn corpus_path() -> PathBuf {
    std::env::var_os("STANCE_BENCH_CORPUS")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join("../shared/bench/news-articles.csv"))
}

fn lines(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap_or_else(|e| fail(format!("{}: {e}", path.display())))
        .lines()
        .map(String::from)
        .collect()
}

fn export(dir: &Path) {
    std::fs::create_dir_all(dir).unwrap_or_else(|e| fail(format!("{}: {e}", dir.display())));
    let classes = stance::labels::Classes::load(&root().join("labels/classes.txt"))
        .unwrap_or_else(|e| fail(e.to_string()));
    let files = stance::labels::expand_paths(&[root().join("labels")])
        .unwrap_or_else(|e| fail(e.to_string()));
    let labels =
        stance::labels::read_labels(&files, &classes).unwrap_or_else(|e| fail(e.to_string()));
    let train: Vec<String> = labels
        .rows
        .iter()
        .map(|r| r.text.replace('\n', " "))
        .collect();
    let corpus = corpus_path();
    let mut reader = csv::Reader::from_path(&corpus).unwrap_or_else(|e| {
        fail(format!(
            "news corpus {}: {e} (set STANCE_BENCH_CORPUS to a CSV with a `text` column)",
            corpus.display()
        ))
    });
    let headers = reader.headers().cloned().unwrap_or_default();
    let col = headers
        .iter()
        .position(|h| h == "text")
        .unwrap_or_else(|| fail(format!("{}: no `text` column", corpus.display())));
    let mut test = Vec::new();
    let mut test_csv = csv::Writer::from_path(dir.join("test.csv"))
        .unwrap_or_else(|e| fail(format!("{}: {e}", dir.display())));
    let _ = test_csv.write_record(["doc_id", "text"]);
    for (row, record) in reader.records().filter_map(|r| r.ok()).enumerate() {
        let text = record.get(col).unwrap_or("");
        for span in segment(text) {
            let sentence = span.text(text).replace(['\n', '\r'], " ");
            test_csv
                .write_record([row.to_string().as_str(), &sentence])
                .unwrap_or_else(|e| fail(e.to_string()));
            test.push(sentence);
        }
    }
    test_csv.flush().unwrap_or_else(|e| fail(e.to_string()));
    let write = |name: &str, rows: &[String]| {
        let mut f = std::io::BufWriter::new(
            std::fs::File::create(dir.join(name)).unwrap_or_else(|e| fail(e.to_string())),
        );
        for r in rows {
            writeln!(f, "{r}").unwrap_or_else(|e| fail(e.to_string()));
        }
    };
    write("train.txt", &train);
    let train_labels: Vec<String> = labels
        .rows
        .iter()
        .map(|r| classes.names()[r.label].clone())
        .collect();
    write("train_labels.txt", &train_labels);
    write("test.txt", &test);
    let config = TrainConfig::default().featurizer;
    let settings = serde_json::json!({
        "stop_words": config.tokenizer.stop_words,
        "ngram_range": [config.ngram_range.0, config.ngram_range.1],
        "min_df": config.min_df,
        "max_df": config.max_df,
        "sublinear_tf": config.sublinear_tf,
        "corpus": corpus.display().to_string(),
    });
    std::fs::write(dir.join("settings.json"), settings.to_string())
        .unwrap_or_else(|e| fail(e.to_string()));
    eprintln!(
        "peer: exported {} training and {} test sentences to {}",
        train.len(),
        test.len(),
        dir.display()
    );
}

fn time_featurizer(
    settings: &stance::features::TfIdfVectorizer,
    train: &[String],
    test: &[String],
    repeats: usize,
) -> serde_json::Value {
    let fitted = settings.fit(train).unwrap_or_else(|e| fail(e.to_string()));
    let mut t = fitted.transformer();
    let mut x = SparseVec::default();
    let mut best = f64::INFINITY;
    let mut nnz = 0;
    for _ in 0..repeats.max(1) {
        let start = Instant::now();
        nnz = 0;
        for s in test {
            t.transform(s, &mut x);
            nnz += x.nnz();
        }
        best = best.min(start.elapsed().as_secs_f64());
    }
    serde_json::json!({"seconds": best, "vocabulary": fitted.n_features(), "nnz": nnz})
}

fn measure(dir: &Path, repeats: usize) {
    let train = lines(&dir.join("train.txt"));
    let test = lines(&dir.join("test.txt"));
    let bytes: usize = test.iter().map(String::len).sum();
    // Like for like with scikit-learn: no lexicon stages.
    let plain = time_featurizer(&TrainConfig::default().featurizer, &train, &test, repeats);
    // The shipped model's settings: actors, cues (and negation if chosen).
    let shipped = stance::model::Model::load(&root().join("models/stance.json"))
        .map(|m| m.config().featurizer.clone())
        .unwrap_or_else(|e| fail(e.to_string()));
    let shipped = time_featurizer(&shipped, &train, &test, repeats);
    println!(
        "{}",
        serde_json::json!({
            "sentences": test.len(),
            "bytes": bytes,
            "plain": plain,
            "shipped": shipped,
        })
    );
}

fn vectors(dir: &Path) {
    let train = lines(&dir.join("train.txt"));
    let test = lines(&dir.join("test.txt"));
    let fitted = TrainConfig::default()
        .featurizer
        .fit(&train)
        .unwrap_or_else(|e| fail(e.to_string()));
    let rows: Vec<serde_json::Value> = test
        .iter()
        .take(200)
        .map(|s| {
            let v = fitted.transform(s);
            let terms: Vec<(String, f64)> = v
                .iter()
                .map(|(i, x)| (fitted.vocabulary()[i].clone(), x))
                .collect();
            serde_json::json!(terms)
        })
        .collect();
    println!(
        "{}",
        serde_json::json!({"vocabulary": fitted.vocabulary(), "rows": rows})
    );
}

fn main() {
    // `cargo bench` appends `--bench`; ignore it and any other flag.
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    match args
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .as_slice()
    {
        ["export", dir] => export(Path::new(dir)),
        ["measure", dir] => measure(Path::new(dir), 5),
        ["measure", dir, n] => measure(Path::new(dir), n.parse().unwrap_or(5)),
        ["vectors", dir] => vectors(Path::new(dir)),
        [] => eprintln!("peer: run through `make bench-peer` (benches/peer.py)"),
        other => fail(format!("unknown arguments {other:?}")),
    }
}
