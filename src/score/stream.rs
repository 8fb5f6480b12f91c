//! Large article files → documents of consecutive sentences.
//!
//! Has the responsibility to read one article file too large to hold whole
//! in parts, so that memory is bounded by the longest sentence (more
//! exactly: by the longest line without a place to cut it, see
//! [`segment_settled`](crate::segment::segment_settled)), not by the file,
//! while every row is the row the whole file gets. The file is read twice:
//!
//! 1. once for the off-topic gate, which needs the whole article: its
//!    sentences are analysed until one names an actor of the gate (most
//!    on-topic articles do in their first sentence), and the rest of the
//!    file is only checked for NUL bytes (binary data), so that a binary
//!    file is refused before any of its rows is written. The scoring
//!    threads share this reading, since they have no part of the file to
//!    take until it ends: each looks through a share of whole lines (a
//!    sentence never crosses a line break) until one of them finds the
//!    gate open, then checks the rest of its share;
//! 2. once to hand out its sentences in parts of about
//!    [`super::ScoreOptions::batch_bytes`] of text, each a [`Document`] whose
//!    spans, added to its `base_offset`, are byte offsets into the file,
//!    whose `first_sentence` continues the numbering, and whose `actors`
//!    carry the gate's decision, so that any worker scores any part.
//!
//! The bytes are decoded as [`super::decode`] decodes a whole file: a UTF-8
//! byte-order mark is dropped (offsets still count it) and invalid UTF-8
//! becomes U+FFFD with one warning for the file, after its last part.
//! Standard input and named pipes cannot be read twice: one that goes on
//! past [`STREAM_ABOVE`] bytes is first written to an unnamed temporary
//! file ([`spool`]), up to [`MAX_ARTICLE_BYTES`], and that file is read as
//! an article file is (standard input redirected from a regular file is
//! read from that file).

use std::fs::File;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::input::{repaired_warning, Document, BOM};
use crate::error::{Error, Result};
use crate::io::{has_nul, ArticleFormat, Capped, Input, MAX_ARTICLE_BYTES};
use crate::model::Model;
use crate::segment::{Segmenter, Settled};

/// Article files larger than this many bytes are read in parts by default
/// (see the module docs): 1 MiB. Smaller files are read whole, on the
/// worker that scores them, so a folder of articles is read in parallel;
/// a file read whole takes a few hundred bytes per sentence while it is
/// scored (a 1 MiB file of one-word lines about 70 MiB).
pub const STREAM_ABOVE: u64 = 1 << 20;

/// Whether `input` is read in parts: a plain-text article (not Markdown
/// or a web page, whose text is rebuilt whole) in a regular file of more
/// than `above` bytes (`size` gives its size, `None` when not a regular
/// file; asked only of a plain-text article).
pub(super) fn read_in_parts(input: &Input, size: impl FnOnce() -> Option<u64>, above: u64) -> bool {
    match input {
        Input::Article { path, .. } => {
            ArticleFormat::of(path) == ArticleFormat::Text && size().is_some_and(|n| n > above)
        }
        _ => false,
    }
}

/// Invalid UTF-8 repaired piece by piece exactly as
/// [`String::from_utf8_lossy`] repairs the whole: a sequence cut by the end
/// of a piece waits for the next.
#[derive(Debug, Default)]
struct Repair {
    /// The start of a sequence cut by the end of the last piece.
    carry: Vec<u8>,
    /// Invalid sequences replaced.
    replaced: usize,
    /// U+FFFD characters the input held already (valid ones).
    literal: usize,
}

impl Repair {
    /// Decodes `bytes` onto `out`; `end` when nothing follows them.
    fn push(&mut self, bytes: &[u8], end: bool, out: &mut String) {
        let joined;
        let mut rest = if self.carry.is_empty() {
            bytes
        } else {
            self.carry.extend_from_slice(bytes);
            joined = std::mem::take(&mut self.carry);
            &joined[..]
        };
        loop {
            match simdutf8::compat::from_utf8(rest) {
                Ok(valid) => {
                    self.valid(valid, out);
                    return;
                }
                Err(e) => {
                    let (valid, after) = rest.split_at(e.valid_up_to());
                    // `valid_up_to` bytes are valid UTF-8.
                    self.valid(std::str::from_utf8(valid).unwrap_or_default(), out);
                    match e.error_len() {
                        Some(n) => {
                            out.push('\u{FFFD}');
                            self.replaced += 1;
                            rest = &after[n..];
                        }
                        None if end => {
                            out.push('\u{FFFD}');
                            self.replaced += 1;
                            return;
                        }
                        None => {
                            self.carry = after.to_vec();
                            return;
                        }
                    }
                }
            }
        }
    }

    fn valid(&mut self, text: &str, out: &mut String) {
        // `memmem`'s vector search: `str::matches` looks for the last byte
        // of U+FFFD a word at a time, and every part of a file passes here.
        self.literal += memchr::memmem::find_iter(text.as_bytes(), "\u{FFFD}").count();
        out.push_str(text);
    }

