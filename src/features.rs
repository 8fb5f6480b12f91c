//! TF-IDF features: [`TfIdfVectorizer`] (settings) → [`FittedTfIdfVectorizer`]
//! (vocabulary, idf, sparse transform).
//!
//! Names and formulas follow scikit-learn's `TfidfVectorizer`, so its output
//! can serve as golden data:
//!
//! * `ngram_range = (lo, hi)`: n-grams of `lo..=hi` stems, formed after stop
//!   words are removed (at most 3);
//! * `min_df` / `max_df`: a [`DfBound::Count`] is a number of sentences, a
//!   [`DfBound::Proportion`] a share of them; a term is kept when
//!   `min ≤ df ≤ max`;
//! * `max_features`: keep the terms with the highest total count (ties go to
//!   the alphabetically first term), after the df filter;
//! * smoothed idf = `ln((1 + n) / (1 + df)) + 1`; plain idf = `ln(n / df) + 1`;
//! * sublinear tf = `1 + ln(count)`;
//! * each vector is scaled to unit L2 norm (a sentence with no known term
//!   stays the zero vector).
//!
//! linfa-preprocessing has a `TfIdfVectorizer` too; it is not used because it
//! tokenizes with a regex on raw strings (no stemming hook, no stop-word step
//! before n-grams) and produces a sparse matrix per call, allocating per
//! token. Here the vocabulary is keyed by integer stem ids, bigrams by packed
//! `u64` keys, and the per-thread [`Transformer`] reuses all of its buffers.

use std::collections::BTreeMap;

use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::tokenize::{for_each_word, Tokenizer, TokenizerConfig, WordCache};

/// A document-frequency bound, as in scikit-learn: an integer is a count of
/// sentences, a float a proportion of them.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum DfBound {
    /// An absolute number of sentences.
    Count(usize),
    /// A share of the sentences, in `0.0..=1.0`.
    Proportion(f64),
}

impl DfBound {
    fn resolve(self, n_docs: usize) -> usize {
        match self {
            DfBound::Count(c) => c,
            DfBound::Proportion(p) => (p * n_docs as f64).round() as usize,
        }
    }

    fn validate(self, name: &str) -> Result<()> {
        match self {
            DfBound::Proportion(p) if !(0.0..=1.0).contains(&p) => Err(Error::Config(format!(
                "{name} as a proportion must lie in 0.0..=1.0, got {p}"
            ))),
            _ => Ok(()),
        }
    }
}

/// Featurizer settings (the unfitted vectorizer).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TfIdfVectorizer {
    /// Tokenizer settings: stop words and stemming.
    pub tokenizer: TokenizerConfig,
    /// Smallest and largest n-gram length; defaults to `(1, 2)`.
    pub ngram_range: (usize, usize),
    /// Minimum document frequency; defaults to `Count(1)`.
    pub min_df: DfBound,
    /// Maximum document frequency; defaults to `Proportion(1.0)`.
    pub max_df: DfBound,
    /// Vocabulary size cap; defaults to `None` (no cap).
    pub max_features: Option<usize>,
    /// Use `1 + ln(tf)` instead of raw counts; defaults to `true`.
    pub sublinear_tf: bool,
    /// Add one to document frequencies, as if a sentence held every term;
    /// defaults to `true`.
    pub smooth_idf: bool,
}

impl Default for TfIdfVectorizer {
    fn default() -> Self {
        TfIdfVectorizer {
            tokenizer: TokenizerConfig::default(),
            ngram_range: (1, 2),
            min_df: DfBound::Count(1),
            max_df: DfBound::Proportion(1.0),
            max_features: None,
            sublinear_tf: true,
            smooth_idf: true,
        }
    }
}

/// Largest supported n-gram length.
pub const MAX_NGRAM: usize = 3;
/// Bits per stem id in a packed n-gram key.
const ID_BITS: u32 = 21;
/// Largest number of distinct stems a vocabulary may use.
pub const MAX_STEMS: usize = (1 << ID_BITS) - 2;
/// Word-cache code: a stop word.
const STOP: u32 = u32::MAX;
/// Word-cache code: a stem that appears in no vocabulary term.
const UNKNOWN: u32 = u32::MAX - 1;
/// No feature.
const NONE: u32 = u32::MAX;

