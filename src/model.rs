//! The classifier and the model file.
//!
//! Has the responsibility to fit a multinomial logistic regression
//! (linfa-logistic's `MultiLogisticRegression`) on TF-IDF rows, to turn a
//! sparse row into class probabilities and evidence, and to store everything
//! scoring needs in one self-describing JSON file.
//!
//! * The L2 strength `alpha` multiplies `½‖W‖²` added to the *summed*
//!   cross-entropy, so `alpha = 1/C` in scikit-learn's terms.
//! * linfa-logistic has no sample weights. With `balance` on, every row of
//!   class `c` is repeated `max(1, round(n_max / n_c))` times, where `n_max`
//!   is the size of the largest class; the factors are recorded in the model.
//! * Training is dense (linfa needs a dense matrix); scoring is a sparse dot
//!   product with the stored weights.
//! * Training is deterministic: the same rows and settings give the same
//!   bytes.

use std::path::Path;

use linfa::prelude::*;
use linfa_logistic::MultiLogisticRegression;
use ndarray::{Array1, Array2};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::features::{FittedTfIdfVectorizer, SparseVec, TfIdfVectorizer};
use crate::labels::LabelSet;
use crate::report::Metrics;

/// Identifies a stance model file.
pub const FORMAT: &str = "stance-model";
/// The model-file version this build reads and writes.
pub const FORMAT_VERSION: u32 = 1;
/// Logit given to a class the training rows did not contain.
const ABSENT_LOGIT: f64 = -1.0e3;

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
    /// Replicate minority-class rows (see the module docs); defaults to `true`.
    pub balance: bool,
}

impl Default for TrainConfig {
    fn default() -> Self {
        TrainConfig {
            featurizer: TfIdfVectorizer::default().min_df(crate::features::DfBound::Count(2)),
            alpha: 1.0,
            max_iterations: 300,
            gradient_tolerance: 1e-5,
            balance: true,
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
}

impl Classifier {
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
            return Ok(Classifier {
                n_features,
                n_classes,
                weights,
                intercepts,
            });
        }
        let n_rows: usize = y.iter().map(|&c| replication[c]).sum();
        let mut dense = Array2::<f64>::zeros((n_rows, n_features));
        let mut targets = Array1::<usize>::zeros(n_rows);
        let mut r = 0;
        for (row, &label) in x.iter().zip(y) {
            for _ in 0..replication[label] {
                for (j, v) in row.iter() {
                    dense[[r, j]] = v;
                }
                targets[r] = label;
                r += 1;
            }
        }
        let dataset = Dataset::new(dense, targets);
        let fitted = MultiLogisticRegression::default()
            .alpha(config.alpha)
            .max_iterations(config.max_iterations)
            .gradient_tolerance(config.gradient_tolerance)
            .fit(&dataset)
            .map_err(|e| Error::Training(format!("logistic regression failed: {e}")))?;
        let params = fitted.params();
        let fitted_intercepts = fitted.intercept();
        for (col, &class) in fitted.classes().iter().enumerate() {
            intercepts[class] = fitted_intercepts[col];
            for j in 0..n_features {
                weights[j * n_classes + class] = params[[j, col]];
            }
        }
        Ok(Classifier {
            n_features,
            n_classes,
            weights,
            intercepts,
        })
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
        if weights.iter().chain(&intercepts).any(|w| !w.is_finite()) {
            return Err(Error::Config("weights must be finite numbers".into()));
        }
        Ok(Classifier {
            n_features,
            n_classes,
            weights,
            intercepts,
        })
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

    /// Weight of feature `j` for class `c`.
    #[inline]
    pub fn weight(&self, j: usize, c: usize) -> f64 {
        self.weights[j * self.n_classes + c]
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
        for o in out.iter_mut() {
            *o /= sum;
        }
    }

    /// How much feature `j` with value `v` pushes toward class `c` against
    /// the average class: `v · (w_jc − mean_k w_jk)`.
    #[inline]
    pub fn contribution(&self, j: usize, v: f64, c: usize) -> f64 {
        let w = &self.weights[j * self.n_classes..(j + 1) * self.n_classes];
        let mean = w.iter().sum::<f64>() / self.n_classes as f64;
        v * (w[c] - mean)
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

/// Class sizes and the replication used for balancing.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClassCount {
    /// Class name.
    pub class: String,
    /// Labelled rows of this class.
    pub rows: usize,
    /// How many times each row was used in training.
    pub replication: usize,
}

/// Cross-validation results stored with the model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CvReport {
    /// How folds were formed.
    pub scheme: String,
    /// Number of folds.
    pub folds: usize,
    /// Pooled metrics over all held-out predictions.
    pub metrics: Metrics,
}

/// What the model was trained on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainingInfo {
    /// SHA-256 of the training rows (see [`LabelSet::sha256`]).
    pub data_sha256: String,
    /// Unique labelled rows.
    pub rows: usize,
    /// Distinct articles (`doc_id`s).
    pub documents: usize,
    /// Repeated rows that were counted once.
    pub duplicates_dropped: usize,
    /// Rows per class.
    pub classes: Vec<ClassCount>,
    /// Grouped cross-validation, when it was run.
    pub cross_validation: Option<CvReport>,
    /// The grid search that chose the settings, when it was run.
    #[serde(default)]
    pub selection: Option<crate::select::Selection>,
    /// What each lexicon stage adds, when it was measured.
    #[serde(default)]
    pub ablation: Vec<crate::select::AblationRow>,
}