    /// The file's warning, as [`super::decode`] words it, if any sequence
    /// was replaced.
    fn warning(&self) -> Option<String> {
        (self.replaced > 0).then(|| repaired_warning(self.replaced + self.literal))
    }
}

/// An article file read in chunks: NUL bytes refused, a byte-order mark
/// dropped, invalid UTF-8 repaired, sentences handed out as they settle.
#[derive(Debug)]
struct Pieces {
    file: Opened,
    /// Where the next read starts.
    at: u64,
    /// Bytes read at a time (more while a line cannot be cut).
    chunk: usize,
    /// Bytes of the byte-order mark, once the file's start was read.
    bom: Option<usize>,
    repair: Repair,
    segmenter: Segmenter,
    /// Reused read buffer.
    buf: Vec<u8>,
    /// Bytes left to read when only a share of the file is read (see
    /// [`Pieces::open_share`]); `None` to its end.
    left: Option<u64>,
    /// The end of the file (or of the share) was read.
    end: bool,
    /// The last sentences were handed out.
    finished: bool,
}

impl Pieces {
    fn open(file: &Opened, chunk: usize) -> Pieces {
        Pieces {
            file: file.clone(),
            at: 0,
            // At least a byte-order mark's length, so the first read holds it.
            chunk: chunk.max(BOM.len() + 1),
            bom: None,
            repair: Repair::default(),
            segmenter: Segmenter::new(),
            buf: Vec::new(),
            left: None,
            end: false,
            finished: false,
        }
    }

    /// Reads the share of `file` from byte `start` (a line start, past any
    /// byte-order mark, or 0) to `end` (`None`: to the end of the file).
    fn open_share(file: &Opened, start: u64, end: Option<u64>, chunk: usize) -> Pieces {
        let mut pieces = Pieces::open(file, chunk);
        if start > 0 {
            pieces.at = start;
            pieces.bom = Some(0);
        }
        pieces.left = end.map(|end| end - start);
        pieces
    }

    /// Reads the next `n` bytes into `buf` (fewer only at the end of the
    /// file or of the share read); a NUL byte is [`Error::Binary`].
    fn read(&mut self, n: usize) -> Result<()> {
        let n = self.left.map_or(n, |left| n.min(left as usize));
        // Grown (and zeroed) only where a read asks for more than the last.
        self.buf.resize(n, 0);
        let got = self.file.read_at(&mut self.buf, self.at)?;
        self.buf.truncate(got);
        self.at += got as u64;
        self.end = self.buf.len() < n;
        if let Some(left) = &mut self.left {
            *left -= self.buf.len() as u64;
            self.end |= *left == 0;
        }
        if has_nul(&self.buf) {
            return Err(Error::Binary {
                path: self.file.name.clone(),
            });
        }
        Ok(())
    }

    /// The next settled sentences (some, or the last, possibly none);
    /// `None` after the last.
    fn next(&mut self) -> Result<Option<Settled>> {
        while !self.finished {
            // A line that could not be cut is read on in ever larger steps,
            // so it is segmented a bounded number of times over.
            self.read(self.chunk.max(self.segmenter.pending()))?;
            let mut bytes = &self.buf[..];
            if self.bom.is_none() {
                let bom = if bytes.starts_with(BOM) { BOM.len() } else { 0 };
                self.bom = Some(bom);
                bytes = &bytes[bom..];
            }
            let (repair, end) = (&mut self.repair, self.end);
            self.segmenter
                .push_with(|text| repair.push(bytes, end, text));
            let settled = self.segmenter.take(self.end);
            self.finished = self.end;
            if self.end || !settled.spans.is_empty() {
                return Ok(Some(settled));
            }
        }
        Ok(None)
    }

    /// Reads the rest of the file, only checking it for NUL bytes. With
    /// `readers` above 1 (the scoring threads, which have no part of this
    /// file to score meanwhile), that many threads each check an equal
    /// share of what is left at the time, reading at their own offsets;
    /// whatever the file grew by since is read on here. Nothing is read
    /// of a stream held in a temporary file: it was checked as it was
    /// written ([`spool`]).
    fn check_rest(&mut self, readers: usize) -> Result<()> {
        if self.file.checked {
            return Ok(());
        }
        if readers > 1 && !self.end {
            self.check_shares(readers)?;
        }
        while !self.end {
            self.read(self.chunk.max(REST_READ))?;
        }
        Ok(())
    }

