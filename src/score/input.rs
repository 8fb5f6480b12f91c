//! Inputs → documents: article files (plain text, Markdown, HTML), sentence
//! CSVs and JSONL records.
//!
//! Has the responsibility to read one input and hand back documents whose
//! sentence spans point into their text, with the article's identity: its
//! id, `source` (the file, or a web page's canonical URL), date and title.
//! Plain text is the source verbatim. Markdown (`markdown.rs`) is the file's
//! text with the markup left out, and every piece of it remembers where it
//! stands in the file, so offsets stay true to the file's bytes. HTML
//! (`html.rs`) is the main text of the page, rebuilt from its elements (tags
//! dropped, entities decoded, whitespace collapsed): no byte range of the
//! file is a sentence, so HTML sentences have no offsets. A sentence CSV
//! (`sentences.rs`) is read whole by one reader, or cut by the runner into
//! batches of whole records, found by a scan of the bytes, that the
//! scoring workers parse; both make the same documents by the same rules.
//! A file's bytes are decoded once
//! here, the same way for every format: a UTF-8 byte-order mark is dropped
//! (offsets still count it), binary data (NUL bytes) in an article is
//! refused, and invalid UTF-8 becomes U+FFFD with one warning naming the
//! file (and, for CSV and JSONL, the line). Streams (standard input, pipes,
//! devices) are read up to [`MAX_ARTICLE_BYTES`] per article or record. A
//! new input format is a reader in this file.

use std::borrow::Cow;
use std::io::{BufRead, Read};
use std::path::Path;

use crate::error::{Error, Result};
use crate::io::{
    csv_headers, has_nul, open_csv, open_input, read_input, too_large, ArticleFormat, Capped,
    Input, MAX_ARTICLE_BYTES,
};
use crate::labels::{column_indices, for_each_record};
use crate::segment::{segment, Span};

mod html;
mod markdown;
mod sentences;

pub use html::{extract_page, Page};
pub use markdown::{strip_markdown, Stripped};
pub use sentences::{load_csv, SentenceCsv, LONG_BATCHES};
pub(crate) use sentences::{CsvBatches, CsvNotes, CsvRows, CsvWork};

/// One article ready to score: its text, the sentence spans in it, and
/// what identifies it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Document {
    /// Article id (see [`crate::io::discover`]; the CSV's `doc_id`, or `stdin`).
    pub doc_id: String,
    /// The text the spans point into.
    pub text: String,
    /// Sentence spans in `text`.
    pub spans: Vec<Span>,
    /// Whether spans map to byte offsets in the source (the file, or a
    /// JSONL record's `text`); false for CSV rows, which are sentences
    /// already, and for HTML pages, whose text is rebuilt from the markup.
    pub has_offsets: bool,
    /// Bytes dropped from the front of the source before `text` (a UTF-8
    /// byte-order mark); added to spans when offsets are written.
    pub base_offset: usize,
    /// Where the pieces of `text` stand in the source, when `text` is not
    /// the source verbatim (Markdown with its markup left out); empty when
    /// it is. See [`Document::source_range`].
    pub pieces: Vec<Piece>,
    /// The article's date: a sentence CSV's `date` column, a JSONL record's
    /// `date` field, a web page's publication date, a Markdown file's front
    /// matter `date`; written as `YYYY-MM-DD` when it can be read as a date
    /// (see [`normalize_date`]), as given otherwise. `None` when unknown.
    pub date: Option<String>,
    /// Where the article came from: the file (as named on the command
    /// line or found in a folder), a web page's canonical URL, or a CSV's
    /// `source` column / a JSONL record's `source` field (default: the CSV
    /// or JSONL file). `None` when unknown (standard input).
    pub source: Option<String>,
    /// The article's title, when the input names one: a web page's title,
    /// a Markdown file's front matter `title` or first top-level heading, a
    /// CSV's `title` column or a JSONL record's `title` field.
    pub title: Option<String>,
    /// The article's sentences before `spans[0]`: not 0 for a later part
    /// of an article file read in parts, whose `sentence_id`s go on from
    /// the part before (see [`Document::sentence_id`]).
    pub first_sentence: usize,
    /// For a part of an article file read in parts, the actor groups the
    /// whole article names (as far as the off-topic gate needs to know):
    /// the gate decides on them instead of on this part's sentences.
    pub actors: Option<u32>,
}

