//! Predictions for spreadsheet users, end to end: the xlsx review workbook
//! (its parts read as XML), the review round trip through a workbook saved
//! by another spreadsheet writer, CSV for Excel, and how `--format` is
//! chosen.

mod common;

use std::io::Read;
use std::path::Path;

use common::*;

const SEED: &str = "seeds/000_1ff71cbcd28b900c.txt";
const CLASSES: &str = "convergence,divergence,western_pressure,other";

fn p(path: &Path) -> &str {
    path.to_str().unwrap()
}

/// Scores `inputs` with the shipped model to `out`, with `extra` options.
fn score_to(out: &Path, extra: &[&str], inputs: &[&str]) {
    let mut args = vec!["score", "--out", p(out)];
    args.extend_from_slice(extra);
    args.extend_from_slice(inputs);
    let run = stance(&args);
    assert!(run.status.success(), "{}", stderr(&run));
}

/// One part of a zip (an xlsx workbook) as text.
fn part(xlsx: &Path, name: &str) -> String {
    let file = std::fs::File::open(xlsx).unwrap();
    let mut zip = zip::ZipArchive::new(file).unwrap();
    let mut text = String::new();
    zip.by_name(name)
        .unwrap()
        .read_to_string(&mut text)
        .unwrap();
    text
}

/// Column letters of a 0-based column below 26.
fn letter(c: usize) -> char {
    (b'A' + c as u8) as char
}

#[test]
fn the_workbook_has_the_csv_rows_numbers_a_frozen_header_a_filter_and_a_dropdown() {
    let dir = tempfile::tempdir().unwrap();
    let csv_path = dir.path().join("p.csv");
    let xlsx = dir.path().join("p.xlsx");
    score_to(&csv_path, &[], &[SEED]);
    score_to(&xlsx, &[], &[SEED]);
    let rows = parse_csv(&std::fs::read_to_string(&csv_path).unwrap());
    let last = rows.len(); // header included: the sheet's last row number
    assert_eq!(
        rows[0].join(","),
        format!(
            "doc_id,sentence_id,start,end,text,label,confidence,{},evidence,date,source,title,review",
            CLASSES
                .split(',')
                .map(|c| format!("p_{c}"))
                .collect::<Vec<_>>()
                .join(",")
        )
    );
    assert_eq!(last, 54);
    let n_cols = rows[0].len();
    let review = letter(n_cols - 1);

    let sheet_xml = part(&xlsx, "xl/worksheets/sheet1.xml");
    let doc = roxmltree::Document::parse(&sheet_xml).unwrap();
    let find = |name: &str| {
        doc.descendants()
            .find(|n| n.tag_name().name() == name)
            .unwrap_or_else(|| panic!("no <{name}>"))
    };
    let pane = find("pane");
    assert_eq!(pane.attribute("ySplit"), Some("1"));
    assert_eq!(pane.attribute("state"), Some("frozen"));
    assert_eq!(
        find("autoFilter").attribute("ref"),
        Some(&*format!("A1:{review}{last}"))
    );
    let validation = find("dataValidation");
    assert_eq!(validation.attribute("type"), Some("list"));
    assert_eq!(
        validation.attribute("sqref"),
        Some(&*format!("{review}2:{review}{last}"))
    );
    assert_eq!(
        find("formula1").text(),
        Some(&*format!("\"{CLASSES}\"")),
        "the review dropdown offers the class names"
    );
    // Every column has a width (neighbours of equal width share a <col>).
    let covered: usize = doc
        .descendants()
        .filter(|n| n.tag_name().name() == "col" && n.attribute("width").is_some())
        .map(|n| {
            let at = |a: &str| n.attribute(a).unwrap().parse::<usize>().unwrap();
            at("max") - at("min") + 1
        })
        .sum();
    assert_eq!(covered, n_cols);

    // Every cell: numbers where the CSV has numbers, text as written.
    let numeric = [1, 2, 3, 6, 7, 8, 9, 10];
    let mut label_styles = std::collections::HashMap::new();
    let sheet_rows: Vec<_> = doc
        .descendants()
        .filter(|n| n.tag_name().name() == "row")
        .collect();
    assert_eq!(sheet_rows.len(), last);
    for (r, row) in sheet_rows.iter().enumerate() {
        let cells: Vec<_> = row.children().filter(|n| n.is_element()).collect();
        assert_eq!(cells.len(), n_cols, "row {}", r + 1);
        for (c, cell) in cells.iter().enumerate() {
            assert_eq!(
                cell.attribute("r"),
                Some(&*format!("{}{}", letter(c), r + 1))
            );
            let want = &rows[r][c];
            let value: String = cell
                .descendants()
                .filter(|n| n.is_text())
                .filter_map(|n| n.text())
                .collect();
            if r > 0 && numeric.contains(&c) {
                assert_eq!(cell.attribute("t"), None, "{want} is a number");
                let v: f64 = value.parse().unwrap();
                assert_eq!(v, want.parse::<f64>().unwrap());
            } else if want.is_empty() {
                assert_eq!(value, "", "row {} col {c}", r + 1);
            } else {
                assert_eq!(cell.attribute("t"), Some("inlineStr"));
                assert_eq!(&value, want);
            }
        }
        if r > 0 {
            // Rows are shaded by label: one style per label.
            let style = cells[0].attribute("s").unwrap().to_string();
            let previous = label_styles.insert(rows[r][5].clone(), style.clone());
            assert!(previous.is_none_or(|p| p == style), "row {}", r + 1);
        }
    }
    let distinct: std::collections::HashSet<_> = label_styles.values().collect();
    assert_eq!(distinct.len(), label_styles.len(), "{label_styles:?}");
    assert!(label_styles.len() >= 3, "{label_styles:?}");
    assert!(sheet_xml.contains("李克強"), "Chinese characters intact");
    assert!(sheet_xml.contains("“war games”"), "curly quotes intact");

    // The workbook can also be read back whole: the report from it is the
    // report from the CSV.
    assert_same_report(dir.path(), &xlsx, &csv_path);
}

