//! Files in and out: atomic writes, locks, size limits, output targets,
//! input discovery and spreadsheet-cell protection.
//!
//! Has the responsibility to make every file the tool writes appear whole or
//! not at all, to let one run at a time change a label file, to bound what
//! is read from a file or stream, to find the inputs behind the paths a
//! user gives, and to keep the cells of every CSV the tool writes from
//! running as formulas.

use std::collections::HashSet;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::error::{Error, Result};

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

/// Guards a cell read back from a file the tool rewrites: a cell that
/// starts with a formula character gets a leading `'`; any other cell,
/// including one already guarded or typed with a leading `'`, is kept as
/// it is, so [`unprotect_cell`] reads it back unchanged.
pub fn guard_raw_cell(cell: &str) -> std::borrow::Cow<'_, str> {
    match cell.chars().next() {
        Some(c) if FORMULA_START.contains(&c) => format!("'{cell}").into(),
        _ => cell.into(),
    }
}

/// `String::from_utf8_lossy`, through a SIMD validator first: valid text
/// (nearly every cell and line) is checked 32 or 64 bytes at a time, where
/// the lossy decoder walks it chunk by chunk and the standard library's
/// validator falls back to a byte at a time after each non-ASCII character.
#[inline]
pub fn decode_lossy(bytes: &[u8]) -> std::borrow::Cow<'_, str> {
    match simdutf8::basic::from_utf8(bytes) {
        Ok(text) => text.into(),
        Err(_) => String::from_utf8_lossy(bytes),
    }
}

/// Whether `bytes` hold a NUL byte, the mark of a binary file: `memchr`'s
/// vector search, several times faster than `<[u8]>::contains`, whose
/// word-at-a-time loop was a tenth of the time an article file's parts
/// spent in the thread that hands them out.
#[inline]
pub fn has_nul(bytes: &[u8]) -> bool {
    memchr::memchr(0, bytes).is_some()
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

/// Runs `produce` on standard output (for `-`) or on a file written
/// atomically (see [`atomic_write`]), and returns what it returned. A
/// failure to write the output ([`Error::Output`]) is reported with the
/// file's path.
pub fn write_output<T>(out: &Path, produce: impl FnOnce(&mut dyn Write) -> Result<T>) -> Result<T> {
    if out.as_os_str() == "-" {
        let mut lock = std::io::BufWriter::new(std::io::stdout().lock());
        let value = produce(&mut lock)?;
        lock.flush().map_err(Error::Output)?;
        return Ok(value);
    }
    let mut result = None;
    let mut failure = None;
    let written = atomic_write(out, |w| match produce(w) {
        Ok(value) => {
            result = Some(value);
            Ok(())
        }
        Err(Error::Output(e)) => Err(e),
        Err(e) => {
            failure = Some(e);
            Err(std::io::Error::other("output abandoned"))
        }
    });
    if let Some(e) = failure {
        return Err(e);
    }
    written?;
    result.ok_or_else(|| Error::Output(std::io::Error::other("no output was produced")))
}

/// Writes a file atomically: the content goes to a temporary file in the same
/// folder, is flushed to disk, and only then renamed over `path`. A crash or
/// an error midway leaves any previous file at `path` untouched.
///
/// A `path` that exists but is not a regular file (`/dev/null`, a named
/// pipe, a terminal) is written to directly: renaming over it would replace
/// the device with a plain file.
pub fn atomic_write<F>(path: &Path, write: F) -> Result<()>
where
    F: FnOnce(&mut dyn Write) -> std::io::Result<()>,
{
    if std::fs::metadata(path).is_ok_and(|m| !m.is_file()) {
        let file = std::fs::OpenOptions::new()
            .write(true)
            .open(path)
            .map_err(|e| Error::io(path, e))?;
        let mut buffered = std::io::BufWriter::new(file);
        write(&mut buffered).map_err(|e| Error::io(path, e))?;
        return buffered.flush().map_err(|e| Error::io(path, e));
    }
    let dir = parent_dir(path);
    remove_stale_temp_files(dir);
    let tmp = LiveTemp::create(dir).map_err(|e| Error::io(dir, e))?;
    {
        let mut buffered =
            std::io::BufWriter::with_capacity(WRITE_BYTES, Writeback::new(tmp.as_file()));
        write(&mut buffered).map_err(|e| Error::io(path, e))?;
        buffered.flush().map_err(|e| Error::io(path, e))?;
    }
    // Temporary files are created private (0600); give the result the
    // permissions of the file it replaces, or ordinary ones (0644).
    let permissions = match std::fs::metadata(path) {
        Ok(meta) => Some(meta.permissions()),
        Err(_) => default_permissions(),
    };
    if let Some(permissions) = permissions {
        tmp.as_file()
            .set_permissions(permissions)
            .map_err(|e| Error::io(path, e))?;
    }
    tmp.as_file().sync_all().map_err(|e| Error::io(path, e))?;
    tmp.persist(path).map_err(|e| Error::io(path, e))
}

/// Bytes [`atomic_write`] hands the kernel at a time. Scoring writes each
/// document's rows as one piece, 33 KB on average for the news corpus, so
/// its 7.6 MB of rows took 231 writes; gathered, they take 9. The ten-fold
/// news corpus scored to a file with two threads (76 MB of rows) ran
/// 5.3 ± 2.0 ms of 223 sooner in 20 alternating runs. No one reads the
/// temporary file before it is complete, so holding rows back costs
/// nothing; standard output, which a program may be reading as the rows
/// come, is not buffered so.
const WRITE_BYTES: usize = 1 << 20;

/// A file being written that asks the kernel to start writing its pages to
/// disk every [`Writeback::EVERY`] bytes, so that the `fsync` before the
/// rename finds little left to do. It took 5 ms for the 7.6 MB of
/// predictions of the news corpus and 35 ms for ten times that, all of it
/// waiting at the end of the run with every core idle; about 1 ms with
/// this. Starting the writes is only a hint; the `fsync` still guarantees
/// them.
struct Writeback<'a> {
    file: &'a std::fs::File,
    /// Bytes written so far.
    written: u64,
    /// Bytes whose writing to disk has been started.
    started: u64,
}

impl<'a> Writeback<'a> {
    const EVERY: u64 = 1 << 20;

    fn new(file: &'a std::fs::File) -> Self {
        Writeback {
            file,
            written: 0,
            started: 0,
        }
    }
}

impl Write for Writeback<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.file.write(buf)?;
        self.written += n as u64;
        if self.written - self.started >= Self::EVERY {
            start_writeback(self.file, self.started, self.written - self.started);
            self.started = self.written;
        }
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.file.flush()
    }
}

