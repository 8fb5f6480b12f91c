//! Batch scoring: inputs → documents → scored sentences → rows.
//!
//! Has the responsibility to score every sentence of every input and write
//! one row per sentence in input order. It has these parts, one file each:
//!
//! | part | file | from → to |
//! |---|---|---|
//! | input | `input.rs` (`input/markdown.rs`, `input/html.rs`, `input/sentences.rs`) | text, Markdown and HTML files, sentence CSVs, JSONL records → [`Document`]s |
//! | large files | `stream.rs` | an article file too large to hold whole → [`Document`]s of consecutive sentences |
//! | runner | `runner.rs` | documents → [`Scored`] sentences, in parallel, in input order, memory bounded, for every input format |
//! | output | `output.rs` | scored sentences → CSV or JSON rows, per-article [`DocSummary`] |
//! | spreadsheets | `spreadsheet.rs` | predictions CSV → xlsx review workbook, CSV for Excel; either read back |
//! | measurement | `offtopic.rs` | off-topic articles → the share that gets a stance label |
//!
//! A new input format is a reader in `input/`, a new output format a
//! writer in `output.rs`; the runner does not change.

mod input;
mod offtopic;
mod output;
mod runner;
mod spreadsheet;
mod stream;

pub use input::{
    clean_date, decode, decode_article, decode_document, decode_record_line, doc_id_of,
    extract_page, load_article, load_article_csv, load_csv, normalize_date, parse_jsonl_record,
    read_record_line, record_document, strip_markdown, Document, Loaded, Page, Piece, RecordLines,
    SentenceCsv, Stripped, LONG_BATCHES,
};
pub use offtopic::measure_off_topic;
pub(crate) use output::header_bytes;
pub use output::{header, write_header, write_summary, DocSummary, Format};
pub use runner::{
    for_each_input, for_each_input_after, score_inputs, score_inputs_keeping, Event, ReadAhead,
    ScoreOptions, Scored, Scorer, Summary, BATCH_BYTES, OFF_TOPIC_EVIDENCE, WINDOW_BYTES,
};
pub use spreadsheet::{
    is_workbook, write_workbook, ExcelCsv, PredictionRows, XlsxWriter, MAX_SHEET_ROWS,
};
pub use stream::STREAM_ABOVE;