/// `stance report` draws the same page from predictions files `a` and `b`.
fn assert_same_report(dir: &Path, a: &Path, b: &Path) {
    let pages = [dir.join("a.html"), dir.join("b.html")];
    for (input, html) in [a, b].iter().zip(&pages) {
        let run = stance(&["report", p(input), "--report", p(html)]);
        assert!(run.status.success(), "{}", stderr(&run));
    }
    assert_eq!(
        std::fs::read(&pages[0]).unwrap(),
        std::fs::read(&pages[1]).unwrap(),
        "{} and {} give different reports",
        a.display(),
        b.display()
    );
}

/// A scratch label folder with the class declaration and one label file.
fn label_folder(root_dir: &Path, name: &str) -> std::path::PathBuf {
    let labels = root_dir.join(name);
    std::fs::create_dir(&labels).unwrap();
    std::fs::copy(
        root().join("labels/classes.txt"),
        labels.join("classes.txt"),
    )
    .unwrap();
    std::fs::write(
        labels.join("known.csv"),
        "doc_id,text,label\nk,A sentence labelled before.,other\n",
    )
    .unwrap();
    labels
}

/// Reads a workbook with calamine and saves it again with
/// rust_xlsxwriter's ordinary mode (shared strings, as Excel saves), with
/// `reviews` (row → label) typed into the `review` column: what a reviewer's
/// spreadsheet hands back.
fn fill_reviews(xlsx: &Path, reviews: &[(usize, &str)]) {
    use calamine::{Data, Reader};
    let mut book: calamine::Xlsx<_> = calamine::open_workbook(xlsx).unwrap();
    let range = book.worksheet_range_at(0).unwrap().unwrap();
    let header: Vec<String> = range
        .rows()
        .next()
        .unwrap()
        .iter()
        .map(|c| c.to_string())
        .collect();
    let review = header.iter().position(|h| h == "review").unwrap() as u16;
    let mut out = rust_xlsxwriter::Workbook::new();
    let sheet = out.add_worksheet();
    for (r, cells) in range.rows().enumerate() {
        for (c, cell) in cells.iter().enumerate() {
            let (r, c) = (r as u32, c as u16);
            match cell {
                Data::String(s) => sheet.write_string(r, c, s).map(|_| ()),
                Data::Float(f) => sheet.write_number(r, c, *f).map(|_| ()),
                Data::Empty => Ok(()),
                other => panic!("unexpected cell {other:?}"),
            }
            .unwrap();
        }
    }
    for &(row, label) in reviews {
        sheet.write_string(row as u32, review, label).unwrap();
    }
    out.save(xlsx).unwrap();
}

