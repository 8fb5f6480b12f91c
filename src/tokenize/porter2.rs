//! The English Snowball stemmer (Porter2) for words of lowercase ASCII
//! letters and digits, written over a byte array: the same stems as
//! rust-stemmers' English stemmer, which stays the stemmer of every other
//! word and the reference the tests hold this one to.
//!
//! rust-stemmers runs the code the Snowball compiler generates: each step
//! copies the word into a new `String`, and suffixes are found by binary
//! searches over tables of strings. Resolving a word the first time it is
//! seen was a fifth of `stance score`'s instructions on fresh text, most of
//! them the stemmer's. Here a word is stemmed in place in a fixed buffer,
//! and each step picks its candidate suffixes by the word's last letter.
//!
//! The steps follow the Snowball source of the English stemmer as
//! rust-stemmers 1.2 has it (exceptions, `Y` marking, regions R1 and R2
//! with the `gener`, `commun` and `arsen` prefixes, steps 0 to 5). Among a
//! step's suffixes the longest that ends the word is taken, and if its
//! condition fails the step does nothing: a shorter suffix is not tried.

/// Words longer than this are left to rust-stemmers.
const MAX_LEN: usize = 64;

/// Stems `word` into `out` (cleared first) and returns `true`, when
/// `word` is made of lowercase ASCII letters and digits only and is at
/// most 64 bytes long (`MAX_LEN`); otherwise returns `false` and leaves
/// `out` alone.
pub fn stem_into(word: &str, out: &mut String) -> bool {
    let bytes = word.as_bytes();
    let n = bytes.len();
    if n > MAX_LEN
        || !bytes
            .iter()
            .all(|&c| c.is_ascii_lowercase() || c.is_ascii_digit())
    {
        return false;
    }
    out.clear();
    let mut w = Word::new(bytes);
    if let Some(stem) = exception1(w.tail()) {
        out.push_str(stem);
        return true;
    }
    if n < 3 {
        out.push_str(word);
        return true;
    }
    w.stem();
    let len = w.len;
    let stem = &mut w.w_mut()[..len];
    // `Y` marks a consonant `y` while stemming and is `y` again after.
    stem.iter_mut()
        .filter(|c| **c == b'Y')
        .for_each(|c| *c = b'y');
    out.push_str(std::str::from_utf8(stem).expect("ASCII in, ASCII out"));
    true
}

/// `a e i o u y`: Snowball's `v`. A `y` marked `Y` is not one.
#[inline]
fn vowel(c: u8) -> bool {
    matches!(c, b'a' | b'e' | b'i' | b'o' | b'u' | b'y')
}

/// Snowball's `v_WXY`: the vowels, `w`, `x` and `Y`.
#[inline]
fn vowel_wxy(c: u8) -> bool {
    vowel(c) || matches!(c, b'w' | b'x' | b'Y')
}

/// Snowball's `valid_LI`: the letters before which `li` is removed.
#[inline]
fn valid_li(c: u8) -> bool {
    matches!(
        c,
        b'c' | b'd' | b'e' | b'g' | b'h' | b'k' | b'm' | b'n' | b'r' | b't'
    )
}

/// An exception word as the number [`Word::tail`] reads a word of up to
/// eight bytes as. Exceptions are shorter than eight bytes, so a word that
/// is longer, whose tail has eight letters, is never taken for one.
const fn k(word: &[u8]) -> u64 {
    assert!(word.len() < 8);
    Suffix::of(word).key
}

/// The whole words the stemmer treats as exceptions, and their stems.
const EXCEPTION1: [(u64, &str); 18] = [
    (k(b"skis"), "ski"),
    (k(b"skies"), "sky"),
    (k(b"dying"), "die"),
    (k(b"lying"), "lie"),
    (k(b"tying"), "tie"),
    (k(b"idly"), "idl"),
    (k(b"gently"), "gentl"),
    (k(b"ugly"), "ugli"),
    (k(b"early"), "earli"),
    (k(b"only"), "onli"),
    (k(b"singly"), "singl"),
    (k(b"sky"), "sky"),
    (k(b"news"), "news"),
    (k(b"howe"), "howe"),
    (k(b"atlas"), "atlas"),
    (k(b"cosmos"), "cosmos"),
    (k(b"bias"), "bias"),
    (k(b"andes"), "andes"),
];