#[inline]
fn pack(ids: &[u32]) -> u64 {
    ids.iter()
        .fold(0u64, |k, &id| (k << ID_BITS) | (id as u64 + 1))
}

impl TfIdfVectorizer {
    /// Sets `ngram_range`.
    pub fn ngram_range(mut self, lo: usize, hi: usize) -> Self {
        self.ngram_range = (lo, hi);
        self
    }
    /// Sets `min_df`.
    pub fn min_df(mut self, v: DfBound) -> Self {
        self.min_df = v;
        self
    }
    /// Sets `max_df`.
    pub fn max_df(mut self, v: DfBound) -> Self {
        self.max_df = v;
        self
    }
    /// Sets `max_features`.
    pub fn max_features(mut self, v: Option<usize>) -> Self {
        self.max_features = v;
        self
    }
    /// Sets `sublinear_tf`.
    pub fn sublinear_tf(mut self, v: bool) -> Self {
        self.sublinear_tf = v;
        self
    }
    /// Sets the tokenizer settings.
    pub fn tokenizer(mut self, v: TokenizerConfig) -> Self {
        self.tokenizer = v;
        self
    }

    /// Checks the settings once, before any work.
    pub fn validate(&self) -> Result<()> {
        let (lo, hi) = self.ngram_range;
        if lo == 0 || lo > hi || hi > MAX_NGRAM {
            return Err(Error::Config(format!(
                "ngram_range must satisfy 1 <= lo <= hi <= {MAX_NGRAM}, got ({lo}, {hi})"
            )));
        }
        self.min_df.validate("min_df")?;
        self.max_df.validate("max_df")?;
        if self.max_features == Some(0) {
            return Err(Error::Config("max_features must be at least 1".into()));
        }
        Ok(())
    }

    /// Learns vocabulary and idf from training sentences.
    pub fn fit<S: AsRef<str>>(&self, sentences: &[S]) -> Result<FittedTfIdfVectorizer> {
        self.validate()?;
        let n_docs = sentences.len();
        if n_docs == 0 {
            return Err(Error::Training(
                "no sentences to fit the vocabulary on".into(),
            ));
        }
        let tokenizer = Tokenizer::new(self.tokenizer.clone());
        #[derive(Default)]
        struct Stats {
            df: usize,
            tf: usize,
            last_doc: usize,
            surfaces: BTreeMap<String, usize>,
        }
        let mut stats: FxHashMap<String, Stats> = FxHashMap::default();
        let (lo, hi) = self.ngram_range;
        for (doc, sentence) in sentences.iter().enumerate() {
            let tokens = tokenizer.tokens(sentence.as_ref());
            for n in lo..=hi {
                for window in tokens.windows(n) {
                    let term = join(window.iter().map(|t| t.stem.as_str()));
                    let surface = join(window.iter().map(|t| t.word.as_str()));
                    let s = stats.entry(term).or_insert_with(|| Stats {
                        last_doc: usize::MAX,
                        ..Stats::default()
                    });
                    s.tf += 1;
                    if s.last_doc != doc {
                        s.df += 1;
                        s.last_doc = doc;
                    }
                    *s.surfaces.entry(surface).or_default() += 1;
                }
            }
        }
        let min = self.min_df.resolve(n_docs);
        let max = self.max_df.resolve(n_docs);
        let mut kept: Vec<(String, Stats)> = stats
            .into_iter()
            .filter(|(_, s)| s.df >= min && s.df <= max)
            .collect();
        if let Some(cap) = self.max_features {
            kept.sort_by(|a, b| b.1.tf.cmp(&a.1.tf).then_with(|| a.0.cmp(&b.0)));
            kept.truncate(cap);
        }
        if kept.is_empty() {
            return Err(Error::Training(format!(
                "no term is left after the document-frequency filter (min_df {min}, max_df {max}, {n_docs} sentences)"
            )));
        }
        kept.sort_by(|a, b| a.0.cmp(&b.0));
        let mut vocabulary = Vec::with_capacity(kept.len());
        let mut display = Vec::with_capacity(kept.len());
        let mut idf = Vec::with_capacity(kept.len());
        for (term, s) in kept {
            idf.push(idf_value(n_docs, s.df, self.smooth_idf));
            // most frequent surface form; BTreeMap order breaks ties alphabetically
            let best = s
                .surfaces
                .iter()
                .fold(None::<(&String, usize)>, |best, (w, &c)| match best {
                    Some((_, bc)) if bc >= c => best,
                    _ => Some((w, c)),
                })
                .map(|(w, _)| w.clone())
                .unwrap_or_else(|| term.clone());
            display.push(best);
            vocabulary.push(term);
        }
        FittedTfIdfVectorizer::from_parts(self.clone(), vocabulary, display, idf)
    }
}

