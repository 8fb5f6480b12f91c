//! The parallel, ordered runner: documents → scored sentences.
//!
//! Has the responsibility to score every input on worker threads and hand
//! the results to one writer in input order. Worker threads (one [`Scorer`]
//! each, so each keeps its word cache for the whole run) take units of work
//! in turn from the feed, which runs under a lock, one worker at a time,
//! and so does as little as it can: an article file is one unit, read by
//! the worker that takes it; a JSONL stream is cut into batches of lines,
//! and a sentence CSV into batches of whole records that end where a
//! document ends (found by scanning the bytes for line ends outside
//! quotes), both parsed by the taking worker; a large article file is cut
//! into parts of whole sentences, and so is a long plain-text stream
//! (standard input or a named pipe), held in a temporary file first.
//! Workers score and format their unit; the calling thread is one of them,
//! and writes the results in input order between its own units (only
//! writes, when an input is a pipe).
//! At most [`ScoreOptions::window`] units are in flight, carrying at most
//! about [`ScoreOptions::window_bytes`] of input, so memory does not grow
//! with the input (nor with its documents' size), and the output does not
//! depend on the thread count or the batch size. The first units of
//! sentence CSVs and JSONL streams can be cut before the run, while the
//! model loads ([`ReadAhead`]).

use std::fs::File;
use std::io::Write;
use std::path::Path;

use super::input::{
    decode_document, load_article, record_document, CsvBatches, CsvNotes, CsvRows, CsvWork,
    Document, RecordLines,
};
use super::output::{header_bytes, push_signed3, DocSummary, Format};
use super::stream::{
    read_in_parts, spool, stdin_file, stream_error, widen_pipe, ArticleParts, Spooled, STREAM_ABOVE,
};
use crate::error::{Error, Result};
use crate::features::{FreshWords, SparseVec};
use crate::io::{ArticleFormat, Input};
use crate::model::{Gate, Model};

/// Scoring settings.
#[derive(Debug, Clone, Copy)]
pub struct ScoreOptions {
    /// Evidence terms per row; defaults to `3`.
    pub evidence: usize,
    /// Scoring threads, the calling thread among them (see
    /// [`for_each_input`]); `0` (the default) means one per core.
    pub threads: usize,
    /// Units of work in flight at most (read or scored but not yet
    /// written): whole article files, parts of large ones, or batches of
    /// sentence-CSV or JSONL records; defaults to `512`. The memory they
    /// hold is bounded by [`ScoreOptions::window_bytes`]; this bounds
    /// their count. At 128, a folder of articles of 16 KB on average
    /// (2 MB in all) filled the window behind one long Markdown or HTML
    /// article, which is scored whole by one thread, and the other thread
    /// waited for it: with two threads the news corpus ten times over ran
    /// 65 ± 6 ms of 368 slower as HTML pages, 30 ± 2 ms of 246 as Markdown.
    pub window: usize,
    /// Input bytes in flight at most, over the units of work read or
    /// scored but not yet written: no unit is made while that many are in
    /// flight, unless fewer units are in flight than there are threads
    /// (so none waits for work while the others score large units); the
    /// last unit made may take them past it. Defaults to
    /// [`WINDOW_BYTES`]. Without it, a slow reader of the output (a
    /// program at the other end of a pipe) let `window` units of large
    /// documents or article files wait to be written, a megabyte or more
    /// each with their rows; with it, the memory they hold is bounded
    /// whatever their size.
    pub window_bytes: u64,
    /// Bytes of records in one batch of a sentence CSV (whole records, at
    /// least this many, up to where a document ends) or a JSONL stream
    /// (whole lines, at least one); defaults to [`BATCH_BYTES`]. A
    /// sentence-CSV document whose rows run past [`LONG_BATCHES`](super::LONG_BATCHES) times
    /// this many bytes is parsed by the feed, with the batch's documents
    /// before it (see [`for_each_input`]).
    pub batch_bytes: usize,
    /// Output format; defaults to CSV.
    pub format: Format,
    /// Whether [`Summary::articles`] keeps a [`DocSummary`] per document
    /// (memory grows with the number of documents); defaults to `true`.
    pub summaries: bool,
    /// Plain-text article files (regular files) larger than this many
    /// bytes are read in parts of about `batch_bytes` of text, scored on
    /// every core with memory bounded by the longest sentence, the rows
    /// the same as when read whole; so are standard input and named pipes
    /// that go on past it, held in a temporary file first. Defaults to
    /// [`STREAM_ABOVE`].
    pub stream_above: u64,
}

impl Default for ScoreOptions {
    fn default() -> Self {
        ScoreOptions {
            evidence: 3,
            threads: 0,
            window: 512,
            window_bytes: WINDOW_BYTES,
            batch_bytes: BATCH_BYTES,
            format: Format::Csv,
            summaries: true,
            stream_above: STREAM_ABOVE,
        }
    }
}

/// One scored sentence of a document.
#[derive(Debug, Clone, Default, PartialEq)]
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

/// Scored sentences whose memory a scoring thread keeps from one article
/// to the next (see [`Scorer::score_document_into`]): more than a long
/// article has, a few hundred KiB.
const KEPT_SLOTS: usize = 1024;

/// The evidence of a sentence of an off-topic article.
pub const OFF_TOPIC_EVIDENCE: &str = "off-topic: the article names neither China nor Russia";

/// Per-thread scoring state.
pub struct Scorer<'m> {
    pub(super) model: &'m Model,
    transformer: crate::features::Transformer<'m>,
    x: SparseVec,
    options: ScoreOptions,
    /// The evidence terms of the sentence being scored.
    terms: Vec<crate::model::Evidence>,
    /// Its evidence text, before it is copied into [`Scored::evidence`].
    evidence: String,
    /// `,"p_<class>":` for each class, as a JSON row has them (see
    /// `write_json_row`), made once rather than for every row.
    pub(super) json_probability_keys: Vec<Vec<u8>>,
    /// How many batches of the run's [`WordLog`] this scorer has learned.
    learned: usize,
}

/// The words the scoring threads resolved, in batches of one job each,
/// for the other threads to learn: each thread resolves (lowercases,
/// stems, looks up) a word the first time it meets it, and without this
/// every thread resolved every word of the input once for itself.
/// Bounded by `max_bytes` ([`WordLog::MAX_BYTES`] in a run); past it,
/// words are no longer shared.
struct WordLog {
    batches: std::sync::Mutex<Vec<(Option<usize>, std::sync::Arc<FreshWords>)>>,
    bytes: std::sync::atomic::AtomicUsize,
    max_bytes: usize,
}

impl WordLog {
    const MAX_BYTES: usize = 4 << 20;

    fn new(max_bytes: usize) -> WordLog {
        WordLog {
            batches: Default::default(),
            bytes: Default::default(),
            max_bytes,
        }
    }

    /// Learns the batches other threads logged since `scorer` last looked.
    fn catch_up(&self, scorer: &mut Scorer<'_>, me: Option<usize>) {
        let new: Vec<_> = {
            let batches = self.batches.lock().unwrap_or_else(|e| e.into_inner());
            if scorer.learned == batches.len() {
                return;
            }
            let new = batches[scorer.learned..]
                .iter()
                .filter(|(by, _)| *by != me)
                .map(|(_, words)| words.clone())
                .collect();
            scorer.learned = batches.len();
            new
        };
        for words in new {
            scorer.transformer.learn(&words);
        }
    }

    /// Logs the words `scorer` resolved since it last logged; once the log
    /// is full, tells its transformer to stop keeping them.
    fn publish(&self, scorer: &mut Scorer<'_>, me: Option<usize>) {
        use std::sync::atomic::Ordering;
        if self.bytes.load(Ordering::Relaxed) > self.max_bytes {
            scorer.transformer.keep_fresh(false);
            return;
        }
        let words = scorer.transformer.take_fresh();
        if words.is_empty() {
            return;
        }
        self.bytes.fetch_add(words.bytes(), Ordering::Relaxed);
        self.batches
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push((me, std::sync::Arc::new(words)));
    }
}

