//! TF-IDF features: [`TfIdfVectorizer`] (settings) → [`FittedTfIdfVectorizer`]
//! (vocabulary, idf, sparse transform).
//!
//! Names and formulas follow scikit-learn's `TfidfVectorizer`, so its output
//! can serve as golden data (with the lexicon stages off, it is identical):
//!
//! * `ngram_range = (lo, hi)`: n-grams of `lo..=hi` units, formed after stop
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
//! Three optional stages, driven by a [`Lexicon`], turn what a reader knows
//! into features:
//!
//! * `actors`: every mention of an actor (`Moscow`, `the Kremlin`, `Putin`)
//!   becomes the actor's canonical unit (`#russia`) in the stream, so
//!   `the Kremlin warned` and `Moscow warned` share the bigram
//!   `#russia warn`; and the set of actors in the sentence becomes one more
//!   term (`#actors:china+russia`);
//! * `cues`: every cue phrase adds one count to its group's term
//!   (`#cue:pressure`), beside the words themselves;
//! * `negation`: the [`NEGATION_SCOPE`]
//!   content words after a negator carry the prefix `not_`, so
//!   `no alliance` and `alliance` are different features.
//!
//! Fitting and transforming share one analysis (a private `Stream`): words are found
//! and resolved once each through a per-thread cache keyed by their raw
//! bytes, phrases are matched on integer word ids, and n-grams are packed
//! `u64` keys of integer unit ids. linfa-preprocessing's `TfIdfVectorizer`
//! is not used: it tokenizes with a regex (no stemming, no stop-word step
//! before n-grams, no phrase stages) and allocates per token.

use std::collections::BTreeMap;

use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::lexicon::{Hit, Lexicon, Matcher, NEGATION_SCOPE, NEGATORS, NO_WORD};
use crate::tokenize::{for_each_run, Analyzer, Tokenizer, TokenizerConfig, WordCache};

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
    /// The bound as a number of sentences out of `n_docs`. As in
    /// scikit-learn, a proportion is not rounded: `max_df = 0.7` over 10
    /// sentences keeps terms in at most 7, over 9 sentences in at most 6
    /// (6.3 sentences).
    fn resolve(self, n_docs: usize) -> f64 {
        match self {
            DfBound::Count(c) => c as f64,
            DfBound::Proportion(p) => p * n_docs as f64,
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
    /// Replace actor mentions by canonical units and add the actor-set
    /// term; defaults to `false`.
    #[serde(default)]
    pub actors: bool,
    /// Add cue-group counts; defaults to `false`.
    #[serde(default)]
    pub cues: bool,
    /// Mark words in a negation scope; defaults to `false`.
    #[serde(default)]
    pub negation: bool,
    /// Add who-does-what terms: the sentence's lead actor (the first actor
    /// group it names, in English news most often the subject) alone and
    /// with each cue group of the sentence; needs `actors`. Defaults to
    /// `false`.
    #[serde(default)]
    pub roles: bool,
    /// The actor and cue lists; defaults to empty.
    #[serde(default)]
    pub lexicon: Lexicon,
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
            actors: false,
            cues: false,
            negation: false,
            roles: false,
            lexicon: Lexicon::default(),
        }
    }
}

/// The largest idf value a model file may hold: smoothed idf is
/// `ln((1+n)/(1+df)) + 1`, under 50 for any corpus that fits on a disk, so
/// anything larger is a damaged file, and would overflow the scores.
pub const MAX_IDF: f64 = 1.0e6;

/// Largest supported n-gram length.
pub const MAX_NGRAM: usize = 3;
/// Bits per unit id in a packed n-gram key: [`MAX_NGRAM`] ids of 21 bits
/// fill 63 of a `u64`'s bits.
const ID_BITS: u32 = 21;
/// Largest unit id [`pack`] accepts: `id + 1` must fit in [`ID_BITS`] bits.
const MAX_UNIT: u32 = (1 << ID_BITS) - 2;
/// Largest number of distinct stems (and canonical terms) a vocabulary may
/// use. A unit id is `base * 2 + negated` (see `Ids`), so bases up to this
/// bound give unit ids up to `MAX_UNIT` (2^21 − 2).
pub const MAX_STEMS: usize = (MAX_UNIT as usize).div_ceil(2) - 1;
/// Word code: a stop word or a one-letter word; not part of the stream.
const STOP: u32 = u32::MAX;
/// Word code / unit id: a stem that appears in no vocabulary term.
const UNKNOWN: u32 = u32::MAX - 1;
/// No feature.
const NONE: u32 = u32::MAX;
/// Flag of a `unit_terms` entry: some vocabulary n-gram (n ≥ 2) ends with
/// the unit.
const ENDS_NGRAM: u32 = 1 << 31;
/// The unigram field of a `unit_terms` entry when the unit has no unigram
/// feature; feature indices stay below it.
const NO_UNIGRAM: u32 = ENDS_NGRAM - 1;
/// Longest sentence whose units are written by `Stream::plain_units`,
/// which reserves room for a unit per two bytes; longer ones (no reader
/// makes them from news text) take the path that grows as it goes.
const PLAIN_MAX_BYTES: usize = 1 << 16;
/// Distinct written words a thread remembers before starting afresh.
const CACHED_WORDS: usize = 1 << 20;
/// Prefix of negated units.
pub const NEGATED_PREFIX: &str = "not_";
/// Prefix of the actor-set term.
pub const ACTORS_PREFIX: &str = "#actors:";
/// Prefix of cue terms.
pub const CUE_PREFIX: &str = "#cue:";
/// Prefix of lead-actor terms.
pub const LEAD_PREFIX: &str = "#lead:";
/// No lead actor in the sentence.
const NO_ACTOR: u32 = u32::MAX;

/// Packs up to [`MAX_NGRAM`] unit ids (each at most [`MAX_UNIT`]) into one
/// key, [`ID_BITS`] bits per id. Ids are stored as `id + 1` so that no
/// field is zero: without it, the bigram `(0, a)` would pack to the same key
/// as the unigram `a`. Callers keep ids within the bound: `fit` checks
/// every id it packs, and a fitted vocabulary is refused beyond
/// [`MAX_STEMS`].
#[inline]
fn pack(ids: &[u32]) -> u64 {
    debug_assert!(ids.len() <= MAX_NGRAM && ids.iter().all(|&id| id <= MAX_UNIT));
    ids.iter()
        .fold(0u64, |k, &id| (k << ID_BITS) | (id as u64 + 1))
}

