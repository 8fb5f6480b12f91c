//! Scored documents → rows: the predictions CSV, JSON lines and the
//! per-article summary.
//!
//! Has the responsibility to format what the runner scored. Output columns:
//! `doc_id,sentence_id,start,end,text,label,confidence`, one `p_<class>` per
//! class in model order, `evidence`, the article's `date`, `source` and
//! `title` (empty when unknown), then an empty `review` column for
//! corrections. `sentence_id` counts from 1 within a document; `start`/`end`
//! are byte offsets into the source file ([`Document::source_range`]: for
//! Markdown the range from the sentence's first character to its last, markup
//! inside included; empty for CSV inputs, whose rows are already sentences,
//! and for HTML, whose text is rebuilt from the markup); probabilities have
//! six decimals; `evidence` lists up to N terms as `term (+0.123)`, joined by
//! `; `. Text cells are guarded against spreadsheet formulas
//! ([`protect_cell`]). A new output format is a writer in this file.

use std::fmt::Write as _;
use std::io::Write;

use super::input::Document;
use super::runner::{Scored, Scorer};
use crate::error::{Error, Result};
use crate::io::protect_cell;
use crate::swar;

/// The CSV header for a model's classes: the fixed columns, one `p_<class>`
/// per class, `evidence`, the article's `date`, `source` and `title`, and an
/// empty `review` column for corrections.
pub fn header(classes: &[String]) -> Vec<String> {
    let mut h: Vec<String> = [
        "doc_id",
        "sentence_id",
        "start",
        "end",
        "text",
        "label",
        "confidence",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    h.extend(classes.iter().map(|c| format!("p_{c}")));
    h.extend(["evidence", "date", "source", "title", "review"].map(String::from));
    h
}

/// How predictions are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Format {
    /// A CSV with a header row (see the module docs).
    #[default]
    Csv,
    /// One JSON object per sentence and line, with the CSV's fields (but
    /// `review`); `start` and `end` are `null` for pre-split sentences and
    /// web pages, `date`, `source` and `title` `null` when unknown.
    Jsonl,
}

/// The CSV header line for `classes`, newline included.
pub(crate) fn header_bytes(classes: &[String]) -> Vec<u8> {
    // Class names are validated ASCII identifiers: no field needs quoting.
    let mut line = header(classes).join(",");
    line.push('\n');
    line.into_bytes()
}

/// Writes the CSV header for `classes`.
pub fn write_header(classes: &[String], out: &mut dyn Write) -> Result<()> {
    out.write_all(&header_bytes(classes)).map_err(Error::Output)
}

