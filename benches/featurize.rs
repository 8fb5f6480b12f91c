//! Criterion benches of the hot path on real text.
//!
//! * `featurize/*`: segment-free featurizer throughput (tokenize → stem →
//!   n-grams → vocabulary lookup → TF-IDF → L2) over pre-split sentences of
//!   the seed articles and of a real news corpus, reported per byte and per
//!   sentence.
//! * `segment/*`: sentence splitting of whole articles (the seeds and the
//!   news corpus), per byte and per sentence found. An article file read in
//!   parts is split on the one thread that hands the parts out, so this
//!   bounds what more threads gain on a long article.
//! * `score/*`: end-to-end scoring of the seed articles (segment,
//!   featurize, predict, CSV rows), one thread, through the calls the
//!   runner's workers make for each document.
//! * `stem/*`: the stemmer for ASCII words (`tokenize::porter2`) and
//!   rust-stemmers' English stemmer on the same distinct lowercase words of
//!   the seeds and the news corpus, per word: what resolving a word the
//!   first time it is seen costs in stemming.
//!
//! The news corpus is read from `$STANCE_BENCH_CORPUS`, else from
//! `../shared/bench/news-articles.csv` (a CSV with a `text` column); when it
//! is absent the bench says so and measures the seeds only.

use std::path::{Path, PathBuf};

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use stance::features::SparseVec;
use stance::model::Model;
use stance::score::{Document, Format, ScoreOptions, Scorer};
use stance::segment::segment;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn model() -> Model {
    Model::load(&root().join("models/stance.json")).expect("models/stance.json (run `make train`)")
}

fn seed_texts() -> Vec<(String, String)> {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(root().join("seeds"))
        .expect("seeds/")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    paths.sort();
    paths
        .into_iter()
        .map(|p| {
            let id = p.file_stem().unwrap().to_string_lossy().into_owned();
            (id, std::fs::read_to_string(&p).expect("seed text"))
        })
        .collect()
}

fn sentences(texts: &[String]) -> Vec<String> {
    texts
        .iter()
        .flat_map(|t| segment(t).into_iter().map(move |s| s.text(t).to_string()))
        .collect()
}

fn news_corpus() -> Option<Vec<String>> {
    let path = std::env::var_os("STANCE_BENCH_CORPUS")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join("../shared/bench/news-articles.csv"));
    if !Path::new(&path).exists() {
        eprintln!(
            "news corpus not found at {} (set STANCE_BENCH_CORPUS to a CSV with a `text` column); benchmarking the seeds only",
            path.display()
        );
        return None;
    }
    let mut reader = csv::Reader::from_path(&path).expect("readable corpus CSV");
    let headers = reader.headers().expect("corpus header").clone();
    let col = headers
        .iter()
        .position(|h| h == "text")
        .expect("corpus has a `text` column");
    Some(
        reader
            .records()
            .filter_map(|r| r.ok().and_then(|r| r.get(col).map(String::from)))
            .collect(),
    )
}

fn bench_featurize(c: &mut Criterion) {
    let model = model();
    let mut inputs: Vec<(&str, Vec<String>)> = Vec::new();
    let seeds: Vec<String> = seed_texts().into_iter().map(|(_, t)| t).collect();
    inputs.push(("seeds", sentences(&seeds)));
    if let Some(news) = news_corpus() {
        inputs.push(("news-articles", sentences(&news)));
    }
    for (unit, per_byte) in [("bytes", true), ("sentences", false)] {
        let mut group = c.benchmark_group(format!("featurize/{unit}"));
        for (name, sents) in &inputs {
            let bytes: usize = sents.iter().map(String::len).sum();
            group.throughput(if per_byte {
                Throughput::Bytes(bytes as u64)
            } else {
                Throughput::Elements(sents.len() as u64)
            });
            group.bench_with_input(BenchmarkId::from_parameter(name), sents, |b, sents| {
                let mut t = model.featurizer().transformer();
                let mut x = SparseVec::default();
                b.iter(|| {
                    let mut nnz = 0;
                    for s in sents {
                        t.transform(s, &mut x);
                        nnz += x.nnz();
                    }
                    nnz
                });
            });
        }
        group.finish();
    }
}