impl<'m> Scorer<'m> {
    /// A scorer for one worker thread.
    pub fn new(model: &'m Model, options: ScoreOptions) -> Self {
        Scorer {
            model,
            transformer: model.featurizer().transformer(),
            x: SparseVec::default(),
            options,
            terms: Vec::new(),
            evidence: String::new(),
            json_probability_keys: model
                .classes()
                .iter()
                .map(|class| {
                    let mut key = b",".to_vec();
                    // Serialising a String into a Vec cannot fail.
                    let _ = serde_json::to_writer(&mut key, &format!("p_{class}"));
                    key.push(b':');
                    key
                })
                .collect(),
            learned: 0,
        }
    }

    /// Scores one sentence. Evidence terms are the sentence's own words
    /// (falling back to the training surface form).
    pub fn score_sentence(&mut self, index: usize, sentence: &str) -> Scored {
        let mut scored = Scored::default();
        self.score_sentence_into(index, sentence, &mut scored);
        scored
    }

    /// [`Scorer::score_sentence`] into `out`, reusing its memory: once a
    /// worker's slots have grown to its longest article and evidence,
    /// scoring a sentence allocates nothing.
    pub fn score_sentence_into(&mut self, index: usize, sentence: &str, out: &mut Scored) {
        self.transformer.transform(sentence, &mut self.x);
        out.index = index;
        out.probabilities.clear();
        out.probabilities.resize(self.model.classes().len(), 0.0);
        out.label = self.model.predict_into(
            &self.x,
            self.options.evidence,
            &mut out.probabilities,
            &mut self.terms,
        );
        // Written here first, then copied: a new slot's evidence takes
        // the memory it needs, not the doubling steps of a growing string.
        let evidence = &mut self.evidence;
        evidence.clear();
        for (i, e) in self.terms.iter().enumerate() {
            if i > 0 {
                evidence.push_str("; ");
            }
            match self.transformer.surface(e.feature) {
                Some((s, t)) => push_words(evidence, &sentence[s..t]),
                None => evidence.push_str(&self.model.featurizer().display()[e.feature]),
            }
            evidence.push_str(" (");
            push_signed3(evidence, e.contribution);
            evidence.push(')');
        }
        out.evidence.clear();
        out.evidence.push_str(evidence);
    }

    /// Scores every sentence of `doc` with the classifier alone into the
    /// first slots of `slots` (added as needed; none is removed, so that
    /// their memory serves the next article too), and returns those
    /// sentences and the actor groups the article names (see
    /// [`crate::features::Transformer::actor_mask`]).
    pub fn score_document_ungated<'s>(
        &mut self,
        doc: &Document,
        slots: &'s mut Vec<Scored>,
    ) -> (&'s mut [Scored], u32) {
        let scored = first_slots(slots, doc.spans.len());
        let mut mask = 0;
        for (i, (span, out)) in doc.spans.iter().zip(scored.iter_mut()).enumerate() {
            self.score_sentence_into(i, span.text(&doc.text), out);
            mask |= self.transformer.actor_mask();
        }
        (scored, mask)
    }

    /// Scores every sentence of `doc`. With an off-topic gate in the model,
    /// an article none of whose sentences names the gate's actors gets the
    /// gate's class for every sentence, with probability 1 and the evidence
    /// [`OFF_TOPIC_EVIDENCE`].
    ///
    /// The sentences of an off-topic article are not classified at all:
    /// the gate decides first, on the actors the article's sentences name,
    /// looked for until one names an actor of the gate. A part of an
    /// article read in parts carries the whole article's actors
    /// ([`Document::actors`]), and the gate decides on those.
    pub fn score_document(&mut self, doc: &Document) -> Vec<Scored> {
        let mut slots = Vec::new();
        self.score_document_into(doc, &mut slots);
        slots
    }

    /// [`Scorer::score_document`] into the first slots of `slots`, as
    /// [`Scorer::score_document_ungated`] fills them; returns those.
    pub fn score_document_into<'s>(
        &mut self,
        doc: &Document,
        slots: &'s mut Vec<Scored>,
    ) -> &'s [Scored] {
        // Whether the article is off-topic is known before any sentence
        // is classified: an off-topic one's sentences get the gate's class
        // without the work of their vectors, probabilities and evidence.
        let actors = self.article_actors(doc);
        if let Some(gate) = actors.and_then(|actors| self.closed_gate(actors)) {
            let scored = first_slots(slots, doc.spans.len());
            for (index, s) in scored.iter_mut().enumerate() {
                s.index = index;
            }
            self.set_off_topic(gate, scored);
            return scored;
        }
        self.score_document_ungated(doc, slots).0
    }

    /// The actors the off-topic gate decides `doc` on: those the document
    /// carries (a part of a longer one), else, with a gate in the model,
    /// those its sentences name (see [`Scorer::gate_actors`]); `None`
    /// without a gate.
    fn article_actors(&mut self, doc: &Document) -> Option<u32> {
        match doc.actors {
            None if self.model.gate().is_some() => Some(self.gate_actors(doc)),
            known => known,
        }
    }

    /// The actor groups the sentences of `doc` name, as far as the gate
    /// needs them: the look stops at the first sentence that makes the
    /// article on-topic (most on-topic articles name an actor in their
    /// first sentences), and reads every sentence of an off-topic one.
    fn gate_actors(&mut self, doc: &Document) -> u32 {
        let mut mask = 0;
        for span in &doc.spans {
            mask |= self.transformer.actors(span.text(&doc.text));
            if self.closed_gate(mask).is_none() {
                break;
            }
        }
        mask
    }

    /// Applies the model's off-topic gate to the sentences of one article
    /// whose sentences named the actors in `article_mask`: off-topic, every
    /// sentence gets the gate's class with probability 1 and the evidence
    /// [`OFF_TOPIC_EVIDENCE`]; otherwise nothing changes. Returns whether
    /// the gate applied.
    pub fn apply_gate(&self, scored: &mut [Scored], article_mask: u32) -> bool {
        let Some(gate) = self.closed_gate(article_mask) else {
            return false;
        };
        self.set_off_topic(gate, scored);
        true
    }

    /// The model's off-topic gate, if it has one and it finds an article
    /// whose sentences named the actors in `article_mask` off-topic.
    fn closed_gate(&self, article_mask: u32) -> Option<&'m Gate> {
        self.model.gate().filter(|g| g.is_off_topic(article_mask))
    }

    /// Gives every sentence of `scored` the class of `gate` (the model's),
    /// with probability 1 and the evidence [`OFF_TOPIC_EVIDENCE`].
    fn set_off_topic(&self, gate: &Gate, scored: &mut [Scored]) {
        let n = self.model.classes().len();
        for s in scored {
            s.label = gate.class;
            gate.set_probabilities(&mut s.probabilities, n);
            s.evidence.clear();
            s.evidence.push_str(OFF_TOPIC_EVIDENCE);
        }
    }
}

/// The first `n` of `slots`, adding empty ones as needed.
fn first_slots(slots: &mut Vec<Scored>, n: usize) -> &mut [Scored] {
    if slots.len() < n {
        slots.resize_with(n, Scored::default);
    }
    &mut slots[..n]
}

/// Appends the words of `span` (a term's place in the sentence) without
/// the punctuation between them: a term spanning "problem; China" must not
/// put the list separator `; ` inside the evidence. A span of ASCII words
/// and single spaces, the usual case, is copied as it is.
fn push_words(out: &mut String, span: &str) {
    // One pass: each byte alphanumeric, or a space right after one, and
    // the last not a space.
    let mut after_word = false;
    let plain = span.bytes().all(|b| {
        let ok = b.is_ascii_alphanumeric() || (b == b' ' && after_word);
        after_word = b != b' ';
        ok
    }) && after_word;
    if plain {
        out.push_str(span);
        return;
    }
    let words = span
        .split_whitespace()
        .map(|w| w.trim_matches(|c: char| !c.is_alphanumeric()))
        .filter(|w| !w.is_empty());
    for (k, word) in words.enumerate() {
        if k > 0 {
            out.push(' ');
        }
        out.push_str(word);
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
    /// One record of the input (a JSONL line) was repaired
    /// ([`Error::Repaired`]: it was scored) or skipped (any other error).
    Record {
        /// The input.
        input: &'a Input,
        /// What happened, naming the line.
        problem: Error,
    },
    /// The input, or the rest of it, could not be scored (the rows
    /// before the problem, if any, were written).
    Skipped {
        /// The input.
        input: &'a Input,
        /// Why.
        reason: Error,
    },
}

/// Totals of a scoring run.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Summary {
    /// Inputs scored to their end.
    pub inputs: usize,
    /// Documents scored.
    pub documents: usize,
    /// Sentences (rows) written.
    pub sentences: usize,
    /// Inputs skipped, or stopped part way.
    pub skipped: usize,
    /// Records (JSONL lines) skipped.
    pub records_skipped: usize,
    /// Sentence CSVs scored to their end that end inside a quoted cell:
    /// a stray `"` took every row after it into that cell, so their rows
    /// need checking (each is named in a warning).
    pub unclosed: usize,
    /// Why the run scored with one thread fewer than asked for, if it
    /// did: with an input that is a pipe the calling thread only writes,
    /// and the worker that takes its place could not be started, so the
    /// others scored everything (nothing is lost, but the run is slower).
    pub fewer_threads: Option<String>,
    /// One entry per scored document, in input order (empty when
    /// [`ScoreOptions::summaries`] is off).
    pub articles: Vec<DocSummary>,
}

