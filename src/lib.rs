//! # stance
//!
//! Per-sentence claim tagging for coverage of China–Russia relations. Each
//! sentence of an article is labelled with one of the classes declared in
//! `labels/classes.txt` — by default `convergence`, `divergence`,
//! `western_pressure` and `other` — with class probabilities and the terms
//! that decided it.
//!
//! The pipeline has one module per stage; no stage knows the next one:
//!
//! | stage | module | from → to |
//! |---|---|---|
//! | segment | [`segment`] | article text → sentence byte spans |
//! | tokenize | [`tokenize`] | sentence → lowercased words → stems |
//! | lexicon | [`lexicon`] | actor and cue phrases → canonical tokens, cue counts |
//! | features | [`features`] | stems → n-grams → sparse TF-IDF vector |
//! | model | [`model`] | TF-IDF vector → class probabilities, evidence; the model file |
//! | labels | [`labels`] | labelled CSV → validated rows |
//! | select | [`select`] | grid search and ablation by grouped cross-validation |
//! | score | [`score`] | inputs → CSV rows, in parallel, in input order |
//! | report | [`report`] | metrics, confusion matrix, model card |
//! | chart | [`chart`] | SVG pictures: labels per article, confusion matrix |
//! | review | [`review`] | reviewed predictions → label rows |
//! | io | [`io`] | atomic writes, input discovery |
//!
//! ```
//! use stance::labels::{Classes, LabeledRow, LabelSet};
//! use stance::model::{Model, TrainConfig};
//! use stance::segment::segment;
//!
//! let classes = Classes::new(vec!["together".into(), "apart".into()]).unwrap();
//! let rows = [
//!     ("a", "Moscow and Beijing held joint naval exercises.", 0),
//!     ("a", "Russia remains wary of Chinese influence in Central Asia.", 1),
//!     ("b", "The two navies began a joint patrol.", 0),
//!     ("b", "Distrust between Moscow and Beijing persists.", 1),
//! ];
//! let labels = LabelSet {
//!     classes,
//!     rows: rows
//!         .iter()
//!         .enumerate()
//!         .map(|(i, (doc, text, label))| LabeledRow {
//!             doc_id: doc.to_string(),
//!             text: text.to_string(),
//!             label: *label,
//!             path: "example.csv".into(),
//!             line: i as u64 + 2,
//!         })
//!         .collect(),
//!     duplicates: 0,
//! };
//! let mut config = TrainConfig::default();
//! config.featurizer.min_df = stance::features::DfBound::Count(1);
//! let model = Model::train(&labels, &config, None).unwrap();
//!
//! let article = "Beijing and Moscow announced a joint patrol. Old distrust persists.";
//! for span in segment(article) {
//!     let x = model.featurizer().transform(span.text(article));
//!     let p = model.predict(&x, 2);
//!     println!("{} → {}", span.text(article), model.classes()[p.label]);
//! }
//! ```
#![deny(missing_docs)]

pub mod chart;
pub mod error;
pub mod features;
pub mod io;
pub mod labels;
pub mod lexicon;
pub mod model;
pub mod report;
pub mod review;
pub mod score;
pub mod segment;
pub mod select;
pub mod tokenize;
