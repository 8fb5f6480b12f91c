//! Honest model selection: every choice is judged by grouped
//! cross-validation (whole articles held out), deterministically.
//!
//! Has the responsibility to pick the L2 strength and featurizer settings
//! from a small grid, and to measure what each lexicon stage adds (the
//! ablation), both by the same yardstick: macro-F1 over held-out articles.

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::Result;
use crate::features::DfBound;
use crate::labels::LabelSet;
use crate::model::{cross_validate, Folds, TrainConfig};

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
    /// Class balancing by row replication.
    pub balance: bool,
}

impl GridPoint {
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

/// The grid, in evaluation order (ties go to the earlier point): alpha
/// {0.3, 1, 3} × min_df {1, 2} × n-grams up to {1, 2} × sublinear tf
/// {on, off} × balancing {on, off}.
pub fn default_grid() -> Vec<GridPoint> {
    let mut grid = Vec::new();
    for &alpha in &[0.3, 1.0, 3.0] {
        for &min_df in &[1, 2] {
            for &ngram_max in &[1, 2] {
                for &sublinear_tf in &[true, false] {
                    for &balance in &[true, false] {
                        grid.push(GridPoint {
                            alpha,
                            min_df,
                            ngram_max,
                            sublinear_tf,
                            balance,
                        });
                    }
                }
            }
        }
    }
    grid
}

/// A four-point grid for quick runs and tests: alpha 1, min_df 1, sublinear
/// tf, n-grams up to {1, 2} × balancing {on, off}.
pub fn quick_grid() -> Vec<GridPoint> {
    default_grid()
        .into_iter()
        .filter(|p| p.alpha == 1.0 && p.min_df == 1 && p.sublinear_tf)
        .collect()
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
}

/// Cross-validates every grid point on top of `base` and picks the best.
/// `progress` is called once per finished point (from worker threads).
pub fn grid_search(
    labels: &LabelSet,
    base: &TrainConfig,
    grid: &[GridPoint],
    folds: Folds,
    progress: &(dyn Fn() + Sync),
) -> Result<Selection> {
    let results: Vec<Result<(GridRow, String)>> = grid
        .par_iter()
        .map(|point| {
            let (report, _) = cross_validate(labels, &point.apply(base), folds)?;
            progress();
            Ok((
                GridRow {
                    point: *point,
                    macro_f1: report.metrics.macro_f1,
                    accuracy: report.metrics.accuracy,
                },
                report.scheme,
            ))
        })
        .collect();
    let mut rows = Vec::with_capacity(grid.len());
    let mut scheme = String::new();
    for r in results {
        let (row, s) = r?;
        rows.push(row);
        scheme = s;
    }
    let mut chosen = 0;
    for (i, row) in rows.iter().enumerate() {
        if row.macro_f1 > rows[chosen].macro_f1 {
            chosen = i;
        }
    }
    Ok(Selection {
        scheme,
        rows,
        chosen,
    })
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

/// Model selection with the lexicon stages, and the ablation that justifies
/// them. Returns the configuration to train, the selection and the table:
///
/// 1. `plain TF-IDF`: no lexicon stage, at its own best grid point;
/// 2. `+ actors`, 3. `+ cues` (cumulative), at the grid point chosen with
///    actors and cues on;
/// 4. `+ negation`, at that point; negation is kept only if it raises
///    macro-F1.
pub fn select_with_ablation(
    labels: &LabelSet,
    base: &TrainConfig,
    grid: &[GridPoint],
    folds: Folds,
    progress: &(dyn Fn() + Sync),
) -> Result<(TrainConfig, Selection, Vec<AblationRow>)> {
    let stages = |actors: bool, cues: bool, negation: bool| {
        let mut c = base.clone();
        c.featurizer.actors = actors;
        c.featurizer.cues = cues;
        c.featurizer.negation = negation;
        c
    };
    let row = |name: &str, point: GridPoint, config: &TrainConfig| -> Result<AblationRow> {
        let (report, _) = cross_validate(labels, config, folds)?;
        progress();
        Ok(AblationRow {
            name: name.to_string(),
            point,
            macro_f1: report.metrics.macro_f1,
            per_class_f1: report.metrics.per_class.iter().map(|m| m.f1).collect(),
        })
    };
    let plain = grid_search(labels, &stages(false, false, false), grid, folds, progress)?;
    let full = grid_search(labels, &stages(true, true, false), grid, folds, progress)?;
    let plain_point = plain.rows[plain.chosen].point;
    let point = full.rows[full.chosen].point;
    let mut table = vec![
        row(
            "plain TF-IDF",
            plain_point,
            &plain_point.apply(&stages(false, false, false)),
        )?,
        row("+ actors", point, &point.apply(&stages(true, false, false)))?,
        row("+ cues", point, &point.apply(&stages(true, true, false)))?,
    ];
    let with_negation = point.apply(&stages(true, true, true));
    table.push(row("+ negation", point, &with_negation)?);
    let keep_negation = table[3].macro_f1 > table[2].macro_f1;
    let chosen = if keep_negation {
        with_negation
    } else {
        point.apply(&stages(true, true, false))
    };
    Ok((chosen, full, table))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grid_is_the_documented_one() {
        let grid = default_grid();
        assert_eq!(grid.len(), 48);
        assert_eq!(grid[0].alpha, 0.3);
        assert!(grid[0].sublinear_tf && grid[0].balance);
        let base = TrainConfig::default();
        let c = grid[47].apply(&base);
        assert_eq!(c.alpha, 3.0);
        assert_eq!(c.featurizer.min_df, DfBound::Count(2));
        assert_eq!(c.featurizer.ngram_range, (1, 2));
        assert!(!c.featurizer.sublinear_tf && !c.balance);
    }
}