    /// [`check_rest`](Self::check_rest)'s shares, up to the file's size
    /// now; leaves the file's position there. No more readers than reads
    /// left: a file of less than two is not worth a thread, and nothing is
    /// read here then.
    fn check_shares(&mut self, readers: usize) -> Result<()> {
        let from = self.at;
        let to = self.file.len()?;
        // A share of at least one read each: a few MiB left are not worth
        // dozens of threads.
        let readers = readers.min((to.saturating_sub(from) / CHECK_READ as u64) as usize);
        if readers < 2 {
            return Ok(());
        }
        let share = (to - from).div_ceil(readers as u64);
        let file = &self.file;
        // Whether `[start, start + share)` (cut at `to`) holds no NUL byte;
        // a file cut short since is checked as far as it goes.
        let check = |start: u64| -> Result<bool> {
            let end = (start + share).min(to);
            let mut buf = vec![0; CHECK_READ];
            let mut at = start;
            while at < end {
                let n = ((end - at) as usize).min(CHECK_READ);
                let got = file.read_at(&mut buf[..n], at)?;
                if got == 0 {
                    break;
                }
                if has_nul(&buf[..got]) {
                    return Ok(false);
                }
                at += got as u64;
            }
            Ok(true)
        };
        let results = on_threads(readers, "stance-check", |k| check(from + k as u64 * share));
        // In file order: the first share with a problem names it.
        for result in results {
            if !result? {
                return Err(Error::Binary {
                    path: self.file.name.clone(),
                });
            }
        }
        self.at = to;
        Ok(())
    }
}

/// Bytes each thread checking a share of a file for NUL bytes reads at a
/// time, and the least share worth a thread of its own.
const CHECK_READ: usize = 1 << 20;

/// Bytes read at a time where the rest of a file is checked for NUL bytes
/// on one thread: the size of a part (at the default batch size), so the
/// read buffer that held the parts the gate looked at holds these too.
/// Reads of [`CHECK_READ`] grew it to 1 MiB for every article read in
/// parts, a fresh mapping faulted in page by page while the feed waited:
/// 0.6–1.0 ms of the 0.8–1.4 ms a 1.2 MB article took to open.
const REST_READ: usize = 64 << 10;

/// The actor groups the article file `path` names, as far as the model's
/// off-topic gate needs to know: once a sentence names one of the gate's
/// groups the gate is open, and the rest of the file is only checked for
/// NUL bytes. Without a gate, no sentence is analysed. `readers` threads
/// share the reading: with a gate, each looks through a share of whole
/// lines ([`line_shares`]) until one of them finds the gate open;
/// otherwise they share the NUL check ([`Pieces::check_rest`]).
fn article_actors(file: &Opened, chunk: usize, model: &Model, readers: usize) -> Result<u32> {
    let Some(gate) = model.gate() else {
        let mut pieces = Pieces::open(file, chunk);
        pieces.check_rest(readers)?;
        return Ok(0);
    };
    let shares = line_shares(file, readers)?;
    let open = std::sync::atomic::AtomicBool::new(false);
    // The actors of one share, as far as the look goes; then the rest of
    // the share is checked for NUL bytes. Read alone, the file is one
    // share, and its rest is checked by `readers` threads.
    let look = |start: u64, end: Option<u64>| -> Result<u32> {
        use std::sync::atomic::Ordering;
        let mut pieces = Pieces::open_share(file, start, end, chunk);
        let mut transformer = model.featurizer().transformer();
        let mut mask = 0;
        'read: while !open.load(Ordering::Relaxed) {
            let Some(settled) = pieces.next()? else { break };
            for span in &settled.spans {
                // The actors only, without the vector's work.
                mask |= transformer.actors(span.text(&settled.text));
                if !gate.is_off_topic(mask) {
                    open.store(true, Ordering::Relaxed);
                    break 'read;
                }
            }
        }
        pieces.check_rest(if shares.len() > 2 { 1 } else { readers })?;
        Ok(mask)
    };
    let ends = |k: usize| (shares[k], (k + 2 < shares.len()).then(|| shares[k + 1]));
    let results = on_threads(shares.len() - 1, "stance-look", |k| {
        let (start, end) = ends(k);
        look(start, end)
    });
    // In file order: the first share with a problem names it.
    let mut mask = 0;
    for result in results {
        mask |= result?;
    }
    Ok(mask)
}

/// `f(k)` for each `k` in `0..n`, in order of `k`: `f(0)` on the calling
/// thread, the others each on a thread of its own called `name` (or, when
/// no thread can be started, on the calling thread after `f(0)`).
fn on_threads<T: Send>(n: usize, name: &str, f: impl Fn(usize) -> T + Sync) -> Vec<T> {
    let f = &f;
    std::thread::scope(|scope| {
        let helpers: Vec<_> = (1..n)
            .map(|k| {
                let spawned = std::thread::Builder::new()
                    .name(name.into())
                    .spawn_scoped(scope, move || f(k));
                (k, spawned)
            })
            .collect();
        let mut results = vec![f(0)];
        for (k, spawned) in helpers {
            results.push(match spawned {
                Ok(helper) => helper
                    .join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic)),
                Err(_) => f(k),
            });
        }
        results
    })
}

