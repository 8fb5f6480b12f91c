//! The trained model: classifier, featurizer and the file that stores them.
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

mod classifier;
mod file;

pub(crate) use classifier::fit_parts;
pub use classifier::{argmax, Classifier, Evidence, Model, Prediction, TrainConfig};
pub use file::{
    AblationRow, ClassCount, CvReport, GridPoint, GridRow, Selection, TrainingInfo, FORMAT,
    FORMAT_VERSION,
};
