//! Predictions for spreadsheet users: the review workbook (xlsx), CSV for
//! Excel, and reading either back.
//!
//! Has the responsibility to turn the predictions CSV that
//! [`super::output`] writes into what a spreadsheet opens well, and to read
//! a predictions file — CSV or workbook — back as the same CSV records.
//!
//! The workbook is made from the CSV itself ([`XlsxWriter`] takes its bytes),
//! so it has exactly the CSV's columns, in order, whatever they are. One
//! worksheet, `predictions`: the header row frozen and bold, an autofilter
//! over every column, fixed column widths, `sentence_id`, `start`, `end`,
//! `confidence` and every `p_<class>` as numbers, each row shaded by its
//! `label`, and the `review` column restricted to the class names by a
//! dropdown (data validation). A text cell holds the text itself: a
//! workbook cell written as text never runs as a formula, so the CSV's
//! guard (a leading `'`, see [`crate::io::protect_cell`]) is dropped — but
//! for text that itself starts with a guard-like `'`, which keeps it, so
//! that reading back is exact.

use std::io::Write;
use std::path::{Path, PathBuf};

use rust_xlsxwriter::{DataValidation, Format, FormatAlign, FormatBorder, Workbook, XlsxError};

use crate::error::{Error, Result};
use crate::io::{
    atomic_write, csv_headers, guard_raw_cell, open_csv, unprotect_cell, CrlfToLf, QuoteTap, BOM,
};

/// The most rows a worksheet holds (Excel's limit), the header included.
pub const MAX_SHEET_ROWS: u32 = 1_048_576;

/// The name of the predictions worksheet.
const SHEET_NAME: &str = "predictions";

/// How a column's cells are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// Text as it is.
    Text,
    /// Text wrapped in a wide column (the sentence).
    Wrapped,
    /// A whole number (`0`).
    Whole,
    /// A probability, shown with six decimals as in the CSV.
    Decimal,
}

impl Kind {
    fn of(column: &str) -> Kind {
        match column {
            "sentence_id" | "start" | "end" => Kind::Whole,
            "confidence" => Kind::Decimal,
            "text" => Kind::Wrapped,
            c if c.starts_with("p_") => Kind::Decimal,
            _ => Kind::Text,
        }
    }

    fn index(self) -> usize {
        self as usize
    }
}

/// The width of a column, in characters (room for the filter button
/// included).
fn width_of(column: &str) -> f64 {
    let own = column.chars().count() as f64 + 4.0;
    match column {
        "text" => 80.0,
        "evidence" => 48.0,
        "doc_id" => 24.0,
        "source" | "title" => 40.0,
        "label" | "review" => 20.0,
        _ => own.max(10.0),
    }
}

/// The cells of one look: text, wrapped text, whole number, decimal.
fn formats(fill: Option<&str>) -> [Format; 4] {
    let base = Format::new().set_align(FormatAlign::Top);
    let base = match fill {
        Some(colour) => base.set_background_color(colour),
        None => base,
    };
    [
        base.clone(),
        base.clone().set_text_wrap(),
        base.clone().set_num_format("0"),
        base.set_num_format("0.000000"),
    ]
}

/// The text a workbook cell holds for a cell of the predictions CSV: the
/// text without its formula guard, unless the text itself starts like a
/// guarded cell (`'=…`, `''…`), which keeps the guard. Reading the cell
/// back through [`guard_raw_cell`] and [`unprotect_cell`] then gives the
/// text — as it does for a workbook saved from the guarded CSV.
fn sheet_text(csv_cell: &str) -> &str {
    let text = unprotect_cell(csv_cell);
    if unprotect_cell(text) == text {
        text
    } else {
        csv_cell
    }
}

/// An [`XlsxError`] as an I/O error with a message that says what to do.
fn sheet_error(e: XlsxError) -> std::io::Error {
    let message = match e {
        XlsxError::RowColumnLimitError => format!(
            "a worksheet holds at most {MAX_SHEET_ROWS} rows; write CSV (--format csv) for more"
        ),
        XlsxError::MaxStringLengthExceeded => {
            "a cell holds at most 32767 characters; write CSV (--format csv) instead".into()
        }
        e => e.to_string(),
    };
    std::io::Error::other(message)
}

