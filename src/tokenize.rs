//! Tokenization: sentence → lowercased words → Snowball stems.
//!
//! Has the responsibility to turn a sentence into the sequence of terms the
//! featurizer counts. A *word* is a maximal run of alphanumeric characters
//! (Unicode); words of one ASCII character (the `s` of `Russia’s`) are
//! dropped, as in scikit-learn's default token pattern. Words are lowercased
//! (Unicode-aware, with an ASCII fast path), compared against the stop-word
//! list, then stemmed with the English Snowball stemmer: [`porter2`] for
//! words of ASCII letters and digits, rust-stemmers for the rest (the two
//! give the same stems; tests hold them to it).
//! CJK text has no spaces, so a run such as `李克強` is one word.
//!
//! [`Analyzer`] holds a thread's stemmer and lowercase buffer; [`WordCache`]
//! maps a word exactly as written to whatever the caller derived from it
//! (the featurizer: stem id, phrase-word id, negator flag), so a word seen
//! before costs one hash and one compare, and no allocation.

use rust_stemmers::{Algorithm, Stemmer};
use rustc_hash::FxHashSet;
use serde::{Deserialize, Serialize};

use crate::segment::decode_at;
#[cfg(any(test, not(target_arch = "x86_64")))]
use crate::swar;

pub mod porter2;

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
    for_each_run(text, |start, end| {
        // A run of one byte is one ASCII character.
        if end - start > 1 {
            f(start, end);
        }
    });
}

/// For eight bytes (little-endian in `x`): bit `i` of the first value is
/// set when byte `i` is an ASCII letter or digit; the second has the top
/// bit of each byte that is not ASCII. Compares all eight bytes at once
/// ([`swar`]): `A`–`Z` are folded onto `a`–`z` by setting the bit that
/// tells them apart, which moves no other byte into that range.
#[cfg(any(test, not(target_arch = "x86_64")))]
#[inline]
fn classify8(x: u64) -> (u64, u64) {
    let digit = swar::in_range(x, b'0', b'9' + 1);
    let letter = swar::in_range(x | (swar::ONES * 0x20), b'a', b'z' + 1);
    (swar::top_bits(digit | letter), x & swar::HIGH)
}

/// For 64 bytes: the bits of the ASCII letters and digits, and of the
/// non-ASCII bytes (bit `i` for byte `i`), eight bytes per step: the
/// portable [`classify_block`], and the reference its SSE2 form is tested
/// against.
#[cfg(any(test, not(target_arch = "x86_64")))]
#[inline]
fn classify_block_swar(block: &[u8; 64]) -> (u64, u64) {
    let (mut alnum, mut high) = (0u64, 0u64);
    for (k, eight) in block.chunks_exact(8).enumerate() {
        let mut word = [0u8; 8];
        word.copy_from_slice(eight);
        let (a, h) = classify8(u64::from_le_bytes(word));
        alnum |= a << (8 * k);
        // Most runs of eight bytes are ASCII: no bits to gather.
        if h != 0 {
            high |= swar::top_bits(h) << (8 * k);
        }
    }
    (alnum, high)
}

/// For 64 bytes: the bits of the ASCII letters and digits, and of the
/// non-ASCII bytes (bit `i` for byte `i`), sixteen bytes per step with
/// SSE2, which every x86-64 processor has. Bytes are compared as signed:
/// `v + (0x80 - lo)` is below `-0x80 + k` exactly when `v` is one of the
/// `k` bytes from `lo` on.
#[cfg(target_arch = "x86_64")]
#[inline]
fn classify_block(block: &[u8; 64]) -> (u64, u64) {
    use std::arch::x86_64::{
        __m128i, _mm_add_epi8, _mm_cmplt_epi8, _mm_loadu_si128, _mm_movemask_epi8, _mm_or_si128,
        _mm_set1_epi8,
    };
    // SAFETY: SSE2 is part of the x86-64 baseline, so these instructions
    // exist on every processor this code is built for; each load reads 16
    // bytes of `block`, unaligned.
    unsafe {
        let in_range = |v: __m128i, lo: u8, k: u8| {
            let shifted = _mm_add_epi8(v, _mm_set1_epi8(0x80u8.wrapping_sub(lo) as i8));
            _mm_cmplt_epi8(shifted, _mm_set1_epi8((0x80u8 + k) as i8))
        };
        let (mut alnum, mut high) = (0u64, 0u64);
        for (k, sixteen) in block.chunks_exact(16).enumerate() {
            let v = _mm_loadu_si128(sixteen.as_ptr().cast());
            let letter = in_range(_mm_or_si128(v, _mm_set1_epi8(0x20)), b'a', 26);
            let digit = in_range(v, b'0', 10);
            let a = _mm_movemask_epi8(_mm_or_si128(letter, digit)) as u32 as u64;
            let h = _mm_movemask_epi8(v) as u32 as u64;
            alnum |= a << (16 * k);
            high |= h << (16 * k);
        }
        (alnum, high)
    }
}