/// A one-hash Bloom filter of packed n-gram keys: a bit per hashed key, in
/// a set of about eight bits per key (at most 64 KiB). `may_contain` is
/// false only for keys never added; a key added is always found.
#[derive(Debug, Clone)]
struct KeyFilter {
    bits: Vec<u64>,
    shift: u32,
}

impl KeyFilter {
    fn new(keys: impl ExactSizeIterator<Item = u64>) -> KeyFilter {
        let n_bits = (keys.len() * 8).next_power_of_two().clamp(64, 1 << 19);
        let mut filter = KeyFilter {
            bits: vec![0; n_bits / 64],
            shift: 64 - n_bits.trailing_zeros(),
        };
        for key in keys {
            let bit = filter.bit(key);
            filter.bits[bit / 64] |= 1 << (bit % 64);
        }
        filter
    }

    #[inline]
    fn bit(&self, key: u64) -> usize {
        (key.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> self.shift) as usize
    }

    #[inline]
    fn may_contain(&self, key: u64) -> bool {
        let bit = self.bit(key);
        self.bits[bit / 64] & (1 << (bit % 64)) != 0
    }
}

/// The canonical unit of actor group `name`: `#russia`.
pub fn actor_term(name: &str) -> String {
    format!("#{}", name.to_lowercase())
}

/// The term of cue group `name`: `#cue:pressure`.
pub fn cue_term(name: &str) -> String {
    format!("{CUE_PREFIX}{}", name.to_lowercase())
}

/// The lead-actor term of actor group `actor`, alone (`#lead:russia`) or
/// with cue group `cue` (`#lead:russia+friction`).
pub fn lead_term(actor: &str, cue: Option<&str>) -> String {
    match cue {
        Some(c) => format!("{LEAD_PREFIX}{}+{}", actor.to_lowercase(), c.to_lowercase()),
        None => format!("{LEAD_PREFIX}{}", actor.to_lowercase()),
    }
}

/// The actor-set term of the actors whose bits are set in `mask`.
pub fn actor_set_term(names: &[String], mask: u32) -> String {
    let mut set: Vec<String> = (0..names.len())
        .filter(|&i| mask & (1 << i) != 0)
        .map(|i| names[i].to_lowercase())
        .collect();
    set.sort();
    format!("{ACTORS_PREFIX}{}", set.join("+"))
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
    /// Sets the lexicon and which of its stages are on.
    pub fn lexicon(mut self, lexicon: Lexicon, actors: bool, cues: bool, negation: bool) -> Self {
        self.lexicon = lexicon;
        self.actors = actors;
        self.cues = cues;
        self.negation = negation;
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
        if self.roles && !self.actors {
            return Err(Error::Config(
                "roles need the actor stage (actors = true)".into(),
            ));
        }
        if self.lexicon.actors.len() > 32 {
            return Err(Error::Config(
                "at most 32 actor groups are supported".into(),
            ));
        }
        Ok(())
    }

    /// The units and extra terms of one sentence as strings: what the
    /// featurizer counts, for inspection and tests (slow: compiles the
    /// lexicon on every call).
    pub fn analyze(&self, sentence: &str) -> Vec<String> {
        let compiled = Compiled::new(self);
        let mut ids = Interner::default();
        let mut stream = Stream::new(&compiled, &mut ids);
        stream.analyze(sentence, &mut ids);
        let mut out: Vec<String> = stream
            .units
            .iter()
            .map(|u| {
                if u.id == UNKNOWN {
                    "?".to_string()
                } else {
                    ids.unit_string(u.id)
                }
            })
            .collect();
        out.extend(
            stream
                .extras(&compiled, &mut ids)
                .iter()
                .map(|&(u, _)| ids.unit_string(u)),
        );
        out
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
        let compiled = Compiled::new(self);
        let mut ids = Interner::default();
        let mut stream = Stream::new(&compiled, &mut ids);
        #[derive(Default)]
        struct Stats {
            units: Vec<u32>,
            df: usize,
            tf: usize,
            last_doc: usize,
            surfaces: BTreeMap<String, usize>,
        }
        let mut stats: FxHashMap<u64, Stats> = FxHashMap::default();
        let mut too_many_units = false;
        let mut count = |units: &[u32], surface: String, doc: usize, times: usize| {
            if units.iter().any(|&u| u > MAX_UNIT) {
                too_many_units = true;
                return;
            }
            let s = stats.entry(pack(units)).or_insert_with(|| Stats {
                units: units.to_vec(),
                last_doc: usize::MAX,
                ..Stats::default()
            });
            s.tf += times;
            if s.last_doc != doc {
                s.df += 1;
                s.last_doc = doc;
            }
            *s.surfaces.entry(surface).or_default() += times;
        };
        let (lo, hi) = self.ngram_range;
        let mut surface = String::new();
        for (doc, sentence) in sentences.iter().enumerate() {
            let sentence = sentence.as_ref();
            stream.analyze(sentence, &mut ids);
            let units = &stream.units;
            for n in lo..=hi {
                for w in units.windows(n) {
                    let gram: Vec<u32> = w.iter().map(|u| u.id).collect();
                    // An actor shows as its group (`RUSSIA`), other units as
                    // their words, lowercased.
                    surface.clear();
                    for u in w {
                        if !surface.is_empty() {
                            surface.push(' ');
                        }
                        match stream.actor_units.iter().position(|&a| a == u.id) {
                            Some(a) => surface.push_str(&compiled.actor_names[a]),
                            None => surface.extend(
                                sentence[u.start as usize..u.end as usize]
                                    .chars()
                                    .flat_map(char::to_lowercase),
                            ),
                        }
                    }
                    count(&gram, surface.clone(), doc, 1);
                }
            }
            for (unit, times) in stream.extras(&compiled, &mut ids) {
                count(&[unit], extra_display(&ids.unit_string(unit)), doc, times);
            }
        }
        if too_many_units {
            return Err(Error::Training(format!(
                "the sentences use more than {MAX_STEMS} distinct stems and terms; raise min_df or split the training set"
            )));
        }
        let min = self.min_df.resolve(n_docs);
        let max = self.max_df.resolve(n_docs);
        let mut kept: Vec<(String, Stats)> = stats
            .into_values()
            .filter(|s| s.df as f64 >= min && s.df as f64 <= max)
            .map(|s| {
                let term = s
                    .units
                    .iter()
                    .map(|&u| ids.unit_string(u))
                    .collect::<Vec<_>>()
                    .join(" ");
                (term, s)
            })
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

/// How an actor-set or cue term reads in evidence: `actors: china+russia`,
/// `cue: pressure`.
fn extra_display(term: &str) -> String {
    if let Some(set) = term.strip_prefix(ACTORS_PREFIX) {
        format!("actors: {set}")
    } else if let Some(cue) = term.strip_prefix(CUE_PREFIX) {
        format!("cue: {cue}")
    } else if let Some(lead) = term.strip_prefix(LEAD_PREFIX) {
        format!("lead: {}", lead.replace('+', " + "))
    } else {
        term.to_string()
    }
}

/// The idf formula shared by fitting and the tests.
pub fn idf_value(n_docs: usize, df: usize, smooth: bool) -> f64 {
    if smooth {
        ((1.0 + n_docs as f64) / (1.0 + df as f64)).ln() + 1.0
    } else {
        (n_docs as f64 / df as f64).ln() + 1.0
    }
}

/// Settings compiled for analysis: tokenizer, phrase matcher, group names.
#[derive(Debug, Clone)]
struct Compiled {
    tokenizer: Tokenizer,
    matcher: Matcher,
    negation: bool,
    roles: bool,
    actor_names: Vec<String>,
    cue_names: Vec<String>,
}

impl Compiled {
    fn new(config: &TfIdfVectorizer) -> Compiled {
        Compiled {
            tokenizer: Tokenizer::new(config.tokenizer.clone()),
            matcher: Matcher::new(&config.lexicon, config.actors, config.cues),
            negation: config.negation,
            roles: config.roles && config.actors,
            actor_names: if config.actors {
                config
                    .lexicon
                    .actors
                    .iter()
                    .map(|g| g.name.clone())
                    .collect()
            } else {
                Vec::new()
            },
            cue_names: if config.cues {
                config.lexicon.cues.iter().map(|g| g.name.clone()).collect()
            } else {
                Vec::new()
            },
        }
    }
}

/// Maps base strings (stems, canonical terms) to ids and back. A unit id is
/// `base * 2 + negated`.
trait Ids {
    /// The id of a base string, or `UNKNOWN`.
    fn base(&mut self, s: &str) -> u32;
}

/// Fitting: every new string gets the next id.
#[derive(Debug, Default)]
struct Interner {
    map: FxHashMap<String, u32>,
    strings: Vec<String>,
}

impl Ids for Interner {
    fn base(&mut self, s: &str) -> u32 {
        if let Some(&id) = self.map.get(s) {
            return id;
        }
        let id = self.strings.len() as u32;
        self.map.insert(s.to_string(), id);
        self.strings.push(s.to_string());
        id
    }
}

impl Interner {
    fn unit_string(&self, unit: u32) -> String {
        let base = &self.strings[(unit >> 1) as usize];
        if unit & 1 == 1 {
            format!("{NEGATED_PREFIX}{base}")
        } else {
            base.clone()
        }
    }
}

/// Transforming: only the fitted vocabulary's strings have ids.
struct Fixed<'a>(&'a FxHashMap<Box<str>, u32>);

impl Ids for Fixed<'_> {
    fn base(&mut self, s: &str) -> u32 {
        self.0.get(s).copied().unwrap_or(UNKNOWN)
    }
}

