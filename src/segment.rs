//! Segmentation: article text → sentences with byte spans.
//!
//! Has the responsibility to cut raw article text into the units that are
//! labelled and scored. Invariants, checked by the property tests:
//!
//! * every span lies inside the input, on UTF-8 character boundaries;
//! * spans are non-empty, strictly increasing and never overlap;
//! * a span starts and ends on a non-whitespace character;
//! * every non-whitespace character of the input lies in exactly one span;
//! * a sentence never crosses a line break: headlines, bylines, captions and
//!   bullet lines without final punctuation stay sentences of their own.
//!
//! Within a line, a sentence ends after `.`, `!`, `?` or `…` (and any run of
//! them), followed by optional closing quotes or brackets, then whitespace and
//! the start of a new sentence (an uppercase letter, digit, opening quote or
//! bracket, or a non-Latin letter such as CJK). A full stop does not end a
//! sentence after a known abbreviation (`Mr.`, `Dr.`, `Gen.`), after initials
//! (`U.S.`, `U.N.`) unless a common sentence opener follows, or after `No.` and
//! month abbreviations (`Jan.`) that precede a number. CJK full stops (`。！？`)
//! end a sentence without needing a following space. Scraped text that lost
//! the space after a full stop (`28 per cent.Last year`) splits when an
//! uppercase letter follows a number or a lowercase word of two or more
//! letters (never after initials, abbreviations or in a web address).

/// A sentence as a half-open byte range `start..end` of the source text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Span {
    /// Byte offset of the first byte.
    pub start: usize,
    /// Byte offset one past the last byte.
    pub end: usize,
}

impl Span {
    /// The text this span covers in `source`.
    ///
    /// # Panics
    /// When the span does not belong to `source` (out of bounds or not on a
    /// character boundary); spans from [`segment`] on the same text never do.
    pub fn text<'a>(&self, source: &'a str) -> &'a str {
        &source[self.start..self.end]
    }
}

/// Lowercase ASCII words, matched regardless of ASCII case by
/// [`Words::has`].
struct Words {
    list: &'static [&'static str],
    /// The length of the longest, in bytes.
    longest: usize,
}

impl Words {
    const fn new(list: &'static [&'static str]) -> Words {
        let (mut i, mut longest) = (0, 0);
        while i < list.len() {
            if list[i].len() > longest {
                longest = list[i].len();
            }
            i += 1;
        }
        Words { list, longest }
    }

    /// Whether `word` is one of them, ASCII case aside. Most words are
    /// longer than any listed one and are not compared.
    fn has(&self, word: &str) -> bool {
        word.len() <= self.longest && self.list.iter().any(|a| a.eq_ignore_ascii_case(word))
    }
}

/// Titles that are always followed by a name, never end a sentence.
const TITLES: Words = Words::new(&[
    "mr", "mrs", "ms", "dr", "prof", "gen", "sen", "rep", "gov", "lt", "col", "capt", "sgt", "st",
    "rev", "hon", "pres", "adm", "maj", "cpl", "jr", "sr", "messrs", "vs", "etc", "approx", "dept",
    "est", "fig", "inc", "corp", "ltd", "co", "mt", "ft", "e.g", "i.e", "cf", "al",
]);

/// Abbreviations that do not end a sentence when a number follows.
const BEFORE_NUMBER: Words = Words::new(&[
    "no", "nos", "art", "vol", "p", "pp", "ch", "sec", "jan", "feb", "mar", "apr", "jun", "jul",
    "aug", "sep", "sept", "oct", "nov", "dec",
]);

/// Words that open a new sentence even after initials such as `U.S.`.
const OPENERS: Words = Words::new(&[
    "the",
    "a",
    "an",
    "it",
    "its",
    "this",
    "that",
    "these",
    "those",
    "there",
    "he",
    "she",
    "we",
    "they",
    "i",
    "but",
    "and",
    "yet",
    "so",
    "in",
    "on",
    "at",
    "as",
    "if",
    "when",
    "while",
    "however",
    "meanwhile",
    "still",
    "both",
    "its",
    "his",
    "her",
    "their",
    "our",
    "after",
    "before",
    "since",
    "for",
    "with",
    "what",
    "why",
    "how",
    "who",
]);

