//! The model file and its provenance.
//!
//! Has the responsibility to store everything scoring needs in one
//! self-describing JSON document (format and version, classes, settings,
//! vocabulary with idf, weights and intercepts) together with what the model
//! was trained on and how its settings were chosen: the training data's
//! hash and class counts, the cross-validation report, the grid search and
//! the ablation. Reading refuses a missing, truncated, other-version or
//! inconsistent file with a sentence saying so.

use std::path::Path;

use serde::{Deserialize, Serialize};

use super::classifier::{Classifier, Model, TrainConfig};
use crate::error::{Error, Result};
use crate::features::{DfBound, FittedTfIdfVectorizer};
use crate::metrics::Metrics;

/// Identifies a stance model file.
pub const FORMAT: &str = "stance-model";
/// The model-file version this build reads and writes.
pub const FORMAT_VERSION: u32 = 1;

/// Class sizes and the row weight used for balancing.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClassCount {
    /// Class name.
    pub class: String,
    /// Labelled rows of this class.
    pub rows: usize,
    /// How many times each row counts in the training objective (its
    /// weight; the field keeps the name it had when rows were repeated).
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
    /// SHA-256 of the training rows (see [`crate::labels::LabelSet::sha256`]).
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
    pub selection: Option<Selection>,
    /// The off-topic measurement, one entry per corpus.
    #[serde(default)]
    pub offtopic: Vec<OffTopicShare>,
    /// What each lexicon stage adds, when it was measured.
    #[serde(default)]
    pub ablation: Vec<AblationRow>,
}

/// One point of the grid.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct GridPoint {
    /// L2 strength.
    pub alpha: f64,
    /// Minimum number of sentences a term must occur in.
    pub min_df: usize,
    /// Largest n-gram length (n-grams from 1 up).
    pub ngram_max: usize,
    /// Sublinear tf.
    pub sublinear_tf: bool,
    /// Class balancing by row weight.
    pub balance: bool,
}

impl GridPoint {
    /// The settings in words, for reports.
    pub fn describe(&self) -> String {
        format!(
            "alpha {}, min_df {}, n-grams 1–{}, sublinear {}, balance {}",
            self.alpha,
            self.min_df,
            self.ngram_max,
            if self.sublinear_tf { "on" } else { "off" },
            if self.balance { "on" } else { "off" }
        )
    }

    /// `base` with this point's settings.
    pub fn apply(&self, base: &TrainConfig) -> TrainConfig {
        let mut c = base.clone();
        c.alpha = self.alpha;
        c.featurizer.min_df = DfBound::Count(self.min_df);
        c.featurizer.ngram_range = (1, self.ngram_max);
        c.featurizer.sublinear_tf = self.sublinear_tf;
        c.balance = self.balance;
        c
    }
}

/// A grid point and its cross-validated scores.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GridRow {
    /// The settings.
    pub point: GridPoint,
    /// Pooled macro-F1 over held-out articles.
    pub macro_f1: f64,
    /// Pooled accuracy.
    pub accuracy: f64,
}

/// The result of a grid search.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Selection {
    /// How folds were formed.
    pub scheme: String,
    /// Every grid point, in evaluation order.
    pub rows: Vec<GridRow>,
    /// Index of the chosen row: highest macro-F1, earliest on ties.
    pub chosen: usize,
    /// Grid points the labels could not support, and why.
    #[serde(default)]
    pub skipped: Vec<SkippedPoint>,
}

/// Counts of one off-topic corpus.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct OffTopicShare {
    /// The corpus (its file name).
    pub corpus: String,
    /// Articles, and those of them that name a China or Russia actor.
    pub articles: usize,
    /// Articles naming a China or Russia actor.
    pub naming_articles: usize,
    /// Sentences in all articles.
    pub sentences: usize,
    /// Sentences that got a stance label (not the no-claim class).
    pub stance: usize,
    /// Sentences of the articles that name neither China nor Russia.
    pub unnamed_sentences: usize,
    /// Of those, the sentences that got a stance label.
    pub unnamed_stance: usize,
    /// Of those, the sentences the classifier alone, without the gate, would
    /// have given a stance label.
    pub unnamed_stance_ungated: usize,
}

impl OffTopicShare {
    /// Share of all sentences with a stance label.
    pub fn share(&self) -> f64 {
        ratio(self.stance, self.sentences)
    }
    /// Share of the sentences of articles naming neither China nor Russia
    /// with a stance label.
    pub fn unnamed_share(&self) -> f64 {
        ratio(self.unnamed_stance, self.unnamed_sentences)
    }
    /// The same share without the gate.
    pub fn unnamed_share_ungated(&self) -> f64 {
        ratio(self.unnamed_stance_ungated, self.unnamed_sentences)
    }
}

fn ratio(a: usize, b: usize) -> f64 {
    if b == 0 {
        0.0
    } else {
        a as f64 / b as f64
    }
}

