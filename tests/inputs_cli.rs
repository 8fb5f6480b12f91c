//! End-to-end tests of the input formats and of article identity: saved
//! web pages and Markdown built from the seed articles
//! (`tests/fixtures/pages/`), folder scanning, and doc_ids that stay unique.

mod common;

use common::*;
use stance::segment::segment;

/// Columns of the predictions CSV.
const START: usize = 2;
const END: usize = 3;
const TEXT: usize = 4;
const DATE: usize = 12;
const SOURCE: usize = 13;
const TITLE: usize = 14;

/// Lines `numbers` (1-based) of a seed article, joined by line ends.
fn seed_lines(file: &str, numbers: impl IntoIterator<Item = usize>) -> String {
    let text = std::fs::read_to_string(root().join("seeds").join(file)).unwrap();
    let lines: Vec<&str> = text.split('\n').collect();
    numbers
        .into_iter()
        .map(|n| lines[n - 1])
        .collect::<Vec<_>>()
        .join("\n")
}

/// The sentences the segmenter finds in `text`.
fn sentences(text: &str) -> Vec<String> {
    segment(text)
        .iter()
        .map(|s| s.text(text).to_string())
        .collect()
}

/// Scores `args`, expecting success; the data rows.
fn score_rows(args: &[&str]) -> Vec<Vec<String>> {
    let mut all = vec!["score"];
    all.extend_from_slice(args);
    let out = stance(&all);
    assert!(out.status.success(), "{}", stderr(&out));
    parse_csv(&stdout(&out)).split_off(1)
}

fn column(rows: &[Vec<String>], c: usize) -> Vec<String> {
    rows.iter()
        .map(|r| stance::io::unprotect_cell(&r[c]).to_string())
        .collect()
}

#[test]
fn a_news_page_gives_only_its_article_with_title_date_and_canonical_url() {
    // Seed 004's article paragraphs inside a page with a cookie banner, site
    // header and navigation, breadcrumbs, byline, share buttons, figures,
    // related links, a promo box, an author box, comments, a sidebar of
    // teasers, a newsletter box, a footer, scripts and styles.
    let rows = score_rows(&["tests/fixtures/pages/axis.html"]);
    let article = seed_lines(
        "004_77300b823648d066.txt",
        [
            1, 3, 5, 11, 13, 15, 17, 20, 22, 24, 28, 30, 32, 34, 40, 42, 44,
        ],
    );
    assert_eq!(column(&rows, TEXT), sentences(&article));
    for row in &rows {
        assert_eq!(row[0], "axis");
        assert_eq!((row[START].as_str(), row[END].as_str()), ("", ""));
        assert_eq!(
            row[DATE..=TITLE],
            [
                "2023-09-11",
                "https://news.example.org/2023/09/11/china-russia-axis-takes-shape/",
                "The China-Russia Axis Takes Shape",
            ]
        );
    }
}

#[test]
fn a_page_without_article_markup_gives_its_main_paragraphs() {
    // Seed 000 in a table layout with no <article> or <main>: the block of
    // paragraphs wins over menus, adverts, the author note and teasers;
    // the date comes from JSON-LD, the URL from og:url, the title from
    // <title>.
    let rows = score_rows(&["tests/fixtures/pages/partnership.htm"]);
    let article = seed_lines("000_1ff71cbcd28b900c.txt", 1..=21);
    assert_eq!(column(&rows, TEXT), sentences(&article));
    assert_eq!(
        rows[0][DATE..=TITLE],
        [
            "2020-12-05",
            "https://www.taipeidaily.example/News/editorials/archives/2020/12/05/2003748199",
            "Moscow and Beijing double down - Taipei Daily",
        ]
    );
}

