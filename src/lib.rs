//! # stance
//!
//! Per-sentence claim tagging for coverage of China–Russia relations. Each
//! sentence of an article is labelled with one of the classes declared in
//! `labels/classes.txt` — by default `convergence`, `divergence`,
//! `western_pressure` and `other` — with class probabilities and the terms
//! that decided it.
//!
//! The pipeline has one module per stage, and imports flow one way: each
//! module uses only the modules above it in this table, so the import graph
//! of `src/` is a chain with no cycle.
//!
//! | stage | module | from → to |
//! |---|---|---|
//! | errors | [`error`] | one error type, variants that carry the file, line and value |
//! | files | [`io`] | atomic writes, output targets, input discovery, spreadsheet-cell protection |
//! | memory | [`memory`] | the CLI's allocator: large freed buffers kept for the next article |
//! | bytes | [`swar`] | eight bytes of text at once → masks of the bytes in a class |
//! | segment | [`segment`] | article text → sentence byte spans |
//! | tokenize | [`tokenize`] | sentence → lowercased words → stems |
//! | lexicon | [`lexicon`] | actor and cue phrases → canonical tokens, cue counts |
//! | features | [`features`] | stems → n-grams → sparse TF-IDF vector |
//! | labels | [`labels`] | labelled CSV → validated rows of declared classes |
//! | metrics | [`metrics`] | true and predicted classes → precision, recall, F1, confusion |
//! | model | [`model`] | TF-IDF rows → classifier; vector → probabilities and evidence; the model file and its provenance |
//! | select | [`select`] | folds, cross-validation, evaluation, grid search, ablation |
//! | score | [`score`] | inputs → documents → scored sentences → CSV/JSONL rows and summaries, in parallel, in input order |
//! | review | [`review`] | the least certain sentences to review; reviewed rows → label rows |
//! | report | [`report`] | model card, SVG charts, the HTML report of a scored batch |
//!
//! The data that flows between them:
//!
//! ```text
//! text ─segment─► Span{start,end} ─tokenize/lexicon/features─► SparseVec ─model─► Prediction
//!   labels/*.csv ─labels─► LabelSet ─select─► TrainConfig, CvReport ─model─► Model (+ model file)
//!   paths ─io─► Input ─score::input─► Document ─score::runner─► Scored ─score::output─► rows, DocSummary
//!   rows + review column ─review─► label rows     Model, Metrics, DocSummary, Batch ─report─► Markdown, SVG, HTML
//! ```
//!
//! Where new things go: a new input format is a file in `score/input/`
//! called from `score/input.rs` (and, if it is found by folder scanning, an
//! extension in [`io::ArticleFormat`] and [`io::discover`]); a
//! new output format is a writer in `score/output.rs`; a new picture or page
//! is a file in `report/`. The command line (`src/main.rs`) only parses
//! arguments, calls these modules and maps errors to exit codes.
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

pub mod error;
pub mod features;
pub mod io;
pub mod labels;
pub mod lexicon;
pub mod memory;
pub mod metrics;
pub mod model;
pub mod report;
pub mod review;
pub mod score;
pub mod segment;
pub mod select;
pub mod swar;
pub mod tokenize;

#[cfg(test)]
pub(crate) mod testutil;
