//! The `stance` command line: parses arguments, calls the library, maps
//! errors to exit codes (0 success, 1 some inputs skipped, 2 error).

use std::io::{IsTerminal, Write as _};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{bail, Context};
use clap::{Args, Parser, Subcommand};
use stance::features::DfBound;
use stance::io::{
    atomic_write, check_not_an_input, check_writable_target, discover, write_output, Input,
};
use stance::labels::{expand_paths, read_labels, Classes};
use stance::lexicon::Lexicon;
use stance::model::{Model, TrainConfig};
use stance::report::{model_card, Article, Batch};
use stance::score::{score_inputs_keeping, Event, ScoreOptions};
use stance::select::{evaluate, Folds};

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
    /// Predictions written by `stance score`: CSV, or JSON lines when the
    /// name ends in `.jsonl`. Optional `date` and `source` columns (fields)
    /// are shown, and dates give the trend.
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
    /// Predictions CSV written by `stance score` or `stance suggest`, with
    /// corrected labels typed into its `review` column.
    predictions: PathBuf,
    /// Label file that receives the new rows (created if absent).
    #[arg(long, default_value = "labels/reviewed.csv")]
    labels_out: PathBuf,
    /// Existing label files or folders to check the reviews against
    /// (repeat the option for several).
    #[arg(long, default_value = "labels")]
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
    /// labelled); repeat the option for several.
    #[arg(long, default_value = "labels")]
    labels: Vec<PathBuf>,
    /// Output CSV file, or `-` for standard output.
    #[arg(long, short, default_value = "-")]
    out: PathBuf,
    /// Inputs, as for `stance score`.
    #[arg(required = true)]
    inputs: Vec<PathBuf>,
}

#[derive(Args)]
struct TrainArgs {
    /// Label CSV files or folders of them (`doc_id,text,label`).
    #[arg(long, num_args = 1.., default_value = "labels")]
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
    /// their sentences that get a stance label. Repeat for several.
    #[arg(long)]
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
    /// Output CSV file, or `-` for standard output.
    #[arg(long, short, default_value = "-")]
    out: PathBuf,
    /// Worker threads [default: all cores].
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
    /// object per line, streamed record by record on one thread (run several
    /// processes, as the Spark job does, for more).
    #[arg(long, default_value = "text", value_parser = ["text", "jsonl"])]
    input_format: String,
    /// `csv` or `jsonl` (one JSON object per sentence, the CSV's fields).
    #[arg(long, default_value = "csv", value_parser = ["csv", "jsonl"])]
    format: String,
    /// `.txt` files, folders (searched recursively for `.txt`), `.csv` files with a
    /// `text` column (and optional `doc_id`), or `-` for standard input.
    #[arg(required = true)]
    inputs: Vec<PathBuf>,
}

