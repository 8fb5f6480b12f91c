#!/usr/bin/env python3
"""Score a JSONL archive of articles with stance on Apache Spark.

Each input line is one article: {"doc_id": "...", "text": "..."} (the whole
article in "text"). Spark splits the archive into partitions; every
partition is streamed through the `stance` binary (shipped to the executors
with SparkContext.addFile, together with the model file), which reads JSONL
records on stdin and writes one JSON object per sentence on stdout. The job
then writes the per-sentence predictions (CSV or Parquet, in archive order)
and a per-article summary, and prints its throughput.

Locally:
    python spark/score_archive.py --master 'local[2]' --input archive.jsonl --output out/
On a cluster:
    spark-submit --master yarn --deploy-mode cluster spark/score_archive.py \\
        --input hdfs:///news/archive.jsonl --output hdfs:///news/scored \\
        --stance target/release/stance --model models/stance.json --partitions 400
"""
import argparse
import json
import os
import subprocess
import sys
import threading
import time

from pyspark import SparkFiles
from pyspark.sql import SparkSession
from pyspark.sql import functions as F


def parse_args(argv):
    here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--input", required=True, help="JSONL archive (local path, hdfs://, s3a://, …)")
    p.add_argument("--output", required=True, help="output folder: predictions/ and summary/")
    p.add_argument("--model", default=os.path.join(here, "models", "stance.json"))
    p.add_argument("--stance", default=os.path.join(here, "target", "release", "stance"),
                   help="the stance binary, built for the executors' platform")
    p.add_argument("--master", default=None, help="Spark master (default: from spark-submit)")
    p.add_argument("--partitions", type=int, default=None,
                   help="partitions to score in (default: Spark's default parallelism)")
    p.add_argument("--output-format", choices=["csv", "parquet"], default="csv")
    return p.parse_args(argv)


def prepare(pair):
    """(line, index) -> (doc_id, index, line), giving records without a doc_id
    one from their line number, so every sentence can be put back in order."""
    line, index = pair
    try:
        record = json.loads(line)
    except ValueError:
        return (None, index, line)  # stance reports it and skips it
    if not isinstance(record, dict):
        return (None, index, line)
    if not record.get("doc_id"):
        record["doc_id"] = f"line-{index + 1}"
        line = json.dumps(record, ensure_ascii=False)
    return (str(record["doc_id"]), index, line)


def score_partition(lines, stance_name, model_name):
    """Streams one partition's records through stance; yields its JSON rows."""
    stance = SparkFiles.get(stance_name)
    model = SparkFiles.get(model_name)
    if not os.access(stance, os.X_OK):
        os.chmod(stance, 0o755)  # addFile does not always keep the mode
    proc = subprocess.Popen(
        [stance, "score", "--model", model, "--input-format", "jsonl", "--format", "jsonl",
         "--threads", "1", "-"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE,
    )

    def feed():
        try:
            for line in lines:
                proc.stdin.write(line.encode("utf-8") + b"\n")
        finally:
            proc.stdin.close()

    writer = threading.Thread(target=feed, daemon=True)
    writer.start()
    for row in proc.stdout:
        yield row.decode("utf-8")
    writer.join()
    code = proc.wait()
    # 1 means some records were malformed and skipped (stance said which on
    # stderr, in the executor's log); anything else is a failure.
    if code not in (0, 1):
        raise RuntimeError(f"stance exited with {code}")


def main(argv):
    args = parse_args(argv)
    builder = (
        SparkSession.builder.appName("stance-score-archive")
        .config("spark.ui.showConsoleProgress", "false")
    )
    if args.master:
        builder = builder.master(args.master)
    if args.partitions:
        builder = builder.config("spark.sql.shuffle.partitions", str(args.partitions))
    spark = builder.getOrCreate()
    sc = spark.sparkContext
    sc.setLogLevel("WARN")
    with open(args.model, encoding="utf-8") as f:
        classes = json.load(f)["classes"]
    sc.addFile(args.stance)
    sc.addFile(args.model)
    stance_name = os.path.basename(args.stance)
    model_name = os.path.basename(args.model)

    start = time.perf_counter()
    records = sc.textFile(args.input).zipWithIndex().map(prepare).cache()
    order = spark.createDataFrame(
        records.filter(lambda r: r[0] is not None).map(lambda r: (r[0], r[1])),
        "doc_id string, _order long",
    )
    lines = records.map(lambda r: r[2])
    if args.partitions:
        lines = lines.repartition(args.partitions)
    scored = lines.mapPartitions(lambda it: score_partition(it, stance_name, model_name))
    prob_cols = [f"p_{c}" for c in classes]
    schema = (
        "doc_id string, sentence_id long, start long, `end` long, text string, label string, "
        "confidence double, " + ", ".join(f"`{c}` double" for c in prob_cols)
        + ", evidence string, date string, source string, title string"
    )
    rows = spark.read.schema(schema).json(scored)
    columns = ["doc_id", "sentence_id", "start", "end", "text", "label", "confidence",
               *prob_cols, "evidence", "date", "source", "title"]
    predictions = (
        rows.join(order, "doc_id")
        .orderBy("_order", "sentence_id")
        .select(*columns, "_order")
        .cache()
    )
    summary = predictions.groupBy("doc_id", "_order").agg(
        F.count("*").alias("sentences"),
        *[agg for c in classes for agg in (
            F.sum((F.col("label") == c).cast("long")).alias(f"n_{c}"),
            F.avg((F.col("label") == c).cast("double")).alias(f"share_{c}"),
            F.avg(f"p_{c}").alias(f"mean_p_{c}"),
        )],
        # Last, as `stance score --summary` writes it.
        F.first("source", ignorenulls=True).alias("source"),
    ).orderBy("_order").drop("_order")
    out_predictions = os.path.join(args.output, "predictions")
    out_summary = os.path.join(args.output, "summary")
    if args.output_format == "parquet":
        predictions.drop("_order").write.mode("overwrite").parquet(out_predictions)
        summary.write.mode("overwrite").parquet(out_summary)
    else:
        # RFC 4180 quoting, as `stance score` writes.
        csv_options = {"header": True, "quote": '"', "escape": '"'}
        predictions.drop("_order").coalesce(1).write.mode("overwrite").options(
            **csv_options).csv(out_predictions)
        summary.coalesce(1).write.mode("overwrite").options(**csv_options).csv(out_summary)
    n_sentences = predictions.count()
    n_records = records.count()
    n_bytes = records.map(lambda r: len(r[2].encode("utf-8")) + 1).sum()
    seconds = time.perf_counter() - start
    print(
        f"scored {n_sentences} sentences from {n_records} records ({n_bytes / 1e6:.2f} MB) in "
        f"{seconds:.1f} s: {n_bytes / 1e6 / seconds:.2f} MB/s, {n_sentences / seconds:.0f} "
        f"sentences/s; wrote {out_predictions} and {out_summary}",
        flush=True,
    )
    spark.stop()


if __name__ == "__main__":
    main(sys.argv[1:])