/// Starts writing `len` bytes of `file` from `offset` to disk, without
/// waiting for them (`sync_file_range` with `SYNC_FILE_RANGE_WRITE`).
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn start_writeback(file: &std::fs::File, offset: u64, len: u64) {
    use std::os::fd::AsRawFd;
    let (Ok(offset), Ok(len)) = (i64::try_from(offset), i64::try_from(len)) else {
        return;
    };
    // SAFETY: the descriptor is open for the whole call (`file` is
    // borrowed), and sync_file_range reads no memory of ours. Its result
    // is ignored on purpose: a failure only means the final fsync does
    // all the writing, as it did without this.
    unsafe {
        libc::sync_file_range(file.as_raw_fd(), offset, len, libc::SYNC_FILE_RANGE_WRITE);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn start_writeback(_file: &std::fs::File, _offset: u64, _len: u64) {}

/// Temporary files are named `.stance-<pid>-<random>.tmp`.
const TEMP_PREFIX: &str = ".stance-";
const TEMP_SUFFIX: &str = ".tmp";

/// A temporary file of a run killed before it could remove it is taken as
/// abandoned once it is this old, even when its process id is in use again.
pub const STALE_TEMP_AGE: Duration = Duration::from_secs(60 * 60);

fn temp_prefix() -> String {
    format!("{TEMP_PREFIX}{}-", std::process::id())
}

/// Removes the temporary files (`.stance-*.tmp`) that killed runs left in
/// `dir`: those whose process is gone (where `/proc` tells), and any older
/// than [`STALE_TEMP_AGE`]. Files of live runs are left alone; failures are
/// ignored (the next run tries again).
pub fn remove_stale_temp_files(dir: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let me = std::process::id();
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(stem) = name
            .to_str()
            .and_then(|n| n.strip_prefix(TEMP_PREFIX))
            .and_then(|n| n.strip_suffix(TEMP_SUFFIX))
        else {
            continue;
        };
        let Ok(meta) = entry.metadata() else {
            continue;
        };
        if !meta.is_file() {
            continue;
        }
        let owner = stem
            .split_once('-')
            .and_then(|(pid, _)| pid.parse::<u32>().ok());
        let owner_gone = owner.is_some_and(|pid| pid != me && process_gone(pid));
        let old = meta
            .modified()
            .ok()
            .and_then(|t| t.elapsed().ok())
            .is_some_and(|age| age > STALE_TEMP_AGE);
        if owner_gone || old {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

/// The temporary files being written, for [`remove_temp_files`].
static LIVE_TEMPS: std::sync::Mutex<Vec<PathBuf>> = std::sync::Mutex::new(Vec::new());

/// A temporary file of this run, listed in [`LIVE_TEMPS`] for as long as
/// it can exist: it is created and listed under the list's lock, so a
/// signal handler in [`remove_temp_files`] either finds it listed or keeps
/// it from being created, and it is removed (when dropped unpersisted)
/// before it leaves the list. Created and listed in two steps (and the
/// probe of [`check_writable_target`] not listed at all), a Ctrl-C at the
/// wrong moment left the file behind.
struct LiveTemp {
    // Fields drop in order: the file is removed first, then unlisted.
    file: Option<tempfile::NamedTempFile>,
    _listed: Listed,
}

impl LiveTemp {
    /// A new, empty `.stance-<pid>-*.tmp` file in `dir`.
    fn create(dir: &Path) -> std::io::Result<LiveTemp> {
        let mut live = LIVE_TEMPS.lock().unwrap_or_else(|e| e.into_inner());
        let file = tempfile::Builder::new()
            .prefix(&temp_prefix())
            .suffix(TEMP_SUFFIX)
            .tempfile_in(dir)?;
        live.push(file.path().to_path_buf());
        let listed = Listed(file.path().to_path_buf());
        Ok(LiveTemp {
            file: Some(file),
            _listed: listed,
        })
    }

    fn as_file(&self) -> &std::fs::File {
        // `file` is `None` only once persisted, which consumes `self`.
        self.file
            .as_ref()
            .map(|f| f.as_file())
            .expect("not persisted")
    }

    /// Renames the file to `path`, replacing what is there.
    fn persist(mut self, path: &Path) -> std::io::Result<()> {
        let file = self.file.take().expect("persisted once");
        file.persist(path).map(drop).map_err(|e| e.error)
    }
}

/// A path listed in [`LIVE_TEMPS`] until dropped.
struct Listed(PathBuf);

impl Drop for Listed {
    fn drop(&mut self) {
        let mut live = LIVE_TEMPS.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(i) = live.iter().position(|p| *p == self.0) {
            live.swap_remove(i);
        }
    }
}

/// Removes the temporary files of the outputs being written right now.
/// For a signal handler (Ctrl-C, SIGTERM) that then ends the process: the
/// files the run would have replaced stay as they were, and no
/// `.stance-*.tmp` is left behind. Holds the list's lock until the process
/// ends, so no new temporary file is started meanwhile.
pub fn remove_temp_files() -> impl Drop {
    let live = LIVE_TEMPS.lock().unwrap_or_else(|e| e.into_inner());
    for path in live.iter() {
        let _ = std::fs::remove_file(path);
    }
    live
}

/// Whether process `pid` certainly no longer exists (Linux: no `/proc/<pid>`;
/// elsewhere this is never certain).
fn process_gone(pid: u32) -> bool {
    let proc = Path::new("/proc");
    proc.join("self").exists() && !proc.join(pid.to_string()).exists()
}

#[cfg(unix)]
fn default_permissions() -> Option<std::fs::Permissions> {
    use std::os::unix::fs::PermissionsExt;
    Some(std::fs::Permissions::from_mode(0o644))
}

#[cfg(not(unix))]
fn default_permissions() -> Option<std::fs::Permissions> {
    None
}

/// The folder a file would be written into (`.` for a bare file name).
pub fn parent_dir(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

/// Checks, before any work, that `path` can be written: its folder exists,
/// is a folder and takes a new file (a temporary file is created there and
/// removed), and `path` is not a folder. An existing device or pipe is
/// written in place and not probed.
pub fn check_writable_target(path: &Path) -> Result<()> {
    let dir = parent_dir(path);
    if !dir.is_dir() {
        return Err(Error::io(
            path,
            std::io::Error::new(
                std::io::ErrorKind::NotFound,
                format!("output folder {} does not exist", dir.display()),
            ),
        ));
    }
    if path.is_dir() {
        return Err(Error::io(
            path,
            std::io::Error::new(std::io::ErrorKind::IsADirectory, "is a folder, not a file"),
        ));
    }
    if std::fs::metadata(path).is_ok_and(|m| !m.is_file()) {
        return Ok(());
    }
    LiveTemp::create(dir).map_err(|e| {
        // Without the temporary file's name, which means nothing to a
        // person.
        let text = e.to_string();
        let why = text.split(" at path ").next().unwrap_or(&text);
        Error::io(
            path,
            std::io::Error::new(
                e.kind(),
                format!("cannot write into {}: {why}", dir.display()),
            ),
        )
    })?;
    Ok(())
}

/// Refuses, before any work, an output that is one of the inputs (the same
/// file under any name): writing it would replace the input. Only an
/// output that exists as a regular file can be one: an output that does
/// not exist yet is no input, and writing a device or a pipe (`--out
/// /dev/null`) replaces nothing. One `stat` per input however many outputs
/// there are (`make score` writes four), and none when no output exists.
pub fn check_not_inputs<'a>(
    outputs: &[&Path],
    inputs: impl IntoIterator<Item = &'a Path>,
) -> Result<()> {
    let existing: Vec<(FileId, &Path)> = outputs
        .iter()
        .filter(|o| o.as_os_str() != "-")
        .filter_map(|o| match file_id(o) {
            Some((id, true)) => Some((id, *o)),
            _ => None,
        })
        .collect();
    if existing.is_empty() {
        return Ok(());
    }
    for input in inputs {
        if input.as_os_str() == "-" {
            continue;
        }
        let Some((id, _)) = file_id(input) else {
            continue;
        };
        if let Some((_, output)) = existing.iter().find(|(out, _)| *out == id) {
            return Err(Error::OutputIsInput {
                path: output.to_path_buf(),
            });
        }
    }
    Ok(())
}

/// What makes a file the same under any name (a symlink, a hard link, a
/// relative path): its device and inode, one `stat` (resolving the path
/// with `realpath` costs a `readlink` per component, which for a folder
/// of thousands of articles was most of the time before scoring began).
#[cfg(unix)]
type FileId = (u64, u64);

/// Elsewhere, the resolved path (which does not see hard links).
#[cfg(not(unix))]
type FileId = PathBuf;

/// The [`FileId`] of `path`, and whether it is a regular file (or a link
/// to one).
#[cfg(unix)]
fn file_id(path: &Path) -> Option<(FileId, bool)> {
    use std::os::unix::fs::MetadataExt;
    let meta = std::fs::metadata(path).ok()?;
    Some(((meta.dev(), meta.ino()), meta.is_file()))
}

#[cfg(not(unix))]
fn file_id(path: &Path) -> Option<(FileId, bool)> {
    let is_file = std::fs::metadata(path).ok()?.is_file();
    Some((path.canonicalize().ok()?, is_file))
}

/// An exclusive lock on a folder, held until dropped: while one run holds
/// it, another run's [`lock_folders`] on the same folder waits.
///
/// Label files are replaced by rename ([`atomic_write`]), so a lock on the
/// file itself would be a lock on an inode about to disappear; the folder
/// holding them stays.
#[derive(Debug)]
pub struct FolderLock {
    _file: std::fs::File,
}

/// Takes an exclusive lock on the folder of each path (each folder once, in
/// sorted order, so two runs cannot each hold one and wait for the other),
/// waiting while another run holds one. Read the files after this returns.
pub fn lock_folders(paths: &[&Path]) -> Result<Vec<FolderLock>> {
    let mut dirs: Vec<PathBuf> = paths
        .iter()
        .map(|p| {
            let dir = parent_dir(p);
            dir.canonicalize().map_err(|e| Error::io(dir, e))
        })
        .collect::<Result<_>>()?;
    dirs.sort();
    dirs.dedup();
    dirs.into_iter()
        .map(|dir| {
            let file = std::fs::File::open(&dir).map_err(|e| Error::io(&dir, e))?;
            file.lock().map_err(|e| Error::io(&dir, e))?;
            Ok(FolderLock { _file: file })
        })
        .collect()
}

/// The most bytes read from one article given as a stream (standard input,
/// a named pipe, a device) or from one JSONL record: 64 MiB.
pub const MAX_ARTICLE_BYTES: u64 = 64 << 20;

/// The largest model file read: 256 MiB (the shipped model is under 1 MiB).
pub const MAX_MODEL_BYTES: u64 = 256 << 20;

/// A reader that fails with [`std::io::ErrorKind::FileTooLarge`] once more
/// than `limit` bytes have come through, so a never-ending stream
/// (`/dev/zero`) ends with an error instead of exhausting memory.
#[derive(Debug)]
pub struct Capped<R> {
    inner: R,
    left: u64,
    limit: u64,
}

impl<R> Capped<R> {
    /// Wraps `inner`, allowing `limit` bytes.
    pub fn new(inner: R, limit: u64) -> Self {
        Capped {
            inner,
            left: limit,
            limit,
        }
    }
}

impl<R: Read> Read for Capped<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        if n as u64 > self.left {
            return Err(too_large(self.limit));
        }
        self.left -= n as u64;
        Ok(n)
    }
}

/// The error for a file or stream over `limit` bytes.
pub fn too_large(limit: u64) -> std::io::Error {
    std::io::Error::new(
        std::io::ErrorKind::FileTooLarge,
        format!("larger than {} MiB, the most read from it", limit >> 20),
    )
}

/// Opens an input for reading: a regular file as it is, anything else (a
/// named pipe, a device) as a stream capped at `stream_limit` bytes.
pub fn open_input(path: &Path, stream_limit: u64) -> Result<Box<dyn Read + Send>> {
    let file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    let meta = file.metadata().map_err(|e| Error::io(path, e))?;
    if meta.is_file() {
        Ok(Box::new(file))
    } else if meta.is_dir() {
        Err(Error::NotAFile {
            path: path.to_path_buf(),
            expected: "a file or -",
        })
    } else {
        Ok(Box::new(Capped::new(file, stream_limit)))
    }
}

/// Reads a whole input: a regular file in one read, into a buffer of the
/// size its open file's `stat` gives, anything else (a named pipe, a
/// device) as a stream capped at `stream_limit` bytes.
pub fn read_input(path: &Path, stream_limit: u64) -> Result<Vec<u8>> {
    read_whole(path, u64::MAX, stream_limit, "a file or -")
}

/// Reads a whole file of at most `limit` bytes: a regular file's size is
/// checked before anything is read, a stream is read up to the limit.
pub fn read_limited(path: &Path, limit: u64) -> Result<Vec<u8>> {
    read_whole(path, limit, limit, "a file")
}

/// Reads all of `path`. A regular file is refused before anything is read
/// when larger than `file_limit`, and is read in one read into a buffer of
/// the size the one `stat` of the open file gave (`read_to_end` takes
/// another `stat` when it has a file, and with no size to go by reads
/// 8 KiB, then 16...), then on to its end should it have grown, up to
/// `file_limit` in all. Anything else (a named pipe, a device) is read up
/// to `stream_limit` bytes. A folder is not a file (`expected` says what
/// was).
fn read_whole(
    path: &Path,
    file_limit: u64,
    stream_limit: u64,
    expected: &'static str,
) -> Result<Vec<u8>> {
    let file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    let meta = file.metadata().map_err(|e| Error::io(path, e))?;
    if meta.is_dir() {
        return Err(Error::NotAFile {
            path: path.to_path_buf(),
            expected,
        });
    }
    let (limit, size) = if meta.is_file() {
        if meta.len() > file_limit {
            return Err(Error::io(path, too_large(file_limit)));
        }
        (file_limit, meta.len())
    } else {
        (stream_limit, 0)
    };
    let mut reader = Capped::new(file, limit);
    let mut bytes = vec![0; usize::try_from(size).unwrap_or(0)];
    let mut filled = 0;
    while filled < bytes.len() {
        match reader.read(&mut bytes[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(Error::io(path, e)),
        }
    }
    bytes.truncate(filled);
    reader
        .read_to_end(&mut bytes)
        .map_err(|e| Error::io(path, e))?;
    Ok(bytes)
}

/// A reader that turns each `\r\n` into `\n` (a lone `\r` stays), so a CSV
/// parser counts the lines of a file saved by a spreadsheet (CRLF) as a
/// person does: without it, every record after the header of a CRLF file
/// is reported one line too early. A read of at least [`DIRECT_READ`]
/// bytes goes straight into the caller's buffer, where the `\r` of each
/// `\r\n` is squeezed out, so the bytes are copied once, not twice (0.7% of
/// the instructions of scoring a sentence CSV); a `\r` that ends such a
/// read waits in the reader's own buffer for the byte after it, and so do
/// the bytes of smaller reads, so a `\r\n` split between two reads of any
/// size is still found.
#[derive(Debug)]
pub struct CrlfToLf<R> {
    inner: R,
    buf: Box<[u8]>,
    pos: usize,
    end: usize,
    eof: bool,
}

impl<R> CrlfToLf<R> {
    /// Wraps `inner`.
    pub fn new(inner: R) -> Self {
        CrlfToLf {
            inner,
            buf: vec![0; 64 << 10].into_boxed_slice(),
            pos: 0,
            end: 0,
            eof: false,
        }
    }
}

impl<R: Read> Read for CrlfToLf<R> {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        if out.is_empty() {
            return Ok(0);
        }
        if self.pos == self.end && !self.eof && out.len() >= DIRECT_READ {
            let got = loop {
                match self.inner.read(out) {
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                    got => break got?,
                }
            };
            if got == 0 {
                self.eof = true;
                return Ok(0);
            }
            let mut len = got;
            if out[len - 1] == b'\r' {
                // Whether it goes depends on the byte after it.
                self.buf[0] = b'\r';
                (self.pos, self.end) = (0, 1);
                len -= 1;
            }
            if len > 0 {
                return Ok(squeeze_crlf(&mut out[..len]));
            }
        }
        self.read_buffered(out)
    }
}

/// Reads of at least this many bytes go straight into the caller's buffer
/// (see [`CrlfToLf`]).
pub const DIRECT_READ: usize = 4 << 10;

/// The UTF-8 byte-order mark, which readers drop at the start of a file.
pub const BOM: &[u8] = b"\xEF\xBB\xBF";

/// What a CSV that ends inside a quoted field is told: a `"` that opened a
/// field and was never closed made every line after it that field's text.
pub const UNCLOSED_QUOTE: &str = "a quoted field is never closed: the file ends inside it, so every line after it was read as its text (look for a stray `\"` there)";

/// The csv crate's reader over `inner` as every CSV of the project is read:
/// CRLF as LF (so that lines count as an editor counts them), through a
/// [`QuoteTap`]; `flexible` lets a row have more or fewer fields than the
/// header.
pub fn csv_reader<R: Read>(inner: R, flexible: bool) -> csv::Reader<QuoteTap<CrlfToLf<R>>> {
    csv::ReaderBuilder::new()
        .flexible(flexible)
        .from_reader(QuoteTap::new(CrlfToLf::new(inner)))
}

/// The CSV file `path` opened with [`csv_reader`].
pub fn open_csv(
    path: &Path,
    flexible: bool,
) -> Result<csv::Reader<QuoteTap<CrlfToLf<std::fs::File>>>> {
    let file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    Ok(csv_reader(file, flexible))
}

/// The header row of a CSV read through a [`QuoteTap`] (see
/// [`csv_reader`]); a malformed one is told at its line.
pub fn csv_headers<R: Read>(
    path: &Path,
    reader: &mut csv::Reader<QuoteTap<R>>,
) -> Result<csv::StringRecord> {
    match reader.headers() {
        Ok(header) => Ok(header.clone()),
        Err(e) => Err(reader.get_mut().csv_error(path, &e)),
    }
}

/// Reads through `inner`, following the records as [`RecordEnds`] does,
/// to tell at the end whether the file ended inside a quoted field: the csv
/// parser ends the field there without a word, and a stray `"` then makes
/// every line after it that one field's text (see [`UNCLOSED_QUOTE`]).
/// Every reader of records through the csv crate reads through one (they
/// are built by [`csv_reader`], and [`crate::labels::for_each_record`]
/// takes nothing else); the batches of a sentence CSV run the same scanner
/// themselves.
///
/// It also keeps where the blank lines are that the csv parser skips
/// before a record: the csv crate gives such a record the line of the
/// first blank line, and [`QuoteTap::record_line`] gives it its own.
pub struct QuoteTap<R> {
    inner: R,
    scan: RecordEnds,
    /// Whether anything was read yet.
    started: bool,
    /// Bytes scanned, as the csv reader counts them (a byte-order mark
    /// included).
    offset: u64,
    /// Whether a record (the header, for most readers) has started.
    any_record: bool,
    /// The blank lines being scanned: where they start and how many.
    blank: Option<(u64, u64)>,
    /// Runs of blank lines with a record after them, in file order, not
    /// yet asked about: the byte each starts at and its line count.
    skipped: std::collections::VecDeque<(u64, u64)>,
}

impl<R> QuoteTap<R> {
    /// Wraps `inner`.
    pub fn new(inner: R) -> Self {
        QuoteTap {
            inner,
            scan: RecordEnds::Between,
            started: false,
            offset: 0,
            any_record: false,
            blank: None,
            skipped: std::collections::VecDeque::new(),
        }
    }

    /// Whether the bytes read so far end inside a quoted field.
    pub fn unclosed(&self) -> bool {
        self.scan == RecordEnds::InQuotes
    }

    /// The line a record starts on, from the position the csv crate gives
    /// it (or an error in it), which is where the reader started looking
    /// for it: at the first of any blank lines before it. Asked record by
    /// record, in file order: the blank lines before `position` are
    /// forgotten. 0 without a position (the line is not known).
    pub fn record_line(&mut self, position: Option<&csv::Position>) -> u64 {
        let Some(position) = position else { return 0 };
        while let Some(&(start, lines)) = self.skipped.front() {
            if start > position.byte() {
                break;
            }
            self.skipped.pop_front();
            if start == position.byte() {
                return position.line() + lines;
            }
        }
        position.line()
    }

    /// [`Error::csv`] for an error of the csv reader reading through this
    /// tap: malformed CSV is told at the line of the record the parser
    /// stopped in (see [`QuoteTap::record_line`]).
    pub fn csv_error(&mut self, path: impl Into<PathBuf>, err: &csv::Error) -> Error {
        match (Error::csv(path, err), err.position()) {
            (
                Error::Csv {
                    path,
                    line: _,
                    message,
                },
                Some(position),
            ) => Error::Csv {
                path,
                line: self.record_line(Some(position)),
                message,
            },
            (other, _) => other,
        }
    }

    /// Follows the records through `bytes`, which come after the bytes
    /// scanned before, counting lines and noting the blank ones.
    fn scan(&mut self, bytes: &[u8]) {
        let mut at = 0;
        while at < bytes.len() {
            if self.scan == RecordEnds::Between {
                let rest = &bytes[at..];
                let (blank, lines) = blank_lines(rest);
                if blank > 0 {
                    // The csv reader puts its first record at byte 0, a
                    // byte-order mark and blank lines before it or not.
                    let start = if self.any_record {
                        self.offset + at as u64
                    } else {
                        0
                    };
                    self.blank.get_or_insert((start, 0)).1 += lines;
                }
                at += blank;
                if at == bytes.len() {
                    break;
                }
                // A record starts here.
                self.any_record = true;
                if let Some(run) = self.blank.take().filter(|&(_, lines)| lines > 0) {
                    self.skipped.push_back(run);
                }
            }
            let rest = &bytes[at..];
            at += self.scan.next_end(rest).unwrap_or(rest.len());
        }
        self.offset += bytes.len() as u64;
    }
}

impl<R: Read> Read for QuoteTap<R> {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(out)?;
        let mut bytes = &out[..n];
        // The csv reader drops a byte-order mark only at the start of the
        // first bytes it is given, which are a reader's first read;
        // anywhere else the mark is text.
        if !self.started {
            self.started = true;
            if let Some(rest) = bytes.strip_prefix(BOM) {
                bytes = rest;
                self.offset += BOM.len() as u64;
            }
        }
        self.scan(bytes);
        Ok(n)
    }
}

/// The blank lines at the start of `bytes`, which the csv parser skips
/// before a record: the bytes they take (`\n` and `\r`) and the lines they
/// count (`\n`s, as the parser counts lines).
#[inline]
pub(crate) fn blank_lines(bytes: &[u8]) -> (usize, u64) {
    let len = bytes
        .iter()
        .position(|&b| !matches!(b, b'\n' | b'\r'))
        .unwrap_or(bytes.len());
    (
        len,
        memchr::memchr_iter(b'\n', &bytes[..len]).count() as u64,
    )
}

/// Where the records of a CSV end, found without parsing them: the csv
/// parser's rules, so that the bytes between two ends are one record (and
/// the blank lines before it) to that parser. A record ends at a `\n` or
/// `\r` outside quotes, blank lines are skipped, and a double quote opens a
/// quoted field only as a field's first byte (`""` inside one is a quote);
/// anywhere else it is text. Scanning skips from one byte that matters to
/// the next.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum RecordEnds {
    /// Between records: line ends here are blank lines.
    #[default]
    Between,
    /// At the first byte of a field.
    FieldStart,
    /// In a field without quotes.
    InField,
    /// In a quoted field.
    InQuotes,
    /// Just after a quote in a quoted field: the field's end, or the first
    /// of two quotes.
    AfterQuote,
}