/// Whether a terminator with no space after it still ends a sentence, as in
/// scraped text that lost the space: the next character is an uppercase
/// letter and the word before the terminator is a number or a word of two
/// or more lowercase letters (`cent.Last`, `2025.The`), not an initial or
/// abbreviation before a full stop (`U.S.`, `Mr.`), and not part of a web
/// or mail address.
fn glued_break(before: &str, after: &str, full_stop: bool) -> bool {
    if !after.chars().next().is_some_and(char::is_uppercase) {
        return false;
    }
    let token = before.rsplit(char::is_whitespace).next().unwrap_or(before);
    if token.contains("://") || token.contains('@') || token.starts_with("www") {
        return false;
    }
    let word_start = before
        .char_indices()
        .rev()
        .take_while(|(_, c)| c.is_alphanumeric())
        .last()
        .map_or(before.len(), |(i, _)| i);
    let word = &before[word_start..];
    if before[..word_start].ends_with('.') {
        return false; // initials: U.S.Army
    }
    let lower = word.to_lowercase();
    let number = !word.is_empty() && word.chars().all(|c| c.is_ascii_digit());
    let lowercase_word = word.chars().count() >= 2 && word.chars().all(char::is_lowercase);
    // `lower` is lowercase, so `has` (ASCII case aside) is the exact match.
    let abbreviation = TITLES.has(&lower) || BEFORE_NUMBER.has(&lower);
    (number || lowercase_word) && !(full_stop && abbreviation)
}

/// Splits `text` into sentences.
///
/// ```
/// let text = "The U.S. warned Moscow. Beijing said nothing.\nHeadline without stop";
/// let spans = stance::segment::segment(text);
/// let sentences: Vec<&str> = spans.iter().map(|s| s.text(text)).collect();
/// assert_eq!(
///     sentences,
///     ["The U.S. warned Moscow.", "Beijing said nothing.", "Headline without stop"]
/// );
/// ```
pub fn segment(text: &str) -> Vec<Span> {
    let mut spans = Vec::new();
    let mut line_start = 0;
    // Lines end after each `\n` (found with `memchr`'s vector search:
    // `split_inclusive`'s was a tenth of the segmenter's time), the last
    // at the end of the text.
    for newline in memchr::memchr_iter(b'\n', text.as_bytes()) {
        segment_line(text, line_start, newline + 1, &mut spans);
        line_start = newline + 1;
    }
    if line_start < text.len() {
        segment_line(text, line_start, text.len(), &mut spans);
    }
    spans
}

/// The sentences of `text` that no text appended to it can change, and the
/// offset from which `text` must be kept: segmenting `text[keep..]` with
/// whatever follows appended gives, shifted by `keep`, the remaining spans
/// [`segment`] gives the whole.
///
/// Settled are the sentences of every complete line, and within the last,
/// unfinished line those a cut point follows. A sentence's end depends on
/// the line only from its start up to the first word of the next sentence
/// (and, for a stop with no space after it, on the word before, which
/// whitespace ends), so a cut point is the start of a sentence that
/// whitespace precedes and that is not the line's last two sentences: the
/// sentence before it was decided on text read in full. A line with no cut
/// point is kept whole until it ends.
pub fn segment_settled(text: &str) -> (Vec<Span>, usize) {
    let line_start = text.rfind('\n').map_or(0, |i| i + 1);
    let mut spans = segment(&text[..line_start]);
    let mut tail = Vec::new();
    segment_line(text, line_start, text.len(), &mut tail);
    let cut = (1..tail.len().saturating_sub(1)).rev().find(|&s| {
        text[..tail[s].start]
            .chars()
            .next_back()
            .is_some_and(char::is_whitespace)
    });
    match cut {
        Some(s) => {
            spans.extend_from_slice(&tail[..s]);
            (spans, tail[s].start)
        }
        None => (spans, line_start),
    }
}

