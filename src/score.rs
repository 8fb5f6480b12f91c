//! Batch scoring: inputs → documents → sentences → CSV rows.
//!
//! Has the responsibility to read every input, segment it, score every
//! sentence and write one CSV row per sentence in input order. Worker
//! threads (one [`Scorer`] each, so each keeps its word cache for the whole
//! run) take inputs in turn, read, score and format them; the calling thread
//! writes the results in input order as they complete. At most
//! [`ScoreOptions::window`] inputs are in flight, so memory does not grow
//! with the input, and the output does not depend on the thread count.
//!
//! Output columns: `doc_id,sentence_id,start,end,text,label,confidence`, one
//! `p_<class>` per class in model order, then `evidence`. `sentence_id`
//! counts from 1 within a document; `start`/`end` are byte offsets into the
//! source file (empty for CSV inputs, whose rows are already sentences);
//! probabilities are written with six decimals; `evidence` lists up to N
//! terms as `term (+0.123)`, joined by `; `.

use std::fmt::Write as _;
use std::io::{Read, Write};
use std::path::Path;

use crate::error::{Error, Result};
use crate::features::SparseVec;
use crate::io::Input;
use crate::labels::{column_indices, for_each_record};
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
        match docs.last_mut() {
            Some((id, sentences)) if id == doc_id => sentences.push(text),
            _ => docs.push((doc_id.to_string(), vec![text])),
        }
        Ok(())
    })?;
    Ok(docs
        .into_iter()
        .map(|(id, sentences)| Document::from_sentences(id, &sentences))
        .collect())
}

/// Characters that make a spreadsheet treat a cell as a formula.
const FORMULA_START: [char; 6] = ['=', '+', '-', '@', '\t', '\r'];

/// Protects a text cell against formula injection: a cell starting with
/// `=`, `+`, `-`, `@`, a tab or a carriage return — or with a `'` that would
/// otherwise be ambiguous — gets a leading `'`, which spreadsheets show as
/// plain text. [`unprotect_cell`] undoes it exactly.
pub fn protect_cell(text: &str) -> std::borrow::Cow<'_, str> {
    match text.chars().next() {
        Some(c) if FORMULA_START.contains(&c) || c == '\'' => format!("'{text}").into(),
        _ => text.into(),
    }
}

/// Undoes [`protect_cell`]: drops a leading `'` that precedes a formula
/// character or another `'`.
pub fn unprotect_cell(cell: &str) -> &str {
    let mut chars = cell.chars();
    match (chars.next(), chars.next()) {
        (Some('\''), Some(c)) if FORMULA_START.contains(&c) || c == '\'' => &cell[1..],
        _ => cell,
    }
}

/// The CSV header for a model's classes: the fixed columns, one `p_<class>`
/// per class, `evidence`, and an empty `review` column for corrections.
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
    h.push("review".into());
    h
}

/// Scoring settings.
#[derive(Debug, Clone, Copy)]
pub struct ScoreOptions {
    /// Evidence terms per row; defaults to `3`.
    pub evidence: usize,
    /// Worker threads; `0` (the default) means one per core.
    pub threads: usize,
    /// Inputs in flight at most (read or scored but not yet written);
    /// defaults to `128`.
    pub window: usize,
    /// Output format; defaults to CSV.
    pub format: Format,
}

/// How predictions are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Format {
    /// A CSV with a header row (see the module docs).
    #[default]
    Csv,
    /// One JSON object per sentence and line, with the CSV's fields (but
    /// `review`); `start` and `end` are `null` for pre-split sentences.
    Jsonl,
}

impl Default for ScoreOptions {
    fn default() -> Self {
        ScoreOptions {
            evidence: 3,
            threads: 0,
            window: 128,
            format: Format::Csv,
        }
    }
}

/// One scored sentence of a document.
#[derive(Debug, Clone, PartialEq)]
pub struct Scored {
    /// Index of the sentence in [`Document::spans`].
    pub index: usize,
    /// Most probable class.
    pub label: usize,
    /// Probability per class.
    pub probabilities: Vec<f64>,
    /// Evidence terms formatted as `term (+0.123); …`.
    pub evidence: String,
}

