//! Metrics and human-readable reports: per-class precision, recall and F1,
//! macro-F1, accuracy, the confusion matrix, and the model card.

use serde::{Deserialize, Serialize};

/// Precision, recall and F1 of one class.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClassMetrics {
    /// Class name.
    pub class: String,
    /// Of the sentences predicted as this class, the share that were.
    pub precision: f64,
    /// Of the sentences of this class, the share predicted as such.
    pub recall: f64,
    /// Harmonic mean of precision and recall (0 when both are 0).
    pub f1: f64,
    /// Number of true sentences of this class.
    pub support: usize,
}

/// Classification metrics over one evaluation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Metrics {
    /// Class names, in the order of the confusion matrix.
    pub classes: Vec<String>,
    /// `confusion[true][predicted]` counts.
    pub confusion: Vec<Vec<usize>>,
    /// Per-class scores.
    pub per_class: Vec<ClassMetrics>,
    /// Unweighted mean F1 over the classes that occur in the truth or the
    /// predictions (scikit-learn's `average="macro"`).
    pub macro_f1: f64,
    /// Share of sentences predicted correctly.
    pub accuracy: f64,
    /// Number of sentences.
    pub n: usize,
}

impl Metrics {
    /// Computes metrics from true and predicted class indices.
    ///
    /// # Panics
    /// When the slices differ in length or hold an index outside `classes`.
    pub fn compute(classes: &[String], truth: &[usize], predicted: &[usize]) -> Metrics {
        assert_eq!(truth.len(), predicted.len());
        let k = classes.len();
        let mut confusion = vec![vec![0usize; k]; k];
        for (&t, &p) in truth.iter().zip(predicted) {
            confusion[t][p] += 1;
        }
        let mut per_class = Vec::with_capacity(k);
        let mut f1_sum = 0.0;
        let mut present = 0;
        for c in 0..k {
            let tp = confusion[c][c] as f64;
            let support: usize = confusion[c].iter().sum();
            let predicted_c: usize = confusion.iter().map(|row| row[c]).sum();
            let precision = if predicted_c > 0 {
                tp / predicted_c as f64
            } else {
                0.0
            };
            let recall = if support > 0 {
                tp / support as f64
            } else {
                0.0
            };
            let f1 = if precision + recall > 0.0 {
                2.0 * precision * recall / (precision + recall)
            } else {
                0.0
            };
            if support > 0 || predicted_c > 0 {
                f1_sum += f1;
                present += 1;
            }
            per_class.push(ClassMetrics {
                class: classes[c].clone(),
                precision,
                recall,
                f1,
                support,
            });
        }
        let n = truth.len();
        let correct: usize = (0..k).map(|c| confusion[c][c]).sum();
        Metrics {
            classes: classes.to_vec(),
            confusion,
            per_class,
            macro_f1: if present > 0 {
                f1_sum / present as f64
            } else {
                0.0
            },
            accuracy: if n > 0 {
                correct as f64 / n as f64
            } else {
                0.0
            },
            n,
        }
    }

    /// A plain-text report for the terminal.
    pub fn to_text(&self) -> String {
        let w = self
            .classes
            .iter()
            .map(|c| c.len())
            .max()
            .unwrap_or(5)
            .max(9);
        let mut s = format!(
            "{:<w$}  {:>9}  {:>6}  {:>6}  {:>7}\n",
            "class", "precision", "recall", "f1", "support"
        );
        for m in &self.per_class {
            s += &format!(
                "{:<w$}  {:>9.3}  {:>6.3}  {:>6.3}  {:>7}\n",
                m.class, m.precision, m.recall, m.f1, m.support
            );
        }
        s += &format!(
            "\nmacro-F1 {:.3}   accuracy {:.3}   sentences {}\n\nconfusion matrix (rows: true, columns: predicted)\n",
            self.macro_f1, self.accuracy, self.n
        );
        s += &format!("{:<w$}", "");
        for c in &self.classes {
            s += &format!("  {:>w$}", c);
        }
        s.push('\n');
        for (c, row) in self.classes.iter().zip(&self.confusion) {
            s += &format!("{:<w$}", c);
            for v in row {
                s += &format!("  {:>w$}", v);
            }
            s.push('\n');
        }
        s
    }

    /// The same report as Markdown tables.
    pub fn to_markdown(&self) -> String {
        let mut s = String::from(
            "| class | precision | recall | F1 | support |\n|---|---:|---:|---:|---:|\n",
        );
        for m in &self.per_class {
            s += &format!(
                "| {} | {:.3} | {:.3} | {:.3} | {} |\n",
                m.class, m.precision, m.recall, m.f1, m.support
            );
        }
        s += &format!(
            "\n**macro-F1 {:.3}**, accuracy {:.3}, {} sentences.\n\nConfusion matrix (rows: true label, columns: predicted):\n\n| true \\ predicted |",
            self.macro_f1, self.accuracy, self.n
        );
        for c in &self.classes {
            s += &format!(" {c} |");
        }
        s += "\n|---|";
        s += &"---:|".repeat(self.classes.len());
        s.push('\n');
        for (c, row) in self.classes.iter().zip(&self.confusion) {
            s += &format!("| {c} |");
            for v in row {
                s += &format!(" {v} |");
            }
            s.push('\n');
        }
        s
    }
}

