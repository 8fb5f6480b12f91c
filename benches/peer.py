#!/usr/bin/env python3
"""Featurizer throughput, stance against scikit-learn, on the same sentences.

Run through `make bench-peer`, which creates .venv with scikit-learn and
PyStemmer. Both sides fit their vocabulary on the labelled sentences in
labels/ and transform the sentences of the news corpus, one thread each:

* scikit-learn: TfidfVectorizer with a tokenizer that lowercases, splits on
  non-alphanumerics, drops one-letter ASCII words and stop words and stems
  with PyStemmer (Snowball English), ngram_range=(1, 2), sublinear_tf=True and
  the same min_df; `transform` is timed.
* stance: the same settings (`benches/peer.rs`), and, for information, the
  shipped model's settings with the actor, cue and negation stages.

It also checks that both produce the same vocabulary and the same vectors
(to 1e-9), so the comparison is between equal work.

Each featurizer is timed in ROUNDS rounds (PEER_ROUNDS, 3 by default),
each the best of REPEATS transforms (PEER_REPEATS, 10); the figure is the
median round. stance's ten transforms take a tenth of a second, so one
stall of the machine that long spoiled a whole single round (a run read
277 MB/s where the runs before and after read 365-375); scikit-learn's
take five seconds. The median of three rounds, on both sides alike, sets
one such round aside, fast or slow.

End to end, both sides score the same sentence CSV (the news corpus split by
stance, `doc_id,text`) into a predictions CSV with one row per sentence and
its class probabilities, one thread each, the best of REPEATS runs, the
scorers taking turns run by run:

* scikit-learn: read the CSV, `transform`, `LogisticRegression.predict_proba`
  (fitted on the same labelled sentences), write the rows; timed inside the
  Python process (interpreter start and imports not counted);
* stance: `stance score --threads 1` with a model trained on the same labels
  with the same plain settings (no lexicon stages, no off-topic gate); the
  whole process is timed, model loading included, and it writes more (the
  confidence and the evidence of every row); and the same with
  `--evidence 0`, which leaves the evidence out (scikit-learn computes
  none).

Prints Markdown tables. With STANCE_PEER_KEEP=<dir>, the end-to-end inputs
(test.csv, and plain.json, the model stance scores it with) are copied into
<dir> for profiling the same run, e.g. under callgrind.
"""
import csv
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[var] = "1"

import Stemmer  # noqa: E402  (PyStemmer)
from sklearn.feature_extraction.text import TfidfVectorizer  # noqa: E402

REPEATS = int(os.environ.get("PEER_REPEATS", "10"))
ROUNDS = int(os.environ.get("PEER_ROUNDS", "3"))


ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
STANCE = os.environ.get("STANCE", os.path.join(ROOT, "target", "release", "stance"))


def cargo_peer(*args):
    out = subprocess.run(
        ["cargo", "bench", "-q", "--bench", "peer", "--", *args],
        check=True,
        stdout=subprocess.PIPE,
        text=True,
    )
    return out.stdout


def make_tokenizer(stop_words):
    stemmer = Stemmer.Stemmer("english")
    stop = set(stop_words)
    word = re.compile(r"[^\W_]+")

    def tokenize(text):
        words = [
            w
            for w in word.findall(text.lower())
            if not (len(w) == 1 and w.isascii()) and w not in stop
        ]
        return stemmer.stemWords(words)

    return tokenize


