//! The classifier: multinomial logistic regression on TF-IDF rows.
//!
//! Has the responsibility to fit linfa-logistic's `MultiLogisticRegression`
//! on sparse rows, and to turn a sparse row into class probabilities and
//! evidence with a sparse dot product.

use serde::{Deserialize, Serialize};

use super::file::{AblationRow, ClassCount, CvReport, OffTopicShare, Selection, TrainingInfo};
use super::gate::{Gate, OffTopicGate};
use super::solver::Problem;
use crate::error::{Error, Result};
use crate::features::{DfBound, FittedTfIdfVectorizer, SparseVec, TfIdfVectorizer};
use crate::labels::{Classes, LabelSet};

/// Logit given to a class the training rows did not contain.
const ABSENT_LOGIT: f64 = -1.0e3;

/// The largest weight or intercept (in absolute value) a model may hold.
/// L2-regularised weights on unit-length rows stay far below it; a file
/// with larger ones is damaged, and its logits could overflow.
pub const MAX_WEIGHT: f64 = 1.0e6;

/// Everything that decides how a model is trained.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainConfig {
    /// Featurizer settings; defaults to [`TfIdfVectorizer::default`] with
    /// `min_df = 2` (chosen by leave-one-article-out cross-validation on the
    /// seed labels: terms seen in one sentence only do not transfer).
    pub featurizer: TfIdfVectorizer,
    /// L2 strength; defaults to `1.0`.
    pub alpha: f64,
    /// L-BFGS iteration cap; defaults to `300`.
    pub max_iterations: u64,
    /// L-BFGS gradient tolerance; defaults to `1e-5`.
    pub gradient_tolerance: f64,
    /// Weight minority-class rows up (see the module docs); defaults to `true`.
    pub balance: bool,
    /// Articles that name none of these actors are off-topic (see
    /// [`OffTopicGate`]); defaults to `None` (no gate). `stance train` turns
    /// it on with [`OffTopicGate::default`].
    #[serde(default)]
    pub offtopic_gate: Option<OffTopicGate>,
}

impl Default for TrainConfig {
    fn default() -> Self {
        TrainConfig {
            featurizer: TfIdfVectorizer::default().min_df(DfBound::Count(2)),
            alpha: 1.0,
            max_iterations: 300,
            gradient_tolerance: 1e-5,
            balance: true,
            offtopic_gate: None,
        }
    }
}

impl TrainConfig {
    /// Checks the settings once, before any work.
    pub fn validate(&self) -> Result<()> {
        self.featurizer.validate()?;
        if !(self.alpha.is_finite() && self.alpha > 0.0) {
            return Err(Error::Config(format!(
                "alpha must be a positive number, got {}",
                self.alpha
            )));
        }
        if self.max_iterations == 0 {
            return Err(Error::Config("max_iterations must be at least 1".into()));
        }
        Ok(())
    }
}

/// Multinomial logistic regression weights, stored feature-major for sparse
/// scoring: the weight of feature `j` for class `c` is `weights[j * k + c]`.
#[derive(Debug, Clone, PartialEq)]
pub struct Classifier {
    n_features: usize,
    n_classes: usize,
    weights: Vec<f64>,
    intercepts: Vec<f64>,
    /// Per feature, the mean of its class weights (evidence is measured
    /// against the average class); derived from `weights`.
    means: Vec<f64>,
}

impl Classifier {
    /// A classifier from its feature-major weights and intercepts.
    fn assemble(
        n_features: usize,
        n_classes: usize,
        weights: Vec<f64>,
        intercepts: Vec<f64>,
    ) -> Classifier {
        let means = weights
            .chunks(n_classes.max(1))
            .map(|w| w.iter().sum::<f64>() / n_classes as f64)
            .collect();
        Classifier {
            n_features,
            n_classes,
            weights,
            intercepts,
            means,
        }
    }

