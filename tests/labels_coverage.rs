//! The shipped labels cover the seed articles exactly: every sentence the
//! segmenter yields has one label, and every label row is such a sentence.

mod common;

use std::collections::{BTreeSet, HashMap};

use common::*;
use stance::labels::{expand_paths, read_labels, Classes};
use stance::segment::segment;

fn load() -> stance::labels::LabelSet {
    let classes = Classes::load(&root().join("labels/classes.txt")).unwrap();
    let files = expand_paths(&[root().join("labels")]).unwrap();
    // read_labels fails on an unknown label or on a text with two labels.
    read_labels(&files, &classes).expect("labels are valid")
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
fn every_seed_sentence_has_exactly_one_label_and_no_label_is_stray() {
    let labels = load();
    let mut by_text: HashMap<&str, Vec<usize>> = HashMap::new();
    for row in &labels.rows {
        by_text
            .entry(row.text.as_str())
            .or_default()
            .push(row.label);
    }
    let mut yielded = BTreeSet::new();
    let mut unlabelled = Vec::new();
    for path in seed_files() {
        let text = std::fs::read_to_string(&path).unwrap();
        for span in segment(&text) {
            let sentence = span.text(&text);
            yielded.insert(sentence.to_string());
            match by_text.get(sentence) {
                Some(l) if l.len() == 1 => {}
                Some(l) => panic!("{sentence:?} has {} labels", l.len()),
                None => unlabelled.push(format!("{}: {sentence}", path.display())),
            }
        }
    }
    assert!(
        unlabelled.is_empty(),
        "unlabelled sentences:\n{}",
        unlabelled.join("\n")
    );
    let stray: Vec<&str> = by_text
        .keys()
        .filter(|t| !yielded.contains(**t))
        .copied()
        .collect();
    assert!(
        stray.is_empty(),
        "label rows the segmenter does not yield: {stray:?}"
    );
}

#[test]
fn doc_ids_are_seed_file_stems_and_every_class_is_used() {
    let labels = load();
    let stems: BTreeSet<String> = seed_files()
        .iter()
        .map(|p| p.file_stem().unwrap().to_string_lossy().into_owned())
        .collect();
    for row in &labels.rows {
        assert!(stems.contains(&row.doc_id), "unknown doc_id {}", row.doc_id);
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