/// Segments text that arrives in pieces (a file read in chunks), giving the
/// spans [`segment`] gives the whole text, as soon as they are settled
/// (see [`segment_settled`]). Holds the text from the first unsettled
/// sentence on: memory is bounded by the longest line without a cut point,
/// not by the text.
#[derive(Debug, Default)]
pub struct Segmenter {
    /// Text not yet handed out.
    text: String,
    /// Offset of `text` in the whole.
    offset: usize,
}

/// Sentences handed out by a [`Segmenter`]: their spans point into `text`,
/// which starts at byte `offset` of the whole text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settled {
    /// Offset of `text` in the whole text.
    pub offset: usize,
    /// The text the spans point into.
    pub text: String,
    /// Sentence spans in `text`.
    pub spans: Vec<Span>,
}

impl Segmenter {
    /// A segmenter at the start of a text.
    pub fn new() -> Segmenter {
        Segmenter::default()
    }

    /// Appends the next piece of the text.
    pub fn push_str(&mut self, piece: &str) {
        self.text.push_str(piece);
    }

    /// Appends the next piece of the text with `push`, which is given the
    /// text held and may only append to it: a decoder writes straight into
    /// it, without a piece of its own to copy from.
    pub(crate) fn push_with(&mut self, push: impl FnOnce(&mut String)) {
        let held = self.text.len();
        push(&mut self.text);
        debug_assert!(self.text.len() >= held, "push_with may only append");
    }

    /// Bytes held: read but not handed out.
    pub fn pending(&self) -> usize {
        self.text.len()
    }

    /// Hands out the settled sentences (all of them when `end`, the text
    /// being complete), with the text before the first unsettled one.
    pub fn take(&mut self, end: bool) -> Settled {
        let (spans, keep) = if end {
            (segment(&self.text), self.text.len())
        } else {
            segment_settled(&self.text)
        };
        let rest = self.text.split_off(keep);
        let text = std::mem::replace(&mut self.text, rest);
        let offset = self.offset;
        self.offset += keep;
        Settled {
            offset,
            text,
            spans,
        }
    }
}

/// Segments one line `text[from..to]` and appends its sentences to `out`.
fn segment_line(text: &str, from: usize, to: usize, out: &mut Vec<Span>) {
    let bytes = text.as_bytes();
    let mut candidates = Candidates::new(&bytes[..to]);
    let mut pos = from;
    'sentences: loop {
        // The sentence starts at the next non-whitespace character.
        let rest = &text[pos..to];
        let body = rest.trim_start();
        if body.is_empty() {
            return;
        }
        let sentence_start = to - body.len();
        let mut search = sentence_start;
        loop {
            // Jump to the next byte that can begin a terminator.
            let Some(abs) = candidates.next(search) else {
                out.push(trimmed(text, sentence_start, to));
                return;
            };
            let c = decode_at(text, abs);
            let cjk_stop = matches!(c, '。' | '！' | '？');
            if !(is_terminator(c) || cjk_stop) {
                search = abs + c.len_utf8();
                continue;
            }
            // Swallow a run of terminators and closing punctuation.
            let mut end = abs + c.len_utf8();
            while end < to {
                let d = decode_at(text, end);
                if is_terminator(d) || is_closer(d) || matches!(d, '。' | '！' | '？') {
                    end += d.len_utf8();
                } else {
                    break;
                }
            }
            search = end;
            if cjk_stop {
                out.push(trimmed(text, sentence_start, end));
                pos = end;
                continue 'sentences;
            }
            // A Latin terminator needs whitespace after it (or the end of the line).
            let rest = &text[end..to];
            let after_ws = rest.trim_start();
            if after_ws.is_empty() {
                continue; // the line end closes it below
            }
            if after_ws.len() == rest.len() {
                // No space: 3.5, U.S.-led, example.com stay whole; scraped
                // text that lost its space ("28 per cent.Last year") splits.
                if end == abs + 1 && glued_break(&text[from..abs], after_ws, c == '.') {
                    out.push(trimmed(text, sentence_start, end));
                    pos = end;
                    continue 'sentences;
                }
                continue;
            }
            if !breaks_before(after_ws) {
                continue;
            }
            if c == '.' && !ends_sentence(&text[sentence_start..abs], after_ws) {
                continue;
            }
            out.push(trimmed(text, sentence_start, end));
            pos = end;
            continue 'sentences;
        }
    }
}