fn join<'a>(parts: impl Iterator<Item = &'a str>) -> String {
    let mut out = String::new();
    for (i, p) in parts.enumerate() {
        if i > 0 {
            out.push(' ');
        }
        out.push_str(p);
    }
    out
}

/// The idf formula shared by fitting and the tests.
pub fn idf_value(n_docs: usize, df: usize, smooth: bool) -> f64 {
    if smooth {
        ((1.0 + n_docs as f64) / (1.0 + df as f64)).ln() + 1.0
    } else {
        (n_docs as f64 / df as f64).ln() + 1.0
    }
}

/// A sparse row: sorted feature indices and their values.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SparseVec {
    /// Feature indices, strictly increasing.
    pub indices: Vec<u32>,
    /// Values, one per index.
    pub values: Vec<f64>,
}

impl SparseVec {
    /// Number of non-zero entries.
    pub fn nnz(&self) -> usize {
        self.indices.len()
    }

    /// Euclidean norm.
    pub fn norm(&self) -> f64 {
        self.values.iter().map(|v| v * v).sum::<f64>().sqrt()
    }

    /// Iterates over `(index, value)` pairs.
    pub fn iter(&self) -> impl Iterator<Item = (usize, f64)> + '_ {
        self.indices
            .iter()
            .zip(&self.values)
            .map(|(&i, &v)| (i as usize, v))
    }

    fn clear(&mut self) {
        self.indices.clear();
        self.values.clear();
    }
}

/// A fitted featurizer: vocabulary, idf and the lookup tables built from them.
#[derive(Debug, Clone)]
pub struct FittedTfIdfVectorizer {
    config: TfIdfVectorizer,
    tokenizer: Tokenizer,
    vocabulary: Vec<String>,
    display: Vec<String>,
    idf: Vec<f64>,
    stem_ids: FxHashMap<Box<str>, u32>,
    /// Packed n-gram key (n ≥ 2) → feature index.
    keys: FxHashMap<u64, u32>,
    /// Stem id → feature index of the unigram, or `NONE`.
    unigrams: Vec<u32>,
    /// Stem id → whether some vocabulary n-gram (n ≥ 2) ends with it; lets
    /// the hot loop skip the hash lookup for most word pairs.
    ends_ngram: Vec<bool>,
}