/// The model card: a Markdown page describing a trained model — its data,
/// settings, cross-validated quality and most telling terms per class.
/// `confusion_svg` names the confusion-matrix picture to show beside the
/// cross-validation table (a path relative to the card).
pub fn model_card(
    model: &crate::model::Model,
    model_path: &str,
    confusion_svg: Option<&str>,
) -> String {
    let t = model.training();
    let c = model.config();
    let f = &c.featurizer;
    let mut s = String::from("# stance model card\n\n");
    s += &format!(
        "Model file: `{model_path}` (format `{}` version {}). Classes: {}.\n\n",
        crate::model::FORMAT,
        crate::model::FORMAT_VERSION,
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
    s += "| class | rows | share | replication in training |\n|---|---:|---:|---:|\n";
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
        s += "\nClasses are balanced by replication: linfa-logistic takes no sample weights, so each row of a class is repeated round(largest class / class size) times (at least once) before fitting.\n";
    }
    s += "\n## Settings\n\n";
    s += &format!(
        "| setting | value |\n|---|---|\n| n-gram range | ({}, {}) |\n| min_df | {} |\n| max_df | {} |\n| max_features | {} |\n| sublinear tf | {} |\n| smoothed idf | {} |\n| stemming | {} |\n| stop words | {} |\n| actors / cues / negation | {} / {} / {} ({} actor groups, {} cue groups) |\n| L2 strength (alpha) | {} |\n| class balancing | {} |\n| L-BFGS max iterations / tolerance | {} / {} |\n| vocabulary size | {} |\n",
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
    if let Some(sel) = &t.selection {
        s += &format!(
            "\n## Model selection\n\nEach grid point was scored by {} cross-validation with the actor and cue stages on; the highest macro-F1 wins (the earlier point on ties). Chosen: **{}** (macro-F1 {:.3}).\n\n| alpha | min_df | n-grams | sublinear tf | balance | macro-F1 | accuracy |\n|---:|---:|---|---|---|---:|---:|\n",
            sel.scheme,
            point_text(&sel.rows[sel.chosen].point),
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
        s += "\n## Ablation\n\nLeave-one-article-out scores as each stage is added (plain TF-IDF at its own best grid point, the others at the chosen one). Negation is kept only if it raises macro-F1.\n\n";
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

/// The ablation as a plain-text table.
pub fn ablation_text(rows: &[crate::select::AblationRow], classes: &[String]) -> String {
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
pub fn ablation_markdown(rows: &[crate::select::AblationRow], classes: &[String]) -> String {
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
            point_text(&r.point),
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

fn point_text(p: &crate::select::GridPoint) -> String {
    format!(
        "alpha {}, min_df {}, n-grams 1–{}, sublinear {}, balance {}",
        p.alpha,
        p.min_df,
        p.ngram_max,
        if p.sublinear_tf { "on" } else { "off" },
        if p.balance { "on" } else { "off" }
    )
}

fn df(b: crate::features::DfBound) -> String {
    match b {
        crate::features::DfBound::Count(c) => format!("{c} sentences"),
        crate::features::DfBound::Proportion(p) => format!("{}% of sentences", p * 100.0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hand_checked_example() {
        // truth:     a a a b b c
        // predicted: a a b b c c
        let classes: Vec<String> = ["a", "b", "c"].iter().map(|s| s.to_string()).collect();
        let m = Metrics::compute(&classes, &[0, 0, 0, 1, 1, 2], &[0, 0, 1, 1, 2, 2]);
        assert_eq!(
            m.confusion,
            vec![vec![2, 1, 0], vec![0, 1, 1], vec![0, 0, 1]]
        );
        let a = &m.per_class[0];
        assert_eq!((a.precision, a.recall, a.support), (1.0, 2.0 / 3.0, 3));
        assert!((a.f1 - 0.8).abs() < 1e-12);
        let b = &m.per_class[1];
        assert_eq!((b.precision, b.recall), (0.5, 0.5));
        let c = &m.per_class[2];
        assert!((c.f1 - 2.0 / 3.0).abs() < 1e-12);
        assert!((m.macro_f1 - (0.8 + 0.5 + 2.0 / 3.0) / 3.0).abs() < 1e-12);
        assert!((m.accuracy - 4.0 / 6.0).abs() < 1e-12);
        assert!(m.to_text().contains("macro-F1 0.656"));
        assert!(m
            .to_markdown()
            .contains("| a | 1.000 | 0.667 | 0.800 | 3 |"));
    }

    #[test]
    fn absent_classes_do_not_count_in_macro_f1() {
        let classes: Vec<String> = ["a", "b", "c"].iter().map(|s| s.to_string()).collect();
        let m = Metrics::compute(&classes, &[0, 1], &[0, 1]);
        assert_eq!(m.macro_f1, 1.0);
    }
}
