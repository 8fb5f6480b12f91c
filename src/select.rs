//! Honest model selection: folds, cross-validation, evaluation, grid search
//! and ablation; every choice is judged on whole articles held out.
//!
//! Has the responsibility to split labelled articles into folds, to
//! cross-validate a configuration, to evaluate a trained model on held-out
//! labels, to pick the L2 strength and featurizer settings
//! from a small grid, and to measure what each lexicon stage adds (the
//! ablation), both by the same yardstick: macro-F1 over held-out articles.

use std::collections::HashMap;

use rayon::prelude::*;

use crate::error::{Error, Result};
use crate::features::{FittedTfIdfVectorizer, SparseVec};
use crate::labels::{LabelSet, LabeledRow};
use crate::metrics::Metrics;
use crate::model::{
    argmax, fit_parts, resolve_gate, AblationRow, Classifier, CvReport, Gate, GridPoint, GridRow,
    Model, Selection, SkippedPoint, TrainConfig,
};

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
            let gate = resolve_gate(config, &featurizer, &labels.classes)?;
            let predicted = predict_labels(
                &featurizer,
                &classifier,
                gate.as_ref(),
                test.iter().map(|&i| &labels.rows[i]),
            );
            Ok(test.into_iter().zip(predicted).collect())
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

/// The most probable class of each row, as scoring would give it: with a
/// gate, the rows of an article (`doc_id`) none of whose rows names the
/// gate's actors get the gate's class.
fn predict_labels<'a>(
    featurizer: &FittedTfIdfVectorizer,
    classifier: &Classifier,
    gate: Option<&Gate>,
    rows: impl Iterator<Item = &'a LabeledRow>,
) -> Vec<usize> {
    let mut t = featurizer.transformer();
    let mut x = SparseVec::default();
    let mut p = vec![0.0; classifier.intercepts().len()];
    let mut article_masks: HashMap<&str, u32> = HashMap::new();
    let rows: Vec<(&str, usize)> = rows
        .map(|row| {
            t.transform(&row.text, &mut x);
            *article_masks.entry(row.doc_id.as_str()).or_default() |= t.actor_mask();
            classifier.probabilities(&x, &mut p);
            (row.doc_id.as_str(), argmax(&p))
        })
        .collect();
    rows.into_iter()
        .map(|(doc, label)| match gate {
            Some(g) if g.is_off_topic(article_masks[doc]) => g.class,
            _ => label,
        })
        .collect()
}

/// Scores a trained model on labelled rows it was not trained on (e.g.
/// articles from another publication): the same predict loop as
/// cross-validation, pooled into one set of metrics. The label set must use
/// the model's classes in the model's order.
pub fn evaluate(model: &Model, labels: &LabelSet) -> Result<Metrics> {
    if labels.classes.names() != model.classes() {
        return Err(Error::ClassMismatch {
            model: model.classes().join(", "),
            labels: labels.classes.joined(),
        });
    }
    let predicted = predict_labels(
        model.featurizer(),
        model.classifier(),
        model.gate(),
        labels.rows.iter(),
    );
    let truth: Vec<usize> = labels.rows.iter().map(|r| r.label).collect();
    Ok(Metrics::compute(model.classes(), &truth, &predicted))
}

/// The full grid, in evaluation order (ties go to the earlier point): alpha
/// {0.3, 1, 3} × min_df {1, 2} × n-grams up to {1, 2} × sublinear tf
/// {on, off} × balancing {on, off}: 48 points.
pub fn full_grid() -> Vec<GridPoint> {
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

/// The default grid: the [`full_grid`] with sublinear tf on, 24 points. A
/// sentence seldom repeats a term, so sublinear tf changes little; halving
/// the grid keeps `make train` within a minute and a half on two cores.
pub fn default_grid() -> Vec<GridPoint> {
    full_grid().into_iter().filter(|p| p.sublinear_tf).collect()
}

/// A four-point grid for quick runs and tests: alpha 1, min_df 1, sublinear
/// tf, n-grams up to {1, 2} × balancing {on, off}.
pub fn quick_grid() -> Vec<GridPoint> {
    full_grid()
        .into_iter()
        .filter(|p| p.alpha == 1.0 && p.min_df == 1 && p.sublinear_tf)
        .collect()
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
    let results: Vec<Result<std::result::Result<(GridRow, String), String>>> = grid
        .par_iter()
        .map(|point| {
            let outcome = match cross_validate(labels, &point.apply(base), folds) {
                Ok((report, _)) => Ok((
                    GridRow {
                        point: *point,
                        macro_f1: report.metrics.macro_f1,
                        accuracy: report.metrics.accuracy,
                    },
                    report.scheme,
                )),
                // A setting the data cannot support (a min_df that leaves
                // no term in some fold) is skipped, not fatal.
                Err(Error::Training(why)) => Err(why),
                Err(e) => return Err(e),
            };
            progress();
            Ok(outcome)
        })
        .collect();
    let mut rows = Vec::with_capacity(grid.len());
    let mut skipped = Vec::new();
    let mut scheme = String::new();
    for (r, point) in results.into_iter().zip(grid) {
        match r? {
            Ok((row, s)) => {
                rows.push(row);
                scheme = s;
            }
            Err(why) => skipped.push(SkippedPoint { point: *point, why }),
        }
    }
    if rows.is_empty() {
        return Err(Error::Training(format!(
            "no grid point can be trained on these labels ({})",
            skipped
                .first()
                .map_or("empty grid".into(), |s| s.why.clone())
        )));
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
        skipped,
    })
}