#[cfg(not(target_arch = "x86_64"))]
#[inline]
fn classify_block(block: &[u8; 64]) -> (u64, u64) {
    classify_block_swar(block)
}

/// The bits of the ASCII letters and digits, and of the non-ASCII bytes, of
/// `bytes[base..]`'s first 64 bytes (bit `i` for byte `base + i`; none
/// past the end). A last block shorter than 64 bytes is the text's last 64
/// bytes shifted, when the text has that many, rather than a copy.
#[inline]
fn classify64(bytes: &[u8], base: usize) -> (u64, u64) {
    let n = bytes.len();
    if let Some(block) = bytes.get(base..base + 64) {
        return classify_block(block.try_into().expect("64 bytes"));
    }
    if base >= n {
        return (0, 0);
    }
    if n >= 64 {
        let (a, h) = classify_block(bytes[n - 64..].try_into().expect("64 bytes"));
        let shift = base + 64 - n;
        return (a >> shift, h >> shift);
    }
    let mut padded = [0u8; 64];
    padded[..n - base].copy_from_slice(&bytes[base..]);
    classify_block(&padded)
}

/// Calls `f(start, end)` for every maximal run of alphanumeric characters
/// of `text`, one-letter runs included (the `U` and `S` of `U.S.`, which
/// phrase matching needs). A run of one byte is one ASCII character; a
/// non-ASCII character takes at least two.
///
/// Works on 64 bytes at a time: a bit mask of the word bytes (ASCII letters
/// and digits found sixteen bytes per step on x86-64, eight elsewhere, see
/// `classify64`; the rare non-ASCII characters decoded one by one),
/// whose runs of ones are the words; no branch per byte. Equal to [`for_each_run_scalar`], which the tests check.
#[inline]
pub fn for_each_run(text: &str, mut f: impl FnMut(usize, usize)) {
    let bytes = text.as_bytes();
    let n = bytes.len();
    // Bits of the block after this one: word bytes of a character that
    // started in this block, and continuation bytes already decoded.
    let (mut carry_word, mut carry_seen) = (0u64, 0u64);
    // Whether the last byte of the previous block is a word byte, and
    // where the run it belongs to started.
    let (mut open, mut run_start) = (0u64, 0usize);
    let mut base = 0;
    // Bytes past the end count as non-word bytes, which end a run that
    // reaches the end of the text; when the text fills its last block, one
    // more (empty) block does so. `f` is called at one place only, so it
    // is inlined.
    while base <= n {
        let (mut word, high) = classify64(bytes, base);
        word |= carry_word;
        let mut leads = high & !carry_seen;
        (carry_word, carry_seen) = (0, 0);
        while leads != 0 {
            let p = leads.trailing_zeros() as usize;
            let c = decode_at(text, base + p);
            let len = c.len_utf8();
            // `len` ones from bit `p`, spilling into the next block.
            let ones = (1u128 << len) - 1;
            let here = (ones << p) as u64;
            let next = (ones << p >> 64) as u64;
            if is_word_char(c) {
                word |= here;
                carry_word |= next;
            }
            carry_seen |= next;
            leads &= !here;
        }
        // A run starts at a word byte after a non-word byte and ends at a
        // non-word byte after a word byte; starts and ends alternate, an
        // end first when a run comes in from the previous block.
        let before = word << 1 | open;
        let mut starts = word & !before;
        let mut ends = !word & before;
        let mut carried = open != 0;
        loop {
            let start = if carried {
                carried = false;
                run_start
            } else if starts != 0 {
                let at = base + starts.trailing_zeros() as usize;
                starts &= starts - 1;
                at
            } else {
                break;
            };
            if ends == 0 {
                run_start = start;
                break;
            }
            f(start, base + ends.trailing_zeros() as usize);
            ends &= ends - 1;
        }
        open = word >> 63;
        if base + 64 > n && open == 0 {
            break;
        }
        base += 64;
    }
}

