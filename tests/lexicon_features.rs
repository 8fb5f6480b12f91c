//! Actor normalization, cue lexicons and negation scope on real sentences
//! from the seed articles, with the lexicon files the repository ships.

mod common;

use common::*;
use stance::features::TfIdfVectorizer;
use stance::lexicon::Lexicon;

fn featurizer(actors: bool, cues: bool, negation: bool) -> TfIdfVectorizer {
    let lexicon = Lexicon::load(
        Some(&root().join("labels/actors.txt")),
        Some(&root().join("labels/cues.txt")),
    )
    .unwrap();
    TfIdfVectorizer::default().lexicon(lexicon, actors, cues, negation)
}

fn units(sentence: &str) -> Vec<String> {
    featurizer(true, true, true).analyze(sentence)
}

fn count(units: &[String], unit: &str) -> usize {
    units.iter().filter(|u| *u == unit).count()
}

#[test]
fn multi_word_names_become_one_actor_unit() {
    let u = units("The latest evidence of this came on Wednesday when Chinese Premier Li Keqiang (李克強) and Russian Prime Minister Mikhail Mishustin met for their first summit.");
    // Chinese, Li Keqiang → #china; Russian, Mishustin → #russia
    assert_eq!(count(&u, "#china"), 2, "{u:?}");
    assert_eq!(count(&u, "#russia"), 2, "{u:?}");
    assert!(!u.iter().any(|x| x == "li" || x == "keqiang"), "{u:?}");
    let u = units("Instead, the United States, the European Union, and their partners armed Ukraine and tried to paralyze Russia with unprecedented sanctions.");
    assert_eq!(count(&u, "#west"), 2, "{u:?}");
    assert!(
        !u.iter()
            .any(|x| x == "unit" || x == "state" || x == "european"),
        "{u:?}"
    );
}

#[test]
fn abbreviations_and_case_sensitive_entries() {
    let u = units("If, for instance, former U.S. President Donald Trump wins another term, he could decrease U.S. support for Ukraine and offer Putin improved relations.");
    assert_eq!(count(&u, "#west"), 3, "U.S. twice and Donald Trump: {u:?}");
    assert_eq!(count(&u, "#russia"), 1, "{u:?}");
    let u = units("In October, US Defence Secretary Lloyd Austin attended the first post-pandemic meeting of the transatlantic security alliance’s defence ministers, putting China on the summit’s agenda along with Russia’s “malign activities”.");
    assert_eq!(count(&u, "#west"), 2, "US and Lloyd Austin: {u:?}");
    // lowercase `us` is the pronoun, not the country
    let u = units("Which brings us back to the old question of what the EU and NATO can do to engage Moscow in a more productive dialogue and give it incentives to cooperate.");
    assert_eq!(count(&u, "#west"), 2, "EU and NATO only: {u:?}");
}

#[test]
fn possessives_and_hyphenated_forms_match() {
    let u = units("Russia’s annexation of Crimea in 2014 damaged its relations with the West and led to a first set of economic sanctions.");
    assert_eq!(u[0], "#russia", "{u:?}");
    assert_eq!(count(&u, "#west"), 1, "the West: {u:?}");
    let u = units("Yet, within six years, the Sino-Soviet bromance started to go cold.");
    assert!(
        count(&u, "#china") == 1 && count(&u, "#russia") == 1,
        "{u:?}"
    );
}

#[test]
fn the_actor_set_is_one_feature_per_sentence() {
    let u = units("Moscow and Beijing jointly decried the gathering, calling it “an evident product of [America’s] Cold-War mentality”.");
    assert_eq!(count(&u, "#actors:china+russia+west"), 1, "{u:?}");
    let u = units("Photo: AP");
    assert!(!u.iter().any(|x| x.starts_with("#actors:")), "{u:?}");
    let off =
        featurizer(false, true, false).analyze("Moscow and Beijing jointly decried the gathering.");
    assert!(
        off.contains(&"moscow".to_string())
            && !off
                .iter()
                .any(|x| x.starts_with('#') && !x.starts_with("#cue:")),
        "{off:?}"
    );
}

#[test]
fn cue_phrases_count_towards_their_group() {
    let u = units("Developed Western democracies—with the G-7 in the lead—are also exploring how their experience deterring and sanctioning Russia could be leveraged against China in potential future contingencies.");
    assert_eq!(count(&u, "#cue:pressure"), 1, "deterring: {u:?}");
    let u = units("But they remain wary of each other, with neither wanting to be responsible for or subordinate to the other.");
    assert_eq!(count(&u, "#cue:friction"), 1, "wary: {u:?}");
    let u = units("Meanwhile, Britain is trying to solidify opposition to Russian gas deliveries, specifically opposing the Nord Stream 2 project.");
    assert!(!u.iter().any(|x| x.starts_with("#cue:")), "{u:?}");
    // the cue words stay in the stream
    let u = units("The US and its allies have repeatedly portrayed Russia and China as autocratic states involved in human rights abuses.");
    assert!(u.contains(&"alli".to_string()), "{u:?}");
}