/// Where `readers` threads' shares of the article `file` start, and its
/// size at the end: `[0, …, size]`. Each share but the first starts just
/// after a line end, so the sentences of a share are those the whole file
/// has there (a sentence never crosses a line break). A share is at least
/// [`CHECK_READ`] bytes. A line end is looked for up to [`CHECK_READ`]
/// bytes past each even cut, so a file on one line is one share without
/// being read for it; where none is that near, the share runs on to the
/// next cut.
fn line_shares(file: &Opened, readers: usize) -> Result<Vec<u64>> {
    let size = file.len()?;
    let readers = readers.min((size / CHECK_READ as u64) as usize).max(1);
    let mut starts = vec![0];
    let mut block = vec![0; 64 << 10];
    for k in 1..readers as u64 {
        let from = (size * k / readers as u64).max(starts[starts.len() - 1]);
        // The first line end at or after `from`, read a block at a time.
        let mut at = from;
        let cut = loop {
            let n = file.read_at(&mut block, at)?;
            if n == 0 || at - from >= CHECK_READ as u64 {
                break None;
            }
            if let Some(i) = memchr::memchr(b'\n', &block[..n]) {
                break Some(at + i as u64 + 1);
            }
            at += n as u64;
        };
        if let Some(cut) = cut.filter(|&cut| cut < size && cut > starts[starts.len() - 1]) {
            starts.push(cut);
        }
    }
    starts.push(size);
    Ok(starts)
}

/// An article open to be read in parts: the threads that read it share
/// the file, each reading at its own offsets. `name` is what its errors
/// call it: its path, or `-` for standard input held in a temporary file
/// (see [`spool`]).
#[derive(Debug, Clone)]
pub(super) struct Opened {
    file: Arc<File>,
    name: PathBuf,
    /// Known to hold no NUL byte (a stream checked as it was held).
    checked: bool,
}

impl Opened {
    /// Opens the article file `path`.
    fn open(path: &Path) -> Result<Opened> {
        let file = File::open(path).map_err(|e| Error::io(path, e))?;
        Ok(Opened {
            file: Arc::new(file),
            name: path.to_path_buf(),
            checked: false,
        })
    }

    /// The file's size now.
    fn len(&self) -> Result<u64> {
        let meta = self.file.metadata().map_err(|e| self.error(e))?;
        Ok(meta.len())
    }

    /// Reads into `buf` from byte `at` until it is full or the file ends;
    /// the bytes read.
    fn read_at(&self, buf: &mut [u8], at: u64) -> Result<usize> {
        let mut got = 0;
        while got < buf.len() {
            match read_at(&self.file, &mut buf[got..], at + got as u64) {
                Ok(0) => break,
                Ok(n) => got += n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(self.error(e)),
            }
        }
        Ok(got)
    }

    fn error(&self, e: std::io::Error) -> Error {
        Error::io(&self.name, e)
    }
}

/// One positioned read: the file's own offset is left alone, so threads
/// can share the file.
#[cfg(unix)]
fn read_at(file: &File, buf: &mut [u8], at: u64) -> std::io::Result<usize> {
    std::os::unix::fs::FileExt::read_at(file, buf, at)
}

/// One positioned read (Windows moves the file's offset, which no reader
/// here relies on).
#[cfg(windows)]
fn read_at(file: &File, buf: &mut [u8], at: u64) -> std::io::Result<usize> {
    std::os::windows::fs::FileExt::seek_read(file, buf, at)
}

/// A stream's text (standard input, or a named pipe given as a plain-text
/// article) as the runner reads it: whole when it ends within the bytes
/// read whole ([`spool`]'s `above`), else held in a temporary file to be
/// read in parts as an article file is, twice over (see the module docs).
#[derive(Debug)]
pub(super) enum Spooled {
    /// All of it.
    Whole(Vec<u8>),
    /// An unnamed temporary file holding all of it, which goes when it is
    /// closed.
    File(File),
}

/// Reads the stream `input` (`name`: `-` for standard input, else its
/// path) up to `above` bytes; if it goes on past them, writes them and
/// the rest to an unnamed temporary file in the system's temporary folder
/// (`TMPDIR` on Unix), so that the memory it takes does not grow with it.
/// A stream is read up to [`MAX_ARTICLE_BYTES`], as an article is whole:
/// an endless one is an error, not a full disk.
pub(super) fn spool(input: impl Read, name: &Path, above: u64) -> Result<Spooled> {
    let mut input = Capped::new(input, MAX_ARTICLE_BYTES);
    let read_error = |e| stream_error(name, e);
    let whole = above.min(MAX_ARTICLE_BYTES);
    let mut head = Vec::new();
    (&mut input)
        .take(whole + 1)
        .read_to_end(&mut head)
        .map_err(read_error)?;
    if head.len() as u64 <= whole {
        return Ok(Spooled::Whole(head));
    }
    let dir = std::env::temp_dir();
    let spool_error = |source| Error::Spool {
        input: name.to_path_buf(),
        dir: dir.clone(),
        source,
    };
    let mut file = tempfile::tempfile().map_err(spool_error)?;
    let mut buf = head;
    loop {
        // Binary data (`/dev/zero`, say) is refused as soon as it is seen,
        // not held first.
        if has_nul(&buf) {
            return Err(Error::Binary {
                path: name.to_path_buf(),
            });
        }
        file.write_all(&buf).map_err(spool_error)?;
        buf.clear();
        let n = (&mut input)
            .take(SPOOL_READ as u64)
            .read_to_end(&mut buf)
            .map_err(read_error)?;
        if n == 0 {
            return Ok(Spooled::File(file));
        }
    }
}