impl FittedTfIdfVectorizer {
    /// Rebuilds a fitted featurizer from its stored parts (as in a model
    /// file), checking that they agree.
    pub fn from_parts(
        config: TfIdfVectorizer,
        vocabulary: Vec<String>,
        display: Vec<String>,
        idf: Vec<f64>,
    ) -> Result<Self> {
        config.validate()?;
        if vocabulary.len() != idf.len() || vocabulary.len() != display.len() {
            return Err(Error::Config(format!(
                "vocabulary has {} terms but {} idf values and {} display forms",
                vocabulary.len(),
                idf.len(),
                display.len()
            )));
        }
        let (lo, hi) = config.ngram_range;
        let mut stem_ids: FxHashMap<Box<str>, u32> = FxHashMap::default();
        let mut keys = FxHashMap::default();
        keys.reserve(vocabulary.len());
        let mut unigrams: Vec<u32> = Vec::new();
        let mut ends_ngram: Vec<bool> = Vec::new();
        let mut ids = Vec::with_capacity(MAX_NGRAM);
        for (index, term) in vocabulary.iter().enumerate() {
            ids.clear();
            for stem in term.split(' ') {
                let next = stem_ids.len() as u32;
                let id = *stem_ids.entry(stem.into()).or_insert(next);
                ids.push(id);
            }
            if ids.len() < lo || ids.len() > hi || term.is_empty() {
                return Err(Error::Config(format!(
                    "vocabulary term {term:?} is not an n-gram of length {lo}..={hi}"
                )));
            }
            if stem_ids.len() > MAX_STEMS {
                return Err(Error::Config(format!(
                    "vocabulary uses more than {MAX_STEMS} distinct stems"
                )));
            }
            let duplicate = if ids.len() == 1 {
                let id = ids[0] as usize;
                if unigrams.len() <= id {
                    unigrams.resize(id + 1, NONE);
                }
                std::mem::replace(&mut unigrams[id], index as u32) != NONE
            } else {
                let last = ids[ids.len() - 1] as usize;
                if ends_ngram.len() <= last {
                    ends_ngram.resize(last + 1, false);
                }
                ends_ngram[last] = true;
                keys.insert(pack(&ids), index as u32).is_some()
            };
            if duplicate {
                return Err(Error::Config(format!(
                    "vocabulary term {term:?} appears twice"
                )));
            }
        }
        unigrams.resize(stem_ids.len(), NONE);
        ends_ngram.resize(stem_ids.len(), false);
        Ok(FittedTfIdfVectorizer {
            tokenizer: Tokenizer::new(config.tokenizer.clone()),
            config,
            vocabulary,
            display,
            idf,
            stem_ids,
            keys,
            unigrams,
            ends_ngram,
        })
    }

    /// The settings it was fitted with.
    pub fn config(&self) -> &TfIdfVectorizer {
        &self.config
    }
    /// Vocabulary terms (stems joined by a space), in feature-index order.
    pub fn vocabulary(&self) -> &[String] {
        &self.vocabulary
    }
    /// For each term, its most frequent surface form in the training text.
    pub fn display(&self) -> &[String] {
        &self.display
    }
    /// Idf value per feature.
    pub fn idf(&self) -> &[f64] {
        &self.idf
    }
    /// Number of features.
    pub fn n_features(&self) -> usize {
        self.vocabulary.len()
    }
    /// The tokenizer it uses.
    pub fn tokenizer(&self) -> &Tokenizer {
        &self.tokenizer
    }

    /// A per-thread transformer with reused buffers and a stem cache.
    pub fn transformer(&self) -> Transformer<'_> {
        Transformer {
            fitted: self,
            analyzer: self.tokenizer.analyzer(),
            cache: WordCache::with_capacity(1 << 20),
            hits: Vec::new(),
            spans: Vec::new(),
        }
    }

    /// Transforms one sentence (convenience; allocates a transformer).
    pub fn transform(&self, sentence: &str) -> SparseVec {
        let mut out = SparseVec::default();
        self.transformer().transform(sentence, &mut out);
        out
    }

    /// Transforms many sentences with one transformer.
    pub fn transform_all<S: AsRef<str>>(&self, sentences: &[S]) -> Vec<SparseVec> {
        let mut t = self.transformer();
        sentences
            .iter()
            .map(|s| {
                let mut out = SparseVec::default();
                t.transform(s.as_ref(), &mut out);
                out
            })
            .collect()
    }
}

/// Per-thread transform state. Create one per worker with
/// [`FittedTfIdfVectorizer::transformer`] and reuse it for every sentence.
pub struct Transformer<'a> {
    fitted: &'a FittedTfIdfVectorizer,
    analyzer: crate::tokenize::Analyzer<'a>,
    cache: WordCache,
    /// `feature index << 32 | occurrence number`, sorted after a transform.
    hits: Vec<u64>,
    /// Byte span in the sentence of each occurrence, by occurrence number.
    spans: Vec<(u32, u32)>,
}