/// A grid point that could not be cross-validated.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SkippedPoint {
    /// The settings.
    pub point: GridPoint,
    /// What training said.
    pub why: String,
}

/// One line of the ablation table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AblationRow {
    /// What the featurizer had.
    pub name: String,
    /// The grid point it was measured at.
    pub point: GridPoint,
    /// Pooled macro-F1 over held-out articles.
    pub macro_f1: f64,
    /// F1 per class, in class order.
    pub per_class_f1: Vec<f64>,
}

impl Model {
    /// Serialises the model as JSON bytes.
    pub fn to_json(&self) -> Result<Vec<u8>> {
        let file = ModelFile {
            format: FORMAT.into(),
            format_version: FORMAT_VERSION,
            classes: self.classes.names().to_vec(),
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
        let mut bytes = serde_json::to_vec(&file)?;
        bytes.push(b'\n');
        Ok(bytes)
    }

    /// Writes the model atomically to `path`.
    pub fn save(&self, path: &Path) -> Result<()> {
        let bytes = self.to_json()?;
        crate::io::atomic_write(path, |w| w.write_all(&bytes))
    }

    /// Reads a model file, checking format, version and consistency. A
    /// file over [`crate::io::MAX_MODEL_BYTES`] is refused before it is
    /// read (a stream, after that many bytes).
    pub fn load(path: &Path) -> Result<Model> {
        let bytes = crate::io::read_limited(path, crate::io::MAX_MODEL_BYTES).map_err(|e| {
            Error::Model {
                path: path.to_path_buf(),
                message: match e {
                    Error::Io { source, .. } => format!("cannot read model file: {source}"),
                    other => format!("cannot read model file: {other}"),
                },
            }
        })?;
        Model::from_json(&bytes).map_err(|e| match e {
            Error::InvalidModel(message) => Error::Model {
                path: path.to_path_buf(),
                message,
            },
            other => other,
        })
    }

    /// Parses model JSON; an [`Error::InvalidModel`] says in a sentence
    /// what is wrong.
    pub fn from_json(bytes: &[u8]) -> Result<Model> {
        Model::parse(bytes).map_err(Error::InvalidModel)
    }

    fn parse(bytes: &[u8]) -> std::result::Result<Model, String> {
        // One pass over the file when it is a model this build reads; the
        // header alone is read again only to say why a file is not one.
        let file: ModelFile = match serde_json::from_slice(bytes) {
            Ok(file) => file,
            Err(e) => {
                check_header(bytes)?;
                return Err(format!("model file is damaged: {e}"));
            }
        };
        check_format(Some(&file.format), Some(u64::from(file.format_version)))?;
        let classes = crate::labels::Classes::new(file.classes.clone())
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
        let gate = super::classifier::resolve_gate(&file.settings, &featurizer, &classes)
            .map_err(|e| format!("bad off-topic gate: {e}"))?;
        Ok(Model {
            classes,
            config: file.settings,
            featurizer,
            classifier,
            training: file.training,
            gate,
        })
    }
}

/// Reads the `format` and `format_version` fields of a file that is not
/// a model this build reads, to say why.
fn check_header(bytes: &[u8]) -> std::result::Result<(), String> {
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
    check_format(header.format.as_deref(), header.format_version)
}

/// Whether `format` and `format_version` are those this build reads.
fn check_format(format: Option<&str>, version: Option<u64>) -> std::result::Result<(), String> {
    if format != Some(FORMAT) {
        return Err(format!(
            "not a stance model file (its `format` field is {:?}, expected {FORMAT:?})",
            format.unwrap_or_default()
        ));
    }
    if version != Some(u64::from(FORMAT_VERSION)) {
        return Err(format!(
            "model format version {} is not supported by this build (it reads version {FORMAT_VERSION}); retrain with `make train`",
            version.map_or_else(|| "(missing)".to_string(), |v| v.to_string())
        ));
    }
    Ok(())
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
    use crate::testutil::toy;

    #[test]
    fn bad_model_files_are_explained() {
        let model = Model::train(&toy(), &TrainConfig::default(), None).unwrap();
        let bytes = model.to_json().unwrap();
        let truncated = Model::from_json(&bytes[..bytes.len() / 2])
            .unwrap_err()
            .to_string();
        assert!(truncated.contains("truncated"), "{truncated}");
        let not_json = Model::from_json(b"hello").unwrap_err().to_string();
        assert!(not_json.contains("invalid JSON"), "{not_json}");
        let other = String::from_utf8(bytes.clone())
            .unwrap()
            .replace("\"format_version\":1", "\"format_version\":99");
        let other = Model::from_json(other.as_bytes()).unwrap_err().to_string();
        assert!(other.contains("version 99 is not supported"), "{other}");
        let wrong = Model::from_json(br#"{"format":"x"}"#)
            .unwrap_err()
            .to_string();
        assert!(wrong.contains("not a stance model"), "{wrong}");
    }
}