/// A failure to open or read the stream `name`: standard input's (`-`) or
/// the named pipe's.
pub(super) fn stream_error(name: &Path, e: std::io::Error) -> Error {
    if name.as_os_str() == "-" {
        Error::Stdin(e)
    } else {
        Error::io(name, e)
    }
}

/// Standard input, when it is a regular file read from its start
/// (`stance score - < article.txt`): it can be read twice and at any
/// offset, as an article file is, without being copied first.
#[cfg(unix)]
pub(super) fn stdin_file() -> Option<File> {
    use std::io::Seek;
    use std::os::fd::AsFd;
    let mut file = File::from(std::io::stdin().as_fd().try_clone_to_owned().ok()?);
    let regular = file.metadata().ok()?.is_file();
    (regular && file.stream_position().ok()? == 0).then_some(file)
}

/// Standard input as a file: not known to be one here.
#[cfg(not(unix))]
pub(super) fn stdin_file() -> Option<File> {
    None
}

/// Asks for a pipe buffer of [`PIPE_BYTES`] on `stream`, if it is a pipe:
/// it is then read in reads of up to that much rather than the default
/// 64 KiB, each of which wakes the program writing it (a 37 MB article
/// piped in, scored with two threads, 24 ± 8 ms of 227 sooner in
/// alternating runs). Anything else, or a refusal, leaves it as it was.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
pub(super) fn widen_pipe(stream: &impl std::os::fd::AsRawFd) {
    // SAFETY: `F_SETPIPE_SZ` takes an int and touches no memory of ours;
    // the descriptor is borrowed, open for this call.
    unsafe { libc::fcntl(stream.as_raw_fd(), libc::F_SETPIPE_SZ, PIPE_BYTES) };
}

/// The pipe buffer's size cannot be asked for here.
#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
pub(super) fn widen_pipe<T>(_stream: &T) {}

/// The pipe buffer [`widen_pipe`] asks for: 1 MiB, the most Linux grants
/// an unprivileged process by default (`/proc/sys/fs/pipe-max-size`).
#[cfg(all(target_os = "linux", target_env = "gnu"))]
const PIPE_BYTES: libc::c_int = 1 << 20;

/// Bytes a stream is read at a time while it is written to a temporary
/// file: the buffer that held its first `above` bytes is reused.
const SPOOL_READ: usize = 1 << 20;

/// An article file handed out in parts (see the module docs).
#[derive(Debug)]
pub(super) struct ArticleParts {
    pieces: Pieces,
    doc_id: String,
    /// The `source` of its rows: the path (none for standard input).
    source: Option<String>,
    /// What the first reading found the article names.
    actors: u32,
    /// Sentences handed out.
    sentences: usize,
    /// Parts handed out.
    parts: usize,
}

impl ArticleParts {
    /// Reads `path` once for the off-topic gate of `model` (an error, such
    /// as a NUL byte anywhere in it, refuses the file before any part is
    /// handed out; `readers` threads share the reading past the gate's
    /// sentences), then opens it again to hand out parts of about `chunk`
    /// bytes.
    pub(super) fn open(
        path: &Path,
        doc_id: &str,
        chunk: usize,
        model: &Model,
        readers: usize,
    ) -> Result<ArticleParts> {
        let file = Opened::open(path)?;
        let source = Some(path.display().to_string());
        ArticleParts::read(file, doc_id, source, chunk, model, readers)
    }

    /// [`open`](Self::open) for a stream held in the temporary `file` (see
    /// [`spool`]; `checked` since it was checked for NUL bytes there) or
    /// for standard input redirected from `file`: `name` is the stream's
    /// (`-` for standard input, whose rows name no source, as when it is
    /// read whole).
    pub(super) fn spooled(
        file: File,
        checked: bool,
        name: &Path,
        doc_id: &str,
        chunk: usize,
        model: &Model,
        readers: usize,
    ) -> Result<ArticleParts> {
        let file = Opened {
            file: Arc::new(file),
            name: name.to_path_buf(),
            checked,
        };
        let source = (name.as_os_str() != "-").then(|| name.display().to_string());
        ArticleParts::read(file, doc_id, source, chunk, model, readers)
    }

    fn read(
        file: Opened,
        doc_id: &str,
        source: Option<String>,
        chunk: usize,
        model: &Model,
        readers: usize,
    ) -> Result<ArticleParts> {
        let actors = article_actors(&file, chunk, model, readers)?;
        Ok(ArticleParts {
            pieces: Pieces::open(&file, chunk),
            source,
            doc_id: doc_id.to_string(),
            actors,
            sentences: 0,
            parts: 0,
        })
    }