/// The bytes of a line that can begin a terminator: `.`, `!`, `?`, or the
/// lead byte of `…` (E2), `。` (E3), `！`/`？` (EF). Found by two SIMD
/// scans (`memchr3`), one per three bytes, each result kept until the
/// search passes it: a byte at a time, this search was most of the
/// segmenter's time, and the segmenter up to a sixth of a run's.
struct Candidates<'a> {
    bytes: &'a [u8],
    /// The next `.`, `!` or `?` at or after the last search, or the end.
    stop: Option<usize>,
    /// The next E2, E3 or EF byte at or after the last search, or the end.
    lead: Option<usize>,
}

impl<'a> Candidates<'a> {
    fn new(bytes: &'a [u8]) -> Self {
        Candidates {
            bytes,
            stop: None,
            lead: None,
        }
    }

    /// The first candidate at or after `search` (which never goes back).
    fn next(&mut self, search: usize) -> Option<usize> {
        let end = self.bytes.len();
        let rest = &self.bytes[search.min(end)..];
        if self.stop.is_none_or(|p| p < search) {
            self.stop = Some(memchr::memchr3(b'.', b'!', b'?', rest).map_or(end, |i| search + i));
        }
        if self.lead.is_none_or(|p| p < search) {
            self.lead = Some(memchr::memchr3(0xE2, 0xE3, 0xEF, rest).map_or(end, |i| search + i));
        }
        let next = self.stop.min(self.lead).unwrap_or(end);
        (next < end).then_some(next)
    }
}

/// The character starting at byte `i` of `text` (a char boundary: callers
/// only advance by whole characters); U+FFFD at the end.
#[inline]
pub(crate) fn decode_at(text: &str, i: usize) -> char {
    text[i..].chars().next().unwrap_or('\u{FFFD}')
}

fn is_terminator(c: char) -> bool {
    matches!(c, '.' | '!' | '?' | '…')
}

fn is_closer(c: char) -> bool {
    matches!(
        c,
        '"' | '\'' | '”' | '’' | '»' | '›' | ')' | ']' | '}' | '」' | '』' | '）'
    )
}

/// Whether `next` (the text after the whitespace) can start a sentence.
fn breaks_before(next: &str) -> bool {
    let mut chars = next.chars();
    let Some(first) = chars.next() else {
        return false;
    };
    if first.is_uppercase() || first.is_ascii_digit() {
        return true;
    }
    if matches!(
        first,
        '"' | '\'' | '“' | '‘' | '«' | '(' | '[' | '—' | '–' | '•' | '「' | '『' | '（'
    ) {
        return chars.next().is_some_and(|c| !c.is_lowercase());
    }
    // Letters without case (CJK, Arabic…) start sentences too.
    first.is_alphabetic() && !first.is_lowercase()
}

/// Decides whether a full stop ends the sentence, given the text of the
/// sentence before the stop and the text after the following whitespace.
fn ends_sentence(before: &str, after: &str) -> bool {
    let word = last_word(before);
    if word.is_empty() {
        return true;
    }
    if TITLES.has(word) {
        return false;
    }
    let next_is_number = after.starts_with(|c: char| c.is_ascii_digit());
    if next_is_number && BEFORE_NUMBER.has(word) {
        return false;
    }
    if is_initials(word) {
        let len = after
            .char_indices()
            .find(|(_, c)| !c.is_alphabetic())
            .map_or(after.len(), |(i, _)| i);
        return OPENERS.has(&after[..len]);
    }
    true
}