#[test]
fn reviews_typed_into_the_workbook_become_the_same_label_rows_as_from_the_csv() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // Sentences that test the cells: formula-like, guard-like, Chinese,
    // curly quotes, a comma and a line break.
    let sentences = d.join("sentences.csv");
    std::fs::write(
        &sentences,
        "doc_id,text\n\
         =d1,=HYPERLINK(\"http://x\") China and Russia signed a pact.\n\
         d1,''=quoted in the source\n\
         d2,Li Keqiang (李克強) met “Mishustin”.\n\
         d2,\"Sanctions, the West said,\nwould follow.\"\n\
         d2,A sentence labelled before.\n\
         d3,Nothing to see here.\n",
    )
    .unwrap();
    let xlsx = d.join("p.xlsx");
    let csv_path = d.join("p.csv");
    score_to(&xlsx, &[], &[p(&sentences)]);
    score_to(&csv_path, &[], &[p(&sentences)]);

    // Rows 2 to 6 (sheet row numbers) get a review; row 6 contradicts the
    // earlier label, and one review is not a label.
    let reviews = [
        (1, "western_pressure"),
        (2, "other"),
        (3, "convergence"),
        (4, "western_pressure"),
        (5, "divergence"),
        (6, "bogus"),
    ];
    fill_reviews(&xlsx, &reviews);
    let mut rows = parse_csv(&std::fs::read_to_string(&csv_path).unwrap());
    for &(r, label) in &reviews {
        let review = rows[0].iter().position(|h| h == "review").unwrap();
        rows[r][review] = label.into();
    }
    let mut w = csv::Writer::from_path(&csv_path).unwrap();
    for r in &rows {
        w.write_record(r).unwrap();
    }
    w.flush().unwrap();

    let mut outcomes = Vec::new();
    for (name, predictions) in [("from_xlsx", &xlsx), ("from_csv", &csv_path)] {
        let labels = label_folder(d, name);
        let reviewed = labels.join("reviewed.csv");
        let run = stance(&[
            "review",
            "apply",
            p(predictions),
            "--labels",
            p(&labels),
            "--classes",
            p(&labels.join("classes.txt")),
            "--labels-out",
            p(&reviewed),
        ]);
        assert_eq!(run.status.code(), Some(1), "{}", stderr(&run));
        // Lines of a workbook are its rows; the CSV has one line more
        // after the sentence with a line break.
        let err = stderr(&run)
            .replace(p(predictions), "PRED")
            .replace(p(&labels), "LABELS")
            .replace("PRED:8:", "PRED:7:")
            .replace("PRED:7: reviewed", "PRED:6: reviewed");
        let bogus_line = if name == "from_xlsx" { 7 } else { 8 };
        assert!(
            stderr(&run).contains(&format!(":{bogus_line}: review `bogus`")),
            "{}",
            stderr(&run)
        );
        outcomes.push((
            stdout(&run).replace(p(&reviewed), "OUT"),
            err,
            std::fs::read_to_string(&reviewed).unwrap(),
        ));
    }
    assert_eq!(
        outcomes[0], outcomes[1],
        "xlsx and CSV give the same result"
    );
    let (out, err, written) = &outcomes[0];
    assert_eq!(
        out,
        "6 reviewed: 4 added to OUT, 0 already labelled, 1 conflicting, 1 invalid\n"
    );
    assert!(
        err.contains("PRED:7: review `bogus` is not a label"),
        "{err}"
    );
    assert!(
        err.contains("PRED:6: reviewed as `divergence` but labelled `other` at LABELS/known.csv:2"),
        "{err}"
    );
    assert_eq!(
        written,
        "doc_id,text,label\n\
         '=d1,\"'=HYPERLINK(\"\"http://x\"\") China and Russia signed a pact.\",western_pressure\n\
         d1,''=quoted in the source,other\n\
         d2,Li Keqiang (李克強) met “Mishustin”.,convergence\n\
         d2,\"Sanctions, the West said,\nwould follow.\",western_pressure\n"
    );
}