def main():
    csv.field_size_limit(1 << 30)
    with tempfile.TemporaryDirectory() as tmp:
        cargo_peer("export", tmp)
        with open(os.path.join(tmp, "settings.json")) as f:
            settings = json.load(f)
        with open(os.path.join(tmp, "train.txt"), encoding="utf-8", newline="") as f:
            train = f.read().split("\n")[:-1]
        with open(os.path.join(tmp, "test.txt"), encoding="utf-8", newline="") as f:
            test = f.read().split("\n")[:-1]
        nbytes = sum(len(s.encode("utf-8")) for s in test)

        vec = TfidfVectorizer(
            tokenizer=make_tokenizer(settings["stop_words"]),
            token_pattern=None,
            lowercase=False,
            ngram_range=tuple(settings["ngram_range"]),
            min_df=settings["min_df"],
            max_df=settings["max_df"],
            sublinear_tf=settings["sublinear_tf"],
            smooth_idf=True,
            norm="l2",
        )
        vec.fit(train)
        sk_rounds = []
        for _ in range(ROUNDS):
            best = float("inf")
            for _ in range(REPEATS):
                start = time.perf_counter()
                matrix = vec.transform(test)
                best = min(best, time.perf_counter() - start)
            sk_rounds.append(best)
        sk = {"seconds": statistics.median(sk_rounds), "vocabulary": len(vec.vocabulary_),
              "nnz": matrix.nnz}

        with open(os.path.join(tmp, "train_labels.txt"), encoding="utf-8") as f:
            train_labels = f.read().split("\n")[:-1]
        sk_e2e, st_e2e, st_bare = end_to_end(tmp, vec, train, train_labels)
        keep = os.environ.get("STANCE_PEER_KEEP")
        if keep:
            os.makedirs(keep, exist_ok=True)
            for name in ("test.csv", "plain.json"):
                shutil.copyfile(os.path.join(tmp, name), os.path.join(keep, name))

        measured = [json.loads(cargo_peer("measure", tmp, str(REPEATS))) for _ in range(ROUNDS)]
        st, shipped = ({
            **measured[0][which],
            "seconds": statistics.median(m[which]["seconds"] for m in measured),
        } for which in ("plain", "shipped"))

        # Agreement: same vocabulary, same vectors on the first 200 sentences.
        ours = json.loads(cargo_peer("vectors", tmp))
        theirs_vocab = sorted(vec.vocabulary_, key=vec.vocabulary_.get)
        agree_vocab = ours["vocabulary"] == theirs_vocab
        worst = 0.0
        for i, row in enumerate(ours["rows"]):
            theirs = {
                theirs_vocab[j]: v
                for j, v in zip(matrix[i].indices, matrix[i].data)
            }
            mine = dict((t, v) for t, v in row)
            for term in set(theirs) | set(mine):
                worst = max(worst, abs(theirs.get(term, 0.0) - mine.get(term, 0.0)))

    mb = nbytes / 1e6
    sk_mbs = mb / sk["seconds"]
    st_mbs = mb / st["seconds"]
    n = len(test)
    print()
    print(f"corpus: {settings['corpus']} — {n} sentences, {mb:.2f} MB; "
          f"vocabulary fitted on {len(train)} labelled sentences; median of {ROUNDS} rounds, "
          f"each the best of {REPEATS}, one thread")
    print()
    print("| featurizer | MB/s | sentences/s | vocabulary | non-zeros |")
    print("|---|---:|---:|---:|---:|")
    print(f"| scikit-learn TfidfVectorizer + PyStemmer | {sk_mbs:.1f} | {n / sk['seconds']:,.0f} "
          f"| {sk['vocabulary']} | {sk['nnz']} |")
    print(f"| stance | {st_mbs:.1f} | {n / st['seconds']:,.0f} | {st['vocabulary']} | {st['nnz']} |")
    sh_mbs = mb / shipped["seconds"]
    print(f"| stance, shipped settings (actors, cues, roles) | {sh_mbs:.1f} | "
          f"{n / shipped['seconds']:,.0f} | {shipped['vocabulary']} | {shipped['nnz']} |")
    print()
    print(f"ratio: stance is {st_mbs / sk_mbs:.1f}x scikit-learn "
          f"({sh_mbs / sk_mbs:.1f}x with the lexicon stages, which scikit-learn lacks)")
    print(f"agreement: vocabulary {'identical' if agree_vocab else 'DIFFERS'}, "
          f"largest vector difference {worst:.2e}")
    n_rows = st_e2e["rows"]
    print()
    print(f"end to end: {n_rows} sentences ({mb:.2f} MB of text) from a sentence CSV to a "
          f"predictions CSV; best of {REPEATS}, the scorers taking turns, one thread")
    print()
    print("| scorer | MB/s | sentences/s |")
    print("|---|---:|---:|")
    for name, r in (("scikit-learn: csv + transform + predict_proba + csv", sk_e2e),
                    ("stance score --threads 1 (whole process)", st_e2e),
                    ("stance score --threads 1 --evidence 0 (whole process)", st_bare)):
        print(f"| {name} | {mb / r['seconds']:.1f} | {n_rows / r['seconds']:,.0f} |")
    print()
    print(f"end-to-end ratio: stance is {sk_e2e['seconds'] / st_e2e['seconds']:.1f}x scikit-learn "
          f"({sk_e2e['seconds'] / st_bare['seconds']:.1f}x without evidence, which scikit-learn "
          f"does not compute)")
    for r in (st_e2e, st_bare):
        if sk_e2e["rows"] != r["rows"]:
            sys.exit(f"row counts differ: scikit-learn {sk_e2e['rows']}, stance {r['rows']}")
    if not agree_vocab or worst > 1e-9:
        sys.exit("the two featurizers disagree: the comparison is not like for like")


