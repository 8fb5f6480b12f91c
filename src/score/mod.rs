//! Batch scoring: inputs → documents → scored sentences → rows.
//!
//! Has the responsibility to score every sentence of every input and write
//! one row per sentence in input order. It has these parts, one file each:
//!
//! | part | file | from → to |
//! |---|---|---|
//! | input | `input.rs` | files, sentence CSVs, JSONL records → [`Document`]s |
//! | large files | `stream.rs` | an article file too large to hold whole → [`Document`]s of consecutive sentences |
//! | runner | `runner.rs` | documents → [`Scored`] sentences, in parallel, in input order, memory bounded, for every input format |
//! | output | `output.rs` | scored sentences → CSV or JSON rows, per-article [`DocSummary`] |
//! | measurement | `offtopic.rs` | off-topic articles → the share that gets a stance label |
//!
//! A new input format is a reader in `input.rs`, a new output format a
//! writer in `output.rs`; the runner does not change.

mod input;
mod offtopic;
mod output;
mod runner;
mod stream;

pub use input::{
    decode, decode_document, decode_record_line, doc_id_of, load, load_article_csv, load_csv,
    parse_jsonl_record, read_record_line, record_document, Document, Loaded, RecordLines,
    SentenceCsv,
};
pub use offtopic::measure_off_topic;
pub(crate) use output::{finish_rows, header_bytes, row_buffer};
pub use output::{header, write_header, write_summary, DocSummary, Format};
pub use runner::{
    for_each_input, score_inputs, score_inputs_keeping, Event, ScoreOptions, Scored, Scorer,
    Summary, BATCH_BYTES, OFF_TOPIC_EVIDENCE,
};
pub use stream::STREAM_ABOVE;
