//! Labelled data: the class declaration and the `doc_id,text,label` CSVs.
//!
//! Has the responsibility to turn label files into validated rows, or to say
//! exactly which file, line and value is wrong. Rules:
//!
//! * the header must name `doc_id`, `text` and `label` (any order; extra
//!   columns such as `note` or `review` are ignored);
//! * `text` is trimmed and must not be empty; `doc_id` must not be empty;
//! * `label` must be one of the declared classes;
//! * a cell the tool guarded against spreadsheet formulas (a leading `'`,
//!   see [`crate::io::protect_cell`]) is read without the guard;
//! * a column the reader needs may appear only once in the header;
//! * the same text may appear more than once with the same label (it is
//!   counted once: the first row wins); with two different labels it is an
//!   error naming both places.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::error::{Error, Result};
use crate::io::{csv_headers, open_csv, unprotect_cell, QuoteTap, UNCLOSED_QUOTE};

/// The ordered list of class names, declared once (by default in
/// `labels/classes.txt`) and carried through training, scoring and reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Classes {
    names: Vec<String>,
}

impl Classes {
    /// Builds a class list, rejecting empty, duplicate or malformed names.
    pub fn new(names: Vec<String>) -> Result<Self> {
        if names.len() < 2 {
            return Err(Error::ClassList(format!(
                "at least two classes are needed, found {}",
                names.len()
            )));
        }
        for (i, name) in names.iter().enumerate() {
            if name.is_empty()
                || !name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
            {
                return Err(Error::ClassList(format!(
                    "class name {name:?} must be non-empty ASCII letters, digits, `_` or `-`"
                )));
            }
            if names[..i].contains(name) {
                return Err(Error::ClassList(format!(
                    "class `{name}` is declared twice"
                )));
            }
        }
        Ok(Classes { names })
    }

    /// Reads a declaration file: one class per line; blank lines and lines
    /// starting with `#` are ignored.
    pub fn load(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        let names = text
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .map(String::from)
            .collect();
        Classes::new(names).map_err(|e| match e {
            Error::ClassList(message) => Error::Classes {
                path: path.to_path_buf(),
                message,
            },
            other => other,
        })
    }

    /// Class names in declaration order.
    pub fn names(&self) -> &[String] {
        &self.names
    }

    /// Number of classes.
    pub fn len(&self) -> usize {
        self.names.len()
    }

    /// Always false: a class list has at least two classes.
    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }

    /// The index of a class name.
    pub fn index(&self, name: &str) -> Option<usize> {
        self.names.iter().position(|n| n == name)
    }

    /// The class a person typed, as a spreadsheet may have changed it: the
    /// name itself, else the one class it names regardless of case and of
    /// spaces or hyphens for underscores (`Convergence`, `western
    /// pressure`). A spelling that could be two classes is none.
    pub fn index_typed(&self, typed: &str) -> Option<usize> {
        if let Some(i) = self.index(typed) {
            return Some(i);
        }
        let fold = |s: &str| -> String {
            s.trim()
                .chars()
                .map(|c| match c {
                    ' ' | '-' => '_',
                    c => c.to_ascii_lowercase(),
                })
                .collect()
        };
        let typed = fold(typed);
        let mut found = self
            .names
            .iter()
            .enumerate()
            .filter(|(_, n)| fold(n) == typed)
            .map(|(i, _)| i);
        match (found.next(), found.next()) {
            (Some(i), None) => Some(i),
            _ => None,
        }
    }

    /// The names joined by `, ` for messages.
    pub fn joined(&self) -> String {
        self.names.join(", ")
    }
}

/// One labelled sentence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LabeledRow {
    /// The article it comes from.
    pub doc_id: String,
    /// The sentence, trimmed.
    pub text: String,
    /// Index into [`Classes`].
    pub label: usize,
    /// The file it was read from.
    pub path: PathBuf,
    /// Its 1-based line in that file.
    pub line: u64,
}

/// Validated labelled data.
#[derive(Debug, Clone)]
pub struct LabelSet {
    /// The class declaration the labels were checked against.
    pub classes: Classes,
    /// Unique rows in reading order.
    pub rows: Vec<LabeledRow>,
    /// Rows dropped because the same text with the same label came earlier.
    pub duplicates: usize,
}

