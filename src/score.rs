//! Batch scoring: inputs → documents → sentences → CSV rows.
//!
//! Has the responsibility to read every input, segment it, score every
//! sentence and write one CSV row per sentence in input order. Inputs are
//! processed in chunks: the documents of a chunk are read and scored in
//! parallel (rayon, one [`Transformer`](crate::features::Transformer) per
//! worker), then written in order, so memory is bounded by the chunk and the
//! output does not depend on the thread count.
//!
//! Output columns: `doc_id,sentence_id,start,end,text,label,confidence`, one
//! `p_<class>` per class in model order, then `evidence`. `sentence_id`
//! counts from 1 within a document; `start`/`end` are byte offsets into the
//! source file (empty for CSV inputs, whose rows are already sentences);
//! probabilities are written with six decimals; `evidence` lists up to N
//! terms as `term (+0.123)`, joined by `; `.

use std::io::{Read, Write};
use std::path::Path;

use rayon::prelude::*;

use crate::error::{Error, Result};
use crate::features::SparseVec;
use crate::io::Input;
use crate::labels::column_indices;
use crate::model::Model;
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
    doc_id: String,
    bytes: Vec<u8>,
    warnings: &mut Vec<String>,
) -> std::result::Result<Document, String> {
    let base_offset = if bytes.starts_with(BOM) { BOM.len() } else { 0 };
    let text = decode(bytes, warnings)?;
    let mut doc = Document::from_text(doc_id, text);
    doc.base_offset = base_offset;
    Ok(doc)
}