/// A stretch of a [`Document`]'s text taken from the source file: bytes
/// `text_start..text_start + text_len` of the text came from bytes
/// `source_start..source_start + source_len` of the source (after the
/// byte-order mark). Equal lengths mean a verbatim copy; different ones a
/// character written otherwise in the source (`&amp;` for `&`, `\*` for
/// `*`), which maps as a whole.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Piece {
    /// Start in the document's text.
    pub text_start: usize,
    /// Length in the document's text.
    pub text_len: usize,
    /// Start in the source.
    pub source_start: usize,
    /// Length in the source.
    pub source_len: usize,
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
            ..Document::default()
        }
    }

    /// The sentences `range` of the document as a document of their own,
    /// as a part of an article file read in parts is one: its own copy of
    /// their text, `sentence_id`s and byte offsets as in the whole, and the
    /// off-topic gate deciding on `actors` (the whole document's) rather
    /// than on these sentences. For a document whose text is the source
    /// verbatim (no `pieces`: a part's offsets could not be mapped
    /// otherwise).
    ///
    /// # Panics
    ///
    /// If `range` is not within the spans, or a span not within the text
    /// on character boundaries (as [`Span::text`]).
    pub fn part(&self, range: std::ops::Range<usize>, actors: Option<u32>) -> Document {
        debug_assert!(self.pieces.is_empty(), "a part of a document with pieces");
        let spans = &self.spans[range.clone()];
        let start = spans.first().map_or(0, |s| s.start);
        let end = spans.iter().map(|s| s.end).max().unwrap_or(start);
        Document {
            doc_id: self.doc_id.clone(),
            text: self.text[start..end].to_string(),
            spans: spans
                .iter()
                .map(|s| Span {
                    start: s.start - start,
                    end: s.end - start,
                })
                .collect(),
            has_offsets: self.has_offsets,
            base_offset: self.base_offset + start,
            pieces: Vec::new(),
            date: self.date.clone(),
            source: self.source.clone(),
            title: self.title.clone(),
            first_sentence: self.first_sentence + range.start,
            actors,
        }
    }

    /// The 1-based number in its article of the sentence `spans[index]`
    /// (the predictions file's `sentence_id`).
    pub fn sentence_id(&self, index: usize) -> u64 {
        (self.first_sentence + index) as u64 + 1
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
            ..Document::default()
        }
    }

    /// The bytes of the source file that sentence `span` was read from:
    /// from its first character to its last, so markup inside it (a
    /// Markdown link's target, `**`) lies in the range but not in the
    /// sentence. `None` when the document has no offsets (CSV rows, HTML).
    pub fn source_range(&self, span: Span) -> Option<(usize, usize)> {
        self.source_range_from(span, &mut 0)
    }

    /// [`Document::source_range`], its search among the pieces started at
    /// piece `hint`, which is left at the piece that holds the first byte
    /// of `span`: where the search for the sentence after it starts. Rows
    /// are written in sentence order, so each sentence's pieces are a step
    /// or two on from the last one's, where two binary searches over all
    /// of a Markdown document's pieces were 2.8% of scoring a folder of
    /// Markdown files. Any `hint` gives the same range.
    #[inline]
    pub(crate) fn source_range_from(&self, span: Span, hint: &mut usize) -> Option<(usize, usize)> {
        if !self.has_offsets {
            return None;
        }
        let base = self.base_offset;
        if self.pieces.is_empty() {
            return Some((base + span.start, base + span.end));
        }
        self.range_in_pieces(span, hint)
    }

    /// [`Document::source_range_from`] for a document with pieces: kept
    /// out of line, so the rows of the others (every CSV row, every plain
    /// text article) see only the two tests above.
    #[inline(never)]
    fn range_in_pieces(&self, span: Span, hint: &mut usize) -> Option<(usize, usize)> {
        let base = self.base_offset;
        // The piece holding the first byte, and the one holding the last.
        let pieces = &self.pieces;
        let first = partition_from(pieces, *hint, |p| p.text_start + p.text_len <= span.start);
        *hint = first;
        let last = partition_from(pieces, first, |p| p.text_start < span.end).checked_sub(1)?;
        let (a, b) = (pieces.get(first)?, pieces.get(last)?);
        let start = if a.text_len == a.source_len && span.start >= a.text_start {
            a.source_start + (span.start - a.text_start)
        } else {
            a.source_start
        };
        let end = if b.text_len == b.source_len && span.end <= b.text_start + b.text_len {
            b.source_start + (span.end - b.text_start)
        } else {
            b.source_start + b.source_len
        };
        Some((base + start, base + end.max(start)))
    }
}