/// What the cache knows about a word as written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct WordInfo {
    /// Base id of its stem, `STOP` or `UNKNOWN`.
    base: u32,
    /// Its id in the phrase matcher, or `NO_WORD`.
    lex: u32,
    /// Whether it opens a negation scope.
    negator: bool,
}

/// A [`WordInfo`] packed into the word cache's 32-bit code, so that a word
/// seen before costs one cache lookup and no second table: base id in bits
/// 0–19, phrase-word id in bits 20–29, the negator flag in bit 30. The
/// largest value of each field stands for `STOP` / `NO_WORD`, the one
/// below it for `UNKNOWN`. Ids too large to pack (a vocabulary of a
/// million stems, a lexicon of a thousand words) set bit 31 and index a
/// side table instead.
mod code {
    use super::{WordInfo, STOP, UNKNOWN};
    use crate::lexicon::NO_WORD;

    const BASE_BITS: u32 = 20;
    const BASE_MASK: u32 = (1 << BASE_BITS) - 1;
    const BASE_STOP: u32 = BASE_MASK;
    const BASE_UNKNOWN: u32 = BASE_MASK - 1;
    const LEX_BITS: u32 = 10;
    const LEX_MASK: u32 = (1 << LEX_BITS) - 1;
    const NEGATOR: u32 = 1 << 30;
    /// Marks a side-table index.
    pub const ESCAPE: u32 = 1 << 31;

    /// The packed code of `info`, or `None` when an id is too large.
    #[inline]
    pub fn pack(info: WordInfo) -> Option<u32> {
        let base = match info.base {
            STOP => BASE_STOP,
            UNKNOWN => BASE_UNKNOWN,
            b if b < BASE_UNKNOWN => b,
            _ => return None,
        };
        let lex = match info.lex {
            NO_WORD => LEX_MASK,
            l if l < LEX_MASK => l,
            _ => return None,
        };
        Some(base | lex << BASE_BITS | if info.negator { NEGATOR } else { 0 })
    }

    /// The unit of the word of `code` (which must not have [`ESCAPE`]
    /// set) when nothing is negated, and whether there is one: `false`
    /// for a stop word, else `UNKNOWN` or `base * 2`. Chosen without a
    /// branch (see `Stream::plain_units`).
    #[inline]
    pub fn plain_unit(code: u32) -> (u32, bool) {
        let base = code & BASE_MASK;
        let id = if base == BASE_UNKNOWN {
            UNKNOWN
        } else {
            base * 2
        };
        (id, base != BASE_STOP)
    }

    /// The info packed in `code` (which must not have [`ESCAPE`] set).
    #[inline]
    pub fn unpack(code: u32) -> WordInfo {
        WordInfo {
            base: match code & BASE_MASK {
                BASE_STOP => STOP,
                BASE_UNKNOWN => UNKNOWN,
                b => b,
            },
            lex: match (code >> BASE_BITS) & LEX_MASK {
                LEX_MASK => NO_WORD,
                l => l,
            },
            negator: code & NEGATOR != 0,
        }
    }
}

/// The unit id of a word that is not part of a matched actor phrase, or
/// `None` for a stop word. `scope` counts the words a negator still
/// negates: a negator opens a scope of [`NEGATION_SCOPE`] words, every
/// other word closes one.
#[inline]
fn unit_id(info: WordInfo, scope: &mut usize) -> Option<u32> {
    if info.base == STOP {
        return None;
    }
    let negated = *scope > 0 && !info.negator;
    *scope = if info.negator {
        NEGATION_SCOPE
    } else {
        scope.saturating_sub(1)
    };
    Some(if info.base == UNKNOWN {
        UNKNOWN
    } else {
        info.base * 2 + negated as u32
    })
}

