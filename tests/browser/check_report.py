#!/usr/bin/env python3
"""The HTML report in a real browser.

Scores the seed articles and the dated fixture articles
(tests/fixtures/dated.csv) with --report, opens the page in headless
Chromium (--dump-dom: the DOM after the page's own script ran) and checks:

- every row of the predictions CSV is one sentence on the page, once, with
  its doc_id, sentence_id, label class and text;
- the trend has one period per week from the first date to the last, each
  non-empty one a point per label;
- the hostile doc_id and sentences of the fixture render as text: no <img>,
  no script but the page's own, which did run (the filters are shown) under
  the page's Content-Security-Policy.

With --screenshots DIR it also writes DIR/report-overview.png and
DIR/report-article.png. Standard library only.
"""

import argparse
import csv
import datetime
import html.parser
import os
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
STANCE = os.path.join(ROOT, "target", "release", "stance")
FIXTURE = os.path.join("tests", "fixtures", "dated.csv")  # from ROOT
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta",
        "source", "track", "wbr"}
FORMULA_START = "=+-@\t\r"


class Node:
    def __init__(self, tag, attrs, parent):
        self.tag, self.attrs, self.parent = tag, dict(attrs), parent
        self.children = []

    def text(self):
        return "".join(c if isinstance(c, str) else c.text() for c in self.children)

    def classes(self):
        return (self.attrs.get("class") or "").split()

    def walk(self):
        yield self
        for c in self.children:
            if isinstance(c, Node):
                yield from c.walk()

    def find(self, pred):
        return [n for n in self.walk() if pred(n)]


