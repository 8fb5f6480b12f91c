//! Inputs → documents: article files, sentence CSVs and JSONL records.
//!
//! Has the responsibility to read one input and hand back documents whose
//! sentence spans point into their text. A file's bytes are decoded once
//! here: a UTF-8 byte-order mark is dropped (offsets still count it), binary
//! data (NUL bytes) is refused, and invalid UTF-8 becomes U+FFFD with a
//! warning. A new input format is a reader in this file.

use std::io::Read;
use std::path::Path;

use crate::error::{Error, Result};
use crate::io::{unprotect_cell, Input};
use crate::labels::{column_indices, for_each_record};
use crate::segment::{segment, Span};

/// One article ready to score: its text and the sentence spans in it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Document {
    /// Article id (the file stem, the CSV's `doc_id`, or `stdin`).
    pub doc_id: String,
    /// The text the spans point into.
    pub text: String,
    /// Sentence spans in `text`.
    pub spans: Vec<Span>,
    /// Whether spans are offsets into a source file (false for CSV rows).
    pub has_offsets: bool,
    /// Bytes dropped from the front of the source before `text` (a UTF-8
    /// byte-order mark); added to spans when offsets are written.
    pub base_offset: usize,
    /// The article's date as the input gave it (a sentence CSV's `date`
    /// column, a JSONL record's `date` field), trimmed; `None` when absent
    /// or empty. Only the HTML report reads it (it expects `YYYY-MM-DD`);
    /// the predictions file does not carry it.
    pub date: Option<String>,
}

impl Document {
    /// Segments raw article text.
    pub fn from_text(doc_id: impl Into<String>, text: String) -> Document {
        let spans = segment(&text);
        Document {
            doc_id: doc_id.into(),
            text,
            spans,
            has_offsets: true,
            base_offset: 0,
            date: None,
        }
    }

    /// Builds a document whose sentences are given (one per item).
    pub fn from_sentences<S: AsRef<str>>(doc_id: impl Into<String>, sentences: &[S]) -> Document {
        let mut text = String::new();
        let mut spans = Vec::with_capacity(sentences.len());
        for s in sentences {
            let s = s.as_ref();
            let start = text.len();
            text.push_str(s);
            spans.push(Span {
                start,
                end: text.len(),
            });
            text.push('\n');
        }
        Document {
            doc_id: doc_id.into(),
            text,
            spans,
            has_offsets: false,
            base_offset: 0,
            date: None,
        }
    }
}

/// The documents read from one input, and any warnings about it.
#[derive(Debug, Default)]
pub struct Loaded {
    /// Documents in input order.
    pub documents: Vec<Document>,
    /// Problems that did not stop the input from being scored.
    pub warnings: Vec<String>,
}

/// The UTF-8 byte-order mark.
const BOM: &[u8] = b"\xEF\xBB\xBF";

/// Decodes file bytes into a document: strips a UTF-8 BOM (offsets still
/// count it), refuses binary data (NUL bytes), and replaces invalid UTF-8
/// with U+FFFD, with a warning (offsets then refer to the repaired text).
pub fn decode_document(
    path: &Path,
    doc_id: String,
    bytes: Vec<u8>,
    warnings: &mut Vec<String>,
) -> Result<Document> {
    let base_offset = if bytes.starts_with(BOM) { BOM.len() } else { 0 };
    let text = decode(path, bytes, warnings)?;
    let mut doc = Document::from_text(doc_id, text);
    doc.base_offset = base_offset;
    Ok(doc)
}