impl LabelSet {
    /// Rows per class, in class order.
    pub fn counts(&self) -> Vec<usize> {
        let mut counts = vec![0; self.classes.len()];
        for row in &self.rows {
            counts[row.label] += 1;
        }
        counts
    }

    /// Distinct doc_ids in first-seen order.
    pub fn doc_ids(&self) -> Vec<&str> {
        let mut seen = std::collections::HashSet::new();
        self.rows
            .iter()
            .filter(|r| seen.insert(r.doc_id.as_str()))
            .map(|r| r.doc_id.as_str())
            .collect()
    }

    /// SHA-256 over `doc_id \t text \t label \n` of every row, in order.
    pub fn sha256(&self) -> String {
        let mut h = Sha256::new();
        for row in &self.rows {
            h.update(row.doc_id.as_bytes());
            h.update(b"\t");
            h.update(row.text.as_bytes());
            h.update(b"\t");
            h.update(self.classes.names()[row.label].as_bytes());
            h.update(b"\n");
        }
        h.finalize()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
    }
}

/// The provenance table of a label folder (`doc_id,url,publication,kind,
/// date`: where each labelled article comes from). It is not a label file,
/// so folder expansion leaves it out.
pub const SOURCES_FILE: &str = "sources.csv";

/// Expands folders into the `*.csv` label files they hold (sorted, not
/// recursive, without [`SOURCES_FILE`]) and keeps files as given.
pub fn expand_paths(paths: &[PathBuf]) -> Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    for path in paths {
        if path.is_dir() {
            let mut found: Vec<PathBuf> = std::fs::read_dir(path)
                .map_err(|e| Error::io(path, e))?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.is_file() && p.extension().is_some_and(|x| x == "csv"))
                .filter(|p| p.file_name().is_none_or(|n| n != SOURCES_FILE))
                .collect();
            found.sort();
            out.extend(found);
        } else {
            out.push(path.clone());
        }
    }
    Ok(out)
}

/// Reads and validates label files against `classes`.
pub fn read_labels(paths: &[PathBuf], classes: &Classes) -> Result<LabelSet> {
    let mut rows: Vec<LabeledRow> = Vec::new();
    let mut by_text: HashMap<String, usize> = HashMap::new();
    let mut duplicates = 0;
    for path in paths {
        for row in read_file(path, classes)? {
            match by_text.get(&row.text) {
                Some(&first) => {
                    let f = &rows[first];
                    if f.label != row.label {
                        return Err(Error::ConflictingLabel(Box::new(
                            crate::error::LabelConflict {
                                path: row.path.clone(),
                                line: row.line,
                                label: classes.names()[row.label].clone(),
                                first_path: f.path.clone(),
                                first_line: f.line,
                                first_label: classes.names()[f.label].clone(),
                                text: shorten(&row.text, 80),
                            },
                        )));
                    }
                    duplicates += 1;
                }
                None => {
                    by_text.insert(row.text.clone(), rows.len());
                    rows.push(row);
                }
            }
        }
    }
    Ok(LabelSet {
        classes: classes.clone(),
        rows,
        duplicates,
    })
}

/// Every `text` cell of the given CSV files (trimmed), without validating
/// anything else: the set of sentences that already have a label.
pub fn read_texts(paths: &[PathBuf]) -> Result<std::collections::HashSet<String>> {
    let mut texts = std::collections::HashSet::new();
    for path in paths {
        let mut reader = open_csv(path, true)?;
        let header = csv_headers(path, &mut reader)?;
        let col = column_indices(path, &header, &["text"])?[0];
        for_each_record(path, &mut reader, |record, _| {
            if let Some(t) = record.get(col) {
                texts.insert(unprotect_cell(t.trim()).to_string());
            }
            Ok(())
        })?;
    }
    Ok(texts)
}

/// Shortens `text` to at most `max` characters, marking the cut with `…`.
pub fn shorten(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_string();
    }
    let mut s: String = text.chars().take(max.saturating_sub(1)).collect();
    s.push('…');
    s
}