impl Scored {
    /// Difference between the two highest probabilities (1 for one class).
    pub fn margin(&self) -> f64 {
        let (mut first, mut second) = (f64::NEG_INFINITY, f64::NEG_INFINITY);
        for &p in &self.probabilities {
            if p > first {
                second = first;
                first = p;
            } else if p > second {
                second = p;
            }
        }
        if second.is_finite() {
            first - second
        } else {
            1.0
        }
    }
}

/// Per-thread scoring state.
pub struct Scorer<'m> {
    model: &'m Model,
    transformer: crate::features::Transformer<'m>,
    x: SparseVec,
    options: ScoreOptions,
    buf: Vec<u8>,
}

impl<'m> Scorer<'m> {
    /// A scorer for one worker thread.
    pub fn new(model: &'m Model, options: ScoreOptions) -> Self {
        Scorer {
            model,
            transformer: model.featurizer().transformer(),
            x: SparseVec::default(),
            options,
            buf: Vec::new(),
        }
    }

    /// Scores one sentence. Evidence terms are the sentence's own words
    /// (falling back to the training surface form).
    pub fn score_sentence(&mut self, index: usize, sentence: &str) -> Scored {
        self.transformer.transform(sentence, &mut self.x);
        let p = self.model.predict(&self.x, self.options.evidence);
        let mut evidence = String::new();
        for (i, e) in p.evidence.iter().enumerate() {
            if i > 0 {
                evidence.push_str("; ");
            }
            match self.transformer.surface(e.feature) {
                Some((s, t)) => {
                    for (k, word) in sentence[s..t].split_whitespace().enumerate() {
                        if k > 0 {
                            evidence.push(' ');
                        }
                        evidence.push_str(word);
                    }
                }
                None => evidence.push_str(&self.model.featurizer().display()[e.feature]),
            }
            // Writing into a String cannot fail.
            let _ = write!(evidence, " ({:+.3})", e.contribution);
        }
        Scored {
            index,
            label: p.label,
            probabilities: p.probabilities,
            evidence,
        }
    }

    /// Scores every sentence of `doc`.
    pub fn score_document(&mut self, doc: &Document) -> Vec<Scored> {
        doc.spans
            .iter()
            .enumerate()
            .map(|(i, span)| self.score_sentence(i, span.text(&doc.text)))
            .collect()
    }

    /// Appends the CSV row of one scored sentence of `doc` to `out`. Fields
    /// are formatted into one reused buffer: no allocation per row.
    pub fn write_row(
        &mut self,
        doc: &Document,
        scored: &Scored,
        out: &mut csv::Writer<Vec<u8>>,
    ) -> Result<()> {
        let span = doc.spans[scored.index];
        let buf = &mut self.buf;
        let field = |out: &mut csv::Writer<Vec<u8>>, bytes: &[u8]| {
            out.write_field(bytes)
                .map_err(|e| Error::io("<memory>", std::io::Error::other(e.to_string())))
        };
        field(out, protect_cell(&doc.doc_id).as_bytes())?;
        buf.clear();
        push_uint(buf, scored.index as u64 + 1);
        field(out, buf)?;
        if doc.has_offsets {
            buf.clear();
            push_uint(buf, (doc.base_offset + span.start) as u64);
            field(out, buf)?;
            buf.clear();
            push_uint(buf, (doc.base_offset + span.end) as u64);
            field(out, buf)?;
        } else {
            field(out, b"")?;
            field(out, b"")?;
        }
        field(out, protect_cell(span.text(&doc.text)).as_bytes())?;
        field(out, self.model.classes()[scored.label].as_bytes())?;
        buf.clear();
        push_fixed6(buf, scored.probabilities[scored.label]);
        field(out, buf)?;
        for &prob in &scored.probabilities {
            buf.clear();
            push_fixed6(buf, prob);
            field(out, buf)?;
        }
        field(out, scored.evidence.as_bytes())?;
        field(out, b"")?;
        out.write_record(None::<&[u8]>)
            .map_err(|e| Error::io("<memory>", std::io::Error::other(e.to_string())))
    }
}