/// Decodes file bytes: strips a UTF-8 BOM, refuses binary data (NUL bytes),
/// and replaces invalid UTF-8 with U+FFFD, with a warning.
pub fn decode(bytes: Vec<u8>, warnings: &mut Vec<String>) -> std::result::Result<String, String> {
    if bytes.contains(&0) {
        return Err("binary file (contains NUL bytes), skipped".into());
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
pub fn load(input: &Input) -> std::result::Result<Loaded, String> {
    let mut loaded = Loaded::default();
    match input {
        Input::Stdin => {
            let mut bytes = Vec::new();
            std::io::stdin()
                .read_to_end(&mut bytes)
                .map_err(|e| e.to_string())?;
            let doc = decode_document("stdin".into(), bytes, &mut loaded.warnings)?;
            loaded.documents.push(doc);
        }
        Input::Text(path) => {
            let bytes = std::fs::read(path).map_err(|e| e.to_string())?;
            let doc = decode_document(doc_id_of(path), bytes, &mut loaded.warnings)?;
            loaded.documents.push(doc);
        }
        Input::Csv(path) => {
            loaded.documents = load_csv(path).map_err(|e| match e {
                Error::Csv { line, message, .. } => format!("line {line}: {message}"),
                other => other.to_string(),
            })?;
        }
    }
    Ok(loaded)
}

/// Reads a CSV of already-split sentences: a `text` column and an optional
/// `doc_id` column (default: the file stem). Consecutive rows with the same
/// doc_id form one document.
pub fn load_csv(path: &Path) -> Result<Vec<Document>> {
    let file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    let mut reader = csv::ReaderBuilder::new().from_reader(file);
    let header = reader.headers().map_err(|e| Error::csv(path, &e))?.clone();
    let text_col = column_indices(path, &header, &["text"])?[0];
    let doc_col = column_indices(path, &header, &["doc_id"])
        .ok()
        .map(|v| v[0]);
    let default_id = doc_id_of(path);
    let mut docs: Vec<(String, Vec<String>)> = Vec::new();
    let mut record = csv::StringRecord::new();
    loop {
        match reader.read_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {}
            Err(e) => return Err(Error::csv(path, &e)),
        }
        let text = record.get(text_col).unwrap_or("").trim().to_string();
        if text.is_empty() {
            continue;
        }
        let doc_id = doc_col
            .and_then(|c| record.get(c))
            .map(str::trim)
            .filter(|d| !d.is_empty())
            .unwrap_or(&default_id);
        match docs.last_mut() {
            Some((id, sentences)) if id == doc_id => sentences.push(text),
            _ => docs.push((doc_id.to_string(), vec![text])),
        }
    }
    Ok(docs
        .into_iter()
        .map(|(id, sentences)| Document::from_sentences(id, &sentences))
        .collect())
}

/// The CSV header for a model's classes.
pub fn header(classes: &[String]) -> Vec<String> {
    let mut h: Vec<String> = [
        "doc_id",
        "sentence_id",
        "start",
        "end",
        "text",
        "label",
        "confidence",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    h.extend(classes.iter().map(|c| format!("p_{c}")));
    h.push("evidence".into());
    h
}

/// Scoring settings.
#[derive(Debug, Clone, Copy)]
pub struct ScoreOptions {
    /// Evidence terms per row; defaults to `3`.
    pub evidence: usize,
    /// Inputs read and scored together before writing; defaults to `64`.
    pub chunk: usize,
}

impl Default for ScoreOptions {
    fn default() -> Self {
        ScoreOptions {
            evidence: 3,
            chunk: 64,
        }
    }
}

/// Per-thread scoring state.
pub struct Scorer<'m> {
    model: &'m Model,
    transformer: crate::features::Transformer<'m>,
    x: SparseVec,
    options: ScoreOptions,
    fields: Vec<String>,
}

impl<'m> Scorer<'m> {
    /// A scorer for one worker thread.
    pub fn new(model: &'m Model, options: ScoreOptions) -> Self {
        Scorer {
            model,
            transformer: model.featurizer().transformer(),
            x: SparseVec::default(),
            options,
            fields: Vec::new(),
        }
    }

    /// Scores every sentence of `doc` and appends its CSV rows to `out`.
    pub fn write_document(&mut self, doc: &Document, out: &mut csv::Writer<Vec<u8>>) -> Result<()> {
        for (i, span) in doc.spans.iter().enumerate() {
            let sentence = span.text(&doc.text);
            self.transformer.transform(sentence, &mut self.x);
            let p = self.model.predict(&self.x, self.options.evidence);
            let f = &mut self.fields;
            f.clear();
            f.push(doc.doc_id.clone());
            f.push((i + 1).to_string());
            if doc.has_offsets {
                f.push((doc.base_offset + span.start).to_string());
                f.push((doc.base_offset + span.end).to_string());
            } else {
                f.push(String::new());
                f.push(String::new());
            }
            f.push(sentence.to_string());
            f.push(self.model.classes()[p.label].clone());
            f.push(format!("{:.6}", p.probabilities[p.label]));
            for prob in &p.probabilities {
                f.push(format!("{prob:.6}"));
            }
            f.push(
                p.evidence
                    .iter()
                    .map(|e| format!("{} ({:+.3})", e.term, e.contribution))
                    .collect::<Vec<_>>()
                    .join("; "),
            );
            out.write_record(&*f)
                .map_err(|e| Error::io("<memory>", std::io::Error::other(e.to_string())))?;
        }
        Ok(())
    }
}

/// Something that happened to one input.
#[derive(Debug)]
pub enum Event<'a> {
    /// The input was scored, with this many sentences.
    Scored {
        /// The input.
        input: &'a Input,
        /// Sentences written.
        sentences: usize,
    },
    /// The input was scored, but something about it is worth a warning.
    Warning {
        /// The input.
        input: &'a Input,
        /// What happened.
        message: String,
    },
    /// The input could not be scored.
    Skipped {
        /// The input.
        input: &'a Input,
        /// Why.
        reason: String,
    },
}

/// Totals of a scoring run.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Summary {
    /// Inputs scored.
    pub inputs: usize,
    /// Documents scored.
    pub documents: usize,
    /// Sentences (rows) written.
    pub sentences: usize,
    /// Inputs skipped.
    pub skipped: usize,
}