/// What follows the last whitespace, `(`, `"`, `“`, `‘` or `[` of `before`
/// (all of it when there is none): the word before a full stop. Searched
/// byte by byte from the end, decoding only non-ASCII characters; a split
/// on those characters took a tenth of the segmenter's time.
fn last_word(before: &str) -> &str {
    let bytes = before.as_bytes();
    let mut i = bytes.len();
    while let Some(&b) = bytes[..i].last() {
        if b.is_ascii() {
            // `char::is_whitespace` in ASCII: tab to carriage return, space.
            if matches!(b, b'\t'..=b'\r' | b' ' | b'(' | b'"' | b'[') {
                break;
            }
            i -= 1;
        } else {
            let c = before[..i].chars().next_back().unwrap_or_default();
            if c.is_whitespace() || matches!(c, '“' | '‘') {
                break;
            }
            i -= c.len_utf8();
        }
    }
    &before[i..]
}

/// `U.S`, `U.N`, `E.U`, `A`: single letters joined by dots (the final dot is
/// the one being judged, so it is not part of `word`).
fn is_initials(word: &str) -> bool {
    // The last part is one uppercase letter: most words before a full stop
    // end in a lowercase letter and are settled here.
    word.chars().next_back().is_some_and(char::is_uppercase) && initials_by_parts(word)
}

/// [`is_initials`] part by part, without its shortcut.
fn initials_by_parts(word: &str) -> bool {
    let core = word.trim_start_matches(|c: char| !c.is_alphanumeric());
    // A hyphenated compound such as `Sino-U.S` is judged by its last part.
    let core = core.rsplit('-').next().unwrap_or(core);
    !core.is_empty()
        && core.split('.').all(|part| {
            let mut cs = part.chars();
            matches!((cs.next(), cs.next()), (Some(c), None) if c.is_uppercase())
        })
}