impl Scorer<'_> {
    /// Appends the CSV row of one scored sentence of `doc` to `out`, each
    /// field written straight into it: no allocation per row.
    pub fn write_row(&self, doc: &Document, scored: &Scored, out: &mut Vec<u8>) {
        push_head(out, doc);
        self.push_row_body(doc, scored, &mut 0, out);
        push_tail(out, doc);
    }

    /// The fields of a row from `sentence_id` to `evidence`: what differs
    /// from one row of a document to the next. `pieces` is where the
    /// search for the sentence's source range starts (see
    /// [`Document::source_range_from`]).
    fn push_row_body(
        &self,
        doc: &Document,
        scored: &Scored,
        pieces: &mut usize,
        out: &mut Vec<u8>,
    ) {
        let span = doc.spans[scored.index];
        push_uint(out, doc.sentence_id(scored.index));
        out.push(b',');
        if let Some((start, end)) = doc.source_range_from(span, pieces) {
            push_uint(out, start as u64);
            out.push(b',');
            push_uint(out, end as u64);
        } else {
            out.push(b',');
        }
        out.push(b',');
        push_field(out, protect_cell(span.text(&doc.text)).as_bytes());
        out.push(b',');
        // Class names are validated ASCII letters, digits, `_` and `-`:
        // never quoted.
        out.extend_from_slice(self.model.classes()[scored.label].as_bytes());
        out.push(b',');
        push_fixed6(out, scored.probabilities[scored.label]);
        for &prob in &scored.probabilities {
            out.push(b',');
            push_fixed6(out, prob);
        }
        out.push(b',');
        push_field(out, scored.evidence.as_bytes());
    }

    /// Appends the JSON line of one scored sentence of `doc` to `out`.
    pub fn write_json_row(&self, doc: &Document, scored: &Scored, out: &mut Vec<u8>) {
        self.push_json_row(doc, scored, &mut 0, out);
    }

    /// [`Scorer::write_json_row`], the search for the sentence's source
    /// range started at piece `pieces` (see
    /// [`Document::source_range_from`]).
    fn push_json_row(
        &self,
        doc: &Document,
        scored: &Scored,
        pieces: &mut usize,
        out: &mut Vec<u8>,
    ) {
        let span = doc.spans[scored.index];
        let string = |out: &mut Vec<u8>, s: &str| {
            // Serialising a &str cannot fail.
            let _ = serde_json::to_writer(&mut *out, s);
        };
        out.extend_from_slice(b"{\"doc_id\":");
        string(out, &doc.doc_id);
        out.extend_from_slice(b",\"sentence_id\":");
        push_uint(out, doc.sentence_id(scored.index));
        if let Some((start, end)) = doc.source_range_from(span, pieces) {
            out.extend_from_slice(b",\"start\":");
            push_uint(out, start as u64);
            out.extend_from_slice(b",\"end\":");
            push_uint(out, end as u64);
        } else {
            out.extend_from_slice(b",\"start\":null,\"end\":null");
        }
        out.extend_from_slice(b",\"text\":");
        string(out, span.text(&doc.text));
        out.extend_from_slice(b",\"label\":");
        string(out, &self.model.classes()[scored.label]);
        out.extend_from_slice(b",\"confidence\":");
        push_fixed6(out, scored.probabilities[scored.label]);
        for (key, &p) in self.json_probability_keys.iter().zip(&scored.probabilities) {
            out.extend_from_slice(key);
            push_fixed6(out, p);
        }
        out.extend_from_slice(b",\"evidence\":");
        string(out, &scored.evidence);
        for (key, value) in [
            (&b",\"date\":"[..], &doc.date),
            (b",\"source\":", &doc.source),
            (b",\"title\":", &doc.title),
        ] {
            out.extend_from_slice(key);
            match value {
                Some(v) => string(out, v),
                None => out.extend_from_slice(b"null"),
            }
        }
        out.extend_from_slice(b"}\n");
    }

    /// Every sentence of `doc` in `format`, in one buffer of about the
    /// room the rows need.
    pub fn write_document(&self, doc: &Document, scored: &[Scored], format: Format) -> Vec<u8> {
        let mut buf = Vec::with_capacity(rows_capacity(doc, scored));
        // Where the next row's search for its source range starts.
        let mut pieces = 0;
        match format {
            Format::Csv => {
                // The fields every row of the document shares, made once.
                let mut head = Vec::new();
                push_head(&mut head, doc);
                let mut tail = Vec::new();
                push_tail(&mut tail, doc);
                for s in scored {
                    buf.extend_from_slice(&head);
                    self.push_row_body(doc, s, &mut pieces, &mut buf);
                    buf.extend_from_slice(&tail);
                }
            }
            Format::Jsonl => {
                for s in scored {
                    self.push_json_row(doc, s, &mut pieces, &mut buf);
                }
            }
        }
        buf
    }
}

/// The first field of a CSV row of `doc`, its doc_id, and the comma after.
fn push_head(out: &mut Vec<u8>, doc: &Document) {
    push_field(out, protect_cell(&doc.doc_id).as_bytes());
    out.push(b',');
}

/// The last fields of a CSV row of `doc` (`date`, `source`, `title`, the
/// empty `review`) with the comma before each, and the line end.
fn push_tail(out: &mut Vec<u8>, doc: &Document) {
    for value in [&doc.date, &doc.source, &doc.title] {
        out.push(b',');
        push_field(out, protect_cell(value.as_deref().unwrap_or("")).as_bytes());
    }
    out.extend_from_slice(b",\n");
}

