//! The trained model: classifier, featurizer and the file that stores them.
//!
//! Has the responsibility to fit a multinomial logistic regression on
//! TF-IDF rows (the objective of linfa-logistic's `MultiLogisticRegression`,
//! minimised on sparse rows: see `solver.rs`), to turn a sparse row into
//! class probabilities and evidence, and to store everything scoring needs
//! in one self-describing JSON file.
//!
//! * The L2 strength `alpha` multiplies `½‖W‖²` added to the *summed*
//!   cross-entropy, so `alpha = 1/C` in scikit-learn's terms.
//! * With `balance` on, every row of class `c` counts
//!   `max(1, round(n_max / n_c))` times, where `n_max` is the size of the
//!   largest class (a row weight, the same objective as repeating the row);
//!   the factors are recorded in the model.
//! * Training and scoring are sparse: no dense copy of the TF-IDF matrix is
//!   made.
//! * Training is deterministic: the same rows and settings give the same
//!   bytes.

mod classifier;
mod file;
mod gate;
mod solver;

pub use classifier::{argmax, Classifier, Evidence, Model, Prediction, TrainConfig};
pub(crate) use classifier::{fit_parts, resolve_gate};
pub use file::{
    AblationRow, ClassCount, CvReport, GridPoint, GridRow, OffTopicShare, Selection, SkippedPoint,
    TrainingInfo, FORMAT, FORMAT_VERSION,
};
pub use gate::{Gate, OffTopicGate};