/// `slice.partition_point(pred)` (`pred` holds for a prefix of `slice`),
/// looked for from index `hint` on: steps of 1, 2, 4… past it until `pred`
/// fails, then a binary search within the last step, so an answer near the
/// hint takes a comparison or two; one before the hint is searched for
/// among the elements before it.
fn partition_from<T>(slice: &[T], hint: usize, pred: impl Fn(&T) -> bool) -> usize {
    let mut lo = hint.min(slice.len());
    if lo > 0 && !pred(&slice[lo - 1]) {
        return slice[..lo].partition_point(pred);
    }
    // `pred` holds for every element before `lo`.
    let mut step = 1;
    loop {
        if lo == slice.len() || !pred(&slice[lo]) {
            return lo;
        }
        let hi = (lo + step).min(slice.len());
        if hi == slice.len() || !pred(&slice[hi]) {
            return lo + 1 + slice[lo + 1..hi].partition_point(pred);
        }
        lo = hi + 1;
        step *= 2;
    }
}

/// Reads a date as `YYYY-MM-DD` where it can: ISO dates and timestamps
/// (`2024-11-05`, `2024-11-05T08:00:00Z`, `2024/11/5`, `20241105`) and
/// dates with an English month name (`5 November 2024`, `Nov 5, 2024`,
/// `Tue, 05 Nov 2024 08:00:00 GMT`). `None` when it is not one of these.
pub fn normalize_date(value: &str) -> Option<String> {
    let value = value.trim();
    let ymd = |y: u32, m: u32, d: u32| {
        ((1000..=9999).contains(&y) && (1..=12).contains(&m) && (1..=31).contains(&d))
            .then(|| format!("{y:04}-{m:02}-{d:02}"))
    };
    let digits: Vec<&str> = value
        .split(|c: char| !c.is_ascii_digit())
        .filter(|t| !t.is_empty())
        .collect();
    let bytes = value.as_bytes();
    if bytes.len() >= 8 && bytes[..4].iter().all(u8::is_ascii_digit) {
        if bytes[..8].iter().all(u8::is_ascii_digit) {
            let n = |r: std::ops::Range<usize>| value[r].parse().unwrap_or(0);
            return ymd(n(0..4), n(4..6), n(6..8));
        }
        if let [y, m, d, ..] = digits[..] {
            if matches!(bytes[4], b'-' | b'/' | b'.')
                && y.len() == 4
                && m.len() <= 2
                && d.len() <= 2
            {
                return ymd(y.parse().ok()?, m.parse().ok()?, d.parse().ok()?);
            }
        }
    }
    const MONTHS: [&str; 12] = [
        "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
    ];
    let words: Vec<&str> = value
        .split(|c: char| !c.is_alphanumeric())
        .filter(|t| !t.is_empty())
        .collect();
    let month = words.iter().find_map(|w| {
        let lower = w.to_lowercase();
        (w.len() >= 3 && w.chars().all(|c| c.is_alphabetic()))
            .then(|| MONTHS.iter().position(|m| lower.starts_with(m)))
            .flatten()
    })?;
    let year = words
        .iter()
        .find(|w| w.len() == 4 && w.chars().all(|c| c.is_ascii_digit()))?;
    let day = words
        .iter()
        .find(|w| (1..=2).contains(&w.len()) && w.chars().all(|c| c.is_ascii_digit()))?;
    ymd(year.parse().ok()?, month as u32 + 1, day.parse().ok()?)
}

/// A date as an input gave it: trimmed, `YYYY-MM-DD` where
/// [`normalize_date`] can read it, as given otherwise; `None` when empty.
pub fn clean_date(value: &str) -> Option<String> {
    let value = value.trim();
    if value.is_empty() {
        return None;
    }
    Some(normalize_date(value).unwrap_or_else(|| value.to_string()))
}

/// A trimmed optional text, `None` when empty.
fn non_empty(value: Option<&str>) -> Option<String> {
    value
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(String::from)
}