class Tree(html.parser.HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.root = Node("#root", {}, None)
        self.cur = self.root

    def handle_starttag(self, tag, attrs):
        node = Node(tag, attrs, self.cur)
        self.cur.children.append(node)
        if tag not in VOID:
            self.cur = node

    def handle_startendtag(self, tag, attrs):
        self.cur.children.append(Node(tag, attrs, self.cur))

    def handle_endtag(self, tag):
        n = self.cur
        while n is not None and n.tag != tag:
            n = n.parent
        if n is not None and n.parent is not None:
            self.cur = n.parent

    def handle_data(self, data):
        self.cur.children.append(data)


def unprotect(cell):
    """Undoes the spreadsheet-formula guard of the predictions CSV."""
    if len(cell) >= 2 and cell[0] == "'" and (cell[1] in FORMULA_START or cell[1] == "'"):
        return cell[1:]
    return cell


def chromium(*args):
    # A fresh profile each run, removed afterwards: Chromium writes a few
    # megabytes into it.
    with tempfile.TemporaryDirectory(prefix="stance-chromium-") as profile:
        out = subprocess.run([CHROMIUM, *FLAGS, f"--user-data-dir={profile}", *args],
                             capture_output=True, text=True, timeout=120)
    if out.returncode != 0:
        sys.exit(f"chromium failed ({out.returncode}): {out.stderr[-2000:]}")
    return out.stdout


def expected_weeks(path):
    days = []
    with open(os.path.join(ROOT, path), newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            if row.get("date", "").strip():
                days.append(datetime.date.fromisoformat(row["date"].strip()[:10]))
    assert (max(days) - min(days)).days <= 120, "the fixture is meant to be drawn by week"
    monday = min(days) - datetime.timedelta(days=min(days).weekday())
    weeks = []
    while monday <= max(days):
        weeks.append(monday.isoformat())
        monday += datetime.timedelta(days=7)
    return weeks


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--screenshots", help="folder for report-overview.png and report-article.png")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="stance-report-") as tmp:
        check_report(tmp, args.screenshots)


def check_report(tmp, screenshots):
    problems = []

    def check(ok, message):
        if not ok:
            problems.append(message)

    predictions, page = os.path.join(tmp, "predictions.csv"), os.path.join(tmp, "report.html")
    subprocess.run([STANCE, "score", "--out", predictions, "--report", page,
                    "seeds", FIXTURE], cwd=ROOT, check=True)
    with open(predictions, newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    classes = None
    with open(predictions, newline="", encoding="utf-8") as f:
        classes = [h[2:] for h in next(csv.reader(f)) if h.startswith("p_")]

    url = "file://" + page
    dom = chromium("--dump-dom", url)
    tree = Tree()
    tree.feed(dom)
    root = tree.root

    # Every sentence once, with its label class and text.
    spans = root.find(lambda n: n.tag == "span" and "s" in n.classes())
    check(len(spans) == len(rows), f"{len(spans)} sentences on the page, {len(rows)} rows")
    by_key = {}
    for s in spans:
        key = (s.attrs.get("data-doc-id"), s.attrs.get("data-sentence-id"))
        by_key.setdefault(key, []).append(s)
    for r in rows:
        key = (unprotect(r["doc_id"]), r["sentence_id"])
        found = by_key.get(key, [])
        if len(found) != 1:
            problems.append(f"{key}: on the page {len(found)} times")
            continue
        s = found[0]
        check("l-" + r["label"] in s.classes(), f"{key}: classes {s.classes()}, label {r['label']}")
        text = [c for c in s.children if isinstance(c, Node) and "t" in c.classes()]
        check(len(text) == 1 and text[0].text() == unprotect(r["text"]),
              f"{key}: text {text[0].text() if text else None!r} != {r['text']!r}")
        check(s.attrs.get("id", "").startswith("a"), f"{key}: no anchor id")

    # One period per week, first date to last; a point per label where
    # the week has sentences.
    weeks = expected_weeks(FIXTURE)
    periods = root.find(lambda n: n.tag == "g" and "period" in n.classes())
    got = [p.attrs.get("data-period") for p in periods]
    check(got == weeks, f"trend periods {got}, expected {weeks}")
    for p in periods:
        points = p.find(lambda n: n.tag == "circle")
        n = int(p.attrs.get("data-sentences", "-1"))
        want = len(classes) if n > 0 else 0
        check(len(points) == want, f"period {p.attrs.get('data-period')}: {len(points)} points, {n} sentences")

    # Hostile input renders as text.
    hostile_doc = "<script>alert('doc')</script>"
    headings = [h.text() for h in root.find(lambda n: n.tag == "h3")]
    check(any(h.startswith(hostile_doc) for h in headings), "hostile doc_id heading not shown as text")
    check(not root.find(lambda n: n.tag == "img"), "an <img> element was created from the input")
    scripts = root.find(lambda n: n.tag == "script")
    check(len(scripts) == 1, f"{len(scripts)} script elements, expected the page's own only")
    sentences = [t.text() for t in root.find(lambda n: "t" in n.classes())]
    check(any(t.startswith('"><img src=x onerror=') for t in sentences),
          "hostile sentence not shown as text")
    check(any(t.startswith("<script>alert('second')</script>") for t in sentences),
          "hostile script sentence not shown as text")
    filters = root.find(lambda n: n.attrs.get("id") == "filters")
    check(len(filters) == 1 and "hidden" not in filters[0].attrs,
          "the filter script did not run (filters still hidden)")

    if screenshots:
        os.makedirs(screenshots, exist_ok=True)
        overview = os.path.join(os.path.abspath(screenshots), "report-overview.png")
        chromium("--window-size=1200,1900", "--hide-scrollbars", f"--screenshot={overview}", url)
        # The seed article with the most divergence, shown alone by its anchor.
        article = next(a for a in root.find(lambda n: n.tag == "article")
                       if a.attrs.get("data-doc-id") == "002_4ee0aad5c8b25f11")
        shot = os.path.join(os.path.abspath(screenshots), "report-article.png")
        chromium("--window-size=1200,1100", "--hide-scrollbars", f"--screenshot={shot}",
                 url + "#" + article.attrs["id"])
        print(f"wrote {overview} and {shot}")

    if problems:
        print("\n".join(problems[:50]), file=sys.stderr)
        sys.exit(f"report browser test: {len(problems)} problem(s)")
    print(f"report browser test: {len(rows)} sentences, {len(weeks)} weeks, hostile input inert: ok")


if __name__ == "__main__":
    main()