impl Scorer<'_> {
    /// Appends the JSON line of one scored sentence of `doc` to `out`.
    pub fn write_json_row(&mut self, doc: &Document, scored: &Scored, out: &mut Vec<u8>) {
        let span = doc.spans[scored.index];
        let string = |out: &mut Vec<u8>, s: &str| {
            // Serialising a &str cannot fail.
            let _ = serde_json::to_writer(&mut *out, s);
        };
        out.extend_from_slice(b"{\"doc_id\":");
        string(out, &doc.doc_id);
        out.extend_from_slice(b",\"sentence_id\":");
        push_uint(out, scored.index as u64 + 1);
        if doc.has_offsets {
            out.extend_from_slice(b",\"start\":");
            push_uint(out, (doc.base_offset + span.start) as u64);
            out.extend_from_slice(b",\"end\":");
            push_uint(out, (doc.base_offset + span.end) as u64);
        } else {
            out.extend_from_slice(b",\"start\":null,\"end\":null");
        }
        out.extend_from_slice(b",\"text\":");
        string(out, span.text(&doc.text));
        out.extend_from_slice(b",\"label\":");
        string(out, &self.model.classes()[scored.label]);
        out.extend_from_slice(b",\"confidence\":");
        push_fixed6(out, scored.probabilities[scored.label]);
        for (class, &p) in self.model.classes().iter().zip(&scored.probabilities) {
            out.extend_from_slice(b",");
            string(out, &format!("p_{class}"));
            out.push(b':');
            push_fixed6(out, p);
        }
        out.extend_from_slice(b",\"evidence\":");
        string(out, &scored.evidence);
        out.extend_from_slice(b"}\n");
    }

    /// Appends every sentence of `doc` in `format`.
    pub fn write_document(
        &mut self,
        doc: &Document,
        scored: &[Scored],
        format: Format,
    ) -> std::result::Result<Vec<u8>, String> {
        match format {
            Format::Csv => {
                let mut buf = csv::WriterBuilder::new()
                    .has_headers(false)
                    .from_writer(Vec::new());
                for s in scored {
                    self.write_row(doc, s, &mut buf)
                        .map_err(|e| e.to_string())?;
                }
                buf.into_inner().map_err(|e| e.to_string())
            }
            Format::Jsonl => {
                let mut buf = Vec::new();
                for s in scored {
                    self.write_json_row(doc, s, &mut buf);
                }
                Ok(buf)
            }
        }
    }
}