#[test]
fn a_page_saved_in_a_legacy_encoding_reads_as_its_utf8_twin() {
    // Regression: a page in windows-1252 (its <meta> saying so) was read as
    // UTF-8, every curly quote and dash a U+FFFD, with a warning.
    let page = std::fs::read_to_string(root().join("tests/fixtures/pages/partnership.htm"))
        .unwrap()
        .replace("charset=utf-8", "charset=windows-1252");
    // Characters windows-1252 lacks (the Chinese names) become numeric
    // references, which read back as the same characters.
    let (bytes, _, _) = encoding_rs::WINDOWS_1252.encode(&page);
    assert!(std::str::from_utf8(&bytes).is_err(), "curly quotes in 1252");
    let dir = tempfile::tempdir().unwrap();
    let legacy = dir.path().join("partnership.htm");
    std::fs::write(&legacy, &bytes).unwrap();
    let out = stance(&["score", legacy.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(!stderr(&out).contains("not valid"), "{}", stderr(&out));
    let got = parse_csv(&stdout(&out)).split_off(1);
    let want = score_rows(&["tests/fixtures/pages/partnership.htm"]);
    let text_and_meta = |rows: &[Vec<String>]| -> Vec<Vec<String>> {
        rows.iter()
            .map(|r| [&r[TEXT..=TEXT], &r[DATE..=TITLE]].concat())
            .collect()
    };
    assert_eq!(text_and_meta(&got), text_and_meta(&want));
    assert!(column(&got, TEXT).iter().any(|t| t.contains('“')));
}

#[test]
fn markdown_is_read_without_markup_and_offsets_stay_in_the_file() {
    let path = "tests/fixtures/pages/partnership.md";
    let source = std::fs::read_to_string(root().join(path)).unwrap();
    let rows = score_rows(&[path]);
    // The headings and seed 001's first six lines, with emphasis, links,
    // list bullets and the quote marker left out; the image, the code
    // block, the reference definition and the front matter give no text.
    let body = seed_lines("001_23fc874d1a5040bb.txt", 1..=6);
    let lines: Vec<&str> = body.split('\n').collect();
    let expected = [
        "Moscow and Beijing double down",
        lines[0],
        lines[1],
        "Cooperation",
        lines[2],
        lines[3],
        lines[4],
        lines[5],
    ]
    .join("\n");
    assert_eq!(column(&rows, TEXT), sentences(&expected));
    for row in &rows {
        assert_eq!(
            row[DATE..=TITLE],
            ["2020-12-05", path, "Moscow and Beijing double down"]
        );
        // `start..end` is the stretch of the file the sentence was read
        // from: its words (punctuation aside), in order, with markup
        // between them.
        let (start, end): (usize, usize) = (row[START].parse().unwrap(), row[END].parse().unwrap());
        let stretch = &source[start..end];
        let text = &row[TEXT];
        assert!(stretch.starts_with(&text[..text.char_indices().nth(3).unwrap().0]));
        assert!(stretch.ends_with(text.chars().last().unwrap()));
        let mut rest = stretch;
        for word in text.split_whitespace() {
            let word = word.trim_matches(|c: char| c.is_ascii_punctuation());
            let at = rest
                .find(word)
                .unwrap_or_else(|| panic!("{word:?} of {text:?} not in {stretch:?}"));
            rest = &rest[at + word.len()..];
        }
    }
    let find = |prefix: &str| {
        let row = rows.iter().find(|r| r[TEXT].starts_with(prefix)).unwrap();
        let (start, end): (usize, usize) = (row[START].parse().unwrap(), row[END].parse().unwrap());
        &source[start..end]
    };
    assert!(find("Although this stems").contains("[Western hostility](https://example.org/west"));
    assert!(find("The latest evidence").contains("_Li Keqiang_"));
    assert!(
        find("The latest evidence").contains('\n'),
        "a wrapped line is one sentence"
    );
}

/// A folder with one file of every kind: `(name, bytes)`.
fn mixed_folder(dir: &std::path::Path) {
    let fixture = |p: &str| std::fs::read(root().join(p)).unwrap();
    let files: [(&str, Vec<u8>); 7] = [
        ("a.txt", fixture("seeds/002_4ee0aad5c8b25f11.txt")),
        ("b.md", fixture("tests/fixtures/pages/partnership.md")),
        ("c.html", fixture("tests/fixtures/pages/axis.html")),
        ("d.htm", fixture("tests/fixtures/pages/partnership.htm")),
        (
            "e.docx",
            b"PK\x03\x04\x14\0\x06\0word/document.xml".to_vec(),
        ),
        ("f.pdf", b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj".to_vec()),
        (".DS_Store", b"\0\0\0\x01Bud1".to_vec()),
    ];
    for (name, bytes) in files {
        std::fs::write(dir.join(name), bytes).unwrap();
    }
}

/// The distinct doc_ids of CSV output, in order.
fn doc_ids(csv: &str) -> Vec<String> {
    let mut ids: Vec<String> = Vec::new();
    for row in parse_csv(csv).into_iter().skip(1) {
        if ids.last() != Some(&row[0]) {
            ids.push(row[0].clone());
        }
    }
    ids
}

#[test]
fn folders_give_articles_of_every_format_and_list_what_they_skipped_at_the_end() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    mixed_folder(d);
    let out = stance(&["score", d.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1), "skipped files give exit code 1");
    assert_eq!(doc_ids(&stdout(&out)), ["a", "b", "c", "d"]);
    let err = stderr(&out);
    let lines: Vec<&str> = err.lines().collect();
    let n = lines.len();
    assert!(n >= 3, "{err}");
    assert_eq!(
        lines[n - 3],
        format!(
            "stance: skipped {}: a word-processor document, not text: save it as plain text (.txt) or a web page (.html) to score it",
            d.join("e.docx").display()
        )
    );
    assert_eq!(
        lines[n - 2],
        format!(
            "stance: skipped {}: a PDF, not text: save or export it as plain text (.txt) to score it",
            d.join("f.pdf").display()
        )
    );
    assert!(lines[n - 1].starts_with("scored "), "{err}");
    assert!(
        lines[n - 1].ends_with("from 4 inputs; 2 input(s) skipped"),
        "{err}"
    );
    assert!(!err.contains(".DS_Store"), "hidden files are not listed");

    // --ext chooses; the rest is listed with the reason.
    let out = stance(&["score", "--ext", "md,.HTM", d.to_str().unwrap()]);
    assert_eq!(doc_ids(&stdout(&out)), ["b", "d"]);
    let err = stderr(&out);
    for name in ["a.txt", "c.html"] {
        let ext = name.split('.').nth(1).unwrap();
        let line = format!(
            "stance: skipped {}: .{ext} is not among the extensions chosen with --ext (.md, .htm)",
            d.join(name).display()
        );
        assert!(err.contains(&line), "{line} not in {err}");
    }

    // Named directly, a Word file is refused with the hint and nothing is
    // scored.
    let out = stance(&["score", d.join("e.docx").to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(parse_csv(&stdout(&out)).len(), 1, "header only");
    assert!(stderr(&out).contains("save it as plain text (.txt) or a web page (.html)"));

    // An empty folder says so.
    let empty = tempfile::tempdir().unwrap();
    let out = stance(&["score", empty.path().to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains(
            "no inputs found (folders are searched for .txt, .md, .html, .htm; see --ext)"
        ),
        "{}",
        stderr(&out)
    );
}

#[test]
fn same_file_names_in_two_folders_keep_their_own_ids_and_sources() {
    // Regression: `oct/article.txt` and `nov/article.txt` both became
    // `article`, so their rows read as one article.
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    for (sub, seed) in [
        ("oct", "000_1ff71cbcd28b900c"),
        ("nov", "004_77300b823648d066"),
    ] {
        std::fs::create_dir(d.join(sub)).unwrap();
        std::fs::copy(
            root().join(format!("seeds/{seed}.txt")),
            d.join(sub).join("article.txt"),
        )
        .unwrap();
    }
    let out = stance(&["score", d.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    let rows = parse_csv(&stdout(&out));
    assert_eq!(doc_ids(&stdout(&out)), ["nov/article", "oct/article"]);
    for row in &rows[1..] {
        let file = d.join(&row[0]).with_extension("txt");
        assert_eq!(row[SOURCE], file.display().to_string());
    }
    let nov = rows.iter().filter(|r| r[0] == "nov/article").count();
    let nov_text = std::fs::read_to_string(d.join("nov/article.txt")).unwrap();
    assert_eq!(nov, segment(&nov_text).len());

    // Named directly, both have the stem `article`: the second is made
    // unique, and the run says so.
    let (oct, nov) = (d.join("oct/article.txt"), d.join("nov/article.txt"));
    let out = stance(&["score", oct.to_str().unwrap(), nov.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(doc_ids(&stdout(&out)), ["article", "article~2"]);
    assert!(stderr(&out).contains(&format!(
        "stance: note: {}: doc_id `article` is already {}'s; its rows carry `article~2`",
        nov.display(),
        oct.display()
    )));
}
