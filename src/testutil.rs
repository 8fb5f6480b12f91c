//! Fixtures shared by the unit tests of several modules.

use crate::labels::{Classes, LabelSet, LabeledRow};

/// A label set of `(doc_id, text, class index)` rows over `classes`.
pub(crate) fn label_set(classes: &[&str], rows: &[(&str, &str, usize)]) -> LabelSet {
    LabelSet {
        classes: Classes::new(classes.iter().map(|c| c.to_string()).collect()).unwrap(),
        rows: rows
            .iter()
            .enumerate()
            .map(|(i, (d, t, l))| LabeledRow {
                doc_id: d.to_string(),
                text: t.to_string(),
                label: *l,
                path: "fixture.csv".into(),
                line: i as u64 + 2,
            })
            .collect(),
        duplicates: 0,
    }
}

/// Nine sentences of three made-up articles in three classes.
pub(crate) fn toy() -> LabelSet {
    label_set(
        &["pos", "neg", "neutral"],
        &[
            ("d1", "ties warm and cooperation deepens", 0),
            ("d1", "trust falls and rivalry grows", 1),
            ("d1", "the weather is mild", 2),
            ("d2", "cooperation and warm ties again", 0),
            ("d2", "rivalry and distrust persist", 1),
            ("d2", "a byline and a caption", 2),
            ("d3", "warm cooperation on energy", 0),
            ("d3", "distrust and rivalry on borders", 1),
            ("d3", "caption of a photo", 2),
        ],
    )
}