/// Record bytes per batch of a sentence CSV or JSONL stream by default
/// (see [`ScoreOptions::batch_bytes`]).
pub const BATCH_BYTES: usize = 64 << 10;

/// Input bytes in flight at most by default (see
/// [`ScoreOptions::window_bytes`]): 128 batches of the default size.
pub const WINDOW_BYTES: u64 = 128 * BATCH_BYTES as u64;

/// A unit of work, numbered in output order.
struct Job {
    /// Position in output order.
    index: usize,
    /// The input it belongs to.
    input: usize,
    /// Whether it is its input's last.
    last: bool,
    /// What to score.
    work: Work,
    /// File-level warnings known when the job was made.
    warnings: Vec<String>,
    /// Record-level problems known when the job was made.
    problems: Vec<Error>,
    /// What the sentence-CSV rows read for the job say about their file.
    notes: CsvNotes,
    /// Why the input ends here early.
    end: Option<Error>,
    /// The input bytes it carries or will read (see
    /// [`ScoreOptions::window_bytes`]).
    bytes: u64,
}

impl Job {
    /// A job of input `input` (its place in output order is set when it
    /// is handed out).
    fn new(input: usize, work: Work, last: bool) -> Job {
        Job {
            index: 0,
            input,
            last,
            work,
            warnings: Vec::new(),
            problems: Vec::new(),
            notes: CsvNotes::default(),
            end: None,
            bytes: 0,
        }
    }

    /// The last job of `input`, which ends early with `e`.
    fn failed(input: usize, e: Error) -> Job {
        Job {
            end: Some(e),
            ..Job::new(input, Work::Documents(Vec::new()), true)
        }
    }
}

/// What a job scores.
enum Work {
    /// A whole article file, read by the worker.
    Article,
    /// A stream (standard input, or a named pipe given as a plain-text
    /// article) read whole by the feed, decoded by the worker.
    Stream(Vec<u8>),
    /// Documents read already: a part of a large article file, or a long
    /// document of a sentence CSV and those before it.
    Documents(Vec<Document>),
    /// Whole records of a sentence CSV, parsed by the worker.
    CsvRows(CsvRows),
    /// Lines of a JSONL stream, parsed by the worker.
    Records(Vec<(u64, Vec<u8>)>),
}

impl Work {
    /// The input bytes the work holds: for an article file read by its
    /// worker, `file_size`.
    fn bytes(&self, file_size: impl FnOnce() -> Option<u64>) -> u64 {
        let n = match self {
            Work::Article => return file_size().unwrap_or(0),
            Work::Stream(bytes) => bytes.len(),
            Work::Documents(docs) => docs.iter().map(|d| d.text.len()).sum(),
            Work::CsvRows(rows) => rows.len(),
            Work::Records(lines) => lines.iter().map(|(_, line)| line.len()).sum(),
        };
        n as u64
    }
}

/// An input being read part by part.
enum Open {
    Csv(Box<CsvBatches>),
    Jsonl(RecordLines),
    Text(Box<ArticleParts>),
}

/// An input the feed has begun to read.
enum Opening {
    /// A stream that ended within [`ScoreOptions::stream_above`] bytes.
    Whole(Vec<u8>),
    /// An input to read part by part.
    Parts(Open),
}

/// Hands out jobs in output order: an article file is one job, or, when
/// larger than [`ScoreOptions::stream_above`], read here in parts, one job
/// each; a JSONL stream is read here into batches of whole lines, and a
/// sentence CSV into batches of whole records that start and end with a
/// document (see [`ScoreOptions::batch_bytes`]), for the worker to parse.
/// Of a sentence CSV only the records past a batch's size that do not
/// start with the bytes of its last doc_id are parsed here, to find where
/// the document they belong to ends, and a document that goes on past
/// [`LONG_BATCHES`](super::LONG_BATCHES) batches' worth of rows is parsed here whole.
struct Feed {
    /// Jobs made before scoring began (see [`ReadAhead`]), handed out
    /// first.
    ahead: std::collections::VecDeque<Job>,
    /// The next input to open.
    next_input: usize,
    /// The input being read part by part (`next_input - 1`).
    open: Option<Open>,
    /// Jobs made, those `ahead` among them.
    produced: usize,
    /// The input bytes of the jobs made (see
    /// [`ScoreOptions::window_bytes`]).
    produced_bytes: u64,
    /// See [`ScoreOptions::batch_bytes`].
    batch_bytes: usize,
    /// See [`ScoreOptions::stream_above`].
    stream_above: u64,
    /// The scoring threads: as many share the first reading of an article
    /// read in parts (see [`ArticleParts::open`]), which holds the feed,
    /// so the others have nothing new to take until it ends.
    threads: usize,
}

/// What [`Feed::make`] needs besides the feed: the inputs, their sizes
/// (see [`Sizes`]) and, once loaded, the model (only an article file read
/// in parts needs it, to find the actors it names).
struct Reading<'a> {
    inputs: &'a [Input],
    sizes: &'a Sizes,
    model: Option<&'a Model>,
}

impl Feed {
    fn new(threads: usize, options: &ScoreOptions) -> Feed {
        Feed {
            ahead: std::collections::VecDeque::new(),
            next_input: 0,
            open: None,
            produced: 0,
            produced_bytes: 0,
            batch_bytes: options.batch_bytes.max(1),
            stream_above: options.stream_above,
            threads,
        }
    }

    /// The next job: one read ahead, else a new one.
    fn next(&mut self, reading: &Reading<'_>) -> Option<Job> {
        match self.ahead.pop_front() {
            Some(job) => Some(job),
            None => self.make(reading),
        }
    }

    /// Whether the next job can be made without the model and without
    /// waiting for another program: not an article file read in parts,
    /// not a pipe or a device (reading it could wait for the program at
    /// its other end).
    fn can_read_ahead(&self, reading: &Reading<'_>) -> bool {
        if self.open.is_some() {
            return true;
        }
        let i = self.next_input;
        let Some(input) = reading.inputs.get(i) else {
            return false;
        };
        let size = reading.sizes.get(reading.inputs, i);
        size.is_some() && !read_in_parts(input, || size, self.stream_above)
    }

    /// Reads the stream `input` (standard input, or a named pipe given as
    /// a plain-text article), opened by `open`, whole when it ends within
    /// [`ScoreOptions::stream_above`] bytes; else it is held in a
    /// temporary file and read in parts, as a large article file is (see
    /// [`spool`]), so that neither the memory it takes nor the thread that
    /// scores it is its alone. Standard input redirected from a large
    /// regular file is read in parts from that file.
    fn stream<R: std::io::Read>(
        &self,
        input: &Input,
        open: impl FnOnce() -> std::io::Result<R>,
        reading: &Reading<'_>,
    ) -> Result<Opening> {
        let name = input.path().unwrap_or(Path::new("-"));
        let stdin = matches!(input, Input::Stdin);
        // The file to read in parts, and whether it was checked for NUL
        // bytes as it was held.
        let (file, checked) = match stdin.then(stdin_file).flatten() {
            Some(file) if file.metadata().is_ok_and(|m| m.len() > self.stream_above) => {
                (file, false)
            }
            _ => {
                let input = open().map_err(|e| stream_error(name, e))?;
                match spool(input, name, self.stream_above)? {
                    Spooled::Whole(bytes) => return Ok(Opening::Whole(bytes)),
                    Spooled::File(file) => (file, true),
                }
            }
        };
        let model = reading.model.expect("a stream is not read ahead");
        let (doc_id, threads) = (input.doc_id().unwrap_or_default(), self.threads);
        let parts = ArticleParts::spooled(
            file,
            checked,
            name,
            doc_id,
            self.batch_bytes,
            model,
            threads,
        )?;
        Ok(Opening::Parts(Open::Text(Box::new(parts))))
    }