/// The documents read from one input, and any warnings about it.
#[derive(Debug, Default)]
pub struct Loaded {
    /// Documents in input order.
    pub documents: Vec<Document>,
    /// Problems that did not stop the input from being scored.
    pub warnings: Vec<String>,
}

pub(super) use crate::io::BOM;

/// Decodes file bytes into a document: strips a UTF-8 BOM (offsets still
/// count it), refuses binary data (NUL bytes), and replaces invalid UTF-8
/// with U+FFFD, with a warning (offsets then refer to the repaired text).
pub fn decode_document(
    path: &Path,
    doc_id: String,
    bytes: Vec<u8>,
    warnings: &mut Vec<String>,
) -> Result<Document> {
    decode_article(path, doc_id, ArticleFormat::Text, bytes, warnings)
}

/// Decodes the bytes of an article file in `format` into a document, as
/// [`decode_document`] does, and reads it by its format: plain text as it
/// is; Markdown with its markup left out ([`strip_markdown`], offsets still
/// into the file); HTML reduced to the page's main text ([`extract_page`],
/// no offsets). `source` is the page's canonical URL when it names one, the
/// path otherwise (none for standard input, `-`).
pub fn decode_article(
    path: &Path,
    doc_id: String,
    format: ArticleFormat,
    bytes: Vec<u8>,
    warnings: &mut Vec<String>,
) -> Result<Document> {
    let base_offset = if bytes.starts_with(BOM) { BOM.len() } else { 0 };
    let text = match format {
        ArticleFormat::Html => decode_page(path, bytes, warnings)?,
        ArticleFormat::Text | ArticleFormat::Markdown => decode(path, bytes, warnings)?,
    };
    let mut doc = match format {
        ArticleFormat::Text => Document::from_text(doc_id, text),
        ArticleFormat::Markdown => {
            let stripped = strip_markdown(&text);
            Document {
                spans: segment(&stripped.text),
                text: stripped.text,
                pieces: stripped.pieces,
                title: stripped.title,
                date: stripped.date.as_deref().and_then(clean_date),
                ..Document::from_text(doc_id, String::new())
            }
        }
        ArticleFormat::Html => {
            let page = extract_page(&text);
            Document {
                spans: segment(&page.text),
                text: page.text,
                has_offsets: false,
                title: page.title,
                date: page.date.as_deref().and_then(clean_date),
                source: page.canonical,
                ..Document::from_text(doc_id, String::new())
            }
        }
    };
    doc.base_offset = base_offset;
    if doc.source.is_none() && path.as_os_str() != "-" {
        doc.source = Some(path.display().to_string());
    }
    Ok(doc)
}

/// Decodes file bytes: strips a UTF-8 BOM, refuses binary data (NUL bytes),
/// and replaces invalid UTF-8 with U+FFFD, with a warning.
pub fn decode(path: &Path, bytes: Vec<u8>, warnings: &mut Vec<String>) -> Result<String> {
    if has_nul(&bytes) {
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
            warnings.push(repaired_warning(text.matches('\u{FFFD}').count()));
            Ok(text)
        }
    }
}

/// Decodes a saved web page: as [`decode`] does when it is UTF-8 (valid
/// UTF-8, a byte-order mark, or no other encoding declared), else from the
/// encoding its `<meta>` tags declare ([`html::declared_encoding`]), with a
/// warning for bytes that encoding has no character for. Valid UTF-8 wins
/// over a declaration because pages saved or converted as UTF-8 often keep
/// their old `<meta charset>`; text in a single-byte encoding with any
/// character beyond ASCII is almost never valid UTF-8 by chance.
pub fn decode_page(path: &Path, bytes: Vec<u8>, warnings: &mut Vec<String>) -> Result<String> {
    let declared = match html::declared_encoding(&bytes) {
        Some(encoding) if !bytes.starts_with(BOM) => encoding,
        _ => return decode(path, bytes, warnings),
    };
    if has_nul(&bytes) {
        return Err(Error::Binary {
            path: path.to_path_buf(),
        });
    }
    // One validation: valid UTF-8 is the text as it is.
    let bytes = match String::from_utf8(bytes) {
        Ok(text) => return Ok(text),
        Err(e) => e.into_bytes(),
    };
    let (text, had_errors) = declared.decode_without_bom_handling(&bytes);
    if had_errors {
        let bad = text.matches('\u{FFFD}').count();
        warnings.push(format!(
            "not valid {}: {bad} sequence(s) replaced with U+FFFD",
            declared.name()
        ));
    }
    Ok(text.into_owned())
}