def end_to_end(tmp, vec, train, train_labels):
    """Times both sides scoring test.csv into a predictions CSV."""
    from sklearn.linear_model import LogisticRegression

    clf = LogisticRegression(max_iter=1000)
    clf.fit(vec.transform(train), train_labels)
    classes = list(clf.classes_)
    test_csv = os.path.join(tmp, "test.csv")

    def sklearn_once():
        start = time.perf_counter()
        with open(test_csv, newline="", encoding="utf-8") as f:
            rows = list(csv.reader(f))[1:]
        probabilities = clf.predict_proba(vec.transform([r[1] for r in rows]))
        best = probabilities.argmax(axis=1)
        with open(os.path.join(tmp, "sk.csv"), "w", newline="", encoding="utf-8") as f:
            w = csv.writer(f)
            w.writerow(["doc_id", "sentence_id", "text", "label", *[f"p_{c}" for c in classes]])
            doc, sid = None, 0
            for (doc_id, text), k, p in zip(rows, best, probabilities):
                sid = sid + 1 if doc_id == doc else 1
                doc = doc_id
                w.writerow([doc_id, sid, text, classes[k], *[f"{x:.6f}" for x in p]])
        return time.perf_counter() - start, len(rows)

    model = os.path.join(tmp, "plain.json")
    subprocess.run(
        [STANCE, "train", "--labels", os.path.join(ROOT, "labels"),
         "--classes", os.path.join(ROOT, "labels", "classes.txt"), "--model", model,
         "--no-select", "--no-cv", "--no-actors", "--no-cues", "--no-gate"],
        check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    out = os.path.join(tmp, "stance.csv")

    def stance(*flags):
        def once():
            start = time.perf_counter()
            subprocess.run(
                [STANCE, "score", "--model", model, "--threads", "1", *flags,
                 "--out", out, test_csv],
                check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            )
            seconds = time.perf_counter() - start
            with open(out, newline="", encoding="utf-8") as f:
                return seconds, sum(1 for _ in csv.reader(f)) - 1
        return once

    # The scorers take turns, so a slow spell of the machine (seconds long
    # here, where scikit-learn's ten runs take ten seconds and stance's
    # half of one) falls on all of them rather than on one side's runs.
    scorers = (sklearn_once, stance(), stance("--evidence", "0"))
    runs = [[] for _ in scorers]
    for _ in range(REPEATS):
        for once, mine in zip(scorers, runs):
            mine.append(once())
    return [{"seconds": min(r[0] for r in mine), "rows": mine[0][1]} for mine in runs]


if __name__ == "__main__":
    main()