/// The number of cross-validations [`select_with_ablation`] runs for a grid
/// of `points` (for progress bars).
pub fn ablation_evaluations(points: usize, base: &TrainConfig) -> usize {
    2 * points + 5 + base.offtopic_gate.is_some() as usize
}

/// Model selection with the featurizer stages, and the ablation that
/// justifies them. Returns the configuration to train, the selection and
/// the table, each row adding one stage to the row before:
///
/// 1. `plain TF-IDF`: no stage, at its own best grid point;
/// 2. `+ actors`, 3. `+ cues`, at the grid point chosen with actors and cues
///    on (and the gate, when `base` has one);
/// 4. `+ off-topic gate`, when `base` has one;
/// 5. `+ roles` (lead actor and lead actor × cue terms) and 6. `+ negation`,
///    each kept only if it raises macro-F1.
///
/// Actors, cues and the gate are kept whatever they score: they are what
/// the lexicon files are for, and the table shows what they add.
pub fn select_with_ablation(
    labels: &LabelSet,
    base: &TrainConfig,
    grid: &[GridPoint],
    folds: Folds,
    progress: &(dyn Fn() + Sync),
) -> Result<(TrainConfig, Selection, Vec<AblationRow>)> {
    let gate = base.offtopic_gate.clone();
    let stage = |actors: bool, cues: bool, gate_on: bool, roles: bool, negation: bool| {
        let mut c = base.clone();
        c.featurizer.actors = actors;
        c.featurizer.cues = cues;
        c.featurizer.roles = roles;
        c.featurizer.negation = negation;
        c.offtopic_gate = if gate_on { gate.clone() } else { None };
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
    let has_gate = gate.is_some();
    let plain = grid_search(
        labels,
        &stage(false, false, false, false, false),
        grid,
        folds,
        progress,
    )?;
    let full = grid_search(
        labels,
        &stage(true, true, has_gate, false, false),
        grid,
        folds,
        progress,
    )?;
    let plain_point = plain.rows[plain.chosen].point;
    let point = full.rows[full.chosen].point;
    let mut table = vec![
        row(
            "plain TF-IDF",
            plain_point,
            &plain_point.apply(&stage(false, false, false, false, false)),
        )?,
        row(
            "+ actors",
            point,
            &point.apply(&stage(true, false, false, false, false)),
        )?,
        row(
            "+ cues",
            point,
            &point.apply(&stage(true, true, false, false, false)),
        )?,
    ];
    if has_gate {
        table.push(row(
            "+ off-topic gate",
            point,
            &point.apply(&stage(true, true, true, false, false)),
        )?);
    }
    let mut roles = false;
    let with_roles = point.apply(&stage(true, true, has_gate, true, false));
    let r = row("+ roles", point, &with_roles)?;
    if r.macro_f1 > table[table.len() - 1].macro_f1 {
        roles = true;
    }
    table.push(r);
    let best_so_far = if roles {
        table[table.len() - 1].macro_f1
    } else {
        table[table.len() - 2].macro_f1
    };
    let with_negation = point.apply(&stage(true, true, has_gate, roles, true));
    let r = row("+ negation", point, &with_negation)?;
    let negation = r.macro_f1 > best_so_far;
    table.push(r);
    Ok((
        point.apply(&stage(true, true, has_gate, roles, negation)),
        full,
        table,
    ))
}

/// How [`train_model`] chooses the settings it trains with.
#[derive(Debug, Clone, Copy)]
pub struct TrainPlan<'g> {
    /// The grid to select on, with the ablation; `None` trains the base
    /// settings as given.
    pub grid: Option<&'g [GridPoint]>,
    /// How folds are formed.
    pub folds: Folds,
    /// Whether to cross-validate at all (and so to select).
    pub cross_validate: bool,
}