    /// Fits on sparse rows `x` with class indices `y` (each `< n_classes`).
    /// Classes absent from `y` get a very low intercept; with one class
    /// present, that class is always predicted.
    pub fn fit(
        x: &[SparseVec],
        y: &[usize],
        n_classes: usize,
        n_features: usize,
        config: &TrainConfig,
        replication: &[usize],
    ) -> Result<Classifier> {
        let mut present: Vec<usize> = y.to_vec();
        present.sort_unstable();
        present.dedup();
        let mut weights = vec![0.0; n_features * n_classes];
        let mut intercepts = vec![ABSENT_LOGIT; n_classes];
        if present.len() < 2 {
            if let Some(&c) = present.first() {
                intercepts[c] = 0.0;
            }
            return Ok(Classifier::assemble(
                n_features, n_classes, weights, intercepts,
            ));
        }
        // Fit on the classes present, numbered 0..m in class order.
        let m = present.len();
        let mut local = vec![usize::MAX; n_classes];
        for (i, &c) in present.iter().enumerate() {
            local[c] = i;
        }
        let ys: Vec<usize> = y.iter().map(|&c| local[c]).collect();
        let weight: Vec<f64> = y.iter().map(|&c| replication[c] as f64).collect();
        let theta = Problem {
            x,
            y: &ys,
            weight: &weight,
            n_classes: m,
            n_features,
            alpha: config.alpha,
        }
        .minimise(config.max_iterations, config.gradient_tolerance)?;
        for (i, &class) in present.iter().enumerate() {
            intercepts[class] = theta[n_features * m + i];
            for j in 0..n_features {
                weights[j * n_classes + class] = theta[j * m + i];
            }
        }
        Ok(Classifier::assemble(
            n_features, n_classes, weights, intercepts,
        ))
    }

    /// Rebuilds a classifier from class-major weights (one row per class).
    pub fn from_class_rows(intercepts: Vec<f64>, rows: &[Vec<f64>]) -> Result<Classifier> {
        let n_classes = intercepts.len();
        if rows.len() != n_classes {
            return Err(Error::Config(format!(
                "{} intercepts but {} weight rows",
                n_classes,
                rows.len()
            )));
        }
        let n_features = rows.first().map_or(0, Vec::len);
        let mut weights = vec![0.0; n_features * n_classes];
        for (c, row) in rows.iter().enumerate() {
            if row.len() != n_features {
                return Err(Error::MismatchedShapes {
                    expected: n_features,
                    got: row.len(),
                });
            }
            for (j, &w) in row.iter().enumerate() {
                weights[j * n_classes + c] = w;
            }
        }
        if let Some(bad) = weights
            .iter()
            .chain(&intercepts)
            .find(|w| !(w.is_finite() && w.abs() <= MAX_WEIGHT))
        {
            return Err(Error::Config(format!(
                "weight {bad:e} is not a finite number within ±{MAX_WEIGHT:e}"
            )));
        }
        Ok(Classifier::assemble(
            n_features, n_classes, weights, intercepts,
        ))
    }

    /// Class-major weights (one row per class), for storage and reports.
    pub fn class_rows(&self) -> Vec<Vec<f64>> {
        (0..self.n_classes)
            .map(|c| {
                (0..self.n_features)
                    .map(|j| self.weights[j * self.n_classes + c])
                    .collect()
            })
            .collect()
    }

    /// Intercept per class.
    pub fn intercepts(&self) -> &[f64] {
        &self.intercepts
    }

    /// Number of features.
    pub fn n_features(&self) -> usize {
        self.n_features
    }

    /// Writes the class probabilities of `x` into `out` (length = classes):
    /// softmax of `intercept + Σ x_j w_j`.
    pub fn probabilities(&self, x: &SparseVec, out: &mut [f64]) {
        let k = self.n_classes;
        out.copy_from_slice(&self.intercepts);
        for (j, v) in x.iter() {
            let w = &self.weights[j * k..(j + 1) * k];
            for (o, w) in out.iter_mut().zip(w) {
                *o += v * w;
            }
        }
        let max = out.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let mut sum = 0.0;
        for o in out.iter_mut() {
            *o = (*o - max).exp();
            sum += *o;
        }
        if !(sum.is_finite() && sum > 0.0) {
            // Only reachable with non-finite input values: say "no idea"
            // rather than give probabilities that do not sum to 1.
            out.fill(1.0 / k as f64);
            return;
        }
        for o in out.iter_mut() {
            *o /= sum;
        }
    }

