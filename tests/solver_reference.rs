//! The sparse solver against linfa-logistic: the same objective minimised by
//! the same L-BFGS, once on sparse rows (stance) and once on the dense
//! matrix (linfa-logistic's `MultiLogisticRegression`), on real seed
//! sentences. Weights and probabilities must agree closely.

mod common;

use common::*;
use linfa::prelude::*;
use linfa_logistic::MultiLogisticRegression;
use ndarray::{Array1, Array2};
use stance::features::TfIdfVectorizer;
use stance::labels::{expand_paths, read_labels, Classes};
use stance::model::{Classifier, TrainConfig};

#[test]
fn sparse_fit_matches_linfa_logistic_dense_fit() {
    let classes = Classes::load(&root().join("labels/classes.txt")).unwrap();
    let labels = read_labels(
        &expand_paths(&[root().join("labels/seeds.csv")]).unwrap(),
        &classes,
    )
    .unwrap();
    let rows = &labels.rows[..200];
    let texts: Vec<&str> = rows.iter().map(|r| r.text.as_str()).collect();
    let y: Vec<usize> = rows.iter().map(|r| r.label).collect();
    let fitted = TfIdfVectorizer::default().fit(&texts).unwrap();
    let x = fitted.transform_all(&texts);
    let d = fitted.n_features();
    let k = classes.len();
    let config = TrainConfig {
        alpha: 0.5,
        gradient_tolerance: 1e-8,
        max_iterations: 2000,
        ..TrainConfig::default()
    };
    let ours = Classifier::fit(&x, &y, k, d, &config, &vec![1; k]).unwrap();

    let mut dense = Array2::<f64>::zeros((rows.len(), d));
    for (i, row) in x.iter().enumerate() {
        for (j, v) in row.iter() {
            dense[[i, j]] = v;
        }
    }
    let reference = MultiLogisticRegression::default()
        .alpha(config.alpha)
        .max_iterations(config.max_iterations)
        .gradient_tolerance(config.gradient_tolerance)
        .fit(&Dataset::new(dense.clone(), Array1::from(y.clone())))
        .unwrap();
    assert_eq!(reference.classes(), &[0, 1, 2, 3]);
    let ours_rows = ours.class_rows();
    let mut largest = 0.0f64;
    for (c, row) in ours_rows.iter().enumerate() {
        for (j, w) in row.iter().enumerate() {
            largest = largest.max((w - reference.params()[[j, c]]).abs());
        }
        largest = largest.max((ours.intercepts()[c] - reference.intercept()[c]).abs());
    }
    assert!(largest < 1e-4, "largest weight difference {largest}");
    let probabilities = reference.predict_probabilities(&dense);
    let mut p = vec![0.0; k];
    for (i, row) in x.iter().enumerate() {
        ours.probabilities(row, &mut p);
        for (c, pc) in p.iter().enumerate() {
            assert!((pc - probabilities[[i, c]]).abs() < 1e-5, "row {i}");
        }
    }
}
