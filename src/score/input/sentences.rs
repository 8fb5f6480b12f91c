//! Sentence CSVs → documents, read whole or cut into batches that the
//! scoring workers parse.
//!
//! Has the responsibility to make the same documents of a sentence CSV
//! (see [`load_csv`]) however it is read. The rules live here once: how a
//! record's cells are read ([`Columns::row`]), how consecutive rows make a
//! document ([`Gatherer`]) and what the file's warnings say ([`CsvNotes`]).
//! Two readers use them:
//!
//! - [`SentenceCsv`] reads a file from start to end on one thread (the csv
//!   crate's reader), one document at a time.
//! - [`CsvBatches`] cuts a file into batches of whole records for the
//!   runner. It only scans the bytes for where records end ([`RecordEnds`],
//!   the csv parser's rules for a line end outside quotes), and parses the
//!   records after a batch's size that do not start with the bytes of the
//!   batch's last doc_id ([`Columns::plain_prefix`]) to end the batch where
//!   a document ends. A worker parses each batch ([`CsvRows::documents`]) with the csv
//!   parser the whole-file reader uses (plain records cut with `memchr` to
//!   the same cells, see [`Records::parse_plain`]), so parsing, which is
//!   most of the cost of reading, runs on every core. A document whose rows run on
//!   past [`LONG_BATCHES`] batches' worth of bytes is the exception: the batch is parsed
//!   here, and the rest of that document record by record, the way the
//!   whole-file reader does it, its bytes dropped as they are read, so
//!   memory stays bounded by the batch size and the longest document (its
//!   text, split past [`MAX_ARTICLE_BYTES`]), as when the file is read
//!   whole.
//!
//! What a batch's rows say about the file (rows repaired, documents split)
//! is added up over the batches, in order, into the file's warnings
//! ([`CsvNotes::merge`]).

use std::borrow::Cow;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use csv_core::ReadRecordResult;
use memchr::{memchr, memchr3};

use super::{clean_date, doc_id_of, non_empty, Document, BOM};
use crate::error::{Error, Result};
use crate::io::{
    blank_lines, csv_reader, open_input, unprotect_cell, CrlfToLf, QuoteTap, RecordEnds,
    MAX_ARTICLE_BYTES, UNCLOSED_QUOTE,
};
use crate::labels::column_indices;
use crate::segment::Span;