/// One unit of the stream: a unit id (or `UNKNOWN`) and its byte span.
#[derive(Debug, Clone, Copy)]
struct Unit {
    id: u32,
    start: u32,
    end: u32,
}

/// The per-thread analysis state: word cache, stemmer, reused buffers.
struct Stream<'c> {
    compiled: &'c Compiled,
    analyzer: Analyzer<'c>,
    cache: WordCache,
    /// Infos whose ids are too large to pack into a cache code (see
    /// [`code`]); usually empty.
    infos: Vec<WordInfo>,
    /// The sentence's words: start, end, cache code.
    words: Vec<(u32, u32, u32)>,
    units: Vec<Unit>,
    actor_units: Vec<u32>,
    cue_counts: Vec<usize>,
    actor_mask: u32,
    /// The first actor group the sentence names, or `NO_ACTOR`.
    lead: u32,
    /// The words resolved since [`Transformer::take_fresh`] last took
    /// them, when kept (see [`Transformer::keep_fresh`]).
    fresh: Option<FreshWords>,
}

/// Words one transformer resolved, with their cache codes, for another
/// transformer of the same model to learn without resolving them again
/// (see [`Transformer::learn`]).
#[derive(Debug, Default, Clone)]
pub struct FreshWords {
    bytes: Vec<u8>,
    /// Where each word ends in `bytes`, and its code.
    words: Vec<(u32, u32)>,
}

impl FreshWords {
    /// How many words.
    pub fn len(&self) -> usize {
        self.words.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.words.is_empty()
    }

    /// The bytes held.
    pub fn bytes(&self) -> usize {
        self.bytes.len() + 8 * self.words.len()
    }

    fn iter(&self) -> impl Iterator<Item = (&[u8], u32)> + '_ {
        let mut start = 0;
        self.words.iter().map(move |&(end, code)| {
            let word = &self.bytes[start..end as usize];
            start = end as usize;
            (word, code)
        })
    }
}