/// A trained model: featurizer, classifier and their provenance.
#[derive(Debug, Clone)]
pub struct Model {
    classes: Vec<String>,
    config: TrainConfig,
    featurizer: FittedTfIdfVectorizer,
    classifier: Classifier,
    training: TrainingInfo,
}

/// Replication factor per class for balancing.
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
fn fit_parts(
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

/// How cross-validation folds are formed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Folds {
    /// One fold per article (`doc_id`).
    LeaveOneArticleOut,
    /// `k` folds of whole articles, balanced by sentence count.
    Grouped(usize),
}

/// Assigns each row to a fold; no article is split between folds.
pub fn assign_folds(labels: &LabelSet, folds: Folds) -> Result<(Vec<usize>, usize, String)> {
    let docs = labels.doc_ids();
    let n_docs = docs.len();
    if n_docs < 2 {
        return Err(Error::Training(format!(
            "cross-validation needs at least two articles (doc_ids), found {n_docs}"
        )));
    }
    let mut doc_fold = std::collections::HashMap::new();
    let (k, scheme) = match folds {
        Folds::LeaveOneArticleOut => {
            for (i, d) in docs.iter().enumerate() {
                doc_fold.insert(*d, i);
            }
            (n_docs, "leave-one-article-out".to_string())
        }
        Folds::Grouped(k) => {
            if k < 2 {
                return Err(Error::Config(format!("folds must be at least 2, got {k}")));
            }
            let k = k.min(n_docs);
            let mut sizes: Vec<(usize, &str)> = docs
                .iter()
                .map(|d| (labels.rows.iter().filter(|r| r.doc_id == *d).count(), *d))
                .collect();
            sizes.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(b.1)));
            let mut load = vec![0usize; k];
            for (size, d) in sizes {
                let f = (0..k).min_by_key(|&f| (load[f], f)).unwrap_or(0);
                load[f] += size;
                doc_fold.insert(d, f);
            }
            (k, format!("{k}-fold grouped by article"))
        }
    };
    let assignment = labels
        .rows
        .iter()
        .map(|r| doc_fold[r.doc_id.as_str()])
        .collect();
    Ok((assignment, k, scheme))
}