/// Shrinks `start..end` to exclude surrounding whitespace.
fn trimmed(text: &str, start: usize, end: usize) -> Span {
    let slice = &text[start..end];
    let lead = slice.len() - slice.trim_start().len();
    let trail = slice.len() - slice.trim_end().len();
    if lead == slice.len() {
        return Span { start, end: start };
    }
    Span {
        start: start + lead,
        end: end - trail,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sentences(text: &str) -> Vec<&str> {
        segment(text).iter().map(|s| s.text(text)).collect()
    }

    #[test]
    fn table() {
        let cases: &[(&str, &[&str])] = &[
            ("", &[]),
            ("\n\n  \n", &[]),
            ("One. Two.", &["One.", "Two."]),
            // abbreviations
            (
                "The U.S. Defense Secretary spoke. Then he left.",
                &["The U.S. Defense Secretary spoke.", "Then he left."],
            ),
            (
                "The U.N. Security Council is often paralyzed by their veto powers, while other institutions have turned into battlegrounds.",
                &["The U.N. Security Council is often paralyzed by their veto powers, while other institutions have turned into battlegrounds."],
            ),
            (
                "Moscow blamed the U.S. The talks failed.",
                &["Moscow blamed the U.S.", "The talks failed."],
            ),
            ("Mr. Putin met Dr. Li. They talked.", &["Mr. Putin met Dr. Li.", "They talked."]),
            (
                "It was signed on Jan. 5 under No. 12. Ties improved.",
                &["It was signed on Jan. 5 under No. 12.", "Ties improved."],
            ),
            // decimals and amounts
            (
                "Trade grew 3.5% to US$100 billion. A 3,200km pipeline followed.",
                &["Trade grew 3.5% to US$100 billion.", "A 3,200km pipeline followed."],
            ),
            // ellipsis
            ("They waited... and waited. Then… Nothing.", &["They waited... and waited.", "Then…", "Nothing."]),
            // closing quote and bracket
            (
                "Xi noted that they “emerged from all kinds of tests to demonstrate new vitality”. In short, the summit reassured both sides.",
                &[
                    "Xi noted that they “emerged from all kinds of tests to demonstrate new vitality”.",
                    "In short, the summit reassured both sides.",
                ],
            ),
            (
                "And it’s investing in our own critical infrastructure, from 5G networks to ports and airports.” China’s rise followed.",
                &[
                    "And it’s investing in our own critical infrastructure, from 5G networks to ports and airports.”",
                    "China’s rise followed.",
                ],
            ),
            ("(He left.) She stayed.", &["(He left.)", "She stayed."]),
            // lines never merge
            (
                "The China-Russia Axis Takes Shape\n\nIn July, warships sailed.",
                &["The China-Russia Axis Takes Shape", "In July, warships sailed."],
            ),
            (
                "Danil Bochkov\nDanil Bochkov\r\n",
                &["Danil Bochkov", "Danil Bochkov"],
            ),
            (
                "  • Beijing and Moscow have intensified their collaboration\n  • This comes amid increasing rhetoric",
                &[
                    "• Beijing and Moscow have intensified their collaboration",
                    "• This comes amid increasing rhetoric",
                ],
            ),
            // dashes and CJK
            (
                "Premier Li Keqiang (李克強) met Mishustin — a first. It went well.",
                &["Premier Li Keqiang (李克強) met Mishustin — a first.", "It went well."],
            ),
            ("中俄关系很好。美国不满！", &["中俄关系很好。", "美国不满！"]),
            // question followed by lowercase stays one sentence
            ("“Why?” he asked. Nobody knew.", &["“Why?” he asked.", "Nobody knew."]),
            ("What’s next? Continued convergence.", &["What’s next?", "Continued convergence."]),
        ];
        for (text, want) in cases {
            assert_eq!(&sentences(text), want, "input: {text:?}");
        }
    }

    #[test]
    fn scraped_text_without_a_space_after_the_stop() {
        let cases: &[(&str, &[&str])] = &[
            // Real shapes of scraped news text.
            (
                "Exports to China rose 28 per cent.Last year they fell.",
                &["Exports to China rose 28 per cent.", "Last year they fell."],
            ),
            (
                "The talks ended in 2025.The deal was not signed.",
                &["The talks ended in 2025.", "The deal was not signed."],
            ),
            (
                "Moscow said no?Beijing said yes.",
                &["Moscow said no?", "Beijing said yes."],
            ),
            // Stay whole: decimals, initials, abbreviations, addresses.
            ("It grew 3.5 per cent.", &["It grew 3.5 per cent."]),
            ("The U.S.Army left.", &["The U.S.Army left."]),
            ("Ask Mr.Wang today.", &["Ask Mr.Wang today."]),
            (
                "See www.Reuters.com for more.",
                &["See www.Reuters.com for more."],
            ),
            (
                "Mail press@kremlin.Ru now.",
                &["Mail press@kremlin.Ru now."],
            ),
            ("A single X.Y test.", &["A single X.Y test."]),
        ];
        for (text, want) in cases {
            assert_eq!(&sentences(text), want, "input: {text:?}");
        }
    }

    #[test]
    fn span_table() {
        // (text, [(start, end)]): exact byte spans, empty and non-ASCII
        // input included; leading and trailing whitespace is never inside.
        let cases: &[(&str, &[(usize, usize)])] = &[
            ("", &[]),
            ("   \n\t ", &[]),
            ("One.", &[(0, 4)]),
            ("  One.  Two.  ", &[(2, 6), (8, 12)]),
            ("Headline\nBody text here.", &[(0, 8), (9, 24)]),
            ("U.S. troops left. Then?", &[(0, 17), (18, 23)]),
            ("He paid $3.5 billion. Done.", &[(0, 21), (22, 27)]),
            ("“Yes.” She left.", &[(0, 10), (11, 20)]),
            ("北京和莫斯科。合作加深。", &[(0, 21), (21, 36)]),
            ("Ürümqi hosts talks… Moscow waits.", &[(0, 23), (24, 37)]),
        ];
        for (text, want) in cases {
            let got: Vec<(usize, usize)> = segment(text).iter().map(|s| (s.start, s.end)).collect();
            assert_eq!(&got, want, "input: {text:?}");
        }
    }

    #[test]
    fn spans_are_byte_offsets() {
        let text = "Xi (習近平) spoke. Putin agreed.";
        let spans = segment(text);
        assert_eq!(
            spans,
            vec![Span { start: 0, end: 21 }, Span { start: 22, end: 35 }]
        );
    }

    /// Spans of `text` segmented in pieces of `size` bytes (at character
    /// boundaries), in offsets of the whole.
    fn in_pieces(text: &str, size: usize) -> Vec<Span> {
        let mut seg = Segmenter::new();
        let mut spans = Vec::new();
        let mut start = 0;
        while start < text.len() {
            let mut end = (start + size).min(text.len());
            while !text.is_char_boundary(end) {
                end += 1;
            }
            seg.push_str(&text[start..end]);
            start = end;
            let settled = seg.take(false);
            assert!(settled.spans.iter().all(|s| s.end <= settled.text.len()));
            spans.extend(settled.spans.iter().map(|s| Span {
                start: s.start + settled.offset,
                end: s.end + settled.offset,
            }));
        }
        let settled = seg.take(true);
        spans.extend(settled.spans.iter().map(|s| Span {
            start: s.start + settled.offset,
            end: s.end + settled.offset,
        }));
        spans
    }

    #[test]
    fn pieces_give_the_spans_of_the_whole() {
        let texts = [
            "The U.S. Inside. Moscow blamed the U.S. The talks failed. Mr. Putin met Dr. Li. They talked.",
            "Exports rose 28 per cent.Last year they fell. See www.Reuters.com for more. x",
            "北京和莫斯科。合作加深。 http://a.b/c.De 中俄关系很好。美国不满！",
            "Headline\n\nOne. Two. Three.\r\nFour… Five? “Six.” (Seven.) Eight",
        ];
        for text in texts {
            for size in 1..=text.len() + 1 {
                assert_eq!(in_pieces(text, size), segment(text), "{text:?} in {size}");
            }
        }
        // A long line is handed out before it ends, keeping little.
        let line = "China and Russia met again. ".repeat(1000);
        let mut seg = Segmenter::new();
        seg.push_str(&line);
        let settled = seg.take(false);
        assert_eq!((settled.spans.len(), seg.pending()), (998, 56));
    }

    #[test]
    fn listed_words_are_found_in_any_ascii_case_and_only_they() {
        for words in [&TITLES, &BEFORE_NUMBER, &OPENERS] {
            for &w in words.list {
                assert!(words.has(w) && words.has(&w.to_ascii_uppercase()), "{w}");
                assert!(
                    !words.has(&format!("{w}s")) || words.list.contains(&format!("{w}s").as_str()),
                    "{w}s"
                );
            }
            assert!(!words.has("") && !words.has("nonetheless"));
        }
    }

    #[test]
    fn word_tests_agree_with_their_plain_definitions() {
        // `last_word` as first written, with `str`'s own search.
        let split = |before: &str| {
            before
                .rsplit(|c: char| c.is_whitespace() || matches!(c, '(' | '"' | '“' | '‘' | '['))
                .next()
                .unwrap_or("")
                .to_string()
        };
        let pieces = [
            "U", "S", "a", "é", "É", "Ж", "ж", "中", "7", ".", "-", "(", "[", "\"", "“", "‘", "’",
            " ", "\t", "\u{b}", "\r", "\n", "\u{a0}", "\u{2009}", "\u{3000}", "\u{85}", "Mr",
            "U.S", "Sino-", "ǅ", "ﬀ",
        ];
        let mut rng = crate::testutil::Rng(0x2545_f491_4f6c_dd1d);
        for _ in 0..50_000 {
            let n = rng.below(7);
            let text: String = (0..n).map(|_| *rng.pick(&pieces)).collect();
            assert_eq!(last_word(&text), split(&text), "{text:?}");
            assert_eq!(is_initials(&text), initials_by_parts(&text), "{text:?}");
        }
    }

    #[test]
    fn hyphenated_initials_do_not_split() {
        assert_eq!(
            sentences("A Sino-U.S. conflict over Taiwan could bring it about."),
            ["A Sino-U.S. conflict over Taiwan could bring it about."]
        );
    }
}