impl<'c> Stream<'c> {
    fn new(compiled: &'c Compiled, ids: &mut dyn Ids) -> Stream<'c> {
        let actor_units = compiled
            .actor_names
            .iter()
            .map(|n| match ids.base(&actor_term(n)) {
                UNKNOWN => UNKNOWN,
                b => b * 2,
            })
            .collect();
        Stream {
            compiled,
            analyzer: compiled.tokenizer.analyzer(),
            cache: WordCache::with_capacity(CACHED_WORDS),
            infos: Vec::new(),
            words: Vec::new(),
            units: Vec::new(),
            actor_units,
            cue_counts: vec![0; compiled.cue_names.len()],
            actor_mask: 0,
            lead: NO_ACTOR,
            fresh: None,
        }
    }

    #[cold]
    #[inline(never)]
    fn resolve(&mut self, word: &str, ids: &mut dyn Ids) -> u32 {
        // A one-byte word is one ASCII character.
        let one_letter = word.len() == 1;
        self.analyzer.lower(word);
        let base = match self.analyzer.stem_lowered() {
            _ if one_letter => STOP,
            None => STOP,
            Some(stem) => ids.base(stem),
        };
        let lower = self.analyzer.last_lower();
        let info = WordInfo {
            base,
            lex: self.compiled.matcher.word_id(word, lower),
            negator: self.compiled.negation && NEGATORS.contains(&lower),
        };
        let packed = code::pack(info).unwrap_or_else(|| {
            self.infos.push(info);
            code::ESCAPE | (self.infos.len() - 1) as u32
        });
        self.cache.insert(word.as_bytes(), packed);
        // An escaped code points into this stream's `infos`: not shared.
        if let Some(fresh) = self.fresh.as_mut().filter(|_| packed & code::ESCAPE == 0) {
            if fresh.bytes.len() + word.len() <= u32::MAX as usize {
                fresh.bytes.extend_from_slice(word.as_bytes());
                fresh.words.push((fresh.bytes.len() as u32, packed));
            }
        }
        packed
    }

    /// The cache code of the word `sentence[start..end]`, resolved and
    /// cached when first seen.
    #[inline(always)]
    fn code(&mut self, sentence: &str, start: usize, end: usize, ids: &mut dyn Ids) -> u32 {
        match self.cache.get_in(sentence.as_bytes(), start, end) {
            Some(c) => c,
            None => self.resolve(&sentence[start..end], ids),
        }
    }

    /// The info behind a cache code.
    #[inline]
    fn info(&self, packed: u32) -> WordInfo {
        if packed & code::ESCAPE == 0 {
            code::unpack(packed)
        } else {
            self.infos[(packed & !code::ESCAPE) as usize]
        }
    }

    /// The units of `sentence` when no phrase is matched and nothing is
    /// negated (`units` is empty on entry): a unit is its word's base,
    /// read off the cache code, as `unit_id` would give it. Whether a word
    /// is a stop word is as good as a coin toss in running text, so no
    /// branch decides it: every word's unit is written at the end of
    /// `units`, and the length moves past it only for a word that is not
    /// a stop word. A sentence has at most `len / 2 + 1` words (runs of
    /// word bytes with a byte between), which is reserved up front.
    #[inline]
    fn plain_units(&mut self, sentence: &str, ids: &mut dyn Ids, units: &mut Vec<Unit>) {
        units.reserve(sentence.len() / 2 + 1);
        let spare = units.spare_capacity_mut();
        let mut n = 0;
        let mut scope = 0usize;
        for_each_run(sentence, |start, end| {
            let packed = self.code(sentence, start, end, ids);
            let (id, keep) = if packed & code::ESCAPE == 0 {
                code::plain_unit(packed)
            } else {
                match unit_id(self.info(packed), &mut scope) {
                    Some(id) => (id, true),
                    None => (UNKNOWN, false),
                }
            };
            spare[n].write(Unit {
                id,
                start: start as u32,
                end: end as u32,
            });
            n += keep as usize;
        });
        // SAFETY: `spare[..n]` was written above, each element before `n`
        // moved past it, and `n` never exceeds the capacity reserved.
        unsafe { units.set_len(n) }
    }

    /// Fills `units`, `actor_mask` and `cue_counts` for `sentence`.
    fn analyze(&mut self, sentence: &str, ids: &mut dyn Ids) {
        if self.infos.len() >= CACHED_WORDS {
            // The cache empties itself when full (possibly mid-sentence, when
            // `words` may still point into `infos`); `infos` is trimmed
            // here, between sentences, where no index into it is alive.
            self.infos.clear();
            self.cache = WordCache::with_capacity(CACHED_WORDS);
        }
        self.words.clear();
        self.units.clear();
        self.actor_mask = 0;
        self.lead = NO_ACTOR;
        self.cue_counts.iter_mut().for_each(|c| *c = 0);
        if self.compiled.matcher.is_empty() {
            // No phrases to match: units straight from the words, in one
            // pass, without keeping the words.
            let mut units = std::mem::take(&mut self.units);
            if !self.compiled.negation && sentence.len() <= PLAIN_MAX_BYTES {
                self.plain_units(sentence, ids, &mut units);
            } else {
                let mut scope = 0usize;
                for_each_run(sentence, |start, end| {
                    let packed = self.code(sentence, start, end, ids);
                    if let Some(id) = unit_id(self.info(packed), &mut scope) {
                        units.push(Unit {
                            id,
                            start: start as u32,
                            end: end as u32,
                        });
                    }
                });
            }
            self.units = units;
            return;
        }
        let mut words = std::mem::take(&mut self.words);
        for_each_run(sentence, |start, end| {
            let packed = self.code(sentence, start, end, ids);
            words.push((start as u32, end as u32, packed));
        });
        let matcher = &self.compiled.matcher;
        let mut scope = 0usize;
        let mut cue_until = 0usize;
        let mut i = 0;
        while i < words.len() {
            let (start, end, packed) = words[i];
            let info = self.info(packed);
            if info.lex != NO_WORD {
                let hit = matcher.longest(words[i..].iter().map(|w| self.info(w.2).lex));
                match hit {
                    Some((n, Hit::Actor(a))) => {
                        self.actor_mask |= 1 << a;
                        if self.lead == NO_ACTOR {
                            self.lead = a as u32;
                        }
                        self.units.push(Unit {
                            id: self.actor_units[a],
                            start,
                            end: words[i + n - 1].1,
                        });
                        scope = scope.saturating_sub(1);
                        i += n;
                        continue;
                    }
                    Some((n, Hit::Cue(c))) if i >= cue_until => {
                        self.cue_counts[c] += 1;
                        cue_until = i + n;
                    }
                    _ => {}
                }
            }
            i += 1;
            if let Some(id) = unit_id(info, &mut scope) {
                self.units.push(Unit { id, start, end });
            }
        }
        self.words = words;
    }

    /// The terms that are not n-grams of the stream: the actor set and the
    /// cue groups, as `(unit id, count)`; `UNKNOWN` ids are left out.
    fn extras(&self, compiled: &Compiled, ids: &mut dyn Ids) -> Vec<(u32, usize)> {
        let mut out = Vec::new();
        if self.actor_mask != 0 {
            let b = ids.base(&actor_set_term(&compiled.actor_names, self.actor_mask));
            if b != UNKNOWN {
                out.push((b * 2, 1));
            }
        }
        for (c, &n) in self.cue_counts.iter().enumerate() {
            if n > 0 {
                let b = ids.base(&cue_term(&compiled.cue_names[c]));
                if b != UNKNOWN {
                    out.push((b * 2, n));
                }
            }
        }
        if compiled.roles && self.lead != NO_ACTOR {
            let actor = &compiled.actor_names[self.lead as usize];
            let cues = self
                .cue_counts
                .iter()
                .enumerate()
                .filter(|(_, &n)| n > 0)
                .map(|(c, _)| Some(compiled.cue_names[c].as_str()));
            for cue in std::iter::once(None).chain(cues) {
                let b = ids.base(&lead_term(actor, cue));
                if b != UNKNOWN {
                    out.push((b * 2, 1));
                }
            }
        }
        out
    }
}

/// `values` (distinct) in increasing order. A sentence finds seven
/// features or so: up to [`RANK_SORT_MAX`] they are placed by rank into
/// `ranked` (each value's place is the number of values below it),
/// counted with comparisons that do not branch, where an insertion sort
/// mispredicts a branch per step; longer slices are sorted in place by the
/// standard sort.
fn sort_small<'a>(values: &'a mut [u32], ranked: &'a mut [u32; RANK_SORT_MAX]) -> &'a [u32] {
    let n = values.len();
    if n > RANK_SORT_MAX {
        values.sort_unstable();
        return values;
    }
    for &v in values.iter() {
        let rank = values.iter().map(|&w| (w < v) as u32).sum::<u32>() as usize;
        ranked[rank] = v;
    }
    &ranked[..n]
}

/// The longest slice [`sort_small`] sorts by rank.
const RANK_SORT_MAX: usize = 32;

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
    compiled: Compiled,
    vocabulary: Vec<String>,
    display: Vec<String>,
    idf: Vec<f64>,
    /// Base string (stem or canonical term) → base id.
    stem_ids: FxHashMap<Box<str>, u32>,
    /// Packed n-gram key (n ≥ 2) → feature index.
    keys: FxHashMap<u64, u32>,
    /// The vocabulary's n-gram keys (n ≥ 2) hashed into a bit set small
    /// enough for the L1 cache: most word pairs of a sentence are in no
    /// n-gram of the vocabulary, and this answers so without probing
    /// `keys` (see [`KeyFilter`]).
    key_filter: KeyFilter,
    /// Unit id → what the vocabulary holds for it, in one `u32` so that a
    /// unit costs one load: the feature index of its unigram in the low
    /// bits (`NO_UNIGRAM` when it has none), and [`ENDS_NGRAM`] when some
    /// vocabulary n-gram (n ≥ 2) ends with it, which lets the hot loop skip
    /// the n-gram lookups for most units.
    unit_terms: Vec<u32>,
    /// Actor bit set → feature index of its actor-set term.
    actor_sets: FxHashMap<u32, u32>,
    /// Cue group → feature index of its term, or `NONE`.
    cue_features: Vec<u32>,
    /// Feature of each actor's lead term, then of each (actor, cue) pair
    /// at `n_actors + actor * n_cues + cue`; `NONE` when not in the
    /// vocabulary.
    lead_features: Vec<u32>,
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
        if let Some(bad) = idf.iter().find(|v| !(v.is_finite() && v.abs() <= MAX_IDF)) {
            return Err(Error::Config(format!(
                "idf value {bad:e} is not a finite number within ±{MAX_IDF:e}"
            )));
        }
        let (lo, hi) = config.ngram_range;
        let mut stem_ids: FxHashMap<Box<str>, u32> = FxHashMap::default();
        let mut keys = FxHashMap::default();
        keys.reserve(vocabulary.len());
        if vocabulary.len() >= NO_UNIGRAM as usize {
            return Err(Error::Config(format!(
                "vocabulary has {} terms, more than the {NO_UNIGRAM} supported",
                vocabulary.len()
            )));
        }
        let mut unit_terms: Vec<u32> = Vec::new();
        let mut ids = Vec::with_capacity(MAX_NGRAM);
        for (index, term) in vocabulary.iter().enumerate() {
            ids.clear();
            let extra = term.starts_with(ACTORS_PREFIX)
                || term.starts_with(CUE_PREFIX)
                || term.starts_with(LEAD_PREFIX);
            for element in term.split(' ') {
                let (base, negated) = match element.strip_prefix(NEGATED_PREFIX) {
                    Some(b) => (b, 1),
                    None => (element, 0),
                };
                let next = stem_ids.len() as u32;
                let id = *stem_ids.entry(base.into()).or_insert(next);
                ids.push(id * 2 + negated);
            }
            let n_ok = if extra {
                ids.len() == 1
            } else {
                (lo..=hi).contains(&ids.len())
            };
            if !n_ok || term.is_empty() {
                return Err(Error::Config(format!(
                    "vocabulary term {term:?} is not an n-gram of length {lo}..={hi}"
                )));
            }
            if stem_ids.len() > MAX_STEMS {
                return Err(Error::Config(format!(
                    "vocabulary uses more than {MAX_STEMS} distinct stems"
                )));
            }
            let last = ids[ids.len() - 1] as usize;
            if unit_terms.len() <= last {
                unit_terms.resize(last + 1, NO_UNIGRAM);
            }
            let entry = &mut unit_terms[last];
            let duplicate = if ids.len() == 1 {
                let before = *entry & NO_UNIGRAM;
                *entry = (*entry & ENDS_NGRAM) | index as u32;
                before != NO_UNIGRAM
            } else {
                *entry |= ENDS_NGRAM;
                keys.insert(pack(&ids), index as u32).is_some()
            };
            if duplicate {
                return Err(Error::Config(format!(
                    "vocabulary term {term:?} appears twice"
                )));
            }
        }
        let key_filter = KeyFilter::new(keys.keys().copied());
        unit_terms.resize(stem_ids.len() * 2, NO_UNIGRAM);
        let compiled = Compiled::new(&config);
        let feature_of = |term: &str| {
            stem_ids
                .get(term)
                .map(|&b| unit_terms[(b * 2) as usize] & NO_UNIGRAM)
                .filter(|&f| f != NO_UNIGRAM)
                .unwrap_or(NONE)
        };
        let n_actors = compiled.actor_names.len().min(32);
        let mut actor_sets = FxHashMap::default();
        for term in vocabulary.iter().filter(|t| t.starts_with(ACTORS_PREFIX)) {
            let mut mask = 0u32;
            for name in term[ACTORS_PREFIX.len()..].split('+') {
                if let Some(a) =
                    (0..n_actors).find(|&a| compiled.actor_names[a].eq_ignore_ascii_case(name))
                {
                    mask |= 1 << a;
                }
            }
            if mask != 0 && actor_set_term(&compiled.actor_names, mask) == *term {
                actor_sets.insert(mask, feature_of(term));
            }
        }
        let cue_features = compiled
            .cue_names
            .iter()
            .map(|c| feature_of(&cue_term(c)))
            .collect();
        let mut lead_features: Vec<u32> = compiled
            .actor_names
            .iter()
            .map(|a| feature_of(&lead_term(a, None)))
            .collect();
        for a in &compiled.actor_names {
            for c in &compiled.cue_names {
                lead_features.push(feature_of(&lead_term(a, Some(c))));
            }
        }
        Ok(FittedTfIdfVectorizer {
            compiled,
            actor_sets,
            cue_features,
            lead_features,
            config,
            vocabulary,
            display,
            idf,
            stem_ids,
            keys,
            key_filter,
            unit_terms,
        })
    }

    /// The bit of actor group `name` in [`Transformer::actor_mask`], or
    /// `None` when the actor stage is off or has no such group.
    pub fn actor_bit(&self, name: &str) -> Option<u32> {
        self.compiled
            .actor_names
            .iter()
            .position(|n| n == name)
            .map(|i| 1 << i)
    }

    /// The settings it was fitted with.
    pub fn config(&self) -> &TfIdfVectorizer {
        &self.config
    }
    /// Vocabulary terms (units joined by a space), in feature-index order.
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
        &self.compiled.tokenizer
    }

    /// A per-thread transformer with reused buffers and a word cache.
    pub fn transformer(&self) -> Transformer<'_> {
        let mut ids = Fixed(&self.stem_ids);
        Transformer {
            fitted: self,
            stream: Stream::new(&self.compiled, &mut ids),
            seen: vec![0; self.vocabulary.len()],
            touched: Vec::new(),
            log_tf: std::array::from_fn(|count| 1.0 + (count as f64).ln()),
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
    stream: Stream<'a>,
    /// By feature index: `count << 32 | place` of the features the last
    /// transform found (`count` times, first at `place`), 0 for the rest.
    /// The place of an n-gram ending at unit `k` of the stream is
    /// `k << 2 | n`; the sentence-level terms (actor set, cues, lead)
    /// follow, numbered from `units << 2`.
    seen: Vec<u64>,
    /// The features the last transform found, in the order it found them
    /// (sorted in place only when there are more than [`RANK_SORT_MAX`]);
    /// their entries of `seen` are cleared by the next transform.
    touched: Vec<u32>,
    /// `1 + ln(count)` by count, for the small counts (sublinear tf).
    log_tf: [f64; LOG_TF_COUNTS],
}