/// The stem of an exception, from the word's [`Word::tail`].
fn exception1(tail: u64) -> Option<&'static str> {
    EXCEPTION1.iter().find(|e| e.0 == tail).map(|e| e.1)
}

/// Words left as they are after step 1a.
const EXCEPTION2: [u64; 8] = [
    k(b"inning"),
    k(b"outing"),
    k(b"canning"),
    k(b"herring"),
    k(b"earring"),
    k(b"proceed"),
    k(b"exceed"),
    k(b"succeed"),
];

/// Whether the word of [`Word::tail`] `tail` is one of [`EXCEPTION2`].
fn exception2(tail: u64) -> bool {
    EXCEPTION2.contains(&tail)
}

/// A suffix of up to eight bytes as a number whose lowest byte is its
/// last, the way [`Word::tail`] reads the end of a word: whether a word
/// ends with it is one mask and one comparison.
#[derive(Clone, Copy)]
struct Suffix {
    key: u64,
    mask: u64,
    len: usize,
}

impl Suffix {
    const fn of(suffix: &[u8]) -> Suffix {
        assert!(!suffix.is_empty() && suffix.len() <= 8);
        let mut key = 0u64;
        let mut i = 0;
        while i < suffix.len() {
            key = key << 8 | suffix[i] as u64;
            i += 1;
        }
        Suffix {
            key,
            mask: u64::MAX >> (64 - 8 * suffix.len()),
            len: suffix.len(),
        }
    }

    /// Its last byte.
    const fn last(self) -> u8 {
        self.key as u8
    }

    /// Whether the word whose [`Word::tail`] is `tail` ends with this
    /// suffix. A word shorter than the suffix has zero bytes where the
    /// suffix has letters, so it never does.
    #[inline]
    fn ends(self, tail: u64) -> bool {
        tail & self.mask == self.key
    }
}

/// Whether the word whose [`Word::tail`] is `tail` ends with `suffix`.
#[inline(always)]
fn ends(tail: u64, suffix: &[u8]) -> bool {
    Suffix::of(suffix).ends(tail)
}

/// What a suffix of a step becomes.
#[derive(Clone, Copy)]
enum Then {
    /// Replaced by these bytes.
    To(&'static [u8]),
    /// Step 2's `ogi`: `og` after an `l`.
    OgAfterL,
    /// Step 2's `li`: removed after a valid `li` ending.
    DropAfterValidLi,
    /// Step 3's `ative`: removed in R2.
    DropInR2,
    /// Step 4's `ion`: removed after `s` or `t`.
    DropAfterSOrT,
}

use Then::*;

/// The suffixes of step 2, 3 or 4, and for each last letter the ones that
/// end with it, longest first: a word's last letter picks the few worth
/// comparing.
struct Step<const N: usize> {
    suffixes: [(Suffix, Then); N],
    /// Indices into `suffixes`, grouped by last letter, each group in
    /// table order.
    order: [u8; N],
    /// Where the group of letter `b'a' + i` starts in `order`; it ends
    /// where the next one starts.
    starts: [u8; 27],
}

impl<const N: usize> Step<N> {
    /// `suffixes` must list longer suffixes before shorter ones that they
    /// end with (a test checks it), so that the first that ends a word is
    /// the longest.
    const fn new(suffixes: [(Suffix, Then); N]) -> Step<N> {
        let mut starts = [0u8; 27];
        let mut i = 0;
        while i < N {
            let last = suffixes[i].0.last();
            assert!(last.is_ascii_lowercase());
            starts[(last - b'a') as usize + 1] += 1;
            i += 1;
        }
        let mut letter = 1;
        while letter < 27 {
            starts[letter] += starts[letter - 1];
            letter += 1;
        }
        let mut next = starts;
        let mut order = [0u8; N];
        let mut i = 0;
        while i < N {
            let letter = (suffixes[i].0.last() - b'a') as usize;
            order[next[letter] as usize] = i as u8;
            next[letter] += 1;
            i += 1;
        }
        Step {
            suffixes,
            order,
            starts,
        }
    }

