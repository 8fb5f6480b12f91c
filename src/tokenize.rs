//! Tokenization: sentence → lowercased words → Snowball stems.
//!
//! Has the responsibility to turn a sentence into the sequence of terms the
//! featurizer counts. A *word* is a maximal run of alphanumeric characters
//! (Unicode); words of one ASCII character (the `s` of `Russia’s`) are
//! dropped, as in scikit-learn's default token pattern. Words are lowercased
//! (Unicode-aware, with an ASCII fast path), compared against the stop-word
//! list, then stemmed with the English Snowball stemmer (rust-stemmers).
//! CJK text has no spaces, so a run such as `李克強` is one word.
//!
//! [`Analyzer`] keeps per-thread buffers and a stem cache keyed by the
//! lowercased word, so a word seen before costs one hash lookup and no
//! allocation.

use rust_stemmers::{Algorithm, Stemmer};
use rustc_hash::{FxHashMap, FxHashSet};
use serde::{Deserialize, Serialize};

/// Function words that carry no stance. Negations (`not`, `no`, `neither`),
/// `against`, `together` and `between` are deliberately *not* here: they are
/// part of how sentences about alignment and friction are phrased.
pub const ENGLISH_STOP_WORDS: &[&str] = &[
    "a", "about", "after", "all", "also", "am", "an", "and", "any", "are", "as", "at", "be",
    "been", "being", "both", "but", "by", "can", "could", "did", "do", "does", "for", "from",
    "had", "has", "have", "he", "her", "here", "hers", "him", "his", "how", "i", "if", "in",
    "into", "is", "it", "its", "me", "might", "more", "most", "my", "of", "on", "or", "our",
    "ours", "she", "should", "so", "some", "such", "than", "that", "the", "their", "theirs",
    "them", "then", "there", "these", "they", "this", "those", "to", "too", "up", "us", "very",
    "was", "we", "were", "what", "when", "where", "which", "while", "who", "whom", "why", "will",
    "with", "would", "you", "your",
];

/// Tokenizer settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenizerConfig {
    /// Lowercased words dropped before stemming and before n-grams are formed.
    /// Defaults to [`ENGLISH_STOP_WORDS`].
    pub stop_words: Vec<String>,
    /// Whether to apply the English Snowball stemmer. Defaults to `true`.
    pub stem: bool,
}

impl Default for TokenizerConfig {
    fn default() -> Self {
        TokenizerConfig {
            stop_words: ENGLISH_STOP_WORDS.iter().map(|s| s.to_string()).collect(),
            stem: true,
        }
    }
}

/// Calls `f(start, end)` for every word of `text`, as byte offsets.
///
/// A word is a maximal run of alphanumeric characters; one-character ASCII
/// words are skipped.
#[inline]
pub fn for_each_word(text: &str, mut f: impl FnMut(usize, usize)) {
    let bytes = text.as_bytes();
    let mut i = 0;
    let n = bytes.len();
    while i < n {
        // skip separators
        let b = bytes[i];
        if b < 0x80 {
            if !b.is_ascii_alphanumeric() {
                i += 1;
                continue;
            }
        } else {
            let c = decode_at(text, i);
            if !c.is_alphanumeric() {
                i += c.len_utf8();
                continue;
            }
        }
        let start = i;
        let mut ascii_only = true;
        while i < n {
            let b = bytes[i];
            if b < 0x80 {
                if !b.is_ascii_alphanumeric() {
                    break;
                }
                i += 1;
            } else {
                let c = decode_at(text, i);
                if !c.is_alphanumeric() {
                    break;
                }
                ascii_only = false;
                i += c.len_utf8();
            }
        }
        if !(ascii_only && i - start == 1) {
            f(start, i);
        }
    }
}

#[inline]
fn decode_at(text: &str, i: usize) -> char {
    // `i` is always on a char boundary: we only advance by whole chars.
    text[i..].chars().next().unwrap_or('\u{FFFD}')
}