/// Reads a CSV of already-split sentences: a `text` column, an optional
/// `doc_id` column (default: the file stem) and optional `date`, `source`
/// and `title` columns (a predictions file has them all). Consecutive rows
/// with the same doc_id form one document, whose date, source and title are
/// the first non-empty ones among its rows; the source defaults to the CSV's
/// path. Rows whose text is empty are left out. Cells that are not valid
/// UTF-8 are repaired (U+FFFD), with one warning in `warnings` for the file,
/// and a file that ends inside a quoted cell gets one naming that row's
/// line; rows with fewer or more fields than the header are read as far as
/// they go. Holds every document; [`SentenceCsv`] reads one at a time.
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
pub(crate) struct Columns {
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
        self.row_of(field, false)
    }

    /// [`Columns::row`] of a record whose bytes were found to be valid
    /// UTF-8 with the rest of its batch (`valid`), whose cells then need
    /// no check of their own.
    fn row_of<'r>(&'r self, field: impl Fn(usize) -> Option<&'r [u8]>, valid: bool) -> Row<'r> {
        let mut repaired = false;
        let mut cell = |col: Option<usize>| {
            let Some(raw) = col.and_then(&field).filter(|raw| !raw.is_empty()) else {
                return Cow::Borrowed("");
            };
            if valid {
                debug_assert!(std::str::from_utf8(raw).is_ok());
                // SAFETY: a cell is bytes of its record with ASCII bytes
                // (the quotes around it, the first of each doubled quote)
                // left out, cut from the record at ASCII bytes (commas,
                // line ends). Leaving out or cutting at an ASCII byte
                // leaves valid UTF-8 valid, since no ASCII byte is part
                // of a longer character; and the record's bytes are valid.
                return Cow::Borrowed(unsafe { std::str::from_utf8_unchecked(raw) });
            }
            let text = crate::io::decode_lossy(raw);
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

    /// What decides where a batch ends, read from one record without
    /// decoding its text: `None` for a row [`Row::text`] leaves out (its
    /// text empty or whitespace), else the row with its doc_id alone
    /// decoded, for [`Row::doc_id`]. Most texts are told from empty by
    /// their first byte; only text that starts with a non-ASCII byte
    /// after any ASCII whitespace is decoded to decide.
    fn key<'r>(&'r self, field: impl Fn(usize) -> Option<&'r [u8]>) -> Option<Row<'r>> {
        let raw = field(self.text).unwrap_or_default();
        let has_text = match raw.iter().find(|&&b| !matches!(b, b' ' | b'\t'..=b'\r')) {
            None => false,
            // An ASCII character other than whitespace: trimming keeps it.
            Some(&b) if b.is_ascii() => true,
            Some(_) => !crate::io::decode_lossy(raw).trim().is_empty(),
        };
        if !has_text {
            return None;
        }
        let doc_id = self
            .doc_id
            .and_then(&field)
            .map_or(Cow::Borrowed(""), crate::io::decode_lossy);
        Some(Row {
            text: Cow::Borrowed(""),
            doc_id,
            meta: [Cow::Borrowed(""), Cow::Borrowed(""), Cow::Borrowed("")],
            repaired: false,
            default_id: &self.default_id,
        })
    }

    /// The bytes a record starts with when its first field is the
    /// doc_id `field` gives, written plainly, and a delimiter follows:
    /// `doc_id,`. Any record that starts with them has that doc_id, as the
    /// parser reads it: a field that does not start with a quote ends at the
    /// first comma or line end, and these bytes hold neither a quote nor a
    /// line end. Empty when no such prefix is sure: the doc_id is not the
    /// first column, or, as read, holds a quote, comma or line end.
    fn plain_prefix<'r>(&self, field: impl Fn(usize) -> Option<&'r [u8]>) -> Vec<u8> {
        let Some(0) = self.doc_id else {
            return Vec::new();
        };
        let id = field(0).unwrap_or_default();
        if id.iter().any(|b| matches!(b, b'"' | b',' | b'\n' | b'\r')) {
            return Vec::new();
        }
        let mut prefix = Vec::with_capacity(id.len() + 1);
        prefix.extend_from_slice(id);
        prefix.push(b',');
        prefix
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
        // Most files have no such column: an empty cell needs no trimming.
        if self.meta[i].is_empty() {
            return None;
        }
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
/// repaired and the documents split. Noted batch by batch, added up in
/// file order ([`CsvNotes::merge`]), told once at the end
/// ([`CsvNotes::into_warnings`]).
#[derive(Debug, Default)]
pub(crate) struct CsvNotes {
    /// First line with invalid UTF-8, and the rows with it.
    repaired: Option<(u64, usize)>,
    /// Documents split because they were too long, each once in a row.
    split: Vec<String>,
    /// The line of the last record, when the file ends inside a quoted
    /// field of it: a quote never closed, which took every line after it
    /// into that field.
    unclosed: Option<u64>,
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

    /// Adds the notes of the rows that follow these.
    pub(crate) fn merge(&mut self, later: CsvNotes) {
        if let Some((line, rows)) = later.repaired {
            self.repaired.get_or_insert((line, 0)).1 += rows;
        }
        for id in later.split {
            self.split(&id);
        }
        self.unclosed = later.unclosed.or(self.unclosed);
    }

    /// Whether the file ends inside a quoted field.
    pub(crate) fn unclosed(&self) -> bool {
        self.unclosed.is_some()
    }

    /// The file's warnings: a quote never closed, invalid UTF-8,
    /// documents read in parts.
    pub(crate) fn into_warnings(self) -> Vec<String> {
        let mut warnings = Vec::new();
        if let Some(line) = self.unclosed {
            warnings.push(format!("line {line}: {UNCLOSED_QUOTE}"));
        }
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
/// `doc_id`. The runner reads the same documents in batches instead
/// (see the module docs).
pub struct SentenceCsv {
    reader: csv::Reader<QuoteTap<CrlfToLf<Box<dyn Read + Send>>>>,
    columns: Columns,
    record: csv::ByteRecord,
    rows: Gatherer,
    done: bool,
    /// The line of the last record read.
    last_line: Option<u64>,
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
        let mut reader = csv_reader(file, true);
        let columns = match reader.byte_headers() {
            Ok(header) => Columns::new(path, header.iter())?,
            Err(e) => return Err(reader.get_mut().csv_error(path, &e)),
        };
        Ok(SentenceCsv {
            reader,
            columns,
            record: csv::ByteRecord::new(),
            rows: Gatherer::default(),
            done: false,
            last_line: None,
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
                    if self.reader.get_ref().unclosed() {
                        self.rows.notes.unclosed = self.last_line;
                    }
                    break;
                }
                Err(e) => {
                    self.done = true;
                    return Err(self.reader.get_mut().csv_error(&self.columns.path, &e));
                }
            }
            let line = self.reader.get_mut().record_line(self.record.position());
            self.last_line = Some(line);
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

/// The csv crate's parser (the one [`SentenceCsv`] reads with, with the
/// same settings), fed whole records from memory: one record at a time,
/// with the line it starts on as the csv reader counts it. Plain records
/// are cut into cells here instead ([`Records::parse_plain`]), with the
/// parser's result.
struct Records {
    core: csv_core::Reader,
    /// The cells of the last record, end to end.
    fields: Vec<u8>,
    /// Where each cell of `fields` ends.
    ends: Vec<usize>,
    /// Cells in the last record.
    len: usize,
    /// Whether plain records are split here ([`Records::parse_plain`]):
    /// not before the first record of a file, whose byte-order mark the
    /// csv parser drops.
    plain: bool,
}

thread_local! {
    /// A parser whose [`Records`] was dropped on this thread, for the next
    /// (see [`Records::at_file_start`]).
    static SPARE_PARSER: std::cell::Cell<Option<csv_core::Reader>> = const { std::cell::Cell::new(None) };
}

impl Drop for Records {
    fn drop(&mut self) {
        let core = std::mem::take(&mut self.core);
        // Not while the thread itself is ending.
        let _ = SPARE_PARSER.try_with(|spare| spare.set(Some(core)));
    }
}

impl Records {
    /// A parser at the start of a file: a byte-order mark at the start of
    /// its first input is dropped.
    fn at_file_start() -> Records {
        // Building a parser's tables took 5 µs, once per batch a worker
        // parses: a parser dropped on this thread is reset and used again.
        // Not `unwrap_or_default`: `csv_core::Reader::default()` has no
        // tables built, `new` builds them.
        #[allow(clippy::unwrap_or_default)]
        let mut core = SPARE_PARSER
            .with(|spare| spare.take())
            .unwrap_or_else(csv_core::Reader::new);
        core.reset();
        Records {
            core,
            fields: vec![0; 1024],
            ends: vec![0; 16],
            len: 0,
            plain: false,
        }
    }

    /// A parser past a file's start, at line `line`: a byte-order mark is
    /// text here, as it is to a reader that has read what came before.
    fn after_start(line: u64) -> Records {
        let mut records = Records::at_file_start();
        // A blank line, which the parser skips, so that the bytes that
        // follow are not the start of its input.
        let _ = records
            .core
            .read_record(b"\n", &mut records.fields, &mut records.ends);
        records.core.set_line(line);
        records.plain = true;
        records
    }

    /// The line where the last record ended.
    #[cfg(test)]
    fn line(&self) -> u64 {
        self.core.line()
    }

    /// The line the record at the start of `input` (the bytes after the
    /// last one parsed) starts on: after the blank lines before it, which
    /// the parser skips.
    fn start_line(&self, input: &[u8]) -> u64 {
        self.core.line() + blank_lines(input).1
    }

    fn set_line(&mut self, line: u64) {
        self.core.set_line(line);
    }

    /// Parses the record at the start of `input`, which holds it whole
    /// with its line end, or ends it when `end` (the end of the input):
    /// the bytes it took (blank lines before it included), or `None` when
    /// no record is left.
    fn parse(&mut self, input: &[u8], end: bool) -> Option<usize> {
        if self.plain {
            if let Some(n) = self.parse_plain(input, end) {
                return Some(n);
            }
        }
        self.plain = true;
        self.parse_with_csv_core(input, end)
    }

    /// [`Records::parse`] for a record the way most are: after any blank
    /// lines, fields that are either unquoted or quoted from their first
    /// byte to just before the comma or line end that follows, the record
    /// ending at a line end (or at `end`). Cells are cut at the bytes that
    /// matter, found with `memchr`, rather than byte by byte; the result is
    /// the csv parser's, line count included. `None` for anything else (a
    /// quote with text after it, a quote never closed, only blank lines, no
    /// line end before the input ends and not `end`): the csv parser reads
    /// it then, from the same state.
    fn parse_plain(&mut self, input: &[u8], end: bool) -> Option<usize> {
        let n = input.len();
        let (mut i, mut lines) = blank_lines(input);
        if i == n {
            return None;
        }
        let (mut out, mut cells) = (0, 0);
        loop {
            // At the start of a cell: returns at the end of the record.
            let terminator = if input.get(i) == Some(&b'"') {
                i += 1;
                loop {
                    let k = memchr(b'"', &input[i..])?;
                    let piece = &input[i..i + k];
                    if memchr(b'\n', piece).is_some() {
                        lines += memchr::memchr_iter(b'\n', piece).count() as u64;
                    }
                    // Room for the piece and a quote after it.
                    room(&mut self.fields, out + k + 1);
                    self.fields[out..out + k].copy_from_slice(piece);
                    out += k;
                    i += k + 1;
                    if input.get(i) != Some(&b'"') {
                        break;
                    }
                    // `""`: one quote.
                    self.fields[out] = b'"';
                    out += 1;
                    i += 1;
                }
                match input.get(i) {
                    None if end => None,
                    Some(&b) if matches!(b, b',' | b'\n' | b'\r') => {
                        i += 1;
                        Some(b)
                    }
                    _ => return None,
                }
            } else {
                match memchr3(b',', b'\n', b'\r', &input[i..]) {
                    Some(k) => {
                        room(&mut self.fields, out + k);
                        self.fields[out..out + k].copy_from_slice(&input[i..i + k]);
                        out += k;
                        i += k + 1;
                        Some(input[i - 1])
                    }
                    None if end => {
                        room(&mut self.fields, out + n - i);
                        self.fields[out..out + n - i].copy_from_slice(&input[i..]);
                        out += n - i;
                        i = n;
                        None
                    }
                    None => return None,
                }
            };
            if cells == self.ends.len() {
                self.ends.resize(cells * 2, 0);
            }
            self.ends[cells] = out;
            cells += 1;
            if terminator != Some(b',') {
                lines += u64::from(terminator == Some(b'\n'));
                break;
            }
        }
        self.len = cells;
        self.core.set_line(self.core.line() + lines);
        Some(i)
    }

    /// [`Records::parse`] by the csv parser.
    fn parse_with_csv_core(&mut self, input: &[u8], end: bool) -> Option<usize> {
        let (mut nin, mut nout, mut nend) = (0, 0, 0);
        loop {
            if nin == input.len() && !end {
                return None;
            }
            let (result, i, o, e) = self.core.read_record(
                &input[nin..],
                &mut self.fields[nout..],
                &mut self.ends[nend..],
            );
            (nin, nout, nend) = (nin + i, nout + o, nend + e);
            match result {
                ReadRecordResult::InputEmpty => {}
                ReadRecordResult::OutputFull => {
                    let n = self.fields.len() * 2;
                    self.fields.resize(n, 0);
                }
                ReadRecordResult::OutputEndsFull => {
                    let n = self.ends.len() * 2;
                    self.ends.resize(n, 0);
                }
                ReadRecordResult::Record => {
                    self.len = nend;
                    return Some(nin);
                }
                ReadRecordResult::End => return None,
            }
        }
    }

    /// Cell `i` of the last record.
    fn field(&self, i: usize) -> Option<&[u8]> {
        if i >= self.len {
            return None;
        }
        let start = if i == 0 { 0 } else { self.ends[i - 1] };
        Some(&self.fields[start..self.ends[i]])
    }
}

/// Grows `buf` to at least `len` bytes, doubling.
#[inline]
fn room(buf: &mut Vec<u8>, len: usize) {
    if buf.len() < len {
        buf.resize(len.max(buf.len() * 2), 0);
    }
}

/// Whole records of a sentence CSV, cut by [`CsvBatches`] for a worker to
/// parse into documents ([`CsvRows::documents`]). They start where a
/// document starts and end where one ends.
#[derive(Debug)]
pub(crate) struct CsvRows {
    columns: Arc<Columns>,
    /// The records.
    bytes: Vec<u8>,
    /// The line `bytes` start on.
    line: u64,
    /// Whether `bytes` run to the end of the file (the last record may
    /// have no line end).
    at_end: bool,
    /// Whether the last document ends with these rows: not when the file
    /// could not be read past them (that document is not handed out, as
    /// [`SentenceCsv`] does not hand it out).
    complete: bool,
    /// Whether the last record runs to the end of the file inside a
    /// quoted field (see [`CsvNotes`]).
    unclosed: bool,
}

impl CsvRows {
    /// The bytes of the records.
    pub(crate) fn len(&self) -> usize {
        self.bytes.len()
    }

    /// The documents of these rows, parsed one by one as they are taken.
    pub(crate) fn documents(self) -> CsvDocuments {
        CsvDocuments {
            records: Records::after_start(self.line),
            at: 0,
            // One check of the whole batch, 32 bytes at a time, rather
            // than one per cell: most cells are shorter than the SIMD
            // validator's blocks, and were checked a byte at a time.
            valid: simdutf8::basic::from_utf8(&self.bytes).is_ok(),
            rows: self,
            gatherer: Gatherer::default(),
        }
    }
}

/// The documents of [`CsvRows`], in order; then what the rows say about
/// the file ([`CsvDocuments::into_notes`]).
pub(crate) struct CsvDocuments {
    rows: CsvRows,
    records: Records,
    /// Bytes of `rows` parsed.
    at: usize,
    /// Whether the rows' bytes are valid UTF-8 (see [`Columns::row_of`]).
    valid: bool,
    gatherer: Gatherer,
}

impl Iterator for CsvDocuments {
    type Item = Document;

    fn next(&mut self) -> Option<Document> {
        let CsvDocuments {
            rows,
            records,
            at,
            valid,
            gatherer,
        } = self;
        while *at < rows.bytes.len() {
            let line = records.start_line(&rows.bytes[*at..]);
            let Some(n) = records.parse(&rows.bytes[*at..], rows.at_end) else {
                *at = rows.bytes.len();
                break;
            };
            *at += n;
            if rows.unclosed && *at == rows.bytes.len() {
                gatherer.notes.unclosed = Some(line);
            }
            let row = rows.columns.row_of(|i| records.field(i), *valid);
            if let Some(doc) = gatherer.push(&rows.columns, &row, line) {
                return Some(doc);
            }
        }
        if rows.complete {
            gatherer.finish(&rows.columns)
        } else {
            None
        }
    }
}

impl CsvDocuments {
    /// What the rows say about the file; the rows not parsed yet are
    /// parsed for it.
    pub(crate) fn into_notes(mut self) -> CsvNotes {
        for _ in &mut self {}
        self.gatherer.notes
    }
}

/// What [`CsvBatches`] hands out.
#[derive(Debug)]
pub(crate) enum CsvWork {
    /// Records for a worker to parse.
    Rows(CsvRows),
    /// Documents parsed already (a long document and those before it).
    Documents(Vec<Document>),
}

/// One batch of a sentence CSV.
#[derive(Debug)]
pub(crate) struct CsvBatch {
    pub(crate) work: CsvWork,
    /// What the rows parsed here say about the file (see [`CsvNotes`]).
    pub(crate) notes: CsvNotes,
    /// Whether it is the file's last.
    pub(crate) last: bool,
    /// Why the file ends here early.
    pub(crate) end: Option<Error>,
}

/// Bytes asked of the file per read.
const READ_BYTES: usize = 64 << 10;

/// A file's bytes, read as they are needed, and where its records end.
/// Offsets are from the start of the next batch, `start`.
struct RawRecords {
    path: PathBuf,
    reader: CrlfToLf<Box<dyn Read + Send>>,
    /// Bytes read: `buf[..filled]`, those from `start` on not handed out
    /// yet; the rest is room to read into, zeroed once.
    buf: Vec<u8>,
    filled: usize,
    /// Where the next batch starts in `buf`.
    start: usize,
    /// The line the next batch starts on.
    line: u64,
    /// Bytes scanned for record ends.
    scanned: usize,
    /// The scanner's state after them.
    scan: RecordEnds,
    /// Nothing more to read: the file ended, or reading it failed.
    eof: bool,
    /// Why reading the file failed.
    failed: Option<Error>,
    /// The file ended inside a quoted field of its last record (see
    /// [`CsvNotes`]).
    unclosed: bool,
}

impl RawRecords {
    /// Reads more of the file into `buf`, dropping what was handed out.
    fn fill(&mut self) {
        if self.start > 0 {
            self.buf.copy_within(self.start..self.filled, 0);
            self.filled -= self.start;
            self.start = 0;
        }
        // Room for one read more: the vector's capacity grows by doubling,
        // but only the bytes a read needs are zeroed and so touched.
        if self.buf.len() - self.filled < READ_BYTES {
            self.buf.resize(self.filled + READ_BYTES, 0);
        }
        // `READ_BYTES` at most, however much room the buffer has (it grows
        // for a long record): what is read ahead of the records stays small.
        let room = self.filled..self.filled + READ_BYTES;
        let read = loop {
            match self.reader.read(&mut self.buf[room.clone()]) {
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                read => break read,
            }
        };
        match read {
            Ok(0) => self.eof = true,
            Ok(n) => self.filled += n,
            Err(e) => {
                // As the csv reader reports it.
                self.eof = true;
                self.failed = Some(Error::csv(&self.path, &csv::Error::from(e)));
            }
        }
    }

    /// Where the next whole record ends, reading more of the file as
    /// needed; `None` when no record is left, or the file could not be
    /// read further (a record cut short by that is not one).
    fn next_end(&mut self) -> Option<usize> {
        loop {
            let from = self.start + self.scanned;
            if let Some(k) = self.scan.next_end(&self.buf[from..self.filled]) {
                self.scanned += k;
                return Some(self.scanned);
            }
            self.scanned = self.filled - self.start;
            if self.eof {
                if self.failed.is_none() && self.scan.in_record() {
                    self.unclosed = self.scan == RecordEnds::InQuotes;
                    self.scan = RecordEnds::Between;
                    return Some(self.scanned);
                }
                return None;
            }
            self.fill();
        }
    }

    /// Bytes `from..end`.
    fn bytes(&self, from: usize, end: usize) -> &[u8] {
        &self.buf[self.start + from..self.start + end]
    }

    /// Whether bytes up to `end` are all the file has.
    fn at_end(&self, end: usize) -> bool {
        self.eof && self.failed.is_none() && self.start + end == self.filled
    }

    /// Moves the start past the first `n` bytes (the end of a record),
    /// which are handed out or done with.
    fn release(&mut self, n: usize) {
        self.line += memchr::memchr_iter(b'\n', self.bytes(0, n)).count() as u64;
        self.start += n;
        self.scanned -= n;
    }

    /// Hands out a copy of the first `n` bytes (the end of a record) and
    /// moves past them, as [`RawRecords::release`] does. The read buffer
    /// stays, grown as a long document made it (up to [`LONG_BATCHES`]
    /// batches' worth): handing it out with a long document's rows instead
    /// would leave a fresh buffer to grow, zero and fault in again for the
    /// next one, which took longer under the feed's lock than the copy.
    fn take(&mut self, n: usize) -> Vec<u8> {
        let from = self.start;
        self.release(n);
        self.buf[from..self.start].to_vec()
    }

    /// Scans again from the start (the end of a record): records after it
    /// were scanned for a batch that ended before them.
    fn rewind(&mut self) {
        self.scanned = 0;
        self.scan = RecordEnds::Between;
    }
}

/// Batches' worth of rows a document may run to and still be handed out
/// as rows for a worker to parse; a longer one is parsed where the batches
/// are cut, its bytes dropped as they are read. The rows of a document are
/// passed over unparsed when they start with its doc_id, so while the
/// parsing is on the workers a document this long costs the thread that
/// cuts batches little more than finding its line ends. 32 batches (2 MiB
/// at the default size) take the longest articles of a news corpus
/// (1.2 MB of rows) off that thread, which the other threads would wait
/// for, at the cost of holding a document's rows beside its text while
/// a worker parses them.
pub const LONG_BATCHES: usize = 32;

/// A sentence CSV cut into batches of whole records that start and end
/// with a document, for the runner's workers to parse (see the module
/// docs): what [`SentenceCsv`] reads, in pieces that can be parsed apart.
/// Reads through the same file handling as [`SentenceCsv`] (a stream
/// capped at [`MAX_ARTICLE_BYTES`], `\r\n` read as `\n`, a byte-order mark
/// at the start dropped), and hands out the documents it would.
pub(crate) struct CsvBatches {
    raw: RawRecords,
    columns: Arc<Columns>,
    /// Parses the records that decide where a batch ends.
    records: Records,
}

impl std::fmt::Debug for CsvBatches {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CsvBatches")
            .field("path", &self.raw.path)
            .field("line", &self.raw.line)
            .finish_non_exhaustive()
    }
}

impl CsvBatches {
    /// Opens `path` and reads its header, as [`SentenceCsv::open`] does.
    pub(crate) fn open(path: &Path) -> Result<CsvBatches> {
        CsvBatches::from_reader(path, open_input(path, MAX_ARTICLE_BYTES)?)
    }

    /// Reads the CSV `path` from `file`.
    fn from_reader(path: &Path, file: Box<dyn Read + Send>) -> Result<CsvBatches> {
        let mut raw = RawRecords {
            path: path.to_path_buf(),
            reader: CrlfToLf::new(file),
            buf: Vec::new(),
            filled: 0,
            start: 0,
            line: 1,
            scanned: 0,
            scan: RecordEnds::Between,
            eof: false,
            failed: None,
            unclosed: false,
        };
        // The csv parser drops a byte-order mark at the start of the first
        // bytes it is given: those of the file's first read.
        raw.fill();
        let mut records = if raw.buf[..raw.filled].starts_with(BOM) {
            raw.scanned = BOM.len();
            Records::at_file_start()
        } else {
            Records::after_start(1)
        };
        // The header is the first record (none in an empty file). A first
        // read of the mark alone leaves the parser an empty input, which
        // it takes for the end of the file.
        let header_end = if raw.buf[..raw.filled] == *BOM {
            None
        } else {
            raw.next_end()
        };
        if let Some(e) = raw.failed.take() {
            return Err(e);
        }
        if let Some(end) = header_end {
            records.parse(raw.bytes(0, end), raw.at_end(end));
            raw.release(end);
        }
        let columns = Columns::new(path, (0..records.len).filter_map(|i| records.field(i)))?;
        Ok(CsvBatches {
            raw,
            columns: Arc::new(columns),
            records,
        })
    }

    /// The next batch: whole records of at least `batch_bytes` bytes (all
    /// that is left, at the end), up to where a document ends. Only the
    /// records from the one that reaches `batch_bytes` on are parsed here,
    /// to find the first that starts another document; if the batch grows
    /// past [`LONG_BATCHES`] times `batch_bytes` before that, the document is read here
    /// (see [`CsvBatches::long_document`]).
    pub(crate) fn next_batch(&mut self, batch_bytes: usize) -> CsvBatch {
        let (mut from, mut end) = (0, 0);
        while end < batch_bytes {
            match self.raw.next_end() {
                Some(e) => (from, end) = (end, e),
                None => return self.rows(end, true),
            }
        }
        let long = batch_bytes.saturating_mul(LONG_BATCHES);
        // The doc_id the batch ends with (of its last row with text).
        let mut ends_with: Option<String> = None;
        // `doc_id,` as it starts that row, when a record that starts with
        // these bytes is sure to have its doc_id (see `plain_prefix`).
        let mut same_doc = Vec::new();
        loop {
            // A record of the same document goes on the batch unparsed.
            let same = !same_doc.is_empty() && self.raw.bytes(from, end).starts_with(&same_doc);
            if !same {
                let records = &mut self.records;
                records.parse(self.raw.bytes(from, end), self.raw.at_end(end));
                if let Some(row) = self.columns.key(|i| records.field(i)) {
                    match &ends_with {
                        Some(id) if id != row.doc_id() => return self.rows(from, false),
                        Some(_) => {}
                        None => {
                            ends_with = Some(row.doc_id().to_string());
                            same_doc = self.columns.plain_prefix(|i| records.field(i));
                        }
                    }
                }
            }
            if end > long {
                return self.long_document(end);
            }
            match self.raw.next_end() {
                Some(e) => (from, end) = (end, e),
                None => return self.rows(end, true),
            }
        }
    }

    /// Hands out the first `n` bytes of the batch as rows for a worker;
    /// `last` when nothing is left after them.
    fn rows(&mut self, n: usize, last: bool) -> CsvBatch {
        let (line, at_end) = (self.raw.line, self.raw.at_end(n));
        let bytes = self.raw.take(n);
        let rows = CsvRows {
            columns: Arc::clone(&self.columns),
            bytes,
            line,
            at_end,
            complete: !last || self.raw.failed.is_none(),
            unclosed: at_end && self.raw.unclosed,
        };
        self.raw.rewind();
        CsvBatch {
            work: CsvWork::Rows(rows),
            notes: CsvNotes::default(),
            last,
            end: if last { self.raw.failed.take() } else { None },
        }
    }

    /// The batch's first `end` bytes end inside a document that goes on
    /// for many batches' worth of rows: parses them here, then the rest of
    /// that document (or of its part, see [`Columns::split_at`]) record by
    /// record, as [`SentenceCsv`] does, dropping the bytes as they are
    /// read, so the batch holds that document's text and not its bytes
    /// too.
    fn long_document(&mut self, end: usize) -> CsvBatch {
        let columns = Arc::clone(&self.columns);
        let (raw, records) = (&mut self.raw, &mut self.records);
        let mut gatherer = Gatherer::default();
        let mut docs = Vec::new();
        records.set_line(raw.line);
        let mut at = 0;
        while at < end {
            let line = records.start_line(raw.bytes(at, end));
            let Some(n) = records.parse(raw.bytes(at, end), raw.at_end(end)) else {
                break;
            };
            at += n;
            if raw.unclosed && at == end && raw.at_end(end) {
                gatherer.notes.unclosed = Some(line);
            }
            let row = columns.row(|i| records.field(i));
            docs.extend(gatherer.push(&columns, &row, line));
        }
        raw.release(end);
        loop {
            let Some(end) = raw.next_end() else {
                let failed = raw.failed.take();
                if failed.is_none() {
                    docs.extend(gatherer.finish(&columns));
                }
                return CsvBatch {
                    work: CsvWork::Documents(docs),
                    notes: gatherer.notes,
                    last: true,
                    end: failed,
                };
            };
            let line = records.start_line(raw.bytes(0, end));
            records.parse(raw.bytes(0, end), raw.at_end(end));
            let row = columns.row(|i| records.field(i));
            let text = row.text();
            if !text.is_empty() && gatherer.starts_document(&columns, row.doc_id(), text.len()) {
                // This record is the next batch's first.
                raw.rewind();
                docs.extend(gatherer.finish(&columns));
                return CsvBatch {
                    work: CsvWork::Documents(docs),
                    notes: gatherer.notes,
                    last: false,
                    end: None,
                };
            }
            if raw.unclosed && raw.at_end(end) {
                gatherer.notes.unclosed = Some(line);
            }
            docs.extend(gatherer.push(&columns, &row, line));
            raw.release(end);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::Rng;

    /// Where the csv parser ends each record of `bytes` (read past a
    /// file's start), the last one included.
    fn parser_ends(bytes: &[u8]) -> Vec<usize> {
        let mut records = Records::after_start(1);
        let (mut at, mut ends) = (0, Vec::new());
        while let Some(n) = records.parse(&bytes[at..], true) {
            at += n;
            ends.push(at);
        }
        ends
    }

    /// Where the scanner ends each record of `bytes`, given to it in
    /// pieces of the sizes `rng` draws.
    fn scanned_ends(bytes: &[u8], rng: &mut Rng) -> Vec<usize> {
        let (mut scan, mut at, mut ends) = (RecordEnds::default(), 0, Vec::new());
        while at < bytes.len() {
            let piece = &bytes[at..(at + 1 + rng.below(12)).min(bytes.len())];
            let mut k = 0;
            while let Some(e) = scan.next_end(&piece[k..]) {
                k += e;
                ends.push(at + k);
            }
            at += piece.len();
        }
        if scan.in_record() {
            ends.push(bytes.len());
        }
        ends
    }

    #[test]
    fn records_end_where_the_csv_parser_ends_them() {
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        let alphabet: &[&[u8]] = &[
            b"a",
            b"b",
            b" ",
            b",",
            b"\"",
            b"\"\"",
            b"\n",
            b"\r",
            b"\r\n",
            b"\xEF\xBB\xBF",
        ];
        for _ in 0..20_000 {
            let len = rng.below(40);
            let bytes: Vec<u8> = (0..len).flat_map(|_| rng.pick(alphabet).to_vec()).collect();
            assert_eq!(
                scanned_ends(&bytes, &mut rng),
                parser_ends(&bytes),
                "{:?}",
                String::from_utf8_lossy(&bytes)
            );
        }
    }

    #[test]
    fn records_after_blank_lines_start_on_their_own_line() {
        let mut rng = Rng(0xbb67_ae85_84ca_a73b);
        for _ in 0..3_000 {
            let bytes = crate::testutil::csv_numbered_by_line(&mut rng);
            if bytes.starts_with(BOM) {
                continue; // only a header follows a mark, and has no line told
            }
            let mut records = Records::at_file_start();
            let mut at = 0;
            loop {
                let line = records.start_line(&bytes[at..]);
                let Some(n) = records.parse(&bytes[at..], true) else {
                    break;
                };
                assert_eq!(
                    records.field(0).unwrap(),
                    line.to_string().as_bytes(),
                    "{:?}",
                    String::from_utf8_lossy(&bytes)
                );
                at += n;
            }
        }
    }

    #[test]
    fn a_parser_used_again_starts_afresh() {
        let cells = |r: &Records| {
            (0..r.len)
                .map(|i| r.field(i).unwrap().to_vec())
                .collect::<Vec<_>>()
        };
        // Left inside a quoted field, at line 40, past a file's start.
        let mut used = Records::after_start(40);
        used.plain = false;
        assert_eq!(used.parse(b"\"open,\n", false), None);
        drop(used);
        let mut again = Records::after_start(3);
        assert_eq!(again.parse(b"a,b\nc\n", false), Some(4));
        assert_eq!(
            (cells(&again), again.line()),
            (vec![b"a".to_vec(), b"b".to_vec()], 4)
        );
        drop(again);
        // At a file's start, a byte-order mark is dropped again.
        let mut first = Records::at_file_start();
        assert_eq!(first.parse(b"\xEF\xBB\xBFid\n", false), Some(6));
        assert_eq!(cells(&first), vec![b"id".to_vec()]);
    }

    #[test]
    fn plain_records_are_split_as_the_csv_parser_splits_them() {
        let mut rng = Rng(0x2545_f491_4f6c_dd1d);
        let alphabet: &[&[u8]] = &[
            b"a",
            b"b c",
            b",",
            b"\"",
            b"\"\"",
            b"\",\"",
            b"\"\n",
            b"\n",
            b"\r",
            b"\xC3\xA9",
            b"\xEF\xBB\xBF",
        ];
        for case in 0..40_000 {
            let len = rng.below(30);
            let bytes: Vec<u8> = (0..len).flat_map(|_| rng.pick(alphabet).to_vec()).collect();
            let end = case % 4 != 0;
            let (mut fast, mut slow) = (Records::after_start(7), Records::after_start(7));
            slow.plain = false;
            let mut at = 0;
            loop {
                let got = fast.parse(&bytes[at..], end);
                let want = slow.parse_with_csv_core(&bytes[at..], end);
                let context = String::from_utf8_lossy(&bytes[at..]);
                assert_eq!(got, want, "{context:?} (end: {end})");
                let Some(n) = got else { break };
                assert_eq!(fast.line(), slow.line(), "{context:?}");
                let cells = |r: &Records| {
                    (0..r.len)
                        .map(|i| r.field(i).unwrap().to_vec())
                        .collect::<Vec<_>>()
                };
                assert_eq!(cells(&fast), cells(&slow), "{context:?}");
                at += n;
            }
        }
    }

    #[test]
    fn batch_keys_agree_with_the_rows_read_in_full() {
        // Columns::key decides where a batch ends without decoding the
        // text; it must leave out exactly the rows Row::text leaves out and
        // give the doc_id Row::doc_id gives, whatever the cells hold:
        // Unicode whitespace (no-break and ideographic spaces, next line),
        // vertical tabs, formula guards, invalid UTF-8, missing cells.
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        let pieces: &[&[u8]] = &[
            b"",
            b" ",
            b"\t",
            b"\x0B",
            b"\x0C",
            b"\r",
            b"'",
            b"=",
            b"a",
            b"7",
            "\u{A0}".as_bytes(),
            "\u{3000}".as_bytes(),
            "\u{85}".as_bytes(),
            "é".as_bytes(),
            b"\xFF",
            b"\xE7\xBF",
        ];
        let header: [&[u8]; 2] = [b"doc_id", b"text"];
        let with_id = Columns::new(Path::new("t.csv"), header.into_iter()).unwrap();
        let without_id = Columns::new(Path::new("t.csv"), [&b"text"[..]].into_iter()).unwrap();
        let cell = |rng: &mut Rng| -> Vec<u8> {
            let len = rng.below(5);
            (0..len).flat_map(|_| rng.pick(pieces).to_vec()).collect()
        };
        for _ in 0..50_000 {
            let cells = [cell(&mut rng), cell(&mut rng)];
            let present = 1 + rng.below(2);
            let field = |i: usize| cells.get(i).filter(|_| i < present).map(Vec::as_slice);
            for columns in [&with_id, &without_id] {
                let key = columns.key(field).map(|r| r.doc_id().to_string());
                let row = columns.row(field);
                let want = (!row.text().is_empty()).then(|| row.doc_id().to_string());
                assert_eq!(key, want, "{cells:?}, {present} cells");
            }
        }
    }

    /// A reader that hands out `bytes` a few at a time, then fails if
    /// `fails`.
    struct Trickle {
        bytes: Vec<u8>,
        at: usize,
        step: usize,
        fails: bool,
    }

    impl Read for Trickle {
        fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
            if self.at == self.bytes.len() && self.fails {
                return Err(std::io::Error::other("the disk went away"));
            }
            let n = self.step.min(out.len()).min(self.bytes.len() - self.at);
            out[..n].copy_from_slice(&self.bytes[self.at..self.at + n]);
            self.at += n;
            Ok(n)
        }
    }

    fn trickle(bytes: &[u8], step: usize, fails: bool) -> Box<dyn Read + Send> {
        Box::new(Trickle {
            bytes: bytes.to_vec(),
            at: 0,
            step,
            fails,
        })
    }

    /// What a reader of a sentence CSV gives: its documents, its warnings
    /// and the error it stopped on.
    type Read_ = (Vec<Document>, Vec<String>, Option<String>);

    /// `bytes` read whole, documents split at `split_at` bytes of text.
    fn read_whole(bytes: &[u8], step: usize, fails: bool, split_at: usize) -> Result<Read_> {
        let mut csv =
            SentenceCsv::from_reader(Path::new("dir/rows.csv"), trickle(bytes, step, fails))?;
        csv.columns.split_at = split_at;
        let (mut docs, mut error) = (Vec::new(), None);
        loop {
            match csv.next_document() {
                Ok(Some(doc)) => docs.push(doc),
                Ok(None) => break,
                Err(e) => {
                    error = Some(e.to_string());
                    break;
                }
            }
        }
        Ok((docs, csv.take_warnings(), error))
    }

    /// `bytes` read in batches of `batch_bytes`, as the runner reads them.
    fn read_in_batches(
        bytes: &[u8],
        step: usize,
        fails: bool,
        split_at: usize,
        batch_bytes: usize,
    ) -> Result<Read_> {
        let mut batches =
            CsvBatches::from_reader(Path::new("dir/rows.csv"), trickle(bytes, step, fails))?;
        Arc::get_mut(&mut batches.columns).unwrap().split_at = split_at;
        let (mut docs, mut notes) = (Vec::new(), CsvNotes::default());
        loop {
            let batch = batches.next_batch(batch_bytes);
            match batch.work {
                CsvWork::Rows(rows) => {
                    let mut parsed = rows.documents();
                    docs.extend(&mut parsed);
                    notes.merge(parsed.into_notes());
                }
                CsvWork::Documents(d) => docs.extend(d),
            }
            notes.merge(batch.notes);
            if batch.last {
                let error = batch.end.map(|e| e.to_string());
                return Ok((docs, notes.into_warnings(), error));
            }
            assert!(batch.end.is_none());
        }
    }

    /// Reads `bytes` whole and in batches of several sizes, each through
    /// reads of several sizes: the same documents, warnings and errors.
    /// Returns what the file read whole at once gives.
    fn assert_batches_read_as_whole(bytes: &[u8], fails: bool, split_at: usize) -> Read_ {
        let mut first = None;
        for step in [1, 3, 4096, 1 << 20] {
            let whole = read_whole(bytes, step, fails, split_at);
            for batch in [1, 2, 5, 17, 64, 300, 1 << 20] {
                let got = read_in_batches(bytes, step, fails, split_at, batch);
                assert_eq!(
                    format!("{got:?}"),
                    format!("{whole:?}"),
                    "{:?} in batches of {batch}, read {step} bytes at a time",
                    String::from_utf8_lossy(bytes)
                );
            }
            first = Some(whole);
        }
        first.unwrap().unwrap_or_default()
    }

    /// A sentence CSV of `rows` rows drawn from `rng`: runs of doc_ids
    /// (some the same when read, some starting with another's bytes),
    /// cells quoted or not (line ends, commas and quotes inside), empty
    /// and blank texts, invalid UTF-8, byte-order marks and stray quotes
    /// inside cells, blank lines, LF, CRLF and CR line ends, missing and
    /// extra cells.
    fn sentence_csv(rng: &mut Rng, header: &str, rows: usize) -> Vec<u8> {
        let mut bytes = header.as_bytes().to_vec();
        // Some read as another's doc_id, or start with its bytes.
        let ids: &[&[u8]] = &[
            b"a", b"b", b" a ", b"", b"'=c", b"\"b\"", b"ab", b"a\"b", b"\"a,b\"", b"\"a\"",
        ];
        let texts: &[&[u8]] = &[
            b"Moscow and Beijing met.",
            b"\"One, two\"",
            b"\"A \"\"quoted\"\" word.\"",
            b"\"Two\nlines.\"",
            b"\"Two\r\nlines.\"",
            b"",
            b"   ",
            b"Bad \xFF byte.",
            b"\xEF\xBB\xBFMarked.",
            b"5\" screen",
            b"'=1+1",
            b"\"\"",
            b"b",
        ];
        let metas: &[&[u8]] = &[b"", b"2024-11-05", b"\"x, y\"", b"t\xFE"];
        let ends: &[&[u8]] = &[b"\n", b"\r\n", b"\r", b"\n\n", b"\r\r\n"];
        let mut id = *rng.pick(ids);
        for _ in 0..rows {
            if rng.below(4) == 0 {
                id = *rng.pick(ids);
            }
            let mut cells = vec![id.to_vec(), rng.pick(texts).to_vec()];
            cells.extend((0..rng.below(4)).map(|_| rng.pick(metas).to_vec()));
            bytes.extend(cells.join(&b","[..]));
            bytes.extend(*rng.pick(ends));
        }
        if rng.below(3) == 0 {
            // No line end after the last row.
            while matches!(bytes.last(), Some(b'\n' | b'\r')) {
                bytes.pop();
            }
        }
        bytes
    }

    #[test]
    fn batches_give_the_documents_and_warnings_of_the_whole_file() {
        let mut rng = Rng(0x2545_f491_4f6c_dd1d);
        let headers = [
            "doc_id,text,date,source,title\n",
            "\u{FEFF}doc_id,text,date\r\n",
            "doc_id,text\r",
            "\n\ndoc_id,\"text\",title\n",
            "text,doc_id\n",
        ];
        for case in 0..300 {
            let header = headers[case % headers.len()];
            let rows = rng.below(30);
            let bytes = sentence_csv(&mut rng, header, rows);
            // Documents split at 10 bytes of text, or never.
            for split_at in [10, MAX_ARTICLE_BYTES as usize] {
                assert_batches_read_as_whole(&bytes, false, split_at);
                assert_batches_read_as_whole(&bytes, true, split_at);
            }
        }
    }

    #[test]
    fn a_record_that_starts_with_a_plain_prefix_has_its_doc_id() {
        // Records of a few bytes that make CSV hard: every record that
        // starts with the prefix taken from another has the same doc_id
        // once parsed, and a plain doc_id gives a prefix.
        let columns =
            Columns::new(Path::new("rows.csv"), [&b"doc_id"[..], b"text"].into_iter()).unwrap();
        let alphabet = b"ab\",' \n\r";
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        let record = |rng: &mut Rng| -> Vec<u8> {
            let mut r: Vec<u8> = (0..rng.below(8)).map(|_| *rng.pick(alphabet)).collect();
            r.push(b'\n');
            r
        };
        let parse = |bytes: &[u8]| -> Option<Vec<u8>> {
            let mut records = Records::after_start(1);
            records.parse(bytes, true)?;
            Some(records.field(0).unwrap_or_default().to_vec())
        };
        let (mut prefixes, mut sure) = (0, 0);
        for _ in 0..50_000 {
            let first = record(&mut rng);
            let Some(id) = parse(&first) else { continue };
            let prefix = columns.plain_prefix(|i| (i == 0).then_some(&id[..]));
            let plain = !id.iter().any(|b| matches!(b, b'"' | b',' | b'\n' | b'\r'));
            assert_eq!(
                prefix.is_empty(),
                !plain,
                "{:?}",
                String::from_utf8_lossy(&id)
            );
            if prefix.is_empty() {
                continue;
            }
            prefixes += 1;
            // A record that starts with the prefix: the prefix and more.
            let mut second = prefix.clone();
            second.extend(record(&mut rng));
            let other = record(&mut rng);
            for r in [&first, &second, &other] {
                if r.starts_with(&prefix) {
                    sure += 1;
                    assert_eq!(
                        parse(r).as_deref(),
                        Some(&id[..]),
                        "{:?} starts with {:?}",
                        String::from_utf8_lossy(r),
                        String::from_utf8_lossy(&prefix)
                    );
                }
            }
        }
        assert!(
            prefixes > 1000 && sure > 2000,
            "{prefixes} prefixes, {sure} checked"
        );
        // Not the first column: no prefix.
        let later =
            Columns::new(Path::new("rows.csv"), [&b"text"[..], b"doc_id"].into_iter()).unwrap();
        assert!(later.plain_prefix(|_| Some(&b"a"[..])).is_empty());
    }

    #[test]
    fn batches_read_edge_files_as_whole() {
        let files: &[&[u8]] = &[
            b"",
            b"\xEF\xBB\xBF",
            b"doc_id,text",
            b"doc_id,text\n",
            b"\xEF\xBB\xBFdoc_id,text\nx,One.\n",
            b"\xEF\xBB\xBF\"text\"\nOne.\n",
            b"\xEF\xBB\xBF\"te\nxt\",doc_id\nOne.,x\n",
            b"body\nx\n",
            b"text\n\xEF\xBB\xBFOne.\n\xEF\xBB\xBFTwo.",
            b"text\nOne.\n\n\nTwo.\n\n",
            b"text\r\rOne.\r\r\nTwo.\r",
            b"doc_id,text\nx,\"unclosed\nquote, to the end",
            b"doc_id,text\nx,One.\ny,\nx,Two.\n",
            b"doc_id,text,doc_id\nx,One.,y\n",
            b"text,text\nOne.,Two.\n",
        ];
        for bytes in files {
            for split_at in [4, MAX_ARTICLE_BYTES as usize] {
                assert_batches_read_as_whole(bytes, false, split_at);
                assert_batches_read_as_whole(bytes, true, split_at);
            }
        }
        // A header that cannot be read in full is an error.
        let err = read_in_batches(b"doc_id,te", 1, true, 10, 10).unwrap_err();
        assert_eq!(err.to_string(), "dir/rows.csv: the disk went away");
    }

    #[test]
    fn a_quote_never_closed_is_told_with_its_line() {
        // Regression: a stray `"` opening a cell made every line after it
        // that cell's text, without a word.
        let warned = |bytes: &[u8]| {
            let (docs, warnings, error) = assert_batches_read_as_whole(bytes, false, 1 << 20);
            assert_eq!(error, None);
            let told: Vec<String> = warnings
                .into_iter()
                .filter(|w| w.contains("never closed"))
                .collect();
            (docs.len(), told)
        };
        let mut rows = b"doc_id,text\n".to_vec();
        for i in 0..200 {
            rows.extend(format!("d{},Row {i}.\n", i / 7).as_bytes());
        }
        let mut stray = rows.clone();
        stray.extend(b"x,\"He said \"\"no, thanks.\ny,Swallowed.\r\nz,Also swallowed.\n");
        let (docs, told) = warned(&stray);
        assert_eq!(docs, 30, "the rows before, then one document of the rest");
        assert_eq!(
            told,
            ["line 202: a quoted field is never closed: the file ends inside it, so every line after it was read as its text (look for a stray `\"` there)"]
        );
        // After a byte-order mark and a quoted header cell, and as the
        // file's only record.
        let (_, told) = warned(b"\xEF\xBB\xBF\"doc_id\",text\na,\"One.\nb,Two.");
        assert_eq!(told.len(), 1);
        assert!(told[0].starts_with("line 2: "), "{told:?}");
        // Quotes closed, quotes inside unquoted text, quoted line ends:
        // nothing to tell.
        for fine in [
            &rows[..],
            b"doc_id,text\na,5\" screen\nb,\"Two\nlines, \"\"quoted\"\".\"\n",
            b"doc_id,text\na,\"closed at the end\"",
            b"\xEF\xBB\"text\nOne.\n",
        ] {
            assert_eq!(warned(fine).1, Vec::<String>::new());
        }
    }

    #[test]
    fn a_document_split_in_parts_is_told_once_per_run() {
        let bytes =
            b"doc_id,text\na,One one.\na,Two two.\na,Three.\nb,Four.\na,Five five.\na,Six six.\n";
        let (docs, warnings, error) = assert_batches_read_as_whole(bytes, false, 12);
        let parts: Vec<(&str, &str)> = docs
            .iter()
            .map(|d| (d.doc_id.as_str(), d.text.as_str()))
            .collect();
        assert_eq!(
            parts,
            [
                ("a", "One one.\n"),
                ("a", "Two two.\n"),
                ("a", "Three.\n"),
                ("b", "Four.\n"),
                ("a", "Five five.\n"),
                ("a", "Six six.\n"),
            ]
        );
        // `a` is split twice, in two runs, but named once after the other.
        assert_eq!(warnings.len(), 1, "{warnings:?}");
        assert!(warnings[0].starts_with("document `a` is longer than"));
        assert_eq!(error, None);
    }

    #[test]
    fn repaired_rows_are_counted_over_the_whole_file_from_the_first() {
        let mut bytes = b"doc_id,text\n".to_vec();
        for i in 0..50 {
            bytes.extend(format!("d{},Row {i}.\n", i / 5).as_bytes());
        }
        bytes.extend(b"d9,Bad \xFF.\nd10,Fine.\nd11,Worse \xFE\xFF.\n");
        let (_, warnings, _) = assert_batches_read_as_whole(&bytes, false, 1 << 20);
        assert_eq!(
            warnings,
            ["not valid UTF-8 in 2 row(s), from line 52: invalid sequence(s) replaced with U+FFFD"]
        );
    }

    #[test]
    fn a_failed_read_keeps_the_documents_before_it() {
        let bytes = b"doc_id,text\nx,One.\nx,Two.\ny,Three.\ny,Four";
        let (docs, _, error) = assert_batches_read_as_whole(bytes, true, 1 << 20);
        // `y` is not known to be whole when the file fails: left out.
        let ids: Vec<&str> = docs.iter().map(|d| d.doc_id.as_str()).collect();
        assert_eq!(ids, ["x"]);
        assert_eq!(error.as_deref(), Some("dir/rows.csv: the disk went away"));
    }

    #[test]
    fn a_long_document_is_read_by_the_batcher() {
        // One document of many rows: past `LONG_BATCHES` batches' worth,
        // the batcher parses it, and hands out what follows as rows again.
        let mut bytes = b"doc_id,text\n".to_vec();
        for i in 0..8 * LONG_BATCHES {
            bytes.extend(format!("long,Sentence {i}.\n").as_bytes());
        }
        for i in 0..20 {
            bytes.extend(format!("s{i},Short {i}.\n").as_bytes());
        }
        let mut batches =
            CsvBatches::from_reader(Path::new("x.csv"), trickle(&bytes, 4096, false)).unwrap();
        let mut kinds = Vec::new();
        loop {
            let batch = batches.next_batch(64);
            kinds.push(match &batch.work {
                CsvWork::Rows(_) => "rows",
                CsvWork::Documents(_) => "documents",
            });
            if batch.last {
                break;
            }
        }
        assert_eq!(kinds[0], "documents", "{kinds:?}");
        assert!(kinds[1..].iter().all(|k| *k == "rows"), "{kinds:?}");
        assert_batches_read_as_whole(&bytes, false, 1 << 20);
    }

    #[test]
    fn the_batcher_reads_ahead_by_little_however_large_its_buffer() {
        /// Fills every read it is asked for, and notes the largest.
        struct Eager {
            bytes: Vec<u8>,
            at: usize,
            largest: std::sync::Arc<std::sync::atomic::AtomicUsize>,
        }
        impl Read for Eager {
            fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
                use std::sync::atomic::Ordering::Relaxed;
                self.largest.fetch_max(buf.len(), Relaxed);
                let n = buf.len().min(self.bytes.len() - self.at);
                buf[..n].copy_from_slice(&self.bytes[self.at..self.at + n]);
                self.at += n;
                Ok(n)
            }
        }
        let mut bytes = b"doc_id,text\r\n".to_vec();
        for i in 0..100_000 {
            bytes.extend(format!("d{},Sentence {i}.\r\n", i / 10).as_bytes());
        }
        let largest = std::sync::Arc::default();
        let reader = Eager {
            bytes: bytes.clone(),
            at: 0,
            largest: std::sync::Arc::clone(&largest),
        };
        let mut batches = CsvBatches::from_reader(Path::new("x.csv"), Box::new(reader)).unwrap();
        // Batches of 1 MiB: the buffer grows to hold one.
        while !batches.next_batch(1 << 20).last {}
        assert!(bytes.len() > 2 << 20);
        let largest = largest.load(std::sync::atomic::Ordering::Relaxed);
        assert!(largest <= READ_BYTES, "a read of {largest} bytes");
    }
}
