//! Files in and out: atomic writes, output targets, input discovery and
//! spreadsheet-cell protection.
//!
//! Has the responsibility to make every file the tool writes appear whole or
//! not at all, to find the inputs behind the paths a user gives, and to keep
//! the cells of every CSV the tool writes from running as formulas.

use std::collections::HashSet;
use std::io::Write;
use std::path::{Path, PathBuf};

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
    let mut tmp = tempfile::Builder::new()
        .prefix(".stance-")
        .suffix(".tmp")
        .tempfile_in(dir)
        .map_err(|e| Error::io(dir, e))?;
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

/// Checks, before any work, that `path` can be written: its folder exists
/// and is a folder.
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
    Ok(())
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
}

impl Input {
    /// How the input is named in messages and as a default doc_id source.
    pub fn display(&self) -> String {
        match self {
            Input::Stdin => "-".into(),
            Input::Text(p) | Input::Csv(p) => p.display().to_string(),
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
/// recursively for `*.txt` files (sorted by path, symlink loops cut); a file
/// ending in `.csv` is a sentence CSV; any other file is article text.
/// Paths that do not exist or cannot be listed are returned as skipped.
pub fn discover(args: &[PathBuf]) -> (Vec<Input>, Vec<Skipped>) {
    let mut inputs = Vec::new();
    let mut skipped = Vec::new();
    for arg in args {
        if arg.as_os_str() == "-" {
            inputs.push(Input::Stdin);
        } else if arg.is_dir() {
            let mut visited = HashSet::new();
            walk(arg, &mut visited, &mut inputs, &mut skipped);
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
    if !visited.insert(real) {
        skipped.push(Skipped {
            path: dir.to_path_buf(),
            reason: "folder already visited (symlink loop)".into(),
        });
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
    let mut paths: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
    paths.sort();
    for path in paths {
        if path.is_dir() {
            walk(&path, visited, inputs, skipped);
        } else if path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("txt"))
        {
            inputs.push(Input::Text(path));
        }
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

    #[test]
    fn writable_target_needs_existing_folder() {
        let dir = tempfile::tempdir().unwrap();
        assert!(check_writable_target(&dir.path().join("x.csv")).is_ok());
        assert!(check_writable_target(&dir.path().join("nope/x.csv")).is_err());
        assert!(check_writable_target(dir.path()).is_err());
    }
}
