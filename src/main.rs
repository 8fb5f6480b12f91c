//! The `stance` command line: parses arguments, calls the library, maps
//! errors to exit codes (0 success, 1 some inputs skipped, 2 error).

use std::io::{IsTerminal, Write as _};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{bail, Context};
use clap::{ArgAction, Args, Parser, Subcommand, ValueEnum};
use stance::features::DfBound;
use stance::io::{
    atomic_write, check_not_inputs, check_writable_target, discover, write_output, Discovery, Input,
};
use stance::labels::{expand_paths, read_labels, Classes};
use stance::lexicon::Lexicon;
use stance::model::{Model, TrainConfig};
use stance::report::{model_card, Article, Batch};
use stance::score::{
    score_inputs_keeping, write_workbook, Event, ExcelCsv, ReadAhead, ScoreOptions, Summary,
};
use stance::select::{evaluate, Folds};

/// `eprintln!`, but the line goes out in one write: `eprintln!` writes
/// each piece of its format to the unbuffered stderr on its own (eleven
/// writes for the summary after scoring), so lines of runs that share a
/// terminal or a log could interleave mid-line. A write that fails (a
/// closed stderr) is let go, where `eprintln!` would panic.
macro_rules! say {
    ($($arg:tt)*) => {{
        let mut line = format!($($arg)*);
        line.push('\n');
        let _ = std::io::stderr().lock().write_all(line.as_bytes());
    }};
}

#[derive(Parser)]
#[command(
    name = "stance",
    version = VERSION,
    about = "Tag each sentence of China–Russia coverage as convergence, divergence, western_pressure or other"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Train a model from labelled CSV, cross-validate it, write model and model card.
    Train(TrainArgs),
    /// Score articles: one CSV row per sentence with label, probabilities and evidence.
    Score(ScoreArgs),
    /// Evaluate a model on held-out labelled CSV files.
    Eval(EvalArgs),
    /// Turn reviewed predictions into label rows.
    #[command(subcommand)]
    Review(ReviewCommand),
    /// List the sentences the model is least sure about, ready for review.
    Suggest(SuggestArgs),
    /// Rebuild the HTML report and the article chart from a predictions
    /// file without rescoring, or redraw a model's confusion matrix.
    Report(ReportArgs),
    /// Show which model is loaded: classes, training data, settings,
    /// cross-validated quality and where its model card is.
    Info(InfoArgs),
}

/// The build's version and the model-file format it reads and writes
/// (`tests/score_cli.rs` checks the number against `FORMAT_VERSION`).
const VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (model file format stance-model v1)"
);

#[derive(Args)]
struct InfoArgs {
    /// Model file.
    #[arg(long, default_value = "models/stance.json")]
    model: PathBuf,
}

#[derive(Args)]
struct ReportArgs {
    /// Predictions written by `stance score`: CSV, an xlsx workbook when the
    /// name ends in `.xlsx`, or JSON lines when it ends in `.jsonl`.
    /// Optional `date` and `source` columns (fields) are shown, and dates
    /// give the trend.
    predictions: Option<PathBuf>,
    /// Where to write the HTML report [default: the predictions path with
    /// `.html`, unless only --chart or --confusion is asked for].
    #[arg(long)]
    report: Option<PathBuf>,
    /// Also draw the per-article chart (SVG).
    #[arg(long)]
    chart: Option<PathBuf>,
    /// Heading of the HTML report.
    #[arg(long, default_value = DEFAULT_TITLE)]
    title: String,
    /// Model file whose stored cross-validation --confusion draws.
    #[arg(long, requires = "confusion")]
    model: Option<PathBuf>,
    /// Draw the model's cross-validated confusion matrix (SVG) here.
    #[arg(long, requires = "model")]
    confusion: Option<PathBuf>,
}

const DEFAULT_TITLE: &str = "China–Russia coverage, sentence by sentence";

#[derive(Subcommand)]
enum ReviewCommand {
    /// Add every predictions row with a filled `review` cell to a label file.
    Apply(ApplyArgs),
}

#[derive(Args)]
struct ApplyArgs {
    /// Predictions written by `stance score` or `stance suggest` (CSV, or
    /// an xlsx workbook by its `.xlsx` name), with corrected labels typed
    /// into its `review` column.
    predictions: Option<PathBuf>,
    /// Label file that receives the new rows (created if absent).
    #[arg(long, default_value = "labels/reviewed.csv")]
    labels_out: PathBuf,
    /// Existing label files or folders to check the reviews against
    /// (`--labels A B` or `--labels A --labels B`).
    #[arg(long, default_value = "labels", num_args = 1.., action = ArgAction::Append)]
    labels: Vec<PathBuf>,
    /// Class declaration: one class name per line.
    #[arg(long, default_value = "labels/classes.txt")]
    classes: PathBuf,
    /// Replace an existing label that a review contradicts (in its file).
    #[arg(long)]
    overwrite: bool,
}