/// Writes the predictions CSV it is given, as bytes in pieces of any size
/// (header first), as the rows of a review workbook (see the module docs);
/// [`XlsxWriter::finish`] writes the workbook. Rows are kept in a temporary
/// file, not in memory (the constant-memory mode of `rust_xlsxwriter`).
pub struct XlsxWriter {
    workbook: Workbook,
    classes: Vec<String>,
    /// Per class, then for rows whose label is not a class: the cell
    /// formats by [`Kind`].
    formats: Vec<[Format; 4]>,
    parser: csv_core::Reader,
    fields: Vec<u8>,
    fields_len: usize,
    ends: Vec<usize>,
    ends_len: usize,
    /// One entry per header column; empty until the header is read.
    columns: Vec<Kind>,
    label: Option<usize>,
    review: Option<usize>,
    /// The last row written (0: the header).
    row: u32,
}

impl XlsxWriter {
    /// A workbook for the predictions of a model with `classes`; rows
    /// labelled `classes[i]` are shaded with `shades[i]` (`#rrggbb`; rows
    /// beyond `shades` stay white).
    pub fn new(classes: &[String], shades: &[String]) -> std::io::Result<XlsxWriter> {
        let mut workbook = Workbook::new();
        workbook
            .add_worksheet_with_constant_memory()
            .and_then(|sheet| sheet.set_name(SHEET_NAME).map(|_| ()))
            .map_err(sheet_error)?;
        let mut all: Vec<[Format; 4]> = (0..classes.len())
            .map(|i| formats(shades.get(i).map(String::as_str)))
            .collect();
        all.push(formats(None));
        Ok(XlsxWriter {
            workbook,
            classes: classes.to_vec(),
            formats: all,
            parser: csv_core::Reader::new(),
            fields: vec![0; 4096],
            fields_len: 0,
            ends: vec![0; 32],
            ends_len: 0,
            columns: Vec::new(),
            label: None,
            review: None,
            row: 0,
        })
    }

    /// Parses `input`, writing every record it completes; empty `input`
    /// marks the end of the CSV.
    fn parse(&mut self, mut input: &[u8]) -> std::io::Result<()> {
        use csv_core::ReadRecordResult as R;
        loop {
            let (result, read, written, ended) = self.parser.read_record(
                input,
                &mut self.fields[self.fields_len..],
                &mut self.ends[self.ends_len..],
            );
            input = &input[read..];
            self.fields_len += written;
            self.ends_len += ended;
            match result {
                R::InputEmpty => return Ok(()),
                R::OutputFull => self.fields.resize(self.fields.len() * 2, 0),
                R::OutputEndsFull => self.ends.resize(self.ends.len() * 2, 0),
                R::Record => {
                    self.record()?;
                    self.fields_len = 0;
                    self.ends_len = 0;
                }
                R::End => return Ok(()),
            }
        }
    }

