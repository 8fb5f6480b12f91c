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
    let mut tmp = tempfile::Builder::new()
        .prefix(&temp_prefix())
        .suffix(TEMP_SUFFIX)
        .tempfile_in(dir)
        .map_err(|e| Error::io(dir, e))?;
    let _registered = Registered::new(tmp.path());
    {
        let mut buffered = std::io::BufWriter::new(tmp.as_file_mut());
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
    tmp.persist(path).map_err(|e| Error::io(path, e.error))?;
    Ok(())
}

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

/// A temporary file listed in [`LIVE_TEMPS`] until dropped.
struct Registered(PathBuf);

impl Registered {
    fn new(path: &Path) -> Self {
        let path = path.to_path_buf();
        LIVE_TEMPS
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(path.clone());
        Registered(path)
    }
}

impl Drop for Registered {
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
    tempfile::Builder::new()
        .prefix(&temp_prefix())
        .suffix(TEMP_SUFFIX)
        .tempfile_in(dir)
        .map_err(|e| {
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
/// file under any name): writing it would replace the input.
pub fn check_not_an_input<'a>(
    output: &Path,
    inputs: impl IntoIterator<Item = &'a Path>,
) -> Result<()> {
    if output.as_os_str() == "-" {
        return Ok(());
    }
    let Ok(out) = output.canonicalize() else {
        // An output that does not exist yet cannot be an input.
        return Ok(());
    };
    for input in inputs {
        if input.as_os_str() != "-" && input.canonicalize().is_ok_and(|i| i == out) {
            return Err(Error::OutputIsInput {
                path: output.to_path_buf(),
            });
        }
    }
    Ok(())
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

/// Reads a whole file of at most `limit` bytes: a regular file's size is
/// checked before anything is read, a stream is read up to the limit.
pub fn read_limited(path: &Path, limit: u64) -> Result<Vec<u8>> {
    let file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    let meta = file.metadata().map_err(|e| Error::io(path, e))?;
    if meta.is_file() && meta.len() > limit {
        return Err(Error::io(path, too_large(limit)));
    }
    let mut bytes = Vec::with_capacity(if meta.is_file() {
        meta.len() as usize
    } else {
        0
    });
    Capped::new(file, limit)
        .read_to_end(&mut bytes)
        .map_err(|e| Error::io(path, e))?;
    Ok(bytes)
}

/// A reader that turns each `\r\n` into `\n` (a lone `\r` stays), so a CSV
/// parser counts the lines of a file saved by a spreadsheet (CRLF) as a
/// person does: without it, every record after the header of a CRLF file
/// is reported one line too early. Reads through its own buffer, so a
/// `\r\n` split between two reads of any size is still found.
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
            buf: vec![0; 8192].into_boxed_slice(),
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
                let b = self.buf[self.pos];
                if b == b'\r' {
                    if self.pos + 1 < self.end {
                        if self.buf[self.pos + 1] == b'\n' {
                            self.pos += 1;
                            continue;
                        }
                    } else if !self.eof {
                        // What follows is not read yet.
                        break;
                    }
                }
                out[written] = b;
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
    /// A file of article text.
    Text(PathBuf),
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
            Input::Text(p) | Input::Csv(p) | Input::Jsonl(p) => Some(p),
        }
    }

    /// How the input is named in messages and as a default doc_id source.
    pub fn display(&self) -> String {
        match self {
            Input::Stdin => "-".into(),
            Input::Text(p) | Input::Csv(p) | Input::Jsonl(p) => p.display().to_string(),
        }
    }
}

/// An input path that could not be used, with the reason.
#[derive(Debug)]
pub struct Skipped {
    /// The path as found.
    pub path: PathBuf,
    /// Why it was skipped.
    pub reason: String,
}

/// Expands command-line inputs: `-` is stdin; a folder is searched
/// recursively for regular `*.txt` files (sorted by path); a file ending in
/// `.csv` is a sentence CSV; any other file is article text (a named pipe
/// or device named explicitly is read as a stream, see [`open_input`]).
///
/// Symlinks are followed: a folder reached twice under two names (an alias
/// such as `latest -> 2026-11`) is scanned once, under the first name; a
/// link back to a folder being scanned (a cycle) is cut and reported.
/// Paths that do not exist or cannot be listed, and special files (pipes,
/// devices) named `*.txt` inside a folder, are returned as skipped.
pub fn discover(args: &[PathBuf]) -> (Vec<Input>, Vec<Skipped>) {
    let mut inputs = Vec::new();
    let mut skipped = Vec::new();
    for arg in args {
        if arg.as_os_str() == "-" {
            inputs.push(Input::Stdin);
        } else if arg.is_dir() {
            let mut visited = HashSet::new();
            walk(
                arg,
                &mut Vec::new(),
                &mut visited,
                &mut inputs,
                &mut skipped,
            );
        } else if arg.exists() {
            inputs.push(classify(arg.clone()));
        } else {
            skipped.push(Skipped {
                path: arg.clone(),
                reason: "no such file or folder".into(),
            });
        }
    }
    (inputs, skipped)
}

fn classify(path: PathBuf) -> Input {
    if path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("csv"))
    {
        Input::Csv(path)
    } else {
        Input::Text(path)
    }
}