/// Calls `f(record, line)` for every record of a CSV reader (after its
/// header), with the record's 1-based line (wrap the source in
/// [`CrlfToLf`](crate::io::CrlfToLf) for lines to be right in CRLF files); a parse error names
/// `path` and the line, and so does a file that ends inside a quoted field
/// (see [`UNCLOSED_QUOTE`]), after `f` was called on its last record.
pub fn for_each_record<R: std::io::Read>(
    path: &Path,
    reader: &mut csv::Reader<QuoteTap<R>>,
    mut f: impl FnMut(&csv::StringRecord, u64) -> Result<()>,
) -> Result<()> {
    let mut record = csv::StringRecord::new();
    let mut last = None;
    loop {
        match reader.read_record(&mut record) {
            Ok(false) => {
                return match last {
                    Some(line) if reader.get_ref().unclosed() => Err(Error::Csv {
                        path: path.to_path_buf(),
                        line,
                        message: UNCLOSED_QUOTE.into(),
                    }),
                    _ => Ok(()),
                };
            }
            Ok(true) => {
                let line = reader.get_mut().record_line(record.position());
                last = Some(line);
                f(&record, line)?;
            }
            Err(e) => return Err(reader.get_mut().csv_error(path, &e)),
        }
    }
}

/// Finds the named columns of a CSV header (names are trimmed, a UTF-8
/// byte-order mark ignored). A required column that is absent, or that
/// appears twice, is an error naming it.
pub fn column_indices(
    path: &Path,
    header: &csv::StringRecord,
    required: &[&str],
) -> Result<Vec<usize>> {
    let name_of = |h: &str| h.trim().trim_start_matches('\u{feff}').trim().to_string();
    required
        .iter()
        .map(|name| {
            let mut found = header
                .iter()
                .enumerate()
                .filter(|(_, h)| name_of(h) == *name)
                .map(|(i, _)| i);
            let first = found.next().ok_or_else(|| Error::MissingColumn {
                path: path.to_path_buf(),
                column: name.to_string(),
                expected: required.join(","),
            })?;
            if let Some(second) = found.next() {
                return Err(Error::DuplicateColumn {
                    path: path.to_path_buf(),
                    column: name.to_string(),
                    first: first + 1,
                    second: second + 1,
                });
            }
            Ok(first)
        })
        .collect()
}

