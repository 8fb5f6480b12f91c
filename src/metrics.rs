//! Classification metrics: per-class precision, recall and F1, macro-F1,
//! accuracy and the confusion matrix.
//!
//! Has the responsibility to compute these numbers from true and predicted
//! class indices, and to print them as a terminal table or Markdown. It is a
//! computation, not a report: it knows nothing of models or files.

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