/// Grouped cross-validation: for each fold, fits featurizer and classifier
/// on the other folds only and predicts the held-out articles. Returns the
/// pooled metrics and each row's held-out prediction.
pub fn cross_validate(
    labels: &LabelSet,
    config: &TrainConfig,
    folds: Folds,
) -> Result<(CvReport, Vec<usize>)> {
    config.validate()?;
    let (assignment, k, scheme) = assign_folds(labels, folds)?;
    let n_classes = labels.classes.len();
    let per_fold: Vec<Result<Vec<(usize, usize)>>> = (0..k)
        .into_par_iter()
        .map(|fold| {
            let (train, test): (Vec<usize>, Vec<usize>) =
                (0..labels.rows.len()).partition(|&i| assignment[i] != fold);
            let texts: Vec<&str> = train
                .iter()
                .map(|&i| labels.rows[i].text.as_str())
                .collect();
            let ys: Vec<usize> = train.iter().map(|&i| labels.rows[i].label).collect();
            let (featurizer, classifier, _) = fit_parts(&texts, &ys, n_classes, config)?;
            let mut t = featurizer.transformer();
            let mut x = SparseVec::default();
            let mut p = vec![0.0; n_classes];
            Ok(test
                .iter()
                .map(|&i| {
                    t.transform(&labels.rows[i].text, &mut x);
                    classifier.probabilities(&x, &mut p);
                    (i, argmax(&p))
                })
                .collect())
        })
        .collect();
    let mut predicted = vec![0; labels.rows.len()];
    for fold in per_fold {
        for (i, p) in fold? {
            predicted[i] = p;
        }
    }
    let truth: Vec<usize> = labels.rows.iter().map(|r| r.label).collect();
    let metrics = Metrics::compute(labels.classes.names(), &truth, &predicted);
    Ok((
        CvReport {
            scheme,
            folds: k,
            metrics,
        },
        predicted,
    ))
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
            ablation: Vec::new(),
        };
        Ok(Model {
            classes: names.to_vec(),
            config: config.clone(),
            featurizer,
            classifier,
            training,
        })
    }

    /// Class names, in probability order.
    pub fn classes(&self) -> &[String] {
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
        selection: Option<crate::select::Selection>,
        ablation: Vec<crate::select::AblationRow>,
    ) -> Model {
        self.training.selection = selection;
        self.training.ablation = ablation;
        self
    }

    /// Scores a featurized sentence, with up to `n_evidence` evidence terms.
    pub fn predict(&self, x: &SparseVec, n_evidence: usize) -> Prediction {
        let mut probabilities = vec![0.0; self.classes.len()];
        self.classifier.probabilities(x, &mut probabilities);
        let label = argmax(&probabilities);
        let evidence = self.evidence(x, label, n_evidence);
        Prediction {
            label,
            probabilities,
            evidence,
        }
    }

    /// The features of `x` that push hardest toward `class` (positive
    /// contributions only, strongest first, ties by feature index).
    pub fn evidence(&self, x: &SparseVec, class: usize, n: usize) -> Vec<Evidence> {
        if n == 0 {
            return Vec::new();
        }
        let mut scored: Vec<Evidence> = x
            .iter()
            .map(|(feature, v)| Evidence {
                feature,
                contribution: self.classifier.contribution(feature, v, class),
            })
            .filter(|e| e.contribution > 0.0)
            .collect();
        scored.sort_by(|a, b| {
            b.contribution
                .total_cmp(&a.contribution)
                .then(a.feature.cmp(&b.feature))
        });
        scored.truncate(n);
        scored
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

    /// Serialises the model as JSON bytes.
    pub fn to_json(&self) -> Result<Vec<u8>> {
        let file = ModelFile {
            format: FORMAT.into(),
            format_version: FORMAT_VERSION,
            classes: self.classes.clone(),
            settings: self.config.clone(),
            featurizer: FeaturizerFile {
                vocabulary: self.featurizer.vocabulary().to_vec(),
                display: self.featurizer.display().to_vec(),
                idf: self.featurizer.idf().to_vec(),
            },
            classifier: ClassifierFile {
                intercepts: self.classifier.intercepts().to_vec(),
                weights: self.classifier.class_rows(),
            },
            training: self.training.clone(),
        };
        let mut bytes = serde_json::to_vec(&file)
            .map_err(|e| Error::Config(format!("cannot serialise model: {e}")))?;
        bytes.push(b'\n');
        Ok(bytes)
    }

    /// Writes the model atomically to `path`.
    pub fn save(&self, path: &Path) -> Result<()> {
        let bytes = self.to_json()?;
        crate::io::atomic_write(path, |w| w.write_all(&bytes))
    }

    /// Reads a model file, checking format, version and consistency.
    pub fn load(path: &Path) -> Result<Model> {
        let bytes = std::fs::read(path).map_err(|e| Error::Model {
            path: path.to_path_buf(),
            message: format!("cannot read model file: {e}"),
        })?;
        Model::from_json(&bytes).map_err(|message| Error::Model {
            path: path.to_path_buf(),
            message,
        })
    }

    /// Parses model JSON; the error is a sentence for the user.
    pub fn from_json(bytes: &[u8]) -> std::result::Result<Model, String> {
        #[derive(Deserialize)]
        struct Header {
            format: Option<String>,
            format_version: Option<u64>,
        }
        let header: Header = serde_json::from_slice(bytes).map_err(|e| {
            if e.is_eof() {
                format!("model file is truncated ({e}); retrain with `make train`")
            } else {
                format!("not a stance model file (invalid JSON: {e})")
            }
        })?;
        if header.format.as_deref() != Some(FORMAT) {
            return Err(format!(
                "not a stance model file (its `format` field is {:?}, expected {FORMAT:?})",
                header.format.unwrap_or_default()
            ));
        }
        if header.format_version != Some(FORMAT_VERSION as u64) {
            return Err(format!(
                "model format version {} is not supported by this build (it reads version {FORMAT_VERSION}); retrain with `make train`",
                header
                    .format_version
                    .map_or_else(|| "(missing)".to_string(), |v| v.to_string())
            ));
        }
        let file: ModelFile =
            serde_json::from_slice(bytes).map_err(|e| format!("model file is damaged: {e}"))?;
        crate::labels::Classes::new(file.classes.clone())
            .map_err(|e| format!("bad class list: {e}"))?;
        if file.classifier.intercepts.len() != file.classes.len() {
            return Err(format!(
                "model has {} classes but {} intercepts",
                file.classes.len(),
                file.classifier.intercepts.len()
            ));
        }
        let featurizer = FittedTfIdfVectorizer::from_parts(
            file.settings.featurizer.clone(),
            file.featurizer.vocabulary,
            file.featurizer.display,
            file.featurizer.idf,
        )
        .map_err(|e| format!("bad featurizer: {e}"))?;
        let classifier =
            Classifier::from_class_rows(file.classifier.intercepts, &file.classifier.weights)
                .map_err(|e| format!("bad classifier: {e}"))?;
        if classifier.n_features() != featurizer.n_features() {
            return Err(format!(
                "classifier has {} features but the vocabulary has {}",
                classifier.n_features(),
                featurizer.n_features()
            ));
        }
        Ok(Model {
            classes: file.classes,
            config: file.settings,
            featurizer,
            classifier,
            training: file.training,
        })
    }
}