/// Counts whose sublinear tf a transformer keeps computed: a term occurs
/// more than once in a sentence often enough that `ln` was 1% of the
/// featurizer's time, and rarely more than a few times.
const LOG_TF_COUNTS: usize = 16;

/// Units a sentence is featurized on, so that places (`k << 2 | n`) fit in
/// 32 bits. A sentence that long (three gigabytes or more) is cut: no input
/// reader makes one.
const MAX_UNITS: usize = (1 << 30) - 1;

impl Transformer<'_> {
    /// Writes the TF-IDF vector of `sentence` into `out` (cleared first).
    pub fn transform(&mut self, sentence: &str, out: &mut SparseVec) {
        out.clear();
        self.analyze(sentence);
        let fitted = self.fitted;
        self.stream.units.truncate(MAX_UNITS);
        let (lo, hi) = fitted.config.ngram_range;
        let units = &self.stream.units;
        let (seen, touched) = (&mut self.seen[..], &mut self.touched);
        // Counts a find of feature `index` at `place`; the first find of a
        // feature keeps its place and lists the feature.
        let mut hit = |index: u32, place: u64| {
            let entry = &mut seen[index as usize];
            if *entry == 0 {
                touched.push(index);
                *entry = 1 << 32 | place;
            } else {
                *entry += 1 << 32;
            }
        };
        for (k, unit) in units.iter().enumerate() {
            let u = unit.id;
            if u == UNKNOWN {
                continue; // no n-gram ending here can be in the vocabulary
            }
            // Every known unit id has an entry (see `from_parts`).
            let entry = fitted.unit_terms.get(u as usize).copied().unwrap_or(0);
            let place = (k as u64) << 2;
            if lo == 1 && entry & NO_UNIGRAM != NO_UNIGRAM {
                hit(entry & NO_UNIGRAM, place | 1);
            }
            if entry & ENDS_NGRAM == 0 {
                continue;
            }
            // The key of the n-gram ending at `k`, grown one unit to the
            // left at a time, as `pack` would build it.
            let mut key = u as u64 + 1;
            for n in 2..=hi.min(k + 1) {
                let id = units[k + 1 - n].id;
                if id == UNKNOWN {
                    break; // every longer n-gram holds it too
                }
                key |= (id as u64 + 1) << (ID_BITS * (n as u32 - 1));
                if n < lo || !fitted.key_filter.may_contain(key) {
                    continue;
                }
                if let Some(&index) = fitted.keys.get(&key) {
                    hit(index, place | n as u64);
                }
            }
        }
        // Sentence-level terms, through tables built at load time.
        let mut extra = (units.len() as u64) << 2;
        let mut push = |index: u32| {
            if index != NONE {
                hit(index, extra);
                // Past 2^32 places (only in a sentence cut to
                // `MAX_UNITS`) the place of the first find is what is
                // kept, and no sentence-level term has one.
                extra = (extra + 1).min(u32::MAX as u64);
            }
        };
        if self.stream.actor_mask != 0 {
            if let Some(&index) = fitted.actor_sets.get(&self.stream.actor_mask) {
                push(index);
            }
        }
        for (&n, &index) in self.stream.cue_counts.iter().zip(&fitted.cue_features) {
            for _ in 0..n {
                push(index);
            }
        }
        let lead = self.stream.lead;
        if fitted.compiled.roles && lead != NO_ACTOR {
            let n_actors = fitted.compiled.actor_names.len();
            let n_cues = fitted.compiled.cue_names.len();
            push(fitted.lead_features[lead as usize]);
            for (c, &n) in self.stream.cue_counts.iter().enumerate() {
                if n > 0 {
                    push(fitted.lead_features[n_actors + lead as usize * n_cues + c]);
                }
            }
        }
        if touched.is_empty() {
            return;
        }
        let mut ranked = [0u32; RANK_SORT_MAX];
        let sorted = sort_small(touched, &mut ranked);
        let sublinear = fitted.config.sublinear_tf;
        for &index in sorted {
            let count = (seen[index as usize] >> 32) as u32;
            // Most terms occur once: ln 1 = 0 needs no logarithm.
            let tf = if count == 1 {
                1.0
            } else if sublinear {
                match self.log_tf.get(count as usize) {
                    Some(&tf) => tf,
                    None => 1.0 + (count as f64).ln(),
                }
            } else {
                count as f64
            };
            out.indices.push(index);
            out.values.push(tf * fitted.idf[index as usize]);
        }
        // Summed in a loop of its own, in the same order: in the loop above
        // the calls (`ln`, growing a vector) made the sum live in memory.
        let norm = out
            .values
            .iter()
            .map(|v| v * v)
            .fold(0.0, |a, b| a + b)
            .sqrt();
        if norm > 0.0 {
            for v in &mut out.values {
                *v /= norm;
            }
        }
    }

    /// The actor groups `sentence` names, as [`actor_mask`](Self::actor_mask)
    /// gives them after [`transform`](Self::transform), without the work of
    /// its vector: for a look through an article before it is scored. What
    /// the last transform found is forgotten ([`surface`](Self::surface)
    /// gives `None` until the next).
    pub fn actors(&mut self, sentence: &str) -> u32 {
        self.analyze(sentence);
        self.stream.actor_mask
    }

    /// Whether to keep the words this transformer resolves from now on,
    /// for [`take_fresh`](Self::take_fresh); not keeping them drops those
    /// kept.
    pub fn keep_fresh(&mut self, keep: bool) {
        match keep {
            true => {
                self.stream.fresh.get_or_insert_with(FreshWords::default);
            }
            false => self.stream.fresh = None,
        }
    }

    /// The words resolved since the last call (none unless
    /// [`keep_fresh`](Self::keep_fresh) was called).
    pub fn take_fresh(&mut self) -> FreshWords {
        self.stream
            .fresh
            .as_mut()
            .map(std::mem::take)
            .unwrap_or_default()
    }

    /// Caches the words another transformer of the same model resolved, so
    /// that this one finds them without resolving them: the same codes it
    /// would have made itself, so a word it already has is set to the code
    /// it has (one lookup a word: `insert` finds it).
    pub fn learn(&mut self, words: &FreshWords) {
        for (word, code) in words.iter() {
            self.stream.cache.insert(word, code);
        }
    }

    /// Forgets what the last transform found and analyses `sentence`:
    /// its units, actors and cues in the stream.
    #[inline]
    fn analyze(&mut self, sentence: &str) {
        for &f in &self.touched {
            self.seen[f as usize] = 0;
        }
        self.touched.clear();
        let mut ids = Fixed(&self.fitted.stem_ids);
        self.stream.analyze(sentence, &mut ids);
    }

    /// The actor groups the sentence of the last
    /// [`transform`](Self::transform) named, one bit per group in the order
    /// of the lexicon (see [`FittedTfIdfVectorizer::actor_bit`]); 0 when the
    /// actor stage is off.
    pub fn actor_mask(&self) -> u32 {
        self.stream.actor_mask
    }

    /// Where `feature` first occurred in the sentence of the last
    /// [`transform`](Self::transform), as a byte range: the words of the
    /// n-gram as the sentence wrote them (with any stop words between).
    /// `None` for the actor-set and cue terms, which are not words.
    pub fn surface(&self, feature: usize) -> Option<(usize, usize)> {
        let place = match self.seen.get(feature)? {
            0 => return None,
            &entry => (entry & 0xFFFF_FFFF) as usize,
        };
        let (k, n) = (place >> 2, place & 3);
        let units = &self.stream.units;
        let last = units.get(k)?;
        Some((units[k + 1 - n].start as usize, last.end as usize))
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
    fn word_infos_pack_into_cache_codes_or_escape() {
        use crate::lexicon::NO_WORD;
        let cases = [
            (0, 0, false),
            (STOP, NO_WORD, false),
            (UNKNOWN, 3, true),
            ((1 << 20) - 3, 1022, true),
        ];
        for (base, lex, negator) in cases {
            let info = WordInfo { base, lex, negator };
            let packed = code::pack(info).expect("fits");
            assert_eq!(packed & code::ESCAPE, 0);
            assert_eq!(code::unpack(packed), info);
        }
        for (base, lex) in [((1 << 20) - 2, 0), (0, 1023), (1 << 25, NO_WORD)] {
            let info = WordInfo {
                base,
                lex,
                negator: false,
            };
            assert_eq!(code::pack(info), None, "{info:?} must escape");
        }
    }

    #[test]
    fn plain_units_read_off_codes_equal_unit_id_without_negation() {
        use crate::lexicon::NO_WORD;
        for base in [0, 1, 7, STOP, UNKNOWN, (1 << 20) - 3] {
            for lex in [NO_WORD, 0, 5] {
                let info = WordInfo {
                    base,
                    lex,
                    negator: false,
                };
                let packed = code::pack(info).expect("fits");
                let mut scope = 0;
                let (id, keep) = code::plain_unit(packed);
                assert_eq!(keep.then_some(id), unit_id(info, &mut scope), "{info:?}");
            }
        }
    }

    #[test]
    fn key_filter_finds_every_key_and_rejects_most_others() {
        for n in [0usize, 1, 7, 100, 5_000] {
            let keys: Vec<u64> = (0..n as u32).map(|i| pack(&[i, i * 7 + 3])).collect();
            let filter = KeyFilter::new(keys.iter().copied());
            assert!(keys.iter().all(|&k| filter.may_contain(k)));
            let others = (0..10_000u32)
                .map(|i| pack(&[i + 1_000_000, i]))
                .filter(|&k| filter.may_contain(k))
                .count();
            assert!(others < 2_000, "{n} keys: {others} of 10000 others pass");
        }
    }

    /// The default settings with the shipped actor and cue lexicons (and
    /// negation if asked), fitted on `sentences` twice over, so that every
    /// term reaches the default min_df of 2.
    fn fitted_with_lexicon(sentences: &[&str], negation: bool) -> FittedTfIdfVectorizer {
        let labels = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("labels");
        let lexicon = crate::lexicon::Lexicon::load(
            Some(&labels.join("actors.txt")),
            Some(&labels.join("cues.txt")),
        )
        .unwrap();
        crate::model::TrainConfig::default()
            .featurizer
            .lexicon(lexicon, true, true, negation)
            .fit(&[sentences, sentences].concat())
            .unwrap()
    }

    #[test]
    fn actors_are_the_mask_a_transform_gives_and_forget_its_places() {
        let sentences = [
            "Russia and China signed a deal in Moscow.",
            "Washington warned Beijing.",
            "The match ended in a draw.",
            "",
        ];
        let fitted = fitted_with_lexicon(&sentences, false);
        let (mut a, mut b) = (fitted.transformer(), fitted.transformer());
        let mut x = SparseVec::default();
        for sentence in sentences {
            b.transform(sentence, &mut x);
            a.transform(sentence, &mut x);
            assert_eq!(a.actors(sentence), b.actor_mask(), "{sentence:?}");
            assert_eq!(a.actor_mask(), b.actor_mask(), "{sentence:?}");
            for f in 0..fitted.vocabulary().len() {
                assert_eq!(a.surface(f), None, "{sentence:?}: feature {f}");
            }
        }
        assert_ne!(a.actors(sentences[0]), 0, "the lexicon names no actor");
    }

    #[test]
    fn words_learned_from_another_transformer_are_not_resolved_again() {
        let sentences = [
            "Russia and China signed a deal in Moscow.",
            "Washington warned Beijing not to arm Russia.",
            "Sanctions cannot stop the deal, Beijing said.",
            "Tariffs, sanctions, deals.",
        ];
        for negation in [false, true] {
            let fitted = fitted_with_lexicon(&sentences, negation);
            let (mut teacher, mut learner) = (fitted.transformer(), fitted.transformer());
            teacher.keep_fresh(true);
            learner.keep_fresh(true);
            let (mut x, mut y) = (SparseVec::default(), SparseVec::default());
            for sentence in sentences {
                teacher.transform(sentence, &mut x);
            }
            let fresh = teacher.take_fresh();
            assert!(fresh.len() > 10, "{fresh:?}");
            assert!(teacher.take_fresh().is_empty(), "taken once");
            learner.learn(&fresh);
            for sentence in sentences {
                teacher.transform(sentence, &mut x);
                learner.transform(sentence, &mut y);
                assert_eq!(x, y, "{sentence:?}");
                assert_eq!(learner.actor_mask(), teacher.actor_mask(), "{sentence:?}");
            }
            assert!(
                learner.take_fresh().is_empty(),
                "the learner resolved words it had learned"
            );
            // A word neither has met is resolved, and kept, as before.
            learner.transform("Envoys met.", &mut y);
            assert_eq!(learner.take_fresh().len(), 2);
            // Unless the transformer was told to stop keeping them.
            learner.keep_fresh(false);
            learner.transform("Envoys left.", &mut y);
            assert!(learner.take_fresh().is_empty());
        }
    }

    #[test]
    fn small_sort_equals_the_standard_sort() {
        let mut rng = crate::testutil::Rng(0x9e37_79b9_7f4a_7c15);
        for n in 0..=RANK_SORT_MAX + 3 {
            for _ in 0..50 {
                // Distinct, as the features a sentence found are, and
                // spread over all 32 bits.
                let mut values: Vec<u32> = Vec::new();
                while values.len() < n {
                    let v = (rng.next() >> (rng.below(32) + 32)) as u32;
                    if !values.contains(&v) {
                        values.push(v);
                    }
                }
                let mut want = values.clone();
                want.sort_unstable();
                let mut ranked = [0; RANK_SORT_MAX];
                assert_eq!(sort_small(&mut values, &mut ranked), want);
            }
        }
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