/// About the bytes of the rows of `scored` (the text, and what a row adds
/// to it), so a document's rows are written into one allocation instead of
/// a buffer grown and copied a dozen times.
fn rows_capacity(doc: &Document, scored: &[Scored]) -> usize {
    let meta: usize = [&doc.date, &doc.source, &doc.title]
        .iter()
        .map(|v| v.as_deref().map_or(0, str::len))
        .sum();
    let text: usize = scored
        .iter()
        .map(|s| {
            doc.spans
                .get(s.index)
                .map_or(0, |span| span.end - span.start)
        })
        .sum();
    text + scored.len() * (doc.doc_id.len() + meta + 160)
}

/// Whether a CSV field holds a comma, a double quote or a line break;
/// eight bytes per step ([`swar::has_byte`]).
#[inline]
fn needs_quotes(field: &[u8]) -> bool {
    let has = |x: u64| {
        swar::has_byte(x, b',')
            | swar::has_byte(x, b'"')
            | swar::has_byte(x, b'\n')
            | swar::has_byte(x, b'\r')
    };
    let mut chunks = field.chunks_exact(8);
    for chunk in &mut chunks {
        let mut eight = [0u8; 8];
        eight.copy_from_slice(chunk);
        if has(u64::from_le_bytes(eight)) {
            return true;
        }
    }
    chunks
        .remainder()
        .iter()
        .any(|&b| matches!(b, b',' | b'"' | b'\n' | b'\r'))
}

/// Appends `field` as a CSV field the way the csv crate writes it by
/// default: quoted when it holds a comma, a double quote or a line break,
/// its double quotes doubled.
fn push_field(out: &mut Vec<u8>, field: &[u8]) {
    if !needs_quotes(field) {
        out.extend_from_slice(field);
        return;
    }
    out.reserve(field.len() + 2);
    out.push(b'"');
    let mut rest = field;
    while let Some(k) = memchr::memchr(b'"', rest) {
        out.extend_from_slice(&rest[..=k]);
        out.push(b'"');
        rest = &rest[k + 1..];
    }
    out.extend_from_slice(rest);
    out.push(b'"');
}

/// The two decimal digits of every number below 100, in order.
const PAIRS: &[u8; 200] = b"0001020304050607080910111213141516171819\
    2021222324252627282930313233343536373839\
    4041424344454647484950515253545556575859\
    6061626364656667686970717273747576777879\
    8081828384858687888990919293949596979899";

/// The two decimal digits of `n` (below 100).
#[inline]
fn pair(n: u64) -> [u8; 2] {
    let i = n as usize * 2;
    [PAIRS[i], PAIRS[i + 1]]
}

/// Appends the decimal digits of `n`, two at a time.
fn push_uint(buf: &mut Vec<u8>, mut n: u64) {
    let mut digits = [0u8; 20];
    let mut i = digits.len();
    while n >= 100 {
        i -= 2;
        digits[i..i + 2].copy_from_slice(&pair(n % 100));
        n /= 100;
    }
    if n >= 10 {
        i -= 2;
        digits[i..i + 2].copy_from_slice(&pair(n));
    } else {
        i -= 1;
        digits[i] = b'0' + n as u8;
    }
    buf.extend_from_slice(&digits[i..]);
}

/// Appends a probability in `0..=1` with six decimals (`0.123457`), as
/// `format!("{:.6}")` would for all but exact ties at the seventh decimal:
/// `0.` or `1.`, then three pairs of digits.
fn push_fixed6(buf: &mut Vec<u8>, p: f64) {
    let scaled = round_unsigned(p.clamp(0.0, 1.0) * 1e6);
    let (whole, frac) = (scaled / 1_000_000, scaled % 1_000_000);
    let [a, b] = pair(frac / 10_000);
    let [c, d] = pair(frac / 100 % 100);
    let [e, f] = pair(frac % 100);
    buf.extend_from_slice(&[b'0' + whole as u8, b'.', a, b, c, d, e, f]);
}