#[derive(Serialize, Deserialize)]
struct ModelFile {
    format: String,
    format_version: u32,
    classes: Vec<String>,
    settings: TrainConfig,
    featurizer: FeaturizerFile,
    classifier: ClassifierFile,
    training: TrainingInfo,
}

#[derive(Serialize, Deserialize)]
struct FeaturizerFile {
    vocabulary: Vec<String>,
    display: Vec<String>,
    idf: Vec<f64>,
}

#[derive(Serialize, Deserialize)]
struct ClassifierFile {
    intercepts: Vec<f64>,
    /// One row per class, one weight per vocabulary term.
    weights: Vec<Vec<f64>>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::labels::{Classes, LabelSet, LabeledRow};

    fn toy() -> LabelSet {
        let classes = Classes::new(vec!["pos".into(), "neg".into(), "neutral".into()]).unwrap();
        let data = [
            ("d1", "ties warm and cooperation deepens", 0),
            ("d1", "trust falls and rivalry grows", 1),
            ("d1", "the weather is mild", 2),
            ("d2", "cooperation and warm ties again", 0),
            ("d2", "rivalry and distrust persist", 1),
            ("d2", "a byline and a caption", 2),
            ("d3", "warm cooperation on energy", 0),
            ("d3", "distrust and rivalry on borders", 1),
            ("d3", "caption of a photo", 2),
        ];
        LabelSet {
            classes,
            rows: data
                .iter()
                .enumerate()
                .map(|(i, (d, t, l))| LabeledRow {
                    doc_id: d.to_string(),
                    text: t.to_string(),
                    label: *l,
                    path: "toy.csv".into(),
                    line: i as u64 + 2,
                })
                .collect(),
            duplicates: 0,
        }
    }

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
    fn training_is_deterministic() {
        let labels = toy();
        let a = Model::train(&labels, &TrainConfig::default(), None).unwrap();
        let b = Model::train(&labels, &TrainConfig::default(), None).unwrap();
        assert!(a.to_json().unwrap() == b.to_json().unwrap());
    }

    #[test]
    fn folds_never_split_an_article() {
        let labels = toy();
        let (assign, k, _) = assign_folds(&labels, Folds::Grouped(2)).unwrap();
        assert_eq!(k, 2);
        for (a, ra) in assign.iter().zip(&labels.rows) {
            for (b, rb) in assign.iter().zip(&labels.rows) {
                if ra.doc_id == rb.doc_id {
                    assert_eq!(a, b);
                }
            }
        }
        let (assign, k, scheme) = assign_folds(&labels, Folds::LeaveOneArticleOut).unwrap();
        assert_eq!((k, scheme.as_str()), (3, "leave-one-article-out"));
        assert_eq!(assign, vec![0, 0, 0, 1, 1, 1, 2, 2, 2]);
    }

    #[test]
    fn cross_validation_scores_held_out_articles() {
        let (report, predicted) =
            cross_validate(&toy(), &TrainConfig::default(), Folds::LeaveOneArticleOut).unwrap();
        assert_eq!(report.metrics.n, 9);
        assert_eq!(predicted.len(), 9);
        assert!(
            report.metrics.accuracy > 0.5,
            "{}",
            report.metrics.to_text()
        );
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

    #[test]
    fn bad_model_files_are_explained() {
        let model = Model::train(&toy(), &TrainConfig::default(), None).unwrap();
        let bytes = model.to_json().unwrap();
        let truncated = Model::from_json(&bytes[..bytes.len() / 2]).unwrap_err();
        assert!(truncated.contains("truncated"), "{truncated}");
        let not_json = Model::from_json(b"hello").unwrap_err();
        assert!(not_json.contains("invalid JSON"), "{not_json}");
        let other = String::from_utf8(bytes.clone())
            .unwrap()
            .replace("\"format_version\":1", "\"format_version\":99");
        let other = Model::from_json(other.as_bytes()).unwrap_err();
        assert!(other.contains("version 99 is not supported"), "{other}");
        let wrong = Model::from_json(br#"{"format":"x"}"#).unwrap_err();
        assert!(wrong.contains("not a stance model"), "{wrong}");
    }
}