impl RecordEnds {
    /// Scans `bytes`, which follow the bytes scanned before: the offset
    /// just after the line end that ends the record, or `None` when no
    /// record ends in them (the state is kept for the bytes that follow).
    pub fn next_end(&mut self, bytes: &[u8]) -> Option<usize> {
        let mut i = 0;
        while i < bytes.len() {
            match *self {
                RecordEnds::Between => {
                    if matches!(bytes[i], b'\n' | b'\r') {
                        i += 1;
                    } else {
                        *self = RecordEnds::FieldStart;
                    }
                }
                // A quote opens a field, or is the second of two in one.
                RecordEnds::FieldStart | RecordEnds::AfterQuote => {
                    match bytes[i] {
                        b'"' => *self = RecordEnds::InQuotes,
                        b',' => *self = RecordEnds::FieldStart,
                        b'\n' | b'\r' => {
                            *self = RecordEnds::Between;
                            return Some(i + 1);
                        }
                        _ => *self = RecordEnds::InField,
                    }
                    i += 1;
                }
                RecordEnds::InField => match memchr::memchr3(b',', b'\n', b'\r', &bytes[i..]) {
                    Some(k) => {
                        i += k;
                        if bytes[i] == b',' {
                            *self = RecordEnds::FieldStart;
                        } else {
                            *self = RecordEnds::Between;
                            return Some(i + 1);
                        }
                        i += 1;
                    }
                    None => return None,
                },
                RecordEnds::InQuotes => match memchr::memchr(b'"', &bytes[i..]) {
                    Some(k) => {
                        *self = RecordEnds::AfterQuote;
                        i += k + 1;
                    }
                    None => return None,
                },
            }
        }
        None
    }