fn read_file(path: &Path, classes: &Classes) -> Result<Vec<LabeledRow>> {
    let mut reader = open_csv(path, false)?;
    let header = csv_headers(path, &mut reader)?;
    if header.is_empty() || header.iter().all(|h| h.trim().is_empty()) {
        return Err(Error::MissingColumn {
            path: path.to_path_buf(),
            column: "doc_id".into(),
            expected: "doc_id,text,label".into(),
        });
    }
    let cols = column_indices(path, &header, &["text", "label"])?;
    // Without a doc_id column the whole file is one article.
    let doc_col = column_indices(path, &header, &["doc_id"])
        .ok()
        .map(|c| c[0]);
    let file_id = path.file_stem().map_or_else(
        || path.display().to_string(),
        |s| s.to_string_lossy().into_owned(),
    );
    let mut out = Vec::new();
    for_each_record(path, &mut reader, |record, line| {
        let field = |i: usize| unprotect_cell(record.get(i).unwrap_or("").trim());
        let (text, label) = (field(cols[0]), field(cols[1]));
        let doc_id = doc_col.map_or(file_id.as_str(), field);
        for (value, column) in [(doc_id, "doc_id"), (text, "text"), (label, "label")] {
            if value.is_empty() {
                return Err(Error::EmptyField {
                    path: path.to_path_buf(),
                    line,
                    column: column.into(),
                });
            }
        }
        let Some(label) = classes.index(label) else {
            return Err(Error::UnknownLabel {
                path: path.to_path_buf(),
                line,
                label: label.to_string(),
                allowed: classes.joined(),
            });
        };
        out.push(LabeledRow {
            doc_id: doc_id.to_string(),
            text: text.to_string(),
            label,
            path: path.to_path_buf(),
            line,
        });
        Ok(())
    })?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn classes() -> Classes {
        Classes::new(vec!["a".into(), "b".into()]).unwrap()
    }

    fn write(dir: &tempfile::TempDir, name: &str, body: &str) -> PathBuf {
        let p = dir.path().join(name);
        std::fs::write(&p, body).unwrap();
        p
    }

    #[test]
    fn a_typed_class_is_found_whatever_its_case_and_spacing() {
        let names = ["convergence", "western_pressure", "other", "Other_thing"];
        let classes = Classes::new(names.iter().map(|n| n.to_string()).collect()).unwrap();
        let cases = [
            ("convergence", Some(0)),
            ("Convergence", Some(0)),
            (" CONVERGENCE ", Some(0)),
            ("western pressure", Some(1)),
            ("Western-Pressure", Some(1)),
            ("other", Some(2)),
            ("other thing", Some(3)),
            ("convergance", None),
            ("", None),
        ];
        for (typed, want) in cases {
            assert_eq!(classes.index_typed(typed), want, "{typed:?}");
        }
        // Two classes that fold the same: only the exact spelling names one.
        let twins = Classes::new(vec!["a_b".into(), "A-B".into()]).unwrap();
        assert_eq!(twins.index_typed("A-B"), Some(1));
        assert_eq!(twins.index_typed("a b"), None);
    }

    #[test]
    fn reads_rows_and_counts_duplicates_once() {
        let dir = tempfile::tempdir().unwrap();
        let p = write(
            &dir,
            "l.csv",
            "doc_id,text,label,note\nd1, One ,a,\nd1,\"Two, with comma\nand newline\",b,x\nd2,One,a,\n",
        );
        let set = read_labels(&[p], &classes()).unwrap();
        assert_eq!(set.rows.len(), 2);
        assert_eq!(set.duplicates, 1);
        assert_eq!(set.rows[0].text, "One");
        assert_eq!(set.rows[1].text, "Two, with comma\nand newline");
        assert_eq!(set.rows[1].line, 3);
        assert_eq!(set.counts(), vec![1, 1]);
        assert_eq!(set.doc_ids(), vec!["d1"]);
    }

    #[test]
    fn errors_name_file_line_and_value() {
        let dir = tempfile::tempdir().unwrap();
        let cases = [
            ("doc_id,text\nd,t\n", "missing column `label`"),
            ("doc_id,text,label\nd,t,c\n", ":2: unknown label `c`"),
            ("doc_id,text,label\nd,t,a\nd, ,b\n", ":3: empty `text`"),
            (
                "doc_id,text,label\nd,t,a\nd,t,b\n",
                ":3: text is labelled `b` here but `a` at",
            ),
            ("", "missing column `doc_id`"),
        ];
        for (i, (body, want)) in cases.iter().enumerate() {
            let p = write(&dir, &format!("f{i}.csv"), body);
            let err = read_labels(std::slice::from_ref(&p), &classes())
                .unwrap_err()
                .to_string();
            assert!(err.contains(want), "{body:?}: {err}");
            assert!(err.contains(&p.display().to_string()), "{err}");
        }
    }

    #[test]
    fn class_declaration_is_validated() {
        assert!(Classes::new(vec!["a".into()]).is_err());
        assert!(Classes::new(vec!["a".into(), "a".into()]).is_err());
        assert!(Classes::new(vec!["a b".into(), "c".into()]).is_err());
        let dir = tempfile::tempdir().unwrap();
        let p = write(&dir, "classes.txt", "# comment\nconvergence\n\nother\n");
        assert_eq!(Classes::load(&p).unwrap().names(), ["convergence", "other"]);
    }

    #[test]
    fn hash_depends_on_content() {
        let dir = tempfile::tempdir().unwrap();
        let p1 = write(&dir, "1.csv", "doc_id,text,label\nd,t,a\n");
        let p2 = write(&dir, "2.csv", "doc_id,text,label\nd,t,b\n");
        let h1 = read_labels(std::slice::from_ref(&p1), &classes())
            .unwrap()
            .sha256();
        let h2 = read_labels(&[p2], &classes()).unwrap().sha256();
        assert_ne!(h1, h2);
        assert_eq!(h1, read_labels(&[p1], &classes()).unwrap().sha256());
        assert_eq!(h1.len(), 64);
    }
}