    /// Makes the next job (see [`Feed`]); `None` when every input has
    /// been read.
    fn make(&mut self, reading: &Reading<'_>) -> Option<Job> {
        let mut job = match self.open.as_mut() {
            None => {
                let input = self.next_input;
                let opened = match reading.inputs.get(input)? {
                    article @ Input::Article { path, doc_id }
                        if read_in_parts(
                            article,
                            || reading.sizes.get(reading.inputs, input),
                            self.stream_above,
                        ) =>
                    {
                        let model = reading
                            .model
                            .expect("an article read in parts is not read ahead");
                        Some(
                            ArticleParts::open(path, doc_id, self.batch_bytes, model, self.threads)
                                .map(|a| Opening::Parts(Open::Text(Box::new(a)))),
                        )
                    }
                    stdin @ Input::Stdin => Some(self.stream(
                        stdin,
                        || {
                            let stdin = std::io::stdin().lock();
                            widen_pipe(&stdin);
                            Ok(stdin)
                        },
                        reading,
                    )),
                    pipe @ Input::Article { path, .. }
                        if ArticleFormat::of(path) == ArticleFormat::Text
                            && reading.sizes.is_stream(reading.inputs, input) =>
                    {
                        let open = || {
                            let file = File::open(path)?;
                            widen_pipe(&file);
                            Ok(file)
                        };
                        Some(self.stream(pipe, open, reading))
                    }
                    Input::Article { .. } => None,
                    Input::Csv(p) => {
                        Some(CsvBatches::open(p).map(|c| Opening::Parts(Open::Csv(Box::new(c)))))
                    }
                    Input::Jsonl(p) => {
                        Some(RecordLines::open(p).map(|l| Opening::Parts(Open::Jsonl(l))))
                    }
                };
                self.next_input += 1;
                match opened {
                    None => Job::new(input, Work::Article, true),
                    Some(Ok(Opening::Whole(bytes))) => Job::new(input, Work::Stream(bytes), true),
                    Some(Ok(Opening::Parts(open))) => {
                        self.open = Some(open);
                        return self.make(reading);
                    }
                    Some(Err(e)) => Job::failed(input, e),
                }
            }
            Some(Open::Csv(csv)) => {
                let input = self.next_input - 1;
                let batch = csv.next_batch(self.batch_bytes);
                let work = match batch.work {
                    CsvWork::Rows(rows) => Work::CsvRows(rows),
                    CsvWork::Documents(docs) => Work::Documents(docs),
                };
                Job {
                    notes: batch.notes,
                    end: batch.end,
                    ..Job::new(input, work, batch.last)
                }
            }
            Some(Open::Jsonl(lines)) => {
                let input = self.next_input - 1;
                match lines.next_batch(self.batch_bytes) {
                    Ok(batch) => {
                        let last = batch.is_empty();
                        Job::new(input, Work::Records(batch), last)
                    }
                    // A line over the limit: a record skipped, the end.
                    Err(e @ Error::Record { .. }) => Job {
                        problems: vec![e],
                        ..Job::new(input, Work::Records(vec![]), true)
                    },
                    Err(e) => Job::failed(input, e),
                }
            }
            Some(Open::Text(parts)) => {
                let input = self.next_input - 1;
                match parts.next_part() {
                    Ok(part) => {
                        let last = parts.finished();
                        let mut job =
                            Job::new(input, Work::Documents(part.into_iter().collect()), last);
                        if last {
                            job.warnings = parts.take_warnings();
                        }
                        job
                    }
                    Err(e) => Job::failed(input, e),
                }
            }
        };
        if job.last {
            self.open = None;
        }
        job.index = self.produced;
        job.bytes = job
            .work
            .bytes(|| reading.sizes.get(reading.inputs, job.input));
        self.produced += 1;
        self.produced_bytes += job.bytes;
        Some(job)
    }
}

/// The first jobs of a run, made before it starts: while the model loads,
/// the calling thread can read and cut the first inputs, which need no
/// model, rather than wait for it (see [`ReadAhead::read`]). Made for one
/// list of inputs, which the run it is handed to ([`for_each_input_after`])
/// must be given too, and one [`ScoreOptions`], which that run takes from
/// it.
pub struct ReadAhead {
    feed: Feed,
    sizes: Sizes,
    options: ScoreOptions,
    /// The thread count the options resolve to.
    threads: usize,
}

impl ReadAhead {
    /// Nothing read yet.
    pub fn new(inputs: &[Input], options: ScoreOptions) -> ReadAhead {
        let threads = thread_count(&options);
        ReadAhead {
            feed: Feed::new(threads, &options),
            sizes: Sizes::new(inputs),
            options,
            threads,
        }
    }

    /// What may be in flight at once (see [`ScoreOptions::window`] and
    /// [`ScoreOptions::window_bytes`]): no more is made ahead.
    fn window(&self) -> Window {
        Window {
            jobs: self.options.window.max(self.threads),
            bytes: self.options.window_bytes,
            threads: self.threads,
        }
    }

    /// Makes jobs of `inputs` until `enough` says so (checked between
    /// jobs), the window is full (of jobs or of their bytes, see
    /// [`ScoreOptions::window_bytes`]), or the next job needs the model
    /// (an article file read in parts) or could wait for another program
    /// (a pipe or a device). An article file read whole is a job without
    /// reading it: its worker reads it. What goes wrong is told in the
    /// run, in its place, as it would be without reading ahead.
    pub fn read(&mut self, inputs: &[Input], enough: impl Fn() -> bool) {
        let reading = Reading {
            inputs,
            sizes: &self.sizes,
            model: None,
        };
        let window = self.window();
        while window.has_room(self.feed.ahead.len(), self.feed.produced_bytes)
            && !enough()
            && self.feed.can_read_ahead(&reading)
        {
            match self.feed.make(&reading) {
                Some(job) => self.feed.ahead.push_back(job),
                None => break,
            }
        }
    }

    /// Jobs read ahead and not handed out yet.
    pub fn jobs(&self) -> usize {
        self.feed.ahead.len()
    }
}

/// What may be in flight at once: jobs made and not yet written, and the
/// input bytes they carry (see [`ScoreOptions::window_bytes`]).
#[derive(Debug, Clone, Copy)]
struct Window {
    jobs: usize,
    bytes: u64,
    /// As many jobs as there are scoring threads may be in flight however
    /// many bytes they carry, so that none of them waits for want of work
    /// while the others score large jobs.
    threads: usize,
}

impl Window {
    /// Whether another job may be made while `jobs` jobs of `bytes` input
    /// bytes are in flight.
    fn has_room(&self, jobs: usize, bytes: u64) -> bool {
        jobs < self.jobs && (bytes < self.bytes || jobs < self.threads)
    }
}

/// The scoring threads `options` ask for (`0`: one per core).
fn thread_count(options: &ScoreOptions) -> usize {
    if options.threads == 0 {
        std::thread::available_parallelism().map_or(1, |n| n.get())
    } else {
        options.threads
    }
}

/// The sink, called by the thread that scores the job next in order with
/// what `work` makes as it is made (see `for_each_input`).
type DirectSink<'a, T> = dyn FnMut(&mut T) -> Result<()> + 'a;

/// What a scoring thread made of one job. Documents and scored sentences
/// are dropped on the thread that made them; only what `work` made of them
/// (the rows) goes on to the writing thread.
struct Done<T> {
    input: usize,
    last: bool,
    warnings: Vec<String>,
    problems: Vec<Error>,
    /// What the sentence-CSV rows of the job say about their file.
    notes: CsvNotes,
    /// Per document: its totals, what `work` made of it (`None` once
    /// handed to the sink as it was made, see `process`), and whether it
    /// continues the document before (a later part of an article file).
    docs: Vec<(DocSummary, Option<T>, bool)>,
    /// Why the input ends here early.
    failed: Option<Error>,
    /// The sink's error, when it failed on rows handed to it as they were
    /// made: the run stops when this job is written.
    sink_failed: Option<Error>,
    /// The spawned worker that made it, which frees it once it is written
    /// (see `spent`); `None` for the calling thread.
    origin: Option<usize>,
    /// The job's input bytes (see [`ScoreOptions::window_bytes`]).
    bytes: u64,
}

