//! Segmentation of real seed text: each case quotes the article.

mod common;

use common::*;
use stance::segment::segment;

fn sentences_of(file: &str) -> Vec<String> {
    let text = std::fs::read_to_string(root().join("seeds").join(file)).unwrap();
    segment(&text)
        .iter()
        .map(|s| s.text(&text).to_string())
        .collect()
}

fn has(sentences: &[String], s: &str) {
    assert!(sentences.iter().any(|x| x == s), "missing sentence {s:?}");
}

#[test]
fn abbreviations_do_not_split() {
    let s = sentences_of("004_77300b823648d066.txt");
    has(&s, "The U.N. Security Council is often paralyzed by their veto powers, while other institutions have turned into battlegrounds for seeking influence.");
    has(&s, "If, for instance, former U.S. President Donald Trump wins another term, he could decrease U.S. support for Ukraine and offer Putin improved relations.");
    has(&s, "Although neither Beijing nor Moscow currently has plans to establish a formal military alliance, major shocks, such as a Sino-U.S. conflict over Taiwan, could yet bring it about.");
    has(&s, "Both countries made a clear strategic choice to prioritize relations with each other, given what they perceive as a common threat from the U.S.-led West.");
}

#[test]
fn decimals_and_amounts_do_not_split() {
    let s = sentences_of("000_1ff71cbcd28b900c.txt");
    has(&s, "In the energy sector, the two nations have signed a US$400 billion natural gas supply deal, which would include a 3,200km gas pipeline from Siberia to northeast China and a second major pipeline from Siberia to Xinjiang.");
    let s = sentences_of("002_4ee0aad5c8b25f11.txt");
    has(&s, "Yet, China still generates 60% of its electricity from coal, and it will replace coal with natural gas or nuclear energy.");
}

#[test]
fn closing_quotes_and_brackets_stay_with_their_sentence() {
    let s = sentences_of("003_8c61eab635a33c70.txt");
    has(&s, "Nato Deputy Secretary General Mircea Geoana went on to detail China’s advancements and how it was “expanding its global economic and military footprint in Africa, in the Arctic and in cyberspace.");
    has(&s, "And it’s investing in our own critical infrastructure, from 5G networks to ports and airports.”");
    has(&s, "Moscow and Beijing jointly decried the gathering, calling it “an evident product of [America’s] Cold-War mentality”.");
}

#[test]
fn headlines_bylines_and_bullets_are_their_own_sentences() {
    let s = sentences_of("003_8c61eab635a33c70.txt");
    assert_eq!(s[0], "Advertisement");
    assert_eq!(s[2], "Illustration: Craig Stephens");
    has(
        &s,
        "How Western pressure is pushing China and Russia ever closer",
    );
    has(&s, "• This comes amid increasing rhetoric targeting the two from the US, Nato, the G7, the EU and others");
    has(
        &s,
        "Danil Bochkov is an expert at the Russian International Affairs Council",
    );
    let s = sentences_of("002_4ee0aad5c8b25f11.txt");
    has(&s, "Russia also continues to be a major arms supplier to China, particularly in the aeronautics, missile and electronic warfare areas");
    has(&s, "Related activities");
}

#[test]
fn cjk_and_dashes_are_kept_intact() {
    let s = sentences_of("000_1ff71cbcd28b900c.txt");
    has(&s, "The latest evidence of this came on Wednesday when Chinese Premier Li Keqiang (李克強) and Russian Prime Minister Mikhail Mishustin met for their first summit.");
    let s = sentences_of("004_77300b823648d066.txt");
    has(
        &s,
        "Both are set up for expansion—in terms of scope, membership, and other partnerships.",
    );
    has(&s, "What’s next?");
    has(
        &s,
        "But that is not set in stone—and progress can be accelerated, slowed, or reversed.",
    );
}