    /// The longest suffix that ends the word of [`Word::tail`] `tail`.
    #[inline]
    fn longest(&self, tail: u64) -> Option<(Suffix, Then)> {
        let letter = (tail as u8).wrapping_sub(b'a') as usize;
        let group = self.starts.get(letter..letter + 2)?;
        self.order[group[0] as usize..group[1] as usize]
            .iter()
            .map(|&i| self.suffixes[i as usize])
            .find(|(s, _)| s.ends(tail))
    }
}

/// Step 2's suffixes, longest first.
const STEP2: Step<24> = Step::new([
    (Suffix::of(b"ational"), To(b"ate")),
    (Suffix::of(b"fulness"), To(b"ful")),
    (Suffix::of(b"iveness"), To(b"ive")),
    (Suffix::of(b"ization"), To(b"ize")),
    (Suffix::of(b"ousness"), To(b"ous")),
    (Suffix::of(b"biliti"), To(b"ble")),
    (Suffix::of(b"lessli"), To(b"less")),
    (Suffix::of(b"tional"), To(b"tion")),
    (Suffix::of(b"alism"), To(b"al")),
    (Suffix::of(b"aliti"), To(b"al")),
    (Suffix::of(b"ation"), To(b"ate")),
    (Suffix::of(b"entli"), To(b"ent")),
    (Suffix::of(b"fulli"), To(b"ful")),
    (Suffix::of(b"iviti"), To(b"ive")),
    (Suffix::of(b"ousli"), To(b"ous")),
    (Suffix::of(b"abli"), To(b"able")),
    (Suffix::of(b"alli"), To(b"al")),
    (Suffix::of(b"anci"), To(b"ance")),
    (Suffix::of(b"ator"), To(b"ate")),
    (Suffix::of(b"enci"), To(b"ence")),
    (Suffix::of(b"izer"), To(b"ize")),
    (Suffix::of(b"bli"), To(b"ble")),
    (Suffix::of(b"ogi"), OgAfterL),
    (Suffix::of(b"li"), DropAfterValidLi),
]);

/// Step 3's suffixes, longest first.
const STEP3: Step<9> = Step::new([
    (Suffix::of(b"ational"), To(b"ate")),
    (Suffix::of(b"tional"), To(b"tion")),
    (Suffix::of(b"alize"), To(b"al")),
    (Suffix::of(b"icate"), To(b"ic")),
    (Suffix::of(b"iciti"), To(b"ic")),
    (Suffix::of(b"ative"), DropInR2),
    (Suffix::of(b"ical"), To(b"ic")),
    (Suffix::of(b"ness"), To(b"")),
    (Suffix::of(b"ful"), To(b"")),
]);

/// Step 4's suffixes (removed in R2), longest first.
const STEP4: Step<18> = Step::new([
    (Suffix::of(b"ement"), To(b"")),
    (Suffix::of(b"able"), To(b"")),
    (Suffix::of(b"ance"), To(b"")),
    (Suffix::of(b"ence"), To(b"")),
    (Suffix::of(b"ible"), To(b"")),
    (Suffix::of(b"ment"), To(b"")),
    (Suffix::of(b"ant"), To(b"")),
    (Suffix::of(b"ate"), To(b"")),
    (Suffix::of(b"ent"), To(b"")),
    (Suffix::of(b"ion"), DropAfterSOrT),
    (Suffix::of(b"ism"), To(b"")),
    (Suffix::of(b"iti"), To(b"")),
    (Suffix::of(b"ive"), To(b"")),
    (Suffix::of(b"ize"), To(b"")),
    (Suffix::of(b"ous"), To(b"")),
    (Suffix::of(b"al"), To(b"")),
    (Suffix::of(b"er"), To(b"")),
    (Suffix::of(b"ic"), To(b"")),
]);

/// Zero bytes kept before a word, so that its last eight bytes can be
/// read in one load however short it is.
const PAD: usize = 8;

/// A word being stemmed: its bytes (`len` of them are the word; it never
/// grows past its first length) and its regions.
struct Word {
    /// [`PAD`] zero bytes, then the word.
    buf: [u8; PAD + MAX_LEN],
    len: usize,
    /// Where R1 and R2 start (Snowball's `p1`, `p2`).
    p1: usize,
    p2: usize,
}

impl Word {
    /// `word` must be at most [`MAX_LEN`] bytes long.
    fn new(word: &[u8]) -> Word {
        let len = word.len();
        let mut buf = [0; PAD + MAX_LEN];
        buf[PAD..PAD + len].copy_from_slice(word);
        Word {
            buf,
            len,
            p1: len,
            p2: len,
        }
    }