#[derive(Args)]
struct SuggestArgs {
    /// Model file.
    #[arg(long, default_value = "models/stance.json")]
    model: PathBuf,
    /// How many sentences to list.
    #[arg(short, long, default_value_t = 50)]
    n: usize,
    /// Label files or folders whose sentences are skipped (already
    /// labelled): `--labels A B` or `--labels A --labels B`.
    #[arg(long, default_value = "labels", num_args = 1.., action = ArgAction::Append)]
    labels: Vec<PathBuf>,
    /// Output file, or `-` for standard output.
    #[arg(long, short, default_value = "-")]
    out: PathBuf,
    /// `csv` or `xlsx` (a review workbook; not on standard output)
    /// [default: from the --out name: `.xlsx` → xlsx, else csv].
    #[arg(long, value_enum)]
    format: Option<OutputFormat>,
    /// CSV for Excel: a UTF-8 byte-order mark and CRLF line ends.
    #[arg(long)]
    excel: bool,
    #[command(flatten)]
    scan: ScanArgs,
    /// Inputs, as for `stance score`.
    inputs: Vec<PathBuf>,
}

#[derive(Args)]
struct ScanArgs {
    /// Extensions a folder is searched for, comma-separated (`.txt` plain
    /// text, `.md` Markdown, `.html`/`.htm` web pages); other files in it
    /// are listed as skipped at the end. Files named directly are always read.
    #[arg(long, value_delimiter = ',', default_value = "txt,md,html,htm")]
    ext: Vec<String>,
}

impl ScanArgs {
    /// The extensions, lowercase, without a leading dot.
    fn extensions(&self) -> Vec<String> {
        self.ext
            .iter()
            .map(|e| e.trim().trim_start_matches('.').to_ascii_lowercase())
            .filter(|e| !e.is_empty())
            .collect()
    }
}

#[derive(Args)]
struct TrainArgs {
    /// Label CSV files or folders of them (`doc_id,text,label`):
    /// `--labels A B` or `--labels A --labels B`.
    #[arg(long, num_args = 1.., action = ArgAction::Append, default_value = "labels")]
    labels: Vec<PathBuf>,
    /// Class declaration: one class name per line.
    #[arg(long, default_value = "labels/classes.txt")]
    classes: PathBuf,
    /// Where to write the model.
    #[arg(long, default_value = "models/stance.json")]
    model: PathBuf,
    /// Where to write the model card [default: the model path with `.md`].
    #[arg(long)]
    card: Option<PathBuf>,
    /// Cross-validation folds, grouped by article (no article on both
    /// sides); 0 = leave one article out.
    #[arg(long, default_value_t = 10)]
    folds: usize,
    /// Train without the off-topic gate (by default, an article that names
    /// no CHINA or RUSSIA actor gets `other` for every sentence).
    #[arg(long)]
    no_gate: bool,
    /// CSV files of off-topic news, one whole article per row in a `text`
    /// column (never training data): the model card reports the share of
    /// their sentences that get a stance label. `--offtopic A B` or
    /// `--offtopic A --offtopic B`.
    #[arg(long, num_args = 1.., action = ArgAction::Append)]
    offtopic: Vec<PathBuf>,
    /// Skip cross-validation.
    #[arg(long)]
    no_cv: bool,
    /// L2 regularisation strength (1/C).
    #[arg(long)]
    alpha: Option<f64>,
    /// Minimum number of sentences a term must occur in.
    #[arg(long)]
    min_df: Option<usize>,
    /// Largest n-gram length (1 = unigrams only).
    #[arg(long)]
    ngram_max: Option<usize>,
    /// Cap on the vocabulary size.
    #[arg(long)]
    max_features: Option<usize>,
    /// Do not balance classes by replicating minority rows.
    #[arg(long)]
    no_balance: bool,
    /// Actor lists (see the file for its format).
    #[arg(long, default_value = "labels/actors.txt")]
    actors: PathBuf,
    /// Cue lists (same format).
    #[arg(long, default_value = "labels/cues.txt")]
    cues: PathBuf,
    /// Switch off actor normalization.
    #[arg(long)]
    no_actors: bool,
    /// Switch off cue features.
    #[arg(long)]
    no_cues: bool,
    /// Add lead-actor terms (without model selection; with it, they are
    /// kept only if cross-validation says they help).
    #[arg(long)]
    roles: bool,
    /// Mark negation scopes (without model selection; with it, negation is
    /// kept only if cross-validation says it helps).
    #[arg(long)]
    negation: bool,
    /// Skip model selection: train with the defaults and the settings given.
    /// Giving --alpha, --min-df, --ngram-max, --max-features, --no-balance or
    /// --no-cv implies it.
    #[arg(long)]
    no_select: bool,
    /// Grid for model selection: `standard` (24 points), `full` (48: also
    /// sublinear tf off) or `quick` (4 points).
    #[arg(long, default_value = "standard", value_parser = ["standard", "full", "quick"])]
    grid: String,
}

