//! One error type for the whole library.
//!
//! Every variant carries the data a person needs to fix the problem: the file,
//! the line and the offending value. The CLI adds no detail of its own beyond
//! mapping an error to an exit code.

use std::path::PathBuf;

/// Everything that can go wrong inside the library.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// An I/O failure on a named path.
    #[error("{path}: {source}")]
    Io {
        /// The file or folder involved.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },

    /// A CSV file could not be parsed.
    #[error("{}: malformed CSV: {message}", place(path, *line))]
    Csv {
        /// The CSV file.
        path: PathBuf,
        /// 1-based line number where the parser stopped (0 when unknown).
        line: u64,
        /// What the parser said.
        message: String,
    },

    /// A column the reader needs appears twice in a CSV header, so which
    /// one holds the data is ambiguous.
    #[error("{path}:1: column `{column}` appears twice (columns {first} and {second}); keep one of them")]
    DuplicateColumn {
        /// The CSV file.
        path: PathBuf,
        /// The repeated column name.
        column: String,
        /// 1-based position of its first occurrence.
        first: usize,
        /// 1-based position of its second occurrence.
        second: usize,
    },

    /// An output names a file that is also an input of the same run:
    /// writing it would replace the input.
    #[error(
        "{path}: is also an input; writing it would replace the input (choose another output)"
    )]
    OutputIsInput {
        /// The output as given.
        path: PathBuf,
    },

    /// Worker threads could not be started.
    #[error("cannot start {requested} worker threads: {source} (ask for fewer with --threads)")]
    Threads {
        /// Threads asked for.
        requested: usize,
        /// What the system said.
        source: std::io::Error,
    },

    /// A required column is absent from a CSV header.
    #[error("{path}:1: missing column `{column}` (the header must contain {expected})")]
    MissingColumn {
        /// The CSV file.
        path: PathBuf,
        /// The column that is missing.
        column: String,
        /// A human description of the expected header.
        expected: String,
    },

    /// A label row names a class that is not declared.
    #[error("{path}:{line}: unknown label `{label}` (expected one of: {allowed})")]
    UnknownLabel {
        /// The label file.
        path: PathBuf,
        /// 1-based line number.
        line: u64,
        /// The label as written.
        label: String,
        /// The declared classes, comma-separated.
        allowed: String,
    },

    /// A label row has empty text.
    #[error("{path}:{line}: empty `{column}`")]
    EmptyField {
        /// The label file.
        path: PathBuf,
        /// 1-based line number.
        line: u64,
        /// Which column is empty.
        column: String,
    },

    /// The same sentence carries two different labels.
    #[error("{0}")]
    ConflictingLabel(Box<LabelConflict>),

    /// A list of class names is unusable (not yet tied to a file).
    #[error("{0}")]
    ClassList(String),

    /// The class declaration is unusable.
    #[error("{path}: {message}")]
    Classes {
        /// The class declaration file.
        path: PathBuf,
        /// What is wrong with it.
        message: String,
    },

    /// The labelled data cannot train a model.
    #[error("cannot train: {0}")]
    Training(String),

    /// A model file is missing, corrupt or of another version.
    #[error("{path}: {message}")]
    Model {
        /// The model file.
        path: PathBuf,
        /// What is wrong with it.
        message: String,
    },

    /// A setting is out of range.
    #[error("invalid setting: {0}")]
    Config(String),

    /// A model's bytes are not a usable stance model (no file named yet;
    /// [`crate::model::Model::load`] turns this into [`Error::Model`]).
    #[error("{0}")]
    InvalidModel(String),

    /// The labels to evaluate on declare other classes than the model.
    #[error("the labels declare the classes {labels} but the model has {model}")]
    ClassMismatch {
        /// The model's classes, comma-separated.
        model: String,
        /// The label set's classes, comma-separated.
        labels: String,
    },

    /// An input holds binary data.
    #[error("{path}: binary file (contains NUL bytes), skipped")]
    Binary {
        /// The input.
        path: PathBuf,
    },

    /// A path names something other than the file expected.
    #[error("{path}: not a file (expected {expected})")]
    NotAFile {
        /// The path as given.
        path: PathBuf,
        /// What was expected there.
        expected: &'static str,
    },

    /// One record of a record stream (JSONL) is malformed; it was skipped.
    #[error("{path}:{line}: malformed record skipped: {message}")]
    Record {
        /// The stream (`-` for standard input).
        path: PathBuf,
        /// 1-based line number.
        line: u64,
        /// What the parser said.
        message: String,
    },

    /// A warning, not a failure: a record held invalid UTF-8, which was
    /// replaced with U+FFFD, and the record was scored.
    #[error("{path}:{line}: not valid UTF-8: {replaced} invalid sequence(s) replaced with U+FFFD")]
    Repaired {
        /// The stream (`-` for standard input).
        path: PathBuf,
        /// 1-based line number.
        line: u64,
        /// Invalid sequences replaced.
        replaced: usize,
    },

    /// Reading standard input failed.
    #[error("standard input: {0}")]
    Stdin(#[source] std::io::Error),

    /// A long stream (standard input, `-`, or a named pipe) could not be
    /// held in a temporary file to be read in parts: set `TMPDIR` to a
    /// folder with room.
    #[error("{}: cannot hold it in a temporary file in {} (set TMPDIR to a folder with room): {source}", input.display(), dir.display())]
    Spool {
        /// The stream: `-` or the pipe's path.
        input: PathBuf,
        /// The folder the temporary file was to be in.
        dir: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },

    /// Writing the output stream failed; [`crate::io::write_output`] names
    /// the file when there is one.
    #[error("cannot write the output: {0}")]
    Output(#[source] std::io::Error),

    /// A CSV row could not be formatted.
    #[error("cannot format a CSV row: {0}")]
    CsvRow(#[source] csv::Error),

    /// A model or report could not be serialised as JSON.
    #[error("cannot serialise JSON: {0}")]
    Json(#[from] serde_json::Error),

    /// A cell of a predictions file cannot be read back.
    #[error("{path}:{line}: column `{column}`: {problem}: {value:?}")]
    BadCell {
        /// The predictions file.
        path: PathBuf,
        /// 1-based line number.
        line: u64,
        /// The column (or JSON field).
        column: String,
        /// The cell as written.
        value: String,
        /// What is wrong with it.
        problem: &'static str,
    },

    /// A predictions file holds no sentence to report on.
    #[error("{path}: no predictions to report on")]
    EmptyPredictions {
        /// The predictions file.
        path: PathBuf,
    },

    /// An xlsx workbook cannot be read.
    #[error("{path}: cannot read the workbook: {message}")]
    Workbook {
        /// The workbook.
        path: PathBuf,
        /// What is wrong with it.
        message: String,
    },

    /// An xlsx workbook was asked for on standard output.
    #[error("an xlsx workbook cannot be written to standard output: give a file name (--out predictions.xlsx), or choose --format csv or jsonl")]
    WorkbookToStdout,

    /// A chart could not be drawn.
    #[error("cannot draw the chart: {0}")]
    Chart(String),

    /// Feature vectors and model disagree in width.
    #[error("feature width {got} does not match the model's {expected}")]
    MismatchedShapes {
        /// Width the model expects.
        expected: usize,
        /// Width that was given.
        got: usize,
    },
}

impl Error {
    /// Wraps an I/O error with the path it happened on.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }

    /// Wraps a CSV error with the path it happened on: a failed read is
    /// an I/O error on the file, anything else malformed CSV at the line
    /// the parser stopped.
    pub fn csv(path: impl Into<PathBuf>, err: &csv::Error) -> Self {
        if let csv::ErrorKind::Io(e) = err.kind() {
            return Error::io(path, std::io::Error::new(e.kind(), e.to_string()));
        }
        let line = err.position().map(|p| p.line()).unwrap_or(0);
        let message = match err.kind() {
            csv::ErrorKind::Utf8 { err, .. } => format!(
                "not valid UTF-8 in column {} (save the file as UTF-8)",
                err.field() + 1
            ),
            csv::ErrorKind::UnequalLengths {
                expected_len, len, ..
            } => format!("expected {expected_len} fields, found {len}"),
            _ => err.to_string(),
        };
        Error::Csv {
            path: path.into(),
            line,
            message,
        }
    }
}

/// `path:line`, or the path alone when the line is not known (0).
fn place(path: &std::path::Path, line: u64) -> String {
    match line {
        0 => path.display().to_string(),
        n => format!("{}:{n}", path.display()),
    }
}

/// Where and how one sentence got two different labels.
#[derive(Debug, thiserror::Error)]
#[error(
    "{path}:{line}: text is labelled `{label}` here but `{first_label}` at {first_path}:{first_line}: {text:?}"
)]
pub struct LabelConflict {
    /// Where the second label stands.
    pub path: PathBuf,
    /// 1-based line of the second label.
    pub line: u64,
    /// The second label.
    pub label: String,
    /// Where the first label stands.
    pub first_path: PathBuf,
    /// 1-based line of the first label.
    pub first_line: u64,
    /// The first label.
    pub first_label: String,
    /// The sentence (possibly shortened).
    pub text: String,
}

/// The library's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_errors_name_the_line_when_known_and_reads_are_io_errors() {
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .from_reader("a,b\nc\n".as_bytes());
        let err = reader
            .records()
            .find_map(|r| r.err())
            .expect("unequal lengths");
        let shown = Error::csv("x.csv", &err).to_string();
        assert_eq!(shown, "x.csv:2: malformed CSV: expected 2 fields, found 1");

        let read = csv::Error::from(std::io::Error::other("disk gone"));
        let err = Error::csv("x.csv", &read);
        assert!(matches!(err, Error::Io { .. }), "{err:?}");
        let shown = err.to_string();
        assert!(
            shown.contains("x.csv") && shown.contains("disk gone"),
            "{shown}"
        );
        assert!(!shown.contains(":0"), "{shown}");

        let unknown = Error::Csv {
            path: "x.csv".into(),
            line: 0,
            message: "m".into(),
        };
        assert_eq!(unknown.to_string(), "x.csv: malformed CSV: m");
    }
}