    /// The next part: whole sentences, at least one (the only part of an
    /// article without sentences has none); `None` after the last. An
    /// error ends the file (a NUL byte there means the file changed since
    /// the first reading).
    pub(super) fn next_part(&mut self) -> Result<Option<Document>> {
        let Some(settled) = self.pieces.next()? else {
            return Ok(None);
        };
        if settled.spans.is_empty() && self.parts > 0 {
            return Ok(None);
        }
        let doc = Document {
            doc_id: self.doc_id.clone(),
            text: settled.text,
            spans: settled.spans,
            has_offsets: true,
            base_offset: self.pieces.bom.unwrap_or(0) + settled.offset,
            source: self.source.clone(),
            first_sentence: self.sentences,
            actors: Some(self.actors),
            ..Document::default()
        };
        self.sentences += doc.spans.len();
        self.parts += 1;
        Ok(Some(doc))
    }

    /// Whether the last part was handed out.
    pub(super) fn finished(&self) -> bool {
        self.pieces.finished
    }

    /// The file's warning (invalid UTF-8), once the last part was handed
    /// out.
    pub(super) fn take_warnings(&mut self) -> Vec<String> {
        self.pieces.repair.warning().into_iter().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Decodes `bytes` in pieces of the given sizes.
    fn repaired_in_pieces(bytes: &[u8], sizes: &[usize]) -> (String, Repair) {
        let mut repair = Repair::default();
        let mut out = String::new();
        let mut start = 0;
        let mut k = 0;
        loop {
            let end = (start + sizes[k % sizes.len()]).min(bytes.len());
            k += 1;
            repair.push(&bytes[start..end], end == bytes.len(), &mut out);
            start = end;
            if end == bytes.len() {
                return (out, repair);
            }
        }
    }

    #[test]
    fn repair_table() {
        // (bytes, repaired, replaced): a sequence cut anywhere, a lone
        // continuation byte, a truncated sequence at the end, a literal
        // U+FFFD (counted by the warning, as the whole-file reading does).
        let cases: &[(&[u8], &str, usize)] = &[
            (b"", "", 0),
            ("a\u{FFFD}b".as_bytes(), "a\u{FFFD}b", 0),
            ("Xi 習近平.".as_bytes(), "Xi 習近平.", 0),
            (b"a\xFFb", "a\u{FFFD}b", 1),
            (b"a\xE7\xBF", "a\u{FFFD}", 1),
            (b"\xE7\xBFa\x80", "\u{FFFD}a\u{FFFD}", 2),
        ];
        for &(bytes, want, replaced) in cases {
            for size in 1..=bytes.len().max(1) {
                let (got, repair) = repaired_in_pieces(bytes, &[size]);
                assert_eq!((got.as_str(), repair.replaced), (want, replaced));
            }
        }
        let (_, repair) = repaired_in_pieces("\u{FFFD}\u{FFFD}".as_bytes(), &[2]);
        assert_eq!(repair.warning(), None);
        let (_, repair) = repaired_in_pieces(b"\xEF\xBF\xBD\xFF", &[2]);
        assert_eq!(
            repair.warning().unwrap(),
            "not valid UTF-8: 2 invalid sequence(s) replaced with U+FFFD"
        );
    }

    proptest! {
        #[test]
        fn repair_in_pieces_is_lossy_decoding_of_the_whole(
            bytes in proptest::collection::vec(
                prop_oneof![any::<u8>(), 0x80u8..0xC0, 0xE0u8..0xF5, Just(b'a')],
                0..64,
            ),
            sizes in proptest::collection::vec(1usize..8, 1..4),
        ) {
            let (got, repair) = repaired_in_pieces(&bytes, &sizes);
            let want = String::from_utf8_lossy(&bytes);
            prop_assert_eq!(&got, &want);
            let fffd = want.matches('\u{FFFD}').count();
            prop_assert_eq!(repair.replaced + repair.literal, fffd);
            prop_assert_eq!(repair.replaced > 0, std::str::from_utf8(&bytes).is_err());
        }
    }

    #[test]
    fn parts_of_a_file_are_the_document_of_the_whole() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("big.txt");
        let text =
            "\u{FEFF}Moscow and Beijing met. They agreed.\nA bad \u{FFFD} byte.\n\n  Last line";
        let mut bytes = text.as_bytes().to_vec();
        bytes.extend_from_slice(b" \xFF.");
        std::fs::write(&path, &bytes).unwrap();
        let mut warnings = Vec::new();
        let whole =
            super::super::input::decode_document(&path, "big".into(), bytes.clone(), &mut warnings)
                .unwrap();
        let model = &Model::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("models/stance.json"))
            .unwrap();
        for chunk in [1, 5, 16, 1 << 16] {
            let mut parts = ArticleParts::open(&path, "big", chunk, model, 1).unwrap();
            // "Moscow" opens the gate; the first reading stops there.
            assert_ne!(parts.actors, 0);
            let mut rows = Vec::new();
            while let Some(doc) = parts.next_part().unwrap() {
                assert_eq!(doc.actors, Some(parts.actors));
                for (i, span) in doc.spans.iter().enumerate() {
                    rows.push((
                        doc.sentence_id(i),
                        doc.base_offset + span.start,
                        doc.base_offset + span.end,
                        span.text(&doc.text).to_string(),
                    ));
                }
            }
            assert!(parts.finished());
            let want: Vec<_> = whole
                .spans
                .iter()
                .enumerate()
                .map(|(i, span)| {
                    (
                        whole.sentence_id(i),
                        whole.base_offset + span.start,
                        whole.base_offset + span.end,
                        span.text(&whole.text).to_string(),
                    )
                })
                .collect();
            assert_eq!(rows, want, "chunk {chunk}");
            assert_eq!(parts.take_warnings(), warnings);
        }
        // A NUL byte anywhere refuses the file before any part.
        bytes.extend_from_slice(&[b'x'; 100]);
        bytes.push(0);
        std::fs::write(&path, &bytes).unwrap();
        for readers in [1, 2] {
            let err = ArticleParts::open(&path, "big", 8, model, readers).unwrap_err();
            assert!(matches!(err, Error::Binary { .. }), "{err}");
        }
    }

    #[test]
    fn a_stream_is_read_whole_up_to_its_limit_and_held_in_a_file_past_it() {
        use std::io::{Seek, SeekFrom};
        let text = "Moscow and Beijing met.\n".repeat(100);
        let name = Path::new("-");
        for above in [0, 1, 99, text.len() as u64 - 1, text.len() as u64, u64::MAX] {
            match spool(text.as_bytes(), name, above).unwrap() {
                Spooled::Whole(bytes) => {
                    assert!(text.len() as u64 <= above, "{above}");
                    assert_eq!(bytes, text.as_bytes());
                }
                Spooled::File(mut file) => {
                    assert!(text.len() as u64 > above, "{above}");
                    let mut held = String::new();
                    file.seek(SeekFrom::Start(0)).unwrap();
                    file.read_to_string(&mut held).unwrap();
                    assert_eq!(held, text);
                }
            }
        }
        // Binary data is refused as it is seen, named as the stream is;
        // so is a failed read (of standard input, or of a named pipe).
        let mut binary = text.clone().into_bytes();
        binary.push(0);
        let err = spool(&binary[..], name, 10).unwrap_err();
        assert!(
            matches!(&err, Error::Binary { path } if path == name),
            "{err}"
        );
        struct Failing;
        impl Read for Failing {
            fn read(&mut self, _: &mut [u8]) -> std::io::Result<usize> {
                Err(std::io::Error::other("gone"))
            }
        }
        let err = spool(Failing, name, 10).unwrap_err();
        assert_eq!(err.to_string(), "standard input: gone");
        let err = spool(Failing, Path::new("feed.txt"), 10).unwrap_err();
        assert_eq!(err.to_string(), "feed.txt: gone");
        // An endless stream ends at the bound, held or not.
        for above in [10, u64::MAX] {
            let err = spool(std::io::repeat(b'a'), name, above).unwrap_err();
            assert_eq!(
                err.to_string(),
                "standard input: larger than 64 MiB, the most read from it"
            );
        }
    }

    #[test]
    fn a_spooled_stream_is_read_in_parts_as_its_file_is() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("article.txt");
        let text = "Moscow and Beijing met. They agreed.\nA second line.\n".repeat(40);
        std::fs::write(&path, &text).unwrap();
        let model = &Model::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("models/stance.json"))
            .unwrap();
        let rows = |mut parts: ArticleParts| {
            let mut rows = Vec::new();
            while let Some(doc) = parts.next_part().unwrap() {
                for (i, span) in doc.spans.iter().enumerate() {
                    let text = span.text(&doc.text).to_string();
                    rows.push((doc.sentence_id(i), doc.base_offset + span.start, text));
                }
                rows.push((0, 0, format!("{:?} {:?}", doc.doc_id, doc.source)));
            }
            rows
        };
        let Spooled::File(file) = spool(text.as_bytes(), Path::new("-"), 100).unwrap() else {
            panic!("held in a file");
        };
        let spooled = ArticleParts::spooled(file, true, Path::new("-"), "a", 64, model, 2).unwrap();
        let from_file = ArticleParts::open(&path, "a", 64, model, 2).unwrap();
        let want: Vec<_> = rows(from_file)
            .into_iter()
            .map(|row| match row.0 {
                0 => (0, 0, "\"a\" None".to_string()),
                _ => row,
            })
            .collect();
        assert_eq!(rows(spooled), want);
    }

    #[test]
    fn checking_the_rest_in_shares_finds_every_nul_byte() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("big.txt");
        let first = 4096;
        let len = 5 * CHECK_READ + 12_345;
        // Past the first read: near its end, at read sizes, at and next
        // to where the shares of 2 and 3 readers meet, the last byte.
        let mut nuls = vec![first, first + 1, first + CHECK_READ, len / 2, len - 1];
        for readers in [2, 3] {
            let share = (len - first).div_ceil(readers);
            for k in 1..readers {
                let at = first + k * share;
                nuls.extend([at - 1, at, at + 1]);
            }
        }
        let clean = vec![b'a'; len];
        for nul in std::iter::once(None).chain(nuls.into_iter().map(Some)) {
            let mut bytes = clean.clone();
            if let Some(at) = nul {
                bytes[at] = 0;
            }
            std::fs::write(&path, &bytes).unwrap();
            for readers in 1..=4 {
                let mut pieces = Pieces::open(&Opened::open(&path).unwrap(), first);
                pieces.read(first).unwrap();
                let checked = pieces.check_rest(readers);
                match nul {
                    None => {
                        checked.unwrap();
                        assert!(pieces.end);
                    }
                    Some(at) => assert!(
                        matches!(checked, Err(Error::Binary { .. })),
                        "NUL at {at}, {readers} readers: {checked:?}"
                    ),
                }
            }
        }
    }

    #[test]
    fn shares_of_a_look_start_on_line_starts_and_cover_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("big.txt");
        let line = "The league opened its season in the rain.\n";
        let text = line.repeat(3 * CHECK_READ / line.len() + 1);
        std::fs::write(&path, &text).unwrap();
        let size = text.len() as u64;
        assert_eq!(
            line_shares(&Opened::open(&path).unwrap(), 1).unwrap(),
            [0, size]
        );
        for readers in 2..=5 {
            let shares = line_shares(&Opened::open(&path).unwrap(), readers).unwrap();
            // No share under CHECK_READ bytes: three at most here.
            assert_eq!(shares.len(), readers.min(3) + 1, "{shares:?}");
            assert_eq!((shares[0], shares[shares.len() - 1]), (0, size));
            assert!(shares.windows(2).all(|w| w[0] < w[1]), "{shares:?}");
            for &start in &shares[1..shares.len() - 1] {
                assert_eq!(text.as_bytes()[start as usize - 1], b'\n');
            }
        }
        // One line: no line start to cut at.
        std::fs::write(&path, text.replace('\n', " ")).unwrap();
        assert_eq!(
            line_shares(&Opened::open(&path).unwrap(), 4).unwrap(),
            [0, size]
        );
        // One line end, at 3.5 MiB of 4: out of reach of the cut at a half
        // (one share for 2 readers), within reach of the cut at 3 MiB (for
        // 4, whose cuts at 1 and 2 MiB reach none).
        let mut long = "x ".repeat(2 * CHECK_READ).into_bytes();
        let end = CHECK_READ * 7 / 2;
        long[end] = b'\n';
        std::fs::write(&path, &long).unwrap();
        let size = long.len() as u64;
        assert_eq!(
            line_shares(&Opened::open(&path).unwrap(), 2).unwrap(),
            [0, size]
        );
        assert_eq!(
            line_shares(&Opened::open(&path).unwrap(), 4).unwrap(),
            [0, end as u64 + 1, size]
        );
    }

    #[test]
    fn a_look_in_shares_decides_the_gate_as_one_reader_does() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("big.txt");
        let model = &Model::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("models/stance.json"))
            .unwrap();
        let gate = model.gate().expect("the shipped model has a gate");
        let line = "The league opened its season in the rain.\n";
        let lines = 3 * CHECK_READ / line.len() + 1;
        let named = "Beijing and Moscow signed a deal.\n";
        // Off-topic throughout; China and Russia named on the first, a
        // middle or the last line.
        let cases: Vec<(String, bool)> = vec![
            (line.repeat(lines), false),
            (format!("{named}{}", line.repeat(lines)), true),
            (
                format!(
                    "{}{named}{}",
                    line.repeat(lines / 2),
                    line.repeat(lines / 2)
                ),
                true,
            ),
            (format!("{}{named}", line.repeat(lines)), true),
        ];
        for (text, on_topic) in &cases {
            std::fs::write(&path, text).unwrap();
            for readers in 1..=4 {
                let mask =
                    article_actors(&Opened::open(&path).unwrap(), 1 << 16, model, readers).unwrap();
                assert_eq!(!gate.is_off_topic(mask), *on_topic, "{readers} readers");
            }
        }
        // A NUL byte in any share refuses the file.
        let text = line.repeat(lines);
        for at in [10, text.len() / 2, text.len() - 2] {
            let mut bytes = text.clone().into_bytes();
            bytes[at] = 0;
            std::fs::write(&path, &bytes).unwrap();
            for readers in 1..=4 {
                let err = article_actors(&Opened::open(&path).unwrap(), 1 << 16, model, readers)
                    .unwrap_err();
                assert!(matches!(err, Error::Binary { .. }), "NUL at {at}: {err}");
            }
        }
    }
}