/// Decodes file bytes: strips a UTF-8 BOM, refuses binary data (NUL bytes),
/// and replaces invalid UTF-8 with U+FFFD, with a warning.
pub fn decode(path: &Path, bytes: Vec<u8>, warnings: &mut Vec<String>) -> Result<String> {
    if bytes.contains(&0) {
        return Err(Error::Binary {
            path: path.to_path_buf(),
        });
    }
    let bytes = match bytes.strip_prefix(BOM) {
        Some(rest) => rest.to_vec(),
        None => bytes,
    };
    match String::from_utf8(bytes) {
        Ok(s) => Ok(s),
        Err(e) => {
            let bytes = e.into_bytes();
            let text = String::from_utf8_lossy(&bytes).into_owned();
            let bad = text.matches('\u{FFFD}').count();
            warnings.push(format!(
                "not valid UTF-8: {bad} invalid sequence(s) replaced with U+FFFD"
            ));
            Ok(text)
        }
    }
}

/// The doc_id of a file: its stem.
pub fn doc_id_of(path: &Path) -> String {
    path.file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.display().to_string())
}

/// Reads one input into documents. An `Err` is the reason it was skipped.
pub fn load(input: &Input) -> Result<Loaded> {
    let mut loaded = Loaded::default();
    match input {
        Input::Stdin => {
            let mut bytes = Vec::new();
            std::io::stdin()
                .read_to_end(&mut bytes)
                .map_err(Error::Stdin)?;
            let doc = decode_document(Path::new("-"), "stdin".into(), bytes, &mut loaded.warnings)?;
            loaded.documents.push(doc);
        }
        Input::Text(path) => {
            let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
            let doc = decode_document(path, doc_id_of(path), bytes, &mut loaded.warnings)?;
            loaded.documents.push(doc);
        }
        Input::Csv(path) => loaded.documents = load_csv(path)?,
    }
    Ok(loaded)
}

/// Reads a CSV of already-split sentences: a `text` column, an optional
/// `doc_id` column (default: the file stem) and an optional `date` column.
/// Consecutive rows with the same doc_id form one document, dated by the
/// first non-empty `date` among its rows.
pub fn load_csv(path: &Path) -> Result<Vec<Document>> {
    let file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    let mut reader = csv::ReaderBuilder::new().from_reader(file);
    let header = reader.headers().map_err(|e| Error::csv(path, &e))?.clone();
    let text_col = column_indices(path, &header, &["text"])?[0];
    let optional = |name: &str| column_indices(path, &header, &[name]).ok().map(|v| v[0]);
    let doc_col = optional("doc_id");
    let date_col = optional("date");
    let default_id = doc_id_of(path);
    let mut docs: Vec<(String, Option<String>, Vec<String>)> = Vec::new();
    for_each_record(path, &mut reader, |record, _| {
        let text = unprotect_cell(record.get(text_col).unwrap_or("").trim()).to_string();
        if text.is_empty() {
            return Ok(());
        }
        let doc_id = doc_col
            .and_then(|c| record.get(c))
            .map(|d| unprotect_cell(d.trim()))
            .filter(|d| !d.is_empty())
            .unwrap_or(&default_id);
        let date = date_col
            .and_then(|c| record.get(c))
            .map(str::trim)
            .filter(|d| !d.is_empty());
        match docs.last_mut() {
            Some((id, first_date, sentences)) if id == doc_id => {
                sentences.push(text);
                if first_date.is_none() {
                    *first_date = date.map(String::from);
                }
            }
            _ => docs.push((doc_id.to_string(), date.map(String::from), vec![text])),
        }
        Ok(())
    })?;
    Ok(docs
        .into_iter()
        .map(|(id, date, sentences)| Document {
            date,
            ..Document::from_sentences(id, &sentences)
        })
        .collect())
}

/// Reads a CSV with one whole article per row in its `text` column (as the
/// benchmark corpora are), in file order; empty texts are left out.
pub fn load_article_csv(path: &Path) -> Result<Vec<String>> {
    let file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    let mut reader = csv::ReaderBuilder::new().from_reader(file);
    let header = reader.headers().map_err(|e| Error::csv(path, &e))?.clone();
    let text_col = column_indices(path, &header, &["text"])?[0];
    let mut articles = Vec::new();
    for_each_record(path, &mut reader, |record, _| {
        let text = record.get(text_col).unwrap_or("").trim();
        if !text.is_empty() {
            articles.push(text.to_string());
        }
        Ok(())
    })?;
    Ok(articles)
}