/// Appends the decimal digits of `n`.
fn push_uint(buf: &mut Vec<u8>, mut n: u64) {
    let mut digits = [0u8; 20];
    let mut i = digits.len();
    loop {
        i -= 1;
        digits[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    buf.extend_from_slice(&digits[i..]);
}

/// Appends a probability in `0..=1` with six decimals (`0.123457`), as
/// `format!("{:.6}")` would for all but exact ties at the seventh decimal.
fn push_fixed6(buf: &mut Vec<u8>, p: f64) {
    let scaled = (p.clamp(0.0, 1.0) * 1e6).round() as u64;
    push_uint(buf, scaled / 1_000_000);
    buf.push(b'.');
    let frac = scaled % 1_000_000;
    let start = buf.len();
    push_uint(buf, frac);
    let width = buf.len() - start;
    if width < 6 {
        buf.splice(start..start, std::iter::repeat_n(b'0', 6 - width));
    }
}

/// Per-article totals for `--summary` and `--chart`.
#[derive(Debug, Clone, PartialEq)]
pub struct DocSummary {
    /// The article.
    pub doc_id: String,
    /// Sentences scored.
    pub sentences: usize,
    /// Sentences per predicted class.
    pub counts: Vec<usize>,
    /// Sum of each class's probability over the sentences.
    pub probability_sums: Vec<f64>,
}

impl DocSummary {
    /// Totals of one scored document.
    pub fn of(doc: &Document, scored: &[Scored], n_classes: usize) -> DocSummary {
        let mut counts = vec![0; n_classes];
        let mut probability_sums = vec![0.0; n_classes];
        for s in scored {
            counts[s.label] += 1;
            for (sum, p) in probability_sums.iter_mut().zip(&s.probabilities) {
                *sum += p;
            }
        }
        DocSummary {
            doc_id: doc.doc_id.clone(),
            sentences: scored.len(),
            counts,
            probability_sums,
        }
    }

    /// Share of sentences predicted as each class (zeros for no sentences).
    pub fn shares(&self) -> Vec<f64> {
        self.counts
            .iter()
            .map(|&c| {
                if self.sentences > 0 {
                    c as f64 / self.sentences as f64
                } else {
                    0.0
                }
            })
            .collect()
    }

    /// Mean probability of each class over the sentences.
    pub fn mean_probabilities(&self) -> Vec<f64> {
        self.probability_sums
            .iter()
            .map(|&s| {
                if self.sentences > 0 {
                    s / self.sentences as f64
                } else {
                    0.0
                }
            })
            .collect()
    }
}

/// Writes the per-article summary CSV: `doc_id,sentences`, then for each
/// class `n_<class>`, `share_<class>` and `mean_p_<class>`.
pub fn write_summary(
    classes: &[String],
    summaries: &[DocSummary],
    out: &mut dyn Write,
) -> std::io::Result<()> {
    let mut w = csv::Writer::from_writer(out);
    let mut header = vec!["doc_id".to_string(), "sentences".to_string()];
    for c in classes {
        header.push(format!("n_{c}"));
        header.push(format!("share_{c}"));
        header.push(format!("mean_p_{c}"));
    }
    w.write_record(&header)?;
    for s in summaries {
        let mut row = vec![
            protect_cell(&s.doc_id).into_owned(),
            s.sentences.to_string(),
        ];
        let shares = s.shares();
        let means = s.mean_probabilities();
        for c in 0..classes.len() {
            row.push(s.counts[c].to_string());
            row.push(format!("{:.4}", shares[c]));
            row.push(format!("{:.4}", means[c]));
        }
        w.write_record(&row)?;
    }
    w.flush()
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
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Summary {
    /// Inputs scored.
    pub inputs: usize,
    /// Documents scored.
    pub documents: usize,
    /// Sentences (rows) written.
    pub sentences: usize,
    /// Inputs skipped.
    pub skipped: usize,
    /// One entry per scored document, in input order.
    pub articles: Vec<DocSummary>,
}

/// Reads and scores `inputs` on worker threads. For every input, in input
/// order, `sink` receives what `work` made of each of its documents on a
/// worker thread; `on_event` hears about every input.
pub fn for_each_input<T, W, S>(
    model: &Model,
    inputs: &[Input],
    options: ScoreOptions,
    work: W,
    mut sink: S,
    mut on_event: impl FnMut(Event<'_>),
) -> Result<Summary>
where
    T: Send,
    W: Fn(&mut Scorer<'_>, &Document, &[Scored]) -> std::result::Result<T, String> + Sync,
    S: FnMut(T) -> Result<()>,
{
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
    use std::sync::{Condvar, Mutex};

    /// What a worker hands back for one input: its warnings and, per
    /// document, the totals and `work`'s result. Documents and scored
    /// sentences are dropped on the worker that made them, so the writing
    /// thread frees nothing another thread allocated.
    type Done<T> = std::result::Result<(Vec<String>, Vec<(DocSummary, T)>), String>;

    let n_classes = model.classes().len();
    let threads = if options.threads == 0 {
        std::thread::available_parallelism().map_or(1, |n| n.get())
    } else {
        options.threads
    }
    .min(inputs.len().max(1));
    let window = options.window.max(threads);
    let next = AtomicUsize::new(0);
    let stop = AtomicBool::new(false);
    // Index of the next input to be written; workers wait while they would
    // run more than `window` inputs ahead of it.
    let written = (Mutex::new(0usize), Condvar::new());
    let mut summary = Summary::default();
    let mut failure = None;

    // Reads, scores and formats one input on the calling thread's scorer.
    let process = |scorer: &mut Scorer<'_>, i: usize| -> Done<T> {
        let loaded = load(&inputs[i])?;
        let mut out = Vec::with_capacity(loaded.documents.len());
        for doc in &loaded.documents {
            let scored = scorer.score_document(doc);
            let t = work(scorer, doc, &scored)?;
            out.push((DocSummary::of(doc, &scored, n_classes), t));
        }
        Ok((loaded.warnings, out))
    };

    std::thread::scope(|scope| {
        let (tx, rx) = std::sync::mpsc::channel::<(usize, Done<T>)>();
        // The calling thread is one of the `threads` workers; it also writes.
        for _ in 1..threads {
            let tx = tx.clone();
            let (next, stop, written, process) = (&next, &stop, &written, &process);
            scope.spawn(move || {
                let mut scorer = Scorer::new(model, options);
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= inputs.len() || stop.load(Ordering::Relaxed) {
                        break;
                    }
                    {
                        let (lock, cv) = written;
                        let mut w = lock.lock().unwrap_or_else(|e| e.into_inner());
                        while i >= *w + window && !stop.load(Ordering::Relaxed) {
                            w = cv.wait(w).unwrap_or_else(|e| e.into_inner());
                        }
                    }
                    if tx.send((i, process(&mut scorer, i))).is_err() {
                        break;
                    }
                }
            });
        }
        drop(tx);

        let mut scorer = Scorer::new(model, options);
        let mut pending = std::collections::BTreeMap::new();
        let mut next_write = 0;
        // Writes every result that is next in input order.
        let mut flush = |pending: &mut std::collections::BTreeMap<usize, Done<T>>,
                         next_write: &mut usize| {
            while let Some(done) = pending.remove(next_write) {
                let input = &inputs[*next_write];
                match done {
                    Ok((warnings, per_doc)) => {
                        for message in warnings {
                            on_event(Event::Warning { input, message });
                        }
                        let mut sentences = 0;
                        summary.documents += per_doc.len();
                        for (doc_summary, t) in per_doc {
                            sentences += doc_summary.sentences;
                            summary.articles.push(doc_summary);
                            if failure.is_none() {
                                if let Err(e) = sink(t) {
                                    failure = Some(e);
                                    stop.store(true, Ordering::Relaxed);
                                }
                            }
                        }
                        summary.inputs += 1;
                        summary.sentences += sentences;
                        on_event(Event::Scored { input, sentences });
                    }
                    Err(reason) => {
                        summary.skipped += 1;
                        on_event(Event::Skipped { input, reason });
                    }
                }
                *next_write += 1;
                let (lock, cv) = &written;
                *lock.lock().unwrap_or_else(|e| e.into_inner()) = *next_write;
                cv.notify_all();
            }
        };
        while next_write < inputs.len() && !stop.load(Ordering::Relaxed) {
            // Collect what the other workers finished, without waiting.
            while let Ok((i, done)) = rx.try_recv() {
                pending.insert(i, done);
            }
            flush(&mut pending, &mut next_write);
            let i = next.load(Ordering::Relaxed);
            if i < inputs.len() && i < next_write + window {
                // Take the next input ourselves.
                if next
                    .compare_exchange(i, i + 1, Ordering::Relaxed, Ordering::Relaxed)
                    .is_ok()
                {
                    pending.insert(i, process(&mut scorer, i));
                }
            } else if next_write < inputs.len() {
                // Nothing left to take (or too far ahead): wait for a worker.
                match rx.recv() {
                    Ok((i, done)) => {
                        pending.insert(i, done);
                    }
                    Err(_) => {
                        flush(&mut pending, &mut next_write);
                        break;
                    }
                }
            }
        }
        flush(&mut pending, &mut next_write);
        // Wake any worker still waiting so the scope can end.
        stop.store(true, Ordering::Relaxed);
        written.1.notify_all();
    });
    match failure {
        Some(e) => Err(e),
        None => Ok(summary),
    }
}

fn header_bytes(classes: &[String]) -> Vec<u8> {
    // Class names are validated ASCII identifiers: no field needs quoting.
    let mut line = header(classes).join(",");
    line.push('\n');
    line.into_bytes()
}

/// Scores `inputs` and writes the predictions CSV (header included) to
/// `out`, calling `on_event` in input order for each input.
pub fn score_inputs<W: Write>(
    model: &Model,
    inputs: &[Input],
    out: W,
    options: ScoreOptions,
    on_event: impl FnMut(Event<'_>),
) -> Result<Summary> {
    let mut out = out;
    if options.format == Format::Csv {
        out.write_all(&header_bytes(model.classes()))
            .map_err(|e| Error::io("<output>", e))?;
    }
    let summary = for_each_input(
        model,
        inputs,
        options,
        |scorer, doc, scored| scorer.write_document(doc, scored, options.format),
        |bytes| out.write_all(&bytes).map_err(|e| Error::io("<output>", e)),
        on_event,
    )?;
    out.flush().map_err(|e| Error::io("<output>", e))?;
    Ok(summary)
}

/// One record of a JSONL archive: the article's id and its whole text.
#[derive(Debug, serde::Deserialize)]
struct JsonRecord {
    doc_id: Option<String>,
    text: String,
}

/// Scores a JSONL stream: one `{"doc_id": …, "text": …}` object per line,
/// the whole article in `text` (`doc_id` defaults to `SOURCE:LINE`). Each
/// record is scored and its rows written and flushed before the next line
/// is read, so memory stays bounded however long the stream and output
/// follows input order. A malformed line is reported through `on_problem`
/// with its line number, counted as skipped, and the stream goes on. Writes
/// no CSV header: call [`write_header`] first for CSV output.
pub fn score_jsonl<R: std::io::BufRead>(
    model: &Model,
    source: &str,
    reader: R,
    out: &mut dyn Write,
    options: ScoreOptions,
    mut on_problem: impl FnMut(String),
) -> Result<Summary> {
    let mut scorer = Scorer::new(model, options);
    let mut summary = Summary::default();
    let n_classes = model.classes().len();
    for (n, line) in reader.lines().enumerate() {
        let line = line.map_err(|e| Error::io(source, e))?;
        if line.trim().is_empty() {
            continue;
        }
        let record: JsonRecord = match serde_json::from_str(&line) {
            Ok(r) => r,
            Err(e) => {
                summary.skipped += 1;
                on_problem(format!("{source}:{}: malformed record skipped: {e}", n + 1));
                continue;
            }
        };
        let doc_id = record
            .doc_id
            .unwrap_or_else(|| format!("{source}:{}", n + 1));
        let doc = Document::from_text(doc_id, record.text);
        let scored = scorer.score_document(&doc);
        let bytes = scorer
            .write_document(&doc, &scored, options.format)
            .map_err(|e| Error::io("<output>", std::io::Error::other(e)))?;
        out.write_all(&bytes)
            .map_err(|e| Error::io("<output>", e))?;
        out.flush().map_err(|e| Error::io("<output>", e))?;
        summary.inputs += 1;
        summary.documents += 1;
        summary.sentences += scored.len();
        summary
            .articles
            .push(DocSummary::of(&doc, &scored, n_classes));
    }
    Ok(summary)
}

/// Writes the CSV header for `classes`.
pub fn write_header(classes: &[String], out: &mut dyn Write) -> Result<()> {
    out.write_all(&header_bytes(classes))
        .map_err(|e| Error::io("<output>", e))
}

/// The `n` sentences the model is least sure about — smallest margin
/// between its two most probable classes, ties in input order — skipping
/// texts in `known` (already labelled). Writes them as a predictions CSV
/// ready for review.
pub fn suggest<W: Write>(
    model: &Model,
    inputs: &[Input],
    n: usize,
    known: &std::collections::HashSet<String>,
    out: W,
    options: ScoreOptions,
    on_event: impl FnMut(Event<'_>),
) -> Result<Summary> {
    // Candidates: (margin, order, CSV row bytes); keep the n smallest.
    let mut best: Vec<(f64, usize, Vec<u8>)> = Vec::new();
    let mut order = 0usize;
    let summary = for_each_input(
        model,
        inputs,
        options,
        |scorer, doc, scored| {
            let mut rows = Vec::new();
            for s in scored {
                let text = doc.spans[s.index].text(&doc.text);
                if known.contains(text) {
                    continue;
                }
                let mut buf = csv::WriterBuilder::new()
                    .has_headers(false)
                    .from_writer(Vec::new());
                scorer
                    .write_row(doc, s, &mut buf)
                    .map_err(|e| e.to_string())?;
                rows.push((s.margin(), buf.into_inner().map_err(|e| e.to_string())?));
            }
            Ok(rows)
        },
        |rows| {
            for (margin, bytes) in rows {
                best.push((margin, order, bytes));
                order += 1;
            }
            if best.len() > 2 * n.max(1) {
                best.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
                best.truncate(n);
            }
            Ok(())
        },
        on_event,
    )?;
    best.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
    best.truncate(n);
    let mut out = out;
    out.write_all(&header_bytes(model.classes()))
        .map_err(|e| Error::io("<output>", e))?;
    for (_, _, bytes) in best {
        out.write_all(&bytes)
            .map_err(|e| Error::io("<output>", e))?;
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
    fn header_has_one_probability_per_class_and_a_review_column() {
        let h = header(&["a".into(), "b".into()]);
        assert_eq!(
            h.join(","),
            "doc_id,sentence_id,start,end,text,label,confidence,p_a,p_b,evidence,review"
        );
    }

    #[test]
    fn formula_cells_are_protected_and_restored() {
        let cases = [
            ("=SUM(A1)", "'=SUM(A1)"),
            ("+7 percent", "'+7 percent"),
            ("-1", "'-1"),
            ("@user", "'@user"),
            ("\tx", "'\tx"),
            ("'quoted'", "''quoted'"),
            ("'", "''"),
            ("Plain text.", "Plain text."),
            ("“Quoted” text", "“Quoted” text"),
            ("", ""),
        ];
        for (text, cell) in cases {
            assert_eq!(protect_cell(text), cell);
            assert_eq!(unprotect_cell(cell), text);
        }
        // a cell a person typed starting with an apostrophe stays as typed
        assert_eq!(unprotect_cell("'tis the season"), "'tis the season");
    }

    #[test]
    fn fixed_point_formatting() {
        for (p, want) in [
            (0.0, "0.000000"),
            (1.0, "1.000000"),
            (0.5, "0.500000"),
            (0.1234567, "0.123457"),
            (0.0000004, "0.000000"),
            (0.0000006, "0.000001"),
            (0.9999996, "1.000000"),
            (0.012, "0.012000"),
        ] {
            let mut buf = Vec::new();
            push_fixed6(&mut buf, p);
            assert_eq!(String::from_utf8(buf).unwrap(), want, "{p}");
        }
        let mut buf = Vec::new();
        push_uint(&mut buf, 0);
        push_uint(&mut buf, 18446744073709551615);
        assert_eq!(buf, b"018446744073709551615");
    }

    #[test]
    fn margin_is_gap_between_top_two() {
        let s = Scored {
            index: 0,
            label: 1,
            probabilities: vec![0.2, 0.5, 0.3],
            evidence: String::new(),
        };
        assert!((s.margin() - 0.2).abs() < 1e-12);
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