/// Writes the lowercase form of `word` into `buf` (cleared first).
#[inline]
pub fn lowercase_into(word: &str, buf: &mut String) {
    buf.clear();
    if word.is_ascii() {
        buf.push_str(word);
        buf.make_ascii_lowercase();
    } else {
        for c in word.chars() {
            buf.extend(c.to_lowercase());
        }
    }
}

/// A word of a sentence after analysis.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Token {
    /// Byte offset of the word in the sentence.
    pub start: usize,
    /// Byte offset one past the word.
    pub end: usize,
    /// The lowercased word.
    pub word: String,
    /// Its stem (equal to `word` when stemming is off).
    pub stem: String,
}

/// Immutable tokenizer: settings plus the stop-word set. Cheap to share
/// between threads; per-thread state lives in [`Analyzer`].
#[derive(Debug, Clone)]
pub struct Tokenizer {
    config: TokenizerConfig,
    stop: FxHashSet<String>,
}

impl Tokenizer {
    /// Builds a tokenizer from its settings.
    pub fn new(config: TokenizerConfig) -> Self {
        let stop = config
            .stop_words
            .iter()
            .map(|w| {
                let mut s = String::new();
                lowercase_into(w, &mut s);
                s
            })
            .collect();
        Tokenizer { config, stop }
    }

    /// The settings this tokenizer was built from.
    pub fn config(&self) -> &TokenizerConfig {
        &self.config
    }

    /// Whether a lowercased word is a stop word.
    #[inline]
    pub fn is_stop_word(&self, lower: &str) -> bool {
        self.stop.contains(lower)
    }

    /// A fresh per-thread analyzer.
    pub fn analyzer(&self) -> Analyzer<'_> {
        Analyzer {
            tokenizer: self,
            stemmer: Stemmer::create(Algorithm::English),
            lower: String::new(),
        }
    }

    /// Convenience: the non-stop-word tokens of `text`, allocating freely.
    /// The featurizer's hot path does not use this.
    pub fn tokens(&self, text: &str) -> Vec<Token> {
        let mut analyzer = self.analyzer();
        let mut out = Vec::new();
        for_each_word(text, |start, end| {
            analyzer.lower(&text[start..end]);
            if let Some(stem) = analyzer.stem_lowered() {
                out.push(Token {
                    start,
                    end,
                    word: analyzer.last_lower().to_string(),
                    stem: stem.into_owned(),
                });
            }
        });
        out
    }
}

/// Per-thread tokenizer state: the stemmer and reused buffers.
pub struct Analyzer<'t> {
    tokenizer: &'t Tokenizer,
    stemmer: Stemmer,
    lower: String,
}

impl Analyzer<'_> {
    /// Lowercases `word` into the internal buffer and returns it.
    #[inline]
    pub fn lower(&mut self, word: &str) -> &str {
        lowercase_into(word, &mut self.lower);
        &self.lower
    }

    /// The stem of `word`, or `None` when it is a stop word. The lowercased
    /// word stays available through [`Analyzer::last_lower`].
    pub fn stem(&mut self, word: &str) -> Option<std::borrow::Cow<'_, str>> {
        lowercase_into(word, &mut self.lower);
        self.stem_lowered()
    }

    /// Stems the word already in the lowercase buffer.
    pub fn stem_lowered(&self) -> Option<std::borrow::Cow<'_, str>> {
        if self.tokenizer.is_stop_word(&self.lower) {
            return None;
        }
        if self.tokenizer.config.stem {
            Some(self.stemmer.stem(&self.lower))
        } else {
            Some(std::borrow::Cow::Borrowed(self.lower.as_str()))
        }
    }

    /// The word most recently lowercased.
    pub fn last_lower(&self) -> &str {
        &self.lower
    }

    /// The tokenizer behind this analyzer.
    pub fn tokenizer(&self) -> &Tokenizer {
        self.tokenizer
    }
}

/// A cache from lowercased word to a caller-defined code (for the featurizer:
/// a stem id, "stop word" or "not in vocabulary"). Bounded: when it holds
/// `capacity` words it is emptied, so memory stays flat on endless input.
#[derive(Debug, Default)]
pub struct WordCache {
    map: FxHashMap<Box<str>, u32>,
    capacity: usize,
}