/// `x.round() as u64` for `x` in `0.0..2^53` (halves away from zero),
/// without the call to libm's `round` that `f64::round` compiles to on
/// x86-64 without SSE4.1: four of them per CSV row were 1.5% of a run.
/// Exact: the whole part and the fraction of such an `x` are both
/// representable, so `x - trunc(x)` is computed without rounding.
#[inline]
fn round_unsigned(x: f64) -> u64 {
    let whole = x as u64;
    whole + u64::from(x - whole as f64 >= 0.5)
}

/// Appends `v` as `format!("{v:+.3}")` does, without the formatting
/// machinery on the common path: a sign, a digit and three decimals,
/// appended as one piece. Values near a rounding tie, or that round to 10
/// or more, go through `format!`. Every evidence term takes one; pushed a
/// character at a time, with `f64::fract` (a call to libm) to find ties,
/// the 33,818 rows of the news corpus took 0.30 ± 0.19 ms longer.
pub(super) fn push_signed3(out: &mut String, v: f64) {
    let scaled = v.abs() * 1000.0;
    // Below 10,000 (false for NaN) the fraction left after the whole
    // part is exact (see `round_unsigned`).
    if scaled < 10_000.0 {
        let fraction = scaled - (scaled as u64) as f64;
        if (fraction - 0.5).abs() >= 1e-6 {
            let n = round_unsigned(scaled);
            if n < 10_000 {
                let [a, b] = pair(n % 100);
                let piece = [
                    if v.is_sign_negative() { b'-' } else { b'+' },
                    b'0' + (n / 1000) as u8,
                    b'.',
                    b'0' + (n / 100 % 10) as u8,
                    a,
                    b,
                ];
                // SAFETY: `piece` is ASCII, so the string stays UTF-8.
                unsafe { out.as_mut_vec() }.extend_from_slice(&piece);
                return;
            }
        }
    }
    // Writing into a String cannot fail.
    let _ = write!(out, "{v:+.3}");
}

/// Per-article totals for `--summary` and `--chart`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DocSummary {
    /// The article.
    pub doc_id: String,
    /// Where it came from (see [`Document::source`]), which tells apart
    /// two articles of one doc_id from different inputs.
    pub source: Option<String>,
    /// Sentences scored.
    pub sentences: usize,
    /// Sentences per predicted class.
    pub counts: Vec<usize>,
    /// Sum of each class's probability over the sentences.
    pub probability_sums: Vec<f64>,
}

impl DocSummary {
    /// Totals of one scored document.
    pub fn of(doc: &Document, scored: &[Scored], n_classes: usize) -> DocSummary {
        let mut counts = vec![0; n_classes];
        let mut probability_sums = vec![0.0; n_classes];
        for s in scored {
            counts[s.label] += 1;
            for (sum, p) in probability_sums.iter_mut().zip(&s.probabilities) {
                *sum += p;
            }
        }
        DocSummary {
            doc_id: doc.doc_id.clone(),
            source: doc.source.clone(),
            sentences: scored.len(),
            counts,
            probability_sums,
        }
    }

    /// Adds the totals of the next part of the same article (an article
    /// file read in parts). The probability sums are added part by part, so
    /// they may differ from the whole file's in the last bits of precision.
    pub fn absorb(&mut self, part: &DocSummary) {
        self.sentences += part.sentences;
        for (c, n) in self.counts.iter_mut().zip(&part.counts) {
            *c += n;
        }
        for (s, p) in self.probability_sums.iter_mut().zip(&part.probability_sums) {
            *s += p;
        }
    }

    /// Share of sentences predicted as each class (zeros for no sentences).
    pub fn shares(&self) -> Vec<f64> {
        self.counts
            .iter()
            .map(|&c| {
                if self.sentences > 0 {
                    c as f64 / self.sentences as f64
                } else {
                    0.0
                }
            })
            .collect()
    }

    /// Mean probability of each class over the sentences.
    pub fn mean_probabilities(&self) -> Vec<f64> {
        self.probability_sums
            .iter()
            .map(|&s| {
                if self.sentences > 0 {
                    s / self.sentences as f64
                } else {
                    0.0
                }
            })
            .collect()
    }
}

