//! The parallel, ordered runner: documents → scored sentences.
//!
//! Has the responsibility to score every input on worker threads and hand
//! the results to one writer in input order. Worker threads (one [`Scorer`]
//! each, so each keeps its word cache for the whole run) take inputs in
//! turn, read, score and format them; the calling thread writes the results
//! in input order as they complete. At most [`ScoreOptions::window`] inputs
//! are in flight, so memory does not grow with the input, and the output
//! does not depend on the thread count.

use std::fmt::Write as _;
use std::io::Write;
use std::path::{Path, PathBuf};

use super::input::{decode_record_line, load, parse_jsonl_record, read_record_line, Document};
use super::output::{header_bytes, DocSummary, Format};
use crate::error::{Error, Result};
use crate::features::SparseVec;
use crate::io::{Input, MAX_ARTICLE_BYTES};
use crate::model::Model;

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

/// The evidence of a sentence of an off-topic article.
pub const OFF_TOPIC_EVIDENCE: &str = "off-topic: the article names neither China nor Russia";

/// Per-thread scoring state.
pub struct Scorer<'m> {
    pub(super) model: &'m Model,
    transformer: crate::features::Transformer<'m>,
    x: SparseVec,
    options: ScoreOptions,
    /// Reused by the row writers in [`super::output`].
    pub(super) buf: Vec<u8>,
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
                    // The words as written, without the punctuation between
                    // them: a term spanning "problem; China" must not put
                    // the list separator `; ` inside the evidence.
                    let words = sentence[s..t]
                        .split_whitespace()
                        .map(|w| w.trim_matches(|c: char| !c.is_alphanumeric()))
                        .filter(|w| !w.is_empty());
                    for (k, word) in words.enumerate() {
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

    /// Scores every sentence of `doc` with the classifier alone, and returns
    /// the actor groups the article names (see
    /// [`crate::features::Transformer::actor_mask`]).
    pub fn score_document_ungated(&mut self, doc: &Document) -> (Vec<Scored>, u32) {
        let mut mask = 0;
        let scored = doc
            .spans
            .iter()
            .enumerate()
            .map(|(i, span)| {
                let s = self.score_sentence(i, span.text(&doc.text));
                mask |= self.transformer.actor_mask();
                s
            })
            .collect();
        (scored, mask)
    }

    /// Scores every sentence of `doc`. With an off-topic gate in the model,
    /// an article none of whose sentences names the gate's actors gets the
    /// gate's class for every sentence, with probability 1 and the evidence
    /// [`OFF_TOPIC_EVIDENCE`].
    pub fn score_document(&mut self, doc: &Document) -> Vec<Scored> {
        let (mut scored, mask) = self.score_document_ungated(doc);
        self.apply_gate(&mut scored, mask);
        scored
    }

    /// Applies the model's off-topic gate to the sentences of one article
    /// whose sentences named the actors in `article_mask`: off-topic, every
    /// sentence gets the gate's class with probability 1 and the evidence
    /// [`OFF_TOPIC_EVIDENCE`]; otherwise nothing changes. Returns whether
    /// the gate applied.
    pub fn apply_gate(&self, scored: &mut [Scored], article_mask: u32) -> bool {
        let Some(gate) = self.model.gate().filter(|g| g.is_off_topic(article_mask)) else {
            return false;
        };
        let n = self.model.classes().len();
        for s in scored {
            s.label = gate.class;
            s.probabilities = gate.probabilities(n);
            s.evidence = OFF_TOPIC_EVIDENCE.to_string();
        }
        true
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
        reason: Error,
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
/// order, `sink` receives what `work` made of each of its documents (given
/// the input it came from) on a worker thread; `on_event` hears about every
/// input.
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
    W: Fn(&mut Scorer<'_>, &Input, &Document, &[Scored]) -> Result<T> + Sync,
    S: FnMut(T) -> Result<()>,
{
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
    use std::sync::{Condvar, Mutex};

    /// What a worker hands back for one input: its warnings and, per
    /// document, the totals and `work`'s result. Documents and scored
    /// sentences are dropped on the worker that made them, so the writing
    /// thread frees nothing another thread allocated.
    type Done<T> = Result<(Vec<String>, Vec<(DocSummary, T)>)>;

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
            let t = work(scorer, &inputs[i], doc, &scored)?;
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
            let spawned = std::thread::Builder::new()
                .name("stance-score".into())
                .spawn_scoped(scope, move || {
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
            if let Err(source) = spawned {
                // Let the workers already started finish their input and
                // leave, so the scope can end: no hang, no panic.
                failure = Some(Error::Threads {
                    requested: threads,
                    source,
                });
                stop.store(true, Ordering::Relaxed);
                written.1.notify_all();
                return;
            }
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

/// Scores `inputs` and writes the predictions CSV (header included) to
/// `out`, calling `on_event` in input order for each input.
pub fn score_inputs<W: Write>(
    model: &Model,
    inputs: &[Input],
    out: W,
    options: ScoreOptions,
    on_event: impl FnMut(Event<'_>),
) -> Result<Summary> {
    score_inputs_keeping(model, inputs, out, options, on_event, |_, _, _| ()).map(|(s, _)| s)
}

/// [`score_inputs`], also keeping what `keep` makes of each scored document
/// (given the input it came from), in input order. `keep` runs on the
/// worker threads; what it returns is held until the end, so keep only what
/// is needed (the HTML report keeps every sentence).
pub fn score_inputs_keeping<W: Write, K: Send>(
    model: &Model,
    inputs: &[Input],
    out: W,
    options: ScoreOptions,
    on_event: impl FnMut(Event<'_>),
    keep: impl Fn(&Input, &Document, &[Scored]) -> K + Sync,
) -> Result<(Summary, Vec<K>)> {
    let mut out = out;
    if options.format == Format::Csv {
        out.write_all(&header_bytes(model.classes()))
            .map_err(Error::Output)?;
    }
    let mut kept = Vec::new();
    let summary = for_each_input(
        model,
        inputs,
        options,
        |scorer, input, doc, scored| {
            let bytes = scorer.write_document(doc, scored, options.format)?;
            Ok((bytes, keep(input, doc, scored)))
        },
        |(bytes, k)| {
            kept.push(k);
            out.write_all(&bytes).map_err(Error::Output)
        },
        on_event,
    )?;
    out.flush().map_err(Error::Output)?;
    Ok((summary, kept))
}

/// Scores a JSONL stream: one `{"doc_id": …, "text": …}` object per line,
/// the whole article in `text` (see [`super::input::parse_jsonl_record`]).
/// Each record is scored and its rows written and flushed before the next
/// line is read, so memory stays bounded however long the stream (a line
/// may hold up to [`MAX_ARTICLE_BYTES`]) and output follows input order. A
/// malformed line is reported through `on_problem` with its line number,
/// counted as skipped, and the stream goes on; a line over the limit is
/// reported and ends that input. Invalid UTF-8 in a line is replaced with
/// U+FFFD and reported as [`Error::Repaired`] (a warning: the record is
/// scored); a byte-order mark is dropped. Writes no CSV header: call
/// [`super::write_header`] first for CSV output. `source` names the stream
/// in messages and default ids; `on_document` sees every scored record.
pub fn score_jsonl<R: std::io::BufRead>(
    model: &Model,
    source: &Path,
    reader: R,
    out: &mut dyn Write,
    options: ScoreOptions,
    mut on_problem: impl FnMut(Error),
    on_document: &mut dyn FnMut(&Document, &[Scored]),
) -> Result<Summary> {
    let mut scorer = Scorer::new(model, options);
    let mut summary = Summary::default();
    let n_classes = model.classes().len();
    let mut reader = reader;
    let mut bytes = Vec::new();
    let mut n = 0u64;
    loop {
        n += 1;
        match read_record_line(&mut reader, &mut bytes, MAX_ARTICLE_BYTES) {
            Ok(true) => {}
            Ok(false) => break,
            Err(e) if e.kind() == std::io::ErrorKind::FileTooLarge => {
                // Nothing after an overlong line can be found without
                // reading it all: stop this input here.
                summary.skipped += 1;
                on_problem(Error::Record {
                    path: source.to_path_buf(),
                    line: n,
                    message: format!("{e}; the rest of this input is not read"),
                });
                break;
            }
            Err(e) => return Err(Error::io(source, e)),
        }
        let (line, replaced) = decode_record_line(&bytes);
        if line.trim().is_empty() {
            continue;
        }
        if replaced > 0 {
            on_problem(Error::Repaired {
                path: source.to_path_buf(),
                line: n,
                replaced,
            });
        }
        let doc = match parse_jsonl_record(source, n, &line) {
            Ok(doc) => doc,
            Err(e) => {
                summary.skipped += 1;
                on_problem(e);
                continue;
            }
        };
        let scored = scorer.score_document(&doc);
        let bytes = scorer.write_document(&doc, &scored, options.format)?;
        out.write_all(&bytes).map_err(Error::Output)?;
        out.flush().map_err(Error::Output)?;
        summary.inputs += 1;
        summary.documents += 1;
        summary.sentences += scored.len();
        summary
            .articles
            .push(DocSummary::of(&doc, &scored, n_classes));
        on_document(&doc, &scored);
    }
    Ok(summary)
}

/// Scores JSONL inputs one after the other (`-` is standard input), with a
/// CSV header first when the output is CSV. An input that cannot be opened,
/// or a folder, is reported through `on_problem` and skipped, as is every
/// malformed record; the totals add up over all inputs. `on_document`
/// sees every scored record with the input it came from.
pub fn score_jsonl_inputs(
    model: &Model,
    inputs: &[PathBuf],
    out: &mut dyn Write,
    options: ScoreOptions,
    mut on_problem: impl FnMut(Error),
    mut on_document: impl FnMut(&Path, &Document, &[Scored]),
) -> Result<Summary> {
    if options.format == Format::Csv {
        out.write_all(&header_bytes(model.classes()))
            .map_err(Error::Output)?;
    }
    let mut summary = Summary::default();
    for input in inputs {
        let s = if input.as_os_str() == "-" {
            let stdin = std::io::stdin();
            let mut seen = |d: &Document, s: &[Scored]| on_document(input, d, s);
            score_jsonl(
                model,
                input,
                stdin.lock(),
                out,
                options,
                &mut on_problem,
                &mut seen,
            )?
        } else if input.is_dir() {
            summary.skipped += 1;
            on_problem(Error::NotAFile {
                path: input.clone(),
                expected: "a .jsonl file or -",
            });
            continue;
        } else {
            match crate::io::open_input(input, u64::MAX) {
                Ok(f) => score_jsonl(
                    model,
                    input,
                    std::io::BufReader::new(f),
                    out,
                    options,
                    &mut on_problem,
                    &mut |d: &Document, s: &[Scored]| on_document(input, d, s),
                )?,
                Err(e) => {
                    summary.skipped += 1;
                    on_problem(e);
                    continue;
                }
            }
        };
        summary.inputs += s.inputs;
        summary.documents += s.documents;
        summary.sentences += s.sentences;
        summary.skipped += s.skipped;
        summary.articles.extend(s.articles);
    }
    Ok(summary)
}

#[cfg(test)]
mod tests {
    use super::*;

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