#[derive(Args)]
struct EvalArgs {
    /// Model file.
    #[arg(long, default_value = "models/stance.json")]
    model: PathBuf,
    /// Print the metrics as JSON instead of a table.
    #[arg(long)]
    json: bool,
    /// Labelled CSV files (`doc_id,text,label`) or folders of them.
    #[arg(required = true)]
    files: Vec<PathBuf>,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // Ctrl-C or SIGTERM: remove the temporary files of the outputs being
    // written, then end as a signal would (128 + SIGINT). Without the
    // handler (it cannot be installed) the next run removes them instead.
    let _ = ctrlc::set_handler(|| {
        let _held = stance::io::remove_temp_files();
        std::process::exit(130);
    });
    match run(cli) {
        Ok(code) => code,
        Err(err) => {
            if is_broken_pipe(&err) {
                return ExitCode::SUCCESS;
            }
            eprintln!("stance: error: {}", message(&err));
            ExitCode::from(2)
        }
    }
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
/// flat (17 MiB). Only scoring does this: training allocates large dense
/// matrices over and over, and mapping each afresh would cost more than it
/// saves.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn pin_mmap_threshold() {
    // SAFETY: mallopt only changes allocator settings; it is called once,
    // at the start of a command, before any other thread exists.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 128 * 1024);
    }
}

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
    for target in [&args.model, &card_path, &confusion_path] {
        check_not_an_input(target, read.iter().copied())?;
    }
    let labels = read_labels(&files, &classes)?;
    eprintln!(
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
        eprintln!("note: one article only: cross-validation and model selection need two or more, so the defaults are trained without them");
    }
    let bar = plan.selection_grid(&labels).and_then(|grid| {
        let evaluations = stance::select::ablation_evaluations(grid.len(), &config);
        eprintln!(
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
        eprintln!(
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
    eprintln!(
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
    let (inputs, missing) = if jsonl {
        let inputs = args.inputs.iter().cloned().map(Input::Jsonl).collect();
        (inputs, Vec::new())
    } else {
        discover(&args.inputs)
    };
    for target in &outputs {
        check_not_an_input(target, args.inputs.iter().map(PathBuf::as_path))?;
        check_not_an_input(target, inputs.iter().filter_map(|i| i.path()))?;
    }
    let model = Model::load(&args.model)?;
    let options = ScoreOptions {
        evidence: args.evidence,
        threads: args.threads.unwrap_or(0),
        format: if args.format == "jsonl" {
            stance::score::Format::Jsonl
        } else {
            stance::score::Format::Csv
        },
        summaries: args.summary.is_some() || args.chart.is_some(),
        ..ScoreOptions::default()
    };
    for s in &missing {
        eprintln!("stance: skipped {}: {}", s.path.display(), s.reason);
    }
    let progress = progress_bar(inputs.len());
    let on_event = |event: Event<'_>| report_event(progress.as_ref(), event);
    let keep = args.report.is_some();
    let (summary, articles) = write_output(&args.out, |w| {
        score_inputs_keeping(
            &model,
            &inputs,
            w,
            options,
            on_event,
            |input, doc, scored| keep.then(|| Article::from_scored(input, doc, scored)),
        )
    })?;
    if let Some(bar) = &progress {
        bar.finish_and_clear();
    }
    write_article_reports(&args, &model, &summary.articles)?;
    write_html_report(&args, &model, articles.into_iter().flatten().collect())?;
    let skipped = summary.skipped + missing.len();
    let (documents, skipped_note) = if jsonl {
        let n = skipped + summary.records_skipped;
        ("records", skipped_note(n, "record(s) or input(s)"))
    } else {
        ("documents", skipped_note(skipped, "input(s)"))
    };
    eprintln!(
        "scored {} sentences in {} {documents} from {} inputs{skipped_note}{}",
        summary.sentences,
        summary.documents,
        summary.inputs,
        if to_stdout {
            String::new()
        } else {
            format!("; wrote {}", args.out.display())
        }
    );
    Ok(partial_exit(skipped + summary.records_skipped > 0))
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
            stance::score::write_summary(model.classes(), articles, w)
        })?;
        eprintln!("wrote {}", path.display());
    }
    if let Some(path) = &args.chart {
        let svg = stance::report::chart::article_chart(model.classes(), articles)?;
        atomic_write(path, |w| w.write_all(svg.as_bytes()))?;
        eprintln!("wrote {}", path.display());
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
        eprintln!("wrote {}", path.display());
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
        eprintln!("{line}");
    }
}

fn review_apply(args: ApplyArgs) -> anyhow::Result<ExitCode> {
    let classes = Classes::load(&args.classes)?;
    let existing = expand_paths(&args.labels)?;
    let report = stance::review::apply(
        &args.predictions,
        &classes,
        &existing,
        &args.labels_out,
        args.overwrite,
    )?;
    let p = args.predictions.display();
    for bad in &report.invalid {
        eprintln!(
            "{p}:{}: review `{}` is not a label (expected one of: {})",
            bad.line,
            bad.value,
            classes.joined()
        );
    }
    for c in &report.conflicts {
        eprintln!(
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

fn suggest(args: SuggestArgs) -> anyhow::Result<ExitCode> {
    pin_mmap_threshold();
    let to_stdout = args.out.as_os_str() == "-";
    let (inputs, missing) = discover(&args.inputs);
    if !to_stdout {
        check_writable_target(&args.out)?;
        check_not_an_input(&args.out, args.inputs.iter().map(PathBuf::as_path))?;
        check_not_an_input(&args.out, inputs.iter().filter_map(|i| i.path()))?;
    }
    let model = Model::load(&args.model)?;
    let known = stance::labels::read_texts(&expand_paths(&args.labels)?)?;
    for s in &missing {
        eprintln!("stance: skipped {}: {}", s.path.display(), s.reason);
    }
    let progress = progress_bar(inputs.len());
    let on_event = |event: Event<'_>| report_event(progress.as_ref(), event);
    let options = ScoreOptions::default();
    let (summary, listed) = write_output(&args.out, |w| {
        stance::review::suggest(&model, &inputs, args.n, &known, w, options, on_event)
    })?;
    if let Some(bar) = &progress {
        bar.finish_and_clear();
    }
    let skipped = summary.skipped + missing.len();
    eprintln!(
        "listed {listed} sentence(s), the least certain of {} scored ({} already labelled left out){}",
        summary.sentences,
        known.len(),
        skipped_note(skipped, "input(s)")
    );
    Ok(partial_exit(skipped > 0))
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
        eprintln!("wrote {}", path.display());
    }
    if let Some(predictions) = &args.predictions {
        let batch = Batch::read(predictions)?;
        if let Some(path) = &html {
            let page = stance::report::report_page(&batch, &args.title);
            atomic_write(path, |w| w.write_all(page.as_bytes()))?;
            eprintln!("wrote {}", path.display());
        }
        if let Some(path) = &args.chart {
            let svg = stance::report::chart::article_chart(&batch.classes, &batch.summaries())?;
            atomic_write(path, |w| w.write_all(svg.as_bytes()))?;
            eprintln!("wrote {}", path.display());
        }
        eprintln!(
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
    let mut stdout = std::io::stdout().lock();
    if args.json {
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