    /// How much feature `j` with value `v` pushes toward class `c` against
    /// the average class: `v · (w_jc − mean_k w_jk)`.
    #[inline]
    pub fn contribution(&self, j: usize, v: f64, c: usize) -> f64 {
        v * (self.weights[j * self.n_classes + c] - self.means[j])
    }
}

/// One feature's share in a prediction.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Evidence {
    /// Feature index in the vocabulary.
    pub feature: usize,
    /// Its signed contribution to the predicted class's logit, against the
    /// average class.
    pub contribution: f64,
}

/// A scored sentence.
#[derive(Debug, Clone, PartialEq)]
pub struct Prediction {
    /// Index of the most probable class.
    pub label: usize,
    /// Probability per class, summing to 1.
    pub probabilities: Vec<f64>,
    /// The features that pushed hardest toward `label`, strongest first.
    pub evidence: Vec<Evidence>,
}

/// A trained model: featurizer, classifier and their provenance.
#[derive(Debug, Clone)]
pub struct Model {
    pub(super) classes: Classes,
    pub(super) config: TrainConfig,
    pub(super) featurizer: FittedTfIdfVectorizer,
    pub(super) classifier: Classifier,
    pub(super) training: TrainingInfo,
    pub(super) gate: Option<Gate>,
}

/// Row weight per class for balancing.
fn replication(counts: &[usize], balance: bool) -> Vec<usize> {
    let max = counts.iter().copied().max().unwrap_or(1);
    counts
        .iter()
        .map(|&n| {
            if balance && n > 0 {
                ((max as f64 / n as f64).round() as usize).max(1)
            } else {
                1
            }
        })
        .collect()
}

/// Fits featurizer and classifier on `(text, label)` pairs.
pub(crate) fn fit_parts(
    texts: &[&str],
    labels: &[usize],
    n_classes: usize,
    config: &TrainConfig,
) -> Result<(FittedTfIdfVectorizer, Classifier, Vec<usize>)> {
    let featurizer = config.featurizer.fit(texts)?;
    let x = featurizer.transform_all(texts);
    let mut counts = vec![0; n_classes];
    for &l in labels {
        counts[l] += 1;
    }
    let rep = replication(&counts, config.balance);
    let classifier = Classifier::fit(&x, labels, n_classes, featurizer.n_features(), config, &rep)?;
    Ok((featurizer, classifier, rep))
}

/// The gate of `config`, resolved against a fitted featurizer.
pub(crate) fn resolve_gate(
    config: &TrainConfig,
    featurizer: &FittedTfIdfVectorizer,
    classes: &Classes,
) -> Result<Option<Gate>> {
    config
        .offtopic_gate
        .as_ref()
        .map(|g| Gate::new(g, featurizer, classes))
        .transpose()
}

/// Index of the largest value (the first on ties).
pub fn argmax(values: &[f64]) -> usize {
    let mut best = 0;
    for (i, &v) in values.iter().enumerate() {
        if v > values[best] {
            best = i;
        }
    }
    best
}