impl WordCache {
    /// A cache holding at most `capacity` words.
    pub fn with_capacity(capacity: usize) -> Self {
        WordCache {
            map: FxHashMap::default(),
            capacity: capacity.max(1),
        }
    }

    /// The code cached for `lower`, if any.
    #[inline]
    pub fn get(&self, lower: &str) -> Option<u32> {
        self.map.get(lower).copied()
    }

    /// Remembers `code` for `lower`.
    pub fn insert(&mut self, lower: &str, code: u32) {
        if self.map.len() >= self.capacity {
            self.map.clear();
        }
        self.map.insert(lower.into(), code);
    }

    /// Number of cached words.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// Whether the cache is empty.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(text: &str) -> Vec<&str> {
        let mut out = Vec::new();
        for_each_word(text, |s, e| out.push(&text[s..e]));
        out
    }

    #[test]
    fn word_table() {
        let cases: &[(&str, &[&str])] = &[
            ("", &[]),
            ("   ", &[]),
            ("Russia’s red lines", &["Russia", "red", "lines"]),
            (
                "US$400 billion, 3,200km",
                &["US", "400", "billion", "200km"],
            ),
            ("China-Russia ties", &["China", "Russia", "ties"]),
            (
                "Li Keqiang (李克強) met",
                &["Li", "Keqiang", "李克強", "met"],
            ),
            ("a b c dé", &["dé"]),
            ("Naïve café — Ürümqi", &["Naïve", "café", "Ürümqi"]),
        ];
        for (text, want) in cases {
            assert_eq!(&words(text), want, "input {text:?}");
        }
    }

    #[test]
    fn word_offsets() {
        let text = "Xi (習近平) spoke";
        let mut spans = Vec::new();
        for_each_word(text, |s, e| spans.push((s, e)));
        assert_eq!(spans, vec![(0, 2), (4, 13), (15, 20)]);
    }

    #[test]
    fn stems_and_stop_words() {
        let tok = Tokenizer::new(TokenizerConfig::default());
        let got: Vec<(String, String)> = tok
            .tokens("The sanctions are pushing Moscow toward Beijing’s partnership")
            .into_iter()
            .map(|t| (t.word, t.stem))
            .collect();
        let want = [
            ("sanctions", "sanction"),
            ("pushing", "push"),
            ("moscow", "moscow"),
            ("toward", "toward"),
            ("beijing", "beij"),
            ("partnership", "partnership"),
        ];
        let want: Vec<(String, String)> = want
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect();
        assert_eq!(got, want);
    }

    #[test]
    fn negations_are_kept() {
        let tok = Tokenizer::new(TokenizerConfig::default());
        let stems: Vec<String> = tok
            .tokens("no limits, not an alliance")
            .into_iter()
            .map(|t| t.stem)
            .collect();
        assert_eq!(stems, ["no", "limit", "not", "allianc"]);
    }

    #[test]
    fn unicode_lowercasing() {
        let mut buf = String::new();
        lowercase_into("ÜRÜMQI", &mut buf);
        assert_eq!(buf, "ürümqi");
        lowercase_into("NATO", &mut buf);
        assert_eq!(buf, "nato");
    }

    #[test]
    fn stemming_can_be_switched_off() {
        let tok = Tokenizer::new(TokenizerConfig {
            stop_words: vec![],
            stem: false,
        });
        let stems: Vec<String> = tok
            .tokens("The sanctions")
            .into_iter()
            .map(|t| t.stem)
            .collect();
        assert_eq!(stems, ["the", "sanctions"]);
    }

    #[test]
    fn word_cache_is_bounded() {
        let mut cache = WordCache::with_capacity(2);
        cache.insert("a", 1);
        cache.insert("b", 2);
        assert_eq!(cache.get("a"), Some(1));
        cache.insert("c", 3);
        assert_eq!(cache.len(), 1);
        assert_eq!(cache.get("c"), Some(3));
        assert_eq!(cache.get("a"), None);
    }
}