    /// The word's bytes and the room after them.
    #[inline]
    fn w(&self) -> &[u8] {
        &self.buf[PAD..]
    }

    #[inline]
    fn w_mut(&mut self) -> &mut [u8] {
        &mut self.buf[PAD..]
    }

    /// The word's last eight bytes (fewer when it is shorter, with zero
    /// bytes above them) as a number whose lowest byte is the last.
    #[inline]
    fn tail(&self) -> u64 {
        let last8: [u8; 8] = self.buf[self.len..self.len + PAD]
            .try_into()
            .expect("eight bytes");
        u64::from_be_bytes(last8)
    }

    /// Replaces the last `cut` bytes by `with`.
    fn replace(&mut self, cut: usize, with: &[u8]) {
        let at = self.len - cut;
        self.w_mut()[at..at + with.len()].copy_from_slice(with);
        self.len = at + with.len();
    }

    /// Whether a vowel is among `self.w()[..end]`.
    fn vowel_before(&self, end: usize) -> bool {
        self.w()[..end].iter().any(|&c| vowel(c))
    }

    /// Snowball's `shortv` with the cursor at `end`: the word up to `end`
    /// ends in a non-vowel, a vowel and a non-vowel other than `w`, `x`
    /// and `Y`, or is a vowel and a non-vowel.
    fn short_syllable(&self, end: usize) -> bool {
        let w = self.w();
        (end >= 3 && !vowel_wxy(w[end - 1]) && vowel(w[end - 2]) && !vowel(w[end - 3]))
            || (end == 2 && !vowel(w[1]) && vowel(w[0]))
    }

    /// The position just past the first vowel followed by a non-vowel at
    /// or after `from`, or the word's length when there is none.
    fn region_after(&self, from: usize) -> usize {
        let w = &self.w()[..self.len];
        let Some(v) = (from..w.len()).find(|&i| vowel(w[i])) else {
            return w.len();
        };
        match (v + 1..w.len()).find(|&i| !vowel(w[i])) {
            Some(c) => c + 1,
            None => w.len(),
        }
    }

    /// Stems the word in place; `len` is then the stem's length.
    fn stem(&mut self) {
        self.mark_y();
        self.mark_regions();
        self.step1a();
        if exception2(self.tail()) {
            return;
        }
        self.step1b();
        self.step1c();
        self.step_table(&STEP2, false);
        self.step_table(&STEP3, false);
        self.step_table(&STEP4, true);
        self.step5();
    }

    /// A `y` at the start or after a vowel is a consonant, marked `Y`.
    fn mark_y(&mut self) {
        let len = self.len;
        let w = &mut self.w_mut()[..len];
        if w[0] == b'y' {
            w[0] = b'Y';
        }
        for i in 1..len {
            if w[i] == b'y' && vowel(w[i - 1]) {
                w[i] = b'Y';
            }
        }
    }