/// The warning for an article file whose invalid UTF-8 was repaired: `bad`
/// counts the U+FFFD characters in the repaired text.
pub(super) fn repaired_warning(bad: usize) -> String {
    format!("not valid UTF-8: {bad} invalid sequence(s) replaced with U+FFFD")
}

/// The doc_id of a file: its stem.
pub fn doc_id_of(path: &Path) -> String {
    path.file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.display().to_string())
}

/// Reads an article whole: standard input or an article file (a plain-text
/// one of at most [`super::STREAM_ABOVE`] bytes; larger ones are read in
/// parts, see `stream.rs`). Sentence CSVs and JSONL streams are read batch by
/// batch by the runner (see `input/sentences.rs` and [`RecordLines`]),
/// never whole, so they are refused here. An `Err` is the reason the input was skipped.
pub fn load_article(input: &Input) -> Result<Loaded> {
    let mut loaded = Loaded::default();
    match input {
        Input::Stdin => {
            let mut bytes = Vec::new();
            Capped::new(std::io::stdin().lock(), MAX_ARTICLE_BYTES)
                .read_to_end(&mut bytes)
                .map_err(Error::Stdin)?;
            let doc = decode_document(Path::new("-"), "stdin".into(), bytes, &mut loaded.warnings)?;
            loaded.documents.push(doc);
        }
        Input::Article { path, doc_id } => {
            let bytes = read_input(path, MAX_ARTICLE_BYTES)?;
            let format = ArticleFormat::of(path);
            let doc = decode_article(path, doc_id.clone(), format, bytes, &mut loaded.warnings)?;
            loaded.documents.push(doc);
        }
        Input::Csv(path) | Input::Jsonl(path) => {
            return Err(Error::NotAFile {
                path: path.clone(),
                expected: "an article file or -",
            })
        }
    }
    Ok(loaded)
}

/// Reads a CSV with one whole article per row in its `text` column (as the
/// benchmark corpora are), in file order; empty texts are left out.
pub fn load_article_csv(path: &Path) -> Result<Vec<String>> {
    let mut reader = open_csv(path, false)?;
    let header = csv_headers(path, &mut reader)?;
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
    doc_id: Option<DocId>,
    text: String,
    date: Option<String>,
    source: Option<String>,
    title: Option<String>,
}

/// A `doc_id` as archives write it: a string or a number.
#[derive(Debug, serde::Deserialize)]
#[serde(untagged)]
enum DocId {
    Text(String),
    Number(serde_json::Number),
}

/// Parses line `line` of the JSONL stream `source` into a document: an
/// object with the whole article in `text`, an optional `doc_id` (a string
/// or a number; default `SOURCE:LINE`) and optional `date`, `source`
/// (default: the stream's path; none for standard input) and `title`.
pub fn parse_jsonl_record(source: &Path, line: u64, json: &str) -> Result<Document> {
    let record: JsonRecord = serde_json::from_str(json).map_err(|e| Error::Record {
        path: source.to_path_buf(),
        line,
        message: e.to_string(),
    })?;
    let doc_id = match record.doc_id {
        Some(DocId::Text(id)) => id,
        Some(DocId::Number(n)) => n.to_string(),
        None => format!("{}:{line}", source.display()),
    };
    Ok(Document {
        date: record.date.as_deref().and_then(clean_date),
        source: non_empty(record.source.as_deref())
            .or_else(|| (source.as_os_str() != "-").then(|| source.display().to_string())),
        title: non_empty(record.title.as_deref()),
        ..Document::from_text(doc_id, record.text)
    })
}

/// A JSONL stream (a file, or standard input for `-`) read in batches of
/// whole lines, each line up to [`MAX_ARTICLE_BYTES`].
pub struct RecordLines {
    path: std::path::PathBuf,
    reader: std::io::BufReader<Box<dyn Read + Send>>,
    /// Lines read so far.
    line: u64,
    done: bool,
}

impl std::fmt::Debug for RecordLines {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RecordLines")
            .field("path", &self.path)
            .field("line", &self.line)
            .finish_non_exhaustive()
    }
}

