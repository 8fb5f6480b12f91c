#!/usr/bin/env python3
"""Scaling of `stance score`: threads and memory, for every input format.

Run through `make bench-scale` (standard library only). Takes every article
of the news corpus ($STANCE_BENCH_CORPUS or ../shared/bench/news-articles.csv)
and writes it in these forms:

  * text: a folder of .txt files, one per article;
  * csv: a sentence CSV (doc_id,text), split into sentences by stance itself;
  * jsonl: one {"doc_id", "text"} record per article;
  * html: a folder of saved web pages built as news sites build them: the
    article's paragraphs (cut at a sentence end every 600 characters or
    so, with a link or emphasis on some words) under its headline, inside
    a dozen layout wrappers, with what the page reader leaves out around
    them: stylesheets, a style block, scripts (one holding the page's
    state), a site header with a menu of 104 links, a search form, a news
    ticker, a cookie banner, a byline and lead picture, adverts, a
    related-stories box and a newsletter box within the article, tags and
    share buttons, comments, related stories and a footer of 40 links
    (before timing, the rows of one copy are checked to be each page's
    headline and article text, and nothing else);
  * markdown: a folder of .md files, YAML front matter and the paragraphs;
  * one article file: every article in one .txt file (read in parts);
  * one article, piped: that file piped to standard input by `cat` (held in
    a temporary file, then read in parts);

each once (1x) and ten times over (10x, with distinct doc_ids). For each
format it times `stance score` end to end (read, segment, featurize, predict,
write CSV) on the 10x input with --threads 1 and --threads 2, the two
alternating, and measures peak resident memory on the 1x and 10x inputs
with 2 threads: memory should not grow with the input. Throughput counts the article text (the same bytes
in every format). Each timing is the best of $SCALE_REPEATS runs (default 5).
Prints a Markdown table, then the peak memory of one article file of
$SCALE_ONE_FILE_MB MB (default 200) on a single line: memory should not grow
with the file either; then that of a sentence CSV of 60 copies of the
corpus's longest article written to a pipe that is read only after two
seconds: a slow reader of the output should not make memory grow with the
documents' size either.
"""
import csv
import html
import io
import json
import os
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
STANCE = os.environ.get("STANCE", os.path.join(ROOT, "target", "release", "stance"))
CORPUS = os.environ.get(
    "STANCE_BENCH_CORPUS", os.path.join(ROOT, "..", "shared", "bench", "news-articles.csv")
)
COPIES = 10
REPEATS = int(os.environ.get("SCALE_REPEATS", "5"))
MODEL = os.path.join(ROOT, "models", "stance.json")
ONE_FILE_MB = int(os.environ.get("SCALE_ONE_FILE_MB", "200"))
# Documents, and the pause before the output is read, of the slow-reader run.
LARGE_COPIES = 60
STALL_SECONDS = 2


def run(args, stdin=None):
    """Runs stance, its standard input piped from the file `stdin` by `cat`
    if given; returns (seconds, peak RSS in MiB of that child)."""
    # ru_maxrss of RUSAGE_CHILDREN is a running maximum over all children,
    # so each run goes through a fresh wrapper that has one child (and
    # `cat`, whose few pages are below stance's).
    wrapper = (
        "import resource,subprocess,sys,time;"
        "t=time.perf_counter();"
        "c=subprocess.Popen(['cat',sys.argv[1]],stdout=subprocess.PIPE) if sys.argv[1] else None;"
        "r=subprocess.run(sys.argv[2:],stdin=c.stdout if c else None,"
        "stdout=subprocess.DEVNULL,stderr=subprocess.PIPE);"
        "c and (c.stdout.close(),c.wait());"
        "t=time.perf_counter()-t;"
        "sys.stderr.buffer.write(r.stderr);"
        "print(t, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss);"
        "sys.exit(r.returncode)"
    )
    seconds, rss = wrapped(wrapper, args, before=[stdin or ""]).split()
    return float(seconds), int(rss) / 1024