/// Writes the per-article summary CSV: `doc_id,sentences`, then for each
/// class `n_<class>`, `share_<class>` and `mean_p_<class>`, then `source`
/// (last, so the columns before keep their places).
pub fn write_summary(
    classes: &[String],
    summaries: &[DocSummary],
    out: &mut dyn Write,
) -> std::io::Result<()> {
    let mut w = csv::Writer::from_writer(out);
    let mut header = vec!["doc_id".to_string(), "sentences".to_string()];
    for c in classes {
        header.push(format!("n_{c}"));
        header.push(format!("share_{c}"));
        header.push(format!("mean_p_{c}"));
    }
    header.push("source".to_string());
    w.write_record(&header)?;
    for s in summaries {
        let mut row = vec![
            protect_cell(&s.doc_id).into_owned(),
            s.sentences.to_string(),
        ];
        let shares = s.shares();
        let means = s.mean_probabilities();
        for c in 0..classes.len() {
            row.push(s.counts[c].to_string());
            row.push(format!("{:.4}", shares[c]));
            row.push(format!("{:.4}", means[c]));
        }
        row.push(protect_cell(s.source.as_deref().unwrap_or("")).into_owned());
        w.write_record(&row)?;
    }
    w.flush()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signed_three_decimals_match_format() {
        let mut values = vec![
            0.0,
            -0.0,
            0.0004,
            0.0005,
            0.0015,
            0.0625,
            0.1234,
            0.9995,
            1.0,
            12.3456,
            // Around the last value with one whole digit.
            9.9994,
            9.9996,
            -9.99951,
            10.0,
            -0.25,
            -3.0005,
            1e14,
            1e16,
            f64::NAN,
            f64::INFINITY,
        ];
        // A deterministic spread of values over several magnitudes.
        let mut rng = crate::testutil::Rng(0x2545_f491_4f6c_dd1d);
        for _ in 0..20_000 {
            let unit = rng.unit();
            values.push((unit - 0.3) * [1.0, 10.0, 1000.0][rng.below(3)]);
        }
        for v in values {
            let mut got = String::new();
            push_signed3(&mut got, v);
            assert_eq!(got, format!("{v:+.3}"), "{v:e}");
        }
    }

    #[test]
    fn rounding_without_libm_matches_f64_round() {
        let mut values = vec![0.0, 0.5, 1.5, 2.5, 1e6, 999_999.5, 4_503_599_627_370_495.5];
        // The largest value below a half and the values around ties.
        values.push(0.5f64.next_down());
        for k in [0u64, 1, 2, 7, 123_456, 999_999, 1 << 40] {
            let tie = k as f64 + 0.5;
            values.extend([
                tie.next_down(),
                tie,
                tie.next_up(),
                k as f64,
                (k as f64).next_up(),
            ]);
        }
        let mut rng = crate::testutil::Rng(0x2545_f491_4f6c_dd1d);
        for _ in 0..100_000 {
            let unit = rng.unit();
            values.push(unit * [1.0, 1e6, 1e15][rng.below(3)]);
        }
        for v in values {
            assert_eq!(round_unsigned(v), v.round() as u64, "{v:e}");
        }
    }

    #[test]
    fn header_has_one_probability_per_class_and_a_review_column() {
        let h = header(&["a".into(), "b".into()]);
        assert_eq!(
            h.join(","),
            "doc_id,sentence_id,start,end,text,label,confidence,p_a,p_b,evidence,date,source,title,review"
        );
    }

    #[test]
    fn parts_add_up_to_the_article() {
        let mut a = DocSummary {
            doc_id: "a".into(),
            source: Some("a.txt".into()),
            sentences: 2,
            counts: vec![1, 1],
            probability_sums: vec![0.75, 1.25],
        };
        a.absorb(&DocSummary {
            doc_id: "a".into(),
            source: Some("a.txt".into()),
            sentences: 1,
            counts: vec![0, 1],
            probability_sums: vec![0.5, 0.5],
        });
        assert_eq!((a.sentences, a.counts), (3, vec![1, 2]));
        assert_eq!(a.probability_sums, [1.25, 1.75]);
    }

    #[test]
    fn fields_are_written_as_the_csv_crate_writes_them() {
        let fields: &[&[u8]] = &[
            b"",
            b"plain",
            b"a,b",
            b"say \"hi\"",
            b"\"",
            b"line\nbreak",
            b"cr\rlf",
            b"'=1+1",
            b"exactly8",
            b"seven,8",
            b"sixteen bytes!!,",
            b"\rbefore",
            b"after the eighth\"",
            "\u{fc}n\u{ef} \u{201c}q\u{201d}, 17 \u{2014} a field past sixteen bytes, \"quoted\""
                .as_bytes(),
        ];
        for field in fields {
            let mut ours = b"x,".to_vec();
            push_field(&mut ours, field);
            ours.push(b'\n');
            let mut theirs = csv::Writer::from_writer(Vec::new());
            theirs.write_record([&b"x"[..], field]).unwrap();
            let theirs = theirs.into_inner().unwrap();
            assert_eq!(ours, theirs, "{:?}", String::from_utf8_lossy(field));
        }
    }

    #[test]
    fn a_documents_rows_are_its_rows_written_one_by_one() {
        // `write_document` writes the fields every row shares once; each
        // row must still be what `write_row` writes for it alone, with the
        // shared fields guarded and quoted.
        let model =
            crate::model::Model::train(&crate::testutil::toy(), &Default::default(), None).unwrap();
        let mut scorer = Scorer::new(&model, crate::score::ScoreOptions::default());
        let mut doc = Document::from_sentences(
            "=doc, \"one\"",
            &["China and Russia signed a deal.", "NATO warned, again."],
        );
        doc.date = Some("2024-05-16".into());
        doc.source = Some("feeds/a,b.csv".into());
        doc.title = Some("-Ties \"deepen\"".into());
        let scored = scorer.score_document(&doc);
        let mut one_by_one = Vec::new();
        for s in &scored {
            scorer.write_row(&doc, s, &mut one_by_one);
        }
        let rows = scorer.write_document(&doc, &scored, Format::Csv);
        assert_eq!(
            String::from_utf8_lossy(&rows),
            String::from_utf8_lossy(&one_by_one)
        );
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .from_reader(&rows[..]);
        let records: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
        assert_eq!(records.len(), 2);
        for (i, r) in records.iter().enumerate() {
            let n = r.len();
            assert_eq!(n, header(model.classes()).len());
            assert_eq!(&r[0], "'=doc, \"one\"");
            assert_eq!(&r[1], (i + 1).to_string());
            assert_eq!(
                [&r[n - 4], &r[n - 3], &r[n - 2], &r[n - 1]],
                ["2024-05-16", "feeds/a,b.csv", "'-Ties \"deepen\"", ""]
            );
        }
    }

    #[test]
    fn fixed_point_formatting() {
        for (p, want) in [
            (0.0, "0.000000"),
            (1.0, "1.000000"),
            (0.5, "0.500000"),
            (0.1234567, "0.123457"),
            (0.0000004, "0.000000"),
            (0.0000006, "0.000001"),
            (0.9999996, "1.000000"),
            (0.012, "0.012000"),
        ] {
            let mut buf = Vec::new();
            push_fixed6(&mut buf, p);
            assert_eq!(String::from_utf8(buf).unwrap(), want, "{p}");
        }
        let mut buf = Vec::new();
        push_uint(&mut buf, 0);
        push_uint(&mut buf, 18446744073709551615);
        assert_eq!(buf, b"018446744073709551615");
        let powers = (0..20).flat_map(|e| {
            let p = 10u64.pow(e);
            [p - 1, p, p + 1]
        });
        for n in (0..20_000).chain(powers) {
            buf.clear();
            push_uint(&mut buf, n);
            assert_eq!(buf, n.to_string().as_bytes());
        }
        for k in 0..=1_000_000u32 {
            let p = k as f64 / 1e6;
            buf.clear();
            push_fixed6(&mut buf, p);
            assert_eq!(buf, format!("{p:.6}").as_bytes(), "{p}");
        }
    }
}