/// One input's documents, its CSV bytes and sentence count, or why it was skipped.
type InputResult = std::result::Result<(Loaded, Vec<u8>, usize), String>;

/// Scores `inputs` and writes the CSV (header included) to `out`, calling
/// `on_event` in input order for each input.
pub fn score_inputs<W: Write>(
    model: &Model,
    inputs: &[Input],
    out: W,
    options: ScoreOptions,
    mut on_event: impl FnMut(Event<'_>),
) -> Result<Summary> {
    let mut out = out;
    let mut head = csv::Writer::from_writer(Vec::new());
    head.write_record(header(model.classes()))
        .map_err(|e| Error::io("<memory>", std::io::Error::other(e.to_string())))?;
    let head = head
        .into_inner()
        .map_err(|e| Error::io("<memory>", std::io::Error::other(e.to_string())))?;
    out.write_all(&head).map_err(|e| Error::io("<output>", e))?;
    let mut summary = Summary::default();
    for chunk in inputs.chunks(options.chunk.max(1)) {
        let results: Vec<InputResult> = chunk
            .par_iter()
            .map_init(
                || Scorer::new(model, options),
                |scorer, input| {
                    let loaded = load(input)?;
                    let mut buf = csv::WriterBuilder::new()
                        .has_headers(false)
                        .from_writer(Vec::new());
                    let mut sentences = 0;
                    for doc in &loaded.documents {
                        scorer
                            .write_document(doc, &mut buf)
                            .map_err(|e| e.to_string())?;
                        sentences += doc.spans.len();
                    }
                    let bytes = buf.into_inner().map_err(|e| e.to_string())?;
                    Ok((loaded, bytes, sentences))
                },
            )
            .collect();
        for (input, result) in chunk.iter().zip(results) {
            match result {
                Ok((loaded, bytes, sentences)) => {
                    for message in loaded.warnings {
                        on_event(Event::Warning { input, message });
                    }
                    out.write_all(&bytes)
                        .map_err(|e| Error::io("<output>", e))?;
                    summary.inputs += 1;
                    summary.documents += loaded.documents.len();
                    summary.sentences += sentences;
                    on_event(Event::Scored { input, sentences });
                }
                Err(reason) => {
                    summary.skipped += 1;
                    on_event(Event::Skipped { input, reason });
                }
            }
        }
    }
    out.flush().map_err(|e| Error::io("<output>", e))?;
    Ok(summary)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decode_handles_bom_invalid_utf8_and_binary() {
        let mut w = Vec::new();
        assert_eq!(decode(b"\xEF\xBB\xBFHi".to_vec(), &mut w).unwrap(), "Hi");
        assert!(w.is_empty());
        assert_eq!(decode(b"a\xFFb".to_vec(), &mut w).unwrap(), "a\u{FFFD}b");
        assert_eq!(w.len(), 1);
        assert!(w[0].contains("not valid UTF-8"));
        assert!(decode(b"a\0b".to_vec(), &mut w)
            .unwrap_err()
            .contains("binary"));
    }

    #[test]
    fn sentences_document_spans_point_at_rows() {
        let doc = Document::from_sentences("d", &["One.", "Two, too."]);
        let texts: Vec<&str> = doc.spans.iter().map(|s| s.text(&doc.text)).collect();
        assert_eq!(texts, ["One.", "Two, too."]);
        assert!(!doc.has_offsets);
    }

    #[test]
    fn header_has_one_probability_per_class() {
        let h = header(&["a".into(), "b".into()]);
        assert_eq!(
            h.join(","),
            "doc_id,sentence_id,start,end,text,label,confidence,p_a,p_b,evidence"
        );
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
        std::fs::write(&p, "body\nx\n").unwrap();
        assert!(load_csv(&p)
            .unwrap_err()
            .to_string()
            .contains("missing column `text`"));
    }
}
