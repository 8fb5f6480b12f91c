//! Sentence CSVs → documents.
//!
//! Has the responsibility to make documents of a sentence CSV's rows (see
//! [`load_csv`]). The rules live here once: how a record's cells are read
//! ([`Columns::row`]), how consecutive rows make a document ([`Gatherer`])
//! and what the file's warnings say ([`CsvNotes`]); [`SentenceCsv`] reads
//! a file with them, one document at a time.

use std::borrow::Cow;
use std::io::Read;
use std::path::{Path, PathBuf};

use super::{clean_date, doc_id_of, non_empty, Document};
use crate::error::{Error, Result};
use crate::io::{open_input, unprotect_cell, CrlfToLf, MAX_ARTICLE_BYTES};
use crate::labels::column_indices;
use crate::segment::Span;

/// Reads a CSV of already-split sentences: a `text` column, an optional
/// `doc_id` column (default: the file stem) and optional `date`, `source`
/// and `title` columns (a predictions file has them all). Consecutive rows
/// with the same doc_id form one document, whose date, source and title are
/// the first non-empty ones among its rows; the source defaults to the CSV's
/// path. Rows whose text is empty are left out. Cells that are not valid
/// UTF-8 are repaired (U+FFFD), with one warning in `warnings` for the file;
/// rows with fewer or more fields than the header are read as far as they
/// go. Holds every document; [`SentenceCsv`] reads one at a time.
pub fn load_csv(path: &Path, warnings: &mut Vec<String>) -> Result<Vec<Document>> {
    let mut csv = SentenceCsv::open(path)?;
    let mut docs = Vec::new();
    while let Some(doc) = csv.next_document()? {
        docs.push(doc);
    }
    warnings.extend(csv.take_warnings());
    Ok(docs)
}

/// What a sentence CSV's header says: where the columns stand, and what a
/// row or document without a value gets.
#[derive(Debug)]
struct Columns {
    path: PathBuf,
    text: usize,
    doc_id: Option<usize>,
    /// The `date`, `source` and `title` columns.
    meta: [Option<usize>; 3],
    /// The doc_id of rows without one: the file stem.
    default_id: String,
    /// The source of documents without one: the CSV.
    default_source: String,
    /// A document is handed out in parts once its text would reach this
    /// many bytes: [`MAX_ARTICLE_BYTES`].
    split_at: usize,
}

impl Columns {
    /// Reads the header: the `text` column is required; an optional column
    /// that is absent or appears twice is left unread.
    fn new<'h>(path: &Path, header: impl Iterator<Item = &'h [u8]>) -> Result<Columns> {
        let header: csv::StringRecord = header
            .map(|h| String::from_utf8_lossy(h).into_owned())
            .collect();
        let text = column_indices(path, &header, &["text"])?[0];
        let optional = |name: &str| column_indices(path, &header, &[name]).ok().map(|v| v[0]);
        Ok(Columns {
            path: path.to_path_buf(),
            text,
            doc_id: optional("doc_id"),
            meta: [optional("date"), optional("source"), optional("title")],
            default_id: doc_id_of(path),
            default_source: path.display().to_string(),
            split_at: MAX_ARTICLE_BYTES as usize,
        })
    }

    /// Reads one record (`field(i)` is its `i`th cell, `None` past its
    /// last) by the rules of [`load_csv`]: every cell decoded, invalid
    /// UTF-8 replaced with U+FFFD.
    fn row<'r>(&'r self, field: impl Fn(usize) -> Option<&'r [u8]>) -> Row<'r> {
        let mut repaired = false;
        let mut cell = |col: Option<usize>| {
            let raw = col.and_then(&field).unwrap_or(b"");
            let text = String::from_utf8_lossy(raw);
            repaired |= matches!(text, Cow::Owned(_));
            text
        };
        let text = cell(Some(self.text));
        let doc_id = cell(self.doc_id);
        let meta = self.meta.map(&mut cell);
        Row {
            text,
            doc_id,
            meta,
            repaired,
            default_id: &self.default_id,
        }
    }

    /// The document of gathered rows.
    fn document(&self, g: Gathering) -> Document {
        let [date, source, title] = g.meta;
        Document {
            doc_id: g.doc_id,
            text: g.text,
            spans: g.spans,
            date: date.as_deref().and_then(clean_date),
            source: source.or_else(|| Some(self.default_source.clone())),
            title,
            // Rows are sentences already: no offsets into a file.
            ..Document::default()
        }
    }
}