    fn mark_regions(&mut self) {
        let w = &self.w()[..self.len];
        let p1 = if w.starts_with(b"gener") || w.starts_with(b"arsen") {
            5
        } else if w.starts_with(b"commun") {
            6
        } else {
            self.region_after(0)
        };
        self.p1 = p1;
        self.p2 = if p1 < self.len {
            self.region_after(p1)
        } else {
            self.len
        };
    }

    fn step1a(&mut self) {
        let n = self.len;
        let t = self.tail();
        if ends(t, b"sses") {
            self.replace(4, b"ss");
        } else if ends(t, b"ied") || ends(t, b"ies") {
            let with: &[u8] = if n - 3 >= 2 { b"i" } else { b"ie" };
            self.replace(3, with);
        } else if ends(t, b"s") && !ends(t, b"ss") && !ends(t, b"us") && self.vowel_before(n - 2) {
            // A word of three or more bytes here.
            self.len -= 1;
        }
    }

    fn step1b(&mut self) {
        const SUFFIXES: [(Suffix, bool); 6] = [
            (Suffix::of(b"eedly"), true),
            (Suffix::of(b"ingly"), false),
            (Suffix::of(b"edly"), false),
            (Suffix::of(b"eed"), true),
            (Suffix::of(b"ing"), false),
            (Suffix::of(b"ed"), false),
        ];
        let t = self.tail();
        let Some(&(suffix, eed)) = SUFFIXES.iter().find(|(s, _)| s.ends(t)) else {
            return;
        };
        let start = self.len - suffix.len;
        if eed {
            if start >= self.p1 {
                self.replace(suffix.len, b"ee");
            }
            return;
        }
        if !self.vowel_before(start) {
            return;
        }
        self.len = start;
        let t = self.tail();
        if ends(t, b"at") || ends(t, b"bl") || ends(t, b"iz") {
            self.push_e();
        } else if start >= 2
            && self.w()[start - 1] == self.w()[start - 2]
            && matches!(
                self.w()[start - 1],
                b'b' | b'd' | b'f' | b'g' | b'm' | b'n' | b'p' | b'r' | b't'
            )
        {
            self.len -= 1;
        } else if start == self.p1 && self.short_syllable(start) {
            self.push_e();
        }
    }

    /// Appends an `e`: only after step 1b has removed at least two bytes.
    fn push_e(&mut self) {
        let len = self.len;
        self.w_mut()[len] = b'e';
        self.len += 1;
    }

    fn step1c(&mut self) {
        let n = self.len;
        if n >= 3 && matches!(self.w()[n - 1], b'y' | b'Y') && !vowel(self.w()[n - 2]) {
            self.w_mut()[n - 1] = b'i';
        }
    }

    /// Steps 2, 3 and 4: the longest suffix of `table` that ends the word,
    /// changed when it starts in R1 (R2 when `in_r2`).
    fn step_table<const N: usize>(&mut self, step: &Step<N>, in_r2: bool) {
        let Some((suffix, then)) = step.longest(self.tail()) else {
            return;
        };
        let start = self.len - suffix.len;
        if start < if in_r2 { self.p2 } else { self.p1 } {
            return;
        }
        let before = start.checked_sub(1).map(|i| self.w()[i]);
        match then {
            To(with) => self.replace(suffix.len, with),
            OgAfterL if before == Some(b'l') => self.replace(suffix.len, b"og"),
            DropAfterValidLi if before.is_some_and(valid_li) => self.len = start,
            DropInR2 if start >= self.p2 => self.len = start,
            DropAfterSOrT if matches!(before, Some(b's' | b't')) => self.len = start,
            _ => {}
        }
    }