#[derive(Args)]
struct ScoreArgs {
    /// Model file.
    #[arg(long, default_value = "models/stance.json")]
    model: PathBuf,
    /// Output file, or `-` for standard output.
    #[arg(long, short, default_value = "-")]
    out: PathBuf,
    /// Scoring threads, the one that writes among them [default: all cores].
    #[arg(long)]
    threads: Option<usize>,
    /// Evidence terms per row.
    #[arg(long, default_value_t = 3)]
    evidence: usize,
    /// Also write one row per article: sentences, count and share of each
    /// label, mean probability of each class.
    #[arg(long)]
    summary: Option<PathBuf>,
    /// Also draw a stacked bar per article (share of each label) as SVG.
    #[arg(long)]
    chart: Option<PathBuf>,
    /// Also write the HTML report: every article as text with its
    /// sentences coloured by label, an overview and, when the inputs carry
    /// dates (a `date` column or field), the trend per week or month.
    #[arg(long)]
    report: Option<PathBuf>,
    /// Heading of the HTML report.
    #[arg(long, default_value = DEFAULT_TITLE)]
    title: String,
    /// `text`: inputs are article files, folders or CSVs (see INPUT);
    /// `jsonl`: each input (a file or `-`) holds one `{"doc_id", "text"}`
    /// object per line, streamed in batches of records scored on every core,
    /// each record's rows written in input order as soon as they are ready.
    #[arg(long, default_value = "text", value_parser = ["text", "jsonl"])]
    input_format: String,
    /// `csv`, `jsonl` (one JSON object per sentence, the CSV's fields) or
    /// `xlsx` (a review workbook; not on standard output) [default: from
    /// the --out name: `.xlsx` → xlsx, `.jsonl` → jsonl, else csv].
    #[arg(long, value_enum)]
    format: Option<OutputFormat>,
    /// CSV for Excel: a UTF-8 byte-order mark and CRLF line ends, for the
    /// predictions and the --summary.
    #[arg(long)]
    excel: bool,
    #[command(flatten)]
    scan: ScanArgs,
    /// Article files (`.txt`, `.md`, `.html`/`.htm`), folders (searched
    /// recursively, see --ext), `.csv` files with a `text` column (and
    /// optional `doc_id`, `date`, `source`, `title`), or `-` for standard
    /// input.
    #[arg(required = true)]
    inputs: Vec<PathBuf>,
}

#[derive(Args)]
struct EvalArgs {
    /// Model file.
    #[arg(long, default_value = "models/stance.json")]
    model: PathBuf,
    /// `text` (a table) or `json`.
    #[arg(long, value_enum, default_value = "text")]
    format: EvalFormat,
    /// Deprecated spelling of `--format json`.
    #[arg(long, hide = true, conflicts_with = "format")]
    json: bool,
    /// Labelled CSV files (`doc_id,text,label`) or folders of them.
    #[arg(required = true)]
    files: Vec<PathBuf>,
}

/// What predictions are written as.
#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum OutputFormat {
    Csv,
    Jsonl,
    Xlsx,
}

impl OutputFormat {
    /// The format asked for, else the one `out`'s extension names
    /// (`.xlsx`, `.jsonl`), else CSV. An xlsx workbook needs a file, and
    /// `--excel` CSV.
    fn choose(given: Option<Self>, out: &Path, excel: bool) -> anyhow::Result<Self> {
        let named = out
            .extension()
            .map(|e| e.to_string_lossy().to_ascii_lowercase());
        let format = given.unwrap_or(match named.as_deref() {
            Some("xlsx") => OutputFormat::Xlsx,
            Some("jsonl") => OutputFormat::Jsonl,
            _ => OutputFormat::Csv,
        });
        if format == OutputFormat::Xlsx && out.as_os_str() == "-" {
            return Err(stance::error::Error::WorkbookToStdout.into());
        }
        if excel && format != OutputFormat::Csv {
            bail!(
                "--excel applies to CSV output only (the output is {})",
                format.name()
            );
        }
        Ok(format)
    }

    fn name(self) -> &'static str {
        match self {
            OutputFormat::Csv => "csv",
            OutputFormat::Jsonl => "jsonl",
            OutputFormat::Xlsx => "xlsx",
        }
    }

    /// The rows the library writes for this format (a workbook is made
    /// from the CSV).
    fn rows(self) -> stance::score::Format {
        match self {
            OutputFormat::Jsonl => stance::score::Format::Jsonl,
            OutputFormat::Csv | OutputFormat::Xlsx => stance::score::Format::Csv,
        }
    }
}

/// How `eval` prints the metrics.
#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum EvalFormat {
    Text,
    Json,
}

/// Writes predictions to `out` (`-`: standard output) in `format`:
/// `produce` writes the rows (CSV or JSON lines, see
/// [`OutputFormat::rows`]), which become a workbook for xlsx, with the
/// rows shaded in the report's colours, or CSV for Excel with `excel`.
fn write_predictions<T>(
    out: &Path,
    format: OutputFormat,
    excel: bool,
    classes: &[String],
    produce: impl FnOnce(&mut dyn std::io::Write) -> stance::error::Result<T>,
) -> stance::error::Result<T> {
    match format {
        OutputFormat::Xlsx => {
            let n = classes.len();
            let shades: Vec<String> = (0..n)
                .map(|i| stance::report::chart::class_tint_hex(i, n))
                .collect();
            write_workbook(out, classes, &shades, produce)
        }
        _ if excel => write_output(out, |w| produce(&mut ExcelCsv::new(w))),
        _ => write_output(out, produce),
    }
}