impl RecordLines {
    /// Opens `path` (`-` is standard input); a folder is refused.
    pub fn open(path: &Path) -> Result<RecordLines> {
        let inner: Box<dyn Read + Send> = if path.as_os_str() == "-" {
            Box::new(std::io::stdin())
        } else if path.is_dir() {
            return Err(Error::NotAFile {
                path: path.to_path_buf(),
                expected: "a .jsonl file or -",
            });
        } else {
            open_input(path, u64::MAX)?
        };
        Ok(RecordLines {
            path: path.to_path_buf(),
            reader: std::io::BufReader::with_capacity(1 << 16, inner),
            line: 0,
            done: false,
        })
    }

    /// The next lines, with their 1-based line numbers: at least one
    /// (none at the end of the stream), then more while they are already
    /// read and the batch holds less than `max_bytes`, so a slow stream
    /// (a pipe fed record by record) is never waited on for a full batch.
    /// A line over the limit is an [`Error::Record`] that ends the stream:
    /// nothing after it can be found without reading it all.
    pub fn next_batch(&mut self, max_bytes: usize) -> Result<Vec<(u64, Vec<u8>)>> {
        let mut batch = Vec::new();
        let mut bytes = 0;
        while !self.done
            && bytes < max_bytes
            && (batch.is_empty() || !self.reader.buffer().is_empty())
        {
            let mut buf = Vec::new();
            self.line += 1;
            match read_record_line(&mut self.reader, &mut buf, MAX_ARTICLE_BYTES) {
                Ok(true) => {
                    bytes += buf.len();
                    batch.push((self.line, buf));
                }
                Ok(false) => self.done = true,
                Err(e) if e.kind() == std::io::ErrorKind::FileTooLarge => {
                    self.done = true;
                    return Err(Error::Record {
                        path: self.path.clone(),
                        line: self.line,
                        message: format!("{e}; the rest of this input is not read"),
                    });
                }
                Err(e) => {
                    self.done = true;
                    return Err(Error::io(&self.path, e));
                }
            }
        }
        Ok(batch)
    }
}

/// Line `line` of the JSONL stream `source` as a document: decoded (a
/// byte-order mark dropped, invalid UTF-8 replaced with U+FFFD and reported
/// as [`Error::Repaired`] in `problems`) and parsed (a malformed record is
/// reported as [`Error::Record`] and gives `None`, as does a blank line).
pub fn record_document(
    source: &Path,
    line: u64,
    bytes: &[u8],
    problems: &mut Vec<Error>,
) -> Option<Document> {
    let (json, replaced) = decode_record_line(bytes);
    if json.trim().is_empty() {
        return None;
    }
    if replaced > 0 {
        problems.push(Error::Repaired {
            path: source.to_path_buf(),
            line,
            replaced,
        });
    }
    parse_jsonl_record(source, line, &json)
        .map_err(|e| problems.push(e))
        .ok()
}

/// Reads the next line of a record stream into `buf`, without its line
/// end (`\n` or `\r\n`); `Ok(false)` at the end of the stream. A line of
/// more than `limit` bytes is an error ([`std::io::ErrorKind::FileTooLarge`])
/// and nothing more of it is read, so a stream without line ends
/// (`/dev/zero`) cannot exhaust memory.
pub fn read_record_line<R: BufRead>(
    reader: &mut R,
    buf: &mut Vec<u8>,
    limit: u64,
) -> std::io::Result<bool> {
    buf.clear();
    let n = reader
        .by_ref()
        .take(limit.saturating_add(1))
        .read_until(b'\n', buf)?;
    if n == 0 {
        return Ok(false);
    }
    if buf.last() == Some(&b'\n') {
        buf.pop();
        if buf.last() == Some(&b'\r') {
            buf.pop();
        }
    } else if buf.len() as u64 > limit {
        return Err(too_large(limit));
    }
    Ok(true)
}

/// Decodes one line of a record stream: drops a UTF-8 byte-order mark and
/// replaces invalid UTF-8 with U+FFFD; the second value counts the
/// replaced sequences (0 when the line was valid).
pub fn decode_record_line(bytes: &[u8]) -> (Cow<'_, str>, usize) {
    let bytes = bytes.strip_prefix(BOM).unwrap_or(bytes);
    let text = crate::io::decode_lossy(bytes);
    let bad = match &text {
        Cow::Borrowed(_) => 0,
        Cow::Owned(t) => t.matches('\u{FFFD}').count() - count_literal_fffd(bytes),
    };
    (text, bad)
}