/// One record of a JSONL archive: the article's id, whole text and date.
#[derive(Debug, serde::Deserialize)]
struct JsonRecord {
    doc_id: Option<String>,
    text: String,
    date: Option<String>,
}

/// Parses line `line` of the JSONL stream `source` into a document: an
/// object with the whole article in `text`, an optional `doc_id` (default
/// `SOURCE:LINE`) and an optional `date`.
pub fn parse_jsonl_record(source: &Path, line: u64, json: &str) -> Result<Document> {
    let record: JsonRecord = serde_json::from_str(json).map_err(|e| Error::Record {
        path: source.to_path_buf(),
        line,
        message: e.to_string(),
    })?;
    let doc_id = record
        .doc_id
        .unwrap_or_else(|| format!("{}:{line}", source.display()));
    Ok(Document {
        date: record
            .date
            .map(|d| d.trim().to_string())
            .filter(|d| !d.is_empty()),
        ..Document::from_text(doc_id, record.text)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decode_handles_bom_invalid_utf8_and_binary() {
        let mut w = Vec::new();
        let p = Path::new("a.txt");
        assert_eq!(decode(p, b"\xEF\xBB\xBFHi".to_vec(), &mut w).unwrap(), "Hi");
        assert!(w.is_empty());
        assert_eq!(decode(p, b"a\xFFb".to_vec(), &mut w).unwrap(), "a\u{FFFD}b");
        assert_eq!(w.len(), 1);
        assert!(w[0].contains("not valid UTF-8"));
        let err = decode(p, b"a\0b".to_vec(), &mut w).unwrap_err().to_string();
        assert_eq!(err, "a.txt: binary file (contains NUL bytes), skipped");
    }

    #[test]
    fn jsonl_record_carries_its_date() {
        let p = Path::new("a.jsonl");
        let doc = parse_jsonl_record(p, 3, r#"{"text":"Hi.","date":" 2026-01-05 "}"#).unwrap();
        assert_eq!(
            (doc.doc_id.as_str(), doc.date.as_deref()),
            ("a.jsonl:3", Some("2026-01-05"))
        );
        let doc = parse_jsonl_record(p, 4, r#"{"doc_id":"x","text":"Hi."}"#).unwrap();
        assert_eq!(doc.date, None);
    }

    #[test]
    fn sentences_document_spans_point_at_rows() {
        let doc = Document::from_sentences("d", &["One.", "Two, too."]);
        let texts: Vec<&str> = doc.spans.iter().map(|s| s.text(&doc.text)).collect();
        assert_eq!(texts, ["One.", "Two, too."]);
        assert!(!doc.has_offsets);
    }

    #[test]
    fn csv_input_groups_consecutive_doc_ids() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("rows.csv");
        std::fs::write(&p, "doc_id,text\nx,One.\nx,Two.\ny,Three.\n,Four.\n").unwrap();
        let docs = load_csv(&p).unwrap();
        let ids: Vec<(&str, usize)> = docs
            .iter()
            .map(|d| (d.doc_id.as_str(), d.spans.len()))
            .collect();
        assert_eq!(ids, [("x", 2), ("y", 1), ("rows", 1)]);
        std::fs::write(
            &p,
            "doc_id,date,text\nx,,One.\nx,2026-03-02,Two.\ny, ,Three.\n",
        )
        .unwrap();
        let dates: Vec<Option<String>> =
            load_csv(&p).unwrap().into_iter().map(|d| d.date).collect();
        assert_eq!(dates, [Some("2026-03-02".to_string()), None]);
        std::fs::write(&p, "body\nx\n").unwrap();
        assert!(load_csv(&p)
            .unwrap_err()
            .to_string()
            .contains("missing column `text`"));
    }
}
