//! Memory stays bounded by the work in flight, not by the input: a large
//! sentence CSV, JSONL stream, one-line article file, named pipe and
//! standard input are scored while an allocator that counts bytes records
//! the peak. Reading any of them whole (as the sentence CSV, article files
//! and streams once were) would hold the whole input at once, several
//! times over.
//!
//! One test, run alone in its binary: the counter sees the whole process.

mod common;

use std::alloc::{GlobalAlloc, Layout, System};
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use stance::io::Input;
use stance::model::Model;
use stance::score::{score_inputs, ScoreOptions};

/// The system allocator, counting the bytes in use and their peak.
struct Counting;

static IN_USE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            let now = IN_USE.fetch_add(layout.size(), Ordering::Relaxed) + layout.size();
            PEAK.fetch_max(now, Ordering::Relaxed);
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) };
        IN_USE.fetch_sub(layout.size(), Ordering::Relaxed);
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// Input size of each case.
const INPUT_BYTES: usize = 16 << 20;
/// The most the scoring of one case may hold beyond what was allocated
/// before it started.
const BOUND: usize = 8 << 20;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The seed articles' lines, which cases repeat up to their size.
fn seed_lines() -> Vec<String> {
    let mut lines = Vec::new();
    for entry in std::fs::read_dir(root().join("seeds")).unwrap() {
        let text = std::fs::read_to_string(entry.unwrap().path()).unwrap();
        lines.extend(
            text.lines()
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .map(String::from),
        );
    }
    lines.sort();
    lines
}

/// Writes `INPUT_BYTES` or more of `line(i)` for i = 0, 1, … to `path`.
fn write_until_full(path: &Path, header: &str, line: impl Fn(usize) -> String) {
    let mut w = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    w.write_all(header.as_bytes()).unwrap();
    let (mut bytes, mut i) = (0, 0);
    while bytes < INPUT_BYTES {
        let l = line(i);
        bytes += l.len();
        w.write_all(l.as_bytes()).unwrap();
        i += 1;
    }
    w.flush().unwrap();
}

/// Peak bytes held while `input` is scored, beyond those held before.
fn peak_while_scoring(model: &Model, input: Input) -> usize {
    let options = ScoreOptions {
        threads: 2,
        window: 4,
        ..ScoreOptions::default()
    };
    let before = IN_USE.load(Ordering::Relaxed);
    PEAK.store(before, Ordering::Relaxed);
    let summary = score_inputs(model, &[input], std::io::sink(), options, |_| {}).unwrap();
    assert!(summary.sentences > 10_000, "{summary:?}");
    PEAK.load(Ordering::Relaxed) - before
}

#[test]
fn large_inputs_score_in_bounded_memory() {
    let model = Model::load(&root().join("models/stance.json")).unwrap();
    let lines = seed_lines();
    let dir = tempfile::tempdir().unwrap();

    // A sentence CSV of many short articles.
    let csv_path = dir.path().join("sentences.csv");
    write_until_full(&csv_path, "doc_id,text\n", |i| {
        let text = lines[i % lines.len()].replace('"', "\"\"");
        format!("a{},\"{text}\"\n", i / 20)
    });
    // A JSONL stream, one article per record.
    let jsonl_path = dir.path().join("articles.jsonl");
    write_until_full(&jsonl_path, "", |i| {
        let text = lines[i * 7 % lines.len()..].join(" ");
        format!("{}\n", serde_json::json!({"doc_id": i, "text": text}))
    });
    // One article on a single line.
    let text_path = dir.path().join("one-line.txt");
    write_until_full(&text_path, "", |i| format!("{} ", lines[i % lines.len()]));

    let cases = [
        ("sentence CSV", Input::Csv(csv_path)),
        ("JSONL", Input::Jsonl(jsonl_path)),
        (
            "one-line article file",
            Input::Article {
                path: text_path,
                doc_id: "one-line".into(),
            },
        ),
    ];
    for (name, input) in cases {
        let peak = peak_while_scoring(&model, input);
        assert_bounded(name, peak);
    }

    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    streams(&model, &lines, dir.path());
}

/// Streams: a named pipe given as an article, and standard input, each fed
/// an article of many lines by a thread of this test.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn streams(model: &Model, lines: &[String], dir: &Path) {
    let article: Vec<u8> = {
        let mut text = String::new();
        let mut i = 0;
        while text.len() < INPUT_BYTES {
            text.push_str(&lines[i % lines.len()]);
            text.push_str(if i % 5 == 4 { "\n\n" } else { " " });
            i += 1;
        }
        text.into_bytes()
    };
    let fifo = dir.join("feed.txt");
    common::make_fifo(&fifo);
    let writer = {
        let (fifo, article) = (fifo.clone(), article.clone());
        std::thread::spawn(move || std::fs::write(fifo, article).unwrap())
    };
    let input = Input::Article {
        path: fifo,
        doc_id: "feed".into(),
    };
    assert_bounded("named pipe", peak_while_scoring(model, input));
    writer.join().unwrap();

    let mut fds = [0; 2];
    // SAFETY: `fds` has room for the two descriptors; fd 0 is this
    // process's standard input, which no other test in this binary reads.
    unsafe {
        assert_eq!(libc::pipe(fds.as_mut_ptr()), 0);
        assert_eq!(libc::dup2(fds[0], 0), 0);
        libc::close(fds[0]);
    }
    // SAFETY: the write end, owned from here on and closed when dropped.
    let mut pipe = unsafe { <std::fs::File as std::os::fd::FromRawFd>::from_raw_fd(fds[1]) };
    let writer = std::thread::spawn(move || pipe.write_all(&article).unwrap());
    assert_bounded("standard input", peak_while_scoring(model, Input::Stdin));
    writer.join().unwrap();
}

fn assert_bounded(name: &str, peak: usize) {
    assert!(
        peak < BOUND,
        "{name}: {} MiB held at once for a {} MiB input",
        peak >> 20,
        INPUT_BYTES >> 20
    );
}