    /// Writes the record just parsed: the header, or a row.
    fn record(&mut self) -> std::io::Result<()> {
        let bytes = &self.fields[..self.fields_len];
        let text = std::str::from_utf8(bytes)
            .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e))?;
        let mut cells = Vec::with_capacity(self.ends_len);
        let mut start = 0;
        for &end in &self.ends[..self.ends_len] {
            cells.push(&text[start..end]);
            start = end;
        }
        if cells.len() == 1 && cells[0].is_empty() {
            return Ok(());
        }
        let sheet = self.workbook.worksheet_from_index(0).map_err(sheet_error)?;
        if self.columns.is_empty() {
            let bold = Format::new()
                .set_bold()
                .set_align(FormatAlign::Top)
                .set_border_bottom(FormatBorder::Thin);
            for (c, name) in cells.iter().enumerate() {
                let name = name.trim_start_matches('\u{feff}').trim();
                let col = c as u16;
                sheet
                    .set_column_width(col, width_of(name))
                    .and_then(|s| s.write_string_with_format(0, col, name, &bold))
                    .map_err(sheet_error)?;
                self.columns.push(Kind::of(name));
                match name {
                    "label" => self.label = Some(c),
                    "review" => self.review = Some(c),
                    _ => {}
                }
            }
            sheet.set_freeze_panes(1, 0).map_err(sheet_error)?;
            return Ok(());
        }
        if self.row + 1 >= MAX_SHEET_ROWS {
            return Err(sheet_error(XlsxError::RowColumnLimitError));
        }
        self.row += 1;
        let row = self.row;
        let class = self
            .label
            .and_then(|c| cells.get(c))
            .and_then(|l| self.classes.iter().position(|k| k == l))
            .unwrap_or(self.classes.len());
        let look = &self.formats[class];
        for (c, cell) in cells.iter().enumerate() {
            let col = c as u16;
            let kind = self.columns.get(c).copied().unwrap_or(Kind::Text);
            let format = &look[kind.index()];
            let number = match kind {
                Kind::Whole | Kind::Decimal => cell.trim().parse::<f64>().ok(),
                Kind::Text | Kind::Wrapped => None,
            };
            let written = if cell.is_empty() {
                sheet.write_blank(row, col, format)
            } else if let Some(n) = number {
                sheet.write_number_with_format(row, col, n, format)
            } else {
                sheet.write_string_with_format(row, col, sheet_text(cell), format)
            };
            written.map_err(sheet_error)?;
        }
        Ok(())
    }

    /// Ends the CSV and writes the workbook to `out`: the autofilter over
    /// every row and column and the `review` dropdown are added here, once
    /// the last row is known.
    pub fn finish(mut self, out: &mut dyn Write) -> std::io::Result<()> {
        self.parse(&[])?;
        let last_row = self.row;
        let sheet = self.workbook.worksheet_from_index(0).map_err(sheet_error)?;
        if let Some(last_col) = self.columns.len().checked_sub(1) {
            sheet
                .autofilter(0, 0, last_row, last_col as u16)
                .map_err(sheet_error)?;
        }
        if let (Some(review), true) = (self.review, last_row > 0) {
            let names = self.classes.join(", ");
            let dropdown = DataValidation::new()
                .allow_list_strings(&self.classes)
                .and_then(|v| v.set_error_title("Not a label"))
                .and_then(|v| {
                    v.set_error_message(format!("Choose one of: {names}; or leave the cell empty."))
                })
                .map_err(sheet_error)?;
            let col = review as u16;
            sheet
                .add_data_validation(1, col, last_row, col, &dropdown)
                .map_err(sheet_error)?;
        }
        // The zip needs to seek: it is built in memory (compressed, a
        // fraction of the CSV) and then written out.
        let bytes = self.workbook.save_to_buffer().map_err(sheet_error)?;
        out.write_all(&bytes)
    }
}

impl Write for XlsxWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if !buf.is_empty() {
            self.parse(buf)?;
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Runs `produce` on an [`XlsxWriter`] (give it the predictions CSV, header
/// first) and writes the workbook to `path` atomically (see
/// [`atomic_write`]). Standard output (`-`) is refused: a workbook is not
/// a stream. A failure to write is reported with `path`.
pub fn write_workbook<T>(
    path: &Path,
    classes: &[String],
    shades: &[String],
    produce: impl FnOnce(&mut dyn Write) -> Result<T>,
) -> Result<T> {
    if path.as_os_str() == "-" {
        return Err(Error::WorkbookToStdout);
    }
    let named = |e: std::io::Error| Error::io(path, e);
    let mut sheet = XlsxWriter::new(classes, shades).map_err(named)?;
    let value = produce(&mut sheet).map_err(|e| match e {
        Error::Output(e) => named(e),
        e => e,
    })?;
    atomic_write(path, |w| sheet.finish(w))?;
    Ok(value)
}

/// A writer that turns the predictions CSV into CSV for Excel: a UTF-8
/// byte-order mark first (without it Excel reads the file in the local
/// code page, and Chinese text or curly quotes come out garbled) and CRLF
/// at the end of every record. Line breaks inside a quoted cell stay as
/// they are.
pub struct ExcelCsv<W> {
    inner: W,
    started: bool,
    quoted: bool,
    last: u8,
    buf: Vec<u8>,
}

impl<W: Write> ExcelCsv<W> {
    /// Wraps `inner`.
    pub fn new(inner: W) -> Self {
        ExcelCsv {
            inner,
            started: false,
            quoted: false,
            last: 0,
            buf: Vec::new(),
        }
    }
}

impl<W: Write> Write for ExcelCsv<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.buf.clear();
        if !self.started {
            self.buf.extend_from_slice(BOM);
            self.started = true;
        }
        for &b in buf {
            match b {
                b'"' => self.quoted = !self.quoted,
                b'\n' if !self.quoted && self.last != b'\r' => self.buf.push(b'\r'),
                _ => {}
            }
            self.buf.push(b);
            self.last = b;
        }
        self.inner.write_all(&self.buf)?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// Whether `path` names an xlsx workbook (by its extension).
pub fn is_workbook(path: &Path) -> bool {
    path.extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("xlsx"))
}

/// A predictions file opened for reading: a CSV (a byte-order mark and CRLF
/// line ends are fine), or an xlsx workbook (by its name, see
/// [`is_workbook`]), whose first worksheet is read as the CSV would be: the
/// first non-empty row is the header, empty rows are skipped, numbers come
/// back in their shortest form (`1`, `0.7`, `0.706808`) and text cells come back
/// guarded as in the CSV (see [`guard_raw_cell`]), so
/// [`unprotect_cell`] gives the text in both cases. Line numbers of a
/// workbook are its row numbers.
pub struct PredictionRows {
    path: PathBuf,
    source: Source,
}

enum Source {
    Csv(Box<csv::Reader<QuoteTap<CrlfToLf<std::fs::File>>>>),
    Sheet {
        header: csv::StringRecord,
        rows: Vec<(csv::StringRecord, u64)>,
    },
}

impl PredictionRows {
    /// Opens `path`; a workbook is read whole here.
    pub fn open(path: &Path) -> Result<PredictionRows> {
        let source = if is_workbook(path) {
            let (header, rows) = read_sheet(path)?;
            Source::Sheet { header, rows }
        } else {
            Source::Csv(Box::new(open_csv(path, false)?))
        };
        Ok(PredictionRows {
            path: path.to_path_buf(),
            source,
        })
    }

