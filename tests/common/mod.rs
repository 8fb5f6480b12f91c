//! Helpers shared by the end-to-end tests.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// The repository root (tests run from there).
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Runs the `stance` binary with `args` in the repository root.
pub fn stance(args: &[&str]) -> Output {
    stance_with_stdin(args, None)
}

/// Runs `stance` feeding `stdin` to it.
pub fn stance_with_stdin(args: &[&str], stdin: Option<&[u8]>) -> Output {
    run_with_stdin(&mut stance_command(args), stdin)
}

/// The `stance` binary with `args`, to run in the repository root.
pub fn stance_command(args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_stance"));
    command.args(args).current_dir(root());
    command
}

/// Runs `command` feeding `stdin` to it (none: an empty standard input),
/// and collects its output. A write cut short because the program stopped
/// reading (it refused the input part way) is left to the test's checks
/// of the output.
pub fn run_with_stdin(command: &mut Command, stdin: Option<&[u8]>) -> Output {
    use std::io::Write;
    let mut child = command
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("stance binary runs");
    if let Some(bytes) = stdin {
        let written = child.stdin.take().expect("stdin").write_all(bytes);
        if let Err(e) = written {
            assert_eq!(e.kind(), std::io::ErrorKind::BrokenPipe, "write stdin: {e}");
        }
    }
    child.wait_with_output().expect("stance finishes")
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// The seed article files, sorted.
pub fn seed_files() -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(root().join("seeds"))
        .expect("seeds/")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "txt"))
        .collect();
    v.sort();
    v
}

/// Runs `stance train` on the small fixture, writing `model`, with `extra`
/// options.
pub fn train_fixture(model: &Path, extra: &[&str]) -> Output {
    let mut args = vec![
        "train",
        "--labels",
        "tests/fixtures/small.csv",
        "--model",
        model.to_str().expect("utf-8 path"),
    ];
    args.extend_from_slice(extra);
    stance(&args)
}

/// Trains a model on the small fixture into `dir` (no model selection),
/// returning its path.
pub fn train_fixture_model(dir: &Path) -> PathBuf {
    let model = dir.join("fixture.json");
    let out = train_fixture(&model, &["--no-select"]);
    assert!(out.status.success(), "train failed: {}", stderr(&out));
    model
}

/// Parses CSV text into records (header first).
pub fn parse_csv(text: &str) -> Vec<Vec<String>> {
    csv::ReaderBuilder::new()
        .has_headers(false)
        .from_reader(text.as_bytes())
        .records()
        .map(|r| r.expect("valid CSV").iter().map(String::from).collect())
        .collect()
}

/// Makes a named pipe at `path` (with `mkfifo`, as a user would).
#[cfg(unix)]
pub fn make_fifo(path: &Path) {
    let status = Command::new("mkfifo").arg(path).status().unwrap();
    assert!(status.success(), "mkfifo {}", path.display());
}