/// The error for a command whose positional arguments are missing: a
/// list option given before them (`--labels A B`) took them as its values.
fn missing_positional(what: &str, list_options: &str) -> anyhow::Error {
    anyhow::anyhow!(
        "no {what} given ({list_options} takes every value up to the next option: put the {what} before it, or end its list with `--`)"
    )
}

/// Large buffers freed by one article are reused by the next (see
/// [`stance::memory`]).
#[global_allocator]
static ALLOCATOR: stance::memory::Recycling = stance::memory::Recycling;

fn main() -> ExitCode {
    let cli = Cli::parse();
    on_interrupt_remove_temp_files();
    match run(cli) {
        Ok(code) => code,
        Err(err) => {
            if is_broken_pipe(&err) {
                return ExitCode::SUCCESS;
            }
            say!("stance: error: {}", message(&err));
            ExitCode::from(2)
        }
    }
}

/// Ctrl-C, SIGTERM or SIGHUP: removes the temporary files of the outputs
/// being written, then ends the process by that signal, as if it had not
/// been caught: a shell sees 130 or 143, a supervisor the signal itself.
/// Without the handler (it cannot be installed) the next run removes the
/// files instead.
#[cfg(unix)]
fn on_interrupt_remove_temp_files() {
    use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
    let Ok(mut signals) = signal_hook::iterator::Signals::new([SIGINT, SIGTERM, SIGHUP]) else {
        return;
    };
    let _ = std::thread::Builder::new()
        .name("stance-signals".into())
        .spawn(move || {
            if let Some(signal) = signals.forever().next() {
                // Held until the process ends: no new temporary file.
                let _held = stance::io::remove_temp_files();
                let _ = signal_hook::low_level::emulate_default_handler(signal);
                std::process::exit(128 + signal);
            }
        });
}

/// Ctrl-C: removes the temporary files of the outputs being written, then
/// ends with exit code 130.
#[cfg(not(unix))]
fn on_interrupt_remove_temp_files() {
    let _ = ctrlc::set_handler(|| {
        let _held = stance::io::remove_temp_files();
        std::process::exit(130);
    });
}

/// The error and its causes, each cause added only when the text so far
/// does not already say it (library errors name their cause themselves).
fn message(err: &anyhow::Error) -> String {
    let mut text = String::new();
    for cause in err.chain() {
        let part = cause.to_string();
        if !text.contains(&part) {
            if !text.is_empty() {
                text.push_str(": ");
            }
            text.push_str(&part);
        }
    }
    text
}

/// glibc raises its mmap threshold each time a large block is freed, after
/// which large per-article buffers come from the heaps of the worker threads
/// and are kept there: the peak memory of a long two-thread scoring run then
/// grows with the input (22 MiB after 20 copies of the news corpus, against
/// 14 MiB for one). A fixed threshold keeps large buffers in mmap and memory
/// flat (17 MiB); it is [`stance::memory::LARGE`], the size from which the
/// CLI's allocator keeps freed blocks for reuse (see there for why 512
/// KiB). Only scoring does this: training allocates large dense matrices
/// over and over, and mapping each afresh would cost more than it saves.
///
/// Fixing the mmap threshold also fixes the trim threshold at glibc's
/// default of 128 KiB: each time a heap had more than that free at its
/// top, glibc gave it back (a worker thread's heap by `madvise`, which
/// interrupts the other core to flush its TLB) and the next batch faulted
/// the same pages in again. [`TRIM_THRESHOLD`] lets a heap keep that much free at its top;
/// it bounds what a heap keeps, so peak memory does not move.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn pin_mmap_threshold() {
    // SAFETY: mallopt only changes allocator settings; it is called once,
    // at the start of a command, before any other thread exists.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, stance::memory::LARGE as libc::c_int);
        libc::mallopt(libc::M_TRIM_THRESHOLD, TRIM_THRESHOLD);
    }
}

/// Free bytes a heap keeps at its top before glibc gives them back.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
const TRIM_THRESHOLD: libc::c_int = 4 << 20;

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn pin_mmap_threshold() {}

fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|e| {
        e.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
            || matches!(e.downcast_ref::<stance::error::Error>(),
                Some(stance::error::Error::Io { source, .. }) if source.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Train(args) => train(args),
        Command::Score(args) => score(args),
        Command::Eval(args) => eval(args),
        Command::Review(ReviewCommand::Apply(args)) => review_apply(args),
        Command::Suggest(args) => suggest(args),
        Command::Report(args) => report(args),
        Command::Info(args) => {
            let model = Model::load(&args.model)?;
            let card = args.model.with_extension("md");
            let text = stance::report::model_summary(&model, &args.model, &card);
            std::io::stdout().lock().write_all(text.as_bytes())?;
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn train(args: TrainArgs) -> anyhow::Result<ExitCode> {
    let mut config = TrainConfig::default();
    let explicit = args.alpha.is_some()
        || args.min_df.is_some()
        || args.ngram_max.is_some()
        || args.max_features.is_some()
        || args.no_balance;
    if let Some(a) = args.alpha {
        config.alpha = a;
    }
    if let Some(m) = args.min_df {
        config.featurizer.min_df = DfBound::Count(m);
    }
    if let Some(n) = args.ngram_max {
        config.featurizer.ngram_range = (1, n);
    }
    if args.max_features.is_some() {
        config.featurizer.max_features = args.max_features;
    }
    config.balance = !args.no_balance;
    config.featurizer.actors = !args.no_actors;
    config.featurizer.cues = !args.no_cues;
    config.featurizer.negation = args.negation;
    config.featurizer.roles = args.roles && config.featurizer.actors;
    if !args.no_gate && config.featurizer.actors {
        config.offtopic_gate = Some(stance::model::OffTopicGate::default());
    }
    config.featurizer.lexicon = Lexicon::load(
        config.featurizer.actors.then_some(args.actors.as_path()),
        config.featurizer.cues.then_some(args.cues.as_path()),
    )
    .context("reading the lexicon (pass --no-actors or --no-cues to train without it)")?;
    config.validate()?;
    let card_path = args
        .card
        .clone()
        .unwrap_or_else(|| args.model.with_extension("md"));
    let confusion_path = card_path.with_extension("confusion.svg");
    for target in [&args.model, &card_path, &confusion_path] {
        check_writable_target(target)?;
    }

    let classes = Classes::load(&args.classes)?;
    let files = expand_paths(&args.labels)?;
    if files.is_empty() {
        bail!(
            "no label files found in {} (expected *.csv with doc_id,text,label)",
            args.labels
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    let read: Vec<&Path> = files
        .iter()
        .chain(&args.offtopic)
        .chain([&args.classes, &args.actors, &args.cues])
        .map(PathBuf::as_path)
        .collect();
    check_not_inputs(
        &[&args.model, &card_path, &confusion_path],
        read.iter().copied(),
    )?;
    let labels = read_labels(&files, &classes)?;
    say!(
        "read {} labelled sentences from {} articles in {} file(s)",
        labels.rows.len(),
        labels.doc_ids().len(),
        files.len()
    );
    let folds = if args.folds == 0 {
        Folds::LeaveOneArticleOut
    } else {
        Folds::Grouped(args.folds)
    };
    let offtopic_corpora = args
        .offtopic
        .iter()
        .map(|p| Ok((p, stance::score::load_article_csv(p)?)))
        .collect::<stance::error::Result<Vec<_>>>()?;
    let grid = match args.grid.as_str() {
        "quick" => stance::select::quick_grid(),
        "full" => stance::select::full_grid(),
        _ => stance::select::default_grid(),
    };
    let plan = stance::select::TrainPlan {
        grid: (!(args.no_select || explicit)).then_some(grid.as_slice()),
        folds,
        cross_validate: !args.no_cv,
    };
    if !args.no_cv && !plan.cross_validates(&labels) {
        say!("note: one article only: cross-validation and model selection need two or more, so the defaults are trained without them");
    }
    let bar = plan.selection_grid(&labels).and_then(|grid| {
        let evaluations = stance::select::ablation_evaluations(grid.len(), &config);
        say!(
            "selecting settings: {} grid points with and without the lexicon stages, then the ablation ({evaluations} cross-validations)",
            grid.len()
        );
        progress_bar(evaluations)
    });
    let tick = || {
        if let Some(b) = &bar {
            b.inc(1);
        }
    };
    let mut model = stance::select::train_model(&labels, &config, &plan, &tick)?;
    if let Some(b) = &bar {
        b.finish_and_clear();
    }
    // What the terminal shows, printed after the model is saved.
    let mut report = String::new();
    let training = model.training();
    if !training.ablation.is_empty() {
        report += &stance::report::ablation_text(&training.ablation, model.classes());
    }
    for s in training.selection.iter().flat_map(|s| &s.skipped) {
        say!(
            "note: grid point skipped ({}): {}",
            s.point.describe(),
            s.why
        );
    }
    if let Some(cv) = &training.cross_validation {
        report += &format!(
            "\ncross-validation: {} ({} folds)\n\n{}",
            cv.scheme,
            cv.folds,
            cv.metrics.to_text()
        );
    }
    let shares = offtopic_corpora
        .iter()
        .map(|(path, articles)| {
            let name = path.file_name().map_or_else(
                || path.display().to_string(),
                |n| n.to_string_lossy().into_owned(),
            );
            stance::score::measure_off_topic(&model, &name, articles)
        })
        .collect::<Vec<_>>();
    for s in &shares {
        report += &stance::report::offtopic_text(s);
    }
    model = model.with_offtopic(shares);
    model.save(&args.model)?;
    let confusion_name = match &model.training().cross_validation {
        Some(cv) => {
            let svg = stance::report::chart::confusion_chart(&cv.metrics)?;
            atomic_write(&confusion_path, |w| w.write_all(svg.as_bytes()))?;
            confusion_path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
        }
        None => None,
    };
    let card = model_card(
        &model,
        &args.model.display().to_string(),
        confusion_name.as_deref(),
    );
    atomic_write(&card_path, |w| w.write_all(card.as_bytes()))?;
    say!(
        "wrote {} ({} terms) and {}",
        args.model.display(),
        model.featurizer().n_features(),
        card_path.display()
    );
    // Saved before printing: a closed pipe (`| head`) loses nothing.
    std::io::stdout().lock().write_all(report.as_bytes())?;
    Ok(ExitCode::SUCCESS)
}

fn score(args: ScoreArgs) -> anyhow::Result<ExitCode> {
    pin_mmap_threshold();
    let format = OutputFormat::choose(args.format, &args.out, args.excel)?;
    let to_stdout = args.out.as_os_str() == "-";
    let outputs: Vec<&Path> = std::iter::once(args.out.as_path())
        .filter(|_| !to_stdout)
        .chain(args.summary.as_deref())
        .chain(args.chart.as_deref())
        .chain(args.report.as_deref())
        .collect();
    for target in &outputs {
        check_writable_target(target)?;
    }
    let jsonl = args.input_format == "jsonl";
    let options = ScoreOptions {
        evidence: args.evidence,
        threads: args.threads.unwrap_or(0),
        format: format.rows(),
        summaries: args.summary.is_some() || args.chart.is_some(),
        ..ScoreOptions::default()
    };
    // While the model loads, the first inputs are read and cut into jobs.
    let ((found, ahead), model) = beside_model_load(&args.model, |loaded| {
        let found = if jsonl {
            Discovery {
                inputs: args.inputs.iter().cloned().map(Input::Jsonl).collect(),
                ..Discovery::default()
            }
        } else {
            discover(&args.inputs, &args.scan.extensions())
        };
        check_not_inputs(
            &outputs,
            args.inputs
                .iter()
                .map(PathBuf::as_path)
                .chain(found.inputs.iter().filter_map(|i| i.path())),
        )?;
        let mut ahead = ReadAhead::new(&found.inputs, options);
        ahead.read(&found.inputs, loaded);
        Ok((found, ahead))
    })?;
    let inputs = &found.inputs;
    let progress = progress_bar(inputs.len());
    let on_event = |event: Event<'_>| report_event(progress.as_ref(), event);
    let keep = args.report.is_some();
    let (summary, articles) =
        write_predictions(&args.out, format, args.excel, model.classes(), |w| {
            score_inputs_keeping(ahead, &model, inputs, w, on_event, |input, doc, scored| {
                keep.then(|| Article::from_scored(input, doc, scored))
            })
        })?;
    if let Some(bar) = &progress {
        bar.finish_and_clear();
    }
    report_threads(&summary);
    write_article_reports(&args, &model, &summary.articles)?;
    write_html_report(&args, &model, articles.into_iter().flatten().collect())?;
    let nothing = report_discovery(&found, &args.scan);
    let skipped = summary.skipped + found.skipped.len();
    let (documents, skipped_note) = if jsonl {
        let n = skipped + summary.records_skipped;
        ("records", skipped_note(n, "record(s) or input(s)"))
    } else {
        ("documents", skipped_note(skipped, "input(s)"))
    };
    let unclosed_note = match summary.unclosed {
        0 => String::new(),
        n => format!("; {n} sentence CSV(s) end inside a quoted cell (see the warnings)"),
    };
    say!(
        "scored {} sentences in {} {documents} from {} inputs{skipped_note}{unclosed_note}{}",
        summary.sentences,
        summary.documents,
        summary.inputs,
        if to_stdout {
            String::new()
        } else {
            format!("; wrote {}", args.out.display())
        }
    );
    // The process ends next: freeing the model's 13,000 allocations one by
    // one (mostly its vocabulary and display forms) would only delay the
    // exit, by 0.6% of the instructions of scoring the news corpus.
    std::mem::forget(model);
    Ok(partial_exit(
        skipped + summary.records_skipped + summary.unclosed > 0 || nothing,
    ))
}

/// Warns when a run scored with fewer threads than asked for (see
/// [`Summary::fewer_threads`]); its rows are complete all the same.
fn report_threads(summary: &Summary) {
    if let Some(why) = &summary.fewer_threads {
        say!("stance: warning: {why}");
    }
}

/// Says, at the end of a run, which inputs got another doc_id and which
/// paths were skipped and why; returns whether no input was found at all.
fn report_discovery(found: &Discovery, scan: &ScanArgs) -> bool {
    for r in &found.renamed {
        say!(
            "stance: note: {}: doc_id `{}` is already {}'s; its rows carry `{}`",
            r.path.display(),
            r.wanted,
            r.taken_by,
            r.doc_id
        );
    }
    for s in &found.skipped {
        say!("stance: skipped {}: {}", s.path.display(), s.reason);
    }
    let nothing = found.inputs.is_empty() && found.skipped.is_empty();
    if nothing {
        let chosen: Vec<String> = scan.extensions().iter().map(|e| format!(".{e}")).collect();
        say!(
            "stance: no inputs found (folders are searched for {}; see --ext)",
            chosen.join(", ")
        );
    }
    nothing
}

/// `"; N what skipped"` for a summary line, or nothing when none were.
fn skipped_note(n: usize, what: &str) -> String {
    if n > 0 {
        format!("; {n} {what} skipped")
    } else {
        String::new()
    }
}

/// Exit code 1 when something was skipped or needs attention, else 0.
fn partial_exit(problems: bool) -> ExitCode {
    if problems {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

/// Writes `--summary` and `--chart` when they were asked for.
fn write_article_reports(
    args: &ScoreArgs,
    model: &Model,
    articles: &[stance::score::DocSummary],
) -> anyhow::Result<()> {
    if let Some(path) = &args.summary {
        atomic_write(path, |w| {
            let classes = model.classes();
            if args.excel {
                stance::score::write_summary(classes, articles, &mut ExcelCsv::new(w))
            } else {
                stance::score::write_summary(classes, articles, w)
            }
        })?;
        say!("wrote {}", path.display());
    }
    if let Some(path) = &args.chart {
        let svg = stance::report::chart::article_chart(model.classes(), articles)?;
        atomic_write(path, |w| w.write_all(svg.as_bytes()))?;
        say!("wrote {}", path.display());
    }
    Ok(())
}

/// Writes `--report` when it was asked for.
fn write_html_report(
    args: &ScoreArgs,
    model: &Model,
    articles: Vec<Article>,
) -> anyhow::Result<()> {
    if let Some(path) = &args.report {
        let batch = Batch::scored(model.classes().to_vec(), articles);
        let page = stance::report::report_page(&batch, &args.title);
        atomic_write(path, |w| w.write_all(page.as_bytes()))?;
        say!("wrote {}", path.display());
    }
    Ok(())
}

/// A progress bar on stderr when it is a terminal.
fn progress_bar(len: usize) -> Option<indicatif::ProgressBar> {
    if !std::io::stderr().is_terminal() {
        return None;
    }
    let bar = indicatif::ProgressBar::new(len as u64);
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "{spinner} [{elapsed_precise}] {bar:40} {pos}/{len} inputs {msg}",
        )
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    Some(bar)
}

/// Prints warnings and skipped inputs, advancing the progress bar.
fn report_event(progress: Option<&indicatif::ProgressBar>, event: Event<'_>) {
    let line = match &event {
        Event::Scored { .. } => None,
        Event::Warning { input, message } => {
            Some(format!("stance: warning: {}: {message}", input.display()))
        }
        Event::Record { problem, .. } => Some(match problem {
            stance::error::Error::Repaired { .. } => format!("stance: warning: {problem}"),
            _ => format!("stance: {problem}"),
        }),
        Event::Skipped { reason, .. } => Some(format!("stance: skipped {reason}")),
    };
    if let Some(bar) = progress {
        if matches!(event, Event::Scored { .. } | Event::Skipped { .. }) {
            bar.inc(1);
        }
        if let Some(line) = line {
            bar.println(line);
        }
    } else if let Some(line) = line {
        say!("{line}");
    }
}

fn review_apply(args: ApplyArgs) -> anyhow::Result<ExitCode> {
    let Some(predictions) = &args.predictions else {
        return Err(missing_positional("predictions file", "--labels"));
    };
    let classes = Classes::load(&args.classes)?;
    let existing = expand_paths(&args.labels)?;
    let report = stance::review::apply(
        predictions,
        &classes,
        &existing,
        &args.labels_out,
        args.overwrite,
    )?;
    let p = predictions.display();
    for bad in &report.invalid {
        say!(
            "{p}:{}: review `{}` is not a label (expected one of: {})",
            bad.line,
            bad.value,
            classes.joined()
        );
    }
    for c in &report.conflicts {
        say!(
            "{p}:{}: reviewed as `{}` but labelled `{}` at {}:{}{}: {:?}",
            c.line,
            c.label,
            c.other_label,
            c.other_path.display(),
            c.other_line,
            if c.overwritten {
                " (overwritten)"
            } else {
                " (not written; use --overwrite to replace it)"
            },
            stance::labels::shorten(&c.text, 80)
        );
    }
    writeln!(
        std::io::stdout().lock(),
        "{} reviewed: {} added to {}, {} already labelled, {} conflicting{}, {} invalid",
        report.reviewed,
        report.added,
        args.labels_out.display(),
        report.skipped,
        report.conflicts.len(),
        if args.overwrite { " (overwritten)" } else { "" },
        report.invalid.len()
    )?;
    Ok(partial_exit(report.has_problems()))
}

/// Runs `work` (finding the inputs and checking them against the outputs:
/// a stat or more per file, milliseconds for a folder of thousands of
/// articles before any can be scored; then reading ahead) while the model
/// at `path` loads on a thread of its own; `work` is lent a check of
/// whether the model has loaded. An error of `work` is the one reported;
/// without a thread to be had, the model loads after it.
fn beside_model_load<T>(
    path: &Path,
    work: impl FnOnce(&dyn Fn() -> bool) -> anyhow::Result<T>,
) -> anyhow::Result<(T, Model)> {
    std::thread::scope(|scope| {
        let loading = std::thread::Builder::new()
            .name("stance-model".into())
            .spawn_scoped(scope, || Model::load(path))
            .ok();
        let loaded = || loading.as_ref().is_none_or(|h| h.is_finished());
        let done = work(&loaded)?;
        let model = match loading {
            Some(handle) => handle
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic))?,
            None => Model::load(path)?,
        };
        Ok((done, model))
    })
}

fn suggest(args: SuggestArgs) -> anyhow::Result<ExitCode> {
    pin_mmap_threshold();
    if args.inputs.is_empty() {
        return Err(missing_positional("inputs", "--labels"));
    }
    let format = OutputFormat::choose(args.format, &args.out, args.excel)?;
    if format == OutputFormat::Jsonl {
        bail!("suggest writes csv or xlsx, not jsonl");
    }
    let to_stdout = args.out.as_os_str() == "-";
    let (found, model) = beside_model_load(&args.model, |_| {
        let found = discover(&args.inputs, &args.scan.extensions());
        if !to_stdout {
            check_writable_target(&args.out)?;
            check_not_inputs(
                &[&args.out],
                args.inputs
                    .iter()
                    .map(PathBuf::as_path)
                    .chain(found.inputs.iter().filter_map(|i| i.path())),
            )?;
        }
        Ok(found)
    })?;
    let inputs = &found.inputs;
    let known = expand_paths(&args.labels)
        .and_then(|paths| stance::labels::read_texts(&paths))
        .with_context(|| {
            "cannot read the labelled sentences that suggest leaves out (--labels; by default \
             `labels` in the current folder)"
        })?;
    let progress = progress_bar(inputs.len());
    let on_event = |event: Event<'_>| report_event(progress.as_ref(), event);
    let options = ScoreOptions::default();
    let (summary, listed) =
        write_predictions(&args.out, format, args.excel, model.classes(), |w| {
            stance::review::suggest(&model, inputs, args.n, &known, w, options, on_event)
        })?;
    if let Some(bar) = &progress {
        bar.finish_and_clear();
    }
    report_threads(&summary);
    let nothing = report_discovery(&found, &args.scan);
    let skipped = summary.skipped + found.skipped.len();
    say!(
        "listed {listed} sentence(s), the least certain of {} scored ({} already labelled left out){}",
        summary.sentences,
        known.len(),
        skipped_note(skipped, "input(s)")
    );
    Ok(partial_exit(skipped > 0 || nothing))
}

fn report(args: ReportArgs) -> anyhow::Result<ExitCode> {
    if args.predictions.is_none() && args.confusion.is_none() {
        bail!("nothing to do: give a predictions file, or --model with --confusion");
    }
    if args.predictions.is_none() && (args.report.is_some() || args.chart.is_some()) {
        bail!("--report and --chart need a predictions file");
    }
    let html = match (&args.predictions, &args.report) {
        (_, Some(path)) => Some(path.clone()),
        (Some(p), None) if args.chart.is_none() && args.confusion.is_none() => {
            Some(p.with_extension("html"))
        }
        _ => None,
    };
    for target in html.iter().chain(&args.chart).chain(&args.confusion) {
        check_writable_target(target)?;
    }
    if let (Some(model_path), Some(path)) = (&args.model, &args.confusion) {
        let model = Model::load(model_path)?;
        let Some(cv) = &model.training().cross_validation else {
            bail!(
                "{}: the model holds no cross-validation results to draw (it was trained with --no-cv)",
                model_path.display()
            );
        };
        let svg = stance::report::chart::confusion_chart(&cv.metrics)?;
        atomic_write(path, |w| w.write_all(svg.as_bytes()))?;
        say!("wrote {}", path.display());
    }
    if let Some(predictions) = &args.predictions {
        let batch = Batch::read(predictions)?;
        if let Some(path) = &html {
            let page = stance::report::report_page(&batch, &args.title);
            atomic_write(path, |w| w.write_all(page.as_bytes()))?;
            say!("wrote {}", path.display());
        }
        if let Some(path) = &args.chart {
            let svg = stance::report::chart::article_chart(&batch.classes, &batch.summaries())?;
            atomic_write(path, |w| w.write_all(svg.as_bytes()))?;
            say!("wrote {}", path.display());
        }
        say!(
            "read {} sentences in {} articles from {}",
            batch.sentences(),
            batch.articles.len(),
            predictions.display()
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn eval(args: EvalArgs) -> anyhow::Result<ExitCode> {
    let model = Model::load(&args.model)?;
    let files = expand_paths(&args.files)?;
    let labels = read_labels(&files, model.class_list())?;
    if labels.rows.is_empty() {
        bail!("no labelled rows in {}", display_paths(&files));
    }
    let metrics = evaluate(&model, &labels)?;
    if args.json {
        say!("stance: warning: --json is deprecated; use --format json");
    }
    let mut stdout = std::io::stdout().lock();
    if args.json || args.format == EvalFormat::Json {
        writeln!(stdout, "{}", serde_json::to_string_pretty(&metrics)?)?;
    } else {
        writeln!(
            stdout,
            "evaluated {} on {} sentences from {}\n\n{}",
            args.model.display(),
            labels.rows.len(),
            display_paths(&files),
            metrics.to_text()
        )?;
    }
    Ok(ExitCode::SUCCESS)
}

fn display_paths(paths: &[PathBuf]) -> String {
    paths
        .iter()
        .map(|p| Path::new(p).display().to_string())
        .collect::<Vec<_>>()
        .join(", ")
}