#[test]
fn suggestions_go_to_a_workbook_that_review_apply_reads() {
    let dir = tempfile::tempdir().unwrap();
    let xlsx = dir.path().join("to-review.xlsx");
    let labels = label_folder(dir.path(), "labels");
    let run = stance(&[
        "suggest",
        "-n",
        "5",
        "--out",
        p(&xlsx),
        SEED,
        "--labels",
        p(&labels),
    ]);
    assert!(run.status.success(), "{}", stderr(&run));
    let sheet_xml = part(&xlsx, "xl/worksheets/sheet1.xml");
    assert!(sheet_xml.contains("sqref=\"P2:P6\""), "dropdown on 5 rows");
    fill_reviews(&xlsx, &[(1, "other"), (5, "divergence")]);
    let run = stance(&[
        "review",
        "apply",
        p(&xlsx),
        "--labels",
        p(&labels),
        "--classes",
        p(&labels.join("classes.txt")),
        "--labels-out",
        p(&labels.join("reviewed.csv")),
    ]);
    assert!(run.status.success(), "{}", stderr(&run));
    assert!(
        stdout(&run).starts_with("2 reviewed: 2 added"),
        "{}",
        stdout(&run)
    );
}

#[test]
fn excel_applies_to_the_summary_too() {
    let dir = tempfile::tempdir().unwrap();
    let (plain, excel) = (dir.path().join("p.csv"), dir.path().join("e.csv"));
    let (plain_sum, excel_sum) = (dir.path().join("ps.csv"), dir.path().join("es.csv"));
    score_to(&plain, &["--summary", p(&plain_sum)], &[SEED]);
    score_to(&excel, &["--excel", "--summary", p(&excel_sum)], &[SEED]);
    let plain_bytes = std::fs::read(&plain_sum).unwrap();
    let excel_bytes = std::fs::read(&excel_sum).unwrap();
    let body = excel_bytes.strip_prefix(b"\xEF\xBB\xBF").expect("a BOM");
    let text = std::str::from_utf8(body).unwrap();
    let records = plain_bytes.iter().filter(|&&b| b == b'\n').count();
    assert!(records >= 2, "a header and an article at least");
    assert_eq!(text.matches("\r\n").count(), records, "one CRLF per record");
    assert_eq!(text.replace("\r\n", "\n").as_bytes(), plain_bytes);
}