impl Transformer<'_> {
    /// Writes the TF-IDF vector of `sentence` into `out` (cleared first).
    pub fn transform(&mut self, sentence: &str, out: &mut SparseVec) {
        out.clear();
        self.hits.clear();
        self.spans.clear();
        let fitted = self.fitted;
        let (lo, hi) = fitted.config.ngram_range;
        let mut window = [UNKNOWN; MAX_NGRAM];
        let mut starts = [0u32; MAX_NGRAM];
        let mut seen = 0usize; // non-stop tokens so far
        let analyzer = &mut self.analyzer;
        let cache = &mut self.cache;
        let hits = &mut self.hits;
        let spans = &mut self.spans;
        for_each_word(sentence, |start, end| {
            let word = &sentence[start..end];
            let code = match cache.get(word.as_bytes()) {
                Some(code) => code,
                None => {
                    analyzer.lower(word);
                    let code = match analyzer.stem_lowered() {
                        None => STOP,
                        Some(stem) => fitted
                            .stem_ids
                            .get(stem.as_ref())
                            .copied()
                            .unwrap_or(UNKNOWN),
                    };
                    cache.insert(word.as_bytes(), code);
                    code
                }
            };
            if code == STOP {
                return;
            }
            window.copy_within(1.., 0);
            window[MAX_NGRAM - 1] = code;
            starts.copy_within(1.., 0);
            starts[MAX_NGRAM - 1] = u32::try_from(start).unwrap_or(u32::MAX);
            seen += 1;
            if code == UNKNOWN {
                return; // no n-gram ending here can be in the vocabulary
            }
            for n in lo..=hi.min(seen) {
                let index = if n == 1 {
                    fitted.unigrams[code as usize]
                } else {
                    let gram = &window[MAX_NGRAM - n..];
                    if !fitted.ends_ngram[code as usize] || gram.contains(&UNKNOWN) {
                        continue;
                    }
                    fitted.keys.get(&pack(gram)).copied().unwrap_or(NONE)
                };
                if index != NONE {
                    hits.push((index as u64) << 32 | spans.len() as u64);
                    let end = u32::try_from(end).unwrap_or(u32::MAX);
                    spans.push((starts[MAX_NGRAM - n], end));
                }
            }
        });
        if hits.is_empty() {
            return;
        }
        hits.sort_unstable();
        let sublinear = fitted.config.sublinear_tf;
        let mut i = 0;
        let mut norm = 0.0;
        while i < hits.len() {
            let index = (hits[i] >> 32) as u32;
            let mut j = i + 1;
            while j < hits.len() && (hits[j] >> 32) as u32 == index {
                j += 1;
            }
            let count = (j - i) as f64;
            let tf = if sublinear { 1.0 + count.ln() } else { count };
            let v = tf * fitted.idf[index as usize];
            norm += v * v;
            out.indices.push(index);
            out.values.push(v);
            i = j;
        }
        let norm = norm.sqrt();
        if norm > 0.0 {
            for v in &mut out.values {
                *v /= norm;
            }
        }
    }

    /// Where `feature` first occurred in the sentence of the last
    /// [`transform`](Self::transform), as a byte range: the words of the
    /// n-gram as the sentence wrote them (with any stop words between).
    pub fn surface(&self, feature: usize) -> Option<(usize, usize)> {
        let key = (feature as u64) << 32;
        let at = self.hits.partition_point(|&h| h < key);
        let &hit = self.hits.get(at)?;
        if hit >> 32 != feature as u64 {
            return None;
        }
        let (start, end) = *self.spans.get((hit & 0xFFFF_FFFF) as usize)?;
        Some((start as usize, end as usize))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plain() -> TfIdfVectorizer {
        TfIdfVectorizer::default().tokenizer(TokenizerConfig {
            stop_words: vec!["the".into()],
            stem: false,
        })
    }

    #[test]
    fn vocabulary_is_sorted_and_df_filtered() {
        let docs = ["red fox", "red dog", "the red fox"];
        let fitted = plain().min_df(DfBound::Count(2)).fit(&docs).unwrap();
        assert_eq!(fitted.vocabulary(), ["fox", "red", "red fox"]);
        let fitted = plain().max_df(DfBound::Proportion(0.7)).fit(&docs).unwrap();
        assert_eq!(fitted.vocabulary(), ["dog", "fox", "red dog", "red fox"]);
    }

    #[test]
    fn max_features_keeps_most_frequent_then_alphabetical() {
        let docs = ["bb bb aa cc", "bb aa"];
        let fitted = plain()
            .ngram_range(1, 1)
            .max_features(Some(2))
            .fit(&docs)
            .unwrap();
        assert_eq!(fitted.vocabulary(), ["aa", "bb"]);
    }

    #[test]
    fn idf_and_values_match_hand_computation() {
        // n = 2; "xx" in both (df 2), "yy" in one (df 1)
        let docs = ["xx yy yy", "xx"];
        let fitted = plain().ngram_range(1, 1).fit(&docs).unwrap();
        let idf_x = (3.0f64 / 3.0).ln() + 1.0;
        let idf_y = (3.0f64 / 2.0).ln() + 1.0;
        assert_eq!(fitted.idf(), [idf_x, idf_y]);
        let v = fitted.transform("xx yy yy");
        let (a, b) = (idf_x, (1.0 + 2f64.ln()) * idf_y);
        let n = (a * a + b * b).sqrt();
        assert_eq!(v.indices, [0, 1]);
        assert!((v.values[0] - a / n).abs() < 1e-12);
        assert!((v.values[1] - b / n).abs() < 1e-12);
    }

    #[test]
    fn stop_words_are_removed_before_bigrams() {
        let fitted = plain().fit(&["the red the fox"]).unwrap();
        assert_eq!(fitted.vocabulary(), ["fox", "red", "red fox"]);
    }

    #[test]
    fn unknown_words_break_bigrams() {
        let fitted = plain().fit(&["red fox"]).unwrap();
        let v = fitted.transform("red cat fox");
        let terms: Vec<&str> = v
            .iter()
            .map(|(i, _)| fitted.vocabulary()[i].as_str())
            .collect();
        assert_eq!(terms, ["fox", "red"]);
    }

    #[test]
    fn empty_and_unknown_sentences_are_zero_vectors() {
        let fitted = plain().fit(&["red fox"]).unwrap();
        assert_eq!(fitted.transform("").nnz(), 0);
        assert_eq!(fitted.transform("nothing known here").nnz(), 0);
    }

    #[test]
    fn display_form_is_most_frequent_surface() {
        let fitted = TfIdfVectorizer::default()
            .ngram_range(1, 1)
            .fit(&["Sanctions and sanctions", "sanctioned"])
            .unwrap();
        let i = fitted
            .vocabulary()
            .iter()
            .position(|t| t == "sanction")
            .unwrap();
        assert_eq!(fitted.display()[i], "sanctions");
    }

    #[test]
    fn settings_are_validated() {
        assert!(plain().ngram_range(0, 1).fit(&["a b"]).is_err());
        assert!(plain().ngram_range(2, 1).fit(&["a b"]).is_err());
        assert!(plain().ngram_range(1, 4).fit(&["a b"]).is_err());
        assert!(plain()
            .min_df(DfBound::Proportion(1.5))
            .fit(&["ab"])
            .is_err());
        assert!(plain().fit(&Vec::<String>::new()).is_err());
        assert!(plain().min_df(DfBound::Count(5)).fit(&["red fox"]).is_err());
    }

    #[test]
    fn surface_spans_point_at_the_sentence_words() {
        let fitted = plain().fit(&["red fox", "Red the FOX"]).unwrap();
        let sentence = "A Red, the FOX; red fox";
        let mut t = fitted.transformer();
        let mut x = SparseVec::default();
        t.transform(sentence, &mut x);
        let vocab = fitted.vocabulary();
        let at = |term: &str| {
            let i = vocab.iter().position(|v| v == term).unwrap();
            t.surface(i).map(|(s, e)| &sentence[s..e])
        };
        assert_eq!(at("red"), Some("Red"));
        assert_eq!(at("fox"), Some("FOX"));
        assert_eq!(at("red fox"), Some("Red, the FOX"));
        let unseen = fitted.transform("nothing");
        assert_eq!(unseen.nnz(), 0);
    }

    #[test]
    fn trigrams() {
        let fitted = plain().ngram_range(1, 3).fit(&["aa bb cc"]).unwrap();
        assert_eq!(
            fitted.vocabulary(),
            ["aa", "aa bb", "aa bb cc", "bb", "bb cc", "cc"]
        );
        assert_eq!(fitted.transform("aa bb cc").nnz(), 6);
    }

    #[test]
    fn from_parts_rejects_inconsistent_parts() {
        let bad =
            FittedTfIdfVectorizer::from_parts(plain(), vec!["a".into()], vec!["a".into()], vec![]);
        assert!(bad.is_err());
    }
}
