#!/usr/bin/env python3
"""Runs spark/score_archive.py in local[2] mode on the seed articles and
checks that its predictions equal those of a plain `stance score` run on the
same articles, row for row. Run through `make test-spark`."""
import csv
import glob
import json
import os
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# The binary `make test-spark` built (the Makefile's STANCE).
STANCE = os.environ.get("STANCE") or os.path.join(ROOT, "target", "release", "stance")


def read_csv(path):
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def main():
    seeds = sorted(glob.glob(os.path.join(ROOT, "seeds", "*.txt")))
    failures = []
    with tempfile.TemporaryDirectory() as tmp:
        archive = os.path.join(tmp, "seeds.jsonl")
        with open(archive, "w", encoding="utf-8") as f:
            for path in seeds:
                with open(path, encoding="utf-8") as s:
                    text = s.read()
                doc_id = os.path.splitext(os.path.basename(path))[0]
                record = {"doc_id": doc_id, "text": text, "source": path}
                f.write(json.dumps(record, ensure_ascii=False) + "\n")
        expected_path = os.path.join(tmp, "expected.csv")
        subprocess.run([STANCE, "score", "--out", expected_path, *seeds], check=True)
        out = os.path.join(tmp, "out")
        run = subprocess.run(
            [sys.executable, os.path.join(ROOT, "spark", "score_archive.py"),
             "--master", "local[2]", "--partitions", "2",
             "--input", archive, "--output", out, "--stance", STANCE],
            check=True, stdout=subprocess.PIPE, text=True,
        )
        print(run.stdout.strip().splitlines()[-1])
        got = read_csv(glob.glob(os.path.join(out, "predictions", "part-*.csv"))[0])
        want = read_csv(expected_path)
        summary = read_csv(glob.glob(os.path.join(out, "summary", "part-*.csv"))[0])

    if len(got) != len(want):
        failures.append(f"{len(got)} rows from Spark, {len(want)} from stance score")
    for i, (g, w) in enumerate(zip(got, want)):
        for key in ("doc_id", "sentence_id", "start", "end", "text", "label", "evidence",
                    "date", "source", "title"):
            if g[key] != w[key]:
                failures.append(f"row {i + 1} {key}: {g[key]!r} != {w[key]!r}")
        for key in [k for k in w if k.startswith("p_")] + ["confidence"]:
            if abs(float(g[key]) - float(w[key])) > 1e-9:
                failures.append(f"row {i + 1} {key}: {g[key]} != {w[key]}")
    docs = [os.path.splitext(os.path.basename(p))[0] for p in seeds]
    if [r["doc_id"] for r in summary] != docs:
        failures.append(f"summary articles {[r['doc_id'] for r in summary]} != {docs}")
    if summary and list(summary[0])[-1] != "source":
        failures.append(f"summary columns end with {list(summary[0])[-1]!r}, not 'source' "
                        "as stance score --summary writes them")
    for r in summary:
        n = sum(1 for w in want if w["doc_id"] == r["doc_id"])
        if int(r["sentences"]) != n:
            failures.append(f"summary {r['doc_id']}: {r['sentences']} sentences, expected {n}")
        source = next((w["source"] for w in want if w["doc_id"] == r["doc_id"]), "")
        if r.get("source", "") != source:
            failures.append(f"summary {r['doc_id']}: source {r.get('source')!r}, expected {source!r}")
    if failures:
        print("\n".join(failures[:20]), file=sys.stderr)
        print(f"test-spark: 0 passed, 1 failed ({len(failures)} differences)")
        sys.exit(1)
    print(f"test-spark: 1 passed, 0 failed ({len(want)} rows identical)")


if __name__ == "__main__":
    main()