    /// Whether the bytes scanned end inside a record: at the end of the
    /// input, that record ends there without a line end.
    pub fn in_record(self) -> bool {
        self != RecordEnds::Between
    }
}

/// Drops each `\r` of `bytes` that a `\n` follows, moving the bytes after
/// it forward; returns how many bytes are left at the front.
fn squeeze_crlf(bytes: &mut [u8]) -> usize {
    let Some(first) = memchr::memchr(b'\r', bytes) else {
        return bytes.len();
    };
    // Bytes before `w` are kept; `r` is the next `\r` (or the end).
    let (mut w, mut r) = (first, first);
    while r < bytes.len() {
        if bytes.get(r + 1) != Some(&b'\n') {
            bytes[w] = b'\r';
            w += 1;
        }
        r += 1;
        let next = memchr::memchr(b'\r', &bytes[r..]).map_or(bytes.len(), |i| r + i);
        bytes.copy_within(r..next, w);
        w += next - r;
        r = next;
    }
    w
}

impl<R: Read> CrlfToLf<R> {
    /// A read through the reader's own buffer.
    fn read_buffered(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        loop {
            // Keep two bytes in view, so a `\r` can see what follows it.
            if self.end - self.pos < 2 && !self.eof {
                self.buf.copy_within(self.pos..self.end, 0);
                self.end -= self.pos;
                self.pos = 0;
                match self.inner.read(&mut self.buf[self.end..]) {
                    Ok(0) => self.eof = true,
                    Ok(n) => self.end += n,
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                    Err(e) => return Err(e),
                }
                continue;
            }
            if self.pos == self.end {
                return Ok(0);
            }
            let mut written = 0;
            while written < out.len() && self.pos < self.end {
                // The bytes before the next `\r` (or as many as fit) go
                // out as they are.
                let fit = self.end.min(self.pos + out.len() - written);
                let run = memchr::memchr(b'\r', &self.buf[self.pos..fit]).unwrap_or(fit - self.pos);
                out[written..written + run].copy_from_slice(&self.buf[self.pos..self.pos + run]);
                written += run;
                self.pos += run;
                if self.pos == fit {
                    continue;
                }
                // A `\r`: dropped before `\n`, kept otherwise.
                if self.pos + 1 < self.end {
                    if self.buf[self.pos + 1] == b'\n' {
                        self.pos += 1;
                        continue;
                    }
                } else if !self.eof {
                    // What follows is not read yet.
                    break;
                }
                out[written] = b'\r';
                written += 1;
                self.pos += 1;
            }
            if written > 0 {
                return Ok(written);
            }
        }
    }
}

/// An input to score.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    /// Standard input, read as article text.
    Stdin,
    /// An article file: plain text, Markdown or HTML by its extension
    /// (see [`ArticleFormat::of`]).
    Article {
        /// The file.
        path: PathBuf,
        /// The id its rows carry (see [`discover`]).
        doc_id: String,
    },
    /// A CSV file whose `text` column holds already-split sentences.
    Csv(PathBuf),
    /// A JSONL stream, one article per line (`-` is standard input).
    Jsonl(PathBuf),
}

