//! The off-topic gate: articles that name none of the relationship's
//! actors are not about it.
//!
//! Has the responsibility to decide, per article, whether the classifier
//! is asked at all. Trained on China–Russia coverage, the classifier reads
//! any news through that lens: in sports or domestic-politics stories a
//! word such as "not" or a name such as "Modi" pushes a sentence toward
//! `divergence`. An article none of whose sentences names an actor of the
//! gate's groups (by default `CHINA` and `RUSSIA` of `labels/actors.txt`:
//! countries, capitals, leaders, institutions) is off-topic, and every one
//! of its sentences gets the gate's class (`other`) with probability 1. An
//! article that names them even once is scored sentence by sentence as
//! usual, so on-topic recall is untouched.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::features::FittedTfIdfVectorizer;
use crate::labels::Classes;

/// The gate's settings, stored with the model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OffTopicGate {
    /// Actor groups of which an article must name at least one.
    pub actors: Vec<String>,
    /// The class an off-topic article's sentences get.
    pub class: String,
}

impl Default for OffTopicGate {
    /// `CHINA` or `RUSSIA` must be named; otherwise `other`.
    fn default() -> Self {
        OffTopicGate {
            actors: vec!["CHINA".into(), "RUSSIA".into()],
            class: "other".into(),
        }
    }
}

/// A gate resolved against a fitted featurizer and a class list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Gate {
    /// Actor bits (as in [`crate::features::Transformer::actor_mask`]) of
    /// the groups that make an article on-topic.
    bits: u32,
    /// The class of off-topic sentences.
    pub class: usize,
}

impl Gate {
    /// Resolves `gate`: its groups must be actor groups of the featurizer
    /// (with the actor stage on) and its class one of `classes`.
    pub fn new(
        gate: &OffTopicGate,
        featurizer: &FittedTfIdfVectorizer,
        classes: &Classes,
    ) -> Result<Gate> {
        let class = classes.index(&gate.class).ok_or_else(|| {
            Error::Config(format!(
                "the off-topic gate's class `{}` is not declared (classes: {})",
                gate.class,
                classes.joined()
            ))
        })?;
        let mut bits = 0;
        for name in &gate.actors {
            bits |= featurizer.actor_bit(name).ok_or_else(|| {
                Error::Config(format!(
                    "the off-topic gate names actor group `{name}`, which the featurizer does not have (is the actor stage on and the group in labels/actors.txt?)"
                ))
            })?;
        }
        Ok(Gate { bits, class })
    }

    /// Whether an article whose sentences together name the actors in
    /// `article_mask` is off-topic.
    pub fn is_off_topic(&self, article_mask: u32) -> bool {
        article_mask & self.bits == 0
    }

    /// Sets `p` to the probabilities of an off-topic sentence: 1 for the
    /// gate's class, 0 for the other classes (`n_classes` in all).
    pub fn set_probabilities(&self, p: &mut Vec<f64>, n_classes: usize) {
        p.clear();
        p.resize(n_classes, 0.0);
        p[self.class] = 1.0;
    }
}