    /// The header row.
    pub fn header(&mut self) -> Result<csv::StringRecord> {
        match &mut self.source {
            Source::Csv(reader) => csv_headers(&self.path, reader),
            Source::Sheet { header, .. } => Ok(header.clone()),
        }
    }

    /// Calls `f(record, line)` for every row after the header, as
    /// [`crate::labels::for_each_record`] does.
    pub fn for_each(
        &mut self,
        mut f: impl FnMut(&csv::StringRecord, u64) -> Result<()>,
    ) -> Result<()> {
        match &mut self.source {
            Source::Csv(reader) => crate::labels::for_each_record(&self.path, reader, f),
            Source::Sheet { rows, .. } => rows.iter().try_for_each(|(r, line)| f(r, *line)),
        }
    }
}

/// The first worksheet of a workbook: its header and its non-empty rows
/// with their row numbers.
fn read_sheet(path: &Path) -> Result<(csv::StringRecord, Vec<(csv::StringRecord, u64)>)> {
    use calamine::Reader as _;
    let unreadable = |message: String| Error::Workbook {
        path: path.to_path_buf(),
        message,
    };
    let mut workbook: calamine::Xlsx<_> = calamine::open_workbook(path).map_err(|e| match e {
        calamine::XlsxError::Io(e) => Error::io(path, e),
        e => unreadable(e.to_string()),
    })?;
    let range = workbook
        .worksheet_range_at(0)
        .ok_or_else(|| unreadable("it has no worksheet".into()))?
        .map_err(|e| unreadable(e.to_string()))?;
    let first = range.start().map_or(0, |(row, _)| row as u64);
    let mut header = None;
    let mut rows = Vec::new();
    for (i, cells) in range.rows().enumerate() {
        if cells.iter().all(|c| matches!(c, calamine::Data::Empty)) {
            continue;
        }
        let record: csv::StringRecord = cells.iter().map(cell_text).collect();
        if header.is_none() {
            header = Some(record);
        } else {
            rows.push((record, first + i as u64 + 1));
        }
    }
    let header = header.ok_or_else(|| unreadable("its first worksheet is empty".into()))?;
    Ok((header, rows))
}

/// A workbook cell as the predictions CSV would hold it.
fn cell_text(cell: &calamine::Data) -> String {
    use calamine::Data;
    match cell {
        Data::String(s) => guard_raw_cell(s).into_owned(),
        Data::Float(f) if f.fract() == 0.0 && f.abs() < 9.0e15 => format!("{}", *f as i64),
        Data::Float(f) => format!("{f}"),
        Data::Int(i) => i.to_string(),
        Data::Bool(b) => if *b { "TRUE" } else { "FALSE" }.into(),
        Data::Empty => String::new(),
        other => guard_raw_cell(&other.to_string()).into_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::io::protect_cell as csv_cell;

    #[test]
    fn a_workbook_reads_back_as_its_csv_in_pieces_of_any_size() {
        let csv = "doc_id,sentence_id,start,end,text,label,confidence,p_a,p_b,evidence,review\n\
                   '=d,1,0,9,\"Hi, “you”\nthere\",b,0.700000,0.300000,0.700000,x (+0.100),\n\
                   e,2,,,李克強,a,0.512345,0.512345,0.487655,,a\n\
                   f,3,,,\"tab\there\u{b}vt \u{1}soh _x000B_ kept\",a,0.5,0.5,0.5,,\n";
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("p.xlsx");
        let classes = ["a".to_string(), "b".to_string()];
        let mut sheet = XlsxWriter::new(&classes, &["#ff0000".into()]).unwrap();
        for byte in csv.as_bytes() {
            sheet.write_all(std::slice::from_ref(byte)).unwrap();
        }
        let mut bytes = Vec::new();
        sheet.finish(&mut bytes).unwrap();
        std::fs::write(&path, bytes).unwrap();

        let mut rows = PredictionRows::open(&path).unwrap();
        let mut got = vec![rows.header().unwrap().iter().collect::<Vec<_>>().join("|")];
        rows.for_each(|r, line| {
            got.push(format!(
                "{line}: {}",
                r.iter().collect::<Vec<_>>().join("|")
            ));
            Ok(())
        })
        .unwrap();
        assert_eq!(
            got,
            [
                "doc_id|sentence_id|start|end|text|label|confidence|p_a|p_b|evidence|review",
                "2: '=d|1|0|9|Hi, “you”\nthere|b|0.7|0.3|0.7|x (+0.100)|",
                "3: e|2|||李克強|a|0.512345|0.512345|0.487655||a",
                "4: f|3|||tab\there\u{b}vt \u{1}soh _x000B_ kept|a|0.5|0.5|0.5||",
            ]
        );
    }

    #[test]
    fn sheet_text_reads_back_exactly() {
        // (text, what the workbook cell holds)
        for (text, in_sheet) in [
            ("plain", "plain"),
            ("=1+1", "=1+1"),
            ("-5 percent", "-5 percent"),
            ("@handle", "@handle"),
            ("'quoted", "'quoted"),
            ("'=1+1", "''=1+1"),
            ("''x", "'''x"),
            ("李克強 “quoted”", "李克強 “quoted”"),
            ("", ""),
        ] {
            let cell = sheet_text(&csv_cell(text)).to_string();
            assert_eq!(cell, in_sheet, "{text:?}");
            assert_eq!(unprotect_cell(&guard_raw_cell(&cell)), text, "{text:?}");
            // A workbook saved from the guarded CSV reads back the same.
            assert_eq!(
                unprotect_cell(&guard_raw_cell(&csv_cell(text))),
                text,
                "{text:?}"
            );
        }
    }

    #[test]
    fn excel_csv_has_a_bom_and_crlf_outside_quotes() {
        let mut out = ExcelCsv::new(Vec::new());
        // In pieces, with a quoted line break split from its quotes.
        for piece in [&b"a,b\nx,\"line"[..], b"\none\"\n", b"y,z\r\n"] {
            out.write_all(piece).unwrap();
        }
        assert_eq!(
            out.inner,
            b"\xEF\xBB\xBFa,b\r\nx,\"line\none\"\r\ny,z\r\n".to_vec()
        );
    }

    #[test]
    fn cells_read_back_as_the_csv_writes_them() {
        use calamine::Data;
        for (cell, want) in [
            (Data::Float(3.0), "3"),
            (Data::Float(0.706808), "0.706808"),
            (Data::Float(0.1), "0.1"),
            (Data::Int(12), "12"),
            (Data::String("=x".into()), "'=x"),
            (Data::String("'=x".into()), "'=x"),
            (Data::Empty, ""),
        ] {
            assert_eq!(cell_text(&cell), want, "{cell:?}");
        }
    }

    #[test]
    fn kinds_and_widths_follow_the_header() {
        let kinds: Vec<Kind> = ["doc_id", "sentence_id", "text", "p_other", "date", "review"]
            .iter()
            .map(|c| Kind::of(c))
            .collect();
        assert_eq!(
            kinds,
            [
                Kind::Text,
                Kind::Whole,
                Kind::Wrapped,
                Kind::Decimal,
                Kind::Text,
                Kind::Text
            ]
        );
        assert_eq!(width_of("text"), 80.0);
        assert_eq!(width_of("p_western_pressure"), 22.0);
        assert_eq!(width_of("end"), 10.0);
    }
}
