#!/usr/bin/env python3
"""Scaling of `stance score`: threads and memory, on the real news corpus.

Run through `make bench-scale` (standard library only). Writes every article
of the news corpus ($STANCE_BENCH_CORPUS or ../shared/bench/news-articles.csv)
as a .txt file, then times `stance score` over
  * one copy with --threads 1 and --threads 2 (throughput ratio), and
  * one copy and 20 copies (peak resident memory: scoring streams, so memory
    should not grow with the input),
and prints a Markdown table. Each timing is the best of three runs.
"""
import csv
import os
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
STANCE = os.path.join(ROOT, "target", "release", "stance")
CORPUS = os.environ.get(
    "STANCE_BENCH_CORPUS", os.path.join(ROOT, "..", "shared", "bench", "news-articles.csv")
)
COPIES = 20


def run(args):
    """Runs stance; returns (seconds, peak RSS in MiB of that child)."""
    start = time.perf_counter()
    # Each run is a fresh process; ru_maxrss of the children is a running
    # maximum, so measure through a wrapper that reports its own child's peak.
    wrapper = (
        "import resource,subprocess,sys;"
        "r=subprocess.run(sys.argv[1:],stdout=subprocess.DEVNULL,stderr=subprocess.DEVNULL);"
        "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss);"
        "sys.exit(r.returncode)"
    )
    out = subprocess.run(
        [sys.executable, "-c", wrapper, STANCE, *args], check=True, stdout=subprocess.PIPE, text=True
    )
    seconds = time.perf_counter() - start
    return seconds, int(out.stdout.strip()) / 1024


def best(args, n=3):
    runs = [run(args) for _ in range(n)]
    return min(r[0] for r in runs), max(r[1] for r in runs)


def main():
    csv.field_size_limit(1 << 30)
    if not os.path.exists(CORPUS):
        sys.exit(f"news corpus not found at {CORPUS} (set STANCE_BENCH_CORPUS)")
    subprocess.run(["cargo", "build", "--release", "-q"], check=True, cwd=ROOT)
    with tempfile.TemporaryDirectory() as tmp:
        one = os.path.join(tmp, "one")
        many = os.path.join(tmp, "many")
        os.makedirs(one)
        with open(CORPUS, newline="", encoding="utf-8") as f:
            articles = [row["text"] for row in csv.DictReader(f)]
        for i, text in enumerate(articles):
            with open(os.path.join(one, f"{i:04d}.txt"), "w", encoding="utf-8") as out:
                out.write(text)
        nbytes = sum(len(a.encode("utf-8")) for a in articles)
        for c in range(COPIES):
            d = os.path.join(many, f"copy{c:02d}")
            os.makedirs(d)
            for name in os.listdir(one):
                os.link(os.path.join(one, name), os.path.join(d, name))
        model = os.path.join(ROOT, "models", "stance.json")
        base = ["score", "--model", model, "--out", os.devnull]
        t1, m1 = best(base + ["--threads", "1", one])
        t2, m2 = best(base + ["--threads", "2", one])
        t20_1, m20_1 = best(base + ["--threads", "1", many])
        t20, m20 = best(base + ["--threads", "2", many])
    mb = nbytes / 1e6
    print()
    print(f"corpus: {CORPUS} — {len(articles)} articles, {mb:.2f} MB; "
          f"`stance score` end to end (read, segment, featurize, predict, write CSV)")
    print()
    print("| run | input | wall time | throughput | peak RSS |")
    print("|---|---|---:|---:|---:|")
    print(f"| 1 thread | 1 copy | {t1:.3f} s | {mb / t1:.1f} MB/s | {m1:.1f} MiB |")
    print(f"| 2 threads | 1 copy | {t2:.3f} s | {mb / t2:.1f} MB/s | {m2:.1f} MiB |")
    print(f"| 1 thread | {COPIES} copies | {t20_1:.3f} s | {COPIES * mb / t20_1:.1f} MB/s | {m20_1:.1f} MiB |")
    print(f"| 2 threads | {COPIES} copies | {t20:.3f} s | {COPIES * mb / t20:.1f} MB/s | {m20:.1f} MiB |")
    print()
    print(f"2 threads vs 1 ({COPIES} copies): {t20_1 / t20:.2f}x throughput")
    print(f"{COPIES} copies vs 1 (2 threads): {m20 / m2:.2f}x peak memory")


if __name__ == "__main__":
    main()
