//! The review loop: the model suggests what to review, corrections typed
//! into a predictions file (CSV or xlsx workbook) become label rows.
//!
//! Has the responsibility to list the sentences the model is least sure
//! about ([`suggest`]), and to take every predictions row whose `review`
//! cell is filled ([`apply`]), check the label, and add `doc_id,text,label` to a label file —
//! without duplicating what is already labelled and without silently
//! contradicting an existing label: a conflict is reported with both places
//! and written only when the caller asks to overwrite.
//!
//! Label files are changed under an exclusive lock on their folders
//! ([`crate::io::lock_folders`]) and read only once it is held, so runs at
//! the same time take turns and none loses another's rows; each file is
//! replaced atomically. Cells are written guarded against spreadsheet
//! formulas ([`crate::io::protect_cell`]).

use std::collections::{HashMap, HashSet};
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::io::{
    atomic_write, check_writable_target, csv_headers, guard_raw_cell, lock_folders, open_csv,
    protect_cell, unprotect_cell, Input,
};
use crate::labels::{column_indices, for_each_record, read_labels, Classes};
use crate::model::Model;
use crate::score::{for_each_input, header_bytes, Event, PredictionRows, ScoreOptions, Summary};

/// A reviewed text that disagrees with a label already given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Conflict {
    /// Line of the review in the predictions file.
    pub line: u64,
    /// The reviewed label.
    pub label: String,
    /// Where the other label stands (a label file, or the predictions file
    /// itself when the same text was reviewed twice).
    pub other_path: PathBuf,
    /// Its line.
    pub other_line: u64,
    /// The other label.
    pub other_label: String,
    /// The sentence.
    pub text: String,
    /// Whether the existing label was replaced (`--overwrite`).
    pub overwritten: bool,
}

/// A review cell that is not a declared class.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invalid {
    /// Line in the predictions file.
    pub line: u64,
    /// The value as typed.
    pub value: String,
}

/// What [`apply`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ApplyReport {
    /// Rows with a filled `review` cell.
    pub reviewed: usize,
    /// Rows appended to the output label file.
    pub added: usize,
    /// Rows already labelled the same way (nothing to do).
    pub skipped: usize,
    /// Rows whose text already carries a different label.
    pub conflicts: Vec<Conflict>,
    /// Review cells that are not a class.
    pub invalid: Vec<Invalid>,
}

impl ApplyReport {
    /// Whether anything needs the reviewer's attention.
    pub fn has_problems(&self) -> bool {
        !self.invalid.is_empty() || self.conflicts.iter().any(|c| !c.overwritten)
    }
}