/// Address space held back while a worker thread is started, so that the
/// start itself has room.
///
/// Under an address-space limit (`ulimit -v`), the calling thread could map
/// a new worker's stack into the last of the room, and the worker then
/// failed to map what every thread maps as it starts (the standard
/// library's signal stack, the allocator's first block): the process
/// aborted (`memory allocation of 41 bytes failed`) instead of saying it
/// cannot start that many threads. So each worker is started only with
/// [`StartRoom::BYTES`] to spare, reserved before its stack is mapped and
/// given back for its start, and the next one only once it runs.
struct StartRoom {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    at: *mut libc::c_void,
}

impl StartRoom {
    /// Far more than a thread's start maps (a signal stack of a few pages,
    /// a page or two of the allocator's).
    const BYTES: usize = 1 << 20;

    /// Reserves [`StartRoom::BYTES`] of address space (no memory), or says
    /// why it cannot.
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    fn reserve() -> std::io::Result<StartRoom> {
        // SAFETY: a new private mapping with no access, at an address the
        // kernel picks; nothing else refers to it, and `Drop` unmaps it.
        let at = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                Self::BYTES,
                libc::PROT_NONE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE,
                -1,
                0,
            )
        };
        if at == libc::MAP_FAILED {
            return Err(std::io::Error::last_os_error());
        }
        Ok(StartRoom { at })
    }

    #[cfg(not(all(target_os = "linux", target_env = "gnu")))]
    fn reserve() -> std::io::Result<StartRoom> {
        Ok(StartRoom {})
    }
}

#[cfg(all(target_os = "linux", target_env = "gnu"))]
impl Drop for StartRoom {
    fn drop(&mut self) {
        // SAFETY: `at` is the mapping `reserve` made, of `BYTES` bytes,
        // unmapped only here.
        unsafe {
            libc::munmap(self.at, Self::BYTES);
        }
    }
}

/// The size of each input that is a regular file, `None` for standard
/// input, a pipe, a device or a path that cannot be read: one `stat` per
/// input, taken by whichever thread needs it first (the feed, to decide
/// whether an article is read in parts, or the calling thread, looking for
/// pipes), so the workers need not wait for a folder of thousands of files
/// to be looked at before they start. A file that changes size after this
/// is still read whole, to its end; only how it is split up was decided on
/// the old size.
struct Sizes(Vec<std::sync::atomic::AtomicU64>);

impl Sizes {
    /// Not looked at yet.
    const UNKNOWN: u64 = u64::MAX;
    /// Not a regular file, and reading it may wait: a named pipe, a socket
    /// or a device.
    const STREAM: u64 = u64::MAX - 1;
    /// Not a regular file, and reading it cannot wait: a folder, or a path
    /// that cannot be looked at (gone since it was found).
    const NOT_A_FILE: u64 = u64::MAX - 2;

    fn new(inputs: &[Input]) -> Sizes {
        Sizes(
            inputs
                .iter()
                .map(|input| {
                    // Standard input needs no look.
                    let known = if input.path().is_none() {
                        Sizes::STREAM
                    } else {
                        Sizes::UNKNOWN
                    };
                    std::sync::atomic::AtomicU64::new(known)
                })
                .collect(),
        )
    }

    /// What input `i` is, looked at on first use.
    fn code(&self, inputs: &[Input], i: usize) -> u64 {
        use std::sync::atomic::Ordering::Relaxed;
        let code = self.0[i].load(Relaxed);
        if code != Sizes::UNKNOWN {
            return code;
        }
        let code = match inputs[i].path().map(std::fs::metadata) {
            Some(Ok(meta)) if meta.is_file() => meta.len().min(Sizes::NOT_A_FILE - 1),
            Some(Ok(meta)) if !meta.is_dir() => Sizes::STREAM,
            None => Sizes::STREAM,
            Some(_) => Sizes::NOT_A_FILE,
        };
        self.0[i].store(code, Relaxed);
        code
    }

    /// The size of input `i` if it is a regular file.
    fn get(&self, inputs: &[Input], i: usize) -> Option<u64> {
        Some(self.code(inputs, i)).filter(|&c| c < Sizes::NOT_A_FILE)
    }

    /// Whether reading input `i` may wait for the program at its other
    /// end: standard input, a named pipe, a device.
    fn is_stream(&self, inputs: &[Input], i: usize) -> bool {
        self.code(inputs, i) == Sizes::STREAM
    }

    /// Whether any input is a stream (see [`Sizes::is_stream`]): every
    /// input looked at.
    fn any_stream(&self, inputs: &[Input]) -> bool {
        (0..inputs.len()).any(|i| self.is_stream(inputs, i))
    }
}

