//! Lexicons: who the actors are and which words signal cooperation,
//! friction or pressure.
//!
//! Has the responsibility to read the team's editable lists
//! (`labels/actors.txt`, `labels/cues.txt`) and to match their phrases in a
//! stream of words. A list file is a sequence of groups:
//!
//! ```text
//! # comment
//! [RUSSIA]
//! Russia
//! the Kremlin        # several words: matched as a sequence
//! U.S.               # punctuation is ignored: the words `u` `s`
//! =US                # a leading `=` matches this exact case only
//! ```
//!
//! Phrases are split into words the way the tokenizer does (alphanumeric
//! runs, one-letter words kept) and matched case-insensitively, longest
//! phrase first. A possessive needs no entry: `Russia’s` is the words
//! `russia` `s`, and `russia` matches.

use std::path::Path;

use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::tokenize::{for_each_run, lowercase_into};

/// One named list of phrases.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Group {
    /// The group's name, e.g. `RUSSIA` or `PRESSURE`.
    pub name: String,
    /// Its phrases as written in the file.
    pub phrases: Vec<String>,
}

/// The actor and cue lists a featurizer uses.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Lexicon {
    /// Actors: every mention becomes the group's canonical token.
    pub actors: Vec<Group>,
    /// Cues: every match counts towards the group's cue feature.
    pub cues: Vec<Group>,
}

/// Words that open a negation scope. Contractions split at the apostrophe,
/// so `didn't` is the word `didn`.
pub const NEGATORS: &[&str] = &[
    "not", "no", "never", "neither", "nor", "without", "cannot", "nothing", "none", "nobody",
    "didn", "doesn", "don", "isn", "wasn", "aren", "weren", "won", "couldn", "wouldn", "shouldn",
    "hasn", "haven", "hadn",
];

/// How many following content words a negator marks.
pub const NEGATION_SCOPE: usize = 3;

/// Parses a list file into groups; `path` only names the file in errors.
pub fn parse_groups(text: &str, path: &Path) -> Result<Vec<Group>> {
    let mut groups: Vec<Group> = Vec::new();
    for (n, raw) in text.lines().enumerate() {
        let line = raw.split(" #").next().unwrap_or("").trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let bad = |message: String| Error::Classes {
            path: path.to_path_buf(),
            message: format!("line {}: {message}", n + 1),
        };
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            let name = name.trim();
            if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                return Err(bad(format!(
                    "group name {name:?} must be ASCII letters, digits or `_`"
                )));
            }
            if groups.iter().any(|g| g.name.eq_ignore_ascii_case(name)) {
                return Err(bad(format!("group [{name}] appears twice")));
            }
            groups.push(Group {
                name: name.to_string(),
                phrases: Vec::new(),
            });
            continue;
        }
        let Some(group) = groups.last_mut() else {
            return Err(bad(format!("phrase {line:?} before any [GROUP] line")));
        };
        if phrase_words(line).1.is_empty() {
            return Err(bad(format!("phrase {line:?} has no letters or digits")));
        }
        group.phrases.push(line.to_string());
    }
    if groups.len() > 32 {
        return Err(Error::Classes {
            path: path.to_path_buf(),
            message: format!("{} groups; at most 32 are supported", groups.len()),
        });
    }
    Ok(groups)
}

impl Lexicon {
    /// Reads the actor and cue list files; a list given as `None` stays
    /// empty.
    pub fn load(actors: Option<&Path>, cues: Option<&Path>) -> Result<Lexicon> {
        let read = |p: Option<&Path>| -> Result<Vec<Group>> {
            match p {
                Some(p) => {
                    let text = std::fs::read_to_string(p).map_err(|e| Error::io(p, e))?;
                    parse_groups(&text, p)
                }
                None => Ok(Vec::new()),
            }
        };
        Ok(Lexicon {
            actors: read(actors)?,
            cues: read(cues)?,
        })
    }
}

/// Splits a phrase into match keys: lowercase words, or for a phrase
/// written with a leading `=`, exact words prefixed with `=`.
pub fn phrase_words(phrase: &str) -> (bool, Vec<String>) {
    let (exact, body) = match phrase.strip_prefix('=') {
        Some(rest) => (true, rest),
        None => (false, phrase),
    };
    let mut words = Vec::new();
    let mut lower = String::new();
    for_each_run(body, |s, e| {
        if exact {
            words.push(format!("={}", &body[s..e]));
        } else {
            lowercase_into(&body[s..e], &mut lower);
            words.push(lower.clone());
        }
    });
    (exact, words)
}

/// What a complete phrase match stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hit {
    /// Actor group `i`.
    Actor(usize),
    /// Cue group `i`.
    Cue(usize),
}

/// Marks a word that occurs in no phrase.
pub const NO_WORD: u32 = u32::MAX;

/// A compiled phrase matcher: a trie over word ids.
#[derive(Debug, Clone, Default)]
pub struct Matcher {
    words: FxHashMap<String, u32>,
    edges: FxHashMap<(u32, u32), u32>,
    accept: Vec<Option<Hit>>,
}