    fn step5(&mut self) {
        let n = self.len;
        let start = n - 1;
        match self.w()[start] {
            b'e' if start >= self.p2 || (start >= self.p1 && !self.short_syllable(start)) => {
                self.len = start;
            }
            b'l' if start >= self.p2 && start >= 1 && self.w()[start - 1] == b'l' => {
                self.len = start;
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn reference(word: &str) -> String {
        rust_stemmers::Stemmer::create(rust_stemmers::Algorithm::English)
            .stem(word)
            .into_owned()
    }

    fn fast(word: &str) -> Option<String> {
        let mut out = String::from("left over");
        stem_into(word, &mut out).then_some(out)
    }

    #[test]
    fn stems_as_the_snowball_examples_do() {
        // (word, stem): one or more words for each step and exception.
        let table = [
            ("caresses", "caress"),
            ("ponies", "poni"),
            ("ties", "tie"),
            ("cries", "cri"),
            ("gas", "gas"),
            ("gaps", "gap"),
            ("kiwis", "kiwi"),
            ("class", "class"),
            ("bus", "bus"),
            ("feed", "feed"),
            ("agreed", "agre"),
            ("hoping", "hope"),
            ("hopping", "hop"),
            ("luxuriated", "luxuri"),
            ("troubled", "troubl"),
            ("sized", "size"),
            ("cry", "cri"),
            ("by", "by"),
            ("say", "say"),
            ("toys", "toy"),
            ("yearly", "year"),
            ("relational", "relat"),
            ("conditional", "condit"),
            ("valency", "valenc"),
            ("generously", "generous"),
            ("generalities", "general"),
            ("communism", "communism"),
            ("arsenal", "arsenal"),
            ("commute", "commut"),
            ("generate", "generat"),
            ("archaeology", "archaeolog"),
            ("analogies", "analog"),
            ("fully", "fulli"),
            ("hopefully", "hope"),
            ("cheerlessly", "cheerless"),
            ("electricity", "electr"),
            ("formative", "format"),
            ("adoption", "adopt"),
            ("controlling", "control"),
            ("rolled", "roll"),
            ("innings", "inning"),
            ("proceeding", "proceed"),
            ("skies", "sky"),
            ("dying", "die"),
            ("news", "news"),
            ("andes", "andes"),
            ("only", "onli"),
            ("1990s", "1990s"),
            ("g20", "g20"),
            ("ab", "ab"),
        ];
        for (word, stem) in table {
            assert_eq!(fast(word).as_deref(), Some(stem), "{word}");
            assert_eq!(reference(word), stem, "{word}: the table is wrong");
        }
    }

    #[test]
    fn stems_the_exceptions_and_words_near_them_as_rust_stemmers_does() {
        let exceptions = [
            "skis", "skies", "dying", "lying", "tying", "idly", "gently", "ugly", "early", "only",
            "singly", "sky", "news", "howe", "atlas", "cosmos", "bias", "andes",
        ];
        let words = exceptions.iter().copied().chain([
            "inning", "outing", "canning", "herring", "earring", "proceed", "exceed", "succeed",
        ]);
        for word in words {
            let tail = Word::new(word.as_bytes()).tail();
            assert!(exception1(tail).is_some() || exception2(tail));
            for w in [
                word.to_string(),
                format!("{word}s"),
                format!("{word}ly"),
                format!("a{word}"),
                word[1..].to_string(),
                word[..word.len() - 1].to_string(),
            ] {
                assert_eq!(fast(&w), Some(reference(&w)), "{w}");
            }
        }
    }

    #[test]
    fn every_step_lists_a_suffix_before_the_shorter_ones_it_ends_with() {
        fn check<const N: usize>(step: &Step<N>) {
            let bytes = |s: Suffix| -> Vec<u8> { s.key.to_be_bytes()[8 - s.len..].to_vec() };
            for (i, a) in step.suffixes.iter().enumerate() {
                for b in &step.suffixes[i + 1..] {
                    let (a, b) = (bytes(a.0), bytes(b.0));
                    assert!(!b.ends_with(&a), "{b:?} after {a:?}");
                }
                // The index finds each suffix in the word made of it alone.
                let found = step.longest(a.0.key).map(|(s, _)| bytes(s));
                assert_eq!(found, Some(bytes(a.0)));
            }
        }
        check(&STEP2);
        check(&STEP3);
        check(&STEP4);
    }

    #[test]
    fn other_words_are_left_to_rust_stemmers() {
        for word in ["Russia", "naïve", "don't", "moscow-beijing", "x y"] {
            assert_eq!(fast(word), None, "{word}");
        }
        assert_eq!(fast(&"a".repeat(MAX_LEN + 1)), None);
        assert_eq!(fast("").as_deref(), Some(""));
        assert!(fast(&"a".repeat(MAX_LEN)).is_some());
    }

    #[test]
    fn stems_every_word_of_the_labels_and_seeds_as_rust_stemmers_does() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let mut words = std::collections::BTreeSet::new();
        for dir in ["labels", "seeds"] {
            for entry in std::fs::read_dir(root.join(dir)).unwrap() {
                let text = std::fs::read_to_string(entry.unwrap().path()).unwrap_or_default();
                for word in text.split(|c: char| !c.is_alphanumeric()) {
                    words.insert(word.to_lowercase());
                }
            }
        }
        assert!(words.len() > 5_000, "{} words", words.len());
        let mut stemmed = 0;
        for word in &words {
            if let Some(stem) = fast(word) {
                assert_eq!(stem, reference(word), "{word}");
                stemmed += 1;
            }
        }
        assert!(
            stemmed * 10 > words.len() * 9,
            "{stemmed} of {}",
            words.len()
        );
    }

    /// Every word of up to four letters from an alphabet that reaches each
    /// rule: vowels, `y`, the doubled and `li` letters, `s`, a digit.
    #[test]
    fn stems_every_short_word_of_a_small_alphabet_as_rust_stemmers_does() {
        let alphabet = b"aeiylstdgbnrwx1";
        let mut word = Vec::new();
        let mut checked = 0;
        fn each(alphabet: &[u8], word: &mut Vec<u8>, left: usize, f: &mut dyn FnMut(&str)) {
            f(std::str::from_utf8(word).unwrap());
            if left == 0 {
                return;
            }
            for &c in alphabet {
                word.push(c);
                each(alphabet, word, left - 1, f);
                word.pop();
            }
        }
        each(alphabet, &mut word, 4, &mut |w| {
            if let Some(stem) = fast(w) {
                assert_eq!(stem, reference(w), "{w}");
                checked += 1;
            }
        });
        assert!(checked > 50_000, "{checked}");
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(20_000))]

        /// Words built from the suffixes and pieces the rules look for.
        #[test]
        fn stems_words_of_suffix_pieces_as_rust_stemmers_does(
            pieces in proptest::collection::vec(
                prop_oneof![
                    "[a-z]",
                    "[aeiouy]",
                    Just("y".to_string()),
                    proptest::sample::select(vec![
                        "ational", "tional", "enci", "anci", "izer", "bli", "alli", "entli",
                        "eli", "ousli", "ization", "ation", "ator", "alism", "iveness",
                        "fulness", "ousness", "aliti", "iviti", "biliti", "logi", "ogi",
                        "fulli", "lessli", "li", "icate", "ative", "alize", "iciti", "ical",
                        "ful", "ness", "al", "ance", "ence", "er", "ic", "able", "ible",
                        "ant", "ement", "ment", "ent", "ism", "ate", "iti", "ous", "ive",
                        "ize", "sion", "tion", "ion", "e", "ll", "l", "sses", "ied", "ies",
                        "s", "us", "ss", "eed", "eedly", "ed", "edly", "ing", "ingly", "at",
                        "bl", "iz", "bb", "tt", "gener", "commun", "arsen", "inn", "proc",
                        "1", "20", "ski", "sky", "news", "dy", "ly",
                    ])
                    .prop_map(String::from),
                ],
                1..6,
            )
        ) {
            let word = pieces.concat();
            if let Some(stem) = fast(&word) {
                prop_assert_eq!(stem, reference(&word), "{}", word);
            }
        }

        #[test]
        fn stems_random_lowercase_words_as_rust_stemmers_does(word in "[a-z0-9]{0,20}") {
            prop_assert_eq!(fast(&word), Some(reference(&word)));
        }
    }
}
