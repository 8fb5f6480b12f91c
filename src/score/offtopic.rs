//! The off-topic measurement: how much news that is not about China–Russia
//! relations gets a stance label.
//!
//! Has the responsibility to score a corpus of off-topic articles (sports,
//! domestic politics: never training data) through the same scorer users
//! run and count the sentences that come out as anything but the no-claim
//! class. Articles are split by whether they name a China or Russia actor,
//! because the two halves fail differently: articles that name neither are
//! what the off-topic gate is for, articles that do name them are left to
//! the classifier.

use super::input::Document;
use super::runner::{ScoreOptions, Scored, Scorer};
use crate::model::{Model, OffTopicShare};

/// Scores `articles` (whole article texts) and counts stance labels. The
/// no-claim class is the gate's class, or else the class named `other`;
/// with neither, every label counts as a stance.
pub fn measure_off_topic(model: &Model, corpus: &str, articles: &[String]) -> OffTopicShare {
    let none = model
        .gate()
        .map(|g| g.class)
        .or_else(|| model.class_list().index("other"));
    let named_bits = ["CHINA", "RUSSIA"]
        .iter()
        .filter_map(|g| model.featurizer().actor_bit(g))
        .fold(0, |a, b| a | b);
    let mut scorer = Scorer::new(model, ScoreOptions::default());
    let mut slots = Vec::new();
    let mut out = OffTopicShare {
        corpus: corpus.to_string(),
        ..OffTopicShare::default()
    };
    for (i, text) in articles.iter().enumerate() {
        let doc = Document::from_text(i.to_string(), text.clone());
        // One scoring pass: the stance count is taken before and after the
        // gate is applied.
        let (scored, mask) = scorer.score_document_ungated(&doc, &mut slots);
        let stance = |scored: &[Scored]| scored.iter().filter(|s| Some(s.label) != none).count();
        let ungated = stance(scored);
        scorer.apply_gate(scored, mask);
        let n_stance = stance(scored);
        out.articles += 1;
        out.sentences += scored.len();
        out.stance += n_stance;
        if mask & named_bits != 0 {
            out.naming_articles += 1;
        } else {
            out.unnamed_sentences += scored.len();
            out.unnamed_stance += n_stance;
            out.unnamed_stance_ungated += ungated;
        }
    }
    out
}