/// Applies the reviews in `predictions` (a CSV or an xlsx workbook with
/// `doc_id`, `text` and `review` columns, as written by `stance score`; see
/// [`PredictionRows`]). `existing` are the label
/// files to check against (they must be valid); `labels_out`, when it
/// exists, is checked too. New rows go to `labels_out` (created with a
/// `doc_id,text,label` header if absent). With `overwrite`, a conflicting
/// existing label is replaced on every row that holds the text, in every
/// file.
///
/// Before anything is read, `labels_out` is checked to be writable and the
/// folders of all label files are locked; the lock is held until the files
/// are written, so concurrent runs serialize.
pub fn apply(
    predictions: &Path,
    classes: &Classes,
    existing: &[PathBuf],
    labels_out: &Path,
    overwrite: bool,
) -> Result<ApplyReport> {
    check_writable_target(labels_out)?;
    // Appending label rows to the predictions file being read would mix
    // two formats in one file.
    crate::io::check_not_inputs(&[labels_out], [predictions])?;
    let mut existing = existing.to_vec();
    let lock_paths: Vec<&Path> = existing
        .iter()
        .map(PathBuf::as_path)
        .chain([labels_out])
        .collect();
    let _locks = lock_folders(&lock_paths)?;
    // Read under the lock: another run may have just written these files.
    if labels_out.exists() && !existing.iter().any(|p| same_file(p, labels_out)) {
        existing.push(labels_out.to_path_buf());
    }
    let known = read_labels(&existing, classes)?;
    let mut by_text: HashMap<&str, &crate::labels::LabeledRow> = HashMap::new();
    for row in &known.rows {
        by_text.insert(row.text.as_str(), row);
    }

    let mut rows = PredictionRows::open(predictions)?;
    let header = rows.header()?;
    let cols = column_indices(predictions, &header, &["doc_id", "text", "review"])?;

    let mut report = ApplyReport::default();
    // text -> (line, label) of its first review in this file
    let mut reviewed: HashMap<String, (u64, usize)> = HashMap::new();
    let mut to_add: Vec<(String, String, usize)> = Vec::new();
    // text -> new label, for every row of every label file holding the text
    let mut replace: HashMap<String, String> = HashMap::new();
    rows.for_each(|record, line| {
        let review = record.get(cols[2]).unwrap_or("").trim();
        if review.is_empty() {
            return Ok(());
        }
        report.reviewed += 1;
        let Some(label) = classes.index_typed(review) else {
            report.invalid.push(Invalid {
                line,
                value: review.to_string(),
            });
            return Ok(());
        };
        // From here on the class as declared, whatever the case typed.
        let review = classes.names()[label].as_str();
        let doc_id = unprotect_cell(record.get(cols[0]).unwrap_or("").trim()).to_string();
        let text = unprotect_cell(record.get(cols[1]).unwrap_or("").trim()).to_string();
        if text.is_empty() || doc_id.is_empty() {
            return Err(Error::EmptyField {
                path: predictions.to_path_buf(),
                line,
                column: if text.is_empty() { "text" } else { "doc_id" }.into(),
            });
        }
        if let Some(&(first_line, first_label)) = reviewed.get(&text) {
            if first_label == label {
                report.skipped += 1;
            } else {
                report.conflicts.push(Conflict {
                    line,
                    label: review.to_string(),
                    other_path: predictions.to_path_buf(),
                    other_line: first_line,
                    other_label: classes.names()[first_label].clone(),
                    text,
                    overwritten: false,
                });
            }
            return Ok(());
        }
        reviewed.insert(text.clone(), (line, label));
        match by_text.get(text.as_str()) {
            Some(row) if row.label == label => report.skipped += 1,
            Some(row) => {
                if overwrite {
                    replace.insert(text.clone(), review.to_string());
                }
                report.conflicts.push(Conflict {
                    line,
                    label: review.to_string(),
                    other_path: row.path.clone(),
                    other_line: row.line,
                    other_label: classes.names()[row.label].clone(),
                    text,
                    overwritten: overwrite,
                });
            }
            None => to_add.push((doc_id, text, label)),
        }
        Ok(())
    })?;

    if !replace.is_empty() {
        let mut files: Vec<&PathBuf> = existing.iter().collect();
        files.sort();
        files.dedup();
        for path in files {
            rewrite_labels(path, &replace)?;
        }
    }
    if !to_add.is_empty() {
        append_rows(labels_out, classes, &to_add)?;
    }
    report.added = to_add.len();
    Ok(report)
}

/// Whether two paths name the same existing file.
fn same_file(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => a == b,
    }
}

/// Replaces the `label` of every row whose text is a key of `replace`,
/// keeping every other row and column; writes nothing when no row matches.
/// Cells that would run as spreadsheet formulas are written guarded.
fn rewrite_labels(path: &Path, replace: &HashMap<String, String>) -> Result<()> {
    let mut reader = open_csv(path, false)?;
    let header = csv_headers(path, &mut reader)?;
    let cols = column_indices(path, &header, &["text", "label"])?;
    let mut rows = Vec::new();
    let mut changed = false;
    for_each_record(path, &mut reader, |record, _| {
        let mut fields: Vec<String> = record
            .iter()
            .map(|f| guard_raw_cell(f).into_owned())
            .collect();
        let text = unprotect_cell(record.get(cols[0]).unwrap_or("").trim());
        if let Some(new) = replace.get(text) {
            fields[cols[1]] = protect_cell(new).into_owned();
            changed = true;
        }
        rows.push(fields);
        Ok(())
    })?;
    if !changed {
        return Ok(());
    }
    atomic_write(path, |w| {
        let mut out = csv::WriterBuilder::new()
            .terminator(csv::Terminator::Any(b'\n'))
            .from_writer(w);
        out.write_record(&header)?;
        for r in &rows {
            out.write_record(r)?;
        }
        out.flush()
    })
}

/// Appends rows to a label file, matching its header (extra columns left
/// empty), or creates it with `doc_id,text,label`. Cells are guarded
/// against spreadsheet formulas.
fn append_rows(path: &Path, classes: &Classes, rows: &[(String, String, usize)]) -> Result<()> {
    let (mut bytes, header) = if path.exists() {
        let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
        let mut reader = csv::Reader::from_reader(bytes.as_slice());
        let header = reader.headers().map_err(|e| Error::csv(path, &e))?.clone();
        (bytes, header)
    } else {
        (
            b"doc_id,text,label\n".to_vec(),
            csv::StringRecord::from(vec!["doc_id", "text", "label"]),
        )
    };
    let cols = column_indices(path, &header, &["doc_id", "text", "label"])?;
    if !bytes.is_empty() && !bytes.ends_with(b"\n") {
        bytes.push(b'\n');
    }
    let mut w = csv::WriterBuilder::new()
        .terminator(csv::Terminator::Any(b'\n'))
        .from_writer(Vec::new());
    for (doc_id, text, label) in rows {
        let mut fields = vec![String::new(); header.len()];
        fields[cols[0]] = protect_cell(doc_id).into_owned();
        fields[cols[1]] = protect_cell(text).into_owned();
        fields[cols[2]] = protect_cell(&classes.names()[*label]).into_owned();
        w.write_record(&fields).map_err(Error::CsvRow)?;
    }
    let tail = w
        .into_inner()
        .map_err(|e| Error::io(path, e.into_error()))?;
    bytes.extend_from_slice(&tail);
    atomic_write(path, |out| out.write_all(&bytes))
}