fn bench_segment(c: &mut Criterion) {
    let mut inputs: Vec<(&str, Vec<String>)> = Vec::new();
    inputs.push(("seeds", seed_texts().into_iter().map(|(_, t)| t).collect()));
    if let Some(news) = news_corpus() {
        inputs.push(("news-articles", news));
    }
    for (unit, per_byte) in [("bytes", true), ("sentences", false)] {
        let mut group = c.benchmark_group(format!("segment/{unit}"));
        for (name, texts) in &inputs {
            group.throughput(if per_byte {
                Throughput::Bytes(texts.iter().map(|t| t.len() as u64).sum())
            } else {
                Throughput::Elements(texts.iter().map(|t| segment(t).len() as u64).sum())
            });
            group.bench_with_input(BenchmarkId::from_parameter(name), texts, |b, texts| {
                b.iter(|| texts.iter().map(|t| segment(t).len()).sum::<usize>());
            });
        }
        group.finish();
    }
}

fn bench_score(c: &mut Criterion) {
    let model = model();
    let docs: Vec<Document> = seed_texts()
        .into_iter()
        .map(|(id, text)| Document::from_text(id, text))
        .collect();
    let bytes: usize = docs.iter().map(|d| d.text.len()).sum();
    let mut group = c.benchmark_group("score");
    group.throughput(Throughput::Bytes(bytes as u64));
    group.bench_function("seeds/end-to-end", |b| {
        // As the runner's workers do: one scorer and its reused slots, each
        // document's rows made in one buffer by `write_document`.
        let mut scorer = Scorer::new(&model, ScoreOptions::default());
        let mut slots = Vec::new();
        b.iter(|| {
            let mut written = 0;
            for doc in &docs {
                let segmented = Document::from_text(doc.doc_id.clone(), doc.text.clone());
                let scored = scorer.score_document_into(&segmented, &mut slots);
                written += scorer.write_document(&segmented, scored, Format::Csv).len();
            }
            written
        });
    });
    group.finish();
}

fn bench_stem(c: &mut Criterion) {
    let distinct = |texts: &[String]| -> Vec<String> {
        let mut words = std::collections::BTreeSet::new();
        for text in texts {
            for word in text.split(|c: char| !c.is_alphanumeric()) {
                let word = word.to_lowercase();
                if !word.is_empty() && word.bytes().all(|b| b.is_ascii_alphanumeric()) {
                    words.insert(word);
                }
            }
        }
        words.into_iter().collect()
    };
    let mut inputs: Vec<(&str, Vec<String>)> = Vec::new();
    let seeds: Vec<String> = seed_texts().into_iter().map(|(_, t)| t).collect();
    inputs.push(("seeds", distinct(&seeds)));
    if let Some(news) = news_corpus() {
        inputs.push(("news-articles", distinct(&news)));
    }
    let mut group = c.benchmark_group("stem");
    for (name, words) in &inputs {
        group.throughput(Throughput::Elements(words.len() as u64));
        group.bench_with_input(BenchmarkId::new("porter2", name), words, |b, words| {
            let mut out = String::new();
            b.iter(|| {
                let mut n = 0;
                for w in words {
                    stance::tokenize::porter2::stem_into(w, &mut out);
                    n += out.len();
                }
                n
            });
        });
        group.bench_with_input(
            BenchmarkId::new("rust-stemmers", name),
            words,
            |b, words| {
                let stemmer = rust_stemmers::Stemmer::create(rust_stemmers::Algorithm::English);
                b.iter(|| words.iter().map(|w| stemmer.stem(w).len()).sum::<usize>());
            },
        );
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().measurement_time(std::time::Duration::from_secs(4));
    targets = bench_featurize, bench_segment, bench_score, bench_stem
}
criterion_main!(benches);
