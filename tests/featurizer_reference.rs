//! The optimised featurizer (word cache keyed by raw bytes, integer stem ids,
//! packed n-gram keys, direct unigram table) must produce exactly the vectors
//! of a straightforward string-based implementation.

mod common;

use std::collections::HashMap;

use common::*;
use stance::features::{DfBound, FittedTfIdfVectorizer, TfIdfVectorizer};
use stance::segment::segment;
use stance::tokenize::TokenizerConfig;

/// Tokens → stem strings → n-gram strings → vocabulary lookup by string →
/// counts → (sublinear) tf × idf → L2. No caches, no ids.
fn reference(fitted: &FittedTfIdfVectorizer, sentence: &str) -> Vec<(usize, f64)> {
    let index: HashMap<&str, usize> = fitted
        .vocabulary()
        .iter()
        .enumerate()
        .map(|(i, t)| (t.as_str(), i))
        .collect();
    let stems: Vec<String> = fitted
        .tokenizer()
        .tokens(sentence)
        .into_iter()
        .map(|t| t.stem)
        .collect();
    let (lo, hi) = fitted.config().ngram_range;
    let mut counts: HashMap<usize, usize> = HashMap::new();
    for n in lo..=hi {
        for gram in stems.windows(n) {
            if let Some(&i) = index.get(gram.join(" ").as_str()) {
                *counts.entry(i).or_default() += 1;
            }
        }
    }
    let mut v: Vec<(usize, f64)> = counts
        .into_iter()
        .map(|(i, c)| {
            let tf = if fitted.config().sublinear_tf {
                1.0 + (c as f64).ln()
            } else {
                c as f64
            };
            (i, tf * fitted.idf()[i])
        })
        .collect();
    v.sort_by_key(|&(i, _)| i);
    let norm = v.iter().map(|(_, x)| x * x).sum::<f64>().sqrt();
    if norm > 0.0 {
        for (_, x) in &mut v {
            *x /= norm;
        }
    }
    v
}

fn seed_sentences() -> Vec<String> {
    let mut out = Vec::new();
    for path in seed_files() {
        let text = std::fs::read_to_string(path).unwrap();
        out.extend(segment(&text).iter().map(|s| s.text(&text).to_string()));
    }
    out.extend(
        [
            "",
            "the of and",
            "RUSSIA russia Russia’s RUSSIAN",
            "李克強 met 習近平 — “again”…",
            "Sanctions sanctions SANCTIONS, sanctioned!",
            "x y z 1 2 3",
        ]
        .map(String::from),
    );
    out
}

fn check(settings: TfIdfVectorizer) {
    let sentences = seed_sentences();
    let fitted = settings.fit(&sentences[..200]).unwrap();
    let mut t = fitted.transformer();
    let mut x = stance::features::SparseVec::default();
    // Twice over, so the second pass runs entirely from the word cache.
    for pass in 0..2 {
        for s in &sentences {
            t.transform(s, &mut x);
            let want = reference(&fitted, s);
            let got: Vec<(usize, f64)> = x.iter().collect();
            assert_eq!(
                got.iter().map(|p| p.0).collect::<Vec<_>>(),
                want.iter().map(|p| p.0).collect::<Vec<_>>(),
                "pass {pass}: features differ for {s:?}"
            );
            for ((_, a), (_, b)) in got.iter().zip(&want) {
                assert!((a - b).abs() < 1e-12, "pass {pass}: {a} vs {b} for {s:?}");
            }
        }
    }
}

#[test]
fn shipped_settings_match_the_reference() {
    check(stance::model::TrainConfig::default().featurizer);
}

#[test]
fn other_settings_match_the_reference() {
    check(
        TfIdfVectorizer::default()
            .ngram_range(1, 3)
            .sublinear_tf(false),
    );
    check(
        TfIdfVectorizer::default()
            .ngram_range(2, 2)
            .min_df(DfBound::Count(2)),
    );
    check(TfIdfVectorizer::default().tokenizer(TokenizerConfig {
        stop_words: vec![],
        stem: false,
    }));
}