/// The `n` sentences the model is least sure about — smallest margin
/// between its two most probable classes, ties in input order — skipping
/// texts in `known` (already labelled). Writes them as a predictions CSV
/// ready for review. Returns the run's totals and how many rows it wrote.
pub fn suggest<W: Write>(
    model: &Model,
    inputs: &[Input],
    n: usize,
    known: &HashSet<String>,
    out: W,
    options: ScoreOptions,
    on_event: impl FnMut(Event<'_>),
) -> Result<(Summary, usize)> {
    // Candidates: (margin, order, CSV row bytes); keep the n smallest.
    let mut best: Vec<(f64, usize, Vec<u8>)> = Vec::new();
    let mut order = 0usize;
    let summary = for_each_input(
        model,
        inputs,
        options,
        |scorer, _, doc, scored| {
            let mut rows = Vec::new();
            for s in scored {
                let text = doc.spans[s.index].text(&doc.text);
                if known.contains(text) {
                    continue;
                }
                let mut row = Vec::new();
                scorer.write_row(doc, s, &mut row);
                rows.push((s.margin(), row));
            }
            Ok(rows)
        },
        |rows| {
            for (margin, bytes) in rows.drain(..) {
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
        .map_err(Error::Output)?;
    for (_, _, bytes) in &best {
        out.write_all(bytes).map_err(Error::Output)?;
    }
    out.flush().map_err(Error::Output)?;
    Ok((summary, best.len()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn classes() -> Classes {
        Classes::new(vec!["a".into(), "b".into()]).unwrap()
    }

    #[test]
    fn adds_skips_conflicts_and_rejects() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let labels = d.join("labels.csv");
        std::fs::write(
            &labels,
            "doc_id,text,label,note\nd,Old one.,a,kept\nd,Old two.,a,\n",
        )
        .unwrap();
        let preds = d.join("p.csv");
        std::fs::write(
            &preds,
            "doc_id,sentence_id,text,label,review\n\
             d,1,Old one.,b,a\n\
             d,2,Old two.,a,b\n\
             e,1,New.,a,b\n\
             e,2,'=1+1,a,a\n\
             e,3,Unreviewed.,a,\n\
             e,4,Typo.,a,bb\n\
             e,5,New.,a,a\n",
        )
        .unwrap();
        let out = d.join("reviewed.csv");
        let r = apply(
            &preds,
            &classes(),
            std::slice::from_ref(&labels),
            &out,
            false,
        )
        .unwrap();
        assert_eq!(r.reviewed, 6);
        assert_eq!(r.added, 2);
        assert_eq!(r.skipped, 1);
        assert_eq!(
            r.invalid,
            vec![Invalid {
                line: 7,
                value: "bb".into()
            }]
        );
        assert_eq!(r.conflicts.len(), 2);
        assert_eq!((r.conflicts[0].line, r.conflicts[0].other_line), (3, 3));
        assert_eq!(r.conflicts[0].other_path, labels);
        assert_eq!(r.conflicts[1].other_path, preds, "New. reviewed twice");
        assert!(r.has_problems());
        assert_eq!(
            std::fs::read_to_string(&out).unwrap(),
            "doc_id,text,label\ne,New.,b\ne,'=1+1,a\n"
        );
        // running it again adds nothing
        let again = apply(
            &preds,
            &classes(),
            &[labels.clone(), out.clone()],
            &out,
            false,
        )
        .unwrap();
        assert_eq!(again.added, 0);
        assert_eq!(again.skipped, 3);
    }

    #[test]
    fn overwrite_replaces_the_existing_label_in_place() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let labels = d.join("labels.csv");
        std::fs::write(
            &labels,
            "doc_id,text,label,note\nd,\"One, quoted.\",a,kept\nd,Two.,a,\n",
        )
        .unwrap();
        let preds = d.join("p.csv");
        std::fs::write(&preds, "doc_id,text,review\nd,Two.,b\n").unwrap();
        let r = apply(
            &preds,
            &classes(),
            std::slice::from_ref(&labels),
            &d.join("new.csv"),
            true,
        )
        .unwrap();
        assert_eq!(r.conflicts.len(), 1);
        assert!(r.conflicts[0].overwritten);
        assert!(!r.has_problems());
        assert_eq!(
            std::fs::read_to_string(&labels).unwrap(),
            "doc_id,text,label,note\nd,\"One, quoted.\",a,kept\nd,Two.,b,\n"
        );
        assert!(!d.join("new.csv").exists());
    }

    #[test]
    fn overwrite_replaces_every_copy_of_the_text() {
        // Regression: only the first of two rows with the same text was
        // changed, after which the label files contradicted themselves.
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let one = d.join("one.csv");
        let two = d.join("two.csv");
        std::fs::write(
            &one,
            "doc_id,text,label\nd,Twice.,a\nd,Other.,a\nd,Twice.,a\n",
        )
        .unwrap();
        std::fs::write(&two, "doc_id,text,label\ne,Twice.,a\n").unwrap();
        let preds = d.join("p.csv");
        std::fs::write(&preds, "doc_id,text,review\nd,Twice.,b\n").unwrap();
        let files = [one.clone(), two.clone()];
        let r = apply(&preds, &classes(), &files, &d.join("new.csv"), true).unwrap();
        assert_eq!(r.conflicts.len(), 1);
        assert_eq!(
            std::fs::read_to_string(&one).unwrap(),
            "doc_id,text,label\nd,Twice.,b\nd,Other.,a\nd,Twice.,b\n"
        );
        assert_eq!(
            std::fs::read_to_string(&two).unwrap(),
            "doc_id,text,label\ne,Twice.,b\n"
        );
        let set = read_labels(&files, &classes()).unwrap();
        assert_eq!(set.counts(), [1, 1]);
    }

    #[test]
    fn label_files_are_written_guarded_and_read_back_unguarded() {
        // Regression: label text was written without the formula guard.
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let labels = d.join("labels.csv");
        std::fs::write(&labels, "doc_id,text,label\nd,=raw(),a\n").unwrap();
        let preds = d.join("p.csv");
        std::fs::write(
            &preds,
            "doc_id,text,review\n'@d,'=HYPERLINK(\"x\"),b\nd,=raw(),b\n",
        )
        .unwrap();
        let out = d.join("out.csv");
        let files = [labels.clone()];
        apply(&preds, &classes(), &files, &out, true).unwrap();
        assert_eq!(
            std::fs::read_to_string(&out).unwrap(),
            "doc_id,text,label\n'@d,\"'=HYPERLINK(\"\"x\"\")\",b\n"
        );
        assert_eq!(
            std::fs::read_to_string(&labels).unwrap(),
            "doc_id,text,label\nd,'=raw(),b\n",
            "a rewritten file is guarded too"
        );
        let set = read_labels(&[labels, out], &classes()).unwrap();
        let texts: Vec<(&str, &str)> = set
            .rows
            .iter()
            .map(|r| (r.doc_id.as_str(), r.text.as_str()))
            .collect();
        assert_eq!(texts, [("d", "=raw()"), ("@d", "=HYPERLINK(\"x\")")]);
    }

    #[test]
    fn a_second_review_column_is_an_error_naming_both() {
        // Regression: a review column added in a spreadsheet was ignored.
        let dir = tempfile::tempdir().unwrap();
        let preds = dir.path().join("p.csv");
        std::fs::write(&preds, "doc_id,text,review,review\nd,x,,b\n").unwrap();
        let err = apply(&preds, &classes(), &[], &dir.path().join("o.csv"), false).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!(
                "{}:1: column `review` appears twice (columns 3 and 4); keep one of them",
                preds.display()
            )
        );
    }

    #[test]
    fn appends_matching_the_existing_header() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("r.csv");
        std::fs::write(&out, "label,note,text,doc_id\na,,Old.,d").unwrap();
        let preds = dir.path().join("p.csv");
        std::fs::write(&preds, "doc_id,text,review\ne,\"New, with comma\",b\n").unwrap();
        let r = apply(&preds, &classes(), std::slice::from_ref(&out), &out, false).unwrap();
        assert_eq!(r.added, 1);
        assert_eq!(
            std::fs::read_to_string(&out).unwrap(),
            "label,note,text,doc_id\na,,Old.,d\nb,,\"New, with comma\",e\n"
        );
    }

    #[test]
    fn predictions_without_review_column_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let preds = dir.path().join("p.csv");
        std::fs::write(&preds, "doc_id,text\nd,x\n").unwrap();
        let err = apply(&preds, &classes(), &[], &dir.path().join("o.csv"), false).unwrap_err();
        assert!(err.to_string().contains("missing column `review`"), "{err}");
    }
}