impl Input {
    /// The file read, or `None` for standard input.
    pub fn path(&self) -> Option<&Path> {
        match self {
            Input::Stdin => None,
            Input::Jsonl(p) if p.as_os_str() == "-" => None,
            Input::Article { path, .. } | Input::Csv(path) | Input::Jsonl(path) => Some(path),
        }
    }

    /// The doc_id of its article: an article file's, `stdin` for standard
    /// input; `None` for a sentence CSV or JSONL stream, whose rows carry
    /// their own.
    pub fn doc_id(&self) -> Option<&str> {
        match self {
            Input::Stdin => Some("stdin"),
            Input::Article { doc_id, .. } => Some(doc_id),
            Input::Csv(_) | Input::Jsonl(_) => None,
        }
    }

    /// How the input is named in messages and in the `source` column.
    pub fn display(&self) -> String {
        match self {
            Input::Stdin => "-".into(),
            Input::Article { path, .. } | Input::Csv(path) | Input::Jsonl(path) => {
                path.display().to_string()
            }
        }
    }
}

/// How an article file is read, by its extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArticleFormat {
    /// Plain text (`.txt`, and any extension not listed below).
    Text,
    /// Markdown (`.md`, `.markdown`): markup is stripped.
    Markdown,
    /// A web page (`.html`, `.htm`): the article's main text is extracted.
    Html,
}

impl ArticleFormat {
    /// The format of `path` by its extension (ASCII case ignored).
    pub fn of(path: &Path) -> ArticleFormat {
        match extension(path).as_deref() {
            Some("md" | "markdown") => ArticleFormat::Markdown,
            Some("html" | "htm" | "xhtml") => ArticleFormat::Html,
            _ => ArticleFormat::Text,
        }
    }
}

/// The lowercased extension of `path`, if any.
fn extension(path: &Path) -> Option<String> {
    path.extension()
        .map(|e| e.to_string_lossy().to_ascii_lowercase())
}

/// The extensions a folder is searched for unless told otherwise.
pub const DEFAULT_EXTENSIONS: [&str; 4] = ["txt", "md", "html", "htm"];

/// An input path that could not be used, with the reason.
#[derive(Debug)]
pub struct Skipped {
    /// The path as found.
    pub path: PathBuf,
    /// Why it was skipped.
    pub reason: String,
}

/// An input whose natural doc_id another input of the run already had.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Renamed {
    /// The input renamed.
    pub path: PathBuf,
    /// The doc_id it would have had.
    pub wanted: String,
    /// The input that has that doc_id (the first in input order).
    pub taken_by: String,
    /// The doc_id it gets instead.
    pub doc_id: String,
}

/// What [`discover`] found behind the paths given.
#[derive(Debug, Default)]
pub struct Discovery {
    /// The inputs, in the order given (a folder's files sorted by path).
    pub inputs: Vec<Input>,
    /// Paths not read, with the reason.
    pub skipped: Vec<Skipped>,
    /// Inputs whose doc_id was made unique.
    pub renamed: Vec<Renamed>,
}

/// Expands command-line inputs: `-` is stdin; a folder is searched
/// recursively for regular files with one of `extensions` (lowercase,
/// without the dot; sorted by path); a file ending in `.csv` is a sentence
/// CSV; any other file is an article (a named pipe or device named
/// explicitly is read as a stream, see [`open_input`]).
///
/// Article ids: a file named directly gets its stem (`oct/article.txt` →
/// `article`), a file found under a folder its path relative to that folder
/// without the extension, `/`-separated (`oct/article`), standard input
/// `stdin`. When two inputs of the run would get the same id, the later
/// ones get `~2`, `~3`, … (the first free suffix), listed in
/// [`Discovery::renamed`].
///
/// Symlinks are followed: a folder reached twice under two names (an alias
/// such as `latest -> 2026-11`) is scanned once, under the first name; a
/// link back to a folder being scanned (a cycle) is cut and reported.
/// Skipped, with the reason: paths that do not exist or cannot be listed;
/// special files (pipes, devices) inside a folder; files inside a folder
/// whose extension is not chosen (hidden files and folders, named `.…`,
/// silently); and
/// word-processor documents and PDFs named directly, with a hint to save
/// them as text or HTML.
pub fn discover(args: &[PathBuf], extensions: &[String]) -> Discovery {
    let mut found = Discovery::default();
    for arg in args {
        if arg.as_os_str() == "-" {
            found.inputs.push(Input::Stdin);
        } else if arg.is_dir() {
            let mut visited = HashSet::new();
            let mut scan = Scan {
                root: arg,
                extensions,
                visited: &mut visited,
                found: &mut found,
            };
            scan.walk(arg, &mut Vec::new());
        } else if arg.exists() {
            if let Some(hint) = extension(arg).as_deref().and_then(not_text_hint) {
                found.skipped.push(Skipped {
                    path: arg.clone(),
                    reason: hint.to_string(),
                });
            } else if extension(arg).as_deref() == Some("csv") {
                found.inputs.push(Input::Csv(arg.clone()));
            } else {
                let doc_id = stem(arg);
                found.inputs.push(Input::Article {
                    path: arg.clone(),
                    doc_id,
                });
            }
        } else {
            found.skipped.push(Skipped {
                path: arg.clone(),
                reason: "no such file or folder".into(),
            });
        }
    }
    found.renamed = make_ids_unique(&mut found.inputs);
    found
}

/// The stem of a file name (`a/b.txt` → `b`), or the whole path.
fn stem(path: &Path) -> String {
    path.file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.display().to_string())
}

/// `path` relative to `root`, without its extension, `/`-separated.
fn relative_id(root: &Path, path: &Path) -> String {
    let rel = path.strip_prefix(root).unwrap_or(path);
    let mut parts: Vec<String> = rel
        .parent()
        .into_iter()
        .flat_map(|p| p.components())
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    parts.push(stem(rel));
    parts.join("/")
}

/// Why a file of this extension is not read as article text, with what to
/// do instead; `None` for extensions that may be text.
fn not_text_hint(ext: &str) -> Option<&'static str> {
    Some(match ext {
        "docx" | "doc" | "odt" | "rtf" | "pages" => {
            "a word-processor document, not text: save it as plain text (.txt) or a web page (.html) to score it"
        }
        "pdf" => "a PDF, not text: save or export it as plain text (.txt) to score it",
        _ => return None,
    })
}

/// Gives every article and standard-input id that an earlier input already
/// has the first free `~N` suffix (N from 2), and says which were renamed.
fn make_ids_unique(inputs: &mut [Input]) -> Vec<Renamed> {
    let id_of = |input: &Input| input.doc_id().map(str::to_string);
    let all: HashSet<String> = inputs.iter().filter_map(id_of).collect();
    // id -> the input that holds it
    let mut taken: std::collections::HashMap<String, String> = std::collections::HashMap::new();
    let mut renamed = Vec::new();
    for input in inputs.iter_mut() {
        let Some(wanted) = id_of(input) else {
            continue;
        };
        if let Some(first) = taken.get(&wanted).cloned() {
            let doc_id = (2..)
                .map(|n| format!("{wanted}~{n}"))
                .find(|id| !all.contains(id) && !taken.contains_key(id))
                .unwrap_or_default();
            if let Input::Article { doc_id: id, path } = input {
                id.clone_from(&doc_id);
                renamed.push(Renamed {
                    path: path.clone(),
                    wanted,
                    taken_by: first,
                    doc_id: doc_id.clone(),
                });
            }
            taken.insert(doc_id, input.display());
        } else {
            taken.insert(wanted, input.display());
        }
    }
    renamed
}

/// One folder argument being searched.
struct Scan<'a> {
    root: &'a Path,
    extensions: &'a [String],
    visited: &'a mut HashSet<PathBuf>,
    found: &'a mut Discovery,
}

