# stance — common tasks. Run `make help` for the list.

CARGO   ?= cargo
STANCE  := target/release/stance
MODEL   ?= models/stance.json
OUT     ?= predictions.csv
INPUT   ?= seeds
EVAL    ?= labels

.PHONY: help build train score suggest review eval eval-seeds test fuzz test-spark test-report test-xlsx report-screenshots lint fmt golden bench bench-peer bench-scale doc clean

help:
	@echo "make score   score $(INPUT) with the shipped model -> $(OUT) (OUT=predictions.xlsx for the review workbook), its summary, chart and HTML report"
	@echo "make suggest the 50 sentences of INPUT the model is least sure about -> to-review.csv"
	@echo "make review  add the filled review cells of OUT (default predictions.csv; .xlsx too) to labels/reviewed.csv"
	@echo "make train   retrain $(MODEL) (and its model card) from labels/*.csv"
	@echo "make eval    metrics of $(MODEL) on EVAL=held-out.csv (default: labels/, i.e. training fit)"
	@echo "make eval-seeds  train on every label file but the seeds, evaluate on the seed articles"
	@echo "make test    lint + all tests"
	@echo "make fuzz    the property fuzzers (tests/fuzz.rs) with FUZZ_CASES cases each, bounded by FUZZ_TIME"
	@echo "make test-spark  score the seeds on Spark (local[2]) and compare with stance score"
	@echo "make test-report the HTML report in headless Chromium (installs Debian's chromium once)"
	@echo "make test-xlsx   the review workbook and the Excel CSV in headless LibreOffice Calc (installs Debian's libreoffice-calc-nogui once)"
	@echo "make report-screenshots  the README's screenshots of the report -> docs/"
	@echo "make lint    cargo fmt --check + clippy -D warnings + doc -D warnings"
	@echo "make golden  regenerate the golden files after an intended output change"
	@echo "make bench   Criterion benches of the featurizer, the sentence splitter and the scorer"
	@echo "make bench-peer  featurizer against scikit-learn on the same sentences"
	@echo "make bench-scale scoring with 1 and 2 threads, memory for 1 and 10 copies and one 200 MB article"

build:
	$(CARGO) build --release

# Off-topic news for the model card's off-topic measurement (never training
# data); taken when the shared benchmark corpora sit beside the checkout.
OFFTOPIC ?= $(wildcard ../shared/bench/news-articles.csv ../shared/bench/bbc-text.csv)

train: build
	$(STANCE) train --labels labels --model $(MODEL) $(addprefix --offtopic ,$(OFFTOPIC))
	$(STANCE) score --model $(MODEL) --out /dev/null --chart models/stance.seeds.svg seeds

score: build
	$(STANCE) score --model $(MODEL) --out $(OUT) --summary $(basename $(OUT)).summary.csv --chart $(basename $(OUT)).svg --report $(basename $(OUT)).html $(INPUT)

suggest: build
	$(STANCE) suggest --model $(MODEL) -n 50 --out to-review.csv $(INPUT)

review: build
	$(STANCE) review apply $(OUT)

eval: build
	@if [ "$(EVAL)" = "labels" ]; then echo "note: evaluating on the training labels measures fit, not generalisation; the cross-validated numbers are in models/stance.md" >&2; fi
	$(STANCE) eval --model $(MODEL) $(EVAL)

