//! The model card: a Markdown page describing a trained model.

use std::path::Path;

use crate::features::DfBound;
use crate::model::{AblationRow, Model, OffTopicShare, FORMAT, FORMAT_VERSION};
/// The model card: a Markdown page describing a trained model — its data,
/// settings, cross-validated quality and most telling terms per class.
/// `confusion_svg` names the confusion-matrix picture to show beside the
/// cross-validation table (a path relative to the card).
pub fn model_card(model: &Model, model_path: &str, confusion_svg: Option<&str>) -> String {
    let t = model.training();
    let c = model.config();
    let f = &c.featurizer;
    let mut s = String::from("# stance model card\n\n");
    s += &format!(
        "Model file: `{model_path}` (format `{}` version {}). Classes: {}.\n\n",
        FORMAT,
        FORMAT_VERSION,
        model
            .classes()
            .iter()
            .map(|c| format!("`{c}`"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    s += "## Training data\n\n";
    s += &format!(
        "{} labelled sentences from {} articles ({} repeated rows counted once). Data SHA-256: `{}`.\n\n",
        t.rows, t.documents, t.duplicates_dropped, t.data_sha256
    );
    s += "| class | rows | share | weight in training |\n|---|---:|---:|---:|\n";
    for cc in &t.classes {
        s += &format!(
            "| {} | {} | {:.1}% | ×{} |\n",
            cc.class,
            cc.rows,
            100.0 * cc.rows as f64 / t.rows.max(1) as f64,
            cc.replication
        );
    }
    if c.balance {
        s += "\nClasses are balanced by row weight: each row of a class counts round(largest class / class size) times (at least once) in the training objective, the same objective as repeating the row.\n";
    }
    s += "\n## Settings\n\n";
    s += &format!(
        "| setting | value |\n|---|---|\n| n-gram range | ({}, {}) |\n| min_df | {} |\n| max_df | {} |\n| max_features | {} |\n| sublinear tf | {} |\n| smoothed idf | {} |\n| stemming | {} |\n| stop words | {} |\n| actors / cues / roles / negation | {} / {} / {} / {} ({} actor groups, {} cue groups) |\n| L2 strength (alpha) | {} |\n| class balancing | {} |\n| L-BFGS max iterations / tolerance | {} / {} |\n| vocabulary size | {} |\n",
        f.ngram_range.0,
        f.ngram_range.1,
        df(f.min_df),
        df(f.max_df),
        f.max_features.map_or("none".to_string(), |m| m.to_string()),
        f.sublinear_tf,
        f.smooth_idf,
        if f.tokenizer.stem { "English Snowball" } else { "off" },
        f.tokenizer.stop_words.len(),
        on(f.actors),
        on(f.cues),
        on(f.roles),
        on(f.negation),
        f.lexicon.actors.len(),
        f.lexicon.cues.len(),
        c.alpha,
        c.balance,
        c.max_iterations,
        c.gradient_tolerance,
        model.featurizer().n_features()
    );
    s += "\n## Cross-validated quality\n\n";
    match &t.cross_validation {
        Some(cv) => {
            s += &format!(
                "Scheme: {} ({} folds). Every fold fits the vocabulary, idf and classifier on the other folds only; no article is on both sides. These numbers estimate quality on articles the model has not seen.\n\n",
                cv.scheme, cv.folds
            );
            s += &cv.metrics.to_markdown();
            if let Some(svg) = confusion_svg {
                s += &format!("\n![Cross-validated confusion matrix]({svg})\n");
            }
        }
        None => s += "Cross-validation was not run for this model.\n",
    }
    s += "\n## Off-topic news\n\n";
    match &c.offtopic_gate {
        Some(g) => {
            s += &format!(
                "Off-topic gate: an article that names no actor of {} (labels/actors.txt) gets `{}` for every sentence; other articles are scored sentence by sentence.\n\n",
                g.actors.join(" or "),
                g.class
            )
        }
        None => s += "No off-topic gate: every article is scored sentence by sentence.\n\n",
    }
    if t.offtopic.is_empty() {
        s += "No off-topic corpus was measured for this model.\n";
    } else {
        s += "Share of sentences of news that is not about China–Russia relations (never training data) that get a stance label (`convergence`, `divergence` or `western_pressure`):\n\n| corpus | articles | sentences | with a stance label | articles naming China or Russia | sentences of the other articles | with a stance label | the same without the gate |\n|---|---:|---:|---:|---:|---:|---:|---:|\n";
        for o in &t.offtopic {
            s += &format!(
                "| {} | {} | {} | {} ({:.1}%) | {} | {} | {} ({:.1}%) | {} ({:.1}%) |\n",
                o.corpus,
                o.articles,
                o.sentences,
                o.stance,
                100.0 * o.share(),
                o.naming_articles,
                o.unnamed_sentences,
                o.unnamed_stance,
                100.0 * o.unnamed_share(),
                o.unnamed_stance_ungated,
                100.0 * o.unnamed_share_ungated()
            );
        }
    }
    if let Some(sel) = &t.selection {
        s += &format!(
            "\n## Model selection\n\nEach grid point was scored by {} cross-validation with the actor and cue stages on; the highest macro-F1 wins (the earlier point on ties). Chosen: **{}** (macro-F1 {:.3}).\n\n| alpha | min_df | n-grams | sublinear tf | balance | macro-F1 | accuracy |\n|---:|---:|---|---|---|---:|---:|\n",
            sel.scheme,
            sel.rows[sel.chosen].point.describe(),
            sel.rows[sel.chosen].macro_f1
        );
        for (i, r) in sel.rows.iter().enumerate() {
            let mark = if i == sel.chosen { " ← chosen" } else { "" };
            s += &format!(
                "| {} | {} | 1–{} | {} | {} | {:.3}{mark} | {:.3} |\n",
                r.point.alpha,
                r.point.min_df,
                r.point.ngram_max,
                if r.point.sublinear_tf { "on" } else { "off" },
                if r.point.balance { "on" } else { "off" },
                r.macro_f1,
                r.accuracy
            );
        }
    }
    if !t.ablation.is_empty() {
        s += "\n## Ablation\n\nCross-validated scores as each stage is added (plain TF-IDF at its own best grid point, the others at the chosen one). Actors, cues and the off-topic gate are kept; roles and negation only if they raise macro-F1.\n\n";
        s += &ablation_markdown(&t.ablation, model.classes());
    }
    s += "\n## Most heavily weighted terms per class\n\nWeight of the term for the class minus its mean weight over all classes (terms shown in their most frequent surface form).\n\n";
    for (i, class) in model.classes().iter().enumerate() {
        let terms = model.top_terms(i, 15);
        s += &format!(
            "- **{class}**: {}\n",
            terms
                .iter()
                .map(|(t, w)| format!("{t} ({w:+.2})"))
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    s
}

/// What `stance info` prints: which model this is, what it was trained on,
/// its settings, its cross-validated quality and where its card is.
pub fn model_summary(model: &Model, model_path: &Path, card_path: &Path) -> String {
    let t = model.training();
    let c = model.config();
    let f = &c.featurizer;
    let mut s = format!(
        "model        {} (format {FORMAT} v{FORMAT_VERSION})\nclasses      {}\ntrained on   {} sentences from {} articles, data SHA-256 {}\n",
        model_path.display(),
        model.classes().join(", "),
        t.rows,
        t.documents,
        t.data_sha256
    );
    s += &format!(
        "settings     alpha {}, min_df {}, n-grams {}–{}, sublinear tf {}, balance {}, vocabulary {} terms\nstages       actors {}, cues {}, roles {}, negation {}, off-topic gate {}\n",
        c.alpha,
        df(f.min_df),
        f.ngram_range.0,
        f.ngram_range.1,
        on(f.sublinear_tf),
        on(c.balance),
        model.featurizer().n_features(),
        on(f.actors),
        on(f.cues),
        on(f.roles),
        on(f.negation),
        on(c.offtopic_gate.is_some())
    );
    match &t.cross_validation {
        Some(cv) => {
            s += &format!(
                "quality      {}: macro-F1 {:.3}, accuracy {:.3}; F1 {}\n",
                cv.scheme,
                cv.metrics.macro_f1,
                cv.metrics.accuracy,
                cv.metrics
                    .per_class
                    .iter()
                    .map(|m| format!("{} {:.3}", m.class, m.f1))
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        }
        None => s += "quality      not cross-validated\n",
    }
    s += &format!(
        "model card   {}{}\n",
        card_path.display(),
        if card_path.exists() {
            ""
        } else {
            " (not found)"
        }
    );
    s
}

/// One off-topic measurement as a terminal line.
pub fn offtopic_text(s: &OffTopicShare) -> String {
    format!(
        "\noff-topic {}: {:.1}% of {} sentences get a stance label; {:.1}% in the {} articles naming neither China nor Russia ({:.1}% without the gate)\n",
        s.corpus,
        100.0 * s.share(),
        s.sentences,
        100.0 * s.unnamed_share(),
        s.articles - s.naming_articles,
        100.0 * s.unnamed_share_ungated()
    )
}

/// The ablation as a plain-text table.
pub fn ablation_text(rows: &[AblationRow], classes: &[String]) -> String {
    let mut s = format!("{:<14} {:>8}", "featurizer", "macro-F1");
    for c in classes {
        s += &format!(" {:>16}", format!("F1 {c}"));
    }
    s.push('\n');
    for r in rows {
        s += &format!("{:<14} {:>8.3}", r.name, r.macro_f1);
        for f in &r.per_class_f1 {
            s += &format!(" {:>16.3}", f);
        }
        s.push('\n');
    }
    s
}

/// The ablation as a Markdown table.
pub fn ablation_markdown(rows: &[AblationRow], classes: &[String]) -> String {
    let mut s = String::from("| featurizer | grid point | macro-F1 |");
    for c in classes {
        s += &format!(" F1 {c} |");
    }
    s += "\n|---|---|---:|";
    s += &"---:|".repeat(classes.len());
    s.push('\n');
    for r in rows {
        s += &format!(
            "| {} | {} | {:.3} |",
            r.name,
            r.point.describe(),
            r.macro_f1
        );
        for f in &r.per_class_f1 {
            s += &format!(" {f:.3} |");
        }
        s.push('\n');
    }
    s
}

fn on(b: bool) -> &'static str {
    if b {
        "on"
    } else {
        "off"
    }
}

fn df(b: DfBound) -> String {
    match b {
        DfBound::Count(c) => format!("{c} sentences"),
        DfBound::Proportion(p) => format!("{}% of sentences", p * 100.0),
    }
}