impl TrainPlan<'_> {
    /// Whether cross-validation runs on `labels`: it was asked for and
    /// there are two articles or more.
    pub fn cross_validates(&self, labels: &LabelSet) -> bool {
        self.cross_validate && labels.doc_ids().len() >= 2
    }

    /// The grid selection runs on for `labels`, if it runs.
    pub fn selection_grid(&self, labels: &LabelSet) -> Option<&[GridPoint]> {
        self.grid.filter(|_| self.cross_validates(labels))
    }
}

/// Trains the model `make train` ships: selects settings on the plan's grid
/// with the ablation (when there is a grid and cross-validation can run),
/// cross-validates the chosen settings, trains on all rows and records the
/// selection, the ablation and the cross-validation in the model.
/// `progress` is called once per cross-validation of the selection (see
/// [`ablation_evaluations`]). A label set of a single article is trained
/// with the base settings, without cross-validation.
pub fn train_model(
    labels: &LabelSet,
    base: &TrainConfig,
    plan: &TrainPlan<'_>,
    progress: &(dyn Fn() + Sync),
) -> Result<Model> {
    let mut config = base.clone();
    let (mut selection, mut ablation) = (None, Vec::new());
    if let Some(grid) = plan.selection_grid(labels) {
        let (chosen, sel, table) = select_with_ablation(labels, base, grid, plan.folds, progress)?;
        config = chosen;
        selection = Some(sel);
        ablation = table;
    }
    let cv = if plan.cross_validates(labels) {
        Some(cross_validate(labels, &config, plan.folds)?.0)
    } else {
        None
    };
    Ok(Model::train(labels, &config, cv)?.with_selection(selection, ablation))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::features::DfBound;
    use crate::testutil::toy;

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
    fn grid_points_the_labels_cannot_support_are_skipped() {
        let labels = toy();
        let mut base = TrainConfig::default();
        base.featurizer.min_df = DfBound::Count(1);
        let ok = GridPoint {
            alpha: 1.0,
            min_df: 1,
            ngram_max: 1,
            sublinear_tf: true,
            balance: true,
        };
        // No term occurs in 50 sentences: this point leaves no vocabulary.
        let empty = GridPoint { min_df: 50, ..ok };
        let sel = grid_search(&labels, &base, &[empty, ok], Folds::Grouped(3), &|| {}).unwrap();
        assert_eq!(sel.rows.len(), 1);
        assert_eq!(sel.rows[sel.chosen].point, ok);
        assert_eq!(sel.skipped.len(), 1);
        assert!(
            sel.skipped[0].why.contains("no term is left"),
            "{:?}",
            sel.skipped
        );
        let err = grid_search(&labels, &base, &[empty], Folds::Grouped(3), &|| {}).unwrap_err();
        assert!(err.to_string().contains("no grid point"), "{err}");
    }

    #[test]
    fn gated_cross_validation_predicts_other_for_unnamed_articles() {
        use crate::lexicon::Lexicon;
        use crate::testutil::label_set;
        let labels = label_set(
            &["convergence", "other"],
            &[
                ("a", "Moscow and Beijing held joint drills.", 0),
                ("a", "The drills ended on Friday.", 1),
                ("b", "Russia and China signed a gas deal.", 0),
                ("b", "Photo: AP", 1),
                ("c", "The two sides held joint drills again.", 0),
                ("c", "Photo: Reuters", 1),
            ],
        );
        let lexicon = Lexicon::load(
            Some(std::path::Path::new(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/labels/actors.txt"
            ))),
            None,
        )
        .unwrap();
        let mut config = TrainConfig::default();
        config.featurizer = config
            .featurizer
            .min_df(DfBound::Count(1))
            .lexicon(lexicon, true, false, false);
        config.offtopic_gate = Some(crate::model::OffTopicGate::default());
        let (_, predicted) = cross_validate(&labels, &config, Folds::LeaveOneArticleOut).unwrap();
        // Article c names neither China nor Russia: both rows are `other`,
        // the joint-drills sentence included.
        assert_eq!(&predicted[4..], &[1, 1]);
    }

    #[test]
    fn grids_are_the_documented_ones() {
        assert_eq!(default_grid().len(), 24);
        assert!(default_grid().iter().all(|p| p.sublinear_tf));
        assert_eq!(quick_grid().len(), 4);
        let grid = full_grid();
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