# The seed articles as held-out test text: a model with the shipped settings,
# trained on every label file but labels/seeds.csv, evaluated on the seeds.
EVAL_TRAIN := $(filter-out labels/seeds.csv labels/sources.csv,$(wildcard labels/*.csv))
eval-seeds: build
	tmp=$$(mktemp -d) && \
	$(STANCE) train --labels $(EVAL_TRAIN) --model $$tmp/m.json --no-select --roles --no-cv >/dev/null && \
	$(STANCE) eval --model $$tmp/m.json labels/seeds.csv; status=$$?; rm -rf $$tmp; exit $$status

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --all-targets -- -D warnings
	RUSTDOCFLAGS="-D warnings" $(CARGO) doc --no-deps --quiet

fmt:
	$(CARGO) fmt --all

test: lint
	$(CARGO) test

# Segmenter, tokenizer, CSV/JSONL readers and model loader on arbitrary
# bytes (tests/fuzz.rs), with many more cases than `make test` runs. Bounded:
# the run is stopped after FUZZ_TIME (a failure prints its minimal case).
FUZZ_CASES ?= 20000
FUZZ_TIME  ?= 300
fuzz:
	$(CARGO) test --release --test fuzz --no-run
	PROPTEST_CASES=$(FUZZ_CASES) timeout $(FUZZ_TIME) $(CARGO) test --release --test fuzz; \
	status=$$?; if [ $$status -eq 124 ]; then echo "fuzz: stopped after $(FUZZ_TIME)s, no failure found"; else exit $$status; fi

# Apache Spark (PySpark from the package registry; Java 17 is on the machine).
VENV_SPARK := .venv-spark
$(VENV_SPARK)/.installed:
	python3 -m venv $(VENV_SPARK)
	$(VENV_SPARK)/bin/pip install --quiet "pyspark>=3.5,<5"
	touch $@

test-spark: $(VENV_SPARK)/.installed build
	STANCE=$(STANCE) $(VENV_SPARK)/bin/python spark/test_spark.py

# The HTML report in a real browser: Debian's Chromium, headless, without
# network features; tests/browser/check_report.py checks the DOM after the
# page's own script ran. Installing needs root and the Debian mirrors; a
# machine that has /usr/bin/chromium skips it.
CHROMIUM ?= /usr/bin/chromium
$(CHROMIUM):
	apt-get update && apt-get install -y chromium

test-report: build $(CHROMIUM)
	CHROMIUM=$(CHROMIUM) python3 tests/browser/check_report.py

# The review workbook in LibreOffice Calc, headless: Debian's
# libreoffice-calc-nogui without recommends; tests/office/check_xlsx.py
# converts the workbook and the --excel CSV and checks the text (Chinese
# characters, curly quotes), the numbers, the review dropdown and a review
# typed into a workbook LibreOffice saved. Installing needs root and the
# Debian mirrors; a machine that has /usr/bin/soffice skips it.
SOFFICE ?= /usr/bin/soffice
$(SOFFICE):
	apt-get update && apt-get install -y --no-install-recommends libreoffice-calc-nogui

test-xlsx: build $(SOFFICE)
	STANCE=$(STANCE) SOFFICE=$(SOFFICE) python3 tests/office/check_xlsx.py

report-screenshots: build $(CHROMIUM)
	CHROMIUM=$(CHROMIUM) python3 tests/browser/check_report.py --screenshots docs

bench:
	$(CARGO) bench --bench featurize

# scikit-learn and PyStemmer in a local virtual environment. PyStemmer 2.2
# bundles the Snowball English stemmer that rust-stemmers implements
# (Snowball 3 stems e.g. "international" and "organization" differently),
# so both sides build the same vocabulary and the comparison is like for like.
VENV := .venv
$(VENV)/.installed:
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install --quiet "scikit-learn>=1.3" "PyStemmer==2.2.0.3"
	touch $@

# Regenerates the golden files after an intended change: the predictions CSV
# and JSON lines of a model trained on the small fixture, and the
# scikit-learn TF-IDF cases.
# Tests only compare; they never write their own expectations.
golden: build $(VENV)/.installed
	tmp=$$(mktemp -d) && \
	$(STANCE) train --labels tests/fixtures/small.csv --model $$tmp/fixture.json --no-select >/dev/null && \
	$(STANCE) score --model $$tmp/fixture.json --out tests/golden/score_003_fixture_model.csv seeds/003_8c61eab635a33c70.txt && \
	$(STANCE) score --model $$tmp/fixture.json --format jsonl --out tests/golden/score_003_fixture_model.jsonl seeds/003_8c61eab635a33c70.txt && \
	rm -rf $$tmp
	$(VENV)/bin/python tests/golden/gen_sklearn_tfidf.py

bench-peer: $(VENV)/.installed
	$(CARGO) build --release --bins --benches
	$(VENV)/bin/python benches/peer.py

bench-scale:
	python3 benches/scale.py

doc:
	$(CARGO) doc --no-deps

clean:
	$(CARGO) clean
	rm -f $(OUT) $(basename $(OUT)).summary.csv $(basename $(OUT)).svg $(basename $(OUT)).html to-review.csv