/// U+FFFD characters already present (validly encoded) in `bytes`.
fn count_literal_fffd(bytes: &[u8]) -> usize {
    bytes
        .windows(3)
        .filter(|w| *w == "\u{FFFD}".as_bytes())
        .count()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_page_is_decoded_from_its_declared_encoding_unless_it_is_utf8() {
        let page = |head: &str, body: &[u8]| {
            let mut bytes = format!("<html><head>{head}</head><body><p>").into_bytes();
            bytes.extend_from_slice(body);
            let mut warnings = Vec::new();
            let text = decode_page(Path::new("p.html"), bytes, &mut warnings).unwrap();
            (extract_page(&text).text, warnings)
        };
        let w1252 = "<meta charset=windows-1252>";
        // Declared and so: curly quotes, a dash, an accent.
        assert_eq!(
            page(w1252, b"\x93Caf\xe9\x94 \x96 ok"),
            (
                "\u{201C}Caf\u{e9}\u{201D} \u{2013} ok\n".to_string(),
                vec![]
            )
        );
        // Declared, but saved as UTF-8 since: read as UTF-8.
        assert_eq!(
            page(w1252, "Café".as_bytes()),
            ("Café\n".to_string(), vec![])
        );
        // No declaration: UTF-8, repaired with the usual warning.
        let (text, warnings) = page("", b"Caf\xe9");
        assert_eq!(text, "Caf\u{FFFD}\n");
        assert_eq!(warnings.len(), 1);
        // Bytes the declared encoding has no character for.
        let (text, warnings) = page("<meta charset=shift_jis>", b"ok \x82");
        assert!(text.contains('\u{FFFD}'), "{text:?}");
        assert_eq!(
            warnings,
            ["not valid Shift_JIS: 1 sequence(s) replaced with U+FFFD"]
        );
        // NUL bytes are binary in any encoding.
        let nul = decode_page(
            Path::new("p.html"),
            b"<meta charset=windows-1252>\x00\x93".to_vec(),
            &mut Vec::new(),
        );
        assert!(matches!(nul, Err(Error::Binary { .. })));
    }

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
    fn dates_are_read_as_yyyy_mm_dd_where_possible() {
        for (value, want) in [
            ("2024-11-05", Some("2024-11-05")),
            ("2024-11-05T08:00:00+03:00", Some("2024-11-05")),
            ("2024/1/5", Some("2024-01-05")),
            ("20241105", Some("2024-11-05")),
            ("5 November 2024", Some("2024-11-05")),
            ("Nov 5, 2024", Some("2024-11-05")),
            ("Tue, 05 Nov 2024 08:00:00 GMT", Some("2024-11-05")),
            ("2024-13-05", None),
            ("yesterday", None),
            ("", None),
        ] {
            assert_eq!(normalize_date(value).as_deref(), want, "{value:?}");
        }
        assert_eq!(clean_date(" spring 2024 ").as_deref(), Some("spring 2024"));
        assert_eq!(clean_date("  "), None);
    }

    #[test]
    fn article_formats_give_text_identity_and_offsets() {
        let p = Path::new("dir/page.html");
        let html = "\u{FEFF}<html><head><title>T</title><link rel=canonical href=\"https://x.org/p\"></head><body><nav>Menu</nav><article><p>Moscow &amp; Beijing met.</p></article></body></html>";
        let doc = decode_article(
            p,
            "page".into(),
            ArticleFormat::Html,
            html.as_bytes().to_vec(),
            &mut Vec::new(),
        )
        .unwrap();
        assert_eq!(doc.text, "Moscow & Beijing met.\n");
        assert_eq!(doc.source.as_deref(), Some("https://x.org/p"));
        assert_eq!(doc.title.as_deref(), Some("T"));
        assert_eq!(doc.source_range(doc.spans[0]), None);

        let p = Path::new("dir/note.md");
        let md = "\u{FEFF}# Title\n\nThe **deal** was signed.\n";
        let doc = decode_article(
            p,
            "note".into(),
            ArticleFormat::Markdown,
            md.as_bytes().to_vec(),
            &mut Vec::new(),
        )
        .unwrap();
        assert_eq!(doc.source.as_deref(), Some("dir/note.md"));
        assert_eq!(doc.title.as_deref(), Some("Title"));
        let ranges: Vec<&str> = doc
            .spans
            .iter()
            .map(|&s| {
                let (a, b) = doc.source_range(s).unwrap();
                &md[a..b]
            })
            .collect();
        // Offsets count the byte-order mark, as for plain text.
        assert_eq!(ranges, ["Title", "The **deal** was signed."]);

        let doc = decode_article(
            Path::new("a.txt"),
            "a".into(),
            ArticleFormat::Text,
            b"One. Two.".to_vec(),
            &mut Vec::new(),
        )
        .unwrap();
        assert_eq!(doc.source_range(doc.spans[1]), Some((5, 9)));
        assert_eq!(doc.source.as_deref(), Some("a.txt"));
    }

    proptest::proptest! {
        /// Any hint, any cut of a sorted slice: the index
        /// `partition_point` gives.
        #[test]
        fn partition_from_is_partition_point(
            mut values in proptest::collection::vec(0u32..50, 0..80),
            cut in 0u32..52,
            hint in 0usize..90,
        ) {
            values.sort_unstable();
            let pred = |&v: &u32| v < cut;
            proptest::prop_assert_eq!(
                partition_from(&values, hint, pred),
                values.partition_point(pred)
            );
        }
    }

    /// A Markdown document of many pieces: the ranges found with the hint
    /// carried from row to row, in order, backwards and from a stale hint,
    /// are those found afresh.
    #[test]
    fn source_ranges_found_from_a_hint_are_those_found_afresh() {
        let mut md = String::from("# The *summit*\n\n");
        for i in 0..60 {
            md.push_str(&format!(
                "Talk {i} had **[links](https://x.org/{i})** and `code` &amp; \\*stars\\*. Then `more`.\n\n"
            ));
        }
        let doc = decode_article(
            Path::new("n.md"),
            "n".into(),
            ArticleFormat::Markdown,
            md.clone().into_bytes(),
            &mut Vec::new(),
        )
        .unwrap();
        assert!(doc.pieces.len() > 400 && doc.spans.len() > 100);
        let fresh: Vec<_> = doc.spans.iter().map(|&s| doc.source_range(s)).collect();
        assert_eq!(
            fresh[1].map(|(a, b)| &md[a..b]),
            Some("Talk 0 had **[links](https://x.org/0)** and `code` &amp; \\*stars\\*.")
        );
        let mut hint = 0;
        let forward: Vec<_> = doc
            .spans
            .iter()
            .map(|&s| doc.source_range_from(s, &mut hint))
            .collect();
        assert_eq!(forward, fresh);
        let mut backward: Vec<_> = doc
            .spans
            .iter()
            .rev()
            .map(|&s| doc.source_range_from(s, &mut hint))
            .collect();
        backward.reverse();
        assert_eq!(backward, fresh);
        for (k, &s) in doc.spans.iter().enumerate() {
            let mut stale = (k * 37) % (doc.pieces.len() + 3);
            assert_eq!(doc.source_range_from(s, &mut stale), fresh[k]);
        }
    }

    #[test]
    fn jsonl_record_carries_its_date() {
        let p = Path::new("a.jsonl");
        let doc = parse_jsonl_record(p, 3, r#"{"text":"Hi.","date":" 2026-01-05 "}"#).unwrap();
        assert_eq!(
            (
                doc.doc_id.as_str(),
                doc.date.as_deref(),
                doc.source.as_deref()
            ),
            ("a.jsonl:3", Some("2026-01-05"), Some("a.jsonl"))
        );
        let doc = parse_jsonl_record(
            p,
            4,
            r#"{"text":"Hi.","source":"https://x.org/a","title":" T ","date":"5 May 2022"}"#,
        )
        .unwrap();
        assert_eq!(
            (
                doc.source.as_deref(),
                doc.title.as_deref(),
                doc.date.as_deref()
            ),
            (Some("https://x.org/a"), Some("T"), Some("2022-05-05"))
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
        let docs = load_csv(&p, &mut Vec::new()).unwrap();
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
        let dates: Vec<Option<String>> = load_csv(&p, &mut Vec::new())
            .unwrap()
            .into_iter()
            .map(|d| d.date)
            .collect();
        assert_eq!(dates, [Some("2026-03-02".to_string()), None]);
        std::fs::write(&p, "body\nx\n").unwrap();
        assert!(load_csv(&p, &mut Vec::new())
            .unwrap_err()
            .to_string()
            .contains("missing column `text`"));
    }
}
