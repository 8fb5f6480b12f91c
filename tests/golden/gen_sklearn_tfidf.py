#!/usr/bin/env python3
"""Regenerates tests/golden/sklearn_tfidf.json: TF-IDF vectors computed by
scikit-learn's TfidfVectorizer (PyStemmer stems, stance's stop words and
word rule) for real seed sentences, which tests/sklearn_golden.rs compares
with stance's featurizer. Run with the bench environment:

    make .venv/.installed && .venv/bin/python tests/golden/gen_sklearn_tfidf.py
"""
import csv
import json
import os
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "benches"))
from peer import make_tokenizer  # noqa: E402  (same tokenizer as the peer bench)
from sklearn.feature_extraction.text import TfidfVectorizer  # noqa: E402


def main():
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(["cargo", "bench", "-q", "--bench", "peer", "--", "export", tmp],
                       check=True, cwd=ROOT, stdout=subprocess.DEVNULL)
        with open(os.path.join(tmp, "settings.json")) as f:
            stop_words = json.load(f)["stop_words"]
    with open(os.path.join(ROOT, "labels", "seeds.csv"), newline="", encoding="utf-8") as f:
        texts = [r["text"] for r in csv.DictReader(f)]
    train, test = texts[:150], texts[150:200]
    vec = TfidfVectorizer(tokenizer=make_tokenizer(stop_words), token_pattern=None,
                          lowercase=False, ngram_range=(1, 2), min_df=1, sublinear_tf=True,
                          smooth_idf=True, norm="l2")
    vec.fit(train)
    vocabulary = sorted(vec.vocabulary_, key=vec.vocabulary_.get)
    matrix = vec.transform(test)
    rows = []
    for i in range(len(test)):
        row = matrix[i]
        rows.append(sorted([[vocabulary[j], float(v)] for j, v in zip(row.indices, row.data)]))
    out = {
        "generator": "scikit-learn TfidfVectorizer(ngram_range=(1, 2), min_df=1, "
                     "sublinear_tf=True, smooth_idf=True, norm='l2'), PyStemmer english",
        "train": train,
        "test": test,
        "vocabulary": vocabulary,
        "idf": [float(x) for x in vec.idf_],
        "rows": rows,
    }
    with open(os.path.join(ROOT, "tests", "golden", "sklearn_tfidf.json"), "w",
              encoding="utf-8") as f:
        json.dump(out, f, ensure_ascii=False, indent=0)
        f.write("\n")


if __name__ == "__main__":
    main()