impl Model {
    /// Trains on all rows. Every declared class must have at least one row.
    pub fn train(labels: &LabelSet, config: &TrainConfig, cv: Option<CvReport>) -> Result<Model> {
        config.validate()?;
        let counts = labels.counts();
        let names = labels.classes.names();
        if let Some(c) = counts.iter().position(|&n| n == 0) {
            return Err(Error::Training(format!(
                "class `{}` has no labelled rows (classes: {}); label some or remove it from the class declaration",
                names[c],
                labels.classes.joined()
            )));
        }
        let texts: Vec<&str> = labels.rows.iter().map(|r| r.text.as_str()).collect();
        let ys: Vec<usize> = labels.rows.iter().map(|r| r.label).collect();
        let (featurizer, classifier, rep) = fit_parts(&texts, &ys, names.len(), config)?;
        let gate = resolve_gate(config, &featurizer, &labels.classes)?;
        let training = TrainingInfo {
            data_sha256: labels.sha256(),
            rows: labels.rows.len(),
            documents: labels.doc_ids().len(),
            duplicates_dropped: labels.duplicates,
            classes: names
                .iter()
                .zip(&counts)
                .zip(&rep)
                .map(|((class, &rows), &replication)| ClassCount {
                    class: class.clone(),
                    rows,
                    replication,
                })
                .collect(),
            cross_validation: cv,
            selection: None,
            offtopic: Vec::new(),
            ablation: Vec::new(),
        };
        Ok(Model {
            classes: labels.classes.clone(),
            config: config.clone(),
            featurizer,
            classifier,
            training,
            gate,
        })
    }

    /// The off-topic gate, when the model has one.
    pub fn gate(&self) -> Option<&Gate> {
        self.gate.as_ref()
    }

    /// Class names, in probability order.
    pub fn classes(&self) -> &[String] {
        self.classes.names()
    }
    /// The class list, as declared when the model was trained.
    pub fn class_list(&self) -> &Classes {
        &self.classes
    }
    /// The settings it was trained with.
    pub fn config(&self) -> &TrainConfig {
        &self.config
    }
    /// The fitted featurizer.
    pub fn featurizer(&self) -> &FittedTfIdfVectorizer {
        &self.featurizer
    }
    /// The fitted classifier.
    pub fn classifier(&self) -> &Classifier {
        &self.classifier
    }
    /// Provenance and cross-validation results.
    pub fn training(&self) -> &TrainingInfo {
        &self.training
    }

    /// Records the grid search and ablation that chose this model's settings.
    pub fn with_selection(
        mut self,
        selection: Option<Selection>,
        ablation: Vec<AblationRow>,
    ) -> Model {
        self.training.selection = selection;
        self.training.ablation = ablation;
        self
    }

    /// Records the off-topic measurement of this model.
    pub fn with_offtopic(mut self, shares: Vec<OffTopicShare>) -> Model {
        self.training.offtopic = shares;
        self
    }

    /// Scores a featurized sentence, with up to `n_evidence` evidence terms.
    pub fn predict(&self, x: &SparseVec, n_evidence: usize) -> Prediction {
        let mut probabilities = vec![0.0; self.classes.len()];
        let mut evidence = Vec::new();
        let label = self.predict_into(x, n_evidence, &mut probabilities, &mut evidence);
        Prediction {
            label,
            probabilities,
            evidence,
        }
    }

    /// [`Model::predict`] into buffers the caller reuses: the class
    /// probabilities into `probabilities` (one per class), the evidence
    /// into `evidence`; returns the label.
    pub fn predict_into(
        &self,
        x: &SparseVec,
        n_evidence: usize,
        probabilities: &mut [f64],
        evidence: &mut Vec<Evidence>,
    ) -> usize {
        self.classifier.probabilities(x, probabilities);
        let label = argmax(probabilities);
        self.evidence_into(x, label, n_evidence, evidence);
        label
    }

    /// The features of `x` that push hardest toward `class` (positive
    /// contributions only, strongest first, ties by feature index).
    pub fn evidence(&self, x: &SparseVec, class: usize, n: usize) -> Vec<Evidence> {
        let mut out = Vec::new();
        self.evidence_into(x, class, n, &mut out);
        out
    }