/// [`for_each_run`] a character at a time: the reference it is tested
/// against.
pub fn for_each_run_scalar(text: &str, mut f: impl FnMut(usize, usize)) {
    let mut start = None;
    for (i, c) in text.char_indices() {
        match (is_word_char(c), start) {
            (true, None) => start = Some(i),
            (false, Some(s)) => {
                f(s, i);
                start = None;
            }
            _ => {}
        }
    }
    if let Some(s) = start {
        f(s, text.len());
    }
}

/// `char::is_alphanumeric` with shortcuts for two blocks news text is full
/// of: Latin-1 (accented letters, the no-break space, and the bytes of
/// text decoded twice, `â€™`), looked up in a bit mask, and General
/// Punctuation (curly quotes, dashes, ellipsis), which holds no letters or
/// digits. Elsewhere outside ASCII, `is_alphanumeric` searches Unicode's
/// tables.
#[inline]
fn is_word_char(c: char) -> bool {
    match c as u32 {
        0x80..=0xFF => LATIN1_WORD >> (c as u32 - 0x80) & 1 != 0,
        0x2000..=0x206F => false,
        _ => c.is_alphanumeric(),
    }
}

/// Bit `i`: whether U+0080 + `i` is alphanumeric (`ª ² ³ µ ¹ º ¼ ½ ¾` and
/// the letters from `À` to `ÿ` but `×` and `÷`; a test checks every bit
/// against `char::is_alphanumeric`).
const LATIN1_WORD: u128 = 0xff7f_ffff_ff7f_ffff_762c_0400_0000_0000;

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
            stem: String::new(),
        }
    }

    /// Convenience: the non-stop-word tokens of `text`, allocating freely.
    /// The featurizer's hot path does not use this.
    pub fn tokens(&self, text: &str) -> Vec<Token> {
        let mut analyzer = self.analyzer();
        let mut out = Vec::new();
        for_each_word(text, |start, end| {
            analyzer.lower(&text[start..end]);
            if let Some(stem) = analyzer.stem_lowered().map(str::to_string) {
                out.push(Token {
                    start,
                    end,
                    word: analyzer.last_lower().to_string(),
                    stem,
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
    /// The last stem.
    stem: String,
}

impl Analyzer<'_> {
    /// Lowercases `word` into the internal buffer and returns it.
    #[inline]
    pub fn lower(&mut self, word: &str) -> &str {
        lowercase_into(word, &mut self.lower);
        &self.lower
    }

    /// Stems the word last given to [`Analyzer::lower`]; `None` when it is
    /// a stop word. Words of lowercase ASCII letters and digits are stemmed
    /// by [`porter2`], the rest by rust-stemmers, with the same stems.
    pub fn stem_lowered(&mut self) -> Option<&str> {
        if self.tokenizer.is_stop_word(&self.lower) {
            return None;
        }
        if !self.tokenizer.config.stem {
            return Some(&self.lower);
        }
        if !porter2::stem_into(&self.lower, &mut self.stem) {
            let stem = self.stemmer.stem(&self.lower);
            self.stem.clear();
            self.stem.push_str(&stem);
        }
        Some(&self.stem)
    }

    /// The word most recently lowercased.
    pub fn last_lower(&self) -> &str {
        &self.lower
    }
}

/// A cache from a word, exactly as it appears in the text, to a
/// caller-defined code (for the featurizer: a stem id, "stop word" or "not in
/// vocabulary"). Keying by the raw word means a word seen before costs one
/// hash and one compare — no lowercasing, no allocation; `Moscow` and
/// `moscow` are simply two entries with the same code.
///
/// An open-addressing table (linear probing, load ≤ 0.7) of 16-byte slots,
/// four to a cache line, each holding the word's *head* (its first eleven
/// bytes and its length) and its code. A word of up to eleven bytes (97 in
/// 100 words of news text) is found by one compare of the slot, touching
/// one cache line; a longer word also compares its
/// length and the rest of its bytes, kept in zero-padded eight-byte chunks
/// in first-seen order. The head is read from the text and hashed the same
/// way whatever the word's length, so which words are long decides no
/// branch but the rare one that checks a long word's rest. The table of a
/// news archive's vocabulary (20,000 words: 512 KiB) stays in the L2
/// cache. Bounded: when it holds `capacity` words it is emptied, so memory
/// stays flat on endless input.
#[derive(Debug)]
pub struct WordCache {
    slots: Vec<Slot>,
    /// Where a long word's length and bytes after the first eight lie in
    /// `tails`, by slot; read only for words longer than [`HEAD_BYTES`].
    tail_at: Vec<u32>,
    bits: u32,
    len: usize,
    /// For each long word, its length, then its bytes after the first
    /// eight in zero-padded eight-byte chunks.
    tails: Vec<u64>,
    capacity: usize,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[repr(C, align(16))]
struct Slot {
    /// The word's first eight bytes, zero-padded.
    prefix: u64,
    /// Its next three bytes, zero-padded, and its length (up to 255) in
    /// the top byte; 0 marks an empty slot.
    rest: u32,
    code: u32,
}

/// Bytes of a word its slot holds: a word this long or shorter is equal
/// to a slot's word when their heads are equal.
const HEAD_BYTES: usize = 11;
const INITIAL_BITS: u32 = 10;
/// The table's size after its first growth: a text of more distinct words
/// than the first table holds (716) most likely has thousands, and
/// doubling up to them rehashed the words five times, into five fresh
/// tables. Growing straight to this size, the news corpus (20,792
/// distinct words as written) scored end to end 0.62 ± 0.24 ms of 43
/// sooner, and `make bench`'s warm passes over the seeds featurized 8–9%
/// faster; a table this size from the start cost a sentence scored alone
/// 0.09 ms (filling half a megabyte of empty slots), which the small first
/// table keeps.
const FIRST_GROWTH_BITS: u32 = 15;
const HASH_K: u64 = 0x517c_c1b7_2722_0a95;

/// The bytes of `text` from `at` on, at most eight, zero-padded into a
/// little-endian `u64`, for `at` inside the text; for `at` past its end
/// the value is unspecified (callers mask it off). One load, no branch on
/// where the text ends, when the text is eight bytes or longer: a read
/// that would run past the end reads the text's last eight bytes and
/// shifts.
#[inline(always)]
fn load8(text: &[u8], at: usize) -> u64 {
    let n = text.len();
    if n < 8 {
        return text
            .get(at..)
            .unwrap_or(&[])
            .iter()
            .take(8)
            .rev()
            .fold(0, |v, &b| v << 8 | b as u64);
    }
    let from = at.min(n - 8);
    let mut buf = [0u8; 8];
    buf.copy_from_slice(&text[from..from + 8]);
    u64::from_le_bytes(buf).wrapping_shr(8 * (at - from) as u32)
}

/// The head of the word `text[start..start + len]` (`len` ≥ 1): its
/// first eight bytes, zero-padded, and its next three with its length
/// (capped at 255) in the top byte. Two words of up to [`HEAD_BYTES`]
/// bytes are equal exactly when their heads are.
#[inline(always)]
fn head_of(text: &[u8], start: usize, len: usize) -> (u64, u32) {
    let first = load8(text, start) & (u64::MAX >> (8 * (8 - len.min(8))));
    let more = len.saturating_sub(8).min(3);
    // Past the end of the text when the word has no ninth byte, and then
    // masked off whole.
    let next = load8(text, start + 8) as u32 & ((1u32 << (8 * more)) - 1);
    (first, next | (len.min(255) as u32) << 24)
}

/// The hash of a word's head, from its first eight bytes and its length
/// only (`rest`'s top byte): one multiply, which does not wait for the
/// load of the head's next three bytes. Words that share their first
/// eight bytes and their length (3% of the news corpus's distinct words,
/// 1% of its words as they occur) share a home slot and are told apart by
/// the probe.
#[inline(always)]
fn hash_head(prefix: u64, rest: u32) -> u64 {
    (prefix ^ (rest >> 24) as u64).wrapping_mul(HASH_K)
}

/// The chunks of `text[at..at + n]`, eight bytes each (the last padded).
#[inline]
fn chunks(text: &[u8], at: usize, n: usize) -> impl Iterator<Item = u64> + '_ {
    (0..n.div_ceil(8)).map(move |k| {
        let left = n - 8 * k;
        let all = load8(text, at + 8 * k);
        if left >= 8 {
            all
        } else {
            all & ((1u64 << (8 * left)) - 1)
        }
    })
}

impl WordCache {
    /// A cache holding at most `capacity` words.
    pub fn with_capacity(capacity: usize) -> Self {
        WordCache {
            slots: vec![Slot::default(); 1 << INITIAL_BITS],
            tail_at: vec![0; 1 << INITIAL_BITS],
            bits: INITIAL_BITS,
            len: 0,
            tails: Vec::new(),
            capacity: capacity.max(1),
        }
    }

    #[inline]
    fn start(&self, h: u64) -> usize {
        (h >> (64 - self.bits)) as usize
    }

    /// The slot holding the word `text[start..start + len]` (`Ok`), or the
    /// empty slot where it would go (`Err`); `prefix` and `rest` are its
    /// head.
    #[inline(always)]
    fn find(
        &self,
        text: &[u8],
        start: usize,
        len: usize,
        prefix: u64,
        rest: u32,
    ) -> std::result::Result<usize, usize> {
        let mask = self.slots.len() - 1;
        let mut i = self.start(hash_head(prefix, rest));
        loop {
            let s = self.slots[i];
            // One branch for the usual case, a word found where its hash
            // points: `&` rather than `&&`.
            if (s.prefix == prefix) & (s.rest == rest)
                && (len <= HEAD_BYTES || self.same_tail(i, text, start, len))
            {
                return Ok(i);
            }
            if s.rest == 0 {
                return Err(i);
            }
            i = (i + 1) & mask;
        }
    }

    /// Whether slot `i`'s long word is as long as `text[start..start +
    /// len]` and has the same bytes after the first eight.
    #[cold]
    #[inline(never)]
    fn same_tail(&self, i: usize, text: &[u8], start: usize, len: usize) -> bool {
        let first = self.tail_at[i] as usize;
        self.tails[first] == len as u64
            && chunks(text, start + 8, len - 8)
                .zip(&self.tails[first + 1..])
                .all(|(a, &b)| a == b)
    }

    /// The code cached for `word`, if any.
    #[inline]
    pub fn get(&self, word: &[u8]) -> Option<u32> {
        self.get_in(word, 0, word.len())
    }

    /// The code cached for the word `text[start..end]`, reading the word's
    /// bytes eight at a time from the text.
    #[inline(always)]
    pub fn get_in(&self, text: &[u8], start: usize, end: usize) -> Option<u32> {
        let len = end.checked_sub(start)?;
        if len == 0 {
            return None;
        }
        let (prefix, rest) = head_of(text, start, len);
        self.find(text, start, len, prefix, rest)
            .ok()
            .map(|i| self.slots[i].code)
    }

    /// Remembers `code` for `word` (an empty word is not cached).
    pub fn insert(&mut self, word: &[u8], code: u32) {
        let len = word.len();
        if len == 0 || len > u32::MAX as usize {
            return;
        }
        let n_tail = if len > HEAD_BYTES {
            1 + (len - 8).div_ceil(8)
        } else {
            0
        };
        if self.len >= self.capacity || self.tails.len() + n_tail > u32::MAX as usize {
            self.clear();
        }
        if 10 * (self.len + 1) > 7 * self.slots.len() {
            self.grow();
        }
        let (prefix, rest) = head_of(word, 0, len);
        let i = match self.find(word, 0, len, prefix, rest) {
            Ok(i) => {
                self.slots[i].code = code;
                return;
            }
            Err(i) => i,
        };
        self.slots[i] = Slot { prefix, rest, code };
        if len > HEAD_BYTES {
            self.tail_at[i] = self.tails.len() as u32;
            self.tails.push(len as u64);
            self.tails.extend(chunks(word, 8, len - 8));
        }
        self.len += 1;
    }

    fn grow(&mut self) {
        let old_slots = std::mem::take(&mut self.slots);
        let old_tail_at = std::mem::take(&mut self.tail_at);
        self.bits = (self.bits + 1).max(FIRST_GROWTH_BITS);
        self.slots = vec![Slot::default(); 1 << self.bits];
        self.tail_at = vec![0; 1 << self.bits];
        let mask = self.slots.len() - 1;
        for (s, at) in old_slots.into_iter().zip(old_tail_at) {
            if s.rest == 0 {
                continue;
            }
            let mut i = self.start(hash_head(s.prefix, s.rest));
            while self.slots[i].rest != 0 {
                i = (i + 1) & mask;
            }
            self.slots[i] = s;
            self.tail_at[i] = at;
        }
    }

    fn clear(&mut self) {
        self.slots = vec![Slot::default(); 1 << INITIAL_BITS];
        self.tail_at = vec![0; 1 << INITIAL_BITS];
        self.bits = INITIAL_BITS;
        self.len = 0;
        self.tails.clear();
    }

    /// Number of cached words.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the cache is empty.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_span_table() {
        // (sentence, [(start, end, stem)]): exact byte spans of the words
        // that survive the stop list and the one-letter rule.
        type Case<'a> = (&'a str, &'a [(usize, usize, &'a str)]);
        let cases: &[Case] = &[
            ("", &[]),
            ("a I of", &[]),
            ("Russia's allies", &[(0, 6, "russia"), (9, 15, "alli")]),
            (
                "NATO-led drills",
                &[(0, 4, "nato"), (5, 8, "led"), (9, 15, "drill")],
            ),
            (
                "Xi (習近平) warned",
                &[(0, 2, "xi"), (4, 13, "習近平"), (15, 21, "warn")],
            ),
            (
                "Ürümqi's 2,300 ships",
                &[(0, 8, "ürümqi"), (13, 16, "300"), (17, 22, "ship")],
            ),
        ];
        let tok = Tokenizer::new(TokenizerConfig::default());
        for (text, want) in cases {
            let got: Vec<(usize, usize, String)> = tok
                .tokens(text)
                .into_iter()
                .map(|t| (t.start, t.end, t.stem))
                .collect();
            let want: Vec<(usize, usize, String)> = want
                .iter()
                .map(|&(s, e, w)| (s, e, w.to_string()))
                .collect();
            assert_eq!(got, want, "input: {text:?}");
        }
    }

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

    /// Every byte value at every place of eight, beside every other: the
    /// portable classifier's bits are the bytes' own classes.
    #[test]
    fn eight_bytes_classify_as_each_byte_does() {
        for b in 0..=255u8 {
            for x in 0..=255u8 {
                for at in 0..8 {
                    let mut bytes = [b; 8];
                    bytes[at] = x;
                    let (alnum, high) = classify8(u64::from_le_bytes(bytes));
                    for (k, &byte) in bytes.iter().enumerate() {
                        assert_eq!(
                            alnum >> k & 1 == 1,
                            byte.is_ascii_alphanumeric(),
                            "{byte:#x}"
                        );
                        assert_eq!(high >> (8 * k + 7) & 1 == 1, !byte.is_ascii(), "{byte:#x}");
                    }
                    assert_eq!(alnum >> 8, 0);
                }
            }
        }
    }

    /// Blocks of random bytes (all 256 values, and runs of ASCII letters,
    /// digits and their neighbours), classified by the block classifier
    /// this build uses and by the portable one, eight bytes per step.
    #[test]
    fn block_classifier_equals_the_portable_one() {
        let mut rng = crate::testutil::Rng(0x9e37_79b9_7f4a_7c15);
        let edges = b"@AZ[`az{/09:\x7f\x80\xc3\xff ";
        for _ in 0..20_000 {
            let mut block = [0u8; 64];
            for b in block.iter_mut() {
                *b = if rng.below(2) == 0 {
                    rng.next() as u8
                } else {
                    *rng.pick(edges)
                };
            }
            assert_eq!(
                classify_block(&block),
                classify_block_swar(&block),
                "{block:?}"
            );
        }
    }

    /// Every offset of the last, short block of texts of 1 to 200 bytes:
    /// the bits are those of the bytes there, none past the end.
    #[test]
    fn short_last_blocks_classify_their_own_bytes() {
        let text: Vec<u8> = (0..200u32)
            .map(|i| b"ab1 -Z\xc3\xa9."[(i * 7 % 9) as usize])
            .collect();
        for n in 1..=text.len() {
            let bytes = &text[..n];
            for base in 0..=n {
                let mut padded = [0u8; 64];
                let here = &bytes[base..n.min(base + 64)];
                padded[..here.len()].copy_from_slice(here);
                let (a, h) = classify_block_swar(&padded);
                let keep = if here.len() == 64 {
                    u64::MAX
                } else {
                    (1u64 << here.len()) - 1
                };
                assert_eq!(classify64(bytes, base), (a & keep, h & keep), "{n} {base}");
            }
        }
    }

    #[test]
    fn every_byte_value_at_every_lane_is_classified_like_a_char() {
        // Each ASCII byte at each of the 64 positions of a block, and past
        // it: the word scanner agrees with `char::is_alphanumeric`.
        for b in 0u8..0x80 {
            for at in 0..70 {
                let mut text = "-".repeat(at);
                text.push(b as char);
                text.push_str("--");
                assert_runs_match_the_reference(&text, &format!("byte {b:#x} at {at}"));
            }
        }
    }

    #[test]
    fn word_characters_are_the_alphanumeric_ones_everywhere() {
        // Every scalar value: the shortcuts (Latin-1's mask, General
        // Punctuation) agree with the standard library.
        for c in (0..=0x10_FFFF).filter_map(char::from_u32) {
            assert_eq!(
                is_word_char(c),
                c.is_alphanumeric(),
                "{c:?} U+{:04X}",
                c as u32
            );
        }
    }

    /// `for_each_run` gives the runs `for_each_run_scalar` gives.
    fn assert_runs_match_the_reference(text: &str, case: &str) {
        let (mut fast, mut reference) = (Vec::new(), Vec::new());
        for_each_run(text, |s, e| fast.push((s, e)));
        for_each_run_scalar(text, |s, e| reference.push((s, e)));
        assert_eq!(fast, reference, "{case}");
    }

    #[test]
    fn runs_cross_blocks_and_characters_straddle_them() {
        for at in 56..72 {
            for piece in ["é", "李克強", "\u{1D518}", "😀", "’"] {
                let text = format!("{}{piece}x {}", "a".repeat(at), "b".repeat(at));
                assert_runs_match_the_reference(&text, &format!("{piece:?} at {at}"));
            }
        }
    }

    #[test]
    fn cache_lookup_in_the_text_equals_lookup_of_the_word() {
        let mut cache = WordCache::with_capacity(1 << 10);
        let text = "Moscow and Beijing agreed: partnership, no limits. x";
        let mut words = Vec::new();
        for_each_run(text, |s, e| words.push((s, e)));
        for (code, &(s, e)) in words.iter().enumerate() {
            cache.insert(&text.as_bytes()[s..e], code as u32);
        }
        for &(s, e) in &words {
            let word = &text.as_bytes()[s..e];
            assert_eq!(cache.get_in(text.as_bytes(), s, e), cache.get(word));
            assert!(cache.get(word).is_some());
        }
        // A prefix of a cached word is not that word.
        assert_eq!(cache.get_in(text.as_bytes(), 0, 3), None);
    }

    /// Words of every length from 1 to 40 bytes (and some of 300), from
    /// few letters so that many share their first bytes, NUL bytes among
    /// them, cached with distinct codes and looked up where they sit in a
    /// text (at its start, middle and end, in texts shorter than eight
    /// bytes too): the cache answers as a map of the words does, whatever
    /// the length, and through the table's growth and emptying.
    #[test]
    fn cache_answers_as_a_map_for_every_length_and_place() {
        use crate::testutil::Rng;
        use std::collections::HashMap;
        let mut rng = Rng(0x2545_f491_4f6c_dd1d);
        let letters = b"ab\0";
        for capacity in [3usize, 50, 1 << 12] {
            let mut cache = WordCache::with_capacity(capacity);
            let mut map: HashMap<Vec<u8>, u32> = HashMap::new();
            let mut seen: Vec<Vec<u8>> = Vec::new();
            for code in 0..3000u32 {
                // A fresh word, or a near neighbour of one seen before: its
                // last byte changed, a byte (NUL too) added, or one dropped.
                let mut word = match seen.len() {
                    0 => vec![b'a'],
                    n => seen[rng.below(n)].clone(),
                };
                match rng.below(4) {
                    0 => {
                        let len = if rng.below(20) == 0 {
                            300
                        } else {
                            1 + rng.below(40)
                        };
                        word = (0..len).map(|_| *rng.pick(letters)).collect();
                    }
                    1 => *word.last_mut().expect("words are not empty") = *rng.pick(letters),
                    2 => word.push(*rng.pick(letters)),
                    _ if word.len() > 1 => {
                        word.pop();
                    }
                    _ => {}
                }
                seen.push(word.clone());
                let len = word.len();
                if rng.below(2) == 0 {
                    if cache.len() >= capacity {
                        map.clear();
                    }
                    cache.insert(&word, code);
                    map.insert(word.clone(), code);
                }
                // The word alone, after other bytes, and before some.
                let before = rng.below(12);
                let after = rng.below(12);
                let mut text = vec![b'x'; before];
                text.extend_from_slice(&word);
                text.extend(std::iter::repeat_n(b'y', after));
                let expected = map.get(&word).copied();
                assert_eq!(cache.get(&word), expected, "{word:?}");
                assert_eq!(
                    cache.get_in(&text, before, before + len),
                    expected,
                    "{word:?} at {before} of {}",
                    text.len()
                );
            }
            assert_eq!(cache.len(), map.len());
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
        cache.insert(b"a", 1);
        cache.insert(b"b", 2);
        assert_eq!(cache.get(b"a"), Some(1));
        cache.insert(b"c", 3);
        assert_eq!(cache.len(), 1);
        assert_eq!(cache.get(b"c"), Some(3));
        assert_eq!(cache.get(b"a"), None);
    }

    #[test]
    fn word_cache_matches_a_hash_map() {
        // Words of many lengths on both sides of the 8-byte compare chunks,
        // with shared prefixes, many enough to force the first growth and
        // two doublings after it.
        let mut cache = WordCache::with_capacity(1 << 20);
        let mut reference = std::collections::HashMap::new();
        for i in 0..60_000u32 {
            let word = format!("{}{}", "x".repeat((i % 40) as usize), i);
            cache.insert(word.as_bytes(), i);
            reference.insert(word, i);
        }
        assert_eq!(cache.len(), reference.len());
        for (word, &code) in &reference {
            assert_eq!(cache.get(word.as_bytes()), Some(code), "{word}");
        }
        assert_eq!(
            cache.get(b"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxnot-there"),
            None
        );
        assert_eq!(cache.get(b""), None);
        cache.insert(b"", 1);
        assert_eq!(cache.get(b""), None);
        // Same first eight bytes and length, different tails.
        cache.insert(b"abcdefgh-one", 1);
        cache.insert(b"abcdefgh-two", 2);
        assert_eq!(cache.get(b"abcdefgh-one"), Some(1));
        assert_eq!(cache.get(b"abcdefgh-two"), Some(2));
        assert_eq!(cache.get(b"abcdefgh-six"), None);
        // A NUL byte is a byte like any other, not padding.
        cache.insert(b"ab", 3);
        assert_eq!(cache.get(b"ab\0"), None);
        cache.insert("Ürümqi".as_bytes(), 7);
        cache.insert("Ürümqi".as_bytes(), 8);
        assert_eq!(cache.get("Ürümqi".as_bytes()), Some(8));
    }
}
