#!/usr/bin/env python3
"""Regenerates tests/golden/sklearn_tfidf.json: TF-IDF vocabularies, idf
values and vectors computed by scikit-learn's TfidfVectorizer for real seed
sentences, under several settings, which tests/sklearn_golden.rs compares
with stance's featurizer.

Runs from a plain checkout (no benchmark corpus, no cargo): the stop words
are read from src/tokenize.rs and the test checks they are stance's. Needs
scikit-learn and PyStemmer 2.2 (the Snowball stemmer rust-stemmers
implements), e.g. `make golden`, which installs them into .venv.
"""
import csv
import json
import os
import re

import Stemmer
from sklearn.feature_extraction.text import TfidfVectorizer

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# (name, TfidfVectorizer settings). min_df / max_df given as floats are
# proportions: scikit-learn compares the document frequency with the
# unrounded product (e.g. 0.7 * 9 sentences = 6.3).
CASES = [
    ("bigrams, counts", dict(ngram_range=(1, 2), min_df=1, max_df=1.0, sublinear_tf=True)),
    ("min_df as a proportion", dict(ngram_range=(1, 2), min_df=0.013, max_df=1.0,
                                    sublinear_tf=True)),
    ("max_df below 1", dict(ngram_range=(1, 1), min_df=1, max_df=0.05, sublinear_tf=False)),
    ("both proportions, trigrams", dict(ngram_range=(1, 3), min_df=0.007, max_df=0.3,
                                        sublinear_tf=True)),
    ("max_df as a count", dict(ngram_range=(1, 2), min_df=2, max_df=4, sublinear_tf=False)),
]


def stop_words():
    source = open(os.path.join(ROOT, "src", "tokenize.rs"), encoding="utf-8").read()
    body = re.search(r"ENGLISH_STOP_WORDS: &\[&str\] = &\[(.*?)\];", source, re.S).group(1)
    return re.findall(r'"([^"]*)"', body)


def make_tokenizer(stop):
    stemmer = Stemmer.Stemmer("english")
    stop = set(stop)
    word = re.compile(r"[^\W_]+")

    def tokenize(text):
        words = [w for w in word.findall(text.lower())
                 if not (len(w) == 1 and w.isascii()) and w not in stop]
        return stemmer.stemWords(words)

    return tokenize


def main():
    stop = stop_words()
    with open(os.path.join(ROOT, "labels", "seeds.csv"), newline="", encoding="utf-8") as f:
        texts = [r["text"] for r in csv.DictReader(f)]
    train, test = texts[:150], texts[150:200]
    cases = []
    for name, settings in CASES:
        vec = TfidfVectorizer(tokenizer=make_tokenizer(stop), token_pattern=None,
                              lowercase=False, smooth_idf=True, norm="l2", **settings)
        vec.fit(train)
        vocabulary = sorted(vec.vocabulary_, key=vec.vocabulary_.get)
        matrix = vec.transform(test)
        rows = []
        for i in range(len(test)):
            row = matrix[i]
            rows.append(sorted([[vocabulary[j], float(v)] for j, v in zip(row.indices, row.data)]))
        cases.append({
            "name": name,
            "ngram_range": list(settings["ngram_range"]),
            "min_df": settings["min_df"],
            "max_df": settings["max_df"],
            "sublinear_tf": settings["sublinear_tf"],
            "vocabulary": vocabulary,
            "idf": [float(x) for x in vec.idf_],
            "rows": rows,
        })
    out = {
        "generator": "scikit-learn TfidfVectorizer(smooth_idf=True, norm='l2', settings per "
                     "case), PyStemmer english; tests/golden/gen_sklearn_tfidf.py",
        "stop_words": stop,
        "train": train,
        "test": test,
        "cases": cases,
    }
    with open(os.path.join(ROOT, "tests", "golden", "sklearn_tfidf.json"), "w",
              encoding="utf-8") as f:
        json.dump(out, f, ensure_ascii=False, indent=0)
        f.write("\n")


if __name__ == "__main__":
    main()
