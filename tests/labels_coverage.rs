//! The shipped labels cover their articles exactly, and every article is
//! traceable to what it restates.
//!
//! Labelled articles are the seed articles (`seeds/*.txt`) and the restated
//! articles of `labels/articles/*.txt`; a label row's `doc_id` is the file
//! stem of one of them. Every sentence the segmenter yields from an article
//! has exactly one label, every label row is a sentence of its article, and
//! every `doc_id` has a row in `labels/sources.csv`. Rows that `stance review
//! apply` adds (`labels/reviewed.csv`) come from articles outside the
//! repository and are checked for validity only.

mod common;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::PathBuf;

use common::*;
use stance::labels::{expand_paths, read_labels, Classes, LabelSet};
use stance::segment::segment;

fn load() -> LabelSet {
    let classes = Classes::load(&root().join("labels/classes.txt")).unwrap();
    let files = expand_paths(&[root().join("labels")]).unwrap();
    // read_labels fails on an unknown label or on a text with two labels.
    read_labels(&files, &classes).expect("labels are valid")
}

/// Every labelled article: doc_id → file.
fn articles() -> BTreeMap<String, PathBuf> {
    let mut files = seed_files();
    let dir = root().join("labels/articles");
    if let Ok(entries) = std::fs::read_dir(&dir) {
        files.extend(
            entries
                .map(|e| e.unwrap().path())
                .filter(|p| p.extension().is_some_and(|e| e == "txt")),
        );
    }
    files
        .into_iter()
        .map(|p| (p.file_stem().unwrap().to_string_lossy().into_owned(), p))
        .collect()
}

fn is_reviewed(row: &stance::labels::LabeledRow) -> bool {
    row.path.file_name().is_some_and(|n| n == "reviewed.csv")
}

#[test]
fn classes_are_the_four_of_the_guidelines() {
    let classes = Classes::load(&root().join("labels/classes.txt")).unwrap();
    assert_eq!(
        classes.names(),
        ["convergence", "divergence", "western_pressure", "other"]
    );
}

#[test]
fn every_article_sentence_has_exactly_one_label_and_no_label_is_stray() {
    let labels = load();
    let articles = articles();
    // The shared opening article of 000_ and 001_ is labelled once, under
    // 000_, so a sentence is looked up across all articles.
    let mut by_text: HashMap<&str, Vec<(&str, usize)>> = HashMap::new();
    for row in labels.rows.iter().filter(|r| !is_reviewed(r)) {
        by_text
            .entry(row.text.as_str())
            .or_default()
            .push((row.doc_id.as_str(), row.label));
    }
    let mut yielded: HashMap<String, BTreeSet<String>> = HashMap::new();
    let mut unlabelled = Vec::new();
    for (doc_id, path) in &articles {
        let text = std::fs::read_to_string(path).unwrap();
        for span in segment(&text) {
            let sentence = span.text(&text);
            yielded
                .entry(sentence.to_string())
                .or_default()
                .insert(doc_id.clone());
            match by_text.get(sentence) {
                Some(l) if l.len() == 1 => {}
                Some(l) => panic!("{sentence:?} has {} labels: {l:?}", l.len()),
                None => unlabelled.push(format!("{}: {sentence}", path.display())),
            }
        }
    }
    assert!(
        unlabelled.is_empty(),
        "{} unlabelled sentences:\n{}",
        unlabelled.len(),
        unlabelled.join("\n")
    );
    let mut stray = Vec::new();
    for (text, rows) in &by_text {
        for (doc_id, _) in rows {
            if !yielded
                .get(*text)
                .is_some_and(|docs| docs.contains(*doc_id))
            {
                stray.push(format!("{doc_id}: {text}"));
            }
        }
    }
    assert!(
        stray.is_empty(),
        "label rows that are not a sentence of their article:\n{}",
        stray.join("\n")
    );
}

#[test]
fn every_doc_id_is_an_article_with_a_source_and_every_class_is_used() {
    let labels = load();
    let articles = articles();
    let mut reader = csv::Reader::from_path(root().join("labels/sources.csv")).unwrap();
    let header = reader.headers().unwrap().clone();
    assert_eq!(
        header.iter().collect::<Vec<_>>(),
        ["doc_id", "url", "publication", "kind", "date"]
    );
    let mut sources = BTreeSet::new();
    for record in reader.records() {
        let record = record.unwrap();
        assert!(
            !record[2].trim().is_empty() && !record[3].trim().is_empty(),
            "source row without publication or kind: {record:?}"
        );
        assert!(
            sources.insert(record[0].to_string()),
            "{} has two source rows",
            &record[0]
        );
    }
    for row in labels.rows.iter().filter(|r| !is_reviewed(r)) {
        assert!(
            articles.contains_key(&row.doc_id),
            "{}:{}: doc_id {} is neither a seed nor a file in labels/articles",
            row.path.display(),
            row.line,
            row.doc_id
        );
        assert!(
            sources.contains(&row.doc_id),
            "{}:{}: doc_id {} has no row in labels/sources.csv",
            row.path.display(),
            row.line,
            row.doc_id
        );
    }
    for doc_id in articles.keys() {
        assert!(sources.contains(doc_id), "{doc_id} has no source row");
    }
    assert!(
        labels.counts().iter().all(|&n| n > 0),
        "{:?}",
        labels.counts()
    );
}

#[test]
fn the_shared_opening_article_is_labelled_once() {
    let labels = load();
    let shared = "One of the most striking features of international relations during this period has been the new warmth in bilateral ties.";
    let rows: Vec<_> = labels.rows.iter().filter(|r| r.text == shared).collect();
    assert_eq!(rows.len(), 1);
    assert!(rows[0].doc_id.starts_with("000_"));
}