#[test]
fn negation_marks_the_next_content_words() {
    let u = units("Even the mutiny in June by Wagner Group leader Yevgeny Prigozhin that took his mercenary army almost to the gates of Moscow did not change China’s overall position toward Russia.");
    let at = u.iter().position(|x| x == "not").unwrap();
    assert_eq!(
        u[at + 1..at + 4],
        ["not_chang", "#china", "not_overal"],
        "{u:?}"
    );
    assert_eq!(u[at + 4], "posit", "scope ends after three units: {u:?}");
    let u = units("Although neither Beijing nor Moscow currently has plans to establish a formal military alliance, major shocks could yet bring it about.");
    assert!(u.contains(&"not_plan".to_string()), "{u:?}");
    assert!(
        u.contains(&"allianc".to_string()),
        "outside the scope: {u:?}"
    );
    let off = featurizer(true, true, false).analyze("did not change");
    assert_eq!(off, ["not", "chang"]);
}

#[test]
fn fitted_vectors_use_the_lexicon_units() {
    let train = [
        "Moscow warned Washington.",
        "The Kremlin warned the White House.",
        "Putin warned Biden.",
    ];
    let fitted = featurizer(true, true, false)
        .min_df(stance::features::DfBound::Count(2))
        .fit(&train)
        .unwrap();
    let vocab = fitted.vocabulary();
    for term in [
        "#russia warn",
        "warn #west",
        "#actors:russia+west",
        "#cue:pressure",
    ] {
        assert!(vocab.iter().any(|v| v == term), "{term} not in {vocab:?}");
    }
    // An unseen phrasing of the same claim lands on the same features.
    let x = fitted.transform("Lavrov warned NATO.");
    let terms: Vec<&str> = x.iter().map(|(i, _)| vocab[i].as_str()).collect();
    assert!(
        terms.contains(&"#russia warn") && terms.contains(&"#actors:russia+west"),
        "{terms:?}"
    );
    // Evidence shows the sentence's own words for an actor bigram.
    let mut t = fitted.transformer();
    let mut v = stance::features::SparseVec::default();
    let s = "Lavrov warned NATO.";
    t.transform(s, &mut v);
    let i = vocab.iter().position(|t| t == "#russia warn").unwrap();
    assert_eq!(t.surface(i).map(|(a, b)| &s[a..b]), Some("Lavrov warned"));
}

#[test]
fn roles_name_the_lead_actor_alone_and_with_each_cue() {
    let mut f = featurizer(true, true, false);
    f.roles = true;
    // Real corpus sentences: who comes first decides the lead.
    let u = f.analyze("Russia has refused to sell Su-33 fighters to China.");
    assert_eq!(count(&u, "#lead:russia"), 1, "{u:?}");
    assert_eq!(count(&u, "#lead:russia+friction"), 1, "{u:?}");
    assert!(!u.iter().any(|x| x.starts_with("#lead:china")), "{u:?}");
    let u = f.analyze("The G7 warned China to stop supplying Russia with parts for its war.");
    assert_eq!(count(&u, "#lead:west"), 1, "{u:?}");
    assert_eq!(count(&u, "#lead:west+pressure"), 1, "{u:?}");
    // No actor, no lead.
    let u = f.analyze("To continue, upgrade to a supported browser.");
    assert!(!u.iter().any(|x| x.starts_with("#lead:")), "{u:?}");
    // Off unless asked for.
    let u = units("Russia has refused to sell Su-33 fighters to China.");
    assert!(!u.iter().any(|x| x.starts_with("#lead:")), "{u:?}");
}

#[test]
fn roles_survive_fit_and_transform_with_their_evidence_name() {
    let mut f = featurizer(true, true, false);
    f.roles = true;
    let f = f.min_df(stance::features::DfBound::Count(1));
    let train = [
        "Russia has refused to sell Su-33 fighters to China.",
        "The G7 warned China to stop supplying Russia.",
    ];
    let fitted = f.fit(&train).unwrap();
    let i = fitted
        .vocabulary()
        .iter()
        .position(|t| t == "#lead:russia+friction")
        .expect("lead term in the vocabulary");
    assert_eq!(fitted.display()[i], "lead: russia + friction");
    let x = fitted.transform("Moscow refused the deal.");
    assert!(
        x.iter().any(|(j, _)| j == i),
        "transform finds the lead term"
    );
    let x = fitted.transform("Beijing refused the deal.");
    assert!(
        !x.iter().any(|(j, _)| j == i),
        "another lead is another term"
    );
}
