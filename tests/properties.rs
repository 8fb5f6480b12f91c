//! Property tests: the segmenter, tokenizer and featurizer on arbitrary text.

use proptest::prelude::*;
use stance::features::TfIdfVectorizer;
use stance::segment::{segment, Segmenter, Span};
use stance::tokenize::{
    for_each_run, for_each_run_scalar, for_each_word, Tokenizer, TokenizerConfig,
};

fn text_strategy() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        // article-like text: words, punctuation, quotes, newlines, CJK
        proptest::collection::vec(
            prop_oneof![
                "[A-Za-z]{1,8}",
                Just(". ".to_string()),
                Just("U.S. ".to_string()),
                Just("? ".to_string()),
                Just("…".to_string()),
                Just("” ".to_string()),
                Just("\n".to_string()),
                Just("\r\n".to_string()),
                Just("  ".to_string()),
                Just("李克強".to_string()),
                Just("3.5% ".to_string()),
                Just("Mr. ".to_string()),
                Just("— ".to_string()),
            ],
            0..60
        )
        .prop_map(|v| v.concat()),
    ]
}

/// Text long enough to cross the 64-byte blocks of the word scanner many
/// times, with multi-byte word characters (Latin, CJK, a 4-byte letter) and
/// non-word ones (curly quotes, an emoji, a no-break space) at every offset.
fn long_mixed_text() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        proptest::collection::vec(
            prop_oneof![
                "[A-Za-z0-9]{1,12}",
                "[ -/:-@\\[-`{-~]{1,3}",
                Just("é".to_string()),
                Just("Ürümqi".to_string()),
                Just("李克強".to_string()),
                Just("\u{1D518}".to_string()),
                Just("😀".to_string()),
                Just("’".to_string()),
                Just("\u{a0}".to_string()),
                Just("\u{2013}".to_string()),
            ],
            0..200
        )
        .prop_map(|v| v.concat()),
    ]
}

/// Text where sentence ends hinge on context: glued stops, initials before
/// openers, addresses, CJK stops without spaces, unusual whitespace.
fn tricky_text() -> impl Strategy<Value = String> {
    proptest::collection::vec(
        prop_oneof![
            "[A-Za-z]{1,6}",
            "[a-z]{1,3}\\.[A-Z][a-z]{0,3}",
            Just(" ".to_string()),
            Just(". ".to_string()),
            Just(".".to_string()),
            Just("U.S. ".to_string()),
            Just("U.S.".to_string()),
            Just("The ".to_string()),
            Just("Inside ".to_string()),
            Just("No. 5 ".to_string()),
            Just("http://".to_string()),
            Just("www".to_string()),
            Just("@".to_string()),
            Just("。".to_string()),
            Just("！".to_string()),
            Just("“(".to_string()),
            Just("”) ".to_string()),
            Just("\u{3000}".to_string()),
            Just("\u{a0}".to_string()),
            Just("\n".to_string()),
            Just("\r\n".to_string()),
            Just("28 per cent.Last ".to_string()),
        ],
        0..80,
    )
    .prop_map(|v| v.concat())
}

/// The spans a [`Segmenter`] hands out when `text` arrives in pieces of the
/// given sizes (cut at character boundaries), in offsets of the whole.
fn segment_in_pieces(text: &str, sizes: &[usize]) -> Vec<Span> {
    let mut seg = Segmenter::new();
    let mut spans = Vec::new();
    let mut start = 0;
    let mut k = 0;
    let take = |seg: &mut Segmenter, end: bool, spans: &mut Vec<Span>| {
        let settled = seg.take(end);
        spans.extend(settled.spans.iter().map(|s| Span {
            start: s.start + settled.offset,
            end: s.end + settled.offset,
        }));
    };
    while start < text.len() {
        let mut end = (start + sizes[k % sizes.len()]).min(text.len());
        k += 1;
        while !text.is_char_boundary(end) {
            end += 1;
        }
        seg.push_str(&text[start..end]);
        start = end;
        take(&mut seg, false, &mut spans);
    }
    take(&mut seg, true, &mut spans);
    spans
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn segmenting_in_pieces_gives_the_spans_of_the_whole(
        text in prop_oneof![text_strategy(), tricky_text()],
        sizes in proptest::collection::vec(1usize..40, 1..6),
    ) {
        prop_assert_eq!(segment_in_pieces(&text, &sizes), segment(&text));
    }

    #[test]
    fn segment_spans_are_valid_ordered_and_cover_all_text(text in text_strategy()) {
        let spans = segment(&text);
        let mut covered = vec![false; text.len()];
        let mut prev_end = 0;
        for s in &spans {
            prop_assert!(s.start < s.end && s.end <= text.len());
            prop_assert!(s.start >= prev_end, "overlap or disorder");
            prop_assert!(text.is_char_boundary(s.start) && text.is_char_boundary(s.end));
            let t = s.text(&text);
            prop_assert_eq!(t.trim(), t, "span not trimmed");
            prop_assert!(!t.contains('\n'), "sentence crosses a line");
            covered[s.start..s.end].iter_mut().for_each(|c| *c = true);
            prev_end = s.end;
        }
        for (i, c) in text.char_indices() {
            if !c.is_whitespace() {
                prop_assert!(covered[i], "char {:?} at {} is in no sentence", c, i);
            }
        }
    }

    #[test]
    fn word_runs_match_the_character_by_character_reference(text in long_mixed_text()) {
        let (mut fast, mut reference) = (Vec::new(), Vec::new());
        for_each_run(&text, |s, e| fast.push((s, e)));
        for_each_run_scalar(&text, |s, e| reference.push((s, e)));
        prop_assert_eq!(fast, reference);
    }

    #[test]
    fn words_are_in_bounds_on_boundaries_and_alphanumeric(text in text_strategy()) {
        let mut prev = 0;
        for_each_word(&text, |s, e| {
            assert!(s >= prev && s < e && e <= text.len());
            assert!(text.is_char_boundary(s) && text.is_char_boundary(e));
            assert!(text[s..e].chars().all(char::is_alphanumeric));
            prev = e;
        });
        let tok = Tokenizer::new(TokenizerConfig::default());
        for t in tok.tokens(&text) {
            prop_assert!(!t.stem.is_empty());
            prop_assert_eq!(t.word.to_lowercase(), t.word.clone());
        }
    }

    #[test]
    fn tfidf_rows_have_unit_or_zero_norm(train in proptest::collection::vec(text_strategy(), 1..8), probe in text_strategy()) {
        // Every training sentence holds at least one real word, so fitting
        // must succeed whatever else the random text contains.
        let train: Vec<String> = train.iter().map(|t| format!("{t} alliance")).collect();
        let fitted = TfIdfVectorizer::default().fit(&train);
        prop_assert!(fitted.is_ok(), "{:?}", fitted.err());
        let fitted = fitted.unwrap();
        prop_assert!(fitted.vocabulary().iter().any(|t| t == "allianc"));
        for text in train.iter().chain(std::iter::once(&probe)) {
            let v = fitted.transform(text);
            let n = v.norm();
            prop_assert!(v.nnz() == 0 && n == 0.0 || (n - 1.0).abs() < 1e-9);
            prop_assert!(v.indices.windows(2).all(|w| w[0] < w[1]));
        }
        // A training sentence always has the shared word, so never the zero vector.
        for text in &train {
            prop_assert!(fitted.transform(text).nnz() > 0);
        }
    }
}
