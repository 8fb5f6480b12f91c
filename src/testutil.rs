//! Fixtures shared by the unit tests of several modules.

use crate::labels::{Classes, LabelSet, LabeledRow};

/// A label set of `(doc_id, text, class index)` rows over `classes`.
pub(crate) fn label_set(classes: &[&str], rows: &[(&str, &str, usize)]) -> LabelSet {
    LabelSet {
        classes: Classes::new(classes.iter().map(|c| c.to_string()).collect()).unwrap(),
        rows: rows
            .iter()
            .enumerate()
            .map(|(i, (d, t, l))| LabeledRow {
                doc_id: d.to_string(),
                text: t.to_string(),
                label: *l,
                path: "fixture.csv".into(),
                line: i as u64 + 2,
            })
            .collect(),
        duplicates: 0,
    }
}

/// Nine sentences of three made-up articles in three classes.
pub(crate) fn toy() -> LabelSet {
    label_set(
        &["pos", "neg", "neutral"],
        &[
            ("d1", "ties warm and cooperation deepens", 0),
            ("d1", "trust falls and rivalry grows", 1),
            ("d1", "the weather is mild", 2),
            ("d2", "cooperation and warm ties again", 0),
            ("d2", "rivalry and distrust persist", 1),
            ("d2", "a byline and a caption", 2),
            ("d3", "warm cooperation on energy", 0),
            ("d3", "distrust and rivalry on borders", 1),
            ("d3", "caption of a photo", 2),
        ],
    )
}

/// A deterministic stream of pseudo-random numbers (xorshift64) for tests
/// that sweep many generated cases.
pub(crate) struct Rng(pub(crate) u64);

impl Rng {
    /// The next 64 random bits.
    pub(crate) fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    /// A number in `0..n`.
    pub(crate) fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    /// One of `items`.
    pub(crate) fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }

    /// A number in `0.0..1.0`, from 53 random bits.
    pub(crate) fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// Makes a named pipe at `path` (with `mkfifo`, as a user would).
#[cfg(unix)]
pub(crate) fn make_fifo(path: &std::path::Path) {
    let status = std::process::Command::new("mkfifo")
        .arg(path)
        .status()
        .unwrap();
    assert!(status.success(), "mkfifo {}", path.display());
}

/// A CSV without a header whose records start with the line they start
/// on, as an editor numbers lines: blank lines before and between them,
/// LF or CRLF line ends, quoted cells over several lines, a byte-order
/// mark or not; the last record ends with a line end or not.
pub(crate) fn csv_numbered_by_line(rng: &mut Rng) -> Vec<u8> {
    let (mut out, mut line) = (Vec::new(), 1);
    if rng.below(4) == 0 {
        out.extend_from_slice(b"\xEF\xBB\xBF");
    }
    for _ in 0..rng.below(8) {
        let ends: [&[u8]; 2] = [b"\n", b"\r\n"];
        let end = *rng.pick(&ends);
        for _ in 0..rng.below(4) {
            out.extend_from_slice(end);
            line += 1;
        }
        let cells: [&[u8]; 6] = [
            b"a b",
            b"\"a, b\"",
            b"\"said \"\"no\"\"\"",
            b"\"two\nlines\"",
            b"\"three\r\nlines\n\"",
            b"",
        ];
        let cell = *rng.pick(&cells);
        out.extend_from_slice(format!("{line},").as_bytes());
        out.extend_from_slice(cell);
        line += cell.iter().filter(|&&b| b == b'\n').count();
        out.extend_from_slice(end);
        line += 1;
    }
    if out.ends_with(b"\n") && rng.below(3) == 0 {
        while out.last().is_some_and(|b| matches!(b, b'\n' | b'\r')) {
            out.pop();
        }
    }
    out
}