/// Reads and scores `inputs` on worker threads. For every input, in input
/// order, `sink` is lent what `work` made of each of its documents (given
/// the input it came from) on a worker thread; `on_event` hears about every
/// input, and every skipped or repaired record. What `sink` leaves in the
/// value it is lent goes back to the worker that made it, which frees it
/// before its next job, so a document's rows go back to the worker's own
/// malloc heap without another thread taking that heap's lock (results
/// written after their worker has run out of jobs are freed at the end of
/// the run; either way no more are held than the window allows).
///
/// Article files are read and scored whole, one per worker at a time,
/// unless larger than [`ScoreOptions::stream_above`]: those, like sentence
/// CSVs and JSONL streams, are read in batches (parts of the article, whole
/// records of whole documents, whole lines) that the workers parse and
/// score, so one large file uses every core and memory stays bounded by
/// [`ScoreOptions::window`] batches and [`ScoreOptions::window_bytes`],
/// not by the file. A sentence CSV's warnings (invalid UTF-8, documents
/// split) are about the whole file: what each batch's rows noted is added
/// up in order and told with its last batch. The parts of one article
/// reach `work` and `sink` as documents of their own (see
/// [`Document::first_sentence`]); [`Summary`] counts them as one document
/// with one [`DocSummary`]. The output does not depend on the thread
/// count.
pub fn for_each_input<T, W, S>(
    model: &Model,
    inputs: &[Input],
    options: ScoreOptions,
    work: W,
    sink: S,
    on_event: impl FnMut(Event<'_>),
) -> Result<Summary>
where
    T: Send,
    W: Fn(&mut Scorer<'_>, &Input, &Document, &[Scored]) -> Result<T> + Sync,
    S: FnMut(&mut T) -> Result<()>,
{
    let ahead = ReadAhead::new(inputs, options);
    for_each_input_after(ahead, model, inputs, work, sink, on_event)
}

/// [`for_each_input`], with the options `ahead` was made with, starting
/// with the jobs it has read (made for these `inputs`).
///
/// # Panics
/// When `ahead` was made for a different number of inputs.
pub fn for_each_input_after<T, W, S>(
    ahead: ReadAhead,
    model: &Model,
    inputs: &[Input],
    work: W,
    mut sink: S,
    mut on_event: impl FnMut(Event<'_>),
) -> Result<Summary>
where
    T: Send,
    W: Fn(&mut Scorer<'_>, &Input, &Document, &[Scored]) -> Result<T> + Sync,
    S: FnMut(&mut T) -> Result<()>,
{
    use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
    use std::sync::{Condvar, Mutex};

    assert_eq!(
        ahead.sizes.0.len(),
        inputs.len(),
        "read ahead for other inputs"
    );
    let n_classes = model.classes().len();
    // A worker that finds no work left leaves at once, so the count is not
    // trimmed to the inputs (one large file or CSV keeps them all busy).
    let window = ahead.window();
    let ReadAhead {
        feed,
        sizes,
        options,
        threads,
    } = ahead;
    let reading = Reading {
        inputs,
        sizes: &sizes,
        model: Some(model),
    };
    let feed = Mutex::new(feed);
    // Mirrors of the feed's state, readable without its lock.
    let (produced, produced_bytes) = {
        let feed = feed.lock().unwrap_or_else(|e| e.into_inner());
        (
            AtomicUsize::new(feed.produced),
            AtomicU64::new(feed.produced_bytes),
        )
    };
    let stop = AtomicBool::new(false);
    // Jobs written so far; workers wait while the window is full.
    let written = (Mutex::new(Written::default()), Condvar::new());
    // Stops the run and wakes every waiting worker. `stop` is set under
    // the lock the workers check it under, so none can check it, miss the
    // wake-up and then wait for good.
    let halt = || {
        let guard = written.0.lock().unwrap_or_else(|e| e.into_inner());
        stop.store(true, Ordering::Relaxed);
        drop(guard);
        written.1.notify_all();
    };
    let mut summary = Summary::default();
    let mut failure = None;

    // The next job (`Ok(None)` when none is left or the run stops), or
    // `Err(())` while the window is full.
    let try_take = || -> std::result::Result<Option<Job>, ()> {
        if stop.load(Ordering::Relaxed) {
            return Ok(None);
        }
        let (jobs, bytes) = {
            let w = written.0.lock().unwrap_or_else(|e| e.into_inner());
            (w.jobs, w.bytes)
        };
        let mut feed = feed.lock().unwrap_or_else(|e| e.into_inner());
        // Jobs read ahead are in the window already.
        if !feed.ahead.is_empty()
            || window.has_room(feed.produced - jobs, feed.produced_bytes - bytes)
        {
            let job = feed.next(&reading);
            produced_bytes.store(feed.produced_bytes, Ordering::Release);
            produced.store(feed.produced, Ordering::Release);
            Ok(job)
        } else {
            Err(())
        }
    };
    // The next job, waiting while the window is full; `None` when none is
    // left or the run stops. For the spawned workers: the calling thread,
    // which writes, must never wait here.
    let take = || -> Option<Job> {
        loop {
            if let Ok(job) = try_take() {
                return job;
            }
            let (lock, cv) = &written;
            let mut w = lock.lock().unwrap_or_else(|e| e.into_inner());
            w.waiting += 1;
            while !window.has_room(
                produced.load(Ordering::Acquire).saturating_sub(w.jobs),
                produced_bytes
                    .load(Ordering::Acquire)
                    .saturating_sub(w.bytes),
            ) && !stop.load(Ordering::Relaxed)
            {
                w = cv.wait(w).unwrap_or_else(|e| e.into_inner());
            }
            w.waiting -= 1;
        }
    };

    // Reads (where the job says so), scores and formats one job.
    // `slots` is the worker's memory for the scored sentences of an
    // article, reused from one article to the next (up to `KEPT_SLOTS`).
    let words = (threads > 1).then(|| WordLog::new(WordLog::MAX_BYTES));
    // `direct`, when the job is the next to be written and the calling
    // thread scores it: what `work` makes goes to the sink at once, part by
    // part, rather than being held until the whole job is scored (a long
    // sentence-CSV document's job held all its rows, megabytes of fresh
    // memory to fault in).
    let process = |scorer: &mut Scorer<'_>,
                   slots: &mut Vec<Scored>,
                   job: Job,
                   origin: Option<usize>,
                   mut direct: Option<&mut DirectSink<'_, T>>|
     -> Done<T> {
        if let Some(words) = &words {
            words.catch_up(scorer, origin);
        }
        let input = &inputs[job.input];
        let mut done = Done {
            input: job.input,
            last: job.last,
            warnings: job.warnings,
            problems: job.problems,
            notes: job.notes,
            docs: Vec::new(),
            failed: job.end,
            sink_failed: None,
            origin,
            bytes: job.bytes,
        };
        // A document of more sentences than a thread keeps slots for (a
        // sentence CSV's can run to thousands) is scored in parts of
        // `KEPT_SLOTS` sentences, as an article file read in parts is,
        // the gate deciding on the whole document's actors: its scored
        // sentences take the memory of one part, which the next part
        // reuses, rather than new memory the size of the document, and so
        // do its rows when they go to the sink part by part (`direct`). A
        // part after the first continues the document before.
        let mut score = |doc: &Document, done: &mut Done<T>| -> Result<()> {
            let n = doc.spans.len();
            let whole = n <= KEPT_SLOTS || !doc.pieces.is_empty();
            let actors = if whole {
                None
            } else {
                scorer.article_actors(doc)
            };
            let mut start = 0;
            loop {
                let end = if whole { n } else { n.min(start + KEPT_SLOTS) };
                let part = (!whole).then(|| doc.part(start..end, actors));
                let doc = part.as_ref().unwrap_or(doc);
                let scored = scorer.score_document_into(doc, slots);
                let mut t = work(scorer, input, doc, scored)?;
                let t = match direct.as_mut() {
                    Some(sink) => {
                        if done.sink_failed.is_none() {
                            done.sink_failed = sink(&mut t).err();
                        }
                        None
                    }
                    None => Some(t),
                };
                // Without per-article summaries, only the count is used.
                let summary = if options.summaries {
                    DocSummary::of(doc, scored, n_classes)
                } else {
                    DocSummary {
                        sentences: scored.len(),
                        ..DocSummary::default()
                    }
                };
                done.docs.push((summary, t, doc.first_sentence > 0));
                start = end;
                if start >= n {
                    break;
                }
            }
            // A long document with `pieces` was scored whole: its slots'
            // memory goes.
            slots.truncate(KEPT_SLOTS);
            slots.shrink_to(KEPT_SLOTS);
            Ok(())
        };
        let result = match job.work {
            Work::Article => load_article(input).and_then(|loaded| {
                done.warnings.splice(0..0, loaded.warnings);
                loaded
                    .documents
                    .iter()
                    .try_for_each(|d| score(d, &mut done))
            }),
            Work::Stream(bytes) => {
                let name = input.path().unwrap_or(Path::new("-"));
                let doc_id = input.doc_id().unwrap_or_default().to_string();
                decode_document(name, doc_id, bytes, &mut done.warnings)
                    .and_then(|doc| score(&doc, &mut done))
            }
            Work::Documents(docs) => docs.iter().try_for_each(|d| score(d, &mut done)),
            Work::CsvRows(rows) => {
                let mut docs = rows.documents();
                let result = docs.try_for_each(|d| score(&d, &mut done));
                done.notes.merge(docs.into_notes());
                result
            }
            Work::Records(lines) => {
                let source = input.path().unwrap_or(Path::new("-"));
                let mut problems = Vec::new();
                let result = lines.iter().try_for_each(|(line, bytes)| {
                    match record_document(source, *line, bytes, &mut problems) {
                        Some(doc) => score(&doc, &mut done),
                        None => Ok(()),
                    }
                });
                done.problems.splice(0..0, problems);
                result
            }
        };
        if let Err(e) = result {
            done.failed.get_or_insert(e);
        }
        if let Some(words) = &words {
            words.publish(scorer, origin);
        }
        done
    };

    // Workers wait until every one of them has started: one that
    // cannot start then stops the run before any worker allocates
    // (under an address-space limit, a worker's first allocation
    // could otherwise fail before the failing start is seen, and end
    // the process). Each says it is running (past the start of a thread,
    // see `StartRoom`), then waits for the word: go (`Some(true)`) or
    // leave (`Some(false)`).
    let started = (Mutex::new((0usize, None::<bool>)), Condvar::new());
    // Each thread resolves (stems, looks up) the words it meets into a
    // word cache of its own, and learns what the others resolved a job's
    // worth at a time through `words` (see `WordLog`): shared word by
    // word, through one table, the locks and the cache lines passed
    // between cores cost more than stemming each word once per thread.
    let scorer = || {
        let mut scorer = Scorer::new(model, options);
        scorer.transformer.keep_fresh(words.is_some());
        scorer
    };
    // By spawned worker (at most `threads` of them): its results the
    // calling thread has written, for the worker to free.
    let spent: Vec<Mutex<Vec<Done<T>>>> = (0..threads).map(|_| Mutex::new(Vec::new())).collect();
    std::thread::scope(|scope| {
        let (tx, rx) = std::sync::mpsc::channel::<(usize, Done<T>)>();
        // `threads - 1` workers read and score; the calling thread scores
        // too, and writes every result in order between its own jobs, so
        // `--threads N` runs N threads, one per core, none waiting for a
        // core held by a writer. Not when an input is a pipe (standard
        // input, a FIFO): reading it can wait for the program at the other
        // end, which may itself wait for the rows already scored, so there
        // the calling thread only writes, beside `threads` workers.
        // Starts worker `k` (the `k + 1`th) and returns once it runs.
        let spawn_worker = |k: usize| {
            #[cfg(test)]
            if tests::REFUSE_WORKER.with(|refuse| refuse.get() == Some(k)) {
                return Err(std::io::Error::other("refused by the test"));
            }
            let tx = tx.clone();
            let (take, process, started, scorer) = (&take, &process, &started, &scorer);
            let spent = &spent[k];
            let room = StartRoom::reserve()?;
            std::thread::Builder::new()
                .name("stance-score".into())
                .spawn_scoped(scope, move || {
                    let (lock, cv) = started;
                    let mut state = lock.lock().unwrap_or_else(|e| e.into_inner());
                    state.0 += 1;
                    cv.notify_all();
                    while state.1.is_none() {
                        state = cv.wait(state).unwrap_or_else(|e| e.into_inner());
                    }
                    if state.1 != Some(true) {
                        return;
                    }
                    drop(state);
                    let mut scorer = scorer();
                    let mut slots = Vec::new();
                    loop {
                        // Taken under the lock, freed after it.
                        let written =
                            std::mem::take(&mut *spent.lock().unwrap_or_else(|e| e.into_inner()));
                        drop(written);
                        let Some(job) = take() else { break };
                        let index = job.index;
                        if tx
                            .send((index, process(&mut scorer, &mut slots, job, Some(k), None)))
                            .is_err()
                        {
                            break;
                        }
                    }
                })?;
            drop(room);
            let (lock, cv) = started;
            let mut state = lock.lock().unwrap_or_else(|e| e.into_inner());
            while state.0 <= k {
                state = cv.wait(state).unwrap_or_else(|e| e.into_inner());
            }
            Ok::<(), std::io::Error>(())
        };
        let thread_failure = |source| Error::Threads {
            requested: threads,
            source,
        };
        // Standard input is known to be a pipe without a look; the other
        // inputs are looked at below, while the workers start on them.
        let stdin = inputs.iter().any(|i| i.path().is_none());
        let first_workers = if stdin { threads } else { threads - 1 };
        for k in 0..first_workers {
            if let Err(source) = spawn_worker(k) {
                // Tell the workers already started to leave without
                // work, so the scope can end: no hang, no panic.
                failure = Some(thread_failure(source));
                halt();
                started.0.lock().unwrap_or_else(|e| e.into_inner()).1 = Some(false);
                started.1.notify_all();
                return;
            }
        }
        started.0.lock().unwrap_or_else(|e| e.into_inner()).1 = Some(true);
        started.1.notify_all();
        // A named pipe or a device among the inputs (not standard input).
        let stream_found = !stdin && sizes.any_stream(inputs);
        let writer_scores = !stdin && !stream_found;
        if stream_found {
            // The calling thread only writes, and a worker takes its
            // place. Without one to spare (one thread asked for) the run
            // cannot read the pipe; with more, the others do.
            if let Err(source) = spawn_worker(first_workers) {
                if first_workers == 0 {
                    failure = Some(thread_failure(source));
                    halt();
                    return;
                }
                summary.fewer_threads = Some(format!(
                    "scored with {first_workers} thread(s), not {threads}: the thread that \
                     scores in the writer's place while an input is a pipe could not be \
                     started ({source})"
                ));
            }
        }
        drop(tx);

        let mut pending = std::collections::BTreeMap::new();
        let mut next_write = 0;
        // Sentences, failure and sentence-CSV notes of the input being
        // written.
        let mut input_sentences = 0;
        let mut input_failed = false;
        let mut input_notes = CsvNotes::default();
        // Writes every result that is next in output order.
        let sink = std::cell::RefCell::new(&mut sink);
        let mut flush = |pending: &mut std::collections::BTreeMap<usize, Done<T>>,
                         next_write: &mut usize| {
            while let Some(mut done) = pending.remove(next_write) {
                let input = &inputs[done.input];
                input_notes.merge(std::mem::take(&mut done.notes));
                // A sentence CSV's warnings are about the whole file: told
                // with its last batch, as they would be read whole.
                let mut warnings = Vec::new();
                if done.last {
                    summary.unclosed += input_notes.unclosed() as usize;
                    warnings = std::mem::take(&mut input_notes).into_warnings();
                }
                warnings.append(&mut done.warnings);
                for message in warnings {
                    on_event(Event::Warning { input, message });
                }
                for problem in done.problems.drain(..) {
                    if !matches!(problem, Error::Repaired { .. }) {
                        summary.records_skipped += 1;
                    }
                    on_event(Event::Record { input, problem });
                }
                if let Some(e) = done.sink_failed.take() {
                    if failure.is_none() {
                        failure = Some(e);
                        halt();
                    }
                }
                for (doc_summary, t, continues) in &mut done.docs {
                    input_sentences += doc_summary.sentences;
                    summary.sentences += doc_summary.sentences;
                    if !*continues {
                        summary.documents += 1;
                    }
                    if options.summaries {
                        match summary.articles.last_mut() {
                            Some(article) if *continues => article.absorb(doc_summary),
                            _ => summary.articles.push(std::mem::take(doc_summary)),
                        }
                    }
                    if let (None, Some(t)) = (&failure, t) {
                        if let Err(e) = (sink.borrow_mut())(t) {
                            failure = Some(e);
                            halt();
                        }
                    }
                }
                if let Some(reason) = done.failed.take() {
                    input_failed = true;
                    summary.skipped += 1;
                    on_event(Event::Skipped { input, reason });
                }
                if done.last {
                    if !input_failed {
                        summary.inputs += 1;
                        on_event(Event::Scored {
                            input,
                            sentences: input_sentences,
                        });
                    }
                    (input_sentences, input_failed) = (0, false);
                }
                let bytes = done.bytes;
                // What is left (the rows' buffers, the documents' totals)
                // goes back to the worker that made it, to be freed there:
                // freed here, each block would take the lock of that
                // thread's malloc heap while the worker allocates from it.
                match done.origin {
                    Some(k) => spent[k]
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .push(done),
                    None => drop(done),
                }
                *next_write += 1;
                let (lock, cv) = &written;
                let mut w = lock.lock().unwrap_or_else(|e| e.into_inner());
                w.jobs = *next_write;
                w.bytes += bytes;
                // Waking costs a system call even with no one waiting.
                let wake = w.waiting > 0;
                drop(w);
                if wake {
                    cv.notify_all();
                }
            }
        };
        // The calling thread takes jobs as a worker does, and writes what
        // is next in order (its own results and the workers') after each.
        // While `window` jobs are in flight it waits for a worker's result
        // instead: the job to be written next is then a worker's (the
        // calling thread's own are written as soon as they are next).
        let mut scorer = writer_scores.then(scorer);
        let mut slots = Vec::new();
        loop {
            while let Ok((i, done)) = rx.try_recv() {
                pending.insert(i, done);
            }
            flush(&mut pending, &mut next_write);
            if stop.load(Ordering::Relaxed) {
                break;
            }
            let Some(scorer) = scorer.as_mut() else {
                // Only writing: wait for the next result.
                match rx.recv() {
                    Ok((i, done)) => {
                        pending.insert(i, done);
                        continue;
                    }
                    Err(_) => break, // every worker has left
                }
            };
            match try_take() {
                Ok(Some(job)) => {
                    let index = job.index;
                    // Next in order: its rows go straight to the sink.
                    let mut direct = |t: &mut T| (sink.borrow_mut())(t);
                    let direct =
                        (index == next_write).then_some(&mut direct as &mut DirectSink<'_, T>);
                    pending.insert(index, process(scorer, &mut slots, job, None, direct));
                }
                Ok(None) => break,
                Err(()) => match rx.recv() {
                    Ok((i, done)) => {
                        pending.insert(i, done);
                    }
                    Err(_) => break, // no worker left to wait for
                },
            }
        }
        drop(scorer);
        // The workers' last results arrive until every worker has left (no
        // job is left, or the run stops).
        while let Ok((i, done)) = rx.recv() {
            pending.insert(i, done);
            flush(&mut pending, &mut next_write);
            if stop.load(Ordering::Relaxed) {
                break;
            }
        }
        flush(&mut pending, &mut next_write);
        // Wake any worker still waiting so the scope can end.
        halt();
    });
    match failure {
        Some(e) => Err(e),
        None => Ok(summary),
    }
}

/// Scores `inputs` and writes the predictions (a CSV header first for
/// CSV) to `out`, calling `on_event` in input order for each input.
pub fn score_inputs<W: Write>(
    model: &Model,
    inputs: &[Input],
    out: W,
    options: ScoreOptions,
    on_event: impl FnMut(Event<'_>),
) -> Result<Summary> {
    let ahead = ReadAhead::new(inputs, options);
    score_inputs_keeping(ahead, model, inputs, out, on_event, |_, _, _| ()).map(|(s, _)| s)
}

/// How far the writing has got, and who waits for it to move on.
#[derive(Default)]
struct Written {
    /// Jobs written, in order.
    jobs: usize,
    /// Their input bytes (see [`ScoreOptions::window_bytes`]).
    bytes: u64,
    /// Workers waiting for `jobs` and `bytes` to grow.
    waiting: usize,
}

/// [`score_inputs`], also keeping what `keep` makes of each scored document
/// (given the input it came from), in input order. `keep` runs on the
/// worker threads; what it returns is held until the end, so keep only what
/// is needed (the HTML report keeps every sentence). Rows are flushed to
/// `out` as each batch is written, so a consumer reading a pipe (a Spark
/// executor) gets them as they come. Scoring starts with the jobs `ahead`
/// has read, with the options it was made with (see
/// [`for_each_input_after`]).
pub fn score_inputs_keeping<W: Write, K: Send>(
    ahead: ReadAhead,
    model: &Model,
    inputs: &[Input],
    out: W,
    on_event: impl FnMut(Event<'_>),
    keep: impl Fn(&Input, &Document, &[Scored]) -> K + Sync,
) -> Result<(Summary, Vec<K>)> {
    let options = ahead.options;
    let mut out = out;
    if options.format == Format::Csv {
        out.write_all(&header_bytes(model.classes()))
            .map_err(Error::Output)?;
    }
    let mut kept = Vec::new();
    let summary = for_each_input_after(
        ahead,
        model,
        inputs,
        |scorer, input, doc, scored| {
            let bytes = scorer.write_document(doc, scored, options.format);
            // A JSONL stream's rows go out record by record.
            let flush = matches!(input, Input::Jsonl(_));
            Ok((bytes, flush, Some(keep(input, doc, scored))))
        },
        |(bytes, flush, k)| {
            kept.extend(k.take());
            out.write_all(bytes).map_err(Error::Output)?;
            if *flush {
                out.flush().map_err(Error::Output)?;
            }
            Ok(())
        },
        on_event,
    )?;
    out.flush().map_err(Error::Output)?;
    Ok((summary, kept))
}

#[cfg(test)]
mod tests {
    use super::*;

    thread_local! {
        /// The worker the run on this thread fails to start, as if the
        /// system had refused it.
        pub(super) static REFUSE_WORKER: std::cell::Cell<Option<usize>> =
            const { std::cell::Cell::new(None) };
    }

    /// The worker that takes the writer's place beside a named pipe fails
    /// to start: the others score every row, and the summary says so.
    #[cfg(unix)]
    #[test]
    fn a_worker_that_cannot_start_beside_a_pipe_is_told_not_silent() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let model = Model::load(&root.join("models/stance.json")).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let article = root.join("seeds/000_1ff71cbcd28b900c.txt");
        let fifo = dir.path().join("feed.txt");
        crate::testutil::make_fifo(&fifo);
        let inputs = [
            Input::Article {
                path: article.clone(),
                doc_id: "file".into(),
            },
            Input::Article {
                path: fifo.clone(),
                doc_id: "feed".into(),
            },
        ];
        let options = ScoreOptions {
            threads: 2,
            ..ScoreOptions::default()
        };
        let run = |refuse: Option<usize>| {
            let text = std::fs::read(&article).unwrap();
            let writer = {
                let fifo = fifo.clone();
                std::thread::spawn(move || std::fs::write(fifo, text).unwrap())
            };
            REFUSE_WORKER.with(|r| r.set(refuse));
            let mut out = Vec::new();
            let summary =
                crate::score::score_inputs(&model, &inputs, &mut out, options, |_| {}).unwrap();
            REFUSE_WORKER.with(|r| r.set(None));
            writer.join().unwrap();
            (summary, out)
        };
        let (whole, rows) = run(None);
        assert_eq!(whole.fewer_threads, None);
        // One worker and the writer start first; the second worker, in the
        // writer's place, is refused.
        let (short, short_rows) = run(Some(1));
        assert_eq!(short_rows, rows);
        assert_eq!(short.sentences, whole.sentences);
        let told = short.fewer_threads.expect("told");
        assert!(
            told.starts_with("scored with 1 thread(s), not 2:")
                && told.contains("refused by the test"),
            "{told}"
        );
    }

    #[test]
    fn the_window_bounds_jobs_and_bytes_but_leaves_every_thread_a_job() {
        let window = Window {
            jobs: 4,
            bytes: 100,
            threads: 2,
        };
        // Room while both bounds have it.
        assert!(window.has_room(0, 0));
        assert!(window.has_room(3, 99));
        // Full by count, or by bytes.
        assert!(!window.has_room(4, 0));
        assert!(!window.has_room(2, 100));
        // Fewer jobs than threads: room, however large they are.
        assert!(window.has_room(1, 1 << 40));
        assert!(window.has_room(0, 100));
        // The read-ahead stops at the byte budget too.
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.csv");
        let row = format!("{},Moscow and Beijing met again.\n", "x".repeat(50));
        let mut csv = String::from("doc_id,text\n");
        for d in 0..20 {
            csv += &format!("d{d:02}{row}");
        }
        std::fs::write(&path, csv).unwrap();
        let inputs = [Input::Csv(path)];
        let options = ScoreOptions {
            threads: 1,
            batch_bytes: 50,
            window_bytes: 250,
            ..ScoreOptions::default()
        };
        let mut ahead = ReadAhead::new(&inputs, options);
        ahead.read(&inputs, || false);
        // Records of 84 bytes, a document each, a job each: three made,
        // the third taking the bytes in flight past the budget.
        assert_eq!(ahead.jobs(), 3);
    }

    #[test]
    fn threads_learn_each_others_words_until_the_log_is_full() {
        let model = Model::train(&crate::testutil::toy(), &Default::default(), None).unwrap();
        let options = ScoreOptions::default();
        let scorer = || {
            let mut s = Scorer::new(&model, options);
            s.transformer.keep_fresh(true);
            s
        };
        let (mut a, mut b) = (scorer(), scorer());
        let log = WordLog::new(100);
        a.score_sentence(0, "China and Russia signed a deal.");
        log.publish(&mut a, Some(0));
        log.catch_up(&mut a, Some(0));
        assert_eq!(a.learned, 1, "a thread passes over its own batches");
        log.catch_up(&mut b, None);
        b.score_sentence(0, "Russia and China signed a deal, a deal.");
        log.publish(&mut b, None);
        assert_eq!(
            log.batches.lock().unwrap().len(),
            1,
            "b resolved nothing: it had learned every word from a"
        );
        // A sentence of new words fills the 100 bytes (a word counts its
        // length and 8 more); the next publish finds the log full, logs
        // nothing more and stops b keeping words.
        b.score_sentence(0, "Sanctions hurt exports, officials warned yesterday.");
        log.publish(&mut b, None);
        assert_eq!(log.batches.lock().unwrap().len(), 2);
        b.score_sentence(0, "Tariffs rose sharply.");
        log.publish(&mut b, None);
        assert_eq!(log.batches.lock().unwrap().len(), 2);
        assert!(b.transformer.take_fresh().is_empty());
    }

    #[test]
    fn evidence_words_are_the_words_without_punctuation_between() {
        for (span, want) in [
            ("China", "China"),
            ("Xi Jinping", "Xi Jinping"),
            ("Xi  Jinping", "Xi Jinping"),
            ("problem; China", "problem China"),
            ("U.S. sanctions", "U.S sanctions"),
            ("Beijing’s ties", "Beijing’s ties"),
            ("李克強 met", "李克強 met"),
            ("sanctions\non Moscow", "sanctions on Moscow"),
            ("2022 (Feb)", "2022 Feb"),
            (" China", "China"),
            ("China ", "China"),
            ("Xi ", "Xi"),
            ("", ""),
        ] {
            let mut got = String::from("x; ");
            push_words(&mut got, span);
            assert_eq!(got, format!("x; {want}"), "{span:?}");
        }
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
}