/// One record of a sentence CSV, its cells decoded.
struct Row<'r> {
    text: Cow<'r, str>,
    doc_id: Cow<'r, str>,
    /// Date, source and title.
    meta: [Cow<'r, str>; 3],
    /// Whether a cell was not valid UTF-8.
    repaired: bool,
    default_id: &'r str,
}

impl Row<'_> {
    /// The sentence: trimmed, a protecting `'` dropped; empty for a row to
    /// leave out.
    fn text(&self) -> &str {
        unprotect_cell(self.text.trim())
    }

    /// The document the row belongs to: its trimmed doc_id, or the file's
    /// default.
    fn doc_id(&self) -> &str {
        Some(unprotect_cell(self.doc_id.trim()))
            .filter(|d| !d.is_empty())
            .unwrap_or(self.default_id)
    }

    /// The date, source or title (`i` = 0, 1, 2), when not empty.
    fn meta(&self, i: usize) -> Option<String> {
        non_empty(Some(unprotect_cell(self.meta[i].trim())))
    }
}

/// A document being gathered from consecutive sentence-CSV rows.
#[derive(Debug)]
struct Gathering {
    doc_id: String,
    /// The first non-empty date, source and title among its rows.
    meta: [Option<String>; 3],
    text: String,
    spans: Vec<Span>,
}

/// Consecutive rows → documents, by the rules of [`load_csv`], noting what
/// the file's warnings will say.
#[derive(Debug, Default)]
struct Gatherer {
    /// The document whose rows are being read.
    gathering: Option<Gathering>,
    notes: CsvNotes,
}

impl Gatherer {
    /// Whether a row of `doc_id` whose text (not empty) is `text_len`
    /// bytes long starts a document rather than going on with the one
    /// gathered: it has another doc_id, or the text would grow too long
    /// (the document is then split, and noted once).
    fn starts_document(&mut self, columns: &Columns, doc_id: &str, text_len: usize) -> bool {
        let Some(g) = &self.gathering else {
            return true;
        };
        if g.doc_id != doc_id {
            return true;
        }
        if g.text.len() + text_len < columns.split_at {
            return false;
        }
        self.notes.split(doc_id);
        true
    }

    /// Adds one record, read from line `line`; returns the document it
    /// finished, if any.
    fn push(&mut self, columns: &Columns, row: &Row<'_>, line: u64) -> Option<Document> {
        if row.repaired {
            self.notes.repaired(line);
        }
        let text = row.text();
        if text.is_empty() {
            return None;
        }
        let doc_id = row.doc_id();
        let finished = if self.starts_document(columns, doc_id, text.len()) {
            self.gathering.take()
        } else {
            None
        };
        let g = self.gathering.get_or_insert_with(|| Gathering {
            doc_id: doc_id.to_string(),
            meta: [None, None, None],
            text: String::new(),
            spans: Vec::new(),
        });
        for (i, first) in g.meta.iter_mut().enumerate() {
            if first.is_none() {
                *first = row.meta(i);
            }
        }
        let start = g.text.len();
        g.text.push_str(text);
        g.spans.push(Span {
            start,
            end: g.text.len(),
        });
        g.text.push('\n');
        finished.map(|g| columns.document(g))
    }

    /// The document being gathered, as it stands.
    fn finish(&mut self, columns: &Columns) -> Option<Document> {
        self.gathering.take().map(|g| columns.document(g))
    }
}