impl Matcher {
    /// Compiles the enabled parts of a lexicon. When two groups list the same
    /// phrase, the first listed wins (actors before cues).
    pub fn new(lexicon: &Lexicon, actors: bool, cues: bool) -> Matcher {
        let mut m = Matcher {
            accept: vec![None],
            ..Matcher::default()
        };
        let mut add = |groups: &[Group], hit: fn(usize) -> Hit| {
            for (g, group) in groups.iter().enumerate() {
                for phrase in &group.phrases {
                    let (_, words) = phrase_words(phrase);
                    let mut node = 0u32;
                    for w in words {
                        let next_word = m.words.len() as u32;
                        let id = *m.words.entry(w).or_insert(next_word);
                        let next_node = m.accept.len() as u32;
                        node = *m.edges.entry((node, id)).or_insert_with(|| next_node);
                        if node == next_node {
                            m.accept.push(None);
                        }
                    }
                    if node != 0 && m.accept[node as usize].is_none() {
                        m.accept[node as usize] = Some(hit(g));
                    }
                }
            }
        };
        if actors {
            add(&lexicon.actors, Hit::Actor);
        }
        if cues {
            add(&lexicon.cues, Hit::Cue);
        }
        m
    }

    /// Whether no phrase is compiled.
    pub fn is_empty(&self) -> bool {
        self.words.is_empty()
    }

    /// The id of a word (`raw` as written, `lower` lowercased), or
    /// [`NO_WORD`]. An exact-case entry takes precedence.
    pub fn word_id(&self, raw: &str, lower: &str) -> u32 {
        if !self.words.is_empty() {
            let mut exact = String::with_capacity(raw.len() + 1);
            exact.push('=');
            exact.push_str(raw);
            if let Some(&id) = self.words.get(&exact) {
                return id;
            }
        }
        self.words.get(lower).copied().unwrap_or(NO_WORD)
    }

    /// The longest phrase starting at `words[0]`: its length in words and
    /// what it stands for.
    #[inline]
    pub fn longest(&self, words: impl Iterator<Item = u32>) -> Option<(usize, Hit)> {
        let mut node = 0u32;
        let mut best = None;
        for (n, w) in words.enumerate() {
            if w == NO_WORD {
                break;
            }
            match self.edges.get(&(node, w)) {
                Some(&next) => node = next,
                None => break,
            }
            if let Some(hit) = self.accept[node as usize] {
                best = Some((n + 1, hit));
            }
        }
        best
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lexicon() -> Lexicon {
        let text = "# actors\n[RUSSIA]\nRussia\nthe Kremlin # comment\nMoscow\n[WEST]\nU.S.\nUnited States\n=US\nNATO\n";
        Lexicon {
            actors: parse_groups(text, Path::new("actors.txt")).unwrap(),
            cues: parse_groups(
                "[PRESSURE]\nsanctions\nexport controls\n",
                Path::new("cues.txt"),
            )
            .unwrap(),
        }
    }

    fn ids(m: &Matcher, text: &str) -> Vec<u32> {
        let mut out = Vec::new();
        let mut lower = String::new();
        for_each_run(text, |s, e| {
            lowercase_into(&text[s..e], &mut lower);
            out.push(m.word_id(&text[s..e], &lower));
        });
        out
    }

    #[test]
    fn parses_groups_comments_and_exact_phrases() {
        let l = lexicon();
        assert_eq!(l.actors[0].name, "RUSSIA");
        assert_eq!(l.actors[0].phrases, ["Russia", "the Kremlin", "Moscow"]);
        assert_eq!(phrase_words("U.S."), (false, vec!["u".into(), "s".into()]));
        assert_eq!(phrase_words("=US"), (true, vec!["=US".into()]));
        let err = parse_groups("Russia\n", Path::new("a.txt"))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("a.txt: line 1: phrase \"Russia\" before any [GROUP] line"),
            "{err}"
        );
        assert!(parse_groups("[A B]\n", Path::new("a.txt")).is_err());
        assert!(parse_groups("[A]\n[a]\n", Path::new("a.txt")).is_err());
    }

    #[test]
    fn longest_match_multiword_abbreviation_and_case() {
        let m = Matcher::new(&lexicon(), true, true);
        let at = |text: &str| m.longest(ids(&m, text).into_iter());
        assert_eq!(at("the Kremlin said"), Some((2, Hit::Actor(0))));
        assert_eq!(at("U.S. officials"), Some((2, Hit::Actor(1))));
        assert_eq!(at("United States"), Some((2, Hit::Actor(1))));
        assert_eq!(at("US sanctions"), Some((1, Hit::Actor(1))));
        assert_eq!(at("us"), None, "lowercase `us` is the pronoun");
        assert_eq!(at("United Nations"), None);
        assert_eq!(at("Russia’s"), Some((1, Hit::Actor(0))));
        assert_eq!(at("RUSSIA"), Some((1, Hit::Actor(0))));
        assert_eq!(at("export controls"), Some((2, Hit::Cue(0))));
        assert_eq!(at("export"), None);
        let actors_only = Matcher::new(&lexicon(), true, false);
        assert_eq!(
            actors_only.longest(ids(&actors_only, "sanctions").into_iter()),
            None
        );
    }
}