#[test]
fn excel_csv_has_a_bom_and_crlf_and_reads_back() {
    let dir = tempfile::tempdir().unwrap();
    let plain = dir.path().join("p.csv");
    let excel = dir.path().join("e.csv");
    score_to(&plain, &[], &[SEED]);
    score_to(&excel, &["--excel"], &[SEED]);
    let plain_bytes = std::fs::read(&plain).unwrap();
    let excel_bytes = std::fs::read(&excel).unwrap();
    let body = excel_bytes.strip_prefix(b"\xEF\xBB\xBF").expect("a BOM");
    let text = std::str::from_utf8(body).unwrap();
    assert_eq!(text.matches("\r\n").count(), 54, "one CRLF per record");
    assert_eq!(text.replace("\r\n", "\n").as_bytes(), plain_bytes);

    // Standard output too.
    let run = stance(&["score", "--excel", SEED]);
    assert!(run.status.success(), "{}", stderr(&run));
    assert_eq!(run.stdout, excel_bytes);

    // Reviews typed into it (keeping BOM and CRLF) are read with the right
    // line numbers.
    let mut lines: Vec<String> = text.split("\r\n").map(String::from).collect();
    lines[1].push_str("other");
    lines[2].push_str("bogus");
    std::fs::write(&excel, format!("\u{feff}{}", lines.join("\r\n"))).unwrap();
    let labels = label_folder(dir.path(), "labels");
    let run = stance(&[
        "review",
        "apply",
        p(&excel),
        "--labels",
        p(&labels),
        "--classes",
        p(&labels.join("classes.txt")),
        "--labels-out",
        p(&labels.join("reviewed.csv")),
    ]);
    assert_eq!(run.status.code(), Some(1), "{}", stderr(&run));
    assert!(
        stdout(&run).starts_with("2 reviewed: 1 added"),
        "{}",
        stdout(&run)
    );
    assert!(
        stderr(&run).contains(&format!("{}:3: review `bogus` is not a label", p(&excel))),
        "{}",
        stderr(&run)
    );
    let added = std::fs::read_to_string(labels.join("reviewed.csv")).unwrap();
    assert_eq!(added.lines().count(), 2);
    assert!(added.ends_with(",other\n"), "{added}");

    // The report reads it as it reads the plain CSV.
    assert_same_report(dir.path(), &excel, &plain);
}

#[test]
fn a_workbook_on_standard_output_is_refused_before_any_work() {
    for args in [
        &["score", "--format", "xlsx", SEED][..],
        &["score", "--format", "xlsx", "--out", "-", SEED],
        &["suggest", "--format", "xlsx", SEED],
    ] {
        let run = stance(args);
        assert_eq!(run.status.code(), Some(2), "{args:?}");
        assert!(run.stdout.is_empty());
        assert_eq!(
            stderr(&run),
            "stance: error: an xlsx workbook cannot be written to standard output: give a file name (--out predictions.xlsx), or choose --format csv or jsonl\n",
            "{args:?}"
        );
    }
}

#[test]
fn the_format_follows_the_out_name_unless_given() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let starts = |path: &Path, n: usize| std::fs::read(path).unwrap()[..n].to_vec();
    score_to(&d.join("a.xlsx"), &[], &[SEED]);
    assert_eq!(starts(&d.join("a.xlsx"), 2), b"PK", "a zip");
    score_to(&d.join("b.XLSX"), &[], &[SEED]);
    assert_eq!(starts(&d.join("b.XLSX"), 2), b"PK");
    score_to(&d.join("c.jsonl"), &[], &[SEED]);
    assert_eq!(starts(&d.join("c.jsonl"), 10), b"{\"doc_id\":");
    score_to(&d.join("d.csv"), &[], &[SEED]);
    assert_eq!(starts(&d.join("d.csv"), 7), b"doc_id,");
    score_to(&d.join("e.out"), &[], &[SEED]);
    assert_eq!(starts(&d.join("e.out"), 7), b"doc_id,");
    // Given, the format wins over the name.
    score_to(&d.join("f.xlsx"), &["--format", "csv"], &[SEED]);
    assert_eq!(starts(&d.join("f.xlsx"), 7), b"doc_id,");
    score_to(&d.join("g.csv"), &["--format", "xlsx"], &[SEED]);
    assert_eq!(starts(&d.join("g.csv"), 2), b"PK");
    score_to(&d.join("h.csv"), &["--format", "jsonl"], &[SEED]);
    assert_eq!(starts(&d.join("h.csv"), 1), b"{");

    let run = stance(&["score", "--excel", "--out", p(&d.join("i.xlsx")), SEED]);
    assert_eq!(run.status.code(), Some(2));
    assert_eq!(
        stderr(&run),
        "stance: error: --excel applies to CSV output only (the output is xlsx)\n"
    );
    assert!(!d.join("i.xlsx").exists());
    let run = stance(&["suggest", "--out", p(&d.join("j.jsonl")), SEED]);
    assert_eq!(run.status.code(), Some(2));
    assert_eq!(
        stderr(&run),
        "stance: error: suggest writes csv or xlsx, not jsonl\n"
    );
}