def wrapped(wrapper, args, before=()):
    """Runs the Python `wrapper` with the arguments `before`, then stance's
    command line (`STANCE` and `args`); its output, or the end of the
    benchmark with stance's error if it failed."""
    out = subprocess.run(
        [sys.executable, "-c", wrapper, *before, STANCE, *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    if out.returncode != 0:
        sys.exit(f"stance {' '.join(args)} failed:\n{out.stderr}")
    return out.stdout


def stalled_peak(args, seconds):
    """Peak RSS in MiB of stance writing to a pipe that is read only after
    `seconds`: what a slow reader of the output makes it hold."""
    wrapper = (
        "import os,resource,shutil,subprocess,sys,time;"
        "p=subprocess.Popen(sys.argv[2:],stdout=subprocess.PIPE,stderr=subprocess.PIPE);"
        "time.sleep(float(sys.argv[1]));"
        "shutil.copyfileobj(p.stdout,open(os.devnull,'wb'));"
        "err=p.stderr.read();"
        "p.wait();"
        "sys.stderr.buffer.write(err);"
        "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss);"
        "sys.exit(p.returncode)"
    )
    return int(wrapped(wrapper, args, before=[str(seconds)])) / 1024


def large_documents_csv(sentences, path, copies):
    """A sentence CSV of `copies` copies of the longest document of the
    sentence CSV `sentences`, each with its own doc_id."""
    docs = {}
    with open(sentences, newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            docs.setdefault(row["doc_id"], []).append(row["text"])
    longest = max(docs.values(), key=lambda texts: sum(len(t) for t in texts))
    with open(path, "w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(["doc_id", "text"])
        for c in range(copies):
            for text in longest:
                w.writerow([f"long-{c}", text])


def best(args, stdin=None):
    runs = [run(args, stdin) for _ in range(REPEATS)]
    return min(r[0] for r in runs), max(r[1] for r in runs)


def paragraphs(article, every=600):
    """The article cut into paragraphs at the first sentence end (". ")
    after every `every` characters."""
    out, start = [], 0
    while start < len(article):
        cut = article.find(". ", start + every)
        end = len(article) if cut < 0 else cut + 1
        out.append(article[start:end].strip())
        start = end
    return [p for p in out if p]


SECTIONS = ["World", "Politics", "Business", "Technology", "Science", "Sport", "Culture", "Opinion"]

# What a news site puts on every page around the article: the parts that
# do not depend on it are built once.
SITE_HEAD = (
    '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
    + "".join(f'<link rel="stylesheet" href="/css/{n}.css">\n' for n in ("base", "grid", "article", "print"))
    + "<style>"
    + "".join(f".c{k}{{margin:{k}px 0;padding:0 {k}px;font:16px/1.5 serif;color:#{k:03x}}}\n" for k in range(60))
    + "</style>\n"
    + '<script>window.__STATE__ = {"flags": ['
    + ", ".join(f'{{"name": "flag{k}", "on": {str(k % 2 == 0).lower()}, "rollout": {k * 7 % 100}}}' for k in range(120))
    + "]};</script>\n"
)


def links(n, href, text):
    """`n` list items, each a link to `href(k)` reading `text(k)`."""
    return "".join(f'<li><a href="{href(k)}">{text(k)}</a></li>' for k in range(n))


def link_lists(sections, n, opening, closing, href, text):
    """For each section: `opening(section)`, `n` links to `href(section,
    k)` reading `text(section, k)`, and `closing`."""
    return "".join(
        opening(s) + links(n, lambda k: href(s, k), lambda k: text(s, k)) + closing
        for s in sections
    )


MEGA_MENU = (
    '<nav class="mega-menu" aria-label="Sections"><ul class="menu">'
    + link_lists(SECTIONS, 12,
                 lambda s: f'<li class="menu-item"><a href="/{s.lower()}">{s}</a><div class="submenu"><ul>',
                 "</ul></div></li>",
                 lambda s, k: f"/{s.lower()}/topic-{k}", lambda s, k: f"{s} topic {k}")
    + "</ul></nav>"
)
SITE_HEADER = (
    '<a class="skip-link" href="#content">Skip to content</a>\n'
    '<header class="site-header"><div class="container"><a class="logo" href="/">'
    '<svg viewBox="0 0 100 20"><path d="M0 0h100v20H0z"/></svg></a>'
    + MEGA_MENU
    + '<form class="search" role="search"><input name="q"><button>Search</button></form>'
    "</div></header>\n"
    '<div class="ticker" role="complementary"><strong>Breaking</strong><ul>'
    + links(5, lambda k: f"/live/{k}", lambda k: f"Live update {k}")
    + "</ul></div>\n"
    '<div class="cookie-banner" role="dialog"><p>We use cookies to improve your experience.</p>'
    "<button>Accept</button><button>Settings</button></div>\n"
)
# Wrappers from the page's layout down to the story, as site templates nest them.
WRAPPERS = ["page", "container", "row", "col-main", "layout", "layout__inner", "content-area",
            "content-area__wrap", "region", "region__inner", "story", "story__wrap"]
SITE_FOOTER = (
    '<footer class="site-footer"><div class="container">'
    + link_lists(SECTIONS[:4], 10, lambda s: f'<div class="footer-col"><h3>{s}</h3><ul>', "</ul></div>",
                 lambda s, k: f"/{s.lower()}/more-{k}", lambda s, k: f"More {s.lower()} {k}")
    + "<p>Example News. All rights reserved.</p></div></footer>\n"
    '<script src="/js/app.js"></script>'
    "<script>document.querySelectorAll('.ad-slot').forEach(function (s) { s.dataset.ready = 1; });</script>\n"
)


def inline_markup(paragraph, n):
    """The paragraph's words, escaped, some of them in a link or in
    emphasis as a news page has them; its text is unchanged."""
    words = [html.escape(w) for w in paragraph.split(" ")]
    for k in range(n % 5, len(words) - 3, 37):
        words[k] = f'<a href="/topic/{n}-{k}">' + words[k]
        words[k + 2] += "</a>"
    for k in range(n % 7 + 11, len(words), 53):
        words[k] = f"<em>{words[k]}</em>"
    return " ".join(words)


def html_page(i, article):
    """A saved web page around the article (see the module docs)."""
    blocks = []
    for n, p in enumerate(paragraphs(article)):
        blocks.append(f"<p>{inline_markup(p, n)}</p>")
        if n % 4 == 3:
            blocks.append(f'<div class="ad-slot" aria-hidden="true"><span>Advertisement</span><div id="ad-{n}"></div></div>')
        if n == 2:
            blocks.append(
                '<aside class="inline-related"><h3>Read more</h3><ul>'
                + links(3, lambda k: f"/story/{i}-{k}", lambda k: f"Earlier story {k}")
                + "</ul></aside>"
            )
        if n == 5:
            blocks.append('<div class="newsletter-signup"><p>Sign up for our daily briefing.</p>'
                          '<form><input name="email"><button>Sign up</button></form></div>')
    body = "\n".join(blocks)
    opening = "".join(f'<div class="{w}">' for w in WRAPPERS)
    closing = "</div>" * len(WRAPPERS)
    description = html.escape(article[:150], quote=True)
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Article {i} | Example News</title>
<meta name="description" content="{description}">
<meta property="og:title" content="Article {i}"><meta property="og:type" content="article">
<meta property="article:published_time" content="2024-05-01T08:00:00Z">
<link rel="canonical" href="https://news.example/world/{i}">
{SITE_HEAD}<script type="application/ld+json">{{"@type": "NewsArticle", "headline": "Article {i}", "datePublished": "2024-05-01T08:00:00Z"}}</script>
</head>
<body class="article-page">
{SITE_HEADER}{opening}<main id="content"><article class="story-body">
<header class="story-header"><h1>Article {i}</h1>
<div class="byline">By <a href="/staff/{i % 17}">Staff Reporter</a> <time datetime="2024-05-01T08:00:00Z">1 May 2024</time></div></header>
<figure class="lead-image"><picture><source srcset="/img/{i}.webp"><img src="/img/{i}.jpg" alt="Lead picture"></picture>
<figcaption>A picture for the story. (Photographer / Agency)</figcaption></figure>
<div class="story-body__inner"><div class="rich-text">
{body}
</div></div>
<footer class="story-footer"><ul class="tags">{links(5, lambda k: f"/tag/{k}", lambda k: f"Tag {k}")}</ul>
<div class="share-tools"><button>Share</button><button>Post</button><button>Email</button></div></footer>
</article>
<section class="comments"><h2>Comments</h2>{"".join(f'<div class="comment"><p>Reader comment number {k} on this story.</p></div>' for k in range(3))}</section>
<aside class="related"><h2>Related</h2><ul>{"".join(f'<li><article class="teaser"><h3><a href="/story/r{k}">Related story {k}</a></h3><p>A teaser for related story {k}.</p></article></li>' for k in range(6))}</ul></aside>
</main>{closing}
{SITE_FOOTER}</body></html>
"""


def markdown_file(i, article):
    """A Markdown file of the article (see the module docs)."""
    body = "\n\n".join(paragraphs(article))
    return f"---\ntitle: Article {i}\ndate: 2024-05-01\n---\n\n{body}\n"


def check_pages(folder, articles):
    """Scores the pages in `folder` (one copy of `articles`) and checks
    that the rows of each hold its headline, then the article's text, and
    nothing of the page around it: the pages are the articles, the timing
    the page reader's."""
    out = subprocess.run(
        [STANCE, "score", "--model", MODEL, "--format", "jsonl", "-o", "-", folder],
        check=True, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
    ).stdout
    rows = {}
    for line in out.splitlines():
        row = json.loads(line)
        rows.setdefault(row["doc_id"], []).append(row["text"])
    for i, article in enumerate(articles):
        doc = rows.get(f"{i:04d}", [])
        # Sentences are rows apart, and the page's lines are cut at its
        # paragraphs: compare without white space.
        if doc[:1] != [f"Article {i}"] or "".join("".join(doc[1:]).split()) != "".join(article.split()):
            sys.exit(f"page {i:04d}: its rows are not its headline and article text")


def write_inputs(tmp, articles, copies):
    """Writes every format with `copies` copies under tmp/x<copies>;
    returns the path of each, by name (text, html, markdown: folders;
    one-article, jsonl: files)."""
    base = os.path.join(tmp, f"x{copies}")
    pages = {"text": ("txt", lambda i, a: a), "html": ("html", html_page),
             "markdown": ("md", markdown_file)}
    paths = {folder: os.path.join(base, folder) for folder in pages}
    for folder, (ext, render) in pages.items():
        for c in range(copies):
            d = os.path.join(paths[folder], f"copy{c:02d}")
            os.makedirs(d)
            for i, a in enumerate(articles):
                with open(os.path.join(d, f"{i:04d}.{ext}"), "w", encoding="utf-8") as f:
                    f.write(render(i, a))
    paths["one-article"] = os.path.join(base, "one-article.txt")
    with open(paths["one-article"], "w", encoding="utf-8") as f:
        for c in range(copies):
            f.write("\n\n".join(articles) + "\n\n")
    paths["jsonl"] = os.path.join(base, "articles.jsonl")
    with open(paths["jsonl"], "w", encoding="utf-8") as f:
        for c in range(copies):
            for i, a in enumerate(articles):
                f.write(json.dumps({"doc_id": f"{c}-{i}", "text": a}) + "\n")
    return paths


def sentence_csv(text_dir, path, copies):
    """The sentence CSV of one copy of the text folder, repeated."""
    out = subprocess.run(
        [STANCE, "score", "--model", MODEL, "--threads", "2", os.path.join(text_dir, "copy00")],
        check=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    ).stdout
    rows = [(r["doc_id"], r["text"]) for r in csv.DictReader(io.StringIO(out))]
    with open(path, "w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(["doc_id", "text"])
        for c in range(copies):
            for doc_id, text in rows:
                w.writerow([f"{c}-{doc_id}", text])


def main():
    csv.field_size_limit(1 << 30)
    if not os.path.exists(CORPUS):
        sys.exit(f"news corpus not found at {CORPUS} (set STANCE_BENCH_CORPUS)")
    if "STANCE" not in os.environ:
        subprocess.run(["cargo", "build", "--release", "-q"], check=True, cwd=ROOT)
    with open(CORPUS, newline="", encoding="utf-8") as f:
        articles = [row["text"] for row in csv.DictReader(f) if row["text"].strip()]
    mb = sum(len(a.encode("utf-8")) for a in articles) / 1e6
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        paths = {}
        for copies in (1, COPIES):
            written = write_inputs(tmp, articles, copies)
            if copies == 1:
                check_pages(os.path.join(written["html"], "copy00"), articles)
            sentences = os.path.join(tmp, f"x{copies}", "sentences.csv")
            sentence_csv(written["text"], sentences, copies)
            # Each format's arguments, and the file piped to its standard
            # input, if any.
            paths[copies] = {
                "text folder": ([written["text"]], None),
                "sentence CSV": ([sentences], None),
                "JSONL": (["--input-format", "jsonl", written["jsonl"]], None),
                "HTML folder": ([written["html"]], None),
                "Markdown folder": ([written["markdown"]], None),
                "one article file": ([written["one-article"]], None),
                "one article, piped": (["-"], written["one-article"]),
            }
        for fmt in paths[COPIES]:
            base = ["score", "--model", MODEL, "--out", os.devnull]
            # One and two threads alternate, so a slow spell of the
            # machine falls on both rather than on one of them.
            one, two = [], []
            args, stdin = paths[COPIES][fmt]
            for _ in range(REPEATS):
                one.append(run(base + ["--threads", "1", *args], stdin))
                two.append(run(base + ["--threads", "2", *args], stdin))
            t1 = min(r[0] for r in one)
            t2, m10 = min(r[0] for r in two), max(r[1] for r in two)
            args, stdin = paths[1][fmt]
            _, m1 = best(base + ["--threads", "2", *args], stdin)
            results.append((fmt, t1, t2, m1, m10))
        # One article file of ONE_FILE_MB MB on one line: the articles
        # joined by spaces, repeated.
        one_line = os.path.join(tmp, "one-line.txt")
        line = " ".join(" ".join(a.split()) for a in articles).encode("utf-8") + b" "
        with open(one_line, "wb") as f:
            for _ in range(-(-ONE_FILE_MB * 10**6 // len(line))):
                f.write(line)
        one_mb = os.path.getsize(one_line) / 1e6
        t_one, m_one = best(["score", "--model", MODEL, "--out", os.devnull, "--threads", "2", one_line])
        # A slow reader of the output: the corpus's longest article, many
        # times over as documents of a sentence CSV, written to a pipe
        # read only after a pause, while the workers go on scoring.
        large = os.path.join(tmp, "large-documents.csv")
        large_documents_csv(os.path.join(tmp, "x1", "sentences.csv"), large, LARGE_COPIES)
        large_mb = os.path.getsize(large) / 1e6
        m_stalled = max(
            stalled_peak(["score", "--model", MODEL, "--threads", "2", large], STALL_SECONDS)
            for _ in range(REPEATS)
        )
    total = COPIES * mb
    print()
    print(f"corpus: {os.path.basename(CORPUS)} — {len(articles)} articles, {mb:.2f} MB of text; "
          f"`stance score` end to end (read, segment, featurize, predict, write CSV); "
          f"throughput on {COPIES}x ({total:.1f} MB), best of {REPEATS}")
    print()
    print("| input | 1 thread | 2 threads | 2 vs 1 | peak RSS 1x | peak RSS 10x | 10x vs 1x |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for fmt, t1, t2, m1, m10 in results:
        print(f"| {fmt} | {total / t1:.1f} MB/s | {total / t2:.1f} MB/s | {t1 / t2:.2f}x "
              f"| {m1:.1f} MiB | {m10:.1f} MiB | {m10 / m1:.2f}x |")
    print()
    print(f"one article file of {one_mb:.0f} MB on one line, 2 threads: "
          f"{one_mb / t_one:.1f} MB/s, peak RSS {m_one:.1f} MiB")
    print(f"a sentence CSV of {LARGE_COPIES} copies of the longest article ({large_mb:.0f} MB), "
          f"2 threads, to a pipe read only after {STALL_SECONDS} s: peak RSS {m_stalled:.1f} MiB "
          f"(highest of {REPEATS})")


if __name__ == "__main__":
    main()