    /// [`Model::evidence`] into `out` (cleared first), reusing its memory:
    /// the `n` strongest are kept in order as the features are visited, no
    /// list of every contribution is built and sorted.
    pub fn evidence_into(&self, x: &SparseVec, class: usize, n: usize, out: &mut Vec<Evidence>) {
        out.clear();
        if n == 0 {
            return;
        }
        // Strongest first; ties by feature index.
        let before = |a: &Evidence, b: &Evidence| {
            a.contribution > b.contribution
                || (a.contribution == b.contribution && a.feature < b.feature)
        };
        // What a feature must beat to be kept: a positive contribution
        // while fewer than `n` are kept, then the weakest kept one. One
        // test, which most features fail once `n` are kept, rather than a
        // test of the sign (true about half the time, at random) and then
        // another.
        let mut floor = Evidence {
            feature: 0,
            contribution: 0.0,
        };
        for (feature, v) in x.iter() {
            let e = Evidence {
                feature,
                contribution: self.classifier.contribution(feature, v, class),
            };
            // False for NaN.
            if !before(&e, &floor) {
                continue;
            }
            if out.len() == n {
                out.pop();
            }
            let at = out.partition_point(|o| before(o, &e));
            out.insert(at, e);
            if out.len() == n {
                floor = out[n - 1];
            }
        }
    }

    /// The `n` terms with the largest weight for `class` against the average
    /// class, as `(display form, weight)`.
    pub fn top_terms(&self, class: usize, n: usize) -> Vec<(String, f64)> {
        let mut scored: Vec<(f64, usize)> = (0..self.featurizer.n_features())
            .map(|j| (self.classifier.contribution(j, 1.0, class), j))
            .collect();
        scored.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
        scored
            .into_iter()
            .take(n)
            .map(|(w, j)| (self.featurizer.display()[j].clone(), w))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::toy;

    #[test]
    fn trains_predicts_and_round_trips() {
        let labels = toy();
        let model = Model::train(&labels, &TrainConfig::default(), None).unwrap();
        let x = model.featurizer().transform("warm cooperation");
        let p = model.predict(&x, 2);
        assert_eq!(model.classes()[p.label], "pos");
        assert!((p.probabilities.iter().sum::<f64>() - 1.0).abs() < 1e-12);
        assert!(!p.evidence.is_empty());
        assert!(p.evidence.iter().all(|e| e.contribution > 0.0));
        let bytes = model.to_json().unwrap();
        let back = Model::from_json(&bytes).unwrap();
        assert!(
            back.to_json().unwrap() == bytes,
            "model JSON does not round-trip"
        );
        assert_eq!(back.predict(&x, 2), p);
    }

    #[test]
    fn evidence_is_the_strongest_positive_terms_in_order() {
        let labels = toy();
        let model = Model::train(&labels, &TrainConfig::default(), None).unwrap();
        let mut reused = Vec::new();
        for row in &labels.rows {
            let x = model.featurizer().transform(&row.text);
            for class in 0..model.classes().len() {
                let mut want: Vec<Evidence> = x
                    .iter()
                    .map(|(feature, v)| Evidence {
                        feature,
                        contribution: model.classifier.contribution(feature, v, class),
                    })
                    .filter(|e| e.contribution > 0.0)
                    .collect();
                want.sort_by(|a, b| {
                    b.contribution
                        .total_cmp(&a.contribution)
                        .then(a.feature.cmp(&b.feature))
                });
                for n in 0..6 {
                    model.evidence_into(&x, class, n, &mut reused);
                    assert_eq!(reused, want[..n.min(want.len())], "{:?} n={n}", row.text);
                }
            }
        }
    }

    #[test]
    fn training_is_deterministic() {
        let labels = toy();
        let a = Model::train(&labels, &TrainConfig::default(), None).unwrap();
        let b = Model::train(&labels, &TrainConfig::default(), None).unwrap();
        assert!(a.to_json().unwrap() == b.to_json().unwrap());
    }

    #[test]
    fn class_without_rows_is_an_error() {
        let mut labels = toy();
        labels.rows.retain(|r| r.label != 2);
        let err = Model::train(&labels, &TrainConfig::default(), None)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("class `neutral` has no labelled rows"),
            "{err}"
        );
    }

    #[test]
    fn replication_balances_classes() {
        assert_eq!(replication(&[100, 20, 40], true), vec![1, 5, 3]);
        assert_eq!(replication(&[100, 20, 40], false), vec![1, 1, 1]);
        assert_eq!(replication(&[100, 0], true), vec![1, 1]);
    }
}