impl Scan<'_> {
    fn skip(&mut self, path: PathBuf, reason: impl Into<String>) {
        self.found.skipped.push(Skipped {
            path,
            reason: reason.into(),
        });
    }

    /// Why a regular file found in a folder is not read, or `None` to read it.
    fn not_chosen(&self, path: &Path) -> Option<String> {
        let ext = extension(path);
        if ext
            .as_ref()
            .is_some_and(|e| self.extensions.iter().any(|x| x == e))
        {
            return None;
        }
        let chosen = self
            .extensions
            .iter()
            .map(|e| format!(".{e}"))
            .collect::<Vec<_>>()
            .join(", ");
        Some(match ext.as_deref() {
            Some(e) if not_text_hint(e).is_some() => not_text_hint(e).unwrap_or("").to_string(),
            Some("csv") => "a sentence CSV is read only when named as an input".into(),
            Some("jsonl") => "a JSONL archive is read with --input-format jsonl".into(),
            Some(e) if DEFAULT_EXTENSIONS.contains(&e) || e == "markdown" => {
                format!(".{e} is not among the extensions chosen with --ext ({chosen})")
            }
            _ => format!("not an article file (folders are searched for {chosen}; see --ext)"),
        })
    }

    fn walk(&mut self, dir: &Path, ancestors: &mut Vec<PathBuf>) {
        let real = match dir.canonicalize() {
            Ok(r) => r,
            Err(e) => return self.skip(dir.to_path_buf(), e.to_string()),
        };
        if ancestors.contains(&real) {
            let reason = format!(
                "symlink loop (leads back to {}), not followed",
                real.display()
            );
            return self.skip(dir.to_path_buf(), reason);
        }
        if !self.visited.insert(real.clone()) {
            // An alias of a folder already scanned: its files are scored once.
            return;
        }
        let entries = match std::fs::read_dir(dir) {
            Ok(e) => e,
            Err(e) => return self.skip(dir.to_path_buf(), e.to_string()),
        };
        ancestors.push(real);
        // Sorted by name, which within one folder is the order of the
        // paths; the listing gives each entry's type, so only links cost
        // a `stat`.
        let mut listed: Vec<(std::ffi::OsString, Option<std::fs::FileType>)> = entries
            .filter_map(|e| e.ok().map(|e| (e.file_name(), e.file_type().ok())))
            .collect();
        listed.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        for (name, listed_type) in listed {
            // Hidden files and folders (`.git`, `.DS_Store`, temporary
            // files) are not articles and not worth a line each.
            if name.as_encoded_bytes().starts_with(b".") {
                continue;
            }
            let path = dir.join(&name);
            // A link is what it points to (`metadata` follows it).
            let file_type = match listed_type {
                Some(t) if !t.is_symlink() => Ok(t),
                _ => std::fs::metadata(&path).map(|m| m.file_type()),
            };
            match file_type {
                Ok(t) if t.is_dir() => self.walk(&path, ancestors),
                Ok(t) => match self.not_chosen(&path) {
                    Some(reason) => self.skip(path, reason),
                    None if t.is_file() => {
                        let doc_id = relative_id(self.root, &path);
                        self.found.inputs.push(Input::Article { path, doc_id });
                    }
                    None => self.skip(
                        path,
                        "not a regular file (a named pipe, socket or device), not read",
                    ),
                },
                Err(e) => self.skip(path, e.to_string()),
            }
        }
        ancestors.pop();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
    fn atomic_write_replaces_whole_file_or_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("out.txt");
        atomic_write(&p, |w| w.write_all(b"good")).unwrap();
        let failed = atomic_write(&p, |w| {
            w.write_all(b"half")?;
            Err(std::io::Error::other("boom"))
        });
        assert!(failed.is_err());
        assert_eq!(std::fs::read_to_string(&p).unwrap(), "good");
        let leftovers = std::fs::read_dir(dir.path()).unwrap().count();
        assert_eq!(leftovers, 1, "temporary file left behind");
    }

    /// Whether `path` is listed for the signal handler to remove.
    fn listed(path: &Path) -> bool {
        let live = LIVE_TEMPS.lock().unwrap_or_else(|e| e.into_inner());
        live.iter().any(|p| p == path)
    }

    /// `step` bytes a read.
    struct Steps<'a>(&'a [u8], usize);

    impl Read for Steps<'_> {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            let n = self.1.min(self.0.len()).min(buf.len());
            buf[..n].copy_from_slice(&self.0[..n]);
            self.0 = &self.0[n..];
            Ok(n)
        }
    }

    #[test]
    fn a_quote_tap_gives_records_after_blank_lines_their_own_line() {
        // The csv crate gives such a record the line of the first blank.
        let mut rng = crate::testutil::Rng(0x6a09_e667_f3bc_c908);
        for _ in 0..3_000 {
            let bytes = crate::testutil::csv_numbered_by_line(&mut rng);
            for step in [1, 3, 64, 8192] {
                if step < BOM.len() && bytes.starts_with(BOM) {
                    continue; // then the mark is text, to the csv reader too
                }
                let tap = QuoteTap::new(CrlfToLf::new(Steps(&bytes, step)));
                let mut reader = csv::ReaderBuilder::new()
                    .has_headers(false)
                    .flexible(true)
                    .from_reader(tap);
                let mut record = csv::ByteRecord::new();
                while reader.read_byte_record(&mut record).unwrap() {
                    let position = record.position().cloned();
                    let line = reader.get_mut().record_line(position.as_ref());
                    assert_eq!(
                        line.to_string().as_bytes(),
                        &record[0],
                        "{:?}, read {step} at a time",
                        String::from_utf8_lossy(&bytes)
                    );
                }
            }
        }
    }

    #[test]
    fn a_quote_tap_tells_malformed_csv_at_the_line_of_its_record() {
        // After blank lines, the csv crate gives the first blank's line;
        // through a tap, the record's own.
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .from_reader(QuoteTap::new("a,b\n\n\nc\n".as_bytes()));
        let mut record = csv::StringRecord::new();
        assert!(reader.read_record(&mut record).unwrap());
        let err = reader.read_record(&mut record).unwrap_err();
        assert_eq!(err.position().map(|p| p.line()), Some(2));
        let shown = reader.get_mut().csv_error("x.csv", &err).to_string();
        assert_eq!(shown, "x.csv:4: malformed CSV: expected 2 fields, found 1");
    }

    #[test]
    fn a_quote_tap_tells_a_file_that_ends_inside_quotes() {
        let cases: &[(&[u8], bool)] = &[
            (b"", false),
            (b"a,b\nc,\"d\"\n", false),
            (b"a,b\nc,\"d\n", true),
            (b"a,b\nc,\"d\"\"\n", true),
            (b"a,b\nc,\"two\nlines\"", false),
            (b"a,b\nc,5\" screen\n", false),
            // A mark cut short is text, so a quote after it is too.
            (b"\xEF\xBB\"a\nb", false),
            (b"\xEF\"a\nb", false),
        ];
        for &(bytes, unclosed) in cases {
            for step in [1, 2, 3, 64] {
                let mut tap = QuoteTap::new(Steps(bytes, step));
                let mut out = Vec::new();
                tap.read_to_end(&mut out).unwrap();
                assert_eq!(out, bytes);
                assert_eq!(
                    tap.unclosed(),
                    unclosed,
                    "{:?} read {step} at a time",
                    String::from_utf8_lossy(bytes)
                );
            }
        }
        // A byte-order mark is dropped as the csv reader drops it: at the
        // start of the first read, when that holds the whole mark; a quote
        // after it then opens a field. (A first read of the mark alone is
        // the end of the file to the csv reader: no record, nothing told.)
        for (step, unclosed) in [(1, false), (2, false), (64, true)] {
            let bytes = b"\xEF\xBB\xBF\"a\nb";
            let mut tap = QuoteTap::new(Steps(bytes, step));
            std::io::copy(&mut tap, &mut std::io::sink()).unwrap();
            assert_eq!(tap.unclosed(), unclosed, "read {step} at a time");
            let mut csv = csv::ReaderBuilder::new()
                .has_headers(false)
                .from_reader(Steps(bytes, step));
            let first = csv.byte_records().next().unwrap().unwrap();
            assert_eq!(&first[0] == b"a\nb", unclosed, "the csv reader agrees");
        }
    }

    #[test]
    fn a_temporary_file_is_listed_for_as_long_as_it_exists() {
        // Regression: the file was listed only after it was created, and
        // the probe of an output's folder not at all: a Ctrl-C then left
        // a `.stance-*.tmp` behind.
        let dir = tempfile::tempdir().unwrap();
        let tmp = LiveTemp::create(dir.path()).unwrap();
        let path = tmp.file.as_ref().unwrap().path().to_path_buf();
        assert!(path.exists() && listed(&path));
        drop(tmp);
        assert!(
            !path.exists() && !listed(&path),
            "dropped: removed, unlisted"
        );

        let tmp = LiveTemp::create(dir.path()).unwrap();
        let path = tmp.file.as_ref().unwrap().path().to_path_buf();
        let out = dir.path().join("out.txt");
        tmp.persist(&out).unwrap();
        assert!(
            out.exists() && !path.exists() && !listed(&path),
            "persisted"
        );

        // The probe leaves neither a file nor an entry.
        check_writable_target(&dir.path().join("new.txt")).unwrap();
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["out.txt"]);
        let live = LIVE_TEMPS.lock().unwrap_or_else(|e| e.into_inner());
        assert!(!live.iter().any(|p| p.starts_with(dir.path())));
    }

    #[test]
    fn atomic_write_of_a_large_file_keeps_every_byte() {
        // Writes of many sizes, some larger than the write buffer, past
        // several points where writing to disk is started (every
        // Writeback::EVERY bytes) and ending between two of them.
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("big.csv");
        let mut expected = Vec::new();
        let mut rng = crate::testutil::Rng(0x9e37_79b9_7f4a_7c15);
        while expected.len() < 2 * Writeback::EVERY as usize + 12_345 {
            let piece = vec![b'a' + rng.below(26) as u8; 1 + rng.below(200_000)];
            expected.extend_from_slice(&piece);
        }
        atomic_write(&p, |w| {
            let mut rest = &expected[..];
            let mut step = 1;
            while !rest.is_empty() {
                let n = step.min(rest.len());
                w.write_all(&rest[..n])?;
                rest = &rest[n..];
                step = step * 3 % 1_000_003 + 1;
            }
            Ok(())
        })
        .unwrap();
        assert!(std::fs::read(&p).unwrap() == expected, "content differs");
    }

    #[cfg(unix)]
    #[test]
    fn writing_to_a_device_keeps_the_device() {
        // Regression: `--out /dev/null` once renamed a temporary file over
        // /dev/null. A named pipe stands in for the device here.
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("pipe");
        crate::testutil::make_fifo(&fifo);
        let reader = {
            let fifo = fifo.clone();
            std::thread::spawn(move || std::fs::read(fifo).unwrap())
        };
        atomic_write(&fifo, |w| w.write_all(b"through the pipe")).unwrap();
        assert_eq!(reader.join().unwrap(), b"through the pipe");
        use std::os::unix::fs::FileTypeExt;
        assert!(std::fs::metadata(&fifo).unwrap().file_type().is_fifo());
    }

    fn default_extensions() -> Vec<String> {
        DEFAULT_EXTENSIONS.map(String::from).to_vec()
    }

    #[test]
    fn discover_sorts_recurses_and_reports_missing() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        std::fs::create_dir(d.join("sub")).unwrap();
        std::fs::write(d.join("b.txt"), "x").unwrap();
        std::fs::write(d.join("a.txt"), "x").unwrap();
        std::fs::write(d.join("sub/c.txt"), "x").unwrap();
        std::fs::write(d.join("skip.xyz"), "x").unwrap();
        #[cfg(unix)]
        std::os::unix::fs::symlink(d, d.join("sub/loop")).unwrap();
        let found = discover(
            &[d.to_path_buf(), d.join("missing.txt")],
            &default_extensions(),
        );
        let names: Vec<String> = found
            .inputs
            .iter()
            .map(|i| i.display().replace(&d.display().to_string(), ""))
            .collect();
        assert_eq!(names, ["/a.txt", "/b.txt", "/sub/c.txt"]);
        let skipped = &found.skipped;
        assert!(skipped.iter().any(|s| s.reason.contains("no such file")));
        assert!(skipped.iter().any(|s| s.path == d.join("skip.xyz")
            && s.reason
                == "not an article file (folders are searched for .txt, .md, .html, .htm; see --ext)"));
        #[cfg(unix)]
        assert!(skipped.iter().any(|s| s.reason.contains("symlink loop")));
    }

    #[test]
    fn doc_ids_are_paths_relative_to_the_folder_and_unique() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        for sub in ["oct", "nov", "nov/x"] {
            std::fs::create_dir(d.join(sub)).unwrap();
        }
        for f in [
            "oct/article.txt",
            "nov/article.txt",
            "nov/x/a.b.md",
            "article.html",
        ] {
            std::fs::write(d.join(f), "x").unwrap();
        }
        // The folder, then two files named directly: the second
        // `article` and the `article` of `article.html` collide.
        let args = [
            d.to_path_buf(),
            d.join("oct/article.txt"),
            d.join("nov/article.txt"),
        ];
        let found = discover(&args, &default_extensions());
        let ids: Vec<&str> = found
            .inputs
            .iter()
            .map(|i| match i {
                Input::Article { doc_id, .. } => doc_id.as_str(),
                _ => "?",
            })
            .collect();
        assert_eq!(
            ids,
            [
                "article",
                "nov/article",
                "nov/x/a.b",
                "oct/article",
                "article~2",
                "article~3"
            ]
        );
        assert_eq!(found.renamed.len(), 2);
        assert_eq!(
            (
                found.renamed[0].wanted.as_str(),
                found.renamed[0].doc_id.as_str(),
                found.renamed[0].taken_by.as_str()
            ),
            (
                "article",
                "article~2",
                d.join("article.html").to_str().unwrap()
            )
        );
    }

    #[test]
    fn extensions_choose_what_folders_give_and_documents_get_a_hint() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        for f in [
            "a.txt",
            "b.md",
            "c.html",
            "d.htm",
            "e.docx",
            "f.pdf",
            "g.csv",
            ".hidden.txt",
        ] {
            std::fs::write(d.join(f), "x").unwrap();
        }
        std::fs::create_dir(d.join(".git")).unwrap();
        std::fs::write(d.join(".git/HEAD"), "x").unwrap();
        let reasons = |found: &Discovery| -> Vec<(String, String)> {
            found
                .skipped
                .iter()
                .map(|s| {
                    let name = s.path.file_name().unwrap().to_string_lossy().into_owned();
                    (name, s.reason.clone())
                })
                .collect()
        };
        let all = discover(&[d.to_path_buf()], &default_extensions());
        let names: Vec<String> = all.inputs.iter().map(|i| i.display()).collect();
        assert_eq!(names.len(), 4, "{names:?}");
        assert_eq!(
            reasons(&all),
            [
                (
                    "e.docx".to_string(),
                    not_text_hint("docx").unwrap().to_string()
                ),
                (
                    "f.pdf".to_string(),
                    not_text_hint("pdf").unwrap().to_string()
                ),
                (
                    "g.csv".to_string(),
                    "a sentence CSV is read only when named as an input".to_string()
                ),
            ]
        );
        let some = discover(&[d.to_path_buf()], &["md".to_string(), "htm".to_string()]);
        let names: Vec<String> = some
            .inputs
            .iter()
            .map(|i| {
                i.path()
                    .unwrap()
                    .file_name()
                    .unwrap()
                    .to_string_lossy()
                    .into_owned()
            })
            .collect();
        assert_eq!(names, ["b.md", "d.htm"]);
        assert!(reasons(&some).contains(&(
            "a.txt".to_string(),
            ".txt is not among the extensions chosen with --ext (.md, .htm)".to_string()
        )));
        // Named directly, a Word file is refused with the hint, before it is read.
        let direct = discover(&[d.join("e.docx")], &default_extensions());
        assert!(direct.inputs.is_empty());
        assert!(direct.skipped[0]
            .reason
            .contains("save it as plain text (.txt)"));
    }

    #[cfg(unix)]
    #[test]
    fn alias_symlinks_are_followed_once_and_only_cycles_reported() {
        // Regression: `latest -> 2026-11` was reported as a symlink loop.
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        std::fs::create_dir(d.join("2026-11")).unwrap();
        std::fs::write(d.join("2026-11/a.txt"), "x").unwrap();
        std::os::unix::fs::symlink("2026-11", d.join("latest")).unwrap();
        let found = discover(&[d.to_path_buf()], &default_extensions());
        assert_eq!(found.inputs.len(), 1, "{:?}", found.inputs);
        assert!(found.skipped.is_empty(), "{:?}", found.skipped);
    }

    #[cfg(unix)]
    #[test]
    fn special_files_in_folders_are_not_read() {
        // Regression: a named pipe called *.txt hung the run.
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        std::fs::write(d.join("a.txt"), "x").unwrap();
        crate::testutil::make_fifo(&d.join("pipe.txt"));
        let found = discover(&[d.to_path_buf()], &default_extensions());
        assert_eq!(
            found.inputs,
            [Input::Article {
                path: d.join("a.txt"),
                doc_id: "a".into()
            }]
        );
        assert_eq!(found.skipped.len(), 1);
        assert!(found.skipped[0].reason.contains("not a regular file"));
    }

    #[test]
    fn crlf_becomes_lf_across_read_boundaries() {
        /// Hands out one byte per read.
        struct Trickle<'a>(&'a [u8]);
        impl Read for Trickle<'_> {
            fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
                let Some((&b, rest)) = self.0.split_first() else {
                    return Ok(0);
                };
                buf[0] = b;
                self.0 = rest;
                Ok(1)
            }
        }
        let cases: [(&[u8], &[u8]); 9] = [
            (b"a,b\r\nc,d\r\n", b"a,b\nc,d\n"),
            (b"lone\rcr\n", b"lone\rcr\n"),
            (b"end\r", b"end\r"),
            (b"\r\n\r\n", b"\n\n"),
            (b"", b""),
            (b"plain", b"plain"),
            (b"\r\r\n\n", b"\r\n\n"),
            (b"lone\rcr", b"lone\rcr"),
            (b"\r\n", b"\n"),
        ];
        for (input, want) in cases {
            // Squeezing a whole input in place is the reader's rule too.
            let mut squeezed = input.to_vec();
            let n = squeeze_crlf(&mut squeezed);
            assert_eq!(&squeezed[..n], want, "{input:?} squeezed");
            let mut whole = Vec::new();
            CrlfToLf::new(input).read_to_end(&mut whole).unwrap();
            assert_eq!(whole, want, "{input:?}");
            let mut trickled = Vec::new();
            let mut reader = CrlfToLf::new(Trickle(input));
            let mut buf = [0u8; 1];
            loop {
                let n = reader.read(&mut buf).unwrap();
                if n == 0 {
                    break;
                }
                trickled.extend_from_slice(&buf[..n]);
            }
            assert_eq!(trickled, want, "{input:?} in small reads");
        }
    }

    #[test]
    fn crlf_reads_hand_out_what_a_byte_at_a_time_copy_hands_out() {
        /// The conversion one byte at a time, as a reference.
        fn reference(r: &mut CrlfToLf<Chunks<'_>>, out: &mut [u8]) -> std::io::Result<usize> {
            loop {
                if r.end - r.pos < 2 && !r.eof {
                    r.buf.copy_within(r.pos..r.end, 0);
                    r.end -= r.pos;
                    r.pos = 0;
                    match r.inner.read(&mut r.buf[r.end..])? {
                        0 => r.eof = true,
                        n => r.end += n,
                    }
                    continue;
                }
                if r.pos == r.end {
                    return Ok(0);
                }
                let mut written = 0;
                while written < out.len() && r.pos < r.end {
                    let b = r.buf[r.pos];
                    if b == b'\r' {
                        if r.pos + 1 < r.end {
                            if r.buf[r.pos + 1] == b'\n' {
                                r.pos += 1;
                                continue;
                            }
                        } else if !r.eof {
                            break;
                        }
                    }
                    out[written] = b;
                    written += 1;
                    r.pos += 1;
                }
                if written > 0 {
                    return Ok(written);
                }
            }
        }
        /// Hands out `bytes` in reads of the sizes in `steps`, in turn.
        struct Chunks<'a> {
            bytes: &'a [u8],
            steps: &'a [usize],
            k: usize,
        }
        impl Read for Chunks<'_> {
            fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
                let n = self.steps[self.k % self.steps.len()]
                    .min(buf.len())
                    .min(self.bytes.len());
                self.k += 1;
                buf[..n].copy_from_slice(&self.bytes[..n]);
                self.bytes = &self.bytes[n..];
                Ok(n)
            }
        }
        let mut rng = crate::testutil::Rng(0x853c_49e6_748f_ea9b);
        let mut next = |n: usize| rng.below(n);
        let alphabet = [b'a', b'\r', b'\n', b','];
        for _ in 0..3000 {
            let bytes: Vec<u8> = (0..next(20_000)).map(|_| alphabet[next(4)]).collect();
            let steps: Vec<usize> = (0..4).map(|_| 1 + next(9000)).collect();
            // Both sides of `DIRECT_READ`.
            let outs: Vec<usize> = (0..4).map(|_| 1 + next(3 * DIRECT_READ)).collect();
            let chunks = || Chunks {
                bytes: &bytes,
                steps: &steps,
                k: 0,
            };
            // Reads of the sizes in `outs`, in turn, until one gives
            // nothing: everything they gave.
            let read_all = |read: &mut dyn FnMut(&mut [u8]) -> usize| {
                let mut all = Vec::new();
                for k in 0.. {
                    let mut buf = vec![0; outs[k % outs.len()]];
                    let n = read(&mut buf);
                    if n == 0 {
                        return all;
                    }
                    all.extend_from_slice(&buf[..n]);
                }
                unreachable!()
            };
            let (mut fast, mut slow) = (CrlfToLf::new(chunks()), CrlfToLf::new(chunks()));
            let got = read_all(&mut |buf| fast.read(buf).unwrap());
            let want = read_all(&mut |buf| reference(&mut slow, buf).unwrap());
            assert_eq!(got, want, "steps {steps:?}, reads {outs:?}");
        }
    }

    #[test]
    fn streams_and_files_over_the_limit_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("big");
        let f = std::fs::File::create(&p).unwrap();
        f.set_len(1 << 20).unwrap();
        let err = read_limited(&p, 1000).unwrap_err().to_string();
        assert!(err.contains("larger than"), "{err}");
        assert_eq!(read_limited(&p, 1 << 20).unwrap().len(), 1 << 20);
        let mut capped = Capped::new(std::io::repeat(0), 4096);
        let err = std::io::copy(&mut capped, &mut std::io::sink()).unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::FileTooLarge);
    }

    #[test]
    fn stale_temp_files_are_removed_and_live_ones_kept() {
        // Regression: killed runs left `.stance-*.tmp` files that nothing
        // cleaned.
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let dead = d.join(".stance-4000000000-abc.tmp");
        let old = d.join(".stance-x1y2z3.tmp");
        let live = d.join(format!(".stance-{}-live.tmp", std::process::id()));
        let other = d.join("notes.tmp");
        for p in [&dead, &old, &live, &other] {
            std::fs::write(p, "x").unwrap();
        }
        let two_hours_ago = std::time::SystemTime::now() - 2 * STALE_TEMP_AGE;
        std::fs::File::options()
            .write(true)
            .open(&old)
            .unwrap()
            .set_modified(two_hours_ago)
            .unwrap();
        atomic_write(&d.join("out.csv"), |w| w.write_all(b"x")).unwrap();
        assert_eq!(dead.exists(), !Path::new("/proc/self").exists());
        assert!(!old.exists());
        assert!(live.exists() && other.exists());
    }

    #[test]
    fn read_input_reads_files_whole_and_caps_streams() {
        let dir = tempfile::tempdir().unwrap();
        for size in [0usize, 1, 31, 32, 33, 8191, 8192, 100_000] {
            let path = dir.path().join(format!("{size}.txt"));
            let bytes: Vec<u8> = (0..size).map(|i| (i % 251) as u8).collect();
            std::fs::write(&path, &bytes).unwrap();
            let read = read_input(&path, 1).unwrap();
            assert_eq!(read, bytes, "{size} bytes");
        }
        let err = read_input(dir.path(), 1).unwrap_err();
        assert!(matches!(err, Error::NotAFile { .. }), "{err}");
        let err = read_limited(dir.path(), 1).unwrap_err();
        assert!(err.to_string().contains("expected a file)"), "{err}");
        let zero = Path::new("/dev/zero");
        if zero.exists() {
            let err = read_input(zero, 1 << 20).unwrap_err().to_string();
            assert!(err.contains("larger than"), "{err}");
        }
    }

    #[test]
    fn output_that_is_an_input_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("a.txt");
        std::fs::write(&a, "x").unwrap();
        let same = dir.path().join(".").join("a.txt");
        let b = dir.path().join("b.txt");
        std::fs::write(&b, "y").unwrap();
        // Found among several outputs and several inputs, and named.
        let err =
            check_not_inputs(&[&b, &same], [b.with_extension("md").as_path(), &a]).unwrap_err();
        assert!(err.to_string().contains("is also an input"), "{err}");
        assert!(err.to_string().contains("a.txt"), "{err}");
        assert!(check_not_inputs(&[&b, &dir.path().join("c.txt")], [a.as_path()]).is_ok());
        // A link to an input is that input.
        #[cfg(unix)]
        {
            let link = dir.path().join("link.txt");
            std::os::unix::fs::symlink(&a, &link).unwrap();
            assert!(check_not_inputs(&[&link], [a.as_path()]).is_err());
        }
        // Writing a device replaces nothing, even when it is also read.
        let null = Path::new("/dev/null");
        if null.exists() {
            assert!(check_not_inputs(&[null], [null]).is_ok());
        }
    }

    #[test]
    fn folder_locks_serialize() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("labels.csv");
        let held = lock_folders(&[&file]).unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        let waiter = {
            let file = file.clone();
            std::thread::spawn(move || {
                let _lock = lock_folders(&[&file]).unwrap();
                tx.send(()).unwrap();
            })
        };
        assert!(rx.recv_timeout(Duration::from_millis(200)).is_err());
        drop(held);
        rx.recv_timeout(Duration::from_secs(10)).unwrap();
        waiter.join().unwrap();
    }

    #[test]
    fn writable_target_needs_existing_folder() {
        let dir = tempfile::tempdir().unwrap();
        assert!(check_writable_target(&dir.path().join("x.csv")).is_ok());
        assert!(check_writable_target(&dir.path().join("nope/x.csv")).is_err());
        assert!(check_writable_target(dir.path()).is_err());
    }
}