/// What rows of a sentence CSV say about the file as a whole: the rows
/// repaired and the documents split, told once at the end
/// ([`CsvNotes::into_warnings`]).
#[derive(Debug, Default)]
struct CsvNotes {
    /// First line with invalid UTF-8, and the rows with it.
    repaired: Option<(u64, usize)>,
    /// Documents split because they were too long, each once in a row.
    split: Vec<String>,
}

impl CsvNotes {
    fn repaired(&mut self, line: u64) {
        self.repaired.get_or_insert((line, 0)).1 += 1;
    }

    fn split(&mut self, doc_id: &str) {
        if self.split.last().map(String::as_str) != Some(doc_id) {
            self.split.push(doc_id.to_string());
        }
    }

    /// The file's warnings: invalid UTF-8, documents read in parts.
    fn into_warnings(self) -> Vec<String> {
        let mut warnings = Vec::new();
        if let Some((line, rows)) = self.repaired {
            warnings.push(format!(
                "not valid UTF-8 in {rows} row(s), from line {line}: invalid sequence(s) replaced with U+FFFD"
            ));
        }
        for id in self.split {
            warnings.push(format!(
                "document `{id}` is longer than {} MiB: scored in parts, the off-topic gate deciding per part",
                MAX_ARTICLE_BYTES >> 20
            ));
        }
        warnings
    }
}

/// A sentence CSV (see [`load_csv`]) read one document at a time on one
/// thread, so that memory is bounded by the largest document, not by the
/// file. A document whose text grows past [`MAX_ARTICLE_BYTES`] is handed
/// out in parts (with a warning), each part a document of the same
/// `doc_id`.
pub struct SentenceCsv {
    reader: csv::Reader<CrlfToLf<Box<dyn Read + Send>>>,
    columns: Columns,
    record: csv::ByteRecord,
    rows: Gatherer,
    done: bool,
}

impl std::fmt::Debug for SentenceCsv {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SentenceCsv")
            .field("path", &self.columns.path)
            .finish_non_exhaustive()
    }
}

impl SentenceCsv {
    /// Opens `path` and reads its header; the `text` column is required.
    pub fn open(path: &Path) -> Result<SentenceCsv> {
        SentenceCsv::from_reader(path, open_input(path, MAX_ARTICLE_BYTES)?)
    }

    /// Reads the CSV `path` from `file`.
    fn from_reader(path: &Path, file: Box<dyn Read + Send>) -> Result<SentenceCsv> {
        let mut reader = csv::ReaderBuilder::new()
            .flexible(true)
            .from_reader(CrlfToLf::new(file));
        let header = reader.byte_headers().map_err(|e| Error::csv(path, &e))?;
        let columns = Columns::new(path, header.iter())?;
        Ok(SentenceCsv {
            reader,
            columns,
            record: csv::ByteRecord::new(),
            rows: Gatherer::default(),
            done: false,
        })
    }

    /// The next whole document, or `None` after the last one. An error (a
    /// CSV that cannot be read further) ends the file: the documents
    /// before it were handed out.
    pub fn next_document(&mut self) -> Result<Option<Document>> {
        while !self.done {
            match self.reader.read_byte_record(&mut self.record) {
                Ok(true) => {}
                Ok(false) => {
                    self.done = true;
                    break;
                }
                Err(e) => {
                    self.done = true;
                    return Err(Error::csv(&self.columns.path, &e));
                }
            }
            let line = self.record.position().map_or(0, |p| p.line());
            let record = &self.record;
            let row = self.columns.row(|i| record.get(i));
            if let Some(doc) = self.rows.push(&self.columns, &row, line) {
                return Ok(Some(doc));
            }
        }
        Ok(self.rows.finish(&self.columns))
    }

    /// The file's warnings so far (invalid UTF-8, documents read in parts),
    /// each once; call after the last document for the whole file.
    pub fn take_warnings(&mut self) -> Vec<String> {
        std::mem::take(&mut self.rows.notes).into_warnings()
    }
}