fn walk(
    dir: &Path,
    ancestors: &mut Vec<PathBuf>,
    visited: &mut HashSet<PathBuf>,
    inputs: &mut Vec<Input>,
    skipped: &mut Vec<Skipped>,
) {
    let real = match dir.canonicalize() {
        Ok(r) => r,
        Err(e) => {
            skipped.push(Skipped {
                path: dir.to_path_buf(),
                reason: e.to_string(),
            });
            return;
        }
    };
    if ancestors.contains(&real) {
        skipped.push(Skipped {
            path: dir.to_path_buf(),
            reason: format!(
                "symlink loop (leads back to {}), not followed",
                real.display()
            ),
        });
        return;
    }
    if !visited.insert(real.clone()) {
        // An alias of a folder already scanned: its files are scored once.
        return;
    }
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) => {
            skipped.push(Skipped {
                path: dir.to_path_buf(),
                reason: e.to_string(),
            });
            return;
        }
    };
    ancestors.push(real);
    let mut paths: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
    paths.sort();
    for path in paths {
        let is_txt = path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("txt"));
        // `metadata` follows symlinks: a link is what it points to.
        match std::fs::metadata(&path) {
            Ok(meta) if meta.is_dir() => walk(&path, ancestors, visited, inputs, skipped),
            Ok(meta) if is_txt && meta.is_file() => inputs.push(Input::Text(path)),
            Ok(_) if is_txt => skipped.push(Skipped {
                path,
                reason: "not a regular file (a named pipe, socket or device), not read".into(),
            }),
            Err(e) if is_txt => skipped.push(Skipped {
                path,
                reason: e.to_string(),
            }),
            _ => {}
        }
    }
    ancestors.pop();
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

    #[cfg(unix)]
    #[test]
    fn writing_to_a_device_keeps_the_device() {
        // Regression: `--out /dev/null` once renamed a temporary file over
        // /dev/null. A named pipe stands in for the device here.
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("pipe");
        let status = std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap();
        assert!(status.success());
        let reader = {
            let fifo = fifo.clone();
            std::thread::spawn(move || std::fs::read(fifo).unwrap())
        };
        atomic_write(&fifo, |w| w.write_all(b"through the pipe")).unwrap();
        assert_eq!(reader.join().unwrap(), b"through the pipe");
        use std::os::unix::fs::FileTypeExt;
        assert!(std::fs::metadata(&fifo).unwrap().file_type().is_fifo());
    }

    #[test]
    fn discover_sorts_recurses_and_reports_missing() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        std::fs::create_dir(d.join("sub")).unwrap();
        std::fs::write(d.join("b.txt"), "x").unwrap();
        std::fs::write(d.join("a.txt"), "x").unwrap();
        std::fs::write(d.join("sub/c.txt"), "x").unwrap();
        std::fs::write(d.join("skip.md"), "x").unwrap();
        #[cfg(unix)]
        std::os::unix::fs::symlink(d, d.join("sub/loop")).unwrap();
        let (inputs, skipped) = discover(&[d.to_path_buf(), d.join("missing.txt")]);
        let names: Vec<String> = inputs
            .iter()
            .map(|i| i.display().replace(&d.display().to_string(), ""))
            .collect();
        assert_eq!(names, ["/a.txt", "/b.txt", "/sub/c.txt"]);
        assert!(skipped.iter().any(|s| s.reason.contains("no such file")));
        #[cfg(unix)]
        assert!(skipped.iter().any(|s| s.reason.contains("symlink loop")));
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
        let (inputs, skipped) = discover(&[d.to_path_buf()]);
        assert_eq!(inputs.len(), 1, "{inputs:?}");
        assert!(skipped.is_empty(), "{skipped:?}");
    }

    #[cfg(unix)]
    #[test]
    fn special_files_in_folders_are_not_read() {
        // Regression: a named pipe called *.txt hung the run.
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        std::fs::write(d.join("a.txt"), "x").unwrap();
        let status = std::process::Command::new("mkfifo")
            .arg(d.join("pipe.txt"))
            .status()
            .unwrap();
        assert!(status.success());
        let (inputs, skipped) = discover(&[d.to_path_buf()]);
        assert_eq!(inputs, [Input::Text(d.join("a.txt"))]);
        assert_eq!(skipped.len(), 1);
        assert!(skipped[0].reason.contains("not a regular file"));
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
        let cases: [(&[u8], &[u8]); 5] = [
            (b"a,b\r\nc,d\r\n", b"a,b\nc,d\n"),
            (b"lone\rcr\n", b"lone\rcr\n"),
            (b"end\r", b"end\r"),
            (b"\r\n\r\n", b"\n\n"),
            (b"", b""),
        ];
        for (input, want) in cases {
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
    fn output_that_is_an_input_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("a.txt");
        std::fs::write(&a, "x").unwrap();
        let same = dir.path().join(".").join("a.txt");
        let err = check_not_an_input(&same, [a.as_path()]).unwrap_err();
        assert!(err.to_string().contains("is also an input"), "{err}");
        assert!(check_not_an_input(&dir.path().join("b.txt"), [a.as_path()]).is_ok());
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
